/* The node's chain state in RocksDB (through ledger/store): a block index with
 * cumulative work, stored blocks, the UTXO set with per-block undo data, the
 * active chain by height, and an address index of unspent outputs per key.
 *
 * Blocks are accepted in any order once their parent is known. Whenever a
 * stored block gives a chain with more cumulative work than the tip, the
 * state reorganizes to it: blocks are disconnected back to the fork point with
 * their undo data and the new branch is connected, each connect or disconnect
 * being one atomic batch with the block's undo data and the new tip (so a
 * crash leaves the state at a block boundary; arb_chainstate_set_flush says
 * which batches are synced; the UTXO set may lag behind in a crash and is
 * brought to the tip at the next open, arb_chainstate_set_cache). A block that fails validation while being connected is marked
 * invalid, every block built on it is refused, and the state returns to the
 * best valid chain it was on.
 *
 * Column families (the caller lists them, consecutively, starting at cf_base,
 * when it opens the store; arb_chainstate_cf_names gives the names):
 *   chain_index   block hash -> header (80) | height u32 | status u8 | work (32, big-endian)
 *   chain_blocks  block hash -> serialized block
 *   chain_undo    block hash -> spent coins in spending order
 *   chain_utxo    txid | index u32 BE -> amount u64 | key 32 | height u32 | coinbase u8
 *   chain_height  height u32 BE -> block hash (active chain only)
 *   chain_addr    key 32 | txid | index u32 BE -> amount u64 (unspent outputs per key)
 *   chain_meta    "tip" -> block hash
 *   chain_tx      txid -> height u32 BE | index in block u32 BE (active chain)
 *   chain_hist    key 32 | height u32 BE | tx index u32 BE -> txid | received u64 |
 *                 sent u64 (every active-chain transaction paying or spending the key)
 *   state_records kind u8 | key 32 -> record (the committed state: names,
 *                 namespaces, preorders, anchored heads; stateview.h)
 *   state_smt     node hash -> node (the state tree, merkle/smt.h)
 *   state_undo    block hash -> the block's state undo data (previous root,
 *                 records before the block, zone-file counts)
 *   state_history kind u8 | key 32 | height u32 BE | tx index u32 BE -> txid |
 *                 payload type u8 | block hash [| anchored head 85]
 *   state_index   'o' | owner 32 | name key 32 -> "" and 'z' | zone-file hash
 *                 -> count u32 (active-chain history entries naming it)
 *   state_roots   block hash -> state root after the block
 * docs/ledger.md gives the bytes.
 *
 * Not thread-safe: one thread submits blocks and reads (the node's chain
 * thread); readers on other threads should use their own store snapshots. */
#ifndef ARB_CHAIN_CHAINSTATE_H
#define ARB_CHAIN_CHAINSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/consensus.h"
#include "ledger/chain/stateview.h"
#include "ledger/store/store.h"

typedef struct arb_chainstate arb_chainstate;

#define ARB_CHAINSTATE_NCF 15
/* The column family names, in the order the caller must list them. */
const char *const *arb_chainstate_cf_names(void);

/* Opens the chain state on an open store whose column families
 * cf_base .. cf_base+14 are the ones named above. A new state starts with the
 * network's genesis block as tip (its coinbase is not spendable). The store
 * stays owned by the caller and must outlive the chain state. sig_threads:
 * signature verification threads (>= 1). Returns ARB_OK, ARB_ERR_PARSE
 * (corrupt or other network's state), ARB_ERR_DB/IO, ARB_ERR_NOMEM. */
arb_err arb_chainstate_open(arb_chainstate **out, arb_store *store, unsigned cf_base,
                            const arb_chain_params *p, unsigned sig_threads,
                            const arb_logger *log, arb_errbuf *eb) ARB_WARN_UNUSED;
/* Flushes (arb_chainstate_flush) and frees the chain state. */
void arb_chainstate_close(arb_chainstate *cs);

/* The flush policy. By default (max_blocks 1) every connect, disconnect and
 * stored body is a synced batch: an ARB_OK from submit means it survives a
 * power loss. With max_blocks > 1 those batches are written without a sync
 * and the write-ahead log is synced by the max_blocks-th unsynced batch, by
 * the first batch max_ms after the last sync (0: no time bound), by
 * arb_chainstate_flush and at close. A kill -9 loses nothing (the operating
 * system keeps what was written); a power loss keeps a prefix of the batches,
 * at least up to the last sync: the state at a block boundary with its
 * recorded tip, from which the blocks after it are fetched and connected
 * again. A caller that acknowledges a block as durable calls
 * arb_chainstate_flush first. */
void arb_chainstate_set_flush(arb_chainstate *cs, unsigned max_blocks, unsigned max_ms);
/* Syncs every batch written so far (nothing when all are synced): ARB_OK or
 * a storage error. */
