/* arbor-audit cosign: asks a witness (c2sp.org/tlog-witness) to cosign a
 * log's current checkpoint. The client side of `arbor-audit witness`:
 *
 *   1. GET <log>checkpoint, check its signature with the log's key (the
 *      origin is the checkpoint's first line unless --origin is given);
 *   2. POST <witness>add-checkpoint with "old <size>", the consistency proof
 *      from that size (RFC 6962 get-sth-consistency), an empty line and the
 *      checkpoint, first claiming the size the witness last cosigned (--old,
 *      default 0); on 409 the witness names its size and the request is made
 *      again once with the proof from there;
 *   3. prints the cosignature lines the witness answers. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "auditor/cli_util.h"
#include "auditor/client.h"
#include "auditor/loglist.h"
#include "auditor/witness.h"
#include "merkle/buf.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: arbor-audit cosign --witness URL --log URL --key PEM [--origin O] "
               "[--old N] [--json]\n");
}

/* Why a witness said no, in words. */
static const char *status_meaning(long st)
{
    switch (st) {
    case 400: return "the witness found the request malformed";
    case 403: return "no signature on the checkpoint verifies with the keys the witness trusts "
                     "for this origin";
    case 404: return "the witness does not know this log's origin (start it with --log "
                     "ORIGIN=PEM or --log-vkey)";
    case 409: return "the witness cosigned another tree at that size, or a larger one";
    case 422: return "the consistency proof does not verify at the witness";
    default: return "unexpected answer";
    }
}

