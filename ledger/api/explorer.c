/* The explorer's pages and their JSON (see explorer.h). HTML is built in C
 * with every untrusted value escaped; pages carry their own CSS and a
 * Content-Security-Policy that allows no script at all. */
#include "ledger/api/explorer.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/api/metrics.h"
#include "ledger/chain/bech32.h"
#include "ledger/chain/header.h"
#include "ledger/chain/params.h"
#include "ledger/chain/pow.h"
#include "ledger/anchor/anchor.h"
#include "ledger/chain/stateview.h"
#include "ledger/log/certview.h"
#include "ledger/names/nameop.h"
#include "ledger/names/names.h"
#include "merkle/buf.h"
#include "merkle/hash.h"

#define RECENT 10
#define PAGE_RESULTS 100
#define GROWTH_SAMPLES 48 /* entries read to draw the log's growth */

struct arb_explorer {
    arb_http_server *http;
    arb_log *log;
    arb_domains *domains;
    char network[32];
    char origin[256];
    char log_id_hex[65];
    arb_chainapi *chain;
    char *(*peers_json)(void *ud, int bans);
    void *peers_ud;
};

static const char html_type[] = "text/html; charset=utf-8";
static const char html_headers[] =
    "Cache-Control: no-store\r\n"
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n";

/* ---------------------------------------------------------------- HTML building */

typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} page;

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 1;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need)
        nc *= 2;
    char *np = realloc(*p, nc);
    if (np == NULL)
        return 0;
    *p = np;
    *cap = nc;
    return 1;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
            return 0; /* overlong, surrogates */
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

int arb_explorer_html_escape(char **buf, size_t *len, size_t *cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const char *rep = NULL;
        char one[5];
        size_t k = 1;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f) {
                rep = "?";
            } else if (*p >= 0x80) {
                k = utf8_len(p);
                if (k == 0) {
                    rep = "?";
                    k = 1;
                } else {
                    memcpy(one, p, k);
                    one[k] = 0;
                    rep = one;
                }
            } else {
                one[0] = (char)*p;
                one[1] = 0;
                rep = one;
            }
        }
        size_t rl = strlen(rep);
        if (!grow(buf, cap, *len + rl + 1))
            return 0;
        memcpy(*buf + *len, rep, rl);
        *len += rl;
        (*buf)[*len] = 0;
        p += k;
    }
    if (!grow(buf, cap, *len + 1))
        return 0;
    (*buf)[*len] = 0;
    return 1;
}

/* Trusted text (markup, numbers, hex). */
static void pf(page *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pf(page *pg, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (pg->failed)
        return;
    va_start(ap, fmt);
    w = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (w < 0 || !grow(&pg->p, &pg->cap, pg->n + (size_t)w + 1)) {
        pg->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(pg->p + pg->n, pg->cap - pg->n, fmt, ap);
    va_end(ap);
    pg->n += (size_t)w;
}

/* Untrusted text, escaped. */
static void pe(page *pg, const char *s)
{
    if (!pg->failed && !arb_explorer_html_escape(&pg->p, &pg->n, &pg->cap, s ? s : ""))
        pg->failed = 1;
}

/* A query-string value: unreserved characters kept, the rest %XX. */
static void pq(page *pg, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            pf(pg, "%c", *p);
        else
            pf(pg, "%%%02X", *p);
    }
}

static void iso_time(char out[32], int64_t secs)
{
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)secs);
}

static void head(page *pg, const arb_explorer *e, const char *title)
{
    pf(pg, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<link rel=\"icon\" href=\"data:,\"><title>");
    pe(pg, title);
    pf(pg, " - arbor explorer</title><style>"
           "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
           "color:#1d2330;background:#f4f6fa}"
           "header{background:#17324d;color:#fff;padding:.7em 1.2em;display:flex;gap:1.2em;"
           "align-items:center;flex-wrap:wrap}"
           "header a{color:#fff;text-decoration:none;font-weight:600}"
           "header .net{background:#2d6a4f;border-radius:4px;padding:.1em .5em;font-size:.85em}"
           "header form{margin-left:auto;display:flex;gap:.4em}"
           "input[type=text]{padding:.35em .6em;border:1px solid #9fb3c8;border-radius:4px;"
           "min-width:18em}"
           "button{padding:.35em .9em;border:0;border-radius:4px;background:#3b82c4;color:#fff;"
           "cursor:pointer}"
           "main{max-width:1100px;margin:1.2em auto;padding:0 1em}"
           ".card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);"
           "padding:1em 1.2em;margin-bottom:1.2em}"
           "h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:.1em 0 .6em}"
           "table{border-collapse:collapse;width:100%%}"
           "th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid #e4e9f0;"
           "vertical-align:top}"
           "th{color:#52606d;font-weight:600;width:14em}"
           "td.mono,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;"
           "word-break:break-all}"
           ".tag{display:inline-block;border-radius:4px;padding:0 .45em;font-size:.8em;"
           "background:#fde68a;color:#5c4400}"
           ".stats{display:flex;gap:1em;flex-wrap:wrap}"
           ".stat{flex:1;min-width:10em}.stat b{display:block;font-size:1.5em}"
           "a{color:#1f5f99}.muted{color:#6b7785}.sig-ok{color:#2d6a4f;font-weight:600}"
           "</style></head><body><header><a href=\"/\">arbor explorer</a>"
           "<span class=\"net\">");
    pe(pg, e->network);
    pf(pg, "</span><form action=\"/search\" method=\"get\" role=\"search\">"
           "<input type=\"text\" name=\"q\" placeholder=\"block, txid, name, domain, entry N\" "
           "aria-label=\"search\"><button type=\"submit\">Search</button></form></header><main>");
}

static void foot(page *pg)
{
    pf(pg, "</main></body></html>\n");
}

static void send_page(arb_http_req *req, page *pg, int status)
{
    if (pg->failed || pg->p == NULL) {
        free(pg->p);
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, status, html_type, html_headers, pg->p, pg->n);
    free(pg->p);
}

static void send_json(arb_http_req *req, json_t *o)
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

static void message_page(arb_http_req *req, const arb_explorer *e, int status, const char *title,
                         const char *what, const char *detail)
{
    page pg = {0};
    head(&pg, e, title);
    pf(&pg, "<div class=\"card\"><h1>");
    pe(&pg, title);
    pf(&pg, "</h1><p>");
    pe(&pg, what);
    if (detail != NULL) {
        pf(&pg, " <span class=\"mono\">");
        pe(&pg, detail);
        pf(&pg, "</span>");
    }
    pf(&pg, "</p><p><a href=\"/\">Back to the start page</a></p></div>");
    foot(&pg);
    send_page(req, &pg, status);
}

/* ---------------------------------------------------------------- entries */

static int parse_index(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0' || strlen(s) > 19)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

typedef struct {
    uint64_t index, timestamp, tree_size;
    int precert;
    arb_certview cv;
    int cv_ok;
    arb_hash leaf_hash, root;
    arb_hash *path;
    size_t path_len;
} entry_view;

static void entry_view_clear(entry_view *v)
{
    arb_certview_clear(&v->cv);
    free(v->path);
}

/* Reads entry i with its certificate view and its inclusion proof to the
 * current tree head. Returns ARB_OK, ARB_ERR_NOT_FOUND, or another error. */
static arb_err entry_load(const arb_explorer *e, uint64_t i, entry_view *v)
{
    uint8_t *leaf = NULL, *extra = NULL;
    size_t leaf_len = 0, extra_len = 0;
    arb_ct_leaf ml;
    arb_log_sth sth;
    arb_sha256 *sha = NULL;
    arb_err err;

    memset(v, 0, sizeof *v);
    arb_log_get_sth(e->log, &sth);
    if (i >= sth.tree_size)
        return ARB_ERR_NOT_FOUND;
    if ((err = arb_log_get_entry(e->log, i, &leaf, &leaf_len, &extra, &extra_len)) != ARB_OK)
        return err;
    free(extra);
    if ((err = arb_ct_leaf_decode(&ml, leaf, leaf_len)) != ARB_OK)
        goto out;
    v->index = i;
    v->timestamp = ml.timestamp;
    v->tree_size = sth.tree_size;
    memcpy(v->root.b, sth.root, 32);
    v->precert = ml.entry.entry_type == ARB_CT_ENTRY_PRECERT;
    v->cv_ok = arb_certview_read(&v->cv, &ml.entry) == ARB_OK;
    if ((err = arb_sha256_new(&sha)) != ARB_OK)
        goto out;
    arb_merkle_leaf_hash(sha, &v->leaf_hash, leaf, leaf_len);
    err = arb_log_inclusion(e->log, i, sth.tree_size, &v->path, &v->path_len);
out:
    arb_sha256_free(sha);
    free(leaf);
    if (err != ARB_OK)
        entry_view_clear(v);
    return err;
}

static void hex32(char out[65], const uint8_t *b)
{
    arb_hex_encode(out, b, 32);
}

static void entry_html(arb_http_req *req, const arb_explorer *e, const entry_view *v)
{
    page pg = {0};
    char title[64], t1[32], t2[32], t3[32], hx[65];

    snprintf(title, sizeof title, "Log entry %llu", (unsigned long long)v->index);
    head(&pg, e, title);
    pf(&pg, "<div class=\"card\"><h1>Log entry %llu %s</h1><table>",
       (unsigned long long)v->index, v->precert ? "<span class=\"tag\">precertificate</span>" : "");
    iso_time(t1, (int64_t)(v->timestamp / 1000));
    pf(&pg, "<tr><th>Leaf index</th><td id=\"leaf-index\">%llu</td></tr>"
            "<tr><th>Type</th><td>%s</td></tr>"
            "<tr><th>SCT timestamp</th><td>%s <span class=\"muted\">(%llu ms)</span></td></tr>",
       (unsigned long long)v->index, v->precert ? "precertificate (precert_entry)" : "certificate (x509_entry)",
       t1, (unsigned long long)v->timestamp);
    if (v->cv_ok) {
        iso_time(t2, v->cv.not_before);
        iso_time(t3, v->cv.not_after);
        pf(&pg, "<tr><th>Subject</th><td id=\"subject\">");
        pe(&pg, v->cv.subject);
        pf(&pg, "</td></tr><tr><th>Names</th><td id=\"names\">");
        for (size_t i = 0; i < v->cv.n_names; i++) {
            pf(&pg, "%s<a href=\"/log/domain?domain=", i ? "<br>" : "");
            pq(&pg, v->cv.names[i]);
            pf(&pg, "\">");
            pe(&pg, v->cv.names[i]);
            pf(&pg, "</a>");
        }
        if (v->cv.n_names == 0)
            pf(&pg, "<span class=\"muted\">none</span>");
        pf(&pg, "</td></tr><tr><th>Issuer</th><td id=\"issuer\">");
        pe(&pg, v->cv.issuer);
        pf(&pg, "</td></tr><tr><th>Valid</th><td>%s to %s</td></tr>"
                "<tr><th>Serial</th><td class=\"mono\">%s</td></tr>",
           t2, t3, v->cv.serial);
    } else {
        pf(&pg, "<tr><th>Certificate</th><td>does not parse</td></tr>");
    }
    pf(&pg, "</table></div><div class=\"card\"><h2>Inclusion proof</h2><table>");
    hex32(hx, v->leaf_hash.b);
    pf(&pg, "<tr><th>Leaf hash</th><td class=\"mono\">%s</td></tr>", hx);
    hex32(hx, v->root.b);
    pf(&pg, "<tr><th>Tree size</th><td>%llu</td></tr><tr><th>Root hash</th>"
            "<td class=\"mono\">%s</td></tr><tr><th>Audit path</th><td class=\"mono\">",
       (unsigned long long)v->tree_size, hx);
    for (size_t i = 0; i < v->path_len; i++) {
        hex32(hx, v->path[i].b);
        pf(&pg, "%s%s", i ? "<br>" : "", hx);
    }
    if (v->path_len == 0)
        pf(&pg, "<span class=\"muted\">empty (a tree of one entry)</span>");
    pf(&pg, "</td></tr></table><p class=\"muted\">RFC 6962 2.1.1; the same as "
            "<a href=\"/log/v1/entry/%llu\">JSON</a>.</p></div>",
       (unsigned long long)v->index);
    foot(&pg);
    send_page(req, &pg, 200);
}

static json_t *entry_json(const entry_view *v)
{
    char hx[65];
    json_t *names = json_array(), *path = json_array(), *o;
    for (size_t i = 0; v->cv_ok && i < v->cv.n_names; i++)
        json_array_append_new(names, json_string(v->cv.names[i]));
    for (size_t i = 0; i < v->path_len; i++) {
        hex32(hx, v->path[i].b);
        json_array_append_new(path, json_string(hx));
    }
    o = json_pack("{s:I, s:I, s:b, s:o}", "index", (json_int_t)v->index, "timestamp",
                  (json_int_t)v->timestamp, "precert", v->precert, "names", names);
    if (o == NULL) {
        json_decref(path);
        return NULL;
    }
    if (v->cv_ok) {
        json_object_set_new(o, "subject", json_string(v->cv.subject));
        json_object_set_new(o, "issuer", json_string(v->cv.issuer));
        json_object_set_new(o, "serial", json_string(v->cv.serial));
        json_object_set_new(o, "not_before", json_integer(v->cv.not_before));
        json_object_set_new(o, "not_after", json_integer(v->cv.not_after));
    }
    hex32(hx, v->leaf_hash.b);
    json_object_set_new(o, "leaf_hash", json_string(hx));
    hex32(hx, v->root.b);
    json_object_set_new(o, "inclusion",
                        json_pack("{s:I, s:s, s:o}", "tree_size", (json_int_t)v->tree_size,
                                  "root_hash", hx, "audit_path", path));
    return o;
}

static void entry_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    const char *path = arb_http_req_path(req);
    int json = strncmp(path, "/log/v1/entry/", 14) == 0;
    const char *num = path + (json ? 14 : 11);
    uint64_t i;
    entry_view v;
    arb_err err;

    if (!parse_index(num, &i)) {
        if (json)
            (void)arb_http_respond_error(req, 400, "bad_query", "the entry index must be a number");
        else
            message_page(req, e, 400, "Bad entry index", "An entry index is a number, not", num);
        return;
    }
    err = entry_load(e, i, &v);
    if (err == ARB_ERR_NOT_FOUND) {
        if (json)
            (void)arb_http_respond_error(req, 404, "not_found", "no such entry");
        else
            message_page(req, e, 404, "No such entry", "The log has no entry", num);
        return;
    }
    if (err != ARB_OK) {
        (void)arb_http_respond_error(req, 500, "log_db", "the entry could not be read");
        return;
    }
    if (json)
        send_json(req, entry_json(&v));
    else
        entry_html(req, e, &v);
    entry_view_clear(&v);
}

