/* The HTTP server that arbord's APIs run on: one I/O thread (epoll) for the
 * sockets, pools of worker threads for the handlers, and (when a websocket
 * subprotocol is registered) libwebsockets on a thread of its own for
 * websocket peers.
 *
 * Life of a request: the I/O thread reads the request line, headers and
 * (bounded) body; it finds the route whose method matches and whose path is the
 * longest matching prefix; it queues the request on the route's worker pool,
 * whose thread calls the route's handler. The handler answers with
 * arb_http_respond(), at once or later, from any thread (e.g. after the log's
 * sequencer has made an entry durable). The I/O thread then writes the answer.
 * Exactly one response per request; a request whose handler never responds is
 * a bug. A connection reads its next (pipelined) request only after the
 * answer to the last one is written, so answers go out in order.
 *
 * Unknown paths get 404, a known path with the wrong method gets 405 (with an
 * Allow header), a body over the route's limit gets 413, headers over the
 * limit 431, a full pool queue or body budget 503, all as JSON
 * {"error": "..."} bodies, and each is counted in the server's metrics. HEAD
 * is served for every GET route: the handler sees a GET and the body is left
 * out of the answer.
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

/* One answered request, for an access log. */
typedef struct {
    const char *peer;   /* client address as text */
    const char *method; /* "GET", "HEAD", "POST", "-" (unparsed) */
    const char *path;   /* decoded path without the query, "-" if unparsed */
    int status;
    size_t bytes;       /* body bytes sent */
    double seconds;     /* first byte of the request to the answer written */
} arb_http_access;

typedef struct {
    const char *listen_host; /* numeric, e.g. "127.0.0.1" or "0.0.0.0" */
    int port;                /* 0: pick a free port; see arb_http_server_port */
    int workers;             /* worker threads; 0: a default (2 x cores, at least 4) */
    size_t max_body_default; /* default body limit for POST routes (bytes); 0: 1 MiB */
    arb_logger log;
} arb_http_config;

/* Optional access log, before arb_http_server_start: fn is called on the I/O
 * thread after each answer is written (it must not block; the strings are
 * valid during the call only). NULL turns it off. */
typedef void (*arb_http_access_fn)(void *ud, const arb_http_access *a);
void arb_http_server_set_access_log(arb_http_server *s, arb_http_access_fn fn, void *ud);

/* Creates a server (not yet listening). Returns ARB_OK, ARB_ERR_NOMEM,
 * ARB_ERR_INVALID_ARG. Free with arb_http_server_free. */
arb_err arb_http_server_new(arb_http_server **out, const arb_http_config *cfg) ARB_WARN_UNUSED;

/* Optional limits, before arb_http_server_start (defaults apply otherwise):
 * max_header caps the request line plus headers in bytes (0: 8192; 256 to
 * 65535; larger requests get 431); timeout_s closes a connection stalled
 * that long, and also a request whose handler has not answered by then (the
 * late answer is dropped) (0: 30). Returns ARB_OK or ARB_ERR_INVALID_ARG. */
arb_err arb_http_server_set_limits(arb_http_server *s, size_t max_header,
                                   int timeout_s) ARB_WARN_UNUSED;

/* Sets one limit by name, before arb_http_server_start (value: a decimal
 * number, sizes may end in k, m or g for KiB, MiB, GiB). Names and defaults:
 *   max-conns 1024            open HTTP connections in all (past it the
 *                             oldest connection waiting for a request is
 *                             closed, else the new one gets a 503)
 *   max-conns-per-addr 64     the same per client address
 *   max-header 8192           request line + headers, bytes (431 past it)
 *   header-timeout 10         s from a request's first byte (or the accept)
 *                             to the end of its headers
 *   body-timeout 30           s from the end of the headers to the end of the body
 *   idle-timeout 30           s a keep-alive connection may wait for its next request
 *   timeout 30                s for a handler's answer, and for a stalled write
 *   max-ws-peers 128          incoming websocket connections (dials not counted)
 *   POOL-workers, POOL-queue, POOL-body-budget, POOL-nice
 *                             of the worker pool called POOL (created with
 *                             the defaults of arb_http_pool_add if new);
 *                             "default" is the pool of arb_http_route_add.
 * Returns ARB_OK or ARB_ERR_INVALID_ARG (unknown name, value out of range,
 * already started). */
