/* The mempool: unconfirmed transactions valid against the active chain plus
 * the pool itself (chains of unconfirmed transactions are allowed), after
 * Bitcoin Core's CTxMemPool, MemPoolAccept, policy/rbf and node/miner.
 *
 * Admission runs the consensus checks of consensus.h (the same code the
 * block check runs) through a lookup that sees the chain's UTXO set and the
 * outputs of mempool transactions, then the relay policy below. A payload
 * transaction (name operation, log anchor) is also checked against the tip's
 * committed state with the pool's earlier payload transactions applied in
 * arrival order, and refused with the operation's reason: the pool keeps a
 * state view of them (arb_mempool_chain.state_get) and applies a newcomer to
 * it alone (arb_mempool_payload_stats). Every rejection has its own reason
 * string (docs/ledger.md lists them all).
 *
 * Policy (fee rates are in base units per 1000 bytes of serialized
 * transaction, as Core's sat/kvB):
 *   - a transaction is at most ARB_MEMPOOL_MAX_TX_SIZE bytes (`tx-size`);
 *   - every output carries at least the dust threshold (`dust`);
 *   - the fee pays at least ARB_MEMPOOL_MIN_RELAY_FEERATE
 *     (`min-relay-fee-not-met`) and the pool's rolling minimum fee rate
 *     (`mempool-min-fee-not-met`);
 *   - with its mempool ancestors a transaction forms a package of at most
 *     25 transactions and 101,000 bytes, and no ancestor gets more than 25
 *     descendants (itself counted) or 101,000 bytes of them
 *     (`too-many-unconfirmed-ancestors`, `exceeds-ancestor-size-limit`,
 *     `too-many-descendants`, `exceeds-descendant-size-limit`);
 *   - payload transactions pending at once are bounded (ARB_MEMPOOL_MAX_PAYLOAD_TXS
 *     and the rest below);
 *   - a transaction spending an output a mempool transaction already spends
 *     replaces it (full replace-by-fee) when it follows Core's rules
 *     (`rbf-*` reasons); the replaced transactions leave with their
 *     descendants.
 *
 * Past the size cap the package (an entry and its descendants) with the
 * lowest descendant score is evicted, and the rolling minimum fee rate rises
 * to that package's fee rate plus the incremental relay fee rate; it decays
 * by half every 12 hours (faster when the pool is small) once a block has
 * been connected since the last rise.
 *
 * Indexes: txid -> entry and spent outpoint -> spending entry are hash
 * tables, so admission, lookups and block connects cost O(1) per input and
 * output, independent of the pool size; ancestor and descendant totals are
 * kept per entry (bounded by the limits above).
 *
 * Thread-safe: every call takes the pool's mutex. The chain lookup callback
 * is called with that mutex held, so the caller must serialize access to the
 * chain state itself (the node holds its chain lock around calls that pass a
 * lookup); arb_mempool_select, arb_mempool_get, arb_mempool_info and
 * arb_mempool_save need no chain access and may run without it. */
#ifndef ARB_CHAIN_MEMPOOL_H
#define ARB_CHAIN_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/consensus.h"
#include "ledger/chain/stateview.h"

typedef struct arb_mempool arb_mempool;

/* Policy constants (docs/ledger.md gives the reasons). */
#define ARB_MEMPOOL_DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define ARB_MEMPOOL_MIN_RELAY_FEERATE 1000u    /* units per 1000 bytes: 1 unit/byte */
#define ARB_MEMPOOL_INCREMENTAL_FEERATE 1000u  /* units per 1000 bytes */
#define ARB_MEMPOOL_DUST_RELAY_FEERATE 3000u   /* units per 1000 bytes */
/* An output is 40 bytes; spending it later costs an input (36) and a
 * signature (64): dust is below 3000/1000 * 140 = 420 units. */
