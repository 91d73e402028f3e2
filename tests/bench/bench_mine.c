/* Mining speed: nonces per second through arb_chain_mine_header (SHA-256
 * midstate: the header's first 64 bytes hashed once, then per nonce one
 * compression for the last 16 bytes and one for the second SHA-256; two
 * nonces interleaved with the SHA extensions where the CPU has them), with one
 * thread and with T threads, next to the raw SHA-256 compression rate measured
 * in the same run (EVP over a 1 MiB buffer: bytes / 64 compressions, OpenSSL's
 * block function at its best). The bound for nonces per second per thread is
 * half the compression rate. Also the EVP context copy rate, what a midstate
 * through EVP would pay per nonce on top.
 * Prints one JSON line per figure. Usage: bench_mine [threads] [seconds] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ledger/chain/header.h"
#include "ledger/chain/mine.h"
#include "merkle/hash.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double seconds = 1.0;

/* Compressions per second of SHA-256 over a long buffer. */
static double compress_rate(void)
{
    size_t len = 1u << 20;
    uint8_t *buf = calloc(1, len), out[32];
    unsigned int n = 0;
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    double t0 = now_s(), t;
    uint64_t rounds = 0;

    if (buf == NULL || md == NULL)
        abort();
    do {
        if (!EVP_Digest(buf, len, out, &n, md, NULL))
            abort();
        rounds++;
        t = now_s();
    } while (t - t0 < seconds);
    EVP_MD_free(md);
    free(buf);
    return (double)rounds * (double)(len / 64) / (t - t0);
}

/* EVP_MD_CTX_copy_ex per second (what the midstate does once per nonce). */
static double copy_rate(void)
{
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
    uint8_t block[64] = {0};
    double t0, t;
    uint64_t n = 0;

    if (md == NULL || a == NULL || b == NULL || !EVP_DigestInit_ex2(a, md, NULL) ||
        !EVP_DigestUpdate(a, block, 64))
        abort();
    t0 = now_s();
    do {
        for (int i = 0; i < 10000; i++)
            if (!EVP_MD_CTX_copy_ex(b, a))
                abort();
        n += 10000;
        t = now_s();
    } while (t - t0 < seconds);
    EVP_MD_CTX_free(a);
    EVP_MD_CTX_free(b);
    EVP_MD_free(md);
    return (double)n / (t - t0);
}

typedef struct {
    uint32_t start;
    uint64_t tries;
    double elapsed;
} job;

/* Grinds nonces on a header whose target is never met (a mainnet-like
 * difficulty), so every nonce is tried. */
static void *grind(void *p)
{
    job *j = p;
    arb_block_header h;
    double t0, t;

    memset(&h, 0, sizeof(h));
    h.version = 1;
    h.time = 1700000000u;
    h.bits = 0x1800ffffu;
    h.prev.b[0] = (uint8_t)j->start;
    j->tries = 0;
    t0 = now_s();
    do {
        if (arb_chain_mine_header(&h, j->start + (uint32_t)j->tries, 1u << 16))
            h.time++; /* astronomically unlikely; keep grinding */
        j->tries += 1u << 16;
        t = now_s();
    } while (t - t0 < seconds);
    j->elapsed = t - t0;
    return NULL;
}

static int accelerated(void)
{
    arb_sha256_mid *m = NULL;
    int a;

    if (arb_sha256_mid_new(&m) != ARB_OK)
        abort();
    a = arb_sha256_mid_accelerated(m);
    arb_sha256_mid_free(m);
    return a;
}

static double run(unsigned threads)
{
    pthread_t tid[256];
    job jobs[256];
    double total = 0;

    for (unsigned i = 0; i < threads; i++) {
        jobs[i].start = i << 24;
        if (pthread_create(&tid[i], NULL, grind, &jobs[i]) != 0)
            abort();
    }
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += (double)jobs[i].tries / jobs[i].elapsed;
    }
    return total;
}

int main(int argc, char **argv)
{
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : (nc > 0 ? (unsigned)nc : 1);
    double comp, copy, one, all;

    if (argc > 2)
        seconds = atof(argv[2]);
    if (threads < 1 || threads > 256 || seconds <= 0) {
        fprintf(stderr, "usage: bench_mine [threads 1..256] [seconds]\n");
        return 2;
    }
    comp = compress_rate();
    copy = copy_rate();
    one = run(1);
    all = run(threads);
    printf("{\"bench\":\"sha256_compress\",\"per_s\":%.0f}\n", comp);
    printf("{\"bench\":\"evp_ctx_copy\",\"per_s\":%.0f}\n", copy);
    printf("{\"bench\":\"mine_1_thread\",\"hashes_per_s\":%.0f,\"bound_per_s\":%.0f,"
           "\"ratio\":%.3f,\"sha_extensions\":%s}\n",
           one, comp / 2, one / (comp / 2), accelerated() ? "true" : "false");
    printf("{\"bench\":\"mine_all_threads\",\"threads\":%u,\"hashes_per_s\":%.0f,"
           "\"per_thread\":%.0f,\"bound_per_thread\":%.0f,\"ratio\":%.3f}\n",
           threads, all, all / threads, comp / 2, all / threads / (comp / 2));
    return 0;
}
