/* arbor-audit against real arbord processes on 127.0.0.1:
 *  - follow a log while entries are added (heads advance with verified
 *    consistency proofs; --download finds the watched domain once);
 *  - a lying log: a proxy in this test sits between the auditor and arbord
 *    and alters answers (bad signature, truncated and non-JSON answers, a
 *    tampered consistency proof, a rolled-back tree head, a fork shown as an
 *    older head signed by the log's key); each is detected and named, and
 *    the tampered proof and the fork give reports verify-evidence accepts;
 *  - a forked log: two arbord with the same key and different entries,
 *    followed by two auditors that gossip: the split view is reported and the
 *    report verifies offline; the same with push gossip (each auditor posts
 *    its heads to the other), where both auditors write a report;
 *  - push gossip refuses bad input (malformed, oversize, badly signed,
 *    unknown log) with a status and a JSON reason, counts it, keeps running,
 *    and never adopts a pushed head. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "auditor/client.h"
#include "auditor/sth.h"
#include "ledger/api/http.h"
#include "ledger/log/key.h"
#include "ledger/log/static.h"
#include "merkle/buf.h"
#include "tests/test.h"
#include "tests/unit/audit/common.h"
#include "tests/unit/log/pki.h"

static char audit_bin[512], arbord_bin[512], tmp[512];
static char key_pem[600], pub_pem[600], roots_pem[600];
static EVP_PKEY *ca_key;
static X509 *ca;
static long next_serial = 100;

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static pid_t spawn(const char *out_path, const char *prog, char *const args[])
{
    pid_t pid = fork();
    if (pid == 0) {
        if (out_path && !freopen(out_path, "w", stdout))
            _exit(126);
        execv(prog, args);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int audit(const char *out_path, char *const args[])
{
    return wait_exit(spawn(out_path, audit_bin, args));
}

static int count(const char *path, const char *needle)
{
    size_t len;
    char *t = (char *)arb_test_read_file(path, &len), *p;
    int n = 0;
    if (t == NULL)
        return -1;
    for (p = t; (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(t);
    return n;
}

static int evidence_file(const char *path, char *out, size_t cap)
{
    size_t len;
    char *t = (char *)arb_test_read_file(path, &len), *line, *save = NULL;
    int ok = 0;
    if (t == NULL)
        return 0;
    for (line = strtok_r(t, "\n", &save); line && !ok; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *f = json_string_value(json_object_get(o, "evidence_file"));
        if (f) {
            snprintf(out, cap, "%s", f);
            ok = 1;
        }
        json_decref(o);
    }
    free(t);
    return ok;
}

/* ---- arbord ---- */

typedef struct {
    pid_t pid;
    int port;
    char url[64];
} node;

static int start_node(node *n, const char *name)
{
    char dir[700], listen[64];
    arb_audit_client *c = NULL;
    n->port = arb_test_free_port();
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", n->port);
    snprintf(n->url, sizeof n->url, "http://127.0.0.1:%d/", n->port);
    char *args[] = {arbord_bin, "--datadir", dir, "--listen", listen, "--network", "regtest",
                    "--log-key", key_pem, "--log-roots", roots_pem, NULL};
    n->pid = spawn("/dev/null", arbord_bin, args);
    if (arb_audit_client_new(&c, 2000) != ARB_OK)
        return 0;
    for (int i = 0; i < 200; i++) {
        char url[128];
        uint8_t *b = NULL;
        size_t bl;
        long st = 0;
        arb_errbuf eb;
        snprintf(url, sizeof url, "%sct/v1/get-sth", n->url);
        if (arb_audit_http(c, url, NULL, 0, NULL, &st, &b, &bl, &eb) == ARB_OK &&
            (st == 200 || st == 404)) {
            free(b);
            arb_audit_client_free(c);
            return st == 200 ? 1 : 2; /* 404: this arbord has no log API */
        }
        free(b);
        msleep(50);
    }
    arb_audit_client_free(c);
    return 0;
}

static void stop_node(node *n)
{
    if (n->pid > 0) {
        kill(n->pid, SIGTERM);
        wait_exit(n->pid);
        n->pid = 0;
    }
}

/* add-chain of a fresh leaf with CN cn issued by the test CA. With
 * leaf_pem / sct_json non-NULL they receive the leaf (PEM) and the answer. */
static int add_leaf_sct(const node *n, const char *cn, char **leaf_pem, char **sct_json)
{
    pki_spec spec = {cn, NULL, next_serial++, 1700000000, 1900000000, 0};
    EVP_PKEY *k = pki_key();
    X509 *leaf = pki_cert(&spec, k, ca, ca_key);
    size_t ll, cl;
    uint8_t *ld = pki_der(leaf, &ll), *cd = pki_der(ca, &cl);
    char *l64 = arb_base64_encode(ld, ll), *c64 = arb_base64_encode(cd, cl), *body;
    json_t *o = json_pack("{s:[s, s]}", "chain", l64, c64);
    arb_audit_client *c = NULL;
    char url[128];
    uint8_t *resp = NULL;
    size_t rl;
    long st = 0;
    arb_errbuf eb;
    int ok = 0;

    body = json_dumps(o, JSON_COMPACT);
    snprintf(url, sizeof url, "%sct/v1/add-chain", n->url);
    if (arb_audit_client_new(&c, 10000) == ARB_OK &&
        arb_audit_http(c, url, (const uint8_t *)body, strlen(body), "application/json", &st, &resp,
                       &rl, &eb) == ARB_OK &&
        st == 200)
        ok = 1;
    arb_audit_client_free(c);
    if (ok && leaf_pem) {
        size_t pl;
        *leaf_pem = pki_pem(leaf, &pl);
    }
    if (ok && sct_json) {
        *sct_json = (char *)resp;
        resp = NULL;
    }
    free(resp);
    free(body);
    json_decref(o);
    free(l64);
    free(c64);
    free(ld);
    free(cd);
    X509_free(leaf);
    EVP_PKEY_free(k);
    return ok;
}

