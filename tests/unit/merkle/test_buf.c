/* Buffers, cursors, CompactSize, hex and base64: round trips and the
 * rejection of non-canonical encodings. */
#include <stdlib.h>

#include "merkle/buf.h"
#include "tests/test.h"

static void test_compact(void)
{
    static const uint64_t vals[] = {0, 1, 0xfc, 0xfd, 0xffff, 0x10000, 0xffffffffu, 0x100000000ull,
                                    UINT64_MAX};
    static const size_t sizes[] = {1, 1, 1, 3, 3, 5, 5, 9, 9};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        arb_buf b = ARB_BUF_INIT;
        uint64_t v = 0;
        CHECK(arb_buf_compact(&b, vals[i]));
        CHECK_EQ(b.len, sizes[i]);
        arb_cur c = arb_cur_make(b.data, b.len);
        CHECK(arb_cur_compact(&c, &v));
        CHECK_EQ(c.len, 0);
        CHECK(v == vals[i]);
        arb_buf_free(&b);
    }
    /* Non-minimal encodings are rejected and the cursor does not move. */
    static const uint8_t bad1[] = {0xfd, 0xfc, 0x00};
    static const uint8_t bad2[] = {0xfe, 0xff, 0xff, 0x00, 0x00};
    static const uint8_t bad3[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    static const uint8_t shortv[] = {0xfd, 0x01};
    uint64_t v;
    arb_cur c = arb_cur_make(bad1, sizeof bad1);
    CHECK(!arb_cur_compact(&c, &v));
    CHECK_EQ(c.len, sizeof bad1);
    c = arb_cur_make(bad2, sizeof bad2);
    CHECK(!arb_cur_compact(&c, &v));
    c = arb_cur_make(bad3, sizeof bad3);
    CHECK(!arb_cur_compact(&c, &v));
    c = arb_cur_make(shortv, sizeof shortv);
    CHECK(!arb_cur_compact(&c, &v));
}

static void test_ints(void)
{
    arb_buf b = ARB_BUF_INIT;
    uint16_t a16;
    uint32_t a24, a32;
    uint64_t a64;
    static const uint8_t want[] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0x78, 0x56, 0x34, 0x12,
                                   0, 0, 0, 0, 0, 0, 0, 1, 0x02};

    arb_buf_u16be(&b, 0x1234);
    arb_buf_u24be(&b, 0x56789a);
    arb_buf_u32le(&b, 0x12345678);
    arb_buf_u64be(&b, 1);
    arb_buf_u8(&b, 2);
    CHECK(!b.oom);
    CHECK_EQ(b.len, sizeof want);
    CHECK_MEM(b.data, want, sizeof want);
    arb_cur c = arb_cur_make(b.data, b.len);
    CHECK(arb_cur_u16be(&c, &a16) && a16 == 0x1234);
    CHECK(arb_cur_u24be(&c, &a24) && a24 == 0x56789a);
    CHECK(arb_cur_u32le(&c, &a32) && a32 == 0x12345678);
    CHECK(arb_cur_u64be(&c, &a64) && a64 == 1);
    CHECK(!arb_cur_u16be(&c, &a16));
    CHECK_EQ(c.len, 1);
    arb_buf_free(&b);

    static const uint8_t vec[] = {0x00, 0x03, 'a', 'b', 'c', 0x00, 0x05, 'x'};
    const uint8_t *p;
    size_t n;
    c = arb_cur_make(vec, sizeof vec);
    CHECK(arb_cur_tls_vec(&c, 2, &p, &n) && n == 3 && p[0] == 'a');
    CHECK(!arb_cur_tls_vec(&c, 2, &p, &n));
    CHECK_EQ(c.len, 3);
}

static void test_hex(void)
{
    uint8_t raw[4] = {0xde, 0xad, 0xbe, 0xef}, back[4];
    char hex[9];
    arb_hex_encode(hex, raw, 4);
    CHECK_STR(hex, "deadbeef");
    CHECK(arb_hex_decode(back, 4, "DEADbeef", 8));
    CHECK_MEM(back, raw, 4);
    CHECK(!arb_hex_decode(back, 4, "deadbee", 7));
    CHECK(!arb_hex_decode(back, 4, "deadbeeg", 8));
    uint8_t *p;
    size_t n;
    CHECK(arb_hex_decode_alloc(&p, &n, "00ff") == ARB_OK && n == 2 && p[1] == 0xff);
    free(p);
    CHECK(arb_hex_decode_alloc(&p, &n, "0") == ARB_ERR_PARSE && p == NULL);
}

static void test_base64(void)
{
    static const char *cases[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                     {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = arb_base64_encode((const uint8_t *)cases[i][0], strlen(cases[i][0]));
        CHECK_STR(e, cases[i][1]);
        free(e);
        uint8_t *d;
        size_t n;
        CHECK(arb_base64_decode(&d, &n, cases[i][1], strlen(cases[i][1])) == ARB_OK);
        CHECK_EQ(n, strlen(cases[i][0]));
        CHECK_MEM(d, cases[i][0], n);
        free(d);
    }
    static const char *bad[] = {"Zg=", "Zg", "Z===", "Zm9v\n", "Zh==", "Zm9=", "Zm 9", "=Zm9",
                                "Zg==Zg==", "Zm9v*m9vYmFy", "Zm9vYm-yZm9v", "Zm9vYmFy\x80m9v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *d = (uint8_t *)1;
        size_t n = 7;
        CHECK(arb_base64_decode(&d, &n, bad[i], strlen(bad[i])) == ARB_ERR_PARSE);
        CHECK(d == NULL && n == 0);
    }
    /* Random round trips. */
    for (int i = 0; i < 200; i++) {
        uint8_t raw[64], *d;
        size_t len = arb_test_rand_below(64), n;
        arb_test_rand_bytes(raw, len);
        char *e = arb_base64_encode(raw, len);
        CHECK(e != NULL);
        CHECK(arb_base64_decode(&d, &n, e, strlen(e)) == ARB_OK);
        CHECK(n == len && memcmp(d, raw, len) == 0);
        free(d);
        /* Appending to a buffer gives the same text. */
        {
            arb_buf b = ARB_BUF_INIT;
            arb_buf_put(&b, "x", 1);
            CHECK(arb_buf_base64(&b, raw, len));
            CHECK(b.len == 1 + strlen(e) && memcmp(b.data + 1, e, strlen(e)) == 0);
            arb_buf_free(&b);
        }
        free(e);
    }
}

static void test_errors(void)
{
    arb_errbuf eb;
    CHECK(arb_errf(&eb, ARB_ERR_PARSE, "bad %d", 7) == ARB_ERR_PARSE);
    CHECK_STR(eb.msg, "bad 7");
    CHECK_STR(arb_err_str(ARB_OK), "ok");
    CHECK_STR(arb_err_str((arb_err)999), "unknown error");
    for (int e = 0; e < ARB_ERR__COUNT; e++)
        CHECK(strcmp(arb_err_str((arb_err)e), "unknown error") != 0);
}

int main(void)
{
    arb_test_seed_init();
    test_compact();
    test_ints();
    test_hex();
    test_base64();
    test_errors();
    return arb_test_done();
}
