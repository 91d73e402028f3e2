/* The peer message codecs (p2p/msg.h): framing and its errors, every payload
 * round-tripped with seeded random contents, the limits at and just past
 * their boundaries, and strictness (trailing bytes, short input, non-minimal
 * counts, bad user agents). */
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/params.h"
#include "p2p/msg.h"
#include "tests/test.h"

static const arb_chain_params *P;

static void test_frame(void)
{
    arb_buf b = ARB_BUF_INIT;
    uint8_t type;
    const uint8_t *pl;
    size_t plen;
    const char *reason;
    arb_p2p_frame_begin(&b, P->magic, ARB_P2P_PING);
    arb_p2p_nonce_write(&b, 0x0102030405060708ULL);
    CHECK(arb_p2p_frame_end(&b) == ARB_OK);
    CHECK_EQ(b.len, 17);
    CHECK_MEM(b.data, P->magic, 4);
    CHECK_EQ(b.data[4], ARB_P2P_PING);
    CHECK_EQ(b.data[5], 8);
    CHECK_EQ(b.data[6] | b.data[7] | b.data[8], 0);
    CHECK(arb_p2p_frame_decode(b.data, b.len, P->magic, &type, &pl, &plen, &reason) == ARB_OK);
    CHECK_EQ(type, ARB_P2P_PING);
    CHECK_EQ(plen, 8);
    CHECK(pl == b.data + 9);
    /* Another network's magic. */
    const arb_chain_params *main = arb_chain_params_get("main");
    CHECK(arb_p2p_frame_decode(b.data, b.len, main->magic, &type, &pl, &plen, &reason) ==
          ARB_ERR_PARSE);
    CHECK_STR(reason, "bad-magic");
    /* Length field disagreeing with the frame, either way. */
    CHECK(arb_p2p_frame_decode(b.data, b.len - 1, P->magic, &type, &pl, &plen, &reason) ==
          ARB_ERR_PARSE);
    CHECK_STR(reason, "length-mismatch");
    arb_buf_u8(&b, 0);
    CHECK(arb_p2p_frame_decode(b.data, b.len, P->magic, &type, &pl, &plen, &reason) ==
          ARB_ERR_PARSE);
    CHECK_STR(reason, "length-mismatch");
    CHECK(pl == NULL && plen == 0 && type == 0);
    /* Short frames. */
    for (size_t n = 0; n < ARB_P2P_FRAME_HEADER; n++) {
        CHECK(arb_p2p_frame_decode(b.data, n, P->magic, &type, &pl, &plen, &reason) ==
              ARB_ERR_PARSE);
        CHECK(reason != NULL);
    }
    /* A length over the cap is refused from the header alone. */
    uint8_t hdr[9];
    memcpy(hdr, P->magic, 4);
    hdr[4] = ARB_P2P_BLOCK;
    uint32_t big = ARB_P2P_MAX_MESSAGE + 1;
    for (int i = 0; i < 4; i++)
        hdr[5 + i] = (uint8_t)(big >> (8 * i));
    CHECK(arb_p2p_frame_decode(hdr, 9, P->magic, &type, &pl, &plen, &reason) == ARB_ERR_PARSE);
    CHECK_STR(reason, "oversize");
    /* Encoding refuses an oversize payload; exactly the cap is fine. */
    arb_p2p_frame_begin(&b, P->magic, ARB_P2P_BLOCK);
    CHECK(arb_buf_reserve(&b, ARB_P2P_MAX_MESSAGE + 1));
    memset(b.data + b.len, 0, ARB_P2P_MAX_MESSAGE);
    b.len += ARB_P2P_MAX_MESSAGE;
    CHECK(arb_p2p_frame_end(&b) == ARB_OK);
    CHECK(arb_p2p_frame_decode(b.data, b.len, P->magic, &type, &pl, &plen, &reason) == ARB_OK);
    CHECK_EQ(plen, ARB_P2P_MAX_MESSAGE);
    arb_buf_u8(&b, 0);
    CHECK(arb_p2p_frame_end(&b) == ARB_ERR_INVALID_ARG);
    arb_buf_free(&b);
    CHECK_STR(arb_p2p_type_name(ARB_P2P_GETHEADERS), "getheaders");
    CHECK_STR(arb_p2p_type_name(200), "unknown");
    CHECK_STR(arb_p2p_type_name(0), "unknown");
}

