/* Ledger codecs against outside vectors: BIP340 (all rows, sign and verify),
 * BIP173/BIP350 bech32/bech32m/segwit lists, Bitcoin Core's compact-bits and
 * retarget cases, and 10,000 real Bitcoin mainnet headers (all pass under the
 * `bitcoin` rules; a single altered header fails at that height). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/hdrcheck.h"
#include "ledger/chain/pow.h"
#include "ledger/chain/schnorr.h"
#include "tests/test.h"

static arb_schnorr *S;
static arb_sha256 *H;

static json_t *load_json(const char *rel)
{
    size_t len;
    uint8_t *d = arb_test_read_vector(rel, &len);
    json_error_t je;
    json_t *j;
    if (d == NULL)
        return NULL;
    j = json_loadb((const char *)d, len, 0, &je);
    free(d);
    if (j == NULL)
        arb_test_fail(__FILE__, __LINE__, "%s: %s", rel, je.text);
    return j;
}

static uint32_t hex_u32(const char *s)
{
    return (uint32_t)strtoul(s, NULL, 16);
}

/* ---- BIP340 ---- */

static int split_csv(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

static void test_bip340(void)
{
    size_t len;
    char *csv = (char *)arb_test_read_vector("chain/bip340_test_vectors.csv", &len);
    char *save = NULL, *line;
    int rows = 0, signs = 0;

    CHECK(csv != NULL);
    line = strtok_r(csv, "\r\n", &save); /* header row */
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *f[8];
        uint8_t sk[32], pk[32], aux[32], sig[64], got[64], *msg = NULL;
        size_t msg_len = 0;
        int expect;
        if (split_csv(line, f, 8) < 7)
            continue;
        rows++;
        CHECK(arb_hex_decode(pk, 32, f[2], strlen(f[2])));
        if (strlen(f[4]) > 0)
            CHECK(arb_hex_decode_alloc(&msg, &msg_len, f[4]) == ARB_OK);
        CHECK(arb_hex_decode(sig, 64, f[5], strlen(f[5])));
        expect = strcmp(f[6], "TRUE") == 0;
        /* Verify every row. */
        uint8_t empty = 0;
        int ok = arb_schnorr_verify(S, sig, msg ? msg : &empty, msg_len, pk);
        if (ok != expect)
            arb_test_fail(__FILE__, __LINE__, "BIP340 row %s: verify %d, expected %d", f[0], ok,
                          expect);
        CHECK(ok == expect);
        /* Rows with a secret key: signing reproduces the signature and the key. */
        if (strlen(f[1]) > 0) {
            uint8_t pub[32];
            CHECK(arb_hex_decode(sk, 32, f[1], 64));
            CHECK(arb_hex_decode(aux, 32, f[3], 64));
            CHECK(arb_schnorr_pubkey(S, pub, sk));
            CHECK_MEM(pub, pk, 32);
            CHECK(arb_schnorr_sign(S, got, msg ? msg : &empty, msg_len, sk, aux));
            CHECK_MEM(got, sig, 64);
            signs++;
        }
        free(msg);
    }
    free(csv);
    CHECK(rows == 19);
    CHECK(signs >= 4);
}

/* ---- bech32 ---- */

