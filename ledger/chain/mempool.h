/* The mempool: unconfirmed transactions valid against the active chain plus
 * the mempool itself (chains of unconfirmed transactions are allowed).
 *
 * Admission runs the consensus checks of consensus.h (the same code the
 * block check runs) through a lookup that sees the chain's UTXO set and the
 * outputs of mempool transactions. A transaction spending an output that a
 * mempool transaction already spends is refused with `txn-mempool-conflict`
 * (no replacement); one already present with `txn-already-in-mempool`.
 *
 * The pool holds at most max_bytes of serialized transactions; past that the
 * lowest fee rate transactions are evicted together with their descendants
 * (a newcomer that would itself be evicted is refused with `mempool-full`).
 *
 * Thread-safe: every call takes the pool's mutex. The chain lookup callback
 * is called with that mutex held, so the caller must serialize access to
 * the chain state itself (the node holds its chain lock around calls that
 * pass a lookup). Sizes are small (thousands of transactions); operations are
 * linear in the pool size. */
#ifndef ARB_CHAIN_MEMPOOL_H
#define ARB_CHAIN_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/consensus.h"

typedef struct arb_mempool arb_mempool;

/* max_bytes: cap on the serialized size of all transactions (0: 64 MiB). */
arb_err arb_mempool_new(arb_mempool **out, const arb_chain_params *p, size_t max_bytes)
    ARB_WARN_UNUSED;
void arb_mempool_free(arb_mempool *mp);

/* The chain the pool builds on: a UTXO lookup of the active tip, the height
 * of the next block and the tip's median time past. */
typedef struct {
    arb_utxo_lookup_fn lookup;
    void *ud;
    uint32_t next_height;
    int64_t mtp;
} arb_mempool_chain;

/* Admits a copy of tx. Returns ARB_OK (txid_out set, res->fees the fee),
 * ARB_ERR_VERIFY with res->reason, or ARB_ERR_NOMEM. Nothing changes on a
 * rejection. c->sha is used from the calling thread only. */
arb_err arb_mempool_accept(arb_mempool *mp, const arb_chain_checker *c,
                           const arb_mempool_chain *chain, const arb_tx *tx, arb_hash *txid_out,
                           arb_check_result *res) ARB_WARN_UNUSED;

/* A block was connected to the tip: drops its transactions and every mempool
 * transaction spending an output the block spends (with its descendants). */
void arb_mempool_block_connected(arb_mempool *mp, arb_sha256 *sha, const arb_block *b);

/* After a reorganization: re-admits the non-coinbase transactions of the
 * disconnected blocks (txs, in chain order), then the pool's previous
 * transactions in arrival order, against the new chain. Those that no longer
 * fit the chain are dropped. Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_mempool_resync(arb_mempool *mp, const arb_chain_checker *c,
                           const arb_mempool_chain *chain, const arb_tx *txs, size_t n)
    ARB_WARN_UNUSED;

/* Copy of the mempool transaction txid (dst initialized): ARB_OK,
 * ARB_ERR_NOT_FOUND or NOMEM. *fee may be NULL. */
arb_err arb_mempool_get(arb_mempool *mp, const arb_hash *txid, arb_tx *dst, uint64_t *fee)
    ARB_WARN_UNUSED;
/* 1 if a mempool transaction spends op. */
int arb_mempool_spends(arb_mempool *mp, const arb_outpoint *op);
void arb_mempool_stats(arb_mempool *mp, size_t *count, size_t *bytes);

/* Calls fn for each transaction in arrival order (pool locked meanwhile; fn
 * must not call back into the pool). Stops when fn returns non-zero. */
typedef int (*arb_mempool_tx_fn)(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee);
void arb_mempool_foreach(arb_mempool *mp, arb_mempool_tx_fn fn, void *ud);

/* Picks transactions for a block template: highest fee rate first, a
 * transaction only after its mempool parents, total size at most max_bytes.
 * Fills *out (malloc'd copies, n_out entries; free each with arb_tx_clear and
 * the array with free) and *fees. Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_mempool_select(arb_mempool *mp, size_t max_bytes, arb_tx **out, size_t *n_out,
                           uint64_t *fees) ARB_WARN_UNUSED;

#endif
