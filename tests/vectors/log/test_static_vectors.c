/* static-ct-api known answers: the real navigli2025h2 data tiles (1024
 * precert entries from a production log) decode, re-encode byte for byte,
 * carry their leaf_index, hash to the level-0 tile hashes, and the TBS
 * rewriting of each submitted precertificate reproduces the logged TBS; the
 * rome2026h1 checkpoints verify with the log's key. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ledger/log/chain.h"
#include "ledger/log/der.h"
#include "ledger/log/ct.h"
#include "ledger/log/key.h"
#include "ledger/log/static.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "tests/test.h"

static arb_sha256 *sha;

#define NAV "ct/static_ct/navigli2025h2_real/"

/* Naive RFC 6962 MTH over n leaf hashes (reference; n >= 1). */
static void mth(const arb_hash *leaves, size_t n, arb_hash *out)
{
    size_t k = 1;
    arb_hash l, r;

    if (n == 1) {
        *out = leaves[0];
        return;
    }
    while (k * 2 < n)
        k *= 2;
    mth(leaves, k, &l);
    mth(leaves + k, n - k, &r);
    arb_merkle_node_hash(sha, out, &l, &r);
}

static arb_hash level0[1024];
static size_t n_level0;

static void check_data_tile(const char *data_rel, const char *hash_rel, size_t first, size_t want)
{
    size_t dlen, hlen, i = 0;
    uint8_t *data = arb_test_read_vector(data_rel, &dlen);
    uint8_t *hashes = arb_test_read_vector(hash_rel, &hlen);
    arb_cur c;
    size_t tbs_equal = 0, der_ok = 0;

    CHECK(data != NULL && hashes != NULL);
    CHECK_EQ(hlen, want * 32);
    c = arb_cur_make(data, dlen);
    while (c.len > 0) {
        const uint8_t *start = c.p;
        arb_ct_tile_leaf t;
        arb_hash h;
        uint64_t idx;
        arb_buf enc = ARB_BUF_INIT;
        uint8_t *tbs = NULL;
        size_t tbs_len;
        arb_errbuf eb;

        CHECK(i < want);
        CHECK(arb_ct_tile_leaf_read(&t, &c) == ARB_OK);
        CHECK(arb_ct_tile_leaf_encode(&enc, &t) == ARB_OK);
        CHECK(enc.len == (size_t)(c.p - start) && memcmp(enc.data, start, enc.len) == 0);
        arb_buf_free(&enc);
        CHECK_EQ(t.leaf.entry.entry_type, ARB_CT_ENTRY_PRECERT);
        CHECK(t.n_fingerprints >= 1);
        CHECK(arb_ct_leaf_index_find(&idx, t.leaf.ext, t.leaf.ext_len) == ARB_OK);
        CHECK_EQ(idx, first + i);
        CHECK(arb_ct_tile_leaf_hash(sha, &h, &t) == ARB_OK);
        CHECK_MEM(h.b, hashes + 32 * i, 32);
        if (first + i < 1024 && first + i == n_level0)
            level0[n_level0++] = h;
        /* Real CAs' precertificates pass the log's strict DER check. */
        if (arb_der_check_cert(t.precert, t.precert_len, &eb) == ARB_OK)
            der_ok++;
        else
            printf("entry %zu: %s\n", first + i, eb.msg);
        /* The log signed the precertificate's TBS without the poison. */
        if (arb_ct_precert_tbs(&tbs, &tbs_len, t.precert, t.precert_len, NULL, 0, &eb) == ARB_OK &&
            tbs_len == t.leaf.entry.cert_len && memcmp(tbs, t.leaf.entry.cert, tbs_len) == 0)
            tbs_equal++;
        free(tbs);
        i++;
    }
    CHECK_EQ(i, want);
    /* Today's CAs issue precertificates directly, so every one must match. */
    CHECK_EQ(tbs_equal, want);
    CHECK_EQ(der_ok, want);
    free(data);
    free(hashes);
}

