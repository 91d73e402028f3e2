/* The log's HTTP routes on arbord's HTTP server:
 *   RFC 6962 section 4: POST /ct/v1/add-chain, /ct/v1/add-pre-chain;
 *     GET /ct/v1/get-sth, get-sth-consistency, get-proof-by-hash, get-entries,
 *     get-roots, get-entry-and-proof
 *   C2SP static-ct-api read path: GET /checkpoint, /tile/<L>/<N>[.p/<W>],
 *     /tile/data/<N>[.p/<W>], /issuer/<hex SHA-256 fingerprint>
 * Errors are JSON {"error": "..."}: 400 for bad input (unparseable body or
 * parameters, a chain that does not validate), 404 for what does not exist
 * (yet), 503 when the log cannot store entries, 500 for internal errors. */
#ifndef ARB_LEDGER_LOG_ROUTES_H
#define ARB_LEDGER_LOG_ROUTES_H

#include <stddef.h>

#include "ledger/api/http.h"
#include "ledger/log/chain.h"
#include "ledger/log/log.h"

typedef struct {
    arb_log *log;               /* borrowed */
    const arb_ct_roots *roots;  /* borrowed accepted roots */
    arb_ct_chain_opts chain;    /* limits and the notAfter shard window */
    size_t max_get_entries;     /* most entries per get-entries answer; 0: 256 */
    size_t max_body;            /* largest add-chain / add-pre-chain body, bytes; 0: 1 MiB */
} arb_log_routes_config;

typedef struct arb_log_routes arb_log_routes;

/* Registers the routes on s (before arb_http_server_start). The returned
 * object holds the configuration and must outlive the server; free it after
 * arb_http_server_stop. Returns ARB_OK, ARB_ERR_NOMEM or a route error. */
arb_err arb_log_routes_add(arb_log_routes **out, arb_http_server *s,
                           const arb_log_routes_config *cfg) ARB_WARN_UNUSED;
/* Replaces the accepted roots (borrowed; NULL: accept no submissions) while
 * the server runs; returns the previous ones, which no request uses any more
 * when this returns (the caller frees them). Thread-safe. */
const arb_ct_roots *arb_log_routes_set_roots(arb_log_routes *r, const arb_ct_roots *roots);
void arb_log_routes_free(arb_log_routes *r);

#endif
