/* Sparse Merkle tree tests: known answers computed outside the library, a
 * naive reference (the root recomputed from the whole key set) against the
 * incremental update on seeded random batches, exhaustive small key spaces,
 * proofs of presence and absence, every single-byte alteration of a proof,
 * key, value or root failing, strict decoding, and a corrupt store. */
#include <stdlib.h>
#include <string.h>

#include "merkle/smt.h"
#include "tests/test.h"

static arb_sha256 *sha;

/* ---- the naive reference ---- */

typedef struct {
    uint8_t key[32];
    arb_hash vh;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    return memcmp(((const kv *)a)->key, ((const kv *)b)->key, 32);
}

static int bit(const uint8_t *k, unsigned d)
{
    return k[d / 8] >> (7 - d % 8) & 1;
}

static void ref_hash(arb_hash *out, const char *prefix, const uint8_t *a, const uint8_t *b)
{
    uint8_t buf[78];
    memcpy(buf, prefix, 14);
    memcpy(buf + 14, a, 32);
    memcpy(buf + 46, b, 32);
    arb_sha256_digest(sha, out->b, buf, sizeof buf);
}

/* The definition: 0 entries EMPTY, 1 entry its leaf, else node(left, right). */
static void ref_root_at(const kv *s, size_t n, unsigned depth, arb_hash *out)
{
    size_t m = 0;
    arb_hash l, r;
    if (n == 0) {
        memset(out, 0, sizeof *out);
        return;
    }
    if (n == 1) {
        ref_hash(out, "arbor/smt/leaf", s[0].key, s[0].vh.b);
        return;
    }
    while (m < n && !bit(s[m].key, depth))
        m++;
    ref_root_at(s, m, depth + 1, &l);
    ref_root_at(s + m, n - m, depth + 1, &r);
    ref_hash(out, "arbor/smt/node", l.b, r.b);
}

/* s is sorted by the caller. */
static void ref_root(kv *s, size_t n, arb_hash *out)
{
    qsort(s, n, sizeof *s, kv_cmp);
    ref_root_at(s, n, 0, out);
}

