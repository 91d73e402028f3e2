/* The mempool under load. A pool is filled with signed transactions (60%
 * independent one-input one-output spends paying 1..20 units per byte, 40% in
 * CPFP chains of 25 where each child pays one unit more than its parent) and,
 * at 10k, 100k and 300k transactions (or the sizes given), measured:
 *   - admission with signature checks (accepts/s over the whole fill), next
 *     to the raw libsecp256k1 BIP340 verify rate measured in the same run;
 *   - a block template (arb_mempool_select of a full 1 MB block), median of 5;
 *   - block connects: an empty block, a block of 2,000 transactions that are
 *     not in the pool (each input looked up in the outpoint index), and the
 *     template's own block (its transactions leave the pool);
 *   - a reorg's re-admission of the whole pool (arb_mempool_resync).
 * Prints one JSON line per figure, with the load average.
 * Usage: bench_mempool [size...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/chain/mempool.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *m)
{
    fprintf(stderr, "bench_mempool: %s\n", m);
    exit(1);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---------------------------------------------------------------- chain coins */

typedef struct {
    arb_outpoint op;
    uint64_t amount;
} coin;

#define CCAP (1u << 21)
static coin *CT; /* open addressing; amount 0 = empty */
static size_t NC;
static uint8_t SK[32], PK[32];

static size_t chash(const arb_outpoint *op)
{
    uint64_t h;
    memcpy(&h, op->txid.b, 8);
    return (size_t)((h ^ op->index) * 0x9e3779b97f4a7c15ULL >> 43) & (CCAP - 1);
}

static int lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    (void)ud;
    for (size_t i = chash(op);; i = (i + 1) & (CCAP - 1)) {
        if (CT[i].amount == 0)
            return 0;
        if (CT[i].op.index == op->index && memcmp(CT[i].op.txid.b, op->txid.b, 32) == 0) {
            out->amount = CT[i].amount;
            memcpy(out->key, PK, 32);
            out->height = 1;
            out->coinbase = 0;
            return 1;
        }
    }
}

static void put_coin(const arb_outpoint *op, uint64_t amount)
{
    if (++NC > CCAP / 2)
        die("too many coins");
    size_t i = chash(op);
    while (CT[i].amount != 0)
        i = (i + 1) & (CCAP - 1);
    CT[i].op = *op;
    CT[i].amount = amount;
}

static arb_outpoint new_coin(uint64_t amount)
{
    if (++NC > CCAP / 2)
        die("too many coins");
    arb_outpoint op;
    for (int i = 0; i < 4; i++) {
        uint64_t r = rnd();
        memcpy(op.txid.b + 8 * i, &r, 8);
    }
    op.index = 0;
    size_t i = chash(&op);
    while (CT[i].amount != 0)
        i = (i + 1) & (CCAP - 1);
    CT[i].op = op;
    CT[i].amount = amount;
    return op;
}

/* ---------------------------------------------------------------- transactions */

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;

static void make_tx(arb_tx *tx, const arb_outpoint *op, uint64_t amount, uint64_t fee)
{
    arb_txout spent = {amount, {0}};
    memcpy(spent.key, PK, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        die("out of memory");
    tx->version = 1;
    tx->in[0] = *op;
    tx->out[0].amount = amount - fee;
    memcpy(tx->out[0].key, PK, 32);
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, SK, NULL) != ARB_OK)
        die("sign");
}

/* Fills txs[0..n) with the next batch of the mix. */
static void generate(arb_tx *txs, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (rnd() % 10 < 4 && n - i >= 25) { /* a CPFP chain */
            uint64_t amount = 10000000, base = 160 + rnd() % 300;
            arb_outpoint op = new_coin(amount);
            for (int k = 0; k < 25; k++, i++) {
                make_tx(&txs[i], &op, amount, base + (uint64_t)k);
                amount -= base + (uint64_t)k;
                if (arb_tx_txid(H, &op.txid, &txs[i]) != ARB_OK)
                    die("txid");
                op.index = 0;
            }
        } else {
            uint64_t amount = 10000000;
            arb_outpoint op = new_coin(amount);
            make_tx(&txs[i++], &op, amount, (1 + rnd() % 20) * 151 + rnd() % 151);
        }
    }
}

