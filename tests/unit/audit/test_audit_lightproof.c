/* Light-client proofs (auditor/lightproof.h) over a regtest chain built in
 * memory (tests/unit/audit/lpchain.c): a name, a namespace, an absence and a
 * log's anchored head with its anchor transaction verify from the genesis
 * and from a later checkpoint; every altered byte of a proof fails; stale
 * tips, unknown checkpoints, conflicting known headers and wrong keys fail
 * with their reasons; the JSON form round-trips and its parser is strict;
 * a name's status follows docs/names.md at every boundary. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auditor/anchored.h"
#include "auditor/evidence.h"
#include "auditor/lightproof.h"
#include "ledger/chain/hdrcheck.h"
#include "tests/test.h"
#include "tests/unit/audit/common.h"
#include "tests/unit/audit/lpchain.h"

static lp_chain C;
static uint8_t key_alice[32], key_bob[32], key_ns[32], key_anchor[32];

static void trust_genesis(arb_lightproof_trust *t)
{
    memset(t, 0, sizeof *t);
    t->params = C.p;
    t->checkpoint = C.hash[0];
    t->now = C.hdr[C.tip].time + 60;
}

static const char *verify(const arb_lightproof *lp, const arb_lightproof_trust *t,
                          const uint8_t *key, arb_lightproof_result *res)
{
    arb_errbuf eb;
    arb_err err = arb_lightproof_verify(C.sha, lp, t, key, res, &eb);
    if (err == ARB_OK)
        return "ok";
    return res->reason ? res->reason : "(no reason)";
}

static void test_presence_absence(void)
{
    arb_lightproof_trust t;
    arb_lightproof_result res;
    arb_lightproof *lp;

    trust_genesis(&t);
    lp = lp_chain_prove(&C, key_alice, 0, 0, 0);
    CHECK(lp != NULL);
    CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
    CHECK_EQ(res.present, 1);
    CHECK_EQ(res.rec_type, ARB_NAMES_REC_NAME);
    CHECK_EQ(res.tip_height, C.tip);
    CHECK(arb_hash_eq(&res.tip_hash, &C.hash[C.tip]));
    CHECK(arb_hash_eq(&res.state_root, &C.state[C.tip]));
    CHECK_EQ(res.name.full_len, 10);
    CHECK_MEM(res.name.full, "alice.test", 10);
    /* From the genesis every header has its parent known: all rules apply. */
    CHECK_EQ(res.headers_checked, C.tip);
    /* Another name's key is refused. */
    CHECK_STR(verify(lp, &t, key_bob, &res), "key-mismatch");
    /* Claiming absence of a present key fails. */
    lp->has_record = 0;
    CHECK_STR(verify(lp, &t, key_alice, &res), "smt-proof-bad");
    arb_lightproof_free(lp);

    lp = lp_chain_prove(&C, key_bob, 0, 0, 0);
    CHECK(lp != NULL);
    CHECK_EQ(lp->has_record, 0);
    CHECK_STR(verify(lp, &t, key_bob, &res), "ok");
    CHECK_EQ(res.present, 0);
    /* Claiming alice's record under bob's key fails. */
    {
        arb_lightproof *la = lp_chain_prove(&C, key_alice, 0, 0, 0);
        CHECK(la != NULL);
        memcpy(lp->record, la->record, la->record_len);
        lp->record_len = la->record_len;
        lp->has_record = 1;
        arb_lightproof_free(la);
        CHECK_STR(verify(lp, &t, key_bob, &res), "record-bad");
    }
    arb_lightproof_free(lp);

    lp = lp_chain_prove(&C, key_ns, 0, 0, 0);
    CHECK(lp != NULL);
    CHECK_STR(verify(lp, &t, key_ns, &res), "ok");
    CHECK_EQ(res.rec_type, ARB_NAMES_REC_NAMESPACE);
    CHECK_EQ(res.ns.reveal_height, 1);
    arb_lightproof_free(lp);
}