static void from_hex(uint8_t *out, const char *hex)
{
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* ---- helpers ---- */

static int verify_enc(const arb_hash *root, const uint8_t *key, const arb_hash *vh,
                      const arb_smt_proof *p)
{
    arb_buf b = ARB_BUF_INIT;
    arb_err err;
    arb_smt_proof_encode(&b, p);
    if (b.oom)
        return -1;
    err = arb_smt_verify(sha, root, key, vh, b.data, b.len, NULL);
    arb_buf_free(&b);
    return err == ARB_OK;
}

/* Proves key against root and checks the proof says exactly `expect`
 * (present with vh, or absent when vh is NULL). */
static int prove_check(const arb_smt_store *st, const arb_hash *root, const uint8_t *key,
                       const arb_hash *vh)
{
    arb_smt_proof p;
    arb_hash other, got;
    int found;

    if (arb_smt_prove(st, root, key, &p) != ARB_OK)
        return 0;
    if (arb_smt_get(st, root, key, &found, &got) != ARB_OK)
        return 0;
    if (vh != NULL) {
        if (!found || memcmp(got.b, vh->b, 32) != 0 || p.kind != ARB_SMT_INCLUDED)
            return 0;
        if (verify_enc(root, key, vh, &p) != 1 || verify_enc(root, key, NULL, &p) != 0)
            return 0;
        other = *vh;
        other.b[5] ^= 1;
        if (verify_enc(root, key, &other, &p) != 0)
            return 0;
    } else {
        if (found || p.kind == ARB_SMT_INCLUDED)
            return 0;
        memset(other.b, 0x42, 32);
        if (verify_enc(root, key, NULL, &p) != 1 || verify_enc(root, key, &other, &p) != 0)
            return 0;
    }
    return 1;
}

/* ---- tests ---- */

static void test_known_answers(void)
{
    arb_smt_mem *m;
    arb_smt_store st;
    arb_smt_op ops[3];
    arb_hash empty, root, want;

    CHECK(arb_smt_mem_new(&m) == ARB_OK);
    arb_smt_mem_store(m, &st);
    memset(ops, 0, sizeof ops);
    memset(ops[0].value_hash.b, 0x11, 32);
    ops[1].key[0] = 0x80;
    memset(ops[1].value_hash.b, 0x22, 32);
    ops[2].key[31] = 0x01;
    memset(ops[2].value_hash.b, 0x33, 32);
    arb_smt_empty(&empty);
    CHECK(arb_smt_is_empty(&empty));

    CHECK(arb_smt_update(sha, &st, &empty, ops, 1, &root) == ARB_OK);
    from_hex(want.b, "fd50637623c07128404cb4d8a234d78c4e72db83738dc7e51500777cff10f3d8");
    CHECK_MEM(root.b, want.b, 32);
    CHECK(arb_smt_update(sha, &st, &empty, ops, 2, &root) == ARB_OK);
    from_hex(want.b, "1146b0ed3bf732fd0be79e9ea74b18b640eee4abeb6a12e65629d34eacdce7c1");
    CHECK_MEM(root.b, want.b, 32);
    /* ops[0] and ops[2] differ only in the last bit: 255 inner nodes above them. */
    {
        arb_smt_op two[2] = {ops[0], ops[2]};
        CHECK(arb_smt_update(sha, &st, &empty, two, 2, &root) == ARB_OK);
        from_hex(want.b, "1fe0cdc3a0208c7b57bfd9da8302bb6d3fe6e895fd588f6d20fc74241baeaac5");
        CHECK_MEM(root.b, want.b, 32);
        CHECK(prove_check(&st, &root, ops[2].key, &ops[2].value_hash));
    }
    CHECK(arb_smt_update(sha, &st, &empty, ops, 3, &root) == ARB_OK);
    from_hex(want.b, "2e6a9492b07b1ab1e8402ea48bd6241fd9d12e345daa6bd92c2f2a265fde17cc");
    CHECK_MEM(root.b, want.b, 32);
    for (int i = 0; i < 3; i++)
        CHECK(prove_check(&st, &root, ops[i].key, &ops[i].value_hash));
    /* The deep leaf's proof has 256 siblings. */
    {
        arb_smt_proof p;
        CHECK(arb_smt_prove(&st, &root, ops[2].key, &p) == ARB_OK);
        CHECK_EQ(p.depth, 256);
    }
    /* Same keys inserted one at a time, in another order. */
    {
        arb_hash r2 = empty;
        for (int i = 2; i >= 0; i--)
            CHECK(arb_smt_update(sha, &st, &r2, &ops[i], 1, &r2) == ARB_OK);
        CHECK_MEM(r2.b, want.b, 32);
    }
    /* Empty tree: every key is absent with a proof of depth 0. */
    CHECK(prove_check(&st, &empty, ops[1].key, NULL));
    arb_smt_mem_free(m);
}

/* Random key; sometimes a near neighbour of an earlier key (long shared prefix). */
static void rand_key(uint8_t key[32], kv *pool, size_t pool_n)
{
    if (pool_n > 0 && arb_test_rand_below(4) == 0) {
        unsigned d = (unsigned)arb_test_rand_below(256);
        memcpy(key, pool[arb_test_rand_below(pool_n)].key, 32);
        key[d / 8] ^= (uint8_t)(0x80 >> (d % 8));
        if (arb_test_rand_below(2))
            arb_test_rand_bytes(key + (d / 8) + 1, 31 - d / 8);
    } else {
        arb_test_rand_bytes(key, 32);
    }
}

static size_t find_kv(const kv *s, size_t n, const uint8_t *key)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(s[i].key, key, 32) == 0)
            return i;
    return SIZE_MAX;
}

/* Random batches of inserts, updates and deletes (present and absent keys);
 * after each batch the incremental root equals the reference root, and
 * proofs for touched and untouched keys verify. */
