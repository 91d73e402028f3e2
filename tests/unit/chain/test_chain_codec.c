/* Ledger codecs: 256-bit arithmetic against native 64-bit arithmetic, compact
 * bits round trips, transactions and blocks against hand-assembled bytes,
 * rejection of malformed encodings, the RFC 6962 block root against a naive
 * recursive reference, genesis constants, signature hashes and addresses. */
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/block.h"
#include "ledger/chain/params.h"
#include "ledger/chain/pow.h"
#include "ledger/chain/schnorr.h"
#include "ledger/chain/tx.h"
#include "tests/test.h"

static arb_sha256 *H;
static arb_schnorr *S;

/* ---- 256-bit arithmetic ---- */

static void test_u256(void)
{
    unsigned long n = arb_test_count(2000);
    for (unsigned long i = 0; i < n; i++) {
        uint64_t a = arb_test_rand() >> arb_test_rand_below(64);
        uint64_t b = (arb_test_rand() >> arb_test_rand_below(64)) | 1;
        arb_u256 A, B, Q, R;
        arb_u256_from_u64(&A, a);
        arb_u256_from_u64(&B, b);
        CHECK(arb_u256_div(&Q, &A, &B));
        arb_u256_from_u64(&R, a / b);
        CHECK(arb_u256_cmp(&Q, &R) == 0);
        CHECK_EQ(arb_u256_cmp(&A, &B), (a > b) - (a < b));
        arb_u256_add(&Q, &A, &B);
        uint64_t s = a + b;
        CHECK_EQ(Q.w[0], (uint32_t)s);
        CHECK_EQ(Q.w[1], (uint32_t)(s >> 32));
        CHECK_EQ(Q.w[2], s < a);
    }
    /* Big values: (x * 2^k) / 2^k = x through the byte forms. */
    for (unsigned long i = 0; i < 200; i++) {
        uint8_t be[32] = {0}, be2[32];
        arb_u256 A, D, Q;
        unsigned k = (unsigned)arb_test_rand_below(190);
        arb_test_rand_bytes(be + 24, 8);
        arb_u256_from_be(&A, be);
        arb_u256 X = A;
        for (unsigned j = 0; j < k; j++)
            arb_u256_add(&A, &A, &A);
        memset(be2, 0, 32);
        be2[31 - k / 8] = (uint8_t)(1u << (k % 8));
        arb_u256_from_be(&D, be2);
        CHECK(arb_u256_div(&Q, &A, &D));
        CHECK(arb_u256_cmp(&Q, &X) == 0);
        arb_u256_to_be(be2, &Q);
        CHECK_MEM(be2, be, 32);
    }
    arb_u256 z, one;
    arb_u256_zero(&z);
    arb_u256_from_u64(&one, 1);
    CHECK(!arb_u256_div(&one, &one, &z));
}

static void test_compact_roundtrip(void)
{
    /* Every normalized compact value with a positive mantissa survives
     * decode -> encode; sizes 1..32 and mantissas from a sweep. */
    for (uint32_t size = 1; size <= 32; size++) {
        for (uint32_t m = 0x8000; m <= 0x7fffff; m += 0x1fff) {
            uint32_t bits = size << 24 | m;
            arb_u256 t;
            int neg, ovf;
            arb_pow_bits_to_target(&t, bits, &neg, &ovf);
            CHECK(!neg && !ovf);
            if (size < 3 && (m & ((1u << (8 * (3 - size))) - 1)))
                continue; /* low bytes are dropped for tiny sizes */
            if (size < 3 && ((m >> (8 * (3 - size))) & 0x80))
                continue;
            uint32_t back = arb_pow_target_to_bits(&t, 0);
            arb_u256 t2;
            arb_pow_bits_to_target(&t2, back, NULL, NULL);
            CHECK(arb_u256_cmp(&t, &t2) == 0);
        }
    }
    /* Work of difficulty 1 is 2^256 / (0xffff * 2^208 + 1) = 0x100010001. */
    arb_u256 w;
    arb_pow_work(&w, 0x1d00ffff);
    CHECK_EQ(w.w[0], 0x10001);
    CHECK_EQ(w.w[1], 1);
    CHECK_EQ(w.w[2], 0);
    arb_pow_work(&w, 0x207fffff); /* regtest: 2^256 / 2^255 = 2 */
    CHECK_EQ(w.w[0], 2);
    arb_pow_work(&w, 0x01800000); /* negative bits: no work */
    CHECK(arb_u256_is_zero(&w));
}

/* ---- transactions ---- */

