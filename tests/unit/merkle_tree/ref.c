#include "tests/unit/merkle_tree/ref.h"

#include <stdlib.h>
#include <string.h>

void ref_gen_leaf(arb_sha256 *h, uint64_t i, arb_hash *out)
{
    uint8_t le[8];
    for (int k = 0; k < 8; k++)
        le[k] = (uint8_t)(i >> (8 * k));
    arb_merkle_leaf_hash(h, out, le, sizeof le);
}

void ref_leaf(const ref_store *st, uint64_t i, arb_hash *out)
{
    if (st->leaves != NULL)
        *out = st->leaves[i];
    else
        ref_gen_leaf(st->h, i, out);
}

/* Naive: hash 2^level leaves pairwise. */
static void naive_node(const ref_store *st, uint64_t level, uint64_t index, arb_hash *out)
{
    if (level == 0) {
        ref_leaf(st, index, out);
        return;
    }
    arb_hash l, r;
    naive_node(st, level - 1, 2 * index, &l);
    naive_node(st, level - 1, 2 * index + 1, &r);
    arb_merkle_node_hash(st->h, out, &l, &r);
}

int ref_store_build(ref_store *st, arb_sha256 *h, const arb_hash *leaves, uint64_t nleaves,
                    unsigned min_level)
{
    memset(st, 0, sizeof *st);
    st->h = h;
    st->leaves = leaves;
    st->nleaves = nleaves;
    st->min_level = min_level;
    st->limit = nleaves;
    for (unsigned l = min_level; l < 64; l++) {
        uint64_t c = nleaves >> l;
        if (c == 0)
            break;
        st->lvl[l] = malloc(c * sizeof(arb_hash));
        if (st->lvl[l] == NULL)
            return -1;
        st->cnt[l] = c;
        for (uint64_t i = 0; i < c; i++) {
            if (l == min_level)
                naive_node(st, l, i, &st->lvl[l][i]);
            else
                arb_merkle_node_hash(h, &st->lvl[l][i], &st->lvl[l - 1][2 * i],
                                     &st->lvl[l - 1][2 * i + 1]);
        }
    }
    return 0;
}

void ref_store_free(ref_store *st)
{
    for (int l = 0; l < 64; l++)
        free(st->lvl[l]);
    memset(st, 0, sizeof *st);
}

void ref_node(const ref_store *st, uint64_t level, uint64_t index, arb_hash *out)
{
    if (level >= st->min_level && level < 64 && index < st->cnt[level])
        *out = st->lvl[level][index];
    else
        naive_node(st, level, index, out);
}

arb_err ref_get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    ref_store *st = ud;

    st->calls++;
    /* The builders must only ask for perfect subtrees inside the tree. */
    if (level > 63 || index > (st->limit >> level) || ((index + 1) << level) > st->limit) {
        st->bad_request = 1;
        return ARB_ERR_NOT_FOUND;
    }
    ref_node(st, level, index, out);
    return ARB_OK;
}

static uint64_t split_point(uint64_t n) /* largest power of two < n, n >= 2 */
{
    uint64_t k = 1;
    while (k < n - k)
        k <<= 1;
    return k;
}

void ref_mth(ref_store *st, uint64_t start, uint64_t len, arb_hash *out)
{
    if (len == 0) {
        arb_merkle_empty_root(out);
        return;
    }
    if (len == 1) {
        ref_leaf(st, start, out);
        return;
    }
    if (st->ref_memo && (len & (len - 1)) == 0 && start % len == 0) {
        unsigned l = (unsigned)__builtin_ctzll(len);
        if (l >= st->min_level && start / len < st->cnt[l]) {
            *out = st->lvl[l][start / len];
            return;
        }
    }
    uint64_t k = split_point(len);
    arb_hash a, b;
    ref_mth(st, start, k, &a);
    ref_mth(st, start + k, len - k, &b);
    arb_merkle_node_hash(st->h, out, &a, &b);
}

/* PATH(m, D[start : start+n]) */
static void path_rec(ref_store *st, uint64_t m, uint64_t start, uint64_t n, arb_hash *out,
                     size_t *len)
{
    if (n <= 1)
        return;
    uint64_t k = split_point(n);
    if (m < k) {
        path_rec(st, m, start, k, out, len);
        ref_mth(st, start + k, n - k, &out[(*len)++]);
    } else {
        path_rec(st, m - k, start + k, n - k, out, len);
        ref_mth(st, start, k, &out[(*len)++]);
    }
}

