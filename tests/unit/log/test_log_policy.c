/* The production submission policy of the log: OID lists, expiry rules,
 * required extended key usages (Go crypto/x509 semantics), refused
 * extensions, the reason reported for each refusal; the per-client token
 * buckets; the v3 log list the log serves (checked with jansson and against
 * the schema's required fields). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ledger/log/chain.h"
#include "ledger/log/loglist.h"
#include "ledger/log/ratelimit.h"
#include "merkle/buf.h"
#include "pki.h"
#include "tests/test.h"

#define DAY 86400
#define SERVER_AUTH "1.3.6.1.5.5.7.3.1"
#define CLIENT_AUTH "1.3.6.1.5.5.7.3.2"

static void test_oid_lists(void)
{
    arb_ct_oid_list l;
    arb_errbuf eb;
    static const char *const bad[] = {
        "1",          "3.1",        "1.40",        "0.40",     "1.2.",  ".1.2",    "1..2",
        "01.2",       "1.02",       "1.2.a",       "1.2.4294967296",     "ServerAuthX",
        "1.2.3;4.5",  "\xff",       "1.2.3\n",
    };
    size_t i;

    CHECK_EQ(arb_ct_oid_list_parse(&l, "", 1, &eb), ARB_OK);
    CHECK_EQ(l.n, 0);
    CHECK_EQ(arb_ct_oid_list_parse(&l, " , ,", 1, &eb), ARB_OK);
    CHECK_EQ(l.n, 0);
    CHECK_EQ(arb_ct_oid_list_parse(&l, "ServerAuth, clientauth 1.3.6.1.5.5.7.3.1,2.999.4294967295",
                                   1, &eb),
             ARB_OK);
    CHECK_EQ(l.n, 3); /* serverAuth once */
    CHECK_STR(l.oid[0], SERVER_AUTH);
    CHECK_STR(l.oid[1], CLIENT_AUTH);
    CHECK_STR(l.oid[2], "2.999.4294967295");
    CHECK_EQ(arb_ct_oid_list_parse(&l, "Any,PrecertSigning,OCSPSigning,TimeStamping", 1, &eb),
             ARB_OK);
    CHECK_STR(l.oid[0], ARB_CT_OID_ANY_EKU);
    CHECK_STR(l.oid[1], ARB_CT_OID_PRECERT_SIGNING);
    /* Names are for EKU lists only. */
    CHECK_EQ(arb_ct_oid_list_parse(&l, "serverAuth", 0, &eb), ARB_ERR_PARSE);
    CHECK_EQ(l.n, 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (arb_ct_oid_list_parse(&l, bad[i], 1, &eb) != ARB_ERR_PARSE || l.n != 0)
            arb_test_fail(__FILE__, __LINE__, "accepted bad OID list '%s'", bad[i]);
    }
    /* 17 distinct OIDs: one too many; 16 fit. */
    {
        char text[1024] = "";
        for (i = 0; i < 17; i++) {
            char one[32];
            snprintf(one, sizeof(one), "%s1.2.%zu", i ? "," : "", i);
            strcat(text, one);
        }
        CHECK_EQ(arb_ct_oid_list_parse(&l, text, 0, &eb), ARB_ERR_PARSE);
        *strrchr(text, ',') = 0;
        CHECK_EQ(arb_ct_oid_list_parse(&l, text, 0, &eb), ARB_OK);
        CHECK_EQ(l.n, 16);
    }
    /* An OID of 63 characters fits, 64 does not. */
    {
        char text[80] = "1.2";
        while (strlen(text) < 63)
            strcat(text, strlen(text) == 62 ? "1" : ".1");
        CHECK_EQ(strlen(text), 63);
        CHECK_EQ(arb_ct_oid_list_parse(&l, text, 0, &eb), ARB_OK);
        strcat(text, "1");
        CHECK_EQ(arb_ct_oid_list_parse(&l, text, 0, &eb), ARB_ERR_PARSE);
    }
}

