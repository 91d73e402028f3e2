/* The transparency log over HTTP, against a real arbord (regtest, temporary
 * data directories, a root generated here):
 *   write: add-chain throughput and latency (p50/p99) with 1, 16 and 64
 *     concurrent clients (threads, one libcurl handle each, keep-alive), each
 *     entry a distinct leaf generated beforehand (root -> intermediate -> leaf),
 *     once with group commit (--log-pool-ms 0, the default) and once with a
 *     25 ms pool window; next to the crypto bound measured in the same run: one
 *     chain validation plus one SCT signature per entry on 2 threads;
 *   read: a log of TREE_SIZE entries is bulk-loaded through the log's own
 *     sequencer (tests/bench/log_bulk.h), served by arbord, and get-sth,
 *     get-proof-by-hash (spread over many leaf hashes) and a full level-0 tile
 *     are loaded with wrk (tests/bench/wrk_paths.lua) with 1 and 16
 *     connections; without wrk on PATH, with the libcurl threads instead;
 *   a lone client taken apart: its median latency next to one entry's crypto
 *     on one thread (validation, SCT and tree head signatures) and one fsync on
 *     the same file system (target: within 0.3 ms; the median fdatasync of an
 *     appended 3 KiB block, as a write-ahead log grows, and of an overwritten
 *     one, as a recycled log file would be written, back to back; and of the
 *     appended block once per client latency, as the lone client's write
 *     meets it) and one thread wake-up, with arbord's own mean request,
 *     validation and commit times from /metrics.
 * One JSON line per figure on stdout. Usage:
 *   bench_log_http [--write-only] [ENTRIES_PER_LEVEL [TREE_SIZE]]   (defaults 2000, 1000000)
 * --write-only: group commit's write figures and the lone client only (no pool
 * window, no read phase), for comparing builds quickly.
 * arbord is found through ARB_BIN (default: ./arbord). */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "merkle/tile.h"
#include "tests/bench/log_bulk.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

static int port;
static pid_t child;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char *data;
    size_t len;
} body;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    char *d;

    if (b == NULL)
        return sz * n;
    d = realloc(b->data, b->len + sz * n + 1);
    if (d == NULL)
        return 0;
    memcpy(d + b->len, p, sz * n);
    b->len += sz * n;
    d[b->len] = 0;
    b->data = d;
    return sz * n;
}

