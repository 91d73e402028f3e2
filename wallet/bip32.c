/* BIP32 over libsecp256k1 (see bip32.h). The scalar and point arithmetic is
 * libsecp256k1's (seckey_tweak_add, pubkey_tweak_add); HMAC-SHA512 and
 * HASH160 are OpenSSL's. */
#include "wallet/bip32.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>

#include "wallet/base58.h"
#include "wallet/crypto_internal.h"
#include "wallet/keyctx_internal.h"

arb_err arb_keyctx_new(arb_keyctx **out)
{
    arb_keyctx *c;
    uint8_t seed[32];

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ARB_ERR_NOMEM;
    c->secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (c->secp == NULL) {
        free(c);
        return ARB_ERR_NOMEM;
    }
    if (RAND_bytes(seed, sizeof(seed)) != 1 || !secp256k1_context_randomize(c->secp, seed)) {
        OPENSSL_cleanse(seed, sizeof(seed));
        arb_keyctx_free(c);
        return ARB_ERR_CRYPTO;
    }
    OPENSSL_cleanse(seed, sizeof(seed));
    *out = c;
    return ARB_OK;
}

void arb_keyctx_free(arb_keyctx *ctx)
{
    if (ctx == NULL)
        return;
    secp256k1_context_destroy(ctx->secp);
    free(ctx);
}

