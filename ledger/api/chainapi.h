/* The chain module of arbord: the chain state, the mempool, block templates
 * and block submission, served over HTTP under /chain/v1/ (docs/api.md).
 *
 * One mutex serializes the chain state (which is single-threaded) across the
 * HTTP workers; the mempool has its own lock. Submitted blocks go through
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
 * start) and registers the routes on http. mempool_bytes: 0 for the default. */
arb_err arb_chainapi_start(arb_chainapi **out, arb_http_server *http, arb_store *store,
                           unsigned cf_base, const char *network, size_t mempool_bytes,
                           const arb_logger *log, arb_errbuf *eb) ARB_WARN_UNUSED;
/* Runs fn(ud, cs, mp, p) with the chain state locked, for read-only use by
 * other modules (the explorer); fn must not keep cs or mp (the mempool has
 * its own lock and may be read there). Any thread. */
void arb_chainapi_read(arb_chainapi *a,
                       void (*fn)(void *ud, arb_chainstate *cs, arb_mempool *mp,
                                  const arb_chain_params *p),
                       void *ud);
/* After the HTTP server has stopped: closes the chain state. NULL is fine. */
void arb_chainapi_stop(arb_chainapi *a);

#endif
