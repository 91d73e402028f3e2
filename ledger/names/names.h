/* The name layer's pure rules (after Blockstack's BNS): name syntax, the
 * namespace and name prices, network constants, the state records and their
 * state-commitment keys and value hashes, and zone-file hashes.
 * docs/names.md gives every number and byte.
 *
 * Nothing here touches storage; the chain passes records in and stores what
 * comes out (ledger/names/nameop.h has the operations and the transition).
 * Pure functions without shared state: thread-safe with one arb_sha256
 * engine per thread. */
#ifndef ARB_NAMES_NAMES_H
#define ARB_NAMES_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/buf.h"
#include "merkle/error.h"
#include "merkle/hash.h"

#define ARB_NAMES_NS_MAX 20                                      /* namespace id bytes */
#define ARB_NAMES_NAME_MAX 48                                    /* name bytes */
#define ARB_NAMES_FULL_MAX (ARB_NAMES_NAME_MAX + 1 + ARB_NAMES_NS_MAX) /* "name.namespace" */
#define ARB_NAMES_ZONEFILE_MAX 40960

/* Namespace prices by id length, base units (1 coin = 10^8). */
#define ARB_NAMES_NS_PRICE_1 640000000000ULL   /* 1 byte */
#define ARB_NAMES_NS_PRICE_2 64000000000ULL    /* 2-3 bytes */
#define ARB_NAMES_NS_PRICE_4 6400000000ULL     /* 4-7 bytes */
#define ARB_NAMES_NS_PRICE_8 640000000ULL      /* 8 or more */

/* Network constants of the name layer. Heights are block heights. */
typedef struct {
    const char *network;
    uint32_t preorder_ttl;        /* reveal / register at height < preorder height + this */
    uint32_t namespace_ready_ttl; /* ready at height < reveal height + this; lapsed from then on */
    uint32_t grace_period;        /* blocks after expiry in which only the owner may renew */
} arb_names_params;

/* "main" and "test": 144 / 52,595 / 5,000; "regtest": 6 / 40 / 10.
 * Returns NULL for any other name. */
const arb_names_params *arb_names_params_get(const char *network);

/* ---- syntax ---- */

/* 1 when s[0..len) is a namespace id: 1-20 bytes of a-z 0-9 - _. */
int arb_names_ns_valid(const uint8_t *s, size_t len);
/* 1 when s[0..len) is a name (the part before the dot): 1-48 such bytes. */
int arb_names_name_valid(const uint8_t *s, size_t len);
/* 1 when s[0..len) is a full name "name.namespace" with both parts valid;
 * then *name_len is the length of the name part (the namespace id starts at
 * s + *name_len + 1). */
int arb_names_full_valid(const uint8_t *s, size_t len, size_t *name_len);

/* ---- prices ---- */

/* BNS's price function, as a namespace reveals it. Valid (BNS v1 limits):
 * coeff and base 0..255 (u8), every bucket exponent 0..15, both discounts
 * 1..15. */
typedef struct {
    uint8_t coeff;
    uint8_t base;
    uint8_t buckets[16];
    uint8_t nonalpha_discount;
    uint8_t no_vowel_discount;
} arb_names_price_fn;

/* 1 when every field is in its range. */
int arb_names_price_fn_valid(const arb_names_price_fn *f);

/* The namespace price for an id of id_len bytes (id_len >= 1). */
uint64_t arb_names_namespace_price(size_t id_len);

/* BNS compute-name-price on the name part (1..48 bytes, valid syntax):
 *   exp = buckets[min(15, len - 1)]
 *   nv  = no_vowel_discount if the name has none of a e i o u y, else 1
 *   na  = nonalpha_discount if it has a digit, '-' or '_', else 1
 *   price = ((coeff * base^exp) / max(nv, na)) * 10   (the division truncates)
 * in base units. Every step is checked: returns ARB_OK with *price, or
 * ARB_ERR_VERIFY when an intermediate or the result does not fit 64 bits (a
 * name that cannot be paid for: the function stays valid, as BNS v1 had no
 * such limit and other lengths may be cheap), or ARB_ERR_INVALID_ARG for an
 * invalid function or name (*price 0 on error). */
arb_err arb_names_name_price(const arb_names_price_fn *f, const uint8_t *name, size_t len,
                             uint64_t *price) ARB_WARN_UNUSED;

/* ---- records ---- */

/* A namespace after its reveal. */
typedef struct {
    uint8_t id[ARB_NAMES_NS_MAX];
    size_t id_len;
    uint8_t reveal_key[32];  /* may import names and make it ready */
    uint32_t reveal_height;
    uint8_t ready;           /* 0 / 1 */
    uint32_t ready_height;   /* 0 unless ready */
    uint32_t lifetime;       /* name lifetime in blocks; 0: names never expire */
    arb_names_price_fn price;
} arb_namespace_rec;

