/* Compact ranges and proofs against the naive RFC 6962 2.1 reference in ref.c:
 * every root for sizes 0..1000, every inclusion proof up to size 300, every
 * consistency proof up to size 200, seeded random proofs in trees of up to
 * 10^7 leaves, tampering and malformed input. */
#include <stdlib.h>
#include <string.h>

#include "merkle/proof.h"
#include "merkle/range.h"
#include "tests/test.h"
#include "tests/unit/merkle_tree/ref.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARB_SANITIZED 1
#endif
#endif
#ifndef ARB_SANITIZED
#define ARB_SANITIZED 0
#endif

static arb_sha256 *H;
/* Leaves: leaf hashes of distinct strings, 1000 of them. */
#define NLEAVES 1000
static arb_hash LEAVES[NLEAVES];
static ref_store ST; /* every level stored, for the node source */

static arb_merkle_source source(ref_store *st, uint64_t limit)
{
    arb_merkle_source s = {ref_get_node, st};
    st->limit = limit;
    st->bad_request = 0;
    return s;
}

static int heq(const arb_hash *a, const arb_hash *b)
{
    return memcmp(a->b, b->b, 32) == 0;
}

static void test_range_roots(void)
{
    arb_merkle_range r, r2, r3;
    ref_store plain = ST;
    arb_hash want, got, fr[ARB_MERKLE_MAX_FRONTIER];
    uint64_t lv[ARB_MERKLE_MAX_FRONTIER], ix[ARB_MERKLE_MAX_FRONTIER];

    plain.ref_memo = 0; /* pure recursion over the leaves */
    arb_merkle_range_init(&r);
    arb_merkle_range_init(&r3);
    for (uint64_t s = 0; s <= NLEAVES; s++) {
        ref_mth(&plain, 0, s, &want);
        arb_merkle_range_root(&r, H, &got);
        CHECK(heq(&want, &got));
        CHECK_EQ(r.size, s);
        /* Root from the node source. */
        arb_merkle_source src = source(&ST, s);
        CHECK(arb_merkle_source_root(H, &src, s, &got) == ARB_OK);
        CHECK(heq(&want, &got));
        CHECK(!ST.bad_request);
        /* The frontier restores the same range, at the stored coordinates. */
        size_t n = arb_merkle_range_frontier(&r, fr);
        CHECK_EQ(n, __builtin_popcountll(s));
        CHECK_EQ(arb_merkle_frontier_coords(s, lv, ix), n);
        for (size_t i = 0; i < n; i++) {
            ref_node(&ST, lv[i], ix[i], &got);
            CHECK(heq(&got, &fr[i]));
        }
        CHECK(arb_merkle_range_from_frontier(&r2, s, fr, n) == ARB_OK);
        arb_merkle_range_root(&r2, H, &got);
        CHECK(heq(&want, &got));
        CHECK(arb_merkle_range_from_frontier(&r2, s, fr, n + 1) == ARB_ERR_INVALID_ARG);
        CHECK_EQ(r2.size, 0);
        if (s < NLEAVES) {
            CHECK(arb_merkle_range_append(&r, H, &LEAVES[s]) == ARB_OK);
        }
    }
    /* Random batches give the same ranges as single appends, and a range
     * resumed from a frontier keeps growing correctly. */
    while (r3.size < NLEAVES) {
        uint64_t k = arb_test_rand_below(40);
        if (k > NLEAVES - r3.size)
            k = NLEAVES - r3.size;
        CHECK(arb_merkle_range_append_many(&r3, H, &LEAVES[r3.size], k) == ARB_OK);
        size_t n = arb_merkle_range_frontier(&r3, fr);
        CHECK(arb_merkle_range_from_frontier(&r3, r3.size, fr, n) == ARB_OK);
        ref_mth(&plain, 0, r3.size, &want);
        arb_merkle_range_root(&r3, H, &got);
        CHECK(heq(&want, &got));
    }
    /* append_leaf hashes the data as RFC 6962 does. */
    arb_merkle_range_init(&r2);
    CHECK(arb_merkle_range_append_leaf(&r2, H, "abc", 3) == ARB_OK);
    arb_merkle_leaf_hash(H, &want, "abc", 3);
    arb_merkle_range_root(&r2, H, &got);
    CHECK(heq(&want, &got));
    /* Overflow of the size is refused and leaves the range unchanged. */
    r2.size = UINT64_MAX;
    CHECK(arb_merkle_range_append(&r2, H, &LEAVES[0]) == ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_range_append_leaf(&r2, H, "", 0) == ARB_ERR_INVALID_ARG);
    r2.size = UINT64_MAX - 1;
    CHECK(arb_merkle_range_append_many(&r2, H, LEAVES, 2) == ARB_ERR_INVALID_ARG);
    CHECK(r2.size == UINT64_MAX - 1);
}