static void test_navigli(void)
{
    static const char *names[] = {"000", "001", "002", "003"};
    size_t t, n;
    uint8_t *txt = arb_test_read_vector(NAV "expected.json", &n);
    json_t *doc;
    arb_hash root;
    uint8_t *want = NULL;
    size_t want_len;
    const char *s;
    char drel[128], hrel[128];

    CHECK(txt != NULL);
    doc = json_loadb((const char *)txt, n, 0, NULL);
    free(txt);
    CHECK(doc != NULL);
    n_level0 = 0;
    for (t = 0; t < 4; t++) {
        snprintf(drel, sizeof(drel), NAV "tile/data/%s", names[t]);
        snprintf(hrel, sizeof(hrel), NAV "tile/0/%s", names[t]);
        check_data_tile(drel, hrel, 256 * t, 256);
    }
    check_data_tile(NAV "tile/data/003.p/10", NAV "tile/0/003.p/10", 768, 10);
    CHECK_EQ(n_level0, 1024);
    mth(level0, 1024, &root);
    s = json_string_value(json_object_get(doc, "computed_root_size_1024_b64"));
    CHECK(s != NULL && arb_base64_decode(&want, &want_len, s, strlen(s)) == ARB_OK);
    CHECK(want_len == 32 && memcmp(want, root.b, 32) == 0);
    free(want);
    mth(level0, 778, &root);
    s = json_string_value(json_object_get(doc, "computed_root_size_778_b64"));
    CHECK(s != NULL && arb_base64_decode(&want, &want_len, s, strlen(s)) == ARB_OK);
    CHECK(want_len == 32 && memcmp(want, root.b, 32) == 0);
    free(want);
    json_decref(doc);
}

static void test_leaf_index_ext(void)
{
    uint8_t e[8], two[16];
    uint64_t idx;

    arb_ct_leaf_index_ext(e, 1023);
    CHECK_MEM(e, "\x00\x00\x05\x00\x00\x00\x03\xff", 8);
    CHECK(arb_ct_leaf_index_find(&idx, e, 8) == ARB_OK);
    CHECK_EQ(idx, 1023);
    CHECK(arb_ct_leaf_index_find(&idx, e, 7) == ARB_ERR_PARSE);
    CHECK(arb_ct_leaf_index_find(&idx, NULL, 0) == ARB_ERR_NOT_FOUND);
    memcpy(two, e, 8);
    memcpy(two + 8, e, 8);
    CHECK(arb_ct_leaf_index_find(&idx, two, 16) == ARB_ERR_PARSE); /* repeated */
    two[8] = 7;                                                    /* another type: skipped */
    CHECK(arb_ct_leaf_index_find(&idx, two, 16) == ARB_OK);
    CHECK_EQ(idx, 1023);
}

static arb_ct_verifier *rome_key(void)
{
    size_t n;
    uint8_t *txt = arb_test_read_vector("ct/static_ct/rome2026h1_test/log.v3.json", &n);
    json_t *doc;
    const char *k;
    uint8_t *der = NULL;
    size_t der_len;
    arb_ct_verifier *v = NULL;
    arb_errbuf eb;

    if (txt == NULL)
        return NULL;
    doc = json_loadb((const char *)txt, n, 0, NULL);
    free(txt);
    k = json_string_value(json_object_get(doc, "key"));
    if (k != NULL && arb_base64_decode(&der, &der_len, k, strlen(k)) == ARB_OK &&
        arb_ct_verifier_from_spki(&v, der, der_len, &eb) != ARB_OK)
        v = NULL;
    free(der);
    json_decref(doc);
    return v;
}