/* A registered or imported name. */
typedef struct {
    uint8_t full[ARB_NAMES_FULL_MAX];
    size_t full_len;
    uint8_t owner[32];           /* BIP340 x-only key */
    uint8_t has_zonefile;        /* 0 / 1 */
    uint8_t zonefile_hash[32];   /* SHA-256 of the zone file; zero unless has_zonefile */
    uint32_t registered_height;  /* register or import */
    uint32_t renewed_height;     /* start of the current lease (= registered_height at first) */
    uint32_t lifetime;           /* the namespace's lifetime, copied at register/import/renew */
    uint8_t revoked;             /* 0 / 1 */
    uint8_t imported;            /* 0 / 1 */
} arb_name_rec;

/* A pending preorder (namespace or name): kept in the chain state under its
 * commitment, not in the state commitment. */
typedef struct {
    uint8_t commitment[32];
    uint8_t sender[32];
    uint32_t height;
    uint64_t burned;
} arb_names_preorder_rec;

/* Record type bytes (the first byte of each record encoding). */
enum { ARB_NAMES_REC_NAME = 1, ARB_NAMES_REC_NAMESPACE = 2, ARB_NAMES_REC_PREORDER = 3 };

/* Encoders append to b (check b->oom); decoders are strict (exact length,
 * flags 0/1, valid syntax, zero fields where the layout says so) and return
 * ARB_OK or ARB_ERR_PARSE with the output zeroed. */
void arb_names_name_rec_encode(arb_buf *b, const arb_name_rec *r);
arb_err arb_names_name_rec_decode(arb_name_rec *r, const uint8_t *in, size_t len) ARB_WARN_UNUSED;
void arb_names_ns_rec_encode(arb_buf *b, const arb_namespace_rec *r);
arb_err arb_names_ns_rec_decode(arb_namespace_rec *r, const uint8_t *in, size_t len) ARB_WARN_UNUSED;
void arb_names_preorder_rec_encode(arb_buf *b, const arb_names_preorder_rec *r);
arb_err arb_names_preorder_rec_decode(arb_names_preorder_rec *r, const uint8_t *in, size_t len)
    ARB_WARN_UNUSED;

/* State-commitment keys: SHA-256 of the full name, and SHA-256 of the
 * namespace id (a namespace id has no '.', so the two never share a
 * preimage). Log anchors use a tagged hash (ledger/anchor/anchor.h) whose
 * preimage starts with bytes outside the name alphabet. */
void arb_names_name_key(arb_sha256 *h, uint8_t key32[static 32], const uint8_t *full, size_t len);
void arb_names_ns_key(arb_sha256 *h, uint8_t key32[static 32], const uint8_t *id, size_t len);

/* Value hash stored in the tree: tagged_hash("arbor/names/record", encoding). */
#define ARB_NAMES_RECORD_TAG "arbor/names/record"
arb_err arb_names_name_rec_hash(arb_sha256 *h, arb_hash *out, const arb_name_rec *r) ARB_WARN_UNUSED;
arb_err arb_names_ns_rec_hash(arb_sha256 *h, arb_hash *out, const arb_namespace_rec *r)
    ARB_WARN_UNUSED;

/* Lease arithmetic (64-bit, cannot overflow). A name with lifetime 0 never
 * expires. Otherwise it expires at renewed_height + lifetime: it resolves
 * while height < that, is in its grace period while height < that +
 * grace_period (only the owner may renew; it does not resolve), and may be
 * registered by anyone from then on. */
int arb_names_resolves(const arb_name_rec *r, uint32_t height);
int arb_names_in_grace(const arb_names_params *p, const arb_name_rec *r, uint32_t height);
int arb_names_released(const arb_names_params *p, const arb_name_rec *r, uint32_t height);
/* 1 when a name record predates its namespace's current reveal: it was
 * imported in an earlier reveal of the same id that lapsed, and counts as
 * absent (the chain never deletes such records eagerly). ns must be the
 * record of the name's namespace. */
int arb_names_stale(const arb_namespace_rec *ns, const arb_name_rec *r);
/* 1 when a revealed, not ready namespace has lapsed at height. */
int arb_names_ns_lapsed(const arb_names_params *p, const arb_namespace_rec *r, uint32_t height);

/* SHA-256 of a zone file of at most ARB_NAMES_ZONEFILE_MAX bytes. Returns
 * ARB_OK or ARB_ERR_INVALID_ARG (too long; out zeroed). */
arb_err arb_names_zonefile_hash(arb_sha256 *h, uint8_t out32[static 32], const uint8_t *zf,
                                size_t len) ARB_WARN_UNUSED;

#endif
