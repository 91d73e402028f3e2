/* Consistency and inclusion proof checks; see consist.h. The general case is
 * the Merkle library's RFC 9162 verifier (merkle/proof.h). */
#include "auditor/consist.h"

#include <string.h>

#include "merkle/proof.h"

arb_err arb_audit_consistency_verify(uint64_t old_size, const arb_hash *old_root,
                                     uint64_t new_size, const arb_hash *new_root,
                                     const arb_hash *proof, size_t n, arb_errbuf *eb)
{
    if (old_size > new_size)
        return arb_errf(eb, ARB_ERR_VERIFY, "old size %llu is larger than new size %llu",
                        (unsigned long long)old_size, (unsigned long long)new_size);
    if (old_size == 0) {
        if (n != 0)
            return arb_errf(eb, ARB_ERR_VERIFY, "proof from the empty tree must be empty");
        return ARB_OK;
    }
    if (old_size == new_size) {
        if (n != 0)
            return arb_errf(eb, ARB_ERR_VERIFY, "proof between equal sizes must be empty");
        if (!arb_hash_eq(old_root, new_root))
            return arb_errf(eb, ARB_ERR_VERIFY, "same size %llu, different root hashes",
                            (unsigned long long)old_size);
        return ARB_OK;
    }
    {
        arb_sha256 *h = NULL;
        arb_errbuf sub;
        arb_err err;
        if (arb_sha256_new(&h) != ARB_OK)
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        err = arb_merkle_consistency_verify(h, old_size, new_size, old_root, new_root, proof, n,
                                            &sub);
        arb_sha256_free(h);
        if (err == ARB_OK)
            return ARB_OK;
        return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof %llu -> %llu: %s",
                        (unsigned long long)old_size, (unsigned long long)new_size, sub.msg);
    }
}

arb_err arb_audit_inclusion_verify(uint64_t index, uint64_t size, const arb_hash *leaf_hash,
                                   const arb_hash *proof, size_t n, const arb_hash *root,
                                   arb_errbuf *eb)
{
    if (index >= size)
        return arb_errf(eb, ARB_ERR_VERIFY, "leaf index %llu is outside a tree of %llu",
                        (unsigned long long)index, (unsigned long long)size);
    {
        arb_sha256 *h = NULL;
        arb_errbuf sub;
        arb_err err;
        if (arb_sha256_new(&h) != ARB_OK)
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        err = arb_merkle_inclusion_verify(h, index, size, leaf_hash, proof, n, root, &sub);
        arb_sha256_free(h);
        if (err == ARB_OK)
            return ARB_OK;
        return arb_errf(eb, ARB_ERR_VERIFY, "inclusion proof for leaf %llu of %llu: %s",
                        (unsigned long long)index, (unsigned long long)size, sub.msg);
    }
}