/* One request on handle c (kept alive between calls); returns the status. */
static long req(CURL *c, const char *path, const char *post, body *out)
{
    char url[512];
    long st = 0;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (post != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    return st;
}

/* ---- write phase ---- */

static char **bodies; /* add-chain request bodies, one per entry */
static long n_bodies;
static atomic_long next_body;
static double *lat; /* per request, seconds */
static atomic_long errors;

static void *write_worker(void *arg)
{
    CURL *c = curl_easy_init();
    (void)arg;
    for (;;) {
        long i = atomic_fetch_add(&next_body, 1);
        double t0;
        if (i >= n_bodies)
            break;
        t0 = now_s();
        if (req(c, "/ct/v1/add-chain", bodies[i], NULL) != 200)
            atomic_fetch_add(&errors, 1);
        lat[i] = now_s() - t0;
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- crypto bound ---- */

typedef struct {
    const arb_ct_roots *roots;
    const arb_ct_signer *signer;
    arb_ct_cert_ref (*chains)[2];
    long from, to;
    int bad;
} crypto_arg;

static void *crypto_worker(void *arg)
{
    crypto_arg *a = arg;
    arb_errbuf eb;
    for (long i = a->from; i < a->to; i++) {
        arb_ct_chain *ch = NULL;
        arb_ct_sct sct;
        uint8_t sig[ARB_CT_SIG_MAX];
        arb_ct_signed_entry e;
        if (arb_ct_chain_validate(&ch, a->roots, NULL, 0, a->chains[i], 2, &eb) != ARB_OK) {
            a->bad++;
            continue;
        }
        memset(&e, 0, sizeof(e));
        e.entry_type = ARB_CT_ENTRY_X509;
        e.cert = a->chains[i][0].der;
        e.cert_len = a->chains[i][0].len;
        if (arb_ct_sct_sign(a->signer, &sct, sig, 1700000000000ull + (uint64_t)i, &e, NULL, 0) !=
            ARB_OK)
            a->bad++;
        arb_ct_chain_free(ch);
    }
    return NULL;
}

/* ---- read phase ---- */

typedef struct {
    const char **paths;
    size_t n_paths;
    double until;
    long done;
    long bad;
} read_arg;

static void *read_worker(void *arg)
{
    read_arg *a = arg;
    CURL *c = curl_easy_init();
    size_t k = ((size_t)(uintptr_t)a / 64) * 7919;
    body b;
    while (now_s() < a->until) {
        long st = req(c, a->paths[k++ % a->n_paths], NULL, &b);
        free(b.data);
        if (st == 200)
            a->done++;
        else
            a->bad++;
    }
    curl_easy_cleanup(c);
    return NULL;
}

static double read_rate(const char *what, const char **paths, size_t n, int clients, double secs)
{
    pthread_t th[64];
    read_arg a[64];
    long done = 0, bad = 0;
    double t0 = now_s();

    for (int i = 0; i < clients; i++) {
        a[i] = (read_arg){paths, n, t0 + secs, 0, 0};
        pthread_create(&th[i], NULL, read_worker, &a[i]);
    }
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        done += a[i].done;
        bad += a[i].bad;
    }
    double r = (double)done / (now_s() - t0);
    printf("{\"bench\":\"log_http_read\",\"generator\":\"libcurl\",\"what\":\"%s\",\"clients\":%d,\"requests\":%ld,"
           "\"errors\":%ld,\"req_per_s\":%.0f}\n",
           what, clients, done, bad, r);
    fflush(stdout);
    return r;
}

static char tmp[512], arbord_bin[1024];

static void stop_server(void)
{
    int st;
    if (child > 0) {
        kill(child, SIGTERM);
        waitpid(child, &st, 0);
        child = 0;
    }
}

/* Starts arbord (regtest) on datadir with more arguments (NULL-terminated)
 * and waits until it answers get-sth. */
static int start_server(const char *datadir, const char *const *extra)
{
    char listen[64];
    CURL *c;
    int up = 0;

    port = arb_test_free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    child = fork();
    if (child == 0) {
        const char *av[32];
        int n = 0;
        char logp[700];
        snprintf(logp, sizeof(logp), "%s/arbord.log", tmp);
        if (freopen(logp, "a", stderr) == NULL)
            _exit(126);
        av[n++] = arbord_bin;
        av[n++] = "--datadir";
        av[n++] = datadir;
        av[n++] = "--listen";
        av[n++] = listen;
        av[n++] = "--network";
        av[n++] = "regtest";
        for (int i = 0; extra[i] != NULL && n < 31; i++)
            av[n++] = extra[i];
        av[n] = NULL;
        execv(arbord_bin, (char *const *)av);
        _exit(127);
    }
    c = curl_easy_init();
    for (int i = 0; i < 600 && !up && child > 0; i++) {
        up = req(c, "/ct/v1/get-sth", NULL, NULL) == 200;
        if (!up)
            usleep(50000);
    }
    curl_easy_cleanup(c);
    if (!up) {
        fprintf(stderr, "arbord did not start (%s; see %s/arbord.log)\n", arbord_bin, tmp);
        stop_server();
    }
    return up;
}


/* ---- the single client's latency, taken apart ---- */

/* Sum and count of histogram `name` (the series whose labels contain
 * `label`, or the unlabelled one with label NULL) from arbord's /metrics. */
static int metric_hist(const char *name, const char *label, double *sum, double *count)
{
    CURL *c = curl_easy_init();
    body b;
    int found = 0;
    char pre[200];

    *sum = *count = 0;
    if (c == NULL)
        return 0;
    if (req(c, "/metrics", NULL, &b) == 200 && b.data != NULL) {
        for (char *line = strtok(b.data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            char *sp = strrchr(line, ' ');
            if (sp == NULL || (label != NULL && strstr(line, label) == NULL))
                continue;
            snprintf(pre, sizeof pre, "%s_sum", name);
            if (strncmp(line, pre, strlen(pre)) == 0 && (line[strlen(pre)] == '{' || line[strlen(pre)] == ' ')) {
                *sum = strtod(sp + 1, NULL);
                found |= 1;
            }
            snprintf(pre, sizeof pre, "%s_count", name);
            if (strncmp(line, pre, strlen(pre)) == 0 && (line[strlen(pre)] == '{' || line[strlen(pre)] == ' ')) {
                *count = strtod(sp + 1, NULL);
                found |= 2;
            }
        }
    }
    free(b.data);
    curl_easy_cleanup(c);
    return found == 3;
}

/* A lone entry's write-ahead log record is about this size (one entry, its
 * issuer, tree nodes, indexes and the signed tree head). */
#define WAL_RECORD_BYTES 3072

/* Median time of writing a WAL_RECORD_BYTES block to a file in dir and
 * fdatasync'ing it, 200 times.
 * overwrite = 0: appended at the end of the file (the file grows, so the sync
 * also commits its new size: what an appending write-ahead log costs);
 * overwrite = 1: written over blocks the file already has (a file written
 * once and synced beforehand, as a recycled write-ahead log file is), so the
 * sync writes data only.
 * period = 0: back to back; else one every `period` seconds, the CPU busy in
 * between, as the server's is between two lone submissions. A virtual disk
 * answers a sync issued right after the last one faster than one issued
 * after a pause: back to back is the best case, paced at a lone client's
 * latency it is the fsync that client's request meets. */
static double fsync_median(const char *dir, int overwrite, double period)
{
    char path[700];
    double t[200];
    uint8_t buf[WAL_RECORD_BYTES];
    int fd, ok = 1;

    snprintf(path, sizeof path, "%s/fsync-probe-%d", dir, overwrite);
    if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
        return -1;
    memset(buf, 0x5a, sizeof buf);
    if (overwrite) {
        for (int i = 0; i < 200 && ok; i++)
            ok = write(fd, buf, sizeof buf) == (ssize_t)sizeof buf;
        ok = ok && fsync(fd) == 0;
    }
    for (int i = 0; i < 200 && ok; i++) {
        double t0 = now_s();
        ok = (overwrite ? pwrite(fd, buf, sizeof buf, (off_t)i * (off_t)sizeof buf)
                        : write(fd, buf, sizeof buf)) == (ssize_t)sizeof buf &&
             fdatasync(fd) == 0;
        t[i] = now_s() - t0;
        while (now_s() < t0 + period)
            ; /* busy, like the server between two submissions */
    }
    close(fd);
    unlink(path);
    if (!ok)
        return -1;
    qsort(t, 200, sizeof t[0], cmp_d);
    return t[100];
}

/* One entry's crypto on one thread: chain validation, the SCT signature and
 * the tree head signature (a lone submission is a batch of its own). */
static double crypto_one(const arb_ct_roots *roots, const arb_ct_signer *signer,
                         arb_ct_cert_ref (*chains)[2], long n)
{
    double t0 = now_s();
    arb_errbuf eb;
    uint8_t root[32] = {0};

    for (long i = 0; i < n; i++) {
        arb_ct_chain *ch = NULL;
        arb_ct_sct sct;
        uint8_t sig[ARB_CT_SIG_MAX];
        arb_ct_dsig d;
        arb_ct_signed_entry e;
        if (arb_ct_chain_validate(&ch, roots, NULL, 0, chains[i], 2, &eb) != ARB_OK)
            return -1;
        memset(&e, 0, sizeof(e));
        e.entry_type = ARB_CT_ENTRY_X509;
        e.cert = chains[i][0].der;
        e.cert_len = chains[i][0].len;
        if (arb_ct_sct_sign(signer, &sct, sig, 1700000000000ull + (uint64_t)i, &e, NULL, 0) != ARB_OK ||
            arb_ct_sth_sign(signer, &d, sig, 1700000000000ull + (uint64_t)i, (uint64_t)i + 1, root) !=
                ARB_OK)
            return -1;
        arb_ct_chain_free(ch);
    }
    return (now_s() - t0) / (double)n;
}

/* One thread hand-off as the log's path makes it: a thread asleep on a
 * condition variable (here for 1 ms, about a lone submission's gap) woken by
 * another; the median time from the signal to the woken thread running. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;
    double sent;
    double lat[400];
} wake_probe;

static void *wake_waiter(void *arg)
{
    wake_probe *w = arg;

    for (int i = 0; i < 400; i++) {
        pthread_mutex_lock(&w->mu);
        while (!w->go)
            pthread_cond_wait(&w->cv, &w->mu);
        w->go = 0;
        w->lat[i] = now_s() - w->sent;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

static double wake_median(void)
{
    static wake_probe w;
    pthread_t th;

    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    w.go = 0;
    if (pthread_create(&th, NULL, wake_waiter, &w) != 0)
        return -1;
    for (int i = 0; i < 400; i++) {
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
        pthread_mutex_lock(&w.mu);
        while (w.go) /* the last one not taken yet */
            pthread_cond_wait(&w.cv, &w.mu);
        w.sent = now_s();
        w.go = 1;
        pthread_cond_signal(&w.cv);
        pthread_mutex_unlock(&w.mu);
    }
    pthread_join(th, NULL);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    qsort(w.lat, 400, sizeof w.lat[0], cmp_d);
    return w.lat[200];
}

static double g_crypto_one, g_fsync, g_fsync_over;

/* ---- write phase ---- */

static int write_phase(unsigned pool_ms, long per, double bound, const char *roots_path)
{
    static const int levels[3] = {1, 16, 64};
    char datadir[600], pool[16];
    const char *extra[] = {"--log-roots", roots_path, "--log-pool-ms", pool, NULL};

    snprintf(datadir, sizeof(datadir), "%s/write-%u", tmp, pool_ms);
    snprintf(pool, sizeof(pool), "%u", pool_ms);
    if (!start_server(datadir, extra))
        return 0;
    for (int lv = 0; lv < 3; lv++) {
        pthread_t th[64];
        long base = per * lv;
        double t0, dt;
        char **saved = bodies;
        double *saved_lat = lat;

        double hs0 = 0, hc0 = 0, cs0 = 0, cc0 = 0, vs0 = 0, vc0 = 0;
        int single = pool_ms == 0 && levels[lv] == 1;

        if (single) { /* a histogram has no series before its first value: zero */
            (void)metric_hist("arbor_http_request_duration_seconds", "add-chain", &hs0, &hc0);
            (void)metric_hist("arbor_log_commit_seconds", NULL, &cs0, &cc0);
            (void)metric_hist("arbor_log_validate_seconds", NULL, &vs0, &vc0);
        }

        atomic_store(&errors, 0);
        atomic_store(&next_body, 0);
        n_bodies = per;
        bodies += base;
        lat += base;
        t0 = now_s();
        for (int i = 0; i < levels[lv]; i++)
            pthread_create(&th[i], NULL, write_worker, NULL);
        for (int i = 0; i < levels[lv]; i++)
            pthread_join(th[i], NULL);
        dt = now_s() - t0;
        qsort(lat, (size_t)per, sizeof(*lat), cmp_d);
        printf("{\"bench\":\"log_http_add_chain\",\"pool_ms\":%u,\"clients\":%d,\"entries\":%ld,"
               "\"errors\":%ld,\"entries_per_s\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
               "\"bound_entries_per_s\":%.0f,\"ratio\":%.2f}\n",
               pool_ms, levels[lv], per, atomic_load(&errors), per / dt, lat[per / 2] * 1e3,
               lat[per * 99 / 100] * 1e3, bound, per / dt / bound);
        fflush(stdout);
        if (single) {
            /* Where a lone client's time goes: its median latency next to
             * one entry's crypto and one fsync (the target: within 0.3 ms),
             * the fsync measured as this client meets it (one every p50,
             * the server busy in between; extra_ms), back to back (the best
             * case; extra_b2b_ms) and as arbord's own mean synced write
             * (extra_commit_ms), and, from arbord's own histograms,
             * the mean time inside the server, in the chain's validation and
             * in the synced write; what is left of the client's time is the
             * client and the loopback. */
            double hs, hc, cs, cc, vs, vc;
            if (metric_hist("arbor_http_request_duration_seconds", "add-chain", &hs, &hc) &&
                metric_hist("arbor_log_commit_seconds", NULL, &cs, &cc) &&
                metric_hist("arbor_log_validate_seconds", NULL, &vs, &vc) && hc > hc0 &&
                cc > cc0 && vc > vc0) {
                double p50 = lat[per / 2], srv = (hs - hs0) / (hc - hc0),
                       commit = (cs - cs0) / (cc - cc0), validate = (vs - vs0) / (vc - vc0),
                       paced = fsync_median(tmp, 0, p50);
                printf("{\"bench\":\"log_single_client\",\"p50_ms\":%.3f,\"crypto_ms\":%.3f,"
                       "\"fsync_paced_ms\":%.3f,\"fsync_b2b_ms\":%.3f,\"extra_ms\":%.3f,"
                       "\"extra_b2b_ms\":%.3f,\"extra_commit_ms\":%.3f,\"target_extra_ms\":0.3,"
                       "\"server_mean_ms\":%.3f,\"validate_mean_ms\":%.3f,"
                       "\"commit_mean_ms\":%.3f,\"server_other_ms\":%.3f,"
                       "\"outside_server_ms\":%.3f}\n",
                       p50 * 1e3, g_crypto_one * 1e3, paced * 1e3, g_fsync * 1e3,
                       (p50 - g_crypto_one - paced) * 1e3, (p50 - g_crypto_one - g_fsync) * 1e3,
                       (p50 - g_crypto_one - commit) * 1e3,
                       srv * 1e3, validate * 1e3, commit * 1e3, (srv - validate - commit) * 1e3,
                       (p50 - srv) * 1e3);
                fflush(stdout);
            }
        }
        bodies = saved;
        lat = saved_lat;
    }
    stop_server();
    return 1;
}

/* ---- read phase ---- */

/* "/tile/0/..." of level-0 hash tile t (width 0: full). */
static int tile_url(char *out, size_t n, uint64_t t, unsigned width)
{
    arb_tile tl;

    tl.kind = ARB_TILE_HASH;
    tl.level = 0;
    tl.index = t;
    tl.width = width ? width : ARB_TILE_WIDTH;
    out[0] = '/';
    return arb_tile_path(&tl, out + 1, n - 1) == ARB_OK;
}

/* The wrk executable on PATH, or 0. */
static int find_wrk(char *out, size_t n)
{
    const char *path = getenv("PATH");
    char dir[1024];

    while (path != NULL && *path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && len < sizeof(dir)) {
            memcpy(dir, path, len);
            dir[len] = 0;
            snprintf(out, n, "%s/wrk", dir);
            if (access(out, X_OK) == 0)
                return 1;
        }
        path += len + (path[len] == ':');
    }
    return 0;
}

