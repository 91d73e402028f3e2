/* Following logs: poll each log's tree head, verify its signature, check it
 * against the last verified head (timestamps, same-size roots, a consistency
 * proof from the last verified head), optionally download every entry and
 * match certificates against a watch list, and check tree heads gossiped by
 * other auditors against this auditor's own view. Two validly signed heads
 * that cannot both be true become a misbehaviour report (evidence.h) written
 * to the evidence directory.
 *
 * State (last verified head per log, entries downloaded, certificates already
 * reported) lives in the follower's own store under state_dir and survives
 * restarts.
 *
 * Thread-safety: arb_audit_follower_poll from one thread at a time;
 * arb_audit_follower_check_head and arb_audit_follower_heads_json may run
 * concurrently with it from other threads (gossip handlers). Events are
 * delivered under the follower's lock, one at a time. */
#ifndef ARB_AUDITOR_FOLLOW_H
#define ARB_AUDITOR_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auditor/loglist.h"
#include "auditor/match.h"
#include "auditor/sth.h"
#include "merkle/hash.h"
#include "merkle/error.h"

typedef enum {
    ARB_AUDIT_EVENT_HEAD = 1,     /* a new tree head verified (sth) */
    ARB_AUDIT_EVENT_MATCH,        /* a watched domain in an entry (index, name, watch, cert) */
    ARB_AUDIT_EVENT_PROBLEM,      /* the log misbehaved or failed in a way that proves nothing
                                     on its own (problem, detail) */
    ARB_AUDIT_EVENT_MISBEHAVIOUR, /* proven misbehaviour (problem = kind, evidence, path) */
    ARB_AUDIT_EVENT_PROGRESS,     /* entries downloaded: done of total */
    ARB_AUDIT_EVENT_VERIFIED,     /* every entry up to sth downloaded; they hash to its root */
    ARB_AUDIT_EVENT_ANCHORED      /* the log's anchored head on the chain (sth, index = its
                                     block height) is consistent with the served head */
} arb_audit_event_type;

typedef struct {
    arb_audit_event_type type;
    const arb_audit_log *log;
    const arb_audit_sth *sth;
    const char *problem; /* short name, e.g. "bad-signature", "rollback", "split-view" */
    const char *detail;  /* one line */
    /* MATCH */
    uint64_t index;
    int precert;
    const char *name;
    const char *watch;
    const arb_audit_certinfo *cert;
    /* MISBEHAVIOUR */
    const json_t *evidence;
    const char *evidence_path; /* may be NULL if it could not be written */
    int repeated;              /* the same pair of heads was reported before: evidence_path
                                  is that earlier report, no new file was written */
    /* PROGRESS */
    uint64_t done, total;
} arb_audit_event;

typedef void (*arb_audit_event_fn)(void *ud, const arb_audit_event *ev);

typedef struct {
    const char *state_dir;        /* the follower's store */
    const char *evidence_dir;     /* NULL: <state_dir>/evidence */
    int download;                 /* fetch every entry */
    int no_issuer_check;          /* static-ct-api: do not fetch and check /issuer/ */
    const char *const *watch;     /* watch list (borrowed) */
    size_t nwatch;
    long timeout_ms;              /* per HTTP request; 0: 30 s */
    /* The chain as a witness (docs/anchoring.md): with chain_url set, every
     * served head is also checked against the log's latest head anchored on
     * that chain (GET /chain/v1/anchors/<log id>?proof=1), whose light-client
     * proof must verify from chain_checkpoint under chain_params. A served
     * head that conflicts with the anchored one is an anchored-split-view
     * report. */
    const char *chain_url;
    const char *chain_network;    /* "main", "test" or "regtest" */
    const struct arb_chain_params *chain_params;
    arb_hash chain_checkpoint;    /* wire order */
    arb_audit_event_fn on_event;
    void *ud;
} arb_audit_follow_cfg;

typedef struct arb_audit_follower arb_audit_follower;

/* logs and cfg's strings are borrowed and must outlive the follower. */
arb_err arb_audit_follower_new(arb_audit_follower **out, const arb_audit_loglist *logs,
                               const arb_audit_follow_cfg *cfg, arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_audit_follower_free(arb_audit_follower *f);

/* One round over every log. *problems (may be NULL) gets the number of
 * PROBLEM and MISBEHAVIOUR events of the round. Returns ARB_OK, or a store
 * error (the follower cannot keep its state). */
arb_err arb_audit_follower_poll(arb_audit_follower *f, size_t *problems) ARB_WARN_UNUSED;

/* Checks a head of log log_id received from source (a peer URL) against the
 * follower's view: signature, then same size / shrinking / consistency proof
 * fetched from the log from the smaller head to the larger. Returns ARB_OK
 * when consistent, ARB_ERR_VERIFY when it proved misbehaviour or was badly
 * signed (events tell which), ARB_ERR_NOT_FOUND for an unknown log or when
 * the follower has no head yet, ARB_ERR_NET when the log could not be asked. */
arb_err arb_audit_follower_check_head(arb_audit_follower *f, const uint8_t log_id[static 32],
                                      const arb_audit_sth *sth, const char *source)
    ARB_WARN_UNUSED;

/* The outcome of checking another auditor's head against this one's view. */
typedef enum {
    ARB_AUDIT_CHECK_CONSISTENT = 0, /* signed by the log, consistent with the head verified here */
    ARB_AUDIT_CHECK_NO_HEAD,        /* no verified head of that log here yet: nothing to compare */
    ARB_AUDIT_CHECK_BAD_SIGNATURE,  /* not signed by the log's key */
    ARB_AUDIT_CHECK_MISBEHAVIOUR,   /* the two heads prove misbehaviour: report written */
    ARB_AUDIT_CHECK_UNVERIFIED      /* the log could not be asked for a proof, or answered badly */
} arb_audit_check_result;

/* As arb_audit_follower_check_head, and *res tells the outcome. */
arb_err arb_audit_follower_check_head_result(arb_audit_follower *f,
                                             const uint8_t log_id[static 32],
                                             const arb_audit_sth *sth, const char *source,
                                             arb_audit_check_result *res) ARB_WARN_UNUSED;

/* Only the first checks of a gossiped head, without events and without
 * asking the log: ARB_ERR_NOT_FOUND when log_id is not a followed log,
 * ARB_ERR_VERIFY when the log's key did not sign sth, else ARB_OK. Reason in
 * eb. Thread-safe. */
arb_err arb_audit_follower_verify_head(arb_audit_follower *f, const uint8_t log_id[static 32],
                                       const arb_audit_sth *sth, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Emits a PROBLEM event (name, detail) for the log log_id (NULL or unknown:
 * none), under the follower's lock: for problems found outside the follower
 * (gossip peers). */
void arb_audit_follower_notice(arb_audit_follower *f, const uint8_t *log_id, const char *name,
                               const char *detail);

/* Number of logs followed, and the gossip object {"log_id", "url", "sth"} of
 * log i's last verified head (new reference; NULL when it has none). */
size_t arb_audit_follower_nlogs(const arb_audit_follower *f);
json_t *arb_audit_follower_head_json(arb_audit_follower *f, size_t i);

/* {"heads":[{"log_id": b64, "url": ..., "sth": {get-sth fields}}, ...]}: the
 * last verified head of every log (gossip). New reference or NULL. */
json_t *arb_audit_follower_heads_json(arb_audit_follower *f);

/* Last verified head of a log. ARB_ERR_NOT_FOUND if none. */
arb_err arb_audit_follower_head(arb_audit_follower *f, const uint8_t log_id[static 32],
                                arb_audit_sth *out) ARB_WARN_UNUSED;

#endif