/* ---------------------------------------------------------------- domain results */

static void domain_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    const char *dom = arb_http_req_query(req, "domain"), *sub = arb_http_req_query(req, "subdomains");
    const char *aft = arb_http_req_query(req, "after"), *ord = arb_http_req_query(req, "order");
    char norm[ARB_DOMAINS_NAME_MAX + 1], t[32];
    int subdomains = sub != NULL && (strcmp(sub, "1") == 0 || strcmp(sub, "true") == 0);
    int by_date = ord != NULL && strcmp(ord, "date") == 0;
    const char *sq = subdomains ? "subdomains=1&amp;" : "", *oq = by_date ? "order=date&amp;" : "";
    arb_domains_hit after, *hits;
    size_t n = 0;
    int more = 0;
    arb_err err;
    page pg = {0};

    if (dom == NULL || !arb_domains_normalize(norm, dom)) {
        message_page(req, e, 400, "Not a domain", "Search for a hostname such as example.org, not",
                     dom ? dom : "(nothing)");
        return;
    }
    if (ord != NULL && !by_date && strcmp(ord, "index") != 0) {
        message_page(req, e, 400, "Bad order", "Results are ordered by index or by date, not", ord);
        return;
    }
    if (aft != NULL && !(by_date ? arb_domains_parse_after_date(&after, aft)
                                 : arb_domains_parse_after(&after, aft))) {
        message_page(req, e, 400, "Bad page", "This is not a page of results:", aft);
        return;
    }
    if ((hits = calloc(PAGE_RESULTS, sizeof *hits)) == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    err = by_date ? arb_domains_search_by_date(e->domains, norm, subdomains, aft ? &after : NULL,
                                               hits, PAGE_RESULTS, &n, &more)
                  : arb_domains_search(e->domains, norm, subdomains, aft ? &after : NULL, hits,
                                       PAGE_RESULTS, &n, &more);
    if (err == ARB_ERR_BUSY) {
        free(hits);
        message_page(req, e, 200, "Too many results",
                     "There are too many certificates to order by date (more than 100,000); "
                     "list them in index order instead:", norm);
        return;
    }
    if (err != ARB_OK) {
        free(hits);
        (void)arb_http_respond_error(req, 500, "log_db", "the index could not be read");
        return;
    }
    head(&pg, e, norm);
    pf(&pg, "<div class=\"card\"><h1>Certificates for <span id=\"domain\">");
    pe(&pg, norm);
    pf(&pg, "</span>%s</h1><p>", subdomains ? " and its subdomains" : "");
    pf(&pg, "<a id=\"toggle-subdomains\" href=\"/log/domain?%s%sdomain=", subdomains ? "" : "subdomains=1&amp;", oq);
    pq(&pg, norm);
    pf(&pg, "\">%s</a> &middot; ", subdomains ? "Only this name" : "With subdomains");
    pf(&pg, "Order: %s <a id=\"order-%s\" href=\"/log/domain?%s%sdomain=",
       by_date ? "<b>newest first</b> &middot;" : "<b>by name</b> &middot;",
       by_date ? "index" : "date", sq, by_date ? "" : "order=date&amp;");
    pq(&pg, norm);
    pf(&pg, "\">%s</a>", by_date ? "by name" : "newest first");
    pf(&pg, " &middot; <a href=\"/log/v1/search?%s%sdomain=", sq, oq);
    pq(&pg, norm);
    pf(&pg, "\">JSON</a></p>");
    if (n == 0) {
        pf(&pg, "<p id=\"no-results\">No certificates found%s.</p>", aft ? " after this point" : "");
    } else {
        pf(&pg, "<table id=\"results\"><tr><th>Entry</th><th>Name</th><th>Type</th>"
                "<th>Logged</th></tr>");
        for (size_t i = 0; i < n; i++) {
            iso_time(t, (int64_t)(hits[i].timestamp / 1000));
            pf(&pg, "<tr><td><a href=\"/log/entry/%llu\">%llu</a></td><td>",
               (unsigned long long)hits[i].index, (unsigned long long)hits[i].index);
            pe(&pg, hits[i].name);
            pf(&pg, "</td><td>%s</td><td>%s</td></tr>",
               hits[i].precert ? "<span class=\"tag\">precert</span>" : "certificate", t);
        }
        pf(&pg, "</table>");
    }
    if (more && n > 0) {
        char nx[ARB_DOMAINS_NAME_MAX + 64];
        if (by_date)
            snprintf(nx, sizeof nx, "%llu:%llu:%s", (unsigned long long)hits[n - 1].timestamp,
                     (unsigned long long)hits[n - 1].index, hits[n - 1].name);
        else
            snprintf(nx, sizeof nx, "%s:%llu", hits[n - 1].name,
                     (unsigned long long)hits[n - 1].index);
        pf(&pg, "<p><a id=\"next\" href=\"/log/domain?%s%sdomain=", sq, oq);
        pq(&pg, norm);
        pf(&pg, "&amp;after=");
        pq(&pg, nx);
        pf(&pg, "\">Next %d</a></p>", PAGE_RESULTS);
    }
    pf(&pg, "</div>");
    foot(&pg);
    free(hits);
    send_page(req, &pg, 200);
}

/* ---------------------------------------------------------------- search */

typedef struct {
    arb_hash h;
    uint32_t height;
    int kind; /* in: 0 hash/txid, 1 height; out: 1 block, 2 tx, 3 a log's anchors, 0 none */
    uint8_t raw[32]; /* the 64 hex digits as bytes (a log ID) */
} find_ctx;

static void find_read(void *ud, arb_chainstate *cs, arb_mempool *mp, const arb_chain_params *p)
{
    find_ctx *f = ud;
    uint32_t h, idx;
    (void)p;
    if (f->kind == 1) {
        f->kind = arb_chainstate_hash_at(cs, f->height, &f->h) == ARB_OK ? 1 : 0;
        return;
    }
    if (arb_chainstate_get_block(cs, &f->h, NULL, NULL, NULL, NULL) == ARB_OK)
        f->kind = 1;
    else if (arb_chainstate_find_tx(cs, &f->h, &h, &idx) == ARB_OK ||
             arb_mempool_get(mp, &f->h, NULL, NULL) == ARB_OK)
        f->kind = 2;
    else {
        uint8_t rec[ARB_SREC_MAX];
        size_t rl;
        f->kind = arb_chainstate_state_get(cs, ARB_SREC_ANCHOR, f->raw, rec, &rl) == ARB_OK ? 3
                                                                                            : 0;
    }
}

typedef struct {
    const char *q;
    int kind; /* out: 1 a name, 2 a namespace, 0 none */
} name_find;

static void name_find_read(void *ud, arb_chainstate *cs, arb_mempool *mp,
                           const arb_chain_params *p)
{
    name_find *f = ud;
    uint8_t key[32], rec[ARB_SREC_MAX];
    size_t rl, nl, len = strlen(f->q);
    arb_sha256 *sha;
    (void)mp;
    (void)p;
    f->kind = 0;
    if (arb_sha256_new(&sha) != ARB_OK)
        return;
    if (arb_names_full_valid((const uint8_t *)f->q, len, &nl)) {
        arb_names_name_key(sha, key, (const uint8_t *)f->q, len);
        if (arb_chainstate_state_get(cs, ARB_SREC_NAME, key, rec, &rl) == ARB_OK)
            f->kind = 1;
    } else if (arb_names_ns_valid((const uint8_t *)f->q, len)) {
        arb_names_ns_key(sha, key, (const uint8_t *)f->q, len);
        if (arb_chainstate_state_get(cs, ARB_SREC_NAMESPACE, key, rec, &rl) == ARB_OK)
            f->kind = 2;
    }
    arb_sha256_free(sha);
}

/* A registered name or a namespace (before hostnames, which look alike):
 * redirects and returns 1. */
static int name_search(arb_http_req *req, arb_explorer *e, const char *q)
{
    name_find f = {q, 0};
    char loc[160];
    if (strlen(q) > ARB_NAMES_FULL_MAX)
        return 0;
    arb_chainapi_read(e->chain, name_find_read, &f);
    if (f.kind == 0)
        return 0;
    /* q is [a-z0-9._-] (checked by the name syntax): safe in a header and a URL. */
    snprintf(loc, sizeof loc, "Location: /names/%s/%s\r\n", f.kind == 1 ? "name" : "namespace",
             q);
    (void)arb_http_respond(req, 302, html_type, loc, "", 0);
    return 1;
}

/* A block height, a block hash or a txid: redirects and returns 1. */
static int chain_search(arb_http_req *req, arb_explorer *e, const char *q)
{
    find_ctx f;
    uint64_t n;
    char hx[65], loc[128];
    memset(&f, 0, sizeof f);
    if (parse_index(q, &n) && n <= UINT32_MAX) {
        f.kind = 1;
        f.height = (uint32_t)n;
    } else if (strlen(q) != 64 || !arb_chain_hash_from_hex(&f.h, q) ||
               !arb_hex_decode(f.raw, 32, q, 64)) {
        /* An address (checked by its page): bech32 characters only. */
        if (strlen(q) > 8 && strlen(q) < ARB_ADDR_MAX && strchr(q, '1') != NULL &&
            strspn(q, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(q) &&
            (strncmp(q, "arb1", 4) == 0 || strncmp(q, "tarb1", 5) == 0 ||
             strncmp(q, "rarb1", 5) == 0)) {
            snprintf(loc, sizeof loc, "Location: /chain/address/%.100s\r\n", q);
            (void)arb_http_respond(req, 302, html_type, loc, "", 0);
            return 1;
        }
        return 0;
    }
    arb_chainapi_read(e->chain, find_read, &f);
    if (f.kind == 0)
        return 0;
    arb_chain_hash_hex(hx, &f.h);
    if (f.kind == 3)
        arb_hex_encode(hx, f.raw, 32); /* a log ID, as it was typed */
    snprintf(loc, sizeof loc, "Location: /chain/%s/%s\r\n",
             f.kind == 1 ? "block" : f.kind == 2 ? "tx" : "anchors", hx);
    (void)arb_http_respond(req, 302, html_type, loc, "", 0);
    return 1;
}

static void search_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    const char *q = arb_http_req_query(req, "q");
    char buf[300], norm[ARB_DOMAINS_NAME_MAX + 1], loc[400];
    uint64_t i;
    size_t a, b;

    if (q == NULL)
        q = "";
    /* Trim spaces. */
    for (a = 0; q[a] == ' ' || q[a] == '\t'; a++)
        ;
    for (b = strlen(q); b > a && (q[b - 1] == ' ' || q[b - 1] == '\t'); b--)
        ;
    if (b - a >= sizeof buf) {
        message_page(req, e, 200, "No results", "Nothing matches a query this long.", NULL);
        return;
    }
    memcpy(buf, q + a, b - a);
    buf[b - a] = '\0';
    if (e->chain != NULL && (chain_search(req, e, buf) || name_search(req, e, buf)))
        return;
    if (strncmp(buf, "entry ", 6) == 0)
        memmove(buf, buf + 6, strlen(buf + 6) + 1);
    if (parse_index(buf, &i)) {
        arb_log_sth sth;
        arb_log_get_sth(e->log, &sth);
        if (i < sth.tree_size) {
            snprintf(loc, sizeof loc, "Location: /log/entry/%llu\r\n", (unsigned long long)i);
            (void)arb_http_respond(req, 302, html_type, loc, "", 0);
            return;
        }
    } else if (arb_domains_normalize(norm, buf)) {
        /* norm is [a-z0-9._*-]: safe in a header and a URL as it is. */
        snprintf(loc, sizeof loc, "Location: /log/domain?subdomains=1&domain=%s\r\n", norm);
        (void)arb_http_respond(req, 302, html_type, loc, "", 0);
        return;
    }
    message_page(req, e, 200, "No results", "Nothing matches", buf);
}

