/* Mempool: admission and its reasons (dust, relay fee, package limits),
 * each replace-by-fee rule, eviction at the size cap and the rolling
 * minimum fee, block connect and reorg re-admission, template selection
 * checked against a naive reference implementation on random pools, index
 * consistency under random operations, the mempool file (round trip and
 * corrupt files) and concurrent admission. Expected outcomes are derived from
 * the transactions the test builds, not from the pool.
 *
 * Seeded: ARB_TEST_SEED replays a run, ARB_TEST_COUNT scales the random
 * tests. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/chain/mempool.h"
#include "tests/test.h"

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static arb_chain_checker C;
static uint8_t SK[32], PK[32];

/* ---------------------------------------------------------------- a toy chain */

/* Every output the test knows: chain coins (in_chain) and outputs of the
 * transactions it built, in a hash table by outpoint. */
typedef struct {
    arb_outpoint op;
    arb_txout out;
    int in_chain;
} known;

#define KCAP (1u << 21)
static known *K;
static uint32_t *KT; /* table of index + 1 (0: empty) */
static size_t NK;

static size_t khash(const arb_outpoint *op)
{
    uint64_t h;
    memcpy(&h, op->txid.b, 8);
    h ^= op->index * 0x9e3779b97f4a7c15ULL;
    h *= 0xbf58476d1ce4e5b9ULL;
    return (size_t)(h >> 40) & (KCAP - 1);
}

static known *kfind(const arb_outpoint *op)
{
    for (size_t i = khash(op);; i = (i + 1) & (KCAP - 1)) {
        if (KT[i] == 0)
            return NULL;
        known *k = &K[KT[i] - 1];
        if (k->op.index == op->index && memcmp(k->op.txid.b, op->txid.b, 32) == 0)
            return k;
    }
}

static void kadd(const arb_outpoint *op, const arb_txout *out, int in_chain)
{
    if (kfind(op) != NULL || NK + 1 >= KCAP / 2) {
        fprintf(stderr, "known-output table full (lower ARB_TEST_COUNT)\n");
        abort();
    }
    known *k = &K[NK++];
    k->op = *op;
    k->out = *out;
    k->in_chain = in_chain;
    size_t i = khash(op);
    while (KT[i] != 0)
        i = (i + 1) & (KCAP - 1);
    KT[i] = (uint32_t)NK;
}

static int chain_lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    (void)ud;
    known *k = kfind(op);
    if (k == NULL || !k->in_chain)
        return 0;
    out->amount = k->out.amount;
    memcpy(out->key, k->out.key, 32);
    out->height = 1;
    out->coinbase = 0;
    return 1;
}

static arb_mempool_chain CH = {chain_lookup, NULL, 20, 0, {{0}}, NULL, NULL, NULL, NULL};

static arb_outpoint add_coin(uint64_t amount)
{
    arb_outpoint op;
    arb_txout o;
    arb_test_rand_bytes(op.txid.b, 32);
    op.index = 0;
    o.amount = amount;
    memcpy(o.key, PK, 32);
    kadd(&op, &o, 1);
    return op;
}

/* The payload the next mkv puts in its transaction (type 0: none). */
static uint8_t NEXT_PL_TYPE;
static uint8_t NEXT_PL[64];
static size_t NEXT_PL_LEN;

/* Transactions built, by handle. */
#define TMAX 500000
static arb_tx *T;
static arb_hash *TID;
static size_t NT;

/* Builds and signs a transaction spending ins (known outputs) with n_out
 * outputs of outs[i] (or `each` when outs is NULL); returns its handle. */
static size_t mkv(const arb_outpoint *ins, size_t n_in, size_t n_out, const uint64_t *outs,
                  uint64_t each)
{
    if (NT >= TMAX) {
        fprintf(stderr, "transaction table full (lower ARB_TEST_COUNT)\n");
        abort();
    }
    arb_tx *tx = &T[NT];
    arb_txout *spent = calloc(n_in, sizeof *spent);
    arb_tx_init(tx);
    if (spent == NULL || arb_tx_alloc(tx, n_in, n_out) != ARB_OK)
        abort();
    for (size_t i = 0; i < n_in; i++) {
        tx->in[i] = ins[i];
        known *k = kfind(&ins[i]);
        if (k != NULL)
            spent[i] = k->out;
    }
    for (size_t o = 0; o < n_out; o++) {
        tx->out[o].amount = outs ? outs[o] : each;
        memcpy(tx->out[o].key, PK, 32);
    }
    if (NEXT_PL_TYPE != 0) {
        tx->payload_type = NEXT_PL_TYPE;
        tx->payload = malloc(NEXT_PL_LEN);
        memcpy(tx->payload, NEXT_PL, NEXT_PL_LEN);
        tx->payload_len = NEXT_PL_LEN;
        NEXT_PL_TYPE = 0;
    }
    for (size_t i = 0; i < n_in; i++)
        if (arb_chain_sign_input(P, H, S, tx, i, spent, SK, NULL) != ARB_OK)
            abort();
    free(spent);
    if (arb_tx_txid(H, &TID[NT], tx) != ARB_OK)
        abort();
    for (size_t o = 0; o < n_out; o++) {
        arb_outpoint op = {TID[NT], (uint32_t)o};
        if (kfind(&op) == NULL)
            kadd(&op, &tx->out[o], 0);
    }
    return NT++;
}

static size_t mk(const arb_outpoint *ins, size_t n_in, size_t n_out, uint64_t each)
{
    return mkv(ins, n_in, n_out, NULL, each);
}

/* One input, one output: value in minus fee. */
static size_t mk1(arb_outpoint in, uint64_t fee)
{
    known *k = kfind(&in);
    if (k == NULL || k->out.amount < fee)
        abort();
    return mk(&in, 1, 1, k->out.amount - fee);
}

static arb_outpoint out_of(size_t t, uint32_t index)
{
    arb_outpoint op = {TID[t], index};
    return op;
}

static const char *accept_in(arb_mempool *mp, size_t t)
{
    static char buf[128];
    arb_check_result r;
    arb_hash id;
    arb_err e = arb_mempool_accept(mp, &C, &CH, &T[t], &id, &r);
    if (e == ARB_OK)
        return memcmp(id.b, TID[t].b, 32) == 0 ? NULL : "wrong txid";
    if (r.reason)
        return r.reason;
    snprintf(buf, sizeof buf, "error %d", (int)e);
    return buf;
}

static int has(arb_mempool *mp, size_t t)
{
    return arb_mempool_get(mp, &TID[t], NULL, NULL) == ARB_OK;
}

static size_t pool_count(arb_mempool *mp)
{
    size_t n;
    arb_mempool_stats(mp, &n, NULL);
    return n;
}

static int consistent(arb_mempool *mp)
{
    arb_errbuf eb;
    if (arb_mempool_check_consistency(mp, &eb))
        return 1;
    fprintf(stderr, "inconsistent pool: %s\n", eb.msg);
    return 0;
}

/* A block holding copies of the given transactions (no coinbase needed by
 * the pool); the test's chain then spends their inputs and adds outputs. */
