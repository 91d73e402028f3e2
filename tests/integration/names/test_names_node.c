/* The name layer and log anchors on a real regtest arbord over HTTP, with
 * transactions built here from the libraries (ledger/names, ledger/anchor):
 *   - a namespace preordered, revealed and made ready;
 *   - front-running a name: a register without a preorder, with another
 *     key's preorder, in the preorder's block, after the window, with too
 *     little burned, and of a taken name, each refused at POST /chain/v1/tx
 *     with its reason;
 *   - a name's life: register, update, transfer, renew, its grace period and
 *     expiry on regtest's windows, re-registration by another key, revoke;
 *     the lookup routes (name, owner, namespace, price, zone-file hashes);
 *   - a log's anchors: a first head, a larger consistent one, then a forked
 *     tree refused (anchor-bad-consistency, anchor-root-changed);
 *   - the light-client proof of a name, of an absent name, of a namespace
 *     and of an anchored head, checked here as a light client would: the
 *     headers link, the coinbase is in the tip's transaction tree (RFC 6962),
 *     its state root admits the record (merkle/smt.h). */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/bech32.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/mine.h"
#include "ledger/log/key.h"
#include "ledger/names/nameop.h"
#include "merkle/proof.h"
#include "merkle/smt.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/names.h"

#define WAIT_MS 20000
#define FEE 20000u
#define NS "arbortest"

static char bin[4096];
static char tmp[1024];
static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
/* The node tests/testlib asks here: its port is set once it listens. */
static arb_tl_http_opts NODE = {.timeout_s = 60};
static arb_tl_chain C; /* H, S, P and FEE, set in main */

typedef arb_tl_actor actor;

/* Mines the node's template paying `to`, its state root checked; the
 * block's height or 0. */
static uint32_t mine(const actor *to)
{
    return arb_tl_mine(NODE, to->addr, ARB_TL_MINE_STRICT);
}

/* ---------------------------------------------------------------- the light client */

/* Checks a proof object as a light client: the headers link from the
 * checkpoint (genesis here), the coinbase is leaf 0 of the tip's
 * transaction tree, its root admits (key, record) or the key's absence.
 * Returns the state root through *root. */
