/* The log's domain index and its search route (see domains.h). */
#include "ledger/log/domains.h"
#include "ledger/log/domains_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

const char *const arb_domains_cf_names[ARB_DOMAINS_CF_COUNT] = {"log_domains"};

#define KEY_MAX (ARB_DOMAINS_NAME_MAX + 1 + 8)

struct arb_domains {
    arb_store *store;
    unsigned cf;
};

/* ---------------------------------------------------------------- names */

int arb_domains_normalize(char *out, const char *name)
{
    size_t n = strlen(name), label = 0;

    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n > ARB_DOMAINS_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > 63)
                return 0;
        } else if (c == '*' && i == 0 && n > 2 && name[1] == '.') {
            label = 1; /* a leading wildcard label "*." */
        } else {
            return 0;
        }
        out[i] = c;
    }
    if (label == 0)
        return 0;
    out[n] = '\0';
    return 1;
}

/* "www.example.org" -> "org.example.www" (n bytes, no NUL). */
static void reverse_labels(char *out, const char *name, size_t n)
{
    size_t o = 0, end = n;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && name[start - 1] != '.')
            start--;
        memcpy(out + o, name + start, end - start);
        o += end - start;
        if (start > 0)
            out[o++] = '.';
        end = start > 0 ? start - 1 : 0;
    }
}

typedef struct {
    char **v;
    size_t n, cap;
} names;

static int names_add(names *ns, const unsigned char *s, size_t len)
{
    char raw[ARB_DOMAINS_NAME_MAX + 2], norm[ARB_DOMAINS_NAME_MAX + 1];
    if (len == 0 || len > ARB_DOMAINS_NAME_MAX + 1 || memchr(s, 0, len) != NULL ||
        ns->n == ARB_DOMAINS_MAX_NAMES)
        return 1; /* not indexable: skipped */
    memcpy(raw, s, len);
    raw[len] = '\0';
    if (!arb_domains_normalize(norm, raw))
        return 1;
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], norm) == 0)
            return 1;
    if (ns->n == ns->cap) {
        size_t nc = ns->cap ? 2 * ns->cap : 8;
        char **nv = realloc(ns->v, nc * sizeof *nv);
        if (nv == NULL)
            return 0;
        ns->v = nv;
        ns->cap = nc;
    }
    if ((ns->v[ns->n] = strdup(norm)) == NULL)
        return 0;
    ns->n++;
    return 1;
}

static size_t der_len(uint8_t *out, size_t len)
{
    if (len < 0x80) {
        out[0] = (uint8_t)len;
        return 1;
    }
    size_t nb = 0;
    for (size_t l = len; l > 0; l >>= 8)
        nb++;
    out[0] = (uint8_t)(0x80 | nb);
    for (size_t i = 0; i < nb; i++)
        out[1 + i] = (uint8_t)(len >> (8 * (nb - 1 - i)));
    return 1 + nb;
}

/* A TBSCertificate parsed as a Certificate: wrapped with a placeholder
 * signature algorithm and an empty signature (never verified). */
static X509 *parse_tbs(const uint8_t *tbs, size_t len)
{
    static const uint8_t tail[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
                                   0x3d, 0x04, 0x03, 0x02, 0x03, 0x01, 0x00};
    uint8_t hdr[16];
    size_t hl, total;
    uint8_t *buf;
    const uint8_t *p;
    X509 *x;

    if (len > 0xffffff)
        return NULL;
    hdr[0] = 0x30;
    hl = 1 + der_len(hdr + 1, len + sizeof tail);
    total = hl + len + sizeof tail;
    if ((buf = malloc(total)) == NULL)
        return NULL;
    memcpy(buf, hdr, hl);
    memcpy(buf + hl, tbs, len);
    memcpy(buf + hl + len, tail, sizeof tail);
    p = buf;
    x = d2i_X509(NULL, &p, (long)total);
    if (x != NULL && p != buf + total) {
        X509_free(x);
        x = NULL;
    }
    free(buf);
    return x;
}

