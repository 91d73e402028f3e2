/* Chain validation and precertificates against a PKI generated now with
 * OpenSSL: root R, intermediate I, precertificate signing certificate P
 * (issued by I), final certificate L (issued by I), precertificates Q1 (issued
 * by I) and Q2 (issued by P) with the same fields as L plus the poison.
 * RFC 6962 3.2 says the TBS logged for Q1 and Q2 is exactly L's TBS, which the
 * test takes from L's DER with its own DER walk. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "pki.h"
#include "tests/test.h"

#define DAY 86400

typedef struct {
    EVP_PKEY *k;
    X509 *x;
    uint8_t *der;
    size_t len;
} cert;

static EVP_PKEY *k_root, *k_int, *k_pre, *k_leaf, *k_other;
static cert R, I, P, P2, L, Q1, Q2, Q3, Lnoaki, Q2noaki, Other, Ibad, Lbadcrit, Qbadcrit, Lexpired;
static arb_ct_roots *roots, *other_roots;
static int64_t now;

static int mk(cert *c, const pki_spec *spec, EVP_PKEY *key, const cert *signer)
{
    c->k = key;
    c->x = pki_cert(spec, key, signer ? signer->x : NULL, signer ? signer->k : NULL);
    if (c->x == NULL)
        return 0;
    c->der = pki_der(c->x, &c->len);
    return c->der != NULL;
}

static void cert_free(cert *c)
{
    X509_free(c->x);
    free(c->der);
}

static arb_ct_roots *roots_of(const cert *c)
{
    size_t len;
    char *pem = pki_pem(c->x, &len);
    arb_ct_roots *r = NULL;
    arb_errbuf eb;

    if (pem == NULL || arb_ct_roots_from_pem(&r, pem, len, &eb) != ARB_OK)
        r = NULL;
    free(pem);
    return r;
}

static int setup(void)
{
    int64_t nb = now - 30 * DAY, na = now + 90 * DAY;
    pki_spec s_root = {"Root", NULL, 1, nb, na + 3650 * DAY, PKI_CA};
    pki_spec s_int = {"Intermediate", NULL, 2, nb, na + 365 * DAY, PKI_CA};
    pki_spec s_pre = {"Precert Signer", NULL, 3, nb, na + 365 * DAY, PKI_CA | PKI_PRE_SIGNER};
    pki_spec s_leaf = {"leaf.example.test", NULL, 77, nb, na, 0};
    pki_spec s_q = {"leaf.example.test", NULL, 77, nb, na, PKI_POISON};
    pki_spec s_other = {"Root", NULL, 1, nb, na, PKI_CA};
    pki_spec s_ibad = {"Intermediate", NULL, 2, nb, na, 0}; /* CA:FALSE */
    pki_spec s_pre2 = {"Precert Signer 2", NULL, 4, nb, na + 365 * DAY,
                       PKI_CA | PKI_PRE_SIGNER | PKI_NO_AKI};
    pki_spec s_lnoaki = {"leaf.example.test", NULL, 77, nb, na, PKI_NO_AKI};
    pki_spec s_qnoaki = {"leaf.example.test", NULL, 77, nb, na, PKI_POISON | PKI_NO_AKI};
    pki_spec s_lbad = {"bad.example.test", NULL, 79, nb, na, PKI_BAD_CRITICAL};
    pki_spec s_qbad = {"bad.example.test", NULL, 79, nb, na, PKI_BAD_CRITICAL | PKI_POISON};
    pki_spec s_exp = {"old.example.test", NULL, 80, now - 400 * DAY, now - 35 * DAY, 0};

    k_root = pki_key();
    k_int = pki_key();
    k_pre = pki_key();
    k_leaf = pki_key();
    k_other = pki_key();
    if (!k_root || !k_int || !k_pre || !k_leaf || !k_other)
        return 0;
    return mk(&R, &s_root, k_root, NULL) && mk(&I, &s_int, k_int, &R) && mk(&P, &s_pre, k_pre, &I) &&
           mk(&L, &s_leaf, k_leaf, &I) && mk(&Q1, &s_q, k_leaf, &I) && mk(&Q2, &s_q, k_leaf, &P) &&
           mk(&P2, &s_pre2, k_pre, &I) && mk(&Q3, &s_q, k_leaf, &P2) &&
           mk(&Lnoaki, &s_lnoaki, k_leaf, &I) && mk(&Q2noaki, &s_qnoaki, k_leaf, &P) &&
           mk(&Other, &s_other, k_other, NULL) && mk(&Ibad, &s_ibad, k_int, &R) &&
           mk(&Lbadcrit, &s_lbad, k_leaf, &I) && mk(&Qbadcrit, &s_qbad, k_leaf, &I) &&
           mk(&Lexpired, &s_exp, k_leaf, &I) && (roots = roots_of(&R)) != NULL &&
           (other_roots = roots_of(&Other)) != NULL;
}