/* append_visit reports every node exactly when it completes: the leaf, then
 * each parent, lowest level first, with the reference hash at its
 * coordinates; over all appends, each node of the tree exactly once. */
typedef struct {
    uint64_t calls, bad, leaf; /* leaf: index of the leaf being appended */
    uint64_t seen[12];         /* nodes seen per level */
    uint64_t last_level;
} visit_state;

static void on_node(void *ud, uint64_t level, uint64_t index, const arb_hash *h)
{
    visit_state *v = ud;
    arb_hash want;

    ref_node(&ST, level, index, &want);
    if (!heq(&want, h) || index != v->leaf >> level ||
        (v->calls > 0 && level != v->last_level + 1) || (v->calls == 0 && level != 0) ||
        level >= 12 || index != v->seen[level])
        v->bad++;
    else
        v->seen[level]++;
    v->last_level = level;
    v->calls++;
}

static void test_range_visit(void)
{
    arb_merkle_range r, plain;
    visit_state v;
    arb_hash a, b;

    memset(&v, 0, sizeof v);
    arb_merkle_range_init(&r);
    arb_merkle_range_init(&plain);
    for (uint64_t i = 0; i < NLEAVES; i++) {
        v.calls = 0;
        v.leaf = i;
        CHECK(arb_merkle_range_append_visit(&r, H, &LEAVES[i], on_node, &v) == ARB_OK);
        /* One call for the leaf plus one per trailing set bit of i. */
        CHECK_EQ(v.calls, 1 + (uint64_t)__builtin_ctzll(~i));
        CHECK(arb_merkle_range_append(&plain, H, &LEAVES[i]) == ARB_OK);
    }
    CHECK_EQ(v.bad, 0);
    for (int l = 0; l < 10; l++)
        CHECK_EQ(v.seen[l], (uint64_t)NLEAVES >> l);
    arb_merkle_range_root(&r, H, &a);
    arb_merkle_range_root(&plain, H, &b);
    CHECK(heq(&a, &b));
    CHECK(arb_merkle_range_append_visit(&r, H, &LEAVES[0], NULL, NULL) == ARB_OK);
    r.size = UINT64_MAX;
    CHECK(arb_merkle_range_append_visit(&r, H, &LEAVES[0], on_node, &v) == ARB_ERR_INVALID_ARG);
}

static void test_inclusion_exhaustive(void)
{
    ref_store plain = ST;
    arb_hash want[ARB_MERKLE_MAX_PROOF], got[ARB_MERKLE_MAX_PROOF], root, r2;
    size_t wn, gn;
    uint64_t maxn = ARB_SANITIZED ? 120 : 300;

    plain.ref_memo = 0;
    for (uint64_t n = 1; n <= maxn; n++) {
        ref_mth(&plain, 0, n, &root);
        for (uint64_t m = 0; m < n; m++) {
            arb_merkle_source src = source(&ST, n);
            ref_path(&plain, m, n, want, &wn);
            CHECK(arb_merkle_inclusion_build(H, &src, m, n, got, &gn) == ARB_OK);
            CHECK(!ST.bad_request);
            CHECK_EQ(gn, wn);
            CHECK_EQ(arb_merkle_inclusion_len(m, n), wn);
            CHECK(memcmp(got, want, wn * sizeof(arb_hash)) == 0);
            CHECK(arb_merkle_inclusion_verify(H, m, n, &LEAVES[m], got, gn, &root, NULL) ==
                  ARB_OK);
            CHECK(arb_merkle_inclusion_root(H, m, n, &LEAVES[m], got, gn, &r2, NULL) == ARB_OK);
            CHECK(heq(&r2, &root));
            CHECK(ref_verify_inclusion(H, m, n, &LEAVES[m], got, gn, &root));
        }
    }
}

