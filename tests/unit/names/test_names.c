/* Name layer tests: syntax, namespace and name prices worked by hand from
 * BNS's compute-name-price (both discounts, truncation, overflow), the
 * payload codec (round trips, strictness at every byte), commitments and
 * record hashes against values computed outside the library, and the state
 * transition through whole lifecycles on regtest constants, with the
 * resulting records committed to a sparse Merkle tree and proved. */
#include <stdlib.h>
#include <string.h>

#include "ledger/names/nameop.h"
#include "merkle/smt.h"
#include "tests/test.h"

static arb_sha256 *sha;

static void from_hex(uint8_t *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

#define S(str) (const uint8_t *)(str), strlen(str)

static void test_syntax(void)
{
    size_t nl;
    CHECK(arb_names_ns_valid(S("id")));
    CHECK(arb_names_ns_valid(S("a-b_c09")));
    CHECK(arb_names_ns_valid(S("abcdefghijklmnopqrst")));     /* 20 */
    CHECK(!arb_names_ns_valid(S("abcdefghijklmnopqrstu")));   /* 21 */
    CHECK(!arb_names_ns_valid(S("")));
    CHECK(!arb_names_ns_valid(S("Id")));
    CHECK(!arb_names_ns_valid(S("a.b")));
    CHECK(!arb_names_ns_valid(S("a b")));
    CHECK(!arb_names_ns_valid((const uint8_t *)"a\0b", 3));
    CHECK(arb_names_name_valid(S("abcdefghijklmnopqrstuvwxyz0123456789-_abcdefghij"))); /* 48 */
    CHECK(!arb_names_name_valid(S("abcdefghijklmnopqrstuvwxyz0123456789-_abcdefghijk")));
    CHECK(!arb_names_name_valid(S("caf\xc3\xa9")));
    CHECK(arb_names_full_valid(S("alice.id"), &nl));
    CHECK_EQ(nl, 5);
    CHECK(!arb_names_full_valid(S("alice"), &nl));
    CHECK(!arb_names_full_valid(S(".id"), &nl));
    CHECK(!arb_names_full_valid(S("alice."), &nl));
    CHECK(!arb_names_full_valid(S("a.b.c"), &nl));
    CHECK(!arb_names_full_valid(S("Alice.id"), &nl));
    CHECK(!arb_names_full_valid(S(""), &nl));
    CHECK(arb_names_full_valid(
        S("abcdefghijklmnopqrstuvwxyz0123456789-_abcdefghij.abcdefghijklmnopqrst"), &nl));
    CHECK_EQ(nl, 48);
}

static void test_prices(void)
{
    arb_names_price_fn f = {1, 10, {6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 3, 4};
    uint64_t p;

    CHECK_EQ(arb_names_namespace_price(1), 640000000000ULL);
    CHECK_EQ(arb_names_namespace_price(2), 64000000000ULL);
    CHECK_EQ(arb_names_namespace_price(3), 64000000000ULL);
    CHECK_EQ(arb_names_namespace_price(4), 6400000000ULL);
    CHECK_EQ(arb_names_namespace_price(7), 6400000000ULL);
    CHECK_EQ(arb_names_namespace_price(8), 640000000ULL);
    CHECK_EQ(arb_names_namespace_price(20), 640000000ULL);

    /* "a": exp 6, a vowel, no non-alpha: 1 * 10^6 / 1 * 10. */
    CHECK(arb_names_name_price(&f, S("a"), &p) == ARB_OK);
    CHECK_EQ(p, 10000000);
    /* "b": no vowel: 10^6 / 4 * 10. */
    CHECK(arb_names_name_price(&f, S("b"), &p) == ARB_OK);
    CHECK_EQ(p, 2500000);
    /* "bcd": exp 4, no vowel: 10^4 / 4 * 10. */
    CHECK(arb_names_name_price(&f, S("bcd"), &p) == ARB_OK);
    CHECK_EQ(p, 25000);
    /* "a2": exp 5, non-alpha: 10^5 / 3 = 33333 (truncated) * 10. */
    CHECK(arb_names_name_price(&f, S("a2"), &p) == ARB_OK);
    CHECK_EQ(p, 333330);
    /* "b2": both discounts apply, the larger (4) divides: 10^5 / 4 * 10. */
    CHECK(arb_names_name_price(&f, S("b2"), &p) == ARB_OK);
    CHECK_EQ(p, 250000);
    /* 'y' is a vowel: "yy" gets no discount: 10^5 * 10. */
    CHECK(arb_names_name_price(&f, S("yy"), &p) == ARB_OK);
    CHECK_EQ(p, 1000000);
    /* '-' and '_' are non-alpha. */
    CHECK(arb_names_name_price(&f, S("a-"), &p) == ARB_OK);
    CHECK_EQ(p, 333330);
    CHECK(arb_names_name_price(&f, S("a_"), &p) == ARB_OK);
    CHECK_EQ(p, 333330);
    /* Length 7 and 48 use buckets[6] and buckets[15]: exp 0: 1 * 1 * 10. */
    CHECK(arb_names_name_price(&f, S("aaaaaaa"), &p) == ARB_OK);
    CHECK_EQ(p, 10);
    CHECK(arb_names_name_price(&f, S("abcdefghijklmnopqrstuvwxyz0123456789-_abcdefghij"), &p) ==
          ARB_OK);
    CHECK_EQ(p, 0); /* it has non-alpha characters: (1 * 1) / 3 = 0, then * 10 */
    /* Truncation: coeff 7, base 3, exp 2: 63 / 4 = 15 (not 15.75) * 10. */
    {
        arb_names_price_fn g = {7, 3, {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 1, 4};
        CHECK(arb_names_name_price(&g, S("pq"), &p) == ARB_OK);
        CHECK_EQ(p, 150);
        CHECK(arb_names_name_price(&g, S("pa"), &p) == ARB_OK);
        CHECK_EQ(p, 630);
    }
    /* base 0: 0^0 = 1, 0^1 = 0. */
    {
        arb_names_price_fn g = {5, 0, {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1, 1};
        CHECK(arb_names_name_price(&g, S("a"), &p) == ARB_OK);
        CHECK_EQ(p, 50);
        CHECK(arb_names_name_price(&g, S("aa"), &p) == ARB_OK);
        CHECK_EQ(p, 0);
    }
    /* The largest BNS-valid function overflows: unpayable, not invalid. */
    {
        arb_names_price_fn g = {255, 255, {15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 0}, 15, 15};
        CHECK(arb_names_price_fn_valid(&g));
        CHECK(arb_names_name_price(&g, S("a"), &p) == ARB_ERR_VERIFY);
        CHECK_EQ(p, 0);
        /* buckets[15] = 0 serves 16 bytes and more: 255 * 1 * 10. */
        CHECK(arb_names_name_price(&g, S("aaaaaaaaaaaaaaaa"), &p) == ARB_OK);
        CHECK_EQ(p, 2550);
    }
    /* 16^15 = 2^60: coeff 1 fits after * 10; coeff 15 fits before * 10 but
     * not after; coeff 16 does not fit before. */
    {
        arb_names_price_fn g = {1, 16, {15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15}, 1, 1};
        CHECK(arb_names_name_price(&g, S("a"), &p) == ARB_OK);
        CHECK(p == 11529215046068469760ULL);
        g.coeff = 15;
        CHECK(arb_names_name_price(&g, S("a"), &p) == ARB_ERR_VERIFY);
        g.coeff = 16;
        CHECK(arb_names_name_price(&g, S("a"), &p) == ARB_ERR_VERIFY);
        /* A discount brings 15 * 2^60 / 15 back into range; / 8 is not enough. */
        g.coeff = 15;
        g.no_vowel_discount = 15;
        CHECK(arb_names_name_price(&g, S("b"), &p) == ARB_OK);
        CHECK(p == (1ULL << 60) * 10);
        g.no_vowel_discount = 8;
        CHECK(arb_names_name_price(&g, S("b"), &p) == ARB_ERR_VERIFY);
    }
    /* Invalid functions and names. */
    {
        arb_names_price_fn g = f;
        g.buckets[3] = 16;
        CHECK(!arb_names_price_fn_valid(&g));
        CHECK(arb_names_name_price(&g, S("a"), &p) == ARB_ERR_INVALID_ARG);
        g = f;
        g.nonalpha_discount = 0;
        CHECK(!arb_names_price_fn_valid(&g));
        g = f;
        g.no_vowel_discount = 16;
        CHECK(!arb_names_price_fn_valid(&g));
        g.no_vowel_discount = 15;
        CHECK(arb_names_price_fn_valid(&g));
        CHECK(arb_names_name_price(&f, S("A"), &p) == ARB_ERR_INVALID_ARG);
        CHECK(arb_names_name_price(&f, S(""), &p) == ARB_ERR_INVALID_ARG);
    }
}

/* ---- codec ---- */

static void fill_op(arb_nameop *op, uint8_t type)
{
    memset(op, 0, sizeof *op);
    op->type = type;
    memset(op->commitment, 0xc0, 32);
    memset(op->salt, 0x5a, 32);
    memset(op->key, 0x4b, 32);
    switch (type) {
    case ARB_NAMEOP_NAMESPACE_PREORDER:
    case ARB_NAMEOP_NAME_PREORDER:
        memset(op->salt, 0, 32);
        memset(op->key, 0, 32);
        op->burn = 0x0102030405060708ULL;
        break;
    case ARB_NAMEOP_NAMESPACE_REVEAL:
    case ARB_NAMEOP_NAMESPACE_READY:
        memset(op->commitment, 0, 32);
        memcpy(op->ns, "test", 4);
        op->ns_len = 4;
        if (type == ARB_NAMEOP_NAMESPACE_REVEAL) {
            arb_names_price_fn f = {250, 4, {7, 6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 10, 10};
            op->lifetime = 52595;
            op->price = f;
        } else {
            memset(op->salt, 0, 32);
            memset(op->key, 0, 32);
        }
        break;
    default:
        memset(op->commitment, 0, 32);
        memcpy(op->full, "alice.test", 10);
        op->full_len = 10;
        op->name_len = 5;
        memcpy(op->ns, "test", 4);
        op->ns_len = 4;
        if (type != ARB_NAMEOP_NAME_REGISTER)
            memset(op->salt, 0, 32);
        if (type == ARB_NAMEOP_NAME_IMPORT || type == ARB_NAMEOP_NAME_REGISTER ||
            type == ARB_NAMEOP_NAME_UPDATE) {
            op->has_zonefile = 1;
            memset(op->zonefile_hash, 0x2f, 32);
        }
        if (type != ARB_NAMEOP_NAME_IMPORT && type != ARB_NAMEOP_NAME_REGISTER &&
            type != ARB_NAMEOP_NAME_TRANSFER)
            memset(op->key, 0, 32);
        if (type == ARB_NAMEOP_NAME_TRANSFER)
            op->keep_zonefile = 1;
        if (type == ARB_NAMEOP_NAME_RENEW)
            op->burn = 99;
        break;
    }
}

static void test_codec(void)
{
    static const size_t want_len[11] = {0, 40, 1 + 4 + 32 + 32 + 4 + 20, 1 + 10 + 32 + 1 + 32, 1 + 4, 40,
                                        1 + 10 + 32 + 32 + 1 + 32, 1 + 10 + 32, 1 + 10 + 32 + 1,
                                        1 + 10 + 8, 1 + 10};
    for (uint8_t t = 1; t <= 10; t++) {
        arb_nameop op, back;
        arb_buf b = ARB_BUF_INIT;
        arb_errbuf eb;
        fill_op(&op, t);
        CHECK(arb_nameop_encode(&b, &op) == ARB_OK);
        CHECK_EQ(b.len, want_len[t]);
        CHECK(arb_nameop_decode(&back, t, b.data, b.len, &eb) == ARB_OK);
        CHECK(memcmp(&back, &op, sizeof op) == 0);
        /* Every truncation fails, a trailing byte fails, another type's
         * decoder does not take it silently as the same operation. */
        for (size_t n = 0; n < b.len; n++)
            CHECK(arb_nameop_decode(&back, t, b.data, n, &eb) == ARB_ERR_PARSE);
        CHECK(arb_buf_u8(&b, 0));
        CHECK(arb_nameop_decode(&back, t, b.data, b.len, &eb) == ARB_ERR_PARSE);
        CHECK(back.type == 0 && back.full_len == 0);
        b.len--;
        CHECK(arb_nameop_decode(&back, 0, b.data, b.len, &eb) == ARB_ERR_PARSE);
        CHECK(arb_nameop_decode(&back, 11, b.data, b.len, &eb) == ARB_ERR_PARSE);
        /* Burn only where the operation burns. */
        CHECK_EQ(arb_nameop_burn(&op), (t == 1 || t == 5) ? 0x0102030405060708ULL : t == 9 ? 99 : 0);
        arb_buf_free(&b);
    }
    /* Bad bytes inside: upper case, missing dot, bad flags. */
    {
        arb_nameop op, back;
        arb_buf b = ARB_BUF_INIT;
        fill_op(&op, ARB_NAMEOP_NAME_REGISTER);
        CHECK(arb_nameop_encode(&b, &op) == ARB_OK);
        b.data[1] = 'A';
        CHECK(arb_nameop_decode(&back, ARB_NAMEOP_NAME_REGISTER, b.data, b.len, NULL) == ARB_ERR_PARSE);
        b.data[1] = 'a';
        b.data[6] = 'x'; /* the dot */
        CHECK(arb_nameop_decode(&back, ARB_NAMEOP_NAME_REGISTER, b.data, b.len, NULL) == ARB_ERR_PARSE);
        b.data[6] = '.';
        b.data[1 + 10 + 64] = 2; /* zone-file flag */
        CHECK(arb_nameop_decode(&back, ARB_NAMEOP_NAME_REGISTER, b.data, b.len, NULL) == ARB_ERR_PARSE);
        b.data[1 + 10 + 64] = 0; /* flag 0 with a hash following: trailing */
        CHECK(arb_nameop_decode(&back, ARB_NAMEOP_NAME_REGISTER, b.data, b.len, NULL) == ARB_ERR_PARSE);
        CHECK(arb_nameop_decode(&back, ARB_NAMEOP_NAME_REGISTER, b.data, b.len - 32, NULL) == ARB_OK);
        CHECK_EQ(back.has_zonefile, 0);
        b.data[0] = 70; /* name length beyond the maximum */
        CHECK(arb_nameop_decode(&back, ARB_NAMEOP_NAME_REGISTER, b.data, b.len, NULL) == ARB_ERR_PARSE);
        arb_buf_free(&b);
        fill_op(&op, ARB_NAMEOP_NAME_TRANSFER);
        op.keep_zonefile = 2;
        CHECK(arb_nameop_encode(&b, &op) == ARB_ERR_INVALID_ARG);
        arb_buf_free(&b);
        fill_op(&op, ARB_NAMEOP_NAMESPACE_READY);
        op.ns[0] = 'T';
        CHECK(arb_nameop_encode(&b, &op) == ARB_ERR_INVALID_ARG);
        arb_buf_free(&b);
    }
}

static void test_hashes(void)
{
    uint8_t salt[32], key[32], got[32], want[32];
    arb_name_rec r, back;
    arb_buf b = ARB_BUF_INIT;
    arb_hash hh;

    memset(salt, 1, 32);
    memset(key, 2, 32);
    arb_nameop_ns_commitment(sha, got, S("test"), salt, key);
    from_hex(want, "399f88c0f8dfaf40589035b1cfdb2255f801e36d2bb8b3463e13cb15da6f1d74", 32);
    CHECK_MEM(got, want, 32);
    memset(salt, 3, 32);
    memset(key, 4, 32);
    arb_nameop_name_commitment(sha, got, S("alice.test"), salt, key);
    from_hex(want, "a1b37f0a01052a966860bcbf7e42da4212623edd740588ddf03945fdfc7a1c6e", 32);
    CHECK_MEM(got, want, 32);
    arb_names_name_key(sha, got, S("alice.test"));
    from_hex(want, "20e0a34d1516d1a53f8a7c55c843fd51333051c057b8551b729a52186e1f9490", 32);
    CHECK_MEM(got, want, 32);

    memset(&r, 0, sizeof r);
    memcpy(r.full, "alice.test", 10);
    r.full_len = 10;
    memset(r.owner, 4, 32);
    r.has_zonefile = 1;
    memset(r.zonefile_hash, 0x5a, 32);
    r.registered_height = 100;
    r.renewed_height = 150;
    r.lifetime = 1000;
    arb_names_name_rec_encode(&b, &r);
    CHECK(!b.oom);
    {
        uint8_t enc[128];
        const char *hex = "010a616c6963652e746573740404040404040404040404040404040404040404040404040404040404040404015a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a6400000096000000e80300000000";
        CHECK_EQ(b.len, strlen(hex) / 2);
        from_hex(enc, hex, b.len);
        CHECK_MEM(b.data, enc, b.len);
    }
    CHECK(arb_names_name_rec_hash(sha, &hh, &r) == ARB_OK);
    from_hex(want, "adbd41a485c2db96143d0355257bcb913272063d4a81b11f27aeed641c8a0eab", 32);
    CHECK_MEM(hh.b, want, 32);
    CHECK(arb_names_name_rec_decode(&back, b.data, b.len) == ARB_OK);
    CHECK(memcmp(&back, &r, sizeof r) == 0);
    for (size_t n = 0; n < b.len; n++)
        CHECK(arb_names_name_rec_decode(&back, b.data, n) == ARB_ERR_PARSE);
    b.data[b.len - 1] = 2; /* imported flag */
    CHECK(arb_names_name_rec_decode(&back, b.data, b.len) == ARB_ERR_PARSE);
    b.data[b.len - 1] = 0;
    b.data[0] = ARB_NAMES_REC_NAMESPACE;
    CHECK(arb_names_name_rec_decode(&back, b.data, b.len) == ARB_ERR_PARSE);
    arb_buf_free(&b);

    /* Namespace and preorder records. */
    {
        arb_namespace_rec ns, nb;
        arb_names_preorder_rec pr, pb;
        arb_names_price_fn f = {250, 4, {7, 6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 10, 10};
        memset(&ns, 0, sizeof ns);
        memcpy(ns.id, "test", 4);
        ns.id_len = 4;
        memset(ns.reveal_key, 9, 32);
        ns.reveal_height = 7;
        ns.ready = 1;
        ns.ready_height = 9;
        ns.lifetime = 100;
        ns.price = f;
        arb_names_ns_rec_encode(&b, &ns);
        CHECK_EQ(b.len, 1 + 5 + 32 + 4 + 1 + 4 + 4 + 20);
        CHECK(arb_names_ns_rec_decode(&nb, b.data, b.len) == ARB_OK);
        CHECK(memcmp(&nb, &ns, sizeof ns) == 0);
        b.data[1 + 5 + 32 + 4] = 0; /* not ready but a ready height */
        CHECK(arb_names_ns_rec_decode(&nb, b.data, b.len) == ARB_ERR_PARSE);
        arb_buf_free(&b);
        memset(&pr, 0, sizeof pr);
        memset(pr.commitment, 1, 32);
        memset(pr.sender, 2, 32);
        pr.height = 5;
        pr.burned = 77;
        arb_names_preorder_rec_encode(&b, &pr);
        CHECK_EQ(b.len, 77);
        CHECK(arb_names_preorder_rec_decode(&pb, b.data, b.len) == ARB_OK);
        CHECK(memcmp(&pb, &pr, sizeof pr) == 0);
        CHECK(arb_names_preorder_rec_decode(&pb, b.data, b.len - 1) == ARB_ERR_PARSE);
        arb_buf_free(&b);
    }
    {
        uint8_t zf[ARB_NAMES_ZONEFILE_MAX + 1];
        memset(zf, 'z', sizeof zf);
        CHECK(arb_names_zonefile_hash(sha, got, zf, ARB_NAMES_ZONEFILE_MAX) == ARB_OK);
        CHECK(arb_names_zonefile_hash(sha, got, zf, sizeof zf) == ARB_ERR_INVALID_ARG);
    }
}

/* ---- the transition, through a small in-memory state ---- */

enum { MAXR = 16 };
typedef struct {
    arb_namespace_rec ns[MAXR];
    size_t n_ns;
    arb_name_rec names[MAXR];
    size_t n_names;
    arb_names_preorder_rec pre[MAXR];
    size_t n_pre;
} state;

static state st;
static const arb_names_params *P;
/* The state commitment kept up to date op by op with arb_nameop_tree_ops. */
static arb_smt_mem *tree_mem;
static arb_smt_store tree_store;
static arb_hash tree_root;

static const char *run(const arb_nameop *op, const uint8_t *sender, uint32_t height)
{
    arb_nameop_lookups lk;
    arb_names_view in, out;
    const char *reason = NULL;
    size_t i_ns = SIZE_MAX, i_name = SIZE_MAX, i_pre = SIZE_MAX;
    arb_err err;

    memset(&in, 0, sizeof in);
    arb_nameop_lookups_get(sha, op, &lk);
    for (size_t i = 0; lk.need_ns && i < st.n_ns; i++)
        if (st.ns[i].id_len == op->ns_len && memcmp(st.ns[i].id, op->ns, op->ns_len) == 0) {
            i_ns = i;
            in.has_ns = 1;
            in.ns = st.ns[i];
        }
    for (size_t i = 0; lk.need_name && i < st.n_names; i++)
        if (st.names[i].full_len == op->full_len &&
            memcmp(st.names[i].full, op->full, op->full_len) == 0) {
            i_name = i;
            in.has_name = 1;
            in.name = st.names[i];
        }
    for (size_t i = 0; lk.need_preorder && i < st.n_pre; i++)
        if (memcmp(st.pre[i].commitment, lk.preorder_commitment, 32) == 0) {
            i_pre = i;
            in.has_preorder = 1;
            in.preorder = st.pre[i];
        }
    if (st.n_ns == MAXR || st.n_names == MAXR || st.n_pre == MAXR)
        return "(test state full)";
    err = arb_nameop_apply(sha, P, op, sender, height, &in, &out, &reason);
    if (err == ARB_ERR_VERIFY)
        return reason != NULL ? reason : "(no reason)";
    if (err != ARB_OK)
        return "(error)";
    {
        arb_smt_op ops[2];
        size_t n = 0;
        if (arb_nameop_tree_ops(sha, &in, &out, ops, &n) != ARB_OK ||
            arb_smt_update(sha, &tree_store, &tree_root, ops, n, &tree_root) != ARB_OK)
            return "(tree)";
        /* Only the records the operation touched change. */
        if ((op->type == ARB_NAMEOP_NAMESPACE_PREORDER || op->type == ARB_NAMEOP_NAME_PREORDER) &&
            n != 0)
            return "(tree ops for a preorder)";
    }
    if (out.has_ns) {
        if (i_ns == SIZE_MAX)
            i_ns = st.n_ns++;
        st.ns[i_ns] = out.ns;
    }
    if (out.has_name) {
        if (i_name == SIZE_MAX)
            i_name = st.n_names++;
        st.names[i_name] = out.name;
    }
    if (out.has_preorder) {
        if (i_pre == SIZE_MAX)
            i_pre = st.n_pre++;
        st.pre[i_pre] = out.preorder;
    } else if (in.has_preorder) {
        st.pre[i_pre] = st.pre[--st.n_pre];
    }
    return "ok";
}

static uint8_t K_A[32], K_B[32], K_C[32];
static const uint8_t SALT[32] = {7};

static arb_nameop ns_preorder(const char *id, const uint8_t *reveal_key, uint64_t burn)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(sha, op.commitment, (const uint8_t *)id, strlen(id), SALT, reveal_key);
    op.burn = burn;
    return op;
}

static arb_nameop ns_reveal(const char *id, const uint8_t *reveal_key, uint32_t lifetime,
                            const arb_names_price_fn *f)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    memcpy(op.ns, id, strlen(id));
    op.ns_len = strlen(id);
    memcpy(op.salt, SALT, 32);
    memcpy(op.key, reveal_key, 32);
    op.lifetime = lifetime;
    op.price = *f;
    return op;
}

static arb_nameop ns_op(uint8_t type, const char *id)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = type;
    memcpy(op.ns, id, strlen(id));
    op.ns_len = strlen(id);
    return op;
}

/* A name operation on full (type >= import), via the codec so that every
 * operation the test applies is one that decodes. */
static arb_nameop name_op(uint8_t type, const char *full, const uint8_t *key, uint64_t burn)
{
    arb_nameop op, back;
    arb_buf b = ARB_BUF_INIT;
    size_t nl = 0;
    memset(&op, 0, sizeof op);
    op.type = type;
    memcpy(op.full, full, strlen(full));
    op.full_len = strlen(full);
    if (!arb_names_full_valid(op.full, op.full_len, &nl))
        abort();
    op.name_len = nl;
    op.ns_len = op.full_len - nl - 1;
    memcpy(op.ns, op.full + nl + 1, op.ns_len);
    if (key != NULL)
        memcpy(op.key, key, 32);
    if (type == ARB_NAMEOP_NAME_REGISTER)
        memcpy(op.salt, SALT, 32);
    if (type == ARB_NAMEOP_NAME_RENEW)
        op.burn = burn;
    if (type == ARB_NAMEOP_NAME_UPDATE) {
        op.has_zonefile = 1;
        memset(op.zonefile_hash, (int)(burn & 0xff), 32);
    }
    if (type == ARB_NAMEOP_NAME_TRANSFER)
        op.keep_zonefile = (uint8_t)burn;
    if (arb_nameop_encode(&b, &op) != ARB_OK ||
        arb_nameop_decode(&back, type, b.data, b.len, NULL) != ARB_OK)
        abort();
    arb_buf_free(&b);
    return back;
}

static arb_nameop name_preorder(const char *full, const uint8_t *owner, uint64_t burn)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_PREORDER;
    arb_nameop_name_commitment(sha, op.commitment, (const uint8_t *)full, strlen(full), SALT, owner);
    op.burn = burn;
    return op;
}

static const arb_name_rec *find_name(const char *full)
{
    for (size_t i = 0; i < st.n_names; i++)
        if (st.names[i].full_len == strlen(full) && memcmp(st.names[i].full, full, strlen(full)) == 0)
            return &st.names[i];
    return NULL;
}

static void test_lifecycle(void)
{
    /* Prices under f: 5+ letters with a vowel: 1 * 2^1 * 10 = 20; "b" (one
     * letter, no vowel): 1 * 2^15 / 2 * 10 = 163840. */
    arb_names_price_fn f = {1, 2, {15, 4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 2, 2};
    arb_names_price_fn bad = f;
    /* Overflows for every name shorter than 16 bytes; 16 and more: 2550. */
    arb_names_price_fn steep = {255, 255, {15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 0}, 1, 1};
    const uint64_t ns_price = 6400000000ULL; /* 4-7 byte ids */
    arb_nameop op;
    const arb_name_rec *r;

    P = arb_names_params_get("regtest");
    CHECK(P != NULL && P->preorder_ttl == 6 && P->namespace_ready_ttl == 40 && P->grace_period == 10);
    CHECK(arb_names_params_get("main")->grace_period == 5000);
    CHECK(arb_names_params_get("main")->preorder_ttl == 144);
    CHECK(arb_names_params_get("main")->namespace_ready_ttl == 52595);
    CHECK(arb_names_params_get("nope") == NULL);
    memset(&st, 0, sizeof st);
    CHECK(arb_smt_mem_new(&tree_mem) == ARB_OK);
    arb_smt_mem_store(tree_mem, &tree_store);
    arb_smt_empty(&tree_root);
    bad.buckets[0] = 16;

    /* Namespace "test": preorder by A at 10. */
    op = ns_preorder("test", K_A, 0);
    CHECK_STR(run(&op, K_A, 10), "namespace-preorder-no-burn");
    op = ns_preorder("test", K_A, ns_price - 1);
    CHECK_STR(run(&op, K_A, 10), "ok");
    CHECK_STR(run(&op, K_A, 12), "namespace-preorder-exists");
    op = ns_reveal("test", K_A, 30, &f);
    CHECK_STR(run(&op, K_A, 10), "namespace-preorder-same-block");
    CHECK_STR(run(&op, K_B, 11), "namespace-preorder-sender");
    CHECK_STR(run(&op, K_A, 16), "namespace-preorder-expired");
    CHECK_STR(run(&op, K_A, 11), "namespace-burn-insufficient");
    op = ns_reveal("test", K_B, 30, &f); /* other reveal key: another commitment */
    CHECK_STR(run(&op, K_A, 11), "namespace-preorder-missing");
    /* An expired preorder may be made again (now with enough burned). */
    op = ns_preorder("test", K_A, ns_price);
    CHECK_STR(run(&op, K_A, 16), "ok");
    op = ns_reveal("test", K_A, 30, &bad);
    CHECK_STR(run(&op, K_A, 17), "namespace-price-function-invalid");
    op = ns_reveal("test", K_A, 30, &f);
    CHECK_STR(run(&op, K_A, 17), "ok");
    CHECK_EQ(st.n_pre, 0);
    CHECK_EQ(st.n_ns, 1);
    /* Revealed again while pending: refused. */
    op = ns_preorder("test", K_B, ns_price);
    CHECK_STR(run(&op, K_B, 18), "ok");
    op = ns_reveal("test", K_B, 30, &f);
    CHECK_STR(run(&op, K_B, 19), "namespace-exists");

    /* Import by the revealer only; names do not work before ready. */
    op = name_op(ARB_NAMEOP_NAME_IMPORT, "imported.test", K_C, 0);
    CHECK_STR(run(&op, K_B, 20), "namespace-not-revealer");
    CHECK_STR(run(&op, K_A, 20), "ok");
    r = find_name("imported.test");
    CHECK(r != NULL && r->imported && r->lifetime == 30 && memcmp(r->owner, K_C, 32) == 0);
    op = name_op(ARB_NAMEOP_NAME_UPDATE, "imported.test", NULL, 1);
    CHECK_STR(run(&op, K_C, 21), "namespace-not-ready");
    op = name_preorder("alice.test", K_B, 20);
    CHECK_STR(run(&op, K_B, 21), "ok");
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "alice.test", K_B, 0);
    CHECK_STR(run(&op, K_B, 22), "namespace-not-ready");
    op = ns_op(ARB_NAMEOP_NAMESPACE_READY, "test");
    CHECK_STR(run(&op, K_B, 22), "namespace-not-revealer");
    CHECK_STR(run(&op, K_A, 22), "ok");
    CHECK_STR(run(&op, K_A, 23), "namespace-already-ready");
    op = name_op(ARB_NAMEOP_NAME_IMPORT, "late.test", K_C, 0);
    CHECK_STR(run(&op, K_A, 23), "namespace-already-ready");
    op = ns_op(ARB_NAMEOP_NAMESPACE_READY, "other");
    CHECK_STR(run(&op, K_A, 23), "namespace-missing");

    /* Register alice.test (preordered at 21 by B, price 20). */
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "alice.test", K_B, 0);
    CHECK_STR(run(&op, K_A, 23), "name-preorder-sender");
    CHECK_STR(run(&op, K_B, 27), "name-preorder-expired");
    CHECK_STR(run(&op, K_B, 26), "ok");
    CHECK_EQ(st.n_pre, 1); /* B's pending namespace preorder from 18 */
    r = find_name("alice.test");
    CHECK(r != NULL && r->registered_height == 26 && r->renewed_height == 26 && r->lifetime == 30);
    /* Registered: taken for anyone else. */
    op = name_preorder("alice.test", K_C, 1000);
    CHECK_STR(run(&op, K_C, 27), "ok");
    CHECK_STR(run(&op, K_C, 27), "name-preorder-exists");
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "alice.test", K_C, 0);
    CHECK_STR(run(&op, K_C, 27), "name-preorder-same-block");
    CHECK_STR(run(&op, K_C, 28), "name-taken");
    /* A preorder that burned too little. */
    op = name_preorder("b.test", K_C, 163839);
    CHECK_STR(run(&op, K_C, 28), "ok");
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "b.test", K_C, 0);
    CHECK_STR(run(&op, K_C, 29), "name-burn-insufficient");
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "never.test", K_C, 0);
    CHECK_STR(run(&op, K_C, 29), "name-preorder-missing");

    /* Owner operations. */
    op = name_op(ARB_NAMEOP_NAME_UPDATE, "alice.test", NULL, 0x33);
    CHECK_STR(run(&op, K_C, 30), "name-not-owner");
    CHECK_STR(run(&op, K_B, 30), "ok");
    r = find_name("alice.test");
    CHECK(r->has_zonefile && r->zonefile_hash[0] == 0x33);
    op = name_op(ARB_NAMEOP_NAME_UPDATE, "nobody.test", NULL, 0x33);
    CHECK_STR(run(&op, K_B, 30), "name-missing");
    op = name_op(ARB_NAMEOP_NAME_TRANSFER, "alice.test", K_C, 1);
    CHECK_STR(run(&op, K_B, 31), "ok");
    r = find_name("alice.test");
    CHECK(memcmp(r->owner, K_C, 32) == 0 && r->has_zonefile);
    op = name_op(ARB_NAMEOP_NAME_TRANSFER, "alice.test", K_B, 0);
    CHECK_STR(run(&op, K_B, 32), "name-not-owner");
    CHECK_STR(run(&op, K_C, 32), "ok");
    r = find_name("alice.test");
    CHECK(memcmp(r->owner, K_B, 32) == 0 && !r->has_zonefile);
    /* Renew at 40: price 20. */
    op = name_op(ARB_NAMEOP_NAME_RENEW, "alice.test", NULL, 19);
    CHECK_STR(run(&op, K_B, 40), "name-burn-insufficient");
    op = name_op(ARB_NAMEOP_NAME_RENEW, "alice.test", NULL, 20);
    CHECK_STR(run(&op, K_C, 40), "name-not-owner");
    CHECK_STR(run(&op, K_B, 40), "ok");
    r = find_name("alice.test");
    CHECK_EQ(r->renewed_height, 40);
    /* Expires at 40 + 30 = 70; grace until 80. */
    CHECK(arb_names_resolves(r, 69));
    CHECK(!arb_names_resolves(r, 70));
    CHECK(arb_names_in_grace(P, r, 70) && arb_names_in_grace(P, r, 79));
    CHECK(!arb_names_in_grace(P, r, 80) && arb_names_released(P, r, 80));
    op = name_op(ARB_NAMEOP_NAME_UPDATE, "alice.test", NULL, 0x44);
    CHECK_STR(run(&op, K_B, 69), "ok");
    CHECK_STR(run(&op, K_B, 70), "name-expired");
    op = name_preorder("alice.test", K_C, 20);
    CHECK_STR(run(&op, K_C, 74), "ok");
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "alice.test", K_C, 0);
    CHECK_STR(run(&op, K_C, 75), "name-in-grace");
    /* The owner renews in grace. */
    op = name_op(ARB_NAMEOP_NAME_RENEW, "alice.test", NULL, 20);
    CHECK_STR(run(&op, K_B, 79), "ok");
    CHECK(arb_names_resolves(find_name("alice.test"), 80));
    /* Let it lapse past grace (79 + 30 + 10 = 119): the owner cannot renew,
     * anyone may register. */
    CHECK_STR(run(&op, K_B, 119), "name-expired");
    op = name_preorder("alice.test", K_C, 20);
    CHECK_STR(run(&op, K_C, 118), "ok");
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "alice.test", K_C, 0);
    CHECK_STR(run(&op, K_C, 118), "name-preorder-same-block");
    CHECK_STR(run(&op, K_C, 119), "ok");
    r = find_name("alice.test");
    CHECK(memcmp(r->owner, K_C, 32) == 0 && r->registered_height == 119 && !r->has_zonefile);

    /* Revoke. */
    op = name_op(ARB_NAMEOP_NAME_REVOKE, "alice.test", NULL, 0);
    CHECK_STR(run(&op, K_B, 120), "name-not-owner");
    CHECK_STR(run(&op, K_C, 120), "ok");
    CHECK(!arb_names_resolves(find_name("alice.test"), 120));
    CHECK_STR(run(&op, K_C, 121), "name-revoked");
    op = name_op(ARB_NAMEOP_NAME_UPDATE, "alice.test", NULL, 1);
    CHECK_STR(run(&op, K_C, 121), "name-revoked");

    /* A namespace that is never made ready lapses 40 blocks after its reveal
     * and may then be revealed again. */
    op = ns_preorder("lapse", K_A, ns_price);
    CHECK_STR(run(&op, K_A, 200), "ok");
    op = ns_reveal("lapse", K_A, 0, &steep);
    CHECK_STR(run(&op, K_A, 201), "ok");
    op = name_op(ARB_NAMEOP_NAME_IMPORT, "stale.lapse", K_C, 0);
    CHECK_STR(run(&op, K_A, 202), "ok");
    CHECK(!arb_names_ns_lapsed(P, &st.ns[st.n_ns - 1], 240));
    CHECK(arb_names_ns_lapsed(P, &st.ns[st.n_ns - 1], 241));
    op = ns_op(ARB_NAMEOP_NAMESPACE_READY, "lapse");
    CHECK_STR(run(&op, K_A, 241), "namespace-lapsed"); /* 201 + 40 */
    op = name_op(ARB_NAMEOP_NAME_IMPORT, "x.lapse", K_C, 0);
    CHECK_STR(run(&op, K_A, 241), "namespace-lapsed");
    op = ns_preorder("lapse", K_B, ns_price);
    CHECK_STR(run(&op, K_B, 241), "ok");
    op = ns_reveal("lapse", K_B, 0, &steep);
    CHECK_STR(run(&op, K_B, 242), "ok");
    op = ns_op(ARB_NAMEOP_NAMESPACE_READY, "lapse");
    CHECK_STR(run(&op, K_B, 243), "ok");
    /* The name imported under the lapsed reveal is stale: absent. */
    CHECK(arb_names_stale(&st.ns[st.n_ns - 1], find_name("stale.lapse")));
    op = name_op(ARB_NAMEOP_NAME_UPDATE, "stale.lapse", NULL, 1);
    CHECK_STR(run(&op, K_C, 244), "name-missing");
    /* lifetime 0: names never expire and cannot be renewed; the steep
     * function makes short names unpayable. */
    op = name_preorder("zz.lapse", K_C, UINT64_MAX);
    CHECK_STR(run(&op, K_C, 244), "ok");
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "zz.lapse", K_C, 0);
    CHECK_STR(run(&op, K_C, 245), "name-price-overflow");
    op = name_op(ARB_NAMEOP_NAME_IMPORT, "old.lapse", K_C, 0);
    CHECK_STR(run(&op, K_B, 245), "namespace-already-ready");
    op = name_preorder("abcdefghijklmnop.lapse", K_C, 0);
    CHECK_STR(run(&op, K_C, 245), "name-preorder-no-burn");
    op = name_preorder("abcdefghijklmnop.lapse", K_C, 2550);
    CHECK_STR(run(&op, K_C, 245), "ok");
    op = name_op(ARB_NAMEOP_NAME_REGISTER, "abcdefghijklmnop.lapse", K_C, 0);
    CHECK_STR(run(&op, K_C, 246), "ok");
    CHECK(arb_names_resolves(find_name("abcdefghijklmnop.lapse"), UINT32_MAX));
    op = name_op(ARB_NAMEOP_NAME_RENEW, "abcdefghijklmnop.lapse", NULL, 2550);
    CHECK_STR(run(&op, K_C, 247), "name-never-expires");

    /* Records that do not belong to the operation: a caller bug. */
    {
        arb_names_view in, out;
        const char *reason;
        memset(&in, 0, sizeof in);
        in.has_name = 1;
        in.name = *find_name("alice.test");
        op = name_op(ARB_NAMEOP_NAME_UPDATE, "imported.test", NULL, 1);
        CHECK(arb_nameop_apply(sha, P, &op, K_C, 300, &in, &out, &reason) == ARB_ERR_INVALID_ARG);
        op = ns_op(ARB_NAMEOP_NAMESPACE_READY, "test");
        CHECK(arb_nameop_apply(sha, P, &op, K_C, 300, &in, &out, &reason) == ARB_ERR_INVALID_ARG);
    }
}