/* ---------------------------------------------------------------- chain */

#define RECENT_BLOCKS 10

static void amount(char out[32], uint64_t units)
{
    snprintf(out, 32, "%llu.%08llu", (unsigned long long)(units / 100000000u),
             (unsigned long long)(units % 100000000u));
}

static void addr_of(char out[ARB_ADDR_MAX], const arb_chain_params *p, const uint8_t key[32])
{
    if (!arb_address_encode(out, p->hrp ? p->hrp : "arb", key))
        snprintf(out, ARB_ADDR_MAX, "?");
}

typedef struct {
    const arb_explorer *e;
    page *pg;
    arb_hash hash;
    uint32_t height;
    int by_height, found;
    arb_sha256 *sha;
} chain_ctx;

static void block_read(void *ud, arb_chainstate *cs, arb_mempool *mp, const arb_chain_params *p)
{
    (void)mp;
    chain_ctx *c = ud;
    page *pg = c->pg;
    arb_block b;
    arb_block_header hdr;
    arb_chain_tip tip;
    arb_buf raw = {0};
    uint32_t h;
    int in_main;
    char hx[65], t[32], a1[32], a2[32];
    uint64_t cb_out = 0;

    if (c->by_height && arb_chainstate_hash_at(cs, c->height, &c->hash) != ARB_OK)
        return;
    arb_block_init(&b);
    if (arb_chainstate_get_block(cs, &c->hash, &hdr, &b, &h, &in_main) != ARB_OK || b.n_tx == 0) {
        arb_block_clear(&b);
        return;
    }
    c->found = 1;
    arb_chainstate_tip(cs, &tip);
    arb_block_write(&raw, &b);
    for (size_t k = 0; k < b.tx[0].n_out; k++)
        cb_out += b.tx[0].out[k].amount;
    {
        uint64_t sub = arb_chain_subsidy(p, h);
        amount(a1, cb_out > sub ? cb_out - sub : 0);
    }
    arb_chain_hash_hex(hx, &c->hash);
    pf(pg, "<div class=\"card\"><h1>Block <span id=\"block-height\">%u</span></h1><table>"
           "<tr><th>Hash</th><td class=\"mono\" id=\"block-hash\">%s</td></tr>", h, hx);
    arb_chain_hash_hex(hx, &hdr.prev);
    if (h > 0)
        pf(pg, "<tr><th>Previous</th><td class=\"mono\"><a href=\"/chain/block/%s\">%s</a></td>"
               "</tr>", hx, hx);
    if (in_main && h < tip.height) {
        arb_hash next;
        char nx[65];
        if (arb_chainstate_hash_at(cs, h + 1, &next) == ARB_OK) {
            arb_chain_hash_hex(nx, &next);
            pf(pg, "<tr><th>Next</th><td class=\"mono\"><a href=\"/chain/block/%s\">%s</a></td>"
                   "</tr>", nx, nx);
        }
    }
    arb_chain_hash_hex(hx, &hdr.merkle_root);
    iso_time(t, hdr.time);
    pf(pg, "<tr><th>Confirmations</th><td>%s%u</td></tr>"
           "<tr><th>Time</th><td>%s</td></tr><tr><th>Merkle root</th><td class=\"mono\">%s</td></tr>"
           "<tr><th>Bits</th><td class=\"mono\">%08x</td></tr><tr><th>Nonce</th><td>%u</td></tr>"
           "<tr><th>Version</th><td>%d</td></tr><tr><th>Size</th><td>%zu bytes</td></tr>"
           "<tr><th>Transactions</th><td>%zu</td></tr><tr><th>Fees</th><td>%s</td></tr>"
           "</table><p class=\"muted\"><a href=\"/chain/v1/block?hash=",
       in_main ? "" : "not on the active chain; ", in_main ? tip.height - h + 1 : 0, t, hx,
       hdr.bits, hdr.nonce, hdr.version, raw.len, b.n_tx, a1);
    arb_chain_hash_hex(hx, &c->hash);
    pf(pg, "%s\">JSON</a></p></div><div class=\"card\"><h2>Transactions</h2>"
           "<table id=\"block-txs\"><tr><th>#</th><th>Transaction</th><th>Inputs</th>"
           "<th>Outputs</th><th>Output total</th></tr>", hx);
    for (size_t k = 0; k < b.n_tx; k++) {
        arb_hash txid;
        uint64_t out = 0;
        if (arb_tx_txid(c->sha, &txid, &b.tx[k]) != ARB_OK)
            continue;
        for (size_t o = 0; o < b.tx[k].n_out; o++)
            out += b.tx[k].out[o].amount;
        arb_chain_hash_hex(hx, &txid);
        amount(a2, out);
        pf(pg, "<tr><td>%zu</td><td class=\"mono\"><a href=\"/chain/tx/%s\">%s</a>%s</td>"
               "<td>%zu</td><td>%zu</td><td>%s</td></tr>",
           k, hx, hx, k == 0 ? " <span class=\"tag\">coinbase</span>" : "",
           k == 0 ? (size_t)0 : b.tx[k].n_in, b.tx[k].n_out, a2);
    }
    pf(pg, "</table></div>");
    arb_buf_free(&raw);
    arb_block_clear(&b);
}

/* The output spent by an input: amount and key, from the block holding the
 * previous transaction (active chain). Returns 1 if found. */
static int spent_output(arb_chainstate *cs, const arb_outpoint *op, arb_txout *out)
{
    uint32_t h, idx;
    arb_hash bh;
    arb_block b;
    int ok = 0;
    if (arb_chainstate_find_tx(cs, &op->txid, &h, &idx) != ARB_OK ||
        arb_chainstate_hash_at(cs, h, &bh) != ARB_OK)
        return 0;
    arb_block_init(&b);
    if (arb_chainstate_get_block(cs, &bh, NULL, &b, NULL, NULL) == ARB_OK && idx < b.n_tx &&
        op->index < b.tx[idx].n_out) {
        *out = b.tx[idx].out[op->index];
        ok = 1;
    }
    arb_block_clear(&b);
    return ok;
}

/* The output an unconfirmed transaction's input spends: from the active
 * chain, or from a transaction waiting in the mempool (then *in_pool = 1).
 * Returns 1 if found. */
static int pool_spent_output(arb_chainstate *cs, arb_mempool *mp, const arb_outpoint *op,
                             arb_txout *out, int *in_pool)
{
    arb_tx parent;
    int ok = 0;
    *in_pool = 0;
    if (spent_output(cs, op, out))
        return 1;
    arb_tx_init(&parent);
    if (arb_mempool_get(mp, &op->txid, &parent, NULL) == ARB_OK && op->index < parent.n_out) {
        *out = parent.out[op->index];
        *in_pool = ok = 1;
    }
    arb_tx_clear(&parent);
    return ok;
}

/* A transaction waiting in the mempool: its fee and fee rate as the pool
 * reckons them, its ancestors and descendants in the pool, the outputs its
 * inputs spend (from the chain or from a waiting parent). */
static void pool_tx_read(chain_ctx *c, arb_chainstate *cs, arb_mempool *mp,
                         const arb_chain_params *p)
{
    page *pg = c->pg;
    arb_tx tx;
    arb_mempool_entry_info info;
    char hx[65], ad[ARB_ADDR_MAX], a1[32], t[32];

    arb_tx_init(&tx);
    if (arb_mempool_get(mp, &c->hash, &tx, &info) != ARB_OK) {
        arb_tx_clear(&tx);
        return;
    }
    c->found = 1;
    arb_chain_hash_hex(hx, &c->hash);
    amount(a1, info.fee);
    iso_time(t, info.time);
    pf(pg, "<div class=\"card\"><h1>Transaction <span class=\"tag\" id=\"tx-unconfirmed\">"
           "unconfirmed</span></h1><table><tr><th>Txid</th><td class=\"mono\" id=\"txid\">%s"
           "</td></tr><tr><th>Status</th><td>waiting in the <a href=\"/chain/mempool\">mempool"
           "</a> since %s</td></tr><tr><th>Size</th><td>%zu bytes</td></tr>"
           "<tr><th>Fee</th><td id=\"tx-fee\">%s</td></tr>"
           "<tr><th>Fee rate</th><td id=\"tx-fee-rate\">%.2f units per byte</td></tr>"
           "<tr><th>Ancestors in the mempool</th><td id=\"tx-ancestors\">%zu</td></tr>"
           "<tr><th>Descendants in the mempool</th><td id=\"tx-descendants\">%zu</td></tr>"
           "<tr><th>Version</th><td>%u</td></tr><tr><th>Lock time</th><td>%u</td></tr>",
       hx, t, info.size, a1, (double)info.fee / (double)(info.size ? info.size : 1),
       info.anc_count > 0 ? info.anc_count - 1 : 0, info.desc_count > 0 ? info.desc_count - 1 : 0,
       tx.version, tx.lock_time);
    if (tx.payload_type != 0)
        pf(pg, "<tr><th>Payload</th><td>type %u, %zu bytes</td></tr>", tx.payload_type,
           tx.payload_len);
    pf(pg, "</table></div><div class=\"card\"><h2>Inputs</h2><table id=\"tx-inputs\">"
           "<tr><th>#</th><th>Spends</th><th>Address</th><th>Amount</th></tr>");
    for (size_t k = 0; k < tx.n_in; k++) {
        arb_txout so;
        int in_pool;
        arb_chain_hash_hex(hx, &tx.in[k].txid);
        pf(pg, "<tr><td>%zu</td><td class=\"mono\"><a href=\"/chain/tx/%s\">%s</a>:%u</td>", k,
           hx, hx, tx.in[k].index);
        if (pool_spent_output(cs, mp, &tx.in[k], &so, &in_pool)) {
            addr_of(ad, p, so.key);
            amount(a1, so.amount);
            pf(pg, "<td class=\"mono\"><a href=\"/chain/address/%s\">%s</a></td><td>%s%s</td>"
                   "</tr>",
               ad, ad, a1, in_pool ? " <span class=\"tag\">unconfirmed</span>" : "");
        } else {
            pf(pg, "<td colspan=\"2\">not known</td></tr>");
        }
    }
    pf(pg, "</table></div><div class=\"card\"><h2>Outputs</h2><table id=\"tx-outputs\">"
           "<tr><th>#</th><th>Address</th><th>Amount</th></tr>");
    for (size_t k = 0; k < tx.n_out; k++) {
        addr_of(ad, p, tx.out[k].key);
        amount(a1, tx.out[k].amount);
        pf(pg, "<tr><td>%zu</td><td class=\"mono\"><a href=\"/chain/address/%s\">%s</a></td>"
               "<td>%s</td></tr>",
           k, ad, ad, a1);
    }
    pf(pg, "</table><p class=\"muted\">Once a block confirms it, this page shows the "
           "confirmed transaction. <a href=\"/chain/v1/mempool\">JSON</a> (the mempool)</p>"
           "</div>");
    arb_tx_clear(&tx);
}

