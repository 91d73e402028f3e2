/* The peer protocol's messages (docs/network.md): framing and one encoder and
 * one strict decoder per message type. Pure functions, no I/O; thread-safe.
 *
 * Every message travels in one binary websocket frame:
 *   magic[4] (the network's, params.h) | type u8 | payload length u32 LE | payload
 * and the frame is exactly 9 + length bytes, with length <= ARB_P2P_MAX_MESSAGE.
 * Integers are little-endian, counts are CompactSize (minimal). Decoders
 * consume their input exactly: trailing bytes, non-minimal counts and counts
 * over the limits below are ARB_ERR_PARSE. */
#ifndef ARB_P2P_MSG_H
#define ARB_P2P_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/block.h"
#include "ledger/chain/header.h"
#include "ledger/chain/pow.h"
#include "merkle/buf.h"
#include "merkle/error.h"

#define ARB_P2P_FRAME_HEADER 9
/* Bitcoin Core's MAX_PROTOCOL_MESSAGE_LENGTH: no payload is longer. */
#define ARB_P2P_MAX_MESSAGE 4000000
#define ARB_P2P_PROTOCOL_VERSION 1
#define ARB_P2P_MIN_PROTOCOL_VERSION 1
#define ARB_P2P_MAX_LOCATOR 101       /* Bitcoin MAX_LOCATOR_SZ */
#define ARB_P2P_MAX_HEADERS 2000      /* Bitcoin MAX_HEADERS_RESULTS */
#define ARB_P2P_MAX_INV 50000         /* Bitcoin MAX_INV_SZ */
#define ARB_P2P_MAX_USER_AGENT 256
#define ARB_P2P_MAX_ADDR 1000         /* Bitcoin MAX_ADDR_TO_SEND */
#define ARB_P2P_ADDR_ENTRY 30         /* time 4 + services 8 + ip 16 + port 2 */

/* Message types (the byte after the magic). Unknown types are ignored by the
 * node, so later versions can add some. */
enum {
    ARB_P2P_VERSION = 1,
    ARB_P2P_VERACK = 2,
    ARB_P2P_PING = 3,
    ARB_P2P_PONG = 4,
    ARB_P2P_GETHEADERS = 5,
    ARB_P2P_HEADERS = 6,
    ARB_P2P_INV = 7,
    ARB_P2P_GETDATA = 8,
    ARB_P2P_NOTFOUND = 9,
    ARB_P2P_BLOCK = 10,
    ARB_P2P_TX = 11,
    ARB_P2P_CMPCTBLOCK = 12,  /* BIP152 compact block */
    ARB_P2P_GETBLOCKTXN = 13, /* the transactions a compact block's receiver lacks */
    ARB_P2P_BLOCKTXN = 14,
    ARB_P2P_ADDR = 15,    /* addresses of peers (address book) */
    ARB_P2P_GETADDR = 16, /* asks for an addr answer (empty payload) */
    ARB_P2P_ZONEFILE = 17, /* a zone file asked for with getdata (p2p/zonesync.h) */
    ARB_P2P_SENDCMPCT = 18, /* BIP152: wants compact blocks (announce u8, version u64) */
};

/* Inventory types: generic, so later kinds (zone files, log anchors) fit. */
enum { ARB_INV_TX = 1, ARB_INV_BLOCK = 2, ARB_INV_ZONEFILE = 3 };

/* The largest zone file (ledger/names/names.h ARB_NAMES_ZONEFILE_MAX). */
#define ARB_P2P_MAX_ZONEFILE 40960

/* Services bits in version. */
#define ARB_P2P_SERVICE_NETWORK 1u /* serves the full chain */
#define ARB_P2P_SERVICE_CMPCT 2u   /* understands compact blocks (cmpctblock etc.) */

typedef struct {
    uint32_t version;  /* protocol version */
    uint64_t services;
    int64_t timestamp; /* sender's Unix time */
    uint64_t nonce;    /* random per node start: spots connections to ourselves */
    arb_hash network;  /* genesis block hash of the sender's network */
    uint32_t height;   /* best (active) height */
    arb_u256 work;     /* its cumulative work */
    uint16_t listen_port; /* where the sender accepts peers (0: it does not) */
    char user_agent[ARB_P2P_MAX_USER_AGENT + 1]; /* printable ASCII */
} arb_p2p_version;

typedef struct {
    uint8_t type;
    arb_hash hash;
} arb_p2p_inv;