static void connect(arb_mempool *mp, const size_t *ts, size_t n)
{
    arb_block blk;
    arb_block_init(&blk);
    blk.n_tx = n;
    blk.tx = calloc(n ? n : 1, sizeof *blk.tx);
    for (size_t i = 0; i < n; i++)
        if (arb_tx_copy(&blk.tx[i], &T[ts[i]]) != ARB_OK)
            abort();
    arb_mempool_block_connected(mp, H, &blk);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < T[ts[i]].n_in; k++) {
            known *c = kfind(&T[ts[i]].in[k]);
            if (c)
                c->in_chain = 0;
        }
        for (uint32_t o = 0; o < T[ts[i]].n_out; o++) {
            arb_outpoint op = out_of(ts[i], o);
            kfind(&op)->in_chain = 1;
        }
    }
    arb_header_hash(H, &CH.tip, &blk.header);
    arb_block_clear(&blk);
}

/* ---------------------------------------------------------------- payloads and the state */

/* A toy state for the pool's payload check: a name-revoke of a name in DEAD
 * fails ("toy-dead"), as does a second one of a name earlier in the same
 * run ("toy-taken") or one whose sender is not PK ("toy-sender"). */
static char DEAD[4][32];
static int NDEAD, STATE_CALLS;

static arb_err toy_state(void *ud, const arb_tx *const *txs, size_t n,
                         const uint8_t *const *senders, uint8_t *ok, const char **reasons)
{
    (void)ud;
    STATE_CALLS++;
    for (size_t i = 0; i < n; i++) {
        const arb_tx *t = txs[i];
        ok[i] = 1;
        reasons[i] = NULL;
        if (t->payload_type == 0)
            continue;
        const char *name = (const char *)t->payload + 1;
        size_t len = t->payload[0];
        if (senders[i] == NULL || memcmp(senders[i], PK, 32) != 0) {
            ok[i] = 0;
            reasons[i] = "toy-sender";
            continue;
        }
        for (int d = 0; d < NDEAD; d++)
            if (strlen(DEAD[d]) == len && memcmp(DEAD[d], name, len) == 0) {
                ok[i] = 0;
                reasons[i] = "toy-dead";
            }
        for (size_t j = 0; j < i && ok[i]; j++)
            if (ok[j] && txs[j]->payload_type != 0 && txs[j]->payload[0] == len &&
                memcmp(txs[j]->payload + 1, name, len) == 0) {
                ok[i] = 0;
                reasons[i] = "toy-taken";
            }
    }
    return ARB_OK;
}

/* A name-revoke of `full` spending in, paying fee. */
static size_t mk_revoke(arb_outpoint in, uint64_t fee, const char *full)
{
    NEXT_PL_TYPE = 10; /* ARB_NAMEOP_NAME_REVOKE: full name str */
    NEXT_PL_LEN = 1 + strlen(full);
    NEXT_PL[0] = (uint8_t)strlen(full);
    memcpy(NEXT_PL + 1, full, strlen(full));
    return mk1(in, fee);
}

static void test_state_check(void)
{
    arb_mempool *mp;
    arb_mempool_chain ch = CH;
    size_t dropped = 0;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    ch.state = toy_state;
    size_t t1 = mk_revoke(add_coin(ARB_COIN), 10000, "a.x");
    size_t t2 = mk_revoke(add_coin(ARB_COIN), 10000, "a.x");
    size_t t3 = mk_revoke(add_coin(ARB_COIN), 10000, "b.x");
    size_t t4 = mk1(out_of(t3, 0), 10000); /* a child without payload */
    size_t t5 = mk1(add_coin(ARB_COIN), 10000);
    arb_check_result r;
    arb_hash id;
    int calls = STATE_CALLS;
    CHECK(arb_mempool_accept(mp, &C, &ch, &T[t1], &id, &r) == ARB_OK);
    /* checked against the pending first one */
    CHECK(arb_mempool_accept(mp, &C, &ch, &T[t2], &id, &r) == ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "toy-taken");
    CHECK(arb_mempool_accept(mp, &C, &ch, &T[t3], &id, &r) == ARB_OK);
    CHECK(arb_mempool_accept(mp, &C, &ch, &T[t4], &id, &r) == ARB_OK);
    CHECK(arb_mempool_accept(mp, &C, &ch, &T[t5], &id, &r) == ARB_OK);
    CHECK_EQ(STATE_CALLS - calls, 3); /* plain transactions are not state-checked */
    CHECK_EQ(pool_count(mp), 4);
    /* a replacement of t1 (same coin, more fee, the same name) is checked
     * without the transaction it replaces */
    size_t t1b = mk_revoke(T[t1].in[0], 30000, "a.x");
    CHECK(arb_mempool_accept(mp, &C, &ch, &T[t1b], &id, &r) == ARB_OK);
    CHECK(has(mp, t1b) && !has(mp, t1));
    /* nothing changed: the recheck keeps everything */
    CHECK(arb_mempool_state_recheck(mp, &ch, &dropped) == ARB_OK);
    CHECK_EQ(dropped, 0);
    /* a block made b.x's operation invalid: it leaves with its child */
    snprintf(DEAD[NDEAD++], sizeof DEAD[0], "b.x");
    CHECK(arb_mempool_state_recheck(mp, &ch, &dropped) == ARB_OK);
    CHECK_EQ(dropped, 2);
    CHECK(has(mp, t1b) && !has(mp, t3) && !has(mp, t4) && has(mp, t5));
    CHECK(consistent(mp));
    /* without a state function, payloads pass on the context-free rules */
    ch.state = NULL;
    CHECK(arb_mempool_accept(mp, &C, &ch, &T[t2], &id, &r) == ARB_OK);
    CHECK(has(mp, t2));
    NDEAD = 0;
    arb_mempool_free(mp);
}

/* ---------------------------------------------------------------- admission */

