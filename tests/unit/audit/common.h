/* Helpers shared by the auditor tests: a log key made in the test and tree
 * heads signed with it. */
#ifndef ARB_TESTS_UNIT_AUDIT_COMMON_H
#define ARB_TESTS_UNIT_AUDIT_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/loglist.h"
#include "auditor/sth.h"
#include "ledger/log/key.h"

/* A fresh log: signer plus its arb_audit_log description (url given). */
static inline int tlog_new(arb_ct_signer **s, arb_audit_log *lg, const char *url)
{
    uint8_t *der = NULL;
    size_t len = 0;
    arb_errbuf eb;
    int ok = arb_ct_signer_generate(s, &eb) == ARB_OK && arb_ct_signer_spki(*s, &der, &len) == ARB_OK &&
             arb_audit_log_from_key(lg, url, 0, der, len, 60, &eb) == ARB_OK;
    free(der);
    return ok;
}

/* Signs a tree head (root filled with byte `fill`) into *out. */
static inline int tlog_sth(arb_audit_sth *out, const arb_ct_signer *s, uint64_t size, uint64_t ts,
                           const arb_hash *root)
{
    uint8_t sigbuf[ARB_CT_SIG_MAX];
    arb_ct_dsig d;
    arb_buf b = ARB_BUF_INIT;
    int ok;

    memset(out, 0, sizeof *out);
    out->tree_size = size;
    out->timestamp = ts;
    out->root = *root;
    ok = arb_ct_sth_sign(s, &d, sigbuf, ts, size, root->b) == ARB_OK &&
         arb_ct_dsig_encode(&b, &d) == ARB_OK && b.len <= sizeof out->sig;
    if (ok) {
        memcpy(out->sig, b.data, b.len);
        out->sig_len = b.len;
    }
    arb_buf_free(&b);
    return ok;
}

static inline arb_hash thash(uint8_t fill)
{
    arb_hash h;
    memset(h.b, fill, 32);
    return h;
}

/* Real roots and consistency proofs over a list of leaf hashes, made by the
 * Merkle library's compact ranges and proof builder (the auditor only
 * verifies). */
#include "merkle/proof.h"
#include "merkle/range.h"

typedef struct {
    const arb_hash *leaves;
    uint64_t n;
    arb_sha256 *h;
} tleaves;

static inline arb_err tleaves_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    tleaves *t = ud;
    arb_merkle_range r;
    uint64_t start = index << level, cnt = (uint64_t)1 << level;
    arb_merkle_range_init(&r);
    if (start + cnt > t->n ||
        arb_merkle_range_append_many(&r, t->h, t->leaves + start, (size_t)cnt) != ARB_OK)
        return ARB_ERR_INVALID_ARG;
    arb_merkle_range_root(&r, t->h, out);
    return ARB_OK;
}

/* Leaf hashes of "leaf 0", "leaf 1", ... (salt changes the data). */
static inline void tree_leaves(arb_hash *out, size_t n, int salt)
{
    arb_sha256 *h = NULL;
    if (arb_sha256_new(&h) != ARB_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        char d[64];
        int l = snprintf(d, sizeof d, "leaf %zu salt %d", i, salt);
        arb_merkle_leaf_hash(h, &out[i], d, (size_t)l);
    }
    arb_sha256_free(h);
}

static inline void tree_root(const arb_hash *leaves, uint64_t n, arb_hash *root)
{
    arb_sha256 *h = NULL;
    arb_merkle_range r;
    arb_merkle_range_init(&r);
    if (arb_sha256_new(&h) != ARB_OK)
        return;
    if (arb_merkle_range_append_many(&r, h, leaves, (size_t)n) == ARB_OK)
        arb_merkle_range_root(&r, h, root);
    arb_sha256_free(h);
}

static inline int tree_consistency(const arb_hash *leaves, uint64_t m, uint64_t n,
                                   arb_hash proof[static ARB_MERKLE_MAX_PROOF], size_t *len)
{
    tleaves t = {leaves, n, NULL};
    arb_merkle_source src = {tleaves_node, &t};
    int ok;
    if (arb_sha256_new(&t.h) != ARB_OK)
        return 0;
    ok = arb_merkle_consistency_build(t.h, &src, m, n, proof, len) == ARB_OK;
    arb_sha256_free(t.h);
    return ok;
}
#endif
