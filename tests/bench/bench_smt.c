/* Benchmarks the sparse Merkle tree (merkle/smt.h) with the in-memory store:
 * loading N random keys in batches, updating existing keys in batches (a
 * block's worth of changes at a time), building proofs and verifying
 * encoded proofs. Prints one JSON line per figure, and first the raw rate of
 * the same engine on 78-byte inputs (one tree hash), so figures taken on a
 * busy machine can be read as hashes per operation.
 *
 * Usage: bench_smt [N (default 100000)] [batch (default 1000)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merkle/smt.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*: reproducible keys without a shared random source. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = next();
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    unsigned long batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    unsigned long nupd = n < 200000 ? n : 200000, nproof = 20000;
    uint8_t(*keys)[32] = NULL;
    arb_smt_op *ops = NULL;
    arb_smt_mem *m = NULL;
    arb_smt_store st;
    arb_sha256 *h = NULL;
    arb_hash root;
    arb_buf *proofs = NULL;
    double t0, t;
    size_t total_len = 0;
    int rc = 1;

    if (n == 0 || batch == 0)
        return 2;
    keys = malloc(n * sizeof *keys);
    ops = malloc(batch * sizeof *ops);
    proofs = calloc(nproof, sizeof *proofs);
    if (keys == NULL || ops == NULL || proofs == NULL || arb_smt_mem_new(&m) != ARB_OK ||
        arb_sha256_new(&h) != ARB_OK)
        goto out;
    arb_smt_mem_store(m, &st);
    {
        uint8_t in[78], out[32];
        unsigned long nh = 2000000;
        memset(in, 0x5a, sizeof in);
        t0 = now();
        for (unsigned long i = 0; i < nh; i++) {
            in[0] = (uint8_t)i;
            arb_sha256_digest(h, out, in, sizeof in);
            in[1] ^= out[0];
        }
        t = now() - t0;
        printf("{\"bench\":\"sha256_78B\",\"per_s\":%.0f}\n", (double)nh / t);
    }
    fill(&keys[0][0], n * 32);
    arb_smt_empty(&root);

    t0 = now();
    for (unsigned long i = 0; i < n; i += batch) {
        size_t k = 0;
        for (unsigned long j = i; j < n && j < i + batch; j++, k++) {
            memcpy(ops[k].key, keys[j], 32);
            ops[k].del = 0;
            fill(ops[k].value_hash.b, 32);
        }
        if (arb_smt_update(h, &st, &root, ops, k, &root) != ARB_OK)
            goto out;
    }
    t = now() - t0;
    printf("{\"bench\":\"smt_insert\",\"keys\":%lu,\"batch\":%lu,\"per_s\":%.0f,\"nodes\":%zu}\n", n,
           batch, (double)n / t, arb_smt_mem_count(m));

    t0 = now();
    for (unsigned long i = 0; i < nupd; i += batch) {
        size_t k = 0;
        for (unsigned long j = i; j < nupd && j < i + batch; j++) {
            uint64_t at = next() % n;
            int dup = 0;
            for (size_t q = 0; q < k; q++)
                dup |= memcmp(ops[q].key, keys[at], 32) == 0;
            if (dup)
                continue;
            memcpy(ops[k].key, keys[at], 32);
            ops[k].del = 0;
            fill(ops[k].value_hash.b, 32);
            k++;
        }
        if (arb_smt_update(h, &st, &root, ops, k, &root) != ARB_OK)
            goto out;
    }
    t = now() - t0;
    printf("{\"bench\":\"smt_update\",\"keys\":%lu,\"batch\":%lu,\"updates\":%lu,\"per_s\":%.0f}\n",
           n, batch, nupd, (double)nupd / t);

    {
        arb_smt_proof *p = malloc(sizeof *p);
        if (p == NULL)
            goto out;
        t0 = now();
        for (unsigned long i = 0; i < nproof; i++) {
            if (arb_smt_prove(&st, &root, keys[i % n], p) != ARB_OK) {
                free(p);
                goto out;
            }
            arb_smt_proof_encode(&proofs[i], p);
            total_len += proofs[i].len;
        }
        t = now() - t0;
        free(p);
        printf("{\"bench\":\"smt_prove\",\"keys\":%lu,\"per_s\":%.0f,\"mean_proof_bytes\":%.1f}\n",
               n, (double)nproof / t, (double)total_len / (double)nproof);
    }

    t0 = now();
    for (unsigned long i = 0; i < nproof; i++) {
        int found;
        arb_hash vh;
        if (arb_smt_get(&st, &root, keys[i % n], &found, &vh) != ARB_OK || !found)
            goto out;
        if (arb_smt_verify(h, &root, keys[i % n], &vh, proofs[i].data, proofs[i].len, NULL) !=
            ARB_OK)
            goto out;
    }
    t = now() - t0;
    printf("{\"bench\":\"smt_verify\",\"keys\":%lu,\"per_s\":%.0f,\"note\":\"get + decode + verify\"}\n",
           n, (double)nproof / t);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "bench_smt: failed\n");
    if (proofs != NULL)
        for (unsigned long i = 0; i < nproof; i++)
            arb_buf_free(&proofs[i]);
    free(proofs);
    free(keys);
    free(ops);
    arb_smt_mem_free(m);
    arb_sha256_free(h);
    return rc;
}
