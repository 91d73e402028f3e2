/* The log's stored-node Merkle tree: roots and proofs against the RFC 6962
 * reference vectors (vectors/ct/merkle_rfc6962.json), then seeded random trees
 * checked against a naive MTH and against proof verifiers written here from
 * RFC 9162 2.1.3.2 and 2.1.4.2 (a different algorithm from the builder's). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ledger/log/tree_internal.h"
#include "merkle/buf.h"
#include "tests/test.h"
#include "proofcheck.h"

#define MAXN 700

static arb_sha256 *sha;
static arb_hash nodes[12][MAXN];
static uint64_t counts[12];

static arb_err mem_get(void *ud, unsigned level, uint64_t index, arb_hash *out)
{
    (void)ud;
    if (level >= 12 || index >= counts[level])
        return ARB_ERR_NOT_FOUND;
    *out = nodes[level][index];
    return ARB_OK;
}

static void mem_emit(void *ud, uint64_t level, uint64_t index, const arb_hash *h)
{
    (void)ud;
    if (level < 12 && index == counts[level]) {
        nodes[level][index] = *h;
        counts[level]++;
    } else {
        arb_test_fail(__FILE__, __LINE__, "node (%llu, %llu) emitted out of order",
                      (unsigned long long)level,
                      (unsigned long long)index);
    }
}

static void naive_mth(const arb_hash *l, uint64_t n, arb_hash *out)
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
    naive_mth(l, k, &a);
    naive_mth(l + k, n - k, &b);
    arb_merkle_node_hash(sha, out, &a, &b);
}

static int hex_hash(const char *s, arb_hash *h)
{
    return s != NULL && strlen(s) == 64 && arb_hex_decode(h->b, 32, s, 64);
}

static int path_eq(json_t *arr, const arb_hash *p, size_t n)
{
    size_t i;
    json_t *v;

    if (json_array_size(arr) != n)
        return 0;
    json_array_foreach(arr, i, v)
    {
        arb_hash h;
        if (!hex_hash(json_string_value(v), &h) || memcmp(h.b, p[i].b, 32) != 0)
            return 0;
    }
    return 1;
}

static void reset(void)
{
    memset(counts, 0, sizeof(counts));
}

static void test_vectors(void)
{
    size_t n, i;
    uint8_t *txt = arb_test_read_vector("ct/merkle_rfc6962.json", &n);
    json_t *doc, *v, *roots;
    arb_merkle_range r;
    arb_hash h, root;
    const char *key;

    CHECK(txt != NULL);
    doc = json_loadb((const char *)txt, n, 0, NULL);
    free(txt);
    CHECK(doc != NULL);
    reset();
    arb_merkle_range_init(&r);
    arb_merkle_range_root(&r, sha, &root);
    CHECK(hex_hash(json_string_value(json_object_get(doc, "empty_tree_root")), &h));
    CHECK(arb_hash_eq(&root, &h));
    roots = json_object_get(doc, "roots_by_tree_size");
    json_array_foreach(json_object_get(doc, "leaves_hex"), i, v)
    {
        uint8_t *leaf = NULL;
        size_t ll;
        char sz[24];
        CHECK(arb_hex_decode_alloc(&leaf, &ll, json_string_value(v)) == ARB_OK);
        arb_merkle_leaf_hash(sha, &h, leaf, ll);
        free(leaf);
        CHECK(arb_merkle_range_append_visit(&r, sha, &h, mem_emit, NULL) == ARB_OK);
        arb_merkle_range_root(&r, sha, &root);
        snprintf(sz, sizeof(sz), "%zu", i + 1);
        CHECK(hex_hash(json_string_value(json_object_get(roots, sz)), &h));
        CHECK(arb_hash_eq(&root, &h));
    }
    /* Loading the compact range back from the stored nodes gives the same root. */
    {
        arb_merkle_range r2;
        arb_hash root2;
        CHECK(log_range_load(&r2, 8, mem_get, NULL) == ARB_OK);
        arb_merkle_range_root(&r2, sha, &root2);
        CHECK(arb_hash_eq(&root, &root2));
        CHECK(log_range_load(&r2, 9, mem_get, NULL) == ARB_ERR_NOT_FOUND);
    }
    /* Node hashes by level equal the emitted nodes. */
    json_object_foreach(json_object_get(doc, "node_hashes_by_level"), key, v)
    {
        unsigned level = (unsigned)atoi(key + 5);
        json_t *e;
        json_array_foreach(v, i, e)
        {
            CHECK(hex_hash(json_string_value(e), &h));
            CHECK(i < counts[level] && arb_hash_eq(&nodes[level][i], &h));
        }
    }
    /* Every inclusion and consistency proof of the 8-leaf tree. */
    {
        json_t *ex = json_object_get(doc, "computed_exhaustive");
        size_t cnt = 0;
        json_array_foreach(json_object_get(ex, "inclusion"), i, v)
        {
            uint64_t m = (uint64_t)json_integer_value(json_object_get(v, "leaf_index"));
            uint64_t sz = (uint64_t)json_integer_value(json_object_get(v, "tree_size"));
            arb_hash *p = NULL;
            size_t pl;
            CHECK(log_inclusion_proof(sha, mem_get, NULL, m, sz, &p, &pl) == ARB_OK);
            CHECK(path_eq(json_object_get(v, "path"), p, pl));
            free(p);
            cnt++;
        }
        CHECK_EQ(cnt, 36);
        cnt = 0;
        json_array_foreach(json_object_get(ex, "consistency"), i, v)
        {
            uint64_t m = (uint64_t)json_integer_value(json_object_get(v, "old_size"));
            uint64_t sz = (uint64_t)json_integer_value(json_object_get(v, "new_size"));
            arb_hash *p = NULL;
            size_t pl;
            CHECK(log_consistency_proof(sha, mem_get, NULL, m, sz, &p, &pl) == ARB_OK);
            CHECK(path_eq(json_object_get(v, "proof"), p, pl));
            free(p);
            cnt++;
        }
        CHECK(cnt >= 28);
        json_array_foreach(json_object_get(doc, "inclusion_proofs"), i, v)
        {
            uint64_t m = (uint64_t)json_integer_value(json_object_get(v, "leaf_index"));
            uint64_t sz = (uint64_t)json_integer_value(json_object_get(v, "tree_size"));
            arb_hash *p = NULL;
            size_t pl;
            CHECK(log_inclusion_proof(sha, mem_get, NULL, m, sz, &p, &pl) == ARB_OK);
            CHECK(path_eq(json_object_get(v, "path"), p, pl));
            free(p);
        }
        json_array_foreach(json_object_get(doc, "consistency_proofs"), i, v)
        {
            uint64_t m = (uint64_t)json_integer_value(json_object_get(v, "old_size"));
            uint64_t sz = (uint64_t)json_integer_value(json_object_get(v, "new_size"));
            arb_hash *p = NULL;
            size_t pl;
            CHECK(log_consistency_proof(sha, mem_get, NULL, m, sz, &p, &pl) == ARB_OK);
            CHECK(path_eq(json_object_get(v, "proof"), p, pl));
            free(p);
        }
    }
    {
        arb_hash *p = (arb_hash *)1;
        size_t pl;
        CHECK(log_inclusion_proof(sha, mem_get, NULL, 8, 8, &p, &pl) == ARB_ERR_INVALID_ARG);
        CHECK(p == NULL);
        CHECK(log_consistency_proof(sha, mem_get, NULL, 5, 4, &p, &pl) == ARB_ERR_INVALID_ARG);
        CHECK(log_inclusion_proof(sha, mem_get, NULL, 3, 9, &p, &pl) == ARB_ERR_NOT_FOUND);
    }
    json_decref(doc);
}