static char wrk_bin[1100];

/* Requests/s for GETs of the paths in paths_file, with wrk. */
static double wrk_rate(const char *what, const char *paths_file, int clients, int secs,
                       uint64_t tree_size)
{
    char cmd[4096], line[1024];
    FILE *p;
    json_t *d = NULL;
    double r = 0;

    snprintf(cmd, sizeof(cmd), "'%s' -t%d -c%d -d%ds -s '%s' http://127.0.0.1:%d -- '%s' 2>&1",
             wrk_bin, clients < 2 ? 1 : 2, clients, secs, ARB_BENCH_DIR "/wrk_paths.lua", port,
             paths_file);
    if ((p = popen(cmd, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), p) != NULL)
        if (line[0] == '{' && d == NULL)
            d = json_loads(line, 0, NULL);
    pclose(p);
    if (d == NULL) {
        fprintf(stderr, "wrk gave no result: %s\n", cmd);
        return 0;
    }
    {
        double reqs = (double)json_integer_value(json_object_get(d, "requests"));
        double us = (double)json_integer_value(json_object_get(d, "duration_us"));
        long errs = (long)(json_integer_value(json_object_get(d, "status_errors")) +
                           json_integer_value(json_object_get(d, "socket_errors")));
        r = us > 0 ? reqs / (us / 1e6) : 0;
        printf("{\"bench\":\"log_http_read\",\"generator\":\"wrk\",\"what\":\"%s\",\"tree_size\":%llu,"
               "\"clients\":%d,\"requests\":%.0f,\"errors\":%ld,\"req_per_s\":%.0f,"
               "\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
               what, (unsigned long long)tree_size, clients, reqs, errs, r,
               (double)json_integer_value(json_object_get(d, "p50_us")) / 1e3,
               (double)json_integer_value(json_object_get(d, "p99_us")) / 1e3);
        fflush(stdout);
    }
    json_decref(d);
    return r;
}