static void test_random_vs_reference(void)
{
    enum { MAXK = 600 };
    unsigned long rounds = arb_test_count(60);
    kv *model = calloc(MAXK + 64, sizeof *model), *tmp = calloc(MAXK + 64, sizeof *tmp);
    arb_smt_op ops[40];
    size_t n = 0;
    arb_smt_mem *m = NULL;
    arb_smt_store st;
    arb_hash root, want;

    CHECK(model != NULL && tmp != NULL);
    CHECK(arb_smt_mem_new(&m) == ARB_OK);
    arb_smt_mem_store(m, &st);
    arb_smt_empty(&root);
    for (unsigned long r = 0; r < rounds; r++) {
        size_t nops = 1 + arb_test_rand_below(40), k = 0;
        while (k < nops) {
            arb_smt_op *o = &ops[k];
            uint64_t what = arb_test_rand_below(10);
            memset(o, 0, sizeof *o);
            if (n > 0 && what < 3) {
                memcpy(o->key, model[arb_test_rand_below(n)].key, 32);
                o->del = 1;
            } else if (n > 0 && what < 5) {
                memcpy(o->key, model[arb_test_rand_below(n)].key, 32);
                arb_test_rand_bytes(o->value_hash.b, 32);
            } else if (what == 5) {
                rand_key(o->key, model, n);
                o->del = 1; /* usually absent */
            } else {
                if (n + nops >= MAXK)
                    continue;
                rand_key(o->key, model, n);
                arb_test_rand_bytes(o->value_hash.b, 32);
            }
            int dup = 0;
            for (size_t j = 0; j < k; j++)
                dup |= memcmp(ops[j].key, o->key, 32) == 0;
            if (!dup)
                k++;
        }
        CHECK(arb_smt_update(sha, &st, &root, ops, nops, &root) == ARB_OK);
        for (size_t i = 0; i < nops; i++) {
            size_t at = find_kv(model, n, ops[i].key);
            if (ops[i].del) {
                if (at != SIZE_MAX)
                    model[at] = model[--n];
            } else if (at != SIZE_MAX) {
                model[at].vh = ops[i].value_hash;
            } else {
                memcpy(model[n].key, ops[i].key, 32);
                model[n].vh = ops[i].value_hash;
                n++;
            }
        }
        memcpy(tmp, model, n * sizeof *tmp);
        ref_root(tmp, n, &want);
        if (memcmp(root.b, want.b, 32) != 0) {
            arb_test_fail(__FILE__, __LINE__, "round %lu: root differs from the reference", r);
            goto out;
        }
        for (size_t i = 0; i < nops; i++) {
            size_t at = find_kv(model, n, ops[i].key);
            CHECK(prove_check(&st, &root, ops[i].key, at == SIZE_MAX ? NULL : &model[at].vh));
        }
        if (n > 0) {
            size_t i = arb_test_rand_below(n);
            CHECK(prove_check(&st, &root, model[i].key, &model[i].vh));
        }
    }
out:
    arb_smt_mem_free(m);
    free(model);
    free(tmp);
}

/* Every subset of a small key space, and every transition between two
 * subsets (or, for deep spaces, every one-key change) as one batch: the incremental root always equals the reference,
 * and every key of the space proves present or absent correctly. */
static void exhaustive(const unsigned *bits, unsigned nbits, int all_pairs)
{
    unsigned nk = 1u << nbits, nsub = 1u << nk;
    uint8_t keys[8][32];
    arb_hash vals[8], *roots = calloc(nsub, sizeof *roots);
    arb_smt_mem *m = NULL;
    arb_smt_store st;

    CHECK(roots != NULL && nk <= 8);
    CHECK(arb_smt_mem_new(&m) == ARB_OK);
    arb_smt_mem_store(m, &st);
    for (unsigned i = 0; i < nk; i++) {
        memset(keys[i], 0x5c, 32);
        for (unsigned b = 0; b < nbits; b++) {
            unsigned d = bits[b];
            keys[i][d / 8] &= (uint8_t)~(0x80 >> (d % 8));
            if (i >> b & 1)
                keys[i][d / 8] |= (uint8_t)(0x80 >> (d % 8));
        }
        memset(vals[i].b, (int)(i + 1), 32);
    }
    for (unsigned s = 0; s < nsub; s++) {
        kv set[8];
        arb_smt_op ops[8];
        arb_hash empty;
        size_t n = 0;
        for (unsigned i = 0; i < nk; i++)
            if (s >> i & 1) {
                memcpy(set[n].key, keys[i], 32);
                set[n].vh = vals[i];
                memcpy(ops[n].key, keys[i], 32);
                ops[n].del = 0;
                ops[n].value_hash = vals[i];
                n++;
            }
        ref_root(set, n, &roots[s]);
        arb_smt_empty(&empty);
        {
            arb_hash got;
            CHECK(arb_smt_update(sha, &st, &empty, ops, n, &got) == ARB_OK);
            CHECK_MEM(got.b, roots[s].b, 32);
        }
        for (unsigned i = 0; i < nk; i++)
            CHECK(prove_check(&st, &roots[s], keys[i], (s >> i & 1) ? &vals[i] : NULL));
    }
    for (unsigned s = 0; s < nsub; s++)
        for (unsigned tt = 0; tt < (all_pairs ? nsub : nk + 2); tt++) {
            /* Deep key spaces: each one-key change and two random targets. */
            unsigned t = all_pairs ? tt
                         : tt < nk ? s ^ (1u << tt)
                                   : (unsigned)arb_test_rand_below(nsub);
            arb_smt_op ops[8];
            arb_hash got;
            size_t n = 0;
            for (unsigned i = 0; i < nk; i++) {
                int in_s = s >> i & 1, in_t = t >> i & 1;
                if (in_s == in_t && arb_test_rand_below(4) != 0)
                    continue; /* sometimes restate an unchanged key */
                memcpy(ops[n].key, keys[i], 32);
                ops[n].del = !in_t;
                ops[n].value_hash = vals[i];
                n++;
            }
            CHECK(arb_smt_update(sha, &st, &roots[s], ops, n, &got) == ARB_OK);
            if (memcmp(got.b, roots[t].b, 32) != 0) {
                arb_test_fail(__FILE__, __LINE__, "subset %u -> %u: wrong root", s, t);
                goto out;
            }
        }
out:
    arb_smt_mem_free(m);
    free(roots);
}

