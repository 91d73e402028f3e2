/* RFC 6962 TLS codecs and log keys: hand-assembled encodings (byte layouts
 * written out from the RFC's struct definitions), seeded random round trips,
 * every truncation and a trailing byte rejected, and ECDSA keys in SEC1 and
 * PKCS#8 form checked against OpenSSL's own verification. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "tests/test.h"

static arb_sha256 *sha;

/* An SCT laid out by hand: version 0, log id 0x11.., timestamp
 * 0x0102030405060708, extensions "ab", hash 4, sig 3, signature "xyz". */
static void test_sct_layout(void)
{
    uint8_t want[1 + 32 + 8 + 2 + 2 + 2 + 2 + 3], *p = want;
    arb_ct_sct sct, back;
    arb_buf b = ARB_BUF_INIT;
    size_t i;

    *p++ = 0;
    memset(p, 0x11, 32);
    p += 32;
    for (i = 1; i <= 8; i++)
        *p++ = (uint8_t)i;
    *p++ = 0;
    *p++ = 2;
    *p++ = 'a';
    *p++ = 'b';
    *p++ = 4;
    *p++ = 3;
    *p++ = 0;
    *p++ = 3;
    memcpy(p, "xyz", 3);

    memset(&sct, 0, sizeof(sct));
    memset(sct.log_id, 0x11, 32);
    sct.timestamp = 0x0102030405060708ull;
    sct.ext = (const uint8_t *)"ab";
    sct.ext_len = 2;
    sct.sig.hash_alg = 4;
    sct.sig.sig_alg = 3;
    sct.sig.sig = (const uint8_t *)"xyz";
    sct.sig.sig_len = 3;
    CHECK(arb_ct_sct_encode(&b, &sct) == ARB_OK);
    CHECK_EQ(b.len, sizeof(want));
    CHECK_MEM(b.data, want, sizeof(want));
    CHECK(arb_ct_sct_decode(&back, want, sizeof(want)) == ARB_OK);
    CHECK_EQ(back.timestamp, sct.timestamp);
    CHECK(back.ext_len == 2 && memcmp(back.ext, "ab", 2) == 0);
    CHECK(back.sig.sig_len == 3 && memcmp(back.sig.sig, "xyz", 3) == 0);
    /* Every truncation fails, and so do a trailing byte and version 1. */
    for (i = 0; i < sizeof(want); i++)
        CHECK(arb_ct_sct_decode(&back, want, i) == ARB_ERR_PARSE);
    CHECK(arb_buf_u8(&b, 0));
    CHECK(arb_ct_sct_decode(&back, b.data, b.len) == ARB_ERR_PARSE);
    want[0] = 1;
    CHECK(arb_ct_sct_decode(&back, want, sizeof(want)) == ARB_ERR_PARSE);
    arb_buf_free(&b);
}