static int write_lines(const char *file, char **lines, size_t n)
{
    FILE *f = fopen(file, "w");

    if (f == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[i]);
    return fclose(f) == 0;
}

/* get-proof-by-hash paths for every stride-th leaf (hashes from the level-0 tiles). */
static char **proof_paths(uint64_t size, uint64_t stride, size_t *n_out)
{
    CURL *c = curl_easy_init();
    char **paths = calloc(size / stride + 2, sizeof(*paths));
    size_t n = 0;

    for (uint64_t t = 0; paths != NULL && t * 256 < size; t++) {
        unsigned w = size - t * 256 >= 256 ? 0 : (unsigned)(size - t * 256);
        unsigned count = w ? w : 256;
        char tp[128];
        body b;

        if (!tile_url(tp, sizeof(tp), t, w) || req(c, tp, NULL, &b) != 200 || b.len != 32 * count) {
            fprintf(stderr, "cannot read %s\n", tp);
            free(b.data);
            break;
        }
        for (unsigned i = 0; i < count; i++) {
            uint64_t leaf = t * 256 + i;
            char *enc, *esc;
            if (leaf % stride != 0)
                continue;
            enc = arb_base64_encode((const uint8_t *)b.data + 32 * i, 32);
            esc = enc ? curl_easy_escape(c, enc, 0) : NULL;
            paths[n] = malloc(200);
            if (esc == NULL || paths[n] == NULL) {
                free(enc);
                curl_free(esc);
                free(b.data);
                goto out;
            }
            snprintf(paths[n++], 200, "/ct/v1/get-proof-by-hash?hash=%s&tree_size=%llu", esc,
                     (unsigned long long)size);
            free(enc);
            curl_free(esc);
        }
        free(b.data);
    }
out:
    curl_easy_cleanup(c);
    *n_out = n;
    return paths;
}

