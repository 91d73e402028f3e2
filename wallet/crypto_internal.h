/* Small wrappers over OpenSSL digests used inside the wallet library. Each
 * returns 1 on success and 0 if OpenSSL fails (which callers map to
 * ARB_ERR_CRYPTO). Thread-safe (no shared state). */
#ifndef ARB_WALLET_CRYPTO_INTERNAL_H
#define ARB_WALLET_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

int arb_wallet_sha256(uint8_t out32[static 32], const void *data, size_t len);
/* SHA-256(SHA-256(data)). */
int arb_wallet_sha256d(uint8_t out32[static 32], const void *data, size_t len);
/* RIPEMD-160(SHA-256(data)), BIP32's key identifier. */
int arb_wallet_hash160(uint8_t out20[static 20], const void *data, size_t len);
/* HMAC-SHA512(key, data). */
int arb_wallet_hmac_sha512(uint8_t out64[static 64], const void *key, size_t key_len,
                           const void *data, size_t data_len);

#endif
