/* arbor-audit follow: the monitor / auditor loop, with gossip. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auditor/cli_util.h"
#include "ledger/chain/header.h"
#include "ledger/chain/params.h"
#include "auditor/client.h"
#include "auditor/follow.h"
#include "auditor/gossip.h"
#include "ledger/api/http.h"
#include "merkle/buf.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* The last "verified" line printed for a log, so that a round that verifies
 * nothing new prints nothing. */
typedef struct {
    const arb_audit_log *log;
    uint64_t size;
    uint8_t root[32];
} last_verified;

typedef struct {
    int json;
    int tty;
    const char *exec_cmd;
    size_t misbehaviour;
    last_verified *lv;
    size_t nlv;
    /* progress */
    uint64_t prog_start_ms, prog_start_done;
    int prog_shown;
} out_ctx;

/* Roots print in base64, as the log's own get-sth and checkpoint show them. */
static void b64root(char out[45], const arb_audit_sth *s)
{
    char *b = arb_base64_encode(s->root.b, 32);
    snprintf(out, 45, "%s", b != NULL ? b : "");
    free(b);
}

/* 1 when (log, sth) differs from the last verified head printed for log. */
static int verified_is_new(out_ctx *o, const arb_audit_log *log, const arb_audit_sth *sth)
{
    size_t i;

    for (i = 0; i < o->nlv; i++)
        if (o->lv[i].log == log)
            break;
    if (i == o->nlv) {
        last_verified *n = realloc(o->lv, (o->nlv + 1) * sizeof(*n));
        if (n == NULL)
            return 1;
        o->lv = n;
        memset(&n[i], 0, sizeof(n[i]));
        n[i].log = log;
        n[i].size = UINT64_MAX;
        o->nlv++;
    }
    if (o->lv[i].size == sth->tree_size && memcmp(o->lv[i].root, sth->root.b, 32) == 0)
        return 0;
    o->lv[i].size = sth->tree_size;
    memcpy(o->lv[i].root, sth->root.b, 32);
    return 1;
}

static void run_exec(const char *cmd, const arb_audit_event *ev)
{
    pid_t pid;
    char idx[32];
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        snprintf(idx, sizeof idx, "%llu", (unsigned long long)ev->index);
        setenv("ARB_LOG_URL", ev->log->url, 1);
        setenv("ARB_ENTRY_INDEX", idx, 1);
        setenv("ARB_MATCH_NAME", ev->name, 1);
        setenv("ARB_WATCH", ev->watch, 1);
        setenv("ARB_CERT_SUBJECT", ev->cert->subject, 1);
        setenv("ARB_PRECERT", ev->precert ? "1" : "0", 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    } else if (pid > 0) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
}

static void clear_progress(out_ctx *o)
{
    if (o->prog_shown) {
        fprintf(stderr, "\r\033[K");
        o->prog_shown = 0;
    }
}