static void tx_read(void *ud, arb_chainstate *cs, arb_mempool *mp, const arb_chain_params *p)
{
    chain_ctx *c = ud;
    page *pg = c->pg;
    uint32_t h, idx;
    arb_hash bh;
    arb_block b;
    arb_chain_tip tip;
    const arb_tx *tx;
    char hx[65], ad[ARB_ADDR_MAX], a1[32];
    uint64_t in_sum = 0, out_sum = 0;
    int coinbase, all_inputs = 1;
    size_t size;

    if (arb_chainstate_find_tx(cs, &c->hash, &h, &idx) != ARB_OK ||
        arb_chainstate_hash_at(cs, h, &bh) != ARB_OK) {
        pool_tx_read(c, cs, mp, p);
        return;
    }
    arb_block_init(&b);
    if (arb_chainstate_get_block(cs, &bh, NULL, &b, NULL, NULL) != ARB_OK || idx >= b.n_tx) {
        arb_block_clear(&b);
        return;
    }
    c->found = 1;
    arb_chainstate_tip(cs, &tip);
    tx = &b.tx[idx];
    coinbase = idx == 0;
    size = arb_tx_size(tx);
    arb_chain_hash_hex(hx, &c->hash);
    pf(pg, "<div class=\"card\"><h1>Transaction</h1><table><tr><th>Txid</th>"
           "<td class=\"mono\" id=\"txid\">%s</td></tr>", hx);
    arb_chain_hash_hex(hx, &bh);
    pf(pg, "<tr><th>Block</th><td><a href=\"/chain/block/%s\">%u</a> (transaction %u)</td></tr>"
           "<tr><th>Confirmations</th><td>%u</td></tr><tr><th>Size</th><td>%zu bytes</td></tr>"
           "<tr><th>Version</th><td>%u</td></tr><tr><th>Lock time</th><td>%u</td></tr>",
       hx, h, idx, tip.height - h + 1, size, tx->version, tx->lock_time);
    if (tx->payload_type != 0) {
        size_t show = tx->payload_len < 256 ? tx->payload_len : 256;
        char *ph = malloc(2 * show + 1);
        if (ph != NULL) {
            arb_hex_encode(ph, tx->payload, show);
            pf(pg, "<tr><th>Payload</th><td>type %u, %zu bytes<br><span class=\"mono\">%s%s</span>"
                   "</td></tr>",
               tx->payload_type, tx->payload_len, ph, show < tx->payload_len ? "..." : "");
            free(ph);
        }
    }
    pf(pg, "</table></div><div class=\"card\"><h2>Inputs</h2><table id=\"tx-inputs\">"
           "<tr><th>#</th><th>Spends</th><th>Address</th><th>Amount</th></tr>");
    if (coinbase) {
        pf(pg, "<tr><td>0</td><td colspan=\"3\">coinbase (new coins, block height %u)</td></tr>", h);
    } else {
        for (size_t k = 0; k < tx->n_in; k++) {
            arb_txout so;
            arb_chain_hash_hex(hx, &tx->in[k].txid);
            pf(pg, "<tr><td>%zu</td><td class=\"mono\"><a href=\"/chain/tx/%s\">%s</a>:%u</td>",
               k, hx, hx, tx->in[k].index);
            if (spent_output(cs, &tx->in[k], &so)) {
                addr_of(ad, p, so.key);
                amount(a1, so.amount);
                in_sum += so.amount;
                pf(pg, "<td class=\"mono\"><a href=\"/chain/address/%s\">%s</a></td><td>%s</td></tr>",
                   ad, ad, a1);
            } else {
                all_inputs = 0;
                pf(pg, "<td colspan=\"2\">not found</td></tr>");
            }
        }
    }
    pf(pg, "</table></div><div class=\"card\"><h2>Outputs</h2><table id=\"tx-outputs\">"
           "<tr><th>#</th><th>Address</th><th>Amount</th></tr>");
    for (size_t k = 0; k < tx->n_out; k++) {
        addr_of(ad, p, tx->out[k].key);
        amount(a1, tx->out[k].amount);
        out_sum += tx->out[k].amount;
        pf(pg, "<tr><td>%zu</td><td class=\"mono\"><a href=\"/chain/address/%s\">%s</a></td>"
               "<td>%s</td></tr>",
           k, ad, ad, a1);
    }
    pf(pg, "</table>");
    if (!coinbase && all_inputs && in_sum >= out_sum) {
        amount(a1, in_sum - out_sum);
        pf(pg, "<p>Fee <b id=\"tx-fee\">%s</b> (%.2f units per byte)</p>", a1,
           (double)(in_sum - out_sum) / (double)(size ? size : 1));
    }
    arb_chain_hash_hex(hx, &c->hash);
    pf(pg, "<p class=\"muted\"><a href=\"/chain/v1/tx?txid=%s\">JSON</a> (with its SPV proof)"
           "</p></div>", hx);
    arb_block_clear(&b);
}

/* ---- addresses */

#define ADDR_PAGE 50
#define ADDR_UTXOS_SHOWN 200
#define ADDR_HIST_MAX 100000

typedef struct {
    arb_hash txid;
    uint32_t height;
    uint64_t received, sent;
} hist_row;

typedef struct {
    chain_ctx *c;
    const char *addr;
    uint8_t key[32];
    uint64_t page;
    uint64_t balance, n_utxo;
    hist_row *hist;
    size_t n_hist, cap_hist;
    int truncated;
} addr_ctx;

static int addr_coin(void *ud, const arb_outpoint *op, uint64_t amt)
{
    addr_ctx *a = ud;
    char hx[65], a1[32];
    a->balance += amt;
    if (a->n_utxo < ADDR_UTXOS_SHOWN) {
        arb_chain_hash_hex(hx, &op->txid);
        amount(a1, amt);
        pf(a->c->pg, "<tr><td class=\"mono\"><a href=\"/chain/tx/%s\">%s</a>:%u</td><td>%s</td></tr>",
           hx, hx, op->index, a1);
    }
    a->n_utxo++;
    return 0;
}

static int addr_hist(void *ud, const arb_hash *txid, uint32_t height, uint64_t received,
                     uint64_t sent)
{
    addr_ctx *a = ud;
    if (a->n_hist == ADDR_HIST_MAX) {
        a->truncated = 1;
        return 1;
    }
    if (a->n_hist == a->cap_hist) {
        size_t nc = a->cap_hist ? 2 * a->cap_hist : 64;
        hist_row *nh = realloc(a->hist, nc * sizeof *nh);
        if (nh == NULL) {
            a->truncated = 1;
            return 1;
        }
        a->hist = nh;
        a->cap_hist = nc;
    }
    a->hist[a->n_hist++] = (hist_row){*txid, height, received, sent};
    return 0;
}

static void address_read(void *ud, arb_chainstate *cs, arb_mempool *mp, const arb_chain_params *p)
{
    addr_ctx *a = ud;
    page *pg = a->c->pg;
    arb_errbuf eb;
    char a1[32], hx[65];
    uint64_t pages, first;
    (void)mp;

    if (arb_address_decode(a->key, p->hrp ? p->hrp : "arb", a->addr, &eb) != ARB_OK)
        return;
    a->c->found = 1;
    pf(pg, "<div class=\"card\"><h1>Address</h1><p class=\"mono\" id=\"address\">");
    pe(pg, a->addr);
    pf(pg, "</p><h2>Unspent outputs</h2><table id=\"addr-utxos\"><tr><th>Output</th>"
           "<th>Amount</th></tr>");
    if (arb_chainstate_addr_coins(cs, a->key, addr_coin, a) != ARB_OK)
        pf(pg, "<tr><td colspan=\"2\">the coins could not be read</td></tr>");
    pf(pg, "</table>");
    if (a->n_utxo > ADDR_UTXOS_SHOWN)
        pf(pg, "<p class=\"muted\">and %llu more</p>",
           (unsigned long long)(a->n_utxo - ADDR_UTXOS_SHOWN));
    amount(a1, a->balance);
    pf(pg, "<p>Balance <b id=\"addr-balance\">%s</b> in %llu unspent outputs</p></div>", a1,
       (unsigned long long)a->n_utxo);
    if (arb_chainstate_addr_history(cs, a->key, addr_hist, a) != ARB_OK)
        a->truncated = 1;
    pages = a->n_hist ? (a->n_hist + ADDR_PAGE - 1) / ADDR_PAGE : 1;
    if (a->page >= pages)
        a->page = pages - 1;
    pf(pg, "<div class=\"card\"><h2>History</h2><p class=\"muted\">%zu transactions%s, newest "
           "first; page %llu of %llu</p><table id=\"addr-history\"><tr><th>Transaction</th>"
           "<th>Block</th><th>Received</th><th>Sent</th></tr>",
       a->n_hist, a->truncated ? " (the oldest shown)" : "", (unsigned long long)a->page + 1,
       (unsigned long long)pages);
    first = a->page * ADDR_PAGE;
    for (uint64_t k = first; k < first + ADDR_PAGE && k < a->n_hist; k++) {
        const hist_row *r = &a->hist[a->n_hist - 1 - k];
        char rv[32], sn[32];
        arb_chain_hash_hex(hx, &r->txid);
        amount(rv, r->received);
        amount(sn, r->sent);
        pf(pg, "<tr><td class=\"mono\"><a href=\"/chain/tx/%s\">%s</a></td>"
               "<td><a href=\"/chain/block/%u\">%u</a></td><td>%s</td><td>%s</td></tr>",
           hx, hx, r->height, r->height, rv, sn);
    }
    pf(pg, "</table><p>");
    if (a->page > 0) {
        pf(pg, "<a id=\"newer\" href=\"/chain/address/");
        pe(pg, a->addr);
        pf(pg, "?page=%llu\">Newer</a> ", (unsigned long long)a->page - 1);
    }
    if (a->page + 1 < pages) {
        pf(pg, "<a id=\"older\" href=\"/chain/address/");
        pe(pg, a->addr);
        pf(pg, "?page=%llu\">Older</a>", (unsigned long long)a->page + 1);
    }
    pf(pg, "</p></div>");
}

static void address_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    const char *addr = arb_http_req_path(req) + strlen("/chain/address/");
    const char *pq_ = arb_http_req_query(req, "page");
    chain_ctx c;
    addr_ctx a;
    page pg = {0};

    memset(&c, 0, sizeof c);
    memset(&a, 0, sizeof a);
    c.e = e;
    c.pg = &pg;
    a.c = &c;
    a.addr = addr;
    if ((pq_ != NULL && !parse_index(pq_, &a.page)) || strlen(addr) >= ARB_ADDR_MAX) {
        message_page(req, e, 400, "Bad address", "Not an address of this network:", addr);
        return;
    }
    head(&pg, e, "Address");
    arb_chainapi_read(e->chain, address_read, &a);
    free(a.hist);
    if (!c.found) {
        free(pg.p);
        message_page(req, e, 400, "Bad address", "Not an address of this network:", addr);
        return;
    }
    foot(&pg);
    send_page(req, &pg, 200);
}

/* ---- the mempool */

#define FEE_BUCKETS 8
static const double fee_edges[FEE_BUCKETS - 1] = {1, 2, 5, 10, 20, 50, 100};
/* Written into markup as they are: escaped already. */
static const char *const fee_labels[FEE_BUCKETS] = {"&lt;1", "1-2", "2-5", "5-10",
                                                    "10-20", "20-50", "50-100", "&gt;=100"};

typedef struct {
    page *pg;
    uint64_t count[FEE_BUCKETS], bytes[FEE_BUCKETS];
    size_t listed;
} pool_ctx;

static int pool_tx(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    pool_ctx *c = ud;
    size_t size = arb_tx_size(tx);
    double rate = (double)fee / (double)(size ? size : 1);
    size_t b = 0;
    while (b < FEE_BUCKETS - 1 && rate >= fee_edges[b])
        b++;
    c->count[b]++;
    c->bytes[b] += size;
    if (c->listed < 100) {
        char hx[65], a1[32];
        arb_chain_hash_hex(hx, txid);
        amount(a1, fee);
        pf(c->pg, "<tr><td class=\"mono\"><a href=\"/chain/tx/%s\">%s</a></td><td>%zu</td>"
                  "<td>%s</td><td>%.2f</td></tr>",
           hx, hx, size, a1, rate);
        c->listed++;
    }
    return 0;
}

static void mempool_read(void *ud, arb_chainstate *cs, arb_mempool *mp, const arb_chain_params *p)
{
    pool_ctx *c = ud;
    page *pg = c->pg;
    size_t count = 0, bytes = 0;
    uint64_t maxb = 1;
    (void)cs;
    (void)p;
    arb_mempool_stats(mp, &count, &bytes);
    pf(pg, "<div class=\"card\"><h1>Mempool</h1><div class=\"stats\"><div class=\"stat\">"
           "Transactions<b id=\"mempool-count\">%zu</b></div><div class=\"stat\">Size<b>%zu bytes"
           "</b></div></div></div><div class=\"card\"><h2>Waiting transactions</h2>"
           "<table id=\"mempool-txs\"><tr><th>Transaction</th><th>Size</th><th>Fee</th>"
           "<th>Fee rate (units/byte)</th></tr>",
       count, bytes);
    arb_mempool_foreach(mp, pool_tx, c);
    pf(pg, "</table>%s</div>", c->listed < count ? "<p class=\"muted\">the first 100 shown</p>" : "");
    /* Bytes waiting per fee-rate band, as bars. */
    for (size_t b = 0; b < FEE_BUCKETS; b++)
        if (c->bytes[b] > maxb)
            maxb = c->bytes[b];
    pf(pg, "<div class=\"card\"><h2>By fee rate</h2><svg id=\"fee-histogram\" role=\"img\" "
           "viewBox=\"0 0 640 220\" width=\"100%%\" style=\"max-width:640px\" "
           "xmlns=\"http://www.w3.org/2000/svg\"><title>Mempool bytes by fee rate</title>");
    for (size_t b = 0; b < FEE_BUCKETS; b++) {
        double h = 160.0 * (double)c->bytes[b] / (double)maxb, x = 20 + (double)b * 76;
        pf(pg, "<rect class=\"bar\" x=\"%.0f\" y=\"%.1f\" width=\"60\" height=\"%.1f\" "
               "fill=\"#3b82c4\"><title>%s units/byte: %llu transactions, %llu bytes</title></rect>"
               "<text x=\"%.0f\" y=\"200\" font-size=\"11\" text-anchor=\"middle\">%s</text>"
               "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%llu</text>",
           x, 180 - h, h, fee_labels[b], (unsigned long long)c->count[b],
           (unsigned long long)c->bytes[b], x + 30, fee_labels[b], x + 30, 176 - h,
           (unsigned long long)c->count[b]);
    }
    pf(pg, "<line x1=\"10\" y1=\"180\" x2=\"630\" y2=\"180\" stroke=\"#9fb3c8\"/></svg>"
           "<p class=\"muted\">Bars: bytes waiting in each fee-rate band (units per byte); the "
           "numbers: transactions.</p></div>");
}