static void test_exhaustive(void)
{
    static const unsigned shallow[3] = {0, 5, 11};
    static const unsigned deep[2] = {200, 255};
    static const unsigned mixed[3] = {1, 128, 254};
    exhaustive(shallow, 3, 1);
    exhaustive(deep, 2, 1);
    exhaustive(mixed, 3, 0);
}

/* Insert A, then B, then delete B: back to A's root; delete A: empty. */
static void test_deletes_restore(void)
{
    enum { NA = 200, NB = 150 };
    arb_smt_op a[NA], b[NB], d[NB];
    arb_smt_mem *m;
    arb_smt_store st;
    arb_hash empty, ra, rab, r;

    CHECK(arb_smt_mem_new(&m) == ARB_OK);
    arb_smt_mem_store(m, &st);
    arb_smt_empty(&empty);
    for (int i = 0; i < NA; i++) {
        arb_test_rand_bytes(a[i].key, 32);
        arb_test_rand_bytes(a[i].value_hash.b, 32);
        a[i].del = 0;
    }
    for (int i = 0; i < NB; i++) {
        memcpy(b[i].key, a[i % NA].key, 32);
        b[i].key[31] ^= (uint8_t)(1 + i % 7); /* near neighbours of A */
        arb_test_rand_bytes(b[i].value_hash.b, 32);
        b[i].del = 0;
        d[i] = b[i];
        d[i].del = 1;
    }
    CHECK(arb_smt_update(sha, &st, &empty, a, NA, &ra) == ARB_OK);
    CHECK(arb_smt_update(sha, &st, &ra, b, NB, &rab) == ARB_OK);
    CHECK(!arb_hash_eq(&ra, &rab));
    CHECK(arb_smt_update(sha, &st, &rab, d, NB, &r) == ARB_OK);
    CHECK_MEM(r.b, ra.b, 32);
    /* One by one, in reverse. */
    r = rab;
    for (int i = NB; i-- > 0;)
        CHECK(arb_smt_update(sha, &st, &r, &d[i], 1, &r) == ARB_OK);
    CHECK_MEM(r.b, ra.b, 32);
    /* Updating a value and setting it back. */
    {
        arb_smt_op u = a[7];
        u.value_hash.b[0] ^= 0xff;
        CHECK(arb_smt_update(sha, &st, &ra, &u, 1, &r) == ARB_OK);
        CHECK(!arb_hash_eq(&r, &ra));
        CHECK(arb_smt_update(sha, &st, &r, &a[7], 1, &r) == ARB_OK);
        CHECK_MEM(r.b, ra.b, 32);
    }
    for (int i = 0; i < NA; i++)
        a[i].del = 1;
    CHECK(arb_smt_update(sha, &st, &ra, a, NA, &r) == ARB_OK);
    CHECK(arb_smt_is_empty(&r));
    /* The old roots are still there. */
    CHECK(prove_check(&st, &rab, b[3].key, &b[3].value_hash));
    arb_smt_mem_free(m);
}

