/* arbor-audit check-sct: verify a certificate's SCTs and, past the merge
 * delay, the inclusion of its entry. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auditor/cli_util.h"
#include "auditor/sct.h"
#include "merkle/buf.h"

/* The DER certificates of a PEM file (up to max), malloc'd each. */
static size_t pem_certs(const uint8_t *pem, size_t len, uint8_t **der, size_t *der_len, size_t max)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    size_t n = 0;
    X509 *x;
    while (bio && n < max && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        unsigned char *p = NULL;
        int l = i2d_X509(x, &p);
        X509_free(x);
        if (l <= 0)
            break;
        der[n] = malloc((size_t)l);
        if (der[n] == NULL) {
            OPENSSL_free(p);
            break;
        }
        memcpy(der[n], p, (size_t)l);
        der_len[n++] = (size_t)l;
        OPENSSL_free(p);
    }
    BIO_free(bio);
    return n;
}

static const char *incl_name(arb_audit_incl i)
{
    switch (i) {
    case ARB_AUDIT_INCL_PROVEN: return "proven";
    case ARB_AUDIT_INCL_PENDING: return "pending";
    case ARB_AUDIT_INCL_FAILED: return "failed";
    case ARB_AUDIT_INCL_ERROR: return "not-checked";
    default: return "unchecked";
    }
}

