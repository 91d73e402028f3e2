/* BIP32: test vectors 1-4 of the BIP (every path, private and public, with
 * public-only derivation where the path allows it), the invalid keys of
 * vector 5, path parsing, and the BIP86 test vectors for the taproot keys. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "merkle/buf.h"
#include "tests/test.h"
#include "wallet/bip32.h"
#include "wallet/bip39.h"

static arb_keyctx *ctx;

static void check_chain(const arb_bip32_key *master, json_t *chain)
{
    const char *path = json_string_value(json_object_get(chain, "path"));
    const char *xpub = json_string_value(json_object_get(chain, "ext_pub"));
    const char *xprv = json_string_value(json_object_get(chain, "ext_prv"));
    arb_bip32_key k, pub, dec;
    arb_bip32_net net;
    char enc[ARB_BIP32_XKEY_MAX];
    arb_errbuf eb;
    uint32_t idx[16];
    size_t n, i, last_hardened = 0;

    CHECK(path && xpub && xprv);
    CHECK_EQ(arb_bip32_derive_path(ctx, &k, master, path, &eb), ARB_OK);
    CHECK_EQ(arb_bip32_encode(enc, sizeof(enc), &k, ARB_BIP32_MAINNET), ARB_OK);
    CHECK_STR(enc, xprv);
    CHECK_EQ(arb_bip32_neuter(ctx, &pub, &k), ARB_OK);
    CHECK_EQ(arb_bip32_encode(enc, sizeof(enc), &pub, ARB_BIP32_MAINNET), ARB_OK);
    CHECK_STR(enc, xpub);
    /* Decoding gives the same keys back. */
    CHECK_EQ(arb_bip32_decode(ctx, &dec, &net, xprv, &eb), ARB_OK);
    CHECK(dec.is_private && net == ARB_BIP32_MAINNET);
    CHECK_MEM(&dec.key, &k.key, 33);
    CHECK_EQ(arb_bip32_decode(ctx, &dec, &net, xpub, &eb), ARB_OK);
    CHECK(!dec.is_private);
    CHECK_MEM(&dec.key, &pub.key, 33);
    CHECK_MEM(&dec.chain, &pub.chain, 32);
    /* CKDpub: from the public key at the last hardened step, derive the rest
     * of the path publicly and reach the same xpub. */
    CHECK_EQ(arb_bip32_path_parse(idx, 16, &n, path, &eb), ARB_OK);
    for (i = 0; i < n; i++)
        if (idx[i] & ARB_BIP32_HARDENED)
            last_hardened = i + 1;
    if (last_hardened < n) {
        arb_bip32_key p = *master;
        for (i = 0; i < last_hardened; i++)
            CHECK_EQ(arb_bip32_derive(ctx, &p, &p, idx[i]), ARB_OK);
        CHECK_EQ(arb_bip32_neuter(ctx, &p, &p), ARB_OK);
        for (i = last_hardened; i < n; i++)
            CHECK_EQ(arb_bip32_derive(ctx, &p, &p, idx[i]), ARB_OK);
        CHECK_EQ(arb_bip32_encode(enc, sizeof(enc), &p, ARB_BIP32_MAINNET), ARB_OK);
        CHECK_STR(enc, xpub);
    }
    /* Hardened derivation from a public key is refused. */
    CHECK_EQ(arb_bip32_derive(ctx, &dec, &pub, ARB_BIP32_HARDENED), ARB_ERR_INVALID_ARG);
}

static void test_vectors(void)
{
    size_t len = 0, i, j, chains = 0;
    uint8_t *raw = arb_test_read_vector("chain/bip32_vectors.json", &len);
    json_t *root, *vecs, *v, *c, *bad;
    json_error_t jerr;

    CHECK(raw != NULL);
    root = json_loadb((const char *)raw, len, 0, &jerr);
    free(raw);
    CHECK(root != NULL);
    vecs = json_object_get(root, "vectors");
    CHECK(json_is_array(vecs) && json_array_size(vecs) == 4);
    json_array_foreach(vecs, i, v) {
        const char *seed_hex = json_string_value(json_object_get(v, "seed_hex"));
        uint8_t seed[64];
        size_t sl;
        arb_bip32_key m;
        CHECK(seed_hex != NULL);
        sl = strlen(seed_hex) / 2;
        CHECK(arb_hex_decode(seed, sl, seed_hex, strlen(seed_hex)));
        CHECK_EQ(arb_bip32_from_seed(ctx, &m, seed, sl), ARB_OK);
        json_array_foreach(json_object_get(v, "chains"), j, c) {
            unsigned long before = arb_test_failed;
            check_chain(&m, c);
            CHECK(arb_test_failed == before);
            chains++;
        }
    }
    CHECK_EQ(chains, 17);
    bad = json_object_get(root, "invalid_extended_keys");
    CHECK(json_is_array(bad) && json_array_size(bad) == 16);
    json_array_foreach(bad, i, v) {
        const char *key = json_string_value(json_object_get(v, "key"));
        arb_bip32_key k;
        arb_errbuf eb;
        arb_err e;
        CHECK(key != NULL);
        e = arb_bip32_decode(ctx, &k, NULL, key, &eb);
        if (e == ARB_OK)
            fprintf(stderr, "accepted invalid key: %s\n", json_string_value(json_object_get(v, "reason")));
        CHECK(e == ARB_ERR_PARSE || e == ARB_ERR_VERIFY);
    }
    json_decref(root);
}

