/* Amount parsing and formatting, transaction size and fee, coin selection.
 * Sizes are checked against real signed transactions (arb_wallet_tx_build +
 * arb_tx_size); selection against a brute-force search over subsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/tx.h"
#include "tests/test.h"
#include "wallet/spend.h"
#include "wallet/txbuild.h"

static void test_amount_parse(void)
{
    static const struct {
        const char *s;
        int ok;
        uint64_t v;
    } cases[] = {
        {"0", 1, 0},
        {"1", 1, 100000000ULL},
        {"1.5", 1, 150000000ULL},
        {"0.00000001", 1, 1},
        {"0.1", 1, 10000000ULL},
        {"21000000", 1, 2100000000000000ULL},
        {"21000000.00000000", 1, 2100000000000000ULL},
        {"20999999.99999999", 1, 2099999999999999ULL},
        {"007.25", 1, 725000000ULL},
        {"21000000.00000001", 0, 0},
        {"21000001", 0, 0},
        {"184467440737095516160", 0, 0},
        {"99999999999999999999999", 0, 0},
        {"0.000000001", 0, 0},
        {"1.123456789", 0, 0},
        {"", 0, 0},
        {".5", 0, 0},
        {"1.", 0, 0},
        {"-1", 0, 0},
        {"+1", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"1e8", 0, 0},
        {"1,5", 0, 0},
        {"1.2.3", 0, 0},
        {"0x10", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 777;
        int ok = arb_amount_parse(&v, cases[i].s);
        if (ok != cases[i].ok)
            fprintf(stderr, "parse '%s'\n", cases[i].s);
        CHECK(ok == cases[i].ok);
        if (ok)
            CHECK(v == cases[i].v);
    }
}

static void test_amount_format(void)
{
    char s[ARB_AMOUNT_STR_MAX];
    arb_amount_format(s, sizeof(s), 0);
    CHECK_STR(s, "0.00000000");
    arb_amount_format(s, sizeof(s), 1);
    CHECK_STR(s, "0.00000001");
    arb_amount_format(s, sizeof(s), 150000000ULL);
    CHECK_STR(s, "1.50000000");
    arb_amount_format(s, sizeof(s), 2100000000000000ULL);
    CHECK_STR(s, "21000000.00000000");
    arb_amount_format(s, sizeof(s), UINT64_MAX);
    CHECK_STR(s, "184467440737.09551615");
    /* Round trip over random amounts. */
    for (unsigned long i = 0; i < arb_test_count(2000); i++) {
        uint64_t v = arb_test_rand() % (2100000000000000ULL + 1), w = 0;
        arb_amount_format(s, sizeof(s), v);
        CHECK(arb_amount_parse(&w, s));
        CHECK(w == v);
    }
}

/* The estimate equals the size of a real built transaction. */
static void test_size(void)
{
    static const size_t ins[] = {1, 2, 3, 252, 253, 300};
    uint8_t key[32] = {2};
    for (size_t a = 0; a < sizeof(ins) / sizeof(ins[0]); a++) {
        for (size_t n_out = 1; n_out <= 2; n_out++) {
            size_t n_in = ins[a];
            arb_wallet_coin *coins = calloc(n_in, sizeof(*coins));
            arb_txout dest = {0};
            arb_tx tx;
            uint64_t change = 0;
            arb_errbuf eb;
            CHECK(coins != NULL);
            for (size_t i = 0; i < n_in; i++) {
                coins[i].prev.txid.b[0] = (uint8_t)i;
                coins[i].prev.txid.b[1] = (uint8_t)(i >> 8);
                coins[i].spent.amount = 1000;
                memcpy(coins[i].spent.key, key, 32);
            }
            memcpy(dest.key, key, 32);
            /* One output: spend everything but the fee; two: leave change. */
            dest.amount = n_out == 1 ? n_in * 1000 - 10 : 500;
            arb_tx_init(&tx);
            CHECK(arb_wallet_tx_build(&tx, &change, coins, n_in, &dest, 1, 10, key, &eb) ==
                  ARB_OK);
            CHECK(tx.n_out == n_out);
            CHECK_EQ(arb_wallet_tx_size_est(n_in, n_out), arb_tx_size(&tx));
            arb_tx_clear(&tx);
            free(coins);
        }
    }
}

static void test_fee(void)
{
    uint64_t f = 1;
    CHECK(arb_wallet_fee(&f, 0, 1000) && f == 0);
    CHECK(arb_wallet_fee(&f, 3, 200) && f == 600);
    CHECK(!arb_wallet_fee(&f, UINT64_MAX, 2));
    CHECK(!arb_wallet_fee(&f, 2100000000000000ULL, 2));
    CHECK(arb_wallet_fee(&f, 2100000000000000ULL, 1) && f == 2100000000000000ULL);
}

/* Largest-first must pick the k largest coins for the smallest k that
 * covers target + fee(k, 1); checked by sorting independently. */
