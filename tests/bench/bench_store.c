/* Storage core benchmark: synced batch writes per second for batches of 1 and
 * of 1000 entries (32-byte random keys, 100-byte values), and random point
 * reads. Prints one JSON line per figure.
 *   bench_store [DIR]   (default: a fresh directory under $TMPDIR or /tmp) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
    static const char *const cfs[] = {"bench", "read"};
    char dir[512];
    arb_store *s;
    arb_errbuf eb;
    int rc = 0, made = 0;

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