/* The add-checkpoint body: "old N\n", proof lines, "\n", the checkpoint. */
static char *request_body(uint64_t old, const arb_hash *proof, size_t n, const uint8_t *cp,
                          size_t cp_len, size_t *len)
{
    arb_buf b = ARB_BUF_INIT;
    char line[64];

    snprintf(line, sizeof line, "old %llu\n", (unsigned long long)old);
    arb_buf_put(&b, line, strlen(line));
    for (size_t i = 0; i < n; i++) {
        char *s = arb_base64_encode(proof[i].b, 32);
        if (s == NULL) {
            arb_buf_free(&b);
            return NULL;
        }
        arb_buf_put(&b, s, strlen(s));
        arb_buf_put(&b, "\n", 1);
        free(s);
    }
    arb_buf_put(&b, "\n", 1);
    arb_buf_put(&b, cp, cp_len);
    if (b.oom) {
        arb_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return (char *)b.data;
}

int cli_cosign(int argc, char **argv, int json)
{
    enum { O_WITNESS = 256, O_LOG, O_KEY, O_ORIGIN, O_OLD, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"witness", required_argument, NULL, O_WITNESS}, {"log", required_argument, NULL, O_LOG},
        {"key", required_argument, NULL, O_KEY},         {"origin", required_argument, NULL, O_ORIGIN},
        {"old", required_argument, NULL, O_OLD},         {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},             {NULL, 0, NULL, 0},
    };
    const char *witness = NULL, *log_url = NULL, *key_file = NULL, *origin = NULL;
    uint64_t old = 0;
    int c, rc = CLI_FAIL;
    arb_audit_log lg;
    arb_audit_client *cl = NULL;
    arb_audit_sth sth;
    arb_errbuf eb;
    uint8_t *key = NULL, *cp = NULL, *ans = NULL;
    size_t key_len = 0, cp_len = 0, ans_len = 0;
    char url[2300], wurl[2300];
    long st = 0;

    memset(&lg, 0, sizeof lg);
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_WITNESS: witness = optarg; break;
        case O_LOG: log_url = optarg; break;
        case O_KEY: key_file = optarg; break;
        case O_ORIGIN: origin = optarg; break;
        case O_JSON: json = 1; break;
        case O_OLD:
            if (!cli_parse_u64(optarg, &old)) {
                fprintf(stderr, "arbor-audit: cosign: --old: not a tree size: %s\n", optarg);
                return CLI_USAGE;
            }
            break;
        case O_HELP:
            usage(stdout);
            printf("Asks a witness to cosign the log's current checkpoint: checks the\n"
                   "checkpoint's signature with --key (the log's public key or its key file),\n"
                   "sends it with a consistency proof from the size the witness last cosigned\n"
                   "(learnt from its 409 answer when --old is wrong) and prints the witness's\n"
                   "cosignature lines. Exit 0 when cosigned, 1 when refused or unreachable.\n");
            return CLI_OK;
        default:
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc || witness == NULL || log_url == NULL || key_file == NULL) {
        fprintf(stderr, "arbor-audit: cosign: %s%s\n",
                optind != argc     ? "unexpected argument "
                : witness == NULL  ? "--witness URL is missing (the witness to ask)"
                : log_url == NULL  ? "--log URL is missing (the log whose checkpoint to send)"
                                   : "--key PEM is missing (the log's public key or key file)",
                optind != argc ? argv[optind] : "");
        usage(stderr);
        return CLI_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if ((key = cli_read_key(key_file, &key_len)) == NULL)
        goto out;
    if (arb_audit_log_from_key(&lg, log_url, 1, key, key_len, 0, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: cosign: %s\n", eb.msg);
        rc = CLI_USAGE;
        goto out;
    }
    if (arb_audit_client_new(&cl, 30000) != ARB_OK)
        goto out;
    /* The checkpoint as the log serves it; its first line is the origin. */
    snprintf(url, sizeof url, "%scheckpoint", lg.url);
    if (arb_audit_http(cl, url, NULL, 0, NULL, &st, &cp, &cp_len, &eb) != ARB_OK || st != 200) {
        fprintf(stderr, "arbor-audit: cosign: cannot read %s: %s\n", url,
                st != 0 ? "HTTP error" : eb.msg);
        goto out;
    }
    {
        size_t n = strcspn((const char *)cp, "\n");
        char *o;
        if (n == 0 || n >= cp_len || n > 255) {
            fprintf(stderr, "arbor-audit: cosign: %s is not a checkpoint\n", url);
            goto out;
        }
        if (origin != NULL && (strlen(origin) != n || memcmp(origin, cp, n) != 0)) {
            fprintf(stderr, "arbor-audit: cosign: origin mismatch: the log's checkpoint names "
                            "origin \"%.*s\", but --origin is \"%s\"\n", (int)n, (char *)cp,
                    origin);
            goto out;
        }
        if ((o = malloc(n + 1)) == NULL)
            goto out;
        memcpy(o, cp, n);
        o[n] = '\0';
        free(lg.origin);
        lg.origin = o;
    }
    /* Check it ourselves first: a witness is not asked to cosign garbage. */
    if (arb_audit_get_checkpoint(cl, &lg, &sth, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: cosign: %s\n", eb.msg);
        goto out;
    }
    free(cp);
    cp = NULL;
    if (arb_audit_http(cl, url, NULL, 0, NULL, &st, &cp, &cp_len, &eb) != ARB_OK || st != 200) {
        fprintf(stderr, "arbor-audit: cosign: cannot read %s again\n", url);
        goto out;
    }
    snprintf(wurl, sizeof wurl, "%s%sadd-checkpoint", witness,
             witness[0] != '\0' && witness[strlen(witness) - 1] == '/' ? "" : "/");
    for (int attempt = 0; attempt < 2; attempt++) {
        arb_hash proof[ARB_AUDIT_WITNESS_MAX_PROOF];
        size_t n = 0, blen = 0;
        char *body;

        if (old > sth.tree_size) {
            fprintf(stderr, "arbor-audit: cosign: the witness cosigned size %llu, larger than the "
                            "log's checkpoint (%llu): the log may have rolled back\n",
                    (unsigned long long)old, (unsigned long long)sth.tree_size);
            goto out;
        }
        if (old > 0 && old < sth.tree_size &&
            arb_audit_get_consistency(cl, &lg, old, sth.tree_size, proof,
                                      ARB_AUDIT_WITNESS_MAX_PROOF, &n, &eb) != ARB_OK) {
            fprintf(stderr, "arbor-audit: cosign: consistency proof %llu -> %llu: %s\n",
                    (unsigned long long)old, (unsigned long long)sth.tree_size, eb.msg);
            goto out;
        }
        if ((body = request_body(old, proof, n, cp, cp_len, &blen)) == NULL)
            goto out;
        free(ans);
        ans = NULL;
        st = 0;
        if (arb_audit_http(cl, wurl, (const uint8_t *)body, blen, "text/plain", &st, &ans,
                           &ans_len, &eb) != ARB_OK) {
            free(body);
            fprintf(stderr, "arbor-audit: cosign: cannot reach the witness: %s\n", eb.msg);
            goto out;
        }
        free(body);
        if (st == 409 && attempt == 0) {
            uint64_t size;
            ans[strcspn((char *)ans, "\n")] = '\0';
            if (!cli_parse_u64((const char *)ans, &size) || size == old)
                break;
            old = size; /* the witness's last cosigned size: prove from there */
            continue;
        }
        break;
    }
    if (st != 200) {
        const char *why = status_meaning(st);
        ans[strcspn((char *)ans, "\n")] = '\0';
        if (json)
            cli_print_json(json_pack("{s:b, s:s, s:s, s:I, s:I, s:s, s:s}", "ok", 0, "witness",
                                     wurl, "origin", lg.origin, "tree_size",
                                     (json_int_t)sth.tree_size, "status", (json_int_t)st,
                                     "error", why, "detail", (const char *)ans));
        fprintf(stderr, "arbor-audit: cosign: the witness refused (HTTP %ld): %s%s%s\n", st, why,
                ans[0] ? ": " : "", (const char *)ans);
        goto out;
    }
    if (json) {
        json_t *a = json_array();
        char *save = NULL;
        for (char *l = strtok_r((char *)ans, "\n", &save); a != NULL && l != NULL;
             l = strtok_r(NULL, "\n", &save))
            json_array_append_new(a, json_string(l));
        cli_print_json(json_pack("{s:b, s:s, s:s, s:I, s:o}", "ok", 1, "witness", wurl, "origin",
                                 lg.origin, "tree_size", (json_int_t)sth.tree_size,
                                 "cosignatures", a));
    } else {
        printf("cosigned %s at size %llu by %s:\n%s", lg.origin,
               (unsigned long long)sth.tree_size, witness, (const char *)ans);
        if (ans_len > 0 && ans[ans_len - 1] != '\n')
            putchar('\n');
    }
    rc = CLI_OK;
out:
    free(key);
    free(cp);
    free(ans);
    arb_audit_log_clear(&lg);
    arb_audit_client_free(cl);
    curl_global_cleanup();
    return rc;
}
