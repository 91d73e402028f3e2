/* The strict DER check of submitted certificates (ledger/log/der.h) and the
 * chain rules around it:
 *  - real certificates (the CT test PKI) and certificates generated now pass,
 *    and OpenSSL re-encodes each to the same bytes;
 *  - BER forms OpenSSL itself accepts (non-minimal lengths of the certificate,
 *    of the TBSCertificate and inside it, indefinite lengths) are refused by
 *    the checker and by chain validation, for a leaf and for an intermediate,
 *    each with its reason, while the DER original is accepted and the stored
 *    path holds exactly the submitted bytes;
 *  - every truncation of a certificate, and trailing bytes, are refused;
 *  - precertificate chains under an intermediate with pathLenConstraint 0
 *    (root, intermediate, precertificate signing certificate, precertificate)
 *    and under a name-constrained intermediate are accepted on add-pre-chain
 *    (as Trillian's CT front end does), with the logged TBS equal to the final
 *    certificate's; add-chain keeps both checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "ledger/log/chain.h"
#include "ledger/log/der.h"
#include "pki.h"
#include "tests/test.h"

#define DAY 86400

typedef struct {
    EVP_PKEY *k;
    X509 *x;
    uint8_t *der;
    size_t len;
} cert;

static EVP_PKEY *k_root, *k_int, *k_pre, *k_leaf;
/* R root; I intermediate; L leaf by I; Ipl0 intermediate with pathlen 0,
 * P0 precert signing certificate by Ipl0, Q0 precert by P0, L0 final
 * certificate by Ipl0, S0 an ordinary sub-CA by Ipl0 and its leaf LS0; Inc
 * name-constrained intermediate, Qnc precert and Lnc final certificate by it. */
static cert R, I, L, Ipl0, P0, Q0, L0, S0, LS0, Inc, Qnc, Lnc;
static arb_ct_roots *roots;

static int mk(cert *c, const pki_spec *spec, EVP_PKEY *key, const cert *signer)
{
    c->k = key;
    c->x = pki_cert(spec, key, signer ? signer->x : NULL, signer ? signer->k : NULL);
    if (c->x == NULL)
        return 0;
    c->der = pki_der(c->x, &c->len);
    return c->der != NULL;
}

static int setup(void)
{
    int64_t now = (int64_t)time(NULL), nb = now - 30 * DAY, na = now + 90 * DAY;
    pki_spec s_root = {"Root", NULL, 1, nb, na + 3650 * DAY, PKI_CA};
    pki_spec s_int = {"Intermediate", NULL, 2, nb, na + 365 * DAY, PKI_CA};
    pki_spec s_leaf = {"leaf.example.test", NULL, 77, nb, na, 0};
    pki_spec s_ipl0 = {"Intermediate pathlen 0", NULL, 5, nb, na + 365 * DAY, PKI_CA | PKI_PATHLEN0};
    pki_spec s_p0 = {"Precert Signer", NULL, 6, nb, na + 365 * DAY, PKI_CA | PKI_PRE_SIGNER};
    pki_spec s_q0 = {"leaf.example.test", NULL, 78, nb, na, PKI_POISON};
    pki_spec s_l0 = {"leaf.example.test", NULL, 78, nb, na, 0};
    pki_spec s_s0 = {"Sub CA", NULL, 7, nb, na + 365 * DAY, PKI_CA};
    pki_spec s_ls0 = {"leaf.example.test", NULL, 79, nb, na, 0};
    pki_spec s_inc = {"Constrained", NULL, 8, nb, na + 365 * DAY, PKI_CA | PKI_NAME_CONSTRAINED};
    pki_spec s_qnc = {"leaf.example.test", NULL, 80, nb, na, PKI_POISON};
    pki_spec s_lnc = {"leaf.example.test", NULL, 80, nb, na, 0};

    k_root = pki_key();
    k_int = pki_key();
    k_pre = pki_key();
    k_leaf = pki_key();
    if (!k_root || !k_int || !k_pre || !k_leaf)
        return 0;
    if (!(mk(&R, &s_root, k_root, NULL) && mk(&I, &s_int, k_int, &R) && mk(&L, &s_leaf, k_leaf, &I) &&
          mk(&Ipl0, &s_ipl0, k_int, &R) && mk(&P0, &s_p0, k_pre, &Ipl0) &&
          mk(&Q0, &s_q0, k_leaf, &P0) && mk(&L0, &s_l0, k_leaf, &Ipl0) &&
          mk(&S0, &s_s0, k_pre, &Ipl0) && mk(&LS0, &s_ls0, k_leaf, &S0) &&
          mk(&Inc, &s_inc, k_int, &R) && mk(&Qnc, &s_qnc, k_leaf, &Inc) &&
          mk(&Lnc, &s_lnc, k_leaf, &Inc)))
        return 0;
    {
        size_t len;
        char *pem = pki_pem(R.x, &len);
        arb_errbuf eb;
        int ok = pem != NULL && arb_ct_roots_from_pem(&roots, pem, len, &eb) == ARB_OK;
        free(pem);
        return ok;
    }
}

