/* arbord's --log-* options: times (RFC 3339 or Unix seconds, expected values
 * computed with GNU date), limits, and usage errors. */
#include <stdint.h>
#include <string.h>

#include "ledger/config.h"
#include "tests/test.h"

static arb_err parse2(arb_config *c, const char *opt, const char *val)
{
    char *argv[] = {"arbord", (char *)opt, (char *)val, NULL};
    arb_errbuf eb;
    return arb_config_parse(c, 3, argv, &eb);
}

static void check_time(const char *text, int64_t want)
{
    arb_config c;
    CHECK_EQ(parse2(&c, "--log-not-after-start", text), ARB_OK);
    CHECK_EQ(c.log_not_after_start, want);
    CHECK_EQ(c.log_not_after_end, INT64_MAX); /* open-ended */
    arb_config_free(&c);
}

static void check_bad(const char *opt, const char *val)
{
    arb_config c;
    CHECK_EQ(parse2(&c, opt, val), ARB_ERR_INVALID_ARG);
}

static void test_flags(void)
{
    arb_config c;
    char *argv[] = {"arbord", "--log-origin=ct.example.org/2026h2", "--log-pool-ms", "5",
                    "--log-max-chain", "4", "--log-max-body", "2048", "--log-max-entries",
                    "1000", "--log-not-after-end", "1782864000", "--log-max-cert", "4096", NULL};
    arb_errbuf eb;

    /* date -u -d ... +%s */
    check_time("2026-01-01T00:00:00Z", 1767225600);
    check_time("2026-07-01T05:30:00+05:30", 1782864000);
    check_time("2024-02-29T23:59:59.75Z", 1709251199);
    check_time("1969-12-31T23:00:00Z", -3600);
    check_time("1767225600", 1767225600);

    CHECK_EQ(arb_config_parse(&c, 14, argv, &eb), ARB_OK);
    CHECK_STR(c.log_origin, "ct.example.org/2026h2");
    CHECK_EQ(c.log_pool_ms, 5);
    CHECK_EQ(c.log_max_chain, 4);
    CHECK_EQ(c.log_max_cert, 4096);
    CHECK_EQ(c.log_max_body, 2048);
    CHECK_EQ(c.log_max_entries, 1000);
    CHECK_EQ(c.log_not_after_start, 0);
    CHECK_EQ(c.log_not_after_end, 1782864000);
    arb_config_free(&c);

    check_bad("--log-not-after-start", "2025-02-29T00:00:00Z");
    check_bad("--log-not-after-start", "2026-01-01 00:00:00Z");
    check_bad("--log-not-after-start", "2026-01-01T00:00:00");
    check_bad("--log-not-after-end", "12abc");
    check_bad("--log-pool-ms", "60001");
    /* The pool window must be below the answer timeout. */
    check_bad("--log-pool-ms", "30000");
    check_bad("--log-pool-ms", "4294967296");
    {
        char *pool_argv[] = {"arbord", "--log-pool-ms", "30000", NULL};
        CHECK_EQ(arb_config_parse(&c, 3, pool_argv, &eb), ARB_ERR_INVALID_ARG);
        CHECK(strstr(eb.msg, "answer timeout") != NULL);
    }
    CHECK_EQ(parse2(&c, "--log-pool-ms", "29999"), ARB_OK);
    CHECK_EQ(c.log_pool_ms, 29999);
    arb_config_free(&c);
    check_bad("--log-max-cert", "255");
    check_bad("--log-max-cert", "16777217");
    check_bad("--log-max-chain", "0");
    check_bad("--log-max-body", "1023");
    check_bad("--log-max-entries", "+5");
    check_bad("--log-origin", "");

    /* 0 is group commit (the default), the extremes of the ranges are accepted. */
    CHECK_EQ(parse2(&c, "--log-pool-ms", "0"), ARB_OK);
    CHECK_EQ(c.log_pool_ms, 0);
    arb_config_free(&c);
    /* the store's block cache (docs/store.md): MiB, 8..1048576, 0 (unset) is the default */
    CHECK_EQ(c.store_cache_mb, 0);
    CHECK_EQ(parse2(&c, "--store-cache-mb", "512"), ARB_OK);
    CHECK_EQ(c.store_cache_mb, 512);
    arb_config_free(&c);
    check_bad("--store-cache-mb", "7");
    check_bad("--store-cache-mb", "1048577");
    /* the chain state's coins cache (docs/ledger.md): MiB, 1..1048576, 0 (unset) is 128 */
    CHECK_EQ(parse2(&c, "--store-cache-mb", "512"), ARB_OK);
    CHECK_EQ(c.chain_cache_mb, 0);
    arb_config_free(&c);
    CHECK_EQ(parse2(&c, "--chain-cache-mb", "64"), ARB_OK);
    CHECK_EQ(c.chain_cache_mb, 64);
    arb_config_free(&c);
    check_bad("--chain-cache-mb", "0");
    check_bad("--chain-cache-mb", "1048577");
    check_bad("--store-cache-mb", "1g");
    CHECK_EQ(parse2(&c, "--log-max-cert", "16777216"), ARB_OK);
    CHECK_EQ(c.log_max_cert, 16777216);
    arb_config_free(&c);
    CHECK_EQ(parse2(&c, "--log-max-cert", "256"), ARB_OK);
    CHECK_EQ(c.log_max_cert, 256);
    arb_config_free(&c);
}

int main(void)
{
    test_flags();
    return arb_test_done();
}
