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

#include "auditor/anchored.h"
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
    enum {
        O_CERT = 256, O_ISS, O_SCT, O_KEY, O_LOG, O_LIST, O_MMD, O_NOINC, O_JSON, O_HELP,
        O_ANCH, O_CHAIN, O_CP, O_NET, O_OUT
    };
    static const struct option opts[] = {
        {"cert", required_argument, NULL, O_CERT}, {"issuer", required_argument, NULL, O_ISS},
        {"sct", required_argument, NULL, O_SCT},   {"key", required_argument, NULL, O_KEY},
        {"log", required_argument, NULL, O_LOG},   {"log-list", required_argument, NULL, O_LIST},
        {"mmd", required_argument, NULL, O_MMD},   {"no-inclusion", no_argument, NULL, O_NOINC},
        {"json", no_argument, NULL, O_JSON},       {"help", no_argument, NULL, O_HELP},
        {"anchored", no_argument, NULL, O_ANCH},   {"chain", required_argument, NULL, O_CHAIN},
        {"checkpoint", required_argument, NULL, O_CP}, {"network", required_argument, NULL, O_NET},
        {"out", required_argument, NULL, O_OUT},
        {NULL, 0, NULL, 0},
    };
    int anchored = 0;
    const char *chain_url = NULL, *checkpoint = NULL, *network = "main", *out_file = NULL;
    arb_lightproof_trust trust;
    arb_sha256 *sha = NULL;
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
        case O_ANCH: anchored = 1; break;
        case O_CHAIN: chain_url = optarg; break;
        case O_CP: checkpoint = optarg; break;
        case O_NET: network = optarg; break;
        case O_OUT: out_file = optarg; break;
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
                   "--anchored --chain URL --checkpoint HASH|genesis [--network NET] [--out FILE]\n"
                   "also proves the entry is in the log's latest head anchored on the chain\n"
                   "(verified from the checkpoint, headers alone): 'anchored', 'pending' while\n"
                   "that head was signed within the merge delay, 'failed' when a head signed\n"
                   "after it lacks the entry. --out writes the proof for verify-anchored.\n"
                   "Exit 0 when every SCT verifies and none is overdue (with --anchored: every\n"
                   "entry anchored).\n");
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
                          : anchored && (!chain_url || !checkpoint)
                              ? "--anchored needs --chain URL and --checkpoint HASH"
                          : anchored && noinc ? "--anchored and --no-inclusion exclude each other"
                                                 : NULL;
        if (why != NULL) {
            fprintf(stderr, "arbor-audit: check-sct: %s%s%s\n", why,
                    optind != argc ? " " : "", optind != argc ? argv[optind] : "");
            fprintf(stderr, "usage: arbor-audit check-sct --cert PEM [--issuer PEM] [--sct FILE] "
                            "(--key PEM --log URL | --log-list FILE) [--json]\n");
            return CLI_USAGE;
        }
    }
    memset(&trust, 0, sizeof trust);
    if (anchored) {
        trust.params = arb_chain_params_get(network);
        if (trust.params == NULL || !trust.params->has_ledger) {
            fprintf(stderr, "arbor-audit: --network: not main, test or regtest: %s\n", network);
            return CLI_USAGE;
        }
        if (strcmp(checkpoint, "genesis") == 0)
            arb_chain_genesis_hash(trust.params, &trust.checkpoint);
        else if (strlen(checkpoint) != 64 ||
                 !arb_chain_hash_from_hex(&trust.checkpoint, checkpoint)) {
            fprintf(stderr, "arbor-audit: --checkpoint: not a block hash: %s\n", checkpoint);
            return CLI_USAGE;
        }
        trust.now = (int64_t)(cli_now_ms() / 1000u);
        if (arb_sha256_new(&sha) != ARB_OK)
            return CLI_FAIL;
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
        arb_audit_anch_status ast = ARB_AUDIT_ANCH_ERROR;
        char adetail[400] = "";
        if (anchored) {
            json_t *doc = NULL;
            ast = arb_audit_sct_anchored(cl, sha, chain_url, network, &trust, r, &doc, adetail,
                                         sizeof adetail);
            if (ast != ARB_AUDIT_ANCH_PROVEN)
                all_ok = 0;
            if (doc != NULL && out_file != NULL) {
                char path[4096];
                if (n == 1)
                    snprintf(path, sizeof path, "%s", out_file);
                else
                    snprintf(path, sizeof path, "%s.%zu", out_file, i);
                if (json_dump_file(doc, path, JSON_INDENT(1)) != 0) {
                    fprintf(stderr, "arbor-audit: %s: cannot write\n", path);
                    all_ok = 0;
                }
            }
            json_decref(doc);
        }
        if (json) {
            json_t *o =
                json_pack("{s:s, s:s, s:I, s:b, s:s, s:s, s:s}", "log_id", id64, "log",
                          r->log ? r->log->url : "", "timestamp", (json_int_t)r->timestamp,
                          "signature_valid", r->sig_ok, "inclusion", incl_name(r->inclusion),
                          "leaf_hash", hh, "detail", r->detail);
            if (o != NULL && anchored) {
                json_object_set_new(o, "anchored", json_string(arb_audit_anch_status_str(ast)));
                json_object_set_new(o, "anchored_detail", json_string(adetail));
            }
            json_array_append_new(arr, o);
        } else {
            printf("sct %zu: log %s (%s) timestamp %llu: signature %s; inclusion %s: %s\n", i,
                   r->log ? r->log->url : "unknown", id64, (unsigned long long)r->timestamp,
                   r->sig_ok ? "valid" : "INVALID", incl_name(r->inclusion), r->detail);
            if (anchored)
                printf("sct %zu: chain: %s: %s\n", i, arb_audit_anch_status_str(ast), adetail);
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
    arb_sha256_free(sha);
    curl_global_cleanup();
    return rc;
}
