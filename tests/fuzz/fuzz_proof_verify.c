/* Fuzzes the proof verifiers with arbitrary sizes, indices, hashes and proofs.
 * Invariants: the fast verifiers (RFC 9162 2.1.3.2 / 2.1.4.2) agree with the
 * reference verifiers that invert the RFC 6962 PATH / SUBPROOF recursion;
 * accepted proofs have the expected length; errors are only INVALID_ARG or
 * VERIFY. Mode 2 builds a real proof in a small tree, checks it verifies,
 * then flips one input-chosen bit and checks it no longer does.
 *
 * Input: mode byte, then fields as the mode reads them (missing bytes are 0). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/proof.h"
#include "tests/unit/merkle_tree/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *p;
    size_t n;
} rd;

static uint8_t get8(rd *r)
{
    uint8_t v = 0;
    if (r->n > 0) {
        v = *r->p++;
        r->n--;
    }
    return v;
}

static uint64_t get64(rd *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | get8(r);
    return v;
}

static void gethash(rd *r, arb_hash *h)
{
    for (int i = 0; i < 32; i++)
        h->b[i] = get8(r);
}

static void check(int ok)
{
    if (!ok)
        abort();
}

static arb_sha256 *engine(void)
{
    static arb_sha256 *h; /* fuzz harness only: one engine for the process */
    if (h == NULL && arb_sha256_new(&h) != ARB_OK)
        abort();
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_sha256 *h = engine();
    rd r = {data, size};
    uint8_t mode = get8(&r);
    arb_hash a, b, leaf, got, proof[ARB_MERKLE_MAX_PROOF + 8];
    size_t pn;
    arb_err e, e2;

    if ((mode & 3) == 0 || (mode & 3) == 1) {
        uint64_t x = get64(&r), y = get64(&r);
        if (mode & 0x80) { /* small trees reach real structure more often */
            x %= 70;
            y %= 70;
        }
        gethash(&r, &a);
        gethash(&r, &b);
        for (pn = 0; pn < ARB_MERKLE_MAX_PROOF + 8 && r.n > 0; pn++)
            gethash(&r, &proof[pn]);
        if ((mode & 3) == 0) {
            leaf = b;
            e = arb_merkle_inclusion_verify(h, x, y, &leaf, proof, pn, &a, NULL);
            e2 = arb_merkle_inclusion_root(h, x, y, &leaf, proof, pn, &got, NULL);
            check(e == ARB_OK || e == ARB_ERR_VERIFY || e == ARB_ERR_INVALID_ARG);
            check((e == ARB_OK) == (e2 == ARB_OK && arb_hash_eq(&got, &a)));
            check(e != ARB_OK || pn == arb_merkle_inclusion_len(x, y));
            check((e == ARB_OK) == ref_verify_inclusion(h, x, y, &leaf, proof, pn, &a));
        } else {
            e = arb_merkle_consistency_verify(h, x, y, &a, &b, proof, pn, NULL);
            check(e == ARB_OK || e == ARB_ERR_VERIFY || e == ARB_ERR_INVALID_ARG);
            check(e != ARB_OK || pn == arb_merkle_consistency_len(x, y));
            check((e == ARB_OK) == ref_verify_consistency(h, x, y, &a, &b, proof, pn));
        }
        return 0;
    }

    /* Mode 2/3: a real proof in a tree of 1..256 generated leaves. */
    ref_store st;
    uint64_t n = 1 + get8(&r), m = get8(&r) % n;
    size_t flip = (size_t)get8(&r) << 8 | get8(&r);
    arb_merkle_source src = {ref_get_node, &st};
    if (ref_store_build(&st, h, NULL, n, 0) != 0)
        abort();
    if ((mode & 3) == 2) {
        ref_gen_leaf(h, m, &leaf);
        check(arb_merkle_inclusion_build(h, &src, m, n, proof, &pn) == ARB_OK);
        check(arb_merkle_source_root(h, &src, n, &a) == ARB_OK);
        check(arb_merkle_inclusion_verify(h, m, n, &leaf, proof, pn, &a, NULL) == ARB_OK);
        /* Flip one bit of proof || leaf || root. */
        size_t bits = (pn + 2) * 256;
        flip %= bits;
        uint8_t *target = flip / 256 < pn ? proof[flip / 256].b
                          : flip / 256 == pn ? leaf.b
                                             : a.b;
        target[flip % 256 / 8] ^= (uint8_t)(1u << (flip % 8));
        check(arb_merkle_inclusion_verify(h, m, n, &leaf, proof, pn, &a, NULL) == ARB_ERR_VERIFY);
    } else {
        m += 1; /* 1..n */
        check(arb_merkle_consistency_build(h, &src, m, n, proof, &pn) == ARB_OK);
        check(arb_merkle_source_root(h, &src, m, &a) == ARB_OK);
        check(arb_merkle_source_root(h, &src, n, &b) == ARB_OK);
        check(arb_merkle_consistency_verify(h, m, n, &a, &b, proof, pn, NULL) == ARB_OK);
        size_t bits = (pn + 2) * 256;
        flip %= bits;
        uint8_t *target = flip / 256 < pn ? proof[flip / 256].b
                          : flip / 256 == pn ? a.b
                                             : b.b;
        target[flip % 256 / 8] ^= (uint8_t)(1u << (flip % 8));
        check(arb_merkle_consistency_verify(h, m, n, &a, &b, proof, pn, NULL) == ARB_ERR_VERIFY);
    }
    ref_store_free(&st);
    return 0;
}