static arb_err validate(arb_ct_chain **out, const arb_ct_roots *r, const arb_ct_chain_opts *o,
                        int precert, const cert *c0, const cert *c1, const cert *c2, const cert *c3)
{
    arb_ct_cert_ref refs[4];
    const cert *cs[4] = {c0, c1, c2, c3};
    size_t n = 0, i;
    arb_errbuf eb;
    arb_err err;

    for (i = 0; i < 4 && cs[i] != NULL; i++) {
        refs[n].der = cs[i]->der;
        refs[n].len = cs[i]->len;
        n++;
    }
    err = arb_ct_chain_validate(out, r, o, precert, refs, n, &eb);
    if (err != ARB_OK && getenv("ARB_TEST_VERBOSE") != NULL)
        fprintf(stderr, "  validate: %s\n", eb.msg);
    return err;
}

static int same(const arb_ct_cert_ref *a, const cert *c)
{
    return a->len == c->len && memcmp(a->der, c->der, c->len) == 0;
}

static void test_x509_chain(void)
{
    arb_ct_chain *c = NULL;

    CHECK(validate(&c, roots, NULL, 0, &L, &I, NULL, NULL) == ARB_OK);
    CHECK_EQ(c->path_len, 3);
    CHECK(same(&c->path[0], &L) && same(&c->path[1], &I) && same(&c->path[2], &R));
    CHECK_EQ(c->entry.entry_type, ARB_CT_ENTRY_X509);
    CHECK(c->entry.cert_len == L.len && memcmp(c->entry.cert, L.der, L.len) == 0);
    CHECK(!c->is_precert && !c->has_precert_signer && c->tbs == NULL);
    arb_ct_chain_free(c);
    /* The root may be submitted too; the stored path is the same. */
    CHECK(validate(&c, roots, NULL, 0, &L, &I, &R, NULL) == ARB_OK);
    CHECK_EQ(c->path_len, 3);
    CHECK(same(&c->path[2], &R));
    arb_ct_chain_free(c);
    /* Intermediates in any order or with extras still build the path. */
    CHECK(validate(&c, roots, NULL, 0, &L, &P, &I, NULL) == ARB_OK);
    CHECK_EQ(c->path_len, 3);
    arb_ct_chain_free(c);
    /* Expired certificates are logged: no check against the current time. */
    CHECK(validate(&c, roots, NULL, 0, &Lexpired, &I, NULL, NULL) == ARB_OK);
    arb_ct_chain_free(c);
}