static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void test_select_random(void)
{
    for (unsigned long it = 0; it < arb_test_count(500); it++) {
        size_t n = 1 + arb_test_rand_below(12);
        uint64_t amounts[12], sorted[12], sum = 0, target, rate = arb_test_rand_below(20);
        arb_wallet_selection sel;
        arb_errbuf eb;
        arb_err err;
        size_t k;
        for (size_t i = 0; i < n; i++) {
            amounts[i] = 1 + arb_test_rand_below(100000);
            sorted[i] = amounts[i];
        }
        qsort(sorted, n, sizeof(sorted[0]), cmp_desc);
        target = 1 + arb_test_rand_below(400000);
        /* Independent expectation: version 4, count 1, k * (outpoint 36 +
         * signature 64), count 1, one output 40, lock time 4, payload type 1. */
        for (k = 1; k <= n; k++) {
            sum += sorted[k - 1];
            if (sum >= target + rate * (51 + 100 * k))
                break;
        }
        err = arb_wallet_select_coins(&sel, amounts, n, target, rate, &eb);
        if (target < 420) { /* below the dust limit: refused before selection */
            CHECK(err == ARB_ERR_INVALID_ARG);
            CHECK(strstr(eb.msg, "dust limit") != NULL);
            continue;
        }
        if (k > n) {
            CHECK(err == ARB_ERR_VERIFY);
            CHECK(strstr(eb.msg, "insufficient funds") != NULL);
            continue;
        }
        if (err != ARB_OK)
            fprintf(stderr, "%s\n", eb.msg);
        CHECK(err == ARB_OK);
        CHECK_EQ(sel.n, k);
        {
            uint64_t tot = 0;
            for (size_t i = 0; i < sel.n; i++) {
                CHECK(amounts[sel.idx[i]] == sorted[i]);
                tot += amounts[sel.idx[i]];
            }
            CHECK(tot == sel.total);
        }
        CHECK(sel.total == target + sel.fee + sel.change);
        /* Change is an output of at least 420 units (the dust limit) or none:
         * then it would not have paid for itself and left 420. */
        if (sel.change > 0) {
            CHECK(sel.change >= 420);
            CHECK(sel.fee == rate * (uint64_t)arb_wallet_tx_size_est(k, 2));
        } else {
            CHECK(sel.fee >= rate * (uint64_t)arb_wallet_tx_size_est(k, 1));
            CHECK(sel.total < target + rate * (uint64_t)arb_wallet_tx_size_est(k, 2) + 420);
        }
        arb_wallet_selection_clear(&sel);
    }
}