static void mempool_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    page pg = {0};
    pool_ctx c;
    memset(&c, 0, sizeof c);
    c.pg = &pg;
    head(&pg, e, "Mempool");
    arb_chainapi_read(e->chain, mempool_read, &c);
    foot(&pg);
    send_page(req, &pg, 200);
}

static void chain_page(arb_http_req *req, arb_explorer *e, int is_tx)
{
    const char *path = arb_http_req_path(req);
    const char *rest = path + (is_tx ? strlen("/chain/tx/") : strlen("/chain/block/"));
    chain_ctx c;
    page pg = {0};
    uint64_t n;

    memset(&c, 0, sizeof c);
    c.e = e;
    c.pg = &pg;
    if (!is_tx && parse_index(rest, &n) && n <= UINT32_MAX) {
        c.by_height = 1;
        c.height = (uint32_t)n;
    } else if (strlen(rest) != 64 || !arb_chain_hash_from_hex(&c.hash, rest)) {
        message_page(req, e, 400, is_tx ? "Bad transaction id" : "Bad block",
                     is_tx ? "A transaction id is 64 hex digits, not"
                           : "A block is a height or 64 hex digits, not",
                     rest);
        return;
    }
    if (arb_sha256_new(&c.sha) != ARB_OK) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    head(&pg, e, is_tx ? "Transaction" : "Block");
    arb_chainapi_read(e->chain, is_tx ? tx_read : block_read, &c);
    arb_sha256_free(c.sha);
    if (!c.found) {
        free(pg.p);
        message_page(req, e, 404, is_tx ? "No such transaction" : "No such block",
                     is_tx ? "The active chain and the mempool have no transaction"
                           : "The chain has no block",
                     rest);
        return;
    }
    foot(&pg);
    send_page(req, &pg, 200);
}

static void block_handler(void *ud, arb_http_req *req)
{
    chain_page(req, ud, 0);
}

static void tx_handler(void *ud, arb_http_req *req)
{
    chain_page(req, ud, 1);
}

static void recent_blocks_read(void *ud, arb_chainstate *cs, arb_mempool *mp,
                               const arb_chain_params *p)
{
    chain_ctx *c = ud;
    arb_chain_tip tip;
    (void)p;
    (void)mp;
    arb_chainstate_tip(cs, &tip);
    pf(c->pg, "<div class=\"card\"><h2>Latest blocks</h2><table id=\"recent-blocks\"><tr>"
              "<th>Height</th><th>Hash</th><th>Time</th><th>Transactions</th></tr>");
    for (uint32_t k = 0; k < RECENT_BLOCKS && k <= tip.height; k++) {
        uint32_t h = tip.height - k;
        arb_hash bh;
        arb_block_header hdr;
        arb_block b;
        char hx[65], t[32];
        arb_block_init(&b);
        if (arb_chainstate_hash_at(cs, h, &bh) == ARB_OK &&
            arb_chainstate_get_block(cs, &bh, &hdr, &b, NULL, NULL) == ARB_OK) {
            arb_chain_hash_hex(hx, &bh);
            iso_time(t, hdr.time);
            pf(c->pg, "<tr><td><a href=\"/chain/block/%s\">%u</a></td><td class=\"mono\">%.16s...</td>"
                      "<td>%s</td><td>%zu</td></tr>",
               hx, h, hx, t, b.n_tx);
        }
        arb_block_clear(&b);
    }
    pf(c->pg, "</table></div>");
}


/* ---------------------------------------------------------------- names and anchors */

#define STATE_HIST_SHOWN 1000 /* history rows listed on a name or anchors page */
#define ANCHOR_LOGS_SHOWN 1000

/* A name's status at the tip, as GET /names/v1/name answers it. */
static const char *name_status(const arb_names_params *np, const arb_name_rec *r,
                               const arb_namespace_rec *ns, int has_ns, uint32_t height)
{
    if (!has_ns || arb_names_stale(ns, r))
        return "available";
    if (r->revoked)
        return "revoked";
    if (arb_names_resolves(r, height))
        return "active";
    if (np != NULL && arb_names_in_grace(np, r, height))
        return "grace";
    return "expired";
}

typedef struct {
    page *pg;
    const arb_explorer *e;
    const char *q;     /* the name, namespace id or log ID asked for */
    int found;
    size_t rows;
    arb_sha256 *sha;
} state_ctx;

/* A history row: block, operation, transaction (and for anchors the head). */
static int state_hist_row(void *ud, uint32_t height, uint32_t tx_index, const arb_hash *txid,
                          uint8_t op, const arb_hash *block, const uint8_t *rec, size_t rec_len)
{
    state_ctx *c = ud;
    char hx[65], bh[65];
    (void)tx_index;
    if (c->rows++ >= STATE_HIST_SHOWN)
        return 1;
    arb_chain_hash_hex(hx, txid);
    arb_chain_hash_hex(bh, block);
    pf(c->pg, "<tr><td><a href=\"/chain/block/%s\">%u</a></td>", bh, height);
    if (rec != NULL) { /* an anchored head */
        arb_anchor_head hd;
        char t[32], root[65];
        if (arb_anchor_head_decode(&hd, rec, rec_len) == ARB_OK) {
            iso_time(t, (int64_t)(hd.timestamp / 1000));
            hex32(root, hd.root);
            pf(c->pg, "<td class=\"size\">%llu</td><td>%s</td><td class=\"mono\">%s</td>",
               (unsigned long long)hd.tree_size, t, root);
        } else {
            pf(c->pg, "<td colspan=\"3\">a record that does not decode</td>");
        }
    } else {
        pf(c->pg, "<td class=\"op\">%s</td>", arb_nameop_type_name(op));
    }
    pf(c->pg, "<td class=\"mono\"><a href=\"/chain/tx/%s\">%s</a></td></tr>", hx, hx);
    return 0;
}

static void name_read(void *ud, arb_chainstate *cs, arb_mempool *mp, const arb_chain_params *p)
{
    state_ctx *c = ud;
    page *pg = c->pg;
    const arb_names_params *np = arb_names_params_get(p->name);
    uint8_t key[32], rec[ARB_SREC_MAX], nskey[32];
    size_t rl, name_len = 0;
    arb_name_rec r;
    arb_namespace_rec ns;
    int has_ns = 0;
    arb_chain_tip tip;
    char ad[ARB_ADDR_MAX], ow[65], zf[65], nsid[ARB_NAMES_NS_MAX + 1];
    (void)mp;

    if (!arb_names_full_valid((const uint8_t *)c->q, strlen(c->q), &name_len))
        return;
    arb_names_name_key(c->sha, key, (const uint8_t *)c->q, strlen(c->q));
    if (arb_chainstate_state_get(cs, ARB_SREC_NAME, key, rec, &rl) != ARB_OK ||
        arb_names_name_rec_decode(&r, rec, rl) != ARB_OK)
        return;
    c->found = 1;
    arb_chainstate_tip(cs, &tip);
    snprintf(nsid, sizeof nsid, "%s", c->q + name_len + 1);
    arb_names_ns_key(c->sha, nskey, (const uint8_t *)nsid, strlen(nsid));
    if (arb_chainstate_state_get(cs, ARB_SREC_NAMESPACE, nskey, rec, &rl) == ARB_OK &&
        arb_names_ns_rec_decode(&ns, rec, rl) == ARB_OK)
        has_ns = 1;
    addr_of(ad, p, r.owner);
    hex32(ow, r.owner);
    pf(pg, "<div class=\"card\"><h1>Name <span id=\"name\">");
    pe(pg, c->q);
    pf(pg, "</span></h1><table><tr><th>Status</th><td id=\"name-status\">%s</td></tr>"
           "<tr><th>Namespace</th><td><a id=\"name-namespace\" href=\"/names/namespace/%s\">%s"
           "</a></td></tr><tr><th>Owner</th><td class=\"mono\"><a id=\"name-owner\" "
           "href=\"/chain/address/%s\">%s</a><br><span class=\"muted\">key %s</span></td></tr>",
       name_status(np, &r, &ns, has_ns, tip.height), nsid, nsid, ad, ad, ow);
    if (r.has_zonefile) {
        hex32(zf, r.zonefile_hash);
        pf(pg, "<tr><th>Zone-file hash</th><td class=\"mono\" id=\"name-zonefile\">%s</td></tr>",
           zf);
    } else {
        pf(pg, "<tr><th>Zone-file hash</th><td class=\"muted\" id=\"name-zonefile\">none</td>"
               "</tr>");
    }
    pf(pg, "<tr><th>%s</th><td><a href=\"/chain/block/%u\">%u</a></td></tr>"
           "<tr><th>Lease since</th><td>%u</td></tr>",
       r.imported ? "Imported at" : "Registered at", r.registered_height, r.registered_height,
       r.renewed_height);
    if (r.lifetime > 0) {
        uint64_t ex = (uint64_t)r.renewed_height + r.lifetime;
        pf(pg, "<tr><th>Expires at</th><td id=\"name-expires\">%llu</td></tr>"
               "<tr><th>Grace ends at</th><td>%llu</td></tr>",
           (unsigned long long)ex, (unsigned long long)(ex + (np ? np->grace_period : 0)));
    } else {
        pf(pg, "<tr><th>Expires at</th><td id=\"name-expires\">never</td></tr>");
    }
    pf(pg, "</table><p class=\"muted\"><a href=\"/names/v1/name/%s\">JSON</a> (with the "
           "light-client proof: <a href=\"/names/v1/name/%s?proof=1\">proof=1</a>)</p></div>",
       c->q, c->q);
    pf(pg, "<div class=\"card\"><h2>History</h2><table id=\"name-history\"><tr><th>Block</th>"
           "<th>Operation</th><th>Transaction</th></tr>");
    if (arb_chainstate_state_history(cs, ARB_SREC_NAME, key, state_hist_row, c) != ARB_OK)
        pf(pg, "<tr><td colspan=\"3\">the history could not be read</td></tr>");
    pf(pg, "</table>%s</div>", c->rows > STATE_HIST_SHOWN
                                   ? "<p class=\"muted\">the first 1000 operations shown</p>"
                                   : "");
}

static void namespace_read(void *ud, arb_chainstate *cs, arb_mempool *mp,
                           const arb_chain_params *p)
{
    state_ctx *c = ud;
    page *pg = c->pg;
    const arb_names_params *np = arb_names_params_get(p->name);
    uint8_t key[32], rec[ARB_SREC_MAX];
    size_t rl;
    arb_namespace_rec ns;
    arb_chain_tip tip;
    char rk[65];
    (void)mp;

    if (!arb_names_ns_valid((const uint8_t *)c->q, strlen(c->q)))
        return;
    arb_names_ns_key(c->sha, key, (const uint8_t *)c->q, strlen(c->q));
    if (arb_chainstate_state_get(cs, ARB_SREC_NAMESPACE, key, rec, &rl) != ARB_OK ||
        arb_names_ns_rec_decode(&ns, rec, rl) != ARB_OK)
        return;
    c->found = 1;
    arb_chainstate_tip(cs, &tip);
    hex32(rk, ns.reveal_key);
    pf(pg, "<div class=\"card\"><h1>Namespace <span id=\"namespace\">");
    pe(pg, c->q);
    pf(pg, "</span></h1><table><tr><th>Status</th><td id=\"namespace-status\">%s</td></tr>"
           "<tr><th>Revealed at</th><td><a href=\"/chain/block/%u\">%u</a></td></tr>",
       ns.ready ? "ready" : (np != NULL && arb_names_ns_lapsed(np, &ns, tip.height)) ? "lapsed"
                                                                                 : "revealed",
       ns.reveal_height, ns.reveal_height);
    if (ns.ready)
        pf(pg, "<tr><th>Ready at</th><td><a href=\"/chain/block/%u\">%u</a></td></tr>",
           ns.ready_height, ns.ready_height);
    pf(pg, "<tr><th>Revealed by</th><td class=\"mono\">%s</td></tr>"
           "<tr><th>Name lifetime</th><td id=\"namespace-lifetime\">%u%s</td></tr>"
           "<tr><th>Price function</th><td>coefficient %u, base %u, buckets",
       rk, ns.lifetime, ns.lifetime ? " blocks" : " (names never expire)", ns.price.coeff,
       ns.price.base);
    for (int i = 0; i < 16; i++)
        pf(pg, "%s%u", i ? "," : " ", ns.price.buckets[i]);
    pf(pg, ", non-alphabetic discount %u, no-vowel discount %u</td></tr></table>"
           "<p class=\"muted\"><a href=\"/names/v1/namespace/%s\">JSON</a></p></div>",
       ns.price.nonalpha_discount, ns.price.no_vowel_discount, c->q);
}

