/* Auditor catch-up against a real arbord: a log of N entries is bulk-loaded
 * through the log's own sequencer (tests/bench/log_bulk.h) and served by
 * arbord; then the real program `arbor-audit follow --download --once --json`
 * downloads and verifies every entry from an empty state:
 *   - RFC 6962 API (get-entries), no watch list;
 *   - RFC 6962 API with a watch list of four domains (every certificate read
 *     and matched; none of them is in the log, so nothing is reported);
 *   - the same log as a static-ct-api log (--tiled: data tiles), no watch list.
 * Each run must end with exit 0, no problem line, and a "verified" line at
 * the log's tree size and root, else the bench fails.
 * Then, in the same run, Cert Spotter (Debian's certspotter, when on PATH) from
 * an empty state on the same log with the same four watched domains: it runs
 * as a daemon, so its state file is polled until its verified position is the
 * log's size. And one data tile served by arbord next to the same bytes served
 * by nginx as a static file (both when nginx and wrk are on PATH), loaded by
 * wrk with 1 and 16 connections.
 * The bound, measured in the same run: RFC 6962 leaf hashes of the same
 * MerkleTreeLeaf structures (read from the log's data tiles beforehand, over
 * four connections, not timed), on one thread. Their root must be the log's
 * root.
 * One JSON line per figure on stdout. Usage:
 *   bench_audit_catchup [ENTRIES [KEEP_DIR]]    (default 1000000)
 * With KEEP_DIR the log (data directory, keys, roots) is kept there and reused
 * by the next run with the same KEEP_DIR instead of being loaded again.
 * arbord and arbor-audit are found through ARB_BIN (default: ./). */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "ledger/log/ct.h"
#include "ledger/log/key.h"
#include "ledger/log/static.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "merkle/range.h"
#include "merkle/tile.h"
#include "tests/bench/bench_logserver.h"
#include "tests/bench/bench_node.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

static char tmp[512], arbord_bin[1024], audit_bin[1024];
static bench_server srv;

typedef arb_tl_body body;

/* GET /path on arbord over the kept-alive handle c; the status (0: no answer). */
static long get(CURL *c, const char *path, body *out)
{
    char abs[600];
    snprintf(abs, sizeof(abs), "/%s", path);
    return arb_tl_http_raw(bench_server_at(&srv, c), abs, NULL, 0, out);
}

/* The log's tree size and root from get-sth. */
static int log_head(uint64_t *size, char root_hex[65])
{
    CURL *c = curl_easy_init();
    body b;
    json_t *o = NULL;
    const char *r64;
    uint8_t *raw = NULL;
    size_t rl = 0;
    int ok = 0;

    if (get(c, "ct/v1/get-sth", &b) == 200 && (o = json_loads((char *)b.data, 0, NULL)) != NULL &&
        json_is_integer(json_object_get(o, "tree_size")) &&
        (r64 = json_string_value(json_object_get(o, "sha256_root_hash"))) != NULL &&
        arb_base64_decode(&raw, &rl, r64, strlen(r64)) == ARB_OK && rl == 32) {
        *size = (uint64_t)json_integer_value(json_object_get(o, "tree_size"));
        arb_hex_encode(root_hex, raw, 32);
        ok = 1;
    }
    free(raw);
    json_decref(o);
    free(b.data);
    curl_easy_cleanup(c);
    return ok;
}

/* ---- the bound: leaf hashes of the log's MerkleTreeLeaf structures ---- */

/* Reading the leaves for the bound (not timed): READERS threads, each
 * with its own connection, read every READERS-th data tile. */
#define READERS 4

typedef struct {
    uint64_t size, first;
    arb_buf *tiles; /* per tile: its entries' MerkleTreeLeaf structures */
    size_t *lens;   /* per entry: its length */
    int ok;
} reader_arg;