static void test_bech32_lists(void)
{
    json_t *j = load_json("chain/bech32_bech32m_segwit_vectors.json");
    const char *lists[2] = {"bech32_valid", "bech32m_valid"};
    const char *bad[2] = {"bech32_invalid", "bech32m_invalid"};
    size_t i;
    json_t *v;

    CHECK(j != NULL);
    for (int k = 0; k < 2; k++) {
        json_t *arr = json_object_get(j, lists[k]);
        CHECK(json_array_size(arr) == 7);
        json_array_foreach(arr, i, v) {
            const char *s = json_string_value(v);
            char hrp[84], re[100], low[100];
            uint8_t data[90];
            size_t n;
            arb_bech32_variant var;
            arb_errbuf eb;
            CHECK(arb_bech32_decode(hrp, data, &n, &var, s, &eb) == ARB_OK);
            CHECK(var == (k == 0 ? ARB_BECH32 : ARB_BECH32M));
            /* Re-encoding gives the lowercase input back. */
            CHECK(arb_bech32_encode(re, sizeof re, hrp, data, n, var));
            for (size_t c = 0; c <= strlen(s); c++)
                low[c] = (char)((s[c] >= 'A' && s[c] <= 'Z') ? s[c] + 32 : s[c]);
            CHECK_STR(re, low);
            /* Flipping one data character breaks the checksum. */
            strcpy(low, s);
            size_t pos = strlen(low) - 1;
            low[pos] = low[pos] == 'q' || low[pos] == 'Q' ? (s[pos] == 'Q' ? 'P' : 'p')
                                                          : (s[pos] >= 'A' && s[pos] <= 'Z' ? 'Q' : 'q');
            CHECK(arb_bech32_decode(hrp, data, &n, &var, low, &eb) == ARB_ERR_PARSE);
        }
        arr = json_object_get(j, bad[k]);
        CHECK(json_array_size(arr) >= 12);
        json_array_foreach(arr, i, v) {
            const char *s = json_string_value(json_object_get(v, "string"));
            char hrp[84];
            uint8_t data[90];
            size_t n;
            arb_bech32_variant var = 0;
            arb_errbuf eb;
            arb_err e = arb_bech32_decode(hrp, data, &n, &var, s, &eb);
            /* Each string is invalid for its own variant; it may not decode as it. */
            if (e == ARB_OK && var == (k == 0 ? ARB_BECH32 : ARB_BECH32M))
                arb_test_fail(__FILE__, __LINE__, "accepted invalid %s: %s", bad[k], s);
            CHECK(!(e == ARB_OK && var == (k == 0 ? ARB_BECH32 : ARB_BECH32M)));
        }
    }
    json_decref(j);
}

static void test_segwit_lists(void)
{
    json_t *j = load_json("chain/bech32_bech32m_segwit_vectors.json");
    json_t *arr, *v;
    size_t i;

    CHECK(j != NULL);
    arr = json_object_get(j, "segwit_valid");
    CHECK(json_array_size(arr) == 8);
    json_array_foreach(arr, i, v) {
        const char *addr = json_string_value(json_object_get(v, "address"));
        const char *spk = json_string_value(json_object_get(v, "scriptPubKey"));
        char hrp[3] = {(char)(addr[0] | 32), (char)(addr[1] | 32), 0};
        uint8_t prog[40], want[42];
        size_t n;
        int ver;
        arb_errbuf eb;
        CHECK(arb_segwit_addr_decode(&ver, prog, &n, hrp, addr, &eb) == ARB_OK);
        /* scriptPubKey = OP_n (0 or 0x50+n), push length, program. */
        CHECK(arb_hex_decode(want, strlen(spk) / 2, spk, strlen(spk)));
        CHECK_EQ(want[0], ver == 0 ? 0 : 0x50 + ver);
        CHECK_EQ(want[1], n);
        CHECK_MEM(want + 2, prog, n);
        char re[100], low[100];
        CHECK(arb_segwit_addr_encode(re, sizeof re, hrp, ver, prog, n));
        for (size_t c = 0; c <= strlen(addr); c++)
            low[c] = (char)((addr[c] >= 'A' && addr[c] <= 'Z') ? addr[c] + 32 : addr[c]);
        CHECK_STR(re, low);
    }
    arr = json_object_get(j, "segwit_invalid");
    CHECK(json_array_size(arr) == 15);
    json_array_foreach(arr, i, v) {
        const char *addr = json_string_value(json_object_get(v, "string"));
        uint8_t prog[40];
        size_t n;
        int ver;
        arb_errbuf eb;
        int bad_bc = arb_segwit_addr_decode(&ver, prog, &n, "bc", addr, &eb) != ARB_OK;
        int bad_tb = arb_segwit_addr_decode(&ver, prog, &n, "tb", addr, &eb) != ARB_OK;
        if (!(bad_bc && bad_tb))
            arb_test_fail(__FILE__, __LINE__, "accepted invalid segwit address %s", addr);
        CHECK(bad_bc && bad_tb);
    }
    json_decref(j);
}

