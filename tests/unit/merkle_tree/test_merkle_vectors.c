/* Outside vectors for the RFC 6962 tree: the classic reference tree of
 * google/certificate-transparency and transparency-dev/merkle (roots, node
 * hashes, inclusion and consistency proofs), transparency-dev/merkle's
 * verifier probes (happy paths and corruptions, each with wantErr), and real
 * static-ct-api tiles of the navigli2025h2 log. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "merkle/buf.h"
#include "merkle/proof.h"
#include "merkle/range.h"
#include "merkle/tile.h"
#include "tests/test.h"

static arb_sha256 *H;

static int hex_hash(arb_hash *out, json_t *v)
{
    const char *s = json_string_value(v);
    return s != NULL && strlen(s) == 64 && arb_hex_decode(out->b, 32, s, 64);
}

/* ---- merkle_rfc6962.json ---- */

/* Node store: node_hashes_by_level from the vector file itself. */
typedef struct {
    arb_hash lvl[4][8];
    unsigned cnt[4];
    uint64_t limit;
    int bad;
} vec_store;

static arb_err vec_get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    vec_store *vs = ud;
    if (level >= 4 || index >= vs->cnt[level] || ((index + 1) << level) > vs->limit) {
        vs->bad = 1;
        return ARB_ERR_NOT_FOUND;
    }
    *out = vs->lvl[level][index];
    return ARB_OK;
}

static int hash_list(json_t *arr, arb_hash *out, size_t *n)
{
    size_t i;
    json_t *v;
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) > ARB_MERKLE_MAX_PROOF)
        return 0;
    json_array_foreach(arr, i, v)
    {
        if (!hex_hash(&out[i], v))
            return 0;
    }
    *n = json_array_size(arr);
    return 1;
}

static void check_inclusion_list(json_t *list, vec_store *vs, arb_hash roots[9], size_t min_count)
{
    size_t i;
    json_t *e;
    CHECK(json_is_array(list) && json_array_size(list) >= min_count);
    json_array_foreach(list, i, e)
    {
        uint64_t m = (uint64_t)json_integer_value(json_object_get(e, "leaf_index"));
        uint64_t n = (uint64_t)json_integer_value(json_object_get(e, "tree_size"));
        arb_hash want[ARB_MERKLE_MAX_PROOF], got[ARB_MERKLE_MAX_PROOF];
        size_t wn, gn;
        arb_merkle_source src = {vec_get_node, vs};

        CHECK(n >= 1 && n <= 8 && m < n);
        CHECK(hash_list(json_object_get(e, "path"), want, &wn));
        vs->limit = n;
        CHECK(arb_merkle_inclusion_build(H, &src, m, n, got, &gn) == ARB_OK);
        CHECK(!vs->bad);
        CHECK_EQ(gn, wn);
        CHECK(memcmp(got, want, wn * sizeof(arb_hash)) == 0);
        CHECK(arb_merkle_inclusion_verify(H, m, n, &vs->lvl[0][m], want, wn, &roots[n], NULL) ==
              ARB_OK);
        arb_hash r;
        if (json_object_get(e, "root") != NULL) {
            CHECK(hex_hash(&r, json_object_get(e, "root")));
            CHECK(memcmp(r.b, roots[n].b, 32) == 0);
        }
    }
}

static void check_consistency_list(json_t *list, vec_store *vs, arb_hash roots[9], size_t min_count)
{
    size_t i;
    json_t *e;
    CHECK(json_is_array(list) && json_array_size(list) >= min_count);
    json_array_foreach(list, i, e)
    {
        uint64_t m = (uint64_t)json_integer_value(json_object_get(e, "old_size"));
        uint64_t n = (uint64_t)json_integer_value(json_object_get(e, "new_size"));
        arb_hash want[ARB_MERKLE_MAX_PROOF], got[ARB_MERKLE_MAX_PROOF];
        size_t wn, gn;
        arb_merkle_source src = {vec_get_node, vs};

        CHECK(m >= 1 && n <= 8 && m <= n);
        CHECK(hash_list(json_object_get(e, "proof"), want, &wn));
        vs->limit = n;
        CHECK(arb_merkle_consistency_build(H, &src, m, n, got, &gn) == ARB_OK);
        CHECK(!vs->bad);
        CHECK_EQ(gn, wn);
        CHECK(memcmp(got, want, wn * sizeof(arb_hash)) == 0);
        CHECK(arb_merkle_consistency_verify(H, m, n, &roots[m], &roots[n], want, wn, NULL) ==
              ARB_OK);
    }
}

