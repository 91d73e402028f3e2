/* Mempool: chains of unconfirmed transactions, conflicts, eviction by fee
 * rate with descendants, template selection order, block connect and
 * re-admission after a reorganization. Expected outcomes are derived from
 * the transactions the test builds, not from the pool. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/mempool.h"
#include "tests/test.h"

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static arb_chain_checker C;
static uint8_t SK[32], PK[32];

/* The chain: a list of coins (spent ones are removed). */
typedef struct {
    arb_outpoint op;
    arb_coin coin;
} utxo;
static utxo U[128];
static size_t NU;
/* Every transaction built, for signing (spent outputs of mempool parents). */
static arb_tx T[128];
static arb_hash TID[128];
static size_t NT;

static int chain_lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    (void)ud;
    for (size_t i = 0; i < NU; i++)
        if (U[i].op.index == op->index && memcmp(U[i].op.txid.b, op->txid.b, 32) == 0) {
            *out = U[i].coin;
            return 1;
        }
    return 0;
}

static void chain_spend(const arb_outpoint *op)
{
    for (size_t i = 0; i < NU; i++)
        if (U[i].op.index == op->index && memcmp(U[i].op.txid.b, op->txid.b, 32) == 0) {
            U[i] = U[--NU];
            return;
        }
}

static void chain_add_outputs(const arb_tx *tx, const arb_hash *id)
{
    for (size_t o = 0; o < tx->n_out; o++) {
        U[NU].op.txid = *id;
        U[NU].op.index = (uint32_t)o;
        U[NU].coin.amount = tx->out[o].amount;
        memcpy(U[NU].coin.key, tx->out[o].key, 32);
        U[NU].coin.height = 10;
        U[NU].coin.coinbase = 0;
        NU++;
    }
}

static arb_outpoint add_coin(uint64_t amount)
{
    utxo *u = &U[NU++];
    memset(u, 0, sizeof *u);
    arb_test_rand_bytes(u->op.txid.b, 32);
    u->coin.amount = amount;
    memcpy(u->coin.key, PK, 32);
    u->coin.height = 1;
    return u->op;
}

static int spent_output(const arb_outpoint *op, arb_txout *out)
{
    arb_coin c;
    if (chain_lookup(NULL, op, &c)) {
        out->amount = c.amount;
        memcpy(out->key, c.key, 32);
        return 1;
    }
    for (size_t t = 0; t < NT; t++)
        if (memcmp(TID[t].b, op->txid.b, 32) == 0 && op->index < T[t].n_out) {
            *out = T[t].out[op->index];
            return 1;
        }
    return 0;
}

/* Builds and signs a transaction spending ins with n_out outputs of `each`;
 * returns its index in T. */
static size_t mk(const arb_outpoint *ins, size_t n_in, size_t n_out, uint64_t each)
{
    arb_tx *tx = &T[NT];
    arb_txout spent[8];
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, n_in, n_out) != ARB_OK)
        abort();
    for (size_t i = 0; i < n_in; i++) {
        tx->in[i] = ins[i];
        if (!spent_output(&ins[i], &spent[i]))
            memset(&spent[i], 0, sizeof spent[i]);
    }
    for (size_t o = 0; o < n_out; o++) {
        tx->out[o].amount = each;
        memcpy(tx->out[o].key, PK, 32);
    }
    for (size_t i = 0; i < n_in; i++)
        if (arb_chain_sign_input(P, H, S, tx, i, spent, SK, NULL) != ARB_OK)
            abort();
    if (arb_tx_txid(H, &TID[NT], tx) != ARB_OK)
        abort();
    return NT++;
}

static arb_outpoint out_of(size_t t, uint32_t index)
{
    arb_outpoint op = {TID[t], index};
    return op;
}

static arb_mempool_chain CH = {chain_lookup, NULL, 20, 0};

static const char *accept(arb_mempool *mp, size_t t)
{
    arb_check_result r;
    arb_hash id;
    arb_err e = arb_mempool_accept(mp, &C, &CH, &T[t], &id, &r);
    if (e == ARB_OK) {
        if (memcmp(id.b, TID[t].b, 32) != 0)
            return "wrong txid";
        return NULL;
    }
    return r.reason ? r.reason : "error";
}

static int has(arb_mempool *mp, size_t t)
{
    return arb_mempool_get(mp, &TID[t], NULL, NULL) == ARB_OK;
}

