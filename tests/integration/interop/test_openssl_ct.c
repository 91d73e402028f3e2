/* arbord's SCTs checked by OpenSSL's own Certificate Transparency code
 * (CT_POLICY_EVAL_CTX, SCT_validate), an implementation independent of
 * ours, against a real arbord on 127.0.0.1:
 *   - add-chain: the SCT, as a TLS client would receive it for the
 *     certificate (an x509_entry);
 *   - add-pre-chain: the SCT embedded in the final certificate issued from
 *     the precertificate (a precert_entry: OpenSSL rebuilds the TBS from the
 *     final certificate, without the SCT list, with the issuer's key hash),
 *     both for a precertificate signed by the CA itself and for one signed
 *     by a precertificate signing certificate;
 *   - the same SCTs fail under another log key, and the embedded one fails
 *     for a final certificate with another serial. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "merkle/buf.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

/* arbord; main stops it even when a check ends run() early */
static arb_proc *d;
static char dir[512], url[64];
static int64_t now;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return arb_buf_put(ud, p, size * n) ? size * n : 0;
}

/* POSTs {"chain":[...]} of the given certificates to path; returns the
 * parsed answer of a 200, else NULL. */
static json_t *post_chain(const char *path, X509 *const *certs, size_t n)
{
    json_t *req = json_object(), *arr = json_array(), *ans = NULL;
    arb_buf b = ARB_BUF_INIT;
    char full[256], *body;
    long status = 0;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");

    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        uint8_t *der = pki_der(certs[i], &len);
        char *b64 = der ? arb_base64_encode(der, len) : NULL;
        json_array_append_new(arr, json_string(b64 ? b64 : ""));
        free(b64);
        free(der);
    }
    json_object_set_new(req, "chain", arr);
    body = json_dumps(req, JSON_COMPACT);
    snprintf(full, sizeof full, "%s%s", url, path);
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(c) == CURLE_OK &&
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
        ans = json_loadb((const char *)b.data, b.len, 0, NULL);
    else
        fprintf(stderr, "%s: HTTP %ld: %.*s\n", path, status, (int)b.len, (const char *)b.data);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    json_decref(req);
    arb_buf_free(&b);
    return ans;
}

/* The SCT of an add-(pre-)chain answer as an OpenSSL SCT. */
static SCT *sct_of(const json_t *a, ct_log_entry_type_t type)
{
    const char *id = json_string_value(json_object_get(a, "id"));
    const char *ext = json_string_value(json_object_get(a, "extensions"));
    const char *sig = json_string_value(json_object_get(a, "signature"));
    json_int_t ts = json_integer_value(json_object_get(a, "timestamp"));

    if (id == NULL || ext == NULL || sig == NULL)
        return NULL;
    return SCT_new_from_base64(SCT_VERSION_V1, id, type, (uint64_t)ts, ext, sig);
}

/* A log store holding one log with this public key (OpenSSL's config file
 * format for CTLOG_STORE_load_file). */
static CTLOG_STORE *store_for(EVP_PKEY *key, const char *name)
{
    CTLOG_STORE *s = CTLOG_STORE_new();
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    char *b64 = n > 0 ? arb_base64_encode(der, (size_t)n) : NULL, path[600];
    FILE *f;
    int ok = 0;

    snprintf(path, sizeof path, "%s/%s.cnf", dir, name);
    if (s != NULL && b64 != NULL && (f = fopen(path, "w")) != NULL) {
        fprintf(f, "enabled_logs = %s\n\n[%s]\ndescription = %s\nkey = %s\n", name, name, name,
                b64);
        ok = fclose(f) == 0 && CTLOG_STORE_load_file(s, path) == 1;
    }
    OPENSSL_free(der);
    free(b64);
    if (!ok) {
        CTLOG_STORE_free(s);
        return NULL;
    }
    return s;
}

/* 1 when every SCT of the list validates for cert (issued by issuer) under
 * the logs of store; OpenSSL's validation status of the first otherwise. */
