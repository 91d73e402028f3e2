/* Auditor throughput on one core: tree-head signature checks, and the work
 * done per downloaded entry (MerkleTreeLeaf decode, certificate read, watch
 * list match). Prints one line per measurement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auditor/match.h"
#include "auditor/sth.h"
#include "ledger/log/ct.h"
#include "merkle/buf.h"
#include "tests/unit/audit/common.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    arb_ct_signer *s = NULL;
    arb_audit_log lg;
    arb_ct_verifier *v = NULL;
    arb_audit_sth sth;
    arb_hash r = thash(1);
    arb_errbuf eb;
    double t0, t;
    int n = 2000;

    if (!tlog_new(&s, &lg, "http://127.0.0.1:1/") ||
        arb_ct_verifier_from_spki(&v, lg.key, lg.key_len, &eb) != ARB_OK || !tlog_sth(&sth, s, 5, 1, &r))
        return 1;
    t0 = now_s();
    for (int i = 0; i < n; i++)
        if (arb_audit_sth_verify(v, &sth, &eb) != ARB_OK)
            return 1;
    t = now_s() - t0;
    printf("sth verify: %.0f /s\n", n / t);

    {
        EVP_PKEY *k = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        X509_NAME *nm = X509_NAME_new();
        X509V3_CTX ctx;
        X509_EXTENSION *ext;
        unsigned char *der = NULL;
        int dl;
        arb_ct_leaf leaf;
        arb_buf b = ARB_BUF_INIT;
        const char *watch[] = {"example.net", "example.org", "shop.example.com"};
        long hits = 0;

        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"www.example.com", -1, -1, 0);
        X509_set_subject_name(x, nm);
        X509_set_issuer_name(x, nm);
        X509_NAME_free(nm);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_set_pubkey(x, k);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
                                  "DNS:www.example.com,DNS:example.com,DNS:*.shop.example.com");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        X509_sign(x, k, EVP_sha256());
        dl = i2d_X509(x, &der);
        memset(&leaf, 0, sizeof leaf);
        leaf.entry.entry_type = ARB_CT_ENTRY_X509;
        leaf.entry.cert = der;
        leaf.entry.cert_len = (size_t)dl;
        if (arb_ct_leaf_encode(&b, &leaf) != ARB_OK)
            return 1;
        n = 20000;
        t0 = now_s();
        for (int i = 0; i < n; i++) {
            arb_ct_leaf d;
            arb_audit_certinfo ci;
            if (arb_ct_leaf_decode(&d, b.data, b.len) != ARB_OK ||
                arb_audit_certinfo_read(&ci, d.entry.cert, d.entry.cert_len, 0, &eb) != ARB_OK)
                return 1;
            hits += arb_audit_certinfo_match(&ci, watch, 3, NULL) >= 0;
            arb_audit_certinfo_clear(&ci);
        }
        t = now_s() - t0;
        printf("entry decode + certificate read + match (%d-byte cert): %.0f entries/s (%ld hits)\n",
               dl, n / t, hits);
        arb_buf_free(&b);
        OPENSSL_free(der);
        X509_free(x);
        EVP_PKEY_free(k);
    }
    arb_ct_verifier_free(v);
    arb_ct_signer_free(s);
    arb_audit_log_clear(&lg);
    return 0;
}
