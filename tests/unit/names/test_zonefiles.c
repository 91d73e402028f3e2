/* The zone-file store (ledger/names/zonefiles.h) against a test oracle, and
 * its hash set (ledger/names/hset.h) against a naive reference:
 *   - a zone file is taken only when its hash is on chain, within 40,960
 *     bytes, and matching the hash asked for; nothing is stored otherwise;
 *   - stored files and their count survive a reopen; listing pages in order;
 *   - the missing set: bounded scan steps, a tip change during a scan,
 *     hashes that leave the chain (a reorganization) leave the set, stored
 *     files leave it, the stored hook fires once per new file;
 *   - the hash set: seeded random puts, gets and deletes agree with a plain
 *     array. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/names/hset.h"
#include "ledger/names/zonefiles.h"
#include "ledger/store/store.h"
#include "merkle/hash.h"
#include "tests/test.h"

/* ---------------------------------------------------------------- test oracle */

typedef struct {
    uint8_t (*h)[32]; /* sorted */
    size_t n;
    int fail;         /* each() fails */
    size_t calls;     /* hashes handed out by each() */
} oracle;

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void oracle_add(oracle *o, const uint8_t h[32])
{
    o->h = realloc(o->h, (o->n + 1) * 32);
    memcpy(o->h[o->n++], h, 32);
    qsort(o->h, o->n, 32, cmp32);
}

static void oracle_del(oracle *o, const uint8_t h[32])
{
    for (size_t i = 0; i < o->n; i++)
        if (memcmp(o->h[i], h, 32) == 0) {
            memmove(o->h[i], o->h[i + 1], (o->n - i - 1) * 32);
            o->n--;
            return;
        }
}

static int o_onchain(void *ud, const uint8_t hash32[32])
{
    oracle *o = ud;
    return o->n > 0 && bsearch(hash32, o->h, o->n, 32, cmp32) != NULL;
}

static arb_err o_each(void *ud, const uint8_t *after32,
                      int (*fn)(void *fn_ud, const uint8_t hash32[32]), void *fn_ud)
{
    oracle *o = ud;
    if (o->fail)
        return ARB_ERR_DB;
    for (size_t i = 0; i < o->n; i++) {
        if (after32 != NULL && memcmp(o->h[i], after32, 32) <= 0)
            continue;
        o->calls++;
        if (fn(fn_ud, o->h[i]))
            break;
    }
    return ARB_OK;
}

/* ---------------------------------------------------------------- helpers */

static arb_sha256 *sha;
static char dir[1024];

static void zf_text(char *out, size_t cap, unsigned i)
{
    snprintf(out, cap, "$ORIGIN name%u.id\n$TTL 3600\n_http._tcp URI 10 1 \"https://%u.example/\"\n",
             i, i);
}

static void hash_of(uint8_t out[32], const char *s)
{
    arb_sha256_digest(sha, out, s, strlen(s));
}

static arb_store *open_store(void)
{
    const char *names[2] = {"default", arb_zonefiles_cf_names()[0]};
    arb_store *s = NULL;
    arb_errbuf eb;
    if (arb_store_open(&s, dir, names, 2, NULL, &eb) != ARB_OK)
        fprintf(stderr, "store: %s\n", eb.msg);
    return s;
}

typedef struct {
    size_t n;
    uint8_t last[32];
} hooked;

static void hook(void *ud, const uint8_t hash32[32])
{
    hooked *h = ud;
    h->n++;
    memcpy(h->last, hash32, 32);
}

/* Runs scan steps until the set is up to date; returns how many steps. */
static size_t scan_all(arb_zonefiles *z, size_t step)
{
    size_t steps = 0;
    while (arb_zonefiles_scan_step(z, step) == 1 && steps < 100000)
        steps++;
    return steps + 1;
}

/* ---------------------------------------------------------------- tests */

