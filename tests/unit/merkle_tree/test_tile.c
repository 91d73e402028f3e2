/* C2SP tlog-tiles arithmetic: widths and counts (the spec's 70,000 example),
 * path encoding and strict parsing, nodes hashed from tiles against a naive
 * node store, and proofs built from tiles equal to proofs built from nodes. */
#include <stdlib.h>
#include <string.h>

#include "merkle/proof.h"
#include "merkle/tile.h"
#include "tests/test.h"
#include "tests/unit/merkle_tree/ref.h"

static arb_sha256 *H;

static void test_counts(void)
{
    uint64_t full;
    unsigned part;

    /* tlog-tiles: "a tree of size 70,000 will be represented by 273 full level
     * 0 tiles, one partial level 0 tile of width 112, one full level 1 tile,
     * one partial level 1 tile of width 17, and one partial level 2 tile of
     * width 1." */
    arb_tile_count(70000, 0, &full, &part);
    CHECK(full == 273 && part == 112);
    arb_tile_count(70000, 1, &full, &part);
    CHECK(full == 1 && part == 17);
    arb_tile_count(70000, 2, &full, &part);
    CHECK(full == 0 && part == 1);
    arb_tile_count(70000, 3, &full, &part);
    CHECK(full == 0 && part == 0);
    CHECK_EQ(arb_tile_width(70000, 0, 272), 256);
    CHECK_EQ(arb_tile_width(70000, 0, 273), 112);
    CHECK_EQ(arb_tile_width(70000, 0, 274), 0);
    CHECK_EQ(arb_tile_width(70000, 1, 0), 256);
    CHECK_EQ(arb_tile_width(70000, 1, 1), 17);
    CHECK_EQ(arb_tile_width(70000, 2, 0), 1);
    /* "a tree of size 256 will be represented by a full level 0 tile and a
     * partial level 1 tile of width 1." */
    CHECK_EQ(arb_tile_width(256, 0, 0), 256);
    CHECK_EQ(arb_tile_width(256, 0, 1), 0);
    CHECK_EQ(arb_tile_width(256, 1, 0), 1);
    CHECK_EQ(arb_tile_width(0, 0, 0), 0);
    CHECK_EQ(arb_tile_width(UINT64_MAX, 7, 0), 255);
    CHECK_EQ(arb_tile_width(UINT64_MAX, 8, 0), 0);
    CHECK_EQ(arb_tile_width(UINT64_MAX, 63, 0), 0);
    CHECK_EQ(arb_tile_width(UINT64_MAX, 0, UINT64_MAX), 0);
    CHECK_EQ(arb_tile_width(UINT64_MAX, 0, (UINT64_MAX >> 8) - 1), 256);
    CHECK_EQ(arb_tile_width(UINT64_MAX, 0, UINT64_MAX >> 8), 255);
}

static void check_path(arb_tile_kind kind, unsigned level, uint64_t index, unsigned width,
                       const char *want)
{
    arb_tile t = {kind, level, index, width}, back;
    char buf[ARB_TILE_PATH_MAX];

    CHECK(arb_tile_path(&t, buf, sizeof buf) == ARB_OK);
    CHECK_STR(buf, want);
    CHECK(arb_tile_path_parse(&back, buf, strlen(buf)) == ARB_OK);
    CHECK(back.kind == kind && back.level == level && back.index == index && back.width == width);
    /* Too small a buffer is an error with an empty string, never a cut path. */
    CHECK(arb_tile_path(&t, buf, strlen(want)) == ARB_ERR_INVALID_ARG);
    CHECK_EQ(buf[0], 0);
}

