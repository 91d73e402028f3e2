/* The one place the auditor checks RFC 6962 consistency proofs (RFC 6962
 * 2.1.2; RFC 9162 2.1.4.2 verification). The trivial cases are decided here;
 * everything else is handed to the Merkle library (merkle/proof.h). */
#ifndef ARB_AUDITOR_CONSIST_H
#define ARB_AUDITOR_CONSIST_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"
#include "merkle/hash.h"

/* Checks that the tree of new_size with new_root extends the tree of old_size
 * with old_root, given proof[0..n).
 *   old_size == 0:        any tree extends the empty tree; the proof must be empty.
 *   old_size == new_size: the proof must be empty and the roots equal.
 *   old_size >  new_size: never consistent.
 * Returns ARB_OK, ARB_ERR_VERIFY (reason in eb) or ARB_ERR_NOMEM. */
arb_err arb_audit_consistency_verify(uint64_t old_size, const arb_hash *old_root,
                                     uint64_t new_size, const arb_hash *new_root,
                                     const arb_hash *proof, size_t n, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* The root of the first old_size entries that a consistency proof from
 * old_size to new_size commits to, when that root is one of the proof's own
 * hashes combined (old_size not a power of two): the old-root half of RFC
 * 9162 2.1.4.2. The result means nothing until arb_audit_consistency_verify
 * (old_size, *old_root, new_size, new_root, proof) accepts it: only then is
 * it the prefix root of the tree whose root is new_root (SHA-256 collision
 * resistance). Returns ARB_OK; ARB_ERR_NOT_FOUND when old_size is 0 or a
 * power of two (the proof does not carry that root: it starts from it);
 * ARB_ERR_VERIFY when the proof has the wrong length; ARB_ERR_NOMEM. */
arb_err arb_audit_consistency_old_root(uint64_t old_size, uint64_t new_size, const arb_hash *proof,
                                       size_t n, arb_hash *old_root, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Verifies an RFC 6962 2.1.1 inclusion proof of leaf_hash at index in the
 * tree of size leaves with the given root. Returns ARB_OK, ARB_ERR_VERIFY or
 * ARB_ERR_NOMEM. */
arb_err arb_audit_inclusion_verify(uint64_t index, uint64_t size, const arb_hash *leaf_hash,
                                   const arb_hash *proof, size_t n, const arb_hash *root,
                                   arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
