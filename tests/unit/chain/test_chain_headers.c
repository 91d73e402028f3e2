/* Header rules on freshly mined regtest and test headers: each altered header
 * is re-mined so its proof of work is valid, and the full check must then
 * name the one rule it breaks. */
#include <string.h>

#include "ledger/chain/hdrcheck.h"
#include "ledger/chain/mine.h"
#include "tests/test.h"

static arb_sha256 *H;
static const int64_t NOW = 1767225600 + 100000;

static void mine(const arb_chain_params *p, arb_block_header *h)
{
    arb_u256 limit, target;
    arb_hash hash;
    arb_chain_pow_limit(p, &limit);
    arb_pow_bits_to_target(&target, h->bits, NULL, NULL);
    for (h->nonce = 0;; h->nonce++) {
        arb_header_hash(H, &hash, h);
        if (arb_pow_hash_meets(&hash, &target))
            return;
    }
}

/* A chain of n mined headers after the genesis of p (times 600 s apart). */
static arb_hdrchain *build(const arb_chain_params *p, size_t n, arb_block_header *last)
{
    arb_block g;
    arb_hdrchain *c;
    arb_block_header h;
    const char *reason;
    arb_errbuf eb;

    if (arb_chain_genesis_build(p, H, p->genesis_nonce, &g) != ARB_OK)
        return NULL;
    h = g.header;
    arb_block_clear(&g);
    if (arb_hdrchain_new(&c, p, 0, &h) != ARB_OK)
        return NULL;
    for (size_t i = 1; i <= n; i++) {
        arb_header_hash(H, &h.prev, &h);
        h.time += 600;
        h.merkle_root.b[0] = (uint8_t)i;
        mine(p, &h);
        if (arb_hdrchain_add(c, &h, NOW, NULL, &reason, &eb) != ARB_OK) {
            arb_test_fail(__FILE__, __LINE__, "building: %s", eb.msg);
            arb_hdrchain_free(c);
            return NULL;
        }
    }
    *last = h;
    return c;
}

static const char *try_next(const arb_chain_params *p, arb_hdrchain *c,
                            const arb_block_header *last, void (*edit)(arb_block_header *),
                            int remine)
{
    arb_block_header h = *last;
    const char *reason = NULL;
    arb_errbuf eb;
    arb_header_hash(H, &h.prev, last);
    h.time += 600;
    edit(&h);
    if (remine)
        mine(p, &h);
    if (arb_hdrchain_add(c, &h, NOW, NULL, &reason, &eb) == ARB_OK)
        return "ok";
    return reason;
}

static void e_none(arb_block_header *h) { (void)h; }
static void e_bits_easier(arb_block_header *h) { h->bits = 0x207ffff0; }
static void e_bits_above(arb_block_header *h) { h->bits = 0x2100ffff; }
static void e_time_old(arb_block_header *h) { h->time -= 600 * 7; }
static void e_time_new(arb_block_header *h) { h->time = (uint32_t)(NOW + 7201); }
static void e_time_edge(arb_block_header *h) { h->time = (uint32_t)(NOW + 7200); }
static void e_prev(arb_block_header *h) { h->prev.b[5] ^= 1; }
static void e_nonce(arb_block_header *h) { (void)h; }

static void test_regtest_rules(void)
{
    const arb_chain_params *p = arb_chain_params_get("regtest");
    arb_block_header last;
    arb_hdrchain *c = build(p, 30, &last);
    CHECK(c != NULL);
    CHECK_EQ(arb_hdrchain_tip_height(c), 30);
    CHECK_STR(try_next(p, c, &last, e_bits_easier, 1), "bad-diffbits");
    CHECK_STR(try_next(p, c, &last, e_bits_above, 1), "high-hash");
    CHECK_STR(try_next(p, c, &last, e_time_old, 1), "time-too-old");
    CHECK_STR(try_next(p, c, &last, e_time_new, 1), "time-too-new");
    CHECK_STR(try_next(p, c, &last, e_prev, 1), "prev-blk-not-found");
    CHECK_STR(try_next(p, c, &last, e_time_edge, 1), "ok");
    arb_hdrchain_free(c);
    /* Without re-mining, half of all regtest hashes fail: find one that does. */
    c = build(p, 3, &last);
    CHECK(c != NULL);
    {
        arb_block_header h = last;
        arb_u256 t;
        arb_hash hash;
        const char *reason;
        arb_errbuf eb;
        arb_header_hash(H, &h.prev, &last);
        h.time += 600;
        arb_pow_bits_to_target(&t, h.bits, NULL, NULL);
        do {
            h.nonce++;
            arb_header_hash(H, &hash, &h);
        } while (arb_pow_hash_meets(&hash, &t));
        CHECK(arb_hdrchain_add(c, &h, NOW, NULL, &reason, &eb) == ARB_ERR_VERIFY);
        CHECK_STR(reason, "high-hash");
    }
    (void)e_nonce;
    arb_hdrchain_free(c);
}

static void test_test_rules(void)
{
    /* The test network retargets: between boundaries bits must stay. */
    const arb_chain_params *p = arb_chain_params_get("test");
    arb_block_header last;
    arb_hdrchain *c = build(p, 4, &last);
    CHECK(c != NULL);
    CHECK_STR(try_next(p, c, &last, e_none, 1), "ok");
    arb_hdrchain_free(c);
    c = build(p, 4, &last);
    CHECK(c != NULL);
    CHECK_STR(try_next(p, c, &last, e_bits_above, 1), "high-hash");
    /* A harder target is a bits change too. */
    arb_block_header h = last;
    const char *reason;
    arb_errbuf eb;
    arb_header_hash(H, &h.prev, &last);
    h.time += 600;
    h.bits = 0x1f00fff0;
    mine(p, &h);
    CHECK(arb_hdrchain_add(c, &h, NOW, NULL, &reason, &eb) == ARB_ERR_VERIFY);
    CHECK_STR(reason, "bad-diffbits");
    arb_hdrchain_free(c);
}

