/* The transparency log served by arbord: sequencing, durable storage in
 * RocksDB, and the read side (tree heads, entries, proofs, tiles, issuers).
 *
 * Write path (DESIGN.md "Sequencing"): validated submissions are queued; a
 * sequencer thread takes what is queued (group commit; or pools submissions
 * for a configured window), assigns consecutive
 * indices, signs each SCT, integrates the leaves into the tree, and writes
 * the entries, the new tree nodes, the indexes and the new signed tree head
 * (and checkpoint) in ONE synced RocksDB batch. Only after that write
 * succeeds are the submitters answered and the new tree head published, so an
 * SCT is never handed out for an entry that is not durably in the tree.
 * Re-submitting a certificate (same entry type and leaf / precertificate)
 * returns the original entry's SCT.
 *
 * Every SCT and MerkleTreeLeaf carries the static-ct-api leaf_index
 * extension, so the same tree also serves C2SP static-ct-api tiles.
 *
 * Thread-safety: all functions may be called from any thread once
 * arb_log_open returned, except arb_log_close. */
#ifndef ARB_LEDGER_LOG_LOG_H
#define ARB_LEDGER_LOG_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/key.h"
#include "ledger/store/store.h"
#include "merkle/error.h"
#include "merkle/hash.h"

/* Column families the log needs, in this order (open the store with them). */
#define ARB_LOG_CF_COUNT 6
extern const char *const arb_log_cf_names[ARB_LOG_CF_COUNT];

typedef struct arb_log arb_log;

typedef struct {
    arb_store *store;     /* borrowed; outlives the log */
    const unsigned *cfs;  /* ARB_LOG_CF_COUNT column family indexes, arb_log_cf_names order */
    const arb_ct_signer *signer; /* borrowed log key */
    const char *origin;   /* checkpoint origin, e.g. "log.example.org/2026"; copied */
    unsigned batch_ms;    /* pooling window, ms; 0: none (group commit: each batch is what
                             queued while the previous one was being written) */
    size_t batch_max;     /* most entries per batch; 0: 512 */
    unsigned sth_refresh_s; /* re-sign an unchanged tree head this often; 0: 3600 s */
    unsigned retry_max_ms; /* after a storage failure, most time between recovery attempts
                              (they start at 250 ms and double); 0: 5000 */
    size_t tile_cache_bytes; /* most bytes of full data tiles kept in memory (they never
                                change, so each is built once); 0: 32 MiB */
    arb_logger log;
    /* Optional: called after a batch is durable (on the committer thread, or
     * the submitting one with submit_inline; never two calls at once), with
     * the entries it added, the new tree size and the seconds its synced
     * write took (for metrics and a log summary; must not block). */
    void (*on_batch)(void *ud, size_t added, uint64_t tree_size, double commit_seconds);
    void *batch_ud;
    /* Optional: called while a batch is prepared (on the sequencer thread,
     * or the submitting one with submit_inline; never two calls at once) for
     * each new entry, to add rows of an index to the same batch (so they are
     * written with the entry, atomically). chain is the submission's
     * validated chain (its leaf_x509 saves parsing the certificate again).
     * An error fails the batch. */
    arb_err (*index_entry)(void *ud, arb_store_batch *b, uint64_t index, const arb_ct_leaf *leaf,
                           const arb_ct_chain *chain);
    void *index_ud;
    /* 1: a submission that finds the log idle (group commit, nothing queued,
     * nothing being sequenced or written) is sequenced, written and answered
     * on the submitting thread, inside arb_log_submit, instead of being
     * handed to the sequencer and then to the committer (two thread
     * wake-ups fewer for a lone client; docs/log.md). The callbacks above and
     * the submission's fn then run on that thread. 0: always queued. */
    int submit_inline;
} arb_log_config;

/* Opens the log on the store: loads the tree head and the tree's right edge,
 * or, on an empty store, signs and durably writes the tree head of size 0.
 * Starts the sequencer thread. Returns ARB_OK, ARB_ERR_PARSE (stored state
 * is corrupt or signed by another key), ARB_ERR_DB / ARB_ERR_IO, ARB_ERR_NOMEM. */