static void test_checkpoints(void)
{
    arb_lightproof_trust t;
    arb_lightproof_result res;
    arb_lightproof *lp;
    uint8_t *known;
    size_t known_len;

    /* From a later checkpoint, without its header: proof of work only for
     * the first header, every rule from then on. */
    trust_genesis(&t);
    t.checkpoint = C.hash[3];
    lp = lp_chain_prove(&C, key_alice, 3, 0, 0);
    CHECK(lp != NULL);
    CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
    CHECK_EQ(res.checkpoint_height, 3);
    CHECK_EQ(res.headers_checked, C.tip - 4);
    /* The user trusts block 5: a proof from block 3 passes through it. */
    t.checkpoint = C.hash[5];
    CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
    /* A checkpoint the proof does not reach. */
    t.checkpoint = C.hash[2];
    CHECK_STR(verify(lp, &t, key_alice, &res), "checkpoint-unknown");
    /* With the known headers 0..3 the first header gets every rule too. */
    known = lp_chain_raw_headers(&C, 3, &known_len);
    CHECK(known != NULL);
    t.checkpoint = C.hash[3];
    t.known = known;
    t.known_len = known_len;
    CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
    CHECK_EQ(res.headers_checked, C.tip - 3);
    free(known);

    /* Known headers up to the tip: fine; beyond the tip's height: stale. */
    known = lp_chain_raw_headers(&C, C.tip, &known_len);
    CHECK(known != NULL);
    t.known = known;
    t.known_len = known_len;
    CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
    t.known_len = known_len - ARB_HEADER_SIZE;
    CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
    arb_lightproof_free(lp);
    /* A proof for an older tip (block tip - 1 made the tip). */
    {
        uint32_t tip = C.tip;
        C.tip = tip - 1;
        lp = lp_chain_prove(&C, key_alice, 3, 0, 0);
        C.tip = tip;
        CHECK(lp != NULL);
        t.known_len = known_len;
        CHECK_STR(verify(lp, &t, key_alice, &res), "stale");
        t.known = NULL;
        t.known_len = 0;
        CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
        t.min_height = tip;
        CHECK_STR(verify(lp, &t, key_alice, &res), "stale");
        t.min_height = tip - 1;
        CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
        arb_lightproof_free(lp);
    }
    /* The checkpoint is the tip: no headers; the tip's header must be known. */
    {
        lp = lp_chain_prove(&C, key_alice, C.tip, 0, 0);
        CHECK(lp != NULL);
        CHECK_EQ(lp->n_headers, 0);
        t.checkpoint = C.hash[C.tip];
        t.known = NULL;
        t.known_len = 0;
        t.min_height = 0;
        CHECK_STR(verify(lp, &t, key_alice, &res), "tip-header-unknown");
        t.known = known;
        t.known_len = known_len;
        CHECK_STR(verify(lp, &t, key_alice, &res), "ok");
        CHECK(arb_hash_eq(&res.tip_hash, &C.hash[C.tip]));
        arb_lightproof_free(lp);
        t.checkpoint = C.hash[3];
    }
    /* Known headers that disagree with the proof's. */
    {
        arb_block_header h;
        lp = lp_chain_prove(&C, key_alice, 3, 0, 0);
        CHECK(lp != NULL);
        arb_header_decode(&h, known + 5 * ARB_HEADER_SIZE);
        h.nonce ^= 1;
        arb_header_encode(known + 5 * ARB_HEADER_SIZE, &h);
        t.known = known;
        t.known_len = known_len;
        t.min_height = 0;
        CHECK_STR(verify(lp, &t, key_alice, &res), "headers-conflict");
        arb_lightproof_free(lp);
    }
    free(known);
    /* A clock before the tip's time: the future-time rule. */
    trust_genesis(&t);
    lp = lp_chain_prove(&C, key_alice, 0, 0, 0);
    CHECK(lp != NULL);
    t.now = C.hdr[C.tip].time - 2 * 3600 - 1;
    CHECK_STR(verify(lp, &t, key_alice, &res), "header-time-too-new");
    arb_lightproof_free(lp);
}

static void test_anchor(void)
{
    arb_lightproof_trust t;
    arb_lightproof_result res;
    arb_lightproof *lp;

    trust_genesis(&t);
    for (int with_count = 0; with_count <= 1; with_count++) {
        lp = lp_chain_prove(&C, key_anchor, 0, 1, with_count);
        CHECK(lp != NULL);
        CHECK_STR(verify(lp, &t, key_anchor, &res), "ok");
        CHECK_EQ(res.rec_type, ARB_ANCHOR_REC_TYPE);
        CHECK_EQ(res.anchor_tx_checked, 1);
        CHECK_EQ(res.anchor.tree_size, 7);
        CHECK_EQ(res.anchor.height, C.anchor_height);
        CHECK_EQ(res.anchor_spki_len, C.spki_len);
        CHECK_MEM(res.anchor_spki, C.spki, C.spki_len);
        CHECK(arb_hash_eq(&res.anchor_block_hash, &C.hash[C.anchor_height]));
        /* The anchor claimed in another block. */
        lp->anchor_block_height = C.anchor_height + 1;
        CHECK_STR(verify(lp, &t, key_anchor, &res), "anchor-tx-not-included");
        lp->anchor_block_height = C.tip + 1;
        CHECK_STR(verify(lp, &t, key_anchor, &res), "anchor-tx-not-included");
        arb_lightproof_free(lp);
    }
    /* An anchor transaction beside a name record. */
    lp = lp_chain_prove(&C, key_alice, 0, 0, 0);
    CHECK(lp != NULL);
    {
        arb_lightproof *la = lp_chain_prove(&C, key_anchor, 0, 1, 1);
        CHECK(la != NULL);
        lp->has_anchor_tx = 1;
        lp->anchor_tx = la->anchor_tx;
        lp->anchor_tx_len = la->anchor_tx_len;
        lp->anchor_tx_index = la->anchor_tx_index;
        lp->anchor_tx_count = la->anchor_tx_count;
        lp->anchor_tx_proof_len = la->anchor_tx_proof_len;
        memcpy(lp->anchor_tx_proof, la->anchor_tx_proof, sizeof la->anchor_tx_proof);
        lp->anchor_block_height = la->anchor_block_height;
        la->anchor_tx = NULL;
        arb_lightproof_free(la);
        CHECK_STR(verify(lp, &t, key_alice, &res), "anchor-mismatch");
    }
    arb_lightproof_free(lp);
}

/* Flips one bit of every byte of every field (the bit position moves with
 * the byte, so every position is used); each must
 * fail, except in the tip header's version, time and nonce when no known
 * header pins the tip: there a change that still meets the (regtest)
 * proof of work is another valid block, which the test checks directly. */