/* ---- compact bits and retargets ---- */

static void test_pow_vectors(void)
{
    json_t *j = load_json("chain/pow_retarget_compact_vectors.json");
    json_t *arr, *v;
    size_t i;
    arb_u256 limit;
    static const uint8_t btc_limit[32] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff};

    CHECK(j != NULL);
    arr = json_object_get(j, "compact");
    CHECK(json_array_size(arr) >= 20);
    json_array_foreach(arr, i, v) {
        uint32_t bits = hex_u32(json_string_value(json_object_get(v, "bits")));
        const char *want_hex = json_string_value(json_object_get(v, "target_hex"));
        int want_neg = json_is_true(json_object_get(v, "negative"));
        int want_ovf = json_is_true(json_object_get(v, "overflow"));
        json_t *rc = json_object_get(v, "recompact");
        arb_u256 t;
        int neg, ovf;
        char hex[65];
        arb_pow_bits_to_target(&t, bits, &neg, &ovf);
        CHECK_EQ(neg, want_neg);
        CHECK_EQ(ovf, want_ovf);
        if (!want_ovf) {
            arb_u256_hex(hex, &t);
            CHECK_STR(hex, want_hex);
        }
        if (json_is_string(rc))
            CHECK_EQ(arb_pow_target_to_bits(&t, neg), hex_u32(json_string_value(rc)));
    }
    arr = json_object_get(j, "getcompact_from_value");
    json_array_foreach(arr, i, v) {
        const char *hx = json_string_value(json_object_get(v, "value_hex"));
        uint8_t be[32] = {0};
        size_t hl = strlen(hx);
        char padded[65];
        memset(padded, '0', 64);
        memcpy(padded + 64 - hl, hx, hl);
        padded[64] = 0;
        CHECK(arb_hex_decode(be, 32, padded, 64));
        arb_u256 t;
        arb_u256_from_be(&t, be);
        CHECK_EQ(arb_pow_target_to_bits(&t, 0),
                 hex_u32(json_string_value(json_object_get(v, "compact"))));
    }
    arb_u256_from_be(&limit, btc_limit);
    arr = json_object_get(j, "retarget");
    CHECK(json_array_size(arr) == 4);
    json_array_foreach(arr, i, v) {
        int64_t first = json_integer_value(json_object_get(v, "last_retarget_time"));
        int64_t last = json_integer_value(json_object_get(v, "last_time"));
        uint32_t old_bits = hex_u32(json_string_value(json_object_get(v, "last_bits")));
        uint32_t want = hex_u32(json_string_value(json_object_get(v, "expected_bits")));
        uint32_t got = arb_pow_retarget(old_bits, first, last, 14 * 24 * 3600, &limit);
        if (got != want)
            arb_test_fail(__FILE__, __LINE__, "%s: %08x != %08x",
                          json_string_value(json_object_get(v, "name")), got, want);
        CHECK_EQ(got, want);
        /* Whatever the timespan gave must be a permitted transition. */
        CHECK(arb_pow_transition_permitted(old_bits, want, 14 * 24 * 3600, &limit));
    }
    /* Mainnet genesis: hash and proof of work. */
    v = json_object_get(j, "mainnet_genesis");
    {
        const char *hx = json_string_value(json_object_get(v, "header_hex"));
        uint8_t raw[80];
        arb_block_header h;
        arb_hash hash, want;
        arb_u256 t;
        CHECK(arb_hex_decode(raw, 80, hx, 160));
        arb_header_decode(&h, raw);
        CHECK_EQ(h.nonce, json_integer_value(json_object_get(v, "nonce")));
        CHECK_EQ(h.time, json_integer_value(json_object_get(v, "time")));
        arb_header_hash(H, &hash, &h);
        CHECK(arb_chain_hash_from_hex(&want, json_string_value(json_object_get(v, "hash"))));
        CHECK(arb_hash_eq(&hash, &want));
        CHECK(arb_pow_bits_valid(&t, h.bits, &limit));
        CHECK(arb_pow_hash_meets(&hash, &t));
        uint8_t re[80];
        arb_header_encode(re, &h);
        CHECK_MEM(re, raw, 80);
    }
    json_decref(j);
}

