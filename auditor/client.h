/* Fetching from logs: a libcurl client for the RFC 6962 API (RFC 6962 4.3,
 * 4.4, 4.5, 4.6) and static-ct-api checkpoints. Every answer is checked
 * strictly: an HTTP error, a body that is not JSON, a missing or ill-typed
 * member, a truncated answer are errors naming the endpoint.
 *
 * A client is one libcurl easy handle: one thread at a time. Call
 * curl_global_init once in the program before the first client. */
#ifndef ARB_AUDITOR_CLIENT_H
#define ARB_AUDITOR_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "auditor/loglist.h"
#include "auditor/sth.h"
#include "merkle/error.h"
#include "merkle/hash.h"

/* Largest answer accepted (bytes). */
#define ARB_AUDIT_MAX_BODY (64u << 20)
/* Most entries asked for in one get-entries call. */
#define ARB_AUDIT_ENTRIES_BATCH 256

typedef struct arb_audit_client arb_audit_client;

arb_err arb_audit_client_new(arb_audit_client **out, long timeout_ms) ARB_WARN_UNUSED;
void arb_audit_client_free(arb_audit_client *c);

/* GET url (or POST body when body is non-NULL). *status gets the HTTP status;
 * *out (free()) the body, NUL-terminated. Returns ARB_OK for any HTTP answer,
 * ARB_ERR_NET when there is none (connection refused, timeout, body too large). */
arb_err arb_audit_http(arb_audit_client *c, const char *url, const uint8_t *body, size_t body_len,
                       const char *content_type, long *status, uint8_t **out, size_t *out_len,
                       arb_errbuf *eb) ARB_WARN_UNUSED;

/* GET <url>ct/v1/get-sth. Does not verify the signature. */
arb_err arb_audit_get_sth(arb_audit_client *c, const arb_audit_log *log, arb_audit_sth *out,
                          arb_errbuf *eb) ARB_WARN_UNUSED;

/* GET <url>ct/v1/get-sth-consistency?first=&second=: proof[0..*n) (cap entries). */
arb_err arb_audit_get_consistency(arb_audit_client *c, const arb_audit_log *log, uint64_t first,
                                  uint64_t second, arb_hash *proof, size_t cap, size_t *n,
                                  arb_errbuf *eb) ARB_WARN_UNUSED;

/* GET <url>ct/v1/get-entries?start=&end=; calls fn for each entry in order
 * with its leaf_input and extra_data (decoded base64). The log may return
 * fewer entries than asked (never zero for a valid range, never more).
 * *got receives the count. fn returning non-ARB_OK stops with that error. */
typedef arb_err (*arb_audit_entry_fn)(void *ud, uint64_t index, const uint8_t *leaf,
                                      size_t leaf_len, const uint8_t *extra, size_t extra_len);
arb_err arb_audit_get_entries(arb_audit_client *c, const arb_audit_log *log, uint64_t start,
                              uint64_t end, arb_audit_entry_fn fn, void *ud, uint64_t *got,
                              arb_errbuf *eb) ARB_WARN_UNUSED;

/* GET <url>ct/v1/get-proof-by-hash?hash=&tree_size=: leaf index and audit path. */
arb_err arb_audit_get_proof_by_hash(arb_audit_client *c, const arb_audit_log *log,
                                    const arb_hash *leaf_hash, uint64_t tree_size,
                                    uint64_t *index, arb_hash *path, size_t cap, size_t *n,
                                    arb_errbuf *eb) ARB_WARN_UNUSED;

/* GET <monitoring url>checkpoint of a static-ct-api log, read as an STH
 * (the note's log signature is verified on the way). */
arb_err arb_audit_get_checkpoint(arb_audit_client *c, const arb_audit_log *log, arb_audit_sth *out,
                                 arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