static void test_consistency_exhaustive(void)
{
    ref_store plain = ST;
    static arb_hash roots[NLEAVES + 1];
    arb_hash want[ARB_MERKLE_MAX_PROOF], got[ARB_MERKLE_MAX_PROOF];
    size_t wn, gn;
    uint64_t maxn = ARB_SANITIZED ? 90 : 200;

    plain.ref_memo = 0;
    for (uint64_t n = 0; n <= maxn; n++)
        ref_mth(&plain, 0, n, &roots[n]);
    for (uint64_t n = 1; n <= maxn; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            arb_merkle_source src = source(&ST, n);
            ref_proof(&plain, m, n, want, &wn);
            CHECK(arb_merkle_consistency_build(H, &src, m, n, got, &gn) == ARB_OK);
            CHECK(!ST.bad_request);
            CHECK_EQ(gn, wn);
            CHECK_EQ(arb_merkle_consistency_len(m, n), wn);
            CHECK(memcmp(got, want, wn * sizeof(arb_hash)) == 0);
            CHECK(arb_merkle_consistency_verify(H, m, n, &roots[m], &roots[n], got, gn, NULL) ==
                  ARB_OK);
            CHECK(ref_verify_consistency(H, m, n, &roots[m], &roots[n], got, gn));
        }
    }
}

static void flip(arb_hash *x, size_t byte, unsigned bit)
{
    x->b[byte] ^= (uint8_t)(1u << bit);
}

/* Flipping any byte of the proof, the leaf or the root makes verification
 * fail; other indices fail; other sizes are judged as the reference judges. */
static void test_inclusion_tamper(void)
{
    arb_hash proof[ARB_MERKLE_MAX_PROOF + 2], root, leaf;
    size_t pn;
    arb_errbuf eb;
    uint64_t maxn = ARB_SANITIZED ? 24 : 40;

    for (uint64_t n = 1; n <= maxn; n++) {
        arb_merkle_source src = source(&ST, n);
        CHECK(arb_merkle_source_root(H, &src, n, &root) == ARB_OK);
        for (uint64_t m = 0; m < n; m++) {
            CHECK(arb_merkle_inclusion_build(H, &src, m, n, proof, &pn) == ARB_OK);
            leaf = LEAVES[m];
            for (size_t i = 0; i < pn; i++) {
                for (size_t b = 0; b < 32; b++) {
                    unsigned bit = (unsigned)arb_test_rand_below(8);
                    flip(&proof[i], b, bit);
                    CHECK(arb_merkle_inclusion_verify(H, m, n, &leaf, proof, pn, &root, &eb) ==
                          ARB_ERR_VERIFY);
                    flip(&proof[i], b, bit);
                }
            }
            for (size_t b = 0; b < 32; b++) {
                flip(&root, b, 0);
                CHECK(arb_merkle_inclusion_verify(H, m, n, &leaf, proof, pn, &root, &eb) ==
                      ARB_ERR_VERIFY);
                flip(&root, b, 0);
                flip(&leaf, b, 7);
                CHECK(arb_merkle_inclusion_verify(H, m, n, &leaf, proof, pn, &root, &eb) ==
                      ARB_ERR_VERIFY);
                flip(&leaf, b, 7);
            }
            CHECK(arb_merkle_inclusion_verify(H, m, n, &leaf, proof, pn, &root, &eb) == ARB_OK);
            for (uint64_t m2 = 0; m2 < n; m2++) {
                if (m2 != m)
                    CHECK(arb_merkle_inclusion_verify(H, m2, n, &leaf, proof, pn, &root, &eb) !=
                          ARB_OK);
            }
            uint64_t sizes[] = {n - 1, n + 1, n + 2, n * 2, n / 2, n + 7, UINT64_MAX};
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                arb_err e = arb_merkle_inclusion_verify(H, m, sizes[k], &leaf, proof, pn, &root,
                                                        &eb);
                int want = sizes[k] == n ||
                           ref_verify_inclusion(H, m, sizes[k], &leaf, proof, pn, &root);
                CHECK((e == ARB_OK) == want);
            }
            /* Truncated, extended, duplicated element. */
            if (pn > 0) {
                CHECK(arb_merkle_inclusion_verify(H, m, n, &leaf, proof, pn - 1, &root, &eb) ==
                      ARB_ERR_VERIFY);
                CHECK(arb_merkle_inclusion_verify(H, m, n, &leaf, proof + 1, pn - 1, &root,
                                                  &eb) == ARB_ERR_VERIFY);
            }
            proof[pn] = root;
            CHECK(arb_merkle_inclusion_verify(H, m, n, &leaf, proof, pn + 1, &root, &eb) ==
                  ARB_ERR_VERIFY);
        }
    }
}

