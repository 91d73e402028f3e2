/* The explorer: HTML pages served by arbord itself (no external assets, no
 * JavaScript needed) over the transparency log and its domain index, and the
 * JSON behind them.
 *
 *   GET /                    the log's tree head, the chain height, a search
 *                            box and the latest entries
 *   GET /search?q=Q          an entry index -> that entry; a hostname -> its
 *                            certificates (with subdomains); else "no results"
 *   GET /log/entry/N         one entry: the decoded certificate (subject,
 *                            names, issuer, validity, serial, precert or not),
 *                            its SCT timestamp, and its inclusion proof to the
 *                            current tree head
 *   GET /log/v1/entry/N      the same as JSON
 *   GET /chain/block/H       a block by hash or height: header fields, size,
 *                            fees, confirmations, its transactions
 *   GET /chain/tx/T          a transaction: inputs with the amounts and
 *                            addresses they spend, outputs, fee and fee rate,
 *                            payload, confirmations
 *   GET /log/domain?domain=D[&subdomains=1][&after=NAME:INDEX]
 *                            the certificates of a domain (the domain index,
 *                            GET /log/v1/search as JSON)
 *
 * Every value that comes from a certificate or a request is HTML-escaped.
 * Thread-safety: the handlers run on any worker thread. */
#ifndef ARB_LEDGER_API_EXPLORER_H
#define ARB_LEDGER_API_EXPLORER_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/api/chainapi.h"
#include "ledger/api/http.h"
#include "ledger/log/domains.h"
#include "ledger/log/log.h"
#include "merkle/error.h"

typedef struct {
    arb_log *log;          /* borrowed; outlives the explorer */
    arb_domains *domains;  /* borrowed */
    const char *network;   /* e.g. "regtest" (copied) */
    const char *origin;    /* the log's checkpoint origin (copied) */
    uint8_t log_id[32];
    arb_chainapi *chain;   /* borrowed; NULL: no chain pages */
} arb_explorer_config;

typedef struct arb_explorer arb_explorer;

/* Registers the routes (before arb_http_server_start). Returns ARB_OK,
 * ARB_ERR_NOMEM or what arb_http_route_add returns. Free with
 * arb_explorer_free after the server has stopped. */
arb_err arb_explorer_start(arb_explorer **out, arb_http_server *http,
                           const arb_explorer_config *cfg) ARB_WARN_UNUSED;
void arb_explorer_free(arb_explorer *e);

/* Appends s to the NUL-terminated string in *buf (capacity *cap, grown with
 * realloc) with &, <, >, " and ' escaped, control characters and bytes that
 * are not valid UTF-8 replaced by '?'. Returns 1, or 0 when out of memory.
 * Exposed for tests. */
int arb_explorer_html_escape(char **buf, size_t *len, size_t *cap, const char *s);

#endif