#define ARB_MEMPOOL_DUST_THRESHOLD 420u
#define ARB_MEMPOOL_MAX_TX_SIZE 100000u
#define ARB_MEMPOOL_ANCESTOR_LIMIT 25u
#define ARB_MEMPOOL_ANCESTOR_SIZE_LIMIT 101000u
#define ARB_MEMPOOL_DESCENDANT_LIMIT 25u
#define ARB_MEMPOOL_DESCENDANT_SIZE_LIMIT 101000u
#define ARB_MEMPOOL_MAX_REPLACEMENTS 100u
/* Payload transactions (name operations, log anchors) pending at once: at
 * most ARB_MEMPOOL_MAX_PAYLOAD_TXS and max_bytes / DIVISOR bytes
 * (`mempool-payload-full`); at most ARB_MEMPOOL_MAX_ANCHORS_PER_LOG anchors
 * of one log (`too-many-pending-anchors`) and ARB_MEMPOOL_MAX_OPS_PER_NAME
 * operations on one name or namespace (`too-many-pending-name-ops`); a
 * replacement counts without what it replaces. docs/ledger.md says why. */
#define ARB_MEMPOOL_MAX_PAYLOAD_TXS 5000u
#define ARB_MEMPOOL_PAYLOAD_BYTES_DIVISOR 4u
#define ARB_MEMPOOL_MAX_ANCHORS_PER_LOG 25u
#define ARB_MEMPOOL_MAX_OPS_PER_NAME 4u
/* Rolling minimum fee half-life (seconds). */
#define ARB_MEMPOOL_ROLLING_HALFLIFE (12 * 3600)

typedef struct {
    size_t max_bytes; /* cap on the serialized size of all transactions (0: default) */
    /* Clock in seconds for the rolling minimum fee and entry times (NULL:
     * time(NULL)); tests pass their own. */
    int64_t (*now)(void *ud);
    void *now_ud;
} arb_mempool_opts;

/* o may be NULL (defaults). Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_mempool_new(arb_mempool **out, const arb_chain_params *p, const arb_mempool_opts *o)
    ARB_WARN_UNUSED;
/* NULL is fine. */
void arb_mempool_free(arb_mempool *mp);

/* Checks the payloads (name operations, log anchors) of txs[0..n), in
 * order, against the committed state of the tip as the next block would
 * apply them: ok[i] = 1 when txs[i] applies after the earlier ones, 0 with
 * reasons[i] (a static string) otherwise; senders[i] is the key input 0 of
 * txs[i] spends. Returns ARB_OK or a storage / memory error.
 * (arb_chainstate_state_preview is one.) */
typedef arb_err (*arb_mempool_state_fn)(void *ud, const arb_tx *const *txs, size_t n,
                                        const uint8_t *const *senders, uint8_t *ok,
                                        const char **reasons);

/* The chain the pool builds on: a UTXO lookup of the active tip, the tip's
 * hash, the height of the next block and the tip's median time past, and
 * the payload check against the tip's state: state_get, the tip's committed
 * records (arb_chainstate_state_get is one), over which the pool keeps its
 * own state view; or without it `state`, the whole check redone on every
 * admission (the simple reference; both NULL: payloads are checked by the
 * context-free rules only). */
typedef struct {
    arb_utxo_lookup_fn lookup;
    void *ud;
    uint32_t next_height;
    int64_t mtp;
    arb_hash tip;
    arb_mempool_state_fn state;
    void *state_ud;
    arb_sview_get_fn state_get;
    void *state_get_ud;
} arb_mempool_chain;

/* Admits a copy of tx (replacing conflicting transactions when the
 * replacement rules allow it). Returns ARB_OK (txid_out set, res->fees the
 * fee), ARB_ERR_VERIFY with res->reason, or ARB_ERR_NOMEM. Nothing changes
 * on a rejection, except for `mempool-full`, which (as in Core) comes after
 * the pool evicted packages to make room and then found the newcomer's own
 * package the cheapest. c->sha is used from the calling thread only. */
arb_err arb_mempool_accept(arb_mempool *mp, const arb_chain_checker *c,
                           const arb_mempool_chain *chain, const arb_tx *tx, arb_hash *txid_out,
                           arb_check_result *res) ARB_WARN_UNUSED;

/* Sets the tip the pool is valid on (at start, before any block arrives). */
void arb_mempool_set_tip(arb_mempool *mp, const arb_hash *tip);

