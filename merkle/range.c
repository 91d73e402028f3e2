#include "merkle/range.h"

#include <string.h>

void arb_merkle_range_init(arb_merkle_range *r)
{
    r->size = 0;
}

arb_err arb_merkle_range_from_frontier(arb_merkle_range *r, uint64_t size, const arb_hash *hashes,
                                       size_t count)
{
    size_t i = 0;

    r->size = 0;
    if (count != (size_t)__builtin_popcountll(size))
        return ARB_ERR_INVALID_ARG;
    /* Left to right is from the highest set bit of size down to the lowest. */
    for (int l = ARB_MERKLE_MAX_FRONTIER - 1; l >= 0; l--) {
        if (size >> l & 1)
            r->node[l] = hashes[i++];
    }
    r->size = size;
    return ARB_OK;
}

size_t arb_merkle_range_frontier(const arb_merkle_range *r,
                                 arb_hash out[static ARB_MERKLE_MAX_FRONTIER])
{
    size_t n = 0;

    for (int l = ARB_MERKLE_MAX_FRONTIER - 1; l >= 0; l--) {
        if (r->size >> l & 1)
            out[n++] = r->node[l];
    }
    return n;
}

size_t arb_merkle_frontier_coords(uint64_t size, uint64_t levels[static ARB_MERKLE_MAX_FRONTIER],
                                  uint64_t indices[static ARB_MERKLE_MAX_FRONTIER])
{
    size_t n = 0;
    uint64_t start = 0; /* first leaf of the next frontier subtree */

    for (int l = ARB_MERKLE_MAX_FRONTIER - 1; l >= 0; l--) {
        if (size >> l & 1) {
            levels[n] = (uint64_t)l;
            indices[n] = start >> l;
            n++;
            start += (uint64_t)1 << l;
        }
    }
    return n;
}

/* Merges leaf `lh` into the frontier: every trailing set bit of size is a
 * left sibling waiting for this subtree (RFC 6962 2.1: MTH(D[0:2k]) =
 * HASH(0x01 || MTH(D[0:k]) || MTH(D[k:2k]))). */
static void push(arb_merkle_range *r, arb_sha256 *h, const arb_hash *lh, arb_merkle_node_fn fn,
                 void *ud)
{
    uint64_t s = r->size, index = r->size;
    arb_hash cur = *lh;
    int l = 0;

    if (fn != NULL)
        fn(ud, 0, index, &cur);
    while (s & 1) {
        arb_merkle_node_hash(h, &cur, &r->node[l], &cur);
        s >>= 1;
        l++;
        if (fn != NULL)
            fn(ud, (uint64_t)l, index >> l, &cur);
    }
    r->node[l] = cur;
    r->size++;
}

arb_err arb_merkle_range_append(arb_merkle_range *r, arb_sha256 *h, const arb_hash *leaf_hash)
{
    if (r->size == UINT64_MAX)
        return ARB_ERR_INVALID_ARG;
    push(r, h, leaf_hash, NULL, NULL);
    return ARB_OK;
}

arb_err arb_merkle_range_append_visit(arb_merkle_range *r, arb_sha256 *h, const arb_hash *leaf_hash,
                                      arb_merkle_node_fn fn, void *ud)
{
    if (r->size == UINT64_MAX)
        return ARB_ERR_INVALID_ARG;
    push(r, h, leaf_hash, fn, ud);
    return ARB_OK;
}

arb_err arb_merkle_range_append_many(arb_merkle_range *r, arb_sha256 *h, const arb_hash *leaf_hashes,
                                     size_t count)
{
    if ((uint64_t)count > UINT64_MAX - r->size)
        return ARB_ERR_INVALID_ARG;
    for (size_t i = 0; i < count; i++)
        push(r, h, &leaf_hashes[i], NULL, NULL);
    return ARB_OK;
}

arb_err arb_merkle_range_append_leaf(arb_merkle_range *r, arb_sha256 *h, const void *data,
                                     size_t len)
{
    arb_hash lh;

    if (r->size == UINT64_MAX)
        return ARB_ERR_INVALID_ARG;
    arb_merkle_leaf_hash(h, &lh, data, len);
    push(r, h, &lh, NULL, NULL);
    return ARB_OK;
}

void arb_merkle_range_root(const arb_merkle_range *r, arb_sha256 *h, arb_hash *root)
{
    uint64_t s = r->size;
    int l;

    if (s == 0) {
        arb_merkle_empty_root(root);
        return;
    }
    /* The smallest frontier subtree is the rightmost; fold leftwards:
     * root = HASH(big, HASH(..., HASH(next, smallest))). */
    l = __builtin_ctzll(s);
    *root = r->node[l];
    for (l++; l < ARB_MERKLE_MAX_FRONTIER; l++) {
        if (s >> l & 1)
            arb_merkle_node_hash(h, root, &r->node[l], root);
    }
}