static void test_admission(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    arb_outpoint c1 = add_coin(10 * ARB_COIN);
    size_t a = mk(&c1, 1, 2, 4 * ARB_COIN); /* fee 2 coins */
    CHECK(accept_in(mp, a) == NULL);
    arb_outpoint a0 = out_of(a, 0), a1 = out_of(a, 1);
    size_t b = mk(&a0, 1, 1, 3 * ARB_COIN); /* child of a */
    CHECK(accept_in(mp, b) == NULL);
    arb_outpoint b0 = out_of(b, 0);
    size_t c = mk(&b0, 1, 1, 2 * ARB_COIN); /* grandchild */
    CHECK(accept_in(mp, c) == NULL);
    CHECK_STR(accept_in(mp, a), "txn-already-in-mempool");
    arb_outpoint bad = out_of(a, 5);
    size_t miss = mk(&bad, 1, 1, ARB_COIN);
    CHECK_STR(accept_in(mp, miss), "bad-txns-inputs-missingorspent");
    size_t over = mk(&a1, 1, 1, 5 * ARB_COIN);
    CHECK_STR(accept_in(mp, over), "bad-txns-in-belowout");
    size_t sig = mk(&a1, 1, 1, 1 * ARB_COIN);
    T[sig].sig[0][5] ^= 1;
    CHECK_STR(accept_in(mp, sig), "bad-txns-sig");

    /* Dust: an output below 420 units; exactly 420 is fine. */
    arb_outpoint c2 = add_coin(100000);
    uint64_t dust_outs[2] = {419, 90000};
    size_t dust = mkv(&c2, 1, 2, dust_outs, 0);
    CHECK_STR(accept_in(mp, dust), "dust");
    uint64_t ok_outs[2] = {420, 90000};
    size_t nodust = mkv(&c2, 1, 2, ok_outs, 0);
    CHECK(accept_in(mp, nodust) == NULL);

    /* Minimum relay fee: 1 unit per byte. A 151-byte transaction needs 151. */
    arb_outpoint c3 = add_coin(100000);
    size_t low = mk1(c3, 150);
    CHECK_EQ(arb_tx_size(&T[low]), 151);
    CHECK_STR(accept_in(mp, low), "min-relay-fee-not-met");
    size_t enough = mk1(c3, 151);
    CHECK(accept_in(mp, enough) == NULL);

    /* tx-size: over 100,000 bytes (1001 inputs of 100 bytes each). */
    arb_outpoint *many = calloc(1001, sizeof *many);
    CHECK(many != NULL);
    for (size_t i = 0; i < 1001; i++)
        many[i] = add_coin(10000);
    size_t big = mk(many, 1001, 1, 1001 * 10000 - 200000);
    CHECK(arb_tx_size(&T[big]) > ARB_MEMPOOL_MAX_TX_SIZE);
    CHECK_STR(accept_in(mp, big), "tx-size");
    free(many);

    size_t cnt, bytes;
    arb_mempool_stats(mp, &cnt, &bytes);
    CHECK_EQ(cnt, 5);
    CHECK_EQ(bytes, arb_tx_size(&T[a]) + arb_tx_size(&T[b]) + arb_tx_size(&T[c]) +
                        arb_tx_size(&T[nodust]) + arb_tx_size(&T[enough]));
    CHECK(arb_mempool_spends(mp, &c1));
    CHECK(!arb_mempool_spends(mp, &a1));
    arb_mempool_entry_info info;
    CHECK(arb_mempool_get(mp, &TID[b], NULL, &info) == ARB_OK);
    CHECK_EQ(info.fee, ARB_COIN);
    CHECK_EQ(info.anc_count, 2);
    CHECK_EQ(info.desc_count, 2);
    CHECK_EQ(info.anc_fees, 3 * ARB_COIN);
    CHECK_EQ(info.desc_fees, 2 * ARB_COIN);
    CHECK(consistent(mp));

    /* Template: parents first; a size limit that fits only a. */
    arb_tx *sel;
    size_t n;
    uint64_t fees;
    CHECK(arb_mempool_select(mp, 1000000, &sel, &n, &fees, NULL, NULL) == ARB_OK);
    CHECK_EQ(n, 5);
    arb_hash id;
    CHECK(arb_tx_txid(H, &id, &sel[0]) == ARB_OK);
    CHECK_MEM(id.b, TID[a].b, 32);
    for (size_t i = 0; i < n; i++)
        arb_tx_clear(&sel[i]);
    free(sel);
    CHECK(arb_mempool_select(mp, arb_tx_size(&T[a]) + 10, &sel, &n, &fees, NULL, NULL) ==
          ARB_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(fees, 2 * ARB_COIN);
    arb_tx_clear(&sel[0]);
    free(sel);

    /* Block connect: a confirmed (b, c stay with fewer ancestors); a block
     * spending b0 elsewhere drops c as a conflict. */
    connect(mp, &a, 1);
    CHECK(!has(mp, a) && has(mp, b) && has(mp, c));
    CHECK(arb_mempool_get(mp, &TID[c], NULL, &info) == ARB_OK);
    CHECK_EQ(info.anc_count, 2);
    CHECK(consistent(mp));
    size_t b_alt = mk(&b0, 1, 1, 1 * ARB_COIN);
    connect(mp, &b_alt, 1);
    CHECK(has(mp, b) && !has(mp, c));
    CHECK(consistent(mp));
    arb_mempool_free(mp);
}

static void test_conflict_block_and_reorg(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    arb_outpoint c1 = add_coin(10 * ARB_COIN);
    size_t a = mk(&c1, 1, 1, 9 * ARB_COIN);
    arb_outpoint a0 = out_of(a, 0);
    size_t b = mk(&a0, 1, 1, 8 * ARB_COIN);
    CHECK(accept_in(mp, a) == NULL && accept_in(mp, b) == NULL);
    size_t rival = mk(&c1, 1, 1, 5 * ARB_COIN);
    connect(mp, &rival, 1);
    CHECK(!has(mp, a) && !has(mp, b));
    CHECK_EQ(pool_count(mp), 0);

    /* Reorg: the block with the rival is disconnected (c1 unspent again) and
     * an empty branch wins; resync re-adds the rival. a pays less than the
     * rival per byte, so it cannot replace it. */
    kfind(&c1)->in_chain = 1;
    arb_outpoint r0 = out_of(rival, 0);
    kfind(&r0)->in_chain = 0;
    CHECK(arb_mempool_resync(mp, &C, &CH, &T[rival], 1) == ARB_OK);
    CHECK(has(mp, rival));
    CHECK_STR(accept_in(mp, a), "rbf-feerate-too-low");
    CHECK(consistent(mp));
    arb_mempool_free(mp);
}

/* Reorg re-admission skips only the signature check (the transactions were
 * verified before): every other rule still holds. */
static void test_nosig_check(void)
{
    arb_check_result r;
    arb_outpoint c = add_coin(100000);
    size_t t = mk1(c, 1000);
    T[t].sig[0][7] ^= 1;
    CHECK(arb_chain_check_tx_inputs(P, &C, &T[t], 20, 0, chain_lookup, NULL, &r) ==
          ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "bad-txns-sig");
    CHECK(arb_chain_check_tx_inputs_nosig(P, &C, &T[t], 20, 0, chain_lookup, NULL, &r) ==
          ARB_OK);
    CHECK_EQ(r.fees, 1000);
    arb_outpoint missing = out_of(t, 3);
    size_t m = mk(&missing, 1, 1, 1000);
    CHECK(arb_chain_check_tx_inputs_nosig(P, &C, &T[m], 20, 0, chain_lookup, NULL, &r) ==
          ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "bad-txns-inputs-missingorspent");
    size_t over = mk(&c, 1, 1, 200000);
    CHECK(arb_chain_check_tx_inputs_nosig(P, &C, &T[over], 20, 0, chain_lookup, NULL, &r) ==
          ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "bad-txns-in-belowout");
}

/* ---------------------------------------------------------------- package limits */

static void test_limits(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    /* A chain of 25 is fine, the 26th has 25 unconfirmed ancestors. */
    arb_outpoint prev = add_coin(ARB_COIN);
    size_t t = 0;
    for (int i = 0; i < 25; i++) {
        t = mk1(prev, 1000);
        CHECK(accept_in(mp, t) == NULL);
        prev = out_of(t, 0);
    }
    size_t t26 = mk1(prev, 1000);
    CHECK_STR(accept_in(mp, t26), "too-many-unconfirmed-ancestors");
    arb_mempool_entry_info info;
    CHECK(arb_mempool_get(mp, &TID[t], NULL, &info) == ARB_OK);
    CHECK_EQ(info.anc_count, 25);

    /* 24 children of one parent (25 with it); the 25th child is refused. */
    arb_outpoint pc = add_coin(ARB_COIN);
    size_t par = mk(&pc, 1, 25, ARB_COIN / 25 - 1000);
    CHECK(accept_in(mp, par) == NULL);
    for (uint32_t i = 0; i < 24; i++)
        CHECK(accept_in(mp, mk1(out_of(par, i), 1000)) == NULL);
    CHECK_STR(accept_in(mp, mk1(out_of(par, 24), 1000)), "too-many-descendants");

    /* Ancestor size: 40 kB + 40 kB + 24 kB > 101,000 bytes. */
    arb_outpoint big = add_coin(100 * ARB_COIN);
    size_t q1 = mk(&big, 1, 1000, 600000);
    CHECK(accept_in(mp, q1) == NULL);
    arb_outpoint q10 = out_of(q1, 0);
    size_t q2 = mk(&q10, 1, 1000, 500);
    CHECK(arb_tx_size(&T[q2]) < 41000);
    /* q2 pays 600000 - 500000 = 100000 >= its size */
    CHECK(accept_in(mp, q2) == NULL);
    arb_outpoint q20 = out_of(q2, 0);
    /* q2's output alone cannot pay for 600 outputs: a chain coin helps */
    arb_outpoint extra = add_coin(ARB_COIN);
    arb_outpoint ins[2] = {q20, extra};
    size_t q3 = mk(ins, 2, 600, 500);
    CHECK(arb_tx_size(&T[q1]) + arb_tx_size(&T[q2]) + arb_tx_size(&T[q3]) >
          ARB_MEMPOOL_ANCESTOR_SIZE_LIMIT);
    CHECK_STR(accept_in(mp, q3), "exceeds-ancestor-size-limit");

    /* Descendant size: three children of 30 kB fit under one parent, a
     * fourth would take its descendants over 101,000 bytes. */
    arb_outpoint dc = add_coin(100 * ARB_COIN);
    size_t dp = mk(&dc, 1, 4, 20 * ARB_COIN);
    CHECK(accept_in(mp, dp) == NULL);
    for (uint32_t i = 0; i < 3; i++)
        CHECK(accept_in(mp, mk(&(arb_outpoint){TID[dp], i}, 1, 750, 2000000)) == NULL);
    CHECK_STR(accept_in(mp, mk(&(arb_outpoint){TID[dp], 3}, 1, 750, 2000000)),
              "exceeds-descendant-size-limit");
    CHECK(consistent(mp));
    arb_mempool_free(mp);
}

/* ---------------------------------------------------------------- replace-by-fee */

static void test_rbf(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);

    /* Rule 6: the replacement's fee rate must beat the original's. */
    arb_outpoint c = add_coin(ARB_COIN);
    size_t orig = mk1(c, 1510); /* 10 units per byte */
    CHECK(accept_in(mp, orig) == NULL);
    size_t equal = mk(&c, 1, 2, (ARB_COIN - 1910) / 2); /* 191 bytes, also 10 per byte */
    CHECK_EQ(arb_tx_size(&T[equal]), 191);
    CHECK_STR(accept_in(mp, equal), "rbf-feerate-too-low");
    CHECK_STR(accept_in(mp, mk1(c, 1400)), "rbf-feerate-too-low");
    /* Rule 4: it must add the incremental relay fee for its own 151 bytes. */
    CHECK_STR(accept_in(mp, mk1(c, 1660)), "rbf-increment-too-low");
    size_t repl = mk1(c, 1661);
    CHECK(accept_in(mp, repl) == NULL);
    CHECK(!has(mp, orig) && has(mp, repl));
    CHECK(consistent(mp));

    /* Rule 3: a higher fee rate but less than original + descendants pay. */
    arb_outpoint c2 = add_coin(ARB_COIN);
    size_t o2 = mk(&c2, 1, 2, (ARB_COIN - 1000) / 2); /* 191 bytes, fee 1000 */
    CHECK(accept_in(mp, o2) == NULL);
    size_t child = mk1(out_of(o2, 0), 5000);
    CHECK(accept_in(mp, child) == NULL);
    size_t r2 = mk1(c2, 1000 + 160); /* 151 bytes: higher rate, fee < 6000 */
    CHECK_STR(accept_in(mp, r2), "rbf-fee-below-replaced");
    size_t r2b = mk1(c2, 6000 + 151);
    CHECK(accept_in(mp, r2b) == NULL);
    CHECK(!has(mp, o2) && !has(mp, child) && has(mp, r2b));
    CHECK(consistent(mp));

    /* Rule 2: no new unconfirmed inputs (the allowed case is in test_rbf_more). */
    arb_outpoint c3 = add_coin(ARB_COIN), cu = add_coin(ARB_COIN);
    size_t u = mk(&cu, 1, 2, ARB_COIN / 2 - 1000); /* an unrelated mempool tx */
    CHECK(accept_in(mp, u) == NULL);
    size_t o3 = mk1(c3, 1000);
    CHECK(accept_in(mp, o3) == NULL);
    arb_outpoint in3[2] = {c3, out_of(u, 0)};
    size_t r3 = mk(in3, 2, 1, ARB_COIN + ARB_COIN / 2 - 100000);
    CHECK_STR(accept_in(mp, r3), "rbf-adds-unconfirmed");
    CHECK(has(mp, o3));
    CHECK(consistent(mp));
    arb_mempool_free(mp);
}