/* The records after the lifecycle, committed to a sparse Merkle tree: a
 * name's record proves against the root, a missing name proves absent. */
static void test_commitment(void)
{
    arb_smt_mem *m;
    arb_smt_store store;
    arb_smt_op ops[2 * MAXR];
    arb_smt_proof p;
    arb_buf b = ARB_BUF_INIT;
    arb_hash root, empty, vh;
    uint8_t key[32];
    size_t n = 0;

    CHECK(st.n_names > 0 && st.n_ns > 0);
    CHECK(arb_smt_mem_new(&m) == ARB_OK);
    arb_smt_mem_store(m, &store);
    for (size_t i = 0; i < st.n_names; i++) {
        arb_names_name_key(sha, ops[n].key, st.names[i].full, st.names[i].full_len);
        CHECK(arb_names_name_rec_hash(sha, &ops[n].value_hash, &st.names[i]) == ARB_OK);
        ops[n++].del = 0;
    }
    for (size_t i = 0; i < st.n_ns; i++) {
        arb_names_ns_key(sha, ops[n].key, st.ns[i].id, st.ns[i].id_len);
        CHECK(arb_names_ns_rec_hash(sha, &ops[n].value_hash, &st.ns[i]) == ARB_OK);
        ops[n++].del = 0;
    }
    arb_smt_empty(&empty);
    CHECK(arb_smt_update(sha, &store, &empty, ops, n, &root) == ARB_OK);
    /* The root kept op by op equals the root of the final records. */
    CHECK_MEM(root.b, tree_root.b, 32);
    arb_names_name_key(sha, key, S("alice.test"));
    CHECK(arb_names_name_rec_hash(sha, &vh, find_name("alice.test")) == ARB_OK);
    CHECK(arb_smt_prove(&store, &root, key, &p) == ARB_OK);
    arb_smt_proof_encode(&b, &p);
    CHECK(arb_smt_verify(sha, &root, key, &vh, b.data, b.len, NULL) == ARB_OK);
    arb_buf_reset(&b);
    arb_names_name_key(sha, key, S("bob.test"));
    CHECK(arb_smt_prove(&store, &root, key, &p) == ARB_OK);
    arb_smt_proof_encode(&b, &p);
    CHECK(arb_smt_verify(sha, &root, key, NULL, b.data, b.len, NULL) == ARB_OK);
    arb_buf_free(&b);
    arb_smt_mem_free(m);
    arb_smt_mem_free(tree_mem);
    tree_mem = NULL;
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    memset(K_A, 0xaa, 32);
    memset(K_B, 0xbb, 32);
    memset(K_C, 0xcc, 32);
    test_syntax();
    test_prices();
    test_codec();
    test_hashes();
    test_lifecycle();
    test_commitment();
    arb_sha256_free(sha);
    return arb_test_done();
}