static void mutate_all(arb_lightproof *lp, const arb_lightproof_trust *t, const uint8_t *key,
                       int tip_pinned, unsigned long *tried)
{
    arb_lightproof_result res;
    struct {
        uint8_t *p;
        size_t n;
        const char *what;
    } f[8];
    size_t nf = 0;
    uint8_t cp[32];

    memcpy(cp, lp->checkpoint.b, 32);
    f[nf].p = lp->checkpoint.b, f[nf].n = 32, f[nf++].what = "checkpoint";
    f[nf].p = lp->coinbase, f[nf].n = lp->coinbase_len, f[nf++].what = "coinbase";
    f[nf].p = (uint8_t *)lp->coinbase_proof, f[nf].n = 32 * lp->coinbase_proof_len,
    f[nf++].what = "coinbase_proof";
    f[nf].p = lp->key, f[nf].n = 32, f[nf++].what = "key";
    f[nf].p = lp->record, f[nf].n = lp->has_record ? lp->record_len : 0, f[nf++].what = "record";
    f[nf].p = lp->smt_proof, f[nf].n = lp->smt_proof_len, f[nf++].what = "smt_proof";
    if (lp->has_anchor_tx) {
        f[nf].p = lp->anchor_tx, f[nf].n = lp->anchor_tx_len, f[nf++].what = "anchor_tx";
        f[nf].p = (uint8_t *)lp->anchor_tx_proof, f[nf].n = 32 * lp->anchor_tx_proof_len,
        f[nf++].what = "anchor_tx_proof";
    }
    for (size_t k = 0; k < nf; k++) {
        for (size_t i = 0; i < f[k].n; i++) {
            for (int bit = (int)(i % 8); bit == (int)(i % 8); bit++) {
                f[k].p[i] ^= (uint8_t)(1u << bit);
                (*tried)++;
                if (strcmp(verify(lp, t, key, &res), "ok") == 0) {
                    arb_test_fail(__FILE__, __LINE__, "%s byte %zu bit %d: altered proof verifies",
                                  f[k].what, i, bit);
                    f[k].p[i] ^= (uint8_t)(1u << bit);
                    return;
                }
                f[k].p[i] ^= (uint8_t)(1u << bit);
            }
        }
    }
    for (size_t h = 0; h < lp->n_headers; h++) {
        for (size_t i = 0; i < ARB_HEADER_SIZE; i++) {
            for (int bit = (int)((i + h) % 8); bit == (int)((i + h) % 8); bit++) {
                uint8_t raw[ARB_HEADER_SIZE];
                arb_block_header orig = lp->headers[h];
                int ok;
                arb_header_encode(raw, &lp->headers[h]);
                raw[i] ^= (uint8_t)(1u << bit);
                arb_header_decode(&lp->headers[h], raw);
                (*tried)++;
                ok = strcmp(verify(lp, t, key, &res), "ok") == 0;
                if (ok) {
                    /* Only the unpinned tip's version/time/nonce, and only
                     * with valid proof of work. */
                    arb_hash hh;
                    const char *reason;
                    arb_header_hash(C.sha, &hh, &lp->headers[h]);
                    int allowed = !tip_pinned && h == lp->n_headers - 1 &&
                                  (i < 4 || (i >= 68 && i < 72) || i >= 76) &&
                                  arb_header_check_pow(C.p, &hh, &lp->headers[h], &reason, NULL) ==
                                      ARB_OK;
                    if (!allowed) {
                        arb_test_fail(__FILE__, __LINE__,
                                      "header %zu byte %zu bit %d: altered proof verifies", h, i,
                                      bit);
                        lp->headers[h] = orig;
                        return;
                    }
                }
                lp->headers[h] = orig;
            }
        }
    }
    /* Integers. */
    lp->height++;
    (*tried)++;
    CHECK(strcmp(verify(lp, t, key, &res), "ok") != 0);
    lp->height -= 2;
    CHECK(strcmp(verify(lp, t, key, &res), "ok") != 0);
    lp->height++;
    for (int d = -1; d <= 1; d += 2) {
        lp->tx_count += (uint64_t)d;
        CHECK(lp->tx_count == 0 || strcmp(verify(lp, t, key, &res), "ok") != 0);
        lp->tx_count -= (uint64_t)d;
    }
    if (lp->has_anchor_tx) {
        lp->anchor_tx_index++;
        CHECK(strcmp(verify(lp, t, key, &res), "ok") != 0);
        lp->anchor_tx_index--;
    }
    CHECK_STR(verify(lp, t, key, &res), "ok");
    arb_test_passed++;
}

static void test_every_byte(void)
{
    arb_lightproof_trust t;
    const uint8_t *keys[] = {key_alice, key_bob, key_anchor};
    unsigned long tried = 0;
    uint8_t *known;
    size_t known_len;

    known = lp_chain_raw_headers(&C, C.tip, &known_len);
    CHECK(known != NULL);
    for (size_t k = 0; k < 3; k++) {
        arb_lightproof *lp = lp_chain_prove(&C, keys[k], 0, keys[k] == key_anchor, 1);
        CHECK(lp != NULL);
        trust_genesis(&t);
        mutate_all(lp, &t, keys[k], 0, &tried);
        t.known = known;
        t.known_len = known_len;
        mutate_all(lp, &t, keys[k], 1, &tried);
        arb_lightproof_free(lp);
    }
    free(known);
    CHECK(tried > 1000);
}