/* Rule 2's allowance, Core's "spends-conflicting-tx" and rule 5 on their own pools. */
static void test_rbf_more(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    /* u has two outputs; a spends u:0 and chain coin c. A replacement of a
     * may spend u:1 (u is a parent of what it replaces). */
    arb_outpoint cu = add_coin(ARB_COIN), c = add_coin(ARB_COIN);
    size_t u = mk(&cu, 1, 2, ARB_COIN / 2 - 1000);
    CHECK(accept_in(mp, u) == NULL);
    arb_outpoint ina[2] = {out_of(u, 0), c};
    size_t a = mk(ina, 2, 1, ARB_COIN / 2 - 1000 + ARB_COIN - 1000);
    CHECK(accept_in(mp, a) == NULL);
    arb_outpoint inr[2] = {c, out_of(u, 1)};
    size_t r = mk(inr, 2, 1, ARB_COIN / 2 - 1000 + ARB_COIN - 5000);
    CHECK(accept_in(mp, r) == NULL);
    CHECK(!has(mp, a) && has(mp, r) && has(mp, u));
    CHECK(consistent(mp));

    /* spends-conflicting-tx: x spends chain coin d; y spends x:0. z spends d
     * (conflicts with x) and x:0 (conflicts with y): its parent x is replaced. */
    arb_outpoint d = add_coin(ARB_COIN);
    size_t x = mk1(d, 1000);
    CHECK(accept_in(mp, x) == NULL);
    size_t y = mk1(out_of(x, 0), 1000);
    CHECK(accept_in(mp, y) == NULL);
    arb_outpoint inz[2] = {d, out_of(x, 0)};
    size_t z = mk(inz, 2, 1, ARB_COIN + ARB_COIN - 1000 - 50000);
    CHECK_STR(accept_in(mp, z), "rbf-spends-conflicting-tx");
    CHECK(has(mp, x) && has(mp, y));

    /* Rule 5: replacing 101 transactions is refused, 100 is allowed. */
    enum { M = 101 };
    arb_outpoint coins[M];
    size_t lows[M];
    for (int i = 0; i < M; i++) {
        coins[i] = add_coin(100000);
        lows[i] = mk1(coins[i], 151);
        CHECK(accept_in(mp, lows[i]) == NULL);
    }
    size_t all = mk(coins, M, 1, (uint64_t)M * 100000 - 60000);
    CHECK_STR(accept_in(mp, all), "rbf-too-many-replacements");
    size_t hundred = mk(coins, M - 1, 1, (uint64_t)(M - 1) * 100000 - 60000);
    CHECK(accept_in(mp, hundred) == NULL);
    CHECK(has(mp, lows[M - 1]) && !has(mp, lows[0]));
    CHECK(consistent(mp));
    arb_mempool_free(mp);
}

