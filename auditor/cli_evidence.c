/* arbor-audit verify-evidence FILE and verify-sth --key PEM FILE. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditor/cli_util.h"
#include "auditor/evidence.h"
#include "auditor/sth.h"
#include "ledger/chain/header.h"
#include "merkle/buf.h"

int cli_verify_evidence(int argc, char **argv, int json)
{
    static const struct option opts[] = {{"checkpoint", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    uint8_t *data;
    size_t len;
    arb_audit_ev_result res;
    arb_audit_ev_trust trust = {NULL, (int64_t)time(NULL)};
    arb_hash cp;
    arb_errbuf eb;
    arb_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (strlen(optarg) != 64 || !arb_chain_hash_from_hex(&cp, optarg)) {
                fprintf(stderr, "arbor-audit: --checkpoint: not a block hash: %s\n", optarg);
                return CLI_USAGE;
            }
            trust.checkpoint = &cp;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            printf("usage: arbor-audit verify-evidence [--checkpoint HASH] [--json] FILE\n"
                   "Re-checks a misbehaviour report offline: both tree heads must be validly\n"
                   "signed by the log key in the report, and together prove misbehaviour.\n"
                   "An anchored-split-view report also carries the chain's proof that one\n"
                   "head is anchored (the anchor transaction, its inclusion in its block, the\n"
                   "headers); it is checked from --checkpoint (a block you trust), or else from\n"
                   "the proof's own checkpoint, which the output names.\n"
                   "Exit 0 when the report proves misbehaviour, 1 when it does not.\n");
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: arbor-audit verify-evidence [--checkpoint HASH] [--json] FILE\n");
        return CLI_USAGE;
    }
    data = cli_read_file(argv[optind], &len);
    if (data == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", argv[optind], strerror(errno));
        return CLI_FAIL;
    }
    err = arb_audit_evidence_check_trust(&res, (const char *)data, len, NULL, &trust, &eb);
    free(data);
    {
        char *id = arb_base64_encode(res.log_id, 32);
        char cph[65];
        int anchored = res.kind == ARB_AUDIT_EV_ANCHORED && err == ARB_OK;
        arb_chain_hash_hex(cph, &res.checkpoint);
        if (json) {
            json_t *o = json_pack("{s:b, s:s, s:s, s:s}", "proves_misbehaviour", err == ARB_OK,
                                  "kind", res.kind ? arb_audit_ev_kind_name(res.kind) : "",
                                  "log_id", id ? id : "", "reason", res.reason);
            if (o != NULL && anchored) {
                json_object_set_new(o, "relation",
                                    json_string(arb_audit_ev_kind_name(res.relation)));
                json_object_set_new(o, "anchor_height",
                                    json_integer((json_int_t)res.anchor_height));
                json_object_set_new(o, "checkpoint", json_string(cph));
            }
            cli_print_json(o);
        } else if (err == ARB_OK) {
            printf("misbehaviour proven (%s) by log %s: %s\n", arb_audit_ev_kind_name(res.kind),
                   id ? id : "?", res.reason);
            if (anchored)
                printf("  the anchored head is proved from checkpoint %s%s\n", cph,
                       trust.checkpoint ? " (given)" : " (the report's own: check it is a "
                                                       "block of your chain)");
        }
        free(id);
    }
    if (err != ARB_OK) {
        fprintf(stderr, "arbor-audit: %s: does not prove misbehaviour: %s\n", argv[optind],
                res.reason);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_verify_sth(int argc, char **argv, int json)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *keyfile = NULL;
    int c, rc = CLI_FAIL;
    uint8_t *pem = NULL, *data = NULL;
    size_t pem_len, len;
    arb_ct_verifier *v = NULL;
    arb_audit_sth sth;
    arb_errbuf eb;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            printf("usage: arbor-audit verify-sth --key PEM [--json] FILE\n"
                   "Checks a get-sth JSON tree head against the log's public key.\n");
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if (keyfile == NULL || optind != argc - 1) {
        fprintf(stderr, "arbor-audit: verify-sth: %s\n",
                keyfile == NULL ? "--key PEM is missing (the log's public key or key file)"
                : optind >= argc ? "the get-sth answer FILE is missing"
                                 : "give one FILE");
        fprintf(stderr, "usage: arbor-audit verify-sth --key PEM [--json] FILE\n");
        return CLI_USAGE;
    }
    if ((pem = cli_read_key(keyfile, &pem_len)) == NULL)
        goto out;
    if ((data = cli_read_file(argv[optind], &len)) == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", argv[optind], strerror(errno));
        goto out;
    }
    if (arb_ct_verifier_from_pem(&v, (const char *)pem, pem_len, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: %s: %s\n", keyfile, eb.msg);
        goto out;
    }
    if (arb_audit_sth_parse(&sth, (const char *)data, len, &eb) != ARB_OK ||
        arb_audit_sth_verify(v, &sth, &eb) != ARB_OK) {
        if (json)
            cli_print_json(json_pack("{s:b, s:s}", "ok", 0, "error", eb.msg));
        fprintf(stderr, "arbor-audit: %s: %s\n", argv[optind], eb.msg);
        goto out;
    }
    if (json)
        cli_print_json(json_pack("{s:b, s:I, s:I}", "ok", 1, "tree_size",
                                 (json_int_t)sth.tree_size, "timestamp",
                                 (json_int_t)sth.timestamp));
    else
        printf("ok: tree head of size %llu at %llu ms verifies\n",
               (unsigned long long)sth.tree_size, (unsigned long long)sth.timestamp);
    rc = CLI_OK;
out:
    free(pem);
    free(data);
    arb_ct_verifier_free(v);
    return rc;
}