static void test_x509_rejects(void)
{
    arb_ct_chain *c = (arb_ct_chain *)1;
    arb_ct_chain_opts o;

    CHECK(validate(&c, other_roots, NULL, 0, &L, &I, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(c == NULL);
    CHECK(validate(&c, roots, NULL, 0, &L, NULL, NULL, NULL) == ARB_ERR_VERIFY); /* no intermediate */
    CHECK(validate(&c, roots, NULL, 0, &L, &Ibad, NULL, NULL) == ARB_ERR_VERIFY); /* CA:FALSE */
    CHECK(validate(&c, roots, NULL, 0, &Q1, &I, NULL, NULL) == ARB_ERR_VERIFY);   /* precert */
    CHECK(validate(&c, roots, NULL, 1, &L, &I, NULL, NULL) == ARB_ERR_VERIFY);    /* not precert */
    CHECK(validate(&c, roots, NULL, 0, &Lbadcrit, &I, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(validate(&c, roots, NULL, 1, &Qbadcrit, &I, NULL, NULL) == ARB_ERR_VERIFY);
    /* A leaf signed by a key that is not its issuer's. */
    {
        cert forged = {0};
        pki_spec s = {"leaf.example.test", "Intermediate", 90, now, now + DAY, 0};
        CHECK(mk(&forged, &s, k_leaf, &Other));
        CHECK(validate(&c, roots, NULL, 0, &forged, &I, NULL, NULL) == ARB_ERR_VERIFY);
        cert_free(&forged);
    }
    /* Limits. */
    memset(&o, 0, sizeof(o));
    o.max_chain_len = 2;
    CHECK(validate(&c, roots, &o, 0, &L, &I, &R, NULL) == ARB_ERR_PARSE);
    CHECK(validate(&c, roots, &o, 0, &L, &I, NULL, NULL) == ARB_OK);
    arb_ct_chain_free(c);
    o.max_cert_size = L.len - 1;
    CHECK(validate(&c, roots, &o, 0, &L, &I, NULL, NULL) == ARB_ERR_PARSE);
    CHECK(c == NULL);
    {
        arb_ct_cert_ref refs[2] = {{L.der, L.len}, {I.der, I.len}};
        uint8_t *longer = malloc(L.len + 1);
        arb_errbuf eb;
        CHECK(longer != NULL);
        memcpy(longer, L.der, L.len);
        longer[L.len] = 0;
        refs[0].der = longer;
        refs[0].len = L.len + 1; /* trailing byte */
        CHECK(arb_ct_chain_validate(&c, roots, NULL, 0, refs, 2, &eb) == ARB_ERR_PARSE);
        refs[0].len = L.len - 1; /* truncated */
        CHECK(arb_ct_chain_validate(&c, roots, NULL, 0, refs, 2, &eb) == ARB_ERR_PARSE);
        refs[0].len = L.len;
        longer[20] ^= 0xff; /* corrupted inside the TBS */
        CHECK(arb_ct_chain_validate(&c, roots, NULL, 0, refs, 2, &eb) != ARB_OK);
        CHECK(arb_ct_chain_validate(&c, roots, NULL, 0, refs, 0, &eb) == ARB_ERR_PARSE);
        free(longer);
    }
}

static void test_shard_window(void)
{
    arb_ct_chain *c = NULL;
    arb_ct_chain_opts o;
    int64_t na = now + 90 * DAY;
    const ASN1_TIME *t = X509_get0_notAfter(L.x);
    struct tm tm;

    /* The window is compared against the certificate's own notAfter. */
    CHECK(ASN1_TIME_to_tm(t, &tm));
    CHECK_EQ(timegm(&tm), na);
    memset(&o, 0, sizeof(o));
    o.not_after_start = na;
    o.not_after_end = na + 1;
    CHECK(validate(&c, roots, &o, 0, &L, &I, NULL, NULL) == ARB_OK);
    arb_ct_chain_free(c);
    o.not_after_start = na + 1;
    o.not_after_end = na + DAY;
    CHECK(validate(&c, roots, &o, 0, &L, &I, NULL, NULL) == ARB_ERR_VERIFY);
    o.not_after_start = na - DAY;
    o.not_after_end = na; /* end is exclusive */
    CHECK(validate(&c, roots, &o, 0, &L, &I, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(validate(&c, roots, &o, 1, &Q1, &I, NULL, NULL) == ARB_ERR_VERIFY);
}

static void check_tbs_is(const arb_ct_chain *c, const cert *final, const cert *issuer)
{
    const uint8_t *tbs;
    size_t tbs_len;
    uint8_t ikh[32];

    CHECK(pki_raw_tbs(final->der, final->len, &tbs, &tbs_len));
    CHECK(c->is_precert);
    CHECK_EQ(c->entry.entry_type, ARB_CT_ENTRY_PRECERT);
    CHECK(c->entry.cert == c->tbs && c->entry.cert_len == c->tbs_len);
    CHECK_EQ(c->tbs_len, tbs_len);
    CHECK_MEM(c->tbs, tbs, tbs_len);
    CHECK(pki_spki_hash(issuer->der, issuer->len, ikh));
    CHECK_MEM(c->entry.issuer_key_hash, ikh, 32);
}

static void test_precerts(void)
{
    arb_ct_chain *c = NULL;
    uint8_t *tbs = NULL;
    size_t tbs_len;
    const uint8_t *want;
    size_t want_len;
    arb_errbuf eb;

    /* Issued directly by the final issuer: only the poison goes. */
    CHECK(validate(&c, roots, NULL, 1, &Q1, &I, NULL, NULL) == ARB_OK);
    CHECK_EQ(c->path_len, 3);
    CHECK(!c->has_precert_signer);
    CHECK(same(&c->path[0], &Q1) && same(&c->path[2], &R));
    check_tbs_is(c, &L, &I);
    arb_ct_chain_free(c);
    c = NULL;

    /* Through a precertificate signing certificate: issuer and AKI rewritten. */
    CHECK(validate(&c, roots, NULL, 1, &Q2, &P, &I, NULL) == ARB_OK);
    CHECK_EQ(c->path_len, 4);
    CHECK(c->has_precert_signer);
    check_tbs_is(c, &L, &I);
    arb_ct_chain_free(c);
    c = NULL;

    /* The precert has no AKI but the pre-issuer has one: it is appended as
     * the last, non-critical extension, which is where L has it. */
    CHECK(validate(&c, roots, NULL, 1, &Q2noaki, &P, &I, NULL) == ARB_OK);
    CHECK(c->has_precert_signer);
    check_tbs_is(c, &L, &I);
    arb_ct_chain_free(c);
    c = NULL;

    /* The precert has an AKI but the pre-issuer has none: it is removed. */
    CHECK(validate(&c, roots, NULL, 1, &Q3, &P2, &I, NULL) == ARB_OK);
    CHECK(c->has_precert_signer);
    check_tbs_is(c, &Lnoaki, &I);
    arb_ct_chain_free(c);
    c = NULL;

    /* The signing certificate without its issuer in the path is refused. */
    CHECK(validate(&c, roots, NULL, 1, &Q2, &P, NULL, NULL) == ARB_ERR_VERIFY);
    {
        arb_ct_roots *pr = roots_of(&P);
        CHECK(pr != NULL);
        CHECK(validate(&c, pr, NULL, 1, &Q2, &P, NULL, NULL) == ARB_ERR_VERIFY);
        arb_ct_roots_free(pr);
    }

    /* The standalone rewriting agrees. */
    CHECK(pki_raw_tbs(L.der, L.len, &want, &want_len));
    CHECK(arb_ct_precert_tbs(&tbs, &tbs_len, Q2.der, Q2.len, P.der, P.len, &eb) == ARB_OK);
    CHECK(tbs_len == want_len && memcmp(tbs, want, want_len) == 0);
    free(tbs);
    CHECK(arb_ct_precert_tbs(&tbs, &tbs_len, Q1.der, Q1.len, NULL, 0, &eb) == ARB_OK);
    CHECK(tbs_len == want_len && memcmp(tbs, want, want_len) == 0);
    free(tbs);
    /* Without the rewriting Q2's TBS is not L's. */
    CHECK(arb_ct_precert_tbs(&tbs, &tbs_len, Q2.der, Q2.len, NULL, 0, &eb) == ARB_OK);
    CHECK(!(tbs_len == want_len && memcmp(tbs, want, want_len) == 0));
    free(tbs);
    CHECK(arb_ct_precert_tbs(&tbs, &tbs_len, L.der, L.len, NULL, 0, &eb) == ARB_ERR_VERIFY);
    CHECK(tbs == NULL);
    CHECK(arb_ct_precert_tbs(&tbs, &tbs_len, L.der, 10, NULL, 0, &eb) == ARB_ERR_PARSE);
}

/* A precertificate whose only extension is the poison: the logged TBS has no
 * extensions field at all (RFC 5280 forbids an empty one), exactly as the
 * same certificate built without extensions. */
static void test_only_poison(void)
{
    X509 *x = X509_new();
    X509_NAME *n;
    X509_EXTENSION *e = NULL;
    ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.11129.2.4.3", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    uint8_t *want = NULL, *der = NULL, *got = NULL;
    const uint8_t *raw;
    size_t want_len, der_len, got_len, raw_len;
    arb_errbuf eb;

    CHECK(x != NULL && o != NULL && os != NULL);
    CHECK(X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 5));
    CHECK(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)now) != NULL);
    CHECK(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)now + DAY) != NULL);
    n = X509_get_subject_name(x);
    CHECK(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"p", -1, -1, 0));
    CHECK(X509_set_issuer_name(x, n) && X509_set_pubkey(x, k_leaf));
    CHECK(X509_sign(x, k_leaf, EVP_sha256()) > 0);
    want = pki_der(x, &want_len);
    CHECK(want != NULL && pki_raw_tbs(want, want_len, &raw, &raw_len));
    CHECK(ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2));
    CHECK((e = X509_EXTENSION_create_by_OBJ(NULL, o, 1, os)) != NULL);
    CHECK(X509_add_ext(x, e, -1) && X509_sign(x, k_leaf, EVP_sha256()) > 0);
    der = pki_der(x, &der_len);
    CHECK(der != NULL);
    CHECK(arb_ct_precert_tbs(&got, &got_len, der, der_len, NULL, 0, &eb) == ARB_OK);
    CHECK(got_len == raw_len && memcmp(got, raw, raw_len) == 0);
    free(got);
    free(der);
    free(want);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
    X509_free(x);
}

