/* Block and transaction consensus rules: a valid regtest block passes, and
 * for every rule a block (or transaction) that breaks exactly that rule is
 * rejected with that rule's reason. Signatures are real BIP340 signatures
 * from libsecp256k1 over the signature hash. */
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/consensus.h"
#include "ledger/names/nameop.h"
#include "tests/test.h"

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static arb_chain_checker C;

enum { HEIGHT = 500, NKEYS = 4 };
static uint8_t SK[NKEYS][32], PK[NKEYS][32];

/* The chain state: a small list of coins. */
typedef struct {
    arb_outpoint op;
    arb_coin coin;
} utxo;
static utxo U[32];
static size_t NU;

static int lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    (void)ud;
    for (size_t i = 0; i < NU; i++) {
        if (U[i].op.index == op->index && memcmp(U[i].op.txid.b, op->txid.b, 32) == 0) {
            *out = U[i].coin;
            return 1;
        }
    }
    return 0;
}

static arb_outpoint add_coin(uint64_t amount, int key, uint32_t height, int coinbase)
{
    utxo *u = &U[NU];
    memset(u, 0, sizeof *u);
    arb_test_rand_bytes(u->op.txid.b, 32);
    u->op.index = (uint32_t)arb_test_rand_below(4);
    u->coin.amount = amount;
    memcpy(u->coin.key, PK[key], 32);
    u->coin.height = height;
    u->coin.coinbase = coinbase;
    NU++;
    return u->op;
}

/* Signs every input of tx from the coins it spends (state or `extra`). */
static void sign_all(arb_tx *tx, const arb_tx *extra, const arb_hash *extra_id)
{
    arb_txout spent[8];
    int keyof[8];
    for (size_t i = 0; i < tx->n_in; i++) {
        arb_coin c;
        keyof[i] = 0;
        if (lookup(NULL, &tx->in[i], &c)) {
            spent[i].amount = c.amount;
            memcpy(spent[i].key, c.key, 32);
        } else if (extra != NULL && memcmp(tx->in[i].txid.b, extra_id->b, 32) == 0) {
            spent[i] = extra->out[tx->in[i].index];
        } else {
            memset(&spent[i], 0, sizeof spent[i]);
        }
        for (int k = 0; k < NKEYS; k++)
            if (memcmp(spent[i].key, PK[k], 32) == 0)
                keyof[i] = k;
    }
    for (size_t i = 0; i < tx->n_in; i++)
        if (arb_chain_sign_input(P, H, S, tx, i, spent, SK[keyof[i]], NULL) != ARB_OK)
            arb_test_fail(__FILE__, __LINE__, "signing failed");
}

/* A transaction spending `op` (amount in) into `n_out` outputs of `each`. */
static void spend(arb_tx *tx, arb_outpoint op, size_t n_out, uint64_t each)
{
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, n_out) != ARB_OK)
        return;
    tx->version = 1;
    tx->in[0] = op;
    for (size_t i = 0; i < n_out; i++) {
        tx->out[i].amount = each;
        memcpy(tx->out[i].key, PK[(i + 1) % NKEYS], 32);
    }
}

static void coinbase(arb_tx *tx, uint32_t height, uint64_t amount)
{
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        return;
    tx->version = 1;
    tx->in[0].index = height;
    memcpy(tx->sig[0], "extra nonce", 11);
    tx->out[0].amount = amount;
    memcpy(tx->out[0].key, PK[0], 32);
    tx->payload_type = ARB_PAYLOAD_STATE_ROOT; /* its value is chainstate.c's to check */
    tx->payload_len = 32;
    tx->payload = calloc(1, 32);
}

/* Takes ownership of the txs (moved into the block) and sets the root. */
static void make_block(arb_block *b, arb_tx *txs, size_t n)
{
    arb_block_init(b);
    b->tx = calloc(n ? n : 1, sizeof *b->tx);
    if (n > 0)
        memcpy(b->tx, txs, n * sizeof *txs);
    b->n_tx = n;
    b->header.version = 1;
    b->header.bits = 0x207fffff;
    b->header.time = 1767225600 + HEIGHT * 600;
    if (arb_block_merkle_root(H, &b->header.merkle_root, b->tx, n) != ARB_OK)
        arb_test_fail(__FILE__, __LINE__, "merkle root");
}