static void test_add_get(void)
{
    oracle o = {0};
    arb_zonefiles_oracle zo = {o_onchain, o_each, &o};
    arb_store *s = open_store();
    arb_zonefiles *z = NULL;
    arb_errbuf eb;
    hooked hk = {0};
    char t[256];
    uint8_t h[32], got[32], *buf;
    size_t len;
    int is_new;
    CHECK(s != NULL);
    CHECK(arb_zonefiles_open(&z, s, 1, &zo, &eb) == ARB_OK);
    arb_zonefiles_set_hook(z, hook, &hk);

    zf_text(t, sizeof t, 1);
    hash_of(h, t);
    /* Not on chain: refused, nothing stored, no hook. */
    CHECK_EQ(arb_zonefiles_add(z, (const uint8_t *)t, strlen(t), NULL, got, &is_new, &eb),
             ARB_ERR_NOT_FOUND);
    CHECK(!arb_zonefiles_has(z, h));
    CHECK_EQ(hk.n, 0);
    oracle_add(&o, h);
    /* Mismatched with the hash asked for: refused before the chain is asked. */
    uint8_t other[32];
    memset(other, 7, 32);
    CHECK_EQ(arb_zonefiles_add(z, (const uint8_t *)t, strlen(t), other, got, &is_new, &eb),
             ARB_ERR_VERIFY);
    CHECK(!arb_zonefiles_has(z, h));
    /* Taken. */
    CHECK_EQ(arb_zonefiles_add(z, (const uint8_t *)t, strlen(t), h, got, &is_new, &eb), ARB_OK);
    CHECK_MEM(got, h, 32);
    CHECK_EQ(is_new, 1);
    CHECK_EQ(hk.n, 1);
    CHECK_MEM(hk.last, h, 32);
    CHECK(arb_zonefiles_has(z, h));
    CHECK_EQ(arb_zonefiles_count(z), 1);
    /* Again: fine, not new, no second hook. */
    CHECK_EQ(arb_zonefiles_add(z, (const uint8_t *)t, strlen(t), NULL, got, &is_new, &eb), ARB_OK);
    CHECK_EQ(is_new, 0);
    CHECK_EQ(hk.n, 1);
    CHECK_EQ(arb_zonefiles_count(z), 1);
    CHECK_EQ(arb_zonefiles_get(z, h, &buf, &len, &eb), ARB_OK);
    CHECK_EQ(len, strlen(t));
    CHECK_MEM(buf, t, len);
    free(buf);
    CHECK_EQ(arb_zonefiles_get(z, other, &buf, &len, &eb), ARB_ERR_NOT_FOUND);

    /* The size bound: 40,960 bytes are taken, 40,961 are not (even on chain). */
    uint8_t *big = malloc(ARB_NAMES_ZONEFILE_MAX + 1);
    CHECK(big != NULL);
    memset(big, 'x', ARB_NAMES_ZONEFILE_MAX + 1);
    uint8_t hb[32], hb1[32];
    arb_sha256_digest(sha, hb, big, ARB_NAMES_ZONEFILE_MAX);
    arb_sha256_digest(sha, hb1, big, ARB_NAMES_ZONEFILE_MAX + 1);
    oracle_add(&o, hb);
    oracle_add(&o, hb1);
    CHECK_EQ(arb_zonefiles_add(z, big, ARB_NAMES_ZONEFILE_MAX + 1, NULL, got, NULL, &eb),
             ARB_ERR_INVALID_ARG);
    CHECK(!arb_zonefiles_has(z, hb1));
    CHECK_EQ(arb_zonefiles_add(z, big, ARB_NAMES_ZONEFILE_MAX, NULL, got, NULL, &eb), ARB_OK);
    CHECK(arb_zonefiles_has(z, hb));
    free(big);
    /* An empty zone file is a zone file too. */
    uint8_t he[32];
    arb_sha256_digest(sha, he, "", 0);
    oracle_add(&o, he);
    CHECK_EQ(arb_zonefiles_add(z, NULL, 0, NULL, got, NULL, &eb), ARB_OK);
    CHECK_EQ(arb_zonefiles_get(z, he, &buf, &len, &eb), ARB_OK);
    CHECK_EQ(len, 0);
    free(buf);
    CHECK_EQ(arb_zonefiles_count(z), 3);

    /* Reopened: the files and the count are there. */
    arb_zonefiles_free(z);
    arb_store_close(s);
    s = open_store();
    CHECK(s != NULL);
    CHECK(arb_zonefiles_open(&z, s, 1, &zo, &eb) == ARB_OK);
    CHECK_EQ(arb_zonefiles_count(z), 3);
    CHECK(arb_zonefiles_has(z, h) && arb_zonefiles_has(z, hb) && arb_zonefiles_has(z, he));
    arb_zonefiles_free(z);
    arb_store_close(s);
    free(o.h);
}

