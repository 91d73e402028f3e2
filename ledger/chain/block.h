/* Blocks: header followed by CompactSize transaction count and the
 * transactions. The header's merkle root is the RFC 6962 tree hash over the
 * full serialized transactions (leaf = SHA-256(0x00 || tx), node =
 * SHA-256(0x01 || left || right)), so an inclusion proof for a transaction is
 * an ordinary RFC 6962 audit path. Thread-safe. */
#ifndef ARB_CHAIN_BLOCK_H
#define ARB_CHAIN_BLOCK_H

#include <stddef.h>

#include "ledger/chain/header.h"
#include "ledger/chain/tx.h"

/* Consensus cap on the serialized block size (bytes). */
#define ARB_BLOCK_MAX_SIZE 1000000
/* Smallest possible transaction: one input, one output, no payload. */
#define ARB_TX_MIN_SIZE (4 + 1 + 36 + 1 + 40 + 4 + 1 + 64)
#define ARB_BLOCK_MAX_TXS (ARB_BLOCK_MAX_SIZE / ARB_TX_MIN_SIZE)

typedef struct {
    arb_block_header header;
    size_t n_tx;
    arb_tx *tx; /* n_tx entries */
} arb_block;

void arb_block_init(arb_block *b);
/* Frees every transaction and zeroes b; NULL is fine. */
void arb_block_clear(arb_block *b);
/* Appends the full serialization; check out->oom. */
void arb_block_write(arb_buf *out, const arb_block *b);
size_t arb_block_size(const arb_block *b);
/* Decodes exactly len bytes. Input longer than ARB_BLOCK_MAX_SIZE, a count
 * above ARB_BLOCK_MAX_TXS and every transaction decoding error are
 * ARB_ERR_PARSE (detail in eb); b is left empty on failure. A block with zero
 * transactions decodes (the consensus check rejects it with bad-blk-length). */
arb_err arb_block_decode(arb_block *b, const uint8_t *data, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;
/* RFC 6962 root over the serialized transactions (the empty-tree hash for
 * none). Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_block_merkle_root(arb_sha256 *sha, arb_hash *out, const arb_tx *txs, size_t n)
    ARB_WARN_UNUSED;
/* The RFC 6962 root of n leaf hashes (pairs level by level, carrying an odd
 * last node up unchanged, which equals RFC 6962 2.1's split at the largest
 * power of two below n). leaves is overwritten. */
void arb_merkle_root_from_leaves(arb_sha256 *sha, arb_hash *out, arb_hash *leaves, size_t n);

#endif