static void verify_proof(json_t *pf, const uint8_t key[32], const uint8_t *rec, size_t rec_len,
                         int anchor, arb_hash *root_out)
{
    arb_hash prev, hash, leaf, root;
    arb_block_header hdr;
    arb_errbuf eb;
    size_t n;
    memset(&hdr, 0, sizeof hdr);
    CHECK(pf != NULL);
    if (pf == NULL)
        return;
    CHECK_EQ(arb_tl_jint(pf, "version"), 1);
    arb_chain_genesis_hash(P, &prev);
    char g[65];
    arb_chain_hash_hex(g, &prev);
    CHECK_STR(arb_tl_jstr(pf, "checkpoint"), g);
    json_t *hs = json_object_get(pf, "headers");
    CHECK_EQ(json_array_size(hs), (size_t)arb_tl_jint(pf, "height"));
    arb_block_header *all = calloc(json_array_size(hs) + 1, sizeof *all);
    for (size_t i = 0; i < json_array_size(hs); i++) {
        uint8_t *raw = arb_tl_unhex(json_string_value(json_array_get(hs, i)), &n);
        CHECK(raw != NULL && n == 80);
        if (raw == NULL || n != 80) {
            free(raw);
            free(all);
            return;
        }
        arb_header_decode(&hdr, raw);
        free(raw);
        CHECK(arb_hash_eq(&hdr.prev, &prev));
        arb_header_hash(H, &hash, &hdr);
        arb_u256 target;
        arb_pow_bits_to_target(&target, hdr.bits, NULL, NULL);
        CHECK(arb_pow_hash_meets(&hash, &target));
        prev = hash;
        all[i] = hdr;
    }
    /* the coinbase in the tip's transaction tree */
    uint8_t *cb = arb_tl_unhex(arb_tl_jstr(pf, "coinbase"), &n);
    CHECK(cb != NULL);
    arb_tx tx;
    arb_tx_init(&tx);
    CHECK(cb != NULL && arb_tx_decode(&tx, cb, n, &eb) == ARB_OK);
    arb_merkle_leaf_hash(H, &leaf, cb, n);
    free(cb);
    json_t *cp = json_object_get(pf, "coinbase_proof");
    arb_hash path[ARB_MERKLE_MAX_PROOF];
    size_t plen = json_array_size(cp);
    CHECK(plen <= ARB_MERKLE_MAX_PROOF);
    for (size_t i = 0; i < plen && i < ARB_MERKLE_MAX_PROOF; i++)
        CHECK(arb_hex_decode(path[i].b, 32, json_string_value(json_array_get(cp, i)), 64));
    CHECK(arb_merkle_inclusion_verify(H, 0, (uint64_t)arb_tl_jint(pf, "tx_count"), &leaf, path,
                                      plen, &hdr.merkle_root, &eb) == ARB_OK);
    CHECK(arb_chain_coinbase_root(&tx, &root));
    arb_tx_clear(&tx);
    /* the record against the root */
    uint8_t k[32];
    CHECK(arb_hex_decode(k, 32, arb_tl_jstr(pf, "key"), 64));
    CHECK(memcmp(k, key, 32) == 0);
    json_t *jr = json_object_get(pf, "record");
    arb_hash vh;
    if (rec != NULL) {
        size_t rl;
        uint8_t *r = arb_tl_unhex(json_string_value(jr), &rl);
        CHECK(r != NULL && rl == rec_len && memcmp(r, rec, rl) == 0);
        free(r);
        arb_sha256_tagged(H, vh.b, anchor ? ARB_ANCHOR_RECORD_TAG : ARB_NAMES_RECORD_TAG, rec,
                          rec_len);
    } else {
        CHECK(json_is_null(jr));
    }
    size_t sl;
    uint8_t *sp = arb_tl_unhex(arb_tl_jstr(pf, "smt_proof"), &sl);
    CHECK(sp != NULL);
    CHECK(arb_smt_verify(H, &root, key, rec ? &vh : NULL, sp, sl, &eb) == ARB_OK);
    /* a record that is not the proved one fails */
    if (rec != NULL) {
        arb_hash other = vh;
        other.b[0] ^= 1;
        CHECK(arb_smt_verify(H, &root, key, &other, sp, sl, &eb) == ARB_ERR_VERIFY);
    } else {
        arb_hash any;
        memset(any.b, 7, 32);
        CHECK(arb_smt_verify(H, &root, key, &any, sp, sl, &eb) != ARB_OK);
    }
    free(sp);
    if (anchor && json_object_get(pf, "anchor_tx") != NULL) {
        /* the latest anchor's transaction in its block, whose header is above */
        uint32_t ah = (uint32_t)arb_tl_jint(pf, "anchor_block_height");
        uint8_t *at = arb_tl_unhex(arb_tl_jstr(pf, "anchor_tx"), &n);
        CHECK(at != NULL && ah >= 1 && ah <= json_array_size(hs));
        arb_merkle_leaf_hash(H, &leaf, at, n);
        free(at);
        cp = json_object_get(pf, "anchor_tx_proof");
        plen = json_array_size(cp);
        for (size_t i = 0; i < plen && i < ARB_MERKLE_MAX_PROOF; i++)
            CHECK(arb_hex_decode(path[i].b, 32, json_string_value(json_array_get(cp, i)), 64));
        /* the tree size is the block's: the proof's shape fixes it; try the
         * sizes a proof of that length allows */
        int found = 0;
        for (uint64_t size = 2; size <= 4096 && !found && ah >= 1 && ah <= json_array_size(hs);
             size++)
            found = arb_merkle_inclusion_verify(H, (uint64_t)arb_tl_jint(pf, "anchor_tx_index"),
                                                size, &leaf, path, plen, &all[ah - 1].merkle_root,
                                                &eb) == ARB_OK;
        CHECK(found);
    }
    free(all);
    if (root_out)
        *root_out = root;
}

/* ---------------------------------------------------------------- anchors */

typedef arb_tl_tree tree;

/* An anchor transaction of a: the head of t at size signed by the log, with
 * a consistency proof from `from` (0: none). */
static const char *anchor(actor *a, arb_ct_signer *log, const uint8_t *spki, size_t spki_len,
                          tree *t, uint64_t size, uint64_t ts, uint64_t from, tree *proof_tree)
{
    arb_buf b = ARB_BUF_INIT;
    arb_tx tx;
    const char *err = arb_tl_anchor_payload(&b, log, spki, spki_len, t, size, ts,
                                            ts, from, proof_tree);
    if (err != NULL) {
        arb_buf_free(&b);
        return err;
    }
    arb_tl_op_tx(&C, &tx, a, ARB_PAYLOAD_LOG_ANCHOR, b.data, b.len, 0);
    arb_buf_free(&b);
    return arb_tl_post_op(&C, NODE, a, &tx);
}

