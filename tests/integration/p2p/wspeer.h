/* A hostile (or honest) peer for tests: a minimal RFC 6455 websocket client
 * over a plain socket bound to a chosen loopback source address, so that a
 * test controls every byte (garbage, oversize frames, silence) and each
 * scenario has its own address to be discouraged. Plus helpers that speak the
 * peer protocol (p2p/msg.h). Blocking I/O with timeouts; one thread per peer. */
#ifndef ARB_TESTS_WSPEER_H
#define ARB_TESTS_WSPEER_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/params.h"
#include "merkle/buf.h"

typedef struct {
    int fd;
    uint8_t *buf; /* received, not yet parsed */
    size_t len, cap;
    const arb_chain_params *p;
    uint64_t bytes_in;
    int (*on_stall)(void *ud); /* see wsp_set_on_stall */
    void *stall_ud;
} wspeer;

/* Connects from src_ip (e.g. "127.0.0.5") to 127.0.0.1:port and upgrades to
 * the arbor-p2p.1 subprotocol. Returns 0, or -1 (refused, or no 101). */
int wsp_connect(wspeer *w, const arb_chain_params *p, const char *src_ip, int port);
/* The same with the socket's send and receive buffers set to bufsize bytes
 * before connecting (so the kernel absorbs little: a test of who reads). */
int wsp_connect_buf(wspeer *w, const arb_chain_params *p, const char *src_ip, int port,
                    int bufsize);
/* Sends give up (-1) after ms without progress (0: wait for ever). */
void wsp_set_send_timeout(wspeer *w, int ms);
/* When a send has made no progress for the send timeout, on_stall(ud) says
 * whether to keep waiting (1) or give up (0: the send returns -1). */
void wsp_set_on_stall(wspeer *w, int (*on_stall)(void *ud), void *ud);
void wsp_close(wspeer *w);
/* One masked binary frame holding data. 0 or -1. */
int wsp_send_frame(wspeer *w, const void *data, size_t n);
/* A peer message (type, payload). 0 or -1. */
int wsp_send_msg(wspeer *w, uint8_t type, const void *payload, size_t n);
/* The next whole binary message (malloc'd in *msg). Answers websocket pings.
 * Returns 1, 0 on timeout, -1 when the connection is closed. */
int wsp_recv(wspeer *w, uint8_t **msg, size_t *len, int timeout_ms);
/* Waits for a peer message of `type` (others are dropped; pings are
 * answered); its payload is copied into *payload (malloc'd) if not NULL.
 * Returns 1, 0 on timeout, -1 when closed. */
int wsp_expect(wspeer *w, uint8_t type, uint8_t **payload, size_t *plen, int timeout_ms);
/* Waits until the node closes the connection: 1, or 0 on timeout. Messages
 * before the close are dropped. */
int wsp_wait_closed(wspeer *w, int timeout_ms);
/* version (with the network's genesis, the given nonce, height 0) and verack,
 * both ways. Returns 0 or -1. */
int wsp_handshake(wspeer *w, uint64_t nonce);
/* The same, advertising the given services bits (ARB_P2P_SERVICE_*). */
int wsp_handshake_services(wspeer *w, uint64_t nonce, uint64_t services);

#endif