static void test_json(void)
{
    arb_lightproof *lp, *back = NULL;
    arb_lightproof_trust t;
    arb_lightproof_result res;
    json_t *j, *wrap;
    char *text;
    arb_errbuf eb;

    lp = lp_chain_prove(&C, key_anchor, 0, 1, 0);
    CHECK(lp != NULL);
    j = arb_lightproof_to_json(lp);
    CHECK(j != NULL);
    /* As a lookup answer carries it. */
    wrap = json_pack("{s:s, s:O}", "log_id", "x", "proof", j);
    text = json_dumps(wrap, JSON_COMPACT);
    CHECK(text != NULL);
    CHECK(arb_lightproof_parse(&back, text, strlen(text), &eb) == ARB_OK);
    CHECK_EQ(back->n_headers, lp->n_headers);
    CHECK_MEM(back->headers, lp->headers, lp->n_headers * sizeof *lp->headers);
    CHECK_EQ(back->coinbase_len, lp->coinbase_len);
    CHECK_MEM(back->coinbase, lp->coinbase, lp->coinbase_len);
    CHECK_EQ(back->smt_proof_len, lp->smt_proof_len);
    CHECK_MEM(back->smt_proof, lp->smt_proof, lp->smt_proof_len);
    CHECK_EQ(back->anchor_tx_len, lp->anchor_tx_len);
    CHECK_EQ(back->anchor_tx_count, 0);
    trust_genesis(&t);
    CHECK_STR(verify(back, &t, key_anchor, &res), "ok");
    arb_lightproof_free(back);
    free(text);

    /* Strictness: each field broken in turn. */
    {
        static const char *const fields[] = {"version", "checkpoint", "headers", "height",
                                             "coinbase", "tx_count", "coinbase_proof", "key",
                                             "record", "smt_proof", "anchor_tx_index",
                                             "anchor_tx_proof", "anchor_block_height"};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            json_t *c = json_deep_copy(j);
            CHECK(c != NULL);
            json_object_set_new(c, fields[i], json_string("zz"));
            text = json_dumps(c, JSON_COMPACT);
            back = NULL;
            CHECK(arb_lightproof_parse(&back, text, strlen(text), &eb) == ARB_ERR_PARSE);
            CHECK(back == NULL);
            free(text);
            json_object_del(c, fields[i]);
            text = json_dumps(c, JSON_COMPACT);
            CHECK(arb_lightproof_parse(&back, text, strlen(text), &eb) == ARB_ERR_PARSE);
            free(text);
            json_decref(c);
        }
    }
    /* More headers than the height; an odd-length hex record; version 2. */
    {
        json_t *c = json_deep_copy(j);
        json_object_set_new(c, "height", json_integer(1));
        text = json_dumps(c, JSON_COMPACT);
        CHECK(arb_lightproof_parse(&back, text, strlen(text), &eb) == ARB_ERR_PARSE);
        free(text);
        json_object_set_new(c, "height", json_integer((json_int_t)lp->height));
        json_object_set_new(c, "record", json_string("011"));
        text = json_dumps(c, JSON_COMPACT);
        CHECK(arb_lightproof_parse(&back, text, strlen(text), &eb) == ARB_ERR_PARSE);
        free(text);
        json_object_set_new(c, "record", json_null());
        json_object_set_new(c, "version", json_integer(2));
        text = json_dumps(c, JSON_COMPACT);
        CHECK(arb_lightproof_parse(&back, text, strlen(text), &eb) == ARB_ERR_PARSE);
        free(text);
        json_decref(c);
        CHECK(arb_lightproof_parse(&back, "[1]", 3, &eb) == ARB_ERR_PARSE);
        CHECK(arb_lightproof_parse(&back, "{", 1, &eb) == ARB_ERR_PARSE);
    }
    json_decref(wrap);
    json_decref(j);
    arb_lightproof_free(lp);
}