void arb_bip32_key_wipe(arb_bip32_key *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The compressed public key of k (copied for public keys). */
static arb_err pubkey33(const arb_keyctx *ctx, uint8_t out33[33], const arb_bip32_key *k)
{
    secp256k1_pubkey pub;
    size_t n = 33;

    if (!k->is_private) {
        memcpy(out33, k->key, 33);
        return ARB_OK;
    }
    if (!secp256k1_ec_pubkey_create(ctx->secp, &pub, k->key + 1))
        return ARB_ERR_INVALID_ARG;
    if (!secp256k1_ec_pubkey_serialize(ctx->secp, out33, &n, &pub, SECP256K1_EC_COMPRESSED))
        return ARB_ERR_CRYPTO;
    return ARB_OK;
}

arb_err arb_bip32_from_seed(const arb_keyctx *ctx, arb_bip32_key *out, const uint8_t *seed,
                            size_t seed_len)
{
    uint8_t I[64];
    arb_err err = ARB_OK;

    memset(out, 0, sizeof(*out));
    if (seed_len < 16 || seed_len > 64)
        return ARB_ERR_INVALID_ARG;
    if (!arb_wallet_hmac_sha512(I, "Bitcoin seed", 12, seed, seed_len))
        return ARB_ERR_CRYPTO;
    if (!secp256k1_ec_seckey_verify(ctx->secp, I)) {
        err = ARB_ERR_VERIFY;
        goto out;
    }
    out->is_private = 1;
    out->key[0] = 0;
    memcpy(out->key + 1, I, 32);
    memcpy(out->chain, I + 32, 32);
out:
    OPENSSL_cleanse(I, sizeof(I));
    return err;
}

arb_err arb_bip32_fingerprint(const arb_keyctx *ctx, uint8_t fp4[static 4], const arb_bip32_key *k)
{
    uint8_t pub[33], h[20];
    arb_err err;

    memset(fp4, 0, 4);
    if ((err = pubkey33(ctx, pub, k)) != ARB_OK)
        return err;
    if (!arb_wallet_hash160(h, pub, 33))
        return ARB_ERR_CRYPTO;
    memcpy(fp4, h, 4);
    return ARB_OK;
}

arb_err arb_bip32_derive(const arb_keyctx *ctx, arb_bip32_key *out, const arb_bip32_key *parent,
                         uint32_t index)
{
    uint8_t data[37], I[64], pub[33];
    arb_bip32_key child;
    arb_err err;

    memset(&child, 0, sizeof(child));
    if (parent->depth == ARB_BIP32_MAX_DEPTH ||
        ((index & ARB_BIP32_HARDENED) != 0 && !parent->is_private)) {
        err = ARB_ERR_INVALID_ARG;
        goto out;
    }
    if ((err = pubkey33(ctx, pub, parent)) != ARB_OK)
        goto out;
    if (index & ARB_BIP32_HARDENED)
        memcpy(data, parent->key, 33); /* 0x00 || k_par */
    else
        memcpy(data, pub, 33);
    put32be(data + 33, index);
    if (!arb_wallet_hmac_sha512(I, parent->chain, 32, data, sizeof(data))) {
        err = ARB_ERR_CRYPTO;
        goto out;
    }
    if (parent->is_private) {
        /* k_i = parse256(I_L) + k_par (mod n); fails if I_L >= n or k_i = 0. */
        memcpy(child.key, parent->key, 33);
        if (!secp256k1_ec_seckey_tweak_add(ctx->secp, child.key + 1, I)) {
            err = ARB_ERR_VERIFY;
            goto out;
        }
        child.is_private = 1;
    } else {
        /* K_i = point(parse256(I_L)) + K_par; fails if I_L >= n or K_i = infinity. */
        secp256k1_pubkey P;
        size_t n = 33;
        if (!secp256k1_ec_pubkey_parse(ctx->secp, &P, parent->key, 33)) {
            err = ARB_ERR_INVALID_ARG;
            goto out;
        }
        if (!secp256k1_ec_pubkey_tweak_add(ctx->secp, &P, I)) {
            err = ARB_ERR_VERIFY;
            goto out;
        }
        if (!secp256k1_ec_pubkey_serialize(ctx->secp, child.key, &n, &P,
                                           SECP256K1_EC_COMPRESSED)) {
            err = ARB_ERR_CRYPTO;
            goto out;
        }
    }
    memcpy(child.chain, I + 32, 32);
    child.depth = (uint8_t)(parent->depth + 1);
    child.child = index;
    {
        uint8_t h[20];
        if (!arb_wallet_hash160(h, pub, 33)) {
            err = ARB_ERR_CRYPTO;
            goto out;
        }
        memcpy(child.parent_fp, h, 4);
    }
    *out = child;
out:
    if (err != ARB_OK)
        arb_bip32_key_wipe(out);
    arb_bip32_key_wipe(&child);
    OPENSSL_cleanse(I, sizeof(I));
    OPENSSL_cleanse(data, sizeof(data));
    return err;
}

arb_err arb_bip32_path_parse(uint32_t *indices, size_t max, size_t *n, const char *path,
                             arb_errbuf *eb)
{
    const char *p = path;
    size_t count = 0;

    *n = 0;
    if (p[0] != 'm' && p[0] != 'M')
        return arb_errf(eb, ARB_ERR_PARSE, "a path starts with m");
    p++;
    while (*p != '\0') {
        uint64_t v = 0;
        size_t digits = 0;
        if (*p != '/')
            return arb_errf(eb, ARB_ERR_PARSE, "expected '/' at offset %zu", (size_t)(p - path));
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits > 0 && v == 0)
                return arb_errf(eb, ARB_ERR_PARSE, "leading zero in a path index");
            v = v * 10 + (uint64_t)(*p - '0');
            if (v >= ARB_BIP32_HARDENED)
                return arb_errf(eb, ARB_ERR_PARSE, "path index out of range (max 2147483647)");
            digits++;
            p++;
        }
        if (digits == 0)
            return arb_errf(eb, ARB_ERR_PARSE, "missing index at offset %zu", (size_t)(p - path));
        if (*p == '\'' || *p == 'h' || *p == 'H') {
            v |= ARB_BIP32_HARDENED;
            p++;
        }
        if (count == max || count == ARB_BIP32_MAX_DEPTH)
            return arb_errf(eb, ARB_ERR_PARSE, "path too deep");
        indices[count++] = (uint32_t)v;
    }
    *n = count;
    return ARB_OK;
}

