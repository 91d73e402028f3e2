/* Log-anchor tests with a real P-256 log key and real tree heads: trees
 * built with merkle/, heads signed with the log's own STH code, consistency
 * proofs built by merkle/proof.h. Every rejection reason is reached, the
 * codec is strict at every byte, and the anchored-head record goes into the
 * state commitment beside a name. */
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"
#include "ledger/log/key.h"
#include "ledger/names/names.h"
#include "merkle/smt.h"
#include "tests/test.h"

static arb_sha256 *sha;

/* ---- a small log: leaf hashes of "<tag> <i>" ---- */

enum { MAXLEAVES = 64 };
typedef struct {
    arb_hash leaf[MAXLEAVES];
} tree;

static void tree_init(tree *t, const char *tag)
{
    for (int i = 0; i < MAXLEAVES; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%s %d", tag, i);
        arb_merkle_leaf_hash(sha, &t->leaf[i], buf, (size_t)n);
    }
}

/* Perfect subtrees, recomputed from the leaves. */
static arb_err get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    tree *t = ud;
    arb_hash l, r;
    if (level == 0) {
        if (index >= MAXLEAVES)
            return ARB_ERR_NOT_FOUND;
        *out = t->leaf[index];
        return ARB_OK;
    }
    if (get_node(ud, level - 1, 2 * index, &l) != ARB_OK ||
        get_node(ud, level - 1, 2 * index + 1, &r) != ARB_OK)
        return ARB_ERR_NOT_FOUND;
    arb_merkle_node_hash(sha, out, &l, &r);
    return ARB_OK;
}

typedef struct {
    uint8_t spki[ARB_ANCHOR_SPKI_MAX];
    size_t spki_len;
    arb_ct_signer *signer;
} logkey;

static int logkey_new(logkey *k)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (arb_ct_signer_generate(&k->signer, NULL) != ARB_OK)
        return 0;
    if (arb_ct_signer_spki(k->signer, &der, &len) != ARB_OK || len > sizeof k->spki) {
        free(der);
        return 0;
    }
    memcpy(k->spki, der, len);
    k->spki_len = len;
    free(der);
    return 1;
}

/* A signed head of t at size (with a consistency proof from `from` when
 * from > 0), as a payload; sigbuf holds the signature. */
static int make_anchor(arb_anchor *a, uint8_t sigbuf[ARB_CT_SIG_MAX], const logkey *k, tree *t,
                       uint64_t size, uint64_t ts, uint64_t from)
{
    arb_merkle_source src = {get_node, t};
    arb_hash root;
    arb_ct_dsig d;

    memset(a, 0, sizeof *a);
    if (arb_merkle_source_root(sha, &src, size, &root) != ARB_OK)
        return 0;
    if (arb_ct_sth_sign(k->signer, &d, sigbuf, ts, size, root.b) != ARB_OK)
        return 0;
    a->spki = k->spki;
    a->spki_len = k->spki_len;
    a->tree_size = size;
    a->timestamp = ts;
    memcpy(a->root, root.b, 32);
    a->sig_hash_alg = d.hash_alg;
    a->sig_sig_alg = d.sig_alg;
    a->sig = d.sig;
    a->sig_len = d.sig_len;
    if (from > 0 && from < size &&
        arb_merkle_consistency_build(sha, &src, from, size, a->proof, &a->proof_len) != ARB_OK)
        return 0;
    return 1;
}

/* Encodes, decodes and checks: the payload goes through the codec as a
 * transaction would carry it. Returns the reason or "ok". */
static const char *check(const arb_anchor *a, const arb_anchor_head *prev, uint32_t height,
                         arb_anchor_head *next)
{
    arb_buf b = ARB_BUF_INIT;
    arb_anchor d;
    const char *reason = NULL;
    arb_err err;
    arb_anchor_head tmp;

    if (arb_anchor_encode(&b, a) != ARB_OK ||
        arb_anchor_decode(&d, b.data, b.len, NULL) != ARB_OK) {
        arb_buf_free(&b);
        return "(codec)";
    }
    err = arb_anchor_check(sha, &d, prev, height, next != NULL ? next : &tmp, &reason);
    arb_buf_free(&b);
    if (err == ARB_ERR_VERIFY)
        return reason != NULL ? reason : "(no reason)";
    return err == ARB_OK ? "ok" : "(error)";
}