/* Hand-assembled: 2 inputs, 1 output, lock 7, payload type 3 of "xyz". */
static size_t hand_tx(uint8_t *out, int with_sigs, int payload)
{
    size_t n = 0;
    uint8_t v[] = {2, 0, 0, 0};
    memcpy(out + n, v, 4), n += 4;
    out[n++] = 2;
    for (int i = 0; i < 2; i++) {
        memset(out + n, 0x11 * (i + 1), 32), n += 32;
        out[n++] = (uint8_t)(5 + i), out[n++] = 0, out[n++] = 0, out[n++] = 0x01;
    }
    out[n++] = 1;
    uint8_t amt[8] = {0x00, 0xe1, 0xf5, 0x05, 0, 0, 0, 0}; /* 1 coin */
    memcpy(out + n, amt, 8), n += 8;
    memset(out + n, 0xab, 32), n += 32;
    out[n++] = 7, out[n++] = 0, out[n++] = 0, out[n++] = 0;
    if (payload) {
        out[n++] = 3;
        out[n++] = 3;
        memcpy(out + n, "xyz", 3), n += 3;
    } else {
        out[n++] = 0;
    }
    if (with_sigs) {
        memset(out + n, 0x5a, 64), n += 64;
        memset(out + n, 0xa5, 64), n += 64;
    }
    return n;
}

static void test_tx_codec(void)
{
    uint8_t raw[512], nosig[512];
    arb_tx tx;
    arb_errbuf eb;
    arb_buf b = ARB_BUF_INIT;
    arb_hash txid;
    uint8_t want[32];

    for (int payload = 0; payload < 2; payload++) {
        size_t n = hand_tx(raw, 1, payload), m = hand_tx(nosig, 0, payload);
        arb_tx_init(&tx);
        CHECK(arb_tx_decode(&tx, raw, n, &eb) == ARB_OK);
        CHECK_EQ(tx.version, 2);
        CHECK_EQ(tx.n_in, 2);
        CHECK_EQ(tx.in[1].index, 0x01000006);
        CHECK_EQ(tx.in[1].txid.b[0], 0x22);
        CHECK_EQ(tx.n_out, 1);
        CHECK_EQ(tx.out[0].amount, ARB_COIN);
        CHECK_EQ(tx.lock_time, 7);
        CHECK_EQ(tx.payload_type, payload ? 3 : 0);
        CHECK_EQ(tx.payload_len, payload ? 3 : 0);
        CHECK_EQ(tx.sig[1][0], 0xa5);
        CHECK_EQ(arb_tx_size(&tx), n);
        arb_buf_reset(&b);
        arb_tx_write(&b, &tx, 1);
        CHECK(!b.oom && b.len == n);
        CHECK_MEM(b.data, raw, n);
        CHECK(arb_tx_txid(H, &txid, &tx) == ARB_OK);
        arb_sha256d(H, want, nosig, m);
        CHECK_MEM(txid.b, want, 32);
        CHECK(!arb_tx_is_coinbase(&tx));
        /* Every truncation and any trailing byte is a parse error. */
        for (size_t k = 0; k < n; k++)
            CHECK(arb_tx_decode(&tx, raw, k, &eb) == ARB_ERR_PARSE);
        raw[n] = 0;
        CHECK(arb_tx_decode(&tx, raw, n + 1, &eb) == ARB_ERR_PARSE);
        arb_tx_clear(&tx);
    }
    arb_buf_free(&b);
}

static void expect_bad(const uint8_t *raw, size_t n)
{
    arb_tx tx;
    arb_errbuf eb;
    arb_tx_init(&tx);
    CHECK(arb_tx_decode(&tx, raw, n, &eb) == ARB_ERR_PARSE);
    CHECK(tx.n_in == 0 && tx.in == NULL);
}