arb_err arb_http_server_set_option(arb_http_server *s, const char *name,
                                   const char *value) ARB_WARN_UNUSED;
/* Applies n "NAME=VALUE" strings with arb_http_server_set_option, in order.
 * Returns ARB_OK, or ARB_ERR_INVALID_ARG with *bad (if not NULL) the index of
 * the first one that is malformed or refused. */
arb_err arb_http_server_set_options(arb_http_server *s, char *const *kv, size_t n,
                                    size_t *bad) ARB_WARN_UNUSED;

/* A worker pool: routes on different pools never wait for each other's
 * threads, queue or body memory. */
typedef struct {
    const char *name;   /* [a-z0-9_]+, at most 23 characters */
    int workers;        /* threads; 0: 4 (the "default" pool: cfg.workers) */
    size_t max_queue;   /* requests waiting for a thread before 503; 0: 256
                           (the "default" pool: 1024) */
    size_t body_budget; /* request body bytes held at once by the pool's requests,
                           reserved at the declared length before the body is read
                           (503 when it does not fit); 0: 64 MiB; raised at start
                           to the pool's largest route limit if lower */
    int nice;           /* 0..19 added to the threads' nice value */
} arb_http_pool_config;

/* Creates a pool, before start. Returns ARB_OK, ARB_ERR_EXISTS (name taken;
 * "default" always exists), ARB_ERR_INVALID_ARG. */
arb_err arb_http_pool_add(arb_http_server *s, const arb_http_pool_config *pc) ARB_WARN_UNUSED;

/* Registers a route. `path` is matched as a prefix when it ends in '/', else
 * exactly (query string excluded). max_body 0 means the config default.
 * The path string must outlive the server. */
arb_err arb_http_route_add(arb_http_server *s, arb_http_method m, const char *path,
                           size_t max_body, arb_http_handler fn, void *ud) ARB_WARN_UNUSED;
/* The same on the worker pool called `pool` (NULL: "default"), created with
 * the defaults if it does not exist yet. */
arb_err arb_http_route_add_pool(arb_http_server *s, arb_http_method m, const char *path,
                                size_t max_body, arb_http_handler fn, void *ud,
                                const char *pool) ARB_WARN_UNUSED;
/* A route's fast path: called with the route's ud on the server's I/O thread
 * once a request is complete (HEAD included), before it goes to the route's
 * pool, so an answer that is ready (bytes in memory) costs no hand-over
 * between threads and no queue slot. It must not block: every connection
 * waits while it runs. It returns 1 after responding (arb_http_respond, _shared
 * or _error, before it returns; the answer is written at once), or 0 without
 * responding: the request then goes to the route's pool and handler as usual.
 * Sets it for the route added with this method and path (NULL removes it);
 * before arb_http_server_start. Returns ARB_OK, ARB_ERR_NOT_FOUND (no such
 * route), ARB_ERR_INVALID_ARG (already started). */
typedef int (*arb_http_fast_handler)(void *ud, arb_http_req *req);
arb_err arb_http_route_set_fast(arb_http_server *s, arb_http_method m, const char *path,
                                arb_http_fast_handler fast) ARB_WARN_UNUSED;

/* Binds and starts the I/O thread, the workers (and the websocket thread). Returns ARB_ERR_NET
 * with a message in eb if the address cannot be bound. */
arb_err arb_http_server_start(arb_http_server *s, arb_errbuf *eb) ARB_WARN_UNUSED;
/* The port actually bound (after start). */
int arb_http_server_port(const arb_http_server *s);
/* Stops accepting, finishes or drops in-flight requests, joins all threads.
 * Safe to call once from any thread other than the server's own (from those it logs an error and does nothing). Handlers
 * still holding requests may answer them afterwards (the answers are dropped)
 * until arb_http_server_free. */
