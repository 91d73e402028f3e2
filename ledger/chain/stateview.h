/* A view of the committed chain state (name-layer records and anchored log
 * heads) with the changes of the transactions applied to it so far: the one
 * place where transaction payloads meet the state rules, used by block
 * connection (chainstate.c), mempool admission and block templates.
 *
 * The view reads records from a base (a callback: the node's RocksDB, or a
 * test's table) and caches every record it read or wrote. Applying a
 * transaction decodes its payload, reads the records the operation needs,
 * runs arb_nameop_apply or arb_anchor_check and, only when it succeeds,
 * writes the new records into the view: a rejected transaction leaves the
 * view as it was. The caller then reads the changes (entries whose record
 * differs from the base), the events (history entries), and the state-tree
 * changes (arb_sview_tree_ops).
 *
 * Records, by kind (the key the base is asked for):
 *   ARB_SREC_NAME       SHA-256(full name)      name record (names.h)
 *   ARB_SREC_NAMESPACE  SHA-256(namespace id)   namespace record
 *   ARB_SREC_PREORDER   the commitment          preorder record
 *   ARB_SREC_ANCHOR     the log ID              anchored head (anchor.h, 85 bytes)
 * Names, namespaces and anchors are in the state tree (under the name keys,
 * and arb_anchor_key(log ID) for anchors); preorders are not.
 *
 * Not thread-safe (one view per thread). */
#ifndef ARB_CHAIN_STATEVIEW_H
#define ARB_CHAIN_STATEVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/tx.h"
#include "ledger/names/names.h"
#include "merkle/smt.h"

enum { ARB_SREC_NAME = 1, ARB_SREC_NAMESPACE = 2, ARB_SREC_PREORDER = 3, ARB_SREC_ANCHOR = 4 };
/* Longest record (a name record is at most 150 bytes). */
#define ARB_SREC_MAX 192

/* The base: fills out[0..*len) with the record of (kind, key) and returns
 * ARB_OK, or ARB_ERR_NOT_FOUND, or a storage error (passed on). */
typedef arb_err (*arb_sview_get_fn)(void *ud, uint8_t kind, const uint8_t key32[32],
                                    uint8_t out[ARB_SREC_MAX], size_t *len);

/* One record the view touched: as in the base (orig) and now (cur). */
typedef struct {
    uint8_t kind;
    uint8_t key[32];
    uint8_t has_orig, has_cur;
    uint16_t orig_len, cur_len;
    uint8_t orig[ARB_SREC_MAX];
    uint8_t cur[ARB_SREC_MAX];
} arb_sview_entry;

/* A history event of an applied operation: the record (kind, key) it acted
 * on, the transaction's index in its block, the payload type, and the
 * zone-file hash it put on-chain (register / import / update with one). */
typedef struct {
    uint8_t kind;
    uint8_t key[32];
    uint32_t tx_index;
    uint8_t op;
    uint8_t has_zonefile;
    uint8_t zonefile[32];
} arb_sview_event;

typedef struct arb_sview arb_sview;

/* np: the network's name-layer constants. Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_sview_new(arb_sview **out, const arb_names_params *np, arb_sview_get_fn get, void *ud)
    ARB_WARN_UNUSED;
void arb_sview_free(arb_sview *v);

/* Applies the payload of tx (a non-coinbase transaction; payload types 0,
 * 1-11; 0 changes nothing) at block `height`, sent by sender32 (the key of
 * the output its input 0 spends), as transaction tx_index of its block.
 * Returns ARB_OK; ARB_ERR_VERIFY with *reason (arb_nameop_apply's or
 * arb_anchor_check's reason, or "bad-txns-payload-parse" /
 * "bad-txns-payload-type") and the view unchanged; or a base / memory error. */
arb_err arb_sview_apply(arb_sview *v, arb_sha256 *h, const arb_tx *tx, uint32_t tx_index,
                        const uint8_t sender32[static 32], uint32_t height, const char **reason)
    ARB_WARN_UNUSED;

/* What applying a payload learned that holds whatever the state it meets:
 * for a log anchor, that its key and STH signature verified (the ECDSA
 * work; the checks against the previous head depend on the state and run on
 * every application). A caller that applies one transaction more than once
 * (the mempool's view, rebuilt after blocks and evictions) keeps one per
 * transaction. */
typedef struct {
    uint8_t sig_ok;      /* in: verified before (not run again); out: 1 once it verified */
    uint8_t sig_checked; /* out: 1 when this application ran the verification */
} arb_sview_memo;

/* arb_sview_apply with a memo (zeroed for a transaction never applied):
 * decides exactly as arb_sview_apply, skipping the anchor signature
 * verification when m->sig_ok. */
arb_err arb_sview_apply_memo(arb_sview *v, arb_sha256 *h, const arb_tx *tx, uint32_t tx_index,
                             const uint8_t sender32[static 32], uint32_t height,
                             arb_sview_memo *m, const char **reason) ARB_WARN_UNUSED;

/* The record a payload acts on, for per-record policy bounds: a log
 * anchor's log ID (ARB_SREC_ANCHOR), the name of a name operation
 * (ARB_SREC_NAME), the namespace of a reveal or ready (ARB_SREC_NAMESPACE)
 * into key32. Returns the kind, or 0 for preorders (hidden commitments),
 * plain transactions and payloads that do not decode. */
uint8_t arb_sview_payload_key(arb_sha256 *h, const arb_tx *tx, uint8_t key32[32]);

/* 1 when two views over the same base hold the same current record (or
 * absence) for every key either of them touched. */
int arb_sview_same(const arb_sview *a, const arb_sview *b);

/* The entries (every record read or written, in first-touch order). */
size_t arb_sview_count(const arb_sview *v);
const arb_sview_entry *arb_sview_at(const arb_sview *v, size_t i);
/* The events of the applied operations, in order. */
size_t arb_sview_nevents(const arb_sview *v);
const arb_sview_event *arb_sview_event_at(const arb_sview *v, size_t i);
/* 1 when the entry's record changed (cur differs from orig). */
int arb_sview_entry_changed(const arb_sview_entry *e);

/* The state-tree changes: for each changed name, namespace or anchor entry a
 * set of its key to the record's value hash, or a delete. *ops is malloc'd
 * (free it), *n may be 0. Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_sview_tree_ops(const arb_sview *v, arb_sha256 *h, arb_smt_op **ops, size_t *n)
    ARB_WARN_UNUSED;

/* The state-tree key and value hash of a stored record of `kind` (name,
 * namespace or anchor; the key as the view stores it). Returns 1, or 0 for
 * a preorder. */
int arb_sview_tree_entry(arb_sha256 *h, uint8_t kind, const uint8_t key32[32],
                         const uint8_t *rec, size_t len, uint8_t tree_key32[32],
                         arb_hash *value_hash);

#endif