static void test_consistency_tamper(void)
{
    static arb_hash roots[64];
    arb_hash proof[ARB_MERKLE_MAX_PROOF + 2], r1, r2;
    size_t pn;
    arb_errbuf eb;
    uint64_t maxn = ARB_SANITIZED ? 24 : 40;

    for (uint64_t n = 1; n <= maxn; n++) {
        arb_merkle_source src = source(&ST, n);
        CHECK(arb_merkle_source_root(H, &src, n, &roots[n]) == ARB_OK);
    }
    for (uint64_t n = 1; n <= maxn; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            arb_merkle_source src = source(&ST, n);
            CHECK(arb_merkle_consistency_build(H, &src, m, n, proof, &pn) == ARB_OK);
            r1 = roots[m];
            r2 = roots[n];
            CHECK(arb_merkle_consistency_verify(H, m, n, &r1, &r2, proof, pn, &eb) == ARB_OK);
            for (size_t i = 0; i < pn; i++) {
                for (size_t b = 0; b < 32; b++) {
                    unsigned bit = (unsigned)arb_test_rand_below(8);
                    flip(&proof[i], b, bit);
                    CHECK(arb_merkle_consistency_verify(H, m, n, &r1, &r2, proof, pn, &eb) ==
                          ARB_ERR_VERIFY);
                    flip(&proof[i], b, bit);
                }
            }
            for (size_t b = 0; b < 32; b++) {
                flip(&r1, b, 3);
                CHECK(arb_merkle_consistency_verify(H, m, n, &r1, &r2, proof, pn, &eb) ==
                      ARB_ERR_VERIFY);
                flip(&r1, b, 3);
                flip(&r2, b, 5);
                CHECK(arb_merkle_consistency_verify(H, m, n, &r1, &r2, proof, pn, &eb) ==
                      ARB_ERR_VERIFY);
                flip(&r2, b, 5);
            }
            /* Other sizes: accepted exactly when the reference accepts. */
            uint64_t alt[][2] = {{m - 1, n}, {m + 1, n}, {m, n - 1}, {m, n + 1},
                                 {m, 2 * n}, {m / 2, n}, {m + 1, n + 1}, {0, n}};
            for (size_t k = 0; k < sizeof alt / sizeof alt[0]; k++) {
                arb_err e = arb_merkle_consistency_verify(H, alt[k][0], alt[k][1], &r1, &r2, proof,
                                                          pn, &eb);
                int want = ref_verify_consistency(H, alt[k][0], alt[k][1], &r1, &r2, proof, pn);
                CHECK((e == ARB_OK) == want);
            }
            if (pn > 0) {
                CHECK(arb_merkle_consistency_verify(H, m, n, &r1, &r2, proof, pn - 1, &eb) ==
                      ARB_ERR_VERIFY);
                CHECK(arb_merkle_consistency_verify(H, m, n, &r1, &r2, proof + 1, pn - 1, &eb) ==
                      ARB_ERR_VERIFY);
            }
            proof[pn] = r1;
            CHECK(arb_merkle_consistency_verify(H, m, n, &r1, &r2, proof, pn + 1, &eb) ==
                  ARB_ERR_VERIFY);
            if (m != n) /* swapped roots */
                CHECK(arb_merkle_consistency_verify(H, m, n, &r2, &r1, proof, pn, &eb) ==
                      ARB_ERR_VERIFY);
        }
    }
}

static arb_err failing_source(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    (void)ud;
    (void)level;
    (void)index;
    memset(out, 0xee, sizeof *out);
    return ARB_ERR_DB;
}

