/* Misbehaviour reports: two validly signed tree heads of one log that cannot
 * both be true, in a JSON document anyone can re-check offline with only the
 * log's public key (which the report carries; the checker compares its log ID).
 *
 *   {"format": "arbor-misbehaviour/1",
 *    "kind": "split-view" | "shrinking-tree" | "inconsistent" | "fork",
 *    "log": {"log_id": b64, "key": b64 DER SPKI, "url": "...", "description": "..."},
 *    "heads": [ {get-sth fields, "source": "where it came from"}, {...} ],
 *    "consistency_proof": [b64 hash, ...],   (kinds "inconsistent" and "fork")
 *    "prefix_root": b64 hash,                (kind "fork")
 *    "detail": "one line", "observed_at": ms}
 *
 * Kinds and what proves them:
 *   split-view      same tree_size, different sha256_root_hash.
 *   shrinking-tree  heads[1] is signed later (larger timestamp) than heads[0]
 *                   but is smaller: an append-only log never shrinks.
 *   inconsistent    heads[0].tree_size < heads[1].tree_size and the
 *                   consistency proof the log served between them does not
 *                   verify (RFC 6962 2.1.2). Weaker than the others: the
 *                   proof itself is not signed by the log.
 *   fork            0 < heads[0].tree_size < heads[1].tree_size, and the
 *                   consistency proof leads from prefix_root at heads[0]'s
 *                   size to heads[1]'s root (RFC 6962 2.1.2), while heads[0]
 *                   has another root: the tree the log signed in heads[1]
 *                   does not extend the one it signed in heads[0]. Conclusive
 *                   whatever the timestamps (a fork shown as an older head):
 *                   a proof that leads to heads[1]'s root fixes the prefix
 *                   root, unless SHA-256 has a collision.
 *   anchored-split-view
 *                   one of the heads (heads[anchored_head]) is anchored on
 *                   the chain, and the two conflict as "relation" says
 *                   (split-view, fork, shrinking-tree or inconsistent, with
 *                   that kind's members). "anchor" holds {"network": "main" |
 *                   "test" | "regtest", "proof": the light-client proof of
 *                   the log's anchored head with its anchor transaction
 *                   (auditor/lightproof.h)}: the anchored head must be the
 *                   one that transaction carries, signature included, and
 *                   the proof must verify from its checkpoint (or from one
 *                   the checker trusts). So a log that forked after its head
 *                   was anchored is shown against the chain, not against
 *                   one auditor's word.
 * Both signatures must verify for any kind. Pure code, thread-safe. */
#ifndef ARB_AUDITOR_EVIDENCE_H
#define ARB_AUDITOR_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auditor/loglist.h"
#include "auditor/sth.h"
#include "merkle/error.h"

#define ARB_AUDIT_EVIDENCE_FORMAT "arbor-misbehaviour/1"
/* Consistency proofs have at most 2 * 64 hashes (RFC 6962 2.1.2 bound, generous). */
#define ARB_AUDIT_PROOF_MAX 128

typedef enum {
    ARB_AUDIT_EV_SPLIT_VIEW = 1,
    ARB_AUDIT_EV_SHRINKING = 2,
    ARB_AUDIT_EV_INCONSISTENT = 3,
    ARB_AUDIT_EV_FORK = 4,
    ARB_AUDIT_EV_ANCHORED = 5
} arb_audit_ev_kind;

const char *arb_audit_ev_kind_name(arb_audit_ev_kind k);

/* What two verified heads of one log say on their own, without a proof. */
typedef enum {
    ARB_AUDIT_HEADS_SAME = 0,       /* same size, same root */
    ARB_AUDIT_HEADS_NEED_PROOF = 1, /* sizes differ in timestamp order: ask for a proof */
    ARB_AUDIT_HEADS_SPLIT = 2,      /* same size, different roots */
    ARB_AUDIT_HEADS_SHRINKING = 3   /* the later-signed head is smaller */
} arb_audit_heads_rel;