int cli_check_sct(int argc, char **argv, int json)
{
    enum { O_CERT = 256, O_ISS, O_SCT, O_KEY, O_LOG, O_LIST, O_MMD, O_NOINC, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"cert", required_argument, NULL, O_CERT}, {"issuer", required_argument, NULL, O_ISS},
        {"sct", required_argument, NULL, O_SCT},   {"key", required_argument, NULL, O_KEY},
        {"log", required_argument, NULL, O_LOG},   {"log-list", required_argument, NULL, O_LIST},
        {"mmd", required_argument, NULL, O_MMD},   {"no-inclusion", no_argument, NULL, O_NOINC},
        {"json", no_argument, NULL, O_JSON},       {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *cert_file = NULL, *iss_file = NULL, *sct_file = NULL, *key_file = NULL;
    const char *log_url = NULL, *list_file = NULL;
    uint64_t mmd = 86400;
    int noinc = 0, c, rc = CLI_FAIL, all_ok = 1;
    uint8_t *der[8] = {0}, *ider[2] = {0}, *data = NULL, *sct = NULL;
    size_t dl[8], idl[2], nder = 0, len, sct_len = 0, n = 0;
    arb_audit_loglist logs = {NULL, 0};
    arb_audit_sct_result *res = NULL;
    arb_audit_client *cl = NULL;
    arb_errbuf eb;
    json_t *arr = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_CERT: cert_file = optarg; break;
        case O_ISS: iss_file = optarg; break;
        case O_SCT: sct_file = optarg; break;
        case O_KEY: key_file = optarg; break;
        case O_LOG: log_url = optarg; break;
        case O_LIST: list_file = optarg; break;
        case O_NOINC: noinc = 1; break;
        case O_JSON: json = 1; break;
        case O_MMD:
            if (!cli_parse_u64(optarg, &mmd)) {
                fprintf(stderr, "arbor-audit: --mmd: not a number\n");
                return CLI_USAGE;
            }
            break;
        case O_HELP:
            printf("usage: arbor-audit check-sct --cert PEM [--issuer PEM] [--sct FILE]\n"
                   "         (--key PEM --log URL [--mmd S] | --log-list FILE) [--no-inclusion] "
                   "[--json]\n"
                   "Verifies the SCTs embedded in a certificate (the issuer is the second\n"
                   "certificate of the PEM file or --issuer), or one SCT for it (--sct: the JSON\n"
                   "add-chain / add-pre-chain answered, or TLS-encoded; for a precertificate\n"
                   "give the issuer too), then asks the log for an inclusion proof. Missing\n"
                   "from the log is 'pending' within the merge delay (--mmd S, default 86400)\n"
                   "and a failure after it. --key takes the log's public key or its private\n"
                   "key file (only the public part is used).\n"
                   "Exit 0 when every SCT verifies and none is overdue.\n");
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    {
        const char *why = optind != argc       ? "unexpected argument"
                          : cert_file == NULL  ? "--cert PEM is missing"
                          : list_file && key_file ? "give either --key with --log, or --log-list"
                          : !list_file && !key_file ? "--key PEM and --log URL (or --log-list "
                                                      "FILE) are missing"
                          : key_file && !log_url ? "--log URL is missing (the log the key is for)"
                                                 : NULL;
        if (why != NULL) {
            fprintf(stderr, "arbor-audit: check-sct: %s%s%s\n", why,
                    optind != argc ? " " : "", optind != argc ? argv[optind] : "");
            fprintf(stderr, "usage: arbor-audit check-sct --cert PEM [--issuer PEM] [--sct FILE] "
                            "(--key PEM --log URL | --log-list FILE) [--json]\n");
            return CLI_USAGE;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* logs */
    if (list_file != NULL && (data = cli_read_file(list_file, &len)) == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", list_file, strerror(errno));
        goto out;
    }
    if (key_file != NULL && (data = cli_read_key(key_file, &len)) == NULL)
        goto out;
    if (list_file) {
        if (arb_audit_loglist_parse(&logs, (const char *)data, len, &eb) != ARB_OK) {
            fprintf(stderr, "arbor-audit: %s: %s\n", list_file, eb.msg);
            goto out;
        }
    } else {
        logs.logs = calloc(1, sizeof *logs.logs);
        if (logs.logs == NULL ||
            arb_audit_log_from_key(&logs.logs[0], log_url, 0, data, len, mmd, &eb) != ARB_OK) {
            fprintf(stderr, "arbor-audit: %s\n", logs.logs ? eb.msg : "out of memory");
            goto out;
        }
        logs.n = 1;
    }
    free(data);
    /* certificates */
    if ((data = cli_read_file(cert_file, &len)) == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", cert_file, strerror(errno));
        goto out;
    }
    nder = pem_certs(data, len, der, dl, 8);
    if (nder == 0) {
        fprintf(stderr, "arbor-audit: %s: no PEM certificate\n", cert_file);
        goto out;
    }
    if (iss_file) {
        free(data);
        if ((data = cli_read_file(iss_file, &len)) == NULL ||
            pem_certs(data, len, ider, idl, 1) != 1) {
            fprintf(stderr, "arbor-audit: %s: no PEM certificate\n", iss_file);
            goto out;
        }
    } else if (nder > 1) {
        ider[0] = der[1];
        idl[0] = dl[1];
        der[1] = NULL;
    }
    if (sct_file) {
        arb_err err;
        if ((sct = cli_read_file(sct_file, &sct_len)) == NULL) {
            fprintf(stderr, "arbor-audit: %s: %s\n", sct_file, strerror(errno));
            goto out;
        }
        res = calloc(1, sizeof *res);
        if (res == NULL) {
            fprintf(stderr, "arbor-audit: out of memory\n");
            goto out;
        }
        err = arb_audit_sct_check_given(res, der[0], dl[0], ider[0], ider[0] ? idl[0] : 0, sct,
                                        sct_len, &logs, &eb);
        if (err != ARB_OK) {
            fprintf(stderr, "arbor-audit: %s: %s\n", err == ARB_ERR_PARSE ? sct_file : cert_file,
                    eb.msg);
            if (err == ARB_ERR_INVALID_ARG)
                rc = CLI_USAGE;
            goto out;
        }
        n = 1;
    } else {
        arb_err err;
        if (ider[0] == NULL) {
            fprintf(stderr, "arbor-audit: embedded SCTs need the issuer certificate (--issuer)\n");
            rc = CLI_USAGE;
            goto out;
        }
        err = arb_audit_sct_check_embedded(&res, &n, der[0], dl[0], ider[0], idl[0], &logs, &eb);
        if (err != ARB_OK) {
            fprintf(stderr, "arbor-audit: %s: %s\n", cert_file,
                    err == ARB_ERR_NOT_FOUND ? "the certificate has no embedded SCTs" : eb.msg);
            goto out;
        }
    }
    if (!noinc && arb_audit_client_new(&cl, 30000) != ARB_OK)
        goto out;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        arb_audit_sct_result *r = &res[i];
        char id64[64] = "", hh[65];
        char *b = arb_base64_encode(r->log_id, 32);
        if (b) {
            snprintf(id64, sizeof id64, "%s", b);
            free(b);
        }
        if (!noinc)
            if (arb_audit_sct_inclusion(cl, r, cli_now_ms()) != ARB_OK)
                all_ok = 0;
        arb_hex_encode(hh, r->leaf_hash.b, 32);
        if (!r->sig_ok || r->inclusion == ARB_AUDIT_INCL_FAILED || r->inclusion == ARB_AUDIT_INCL_ERROR)
            all_ok = 0;
        if (json) {
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:I, s:b, s:s, s:s, s:s}", "log_id", id64, "log",
                               r->log ? r->log->url : "", "timestamp", (json_int_t)r->timestamp,
                               "signature_valid", r->sig_ok, "inclusion",
                               incl_name(r->inclusion), "leaf_hash", hh, "detail", r->detail));
        } else {
            printf("sct %zu: log %s (%s) timestamp %llu: signature %s; inclusion %s: %s\n", i,
                   r->log ? r->log->url : "unknown", id64, (unsigned long long)r->timestamp,
                   r->sig_ok ? "valid" : "INVALID", incl_name(r->inclusion), r->detail);
        }
    }
    if (json)
        cli_print_json(json_pack("{s:b, s:o}", "ok", all_ok, "scts", arr));
    else
        json_decref(arr);
    rc = all_ok ? CLI_OK : CLI_FAIL;
out:
    for (size_t i = 0; i < 8; i++)
        free(der[i]);
    free(ider[0]);
    free(data);
    free(sct);
    free(res);
    arb_audit_client_free(cl);
    arb_audit_loglist_free(&logs);
    curl_global_cleanup();
    return rc;
}
