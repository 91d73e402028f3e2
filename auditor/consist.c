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

arb_err arb_audit_consistency_old_root(uint64_t old_size, uint64_t new_size, const arb_hash *proof,
                                       size_t n, arb_hash *old_root, arb_errbuf *eb)
{
    arb_sha256 *h = NULL;
    uint64_t fn, sn;
    arb_hash fr;

    memset(old_root, 0, sizeof *old_root);
    if (old_size == 0 || (old_size & (old_size - 1)) == 0)
        return arb_errf(eb, ARB_ERR_NOT_FOUND,
                        "a consistency proof from size %llu does not carry that size's root",
                        (unsigned long long)old_size);
    if (old_size >= new_size || n == 0 || n != arb_merkle_consistency_len(old_size, new_size))
        return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof %llu -> %llu: %zu hashes, want %zu",
                        (unsigned long long)old_size, (unsigned long long)new_size, n,
                        old_size < new_size ? arb_merkle_consistency_len(old_size, new_size) : 0);
    if (arb_sha256_new(&h) != ARB_OK)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    /* RFC 9162 2.1.4.2, following only the first root: steps 3-6 with
     * fr = consistency_path[0] (old_size is not a power of two). */
    fr = proof[0];
    fn = old_size - 1;
    sn = new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (size_t i = 1; i < n && sn != 0; i++) {
        if ((fn & 1) || fn == sn) {
            arb_merkle_node_hash(h, &fr, &proof[i], &fr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        }
        fn >>= 1;
        sn >>= 1;
    }
    arb_sha256_free(h);
    *old_root = fr;
    return ARB_OK;
}