/* ---- chains ---- */

static EVP_PKEY *k_root, *k_int, *k_leaf;
static int64_t now;

typedef struct {
    uint8_t *der[3];
    size_t len[3];
} chain3;

/* leaf <- intermediate <- root, with the given extension flags. */
static arb_ct_roots *make_chain(chain3 *c, unsigned root_flags, unsigned int_flags,
                                unsigned leaf_flags, int64_t not_after, long serial)
{
    pki_spec sr = {"Policy Root", NULL, 1, now - DAY, now + 3650 * DAY, PKI_CA | root_flags};
    pki_spec si = {"Policy Int", NULL, 2, now - DAY, now + 365 * DAY, PKI_CA | int_flags};
    pki_spec sl = {"leaf", NULL, serial, now - 2 * DAY, not_after, leaf_flags};
    X509 *r = pki_cert(&sr, k_root, NULL, NULL), *i = pki_cert(&si, k_int, r, k_root);
    X509 *l = pki_cert(&sl, k_leaf, i, k_int);
    arb_ct_roots *roots = NULL;
    arb_errbuf eb;
    size_t pl;
    char *pem;

    memset(c, 0, sizeof(*c));
    if (r == NULL || i == NULL || l == NULL)
        goto out;
    c->der[0] = pki_der(l, &c->len[0]);
    c->der[1] = pki_der(i, &c->len[1]);
    c->der[2] = pki_der(r, &c->len[2]);
    pem = pki_pem(r, &pl);
    if (pem == NULL || arb_ct_roots_from_pem(&roots, pem, pl, &eb) != ARB_OK)
        roots = NULL;
    free(pem);
out:
    X509_free(r);
    X509_free(i);
    X509_free(l);
    return roots;
}

static void chain_free(chain3 *c)
{
    for (int i = 0; i < 3; i++)
        free(c->der[i]);
}

/* Validates (leaf, intermediate) under opts; returns the reason. */
static arb_ct_reject run(const chain3 *c, const arb_ct_roots *roots, const arb_ct_chain_opts *o,
                         char *msg, size_t cap)
{
    arb_ct_cert_ref refs[2] = {{c->der[0], c->len[0]}, {c->der[1], c->len[1]}};
    arb_ct_chain *out = NULL;
    arb_ct_reject why = ARB_CT_REJECT_OTHER;
    arb_errbuf eb;
    arb_err err;

    eb.msg[0] = 0;
    err = arb_ct_chain_validate_why(&out, &why, roots, o, 0, refs, 2, &eb);
    if ((err == ARB_OK) != (why == ARB_CT_REJECT_NONE) || (err == ARB_OK) != (out != NULL))
        arb_test_fail(__FILE__, __LINE__, "result and reason disagree");
    if (msg != NULL)
        snprintf(msg, cap, "%s", eb.msg);
    arb_ct_chain_free(out);
    return why;
}