static void test_version(void)
{
    for (int round = 0; round < 200; round++) {
        arb_p2p_version v, w;
        arb_buf b = ARB_BUF_INIT;
        memset(&v, 0, sizeof v);
        v.version = (uint32_t)arb_test_rand();
        v.services = arb_test_rand();
        v.timestamp = (int64_t)arb_test_rand();
        v.nonce = arb_test_rand();
        arb_test_rand_bytes(v.network.b, 32);
        v.height = (uint32_t)arb_test_rand();
        for (int i = 0; i < 8; i++)
            v.work.w[i] = (uint32_t)arb_test_rand();
        v.listen_port = (uint16_t)arb_test_rand();
        size_t ua = (size_t)arb_test_rand_below(ARB_P2P_MAX_USER_AGENT + 1);
        for (size_t i = 0; i < ua; i++)
            v.user_agent[i] = (char)(0x20 + arb_test_rand_below(0x5f));
        arb_p2p_version_write(&b, &v);
        CHECK(!b.oom);
        CHECK(arb_p2p_version_read(&w, b.data, b.len) == ARB_OK);
        CHECK(memcmp(&v, &w, sizeof v) == 0);
        /* Every truncation and one trailing byte fail. */
        for (size_t n = 0; n < b.len; n += 1 + (size_t)arb_test_rand_below(8))
            CHECK(arb_p2p_version_read(&w, b.data, n) == ARB_ERR_PARSE);
        arb_buf_u8(&b, 0);
        CHECK(arb_p2p_version_read(&w, b.data, b.len) == ARB_ERR_PARSE);
        arb_buf_free(&b);
    }
    /* A control character or a user agent over the limit. */
    arb_p2p_version v, w;
    arb_buf b = ARB_BUF_INIT;
    memset(&v, 0, sizeof v);
    strcpy(v.user_agent, "ok");
    arb_p2p_version_write(&b, &v);
    b.data[b.len - 1] = '\n';
    CHECK(arb_p2p_version_read(&w, b.data, b.len) == ARB_ERR_PARSE);
    arb_buf_reset(&b);
    arb_p2p_version_write(&b, &v);
    b.len -= 3; /* drop the length and the text, write a 257-byte one */
    arb_buf_compact(&b, ARB_P2P_MAX_USER_AGENT + 1);
    for (int i = 0; i <= ARB_P2P_MAX_USER_AGENT; i++)
        arb_buf_u8(&b, 'a');
    CHECK(arb_p2p_version_read(&w, b.data, b.len) == ARB_ERR_PARSE);
    arb_buf_free(&b);
}

static void test_nonce(void)
{
    arb_buf b = ARB_BUF_INIT;
    uint64_t n;
    arb_p2p_nonce_write(&b, 0xdeadbeefcafef00dULL);
    CHECK(arb_p2p_nonce_read(&n, b.data, b.len) == ARB_OK);
    CHECK(n == 0xdeadbeefcafef00dULL);
    CHECK(arb_p2p_nonce_read(&n, b.data, 7) == ARB_ERR_PARSE);
    arb_buf_u8(&b, 1);
    CHECK(arb_p2p_nonce_read(&n, b.data, b.len) == ARB_ERR_PARSE);
    arb_buf_free(&b);
}

static void test_getheaders(void)
{
    static arb_hash loc[ARB_P2P_MAX_LOCATOR + 1], got[ARB_P2P_MAX_LOCATOR];
    arb_hash stop, stop2;
    size_t k;
    for (size_t i = 0; i <= ARB_P2P_MAX_LOCATOR; i++)
        arb_test_rand_bytes(loc[i].b, 32);
    arb_test_rand_bytes(stop.b, 32);
    for (size_t n = 0; n <= ARB_P2P_MAX_LOCATOR + 1; n++) {
        arb_buf b = ARB_BUF_INIT;
        arb_p2p_getheaders_write(&b, loc, n, &stop);
        arb_err want = n >= 1 && n <= ARB_P2P_MAX_LOCATOR ? ARB_OK : ARB_ERR_PARSE;
        CHECK(arb_p2p_getheaders_read(got, &k, &stop2, b.data, b.len) == want);
        if (want == ARB_OK) {
            CHECK_EQ(k, n);
            CHECK(memcmp(got, loc, n * 32) == 0);
            CHECK_MEM(stop2.b, stop.b, 32);
            CHECK(arb_p2p_getheaders_read(got, &k, &stop2, b.data, b.len - 1) == ARB_ERR_PARSE);
        }
        arb_buf_free(&b);
    }
    /* A non-minimal count. */
    uint8_t nm[3 + 64] = {0xfd, 1, 0};
    CHECK(arb_p2p_getheaders_read(got, &k, &stop2, nm, sizeof nm) == ARB_ERR_PARSE);
}