/* MerkleTreeLeaf for a precert, by hand. */
static void test_leaf_layout(void)
{
    uint8_t tbs[5] = {0x30, 0x03, 0x02, 0x01, 0x05};
    uint8_t want[2 + 8 + 2 + 32 + 3 + 5 + 2], *p = want;
    arb_ct_leaf leaf, back;
    arb_buf b = ARB_BUF_INIT;
    arb_hash h, h2;
    uint8_t pre[1 + sizeof(want)];
    size_t i;

    *p++ = 0;
    *p++ = 0;
    memset(p, 0, 7);
    p[7] = 42;
    p += 8;
    *p++ = 0;
    *p++ = 1;
    memset(p, 0xaa, 32);
    p += 32;
    *p++ = 0;
    *p++ = 0;
    *p++ = 5;
    memcpy(p, tbs, 5);
    p += 5;
    *p++ = 0;
    *p++ = 0;

    memset(&leaf, 0, sizeof(leaf));
    leaf.timestamp = 42;
    leaf.entry.entry_type = ARB_CT_ENTRY_PRECERT;
    memset(leaf.entry.issuer_key_hash, 0xaa, 32);
    leaf.entry.cert = tbs;
    leaf.entry.cert_len = 5;
    CHECK(arb_ct_leaf_encode(&b, &leaf) == ARB_OK);
    CHECK_EQ(b.len, sizeof(want));
    CHECK_MEM(b.data, want, sizeof(want));
    CHECK(arb_ct_leaf_decode(&back, want, sizeof(want)) == ARB_OK);
    CHECK_EQ(back.entry.entry_type, ARB_CT_ENTRY_PRECERT);
    CHECK_MEM(back.entry.issuer_key_hash, leaf.entry.issuer_key_hash, 32);
    CHECK(back.entry.cert_len == 5 && memcmp(back.entry.cert, tbs, 5) == 0);
    /* Leaf hash = SHA-256(0x00 || leaf). */
    pre[0] = 0;
    memcpy(pre + 1, want, sizeof(want));
    arb_sha256_digest(sha, h2.b, pre, sizeof(pre));
    CHECK(arb_ct_leaf_hash(sha, &h, &leaf) == ARB_OK);
    CHECK(arb_hash_eq(&h, &h2));
    for (i = 0; i < sizeof(want); i++)
        CHECK(arb_ct_leaf_decode(&back, want, i) == ARB_ERR_PARSE);
    want[11] = 2; /* unknown entry type */
    CHECK(arb_ct_leaf_decode(&back, want, sizeof(want)) == ARB_ERR_PARSE);
    want[11] = 1;
    want[1] = 1; /* unknown leaf type */
    CHECK(arb_ct_leaf_decode(&back, want, sizeof(want)) == ARB_ERR_PARSE);
    arb_buf_free(&b);
    /* An empty certificate cannot be encoded. */
    leaf.entry.cert_len = 0;
    CHECK(arb_ct_leaf_encode(&b, &leaf) == ARB_ERR_INVALID_ARG);
    arb_buf_free(&b);
}

/* STH signed data (RFC 6962 3.5): 0, 1, timestamp, size, root. */
static void test_sth_layout(void)
{
    uint8_t root[32], out[50], want[50];

    memset(root, 0x5c, 32);
    memset(want, 0, sizeof(want));
    want[1] = 1;
    want[9] = 7;
    want[16] = 1;
    want[17] = 2;
    memset(want + 18, 0x5c, 32);
    arb_ct_sth_signed_data(out, 7, 0x102, root);
    CHECK_MEM(out, want, 50);
}

/* Random chains through both extra_data encodings and random SCTs/leaves. */
static void test_random_roundtrips(void)
{
    unsigned long n = arb_test_count(200), it;

    for (it = 0; it < n; it++) {
        uint8_t data[4][64];
        arb_ct_cert_ref refs[4];
        size_t k = (size_t)arb_test_rand_below(5), i;
        arb_buf b = ARB_BUF_INIT;
        arb_ct_cert_list l;

        for (i = 0; i < 4; i++) {
            arb_test_rand_bytes(data[i], sizeof(data[i]));
            refs[i].der = data[i];
            refs[i].len = 1 + (size_t)arb_test_rand_below(64);
        }
        CHECK(arb_ct_x509_chain_encode(&b, refs, k) == ARB_OK);
        CHECK(arb_ct_x509_chain_decode(&l, b.data, b.len) == ARB_OK);
        CHECK_EQ(l.n, k);
        for (i = 0; i < k; i++)
            CHECK(l.certs[i].len == refs[i].len && memcmp(l.certs[i].der, refs[i].der, refs[i].len) == 0);
        arb_ct_cert_list_free(&l);
        CHECK(arb_ct_x509_chain_decode(&l, b.data, b.len - 1) == ARB_ERR_PARSE);
        arb_buf_free(&b);

        if (k >= 1) {
            CHECK(arb_ct_precert_chain_encode(&b, &refs[0], refs + 1, k - 1) == ARB_OK);
            CHECK(arb_ct_precert_chain_decode(&l, b.data, b.len) == ARB_OK);
            CHECK_EQ(l.n, k);
            for (i = 0; i < k; i++)
                CHECK(l.certs[i].len == refs[i].len &&
                      memcmp(l.certs[i].der, refs[i].der, refs[i].len) == 0);
            arb_ct_cert_list_free(&l);
            CHECK(arb_buf_u8(&b, 9));
            CHECK(arb_ct_precert_chain_decode(&l, b.data, b.len) == ARB_ERR_PARSE);
            arb_buf_free(&b);
        }

        {
            arb_ct_sct s, s2;
            arb_buf b2 = ARB_BUF_INIT;
            memset(&s, 0, sizeof(s));
            arb_test_rand_bytes(s.log_id, 32);
            s.timestamp = arb_test_rand();
            s.ext = data[0];
            s.ext_len = (size_t)arb_test_rand_below(8);
            s.sig.hash_alg = (uint8_t)arb_test_rand();
            s.sig.sig_alg = (uint8_t)arb_test_rand();
            s.sig.sig = data[1];
            s.sig.sig_len = (size_t)arb_test_rand_below(64);
            CHECK(arb_ct_sct_encode(&b, &s) == ARB_OK);
            CHECK(arb_ct_sct_decode(&s2, b.data, b.len) == ARB_OK);
            CHECK(arb_ct_sct_encode(&b2, &s2) == ARB_OK);
            CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
            arb_buf_free(&b);
            arb_buf_free(&b2);
        }
    }
}

