/* The data of the explorer's chain plots: difficulty from compact bits
 * against a proof-of-work limit, and block intervals and difficulties from
 * known headers (arb_explorer_difficulty, arb_explorer_chain_series). */
#include <math.h>
#include <stdint.h>

#include "ledger/api/explorer.h"
#include "ledger/chain/pow.h"
#include "tests/test.h"

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fabs(b);
}

static void test_difficulty(void)
{
    arb_u256 regtest, main;
    arb_pow_bits_to_target(&regtest, 0x207fffff, NULL, NULL);
    arb_pow_bits_to_target(&main, 0x1d00ffff, NULL, NULL);
    CHECK(near(arb_explorer_difficulty(0x207fffff, &regtest), 1.0));
    CHECK(near(arb_explorer_difficulty(0x1f7fffff, &regtest), 256.0));
    CHECK(near(arb_explorer_difficulty(0x1e7fffff, &regtest), 65536.0));
    CHECK(near(arb_explorer_difficulty(0x203fffff, &regtest), 8388607.0 / 4194303.0));
    CHECK(near(arb_explorer_difficulty(0x1d00ffff, &main), 1.0));
    /* Bitcoin block 32256's first retarget: bits 0x1d00d86a, difficulty 1.18... */
    CHECK(near(arb_explorer_difficulty(0x1d00d86a, &main), 65535.0 / 55402.0));
    CHECK(arb_explorer_difficulty(0, &regtest) == 0);          /* zero target */
    CHECK(arb_explorer_difficulty(0x04923456, &regtest) == 0); /* negative */
    CHECK(arb_explorer_difficulty(0xff123456, &regtest) == 0); /* overflow */
}

static void test_series(void)
{
    arb_u256 limit;
    const arb_explorer_hdr h[] = {
        {1000, 0x207fffff}, {1600, 0x207fffff}, {1500, 0x1f7fffff}, {2100, 0x1e7fffff},
    };
    int64_t iv[4] = {0};
    double df[4] = {0};
    arb_pow_bits_to_target(&limit, 0x207fffff, NULL, NULL);
    CHECK_EQ(arb_explorer_chain_series(h, 4, &limit, iv, df), 3);
    CHECK_EQ(iv[0], 600);
    CHECK_EQ(iv[1], -100); /* a block timed before its parent */
    CHECK_EQ(iv[2], 600);
    CHECK(near(df[0], 1.0));
    CHECK(near(df[1], 256.0));
    CHECK(near(df[2], 65536.0));
    CHECK_EQ(arb_explorer_chain_series(h, 1, &limit, iv, df), 0);
    CHECK_EQ(arb_explorer_chain_series(h, 0, &limit, iv, df), 0);
}

int main(void)
{
    test_difficulty();
    test_series();
    return arb_test_done();
}
