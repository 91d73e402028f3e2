/* The HTTP server that arbord's APIs run on: libwebsockets on one service
 * thread for the sockets, and a pool of worker threads for the handlers.
 *
 * Life of a request: the service thread reads the request line, headers and
 * (bounded) body; it finds the route whose method matches and whose path is the
 * longest matching prefix; it hands the request to a worker thread, which calls
 * the route's handler. The handler answers with arb_http_respond(), at once or
 * later, from any thread (e.g. after the log's sequencer has made an entry
 * durable). The service thread then writes the answer. Exactly one response per
 * request; a request whose handler never responds is a bug.
 *
 * Unknown paths get 404, a known path with the wrong method gets 405 (with an
 * Allow header), a body over the route's limit gets 413, all as JSON
 * {"error": "..."} bodies, and each is counted in the server's metrics.
 *
 * Thread-safety: arb_http_route_add only before arb_http_server_start.
 * arb_http_respond and the request accessors are safe from any thread for a
 * request that has not been responded to yet. */
#ifndef ARB_LEDGER_API_HTTP_H
#define ARB_LEDGER_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct arb_http_server arb_http_server;
typedef struct arb_http_req arb_http_req;

typedef enum { ARB_HTTP_GET = 1, ARB_HTTP_POST = 2 } arb_http_method;

/* A route handler. Runs on a worker thread; must eventually call
 * arb_http_respond(req, ...) exactly once (possibly from another thread). */
typedef void (*arb_http_handler)(void *ud, arb_http_req *req);

typedef struct {
    const char *listen_host; /* numeric, e.g. "127.0.0.1" or "0.0.0.0" */
    int port;                /* 0: pick a free port; see arb_http_server_port */
    int workers;             /* worker threads; 0: a default (2 x cores, at least 4) */
    size_t max_body_default; /* default body limit for POST routes (bytes); 0: 1 MiB */
    arb_logger log;
    size_t max_header;       /* cap on the request line + headers (bytes); 0: 8192, max 65535 */
} arb_http_config;

/* Creates a server (not yet listening). Returns ARB_OK, ARB_ERR_NOMEM,
 * ARB_ERR_INVALID_ARG. Free with arb_http_server_free. */
arb_err arb_http_server_new(arb_http_server **out, const arb_http_config *cfg) ARB_WARN_UNUSED;

/* Registers a route. `path` is matched as a prefix when it ends in '/', else
 * exactly (query string excluded). max_body 0 means the config default.
 * The path string must outlive the server. */
arb_err arb_http_route_add(arb_http_server *s, arb_http_method m, const char *path,
                           size_t max_body, arb_http_handler fn, void *ud) ARB_WARN_UNUSED;

/* Binds and starts the service thread and the workers. Returns ARB_ERR_NET
 * with a message in eb if the address cannot be bound. */
arb_err arb_http_server_start(arb_http_server *s, arb_errbuf *eb) ARB_WARN_UNUSED;
/* The port actually bound (after start). */
int arb_http_server_port(const arb_http_server *s);
/* Stops accepting, finishes or drops in-flight requests, joins all threads.
 * Safe to call once from any thread other than the service thread. */
void arb_http_server_stop(arb_http_server *s);
void arb_http_server_free(arb_http_server *s);

/* Request accessors (valid until the response is sent). */
/* The server the request arrived on (e.g. to bump metrics from a handler). */
arb_http_server *arb_http_req_server(const arb_http_req *r);
arb_http_method arb_http_req_method(const arb_http_req *r);
/* The path without the query string, e.g. "/ct/v1/get-sth". */
const char *arb_http_req_path(const arb_http_req *r);
/* The value of query parameter `name`, URL-decoded, or NULL if absent.
 * The string is owned by the request. */
const char *arb_http_req_query(const arb_http_req *r, const char *name);
/* The request body (POST), possibly empty; not NUL-terminated. */
const uint8_t *arb_http_req_body(const arb_http_req *r, size_t *len);

/* Sends the response: status code, content type (NULL: application/json),
 * extra header lines (NULL or e.g. "Cache-Control: public, max-age=604800\r\n"
 * — each line ending in CRLF), and the body, which is copied. Returns ARB_OK, or
 * ARB_ERR_NOMEM (the connection is then closed). */
arb_err arb_http_respond(arb_http_req *r, int status, const char *content_type,
                         const char *extra_headers, const void *body, size_t len);
/* Convenience: a JSON error body {"error": msg} with the given status, counted
 * as an error in the metrics under `counter` (a short name like "bad_json"). */
arb_err arb_http_respond_error(arb_http_req *r, int status, const char *counter, const char *msg);

/* Metrics: named monotonic counters and gauges, exposed at GET /metrics in the
 * Prometheus text format. Counter names are [a-z_]+ and get the prefix "arbor_".
 * Thread-safe. */
void arb_http_metric_add(arb_http_server *s, const char *name, uint64_t delta);
void arb_http_metric_set(arb_http_server *s, const char *name, uint64_t value);

#endif
