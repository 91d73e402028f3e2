/* Signed tree heads as the auditor handles them: the RFC 6962 get-sth JSON
 * form (RFC 6962 4.3), its signature check against the log's P-256 key
 * (RFC 6962 3.5), and conversion to and from static-ct-api checkpoints
 * (c2sp.org/static-ct-api: the checkpoint carries the same TreeHeadSignature
 * as an RFC6962NoteSignature, type 0x05).
 *
 * An arb_audit_sth is a plain value (no pointers); copy it freely. Pure code,
 * thread-safe. */
#ifndef ARB_AUDITOR_STH_H
#define ARB_AUDITOR_STH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ledger/log/key.h"
#include "merkle/error.h"
#include "merkle/hash.h"

/* TLS digitally-signed: hash(1) sig(1) length(2) DER signature. */
#define ARB_AUDIT_DSIG_MAX (4 + ARB_CT_SIG_MAX)

typedef struct {
    uint64_t tree_size;
    uint64_t timestamp; /* milliseconds since the epoch */
    arb_hash root;      /* sha256_root_hash */
    uint8_t sig[ARB_AUDIT_DSIG_MAX]; /* tree_head_signature, TLS bytes */
    size_t sig_len;
} arb_audit_sth;

/* Reads an STH from a get-sth JSON object {tree_size, timestamp,
 * sha256_root_hash, tree_head_signature}. Sizes and timestamps must be
 * non-negative integers; the hash exactly 32 bytes of strict base64; the
 * signature a well-formed digitally-signed structure of at most
 * ARB_AUDIT_DSIG_MAX bytes. Other members are ignored. Does not verify.
 * Returns ARB_OK or ARB_ERR_PARSE (reason in eb); *out zeroed on failure. */
arb_err arb_audit_sth_from_json(arb_audit_sth *out, const json_t *obj, arb_errbuf *eb)
    ARB_WARN_UNUSED;
/* The same from JSON text. */
arb_err arb_audit_sth_parse(arb_audit_sth *out, const char *text, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;
/* A new get-sth JSON object (caller json_decref()s it), or NULL when out of memory. */
json_t *arb_audit_sth_to_json(const arb_audit_sth *sth);

/* Verifies the tree head signature under the log key. Returns ARB_OK or
 * ARB_ERR_VERIFY (with the reason in eb). */
arb_err arb_audit_sth_verify(const arb_ct_verifier *v, const arb_audit_sth *sth, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Reads a static-ct-api checkpoint (signed note bytes) as an STH: opens it
 * with the log's type 0x05 key (origin = the log's origin) and takes the
 * timestamp and signature from the RFC6962NoteSignature. The STH then
 * verifies with arb_audit_sth_verify as well. Returns ARB_OK, ARB_ERR_PARSE,
 * ARB_ERR_VERIFY, ARB_ERR_NOMEM. */
arb_err arb_audit_sth_from_checkpoint(arb_audit_sth *out, const uint8_t *note, size_t len,
                                      const char *origin, const uint8_t *spki, size_t spki_len,
                                      arb_errbuf *eb) ARB_WARN_UNUSED;

/* 1 if a and b are the same signed head (all fields equal). */
int arb_audit_sth_equal(const arb_audit_sth *a, const arb_audit_sth *b);

#endif