static void *reader(void *arg)
{
    reader_arg *a = arg;
    CURL *c = curl_easy_init();

    a->ok = c != NULL;
    for (uint64_t t = a->first; a->ok && t * ARB_TILE_WIDTH < a->size; t += READERS) {
        arb_tile tl;
        char path[ARB_TILE_PATH_MAX];
        body b;
        arb_cur cur;

        memset(&tl, 0, sizeof(tl));
        tl.kind = ARB_TILE_DATA;
        tl.index = t;
        tl.width = arb_tile_width(a->size, 0, t);
        a->ok = arb_tile_path(&tl, path, sizeof(path)) == ARB_OK && get(c, path, &b) == 200;
        cur = arb_cur_make((const uint8_t *)b.data, b.len);
        for (unsigned i = 0; a->ok && i < tl.width; i++) {
            arb_ct_tile_leaf leaf;
            size_t before = a->tiles[t].len;
            a->ok = arb_ct_tile_leaf_read(&leaf, &cur) == ARB_OK &&
                    arb_ct_leaf_encode(&a->tiles[t], &leaf.leaf) == ARB_OK && !a->tiles[t].oom;
            a->lens[t * ARB_TILE_WIDTH + i] = a->tiles[t].len - before;
        }
        a->ok = a->ok && cur.len == 0;
        if (!a->ok)
            fprintf(stderr, "cannot read data tile %s\n", path);
        free(b.data);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* Reads every entry's MerkleTreeLeaf (from the data tiles) into one buffer;
 * off[i]..off[i+1] is entry i. */
static int read_leaves(uint64_t size, arb_buf *all, size_t *off)
{
    uint64_t ntiles = (size + ARB_TILE_WIDTH - 1) / ARB_TILE_WIDTH;
    arb_buf *tiles = calloc(ntiles, sizeof(*tiles));
    size_t *lens = calloc(size, sizeof(*lens));
    pthread_t th[READERS];
    reader_arg ra[READERS];
    int ok = tiles != NULL && lens != NULL;

    int started = 0;

    for (; ok && started < READERS; started++) {
        ra[started] = (reader_arg){size, (uint64_t)started, tiles, lens, 0};
        if (pthread_create(&th[started], NULL, reader, &ra[started]) != 0)
            break;
    }
    ok = ok && started == READERS;
    for (int k = 0; k < started; k++) {
        pthread_join(th[k], NULL);
        ok = ok && ra[k].ok;
    }
    off[0] = 0;
    for (uint64_t t = 0; ok && t < ntiles; t++)
        ok = arb_buf_put(all, tiles[t].data, tiles[t].len) && !all->oom;
    for (uint64_t i = 0; ok && i < size; i++)
        off[i + 1] = off[i] + lens[i];
    for (uint64_t t = 0; tiles != NULL && t < ntiles; t++)
        arb_buf_free(&tiles[t]);
    free(tiles);
    free(lens);
    return ok;
}

/* Leaf hashes per second over all leaves, one thread; the root of those
 * hashes (computed after the timing) must be the log's. */
static double hash_bound(uint64_t size, const char *root_hex)
{
    arb_buf all = ARB_BUF_INIT;
    size_t *off = calloc(size + 1, sizeof(*off));
    arb_hash *lh = calloc(size, sizeof(*lh)), root;
    arb_sha256 *h = NULL;
    arb_merkle_range r;
    char hex[65];
    double t0, rate = 0;

    if (off == NULL || lh == NULL || arb_sha256_new(&h) != ARB_OK ||
        !read_leaves(size, &all, off))
        goto out;
    t0 = bench_now_s();
    for (uint64_t i = 0; i < size; i++)
        arb_merkle_leaf_hash(h, &lh[i], all.data + off[i], off[i + 1] - off[i]);
    rate = (double)size / (bench_now_s() - t0);
    arb_merkle_range_init(&r);
    if (arb_merkle_range_append_many(&r, h, lh, size) != ARB_OK) {
        rate = 0;
        goto out;
    }
    arb_merkle_range_root(&r, h, &root);
    arb_hex_encode(hex, root.b, 32);
    if (strcmp(hex, root_hex) != 0) {
        fprintf(stderr, "the leaves read from the data tiles do not hash to the log's root\n");
        rate = 0;
        goto out;
    }
    printf("{\"bench\":\"audit_leaf_hash_bound\",\"threads\":1,\"entries\":%llu,"
           "\"mean_leaf_bytes\":%.0f,\"entries_per_s\":%.0f}\n",
           (unsigned long long)size, (double)all.len / (double)size, rate);
    fflush(stdout);
out:
    arb_sha256_free(h);
    arb_buf_free(&all);
    free(off);
    free(lh);
    return rate;
}

/* ---- one catch-up ---- */

/* 1 if `root` (arbor-audit prints roots in base64, as get-sth does) is the
 * root given in hex. */
static int root_matches(const char *root, const char *root_hex)
{
    uint8_t *raw = NULL;
    size_t rl = 0;
    char hex[65];
    int ok = root != NULL && arb_base64_decode(&raw, &rl, root, strlen(root)) == ARB_OK &&
             rl == 32;
    if (ok) {
        arb_hex_encode(hex, raw, 32);
        ok = strcmp(hex, root_hex) == 0;
    }
    free(raw);
    return ok;
}

/* Runs arbor-audit follow --download --once --json from an empty state and
 * checks its output: exit 0, no problem, a verified line at size / root.
 * Returns the entries/s, or 0 on failure. */
static double catchup(const char *name, int tiled, int watch, uint64_t size, const char *root_hex,
                      const char *pub, double bound)
{
    static const char *const domains[] = {"example.com", "example.org", "shop.example.net",
                                          "bank.example"};
    char state[700], outp[700], url[64], line[4096];
    const char *av[32];
    int n = 0, st, verified = 0, problems = 0;
    pid_t pid;
    double t0, dt, rate;
    FILE *f;

    snprintf(state, sizeof(state), "%s/state-%s", tmp, name);
    snprintf(outp, sizeof(outp), "%s/out-%s.jsonl", tmp, name);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);
    av[n++] = audit_bin;
    av[n++] = "follow";
    av[n++] = "--log";
    av[n++] = url;
    av[n++] = "--key";
    av[n++] = pub;
    if (tiled) {
        av[n++] = "--tiled";
        av[n++] = "--origin";
        av[n++] = "arbor.localhost/log";
    }
    av[n++] = "--state";
    av[n++] = state;
    av[n++] = "--download";
    for (int i = 0; watch && i < 4; i++) {
        av[n++] = "--watch";
        av[n++] = domains[i];
    }
    av[n++] = "--once";
    av[n++] = "--json";
    av[n] = NULL;
    t0 = bench_now_s();
    pid = fork();
    if (pid == 0) {
        if (freopen(outp, "w", stdout) == NULL)
            _exit(126);
        execv(audit_bin, (char *const *)av);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 0;
    dt = bench_now_s() - t0;
    if ((f = fopen(outp, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        json_t *o = json_loads(line, 0, NULL);
        const char *ev = json_string_value(json_object_get(o, "event"));
        if (ev != NULL && strcmp(ev, "verified") == 0 &&
            (uint64_t)json_integer_value(json_object_get(o, "tree_size")) == size &&
            root_matches(json_string_value(json_object_get(o, "root")), root_hex))
            verified++;
        else if (ev == NULL || (strcmp(ev, "head") != 0 && strcmp(ev, "start") != 0))
            problems++;
        json_decref(o);
    }
    fclose(f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || verified != 1 || problems != 0) {
        fprintf(stderr, "%s: arbor-audit exit %d, %d verified line(s), %d other line(s); see %s\n",
                name, WIFEXITED(st) ? WEXITSTATUS(st) : -1, verified, problems, outp);
        return 0;
    }
    rate = (double)size / dt;
    printf("{\"bench\":\"audit_catchup\",\"api\":\"%s\",\"watch\":%d,\"entries\":%llu,"
           "\"seconds\":%.2f,\"entries_per_s\":%.0f,\"bound_entries_per_s\":%.0f,"
           "\"ratio\":%.3f,\"verified\":true}\n",
           tiled ? "static-ct-api" : "rfc6962", watch ? 4 : 0, (unsigned long long)size, dt, rate,
           bound, bound > 0 ? rate / bound : 0.0);
    fflush(stdout);
    arb_test_rmtree(state);
    return rate;
}

/* ---- the same log by other programs ---- */

/* Path of `name` on PATH into out; 0 if absent. */
static int find_prog(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    char dir[512];

    while (path != NULL && *path) {
        size_t l = strcspn(path, ":");
        if (l > 0 && l < sizeof(dir)) {
            memcpy(dir, path, l);
            dir[l] = '\0';
            snprintf(out, n, "%s/%s", dir, name);
            if (access(out, X_OK) == 0)
                return 1;
        }
        path += l + (path[l] == ':');
    }
    return 0;
}

/* verified_position.size in Cert Spotter's state file(s) under dir/logs, or 0. */
static uint64_t cs_verified(const char *dir)
{
    char logs[800], path[1200];
    DIR *d;
    struct dirent *e;
    uint64_t best = 0;

    snprintf(logs, sizeof(logs), "%s/logs", dir);
    if ((d = opendir(logs)) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        json_t *o;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/state.json", logs, e->d_name);
        if ((o = json_load_file(path, 0, NULL)) != NULL) {
            json_t *sz = json_object_get(json_object_get(o, "verified_position"), "size");
            if (json_is_integer(sz) && (uint64_t)json_integer_value(sz) > best)
                best = (uint64_t)json_integer_value(sz);
            json_decref(o);
        }
    }
    closedir(d);
    return best;
}

/* Cert Spotter from an empty state on the log: a log list naming only it,
 * the same four watched domains. Returns entries/s, or 0 (not installed,
 * or it did not get to the log's size within 30 minutes). */
static double certspotter_catchup(uint64_t size, const char *pubp, double bound)
{
    char bin[600], state[700], listp[700], watchp[700], outp[700], logp[700], list[2048];
    uint8_t *der = NULL, id[32];
    char *key64 = NULL, *id64 = NULL;
    FILE *f;
    EVP_PKEY *pk = NULL;
    pid_t pid;
    double t0, dt = 0, rate = 0;
    int len, st;

    if (!find_prog("certspotter", bin, sizeof(bin))) {
        printf("{\"bench\":\"audit_catchup\",\"note\":\"certspotter not on PATH (Debian package "
               "certspotter): no comparison\"}\n");
        return 0;
    }
    snprintf(state, sizeof(state), "%s/state-certspotter", tmp);
    snprintf(listp, sizeof(listp), "%s/certspotter-logs.json", tmp);
    snprintf(watchp, sizeof(watchp), "%s/certspotter-watch.txt", tmp);
    snprintf(outp, sizeof(outp), "%s/certspotter.out", tmp);
    snprintf(logp, sizeof(logp), "%s/certspotter.err", tmp);
    if ((f = fopen(pubp, "r")) != NULL) {
        pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (pk == NULL || (len = i2d_PUBKEY(pk, &der)) <= 0)
        goto out;
    SHA256(der, (size_t)len, id);
    key64 = arb_base64_encode(der, (size_t)len);
    id64 = arb_base64_encode(id, 32);
    snprintf(list, sizeof(list),
             "{\"version\":\"1\",\"operators\":[{\"name\":\"arbor\",\"email\":[],\"logs\":[{"
             "\"description\":\"arbor bench\",\"log_id\":\"%s\",\"key\":\"%s\","
             "\"url\":\"http://127.0.0.1:%d/\",\"mmd\":86400,"
             "\"state\":{\"usable\":{\"timestamp\":\"2024-01-01T00:00:00Z\"}}}]}]}",
             id64 ? id64 : "", key64 ? key64 : "", srv.port);
    if (key64 == NULL || id64 == NULL || !arb_test_write_file(listp, list, strlen(list)) ||
        !arb_test_write_file(watchp, "example.com\nexample.org\nshop.example.net\nbank.example\n", 53))
        goto out;
    t0 = bench_now_s();
    pid = fork();
    if (pid == 0) {
        const char *av[] = {bin, "-logs", listp, "-watchlist", watchp, "-state_dir", state,
                            "-stdout", "-no_save", NULL};
        if (freopen(outp, "w", stdout) == NULL || freopen(logp, "w", stderr) == NULL)
            _exit(126);
        execv(bin, (char *const *)av);
        _exit(127);
    }
    if (pid < 0)
        goto out;
    while (bench_now_s() - t0 < 1800 && waitpid(pid, &st, WNOHANG) == 0) {
        if (cs_verified(state) >= size) {
            dt = bench_now_s() - t0;
            break;
        }
        usleep(100000);
    }
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    if (dt <= 0) {
        fprintf(stderr, "certspotter did not reach tree size %llu (see %s, %s)\n",
                (unsigned long long)size, logp, state);
        goto out;
    }
    rate = (double)size / dt;
    printf("{\"bench\":\"audit_catchup\",\"api\":\"rfc6962\",\"program\":\"certspotter\","
           "\"watch\":4,\"entries\":%llu,\"seconds\":%.2f,\"entries_per_s\":%.0f,"
           "\"bound_entries_per_s\":%.0f,\"ratio\":%.3f,\"verified\":true}\n",
           (unsigned long long)size, dt, rate, bound, bound > 0 ? rate / bound : 0.0);
    fflush(stdout);
    arb_test_rmtree(state);
out:
    EVP_PKEY_free(pk);
    OPENSSL_free(der);
    free(key64);
    free(id64);
    return rate;
}

/* Requests/s of wrk (2 threads, `conns` connections, 5 s) on url; 0 on failure. */
static double wrk_rate(const char *wrk, const char *url, int conns)
{
    char cmd[1400], line[512];
    double rate = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "%s -t%d -c%d -d5s %s 2>&1", wrk, conns < 2 ? 1 : 2, conns, url);
    if ((p = popen(cmd, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), p) != NULL)
        if (sscanf(line, "Requests/sec: %lf", &rate) == 1)
            break;
    while (fgets(line, sizeof(line), p) != NULL)
        ;
    pclose(p);
    return rate;
}

/* One full data tile (static-ct-api "Log Entries") of the log, from arbord and
 * from nginx serving the same bytes as a static file. */
static int tile_vs_nginx(uint64_t size)
{
    char nginx[600], wrk[600], www[800], conf[800], dirp[1000], filep[1000], url[200],
        path[ARB_TILE_PATH_MAX], text[8192];
    arb_tile tl;
    CURL *c;
    body b;
    pid_t ng;
    int nport, up = 0, st, ok = 0;

    if (!find_prog("wrk", wrk, sizeof(wrk)) ||
        (!find_prog("nginx", nginx, sizeof(nginx)) &&
         access(strcpy(nginx, "/usr/sbin/nginx"), X_OK) != 0)) {
        printf("{\"bench\":\"data_tile\",\"note\":\"wrk or nginx (Debian packages) not found: "
               "no comparison\"}\n");
        return 1;
    }
    memset(&tl, 0, sizeof(tl));
    tl.kind = ARB_TILE_DATA;
    tl.index = size / ARB_TILE_WIDTH / 2;
    tl.width = arb_tile_width(size, 0, tl.index);
    if (arb_tile_path(&tl, path, sizeof(path)) != ARB_OK || (c = curl_easy_init()) == NULL)
        return 0;
    if (get(c, path, &b) != 200) {
        fprintf(stderr, "arbord does not serve %s\n", path);
        curl_easy_cleanup(c);
        free(b.data);
        return 0;
    }
    snprintf(www, sizeof(www), "%s/www", tmp);
    snprintf(filep, sizeof(filep), "%s/%s", www, path);
    /* nginx's workers run as another user when it is started as root */
    chmod(tmp, 0711);
    mkdir(www, 0755);
    for (char *q = filep + strlen(www) + 1; (q = strchr(q, '/')) != NULL; q++) {
        *q = '\0';
        mkdir(filep, 0755);
        *q = '/';
    }
    snprintf(dirp, sizeof(dirp), "%s", filep);
    *strrchr(dirp, '/') = '\0';
    mkdir(dirp, 0755);
    nport = arb_test_free_port();
    snprintf(conf, sizeof(conf), "%s/nginx.conf", tmp);
    snprintf(text, sizeof(text),
             "daemon off;\nworker_processes 2;\npid %s/nginx.pid;\nerror_log %s/nginx.err;\n"
             "events { worker_connections 256; }\n"
             "http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;\n"
             "  client_body_temp_path %s/ngx; proxy_temp_path %s/ngx; fastcgi_temp_path %s/ngx;\n"
             "  uwsgi_temp_path %s/ngx; scgi_temp_path %s/ngx;\n"
             "  server { listen 127.0.0.1:%d; root %s; } }\n",
             tmp, tmp, tmp, tmp, tmp, tmp, tmp, nport, www);
    if (!arb_test_write_file(filep, b.data, b.len) || !arb_test_write_file(conf, text, strlen(text))) {
        fprintf(stderr, "cannot write %s or %s\n", filep, conf);
        free(b.data);
        curl_easy_cleanup(c);
        return 0;
    }
    ng = fork();
    if (ng == 0) {
        const char *av[] = {nginx, "-c", conf, "-p", tmp, NULL};
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execv(nginx, (char *const *)av);
        _exit(127);
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", nport, path);
    for (int i = 0; i < 100 && ng > 0 && !up; i++) {
        arb_tl_http_opts at_nginx = bench_server_at(&srv, c);
        char abs[ARB_TILE_PATH_MAX + 1];
        body nb;
        at_nginx.port = nport;
        snprintf(abs, sizeof(abs), "/%s", path);
        up = arb_tl_http_raw(at_nginx, abs, NULL, 0, &nb) != 0 &&
             nb.len == b.len && memcmp(nb.data, b.data, b.len) == 0;
        free(nb.data);
        if (!up)
            usleep(50000);
    }
    curl_easy_cleanup(c);
    if (up) {
        static const int conns[] = {1, 16};
        char aurl[200];
        snprintf(aurl, sizeof(aurl), "http://127.0.0.1:%d/%s", srv.port, path);
        ok = 1;
        for (int k = 0; k < 2; k++) {
            double ra = wrk_rate(wrk, aurl, conns[k]), rn = wrk_rate(wrk, url, conns[k]);
            printf("{\"bench\":\"data_tile\",\"path\":\"%s\",\"bytes\":%zu,\"connections\":%d,"
                   "\"arbord_req_per_s\":%.0f,\"nginx_req_per_s\":%.0f,\"ratio\":%.3f}\n",
                   path, b.len, conns[k], ra, rn, rn > 0 ? ra / rn : 0.0);
            fflush(stdout);
            ok = ok && ra > 0 && rn > 0;
        }
    } else {
        fprintf(stderr, "nginx did not serve the tile (see %s/nginx.err)\n", tmp);
    }
    if (ng > 0) {
        kill(ng, SIGTERM);
        waitpid(ng, &st, 0);
    }
    free(b.data);
    return ok;
}

/* ---- the log ---- */

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    const char *keep = argc > 2 ? argv[2] : NULL;
    char dir[700], logp[700], pubp[800], root_hex[65];
    const bench_log_spec spec = {1000, 0}; /* serials from 1000, the same names */
    uint64_t size = 0;
    double bound;
    int ok;

    if (n < 1 || argc > 3) {
        fprintf(stderr, "usage: bench_audit_catchup [ENTRIES [KEEP_DIR]]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    arb_test_bin(arbord_bin, sizeof(arbord_bin), "arbord");
    arb_test_bin(audit_bin, sizeof(audit_bin), "arbor-audit");
    if (arb_test_tmpdir(tmp, sizeof(tmp)) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s", keep ? keep : tmp);
    snprintf(pubp, sizeof(pubp), "%s/pub.pem", dir);
    snprintf(logp, sizeof(logp), "%s/arbord.log", tmp);
    ok = bench_log_make(dir, n, &spec) && bench_server_start(&srv, arbord_bin, dir, logp) &&
         log_head(&size, root_hex);
    if (ok && size != (uint64_t)n)
        printf("{\"bench\":\"audit_catchup\",\"note\":\"the kept log has %llu entries\"}\n",
               (unsigned long long)size);
    bound = ok ? hash_bound(size, root_hex) : 0;
    ok = ok && bound > 0;
    ok = ok && catchup("rfc6962", 0, 0, size, root_hex, pubp, bound) > 0;
    ok = ok && catchup("rfc6962-watch", 0, 1, size, root_hex, pubp, bound) > 0;
    ok = ok && catchup("tiled", 1, 0, size, root_hex, pubp, bound) > 0;
    if (ok && getenv("ARB_BENCH_NO_CERTSPOTTER") == NULL)
        certspotter_catchup(size, pubp, bound);
    ok = ok && tile_vs_nginx(size);
    bench_server_stop(&srv);
    if (ok)
        arb_test_rmtree(tmp);
    else
        fprintf(stderr, "kept %s\n", tmp);
    curl_global_cleanup();
    return ok ? 0 : 1;
}