static void test_malformed(void)
{
    arb_hash proof[ARB_MERKLE_MAX_PROOF + 1], root, x;
    size_t pn = 99;
    arb_errbuf eb;
    arb_merkle_source src = source(&ST, 10);
    arb_merkle_source bad = {failing_source, NULL};

    memset(proof, 0x11, sizeof proof);
    memset(&root, 0x22, sizeof root);
    /* Builders. */
    CHECK(arb_merkle_inclusion_build(H, &src, 10, 10, proof, &pn) == ARB_ERR_INVALID_ARG);
    CHECK_EQ(pn, 0);
    CHECK(arb_merkle_inclusion_build(H, &src, 0, 0, proof, &pn) == ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_consistency_build(H, &src, 0, 5, proof, &pn) == ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_consistency_build(H, &src, 6, 5, proof, &pn) == ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_consistency_build(H, &src, 5, 5, proof, &pn) == ARB_OK);
    CHECK_EQ(pn, 0);
    pn = 99;
    CHECK(arb_merkle_inclusion_build(H, &bad, 3, 10, proof, &pn) == ARB_ERR_DB);
    CHECK_EQ(pn, 0);
    CHECK(arb_merkle_consistency_build(H, &bad, 3, 10, proof, &pn) == ARB_ERR_DB);
    CHECK_EQ(pn, 0);
    CHECK(arb_merkle_source_root(H, &bad, 10, &x) == ARB_ERR_DB);
    CHECK(x.b[0] == 0 && x.b[31] == 0);
    CHECK(arb_merkle_source_subtree(H, &src, 3, 2, 10, &x) == ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_source_subtree(H, &src, 64, 0, 10, &x) == ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_source_subtree(H, &src, 3, UINT64_MAX, 10, &x) == ARB_ERR_INVALID_ARG);
    /* Verifiers: sizes and indices out of range. */
    CHECK(arb_merkle_inclusion_verify(H, 0, 0, &LEAVES[0], proof, 0, &root, &eb) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_inclusion_verify(H, 5, 5, &LEAVES[0], proof, 3, &root, &eb) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_inclusion_verify(H, UINT64_MAX, 5, &LEAVES[0], proof, 3, &root, &eb) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_inclusion_root(H, 0, 0, &LEAVES[0], proof, 0, &x, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(x.b[0] == 0);
    CHECK(arb_merkle_inclusion_verify(H, 0, 5, &LEAVES[0], proof, ARB_MERKLE_MAX_PROOF + 1, &root,
                                      &eb) == ARB_ERR_VERIFY);
    CHECK(strlen(eb.msg) > 0);
    CHECK(arb_merkle_inclusion_verify(H, 0, 5, &LEAVES[0], NULL, 0, &root, NULL) ==
          ARB_ERR_VERIFY);
    /* Huge trees work (no overflow): a proof of length 64 for size 2^64 - 1. */
    CHECK_EQ(arb_merkle_inclusion_len(0, UINT64_MAX), 64);
    CHECK_EQ(arb_merkle_inclusion_len(UINT64_MAX - 1, UINT64_MAX), 63);
    CHECK_EQ(arb_merkle_consistency_len(3, UINT64_MAX), 65);
    CHECK(arb_merkle_inclusion_verify(H, 12345, UINT64_MAX, &LEAVES[0], proof, 64, &root, &eb) ==
          ARB_ERR_VERIFY);
    CHECK(arb_merkle_consistency_verify(H, 3, UINT64_MAX, &root, &root, proof, 65, &eb) ==
          ARB_ERR_VERIFY);
    CHECK(arb_merkle_consistency_verify(H, 0, 0, &root, &root, proof, 0, &eb) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_consistency_verify(H, 0, 5, &root, &root, proof, 0, &eb) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_consistency_verify(H, 6, 5, &root, &root, proof, 0, &eb) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_merkle_consistency_verify(H, 5, 5, &root, &root, proof, 1, &eb) == ARB_ERR_VERIFY);
    CHECK(arb_merkle_consistency_verify(H, 5, 5, &root, &root, proof, 0, &eb) == ARB_OK);
    CHECK(arb_merkle_consistency_verify(H, 5, 5, &root, &x, proof, 0, &eb) == ARB_ERR_VERIFY);
    CHECK(arb_merkle_consistency_verify(H, 4, 5, &root, &root, proof, 0, &eb) == ARB_ERR_VERIFY);
    CHECK(arb_merkle_consistency_verify(H, 4, 5, &root, &root, proof, ARB_MERKLE_MAX_PROOF + 1,
                                        &eb) == ARB_ERR_VERIFY);
}

/* Seeded random proofs in trees of up to 10^7 leaves (10^6 under ASan). The
 * store keeps levels >= 10, so the reference recursion and the node source
 * only hash at most 1024 leaves per lookup. Roots come from a compact range
 * fed the same leaves, checked against the reference. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_big_random(void)
{
    uint64_t nmax = ARB_SANITIZED ? 1000000 : 10000000;
    enum { NS = 24 };
    uint64_t sizes[NS];
    arb_hash roots[NS], want[ARB_MERKLE_MAX_PROOF], got[ARB_MERKLE_MAX_PROOF], leaf, ref_root;
    ref_store big;
    arb_merkle_range r;
    size_t wn, gn, si = 0;

    for (size_t i = 0; i < NS - 4; i++)
        sizes[i] = 1 + arb_test_rand_below(nmax);
    sizes[NS - 4] = nmax;
    sizes[NS - 3] = (uint64_t)1 << (63 - __builtin_clzll(nmax)); /* largest power of 2 */
    sizes[NS - 2] = sizes[NS - 3] + 1;
    sizes[NS - 1] = sizes[NS - 3] - 1;
    qsort(sizes, NS, sizeof sizes[0], cmp_u64);

    CHECK(ref_store_build(&big, H, NULL, nmax, 10) == 0);
    big.ref_memo = 1;
    arb_merkle_range_init(&r);
    for (uint64_t i = 0; i < nmax; i++) {
        ref_gen_leaf(H, i, &leaf);
        CHECK(arb_merkle_range_append(&r, H, &leaf) == ARB_OK);
        while (si < NS && sizes[si] == i + 1)
            arb_merkle_range_root(&r, H, &roots[si++]);
    }
    CHECK_EQ(si, NS);
    for (size_t k = 0; k < NS; k++) {
        uint64_t n = sizes[k];
        arb_merkle_source src = source(&big, n);
        ref_mth(&big, 0, n, &ref_root);
        CHECK(heq(&ref_root, &roots[k]));
        CHECK(arb_merkle_source_root(H, &src, n, &got[0]) == ARB_OK);
        CHECK(heq(&ref_root, &got[0]));
        for (int t = 0; t < 8; t++) {
            uint64_t m = t == 0 ? n - 1 : t == 1 ? 0 : arb_test_rand_below(n);
            ref_path(&big, m, n, want, &wn);
            CHECK(arb_merkle_inclusion_build(H, &src, m, n, got, &gn) == ARB_OK);
            CHECK(!big.bad_request);
            CHECK_EQ(gn, wn);
            CHECK(memcmp(got, want, wn * sizeof(arb_hash)) == 0);
            ref_gen_leaf(H, m, &leaf);
            CHECK(arb_merkle_inclusion_verify(H, m, n, &leaf, got, gn, &roots[k], NULL) == ARB_OK);
        }
        for (size_t j = 0; j <= k; j++) {
            uint64_t m = sizes[j];
            ref_proof(&big, m, n, want, &wn);
            CHECK(arb_merkle_consistency_build(H, &src, m, n, got, &gn) == ARB_OK);
            CHECK(!big.bad_request);
            CHECK_EQ(gn, wn);
            CHECK(memcmp(got, want, wn * sizeof(arb_hash)) == 0);
            CHECK(arb_merkle_consistency_verify(H, m, n, &roots[j], &roots[k], got, gn, NULL) ==
                  ARB_OK);
            if (m != n)
                CHECK(arb_merkle_consistency_verify(H, m, n, &roots[k], &roots[j], got, gn,
                                                    NULL) == ARB_ERR_VERIFY);
        }
    }
    ref_store_free(&big);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK)
        return 1;
    for (int i = 0; i < NLEAVES; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "leaf %d", i);
        arb_merkle_leaf_hash(H, &LEAVES[i], buf, (size_t)len);
    }
    if (ref_store_build(&ST, H, LEAVES, NLEAVES, 0) != 0)
        return 1;
    test_range_roots();
    test_range_visit();
    test_inclusion_exhaustive();
    test_consistency_exhaustive();
    test_inclusion_tamper();
    test_consistency_tamper();
    test_malformed();
    test_big_random();
    ref_store_free(&ST);
    arb_sha256_free(H);
    return arb_test_done();
}