/* Every single-byte alteration of a proof, key, value hash or root fails. */
static void alter_all(const arb_smt_store *st, const arb_hash *root, const uint8_t *key,
                      const arb_hash *vh)
{
    arb_smt_proof p;
    arb_buf b = ARB_BUF_INIT;
    uint8_t k2[32];
    arb_hash v2, r2;

    CHECK(arb_smt_prove(st, root, key, &p) == ARB_OK);
    arb_smt_proof_encode(&b, &p);
    CHECK(!b.oom);
    CHECK(arb_smt_verify(sha, root, key, vh, b.data, b.len, NULL) == ARB_OK);
    for (size_t i = 0; i < b.len; i++) {
        uint8_t orig = b.data[i];
        for (unsigned v = 0; v < 256; v++) {
            if (v == orig)
                continue;
            b.data[i] = (uint8_t)v;
            if (arb_smt_verify(sha, root, key, vh, b.data, b.len, NULL) == ARB_OK) {
                arb_test_fail(__FILE__, __LINE__, "proof byte %zu = %u still verifies", i, v);
                goto out;
            }
        }
        b.data[i] = orig;
    }
    /* Truncated or extended. */
    for (size_t n = 0; n < b.len; n++)
        CHECK(arb_smt_verify(sha, root, key, vh, b.data, n, NULL) != ARB_OK);
    CHECK(arb_buf_u8(&b, 0));
    CHECK(arb_smt_verify(sha, root, key, vh, b.data, b.len, NULL) == ARB_ERR_PARSE);
    b.len--;
    for (size_t i = 0; i < 32; i++)
        for (unsigned v = 1; v < 256; v++) {
            memcpy(k2, key, 32);
            k2[i] ^= (uint8_t)v;
            unsigned first_diff = (unsigned)i * 8;
            while (!((v << (first_diff - i * 8)) & 0x80))
                first_diff++;
            if (vh == NULL && first_diff >= p.depth) {
                /* Past the proof's depth another key takes the same path:
                 * the proof rightly shows it absent too, unless it is the
                 * other leaf's key. */
                int found;
                arb_hash got;
                int same_other = p.kind == ARB_SMT_ABSENT_LEAF && memcmp(k2, p.other_key, 32) == 0;
                CHECK((arb_smt_verify(sha, root, k2, vh, b.data, b.len, NULL) == ARB_OK) ==
                      !same_other);
                CHECK(arb_smt_get(st, root, k2, &found, &got) == ARB_OK && found == same_other);
            } else {
                CHECK(arb_smt_verify(sha, root, k2, vh, b.data, b.len, NULL) != ARB_OK);
            }
            r2 = *root;
            r2.b[i] ^= (uint8_t)v;
            CHECK(arb_smt_verify(sha, &r2, key, vh, b.data, b.len, NULL) != ARB_OK);
            if (vh != NULL) {
                v2 = *vh;
                v2.b[i] ^= (uint8_t)v;
                CHECK(arb_smt_verify(sha, root, key, &v2, b.data, b.len, NULL) != ARB_OK);
            }
        }
out:
    arb_buf_free(&b);
}