/* ---------------------------------------------------------------- eviction, rolling fee */

static int64_t NOW = 1700000000;
static int64_t test_clock(void *ud)
{
    (void)ud;
    return NOW;
}

static void test_eviction(void)
{
    arb_mempool *mp;
    arb_mempool_opts o = {10 * 151, test_clock, NULL};
    CHECK(arb_mempool_new(&mp, P, &o) == ARB_OK);
    /* Ten 151-byte transactions paying 5..14 units per byte. */
    size_t t[10];
    for (int i = 0; i < 10; i++) {
        t[i] = mk1(add_coin(100000), (uint64_t)(5 + i) * 151);
        CHECK(accept_in(mp, t[i]) == NULL);
    }
    arb_mempool_info mi;
    arb_mempool_info_get(mp, &mi);
    CHECK_EQ(mi.count, 10);
    CHECK_EQ(mi.rolling_min_fee_rate, 0);
    CHECK_EQ(mi.min_fee_rate, ARB_MEMPOOL_MIN_RELAY_FEERATE);
    /* A newcomer paying least is the one evicted: mempool-full, and the pool
     * keeps its ten; the minimum fee rises to its rate + 1000. */
    size_t cheap = mk1(add_coin(100000), 2 * 151);
    CHECK_STR(accept_in(mp, cheap), "mempool-full");
    CHECK(!has(mp, cheap));
    CHECK_EQ(pool_count(mp), 10);
    arb_mempool_info_get(mp, &mi);
    CHECK_EQ(mi.rolling_min_fee_rate, 3000);
    /* Below the rolling minimum: refused before anything is evicted. */
    size_t below = mk1(add_coin(100000), 2 * 151 + 70); /* 2463 per 1000 bytes */
    CHECK_STR(accept_in(mp, below), "mempool-min-fee-not-met");
    /* 20 per byte: evicts the 5-per-byte one; the minimum becomes 6000. */
    size_t rich = mk1(add_coin(100000), 20 * 151);
    CHECK(accept_in(mp, rich) == NULL);
    CHECK(!has(mp, t[0]) && has(mp, t[1]));
    arb_mempool_info_get(mp, &mi);
    CHECK_EQ(mi.rolling_min_fee_rate, 6000);
    CHECK(consistent(mp));

    /* A parent paying the least, whose child pays a lot: the package's
     * descendant score protects it; the next cheapest single goes. */
    arb_mempool_free(mp);
    arb_mempool_opts o2 = {6 * 151, test_clock, NULL};
    CHECK(arb_mempool_new(&mp, P, &o2) == ARB_OK);
    size_t parent = mk1(add_coin(100000), 2 * 151);
    CHECK(accept_in(mp, parent) == NULL);
    size_t kid = mk1(out_of(parent, 0), 40 * 151);
    CHECK(accept_in(mp, kid) == NULL);
    size_t s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = mk1(add_coin(100000), (uint64_t)(6 + i) * 151);
        CHECK(accept_in(mp, s[i]) == NULL);
    }
    size_t more = mk1(add_coin(100000), 30 * 151);
    CHECK(accept_in(mp, more) == NULL);
    CHECK(has(mp, parent) && has(mp, kid) && !has(mp, s[0]) && has(mp, s[1]));
    arb_mempool_info_get(mp, &mi);
    CHECK_EQ(mi.rolling_min_fee_rate, 7000);

    /* The rolling minimum decays only after a block: half-life 12 hours for
     * a pool over half full, faster when emptier. */
    NOW += 24 * 3600;
    arb_mempool_info_get(mp, &mi);
    CHECK_EQ(mi.rolling_min_fee_rate, 7000);
    connect(mp, NULL, 0);
    NOW += 12 * 3600;
    arb_mempool_info_get(mp, &mi);
    CHECK_EQ(mi.rolling_min_fee_rate, 3500);
    NOW += 10 * 24 * 3600;
    arb_mempool_info_get(mp, &mi);
    CHECK_EQ(mi.rolling_min_fee_rate, 0);
    CHECK_EQ(mi.min_fee_rate, ARB_MEMPOOL_MIN_RELAY_FEERATE);
    CHECK(consistent(mp));
    arb_mempool_free(mp);
}

/* ---------------------------------------------------------------- selection vs naive */

typedef struct {
    arb_hash txid;
    arb_tx tx;
    arb_mempool_entry_info info;
    int par[64];
    int n_par;
} nv_ent;

typedef struct {
    nv_ent *v;
    size_t n;
    arb_mempool *mp;
} nv_pool;

static int nv_collect(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    nv_pool *p = ud;
    (void)fee;
    nv_ent *e = &p->v[p->n++];
    memset(e, 0, sizeof *e);
    e->txid = *txid;
    arb_tx_init(&e->tx);
    if (arb_tx_copy(&e->tx, tx) != ARB_OK)
        abort();
    return 0;
}

static int nv_find(const nv_pool *p, const arb_hash *id)
{
    for (size_t i = 0; i < p->n; i++)
        if (memcmp(p->v[i].txid.b, id->b, 32) == 0)
            return (int)i;
    return -1;
}

/* Marks the ancestors of i (not in block) and i itself in pkg. */
static void nv_pkg(const nv_pool *p, int i, const uint8_t *inblock, uint8_t *pkg)
{
    if (pkg[i] || inblock[i])
        return;
    pkg[i] = 1;
    for (int k = 0; k < p->v[i].n_par; k++)
        nv_pkg(p, p->v[i].par[k], inblock, pkg);
}