static void test_roots(void)
{
    arb_ct_roots *r = NULL;
    char *a, *b, *bundle;
    size_t al, bl;
    const uint8_t *der;
    size_t der_len;
    arb_errbuf eb;

    CHECK((a = pki_pem(R.x, &al)) != NULL);
    CHECK((b = pki_pem(Other.x, &bl)) != NULL);
    CHECK((bundle = malloc(al + bl + al + 64)) != NULL);
    /* Text around the blocks is ignored, duplicates are kept once. */
    snprintf(bundle, al + bl + al + 64, "# roots\n%ssome text\n%s%s", a, b, a);
    CHECK(arb_ct_roots_from_pem(&r, bundle, strlen(bundle), &eb) == ARB_OK);
    CHECK_EQ(arb_ct_roots_count(r), 2);
    arb_ct_roots_get(r, 0, &der, &der_len);
    CHECK(der_len == R.len && memcmp(der, R.der, R.len) == 0);
    arb_ct_roots_get(r, 1, &der, &der_len);
    CHECK(der_len == Other.len && memcmp(der, Other.der, Other.len) == 0);
    arb_ct_roots_free(r);
    r = NULL;
    CHECK(arb_ct_roots_from_pem(&r, "nothing here\n", 13, &eb) == ARB_ERR_PARSE);
    CHECK(r == NULL);
    /* A damaged block is an error, not silently skipped. */
    a[40] = '*';
    CHECK(arb_ct_roots_from_pem(&r, a, al, &eb) == ARB_ERR_PARSE);
    free(a);
    free(b);
    free(bundle);
}

