/* BIP39: the embedded word list is the published English list (its SHA-256),
 * and every English row of the trezor/python-mnemonic vectors gives the
 * expected mnemonic, seed (passphrase "TREZOR") and BIP32 root key. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "merkle/buf.h"
#include "tests/test.h"
#include "wallet/bip32.h"
#include "wallet/bip39.h"

/* SHA-256 of bitcoin/bips bip-0039/english.txt (one word per line, LF), the
 * value other BIP39 implementations pin as well. */
#define ENGLISH_SHA256 "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"

static void test_wordlist(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t h[32];
    char hex[65];
    unsigned i, n = 0;

    CHECK(md != NULL);
    CHECK(EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1);
    for (i = 0; i < ARB_BIP39_WORDS; i++) {
        const char *w = arb_bip39_word(i);
        CHECK(w != NULL);
        CHECK(EVP_DigestUpdate(md, w, strlen(w)) == 1);
        CHECK(EVP_DigestUpdate(md, "\n", 1) == 1);
        CHECK_EQ(arb_bip39_word_index(w, strlen(w)), (int)i);
    }
    CHECK(EVP_DigestFinal_ex(md, h, &n) == 1);
    EVP_MD_CTX_free(md);
    arb_hex_encode(hex, h, 32);
    CHECK_STR(hex, ENGLISH_SHA256);
    CHECK(arb_bip39_word(2048) == NULL);
    CHECK_EQ(arb_bip39_word_index("abando", 6), -1);
    CHECK_EQ(arb_bip39_word_index("abandons", 8), -1);
    CHECK_EQ(arb_bip39_word_index("", 0), -1);
    CHECK_EQ(arb_bip39_word_index("zoo", 3), 2047);
}

static void test_vectors(void)
{
    size_t len = 0, i;
    uint8_t *raw = arb_test_read_vector("chain/bip39_vectors.json", &len);
    json_t *root, *rows, *row;
    json_error_t jerr;
    arb_keyctx *ctx = NULL;

    CHECK(raw != NULL);
    root = json_loadb((const char *)raw, len, 0, &jerr);
    free(raw);
    CHECK(root != NULL);
    rows = json_object_get(root, "english");
    CHECK(json_is_array(rows) && json_array_size(rows) == 24);
    CHECK_EQ(arb_keyctx_new(&ctx), ARB_OK);
    json_array_foreach(rows, i, row) {
        const char *ent_hex = json_string_value(json_array_get(row, 0));
        const char *words = json_string_value(json_array_get(row, 1));
        const char *seed_hex = json_string_value(json_array_get(row, 2));
        const char *xprv = json_string_value(json_array_get(row, 3));
        uint8_t ent[32], back[32], seed[64], want_seed[64];
        size_t ent_len, back_len = 0;
        char mn[ARB_BIP39_MNEMONIC_MAX], enc[ARB_BIP32_XKEY_MAX];
        arb_bip32_key root_key;
        CHECK(ent_hex && words && seed_hex && xprv);
        ent_len = strlen(ent_hex) / 2;
        CHECK(arb_hex_decode(ent, ent_len, ent_hex, strlen(ent_hex)));
        CHECK(arb_hex_decode(want_seed, 64, seed_hex, strlen(seed_hex)));
        CHECK_EQ(arb_bip39_from_entropy(mn, sizeof(mn), ent, ent_len), ARB_OK);
        CHECK_STR(mn, words);
        CHECK_EQ(arb_bip39_to_entropy(back, &back_len, words, NULL), ARB_OK);
        CHECK_EQ(back_len, ent_len);
        CHECK_MEM(back, ent, ent_len);
        CHECK_EQ(arb_bip39_seed(seed, mn, "TREZOR"), ARB_OK);
        CHECK_MEM(seed, want_seed, 64);
        CHECK_EQ(arb_bip32_from_seed(ctx, &root_key, seed, 64), ARB_OK);
        CHECK_EQ(arb_bip32_encode(enc, sizeof(enc), &root_key, ARB_BIP32_MAINNET), ARB_OK);
        CHECK_STR(enc, xprv);
    }
    arb_keyctx_free(ctx);
    json_decref(root);
}