static int nv_better(uint64_t fa, uint64_t sa, const arb_hash *a, uint64_t fb, uint64_t sb,
                     const arb_hash *b)
{
    unsigned __int128 x = (unsigned __int128)fa * sb, y = (unsigned __int128)fb * sa;
    if (x != y)
        return x > y;
    return memcmp(a->b, b->b, 32) < 0;
}

/* The reference: recompute every package from scratch at every step. */
static size_t nv_select(const nv_pool *p, size_t max_bytes, int *order, uint64_t *fees_out)
{
    uint8_t *inblock = calloc(p->n + 1, 1), *failed = calloc(p->n + 1, 1),
            *pkg = calloc(p->n + 1, 1);
    size_t cnt = 0, used = 0;
    uint64_t fees = 0;
    unsigned fails = 0;
    for (;;) {
        int best = -1;
        uint64_t bf = 0, bs = 0;
        for (size_t i = 0; i < p->n; i++) {
            if (inblock[i] || failed[i])
                continue;
            memset(pkg, 0, p->n);
            nv_pkg(p, (int)i, inblock, pkg);
            uint64_t f = 0, s = 0;
            for (size_t j = 0; j < p->n; j++)
                if (pkg[j]) {
                    f += p->v[j].info.fee;
                    s += p->v[j].info.size;
                }
            if (best < 0 || nv_better(f, s, &p->v[i].txid, bf, bs, &p->v[best].txid)) {
                best = (int)i;
                bf = f;
                bs = s;
            }
        }
        if (best < 0 || bf < bs * ARB_MEMPOOL_MIN_RELAY_FEERATE / 1000)
            break;
        if (used + bs > max_bytes) {
            failed[best] = 1;
            if (++fails > 1000 && used + 4000 > max_bytes)
                break;
            continue;
        }
        memset(pkg, 0, p->n);
        nv_pkg(p, best, inblock, pkg);
        /* topological: fewer ancestors first, then arrival */
        for (;;) {
            int pick = -1;
            for (size_t j = 0; j < p->n; j++)
                if (pkg[j] && (pick < 0 || p->v[j].info.anc_count < p->v[pick].info.anc_count ||
                               (p->v[j].info.anc_count == p->v[pick].info.anc_count &&
                                p->v[j].info.seq < p->v[pick].info.seq)))
                    pick = (int)j;
            if (pick < 0)
                break;
            pkg[pick] = 0;
            inblock[pick] = 1;
            order[cnt++] = pick;
            used += p->v[pick].info.size;
            fees += p->v[pick].info.fee;
        }
        fails = 0;
    }
    free(inblock);
    free(failed);
    free(pkg);
    *fees_out = fees;
    return cnt;
}

static void check_select_once(arb_mempool *mp, size_t max_bytes)
{
    nv_pool p = {calloc(pool_count(mp) + 1, sizeof(nv_ent)), 0, mp};
    CHECK(p.v != NULL);
    arb_mempool_foreach(mp, nv_collect, &p);
    for (size_t i = 0; i < p.n; i++) {
        CHECK(arb_mempool_get(mp, &p.v[i].txid, NULL, &p.v[i].info) == ARB_OK);
        for (size_t k = 0; k < p.v[i].tx.n_in; k++) {
            int q = nv_find(&p, &p.v[i].tx.in[k].txid);
            int dup = 0;
            for (int j = 0; j < p.v[i].n_par; j++)
                dup |= p.v[i].par[j] == q;
            if (q >= 0 && !dup && p.v[i].n_par < 64)
                p.v[i].par[p.v[i].n_par++] = q;
        }
    }
    int *order = calloc(p.n + 1, sizeof *order);
    uint64_t nfees;
    size_t nn = nv_select(&p, max_bytes, order, &nfees);
    arb_tx *sel;
    size_t n;
    uint64_t fees;
    CHECK(arb_mempool_select(mp, max_bytes, &sel, &n, &fees, NULL, NULL) == ARB_OK);
    int same = n == nn && fees == nfees;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        arb_hash id;
        if (arb_tx_txid(H, &id, &sel[i]) != ARB_OK)
            same = 0;
        if (same && memcmp(id.b, p.v[order[i]].txid.b, 32) != 0)
            same = 0;
        used += arb_tx_size(&sel[i]);
        /* parents before children */
        for (size_t k = 0; k < sel[i].n_in; k++)
            for (size_t j = i + 1; j < n; j++) {
                arb_hash later;
                if (arb_tx_txid(H, &later, &sel[j]) == ARB_OK &&
                    memcmp(later.b, sel[i].in[k].txid.b, 32) == 0)
                    same = 0;
            }
        arb_tx_clear(&sel[i]);
    }
    free(sel);
    if (!same)
        fprintf(stderr, "selection differs: fast %zu txs / %llu fees, naive %zu / %llu (pool %zu, "
                        "max %zu)\n",
                n, (unsigned long long)fees, nn, (unsigned long long)nfees, p.n, max_bytes);
    for (size_t i = 0; i < p.n; i++)
        arb_tx_clear(&p.v[i].tx);
    free(p.v);
    free(order);
    CHECK(same);
    CHECK(used <= max_bytes);
}

/* Random pools of related transactions (chains, fans, diamonds, CPFP
 * children paying for cheap parents). */
static void random_pool(arb_mempool *mp, size_t target, size_t *n_sp, arb_outpoint *sp)
{
    size_t tries = 0;
    while (pool_count(mp) < target && tries++ < target * 3) {
        size_t n_in = 1 + arb_test_rand_below(arb_test_rand_below(4) == 0 ? 3 : 1);
        arb_outpoint ins[3];
        uint64_t in_total = 0;
        size_t got = 0;
        for (size_t k = 0; k < n_in; k++) {
            arb_outpoint op;
            if (*n_sp > 0 && arb_test_rand_below(3) != 0) {
                size_t j = arb_test_rand_below(*n_sp);
                op = sp[j];
                sp[j] = sp[--*n_sp];
            } else {
                op = add_coin(100000 + arb_test_rand_below(1000000));
            }
            int dup = 0;
            for (size_t q = 0; q < got; q++)
                dup |= ins[q].index == op.index && memcmp(ins[q].txid.b, op.txid.b, 32) == 0;
            if (dup)
                continue;
            ins[got++] = op;
            in_total += kfind(&op)->out.amount;
        }
        size_t n_out = 1 + arb_test_rand_below(3);
        size_t size = 4 + 1 + got * 100 + 1 + n_out * 40 + 4 + 1;
        /* fee rate 1..30 units per byte, sometimes exactly the minimum */
        uint64_t rate = arb_test_rand_below(5) == 0 ? 1 : 1 + arb_test_rand_below(30);
        uint64_t fee = rate * size + arb_test_rand_below(size);
        if (in_total < fee + n_out * 1000)
            continue;
        uint64_t each = (in_total - fee) / n_out;
        uint64_t outs[3] = {each, each, in_total - fee - each * (n_out - 1)};
        if (n_out == 1)
            outs[0] = in_total - fee;
        else if (n_out == 2)
            outs[1] = in_total - fee - each;
        size_t t = mkv(ins, got, n_out, outs, 0);
        if (accept_in(mp, t) == NULL)
            for (uint32_t o = 0; o < n_out; o++)
                sp[(*n_sp)++] = out_of(t, o);
    }
}