static void test_alterations(void)
{
    enum { N = 40 };
    arb_smt_op ops[N + 2];
    arb_smt_mem *m;
    arb_smt_store st;
    arb_hash root, empty;
    uint8_t absent_key[32], lone_key[32];

    CHECK(arb_smt_mem_new(&m) == ARB_OK);
    arb_smt_mem_store(m, &st);
    arb_smt_empty(&empty);
    for (int i = 0; i < N; i++) {
        arb_test_rand_bytes(ops[i].key, 32);
        arb_test_rand_bytes(ops[i].value_hash.b, 32);
        ops[i].del = 0;
    }
    /* A pair sharing 100 bits. */
    memcpy(ops[N].key, ops[0].key, 32);
    ops[N].key[12] ^= 0x08;
    arb_test_rand_bytes(ops[N].key + 13, 19);
    arb_test_rand_bytes(ops[N].value_hash.b, 32);
    ops[N].del = 0;
    memcpy(ops[N + 1].key, ops[1].key, 32);
    ops[N + 1].key[31] ^= 1;
    arb_test_rand_bytes(ops[N + 1].value_hash.b, 32);
    ops[N + 1].del = 0;
    CHECK(arb_smt_update(sha, &st, &empty, ops, N + 2, &root) == ARB_OK);

    alter_all(&st, &root, ops[0].key, &ops[0].value_hash);
    alter_all(&st, &root, ops[N].key, &ops[N].value_hash);
    /* The 256-deep pair is covered by prove_check (each alteration of it
     * would cost 256 hashes; the 100-deep one above exercises the same code). */
    CHECK(prove_check(&st, &root, ops[N + 1].key, &ops[N + 1].value_hash));
    /* Absent, search ending on another leaf. */
    memcpy(absent_key, ops[2].key, 32);
    absent_key[31] ^= 0x40;
    {
        arb_smt_proof p;
        CHECK(arb_smt_prove(&st, &root, absent_key, &p) == ARB_OK);
        CHECK_EQ(p.kind, ARB_SMT_ABSENT_LEAF);
    }
    alter_all(&st, &root, absent_key, NULL);
    /* Absent, search ending on an empty subtree: a key next to the deep pair. */
    memcpy(absent_key, ops[1].key, 32);
    absent_key[30] ^= 1;
    {
        arb_smt_proof p;
        CHECK(arb_smt_prove(&st, &root, absent_key, &p) == ARB_OK);
        CHECK_EQ(p.kind, ARB_SMT_ABSENT_EMPTY);
    }
    alter_all(&st, &root, absent_key, NULL);
    /* A tree of one leaf (depth-0 proofs) and the empty tree. */
    CHECK(arb_smt_update(sha, &st, &empty, ops, 1, &root) == ARB_OK);
    alter_all(&st, &root, ops[0].key, &ops[0].value_hash);
    memcpy(lone_key, ops[0].key, 32);
    lone_key[0] ^= 0x80;
    alter_all(&st, &root, lone_key, NULL);
    alter_all(&st, &empty, lone_key, NULL);
    arb_smt_mem_free(m);
}

static arb_err decode_hex(const char *hex)
{
    uint8_t buf[512];
    size_t n = strlen(hex) / 2;
    arb_smt_proof p;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        buf[i] = (uint8_t)v;
    }
    return arb_smt_proof_decode(&p, buf, n, NULL);
}

static void test_decode_strict(void)
{
    char hex[2 * 600];
    arb_smt_proof p;
    arb_buf b = ARB_BUF_INIT;
    const char *sib = "1111111111111111111111111111111111111111111111111111111111111111";

    CHECK(decode_hex("0000") == ARB_OK);       /* included at depth 0 */
    CHECK(decode_hex("0100") == ARB_OK);       /* the empty tree */
    CHECK(decode_hex("") == ARB_ERR_PARSE);
    CHECK(decode_hex("00") == ARB_ERR_PARSE);
    CHECK(decode_hex("03") == ARB_ERR_PARSE);  /* unknown kind */
    CHECK(decode_hex("0300") == ARB_ERR_PARSE);
    CHECK(decode_hex("000000") == ARB_ERR_PARSE); /* trailing */
    CHECK(decode_hex("0200") == ARB_ERR_PARSE);   /* other leaf missing */
    snprintf(hex, sizeof hex, "000101%s", sib);
    CHECK(decode_hex(hex) == ARB_OK);
    snprintf(hex, sizeof hex, "00fd010001%s", sib); /* non-minimal CompactSize */
    CHECK(decode_hex(hex) == ARB_ERR_PARSE);
    snprintf(hex, sizeof hex, "000103%s", sib); /* bit beyond depth */
    CHECK(decode_hex(hex) == ARB_ERR_PARSE);
    snprintf(hex, sizeof hex, "000201%s", sib); /* deepest sibling empty */
    CHECK(decode_hex(hex) == ARB_ERR_PARSE);
    CHECK(decode_hex("0001010000000000000000000000000000000000000000000000000000000000000000")
          == ARB_ERR_PARSE); /* all-zero sibling */
    snprintf(hex, sizeof hex, "000101%s00", sib);
    CHECK(decode_hex(hex) == ARB_ERR_PARSE);
    CHECK(decode_hex("0001") == ARB_ERR_PARSE); /* missing bitmap */
    /* depth 256 is allowed, 257 is not. */
    memset(&p, 0, sizeof p);
    p.kind = ARB_SMT_INCLUDED;
    p.depth = 256;
    memset(p.sib[255].b, 7, 32);
    arb_smt_proof_encode(&b, &p);
    CHECK(!b.oom);
    CHECK_EQ(b.len, 1 + 3 + 32 + 32);
    CHECK(arb_smt_proof_decode(&p, b.data, b.len, NULL) == ARB_OK);
    CHECK_EQ(p.depth, 256);
    b.data[1 + 1] = 0x01;
    b.data[1 + 2] = 0x01; /* 257 */
    CHECK(arb_smt_proof_decode(&p, b.data, b.len, NULL) == ARB_ERR_PARSE);
    arb_buf_free(&b);

    /* Stored nodes. */
    {
        uint8_t enc[ARB_SMT_NODE_SIZE];
        arb_smt_node n;
        memset(enc, 0, sizeof enc);
        enc[0] = ARB_SMT_NODE_INNER;
        CHECK(arb_smt_node_decode(&n, enc, sizeof enc) == ARB_ERR_PARSE); /* both empty */
        enc[40] = 1;
        CHECK(arb_smt_node_decode(&n, enc, sizeof enc) == ARB_OK);
        CHECK(arb_smt_node_decode(&n, enc, sizeof enc - 1) == ARB_ERR_PARSE);
        enc[0] = 3;
        CHECK(arb_smt_node_decode(&n, enc, sizeof enc) == ARB_ERR_PARSE);
        enc[0] = ARB_SMT_NODE_LEAF;
        CHECK(arb_smt_node_decode(&n, enc, sizeof enc) == ARB_OK);
        uint8_t again[ARB_SMT_NODE_SIZE];
        arb_smt_node_encode(again, &n);
        CHECK_MEM(again, enc, sizeof enc);
    }
}