static const char *check(const arb_block *b)
{
    arb_check_result r;
    arb_err e = arb_chain_check_block(P, &C, b, HEIGHT, 1767225600 + HEIGHT * 600 - 3000, lookup,
                                      NULL, &r);
    if (e == ARB_OK)
        return "ok";
    return e == ARB_ERR_VERIFY ? r.reason : "error";
}

/* Builds and checks a block of coinbase (paying subsidy + fees + cb_extra)
 * followed by txs; returns the reason. */
static const char *block_reason(arb_tx *txs, size_t n, uint64_t fees, int64_t cb_extra)
{
    arb_tx all[8];
    arb_block b;
    const char *r;
    coinbase(&all[0], HEIGHT, arb_chain_subsidy(P, HEIGHT) + fees + (uint64_t)cb_extra);
    memcpy(all + 1, txs, n * sizeof *txs);
    make_block(&b, all, n + 1);
    r = check(&b);
    arb_block_clear(&b);
    return r;
}

static void test_valid_block(void)
{
    arb_tx t[2];
    arb_block b;
    arb_check_result r;
    arb_outpoint a = add_coin(10 * ARB_COIN, 1, 10, 0);
    arb_outpoint m = add_coin(50 * ARB_COIN, 2, HEIGHT - 100, 1); /* exactly mature */
    spend(&t[0], a, 2, 4 * ARB_COIN);        /* fee 2 coins */
    spend(&t[1], m, 1, 49 * ARB_COIN);       /* fee 1 coin */
    sign_all(&t[0], NULL, NULL);
    sign_all(&t[1], NULL, NULL);
    arb_tx all[3];
    coinbase(&all[0], HEIGHT, arb_chain_subsidy(P, HEIGHT) + 3 * ARB_COIN);
    all[1] = t[0];
    all[2] = t[1];
    make_block(&b, all, 3);
    for (unsigned th = 1; th <= 3; th++) {
        C.threads = th;
        CHECK(arb_chain_check_block(P, &C, &b, HEIGHT, 0, lookup, NULL, &r) == ARB_OK);
        CHECK_EQ(r.fees, 3 * ARB_COIN);
    }
    C.threads = 2;
    /* The same transaction alone passes the mempool check with its fee. */
    CHECK(arb_chain_check_tx_inputs(P, &C, &b.tx[1], HEIGHT, 0, lookup, NULL, &r) == ARB_OK);
    CHECK_EQ(r.fees, 2 * ARB_COIN);
    arb_block_clear(&b);
}