static int add_leaf(const node *n, const char *cn)
{
    return add_leaf_sct(n, cn, NULL, NULL);
}

/* Waits until the node's tree head reaches size (the sequencer may batch). */
static int wait_size(const node *n, uint64_t size)
{
    arb_audit_client *c = NULL;
    arb_audit_log lg;
    arb_audit_sth s;
    arb_errbuf eb;
    int ok = 0;
    memset(&lg, 0, sizeof lg);
    lg.url = (char *)n->url;
    if (arb_audit_client_new(&c, 2000) != ARB_OK)
        return 0;
    for (int i = 0; i < 200 && !ok; i++) {
        if (arb_audit_get_sth(c, &lg, &s, &eb) == ARB_OK && s.tree_size >= size)
            ok = 1;
        else
            msleep(50);
    }
    arb_audit_client_free(c);
    return ok;
}

/* ---- the lying proxy ---- */

enum { P_PASS, P_BAD_SIG, P_TRUNCATE, P_NON_JSON, P_TAMPER_PROOF, P_ROLLBACK, P_FORGED_OLD,
       P_TAMPER_TILE, P_TRUNCATE_TILE, P_BAD_ISSUER, P_NO_ISSUER };

static struct {
    pthread_mutex_t lock;
    int mode;
    char upstream[64];
    char *old_sth; /* recorded for P_ROLLBACK */
    char *forged;  /* served for P_FORGED_OLD */
} proxy = {PTHREAD_MUTEX_INITIALIZER, P_PASS, "", NULL, NULL};

/* The log's key, kept to sign forged tree heads as a lying log would. */
static arb_ct_signer *log_signer;

static void proxy_handler(void *ud, arb_http_req *req)
{
    const char *path = arb_http_req_path(req);
    static const char *const params[] = {"first", "second", "start", "end", "hash", "tree_size"};
    char url[1024];
    size_t ul;
    arb_audit_client *c = NULL;
    uint8_t *body = NULL;
    size_t bl = 0;
    long st = 0;
    arb_errbuf eb;
    int mode, is_sth = strcmp(path, "/ct/v1/get-sth") == 0;
    int is_cons = strcmp(path, "/ct/v1/get-sth-consistency") == 0;
    int is_data = strncmp(path, "/tile/data/", 11) == 0;
    int is_issuer = strncmp(path, "/issuer/", 8) == 0;
    char sep = '?';

    (void)ud;
    pthread_mutex_lock(&proxy.lock);
    mode = proxy.mode;
    snprintf(url, sizeof url, "%s%s", proxy.upstream, path + 1);
    pthread_mutex_unlock(&proxy.lock);
    ul = strlen(url);
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        const char *v = arb_http_req_query(req, params[i]);
        if (v) {
            char *e = curl_easy_escape(NULL, v, 0);
            ul += (size_t)snprintf(url + ul, sizeof url - ul, "%c%s=%s", sep, params[i], e);
            curl_free(e);
            sep = '&';
        }
    }
    if (is_sth && (mode == P_ROLLBACK || mode == P_FORGED_OLD)) {
        const char *b;
        pthread_mutex_lock(&proxy.lock);
        b = mode == P_ROLLBACK ? proxy.old_sth : proxy.forged;
        body = (uint8_t *)strdup(b ? b : "");
        pthread_mutex_unlock(&proxy.lock);
        (void)arb_http_respond(req, 200, NULL, NULL, body, strlen((char *)body));
        free(body);
        return;
    }
    if (arb_audit_client_new(&c, 5000) != ARB_OK ||
        arb_audit_http(c, url, NULL, 0, NULL, &st, &body, &bl, &eb) != ARB_OK) {
        arb_audit_client_free(c);
        (void)arb_http_respond_error(req, 502, "upstream", "upstream unreachable");
        return;
    }
    arb_audit_client_free(c);
    if (is_sth && mode == P_BAD_SIG) {
        json_t *o = json_loadb((char *)body, bl, 0, NULL);
        const char *sig = json_string_value(json_object_get(o, "tree_head_signature"));
        if (sig) {
            char *s2 = strdup(sig);
            size_t n = strlen(s2);
            /* change a base64 character inside the DER signature */
            s2[n - 6] = s2[n - 6] == 'A' ? 'B' : 'A';
            json_object_set_new(o, "tree_head_signature", json_string(s2));
            free(s2);
            free(body);
            body = (uint8_t *)json_dumps(o, JSON_COMPACT);
            bl = strlen((char *)body);
        }
        json_decref(o);
    } else if (is_sth && mode == P_TRUNCATE) {
        bl /= 2;
    } else if (is_sth && mode == P_NON_JSON) {
        free(body);
        body = (uint8_t *)strdup("<html><body>502 Bad Gateway</body></html>");
        bl = strlen((char *)body);
    } else if (is_cons && mode == P_TAMPER_PROOF) {
        json_t *o = json_loadb((char *)body, bl, 0, NULL);
        json_t *arr = json_object_get(o, "consistency");
        if (json_array_size(arr) > 0) {
            json_array_set_new(arr, 0,
                               json_string("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="));
            free(body);
            body = (uint8_t *)json_dumps(o, JSON_COMPACT);
            bl = strlen((char *)body);
        }
        json_decref(o);
    }
    if (is_data && st == 200 && mode == P_TAMPER_TILE) {
        /* one bit of the last entry's timestamp: the TileLeaf still parses,
         * its leaf hash no longer is the one in the tree */
        arb_cur cur = arb_cur_make(body, bl);
        const uint8_t *last = NULL;
        arb_ct_tile_leaf t;
        while (cur.len > 0) {
            const uint8_t *at = cur.p;
            if (arb_ct_tile_leaf_read(&t, &cur) != ARB_OK)
                break;
            last = at;
        }
        if (last)
            body[last - body + 7] ^= 1;
    } else if (is_data && st == 200 && mode == P_TRUNCATE_TILE) {
        bl -= 3;
    } else if (is_issuer && st == 200 && mode == P_BAD_ISSUER && bl > 40) {
        body[bl - 20] ^= 1; /* inside the signature: still a certificate, another hash */
    } else if (is_issuer && mode == P_NO_ISSUER) {
        st = 404;
    }
    (void)arb_http_respond(req, (int)st, NULL, NULL, body, bl);
    free(body);
}

