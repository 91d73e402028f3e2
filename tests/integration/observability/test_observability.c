/* Observability of a real arbord: /status (log, chain, mempool, uptime, and
 * no filesystem path), /metrics checked by Prometheus' own `promtool check
 * metrics` plus HELP/TYPE/_total rules and the histograms (request latency
 * per route, log batch size and commit time, block connect time), and the
 * log lines: --log-format json (every line a JSON object, the startup
 * summary, block and log batch lines, an access log line for a hostile path
 * that must come out escaped), --log-format logfmt with --log-level warn
 * (no info lines). A certificate is logged through add-chain (a root and a
 * leaf made with the openssl command) and a block is mined over HTTP. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/block.h"
#include "ledger/chain/mine.h"
#include "ledger/chain/params.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"

#define WAIT_MS 20000

static char bin[4096];
static char tmp[1024];

/* How this test asks the node on port (tests/testlib/http.h): 30 s a
 * request, paths sent as written. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 30, .flags = ARB_TL_HTTP_PATH_AS_IS};
    return o;
}

static json_t *get_json(int port, const char *path)
{
    char *b = NULL;
    json_t *j = NULL;
    if (arb_tl_http(at(port), path, NULL, &b) == 200 && b != NULL)
        j = json_loads(b, 0, NULL);
    free(b);
    return j;
}

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A root CA and a leaf it signed, as PEM files; the leaf's and root's DER
 * base64 for add-chain. Returns 0 on success. */
static int make_certs(char *body, size_t cap, char *roots, size_t rcap)
{
    char cmd[8192];
    snprintf(roots, rcap, "%s/root.pem", tmp);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout root.key -out root.pem -days 30 -subj '/CN=Obs Test Root' "
             "-addext basicConstraints=critical,CA:TRUE 2>/dev/null && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
             "-out leaf.csr -subj '/CN=www.example.org' 2>/dev/null && "
             "printf 'subjectAltName=DNS:www.example.org\\n' > ext.cnf && "
             "openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial "
             "-days 20 -extfile ext.cnf -out leaf.pem 2>/dev/null && "
             "openssl x509 -in leaf.pem -outform DER | base64 -w0 > leaf.b64 && "
             "openssl x509 -in root.pem -outform DER | base64 -w0 > root.b64",
             tmp);
    if (sh(cmd) != 0)
        return -1;
    char p1[1100], p2[1100];
    snprintf(p1, sizeof p1, "%s/leaf.b64", tmp);
    snprintf(p2, sizeof p2, "%s/root.b64", tmp);
    uint8_t *l = arb_test_read_file(p1, NULL), *r = arb_test_read_file(p2, NULL);
    int ok = l && r && (size_t)snprintf(body, cap, "{\"chain\":[\"%s\",\"%s\"]}", l, r) < cap;
    free(l);
    free(r);
    return ok ? 0 : -1;
}

/* Mines one block paying to a fixed key through template and submit. */
static long mine(int port)
{
    uint8_t pk[32];
    char addr[ARB_ADDR_MAX], path[256];
    const arb_chain_params *P = arb_chain_params_get("regtest");
    memset(pk, 0x42, sizeof pk);
    if (P == NULL || !arb_address_encode(addr, P->hrp, pk))
        return 0;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", addr);
    json_t *t = get_json(port, path);
    const char *hex = json_string_value(json_object_get(t, "hex"));
    uint8_t *raw = NULL;
    size_t len;
    arb_block b;
    arb_errbuf eb;
    arb_buf buf = {0};
    long st = 0;
    arb_block_init(&b);
    if (hex != NULL && arb_hex_decode_alloc(&raw, &len, hex) == ARB_OK &&
        arb_block_decode(&b, raw, len, &eb) == ARB_OK &&
        arb_chain_mine_header(&b.header, 0, 1ULL << 32)) {
        arb_block_write(&buf, &b);
        st = arb_tl_post_hex(at(port), "/chain/v1/block", buf.data, buf.len, NULL);
    }
    arb_buf_free(&buf);
    arb_block_clear(&b);
    free(raw);
    json_decref(t);
    return st;
}

static arb_proc *start(const char *dir, const char *const extra[], int *port)
{
    const char *args[40] = {"--network", "regtest"};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return arb_proc_start_arbord(bin, dir, args, WAIT_MS, port);
}

