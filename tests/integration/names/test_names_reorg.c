/* The name layer and log anchors across a reorganization, and the namespace
 * and anchor rules at the HTTP boundary, on real regtest arbord processes
 * over 127.0.0.1 (transactions built here from ledger/names, ledger/anchor):
 *   - reorg: nodes A and B on one chain are split (admin disconnect); A mines
 *     a name register, its update and a log anchor; B mines a longer branch
 *     with another, consistent anchor of the same log. Healed, A takes B's
 *     branch: its name and namespace answers, their state proofs (so its
 *     state tree), its anchors and its UTXO digest equal B's; the register
 *     and update are back in A's mempool, the anchor that no longer follows
 *     the chain's head is not (anchor-bad-consistency), the log's anchors
 *     no longer list it, and an anchored inclusion proof taken on the losing
 *     branch, which arbor-audit verify-anchored accepted with A's headers
 *     then, fails against its headers now; mined again the register and
 *     update give the same records on both nodes.
 *   - rules: a namespace revealed and never made ready lapses at the launch
 *     window (40 blocks on regtest): an import and a ready after it are
 *     refused (namespace-lapsed), another key's preorder and reveal are
 *     accepted and the name imported under the lapsed reveal reads as
 *     available; GET /names/v1/price against prices computed by hand (both
 *     discounts, the truncation before * 10); anchors refused each with its
 *     reason (bad signature, smaller size, wrong proof, earlier timestamp),
 *     the wrong proof and the smaller size also inside a mined block (the
 *     block is refused with the anchor's reason), payload bytes that do not
 *     parse and a state root outside the coinbase. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* As arb_tl_post_op, but the transaction goes straight into a block on the node's
 * template (its coinbase carries the state root without it), mined and
 * POSTed: the answer is the block's refusal reason, or "ok". */
static const char *post_in_block(const actor *miner_to, arb_tx *tx)
{
    static char why[128];
    char path[256];
    json_t *t = NULL, *r = NULL;
    arb_block b;
    arb_errbuf eb;
    size_t len;
    uint8_t *raw;
    arb_tx *grown;
    snprintf(why, sizeof why, "(template)");
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", miner_to->addr);
    if (arb_tl_http_json(NODE, path, NULL, &t) != 200) {
        arb_tx_clear(tx);
        return why;
    }
    raw = arb_tl_unhex(arb_tl_jstr(t, "hex"), &len);
    arb_block_init(&b);
    if (raw != NULL && arb_block_decode(&b, raw, len, &eb) == ARB_OK &&
        (grown = realloc(b.tx, (b.n_tx + 1) * sizeof *grown)) != NULL) {
        b.tx = grown;
        b.tx[b.n_tx++] = *tx; /* moved in */
        arb_tx_init(tx);
        if (arb_block_merkle_root(H, &b.header.merkle_root, b.tx, b.n_tx) != ARB_OK ||
            !arb_chain_mine_header(&b.header, 0, 1ULL << 32))
            abort();
        arb_buf buf = ARB_BUF_INIT;
        arb_block_write(&buf, &b);
        if (arb_tl_post_hex(NODE, "/chain/v1/block", buf.data, buf.len, &r) == 200)
            snprintf(why, sizeof why, "ok");
        else
            snprintf(why, sizeof why, "%s", arb_tl_jstr(r, "error"));
        arb_buf_free(&buf);
        json_decref(r);
    }
    free(raw);
    arb_block_clear(&b);
    arb_tx_clear(tx);
    json_decref(t);
    return why;
}

/* Set: anchor() puts its transaction straight into a block (post_in_block). */
static const actor *g_in_block;

/* ---------------------------------------------------------------- anchors */

typedef arb_tl_tree tree;

/* An anchor transaction of a: the head of t at size signed by the log, with
 * a consistency proof from `from` (0: none). */
