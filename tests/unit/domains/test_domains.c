/* The log's domain index (ledger/log/domains.h): hostname normalization,
 * the names taken from a certificate and from a precertificate's TBS (SANs,
 * CNs, wildcards, junk skipped), and search (exact, subdomains, wildcards,
 * pagination with every page size) on a real store, checked against a naive
 * reference over seeded random certificates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ledger/log/domains.h"
#include "tests/test.h"

static EVP_PKEY *key;

/* A self-signed certificate with subject CN `cn` (NULL: none) and the SAN
 * value `san` (OpenSSL config syntax, NULL: none); DER in *der. */
static int make_cert(const char *cn, const char *san, uint8_t **der, size_t *len)
{
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    int ok = x && nm;
    ok = ok && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 7) &&
         X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
         X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    if (ok && cn)
        ok = X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0);
    ok = ok && X509_set_subject_name(x, nm) && X509_set_issuer_name(x, nm) &&
         X509_set_pubkey(x, key);
    if (ok && san) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        ok = e != NULL && X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
    *der = NULL;
    int l = ok ? i2d_X509(x, der) : -1;
    *len = l > 0 ? (size_t)l : 0;
    X509_NAME_free(nm);
    X509_free(x);
    return l > 0;
}

/* The TBSCertificate inside a DER certificate (first element). */
static int tbs_of(const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tlen)
{
    X509 *x;
    const uint8_t *p = der;
    uint8_t *out = NULL;
    int l;
    (void)len;
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL)
        return 0;
    l = i2d_re_X509_tbs(x, &out);
    X509_free(x);
    if (l <= 0)
        return 0;
    *tbs = out;
    *tlen = (size_t)l;
    return 1;
}

static void test_normalize(void)
{
    static const struct {
        const char *in, *out;
    } ok[] = {{"Example.ORG", "example.org"},   {"example.org.", "example.org"},
              {"*.example.org", "*.example.org"}, {"a", "a"},
              {"x_y-z.0.org", "x_y-z.0.org"},     {"*.a", "*.a"}};
    static const char *const bad[] = {"",        ".",           "..",       "a..b",     ".a",
                                      "a b",     "a/b",         "*",        "*.",       "a.*.b",
                                      "**.a",    "*a.b",        "a.b..",    "xn--\xc3\xa9",
                                      "a\nb",    "1.2.3.4/24"};
    char out[ARB_DOMAINS_NAME_MAX + 1], big[300];
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        CHECK(arb_domains_normalize(out, ok[i].in));
        CHECK_STR(out, ok[i].out);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!arb_domains_normalize(out, bad[i]));
    /* 63-byte labels pass, 64 do not; 253 bytes pass, 254 do not. */
    memset(big, 'a', 63);
    strcpy(big + 63, ".org");
    CHECK(arb_domains_normalize(out, big));
    big[63] = 'a';
    strcpy(big + 64, ".org");
    CHECK(!arb_domains_normalize(out, big));
    for (int i = 0; i < 253; i++)
        big[i] = (i % 2) ? '.' : 'a';
    big[253] = 0;
    CHECK(arb_domains_normalize(out, big));
    big[253] = '.';
    big[254] = 'a';
    big[255] = 0;
    CHECK(!arb_domains_normalize(out, big));
}