static void test_headers(void)
{
    static arb_block_header h[ARB_P2P_MAX_HEADERS + 1], got[ARB_P2P_MAX_HEADERS];
    size_t k;
    for (size_t i = 0; i <= ARB_P2P_MAX_HEADERS; i++) {
        uint8_t raw[80];
        arb_test_rand_bytes(raw, 80);
        arb_header_decode(&h[i], raw);
    }
    size_t sizes[] = {0, 1, 2, 17, ARB_P2P_MAX_HEADERS - 1, ARB_P2P_MAX_HEADERS,
                      ARB_P2P_MAX_HEADERS + 1};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        arb_buf b = ARB_BUF_INIT;
        arb_p2p_headers_write(&b, h, n);
        arb_err want = n <= ARB_P2P_MAX_HEADERS ? ARB_OK : ARB_ERR_PARSE;
        CHECK(arb_p2p_headers_read(got, &k, b.data, b.len) == want);
        if (want == ARB_OK) {
            CHECK_EQ(k, n);
            for (size_t i = 0; i < n; i++) {
                uint8_t x[80], y[80];
                arb_header_encode(x, &h[i]);
                arb_header_encode(y, &got[i]);
                CHECK_MEM(x, y, 80);
            }
            arb_buf_u8(&b, 0);
            CHECK(arb_p2p_headers_read(got, &k, b.data, b.len) == ARB_ERR_PARSE);
        }
        arb_buf_free(&b);
    }
}

static void test_inv(void)
{
    size_t sizes[] = {0, 1, 3, 1000, ARB_P2P_MAX_INV, ARB_P2P_MAX_INV + 1};
    arb_p2p_inv *v = calloc(ARB_P2P_MAX_INV + 1, sizeof *v), *got;
    size_t k;
    CHECK(v != NULL);
    for (size_t i = 0; i <= ARB_P2P_MAX_INV; i++) {
        v[i].type = (uint8_t)arb_test_rand();
        arb_test_rand_bytes(v[i].hash.b, 32);
    }
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        arb_buf b = ARB_BUF_INIT;
        arb_p2p_inv_write(&b, v, n);
        arb_err want = n >= 1 && n <= ARB_P2P_MAX_INV ? ARB_OK : ARB_ERR_PARSE;
        arb_err got_err = arb_p2p_inv_read(&got, &k, b.data, b.len);
        if (got_err != want)
            free(v);
        CHECK(got_err == want);
        if (want == ARB_OK) {
            int same = k == n && memcmp(got, v, n * sizeof *v) == 0;
            free(got);
            if (!same)
                free(v);
            CHECK(same);
            CHECK(arb_p2p_inv_read(&got, &k, b.data, b.len - 1) == ARB_ERR_PARSE);
        } else {
            CHECK(got == NULL && k == 0);
        }
        arb_buf_free(&b);
    }
    free(v);
}

