#include "merkle/proof.h"

#include <string.h>

/* Number of significant bits of x (0 for 0). */
static unsigned bit_len(uint64_t x)
{
    return x == 0 ? 0 : 64 - (unsigned)__builtin_clzll(x);
}

static arb_err get_node(const arb_merkle_source *src, uint64_t level, uint64_t index, arb_hash *out)
{
    return src->get_node(src->ud, level, index, out);
}

/* MTH of the `len` leaves starting at `start`, where start is a multiple of
 * the largest power of two <= len (always true for the ranges the RFC 6962
 * recursion produces). The range splits into perfect subtrees, largest first;
 * MTH folds them right to left: HASH(a, HASH(b, HASH(c, d))). */
static arb_err range_hash(arb_sha256 *h, const arb_merkle_source *src, uint64_t start, uint64_t len,
                          arb_hash *out)
{
    arb_hash parts[64];
    size_t k = 0;
    arb_err err;

    for (int l = 63; l >= 0; l--) {
        if (len >> l & 1) {
            if ((err = get_node(src, (uint64_t)l, start >> l, &parts[k])) != ARB_OK)
                return err;
            k++;
            start += (uint64_t)1 << l;
        }
    }
    *out = parts[k - 1];
    while (k-- > 1)
        arb_merkle_node_hash(h, out, &parts[k - 1], out);
    return ARB_OK;
}

arb_err arb_merkle_source_root(arb_sha256 *h, const arb_merkle_source *src, uint64_t size,
                               arb_hash *root)
{
    arb_err err;

    if (size == 0) {
        arb_merkle_empty_root(root);
        return ARB_OK;
    }
    if ((err = range_hash(h, src, 0, size, root)) != ARB_OK)
        memset(root, 0, sizeof *root);
    return err;
}

arb_err arb_merkle_source_subtree(arb_sha256 *h, const arb_merkle_source *src, uint64_t level,
                                  uint64_t index, uint64_t size, arb_hash *out)
{
    uint64_t start, avail;
    arb_err err;

    memset(out, 0, sizeof *out);
    if (level > 63 || index > UINT64_MAX >> level)
        return ARB_ERR_INVALID_ARG;
    start = index << level;
    if (start >= size)
        return ARB_ERR_INVALID_ARG;
    avail = size - start;
    if (avail >= (uint64_t)1 << level)
        err = get_node(src, level, index, out);
    else
        err = range_hash(h, src, start, avail, out);
    if (err != ARB_OK)
        memset(out, 0, sizeof *out);
    return err;
}

/* Appends to proof the audit path of the node (level, idx) up to the root of
 * the tree of `size` leaves: at each level, the sibling subtree (cut at size)
 * if it has any leaf. This is RFC 6962 2.1.1 PATH unrolled bottom-up; a node
 * with no right sibling is carried up unchanged, as MTH does. */
static arb_err audit_path(arb_sha256 *h, const arb_merkle_source *src, uint64_t level, uint64_t idx,
                          uint64_t size, arb_hash *proof, size_t *n)
{
    arb_err err;

    for (uint64_t l = level; l < 64 && ((uint64_t)1 << l) < size; l++, idx >>= 1) {
        uint64_t first = idx << l; /* first leaf of the current node */
        if (idx & 1) {
            err = get_node(src, l, idx - 1, &proof[*n]);
        } else {
            if (size - first <= (uint64_t)1 << l)
                continue; /* right sibling would start at or past size */
            err = arb_merkle_source_subtree(h, src, l, idx + 1, size, &proof[*n]);
        }
        if (err != ARB_OK)
            return err;
        (*n)++;
    }
    return ARB_OK;
}

arb_err arb_merkle_inclusion_build(arb_sha256 *h, const arb_merkle_source *src, uint64_t index,
                                   uint64_t size, arb_hash proof[static ARB_MERKLE_MAX_PROOF],
                                   size_t *proof_len)
{
    arb_err err;

    *proof_len = 0;
    if (index >= size)
        return ARB_ERR_INVALID_ARG;
    if ((err = audit_path(h, src, 0, index, size, proof, proof_len)) != ARB_OK)
        *proof_len = 0;
    return err;
}

arb_err arb_merkle_consistency_build(arb_sha256 *h, const arb_merkle_source *src, uint64_t m,
                                     uint64_t n, arb_hash proof[static ARB_MERKLE_MAX_PROOF],
                                     size_t *proof_len)
{
    uint64_t level, idx;
    arb_err err;

    *proof_len = 0;
    if (m == 0 || m > n)
        return ARB_ERR_INVALID_ARG;
    if (m == n)
        return ARB_OK;
    /* RFC 6962 2.1.2 SUBPROOF descends towards the last old leaf until it
     * meets the largest perfect subtree ending at m: the node (level, idx)
     * with 2^level the lowest set bit of m. The proof is that node's hash
     * (left out when it is the whole old tree, i.e. m is a power of two;
     * the verifier knows it as the old root) followed by its audit path in
     * the new tree. */
    level = (uint64_t)__builtin_ctzll(m);
    idx = (m - 1) >> level;
    if (idx != 0) {
        if ((err = get_node(src, level, idx, &proof[0])) != ARB_OK)
            return err;
        *proof_len = 1;
    }
    if ((err = audit_path(h, src, level, idx, n, proof, proof_len)) != ARB_OK)
        *proof_len = 0;
    return err;
}

