/* The log's HTTP routes. See routes.h. */
#include "ledger/log/routes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ledger/api/metrics.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/ratelimit.h"
#include "ledger/log/static.h"
#include "merkle/buf.h"
#include "merkle/tile.h"

#define DEFAULT_MAX_ENTRIES 256
#define MAX_BODY (1024 * 1024)
#define IMMUTABLE "Cache-Control: public, max-age=604800, immutable\r\n"

/* The submission policy, swapped as a whole on reload. Handlers hold a
 * reference while they validate, so a reload never frees roots in use. */
typedef struct {
    int refs;
    arb_ct_roots *roots; /* owned; NULL: no submissions */
    arb_ct_chain_opts chain;
    double rate;
    unsigned burst;
    char *log_list; /* owned; NULL: not served */
} policy;

struct arb_log_routes {
    arb_log_routes_config cfg; /* cfg.roots, cfg.chain, rate: see `pol` instead */
    arb_http_server *http;     /* for metrics */
    pthread_mutex_t mu;        /* guards pol and draining */
    policy *pol;
    int draining;
    uint64_t pending; /* submissions queued in the log, not answered yet */
    arb_ratelimit *rl;
    /* The log's storage failure counts already added to the counters. */
    uint64_t pub_write_failures, pub_recoveries;
};

/* Moves the count of submissions waiting in the sequencer (a gauge). */
static void pending_add(arb_log_routes *rt, int delta)
{
    uint64_t v;

    pthread_mutex_lock(&rt->mu);
    rt->pending = delta > 0 ? rt->pending + 1 : rt->pending - 1;
    v = rt->pending;
    arb_http_metric_set(rt->http, "log_submissions_pending", v);
    pthread_mutex_unlock(&rt->mu);
}

static void policy_unref(arb_log_routes *rt, policy *p)
{
    int last;

    if (p == NULL)
        return;
    pthread_mutex_lock(&rt->mu);
    last = --p->refs == 0;
    pthread_mutex_unlock(&rt->mu);
    if (last) {
        arb_ct_roots_free(p->roots);
        free(p->log_list);
        free(p);
    }
}

static policy *policy_get(arb_log_routes *rt, int *draining)
{
    policy *p;

    pthread_mutex_lock(&rt->mu);
    p = rt->pol;
    p->refs++;
    *draining = rt->draining;
    pthread_mutex_unlock(&rt->mu);
    return p;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A chain's validation takes a fraction of a millisecond; the usual latency
 * buckets start at 0.5 ms. */
static const double validate_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                          0.005,  0.01,    0.025,  0.1,   1};

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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

/* Brings counter `name` up to the log's running count `now` (the log keeps
 * the totals; the registry's counters only grow by deltas). Any thread. */