static void test_chains_and_conflicts(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, 0) == ARB_OK);
    arb_outpoint c1 = add_coin(10 * ARB_COIN);
    size_t a = mk(&c1, 1, 2, 4 * ARB_COIN); /* fee 2 coins */
    CHECK(accept(mp, a) == NULL);
    arb_outpoint a0 = out_of(a, 0), a1 = out_of(a, 1);
    size_t b = mk(&a0, 1, 1, 3 * ARB_COIN); /* child of a */
    CHECK(accept(mp, b) == NULL);
    arb_outpoint b0 = out_of(b, 0);
    size_t c = mk(&b0, 1, 1, 2 * ARB_COIN); /* grandchild */
    CHECK(accept(mp, c) == NULL);
    CHECK_STR(accept(mp, a), "txn-already-in-mempool");
    size_t dbl = mk(&c1, 1, 1, 9 * ARB_COIN); /* double spend of c1 */
    CHECK_STR(accept(mp, dbl), "txn-mempool-conflict");
    size_t dbl2 = mk(&a0, 1, 1, 1 * ARB_COIN); /* double spend of a mempool output */
    CHECK_STR(accept(mp, dbl2), "txn-mempool-conflict");
    arb_outpoint bad = out_of(a, 5);
    size_t miss = mk(&bad, 1, 1, 1);
    CHECK_STR(accept(mp, miss), "bad-txns-inputs-missingorspent");
    size_t over = mk(&a1, 1, 1, 5 * ARB_COIN);
    CHECK_STR(accept(mp, over), "bad-txns-in-belowout");
    size_t sig = mk(&a1, 1, 1, 1 * ARB_COIN);
    T[sig].sig[0][5] ^= 1;
    CHECK_STR(accept(mp, sig), "bad-txns-sig");
    size_t cnt, bytes;
    arb_mempool_stats(mp, &cnt, &bytes);
    CHECK_EQ(cnt, 3);
    CHECK_EQ(bytes, arb_tx_size(&T[a]) + arb_tx_size(&T[b]) + arb_tx_size(&T[c]));
    CHECK(arb_mempool_spends(mp, &c1));
    CHECK(!arb_mempool_spends(mp, &a1));

    /* Template order: parents first even when a child pays more per byte. */
    arb_tx *sel;
    size_t n;
    uint64_t fees;
    CHECK(arb_mempool_select(mp, 1000000, &sel, &n, &fees) == ARB_OK);
    CHECK_EQ(n, 3);
    CHECK_EQ(fees, 2 * ARB_COIN + 1 * ARB_COIN + 1 * ARB_COIN);
    arb_hash id;
    CHECK(arb_tx_txid(H, &id, &sel[0]) == ARB_OK);
    CHECK_MEM(id.b, TID[a].b, 32);
    CHECK(arb_tx_txid(H, &id, &sel[2]) == ARB_OK);
    CHECK_MEM(id.b, TID[c].b, 32);
    for (size_t i = 0; i < n; i++)
        arb_tx_clear(&sel[i]);
    free(sel);
    /* A size limit that fits only a. */
    CHECK(arb_mempool_select(mp, arb_tx_size(&T[a]) + 10, &sel, &n, &fees) == ARB_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(fees, 2 * ARB_COIN);
    arb_tx_clear(&sel[0]);
    free(sel);

    /* Block connect: a is confirmed (b, c stay); a block tx spending a1
     * (not in the pool) leaves the pool alone; then a block spending b0
     * elsewhere drops c as a conflict. */
    arb_block blk;
    arb_block_init(&blk);
    blk.n_tx = 1;
    blk.tx = calloc(1, sizeof *blk.tx);
    CHECK(blk.tx != NULL);
    CHECK(arb_tx_copy(&blk.tx[0], &T[a]) == ARB_OK);
    arb_mempool_block_connected(mp, H, &blk);
    chain_spend(&c1);
    chain_add_outputs(&T[a], &TID[a]);
    CHECK(!has(mp, a) && has(mp, b) && has(mp, c));
    size_t b_alt = mk(&b0, 1, 1, 1 * ARB_COIN);
    arb_tx_clear(&blk.tx[0]);
    CHECK(arb_tx_copy(&blk.tx[0], &T[b_alt]) == ARB_OK);
    arb_mempool_block_connected(mp, H, &blk);
    CHECK(has(mp, b) && !has(mp, c));
    arb_block_clear(&blk);
    arb_mempool_free(mp);
}

static void test_conflict_with_block_drops_descendants(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, 0) == ARB_OK);
    arb_outpoint c1 = add_coin(10 * ARB_COIN);
    size_t a = mk(&c1, 1, 1, 9 * ARB_COIN);
    arb_outpoint a0 = out_of(a, 0);
    size_t b = mk(&a0, 1, 1, 8 * ARB_COIN);
    CHECK(accept(mp, a) == NULL && accept(mp, b) == NULL);
    size_t rival = mk(&c1, 1, 1, 5 * ARB_COIN);
    arb_block blk;
    arb_block_init(&blk);
    blk.n_tx = 1;
    blk.tx = calloc(1, sizeof *blk.tx);
    CHECK(blk.tx != NULL);
    CHECK(arb_tx_copy(&blk.tx[0], &T[rival]) == ARB_OK);
    arb_mempool_block_connected(mp, H, &blk);
    CHECK(!has(mp, a) && !has(mp, b));

    /* Reorg: the block with the rival is disconnected (c1 unspent again), and
     * a block confirming nothing wins; resync re-adds the rival from the
     * disconnected block. a conflicts with it now and is not re-added (it was
     * dropped anyway). */
    arb_mempool_chain ch = CH;
    CHECK(arb_mempool_resync(mp, &C, &ch, blk.tx, 1) == ARB_OK);
    CHECK(has(mp, rival));
    CHECK_STR(accept(mp, a), "txn-mempool-conflict");
    arb_block_clear(&blk);
    arb_mempool_free(mp);
}