/* A block was connected to the tip (the pool's tip becomes its hash): drops
 * its transactions and every mempool transaction spending an output the block
 * spends (with its descendants). Costs O(size of the block), whatever the
 * pool's size. */
void arb_mempool_block_connected(arb_mempool *mp, arb_sha256 *sha, const arb_block *b);

/* After a block connected (arb_mempool_block_connected): checks the pool's
 * payload transactions again, in arrival order, against the new tip's state
 * (chain->state) and drops those that no longer apply, with their
 * descendants (a name the block registered, an anchor the block made
 * stale). Returns the number dropped through *dropped (may be NULL);
 * ARB_OK or a storage / memory error. */
arb_err arb_mempool_state_recheck(arb_mempool *mp, const arb_mempool_chain *chain,
                                  size_t *dropped) ARB_WARN_UNUSED;

/* The pool's payload transactions and its state view. With state_get the
 * pool keeps a view of the tip's state with its pending payload
 * transactions applied in arrival order: a newcomer is applied to it alone;
 * it is rebuilt once (re-applying state transitions, never re-verifying an
 * anchor's signature: each entry remembers it verified) after a block, a
 * reorganization, an eviction or a replacement changed what is pending. The
 * records refused operations read stay in the view; past
 * 3 x pending + ARB_MEMPOOL_VIEW_SLACK records it is rebuilt, so a flood of
 * refused operations costs bounded memory. */
#define ARB_MEMPOOL_VIEW_SLACK 1024u
typedef struct {
    size_t count, bytes;         /* payload transactions pending */
    uint64_t applications;       /* payloads applied to a view (admission and rebuilds) */
    uint64_t sig_verifications;  /* anchor signatures verified */
    uint64_t rebuilds;           /* views built from the tip's state */
    uint64_t rejected_full;      /* `mempool-payload-full` */
    uint64_t rejected_per_record; /* `too-many-pending-anchors`, `too-many-pending-name-ops` */
    size_t view_entries;         /* records the view holds now */
} arb_mempool_payload_stats;
void arb_mempool_payload_stats_get(arb_mempool *mp, arb_mempool_payload_stats *out);

/* For tests: brings the pool's view up to date with chain (state_get set)
 * and compares it with a view rebuilt from scratch by arb_sview_apply (every
 * signature verified again). Returns 1 when equal, 0 otherwise (eb says). */
int arb_mempool_state_check(arb_mempool *mp, const arb_mempool_chain *chain, arb_errbuf *eb);

/* After a reorganization: re-admits the non-coinbase transactions of the
 * disconnected blocks (txs, in chain order; they were verified when their
 * blocks connected), then the pool's previous transactions in arrival order,
 * against the new chain, with every rule but the signature check (signatures
 * cannot change validity across a reorg) and without the fee-rate floors.
 * Those that no longer fit the chain are dropped. Returns ARB_OK or
 * ARB_ERR_NOMEM. */
arb_err arb_mempool_resync(arb_mempool *mp, const arb_chain_checker *c,
                           const arb_mempool_chain *chain, const arb_tx *txs, size_t n)
    ARB_WARN_UNUSED;

/* One entry's figures. Ancestor totals include the entry, as do the
 * descendant totals. */
typedef struct {
    uint64_t fee;
    size_t size;
    int64_t time;    /* arrival (seconds) */
    uint64_t seq;    /* arrival order */
    size_t anc_count, anc_size;
    uint64_t anc_fees;
    size_t desc_count, desc_size;
    uint64_t desc_fees;
} arb_mempool_entry_info;

/* Copy of the mempool transaction txid (dst initialized; may be NULL) and its
 * figures (info may be NULL): ARB_OK, ARB_ERR_NOT_FOUND or NOMEM. */
arb_err arb_mempool_get(arb_mempool *mp, const arb_hash *txid, arb_tx *dst,
                        arb_mempool_entry_info *info) ARB_WARN_UNUSED;
/* 1 if a mempool transaction spends op. */
int arb_mempool_spends(arb_mempool *mp, const arb_outpoint *op);
void arb_mempool_stats(arb_mempool *mp, size_t *count, size_t *bytes);

