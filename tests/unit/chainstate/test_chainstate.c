/* The chain state on a real RocksDB store (regtest): connecting blocks,
 * spending mature coinbases, the address index, reorganizations to the most
 * work (checked against a state built without any reorg), invalid blocks and
 * branches, and persistence across reopening. */
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/chainstate.h"
#include "ledger/chain/mine.h"
#include "tests/test.h"

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static uint8_t SK[3][32], PK[3][32];
static const int64_t NOW = 2000000000;
static char DIR_[512];

static arb_err open_cs(const char *sub, arb_store **st, arb_chainstate **cs)
{
    char path[700];
    arb_errbuf eb;
    arb_err err;
    snprintf(path, sizeof path, "%s/%s", DIR_, sub);
    if ((err = arb_store_open(st, path, arb_chainstate_cf_names(), ARB_CHAINSTATE_NCF, NULL, &eb)) !=
        ARB_OK) {
        arb_test_fail(__FILE__, __LINE__, "store: %s", eb.msg);
        return err;
    }
    if ((err = arb_chainstate_open(cs, *st, 0, P, 2, NULL, &eb)) != ARB_OK) {
        arb_test_fail(__FILE__, __LINE__, "chainstate: %s", eb.msg);
        arb_store_close(*st);
    }
    return err;
}

/* A block on `parent` (height ph, time pt) with coinbase to PK[0] tagged
 * `tag`, then txs (moved in). */
static void make_block(arb_block *b, const arb_hash *parent, uint32_t ph, uint32_t pt, char tag,
                       arb_tx *txs, size_t n, uint64_t fees, uint64_t cb_extra)
{
    arb_u256 target;
    arb_hash hash;
    arb_block_init(b);
    b->tx = calloc(n + 1, sizeof *b->tx);
    b->n_tx = n + 1;
    if (arb_tx_alloc(&b->tx[0], 1, 1) != ARB_OK)
        return;
    b->tx[0].version = 1;
    b->tx[0].in[0].index = ph + 1;
    b->tx[0].sig[0][0] = (uint8_t)tag;
    b->tx[0].out[0].amount = arb_chain_subsidy(P, ph + 1) + fees + cb_extra;
    memcpy(b->tx[0].out[0].key, PK[0], 32);
    /* the empty state's root: these blocks carry no name operations */
    b->tx[0].payload_type = ARB_PAYLOAD_STATE_ROOT;
    b->tx[0].payload_len = 32;
    b->tx[0].payload = calloc(1, 32);
    if (n > 0)
        memcpy(b->tx + 1, txs, n * sizeof *txs);
    b->header.version = 1;
    b->header.prev = *parent;
    b->header.time = pt + 600;
    b->header.bits = 0x207fffff;
    if (arb_block_merkle_root(H, &b->header.merkle_root, b->tx, b->n_tx) != ARB_OK)
        return;
    arb_pow_bits_to_target(&target, b->header.bits, NULL, NULL);
    for (b->header.nonce = 0;; b->header.nonce++) {
        arb_header_hash(H, &hash, &b->header);
        if (arb_pow_hash_meets(&hash, &target))
            break;
    }
}

typedef struct {
    arb_hash hash;
    uint32_t height, time;
} tipinfo;

/* Submits and frees b; returns the outcome or -1 on VERIFY (reason out). */
static int submit(arb_chainstate *cs, arb_block *b, tipinfo *made, const char **reason)
{
    arb_block_outcome oc;
    arb_check_result r;
    arb_err err = arb_chainstate_submit(cs, b, NOW, &oc, &r);
    if (made != NULL) {
        arb_header_hash(H, &made->hash, &b->header);
        made->time = b->header.time;
    }
    arb_block_clear(b);
    if (reason != NULL)
        *reason = err == ARB_ERR_VERIFY ? r.reason : NULL;
    if (err == ARB_ERR_VERIFY)
        return -1;
    if (err != ARB_OK) {
        arb_test_fail(__FILE__, __LINE__, "submit: %s", arb_err_str(err));
        return -2;
    }
    return (int)oc;
}

/* Extends from `from` with n empty blocks tagged `tag`; returns the last. */
static tipinfo extend(arb_chainstate *cs, tipinfo from, size_t n, char tag, int *last_outcome)
{
    for (size_t i = 0; i < n; i++) {
        arb_block b;
        tipinfo t;
        make_block(&b, &from.hash, from.height, from.time, tag, NULL, 0, 0, 0);
        *last_outcome = submit(cs, &b, &t, NULL);
        t.height = from.height + 1;
        from = t;
    }
    return from;
}

/* Digest of the UTXO set and the address index. */
static void state_digest(arb_store *st, uint8_t out[32])
{
    arb_sha256_init(H);
    for (unsigned cf = 3; cf <= 5; cf += 2) {
        arb_store_iter *it;
        if (arb_store_iter_new(&it, st, NULL, cf, NULL, 0, NULL, 0, NULL) != ARB_OK)
            return;
        for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
            size_t kl, vl;
            const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
            arb_sha256_update(H, k, kl);
            arb_sha256_update(H, v, vl);
        }
        arb_store_iter_free(it);
    }
    arb_sha256_final(H, out);
}

static int count_fn(void *ud, const arb_outpoint *op, uint64_t amount)
{
    (void)op;
    ((uint64_t *)ud)[0]++;
    ((uint64_t *)ud)[1] += amount;
    return 0;
}

static void addr_total(arb_chainstate *cs, int key, uint64_t *n, uint64_t *sum)
{
    uint64_t acc[2] = {0, 0};
    if (arb_chainstate_addr_coins(cs, PK[key], count_fn, acc) != ARB_OK)
        arb_test_fail(__FILE__, __LINE__, "addr_coins");
    *n = acc[0];
    *sum = acc[1];
}

/* The spend of coinbase output (cb_txid, 0) worth 50 coins to PK[1] (30) and
 * back to PK[0] (19), fee 1 coin. */
