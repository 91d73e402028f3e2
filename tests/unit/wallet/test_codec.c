/* Base58 / Base58Check (known answers from Bitcoin Core's base58 tests, round
 * trips, rejections) and the wallet's networks and addresses. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "merkle/buf.h"
#include "tests/test.h"
#include "wallet/address.h"
#include "wallet/base58.h"

/* Bitcoin Core src/test/data/base58_encode_decode.json and the Base58Check
 * column of bitcore's base58 tests: hex, base58, base58check. */
static const char *const B58[][3] = {
    {"", "", "3QJmnh"},
    {"61", "2g", "C2dGTwc"},
    {"626262", "a3gV", "4jF5uERJAK"},
    {"636363", "aPEr", "4mT4krqUYJ"},
    {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2",
     "BXF1HuEUCqeVzZdrKeJjG74rjeXxqJ7dW"},
    {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L",
     "13REmUhe2ckUKy1FvM7AMCdtyYq831yxM3QeyEu4"},
    {"516b6fcd0f", "ABnLTmg", "237LSrY9NUUas"},
    {"bf4f89001e670274dd", "3SEo3LWLoPntC", "GwDDDeduj1jpykc27e"},
    {"572e4794", "3EFU7m", "FamExfqCeza"},
    {"ecac89cad93923c02321", "EJDM8drfXA6uyA", "2W1Yd5Zu6WGyKVtHGMrH"},
    {"10c8511e", "Rt5zm", "3op3iuGMmhs"},
    {"00000000000000000000", "1111111111", "111111111146Momb"},
};

static void test_base58_known(void)
{
    size_t i;

    for (i = 0; i < sizeof(B58) / sizeof(B58[0]); i++) {
        uint8_t bin[64], back[64];
        size_t n = strlen(B58[i][0]) / 2, m = 0;
        char enc[200];
        CHECK(arb_hex_decode(bin, n, B58[i][0], strlen(B58[i][0])));
        CHECK_EQ(arb_base58_encode(enc, sizeof(enc), bin, n), ARB_OK);
        CHECK_STR(enc, B58[i][1]);
        CHECK_EQ(arb_base58_decode(back, sizeof(back), &m, B58[i][1], strlen(B58[i][1])), ARB_OK);
        CHECK_EQ(m, n);
        CHECK(n == 0 || memcmp(back, bin, n) == 0);
        CHECK_EQ(arb_base58check_encode(enc, sizeof(enc), bin, n), ARB_OK);
        CHECK_STR(enc, B58[i][2]);
        CHECK_EQ(arb_base58check_decode(back, sizeof(back), &m, B58[i][2], strlen(B58[i][2])),
                 ARB_OK);
        CHECK_EQ(m, n);
        CHECK(n == 0 || memcmp(back, bin, n) == 0);
    }
}

static void test_base58_reject(void)
{
    static const char *const bad[] = {"0", "O", "I", "l", "3mJr0", "O3yxU", "3sNI", "4kl8",
                                      "0OIl", "ab cd", "+"};
    uint8_t out[64];
    size_t i, n = 99;
    char s[64];

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(arb_base58_decode(out, sizeof(out), &n, bad[i], strlen(bad[i])), ARB_ERR_PARSE);
        CHECK_EQ(n, 0);
    }
    /* An embedded NUL is not a base58 character. */
    CHECK_EQ(arb_base58_decode(out, sizeof(out), &n, "2g\0", 3), ARB_ERR_PARSE);
    /* Output too small. */
    CHECK_EQ(arb_base58_decode(out, 2, &n, "a3gV", 4), ARB_ERR_PARSE);
    CHECK_EQ(arb_base58_encode(s, 3, (const uint8_t *)"bbb", 3), ARB_ERR_INVALID_ARG);
    /* Base58Check: shorter than a checksum, and every single-character change. */
    CHECK_EQ(arb_base58check_decode(out, sizeof(out), &n, "2g", 2), ARB_ERR_PARSE);
    for (i = 0; i < sizeof(B58) / sizeof(B58[0]); i++) {
        size_t len = strlen(B58[i][2]), j;
        for (j = 0; j < len; j++) {
            arb_err e;
            memcpy(s, B58[i][2], len + 1);
            s[j] = s[j] == 'z' ? 'y' : 'z';
            e = arb_base58check_decode(out, sizeof(out), &n, s, len);
            CHECK(e == ARB_ERR_VERIFY || e == ARB_ERR_PARSE);
            CHECK_EQ(n, 0);
        }
    }
}

/* A second, independent Base58 encoder: OpenSSL big numbers divided by 58
 * until zero, one '1' per leading zero byte. */