typedef struct {
    size_t count, bytes, max_bytes;
    uint64_t total_fees;
    uint64_t min_fee_rate;       /* what a newcomer must pay now (max of the two below) */
    uint64_t rolling_min_fee_rate;
    uint64_t min_relay_fee_rate;
    uint64_t incremental_fee_rate;
    uint64_t generation;         /* changes whenever the content or the tip changes */
    arb_hash tip;                /* the chain tip the pool is valid on */
} arb_mempool_info;
void arb_mempool_info_get(arb_mempool *mp, arb_mempool_info *out);

/* Calls fn for each transaction in arrival order (pool locked meanwhile; fn
 * must not call back into the pool). Stops when fn returns non-zero. */
typedef int (*arb_mempool_tx_fn)(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee);
void arb_mempool_foreach(arb_mempool *mp, arb_mempool_tx_fn fn, void *ud);

/* Picks transactions for a block template by ancestor fee rate (Core's
 * modified-ancestor-score algorithm, so a child can pay for its parents):
 * repeatedly the package (a transaction with its not yet chosen ancestors)
 * of the highest fee rate that fits in max_bytes, parents before children,
 * until no package pays the minimum relay fee rate or the block is full
 * (1000 consecutive packages did not fit while within 4000 bytes of the
 * limit). Time O(n + k log n) for a pool of n and k packages considered.
 * Fills *out (malloc'd copies, n_out entries; free each with arb_tx_clear and
 * the array with free), *fees, and when not NULL *tip and *generation (the
 * pool's state the selection was made on). Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_mempool_select(arb_mempool *mp, size_t max_bytes, arb_tx **out, size_t *n_out,
                           uint64_t *fees, arb_hash *tip, uint64_t *generation) ARB_WARN_UNUSED;

/* ---------------------------------------------------------------- persistence
 *
 * The mempool file (after Core's mempool.dat), all integers little-endian:
 *   magic      8 bytes "ARBMPOOL"
 *   version    u32 = 1
 *   network    32 bytes (the network id of params.h)
 *   count      u64
 *   count x (  time i64 | length CompactSize (1..ARB_MEMPOOL_MAX_TX_SIZE) |
 *              the transaction's full serialization )
 *   checksum   32 bytes: SHA-256 of everything before it
 * Written to "<path>.new", fsynced, renamed over path, then the directory is
 * fsynced; so a crash leaves either the old or the new file. */
#define ARB_MEMPOOL_FILE_VERSION 1u

/* Writes the pool to path (parents before children). Returns ARB_OK, ARB_ERR_IO
 * (message in eb) or NOMEM. n_out (may be NULL) receives the count. */
arb_err arb_mempool_save(arb_mempool *mp, const char *path, size_t *n_out, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Parses a mempool file image for network p: checks magic, version, network,
 * checksum and every length, then calls fn for each decoded transaction
 * (stops early when fn returns non-zero). Returns ARB_OK, ARB_ERR_PARSE
 * (reason in eb; fn is never called for a file that fails the checks) or
 * NOMEM. Pure function: the fuzz target drives it. */
typedef int (*arb_mempool_file_fn)(void *ud, int64_t time, const arb_tx *tx);
arb_err arb_mempool_file_parse(const arb_chain_params *p, arb_sha256 *sha, const uint8_t *data,
                               size_t len, arb_mempool_file_fn fn, void *ud, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Loads path (if it exists) and re-admits every transaction through the
 * normal admission checks against chain. A missing file is ARB_OK with zero
 * counts; an unreadable or corrupt one returns ARB_ERR_PARSE / ARB_ERR_IO
 * with the reason in eb and leaves the pool unchanged. The file may be at
 * most max_bytes * 2 + 1 MiB long. *accepted / *rejected (may be NULL)
 * receive the counts. */
arb_err arb_mempool_load(arb_mempool *mp, const arb_chain_checker *c,
                         const arb_mempool_chain *chain, const char *path, size_t *accepted,
                         size_t *rejected, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Checks every index and cached total against a recomputation from scratch
 * (for tests): returns 1 when consistent, 0 otherwise (what broke in eb). */
int arb_mempool_check_consistency(arb_mempool *mp, arb_errbuf *eb);

#endif
