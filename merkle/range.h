/* Compact ranges (compact Merkle trees) over RFC 6962 trees.
 *
 * A compact range [0, size) keeps only the hashes of the perfect subtrees on
 * the tree's right edge (the "frontier"): one per set bit of size, at most 64.
 * That is enough to append leaves and to compute the root at the current size
 * (RFC 6962 2.1 MTH) without the leaves. Appending a leaf costs one node hash
 * on average (amortized; a leaf that completes a subtree of height k costs k)
 * and never allocates: the whole state is this fixed-size struct.
 *
 * A log that stores its frontier (the size and the hashes returned by
 * arb_merkle_range_frontier) resumes with arb_merkle_range_from_frontier
 * without rehashing any leaf.
 *
 * The struct is a plain value: copy it to take a snapshot. Not thread-safe
 * (callers serialize access to one range); different ranges are independent. */
#ifndef ARB_MERKLE_RANGE_H
#define ARB_MERKLE_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"
#include "merkle/hash.h"

/* A tree of size < 2^64 has at most 64 frontier subtrees. */
#define ARB_MERKLE_MAX_FRONTIER 64

typedef struct {
    uint64_t size; /* number of leaves appended so far */
    /* node[l] is the hash of the perfect subtree of 2^l leaves on the right
     * edge; meaningful only when bit l of size is set. */
    arb_hash node[ARB_MERKLE_MAX_FRONTIER];
} arb_merkle_range;

/* Makes r the empty range (size 0). */
void arb_merkle_range_init(arb_merkle_range *r);

/* Sets r to the range [0, size) whose frontier hashes are given left to right
 * (largest subtree first), as arb_merkle_range_frontier returns them.
 * `count` must equal the number of set bits in size. Returns ARB_OK, or
 * ARB_ERR_INVALID_ARG (r is then empty) when count does not match. */
arb_err arb_merkle_range_from_frontier(arb_merkle_range *r, uint64_t size, const arb_hash *hashes,
                                       size_t count) ARB_WARN_UNUSED;

/* Writes the frontier hashes left to right (largest subtree first) into out
 * and returns how many (popcount(size), 0..64). */
size_t arb_merkle_range_frontier(const arb_merkle_range *r,
                                 arb_hash out[static ARB_MERKLE_MAX_FRONTIER]);

/* The tree coordinates of the frontier subtrees of a tree of `size` leaves,
 * left to right: subtree i is the perfect subtree at (levels[i], indices[i]),
 * leaves at level 0. Returns the count (popcount(size)). A log uses this to
 * read the frontier of a stored tree from its node store. */
size_t arb_merkle_frontier_coords(uint64_t size, uint64_t levels[static ARB_MERKLE_MAX_FRONTIER],
                                  uint64_t indices[static ARB_MERKLE_MAX_FRONTIER]);

/* Appends one leaf hash (RFC 6962 leaf hash, SHA-256(0x00 || data)). Returns
 * ARB_OK, or ARB_ERR_INVALID_ARG if the range already holds 2^64 - 1 leaves. */
arb_err arb_merkle_range_append(arb_merkle_range *r, arb_sha256 *h,
                                const arb_hash *leaf_hash) ARB_WARN_UNUSED;

/* Receives a node of the tree that has just become complete: the perfect
 * subtree at (level, index), leaves at level 0. Complete nodes never change,
 * which is what lets a log store each once. */
typedef void (*arb_merkle_node_fn)(void *ud, uint64_t level, uint64_t index, const arb_hash *h);

/* Appends one leaf hash like arb_merkle_range_append, and calls fn (if not
 * NULL) for the leaf itself and then for every node the append completes,
 * lowest level first. */
arb_err arb_merkle_range_append_visit(arb_merkle_range *r, arb_sha256 *h, const arb_hash *leaf_hash,
                                      arb_merkle_node_fn fn, void *ud) ARB_WARN_UNUSED;

/* Appends `count` leaf hashes in order. Same result as appending them one by
 * one; all or nothing: on ARB_ERR_INVALID_ARG (size would pass 2^64 - 1) r is
 * unchanged. */
arb_err arb_merkle_range_append_many(arb_merkle_range *r, arb_sha256 *h, const arb_hash *leaf_hashes,
                                     size_t count) ARB_WARN_UNUSED;

/* Hashes `data` as an RFC 6962 leaf and appends it. Returns as
 * arb_merkle_range_append. */
arb_err arb_merkle_range_append_leaf(arb_merkle_range *r, arb_sha256 *h, const void *data,
                                     size_t len) ARB_WARN_UNUSED;

/* The RFC 6962 root (MTH) of the leaves [0, size); SHA-256("") when empty.
 * Costs popcount(size) - 1 node hashes. */
void arb_merkle_range_root(const arb_merkle_range *r, arb_sha256 *h, arb_hash *root);

#endif