static void test_reject(void)
{
    uint8_t ent[32], seed[64];
    size_t n = 7;
    arb_errbuf eb;
    const char *good = "legal winner thank year wave sausage worth useful legal winner thank yellow";

    CHECK_EQ(arb_bip39_to_entropy(ent, &n, good, &eb), ARB_OK);
    CHECK_EQ(n, 16);
    /* Any whitespace, upper case. */
    CHECK_EQ(arb_bip39_to_entropy(ent, &n,
                                  "  LEGAL winner\tthank year\nwave sausage worth useful legal "
                                  "winner thank Yellow \n",
                                  &eb),
             ARB_OK);
    /* Bad checksum: last word changed. */
    CHECK_EQ(arb_bip39_to_entropy(ent, &n,
                                  "legal winner thank year wave sausage worth useful legal winner "
                                  "thank yard",
                                  &eb),
             ARB_ERR_VERIFY);
    CHECK_EQ(n, 0);
    /* Unknown word. */
    CHECK_EQ(arb_bip39_to_entropy(ent, &n,
                                  "legal winner thank year wave sausage worth useful legal winner "
                                  "thank yellowish",
                                  &eb),
             ARB_ERR_PARSE);
    CHECK_EQ(arb_bip39_to_entropy(ent, &n,
                                  "legal winner thank year wave sausage worth useful legal winner "
                                  "thank yelow",
                                  &eb),
             ARB_ERR_PARSE);
    /* Word counts. */
    CHECK_EQ(arb_bip39_to_entropy(ent, &n, "", &eb), ARB_ERR_PARSE);
    CHECK_EQ(arb_bip39_to_entropy(ent, &n,
                                  "legal winner thank year wave sausage worth useful legal winner "
                                  "thank",
                                  &eb),
             ARB_ERR_PARSE);
    CHECK_EQ(arb_bip39_to_entropy(ent, &n,
                                  "abandon abandon abandon abandon abandon abandon abandon abandon "
                                  "abandon abandon abandon abandon abandon about",
                                  &eb),
             ARB_ERR_PARSE);
    CHECK_EQ(arb_bip39_to_entropy(ent, &n,
                                  "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
                                  "zoo zoo zoo zoo zoo zoo zoo vote zoo",
                                  &eb),
             ARB_ERR_PARSE);
    /* Non-ASCII text would need NFKD: refused. */
    CHECK_EQ(arb_bip39_seed(seed, good, "p\xc3\xa4ss"), ARB_ERR_INVALID_ARG);
    /* Entropy sizes. */
    {
        char mn[ARB_BIP39_MNEMONIC_MAX];
        CHECK_EQ(arb_bip39_from_entropy(mn, sizeof(mn), ent, 15), ARB_ERR_INVALID_ARG);
        CHECK_EQ(arb_bip39_from_entropy(mn, sizeof(mn), ent, 33), ARB_ERR_INVALID_ARG);
        CHECK_EQ(arb_bip39_from_entropy(mn, sizeof(mn), ent, 18), ARB_ERR_INVALID_ARG);
    }
}

/* Random entropy of every size round-trips; one changed word is caught by
 * the checksum unless the change happens to keep it (about 1 in 2^(ENT/32)). */
static void test_random(void)
{
    unsigned long count = arb_test_count(300), it, caught = 0, tries = 0;

    for (it = 0; it < count; it++) {
        uint8_t ent[32], back[32];
        size_t ent_len = 16 + 4 * (size_t)arb_test_rand_below(5), n = 0;
        char mn[ARB_BIP39_MNEMONIC_MAX];
        char *sp;
        arb_test_rand_bytes(ent, ent_len);
        CHECK_EQ(arb_bip39_from_entropy(mn, sizeof(mn), ent, ent_len), ARB_OK);
        CHECK_EQ(arb_bip39_to_entropy(back, &n, mn, NULL), ARB_OK);
        CHECK_EQ(n, ent_len);
        CHECK_MEM(back, ent, ent_len);
        /* Replace the first word by "zoo" or "abandon" to perturb the bits. */
        sp = strchr(mn, ' ');
        CHECK(sp != NULL);
        {
            char alt[ARB_BIP39_MNEMONIC_MAX + 8];
            const char *w = strncmp(mn, "zoo ", 4) == 0 ? "abandon" : "zoo";
            snprintf(alt, sizeof(alt), "%s%s", w, sp);
            tries++;
            if (arb_bip39_to_entropy(back, &n, alt, NULL) == ARB_ERR_VERIFY)
                caught++;
        }
    }
    /* At 4..8 checksum bits, well over half must be caught. */
    CHECK(caught * 2 > tries);
}

int main(void)
{
    arb_test_seed_init();
    test_wordlist();
    test_vectors();
    test_reject();
    test_random();
    return arb_test_done();
}
