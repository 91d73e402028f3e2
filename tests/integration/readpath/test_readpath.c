/* The log's read path served by existing engines, all real processes on
 * 127.0.0.1:
 *
 *  - arbord with --log-export DIR over a bulk-loaded log that then grows by
 *    submissions across a tile boundary: the exported tree holds exactly the
 *    tiles, issuers and checkpoint of the published tree, every file
 *    byte-identical to arbord's answer for the same path, and the partial
 *    tiles of a tile that became full are gone;
 *  - nginx (Debian's package, master process off, its own prefix in a
 *    temporary directory) as a caching reverse proxy in front of arbord, with
 *    the configuration docs/log.md shows (nginx-proxy.conf here): Cert
 *    Spotter and an arbor-audit follower, configured only by the log list
 *    arbord serves, and two arbor-audit followers of the tiles (all
 *    downloading and checking every entry) follow the log through it; arbord serves each full tile at most once (its
 *    arbor_log_full_tiles_served_total counter against nginx's access log);
 *  - nginx serving the exported directory alone (nginx-static.conf): arbor-
 *    audit follows the log from it after arbord has stopped.
 *
 * Cert Spotter 0.16 (Debian 12) reads only the RFC 6962 API, so it follows
 * through the proxy and not from the static tree. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "merkle/tile.h"
#include "tests/bench/log_bulk.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "tests/unit/log/pki.h"

#define DAY 86400
#define ORIGIN "arbor.localhost/log"
#define NGINX "/usr/sbin/nginx"
#define CERTSPOTTER "/usr/bin/certspotter"
/* Bulk-loaded entries, then submitted ones: 770 crosses from 3 partial to 3
 * full level-0 tiles (768). */
#define BULK 760
#define SUBMITTED 10
#define TOTAL (BULK + SUBMITTED)

static char tmp[512], datadir[700], keyfile[700], pubfile[700], rootsfile[700], exportdir[700];
static int arbord_port, proxy_port, static_port;
static arb_proc *arbord, *nginx;
static EVP_PKEY *k_root, *k_int, *k_leaf;
static X509 *R, *I;
static arb_ct_signer *signer;

/* ---- helpers ---- */

typedef arb_tl_body body;

/* GET (post NULL) or POST post (no Content-Type of ours) on port, 60 s a
 * request, no signals (tests/testlib/http.h); the answer in *out. */
static long http(int port, const char *path, const char *post, body *out)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 60, .flags = ARB_TL_HTTP_NOSIGNAL};
    return arb_tl_http_raw(o, path, post, post ? strlen(post) : 0, out);
}

static unsigned long long metric(const char *name)
{
    arb_tl_http_opts o = {.port = arbord_port, .timeout_s = 60, .flags = ARB_TL_HTTP_NOSIGNAL};
    long long v;
    arb_tl_metric(o, name, &v);
    return (unsigned long long)v;
}

static int write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && fwrite(text, 1, len, f) == len;

    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