static void test_name_status(void)
{
    const arb_names_params *np = arb_names_params_get("regtest");
    arb_name_rec r;
    arb_namespace_rec ns;
    int nsc = -1;

    memset(&r, 0, sizeof r);
    memset(&ns, 0, sizeof ns);
    r.registered_height = r.renewed_height = 100;
    r.lifetime = 20;
    ns.reveal_height = 90;
    ns.ready = 1;
    CHECK_EQ(arb_lp_name_status_at(np, NULL, NULL, 5, &nsc), ARB_LP_NAME_AVAILABLE);
    CHECK_EQ(nsc, 0);
    CHECK_EQ(arb_lp_name_status_at(np, &r, &ns, 119, &nsc), ARB_LP_NAME_ACTIVE);
    CHECK_EQ(nsc, 1);
    CHECK_EQ(arb_lp_name_status_at(np, &r, &ns, 120, &nsc), ARB_LP_NAME_GRACE);
    CHECK_EQ(arb_lp_name_status_at(np, &r, &ns, 129, &nsc), ARB_LP_NAME_GRACE);
    CHECK_EQ(arb_lp_name_status_at(np, &r, &ns, 130, &nsc), ARB_LP_NAME_EXPIRED);
    r.revoked = 1;
    CHECK_EQ(arb_lp_name_status_at(np, &r, &ns, 110, &nsc), ARB_LP_NAME_REVOKED);
    r.revoked = 0;
    /* Imported under an earlier reveal: stale, so available. */
    ns.reveal_height = 101;
    CHECK_EQ(arb_lp_name_status_at(np, &r, &ns, 110, &nsc), ARB_LP_NAME_AVAILABLE);
    CHECK_EQ(arb_lp_name_status_at(np, &r, NULL, 110, &nsc), ARB_LP_NAME_ACTIVE);
    CHECK_EQ(nsc, 0);
    r.lifetime = 0;
    ns.reveal_height = 90;
    CHECK_EQ(arb_lp_name_status_at(np, &r, &ns, 4000000000u, &nsc), ARB_LP_NAME_ACTIVE);
    CHECK_STR(arb_lp_name_status_str(ARB_LP_NAME_GRACE), "grace");
    CHECK_STR(arb_lp_name_status_str(ARB_LP_NAME_AVAILABLE), "available");
}

static void test_verify_name(void)
{
    const arb_names_params *np = arb_names_params_get("regtest");
    arb_lightproof_trust t;
    arb_lightproof_result res;
    arb_lp_name_view view;
    arb_lightproof *lp, *nslp, *bob;
    arb_errbuf eb;
    char owner[65], zh[65];
    uint8_t b[32];
    json_t *ans;

    trust_genesis(&t);
    lp = lp_chain_prove(&C, key_alice, 0, 0, 0);
    nslp = lp_chain_prove(&C, key_ns, 0, 0, 0);
    bob = lp_chain_prove(&C, key_bob, 0, 0, 0);
    CHECK(lp != NULL && nslp != NULL && bob != NULL);
    CHECK(arb_lightproof_verify_name(C.sha, "alice.test", lp, NULL, NULL, &t, np, &res, &view,
                                     &eb) == ARB_OK);
    CHECK_EQ(view.status, ARB_LP_NAME_ACTIVE);
    CHECK_EQ(view.ns_checked, 0);
    CHECK_EQ(view.expires_at, 22);
    CHECK_EQ(view.grace_ends_at, 32);
    CHECK(arb_lightproof_verify_name(C.sha, "alice.test", lp, nslp, NULL, &t, np, &res, &view,
                                     &eb) == ARB_OK);
    CHECK_EQ(view.ns_checked, 1);
    CHECK_EQ(view.ns_present, 1);
    /* The namespace proof as the name's, and the name's as bob's. */
    CHECK(arb_lightproof_verify_name(C.sha, "alice.test", nslp, NULL, NULL, &t, np, &res, &view,
                                     &eb) == ARB_ERR_VERIFY);
    CHECK_STR(res.reason, "key-mismatch");
    CHECK(arb_lightproof_verify_name(C.sha, "bob.test", lp, NULL, NULL, &t, np, &res, &view,
                                     &eb) == ARB_ERR_VERIFY);
    CHECK(arb_lightproof_verify_name(C.sha, "bob.test", bob, nslp, NULL, &t, np, &res, &view,
                                     &eb) == ARB_OK);
    CHECK_EQ(view.status, ARB_LP_NAME_AVAILABLE);
    CHECK(arb_lightproof_verify_name(C.sha, "Bob", bob, NULL, NULL, &t, np, &res, &view, &eb) ==
          ARB_ERR_VERIFY);
    CHECK_STR(res.reason, "name-invalid");
    /* The namespace's proof for an older tip. */
    {
        uint32_t tip = C.tip;
        arb_lightproof *old;
        C.tip = tip - 1;
        old = lp_chain_prove(&C, key_ns, 0, 0, 0);
        C.tip = tip;
        CHECK(old != NULL);
        CHECK(arb_lightproof_verify_name(C.sha, "alice.test", lp, old, NULL, &t, np, &res, &view,
                                         &eb) == ARB_ERR_VERIFY);
        CHECK_STR(res.reason, "namespace-proof-tip");
        arb_lightproof_free(old);
    }

    /* A node's answer: every claim must match. */
    memset(b, 0x04, 32);
    arb_hex_encode(owner, b, 32);
    memset(b, 0x5a, 32);
    arb_hex_encode(zh, b, 32);
    ans = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:o}", "name",
                    "alice.test", "namespace", "test", "status", "active", "owner", owner,
                    "zonefile_hash", zh, "registered_height", (json_int_t)2, "renewed_height",
                    (json_int_t)2, "expires_at", (json_int_t)22, "grace_ends_at", (json_int_t)32,
                    "imported", 0, "proof", arb_lightproof_to_json(lp));
    CHECK(ans != NULL);
    CHECK(arb_lightproof_verify_name(C.sha, "alice.test", lp, nslp, ans, &t, np, &res, &view,
                                     &eb) == ARB_OK);
    CHECK_EQ(view.answer_checked, 1);
    {
        static const char *const keys[] = {"name", "namespace", "status", "owner",
                                           "zonefile_hash", "registered_height",
                                           "renewed_height", "expires_at", "grace_ends_at",
                                           "imported"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            json_t *c = json_deep_copy(ans);
            json_t *v = json_object_get(c, keys[i]);
            if (json_is_string(v))
                json_object_set_new(c, keys[i], json_string("bob.test"));
            else if (json_is_integer(v))
                json_object_set_new(c, keys[i], json_integer(json_integer_value(v) + 1));
            else
                json_object_set_new(c, keys[i], json_true());
            CHECK(arb_lightproof_verify_name(C.sha, "alice.test", lp, nslp, c, &t, np, &res,
                                             &view, &eb) == ARB_ERR_VERIFY);
            CHECK_STR(res.reason, "answer-disagrees");
            json_decref(c);
        }
    }
    /* A zone file must hash to the record's hash (32 x 5a is no file's). */
    json_object_set_new(ans, "zonefile", json_string("$ORIGIN alice.test\n"));
    CHECK(arb_lightproof_verify_name(C.sha, "alice.test", lp, nslp, ans, &t, np, &res, &view,
                                     &eb) == ARB_ERR_VERIFY);
    CHECK_STR(res.reason, "answer-disagrees");
    json_object_set_new(ans, "zonefile", json_null());
    /* "available" for a present record: only the namespace proof decides. */
    json_object_set_new(ans, "status", json_string("available"));
    CHECK(arb_lightproof_verify_name(C.sha, "alice.test", lp, NULL, ans, &t, np, &res, &view,
                                     &eb) == ARB_ERR_VERIFY);
    CHECK_STR(res.reason, "namespace-unknown");
    CHECK(arb_lightproof_verify_name(C.sha, "alice.test", lp, nslp, ans, &t, np, &res, &view,
                                     &eb) == ARB_ERR_VERIFY);
    CHECK_STR(res.reason, "answer-disagrees");
    json_decref(ans);
    arb_lightproof_free(lp);
    arb_lightproof_free(nslp);
    arb_lightproof_free(bob);
}

