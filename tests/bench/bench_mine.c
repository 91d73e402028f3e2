/* Mining speed: nonces per second through arb_chain_mine_header (SHA-256
 * midstate: the header's first 64 bytes hashed once, then per nonce one
 * compression for the last 16 bytes and one for the second SHA-256; two
 * nonces interleaved with the SHA extensions where the CPU has them), with one
 * thread and with T threads, next to the raw SHA-256 compression rate measured
 * in the same run (EVP over a 1 MiB buffer: bytes / 64 compressions, OpenSSL's
 * block function at its best). The bound for nonces per second per thread is
 * half the compression rate. Also the EVP context copy rate, what a midstate
 * through EVP would pay per nonce on top.
 *
 * At a network's difficulty (regtest: half of all hashes qualify; test: about
 * one in 65,536) the same search restarts on a new header after each
 * solution, as a miner does after each block, with one midstate context per
 * thread (arb_chain_mine_header_mid, the call arbor-wallet mine makes, in
 * chunks of the same size): nonces per second and solutions per second, the
 * bound for the wallet's hashing rate and for its blocks per second if the
 * node took blocks for free.
 *
 * With a third argument N (and ARB_BIN naming the directory of arbord and
 * arbor-wallet), it then runs `arbor-wallet mine --blocks N` against a real
 * arbord on regtest and `--blocks N/5` on test, both with a fresh data
 * directory, and prints blocks per second and the wallet's hashing rate next
 * to the search's rate at that difficulty.
 *
 * Prints one JSON line per figure. Usage: bench_mine [threads] [seconds] [blocks] */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/header.h"
#include "ledger/chain/mine.h"
#include "ledger/chain/params.h"
#include "merkle/hash.h"
#include "tests/proc.h"
#include "tests/test.h"

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
    uint32_t bits;      /* 0: a target that is never met */
    uint64_t tries;
    uint64_t solutions;
    double elapsed;
} job;

/* The wallet's chunk (wallet/cli_mine.c MINE_CHUNK). */
#define CHUNK 16384u

/* Grinds at j->bits: after each solution a new header (another merkle
 * root), the search from the slice's start again. */
static void *grind_at(void *p)
{
    job *j = p;
    arb_block_header h;
    arb_sha256_mid *mid = NULL;
    uint32_t next = j->start;
    double t0, t;

    if (arb_sha256_mid_new(&mid) != ARB_OK)
        abort();
    memset(&h, 0, sizeof(h));
    h.version = 1;
    h.time = 1700000000u;
    h.bits = j->bits;
    h.prev.b[0] = (uint8_t)j->start;
    j->tries = j->solutions = 0;
    t0 = now_s();
    do {
        for (int k = 0; k < 64; k++) {
            if (arb_chain_mine_header_mid(mid, &h, next, CHUNK)) {
                j->tries += (uint64_t)(h.nonce - next) + 1;
                j->solutions++;
                memcpy(h.merkle_root.b, &j->solutions, sizeof(j->solutions));
                next = j->start;
            } else {
                j->tries += CHUNK;
                next += CHUNK;
            }
        }
        t = now_s();
    } while (t - t0 < seconds);
    j->elapsed = t - t0;
    arb_sha256_mid_free(mid);
    return NULL;
}

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

/* Nonces per second over `threads` threads (bits 0: never met); *sols_per_s
 * (may be NULL) gets solutions per second. */
static double run_at(unsigned threads, uint32_t bits, double *sols_per_s)
{
    pthread_t tid[256];
    job jobs[256];
    double total = 0, sols = 0;

    for (unsigned i = 0; i < threads; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].start = (uint32_t)(((uint64_t)i << 32) / threads);
        jobs[i].bits = bits;
        if (pthread_create(&tid[i], NULL, bits ? grind_at : grind, &jobs[i]) != 0)
            abort();
    }
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += (double)jobs[i].tries / jobs[i].elapsed;
        sols += (double)jobs[i].solutions / jobs[i].elapsed;
    }
    if (sols_per_s != NULL)
        *sols_per_s = sols;
    return total;
}

static double run(unsigned threads)
{
    return run_at(threads, 0, NULL);
}

/* "12.3 MH/s" as the wallet prints it, in hashes per second. */
static double parse_rate(double v, const char *unit)
{
    static const char *const u[] = {"H/s", "kH/s", "MH/s", "GH/s", "TH/s"};
    double f = 1;
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++, f *= 1000)
        if (strcmp(unit, u[i]) == 0)
            return v * f;
    return -1;
}

/* arbor-wallet mine --blocks N on a fresh arbord of `network`, next to the
 * search at that network's difficulty. Returns 0, or 1 on failure. */