static void on_event(void *ud, const arb_audit_event *ev)
{
    out_ctx *o = ud;
    char root[45];
    const char *url = ev->log ? ev->log->url : "";

    switch (ev->type) {
    case ARB_AUDIT_EVENT_HEAD:
        b64root(root, ev->sth);
        if (o->json)
            cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:s}", "event", "head", "log", url,
                                     "tree_size", (json_int_t)ev->sth->tree_size, "timestamp",
                                     (json_int_t)ev->sth->timestamp, "root", root));
        else {
            clear_progress(o);
            printf("head %s size %llu timestamp %llu root %s\n", url,
                   (unsigned long long)ev->sth->tree_size, (unsigned long long)ev->sth->timestamp,
                   root);
            fflush(stdout);
        }
        break;
    case ARB_AUDIT_EVENT_MATCH: {
        if (o->json) {
            json_t *names = json_array();
            for (size_t i = 0; i < ev->cert->n; i++)
                json_array_append_new(names, json_string(ev->cert->names[i]));
            cli_print_json(json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:s, s:o}", "event", "match",
                                     "log", url, "index", (json_int_t)ev->index, "name", ev->name,
                                     "watch", ev->watch, "precert", ev->precert, "subject",
                                     ev->cert->subject, "names", names));
        } else {
            clear_progress(o);
            printf("match %s entry %llu %s (watch %s) %s %s\n", url,
                   (unsigned long long)ev->index, ev->name, ev->watch,
                   ev->precert ? "precert" : "cert", ev->cert->subject);
            fflush(stdout);
        }
        if (o->exec_cmd)
            run_exec(o->exec_cmd, ev);
        break;
    }
    case ARB_AUDIT_EVENT_PROBLEM:
        if (o->json)
            cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "event", "problem", "log", url,
                                     "problem", ev->problem, "detail", ev->detail));
        else {
            clear_progress(o);
            printf("problem %s %s: %s\n", url, ev->problem, ev->detail);
            fflush(stdout);
        }
        break;
    case ARB_AUDIT_EVENT_MISBEHAVIOUR:
        o->misbehaviour++;
        if (o->json)
            cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s?, s:b, s:O?}", "event",
                                     "misbehaviour", "log", url, "kind", ev->problem, "detail",
                                     ev->detail ? ev->detail : "", "evidence_file",
                                     ev->evidence_path, "repeated", ev->repeated, "evidence",
                                     ev->evidence));
        else {
            clear_progress(o);
            printf("MISBEHAVIOUR %s %s: %s; evidence: %s%s\n", url, ev->problem,
                   ev->detail ? ev->detail : "",
                   ev->evidence_path ? ev->evidence_path : "(could not be written)",
                   ev->repeated ? " (reported before)" : "");
            fflush(stdout);
        }
        break;
    case ARB_AUDIT_EVENT_ANCHORED:
        b64root(root, ev->sth);
        if (o->json)
            cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:s, s:I}", "event", "anchored", "log",
                                     url, "tree_size", (json_int_t)ev->sth->tree_size,
                                     "timestamp", (json_int_t)ev->sth->timestamp, "root", root,
                                     "height", (json_int_t)ev->index));
        else {
            clear_progress(o);
            printf("anchored %s size %llu root %s at height %llu: consistent with the served "
                   "head\n",
                   url, (unsigned long long)ev->sth->tree_size, root,
                   (unsigned long long)ev->index);
            fflush(stdout);
        }
        break;
    case ARB_AUDIT_EVENT_VERIFIED:
        if (!verified_is_new(o, ev->log, ev->sth))
            break;
        b64root(root, ev->sth);
        if (o->json)
            cli_print_json(json_pack("{s:s, s:s, s:I, s:s}", "event", "verified", "log", url,
                                     "tree_size", (json_int_t)ev->sth->tree_size, "root", root));
        else {
            clear_progress(o);
            printf("verified %s size %llu root %s\n", url, (unsigned long long)ev->sth->tree_size,
                   root);
            fflush(stdout);
        }
        break;
    case ARB_AUDIT_EVENT_PROGRESS: {
        uint64_t t = cli_now_ms();
        double rate, eta;
        if (o->json || !o->tty)
            break;
        if (o->prog_start_ms == 0 || ev->done < o->prog_start_done) {
            o->prog_start_ms = t;
            o->prog_start_done = ev->done;
        }
        rate = t > o->prog_start_ms
                   ? (double)(ev->done - o->prog_start_done) * 1000.0 / (double)(t - o->prog_start_ms)
                   : 0.0;
        eta = rate > 0 ? (double)(ev->total - ev->done) / rate : 0.0;
        /* A rate needs a second sample; until then, and at the end, only the
         * count. */
        if (rate > 0 && ev->done < ev->total)
            fprintf(stderr, "\r\033[K%s: %llu/%llu entries verified, %.0f entries/s, ETA %.0f s",
                    url, (unsigned long long)ev->done, (unsigned long long)ev->total, rate,
                    eta < 1 ? 1 : eta);
        else
            fprintf(stderr, "\r\033[K%s: %llu/%llu entries verified", url,
                    (unsigned long long)ev->done, (unsigned long long)ev->total);
        o->prog_shown = 1;
        if (ev->done == ev->total) {
            clear_progress(o);
            o->prog_start_ms = 0;
        }
        break;
    }
    }
}

