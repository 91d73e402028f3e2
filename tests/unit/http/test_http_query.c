/* Query-string decoding: known cases, and random strings encoded by an
 * independent encoder in this file must decode back to themselves. */
#include <stdlib.h>
#include <string.h>

#include "ledger/api/http_internal.h"
#include "tests/test.h"

static void test_known(void)
{
    char out[64];
    size_t n;
    CHECK(arb_http_pct_decode(out, &n, "a%20b%2Bc+d%2f", 14));
    CHECK_STR(out, "a b+c d/");
    CHECK_EQ(n, 8);
    CHECK(arb_http_pct_decode(out, &n, "", 0));
    CHECK_EQ(n, 0);
    CHECK(!arb_http_pct_decode(out, &n, "%", 1));
    CHECK(!arb_http_pct_decode(out, &n, "%4", 2));
    CHECK(!arb_http_pct_decode(out, &n, "%4g", 3));
    CHECK(!arb_http_pct_decode(out, &n, "a%00b", 5));
    CHECK_STR(out, "");
    CHECK(arb_http_pct_decode(out, &n, "%e2%82%AC", 9));
    CHECK_STR(out, "\xe2\x82\xac");
}

static void test_parse(void)
{
    arb_http_query q = {NULL, 0};
    const char *raw = "a=1&b=x%3Dy%26z&&flag&a=2&=empty&c=";
    CHECK(arb_http_query_parse(&q, raw, strlen(raw)) == ARB_OK);
    CHECK_EQ(q.n, 6);
    CHECK_STR(arb_http_query_get(&q, "a"), "1"); /* the first one wins */
    CHECK_STR(arb_http_query_get(&q, "b"), "x=y&z");
    CHECK_STR(arb_http_query_get(&q, "flag"), "");
    CHECK_STR(arb_http_query_get(&q, ""), "empty");
    CHECK_STR(arb_http_query_get(&q, "c"), "");
    CHECK(arb_http_query_get(&q, "d") == NULL);
    arb_http_query_clear(&q);
    CHECK(arb_http_query_parse(&q, "a=%zz", 5) == ARB_ERR_PARSE);
    CHECK_EQ(q.n, 0);
    /* The cap on parameters. */
    {
        char big[ARB_HTTP_MAX_QUERY_PARAMS * 4 + 8];
        size_t n = 0;
        for (int i = 0; i <= ARB_HTTP_MAX_QUERY_PARAMS; i++)
            n += (size_t)snprintf(big + n, sizeof big - n, "x&");
        CHECK(arb_http_query_parse(&q, big, n) == ARB_ERR_PARSE);
        CHECK_EQ(q.n, 0);
    }
    /* Pieces already decoded by the HTTP parser split at the first '='. */
    CHECK(arb_http_query_add_decoded(&q, "k=v=w", 5) == ARB_OK);
    CHECK(arb_http_query_add_decoded(&q, "solo", 4) == ARB_OK);
    CHECK(arb_http_query_add_decoded(&q, "n\0ul", 4) == ARB_ERR_PARSE);
    CHECK_STR(arb_http_query_get(&q, "k"), "v=w");
    CHECK_STR(arb_http_query_get(&q, "solo"), "");
    arb_http_query_clear(&q);
}

/* Encodes every byte either as itself (unreserved ones) or as %XX with a
 * random letter case; space sometimes as '+'. */
static size_t encode(char *out, const uint8_t *in, size_t n)
{
    static const char *hexu = "0123456789ABCDEF", *hexl = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        int unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (c == ' ' && arb_test_rand_below(2)) {
            out[o++] = '+';
        } else if (unreserved && arb_test_rand_below(4)) {
            out[o++] = (char)c;
        } else {
            const char *h = arb_test_rand_below(2) ? hexu : hexl;
            out[o++] = '%';
            out[o++] = h[c >> 4];
            out[o++] = h[c & 15];
        }
    }
    return o;
}

static void test_random(void)
{
    unsigned long count = arb_test_count(2000);
    for (unsigned long k = 0; k < count; k++) {
        uint8_t in[64];
        char enc[200], dec[200], raw[400];
        size_t n = (size_t)arb_test_rand_below(sizeof in), dn, rn;
        arb_http_query q = {NULL, 0};
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)(1 + arb_test_rand_below(255));
        size_t en = encode(enc, in, n);
        CHECK(arb_http_pct_decode(dec, &dn, enc, en));
        CHECK_EQ(dn, n);
        CHECK_MEM(dec, in, n);
        /* As a parameter value, even when it holds '&' and '='. */
        rn = (size_t)snprintf(raw, sizeof raw, "x=1&v=%.*s&y=2", (int)en, enc);
        CHECK(arb_http_query_parse(&q, raw, rn) == ARB_OK);
        CHECK_EQ(strlen(arb_http_query_get(&q, "v")), n);
        CHECK_MEM(arb_http_query_get(&q, "v"), in, n);
        CHECK_STR(arb_http_query_get(&q, "y"), "2");
        arb_http_query_clear(&q);
    }
}

int main(void)
{
    arb_test_seed_init();
    test_known();
    test_parse();
    test_random();
    return arb_test_done();
}
