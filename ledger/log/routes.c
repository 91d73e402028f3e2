/* The log's HTTP routes. See routes.h. */
#include "ledger/log/routes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ledger/log/ctjson.h"
#include "ledger/log/static.h"
#include "merkle/buf.h"
#include "merkle/tile.h"

#define DEFAULT_MAX_ENTRIES 256
#define MAX_BODY (1024 * 1024)
#define IMMUTABLE "Cache-Control: public, max-age=604800, immutable\r\n"

struct arb_log_routes {
    arb_log_routes_config cfg;
    arb_http_server *http; /* for metrics */
    /* cfg.roots may be replaced while workers read it (SIGHUP reload):
     * readers hold roots_lock shared while they use the roots. */
    pthread_rwlock_t roots_lock;
};

/* One submission in flight: the request and where to count the answer. */
typedef struct {
    arb_log_routes *rt;
    arb_http_req *req;
} submission;

/* jansson helpers ------------------------------------------------------- */

static void respond_json(arb_http_req *r, int status, json_t *obj)
{
    char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

    json_decref(obj);
    if (s == NULL) {
        arb_http_respond_error(r, 500, "internal", "out of memory");
        return;
    }
    if (arb_http_respond(r, status, NULL, NULL, s, strlen(s)) != ARB_OK) {
        /* the connection was closed; nothing more to do */
    }
    free(s);
}

static int set_b64(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    char *s = arb_base64_encode(p, n);
    int ok = s != NULL && json_object_set_new(obj, key, json_string(s)) == 0;

    free(s);
    return ok;
}

static json_t *hash_array(const arb_hash *h, size_t n)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr != NULL && i < n; i++) {
        char *s = arb_base64_encode(h[i].b, 32);
        if (s == NULL || json_array_append_new(arr, json_string(s)) != 0) {
            free(s);
            json_decref(arr);
            return NULL;
        }
        free(s);
    }
    return arr;
}

