/* Gossip between auditors (pull and push) of the tree heads each verified.
 *
 * The document, served at GET /gossip/v1/heads and sent with
 * POST /gossip/v1/heads, is
 *   {"heads": [{"log_id": b64, "url": "...", "sth": {get-sth fields}}, ...]}
 * A head received either way is only compared with the receiver's own view
 * (arb_audit_follower_check_head_result): signature, same size / shrinking,
 * a consistency proof fetched from the log from the smaller head to the
 * larger. It is never stored, so no peer can change what an auditor
 * believes; it can only make it write a report that anyone can re-check.
 *
 * Thread-safety: as the follower's check functions (any thread); a client
 * one thread at a time. */
#ifndef ARB_AUDITOR_GOSSIP_H
#define ARB_AUDITOR_GOSSIP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auditor/client.h"
#include "auditor/follow.h"
#include "merkle/error.h"

/* Largest pushed body accepted (bytes), and most heads in one document. */
#define ARB_AUDIT_GOSSIP_MAX_BODY (64u << 10)
#define ARB_AUDIT_GOSSIP_MAX_HEADS 256

typedef struct {
    uint8_t log_id[32];
    arb_audit_sth sth;
} arb_audit_gossip_head;

/* Parses a gossip document strictly: a JSON object whose "heads" is an
 * array of at most ARB_AUDIT_GOSSIP_MAX_HEADS objects, each with a base64
 * 32-byte "log_id" and an "sth" as arb_audit_sth_from_json reads it ("url"
 * is informative and not read). Returns ARB_OK with *heads (free()) and *n,
 * ARB_ERR_PARSE (reason in eb), ARB_ERR_NOMEM. */
arb_err arb_audit_gossip_parse(arb_audit_gossip_head **heads, size_t *n, const char *text,
                               size_t len, arb_errbuf *eb) ARB_WARN_UNUSED;

/* The answer to a pushed document from `source` (e.g. "push from
 * 127.0.0.1"). Every head is first parsed, its log looked up and its
 * signature verified; one failure refuses the whole document, nothing
 * checked:
 *   400 {"error"}  not a gossip document            (*kind "malformed")
 *   404 {"error"}  a head of a log not followed here (*kind "unknown_log")
 *   403 {"error"}  a head the log's key did not sign (*kind "bad_signature")
 * Otherwise each head is checked against this auditor's view and the answer
 * is 200 {"results": [{"log_id", "tree_size", "result"}]} with result
 * "consistent", "no-head", "misbehaviour" or "unverified" (*kind "accepted").
 * A refused document is also a PROBLEM event "gossip-bad-push". Returns the
 * HTTP status; *answer (new reference) the body, NULL only without memory. */
int arb_audit_gossip_receive(arb_audit_follower *f, const uint8_t *body, size_t len,
                             const char *source, json_t **answer, const char **kind);

/* Pull: GETs <peer>gossip/v1/heads with c and checks every head of a
 * followed log. Returns the number of problems (the peer unreachable or
 * answering badly; heads that are badly signed, inconsistent or could not
 * be checked); each is also an event. */
size_t arb_audit_gossip_pull(arb_audit_follower *f, arb_audit_client *c, const char *peer);

/* Push: POSTs each verified head, one document per log, to
 * <peer>gossip/v1/heads. A 404 means the peer does not follow that log and
 * is not a problem; no answer is "peer-unreachable" (and stops this push),
 * any other status but 200 "peer-refused". Returns the number of problems. */
size_t arb_audit_gossip_push(arb_audit_follower *f, arb_audit_client *c, const char *peer);

#endif
