/* Domain matching: the name rules on a table of cases, and the names and
 * identity read from certificates and precertificate TBSCertificates built
 * here with OpenSSL (SAN dNSNames, CN, precert/final de-duplication key). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auditor/datatile.h"
#include "auditor/match.h"
#include "tests/test.h"
#include "tests/unit/audit/certinfo_ref.h"
#include "tests/unit/log/pki.h"

static void test_rules(void)
{
    static const struct {
        const char *name, *watch;
        int want;
    } cases[] = {
        {"example.com", "example.com", 1},
        {"EXAMPLE.com.", "example.COM", 1},
        {"www.example.com", "example.com", 1},
        {"a.b.example.com", "example.com", 1},
        {"*.example.com", "example.com", 1},
        {"*.example.com", "www.example.com", 1},
        {"*.example.com", "a.b.example.com", 0},
        {"*.com", "example.com", 1},
        {"badexample.com", "example.com", 0},
        {"example.com.evil.org", "example.com", 0},
        {"example.org", "example.com", 0},
        {"com", "example.com", 0},
        {"www.example.com", "*.example.com", 1},
        {"", "example.com", 0},
        {"example.com", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = arb_audit_name_matches(cases[i].name, cases[i].watch);
        if (got != cases[i].want)
            arb_test_fail(__FILE__, __LINE__, "case %zu: %s vs %s: got %d", i, cases[i].name,
                          cases[i].watch, got);
        else
            arb_test_passed++;
    }
}

/* A certificate with CN and SANs; poison makes it a precertificate. */
static X509 *make_cert(EVP_PKEY *k, const char *cn, const char *san, int poison, long serial)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_NAME_free(n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    if (san) {
        e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    if (poison) {
        e = X509V3_EXT_conf(NULL, &ctx, "1.3.6.1.4.1.11129.2.4.3", "critical,ASN1:NULL");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_sign(x, k, EVP_sha256());
    return x;
}

static void test_certs(void)
{
    EVP_PKEY *k = pki_key();
    X509 *fin = make_cert(k, "www.example.com", "DNS:WWW.example.com,DNS:*.shop.example.org,IP:127.0.0.1", 0, 42);
    X509 *pre = make_cert(k, "www.example.com", "DNS:www.example.com,DNS:*.shop.example.org", 1, 42);
    X509 *other = make_cert(k, "mail.example.net", NULL, 0, 43);
    size_t fl, pl, ol, tl;
    uint8_t *fd = pki_der(fin, &fl), *pd = pki_der(pre, &pl), *od = pki_der(other, &ol);
    const uint8_t *tbs;
    arb_audit_certinfo a, b, c;
    arb_errbuf eb;
    const char *watch[] = {"example.net", "shop.example.org", "example.com"};
    const char *name = NULL;

    CHECK_OR(fd && pd && od, );
    CHECK_EQ(arb_audit_certinfo_read(&a, fd, fl, 0, &eb), ARB_OK);
    CHECK_EQ(a.n, 2); /* SANs deduplicated with the CN, the IP skipped */
    CHECK_STR(a.names[0], "www.example.com");
    CHECK_STR(a.names[1], "*.shop.example.org");
    CHECK_EQ(arb_audit_certinfo_match(&a, watch, 3, &name), 1);
    CHECK_STR(name, "*.shop.example.org");
    CHECK_EQ(arb_audit_certinfo_match(&a, watch, 1, &name), -1);
    /* the precertificate's TBS as a precert_entry carries it */
    CHECK(pki_raw_tbs(pd, pl, &tbs, &tl));
    CHECK_EQ(arb_audit_certinfo_read(&b, tbs, tl, 1, &eb), ARB_OK);
    CHECK_EQ(b.n, 2);
    CHECK_MEM(a.id, b.id, 32); /* same issuer and serial: one certificate */
    /* CN only */
    CHECK_EQ(arb_audit_certinfo_read(&c, od, ol, 0, &eb), ARB_OK);
    CHECK_EQ(c.n, 1);
    CHECK_STR(c.names[0], "mail.example.net");
    CHECK_EQ(arb_audit_certinfo_match(&c, watch, 3, &name), 0);
    CHECK(memcmp(a.id, c.id, 32) != 0);
    arb_audit_certinfo_clear(&a);
    arb_audit_certinfo_clear(&b);
    arb_audit_certinfo_clear(&c);
    /* garbage and a truncated certificate are parse errors */
    CHECK_EQ(arb_audit_certinfo_read(&a, fd, fl - 1, 0, &eb), ARB_ERR_PARSE);
    CHECK_EQ(arb_audit_certinfo_read(&a, (const uint8_t *)"\x30\x03\x02\x01\x01", 5, 1, &eb),
             ARB_ERR_PARSE);
    free(fd);
    free(pd);
    free(od);
    X509_free(fin);
    X509_free(pre);
    X509_free(other);
    EVP_PKEY_free(k);
}

/* The module's own TBSCertificate walk against OpenSSL's full parser, on every
 * certificate of the shared vectors (real CT test certificates, precerts with
 * the poison extension among them), each also read as its bare
 * TBSCertificate, and on truncations of each. */
static void test_against_openssl(void)
{
    static const char *const files[] = {
        "ct/certs/ca-cert.pem", "ct/certs/ca-pre-cert.pem", "ct/certs/intermediate-cert.pem",
        "ct/certs/intermediate-pre-cert.pem", "ct/certs/test-cert.pem",
        "ct/certs/test-embedded-cert.pem", "ct/certs/test-embedded-pre-cert.pem",
        "ct/certs/test-embedded-with-intermediate-cert.pem",
        "ct/certs/test-embedded-with-intermediate-pre-cert.pem",
        "ct/certs/test-embedded-with-preca-cert.pem", "ct/certs/test-intermediate-cert.pem",
        "ct/certs/test-invalid-embedded-cert.pem"};
    size_t checked = 0;

    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len = 0, tl = 0;
        uint8_t *der = pki_pem_file_der(files[f], &len);
        const uint8_t *tbs;
        arb_audit_certinfo a, b;
        arb_errbuf eb;

        CHECK(der != NULL);
        if (der == NULL)
            continue;
        CHECK_EQ(arb_audit_certinfo_read(&a, der, len, 0, &eb), ARB_OK);
        CHECK_EQ(certinfo_check(&a, der, len), 1);
        CHECK(pki_raw_tbs(der, len, &tbs, &tl));
        CHECK_EQ(arb_audit_certinfo_read(&b, tbs, tl, 1, &eb), ARB_OK);
        CHECK_EQ(certinfo_check(&b, der, len), 1);
        arb_audit_certinfo_clear(&a);
        arb_audit_certinfo_clear(&b);
        /* Every truncation is refused, as a certificate and as a TBS. */
        for (size_t cut = 0; cut < len; cut++) {
            CHECK_EQ(arb_audit_certinfo_read(&a, der, cut, 0, &eb), ARB_ERR_PARSE);
            if (cut < tl)
                CHECK_EQ(arb_audit_certinfo_read(&a, tbs, cut, 1, &eb), ARB_ERR_PARSE);
        }
        free(der);
        checked++;
    }
    CHECK_EQ(checked, sizeof files / sizeof files[0]);
}


/* 1 when the fast reader and the reference reader (OpenSSL's decoders) agree
 * on der: both refuse it, or both read the same names, subject and identity.
 * *fast_ok tells whether it was read. */
static int same_as_reference(const uint8_t *der, size_t len, int is_tbs, int *read_ok)
{
    arb_audit_certinfo a, b;
    arb_errbuf eb;
    arb_err ea = arb_audit_certinfo_read_ex(&a, der, len, is_tbs, 0, &eb);
    arb_err er = arb_audit_certinfo_read_ex(&b, der, len, is_tbs, ARB_CERTINFO_REFERENCE, &eb);
    int same = (ea == ARB_OK) == (er == ARB_OK);

    if (same && ea == ARB_OK) {
        same = a.n == b.n && memcmp(a.id, b.id, 32) == 0 && strcmp(a.subject, b.subject) == 0;
        for (size_t i = 0; same && i < a.n; i++)
            same = strcmp(a.names[i], b.names[i]) == 0;
    }
    if (read_ok != NULL)
        *read_ok = ea == ARB_OK;
    arb_audit_certinfo_clear(&a);
    arb_audit_certinfo_clear(&b);
    return same;
}

/* The fast reader against the reference: every vector certificate (and its
 * TBS), each with every single byte changed to three other values (lengths,
 * tags, string types and OIDs all get hit), and the subject filled later
 * equals the one read at once. */
static void test_fast_vs_reference(void)
{
    static const char *const files[] = {
        "ct/certs/ca-cert.pem", "ct/certs/test-cert.pem", "ct/certs/test-embedded-pre-cert.pem",
        "ct/certs/test-embedded-with-intermediate-cert.pem", "ct/certs/intermediate-pre-cert.pem"};
    static const uint8_t deltas[] = {0x01, 0x80, 0xff};
    size_t mismatches = 0, runs = 0, read_ok = 0;

    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len = 0;
        uint8_t *der = pki_pem_file_der(files[f], &len);
        arb_audit_certinfo a, b;
        arb_errbuf eb;

        CHECK_OR(der != NULL, );
        CHECK(same_as_reference(der, len, 0, NULL));
        CHECK_EQ(arb_audit_certinfo_read(&a, der, len, 0, &eb), ARB_OK);
        CHECK_EQ(arb_audit_certinfo_read_ex(&b, der, len, 0, ARB_CERTINFO_NO_SUBJECT, &eb), ARB_OK);
        CHECK_STR(b.subject, "");
        arb_audit_certinfo_subject(&b, der, len, 0);
        CHECK_STR(a.subject, b.subject);
        CHECK(a.subject[0] == '/');
        arb_audit_certinfo_clear(&a);
        arb_audit_certinfo_clear(&b);
        for (size_t i = 0; i < len; i++) {
            uint8_t orig = der[i];
            for (size_t d = 0; d < sizeof deltas; d++) {
                int ok = 0;
                der[i] = (uint8_t)(orig ^ deltas[d]);
                if (!same_as_reference(der, len, 0, &ok)) {
                    if (mismatches++ < 5)
                        arb_test_fail(__FILE__, __LINE__, "%s: byte %zu ^ %02x: readers disagree",
                                      files[f], i, deltas[d]);
                }
                read_ok += ok;
                runs++;
            }
            der[i] = orig;
        }
        free(der);
    }
    CHECK_EQ(mismatches, 0);
    CHECK(runs > 10000);
    CHECK(read_ok > runs / 10); /* mutations in signatures and values still read */
}