static void test_rome_checkpoints(void)
{
    static const char *files[] = {"checkpoint", "checkpoint.witness-cosigned"};
    arb_ct_verifier *v = rome_key();
    uint8_t root[32], *want = NULL;
    size_t want_len, i;
    uint64_t size, ts;
    const char *origin = "rome2026h1.example.org";

    CHECK(v != NULL);
    CHECK(arb_base64_decode(&want, &want_len, "lCkHUpkmVBEms2r2T1K6Og69+wUuuN3MIEW1/ezu2v0=", 44) ==
          ARB_OK);
    for (i = 0; i < 2; i++) {
        char rel[128];
        size_t n;
        uint8_t *txt;
        snprintf(rel, sizeof(rel), "ct/static_ct/rome2026h1_test/%s", files[i]);
        CHECK((txt = arb_test_read_vector(rel, &n)) != NULL);
        CHECK(arb_ct_checkpoint_verify(v, origin, (const char *)txt, n, &size, root, &ts) == ARB_OK);
        CHECK_EQ(size, 300);
        CHECK_EQ(ts, 1767139200000ull);
        CHECK_MEM(root, want, 32);
        CHECK(arb_ct_checkpoint_verify(v, "rome2026h1.example.com", (const char *)txt, n, &size,
                                       root, &ts) == ARB_ERR_VERIFY);
        txt[25] = '1'; /* the size line "300" becomes "310" */
        CHECK(arb_ct_checkpoint_verify(v, origin, (const char *)txt, n, &size, root, &ts) ==
              ARB_ERR_VERIFY);
        free(txt);
    }
    /* The mirror's checkpoint carries only the mirror's cosignature. */
    {
        size_t n;
        uint8_t *txt =
            arb_test_read_vector("ct/static_ct/rome2026h1_test/checkpoint.mirror-cosigned", &n);
        CHECK(txt != NULL);
        CHECK(arb_ct_checkpoint_verify(v, origin, (const char *)txt, n, &size, root, &ts) ==
              ARB_ERR_VERIFY);
        free(txt);
    }
    free(want);
    arb_ct_verifier_free(v);
}

/* Our own checkpoints verify, and with a key that is not the log's they do not. */
static void test_checkpoint_roundtrip(void)
{
    arb_ct_signer *s = NULL, *s2 = NULL;
    arb_ct_verifier *v = NULL, *v2 = NULL;
    char *pem = NULL, *text = NULL;
    size_t pem_len, text_len;
    uint8_t root[32], back[32];
    uint64_t size, ts;
    arb_errbuf eb;

    memset(root, 0x42, 32);
    CHECK(arb_ct_signer_generate(&s, &eb) == ARB_OK);
    CHECK(arb_ct_signer_generate(&s2, &eb) == ARB_OK);
    CHECK(arb_ct_signer_public_pem(s, &pem, &pem_len) == ARB_OK);
    CHECK(arb_ct_verifier_from_pem(&v, pem, pem_len, &eb) == ARB_OK);
    free(pem);
    CHECK(arb_ct_signer_public_pem(s2, &pem, &pem_len) == ARB_OK);
    CHECK(arb_ct_verifier_from_pem(&v2, pem, pem_len, &eb) == ARB_OK);
    free(pem);
    CHECK(arb_ct_checkpoint_sign(&text, &text_len, s, "log.example/2026", 1234, 99, root) == ARB_OK);
    CHECK(strncmp(text, "log.example/2026\n99\nQkJC", 24) == 0);
    CHECK(arb_ct_checkpoint_verify(v, "log.example/2026", text, text_len, &size, back, &ts) == ARB_OK);
    CHECK_EQ(size, 99);
    CHECK_EQ(ts, 1234);
    CHECK_MEM(back, root, 32);
    CHECK(arb_ct_checkpoint_verify(v2, "log.example/2026", text, text_len, &size, back, &ts) ==
          ARB_ERR_VERIFY);
    free(text);
    CHECK(arb_ct_checkpoint_sign(&text, &text_len, s, "bad origin", 1, 1, root) ==
          ARB_ERR_INVALID_ARG);
    arb_ct_signer_free(s);
    arb_ct_signer_free(s2);
    arb_ct_verifier_free(v);
    arb_ct_verifier_free(v2);
}

int main(void)
{
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    test_leaf_index_ext();
    test_navigli();
    test_rome_checkpoints();
    test_checkpoint_roundtrip();
    arb_sha256_free(sha);
    return arb_test_done();
}
