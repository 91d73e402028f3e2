/* The node client's answer decoders, exposed for the fuzz target. */
#ifndef ARB_WALLET_NODE_INTERNAL_H
#define ARB_WALLET_NODE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef enum {
    ARB_NODE_ROUTE_TIP,
    ARB_NODE_ROUTE_UTXOS,
    ARB_NODE_ROUTE_BALANCE,
    ARB_NODE_ROUTE_HISTORY,
    ARB_NODE_ROUTE_TEMPLATE,
    ARB_NODE_ROUTE_TX,
    ARB_NODE_ROUTE_BLOCK,
    ARB_NODE_ROUTE_COUNT
} arb_node_route;

/* Parses an answer body of `route` exactly as the client does and discards
 * the result. Returns ARB_OK, ARB_ERR_PARSE or ARB_ERR_NOMEM. */
arb_err arb_node_decode_answer(arb_node_route route, const uint8_t *text, size_t len,
                               arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