/* The value of the sample line "NAME VALUE" (NAME with its labels), or -1. */
static double sample(const char *text, const char *name)
{
    char key[256];
    const char *p;
    snprintf(key, sizeof key, "\n%s ", name);
    p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

/* Every TYPE line has a HELP line for the same family just before it, and
 * every counter family ends in _total. *families: how many there are. */
static void check_help_type(const char *text, int *families)
{
    *families = 0;
    const char *p = text;
    char prev_help[200] = "";
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(n < 511 ? n : 511), p);
        if (strncmp(line, "# HELP ", 7) == 0) {
            sscanf(line + 7, "%199s", prev_help);
            CHECK(strlen(line) > 8 + strlen(prev_help)); /* a non-empty help text */
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[200], type[32];
            CHECK_EQ(sscanf(line + 7, "%199s %31s", name, type), 2);
            CHECK_STR(name, prev_help);
            if (strcmp(type, "counter") == 0)
                CHECK(strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0);
            (*families)++;
            prev_help[0] = '\0';
        }
        p = e ? e + 1 : NULL;
    }
}

/* Each stderr line is a JSON object with ts, level and msg. Returns the lines
 * as a JSON array (NULL if one is not). */
static json_t *json_lines(const char *err)
{
    json_t *all = json_array();
    const char *p = err;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        json_t *j = json_loadb(p, n, 0, NULL);
        if (j == NULL || !json_is_string(json_object_get(j, "ts")) ||
            !json_is_string(json_object_get(j, "level")) ||
            !json_is_string(json_object_get(j, "msg"))) {
            fprintf(stderr, "not a JSON log line: %.*s\n", (int)n, p);
            json_decref(j);
            json_decref(all);
            return NULL;
        }
        json_array_append_new(all, j);
        p = e ? e + 1 : NULL;
    }
    return all;
}

static json_t *find_line(json_t *lines, const char *msg_prefix)
{
    size_t i;
    json_t *j;
    json_array_foreach(lines, i, j)
    {
        const char *m = json_string_value(json_object_get(j, "msg"));
        if (m && strncmp(m, msg_prefix, strlen(msg_prefix)) == 0)
            return j;
    }
    return NULL;
}