void arb_http_server_stop(arb_http_server *s);
/* Stops (if needed) and frees. Every handler must have answered by now. */
void arb_http_server_free(arb_http_server *s);

/* Request accessors (valid until the response is sent). */
/* The server the request arrived on (e.g. to bump metrics from a handler). */
arb_http_server *arb_http_req_server(const arb_http_req *r);
arb_http_method arb_http_req_method(const arb_http_req *r);
/* 1 for a HEAD request (whose method reads as GET; the body of the answer is
 * not sent), else 0. */
int arb_http_req_is_head(const arb_http_req *r);
/* The path without the query string, e.g. "/ct/v1/get-sth". */
const char *arb_http_req_path(const arb_http_req *r);
/* The value of query parameter `name`, URL-decoded, or NULL if absent.
 * The string is owned by the request. */
const char *arb_http_req_query(const arb_http_req *r, const char *name);
/* The value of request header field `name` (matched case-insensitively), with
 * the whitespace around it removed, or NULL if the request has no such field.
 * A field that appears more than once reads as its first occurrence (the
 * others are ignored, not joined). The string is owned by the request: the
 * request keeps a copy of its header fields (at most the max-header limit in
 * bytes) until the response is sent. */
const char *arb_http_req_header(const arb_http_req *r, const char *name);
/* The client's address as text ("127.0.0.1", "::1"), or "" if unknown. */
const char *arb_http_req_peer(const arb_http_req *r);
/* The request body (POST), possibly empty; not NUL-terminated. */
const uint8_t *arb_http_req_body(const arb_http_req *r, size_t *len);

/* Sends the response: status code, content type (NULL: application/json),
 * extra header lines (NULL or e.g. "Cache-Control: public, max-age=604800\r\n"
 * — each line ending in CRLF), and the body, which is copied. Returns ARB_OK, or
 * ARB_ERR_NOMEM (the connection is then closed). */
arb_err arb_http_respond(arb_http_req *r, int status, const char *content_type,
                         const char *extra_headers, const void *body, size_t len);
/* Like arb_http_respond, but the body is not copied (it is written from
 * where it is): it must stay unchanged until release(release_ud) is called.
 * release is called exactly once, when the response has been written or
 * dropped (the client has gone, the server stopped, out of memory, or the
 * request had already been answered: then ARB_ERR_INVALID_ARG), from any
 * thread, possibly before this returns, with the server's lock held (so it
 * must not call into the server). release NULL: the body is copied, as by
 * arb_http_respond. */
arb_err arb_http_respond_shared(arb_http_req *r, int status, const char *content_type,
                                const char *extra_headers, const void *body, size_t len,
                                void (*release)(void *), void *release_ud);
/* Convenience: a JSON error body {"error": msg} with the given status, counted
 * as an error in the metrics under `counter` (a short name like "bad_json"). */
arb_err arb_http_respond_error(arb_http_req *r, int status, const char *counter, const char *msg);

/* Metrics: named monotonic counters and gauges, exposed at GET /metrics in the
 * Prometheus text format. Counter names are [a-z_]+ and get the prefix "arbor_".
 * Thread-safe. */
void arb_http_metric_add(arb_http_server *s, const char *name, uint64_t delta);
void arb_http_metric_set(arb_http_server *s, const char *name, uint64_t value);
/* The server's metrics registry (ledger/api/metrics.h), for modules that
 * declare their own families and histograms. Valid until arb_http_server_free. */
struct arb_metrics;
struct arb_metrics *arb_http_server_metrics(arb_http_server *s);

/* ---- Websockets (optional) ----
 * A module (the peer network) can serve websocket subprotocols on the same port
 * and open outgoing websocket connections. The I/O thread hands an upgrade
 * request to libwebsockets, which runs on its own service thread; HTTP
 * requests are unaffected. At most max-ws-peers incoming websocket
 * connections are open at once (the upgrade gets 503 past it).
 *
 * A connection is named by a 64-bit id (never 0, never reused during the
 * server's life), so any thread can send to or close a connection that may
 * already be gone: it then gets ARB_ERR_NOT_FOUND. The callbacks run on the
 * service thread and must not block (hand heavy work to your own threads);
 * they may call arb_http_ws_send / arb_http_ws_close. Incoming fragments are
 * joined into whole messages; outgoing messages are queued (copied) and sent
 * in order, one per frame. */