static void test_sct_list(void)
{
    /* Two SerializedSCTs "a" and "bc". */
    const uint8_t good[] = {0, 7, 0, 1, 'a', 0, 2, 'b', 'c'};
    const uint8_t empty_item[] = {0, 2, 0, 0};
    const uint8_t empty[] = {0, 0};
    arb_ct_cert_list l;

    CHECK(arb_ct_sct_list_decode(&l, good, sizeof(good)) == ARB_OK);
    CHECK_EQ(l.n, 2);
    CHECK(l.certs[1].len == 2 && memcmp(l.certs[1].der, "bc", 2) == 0);
    arb_ct_cert_list_free(&l);
    CHECK(arb_ct_sct_list_decode(&l, good, sizeof(good) - 1) == ARB_ERR_PARSE);
    CHECK(arb_ct_sct_list_decode(&l, empty_item, sizeof(empty_item)) == ARB_ERR_PARSE);
    CHECK(arb_ct_sct_list_decode(&l, empty, sizeof(empty)) == ARB_ERR_PARSE);
}

static char *pem_of(EVP_PKEY *k, int sec1, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    long n;
    int ok;

    if (bio == NULL)
        return NULL;
    if (sec1) {
        /* The traditional "EC PRIVATE KEY" form that `openssl ecparam -genkey` writes. */
        ok = PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0, NULL, NULL);
    } else {
        ok = PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
    }
    if (ok && (n = BIO_get_mem_data(bio, &data)) > 0 && (out = malloc((size_t)n + 1)) != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = 0;
        *len = (size_t)n;
    }
    BIO_free(bio);
    return out;
}

