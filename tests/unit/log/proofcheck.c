/* Proof verifiers written from RFC 9162 for tests (independent of the
 * log's proof builder, which follows RFC 6962's recursive definitions). */
#include "proofcheck.h"

/* RFC 9162 2.1.3.2. */
int pc_verify_inclusion(arb_sha256 *sha, uint64_t index, uint64_t size, const arb_hash *leaf, const arb_hash *path,
                            size_t n, const arb_hash *root)
{
    uint64_t fn = index, sn = size - 1;
    arb_hash r = *leaf;
    size_t i;

    if (index >= size)
        return 0;
    for (i = 0; i < n; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            arb_merkle_node_hash(sha, &r, &path[i], &r);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            arb_merkle_node_hash(sha, &r, &r, &path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && arb_hash_eq(&r, root);
}

/* RFC 9162 2.1.4.2. */
int pc_verify_consistency(arb_sha256 *sha, uint64_t m, uint64_t n, const arb_hash *r1, const arb_hash *r2,
                              const arb_hash *proof, size_t len)
{
    uint64_t fn, sn;
    arb_hash fr, sr;
    size_t i = 0;

    if (m == n)
        return len == 0 && arb_hash_eq(r1, r2);
    if (m == 0 || m > n || len == 0)
        return 0;
    /* If m is a power of two, prepend first_hash to the proof. */
    if ((m & (m - 1)) == 0) {
        fr = sr = *r1;
    } else {
        fr = sr = proof[0];
        i = 1;
    }
    fn = m - 1;
    sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < len; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            arb_merkle_node_hash(sha, &fr, &proof[i], &fr);
            arb_merkle_node_hash(sha, &sr, &proof[i], &sr);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            arb_merkle_node_hash(sha, &sr, &sr, &proof[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && arb_hash_eq(&fr, r1) && arb_hash_eq(&sr, r2);
}


void pc_mth(arb_sha256 *sha, const arb_hash *l, uint64_t n, arb_hash *out)
{
    uint64_t k = 1;
    arb_hash a, b;

    if (n == 0) {
        arb_merkle_empty_root(out);
        return;
    }
    if (n == 1) {
        *out = l[0];
        return;
    }
    while (k * 2 < n)
        k *= 2;
    pc_mth(sha, l, k, &a);
    pc_mth(sha, l + k, n - k, &b);
    arb_merkle_node_hash(sha, out, &a, &b);
}