static int validate(STACK_OF(SCT) *scts, X509 *cert, X509 *issuer, CTLOG_STORE *store)
{
    CT_POLICY_EVAL_CTX *ctx = CT_POLICY_EVAL_CTX_new();
    int r = 0;

    if (ctx == NULL || !CT_POLICY_EVAL_CTX_set1_cert(ctx, cert) ||
        !CT_POLICY_EVAL_CTX_set1_issuer(ctx, issuer))
        goto out;
    CT_POLICY_EVAL_CTX_set_shared_CTLOG_STORE(ctx, store);
    CT_POLICY_EVAL_CTX_set_time(ctx, (uint64_t)(now + 3600) * 1000);
    r = SCT_LIST_validate(scts, ctx) == 1;
    /* Refusals are expected in the negative cases: say which status. */
    for (int i = 0; !r && i < sk_SCT_num(scts); i++)
        printf("SCT %d not valid: OpenSSL status %d (1 unknown log, 3 invalid)\n", i,
               (int)SCT_get_validation_status(sk_SCT_value(scts, i)));
out:
    CT_POLICY_EVAL_CTX_free(ctx);
    ERR_clear_error();
    return r;
}

static void run(void)
{
    char arbord[4096], roots[600], keyf[600], data[600];
    pki_spec rs = {"OpenSSL CT Root", NULL, 1, now - 86400, now + 86400 * 365, PKI_CA};
    pki_spec is = {"OpenSSL CT Intermediate", NULL, 2, now - 86400, now + 86400 * 365, PKI_CA};
    pki_spec ps = {"OpenSSL CT Precert Signer", NULL, 3, now - 86400, now + 86400 * 365,
                   PKI_CA | PKI_PRE_SIGNER};
    EVP_PKEY *rk = pki_key(), *ik = pki_key(), *pk = pki_key(), *lk = pki_key(), *other = pki_key();
    X509 *root = pki_cert(&rs, rk, NULL, NULL), *inter = NULL, *psc = NULL;
    CTLOG_STORE *good = NULL, *bad = NULL;
    FILE *f;
    char *pem;
    size_t pl;
    int port;

    CHECK_OR(root != NULL && lk != NULL, );
    inter = pki_cert(&is, ik, root, rk);
    psc = pki_cert(&ps, pk, inter, ik);
    CHECK_OR(inter != NULL && psc != NULL, );
    snprintf(roots, sizeof roots, "%s/roots.pem", dir);
    snprintf(keyf, sizeof keyf, "%s/log-key.pem", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    pem = pki_pem(root, &pl);
    f = fopen(roots, "w");
    CHECK_OR(pem && f && fputs(pem, f) >= 0, );
    fclose(f);
    free(pem);
    f = fopen(keyf, "w");
    CHECK_OR(f && PEM_write_PrivateKey(f, lk, NULL, NULL, 0, NULL, NULL) == 1, );
    fclose(f);
    good = store_for(lk, "arbord");
    bad = store_for(other, "other");
    CHECK_OR(good != NULL && bad != NULL, );
    CHECK_OR(arb_test_bin(arbord, sizeof arbord, "arbord") != NULL, );
    {
        const char *argv[] = {arbord, "--datadir", data, "--listen", "127.0.0.1:0", "--network",
                              "regtest", "--log-key", keyf, "--log-roots", roots, "--json", NULL};
        CHECK_OR(arb_proc_spawn(&d, argv) == 0, );
    }
    port = arb_proc_wait_port(d, 30000);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);

    /* add-chain: an x509_entry SCT, as a TLS extension would carry it */
    if (port > 0) {
        pki_spec ls = {"tls.openssl-ct.test", NULL, 100, now - 3600, now + 86400 * 30, 0};
        EVP_PKEY *k = pki_key();
        X509 *leaf = pki_cert(&ls, k, inter, ik);
        X509 *chain[] = {leaf, inter, root};
        json_t *a = post_chain("/ct/v1/add-chain", chain, 3);
        SCT *s = a ? sct_of(a, CT_LOG_ENTRY_TYPE_X509) : NULL;
        STACK_OF(SCT) *list = sk_SCT_new_null();

        CHECK(s != NULL && list != NULL && sk_SCT_push(list, s) > 0);
        if (s != NULL && list != NULL) {
            SCT_set_source(s, SCT_SOURCE_TLS_EXTENSION);
            CHECK(validate(list, leaf, inter, good));
            CHECK(!validate(list, leaf, inter, bad));
        }
        SCT_LIST_free(list);
        json_decref(a);
        X509_free(leaf);
        EVP_PKEY_free(k);
    }

    /* add-pre-chain, then the final certificate with the SCT embedded: by
     * the CA itself, and through a precertificate signing certificate */
    for (int via_psc = 0; via_psc < 2 && port > 0; via_psc++) {
        long serial = 200 + via_psc;
        pki_spec pre = {via_psc ? "psc.openssl-ct.test" : "pre.openssl-ct.test", NULL, serial,
                        now - 3600, now + 86400 * 30, PKI_POISON};
        pki_spec fin = pre, wrong;
        EVP_PKEY *k = pki_key();
        X509 *precert, *final = NULL, *other_final = NULL;
        json_t *a;
        SCT *s;
        STACK_OF(SCT) *list = sk_SCT_new_null();

        if (via_psc) {
            /* issued by the precertificate signing certificate; the log
             * rewrites issuer and authority key id to the CA's (RFC 6962
             * 3.1), which is what the final certificate carries */
            precert = pki_cert(&pre, k, psc, pk);
        } else {
            precert = pki_cert(&pre, k, inter, ik);
        }
        {
            X509 *pchain[] = {precert, psc, inter, root};
            X509 *dchain[] = {precert, inter, root};
            a = via_psc ? post_chain("/ct/v1/add-pre-chain", pchain, 4)
                        : post_chain("/ct/v1/add-pre-chain", dchain, 3);
        }
        s = a ? sct_of(a, CT_LOG_ENTRY_TYPE_PRECERT) : NULL;
        CHECK(s != NULL && list != NULL && sk_SCT_push(list, s) > 0);
        fin.flags = 0;
        final = pki_cert(&fin, k, inter, ik);
        wrong = fin;
        wrong.serial = serial + 1000;
        other_final = pki_cert(&wrong, k, inter, ik);
        if (s != NULL && final != NULL && other_final != NULL) {
            /* the final certificate carries the SCT list; re-signed */
            CHECK(X509_add1_ext_i2d(final, NID_ct_precert_scts, list, 0, 0) == 1);
            CHECK(X509_sign(final, ik, EVP_sha256()) > 0);
            CHECK(X509_add1_ext_i2d(other_final, NID_ct_precert_scts, list, 0, 0) == 1);
            CHECK(X509_sign(other_final, ik, EVP_sha256()) > 0);
            {
                STACK_OF(SCT) *emb = X509_get_ext_d2i(final, NID_ct_precert_scts, NULL, NULL);
                STACK_OF(SCT) *emb2 =
                    X509_get_ext_d2i(other_final, NID_ct_precert_scts, NULL, NULL);
                CHECK(emb != NULL && sk_SCT_num(emb) == 1);
                if (emb != NULL) {
                    CHECK(validate(emb, final, inter, good));
                    CHECK(!validate(emb, final, inter, bad));
                }
                if (emb2 != NULL)
                    CHECK(!validate(emb2, other_final, inter, good));
                SCT_LIST_free(emb);
                SCT_LIST_free(emb2);
            }
        }
        SCT_LIST_free(list);
        json_decref(a);
        X509_free(precert);
        X509_free(final);
        X509_free(other_final);
        EVP_PKEY_free(k);
    }

    arb_proc_kill(d, SIGTERM);
    CHECK_EQ(arb_proc_wait(d, 30000), 0);
    arb_proc_free(d);
    d = NULL;
    CTLOG_STORE_free(good);
    CTLOG_STORE_free(bad);
    X509_free(root);
    X509_free(inter);
    X509_free(psc);
    EVP_PKEY_free(rk);
    EVP_PKEY_free(ik);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(lk);
    EVP_PKEY_free(other);
}

int main(void)
{
    arb_test_seed_init();
    now = (int64_t)time(NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (arb_test_tmpdir(dir, sizeof dir) != 0)
        return 1;
    run();
    arb_proc_free(d); /* SIGKILLs it if a failed check left it running */
    arb_test_rmtree(dir);
    curl_global_cleanup();
    return arb_test_done();
}