static int bn_base58(char *out, size_t out_size, const uint8_t *in, size_t len)
{
    static const char A[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    BIGNUM *bn = BN_bin2bn(in, (int)len, NULL);
    char tmp[2048];
    size_t n = 0, z = 0, i;

    if (bn == NULL)
        return 0;
    while (!BN_is_zero(bn) && n < sizeof(tmp)) {
        BN_ULONG r = BN_div_word(bn, 58);
        tmp[n++] = A[r];
    }
    BN_free(bn);
    while (z < len && in[z] == 0)
        z++;
    if (z + n + 1 > out_size)
        return 0;
    for (i = 0; i < z; i++)
        out[i] = '1';
    for (i = 0; i < n; i++)
        out[z + i] = tmp[n - 1 - i];
    out[z + n] = '\0';
    return 1;
}

static void test_base58_reference(void)
{
    unsigned long count = arb_test_count(500), it;

    for (it = 0; it < count; it++) {
        uint8_t in[200];
        char a[400], b[400];
        size_t n = (size_t)arb_test_rand_below(sizeof(in) + 1), z, i;
        arb_test_rand_bytes(in, n);
        z = (size_t)arb_test_rand_below(6);
        for (i = 0; i < z && i < n; i++)
            in[i] = 0;
        if (n > 0 && arb_test_rand_below(4) == 0)
            in[n - 1] = 0; /* trailing zeros too */
        CHECK_EQ(arb_base58_encode(a, sizeof(a), in, n), ARB_OK);
        CHECK(bn_base58(b, sizeof(b), in, n));
        CHECK_STR(a, b);
    }
}

static void test_base58_random(void)
{
    unsigned long count = arb_test_count(300), it;

    for (it = 0; it < count; it++) {
        uint8_t in[100], back[110];
        char enc[200];
        size_t n = (size_t)arb_test_rand_below(sizeof(in) + 1), m = 0, z, i;
        arb_test_rand_bytes(in, n);
        z = (size_t)arb_test_rand_below(4);
        for (i = 0; i < z && i < n; i++)
            in[i] = 0;
        CHECK_EQ(arb_base58check_encode(enc, sizeof(enc), in, n), ARB_OK);
        CHECK_EQ(arb_base58check_decode(back, sizeof(back), &m, enc, strlen(enc)), ARB_OK);
        CHECK_EQ(m, n);
        CHECK(n == 0 || memcmp(in, back, n) == 0);
        /* Leading zero bytes and leading '1's correspond one to one. */
        for (i = 0; i < n && in[i] == 0; i++)
            CHECK(enc[i] == '1');
        CHECK(enc[i] != '1');
    }
}

/* arbor addresses are written like Taproot addresses, so the BIP86 test
 * vector's first receive address (output key a60869f0...) must come out of
 * the same encoder with the hrp "bc" and, under "rarb", decode to the key. */
static void test_bip86_address(void)
{
    uint8_t key[32], back[32];
    char out[ARB_ADDR_MAX];
    arb_errbuf eb;

    CHECK(arb_hex_decode(key, 32, "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
                         64));
    CHECK(arb_address_encode(out, "bc", key));
    CHECK_STR(out, "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr");
    CHECK_EQ(arb_address_decode(back, "bc", out, &eb), ARB_OK);
    CHECK_MEM(back, key, 32);
}

static void test_address_roundtrip(void)
{
    unsigned long count = arb_test_count(200), it;
    static const char *const nets[] = {"main", "test", "regtest"};

    CHECK(arb_wallet_network_hrp("nope") == NULL);
    CHECK(arb_wallet_network_hrp("bitcoin") == NULL);
    CHECK_STR(arb_wallet_network_hrp("main"), "arb");
    CHECK_STR(arb_wallet_network_hrp("test"), "tarb");
    CHECK_STR(arb_wallet_network_hrp("regtest"), "rarb");
    for (it = 0; it < count; it++) {
        uint8_t key[32], back[32];
        char addr[ARB_ADDR_MAX];
        arb_errbuf eb;
        const char *hrp = arb_wallet_network_hrp(nets[it % 3]);
        size_t i, len;
        arb_test_rand_bytes(key, 32);
        CHECK(hrp != NULL);
        CHECK(arb_address_encode(addr, hrp, key));
        CHECK(strncmp(addr, hrp, strlen(hrp)) == 0 && addr[strlen(hrp)] == '1');
        CHECK_EQ(arb_address_decode(back, hrp, addr, &eb), ARB_OK);
        CHECK_MEM(back, key, 32);
        /* Another network's address is refused. */
        CHECK_EQ(arb_address_decode(back, arb_wallet_network_hrp(nets[(it + 1) % 3]), addr, &eb),
                 ARB_ERR_PARSE);
        /* Every single-character substitution breaks the checksum (BCH code). */
        len = strlen(addr);
        i = strlen(hrp) + 1 + (size_t)arb_test_rand_below(len - strlen(hrp) - 1);
        addr[i] = addr[i] == 'q' ? 'p' : 'q';
        CHECK(arb_address_decode(back, hrp, addr, &eb) != ARB_OK);
    }
}

int main(void)
{
    arb_test_seed_init();
    test_base58_known();
    test_base58_reject();
    test_base58_random();
    test_base58_reference();
    test_bip86_address();
    test_address_roundtrip();
    return arb_test_done();
}