static void test_addr(void)
{
    size_t sizes[] = {0, 1, 7, ARB_P2P_MAX_ADDR, ARB_P2P_MAX_ADDR + 1};
    arb_p2p_addr *v = calloc(ARB_P2P_MAX_ADDR + 1, sizeof *v);
    arb_p2p_addr *got = calloc(ARB_P2P_MAX_ADDR, sizeof *got);
    size_t k;
    CHECK(v != NULL && got != NULL);
    for (size_t i = 0; i <= ARB_P2P_MAX_ADDR; i++) {
        v[i].time = (uint32_t)arb_test_rand();
        v[i].services = arb_test_rand();
        arb_test_rand_bytes(v[i].ip, 16);
        v[i].port = (uint16_t)arb_test_rand();
    }
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        arb_buf b = ARB_BUF_INIT;
        arb_p2p_addr_write(&b, v, n);
        CHECK(!b.oom);
        arb_err want = n >= 1 && n <= ARB_P2P_MAX_ADDR ? ARB_OK : ARB_ERR_PARSE;
        CHECK(arb_p2p_addr_read(got, &k, b.data, b.len) == want);
        if (want == ARB_OK) {
            CHECK_EQ(b.len, (n < 253 ? 1 : 3) + n * ARB_P2P_ADDR_ENTRY);
            CHECK_EQ(k, n);
            for (size_t i = 0; i < n; i++) {
                CHECK_EQ(got[i].time, v[i].time);
                CHECK_EQ(got[i].services, v[i].services);
                CHECK_MEM(got[i].ip, v[i].ip, 16);
                CHECK_EQ(got[i].port, v[i].port);
            }
            /* Short and trailing input. */
            CHECK(arb_p2p_addr_read(got, &k, b.data, b.len - 1) == ARB_ERR_PARSE);
            arb_buf_u8(&b, 0);
            CHECK(arb_p2p_addr_read(got, &k, b.data, b.len) == ARB_ERR_PARSE);
        } else {
            CHECK_EQ(k, 0);
        }
        arb_buf_free(&b);
    }
    /* A non-minimal count. */
    uint8_t nm[3 + ARB_P2P_ADDR_ENTRY] = {0xfd, 1, 0};
    CHECK(arb_p2p_addr_read(got, &k, nm, sizeof nm) == ARB_ERR_PARSE);
    nm[0] = 1;
    CHECK(arb_p2p_addr_read(got, &k, nm, 1 + ARB_P2P_ADDR_ENTRY) == ARB_OK);
    /* getaddr is empty. */
    CHECK(arb_p2p_empty_read(nm, 0) == ARB_OK);
    CHECK(arb_p2p_empty_read(nm, 1) == ARB_ERR_PARSE);
    CHECK_STR(arb_p2p_type_name(ARB_P2P_ADDR), "addr");
    CHECK_STR(arb_p2p_type_name(ARB_P2P_GETADDR), "getaddr");
    free(v);
    free(got);
}

/* A random transaction with n_in inputs and n_out outputs (signatures random). */
static void rand_tx(arb_tx *tx, size_t n_in, size_t n_out)
{
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, n_in, n_out) != ARB_OK)
        abort();
    tx->version = 1;
    for (size_t i = 0; i < n_in; i++) {
        arb_test_rand_bytes(tx->in[i].txid.b, 32);
        tx->in[i].index = (uint32_t)arb_test_rand_below(4);
        arb_test_rand_bytes(tx->sig[i], 64);
    }
    for (size_t o = 0; o < n_out; o++) {
        tx->out[o].amount = arb_test_rand_below(1000000);
        arb_test_rand_bytes(tx->out[o].key, 32);
    }
}

/* sendcmpct: both announce values and any version round-trip; another
 * announce byte, a short or a long payload do not decode. */
static void test_sendcmpct(void)
{
    for (int a = 0; a <= 1; a++) {
        uint64_t ver = a ? ARB_P2P_CMPCT_VERSION : arb_test_rand(), got_v = 9;
        int got_a = 9;
        arb_buf b = ARB_BUF_INIT;
        arb_p2p_sendcmpct_write(&b, a, ver);
        CHECK(!b.oom && b.len == 9 && b.data[0] == a);
        CHECK(arb_p2p_sendcmpct_read(&got_a, &got_v, b.data, b.len) == ARB_OK);
        CHECK(got_a == a && got_v == ver);
        CHECK(arb_p2p_sendcmpct_read(&got_a, &got_v, b.data, b.len - 1) == ARB_ERR_PARSE);
        CHECK(got_a == 0 && got_v == 0);
        arb_buf_u8(&b, 0);
        CHECK(arb_p2p_sendcmpct_read(&got_a, &got_v, b.data, b.len) == ARB_ERR_PARSE);
        b.data[0] = 2;
        CHECK(arb_p2p_sendcmpct_read(&got_a, &got_v, b.data, 9) == ARB_ERR_PARSE);
        arb_buf_free(&b);
    }
    CHECK(arb_p2p_sendcmpct_read(&(int){0}, &(uint64_t){0}, NULL, 0) == ARB_ERR_PARSE);
    CHECK_STR(arb_p2p_type_name(ARB_P2P_SENDCMPCT), "sendcmpct");
}

