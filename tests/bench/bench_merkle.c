/* Benchmarks the RFC 6962 tree code: compact-range appends against the raw
 * SHA-256 rate of the same engine, and proof building from an in-memory node
 * store (every level kept, built level by level) at 10^6 and 10^7 leaves.
 * Prints one JSON line per figure. Best of three runs for the rates.
 *
 * Usage: bench_merkle [leaves_for_append (default 1000000)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merkle/proof.h"
#include "merkle/range.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint8_t sink;

/* SHA-256 of 64-byte inputs through the engine (init, update, final). */
static double raw_rate(arb_sha256 *h, unsigned long n)
{
    uint8_t in[64], out[32];
    memset(in, 0x5a, sizeof in);
    double t0 = now();
    for (unsigned long i = 0; i < n; i++) {
        in[0] = (uint8_t)i;
        in[1] = (uint8_t)(i >> 8);
        arb_sha256_digest(h, out, in, sizeof in);
        in[2] ^= out[0];
    }
    double t = now() - t0;
    sink = in[2];
    return (double)n / t;
}

/* Appends n leaves of 64 bytes each (leaf hash + append). */
static double append_rate(arb_sha256 *h, unsigned long n, int prehashed)
{
    arb_merkle_range r;
    uint8_t leaf[64];
    arb_hash lh, root;
    memset(leaf, 0xa5, sizeof leaf);
    memset(&lh, 0x33, sizeof lh);
    arb_merkle_range_init(&r);
    double t0 = now();
    for (unsigned long i = 0; i < n; i++) {
        if (prehashed) {
            lh.b[0] = (uint8_t)i;
            lh.b[1] = (uint8_t)(i >> 8);
            if (arb_merkle_range_append(&r, h, &lh) != ARB_OK)
                abort();
        } else {
            leaf[0] = (uint8_t)i;
            leaf[1] = (uint8_t)(i >> 8);
            leaf[2] = (uint8_t)(i >> 16);
            if (arb_merkle_range_append_leaf(&r, h, leaf, sizeof leaf) != ARB_OK)
                abort();
        }
    }
    arb_merkle_range_root(&r, h, &root);
    double t = now() - t0;
    sink = root.b[0];
    return (double)n / t;
}

typedef struct {
    arb_hash *lvl[64];
    uint64_t cnt[64];
} store;

static arb_err store_get(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    store *s = ud;
    if (level >= 64 || index >= s->cnt[level])
        return ARB_ERR_NOT_FOUND;
    *out = s->lvl[level][index];
    return ARB_OK;
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void bench_proofs(arb_sha256 *h, uint64_t n)
{
    store s;
    double t0, t;
    uint64_t x = 88172645463325252ull;
    arb_hash proof[ARB_MERKLE_MAX_PROOF], root;
    size_t pn;
    const unsigned long iters = 200000;

    memset(&s, 0, sizeof s);
    t0 = now();
    s.cnt[0] = n;
    s.lvl[0] = malloc(n * sizeof(arb_hash));
    if (s.lvl[0] == NULL)
        abort();
    for (uint64_t i = 0; i < n; i++) {
        uint8_t le[8];
        for (int k = 0; k < 8; k++)
            le[k] = (uint8_t)(i >> (8 * k));
        arb_merkle_leaf_hash(h, &s.lvl[0][i], le, sizeof le);
    }
    for (int l = 1; l < 64 && (n >> l) > 0; l++) {
        s.cnt[l] = n >> l;
        s.lvl[l] = malloc(s.cnt[l] * sizeof(arb_hash));
        if (s.lvl[l] == NULL)
            abort();
        for (uint64_t i = 0; i < s.cnt[l]; i++)
            arb_merkle_node_hash(h, &s.lvl[l][i], &s.lvl[l - 1][2 * i], &s.lvl[l - 1][2 * i + 1]);
    }
    t = now() - t0;
    printf("{\"bench\":\"merkle_store_build\",\"leaves\":%llu,\"seconds\":%.3f}\n",
           (unsigned long long)n, t);

    arb_merkle_source src = {store_get, &s};
    /* Inclusion proofs at random indices in random tree sizes near n. */
    t0 = now();
    for (unsigned long i = 0; i < iters; i++) {
        uint64_t size = n - rnd(&x) % (n / 2);
        uint64_t idx = rnd(&x) % size;
        if (arb_merkle_inclusion_build(h, &src, idx, size, proof, &pn) != ARB_OK)
            abort();
    }
    t = now() - t0;
    printf("{\"bench\":\"merkle_inclusion_build\",\"leaves\":%llu,\"proofs_per_s\":%.0f,"
           "\"us_per_proof\":%.3f}\n",
           (unsigned long long)n, (double)iters / t, t / (double)iters * 1e6);
    t0 = now();
    for (unsigned long i = 0; i < iters; i++) {
        uint64_t size = n - rnd(&x) % (n / 2);
        uint64_t m = 1 + rnd(&x) % size;
        if (arb_merkle_consistency_build(h, &src, m, size, proof, &pn) != ARB_OK)
            abort();
    }
    t = now() - t0;
    printf("{\"bench\":\"merkle_consistency_build\",\"leaves\":%llu,\"proofs_per_s\":%.0f,"
           "\"us_per_proof\":%.3f}\n",
           (unsigned long long)n, (double)iters / t, t / (double)iters * 1e6);
    /* Verification, for scale. */
    uint64_t size = n - 12345, idx = 4242;
    if (arb_merkle_inclusion_build(h, &src, idx, size, proof, &pn) != ARB_OK ||
        arb_merkle_source_root(h, &src, size, &root) != ARB_OK)
        abort();
    t0 = now();
    for (unsigned long i = 0; i < iters; i++) {
        if (arb_merkle_inclusion_verify(h, idx, size, &s.lvl[0][idx], proof, pn, &root, NULL) !=
            ARB_OK)
            abort();
    }
    t = now() - t0;
    printf("{\"bench\":\"merkle_inclusion_verify\",\"leaves\":%llu,\"proofs_per_s\":%.0f,"
           "\"us_per_proof\":%.3f}\n",
           (unsigned long long)n, (double)iters / t, t / (double)iters * 1e6);
    for (int l = 0; l < 64; l++)
        free(s.lvl[l]);
}

int main(int argc, char **argv)
{
    arb_sha256 *h;
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    double raw = 0, app = 0, pre = 0;

    if (n < 2 || arb_sha256_new(&h) != ARB_OK)
        return 1;
    for (int k = 0; k < 3; k++) {
        double v = raw_rate(h, n);
        raw = v > raw ? v : raw;
        v = append_rate(h, n, 0);
        app = v > app ? v : app;
        v = append_rate(h, n, 1);
        pre = v > pre ? v : pre;
    }
    /* Appending a leaf = its leaf hash + one node hash on average: the bound
     * is half the raw single-block rate. */
    printf("{\"bench\":\"merkle_append\",\"leaves\":%lu,\"leaves_per_s\":%.0f,"
           "\"raw_sha256_per_s\":%.0f,\"ratio_to_bound\":%.3f}\n",
           n, app, raw, app / (raw / 2));
    /* Appending precomputed leaf hashes: one node hash on average. */
    printf("{\"bench\":\"merkle_append_prehashed\",\"leaves\":%lu,\"leaves_per_s\":%.0f,"
           "\"raw_sha256_per_s\":%.0f,\"ratio_to_bound\":%.3f}\n",
           n, pre, raw, pre / raw);
    fflush(stdout);
    bench_proofs(h, 1000000);
    fflush(stdout);
    bench_proofs(h, 10000000);
    arb_sha256_free(h);
    return 0;
}