static void test_policy(void)
{
    chain3 c;
    arb_ct_roots *roots;
    arb_ct_chain_opts o;
    arb_errbuf eb;
    char msg[ARB_ERRBUF_SIZE];

    /* Expiry: a leaf that expired yesterday, and one valid for a year. */
    roots = make_chain(&c, 0, 0, 0, now - DAY, 10);
    CHECK(roots != NULL);
    memset(&o, 0, sizeof(o));
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE); /* logs take expired ones */
    o.reject_expired = 1;
    CHECK_EQ(run(&c, roots, &o, msg, sizeof(msg)), ARB_CT_REJECT_EXPIRED);
    CHECK(strstr(msg, "expired") != NULL);
    o.now = now - 2 * DAY; /* as seen two days ago it had not expired */
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    o.reject_expired = 0;
    o.reject_unexpired = 1;
    CHECK_EQ(run(&c, roots, &o, msg, sizeof(msg)), ARB_CT_REJECT_UNEXPIRED);
    CHECK(strstr(msg, "only expired") != NULL);
    o.now = 0;
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    /* The shard window comes first and has its own reason. */
    o.not_after_start = now;
    o.not_after_end = now + 10 * DAY;
    CHECK_EQ(run(&c, roots, &o, msg, sizeof(msg)), ARB_CT_REJECT_NOT_AFTER);
    CHECK(strstr(msg, "window") != NULL);
    chain_free(&c);
    arb_ct_roots_free(roots);

    /* EKU: leaf serverAuth. */
    roots = make_chain(&c, 0, 0, PKI_EKU_SERVER, now + 90 * DAY, 11);
    CHECK(roots != NULL);
    memset(&o, 0, sizeof(o));
    CHECK_EQ(arb_ct_oid_list_parse(&o.ext_key_usages, "ServerAuth", 1, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    CHECK_EQ(arb_ct_oid_list_parse(&o.ext_key_usages, "ClientAuth", 1, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, msg, sizeof(msg)), ARB_CT_REJECT_EKU);
    CHECK(strstr(msg, "extended key usage") != NULL);
    CHECK_EQ(arb_ct_oid_list_parse(&o.ext_key_usages, "ClientAuth,ServerAuth", 1, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    CHECK_EQ(arb_ct_oid_list_parse(&o.ext_key_usages, "Any", 1, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    /* Refused extensions: the leaf has none of these... */
    CHECK_EQ(arb_ct_oid_list_parse(&o.reject_extensions, PKI_EXTRA_EXT_OID, 0, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    /* ...but it has a subject alternative name. */
    CHECK_EQ(arb_ct_oid_list_parse(&o.reject_extensions, "1.2.3.4, 2.5.29.17", 0, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, msg, sizeof(msg)), ARB_CT_REJECT_EXTENSION);
    CHECK(strstr(msg, "2.5.29.17") != NULL);
    chain_free(&c);
    arb_ct_roots_free(roots);

    /* A leaf without EKU is valid for any usage (Go's rule). */
    roots = make_chain(&c, 0, 0, 0, now + 90 * DAY, 12);
    memset(&o, 0, sizeof(o));
    CHECK_EQ(arb_ct_oid_list_parse(&o.ext_key_usages, "ServerAuth", 1, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    chain_free(&c);
    arb_ct_roots_free(roots);

    /* An intermediate limited to clientAuth narrows the chain: a serverAuth
     * leaf under it is valid for no usage at all. */
    roots = make_chain(&c, 0, PKI_EKU_CLIENT, PKI_EKU_SERVER | PKI_EKU_CLIENT, now + 90 * DAY, 13);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_EKU);
    CHECK_EQ(arb_ct_oid_list_parse(&o.ext_key_usages, "ClientAuth", 1, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    chain_free(&c);
    arb_ct_roots_free(roots);

    /* anyExtendedKeyUsage on the intermediate does not narrow; on the root a
     * serverAuth-only EKU does. */
    roots = make_chain(&c, 0, PKI_EKU_ANY, PKI_EKU_CLIENT, now + 90 * DAY, 14);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    chain_free(&c);
    arb_ct_roots_free(roots);
    roots = make_chain(&c, PKI_EKU_SERVER, 0, PKI_EKU_CLIENT, now + 90 * DAY, 15);
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_EKU);
    chain_free(&c);
    arb_ct_roots_free(roots);

    /* A refused non-critical extension on the leaf. */
    roots = make_chain(&c, 0, 0, PKI_EXTRA_EXT, now + 90 * DAY, 16);
    memset(&o, 0, sizeof(o));
    CHECK_EQ(run(&c, roots, &o, NULL, 0), ARB_CT_REJECT_NONE);
    CHECK_EQ(arb_ct_oid_list_parse(&o.reject_extensions, PKI_EXTRA_EXT_OID, 0, &eb), ARB_OK);
    CHECK_EQ(run(&c, roots, &o, msg, sizeof(msg)), ARB_CT_REJECT_EXTENSION);
    chain_free(&c);

    /* Other reasons: untrusted, malformed, wrong kind. */
    {
        chain3 c2;
        arb_ct_roots *roots2 = make_chain(&c2, 0, 0, 0, now + 90 * DAY, 17);
        arb_ct_cert_ref refs[2] = {{c2.der[0], c2.len[0]}, {c2.der[1], c2.len[1]}};
        arb_ct_chain *out = NULL;
        arb_ct_reject why;
        EVP_PKEY *k_other = pki_key();
        pki_spec so = {"Policy Root", NULL, 1, now - DAY, now + DAY, PKI_CA};
        X509 *other = pki_cert(&so, k_other, NULL, NULL);
        arb_ct_roots *other_roots = NULL;
        size_t pl;
        char *pem = other ? pki_pem(other, &pl) : NULL;
        memset(&o, 0, sizeof(o));
        /* A root of the same name under another key. */
        CHECK(pem != NULL && arb_ct_roots_from_pem(&other_roots, pem, pl, &eb) == ARB_OK);
        CHECK_EQ(arb_ct_chain_validate_why(&out, &why, other_roots, &o, 0, refs, 2, &eb),
                 ARB_ERR_VERIFY);
        CHECK_EQ(why, ARB_CT_REJECT_UNTRUSTED);
        arb_ct_roots_free(other_roots);
        free(pem);
        X509_free(other);
        EVP_PKEY_free(k_other);
        refs[0].len--;
        CHECK_EQ(arb_ct_chain_validate_why(&out, &why, roots2, &o, 0, refs, 2, &eb), ARB_ERR_PARSE);
        CHECK_EQ(why, ARB_CT_REJECT_MALFORMED);
        refs[0].len++;
        CHECK_EQ(arb_ct_chain_validate_why(&out, &why, roots2, &o, 1, refs, 2, &eb), ARB_ERR_VERIFY);
        CHECK_EQ(why, ARB_CT_REJECT_KIND);
        CHECK_STR(arb_ct_reject_name(ARB_CT_REJECT_NOT_AFTER), "not_after_window");
        CHECK_STR(arb_ct_reject_name(ARB_CT_REJECT_EKU), "ext_key_usage");
        CHECK_STR(arb_ct_reject_name(ARB_CT_REJECT_EXTENSION), "rejected_extension");
        chain_free(&c2);
        arb_ct_roots_free(roots2);
    }
    arb_ct_roots_free(roots);
}

/* ---- rate limits ---- */

static void test_ratelimit(void)
{
    arb_ratelimit *rl = NULL;
    unsigned retry = 0, i;

    CHECK_EQ(arb_ratelimit_new(&rl, 8), ARB_OK);
    /* 2 per second, burst 3: three at once, then refused for 1 s. */
    for (i = 0; i < 3; i++)
        CHECK(arb_ratelimit_take(rl, "192.0.2.1", 2.0, 3, 1000, &retry));
    CHECK(!arb_ratelimit_take(rl, "192.0.2.1", 2.0, 3, 1000, &retry));
    CHECK_EQ(retry, 1);
    /* Another client has its own bucket. */
    CHECK(arb_ratelimit_take(rl, "192.0.2.2", 2.0, 3, 1000, &retry));
    /* 499 ms later still no token; at 500 ms one. */
    CHECK(!arb_ratelimit_take(rl, "192.0.2.1", 2.0, 3, 1499, &retry));
    CHECK(arb_ratelimit_take(rl, "192.0.2.1", 2.0, 3, 1500, &retry));
    CHECK(!arb_ratelimit_take(rl, "192.0.2.1", 2.0, 3, 1500, &retry));
    /* A slow rate: retry after ceil(1/0.01) = 100 s. */
    CHECK(arb_ratelimit_take(rl, "198.51.100.7", 0.01, 1, 0, &retry));
    CHECK(!arb_ratelimit_take(rl, "198.51.100.7", 0.01, 1, 0, &retry));
    CHECK_EQ(retry, 100);
    /* IPv6 clients share the bucket of their /64; IPv4-mapped ones are IPv4. */
    CHECK(arb_ratelimit_take(rl, "2001:db8:1:2::1", 1.0, 1, 0, &retry));
    CHECK(!arb_ratelimit_take(rl, "2001:db8:1:2:ffff::9", 1.0, 1, 0, &retry));
    CHECK(arb_ratelimit_take(rl, "2001:db8:1:3::1", 1.0, 1, 0, &retry));
    CHECK(!arb_ratelimit_take(rl, "::ffff:198.51.100.7", 0.01, 1, 0, &retry));
    /* No limit. */
    CHECK(arb_ratelimit_take(rl, "192.0.2.1", 0, 0, 1500, &retry));
    CHECK_EQ(retry, 0);
    /* The table stays bounded: many clients, at most 8 buckets; the newest
     * client always gets its burst. */
    for (i = 0; i < 1000; i++) {
        char a[32];
        snprintf(a, sizeof(a), "10.0.%u.%u", i / 256, i % 256);
        CHECK(arb_ratelimit_take(rl, a, 1.0, 2, 5000 + i, &retry));
        CHECK(arb_ratelimit_clients(rl) <= 8);
    }
    /* Garbage keys are keyed as given. */
    CHECK(arb_ratelimit_take(rl, "", 1.0, 1, 0, &retry));
    CHECK(arb_ratelimit_take(rl, "not an address at all, and rather long: .............................",
                             1.0, 1, 0, &retry));
    arb_ratelimit_free(rl);
    arb_ratelimit_free(NULL);
}

/* ---- the log list ---- */

static void test_loglist(void)
{
    static const uint8_t spki[] = {0x30, 0x03, 0x01, 0x02, 0x03};
    arb_ct_loglist_info li;
    char *text = NULL, *b64id;
    json_t *root, *op, *log, *tl;
    json_error_t je;
    uint8_t id[32];
    unsigned int idlen;
    arb_errbuf eb;

    CHECK(arb_ct_loglist_url_ok("https://ct.example.org/2026h2/"));
    CHECK(arb_ct_loglist_url_ok("http://127.0.0.1:8080/"));
    CHECK(!arb_ct_loglist_url_ok("https://ct.example.org/2026h2"));
    CHECK(!arb_ct_loglist_url_ok("ftp://ct.example.org/"));
    CHECK(!arb_ct_loglist_url_ok("https:///"));
    CHECK(!arb_ct_loglist_url_ok("https://a b/"));
    CHECK(!arb_ct_loglist_url_ok("https://a\"b/"));
    CHECK(!arb_ct_loglist_url_ok("https://a/?x=/"));
    CHECK(!arb_ct_loglist_url_ok("https://a\xc3\xa9/"));
    CHECK(!arb_ct_loglist_url_ok(NULL));

    memset(&li, 0, sizeof(li));
    li.spki = spki;
    li.spki_len = sizeof(spki);
    li.url = "https://ct.example.org/2026h2/";
    li.mmd = 86400;
    li.timestamp = 1767225600; /* 2026-01-01T00:00:00Z */
    li.description = "a \"quoted\" \\ log\nname";
    CHECK_EQ(arb_ct_loglist_json(&text, &li, &eb), ARB_OK);
    root = text ? json_loads(text, 0, &je) : NULL;
    CHECK(root != NULL);
    CHECK_STR(json_string_value(json_object_get(root, "log_list_timestamp")), "2026-01-01T00:00:00Z");
    op = json_array_get(json_object_get(root, "operators"), 0);
    CHECK(json_is_string(json_object_get(op, "name")));
    CHECK(json_is_array(json_object_get(op, "email")));
    CHECK_EQ(json_array_size(json_object_get(op, "tiled_logs")), 0);
    log = json_array_get(json_object_get(op, "logs"), 0);
    CHECK_STR(json_string_value(json_object_get(log, "description")), li.description);
    CHECK_STR(json_string_value(json_object_get(log, "url")), li.url);
    CHECK_EQ(json_integer_value(json_object_get(log, "mmd")), 86400);
    CHECK(json_object_get(log, "temporal_interval") == NULL);
    CHECK(json_is_string(json_object_get(json_object_get(json_object_get(log, "state"), "usable"),
                                         "timestamp")));
    EVP_Digest(spki, sizeof(spki), id, &idlen, EVP_sha256(), NULL);
    b64id = arb_base64_encode(id, 32);
    CHECK_STR(json_string_value(json_object_get(log, "log_id")), b64id);
    free(b64id);
    json_decref(root);
    free(text);

    li.monitoring_url = "https://tiles.example.org/2026h2/";
    li.not_after_start = 1782864000; /* 2026-07-01 */
    li.not_after_end = 1798761600;   /* 2027-01-01 */
    li.operator_name = "Example";
    li.operator_email = "ct@example.org";
    CHECK_EQ(arb_ct_loglist_json(&text, &li, &eb), ARB_OK);
    root = text ? json_loads(text, 0, &je) : NULL;
    CHECK(root != NULL);
    op = json_array_get(json_object_get(root, "operators"), 0);
    CHECK_STR(json_string_value(json_object_get(op, "name")), "Example");
    CHECK_STR(json_string_value(json_array_get(json_object_get(op, "email"), 0)), "ct@example.org");
    /* Listed once, as a tiled log. */
    CHECK_EQ(json_array_size(json_object_get(op, "logs")), 0);
    CHECK_EQ(json_array_size(json_object_get(op, "tiled_logs")), 1);
    tl = json_array_get(json_object_get(op, "tiled_logs"), 0);
    log = tl;
    CHECK_STR(json_string_value(json_object_get(tl, "submission_url")), li.url);
    CHECK_STR(json_string_value(json_object_get(tl, "monitoring_url")), li.monitoring_url);
    CHECK(json_object_get(tl, "url") == NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(log, "temporal_interval"),
                                                "start_inclusive")),
              "2026-07-01T00:00:00Z");
    CHECK_STR(json_string_value(json_object_get(json_object_get(tl, "temporal_interval"),
                                                "end_exclusive")),
              "2027-01-01T00:00:00Z");
    json_decref(root);
    free(text);

    /* Refused: bad URLs, no MMD, no key, a description that is not UTF-8. */
    li.url = "https://ct.example.org";
    CHECK_EQ(arb_ct_loglist_json(&text, &li, &eb), ARB_ERR_INVALID_ARG);
    CHECK(text == NULL);
    li.url = "https://ct.example.org/";
    li.monitoring_url = "tiles";
    CHECK_EQ(arb_ct_loglist_json(&text, &li, &eb), ARB_ERR_INVALID_ARG);
    li.monitoring_url = NULL;
    li.mmd = 0;
    CHECK_EQ(arb_ct_loglist_json(&text, &li, &eb), ARB_ERR_INVALID_ARG);
    li.mmd = 60;
    li.spki_len = 0;
    CHECK_EQ(arb_ct_loglist_json(&text, &li, &eb), ARB_ERR_INVALID_ARG);
    li.spki_len = sizeof(spki);
    li.description = "\xff\xfe";
    CHECK(arb_ct_loglist_json(&text, &li, &eb) != ARB_OK);
    CHECK(text == NULL);
}

int main(void)
{
    now = (int64_t)time(NULL);
    k_root = pki_key();
    k_int = pki_key();
    k_leaf = pki_key();
    CHECK_OR(k_root && k_int && k_leaf, 1);
    test_oid_lists();
    test_policy();
    test_ratelimit();
    test_loglist();
    EVP_PKEY_free(k_root);
    EVP_PKEY_free(k_int);
    EVP_PKEY_free(k_leaf);
    return arb_test_done();
}
