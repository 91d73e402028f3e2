/* A client for arbord's chain HTTP API (docs/api.md) over libcurl, with
 * strict JSON parsing (jansson): every field the wallet uses must be present
 * with the right type and range, or the answer is a parse error.
 *
 * Errors: ARB_ERR_NET (node unreachable or timed out; eb names the URL and
 * the transport error), ARB_ERR_VERIFY (the node answered 4xx/5xx; eb holds
 * the node's reason string and the status), ARB_ERR_NOT_FOUND (404),
 * ARB_ERR_PARSE (malformed answer), ARB_ERR_NOMEM.
 *
 * One arb_node per thread. */
#ifndef ARB_WALLET_NODE_H
#define ARB_WALLET_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct arb_node arb_node;

/* A client for base_url ("http://127.0.0.1:7480", no trailing path needed);
 * timeout_ms bounds each request (connect included). Returns ARB_OK,
 * ARB_ERR_INVALID_ARG or ARB_ERR_NOMEM. Free with arb_node_free. */
arb_err arb_node_new(arb_node **out, const char *base_url, long timeout_ms, arb_errbuf *eb)
    ARB_WARN_UNUSED;
void arb_node_free(arb_node *n);

/* Hex of a 32-byte hash: 64 lowercase hex digits and a NUL. */
#define ARB_NODE_HASH_HEX 65

typedef struct {
    char network[16];
    uint32_t height;
    char hash[ARB_NODE_HASH_HEX];
    uint32_t bits;
    uint32_t time;
} arb_node_tip;

arb_err arb_node_get_tip(arb_node *n, arb_node_tip *tip, arb_errbuf *eb) ARB_WARN_UNUSED;

typedef struct {
    char txid[ARB_NODE_HASH_HEX];
    uint32_t index;
    uint64_t amount;
    int64_t height; /* -1: mempool */
    int coinbase, confirmed, mature;
} arb_node_utxo;

/* The unspent outputs of address (*out is malloc'ed; free()). */
arb_err arb_node_get_utxos(arb_node *n, arb_node_utxo **out, size_t *n_out, const char *address,
                           arb_errbuf *eb) ARB_WARN_UNUSED;

typedef struct {
    uint64_t confirmed, unconfirmed, immature;
} arb_node_balance;

arb_err arb_node_get_balance(arb_node *n, arb_node_balance *bal, const char *address,
                             arb_errbuf *eb) ARB_WARN_UNUSED;

typedef struct {
    char txid[ARB_NODE_HASH_HEX];
    int64_t height; /* -1: mempool */
    uint64_t received, sent;
} arb_node_hist;

/* The transactions touching address (*out is malloc'ed; free()). */
arb_err arb_node_get_history(arb_node *n, arb_node_hist **out, size_t *n_out, const char *address,
                             arb_errbuf *eb) ARB_WARN_UNUSED;

typedef struct {
    char txid[ARB_NODE_HASH_HEX];
    int confirmed;  /* 1: in a block of the best chain; 0: in the mempool */
    int64_t height; /* the block's height, -1 when not confirmed */
    char *hex;      /* the full serialization (malloc'ed) */
} arb_node_txinfo;

/* What the node knows of transaction txid (64 hex digits): confirmed, in its
 * mempool, or ARB_ERR_NOT_FOUND. Clear with arb_node_txinfo_clear. */
arb_err arb_node_get_tx(arb_node *n, arb_node_txinfo *info, const char *txid, arb_errbuf *eb)
    ARB_WARN_UNUSED;
void arb_node_txinfo_clear(arb_node_txinfo *info);

/* The node's URL as given to arb_node_new (without trailing slashes). */
const char *arb_node_url(const arb_node *n);

/* Submits a transaction (hex of its full serialization); txid_out receives
 * the node's txid. */
arb_err arb_node_post_tx(arb_node *n, char txid_out[static ARB_NODE_HASH_HEX], const char *hex,
                         arb_errbuf *eb) ARB_WARN_UNUSED;

typedef struct {
    uint32_t height;
    char prev_hash[ARB_NODE_HASH_HEX];
    uint32_t bits;
    uint32_t time;
    uint64_t coinbase_value;
    uint8_t *block; /* the complete block (malloc'ed) */
    size_t block_len;
} arb_node_template;

/* A block template paying to address. Clear with arb_node_template_clear. */
arb_err arb_node_get_template(arb_node *n, arb_node_template *t, const char *address,
                              arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_node_template_clear(arb_node_template *t);

/* The hash of the block at `height` on the node's active chain
 * (GET /chain/v1/block?height=N); ARB_ERR_NOT_FOUND above its tip. */
arb_err arb_node_get_block_hash(arb_node *n, char hash_out[static ARB_NODE_HASH_HEX],
                                uint32_t height, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Submits a block; hash_out and *height receive the node's answer. A block
 * the node stores on a side branch (another block at its height came first)
 * is answered like one that extends the tip: ask the tip to tell them apart. */
arb_err arb_node_post_block(arb_node *n, char hash_out[static ARB_NODE_HASH_HEX],
                            uint32_t *height, const uint8_t *block, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

#endif
