/* The log's Merkle tree over stored nodes. See tree_internal.h. */
#include "ledger/log/tree_internal.h"

#include "merkle/proof.h"

#include <stdlib.h>
#include <string.h>

void log_node_key(uint8_t out[LOG_NODE_KEY_SIZE], unsigned level, uint64_t index)
{
    int i;

    out[0] = (uint8_t)level;
    for (i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(index >> (56 - 8 * i));
}

arb_err log_range_load(arb_merkle_range *r, uint64_t size, log_node_get_fn get, void *ud)
{
    uint64_t levels[ARB_MERKLE_MAX_FRONTIER], indices[ARB_MERKLE_MAX_FRONTIER];
    arb_hash hashes[ARB_MERKLE_MAX_FRONTIER];
    size_t n = arb_merkle_frontier_coords(size, levels, indices);
    arb_err err;

    arb_merkle_range_init(r);
    for (size_t i = 0; i < n; i++)
        if ((err = get(ud, (unsigned)levels[i], indices[i], &hashes[i])) != ARB_OK)
            return err;
    return arb_merkle_range_from_frontier(r, size, hashes, n);
}

/* Proofs come from the hashing core (merkle/proof.h) over the stored nodes. */
typedef struct {
    log_node_get_fn get;
    void *ud;
} adapter;

static arb_err adapt(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    adapter *a = ud;

    if (level > 255)
        return ARB_ERR_INVALID_ARG;
    return a->get(a->ud, (unsigned)level, index, out);
}

arb_err log_tree_root(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t n, arb_hash *out)
{
    adapter a = {get, ud};
    arb_merkle_source src = {adapt, &a};

    return arb_merkle_source_root(sha, &src, n, out);
}

/* Copies a fixed-size proof into a malloc'd array (never NULL on success). */
static arb_err copy_out(const arb_hash *proof, size_t n, arb_hash **out, size_t *len)
{
    if ((*out = malloc((n + 1) * sizeof(arb_hash))) == NULL)
        return ARB_ERR_NOMEM;
    memcpy(*out, proof, n * sizeof(arb_hash));
    *len = n;
    return ARB_OK;
}

arb_err log_inclusion_proof(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t m, uint64_t n,
                            arb_hash **out, size_t *len)
{
    adapter a = {get, ud};
    arb_merkle_source src = {adapt, &a};
    arb_hash proof[ARB_MERKLE_MAX_PROOF];
    size_t pl = 0;
    arb_err err;

    *out = NULL;
    *len = 0;
    if (m >= n)
        return ARB_ERR_INVALID_ARG;
    if ((err = arb_merkle_inclusion_build(sha, &src, m, n, proof, &pl)) != ARB_OK)
        return err;
    return copy_out(proof, pl, out, len);
}

arb_err log_consistency_proof(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t m,
                              uint64_t n, arb_hash **out, size_t *len)
{
    adapter a = {get, ud};
    arb_merkle_source src = {adapt, &a};
    arb_hash proof[ARB_MERKLE_MAX_PROOF];
    size_t pl = 0;
    arb_err err;

    *out = NULL;
    *len = 0;
    if (m > n)
        return ARB_ERR_INVALID_ARG;
    if (m == 0 || m == n) /* nothing to prove (RFC 9162 2.1.4) */
        return copy_out(proof, 0, out, len);
    if ((err = arb_merkle_consistency_build(sha, &src, m, n, proof, &pl)) != ARB_OK)
        return err;
    return copy_out(proof, pl, out, len);
}
