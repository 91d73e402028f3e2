/* The log's Merkle tree over stored nodes (private to ledger/log).
 *
 * Every complete node of the RFC 6962 tree is stored once, when it completes:
 * node (level, index) covers leaves [index * 2^level, (index + 1) * 2^level),
 * level 0 being the leaf hashes. Complete nodes never change, so readers can
 * use them without locks for any tree size up to the published one. The
 * right edge of the tree is kept in memory as a compact range (the roots of
 * the perfect subtrees, one per set bit of the size).
 *
 * Roots and proofs for any size come from merkle/proof.h, which only asks
 * for complete nodes. */
#ifndef ARB_LEDGER_LOG_TREE_INTERNAL_H
#define ARB_LEDGER_LOG_TREE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"
#include "merkle/hash.h"
#include "merkle/range.h"

/* Node key in the nodes column family: level (1 byte) || index (8 bytes BE). */
#define LOG_NODE_KEY_SIZE 9
void log_node_key(uint8_t out[LOG_NODE_KEY_SIZE], unsigned level, uint64_t index);

/* Reads a complete node; returns ARB_OK, ARB_ERR_NOT_FOUND or a storage error. */
typedef arb_err (*log_node_get_fn)(void *ud, unsigned level, uint64_t index, arb_hash *out);
/* The compact range of a tree of `size` leaves (the tree's right edge, kept
 * in memory; appends report each completed node through
 * arb_merkle_range_append_visit), read from stored nodes. */
arb_err log_range_load(arb_merkle_range *r, uint64_t size, log_node_get_fn get, void *ud);

/* MTH of leaves [0, n) from stored nodes (SHA-256("") for n = 0). */
arb_err log_tree_root(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t n, arb_hash *out);

/* Inclusion proof of leaf m in the tree of size n (0 <= m < n): *path
 * (malloc'd, *len hashes), leaf side first. */
arb_err log_inclusion_proof(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t m, uint64_t n,
                            arb_hash **path, size_t *len);
/* Consistency proof between sizes m and n (0 <= m <= n); empty when m == 0 or m == n.
 * Both return *path non-NULL on success (free()). */
arb_err log_consistency_proof(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t m,
                              uint64_t n, arb_hash **path, size_t *len);

#endif
