/* The address book (docs/network.md), after Bitcoin Core's addrman: addresses
 * of peers in a "new" table (heard of) and a "tried" table (connected to at
 * least once), each a fixed grid of buckets x slots. Placement is by a hash
 * keyed with a secret per node, so nobody outside can aim at a slot:
 *
 *   new:   bucket = H(key, group(src), H(key, group(addr), group(src)) % 64) % 1024
 *   tried: bucket = H(key, group(addr), H(key, addr) % 8) % 256
 *   slot  = H(key, table, bucket, addr) % 64
 *
 * so one source netgroup reaches at most 64 of the 1,024 new buckets (4,096
 * entries), and one address netgroup at most 8 tried buckets. The netgroup
 * is the /16 of an IPv4 address (loopback included: 127.1.0.1 and 127.2.0.1
 * are in different groups), the /32 of an IPv6 one.
 *
 * Not thread-safe: one owner (the node's thread). Memory is bounded by the
 * table sizes (at most 81,920 entries). */
#ifndef ARB_P2P_ADDRMAN_H
#define ARB_P2P_ADDRMAN_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/buf.h"
#include "merkle/error.h"

#define ARB_ADDRMAN_NEW_BUCKETS 1024
#define ARB_ADDRMAN_TRIED_BUCKETS 256
#define ARB_ADDRMAN_BUCKET_SIZE 64
#define ARB_ADDRMAN_NEW_PER_SOURCE_GROUP 64
#define ARB_ADDRMAN_TRIED_PER_GROUP 8
#define ARB_ADDRMAN_MAX_COLLISIONS 10
#define ARB_ADDRMAN_SAMPLE_MIN 100
#define ARB_ADDRMAN_MAX_ENTRIES                                                                     \
    ((ARB_ADDRMAN_NEW_BUCKETS + ARB_ADDRMAN_TRIED_BUCKETS) * ARB_ADDRMAN_BUCKET_SIZE)

/* An address: IPv6 bytes (IPv4 as ::ffff:a.b.c.d) and a port. */
typedef struct {
    uint8_t ip[16];
    uint16_t port;
} arb_netaddr;

typedef struct {
    arb_netaddr addr;
    arb_netaddr source;   /* who told us (for the new bucket) */
    uint64_t services;
    int64_t time;         /* last seen (as advertised, or our connection) */
    int64_t last_try;     /* our last connection attempt (0: never) */
    int64_t last_success; /* our last successful connection (0: never) */
    uint32_t attempts;    /* failed attempts since the last success */
    int tried;            /* in the tried table */
} arb_addrinfo;

typedef struct arb_addrman arb_addrman;

/* A book with the given 32-byte secret key (random per node, persisted with
 * the book). NULL when out of memory. */
arb_addrman *arb_addrman_new(const uint8_t key[static 32]);
void arb_addrman_free(arb_addrman *am);

size_t arb_addrman_size(const arb_addrman *am);
size_t arb_addrman_size_tried(const arb_addrman *am);

/* ---- addresses ---- */

/* Parses "a.b.c.d:port" or "[v6]:port" (numeric). 1 on success. */
int arb_netaddr_parse(arb_netaddr *a, const char *s);
/* Formats as "a.b.c.d:port" or "[v6]:port" into out (at least 64 bytes). */
void arb_netaddr_format(const arb_netaddr *a, char *out, size_t cap);
int arb_netaddr_is_ipv4(const arb_netaddr *a);
/* The netgroup: 0x04 + the /16 for IPv4, 0x06 + the /32 for IPv6. Returns
 * its length (3 or 5) written into out[5]. */
size_t arb_netaddr_group(const arb_netaddr *a, uint8_t out[static 5]);
int arb_netaddr_same_group(const arb_netaddr *a, const arb_netaddr *b);
/* Worth keeping: a nonzero port and not an unspecified, multicast or
 * broadcast address (loopback and private ranges are allowed: test networks
 * live there). */
int arb_netaddr_routable(const arb_netaddr *a);

/* ---- the tables ---- */

/* Adds addr heard from source, last seen at time. Returns 1 if it is new to
 * the book, 0 if it was known (its time and services are refreshed) or it
 * was not placed (its slot holds a good entry, or the address is not
 * routable). A slot holding a terrible entry (below) is taken over. */
int arb_addrman_add(arb_addrman *am, const arb_netaddr *addr, const arb_netaddr *source,
                    uint64_t services, int64_t time, int64_t now);

/* A connection attempt to addr starts (counted as failed until _good). */
void arb_addrman_attempt(arb_addrman *am, const arb_netaddr *addr, int64_t now);

/* A connection to addr succeeded (handshake done): it moves to tried. If its
 * tried slot holds another address, the move waits (test-before-evict): the
 * pair is remembered (at most ARB_ADDRMAN_MAX_COLLISIONS) and resolved by
 * arb_addrman_resolve_collisions. Returns 1 if it is in tried now. */