/* ---- gossip ---- */

static void gossip_heads(void *ud, arb_http_req *req)
{
    arb_audit_follower *f = ud;
    json_t *o = arb_audit_follower_heads_json(f);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (body == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, 200, "application/json", NULL, body, strlen(body));
    free(body);
}

/* POST /gossip/v1/heads: heads another auditor pushes, checked like pulled
 * ones; refusals are counted in /metrics as arbor_gossip_push_<kind>_total. */
static void gossip_push_in(void *ud, arb_http_req *req)
{
    arb_audit_follower *f = ud;
    size_t len = 0;
    const uint8_t *body = arb_http_req_body(req, &len);
    char source[128], metric[64];
    const char *kind = "malformed";
    json_t *ans = NULL;
    char *text;
    int st;

    snprintf(source, sizeof source, "push from %s", arb_http_req_peer(req));
    st = arb_audit_gossip_receive(f, body, len, source, &ans, &kind);
    snprintf(metric, sizeof metric, "gossip_push_%s", kind);
    arb_http_metric_add(arb_http_req_server(req), metric, 1);
    text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
    json_decref(ans);
    if (text == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, st, "application/json", NULL, text, strlen(text));
    free(text);
}

/* The checkpoint origin of a tiled log given by --log: the first line of
 * its /checkpoint (its signature is checked against --key by every round),
 * or --origin, which must then match it. Returns 1, or 0 after a message
 * that says what mismatched. */
static int settle_origin(arb_audit_client *c, arb_audit_log *log, const char *given)
{
    char url[2200], *origin;
    uint8_t *body = NULL;
    size_t len = 0, n;
    long status = 0;
    arb_errbuf eb;

    snprintf(url, sizeof url, "%scheckpoint", log->url);
    if (arb_audit_http(c, url, NULL, 0, NULL, &status, &body, &len, &eb) != ARB_OK ||
        status != 200) {
        if (status != 0)
            snprintf(eb.msg, sizeof eb.msg, "HTTP status %ld", status);
        free(body);
        if (given != NULL)
            return 1; /* followed (and reported) by the rounds */
        fprintf(stderr, "arbor-audit: cannot read %s to learn the log's origin: %s (give "
                        "--origin, or check --log)\n", url, eb.msg);
        return 0;
    }
    n = 0;
    while (n < len && n < 256 && body[n] > 0x20 && body[n] < 0x7f)
        n++;
    if (n == 0 || n >= len || body[n] != '\n') {
        free(body);
        fprintf(stderr, "arbor-audit: %s is not a checkpoint (its first line must be the log's "
                        "origin)\n", url);
        return 0;
    }
    body[n] = '\0';
    if (given != NULL && strcmp(given, (const char *)body) != 0) {
        fprintf(stderr, "arbor-audit: origin mismatch: the log's checkpoint at %s names origin "
                        "\"%s\", but --origin is \"%s\"; drop --origin to take the log's\n",
                url, (const char *)body, given);
        free(body);
        return 0;
    }
    if ((origin = strdup((const char *)body)) == NULL) {
        free(body);
        return 0;
    }
    free(body);
    free(log->origin);
    log->origin = origin;
    return 1;
}