static void spend_cb(arb_tx *tx, const arb_hash *cb_txid, int corrupt)
{
    arb_txout spent;
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 2) != ARB_OK)
        return;
    tx->version = 1;
    tx->in[0].txid = *cb_txid;
    tx->out[0].amount = 30 * ARB_COIN;
    memcpy(tx->out[0].key, PK[1], 32);
    tx->out[1].amount = 19 * ARB_COIN;
    memcpy(tx->out[1].key, PK[0], 32);
    spent.amount = 50 * ARB_COIN;
    memcpy(spent.key, PK[0], 32);
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, SK[0], NULL) != ARB_OK)
        arb_test_fail(__FILE__, __LINE__, "sign");
    if (corrupt)
        tx->sig[0][3] ^= 1;
}

static void cb_txid_at(arb_chainstate *cs, uint32_t height, arb_hash *out)
{
    /* Rebuild the coinbase as make_block does (tag 'A' on chain A). */
    arb_tx cb;
    arb_tx_init(&cb);
    (void)cs;
    if (arb_tx_alloc(&cb, 1, 1) != ARB_OK)
        return;
    cb.version = 1;
    cb.in[0].index = height;
    cb.sig[0][0] = 'A';
    cb.out[0].amount = arb_chain_subsidy(P, height);
    memcpy(cb.out[0].key, PK[0], 32);
    cb.payload_type = ARB_PAYLOAD_STATE_ROOT;
    cb.payload_len = 32;
    cb.payload = calloc(1, 32);
    if (arb_tx_txid(H, out, &cb) != ARB_OK)
        arb_test_fail(__FILE__, __LINE__, "txid");
    arb_tx_clear(&cb);
}