static int read_phase(long tree, const log_bulk_config *base, const char *roots_path)
{
    char datadir[600], keypath[600], pf[3][700], tile_path[128], *one[3];
    const char *extra[] = {"--log-roots", roots_path, "--log-key", keypath, NULL};
    static const char *what[3] = {"get-sth", "get-proof-by-hash", "tile-0-full"};
    log_bulk_config bc = *base;
    arb_ct_signer *signer = NULL;
    unsigned long long size = 0;
    char *pem = NULL, **proofs;
    size_t pem_len = 0, n_proofs = 0;
    uint64_t stride;
    arb_errbuf eb;
    double t0, rate[3];
    int use_wrk = find_wrk(wrk_bin, sizeof(wrk_bin)), ok = 1;
    FILE *f;

    snprintf(datadir, sizeof(datadir), "%s/read", tmp);
    snprintf(keypath, sizeof(keypath), "%s/read-key.pem", tmp);
    if (arb_ct_signer_generate(&signer, &eb) != ARB_OK ||
        arb_ct_signer_private_pem(signer, &pem, &pem_len) != ARB_OK ||
        (f = fopen(keypath, "w")) == NULL) {
        arb_ct_signer_free(signer);
        free(pem);
        return 0;
    }
    ok = fwrite(pem, 1, pem_len, f) == pem_len;
    ok = fclose(f) == 0 && ok;
    free(pem);
    bc.datadir = datadir;
    bc.signer = signer;
    bc.origin = "arbor.localhost/log"; /* arbord's default */
    bc.n = tree;
    t0 = now_s();
    if (!ok || log_bulk_load(&bc, &size, &eb) != ARB_OK) {
        fprintf(stderr, "bulk load: %s\n", eb.msg);
        arb_ct_signer_free(signer);
        return 0;
    }
    printf("{\"bench\":\"log_bulk_load\",\"entries\":%ld,\"tree_size\":%llu,\"seconds\":%.1f,"
           "\"entries_per_s\":%.0f}\n",
           tree, size, now_s() - t0, (double)tree / (now_s() - t0));
    fflush(stdout);
    arb_ct_signer_free(signer);
    if (!start_server(datadir, extra))
        return 0;

    /* Up to 2^18 different leaf hashes, spread over the whole tree. */
    stride = size / 262144 + 1;
    proofs = proof_paths(size, stride, &n_proofs);
    snprintf(pf[0], sizeof(pf[0]), "%s/paths-sth.txt", tmp);
    snprintf(pf[1], sizeof(pf[1]), "%s/paths-proofs.txt", tmp);
    snprintf(pf[2], sizeof(pf[2]), "%s/paths-tile.txt", tmp);
    /* A full tile from the middle of the tree (the partial one for small trees). */
    tile_url(tile_path, sizeof(tile_path), size >= 256 ? size / 512 : 0,
             size >= 256 ? 0 : (unsigned)size);
    one[0] = "/ct/v1/get-sth";
    one[2] = tile_path;
    if (proofs == NULL || n_proofs == 0 || !write_lines(pf[0], one, 1) ||
        !write_lines(pf[1], proofs, n_proofs) || !write_lines(pf[2], one + 2, 1)) {
        fprintf(stderr, "cannot prepare the read requests\n");
        ok = 0;
    }
    if (ok && !use_wrk)
        printf("{\"bench\":\"log_http_read\",\"note\":\"wrk not found on PATH (Debian package "
               "wrk): using the libcurl threads\"}\n");
    for (int cl = 1; ok && cl <= 16; cl *= 16) {
        for (int k = 0; k < 3; k++) {
            if (use_wrk) {
                rate[k] = wrk_rate(what[k], pf[k], cl, 5, size);
            } else {
                const char **list = k == 1 ? (const char **)proofs : (const char **)one + k;
                rate[k] = read_rate(what[k], list, k == 1 ? n_proofs : 1, cl, 5.0);
            }
        }
        printf("{\"bench\":\"log_http_read_ratio\",\"generator\":\"%s\",\"tree_size\":%llu,"
               "\"clients\":%d,\"distinct_proof_hashes\":%zu,\"proofs_over_tiles\":%.2f,"
               "\"sth_over_tiles\":%.2f}\n",
               use_wrk ? "wrk" : "libcurl", size, cl, n_proofs,
               rate[2] > 0 ? rate[1] / rate[2] : 0.0, rate[2] > 0 ? rate[0] / rate[2] : 0.0);
        fflush(stdout);
    }
    for (size_t i = 0; proofs != NULL && i < n_proofs; i++)
        free(proofs[i]);
    free(proofs);
    stop_server();
    return ok;
}