static void cert_free(cert *c)
{
    X509_free(c->x);
    free(c->der);
}

/* OpenSSL parses exactly these bytes and writes them back unchanged (the
 * certificate, and the TBSCertificate re-encoded from its fields). */
static int openssl_roundtrip_same(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    unsigned char *out = NULL, *tbs = NULL;
    const uint8_t *raw_tbs;
    size_t raw_tbs_len;
    int n, m, same = 0;

    if (x == NULL || p != der + len) {
        X509_free(x);
        ERR_clear_error();
        return 0;
    }
    n = i2d_X509(x, &out);
    m = i2d_re_X509_tbs(x, &tbs);
    same = n > 0 && (size_t)n == len && memcmp(out, der, len) == 0 && m > 0 &&
           pki_raw_tbs(der, len, &raw_tbs, &raw_tbs_len) && (size_t)m == raw_tbs_len &&
           memcmp(tbs, raw_tbs, raw_tbs_len) == 0;
    OPENSSL_free(out);
    OPENSSL_free(tbs);
    X509_free(x);
    ERR_clear_error();
    return same;
}

static void test_accepts_der(void)
{
    static const char *const files[] = {
        "ct/certs/ca-cert.pem",
        "ct/certs/ca-pre-cert.pem",
        "ct/certs/intermediate-cert.pem",
        "ct/certs/intermediate-pre-cert.pem",
        "ct/certs/test-cert.pem",
        "ct/certs/test-embedded-cert.pem",
        "ct/certs/test-embedded-pre-cert.pem",
        "ct/certs/test-embedded-with-intermediate-cert.pem",
        "ct/certs/test-embedded-with-intermediate-pre-cert.pem",
        "ct/certs/test-embedded-with-intermediate-preca-cert.pem",
        "ct/certs/test-embedded-with-intermediate-preca-pre-cert.pem",
        "ct/certs/test-embedded-with-preca-cert.pem",
        "ct/certs/test-embedded-with-preca-pre-cert.pem",
        "ct/certs/test-intermediate-cert.pem",
    };
    const cert *gen[] = {&R, &I, &L, &Ipl0, &P0, &Q0, &L0, &S0, &LS0, &Inc, &Qnc, &Lnc};
    arb_errbuf eb;
    size_t i;

    for (i = 0; i < sizeof files / sizeof *files; i++) {
        size_t len;
        uint8_t *der = pki_pem_file_der(files[i], &len);
        CHECK(der != NULL);
        if (arb_der_check_cert(der, len, &eb) != ARB_OK)
            arb_test_fail(__FILE__, __LINE__, "%s: %s", files[i], eb.msg);
        CHECK(openssl_roundtrip_same(der, len));
        free(der);
    }
    for (i = 0; i < sizeof gen / sizeof *gen; i++) {
        CHECK(arb_der_check_cert(gen[i]->der, gen[i]->len, &eb) == ARB_OK);
        CHECK(openssl_roundtrip_same(gen[i]->der, gen[i]->len));
    }
}

/* Every prefix, and a trailing byte, is refused; so is nothing. */
static void test_truncations(void)
{
    uint8_t *ext = malloc(L.len + 1);
    arb_errbuf eb;
    size_t n;

    CHECK(ext != NULL);
    for (n = 0; n < L.len; n++)
        CHECK(arb_der_check_cert(L.der, n, &eb) == ARB_ERR_PARSE);
    memcpy(ext, L.der, L.len);
    ext[L.len] = 0;
    CHECK(arb_der_check_cert(ext, L.len + 1, &eb) == ARB_ERR_PARSE);
    CHECK(strstr(eb.msg, "trailing bytes") != NULL);
    CHECK(arb_der_check_cert(NULL, 0, &eb) == ARB_ERR_PARSE);
    free(ext);
}

/* Replaces the first occurrence of `from` after offset `after` by `to` (same
 * length). */
static int patch(uint8_t *p, size_t n, size_t after, const uint8_t *from, const uint8_t *to,
                 size_t k)
{
    size_t i;

    for (i = after; i + k <= n; i++)
        if (memcmp(p + i, from, k) == 0) {
            memcpy(p + i, to, k);
            return 1;
        }
    return 0;
}

