/* Zone-file replication between peers (docs/network.md, "Zone files"),
 * after Blockstack's Atlas network: every node announces the zone files it
 * stores (inv, type ARB_INV_ZONEFILE), knows which on-chain hashes it lacks
 * (ledger/names/zonefiles.h) and fetches them with getdata, rarest first
 * (the hashes the fewest peers announced go first), a bounded number in
 * flight per peer, with a timeout and a re-request from another peer. The
 * answer is a `zonefile` message; one that does not match its hash, is not
 * on chain (unless we asked for it and the chain moved), or is too large
 * gets its sender penalised. A missing hash nobody announced within 5 s is
 * asked of the peers in turn (a notfound crosses a peer off; after all of
 * them, or 8, failed, all again 30 s later, the delay doubling each round to
 * 16 minutes), so a node still finds a file whose announcement it missed or
 * could not keep, without asking forever for files nobody has.
 *
 * The node (p2p/node.c) owns the peers; it calls these functions on its own
 * thread and gives a small io interface to send and to penalise. Not
 * thread-safe except arb_zonesync_new's store hook, which may fire on any
 * thread. */
#ifndef ARB_P2P_ZONESYNC_H
#define ARB_P2P_ZONESYNC_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/names/zonefiles.h"
#include "merkle/error.h"
#include "merkle/hash.h"

#define ARB_ZONESYNC_MAX_INFLIGHT 8      /* getdata'd zone files per peer */
#define ARB_ZONESYNC_TIMEOUT_MS 20000    /* then asked of another peer */
#define ARB_ZONESYNC_MAX_WANTS 100000    /* hashes tracked (about 13 MB) */
#define ARB_ZONESYNC_PEER_MAX_SOURCES 20000 /* tracked hashes one peer may be a source of */
#define ARB_ZONESYNC_MAX_SOURCES 8       /* sources kept per hash (rarity counts up to it) */
#define ARB_ZONESYNC_RETRY_MS 30000      /* a hash every peer failed: wait (doubling), then again */

typedef struct arb_zonesync arb_zonesync;

typedef struct {
    /* Sends one whole frame to conn. */
    void (*send)(void *ud, uint64_t conn, const uint8_t *frame, size_t len);
    /* conn broke a rule (reason: a short name like "zonefile-mismatch"). */
    void (*misbehave)(void *ud, uint64_t conn, const char *reason);
    /* A counter (gauge 0) grows by v, or a gauge (1) is set to v. */
    void (*metric)(void *ud, const char *name, uint64_t v, int gauge);
    void *ud;
} arb_zonesync_io;

/* A replicator over z (borrowed; it installs z's stored hook, removed by
 * arb_zonesync_free). magic: the network's. Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_zonesync_new(arb_zonesync **out, arb_zonefiles *z, const uint8_t magic[static 4],
                         const arb_zonesync_io *io) ARB_WARN_UNUSED;
/* NULL is fine. */
void arb_zonesync_free(arb_zonesync *zs);

/* A peer finished its handshake / is gone. */
void arb_zonesync_peer_add(arb_zonesync *zs, uint64_t conn);
void arb_zonesync_peer_remove(arb_zonesync *zs, uint64_t conn);

/* One ARB_INV_ZONEFILE entry of an inv / notfound from conn. */
void arb_zonesync_on_inv(arb_zonesync *zs, uint64_t conn, const uint8_t hash32[static 32]);
void arb_zonesync_on_notfound(arb_zonesync *zs, uint64_t conn, const uint8_t hash32[static 32]);
/* One ARB_INV_ZONEFILE entry of a getdata: sends the zonefile message and
 * returns 1, or returns 0 (the caller answers notfound). */
int arb_zonesync_serve(arb_zonesync *zs, uint64_t conn, const uint8_t hash32[static 32]);
/* A zonefile message's payload from conn. */
void arb_zonesync_on_zonefile(arb_zonesync *zs, uint64_t conn, const uint8_t *pl, size_t len);

/* The chain's tip moved (the missing set is recomputed). */
void arb_zonesync_tip_changed(arb_zonesync *zs);
/* Timers and the work of the round: announcements, the scan of the missing
 * set, requests and their timeouts. now_ms: a monotonic clock. Bounded work
 * per call. */
void arb_zonesync_tick(arb_zonesync *zs, int64_t now_ms);

#endif