typedef struct {
    const char *name;   /* the subprotocol, e.g. "arbor-p2p.1": letters, digits and "._-"
                           only (an HTTP token; no '/'); must outlive the server */
    size_t max_message; /* a longer incoming message closes the connection; 0: 1 MiB */
    size_t max_queue;   /* bytes queued for sending per connection before
                           arb_http_ws_send refuses with ARB_ERR_BUSY; 0: 16 MiB */
    /* The handshake completed. outgoing: 1 if we dialled. peer: "ip" text. */
    void (*on_open)(void *ud, uint64_t conn, int outgoing, const char *peer);
    /* One whole message (binary 1: a binary frame, 0: text). */
    void (*on_message)(void *ud, uint64_t conn, const uint8_t *data, size_t len, int binary);
    /* Optional (NULL): the send queue has become empty. */
    void (*on_writeable)(void *ud, uint64_t conn);
    /* The connection is gone (or an outgoing one failed before opening). Called
     * exactly once per id, also for connections closed by arb_http_server_stop. */
    void (*on_close)(void *ud, uint64_t conn);
    void *ud;
} arb_http_ws_proto;

/* Registers a subprotocol. Only before arb_http_server_start. Returns ARB_OK,
 * ARB_ERR_INVALID_ARG (bad name, missing callbacks, already started),
 * ARB_ERR_EXISTS (name taken), ARB_ERR_NOMEM. */
arb_err arb_http_ws_add(arb_http_server *s, const arb_http_ws_proto *p) ARB_WARN_UNUSED;

/* Opens an outgoing connection to "HOST:PORT" (numeric IPv4/IPv6 host; no DNS)
 * speaking subprotocol `name`, at path "/". Any thread, after start. On ARB_OK
 * *conn gets the id; on_open or on_close follows. Returns ARB_ERR_INVALID_ARG
 * (bad address, unknown subprotocol, server not running) or ARB_ERR_NOMEM. */
arb_err arb_http_ws_connect(arb_http_server *s, const char *name, const char *hostport,
                            uint64_t *conn) ARB_WARN_UNUSED;

/* Queues one message (copied) on a connection. Any thread. Returns ARB_OK,
 * ARB_ERR_NOT_FOUND (no such open connection), ARB_ERR_BUSY (queue full),
 * ARB_ERR_NOMEM. */
arb_err arb_http_ws_send(arb_http_server *s, uint64_t conn, const void *data, size_t len,
                         int binary);

/* Bytes queued on a connection and not yet handed to the socket (0 for an
 * unknown one). Any thread. */
size_t arb_http_ws_queued(arb_http_server *s, uint64_t conn);

/* Stops (paused 1) or resumes (paused 0) reading a connection: libwebsockets'
 * receive flow control, so a peer that sends faster than the module handles
 * its messages is held back by TCP instead of being buffered. Called from a
 * callback on the service thread it takes effect before the next message;
 * from another thread, as soon as the service thread wakes. Sending is not
 * affected. Any thread. Returns ARB_OK or ARB_ERR_NOT_FOUND. */
arb_err arb_http_ws_pause(arb_http_server *s, uint64_t conn, int paused);

/* Closes a connection at once, dropping what is queued for it (for a peer
 * that does not read: a graceful close would wait for ever). Any thread.
 * Returns ARB_OK or ARB_ERR_NOT_FOUND. on_close follows. */
arb_err arb_http_ws_abort(arb_http_server *s, uint64_t conn);

/* Closes a connection after its queued messages are sent. Any thread.
 * Returns ARB_OK or ARB_ERR_NOT_FOUND. on_close follows. */
arb_err arb_http_ws_close(arb_http_server *s, uint64_t conn);

#endif