static void test_rfc6962_vectors(void)
{
    size_t len;
    uint8_t *text = arb_test_read_vector("ct/merkle_rfc6962.json", &len);
    json_error_t jerr;
    json_t *root = NULL, *v, *lv;
    arb_hash roots[9], got, want;
    arb_merkle_range r;
    vec_store vs;
    size_t i;

    CHECK(text != NULL);
    root = json_loadb((const char *)text, len, 0, &jerr);
    free(text);
    CHECK(root != NULL);
    memset(&vs, 0, sizeof vs);

    /* Empty root and hasher vectors. */
    CHECK(hex_hash(&want, json_object_get(root, "empty_tree_root")));
    arb_merkle_empty_root(&got);
    CHECK(memcmp(got.b, want.b, 32) == 0);
    json_array_foreach(json_object_get(root, "hasher_vectors"), i, v)
    {
        const char *lh = json_string_value(json_object_get(v, "leaf_hex"));
        CHECK(hex_hash(&want, json_object_get(v, "want")));
        if (lh != NULL) {
            uint8_t buf[64];
            size_t n = strlen(lh) / 2;
            CHECK(n <= sizeof buf && arb_hex_decode(buf, n, lh, strlen(lh)));
            arb_merkle_leaf_hash(H, &got, buf, n);
            CHECK(memcmp(got.b, want.b, 32) == 0);
        }
    }

    /* Leaves -> leaf hashes -> compact range roots for sizes 1..8. */
    json_t *leaves = json_object_get(root, "leaves_hex");
    CHECK(json_array_size(leaves) == 8);
    arb_merkle_range_init(&r);
    json_array_foreach(leaves, i, v)
    {
        const char *hx = json_string_value(v);
        uint8_t buf[64];
        size_t n = strlen(hx) / 2;
        char key[24];
        CHECK(n <= sizeof buf && arb_hex_decode(buf, n, hx, strlen(hx)));
        arb_merkle_leaf_hash(H, &got, buf, n);
        CHECK(hex_hash(&want, json_array_get(json_object_get(root, "leaf_hashes_hex"), i)));
        CHECK(memcmp(got.b, want.b, 32) == 0);
        CHECK(arb_merkle_range_append(&r, H, &got) == ARB_OK);
        arb_merkle_range_root(&r, H, &got);
        snprintf(key, sizeof key, "%zu", i + 1);
        CHECK(hex_hash(&roots[i + 1], json_object_get(json_object_get(root, "roots_by_tree_size"),
                                                      key)));
        CHECK(memcmp(got.b, roots[i + 1].b, 32) == 0);
    }
    arb_merkle_empty_root(&roots[0]);

    /* Node hashes by level: the store for the builders; check them against
     * compact ranges over the leaves they cover. */
    for (unsigned l = 0; l < 4; l++) {
        char key[8];
        snprintf(key, sizeof key, "level%u", l);
        lv = json_object_get(json_object_get(root, "node_hashes_by_level"), key);
        CHECK(json_array_size(lv) == 8u >> l);
        vs.cnt[l] = 8u >> l;
        for (unsigned j = 0; j < vs.cnt[l]; j++) {
            arb_merkle_range sub;
            CHECK(hex_hash(&vs.lvl[l][j], json_array_get(lv, j)));
            arb_merkle_range_init(&sub);
            CHECK(arb_merkle_range_append_many(&sub, H, &vs.lvl[0][j << l], 1u << l) == ARB_OK);
            arb_merkle_range_root(&sub, H, &got);
            CHECK(memcmp(got.b, vs.lvl[l][j].b, 32) == 0);
        }
    }
    /* Every size's root from the node source. */
    for (uint64_t n = 0; n <= 8; n++) {
        arb_merkle_source src = {vec_get_node, &vs};
        vs.limit = n;
        CHECK(arb_merkle_source_root(H, &src, n, &got) == ARB_OK);
        CHECK(memcmp(got.b, roots[n].b, 32) == 0);
    }

    check_inclusion_list(json_object_get(root, "inclusion_proofs"), &vs, roots, 5);
    check_consistency_list(json_object_get(root, "consistency_proofs"), &vs, roots, 5);
    v = json_object_get(root, "computed_exhaustive");
    check_inclusion_list(json_object_get(v, "inclusion"), &vs, roots, 36);
    check_consistency_list(json_object_get(v, "consistency"), &vs, roots, 28);
    json_decref(root);
}

/* ---- merkle_probes/ ---- */

