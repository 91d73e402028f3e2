/* Name-layer operations as typed transaction payloads (ledger/chain/tx.h:
 * payload_type, then the payload bytes): their byte-exact codec, the
 * preorder commitments, the amount each burns, and the pure state
 * transition of one operation. docs/names.md has the formats byte by byte.
 *
 * Consensus applies them (ledger/chain/stateview.h, chainstate.c): a block
 * whose operation fails arb_nameop_apply is invalid with its reason.
 *
 * Pure functions, thread-safe with one arb_sha256 engine per thread. */
#ifndef ARB_NAMES_NAMEOP_H
#define ARB_NAMES_NAMEOP_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/names/names.h"
#include "merkle/buf.h"
#include "merkle/smt.h"
#include "merkle/error.h"
#include "merkle/hash.h"

/* Payload types (tx payload_type). 11 is the log anchor (ledger/anchor). */
enum {
    ARB_NAMEOP_NAMESPACE_PREORDER = 1,
    ARB_NAMEOP_NAMESPACE_REVEAL = 2,
    ARB_NAMEOP_NAME_IMPORT = 3,
    ARB_NAMEOP_NAMESPACE_READY = 4,
    ARB_NAMEOP_NAME_PREORDER = 5,
    ARB_NAMEOP_NAME_REGISTER = 6,
    ARB_NAMEOP_NAME_UPDATE = 7,
    ARB_NAMEOP_NAME_TRANSFER = 8,
    ARB_NAMEOP_NAME_RENEW = 9,
    ARB_NAMEOP_NAME_REVOKE = 10,
};

#define ARB_NAMEOP_NS_PREORDER_TAG "arbor/names/namespace-preorder"
#define ARB_NAMEOP_NAME_PREORDER_TAG "arbor/names/name-preorder"

/* One decoded operation. Which fields an operation uses:
 *   namespace-preorder  commitment, burn
 *   namespace-reveal    ns, salt, key (the reveal key), lifetime, price
 *   name-import         full, key (owner), has_zonefile + zonefile_hash
 *   namespace-ready     ns
 *   name-preorder       commitment, burn
 *   name-register       full, salt, key (owner), has_zonefile + zonefile_hash
 *   name-update         full, zonefile_hash (has_zonefile is 1)
 *   name-transfer       full, key (new owner), keep_zonefile
 *   name-renew          full, burn
 *   name-revoke         full
 * Unused fields are zero. For name operations ns / ns_len are filled from
 * the full name. */
typedef struct {
    uint8_t type;
    uint8_t commitment[32];
    uint64_t burn;
    uint8_t ns[ARB_NAMES_NS_MAX];
    size_t ns_len;
    uint8_t full[ARB_NAMES_FULL_MAX];
    size_t full_len;
    size_t name_len; /* length of the name part of full */
    uint8_t salt[32];
    uint8_t key[32];
    uint32_t lifetime;
    arb_names_price_fn price;
    uint8_t has_zonefile;
    uint8_t zonefile_hash[32];
    uint8_t keep_zonefile;
} arb_nameop;

/* Appends the payload bytes of op (not the type byte). Returns ARB_OK,
 * ARB_ERR_INVALID_ARG (unknown type, bad name syntax, a flag not 0/1) or
 * ARB_ERR_NOMEM. */
arb_err arb_nameop_encode(arb_buf *out, const arb_nameop *op) ARB_WARN_UNUSED;
/* Decodes the payload of a transaction with payload_type `type`. Strict:
 * exact length, name syntax (a-z 0-9 - _, lengths), flags 0/1, a zone-file
 * hash only when flagged. Returns ARB_OK, or ARB_ERR_PARSE with the reason
 * in eb and *op zeroed. An unknown type is ARB_ERR_PARSE too. */
arb_err arb_nameop_decode(arb_nameop *op, uint8_t type, const uint8_t *in, size_t len,
                          arb_errbuf *eb) ARB_WARN_UNUSED;
/* 1 when type is one of the ten name-layer payload types. */
int arb_nameop_type_known(uint8_t type);
/* "namespace-preorder", ... ; "unknown" otherwise. */
const char *arb_nameop_type_name(uint8_t type);
/* The amount the operation burns: the burn field of namespace-preorder,
 * name-preorder and name-renew; 0 for the others. The wiring into
 * consensus must see that the transaction destroys this much (it is not a
 * fee the miner may take). */
uint64_t arb_nameop_burn(const arb_nameop *op);

/* Commitments (BIP340 tagged hashes):
 *   namespace: tagged("arbor/names/namespace-preorder", len(id) u8 || id || salt32 || reveal_key32)
 *   name:      tagged("arbor/names/name-preorder", len(full) u8 || full || salt32 || owner32) */
void arb_nameop_ns_commitment(arb_sha256 *h, uint8_t out32[static 32], const uint8_t *id,
                              size_t id_len, const uint8_t salt32[static 32],
                              const uint8_t reveal_key32[static 32]);
void arb_nameop_name_commitment(arb_sha256 *h, uint8_t out32[static 32], const uint8_t *full,
                                size_t full_len, const uint8_t salt32[static 32],
                                const uint8_t owner32[static 32]);

/* The records one operation reads and writes. has_* says the record exists
 * (before the operation, as passed in; after it, as returned). */
typedef struct {
    int has_ns;
    arb_namespace_rec ns;
    int has_name;
    arb_name_rec name;
    int has_preorder;
    arb_names_preorder_rec preorder;
} arb_names_view;

/* What the caller must look up before arb_nameop_apply: the namespace
 * record (need_ns, by ns / ns_len), the name record (need_name, by full /
 * full_len) and the preorder (need_preorder, by its commitment: the
 * operation's own for preorders, recomputed from the revealed fields for
 * namespace-reveal and name-register). */
typedef struct {
    int need_ns, need_name, need_preorder;
    uint8_t preorder_commitment[32];
} arb_nameop_lookups;
void arb_nameop_lookups_get(arb_sha256 *h, const arb_nameop *op, arb_nameop_lookups *out);

/* Applies one operation at block `height`, sent by `sender` (the key of the
 * output the transaction's first input spends), to the records in *in
 * (those arb_nameop_lookups_get names, as they are before the operation).
 * On ARB_OK *out holds the records afterwards: write those with has_* set,
 * delete those that were in *in but are not in *out. On ARB_ERR_VERIFY the
 * operation is invalid and *reason is a static string naming the rule
 * (docs/names.md lists them: "name-preorder-missing", "name-taken", ...);
 * *out is then a copy of *in. ARB_ERR_INVALID_ARG: *in does not belong to
 * the operation (a record for another key), a caller bug. */
arb_err arb_nameop_apply(arb_sha256 *h, const arb_names_params *p, const arb_nameop *op,
                         const uint8_t sender32[static 32], uint32_t height,
                         const arb_names_view *in, arb_names_view *out, const char **reason)
    ARB_WARN_UNUSED;

/* The state-commitment changes of one applied operation: for the namespace
 * and the name record, a set (key, value hash) when *out has the record and
 * its value differs from *in's, a delete when only *in had it. Preorders are
 * not in the tree. Writes 0-2 entries to ops and their count to *n. A block
 * that touches a key several times keeps the last change of each key before
 * calling arb_smt_update (which takes each key once). Returns ARB_OK or
 * ARB_ERR_NOMEM. */
arb_err arb_nameop_tree_ops(arb_sha256 *h, const arb_names_view *in, const arb_names_view *out,
                            arb_smt_op ops[static 2], size_t *n) ARB_WARN_UNUSED;

#endif
