/* Building and mining blocks: a coinbase for a height, a block on a parent
 * with given transactions, and a nonce search with a SHA-256 midstate. Used by
 * the wallet's and the node's `mine` on regtest/test and by tests.
 * Thread-safe (each call uses only its arguments). */
#ifndef ARB_CHAIN_MINE_H
#define ARB_CHAIN_MINE_H

#include <stdint.h>

#include "ledger/chain/block.h"
#include "ledger/chain/params.h"
#include "merkle/hash.h"

/* Fills cb (initialized or cleared) with the coinbase of the block at
 * `height`: one input (zero txid, index = height) whose free 64-byte slot
 * holds extra_nonce (little-endian) followed by up to 56 bytes of tag, one
 * output of `amount` to key32, and the state root payload (type 12:
 * *state_root, or the empty tree's root, 32 zero bytes, when NULL). Returns
 * ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_chain_coinbase_build(arb_tx *cb, uint32_t height, uint64_t amount,
                                 const uint8_t key32[static 32], uint64_t extra_nonce,
                                 const char *tag, const arb_hash *state_root) ARB_WARN_UNUSED;

/* Builds an unmined block at `height` on parent (hash, time) with bits:
 * coinbase paying subsidy + fees to key32 and committing to state_root (the
 * state after the block; NULL: the empty root), then the n transactions, which
 * are moved in (the caller's array entries are zeroed). Time is
 * max(parent_time + 1, now). The merkle root is set; the nonce is 0.
 * Returns ARB_OK or ARB_ERR_NOMEM (the transactions are then freed). */
arb_err arb_chain_block_build(const arb_chain_params *p, arb_sha256 *sha, arb_block *out,
                              const arb_hash *parent, uint32_t parent_time, uint32_t height,
                              uint32_t bits, int64_t now, const uint8_t key32[static 32],
                              arb_tx *txs, size_t n, uint64_t fees,
                              const arb_hash *state_root) ARB_WARN_UNUSED;

/* Searches nonces start_nonce, start_nonce+1, ... (at most max_tries, which
 * may exceed 2^32 only by wrapping the nonce) for a header hash meeting
 * h->bits. Returns 1 with h->nonce set, or 0 when none was found or bits are
 * invalid (h->nonce is then unspecified). */
int arb_chain_mine_header(arb_block_header *h, uint32_t start_nonce, uint64_t max_tries);

/* The same search with the caller's midstate context (arb_sha256_mid_new),
 * which it overwrites. Setting a context up costs more than hashing a few
 * nonces (CPU feature detection, which traps to the hypervisor in a virtual
 * machine), so a miner that finds blocks every few nonces (regtest) keeps one
 * per thread. Thread-safe as long as each thread has its own mid. */
int arb_chain_mine_header_mid(arb_sha256_mid *mid, arb_block_header *h, uint32_t start_nonce,
                              uint64_t max_tries);

#endif
