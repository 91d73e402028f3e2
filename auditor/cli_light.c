/* arbor-audit verify-name: a name lookup checked against block headers
 * alone (auditor/lightproof.h), from a file or fetched from a node. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditor/anchored.h"
#include "auditor/cli_util.h"
#include "auditor/client.h"
#include "auditor/lightproof.h"
#include "merkle/buf.h"

/* Largest proof file read (a proof from an old checkpoint carries many headers). */
#define LIGHT_FILE_MAX (64u << 20)

typedef struct {
    const char *network;
    const char *checkpoint;
    const char *headers;
    uint64_t headers_start;
    uint64_t min_height;
    int json;
    /* loaded */
    arb_lightproof_trust t;
    uint8_t *known;
} light_opts;

static void light_free(light_opts *o)
{
    free(o->known);
    o->known = NULL;
}

/* Fills o->t from the options. Prints a message and returns CLI_USAGE /
 * CLI_FAIL on error, CLI_OK otherwise. */
static int light_trust(light_opts *o)
{
    memset(&o->t, 0, sizeof o->t);
    o->t.params = arb_chain_params_get(o->network);
    if (o->t.params == NULL || !o->t.params->has_ledger) {
        fprintf(stderr, "arbor-audit: --network: not main, test or regtest: %s\n", o->network);
        return CLI_USAGE;
    }
    if (o->checkpoint == NULL) {
        fprintf(stderr, "arbor-audit: --checkpoint HASH is missing (a block hash you trust; "
                        "the genesis: --checkpoint genesis)\n");
        return CLI_USAGE;
    }
    if (strcmp(o->checkpoint, "genesis") == 0) {
        arb_chain_genesis_hash(o->t.params, &o->t.checkpoint);
    } else if (strlen(o->checkpoint) != 64 ||
               !arb_chain_hash_from_hex(&o->t.checkpoint, o->checkpoint)) {
        fprintf(stderr, "arbor-audit: --checkpoint: not a block hash: %s\n", o->checkpoint);
        return CLI_USAGE;
    }
    if (o->headers != NULL) {
        size_t len;
        if ((o->known = cli_read_file(o->headers, &len)) == NULL) {
            fprintf(stderr, "arbor-audit: %s: %s\n", o->headers, strerror(errno));
            return CLI_FAIL;
        }
        if (len == 0 || len % ARB_HEADER_SIZE != 0) {
            fprintf(stderr, "arbor-audit: %s: not a file of raw 80-byte headers (%zu bytes)\n",
                    o->headers, len);
            return CLI_FAIL;
        }
        if (o->headers_start > UINT32_MAX || o->headers_start + len / ARB_HEADER_SIZE > UINT32_MAX) {
            fprintf(stderr, "arbor-audit: --headers-start: out of range\n");
            return CLI_USAGE;
        }
        o->t.known = o->known;
        o->t.known_len = len;
        o->t.known_start = (uint32_t)o->headers_start;
    }
    if (o->min_height > UINT32_MAX) {
        fprintf(stderr, "arbor-audit: --min-height: out of range\n");
        return CLI_USAGE;
    }
    o->t.min_height = (uint32_t)o->min_height;
    o->t.now = (int64_t)time(NULL);
    return CLI_OK;
}

/* Parses a JSON document (a lookup answer or a bare proof object). */
static json_t *load_json_text(const char *what, const uint8_t *data, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        fprintf(stderr, "arbor-audit: %s: not JSON: %s (line %d)\n", what, je.text, je.line);
    else if (!json_is_object(j)) {
        fprintf(stderr, "arbor-audit: %s: not a JSON object\n", what);
        json_decref(j);
        j = NULL;
    }
    return j;
}

