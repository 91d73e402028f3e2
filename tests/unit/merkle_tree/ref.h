/* Test support for the tree tests: a naive RFC 6962 2.1 reference (MTH, PATH,
 * PROOF written as the RFC's recursive definitions), reference verifiers that
 * rebuild roots by the same recursion, and an in-memory node store built level
 * by level. None of this uses merkle/range.c or merkle/proof.c. */
#ifndef ARB_TESTS_MERKLE_TREE_REF_H
#define ARB_TESTS_MERKLE_TREE_REF_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/hash.h"

/* Leaves are either an array or generated: leaf i = leaf hash of the 8-byte
 * little-endian i. Perfect subtrees at levels >= min_level are stored (all of
 * them, for the first nleaves leaves); lower ones are hashed from leaves. */
typedef struct {
    arb_sha256 *h;
    const arb_hash *leaves; /* NULL: generated */
    uint64_t nleaves;
    unsigned min_level;
    arb_hash *lvl[64];
    uint64_t cnt[64];
    int ref_memo;    /* the reference MTH may use stored subtrees */
    uint64_t limit;  /* the node source refuses nodes not inside [0, limit) */
    uint64_t calls;  /* node source lookups */
    int bad_request; /* set when the node source was asked for a node outside limit */
} ref_store;

/* Builds the store; returns 0 on success (-1 on allocation failure). */
int ref_store_build(ref_store *st, arb_sha256 *h, const arb_hash *leaves, uint64_t nleaves,
                    unsigned min_level);
void ref_store_free(ref_store *st);
void ref_leaf(const ref_store *st, uint64_t i, arb_hash *out);
void ref_gen_leaf(arb_sha256 *h, uint64_t i, arb_hash *out);
/* The perfect subtree (level, index), from storage or hashed from leaves. */
void ref_node(const ref_store *st, uint64_t level, uint64_t index, arb_hash *out);
/* arb_merkle_get_node_fn over a ref_store (ud). */
arb_err ref_get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out);

/* RFC 6962 2.1: MTH(D[start : start + len]). */
void ref_mth(ref_store *st, uint64_t start, uint64_t len, arb_hash *out);
/* RFC 6962 2.1.1: PATH(m, D[0:n]) appended to out (*len counts). */
void ref_path(ref_store *st, uint64_t m, uint64_t n, arb_hash *out, size_t *len);
/* RFC 6962 2.1.2: PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). */
void ref_proof(ref_store *st, uint64_t m, uint64_t n, arb_hash *out, size_t *len);

/* Reference verifiers: invert the PATH / SUBPROOF recursion. Return 1 when
 * the proof is accepted. */
int ref_verify_inclusion(arb_sha256 *h, uint64_t m, uint64_t n, const arb_hash *leaf,
                         const arb_hash *proof, size_t len, const arb_hash *root);
int ref_verify_consistency(arb_sha256 *h, uint64_t m, uint64_t n, const arb_hash *root_m,
                           const arb_hash *root_n, const arb_hash *proof, size_t len);

#endif