static void test_der_rules(void)
{
    uint8_t *c = malloc(L.len);
    const uint8_t *tbs;
    size_t tbs_len;
    arb_errbuf eb;

    CHECK(c != NULL);
    CHECK(pki_raw_tbs(L.der, L.len, &tbs, &tbs_len));
    /* A critical flag written as 0x01 (BER TRUE; DER says 0xFF). */
    memcpy(c, L.der, L.len);
    CHECK(patch(c, L.len, 0, (const uint8_t *)"\x01\x01\xff", (const uint8_t *)"\x01\x01\x01", 3));
    CHECK(arb_der_check_cert(c, L.len, &eb) == ARB_ERR_PARSE);
    CHECK(strstr(eb.msg, "BOOLEAN") != NULL);
    /* The signature's BIT STRING with a bad unused-bits count. */
    memcpy(c, L.der, L.len);
    {
        /* Find the signatureValue header: after the TBS, the AlgorithmIdentifier
         * SEQUENCE, then 03 len 00. */
        size_t at = (size_t)(tbs - L.der) + tbs_len;
        size_t alg_len = c[at + 1];
        size_t bs = at + 2 + alg_len, hdr = c[bs + 1] < 0x80 ? 2 : 2 + (c[bs + 1] & 0x7f);
        CHECK(c[bs] == 0x03 && c[bs + hdr] == 0x00);
        c[bs + hdr] = 0x08;
        CHECK(arb_der_check_cert(c, L.len, &eb) == ARB_ERR_PARSE);
        CHECK(strstr(eb.msg, "unused-bits") != NULL);
    }
    /* A UTCTime without the Z. */
    memcpy(c, L.der, L.len);
    {
        size_t i;
        int done = 0;
        for (i = 0; i + 15 <= L.len && !done; i++)
            if (c[i] == 0x17 && c[i + 1] == 13 && c[i + 14] == 'Z') {
                c[i + 14] = '0';
                done = 1;
            }
        CHECK(done);
        CHECK(arb_der_check_cert(c, L.len, &eb) == ARB_ERR_PARSE);
        CHECK(strstr(eb.msg, "UTCTime") != NULL);
    }
    free(c);
}

typedef struct {
    const char *what;
    int path[4];
    int mode;
    const char *reason;
} ber_case;

static const ber_case ber_cases[] = {
    {"certificate, long-form length with a leading zero", {-1}, PKI_BER_LONG_LENGTH,
     "non-minimal length at offset 1"},
    {"certificate, indefinite length", {-1}, PKI_BER_INDEFINITE, "indefinite length at offset 1"},
    {"TBSCertificate, non-minimal length", {0, -1}, PKI_BER_LONG_LENGTH, "non-minimal length"},
    {"validity inside the TBS, non-minimal length", {0, 4, -1}, PKI_BER_LONG_LENGTH,
     "non-minimal length"},
    {"subject inside the TBS, indefinite length", {0, 5, -1}, PKI_BER_INDEFINITE,
     "indefinite length"},
    {"extensions inside the TBS, indefinite length", {0, 7, -1}, PKI_BER_INDEFINITE,
     "indefinite length"},
    {"serial inside the TBS, non-minimal length", {0, 1, -1}, PKI_BER_LONG_LENGTH,
     "non-minimal length"},
};

static arb_err validate2(arb_ct_chain **out, int precert, const uint8_t *d0, size_t l0,
                         const uint8_t *d1, size_t l1, arb_errbuf *eb)
{
    arb_ct_cert_ref refs[2] = {{d0, l0}, {d1, l1}};
    return arb_ct_chain_validate(out, roots, NULL, precert, refs, 2, eb);
}

static void test_ber_refused(void)
{
    arb_ct_chain *c = NULL;
    arb_errbuf eb;
    size_t i;

    /* The DER original: accepted, and stored exactly as submitted. */
    CHECK(validate2(&c, 0, L.der, L.len, I.der, I.len, &eb) == ARB_OK);
    CHECK(c->path_len == 3 && c->path[0].len == L.len && memcmp(c->path[0].der, L.der, L.len) == 0);
    CHECK(c->path[1].len == I.len && memcmp(c->path[1].der, I.der, I.len) == 0);
    CHECK(c->entry.cert_len == L.len && memcmp(c->entry.cert, L.der, L.len) == 0);
    arb_ct_chain_free(c);
    c = NULL;

    for (i = 0; i < sizeof ber_cases / sizeof *ber_cases; i++) {
        const ber_case *bc = &ber_cases[i];
        size_t bl = 0, il = 0;
        uint8_t *b = pki_ber_variant(L.der, L.len, bc->path, bc->mode, &bl);
        uint8_t *bi = pki_ber_variant(I.der, I.len, bc->path, bc->mode, &il);
        const unsigned char *p;
        X509 *x;
        printf("BER case: %s\n", bc->what);
        CHECK(b != NULL && bi != NULL && (bl != L.len || memcmp(b, L.der, bl) != 0));
        /* OpenSSL's parser takes it... */
        p = b;
        x = d2i_X509(NULL, &p, (long)bl);
        CHECK(x != NULL && p == b + bl);
        X509_free(x);
        /* ...the checker does not, and says why... */
        CHECK(arb_der_check_cert(b, bl, &eb) == ARB_ERR_PARSE);
        if (strstr(eb.msg, bc->reason) == NULL)
            arb_test_fail(__FILE__, __LINE__, "%s: got \"%s\"", bc->what, eb.msg);
        /* ...and neither does the log, as leaf or as intermediate. */
        CHECK(validate2(&c, 0, b, bl, I.der, I.len, &eb) == ARB_ERR_PARSE);
        CHECK(strstr(eb.msg, "certificate 0 is not DER") != NULL);
        CHECK(strstr(eb.msg, bc->reason) != NULL);
        CHECK(validate2(&c, 0, L.der, L.len, bi, il, &eb) == ARB_ERR_PARSE);
        CHECK(strstr(eb.msg, "certificate 1 is not DER") != NULL);
        CHECK(c == NULL);
        free(b);
        free(bi);
    }
}