arb_err arb_chainstate_flush(arb_chainstate *cs) ARB_WARN_UNUSED;
/* How many synced batches the flush policy and arb_chainstate_flush wrote. */
uint64_t arb_chainstate_sync_count(const arb_chainstate *cs);

/* The coins cache (docs/ledger.md, "Coins cache"): the UTXO changes of the
 * blocks connected since the last flush stay in memory (a coin created and
 * spent between two flushes never reaches the disk) and are written in one
 * batch, with the block they belong to recorded as "coins" in chain_meta, at
 * the flush policy's sync points, when the cache would pass `bytes` (default
 * 128 MiB), before a disconnect, by arb_chainstate_flush and at close, and
 * before a reader that iterates the disk (addr_coins and the digests).
 * After a crash, arb_chainstate_open re-applies the blocks from the "coins"
 * block to the tip from their bodies and undo data. Lookups
 * (arb_chainstate_get_coin, arb_chainstate_utxo_lookup) read the cache
 * first. With max_blocks 1 the cache is written out with every block. */
void arb_chainstate_set_cache(arb_chainstate *cs, size_t bytes);
/* How many times the cache was written out (for tests and benchmarks). */
uint64_t arb_chainstate_cache_flushes(const arb_chainstate *cs);
/* Entries in the cache now. */
size_t arb_chainstate_cache_count(const arb_chainstate *cs);
/* How many blocks arb_chainstate_open re-applied to the coins on disk (0
 * after a clean close). */
uint32_t arb_chainstate_replayed(const arb_chainstate *cs);
/* 1 when the open rewrote the tip block's transaction index and history (a
 * crash came between the block's batch and its index batch), else 0. */
uint32_t arb_chainstate_repaired(const arb_chainstate *cs);

typedef struct {
    arb_hash hash;
    uint32_t height;
    arb_u256 work; /* cumulative */
} arb_chain_tip;

void arb_chainstate_tip(const arb_chainstate *cs, arb_chain_tip *out);

typedef enum {
    ARB_BLOCK_CONNECTED = 1,  /* became (part of) the active chain */
    ARB_BLOCK_STORED = 2,     /* valid header, stored on a side branch with less work,
                                 or waiting for an earlier body (headers-first sync) */
    ARB_BLOCK_DUPLICATE = 3,  /* already known */
    ARB_BLOCK_HEADER_ONLY = 4, /* valid header kept, body dropped (storage policy) */
} arb_block_outcome;

/* Submits a block (`now` is the current Unix time, for the header's
 * future-time rule). Returns ARB_OK with *outcome, or ARB_ERR_VERIFY with
 * res->reason: a header rule (hdrcheck.h), a block rule (consensus.h),
 * `bad-prevblk` (built on an invalid block), `duplicate-invalid` (the block
 * was found invalid before), or, when the block made a
 * heavier chain that failed to connect, that block's reason (the tip is then
 * unchanged). ARB_ERR_DB/IO/NOMEM on storage failures. */
arb_err arb_chainstate_submit(arb_chainstate *cs, const arb_block *b, int64_t now,
                              arb_block_outcome *outcome, arb_check_result *res) ARB_WARN_UNUSED;

/* Headers-first sync (p2p/): checks a header (parent known and valid, the
 * header rules of hdrcheck.h) and stores it in the block index without a
 * body. A known header is fine (*is_new 0). Returns ARB_OK, ARB_ERR_VERIFY
 * with res->reason (`prev-blk-not-found`, `bad-prevblk`, `duplicate-invalid`
 * or a header rule), or a storage error. hash_out may be NULL. A later
 * arb_chainstate_submit of the block skips the header rules. */
arb_err arb_chainstate_accept_header(arb_chainstate *cs, const arb_block_header *h, int64_t now,
                                     arb_hash *hash_out, int *is_new, arb_check_result *res)
    ARB_WARN_UNUSED;

/* What the index knows of a block. */
typedef struct {
    arb_block_header hdr;
    uint32_t height;
    arb_u256 work; /* cumulative */
    int have_data; /* the body is stored */
    int invalid;   /* it or an ancestor failed validation */
} arb_chain_hdrinfo;
/* ARB_OK, ARB_ERR_NOT_FOUND or a storage error. */
arb_err arb_chainstate_header(arb_chainstate *cs, const arb_hash *hash, arb_chain_hdrinfo *out)
    ARB_WARN_UNUSED;

/* Moves the active chain to the known block `hash` if its chain has more work
 * than the tip (blocks submitted out of order are stored but connect only
 * once every body before them is there). ARB_OK (also when it has less
 * work), ARB_ERR_NOT_FOUND (unknown, or a body on the way is missing: nothing
 * changed), ARB_ERR_VERIFY (a block failed: marked invalid, the tip is back
 * on a valid chain), or a storage error. */