static void test_paths(void)
{
    char buf[ARB_TILE_PATH_MAX];

    check_path(ARB_TILE_HASH, 0, 1234067, 256, "tile/0/x001/x234/067");
    check_path(ARB_TILE_HASH, 0, 3, 10, "tile/0/003.p/10");
    check_path(ARB_TILE_DATA, 0, 3, 10, "tile/data/003.p/10");
    check_path(ARB_TILE_ENTRIES, 0, 1000, 256, "tile/entries/x001/000");
    check_path(ARB_TILE_HASH, 0, 0, 256, "tile/0/000");
    check_path(ARB_TILE_HASH, 1, 999, 1, "tile/1/999.p/1");
    check_path(ARB_TILE_HASH, 63, 1000000, 255, "tile/63/x001/x000/000.p/255");
    check_path(ARB_TILE_DATA, 0, UINT64_MAX, 256, "tile/data/x018/x446/x744/x073/x709/x551/615");
    check_path(ARB_TILE_HASH, 12, UINT64_MAX, 7,
               "tile/12/x018/x446/x744/x073/x709/x551/615.p/7");

    /* Invalid tiles are not formatted. */
    arb_tile bad[] = {{ARB_TILE_HASH, 64, 0, 256}, {ARB_TILE_HASH, 0, 0, 0},
                      {ARB_TILE_HASH, 0, 0, 257}, {ARB_TILE_DATA, 1, 0, 256},
                      {(arb_tile_kind)7, 0, 0, 256}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(arb_tile_path(&bad[i], buf, sizeof buf) == ARB_ERR_INVALID_ARG);

    /* Strict parsing: only the canonical form. */
    static const char *rejects[] = {
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "/tile/0/000",
        "tiles/0/000",
        "tile/0/1234067",
        "tile/0/x001/x234/67",
        "tile/0/x001/x234/0067",
        "tile/0/x000/001",
        "tile/0/x000/x001/001",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/100/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile//000",
        "tile/0/0001",
        "tile/0/00",
        "tile/0/X001/000",
        "tile/0/x001",
        "tile/0/x001/",
        "tile/0/001/002",
        "tile/0/000/",
        "tile/0/000 ",
        " tile/0/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/010",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000.p/10/",
        "tile/0/000.p/1x",
        "tile/0/000.p/-1",
        "tile/0/000.q/10",
        "tile/0/000p/10",
        "tile/0/000.p/1000",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x999/x999/x999/x999/x999/x999/999",
        "tile/0/x001/x001/x001/x001/x001/x001/x001/001",
        "tile/data/0/000",
        "tile/data/",
        "tile/data/x000/000",
        "tile/entries/00",
        "tile/DATA/000",
        "tile/data",
        "tile/0/x0a1/000",
    };
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
        arb_tile t;
        arb_err e = arb_tile_path_parse(&t, rejects[i], strlen(rejects[i]));
        if (e != ARB_ERR_PARSE)
            arb_test_fail(__FILE__, __LINE__, "accepted bad tile path \"%s\"", rejects[i]);
        else
            arb_test_passed++;
        CHECK(t.index == 0 && t.width == 0);
    }
    /* An embedded NUL inside the given length is not a path. */
    CHECK(arb_tile_path_parse(&(arb_tile){0}, "tile/0/000\0", 11) == ARB_ERR_PARSE);
    /* A prefix of a valid path is judged on its own length. */
    arb_tile t;
    CHECK(arb_tile_path_parse(&t, "tile/0/000.p/10", 10) == ARB_OK);
    CHECK(t.width == 256);

    /* Random round trips. */
    for (unsigned long i = 0; i < arb_test_count(20000); i++) {
        arb_tile a, b;
        a.kind = (arb_tile_kind)arb_test_rand_below(3);
        a.level = a.kind == ARB_TILE_HASH ? (unsigned)arb_test_rand_below(64) : 0;
        a.index = arb_test_rand() >> arb_test_rand_below(64);
        a.width = arb_test_rand_below(2) ? 256 : 1 + (unsigned)arb_test_rand_below(255);
        CHECK(arb_tile_path(&a, buf, sizeof buf) == ARB_OK);
        CHECK(arb_tile_path_parse(&b, buf, strlen(buf)) == ARB_OK);
        CHECK(a.kind == b.kind && a.level == b.level && a.index == b.index && a.width == b.width);
    }
}