/* The TBS the log signs for chain c equals final certificate f's TBS. */
static void check_tbs_is(const arb_ct_chain *c, const cert *f)
{
    const uint8_t *want;
    size_t want_len;

    CHECK(pki_raw_tbs(f->der, f->len, &want, &want_len));
    CHECK(c->entry.entry_type == ARB_CT_ENTRY_PRECERT);
    CHECK(c->tbs_len == want_len && memcmp(c->tbs, want, want_len) == 0);
}

static void test_precert_relaxations(void)
{
    arb_ct_chain *c = NULL;
    arb_errbuf eb;

    /* pathlen:0 intermediate, precert signing certificate, precert. */
    {
        arb_ct_cert_ref refs[3] = {{Q0.der, Q0.len}, {P0.der, P0.len}, {Ipl0.der, Ipl0.len}};
        if (arb_ct_chain_validate(&c, roots, NULL, 1, refs, 3, &eb) != ARB_OK)
            arb_test_fail(__FILE__, __LINE__, "pathlen:0 precert chain: %s", eb.msg);
        CHECK(c != NULL);
        CHECK(c->has_precert_signer && c->path_len == 4);
        check_tbs_is(c, &L0);
        arb_ct_chain_free(c);
        c = NULL;
    }
    /* The final certificate, issued by the pathlen:0 intermediate directly. */
    CHECK(validate2(&c, 0, L0.der, L0.len, Ipl0.der, Ipl0.len, &eb) == ARB_OK);
    arb_ct_chain_free(c);
    c = NULL;
    /* add-chain keeps the path length check: a leaf under a sub-CA of the
     * pathlen:0 intermediate is refused. */
    {
        arb_ct_cert_ref refs[3] = {{LS0.der, LS0.len}, {S0.der, S0.len}, {Ipl0.der, Ipl0.len}};
        CHECK(arb_ct_chain_validate(&c, roots, NULL, 0, refs, 3, &eb) == ARB_ERR_VERIFY);
        CHECK(strstr(eb.msg, "path length") != NULL);
    }
    /* Name constraints: not checked for precertificates, checked on add-chain. */
    CHECK(validate2(&c, 1, Qnc.der, Qnc.len, Inc.der, Inc.len, &eb) == ARB_OK);
    check_tbs_is(c, &Lnc);
    arb_ct_chain_free(c);
    c = NULL;
    CHECK(validate2(&c, 0, Lnc.der, Lnc.len, Inc.der, Inc.len, &eb) == ARB_ERR_VERIFY);
    CHECK(strstr(eb.msg, "permitted") != NULL);
    /* Signatures still count: a precert chain through the wrong intermediate. */
    {
        arb_ct_cert_ref refs[3] = {{Q0.der, Q0.len}, {P0.der, P0.len}, {I.der, I.len}};
        CHECK(arb_ct_chain_validate(&c, roots, NULL, 1, refs, 3, &eb) == ARB_ERR_VERIFY);
    }
}

int main(void)
{
    arb_test_seed_init();
    if (!setup()) {
        arb_test_fail(__FILE__, __LINE__, "PKI setup failed");
        return arb_test_done();
    }
    test_accepts_der();
    test_truncations();
    test_der_rules();
    test_ber_refused();
    test_precert_relaxations();
    arb_ct_roots_free(roots);
    cert_free(&R);
    cert_free(&I);
    cert_free(&L);
    cert_free(&Ipl0);
    cert_free(&P0);
    cert_free(&Q0);
    cert_free(&L0);
    cert_free(&S0);
    cert_free(&LS0);
    cert_free(&Inc);
    cert_free(&Qnc);
    cert_free(&Lnc);
    EVP_PKEY_free(k_root);
    EVP_PKEY_free(k_int);
    EVP_PKEY_free(k_pre);
    EVP_PKEY_free(k_leaf);
    return arb_test_done();
}
