/* SHA-256 forms against known answers (FIPS 180-2 examples, BIP340 tag usage,
 * Bitcoin's genesis block hash) and the midstate against the plain hash. */
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "tests/test.h"

static arb_sha256 *H;

static void hex32(uint8_t out[32], const char *hex)
{
    if (!arb_hex_decode(out, 32, hex, 64))
        arb_test_fail(__FILE__, __LINE__, "bad hex in test");
}

static void test_sha256_kat(void)
{
    uint8_t got[32], want[32];

    arb_sha256_digest(H, got, "abc", 3);
    hex32(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_MEM(got, want, 32);
    arb_sha256_digest(H, got, "", 0);
    hex32(want, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_MEM(got, want, 32);
    /* Streaming in odd pieces gives the one-shot answer. */
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    arb_sha256_init(H);
    for (size_t i = 0; i < strlen(msg); i += 7)
        arb_sha256_update(H, msg + i, strlen(msg) - i < 7 ? strlen(msg) - i : 7);
    arb_sha256_final(H, got);
    hex32(want, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK_MEM(got, want, 32);
}

static void test_sha256d_genesis(void)
{
    /* Bitcoin mainnet genesis header; its hash is shown byte-reversed. */
    static const char *hdr = "0100000000000000000000000000000000000000000000000000000000000000"
                             "000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
                             "4b1e5e4a29ab5f49ffff001d1dac2b7c";
    uint8_t raw[80], got[32], want[32], rev[32];
    arb_sha256_mid *m = NULL;

    CHECK(arb_hex_decode(raw, 80, hdr, 160));
    hex32(want, "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
    arb_sha256d(H, got, raw, 80);
    for (int i = 0; i < 32; i++)
        rev[i] = got[31 - i];
    CHECK_MEM(rev, want, 32);

    CHECK(arb_sha256_mid_new(&m) == ARB_OK);
    arb_sha256_mid_set(m, raw);
    arb_sha256_mid_header_hash(m, raw + 64, got);
    for (int i = 0; i < 32; i++)
        rev[i] = got[31 - i];
    arb_sha256_mid_free(m);
    CHECK_MEM(rev, want, 32);
}

static void test_midstate_random(void)
{
    arb_sha256_mid *m = NULL;
    uint8_t hdr[80], a[32], b[32];
    unsigned long n = arb_test_count(2000);

    CHECK(arb_sha256_mid_new(&m) == ARB_OK);
    arb_test_rand_bytes(hdr, 80);
    arb_sha256_mid_set(m, hdr);
    for (unsigned long i = 0; i < n; i++) {
        arb_test_rand_bytes(hdr + 64, 16);
        arb_sha256d(H, a, hdr, 80);
        arb_sha256_mid_header_hash(m, hdr + 64, b);
        if (memcmp(a, b, 32) != 0)
            break;
    }
    arb_sha256_mid_free(m);
    CHECK_MEM(a, b, 32);
}

/* The two-way midstate (SHA extensions where the CPU has them) against
 * SHA-256d through EVP, on random headers and on pairs that differ only in
 * the nonce, as the miner uses it. */
static void test_midstate_two_way(void)
{
    arb_sha256_mid *m = NULL;
    uint8_t hdr[80], hdr2[80], a[32], b[32], c[32], d[32];
    unsigned long n = arb_test_count(2000), bad = 0;

    CHECK(arb_sha256_mid_new(&m) == ARB_OK);
    for (unsigned long i = 0; i < n; i++) {
        arb_test_rand_bytes(hdr, 80);
        memcpy(hdr2, hdr, 80);
        if (i % 2)
            arb_test_rand_bytes(hdr2 + 64, 16);
        else
            hdr2[76] ^= 1;
        arb_sha256_mid_set(m, hdr);
        arb_sha256d(H, a, hdr, 80);
        arb_sha256d(H, b, hdr2, 80);
        arb_sha256_mid_header_hash2(m, hdr + 64, hdr2 + 64, c, d);
        bad += memcmp(a, c, 32) != 0 || memcmp(b, d, 32) != 0;
    }
    printf("two-way midstate: %s\n", arb_sha256_mid_accelerated(m) ? "SHA extensions" : "OpenSSL");
    arb_sha256_mid_free(m);
    CHECK(bad == 0);
}

static void test_tagged(void)
{
    uint8_t th[32], a[32], b[32];
    const char *tag = "BIP0340/challenge";

    arb_sha256_digest(H, th, tag, strlen(tag));
    arb_sha256_init(H);
    arb_sha256_update(H, th, 32);
    arb_sha256_update(H, th, 32);
    arb_sha256_update(H, "msg", 3);
    arb_sha256_final(H, a);
    arb_sha256_tagged(H, b, tag, "msg", 3);
    CHECK_MEM(a, b, 32);
}

static void test_rfc6962_hashes(void)
{
    arb_hash e, leaf, node, want;
    uint8_t data[1] = {0};

    arb_merkle_empty_root(&e);
    arb_sha256_digest(H, want.b, "", 0);
    CHECK(arb_hash_eq(&e, &want));
    /* Empty leaf: SHA-256(0x00). */
    arb_merkle_leaf_hash(H, &leaf, data, 0);
    hex32(want.b, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    CHECK(arb_hash_eq(&leaf, &want));
    /* RFC 6962 hasher vectors (transparency-dev/merkle rfc6962_test.go). */
    arb_merkle_leaf_hash(H, &leaf, "L123456", 7);
    hex32(want.b, "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
    CHECK(arb_hash_eq(&leaf, &want));
    arb_hash l, r;
    memcpy(l.b, "N123", 4);
    memset(l.b + 4, 0, 28);
    (void)r;
    /* Node hash equals SHA-256(0x01 || l || r) computed by hand. */
    arb_test_rand_bytes(l.b, 32);
    arb_test_rand_bytes(r.b, 32);
    arb_merkle_node_hash(H, &node, &l, &r);
    uint8_t buf[65];
    buf[0] = 1;
    memcpy(buf + 1, l.b, 32);
    memcpy(buf + 33, r.b, 32);
    arb_sha256_digest(H, want.b, buf, 65);
    CHECK(arb_hash_eq(&node, &want));
    want.b[0] ^= 1;
    CHECK(!arb_hash_eq(&node, &want));
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK) {
        fprintf(stderr, "no sha256\n");
        return 1;
    }
    test_sha256_kat();
    test_sha256d_genesis();
    test_midstate_random();
    test_midstate_two_way();
    test_tagged();
    test_rfc6962_hashes();
    arb_sha256_free(H);
    return arb_test_done();
}
