/* The chain state's coins cache: the UTXO changes of the blocks connected
 * since the last flush, in memory, in front of the chain_utxo and chain_addr
 * column families (after Bitcoin Core's CCoinsViewCache; docs/ledger.md,
 * "Coins cache").
 *
 * An entry is a coin created or spent since the last flush:
 *   FRESH   created since the last flush: the disk does not have it, so
 *           when it is spent before the next flush nothing is written;
 *   SPENT   spent: the disk's copy (if not FRESH) is deleted at the flush.
 * Every entry is dirty (the cache holds no clean copies of disk coins), and a
 * flush writes them all and empties the cache (arb_coins_clear). An
 * open-addressing table with linear probing; entries are never removed
 * between flushes, so no tombstones are needed.
 *
 * Not thread-safe: the chain thread alone uses it. */
#ifndef ARB_CHAIN_COINS_H
#define ARB_CHAIN_COINS_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/consensus.h"

typedef struct arb_coins arb_coins;

enum { ARB_COIN_FRESH = 2, ARB_COIN_SPENT = 4 };

/* An empty cache: ARB_OK or ARB_ERR_NOMEM. arb_coins_free(NULL) is fine. */
arb_err arb_coins_new(arb_coins **out) ARB_WARN_UNUSED;
void arb_coins_free(arb_coins *c);

/* 1 with *out when op is in the cache unspent, 0 when it is in the cache
 * spent (the chain state does not have it), -1 when the cache does not know
 * it (the disk decides). */
int arb_coins_get(const arb_coins *c, const arb_outpoint *op, arb_coin *out);

/* Makes room for `extra` more entries: ARB_OK or ARB_ERR_NOMEM (nothing
 * changed). arb_coins_add and arb_coins_spend never allocate beyond it. */
arb_err arb_coins_reserve(arb_coins *c, size_t extra) ARB_WARN_UNUSED;
/* Bytes the table would take with `extra` more entries (for the budget). */
size_t arb_coins_bytes_with(const arb_coins *c, size_t extra);
/* Entries held. */
size_t arb_coins_count(const arb_coins *c);

/* A coin created by a block (FRESH unless a spent copy from before the
 * last flush is in the cache). Needs a reserved slot. */
void arb_coins_add(arb_coins *c, const arb_outpoint *op, const arb_coin *coin);
/* Spends op, whose coin is `coin` (its key is needed to delete the address
 * index entry at the flush). Needs a reserved slot. */
void arb_coins_spend(arb_coins *c, const arb_outpoint *op, const arb_coin *coin);

/* Calls fn for every entry (flags: ARB_COIN_FRESH | ARB_COIN_SPENT bits), in
 * table order. */
void arb_coins_each(const arb_coins *c,
                    void (*fn)(void *ud, const arb_outpoint *op, const arb_coin *coin,
                               unsigned flags),
                    void *ud);
/* Empties the cache (after a flush), keeping its table unless it is large. */
void arb_coins_clear(arb_coins *c);

#endif