static void test_select_edges(void)
{
    arb_wallet_selection sel;
    arb_errbuf eb;
    uint64_t a[3] = {5000, 0, 3000};
    size_t s1 = arb_wallet_tx_size_est(1, 1), s2 = arb_wallet_tx_size_est(1, 2);

    CHECK(arb_wallet_select_coins(&sel, a, 0, 420, 1, &eb) == ARB_ERR_VERIFY);
    CHECK(arb_wallet_select_coins(&sel, a, 3, 0, 1, &eb) == ARB_ERR_INVALID_ARG);
    /* Exact: 5000 = target + fee for one output: no change. */
    CHECK(arb_wallet_select_coins(&sel, a, 3, 5000 - s1, 1, &eb) == ARB_OK);
    CHECK(sel.n == 1 && sel.idx[0] == 0 && sel.change == 0 && sel.fee == s1);
    arb_wallet_selection_clear(&sel);
    /* Between the one- and two-output fee: excess goes to the fee. */
    CHECK(arb_wallet_select_coins(&sel, a, 3, 5000 - s2, 1, &eb) == ARB_OK);
    CHECK(sel.n == 1 && sel.change == 0 && sel.fee == s2);
    arb_wallet_selection_clear(&sel);
    /* Change below the dust limit (420 units) goes to the fee: 1 and 419
     * units of change would be refused by every node's mempool. */
    CHECK(arb_wallet_select_coins(&sel, a, 3, 5000 - s2 - 1, 1, &eb) == ARB_OK);
    CHECK(sel.n == 1 && sel.change == 0 && sel.fee == s2 + 1);
    arb_wallet_selection_clear(&sel);
    CHECK(arb_wallet_select_coins(&sel, a, 3, 5000 - s2 - 419, 1, &eb) == ARB_OK);
    CHECK(sel.n == 1 && sel.change == 0 && sel.fee == s2 + 419 && sel.total == 5000);
    arb_wallet_selection_clear(&sel);
    CHECK(arb_wallet_select_coins(&sel, a, 3, 5000 - s2 - 420, 1, &eb) == ARB_OK);
    CHECK(sel.n == 1 && sel.change == 420 && sel.fee == s2);
    arb_wallet_selection_clear(&sel);
    /* A payment below the dust limit is refused up front, naming the limit,
     * even when the coins would cover it; 420 units is paid. */
    CHECK(arb_wallet_select_coins(&sel, a, 3, 419, 1, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(sel.n == 0 && sel.idx == NULL);
    CHECK(strstr(eb.msg, "below the dust limit of 0.00000420 (420 units)") != NULL);
    CHECK(arb_wallet_select_coins(&sel, a, 3, 1, 0, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(strstr(eb.msg, "dust limit") != NULL);
    CHECK(arb_wallet_select_coins(&sel, a, 3, 420, 1, &eb) == ARB_OK);
    CHECK(sel.n == 1 && sel.total == 5000 && sel.change == 5000 - 420 - s2);
    arb_wallet_selection_clear(&sel);
    /* Needs both non-zero coins. */
    CHECK(arb_wallet_select_coins(&sel, a, 3, 6000, 0, &eb) == ARB_OK);
    CHECK(sel.n == 2 && sel.idx[0] == 0 && sel.idx[1] == 2 && sel.change == 2000);
    arb_wallet_selection_clear(&sel);
    CHECK(arb_wallet_select_coins(&sel, a, 3, 8001, 0, &eb) == ARB_ERR_VERIFY);
    CHECK(strstr(eb.msg, "0.00008000 available") != NULL);
}

/* The payload size estimate is the size of a real signed transaction. */
static void test_payload_size(void)
{
    static const size_t lens[] = {1, 40, 252, 253, 1024};
    uint8_t key[32] = {3}, payload[1024] = {0};
    for (size_t a = 0; a < sizeof(lens) / sizeof(lens[0]); a++) {
        for (size_t n_in = 1; n_in <= 3; n_in++) {
            arb_wallet_coin coins[3];
            arb_tx tx;
            uint64_t change = 0;
            arb_errbuf eb;
            memset(coins, 0, sizeof(coins));
            for (size_t i = 0; i < n_in; i++) {
                coins[i].prev.index = (uint32_t)i;
                coins[i].spent.amount = 5000;
                memcpy(coins[i].spent.key, key, 32);
            }
            arb_tx_init(&tx);
            CHECK(arb_wallet_tx_build_payload(&tx, &change, coins, n_in, 9, payload, lens[a],
                                              100, 10, key, &eb) == ARB_OK);
            CHECK_EQ(arb_wallet_payload_tx_size_est(n_in, lens[a]), arb_tx_size(&tx));
            arb_tx_clear(&tx);
        }
    }
}

/* Payload selection against an independent expectation: the forced coin
 * first, then the others largest first, until burn + fee + a change of at
 * least 420 units is covered. */
static void test_select_payload_random(void)
{
    for (unsigned long it = 0; it < arb_test_count(500); it++) {
        size_t n = 1 + arb_test_rand_below(10), first = arb_test_rand_below(n), k;
        size_t plen = 1 + arb_test_rand_below(300);
        uint64_t amounts[10], order[10], sum = 0, burn = arb_test_rand_below(300000);
        uint64_t rate = arb_test_rand_below(10), fee = 0;
        arb_wallet_selection sel;
        arb_errbuf eb;
        arb_err err;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            amounts[i] = 1 + arb_test_rand_below(100000);
        order[m++] = amounts[first];
        {
            uint64_t rest[10];
            size_t r = 0;
            for (size_t i = 0; i < n; i++)
                if (i != first)
                    rest[r++] = amounts[i];
            qsort(rest, r, sizeof(rest[0]), cmp_desc);
            for (size_t i = 0; i < r; i++)
                order[m++] = rest[i];
        }
        for (k = 1; k <= n; k++) {
            sum += order[k - 1];
            fee = rate * (uint64_t)arb_wallet_payload_tx_size_est(k, plen);
            if (sum >= burn + fee + 420)
                break;
        }
        err = arb_wallet_select_payload(&sel, amounts, n, first, burn, rate, plen, &eb);
        if (k > n) {
            CHECK(err == ARB_ERR_VERIFY);
            CHECK(strstr(eb.msg, "insufficient funds") != NULL);
            continue;
        }
        CHECK(err == ARB_OK);
        if (err != ARB_OK)
            continue;
        CHECK_EQ(sel.n, k);
        CHECK_EQ(sel.idx[0], first);
        for (size_t i = 0; i < sel.n; i++)
            CHECK(amounts[sel.idx[i]] == order[i]);
        CHECK(sel.total == sum);
        CHECK(sel.fee == fee);
        CHECK(sel.total == burn + sel.fee + sel.change);
        CHECK(sel.change >= 420);
        arb_wallet_selection_clear(&sel);
    }
    {
        arb_wallet_selection sel;
        arb_errbuf eb;
        uint64_t a[2] = {1000, 2000};
        CHECK(arb_wallet_select_payload(&sel, a, 2, 2, 0, 1, 10, &eb) == ARB_ERR_INVALID_ARG);
        CHECK(arb_wallet_select_payload(&sel, a, 2, 0, ARB_MAX_MONEY + 1, 1, 10, &eb) ==
              ARB_ERR_INVALID_ARG);
    }
}

int main(void)
{
    arb_test_seed_init();
    test_amount_parse();
    test_amount_format();
    test_size();
    test_fee();
    test_select_random();
    test_select_edges();
    test_payload_size();
    test_select_payload_random();
    return arb_test_done();
}