static void test_in_block_chain(void)
{
    /* tx2 spends tx1's output in the same block: fine. In the other order:
     * missing. */
    arb_tx t[2];
    arb_hash id1;
    arb_outpoint a = add_coin(10 * ARB_COIN, 1, 10, 0);
    spend(&t[0], a, 1, 9 * ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    CHECK(arb_tx_txid(H, &id1, &t[0]) == ARB_OK);
    spend(&t[1], (arb_outpoint){id1, 0}, 1, 8 * ARB_COIN);
    sign_all(&t[1], &t[0], &id1);
    arb_tx c0, c1;
    CHECK(arb_tx_copy(&c0, &t[0]) == ARB_OK);
    CHECK(arb_tx_copy(&c1, &t[1]) == ARB_OK);
    CHECK_STR(block_reason(t, 2, 2 * ARB_COIN, 0), "ok");
    arb_tx rev[2] = {c1, c0};
    CHECK_STR(block_reason(rev, 2, 2 * ARB_COIN, 0), "bad-txns-inputs-missingorspent");
}

/* One transaction spending a fresh coin, with an edit applied before signing. */
static const char *one_tx_reason(void (*edit)(arb_tx *), uint64_t in_amount, uint64_t fee)
{
    arb_tx t;
    arb_outpoint a = add_coin(in_amount, 1, 10, 0);
    spend(&t, a, 1, in_amount - fee);
    edit(&t);
    sign_all(&t, NULL, NULL);
    return block_reason(&t, 1, fee, 0);
}

static void e_none(arb_tx *t) { (void)t; }
static void e_vout_toolarge(arb_tx *t) { t->out[0].amount = ARB_MAX_MONEY + 1; }
static void e_payload(arb_tx *t)
{
    t->payload_type = 1;
    t->payload = malloc(3);
    memcpy(t->payload, "abc", 3);
    t->payload_len = 3;
}
static void set_payload(arb_tx *t, uint8_t type, const uint8_t *p, size_t n)
{
    free(t->payload);
    t->payload_type = type;
    t->payload = malloc(n);
    memcpy(t->payload, p, n);
    t->payload_len = n;
}
static void e_payload_unknown(arb_tx *t) { set_payload(t, 13, (const uint8_t *)"abc", 3); }
static void e_payload_root(arb_tx *t)
{
    static const uint8_t z[32];
    set_payload(t, ARB_PAYLOAD_STATE_ROOT, z, 32);
}
/* A name preorder burning 3 coins (its state rules are chainstate.c's). */
static void e_preorder(arb_tx *t)
{
    arb_nameop op;
    arb_buf b = ARB_BUF_INIT;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_PREORDER;
    memset(op.commitment, 7, 32);
    op.burn = 3 * ARB_COIN;
    if (arb_nameop_encode(&b, &op) != ARB_OK)
        abort();
    set_payload(t, ARB_NAMEOP_NAME_PREORDER, b.data, b.len);
    arb_buf_free(&b);
}
static void e_nonfinal_height(arb_tx *t) { t->lock_time = HEIGHT; }
static void e_final_height(arb_tx *t) { t->lock_time = HEIGHT - 1; }
static void e_nonfinal_time(arb_tx *t) { t->lock_time = 1767225600 + HEIGHT * 600 - 3000; }
static void e_final_time(arb_tx *t) { t->lock_time = 1767225600 + HEIGHT * 600 - 3001; }
static void e_belowout(arb_tx *t) { t->out[0].amount += 1; }

static void e_two_max_outputs(arb_tx *t)
{
    arb_outpoint op = t->in[0];
    if (arb_tx_alloc(t, 1, 2) != ARB_OK)
        return;
    t->version = 1;
    t->in[0] = op;
    t->out[0].amount = ARB_MAX_MONEY;
    t->out[1].amount = ARB_MAX_MONEY;
}

static void e_dup_input(arb_tx *t)
{
    arb_outpoint op = t->in[0];
    arb_txout o = t->out[0];
    if (arb_tx_alloc(t, 2, 1) != ARB_OK)
        return;
    t->version = 1;
    t->in[0] = op;
    t->in[1] = op;
    t->out[0] = o;
}

static void e_null_prevout(arb_tx *t)
{
    arb_outpoint op = t->in[0];
    arb_txout o = t->out[0];
    if (arb_tx_alloc(t, 2, 1) != ARB_OK)
        return;
    t->version = 1;
    t->in[0] = op;
    t->in[1].index = 3; /* zero txid */
    t->out[0] = o;
}

static void test_tx_rules(void)
{
    CHECK_STR(one_tx_reason(e_none, 10 * ARB_COIN, 1000), "ok");
    CHECK_STR(one_tx_reason(e_vout_toolarge, 10 * ARB_COIN, 0), "bad-txns-vout-toolarge");
    CHECK_STR(one_tx_reason(e_two_max_outputs, 10 * ARB_COIN, 0), "bad-txns-txouttotal-toolarge");
    CHECK_STR(one_tx_reason(e_payload, 10 * ARB_COIN, 1000), "bad-txns-payload-parse");
    CHECK_STR(one_tx_reason(e_payload_unknown, 10 * ARB_COIN, 1000), "bad-txns-payload-type");
    CHECK_STR(one_tx_reason(e_payload_root, 10 * ARB_COIN, 1000), "bad-txns-payload-type");
    {
        /* Burns: in - out must cover the burn, and the rest is the fee. */
        arb_tx t;
        arb_outpoint a = add_coin(10 * ARB_COIN, 1, 10, 0);
        spend(&t, a, 1, 7 * ARB_COIN - 1);
        e_preorder(&t);
        sign_all(&t, NULL, NULL);
        CHECK_STR(block_reason(&t, 1, 1, 0), "ok"); /* fee 1 unit, 3 coins burned */
        a = add_coin(10 * ARB_COIN, 1, 10, 0);
        spend(&t, a, 1, 7 * ARB_COIN - 1);
        e_preorder(&t);
        sign_all(&t, NULL, NULL);
        /* the coinbase may not claim the burn */
        CHECK_STR(block_reason(&t, 1, 1, 1), "bad-cb-amount");
        a = add_coin(10 * ARB_COIN, 1, 10, 0);
        spend(&t, a, 1, 7 * ARB_COIN + 1);
        e_preorder(&t);
        sign_all(&t, NULL, NULL);
        CHECK_STR(block_reason(&t, 1, 0, 0), "bad-txns-burn-toolarge");
        arb_check_result r;
        a = add_coin(10 * ARB_COIN, 1, 10, 0);
        spend(&t, a, 1, 6 * ARB_COIN);
        e_preorder(&t);
        sign_all(&t, NULL, NULL);
        CHECK(arb_chain_check_tx_inputs(P, &C, &t, HEIGHT, 0, lookup, NULL, &r) == ARB_OK);
        CHECK_EQ(r.fees, 1 * ARB_COIN);
        CHECK_EQ(arb_chain_tx_burn(&t), 3 * ARB_COIN);
        arb_tx_clear(&t);
    }
    {
        /* The coinbase: the root is required at height >= 1, exactly 32
         * bytes, and no other payload. */
        arb_tx cb;
        arb_block b;
        static const uint8_t z[33];
        coinbase(&cb, HEIGHT, arb_chain_subsidy(P, HEIGHT));
        arb_hash got;
        CHECK(arb_chain_coinbase_root(&cb, &got) == 1);
        free(cb.payload);
        cb.payload = NULL;
        cb.payload_len = 0;
        cb.payload_type = 0;
        CHECK(arb_chain_coinbase_root(&cb, &got) == 0);
        make_block(&b, &cb, 1);
        CHECK_STR(check(&b), "bad-cb-state-root-missing");
        arb_block_clear(&b);
        coinbase(&cb, HEIGHT, arb_chain_subsidy(P, HEIGHT));
        set_payload(&cb, ARB_PAYLOAD_STATE_ROOT, z, 33);
        make_block(&b, &cb, 1);
        CHECK_STR(check(&b), "bad-txns-payload-parse");
        arb_block_clear(&b);
        coinbase(&cb, HEIGHT, arb_chain_subsidy(P, HEIGHT));
        e_preorder(&cb);
        make_block(&b, &cb, 1);
        CHECK_STR(check(&b), "bad-txns-payload-type");
        arb_block_clear(&b);
    }
    CHECK_STR(one_tx_reason(e_nonfinal_height, 10 * ARB_COIN, 1000), "bad-txns-nonfinal");
    CHECK_STR(one_tx_reason(e_final_height, 10 * ARB_COIN, 1000), "ok");
    CHECK_STR(one_tx_reason(e_nonfinal_time, 10 * ARB_COIN, 1000), "bad-txns-nonfinal");
    CHECK_STR(one_tx_reason(e_final_time, 10 * ARB_COIN, 1000), "ok");
    CHECK_STR(one_tx_reason(e_belowout, 10 * ARB_COIN, 0), "bad-txns-in-belowout");
    CHECK_STR(one_tx_reason(e_dup_input, 10 * ARB_COIN, 1000), "bad-txns-inputs-duplicate");
    CHECK_STR(one_tx_reason(e_null_prevout, 10 * ARB_COIN, 1000), "bad-txns-prevout-null");

    /* Empty input / output lists (only constructible in memory). */
    arb_tx t;
    arb_check_result r;
    arb_tx_init(&t);
    CHECK(arb_tx_alloc(&t, 0, 1) == ARB_OK);
    CHECK(arb_chain_check_tx(&t, 0, &r) == ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "bad-txns-vin-empty");
    CHECK(arb_tx_alloc(&t, 1, 0) == ARB_OK);
    memset(t.in[0].txid.b, 1, 32);
    CHECK(arb_chain_check_tx(&t, 0, &r) == ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "bad-txns-vout-empty");
    arb_tx_clear(&t);
    /* Over the output cap. */
    arb_tx big;
    arb_tx_init(&big);
    big.n_in = 1;
    big.in = calloc(1, sizeof *big.in);
    big.sig = calloc(1, sizeof *big.sig);
    big.n_out = ARB_TX_MAX_OUTPUTS + 1;
    big.out = calloc(big.n_out, sizeof *big.out);
    CHECK(big.in && big.sig && big.out);
    memset(big.in[0].txid.b, 1, 32);
    CHECK(arb_chain_check_tx(&big, 0, &r) == ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "bad-txns-oversize");
    arb_tx_clear(&big);
}

static void test_input_rules(void)
{
    arb_tx t[2];
    arb_outpoint a, missing;

    /* Unknown input. */
    memset(&missing, 0, sizeof missing);
    arb_test_rand_bytes(missing.txid.b, 32);
    a = add_coin(5 * ARB_COIN, 1, 10, 0);
    spend(&t[0], missing, 1, ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    CHECK_STR(block_reason(t, 1, 0, 0), "bad-txns-inputs-missingorspent");
    /* The same coin spent by two transactions of one block. */
    spend(&t[0], a, 1, 4 * ARB_COIN);
    spend(&t[1], a, 1, 3 * ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    sign_all(&t[1], NULL, NULL);
    CHECK_STR(block_reason(t, 2, 3 * ARB_COIN, 0), "bad-txns-inputs-missingorspent");
    /* A coinbase output one block short of maturity. */
    a = add_coin(50 * ARB_COIN, 2, HEIGHT - 99, 1);
    spend(&t[0], a, 1, 49 * ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    CHECK_STR(block_reason(t, 1, ARB_COIN, 0), "bad-txns-premature-spend-of-coinbase");
    /* An input value out of range (a corrupt state). */
    a = add_coin(ARB_MAX_MONEY + 1, 1, 10, 0);
    spend(&t[0], a, 1, ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    CHECK_STR(block_reason(t, 1, 0, 0), "bad-txns-inputvalues-outofrange");
    /* Fees adding up to more than the money supply. */
    a = add_coin(ARB_MAX_MONEY, 1, 10, 0);
    arb_outpoint b = add_coin(ARB_MAX_MONEY, 2, 10, 0);
    spend(&t[0], a, 1, 0);
    spend(&t[1], b, 1, 0);
    sign_all(&t[0], NULL, NULL);
    sign_all(&t[1], NULL, NULL);
    CHECK_STR(block_reason(t, 2, 0, 0), "bad-txns-fee-outofrange");
}

static void test_sig_rules(void)
{
    arb_tx t;
    arb_outpoint a = add_coin(5 * ARB_COIN, 1, 10, 0);
    /* One bit of the signature. */
    spend(&t, a, 1, 4 * ARB_COIN);
    sign_all(&t, NULL, NULL);
    t.sig[0][10] ^= 0x04;
    CHECK_STR(block_reason(&t, 1, ARB_COIN, 0), "bad-txns-sig");
    /* Signed by the wrong key. */
    spend(&t, a, 1, 4 * ARB_COIN);
    {
        arb_txout sp;
        sp.amount = 5 * ARB_COIN;
        memcpy(sp.key, PK[1], 32);
        CHECK(arb_chain_sign_input(P, H, S, &t, 0, &sp, SK[2], NULL) == ARB_OK);
    }
    CHECK_STR(block_reason(&t, 1, ARB_COIN, 0), "bad-txns-sig");
    /* Signed for another network. */
    spend(&t, a, 1, 4 * ARB_COIN);
    {
        arb_txout sp;
        sp.amount = 5 * ARB_COIN;
        memcpy(sp.key, PK[1], 32);
        CHECK(arb_chain_sign_input(arb_chain_params_get("test"), H, S, &t, 0, &sp, SK[1], NULL) ==
              ARB_OK);
    }
    CHECK_STR(block_reason(&t, 1, ARB_COIN, 0), "bad-txns-sig");
    /* Signed over a different spent amount (the input's value is committed). */
    spend(&t, a, 1, 4 * ARB_COIN);
    {
        arb_txout sp;
        sp.amount = 6 * ARB_COIN;
        memcpy(sp.key, PK[1], 32);
        CHECK(arb_chain_sign_input(P, H, S, &t, 0, &sp, SK[1], NULL) == ARB_OK);
    }
    CHECK_STR(block_reason(&t, 1, ARB_COIN, 0), "bad-txns-sig");
    /* The bad signature is located: second transaction, its input 0. */
    arb_tx two[2];
    arb_outpoint b = add_coin(5 * ARB_COIN, 3, 10, 0);
    spend(&two[0], a, 1, 5 * ARB_COIN);
    spend(&two[1], b, 1, 5 * ARB_COIN);
    sign_all(&two[0], NULL, NULL);
    sign_all(&two[1], NULL, NULL);
    two[1].sig[0][0] ^= 1;
    arb_tx all[3];
    arb_block blk;
    arb_check_result r;
    coinbase(&all[0], HEIGHT, arb_chain_subsidy(P, HEIGHT));
    all[1] = two[0];
    all[2] = two[1];
    make_block(&blk, all, 3);
    CHECK(arb_chain_check_block(P, &C, &blk, HEIGHT, 0, lookup, NULL, &r) == ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "bad-txns-sig");
    CHECK_EQ(r.tx_index, 2);
    CHECK_EQ(r.in_index, 0);
    arb_block_clear(&blk);
}

static void test_block_rules(void)
{
    arb_tx t[3];
    arb_block b;
    arb_outpoint a = add_coin(5 * ARB_COIN, 1, 10, 0);

    /* No transactions. */
    make_block(&b, NULL, 0);
    CHECK_STR(check(&b), "bad-blk-length");
    arb_block_clear(&b);
    /* Over the size limit: three transactions of 10,000 outputs (1.2 MB). */
    for (int i = 0; i < 3; i++) {
        spend(&t[i], a, ARB_TX_MAX_OUTPUTS, 0);
        t[i].in[0].index = (uint32_t)i; /* distinct txids */
    }
    {
        arb_tx all[4];
        coinbase(&all[0], HEIGHT, 1);
        memcpy(all + 1, t, sizeof t);
        make_block(&b, all, 4);
        CHECK_STR(check(&b), "bad-blk-length");
        arb_block_clear(&b);
    }
    /* Merkle root off by one bit. */
    spend(&t[0], a, 1, 4 * ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    {
        arb_tx all[2];
        coinbase(&all[0], HEIGHT, arb_chain_subsidy(P, HEIGHT) + ARB_COIN);
        all[1] = t[0];
        make_block(&b, all, 2);
        CHECK_STR(check(&b), "ok");
        b.header.merkle_root.b[7] ^= 1;
        CHECK_STR(check(&b), "bad-txnmrklroot");
        arb_block_clear(&b);
    }
    /* No coinbase first. */
    spend(&t[0], a, 1, 4 * ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    make_block(&b, t, 1);
    CHECK_STR(check(&b), "bad-cb-missing");
    arb_block_clear(&b);
    /* A second coinbase. */
    coinbase(&t[0], HEIGHT, 1);
    CHECK_STR(block_reason(t, 1, 0, 0), "bad-cb-multiple");
    /* The same transaction twice. */
    spend(&t[0], a, 1, 4 * ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    CHECK(arb_tx_copy(&t[1], &t[0]) == ARB_OK);
    CHECK_STR(block_reason(t, 2, 2 * ARB_COIN, 0), "bad-txns-duplicate");
    /* Coinbase paying one unit more than subsidy plus fees. */
    spend(&t[0], a, 1, 4 * ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    CHECK_STR(block_reason(t, 1, ARB_COIN, 1), "bad-cb-amount");
    spend(&t[0], a, 1, 4 * ARB_COIN);
    sign_all(&t[0], NULL, NULL);
    CHECK_STR(block_reason(t, 1, ARB_COIN, -1), "ok"); /* paying less is allowed */
    /* Coinbase carrying the wrong height. */
    {
        arb_tx all[1];
        coinbase(&all[0], HEIGHT + 1, arb_chain_subsidy(P, HEIGHT));
        make_block(&b, all, 1);
        CHECK_STR(check(&b), "bad-cb-height");
        arb_block_clear(&b);
    }
    /* Coinbase with a lock time in the future. */
    {
        arb_tx all[1];
        coinbase(&all[0], HEIGHT, arb_chain_subsidy(P, HEIGHT));
        all[0].lock_time = HEIGHT + 5;
        make_block(&b, all, 1);
        CHECK_STR(check(&b), "bad-txns-nonfinal");
        arb_block_clear(&b);
    }
}

/* arb_chain_check_block_ex: a fan-out and FAN transactions spending its
 * outputs in the same block (FAN + 1 signatures, more than the chunks the
 * verifier threads take). The view hands back every txid and spent coin
 * (in-block ones marked); build runs once, its error is the result when the
 * signatures verify; a bad signature is the reason whatever build returned,
 * and the first bad one (in block order) is reported for 1 to 3 threads
 * however the chunks fall. */
enum { FAN = 150 };

typedef struct {
    int calls;
    arb_err ret;
    size_t n_spent;
} build_rec;

static arb_err rec_build(void *ud, const arb_block_view *v, arb_check_result *res)
{
    build_rec *b = ud;
    b->calls++;
    b->n_spent = v->n_spent;
    if (b->ret == ARB_ERR_VERIFY) {
        res->reason = "from-build";
        return ARB_ERR_VERIFY;
    }
    return b->ret;
}

static void fan_block(arb_block *blk, arb_outpoint a, uint64_t amount)
{
    arb_tx *all = calloc(FAN + 2, sizeof *all);
    arb_hash fid;
    coinbase(&all[0], HEIGHT, arb_chain_subsidy(P, HEIGHT));
    spend(&all[1], a, FAN, amount / FAN);
    sign_all(&all[1], NULL, NULL);
    CHECK(arb_tx_txid(H, &fid, &all[1]) == ARB_OK);
    for (size_t i = 0; i < FAN; i++) {
        arb_outpoint op = {fid, (uint32_t)i};
        spend(&all[2 + i], op, 1, amount / FAN);
        sign_all(&all[2 + i], &all[1], &fid);
    }
    make_block(blk, all, FAN + 2);
    free(all);
}

/* A block large enough for its merkle root to be hashed on a thread of its
 * own while the transactions are checked: the first broken rule is still
 * reported, in the order the rules are listed (root, coinbase, a
 * transaction's own rules by index, duplicates). */
#define BIG 100

static const char *basic_reason(const arb_block *b, size_t *tx_index)
{
    arb_check_result r;
    arb_err e = arb_chain_check_block_basic(P, H, b, &r);

    *tx_index = r.tx_index;
    if (e == ARB_OK)
        return "ok";
    return e == ARB_ERR_VERIFY ? r.reason : "error";
}

static void big_block(arb_block *b, int no_coinbase, size_t empty_at, size_t dup_at)
{
    arb_tx txs[BIG];
    arb_outpoint op;

    memset(&op, 0x11, sizeof op);
    coinbase(&txs[0], HEIGHT, 1);
    for (size_t i = 1; i < BIG; i++) {
        op.index = (uint32_t)i; /* distinct txids */
        spend(&txs[i], op, i == empty_at ? 0 : 1, 1);
    }
    if (no_coinbase) {
        arb_tx_clear(&txs[0]);
        op.index = 0;
        spend(&txs[0], op, 1, 1);
    }
    if (dup_at != 0) {
        arb_tx_clear(&txs[dup_at + 1]);
        CHECK(arb_tx_copy(&txs[dup_at + 1], &txs[dup_at]) == ARB_OK);
    }
    make_block(b, txs, BIG);
}

static void test_big_block_basic(void)
{
    arb_block b;
    size_t at;

    big_block(&b, 0, 0, 0);
    CHECK_STR(basic_reason(&b, &at), "ok");
    b.header.merkle_root.b[0] ^= 1;
    CHECK_STR(basic_reason(&b, &at), "bad-txnmrklroot");
    arb_block_clear(&b);

    big_block(&b, 0, 70, 0);
    CHECK_STR(basic_reason(&b, &at), "bad-txns-vout-empty");
    CHECK_EQ(at, 70);
    b.header.merkle_root.b[31] ^= 1; /* the root is reported first */
    CHECK_STR(basic_reason(&b, &at), "bad-txnmrklroot");
    arb_block_clear(&b);

    big_block(&b, 1, 70, 0); /* no coinbase, and a bad transaction after it */
    CHECK_STR(basic_reason(&b, &at), "bad-cb-missing");
    arb_block_clear(&b);

    big_block(&b, 0, 0, 80);
    CHECK_STR(basic_reason(&b, &at), "bad-txns-duplicate");
    arb_block_clear(&b);

    big_block(&b, 0, 90, 20); /* a transaction's own rule before duplicates */
    CHECK_STR(basic_reason(&b, &at), "bad-txns-vout-empty");
    CHECK_EQ(at, 90);
    arb_block_clear(&b);
}

static void test_check_block_ex(void)
{
    arb_block blk;
    arb_check_result r;
    arb_block_view v;
    build_rec br;
    arb_outpoint a = add_coin(FAN * ARB_COIN, 1, 10, 0);

    fan_block(&blk, a, FAN * ARB_COIN);
    for (unsigned th = 1; th <= 3; th++) {
        C.threads = th;
        memset(&br, 0, sizeof br);
        CHECK(arb_chain_check_block_ex(P, &C, &blk, HEIGHT, 0, lookup, NULL, rec_build, &br, &v,
                                       &r) == ARB_OK);
        CHECK_EQ(br.calls, 1);
        CHECK_EQ(v.n_spent, FAN + 1);
        CHECK_EQ(br.n_spent, FAN + 1);
        for (size_t t = 0; t < blk.n_tx; t++) {
            arb_hash id;
            CHECK(arb_tx_txid(H, &id, &blk.tx[t]) == ARB_OK);
            CHECK(arb_hash_eq(&id, &v.txids[t]));
        }
        CHECK_EQ(v.in_block[0], 0);
        CHECK_EQ(v.spent[0].amount, FAN * ARB_COIN);
        CHECK_MEM(v.spent[0].key, PK[1], 32);
        CHECK_EQ(v.in_block[FAN], 1);
        CHECK_EQ(v.spent[FAN].amount, ARB_COIN);
        arb_block_view_clear(&v);
        /* build's error when the signatures verify */
        br.ret = ARB_ERR_VERIFY;
        CHECK(arb_chain_check_block_ex(P, &C, &blk, HEIGHT, 0, lookup, NULL, rec_build, &br, &v,
                                       &r) == ARB_ERR_VERIFY);
        CHECK_STR(r.reason, "from-build");
        CHECK(v.txids == NULL); /* cleared on an error */
        br.ret = ARB_ERR_DB;
        CHECK(arb_chain_check_block_ex(P, &C, &blk, HEIGHT, 0, lookup, NULL, rec_build, &br, NULL,
                                       &r) == ARB_ERR_DB);
    }
    /* Two bad signatures: the first is reported, whatever build says. */
    for (int round = 0; round < 6; round++) {
        size_t k1 = 1 + (size_t)arb_test_rand_below(FAN), k2 = k1 + 1 +
                    (size_t)arb_test_rand_below(FAN + 1 - k1);
        blk.tx[k1].sig[0][5] ^= 0x10;
        blk.tx[k2].sig[0][7] ^= 0x20;
        CHECK(arb_block_merkle_root(H, &blk.header.merkle_root, blk.tx, blk.n_tx) == ARB_OK);
        for (unsigned th = 1; th <= 3; th++) {
            C.threads = th;
            memset(&br, 0, sizeof br);
            br.ret = round % 2 ? ARB_ERR_VERIFY : ARB_OK;
            CHECK(arb_chain_check_block_ex(P, &C, &blk, HEIGHT, 0, lookup, NULL, rec_build, &br,
                                           NULL, &r) == ARB_ERR_VERIFY);
            CHECK_STR(r.reason, "bad-txns-sig");
            CHECK_EQ(r.tx_index, k1);
            CHECK_EQ(r.in_index, 0);
            /* the plain check agrees */
            CHECK(arb_chain_check_block(P, &C, &blk, HEIGHT, 0, lookup, NULL, &r) ==
                  ARB_ERR_VERIFY);
            CHECK_EQ(r.tx_index, k1);
        }
        blk.tx[k1].sig[0][5] ^= 0x10;
        blk.tx[k2].sig[0][7] ^= 0x20;
    }
    /* A rule that fails before the signatures: build is not called. */
    blk.tx[0].out[0].amount += 1;
    CHECK(arb_block_merkle_root(H, &blk.header.merkle_root, blk.tx, blk.n_tx) == ARB_OK);
    memset(&br, 0, sizeof br);
    CHECK(arb_chain_check_block_ex(P, &C, &blk, HEIGHT, 0, lookup, NULL, rec_build, &br, NULL,
                                   &r) == ARB_ERR_VERIFY);
    CHECK_STR(r.reason, "bad-cb-amount");
    CHECK_EQ(br.calls, 0);
    C.threads = 2;
    arb_block_clear(&blk);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    P = arb_chain_params_get("regtest");
    C.sha = H;
    C.schnorr = S;
    C.threads = 2;
    for (int k = 0; k < NKEYS; k++) {
        do
            arb_test_rand_bytes(SK[k], 32);
        while (!arb_schnorr_pubkey(S, PK[k], SK[k]));
    }
    test_valid_block();
    test_in_block_chain();
    test_tx_rules();
    test_input_rules();
    test_sig_rules();
    test_block_rules();
    test_big_block_basic();
    test_check_block_ex();
    arb_schnorr_free(S);
    arb_sha256_free(H);
    return arb_test_done();
}
