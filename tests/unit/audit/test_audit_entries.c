/* The get-entries decoders (auditor/entries.h): the strict in-place decoder
 * on the shape RFC 6962 4.6 answers have, written every way JSON allows
 * (whitespace, key order, escapes), against known bytes; answers it must
 * refuse (leaving them untouched) and what jansson then says; and a seeded
 * random differential run — random answers, then random damage — in which
 * the strict decoder, jansson and the combination the client uses must
 * agree on every input (tests/unit/audit/entries_diff.h). */
#include <stdlib.h>
#include <string.h>

#include "auditor/entries.h"
#include "merkle/buf.h"
#include "tests/test.h"
#include "tests/unit/audit/entries_diff.h"

/* "leaf" -> bGVhZg==, "x" -> eA==, "abc" -> YWJj, "" -> "" */
static void check_known(const char *json, size_t max)
{
    arb_audit_entry_view v[4];
    size_t n = 99, len = strlen(json);
    uint8_t *body = (uint8_t *)strdup(json);
    int sok;

    CHECK(body != NULL);
    CHECK_EQ(entries_diff(body, len, max, &sok), 1);
    CHECK_EQ(sok, 1);
    CHECK_EQ(arb_audit_entries_strict(v, &n, body, len, max), 1);
    CHECK_EQ(n, 2);
    CHECK_EQ(v[0].leaf_len, 4);
    CHECK_MEM(v[0].leaf, "leaf", 4);
    CHECK_EQ(v[0].extra_len, 1);
    CHECK_MEM(v[0].extra, "x", 1);
    CHECK_EQ(v[1].leaf_len, 3);
    CHECK_MEM(v[1].leaf, "abc", 3);
    CHECK_EQ(v[1].extra_len, 0);
    /* the bytes are inside the answer: decoded in place */
    CHECK(v[0].leaf > body && v[1].extra < body + len);
    free(body);
}

static void test_accepted(void)
{
    check_known("{\"entries\":[{\"leaf_input\":\"bGVhZg==\",\"extra_data\":\"eA==\"},"
                "{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"}]}",
                2);
    /* whitespace everywhere JSON allows it */
    check_known(" \r\n\t{ \"entries\" :\n [ { \"leaf_input\" : \"bGVhZg==\" , \"extra_data\":"
                "\"eA==\" }\t,\r\n{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"} ] }\n\n",
                256);
    /* the other key order, per entry */
    check_known("{\"entries\":[{\"extra_data\":\"eA==\",\"leaf_input\":\"bGVhZg==\"},"
                "{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"}]}",
                2);
    /* escapes in values and keys: \/ is '/', \u0041 is 'A' ... here
     * bGVhZg== spelled with \u0062 and \u003d, and keys with \u005f */
    check_known("{\"entr\\u0069es\":[{\"leaf\\u005finput\":\"\\u0062GVhZg\\u003d=\","
                "\"extra_data\":\"eA\\u003D\\u003d\"},{\"leaf_input\":\"YW\\u004aj\","
                "\"extra\\u005Fdata\":\"\"}]}",
                2);
}

/* An escaped '/' in a value decodes like '/': "/w==" is 0xff. */
static void test_solidus(void)
{
    char json[] = "{\"entries\":[{\"leaf_input\":\"\\/w==\",\"extra_data\":\"+/8=\"}]}";
    arb_audit_entry_view v[1];
    size_t n;
    int sok;

    CHECK_EQ(entries_diff((uint8_t *)json, strlen(json), 1, &sok), 1);
    CHECK_EQ(sok, 1);
    CHECK_EQ(arb_audit_entries_strict(v, &n, (uint8_t *)json, strlen(json), 1), 1);
    CHECK_EQ(n, 1);
    CHECK_EQ(v[0].leaf_len, 1);
    CHECK_EQ(v[0].leaf[0], 0xff);
    CHECK_EQ(v[0].extra_len, 2);
    CHECK_EQ(v[0].extra[0], 0xfb);
    CHECK_EQ(v[0].extra[1], 0xff);
}

/* Refused by the strict decoder, body untouched, and the decoders agree. */
static void check_refused(const char *json, size_t max)
{
    arb_audit_entry_view v[4];
    size_t n = 99, len = strlen(json);
    uint8_t *body = (uint8_t *)strdup(json);
    int sok;

    CHECK(body != NULL);
    CHECK_EQ(arb_audit_entries_strict(v, &n, body, len, max), 0);
    CHECK_EQ(n, 0);
    CHECK_MEM(body, json, len);
    CHECK_EQ(entries_diff(body, len, max, &sok), 1);
    CHECK_EQ(sok, 0);
    free(body);
}

