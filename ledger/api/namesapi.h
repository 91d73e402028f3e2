/* The name layer's read routes of arbord, under /names/v1/ (docs/api.md):
 * a name with its status and history, the names of an owner, namespaces, a
 * name's price, each record with the light-client proof on request
 * (?proof=1[&checkpoint=<block hash>]). They read the chain state through
 * the chain module's lock (arb_chainapi_lock) and run on its worker pool.
 * Thread-safe (the state is only read under that lock). */
#ifndef ARB_LEDGER_API_NAMESAPI_H
#define ARB_LEDGER_API_NAMESAPI_H

#include "ledger/api/chainapi.h"
#include "ledger/api/http.h"

typedef struct arb_namesapi arb_namesapi;

/* Registers the routes on http, before the server starts. chain must
 * outlive the module. Returns ARB_OK, or an error with eb. */
arb_err arb_namesapi_start(arb_namesapi **out, arb_http_server *http, arb_chainapi *chain,
                           arb_errbuf *eb) ARB_WARN_UNUSED;
/* After the server stopped. NULL is fine. */
void arb_namesapi_free(arb_namesapi *n);

#endif