static void test_eviction(void)
{
    /* Four independent parents with fees 1..4 (x 1000), a child of the
     * cheapest paying a lot; cap = room for four transactions. */
    enum { N = 4 };
    size_t p[N];
    arb_outpoint coin[N];
    for (int i = 0; i < N; i++) {
        coin[i] = add_coin(100000);
        p[i] = mk(&coin[i], 1, 1, 100000 - 1000 * (uint64_t)(i + 1));
    }
    size_t sz = arb_tx_size(&T[p[0]]);
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, 4 * sz) == ARB_OK);
    /* add p1 (fee 2000) first, then p0 (1000) and its child */
    CHECK(accept(mp, p[1]) == NULL);
    CHECK(accept(mp, p[0]) == NULL);
    arb_outpoint o = out_of(p[0], 0);
    size_t child = mk(&o, 1, 1, 100000 - 1000 - 50000);
    CHECK(accept(mp, child) == NULL);
    CHECK(accept(mp, p[2]) == NULL); /* four: full */
    /* p3 (fee 4000) pushes out the lowest rate: p0, and with it its child */
    CHECK(accept(mp, p[3]) == NULL);
    CHECK(!has(mp, p[0]) && !has(mp, child));
    CHECK(has(mp, p[1]) && has(mp, p[2]) && has(mp, p[3]));
    /* a newcomer with the lowest rate of all is refused */
    arb_outpoint c5 = add_coin(100000);
    size_t cheap = mk(&c5, 1, 1, 100000 - 10);
    CHECK(accept(mp, cheap) == NULL); /* fits: three entries */
    arb_outpoint c6 = add_coin(100000);
    size_t cheaper = mk(&c6, 1, 1, 100000 - 5);
    CHECK_STR(accept(mp, cheaper), "mempool-full");
    CHECK(has(mp, cheap));
    arb_mempool_free(mp);
}

/* Threads admitting independent transactions at once (each with its own hash
 * engine) while another reads: every one gets in exactly once. */
enum { NTHR = 4, PER = 6 };
static arb_mempool *TMP;
static size_t TIDX[NTHR][PER];

static void *adder(void *ud)
{
    size_t t = (size_t)(uintptr_t)ud;
    arb_sha256 *sha;
    if (arb_sha256_new(&sha) != ARB_OK)
        return (void *)1;
    arb_chain_checker c = {sha, S, 1};
    uintptr_t bad = 0;
    for (size_t i = 0; i < PER; i++) {
        arb_check_result r;
        arb_hash id;
        if (arb_mempool_accept(TMP, &c, &CH, &T[TIDX[t][i]], &id, &r) != ARB_OK)
            bad++;
        size_t cnt;
        arb_mempool_stats(TMP, &cnt, NULL);
    }
    arb_sha256_free(sha);
    return (void *)bad;
}

static void test_threads(void)
{
    CHECK(arb_mempool_new(&TMP, P, 0) == ARB_OK);
    for (size_t t = 0; t < NTHR; t++)
        for (size_t i = 0; i < PER; i++) {
            arb_outpoint c = add_coin(1000000);
            TIDX[t][i] = mk(&c, 1, 1, 999000);
        }
    pthread_t th[NTHR];
    for (size_t t = 0; t < NTHR; t++)
        CHECK(pthread_create(&th[t], NULL, adder, (void *)(uintptr_t)t) == 0);
    for (size_t t = 0; t < NTHR; t++) {
        void *rv;
        pthread_join(th[t], &rv);
        CHECK(rv == NULL);
    }
    size_t cnt;
    arb_mempool_stats(TMP, &cnt, NULL);
    CHECK_EQ(cnt, NTHR * PER);
    arb_mempool_free(TMP);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    P = arb_chain_params_get("regtest");
    C.sha = H;
    C.schnorr = S;
    C.threads = 1;
    do
        arb_test_rand_bytes(SK, 32);
    while (!arb_schnorr_pubkey(S, PK, SK));
    test_chains_and_conflicts();
    test_conflict_with_block_drops_descendants();
    test_eviction();
    test_threads();
    for (size_t i = 0; i < NT; i++)
        arb_tx_clear(&T[i]);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    return arb_test_done();
}