static void test_chainstate(void)
{
    arb_store *st, *st2;
    arb_chainstate *cs, *cs2;
    arb_chain_tip tip;
    tipinfo g, a100, a101, a102, b103, a104, t;
    int oc;
    const char *reason;
    uint64_t n, sum;
    uint8_t d1[32], d2[32];
    arb_hash cb1;
    arb_coin coin;
    arb_block blk;

    CHECK(open_cs("a", &st, &cs) == ARB_OK);
    arb_chainstate_tip(cs, &tip);
    CHECK_EQ(tip.height, 0);
    arb_chain_genesis_hash(P, &g.hash);
    CHECK(arb_hash_eq(&tip.hash, &g.hash));
    g.height = 0;
    g.time = P->genesis_time;

    /* Chain A: 101 blocks. */
    a100 = extend(cs, g, 100, 'A', &oc);
    CHECK_EQ(oc, ARB_BLOCK_CONNECTED);
    a101 = extend(cs, a100, 1, 'A', &oc);
    arb_chainstate_tip(cs, &tip);
    CHECK_EQ(tip.height, 101);
    addr_total(cs, 0, &n, &sum);
    CHECK_EQ(n, 101);
    CHECK_EQ(sum, 101 * 50 * ARB_COIN - 0); /* regtest halves at 150 */

    /* An immature coinbase (height 3: 99 confirmations) cannot be spent in
     * block 102; height 1 can. */
    cb_txid_at(cs, 3, &cb1);
    {
        arb_tx tx;
        spend_cb(&tx, &cb1, 0);
        make_block(&blk, &a101.hash, 101, a101.time, 'A', &tx, 1, ARB_COIN, 0);
        CHECK_EQ(submit(cs, &blk, NULL, &reason), -1);
        CHECK_STR(reason, "bad-txns-premature-spend-of-coinbase");
    }
    cb_txid_at(cs, 1, &cb1);
    CHECK(arb_chainstate_get_coin(cs, &(arb_outpoint){cb1, 0}, &coin) == ARB_OK);
    CHECK_EQ(coin.height, 1);
    CHECK(coin.coinbase);
    {
        arb_tx tx;
        spend_cb(&tx, &cb1, 0);
        make_block(&blk, &a101.hash, 101, a101.time, 'A', &tx, 1, ARB_COIN, 0);
        CHECK_EQ(submit(cs, &blk, &a102, NULL), ARB_BLOCK_CONNECTED);
        a102.height = 102;
    }
    CHECK(arb_chainstate_get_coin(cs, &(arb_outpoint){cb1, 0}, &coin) == ARB_ERR_NOT_FOUND);
    addr_total(cs, 1, &n, &sum);
    CHECK_EQ(n, 1);
    CHECK_EQ(sum, 30 * ARB_COIN);

    /* Branch B from height 100: B101, B102 have no more work; B103 wins. */
    t = extend(cs, a100, 2, 'B', &oc);
    CHECK_EQ(oc, ARB_BLOCK_STORED);
    arb_chainstate_tip(cs, &tip);
    CHECK(arb_hash_eq(&tip.hash, &a102.hash));
    b103 = extend(cs, t, 1, 'B', &oc);
    CHECK_EQ(oc, ARB_BLOCK_CONNECTED);
    arb_chainstate_tip(cs, &tip);
    CHECK(arb_hash_eq(&tip.hash, &b103.hash));
    CHECK_EQ(tip.height, 103);
    /* The spend in A102 is undone: the coinbase output is back, PK[1] has nothing. */
    CHECK(arb_chainstate_get_coin(cs, &(arb_outpoint){cb1, 0}, &coin) == ARB_OK);
    addr_total(cs, 1, &n, &sum);
    CHECK_EQ(n, 0);
    state_digest(st, d1);
    /* The same chain built without any reorg gives the same state. */
    CHECK(open_cs("b", &st2, &cs2) == ARB_OK);
    t = extend(cs2, g, 100, 'A', &oc);
    t = extend(cs2, t, 3, 'B', &oc);
    CHECK(arb_hash_eq(&t.hash, &b103.hash));
    state_digest(st2, d2);
    CHECK_MEM(d1, d2, 32);
    arb_chainstate_close(cs2);
    arb_store_close(st2);

    /* Back to A: A103, A104 (more work again). */
    t = extend(cs, a102, 1, 'A', &oc);
    CHECK_EQ(oc, ARB_BLOCK_STORED);
    a104 = extend(cs, t, 1, 'A', &oc);
    CHECK_EQ(oc, ARB_BLOCK_CONNECTED);
    arb_chainstate_tip(cs, &tip);
    CHECK(arb_hash_eq(&tip.hash, &a104.hash));
    addr_total(cs, 1, &n, &sum);
    CHECK_EQ(sum, 30 * ARB_COIN);
    state_digest(st, d1);

    /* An invalid block with more work: rejected, tip unchanged, marked. */
    {
        arb_tx tx;
        arb_hash cb3;
        tipinfo c105;
        cb_txid_at(cs, 3, &cb3);
        spend_cb(&tx, &cb3, 1);
        make_block(&blk, &a104.hash, 104, a104.time, 'C', &tx, 1, ARB_COIN, 0);
        CHECK_EQ(submit(cs, &blk, &c105, &reason), -1);
        CHECK_STR(reason, "bad-txns-sig");
        arb_chainstate_tip(cs, &tip);
        CHECK(arb_hash_eq(&tip.hash, &a104.hash));
        CHECK(arb_chainstate_is_invalid(cs, &c105.hash));
        c105.height = 105;
        make_block(&blk, &c105.hash, 105, c105.time, 'C', NULL, 0, 0, 0);
        CHECK_EQ(submit(cs, &blk, NULL, &reason), -1);
        CHECK_STR(reason, "bad-prevblk");
    }
    /* An invalid block deep in a side branch: found only when the branch
     * becomes heavier; the state returns to A104 unchanged. */
    {
        tipinfo a103, d104, d105;
        CHECK(arb_chainstate_hash_at(cs, 103, &a103.hash) == ARB_OK);
        a103.height = 103;
        a103.time = a104.time - 600;
        make_block(&blk, &a103.hash, 103, a103.time, 'D', NULL, 0, 0, 1); /* pays 1 unit too much */
        CHECK_EQ(submit(cs, &blk, &d104, NULL), ARB_BLOCK_STORED);
        d104.height = 104;
        make_block(&blk, &d104.hash, 104, d104.time, 'D', NULL, 0, 0, 0);
        CHECK_EQ(submit(cs, &blk, &d105, &reason), -1);
        CHECK_STR(reason, "bad-cb-amount");
        arb_chainstate_tip(cs, &tip);
        CHECK(arb_hash_eq(&tip.hash, &a104.hash));
        CHECK(arb_chainstate_is_invalid(cs, &d104.hash));
        CHECK(arb_chainstate_is_invalid(cs, &d105.hash));
        state_digest(st, d2);
        CHECK_MEM(d1, d2, 32);
        d105.height = 105;
        make_block(&blk, &d105.hash, 105, d105.time, 'D', NULL, 0, 0, 0);
        CHECK_EQ(submit(cs, &blk, NULL, &reason), -1);
        CHECK_STR(reason, "bad-prevblk");
    }
    /* Header and structure rejections, and duplicates. */
    {
        arb_hash unknown;
        memset(unknown.b, 9, 32);
        make_block(&blk, &unknown, 104, a104.time, 'E', NULL, 0, 0, 0);
        CHECK_EQ(submit(cs, &blk, NULL, &reason), -1);
        CHECK_STR(reason, "prev-blk-not-found");
        make_block(&blk, &a104.hash, 104, a104.time, 'E', NULL, 0, 0, 0);
        blk.header.time = a104.time - 10 * 600;
        arb_u256 tg;
        arb_hash hh;
        arb_pow_bits_to_target(&tg, blk.header.bits, NULL, NULL);
        for (blk.header.nonce = 0;; blk.header.nonce++) {
            arb_header_hash(H, &hh, &blk.header);
            if (arb_pow_hash_meets(&hh, &tg))
                break;
        }
        CHECK_EQ(submit(cs, &blk, NULL, &reason), -1);
        CHECK_STR(reason, "time-too-old");
        make_block(&blk, &a104.hash, 104, a104.time, 'E', NULL, 0, 0, 0);
        blk.header.merkle_root.b[0] ^= 1;
        for (blk.header.nonce = 0;; blk.header.nonce++) {
            arb_header_hash(H, &hh, &blk.header);
            if (arb_pow_hash_meets(&hh, &tg))
                break;
        }
        CHECK_EQ(submit(cs, &blk, NULL, &reason), -1);
        CHECK_STR(reason, "bad-txnmrklroot");
        make_block(&blk, &a100.hash, 100, a100.time, 'A', NULL, 0, 0, 0); /* = A101 */
        CHECK_EQ(submit(cs, &blk, NULL, NULL), ARB_BLOCK_DUPLICATE);
    }
    /* Reopen: same tip, same state. */
    arb_chainstate_close(cs);
    arb_store_close(st);
    CHECK(open_cs("a", &st, &cs) == ARB_OK);
    arb_chainstate_tip(cs, &tip);
    CHECK(arb_hash_eq(&tip.hash, &a104.hash));
    CHECK_EQ(tip.height, 104);
    state_digest(st, d2);
    CHECK_MEM(d1, d2, 32);
    CHECK(arb_chainstate_tip_mtp(cs) > 0);
    /* Another network's state is refused. */
    {
        arb_chainstate *other;
        arb_errbuf eb;
        CHECK(arb_chainstate_open(&other, st, 0, arb_chain_params_get("test"), 1, NULL, &eb) ==
              ARB_ERR_PARSE);
    }
    (void)a101;
    arb_chainstate_close(cs);
    arb_store_close(st);
}

/* ---- randomized reorgs ----
 * A trunk of TRUNK blocks, then random blocks on random recent parents, each
 * spending some trunk coinbases not yet spent on its branch (sometimes also
 * the new output within the same block). After every block the tip must be
 * the first-seen block of greatest height (all regtest blocks weigh the
 * same), and at the end the UTXO set and address index must equal those of a
 * fresh store fed only the winning chain. */
enum { TRUNK = 125, SPENDABLE = 24, RANDOM_BLOCKS = 60 };

typedef struct {
    arb_hash hash;
    uint32_t height, time;
    int parent;
    uint32_t spent; /* bit k: trunk coinbase at height k+1 spent on this branch */
    uint8_t *raw;
    size_t raw_len;
} rblock;

static arb_hash TRUNK_CB[SPENDABLE];