static void test_compact(void)
{
    /* SipHash-2-4 (the reference paper's key 00..0f on the message 00..1f),
     * low 48 bits. */
    uint64_t key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    arb_hash m;
    for (int i = 0; i < 32; i++)
        m.b[i] = (uint8_t)i;
    CHECK(arb_p2p_short_id(key, &m) == 0x512f72f27cceULL);
    /* A block's compact form round-trips, and its short ids are the txids'. */
    arb_sha256 *sha;
    CHECK(arb_sha256_new(&sha) == ARB_OK);
    arb_block b;
    arb_block_init(&b);
    b.n_tx = 1 + (size_t)arb_test_rand_below(40);
    b.tx = calloc(b.n_tx, sizeof *b.tx);
    CHECK(b.tx != NULL);
    for (size_t i = 0; i < b.n_tx; i++)
        rand_tx(&b.tx[i], 1 + (size_t)arb_test_rand_below(3), 1 + (size_t)arb_test_rand_below(3));
    b.header.time = 12345;
    arb_p2p_cmpct c, d;
    arb_p2p_cmpct_init(&c);
    arb_p2p_cmpct_init(&d);
    CHECK(arb_p2p_cmpct_from_block(sha, &c, &b, 99) == ARB_OK);
    CHECK_EQ(c.n_short, b.n_tx - 1);
    CHECK_EQ(c.n_pre, 1);
    arb_p2p_cmpct_key(sha, key, &b.header, 99);
    for (size_t i = 1; i < b.n_tx; i++) {
        arb_hash id;
        CHECK(arb_tx_txid(sha, &id, &b.tx[i]) == ARB_OK);
        CHECK(c.short_ids[i - 1] == arb_p2p_short_id(key, &id));
    }
    arb_buf w = ARB_BUF_INIT, w2 = ARB_BUF_INIT;
    arb_p2p_cmpct_write(&w, &c);
    CHECK(arb_p2p_cmpct_read(&d, w.data, w.len) == ARB_OK);
    arb_p2p_cmpct_write(&w2, &d);
    CHECK(w.len == w2.len && memcmp(w.data, w2.data, w.len) == 0);
    CHECK(d.nonce == 99 && d.n_short == c.n_short && d.n_pre == 1 && d.pre_index[0] == 0);
    /* Truncated or with a byte more: refused; a prefilled index past the
     * end: refused. */
    CHECK(arb_p2p_cmpct_read(&d, w.data, w.len - 1) == ARB_ERR_PARSE);
    arb_buf_u8(&w, 0);
    CHECK(arb_p2p_cmpct_read(&d, w.data, w.len) == ARB_ERR_PARSE);
    c.pre_index[0] = (uint32_t)(c.n_short + 1);
    arb_buf_reset(&w);
    arb_p2p_cmpct_write(&w, &c);
    CHECK(arb_p2p_cmpct_read(&d, w.data, w.len) == ARB_ERR_PARSE);
    /* getblocktxn and blocktxn. */
    uint32_t idx[5] = {0, 1, 7, 8, 300}, *got;
    size_t k;
    arb_hash bh, bh2;
    arb_test_rand_bytes(bh.b, 32);
    arb_buf_reset(&w);
    arb_p2p_getblocktxn_write(&w, &bh, idx, 5);
    CHECK(arb_p2p_getblocktxn_read(&bh2, &got, &k, w.data, w.len) == ARB_OK);
    CHECK(k == 5 && memcmp(got, idx, sizeof idx) == 0 && arb_hash_eq(&bh, &bh2));
    free(got);
    CHECK(arb_p2p_getblocktxn_read(&bh2, &got, &k, w.data, w.len - 1) == ARB_ERR_PARSE);
    uint32_t far = ARB_BLOCK_MAX_TXS;
    arb_buf_reset(&w);
    arb_p2p_getblocktxn_write(&w, &bh, &far, 1);
    CHECK(arb_p2p_getblocktxn_read(&bh2, &got, &k, w.data, w.len) == ARB_ERR_PARSE);
    const arb_tx *ptx[2] = {&b.tx[0], &b.tx[b.n_tx - 1]};
    arb_tx *txs;
    arb_buf_reset(&w);
    arb_p2p_blocktxn_write(&w, &bh, ptx, 2);
    CHECK(arb_p2p_blocktxn_read(&bh2, &txs, &k, w.data, w.len) == ARB_OK);
    CHECK_EQ(k, 2);
    arb_buf_reset(&w2);
    arb_p2p_blocktxn_write(&w2, &bh2, (const arb_tx *const[]){&txs[0], &txs[1]}, 2);
    CHECK(w.len == w2.len && memcmp(w.data, w2.data, w.len) == 0);
    arb_tx_clear(&txs[0]);
    arb_tx_clear(&txs[1]);
    free(txs);
    CHECK(arb_p2p_blocktxn_read(&bh2, &txs, &k, w.data, w.len - 1) == ARB_ERR_PARSE);
    arb_buf_free(&w);
    arb_buf_free(&w2);
    arb_p2p_cmpct_clear(&c);
    arb_p2p_cmpct_clear(&d);
    arb_block_clear(&b);
    arb_sha256_free(sha);
}