static void test_select_random(void)
{
    unsigned long rounds = arb_test_count(30);
    arb_outpoint *sp = calloc(4096, sizeof *sp);
    CHECK(sp != NULL);
    for (unsigned long r = 0; r < rounds; r++) {
        arb_mempool *mp;
        CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
        size_t n_sp = 0;
        random_pool(mp, 10 + arb_test_rand_below(50), &n_sp, sp);
        CHECK(consistent(mp));
        size_t bytes;
        arb_mempool_stats(mp, NULL, &bytes);
        /* a block of everything, and blocks that fit a part of it */
        check_select_once(mp, 1000000);
        check_select_once(mp, 200 + arb_test_rand_below(bytes + 1));
        check_select_once(mp, bytes / 3 + 1);
        arb_mempool_free(mp);
    }
    free(sp);
}

/* The CPFP chain of the issue in small: each child pays one unit more than
 * its parent; chains of 25 (the limit). Packages come whole, the best
 * package first. */
static void test_select_cpfp_chains(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    for (int chain = 0; chain < 8; chain++) {
        arb_outpoint prev = add_coin(ARB_COIN);
        uint64_t fee = 200 + (uint64_t)chain * 10;
        for (int i = 0; i < 25; i++) {
            size_t t = mk1(prev, fee++);
            CHECK(accept_in(mp, t) == NULL);
            prev = out_of(t, 0);
        }
    }
    check_select_once(mp, 1000000);
    check_select_once(mp, 25 * 151 * 3 + 100);
    check_select_once(mp, 5000);
    arb_mempool_free(mp);
}

/* ---------------------------------------------------------------- random operations */

static void test_random_ops(void)
{
    unsigned long rounds = arb_test_count(30);
    arb_outpoint *sp = calloc(8192, sizeof *sp);
    CHECK(sp != NULL);
    for (unsigned long r = 0; r < rounds; r++) {
        arb_mempool *mp;
        arb_mempool_opts o = {2000 + arb_test_rand_below(8000), test_clock, NULL};
        CHECK(arb_mempool_new(&mp, P, &o) == ARB_OK);
        size_t n_sp = 0;
        for (int step = 0; step < 12; step++) {
            switch (arb_test_rand_below(4)) {
            case 0:
            case 1:
                random_pool(mp, pool_count(mp) + 1 + arb_test_rand_below(10), &n_sp, sp);
                break;
            case 2: { /* a replacement of a random pool transaction's input */
                nv_pool p = {calloc(pool_count(mp) + 1, sizeof(nv_ent)), 0, mp};
                arb_mempool_foreach(mp, nv_collect, &p);
                if (p.n > 0) {
                    nv_ent *e = &p.v[arb_test_rand_below(p.n)];
                    known *k = kfind(&e->tx.in[0]);
                    uint64_t fee = 1000 + arb_test_rand_below(20000);
                    if (k != NULL && k->out.amount > fee + 1000)
                        (void)accept_in(mp, mk1(e->tx.in[0], fee));
                }
                for (size_t i = 0; i < p.n; i++)
                    arb_tx_clear(&p.v[i].tx);
                free(p.v);
                break;
            }
            default: { /* a block: some pool transactions and a conflict */
                nv_pool p = {calloc(pool_count(mp) + 1, sizeof(nv_ent)), 0, mp};
                arb_mempool_foreach(mp, nv_collect, &p);
                size_t ts[4], nt = 0;
                /* the oldest (arrival order: its parents are confirmed) */
                for (size_t i = 0; i < p.n && nt < 2; i++) {
                    int ok = 1;
                    for (size_t k = 0; k < p.v[i].tx.n_in; k++) {
                        known *c = kfind(&p.v[i].tx.in[k]);
                        ok &= c != NULL && c->in_chain;
                    }
                    if (ok) {
                        size_t found = SIZE_MAX;
                        for (size_t t = 0; t < NT && found == SIZE_MAX; t++)
                            if (memcmp(TID[t].b, p.v[i].txid.b, 32) == 0)
                                found = t;
                        if (found != SIZE_MAX)
                            ts[nt++] = found;
                    }
                }
                if (p.n > 0) { /* a chain-only double spend of one input */
                    nv_ent *e = &p.v[arb_test_rand_below(p.n)];
                    known *k = kfind(&e->tx.in[0]);
                    if (k != NULL && k->in_chain && k->out.amount > 2000) {
                        int dup = 0;
                        for (size_t q = 0; q < nt; q++)
                            for (size_t kk = 0; kk < T[ts[q]].n_in; kk++)
                                dup |= T[ts[q]].in[kk].index == e->tx.in[0].index &&
                                       memcmp(T[ts[q]].in[kk].txid.b, e->tx.in[0].txid.b, 32) ==
                                           0;
                        if (!dup)
                            ts[nt++] = mk1(e->tx.in[0], 1000);
                    }
                }
                connect(mp, ts, nt);
                for (size_t q = 0; q < nt; q++)
                    CHECK(!has(mp, ts[q]));
                for (size_t i = 0; i < p.n; i++)
                    arb_tx_clear(&p.v[i].tx);
                free(p.v);
                /* outputs spent by the block leave the spendable list */
                size_t w = 0;
                for (size_t i = 0; i < n_sp; i++) {
                    int spent = 0;
                    for (size_t q = 0; q < nt; q++)
                        for (size_t kk = 0; kk < T[ts[q]].n_in; kk++)
                            spent |= T[ts[q]].in[kk].index == sp[i].index &&
                                     memcmp(T[ts[q]].in[kk].txid.b, sp[i].txid.b, 32) == 0;
                    if (!spent)
                        sp[w++] = sp[i];
                }
                n_sp = w;
                break;
            }
            }
            CHECK(consistent(mp));
            size_t bytes;
            arb_mempool_stats(mp, NULL, &bytes);
            CHECK(bytes <= o.max_bytes);
        }
        check_select_once(mp, 1000000);
        check_select_once(mp, 1500);
        /* a resync with no disconnected blocks keeps a consistent pool */
        CHECK(arb_mempool_resync(mp, &C, &CH, NULL, 0) == ARB_OK);
        CHECK(consistent(mp));
        arb_mempool_free(mp);
    }
    free(sp);
}

/* ---------------------------------------------------------------- persistence */

/* Fixes the trailing checksum after an edit (so only the edit is wrong). */
static void reseal(uint8_t *d, size_t n)
{
    arb_sha256_digest(H, d + n - 32, d, n - 32);
}