arb_err arb_bip32_derive_path(const arb_keyctx *ctx, arb_bip32_key *out, const arb_bip32_key *root,
                              const char *path, arb_errbuf *eb)
{
    uint32_t idx[ARB_BIP32_MAX_DEPTH];
    size_t n, i;
    arb_bip32_key k = *root;
    arb_err err;

    if ((err = arb_bip32_path_parse(idx, ARB_BIP32_MAX_DEPTH, &n, path, eb)) != ARB_OK)
        goto out;
    for (i = 0; i < n; i++) {
        if ((err = arb_bip32_derive(ctx, &k, &k, idx[i])) != ARB_OK) {
            arb_errf(eb, err, "derivation failed at level %zu", i + 1);
            goto out;
        }
    }
    *out = k;
out:
    if (err != ARB_OK)
        arb_bip32_key_wipe(out);
    arb_bip32_key_wipe(&k);
    return err;
}

arb_err arb_bip32_neuter(const arb_keyctx *ctx, arb_bip32_key *out, const arb_bip32_key *k)
{
    uint8_t pub[33];
    arb_err err;

    if ((err = pubkey33(ctx, pub, k)) != ARB_OK)
        return err;
    if (out != k)
        *out = *k;
    memcpy(out->key, pub, 33);
    out->is_private = 0;
    return ARB_OK;
}

static const uint32_t VERSIONS[2][2] = {
    /* {private, public} */
    {0x0488ADE4u, 0x0488B21Eu}, /* xprv, xpub */
    {0x04358394u, 0x043587CFu}, /* tprv, tpub */
};

arb_err arb_bip32_encode(char *out, size_t out_size, const arb_bip32_key *k, arb_bip32_net net)
{
    uint8_t ser[78];
    arb_err err;

    if (out_size > 0)
        out[0] = '\0';
    if ((unsigned)net > 1 || out_size < ARB_BIP32_XKEY_MAX)
        return ARB_ERR_INVALID_ARG;
    put32be(ser, VERSIONS[net][k->is_private ? 0 : 1]);
    ser[4] = k->depth;
    memcpy(ser + 5, k->parent_fp, 4);
    put32be(ser + 9, k->child);
    memcpy(ser + 13, k->chain, 32);
    memcpy(ser + 45, k->key, 33);
    err = arb_base58check_encode(out, out_size, ser, sizeof(ser));
    OPENSSL_cleanse(ser, sizeof(ser));
    return err;
}

arb_err arb_bip32_decode(const arb_keyctx *ctx, arb_bip32_key *out, arb_bip32_net *net,
                         const char *str, arb_errbuf *eb)
{
    uint8_t ser[82];
    size_t n = 0, len = strlen(str);
    uint32_t ver;
    int found = -1, priv = 0, i;
    arb_err err;

    memset(out, 0, sizeof(*out));
    if (net != NULL)
        *net = ARB_BIP32_MAINNET;
    if (len > 120) {
        err = arb_errf(eb, ARB_ERR_PARSE, "extended key too long");
        goto out;
    }
    err = arb_base58check_decode(ser, sizeof(ser), &n, str, len);
    if (err != ARB_OK) {
        arb_errf(eb, err, err == ARB_ERR_VERIFY ? "extended key checksum mismatch"
                                                : "extended key is not valid base58");
        goto out;
    }
    if (n != 78) {
        err = arb_errf(eb, ARB_ERR_PARSE, "extended key has %zu bytes, not 78", n);
        goto out;
    }
    ver = get32be(ser);
    for (i = 0; i < 2; i++) {
        if (ver == VERSIONS[i][0] || ver == VERSIONS[i][1]) {
            found = i;
            priv = ver == VERSIONS[i][0];
        }
    }
    if (found < 0) {
        err = arb_errf(eb, ARB_ERR_PARSE, "unknown extended key version %08x", (unsigned)ver);
        goto out;
    }
    out->depth = ser[4];
    memcpy(out->parent_fp, ser + 5, 4);
    out->child = get32be(ser + 9);
    memcpy(out->chain, ser + 13, 32);
    memcpy(out->key, ser + 45, 33);
    out->is_private = priv;
    if (out->depth == 0 && (get32be(out->parent_fp) != 0 || out->child != 0)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "depth 0 with a parent fingerprint or index");
        goto out;
    }
    if (priv) {
        if (out->key[0] != 0) {
            err = arb_errf(eb, ARB_ERR_PARSE, "private key prefix %02x, not 00", out->key[0]);
            goto out;
        }
        if (!secp256k1_ec_seckey_verify(ctx->secp, out->key + 1)) {
            err = arb_errf(eb, ARB_ERR_VERIFY, "private key not in [1, n-1]");
            goto out;
        }
    } else {
        secp256k1_pubkey P;
        if (out->key[0] != 2 && out->key[0] != 3) {
            err = arb_errf(eb, ARB_ERR_PARSE, "public key prefix %02x, not 02 or 03",
                           out->key[0]);
            goto out;
        }
        if (!secp256k1_ec_pubkey_parse(ctx->secp, &P, out->key, 33)) {
            err = arb_errf(eb, ARB_ERR_VERIFY, "public key is not on the curve");
            goto out;
        }
    }
    if (net != NULL)
        *net = (arb_bip32_net)found;