static void test_checks(void)
{
    logkey k, other;
    tree t, fork;
    arb_anchor a;
    arb_anchor_head h5, h13, h13b, h0, next;
    uint8_t sig[ARB_CT_SIG_MAX], sig2[ARB_CT_SIG_MAX];
    const uint64_t T = 1700000000000ULL;

    CHECK(logkey_new(&k) && logkey_new(&other));
    tree_init(&t, "leaf");
    tree_init(&fork, "forked");

    /* First anchor: size 5, no proof. */
    CHECK(make_anchor(&a, sig, &k, &t, 5, T, 0));
    CHECK_STR(check(&a, NULL, 100, &h5), "ok");
    {
        uint8_t id[32];
        arb_ct_signer_log_id(k.signer, id);
        CHECK_MEM(h5.log_id, id, 32);
        CHECK(h5.tree_size == 5 && h5.timestamp == T && h5.height == 100);
        CHECK_MEM(h5.root, a.root, 32);
    }
    CHECK(make_anchor(&a, sig, &k, &t, 5, T, 0));
    a.proof_len = 1;
    CHECK_STR(check(&a, NULL, 100, NULL), "anchor-proof-unexpected");

    /* Growth 5 -> 13 with the consistency proof. */
    CHECK(make_anchor(&a, sig, &k, &t, 13, T + 1000, 5));
    CHECK(a.proof_len > 0);
    CHECK_STR(check(&a, &h5, 101, &h13), "ok");
    CHECK(h13.tree_size == 13 && h13.height == 101);
    /* Every hash of the proof matters; so do its length and origin. */
    for (size_t i = 0; i < a.proof_len; i++) {
        arb_anchor bad = a;
        bad.proof[i].b[i % 32] ^= 0x10;
        CHECK_STR(check(&bad, &h5, 101, NULL), "anchor-bad-consistency");
    }
    {
        arb_anchor bad = a;
        bad.proof_len--;
        CHECK_STR(check(&bad, &h5, 101, NULL), "anchor-bad-consistency");
        bad.proof_len = 0;
        CHECK_STR(check(&bad, &h5, 101, NULL), "anchor-bad-consistency");
    }
    {
        arb_anchor from4;
        CHECK(make_anchor(&from4, sig2, &k, &t, 13, T + 1000, 4));
        CHECK_STR(check(&from4, &h5, 101, NULL), "anchor-bad-consistency");
    }

    /* A forked log: a validly signed head of another tree of size 13. */
    CHECK(make_anchor(&a, sig, &k, &fork, 13, T + 2000, 5));
    CHECK_STR(check(&a, &h5, 102, NULL), "anchor-bad-consistency");
    /* ... and at the same size as the anchored head. */
    CHECK_STR(check(&a, &h13, 102, NULL), "anchor-root-changed");

    /* Order of sizes and times. */
    CHECK(make_anchor(&a, sig, &k, &t, 4, T + 3000, 0));
    CHECK_STR(check(&a, &h5, 103, NULL), "anchor-size-decreased");
    CHECK(make_anchor(&a, sig, &k, &t, 20, T + 999, 13));
    CHECK_STR(check(&a, &h13, 103, NULL), "anchor-timestamp-earlier");
    CHECK(make_anchor(&a, sig, &k, &t, 13, T + 1000, 0));
    CHECK_STR(check(&a, &h13, 103, NULL), "anchor-duplicate");
    /* Same size, newer head (the log re-signs an unchanged tree): fine,
     * without a proof. */
    CHECK(make_anchor(&a, sig, &k, &t, 13, T + 5000, 0));
    CHECK_STR(check(&a, &h13, 104, &h13b), "ok");
    CHECK(h13b.timestamp == T + 5000);
    a.proof_len = 1;
    CHECK_STR(check(&a, &h13, 104, NULL), "anchor-proof-unexpected");
    /* Same timestamp, larger tree: fine. */
    CHECK(make_anchor(&a, sig, &k, &t, 64, T + 5000, 13));
    CHECK_STR(check(&a, &h13b, 105, NULL), "ok");

    /* Signatures: the head's fields are signed; the key is the payload's. */
    CHECK(make_anchor(&a, sig, &k, &t, 13, T + 1000, 5));
    a.root[0] ^= 1;
    CHECK_STR(check(&a, &h5, 101, NULL), "anchor-bad-signature");
    a.root[0] ^= 1;
    a.timestamp++;
    CHECK_STR(check(&a, &h5, 101, NULL), "anchor-bad-signature");
    a.timestamp--;
    a.tree_size++;
    CHECK_STR(check(&a, &h5, 101, NULL), "anchor-bad-signature");
    a.tree_size--;
    a.sig_hash_alg = 5; /* sha384 */
    CHECK_STR(check(&a, &h5, 101, NULL), "anchor-bad-signature");
    a.sig_hash_alg = ARB_CT_HASH_SHA256;
    a.sig_len = 0;
    CHECK_STR(check(&a, &h5, 101, NULL), "anchor-bad-signature");
    CHECK(make_anchor(&a, sig, &k, &t, 13, T + 1000, 5));
    a.spki = other.spki;
    a.spki_len = other.spki_len;
    CHECK_STR(check(&a, NULL, 101, NULL), "anchor-bad-signature");
    /* A previous head of another log is a caller bug. */
    {
        const char *reason;
        CHECK(arb_anchor_check(sha, &a, &h5, 101, &next, &reason) == ARB_ERR_INVALID_ARG);
    }

    /* Keys that are not canonical DER P-256 keys. */
    {
        uint8_t junk[91];
        CHECK(make_anchor(&a, sig, &k, &t, 5, T, 0));
        memcpy(junk, k.spki, k.spki_len);
        junk[k.spki_len - 1] ^= 0x55; /* a point off the curve (or a bad encoding) */
        a.spki = junk;
        CHECK_STR(check(&a, NULL, 1, NULL), "anchor-bad-key");
        a.spki_len = k.spki_len - 1;
        CHECK_STR(check(&a, NULL, 1, NULL), "anchor-bad-key");
        memset(junk, 0x30, sizeof junk);
        a.spki_len = sizeof junk;
        CHECK_STR(check(&a, NULL, 1, NULL), "anchor-bad-key");
    }

    /* Size 0: the root must be the empty tree's; a later head needs no proof. */
    CHECK(make_anchor(&a, sig, &k, &t, 0, T, 0));
    CHECK_STR(check(&a, NULL, 1, &h0), "ok");
    CHECK(make_anchor(&a, sig, &k, &t, 7, T + 1, 0));
    CHECK_STR(check(&a, &h0, 2, NULL), "ok");
    a.proof_len = 1;
    CHECK_STR(check(&a, &h0, 2, NULL), "anchor-proof-unexpected");
    {
        arb_ct_dsig d;
        uint8_t r[32];
        memset(r, 0x77, 32);
        CHECK(arb_ct_sth_sign(k.signer, &d, sig, T, 0, r) == ARB_OK);
        memset(&a, 0, sizeof a);
        a.spki = k.spki;
        a.spki_len = k.spki_len;
        a.timestamp = T;
        memcpy(a.root, r, 32);
        a.sig_hash_alg = d.hash_alg;
        a.sig_sig_alg = d.sig_alg;
        a.sig = d.sig;
        a.sig_len = d.sig_len;
        CHECK_STR(check(&a, NULL, 1, NULL), "anchor-empty-root");
    }
    arb_ct_signer_free(k.signer);
    arb_ct_signer_free(other.signer);
}

