/* RFC 6962 / RFC 9162 inclusion and consistency proofs: building them from a
 * store of tree nodes, and verifying them.
 *
 * Nodes are named by (level, index): the perfect subtree of 2^level leaves
 * [index * 2^level, (index + 1) * 2^level); leaves are at level 0. A proof for
 * a tree whose size is not a power of two also needs the hashes of the
 * incomplete subtrees on its right edge; the builders compute those from the
 * perfect subtrees they cover (RFC 6962 2.1: MTH splits at the largest power
 * of two below n), so a node source only ever serves perfect subtrees that lie
 * wholly inside the tree, which is what a log stores and what tiles hold.
 *
 * Hashes in proofs are ordered as RFC 6962 2.1.1 / 2.1.2 and RFC 9162
 * 2.1.3 / 2.1.4 give them: from the bottom of the tree up.
 *
 * No function keeps state between calls; thread-safety is that of the
 * arb_sha256 engine passed in (one per thread). */
#ifndef ARB_MERKLE_PROOF_H
#define ARB_MERKLE_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"
#include "merkle/hash.h"

/* The longest proof for a tree of fewer than 2^64 leaves: an inclusion proof
 * has at most 64 hashes, a consistency proof at most 65. Longer proofs are
 * rejected by the verifiers. */
#define ARB_MERKLE_MAX_PROOF 65

/* Returns in *out the hash of the perfect subtree at (level, index). The
 * builders call it only for subtrees wholly inside the tree they work on.
 * Returns ARB_OK or any error, which the builder passes on unchanged. */
typedef arb_err (*arb_merkle_get_node_fn)(void *ud, uint64_t level, uint64_t index, arb_hash *out);

typedef struct {
    arb_merkle_get_node_fn get_node;
    void *ud;
} arb_merkle_source;

/* The RFC 6962 root MTH(D[0:size]) from the node source: popcount(size)
 * lookups and popcount(size) - 1 node hashes. size 0 gives SHA-256("").
 * Returns ARB_OK or the source's error (*root then zeroed). */
arb_err arb_merkle_source_root(arb_sha256 *h, const arb_merkle_source *src, uint64_t size,
                               arb_hash *root) ARB_WARN_UNUSED;

/* The hash of the subtree at (level, index) cut at `size` leaves: the MTH of
 * leaves [index * 2^level, min((index + 1) * 2^level, size)). Perfect subtrees
 * come straight from the source; an incomplete one is hashed from the perfect
 * subtrees it covers. Returns ARB_OK, ARB_ERR_INVALID_ARG if the subtree has
 * no leaf below size (or level > 63), or the source's error. */
arb_err arb_merkle_source_subtree(arb_sha256 *h, const arb_merkle_source *src, uint64_t level,
                                  uint64_t index, uint64_t size, arb_hash *out) ARB_WARN_UNUSED;

/* Builds the inclusion proof PATH(index, D[0:size]) (RFC 6962 2.1.1,
 * RFC 9162 2.1.3.1) into proof[0..*proof_len). Requires 0 <= index < size.
 * Returns ARB_OK, ARB_ERR_INVALID_ARG (index >= size), or the source's error
 * (then *proof_len is 0). */
arb_err arb_merkle_inclusion_build(arb_sha256 *h, const arb_merkle_source *src, uint64_t index,
                                   uint64_t size, arb_hash proof[static ARB_MERKLE_MAX_PROOF],
                                   size_t *proof_len) ARB_WARN_UNUSED;

/* Builds the consistency proof PROOF(m, D[0:n]) (RFC 6962 2.1.2, RFC 9162
 * 2.1.4.1) into proof[0..*proof_len). Requires 0 < m <= n; m == n gives the
 * empty proof. Returns ARB_OK, ARB_ERR_INVALID_ARG (m == 0 or m > n), or the
 * source's error (then *proof_len is 0). */
arb_err arb_merkle_consistency_build(arb_sha256 *h, const arb_merkle_source *src, uint64_t m,
                                     uint64_t n, arb_hash proof[static ARB_MERKLE_MAX_PROOF],
                                     size_t *proof_len) ARB_WARN_UNUSED;

/* The number of hashes in a correct inclusion proof for (index, size), or 0
 * when index >= size (index 0 of size 1 also has an empty proof). */
size_t arb_merkle_inclusion_len(uint64_t index, uint64_t size);
/* The number of hashes in a correct consistency proof for (m, n), 0 < m <= n;
 * 0 otherwise. */
size_t arb_merkle_consistency_len(uint64_t m, uint64_t n);

/* Computes the root that an inclusion proof leads to from leaf_hash at index
 * in a tree of size leaves, by the algorithm of RFC 9162 2.1.3.2. Returns
 * ARB_OK, ARB_ERR_INVALID_ARG (size == 0 or index >= size) or ARB_ERR_VERIFY
 * (the proof has the wrong number of hashes). On error *root is zeroed and a
 * reason goes to eb (may be NULL). */
arb_err arb_merkle_inclusion_root(arb_sha256 *h, uint64_t index, uint64_t size,
                                  const arb_hash *leaf_hash, const arb_hash *proof, size_t proof_len,
                                  arb_hash *root, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Verifies an inclusion proof (RFC 9162 2.1.3.2): ARB_OK when the proof leads
 * from leaf_hash at index to root in a tree of size leaves. Errors as
 * arb_merkle_inclusion_root, plus ARB_ERR_VERIFY when the roots differ. */
arb_err arb_merkle_inclusion_verify(arb_sha256 *h, uint64_t index, uint64_t size,
                                    const arb_hash *leaf_hash, const arb_hash *proof,
                                    size_t proof_len, const arb_hash *root,
                                    arb_errbuf *eb) ARB_WARN_UNUSED;

/* Verifies that the tree of m leaves with root root_m is a prefix of the tree
 * of n leaves with root root_n (RFC 9162 2.1.4.2). Edge cases as in
 * transparency-dev/merkle's verifier: m == n needs an empty proof and equal
 * roots. Returns ARB_OK; ARB_ERR_INVALID_ARG when m == 0 (nothing can be
 * proved about the empty tree) or m > n; ARB_ERR_VERIFY when the proof has the
 * wrong length or does not lead to both roots. Reason to eb (may be NULL). */
arb_err arb_merkle_consistency_verify(arb_sha256 *h, uint64_t m, uint64_t n, const arb_hash *root_m,
                                      const arb_hash *root_n, const arb_hash *proof,
                                      size_t proof_len, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
