/* The node client's answer decoders, exposed for the fuzz target. */
#ifndef ARB_WALLET_NODE_INTERNAL_H
#define ARB_WALLET_NODE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "merkle/error.h"
#include "wallet/node.h"

typedef enum {
    ARB_NODE_ROUTE_TIP,
    ARB_NODE_ROUTE_UTXOS,
    ARB_NODE_ROUTE_BALANCE,
    ARB_NODE_ROUTE_HISTORY,
    ARB_NODE_ROUTE_TEMPLATE,
    ARB_NODE_ROUTE_TX,
    ARB_NODE_ROUTE_BLOCK,
    ARB_NODE_ROUTE_NAME,
    ARB_NODE_ROUTE_OWNER,
    ARB_NODE_ROUTE_PRICE,
    ARB_NODE_ROUTE_NAMESPACE,
    ARB_NODE_ROUTE_ANCHORS,
    ARB_NODE_ROUTE_ZONEFILE,
    ARB_NODE_ROUTE_CONSISTENCY,
    ARB_NODE_ROUTE_COUNT
} arb_node_route;

/* Parses an answer body of `route` exactly as the client does and discards
 * the result. Returns ARB_OK, ARB_ERR_PARSE or ARB_ERR_NOMEM. */
arb_err arb_node_decode_answer(arb_node_route route, const uint8_t *text, size_t len,
                               arb_errbuf *eb) ARB_WARN_UNUSED;

/* One HTTP request to the node's base URL + path (body NULL: GET; else POST
 * of body_len bytes with content_type). *status gets the HTTP status and *out
 * (free()) the body with a NUL after it (not counted in *out_len). Returns
 * ARB_OK for any HTTP answer; ARB_ERR_NET (no answer), ARB_ERR_PARSE (answer
 * too large), ARB_ERR_NOMEM. */
arb_err arb_node_http(arb_node *n, const char *path, const uint8_t *body, size_t body_len,
                      const char *content_type, long *status, uint8_t **out, size_t *out_len,
                      arb_errbuf *eb) ARB_WARN_UNUSED;
/* arb_node_http with a JSON object answer: 200 gives the object in *out
 * (json_decref); 4xx/5xx are ARB_ERR_NOT_FOUND (404) / ARB_ERR_VERIFY with the
 * node's {"error": ...} in eb; anything else ARB_ERR_PARSE. */
arb_err arb_node_request(arb_node *n, json_t **out, const char *path, const uint8_t *body,
                         size_t body_len, const char *content_type, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* The name-layer and anchor decoders (names_node.c), for
 * arb_node_decode_answer. Each takes the parsed answer object. */
arb_err arb_node_decode_names_route(arb_node_route route, json_t *j, arb_errbuf *eb)
    ARB_WARN_UNUSED;

#endif