arb_err arb_chainstate_activate_to(arb_chainstate *cs, const arb_hash *hash, arb_check_result *res)
    ARB_WARN_UNUSED;

/* As arb_chainstate_submit (which is this with requested = 1), with the
 * storage policy of Bitcoin Core's AcceptBlock for blocks nobody asked for
 * (requested = 0: a peer's unsolicited block, POST /chain/v1/block): the body
 * is written only if its chain has at least the tip's work or the block lies
 * on the chain of the best known header (which has more work than the tip);
 * otherwise the header is kept and the outcome is ARB_BLOCK_HEADER_ONLY. A
 * stored body that completes the bodies up to a heavier known header moves
 * the tip there. */
arb_err arb_chainstate_submit_ex(arb_chainstate *cs, const arb_block *b, int64_t now,
                                 int requested, arb_block_outcome *outcome,
                                 arb_check_result *res) ARB_WARN_UNUSED;

/* The unspent output at op: ARB_OK, ARB_ERR_NOT_FOUND, or a storage error. */
arb_err arb_chainstate_get_coin(arb_chainstate *cs, const arb_outpoint *op, arb_coin *out)
    ARB_WARN_UNUSED;
/* Hash of the active chain's block at height: ARB_OK or ARB_ERR_NOT_FOUND. */
arb_err arb_chainstate_hash_at(arb_chainstate *cs, uint32_t height, arb_hash *out) ARB_WARN_UNUSED;
/* Calls fn for each unspent output locking to key32 (address index), in
 * outpoint order; stops early when fn returns non-zero. */
typedef int (*arb_chain_coin_fn)(void *ud, const arb_outpoint *op, uint64_t amount);
arb_err arb_chainstate_addr_coins(arb_chainstate *cs, const uint8_t key32[static 32],
                                  arb_chain_coin_fn fn, void *ud) ARB_WARN_UNUSED;
/* 1 if the block is known and marked invalid (or built on an invalid one). */
int arb_chainstate_is_invalid(arb_chainstate *cs, const arb_hash *hash);
/* Median time past of the active tip (for mempool lock-time checks). */
int64_t arb_chainstate_tip_mtp(arb_chainstate *cs);
/* The UTXO lookup callback for consensus checks against the active tip
 * (ud = the arb_chainstate). */
int arb_chainstate_utxo_lookup(void *ud, const arb_outpoint *op, arb_coin *out);

/* The stored block `hash` (any branch): its header, the block, its height and
 * whether it is on the active chain (each output may be NULL). blk
 * must be initialized; it is cleared first. ARB_OK, ARB_ERR_NOT_FOUND, or a
 * storage / parse error. */
arb_err arb_chainstate_get_block(arb_chainstate *cs, const arb_hash *hash, arb_block_header *hdr,
                                 arb_block *blk, uint32_t *height, int *in_main) ARB_WARN_UNUSED;
/* SHA-256 over the UTXO set's records (lengths, key, value; in key order) and
 * their count: equal states give equal digests (for tests and audits). */
arb_err arb_chainstate_utxo_digest(arb_chainstate *cs, arb_hash *out, uint64_t *count)
    ARB_WARN_UNUSED;
/* The same over the address index, the transaction index and the address
 * history (chain_addr, chain_tx, chain_hist). */
arb_err arb_chainstate_index_digest(arb_chainstate *cs, arb_hash *out, uint64_t *count)
    ARB_WARN_UNUSED;

/* Where the active chain holds txid: ARB_OK, ARB_ERR_NOT_FOUND or a storage error. */
arb_err arb_chainstate_find_tx(arb_chainstate *cs, const arb_hash *txid, uint32_t *height,
                               uint32_t *index) ARB_WARN_UNUSED;
/* Calls fn for each active-chain transaction paying key32 (received: sum of
 * its outputs to the key) or spending its outputs (sent: sum of those coins),
 * oldest first; stops early when fn returns non-zero. */
typedef int (*arb_chain_hist_fn)(void *ud, const arb_hash *txid, uint32_t height,
                                 uint64_t received, uint64_t sent);
arb_err arb_chainstate_addr_history(arb_chainstate *cs, const uint8_t key32[static 32],
                                    arb_chain_hist_fn fn, void *ud) ARB_WARN_UNUSED;

/* ---- the committed state (names, namespaces, log anchors) ---- */

/* State root after the active-chain block at height (genesis: the empty
 * root, 32 zero bytes). ARB_OK, ARB_ERR_NOT_FOUND or a storage error. */
arb_err arb_chainstate_state_root(arb_chainstate *cs, uint32_t height, arb_hash *out)
    ARB_WARN_UNUSED;
/* 1 when some active-chain name record or name history entry names this
 * zone-file hash. */
