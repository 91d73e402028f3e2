/* Storage core benchmark: synced batch writes per second for batches of 1 and
 * of 1000 entries (32-byte random keys, 100-byte values), and random point
 * reads. Prints one JSON line per figure.
 *   bench_store [DIR]   (default: a fresh directory under $TMPDIR or /tmp)
 * Opening:
 *   bench_store open DIR
 *       the size of an existing store (table files, write-ahead log) and the
 *       time and peak memory of opening it, e.g. the db/ directory of an
 *       arbord data directory after a bulk load (tests/bench/log_bulk.h);
 *   bench_store crash DIR SECONDS
 *       a child process writes log-shaped synced batches into a new store in
 *       DIR (256 entries each: a 1.5 KB certificate-like value, two hash
 *       index entries and a tree node per entry, a tree head per batch) and
 *       is killed with SIGKILL after SECONDS; then the same figures for the
 *       open that recovers it. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger/store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void rand_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = next_rand();
        for (size_t j = 0; j < 8 && i + j < n; j++)
            p[i + j] = (uint8_t)(r >> (8 * j));
    }
}

/* Writes synced batches of `per_batch` entries for about `seconds`. */
static int bench_write(arb_store *s, size_t per_batch, double seconds)
{
    arb_store_batch *b;
    arb_errbuf eb;
    uint8_t key[32], val[100];
    unsigned long batches = 0;
    double t0, t;

    if (arb_store_batch_new(&b, s) != ARB_OK)
        return 1;
    t0 = now_s();
    do {
        arb_store_batch_clear(b);
        for (size_t i = 0; i < per_batch; i++) {
            rand_fill(key, sizeof key);
            rand_fill(val, sizeof val);
            arb_store_batch_put(b, 0, key, sizeof key, val, sizeof val);
        }
        if (arb_store_write(s, b, ARB_STORE_SYNC, &eb) != ARB_OK) {
            fprintf(stderr, "bench_store: %s\n", eb.msg);
            arb_store_batch_free(b);
            return 1;
        }
        batches++;
        t = now_s() - t0;
    } while (t < seconds);
    arb_store_batch_free(b);
    printf("{\"bench\":\"store_synced_batch\",\"entries_per_batch\":%zu,\"key_bytes\":32,"
           "\"value_bytes\":100,\"batches\":%lu,\"seconds\":%.3f,\"batches_per_s\":%.1f,"
           "\"entries_per_s\":%.1f}\n",
           per_batch, batches, t, (double)batches / t, (double)batches * (double)per_batch / t);
    return 0;
}

/* Gets of 100,000 random keys that exist, after a flush: reads from table
 * files through the block cache (the data fits in the cache). */
static int bench_read(arb_store *s, double seconds)
{
    enum { N = 100000 };
    arb_store_batch *b;
    arb_errbuf eb;
    uint8_t key[32], val[100], out[100];
    uint64_t seed0 = 12345, hits = 0, gets = 0;
    double t0, t;

    if (arb_store_batch_new(&b, s) != ARB_OK)
        return 1;
    rng = seed0;
    for (int i = 0; i < N; i++) {
        rand_fill(key, sizeof key);
        rand_fill(val, sizeof val);
        arb_store_batch_put(b, 1, key, sizeof key, val, sizeof val);
        if (i % 1000 == 999) {
            if (arb_store_write(s, b, 0, &eb) != ARB_OK)
                goto fail;
            arb_store_batch_clear(b);
        }
    }
    if (arb_store_flush(s, &eb) != ARB_OK)
        goto fail;
    t0 = now_s();
    do {
        /* One pass over every key: replay the generator from the seed. */
        rng = seed0;
        for (int i = 0; i < N; i++) {
            size_t len;
            rand_fill(key, sizeof key);
            rand_fill(val, sizeof val);
            if (arb_store_get_into(s, NULL, 1, key, sizeof key, out, sizeof out, &len, &eb) ==
                ARB_OK)
                hits++;
            gets++;
        }
        t = now_s() - t0;
    } while (t < seconds);
    arb_store_batch_free(b);
    if (hits != gets) {
        fprintf(stderr, "bench_store: %llu of %llu keys missing\n",
                (unsigned long long)(gets - hits), (unsigned long long)gets);
        return 1;
    }
    printf("{\"bench\":\"store_get\",\"key_bytes\":32,\"value_bytes\":100,\"gets\":%llu,"
           "\"seconds\":%.3f,\"gets_per_s\":%.1f}\n",
           (unsigned long long)gets, t, (double)gets / t);
    return 0;
fail:
    fprintf(stderr, "bench_store: %s\n", eb.msg);
    arb_store_batch_free(b);
    return 1;
}