static void set_mode(int m)
{
    pthread_mutex_lock(&proxy.lock);
    proxy.mode = m;
    pthread_mutex_unlock(&proxy.lock);
}

static void record_sth(const node *n)
{
    arb_audit_client *c = NULL;
    char url[128];
    uint8_t *b = NULL;
    size_t bl;
    long st;
    arb_errbuf eb;
    snprintf(url, sizeof url, "%sct/v1/get-sth", n->url);
    if (arb_audit_client_new(&c, 2000) == ARB_OK &&
        arb_audit_http(c, url, NULL, 0, NULL, &st, &b, &bl, &eb) == ARB_OK) {
        pthread_mutex_lock(&proxy.lock);
        free(proxy.old_sth);
        proxy.old_sth = (char *)b;
        pthread_mutex_unlock(&proxy.lock);
    }
    arb_audit_client_free(c);
}

/* Makes proxy.forged a tree head of `size` entries with a root of another
 * tree, signed by the log's key one millisecond before the recorded old head
 * (so it looks older than the verified one, not like a shrinking tree). */
static int forge_old(uint64_t size)
{
    json_t *o = json_loads(proxy.old_sth ? proxy.old_sth : "", 0, NULL);
    arb_audit_sth f;
    arb_hash root;
    uint64_t ts = (uint64_t)json_integer_value(json_object_get(o, "timestamp"));
    char *t;

    json_decref(o);
    if (ts < 2)
        return 0;
    arb_test_rand_bytes(root.b, 32);
    if (!tlog_sth(&f, log_signer, size, ts - 1, &root))
        return 0;
    o = arb_audit_sth_to_json(&f);
    t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    pthread_mutex_lock(&proxy.lock);
    free(proxy.forged);
    proxy.forged = t;
    pthread_mutex_unlock(&proxy.lock);
    return t != NULL;
}

/* ---- scenarios ---- */

static void follow_once(const char *url, const char *state, const char *out, int want_exit,
                        const char *want)
{
    char *args[] = {audit_bin, "follow", "--log", (char *)url, "--key", pub_pem, "--state",
                    (char *)state, "--download", "--watch", "watched.test", "--once", "--json",
                    NULL};
    int rc = audit(out, args);
    if (rc != want_exit || (want && count(out, want) < 1)) {
        /* show what the auditor said */
        size_t len;
        char *t = (char *)arb_test_read_file(out, &len);
        fprintf(stderr, "follow %s: exit %d, output:\n%s\n", url, rc, t ? t : "(none)");
        free(t);
    }
    CHECK_EQ(rc, want_exit);
    if (want)
        CHECK(count(out, want) >= 1);
}

