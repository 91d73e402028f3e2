/* The peer network of an arbord node (docs/network.md): websocket peers on the
 * HTTP server's port (subprotocol ARB_P2P_SUBPROTOCOL), the version/verack
 * handshake, ping/pong and timeouts, headers-first sync with parallel block
 * download, block announcement by headers, transaction relay, misbehaviour
 * (disconnect and discourage), GET /p2p/v1/peers and /bans, and the admin
 * calls POST /p2p/v1/{connect,disconnect,ban,unban} guarded by a token from
 * the cookie file, sent as "Authorization: Bearer TOKEN".
 *
 * Threads: the HTTP service thread only queues what it receives; one thread
 * of the node owns every peer's state, validates through the chain module
 * (arb_chainapi) and sends with arb_http_ws_send. The start/stop calls are
 * for the program's main thread. */
#ifndef ARB_P2P_NODE_H
#define ARB_P2P_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/api/chainapi.h"
#include "ledger/api/http.h"
#include "ledger/names/zonefiles.h"

#define ARB_P2P_SUBPROTOCOL "arbor-p2p.1"

typedef struct arb_p2p arb_p2p;

typedef struct {
    const char *const *connect; /* "HOST:PORT" peers kept connected (operator's: never
                                   discouraged); n_connect of them */
    size_t n_connect;
    unsigned max_inbound;         /* 0: 125 */
    unsigned handshake_timeout_s; /* 0: 60 */
    unsigned ping_interval_s;     /* 0: 120 */
    unsigned idle_timeout_s;      /* no message for this long: disconnect. 0: 1200 */
    unsigned stall_timeout_ms;    /* first stall allowance, doubling to 32x. 0: 2000 */
    unsigned discourage_s;        /* 0: 86400 */
    unsigned tx_delay_ms;         /* mean trickle delay of transaction announcements. 0: 500 */
    int no_compact;               /* 1: no compact blocks, either way */
    int no_outbound;              /* 1: no automatic outbound peers (only connect), no feelers */
    unsigned max_outbound;        /* automatic full-relay outbound peers (0..8) */
    unsigned block_relay_outbound; /* automatic block-relay-only outbound peers (0..2) */
    unsigned feeler_interval_s;   /* a feeler connection this often; 0: none */
    unsigned headers_timeout_s;   /* the headers sync peer must answer within. 0: 900 */
    uint16_t listen_port;         /* told to peers (0: unknown) */
    const char *listen_host;      /* numeric; with listen_port, the address we advertise in
                                     addr (NULL, empty or unspecified: none) */
    const char *datadir;          /* the admin token goes to DATADIR/.cookie (mode 0600);
                                     NULL: no file, admin calls are always refused; the
                                     address book is DATADIR/peers.dat (NULL: not kept) */
    arb_zonefiles *zonefiles;     /* the zone-file store to replicate (p2p/zonesync.h);
                                     NULL: no zone files. Borrowed: it must outlive the node */
    arb_logger log;
} arb_p2p_config;

/* Registers the subprotocol and the /p2p/v1/ routes on http (before
 * arb_http_server_start), installs the chain hooks and starts the node's
 * thread, which dials the cfg->connect peers once the server listens (and
 * again, with backoff, whenever they drop). Returns ARB_OK,
 * ARB_ERR_INVALID_ARG, ARB_ERR_NOMEM. */
arb_err arb_p2p_new(arb_p2p **out, arb_http_server *http, arb_chainapi *chain,
                    const arb_p2p_config *cfg, arb_errbuf *eb) ARB_WARN_UNUSED;
/* A copy of the JSON GET /p2p/v1/peers (bans 0) or /p2p/v1/bans (bans 1)
 * answers: the snapshot the node's thread refreshes. The caller frees it;
 * NULL when out of memory. Safe from any thread. */
char *arb_p2p_snapshot_json(arb_p2p *n, int bans);
/* Stops the thread and removes the chain hooks. Call after the HTTP server
 * has stopped and before the chain module stops. */
void arb_p2p_stop(arb_p2p *n);
/* Frees; NULL is fine. */
void arb_p2p_free(arb_p2p *n);

#endif