/* The anchors of one log (c->q: its log ID in hex). */
static void anchors_read(void *ud, arb_chainstate *cs, arb_mempool *mp, const arb_chain_params *p)
{
    state_ctx *c = ud;
    page *pg = c->pg;
    uint8_t id[32];
    (void)mp;
    (void)p;
    if (strlen(c->q) != 64 || !arb_hex_decode(id, 32, c->q, 64))
        return;
    pf(pg, "<div class=\"card\"><h1>Anchors of a log</h1><p>Log ID <span class=\"mono\" "
           "id=\"anchor-log\">%s</span>%s</p><p class=\"muted\">Each row is a signed tree head "
           "of this log that a block of the active chain anchored (the chain checked its "
           "signature and its consistency with the previous one). "
           "<a href=\"/chain/v1/anchors/%s\">JSON</a> (with the light-client proof: "
           "<a href=\"/chain/v1/anchors/%s?proof=1\">proof=1</a>)</p>"
           "<table id=\"anchors\"><tr><th>Block</th><th>Tree size</th><th>Timestamp</th>"
           "<th>Root hash</th><th>Transaction</th></tr>",
       c->q, strcmp(c->q, c->e->log_id_hex) == 0 ? " (this node's log)" : "", c->q, c->q);
    if (arb_chainstate_state_history(cs, ARB_SREC_ANCHOR, id, state_hist_row, c) != ARB_OK)
        pf(pg, "<tr><td colspan=\"5\">the anchors could not be read</td></tr>");
    pf(pg, "</table>%s%s</div>",
       c->rows == 0 ? "<p id=\"no-anchors\">No head of this log is anchored on the chain.</p>"
                    : "",
       c->rows > STATE_HIST_SHOWN ? "<p class=\"muted\">the first 1000 anchors shown</p>" : "");
    c->found = 1;
}

static int anchor_log_row(void *ud, const uint8_t key32[32], const uint8_t *rec, size_t len)
{
    state_ctx *c = ud;
    arb_anchor_head hd;
    char id[65], t[32];
    if (c->rows++ >= ANCHOR_LOGS_SHOWN)
        return 1;
    hex32(id, key32);
    if (arb_anchor_head_decode(&hd, rec, len) != ARB_OK) {
        pf(c->pg, "<tr><td class=\"mono\">%s</td><td colspan=\"3\">a record that does not "
                  "decode</td></tr>", id);
        return 0;
    }
    iso_time(t, (int64_t)(hd.timestamp / 1000));
    pf(c->pg, "<tr><td class=\"mono\"><a href=\"/chain/anchors/%s\">%s</a>%s</td>"
              "<td>%llu</td><td>%s</td><td><a href=\"/chain/block/%u\">%u</a></td></tr>",
       id, id, strcmp(id, c->e->log_id_hex) == 0 ? " <span class=\"tag\">this node's log</span>"
                                                  : "",
       (unsigned long long)hd.tree_size, t, hd.height, hd.height);
    return 0;
}

static void anchor_logs_read(void *ud, arb_chainstate *cs, arb_mempool *mp,
                             const arb_chain_params *p)
{
    state_ctx *c = ud;
    (void)mp;
    (void)p;
    pf(c->pg, "<div class=\"card\"><h1>Anchored logs</h1><p class=\"muted\">Every transparency "
              "log with a tree head anchored on the active chain, by log ID, with its latest "
              "anchored head. <a href=\"/chain/v1/anchors\">JSON</a></p><table id=\"anchor-logs\">"
              "<tr><th>Log ID</th><th>Tree size</th><th>Timestamp</th><th>Block</th></tr>");
    if (arb_chainstate_state_each(cs, ARB_SREC_ANCHOR, NULL, anchor_log_row, c) != ARB_OK)
        pf(c->pg, "<tr><td colspan=\"4\">the anchors could not be read</td></tr>");
    pf(c->pg, "</table>%s%s</div>",
       c->rows == 0 ? "<p id=\"no-anchors\">No log is anchored on the chain.</p>" : "",
       c->rows > ANCHOR_LOGS_SHOWN ? "<p class=\"muted\">the first 1000 logs shown</p>" : "");
    c->found = 1;
}

/* /names/name/N, /names/namespace/NS, /chain/anchors[/LOGID] */
static void state_page(arb_http_req *req, arb_explorer *e, int what)
{
    static const char *const prefix[] = {"/names/name/", "/names/namespace/", "/chain/anchors/",
                                         "/chain/anchors"};
    static const char *const title[] = {"Name", "Namespace", "Anchors", "Anchored logs"};
    static void (*const fn[])(void *, arb_chainstate *, arb_mempool *, const arb_chain_params *) = {
        name_read, namespace_read, anchors_read, anchor_logs_read};
    const char *path = arb_http_req_path(req);
    state_ctx c;
    page pg = {0};

    if (what == 2 && strcmp(path, "/chain/anchors/") == 0)
        what = 3;
    memset(&c, 0, sizeof c);
    c.pg = &pg;
    c.e = e;
    c.q = what == 3 ? "" : path + strlen(prefix[what]);
    if (strlen(c.q) > ARB_NAMES_FULL_MAX + 64) {
        message_page(req, e, 400, "Bad request", "Too long:", "");
        return;
    }
    if (arb_sha256_new(&c.sha) != ARB_OK) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    head(&pg, e, title[what]);
    arb_chainapi_read(e->chain, fn[what], &c);
    arb_sha256_free(c.sha);
    if (!c.found) {
        free(pg.p);
        if (what == 2)
            message_page(req, e, 400, "Bad log ID", "A log ID is 64 hex digits, not", c.q);
        else
            message_page(req, e, 404, what == 0 ? "No such name" : "No such namespace",
                         what == 0 ? "The chain has no name" : "The chain has no namespace",
                         c.q);
        return;
    }
    foot(&pg);
    send_page(req, &pg, 200);
}

static void name_handler(void *ud, arb_http_req *req)
{
    state_page(req, ud, 0);
}

static void namespace_handler(void *ud, arb_http_req *req)
{
    state_page(req, ud, 1);
}

static void anchors_handler(void *ud, arb_http_req *req)
{
    state_page(req, ud, strcmp(arb_http_req_path(req), "/chain/anchors") == 0 ? 3 : 2);
}

/* ---------------------------------------------------------------- chain plots */

#define PLOT_BLOCKS 144   /* intervals drawn by default: a day at ten minutes */
#define PLOT_BLOCKS_MAX 2016

double arb_explorer_difficulty(uint32_t bits, const arb_u256 *pow_limit)
{
    arb_u256 t;
    int neg = 0, ovf = 0;
    double tv = 0, lv = 0;
    arb_pow_bits_to_target(&t, bits, &neg, &ovf);
    if (neg || ovf || arb_u256_is_zero(&t))
        return 0;
    for (int i = 7; i >= 0; i--) {
        tv = tv * 4294967296.0 + (double)t.w[i];
        lv = lv * 4294967296.0 + (double)pow_limit->w[i];
    }
    return lv / tv;
}

size_t arb_explorer_chain_series(const arb_explorer_hdr *h, size_t n, const arb_u256 *pow_limit,
                                 int64_t *interval, double *difficulty)
{
    if (n < 2)
        return 0;
    for (size_t k = 0; k + 1 < n; k++) {
        interval[k] = h[k + 1].time - h[k].time;
        difficulty[k] = arb_explorer_difficulty(h[k + 1].bits, pow_limit);
    }
    return n - 1;
}

/* A line plot of y[0..n) (n >= 1) against the heights first..first+n-1. */
static void series_svg(page *pg, const char *id, const char *title, const double *y, size_t n,
                       uint32_t first)
{
    const double W = 640, H = 200, L = 70, R = 12, T = 12, B = 34;
    double lo = 0, hi = 0;
    for (size_t k = 0; k < n; k++) {
        if (y[k] < lo)
            lo = y[k];
        if (y[k] > hi)
            hi = y[k];
    }
    if (hi <= lo)
        hi = lo + 1;
    pf(pg, "<svg id=\"%s\" role=\"img\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" "
           "style=\"max-width:%.0fpx\" xmlns=\"http://www.w3.org/2000/svg\"><title>",
       id, W, H, W);
    pe(pg, title);
    pf(pg, "</title><rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f7f9fc\" "
           "stroke=\"#d5dde8\"/><polyline fill=\"none\" stroke=\"#3b82c4\" stroke-width=\"2\" "
           "points=\"",
       L, T, W - L - R, H - T - B);
    for (size_t k = 0; k < n; k++) {
        double fx = n > 1 ? (double)k / (double)(n - 1) : 0.5;
        double fy = (y[k] - lo) / (hi - lo);
        pf(pg, "%s%.1f,%.1f", k ? " " : "", L + fx * (W - L - R), H - B - fy * (H - T - B));
    }
    pf(pg, "\"/><text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%.4g</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%.4g</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%u</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%u</text></svg>",
       L - 6, T + 10, hi, L - 6, H - B, lo, L, H - B + 16, first, W - R, H - B + 16,
       first + (uint32_t)(n - 1));
}

typedef struct {
    page *pg;
    size_t want;
} stats_ctx;

static void stats_read(void *ud, arb_chainstate *cs, arb_mempool *mp, const arb_chain_params *p)
{
    stats_ctx *c = ud;
    page *pg = c->pg;
    arb_chain_tip tip;
    arb_u256 limit;
    arb_explorer_hdr *h;
    int64_t *iv;
    double *df, *ivd;
    size_t n = 0, m;
    (void)mp;
    arb_chainstate_tip(cs, &tip);
    arb_chain_pow_limit(p, &limit);
    size_t count = tip.height + 1 < c->want + 1 ? (size_t)tip.height + 1 : c->want + 1;
    h = calloc(count, sizeof *h);
    iv = calloc(count, sizeof *iv);
    df = calloc(count, sizeof *df);
    ivd = calloc(count, sizeof *ivd);
    uint32_t first = tip.height + 1 - (uint32_t)count;
    if (h != NULL && iv != NULL && df != NULL && ivd != NULL)
        for (; n < count; n++) {
            arb_hash bh;
            arb_chain_hdrinfo hi;
            if (arb_chainstate_hash_at(cs, first + (uint32_t)n, &bh) != ARB_OK ||
                arb_chainstate_header(cs, &bh, &hi) != ARB_OK)
                break;
            h[n].time = hi.hdr.time;
            h[n].bits = hi.hdr.bits;
        }
    m = arb_explorer_chain_series(h, n, &limit, iv, df);
    pf(pg, "<div class=\"card\"><h1>Block interval and difficulty</h1><p>The last "
           "<b id=\"plot-blocks\">%zu</b> blocks (heights %u to %u) of the active chain, from "
           "their headers. Show the last <a id=\"blocks-144\" href=\"/chain/stats?blocks=144\">"
           "144</a> or <a id=\"blocks-500\" href=\"/chain/stats?blocks=500\">500</a>.</p>",
       m, m ? first + 1 : tip.height, tip.height);
    if (m == 0) {
        pf(pg, "<p class=\"muted\" id=\"no-plot\">Too few blocks to plot.</p></div>");
    } else {
        double sum = 0;
        for (size_t k = 0; k < m; k++) {
            ivd[k] = (double)iv[k];
            sum += ivd[k];
        }
        pf(pg, "<div class=\"stats\"><div class=\"stat\">Mean interval<b id=\"mean-interval\">"
               "%.1f s</b></div><div class=\"stat\">Target spacing<b>%u s</b></div>"
               "<div class=\"stat\">Difficulty<b id=\"difficulty\">%.6g</b></div></div></div>",
           sum / (double)m, (unsigned)p->target_spacing, df[m - 1]);
        pf(pg, "<div class=\"card\"><h2>Block interval (seconds)</h2>");
        series_svg(pg, "interval-plot", "Seconds since the previous block, by height", ivd, m,
                   first + 1);
        pf(pg, "</div><div class=\"card\"><h2>Difficulty</h2>");
        series_svg(pg, "difficulty-plot", "Difficulty (proof-of-work limit / target), by height",
                   df, m, first + 1);
        pf(pg, "<p class=\"muted\">Difficulty 1 is the network's easiest target.</p></div>");
    }
    free(h);
    free(iv);
    free(df);
    free(ivd);
}

