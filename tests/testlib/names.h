/* Name operations and log anchors on a running regtest arbord for
 * integration tests (on top of tests/testlib/chain.h): each built here from
 * ledger/names and ledger/anchor, paid from an actor's coin and POSTed to
 * /chain/v1/tx; the name lookups; a synthetic log whose heads are anchored.
 *
 * Answers of the operations are "ok" or the node's refusal reason, in
 * arb_tl_post_op's static buffer (not thread-safe). */
#ifndef ARB_TESTS_TESTLIB_NAMES_H
#define ARB_TESTS_TESTLIB_NAMES_H

#include "ledger/anchor/anchor.h"
#include "ledger/log/key.h"
#include "ledger/names/nameop.h"
#include "merkle/proof.h"
#include "tests/testlib/chain.h"

/* Funds each of to[0..n) with `each` from the coinbase of block `height`
 * (which paid miner), in one transaction POSTed to the node; to[i]'s coin
 * is then output i. A step that fails is a test failure and stops it. */
void arb_tl_fund(const arb_tl_chain *c, arb_tl_http_opts o, const arb_tl_actor *miner,
                 uint32_t height, arb_tl_actor **to, size_t n, uint64_t each);

/* The name operation op (encoded here), paid by a with its burn. */
const char *arb_tl_nameop(const arb_tl_chain *c, arb_tl_http_opts o, arb_tl_actor *a,
                          const arb_nameop *op);

/* op->full and op->full_len from the C string full. */
void arb_tl_nameop_set_full(arb_nameop *op, const char *full);

/* A name preorder of full for owner (its commitment with salt), burning burn. */
const char *arb_tl_name_preorder(const arb_tl_chain *c, arb_tl_http_opts o,
                                 arb_tl_actor *a, const char *full, const uint8_t salt[32],
                                 const uint8_t owner[32], uint64_t burn);

/* The register of full for owner with salt, and the zone-file hash zf
 * (NULL: none). */
const char *arb_tl_name_register(const arb_tl_chain *c, arb_tl_http_opts o,
                                 arb_tl_actor *a, const char *full, const uint8_t salt[32],
                                 const uint8_t owner[32], const uint8_t *zf);

/* An operation on full taking one argument: ARB_NAMEOP_NAME_UPDATE (arg32 is
 * the zone-file hash), ARB_NAMEOP_NAME_TRANSFER (arg32 is the new owner, the
 * zone file kept), ARB_NAMEOP_NAME_RENEW (burning burn), or another type
 * with no argument. */
const char *arb_tl_name_simple(const arb_tl_chain *c, arb_tl_http_opts o,
                               arb_tl_actor *a, uint8_t type, const char *full,
                               const uint8_t *arg32, uint64_t burn);

/* GET /names/v1/name/<full><query> (query NULL: none): the status and the
 * answer's JSON in *out. */
long arb_tl_name_lookup(arb_tl_http_opts o, const char *full, const char *query,
                        json_t **out);

/* The "status" of the lookup of full ("" when it does not answer 200), in a
 * static buffer that the next call overwrites. */
const char *arb_tl_name_status(arb_tl_http_opts o, const char *full);

/* A synthetic log of ARB_TL_TREE_LEAVES leaves ("<tag> <i>", RFC 6962 leaf
 * hashes) and the hasher its nodes are made with. */
enum { ARB_TL_TREE_LEAVES = 64 };
typedef struct {
    arb_hash leaf[ARB_TL_TREE_LEAVES];
    arb_sha256 *sha;
} arb_tl_tree;

void arb_tl_tree_init(arb_tl_tree *t, arb_sha256 *sha, const char *tag);

/* An arb_merkle_source callback over an arb_tl_tree (ud). */
arb_err arb_tl_tree_node(void *ud, uint64_t level, uint64_t index, arb_hash *out);

/* The anchor payload (ledger/anchor) of t's head at size: signed by log at
 * sig_ts but claiming timestamp ts (the same for a valid anchor), with a
 * consistency proof from `from` (0: none) built over proof_tree (NULL: t).
 * Appends it to out and returns NULL, or returns what failed ("(root)",
 * "(sign)", "(proof)", "(encode)") after counting a test failure. */
const char *arb_tl_anchor_payload(arb_buf *out, const arb_ct_signer *log, const uint8_t *spki,
                                  size_t spki_len, arb_tl_tree *t, uint64_t size,
                                  uint64_t sig_ts, uint64_t ts, uint64_t from,
                                  arb_tl_tree *proof_tree);

#endif