void ref_path(ref_store *st, uint64_t m, uint64_t n, arb_hash *out, size_t *len)
{
    *len = 0;
    path_rec(st, m, 0, n, out, len);
}

/* SUBPROOF(m, D[start : start+n], b) */
static void subproof(ref_store *st, uint64_t m, uint64_t start, uint64_t n, int b, arb_hash *out,
                     size_t *len)
{
    if (m == n) {
        if (!b)
            ref_mth(st, start, m, &out[(*len)++]);
        return;
    }
    uint64_t k = split_point(n);
    if (m <= k) {
        subproof(st, m, start, k, b, out, len);
        ref_mth(st, start + k, n - k, &out[(*len)++]);
    } else {
        subproof(st, m - k, start + k, n - k, 0, out, len);
        ref_mth(st, start, k, &out[(*len)++]);
    }
}

void ref_proof(ref_store *st, uint64_t m, uint64_t n, arb_hash *out, size_t *len)
{
    *len = 0;
    if (m == 0 || m > n)
        return;
    subproof(st, m, 0, n, 1, out, len);
}

/* Rebuilds MTH(D[0:n]) from the leaf at m and PATH(m, D[0:n]); 0 if the
 * path has the wrong shape. The last path element is the top sibling. */
static int incl_root(arb_sha256 *h, uint64_t m, uint64_t n, const arb_hash *leaf,
                     const arb_hash *proof, size_t len, arb_hash *out)
{
    if (n == 1) {
        if (len != 0 || m != 0)
            return 0;
        *out = *leaf;
        return 1;
    }
    if (len == 0)
        return 0;
    uint64_t k = split_point(n);
    arb_hash sub;
    if (m < k) {
        if (!incl_root(h, m, k, leaf, proof, len - 1, &sub))
            return 0;
        arb_merkle_node_hash(h, out, &sub, &proof[len - 1]);
    } else {
        if (!incl_root(h, m - k, n - k, leaf, proof, len - 1, &sub))
            return 0;
        arb_merkle_node_hash(h, out, &proof[len - 1], &sub);
    }
    return 1;
}

int ref_verify_inclusion(arb_sha256 *h, uint64_t m, uint64_t n, const arb_hash *leaf,
                         const arb_hash *proof, size_t len, const arb_hash *root)
{
    arb_hash r;
    if (m >= n || !incl_root(h, m, n, leaf, proof, len, &r))
        return 0;
    return memcmp(r.b, root->b, 32) == 0;
}

/* Inverts SUBPROOF(m, D[n], b): recovers (old root, new root). */
static int cons_roots(arb_sha256 *h, uint64_t m, uint64_t n, int b, const arb_hash *known_old,
                      const arb_hash *proof, size_t len, arb_hash *old, arb_hash *nw)
{
    if (m == n) {
        if (b) {
            if (len != 0)
                return 0;
            *old = *nw = *known_old;
        } else {
            if (len != 1)
                return 0;
            *old = *nw = proof[0];
        }
        return 1;
    }
    if (len == 0)
        return 0;
    uint64_t k = split_point(n);
    arb_hash o, w;
    const arb_hash *last = &proof[len - 1];
    if (m <= k) {
        if (!cons_roots(h, m, k, b, known_old, proof, len - 1, &o, &w))
            return 0;
        *old = o;
        arb_merkle_node_hash(h, nw, &w, last);
    } else {
        if (!cons_roots(h, m - k, n - k, 0, known_old, proof, len - 1, &o, &w))
            return 0;
        arb_merkle_node_hash(h, old, last, &o);
        arb_merkle_node_hash(h, nw, last, &w);
    }
    return 1;
}

int ref_verify_consistency(arb_sha256 *h, uint64_t m, uint64_t n, const arb_hash *root_m,
                           const arb_hash *root_n, const arb_hash *proof, size_t len)
{
    arb_hash o, w;
    if (m == 0 || m > n)
        return 0;
    if (!cons_roots(h, m, n, 1, root_m, proof, len, &o, &w))
        return 0;
    return memcmp(o.b, root_m->b, 32) == 0 && memcmp(w.b, root_n->b, 32) == 0;
}
