/* Base58 / Base58Check, bech32m and address codecs: known answers from
 * Bitcoin Core's base58 tests and BIP350, round trips, and rejections. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "merkle/buf.h"
#include "tests/test.h"
#include "wallet/address.h"
#include "wallet/base58.h"
#include "wallet/bech32m.h"

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

/* BIP350 test vectors from the shared vectors file. */
static void test_bech32m_vectors(void)
{
    size_t len = 0, i;
    uint8_t *raw = arb_test_read_vector("chain/bech32_bech32m_segwit_vectors.json", &len);
    json_t *root, *valid, *invalid, *v;
    json_error_t jerr;

    CHECK(raw != NULL);
    root = json_loadb((const char *)raw, len, 0, &jerr);
    free(raw);
    CHECK(root != NULL);
    valid = json_object_get(root, "bech32m_valid");
    invalid = json_object_get(root, "bech32m_invalid");
    CHECK(json_is_array(valid) && json_array_size(valid) >= 7);
    CHECK(json_is_array(invalid) && json_array_size(invalid) >= 10);
    json_array_foreach(valid, i, v) {
        const char *s = json_string_value(v);
        char hrp[84], enc[100], lower[100];
        uint8_t d[90];
        size_t n = 0, k;
        CHECK(s != NULL);
        CHECK_EQ(arb_bech32m_decode(hrp, sizeof(hrp), d, sizeof(d), &n, s), ARB_OK);
        CHECK_EQ(arb_bech32m_encode(enc, sizeof(enc), hrp, d, n), ARB_OK);
        for (k = 0; s[k] != '\0'; k++)
            lower[k] = (s[k] >= 'A' && s[k] <= 'Z') ? (char)(s[k] - 'A' + 'a') : s[k];
        lower[k] = '\0';
        CHECK_STR(enc, lower);
    }
    json_array_foreach(invalid, i, v) {
        const char *s = json_string_value(json_object_get(v, "string"));
        char hrp[84];
        uint8_t d[90];
        size_t n = 0;
        CHECK(s != NULL);
        CHECK(arb_bech32m_decode(hrp, sizeof(hrp), d, sizeof(d), &n, s) != ARB_OK);
    }
    json_decref(root);
}

/* The BIP86 test vector's first receive address,
 * bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr, is bech32m of
 * witness version 1 followed by the output key: check our encoder on it. */
static void test_bech32m_bip86_address(void)
{
    uint8_t key[32], d5[60];
    size_t n = 0;
    char out[100];

    CHECK(arb_hex_decode(key, 32, "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
                         64));
    d5[0] = 1;
    CHECK(arb_bech32_convert_bits(d5 + 1, sizeof(d5) - 1, &n, 5, key, 32, 8, 1));
    CHECK_EQ(arb_bech32m_encode(out, sizeof(out), "bc", d5, n + 1), ARB_OK);
    CHECK_STR(out, "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr");
}

static void test_address_roundtrip(void)
{
    unsigned long count = arb_test_count(200), it;
    static const char *const nets[] = {"main", "test", "regtest"};

    CHECK(arb_wallet_network_hrp("nope") == NULL);
    for (it = 0; it < count; it++) {
        uint8_t key[32], back[32];
        char addr[ARB_ADDRESS_MAX];
        const char *hrp = arb_wallet_network_hrp(nets[it % 3]);
        size_t i, len;
        arb_test_rand_bytes(key, 32);
        CHECK_EQ(arb_wallet_address_encode(addr, sizeof(addr), hrp, key), ARB_OK);
        CHECK(strncmp(addr, hrp, strlen(hrp)) == 0 && addr[strlen(hrp)] == '1');
        CHECK_EQ(arb_wallet_address_decode(back, hrp, addr), ARB_OK);
        CHECK_MEM(back, key, 32);
        /* Another network's address is refused. */
        CHECK_EQ(arb_wallet_address_decode(back, arb_wallet_network_hrp(nets[(it + 1) % 3]), addr),
                 ARB_ERR_PARSE);
        /* Every single-character substitution breaks the checksum (BCH code). */
        len = strlen(addr);
        i = strlen(hrp) + 1 + (size_t)arb_test_rand_below(len - strlen(hrp) - 1);
        addr[i] = addr[i] == 'q' ? 'p' : 'q';
        CHECK(arb_wallet_address_decode(back, hrp, addr) != ARB_OK);
    }
}

int main(void)
{
    arb_test_seed_init();
    test_base58_known();
    test_base58_reject();
    test_base58_random();
    test_bech32m_vectors();
    test_bech32m_bip86_address();
    test_address_roundtrip();
    return arb_test_done();
}