static void stats_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    page pg = {0};
    stats_ctx c = {&pg, PLOT_BLOCKS};
    const char *q = arb_http_req_query(req, "blocks");
    uint64_t n;
    if (q != NULL) {
        if (!parse_index(q, &n) || n < 1 || n > PLOT_BLOCKS_MAX) {
            message_page(req, e, 400, "Bad block count", "The number of blocks is 1 to 2016, not",
                         q);
            return;
        }
        c.want = (size_t)n;
    }
    head(&pg, e, "Chain");
    arb_chainapi_read(e->chain, stats_read, &c);
    foot(&pg);
    send_page(req, &pg, 200);
}

/* ---------------------------------------------------------------- peers */

/* A JSON string member, or "" when absent. */
static const char *jstr(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL ? v : "";
}

static void peers_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    page pg = {0};
    char *pt = e->peers_json(e->peers_ud, 0), *bt = e->peers_json(e->peers_ud, 1);
    json_t *po = pt ? json_loads(pt, 0, NULL) : NULL, *bo = bt ? json_loads(bt, 0, NULL) : NULL;
    json_t *peers = json_object_get(po, "peers"), *bans = json_object_get(bo, "bans"), *v;
    int64_t now = (int64_t)time(NULL);
    size_t i;
    free(pt);
    free(bt);
    head(&pg, e, "Peers");
    pf(&pg, "<div class=\"card\"><h1>Peers</h1><p><b id=\"peer-count\">%zu</b> connections."
            " <a href=\"/p2p/v1/peers\">JSON</a></p>",
       json_array_size(peers));
    if (!json_is_array(peers)) {
        pf(&pg, "<p class=\"muted\">The peer list is not available.</p>");
    } else if (json_array_size(peers) == 0) {
        pf(&pg, "<p class=\"muted\" id=\"no-peers\">No peers are connected.</p>");
    } else {
        pf(&pg, "<table id=\"peers\"><tr><th>Address</th><th>Direction</th><th>Height</th>"
                "<th>Ping (ms)</th><th>Bytes in</th><th>Bytes out</th><th>Connected since</th>"
                "<th>Misbehaviour</th></tr>");
        json_array_foreach(peers, i, v)
        {
            char t[32];
            const char *why = json_string_value(json_object_get(v, "last_misbehaviour"));
            iso_time(t, now - (int64_t)json_integer_value(json_object_get(v, "connected_s")));
            pf(&pg, "<tr><td class=\"mono\">");
            pe(&pg, jstr(v, "address"));
            pf(&pg, "</td><td>");
            pe(&pg, jstr(v, "direction"));
            if (!json_is_true(json_object_get(v, "handshaked")))
                pf(&pg, " <span class=\"tag\">handshake</span>");
            pf(&pg, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%s</td>"
                    "<td>%lld",
               (long long)json_integer_value(json_object_get(v, "height")),
               (long long)json_integer_value(json_object_get(v, "ping_ms")),
               (long long)json_integer_value(json_object_get(v, "bytes_in")),
               (long long)json_integer_value(json_object_get(v, "bytes_out")), t,
               (long long)json_integer_value(json_object_get(v, "misbehaviour")));
            if (why != NULL && *why) {
                pf(&pg, " <span class=\"muted\">");
                pe(&pg, why);
                pf(&pg, "</span>");
            }
            pf(&pg, "</td></tr>");
        }
        pf(&pg, "</table>");
    }
    pf(&pg, "</div><div class=\"card\"><h2>Bans</h2><p class=\"muted\">"
            "<a href=\"/p2p/v1/bans\">JSON</a></p>");
    if (json_array_size(bans) == 0) {
        pf(&pg, "<p class=\"muted\" id=\"no-bans\">No address is banned.</p>");
    } else {
        pf(&pg, "<table id=\"bans\"><tr><th>Address</th><th>Until</th></tr>");
        json_array_foreach(bans, i, v)
        {
            char t[32];
            iso_time(t, (int64_t)json_integer_value(json_object_get(v, "until")));
            pf(&pg, "<tr><td class=\"mono\">");
            pe(&pg, jstr(v, "address"));
            pf(&pg, "</td><td>%s</td></tr>", t);
        }
        pf(&pg, "</table>");
    }
    pf(&pg, "</div>");
    json_decref(po);
    json_decref(bo);
    foot(&pg);
    send_page(req, &pg, 200);
}


/* ---------------------------------------------------------------- tree heads */

#define HEADS_PAGE 100         /* heads listed a page */
#define HEADS_JSON_MAX 1000    /* most heads a JSON answer holds */
#define HEADS_PLOT_MAX 1000    /* most (latest) heads the plot draws */

static json_t *sth_json(const arb_log_sth *s)
{
    char *root = arb_base64_encode(s->root, 32), *sig = arb_base64_encode(s->sig, s->sig_len);
    json_t *o = NULL;
    if (root != NULL && sig != NULL)
        o = json_pack("{s:I, s:I, s:s, s:s}", "tree_size", (json_int_t)s->tree_size, "timestamp",
                      (json_int_t)s->timestamp, "sha256_root_hash", root, "tree_head_signature",
                      sig);
    free(root);
    free(sig);
    return o;
}

/* A timestamp cursor (ms), or 0 when absent. Returns 0 on a bad value. */
static int parse_cursor(const char *s, uint64_t *out)
{
    *out = 0;
    return s == NULL || parse_index(s, out);
}

/* GET /log/v1/sth-history[?after=TS|before=TS][&limit=N] */
static void sth_history_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    const char *after = arb_http_req_query(req, "after"), *before = arb_http_req_query(req, "before");
    const char *lim = arb_http_req_query(req, "limit");
    uint64_t cursor = 0, limit = HEADS_PAGE;
    arb_log_sth *heads;
    size_t n = 0;
    int more = 0, newest_first = before != NULL;
    arb_errbuf eb;
    json_t *o, *arr;

    if ((after != NULL && before != NULL) ||
        !parse_cursor(newest_first ? before : after, &cursor) ||
        (lim != NULL && (!parse_index(lim, &limit) || limit < 1 || limit > HEADS_JSON_MAX))) {
        (void)arb_http_respond_error(req, 400, "bad_query",
                                     "after or before is a timestamp in ms (not both); limit is "
                                     "1 to 1000");
        return;
    }
    if ((heads = calloc((size_t)limit, sizeof *heads)) == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    if (arb_log_sth_history(e->log, cursor, newest_first, (size_t)limit, heads, &n, &more, &eb) !=
        ARB_OK) {
        free(heads);
        (void)arb_http_respond_error(req, 500, "log_db", "the tree-head history could not be read");
        return;
    }
    arr = json_array();
    for (size_t k = 0; k < n; k++)
        json_array_append_new(arr, sth_json(&heads[k]));
    o = json_pack("{s:o, s:o}", "sths", arr,
                  "next", more ? json_integer((json_int_t)heads[n - 1].timestamp) : json_null());
    free(heads);
    send_json(req, o);
}

/* Tree size (y) against time (x) from heads h[0..n), newest first. */
static void heads_svg(page *pg, const arb_log_sth *h, size_t n)
{
    const double W = 640, H = 200, L = 60, R = 12, T = 12, B = 34;
    uint64_t tmin = h[n - 1].timestamp, tmax = h[0].timestamp, smax = 0, smin = UINT64_MAX;
    char t0[32], t1[32];
    for (size_t k = 0; k < n; k++) {
        if (h[k].tree_size > smax)
            smax = h[k].tree_size;
        if (h[k].tree_size < smin)
            smin = h[k].tree_size;
    }
    if (smax == smin)
        smin = smax > 0 ? smax - 1 : 0, smax = smin + 1;
    iso_time(t0, (int64_t)(tmin / 1000));
    iso_time(t1, (int64_t)(tmax / 1000));
    pf(pg, "<svg id=\"heads-plot\" role=\"img\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" "
           "style=\"max-width:%.0fpx\" xmlns=\"http://www.w3.org/2000/svg\"><title>Tree size of "
           "each signed tree head over time</title><rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" "
           "height=\"%.0f\" fill=\"#f7f9fc\" stroke=\"#d5dde8\"/><polyline fill=\"none\" "
           "stroke=\"#3b82c4\" stroke-width=\"2\" points=\"",
       W, H, W, L, T, W - L - R, H - T - B);
    for (size_t k = n; k-- > 0;) {
        double fx = tmax > tmin ? (double)(h[k].timestamp - tmin) / (double)(tmax - tmin) : 0.5;
        double fy = (double)(h[k].tree_size - smin) / (double)(smax - smin);
        pf(pg, "%s%.1f,%.1f", k + 1 < n ? " " : "", L + fx * (W - L - R),
           H - B - fy * (H - T - B));
    }
    pf(pg, "\"/>");
    for (size_t k = 0; k < n; k++) {
        double fx = tmax > tmin ? (double)(h[k].timestamp - tmin) / (double)(tmax - tmin) : 0.5;
        double fy = (double)(h[k].tree_size - smin) / (double)(smax - smin);
        pf(pg, "<circle class=\"head\" cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#17324d\"/>",
           L + fx * (W - L - R), H - B - fy * (H - T - B));
    }
    pf(pg, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%llu</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%llu</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%s</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%s</text></svg>",
       L - 6, T + 10, (unsigned long long)smax, L - 6, H - B, (unsigned long long)smin, L,
       H - B + 16, t0, W - R, H - B + 16, t1);
}

/* GET /log/heads[?before=TS]: the signed tree heads, newest first. */
static void heads_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    const char *before = arb_http_req_query(req, "before");
    uint64_t cursor = 0;
    arb_log_sth *heads;
    size_t n = 0, np = 0;
    int more = 0, pmore = 0;
    arb_errbuf eb;
    page pg = {0};

    if (!parse_cursor(before, &cursor)) {
        message_page(req, e, 400, "Bad timestamp", "A timestamp is a number of ms, not", before);
        return;
    }
    if ((heads = calloc(HEADS_PLOT_MAX, sizeof *heads)) == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    /* The plot: the latest heads (whatever the page); the table: a page. */
    if (arb_log_sth_history(e->log, 0, 1, HEADS_PLOT_MAX, heads, &np, &pmore, &eb) != ARB_OK) {
        free(heads);
        (void)arb_http_respond_error(req, 500, "log_db", "the tree-head history could not be read");
        return;
    }
    head(&pg, e, "Tree heads");
    pf(&pg, "<div class=\"card\"><h1>Signed tree heads</h1><p>Every tree head the log has "
            "signed, newest first, with its signature checked against the log key (log ID "
            "<span class=\"mono\">%s</span>). <a href=\"/log/v1/sth-history?before=%llu\">JSON"
            "</a> (each head as <span class=\"mono\">get-sth</span> answers it).</p>",
       e->log_id_hex, (unsigned long long)(cursor ? cursor : 0));
    if (np >= 2) {
        pf(&pg, "<h2>Tree size over time</h2>");
        heads_svg(&pg, heads, np);
        pf(&pg, "<p class=\"muted\">From the %s%zu signed tree heads: one point per head.</p>",
           pmore ? "latest " : "", np);
    }
    pf(&pg, "</div>");
    if (arb_log_sth_history(e->log, cursor, 1, HEADS_PAGE, heads, &n, &more, &eb) != ARB_OK) {
        pf(&pg, "<div class=\"card\"><p>The tree-head history could not be read.</p></div>");
        n = 0;
    }
    pf(&pg, "<div class=\"card\"><table id=\"heads\"><tr><th>Time</th><th>Tree size</th>"
            "<th>Root hash</th><th>Signature</th></tr>");
    for (size_t k = 0; k < n; k++) {
        char t[32], root[65];
        char *sig = arb_base64_encode(heads[k].sig, heads[k].sig_len);
        int ok = arb_log_sth_check(e->log, &heads[k]) == ARB_OK;
        iso_time(t, (int64_t)(heads[k].timestamp / 1000));
        hex32(root, heads[k].root);
        pf(&pg, "<tr><td>%s<br><span class=\"muted\">%llu ms</span></td><td class=\"size\">%llu"
                "</td><td class=\"mono\">%s</td><td><span class=\"%s\">%s</span><br>"
                "<span class=\"mono muted\">%s</span></td></tr>",
           t, (unsigned long long)heads[k].timestamp, (unsigned long long)heads[k].tree_size, root,
           ok ? "sig-ok" : "sig-bad tag", ok ? "valid" : "INVALID", sig ? sig : "");
        free(sig);
    }
    pf(&pg, "</table>");
    if (n == 0)
        pf(&pg, "<p class=\"muted\">No older tree heads.</p>");
    pf(&pg, "<p>");
    if (cursor != 0)
        pf(&pg, "<a id=\"heads-newest\" href=\"/log/heads\">Newest</a> ");
    if (more)
        pf(&pg, "<a id=\"heads-older\" href=\"/log/heads?before=%llu\">Older</a>",
           (unsigned long long)heads[n - 1].timestamp);
    pf(&pg, "</p><p class=\"muted\">A head is valid when its signature is the log key's "
            "ECDSA signature over the RFC 6962 TreeHeadSignature (3.5) of its timestamp, tree "
            "size and root hash; check it yourself with the JSON and the log's public key.</p>"
            "</div>");
    free(heads);
    foot(&pg);
    send_page(req, &pg, 200);
}

