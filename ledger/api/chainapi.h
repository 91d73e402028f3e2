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
void arb_chainapi_stop(arb_chainapi *a);

#endif
