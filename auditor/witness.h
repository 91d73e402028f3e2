/* A transparency-log witness (c2sp.org/tlog-witness): accepts add-checkpoint
 * requests, checks the log's signature on the checkpoint and its consistency
 * with the last checkpoint it cosigned for that log, and cosigns it
 * (c2sp.org/tlog-cosignature, type 0x04) after persisting the new state with
 * a synced write.
 *
 * State lives in its own store directory (column family "witness": origin ->
 * u64 BE size || 32-byte root || checkpoint text). The check of the old size
 * and the write of the new state happen under one lock, so two racing
 * requests can never roll the state back (tlog-witness "add-checkpoint").
 *
 * Thread-safety: after the logs are added, arb_audit_witness_add_checkpoint
 * may be called from any number of threads at once. */
#ifndef ARB_AUDITOR_WITNESS_H
#define ARB_AUDITOR_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"
#include "merkle/hash.h"
#include "merkle/note.h"

typedef struct arb_audit_witness arb_audit_witness;

/* Opens (creating) the witness state in dir. signer is the witness key (type
 * 0x04; borrowed, must outlive the witness). Returns ARB_OK, ARB_ERR_INVALID_ARG
 * (signer not a cosignature key), or the store's errors (ARB_ERR_BUSY when
 * another witness holds the directory). */
arb_err arb_audit_witness_open(arb_audit_witness **out, const char *dir,
                               const arb_note_signer *signer, arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_audit_witness_close(arb_audit_witness *w);

/* Trusts verifier v (takes ownership) for the origin v's name. Several keys
 * may be added for one origin. Before serving only. Returns ARB_OK,
 * ARB_ERR_NOMEM, ARB_ERR_INVALID_ARG (too many keys). */
arb_err arb_audit_witness_add_log(arb_audit_witness *w, arb_note_verifier *v) ARB_WARN_UNUSED;

/* An HTTP answer to give: status, content type, body (malloc'd, free()). */
typedef struct {
    int status;
    const char *content_type;
    char *body;
    size_t body_len;
} arb_audit_witness_reply;

/* At most this many consistency proof lines in a request. */
#define ARB_AUDIT_WITNESS_MAX_PROOF 63

/* Splits an add-checkpoint request body: "old <size>\n" (canonical decimal),
 * up to ARB_AUDIT_WITNESS_MAX_PROOF lines of base64 32-byte hashes, an empty
 * line, then the checkpoint (*note points into body, *note_len bytes, not
 * checked here). Returns 1, or 0 with why[] saying what is wrong. */
int arb_audit_witness_parse_request(const uint8_t *body, size_t len, uint64_t *old,
                                    arb_hash proof[static ARB_AUDIT_WITNESS_MAX_PROOF],
                                    size_t *n, const uint8_t **note, size_t *note_len, char *why,
                                    size_t why_len);

/* Handles one add-checkpoint request body[0..len) at time now_ms. Always
 * fills *reply (200 with the cosignature lines; 400 malformed or old size
 * larger than the checkpoint; 403 no trusted signature verified; 404 unknown
 * origin; 409 old size is not the last cosigned size (body "<size>\n",
 * text/x.tlog.size) or same size with another root; 422 the consistency proof
 * does not verify; 500 a storage error, nothing cosigned). Returns ARB_OK, or
 * ARB_ERR_NOMEM when even the reply could not be built. */
arb_err arb_audit_witness_add_checkpoint(arb_audit_witness *w, const uint8_t *body, size_t len,
                                         uint64_t now_ms, arb_audit_witness_reply *reply)
    ARB_WARN_UNUSED;

/* The last cosigned tree of origin. ARB_ERR_NOT_FOUND if never cosigned. */
arb_err arb_audit_witness_state(arb_audit_witness *w, const char *origin, uint64_t *size,
                                arb_hash *root, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
