/* The chain module of arbord: the chain state, the mempool, block templates
 * and block submission, served over HTTP under /chain/v1/ (docs/api.md).
 *
 * One mutex serializes the chain state (which is single-threaded) across the
 * HTTP workers; the mempool has its own lock (taken after the chain lock,
 * never before). Templates select from the mempool outside the chain lock and
 * reuse the selection while neither the tip nor the pool changed. The mempool
 * is saved at stop and reloaded at start when a file is given. Submitted
 * blocks go through
 * arb_chainstate_submit; a block extending the tip removes its transactions
 * (and conflicting ones) from the mempool, any other tip change (a reorg)
 * re-admits the disconnected blocks' transactions and re-checks the pool. */
#ifndef ARB_LEDGER_API_CHAINAPI_H
#define ARB_LEDGER_API_CHAINAPI_H

#include "ledger/api/http.h"
#include "ledger/chain/chainstate.h"
#include "ledger/chain/mempool.h"

typedef struct arb_chainapi arb_chainapi;

/* Opens the chain state for `network` on the store's column families
 * cf_base .. cf_base + ARB_CHAINSTATE_NCF - 1 (genesis is written on first
 * start) and registers the routes on http. mempool_bytes: 0 for the default.
 * mempool_file (NULL: none): where the mempool is saved at stop and reloaded
 * (re-validated) at start; a corrupt file is logged and ignored. */
arb_err arb_chainapi_start(arb_chainapi **out, arb_http_server *http, arb_store *store,
                           unsigned cf_base, const char *network, size_t mempool_bytes,
                           const char *mempool_file, const arb_logger *log, arb_errbuf *eb)
    ARB_WARN_UNUSED;
/* After the HTTP server has stopped: saves the mempool (when a file was
 * given) and closes the chain state. NULL is fine. */
/* Runs fn(ud, cs, mp, p) with the chain state locked, for read-only use by
 * other modules (the explorer); fn must not keep cs or mp (the mempool has
 * its own lock and may be read there). Any thread. */
void arb_chainapi_read(arb_chainapi *a,
                       void (*fn)(void *ud, arb_chainstate *cs, arb_mempool *mp,
                                  const arb_chain_params *p),
                       void *ud);
void arb_chainapi_stop(arb_chainapi *a);

/* ---- for the peer network (p2p/) ----
 * Hooks called after the tip moved (any cause: HTTP, peers, reorgs) and after a
 * transaction entered the mempool (HTTP or peers). They run on the thread that
 * caused the change, without the chain lock, and must not block. */
typedef struct {
    void (*tip_changed)(void *ud, const arb_hash *tip, uint32_t height);
    void (*tx_accepted)(void *ud, const arb_hash *txid);
    void *ud;
} arb_chainapi_hooks;
/* Installs (h non-NULL) or removes (NULL) the hooks. */
void arb_chainapi_set_hooks(arb_chainapi *a, const arb_chainapi_hooks *h);

/* Takes the chain lock and returns the chain state for reads (headers,
 * locators, stored blocks, accept_header); release with arb_chainapi_unlock.
 * Do not submit blocks through it: use the calls below, which keep the
 * mempool in step and fire the hooks. */
arb_chainstate *arb_chainapi_lock(arb_chainapi *a);
void arb_chainapi_unlock(arb_chainapi *a);
arb_mempool *arb_chainapi_mempool(arb_chainapi *a); /* thread-safe itself */
const arb_chain_params *arb_chainapi_params(const arb_chainapi *a);

/* arb_chainstate_submit_ex / arb_chainstate_activate_to / arb_mempool_accept
 * with the mempool following the tip, the metrics and the hooks, as the HTTP
 * routes do. sha is the caller's. Same returns as those. Any thread. */
arb_err arb_chainapi_submit_block(arb_chainapi *a, arb_sha256 *sha, const arb_block *blk,
                                  int requested, arb_block_outcome *outcome,
                                  arb_check_result *res) ARB_WARN_UNUSED;
arb_err arb_chainapi_activate(arb_chainapi *a, arb_sha256 *sha, const arb_hash *hash,
                              arb_check_result *res) ARB_WARN_UNUSED;
arb_err arb_chainapi_submit_tx(arb_chainapi *a, arb_sha256 *sha, const arb_tx *tx,
                               arb_hash *txid, arb_check_result *res) ARB_WARN_UNUSED;

/* The light-client proof object of docs/api.md ("proof") for the state
 * record (kind, key) (stateview.h) at the tip: headers after `checkpoint`
 * (display-form block hash; NULL: genesis) up to the tip, the tip's
 * coinbase with its inclusion proof, the tree key, the record (or null) and
 * its sparse Merkle tree proof against the coinbase's root. Call with the
 * chain lock held (arb_chainapi_lock). Returns ARB_OK with *out (a jansson
 * object, the caller's), ARB_ERR_INVALID_ARG with *why (a bad or foreign
 * checkpoint, or more than 10,000 headers after it: answer 400), or a
 * storage / memory error. */
struct json_t;
arb_err arb_chainapi_state_proof(arb_chainstate *cs, arb_sha256 *sha, uint8_t kind,
                                 const uint8_t key32[32], const char *checkpoint,
                                 struct json_t **out, const char **why) ARB_WARN_UNUSED;

#endif
