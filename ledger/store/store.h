/* The storage core: one RocksDB database per node, split into named column
 * families, written through atomic (optionally synced) batches and read through
 * point lookups, bounded iterators and consistent snapshots.
 *
 * No RocksDB type appears here: every handle is opaque. Keys and values are
 * byte strings (uint8_t * plus size_t length); keys sort bytewise (memcmp, a
 * shorter key before its extensions), so big-endian integers in keys iterate in
 * numeric order.
 *
 * Column families are chosen by the caller at open time as a list of names; a
 * column family is then named by its index in that list (0 <= cf < count).
 * Column families that exist in the database but are not in the list are opened
 * too (RocksDB demands it) and simply left alone.
 *
 * Errors: every fallible function returns an arb_err and, when `eb` is not NULL,
 * writes a one-line message naming the data directory into it. Outputs are
 * zeroed / NULL on failure.
 *
 * Thread-safety: an arb_store, its snapshots, and the get / exists / write /
 * iterator-creation functions may be used from any number of threads at once
 * (RocksDB's handles are thread-safe). A batch and an iterator belong to one
 * thread at a time. Free every iterator and snapshot before arb_store_close. */
#ifndef ARB_LEDGER_STORE_STORE_H
#define ARB_LEDGER_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct arb_store arb_store;
typedef struct arb_store_batch arb_store_batch;
typedef struct arb_store_snapshot arb_store_snapshot;
typedef struct arb_store_iter arb_store_iter;

/* The format marker written into the default column family when a store is
 * created; a database with a different (or no) marker is refused. */
#define ARB_STORE_MARKER_KEY "arbor.store.format"
#define ARB_STORE_MARKER_VALUE "arbor-store/1"

/* Open-time settings. A zeroed struct (or NULL) gives the defaults. */
typedef struct {
    int no_create;            /* 1: fail with ARB_ERR_NOT_FOUND instead of creating */
    size_t block_cache_bytes; /* shared LRU block cache; 0: a quarter of RAM, >= 32 MiB */
    uint64_t max_wal_bytes;   /* write-ahead log bound (docs/store.md), >= 256 KiB; 0: 64 MiB */
    arb_logger log;           /* where the store reports (compression fallback, recovery) */
    /* Optional: called after every successful synced write (ARB_STORE_SYNC),
     * on the writing thread, with the seconds the write and its write-ahead
     * log fsync took (for a latency histogram; must not block). */
    void (*on_sync)(void *ud, double seconds);
    void *sync_ud;
} arb_store_opts;

/* Opens (creating if needed) the database in directory `dir` with the `n_cfs`
 * column families named in `cf_names` (missing ones are created; names must be
 * distinct and non-empty; "default" may be listed). Missing parent directories
 * are created.
 * Returns ARB_OK and *out, or:
 *   ARB_ERR_BUSY        the directory is locked by another process (or already
 *                       open in this one)
 *   ARB_ERR_PARSE       the directory is not an arbor store: it holds other files,
 *                       or a RocksDB database with another (or no) format marker
 *   ARB_ERR_NOT_FOUND   no database there and opts->no_create is set
 *   ARB_ERR_IO          the path is not a directory, or an I/O error
 *   ARB_ERR_DB          RocksDB refused (e.g. corruption)
 *   ARB_ERR_INVALID_ARG / ARB_ERR_NOMEM.
 * Close with arb_store_close. */