static int rsubmit(arb_chainstate *cs, rblock *rb, arb_block *b)
{
    arb_buf buf = ARB_BUF_INIT;
    arb_block_outcome oc;
    arb_check_result r;
    arb_block_write(&buf, b);
    rb->raw = arb_buf_take(&buf, &rb->raw_len);
    arb_header_hash(H, &rb->hash, &b->header);
    rb->time = b->header.time;
    arb_err err = arb_chainstate_submit(cs, b, NOW, &oc, &r);
    arb_block_clear(b);
    if (err != ARB_OK)
        arb_test_fail(__FILE__, __LINE__, "submit: %s %s", arb_err_str(err),
                      err == ARB_ERR_VERIFY ? r.detail.msg : "");
    return err == ARB_OK;
}

/* Adds trunk block h (coinbase only) on blocks[*nbp - 1] as blocks[*nbp],
 * keeping the coinbase txid of the first SPENDABLE; it becomes the best. */
static void add_trunk_block(arb_chainstate *cs, rblock *blocks, size_t *nbp, size_t *bestp,
                            uint32_t h)
{
    arb_block b;
    size_t nb = *nbp;
    rblock *rb = &blocks[nb];

    CHECK(arb_chain_block_build(P, H, &b, &blocks[nb - 1].hash, blocks[nb - 1].time, h,
                                0x207fffff, 0, PK[0], NULL, 0, 0, NULL) == ARB_OK);
    CHECK(arb_chain_mine_header(&b.header, 0, 1000000));
    if (h <= SPENDABLE)
        CHECK(arb_tx_txid(H, &TRUNK_CB[h - 1], &b.tx[0]) == ARB_OK);
    rb->height = h;
    rb->parent = (int)nb - 1;
    CHECK(rsubmit(cs, rb, &b));
    *bestp = nb;
    *nbp = nb + 1;
}

/* Adds a random block on blocks[par] as blocks[*nb]; updates *best. */
static void add_random_block(arb_chainstate *cs, rblock *blocks, size_t *nbp, size_t *bestp,
                             size_t par, unsigned long it)
{
    size_t nb = *nbp, best = *bestp;
    rblock *pb = &blocks[par], *rb = &blocks[nb];
    uint32_t h = pb->height + 1;
    arb_tx txs[2];
    size_t ntx = 0;
    uint64_t fees = 0;
    rb->spent = pb->spent;
    int k = (int)arb_test_rand_below(SPENDABLE);
    if (!(rb->spent & (1u << k)) && arb_test_rand_below(3) != 0) {
        spend_cb(&txs[0], &TRUNK_CB[k], 0);
        rb->spent |= 1u << k;
        fees += ARB_COIN;
        ntx = 1;
        if (arb_test_rand_below(2)) {
            /* Spend its 30-coin output to PK[2] in the same block. */
            arb_hash id;
            arb_txout sp;
            CHECK(arb_tx_txid(H, &id, &txs[0]) == ARB_OK);
            arb_tx_init(&txs[1]);
            CHECK(arb_tx_alloc(&txs[1], 1, 1) == ARB_OK);
            txs[1].version = 1;
            txs[1].in[0].txid = id;
            txs[1].in[0].index = 0;
            txs[1].out[0].amount = 29 * ARB_COIN;
            memcpy(txs[1].out[0].key, PK[2], 32);
            sp.amount = 30 * ARB_COIN;
            memcpy(sp.key, PK[1], 32);
            CHECK(arb_chain_sign_input(P, H, S, &txs[1], 0, &sp, SK[1], NULL) == ARB_OK);
            fees += ARB_COIN;
            ntx = 2;
        }
    }
    arb_block b;
    CHECK(arb_chain_block_build(P, H, &b, &pb->hash, pb->time, h, 0x207fffff, 0, PK[0], txs,
                                ntx, fees, NULL) == ARB_OK);
    b.tx[0].sig[0][8] = (uint8_t)it; /* distinct coinbases across branches */
    b.tx[0].sig[0][9] = (uint8_t)(it >> 8);
    CHECK(arb_block_merkle_root(H, &b.header.merkle_root, b.tx, b.n_tx) == ARB_OK);
    CHECK(arb_chain_mine_header(&b.header, 0, 1000000));
    rb->height = h;
    rb->parent = (int)par;
    CHECK(rsubmit(cs, rb, &b));
    if (h > blocks[best].height)
        best = nb;
    *nbp = nb + 1;
    *bestp = best;
}

static void test_random_reorgs(void)
{
    arb_store *st, *st2;
    arb_chainstate *cs, *cs2;
    rblock *blocks = calloc(TRUNK + RANDOM_BLOCKS + 4, sizeof *blocks);
    size_t nb = 0, best = 0;
    arb_chain_tip tip;
    uint8_t d1[32], d2[32];
    unsigned long n = arb_test_count(RANDOM_BLOCKS), reorgs = 0;

    if (n > RANDOM_BLOCKS)
        n = RANDOM_BLOCKS;
    CHECK(blocks != NULL);
    CHECK(open_cs("r", &st, &cs) == ARB_OK);
    arb_chainstate_tip(cs, &tip);
    blocks[0].hash = tip.hash;
    blocks[0].height = 0;
    blocks[0].time = P->genesis_time;
    blocks[0].parent = -1;
    nb = 1;
    for (uint32_t h = 1; h <= TRUNK; h++)
        add_trunk_block(cs, blocks, &nb, &best, h);
    for (unsigned long it = 0; it < n; it++) {
        /* A parent among the blocks within 3 of the best height. */
        size_t par;
        do
            par = TRUNK + arb_test_rand_below(nb - TRUNK);
        while (blocks[par].height + 3 < blocks[best].height);
        {
            size_t before = best;
            add_random_block(cs, blocks, &nb, &best, par, it);
            if (best != before && (size_t)blocks[best].parent != before)
                reorgs++;
        }
        arb_chainstate_tip(cs, &tip);
        CHECK(arb_hash_eq(&tip.hash, &blocks[best].hash));
        CHECK_EQ(tip.height, blocks[best].height);
    }
    /* A forced two-block-deep reorg: three blocks from the best's grandparent. */
    {
        size_t par = (size_t)blocks[blocks[best].parent].parent, before = best;
        for (int i = 0; i < 3; i++) {
            add_random_block(cs, blocks, &nb, &best, par, 1000 + (unsigned long)i);
            par = nb - 1;
        }
        CHECK(best == nb - 1 && best != before);
        reorgs++;
        arb_chainstate_tip(cs, &tip);
        CHECK(arb_hash_eq(&tip.hash, &blocks[best].hash));
    }
    CHECK(reorgs >= 1);
    state_digest(st, d1);
    /* Replay only the winning chain into a fresh store. */
    {
        size_t path[TRUNK + RANDOM_BLOCKS + 4], np = 0;
        for (int i = (int)best; i > 0; i = blocks[i].parent)
            path[np++] = (size_t)i;
        CHECK(open_cs("r2", &st2, &cs2) == ARB_OK);
        for (size_t i = np; i-- > 0;) {
            arb_block b;
            arb_errbuf eb;
            arb_block_outcome oc;
            arb_check_result r;
            arb_block_init(&b);
            CHECK(arb_block_decode(&b, blocks[path[i]].raw, blocks[path[i]].raw_len, &eb) == ARB_OK);
            CHECK(arb_chainstate_submit(cs2, &b, NOW, &oc, &r) == ARB_OK);
            CHECK_EQ(oc, ARB_BLOCK_CONNECTED);
            arb_block_clear(&b);
        }
        state_digest(st2, d2);
        CHECK_MEM(d1, d2, 32);
        arb_chainstate_close(cs2);
        arb_store_close(st2);
    }
    arb_chainstate_close(cs);
    arb_store_close(st);
    for (size_t i = 0; i < nb; i++)
        free(blocks[i].raw);
    free(blocks);
}

