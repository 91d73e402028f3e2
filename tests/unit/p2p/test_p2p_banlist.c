/* The ban list file (p2p/banlist.h): a round trip of random lists up to the
 * limit, every flipped byte and every truncation refused, an extra byte,
 * a zero address, a time <= 0 and a repeated address refused even with a
 * good checksum, over-limit lists refused by the encoder, the file on disk
 * (missing, written, replaced, corrupt), and the address text both ways. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/hash.h"
#include "p2p/banlist.h"
#include "tests/test.h"

static void random_list(arb_ban_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(v[i].ip16, 0, 16);
        v[i].ip16[10] = v[i].ip16[11] = 0xff;
        v[i].ip16[12] = 10;
        v[i].ip16[13] = (uint8_t)(i >> 16);
        v[i].ip16[14] = (uint8_t)(i >> 8);
        v[i].ip16[15] = (uint8_t)i;
        if (arb_test_rand() & 1) /* now and then an IPv6 one */
            arb_test_rand_bytes(v[i].ip16, 10), v[i].ip16[0] = 0x20;
        v[i].until = 1 + (int64_t)arb_test_rand_below(4000000000u);
    }
}

/* Re-signs a file whose bytes the test changed on purpose. */
static void resign(uint8_t *d, size_t len)
{
    arb_sha256 *sha;
    if (arb_sha256_new(&sha) != ARB_OK)
        abort();
    arb_sha256_digest(sha, d + len - 32, d, len - 32);
    arb_sha256_free(sha);
}

static void test_round_trip(void)
{
    static const size_t sizes[] = {0, 1, 2, 17, 1000, ARB_BANLIST_MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s], got_n;
        arb_ban_entry *v = calloc(n ? n : 1, sizeof *v), *got;
        arb_buf b = ARB_BUF_INIT, b2 = ARB_BUF_INIT;
        arb_errbuf eb;
        random_list(v, n);
        CHECK(arb_banlist_encode(&b, v, n) == ARB_OK);
        CHECK_EQ(b.len, 16 + 24 * n + 32);
        CHECK(arb_banlist_decode(&got, &got_n, b.data, b.len, &eb) == ARB_OK);
        CHECK_EQ(got_n, n);
        CHECK(n == 0 ? got == NULL : memcmp(got, v, n * sizeof *v) == 0);
        CHECK(arb_banlist_encode(&b2, got, got_n) == ARB_OK);
        CHECK(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
        free(got);
        arb_buf_free(&b);
        arb_buf_free(&b2);
        free(v);
    }
    {
        arb_ban_entry *v = calloc(ARB_BANLIST_MAX + 1, sizeof *v);
        arb_buf b = ARB_BUF_INIT;
        random_list(v, ARB_BANLIST_MAX + 1);
        CHECK(arb_banlist_encode(&b, v, ARB_BANLIST_MAX + 1) == ARB_ERR_INVALID_ARG);
        arb_buf_free(&b);
        free(v);
    }
}