static void test_random(void)
{
    static arb_hash leaves[MAXN];
    static arb_hash roots[MAXN + 1];
    uint64_t max = 300, n, checks = arb_test_count(400), c;
    arb_merkle_range r;

#if defined(__SANITIZE_ADDRESS__)
    max = 130;
    checks /= 4;
#endif
    reset();
    arb_merkle_range_init(&r);
    arb_merkle_empty_root(&roots[0]);
    for (n = 0; n < max; n++) {
        uint8_t data[16];
        arb_test_rand_bytes(data, sizeof(data));
        arb_merkle_leaf_hash(sha, &leaves[n], data, sizeof(data));
        CHECK(arb_merkle_range_append_visit(&r, sha, &leaves[n], mem_emit, NULL) == ARB_OK);
        arb_merkle_range_root(&r, sha, &roots[n + 1]);
        {
            arb_hash want, sub;
            naive_mth(leaves, n + 1, &want);
            CHECK(arb_hash_eq(&roots[n + 1], &want));
            CHECK(log_tree_root(sha, mem_get, NULL, n + 1, &sub) == ARB_OK);
            CHECK(arb_hash_eq(&sub, &want));
        }
    }
    for (c = 0; c < checks; c++) {
        uint64_t size = 1 + arb_test_rand_below(max), m = arb_test_rand_below(size);
        uint64_t old = arb_test_rand_below(size + 1);
        arb_hash *p = NULL, bad;
        size_t pl;

        CHECK(log_inclusion_proof(sha, mem_get, NULL, m, size, &p, &pl) == ARB_OK);
        CHECK(pc_verify_inclusion(sha, m, size, &leaves[m], p, pl, &roots[size]));
        if (pl > 0) {
            size_t k = (size_t)arb_test_rand_below(pl);
            bad = p[k];
            p[k].b[0] ^= 1;
            CHECK(!pc_verify_inclusion(sha, m, size, &leaves[m], p, pl, &roots[size]));
            p[k] = bad;
            CHECK(!pc_verify_inclusion(sha, m, size, &leaves[(m + 1) % size], p, pl, &roots[size]) ||
                  size == 1);
        }
        free(p);
        p = NULL;
        CHECK(log_consistency_proof(sha, mem_get, NULL, old, size, &p, &pl) == ARB_OK);
        if (old > 0)
            CHECK(pc_verify_consistency(sha, old, size, &roots[old], &roots[size], p, pl));
        else
            CHECK_EQ(pl, 0);
        if (pl > 0) {
            p[0].b[5] ^= 0x10;
            CHECK(!pc_verify_consistency(sha, old, size, &roots[old], &roots[size], p, pl));
        }
        free(p);
    }
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    test_vectors();
    test_random();
    arb_sha256_free(sha);
    return arb_test_done();
}