/* Replaces every @KEY@ of `map` (key, value pairs, NULL-ended) in text. */
static char *substitute(const char *text, const char *const *map)
{
    arb_buf b = ARB_BUF_INIT;
    const char *p = text;

    while (*p) {
        const char *at = strchr(p, '@');
        size_t i;
        if (at == NULL) {
            arb_buf_put(&b, p, strlen(p));
            break;
        }
        arb_buf_put(&b, p, (size_t)(at - p));
        for (i = 0; map[i] != NULL; i += 2) {
            size_t kl = strlen(map[i]);
            if (strncmp(at + 1, map[i], kl) == 0 && at[1 + kl] == '@') {
                arb_buf_put(&b, map[i + 1], strlen(map[i + 1]));
                p = at + kl + 2;
                break;
            }
        }
        if (map[i] == NULL) {
            arb_buf_put(&b, "@", 1);
            p = at + 1;
        }
    }
    arb_buf_put(&b, "", 1);
    if (b.oom) {
        arb_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static char *read_text(const char *path)
{
    size_t len;
    uint8_t *d = arb_test_read_file(path, &len);
    char *s = d ? realloc(d, len + 1) : NULL;

    if (s == NULL) {
        free(d);
        return NULL;
    }
    s[len] = 0;
    return s;
}

/* Counts lines of `text` containing `what`. */
static size_t count(const char *text, const char *what)
{
    size_t n = 0;

    for (const char *p = text ? strstr(text, what) : NULL; p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}

/* ---- arbord ---- */

static int start_arbord(void)
{
    char bin[1024], listen[64], url[64];
    const char *argv[] = {arb_test_bin(bin, sizeof(bin), "arbord"), "--datadir", datadir,
                          "--listen", listen, "--network", "regtest", "--log-key", keyfile,
                          "--log-roots", rootsfile, "--log-export", exportdir,
                          "--log-url", url,
                          "--log-description", "arbor read path test", "--json", NULL};

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", arbord_port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", proxy_port); /* the public URL */
    if (arb_proc_spawn(&arbord, argv) != 0)
        return 0;
    return arb_proc_wait_port(arbord, 60000) == arbord_port;
}

/* The tree size of the exported checkpoint (0 if none yet). */
static uint64_t exported_size(void)
{
    char path[800];
    char *cp;
    uint64_t n = 0;

    snprintf(path, sizeof(path), "%s/checkpoint", exportdir);
    if ((cp = read_text(path)) != NULL) {
        const char *nl = strchr(cp, '\n');
        if (nl != NULL)
            n = strtoull(nl + 1, NULL, 10);
        free(cp);
    }
    return n;
}

static int wait_exported(uint64_t size)
{
    for (int i = 0; i < 1200; i++) {
        if (exported_size() == size)
            return 1;
        usleep(50000);
    }
    return 0;
}

static char *leaf_chain(long serial)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec s = {"leaf", NULL, serial, now - DAY, now + 90 * DAY, 0};
    X509 *l = pki_cert(&s, k_leaf, I, k_int);
    size_t l1 = 0, l2 = 0;
    uint8_t *d1 = l ? pki_der(l, &l1) : NULL, *d2 = pki_der(I, &l2);
    char *b1 = d1 ? arb_base64_encode(d1, l1) : NULL, *b2 = d2 ? arb_base64_encode(d2, l2) : NULL;
    char *out = NULL;

    if (b1 && b2 && (out = malloc(strlen(b1) + strlen(b2) + 32)) != NULL)
        sprintf(out, "{\"chain\":[\"%s\",\"%s\"]}", b1, b2);
    X509_free(l);
    free(d1);
    free(d2);
    free(b1);
    free(b2);
    return out;
}

/* ---- the exported tree ---- */

/* Every regular file under dir/rel, compared with arbord's answer for the
 * same path. Counts them (older partial versions of still-partial tiles in
 * *stale); fails on hidden (temporary) files. */
static void compare_tree(const char *rel, uint64_t tree, size_t *files, size_t *stale)
{
    char path[1200];
    DIR *d;
    struct dirent *de;

    snprintf(path, sizeof(path), "%s%s", exportdir, rel);
    if ((d = opendir(path)) == NULL) {
        arb_test_fail(__FILE__, __LINE__, "cannot open %s", path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char sub[1200], full[2000];
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (de->d_name[0] == '.')
            arb_test_fail(__FILE__, __LINE__, "temporary file left: %s/%s", rel, de->d_name);
        snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
        snprintf(full, sizeof(full), "%s%s", exportdir, sub);
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            compare_tree(sub, tree, files, stale);
        } else {
            size_t len = 0;
            uint8_t *mine = arb_test_read_file(full, &len);
            arb_tile t;
            /* An older partial version of a tile that is still partial may
             * stay (readers holding an older checkpoint use it); a partial
             * version of a full tile may not. */
            if (strncmp(sub, "/tile/", 6) == 0 &&
                arb_tile_path_parse(&t, sub + 1, strlen(sub + 1)) == ARB_OK &&
                t.width < ARB_TILE_WIDTH) {
                unsigned now_w = arb_tile_width(tree, t.level, t.index);
                if (now_w == ARB_TILE_WIDTH || t.width > now_w)
                    arb_test_fail(__FILE__, __LINE__, "stale partial tile %s", sub);
                else if (t.width < now_w)
                    (*stale)++;
            }
            body b;
            long status = http(arbord_port, sub, NULL, &b);
            if (status != 200 || mine == NULL || b.len != len || memcmp(b.data, mine, len) != 0)
                arb_test_fail(__FILE__, __LINE__, "%s differs from arbord's answer (status %ld)",
                              sub, status);
            else
                arb_test_passed++;
            (*files)++;
            free(mine);
            free(b.data);
        }
    }
    closedir(d);
}

static int exported(const char *rel)
{
    char path[1200];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", exportdir, rel);
    return stat(path, &st) == 0;
}

/* Every tile of the tree of `size` entries is exported, and nothing else:
 * the file count of compare_tree equals tiles + issuers + checkpoint. */
static void check_export(uint64_t size)
{
    size_t files = 0, stale = 0, expected = 1 + 2; /* checkpoint, two issuers (I and R) */
    uint8_t fp[32];
    char hex[65], rel[128];
    size_t dl;
    uint8_t *der;

    for (unsigned level = 0; level <= ARB_TILE_MAX_LEVEL; level++) {
        uint64_t full;
        unsigned pw;
        arb_tile_count(size, level, &full, &pw);
        if (full == 0 && pw == 0)
            break;
        for (uint64_t i = 0; i <= full; i++) {
            unsigned w = i < full ? ARB_TILE_WIDTH : pw;
            arb_tile t = {ARB_TILE_HASH, level, i, w};
            char p[ARB_TILE_PATH_MAX];
            if (w == 0)
                break;
            for (int kind = 0; kind < (level == 0 ? 2 : 1); kind++) {
                t.kind = kind ? ARB_TILE_DATA : ARB_TILE_HASH;
                CHECK(arb_tile_path(&t, p, sizeof(p)) == ARB_OK);
                if (!exported(p))
                    arb_test_fail(__FILE__, __LINE__, "tile %s not exported", p);
                expected++;
                if (w == ARB_TILE_WIDTH) {
                    /* a full tile's partial versions are gone */
                    char pp[ARB_TILE_PATH_MAX + 4];
                    snprintf(pp, sizeof(pp), "%s.p", p);
                    if (exported(pp))
                        arb_test_fail(__FILE__, __LINE__, "%s still exported", pp);
                }
            }
        }
    }
    der = pki_der(I, &dl);
    CHECK(der != NULL && EVP_Digest(der, dl, fp, NULL, EVP_sha256(), NULL) == 1);
    arb_hex_encode(hex, fp, 32);
    snprintf(rel, sizeof(rel), "issuer/%s", hex);
    CHECK(exported(rel));
    free(der);
    compare_tree("", size, &files, &stale);
    CHECK_EQ(files, expected + stale);
}

/* ---- nginx ---- */

static int start_nginx(void)
{
    char prefix[800], conf[900], cache[900], listen_p[64], listen_s[64], arbord_addr[64];
    char path[1024];
    char *proxy_t, *static_t, *proxy_c = NULL, *static_c = NULL, *all = NULL;
    const char *argv[] = {NGINX, "-p", prefix, "-e", path, "-c", conf, NULL};
    int ok = 0;

    snprintf(prefix, sizeof(prefix), "%s/nginx", tmp);
    snprintf(conf, sizeof(conf), "%s/nginx.conf", prefix);
    snprintf(cache, sizeof(cache), "%s/cache", prefix);
    snprintf(path, sizeof(path), "%s/error.log", prefix);
    snprintf(listen_p, sizeof(listen_p), "127.0.0.1:%d", proxy_port);
    snprintf(listen_s, sizeof(listen_s), "127.0.0.1:%d", static_port);
    snprintf(arbord_addr, sizeof(arbord_addr), "127.0.0.1:%d", arbord_port);
    mkdir(prefix, 0700);
    /* The snippets docs/log.md shows, verbatim. */
    proxy_t = read_text(ARB_READPATH_DIR "/nginx-proxy.conf");
    static_t = read_text(ARB_READPATH_DIR "/nginx-static.conf");
    {
        char *doc = read_text(ARB_READPATH_DIR "/../../../docs/log.md");
        if (doc == NULL || proxy_t == NULL || static_t == NULL || strstr(doc, proxy_t) == NULL ||
            strstr(doc, static_t) == NULL)
            arb_test_fail(__FILE__, __LINE__, "docs/log.md does not show the nginx snippets");
        free(doc);
    }
    if (proxy_t != NULL && static_t != NULL) {
        const char *pm[] = {"CACHE_DIR", cache, "LISTEN", listen_p, "ARBORD", arbord_addr, NULL};
        const char *sm[] = {"EXPORT_DIR", exportdir, "LISTEN", listen_s, NULL};
        proxy_c = substitute(proxy_t, pm);
        static_c = substitute(static_t, sm);
    }
    if (proxy_c != NULL && static_c != NULL &&
        (all = malloc(strlen(proxy_c) + strlen(static_c) + 4096)) != NULL) {
        int n = sprintf(all,
                        "master_process off;\n"
                        "daemon off;\n"
                        "pid %s/nginx.pid;\n"
                        "error_log %s/error.log info;\n"
                        "events { worker_connections 128; }\n"
                        "http {\n"
                        "    log_format readpath '$server_port $request_uri $status "
                        "$upstream_cache_status';\n"
                        "    access_log %s/access.log readpath;\n"
                        "    client_body_temp_path %s/body;\n"
                        "    proxy_temp_path %s/proxy;\n"
                        "    fastcgi_temp_path %s/fastcgi;\n"
                        "    uwsgi_temp_path %s/uwsgi;\n"
                        "    scgi_temp_path %s/scgi;\n"
                        "%s\n%s\n}\n",
                        prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, proxy_c,
                        static_c);
        ok = n > 0 && write_text(conf, all, (size_t)n);
    }
    free(proxy_t);
    free(static_t);
    free(proxy_c);
    free(static_c);
    free(all);
    if (!ok || access(NGINX, X_OK) != 0) {
        arb_test_fail(__FILE__, __LINE__, "cannot set up nginx (%s; scripts/deps.sh installs it)",
                      NGINX);
        return 0;
    }
    if (arb_proc_spawn(&nginx, argv) != 0)
        return 0;
    for (int i = 0; i < 400; i++) {
        body b, b2;
        long st = http(static_port, "/checkpoint", NULL, &b);
        long sp = http(proxy_port, "/ct/v1/get-sth", NULL, &b2);
        free(b.data);
        free(b2.data);
        if (st == 200 && sp == 200)
            return 1;
        usleep(50000);
    }
    return 0;
}

/* ---- followers ---- */

static char audit_bin[1024];

/* arbor-audit follows the log once, downloading and checking every entry:
 * from its tiles at port, or (list != NULL) as the log list file says. */
static int follow(int port, const char *name, uint64_t size, const char *list)
{
    char url[64], state[800], want[64];
    const char *tiled[] = {audit_bin, "follow", "--log", url, "--key", pubfile, "--tiled",
                           "--origin", ORIGIN, "--state", state, "--download", "--watch",
                           "example.test", "--once", "--json", NULL};
    const char *listed[] = {audit_bin, "follow", "--log-list", list, "--state", state,
                            "--download", "--watch", "example.test", "--once", "--json", NULL};
    const char *const *argv = list != NULL ? listed : tiled;
    arb_proc *p = NULL;
    char *out;
    int rc, ok;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    snprintf(state, sizeof(state), "%s/audit-%s", tmp, name);
    snprintf(want, sizeof(want), "\"tree_size\":%llu", (unsigned long long)size);
    if (arb_proc_spawn(&p, argv) != 0)
        return 0;
    rc = arb_proc_wait(p, 120000);
    out = arb_proc_output(p, ARB_PROC_STDOUT);
    /* the head and the entries verified at it; every entry names example.test */
    ok = rc == 0 && count(out, "\"event\":\"verified\"") == 1 && count(out, want) == 2 &&
         count(out, "\"event\":\"match\"") == size;
    if (!ok) {
        char *err = arb_proc_output(p, ARB_PROC_STDERR);
        fprintf(stderr, "arbor-audit via port %d: exit %d\n%s\n%s\n", port, rc, out ? out : "",
                err ? err : "");
        free(err);
    }
    free(out);
    arb_proc_free(p);
    return ok;
}

/* Cert Spotter, configured by the log list alone (through the proxy),
 * reports every entry once (each is a certificate for example.test); it
 * checks the tree heads' signatures and rebuilds the tree from the entries. */
static int certspotter(uint64_t size)
{
    char list[800], state[800], watch[800];
    const char *argv[] = {CERTSPOTTER, "-logs", list, "-watchlist", watch, "-state_dir", state,
                          "-stdout", "-no_save", NULL};
    arb_proc *p = NULL;
    char *out = NULL;
    size_t seen = 0;
    int i;

    body b;

    /* Cert Spotter 0.16 fetches a list by URL only over https, so the list is
     * downloaded (through the proxy) and given as a file. */
    snprintf(list, sizeof(list), "%s/log_list.json", tmp);
    snprintf(state, sizeof(state), "%s/certspotter", tmp);
    snprintf(watch, sizeof(watch), "%s/watchlist", tmp);
    if (http(proxy_port, "/ct/log_list/v3/log_list.json", NULL, &b) != 200 || b.data == NULL ||
        !write_text(list, b.data, b.len)) {
        free(b.data);
        arb_test_fail(__FILE__, __LINE__, "cannot fetch the log list through the proxy");
        return 0;
    }
    free(b.data);
    if (!write_text(watch, "example.test\n", 13) || access(CERTSPOTTER, X_OK) != 0) {
        arb_test_fail(__FILE__, __LINE__, "cannot run %s (scripts/deps.sh installs it)",
                      CERTSPOTTER);
        return 0;
    }
    if (arb_proc_spawn(&p, argv) != 0)
        return 0;
    for (i = 0; i < 1200 && seen < size && arb_proc_wait(p, 0) == -1; i++) {
        usleep(100000);
        free(out);
        out = arb_proc_output(p, ARB_PROC_STDOUT);
        seen = count(out, "Log Entry = ");
    }
    {
        /* each entry once, found through the proxy (the log list's URL) */
        char last[128];
        snprintf(last, sizeof(last), "Log Entry = %llu @ http://127.0.0.1:%d/\n",
                 (unsigned long long)size - 1, proxy_port);
        if (seen != size || count(out, last) != 1 || count(out, "DNS Name = example.test") != size)
            seen = 0;
    }
    if (seen < size) {
        char *err = arb_proc_output(p, ARB_PROC_STDERR);
        fprintf(stderr, "certspotter saw %zu of %llu\n%s\n", seen, (unsigned long long)size,
                err ? err : "");
        free(err);
    }
    free(out);
    arb_proc_kill(p, SIGTERM);
    arb_proc_wait(p, 10000);
    arb_proc_free(p);
    return seen >= size;
}

/* nginx's access log, proxy port: each full tile went to arbord (MISS) at
 * most once; returns how many full tiles it fetched from arbord and how
 * many full tile requests it answered. */
static void proxy_tile_stats(size_t *misses, size_t *requests)
{
    char path[800], *log, *all, *line, *save = NULL, port[16];

    *misses = *requests = 0;
    snprintf(path, sizeof(path), "%s/nginx/access.log", tmp);
    snprintf(port, sizeof(port), "%d ", proxy_port);
    if ((log = read_text(path)) == NULL || (all = strdup(log)) == NULL) {
        free(log);
        arb_test_fail(__FILE__, __LINE__, "no nginx access log");
        return;
    }
    for (line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char uri[512], status[8], cache[16];
        if (strncmp(line, port, strlen(port)) != 0 ||
            sscanf(line + strlen(port), "%511s %7s %15s", uri, status, cache) != 3)
            continue;
        if (strncmp(uri, "/tile/", 6) != 0 || strstr(uri, ".p/") != NULL || strcmp(status, "200"))
            continue;
        (*requests)++;
        if (!strcmp(cache, "MISS")) {
            (*misses)++;
            /* at most once per tile: no earlier MISS line for this URI */
            char needle[600];
            snprintf(needle, sizeof(needle), "%s%s 200 MISS", port, uri);
            if (count(all, needle) > 1)
                arb_test_fail(__FILE__, __LINE__, "arbord asked twice for %s", uri);
        }
    }
    free(log);
    free(all);
}

/* ---- the test ---- */

static void test_readpath(void)
{
    unsigned long long full_before;
    size_t misses, requests;
    int i;

    CHECK_OR(start_arbord(), );
    CHECK_OR(wait_exported(BULK), );
    /* Grow the log across the boundary of tile 2 (at 768). */
    for (i = 0; i < SUBMITTED; i++) {
        char *c = leaf_chain(900000 + i);
        body b;
        CHECK(c != NULL && http(arbord_port, "/ct/v1/add-chain", c, &b) == 200);
        free(b.data);
        free(c);
    }
    CHECK_OR(wait_exported(TOTAL), );
    check_export(TOTAL);

    CHECK_OR(start_nginx(), );
    full_before = metric("arbor_log_full_tiles_served_total");
    /* Two monitors following the tiles through the cache, and Cert Spotter
     * following the RFC 6962 API through it. */
    CHECK(follow(proxy_port, "proxy-1", TOTAL, NULL));
    CHECK(follow(proxy_port, "proxy-2", TOTAL, NULL));
    CHECK(certspotter(TOTAL));
    {
        /* arbor-audit configured by the same log list (RFC 6962 API through
         * the proxy). */
        char list[800];
        snprintf(list, sizeof(list), "%s/log_list.json", tmp);
        CHECK(follow(proxy_port, "list", TOTAL, list));
    }
    proxy_tile_stats(&misses, &requests);
    CHECK(misses > 0);
    CHECK(requests >= 2 * misses); /* both followers got every full tile */
    CHECK_EQ(metric("arbor_log_full_tiles_served_total") - full_before, misses);

    /* The static tree alone: arbord stopped (its last head exported). */
    CHECK(arb_proc_kill(arbord, SIGTERM) == 0);
    CHECK_EQ(arb_proc_wait(arbord, 30000), 0);
    arb_proc_free(arbord);
    arbord = NULL;
    CHECK_EQ(exported_size(), TOTAL);
    CHECK(follow(static_port, "static", TOTAL, NULL));
}

static int setup(void)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec sr = {"Read Path Root", NULL, 1, now - DAY, now + 3650 * DAY, PKI_CA};
    pki_spec si = {"Read Path Int", NULL, 2, now - DAY, now + 365 * DAY, PKI_CA};
    char *pem = NULL;
    size_t len;
    log_bulk_config bc;
    unsigned long long size = 0;
    arb_errbuf eb;
    int ok;

    k_root = pki_key();
    k_int = pki_key();
    k_leaf = pki_key();
    R = pki_cert(&sr, k_root, NULL, NULL);
    I = pki_cert(&si, k_int, R, k_root);
    if (!R || !I || arb_test_tmpdir(tmp, sizeof(tmp)) != 0)
        return 0;
    snprintf(datadir, sizeof(datadir), "%s/data", tmp);
    snprintf(keyfile, sizeof(keyfile), "%s/log-key.pem", tmp);
    snprintf(pubfile, sizeof(pubfile), "%s/log-key.pub.pem", tmp);
    snprintf(rootsfile, sizeof(rootsfile), "%s/roots.pem", tmp);
    snprintf(exportdir, sizeof(exportdir), "%s/export", tmp);
    arb_test_bin(audit_bin, sizeof(audit_bin), "arbor-audit");
    if (arb_ct_signer_generate(&signer, &eb) != ARB_OK ||
        arb_ct_signer_private_pem(signer, &pem, &len) != ARB_OK)
        return 0;
    ok = write_text(keyfile, pem, len);
    free(pem);
    ok = ok && arb_ct_signer_public_pem(signer, &pem, &len) == ARB_OK && write_text(pubfile, pem, len);
    free(pem);
    pem = pki_pem(R, &len);
    ok = ok && pem != NULL && write_text(rootsfile, pem, len);
    free(pem);
    if (!ok)
        return 0;
    memset(&bc, 0, sizeof(bc));
    bc.datadir = datadir;
    bc.signer = signer;
    bc.origin = ORIGIN;
    bc.root = R;
    bc.inter = I;
    bc.inter_key = k_int;
    bc.leaf_key = k_leaf;
    bc.first_serial = 1000;
    bc.n = BULK;
    if (log_bulk_load(&bc, &size, &eb) != ARB_OK || size != BULK) {
        fprintf(stderr, "bulk load: %s\n", eb.msg);
        return 0;
    }
    arbord_port = arb_test_free_port();
    proxy_port = arb_test_free_port();
    static_port = arb_test_free_port();
    return arbord_port > 0 && proxy_port > 0 && static_port > 0 && proxy_port != arbord_port &&
           static_port != arbord_port && static_port != proxy_port;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (setup())
        test_readpath();
    else
        arb_test_fail(__FILE__, __LINE__, "setup failed");
    if (nginx != NULL) {
        arb_proc_kill(nginx, SIGQUIT);
        arb_proc_wait(nginx, 10000);
    }
    arb_proc_free(nginx);
    arb_proc_free(arbord);
    arb_ct_signer_free(signer);
    X509_free(R);
    X509_free(I);
    EVP_PKEY_free(k_root);
    EVP_PKEY_free(k_int);
    EVP_PKEY_free(k_leaf);
    if (arb_test_failed == 0)
        arb_test_rmtree(tmp);
    else
        fprintf(stderr, "kept %s\n", tmp);
    curl_global_cleanup();
    return arb_test_done();
}