/* Real precertificates: the 1,024 TBSCertificates of a production log's
 * data tiles (navigli2025h2): both readers read every one, the same way. */
static void test_real_precerts(void)
{
    static const char *const tiles[] = {"000", "001", "002", "003"};
    static arb_ct_tile_leaf leaves[256];
    size_t n = 0, names = 0;

    for (size_t t = 0; t < 4; t++) {
        char rel[128];
        size_t dl;
        uint8_t *d;
        arb_errbuf eb;

        snprintf(rel, sizeof rel, "ct/static_ct/navigli2025h2_real/tile/data/%s", tiles[t]);
        d = arb_test_read_vector(rel, &dl);
        CHECK_OR(d != NULL, );
        CHECK_OR(arb_audit_data_tile_parse(leaves, d, dl, 256 * (uint64_t)t, 256, &eb) == ARB_OK, );
        for (size_t i = 0; i < 256; i++) {
            const arb_ct_signed_entry *e = &leaves[i].leaf.entry;
            arb_audit_certinfo a;
            int ok = 0;
            CHECK(same_as_reference(e->cert, e->cert_len, e->entry_type == ARB_CT_ENTRY_PRECERT, &ok));
            CHECK(ok);
            if (arb_audit_certinfo_read_ex(&a, e->cert, e->cert_len,
                                           e->entry_type == ARB_CT_ENTRY_PRECERT,
                                           ARB_CERTINFO_NO_SUBJECT, &eb) == ARB_OK) {
                names += a.n;
                arb_audit_certinfo_clear(&a);
            }
            n++;
        }
        free(d);
    }
    CHECK_EQ(n, 1024);
    CHECK(names >= n); /* every one names at least one domain */
}

int main(void)
{
    test_rules();
    test_certs();
    test_against_openssl();
    test_fast_vs_reference();
    test_real_precerts();
    return arb_test_done();
}