/* Tiles generated from a store of every node: tile (L, N) of width W holds
 * the level-8L nodes N*256 .. N*256 + W - 1. */
static ref_store ST;
static unsigned long READS;

static arb_err store_tile(void *ud, const arb_tile *t, uint8_t out[static ARB_TILE_WIDTH * 32])
{
    ref_store *st = ud;
    READS++;
    if (t->kind != ARB_TILE_HASH || t->width == 0 || t->width > 256)
        return ARB_ERR_INVALID_ARG;
    for (unsigned i = 0; i < t->width; i++) {
        uint64_t idx = t->index * 256 + i;
        uint64_t lvl = 8 * (uint64_t)t->level;
        if (((idx + 1) << lvl) > st->limit)
            return ARB_ERR_NOT_FOUND; /* a tile wider than the tree allows */
        arb_hash x;
        ref_node(st, lvl, idx, &x);
        memcpy(out + 32 * i, x.b, 32);
    }
    return ARB_OK;
}

static void test_node_hashes(void)
{
    const uint64_t N = 70000;
    static uint8_t data[256 * 32];
    arb_tile t;
    unsigned off, cnt;
    arb_hash want, got;

    /* Every node of levels 0..16 near tile edges and at random positions. */
    for (uint64_t level = 0; level <= 16; level++) {
        uint64_t nodes = N >> level;
        for (int k = 0; k < 60; k++) {
            uint64_t idx = k < 4 ? (uint64_t)k % nodes
                           : k < 8 ? (nodes - 1 - (uint64_t)(k - 4) % nodes)
                                   : arb_test_rand_below(nodes);
            ref_node(&ST, level, idx, &want);
            CHECK(arb_tile_for_node(level, idx, &t, &off, &cnt) == ARB_OK);
            CHECK_EQ(t.level, level / 8);
            CHECK_EQ(cnt, 1u << (level % 8));
            CHECK_EQ(t.index * 256 + off, idx << (level % 8));
            t.width = arb_tile_width(N, t.level, t.index);
            CHECK(t.width >= off + cnt);
            ST.limit = N;
            CHECK(store_tile(&ST, &t, data) == ARB_OK);
            CHECK(arb_tile_node_hash(H, &t, data, t.width * 32u, level, idx, &got) == ARB_OK);
            CHECK(memcmp(got.b, want.b, 32) == 0);
            /* Outside the tile: the wrong tile index, wrong length, too high,
             * too low a level. */
            arb_tile o = t;
            o.index++;
            CHECK(arb_tile_node_hash(H, &o, data, t.width * 32u, level, idx, &got) ==
                  ARB_ERR_INVALID_ARG);
            CHECK(got.b[0] == 0 && got.b[31] == 0);
            CHECK(arb_tile_node_hash(H, &t, data, t.width * 32u - 1, level, idx, &got) ==
                  ARB_ERR_INVALID_ARG);
            CHECK(arb_tile_node_hash(H, &t, data, t.width * 32u, 8 * t.level + 9, 0, &got) ==
                  ARB_ERR_INVALID_ARG);
            if (t.level > 0)
                CHECK(arb_tile_node_hash(H, &t, data, t.width * 32u, 8 * t.level - 1, 0, &got) ==
                      ARB_ERR_INVALID_ARG);
        }
    }
    /* A whole full tile hashes to the node one tile level up; a partial
     * tile cannot give it. */
    t = (arb_tile){ARB_TILE_HASH, 0, 5, 256};
    CHECK(store_tile(&ST, &t, data) == ARB_OK);
    CHECK(arb_tile_node_hash(H, &t, data, sizeof data, 8, 5, &got) == ARB_OK);
    ref_node(&ST, 8, 5, &want);
    CHECK(memcmp(got.b, want.b, 32) == 0);
    t.width = 255;
    CHECK(arb_tile_node_hash(H, &t, data, 255 * 32, 8, 5, &got) == ARB_ERR_INVALID_ARG);
    t.width = 200; /* entries 128..255 missing: node (7, 11) needs them */
    CHECK(arb_tile_node_hash(H, &t, data, 200 * 32, 7, 11, &got) == ARB_ERR_INVALID_ARG);
    CHECK(arb_tile_node_hash(H, &t, data, 200 * 32, 6, 22, &got) == ARB_OK);
    t.kind = ARB_TILE_DATA;
    CHECK(arb_tile_node_hash(H, &t, data, 200 * 32, 6, 22, &got) == ARB_ERR_INVALID_ARG);
    CHECK(arb_tile_for_node(64, 0, &t, &off, &cnt) == ARB_ERR_INVALID_ARG);
    CHECK(arb_tile_for_node(10, (uint64_t)1 << 54, &t, &off, &cnt) == ARB_ERR_INVALID_ARG);
    CHECK(arb_tile_for_node(10, ((uint64_t)1 << 54) - 1, &t, &off, &cnt) == ARB_OK);
}

