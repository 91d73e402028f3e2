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
 *                            payload, confirmations; for one still in the
 *                            mempool the unconfirmed view (fee, fee rate,
 *                            ancestors and descendants waiting)
 *   GET /log/heads[?before=TS]
 *                            every signed tree head, newest first, with its
 *                            signature checked, and a plot of tree size
 *                            over time from them
 *   GET /log/v1/sth-history[?after=TS|before=TS][&limit=N]
 *                            the same heads as JSON (get-sth fields)
 *   GET /chain/stats[?blocks=N]
 *                            block interval and difficulty of the last 144
 *                            (or N, at most 2016) blocks, as SVG plots
 *   GET /peers               the peer network's connections and bans (when
 *                            the node runs one)
 *   GET /log/domain?domain=D[&subdomains=1][&order=date][&after=...]
 *                            the certificates of a domain (the domain index,
 *                            GET /log/v1/search as JSON), by name or newest
 *                            first
 *
 * Every value that comes from a certificate or a request is HTML-escaped.
 * Thread-safety: the handlers run on any worker thread. */
#ifndef ARB_LEDGER_API_EXPLORER_H
#define ARB_LEDGER_API_EXPLORER_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/api/chainapi.h"
#include "ledger/api/http.h"
#include "ledger/chain/pow.h"
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
    /* The peer network's JSON snapshot: {"peers":[...]} (bans 0) or
     * {"bans":[...]} (bans 1), as GET /p2p/v1/peers and /bans answer, in a
     * malloc'd string the explorer frees (NULL: unavailable). NULL: no
     * peers page. Called on any worker thread. */
    char *(*peers_json)(void *ud, int bans);
    void *peers_ud;
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

/* One block header as the chain plots read it. */
typedef struct {
    int64_t time;
    uint32_t bits;
} arb_explorer_hdr;

/* The difficulty of compact bits: pow_limit / target (1 at the limit), or 0
 * when bits do not decode to a positive target. Exposed for tests. */
double arb_explorer_difficulty(uint32_t bits, const arb_u256 *pow_limit);

/* The plots' data from the headers h[0..n) of consecutive heights, oldest
 * first: interval[k] = h[k+1].time - h[k].time (seconds, negative when a
 * block's time is earlier than its parent's) and difficulty[k] = that of
 * h[k+1].bits. Returns n - 1 (0 when n < 2). Exposed for tests. */
size_t arb_explorer_chain_series(const arb_explorer_hdr *h, size_t n, const arb_u256 *pow_limit,
                                 int64_t *interval, double *difficulty);

#endif