static void test_codec(void)
{
    logkey k;
    tree t;
    arb_anchor a, d;
    uint8_t sig[ARB_CT_SIG_MAX];
    arb_buf b = ARB_BUF_INIT;

    CHECK(logkey_new(&k));
    tree_init(&t, "leaf");
    CHECK(make_anchor(&a, sig, &k, &t, 37, 123456789, 11));
    CHECK(arb_anchor_encode(&b, &a) == ARB_OK);
    CHECK_EQ(b.len, 1 + a.spki_len + 8 + 8 + 32 + 4 + a.sig_len + 1 + 32 * a.proof_len);
    CHECK(arb_anchor_decode(&d, b.data, b.len, NULL) == ARB_OK);
    CHECK(d.spki_len == a.spki_len && memcmp(d.spki, a.spki, a.spki_len) == 0);
    CHECK(d.tree_size == 37 && d.timestamp == 123456789 && d.proof_len == a.proof_len);
    CHECK(d.sig_len == a.sig_len && memcmp(d.sig, a.sig, a.sig_len) == 0);
    CHECK_MEM(d.proof, a.proof, a.proof_len * 32);
    /* Integers are little-endian: tree_size right after the key. */
    CHECK_EQ(b.data[1 + a.spki_len], 37);
    for (size_t n = 0; n < b.len; n++)
        CHECK(arb_anchor_decode(&d, b.data, n, NULL) == ARB_ERR_PARSE);
    CHECK(arb_buf_u8(&b, 0));
    CHECK(arb_anchor_decode(&d, b.data, b.len, NULL) == ARB_ERR_PARSE);
    CHECK(d.spki == NULL && d.tree_size == 0);
    arb_buf_free(&b);

    /* Non-minimal CompactSize for the key length; zero-length key; a
     * signature longer than 72; 66 proof hashes. */
    {
        uint8_t buf[4096];
        size_t n = 0;
        buf[n++] = 0xfd;
        buf[n++] = 91;
        buf[n++] = 0;
        memset(buf + n, 0x30, 91 + 48);
        n += 91 + 48;
        buf[n++] = 0;
        buf[n++] = 0;
        buf[n++] = 0;
        buf[n++] = 0;
        buf[n++] = 0;
        CHECK(arb_anchor_decode(&d, buf, n, NULL) == ARB_ERR_PARSE);
        buf[0] = 0;
        CHECK(arb_anchor_decode(&d, buf, 1, NULL) == ARB_ERR_PARSE);
    }
    {
        arb_anchor big = a;
        uint8_t longsig[73];
        memset(longsig, 1, sizeof longsig);
        big.sig = longsig;
        big.sig_len = 73;
        CHECK(arb_anchor_encode(&b, &big) == ARB_ERR_INVALID_ARG);
        arb_buf_reset(&b);
        big.sig_len = 72;
        CHECK(arb_anchor_encode(&b, &big) == ARB_OK);
        /* Patch the length to 73 and append one byte before the proof. */
        {
            size_t at = 1 + big.spki_len + 8 + 8 + 32 + 2;
            arb_buf c = ARB_BUF_INIT;
            CHECK(arb_buf_put(&c, b.data, at));
            CHECK(arb_buf_u16be(&c, 73));
            CHECK(arb_buf_put(&c, longsig, 73));
            CHECK(arb_buf_put(&c, b.data + at + 2 + 72, b.len - at - 2 - 72));
            CHECK(arb_anchor_decode(&d, c.data, c.len, NULL) == ARB_ERR_PARSE);
            arb_buf_free(&c);
        }
        arb_buf_reset(&b);
        big.sig_len = a.sig_len;
        big.sig = a.sig;
        big.proof_len = ARB_ANCHOR_PROOF_MAX;
        CHECK(arb_anchor_encode(&b, &big) == ARB_OK);
        CHECK(arb_anchor_decode(&d, b.data, b.len, NULL) == ARB_OK);
        {
            size_t at = b.len - 1 - 65 * 32;
            CHECK_EQ(b.data[at], 65);
            b.data[at] = 66;
            CHECK(arb_buf_put(&b, a.root, 32));
            CHECK(arb_anchor_decode(&d, b.data, b.len, NULL) == ARB_ERR_PARSE);
        }
        arb_buf_free(&b);
        big.proof_len = ARB_ANCHOR_PROOF_MAX + 1;
        CHECK(arb_anchor_encode(&b, &big) == ARB_ERR_INVALID_ARG);
        arb_buf_free(&b);
    }
    /* The longest payload the bounds allow. */
    {
        arb_anchor max;
        uint8_t spki[ARB_ANCHOR_SPKI_MAX], s[ARB_ANCHOR_SIG_MAX];
        memset(&max, 0, sizeof max);
        memset(spki, 1, sizeof spki);
        memset(s, 2, sizeof s);
        max.spki = spki;
        max.spki_len = sizeof spki;
        max.sig = s;
        max.sig_len = sizeof s;
        max.proof_len = ARB_ANCHOR_PROOF_MAX;
        CHECK(arb_anchor_encode(&b, &max) == ARB_OK);
        CHECK_EQ(b.len, ARB_ANCHOR_PAYLOAD_MAX);
        arb_buf_free(&b);
    }
    arb_ct_signer_free(k.signer);
}