/* ---- the coins cache against no cache ----
 * The random-reorg chain of test_random_reorgs fed, block by block, to three
 * chain states: A writes its UTXO set with every block (the flush policy's
 * default: no coin stays in memory past its block), B keeps every change in
 * its cache (flushes only before a disconnect and for the digests), C has a
 * sync every 5 blocks and a cache budget of a few dozen entries (flushes by
 * the policy and by the budget, in the middle of branches). After every
 * block the tips and every outpoint the chain ever made or spent must look
 * the same through arb_chainstate_get_coin (which reads B's and C's caches);
 * at random steps, and at the end, the UTXO, index and state digests (which
 * write the caches out) must be equal too. */
typedef struct {
    arb_outpoint *v;
    size_t n, cap;
} op_list;

static void ops_add(op_list *l, const arb_outpoint *op)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        CHECK_OR(l->v != NULL, );
    }
    l->v[l->n++] = *op;
}

static void digests3(arb_chainstate *cs, uint8_t out[96])
{
    arb_hash h;
    uint64_t n;
    CHECK(arb_chainstate_utxo_digest(cs, &h, &n) == ARB_OK);
    memcpy(out, h.b, 32);
    CHECK(arb_chainstate_index_digest(cs, &h, &n) == ARB_OK);
    memcpy(out + 32, h.b, 32);
    CHECK(arb_chainstate_state_digest(cs, &h, &n) == ARB_OK);
    memcpy(out + 64, h.b, 32);
}

static void test_cache_differential(void)
{
    arb_store *st[3];
    arb_chainstate *cs[3];
    const char *names[3] = {"dA", "dB", "dC"};
    rblock *blocks = calloc(TRUNK + RANDOM_BLOCKS + 4, sizeof *blocks);
    size_t nb = 0, best = 0, fed = 0;
    unsigned long n = arb_test_count(RANDOM_BLOCKS), digest_checks = 0, reorgs = 0;
    op_list ops = {NULL, 0, 0};
    arb_chain_tip tip[3];
    uint64_t flushes0;

    if (n > RANDOM_BLOCKS)
        n = RANDOM_BLOCKS;
    CHECK_OR(blocks != NULL, );
    for (int i = 0; i < 3; i++)
        CHECK_OR(open_cs(names[i], &st[i], &cs[i]) == ARB_OK, );
    arb_chainstate_set_flush(cs[1], 100000, 0);
    arb_chainstate_set_flush(cs[2], 5, 0);
    arb_chainstate_set_cache(cs[2], 64 * 96);
    arb_chainstate_tip(cs[0], &tip[0]);
    blocks[0].hash = tip[0].hash;
    blocks[0].time = P->genesis_time;
    blocks[0].parent = -1;
    nb = 1;
    flushes0 = arb_chainstate_cache_flushes(cs[2]);
    for (unsigned long step = 0; step < TRUNK + n + 3; step++) {
        if (step < TRUNK) {
            add_trunk_block(cs[0], blocks, &nb, &best, (uint32_t)step + 1);
        } else {
            size_t par, before = best;
            if (step < TRUNK + n) {
                do
                    par = TRUNK + arb_test_rand_below(nb - TRUNK);
                while (blocks[par].height + 3 < blocks[best].height);
            } else { /* then a forced reorg from the best's grandparent */
                par = step == TRUNK + n ? (size_t)blocks[blocks[best].parent].parent : nb - 1;
            }
            add_random_block(cs[0], blocks, &nb, &best, par, 5000 + step);
            if (best != before && (size_t)blocks[best].parent != before)
                reorgs++;
        }
        /* The same block to B and C; its outpoints to the list. */
        for (; fed < nb - 1; fed++) {
            arb_block b;
            arb_errbuf eb;
            arb_block_outcome oc[3];
            arb_check_result r;
            arb_block_init(&b);
            CHECK(arb_block_decode(&b, blocks[fed + 1].raw, blocks[fed + 1].raw_len, &eb) ==
                  ARB_OK);
            for (int i = 1; i < 3; i++)
                CHECK(arb_chainstate_submit(cs[i], &b, NOW, &oc[i], &r) == ARB_OK);
            for (size_t t = 0; t < b.n_tx; t++) {
                arb_outpoint op;
                CHECK(arb_tx_txid(H, &op.txid, &b.tx[t]) == ARB_OK);
                for (op.index = 0; op.index < b.tx[t].n_out; op.index++)
                    ops_add(&ops, &op);
                for (size_t k = 0; t > 0 && k < b.tx[t].n_in; k++)
                    ops_add(&ops, &b.tx[t].in[k]);
            }
            arb_block_clear(&b);
        }
        for (int i = 0; i < 3; i++)
            arb_chainstate_tip(cs[i], &tip[i]);
        CHECK(arb_hash_eq(&tip[0].hash, &tip[1].hash) && arb_hash_eq(&tip[0].hash, &tip[2].hash));
        CHECK(arb_hash_eq(&tip[0].hash, &blocks[best].hash));
        size_t bad = 0;
        for (size_t k = 0; k < ops.n; k++) {
            arb_coin c[3];
            arb_err e[3];
            memset(c, 0, sizeof c);
            for (int i = 0; i < 3; i++)
                e[i] = arb_chainstate_get_coin(cs[i], &ops.v[k], &c[i]);
            if (e[0] != e[1] || e[0] != e[2] ||
                (e[0] == ARB_OK && (memcmp(&c[0], &c[1], sizeof c[0]) != 0 ||
                                    memcmp(&c[0], &c[2], sizeof c[0]) != 0)))
                bad++;
        }
        CHECK_EQ(bad, 0);
        if (arb_test_rand_below(6) == 0 || step + 1 == TRUNK + n + 3) {
            uint8_t d[3][96];
            for (int i = 0; i < 3; i++)
                digests3(cs[i], d[i]);
            CHECK_MEM(d[0], d[1], 96);
            CHECK_MEM(d[0], d[2], 96);
            digest_checks++;
        }
    }
    CHECK(reorgs >= 1);
    CHECK(digest_checks >= 1);
    /* C's budget made it write its cache out on its own between the digests. */
    CHECK(arb_chainstate_cache_flushes(cs[2]) > flushes0 + digest_checks);
    for (int i = 0; i < 3; i++) {
        arb_chainstate_close(cs[i]);
        arb_store_close(st[i]);
    }
    /* Reopened after a clean close: nothing to replay, the same state. */
    {
        uint8_t d[2][96];
        for (int i = 0; i < 2; i++) {
            CHECK_OR(open_cs(names[i], &st[i], &cs[i]) == ARB_OK, );
            CHECK_EQ(arb_chainstate_replayed(cs[i]), 0);
            digests3(cs[i], d[i]);
        }
        CHECK_MEM(d[0], d[1], 96);
        for (int i = 0; i < 2; i++) {
            arb_chainstate_close(cs[i]);
            arb_store_close(st[i]);
        }
    }
    for (size_t i = 0; i < nb; i++)
        free(blocks[i].raw);
    free(blocks);
    free(ops.v);
}