/* Retarget boundary with synthetic ancestors: the check asks for the header at
 * height - interval and uses the retarget rule's answer. */
typedef struct {
    uint32_t first_time, parent_time, bits;
    arb_hash parent_hash;
} synth;

static int synth_lookup(void *ud, uint32_t height, arb_hdr_info *out)
{
    const synth *s = ud;
    memset(out, 0, sizeof *out);
    out->bits = s->bits;
    if (height == 2015) {
        out->time = s->parent_time;
        out->hash = s->parent_hash;
    } else if (height == 0) {
        out->time = s->first_time;
    } else {
        out->time = s->first_time + height * 300;
    }
    return 1;
}

static void test_boundary(void)
{
    const arb_chain_params *p = arb_chain_params_get("test");
    /* Parent time exactly half the timespan after the period's first block. */
    synth s = {1767225600, 1767225600 + 604800, 0x1e0fffff, {{0}}};
    arb_block_header h;
    const char *reason;
    arb_errbuf eb;
    memset(&h, 0, sizeof h);
    memset(s.parent_hash.b, 7, 32);
    h.prev = s.parent_hash;
    h.time = s.parent_time + 300;
    /* Blocks came twice as fast: the target halves, 0x1e0fffff -> 0x1e07ffff. */
    h.bits = 0x1e07ffff;
    CHECK(arb_header_check_context(p, &h, 2016, synth_lookup, &s, NOW + 2000000, &reason, &eb) ==
          ARB_OK);
    h.bits = 0x1e0fffff;
    CHECK(arb_header_check_context(p, &h, 2016, synth_lookup, &s, NOW + 2000000, &reason, &eb) ==
          ARB_ERR_VERIFY);
    CHECK_STR(reason, "bad-diffbits");
    /* Twice as slow is clamped at 4x: 0x1e0fffff x 4 = 0x1e3ffffc. */
    s.parent_time = s.first_time + 1209600 * 8;
    h.time = s.parent_time + 300;
    h.bits = 0x1e3ffffc;
    CHECK(arb_header_check_context(p, &h, 2016, synth_lookup, &s, (int64_t)h.time, &reason, &eb) ==
          ARB_OK);
}

static void test_mine_helper(void)
{
    const arb_chain_params *p = arb_chain_params_get("test");
    arb_block g;
    arb_hash hash;
    const char *reason;
    arb_errbuf eb;
    /* The midstate miner finds the test genesis nonce from zero. */
    CHECK(arb_chain_genesis_build(p, H, 0, &g) == ARB_OK);
    CHECK(arb_chain_mine_header(&g.header, 0, 1u << 20));
    CHECK_EQ(g.header.nonce, p->genesis_nonce);
    arb_header_hash(H, &hash, &g.header);
    CHECK(arb_header_check_pow(p, &hash, &g.header, &reason, &eb) == ARB_OK);
    /* Too few tries, and impossible bits. */
    CHECK(!arb_chain_mine_header(&g.header, 0, 10));
    g.header.bits = 0x01800000;
    CHECK(!arb_chain_mine_header(&g.header, 0, 10));
    arb_block_clear(&g);
}

/* The miner returns the first nonce that meets the target, whether it is the
 * first or second of a pair or a last odd one: compared with a plain scan
 * (SHA-256d through EVP) on random headers with an easy target. The variant
 * with a caller's midstate context, reused for every header, agrees. */
static void test_mine_first_nonce(void)
{
    unsigned long n = arb_test_count(300), bad = 0, hits = 0;
    arb_sha256_mid *mid = NULL;

    CHECK(arb_sha256_mid_new(&mid) == ARB_OK);

    for (unsigned long i = 0; i < n; i++) {
        arb_block_header h;
        arb_u256 target;
        arb_hash hash;
        uint8_t raw[ARB_HEADER_SIZE];
        uint32_t start, want = 0;
        uint64_t tries = 1 + i % 7;
        int neg, ovf, expect = 0, got;

        memset(&h, 0, sizeof h);
        arb_test_rand_bytes(h.prev.b, 32);
        arb_test_rand_bytes(h.merkle_root.b, 32);
        h.time = 1700000000u + (uint32_t)i;
        h.bits = 0x2000ffff + (uint32_t)(i % 3) * 0x00100000u; /* hard enough to miss some */
        arb_test_rand_bytes((uint8_t *)&start, sizeof start);
        arb_pow_bits_to_target(&target, h.bits, &neg, &ovf);
        for (uint64_t k = 0; k < tries && !expect; k++) {
            h.nonce = start + (uint32_t)k;
            arb_header_encode(raw, &h);
            arb_sha256d(H, hash.b, raw, sizeof raw);
            if (arb_pow_hash_meets(&hash, &target)) {
                expect = 1;
                want = h.nonce;
            }
        }
        {
            arb_block_header h2 = h;
            got = arb_chain_mine_header_mid(mid, &h2, start, tries);
            bad += got != expect || (got && h2.nonce != want);
        }
        got = arb_chain_mine_header(&h, start, tries);
        bad += got != expect || (got && h.nonce != want);
        hits += (unsigned long)expect;
    }
    arb_sha256_mid_free(mid);
    CHECK_EQ(bad, 0);
    CHECK(hits > 0 && hits < n);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK)
        return 1;
    test_regtest_rules();
    test_test_rules();
    test_boundary();
    test_mine_helper();
    test_mine_first_nonce();
    arb_sha256_free(H);
    return arb_test_done();
}
