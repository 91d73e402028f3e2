/* BIP32 hierarchical deterministic keys over secp256k1, extended-key
 * serialization (Base58Check), derivation paths, and the x-only keys of
 * BIP340/BIP86 that arbor outputs lock to.
 *
 * Keys are plain copyable values (arb_bip32_key); the elliptic-curve work
 * needs an arb_keyctx (a randomized libsecp256k1 context). A key context is
 * NOT thread-safe to create/free but its use through these functions is
 * read-only, so one context may serve several threads. */
#ifndef ARB_WALLET_BIP32_H
#define ARB_WALLET_BIP32_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct arb_keyctx arb_keyctx;

/* Creates a key context randomized with 32 bytes from the OS RNG (side-channel
 * blinding). Returns ARB_OK, ARB_ERR_NOMEM or ARB_ERR_CRYPTO. Free with
 * arb_keyctx_free (NULL is fine). */
arb_err arb_keyctx_new(arb_keyctx **out) ARB_WARN_UNUSED;
void arb_keyctx_free(arb_keyctx *ctx);

#define ARB_BIP32_HARDENED 0x80000000u
/* Longest path arb_bip32_path_parse accepts (BIP32 depth is a byte). */
#define ARB_BIP32_MAX_DEPTH 255
/* An encoded extended key is 111 characters; with a NUL, 112. */
#define ARB_BIP32_XKEY_MAX 120

typedef struct {
    uint8_t depth;
    uint8_t parent_fp[4]; /* first 4 bytes of HASH160 of the parent's public key */
    uint32_t child;       /* index of this key in its parent (>= 2^31: hardened) */
    uint8_t chain[32];
    uint8_t key[33];      /* private: 0x00 || k (big-endian); public: SEC1 compressed */
    int is_private;
} arb_bip32_key;

/* Version bytes of the extended-key formats (BIP32 "Serialization format"). */
typedef enum {
    ARB_BIP32_MAINNET = 0, /* xprv / xpub */
    ARB_BIP32_TESTNET = 1  /* tprv / tpub */
} arb_bip32_net;

/* Wipes a key (OPENSSL_cleanse). */
void arb_bip32_key_wipe(arb_bip32_key *k);

/* Master key from a seed of 16..64 bytes (BIP32 "Master key generation").
 * Returns ARB_OK; ARB_ERR_INVALID_ARG for a bad seed length; ARB_ERR_VERIFY if
 * the seed gives an invalid key (probability below 2^-127); ARB_ERR_CRYPTO. */
arb_err arb_bip32_from_seed(const arb_keyctx *ctx, arb_bip32_key *out, const uint8_t *seed,
                            size_t seed_len) ARB_WARN_UNUSED;

/* Child key `index` of parent (CKDpriv for private parents, CKDpub for public
 * ones). Hardened indices (>= 2^31) need a private parent
 * (ARB_ERR_INVALID_ARG). Returns ARB_ERR_VERIFY in BIP32's "invalid child"
 * case (the caller moves on to the next index), ARB_ERR_INVALID_ARG at depth
 * 255. out may alias parent. */
arb_err arb_bip32_derive(const arb_keyctx *ctx, arb_bip32_key *out, const arb_bip32_key *parent,
                         uint32_t index) ARB_WARN_UNUSED;

/* Parses "m", "m/0'/1/2h", "M/86H/1'/0'" into indices (at most max, and at
 * most ARB_BIP32_MAX_DEPTH). Each index is decimal < 2^31 followed by an
 * optional ', h or H. Returns ARB_OK or ARB_ERR_PARSE (eb says why). */
arb_err arb_bip32_path_parse(uint32_t *indices, size_t max, size_t *n, const char *path,
                             arb_errbuf *eb) ARB_WARN_UNUSED;

/* Derives along a path string from root. Same errors as path_parse and derive. */
arb_err arb_bip32_derive_path(const arb_keyctx *ctx, arb_bip32_key *out, const arb_bip32_key *root,
                              const char *path, arb_errbuf *eb) ARB_WARN_UNUSED;

/* The public key of k (N() in BIP32). out may alias k. */
arb_err arb_bip32_neuter(const arb_keyctx *ctx, arb_bip32_key *out, const arb_bip32_key *k)
    ARB_WARN_UNUSED;

/* The 4-byte fingerprint (HASH160 of the public key) of k. */
arb_err arb_bip32_fingerprint(const arb_keyctx *ctx, uint8_t fp4[static 4], const arb_bip32_key *k)
    ARB_WARN_UNUSED;

/* Base58Check of the 78-byte serialization with the given version family.
 * out_size >= ARB_BIP32_XKEY_MAX. */
arb_err arb_bip32_encode(char *out, size_t out_size, const arb_bip32_key *k, arb_bip32_net net)
    ARB_WARN_UNUSED;

/* Parses and fully validates an extended key: checksum, length, known
 * version, key type matching version, private key in [1, n-1], public key on
 * the curve with prefix 02/03, depth 0 implying zero fingerprint and index.
 * *net receives the version family (may be NULL). Returns ARB_OK,
 * ARB_ERR_PARSE or ARB_ERR_VERIFY (eb says why); out is wiped on failure. */
arb_err arb_bip32_decode(const arb_keyctx *ctx, arb_bip32_key *out, arb_bip32_net *net,
                         const char *str, arb_errbuf *eb) ARB_WARN_UNUSED;

/* The BIP340 x-only public key of k (internal key) and the BIP86 output key
 * Q = P + hash_TapTweak(P)G (BIP341 "taproot_tweak_pubkey" with no script
 * tree). Either output may be NULL. */
arb_err arb_bip32_taproot_keys(const arb_keyctx *ctx, uint8_t internal32[32], uint8_t output32[32],
                               const arb_bip32_key *k) ARB_WARN_UNUSED;

/* The secret key that signs (BIP340) for the BIP86 output key of a private
 * k: the tweaked key, negated as needed so its x-only public key is
 * output32. ARB_ERR_INVALID_ARG for a public k. Wipe seckey32 after use. */
arb_err arb_bip32_taproot_seckey(const arb_keyctx *ctx, uint8_t seckey32[static 32],
                                 const arb_bip32_key *k) ARB_WARN_UNUSED;

#endif