/* ---- framing ---- */

/* Starts a frame in out (reset first): magic, type and a length placeholder.
 * Append the payload, then call arb_p2p_frame_end. */
void arb_p2p_frame_begin(arb_buf *out, const uint8_t magic[static 4], uint8_t type);
/* Fills in the length. Returns ARB_OK, ARB_ERR_NOMEM (out->oom) or
 * ARB_ERR_INVALID_ARG (payload over ARB_P2P_MAX_MESSAGE). */
arb_err arb_p2p_frame_end(arb_buf *out) ARB_WARN_UNUSED;

/* Splits a received frame. Returns ARB_OK with *type and the payload (a view
 * into data), or ARB_ERR_PARSE with *reason one of "bad-magic",
 * "short-frame", "length-mismatch", "oversize". */
arb_err arb_p2p_frame_decode(const uint8_t *data, size_t len, const uint8_t magic[static 4],
                             uint8_t *type, const uint8_t **payload, size_t *plen,
                             const char **reason) ARB_WARN_UNUSED;

/* ---- payloads: each *_write appends to out (check out->oom) ---- */

void arb_p2p_version_write(arb_buf *out, const arb_p2p_version *v);
arb_err arb_p2p_version_read(arb_p2p_version *v, const uint8_t *p, size_t n) ARB_WARN_UNUSED;

/* sendcmpct (BIP152): announce (0 or 1: new blocks as cmpctblock without
 * asking) | version u64 (ARB_P2P_CMPCT_VERSION). Any other announce byte is
 * ARB_ERR_PARSE; any version decodes (an unknown one is ignored by the node). */
#define ARB_P2P_CMPCT_VERSION 1
void arb_p2p_sendcmpct_write(arb_buf *out, int announce, uint64_t version);
arb_err arb_p2p_sendcmpct_read(int *announce, uint64_t *version, const uint8_t *p,
                               size_t n) ARB_WARN_UNUSED;
void arb_p2p_nonce_write(arb_buf *out, uint64_t nonce); /* ping, pong */
arb_err arb_p2p_nonce_read(uint64_t *nonce, const uint8_t *p, size_t n) ARB_WARN_UNUSED;

/* getheaders: a block locator (1..ARB_P2P_MAX_LOCATOR hashes, newest first)
 * and a stop hash (all zero: as many as allowed). */
void arb_p2p_getheaders_write(arb_buf *out, const arb_hash *locator, size_t n,
                              const arb_hash *stop);
/* loc must hold ARB_P2P_MAX_LOCATOR entries. */
arb_err arb_p2p_getheaders_read(arb_hash *loc, size_t *n, arb_hash *stop, const uint8_t *p,
                                size_t len) ARB_WARN_UNUSED;

/* headers: 0..ARB_P2P_MAX_HEADERS raw 80-byte headers. */
void arb_p2p_headers_write(arb_buf *out, const arb_block_header *h, size_t n);
/* h must hold ARB_P2P_MAX_HEADERS entries. */
arb_err arb_p2p_headers_read(arb_block_header *h, size_t *n, const uint8_t *p, size_t len)
    ARB_WARN_UNUSED;

/* inv, getdata, notfound: 1..ARB_P2P_MAX_INV entries (type u8, hash 32).
 * An empty list is a parse error; unknown types decode (the node ignores
 * them). *out is malloc'd (free it); NULL on failure. */
void arb_p2p_inv_write(arb_buf *out, const arb_p2p_inv *v, size_t n);
arb_err arb_p2p_inv_read(arb_p2p_inv **out, size_t *n, const uint8_t *p, size_t len)
    ARB_WARN_UNUSED;

/* ---- compact blocks (after BIP152) ----
 * cmpctblock: header (80) | nonce u64 | count + 6-byte short ids |
 *             count + prefilled {index delta (CompactSize), transaction}
 * Short id: SipHash-2-4 of the txid keyed with the first 16 bytes of
 * SHA-256(header || nonce LE) (two little-endian u64), low 48 bits.
 * Prefilled indexes are differential (BIP152): each is the gap from the
 * previous one minus 1. The transaction count (short ids + prefilled) is at
 * most ARB_BLOCK_MAX_TXS and every prefilled index is below it. */