X509 *arb_domains_entry_x509(const arb_ct_signed_entry *entry)
{
    X509 *x;
    if (entry->cert == NULL || entry->cert_len == 0 || entry->cert_len > 0xffffff)
        return NULL;
    if (entry->entry_type == ARB_CT_ENTRY_PRECERT)
        return parse_tbs(entry->cert, entry->cert_len);
    const uint8_t *p = entry->cert;
    x = d2i_X509(NULL, &p, (long)entry->cert_len);
    if (x != NULL && p != entry->cert + entry->cert_len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The indexable names of a parsed certificate (arb_domains_names). */
static arb_err names_of_x509(X509 *x, char ***out, size_t *n_out)
{
    GENERAL_NAMES *gens = NULL;
    names ns = {NULL, 0, 0};
    int ok = 1;

    *out = NULL;
    *n_out = 0;
    gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; ok && gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            ok = names_add(&ns, ASN1_STRING_get0_data(g->d.dNSName),
                           (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    {
        const X509_NAME *subj = X509_get_subject_name(x);
        int idx = -1;
        while (ok && subj != NULL &&
               (idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
            unsigned char *utf8 = NULL;
            int l = ASN1_STRING_to_UTF8(&utf8,
                                        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
            if (l > 0)
                ok = names_add(&ns, utf8, (size_t)l);
            OPENSSL_free(utf8);
        }
    }
    GENERAL_NAMES_free(gens);
    if (!ok) {
        arb_domains_names_free(ns.v, ns.n);
        return ARB_ERR_NOMEM;
    }
    if (ns.n > 1)
        qsort(ns.v, ns.n, sizeof *ns.v, cmp_str);
    *out = ns.v;
    *n_out = ns.n;
    return ARB_OK;
}

arb_err arb_domains_names(const arb_ct_signed_entry *entry, char ***out, size_t *n_out)
{
    X509 *x;
    arb_err err;

    *out = NULL;
    *n_out = 0;
    if ((x = arb_domains_entry_x509(entry)) == NULL)
        return ARB_ERR_PARSE;
    err = names_of_x509(x, out, n_out);
    X509_free(x);
    return err;
}

void arb_domains_names_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

/* ---------------------------------------------------------------- index */

arb_err arb_domains_new(arb_domains **out, arb_store *store, unsigned cf)
{
    arb_domains *d = calloc(1, sizeof *d);
    *out = NULL;
    if (d == NULL)
        return ARB_ERR_NOMEM;
    d->store = store;
    d->cf = cf;
    *out = d;
    return ARB_OK;
}

void arb_domains_free(arb_domains *d)
{
    free(d);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* key = reversed name || 0 || index. Returns its length. */
static size_t make_key(uint8_t *key, const char *name, uint64_t index)
{
    size_t n = strlen(name);
    reverse_labels((char *)key, name, n);
    key[n] = 0;
    put_be64(key + n + 1, index);
    return n + 9;
}

arb_err arb_domains_index_entry(void *ud, arb_store_batch *b, uint64_t index,
                                const arb_ct_leaf *leaf, const arb_ct_chain *chain)
{
    arb_domains *d = ud;
    char **v;
    size_t n;
    uint8_t key[KEY_MAX], val[9];
    /* Parsing a certificate is most of the cost of indexing it (OpenSSL 3
     * decodes the public key too): the one validation parsed is reused. */
    arb_err err = chain != NULL && chain->leaf_x509 != NULL
                      ? names_of_x509(chain->leaf_x509, &v, &n)
                      : arb_domains_names(&leaf->entry, &v, &n);

    if (err == ARB_ERR_PARSE)
        return ARB_OK; /* validated by OpenSSL already; nothing indexable */
    if (err != ARB_OK)
        return err;
    val[0] = leaf->entry.entry_type == ARB_CT_ENTRY_PRECERT ? 1 : 0;
    put_be64(val + 1, leaf->timestamp);
    for (size_t i = 0; i < n; i++)
        arb_store_batch_put(b, d->cf, key, make_key(key, v[i], index), val, sizeof val);
    arb_domains_names_free(v, n);
    return ARB_OK;
}

/* ---------------------------------------------------------------- backfill */

static const uint8_t complete_key[] = {0x00, 'c', 'o', 'm', 'p', 'l', 'e', 't', 'e'};

typedef struct {
    arb_domains *d;
    arb_store_batch *b;
    arb_err err;
} backfill_ctx;

static arb_err backfill_one(void *ud, uint64_t index, const uint8_t *leaf_input, size_t leaf_len,
                            const uint8_t *extra, size_t extra_len)
{
    backfill_ctx *c = ud;
    arb_ct_leaf leaf;
    (void)extra;
    (void)extra_len;
    if (arb_ct_leaf_decode(&leaf, leaf_input, leaf_len) != ARB_OK)
        return ARB_OK; /* not ours to judge: nothing indexable */
    return arb_domains_index_entry(c->d, c->b, index, &leaf, NULL);
}

arb_err arb_domains_backfill(arb_domains *d, arb_log *log, uint64_t *indexed, arb_errbuf *eb)
{
    arb_log_sth sth;
    backfill_ctx c = {d, NULL, ARB_OK};
    arb_err err;
    const uint64_t chunk = 10000;

    int found = 0;

    *indexed = 0;
    if ((err = arb_store_exists(d->store, NULL, d->cf, complete_key, sizeof complete_key, &found,
                                eb)) != ARB_OK)
        return err;
    if (found)
        return ARB_OK;
    arb_log_get_sth(log, &sth);
    if ((err = arb_store_batch_new(&c.b, d->store)) != ARB_OK)
        return arb_errf(eb, err, "out of memory");
    for (uint64_t first = 0; first < sth.tree_size; first += chunk) {
        uint64_t last = first + chunk - 1 < sth.tree_size - 1 ? first + chunk - 1 : sth.tree_size - 1;
        arb_store_batch_clear(c.b);
        if ((err = arb_log_get_entries(log, first, last, backfill_one, &c)) != ARB_OK ||
            (err = arb_store_write(d->store, c.b, 0, eb)) != ARB_OK) {
            arb_store_batch_free(c.b);
            return arb_errf(eb, err, "domain index: cannot index entries %llu..%llu",
                            (unsigned long long)first, (unsigned long long)last);
        }
        *indexed = last + 1;
    }
    /* Synced: makes the unsynced batches above durable too (one WAL). */
    arb_store_batch_clear(c.b);
    arb_store_batch_put(c.b, d->cf, complete_key, sizeof complete_key, (const uint8_t *)"1", 1);
    err = arb_store_write(d->store, c.b, ARB_STORE_SYNC, eb);
    arb_store_batch_free(c.b);
    return err;
}

/* ---------------------------------------------------------------- search */

/* Decodes a row into a hit. Returns 0 if the row is malformed. */
static int row_hit(arb_domains_hit *h, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    if (kl < 10 || kl > KEY_MAX || k[kl - 9] != 0 || vl != 9)
        return 0;
    reverse_labels(h->name, (const char *)k, kl - 9);
    h->name[kl - 9] = '\0';
    h->index = get_be64(k + kl - 8);
    h->precert = v[0] & 1;
    h->timestamp = get_be64(v + 1);
    return 1;
}

/* Compares key a (alen bytes) with a range prefix p: < 0 if a sorts before
 * every key of the range, 0 if a starts with p, > 0 if after every key. */
static int cmp_prefix(const uint8_t *a, size_t alen, const uint8_t *p, size_t plen)
{
    int c = memcmp(a, p, alen < plen ? alen : plen);
    if (c != 0)
        return c;
    return alen < plen ? -1 : 0;
}

arb_err arb_domains_search(arb_domains *d, const char *domain, int subdomains,
                           const arb_domains_hit *after, arb_domains_hit *hits, size_t limit,
                           size_t *n_out, int *more)
{
    char norm[ARB_DOMAINS_NAME_MAX + 1];
    uint8_t prefix[2][ARB_DOMAINS_NAME_MAX + 2], akey[KEY_MAX];
    size_t plen, alen = 0, n = 0;
    arb_err err = ARB_OK;

    *n_out = 0;
    *more = 0;
    if (domain == NULL || !arb_domains_normalize(norm, domain) || limit == 0 ||
        limit > ARB_DOMAINS_LIMIT_MAX)
        return ARB_ERR_INVALID_ARG;
    if (after != NULL) {
        char an[ARB_DOMAINS_NAME_MAX + 1];
        if (!arb_domains_normalize(an, after->name))
            return ARB_ERR_INVALID_ARG;
        alen = make_key(akey, an, after->index);
    }
    plen = strlen(norm);
    reverse_labels((char *)prefix[0], norm, plen);
    memcpy(prefix[1], prefix[0], plen);
    prefix[0][plen] = 0;   /* the name itself */
    prefix[1][plen] = '.'; /* names below it */
    for (int r = 0; r < (subdomains ? 2 : 1) && err == ARB_OK && !*more; r++) {
        arb_store_iter *it;
        arb_errbuf eb;
        int c = after != NULL ? cmp_prefix(akey, alen, prefix[r], plen + 1) : -1;
        if (c > 0)
            continue; /* the range lies wholly before the resume point */
        if ((err = arb_store_iter_new_prefix(&it, d->store, NULL, d->cf, prefix[r], plen + 1,
                                             &eb)) != ARB_OK)
            break;
        if (c == 0) {
            arb_store_iter_seek(it, akey, alen);
            if (arb_store_iter_valid(it)) {
                size_t kl;
                const uint8_t *k = arb_store_iter_key(it, &kl);
                if (kl == alen && memcmp(k, akey, alen) == 0)
                    arb_store_iter_next(it);
            }
        } else {
            arb_store_iter_first(it);
        }
        for (; arb_store_iter_valid(it); arb_store_iter_next(it)) {
            size_t kl, vl;
            const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
            if (n == limit) {
                *more = 1;
                break;
            }
            if (row_hit(&hits[n], k, kl, v, vl))
                n++;
        }
        if (!*more && (err = arb_store_iter_error(it, &eb)) != ARB_OK)
            err = ARB_ERR_DB;
        arb_store_iter_free(it);
    }
    if (err != ARB_OK) {
        *more = 0;
        return err == ARB_ERR_NOMEM ? err : ARB_ERR_DB;
    }
    *n_out = n;
    return ARB_OK;
}

/* ---------------------------------------------------------------- GET /log/v1/search */

static void respond_json(arb_http_req *req, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, 200, NULL, "Cache-Control: no-store\r\n", text, strlen(text));
    free(text);
}

static int parse_bool_param(const char *v, int *out)
{
    if (v == NULL)
        return 1;
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "")) {
        *out = 1;
        return 1;
    }
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) {
        *out = 0;
        return 1;
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0' || strlen(s) > 20)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return 0;
    *out = v;
    return 1;
}

int arb_domains_parse_after(arb_domains_hit *out, const char *s)
{
    const char *colon = strrchr(s, ':');
    char an[ARB_DOMAINS_NAME_MAX + 2];
    memset(out, 0, sizeof *out);
    if (colon == NULL || (size_t)(colon - s) > ARB_DOMAINS_NAME_MAX + 1 ||
        !parse_u64(colon + 1, UINT64_MAX, &out->index))
        return 0;
    memcpy(an, s, (size_t)(colon - s));
    an[colon - s] = '\0';
    return arb_domains_normalize(out->name, an);
}


/* ---------------------------------------------------------------- search by date */

/* 1 if a comes before b newest first: later timestamp, then higher index,
 * then name. */
static int date_before(const arb_domains_hit *a, const arb_domains_hit *b)
{
    if (a->timestamp != b->timestamp)
        return a->timestamp > b->timestamp;
    if (a->index != b->index)
        return a->index > b->index;
    return strcmp(a->name, b->name) < 0;
}

static int date_cmp(const void *x, const void *y)
{
    const arb_domains_hit *a = x, *b = y;
    return date_before(a, b) ? -1 : date_before(b, a) ? 1 : 0;
}

/* A heap whose root is the hit that comes last newest first. */
static void heap_down(arb_domains_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        arb_domains_hit t;
        if (l < n && date_before(&h[w], &h[l]))
            w = l;
        if (r < n && date_before(&h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void heap_up(arb_domains_hit *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        arb_domains_hit t;
        if (!date_before(&h[p], &h[i]))
            return;
        t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

arb_err arb_domains_search_by_date(arb_domains *d, const char *domain, int subdomains,
                                   const arb_domains_hit *after, arb_domains_hit *hits,
                                   size_t limit, size_t *n_out, int *more)
{
    char norm[ARB_DOMAINS_NAME_MAX + 1];
    uint8_t prefix[ARB_DOMAINS_NAME_MAX + 2];
    size_t plen, n = 0, scanned = 0;
    arb_domains_hit *heap, h;
    arb_err err = ARB_OK;

    *n_out = 0;
    *more = 0;
    if (domain == NULL || !arb_domains_normalize(norm, domain) || limit == 0 ||
        limit > ARB_DOMAINS_LIMIT_MAX)
        return ARB_ERR_INVALID_ARG;
    if ((heap = calloc(limit + 1, sizeof *heap)) == NULL)
        return ARB_ERR_NOMEM;
    plen = strlen(norm);
    reverse_labels((char *)prefix, norm, plen);
    for (int r = 0; r < (subdomains ? 2 : 1) && err == ARB_OK; r++) {
        arb_store_iter *it;
        arb_errbuf eb;
        prefix[plen] = r == 0 ? 0 : '.'; /* the name itself, then the names below it */
        if ((err = arb_store_iter_new_prefix(&it, d->store, NULL, d->cf, prefix, plen + 1,
                                             &eb)) != ARB_OK)
            break;
        for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
            size_t kl, vl;
            const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
            if (++scanned > ARB_DOMAINS_DATE_SCAN_MAX) {
                err = ARB_ERR_BUSY;
                break;
            }
            if (!row_hit(&h, k, kl, v, vl) || (after != NULL && !date_before(after, &h)))
                continue;
            if (n < limit + 1) {
                heap[n] = h;
                heap_up(heap, n++);
            } else if (date_before(&h, &heap[0])) {
                heap[0] = h;
                heap_down(heap, n, 0);
            }
        }
        if (err == ARB_OK && (err = arb_store_iter_error(it, &eb)) != ARB_OK)
            err = ARB_ERR_DB;
        arb_store_iter_free(it);
    }
    if (err != ARB_OK) {
        free(heap);
        return err == ARB_ERR_NOMEM || err == ARB_ERR_BUSY ? err : ARB_ERR_DB;
    }
    qsort(heap, n, sizeof *heap, date_cmp);
    *more = n > limit;
    *n_out = n > limit ? limit : n;
    memcpy(hits, heap, *n_out * sizeof *hits);
    free(heap);
    return ARB_OK;
}

int arb_domains_parse_after_date(arb_domains_hit *out, const char *s)
{
    const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char num[24];
    memset(out, 0, sizeof *out);
    if (c1 == NULL || c2 == NULL || (size_t)(c1 - s) >= sizeof num ||
        (size_t)(c2 - c1 - 1) >= sizeof num || strlen(c2 + 1) > ARB_DOMAINS_NAME_MAX)
        return 0;
    memcpy(num, s, (size_t)(c1 - s));
    num[c1 - s] = '\0';
    if (!parse_u64(num, UINT64_MAX, &out->timestamp))
        return 0;
    memcpy(num, c1 + 1, (size_t)(c2 - c1 - 1));
    num[c2 - c1 - 1] = '\0';
    if (!parse_u64(num, UINT64_MAX, &out->index))
        return 0;
    return arb_domains_normalize(out->name, c2 + 1);
}

static void search_handler(void *ud, arb_http_req *req)
{
    arb_domains *d = ud;
    const char *domain = arb_http_req_query(req, "domain");
    const char *lim = arb_http_req_query(req, "limit"), *aft = arb_http_req_query(req, "after");
    const char *ord = arb_http_req_query(req, "order");
    int by_date = ord != NULL && strcmp(ord, "date") == 0;
    char norm[ARB_DOMAINS_NAME_MAX + 1];
    int subdomains = 0, more = 0;
    uint64_t limit = 100;
    arb_domains_hit after, *hits = NULL;
    size_t n = 0;
    arb_err err;
    json_t *o, *arr;

    if (domain == NULL || !arb_domains_normalize(norm, domain)) {
        (void)arb_http_respond_error(req, 400, "log_bad_domain",
                                     "domain must be a hostname, e.g. example.org");
        return;
    }
    if (!parse_bool_param(arb_http_req_query(req, "subdomains"), &subdomains)) {
        (void)arb_http_respond_error(req, 400, "bad_query", "subdomains must be 1 or 0");
        return;
    }
    if (lim != NULL && (!parse_u64(lim, ARB_DOMAINS_LIMIT_MAX, &limit) || limit == 0)) {
        (void)arb_http_respond_error(req, 400, "bad_query", "limit must be 1..1000");
        return;
    }
    if (ord != NULL && strcmp(ord, "index") != 0 && strcmp(ord, "date") != 0) {
        (void)arb_http_respond_error(req, 400, "bad_query", "order must be index or date");
        return;
    }
    if (aft != NULL && !(by_date ? arb_domains_parse_after_date(&after, aft)
                                 : arb_domains_parse_after(&after, aft))) {
        (void)arb_http_respond_error(req, 400, "bad_query",
                                     by_date ? "after must be TIMESTAMP:INDEX:NAME"
                                             : "after must be NAME:INDEX");
        return;
    }
    if ((hits = calloc((size_t)limit, sizeof *hits)) == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    err = by_date ? arb_domains_search_by_date(d, norm, subdomains, aft ? &after : NULL, hits,
                                               (size_t)limit, &n, &more)
                  : arb_domains_search(d, norm, subdomains, aft ? &after : NULL, hits,
                                       (size_t)limit, &n, &more);
    if (err == ARB_ERR_BUSY) {
        free(hits);
        (void)arb_http_respond_error(req, 400, "log_search_too_broad",
                                     "too many matches to order by date (more than 100000); "
                                     "use order=index");
        return;
    }
    if (err != ARB_OK) {
        free(hits);
        (void)arb_http_respond_error(req, 500, "log_db", "the index could not be read");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, json_pack("{s:I, s:s, s:b, s:I}", "index",
                                                 (json_int_t)hits[i].index, "name", hits[i].name,
                                                 "precert", hits[i].precert, "timestamp",
                                                 (json_int_t)hits[i].timestamp)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    o = NULL;
    if (arr != NULL) {
        json_t *next = json_null();
        if (more && n > 0) {
            char nx[ARB_DOMAINS_NAME_MAX + 32];
            if (by_date)
                snprintf(nx, sizeof nx, "%llu:%llu:%s", (unsigned long long)hits[n - 1].timestamp,
                         (unsigned long long)hits[n - 1].index, hits[n - 1].name);
            else
                snprintf(nx, sizeof nx, "%s:%llu", hits[n - 1].name,
                         (unsigned long long)hits[n - 1].index);
            next = json_string(nx);
        }
        o = json_pack("{s:s, s:b, s:s, s:o, s:o*}", "domain", norm, "subdomains", subdomains,
                      "order", by_date ? "date" : "index", "results", arr, "next", next);
    }
    free(hits);
    respond_json(req, o);
}

arb_err arb_domains_routes_add(arb_domains *d, arb_http_server *http)
{
    return arb_http_route_add(http, ARB_HTTP_GET, "/log/v1/search", 0, search_handler, d);
}