static void test_tx_malformed(void)
{
    uint8_t raw[1024], bad[1200];
    size_t n = hand_tx(raw, 1, 1);

    /* Non-minimal input count: 0xfd 0x02 0x00 instead of 0x02. */
    memcpy(bad, raw, 4);
    bad[4] = 0xfd, bad[5] = 2, bad[6] = 0;
    memcpy(bad + 7, raw + 5, n - 5);
    expect_bad(bad, n + 2);
    /* Zero inputs. */
    memcpy(bad, raw, n);
    bad[4] = 0;
    expect_bad(bad, n);
    /* Zero outputs (count at offset 4+1+72). */
    memcpy(bad, raw, n);
    bad[77] = 0;
    expect_bad(bad, n);
    /* Amount above the money supply: 21e6 coins + 1 unit. */
    memcpy(bad, raw, n);
    uint64_t a = ARB_MAX_MONEY + 1;
    for (int k = 0; k < 8; k++)
        bad[78 + k] = (uint8_t)(a >> (8 * k));
    expect_bad(bad, n);
    /* Exactly the money supply is fine. */
    a = ARB_MAX_MONEY;
    for (int k = 0; k < 8; k++)
        bad[78 + k] = (uint8_t)(a >> (8 * k));
    {
        arb_tx tx;
        arb_errbuf eb;
        arb_tx_init(&tx);
        CHECK(arb_tx_decode(&tx, bad, n, &eb) == ARB_OK);
        arb_tx_clear(&tx);
    }
    /* Payload type set with a zero length. */
    size_t pt = 4 + 1 + 72 + 1 + 40 + 4;
    memcpy(bad, raw, pt + 1);
    bad[pt + 1] = 0;
    memcpy(bad + pt + 2, raw + pt + 5, n - pt - 5);
    expect_bad(bad, n - 3);
    /* Payload longer than the cap (1025 bytes, CompactSize 0xfd 0x01 0x04). */
    memcpy(bad, raw, pt + 1);
    bad[pt + 1] = 0xfd, bad[pt + 2] = 0x01, bad[pt + 3] = 0x04;
    expect_bad(bad, pt + 4);
    /* A huge input count with few bytes behind it. */
    memcpy(bad, raw, 4);
    bad[4] = 0xfe, bad[5] = 0xff, bad[6] = 0xff, bad[7] = 0xff, bad[8] = 0x7f;
    expect_bad(bad, 9 + 100);
    memcpy(bad, raw, 4);
    bad[4] = 0xfd, bad[5] = 0x11, bad[6] = 0x27; /* 10001 > cap */
    expect_bad(bad, 7);
}

/* ---- blocks and the RFC 6962 root ---- */

/* Naive recursive RFC 6962 2.1 MTH over leaf hashes. */
static void mth(arb_hash *out, const arb_hash *leaves, size_t n)
{
    if (n == 1) {
        *out = leaves[0];
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    arb_hash l, r;
    mth(&l, leaves, k);
    mth(&r, leaves + k, n - k);
    uint8_t buf[65];
    buf[0] = 1;
    memcpy(buf + 1, l.b, 32);
    memcpy(buf + 33, r.b, 32);
    arb_sha256_digest(H, out->b, buf, 65);
}

static void make_tx(arb_tx *tx, uint32_t seed)
{
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1 + seed % 3) != ARB_OK)
        return;
    tx->version = 1;
    memset(tx->in[0].txid.b, (int)(seed & 0xff) | 1, 32);
    tx->in[0].index = seed;
    for (size_t i = 0; i < tx->n_out; i++) {
        tx->out[i].amount = seed * 1000 + i;
        memset(tx->out[i].key, (int)i + 1, 32);
    }
    memset(tx->sig[0], (int)seed, 64);
}

static void test_block_codec(void)
{
    enum { N = 70 };
    arb_block blk, dec;
    arb_errbuf eb;
    arb_buf b = ARB_BUF_INIT;
    arb_hash leaves[N], got, want;

    arb_block_init(&blk);
    blk.tx = calloc(N, sizeof *blk.tx);
    CHECK(blk.tx != NULL);
    for (uint32_t i = 0; i < N; i++) {
        make_tx(&blk.tx[i], i + 1);
        blk.n_tx = i + 1;
        arb_buf_reset(&b);
        arb_tx_write(&b, &blk.tx[i], 1);
        uint8_t *leaf = malloc(b.len + 1);
        leaf[0] = 0;
        memcpy(leaf + 1, b.data, b.len);
        arb_sha256_digest(H, leaves[i].b, leaf, b.len + 1);
        free(leaf);
        CHECK(arb_block_merkle_root(H, &got, blk.tx, i + 1) == ARB_OK);
        mth(&want, leaves, i + 1);
        CHECK(arb_hash_eq(&got, &want));
    }
    blk.header.version = 1;
    blk.header.time = 1234;
    blk.header.merkle_root = got;
    arb_buf_reset(&b);
    arb_block_write(&b, &blk);
    CHECK(!b.oom && b.len == arb_block_size(&blk));
    arb_block_init(&dec);
    CHECK(arb_block_decode(&dec, b.data, b.len, &eb) == ARB_OK);
    CHECK_EQ(dec.n_tx, N);
    CHECK_EQ(dec.tx[69].in[0].index, 70);
    CHECK(arb_hash_eq(&dec.header.merkle_root, &got));
    /* Trailing byte, truncation, and a count larger than the contents. */
    arb_buf_u8(&b, 0);
    CHECK(arb_block_decode(&dec, b.data, b.len, &eb) == ARB_ERR_PARSE);
    CHECK(dec.n_tx == 0 && dec.tx == NULL);
    for (size_t k = 0; k < b.len - 1; k += 37)
        CHECK(arb_block_decode(&dec, b.data, k, &eb) == ARB_ERR_PARSE);
    b.data[80] = 71;
    CHECK(arb_block_decode(&dec, b.data, b.len - 1, &eb) == ARB_ERR_PARSE);
    /* Zero transactions decode (the consensus check rejects them). */
    CHECK(arb_block_decode(&dec, b.data, 81, &eb) == ARB_ERR_PARSE);
    b.data[80] = 0;
    CHECK(arb_block_decode(&dec, b.data, 81, &eb) == ARB_OK);
    CHECK_EQ(dec.n_tx, 0);
    arb_block_clear(&dec);
    arb_block_clear(&blk);
    arb_buf_free(&b);
}

