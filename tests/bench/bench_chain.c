/* Block validation speed: a regtest block of 2,000 transactions, each with one
 * input and two outputs, checked by arb_chain_check_block with 1 and 2
 * signature threads, next to libsecp256k1's raw BIP340 verify rate over the
 * same signatures in the same run. Prints one JSON line per figure.
 * Usage: bench_chain [rounds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "ledger/chain/consensus.h"

enum { NTX = 2000, HEIGHT = 1000 };

typedef struct {
    arb_outpoint op;
    arb_coin coin;
} entry;
static entry *UT;

static int cmp_op(const void *a, const void *b)
{
    const arb_outpoint *x = a, *y = b;
    int c = memcmp(x->txid.b, y->txid.b, 32);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    (void)ud;
    entry *e = bsearch(op, UT, NTX, sizeof *UT, cmp_op);
    if (e == NULL)
        return 0;
    *out = e->coin;
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void emit(const char *figure, unsigned threads, double per_sec, double seconds)
{
    printf("{\"bench\":\"chain\",\"figure\":\"%s\",\"threads\":%u,\"sigs\":%d,\"per_sec\":%.0f,"
           "\"seconds\":%.6f}\n",
           figure, threads, NTX, per_sec, seconds);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    arb_sha256 *sha;
    arb_schnorr *s;
    const arb_chain_params *p = arb_chain_params_get("regtest");
    arb_block blk;
    uint8_t sk[32], pk[32];
    arb_check_result r;

    if (rounds < 1)
        rounds = 1;
    if (arb_sha256_new(&sha) != ARB_OK || arb_schnorr_new(&s) != ARB_OK)
        return 1;
    do
        RAND_bytes(sk, 32);
    while (!arb_schnorr_pubkey(s, pk, sk));

    UT = calloc(NTX, sizeof *UT);
    arb_block_init(&blk);
    blk.tx = calloc(NTX + 1, sizeof *blk.tx);
    if (UT == NULL || blk.tx == NULL)
        return 1;
    blk.n_tx = NTX + 1;
    for (int i = 0; i < NTX; i++) {
        RAND_bytes(UT[i].op.txid.b, 32);
        UT[i].op.index = 0;
        UT[i].coin.amount = 10 * ARB_COIN;
        memcpy(UT[i].coin.key, pk, 32);
        UT[i].coin.height = 10;
    }
    qsort(UT, NTX, sizeof *UT, cmp_op);
    /* Coinbase, then the spends. */
    if (arb_tx_alloc(&blk.tx[0], 1, 1) != ARB_OK)
        return 1;
    blk.tx[0].in[0].index = HEIGHT;
    blk.tx[0].out[0].amount = arb_chain_subsidy(p, HEIGHT) + (uint64_t)NTX * 1000;
    memcpy(blk.tx[0].out[0].key, pk, 32);
    for (int i = 0; i < NTX; i++) {
        arb_tx *tx = &blk.tx[i + 1];
        arb_txout spent = {UT[i].coin.amount, {0}};
        memcpy(spent.key, pk, 32);
        if (arb_tx_alloc(tx, 1, 2) != ARB_OK)
            return 1;
        tx->version = 1;
        tx->in[0] = UT[i].op;
        tx->out[0].amount = 6 * ARB_COIN;
        tx->out[1].amount = 4 * ARB_COIN - 1000;
        memcpy(tx->out[0].key, pk, 32);
        memcpy(tx->out[1].key, pk, 32);
        if (arb_chain_sign_input(p, sha, s, tx, 0, &spent, sk, NULL) != ARB_OK)
            return 1;
    }
    if (arb_block_merkle_root(sha, &blk.header.merkle_root, blk.tx, blk.n_tx) != ARB_OK)
        return 1;

    /* Raw libsecp256k1: the same 2,000 (message, signature, key) triples. */
    {
        secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
        arb_sig_job *jobs = calloc(NTX, sizeof *jobs);
        arb_hash net;
        arb_chain_network_id(p, &net);
        for (int i = 0; i < NTX; i++) {
            arb_sighash_cache cache;
            arb_txout spent = {UT[i].coin.amount, {0}};
            memcpy(spent.key, pk, 32);
            if (arb_tx_sighash_prepare(sha, &cache, &blk.tx[i + 1], &spent) != ARB_OK)
                return 1;
            arb_tx_sighash(sha, jobs[i].msg, &net, &cache, 0);
            memcpy(jobs[i].sig, blk.tx[i + 1].sig[0], 64);
            memcpy(jobs[i].key, pk, 32);
        }
        double best = 1e9;
        for (int k = 0; k < rounds; k++) {
            double t0 = now_s();
            for (int i = 0; i < NTX; i++) {
                secp256k1_xonly_pubkey xpk;
                if (!secp256k1_xonly_pubkey_parse(ctx, &xpk, jobs[i].key) ||
                    !secp256k1_schnorrsig_verify(ctx, jobs[i].sig, jobs[i].msg, 32, &xpk)) {
                    fprintf(stderr, "raw verify failed\n");
                    return 1;
                }
            }
            double dt = now_s() - t0;
            if (dt < best)
                best = dt;
        }
        emit("bip340_verify_raw_libsecp256k1", 1, NTX / best, best);
        for (unsigned th = 1; th <= 2; th++) {
            best = 1e9;
            for (int k = 0; k < rounds; k++) {
                double t0 = now_s();
                if (arb_chain_verify_sigs(s, jobs, NTX, th) != SIZE_MAX)
                    return 1;
                double dt = now_s() - t0;
                if (dt < best)
                    best = dt;
            }
            emit("bip340_verify_pool", th, NTX / best, best);
        }
        free(jobs);
        secp256k1_context_destroy(ctx);
    }

    /* Whole-block validation: codecs, merkle root, UTXO view, sighashes,
     * amounts and signatures. */
    for (unsigned th = 1; th <= 2; th++) {
        arb_chain_checker c = {sha, s, th};
        double best = 1e9;
        for (int k = 0; k < rounds; k++) {
            double t0 = now_s();
            if (arb_chain_check_block(p, &c, &blk, HEIGHT, 0, lookup, NULL, &r) != ARB_OK) {
                fprintf(stderr, "block check failed: %s\n", r.detail.msg);
                return 1;
            }
            double dt = now_s() - t0;
            if (dt < best)
                best = dt;
        }
        emit("block_validate_sigs", th, NTX / best, best);
    }
    arb_block_clear(&blk);
    free(UT);
    arb_schnorr_free(s);
    arb_sha256_free(sha);
    return 0;
}