static void test_follow_and_lies(node *n1)
{
    char st[700], out[700], pst[700], purl[64], ev[1200];
    arb_http_server *srv = NULL;
    arb_http_config hc;
    arb_errbuf eb;

    snprintf(st, sizeof st, "%s/auditor", tmp);
    snprintf(out, sizeof out, "%s/follow.out", tmp);
    CHECK(add_leaf(n1, "a.example.org"));
    CHECK(add_leaf(n1, "www.watched.test"));
    CHECK(add_leaf(n1, "b.example.org"));
    CHECK_OR(wait_size(n1, 3), );
    follow_once(n1->url, st, out, 0, "\"event\":\"head\"");
    CHECK_EQ(count(out, "\"event\":\"match\""), 1);
    CHECK(add_leaf(n1, "c.example.org"));
    CHECK(add_leaf(n1, "d.example.org"));
    CHECK_OR(wait_size(n1, 5), );
    follow_once(n1->url, st, out, 0, "\"tree_size\":5");
    CHECK_EQ(count(out, "\"event\":\"match\""), 0); /* already reported */

    /* the same log through its static-ct-api read path: /checkpoint, the
     * consistency 5 -> 6 built from its hash tiles, and --download through
     * its data tiles (000.p/5, then 000.p/6 for the entry added since): the
     * entries rehash to the checkpoint's root (else root-mismatch, exit 1)
     * and the watched domain is found in a data tile */
    {
        char tst[700], tout[700];
        snprintf(tst, sizeof tst, "%s/auditor-tiles", tmp);
        snprintf(tout, sizeof tout, "%s/tiles.out", tmp);
        char *args[] = {audit_bin, "follow", "--log", n1->url, "--key", pub_pem, "--tiled",
                        "--origin", "arbor.localhost/log", "--state", tst, "--download",
                        "--watch", "watched.test", "--once", "--json", NULL};
        CHECK_EQ(audit(tout, args), 0);
        /* the head, and the entries verified at that head */
        CHECK_EQ(count(tout, "\"tree_size\":5"), 2);
        CHECK_EQ(count(tout, "\"event\":\"verified\""), 1);
        CHECK_EQ(count(tout, "\"event\":\"match\""), 1);
        CHECK_EQ(count(tout, "\"index\":1,\"name\":\"www.watched.test\""), 1);
        CHECK(add_leaf(n1, "f.example.org"));
        CHECK(add_leaf(n1, "g.watched.test"));
        CHECK_OR(wait_size(n1, 7), );
        CHECK_EQ(audit(tout, args), 0);
        /* the head, and the entries verified at that head */
        CHECK_EQ(count(tout, "\"tree_size\":7"), 2);
        CHECK_EQ(count(tout, "\"event\":\"verified\""), 1);
        CHECK_EQ(count(tout, "\"event\":\"match\""), 1);
        CHECK_EQ(count(tout, "\"index\":6,\"name\":\"g.watched.test\""), 1);
        CHECK_EQ(count(tout, "\"event\":\"problem\""), 0);
        /* the RFC 6962 follower catches up too */
        follow_once(n1->url, st, out, 0, "\"tree_size\":7");
        CHECK_EQ(count(out, "\"index\":6,\"name\":\"g.watched.test\""), 1);
    }

    /* the lying proxy */
    memset(&hc, 0, sizeof hc);
    hc.listen_host = "127.0.0.1";
    hc.workers = 2;
    CHECK_OR(arb_http_server_new(&srv, &hc) == ARB_OK, );
    CHECK_OR(arb_http_route_add(srv, ARB_HTTP_GET, "/ct/v1/", 0, proxy_handler, NULL) == ARB_OK &&
                 arb_http_route_add(srv, ARB_HTTP_GET, "/checkpoint", 0, proxy_handler, NULL) ==
                     ARB_OK &&
                 arb_http_route_add(srv, ARB_HTTP_GET, "/tile/", 0, proxy_handler, NULL) == ARB_OK &&
                 arb_http_route_add(srv, ARB_HTTP_GET, "/issuer/", 0, proxy_handler, NULL) ==
                     ARB_OK, );
    CHECK_OR(arb_http_server_start(srv, &eb) == ARB_OK, );
    snprintf(proxy.upstream, sizeof proxy.upstream, "%s", n1->url);
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d/", arb_http_server_port(srv));
    snprintf(pst, sizeof pst, "%s/auditor-proxy", tmp);
    set_mode(P_PASS);
    follow_once(purl, pst, out, 0, "\"tree_size\":7");
    record_sth(n1); /* size 7, for the rollback later */
    set_mode(P_BAD_SIG);
    follow_once(purl, pst, out, 1, "\"problem\":\"bad-signature\"");
    set_mode(P_TRUNCATE);
    follow_once(purl, pst, out, 1, "\"problem\":\"bad-answer\"");
    set_mode(P_NON_JSON);
    follow_once(purl, pst, out, 1, "\"problem\":\"bad-answer\"");
    CHECK(add_leaf(n1, "e.example.org"));
    CHECK_OR(wait_size(n1, 8), );
    set_mode(P_TAMPER_PROOF);
    follow_once(purl, pst, out, 1, "\"kind\":\"inconsistent\"");
    CHECK(evidence_file(out, ev, sizeof ev));
    {
        char *args[] = {audit_bin, "verify-evidence", ev, NULL};
        CHECK_EQ(audit("/dev/null", args), 0);
    }
    set_mode(P_PASS);
    follow_once(purl, pst, out, 0, "\"tree_size\":8");
    /* an older head the log really signed: checked for consistency (proof
     * 7 -> 8 from the log), named, no report */
    set_mode(P_ROLLBACK);
    follow_once(purl, pst, out, 1, "\"problem\":\"rollback\"");
    CHECK_EQ(count(out, "\"event\":\"misbehaviour\""), 0);
    /* a fork shown as an older head: signed by the log's key, of another
     * tree. The log's consistency proof to the verified head (size 5), or
     * entry 3 with its inclusion proof (size 4, a power of two), gives the
     * real tree's root at that size: a fork report verify-evidence accepts */
    for (uint64_t fs = 4; fs <= 5; fs++) {
        CHECK(forge_old(fs));
        set_mode(P_FORGED_OLD);
        follow_once(purl, pst, out, 1, "\"kind\":\"fork\"");
        CHECK(evidence_file(out, ev, sizeof ev));
        {
            char *args[] = {audit_bin, "verify-evidence", ev, NULL};
            CHECK_EQ(audit("/dev/null", args), 0);
        }
    }
    set_mode(P_PASS);
    follow_once(purl, pst, out, 0, "\"tree_size\":8");

    /* a lying static-ct-api read path: data tiles altered on the way */
    {
        char tst[700], tout[700];
        snprintf(tst, sizeof tst, "%s/auditor-proxy-tiles", tmp);
        snprintf(tout, sizeof tout, "%s/proxy-tiles.out", tmp);
        char *args[] = {audit_bin, "follow", "--log", purl, "--key", pub_pem, "--tiled",
                        "--origin", "arbor.localhost/log", "--state", tst, "--download",
                        "--watch", "watched.test", "--once", "--json", NULL};
        /* a tampered entry: the entries no longer hash to the signed root */
        set_mode(P_TAMPER_TILE);
        CHECK_EQ(audit(tout, args), 1);
        CHECK_EQ(count(tout, "\"problem\":\"root-mismatch\""), 1);
        /* a truncated tile: named, nothing downloaded */
        set_mode(P_TRUNCATE_TILE);
        CHECK_EQ(audit(tout, args), 1);
        CHECK_EQ(count(tout, "\"problem\":\"bad-entries\""), 1);
        CHECK_EQ(count(tout, "\"event\":\"match\""), 0);
        /* an issuer the log does not serve, or serves altered: named, nothing
         * downloaded */
        set_mode(P_NO_ISSUER);
        CHECK_EQ(audit(tout, args), 1);
        CHECK_EQ(count(tout, "\"problem\":\"bad-entries\""), 1);
        CHECK_EQ(count(tout, "issuer "), 1);
        set_mode(P_BAD_ISSUER);
        CHECK_EQ(audit(tout, args), 1);
        CHECK_EQ(count(tout, "\"problem\":\"bad-entries\""), 1);
        CHECK_EQ(count(tout, "the log serves something else"), 1);
        CHECK_EQ(count(tout, "\"event\":\"match\""), 0);
        /* the honest tiles: the download starts over and verifies */
        set_mode(P_PASS);
        CHECK_EQ(audit(tout, args), 0);
        CHECK_EQ(count(tout, "\"event\":\"problem\""), 0);
        CHECK_EQ(count(tout, "\"event\":\"match\""), 0); /* reported before the mismatch */
        /* one entry more: only the partial tile's new entry is read */
        CHECK(add_leaf(n1, "h.watched.test"));
        CHECK_OR(wait_size(n1, 9), );
        CHECK_EQ(audit(tout, args), 0);
        CHECK_EQ(count(tout, "\"index\":8,\"name\":\"h.watched.test\""), 1);
    }
    arb_http_server_stop(srv);
    arb_http_server_free(srv);
}