/* zonefile: hash, CompactSize length, bytes; lengths 0 and 40,960 round-trip,
 * 40,961 is flagged oversize, a short or long body and a non-minimal length
 * are malformed. */
static void test_zonefile(void)
{
    static uint8_t zf[ARB_P2P_MAX_ZONEFILE + 1];
    uint8_t h[32], hr[32];
    const uint8_t *v;
    size_t n;
    int over;
    arb_test_rand_bytes(h, 32);
    arb_test_rand_bytes(zf, sizeof zf);
    size_t lens[] = {0, 1, 252, 253, 4000, ARB_P2P_MAX_ZONEFILE};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        arb_buf b = ARB_BUF_INIT;
        arb_p2p_zonefile_write(&b, h, zf, lens[i]);
        CHECK(!b.oom);
        CHECK_EQ(arb_p2p_zonefile_read(hr, &v, &n, &over, b.data, b.len), ARB_OK);
        CHECK_MEM(hr, h, 32);
        CHECK_EQ(n, lens[i]);
        CHECK_EQ(over, 0);
        CHECK(n == 0 || memcmp(v, zf, n) == 0);
        /* one byte short, one byte extra */
        CHECK_EQ(arb_p2p_zonefile_read(hr, &v, &n, &over, b.data, b.len - 1), ARB_ERR_PARSE);
        CHECK_EQ(over, 0);
        CHECK(v == NULL && n == 0);
        CHECK(arb_buf_put(&b, "x", 1));
        CHECK_EQ(arb_p2p_zonefile_read(hr, &v, &n, &over, b.data, b.len), ARB_ERR_PARSE);
        arb_buf_free(&b);
    }
    {
        arb_buf b = ARB_BUF_INIT;
        arb_p2p_zonefile_write(&b, h, zf, ARB_P2P_MAX_ZONEFILE + 1);
        CHECK_EQ(arb_p2p_zonefile_read(hr, &v, &n, &over, b.data, b.len), ARB_ERR_PARSE);
        CHECK_EQ(over, 1);
        /* the length field alone tells: the body need not be there */
        CHECK_EQ(arb_p2p_zonefile_read(hr, &v, &n, &over, b.data, 35), ARB_ERR_PARSE);
        CHECK_EQ(over, 1);
        arb_buf_free(&b);
    }
    {
        /* length 5 written as 0xfd 05 00 (not minimal) */
        uint8_t m[32 + 3 + 5];
        memcpy(m, h, 32);
        m[32] = 0xfd;
        m[33] = 5;
        m[34] = 0;
        memcpy(m + 35, zf, 5);
        CHECK_EQ(arb_p2p_zonefile_read(hr, &v, &n, &over, m, sizeof m), ARB_ERR_PARSE);
        CHECK_EQ(over, 0);
        CHECK_EQ(arb_p2p_zonefile_read(hr, &v, &n, &over, m, 31), ARB_ERR_PARSE);
    }
    CHECK_STR(arb_p2p_type_name(ARB_P2P_ZONEFILE), "zonefile");
}

int main(void)
{
    arb_test_seed_init();
    P = arb_chain_params_get("regtest");
    test_frame();
    test_version();
    test_nonce();
    test_getheaders();
    test_headers();
    test_inv();
    test_compact();
    test_sendcmpct();
    test_addr();
    test_zonefile();
    return arb_test_done();
}