typedef struct {
    const arb_ct_roots *r;
    int bad;
} race_arg;

static void *race(void *arg)
{
    race_arg *a = arg;

    for (int i = 0; i < 100; i++) {
        arb_ct_chain *c = NULL;
        if (validate(&c, a->r, NULL, i & 1, i & 1 ? &Q1 : &L, &I, i % 3 ? &R : NULL, NULL) !=
                ARB_OK ||
            c->path_len != 3 || !same(&c->path[1], &I) || !same(&c->path[2], &R))
            a->bad++;
        arb_ct_chain_free(c);
        if (validate(&c, a->r, NULL, 0, &L, &Ibad, NULL, NULL) != ARB_ERR_VERIFY)
            a->bad++;
        arb_ct_chain_free(c);
    }
    return NULL;
}

/* The parsed-issuer cache: only verified chains fill it, it changes no
 * answer, it stays bounded, and threads share it. */
static void test_issuer_cache(void)
{
    arb_ct_roots *r = roots_of(&R);
    arb_ct_chain *c = NULL;
    cert extra_i[ARB_CT_ISSUER_CACHE + 6], extra_l[ARB_CT_ISSUER_CACHE + 6];
    const size_t n_extra = sizeof extra_i / sizeof extra_i[0];
    int64_t nb = now - 30 * DAY, na = now + 90 * DAY;
    pthread_t th[4];
    race_arg ra[4];

    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_EQ(arb_ct_roots_cached(r), 0);
    /* Chains that do not verify keep nothing. */
    CHECK(validate(&c, r, NULL, 0, &L, &Ibad, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(validate(&c, r, NULL, 0, &L, &Other, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(validate(&c, r, NULL, 0, &Lbadcrit, &I, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK_EQ(arb_ct_roots_cached(r), 0);
    /* A verified chain keeps its intermediate; the same chain again gives the
     * same path, the submitted bytes. */
    for (int round = 0; round < 2; round++) {
        CHECK(validate(&c, r, NULL, 0, &L, &I, NULL, NULL) == ARB_OK);
        CHECK(c != NULL && c->path_len == 3 && same(&c->path[0], &L) && same(&c->path[1], &I) &&
              same(&c->path[2], &R));
        arb_ct_chain_free(c);
        c = NULL;
        CHECK_EQ(arb_ct_roots_cached(r), 1);
    }
    /* With the intermediate cached, what it must refuse is still refused: a
     * leaf it did not sign, a CA:FALSE look-alike with the same name and key,
     * an unknown critical extension, a precertificate on add-chain. */
    CHECK(validate(&c, r, NULL, 0, &Other, &I, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(validate(&c, r, NULL, 0, &L, &Ibad, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(validate(&c, r, NULL, 0, &Lbadcrit, &I, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(validate(&c, r, NULL, 0, &Q1, &I, NULL, NULL) == ARB_ERR_VERIFY);
    CHECK(validate(&c, r, NULL, 1, &Q1, &I, NULL, NULL) == ARB_OK);
    arb_ct_chain_free(c);
    c = NULL;
    /* A submitted copy of the root is kept too. */
    CHECK(validate(&c, r, NULL, 0, &L, &I, &R, NULL) == ARB_OK);
    arb_ct_chain_free(c);
    c = NULL;
    CHECK_EQ(arb_ct_roots_cached(r), 2);

    /* More intermediates than it holds: it stays at its bound and every chain
     * still verifies, the evicted ones included. */
    for (size_t i = 0; i < n_extra; i++) {
        char cn[32];
        pki_spec si = {NULL, NULL, (long)(1000 + i), nb, na + 365 * DAY, PKI_CA};
        pki_spec sl = {"leaf.example.test", NULL, (long)(5000 + i), nb, na, 0};
        snprintf(cn, sizeof cn, "Intermediate %zu", i);
        si.cn = cn;
        memset(&extra_i[i], 0, sizeof extra_i[i]);
        memset(&extra_l[i], 0, sizeof extra_l[i]);
        CHECK(mk(&extra_i[i], &si, k_int, &R) && mk(&extra_l[i], &sl, k_leaf, &extra_i[i]));
        CHECK(validate(&c, r, NULL, 0, &extra_l[i], &extra_i[i], NULL, NULL) == ARB_OK);
        arb_ct_chain_free(c);
        c = NULL;
    }
    CHECK_EQ(arb_ct_roots_cached(r), ARB_CT_ISSUER_CACHE);
    for (size_t i = 0; i < n_extra; i++) {
        CHECK(validate(&c, r, NULL, 0, &extra_l[i], &extra_i[i], NULL, NULL) == ARB_OK);
        CHECK(c != NULL && same(&c->path[1], &extra_i[i]));
        arb_ct_chain_free(c);
        c = NULL;
        /* A leaf submitted with an intermediate that did not issue it (the
         * same key, another name). */
        if (i > 0)
            CHECK(validate(&c, r, NULL, 0, &extra_l[i], &extra_i[i - 1], NULL, NULL) ==
                  ARB_ERR_VERIFY);
    }
    CHECK_EQ(arb_ct_roots_cached(r), ARB_CT_ISSUER_CACHE);
    for (size_t i = 0; i < n_extra; i++) {
        cert_free(&extra_i[i]);
        cert_free(&extra_l[i]);
    }

    /* Threads validating through the same cached certificates at once. */
    for (int i = 0; i < 4; i++) {
        ra[i].r = r;
        ra[i].bad = 0;
        CHECK(pthread_create(&th[i], NULL, race, &ra[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(ra[i].bad, 0);
    }
    arb_ct_roots_free(r);
}

int main(void)
{
    now = (int64_t)time(NULL);
    if (!setup()) {
        arb_test_fail(__FILE__, __LINE__, "cannot build the test PKI");
        return arb_test_done();
    }
    test_x509_chain();
    test_x509_rejects();
    test_shard_window();
    test_precerts();
    test_roots();
    test_only_poison();
    test_issuer_cache();
    arb_ct_roots_free(roots);
    arb_ct_roots_free(other_roots);
    cert_free(&R);
    cert_free(&I);
    cert_free(&P);
    cert_free(&L);
    cert_free(&Q1);
    cert_free(&Q2);
    cert_free(&P2);
    cert_free(&Q3);
    cert_free(&Lnoaki);
    cert_free(&Q2noaki);
    cert_free(&Other);
    cert_free(&Ibad);
    cert_free(&Lbadcrit);
    cert_free(&Qbadcrit);
    cert_free(&Lexpired);
    EVP_PKEY_free(k_root);
    EVP_PKEY_free(k_int);
    EVP_PKEY_free(k_pre);
    EVP_PKEY_free(k_leaf);
    EVP_PKEY_free(k_other);
    return arb_test_done();
}