/* ---- 10,000 Bitcoin mainnet headers ---- */

static uint8_t *HDRS;
static size_t NHDRS;
static const int64_t NOW = 2000000000; /* a fixed clock after all these headers */

/* Runs the file through an arb_hdrchain; returns the first failing height
 * (or 0 if all pass) and its reason. */
static uint32_t run_chain(const arb_chain_params *p, const uint8_t *data, size_t n,
                          const char **reason)
{
    arb_hdrchain *c;
    arb_block_header h;
    arb_errbuf eb;
    *reason = NULL;
    arb_header_decode(&h, data);
    if (arb_hdrchain_new(&c, p, 0, &h) != ARB_OK)
        return UINT32_MAX;
    for (size_t i = 1; i < n; i++) {
        arb_header_decode(&h, data + 80 * i);
        if (arb_hdrchain_add(c, &h, NOW, NULL, reason, &eb) != ARB_OK) {
            arb_hdrchain_free(c);
            return (uint32_t)i;
        }
    }
    arb_hdrchain_free(c);
    return 0;
}

static void test_mainnet_all_pass(void)
{
    const char *reason;
    const arb_chain_params *p = arb_chain_params_get("bitcoin");
    arb_hash gen, want;
    CHECK(NHDRS == 10000);
    CHECK_EQ(run_chain(p, HDRS, NHDRS, &reason), 0);
    /* Header 0 is Bitcoin's genesis, the same constant as the parameter set. */
    {
        arb_block_header h;
        arb_header_decode(&h, HDRS);
        arb_header_hash(H, &gen, &h);
        arb_chain_genesis_hash(p, &want);
        CHECK(arb_hash_eq(&gen, &want));
    }
}

/* Alters one field of one header and checks validation fails exactly there. */
static void tamper_case(size_t at, size_t off, uint8_t mask, const char *want)
{
    const char *reason;
    uint8_t *copy = malloc(NHDRS * 80);
    CHECK(copy != NULL);
    memcpy(copy, HDRS, NHDRS * 80);
    copy[at * 80 + off] ^= mask;
    uint32_t bad = run_chain(arb_chain_params_get("bitcoin"), copy, NHDRS, &reason);
    free(copy);
    if (bad != at || reason == NULL || strcmp(reason, want) != 0)
        arb_test_fail(__FILE__, __LINE__, "tamper at %zu off %zu: failed at %u (%s), want %s",
                      at, off, bad, reason ? reason : "-", want);
    CHECK_EQ(bad, at);
    CHECK_STR(reason, want);
}

static void test_mainnet_tamper(void)
{
    /* Heights: early, a retarget boundary, the middle, the last. Every field
     * change alters the hash, which then misses the target (Core checks proof
     * of work before anything else). */
    static const size_t heights[] = {1, 2016, 4999, 8064, 9999};
    static const struct {
        size_t off;
        uint8_t mask;
    } fields[] = {{76, 0x01}, {79, 0x80}, {68, 0x01}, {72, 0x01}, {4, 0x01}, {35, 0x80},
                  {36, 0x01}, {67, 0x10}, {0, 0x02}};
    unsigned long n = arb_test_count(5);
    for (size_t k = 0; k < sizeof heights / sizeof heights[0]; k++)
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            tamper_case(heights[k], fields[f].off, fields[f].mask, "high-hash");
    /* Random positions anywhere in a random header. */
    for (unsigned long i = 0; i < n; i++) {
        size_t at = 1 + arb_test_rand_below(NHDRS - 1);
        size_t off = arb_test_rand_below(80);
        tamper_case(at, off, (uint8_t)(1u << arb_test_rand_below(8)), "high-hash");
    }
}