static void test_corrupt(void)
{
    arb_ban_entry v[3], *got = (arb_ban_entry *)1;
    arb_buf b = ARB_BUF_INIT;
    arb_errbuf eb;
    size_t n = 99;
    uint8_t *d;
    random_list(v, 3);
    CHECK(arb_banlist_encode(&b, v, 3) == ARB_OK);
    d = malloc(b.len + 1);
    for (size_t i = 0; i < b.len; i++) { /* every flipped byte */
        memcpy(d, b.data, b.len);
        d[i] ^= (uint8_t)(1u << (arb_test_rand() % 8));
        CHECK_OR(arb_banlist_decode(&got, &n, d, b.len, &eb) == ARB_ERR_PARSE && got == NULL &&
                     n == 0, );
    }
    for (size_t k = 0; k < b.len; k++) /* every truncation */
        CHECK_OR(arb_banlist_decode(&got, &n, b.data, k, &eb) == ARB_ERR_PARSE && got == NULL, );
    memcpy(d, b.data, b.len);
    d[b.len] = 0;
    CHECK(arb_banlist_decode(&got, &n, d, b.len + 1, &eb) == ARB_ERR_PARSE && got == NULL);
    /* Well signed but wrong inside: version, count, zero address, time,
     * a repeated address. */
    memcpy(d, b.data, b.len);
    d[8] = 2;
    resign(d, b.len);
    CHECK(arb_banlist_decode(&got, &n, d, b.len, &eb) == ARB_ERR_PARSE);
    memcpy(d, b.data, b.len);
    d[12] = 4;
    resign(d, b.len);
    CHECK(arb_banlist_decode(&got, &n, d, b.len, &eb) == ARB_ERR_PARSE);
    memcpy(d, b.data, b.len);
    memset(d + 16 + 24, 0, 16);
    resign(d, b.len);
    CHECK(arb_banlist_decode(&got, &n, d, b.len, &eb) == ARB_ERR_PARSE);
    memcpy(d, b.data, b.len);
    memset(d + 16 + 16, 0, 8);
    resign(d, b.len);
    CHECK(arb_banlist_decode(&got, &n, d, b.len, &eb) == ARB_ERR_PARSE);
    memcpy(d, b.data, b.len);
    memcpy(d + 16 + 48, d + 16, 16);
    resign(d, b.len);
    CHECK(arb_banlist_decode(&got, &n, d, b.len, &eb) == ARB_ERR_PARSE && got == NULL);
    memcpy(d, b.data, b.len); /* the control: re-signing alone changes nothing */
    resign(d, b.len);
    CHECK(arb_banlist_decode(&got, &n, d, b.len, &eb) == ARB_OK && n == 3);
    free(got);
    free(d);
    arb_buf_free(&b);
}

static void test_file(void)
{
    char dir[512], path[600];
    arb_ban_entry v[5], *got;
    arb_errbuf eb;
    size_t n;
    FILE *f;
    CHECK(arb_test_tmpdir(dir, sizeof dir) == 0);
    snprintf(path, sizeof path, "%s/banlist.dat", dir);
    CHECK(arb_banlist_load(path, &got, &n, &eb) == ARB_ERR_NOT_FOUND && got == NULL && n == 0);
    random_list(v, 5);
    CHECK(arb_banlist_save(path, v, 5, &eb) == ARB_OK);
    CHECK(arb_banlist_load(path, &got, &n, &eb) == ARB_OK && n == 5);
    CHECK(got != NULL && memcmp(got, v, sizeof v) == 0);
    free(got);
    CHECK(arb_banlist_save(path, v, 2, &eb) == ARB_OK); /* replaced whole */
    CHECK(arb_banlist_load(path, &got, &n, &eb) == ARB_OK && n == 2);
    free(got);
    CHECK(arb_banlist_save(path, v, 0, &eb) == ARB_OK);
    CHECK(arb_banlist_load(path, &got, &n, &eb) == ARB_OK && n == 0 && got == NULL);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs("ARBBANS1 but not a ban list", f);
        fclose(f);
    }
    CHECK(arb_banlist_load(path, &got, &n, &eb) == ARB_ERR_PARSE && got == NULL);
    arb_test_rmtree(dir);
}

static void test_ip_text(void)
{
    static const char *ok[] = {"127.0.0.5", "10.1.2.3", "::1", "2001:db8::7"};
    uint8_t ip[16];
    char back[64];
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        CHECK(arb_banlist_ip_parse(ip, ok[i]));
        arb_banlist_ip_format(ip, back, sizeof back);
        CHECK_STR(back, ok[i]);
    }
    CHECK(!arb_banlist_ip_parse(ip, "example.org"));
    CHECK(!arb_banlist_ip_parse(ip, "1.2.3.4:80"));
    CHECK(!arb_banlist_ip_parse(ip, ""));
}

int main(void)
{
    arb_test_seed_init();
    test_round_trip();
    test_corrupt();
    test_file();
    test_ip_text();
    return arb_test_done();
}