out:
    if (err != ARB_OK)
        arb_bip32_key_wipe(out);
    OPENSSL_cleanse(ser, sizeof(ser));
    return err;
}

arb_err arb_bip32_taproot_keys(const arb_keyctx *ctx, uint8_t internal32[32], uint8_t output32[32],
                               const arb_bip32_key *k)
{
    uint8_t pub[33], xin[32], tweak[32];
    secp256k1_pubkey P, Q;
    secp256k1_xonly_pubkey xP, xQ;
    arb_err err;

    if ((err = pubkey33(ctx, pub, k)) != ARB_OK)
        return err;
    if (!secp256k1_ec_pubkey_parse(ctx->secp, &P, pub, 33) ||
        !secp256k1_xonly_pubkey_from_pubkey(ctx->secp, &xP, NULL, &P) ||
        !secp256k1_xonly_pubkey_serialize(ctx->secp, xin, &xP))
        return ARB_ERR_CRYPTO;
    if (internal32 != NULL)
        memcpy(internal32, xin, 32);
    if (output32 == NULL)
        return ARB_OK;
    /* BIP341 taproot_tweak_pubkey(P, b""): t = hash_TapTweak(x(P)). */
    if (!secp256k1_tagged_sha256(ctx->secp, tweak, (const unsigned char *)"TapTweak", 8, xin, 32) ||
        !secp256k1_xonly_pubkey_tweak_add(ctx->secp, &Q, &xP, tweak) ||
        !secp256k1_xonly_pubkey_from_pubkey(ctx->secp, &xQ, NULL, &Q) ||
        !secp256k1_xonly_pubkey_serialize(ctx->secp, output32, &xQ))
        return ARB_ERR_VERIFY;
    return ARB_OK;
}

arb_err arb_bip32_taproot_seckey(const arb_keyctx *ctx, uint8_t seckey32[static 32],
                                 const arb_bip32_key *k)
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xP;
    uint8_t xin[32], tweak[32];
    arb_err err = ARB_OK;

    memset(seckey32, 0, 32);
    if (!k->is_private)
        return ARB_ERR_INVALID_ARG;
    if (!secp256k1_keypair_create(ctx->secp, &kp, k->key + 1) ||
        !secp256k1_keypair_xonly_pub(ctx->secp, &xP, NULL, &kp) ||
        !secp256k1_xonly_pubkey_serialize(ctx->secp, xin, &xP) ||
        !secp256k1_tagged_sha256(ctx->secp, tweak, (const unsigned char *)"TapTweak", 8, xin, 32)) {
        err = ARB_ERR_CRYPTO;
        goto out;
    }
    if (!secp256k1_keypair_xonly_tweak_add(ctx->secp, &kp, tweak) ||
        !secp256k1_keypair_sec(ctx->secp, seckey32, &kp)) {
        err = ARB_ERR_VERIFY;
        goto out;
    }
out:
    OPENSSL_cleanse(&kp, sizeof(kp));
    return err;
}