static void test_list(void)
{
    oracle o = {0};
    arb_zonefiles_oracle zo = {o_onchain, o_each, &o};
    arb_store *s = open_store();
    arb_zonefiles *z = NULL;
    arb_errbuf eb;
    uint8_t all[300][32], page[64][32], after[32];
    size_t n, total = 0;
    int have_after = 0;
    CHECK(s != NULL);
    CHECK(arb_zonefiles_open(&z, s, 1, &zo, &eb) == ARB_OK);
    uint64_t before = arb_zonefiles_count(z);
    for (unsigned i = 0; i < 300; i++) {
        char t[256];
        uint8_t got[32];
        zf_text(t, sizeof t, 1000 + i);
        hash_of(all[i], t);
        oracle_add(&o, all[i]);
        CHECK_EQ(arb_zonefiles_add(z, (const uint8_t *)t, strlen(t), NULL, got, NULL, &eb), ARB_OK);
    }
    CHECK_EQ(arb_zonefiles_count(z), before + 300);
    /* Pages of 64 walk every stored hash once, in increasing order. */
    uint8_t prev[32];
    for (;;) {
        CHECK_EQ(arb_zonefiles_list(z, have_after ? after : NULL, page, 64, &n), ARB_OK);
        for (size_t i = 0; i < n; i++) {
            if (total > 0)
                CHECK(memcmp(prev, page[i], 32) < 0);
            memcpy(prev, page[i], 32);
            total++;
        }
        if (n < 64)
            break;
        memcpy(after, page[n - 1], 32);
        have_after = 1;
    }
    CHECK_EQ(total, before + 300);
    for (unsigned i = 0; i < 300; i++)
        CHECK(arb_zonefiles_has(z, all[i]));
    arb_zonefiles_free(z);
    arb_store_close(s);
    free(o.h);
}

static void test_missing(void)
{
    oracle o = {0};
    arb_zonefiles_oracle zo = {o_onchain, o_each, &o};
    arb_store *s = open_store();
    arb_zonefiles *z = NULL;
    arb_errbuf eb;
    char t[50][256];
    uint8_t h[50][32], got[32];
    CHECK(s != NULL);
    for (unsigned i = 0; i < 50; i++) {
        zf_text(t[i], sizeof t[i], 5000 + i);
        hash_of(h[i], t[i]);
    }
    /* 40 on chain; some of them stored already by an earlier run. */
    for (unsigned i = 0; i < 40; i++)
        oracle_add(&o, h[i]);
    CHECK(arb_zonefiles_open(&z, s, 1, &zo, &eb) == ARB_OK);
    for (unsigned i = 0; i < 10; i++)
        CHECK_EQ(arb_zonefiles_add(z, (const uint8_t *)t[i], strlen(t[i]), NULL, got, NULL, &eb),
                 ARB_OK);
    /* The first scan (started by open) in steps of 7: at most 7 hashes a step. */
    o.calls = 0;
    size_t steps = scan_all(z, 7);
    CHECK(steps >= 40 / 7);
    CHECK_EQ(o.calls, 40);
    CHECK_EQ(arb_zonefiles_missing_count(z), 30);
    for (unsigned i = 0; i < 50; i++)
        CHECK_EQ(arb_zonefiles_is_missing(z, h[i]), i >= 10 && i < 40);
    /* Nothing more to do until the tip moves. */
    CHECK_EQ(arb_zonefiles_scan_step(z, 7), 0);

    /* Storing one takes it out at once. */
    CHECK_EQ(arb_zonefiles_add(z, (const uint8_t *)t[10], strlen(t[10]), NULL, got, NULL, &eb),
             ARB_OK);
    CHECK(!arb_zonefiles_is_missing(z, h[10]));
    CHECK_EQ(arb_zonefiles_missing_count(z), 29);

    /* A new block names 40..44; a reorganization took 30..39 away. */
    for (unsigned i = 40; i < 45; i++)
        oracle_add(&o, h[i]);
    for (unsigned i = 30; i < 40; i++)
        oracle_del(&o, h[i]);
    arb_zonefiles_tip_changed(z);
    CHECK_EQ(arb_zonefiles_scan_step(z, 5), 1);
    /* The tip moves again during the scan: 45 appears; another scan follows. */
    oracle_add(&o, h[45]);
    arb_zonefiles_tip_changed(z);
    scan_all(z, 5);
    for (unsigned i = 0; i < 50; i++)
        CHECK_EQ(arb_zonefiles_is_missing(z, h[i]), (i >= 11 && i < 30) || (i >= 40 && i < 46));
    CHECK_EQ(arb_zonefiles_missing_count(z), 19 + 6);

    /* missing_list walks the whole set in pages. */
    {
        uint8_t page[4][32];
        size_t cursor = 0, seen = 0, k, rounds = 0;
        do {
            k = arb_zonefiles_missing_list(z, &cursor, page, 4);
            for (size_t i = 0; i < k; i++)
                CHECK(arb_zonefiles_is_missing(z, page[i]));
            seen += k;
        } while (cursor != 0 && ++rounds < 1000);
        CHECK_EQ(seen, 25);
    }

    /* An oracle failure stops the scan; it starts again and finishes later. */
    arb_zonefiles_tip_changed(z);
    o.fail = 1;
    CHECK_EQ(arb_zonefiles_scan_step(z, 5), -1);
    o.fail = 0;
    oracle_del(&o, h[45]);
    scan_all(z, 5);
    CHECK(!arb_zonefiles_is_missing(z, h[45]));
    CHECK_EQ(arb_zonefiles_missing_count(z), 24);

    /* A reopened store finds the same set again. */
    arb_zonefiles_free(z);
    CHECK(arb_zonefiles_open(&z, s, 1, &zo, &eb) == ARB_OK);
    CHECK_EQ(arb_zonefiles_missing_count(z), 0);
    scan_all(z, 1000);
    CHECK_EQ(arb_zonefiles_missing_count(z), 24);
    arb_zonefiles_free(z);
    arb_store_close(s);
    free(o.h);
}