int arb_addrman_good(arb_addrman *am, const arb_netaddr *addr, int64_t now);

/* Of the pending collisions, one tried address that should be tested by a
 * connection (it is evicted only if it fails). 1 if *out was set. */
int arb_addrman_select_collision(arb_addrman *am, arb_netaddr *out);

/* Settles the collisions: the old tried entry stays if it connected in the
 * last 4 hours; it is moved back to new (and the newcomer takes its slot) if
 * a test of it started over a minute ago without success, or if the
 * collision has waited 40 minutes. */
void arb_addrman_resolve_collisions(arb_addrman *am, int64_t now);

/* An address to connect to: a random entry, new or tried at even odds,
 * weighted down by failed attempts (0.66^attempts) and by a recent try
 * (/100 within 10 minutes), as Core's Select. 1 if *out was set. rnd is a
 * source of random 64-bit numbers. */
int arb_addrman_select(arb_addrman *am, uint64_t (*rnd)(void *), void *rctx,
                       arb_addrinfo *out, int64_t now);

/* Up to max entries chosen at random, terrible ones left out: 23% of the
 * book as Core's getaddr answer, but at least ARB_ADDRMAN_SAMPLE_MIN (or the
 * whole book if smaller) so a small network's nodes learn of each other.
 * Returns how many went to out. */
size_t arb_addrman_sample(arb_addrman *am, uint64_t (*rnd)(void *), void *rctx,
                          arb_addrinfo *out, size_t max, int64_t now);

/* Looks addr up. 1 if found (copied to *out if out != NULL). */
int arb_addrman_find(const arb_addrman *am, const arb_netaddr *addr, arb_addrinfo *out);

/* Where addr would go (for tests): the new bucket given a source, the tried
 * bucket, and the slot in a bucket of a table (0 new, 1 tried). */
uint32_t arb_addrman_new_bucket(const arb_addrman *am, const arb_netaddr *addr,
                                const arb_netaddr *source);
uint32_t arb_addrman_tried_bucket(const arb_addrman *am, const arb_netaddr *addr);
uint32_t arb_addrman_slot(const arb_addrman *am, int tried, uint32_t bucket,
                          const arb_netaddr *addr);

/* Terrible (as Core's IsTerrible; not kept or handed out): not tried in the
 * last minute and either seen over 10 minutes in the future, never seen or
 * not in 30 days, never connected after 3 attempts, or not connected in 7
 * days after 10 attempts. */
int arb_addrinfo_terrible(const arb_addrinfo *e, int64_t now);

/* Consistency of the internal indexes (for tests and fuzzing): 1 if sound. */
int arb_addrman_check(const arb_addrman *am);

/* ---- addr rate limit (Core's token bucket) ----
 * Each peer may send 0.1 addresses a second with a burst of 1,000; what is
 * over is dropped (and counted by the caller). A getaddr we sent earns one
 * answer's worth (1,000) of tokens. */
#define ARB_ADDR_RATE 0.1
#define ARB_ADDR_BURST 1000.0
typedef struct {
    double tokens;
    int64_t last_ms;
} arb_addr_bucket;

void arb_addr_bucket_init(arb_addr_bucket *b, int64_t now_ms);
/* Refills by elapsed time, then takes one token: 1 if the address may be
 * processed, 0 if it is over the rate (drop it). */
int arb_addr_bucket_take(arb_addr_bucket *b, int64_t now_ms);
/* Adds n tokens (beyond the burst: an answer we asked for). */
void arb_addr_bucket_grant(arb_addr_bucket *b, double n);

/* ---- persistence ----
 * File: "ARBADDR1" | version u32 (1) | key (32) | count u32 | count x
 * {addr ip 16, port u16, source ip 16, port u16, services u64, time i64,
 * last_try i64, last_success i64, attempts u32, tried u8} | SHA-256 of all
 * before (32). Integers little-endian. */
arb_err arb_addrman_serialize(const arb_addrman *am, arb_buf *out) ARB_WARN_UNUSED;
/* Parses a whole file into a new book (*out). ARB_ERR_PARSE with a reason in
 * eb for anything malformed (bad magic, version, checksum, count, lengths,
 * tried flag); ARB_ERR_NOMEM. Entries that do not fit (collisions) are left
 * out. */
arb_err arb_addrman_parse(arb_addrman **out, const uint8_t *data, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;
/* Writes the book to path atomically: path.new, fsync, rename, fsync of the
 * directory. */
arb_err arb_addrman_save(const arb_addrman *am, const char *path, arb_errbuf *eb) ARB_WARN_UNUSED;
/* Reads path (at most 16 MB). ARB_ERR_NOT_FOUND if it does not exist; the
 * errors of arb_addrman_parse otherwise. */
arb_err arb_addrman_load(arb_addrman **out, const char *path, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