static void test_persistence(void)
{
    char dir[512], path[600];
    CHECK(arb_test_tmpdir(dir, sizeof dir) == 0);
    snprintf(path, sizeof path, "%s/mempool.dat", dir);
    arb_mempool *mp, *mp2;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    /* a missing file is an empty start */
    size_t ok = 9, bad = 9;
    arb_errbuf eb;
    CHECK(arb_mempool_load(mp, &C, &CH, path, &ok, &bad, &eb) == ARB_OK);
    CHECK_EQ(ok + bad, 0);
    arb_outpoint prev = add_coin(ARB_COIN);
    size_t chain[5];
    for (int i = 0; i < 5; i++) {
        chain[i] = mk1(prev, 1000 + (uint64_t)i);
        CHECK(accept_in(mp, chain[i]) == NULL);
        prev = out_of(chain[i], 0);
    }
    size_t lone = mk1(add_coin(ARB_COIN), 5000);
    CHECK(accept_in(mp, lone) == NULL);
    size_t n = 0;
    CHECK(arb_mempool_save(mp, path, &n, &eb) == ARB_OK);
    CHECK_EQ(n, 6);
    CHECK(access(path, F_OK) == 0);

    CHECK(arb_mempool_new(&mp2, P, NULL) == ARB_OK);
    CHECK(arb_mempool_load(mp2, &C, &CH, path, &ok, &bad, &eb) == ARB_OK);
    CHECK_EQ(ok, 6);
    CHECK_EQ(bad, 0);
    for (int i = 0; i < 5; i++)
        CHECK(has(mp2, chain[i]));
    CHECK(has(mp2, lone));
    arb_mempool_info a, b;
    arb_mempool_info_get(mp, &a);
    arb_mempool_info_get(mp2, &b);
    CHECK_EQ(a.bytes, b.bytes);
    CHECK_EQ(a.total_fees, b.total_fees);
    CHECK(consistent(mp2));
    arb_mempool_free(mp2);

    /* Re-validated on load: with `lone`'s coin spent by the chain meanwhile it
     * is dropped; the rest come back. */
    kfind(&T[lone].in[0])->in_chain = 0;
    CHECK(arb_mempool_new(&mp2, P, NULL) == ARB_OK);
    CHECK(arb_mempool_load(mp2, &C, &CH, path, &ok, &bad, &eb) == ARB_OK);
    CHECK_EQ(ok, 5);
    CHECK_EQ(bad, 1);
    CHECK(!has(mp2, lone));
    arb_mempool_free(mp2);
    kfind(&T[lone].in[0])->in_chain = 1;

    /* Corrupt files: each reported, none admitted. */
    size_t len;
    uint8_t *img = arb_test_read_file(path, &len);
    CHECK(img != NULL && len > 100);
    uint8_t *cp = malloc(len + 64);
    CHECK(cp != NULL);
    struct {
        const char *what;
        size_t len;
        size_t off;
        int reseal;
    } cases[] = {
        {"truncated", len - 1, SIZE_MAX, 0},
        {"flipped byte", len, 70, 0},
        {"bad magic", len, 0, 1},
        {"bad version", len, 8, 1},
        {"other network", len, 12, 1},
        {"bad count", len, 44, 1},
        {"bad record length", len, 60, 1},
        {"trailing bytes", len + 10, SIZE_MAX, 1},
        {"empty", 0, SIZE_MAX, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t clen = cases[i].len;
        if (clen > len) { /* trailing bytes before the checksum */
            memcpy(cp, img, len - 32);
            memset(cp + len - 32, 0xab, clen - len);
            memcpy(cp + clen - 32, img + len - 32, 32);
        } else {
            memcpy(cp, img, clen);
        }
        if (cases[i].off != SIZE_MAX && cases[i].off < clen)
            cp[cases[i].off] ^= 0x5a;
        if (cases[i].reseal && clen >= 32)
            reseal(cp, clen);
        CHECK(arb_test_write_file(path, cp, clen));
        CHECK(arb_mempool_new(&mp2, P, NULL) == ARB_OK);
        arb_err err = arb_mempool_load(mp2, &C, &CH, path, &ok, &bad, &eb);
        if (err != ARB_ERR_PARSE)
            fprintf(stderr, "case %s: %d\n", cases[i].what, (int)err);
        CHECK(err == ARB_ERR_PARSE);
        CHECK_EQ(pool_count(mp2), 0);
        arb_mempool_free(mp2);
    }
    /* Records of a reseal-ed file whose transaction does not decode. */
    memcpy(cp, img, len);
    cp[8 + 4 + 32 + 8 + 8 + 1 + 4] = 7; /* first tx's input count: 7 inputs, too few bytes */
    reseal(cp, len);
    CHECK(arb_test_write_file(path, cp, len));
    CHECK(arb_mempool_new(&mp2, P, NULL) == ARB_OK);
    CHECK(arb_mempool_load(mp2, &C, &CH, path, &ok, &bad, &eb) == ARB_ERR_PARSE);
    CHECK_EQ(pool_count(mp2), 0);
    arb_mempool_free(mp2);
    free(cp);
    free(img);
    arb_mempool_free(mp);
    arb_test_rmtree(dir);
}

/* ---------------------------------------------------------------- threads */

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
        arb_tx *sel;
        size_t n;
        uint64_t fees;
        if (arb_mempool_select(TMP, 100000, &sel, &n, &fees, NULL, NULL) != ARB_OK)
            bad++;
        else {
            for (size_t k = 0; k < n; k++)
                arb_tx_clear(&sel[k]);
            free(sel);
        }
    }
    arb_sha256_free(sha);
    return (void *)bad;
}

static void test_threads(void)
{
    CHECK(arb_mempool_new(&TMP, P, NULL) == ARB_OK);
    for (size_t t = 0; t < NTHR; t++)
        for (size_t i = 0; i < PER; i++)
            TIDX[t][i] = mk1(add_coin(1000000), 1000);
    pthread_t th[NTHR];
    for (size_t t = 0; t < NTHR; t++)
        CHECK(pthread_create(&th[t], NULL, adder, (void *)(uintptr_t)t) == 0);
    for (size_t t = 0; t < NTHR; t++) {
        void *rv;
        pthread_join(th[t], &rv);
        CHECK(rv == NULL);
    }
    CHECK_EQ(pool_count(TMP), NTHR * PER);
    CHECK(consistent(TMP));
    arb_mempool_free(TMP);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    K = calloc(KCAP / 2, sizeof *K);
    KT = calloc(KCAP, sizeof *KT);
    T = calloc(TMAX, sizeof *T);
    TID = calloc(TMAX, sizeof *TID);
    if (K == NULL || KT == NULL || T == NULL || TID == NULL)
        return 1;
    P = arb_chain_params_get("regtest");
    C.sha = H;
    C.schnorr = S;
    C.threads = 1;
    do
        arb_test_rand_bytes(SK, 32);
    while (!arb_schnorr_pubkey(S, PK, SK));
    test_admission();
    test_state_check();
    test_conflict_block_and_reorg();
    test_nosig_check();
    test_limits();
    test_rbf();
    test_rbf_more();
    test_eviction();
    test_select_cpfp_chains();
    test_select_random();
    test_random_ops();
    test_persistence();
    test_threads();
    for (size_t i = 0; i < NT; i++)
        arb_tx_clear(&T[i]);
    free(T);
    free(TID);
    free(K);
    free(KT);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    return arb_test_done();
}