/* check-sct: the SCT arbord gave for a certificate (its add-chain answer,
 * turned into the TLS form) verifies, and with a zero merge delay its
 * inclusion is proven through get-proof-by-hash. */
static void test_check_sct(node *n1)
{
    char *pem = NULL, *ans = NULL;
    char cert_file[700], sct_file[700], out[700];
    json_t *o;
    arb_ct_sct sct;
    uint8_t *id = NULL, *sig = NULL, *ext = NULL;
    size_t idl = 0, sigl = 0, extl = 0;
    arb_buf b = ARB_BUF_INIT;
    const char *v;

    CHECK_OR(add_leaf_sct(n1, "sct.watched.test", &pem, &ans), );
    o = json_loads(ans, 0, NULL);
    CHECK_OR(o != NULL, );
    memset(&sct, 0, sizeof sct);
    v = json_string_value(json_object_get(o, "id"));
    CHECK_OR(v && arb_base64_decode(&id, &idl, v, strlen(v)) == ARB_OK && idl == 32, );
    memcpy(sct.log_id, id, 32);
    sct.timestamp = (uint64_t)json_integer_value(json_object_get(o, "timestamp"));
    v = json_string_value(json_object_get(o, "extensions"));
    CHECK_OR(v && arb_base64_decode(&ext, &extl, v, strlen(v)) == ARB_OK, );
    sct.ext = ext;
    sct.ext_len = extl;
    v = json_string_value(json_object_get(o, "signature"));
    CHECK_OR(v && arb_base64_decode(&sig, &sigl, v, strlen(v)) == ARB_OK, );
    CHECK_OR(arb_ct_dsig_decode(&sct.sig, sig, sigl) == ARB_OK, );
    CHECK_OR(arb_ct_sct_encode(&b, &sct) == ARB_OK, );
    snprintf(cert_file, sizeof cert_file, "%s/sct-leaf.pem", tmp);
    snprintf(sct_file, sizeof sct_file, "%s/sct-leaf.sct", tmp);
    snprintf(out, sizeof out, "%s/check-sct.out", tmp);
    CHECK(arb_test_write_file(cert_file, pem, strlen(pem)));
    CHECK(arb_test_write_file(sct_file, b.data, b.len));
    {
        char *args[] = {audit_bin, "check-sct", "--cert", cert_file, "--sct", sct_file, "--key",
                        pub_pem, "--log", n1->url, "--mmd", "0", "--json", NULL};
        CHECK_EQ(audit(out, args), 0);
        CHECK_EQ(count(out, "\"signature_valid\":true"), 1);
        CHECK_EQ(count(out, "\"inclusion\":\"proven\""), 1);
    }
    /* the same SCT for another certificate: refused */
    {
        char other[700];
        char *opem = NULL;
        CHECK(add_leaf_sct(n1, "other.example.org", &opem, NULL));
        snprintf(other, sizeof other, "%s/other-leaf.pem", tmp);
        CHECK(opem && arb_test_write_file(other, opem, strlen(opem)));
        free(opem);
        char *args[] = {audit_bin, "check-sct", "--cert", other, "--sct", sct_file, "--key",
                        pub_pem, "--log", n1->url, "--mmd", "0", "--json", NULL};
        CHECK_EQ(audit(out, args), 1);
        CHECK_EQ(count(out, "\"signature_valid\":false"), 1);
    }
    arb_buf_free(&b);
    free(id);
    free(sig);
    free(ext);
    json_decref(o);
    free(pem);
    free(ans);
}