arb_err arb_log_open(arb_log **out, const arb_log_config *cfg, arb_errbuf *eb) ARB_WARN_UNUSED;
/* Stops the sequencer (queued submissions are still sequenced and answered
 * first) and frees the log. NULL does nothing. */
void arb_log_close(arb_log *l);

/* Drains the log for a clean stop: from now on arb_log_submit refuses with
 * ARB_ERR_BUSY ("the log is shutting down"); what is queued (a pool window
 * included) is sequenced at once, and the call returns when every queued
 * submission has been answered. Reads keep working. Any thread but the
 * sequencer's (i.e. not from an arb_log_submit_fn). */
void arb_log_drain(arb_log *l);

/* Answer to a submission: err ARB_OK with the SCT (valid during the call),
 * or an error with a message. Runs on the committer or sequencer thread, or
 * (refusals, and with submit_inline) inside arb_log_submit. */
typedef void (*arb_log_submit_fn)(void *ud, arb_err err, const arb_ct_sct *sct, const char *msg);

/* Queues a validated chain (takes ownership of chain). fn is called exactly
 * once, after the entry is durably in the tree (or failed); with
 * submit_inline, before arb_log_submit returns when the log was idle, so
 * the caller must hold no lock that fn takes. A chain too large
 * for the entry's TLS encodings (a certificate, TBS, or the chain after the
 * leaf over 2^24-1 bytes) is refused at once with ARB_ERR_PARSE, alone, before
 * it could fail a batch. */
void arb_log_submit(arb_log *l, arb_ct_chain *chain, arb_log_submit_fn fn, void *ud);

/* The latest published signed tree head. */
typedef struct {
    uint64_t tree_size;
    uint64_t timestamp;
    uint8_t root[32];
    uint8_t sig[4 + ARB_CT_SIG_MAX]; /* the encoded digitally-signed structure */
    size_t sig_len;
} arb_log_sth;

void arb_log_get_sth(arb_log *l, arb_log_sth *out);

/* The tree-head history: every tree head the log has published is stored in
 * the batch that stores the head (~120 bytes each), keyed by its timestamp
 * (which strictly increases). A log that predates the history starts it with
 * the head it had when it was first opened with it.
 * Oldest first (newest_first 0): the heads with timestamp > cursor.
 * Newest first (newest_first 1): the heads with timestamp < cursor (cursor 0:
 * from the latest). At most `limit` heads go to out[0..*n); *more is 1 when
 * more follow. Only published heads are returned. Returns ARB_OK,
 * ARB_ERR_PARSE (a corrupt record), ARB_ERR_DB / ARB_ERR_IO. */
arb_err arb_log_sth_history(arb_log *l, uint64_t cursor, int newest_first, size_t limit,
                            arb_log_sth *out, size_t *n, int *more,
                            arb_errbuf *eb) ARB_WARN_UNUSED;
/* ARB_OK if s's signature is the log key's over its RFC 6962 tree head
 * (timestamp, tree size, root); ARB_ERR_PARSE / ARB_ERR_VERIFY otherwise. */
arb_err arb_log_sth_check(arb_log *l, const arb_log_sth *s) ARB_WARN_UNUSED;

/* The log's health. After a failed write (disk full, I/O error) the log is
 * "failed": it refuses submissions with ARB_ERR_IO and `reason` (a sentence
 * for clients, without server paths; the full error goes to the logger), and
 * its sequencer tries to recover with a growing back-off: it reopens the
 * store (arb_store_reopen), reloads the tree from it and stores a fresh tree
 * head; once that write succeeds the log accepts submissions again. Reads keep
 * working throughout. */
#define ARB_LOG_REASON_MAX 160
typedef struct {
    int failed;
    char reason[ARB_LOG_REASON_MAX]; /* "" when healthy */
    uint64_t write_failures;         /* writes (batches, tree heads) that failed */
    uint64_t recoveries;             /* times the log recovered from a failure */
} arb_log_health;
void arb_log_get_health(arb_log *l, arb_log_health *out);
/* The signed checkpoint note matching the latest tree head (malloc'd). */
arb_err arb_log_get_checkpoint(arb_log *l, uint8_t **text, size_t *len) ARB_WARN_UNUSED;