/* A block's transaction index and history are written after its own batch
 * (by the index writer): a crash in between leaves the tip's rows missing
 * and the "txidx" marker on its parent. That state, made by hand on a tip
 * that spends a trunk coin and, in the same block, the new output: the
 * open rewrites the rows, the same as before, once. */
static size_t drop_rows_at(arb_store *st, unsigned cf, uint32_t height, int in_key)
{
    arb_store_iter *it;
    arb_store_batch *b;
    size_t n = 0;
    CHECK_OR(arb_store_iter_new(&it, st, NULL, cf, NULL, 0, NULL, 0, NULL) == ARB_OK, 0);
    if (arb_store_batch_new(&b, st) != ARB_OK) {
        arb_store_iter_free(it);
        CHECK_OR(0, 0);
    }
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        const uint8_t *h = in_key ? k + 32 : v;
        if ((in_key ? kl : vl) < (in_key ? 36u : 4u))
            continue;
        if (((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3]) == height) {
            arb_store_batch_delete(b, cf, k, kl);
            n++;
        }
    }
    arb_store_iter_free(it);
    arb_err err = arb_store_write(st, b, ARB_STORE_SYNC, NULL);
    arb_store_batch_free(b);
    CHECK_OR(err == ARB_OK, 0);
    return n;
}

static void test_index_repair(void)
{
    enum { META = 6, TX = 7, HIST = 8 };
    arb_store *st;
    arb_chainstate *cs;
    rblock *blocks = calloc(TRUNK + 64, sizeof *blocks);
    size_t nb = 0, best = 0, ntx = 0;
    uint8_t before[96], after[96];
    arb_chain_tip tip;
    arb_store_batch *b;

    CHECK_OR(blocks != NULL, );
    CHECK_OR(open_cs("ixrepair", &st, &cs) == ARB_OK, );
    arb_chainstate_set_flush(cs, 1000, 0);
    arb_chainstate_tip(cs, &tip);
    blocks[0].hash = tip.hash;
    blocks[0].time = P->genesis_time;
    blocks[0].parent = -1;
    nb = 1;
    for (uint32_t h = 1; h <= TRUNK; h++)
        add_trunk_block(cs, blocks, &nb, &best, h);
    /* Until the tip holds both spends (the coinbase and two transactions). */
    for (unsigned long i = 0; ntx != 3 && i < 60; i++) {
        arb_block blk;
        arb_errbuf eb;
        add_random_block(cs, blocks, &nb, &best, nb - 1, 9000 + i);
        arb_block_init(&blk);
        CHECK(arb_block_decode(&blk, blocks[nb - 1].raw, blocks[nb - 1].raw_len, &eb) == ARB_OK);
        ntx = blk.n_tx;
        arb_block_clear(&blk);
    }
    CHECK_EQ(ntx, 3);
    digests3(cs, before);
    arb_chainstate_tip(cs, &tip);
    CHECK(arb_hash_eq(&tip.hash, &blocks[best].hash));
    arb_chainstate_close(cs);

    /* The state the crash leaves: the block's batch landed, its index not. */
    CHECK_EQ(drop_rows_at(st, TX, tip.height, 0), 3);
    CHECK(drop_rows_at(st, HIST, tip.height, 1) >= 4);
    CHECK_OR(arb_store_batch_new(&b, st) == ARB_OK, );
    arb_store_batch_put(b, META, (const uint8_t *)"txidx", 5, blocks[blocks[best].parent].hash.b,
                        32);
    CHECK(arb_store_write(st, b, ARB_STORE_SYNC, NULL) == ARB_OK);
    arb_store_batch_free(b);
    {
        arb_errbuf eb;
        CHECK_OR(arb_chainstate_open(&cs, st, 0, P, 2, NULL, &eb) == ARB_OK, );
    }
    CHECK_EQ(arb_chainstate_repaired(cs), 1);
    digests3(cs, after);
    CHECK_MEM(before, after, 96);
    arb_chainstate_close(cs);
    arb_store_close(st);
    CHECK_OR(open_cs("ixrepair", &st, &cs) == ARB_OK, );
    CHECK_EQ(arb_chainstate_repaired(cs), 0);
    digests3(cs, after);
    CHECK_MEM(before, after, 96);
    arb_chainstate_close(cs);
    arb_store_close(st);
    for (size_t i = 0; i < nb; i++)
        free(blocks[i].raw);
    free(blocks);
}