/* Splits an inclusion proof for (index, size) into `inner` hashes below the
 * level where the paths to index and to the last leaf meet, and `border`
 * hashes above it (left siblings on the right edge of the tree). */
static void decompose(uint64_t index, uint64_t size, unsigned *inner, unsigned *border)
{
    *inner = bit_len(index ^ (size - 1));
    *border = (unsigned)__builtin_popcountll(*inner >= 64 ? 0 : index >> *inner);
}

size_t arb_merkle_inclusion_len(uint64_t index, uint64_t size)
{
    unsigned inner, border;

    if (index >= size)
        return 0;
    decompose(index, size, &inner, &border);
    return inner + border;
}

size_t arb_merkle_consistency_len(uint64_t m, uint64_t n)
{
    unsigned inner, border, shift;

    if (m == 0 || m >= n)
        return 0;
    decompose(m - 1, n, &inner, &border);
    shift = (unsigned)__builtin_ctzll(m);
    return (m >> shift == 1 ? 0 : 1) + (inner - shift) + border;
}

arb_err arb_merkle_inclusion_root(arb_sha256 *h, uint64_t index, uint64_t size,
                                  const arb_hash *leaf_hash, const arb_hash *proof, size_t proof_len,
                                  arb_hash *root, arb_errbuf *eb)
{
    uint64_t fn, sn;
    size_t want;
    arb_hash r;

    memset(root, 0, sizeof *root);
    if (size == 0)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "inclusion proof: tree size is 0");
    /* RFC 9162 2.1.3.2 step 1. */
    if (index >= size)
        return arb_errf(eb, ARB_ERR_INVALID_ARG,
                        "inclusion proof: leaf index %llu not below tree size %llu",
                        (unsigned long long)index, (unsigned long long)size);
    want = arb_merkle_inclusion_len(index, size);
    if (proof_len != want)
        return arb_errf(eb, ARB_ERR_VERIFY, "inclusion proof: %zu hashes, want %zu", proof_len,
                        want);
    /* Steps 2-5, literally. */
    fn = index;
    sn = size - 1;
    r = *leaf_hash;
    for (size_t i = 0; i < proof_len; i++) {
        const arb_hash *p = &proof[i];
        if (sn == 0)
            return arb_errf(eb, ARB_ERR_VERIFY, "inclusion proof: too long");
        if ((fn & 1) || fn == sn) {
            arb_merkle_node_hash(h, &r, p, &r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            arb_merkle_node_hash(h, &r, &r, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return arb_errf(eb, ARB_ERR_VERIFY, "inclusion proof: too short");
    *root = r;
    return ARB_OK;
}

arb_err arb_merkle_inclusion_verify(arb_sha256 *h, uint64_t index, uint64_t size,
                                    const arb_hash *leaf_hash, const arb_hash *proof,
                                    size_t proof_len, const arb_hash *root, arb_errbuf *eb)
{
    arb_hash got;
    arb_err err;

    err = arb_merkle_inclusion_root(h, index, size, leaf_hash, proof, proof_len, &got, eb);
    if (err != ARB_OK)
        return err;
    if (!arb_hash_eq(&got, root))
        return arb_errf(eb, ARB_ERR_VERIFY, "inclusion proof: root mismatch");
    return ARB_OK;
}

arb_err arb_merkle_consistency_verify(arb_sha256 *h, uint64_t m, uint64_t n, const arb_hash *root_m,
                                      const arb_hash *root_n, const arb_hash *proof,
                                      size_t proof_len, arb_errbuf *eb)
{
    uint64_t fn, sn;
    size_t want, i;
    arb_hash fr, sr;

    if (m == 0)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "consistency proof: old tree size is 0");
    if (m > n)
        return arb_errf(eb, ARB_ERR_INVALID_ARG,
                        "consistency proof: old size %llu greater than new size %llu",
                        (unsigned long long)m, (unsigned long long)n);
    if (m == n) {
        if (proof_len != 0)
            return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof: sizes equal, proof not empty");
        if (!arb_hash_eq(root_m, root_n))
            return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof: sizes equal, roots differ");
        return ARB_OK;
    }
    /* RFC 9162 2.1.4.2 step 1. */
    if (proof_len == 0)
        return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof: empty");
    want = arb_merkle_consistency_len(m, n);
    if (proof_len != want)
        return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof: %zu hashes, want %zu", proof_len,
                        want);
    /* Step 2: when m is a power of two the old root is the first path
     * element; instead of copying the array, start the loop one step early. */
    i = 0;
    if ((m & (m - 1)) == 0) {
        fr = *root_m;
    } else {
        fr = proof[0];
        i = 1;
    }
    sr = fr;
    /* Steps 3-4. */
    fn = m - 1;
    sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    /* Step 6. */
    for (; i < proof_len; i++) {
        const arb_hash *c = &proof[i];
        if (sn == 0)
            return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof: too long");
        if ((fn & 1) || fn == sn) {
            arb_merkle_node_hash(h, &fr, c, &fr);
            arb_merkle_node_hash(h, &sr, c, &sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            arb_merkle_node_hash(h, &sr, &sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* Step 7. */
    if (sn != 0)
        return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof: too short");
    if (!arb_hash_eq(&fr, root_m))
        return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof: old root mismatch");
    if (!arb_hash_eq(&sr, root_n))
        return arb_errf(eb, ARB_ERR_VERIFY, "consistency proof: new root mismatch");
    return ARB_OK;
}