/* A probe hash: base64 of any length. A value that is not 32 bytes can never
 * be a SHA-256 hash; it is mapped to a 32-byte value that no real hash is
 * (zero padding after a length marker), so that equal inputs stay equal, as
 * the upstream byte-slice comparisons expect. */
static int probe_hash(json_t *v, arb_hash *out)
{
    const char *s = json_string_value(v);
    uint8_t *d = NULL;
    size_t n = 0;

    if (s == NULL || arb_base64_decode(&d, &n, s, strlen(s)) != ARB_OK)
        return 0;
    memset(out, 0, sizeof *out);
    if (n == 32) {
        memcpy(out->b, d, 32);
    } else if (n < 31) {
        out->b[0] = (uint8_t)(0xA0 + n % 32);
        memcpy(out->b + 1, d, n);
    } else {
        free(d);
        return 0;
    }
    free(d);
    return 1;
}

static int probe_is_32(json_t *v)
{
    const char *s = json_string_value(v);
    uint8_t *d = NULL;
    size_t n = 0;
    if (s == NULL || arb_base64_decode(&d, &n, s, strlen(s)) != ARB_OK)
        return 0;
    free(d);
    return n == 32;
}

static int probe_proof(json_t *v, arb_hash *out, size_t *n)
{
    size_t i;
    json_t *e;

    *n = 0;
    if (json_is_null(v))
        return 1;
    if (!json_is_array(v) || json_array_size(v) > ARB_MERKLE_MAX_PROOF + 1)
        return 0;
    json_array_foreach(v, i, e)
    {
        if (!probe_hash(e, &out[i]))
            return 0;
    }
    *n = json_array_size(v);
    return 1;
}

static unsigned long probes_run, probes_ok;

/* The probe sizes and indices are uint64 and one is 2^64 - 1, beyond what
 * jansson's integers hold: read them from the text with strtoull and blank
 * them out (keeping the JSON valid) before parsing the rest. */
static int take_u64(char *text, const char *key, uint64_t *v)
{
    char pat[32], *p, *end;
    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(text, pat);
    if (p == NULL)
        return 0;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p < '0' || *p > '9')
        return 0;
    *v = strtoull(p, &end, 10);
    if (end == p || end - p > 20)
        return 0;
    memset(p, ' ', (size_t)(end - p - 1));
    end[-1] = '0';
    return 1;
}

static void run_probe(const char *path, int consistency)
{
    uint8_t *text;
    size_t len;
    json_t *j;
    json_error_t jerr;
    arb_hash proof[ARB_MERKLE_MAX_PROOF + 1], a, b, leaf;
    size_t pn;
    uint64_t m, n;
    arb_err e;
    arb_errbuf eb;
    int ok;

    text = arb_test_read_file(path, &len);
    CHECK(text != NULL);
    ok = take_u64((char *)text, consistency ? "size1" : "leafIdx", &m) &&
         take_u64((char *)text, consistency ? "size2" : "treeSize", &n);
    j = ok ? json_loadb((const char *)text, len, 0, &jerr) : NULL;
    free(text);
    CHECK(ok && j != NULL);
    int want_err = json_is_true(json_object_get(j, "wantErr"));
    CHECK(json_is_boolean(json_object_get(j, "wantErr")));
    CHECK(probe_proof(json_object_get(j, "proof"), proof, &pn));
    if (consistency) {
        CHECK(probe_hash(json_object_get(j, "root1"), &a));
        CHECK(probe_hash(json_object_get(j, "root2"), &b));
        e = arb_merkle_consistency_verify(H, m, n, &a, &b, proof, pn, &eb);
    } else {
        CHECK(probe_hash(json_object_get(j, "root"), &a));
        /* A leaf hash must be a hash: like the upstream verifier, reject
         * one of the wrong size before verifying (our API takes only
         * 32-byte hashes, so such a value never reaches it). */
        if (!probe_is_32(json_object_get(j, "leafHash")))
            e = ARB_ERR_PARSE;
        else {
            CHECK(probe_hash(json_object_get(j, "leafHash"), &leaf));
            e = arb_merkle_inclusion_verify(H, m, n, &leaf, proof, pn, &a, &eb);
        }
    }
    json_decref(j);
    if ((e != ARB_OK) != want_err)
        arb_test_fail(__FILE__, __LINE__, "probe %s: wantErr %d, got %s", path, want_err,
                      arb_err_str(e));
    else
        arb_test_passed++;
    CHECK(e == ARB_OK || e == ARB_ERR_VERIFY || e == ARB_ERR_INVALID_ARG || e == ARB_ERR_PARSE);
    probes_run++;
    probes_ok += e == ARB_OK;
}