static void test_open_args(void)
{
    arb_zonefiles *z = (arb_zonefiles *)1;
    arb_zonefiles_oracle zo = {o_onchain, NULL, NULL};
    arb_store *s = open_store();
    arb_errbuf eb;
    CHECK(s != NULL);
    CHECK_EQ(arb_zonefiles_open(&z, s, 1, &zo, &eb), ARB_ERR_INVALID_ARG);
    CHECK(z == NULL);
    arb_store_close(s);
    arb_zonefiles_free(NULL);
}

/* The hash set against a plain array, with seeded random operations (keys
 * from a small pool so that puts, overwrites and deletes of present keys are
 * common, and runs of probes cross the table's end). */
static void test_hset(void)
{
    enum { POOL = 600 };
    static uint8_t key[POOL][32];
    static int present[POOL];
    static uint32_t val[POOL];
    arb_hset h;
    unsigned long rounds = arb_test_count(60000);
    arb_hset_init(&h);
    memset(present, 0, sizeof present);
    for (size_t i = 0; i < POOL; i++)
        arb_test_rand_bytes(key[i], 32);
    for (unsigned long r = 0; r < rounds; r++) {
        size_t k = (size_t)arb_test_rand_below(POOL);
        switch (arb_test_rand_below(3)) {
        case 0: {
            uint32_t v = (uint32_t)arb_test_rand();
            CHECK(arb_hset_put(&h, key[k], v));
            present[k] = 1;
            val[k] = v;
            break;
        }
        case 1:
            CHECK_EQ(arb_hset_del(&h, key[k]), present[k]);
            present[k] = 0;
            break;
        default: {
            uint32_t *v = arb_hset_get(&h, key[k]);
            CHECK_EQ(v != NULL, present[k]);
            if (v != NULL)
                CHECK_EQ(*v, val[k]);
        }
        }
        if (r % 5000 == 0) { /* the whole set agrees */
            size_t n = 0;
            for (size_t i = 0; i < POOL; i++) {
                uint32_t *v = arb_hset_get(&h, key[i]);
                CHECK_EQ(v != NULL, present[i]);
                if (v != NULL)
                    CHECK_EQ(*v, val[i]);
                n += present[i];
            }
            CHECK_EQ(h.n, n);
            CHECK(h.cap == 0 || 2 * h.n <= h.cap);
        }
    }
    arb_hset_clear(&h);
    CHECK(arb_hset_get(&h, key[0]) == NULL);
    CHECK_EQ(arb_hset_del(&h, key[0]), 0);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&sha) != ARB_OK || arb_test_tmpdir(dir, sizeof dir) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    test_open_args();
    test_add_get();
    test_list();
    test_missing();
    test_hset();
    arb_test_rmtree(dir);
    arb_sha256_free(sha);
    return arb_test_done();
}