static int wallet_run(const char *network, unsigned threads, unsigned long blocks)
{
    const arb_chain_params *p = arb_chain_params_get(network);
    char dir[512], data[600], bin_d[4096], bin_w[4096], node[64], addr[ARB_ADDR_MAX], nb[32],
        nt[32], line[512], unit[16];
    /* secp256k1's generator: any x-only key will do as the coinbase's. */
    static const uint8_t key[32] = {0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62,
                                    0x95, 0xce, 0x87, 0x0b, 0x07, 0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce,
                                    0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98};
    arb_proc *d = NULL, *w = NULL;
    double grind_rate, grind_sols, secs = 0, bps = 0, rate = 0;
    unsigned long got = 0;
    int port, rc = 1, st;
    char *out = NULL;

    if (p == NULL || arb_test_tmpdir(dir, sizeof(dir)) != 0 ||
        !arb_address_encode(addr, p->hrp, key))
        return 1;
    snprintf(data, sizeof(data), "%s/data", dir);
    {
        const char *argv[] = {arb_test_bin(bin_d, sizeof(bin_d), "arbord"), "--datadir", data,
                              "--listen", "127.0.0.1:0", "--network", network, "--json", NULL};
        if (arb_proc_spawn(&d, argv) != 0 || (port = arb_proc_wait_port(d, 20000)) <= 0) {
            fprintf(stderr, "bench_mine: arbord did not start (ARB_BIN=%s)\n",
                    getenv("ARB_BIN") ? getenv("ARB_BIN") : ".");
            goto out;
        }
    }
    snprintf(node, sizeof(node), "http://127.0.0.1:%d", port);
    snprintf(nb, sizeof(nb), "%lu", blocks);
    snprintf(nt, sizeof(nt), "%u", threads);
    {
        const char *argv[] = {arb_test_bin(bin_w, sizeof(bin_w), "arbor-wallet"), "--node", node,
                              "mine", "--blocks", nb, "--threads", nt, "--address", addr, NULL};
        if (arb_proc_spawn(&w, argv) != 0)
            goto out;
        st = arb_proc_wait(w, 3600 * 1000);
        out = arb_proc_output(w, ARB_PROC_STDOUT);
    }
    if (st != 0 || out == NULL) {
        fprintf(stderr, "bench_mine: arbor-wallet mine exited %d\n", st);
        goto out;
    }
    {
        /* The summary: "N blocks found in S s (B blocks/s), hashing at R UNIT". */
        char *l = strstr(out, " found in ");
        while (l != NULL && l > out && l[-1] != '\n')
            l--;
        if (l == NULL || sscanf(l, "%lu %*s found in %lf s (%lf blocks/s), hashing at %lf %15s",
                                &got, &secs, &bps, &rate, unit) != 5 || got != blocks) {
            fprintf(stderr, "bench_mine: no summary in the wallet's output\n");
            goto out;
        }
        rate = parse_rate(rate, unit);
        snprintf(line, sizeof(line), "%s", l);
    }
    grind_rate = run_at(threads, p->genesis_bits, &grind_sols);
    printf("{\"bench\":\"search_%s\",\"threads\":%u,\"hashes_per_s\":%.0f,"
           "\"solutions_per_s\":%.0f}\n",
           network, threads, grind_rate, grind_sols);
    printf("{\"bench\":\"wallet_mine_%s\",\"threads\":%u,\"blocks\":%lu,\"seconds\":%.2f,"
           "\"blocks_per_s\":%.1f,\"hashes_per_s\":%.0f,\"ratio\":%.3f}\n",
           network, threads, got, secs, bps, rate, rate / grind_rate);
    fflush(stdout);
    rc = 0;
out:
    free(out);
    arb_proc_free(w);
    if (d != NULL) {
        arb_proc_kill(d, SIGTERM);
        arb_proc_wait(d, 20000);
    }
    arb_proc_free(d);
    arb_test_rmtree(dir);
    return rc;
}

int main(int argc, char **argv)
{
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : (nc > 0 ? (unsigned)nc : 1);
    double comp, copy, one, all;
    unsigned long blocks = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;

    if (argc > 2)
        seconds = atof(argv[2]);
    if (threads < 1 || threads > 256 || seconds <= 0 || argc > 4 || (argc > 3 && blocks < 5)) {
        fprintf(stderr, "usage: bench_mine [threads 1..256] [seconds] [blocks >= 5]\n");
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
    fflush(stdout);
    if (blocks > 0 && (wallet_run("regtest", threads, blocks) != 0 ||
                       wallet_run("test", threads, blocks / 5) != 0))
        return 1;
    return 0;
}
