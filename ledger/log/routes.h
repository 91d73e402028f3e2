/* The log's HTTP routes on arbord's HTTP server:
 *   RFC 6962 section 4: POST /ct/v1/add-chain, /ct/v1/add-pre-chain;
 *     GET /ct/v1/get-sth, get-sth-consistency, get-proof-by-hash, get-entries,
 *     get-roots, get-entry-and-proof
 *   C2SP static-ct-api read path: GET /checkpoint, /tile/<L>/<N>[.p/<W>],
 *     /tile/data/<N>[.p/<W>], /issuer/<hex SHA-256 fingerprint>
 *   the log's own v3 log list: GET ARB_LOG_LIST_PATH
 * Errors are JSON {"error": "..."}: 400 for bad input (unparseable body or
 * parameters, a chain that does not validate or that the policy refuses; each
 * reason counted as arbor_log_rejected_<reason>), 404 for what does not exist
 * (yet), 429 with Retry-After for a client over its submission rate, 503 when
 * the log cannot store entries or is shutting down, 500 for internal errors. */
#ifndef ARB_LEDGER_LOG_ROUTES_H
#define ARB_LEDGER_LOG_ROUTES_H

#include <stddef.h>

#include "ledger/api/http.h"
#include "ledger/log/chain.h"
#include "ledger/log/log.h"

typedef struct {
    arb_log *log;               /* borrowed */
    arb_ct_roots *roots;        /* accepted roots; TAKES OWNERSHIP (also on failure);
                                   NULL: submissions get 503 */
    arb_ct_chain_opts chain;    /* limits, the notAfter shard window and the policy */
    double rate_limit;          /* submissions per second per client; 0: unlimited */
    unsigned rate_burst;        /* bucket size; 0: max(1, rate_limit rounded up) */
    size_t max_get_entries;     /* most entries per get-entries answer; 0: 256 */
    size_t max_body;            /* largest add-chain / add-pre-chain body, bytes; 0: 1 MiB */
    const char *log_list;       /* v3 log list JSON served at ARB_LOG_LIST_PATH (copied);
                                   NULL: that path answers 404 */
} arb_log_routes_config;

/* Where the log's own v3 log list is served (the path of Google's list). */
#define ARB_LOG_LIST_PATH "/ct/log_list/v3/log_list.json"

typedef struct arb_log_routes arb_log_routes;

/* Registers the routes on s (before arb_http_server_start). The returned
 * object holds the configuration and must outlive the server; free it after
 * arb_http_server_stop. Returns ARB_OK, ARB_ERR_NOMEM or a route error. */
arb_err arb_log_routes_add(arb_log_routes **out, arb_http_server *s,
                           const arb_log_routes_config *cfg) ARB_WARN_UNUSED;
/* How many roots the log accepts now (0: none). Thread-safe. */
size_t arb_log_routes_roots_count(arb_log_routes *r);
void arb_log_routes_free(arb_log_routes *r);

/* Replaces the submission policy at once for later submissions (those being
 * validated keep the one they started with): the accepted roots (TAKES
 * OWNERSHIP; NULL: none), the chain options, the rate limit and the log list
 * (copied; NULL: not served). Any thread. Returns ARB_OK or ARB_ERR_NOMEM
 * (roots freed, old policy kept). */
arb_err arb_log_routes_set_policy(arb_log_routes *r, arb_ct_roots *roots,
                                  const arb_ct_chain_opts *chain, double rate_limit,
                                  unsigned rate_burst, const char *log_list) ARB_WARN_UNUSED;

/* From now on, refuses submissions with 503 ("shutting down"); reads go on.
 * Returns how many submissions were then waiting in the log for their
 * answer. Any thread. */
uint64_t arb_log_routes_drain(arb_log_routes *r);

#endif