int main(int argc, char **argv)
{
    int write_only = argc > 1 && strcmp(argv[1], "--write-only") == 0;
    long per, tree;
    int64_t t = (int64_t)time(NULL);
    EVP_PKEY *kr = pki_key(), *ki = pki_key(), *kl = pki_key();
    pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
    X509 *r = pki_cert(&sr, kr, NULL, NULL), *im = pki_cert(&si, ki, r, kr);
    size_t il, pem_len, total;
    uint8_t *id = pki_der(im, &il);
    char *pem = pki_pem(r, &pem_len), roots_path[600];
    arb_ct_roots *roots = NULL;
    arb_ct_signer *signer = NULL;
    arb_ct_cert_ref(*chains)[2];
    log_bulk_config bc;
    arb_errbuf eb;
    double bound;
    int ok;
    FILE *f;

    if (write_only) {
        argc--;
        argv++;
    }
    per = argc > 1 ? atol(argv[1]) : 2000;
    tree = argc > 2 ? atol(argv[2]) : 1000000;
    if (per < 64)
        per = 64;
    if (tree < 1)
        tree = 1;
    total = (size_t)per * 3;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    arb_test_bin(arbord_bin, sizeof(arbord_bin), "arbord");
    if (!id || !pem || arb_ct_roots_from_pem(&roots, pem, pem_len, &eb) != ARB_OK ||
        arb_test_tmpdir(tmp, sizeof(tmp)) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(roots_path, sizeof(roots_path), "%s/roots.pem", tmp);
    if ((f = fopen(roots_path, "w")) == NULL || fwrite(pem, 1, pem_len, f) != pem_len ||
        fclose(f) != 0) {
        fprintf(stderr, "cannot write roots\n");
        return 1;
    }
    /* Distinct leaves, generated beforehand. */
    chains = calloc(total, sizeof(*chains));
    bodies = calloc(total, sizeof(*bodies));
    lat = calloc(total, sizeof(*lat));
    for (size_t i = 0; i < total; i++) {
        pki_spec sl = {"leaf.example.test", NULL, 1000 + (long)i, t - 3600, t + 86400 * 90, 0};
        X509 *x = pki_cert(&sl, kl, im, ki);
        size_t len;
        chains[i][0].der = pki_der(x, &len);
        chains[i][0].len = len;
        chains[i][1].der = id;
        chains[i][1].len = il;
        X509_free(x);
        bodies[i] = arb_ct_json_chain(chains[i], 2);
        if (bodies[i] == NULL) {
            fprintf(stderr, "cannot build chains\n");
            return 1;
        }
    }

    /* Crypto bound: validation + SCT signature per entry, on 2 threads, over
     * the same chains, with a key like the log's. The median of three passes:
     * two threads in OpenSSL 3.0 contend for its shared locks, and one pass
     * can come out a third above or below the others. */
    {
        pthread_t th[2];
        crypto_arg ca[2];
        double t0, pass[3];
        int bad = 0;
        if (arb_ct_signer_generate(&signer, &eb) != ARB_OK)
            return 1;
        for (int p = 0; p < 3; p++) {
            t0 = now_s();
            for (int i = 0; i < 2; i++) {
                ca[i] = (crypto_arg){roots, signer, chains, (long)total * i / 2,
                                     (long)total * (i + 1) / 2, 0};
                pthread_create(&th[i], NULL, crypto_worker, &ca[i]);
            }
            for (int i = 0; i < 2; i++)
                pthread_join(th[i], NULL);
            pass[p] = (double)total / (now_s() - t0);
            bad += ca[0].bad + ca[1].bad;
        }
        qsort(pass, 3, sizeof pass[0], cmp_d);
        bound = pass[1];
        printf("{\"bench\":\"log_crypto_bound\",\"threads\":2,\"entries\":%zu,\"bad\":%d,"
               "\"entries_per_s\":%.0f,\"passes_min\":%.0f,\"passes_max\":%.0f}\n",
               total, bad, bound, pass[0], pass[2]);
        fflush(stdout);
    }

    /* A lone submission's parts: one entry's crypto on one thread, one
     * fsync on the file system of the data directories, one thread
     * wake-up. */
    g_crypto_one = crypto_one(roots, signer, chains, per < 500 ? per : 500);
    g_fsync = fsync_median(tmp, 0, 0);
    g_fsync_over = fsync_median(tmp, 1, 0);
    printf("{\"bench\":\"log_single_parts\",\"crypto_ms\":%.3f,\"fsync_ms\":%.3f,"
           "\"fsync_overwrite_ms\":%.3f,\"wakeup_us\":%.1f}\n",
           g_crypto_one * 1e3, g_fsync * 1e3, g_fsync_over * 1e3, wake_median() * 1e6);
    fflush(stdout);

    /* Write phase: group commit (the default), then a 25 ms pool window. */
    ok = write_phase(0, per, bound, roots_path) &&
         (write_only || write_phase(25, per, bound, roots_path));

    /* Read phase, on a bulk-loaded tree (leaf serials above the write phase's). */
    memset(&bc, 0, sizeof(bc));
    bc.root = r;
    bc.inter = im;
    bc.inter_key = ki;
    bc.leaf_key = kl;
    bc.first_serial = 1000 + (long)total;
    ok = ok && (write_only || read_phase(tree, &bc, roots_path));

    stop_server();
    if (ok)
        arb_test_rmtree(tmp);
    else
        fprintf(stderr, "kept %s\n", tmp);
    for (size_t i = 0; i < total; i++) {
        free(bodies[i]);
        free((void *)chains[i][0].der);
    }
    free(bodies);
    free(chains);
    free(lat);
    free(id);
    free(pem);
    arb_ct_roots_free(roots);
    arb_ct_signer_free(signer);
    X509_free(r);
    X509_free(im);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
    curl_global_cleanup();
    return ok ? 0 : 1;
}
