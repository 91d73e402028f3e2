/* Fuzzes chain validation with untrusted DER: the input is an x509 extra_data
 * certificate list (or, when it is not one, a single DER certificate), checked
 * as add-chain and add-pre-chain against a fixed root, plus the precert TBS
 * rewriting and the embedded-SCT extraction. Nothing may crash or leak; a
 * success must come with a path that ends in the root. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ca-cert.pem of the google/certificate-transparency test PKI. */
static const char root_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIC0DCCAjmgAwIBAgIBADANBgkqhkiG9w0BAQUFADBVMQswCQYDVQQGEwJHQjEk\n"
    "MCIGA1UEChMbQ2VydGlmaWNhdGUgVHJhbnNwYXJlbmN5IENBMQ4wDAYDVQQIEwVX\n"
    "YWxlczEQMA4GA1UEBxMHRXJ3IFdlbjAeFw0xMjA2MDEwMDAwMDBaFw0yMjA2MDEw\n"
    "MDAwMDBaMFUxCzAJBgNVBAYTAkdCMSQwIgYDVQQKExtDZXJ0aWZpY2F0ZSBUcmFu\n"
    "c3BhcmVuY3kgQ0ExDjAMBgNVBAgTBVdhbGVzMRAwDgYDVQQHEwdFcncgV2VuMIGf\n"
    "MA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDVimhTYhCicRmTbneDIRgcKkATxtB7\n"
    "jHbrkVfT0PtLO1FuzsvRyY2RxS90P6tjXVUJnNE6uvMa5UFEJFGnTHgW8iQ8+EjP\n"
    "KDHM5nugSlojgZ88ujfmJNnDvbKZuDnd/iYx0ss6hPx7srXFL8/BT/9Ab1zURmnL\n"
    "svfP34b7arnRsQIDAQABo4GvMIGsMB0GA1UdDgQWBBRfnYgNyHPmVNT4DdjmsMEk\n"
    "tEfDVTB9BgNVHSMEdjB0gBRfnYgNyHPmVNT4DdjmsMEktEfDVaFZpFcwVTELMAkG\n"
    "A1UEBhMCR0IxJDAiBgNVBAoTG0NlcnRpZmljYXRlIFRyYW5zcGFyZW5jeSBDQTEO\n"
    "MAwGA1UECBMFV2FsZXMxEDAOBgNVBAcTB0VydyBXZW6CAQAwDAYDVR0TBAUwAwEB\n"
    "/zANBgkqhkiG9w0BAQUFAAOBgQAGCMxKbWTyIF4UbASydvkrDvqUpdryOvw4BmBt\n"
    "OZDQoeojPUApV2lGOwRmYef6HReZFSCa6i4Kd1F2QRIn18ADB8dHDmFYT9czQiRy\n"
    "f1HWkLxHqd81TbD26yWVXeGJPE3VICskovPkQNJ0tU4b03YmnKliibduyqQQkOFP\n"
    "OwqULg==\n"
    "-----END CERTIFICATE-----\n";

static arb_ct_roots *roots;

static void check(int precert, const arb_ct_cert_ref *certs, size_t n)
{
    arb_ct_chain *c = NULL, *again = NULL;
    arb_errbuf eb, eb2;
    const uint8_t *rd;
    size_t rl;
    arb_err err = arb_ct_chain_validate(&c, roots, NULL, precert, certs, n, &eb);

    /* The second time the chain's verified intermediates come from the
     * roots' cache: the answer must not change. */
    if (arb_ct_chain_validate(&again, roots, NULL, precert, certs, n, &eb2) != err ||
        (err != ARB_OK && strcmp(eb.msg, eb2.msg) != 0))
        abort();
    if (err == ARB_OK) {
        arb_ct_roots_get(roots, 0, &rd, &rl);
        if (c->path_len < 1 || c->path[c->path_len - 1].len != rl ||
            memcmp(c->path[c->path_len - 1].der, rd, rl) != 0 || c->entry.cert_len == 0 ||
            again->path_len != c->path_len || again->entry.cert_len != c->entry.cert_len ||
            memcmp(again->entry.cert, c->entry.cert, c->entry.cert_len) != 0)
            abort();
        for (size_t i = 0; i < c->path_len; i++)
            if (again->path[i].len != c->path[i].len ||
                memcmp(again->path[i].der, c->path[i].der, c->path[i].len) != 0)
                abort();
        arb_ct_chain_free(c);
        arb_ct_chain_free(again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_ct_cert_list l;
    arb_ct_cert_ref one = {data, size};
    const arb_ct_cert_ref *certs = &one;
    size_t n = 1;
    arb_errbuf eb;
    uint8_t *a = NULL, *b = NULL;
    size_t al, bl;

    if (roots == NULL && arb_ct_roots_from_pem(&roots, root_pem, sizeof(root_pem) - 1, &eb) != ARB_OK)
        abort();
    memset(&l, 0, sizeof(l));
    if (arb_ct_x509_chain_decode(&l, data, size) == ARB_OK && l.n > 0) {
        certs = l.certs;
        n = l.n;
    }
    check(0, certs, n);
    check(1, certs, n);
    if (arb_ct_precert_tbs(&a, &al, certs[0].der, certs[0].len, n > 1 ? certs[1].der : NULL,
                           n > 1 ? certs[1].len : 0, &eb) == ARB_OK)
        free(a);
    if (arb_ct_embedded_scts(&a, &al, &b, &bl, certs[0].der, certs[0].len, &eb) == ARB_OK) {
        free(a);
        free(b);
    }
    arb_ct_cert_list_free(&l);
    return 0;
}