static void test_observability(void)
{
    char dir[1200], roots[1200], body[8192], *text = NULL, log_id[80] = "";
    const char *extra[] = {"--log-roots", roots, "--log-format", "json", "--access-log", NULL};
    int port;
    arb_proc *p;
    json_t *st, *lines;

    snprintf(dir, sizeof dir, "%s/node", tmp);
    CHECK_EQ(make_certs(body, sizeof body, roots, sizeof roots), 0);
    p = start(dir, extra, &port);
    CHECK(p != NULL && port > 0);
    if (p == NULL || port <= 0) {
        arb_proc_free(p);
        return;
    }

    /* /status: the log and the chain, no path. */
    CHECK_EQ(arb_tl_http(at(port), "/status", NULL, &text), 200);
    CHECK(text != NULL && strstr(text, tmp) == NULL);
    st = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    CHECK(st != NULL);
    CHECK(json_object_get(st, "datadir") == NULL);
    CHECK(json_is_integer(json_object_get(st, "uptime")));
    {
        json_t *lg = json_object_get(st, "log"), *ch = json_object_get(st, "chain");
        const char *id = json_string_value(json_object_get(lg, "log_id"));
        CHECK(id != NULL && strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64);
        snprintf(log_id, sizeof log_id, "%s", id ? id : "");
        CHECK_EQ(json_integer_value(json_object_get(lg, "tree_size")), 0);
        CHECK_EQ(json_integer_value(json_object_get(lg, "roots")), 1);
        CHECK_STR(json_string_value(json_object_get(lg, "origin")), "arbor.localhost/log");
        CHECK_EQ(json_integer_value(json_object_get(ch, "height")), 0);
        CHECK_EQ(json_integer_value(json_object_get(ch, "mempool_txs")), 0);
        CHECK(json_is_integer(json_object_get(ch, "mempool_bytes")));
    }
    json_decref(st);

    /* A certificate logged, a block mined, a hostile path asked for. */
    CHECK_EQ(arb_tl_http(at(port), "/ct/v1/add-chain", body, NULL), 200);
    CHECK_EQ(mine(port), 200);
    CHECK_EQ(arb_tl_http(at(port), "/a%0A%22b%3Cx%1b", NULL, NULL), 404);
    st = get_json(port, "/status");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(st, "log"), "tree_size")), 1);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(st, "chain"), "height")), 1);
    json_decref(st);

    /* A peer that connects to this node: the peer network's counters and
     * gauges are in /metrics too when promtool reads it. */
    char peer_dir[1300], connect[64];
    int peer_port = 0;
    snprintf(peer_dir, sizeof peer_dir, "%s/peer", tmp);
    snprintf(connect, sizeof connect, "127.0.0.1:%d", port);
    const char *peer_extra[] = {"--connect", connect, NULL};
    arb_proc *peer = start(peer_dir, peer_extra, &peer_port);
    CHECK(peer != NULL && peer_port > 0);
    for (int k = 0; k < 400; k++) {
        char *m = NULL;
        int synced = 0;
        if (arb_tl_http(at(peer_port), "/metrics", NULL, &m) == 200 && m != NULL)
            synced = sample(m, "arbor_chain_height") == 1 &&
                     sample(m, "arbor_p2p_peers_outbound") == 1;
        free(m);
        m = NULL;
        if (synced && arb_tl_http(at(port), "/metrics", NULL, &m) == 200 && m != NULL)
            synced = sample(m, "arbor_p2p_peers_inbound") == 1;
        free(m);
        if (synced)
            break;
        usleep(50 * 1000);
    }

    /* /metrics: promtool, HELP/TYPE, the families. */
    CHECK_EQ(arb_tl_http(at(port), "/metrics", NULL, &text), 200);
    CHECK(text != NULL);
    if (text != NULL) {
        char path[1300], cmd[2800];
        FILE *f;
        snprintf(path, sizeof path, "%s/metrics.txt", tmp);
        f = fopen(path, "w");
        CHECK(f != NULL);
        if (f != NULL) {
            fputs(text, f);
            fclose(f);
        }
        snprintf(cmd, sizeof cmd, "promtool check metrics < '%s'", path);
        CHECK_EQ(sh(cmd), 0);
        int families = 0;
        check_help_type(text, &families);
        CHECK(families >= 20);
        CHECK_EQ(sample(text, "arbor_log_tree_size"), 1);
        CHECK_EQ(sample(text, "arbor_chain_height"), 1);
        CHECK(sample(text, "arbor_chain_mempool_txs") == 0);
        CHECK(sample(text, "arbor_chain_mempool_bytes") == 0);
        CHECK_EQ(sample(text, "arbor_log_entries_sequenced_total"), 1);
        CHECK_EQ(sample(text, "arbor_log_batch_entries_count"), 1);
        CHECK_EQ(sample(text, "arbor_log_batch_entries_bucket{le=\"1\"}"), 1);
        CHECK_EQ(sample(text, "arbor_log_commit_seconds_count"), 1);
        CHECK(sample(text, "arbor_log_commit_seconds_sum") >= 0);
        /* The one chain's validation, timed on its own. */
        CHECK_EQ(sample(text, "arbor_log_validate_seconds_count"), 1);
        CHECK(sample(text, "arbor_log_validate_seconds_sum") > 0);
        CHECK_EQ(sample(text, "arbor_log_validate_seconds_bucket{le=\"+Inf\"}"), 1);
        /* The store's own synced writes: the log's (its first empty head and
         * the batch) and the chain's, in a histogram of their own. */
        CHECK(sample(text, "arbor_store_sync_seconds_count") >=
              sample(text, "arbor_log_commit_seconds_count") + 1);
        CHECK_EQ(sample(text, "arbor_store_sync_seconds_bucket{le=\"+Inf\"}"),
                 sample(text, "arbor_store_sync_seconds_count"));
        CHECK(sample(text, "arbor_store_sync_seconds_sum") > 0);
        CHECK_EQ(sample(text, "arbor_access_log_dropped_total"), 0);
        CHECK_EQ(sample(text, "arbor_chain_block_connect_seconds_count"), 1);
        CHECK_EQ(sample(text, "arbor_chain_blocks_accepted_total"), 1);
        CHECK(sample(text, "arbor_http_request_duration_seconds_count{route=\"/status\"}") >= 2);
        CHECK(sample(text, "arbor_http_request_duration_seconds_bucket{route=\"/status\",le=\"+Inf\"}") >= 2);
        CHECK(sample(text, "arbor_http_request_duration_seconds_count{route=\"none\"}") >= 1);
        CHECK(sample(text, "arbor_http_errors_not_found_total") >= 1);
        CHECK(sample(text, "arbor_uptime_seconds") >= 0);
        CHECK_EQ(sample(text, "arbor_p2p_peers_inbound"), 1);
        CHECK(sample(text, "arbor_p2p_handshakes_total") >= 1);
    }
    free(text);
    /* The peer's own /metrics (outbound, synced by blocks from this node). */
    text = NULL;
    CHECK_EQ(arb_tl_http(at(peer_port), "/metrics", NULL, &text), 200);
    if (text != NULL) {
        char path[1300], cmd[2800];
        FILE *f;
        snprintf(path, sizeof path, "%s/peer-metrics.txt", tmp);
        f = fopen(path, "w");
        CHECK(f != NULL);
        if (f != NULL) {
            fputs(text, f);
            fclose(f);
        }
        snprintf(cmd, sizeof cmd, "promtool check metrics < '%s'", path);
        CHECK_EQ(sh(cmd), 0);
        int families = 0;
        check_help_type(text, &families);
        CHECK_EQ(sample(text, "arbor_chain_height"), 1);
        CHECK_EQ(sample(text, "arbor_p2p_peers_outbound"), 1);
    }
    free(text);
    if (peer != NULL) {
        CHECK_EQ(arb_proc_kill(peer, SIGTERM), 0);
        CHECK_EQ(arb_proc_wait(peer, WAIT_MS), 0);
    }
    arb_proc_free(peer);

    CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
    CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
    text = arb_proc_output(p, ARB_PROC_STDERR);
    lines = text ? json_lines(text) : NULL;
    CHECK(lines != NULL);
    if (lines != NULL) {
        json_t *s = find_line(lines, "arbord started"), *j;
        size_t i;
        int access_hostile = 0, debug = 0;
        CHECK(s != NULL);
        CHECK_STR(json_string_value(json_object_get(s, "level")), "info");
        CHECK_STR(json_string_value(json_object_get(s, "network")), "regtest");
        CHECK_STR(json_string_value(json_object_get(s, "log_id")), log_id);
        CHECK_STR(json_string_value(json_object_get(s, "roots")), "1");
        CHECK_STR(json_string_value(json_object_get(s, "tree_size")), "0");
        CHECK(json_string_value(json_object_get(s, "listen")) != NULL);
        CHECK(json_string_value(json_object_get(s, "version")) != NULL);
        CHECK(find_line(lines, "chain: block ") != NULL);
        CHECK(find_line(lines, "log: sequenced 1 entries in 1 batches") != NULL);
        json_array_foreach(lines, i, j)
        {
            const char *m = json_string_value(json_object_get(j, "msg"));
            const char *path = json_string_value(json_object_get(j, "path"));
            debug |= strcmp(json_string_value(json_object_get(j, "level")), "debug") == 0;
            if (m && strcmp(m, "access") == 0 && path && strcmp(path, "/a\n\"b<x\x1b") == 0) {
                access_hostile = 1;
                CHECK_STR(json_string_value(json_object_get(j, "status")), "404");
                CHECK_STR(json_string_value(json_object_get(j, "method")), "GET");
            }
        }
        CHECK(access_hostile);
        CHECK(!debug); /* the default level is info */
        /* The raw text holds the path escaped, never the control bytes. */
        CHECK(strchr(text, '\x1b') == NULL);
    }
    json_decref(lines);
    free(text);
    arb_proc_free(p);

    /* logfmt at warn: no info lines at all; the data survived the restart. */
    {
        const char *x2[] = {"--log-roots", roots, "--log-format", "logfmt", "--log-level", "warn",
                            NULL};
        p = start(dir, x2, &port);
        CHECK(p != NULL && port > 0);
        st = port > 0 ? get_json(port, "/status") : NULL;
        CHECK_EQ(json_integer_value(json_object_get(json_object_get(st, "log"), "tree_size")), 1);
        json_decref(st);
        CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
        CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
        text = arb_proc_output(p, ARB_PROC_STDERR);
        CHECK(text != NULL && strstr(text, "level=info") == NULL &&
              strstr(text, "level=debug") == NULL && strstr(text, "arbord info") == NULL);
        free(text);
        arb_proc_free(p);
    }
    /* logfmt at debug: the startup summary in logfmt, and debug lines. */
    {
        const char *x3[] = {"--log-roots", roots, "--log-format", "logfmt", "--log-level", "debug",
                            NULL};
        p = start(dir, x3, &port);
        CHECK(p != NULL && port > 0);
        /* a duplicate: no new entry */
        CHECK_EQ(arb_tl_http(at(port), "/ct/v1/add-chain", body, NULL), 200);
        CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
        CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
        text = arb_proc_output(p, ARB_PROC_STDERR);
        CHECK(text != NULL && strstr(text, " level=info msg=\"arbord started\" version=") != NULL);
        CHECK(text != NULL && strstr(text, " network=regtest ") != NULL);
        CHECK(text != NULL && strstr(text, " tree_size=1 ") != NULL);
        free(text);
        arb_proc_free(p);
    }
}

/* Usage errors for the new flags: exit 2 with one line. */
static void test_flags(void)
{
    const char *bad[][3] = {{"--log-level", "loud", NULL},
                            {"--log-format", "xml", NULL},
                            {"--access-log=yes", NULL, NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *argv[5] = {bin, bad[i][0], bad[i][1], NULL, NULL};
        arb_proc *p;
        CHECK_EQ(arb_proc_spawn(&p, argv), 0);
        CHECK_EQ(arb_proc_wait(p, WAIT_MS), 2);
        char *err = arb_proc_output(p, ARB_PROC_STDERR);
        CHECK(err != NULL && strncmp(err, "arbord: error: ", 15) == 0 &&
              strchr(err, '\n') == err + strlen(err) - 1);
        free(err);
        arb_proc_free(p);
    }
}

int main(void)
{
    if (!arb_tl_begin(bin, sizeof bin, tmp, sizeof tmp))
        return 1;
    test_flags();
    test_observability();
    return arb_tl_end(tmp);
}