static void test_fork(node *n1)
{
    node n2;
    char sa[700], sb[700], oa[700], ob[700], listen[64], peer[64], ev[1200];
    int gport = arb_test_free_port();
    pid_t pa;
    uint64_t size;
    arb_audit_client *c = NULL;
    arb_audit_log lg;
    arb_audit_sth s;
    arb_errbuf eb;

    memset(&lg, 0, sizeof lg);
    lg.url = n1->url;
    CHECK_OR(arb_audit_client_new(&c, 2000) == ARB_OK, );
    CHECK_OR(arb_audit_get_sth(c, &lg, &s, &eb) == ARB_OK, );
    arb_audit_client_free(c);
    size = s.tree_size;
    /* the same key, other entries, the same size */
    if (start_node(&n2, "node2") != 1) {
        stop_node(&n2);
        CHECK_OR(0, );
    }
    for (uint64_t i = 0; i < size; i++) {
        char cn[64];
        snprintf(cn, sizeof cn, "fork%llu.example.net", (unsigned long long)i);
        CHECK(add_leaf(&n2, cn));
    }
    CHECK(wait_size(&n2, size));
    snprintf(sa, sizeof sa, "%s/gossip-a", tmp);
    snprintf(sb, sizeof sb, "%s/gossip-b", tmp);
    snprintf(oa, sizeof oa, "%s/gossip-a.out", tmp);
    snprintf(ob, sizeof ob, "%s/gossip-b.out", tmp);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", gport);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d/", gport);
    {
        char *args[] = {audit_bin, "follow", "--log", n1->url, "--key", pub_pem, "--state", sa,
                        "--gossip-listen", listen, "--interval", "1", "--json", NULL};
        pa = spawn(oa, audit_bin, args);
    }
    msleep(300);
    for (int i = 0; i < 100 && count(oa, "\"event\":\"head\"") < 1; i++)
        msleep(50);
    {
        char *args[] = {audit_bin, "follow", "--log", n2.url, "--key", pub_pem, "--state", sb,
                        "--gossip-peer", peer, "--once", "--json", NULL};
        int rb = audit(ob, args);
        kill(pa, SIGTERM);
        wait_exit(pa);
        stop_node(&n2);
        CHECK_EQ(rb, 1);
        CHECK_EQ(count(ob, "\"event\":\"misbehaviour\""), 1);
        CHECK(evidence_file(ob, ev, sizeof ev));
    }
    {
        char *args[] = {audit_bin, "verify-evidence", ev, NULL};
        CHECK_EQ(audit("/dev/null", args), 0);
    }
}

/* HTTP to the auditor under test: POST body (or GET with body NULL) to
 * base+path; the status, and the answer in *ans (free()). */
static long http_call(const char *base, const char *path, const char *body, size_t len,
                      char **ans)
{
    arb_audit_client *c = NULL;
    char url[256];
    uint8_t *b = NULL;
    size_t bl;
    long st = 0;
    arb_errbuf eb;
    *ans = NULL;
    snprintf(url, sizeof url, "%s%s", base, path);
    if (arb_audit_client_new(&c, 10000) == ARB_OK &&
        arb_audit_http(c, url, (const uint8_t *)body, len, "application/json", &st, &b, &bl,
                       &eb) == ARB_OK)
        *ans = (char *)b;
    else
        free(b);
    arb_audit_client_free(c);
    return st;
}

static long push_json(const char *base, json_t *doc, char **ans)
{
    char *t = json_dumps(doc, JSON_COMPACT);
    long st = t ? http_call(base, "gossip/v1/heads", t, strlen(t), ans) : 0;
    free(t);
    return st;
}