/* Entry i (0 <= i < published size): the MerkleTreeLeaf (leaf_input) and
 * extra_data, both malloc'd. ARB_ERR_NOT_FOUND past the end. */
arb_err arb_log_get_entry(arb_log *l, uint64_t i, uint8_t **leaf_input, size_t *leaf_len,
                          uint8_t **extra, size_t *extra_len) ARB_WARN_UNUSED;
/* Receives entry `index` of a range walk: views valid only during the call.
 * Returning anything but ARB_OK stops the walk with that result. */
typedef arb_err (*arb_log_entry_fn)(void *ud, uint64_t index, const uint8_t *leaf_input,
                                    size_t leaf_len, const uint8_t *extra, size_t extra_len);
/* Entries first..last (inclusive; last < published size) in order, read with
 * one storage iterator (sequential reads, with read-ahead, instead of a point
 * lookup per entry). ARB_ERR_NOT_FOUND past the end. */
arb_err arb_log_get_entries(arb_log *l, uint64_t first, uint64_t last, arb_log_entry_fn fn,
                            void *ud) ARB_WARN_UNUSED;
/* Index of the leaf with this MerkleTreeLeaf hash; ARB_ERR_NOT_FOUND if absent. */
arb_err arb_log_find_leaf(arb_log *l, const arb_hash *leaf_hash, uint64_t *index) ARB_WARN_UNUSED;
/* Inclusion proof of leaf m in the tree of size n (m < n <= published size). */
arb_err arb_log_inclusion(arb_log *l, uint64_t m, uint64_t n, arb_hash **path, size_t *len)
    ARB_WARN_UNUSED;
/* Consistency proof between sizes m <= n <= published size. */
arb_err arb_log_consistency(arb_log *l, uint64_t m, uint64_t n, arb_hash **path, size_t *len)
    ARB_WARN_UNUSED;
/* Root hash of the tree of size n <= published size. */
arb_err arb_log_root_at(arb_log *l, uint64_t n, arb_hash *out) ARB_WARN_UNUSED;

/* static-ct-api tiles. width 0 asks for a full tile (256 entries); a partial
 * tile has 1..255. ARB_ERR_NOT_FOUND when the published tree does not yet
 * have those entries. */
arb_err arb_log_tile(arb_log *l, unsigned level, uint64_t n, unsigned width, uint8_t **out,
                     size_t *len) ARB_WARN_UNUSED;
arb_err arb_log_data_tile(arb_log *l, uint64_t n, unsigned width, uint8_t **out, size_t *len)
    ARB_WARN_UNUSED;
/* The same bytes without a copy: a reference to a read-only data tile, shared
 * with the log's cache of full data tiles (full tiles never change, so each
 * is built from the entries once and kept while the cache's budget,
 * arb_log_config.tile_cache_bytes, allows; partial tiles are built on every
 * call). Release it with arb_log_tile_ref_release, from any thread; it stays
 * valid after arb_log_close. */
typedef struct arb_log_tile_ref arb_log_tile_ref;
arb_err arb_log_data_tile_ref(arb_log *l, uint64_t n, unsigned width, arb_log_tile_ref **out)
    ARB_WARN_UNUSED;
/* Full data tile n only if the cache holds it: no storage read, so it may be
 * called where blocking is not allowed. ARB_OK with a reference, or
 * ARB_ERR_NOT_FOUND (not cached: use arb_log_data_tile_ref). */
arb_err arb_log_data_tile_cached(arb_log *l, uint64_t n, arb_log_tile_ref **out) ARB_WARN_UNUSED;
const uint8_t *arb_log_tile_ref_data(const arb_log_tile_ref *t, size_t *len);
/* Drops one reference. NULL does nothing. */
void arb_log_tile_ref_release(arb_log_tile_ref *t);
/* The DER of an issuer (a chain certificate) by its SHA-256 fingerprint. */
arb_err arb_log_issuer(arb_log *l, const uint8_t fp32[static 32], uint8_t **der, size_t *len)
    ARB_WARN_UNUSED;

#endif