static const char *anchor(actor *a, arb_ct_signer *log, const uint8_t *spki, size_t spki_len,
                          tree *t, uint64_t size, uint64_t ts, uint64_t from, tree *proof_tree,
                          int bad_sig)
{
    arb_buf b = ARB_BUF_INIT;
    arb_tx tx;
    /* signed at ts; with bad_sig it claims another time */
    const char *err = arb_tl_anchor_payload(&b, log, spki, spki_len, t, size, ts,
                                            ts + (bad_sig ? 1 : 0), from, proof_tree);
    if (err != NULL) {
        arb_buf_free(&b);
        return err;
    }
    arb_tl_op_tx(&C, &tx, a, ARB_PAYLOAD_LOG_ANCHOR, b.data, b.len, 0);
    arb_buf_free(&b);
    if (g_in_block != NULL)
        return post_in_block(g_in_block, &tx);
    return arb_tl_post_op(&C, NODE, a, &tx);
}

/* ---------------------------------------------------------------- the test */

/* Starts a node on a free port (NODE.port then points at it): no automatic
 * outbound peers, so only the admin API connects the two nodes. */
static arb_proc *start(const char *dir)
{
    static const char *const args[] = {"--network",         "regtest", "--p2p-no-outbound", "1",
                                       "--p2p-tx-delay-ms", "50",      NULL};
    return arb_proc_start_arbord(bin, dir, args, WAIT_MS, &NODE.port);
}

static int stop(arb_proc *p)
{
    if (p == NULL)
        return -1;
    int st = arb_proc_kill(p, SIGTERM) == 0 ? arb_proc_wait(p, 60000) : -1;
    arb_proc_free(p);
    return st;
}


/* ---------------------------------------------------------------- two nodes */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* POST /p2p/v1/<cmd> {"address": "127.0.0.1:<peer>"} on NODE.port with the
 * node's admin token (DIR/.cookie). */