/* The contextual rules on real headers, with proof of work set aside: each
 * altered field is reported by the rule it breaks. */
typedef struct {
    const uint8_t *data;
    size_t n;
} file_ctx;

static int file_lookup(void *ud, uint32_t height, arb_hdr_info *out)
{
    const file_ctx *f = ud;
    arb_block_header h;
    if (height >= f->n)
        return 0;
    arb_header_decode(&h, f->data + 80 * (size_t)height);
    arb_header_hash(H, &out->hash, &h);
    out->time = h.time;
    out->bits = h.bits;
    return 1;
}

static const char *context_reason(size_t at, void (*edit)(arb_block_header *))
{
    const arb_chain_params *p = arb_chain_params_get("bitcoin");
    file_ctx f = {HDRS, at}; /* only the ancestors are known */
    arb_block_header h;
    const char *reason = NULL;
    arb_errbuf eb;
    arb_header_decode(&h, HDRS + 80 * at);
    edit(&h);
    if (arb_header_check_context(p, &h, (uint32_t)at, file_lookup, &f, NOW, &reason, &eb) ==
        ARB_OK)
        return "ok";
    return reason;
}

static void edit_none(arb_block_header *h) { (void)h; }
static void edit_bits(arb_block_header *h) { h->bits = 0x1c7fffff; }
static void edit_time_old(arb_block_header *h) { h->time = 1231006505; }
static void edit_time_new(arb_block_header *h) { h->time = (uint32_t)(NOW + 7201); }
static void edit_prev(arb_block_header *h) { h->prev.b[0] ^= 1; }

static void test_mainnet_context(void)
{
    static const size_t heights[] = {12, 2016, 5000, 9999};
    for (size_t k = 0; k < 4; k++) {
        CHECK_STR(context_reason(heights[k], edit_none), "ok");
        CHECK_STR(context_reason(heights[k], edit_bits), "bad-diffbits");
        CHECK_STR(context_reason(heights[k], edit_time_old), "time-too-old");
        CHECK_STR(context_reason(heights[k], edit_time_new), "time-too-new");
        CHECK_STR(context_reason(heights[k], edit_prev), "prev-blk-not-found");
    }
    /* Starting mid-file (period start unknown) still passes, via the
     * permitted-transition bound at the boundary. */
    {
        arb_hdrchain *c;
        arb_block_header h;
        const char *reason;
        arb_errbuf eb;
        arb_header_decode(&h, HDRS + 80 * 3000);
        CHECK(arb_hdrchain_new(&c, arb_chain_params_get("bitcoin"), 3000, &h) == ARB_OK);
        for (size_t i = 3001; i < NHDRS; i++) {
            arb_header_decode(&h, HDRS + 80 * i);
            arb_err e = arb_hdrchain_add(c, &h, NOW, NULL, &reason, &eb);
            if (e != ARB_OK) {
                arb_test_fail(__FILE__, __LINE__, "mid-file start failed at %zu: %s", i, eb.msg);
                arb_hdrchain_free(c);
                return;
            }
        }
        CHECK_EQ(arb_hdrchain_tip_height(c), 9999);
        arb_hdrchain_free(c);
    }
}

int main(void)
{
    arb_test_seed_init();
    if (arb_schnorr_new(&S) != ARB_OK || arb_sha256_new(&H) != ARB_OK)
        return 1;
    HDRS = arb_test_read_vector("chain/mainnet_headers_0_9999.bin", &NHDRS);
    NHDRS /= 80;
    test_bip340();
    test_bech32_lists();
    test_segwit_lists();
    test_pow_vectors();
    if (HDRS != NULL) {
        test_mainnet_all_pass();
        test_mainnet_tamper();
        test_mainnet_context();
    }
    free(HDRS);
    arb_sha256_free(H);
    arb_schnorr_free(S);
    return arb_test_done();
}