static arb_err count_fn(void *ud, uint64_t index, const uint8_t *leaf, size_t ll,
                        const uint8_t *extra, size_t el)
{
    (void)index;
    (void)leaf;
    (void)ll;
    (void)extra;
    (void)el;
    (*(int *)ud)++;
    return ARB_OK;
}

static void check_json_result(const char *json, size_t max, arb_err want, const char *msg)
{
    uint8_t *body = (uint8_t *)strdup(json);
    uint64_t got;
    arb_errbuf eb;
    int calls = 0;

    CHECK(body != NULL);
    CHECK_EQ(arb_audit_entries_decode(body, strlen(json), max, 0, count_fn, &calls, &got, "u",
                                      &eb),
             want);
    if (msg != NULL)
        CHECK(strstr(eb.msg, msg) != NULL);
    CHECK_EQ(got, (uint64_t)calls);
    free(body);
}

static void test_refused(void)
{
    static const struct {
        const char *json;
        size_t max;
        arb_err want; /* what jansson (and so the client) says */
        const char *msg;
    } cases[] = {
        /* shapes jansson accepts but the strict decoder leaves to it */
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\",\"x\":1}]}", 1, ARB_OK, NULL},
        {"{\"x\":[],\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"}]}", 1, ARB_OK,
         NULL},
        /* errors */
        {"{\"entries\":[]}", 1, ARB_ERR_PARSE, "missing, empty"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"},"
         "{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"}]}",
         1, ARB_ERR_PARSE, "too long"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"leaf_input\":\"YWJj\",\"extra_data\":\"\"}]}",
         1, ARB_ERR_PARSE, "not JSON"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"leaf\\u005finput\":\"YWJj\","
         "\"extra_data\":\"\"}]}",
         1, ARB_ERR_PARSE, "not JSON"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\"}]}", 1, ARB_ERR_PARSE, "not base64"},
        {"{\"entries\":[{\"leaf_input\":\"YWJ\",\"extra_data\":\"\"}]}", 1, ARB_ERR_PARSE,
         "not base64"},
        {"{\"entries\":[{\"leaf_input\":\"YQ=\",\"extra_data\":\"\"}]}", 1, ARB_ERR_PARSE,
         "not base64"},
        /* non-canonical: bits set beyond the data */
        {"{\"entries\":[{\"leaf_input\":\"YR==\",\"extra_data\":\"\"}]}", 1, ARB_ERR_PARSE,
         "not base64"},
        {"{\"entries\":[{\"leaf_input\":\"YWK=\",\"extra_data\":\"\"}]}", 1, ARB_ERR_PARSE,
         "not base64"},
        {"{\"entries\":[{\"leaf_input\":\"YW=j\",\"extra_data\":\"\"}]}", 1, ARB_ERR_PARSE,
         "not base64"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\\n\",\"extra_data\":\"\"}]}", 1, ARB_ERR_PARSE,
         "not base64"},
        {"{\"entries\":[{\"leaf_input\":1,\"extra_data\":\"\"}]}", 1, ARB_ERR_PARSE,
         "not base64"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"}]} x", 1, ARB_ERR_PARSE,
         "not JSON"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"},]}", 1, ARB_ERR_PARSE,
         "not JSON"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"}]", 1, ARB_ERR_PARSE,
         "not JSON"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\\u00\"}]}", 1, ARB_ERR_PARSE,
         "not JSON"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\\u0000\"}]}", 1,
         ARB_ERR_PARSE, "not JSON"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\xc3\xa9\"}]}", 1,
         ARB_ERR_PARSE, "not base64"},
        {"{\"entries\":[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\xff\"}]}", 1, ARB_ERR_PARSE,
         "not JSON"},
        {"[{\"leaf_input\":\"YWJj\",\"extra_data\":\"\"}]", 1, ARB_ERR_PARSE, "not a JSON object"},
        {"{\"entries\":{}}", 1, ARB_ERR_PARSE, "missing"},
        {"", 1, ARB_ERR_PARSE, "not JSON"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_refused(cases[i].json, cases[i].max);
        check_json_result(cases[i].json, cases[i].max, cases[i].want, cases[i].msg);
    }
}

/* ---- random answers ---- */

static void put_ws(arb_buf *b)
{
    static const char ws[] = " \t\r\n";
    while (arb_test_rand_below(4) == 0)
        arb_buf_u8(b, (uint8_t)ws[arb_test_rand_below(4)]);
}