static long admin(const char *dir, const char *cmd, int peer)
{
    char path[1300], body[64], auth[128];
    size_t n;
    snprintf(path, sizeof path, "%s/.cookie", dir);
    uint8_t *tok = arb_test_read_file(path, &n);
    if (tok == NULL || n != 65) {
        free(tok);
        return 0;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %.64s", (const char *)tok);
    free(tok);
    snprintf(path, sizeof path, "/p2p/v1/%s", cmd);
    snprintf(body, sizeof body, "{\"address\":\"127.0.0.1:%d\"}", peer);
    NODE.header = auth;
    long st = arb_tl_http_json(NODE, path, body, NULL);
    NODE.header = NULL;
    return st;
}

/* Polls the node on `port` until it has `want` handshaked peers. */
static int wait_peers(int port, size_t want)
{
    for (int t = 0; t < WAIT_MS / 100; t++) {
        json_t *j = NULL;
        size_t c = 0;
        NODE.port = port;
        if (arb_tl_http_json(NODE, "/p2p/v1/peers", NULL, &j) == 200) {
            json_t *arr = json_object_get(j, "peers");
            for (size_t i = 0; i < json_array_size(arr); i++)
                c += json_is_true(json_object_get(json_array_get(arr, i), "handshaked"));
            if (c == want) {
                json_decref(j);
                return 1;
            }
        }
        json_decref(j);
        sleep_ms(100);
    }
    return 0;
}

static void tip_hash(int port, char out[65])
{
    json_t *j = NULL;
    NODE.port = port;
    out[0] = 0;
    if (arb_tl_http_json(NODE, "/chain/v1/tip", NULL, &j) == 200)
        snprintf(out, 65, "%s", arb_tl_jstr(j, "hash"));
    json_decref(j);
}

/* Polls until both nodes have the same tip (and `want`, if given). */
static int wait_same_tip(int a, int b, const char *want)
{
    char ha[65], hb[65];
    for (int t = 0; t < WAIT_MS / 100; t++) {
        tip_hash(a, ha);
        tip_hash(b, hb);
        if (ha[0] != 0 && strcmp(ha, hb) == 0 && (want == NULL || strcmp(ha, want) == 0))
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* The answer of GET path on `port`: "STATUS BODY" (body with sorted keys),
 * malloc'd. */
static char *answer(int port, const char *path)
{
    json_t *j = NULL;
    NODE.port = port;
    long st = arb_tl_http_json(NODE, path, NULL, &j);
    char *body = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(j);
    size_t n = (body ? strlen(body) : 0) + 32;
    char *out = malloc(n);
    snprintf(out, n, "%ld %s", st, body ? body : "");
    free(body);
    return out;
}

/* The same answer from both nodes. */
static void same_answer(int a, int b, const char *path)
{
    char *x = answer(a, path), *y = answer(b, path);
    if (strcmp(x, y) != 0)
        arb_test_fail(__FILE__, __LINE__, "%s differs:\n  A: %.600s\n  B: %.600s", path, x, y);
    else
        arb_test_passed++;
    free(x);
    free(y);
}

static int in_mempool(int port, const arb_hash *id)
{
    json_t *j = NULL;
    char hex[65];
    int found = 0;
    arb_chain_hash_hex(hex, id);
    NODE.port = port;
    if (arb_tl_http_json(NODE, "/chain/v1/mempool", NULL, &j) == 200) {
        json_t *ids = json_object_get(j, "txids");
        for (size_t i = 0; i < json_array_size(ids); i++)
            found |= strcmp(json_string_value(json_array_get(ids, i)), hex) == 0;
    }
    json_decref(j);
    return found;
}

/* Polls until the transaction is in the node's mempool. */
static int wait_in_mempool(int port, const arb_hash *id)
{
    for (int t = 0; t < WAIT_MS / 100; t++) {
        if (in_mempool(port, id))
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* A namespace preordered, revealed (price function fn) and, if `ready`,
 * made ready by a; mined on NODE.port. The reveal's height in *reveal_h. */
static void ns_launch(actor *a, const actor *miner, const char *ns, const uint8_t salt[32],
                      const arb_names_price_fn *fn, int ready, uint32_t *reveal_h)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(H, op.commitment, (const uint8_t *)ns, strlen(ns), salt, a->pk);
    op.burn = arb_names_namespace_price(strlen(ns));
    CHECK_STR(arb_tl_nameop(&C, NODE, a, &op), "ok");
    CHECK(mine(miner) > 0);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    op.ns_len = strlen(ns);
    memcpy(op.ns, ns, op.ns_len);
    memcpy(op.salt, salt, 32);
    memcpy(op.key, a->pk, 32);
    op.lifetime = 100;
    op.price = *fn;
    CHECK_STR(arb_tl_nameop(&C, NODE, a, &op), "ok");
    *reveal_h = mine(miner);
    CHECK(*reveal_h > 0);
    if (ready) {
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAMESPACE_READY;
        op.ns_len = strlen(ns);
        memcpy(op.ns, ns, op.ns_len);
        CHECK_STR(arb_tl_nameop(&C, NODE, a, &op), "ok");
        CHECK(mine(miner) > 0);
    }
}

static const char *name_import(actor *a, const char *full, const uint8_t owner[32])
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_IMPORT;
    arb_tl_nameop_set_full(&op, full);
    memcpy(op.key, owner, 32);
    return arb_tl_nameop(&C, NODE, a, &op);
}

/* ---------------------------------------------------------------- the auditor */

/* Writes the node's (NODE.port) headers from the genesis to its tip, raw, to path. */
static int write_headers(const char *path)
{
    json_t *j = NULL;
    int ok = 0;
    FILE *f = fopen(path, "wb");
    if (f != NULL && arb_tl_http_json(NODE, "/chain/v1/headers?start=0", NULL, &j) == 200) {
        json_t *hs = json_object_get(j, "headers");
        ok = json_array_size(hs) == (size_t)arb_tl_tip_height(NODE) + 1;
        for (size_t i = 0; ok && i < json_array_size(hs); i++) {
            size_t n;
            uint8_t *raw = arb_tl_unhex(json_string_value(json_array_get(hs, i)), &n);
            ok = raw != NULL && n == 80 && fwrite(raw, 1, n, f) == n;
            free(raw);
        }
    }
    json_decref(j);
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

/* Writes an anchored inclusion proof (docs/anchoring.md) of leaf `index` of
 * t at the anchored size `size`, around the anchor's light-client proof. */
static int write_anchored(const char *path, const uint8_t log_id[32], tree *t, uint64_t index,
                          uint64_t size, uint64_t ts, json_t *anchor_proof)
{
    arb_merkle_source src = {arb_tl_tree_node, t};
    arb_hash pr[ARB_MERKLE_MAX_PROOF];
    size_t plen;
    if (arb_merkle_inclusion_build(H, &src, index, size, pr, &plen) != ARB_OK)
        return 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < plen; i++) {
        char *b = arb_base64_encode(pr[i].b, 32);
        json_array_append_new(arr, json_string(b));
        free(b);
    }
    char *lid = arb_base64_encode(log_id, 32), *lh = arb_base64_encode(t->leaf[index].b, 32);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:O}", "format",
                          "arbor-anchored-inclusion/1", "network", "regtest", "log_id", lid,
                          "leaf_hash", lh, "sct_timestamp", (json_int_t)ts, "leaf_index",
                          (json_int_t)index, "inclusion_proof", arr, "anchor", anchor_proof);
    free(lid);
    free(lh);
    int ok = o != NULL && json_dump_file(o, path, 0) == 0;
    json_decref(o);
    return ok;
}

/* arbor-audit verify-anchored of the proof file against the headers file:
 * its exit status. */
static int verify_anchored(const char *headers, const char *proof)
{
    char audit[4096];
    arb_proc *p;
    if (arb_test_bin(audit, sizeof audit, "arbor-audit") == NULL)
        return -1;
    const char *argv[] = {audit,     "verify-anchored", "--checkpoint", "genesis", "--headers",
                          headers,   "--json",          proof,          NULL};
    if (arb_proc_spawn(&p, argv) != 0)
        return -1;
    int st = arb_proc_wait(p, WAIT_MS);
    if (st != 0 && st != 1) {
        char *err = arb_proc_output(p, ARB_PROC_STDERR);
        fprintf(stderr, "arbor-audit verify-anchored exited with %d:\n%s\n", st, err ? err : "");
        free(err);
    }
    arb_proc_free(p);
    return st;
}

/* ---------------------------------------------------------------- the reorg */

static void reorg(int A, int B, const char *db)
{
    char path[256], lid[65], win[65], hex[65];
    actor miner, alice, carol, dave;
    uint8_t salt[32], salt2[32], zf1[32], zf2[32], log_id[32];
    arb_names_price_fn fn;
    const char *AL = "alice." NS;
    arb_tl_actor_new(&C, &miner);
    arb_tl_actor_new(&C, &alice);
    arb_tl_actor_new(&C, &carol);
    arb_tl_actor_new(&C, &dave);
    arb_test_rand_bytes(salt, 32);
    arb_test_rand_bytes(salt2, 32);
    arb_test_rand_bytes(zf1, 32);
    arb_test_rand_bytes(zf2, 32);
    memset(&fn, 0, sizeof fn);
    fn.coeff = 1;
    fn.base = 10;
    for (int i = 0; i < 16; i++)
        fn.buckets[i] = 3;
    fn.nonalpha_discount = fn.no_vowel_discount = 1;
    const uint64_t price = 10000; /* 1 * 10^3 / 1 * 10 */

    NODE.port = B;
    CHECK_EQ(admin(db, "connect", A), 200);
    CHECK(wait_peers(A, 1) && wait_peers(B, 1));

    /* The common chain, mined on A: coins, a ready namespace, alice's
     * preorder of her name. */
    NODE.port = A;
    arb_tl_mine_to(NODE, miner.addr, P->coinbase_maturity + 1);
    actor *who[3] = {&alice, &carol, &dave};
    arb_tl_fund(&C, NODE, &miner, 1, who, 3, 16 * ARB_COIN);
    CHECK(mine(&miner) > 0);
    uint32_t rev_h;
    ns_launch(&alice, &miner, NS, salt, &fn, 1, &rev_h);
    CHECK_STR(arb_tl_name_preorder(&C, NODE, &alice, AL, salt2, alice.pk, price), "ok");
    uint32_t pre_h = mine(&miner);
    CHECK(pre_h > 0);
    CHECK(wait_same_tip(A, B, NULL));

    /* Split. */
    NODE.port = B;
    CHECK_EQ(admin(db, "disconnect", A), 200);
    CHECK(wait_peers(A, 0) && wait_peers(B, 0));

    /* A: the register with an anchor (size 5, carol), then the update. */
    arb_ct_signer *log = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    tree t;
    const uint64_t T = 1700000000000ULL;
    CHECK(arb_ct_signer_generate(&log, NULL) == ARB_OK);
    CHECK(arb_ct_signer_spki(log, &spki, &spki_len) == ARB_OK);
    arb_sha256_digest(H, log_id, spki, spki_len);
    arb_hex_encode(lid, log_id, 32);
    arb_tl_tree_init(&t, H, "leaf");
    actor carol0 = carol;
    NODE.port = A;
    CHECK_STR(arb_tl_name_register(&C, NODE, &alice, AL, salt2, alice.pk, zf1), "ok");
    arb_hash reg_id = alice.coin.txid;
    CHECK_STR(anchor(&carol, log, spki, spki_len, &t, 5, T + 10, 0, NULL, 0), "ok");
    arb_hash anc_id = carol.coin.txid;
    CHECK_EQ(mine(&miner), pre_h + 1);
    CHECK_STR(arb_tl_name_simple(&C, NODE, &alice, ARB_NAMEOP_NAME_UPDATE, AL, zf2, 0), "ok");
    arb_hash upd_id = alice.coin.txid;
    CHECK_EQ(mine(&miner), pre_h + 2);
    CHECK_STR(arb_tl_name_status(NODE, AL), "active");
    snprintf(path, sizeof path, "/chain/v1/anchors/%s", lid);
    json_t *j = NULL;
    CHECK_EQ(arb_tl_http_json(NODE, path, NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(json_object_get(j, "latest"), "tree_size"), 5);
    json_decref(j);
    /* an auditor's anchored proof of leaf 4 at size 5, taken now: it
     * verifies against A's headers */
    char hdrs[1300], anchored[1300];
    snprintf(hdrs, sizeof hdrs, "%s/headers", tmp);
    snprintf(anchored, sizeof anchored, "%s/anchored.json", tmp);
    snprintf(path, sizeof path, "/chain/v1/anchors/%s?proof=1", lid);
    CHECK_EQ(arb_tl_http_json(NODE, path, NULL, &j), 200);
    CHECK(json_object_get(json_object_get(j, "proof"), "anchor_tx") != NULL);
    CHECK(write_anchored(anchored, log_id, &t, 4, 5, T + 10, json_object_get(j, "proof")));
    json_decref(j);
    CHECK(write_headers(hdrs));
    CHECK_EQ(verify_anchored(hdrs, anchored), 0);

    /* B: a longer branch without them, with a smaller head of the same log
     * (dave). */
    NODE.port = B;
    CHECK_EQ(arb_tl_tip_height(NODE), pre_h);
    CHECK_STR(anchor(&dave, log, spki, spki_len, &t, 3, T, 0, NULL, 0), "ok");
    for (int i = 0; i < 3; i++)
        CHECK(mine(&miner) > 0);
    CHECK_EQ(arb_tl_tip_height(NODE), pre_h + 3);
    tip_hash(B, win);
    NODE.port = B;
    CHECK_STR(arb_tl_name_status(NODE, AL), "");

    /* Heal: A takes B's branch. */
    NODE.port = B;
    CHECK_EQ(admin(db, "connect", A), 200);
    CHECK(wait_same_tip(A, B, win));
    /* A's state is B's: the name (absent) and the namespace with their state
     * proofs, the log's anchors, the UTXO set. */
    snprintf(path, sizeof path, "/names/v1/name/%s?proof=1", AL);
    same_answer(A, B, path);
    same_answer(A, B, "/names/v1/namespace/" NS "?proof=1");
    snprintf(path, sizeof path, "/chain/v1/anchors/%s?proof=1", lid);
    same_answer(A, B, path);
    same_answer(A, B, "/chain/v1/utxo-digest");
    NODE.port = A;
    CHECK_EQ(arb_tl_name_lookup(NODE, AL, NULL, &j), 404);
    json_decref(j);
    snprintf(path, sizeof path, "/chain/v1/anchors/%s", lid);
    CHECK_EQ(arb_tl_http_json(NODE, path, NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(json_object_get(j, "latest"), "tree_size"), 3);
    CHECK_EQ(json_array_size(json_object_get(j, "anchors")), 1);
    json_decref(j);
    /* the proof taken before the reorg fails against A's new headers */
    CHECK(write_headers(hdrs));
    CHECK_EQ(verify_anchored(hdrs, anchored), 1);
    /* the register and update are back; the size-5 head without a proof
     * from 3 is not, and is refused with its reason */
    CHECK(wait_in_mempool(A, &reg_id));
    CHECK(wait_in_mempool(A, &upd_id));
    CHECK(!in_mempool(A, &anc_id));
    carol = carol0;
    NODE.port = A;
    CHECK_STR(anchor(&carol, log, spki, spki_len, &t, 5, T + 10, 0, NULL, 0),
              "anchor-bad-consistency");

    /* Mined again (on A): both nodes hold the same records. */
    NODE.port = A;
    uint32_t h2 = mine(&miner);
    CHECK_EQ(h2, pre_h + 4);
    tip_hash(A, win);
    CHECK(wait_same_tip(A, B, win));
    CHECK(!in_mempool(A, &reg_id) && !in_mempool(A, &upd_id));
    snprintf(path, sizeof path, "/names/v1/name/%s?proof=1", AL);
    same_answer(A, B, path);
    same_answer(A, B, "/chain/v1/utxo-digest");
    /* with both mempools empty, the next block's state root (each node's own
     * state tree) is the same */
    {
        char ra[65], rb[65];
        snprintf(path, sizeof path, "/chain/v1/template?address=%s", miner.addr);
        NODE.port = A;
        CHECK_EQ(arb_tl_http_json(NODE, path, NULL, &j), 200);
        snprintf(ra, sizeof ra, "%s", arb_tl_jstr(j, "state_root"));
        json_decref(j);
        NODE.port = B;
        CHECK_EQ(arb_tl_http_json(NODE, path, NULL, &j), 200);
        snprintf(rb, sizeof rb, "%s", arb_tl_jstr(j, "state_root"));
        json_decref(j);
        CHECK(strlen(ra) == 64);
        CHECK_STR(ra, rb);
    }
    NODE.port = B;
    CHECK_EQ(arb_tl_name_lookup(NODE, AL, NULL, &j), 200);
    CHECK_STR(arb_tl_jstr(j, "status"), "active");
    CHECK_STR(arb_tl_jstr(j, "address"), alice.addr);
    arb_hex_encode(hex, zf2, 32);
    CHECK_STR(arb_tl_jstr(j, "zonefile_hash"), hex);
    CHECK_EQ(arb_tl_jint(j, "registered_height"), h2);
    CHECK_EQ(json_array_size(json_object_get(j, "history")), 2);
    json_decref(j);
    free(spki);
    arb_ct_signer_free(log);
}

static void test_reorg(void)
{
    char da[1200], db[1200];
    snprintf(da, sizeof da, "%s/a", tmp);
    snprintf(db, sizeof db, "%s/b", tmp);
    arb_proc *pa = start(da);
    int A = NODE.port;
    arb_proc *pb = start(db);
    int B = NODE.port;
    if (pa != NULL && pb != NULL && A > 0 && B > 0)
        reorg(A, B, db);
    else
        arb_test_fail(__FILE__, __LINE__, "the nodes did not start");
    CHECK_EQ(stop(pa), 0);
    CHECK_EQ(stop(pb), 0);
}

/* ---------------------------------------------------------------- the rules */

static int64_t price_of(const char *full)
{
    char path[256];
    json_t *j = NULL;
    int64_t v = -1;
    snprintf(path, sizeof path, "/names/v1/price/%s", full);
    if (arb_tl_http_json(NODE, path, NULL, &j) == 200)
        v = arb_tl_jint(j, "price");
    json_decref(j);
    return v;
}

static void rules(void)
{
    char full[128];
    actor miner, alice, bob, eve;
    uint8_t salt[32], salt2[32];
    const arb_names_params *np = arb_names_params_get("regtest");
    const char *LNS = "lapsingns";
    json_t *j = NULL;
    arb_tl_actor_new(&C, &miner);
    arb_tl_actor_new(&C, &alice);
    arb_tl_actor_new(&C, &bob);
    arb_tl_actor_new(&C, &eve);
    arb_test_rand_bytes(salt, 32);
    arb_test_rand_bytes(salt2, 32);
    arb_tl_mine_to(NODE, miner.addr, P->coinbase_maturity + 1);
    actor *who[3] = {&alice, &bob, &eve};
    arb_tl_fund(&C, NODE, &miner, 1, who, 3, 16 * ARB_COIN);
    CHECK(mine(&miner) > 0);

    /* The lapse: bob reveals, imports one name, never makes it ready. */
    arb_names_price_fn flat, ex;
    memset(&flat, 0, sizeof flat);
    flat.coeff = 1;
    flat.base = 2;
    flat.nonalpha_discount = flat.no_vowel_discount = 1;
    uint32_t rev_h, rev2_h;
    ns_launch(&bob, &miner, LNS, salt, &flat, 0, &rev_h);
    CHECK_EQ(np->namespace_ready_ttl, 40);
    snprintf(full, sizeof full, "old.%s", LNS);
    CHECK_STR(name_import(&bob, full, bob.pk), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_status(NODE, full), "active");
    /* the last block of the window still takes an import */
    arb_tl_mine_to(NODE, miner.addr, rev_h + np->namespace_ready_ttl - 2);
    snprintf(full, sizeof full, "edge.%s", LNS);
    CHECK_STR(name_import(&bob, full, bob.pk), "ok");
    CHECK_EQ(mine(&miner), rev_h + np->namespace_ready_ttl - 1);
    /* the next block is at reveal + 40: lapsed */
    snprintf(full, sizeof full, "late.%s", LNS);
    CHECK_STR(name_import(&bob, full, bob.pk), "namespace-lapsed");
    {
        arb_nameop op;
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAMESPACE_READY;
        op.ns_len = strlen(LNS);
        memcpy(op.ns, LNS, op.ns_len);
        CHECK_STR(arb_tl_nameop(&C, NODE, &bob, &op), "namespace-lapsed");
    }
    /* eve takes the id with her own preorder and reveal, and the worked
     * examples' price function (docs/names.md) */
    memset(&ex, 0, sizeof ex);
    ex.coeff = 1;
    ex.base = 10;
    for (int i = 0; i < 6; i++)
        ex.buckets[i] = (uint8_t)(6 - i);
    ex.nonalpha_discount = 3;
    ex.no_vowel_discount = 4;
    ns_launch(&eve, &miner, LNS, salt2, &ex, 0, &rev2_h);
    CHECK(rev2_h > rev_h + np->namespace_ready_ttl);
    CHECK_EQ(arb_tl_http_json(NODE, "/names/v1/namespace/lapsingns", NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(j, "reveal_height"), rev2_h);
    json_decref(j);
    /* the names imported under bob's reveal are stale */
    snprintf(full, sizeof full, "old.%s", LNS);
    CHECK_STR(arb_tl_name_status(NODE, full), "available");
    snprintf(full, sizeof full, "/names/v1/price/edge.%s", LNS);
    CHECK_EQ(arb_tl_http_json(NODE, full, NULL, &j), 200);
    CHECK(json_is_true(json_object_get(j, "available")));
    CHECK(json_is_false(json_object_get(j, "namespace_ready")));
    json_decref(j);
    /* and eve may import over them */
    snprintf(full, sizeof full, "old.%s", LNS);
    CHECK_STR(name_import(&bob, full, bob.pk), "namespace-not-revealer");
    CHECK_STR(name_import(&eve, full, eve.pk), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(arb_tl_name_status(NODE, full), "active");

    /* Prices, by hand from the formula: exp = buckets[min(len, 16) - 1],
     * ((coeff * base^exp) / max(nv, na)) * 10, truncated before the * 10. */
    static const struct {
        const char *name;
        int64_t price;
    } prices[] = {
        {"a", 10000000},     /* 10^6 / 1 * 10 */
        {"b", 2500000},      /* 10^6 / 4 * 10: no vowel */
        {"bcd", 25000},      /* 10^4 / 4 * 10 */
        {"a2", 333330},      /* 10^5 / 3 = 33,333 (truncated) * 10: non-alpha */
        {"b2", 250000},      /* 10^5 / max(4, 3) * 10 */
        {"yy", 1000000},     /* y counts as a vowel: 10^5 / 1 * 10 */
        {"aaaaaaa", 10},     /* 10^0 / 1 * 10 */
        {"abc-def-ghi-jkl-mno-pqr-stu-vwx-yza-bcd-efg-hij1", 0}, /* 48 bytes: 1 / 3 = 0 */
    };
    for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
        snprintf(full, sizeof full, "%s.%s", prices[i].name, LNS);
        int64_t got = price_of(full);
        if (got != prices[i].price)
            arb_test_fail(__FILE__, __LINE__, "price of %s: %lld, want %lld", full,
                          (long long)got, (long long)prices[i].price);
        else
            arb_test_passed++;
    }

    /* Anchors refused, each with its reason. */
    arb_ct_signer *log = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    tree t, fork;
    const uint64_t T = 1700000000000ULL;
    CHECK(arb_ct_signer_generate(&log, NULL) == ARB_OK);
    CHECK(arb_ct_signer_spki(log, &spki, &spki_len) == ARB_OK);
    arb_tl_tree_init(&t, H, "leaf");
    arb_tl_tree_init(&fork, H, "forked");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 13, T, 0, NULL, 1), "anchor-bad-signature");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 13, T, 0, NULL, 0), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T + 1, 13, NULL, 1),
              "anchor-bad-signature");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 5, T + 1, 0, NULL, 0),
              "anchor-size-decreased");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T + 1, 13, &fork, 0),
              "anchor-bad-consistency");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T - 1, 13, NULL, 0),
              "anchor-timestamp-earlier");
    /* The same refusals in a block a miner built around the mempool: the
     * block is refused with the anchor's reason and the tip stays. */
    {
        uint32_t h0 = arb_tl_tip_height(NODE);
        g_in_block = &miner;
        CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T + 1, 13, &fork, 0),
                  "anchor-bad-consistency");
        CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 5, T + 1, 0, NULL, 0),
                  "anchor-size-decreased");
        g_in_block = NULL;
        CHECK_EQ(arb_tl_tip_height(NODE), h0);
    }
    /* each of them wrong in one thing only */
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T + 1, 13, NULL, 0), "ok");
    CHECK(mine(&miner) > 0);
    /* payload bytes that do not parse, and a state root outside the
     * coinbase */
    {
        uint8_t junk[40];
        arb_tx tx;
        arb_test_rand_bytes(junk, sizeof junk);
        junk[0] = 0xff;
        arb_tl_op_tx(&C, &tx, &alice, ARB_PAYLOAD_LOG_ANCHOR, junk, sizeof junk, 0);
        CHECK_STR(arb_tl_post_op(&C, NODE, &alice, &tx), "bad-txns-payload-parse");
        arb_tl_op_tx(&C, &tx, &alice, ARB_NAMEOP_NAME_REGISTER, junk, 3, 0);
        CHECK_STR(arb_tl_post_op(&C, NODE, &alice, &tx), "bad-txns-payload-parse");
        arb_tl_op_tx(&C, &tx, &alice, ARB_PAYLOAD_STATE_ROOT, junk, 32, 0);
        CHECK_STR(arb_tl_post_op(&C, NODE, &alice, &tx), "bad-txns-payload-type");
    }
    free(spki);
    arb_ct_signer_free(log);
}

static void test_rules(void)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/rules", tmp);
    arb_proc *p = start(dir);
    if (p != NULL && NODE.port > 0)
        rules();
    else
        arb_test_fail(__FILE__, __LINE__, "the node did not start");
    CHECK_EQ(stop(p), 0);
}

int main(int argc, char **argv)
{
    arb_test_seed_init();
    if (arb_test_bin(bin, sizeof bin, "arbord") == NULL || arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    P = arb_chain_params_get("regtest");
    C = (arb_tl_chain){H, S, P, FEE};
    const char *which = argc > 1 ? argv[1] : "all";
    if (strcmp(which, "reorg") == 0 || strcmp(which, "all") == 0)
        test_reorg();
    if (strcmp(which, "rules") == 0 || strcmp(which, "all") == 0)
        test_rules();
    curl_global_cleanup();
    arb_schnorr_free(S);
    arb_sha256_free(H);
    arb_test_rmtree(tmp);
    return arb_test_done();
}