/* ---- genesis, parameters, subsidy ---- */

static void test_genesis(void)
{
    static const char *nets[] = {"main", "test", "regtest"};
    static const char *hrps[] = {"arb", "tarb", "rarb"};
    arb_hash ids[3];

    for (int i = 0; i < 3; i++) {
        const arb_chain_params *p = arb_chain_params_get(nets[i]);
        arb_block g;
        arb_hash hash, want;
        arb_u256 limit, target;
        CHECK(p != NULL);
        CHECK_STR(p->hrp, hrps[i]);
        CHECK(arb_chain_genesis_build(p, H, p->genesis_nonce, &g) == ARB_OK);
        arb_header_hash(H, &hash, &g.header);
        CHECK(arb_chain_hash_from_hex(&want, p->genesis_hash));
        CHECK(arb_hash_eq(&hash, &want));
        arb_chain_pow_limit(p, &limit);
        CHECK(arb_pow_bits_valid(&target, g.header.bits, &limit));
        CHECK(arb_pow_hash_meets(&hash, &target));
        /* genesis bits encode the limit itself */
        CHECK_EQ(arb_pow_target_to_bits(&limit, 0), p->genesis_bits);
        CHECK(arb_tx_is_coinbase(&g.tx[0]));
        CHECK_EQ(g.tx[0].out[0].amount, 50 * ARB_COIN);
        /* For the cheap networks the stored nonce is the first that works. */
        if (i > 0) {
            for (uint32_t nonce = 0; nonce < p->genesis_nonce; nonce++) {
                g.header.nonce = nonce;
                arb_header_hash(H, &hash, &g.header);
                if (arb_pow_hash_meets(&hash, &target))
                    arb_test_fail(__FILE__, __LINE__, "%s: nonce %u also works", nets[i], nonce);
            }
        }
        arb_chain_network_id(p, &ids[i]);
        arb_block_clear(&g);
    }
    CHECK(!arb_hash_eq(&ids[0], &ids[1]) && !arb_hash_eq(&ids[1], &ids[2]));
    CHECK(arb_chain_params_get("bitcoin") != NULL);
    CHECK(arb_chain_params_get("nope") == NULL);
    /* The bitcoin set has Bitcoin's mainnet genesis. */
    {
        arb_hash h;
        arb_chain_genesis_hash(arb_chain_params_get("bitcoin"), &h);
        CHECK_EQ(h.b[31], 0x00);
        CHECK_EQ(h.b[0], 0x6f);
    }
    const arb_chain_params *m = arb_chain_params_get("main"), *r = arb_chain_params_get("regtest");
    CHECK_EQ(arb_chain_subsidy(m, 0), 5000000000ULL);
    CHECK_EQ(arb_chain_subsidy(m, 209999), 5000000000ULL);
    CHECK_EQ(arb_chain_subsidy(m, 210000), 2500000000ULL);
    CHECK_EQ(arb_chain_subsidy(m, 210000 * 33), 0);
    CHECK_EQ(arb_chain_subsidy(r, 150), 2500000000ULL);
    CHECK_EQ(arb_chain_subsidy(r, 150 * 64), 0);
}

/* ---- signature hash ---- */