/* The value of metric `name` in a /metrics text, or -1. */
static long metric(const char *text, const char *name)
{
    char pat[128];
    const char *p;
    snprintf(pat, sizeof pat, "\n%s ", name);
    p = text ? strstr(text, pat) : NULL;
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static int wait_output(const char *path, const char *needle, int n)
{
    for (int i = 0; i < 300; i++) {
        if (count(path, needle) >= n)
            return 1;
        msleep(50);
    }
    return 0;
}

/* Push gossip refuses bad input with a status and a JSON reason, counts it,
 * keeps running, and never adopts a pushed head (even a valid newer one). */
static void test_push_bad_input(node *n1)
{
    char sa[700], oa[700], listen[64], base[64], *ans = NULL, *heads = NULL;
    int gport = arb_test_free_port();
    json_t *doc, *h, *sth;
    pid_t pa;

    snprintf(sa, sizeof sa, "%s/push-in", tmp);
    snprintf(oa, sizeof oa, "%s/push-in.out", tmp);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", gport);
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", gport);
    {
        char *args[] = {audit_bin, "follow", "--log", n1->url, "--key", pub_pem, "--state", sa,
                        "--gossip-listen", listen, "--interval", "3600", "--json", NULL};
        pa = spawn(oa, audit_bin, args);
    }
    CHECK(wait_output(oa, "\"event\":\"head\"", 1));
    for (int i = 0; i < 100 && http_call(base, "gossip/v1/heads", NULL, 0, &heads) != 200; i++) {
        free(heads);
        heads = NULL;
        msleep(50);
    }
    doc = heads ? json_loads(heads, 0, NULL) : NULL;
    h = json_array_get(json_object_get(doc, "heads"), 0);
    CHECK(h != NULL);
    if (h == NULL) {
        kill(pa, SIGTERM);
        wait_exit(pa);
        json_decref(doc);
        free(heads);
        return;
    }
    /* malformed: not JSON, not a gossip document */
    CHECK_EQ(http_call(base, "gossip/v1/heads", "<html>", 6, &ans), 400);
    CHECK(ans && strstr(ans, "\"error\"") != NULL);
    free(ans);
    CHECK_EQ(http_call(base, "gossip/v1/heads", "{\"heads\":5}", 11, &ans), 400);
    free(ans);
    /* oversize */
    {
        size_t big = 100000;
        char *b = malloc(big);
        CHECK_OR(b != NULL, );
        memset(b, ' ', big);
        b[0] = '{';
        b[big - 1] = '}';
        CHECK_EQ(http_call(base, "gossip/v1/heads", b, big, &ans), 413);
        CHECK(ans && strstr(ans, "\"error\"") != NULL);
        free(ans);
        free(b);
    }
    /* a bad signature */
    {
        json_t *d2 = json_deep_copy(doc), *s2 = json_object_get(json_array_get(json_object_get(
                                                                    d2, "heads"), 0), "sth");
        char *sig = strdup(json_string_value(json_object_get(s2, "tree_head_signature")));
        size_t n = strlen(sig);
        sig[n - 6] = sig[n - 6] == 'A' ? 'B' : 'A';
        json_object_set_new(s2, "tree_head_signature", json_string(sig));
        CHECK_EQ(push_json(base, d2, &ans), 403);
        CHECK(ans && strstr(ans, "not signed") != NULL);
        free(ans);
        free(sig);
        json_decref(d2);
    }
    /* an unknown log */
    {
        json_t *d2 = json_deep_copy(doc);
        json_object_set_new(json_array_get(json_object_get(d2, "heads"), 0), "log_id",
                            json_string("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="));
        CHECK_EQ(push_json(base, d2, &ans), 404);
        CHECK(ans && strstr(ans, "unknown log") != NULL);
        free(ans);
        json_decref(d2);
    }
    /* its own head: consistent */
    CHECK_EQ(push_json(base, doc, &ans), 200);
    CHECK(ans && strstr(ans, "\"result\":\"consistent\"") != NULL);
    free(ans);
    /* a valid newer head of the log: checked (consistency from the log),
     * not adopted */
    {
        char url[128], *sth_text = NULL;
        uint64_t before = (uint64_t)json_integer_value(json_object_get(json_object_get(h, "sth"),
                                                                       "tree_size"));
        CHECK(add_leaf(n1, "push.example.org"));
        CHECK(wait_size(n1, before + 1));
        snprintf(url, sizeof url, "%sct/v1/", n1->url);
        CHECK_EQ(http_call(url, "get-sth", NULL, 0, &sth_text), 200);
        sth = sth_text ? json_loads(sth_text, 0, NULL) : NULL;
        free(sth_text);
        json_object_set_new(h, "sth", sth);
        CHECK_EQ(push_json(base, doc, &ans), 200);
        CHECK(ans && strstr(ans, "\"result\":\"consistent\"") != NULL);
        free(ans);
        free(heads);
        CHECK_EQ(http_call(base, "gossip/v1/heads", NULL, 0, &heads), 200);
        {
            json_t *d3 = heads ? json_loads(heads, 0, NULL) : NULL;
            json_t *s3 = json_object_get(json_array_get(json_object_get(d3, "heads"), 0), "sth");
            CHECK_EQ((uint64_t)json_integer_value(json_object_get(s3, "tree_size")), before);
            json_decref(d3);
        }
    }
    /* counted */
    CHECK_EQ(http_call(base, "metrics", NULL, 0, &ans), 200);
    CHECK_EQ(metric(ans, "arbor_gossip_push_malformed_total"), 2);
    CHECK_EQ(metric(ans, "arbor_gossip_push_bad_signature_total"), 1);
    CHECK_EQ(metric(ans, "arbor_gossip_push_unknown_log_total"), 1);
    CHECK_EQ(metric(ans, "arbor_gossip_push_accepted_total"), 2);
    CHECK_EQ(metric(ans, "arbor_http_errors_body_too_large_total"), 1);
    free(ans);
    /* still running; each refusal named */
    CHECK_EQ(kill(pa, 0), 0);
    kill(pa, SIGTERM);
    CHECK_EQ(wait_exit(pa), 0);
    CHECK_EQ(count(oa, "\"problem\":\"gossip-bad-push\""), 4);
    CHECK_EQ(count(oa, "\"event\":\"misbehaviour\""), 0);
    free(heads);
    json_decref(doc);
}

/* A forked log caught by push gossip: two arbord with one key and different
 * entries, two auditors each pushing its verified heads to the other. Both
 * write a split-view report that verify-evidence accepts. */
static void test_fork_push(node *n1)
{
    node n3;
    char sa[700], sb[700], oa[700], ob[700], la[64], lb[64], ua[64], ub[64], ev[1200];
    int pa_port = arb_test_free_port(), pb_port = arb_test_free_port();
    pid_t pa, pb;
    uint64_t size;
    arb_audit_client *c = NULL;
    arb_audit_log lg;
    arb_audit_sth s;
    arb_errbuf eb;

    memset(&lg, 0, sizeof lg);
    lg.url = n1->url;
    CHECK_OR(arb_audit_client_new(&c, 2000) == ARB_OK, );
    CHECK_OR(arb_audit_get_sth(c, &lg, &s, &eb) == ARB_OK, );
    arb_audit_client_free(c);
    size = s.tree_size;
    if (start_node(&n3, "node3") != 1) {
        stop_node(&n3);
        CHECK_OR(0, );
    }
    for (uint64_t i = 0; i < size; i++) {
        char cn[64];
        snprintf(cn, sizeof cn, "push%llu.example.net", (unsigned long long)i);
        CHECK(add_leaf(&n3, cn));
    }
    CHECK(wait_size(&n3, size));
    while (pb_port == pa_port)
        pb_port = arb_test_free_port();
    snprintf(sa, sizeof sa, "%s/push-a", tmp);
    snprintf(sb, sizeof sb, "%s/push-b", tmp);
    snprintf(oa, sizeof oa, "%s/push-a.out", tmp);
    snprintf(ob, sizeof ob, "%s/push-b.out", tmp);
    snprintf(la, sizeof la, "127.0.0.1:%d", pa_port);
    snprintf(lb, sizeof lb, "127.0.0.1:%d", pb_port);
    snprintf(ua, sizeof ua, "http://127.0.0.1:%d/", pa_port);
    snprintf(ub, sizeof ub, "http://127.0.0.1:%d/", pb_port);
    {
        char *args[] = {audit_bin, "follow", "--log", n1->url, "--key", pub_pem, "--state", sa,
                        "--gossip-listen", la, "--gossip-push", ub, "--interval", "1", "--json",
                        NULL};
        pa = spawn(oa, audit_bin, args);
    }
    {
        char *args[] = {audit_bin, "follow", "--log", n3.url, "--key", pub_pem, "--state", sb,
                        "--gossip-listen", lb, "--gossip-push", ua, "--interval", "1", "--json",
                        NULL};
        pb = spawn(ob, audit_bin, args);
    }
    for (int i = 0; i < 400; i++) {
        if (count(oa, "\"event\":\"misbehaviour\"") >= 1 &&
            count(ob, "\"event\":\"misbehaviour\"") >= 1)
            break;
        msleep(50);
    }
    kill(pa, SIGTERM);
    kill(pb, SIGTERM);
    wait_exit(pa);
    wait_exit(pb);
    stop_node(&n3);
    CHECK(count(oa, "\"kind\":\"split-view\"") >= 1);
    CHECK(count(ob, "\"kind\":\"split-view\"") >= 1);
    CHECK(count(oa, "\"peer-refused\"") == 0 && count(ob, "\"peer-refused\"") == 0);
    CHECK(evidence_file(oa, ev, sizeof ev));
    CHECK(count(ev, "\"source\": \"push from 127.0.0.1\"") == 1);
    {
        char *args[] = {audit_bin, "verify-evidence", ev, NULL};
        CHECK_EQ(audit("/dev/null", args), 0);
    }
    CHECK(evidence_file(ob, ev, sizeof ev));
    CHECK(count(ev, "\"source\": \"push from 127.0.0.1\"") == 1);
    {
        char *args[] = {audit_bin, "verify-evidence", ev, NULL};
        CHECK_EQ(audit("/dev/null", args), 0);
    }
}

int main(void)
{
    arb_ct_signer *s = NULL;
    char *pem = NULL;
    size_t pem_len;
    arb_errbuf eb;
    node n1;
    pki_spec root = {"arbor audit test root", NULL, 1, 1600000000, 2000000000, PKI_CA};

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    arb_test_bin(audit_bin, sizeof audit_bin, "arbor-audit");
    arb_test_bin(arbord_bin, sizeof arbord_bin, "arbord");
    CHECK_OR(arb_test_tmpdir(tmp, sizeof tmp) == 0, 1);
    snprintf(key_pem, sizeof key_pem, "%s/log-key.pem", tmp);
    snprintf(pub_pem, sizeof pub_pem, "%s/log-pub.pem", tmp);
    snprintf(roots_pem, sizeof roots_pem, "%s/roots.pem", tmp);
    CHECK_OR(arb_ct_signer_generate(&s, &eb) == ARB_OK, 1);
    CHECK_OR(arb_ct_signer_private_pem(s, &pem, &pem_len) == ARB_OK &&
                 arb_test_write_file(key_pem, pem, pem_len),
             1);
    free(pem);
    CHECK_OR(arb_ct_signer_public_pem(s, &pem, &pem_len) == ARB_OK &&
                 arb_test_write_file(pub_pem, pem, pem_len),
             1);
    free(pem);
    log_signer = s;
    ca_key = pki_key();
    ca = pki_cert(&root, ca_key, NULL, NULL);
    pem = pki_pem(ca, &pem_len);
    CHECK_OR(pem && arb_test_write_file(roots_pem, pem, pem_len), 1);
    free(pem);
    {
        int started = start_node(&n1, "node1");
        if (started == 2) /* the log API is part of arbord: its absence is a failure */
            fprintf(stderr, "arbord answered 404 to /ct/v1/get-sth: no log API\n");
        if (started != 1)
            stop_node(&n1); /* never leave a server running */
        CHECK_OR(started == 1, 1);
    }
    test_follow_and_lies(&n1);
    test_check_sct(&n1);
    test_fork(&n1);
    test_fork_push(&n1);
    test_push_bad_input(&n1);
    stop_node(&n1);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    free(proxy.old_sth);
    free(proxy.forged);
    arb_ct_signer_free(log_signer);
    arb_test_rmtree(tmp);
    curl_global_cleanup();
    return arb_test_done();
}