int arb_chainstate_zonefile_onchain(arb_chainstate *cs, const uint8_t hash32[static 32]);
/* Every on-chain zone-file hash, in key order; stops when fn returns non-zero. */
arb_err arb_chainstate_zonefile_each(arb_chainstate *cs,
                                     int (*fn)(void *ud, const uint8_t hash32[32]), void *ud)
    ARB_WARN_UNUSED;
/* The same from the first hash after `after32` (NULL: from the start). */
arb_err arb_chainstate_zonefile_each_after(arb_chainstate *cs, const uint8_t *after32,
                                           int (*fn)(void *ud, const uint8_t hash32[32]),
                                           void *ud) ARB_WARN_UNUSED;

/* The tip's record of (kind, key) (stateview.h kinds and keys) into
 * out[0..*len): ARB_OK, ARB_ERR_NOT_FOUND or a storage error. */
arb_err arb_chainstate_state_get(arb_chainstate *cs, uint8_t kind, const uint8_t key32[static 32],
                                 uint8_t out[ARB_SREC_MAX], size_t *len) ARB_WARN_UNUSED;
/* The arb_smt_proof_encode bytes proving the tip's record of (kind, key)
 * (or its absence) against the tip's state root, appended to out, and the
 * root and the tree key into *root / tree_key32. Preorders are not in the
 * tree (ARB_ERR_INVALID_ARG). */
arb_err arb_chainstate_state_prove(arb_chainstate *cs, uint8_t kind, const uint8_t key32[static 32],
                                   arb_buf *out, arb_hash *root, uint8_t tree_key32[32])
    ARB_WARN_UNUSED;
/* The state's history of (kind, key), oldest first: each operation's height,
 * transaction index, txid, payload type, block and (anchors) the head it
 * anchored (rec may be NULL). Entries before `skip` are skipped; fn returns
 * non-zero to stop. */
typedef int (*arb_chain_shist_fn)(void *ud, uint32_t height, uint32_t tx_index,
                                  const arb_hash *txid, uint8_t op, const arb_hash *block,
                                  const uint8_t *rec, size_t rec_len);
arb_err arb_chainstate_state_history(arb_chainstate *cs, uint8_t kind,
                                     const uint8_t key32[static 32], arb_chain_shist_fn fn,
                                     void *ud) ARB_WARN_UNUSED;
/* The last (newest) history entry of (kind, key) only: fn is called once,
 * or not at all when there is none. */
arb_err arb_chainstate_state_history_last(arb_chainstate *cs, uint8_t kind,
                                          const uint8_t key32[static 32], arb_chain_shist_fn fn,
                                          void *ud) ARB_WARN_UNUSED;
/* Every record of a kind at the tip in key order from the first key after
 * `after32` (NULL: from the start); fn returns non-zero to stop. */
typedef int (*arb_chain_srec_fn)(void *ud, const uint8_t key32[32], const uint8_t *rec,
                                 size_t len);
arb_err arb_chainstate_state_each(arb_chainstate *cs, uint8_t kind, const uint8_t *after32,
                                  arb_chain_srec_fn fn, void *ud) ARB_WARN_UNUSED;
/* The name records owned by owner32 at the tip (by name key); fn as above. */
arb_err arb_chainstate_names_by_owner(arb_chainstate *cs, const uint8_t owner32[static 32],
                                      arb_chain_srec_fn fn, void *ud) ARB_WARN_UNUSED;

/* SHA-256 over the committed state's records, history and indexes
 * (state_records, state_history, state_index; in key order) and their count:
 * nodes that saw the same active chain, by any path of reorganizations, give
 * equal digests (the tree's node store keeps the nodes of abandoned roots,
 * so it is not part of it; compare the roots for that). */
arb_err arb_chainstate_state_digest(arb_chainstate *cs, arb_hash *out, uint64_t *count)
    ARB_WARN_UNUSED;

/* Applies the payloads of txs as the next block would (height tip + 1, in
 * order; the coinbase is not among them) to the tip's state, leaving out
 * every transaction whose operation fails: ok[i] = 1 when txs[i] applies (or
 * has no payload), 0 with reasons[i] (may be NULL) otherwise. senders may be
 * NULL or have an entry per transaction (NULL entries: the key is found from
 * the earlier transactions' outputs, then the UTXO set; a transaction whose
 * input 0 is found nowhere fails with "bad-txns-inputs-missingorspent").
 * root (may be NULL): the state root after the block. Nothing is written.
 * Returns ARB_OK or a storage / memory error. */
arb_err arb_chainstate_state_preview(arb_chainstate *cs, const arb_tx *const *txs, size_t n,
                                     const uint8_t *const *senders, uint8_t *ok,
                                     const char **reasons, arb_hash *root) ARB_WARN_UNUSED;

#endif