/* Raw BIP340 verifications per second (the bound for admission), measured
 * again next to each admission figure: the machine's load changes. */
static double verify_rate(void)
{
    enum { NV = 4000 };
    static uint8_t msg[NV][32], sig[NV][64];
    static int ready;
    if (!ready) {
        for (int i = 0; i < NV; i++) {
            uint64_t r = rnd();
            memcpy(msg[i], &r, 8);
            memset(msg[i] + 8, i & 0xff, 24);
            if (!arb_schnorr_sign(S, sig[i], msg[i], 32, SK, NULL))
                die("sign");
        }
        ready = 1;
    }
    double t0 = now_s();
    int ok = 0;
    for (int i = 0; i < NV; i++)
        ok += arb_schnorr_verify(S, sig[i], msg[i], 32, PK);
    double dt = now_s() - t0;
    if (ok != NV)
        die("verify");
    return NV / dt;
}

static void load_avg(char *out, size_t cap)
{
    double la[3] = {0, 0, 0};
    if (getloadavg(la, 3) < 0)
        la[0] = la[1] = la[2] = -1;
    snprintf(out, cap, "\"load\":[%.2f,%.2f,%.2f]", la[0], la[1], la[2]);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t sizes[8] = {10000, 100000, 300000};
    size_t n_sizes = 3;
    if (argc > 1) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < 8; i++)
            sizes[n_sizes++] = strtoul(argv[i], NULL, 10);
    }
    CT = calloc(CCAP, sizeof *CT);
    if (CT == NULL || arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        die("out of memory");
    P = arb_chain_params_get("regtest");
    do {
        for (int i = 0; i < 4; i++) {
            uint64_t r = rnd();
            memcpy(SK + 8 * i, &r, 8);
        }
    } while (!arb_schnorr_pubkey(S, PK, SK));
    char load[96];

    load_avg(load, sizeof load);
    printf("{\"bench\":\"mempool\",\"figure\":\"bip340_verify_raw\",\"per_s\":%.0f,%s}\n",
           verify_rate(), load);
    fflush(stdout);

    arb_mempool *mp;
    arb_mempool_opts o = {(size_t)256 << 20, NULL, NULL};
    if (arb_mempool_new(&mp, P, &o) != ARB_OK)
        die("out of memory");
    arb_chain_checker c = {H, S, 1};
    arb_mempool_chain ch = {lookup, NULL, 200, 0, {{0}}, NULL, NULL, NULL, NULL};
    double accept_s = 0, last_s = 1, last_n = 0;
    size_t accepted = 0, refused = 0;
    for (size_t si = 0; si < n_sizes; si++) {
        size_t count;
        arb_mempool_stats(mp, &count, NULL);
        while (count < sizes[si]) {
            size_t n = sizes[si] - count < 5000 ? sizes[si] - count : 5000;
            if (n < 25)
                n = 25;
            arb_tx *txs = calloc(n, sizeof *txs);
            if (txs == NULL)
                die("out of memory");
            generate(txs, n);
            double t0 = now_s();
            for (size_t i = 0; i < n; i++) {
                arb_check_result r;
                if (arb_mempool_accept(mp, &c, &ch, &txs[i], NULL, &r) == ARB_OK)
                    accepted++;
                else
                    refused++;
            }
            last_s = now_s() - t0;
            last_n = (double)n;
            accept_s += last_s;
            for (size_t i = 0; i < n; i++)
                arb_tx_clear(&txs[i]);
            free(txs);
            arb_mempool_stats(mp, &count, NULL);
        }
        size_t bytes;
        arb_mempool_stats(mp, &count, &bytes);
        /* the last batch's admission rate next to a raw verify rate measured now */
        double raw = verify_rate();
        load_avg(load, sizeof load);
        printf("{\"bench\":\"mempool\",\"figure\":\"accept\",\"pool\":%zu,\"accepted\":%zu,"
               "\"refused\":%zu,\"per_s\":%.0f,\"last_batch_per_s\":%.0f,"
               "\"verify_raw_per_s\":%.0f,\"ratio\":%.2f,%s}\n",
               count, accepted, refused, accepted / accept_s, last_n / last_s, raw,
               last_n / last_s / raw, load);

        /* Template: median of 5. */
        double ts[5];
        size_t ntx = 0;
        uint64_t fees = 0;
        arb_tx *sel = NULL;
        for (int k = 0; k < 5; k++) {
            double t0 = now_s();
            if (arb_mempool_select(mp, ARB_BLOCK_MAX_SIZE - 4096, &sel, &ntx, &fees, NULL, NULL) !=
                ARB_OK)
                die("select");
            ts[k] = now_s() - t0;
            if (k < 4) {
                for (size_t i = 0; i < ntx; i++)
                    arb_tx_clear(&sel[i]);
                free(sel);
            }
        }
        qsort(ts, 5, sizeof *ts, cmp_d);
        load_avg(load, sizeof load);
        printf("{\"bench\":\"mempool\",\"figure\":\"template\",\"pool\":%zu,\"bytes\":%zu,"
               "\"block_txs\":%zu,\"fees\":%llu,\"ms\":%.2f,\"ms_min\":%.2f,%s}\n",
               count, bytes, ntx, (unsigned long long)fees, ts[2] * 1e3, ts[0] * 1e3, load);

        /* Connects: empty, 2,000 foreign transactions, the template's block. */
        arb_block blk;
        arb_block_init(&blk);
        double t0 = now_s();
        arb_mempool_block_connected(mp, H, &blk);
        double empty = now_s() - t0;
        blk.n_tx = 2000;
        blk.tx = calloc(blk.n_tx, sizeof *blk.tx);
        if (blk.tx == NULL)
            die("out of memory");
        for (size_t i = 0; i < blk.n_tx; i++) {
            arb_outpoint op = new_coin(1000000);
            make_tx(&blk.tx[i], &op, 1000000, 1000);
        }
        t0 = now_s();
        arb_mempool_block_connected(mp, H, &blk);
        double foreign = now_s() - t0;
        arb_block_clear(&blk);
        arb_block_init(&blk);
        blk.n_tx = ntx;
        blk.tx = sel;
        t0 = now_s();
        arb_mempool_block_connected(mp, H, &blk);
        double own = now_s() - t0;
        /* the chain now has the block's outputs (children left in the pool spend them) */
        for (size_t i = 0; i < blk.n_tx; i++) {
            arb_outpoint op;
            if (arb_tx_txid(H, &op.txid, &blk.tx[i]) != ARB_OK)
                die("txid");
            for (uint32_t k = 0; k < blk.tx[i].n_out; k++) {
                op.index = k;
                put_coin(&op, blk.tx[i].out[k].amount);
            }
        }
        arb_block_clear(&blk); /* frees sel */
        size_t after;
        arb_mempool_stats(mp, &after, NULL);
        load_avg(load, sizeof load);
        /* A reorg with nothing disconnected: the whole pool is re-admitted
         * (every rule but the signature check). */
        t0 = now_s();
        if (arb_mempool_resync(mp, &c, &ch, NULL, 0) != ARB_OK)
            die("resync");
        double resync = now_s() - t0;
        size_t after_resync;
        arb_mempool_stats(mp, &after_resync, NULL);
        printf("{\"bench\":\"mempool\",\"figure\":\"reorg_resync\",\"pool\":%zu,\"ms\":%.1f,"
               "\"kept\":%zu,%s}\n",
               after, resync * 1e3, after_resync, load);
        printf("{\"bench\":\"mempool\",\"figure\":\"connect\",\"pool\":%zu,\"empty_ms\":%.3f,"
               "\"foreign_2000_ms\":%.3f,\"template_block_ms\":%.3f,\"template_block_txs\":%zu,"
               "\"pool_after\":%zu,%s}\n",
               count, empty * 1e3, foreign * 1e3, own * 1e3, ntx, after, load);
        fflush(stdout);
    }
    arb_mempool_free(mp);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    free(CT);
    return 0;
}