static json_t *load_json_file(const char *path)
{
    size_t len;
    uint8_t *data = cli_read_file(path, &len);
    json_t *j;
    if (data == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (len > LIGHT_FILE_MAX) {
        fprintf(stderr, "arbor-audit: %s: larger than %u bytes\n", path, LIGHT_FILE_MAX);
        free(data);
        return NULL;
    }
    j = load_json_text(path, data, len);
    free(data);
    return j;
}

/* GET url; the JSON answer for 200 and 404 (a name without a record answers
 * 404 with a proof of absence). */
static json_t *fetch_json(arb_audit_client *cl, const char *url)
{
    long status = 0;
    uint8_t *body = NULL;
    size_t len = 0;
    arb_errbuf eb;
    json_t *j;

    if (arb_audit_http(cl, url, NULL, 0, NULL, &status, &body, &len, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: %s: %s\n", url, eb.msg);
        return NULL;
    }
    if (status != 200 && status != 404) {
        fprintf(stderr, "arbor-audit: %s: HTTP %ld: %.200s\n", url, status, (const char *)body);
        free(body);
        return NULL;
    }
    j = load_json_text(url, body, len);
    free(body);
    return j;
}

static void usage_verify_name(FILE *f)
{
    fprintf(f,
            "usage: arbor-audit verify-name --checkpoint HASH|genesis [--network NET]\n"
            "         [--headers FILE [--headers-start N]] [--min-height N]\n"
            "         [--name FULL] [--namespace-proof FILE] [--json] PROOF.json\n"
            "       arbor-audit verify-name --node URL --name FULL --checkpoint HASH|genesis ...\n");
}

int cli_verify_name(int argc, char **argv, int json)
{
    static const struct option opts[] = {
        {"checkpoint", required_argument, NULL, 'c'},
        {"network", required_argument, NULL, 'n'},
        {"headers", required_argument, NULL, 'H'},
        {"headers-start", required_argument, NULL, 's'},
        {"min-height", required_argument, NULL, 'm'},
        {"name", required_argument, NULL, 'N'},
        {"namespace-proof", required_argument, NULL, 'p'},
        {"node", required_argument, NULL, 'u'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    light_opts o = {.network = "main", .json = json};
    const char *name = NULL, *nsfile = NULL, *node = NULL;
    json_t *answer = NULL, *nsanswer = NULL;
    arb_lightproof *lp = NULL, *nslp = NULL;
    arb_lightproof_result res;
    arb_lp_name_view view;
    arb_sha256 *sha = NULL;
    arb_errbuf eb;
    arb_err err;
    int c, rc = CLI_FAIL;
    char full[ARB_NAMES_FULL_MAX + 1];

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.checkpoint = optarg;
            break;
        case 'n':
            o.network = optarg;
            break;
        case 'H':
            o.headers = optarg;
            break;
        case 's':
        case 'm':
            if (!cli_parse_u64(optarg, c == 's' ? &o.headers_start : &o.min_height)) {
                fprintf(stderr, "arbor-audit: --%s: not a height: %s\n",
                        c == 's' ? "headers-start" : "min-height", optarg);
                return CLI_USAGE;
            }
            break;
        case 'N':
            name = optarg;
            break;
        case 'p':
            nsfile = optarg;
            break;
        case 'u':
            node = optarg;
            break;
        case 'j':
            o.json = 1;
            break;
        case 'h':
            usage_verify_name(stdout);
            printf("Checks a name lookup against block headers alone: the headers from the\n"
                   "checkpoint (linkage, proof of work, the chain's header rules), the\n"
                   "coinbase's inclusion in the tip block, the state root it carries, the\n"
                   "state proof of the name's record (or its absence), and what the record\n"
                   "means at the tip (active, grace, expired, revoked, available). PROOF.json\n"
                   "is the answer of GET /names/v1/name/{full}?proof=1 (or its \"proof\"\n"
                   "object with --name); --namespace-proof the answer of\n"
                   "GET /names/v1/namespace/{id}?proof=1 at the same tip, which decides whether\n"
                   "an imported name is stale. With --node both are fetched. A tip below\n"
                   "--min-height or the last of --headers (raw 80-byte headers, the first at\n"
                   "--headers-start, default 0) is stale. --network: main (default), test,\n"
                   "regtest. Exit 0 when the lookup verifies, 1 when it does not, 2 usage.\n");
            return CLI_OK;
        default:
            usage_verify_name(stderr);
            return CLI_USAGE;
        }
    }
    if ((node == NULL && optind != argc - 1) || (node != NULL && optind != argc)) {
        fprintf(stderr, "arbor-audit: verify-name: %s\n",
                node != NULL ? "give either --node or a PROOF file"
                             : "the PROOF file (a lookup answer) is missing");
        usage_verify_name(stderr);
        return CLI_USAGE;
    }
    if (node != NULL && name == NULL) {
        fprintf(stderr, "arbor-audit: verify-name: --node needs --name FULL\n");
        return CLI_USAGE;
    }
    if ((rc = light_trust(&o)) != CLI_OK)
        goto out;
    rc = CLI_FAIL;
    if (node != NULL) {
        arb_audit_client *cl = NULL;
        char url[1024], cp[65];
        const char *dot = strchr(name, '.');
        size_t nl = strlen(node), name_part = 0;
        arb_chain_hash_hex(cp, &o.t.checkpoint);
        if (!arb_names_full_valid((const uint8_t *)name, strlen(name), &name_part) || dot == NULL) {
            fprintf(stderr, "arbor-audit: --name: not a full name (name.namespace): %s\n", name);
            rc = CLI_USAGE;
            goto out;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (arb_audit_client_new(&cl, 30000) != ARB_OK) {
            fprintf(stderr, "arbor-audit: out of memory\n");
            goto out;
        }
        while (nl > 0 && node[nl - 1] == '/')
            nl--;
        /* Both proofs must speak for one tip: a block found between the
         * two requests makes them disagree, so ask again (a few times). */
        for (int attempt = 0; attempt < 3; attempt++) {
            const json_t *a, *b;
            json_decref(answer);
            json_decref(nsanswer);
            answer = nsanswer = NULL;
            snprintf(url, sizeof url, "%.*s/names/v1/name/%s?proof=1&checkpoint=%s", (int)nl,
                     node, name, cp);
            answer = fetch_json(cl, url);
            snprintf(url, sizeof url, "%.*s/names/v1/namespace/%s?proof=1&checkpoint=%s", (int)nl,
                     node, dot + 1, cp);
            if (answer != NULL)
                nsanswer = fetch_json(cl, url);
            if (answer == NULL || nsanswer == NULL)
                break;
            a = json_object_get(json_object_get(answer, "proof"), "coinbase");
            b = json_object_get(json_object_get(nsanswer, "proof"), "coinbase");
            if (!json_is_string(a) || !json_is_string(b) ||
                strcmp(json_string_value(a), json_string_value(b)) == 0)
                break;
        }
        arb_audit_client_free(cl);
        if (answer == NULL || nsanswer == NULL)
            goto out;
    } else {
        if ((answer = load_json_file(argv[optind])) == NULL)
            goto out;
        if (nsfile != NULL && (nsanswer = load_json_file(nsfile)) == NULL)
            goto out;
    }
    if (name == NULL) {
        const json_t *n = json_object_get(answer, "name");
        if (!json_is_string(n)) {
            fprintf(stderr, "arbor-audit: %s: no \"name\" in the answer; give --name FULL\n",
                    argv[optind]);
            rc = CLI_USAGE;
            goto out;
        }
        name = json_string_value(n);
    }
    if (strlen(name) >= sizeof full) {
        fprintf(stderr, "arbor-audit: not a full name (longer than %d bytes): %.80s\n",
                ARB_NAMES_FULL_MAX, name);
        rc = CLI_FAIL;
        goto out;
    }
    snprintf(full, sizeof full, "%s", name);
    if (arb_lightproof_from_json(&lp, answer, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: %s: %s\n", node ? "the name's answer" : argv[optind], eb.msg);
        goto out;
    }
    if (nsanswer != NULL && arb_lightproof_from_json(&nslp, nsanswer, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: the namespace's proof: %s\n", eb.msg);
        goto out;
    }
    if (arb_sha256_new(&sha) != ARB_OK) {
        fprintf(stderr, "arbor-audit: out of memory\n");
        goto out;
    }
    err = arb_lightproof_verify_name(sha, full, lp, nslp, answer, &o.t,
                                     arb_names_params_get(o.network), &res, &view, &eb);
    if (err != ARB_OK) {
        if (o.json)
            cli_print_json(json_pack("{s:b, s:s, s:s, s:s}", "ok", 0, "name", full, "reason",
                                     res.reason ? res.reason : arb_err_str(err), "detail",
                                     res.detail));
        fprintf(stderr, "arbor-audit: %s: the lookup does not verify: %s\n", full, eb.msg);
        goto out;
    }
    {
        char tip[65], sr[65], owner[65] = "", zh[65] = "";
        const arb_name_rec *r = res.present ? &res.name : NULL;
        arb_chain_hash_hex(tip, &res.tip_hash);
        arb_hex_encode(sr, res.state_root.b, 32);
        if (r != NULL) {
            arb_hex_encode(owner, r->owner, 32);
            if (r->has_zonefile)
                arb_hex_encode(zh, r->zonefile_hash, 32);
        }
        if (o.json) {
            json_t *j = json_pack(
                "{s:b, s:s, s:s, s:b, s:I, s:s, s:s, s:b, s:b, s:b}", "ok", 1, "name", full,
                "status", arb_lp_name_status_str(view.status), "present", res.present, "height",
                (json_int_t)res.tip_height, "block", tip, "state_root", sr, "namespace_checked",
                view.ns_checked, "answer_checked", view.answer_checked, "zonefile_checked",
                view.zonefile_checked);
            if (j != NULL && r != NULL) {
                json_object_set_new(j, "owner", json_string(owner));
                json_object_set_new(j, "zonefile_hash", r->has_zonefile ? json_string(zh)
                                                                        : json_null());
                json_object_set_new(j, "registered_height",
                                    json_integer((json_int_t)r->registered_height));
                json_object_set_new(j, "renewed_height",
                                    json_integer((json_int_t)r->renewed_height));
                json_object_set_new(j, "expires_at",
                                    view.never_expires ? json_null()
                                                       : json_integer((json_int_t)view.expires_at));
                json_object_set_new(j, "grace_ends_at",
                                    view.never_expires
                                        ? json_null()
                                        : json_integer((json_int_t)view.grace_ends_at));
                json_object_set_new(j, "revoked", json_boolean(r->revoked));
                json_object_set_new(j, "imported", json_boolean(r->imported));
            }
            cli_print_json(j);
        } else {
            printf("%s: %s at height %lu (block %s)\n", full,
                   arb_lp_name_status_str(view.status), (unsigned long)res.tip_height, tip);
            if (r != NULL) {
                printf("  owner %s\n  zone-file hash %s\n", owner, r->has_zonefile ? zh : "none");
                if (view.never_expires)
                    printf("  registered at %lu, never expires\n",
                           (unsigned long)r->registered_height);
                else
                    printf("  registered at %lu, renewed at %lu, expires at %llu, grace ends at "
                           "%llu\n",
                           (unsigned long)r->registered_height, (unsigned long)r->renewed_height,
                           (unsigned long long)view.expires_at,
                           (unsigned long long)view.grace_ends_at);
            } else {
                printf("  no record: the state proves the name absent\n");
            }
            if (!view.ns_checked && r != NULL)
                printf("  note: the namespace was not proved, so staleness (an import under a "
                       "lapsed reveal) is not decided; give --namespace-proof\n");
        }
    }
    rc = CLI_OK;
out:
    arb_sha256_free(sha);
    arb_lightproof_free(lp);
    arb_lightproof_free(nslp);
    json_decref(answer);
    json_decref(nsanswer);
    light_free(&o);
    return rc;
}

int cli_verify_anchored(int argc, char **argv, int json)
{
    static const struct option opts[] = {
        {"checkpoint", required_argument, NULL, 'c'},
        {"headers", required_argument, NULL, 'H'},
        {"headers-start", required_argument, NULL, 's'},
        {"min-height", required_argument, NULL, 'm'},
        {"leaf-hash", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    light_opts o = {.json = json};
    const char *leaf = NULL;
    arb_hash leaf_hash;
    uint8_t *data = NULL;
    size_t len;
    arb_sha256 *sha = NULL;
    arb_audit_anchored_result res;
    arb_errbuf eb;
    arb_err err;
    int c, rc = CLI_FAIL;
    json_t *doc;
    const char *net;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.checkpoint = optarg;
            break;
        case 'H':
            o.headers = optarg;
            break;
        case 's':
        case 'm':
            if (!cli_parse_u64(optarg, c == 's' ? &o.headers_start : &o.min_height)) {
                fprintf(stderr, "arbor-audit: --%s: not a height: %s\n",
                        c == 's' ? "headers-start" : "min-height", optarg);
                return CLI_USAGE;
            }
            break;
        case 'l':
            leaf = optarg;
            break;
        case 'j':
            o.json = 1;
            break;
        case 'h':
            printf("usage: arbor-audit verify-anchored --checkpoint HASH|genesis [--headers FILE\n"
                   "         [--headers-start N]] [--min-height N] [--leaf-hash HEX] [--json] FILE\n"
                   "Checks an anchored inclusion proof (check-sct --anchored --out) with no\n"
                   "network: the entry's inclusion in the log's head that the chain anchored,\n"
                   "the anchor transaction carrying the log-signed head in its block, the\n"
                   "chain's state holding it as the log's latest anchored head, and the headers\n"
                   "from the checkpoint. --leaf-hash: the entry's leaf hash you expect.\n"
                   "Exit 0 when it verifies, 1 when it does not, 2 usage.\n");
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: arbor-audit verify-anchored --checkpoint HASH|genesis [--json] "
                        "FILE\n");
        return CLI_USAGE;
    }
    if (leaf != NULL && (strlen(leaf) != 64 || !arb_hex_decode(leaf_hash.b, 32, leaf, 64))) {
        fprintf(stderr, "arbor-audit: --leaf-hash: not 32 bytes of hex\n");
        return CLI_USAGE;
    }
    if ((data = cli_read_file(argv[optind], &len)) == NULL) {
        fprintf(stderr, "arbor-audit: %s: %s\n", argv[optind], strerror(errno));
        return CLI_FAIL;
    }
    /* The network comes from the document; the trust is checked under it. */
    doc = json_loadb((const char *)data, len, 0, NULL);
    net = doc && json_is_string(json_object_get(doc, "network"))
              ? json_string_value(json_object_get(doc, "network"))
              : "main";
    o.network = arb_chain_params_get(net) ? net : "main";
    rc = light_trust(&o);
    json_decref(doc);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_FAIL;
    if (arb_sha256_new(&sha) != ARB_OK)
        goto out;
    err = arb_audit_anchored_check(sha, (const char *)data, len, &o.t, leaf ? &leaf_hash : NULL,
                                   &res, &eb);
    if (err != ARB_OK) {
        if (o.json)
            cli_print_json(json_pack("{s:b, s:s, s:s}", "ok", 0, "reason",
                                     res.reason ? res.reason : arb_err_str(err), "detail",
                                     res.detail));
        fprintf(stderr, "arbor-audit: %s: does not verify: %s\n", argv[optind], eb.msg);
        goto out;
    }
    {
        char lh[65], root[65];
        arb_hex_encode(lh, res.leaf_hash.b, 32);
        arb_hex_encode(root, res.head.root, 32);
        if (o.json)
            cli_print_json(json_pack("{s:b, s:s, s:I, s:I, s:s, s:I, s:I, s:I}", "ok", 1,
                                     "leaf_hash", lh, "leaf_index", (json_int_t)res.leaf_index,
                                     "tree_size", (json_int_t)res.head.tree_size, "root", root,
                                     "timestamp", (json_int_t)res.head.timestamp,
                                     "anchor_height", (json_int_t)res.head.height, "tip_height",
                                     (json_int_t)res.tip_height));
        else
            printf("anchored: leaf %llu (hash %s) is in the log's head of size %llu anchored at "
                   "height %lu; the chain's tip %lu holds it as the log's latest anchored head\n",
                   (unsigned long long)res.leaf_index, lh,
                   (unsigned long long)res.head.tree_size, (unsigned long)res.head.height,
                   (unsigned long)res.tip_height);
    }
    rc = CLI_OK;
out:
    arb_sha256_free(sha);
    free(data);
    light_free(&o);
    return rc;
}
