/* Test-only RFC 9162 proof verifiers and a naive RFC 6962 MTH. */
#ifndef ARB_TESTS_UNIT_LOG_PROOFCHECK_H
#define ARB_TESTS_UNIT_LOG_PROOFCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/hash.h"

/* RFC 9162 2.1.3.2: 1 if path proves leaf at index in a tree of size with root. */
int pc_verify_inclusion(arb_sha256 *sha, uint64_t index, uint64_t size, const arb_hash *leaf,
                        const arb_hash *path, size_t n, const arb_hash *root);
/* RFC 9162 2.1.4.2: 1 if proof shows the tree of size m (root r1) is a prefix of
 * the tree of size n (root r2). */
int pc_verify_consistency(arb_sha256 *sha, uint64_t m, uint64_t n, const arb_hash *r1,
                          const arb_hash *r2, const arb_hash *proof, size_t len);
/* RFC 6962 2.1 MTH over leaf hashes, by its recursive definition. */
void pc_mth(arb_sha256 *sha, const arb_hash *leaves, uint64_t n, arb_hash *out);

#endif
