/* The coins cache (ledger/chain/coins.h) against a naive model: a "disk" of
 * unspent coins and the logical UTXO set (disk + the changes since the last
 * write), both plain arrays searched linearly. Random creations, spends of
 * unspent coins (from the disk or from the cache), lookups and writes (the
 * cache's entries applied to the model's disk as the chain state's flush
 * applies them, then cleared): every lookup through the cache and the disk
 * equals the logical set, after every write the disk equals it, and a coin
 * created and spent between two writes is never written. Seeded; the seed is
 * printed and ARB_TEST_COUNT scales the rounds. */
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/coins.h"
#include "tests/test.h"

enum { MAXC = 4096 };

typedef struct {
    arb_outpoint op;
    arb_coin coin;
    int live;
} mcoin;

static mcoin DISK[MAXC], LOGIC[MAXC];
static size_t NDISK, NLOGIC;

static mcoin *mfind(mcoin *v, size_t n, const arb_outpoint *op)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].live && v[i].op.index == op->index && memcmp(v[i].op.txid.b, op->txid.b, 32) == 0)
            return &v[i];
    return NULL;
}

static void mput(mcoin *v, size_t *n, const arb_outpoint *op, const arb_coin *c)
{
    mcoin *m = mfind(v, *n, op);
    if (m == NULL)
        m = &v[(*n)++];
    m->op = *op;
    m->coin = *c;
    m->live = 1;
}

static void apply_one(void *ud, const arb_outpoint *op, const arb_coin *coin, unsigned flags)
{
    (void)ud;
    if ((flags & ARB_COIN_FRESH) && (flags & ARB_COIN_SPENT))
        return;
    if (flags & ARB_COIN_SPENT) {
        mcoin *m = mfind(DISK, NDISK, op);
        CHECK(m != NULL); /* a spent, not FRESH entry is on the disk */
        if (m != NULL)
            m->live = 0;
        return;
    }
    if (flags & ARB_COIN_FRESH)
        CHECK(mfind(DISK, NDISK, op) == NULL); /* FRESH: the disk does not have it */
    mput(DISK, &NDISK, op, coin);
}

static void count_fresh_spent(void *ud, const arb_outpoint *op, const arb_coin *coin,
                              unsigned flags)
{
    (void)op, (void)coin;
    if ((flags & ARB_COIN_FRESH) && (flags & ARB_COIN_SPENT))
        (*(unsigned long *)ud)++;
}

/* What the chain state's lookup returns: the cache, then the disk. */
static int lookup(const arb_coins *c, const arb_outpoint *op, arb_coin *out)
{
    int r = arb_coins_get(c, op, out);
    if (r >= 0)
        return r;
    mcoin *m = mfind(DISK, NDISK, op);
    if (m == NULL)
        return 0;
    *out = m->coin;
    return 1;
}

static void run(void)
{
    arb_coins *c;
    unsigned long rounds = arb_test_count(8000), writes = 0, fresh_spent = 0;
    uint32_t next_id = 1;

    CHECK(arb_coins_new(&c) == ARB_OK);
    CHECK_EQ(arb_coins_get(c, &(arb_outpoint){{{0}}, 0}, &(arb_coin){0}), -1);
    for (unsigned long r = 0; r < rounds && NLOGIC + 2 < MAXC && NDISK + 2 < MAXC; r++) {
        uint64_t what = arb_test_rand_below(100);
        CHECK(arb_coins_reserve(c, 1) == ARB_OK);
        if (what < 45) { /* a new coin */
            arb_outpoint op;
            arb_coin coin;
            memset(&op, 0, sizeof op);
            arb_test_rand_bytes(op.txid.b, 32);
            memcpy(op.txid.b + 28, &next_id, 4);
            next_id++;
            op.index = (uint32_t)arb_test_rand_below(3);
            memset(&coin, 0, sizeof coin);
            coin.amount = arb_test_rand_below(1000000);
            arb_test_rand_bytes(coin.key, 32);
            coin.height = (uint32_t)r;
            coin.coinbase = (int)arb_test_rand_below(2);
            arb_coins_add(c, &op, &coin);
            mput(LOGIC, &NLOGIC, &op, &coin);
        } else if (what < 85) { /* spend a random unspent coin */
            size_t live = 0, pick;
            for (size_t i = 0; i < NLOGIC; i++)
                live += LOGIC[i].live;
            if (live == 0)
                continue;
            pick = (size_t)arb_test_rand_below(live);
            for (size_t i = 0; i < NLOGIC; i++) {
                if (!LOGIC[i].live || pick-- != 0)
                    continue;
                arb_coin got;
                CHECK(lookup(c, &LOGIC[i].op, &got) == 1);
                CHECK_MEM(&got, &LOGIC[i].coin, sizeof got);
                arb_coins_spend(c, &LOGIC[i].op, &got);
                LOGIC[i].live = 0;
                break;
            }
        } else if (what < 97) { /* look every coin up */
            for (size_t i = 0; i < NLOGIC; i++) {
                arb_coin got;
                int want = LOGIC[i].live, have = lookup(c, &LOGIC[i].op, &got);
                CHECK_EQ(have, want);
                if (want && have)
                    CHECK_MEM(&got, &LOGIC[i].coin, sizeof got);
            }
        } else { /* write out and clear */
            unsigned long fs = 0;
            arb_coins_each(c, count_fresh_spent, &fs);
            fresh_spent += fs;
            arb_coins_each(c, apply_one, NULL);
            arb_coins_clear(c);
            CHECK_EQ(arb_coins_count(c), 0);
            writes++;
            size_t nd = 0, nl = 0;
            for (size_t i = 0; i < NDISK; i++)
                nd += DISK[i].live;
            for (size_t i = 0; i < NLOGIC; i++) {
                if (!LOGIC[i].live)
                    continue;
                nl++;
                mcoin *m = mfind(DISK, NDISK, &LOGIC[i].op);
                CHECK(m != NULL && memcmp(&m->coin, &LOGIC[i].coin, sizeof m->coin) == 0);
            }
            CHECK_EQ(nd, nl);
        }
    }
    /* The budget figure grows with the entries and covers them. */
    CHECK(arb_coins_bytes_with(c, 0) >= arb_coins_count(c) * 2 * sizeof(arb_outpoint));
    CHECK(arb_coins_bytes_with(c, 100000) > arb_coins_bytes_with(c, 0));
    CHECK(writes > 0);
    CHECK(fresh_spent > 0); /* coins that lived and died between two writes */
    arb_coins_free(c);
    arb_coins_free(NULL);
}

int main(void)
{
    arb_test_seed_init();
    run();
    return arb_test_done();
}
