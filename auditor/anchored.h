/* Anchored inclusion: a proof that a log entry (its RFC 6962 leaf hash) is
 * in a tree head that the chain has anchored, checkable against block
 * headers alone, and the online step that builds it for an SCT.
 *
 *   {"format": "arbor-anchored-inclusion/1",
 *    "network": "main" | "test" | "regtest",
 *    "log_id": "<base64>", "leaf_hash": "<base64>", "sct_timestamp": ms,
 *    "leaf_index": N, "inclusion_proof": ["<base64>", ...],
 *    "anchor": <light-client proof of the log's latest anchored head with
 *               its anchor transaction (auditor/lightproof.h)>}
 *
 * The entry is in the anchored tree when the inclusion proof leads from the
 * leaf hash at leaf_index to the anchored head's root at its size; the head
 * is the log's (the anchor transaction carries the log's key and its
 * signature over the head) and the chain holds it as the log's latest
 * anchored head at the proof's tip, whose headers lead from a checkpoint.
 * Only the active chain counts: the headers are one chain from the
 * checkpoint, and its state says which head is anchored.
 *
 * Pure code except arb_audit_sct_anchored (network). Thread-safe with one
 * arb_sha256 engine per thread. */
#ifndef ARB_AUDITOR_ANCHORED_H
#define ARB_AUDITOR_ANCHORED_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auditor/client.h"
#include "auditor/lightproof.h"
#include "auditor/sct.h"

#define ARB_AUDIT_ANCHORED_FORMAT "arbor-anchored-inclusion/1"

/* Builds the document (anchor_proof is copied). NULL when out of memory. */
json_t *arb_audit_anchored_make(const char *network, const uint8_t log_id32[32],
                                const arb_hash *leaf_hash, uint64_t sct_timestamp,
                                uint64_t leaf_index, const arb_hash *proof, size_t n,
                                const json_t *anchor_proof);

typedef struct {
    const char *reason;      /* NULL when it verifies */
    char detail[300];
    uint8_t log_id[32];
    arb_hash leaf_hash;
    uint64_t sct_timestamp;
    uint64_t leaf_index;
    arb_anchor_head head;    /* the anchored head */
    uint32_t tip_height;
    arb_hash checkpoint;     /* checked from (wire order) */
} arb_audit_anchored_result;

/* Checks a document text[0..len). t gives what the user trusts (its params
 * are replaced by the document's network's; a zero checkpoint means the
 * proof's own, which res->checkpoint then names). expect_leaf (may be NULL):
 * the leaf hash the caller computed from the certificate and SCT.
 * Returns ARB_OK; ARB_ERR_PARSE (not such a document); ARB_ERR_VERIFY with
 * res->reason: the light-client proof's reasons, "wrong-log" (the anchored
 * head is another log's), "leaf-mismatch", "not-included" (the inclusion
 * proof does not reach the anchored root); ARB_ERR_NOMEM. */
arb_err arb_audit_anchored_check(arb_sha256 *sha, const char *text, size_t len,
                                 const arb_lightproof_trust *t, const arb_hash *expect_leaf,
                                 arb_audit_anchored_result *res, arb_errbuf *eb) ARB_WARN_UNUSED;

typedef enum {
    ARB_AUDIT_ANCH_PROVEN = 1,   /* in the latest anchored head */
    ARB_AUDIT_ANCH_PENDING = 2,  /* not in it, and it was signed before the merge delay ended */
    ARB_AUDIT_ANCH_FAILED = 3,   /* not in an anchored head signed after the merge delay */
    ARB_AUDIT_ANCH_ERROR = 4     /* could not check (network, a proof that does not verify) */
} arb_audit_anch_status;

const char *arb_audit_anch_status_str(arb_audit_anch_status s);

/* For a verified SCT (res->sig_ok, res->log set): fetches the log's latest
 * anchored head with its proof from chain_url (GET
 * /chain/v1/anchors/<log id hex>?proof=1&checkpoint=<hash>), verifies it
 * against t, and asks the log for the entry's inclusion proof at the
 * anchored size. *doc (json_decref) receives the anchored inclusion proof
 * when proven; detail says what happened. A head anchored after the
 * merge delay ended (timestamp >= SCT timestamp + mmd) that does not hold
 * the entry is a failure; an earlier one is pending. Returns the status. */
arb_audit_anch_status arb_audit_sct_anchored(arb_audit_client *c, arb_sha256 *sha,
                                             const char *chain_url, const char *network,
                                             const arb_lightproof_trust *t,
                                             const arb_audit_sct_result *res, json_t **doc,
                                             char *detail, size_t detail_cap);

#endif