static void test_paths(void)
{
    uint32_t idx[8];
    size_t n = 99;
    arb_errbuf eb;

    CHECK_EQ(arb_bip32_path_parse(idx, 8, &n, "m", &eb), ARB_OK);
    CHECK_EQ(n, 0);
    CHECK_EQ(arb_bip32_path_parse(idx, 8, &n, "m/86'/0h/0H/0/5", &eb), ARB_OK);
    CHECK_EQ(n, 5);
    CHECK(idx[0] == (86u | ARB_BIP32_HARDENED) && idx[1] == ARB_BIP32_HARDENED &&
          idx[2] == ARB_BIP32_HARDENED && idx[3] == 0 && idx[4] == 5);
    CHECK_EQ(arb_bip32_path_parse(idx, 8, &n, "m/2147483647'", &eb), ARB_OK);
    CHECK(idx[0] == 0xffffffffu);
    static const char *const bad[] = {"",      "x/1",   "m/",    "m//1",       "m/1/",
                                      "m/01",  "m/-1",  "m/1''", "m/2147483648", "m/1x",
                                      "m1",    "m/ 1",  "m/1/2/3/4/5/6/7/8/9"};
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(arb_bip32_path_parse(idx, 8, &n, bad[i], &eb), ARB_ERR_PARSE);
        CHECK_EQ(n, 0);
    }
}

/* BIP86 "Test vectors" (bitcoin/bips bip-0086.mediawiki). */
static const char BIP86_MNEMONIC[] = "abandon abandon abandon abandon abandon abandon abandon "
                                     "abandon abandon abandon abandon about";
static const struct {
    const char *path, *xprv, *xpub, *internal, *output;
} BIP86[] = {
    {"m", "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu",
     "xpub661MyMwAqRbcFkPHucMnrGNzDwb6teAX1RbKQmqtEF8kK3Z7LZ59qafCjB9eCRLiTVG3uxBxgKvRgbubRhqSKXnGGb1aoaqLrpMBDrVxga8",
     NULL, NULL},
    {"m/86'/0'/0'", "xprv9xgqHN7yz9MwCkxsBPN5qetuNdQSUttZNKw1dcYTV4mkaAFiBVGQziHs3NRSWMkCzvgjEe3n9xV8oYywvM8at9yRqyaZVz6TYYhX98VjsUk",
     "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ",
     NULL, NULL},
    {"m/86'/0'/0'/0/0", "xprvA449goEeU9okwCzzZaxiy475EQGQzBkc65su82nXEvcwzfSskb2hAt2WymrjyRL6kpbVTGL3cKtp9herYXSjjQ1j4stsXXiRF7kXkCacK3T",
     "xpub6H3W6JmYJXN49h5TfcVjLC3onS6uPeUTTJoVvRC8oG9vsTn2J8LwigLzq5tHbrwAzH9DGo6ThGUdWsqce8dGfwHVBxSbixjDADGGdzF7t2B",
     "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115",
     "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c"},
    {"m/86'/0'/0'/0/1", "xprvA449goEeU9okyiF1LmKiDaTgeXvmh87DVyRd35VPbsSop8n8uALpbtrUhUXByPFKK7C2yuqrB1FrhiDkEMC4RGmA5KTwsE1aB5jRu9zHsuQ",
     "xpub6H3W6JmYJXN4CCKUSnriaiQRCZmG6aq4sCMDqTu1ACyngw7HShf59hAxYjXgKDuuHThVEUzdHrc3aXCr9kfvQvZPit5dnD3K9xVRBzjK3rX",
     "83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145",
     "a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb"},
    {"m/86'/0'/0'/1/0", "xprvA3Ln3Gt3aphvUgzgEDT8vE2cYqb4PjFfpmbiFKphxLg1FjXQpkAk5M1ZKDY15bmCAHA35jTiawbFuwGtbDZogKF1WfjwxML4gK7WfYW5JRP",
     "xpub6GL8SnQwRCGDhB59LEz9HMyM6sRYoByXBzXK3iEKWgCz8XrZNHUzd9L3AUBELW5NzA7dEFvMas1F84TuPH3xqdUA5tumaGWFgihJzWytXe3",
     "399f1b2f4393f29a18c937859c5dd8a77350103157eb880f02e8c08214277cef",
     "882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc"},
};

