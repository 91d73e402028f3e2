/* The glue between the HTTP server (http.c) and its websocket extension
 * (http_ws.c). Not part of the public API. */
#ifndef ARB_LEDGER_API_HTTP_WS_INTERNAL_H
#define ARB_LEDGER_API_HTTP_WS_INTERNAL_H

#include <libwebsockets.h>

#include "ledger/api/http.h"

typedef struct arb_http_ws_hub arb_http_ws_hub;

/* In http.c. The server's hub, created on first use when `create` is set and
 * the server has not started; NULL otherwise. */
arb_http_ws_hub *arb_http_server_ws_hub(arb_http_server *s, int create);
/* In http.c. Wakes the websocket service thread (lws_cancel_service). Returns 1, or 0 if
 * the service loop is not running. */
int arb_http_server_wake(arb_http_server *s);

/* In http_ws.c. All but _new, _free and the public functions run on the
 * service thread or before it starts. */
arb_http_ws_hub *arb_http_ws_hub_new(const arb_logger *log);
void arb_http_ws_hub_free(arb_http_ws_hub *h); /* NULL is fine */
size_t arb_http_ws_hub_nprotocols(const arb_http_ws_hub *h);
/* Writes the hub's lws_protocols entries into out; returns how many. */
size_t arb_http_ws_hub_fill_protocols(arb_http_ws_hub *h, struct lws_protocols *out);
void arb_http_ws_hub_attach(arb_http_ws_hub *h, struct lws_context *ctx, struct lws_vhost *vh);
/* Runs queued connects and write requests (on LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
void arb_http_ws_hub_service(arb_http_ws_hub *h);
/* Incoming websocket connections open now (any thread). */
int arb_http_ws_hub_incoming(const arb_http_ws_hub *h);
/* After the context is destroyed: reports on_close for every connection still
 * known (dials that never started) and frees them. */
void arb_http_ws_hub_shutdown(arb_http_ws_hub *h);

#endif