static void test_names(void)
{
    uint8_t *der;
    size_t len, n;
    char **v;
    const uint8_t *tbs;
    size_t tlen;
    arb_ct_signed_entry e;

    CHECK(make_cert("Example.ORG.",
                    "DNS:www.example.org,DNS:*.api.example.org,DNS:bad name,DNS:a..b,"
                    "DNS:WWW.Example.org,IP:1.2.3.4,email:x@example.org",
                    &der, &len));
    memset(&e, 0, sizeof e);
    e.entry_type = ARB_CT_ENTRY_X509;
    e.cert = der;
    e.cert_len = len;
    CHECK(arb_domains_names(&e, &v, &n) == ARB_OK);
    CHECK_EQ(n, 3);
    if (n == 3) {
        CHECK_STR(v[0], "*.api.example.org");
        CHECK_STR(v[1], "example.org");
        CHECK_STR(v[2], "www.example.org");
    }
    arb_domains_names_free(v, n);
    /* The same certificate as a precert_entry's TBS: the same names. */
    CHECK(tbs_of(der, len, &tbs, &tlen));
    e.entry_type = ARB_CT_ENTRY_PRECERT;
    e.cert = tbs;
    e.cert_len = tlen;
    CHECK(arb_domains_names(&e, &v, &n) == ARB_OK);
    CHECK_EQ(n, 3);
    arb_domains_names_free(v, n);
    /* A certificate as a TBS, a TBS as a certificate, trailing bytes: parse errors. */
    e.cert = der;
    e.cert_len = len;
    CHECK(arb_domains_names(&e, &v, &n) == ARB_ERR_PARSE && v == NULL && n == 0);
    e.entry_type = ARB_CT_ENTRY_X509;
    e.cert = tbs;
    e.cert_len = tlen;
    CHECK(arb_domains_names(&e, &v, &n) == ARB_ERR_PARSE);
    {
        uint8_t *longer = malloc(len + 1);
        memcpy(longer, der, len);
        longer[len] = 0;
        e.cert = longer;
        e.cert_len = len + 1;
        CHECK(arb_domains_names(&e, &v, &n) == ARB_ERR_PARSE);
        free(longer);
    }
    OPENSSL_free((void *)tbs);
    OPENSSL_free(der);
    /* A CN that is not a hostname, and no SAN: no names. */
    CHECK(make_cert("Hostile <script>alert(1)</script>", NULL, &der, &len));
    e.cert = der;
    e.cert_len = len;
    CHECK(arb_domains_names(&e, &v, &n) == ARB_OK && n == 0);
    arb_domains_names_free(v, n);
    OPENSSL_free(der);
}

/* ---------------------------------------------------------------- search vs reference */

#define N_ENTRIES 240
#define MAX_ROWS (N_ENTRIES * 4)

typedef struct {
    char name[ARB_DOMAINS_NAME_MAX + 1];
    uint64_t index;
    uint8_t key[ARB_DOMAINS_NAME_MAX + 9];
    size_t klen;
} row;

static row rows[MAX_ROWS];
static size_t nrows;

/* Reference key: the labels in reverse order, joined by '.', then 0 and the index. */
static void ref_key(row *r)
{
    char labels[64][64];
    int nl = 0;
    char copy[ARB_DOMAINS_NAME_MAX + 1];
    strcpy(copy, r->name);
    for (char *s = strtok(copy, "."); s && nl < 64; s = strtok(NULL, "."))
        strcpy(labels[nl++], s);
    r->klen = 0;
    for (int i = nl - 1; i >= 0; i--) {
        memcpy(r->key + r->klen, labels[i], strlen(labels[i]));
        r->klen += strlen(labels[i]);
        if (i > 0)
            r->key[r->klen++] = '.';
    }
    r->key[r->klen++] = 0;
    for (int i = 7; i >= 0; i--)
        r->key[r->klen++] = (uint8_t)(r->index >> (8 * i));
}

static int cmp_row(const void *a, const void *b)
{
    const row *x = a, *y = b;
    size_t m = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, m);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Newest first: timestamp (1000 + index) and index descending, then name. */