/* A required decimal query parameter (canonical, no sign). */
static int query_u64(arb_http_req *r, const char *name, uint64_t *out)
{
    const char *s = arb_http_req_query(r, name);
    uint64_t v = 0;
    size_t i, n;

    if (s == NULL || (n = strlen(s)) == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

static int status_of(arb_err err)
{
    switch (err) {
    case ARB_ERR_PARSE:
    case ARB_ERR_VERIFY:
    case ARB_ERR_INVALID_ARG:
        return 400;
    case ARB_ERR_NOT_FOUND:
        return 404;
    case ARB_ERR_IO:
    case ARB_ERR_DB:
    case ARB_ERR_BUSY:
        return 503;
    default:
        return 500;
    }
}

/* add-chain / add-pre-chain ------------------------------------------------ */

static void submitted(void *ud, arb_err err, const arb_ct_sct *sct, const char *msg)
{
    submission *sub = ud;
    arb_http_req *r = sub->req;
    arb_log_routes *rt = sub->rt;
    arb_log_sth sth;
    char *s;

    free(sub);
    arb_log_get_sth(rt->cfg.log, &sth);
    arb_http_metric_set(rt->http, "log_tree_size", sth.tree_size);
    if (err != ARB_OK) {
        arb_http_respond_error(r, status_of(err), "log_store", msg ? msg : arb_err_str(err));
        return;
    }
    arb_http_metric_add(rt->http, "log_scts_issued", 1);
    if ((s = arb_ct_json_sct(sct)) == NULL) {
        arb_http_respond_error(r, 500, "internal", "out of memory");
        return;
    }
    if (arb_http_respond(r, 200, NULL, NULL, s, strlen(s)) != ARB_OK) {
        /* connection closed */
    }
    free(s);
}

static void add_any(arb_log_routes *rt, arb_http_req *r, int precert)
{
    size_t len, max_certs = rt->cfg.chain.max_chain_len ? rt->cfg.chain.max_chain_len : 10;
    size_t max_cert = rt->cfg.chain.max_cert_size ? rt->cfg.chain.max_cert_size : 64 * 1024;
    const uint8_t *body = arb_http_req_body(r, &len);
    arb_ct_cert_list l;
    arb_ct_chain *chain = NULL;
    arb_errbuf eb;
    arb_err err;

    eb.msg[0] = 0;
    pthread_rwlock_rdlock(&rt->roots_lock);
    if (rt->cfg.roots == NULL) {
        pthread_rwlock_unlock(&rt->roots_lock);
        arb_http_respond_error(r, 503, "no_roots",
                               "this log accepts no submissions: it was started without roots "
                               "(arbord --log-roots FILE)");
        return;
    }
    if ((err = arb_ct_json_chain_parse(&l, (const char *)body, len, max_certs, max_cert, &eb)) !=
        ARB_OK) {
        pthread_rwlock_unlock(&rt->roots_lock);
        arb_http_metric_add(rt->http, "log_submissions_rejected", 1);
        arb_http_respond_error(r, status_of(err), "bad_request", eb.msg);
        return;
    }
    err = arb_ct_chain_validate(&chain, rt->cfg.roots, &rt->cfg.chain, precert, l.certs, l.n, &eb);
    pthread_rwlock_unlock(&rt->roots_lock);
    arb_ct_json_chain_free(&l);
    if (err != ARB_OK) {
        arb_http_metric_add(rt->http, "log_submissions_rejected", 1);
        arb_http_respond_error(r, status_of(err), "bad_chain", eb.msg);
        return;
    }
    {
        submission *sub = malloc(sizeof(*sub));
        if (sub == NULL) {
            arb_ct_chain_free(chain);
            arb_http_respond_error(r, 500, "internal", "out of memory");
            return;
        }
        sub->rt = rt;
        sub->req = r;
        arb_log_submit(rt->cfg.log, chain, submitted, sub);
    }
}

static void h_add_chain(void *ud, arb_http_req *r)
{
    add_any(ud, r, 0);
}

static void h_add_pre_chain(void *ud, arb_http_req *r)
{
    add_any(ud, r, 1);
}

/* reads ------------------------------------------------------------------- */

static void h_get_sth(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    arb_log_sth sth;
    json_t *o = json_object();

    arb_log_get_sth(rt->cfg.log, &sth);
    if (o == NULL || json_object_set_new(o, "tree_size", json_integer((json_int_t)sth.tree_size)) ||
        json_object_set_new(o, "timestamp", json_integer((json_int_t)sth.timestamp)) ||
        !set_b64(o, "sha256_root_hash", sth.root, 32) ||
        !set_b64(o, "tree_head_signature", sth.sig, sth.sig_len)) {
        json_decref(o);
        o = NULL;
    }
    respond_json(r, 200, o);
}

static void h_get_sth_consistency(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    uint64_t first, second;
    arb_log_sth sth;
    arb_hash *path = NULL;
    size_t n = 0;
    arb_err err;
    json_t *o;

    if (!query_u64(r, "first", &first) || !query_u64(r, "second", &second) || first > second) {
        arb_http_respond_error(r, 400, "bad_request", "need 0 <= first <= second");
        return;
    }
    arb_log_get_sth(rt->cfg.log, &sth);
    if (second > sth.tree_size) {
        arb_http_respond_error(r, 400, "bad_request", "second is beyond the current tree size");
        return;
    }
    if ((err = arb_log_consistency(rt->cfg.log, first, second, &path, &n)) != ARB_OK) {
        arb_http_respond_error(r, status_of(err), "proof", arb_err_str(err));
        return;
    }
    o = json_object();
    if (o == NULL || json_object_set_new(o, "consistency", hash_array(path, n))) {
        json_decref(o);
        o = NULL;
    }
    free(path);
    respond_json(r, 200, o);
}

static void h_get_proof_by_hash(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    const char *hs = arb_http_req_query(r, "hash");
    uint64_t size, index;
    uint8_t *h = NULL;
    size_t hl = 0, n = 0;
    arb_hash lh, *path = NULL;
    arb_log_sth sth;
    arb_err err;
    json_t *o;

    char fixed[64];
    size_t k;

    /* A client that did not percent-encode '+' sent it as a space. */
    if (hs != NULL && strlen(hs) < sizeof(fixed)) {
        for (k = 0; hs[k]; k++)
            fixed[k] = hs[k] == ' ' ? '+' : hs[k];
        fixed[k] = 0;
        hs = fixed;
    }
    if (hs == NULL || !query_u64(r, "tree_size", &size) ||
        arb_base64_decode(&h, &hl, hs, strlen(hs)) != ARB_OK || hl != 32) {
        free(h);
        arb_http_respond_error(r, 400, "bad_request", "need hash (base64 of 32 bytes) and tree_size");
        return;
    }
    memcpy(lh.b, h, 32);
    free(h);
    arb_log_get_sth(rt->cfg.log, &sth);
    if (size == 0 || size > sth.tree_size) {
        arb_http_respond_error(r, 400, "bad_request", "tree_size out of range");
        return;
    }
    if ((err = arb_log_find_leaf(rt->cfg.log, &lh, &index)) != ARB_OK) {
        arb_http_respond_error(r, status_of(err), "not_found", "no entry with that leaf hash");
        return;
    }
    if (index >= size) {
        arb_http_respond_error(r, 400, "bad_request", "the entry is not in a tree of that size");
        return;
    }
    if ((err = arb_log_inclusion(rt->cfg.log, index, size, &path, &n)) != ARB_OK) {
        arb_http_respond_error(r, status_of(err), "proof", arb_err_str(err));
        return;
    }
    o = json_object();
    if (o == NULL || json_object_set_new(o, "leaf_index", json_integer((json_int_t)index)) ||
        json_object_set_new(o, "audit_path", hash_array(path, n))) {
        json_decref(o);
        o = NULL;
    }
    free(path);
    respond_json(r, 200, o);
}

static json_t *entry_object(arb_log *log, uint64_t i, arb_err *err)
{
    uint8_t *leaf = NULL, *extra = NULL;
    size_t ll, el;
    json_t *o = NULL;

    if ((*err = arb_log_get_entry(log, i, &leaf, &ll, &extra, &el)) != ARB_OK)
        return NULL;
    o = json_object();
    if (o == NULL || !set_b64(o, "leaf_input", leaf, ll) || !set_b64(o, "extra_data", extra, el)) {
        json_decref(o);
        o = NULL;
        *err = ARB_ERR_NOMEM;
    }
    free(leaf);
    free(extra);
    return o;
}

typedef struct {
    arb_buf *b;
    uint64_t first;
} entries_ctx;

static arb_err put_entry(void *ud, uint64_t index, const uint8_t *leaf, size_t leaf_len,
                         const uint8_t *extra, size_t extra_len)
{
    entries_ctx *x = ud;

    if (index == x->first)
        arb_buf_put(x->b, "{\"leaf_input\":\"", 15);
    else
        arb_buf_put(x->b, ",{\"leaf_input\":\"", 16);
    arb_buf_base64(x->b, leaf, leaf_len);
    arb_buf_put(x->b, "\",\"extra_data\":\"", 16);
    arb_buf_base64(x->b, extra, extra_len);
    arb_buf_put(x->b, "\"}", 2);
    return x->b->oom ? ARB_ERR_NOMEM : ARB_OK;
}

static void h_get_entries(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    uint64_t start, end;
    size_t max = rt->cfg.max_get_entries ? rt->cfg.max_get_entries : DEFAULT_MAX_ENTRIES;
    arb_log_sth sth;
    arb_buf b = ARB_BUF_INIT;
    entries_ctx x;
    arb_err err = ARB_OK;

    if (!query_u64(r, "start", &start) || !query_u64(r, "end", &end) || start > end) {
        arb_http_respond_error(r, 400, "bad_request", "need 0 <= start <= end");
        return;
    }
    arb_log_get_sth(rt->cfg.log, &sth);
    if (start >= sth.tree_size) {
        arb_http_respond_error(r, 400, "bad_request", "start is beyond the current tree size");
        return;
    }
    if (end >= sth.tree_size)
        end = sth.tree_size - 1;
    if (end - start >= max)
        end = start + max - 1;
    /* Written directly: base64 needs no escaping, and building and dumping a
     * jansson tree of a few hundred kilobytes of strings costs far more than
     * reading the entries (every string is UTF-8 checked, then escaped one
     * character at a time). */
    arb_buf_put(&b, "{\"entries\":[", 12);
    x.b = &b;
    x.first = start;
    err = arb_log_get_entries(rt->cfg.log, start, end, put_entry, &x);
    arb_buf_put(&b, "]}", 2);
    if (err != ARB_OK || b.oom) {
        arb_buf_free(&b);
        arb_http_respond_error(r, status_of(err ? err : ARB_ERR_NOMEM), "entries",
                               "cannot read entries");
        return;
    }
    if (arb_http_respond(r, 200, NULL, NULL, (const char *)b.data, b.len) != ARB_OK) {
        /* the connection was closed; nothing more to do */
    }
    arb_buf_free(&b);
}

static void h_get_roots(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    json_t *o = json_object(), *arr = json_array();
    size_t i, n;

    pthread_rwlock_rdlock(&rt->roots_lock);
    n = rt->cfg.roots != NULL ? arb_ct_roots_count(rt->cfg.roots) : 0;

    for (i = 0; o != NULL && arr != NULL && i < n; i++) {
        const uint8_t *der;
        size_t len;
        char *s;
        arb_ct_roots_get(rt->cfg.roots, i, &der, &len);
        s = arb_base64_encode(der, len);
        if (s == NULL || json_array_append_new(arr, json_string(s)) != 0) {
            free(s);
            break;
        }
        free(s);
    }
    pthread_rwlock_unlock(&rt->roots_lock);
    if (o == NULL || arr == NULL || i < n) {
        json_decref(o);
        json_decref(arr);
        o = NULL;
    } else {
        json_object_set_new(o, "certificates", arr);
    }
    respond_json(r, 200, o);
}

static void h_get_entry_and_proof(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    uint64_t index, size;
    arb_log_sth sth;
    arb_hash *path = NULL;
    size_t n = 0;
    arb_err err;
    json_t *o;

    if (!query_u64(r, "leaf_index", &index) || !query_u64(r, "tree_size", &size) || index >= size) {
        arb_http_respond_error(r, 400, "bad_request", "need 0 <= leaf_index < tree_size");
        return;
    }
    arb_log_get_sth(rt->cfg.log, &sth);
    if (size > sth.tree_size) {
        arb_http_respond_error(r, 400, "bad_request", "tree_size is beyond the current tree size");
        return;
    }
    if ((o = entry_object(rt->cfg.log, index, &err)) == NULL) {
        arb_http_respond_error(r, status_of(err), "entries", arb_err_str(err));
        return;
    }
    if ((err = arb_log_inclusion(rt->cfg.log, index, size, &path, &n)) != ARB_OK) {
        json_decref(o);
        arb_http_respond_error(r, status_of(err), "proof", arb_err_str(err));
        return;
    }
    if (json_object_set_new(o, "audit_path", hash_array(path, n))) {
        json_decref(o);
        o = NULL;
    }
    free(path);
    respond_json(r, 200, o);
}

/* static-ct-api ------------------------------------------------------------- */

static void h_checkpoint(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    uint8_t *text = NULL;
    size_t len = 0;

    if (arb_log_get_checkpoint(rt->cfg.log, &text, &len) != ARB_OK) {
        arb_http_respond_error(r, 500, "internal", "out of memory");
        return;
    }
    if (arb_http_respond(r, 200, "text/plain; charset=utf-8", "Cache-Control: no-store\r\n", text,
                         len) != ARB_OK) {
        /* connection closed */
    }
    free(text);
}

static void h_tile(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    const char *path = arb_http_req_path(r) + 1; /* "tile/..." */
    arb_tile t;
    uint8_t *out = NULL;
    size_t len = 0;
    unsigned width;
    arb_err err;

    if (arb_tile_path_parse(&t, path, strlen(path)) != ARB_OK) {
        arb_http_respond_error(r, 400, "bad_request", "not a tile path");
        return;
    }
    width = t.width == ARB_TILE_WIDTH ? 0 : t.width;
    if (t.kind == ARB_TILE_HASH)
        err = arb_log_tile(rt->cfg.log, t.level, t.index, width, &out, &len);
    else if (t.kind == ARB_TILE_DATA)
        err = arb_log_data_tile(rt->cfg.log, t.index, width, &out, &len);
    else
        err = ARB_ERR_NOT_FOUND; /* tlog-tiles entry bundles are not served */
    if (err != ARB_OK) {
        arb_http_respond_error(r, err == ARB_ERR_INVALID_ARG ? 404 : status_of(err), "not_found",
                               "no such tile");
        return;
    }
    if (arb_http_respond(r, 200, "application/octet-stream", IMMUTABLE, out, len) != ARB_OK) {
        /* connection closed */
    }
    free(out);
}

static void h_issuer(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    const char *hex = arb_http_req_path(r) + strlen("/issuer/");
    uint8_t fp[32], *der = NULL;
    size_t len = 0;
    arb_err err;

    if (strlen(hex) != 64 || !arb_hex_decode(fp, 32, hex, 64)) {
        arb_http_respond_error(r, 400, "bad_request", "need a hex SHA-256 fingerprint");
        return;
    }
    if ((err = arb_log_issuer(rt->cfg.log, fp, &der, &len)) != ARB_OK) {
        arb_http_respond_error(r, status_of(err), "not_found", "no such issuer");
        return;
    }
    if (arb_http_respond(r, 200, "application/pkix-cert", IMMUTABLE, der, len) != ARB_OK) {
        /* connection closed */
    }
    free(der);
}

arb_err arb_log_routes_add(arb_log_routes **out, arb_http_server *s, const arb_log_routes_config *cfg)
{
    static const struct {
        arb_http_method m;
        const char *path;
        arb_http_handler fn;
    } routes[] = {
        {ARB_HTTP_POST, "/ct/v1/add-chain", h_add_chain},
        {ARB_HTTP_POST, "/ct/v1/add-pre-chain", h_add_pre_chain},
        {ARB_HTTP_GET, "/ct/v1/get-sth", h_get_sth},
        {ARB_HTTP_GET, "/ct/v1/get-sth-consistency", h_get_sth_consistency},
        {ARB_HTTP_GET, "/ct/v1/get-proof-by-hash", h_get_proof_by_hash},
        {ARB_HTTP_GET, "/ct/v1/get-entries", h_get_entries},
        {ARB_HTTP_GET, "/ct/v1/get-roots", h_get_roots},
        {ARB_HTTP_GET, "/ct/v1/get-entry-and-proof", h_get_entry_and_proof},
        {ARB_HTTP_GET, "/checkpoint", h_checkpoint},
        {ARB_HTTP_GET, "/tile/", h_tile},
        {ARB_HTTP_GET, "/issuer/", h_issuer},
    };
    arb_log_routes *rt;
    size_t i;
    arb_err err;

    *out = NULL;
    if ((rt = calloc(1, sizeof(*rt))) == NULL)
        return ARB_ERR_NOMEM;
    rt->cfg = *cfg;
    rt->http = s;
    if (pthread_rwlock_init(&rt->roots_lock, NULL) != 0) {
        free(rt);
        return ARB_ERR_NOMEM;
    }
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        err = arb_http_route_add(s, routes[i].m, routes[i].path,
                                 routes[i].m == ARB_HTTP_POST
                                     ? (cfg->max_body ? cfg->max_body : MAX_BODY)
                                     : 0, routes[i].fn, rt);
        if (err != ARB_OK) {
            pthread_rwlock_destroy(&rt->roots_lock);
            free(rt);
            return err;
        }
    }
    *out = rt;
    return ARB_OK;
}

const arb_ct_roots *arb_log_routes_set_roots(arb_log_routes *r, const arb_ct_roots *roots)
{
    const arb_ct_roots *old;

    pthread_rwlock_wrlock(&r->roots_lock);
    old = r->cfg.roots;
    r->cfg.roots = roots;
    pthread_rwlock_unlock(&r->roots_lock);
    return old;
}

void arb_log_routes_free(arb_log_routes *r)
{
    if (r != NULL)
        pthread_rwlock_destroy(&r->roots_lock);
    free(r);
}