static void test_sighash(void)
{
    arb_tx tx;
    arb_txout spent[2];
    arb_sighash_cache c1, c2;
    arb_hash net, net2;
    uint8_t sk[32], pk[32], sh[32], sh2[32], sig[64];

    make_tx(&tx, 9);
    CHECK(arb_tx_alloc(&tx, 2, 1) == ARB_OK);
    memset(tx.in[0].txid.b, 1, 32);
    memset(tx.in[1].txid.b, 2, 32);
    tx.out[0].amount = 5;
    arb_test_rand_bytes(sk, 32);
    CHECK(arb_schnorr_pubkey(S, pk, sk));
    spent[0].amount = 10;
    memcpy(spent[0].key, pk, 32);
    spent[1].amount = 20;
    memcpy(spent[1].key, pk, 32);
    arb_chain_network_id(arb_chain_params_get("regtest"), &net);
    arb_chain_network_id(arb_chain_params_get("test"), &net2);
    CHECK(arb_tx_sighash_prepare(H, &c1, &tx, spent) == ARB_OK);
    arb_tx_sighash(H, sh, &net, &c1, 0);
    /* Independent recomputation from the definition. */
    {
        arb_buf b = ARB_BUF_INIT;
        uint8_t txh[32], sph[32], tagh[32], want[32];
        arb_tx_write(&b, &tx, 0);
        arb_sha256_digest(H, txh, b.data, b.len);
        arb_buf_reset(&b);
        for (int i = 0; i < 2; i++) {
            arb_buf_u64le(&b, spent[i].amount);
            arb_buf_put(&b, spent[i].key, 32);
        }
        arb_sha256_digest(H, sph, b.data, b.len);
        arb_buf_reset(&b);
        arb_sha256_digest(H, tagh, "arbor/sighash", 13);
        arb_buf_put(&b, tagh, 32);
        arb_buf_put(&b, tagh, 32);
        arb_buf_put(&b, net.b, 32);
        arb_buf_put(&b, txh, 32);
        arb_buf_u32le(&b, 0);
        arb_buf_put(&b, sph, 32);
        arb_sha256_digest(H, want, b.data, b.len);
        arb_buf_free(&b);
        CHECK_MEM(sh, want, 32);
    }
    CHECK(arb_schnorr_sign(S, sig, sh, 32, sk, NULL));
    CHECK(arb_schnorr_verify(S, sig, sh, 32, pk));
    /* Other input, other network, other spent amount: other hash. */
    arb_tx_sighash(H, sh2, &net, &c1, 1);
    CHECK(memcmp(sh, sh2, 32) != 0);
    arb_tx_sighash(H, sh2, &net2, &c1, 0);
    CHECK(memcmp(sh, sh2, 32) != 0);
    spent[1].amount = 21;
    CHECK(arb_tx_sighash_prepare(H, &c2, &tx, spent) == ARB_OK);
    arb_tx_sighash(H, sh2, &net, &c2, 0);
    CHECK(memcmp(sh, sh2, 32) != 0);
    /* Signatures are not part of what is signed. */
    memset(tx.sig[0], 0x77, 64);
    CHECK(arb_tx_sighash_prepare(H, &c2, &tx, spent) == ARB_OK);
    CHECK_MEM(c1.tx_hash, c2.tx_hash, 32);
    arb_tx_clear(&tx);
}

/* ---- addresses ---- */

static void test_address(void)
{
    uint8_t key[32], back[32];
    char addr[ARB_ADDR_MAX];
    arb_errbuf eb;

    for (int i = 0; i < 50; i++) {
        arb_test_rand_bytes(key, 32);
        CHECK(arb_address_encode(addr, "rarb", key));
        CHECK(strncmp(addr, "rarb1p", 6) == 0);
        CHECK_EQ(strlen(addr), 4 + 1 + 1 + 52 + 6);
        CHECK(arb_address_decode(back, "rarb", addr, &eb) == ARB_OK);
        CHECK_MEM(back, key, 32);
        CHECK(arb_address_decode(back, "arb", addr, &eb) == ARB_ERR_PARSE);
        /* One changed character is caught by the checksum. */
        size_t pos = 6 + arb_test_rand_below(strlen(addr) - 6);
        addr[pos] = addr[pos] == 'q' ? 'p' : 'q';
        CHECK(arb_address_decode(back, "rarb", addr, &eb) == ARB_ERR_PARSE);
    }
    /* A version-0 or 20-byte program is not an arbor address. */
    CHECK(arb_segwit_addr_encode(addr, sizeof addr, "arb", 0, key, 32));
    CHECK(arb_address_decode(back, "arb", addr, &eb) == ARB_ERR_PARSE);
    CHECK(arb_segwit_addr_encode(addr, sizeof addr, "arb", 1, key, 20));
    CHECK(arb_address_decode(back, "arb", addr, &eb) == ARB_ERR_PARSE);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    test_u256();
    test_compact_roundtrip();
    test_tx_codec();
    test_tx_malformed();
    test_block_codec();
    test_genesis();
    test_sighash();
    test_address();
    arb_schnorr_free(S);
    arb_sha256_free(H);
    return arb_test_done();
}