typedef struct {
    arb_block_header header;
    uint64_t nonce;
    uint64_t *short_ids; /* n_short, each < 2^48 */
    size_t n_short;
    uint32_t *pre_index; /* n_pre absolute indexes, increasing */
    arb_tx *pre_tx;      /* n_pre */
    size_t n_pre;
} arb_p2p_cmpct;

void arb_p2p_cmpct_init(arb_p2p_cmpct *c);
void arb_p2p_cmpct_clear(arb_p2p_cmpct *c);
/* The SipHash key of a compact block. */
void arb_p2p_cmpct_key(arb_sha256 *sha, uint64_t key[static 2], const arb_block_header *h,
                       uint64_t nonce);
uint64_t arb_p2p_short_id(const uint64_t key[static 2], const arb_hash *txid);
/* Builds the compact form of b (coinbase prefilled) with the given nonce.
 * Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_p2p_cmpct_from_block(arb_sha256 *sha, arb_p2p_cmpct *c, const arb_block *b,
                                 uint64_t nonce) ARB_WARN_UNUSED;
void arb_p2p_cmpct_write(arb_buf *out, const arb_p2p_cmpct *c);
/* c must be initialized; cleared first. ARB_OK, ARB_ERR_PARSE, ARB_ERR_NOMEM. */
arb_err arb_p2p_cmpct_read(arb_p2p_cmpct *c, const uint8_t *p, size_t n) ARB_WARN_UNUSED;

/* getblocktxn: block hash | count (1..ARB_BLOCK_MAX_TXS) | differential
 * indexes. *idx (malloc'd, absolute, increasing, < ARB_BLOCK_MAX_TXS). */
void arb_p2p_getblocktxn_write(arb_buf *out, const arb_hash *block, const uint32_t *idx, size_t n);
arb_err arb_p2p_getblocktxn_read(arb_hash *block, uint32_t **idx, size_t *n, const uint8_t *p,
                                 size_t len) ARB_WARN_UNUSED;
/* blocktxn: block hash | count (1..ARB_BLOCK_MAX_TXS) | transactions.
 * *txs (n entries) is malloc'd: arb_tx_clear each, then free. */
void arb_p2p_blocktxn_write(arb_buf *out, const arb_hash *block, const arb_tx *const *txs,
                            size_t n);
arb_err arb_p2p_blocktxn_read(arb_hash *block, arb_tx **txs, size_t *n, const uint8_t *p,
                              size_t len) ARB_WARN_UNUSED;

/* ---- addr, getaddr ----
 * addr: count (1..ARB_P2P_MAX_ADDR) of {time u32 (Unix seconds, last seen),
 * services u64, ip[16] (IPv6; IPv4 as ::ffff:a.b.c.d), port u16}.
 * getaddr: empty. */
typedef struct {
    uint32_t time;
    uint64_t services;
    uint8_t ip[16];
    uint16_t port;
} arb_p2p_addr;

void arb_p2p_addr_write(arb_buf *out, const arb_p2p_addr *v, size_t n);
/* v must hold ARB_P2P_MAX_ADDR entries. ARB_OK or ARB_ERR_PARSE (also for a
 * count over ARB_P2P_MAX_ADDR: the node treats it as misbehaviour). */
arb_err arb_p2p_addr_read(arb_p2p_addr *v, size_t *n, const uint8_t *p, size_t len)
    ARB_WARN_UNUSED;
/* getaddr: the payload must be empty. */
arb_err arb_p2p_empty_read(const uint8_t *p, size_t len) ARB_WARN_UNUSED;

/* ---- zonefile ----
 * hash[32] (SHA-256 of the zone file, as in the inv) | CompactSize length
 * (0..ARB_P2P_MAX_ZONEFILE) | the zone file. The decoder does not hash: the
 * receiver checks that the bytes match. */
void arb_p2p_zonefile_write(arb_buf *out, const uint8_t hash32[static 32], const uint8_t *zf,
                            size_t len);
/* On ARB_OK hash32 and *zf (a view into p), *len. ARB_ERR_PARSE otherwise,
 * with *oversize 1 when the length field is over ARB_P2P_MAX_ZONEFILE (the
 * node tells that apart in its counters), else 0. */
arb_err arb_p2p_zonefile_read(uint8_t hash32[static 32], const uint8_t **zf, size_t *len,
                              int *oversize, const uint8_t *p, size_t n) ARB_WARN_UNUSED;

/* Message type name for logs and metrics ("version", ..., "unknown"). */
const char *arb_p2p_type_name(uint8_t type);

#endif