static int cmp_date(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int ref_match(const char *name, const char *q, int sub)
{
    size_t n = strlen(name), l = strlen(q);
    if (strcmp(name, q) == 0)
        return 1;
    return sub && n > l + 1 && name[n - l - 1] == '.' && strcmp(name + n - l, q) == 0;
}

static const char *const bases[] = {"example.org", "example.com", "org", "xample.org",
                                    "ex-ample.org"};
static const char *const labels[] = {"www", "a", "b", "*", "api", "mail"};

static void random_name(char *out)
{
    const char *b = bases[arb_test_rand_below(sizeof bases / sizeof *bases)];
    int depth = (int)arb_test_rand_below(3);
    out[0] = 0;
    for (int i = 0; i < depth; i++) {
        const char *l = labels[arb_test_rand_below(sizeof labels / sizeof *labels)];
        if (strcmp(l, "*") == 0 && i > 0)
            l = "w";
        strcat(out, l);
        strcat(out, ".");
    }
    strcat(out, b);
}

static void test_search(void)
{
    char dir[1024];
    arb_store *st = NULL;
    arb_errbuf eb;
    arb_domains *d = NULL;
    const char *cfs[] = {"default", "log_domains"};
    arb_store_batch *b = NULL;
    static arb_domains_hit hits[ARB_DOMAINS_LIMIT_MAX];

    arb_test_seed_init();
    CHECK(arb_test_tmpdir(dir, sizeof dir) == 0);
    CHECK(arb_store_open(&st, dir, cfs, 2, NULL, &eb) == ARB_OK);
    CHECK(arb_domains_new(&d, st, 1) == ARB_OK);
    CHECK(arb_store_batch_new(&b, st) == ARB_OK);
    if (st == NULL || d == NULL || b == NULL)
        return;
    for (uint64_t i = 0; i < N_ENTRIES; i++) {
        char names[4][ARB_DOMAINS_NAME_MAX + 1], san[1200] = "";
        int nn = 1 + (int)arb_test_rand_below(4);
        uint8_t *der;
        size_t len;
        arb_ct_leaf leaf;
        for (int k = 0; k < nn; k++) {
            random_name(names[k]);
            if (k > 0)
                strcat(san, ",");
            strcat(san, "DNS:");
            strcat(san, names[k]);
        }
        CHECK(make_cert(NULL, san, &der, &len));
        memset(&leaf, 0, sizeof leaf);
        leaf.timestamp = 1000 + i;
        leaf.entry.entry_type = (i % 5 == 0) ? ARB_CT_ENTRY_PRECERT : ARB_CT_ENTRY_X509;
        const uint8_t *tbs = NULL;
        size_t tlen = 0;
        if (leaf.entry.entry_type == ARB_CT_ENTRY_PRECERT) {
            CHECK(tbs_of(der, len, &tbs, &tlen));
            leaf.entry.cert = tbs;
            leaf.entry.cert_len = tlen;
        } else {
            leaf.entry.cert = der;
            leaf.entry.cert_len = len;
        }
        {
            /* Every other entry as the log indexes a submission: with the
             * chain whose leaf validation parsed (the rows must be the same
             * as from parsing the entry). */
            arb_ct_chain ch;
            const uint8_t *p = der;
            memset(&ch, 0, sizeof ch);
            if (i % 2 == 1)
                CHECK((ch.leaf_x509 = d2i_X509(NULL, &p, (long)len)) != NULL);
            CHECK(arb_domains_index_entry(d, b, i, &leaf, i % 2 == 1 ? &ch : NULL) == ARB_OK);
            X509_free(ch.leaf_x509);
        }
        /* Reference rows: the distinct names. */
        for (int k = 0; k < nn; k++) {
            int dup = 0;
            for (int j = 0; j < k; j++)
                dup |= strcmp(names[j], names[k]) == 0;
            if (!dup) {
                memcpy(rows[nrows].name, names[k], strlen(names[k]) + 1); /* < 60 bytes */
                rows[nrows].index = i;
                ref_key(&rows[nrows]);
                nrows++;
            }
        }
        OPENSSL_free((void *)tbs);
        OPENSSL_free(der);
    }
    CHECK(arb_store_write(st, b, ARB_STORE_SYNC, &eb) == ARB_OK);
    arb_store_batch_free(b);
    qsort(rows, nrows, sizeof *rows, cmp_row);

    const char *queries[] = {"example.org", "org",       "example.com", "www.example.org",
                             "*.example.org", "xample.org", "nothing.net", "a.example.org",
                             "EXAMPLE.ORG."};
    const size_t limits[] = {1, 3, 7, 1000};
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++)
        for (int sub = 0; sub < 2; sub++)
            for (size_t li = 0; li < sizeof limits / sizeof *limits; li++) {
                char qn[ARB_DOMAINS_NAME_MAX + 1];
                size_t want = 0, got = 0, n;
                int more = 1;
                arb_domains_hit after;
                CHECK(arb_domains_normalize(qn, queries[q]));
                for (size_t r = 0; r < nrows; r++)
                    want += ref_match(rows[r].name, qn, sub);
                /* Walk the pages; each hit must be the next reference match. */
                size_t r = 0;
                int first = 1;
                while (more) {
                    CHECK(arb_domains_search(d, queries[q], sub, first ? NULL : &after, hits,
                                             limits[li], &n, &more) == ARB_OK);
                    CHECK(n <= limits[li]);
                    CHECK(!more || n == limits[li]);
                    for (size_t h = 0; h < n; h++) {
                        while (r < nrows && !ref_match(rows[r].name, qn, sub))
                            r++;
                        CHECK(r < nrows);
                        if (r >= nrows)
                            break;
                        CHECK_STR(hits[h].name, rows[r].name);
                        CHECK_EQ(hits[h].index, rows[r].index);
                        CHECK_EQ(hits[h].timestamp, 1000 + rows[r].index);
                        CHECK_EQ(hits[h].precert, rows[r].index % 5 == 0);
                        r++;
                        got++;
                    }
                    if (n > 0)
                        after = hits[n - 1];
                    first = 0;
                    if (n == 0)
                        break;
                }
                CHECK_EQ(got, want);
            }
    /* Newest first: the same matches ordered by timestamp (here 1000 + index),
     * then index, both descending, then name; pages of every size. */
    {
        static row ref[MAX_ROWS];
        for (size_t q = 0; q < sizeof queries / sizeof *queries; q++)
            for (int sub = 0; sub < 2; sub++)
                for (size_t li = 0; li < sizeof limits / sizeof *limits; li++) {
                    char qn[ARB_DOMAINS_NAME_MAX + 1], cur[ARB_DOMAINS_NAME_MAX + 64];
                    size_t nref = 0, got = 0, n;
                    int more = 1, first = 1;
                    arb_domains_hit after;
                    CHECK(arb_domains_normalize(qn, queries[q]));
                    for (size_t r = 0; r < nrows; r++)
                        if (ref_match(rows[r].name, qn, sub))
                            ref[nref++] = rows[r];
                    qsort(ref, nref, sizeof *ref, cmp_date);
                    while (more) {
                        CHECK(arb_domains_search_by_date(d, queries[q], sub,
                                                         first ? NULL : &after, hits, limits[li],
                                                         &n, &more) == ARB_OK);
                        CHECK(n <= limits[li]);
                        CHECK(!more || n == limits[li]);
                        for (size_t h = 0; h < n && got < nref; h++, got++) {
                            CHECK_STR(hits[h].name, ref[got].name);
                            CHECK_EQ(hits[h].index, ref[got].index);
                            CHECK_EQ(hits[h].timestamp, 1000 + ref[got].index);
                        }
                        if (n == 0)
                            break;
                        /* Resume through the text cursor, as the HTTP API does. */
                        snprintf(cur, sizeof cur, "%llu:%llu:%s",
                                 (unsigned long long)hits[n - 1].timestamp,
                                 (unsigned long long)hits[n - 1].index, hits[n - 1].name);
                        CHECK(arb_domains_parse_after_date(&after, cur));
                        CHECK_EQ(after.index, hits[n - 1].index);
                        first = 0;
                    }
                    CHECK_EQ(got, nref);
                }
        arb_domains_hit a;
        CHECK(!arb_domains_parse_after_date(&a, "example.org:5"));
        CHECK(!arb_domains_parse_after_date(&a, "x:5:example.org"));
        CHECK(!arb_domains_parse_after_date(&a, "5:5:bad name"));
        CHECK(arb_domains_parse_after_date(&a, "7:5:Example.org"));
        CHECK_STR(a.name, "example.org");
    }
    /* Bad arguments. */
    {
        size_t n;
        int more;
        CHECK(arb_domains_search(d, "bad name", 0, NULL, hits, 10, &n, &more) ==
              ARB_ERR_INVALID_ARG);
        CHECK(arb_domains_search(d, "example.org", 0, NULL, hits, 0, &n, &more) ==
              ARB_ERR_INVALID_ARG);
        CHECK(arb_domains_search(d, "example.org", 0, NULL, hits, ARB_DOMAINS_LIMIT_MAX + 1, &n,
                                 &more) == ARB_ERR_INVALID_ARG);
    }
    arb_domains_free(d);
    arb_store_close(st);
    arb_test_rmtree(dir);
}

int main(void)
{
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (key == NULL)
        return 1;
    test_normalize();
    test_names();
    test_search();
    EVP_PKEY_free(key);
    return arb_test_done();
}
