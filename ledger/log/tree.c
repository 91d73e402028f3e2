/* The log's Merkle tree over stored nodes. See tree_internal.h. */
#include "ledger/log/tree_internal.h"

#include <stdlib.h>
#include <string.h>

void log_node_key(uint8_t out[LOG_NODE_KEY_SIZE], unsigned level, uint64_t index)
{
    int i;

    out[0] = (uint8_t)level;
    for (i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(index >> (56 - 8 * i));
}

arb_err log_range_load(log_range *r, uint64_t size, log_node_get_fn get, void *ud)
{
    uint64_t offset = 0;
    int level;
    arb_err err;

    memset(r, 0, sizeof(*r));
    for (level = 63; level >= 0; level--) {
        if (!(size >> level & 1))
            continue;
        if ((err = get(ud, (unsigned)level, offset >> level, &r->hashes[r->n])) != ARB_OK) {
            memset(r, 0, sizeof(*r));
            return err;
        }
        r->levels[r->n++] = (unsigned)level;
        offset += (uint64_t)1 << level;
    }
    r->size = size;
    return ARB_OK;
}

void log_range_append(log_range *r, arb_sha256 *sha, const arb_hash *h, log_node_emit_fn emit,
                      void *ud)
{
    uint64_t index = r->size;

    r->hashes[r->n] = *h;
    r->levels[r->n] = 0;
    r->n++;
    if (emit != NULL)
        emit(ud, 0, index, h);
    while (r->n >= 2 && r->levels[r->n - 2] == r->levels[r->n - 1]) {
        arb_hash parent;
        unsigned level = r->levels[r->n - 1] + 1;
        arb_merkle_node_hash(sha, &parent, &r->hashes[r->n - 2], &r->hashes[r->n - 1]);
        r->n--;
        r->hashes[r->n - 1] = parent;
        r->levels[r->n - 1] = level;
        if (emit != NULL)
            emit(ud, level, index >> level, &parent);
    }
    r->size++;
}

void log_range_root(const log_range *r, arb_sha256 *sha, arb_hash *out)
{
    size_t i;

    if (r->n == 0) {
        arb_merkle_empty_root(out);
        return;
    }
    *out = r->hashes[r->n - 1];
    for (i = r->n - 1; i-- > 0;)
        arb_merkle_node_hash(sha, out, &r->hashes[i], out);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;

    while (k << 1 < n)
        k <<= 1;
    return k;
}

static int is_pow2(uint64_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

static unsigned log2u(uint64_t n)
{
    unsigned l = 0;

    while ((n >>= 1) != 0)
        l++;
    return l;
}

arb_err log_subtree_hash(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t start, uint64_t n,
                         arb_hash *out)
{
    arb_hash l, r;
    uint64_t k;
    arb_err err;

    if (n == 0)
        return ARB_ERR_INVALID_ARG;
    if (is_pow2(n) && start % n == 0)
        return get(ud, log2u(n), start / n, out);
    k = split_point(n);
    if ((err = log_subtree_hash(sha, get, ud, start, k, &l)) != ARB_OK ||
        (err = log_subtree_hash(sha, get, ud, start + k, n - k, &r)) != ARB_OK)
        return err;
    arb_merkle_node_hash(sha, out, &l, &r);
    return ARB_OK;
}

typedef struct {
    arb_hash *v;
    size_t n;
} hash_list;

static arb_err push(hash_list *p, const arb_hash *h)
{
    arb_hash *v = realloc(p->v, (p->n + 1) * sizeof(*v));

    if (v == NULL)
        return ARB_ERR_NOMEM;
    v[p->n++] = *h;
    p->v = v;
    return ARB_OK;
}

/* RFC 6962 2.1.1: PATH(m, D[start:start+n]). */
static arb_err path(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t m, uint64_t start,
                    uint64_t n, hash_list *out)
{
    uint64_t k;
    arb_hash h;
    arb_err err;

    if (n <= 1)
        return ARB_OK;
    k = split_point(n);
    if (m < k) {
        if ((err = path(sha, get, ud, m, start, k, out)) != ARB_OK ||
            (err = log_subtree_hash(sha, get, ud, start + k, n - k, &h)) != ARB_OK)
            return err;
    } else {
        if ((err = path(sha, get, ud, m - k, start + k, n - k, out)) != ARB_OK ||
            (err = log_subtree_hash(sha, get, ud, start, k, &h)) != ARB_OK)
            return err;
    }
    return push(out, &h);
}

/* RFC 6962 2.1.2: SUBPROOF(m, D[start:start+n], b). */
static arb_err subproof(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t m, uint64_t start,
                        uint64_t n, int b, hash_list *out)
{
    uint64_t k;
    arb_hash h;
    arb_err err;

    if (m == n) {
        if (b)
            return ARB_OK;
        if ((err = log_subtree_hash(sha, get, ud, start, n, &h)) != ARB_OK)
            return err;
        return push(out, &h);
    }
    k = split_point(n);
    if (m <= k) {
        if ((err = subproof(sha, get, ud, m, start, k, b, out)) != ARB_OK ||
            (err = log_subtree_hash(sha, get, ud, start + k, n - k, &h)) != ARB_OK)
            return err;
    } else {
        if ((err = subproof(sha, get, ud, m - k, start + k, n - k, 0, out)) != ARB_OK ||
            (err = log_subtree_hash(sha, get, ud, start, k, &h)) != ARB_OK)
            return err;
    }
    return push(out, &h);
}

arb_err log_inclusion_proof(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t m, uint64_t n,
                            arb_hash **out, size_t *len)
{
    hash_list p = {NULL, 0};
    arb_err err;

    *out = NULL;
    *len = 0;
    if (m >= n)
        return ARB_ERR_INVALID_ARG;
    if ((err = path(sha, get, ud, m, 0, n, &p)) != ARB_OK) {
        free(p.v);
        return err;
    }
    *out = p.v;
    *len = p.n;
    return ARB_OK;
}

arb_err log_consistency_proof(arb_sha256 *sha, log_node_get_fn get, void *ud, uint64_t m,
                              uint64_t n, arb_hash **out, size_t *len)
{
    hash_list p = {NULL, 0};
    arb_err err;

    *out = NULL;
    *len = 0;
    if (m > n)
        return ARB_ERR_INVALID_ARG;
    if (m == 0 || m == n)
        return ARB_OK;
    if ((err = subproof(sha, get, ud, m, 0, n, 1, &p)) != ARB_OK) {
        free(p.v);
        return err;
    }
    *out = p.v;
    *len = p.n;
    return ARB_OK;
}