/* Proofs from the tile source equal proofs from the node store, for sizes
 * around tile boundaries (full and partial tiles at every level). */
static void test_tile_source_proofs(void)
{
    uint64_t sizes[] = {1, 2, 255, 256, 257, 511, 512, 513, 778, 1024, 65535, 65536, 65537,
                        69999, 70000};
    arb_hash a[ARB_MERKLE_MAX_PROOF], b[ARB_MERKLE_MAX_PROOF], ra, rb;
    size_t an, bn;
    arb_tile_source ts;

    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint64_t n = sizes[k];
        arb_merkle_source tsrc = {arb_tile_source_get_node, &ts};
        arb_merkle_source nsrc = {ref_get_node, &ST};
        ST.limit = n;
        arb_tile_source_init(&ts, H, n, store_tile, &ST);
        CHECK(arb_merkle_source_root(H, &tsrc, n, &ra) == ARB_OK);
        CHECK(arb_merkle_source_root(H, &nsrc, n, &rb) == ARB_OK);
        CHECK(memcmp(ra.b, rb.b, 32) == 0);
        for (int t = 0; t < 20; t++) {
            uint64_t m = t == 0 ? n - 1 : arb_test_rand_below(n);
            CHECK(arb_merkle_inclusion_build(H, &tsrc, m, n, a, &an) == ARB_OK);
            CHECK(arb_merkle_inclusion_build(H, &nsrc, m, n, b, &bn) == ARB_OK);
            CHECK(an == bn && memcmp(a, b, an * sizeof(arb_hash)) == 0);
            uint64_t m1 = 1 + arb_test_rand_below(n);
            CHECK(arb_merkle_consistency_build(H, &tsrc, m1, n, a, &an) == ARB_OK);
            CHECK(arb_merkle_consistency_build(H, &nsrc, m1, n, b, &bn) == ARB_OK);
            CHECK(an == bn && memcmp(a, b, an * sizeof(arb_hash)) == 0);
        }
        CHECK(!ST.bad_request);
        /* Nodes that are not perfect subtrees inside the tree are refused. */
        CHECK(arb_tile_source_get_node(&ts, 0, n, &ra) == ARB_ERR_INVALID_ARG);
        CHECK(arb_tile_source_get_node(&ts, 64, 0, &ra) == ARB_ERR_INVALID_ARG);
    }
    /* The reader's error is passed on. */
    arb_tile_source_init(&ts, H, 100, store_tile, &ST);
    ST.limit = 50;
    CHECK(arb_tile_source_get_node(&ts, 0, 70, &ra) == ARB_ERR_NOT_FOUND);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK)
        return 1;
    if (ref_store_build(&ST, H, NULL, 70000, 0) != 0)
        return 1;
    test_counts();
    test_paths();
    test_node_hashes();
    test_tile_source_proofs();
    ref_store_free(&ST);
    arb_sha256_free(H);
    return arb_test_done();
}
