/* Consistency proof checks; see consist.h. */
#include "auditor/consist.h"

#include <string.h>

arb_err arb_audit_consistency_verify(uint64_t old_size, const arb_hash *old_root,
                                     uint64_t new_size, const arb_hash *new_root,
                                     const arb_hash *proof, size_t n, arb_errbuf *eb)
{
    (void)proof;
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
    (void)old_root;
    (void)new_root;
    return arb_errf(eb, ARB_ERR_INTERNAL,
                    "consistency proof %llu -> %llu: no Merkle proof verifier in this build",
                    (unsigned long long)old_size, (unsigned long long)new_size);
}