/* ---- the command ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: arbor-audit follow (--log URL --key PEM [--tiled [--origin O]] | --log-list FILE)\n"
            "         --state DIR [--download [--no-issuer-check]] [--watch DOMAIN]... [--exec CMD]\n"
            "         [--gossip-listen HOST:PORT] [--gossip-peer URL]... [--gossip-push URL]...\n"
            "         [--evidence-dir DIR] [--chain URL --checkpoint HASH|genesis [--network NET]]\n"
            "         [--interval SECONDS] [--once | --rounds N] [--json]\n");
}

int cli_follow(int argc, char **argv, int json)
{
    enum { O_LOG = 256, O_KEY, O_LIST, O_STATE, O_DL, O_WATCH, O_EXEC, O_GL, O_GP, O_EVD, O_INT,
           O_ONCE, O_ROUNDS, O_JSON, O_HELP, O_TILED, O_MMD, O_ORIGIN, O_GPUSH, O_NOISS,
           O_CHAIN, O_CP, O_NET };
    static const struct option opts[] = {
        {"log", required_argument, NULL, O_LOG},
        {"key", required_argument, NULL, O_KEY},
        {"tiled", no_argument, NULL, O_TILED},
        {"origin", required_argument, NULL, O_ORIGIN},
        {"mmd", required_argument, NULL, O_MMD},
        {"log-list", required_argument, NULL, O_LIST},
        {"state", required_argument, NULL, O_STATE},
        {"download", no_argument, NULL, O_DL},
        {"no-issuer-check", no_argument, NULL, O_NOISS},
        {"watch", required_argument, NULL, O_WATCH},
        {"exec", required_argument, NULL, O_EXEC},
        {"gossip-listen", required_argument, NULL, O_GL},
        {"gossip-peer", required_argument, NULL, O_GP},
        {"gossip-push", required_argument, NULL, O_GPUSH},
        {"evidence-dir", required_argument, NULL, O_EVD},
        {"interval", required_argument, NULL, O_INT},
        {"once", no_argument, NULL, O_ONCE},
        {"rounds", required_argument, NULL, O_ROUNDS},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},
        {"chain", required_argument, NULL, O_CHAIN},
        {"checkpoint", required_argument, NULL, O_CP},
        {"network", required_argument, NULL, O_NET},
        {NULL, 0, NULL, 0},
    };
    const char *checkpoint = NULL;
    const char *log_url = NULL, *key_file = NULL, *list_file = NULL, *gossip_listen = NULL;
    const char *origin = NULL;
    const char *watch[256], *peers[64], *pushes[64];
    size_t nwatch = 0, npeers = 0, npushes = 0, total_problems = 0;
    uint64_t interval = 60, rounds = 0, mmd = 86400;
    int tiled = 0, c, rc = CLI_FAIL;
    arb_audit_follow_cfg cfg;
    arb_audit_loglist logs = {NULL, 0};
    arb_audit_follower *f = NULL;
    arb_http_server *srv = NULL;
    arb_audit_client *gc = NULL;
    out_ctx o;
    arb_errbuf eb;
    uint8_t *data = NULL;
    size_t len;
    char host[256];
    int port = 0;

    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_LOG: log_url = optarg; break;
        case O_KEY: key_file = optarg; break;
        case O_TILED: tiled = 1; break;
        case O_ORIGIN: origin = optarg; tiled = 1; break;
        case O_LIST: list_file = optarg; break;
        case O_STATE: cfg.state_dir = optarg; break;
        case O_DL: cfg.download = 1; break;
        case O_NOISS: cfg.no_issuer_check = 1; break;
        case O_EXEC: o.exec_cmd = optarg; break;
        case O_GL: gossip_listen = optarg; break;
        case O_EVD: cfg.evidence_dir = optarg; break;
        case O_ONCE: rounds = 1; break;
        case O_CHAIN: cfg.chain_url = optarg; break;
        case O_CP: checkpoint = optarg; break;
        case O_NET: cfg.chain_network = optarg; break;
        case O_JSON: json = 1; break;
        case O_WATCH:
            if (nwatch == sizeof watch / sizeof watch[0]) {
                fprintf(stderr, "arbor-audit: too many --watch\n");
                return CLI_USAGE;
            }
            watch[nwatch++] = optarg;
            break;
        case O_GP:
            if (npeers == sizeof peers / sizeof peers[0]) {
                fprintf(stderr, "arbor-audit: too many --gossip-peer\n");
                return CLI_USAGE;
            }
            peers[npeers++] = optarg;
            break;
        case O_GPUSH:
            if (npushes == sizeof pushes / sizeof pushes[0]) {
                fprintf(stderr, "arbor-audit: too many --gossip-push\n");
                return CLI_USAGE;
            }
            pushes[npushes++] = optarg;
            break;
        case O_INT:
        case O_ROUNDS:
        case O_MMD: {
            uint64_t v;
            if (!cli_parse_u64(optarg, &v) || (c == O_INT && v == 0)) {
                fprintf(stderr, "arbor-audit: not a valid number: %s\n", optarg);
                return CLI_USAGE;
            }
            if (c == O_INT)
                interval = v;
            else if (c == O_ROUNDS)
                rounds = v;
            else
                mmd = v;
            break;
        }
        case O_HELP:
            usage(stdout);
            printf("Follows logs: verifies each tree head's signature, that time never goes\n"
                   "back, and a consistency proof from the last verified head; with --download\n"
                   "fetches every entry (--watch implies it) and reports certificates for\n"
                   "watched domains. --tiled reads the static-ct-api tiles; the origin comes\n"
                   "from the log's checkpoint (--origin, if given, must match it). --key takes\n"
                   "the log's public key or its private key file (the public part is used). Heads\n"
                   "that prove misbehaviour are written as reports to the evidence directory.\n"
                   "Gossip: --gossip-listen serves GET (pull) and POST (push) /gossip/v1/heads;\n"
                   "--gossip-peer pulls a peer's heads, --gossip-push sends this auditor's\n"
                   "verified heads to a peer, each round.\n"
                   "--chain URL --checkpoint HASH|genesis [--network NET] checks every served\n"
                   "head against the log's latest head anchored on that chain (its proof\n"
                   "verified from the checkpoint, headers alone; --network main (default), test\n"
                   "or regtest): a conflict is an anchored-split-view report.\n"
                   "Exit (with --once / --rounds): 0 no problem seen, 1 otherwise.\n");
            return CLI_OK;
        default:
            usage(stderr);
            return CLI_USAGE;
        }
    }
    {
        const char *why = optind != argc            ? "unexpected argument"
                          : log_url && list_file    ? "give either --log URL or --log-list FILE"
                          : !log_url && !list_file  ? "--log URL (with --key) or --log-list FILE "
                                                      "is missing"
                          : log_url && !key_file    ? "--key PEM is missing (the log's public "
                                                      "key, or its key file)"
                          : cfg.state_dir == NULL   ? "--state DIR is missing (where the auditor "
                                                      "keeps what it verified)"
                          : (cfg.chain_url != NULL) != (checkpoint != NULL)
                              ? "--chain URL and --checkpoint HASH go together"
                                                    : NULL;
        if (why != NULL) {
            fprintf(stderr, "arbor-audit: follow: %s%s%s\n", why, optind != argc ? " " : "",
                    optind != argc ? argv[optind] : "");
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (cfg.chain_url != NULL) {
        if (cfg.chain_network == NULL)
            cfg.chain_network = "main";
        cfg.chain_params = arb_chain_params_get(cfg.chain_network);
        if (cfg.chain_params == NULL || !cfg.chain_params->has_ledger) {
            fprintf(stderr, "arbor-audit: --network: not main, test or regtest: %s\n",
                    cfg.chain_network);
            return CLI_USAGE;
        }
        if (strcmp(checkpoint, "genesis") == 0)
            arb_chain_genesis_hash(cfg.chain_params, &cfg.chain_checkpoint);
        else if (strlen(checkpoint) != 64 ||
                 !arb_chain_hash_from_hex(&cfg.chain_checkpoint, checkpoint)) {
            fprintf(stderr, "arbor-audit: --checkpoint: not a block hash: %s\n", checkpoint);
            return CLI_USAGE;
        }
    }
    if (nwatch > 0 && !cfg.download) {
        /* Watching means reading every entry. */
        cfg.download = 1;
        if (!json)
            fprintf(stderr, "arbor-audit: --watch reads every entry: downloading them "
                            "(--download)\n");
    }
    if (gossip_listen) {
        const char *colon = strrchr(gossip_listen, ':');
        uint64_t p;
        if (colon == NULL || (size_t)(colon - gossip_listen) >= sizeof host ||
            !cli_parse_u64(colon + 1, &p) || p > 65535) {
            fprintf(stderr, "arbor-audit: --gossip-listen wants HOST:PORT\n");
            return CLI_USAGE;
        }
        memcpy(host, gossip_listen, (size_t)(colon - gossip_listen));
        host[colon - gossip_listen] = '\0';
        port = (int)p;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (list_file) {
        if ((data = cli_read_file(list_file, &len)) == NULL) {
            fprintf(stderr, "arbor-audit: %s: %s\n", list_file, strerror(errno));
            goto out;
        }
        if (arb_audit_loglist_parse(&logs, (const char *)data, len, &eb) != ARB_OK) {
            fprintf(stderr, "arbor-audit: %s: %s\n", list_file, eb.msg);
            goto out;
        }
    } else {
        if ((data = cli_read_key(key_file, &len)) == NULL)
            goto out;
        logs.logs = calloc(1, sizeof *logs.logs);
        if (logs.logs == NULL ||
            arb_audit_log_from_key(&logs.logs[0], log_url, tiled, data, len, mmd, &eb) != ARB_OK) {
            fprintf(stderr, "arbor-audit: %s\n", logs.logs ? eb.msg : "out of memory");
            goto out;
        }
        logs.n = 1;
        if (origin) {
            char *d = strdup(origin);
            if (d == NULL)
                goto out;
            free(logs.logs[0].origin);
            logs.logs[0].origin = d;
        }
    }
    if (arb_audit_client_new(&gc, 30000) != ARB_OK)
        goto out;
    if (log_url != NULL && tiled && !settle_origin(gc, &logs.logs[0], origin))
        goto out;
    /* A list's tiled logs keep the list's origin; say at once when a log's
     * checkpoint names another, since every head will then fail its check. */
    for (size_t i = 0; list_file != NULL && i < logs.n; i++) {
        char url[2200];
        uint8_t *body = NULL;
        size_t blen = 0, n;
        long st = 0;
        if (!logs.logs[i].tiled)
            continue;
        snprintf(url, sizeof url, "%scheckpoint", logs.logs[i].url);
        if (arb_audit_http(gc, url, NULL, 0, NULL, &st, &body, &blen, &eb) == ARB_OK &&
            st == 200) {
            n = strcspn((const char *)body, "\n");
            if (n < blen && (strlen(logs.logs[i].origin) != n ||
                             memcmp(logs.logs[i].origin, body, n) != 0))
                fprintf(stderr, "arbor-audit: %s: the checkpoint names origin \"%.*s\", but "
                                "the log list gives \"%s\" (its submission URL): every head "
                                "will fail its signature check until they agree\n",
                        logs.logs[i].url, (int)(n > 255 ? 255 : n), (const char *)body,
                        logs.logs[i].origin);
        }
        free(body);
    }
    o.json = json;
    o.tty = isatty(STDERR_FILENO);
    cfg.watch = watch;
    cfg.nwatch = nwatch;
    cfg.on_event = on_event;
    cfg.ud = &o;
    if (arb_audit_follower_new(&f, &logs, &cfg, &eb) != ARB_OK) {
        fprintf(stderr, "arbor-audit: %s\n", eb.msg);
        goto out;
    }
    if (gossip_listen) {
        arb_http_config hc;
        memset(&hc, 0, sizeof hc);
        hc.listen_host = host;
        hc.port = port;
        hc.workers = 2;
        if (arb_http_server_new(&srv, &hc) != ARB_OK ||
            arb_http_route_add(srv, ARB_HTTP_GET, "/gossip/v1/heads", 0, gossip_heads, f) !=
                ARB_OK ||
            arb_http_route_add(srv, ARB_HTTP_POST, "/gossip/v1/heads", ARB_AUDIT_GOSSIP_MAX_BODY,
                               gossip_push_in, f) != ARB_OK ||
            arb_http_server_start(srv, &eb) != ARB_OK) {
            fprintf(stderr, "arbor-audit: gossip: %s (choose another --gossip-listen)\n", eb.msg);
            goto out;
        }
        fprintf(stderr, "arbor-audit: gossip listening on %s:%d\n", host,
                arb_http_server_port(srv));
    }
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
    }
    /* The start line: what is followed, how often, and where the state is. */
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < logs.n; i++)
            json_array_append_new(a, json_pack("{s:s, s:s, s:s?}", "log", logs.logs[i].url, "api",
                                               logs.logs[i].tiled ? "tiles" : "rfc6962",
                                               "origin", logs.logs[i].tiled ? logs.logs[i].origin
                                                                           : NULL));
        cli_print_json(json_pack("{s:s, s:o, s:I, s:I, s:s, s:b, s:I}", "event", "start", "logs",
                                 a, "interval", (json_int_t)interval, "rounds",
                                 (json_int_t)rounds, "state", cfg.state_dir, "download",
                                 cfg.download, "watch", (json_int_t)nwatch));
    } else {
        for (size_t i = 0; i < logs.n; i++)
            printf("following %s (%s%s%s)%s\n", logs.logs[i].url,
                   logs.logs[i].tiled ? "tiles, origin " : "RFC 6962 API",
                   logs.logs[i].tiled ? logs.logs[i].origin : "", "",
                   cfg.download ? ", downloading entries" : "");
        if (rounds == 1)
            printf("one round; state in %s\n", cfg.state_dir);
        else if (rounds > 1)
            printf("%llu rounds, every %llu s; state in %s\n", (unsigned long long)rounds,
                   (unsigned long long)interval, cfg.state_dir);
        else
            printf("every %llu s until interrupted; state in %s\n",
                   (unsigned long long)interval, cfg.state_dir);
        fflush(stdout);
    }
    for (uint64_t r = 0; !stop_flag && (rounds == 0 || r < rounds); r++) {
        size_t problems = 0;
        if (arb_audit_follower_poll(f, &problems) != ARB_OK) {
            fprintf(stderr, "arbor-audit: the auditor's state cannot be written; stopping\n");
            goto out;
        }
        total_problems += problems;
        for (size_t i = 0; i < npeers && !stop_flag; i++)
            total_problems += arb_audit_gossip_pull(f, gc, peers[i]);
        for (size_t i = 0; i < npushes && !stop_flag; i++)
            total_problems += arb_audit_gossip_push(f, gc, pushes[i]);
        if (rounds != 0 && r + 1 >= rounds)
            break;
        for (uint64_t t = 0; t < interval * 10 && !stop_flag; t++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    clear_progress(&o);
    rc = (total_problems || o.misbehaviour) ? CLI_FAIL : CLI_OK;
out:
    if (srv) {
        arb_http_server_stop(srv);
        arb_http_server_free(srv);
    }
    arb_audit_client_free(gc);
    arb_audit_follower_free(f);
    arb_audit_loglist_free(&logs);
    free(o.lv);
    free(data);
    curl_global_cleanup();
    return rc;
}
