/* The block header: Bitcoin's 80-byte layout (version, previous block hash,
 * merkle root, time, bits, nonce; integers little-endian), and the block hash
 * SHA-256d(header). Hashes are kept in wire (internal) byte order; the usual
 * display form is byte-reversed (arb_chain_hash_hex). Thread-safe. */
#ifndef ARB_CHAIN_HEADER_H
#define ARB_CHAIN_HEADER_H

#include <stdint.h>

#include "merkle/hash.h"

#define ARB_HEADER_SIZE 80

typedef struct {
    int32_t version;
    arb_hash prev;
    arb_hash merkle_root;
    uint32_t time;
    uint32_t bits;
    uint32_t nonce;
} arb_block_header;

void arb_header_encode(uint8_t out80[static 80], const arb_block_header *h);
/* Every 80-byte string is a header; there is nothing to reject. */
void arb_header_decode(arb_block_header *h, const uint8_t in80[static 80]);
/* SHA-256d of the encoded header. */
void arb_header_hash(arb_sha256 *sha, arb_hash *out, const arb_block_header *h);

/* Display form: the 32 bytes reversed, lowercase hex, NUL-terminated. */
void arb_chain_hash_hex(char out[static 65], const arb_hash *h);
/* Parses the display form; returns 1 or 0 on bad input. */
int arb_chain_hash_from_hex(arb_hash *out, const char *hex);

#endif
