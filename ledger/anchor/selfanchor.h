/* Self-anchoring: an arbord that runs both a log and a chain node anchors
 * its own log's head on its chain on a schedule (docs/anchoring.md
 * "Self-anchoring").
 *
 * A thread wakes every poll interval and anchors when the chain has grown
 * by `every_blocks` blocks since the last attempt, or the log by
 * `every_entries` entries beyond its last anchored (or pending) head. It
 * builds the log-anchor payload (ledger/anchor/anchor.h) from the log's
 * latest signed tree head and the consistency proof from the head the chain
 * holds for this log, pays the fee from an operator key kept in the data
 * directory (a BIP340 secret, created 0600 on first use; its address is
 * logged so the operator can fund it), and submits the transaction to the
 * node's own mempool, from where it is relayed and mined like any other.
 * While the transaction is pending no second one is made; a refused one is
 * retried at the next schedule point. Every attempt is logged and counted
 * (arbor_anchor_* metrics).
 *
 * The anchored head is whatever the chain's consensus accepted: if the
 * chain holds a head of another tree under the same log key (a forked log),
 * consensus refuses the anchor (anchor-bad-consistency or
 * anchor-root-changed) and the refusal is logged at error level. */
#ifndef ARB_ANCHOR_SELFANCHOR_H
#define ARB_ANCHOR_SELFANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/api/chainapi.h"
#include "ledger/api/http.h"
#include "ledger/chain/bech32.h"
#include "ledger/log/log.h"
#include "merkle/error.h"

/* Default fee of an anchor transaction, base units. */
#define ARB_SELFANCHOR_DEFAULT_FEE 10000

typedef struct {
    const char *key_path;    /* the operator key file (hex secret), created when absent */
    unsigned every_blocks;   /* 0: not by blocks */
    uint64_t every_entries;  /* 0: not by entries */
    uint64_t fee;            /* 0: ARB_SELFANCHOR_DEFAULT_FEE */
    unsigned poll_ms;        /* 0: 200 */
} arb_selfanchor_config;

typedef struct arb_selfanchor arb_selfanchor;

/* Loads (or creates, 0600, synced) the operator key and starts the thread.
 * spki: the log key's DER SubjectPublicKeyInfo (copied). chain, log, http
 * and logger are borrowed and must outlive the returned object. At least
 * one of every_blocks and every_entries must be non-zero. Returns ARB_OK,
 * ARB_ERR_INVALID_ARG, ARB_ERR_IO (the key file), ARB_ERR_CRYPTO,
 * ARB_ERR_NOMEM. */
arb_err arb_selfanchor_start(arb_selfanchor **out, arb_chainapi *chain, arb_log *log,
                             arb_http_server *http, const uint8_t *spki, size_t spki_len,
                             const arb_logger *logger, const arb_selfanchor_config *cfg,
                             arb_errbuf *eb) ARB_WARN_UNUSED;
/* Stops the thread and frees; NULL is fine. */
void arb_selfanchor_stop(arb_selfanchor *s);
/* The operator key's address (the network's bech32m form). */
void arb_selfanchor_address(const arb_selfanchor *s, char out[static ARB_ADDR_MAX]);

/* Loads the hex secret at path, or creates it (O_EXCL, 0600, file and
 * directory synced) when absent; *created says which. Returns ARB_OK,
 * ARB_ERR_IO, ARB_ERR_PARSE (not 64 hex digits of a valid key),
 * ARB_ERR_CRYPTO. */
arb_err arb_selfanchor_key_load(const char *path, uint8_t seckey32[static 32], int *created,
                                arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