/* A string, each character written plain or as one of its JSON escapes. */
static void put_str(arb_buf *b, const char *s, size_t n, int escapes)
{
    arb_buf_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        char esc[8];
        unsigned r = escapes ? (unsigned)arb_test_rand_below(8) : 7;
        if (r == 0) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)s[i]);
            arb_buf_put(b, esc, 6);
        } else if (r == 1) {
            snprintf(esc, sizeof esc, "\\u%04X", (unsigned char)s[i]);
            arb_buf_put(b, esc, 6);
        } else if (r == 2 && s[i] == '/') {
            arb_buf_put(b, "\\/", 2);
        } else {
            arb_buf_u8(b, (uint8_t)s[i]);
        }
    }
    arb_buf_u8(b, '"');
}

static void put_member(arb_buf *b, const char *key, const uint8_t *val, size_t vlen, int esc)
{
    char *v64 = arb_base64_encode(val, vlen);

    put_ws(b);
    put_str(b, key, strlen(key), esc);
    put_ws(b);
    arb_buf_u8(b, ':');
    put_ws(b);
    put_str(b, v64 ? v64 : "", v64 ? strlen(v64) : 0, esc);
    put_ws(b);
    free(v64);
}

/* A valid answer of n entries with random bytes, whitespace, key order and
 * (when esc) escapes. */
static void make_answer(arb_buf *b, size_t n, int esc)
{
    uint8_t val[300];

    put_ws(b);
    arb_buf_u8(b, '{');
    put_ws(b);
    put_str(b, "entries", 7, esc);
    put_ws(b);
    arb_buf_u8(b, ':');
    put_ws(b);
    arb_buf_u8(b, '[');
    for (size_t i = 0; i < n; i++) {
        size_t ll = arb_test_rand_below(sizeof val), el = arb_test_rand_below(40);
        int swap = (int)arb_test_rand_below(2);
        if (i > 0)
            arb_buf_u8(b, ',');
        put_ws(b);
        arb_buf_u8(b, '{');
        arb_test_rand_bytes(val, sizeof val);
        put_member(b, swap ? "extra_data" : "leaf_input", val, swap ? el : ll, esc);
        arb_buf_u8(b, ',');
        put_member(b, swap ? "leaf_input" : "extra_data", val + 1, swap ? ll : el, esc);
        arb_buf_u8(b, '}');
        put_ws(b);
    }
    arb_buf_u8(b, ']');
    put_ws(b);
    arb_buf_u8(b, '}');
    put_ws(b);
}

/* Damage: flip, insert or delete a few bytes, mostly JSON-significant ones. */
static void damage(arb_buf *b)
{
    static const char interesting[] = "{}[]\":,\\ =/+Au0\x01\x80";
    unsigned k = 1 + (unsigned)arb_test_rand_below(3);

    for (unsigned i = 0; i < k && b->len > 0; i++) {
        size_t at = arb_test_rand_below(b->len);
        uint8_t ch = (uint8_t)interesting[arb_test_rand_below(sizeof interesting - 1)];
        switch (arb_test_rand_below(3)) {
        case 0:
            b->data[at] = ch;
            break;
        case 1:
            if (arb_buf_u8(b, 0)) {
                memmove(b->data + at + 1, b->data + at, b->len - 1 - at);
                b->data[at] = ch;
            }
            break;
        default:
            memmove(b->data + at, b->data + at + 1, b->len - at - 1);
            b->len--;
        }
    }
}

static void test_random(void)
{
    unsigned long rounds = arb_test_count(3000), accepted = 0, damaged_accepted = 0;

    for (unsigned long r = 0; r < rounds; r++) {
        arb_buf b = ARB_BUF_INIT;
        size_t n = 1 + arb_test_rand_below(6), max = n + arb_test_rand_below(3);
        int esc = (int)arb_test_rand_below(2), sok;
        make_answer(&b, n, esc);
        CHECK(!b.oom);
        /* every valid answer is the strict decoder's */
        CHECK_EQ(entries_diff(b.data, b.len, max, &sok), 1);
        CHECK_EQ(sok, 1);
        accepted++;
        damage(&b);
        CHECK(!b.oom);
        CHECK_EQ(entries_diff(b.data, b.len, max, &sok), 1);
        damaged_accepted += (unsigned long)sok;
        arb_buf_free(&b);
    }
    CHECK_EQ(accepted, rounds);
    printf("random: %lu answers, %lu still accepted after damage\n", rounds, damaged_accepted);
}

int main(void)
{
    arb_test_seed_init();
    test_accepted();
    test_solidus();
    test_refused();
    test_random();
    return arb_test_done();
}