static void test_keys(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256"), *k384 = EVP_EC_gen("P-384");
    char *sec1, *pkcs8, *pub = NULL, *p384;
    size_t sec1_len = 0, pkcs8_len = 0, pub_len = 0, p384_len = 0;
    arb_ct_signer *s1 = NULL, *s2 = NULL, *bad = NULL;
    arb_ct_verifier *v = NULL;
    uint8_t id1[32], id2[32], idv[32], want_id[32], sigbuf[ARB_CT_SIG_MAX];
    unsigned char *spki = NULL;
    int spki_len;
    unsigned int mdlen;
    arb_ct_sct sct;
    arb_ct_signed_entry e;
    arb_errbuf eb;

    CHECK(k != NULL && k384 != NULL);
    CHECK((sec1 = pem_of(k, 1, &sec1_len)) != NULL);
    CHECK(strstr(sec1, "BEGIN EC PRIVATE KEY") != NULL);
    CHECK((pkcs8 = pem_of(k, 0, &pkcs8_len)) != NULL);
    CHECK(strstr(pkcs8, "BEGIN PRIVATE KEY") != NULL);
    CHECK(arb_ct_signer_from_pem(&s1, sec1, sec1_len, &eb) == ARB_OK);
    CHECK(arb_ct_signer_from_pem(&s2, pkcs8, pkcs8_len, &eb) == ARB_OK);
    arb_ct_signer_log_id(s1, id1);
    arb_ct_signer_log_id(s2, id2);
    CHECK_MEM(id1, id2, 32);
    /* Log ID = SHA-256 of the DER SPKI, computed here with OpenSSL. */
    CHECK((spki_len = i2d_PUBKEY(k, &spki)) > 0);
    CHECK(EVP_Digest(spki, (size_t)spki_len, want_id, &mdlen, EVP_sha256(), NULL));
    OPENSSL_free(spki);
    CHECK_MEM(id1, want_id, 32);
    CHECK(arb_ct_signer_public_pem(s1, &pub, &pub_len) == ARB_OK);
    CHECK(arb_ct_verifier_from_pem(&v, pub, pub_len, &eb) == ARB_OK);
    arb_ct_verifier_log_id(v, idv);
    CHECK_MEM(idv, want_id, 32);

    /* Sign an SCT; verify with our verifier and with OpenSSL directly. */
    memset(&e, 0, sizeof(e));
    e.entry_type = ARB_CT_ENTRY_X509;
    e.cert = (const uint8_t *)"\x30\x00";
    e.cert_len = 2;
    CHECK(arb_ct_sct_sign(s2, &sct, sigbuf, 1700000000000ull, &e, NULL, 0) == ARB_OK);
    CHECK_EQ(sct.sig.hash_alg, 4);
    CHECK_EQ(sct.sig.sig_alg, 3);
    CHECK_MEM(sct.log_id, want_id, 32);
    CHECK(arb_ct_sct_verify(v, &sct, &e) == ARB_OK);
    {
        arb_buf data = ARB_BUF_INIT;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        CHECK(arb_ct_sct_signed_data(&data, sct.timestamp, &e, NULL, 0) == ARB_OK);
        CHECK(ctx != NULL);
        CHECK(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1);
        CHECK(EVP_DigestVerify(ctx, sct.sig.sig, sct.sig.sig_len, data.data, data.len) == 1);
        EVP_MD_CTX_free(ctx);
        arb_buf_free(&data);
    }
    e.cert = (const uint8_t *)"\x30\x01";
    CHECK(arb_ct_sct_verify(v, &sct, &e) == ARB_ERR_VERIFY);
    e.cert = (const uint8_t *)"\x30\x00";
    sct.log_id[0] ^= 1;
    CHECK(arb_ct_sct_verify(v, &sct, &e) == ARB_ERR_VERIFY);
    sct.log_id[0] ^= 1;

    /* STH sign/verify. */
    {
        arb_ct_dsig d;
        uint8_t root[32];
        memset(root, 7, 32);
        CHECK(arb_ct_sth_sign(s1, &d, sigbuf, 5, 6, root) == ARB_OK);
        CHECK(arb_ct_sth_verify(v, &d, 5, 6, root) == ARB_OK);
        CHECK(arb_ct_sth_verify(v, &d, 5, 7, root) == ARB_ERR_VERIFY);
    }

    /* Private key PEM round trip. */
    {
        char *priv = NULL;
        size_t priv_len = 0;
        arb_ct_signer *s3 = NULL;
        CHECK(arb_ct_signer_private_pem(s1, &priv, &priv_len) == ARB_OK);
        CHECK(arb_ct_signer_from_pem(&s3, priv, priv_len, &eb) == ARB_OK);
        arb_ct_signer_log_id(s3, id2);
        CHECK_MEM(id1, id2, 32);
        arb_ct_signer_free(s3);
        free(priv);
    }

    /* Refused: not P-256, not a key, encrypted. */
    CHECK((p384 = pem_of(k384, 0, &p384_len)) != NULL);
    CHECK(arb_ct_signer_from_pem(&bad, p384, p384_len, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(bad == NULL);
    CHECK(arb_ct_signer_from_pem(&bad, "junk", 4, &eb) == ARB_ERR_PARSE);
    {
        BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long n;
        CHECK(bio != NULL);
        CHECK(PEM_write_bio_PKCS8PrivateKey(bio, k, EVP_aes_128_cbc(), NULL, 0, NULL,
                                            (void *)"secret") == 1);
        n = BIO_get_mem_data(bio, &data);
        CHECK(arb_ct_signer_from_pem(&bad, data, (size_t)n, &eb) == ARB_ERR_PARSE);
        BIO_free(bio);
    }
    {
        arb_ct_signer *g = NULL;
        CHECK(arb_ct_signer_generate(&g, &eb) == ARB_OK);
        arb_ct_signer_log_id(g, id2);
        CHECK(memcmp(id1, id2, 32) != 0);
        arb_ct_signer_free(g);
    }
    free(p384);
    free(sec1);
    free(pkcs8);
    free(pub);
    arb_ct_signer_free(s1);
    arb_ct_signer_free(s2);
    arb_ct_verifier_free(v);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k384);
}

static void test_json(void)
{
    arb_ct_cert_list l;
    arb_ct_cert_ref refs[2] = {{(const uint8_t *)"\x30\x00", 2}, {(const uint8_t *)"abc", 3}};
    char *body = arb_ct_json_chain(refs, 2);
    arb_errbuf eb;
    static const char *bad[] = {
        "", "[]", "{}", "{\"chain\": []}", "{\"chain\": \"MAA=\"}", "{\"chain\": [\"MA\"]}",
        "{\"chain\": [\"MAA=\", 5]}", "{\"chain\": [\"\"]}",
        "{\"chain\": [\"MAA=\"], \"chain\": [\"MAA=\"]}", "{\"chain\": [\"MAA= \"]}",
    };
    size_t i;

    CHECK(body != NULL);
    CHECK_STR(body, "{\"chain\":[\"MAA=\",\"YWJj\"]}");
    CHECK(arb_ct_json_chain_parse(&l, body, strlen(body), 10, 100, &eb) == ARB_OK);
    CHECK_EQ(l.n, 2);
    CHECK(l.certs[1].len == 3 && memcmp(l.certs[1].der, "abc", 3) == 0);
    arb_ct_json_chain_free(&l);
    CHECK(arb_ct_json_chain_parse(&l, body, strlen(body), 1, 100, &eb) == ARB_ERR_PARSE);
    CHECK(arb_ct_json_chain_parse(&l, body, strlen(body), 10, 2, &eb) == ARB_ERR_PARSE);
    free(body);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(arb_ct_json_chain_parse(&l, bad[i], strlen(bad[i]), 10, 100, &eb) == ARB_ERR_PARSE);
        CHECK(l.n == 0 && l.certs == NULL);
    }
    /* SCT answers: wrong version, short id, negative timestamp are refused. */
    {
        arb_ct_sct sct;
        uint8_t *st = (uint8_t *)1;
        const char *ok = "{\"sct_version\":0,\"id\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                         "\"timestamp\":5,\"extensions\":\"\",\"signature\":\"BAMAAA==\"}";
        CHECK(arb_ct_json_sct_parse(&sct, &st, ok, strlen(ok)) == ARB_OK);
        CHECK_EQ(sct.timestamp, 5);
        CHECK_EQ(sct.sig.hash_alg, 4);
        CHECK_EQ(sct.sig.sig_len, 0);
        free(st);
        const char *v1 = "{\"sct_version\":1,\"id\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                         "\"timestamp\":5,\"extensions\":\"\",\"signature\":\"BAMAAA==\"}";
        CHECK(arb_ct_json_sct_parse(&sct, &st, v1, strlen(v1)) == ARB_ERR_PARSE);
        CHECK(st == NULL);
        const char *neg = "{\"sct_version\":0,\"id\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                          "\"timestamp\":-5,\"extensions\":\"\",\"signature\":\"BAMAAA==\"}";
        CHECK(arb_ct_json_sct_parse(&sct, &st, neg, strlen(neg)) == ARB_ERR_PARSE);
        const char *trail = "{\"sct_version\":0,\"id\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                            "\"timestamp\":5,\"extensions\":\"\",\"signature\":\"BAMAAAA=\"}";
        CHECK(arb_ct_json_sct_parse(&sct, &st, trail, strlen(trail)) == ARB_ERR_PARSE);
    }
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    test_sct_layout();
    test_leaf_layout();
    test_sth_layout();
    test_random_roundtrips();
    test_sct_list();
    test_keys();
    test_json();
    arb_sha256_free(sha);
    return arb_test_done();
}