/* A store that forgets everything: updates and proofs report a corrupt
 * store instead of crashing. Duplicate keys in a batch are refused. */
static arb_err forget_get(void *ud, const arb_hash *h, arb_smt_node *out)
{
    memset(out, 0, sizeof *out);
    return ARB_ERR_NOT_FOUND;
}
static arb_err forget_put(void *ud, const arb_hash *h, const arb_smt_node *n)
{
    return ARB_OK;
}
/* A store that answers every read with a leaf of a fixed key. */
static arb_err liar_get(void *ud, const arb_hash *h, arb_smt_node *out)
{
    memset(out, 0, sizeof *out);
    out->kind = ARB_SMT_NODE_LEAF;
    memset(out->a.b, 0xff, 32);
    return ARB_OK;
}

static void test_bad_store_and_args(void)
{
    arb_smt_store st = {forget_get, forget_put, NULL}, liar = {liar_get, forget_put, NULL};
    arb_smt_op ops[2];
    arb_hash empty, root, vh;
    arb_smt_proof p;
    uint8_t key[32];
    int found;

    memset(ops, 0, sizeof ops);
    ops[1].key[0] = 1;
    arb_smt_empty(&empty);
    CHECK(arb_smt_update(sha, &st, &empty, ops, 2, &root) == ARB_OK);
    ops[2 - 1].key[0] = 0; /* duplicate */
    CHECK(arb_smt_update(sha, &st, &empty, ops, 2, &root) == ARB_ERR_INVALID_ARG);
    CHECK(arb_smt_is_empty(&root));
    ops[1].key[0] = 1;
    CHECK(arb_smt_update(sha, &st, &(arb_hash){{1}}, ops, 2, &root) == ARB_ERR_INTERNAL);
    memset(key, 0, sizeof key);
    CHECK(arb_smt_prove(&st, &(arb_hash){{1}}, key, &p) == ARB_ERR_INTERNAL);
    CHECK(arb_smt_get(&st, &(arb_hash){{1}}, key, &found, &vh) == ARB_ERR_INTERNAL);
    /* A leaf whose key is off the path (root would hold it at depth 0, fine;
     * below an inner node it would not be). */
    CHECK(arb_smt_prove(&liar, &(arb_hash){{1}}, key, &p) == ARB_OK);
    CHECK_EQ(p.kind, ARB_SMT_ABSENT_LEAF);
    CHECK(arb_smt_update(sha, &liar, &(arb_hash){{1}}, ops, 2, &root) == ARB_OK);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    test_known_answers();
    test_random_vs_reference();
    test_exhaustive();
    test_deletes_restore();
    test_alterations();
    test_decode_strict();
    test_bad_store_and_args();
    arb_sha256_free(sha);
    return arb_test_done();
}