static void publish_count(arb_log_routes *rt, uint64_t *published, const char *name, uint64_t now)
{
    uint64_t was = __atomic_load_n(published, __ATOMIC_RELAXED);
    while (now > was) {
        if (__atomic_compare_exchange_n(published, &was, now, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            arb_http_metric_add(rt->http, name, now - was);
            return;
        }
    }
}

/* Counts a submission refused because the log cannot store (503), and
 * exports the log's storage health: a gauge (1 while failed) and two
 * counters (arbor_log_storage_write_failures_total, _recoveries_total). */
static void unavailable_metrics(arb_log_routes *rt)
{
    arb_log_health h;

    arb_log_get_health(rt->cfg.log, &h);
    arb_http_metric_add(rt->http, "log_submissions_unavailable", 1);
    arb_http_metric_set(rt->http, "log_storage_failed", (uint64_t)h.failed);
    publish_count(rt, &rt->pub_write_failures, "log_storage_write_failures", h.write_failures);
    publish_count(rt, &rt->pub_recoveries, "log_storage_recoveries", h.recoveries);
}

static void submitted(void *ud, arb_err err, const arb_ct_sct *sct, const char *msg)
{
    submission *sub = ud;
    arb_http_req *r = sub->req;
    arb_log_routes *rt = sub->rt;
    arb_log_sth sth;
    char *s;

    free(sub);
    pending_add(rt, -1);
    arb_log_get_sth(rt->cfg.log, &sth);
    arb_http_metric_set(rt->http, "log_tree_size", sth.tree_size);
    if (err != ARB_OK) {
        if (status_of(err) == 503)
            unavailable_metrics(rt);
        arb_http_respond_error(r, status_of(err), "log_store", msg ? msg : arb_err_str(err));
        return;
    }
    arb_http_metric_add(rt->http, "log_scts_issued", 1);
    arb_http_metric_set(rt->http, "log_storage_failed", 0);
    if ((s = arb_ct_json_sct(sct)) == NULL) {
        arb_http_respond_error(r, 500, "internal", "out of memory");
        return;
    }
    if (arb_http_respond(r, 200, NULL, NULL, s, strlen(s)) != ARB_OK) {
        /* connection closed */
    }
    free(s);
}

/* Counts a refused submission: the total and one counter per reason. */
static void count_rejected(arb_log_routes *rt, arb_ct_reject why)
{
    char name[64];

    arb_http_metric_add(rt->http, "log_submissions_rejected", 1);
    snprintf(name, sizeof(name), "log_rejected_%s", arb_ct_reject_name(why));
    arb_http_metric_add(rt->http, name, 1);
}

static void add_any(arb_log_routes *rt, arb_http_req *r, int precert)
{
    size_t len, max_certs, max_cert;
    const uint8_t *body = arb_http_req_body(r, &len);
    arb_ct_cert_list l;
    arb_ct_chain *chain = NULL;
    arb_ct_reject why = ARB_CT_REJECT_NONE;
    arb_errbuf eb;
    arb_err err;
    int draining;
    unsigned retry = 0;
    double t0;
    policy *pol = policy_get(rt, &draining);

    eb.msg[0] = 0;
    if (draining) {
        policy_unref(rt, pol);
        arb_http_metric_add(rt->http, "log_submissions_unavailable", 1);
        arb_http_respond_error(r, 503, "log_draining", "the log is shutting down");
        return;
    }
    if (pol->rate > 0 &&
        !arb_ratelimit_take(rt->rl, arb_http_req_peer(r), pol->rate, pol->burst, mono_ms(),
                            &retry)) {
        char hdr[64], msg[128];
        policy_unref(rt, pol);
        arb_http_metric_add(rt->http, "log_submissions_rate_limited", 1);
        snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n", retry);
        snprintf(msg, sizeof(msg),
                 "{\"error\":\"too many submissions from this address; retry after %u s\"}",
                 retry);
        if (arb_http_respond(r, 429, NULL, hdr, msg, strlen(msg)) != ARB_OK) {
            /* connection closed */
        }
        return;
    }
    if (pol->roots == NULL) {
        policy_unref(rt, pol);
        arb_http_respond_error(r, 503, "no_roots",
                               "this log accepts no submissions: it was started without roots "
                               "(arbord --log-roots FILE)");
        return;
    }
    {
        /* A log whose storage failed refuses before any work (it recovers by
         * itself; see log.h). */
        arb_log_health h;
        arb_log_get_health(rt->cfg.log, &h);
        if (h.failed) {
            policy_unref(rt, pol);
            unavailable_metrics(rt);
            arb_http_respond_error(r, 503, "log_store", h.reason);
            return;
        }
    }
    max_certs = pol->chain.max_chain_len ? pol->chain.max_chain_len : 10;
    max_cert = pol->chain.max_cert_size ? pol->chain.max_cert_size : 64 * 1024;
    if ((err = arb_ct_json_chain_parse(&l, (const char *)body, len, max_certs, max_cert, &eb)) !=
        ARB_OK) {
        policy_unref(rt, pol);
        count_rejected(rt, ARB_CT_REJECT_MALFORMED);
        arb_http_respond_error(r, status_of(err), "bad_request", eb.msg);
        return;
    }
    t0 = mono_s();
    err = arb_ct_chain_validate_why(&chain, &why, pol->roots, &pol->chain, precert, l.certs, l.n,
                                    &eb);
    arb_metrics_observe(arb_http_server_metrics(rt->http), "log_validate_seconds", NULL,
                        mono_s() - t0);
    arb_ct_json_chain_free(&l);
    policy_unref(rt, pol);
    if (err != ARB_OK) {
        count_rejected(rt, why);
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
        pending_add(rt, 1);
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
    int draining;
    policy *pol = policy_get(rt, &draining);
    json_t *o = json_object(), *arr = json_array();
    size_t i, n = pol->roots != NULL ? arb_ct_roots_count(pol->roots) : 0;

    for (i = 0; o != NULL && arr != NULL && i < n; i++) {
        const uint8_t *der;
        size_t len;
        char *s;
        arb_ct_roots_get(pol->roots, i, &der, &len);
        s = arb_base64_encode(der, len);
        if (s == NULL || json_array_append_new(arr, json_string(s)) != 0) {
            free(s);
            break;
        }
        free(s);
    }
    if (o == NULL || arr == NULL || i < n) {
        json_decref(o);
        json_decref(arr);
        o = NULL;
    } else {
        json_object_set_new(o, "certificates", arr);
    }
    policy_unref(rt, pol);
    respond_json(r, 200, o);
}

static void h_log_list(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    int draining;
    policy *pol = policy_get(rt, &draining);

    if (pol->log_list == NULL) {
        arb_http_respond_error(r, 404, "not_found", "no log list configured (log-url)");
    } else if (arb_http_respond(r, 200, "application/json", "Cache-Control: no-cache\r\n",
                                pol->log_list, strlen(pol->log_list)) != ARB_OK) {
        /* connection closed */
    }
    policy_unref(rt, pol);
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

/* Gives a data tile back once the server has written it. */
static void release_tile(void *ud)
{
    arb_log_tile_ref_release(ud);
}

/* The fast path of /tile/ (on the HTTP server's I/O thread): a full data tile the
 * log has cached is answered at once; anything else goes to h_tile. */
static int h_tile_fast(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    const char *path = arb_http_req_path(r) + 1; /* "tile/..." */
    arb_log_tile_ref *data = NULL;
    const uint8_t *body;
    size_t len = 0;
    arb_tile t;

    if (arb_tile_path_parse(&t, path, strlen(path)) != ARB_OK || t.kind != ARB_TILE_DATA ||
        t.width != ARB_TILE_WIDTH || arb_log_data_tile_cached(rt->cfg.log, t.index, &data) != ARB_OK)
        return 0;
    arb_http_metric_add(rt->http, "log_full_tiles_served", 1);
    body = arb_log_tile_ref_data(data, &len);
    if (arb_http_respond_shared(r, 200, "application/octet-stream", IMMUTABLE, body, len,
                                release_tile, data) != ARB_OK) {
        /* connection closed */
    }
    return 1;
}

static void h_tile(void *ud, arb_http_req *r)
{
    arb_log_routes *rt = ud;
    const char *path = arb_http_req_path(r) + 1; /* "tile/..." */
    arb_tile t;
    arb_log_tile_ref *data = NULL;
    uint8_t *out = NULL;
    const uint8_t *body;
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
        err = arb_log_data_tile_ref(rt->cfg.log, t.index, width, &data);
    else
        err = ARB_ERR_NOT_FOUND; /* tlog-tiles entry bundles are not served */
    if (err != ARB_OK) {
        arb_http_respond_error(r, err == ARB_ERR_INVALID_ARG ? 404 : status_of(err), "not_found",
                               "no such tile");
        return;
    }
    /* Counted so operators (and tests) see what a cache in front lets through. */
    arb_http_metric_add(rt->http, width == 0 ? "log_full_tiles_served" : "log_partial_tiles_served",
                        1);
    if (data != NULL) {
        /* A data tile is sent from the log's own copy (its cache of full
         * tiles), which the server gives back when it is written. */
        body = arb_log_tile_ref_data(data, &len);
        if (arb_http_respond_shared(r, 200, "application/octet-stream", IMMUTABLE, body, len,
                                    release_tile, data) != ARB_OK) {
            /* connection closed */
        }
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
    arb_http_metric_add(rt->http, "log_issuers_served", 1);
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
        {ARB_HTTP_GET, ARB_LOG_LIST_PATH, h_log_list},
    };
    arb_log_routes *rt;
    size_t i;
    arb_err err;

    *out = NULL;
    if ((rt = calloc(1, sizeof(*rt))) == NULL) {
        arb_ct_roots_free(cfg->roots);
        return ARB_ERR_NOMEM;
    }
    pthread_mutex_init(&rt->mu, NULL);
    rt->cfg = *cfg;
    rt->cfg.roots = NULL;
    rt->cfg.log_list = NULL;
    rt->http = s;
    if (arb_metrics_declare(arb_http_server_metrics(s), "log_validate_seconds",
                            ARB_METRIC_HISTOGRAM,
                            "Time to parse and verify a submitted chain (add-chain and "
                            "add-pre-chain), accepted or not.",
                            NULL, validate_buckets,
                            sizeof validate_buckets / sizeof *validate_buckets) != ARB_OK ||
        (rt->pol = calloc(1, sizeof(*rt->pol))) == NULL) {
        arb_ct_roots_free(cfg->roots);
        arb_log_routes_free(rt);
        return ARB_ERR_NOMEM;
    }
    rt->pol->refs = 1;
    if ((err = arb_log_routes_set_policy(rt, cfg->roots, &cfg->chain, cfg->rate_limit,
                                         cfg->rate_burst, cfg->log_list)) != ARB_OK ||
        (err = arb_ratelimit_new(&rt->rl, 0)) != ARB_OK) {
        arb_log_routes_free(rt);
        return err;
    }
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        err = arb_http_route_add(s, routes[i].m, routes[i].path,
                                 routes[i].m == ARB_HTTP_POST
                                     ? (cfg->max_body ? cfg->max_body : MAX_BODY)
                                     : 0, routes[i].fn, rt);
        if (err != ARB_OK) {
            arb_log_routes_free(rt);
            return err;
        }
    }
    /* Cached full data tiles are answered on the HTTP I/O thread. */
    if ((err = arb_http_route_set_fast(s, ARB_HTTP_GET, "/tile/", h_tile_fast)) != ARB_OK) {
        arb_log_routes_free(rt);
        return err;
    }
    *out = rt;
    return ARB_OK;
}

arb_err arb_log_routes_set_policy(arb_log_routes *r, arb_ct_roots *roots,
                                  const arb_ct_chain_opts *chain, double rate_limit,
                                  unsigned rate_burst, const char *log_list)
{
    policy *p = calloc(1, sizeof(*p)), *old;

    if (p == NULL || (log_list != NULL && (p->log_list = strdup(log_list)) == NULL)) {
        free(p);
        arb_ct_roots_free(roots);
        return ARB_ERR_NOMEM;
    }
    p->refs = 1;
    p->roots = roots;
    p->chain = *chain;
    p->rate = rate_limit > 0 ? rate_limit : 0;
    p->burst = rate_burst;
    if (p->rate > 0 && p->burst == 0)
        p->burst = p->rate < 1 ? 1 : p->rate > 1e6 ? 1000000u : (unsigned)(p->rate + 0.999999);
    pthread_mutex_lock(&r->mu);
    old = r->pol;
    r->pol = p;
    pthread_mutex_unlock(&r->mu);
    policy_unref(r, old);
    return ARB_OK;
}

size_t arb_log_routes_roots_count(arb_log_routes *r)
{
    size_t n;

    pthread_mutex_lock(&r->mu);
    n = r->pol != NULL && r->pol->roots != NULL ? arb_ct_roots_count(r->pol->roots) : 0;
    pthread_mutex_unlock(&r->mu);
    return n;
}

uint64_t arb_log_routes_drain(arb_log_routes *r)
{
    uint64_t pending;

    pthread_mutex_lock(&r->mu);
    r->draining = 1;
    pending = r->pending;
    pthread_mutex_unlock(&r->mu);
    return pending;
}

void arb_log_routes_free(arb_log_routes *r)
{
    if (r == NULL)
        return;
    policy_unref(r, r->pol);
    arb_ratelimit_free(r->rl);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