/* Headers-first sync (p2p/): headers stored before bodies, bodies arriving
 * out of order, arb_chainstate_activate_to, refusals of headers, a body
 * that does not match its header, and an invalid block's body deleted while
 * its header stays marked; the end state equals a chain state fed in order. */
static void test_headers_first(void)
{
    arb_store *st, *st2;
    arb_chainstate *cs, *cs2;
    arb_chain_tip tip, tip2;
    arb_block blk[12];
    arb_hash hash[12], g;
    arb_check_result r;
    arb_chain_hdrinfo info;
    arb_block_outcome oc;
    int is_new;
    uint8_t d1[32], d2[32];
    tipinfo prev;
    if (open_cs("hf", &st, &cs) != ARB_OK || open_cs("hf2", &st2, &cs2) != ARB_OK)
        return;
    arb_chain_genesis_hash(P, &g);
    prev.hash = g;
    prev.height = 0;
    prev.time = P->genesis_time;
    for (int i = 0; i < 12; i++) {
        make_block(&blk[i], &prev.hash, prev.height, prev.time, 'H', NULL, 0, 0, 0);
        arb_header_hash(H, &hash[i], &blk[i].header);
        prev.hash = hash[i];
        prev.height++;
        prev.time = blk[i].header.time;
    }
    /* A header whose parent is unknown, then the headers in order. */
    CHECK(arb_chainstate_accept_header(cs, &blk[1].header, NOW, NULL, &is_new, &r) ==
          ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "prev-blk-not-found");
    for (int i = 0; i < 12; i++) {
        arb_hash h;
        CHECK(arb_chainstate_accept_header(cs, &blk[i].header, NOW, &h, &is_new, &r) == ARB_OK);
        CHECK(is_new && arb_hash_eq(&h, &hash[i]));
    }
    CHECK(arb_chainstate_accept_header(cs, &blk[3].header, NOW, NULL, &is_new, &r) == ARB_OK);
    CHECK(!is_new);
    CHECK(arb_chainstate_header(cs, &hash[11], &info) == ARB_OK);
    CHECK(info.height == 12 && !info.have_data && !info.invalid);
    CHECK(arb_chainstate_get_block(cs, &hash[11], NULL, NULL, NULL, NULL) == ARB_ERR_NOT_FOUND);
    arb_chainstate_tip(cs, &tip);
    CHECK_EQ(tip.height, 0);
    /* Bad proof of work and bad bits on a known parent. */
    {
        arb_block_header bad = blk[0].header;
        arb_u256 target;
        arb_hash bh;
        arb_pow_bits_to_target(&target, bad.bits, NULL, NULL);
        for (bad.nonce = 0;; bad.nonce++) {
            arb_header_hash(H, &bh, &bad);
            if (!arb_pow_hash_meets(&bh, &target))
                break;
        }
        CHECK(arb_chainstate_accept_header(cs, &bad, NOW, NULL, &is_new, &r) == ARB_ERR_VERIFY);
        CHECK_STR(r.reason, "high-hash");
        bad = blk[0].header;
        bad.bits = 0x1d00ffff;
        CHECK(arb_chainstate_accept_header(cs, &bad, NOW, NULL, &is_new, &r) == ARB_ERR_VERIFY);
    }
    /* Bodies 6..11 first: stored, nothing connects (5 is missing). */
    for (int i = 11; i >= 5; i--) {
        if (i == 5)
            continue;
        CHECK(arb_chainstate_submit(cs, &blk[i], NOW, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_STORED);
    }
    CHECK(arb_chainstate_activate_to(cs, &hash[11], &r) == ARB_ERR_NOT_FOUND);
    arb_chainstate_tip(cs, &tip);
    CHECK_EQ(tip.height, 0);
    /* 0..4 in order connect one by one; a copy of 5 with another body is
     * refused without hurting the header; then the real 5. */
    for (int i = 0; i < 5; i++) {
        CHECK(arb_chainstate_submit(cs, &blk[i], NOW, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_CONNECTED);
    }
    {
        arb_block mut;
        make_block(&mut, &hash[3], 4, blk[3].header.time, 'H', NULL, 0, 0, 0);
        mut.header = blk[4 + 1].header; /* header of 5, body of another block */
        CHECK(arb_chainstate_submit(cs, &mut, NOW, &oc, &r) == ARB_ERR_VERIFY);
        CHECK_STR(r.reason, "bad-txnmrklroot");
        arb_block_clear(&mut);
        CHECK(arb_chainstate_header(cs, &hash[5], &info) == ARB_OK);
        CHECK(!info.invalid && !info.have_data);
    }
    CHECK(arb_chainstate_submit(cs, &blk[5], NOW, &oc, &r) == ARB_OK);
    CHECK_EQ(oc, ARB_BLOCK_CONNECTED);
    arb_chainstate_tip(cs, &tip);
    CHECK_EQ(tip.height, 6);
    CHECK(arb_chainstate_activate_to(cs, &hash[11], &r) == ARB_OK);
    arb_chainstate_tip(cs, &tip);
    CHECK_EQ(tip.height, 12);
    CHECK(arb_hash_eq(&tip.hash, &hash[11]));
    CHECK(arb_chainstate_submit(cs, &blk[7], NOW, &oc, &r) == ARB_OK);
    CHECK_EQ(oc, ARB_BLOCK_DUPLICATE);
    /* The same chain fed in order gives the same state. */
    for (int i = 0; i < 12; i++)
        CHECK(arb_chainstate_submit(cs2, &blk[i], NOW, &oc, &r) == ARB_OK && oc == ARB_BLOCK_CONNECTED);
    arb_chainstate_tip(cs2, &tip2);
    CHECK(arb_hash_eq(&tip.hash, &tip2.hash));
    state_digest(st, d1);
    state_digest(st2, d2);
    CHECK_MEM(d1, d2, 32);
    /* An invalid block on a heavier branch (its coinbase claims too much):
     * marked, its body deleted, the header kept, the tip unchanged; both it
     * and its child are refused from then on. */
    {
        arb_block bad, child;
        arb_hash bh, ch;
        make_block(&bad, &hash[10], 11, blk[10].header.time, 'X', NULL, 0, 0, 1);
        arb_header_hash(H, &bh, &bad.header);
        make_block(&child, &bh, 12, bad.header.time, 'X', NULL, 0, 0, 0);
        arb_header_hash(H, &ch, &child.header);
        CHECK(arb_chainstate_accept_header(cs, &bad.header, NOW, NULL, &is_new, &r) == ARB_OK);
        CHECK(arb_chainstate_accept_header(cs, &child.header, NOW, NULL, &is_new, &r) == ARB_OK);
        CHECK(arb_chainstate_submit(cs, &child, NOW, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_STORED);
        /* Its body completes the bodies up to the heavier child (the best
         * header): the move there is tried at once and fails. */
        CHECK(arb_chainstate_submit(cs, &bad, NOW, &oc, &r) == ARB_ERR_VERIFY);
        CHECK_STR(r.reason, "bad-cb-amount");
        CHECK(arb_chainstate_activate_to(cs, &ch, &r) == ARB_ERR_NOT_FOUND);
        arb_chainstate_tip(cs, &tip2);
        CHECK(arb_hash_eq(&tip2.hash, &hash[11]));
        CHECK(arb_chainstate_header(cs, &bh, &info) == ARB_OK && info.invalid && !info.have_data);
        CHECK(arb_chainstate_header(cs, &ch, &info) == ARB_OK && info.invalid && !info.have_data);
        CHECK(arb_chainstate_get_block(cs, &bh, NULL, NULL, NULL, NULL) == ARB_ERR_NOT_FOUND);
        CHECK(arb_chainstate_submit(cs, &bad, NOW, &oc, &r) == ARB_ERR_VERIFY);
        CHECK_STR(r.reason, "duplicate-invalid");
        CHECK(arb_chainstate_accept_header(cs, &child.header, NOW, NULL, &is_new, &r) ==
              ARB_ERR_VERIFY);
        arb_block_clear(&bad);
        arb_block_clear(&child);
    }
    state_digest(st, d1);
    CHECK_MEM(d1, d2, 32);
    /* Storage policy for unrequested blocks (POST /chain/v1/block): a side
     * branch from height 9 keeps headers only while it is lighter; the block
     * that makes it heavier is stored, and then the branch's earlier blocks,
     * sent again, are stored since the best header needs them, and the tip
     * moves there. */
    {
        arb_block side[5];
        arb_hash sh[5];
        tipinfo pv = {hash[8], 9, blk[8].header.time};
        for (int i = 0; i < 5; i++) {
            make_block(&side[i], &pv.hash, pv.height, pv.time, 'S', NULL, 0, 0, 0);
            arb_header_hash(H, &sh[i], &side[i].header);
            pv.hash = sh[i];
            pv.height++;
            pv.time = side[i].header.time;
        }
        for (int i = 0; i < 3; i++) { /* heights 10..12: not more than the tip */
            CHECK(arb_chainstate_submit_ex(cs, &side[i], NOW, 0, &oc, &r) == ARB_OK);
            CHECK_EQ(oc, i < 2 ? ARB_BLOCK_HEADER_ONLY : ARB_BLOCK_STORED);
            CHECK(arb_chainstate_header(cs, &sh[i], &info) == ARB_OK);
            CHECK(info.have_data == (i == 2));
        }
        CHECK(arb_chainstate_submit_ex(cs, &side[3], NOW, 0, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_STORED); /* heavier, but bodies 10 and 11 are missing */
        arb_chainstate_tip(cs, &tip2);
        CHECK(arb_hash_eq(&tip2.hash, &hash[11]));
        CHECK(arb_chainstate_submit_ex(cs, &side[0], NOW, 0, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_STORED);
        CHECK(arb_chainstate_submit_ex(cs, &side[1], NOW, 0, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_CONNECTED);
        arb_chainstate_tip(cs, &tip2);
        CHECK(arb_hash_eq(&tip2.hash, &sh[3]));
        CHECK_EQ(tip2.height, 13);
        /* A lighter branch's block from below: header only, even after
         * being sent twice. */
        arb_block low;
        arb_hash lh;
        make_block(&low, &hash[2], 3, blk[2].header.time, 'L', NULL, 0, 0, 0);
        arb_header_hash(H, &lh, &low.header);
        CHECK(arb_chainstate_submit_ex(cs, &low, NOW, 0, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_HEADER_ONLY);
        CHECK(arb_chainstate_submit_ex(cs, &low, NOW, 0, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_HEADER_ONLY);
        CHECK(arb_chainstate_get_block(cs, &lh, NULL, NULL, NULL, NULL) == ARB_ERR_NOT_FOUND);
        /* Requested, it is stored. */
        CHECK(arb_chainstate_submit_ex(cs, &low, NOW, 1, &oc, &r) == ARB_OK);
        CHECK_EQ(oc, ARB_BLOCK_STORED);
        arb_block_clear(&low);
        for (int i = 0; i < 5; i++)
            arb_block_clear(&side[i]);
    }
    for (int i = 0; i < 12; i++)
        arb_block_clear(&blk[i]);
    arb_chainstate_close(cs);
    arb_store_close(st);
    arb_chainstate_close(cs2);
    arb_store_close(st2);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    if (arb_test_tmpdir(DIR_, sizeof DIR_) != 0)
        return 1;
    P = arb_chain_params_get("regtest");
    for (int k = 0; k < 3; k++) {
        do
            arb_test_rand_bytes(SK[k], 32);
        while (!arb_schnorr_pubkey(S, PK[k], SK[k]));
    }
    test_chainstate();
    test_random_reorgs();
    test_cache_differential();
    test_index_repair();
    test_headers_first();
    arb_test_rmtree(DIR_);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    return arb_test_done();
}