static void test_bip86(void)
{
    uint8_t seed[64];
    arb_bip32_key m;
    size_t i;
    arb_errbuf eb;

    CHECK_EQ(arb_bip39_seed(seed, BIP86_MNEMONIC, ""), ARB_OK);
    CHECK_EQ(arb_bip32_from_seed(ctx, &m, seed, 64), ARB_OK);
    for (i = 0; i < sizeof(BIP86) / sizeof(BIP86[0]); i++) {
        arb_bip32_key k, pub;
        char enc[ARB_BIP32_XKEY_MAX], hex[65];
        uint8_t in32[32], out32[32], sk[32], sig[64], msg[32];
        CHECK_EQ(arb_bip32_derive_path(ctx, &k, &m, BIP86[i].path, &eb), ARB_OK);
        CHECK_EQ(arb_bip32_encode(enc, sizeof(enc), &k, ARB_BIP32_MAINNET), ARB_OK);
        CHECK_STR(enc, BIP86[i].xprv);
        CHECK_EQ(arb_bip32_neuter(ctx, &pub, &k), ARB_OK);
        CHECK_EQ(arb_bip32_encode(enc, sizeof(enc), &pub, ARB_BIP32_MAINNET), ARB_OK);
        CHECK_STR(enc, BIP86[i].xpub);
        if (BIP86[i].internal == NULL)
            continue;
        CHECK_EQ(arb_bip32_taproot_keys(ctx, in32, out32, &k), ARB_OK);
        arb_hex_encode(hex, in32, 32);
        CHECK_STR(hex, BIP86[i].internal);
        arb_hex_encode(hex, out32, 32);
        CHECK_STR(hex, BIP86[i].output);
        /* The same from the public key alone. */
        CHECK_EQ(arb_bip32_taproot_keys(ctx, in32, out32, &pub), ARB_OK);
        arb_hex_encode(hex, out32, 32);
        CHECK_STR(hex, BIP86[i].output);
        /* The tweaked secret key signs for the output key (BIP340 verify by
         * libsecp256k1). */
        CHECK_EQ(arb_bip32_taproot_seckey(ctx, sk, &k), ARB_OK);
        CHECK_EQ(arb_bip32_taproot_seckey(ctx, sk, &pub), ARB_ERR_INVALID_ARG);
        CHECK_EQ(arb_bip32_taproot_seckey(ctx, sk, &k), ARB_OK);
        {
            secp256k1_context *s = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
            secp256k1_keypair kp;
            secp256k1_xonly_pubkey xq;
            memset(msg, 0x5a, 32);
            CHECK(s != NULL);
            CHECK(secp256k1_keypair_create(s, &kp, sk));
            CHECK(secp256k1_schnorrsig_sign32(s, sig, msg, &kp, NULL));
            CHECK(secp256k1_xonly_pubkey_parse(s, &xq, out32));
            CHECK(secp256k1_schnorrsig_verify(s, sig, msg, 32, &xq));
            secp256k1_context_destroy(s);
        }
    }
}

static void test_seed_lengths(void)
{
    uint8_t seed[65] = {0};
    arb_bip32_key k;

    CHECK_EQ(arb_bip32_from_seed(ctx, &k, seed, 15), ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_bip32_from_seed(ctx, &k, seed, 65), ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_bip32_from_seed(ctx, &k, seed, 16), ARB_OK);
    CHECK_EQ(arb_bip32_from_seed(ctx, &k, seed, 64), ARB_OK);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_keyctx_new(&ctx) != ARB_OK)
        return 1;
    test_vectors();
    test_paths();
    test_bip86();
    test_seed_lengths();
    arb_keyctx_free(ctx);
    return arb_test_done();
}