/* ---------------------------------------------------------------- the test */

static arb_proc *start(const char *dir)
{
    static const char *const regtest[] = {"--network", "regtest", NULL};
    return arb_proc_start_arbord(bin, dir, regtest, WAIT_MS, &NODE.port);
}

static int stop(arb_proc *p)
{
    if (p == NULL)
        return -1;
    int st = arb_proc_kill(p, SIGTERM) == 0 ? arb_proc_wait(p, 60000) : -1;
    arb_proc_free(p);
    return st;
}

static void test_names_node(void)
{
    char dir[1200];
    json_t *j = NULL;
    actor miner, alice, bob, eve;
    const arb_names_params *np = arb_names_params_get("regtest");
    uint8_t salt[32], salt2[32], salt3[32], zf1[32], zf2[32], nskey[32], key[32];
    arb_tl_actor_new(&C, &miner);
    arb_tl_actor_new(&C, &alice);
    arb_tl_actor_new(&C, &bob);
    arb_tl_actor_new(&C, &eve);
    arb_test_rand_bytes(salt, 32);
    arb_test_rand_bytes(salt2, 32);
    arb_test_rand_bytes(salt3, 32);
    arb_test_rand_bytes(zf1, 32);
    arb_test_rand_bytes(zf2, 32);
    snprintf(dir, sizeof dir, "%s/node", tmp);
    arb_proc *p = start(dir);
    CHECK(p != NULL && NODE.port > 0);
    if (p == NULL || NODE.port <= 0)
        return;

    /* Coins: block 1's coinbase matures at 101; it funds the three keys. */
    arb_tl_mine_to(NODE, miner.addr, P->coinbase_maturity + 1);
    actor *who[3] = {&alice, &bob, &eve};
    arb_tl_fund(&C, NODE, &miner, 1, who, 3, 16 * ARB_COIN);
    CHECK(mine(&miner) > 0);

    /* The namespace: preorder (its price burned), reveal, ready. */
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(H, op.commitment, (const uint8_t *)NS, strlen(NS), salt, alice.pk);
    op.burn = arb_names_namespace_price(strlen(NS));
    CHECK_STR(arb_tl_nameop(&C, NODE, &alice, &op), "ok");
    CHECK(mine(&miner) > 0);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    op.ns_len = strlen(NS);
    memcpy(op.ns, NS, op.ns_len);
    memcpy(op.salt, salt, 32);
    memcpy(op.key, alice.pk, 32);
    op.lifetime = 12;
    op.price.coeff = 1;
    op.price.base = 10;
    for (int i = 0; i < 16; i++)
        op.price.buckets[i] = 3;
    op.price.nonalpha_discount = 1;
    op.price.no_vowel_discount = 1;
    CHECK_STR(arb_tl_nameop(&C, NODE, &alice, &op), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_EQ(arb_tl_http_json(NODE, "/names/v1/namespace/" NS, NULL, &j), 200);
    CHECK_STR(arb_tl_jstr(j, "status"), "revealed");
    CHECK_EQ(arb_tl_jint(j, "lifetime"), 12);
    json_decref(j);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_READY;
    op.ns_len = strlen(NS);
    memcpy(op.ns, NS, op.ns_len);
    CHECK_STR(arb_tl_nameop(&C, NODE, &bob, &op), "namespace-not-revealer");
    CHECK_STR(arb_tl_nameop(&C, NODE, &alice, &op), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_EQ(arb_tl_http_json(NODE, "/names/v1/namespace/" NS "?proof=1", NULL, &j), 200);
    CHECK_STR(arb_tl_jstr(j, "status"), "ready");
    {
        uint8_t *rec;
        size_t rl;
        rec = arb_tl_unhex(
            json_string_value(json_object_get(json_object_get(j, "proof"), "record")), &rl);
        arb_names_ns_key(H, nskey, (const uint8_t *)NS, strlen(NS));
        CHECK(rec != NULL);
        verify_proof(json_object_get(j, "proof"), nskey, rec, rl, 0, NULL);
        free(rec);
    }
    json_decref(j);
    const uint64_t price = 10000; /* 1 * 10^3 / 1 * 10 */
    CHECK_EQ(arb_tl_http_json(NODE, "/names/v1/price/alice." NS, NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(j, "price"), (int64_t)price);
    CHECK(json_is_true(json_object_get(j, "namespace_ready")));
    CHECK(json_is_true(json_object_get(j, "available")));
    json_decref(j);
    CHECK_EQ(arb_tl_http_json(NODE, "/names/v1/price/alice.nosuchspace", NULL, &j), 404);
    json_decref(j);

    /* Front-running alice.NS: no preorder; the preorder's own block. */
    const char *AL = "alice." NS;
    CHECK_STR(arb_tl_name_register(&C, NODE, &eve, AL, salt2, eve.pk, NULL),
              "name-preorder-missing");
    CHECK_STR(arb_tl_name_preorder(&C, NODE, &alice, AL, salt2, alice.pk, price), "ok");
    CHECK_STR(arb_tl_name_register(&C, NODE, &alice, AL, salt2, alice.pk, zf1),
              "name-preorder-same-block");
    uint32_t pre_h = mine(&miner);
    CHECK(pre_h > 0);
    /* another key registering with alice's revealed preorder */
    CHECK_STR(arb_tl_name_register(&C, NODE, &eve, AL, salt2, alice.pk, NULL),
              "name-preorder-sender");
    /* too little burned */
    CHECK_STR(arb_tl_name_preorder(&C, NODE, &bob, "bob." NS, salt3, bob.pk, 1), "ok");
    /* after the window */
    CHECK_STR(arb_tl_name_preorder(&C, NODE, &eve, "carol." NS, salt3, eve.pk, price), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_register(&C, NODE, &bob, "bob." NS, salt3, bob.pk, NULL),
              "name-burn-insufficient");
    /* alice registers in time */
    CHECK_STR(arb_tl_name_register(&C, NODE, &alice, AL, salt2, alice.pk, zf1), "ok");
    uint32_t reg_h = mine(&miner);
    CHECK(reg_h > 0);
    arb_tl_mine_to(NODE, miner.addr, pre_h + 1 + np->preorder_ttl);
    CHECK_STR(arb_tl_name_register(&C, NODE, &eve, "carol." NS, salt3, eve.pk, NULL),
              "name-preorder-expired");

    CHECK_EQ(arb_tl_name_lookup(NODE, AL, NULL, &j), 200);
    {
        char zh[65];
        arb_hex_encode(zh, zf1, 32);
        CHECK_STR(arb_tl_jstr(j, "status"), "active");
        CHECK_STR(arb_tl_jstr(j, "namespace"), NS);
        CHECK_STR(arb_tl_jstr(j, "address"), alice.addr);
        CHECK_STR(arb_tl_jstr(j, "zonefile_hash"), zh);
        CHECK_EQ(arb_tl_jint(j, "registered_height"), reg_h);
        CHECK_EQ(arb_tl_jint(j, "expires_at"), reg_h + 12);
        CHECK_EQ(arb_tl_jint(j, "grace_ends_at"), reg_h + 12 + np->grace_period);
        json_t *hist = json_object_get(j, "history");
        CHECK_EQ(json_array_size(hist), 1);
        CHECK_STR(arb_tl_jstr(json_array_get(hist, 0), "op"), "name-register");
        CHECK_EQ(arb_tl_jint(json_array_get(hist, 0), "height"), reg_h);
    }
    json_decref(j);
    /* a second register of a taken name */
    CHECK_STR(arb_tl_name_preorder(&C, NODE, &bob, AL, salt3, bob.pk, price), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_register(&C, NODE, &bob, AL, salt3, bob.pk, NULL), "name-taken");

    /* update, transfer, renew */
    CHECK_STR(arb_tl_name_simple(&C, NODE, &eve, ARB_NAMEOP_NAME_UPDATE, AL, zf2, 0),
              "name-not-owner");
    CHECK_STR(arb_tl_name_simple(&C, NODE, &alice, ARB_NAMEOP_NAME_UPDATE, AL, zf2, 0), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_simple(&C, NODE, &alice, ARB_NAMEOP_NAME_TRANSFER, AL, bob.pk, 0), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_simple(&C, NODE, &alice, ARB_NAMEOP_NAME_UPDATE, AL, zf1, 0),
              "name-not-owner");
    CHECK_STR(arb_tl_name_simple(&C, NODE, &bob, ARB_NAMEOP_NAME_RENEW, AL, NULL, price - 1),
              "name-burn-insufficient");
    CHECK_STR(arb_tl_name_simple(&C, NODE, &bob, ARB_NAMEOP_NAME_RENEW, AL, NULL, price), "ok");
    uint32_t ren_h = mine(&miner);
    CHECK(ren_h > 0);
    CHECK_EQ(arb_tl_name_lookup(NODE, AL, NULL, &j), 200);
    CHECK_STR(arb_tl_jstr(j, "address"), bob.addr);
    CHECK_EQ(arb_tl_jint(j, "renewed_height"), ren_h);
    CHECK_EQ(json_array_size(json_object_get(j, "history")), 4);
    json_decref(j);
    {
        char path[256];
        snprintf(path, sizeof path, "/names/v1/owner/%s", bob.addr);
        CHECK_EQ(arb_tl_http_json(NODE, path, NULL, &j), 200);
        CHECK_EQ(json_array_size(json_object_get(j, "names")), 1);
        CHECK_STR(arb_tl_jstr(json_array_get(json_object_get(j, "names"), 0), "name"), AL);
        json_decref(j);
        snprintf(path, sizeof path, "/names/v1/owner/%s", alice.addr);
        CHECK_EQ(arb_tl_http_json(NODE, path, NULL, &j), 200);
        CHECK_EQ(json_array_size(json_object_get(j, "names")), 0);
        json_decref(j);
    }
    /* both zone-file hashes are on-chain */
    CHECK_EQ(arb_tl_http_json(NODE, "/chain/v1/zonefile-hashes", NULL, &j), 200);
    {
        json_t *hs = json_object_get(j, "hashes");
        char z1[65], z2[65];
        int s1 = 0, s2 = 0;
        arb_hex_encode(z1, zf1, 32);
        arb_hex_encode(z2, zf2, 32);
        for (size_t i = 0; i < json_array_size(hs); i++) {
            s1 |= strcmp(json_string_value(json_array_get(hs, i)), z1) == 0;
            s2 |= strcmp(json_string_value(json_array_get(hs, i)), z2) == 0;
        }
        CHECK(s1 && s2);
        CHECK_EQ(json_array_size(hs), 2);
    }
    json_decref(j);

    /* The proof of the name, and of an absent name. */
    CHECK_EQ(arb_tl_name_lookup(NODE, AL, "?proof=1", &j), 200);
    {
        json_t *pf = json_object_get(j, "proof");
        size_t rl;
        uint8_t *rec = arb_tl_unhex(json_string_value(json_object_get(pf, "record")), &rl);
        arb_name_rec r;
        CHECK(rec != NULL && arb_names_name_rec_decode(&r, rec, rl) == ARB_OK);
        CHECK(memcmp(r.owner, bob.pk, 32) == 0);
        arb_names_name_key(H, key, (const uint8_t *)AL, strlen(AL));
        verify_proof(pf, key, rec, rl, 0, NULL);
        free(rec);
    }
    json_decref(j);
    CHECK_EQ(arb_tl_name_lookup(NODE, "nobody." NS, "?proof=1", &j), 404);
    CHECK_STR(arb_tl_jstr(j, "error"), "name not found");
    arb_names_name_key(H, key, (const uint8_t *)"nobody." NS, strlen("nobody." NS));
    verify_proof(json_object_get(j, "proof"), key, NULL, 0, 0, NULL);
    json_decref(j);
    CHECK_EQ(arb_tl_name_lookup(NODE, "nobody." NS, "?proof=1&checkpoint=00", &j), 400);
    json_decref(j);

    /* Expiry: the grace period, then anyone may register it. */
    arb_tl_mine_to(NODE, miner.addr, ren_h + 12);
    CHECK_STR(arb_tl_name_status(NODE, AL), "grace");
    CHECK_STR(arb_tl_name_simple(&C, NODE, &bob, ARB_NAMEOP_NAME_UPDATE, AL, zf1, 0),
              "name-expired");
    CHECK_STR(arb_tl_name_preorder(&C, NODE, &eve, AL, salt, eve.pk, price), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_register(&C, NODE, &eve, AL, salt, eve.pk, NULL), "name-in-grace");
    arb_tl_mine_to(NODE, miner.addr, ren_h + 12 + np->grace_period);
    CHECK_STR(arb_tl_name_status(NODE, AL), "expired");
    CHECK_STR(arb_tl_name_preorder(&C, NODE, &eve, AL, salt2, eve.pk, price), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_register(&C, NODE, &eve, AL, salt2, eve.pk, NULL), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_EQ(arb_tl_name_lookup(NODE, AL, NULL, &j), 200);
    CHECK_STR(arb_tl_jstr(j, "status"), "active");
    CHECK_STR(arb_tl_jstr(j, "address"), eve.addr);
    CHECK(json_is_null(json_object_get(j, "zonefile_hash")));
    json_decref(j);
    CHECK_STR(arb_tl_name_simple(&C, NODE, &eve, ARB_NAMEOP_NAME_REVOKE, AL, NULL, 0), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_status(NODE, AL), "revoked");
    CHECK_STR(arb_tl_name_simple(&C, NODE, &eve, ARB_NAMEOP_NAME_UPDATE, AL, zf1, 0),
              "name-revoked");

    /* Anchors of a log. */
    arb_ct_signer *log = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    uint8_t log_id[32];
    tree t, fork;
    char path[256], lid[65];
    CHECK(arb_ct_signer_generate(&log, NULL) == ARB_OK);
    CHECK(arb_ct_signer_spki(log, &spki, &spki_len) == ARB_OK);
    arb_sha256_digest(H, log_id, spki, spki_len);
    arb_hex_encode(lid, log_id, 32);
    arb_tl_tree_init(&t, H, "leaf");
    arb_tl_tree_init(&fork, H, "forked");
    const uint64_t T = 1700000000000ULL;
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 5, T, 0, NULL), "ok");
    /* the second anchor is checked against the pending first one */
    CHECK_STR(anchor(&bob, log, spki, spki_len, &t, 13, T + 1, 5, NULL), "ok");
    uint32_t a_h = mine(&miner);
    CHECK(a_h > 0);
    /* a forked tree: at a larger size its proof from 13 fails; at 13 its
     * root differs */
    CHECK_STR(anchor(&alice, log, spki, spki_len, &fork, 20, T + 2, 13, &fork),
              "anchor-bad-consistency");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &fork, 13, T + 3, 0, NULL),
              "anchor-root-changed");
    snprintf(path, sizeof path, "/chain/v1/anchors/%s?proof=1", lid);
    CHECK_EQ(arb_tl_http_json(NODE, path, NULL, &j), 200);
    {
        json_t *latest = json_object_get(j, "latest");
        CHECK_EQ(arb_tl_jint(latest, "tree_size"), 13);
        CHECK_EQ(arb_tl_jint(latest, "height"), a_h);
        CHECK_EQ(json_array_size(json_object_get(j, "anchors")), 2);
        CHECK_EQ(arb_tl_jint(json_array_get(json_object_get(j, "anchors"), 0), "tree_size"), 5);
        json_t *pf = json_object_get(j, "proof");
        size_t rl;
        uint8_t *rec = arb_tl_unhex(json_string_value(json_object_get(pf, "record")), &rl);
        arb_anchor_head hd;
        CHECK(rec != NULL && arb_anchor_head_decode(&hd, rec, rl) == ARB_OK);
        CHECK(hd.tree_size == 13 && memcmp(hd.log_id, log_id, 32) == 0);
        arb_anchor_key(H, key, log_id);
        verify_proof(pf, key, rec, rl, 1, NULL);
        free(rec);
    }
    json_decref(j);
    CHECK_EQ(arb_tl_http_json(NODE, "/chain/v1/anchors", NULL, &j), 200);
    CHECK_EQ(json_array_size(json_object_get(j, "logs")), 1);
    CHECK_STR(arb_tl_jstr(json_array_get(json_object_get(j, "logs"), 0), "log_id"), lid);
    json_decref(j);
    free(spki);
    arb_ct_signer_free(log);

    /* A restart keeps the state (and its root). */
    json_t *before = NULL, *after = NULL;
    CHECK_EQ(arb_tl_name_lookup(NODE, AL, "?proof=1", &before), 200);
    CHECK_EQ(stop(p), 0);
    p = start(dir);
    CHECK(p != NULL && NODE.port > 0);
    CHECK_EQ(arb_tl_name_lookup(NODE, AL, "?proof=1", &after), 200);
    CHECK_STR(arb_tl_jstr(json_object_get(after, "proof"), "smt_proof"),
              arb_tl_jstr(json_object_get(before, "proof"), "smt_proof"));
    CHECK_STR(arb_tl_jstr(json_object_get(after, "proof"), "coinbase"),
              arb_tl_jstr(json_object_get(before, "proof"), "coinbase"));
    json_decref(before);
    json_decref(after);
    CHECK(mine(&miner) > 0);
    CHECK_EQ(stop(p), 0);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_test_bin(bin, sizeof bin, "arbord") == NULL || arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    P = arb_chain_params_get("regtest");
    C = (arb_tl_chain){H, S, P, FEE};
    test_names_node();
    curl_global_cleanup();
    arb_schnorr_free(S);
    arb_sha256_free(H);
    arb_test_rmtree(tmp);
    return arb_test_done();
}