/* Leaves "forked i" (the forked tree) or the anchored tree's, for sources. */
static arb_hash FORK[9];
static arb_err fork_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    const arb_hash *lv = ud;
    arb_hash l, r;
    if (level == 0) {
        if (index >= 9)
            return ARB_ERR_NOT_FOUND;
        *out = lv[index];
        return ARB_OK;
    }
    if (fork_node(ud, level - 1, 2 * index, &l) != ARB_OK ||
        fork_node(ud, level - 1, 2 * index + 1, &r) != ARB_OK)
        return ARB_ERR_NOT_FOUND;
    arb_merkle_node_hash(C.sha, out, &l, &r);
    return ARB_OK;
}

static arb_err check_text(json_t *o, arb_audit_ev_result *res, const arb_audit_ev_trust *tr)
{
    char *text = json_dumps(o, JSON_COMPACT);
    arb_errbuf eb;
    arb_err e = arb_audit_evidence_check_trust(res, text, strlen(text), NULL, tr, &eb);
    free(text);
    return e;
}

static void test_anchored_evidence(void)
{
    arb_audit_log lg;
    arb_audit_sth anchored, served, fork9;
    arb_lightproof *lp;
    json_t *pj, *ev;
    arb_audit_ev_result res;
    arb_audit_ev_trust tr = {NULL, 0};
    arb_hash root, prefix, proof[ARB_MERKLE_MAX_PROOF];
    arb_merkle_source src = {fork_node, FORK};
    size_t n = 0;
    arb_errbuf eb;

    memset(&lg, 0, sizeof lg);
    CHECK(arb_audit_log_from_key(&lg, "http://127.0.0.1:1/", 0, C.spki, C.spki_len, 60, &eb) ==
          ARB_OK);
    /* The anchored head, as the transaction carries it. */
    memset(&anchored, 0, sizeof anchored);
    anchored.tree_size = C.head.tree_size;
    anchored.timestamp = C.head.timestamp;
    memcpy(anchored.root.b, C.head.root, 32);
    memcpy(anchored.sig, C.anchor_sig, C.anchor_sig_len);
    anchored.sig_len = C.anchor_sig_len;
    /* A second tree under the same key: same size, another root. */
    memset(root.b, 0x99, 32);
    CHECK(tlog_sth(&served, C.signer, 7, C.head.timestamp + 5, &root));
    lp = lp_chain_prove(&C, key_anchor, 0, 1, 1);
    CHECK(lp != NULL);
    pj = arb_lightproof_to_json(lp);
    arb_lightproof_free(lp);
    CHECK(pj != NULL);
    ev = arb_audit_evidence_make_anchored(ARB_AUDIT_EV_SPLIT_VIEW, &lg, &served, "log",
                                          &anchored, "chain", 1, NULL, NULL, 0, "regtest", pj,
                                          "test", 1);
    CHECK(ev != NULL);
    CHECK(check_text(ev, &res, NULL) == ARB_OK);
    CHECK_EQ(res.kind, ARB_AUDIT_EV_ANCHORED);
    CHECK_EQ(res.relation, ARB_AUDIT_EV_SPLIT_VIEW);
    CHECK_EQ(res.anchor_height, C.anchor_height);
    CHECK(arb_hash_eq(&res.checkpoint, &C.hash[0]));
    /* From a checkpoint the checker trusts, with its clock. */
    tr.checkpoint = &C.hash[0];
    tr.now = C.hdr[C.tip].time;
    CHECK(check_text(ev, &res, &tr) == ARB_OK);
    tr.checkpoint = &C.hash[1]; /* a block among the headers */
    CHECK(check_text(ev, &res, &tr) == ARB_OK);
    {
        arb_hash other;
        memset(other.b, 0x42, 32);
        tr.checkpoint = &other;
        CHECK(check_text(ev, &res, &tr) == ARB_ERR_VERIFY);
    }
    /* The wrong head named as the anchored one. */
    json_object_set_new(ev, "anchored_head", json_integer(0));
    CHECK(check_text(ev, &res, NULL) == ARB_ERR_VERIFY);
    json_object_set_new(ev, "anchored_head", json_integer(1));
    /* Any altered byte of the chain's proof breaks it. */
    {
        json_t *p = json_object_get(json_object_get(ev, "anchor"), "proof");
        const char *fields[] = {"coinbase", "smt_proof", "anchor_tx", "key"};
        for (size_t f = 0; f < 4; f++) {
            char *h = strdup(json_string_value(json_object_get(p, fields[f])));
            size_t hl = strlen(h);
            for (size_t i = 0; i < hl; i += 7) {
                char save = h[i];
                h[i] = h[i] == '0' ? '1' : '0';
                json_object_set_new(p, fields[f], json_string(h));
                if (check_text(ev, &res, NULL) == ARB_OK) {
                    arb_test_fail(__FILE__, __LINE__, "anchor.proof.%s char %zu altered verifies",
                                  fields[f], i);
                    free(h);
                    json_decref(ev);
                    json_decref(pj);
                    arb_audit_log_clear(&lg);
                    return;
                }
                h[i] = save;
            }
            json_object_set_new(p, fields[f], json_string(h));
            free(h);
        }
        CHECK(check_text(ev, &res, NULL) == ARB_OK);
    }
    json_decref(ev);

    /* A fork: the served tree of 9 whose first 7 leaves differ. */
    for (int i = 0; i < 9; i++) {
        char b[16];
        int k = snprintf(b, sizeof b, "forked %d", i);
        arb_merkle_leaf_hash(C.sha, &FORK[i], b, (size_t)k);
    }
    CHECK(arb_merkle_source_root(C.sha, &src, 9, &root) == ARB_OK);
    CHECK(arb_merkle_source_root(C.sha, &src, 7, &prefix) == ARB_OK);
    CHECK(arb_merkle_consistency_build(C.sha, &src, 7, 9, proof, &n) == ARB_OK);
    CHECK(tlog_sth(&fork9, C.signer, 9, C.head.timestamp + 9, &root));
    ev = arb_audit_evidence_make_anchored(ARB_AUDIT_EV_FORK, &lg, &anchored, "chain", &fork9, "log",
                                          0, &prefix, proof, n, "regtest", pj, "test", 1);
    CHECK(ev != NULL);
    CHECK(check_text(ev, &res, NULL) == ARB_OK);
    CHECK_EQ(res.relation, ARB_AUDIT_EV_FORK);
    /* The same report claiming the anchored tree as the prefix proves nothing. */
    {
        char *r = arb_base64_encode(anchored.root.b, 32);
        json_object_set_new(ev, "prefix_root", json_string(r));
        free(r);
        CHECK(check_text(ev, &res, NULL) == ARB_ERR_VERIFY);
    }
    json_decref(ev);
    /* A consistent larger head of the anchored tree is no split view. */
    {
        arb_hash lv[9];
        arb_merkle_source s2 = {fork_node, lv};
        memcpy(lv, C.leaves, 7 * sizeof lv[0]);
        lv[7] = FORK[7];
        lv[8] = FORK[8];
        CHECK(arb_merkle_source_root(C.sha, &s2, 9, &root) == ARB_OK);
        CHECK(arb_merkle_consistency_build(C.sha, &s2, 7, 9, proof, &n) == ARB_OK);
        CHECK(tlog_sth(&fork9, C.signer, 9, C.head.timestamp + 9, &root));
        ev = arb_audit_evidence_make_anchored(ARB_AUDIT_EV_INCONSISTENT, &lg, &anchored, "chain",
                                              &fork9, "log", 0, NULL, proof, n, "regtest", pj,
                                              "test", 1);
        CHECK(ev != NULL);
        CHECK(check_text(ev, &res, NULL) == ARB_ERR_VERIFY);
        json_decref(ev);
    }
    json_decref(pj);
    arb_audit_log_clear(&lg);
}

