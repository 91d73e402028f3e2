/* The zone-file store of a node (docs/names.md, "Zone files"): every zone
 * file whose SHA-256 is on the chain, kept in one RocksDB column family, and
 * the set of on-chain hashes the node still lacks.
 *
 * The chain is asked through an oracle (two function pointers), so the store
 * does not depend on the chain's code: arbord passes one built on the chain
 * state, tests pass their own. A zone file is taken only when its hash is on
 * chain now; it is written in a synced batch before the call returns, so a
 * stored zone file survives a power loss.
 *
 * The missing set is recomputed after every tip change by a scan over the
 * oracle's hashes in key order, a bounded number of hashes per step
 * (arb_zonefiles_scan_step), so no single call holds the chain for long; a
 * tip change during a scan makes another scan follow it. Hashes that left
 * the chain (a reorganization) leave the set when the scan that no longer
 * sees them ends. The set is at most ARB_ZONEFILES_MAX_MISSING hashes
 * (the rest is found by a later scan once some have arrived).
 *
 * Thread-safety: every function may be called from any thread; one mutex
 * guards the store's state and is never held while the oracle runs. */
#ifndef ARB_NAMES_ZONEFILES_H
#define ARB_NAMES_ZONEFILES_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/names/names.h"
#include "ledger/store/store.h"
#include "merkle/error.h"
#include "merkle/hash.h"

#define ARB_ZONEFILES_CF_COUNT 1
#define ARB_ZONEFILES_MAX_MISSING 1000000 /* 48 MB of hash table at most */

typedef struct arb_zonefiles arb_zonefiles;

/* What the store asks of the chain. Both are called without the store's
 * mutex held, from the thread that called into the store. */
typedef struct {
    /* 1 when some active-chain record names this zone-file hash, else 0. */
    int (*onchain)(void *ud, const uint8_t hash32[32]);
    /* Calls fn(fn_ud, hash) for every on-chain zone-file hash greater than
     * after32 (NULL: from the first), in increasing bytewise order, until fn
     * returns non-zero. Returns ARB_OK or the error that stopped it. */
    arb_err (*each)(void *ud, const uint8_t *after32,
                    int (*fn)(void *fn_ud, const uint8_t hash32[32]), void *fn_ud);
    void *ud;
} arb_zonefiles_oracle;

/* Called after a zone file was stored (durably), on the thread that stored
 * it, without the store's mutex: the peer network announces it. */
typedef void (*arb_zonefiles_stored_fn)(void *ud, const uint8_t hash32[32]);

/* The column family names the store uses (ARB_ZONEFILES_CF_COUNT of them). */
const char *const *arb_zonefiles_cf_names(void);

/* Opens the store on column family cf of s (borrowed: s must outlive it)
 * with the oracle (copied) and starts a first scan. Returns ARB_OK,
 * ARB_ERR_NOMEM, ARB_ERR_INVALID_ARG (a NULL oracle function), or the
 * store's error while counting the stored files. Free with arb_zonefiles_free. */
arb_err arb_zonefiles_open(arb_zonefiles **out, arb_store *s, unsigned cf,
                           const arb_zonefiles_oracle *oracle, arb_errbuf *eb) ARB_WARN_UNUSED;
/* NULL is fine. */
void arb_zonefiles_free(arb_zonefiles *z);

/* Installs (fn non-NULL) or removes the stored hook. */
void arb_zonefiles_set_hook(arb_zonefiles *z, arb_zonefiles_stored_fn fn, void *ud);

/* Checks and stores a zone file. expect32: the hash the caller asked for
 * (a peer's answer), or NULL. On ARB_OK hash32 is its SHA-256 and *is_new
 * (if not NULL) 1 when it was not stored before (then the hook ran).
 * Returns ARB_OK; ARB_ERR_INVALID_ARG when len > ARB_NAMES_ZONEFILE_MAX;
 * ARB_ERR_VERIFY when expect32 is given and the hash differs;
 * ARB_ERR_NOT_FOUND when the hash is not on chain; ARB_ERR_IO / ARB_ERR_DB
 * when the write failed. Nothing is stored on failure. */
arb_err arb_zonefiles_add(arb_zonefiles *z, const uint8_t *zf, size_t len,
                          const uint8_t *expect32, uint8_t hash32[static 32], int *is_new,
                          arb_errbuf *eb) ARB_WARN_UNUSED;

/* The zone file with this hash: *out malloc'd (free it; never NULL on
 * ARB_OK, even when empty), *len its length. ARB_ERR_NOT_FOUND when not
 * stored, ARB_ERR_DB / ARB_ERR_IO. */
arb_err arb_zonefiles_get(arb_zonefiles *z, const uint8_t hash32[static 32], uint8_t **out,
                          size_t *len, arb_errbuf *eb) ARB_WARN_UNUSED;
/* 1 when stored (0 also when the store cannot be read). */
int arb_zonefiles_has(arb_zonefiles *z, const uint8_t hash32[static 32]);

/* Up to cap stored hashes greater than after32 (NULL: from the first), in
 * increasing order, into out; *n how many. Returns ARB_OK or the store's
 * error. For announcing the stored files to a new peer page by page. */
arb_err arb_zonefiles_list(arb_zonefiles *z, const uint8_t *after32, uint8_t (*out)[32],
                           size_t cap, size_t *n) ARB_WARN_UNUSED;

/* The number of stored zone files. */
uint64_t arb_zonefiles_count(arb_zonefiles *z);

/* ---- the missing set ---- */

/* The chain's tip moved: a scan starts (or, if one is running, another
 * follows it). Cheap; any thread. */
void arb_zonefiles_tip_changed(arb_zonefiles *z);
/* Runs the current scan over at most max_hashes of the oracle's hashes.
 * Returns 1 when a scan is still under way (call again), 0 when the missing
 * set is up to date, or -1 when the oracle failed (the scan starts again at
 * the next call). */
int arb_zonefiles_scan_step(arb_zonefiles *z, size_t max_hashes);
/* 1 when hash32 is on chain (as of the last finished scan, or seen by the
 * running one) and not stored. */
int arb_zonefiles_is_missing(arb_zonefiles *z, const uint8_t hash32[static 32]);
/* Hashes of the missing set, up to cap, in no particular order, starting at
 * position *cursor of the set's table (0 at first; updated; back to 0 when
 * the table has been walked). Returns how many were written. */
size_t arb_zonefiles_missing_list(arb_zonefiles *z, size_t *cursor, uint8_t (*out)[32],
                                  size_t cap);
/* The size of the missing set. */
size_t arb_zonefiles_missing_count(arb_zonefiles *z);

#endif