/* ---------------------------------------------------------------- home */

typedef struct {
    page *pg;
} recent_ctx;

static arb_err recent_row(void *ud, uint64_t index, const uint8_t *leaf_input, size_t leaf_len,
                          const uint8_t *extra, size_t extra_len)
{
    recent_ctx *c = ud;
    arb_ct_leaf ml;
    arb_certview cv;
    char t[32];
    (void)extra;
    (void)extra_len;
    pf(c->pg, "<tr><td><a href=\"/log/entry/%llu\">%llu</a></td><td>", (unsigned long long)index,
       (unsigned long long)index);
    if (arb_ct_leaf_decode(&ml, leaf_input, leaf_len) != ARB_OK) {
        pf(c->pg, "?</td><td></td><td></td></tr>");
        return ARB_OK;
    }
    if (arb_certview_read(&cv, &ml.entry) == ARB_OK) {
        pe(c->pg, cv.n_names > 0 ? cv.names[0] : cv.subject);
        if (cv.n_names > 1)
            pf(c->pg, " <span class=\"muted\">+%zu</span>", cv.n_names - 1);
        arb_certview_clear(&cv);
    }
    iso_time(t, (int64_t)(ml.timestamp / 1000));
    pf(c->pg, "</td><td>%s</td><td>%s</td></tr>",
       ml.entry.entry_type == ARB_CT_ENTRY_PRECERT ? "<span class=\"tag\">precert</span>"
                                                   : "certificate",
       t);
    return ARB_OK;
}

/* Log growth as an inline SVG: entries (y) against time (x), from the SCT
 * timestamps of GROWTH_SAMPLES entries spread over the tree (an entry's
 * index + 1 is the tree size it made). Nothing is drawn for fewer than two
 * entries. */
static void growth_svg(page *pg, const arb_explorer *e, uint64_t size)
{
    uint64_t idx[GROWTH_SAMPLES], ts[GROWTH_SAMPLES], tmin = UINT64_MAX, tmax = 0;
    size_t n = 0;
    const double W = 640, H = 200, L = 60, R = 12, T = 12, B = 34;
    char t0[32], t1[32];

    if (size < 2)
        return;
    for (size_t k = 0; k < GROWTH_SAMPLES; k++) {
        uint64_t i = (uint64_t)((double)k * (double)(size - 1) / (GROWTH_SAMPLES - 1) + 0.5);
        uint8_t *leaf = NULL, *extra = NULL;
        size_t ll, el;
        arb_ct_leaf ml;
        if (n > 0 && idx[n - 1] == i)
            continue;
        if (arb_log_get_entry(e->log, i, &leaf, &ll, &extra, &el) == ARB_OK &&
            arb_ct_leaf_decode(&ml, leaf, ll) == ARB_OK) {
            idx[n] = i;
            ts[n] = ml.timestamp;
            if (ts[n] < tmin)
                tmin = ts[n];
            if (ts[n] > tmax)
                tmax = ts[n];
            n++;
        }
        free(leaf);
        free(extra);
    }
    if (n < 2)
        return;
    iso_time(t0, (int64_t)(tmin / 1000));
    iso_time(t1, (int64_t)(tmax / 1000));
    pf(pg, "<div class=\"card\"><h2>Log growth (from entry timestamps)</h2><svg id=\"log-growth\" role=\"img\" "
           "viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" style=\"max-width:%.0fpx\" "
           "xmlns=\"http://www.w3.org/2000/svg\"><title>Entries in the log over time</title>"
           "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f7f9fc\" "
           "stroke=\"#d5dde8\"/><polyline fill=\"none\" stroke=\"#3b82c4\" "
           "stroke-width=\"2\" points=\"",
       W, H, W, L, T, W - L - R, H - T - B);
    for (size_t k = 0; k < n; k++) {
        /* Equal timestamps (a fast burst): spread by index instead. */
        double fx = tmax > tmin ? (double)(ts[k] - tmin) / (double)(tmax - tmin)
                                : (double)idx[k] / (double)(size - 1);
        double fy = (double)(idx[k] + 1) / (double)size;
        pf(pg, "%s%.1f,%.1f", k ? " " : "", L + fx * (W - L - R), H - B - fy * (H - T - B));
    }
    pf(pg, "\"/><text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%llu</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">0</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%s</text>"
           "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%s</text>"
           "</svg></div>",
       L - 6, T + 10, (unsigned long long)size, L - 6, H - B, L, H - B + 16, t0, W - R,
       H - B + 16, t1);
}

static void home_handler(void *ud, arb_http_req *req)
{
    arb_explorer *e = ud;
    arb_log_sth sth;
    page pg = {0};
    char t[32], root[65];
    int64_t height = arb_metrics_value(arb_http_server_metrics(e->http), "chain_height");

    arb_log_get_sth(e->log, &sth);
    iso_time(t, (int64_t)(sth.timestamp / 1000));
    hex32(root, sth.root);
    head(&pg, e, "Start");
    pf(&pg, "<div class=\"card\"><h1>arbor on ");
    pe(&pg, e->network);
    pf(&pg, "</h1><div class=\"stats\"><div class=\"stat\">Log entries<b id=\"tree-size\">%llu</b>"
            "</div><div class=\"stat\">Chain height<b id=\"chain-height\">",
       (unsigned long long)sth.tree_size);
    if (e->chain != NULL)
        pf(&pg, "<a href=\"/chain/block/%lld\">%lld</a>", (long long)height, (long long)height);
    else
        pf(&pg, "%lld", (long long)height);
    pf(&pg, "</b></div>");
    if (e->chain != NULL)
        pf(&pg, "<div class=\"stat\">Mempool<b><a id=\"mempool-link\" href=\"/chain/mempool\">"
                "%lld txs</a></b></div>",
           (long long)arb_metrics_value(arb_http_server_metrics(e->http), "chain_mempool_txs"));
    pf(&pg, "<div class=\"stat\">Latest tree head<b>%s</b></div></div>", t);
    if (e->chain != NULL || e->peers_json != NULL) {
        pf(&pg, "<p>");
        if (e->chain != NULL)
            pf(&pg, "<a id=\"chain-stats-link\" href=\"/chain/stats\">Block interval and "
                    "difficulty</a> &middot; <a id=\"anchors-link\" href=\"/chain/anchors\">"
                    "Anchored logs</a>%s", e->peers_json != NULL ? " &middot; " : "");
        if (e->peers_json != NULL)
            pf(&pg, "<a id=\"peers-link\" href=\"/peers\">Peers</a>");
        pf(&pg, "</p>");
    }
    pf(&pg, "</div>");
    pf(&pg, "<div class=\"card\"><h2>Transparency log</h2><table><tr><th>Origin</th><td>");
    pe(&pg, e->origin);
    pf(&pg, "</td></tr><tr><th>Log ID</th><td class=\"mono\">%s</td></tr>"
            "<tr><th>Tree size</th><td>%llu</td></tr><tr><th>Root hash</th>"
            "<td class=\"mono\">%s</td></tr><tr><th>History</th><td><a id=\"heads-link\" "
            "href=\"/log/heads\">every signed tree head</a> (tree size over time)%s%s%s"
            "</td></tr></table>"
            "<form action=\"/log/domain\" method=\"get\"><p><input type=\"text\" name=\"domain\" "
            "placeholder=\"example.org\" aria-label=\"domain\"> <label><input type=\"checkbox\" "
            "name=\"subdomains\" value=\"1\" checked> with subdomains</label> "
            "<button type=\"submit\" id=\"domain-search\">Find certificates</button></p></form>"
            "</div>",
       e->log_id_hex, (unsigned long long)sth.tree_size, root,
       e->chain != NULL ? "; <a id=\"log-anchors-link\" href=\"/chain/anchors/" : "",
       e->chain != NULL ? e->log_id_hex : "",
       e->chain != NULL ? "\">its heads anchored on the chain</a>" : "");
    if (e->chain != NULL) {
        chain_ctx c;
        memset(&c, 0, sizeof c);
        c.e = e;
        c.pg = &pg;
        arb_chainapi_read(e->chain, recent_blocks_read, &c);
    }
    growth_svg(&pg, e, sth.tree_size);
    pf(&pg, "<div class=\"card\"><h2>Latest entries</h2>");
    if (sth.tree_size == 0) {
        pf(&pg, "<p class=\"muted\">The log is empty.</p>");
    } else {
        recent_ctx c = {&pg};
        uint64_t first = sth.tree_size > RECENT ? sth.tree_size - RECENT : 0;
        pf(&pg, "<table id=\"recent\"><tr><th>Entry</th><th>Name</th><th>Type</th><th>Logged</th>"
                "</tr>");
        /* Oldest first from the walk; fine for a short list. */
        if (arb_log_get_entries(e->log, first, sth.tree_size - 1, recent_row, &c) != ARB_OK)
            pf(&pg, "<tr><td colspan=\"4\">the entries could not be read</td></tr>");
        pf(&pg, "</table>");
    }
    pf(&pg, "</div>");
    foot(&pg);
    send_page(req, &pg, 200);
}

/* ---------------------------------------------------------------- setup */

arb_err arb_explorer_start(arb_explorer **out, arb_http_server *http, const arb_explorer_config *cfg)
{
    arb_explorer *e;
    arb_err err;

    *out = NULL;
    if ((e = calloc(1, sizeof *e)) == NULL)
        return ARB_ERR_NOMEM;
    e->http = http;
    e->log = cfg->log;
    e->domains = cfg->domains;
    e->chain = cfg->chain;
    e->peers_json = cfg->peers_json;
    e->peers_ud = cfg->peers_ud;
    snprintf(e->network, sizeof e->network, "%s", cfg->network ? cfg->network : "");
    snprintf(e->origin, sizeof e->origin, "%s", cfg->origin ? cfg->origin : "");
    arb_hex_encode(e->log_id_hex, cfg->log_id, 32);
    if ((err = arb_http_route_add(http, ARB_HTTP_GET, "/", 0, home_handler, e)) != ARB_OK ||
        (err = arb_http_route_add(http, ARB_HTTP_GET, "/search", 0, search_handler, e)) != ARB_OK ||
        (err = arb_http_route_add(http, ARB_HTTP_GET, "/log/entry/", 0, entry_handler, e)) !=
            ARB_OK ||
        (err = arb_http_route_add(http, ARB_HTTP_GET, "/log/v1/entry/", 0, entry_handler, e)) !=
            ARB_OK ||
        (err = arb_http_route_add(http, ARB_HTTP_GET, "/log/domain", 0, domain_handler, e)) !=
            ARB_OK ||
        (err = arb_http_route_add(http, ARB_HTTP_GET, "/log/heads", 0, heads_handler, e)) !=
            ARB_OK ||
        (err = arb_http_route_add(http, ARB_HTTP_GET, "/log/v1/sth-history", 0,
                                  sth_history_handler, e)) != ARB_OK ||
        (e->peers_json != NULL &&
         (err = arb_http_route_add(http, ARB_HTTP_GET, "/peers", 0, peers_handler, e)) !=
             ARB_OK) ||
        (e->chain != NULL &&
         ((err = arb_http_route_add(http, ARB_HTTP_GET, "/chain/block/", 0, block_handler, e)) !=
              ARB_OK ||
          (err = arb_http_route_add(http, ARB_HTTP_GET, "/chain/tx/", 0, tx_handler, e)) !=
              ARB_OK ||
          (err = arb_http_route_add(http, ARB_HTTP_GET, "/chain/address/", 0, address_handler,
                                    e)) != ARB_OK ||
          (err = arb_http_route_add(http, ARB_HTTP_GET, "/chain/mempool", 0, mempool_handler,
                                    e)) != ARB_OK ||
          (err = arb_http_route_add(http, ARB_HTTP_GET, "/chain/stats", 0, stats_handler, e)) !=
              ARB_OK ||
          (err = arb_http_route_add(http, ARB_HTTP_GET, "/names/name/", 0, name_handler, e)) !=
              ARB_OK ||
          (err = arb_http_route_add(http, ARB_HTTP_GET, "/names/namespace/", 0,
                                    namespace_handler, e)) != ARB_OK ||
          (err = arb_http_route_add(http, ARB_HTTP_GET, "/chain/anchors", 0, anchors_handler,
                                    e)) != ARB_OK ||
          (err = arb_http_route_add(http, ARB_HTTP_GET, "/chain/anchors/", 0, anchors_handler,
                                    e)) != ARB_OK))) {
        free(e);
        return err;
    }
    *out = e;
    return ARB_OK;
}

void arb_explorer_free(arb_explorer *e)
{
    free(e);
}
