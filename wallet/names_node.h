/* The node client's name-layer and anchor calls (docs/api.md, "Names" and
 * "Anchors"): name records, a key's names, prices, namespaces, a log's
 * anchored heads, zone-file upload; and a log's get-sth-consistency answer.
 * Strict like node.h: every field the wallet uses must be present with the
 * right type and range, or the answer is ARB_ERR_PARSE. Errors as node.h
 * (ARB_ERR_NOT_FOUND for 404, ARB_ERR_VERIFY with the node's reason for
 * other refusals). One arb_node per thread. */
#ifndef ARB_WALLET_NAMES_NODE_H
#define ARB_WALLET_NAMES_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/names/names.h"
#include "merkle/error.h"
#include "merkle/hash.h"
#include "wallet/address.h"
#include "wallet/node.h"

/* One entry of a name's history. */
typedef struct {
    uint32_t height;
    char txid[ARB_NODE_HASH_HEX];
    char op[24];
} arb_node_name_event;

/* GET /names/v1/name/{full}. Heights that the node answers null are -1. */
typedef struct {
    char name[ARB_NAMES_FULL_MAX + 1];
    char ns[ARB_NAMES_NS_MAX + 1];
    char status[12]; /* active, grace, expired, revoked, available */
    uint8_t owner[32];
    char address[ARB_ADDR_MAX];
    int has_zonefile;
    uint8_t zonefile_hash[32];
    char *zonefile; /* the zone file's text (malloc'd), NULL when the node has none */
    uint32_t registered_height, renewed_height;
    int64_t expires_at, grace_ends_at; /* -1: never */
    int imported;
    arb_node_name_event *history; /* malloc'd, oldest first (empty in owner lists) */
    size_t n_history;
} arb_node_name;

void arb_node_name_clear(arb_node_name *r);

/* The record of a full name; ARB_ERR_NOT_FOUND when the chain has none. */
arb_err arb_node_get_name(arb_node *n, arb_node_name *out, const char *full, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* The names owned by an address or x-only key hex (*out malloc'd: clear
 * each entry, then free()). */
arb_err arb_node_get_owner_names(arb_node *n, arb_node_name **out, size_t *n_out,
                                 const char *owner, arb_errbuf *eb) ARB_WARN_UNUSED;

/* GET /names/v1/price/{full}. */
typedef struct {
    int has_price; /* 0: the price overflows (the name cannot be paid for) */
    uint64_t price;
    int namespace_ready;
    int available;
} arb_node_price;

arb_err arb_node_get_price(arb_node *n, arb_node_price *out, const char *full, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* GET /names/v1/namespace/{id}. */
typedef struct {
    char id[ARB_NAMES_NS_MAX + 1];
    char status[12]; /* revealed, ready, lapsed */
    uint8_t reveal_key[32];
    uint32_t reveal_height;
    int64_t ready_height; /* -1: not ready */
    uint32_t lifetime;
    arb_names_price_fn price;
} arb_node_namespace;

arb_err arb_node_get_namespace(arb_node *n, arb_node_namespace *out, const char *id,
                               arb_errbuf *eb) ARB_WARN_UNUSED;

/* The latest anchored head of a log (GET /chain/v1/anchors/{log_id}):
 * *has is 0 when the chain holds none (also for a 404). */
typedef struct {
    uint64_t tree_size, timestamp;
    uint8_t root[32];
    uint32_t height;
    char txid[ARB_NODE_HASH_HEX];
} arb_node_anchor;

arb_err arb_node_get_anchor(arb_node *n, arb_node_anchor *out, int *has,
                            const uint8_t log_id32[static 32], arb_errbuf *eb) ARB_WARN_UNUSED;

/* POST /names/v1/zonefile: hash_out receives the stored file's hash. 404
 * (zonefile-not-on-chain, or a node without the route) is ARB_ERR_NOT_FOUND. */
arb_err arb_node_post_zonefile(arb_node *n, char hash_out[static ARB_NODE_HASH_HEX],
                               const uint8_t *zf, size_t len, arb_errbuf *eb) ARB_WARN_UNUSED;

/* A log's consistency proof (RFC 6962 4.4, GET ct/v1/get-sth-consistency)
 * from tree size first to second, from the log client `log` (an arb_node on
 * the log's URL). proof gets at most cap hashes. */
arb_err arb_node_get_consistency(arb_node *log, arb_hash *proof, size_t cap, size_t *n_proof,
                                 uint64_t first, uint64_t second, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* GET path from n: the body of a 200 answer (NUL-terminated, malloc'd, at
 * most max bytes, else ARB_ERR_PARSE). Another status is ARB_ERR_NOT_FOUND
 * (404) or ARB_ERR_VERIFY, naming the path and status. */
arb_err arb_node_get_raw(arb_node *n, const char *path, size_t max, uint8_t **body, size_t *len,
                         arb_errbuf *eb) ARB_WARN_UNUSED;

/* A log's get-sth answer body (NUL-terminated, malloc'd) from the log client. */
arb_err arb_node_get_sth_body(arb_node *log, uint8_t **body, size_t *len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

#endif