arb_err arb_store_open(arb_store **out, const char *dir, const char *const *cf_names, size_t n_cfs,
                       const arb_store_opts *opts, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Closes the database (flushing nothing extra: synced writes are already
 * durable). Every iterator, snapshot and batch must be freed first.
 * arb_store_close(NULL) does nothing. */
void arb_store_close(arb_store *s);

/* The directory the store was opened on (owned by the store). */
const char *arb_store_dir(const arb_store *s);

/* Number of caller column families (the n_cfs given to arb_store_open). */
size_t arb_store_cf_count(const arb_store *s);

/* ---- reads ----
 * `snap` NULL reads the latest committed state; otherwise the state at the
 * snapshot. */

/* Looks up `key` in column family `cf`. On ARB_OK, *val is a malloc'd copy of the
 * value (never NULL, even for an empty value; free() it) and *val_len its length.
 * Returns ARB_ERR_NOT_FOUND when the key is absent (not an error worth a
 * message), ARB_ERR_INVALID_ARG for a bad cf, ARB_ERR_DB / ARB_ERR_IO otherwise. */
arb_err arb_store_get(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                      const uint8_t *key, size_t key_len, uint8_t **val, size_t *val_len,
                      arb_errbuf *eb) ARB_WARN_UNUSED;

/* Like arb_store_get but without a copy: calls fn(ud, value, value_len) with a
 * view into RocksDB's memory that is valid only during the call, and returns
 * what fn returns. ARB_ERR_NOT_FOUND (fn not called) when the key is absent. */
typedef arb_err (*arb_store_value_fn)(void *ud, const uint8_t *val, size_t val_len);
arb_err arb_store_get_with(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                           const uint8_t *key, size_t key_len, arb_store_value_fn fn, void *ud,
                           arb_errbuf *eb) ARB_WARN_UNUSED;

/* Copies the value into buf[0..cap). On ARB_OK *val_len is its length. A value
 * longer than cap gives ARB_ERR_INVALID_ARG with *val_len set to the length
 * needed (buf untouched). ARB_ERR_NOT_FOUND when absent (*val_len = 0). */
arb_err arb_store_get_into(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                           const uint8_t *key, size_t key_len, uint8_t *buf, size_t cap,
                           size_t *val_len, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Sets *found to 1 if `key` is present in `cf`, else 0. Returns ARB_OK, or an
 * error as arb_store_get (never ARB_ERR_NOT_FOUND). */
arb_err arb_store_exists(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                         const uint8_t *key, size_t key_len, int *found,
                         arb_errbuf *eb) ARB_WARN_UNUSED;

/* Reads an integer written by arb_store_batch_put_u64 (8 bytes, little-endian).
 * ARB_ERR_NOT_FOUND when absent (*v = 0), ARB_ERR_PARSE when the value is not
 * 8 bytes long. */
arb_err arb_store_get_u64(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                          const uint8_t *key, size_t key_len, uint64_t *v,
                          arb_errbuf *eb) ARB_WARN_UNUSED;

/* ---- write batches ----
 * A batch collects puts and deletes across column families and is applied
 * atomically by arb_store_write: after a crash either all of it or none of it
 * is in the database. Operations apply in the order they were added. A batch is
 * tied to the store it was made for and is used by one thread at a time. */

/* Creates an empty batch for store s. ARB_ERR_NOMEM on failure. */
arb_err arb_store_batch_new(arb_store_batch **out, arb_store *s) ARB_WARN_UNUSED;
void arb_store_batch_free(arb_store_batch *b);
/* Empties the batch for reuse. */
void arb_store_batch_clear(arb_store_batch *b);
/* Number of operations in the batch. */
size_t arb_store_batch_count(const arb_store_batch *b);

/* Queue operations. They copy their arguments. A bad column family index is
 * remembered and makes arb_store_write fail with ARB_ERR_INVALID_ARG (nothing
 * of the batch is written). */
void arb_store_batch_put(arb_store_batch *b, unsigned cf, const uint8_t *key, size_t key_len,
                         const uint8_t *val, size_t val_len);
void arb_store_batch_delete(arb_store_batch *b, unsigned cf, const uint8_t *key, size_t key_len);
/* Deletes every key k with begin <= k < end (bytewise). */
void arb_store_batch_delete_range(arb_store_batch *b, unsigned cf, const uint8_t *begin,
                                  size_t begin_len, const uint8_t *end, size_t end_len);
/* Puts v as 8 little-endian bytes. */
void arb_store_batch_put_u64(arb_store_batch *b, unsigned cf, const uint8_t *key, size_t key_len,
                             uint64_t v);

enum {
    ARB_STORE_SYNC = 1 /* fsync the write-ahead log before returning */
};

/* Applies the batch atomically. With ARB_STORE_SYNC the write-ahead log is
 * fsync'ed before this returns, so the batch survives a power loss once ARB_OK
 * is returned; without it the batch survives a process crash but not a machine
 * crash. The batch is left unchanged (call arb_store_batch_clear to reuse it).
 * Returns ARB_OK, ARB_ERR_INVALID_ARG (bad cf in the batch, or a batch of
 * another store), ARB_ERR_IO (I/O error, disk full: the store then refuses
 * further writes until reopened), ARB_ERR_DB. */
arb_err arb_store_write(arb_store *s, const arb_store_batch *b, unsigned flags,
                        arb_errbuf *eb) ARB_WARN_UNUSED;

/* 1 if a write failed and the store refuses writes until arb_store_reopen. */
int arb_store_write_failed(const arb_store *s);

/* Closes and reopens the database in place (same directory, options and
 * column families) to leave the state a failed write left RocksDB in, and
 * enables writes again. Meant for a module that saw a write fail (disk full,
 * I/O error) and wants to continue once the cause is gone.
 *
 * The store stays usable by every thread: while it is being reopened, new
 * calls wait; the reopen itself waits up to wait_ms for every call in flight
 * and every live batch, snapshot and iterator to finish (free yours before
 * calling). After a reopen the database holds exactly what a restart would
 * show: a batch whose write was reported failed MAY be present (its
 * write-ahead log record can be complete even though the sync failed), so a
 * caller that caches state derived from the store must reload it.
 * Returns ARB_OK; ARB_ERR_IO when the disk is still (nearly) full (checked
 * first: nothing is closed then) or when RocksDB cannot reopen (the store then
 * answers every call with ARB_ERR_IO until a later reopen succeeds);
 * ARB_ERR_BUSY when the store did not become idle in time or another reopen is
 * running (nothing changed); ARB_ERR_DB; ARB_ERR_NOMEM. Thread-safe. */
arb_err arb_store_reopen(arb_store *s, unsigned wait_ms, arb_errbuf *eb) ARB_WARN_UNUSED;

/* ---- snapshots ----
 * A snapshot fixes the state at the moment it is taken: reads and iterators
 * made with it never see later writes. Thread-safe to share between readers. */
arb_err arb_store_snapshot_new(arb_store_snapshot **out, arb_store *s) ARB_WARN_UNUSED;
/* Releases the snapshot. Free iterators made at it first. NULL does nothing. */
void arb_store_snapshot_free(arb_store_snapshot *snap);

/* ---- iterators ----
 * An iterator walks the keys of one column family in bytewise order within
 * [lower, upper): lower NULL means from the first key, upper NULL means to the
 * last. The iterator sees one consistent state: the snapshot's if `snap` is
 * given, otherwise the state when the iterator was created.
 * Lifetime: the views returned by arb_store_iter_key / _value are valid until
 * the iterator next moves or is freed. Free the iterator before its snapshot
 * and before closing the store. One thread at a time per iterator.
 * A new iterator is not positioned: call first, last or seek. */
arb_err arb_store_iter_new(arb_store_iter **out, arb_store *s, const arb_store_snapshot *snap,
                           unsigned cf, const uint8_t *lower, size_t lower_len,
                           const uint8_t *upper, size_t upper_len, arb_errbuf *eb) ARB_WARN_UNUSED;
/* An iterator over exactly the keys that start with prefix[0..prefix_len). */
arb_err arb_store_iter_new_prefix(arb_store_iter **out, arb_store *s,
                                  const arb_store_snapshot *snap, unsigned cf,
                                  const uint8_t *prefix, size_t prefix_len,
                                  arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_store_iter_free(arb_store_iter *it);

/* Position at the first key of the range / the last key of the range. */
void arb_store_iter_first(arb_store_iter *it);
void arb_store_iter_last(arb_store_iter *it);
/* Position at the first key >= key (within the range). */
void arb_store_iter_seek(arb_store_iter *it, const uint8_t *key, size_t key_len);
/* Position at the last key <= key (within the range). */
void arb_store_iter_seek_prev(arb_store_iter *it, const uint8_t *key, size_t key_len);
/* 1 if positioned on a key, 0 at either end or after an error. */
int arb_store_iter_valid(const arb_store_iter *it);
/* Move to the next / previous key. Only when valid. */
void arb_store_iter_next(arb_store_iter *it);
void arb_store_iter_prev(arb_store_iter *it);
/* Views of the current key and value; only when valid. */
const uint8_t *arb_store_iter_key(const arb_store_iter *it, size_t *key_len);
const uint8_t *arb_store_iter_value(const arb_store_iter *it, size_t *val_len);
/* After arb_store_iter_valid returns 0: ARB_OK if the walk simply ended,
 * otherwise the error that stopped it (ARB_ERR_DB / ARB_ERR_IO). */
arb_err arb_store_iter_error(const arb_store_iter *it, arb_errbuf *eb) ARB_WARN_UNUSED;

/* ---- maintenance ---- */

/* Writes the memtables of every column family to table files (the data is
 * already durable through the log; this is for tests and before backups). */
arb_err arb_store_flush(arb_store *s, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Writes a consistent copy of the database into `dir`, which must not exist
 * (RocksDB checkpoint: hard links where possible). The copy opens with
 * arb_store_open. ARB_ERR_EXISTS if dir exists. */
arb_err arb_store_checkpoint(arb_store *s, const char *dir, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