static void test_anchored_inclusion(void)
{
    arb_lightproof_trust t;
    arb_audit_anchored_result res;
    arb_lightproof *lp;
    json_t *pj, *doc;
    arb_hash proof[ARB_MERKLE_MAX_PROOF], other;
    arb_merkle_source src = {fork_node, C.leaves};
    size_t n = 0;
    arb_errbuf eb;
    char *text;

    trust_genesis(&t);
    lp = lp_chain_prove(&C, key_anchor, 0, 1, 1);
    CHECK(lp != NULL);
    pj = arb_lightproof_to_json(lp);
    arb_lightproof_free(lp);
    CHECK(pj != NULL);
    for (uint64_t idx = 0; idx < 7; idx++) {
        CHECK(arb_merkle_inclusion_build(C.sha, &src, idx, 7, proof, &n) == ARB_OK);
        doc = arb_audit_anchored_make("regtest", C.log_id, &C.leaves[idx], 1000, idx, proof, n, pj);
        CHECK(doc != NULL);
        text = json_dumps(doc, JSON_COMPACT);
        CHECK(arb_audit_anchored_check(C.sha, text, strlen(text), &t, &C.leaves[idx], &res,
                                       &eb) == ARB_OK);
        CHECK_EQ(res.leaf_index, idx);
        CHECK_EQ(res.head.tree_size, 7);
        CHECK_EQ(res.head.height, C.anchor_height);
        /* Another leaf expected; the proof checked from an unknown checkpoint. */
        CHECK(arb_audit_anchored_check(C.sha, text, strlen(text), &t, &C.leaves[(idx + 1) % 7],
                                       &res, &eb) == ARB_ERR_VERIFY);
        CHECK_STR(res.reason, "leaf-mismatch");
        free(text);
        /* The proof of another index. */
        json_object_set_new(doc, "leaf_index", json_integer((json_int_t)((idx + 1) % 7)));
        text = json_dumps(doc, JSON_COMPACT);
        CHECK(arb_audit_anchored_check(C.sha, text, strlen(text), &t, NULL, &res, &eb) ==
              ARB_ERR_VERIFY);
        CHECK_STR(res.reason, "not-included");
        free(text);
        json_decref(doc);
    }
    /* A leaf that is not in the anchored tree. */
    memset(other.b, 0x17, 32);
    CHECK(arb_merkle_inclusion_build(C.sha, &src, 2, 7, proof, &n) == ARB_OK);
    doc = arb_audit_anchored_make("regtest", C.log_id, &other, 1000, 2, proof, n, pj);
    text = json_dumps(doc, JSON_COMPACT);
    CHECK(arb_audit_anchored_check(C.sha, text, strlen(text), &t, NULL, &res, &eb) ==
          ARB_ERR_VERIFY);
    CHECK_STR(res.reason, "not-included");
    free(text);
    json_decref(doc);
    /* Another log's ID: the proof is not about its key. */
    {
        uint8_t id[32];
        memcpy(id, C.log_id, 32);
        id[0] ^= 1;
        doc = arb_audit_anchored_make("regtest", id, &C.leaves[2], 1000, 2, proof, n, pj);
        text = json_dumps(doc, JSON_COMPACT);
        CHECK(arb_audit_anchored_check(C.sha, text, strlen(text), &t, NULL, &res, &eb) ==
              ARB_ERR_VERIFY);
        CHECK_STR(res.reason, "key-mismatch");
        free(text);
        json_decref(doc);
    }
    /* Every altered character of the document fails, with the known headers
     * pinning the tip (on regtest a changed tip nonce is otherwise another
     * valid block), except the informational sct_timestamp and the name of
     * the optional anchor_tx_count member (ignored as any unknown member). */
    doc = arb_audit_anchored_make("regtest", C.log_id, &C.leaves[2], 1000, 2, proof, n, pj);
    text = json_dumps(doc, JSON_COMPACT);
    {
        size_t len = strlen(text), tried = 0;
        size_t known_len;
        uint8_t *known = lp_chain_raw_headers(&C, C.tip, &known_len);
        const char *ts = strstr(text, "\"sct_timestamp\":1000");
        const char *cnt = strstr(text, "\"anchor_tx_count\"");
        CHECK(known != NULL && ts != NULL && cnt != NULL);
        t.known = known;
        t.known_len = known_len;
        CHECK(arb_audit_anchored_check(C.sha, text, len, &t, &C.leaves[2], &res, &eb) == ARB_OK);
        for (size_t i = 0; i < len; i++) {
            char save = text[i];
            const char *p = text + i;
            if (strchr("\":,{}[]", save) != NULL || (p >= ts && p < ts + 20) ||
                (p >= cnt && p < cnt + 17))
                continue;
            text[i] = save == '0' ? '1' : save == 'A' ? 'B' : '0';
            tried++;
            if (arb_audit_anchored_check(C.sha, text, len, &t, &C.leaves[2], &res, &eb) == ARB_OK) {
                arb_test_fail(__FILE__, __LINE__, "altered at %zu verifies: %.30s", i, p);
                text[i] = save;
                break;
            }
            text[i] = save;
        }
        CHECK(tried > 2000);
        free(known);
    }
    free(text);
    json_decref(doc);
    json_decref(pj);
}

int main(void)
{
    arb_test_seed_init();
    if (!lp_chain_build(&C, 9, 4)) {
        arb_test_fail(__FILE__, __LINE__, "building the test chain failed");
        return arb_test_done();
    }
    arb_names_name_key(C.sha, key_alice, (const uint8_t *)"alice.test", 10);
    arb_names_name_key(C.sha, key_bob, (const uint8_t *)"bob.test", 8);
    arb_names_ns_key(C.sha, key_ns, (const uint8_t *)"test", 4);
    arb_anchor_key(C.sha, key_anchor, C.log_id);
    test_presence_absence();
    test_checkpoints();
    test_anchor();
    test_every_byte();
    test_json();
    test_name_status();
    test_verify_name();
    test_anchored_evidence();
    test_anchored_inclusion();
    lp_chain_free(&C);
    return arb_test_done();
}