static void walk_probes(const char *dir, int consistency)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    CHECK(d != NULL);
    while ((de = readdir(d)) != NULL) {
        char path[1024];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk_probes(path, consistency);
        else if (strlen(de->d_name) > 5 && strcmp(de->d_name + strlen(de->d_name) - 5, ".json") == 0)
            run_probe(path, consistency);
    }
    closedir(d);
}

static void test_probes(void)
{
    char dir[1024];

    arb_test_vector_path(dir, sizeof dir, "ct/merkle_probes/inclusion");
    walk_probes(dir, 0);
    arb_test_vector_path(dir, sizeof dir, "ct/merkle_probes/consistency");
    walk_probes(dir, 1);
    /* SOURCES.md says about 196 probes; the happy paths must be among them. */
    CHECK(probes_run >= 190);
    CHECK(probes_ok >= 10);
    printf("%lu probes, %lu valid\n", probes_run, probes_ok);
}

/* ---- real tiles: static_ct/navigli2025h2_real ---- */

#define NAVIGLI "ct/static_ct/navigli2025h2_real/"

typedef struct {
    unsigned reads;
    char last_path[ARB_TILE_PATH_MAX];
    int saw_partial;
} tile_reader;

/* Level-0 tiles come from files; the level-1 tile is not in the vectors, so
 * its entries are computed from the full level-0 tiles (each entry is the
 * MTH of one full tile below, tlog-tiles "Merkle Tree"). */
static arb_err read_tile(void *ud, const arb_tile *t, uint8_t out[static ARB_TILE_WIDTH * 32])
{
    tile_reader *tr = ud;
    char path[ARB_TILE_PATH_MAX], rel[256];
    uint8_t *data;
    size_t len;
    arb_err err;

    tr->reads++;
    if ((err = arb_tile_path(t, path, sizeof path)) != ARB_OK)
        return err;
    snprintf(tr->last_path, sizeof tr->last_path, "%s", path);
    if (t->width < ARB_TILE_WIDTH)
        tr->saw_partial = 1;
    if (t->level == 0) {
        snprintf(rel, sizeof rel, NAVIGLI "%s", path);
        data = arb_test_read_vector(rel, &len);
        if (data == NULL)
            return ARB_ERR_NOT_FOUND;
        if (len != (size_t)t->width * 32) {
            free(data);
            return ARB_ERR_PARSE;
        }
        memcpy(out, data, len);
        free(data);
        return ARB_OK;
    }
    if (t->level != 1 || t->index != 0)
        return ARB_ERR_NOT_FOUND;
    for (unsigned i = 0; i < t->width; i++) {
        arb_tile below = {ARB_TILE_HASH, 0, i, ARB_TILE_WIDTH};
        uint8_t *d;
        arb_hash hh;
        snprintf(rel, sizeof rel, NAVIGLI "tile/0/%03u", i);
        d = arb_test_read_vector(rel, &len);
        if (d == NULL)
            return ARB_ERR_NOT_FOUND;
        err = arb_tile_node_hash(H, &below, d, len, 8, i, &hh);
        free(d);
        if (err != ARB_OK)
            return err;
        memcpy(out + 32 * i, hh.b, 32);
    }
    return ARB_OK;
}

