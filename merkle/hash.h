/* SHA-256 in the forms arbor needs: plain, double (SHA-256d), BIP340 tagged, a
 * midstate for 80-byte headers, and the RFC 6962 leaf and node hashes.
 *
 * All hashing goes through one arb_sha256 engine: it fetches the OpenSSL digest
 * once and reuses one EVP_MD_CTX, which is about three times faster than passing
 * EVP_sha256() on every call. An engine is NOT thread-safe: make one per thread.
 *
 * These functions cannot fail on valid arguments; a failure inside OpenSSL here
 * means the library is broken, and the process aborts rather than hash wrongly. */
#ifndef ARB_MERKLE_HASH_H
#define ARB_MERKLE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

#define ARB_HASH_SIZE 32

/* A 32-byte hash, as a copyable value. */
typedef struct {
    uint8_t b[ARB_HASH_SIZE];
} arb_hash;

typedef struct arb_sha256 arb_sha256;

/* Creates an engine. Returns ARB_OK, ARB_ERR_NOMEM or ARB_ERR_CRYPTO (OpenSSL has
 * no SHA-256); *out is NULL on failure. Free with arb_sha256_free. */
arb_err arb_sha256_new(arb_sha256 **out) ARB_WARN_UNUSED;
void arb_sha256_free(arb_sha256 *h);

/* Streaming: init, any number of updates, final. final leaves the engine ready
 * for a new init. */
void arb_sha256_init(arb_sha256 *h);
void arb_sha256_update(arb_sha256 *h, const void *data, size_t len);
void arb_sha256_final(arb_sha256 *h, uint8_t out32[static 32]);

/* One-shot SHA-256(data). */
void arb_sha256_digest(arb_sha256 *h, uint8_t out32[static 32], const void *data, size_t len);
/* SHA-256(SHA-256(data)), Bitcoin's block and transaction hash. */
void arb_sha256d(arb_sha256 *h, uint8_t out32[static 32], const void *data, size_t len);

/* BIP340 tagged hash: starts SHA-256(SHA-256(tag) || SHA-256(tag) || ...), so the
 * caller continues with arb_sha256_update and arb_sha256_final. */
void arb_sha256_tagged_init(arb_sha256 *h, const char *tag);
/* One-shot tagged hash of msg. */
void arb_sha256_tagged(arb_sha256 *h, uint8_t out32[static 32], const char *tag,
                       const void *msg, size_t len);

/* Midstate for hashing many 80-byte block headers that differ only in their
 * last 16 bytes (time, bits, nonce): the first 64 bytes are compressed once,
 * then each header costs exactly two compressions (the padded last block,
 * and the padded 32-byte inner hash), through OpenSSL's block function
 * without EVP's per-call overhead (merkle/hash_mid.c says why).
 * Not thread-safe; one per mining thread. */
typedef struct arb_sha256_mid arb_sha256_mid;

arb_err arb_sha256_mid_new(arb_sha256_mid **out) ARB_WARN_UNUSED;
void arb_sha256_mid_free(arb_sha256_mid *m);
/* Absorbs the header's first 64 bytes. */
void arb_sha256_mid_set(arb_sha256_mid *m, const uint8_t first64[static 64]);
/* out32 = SHA-256d(first64 || tail16) using the stored midstate. */
void arb_sha256_mid_header_hash(arb_sha256_mid *m, const uint8_t tail16[static 16],
                                uint8_t out32[static 32]);
/* Two headers at once (out_a for tail_a, out_b for tail_b): on CPUs with the
 * x86 SHA extensions the two hashes run interleaved, faster than two calls;
 * elsewhere it is two calls. */
void arb_sha256_mid_header_hash2(arb_sha256_mid *m, const uint8_t tail_a[static 16],
                                 const uint8_t tail_b[static 16], uint8_t out_a[static 32],
                                 uint8_t out_b[static 32]);
/* 1 when header_hash2 uses the SHA extensions, else 0. */
int arb_sha256_mid_accelerated(const arb_sha256_mid *m);

/* RFC 6962 2.1: leaf hash SHA-256(0x00 || data). */
void arb_merkle_leaf_hash(arb_sha256 *h, arb_hash *out, const void *data, size_t len);
/* RFC 6962 2.1: node hash SHA-256(0x01 || left || right). */
void arb_merkle_node_hash(arb_sha256 *h, arb_hash *out, const arb_hash *left, const arb_hash *right);
/* RFC 6962 2.1: the root of the empty tree, SHA-256(""). */
void arb_merkle_empty_root(arb_hash *out);

/* Constant-time comparison; returns 1 if equal. */
int arb_hash_eq(const arb_hash *a, const arb_hash *b);

#endif