/* Compares two heads (signatures assumed verified). When the result is
 * ARB_AUDIT_HEADS_SHRINKING, *older (if non-NULL) is set to 0 when a is the
 * earlier-signed head, 1 when b is. */
arb_audit_heads_rel arb_audit_heads_compare(const arb_audit_sth *a, const arb_audit_sth *b,
                                            int *older);

/* Builds a report. For ARB_AUDIT_EV_SHRINKING, a must be the earlier-signed
 * head; for ARB_AUDIT_EV_INCONSISTENT, a the smaller and proof[0..n) the proof
 * from a to b as the log served it. Sources and detail may be NULL.
 * Returns a new JSON object, or NULL when out of memory. */
json_t *arb_audit_evidence_make(arb_audit_ev_kind kind, const arb_audit_log *log,
                                const arb_audit_sth *a, const char *src_a, const arb_audit_sth *b,
                                const char *src_b, const arb_hash *proof, size_t n,
                                const char *detail, uint64_t now_ms);

/* Builds a fork report: a the smaller head, b the larger, prefix_root the
 * root at a's size of b's tree, proof[0..n) a consistency proof from
 * prefix_root to b's root. NULL when out of memory. */
json_t *arb_audit_evidence_make_fork(const arb_audit_log *log, const arb_audit_sth *a,
                                     const char *src_a, const arb_audit_sth *b,
                                     const char *src_b, const arb_hash *prefix_root,
                                     const arb_hash *proof, size_t n, const char *detail,
                                     uint64_t now_ms);

/* Builds an anchored-split-view report: a and b as for `relation` (for
 * ARB_AUDIT_EV_FORK also prefix_root), heads[anchored] (0 or 1) the head the
 * chain anchored, anchor_proof the light-client proof of the log's anchored
 * head with its anchor transaction (the object is copied), network its
 * chain's name. NULL when out of memory or relation is not one of the
 * four plain kinds. */
json_t *arb_audit_evidence_make_anchored(arb_audit_ev_kind relation, const arb_audit_log *log,
                                         const arb_audit_sth *a, const char *src_a,
                                         const arb_audit_sth *b, const char *src_b, int anchored,
                                         const arb_hash *prefix_root, const arb_hash *proof,
                                         size_t n, const char *network,
                                         const json_t *anchor_proof, const char *detail,
                                         uint64_t now_ms);

typedef struct {
    arb_audit_ev_kind kind;
    uint8_t log_id[32];
    arb_audit_sth heads[2];
    char reason[200]; /* what was established, or why the report fails */
    /* anchored-split-view: */
    arb_audit_ev_kind relation;
    int anchored;             /* index of the anchored head */
    uint32_t anchor_height;   /* block that anchored it */
    uint32_t tip_height;      /* the proof's tip */
    arb_hash checkpoint;      /* the checkpoint the proof was checked from (wire order) */
} arb_audit_ev_result;

/* What the checker of an anchored report trusts: a block (NULL: the proof's
 * own checkpoint, which res->checkpoint then names for the reader to judge)
 * and the clock (Unix seconds, for the header time rule). */
typedef struct {
    const arb_hash *checkpoint;
    int64_t now;
} arb_audit_ev_trust;

/* arb_audit_evidence_check with a trust for anchored reports (NULL: the
 * proof's checkpoint, and no future-time bound). */
arb_err arb_audit_evidence_check_trust(arb_audit_ev_result *res, const char *text, size_t len,
                                       const uint8_t *expect_log_id,
                                       const arb_audit_ev_trust *trust, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Re-checks a report text[0..len). If expect_log_id is non-NULL the report's
 * key must have that log ID. Returns:
 *   ARB_OK          the report proves misbehaviour (res->reason says what)
 *   ARB_ERR_VERIFY  well-formed but proves nothing (a bad signature, heads
 *                   that agree, a proof that verifies...)
 *   ARB_ERR_PARSE   not a report
 *   ARB_ERR_NOMEM   out of memory.
 * eb gets the same one-line reason. */
arb_err arb_audit_evidence_check(arb_audit_ev_result *res, const char *text, size_t len,
                                 const uint8_t *expect_log_id, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