static void test_navigli_tiles(void)
{
    size_t len;
    uint8_t *text = arb_test_read_vector(NAVIGLI "expected.json", &len);
    json_t *j;
    json_error_t jerr;
    arb_hash want778, want1024, wantl1, got, leaf;
    arb_tile_source ts;
    tile_reader tr;
    arb_merkle_source src = {arb_tile_source_get_node, &ts};
    arb_merkle_range r;

    CHECK(text != NULL);
    j = json_loadb((const char *)text, len, 0, &jerr);
    free(text);
    CHECK(j != NULL);
    CHECK(probe_hash(json_object_get(j, "computed_root_size_778_b64"), &want778));
    CHECK(probe_hash(json_object_get(j, "computed_root_size_1024_b64"), &want1024));
    CHECK(hex_hash(&wantl1, json_object_get(j, "computed_level1_hash_of_tile_0_000_hex")));
    CHECK(strcmp(json_string_value(json_object_get(
                     json_object_get(j, "url_examples_from_spec"), "tile index 1234067")),
                 "x001/x234/067") == 0);
    json_decref(j);

    /* The level-1 hash of tile 0/000: the tile's whole subtree (tree level 8). */
    uint8_t *t0 = arb_test_read_vector(NAVIGLI "tile/0/000", &len);
    arb_tile tile0 = {ARB_TILE_HASH, 0, 0, ARB_TILE_WIDTH};
    CHECK(t0 != NULL && len == 8192);
    CHECK(arb_tile_node_hash(H, &tile0, t0, len, 8, 0, &got) == ARB_OK);
    free(t0);
    CHECK(memcmp(got.b, wantl1.b, 32) == 0);

    /* The partial tile is a prefix of the full one. */
    uint8_t *p = arb_test_read_vector(NAVIGLI "tile/0/003.p/10", &len);
    size_t flen;
    uint8_t *f = arb_test_read_vector(NAVIGLI "tile/0/003", &flen);
    CHECK(p != NULL && f != NULL && len == 320 && flen == 8192 && memcmp(p, f, 320) == 0);
    free(p);

    /* Roots through the tile node source. Size 778 = 3 full tiles + 10. */
    memset(&tr, 0, sizeof tr);
    arb_tile_source_init(&ts, H, 778, read_tile, &tr);
    CHECK(arb_merkle_source_root(H, &src, 778, &got) == ARB_OK);
    CHECK(memcmp(got.b, want778.b, 32) == 0);
    CHECK(tr.saw_partial);
    memset(&tr, 0, sizeof tr);
    arb_tile_source_init(&ts, H, 1024, read_tile, &tr);
    CHECK(arb_merkle_source_root(H, &src, 1024, &got) == ARB_OK);
    CHECK(memcmp(got.b, want1024.b, 32) == 0);
    CHECK_STR(tr.last_path, "tile/1/000.p/4");

    /* The same roots from a compact range over all 1024 leaf hashes; and
     * inclusion and consistency proofs built from tiles verify. */
    arb_merkle_range_init(&r);
    for (unsigned k = 0; k < 4; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, NAVIGLI "tile/0/%03u", k);
        uint8_t *d = k == 3 ? f : arb_test_read_vector(rel, &len);
        CHECK(d != NULL);
        for (unsigned i = 0; i < 256; i++) {
            memcpy(leaf.b, d + 32 * i, 32);
            CHECK(arb_merkle_range_append(&r, H, &leaf) == ARB_OK);
            if (r.size == 778) {
                arb_merkle_range_root(&r, H, &got);
                CHECK(memcmp(got.b, want778.b, 32) == 0);
            }
        }
        if (k != 3)
            free(d);
    }
    arb_merkle_range_root(&r, H, &got);
    CHECK(memcmp(got.b, want1024.b, 32) == 0);

    arb_hash proof[ARB_MERKLE_MAX_PROOF];
    size_t pn;
    uint64_t idx[] = {0, 1, 255, 256, 511, 777, 1000, 1023};
    for (size_t k = 0; k < sizeof idx / sizeof idx[0]; k++) {
        memcpy(leaf.b, f + 32 * (idx[k] % 256), 32);
        if (idx[k] < 768) {
            char rel[128];
            snprintf(rel, sizeof rel, NAVIGLI "tile/0/%03u", (unsigned)(idx[k] / 256));
            uint8_t *d = arb_test_read_vector(rel, &len);
            CHECK(d != NULL);
            memcpy(leaf.b, d + 32 * (idx[k] % 256), 32);
            free(d);
        }
        arb_tile_source_init(&ts, H, 1024, read_tile, &tr);
        CHECK(arb_merkle_inclusion_build(H, &src, idx[k], 1024, proof, &pn) == ARB_OK);
        CHECK(arb_merkle_inclusion_verify(H, idx[k], 1024, &leaf, proof, pn, &want1024, NULL) ==
              ARB_OK);
        if (idx[k] < 778) {
            arb_tile_source_init(&ts, H, 778, read_tile, &tr);
            CHECK(arb_merkle_inclusion_build(H, &src, idx[k], 778, proof, &pn) == ARB_OK);
            CHECK(arb_merkle_inclusion_verify(H, idx[k], 778, &leaf, proof, pn, &want778, NULL) ==
                  ARB_OK);
        }
    }
    free(f);
    arb_tile_source_init(&ts, H, 1024, read_tile, &tr);
    CHECK(arb_merkle_consistency_build(H, &src, 778, 1024, proof, &pn) == ARB_OK);
    CHECK(arb_merkle_consistency_verify(H, 778, 1024, &want778, &want1024, proof, pn, NULL) ==
          ARB_OK);
}

int main(void)
{
    if (arb_sha256_new(&H) != ARB_OK)
        return 1;
    test_rfc6962_vectors();
    test_probes();
    test_navigli_tiles();
    arb_sha256_free(H);
    return arb_test_done();
}