static void from_hex(uint8_t *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void test_record_and_commitment(void)
{
    arb_anchor_head hd, back;
    uint8_t rec[ARB_ANCHOR_REC_SIZE], key[32], want[32], tagh[32];
    arb_hash vh;

    memset(&hd, 0, sizeof hd);
    memset(hd.log_id, 0x11, 32);
    hd.tree_size = 13;
    hd.timestamp = 1700000000000ULL;
    memset(hd.root, 0x22, 32);
    hd.height = 42;
    arb_anchor_head_encode(rec, &hd);
    CHECK_EQ(rec[0], 4);
    CHECK_EQ(rec[33], 13);
    CHECK_EQ(rec[81], 42);
    CHECK(arb_anchor_head_decode(&back, rec, sizeof rec) == ARB_OK);
    CHECK(memcmp(&back, &hd, sizeof hd) == 0);
    CHECK(arb_anchor_head_decode(&back, rec, sizeof rec - 1) == ARB_ERR_PARSE);
    rec[0] = 3;
    CHECK(arb_anchor_head_decode(&back, rec, sizeof rec) == ARB_ERR_PARSE);
    arb_anchor_head_hash(sha, &vh, &hd);
    from_hex(want, "4cc1c00b2bc00170a305c1e3b886de86626787e5415f5d8292b1eee37429426e", 32);
    CHECK_MEM(vh.b, want, 32);
    arb_anchor_key(sha, key, hd.log_id);
    from_hex(want, "32fced9dff9c2e59ed19c14d6a52ffdeb4f0eac5eb0fd4fd94ae05966bff7052", 32);
    CHECK_MEM(key, want, 32);
    /* Domain separation from name keys: the key's preimage starts with
     * SHA-256(tag), whose first byte is not in the name alphabet, while a
     * name key's preimage is a full name made only of that alphabet. */
    arb_sha256_digest(sha, tagh, ARB_ANCHOR_KEY_TAG, strlen(ARB_ANCHOR_KEY_TAG));
    CHECK(!arb_names_name_valid(tagh, 1));

    /* A name and an anchored head in one tree, each proved. */
    {
        arb_smt_mem *m;
        arb_smt_store st;
        arb_smt_op ops[2];
        arb_smt_proof p;
        arb_hash root, empty;
        arb_buf b = ARB_BUF_INIT;
        CHECK(arb_smt_mem_new(&m) == ARB_OK);
        arb_smt_mem_store(m, &st);
        arb_anchor_tree_op(sha, &hd, &ops[0]);
        CHECK_MEM(ops[0].key, key, 32);
        CHECK_MEM(ops[0].value_hash.b, vh.b, 32);
        CHECK_EQ(ops[0].del, 0);
        arb_names_name_key(sha, ops[1].key, (const uint8_t *)"alice.test", 10);
        memset(ops[1].value_hash.b, 9, 32);
        ops[1].del = 0;
        arb_smt_empty(&empty);
        CHECK(arb_smt_update(sha, &st, &empty, ops, 2, &root) == ARB_OK);
        CHECK(arb_smt_prove(&st, &root, key, &p) == ARB_OK);
        arb_smt_proof_encode(&b, &p);
        CHECK(arb_smt_verify(sha, &root, key, &vh, b.data, b.len, NULL) == ARB_OK);
        arb_buf_free(&b);
        arb_smt_mem_free(m);
    }
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    test_checks();
    test_codec();
    test_record_and_commitment();
    arb_sha256_free(sha);
    return arb_test_done();
}