/* Bytes in dir's files ending in suffix. */
static uint64_t bytes_of(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t total = 0;
    size_t sl = strlen(suffix);

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char path[1200];
        struct stat st;
        if (n < sl || strcmp(e->d_name + n - sl, suffix) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static long max_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

/* Opens dir (every column family it has) and closes it; one JSON line. */
static int bench_open(const char *dir, const char *what)
{
    uint64_t sst = bytes_of(dir, ".sst"), wal = bytes_of(dir, ".log");
    long rss0 = max_rss_kb();
    arb_store *s;
    arb_errbuf eb;
    arb_store_opts o;
    double t0 = now_s(), t_open, t_close;

    memset(&o, 0, sizeof o);
    o.no_create = 1;
    if (arb_store_open(&s, dir, NULL, 0, &o, &eb) != ARB_OK) {
        fprintf(stderr, "bench_store: %s\n", eb.msg);
        return 1;
    }
    t_open = now_s() - t0;
    arb_store_close(s);
    t_close = now_s() - t0 - t_open;
    printf("{\"bench\":\"store_open\",\"after\":\"%s\",\"table_mb\":%.1f,\"wal_mb\":%.1f,"
           "\"open_s\":%.3f,\"close_s\":%.3f,\"peak_rss_mb\":%.1f,\"rss_before_mb\":%.1f,"
           "\"wal_mb_after\":%.1f}\n",
           what, (double)sst / 1048576.0, (double)wal / 1048576.0, t_open, t_close,
           (double)max_rss_kb() / 1024.0, (double)rss0 / 1024.0,
           (double)bytes_of(dir, ".log") / 1048576.0);
    fflush(stdout);
    return 0;
}

/* The child of `crash`: log-shaped synced batches until killed. */
static void crash_writer(const char *dir, int report)
{
    static const char *const cfs[] = {"log_meta", "log_entries", "log_nodes", "log_leafhash",
                                      "log_dedup"};
    arb_store *s;
    arb_store_batch *b = NULL;
    arb_errbuf eb;
    uint8_t cert[1500], h[32], k8[8];
    uint64_t i = 0;

    if (arb_store_open(&s, dir, cfs, 5, NULL, &eb) != ARB_OK) {
        fprintf(stderr, "bench_store: %s\n", eb.msg);
        _exit(1);
    }
    for (;;) {
        if (arb_store_batch_new(&b, s) != ARB_OK)
            _exit(1);
        for (int k = 0; k < 256; k++, i++) {
            for (int j = 0; j < 8; j++)
                k8[j] = (uint8_t)(i >> (56 - 8 * j));
            rand_fill(cert, sizeof cert);
            arb_store_batch_put(b, 1, k8, 8, cert, sizeof cert);
            rand_fill(h, sizeof h);
            arb_store_batch_put(b, 2, k8, 8, h, 32);
            arb_store_batch_put(b, 3, h, 32, k8, 8);
            rand_fill(h, sizeof h);
            arb_store_batch_put(b, 4, h, 32, k8, 8);
        }
        arb_store_batch_put(b, 0, (const uint8_t *)"sth", 3, k8, 8);
        if (arb_store_write(s, b, ARB_STORE_SYNC, &eb) != ARB_OK)
            _exit(1);
        arb_store_batch_free(b);
        if (write(report, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(1);
    }
}

static int bench_crash(const char *dir, double seconds)
{
    int fds[2];
    pid_t pid;
    uint64_t n = 0, got;
    double t0;
    int st;
    char what[64];

    if (pipe(fds) != 0)
        return 1;
    if ((pid = fork()) == 0) {
        close(fds[0]);
        crash_writer(dir, fds[1]);
    }
    close(fds[1]);
    if (pid < 0)
        return 1;
    t0 = now_s();
    while (now_s() - t0 < seconds && read(fds[0], &got, sizeof got) == (ssize_t)sizeof got)
        n = got;
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    close(fds[0]);
    printf("{\"bench\":\"store_crash_load\",\"seconds\":%.1f,\"entries_committed\":%llu,"
           "\"entries_per_s\":%.0f}\n",
           seconds, (unsigned long long)n, (double)n / seconds);
    snprintf(what, sizeof what, "kill -9 after %.0f s of synced writes", seconds);
    return bench_open(dir, what);
}

int main(int argc, char **argv)
{
    static const char *const cfs[] = {"bench", "read"};
    char dir[512];
    arb_store *s;
    arb_errbuf eb;
    int rc = 0, made = 0;

    if (argc == 3 && strcmp(argv[1], "open") == 0)
        return bench_open(argv[2], "as found");
    if (argc == 4 && strcmp(argv[1], "crash") == 0)
        return bench_crash(argv[2], atof(argv[3]));
    if (argc > 1) {
        snprintf(dir, sizeof dir, "%s", argv[1]);
    } else {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/arbor-bench-XXXXXX", base && *base ? base : "/tmp");
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        made = 1;
    }
    if (arb_store_open(&s, dir, cfs, 2, NULL, &eb) != ARB_OK) {
        fprintf(stderr, "bench_store: %s\n", eb.msg);
        return 1;
    }
    rc |= bench_write(s, 1, 2.0);
    rc |= bench_write(s, 1000, 3.0);
    rc |= bench_read(s, 2.0);
    arb_store_close(s);
    if (made) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            rc = 1;
    }
    return rc;
}
