/* The HTTP server: libwebsockets on one service thread, handlers on a pool of
 * worker threads. See http.h for the contract and docs/http.md for the design.
 *
 * Lifetime of a request (arb_http_req). It is created on the service thread
 * when the request line and headers are in, and holds up to two references:
 *   - the connection's: dropped when the response has been written, or when the
 *     connection closes first (conn_gone is then set and wsi cleared);
 *   - the handler's: taken when the request is handed to a worker, dropped by
 *     the service thread after it has taken the response off the done queue, or
 *     at once by arb_http_respond if the connection is already gone.
 * The request is freed when both are gone, so a handler can respond from any
 * thread at any time, even after its client hung up. All reference counts and
 * the queues are guarded by s->mu. Only the service thread touches lws. */
#include "ledger/api/http.h"

#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ledger/api/http_internal.h"
#include "ledger/api/http_ws_internal.h"

#define DEFAULT_MAX_BODY (1u << 20)
#define DEFAULT_MAX_HEADER 8192
#define WRITE_CHUNK (256 * 1024)
#define HDR_ROOM 4096
#define MAX_METRICS 256
#define METRIC_NAME_MAX 96

struct route {
    arb_http_method m;
    const char *path;
    size_t plen;
    int prefix;
    size_t max_body;
    arb_http_handler fn;
    arb_http_fast_handler fast; /* NULL: none */
    void *ud;
};

struct arb_http_req {
    arb_http_server *s;
    struct lws *wsi; /* service thread only; NULL once the connection is gone */
    arb_http_method method;
    char *path;
    char peer[64];
    arb_http_query query;
    uint8_t *body;
    size_t body_len, body_cap, max_body;
    const struct route *route;

    int refs;       /* under s->mu */
    int conn_gone;  /* under s->mu */
    int responded;  /* under s->mu */
    int dispatched; /* service thread */

    /* The response, written by arb_http_respond before `responded` is set. */
    int status;
    char *ctype;
    char *extra;
    uint8_t *rbody;       /* owned copy (arb_http_respond) */
    const uint8_t *rdata; /* what is sent: rbody, or a shared body */
    void (*rrelease)(void *); /* arb_http_respond_shared: gives the shared body back */
    void *rrelease_ud;
    size_t rlen, roff;
    int hdr_sent, close_after, close_pending;

    arb_http_req *next; /* link in the job or the done queue */
};

struct metric {
    char name[METRIC_NAME_MAX];
    uint64_t v;
    int gauge;
};

struct pss {
    arb_http_req *req;
};

struct arb_http_server {
    arb_http_config cfg;
    char host[64];
    struct route *routes;
    size_t nroutes;
    size_t max_header;
    int timeout_s;

    struct lws_context *ctx;
    struct lws_protocols *protocols;
    pthread_t svc;
    pthread_t *workers;
    int nworkers, nworkers_started, svc_started;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    arb_http_req *job_head, *job_tail;
    arb_http_req *done_head, *done_tail;
    int stopping;  /* under mu: workers take no more jobs */
    int ctx_alive; /* under mu: lws_cancel_service may be called */
    atomic_int svc_stop;
    int stopped;
    int port;
    long live_reqs; /* under mu */

    uint8_t *wbuf; /* service thread scratch: LWS_PRE + WRITE_CHUNK + HDR_ROOM */
    char *fragbuf; /* service thread scratch for query fragments */
    size_t fragcap;
    int writing; /* service thread: responses being written */

    pthread_mutex_t mmu;
    struct metric metrics[MAX_METRICS];
    size_t nmetrics;

    time_t started_at;
    arb_http_ws_hub *ws; /* websocket extension, NULL if unused */
};

/* ---------------------------------------------------------------- metrics */

static int metric_name_ok(const char *name)
{
    size_t n = 0;
    if (name == NULL || !*name)
        return 0;
    for (const char *p = name; *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (n > 0 && *p >= '0' && *p <= '9')))
            return 0;
    return n < METRIC_NAME_MAX;
}

static void metric_update(arb_http_server *s, const char *name, uint64_t v, int gauge)
{
    size_t i;
    if (!metric_name_ok(name))
        return;
    pthread_mutex_lock(&s->mmu);
    for (i = 0; i < s->nmetrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0)
            break;
    if (i == s->nmetrics) {
        if (i == MAX_METRICS) {
            pthread_mutex_unlock(&s->mmu);
            return;
        }
        snprintf(s->metrics[i].name, sizeof s->metrics[i].name, "%s", name);
        s->metrics[i].v = 0;
        s->metrics[i].gauge = gauge;
        s->nmetrics++;
    }
    if (gauge)
        s->metrics[i].v = v;
    else
        s->metrics[i].v += v;
    pthread_mutex_unlock(&s->mmu);
}

void arb_http_metric_add(arb_http_server *s, const char *name, uint64_t delta)
{
    metric_update(s, name, delta, 0);
}

void arb_http_metric_set(arb_http_server *s, const char *name, uint64_t value)
{
    metric_update(s, name, value, 1);
}

static char *metrics_text(arb_http_server *s, size_t *len)
{
    size_t cap = 256, n = 0;
    char *out;

    pthread_mutex_lock(&s->mmu);
    cap += s->nmetrics * (2 * METRIC_NAME_MAX + 64);
    out = malloc(cap);
    if (out != NULL) {
        int w = snprintf(out, cap, "# TYPE arbor_uptime_seconds gauge\narbor_uptime_seconds %lld\n",
                         (long long)(time(NULL) - s->started_at));
        n = w > 0 ? (size_t)w : 0;
        for (size_t i = 0; i < s->nmetrics && n < cap; i++) {
            const struct metric *m = &s->metrics[i];
            w = snprintf(out + n, cap - n, "# TYPE arbor_%s %s\narbor_%s %llu\n", m->name,
                         m->gauge ? "gauge" : "counter", m->name, (unsigned long long)m->v);
            if (w < 0)
                break;
            n += (size_t)w;
        }
        if (n >= cap)
            n = cap - 1;
    }
    pthread_mutex_unlock(&s->mmu);
    *len = n;
    return out;
}

/* ---------------------------------------------------------------- requests */

static void req_free(arb_http_req *r)
{
    arb_http_query_clear(&r->query);
    free(r->path);
    free(r->body);
    free(r->ctype);
    free(r->extra);
    free(r->rbody);
    if (r->rrelease != NULL)
        r->rrelease(r->rrelease_ud);
    free(r);
}

/* Drops one reference; frees on the last. Caller holds s->mu. */
static void req_unref_locked(arb_http_req *r)
{
    if (--r->refs == 0) {
        r->s->live_reqs--;
        req_free(r);
    }
}

static void req_unref(arb_http_req *r)
{
    arb_http_server *s = r->s;
    pthread_mutex_lock(&s->mu);
    req_unref_locked(r);
    pthread_mutex_unlock(&s->mu);
}

arb_http_method arb_http_req_method(const arb_http_req *r)
{
    return r->method;
}

const char *arb_http_req_path(const arb_http_req *r)
{
    return r->path;
}

const char *arb_http_req_query(const arb_http_req *r, const char *name)
{
    return arb_http_query_get(&r->query, name);
}

const uint8_t *arb_http_req_body(const arb_http_req *r, size_t *len)
{
    *len = r->body_len;
    return r->body ? r->body : (const uint8_t *)"";
}

const char *arb_http_req_peer(const arb_http_req *r)
{
    return r->peer;
}

arb_http_server *arb_http_req_server(const arb_http_req *r)
{
    return r->s;
}

static char *dup_str(const char *p)
{
    size_t n = strlen(p) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, p, n);
    return d;
}

/* Fills in the response fields. Returns ARB_OK or ARB_ERR_NOMEM (then the
 * response becomes an empty 500 that closes the connection). */
static arb_err set_response(arb_http_req *r, int status, const char *ctype, const char *extra,
                            const void *body, size_t len)
{
    r->status = status;
    r->ctype = dup_str(ctype ? ctype : "application/json");
    r->extra = extra && *extra ? dup_str(extra) : NULL;
    r->rbody = len ? malloc(len) : NULL;
    if (r->ctype == NULL || (extra && *extra && r->extra == NULL) || (len && r->rbody == NULL)) {
        free(r->ctype);
        free(r->extra);
        free(r->rbody);
        r->ctype = r->extra = NULL;
        r->rbody = NULL;
        r->rlen = 0;
        r->status = 500;
        r->close_after = 1;
        return ARB_ERR_NOMEM;
    }
    if (len)
        memcpy(r->rbody, body, len);
    r->rdata = r->rbody;
    r->rlen = len;
    return ARB_OK;
}

/* Queues the response. A shared body (release != NULL) is sent without a
 * copy and given back by req_free. */
static arb_err respond(arb_http_req *r, int status, const char *content_type,
                       const char *extra_headers, const void *body, size_t len,
                       void (*release)(void *), void *release_ud)
{
    arb_http_server *s = r->s;
    arb_err err;

    if (status < 200 || status > 599) /* 1xx would break the framing; not ours to send */
        status = 500;
    pthread_mutex_lock(&s->mu);
    if (r->responded) {
        pthread_mutex_unlock(&s->mu);
        if (release != NULL)
            release(release_ud);
        return ARB_ERR_INVALID_ARG;
    }
    pthread_mutex_unlock(&s->mu);

    if (release != NULL) {
        err = set_response(r, status, content_type, extra_headers, NULL, 0);
        r->rrelease = release;
        r->rrelease_ud = release_ud;
        if (err == ARB_OK) {
            r->rdata = body;
            r->rlen = len;
        }
    } else {
        err = set_response(r, status, content_type, extra_headers, body, len);
    }

    pthread_mutex_lock(&s->mu);
    r->responded = 1;
    if (r->conn_gone || !s->ctx_alive) {
        /* Nobody to write to: drop the handler's reference. */
        req_unref_locked(r);
        pthread_mutex_unlock(&s->mu);
        return err;
    }
    r->next = NULL;
    if (s->done_tail)
        s->done_tail->next = r;
    else
        s->done_head = r;
    s->done_tail = r;
    lws_cancel_service(s->ctx);
    pthread_mutex_unlock(&s->mu);
    return err;
}

arb_err arb_http_respond(arb_http_req *r, int status, const char *content_type,
                         const char *extra_headers, const void *body, size_t len)
{
    return respond(r, status, content_type, extra_headers, body, len, NULL, NULL);
}

arb_err arb_http_respond_shared(arb_http_req *r, int status, const char *content_type,
                                const char *extra_headers, const void *body, size_t len,
                                void (*release)(void *), void *release_ud)
{
    return respond(r, status, content_type, extra_headers, body, len, release, release_ud);
}

/* Appends `msg` to out as a JSON string body {"error": "..."}. */
static size_t json_error_body(char *out, size_t cap, const char *msg)
{
    size_t n = 0;
    const char *hex = "0123456789abcdef";

    n += (size_t)snprintf(out, cap, "{\"error\":\"");
    for (const unsigned char *p = (const unsigned char *)msg; *p && n + 8 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p;
        } else if (*p < 0x20) {
            out[n++] = '\\';
            out[n++] = 'u';
            out[n++] = '0';
            out[n++] = '0';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        } else {
            out[n++] = (char)*p;
        }
    }
    if (n + 3 > cap)
        n = cap - 3;
    out[n++] = '"';
    out[n++] = '}';
    out[n] = '\0';
    return n;
}

static void count_error(arb_http_server *s, const char *counter)
{
    char name[METRIC_NAME_MAX];
    snprintf(name, sizeof name, "http_errors_%s", metric_name_ok(counter) ? counter : "other");
    arb_http_metric_add(s, name, 1);
}

arb_err arb_http_respond_error(arb_http_req *r, int status, const char *counter, const char *msg)
{
    char body[512];
    size_t n = json_error_body(body, sizeof body, msg ? msg : "");
    count_error(r->s, counter);
    return arb_http_respond(r, status, NULL, NULL, body, n);
}

/* ---------------------------------------------------------------- workers */

static void *worker_main(void *arg)
{
    arb_http_server *s = arg;

    for (;;) {
        arb_http_req *r;
        pthread_mutex_lock(&s->mu);
        while (s->job_head == NULL && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        r = s->job_head;
        s->job_head = r->next;
        if (s->job_head == NULL)
            s->job_tail = NULL;
        pthread_mutex_unlock(&s->mu);
        r->route->fn(r->route->ud, r);
    }
}

static void drain_done(arb_http_server *s);

/* Hands the request to a worker (service thread), unless the route's fast
 * path answers it here. */
static void dispatch(arb_http_server *s, arb_http_req *r)
{
    r->dispatched = 1;
    arb_http_metric_add(s, "http_requests", 1);
    pthread_mutex_lock(&s->mu);
    r->refs++; /* the handler's */
    pthread_mutex_unlock(&s->mu);
    if (r->route->fast != NULL && r->route->fast(r->route->ud, r)) {
        drain_done(s); /* the answer is on the done queue: take it now */
        return;
    }
    pthread_mutex_lock(&s->mu);
    r->next = NULL;
    if (s->job_tail)
        s->job_tail->next = r;
    else
        s->job_head = r;
    s->job_tail = r;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Answers on the service thread without a worker (404, 405, 413, 400). */
static void respond_local(arb_http_req *r, int status, const char *counter, const char *msg,
                          const char *extra, int close_after)
{
    char body[512];
    size_t n = json_error_body(body, sizeof body, msg);

    r->dispatched = 1;
    count_error(r->s, counter);
    (void)set_response(r, status, NULL, extra, body, n);
    r->close_after |= close_after;
    pthread_mutex_lock(&r->s->mu);
    r->responded = 1;
    pthread_mutex_unlock(&r->s->mu);
    lws_callback_on_writable(r->wsi);
}

/* ---------------------------------------------------------------- routing */

static int route_matches(const struct route *rt, const char *path)
{
    if (rt->prefix)
        return strncmp(path, rt->path, rt->plen) == 0;
    return strcmp(path, rt->path) == 0;
}

/* Finds the route; on failure returns NULL and fills allow (for a 405) or
 * leaves it empty (for a 404). */
static const struct route *route_find(arb_http_server *s, arb_http_method m, const char *path,
                                      char *allow, size_t allow_cap)
{
    const struct route *best = NULL;
    int seen_get = 0, seen_post = 0;

    allow[0] = '\0';
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct route *rt = &s->routes[i];
        if (!route_matches(rt, path))
            continue;
        if (rt->m == ARB_HTTP_GET)
            seen_get = 1;
        else
            seen_post = 1;
        if (rt->m == m && (best == NULL || rt->plen > best->plen))
            best = rt;
    }
    if (best == NULL && (seen_get || seen_post))
        snprintf(allow, allow_cap, "Allow: %s%s%s\r\n", seen_get ? "GET" : "",
                 seen_get && seen_post ? ", " : "", seen_post ? "POST" : "");
    return best;
}

static long long header_ll(struct lws *wsi, enum lws_token_indexes h, int *present)
{
    char buf[32], *end;
    long long v;
    int n = lws_hdr_total_length(wsi, h);

    *present = n > 0;
    if (n <= 0)
        return 0;
    if (n >= (int)sizeof buf || lws_hdr_copy(wsi, buf, sizeof buf, h) < 0)
        return -1;
    v = strtoll(buf, &end, 10);
    if (end == buf || *end != '\0' || v < 0)
        return -1;
    return v;
}

/* Reads the URL arguments lws has split and decoded into fragments. */
static int read_query(arb_http_server *s, struct lws *wsi, arb_http_req *r)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);

    if (total <= 0)
        return 1;
    if ((size_t)total + 1 > s->fragcap) {
        char *nb = realloc(s->fragbuf, (size_t)total + 1);
        if (nb == NULL)
            return 0;
        s->fragbuf = nb;
        s->fragcap = (size_t)total + 1;
    }
    for (int i = 0;; i++) {
        int n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        n = lws_hdr_copy_fragment(wsi, s->fragbuf, (int)s->fragcap, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (arb_http_query_add_decoded(&r->query, s->fragbuf, (size_t)n) != ARB_OK)
            return 0;
    }
    return 1;
}

/* LWS_CALLBACK_HTTP: a request line and headers are in. */
static int on_http(arb_http_server *s, struct lws *wsi, struct pss *pss, const char *in, size_t len)
{
    arb_http_req *r;
    char *uri = NULL, allow[64];
    int ulen = 0, meth, has_cl, chunked;
    long long cl;

    if (pss->req != NULL) { /* should not happen: a new request before the last finished */
        pthread_mutex_lock(&s->mu);
        pss->req->conn_gone = 1;
        pss->req->wsi = NULL;
        req_unref_locked(pss->req);
        pthread_mutex_unlock(&s->mu);
        pss->req = NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    r->s = s;
    r->wsi = wsi;
    r->refs = 1;
    pthread_mutex_lock(&s->mu);
    s->live_reqs++;
    pthread_mutex_unlock(&s->mu);
    pss->req = r;

    lws_get_peer_simple(wsi, r->peer, sizeof r->peer);
    meth = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    r->method = meth == LWSHUMETH_POST ? ARB_HTTP_POST : ARB_HTTP_GET;
    r->path = malloc(len + 1);
    if (r->path == NULL)
        return -1;
    memcpy(r->path, in ? in : "", in ? len : 0);
    r->path[in ? len : 0] = '\0';
    if (strlen(r->path) != (in ? len : 0) || r->path[0] != '/') {
        respond_local(r, 400, "bad_request", "bad request path", NULL, 1);
        return 0;
    }
    if (!read_query(s, wsi, r)) {
        arb_http_query_clear(&r->query);
        respond_local(r, 400, "bad_query", "bad query string", NULL, 1);
        return 0;
    }
    if (meth != LWSHUMETH_GET && meth != LWSHUMETH_POST) {
        route_find(s, (arb_http_method)0, r->path, allow, sizeof allow);
        if (allow[0])
            respond_local(r, 405, "method_not_allowed", "method not allowed", allow, 1);
        else
            respond_local(r, 404, "not_found", "not found", NULL, 1);
        return 0;
    }
    r->route = route_find(s, r->method, r->path, allow, sizeof allow);
    cl = header_ll(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, &has_cl);
    chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    if (cl < 0) {
        respond_local(r, 400, "bad_request", "bad content-length", NULL, 1);
        return 0;
    }
    if (r->route == NULL) {
        if (allow[0])
            respond_local(r, 405, "method_not_allowed", "method not allowed", allow,
                          cl > 0 || chunked);
        else
            respond_local(r, 404, "not_found", "not found", NULL, cl > 0 || chunked);
        return 0;
    }
    if (chunked) {
        /* libwebsockets 4.1 hands chunked request bodies over undecoded and
         * never signals their end: require a Content-Length (RFC 9110 15.5.12). */
        respond_local(r, 411, "length_required", "a Content-Length is required", NULL, 1);
        return 0;
    }
    if (r->method == ARB_HTTP_GET) {
        if (cl > 0 || chunked) {
            respond_local(r, 400, "bad_request", "GET with a body", NULL, 1);
            return 0;
        }
        dispatch(s, r);
        return 0;
    }
    r->max_body = r->route->max_body ? r->route->max_body : s->cfg.max_body_default;
    if ((unsigned long long)cl > r->max_body) {
        respond_local(r, 413, "body_too_large", "request body too large", NULL, 1);
        return 0;
    }
    if (cl == 0 && !chunked) {
        dispatch(s, r);
        return 0;
    }
    /* "Expect: 100-continue" (RFC 9110 10.1.1): the client waits for a go-ahead
     * before sending the body; libwebsockets does not send one, so we do. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_EXPECT) > 0) {
        char ex[32];
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (lws_hdr_copy(wsi, ex, sizeof ex, WSI_TOKEN_HTTP_EXPECT) > 0 &&
            strcasecmp(ex, "100-continue") == 0) {
            memcpy(s->wbuf + LWS_PRE, cont, sizeof cont - 1);
            if (lws_write(wsi, s->wbuf + LWS_PRE, sizeof cont - 1,
                          LWS_WRITE_HTTP_HEADERS_CONTINUATION) < 0)
                return -1;
        }
    }
    r->body_cap = cl > 0 ? (size_t)cl : 4096;
    if (r->body_cap > r->max_body)
        r->body_cap = r->max_body;
    r->body = malloc(r->body_cap ? r->body_cap : 1);
    if (r->body == NULL)
        return -1;
    return 0;
}

static int on_body(arb_http_server *s, struct pss *pss, const void *in, size_t len)
{
    arb_http_req *r = pss->req;

    if (r == NULL || r->dispatched)
        return 0;
    if (len > r->max_body - r->body_len) {
        respond_local(r, 413, "body_too_large", "request body too large", NULL, 1);
        return 0;
    }
    if (r->body_len + len > r->body_cap) {
        size_t nc = r->body_cap * 2 > r->body_len + len ? r->body_cap * 2 : r->body_len + len;
        uint8_t *nb;
        if (nc > r->max_body)
            nc = r->max_body;
        nb = realloc(r->body, nc);
        if (nb == NULL)
            return -1;
        r->body = nb;
        r->body_cap = nc;
    }
    memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
    (void)s;
    return 0;
}

/* Adds the caller's "Name: value\r\n" lines. Returns 0, or -1 on a malformed
 * line or lack of room. */
static int add_extra_headers(struct lws *wsi, const char *extra, unsigned char **p,
                             unsigned char *end)
{
    char name[128];

    while (extra && *extra) {
        const char *colon = strchr(extra, ':'), *eol = strstr(extra, "\r\n"), *v;
        size_t nlen;
        if (eol == NULL)
            eol = extra + strlen(extra);
        if (colon == NULL || colon > eol || (nlen = (size_t)(colon - extra)) == 0 ||
            nlen + 2 > sizeof name)
            return -1;
        memcpy(name, extra, nlen);
        name[nlen] = ':';
        name[nlen + 1] = '\0';
        v = colon + 1;
        while (v < eol && *v == ' ')
            v++;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)v,
                                        (int)(eol - v), p, end))
            return -1;
        extra = *eol ? eol + 2 : eol;
    }
    return 0;
}

/* LWS_CALLBACK_HTTP_WRITEABLE: writes the headers, then the body in chunks.
 * Returns what the callback should return. */
static int on_writeable(arb_http_server *s, struct lws *wsi, struct pss *pss)
{
    arb_http_req *r = pss->req;
    int ready, close_after;

    if (r == NULL)
        return 0;
    pthread_mutex_lock(&s->mu);
    ready = r->responded;
    pthread_mutex_unlock(&s->mu);
    if (!ready)
        return 0;

    if (r->close_pending) {
        /* fall through to the end */
    } else if (!r->hdr_sent) {
        unsigned char *start = s->wbuf + LWS_PRE, *p = start,
                      *end = s->wbuf + LWS_PRE + WRITE_CHUNK + HDR_ROOM - 1;
        if (lws_add_http_common_headers(wsi, (unsigned)r->status,
                                        r->ctype ? r->ctype : "application/json",
                                        (lws_filepos_t)r->rlen, &p, end) ||
            add_extra_headers(wsi, r->extra, &p, end) ||
            (r->close_after &&
             lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                          (const unsigned char *)"close", 5, &p, end)) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        r->hdr_sent = 1;
        s->writing++;
        if (r->rlen > 0) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else if (r->roff < r->rlen) {
        size_t chunk = r->rlen - r->roff;
        int final;
        if (chunk > WRITE_CHUNK)
            chunk = WRITE_CHUNK;
        final = r->roff + chunk == r->rlen;
        memcpy(s->wbuf + LWS_PRE, r->rdata + r->roff, chunk);
        if (lws_write(wsi, s->wbuf + LWS_PRE, chunk, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
            0)
            return -1;
        r->roff += chunk;
        if (!final) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    /* Done. A response that ends the connection waits for one more writeable
     * callback, which lws gives only once its own send buffer is drained, so
     * the close does not cut the response short. */
    if (r->close_after && !r->close_pending) {
        r->close_pending = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    /* Release the connection's reference and get ready for the next request. */
    s->writing--;
    close_after = r->close_after;
    pss->req = NULL;
    req_unref(r);
    arb_http_metric_add(s, "http_responses", 1);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void on_closed(arb_http_server *s, struct pss *pss)
{
    arb_http_req *r;
    if (pss == NULL || (r = pss->req) == NULL)
        return;
    pss->req = NULL;
    if (r->hdr_sent)
        s->writing--;
    /* The client went away before its response was fully written. */
    arb_http_metric_add(s, "http_responses_dropped", 1);
    pthread_mutex_lock(&s->mu);
    r->conn_gone = 1;
    r->wsi = NULL;
    req_unref_locked(r);
    pthread_mutex_unlock(&s->mu);
}

/* Takes the answered requests off the done queue and asks lws for a write. */
static void drain_done(arb_http_server *s)
{
    arb_http_req *r;

    pthread_mutex_lock(&s->mu);
    r = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    /* conn_gone and wsi change only on this thread, so they can be read
     * without the lock; the lock is needed for the reference count. */
    while (r != NULL) {
        arb_http_req *next = r->next;
        if (!r->conn_gone)
            lws_callback_on_writable(r->wsi);
        req_unref(r); /* the handler's reference */
        r = next;
    }
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    arb_http_server *s = lws_context_user(lws_get_context(wsi));
    struct pss *pss = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(s, wsi, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(s, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss->req != NULL && !pss->req->dispatched)
            dispatch(s, pss->req);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(s, wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        on_closed(s, pss);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain_done(s);
        if (s->ws)
            arb_http_ws_hub_service(s->ws);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return -1; /* a websocket without a registered subprotocol */
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---------------------------------------------------------------- built-in routes */

static void metrics_handler(void *ud, arb_http_req *req)
{
    arb_http_server *s = ud;
    size_t n;
    char *text = metrics_text(s, &n);
    if (text == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, 200, "text/plain; version=0.0.4", NULL, text, n);
    free(text);
}

/* ---------------------------------------------------------------- server */

/* Tries to bind host:port before handing it to lws, for a clear error (and
 * because lws's own failure path leaks a little). Returns 0 or an errno. */
static int probe_bind(const char *host, int port)
{
    struct addrinfo hints, *ai = NULL;
    char sport[16];
    int fd, err = 0, one = 1;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    snprintf(sport, sizeof sport, "%d", port);
    if (getaddrinfo(host, sport, &hints, &ai) != 0 || ai == NULL)
        return EINVAL;
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0) {
        err = errno;
    } else {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
            err = errno;
        close(fd);
    }
    freeaddrinfo(ai);
    return err;
}

arb_err arb_http_server_new(arb_http_server **out, const arb_http_config *cfg)
{
    arb_http_server *s;

    *out = NULL;
    if (cfg == NULL || cfg->port < 0 || cfg->port > 65535 || cfg->workers < 0 ||
        (cfg->listen_host && strlen(cfg->listen_host) >= 64))
        return ARB_ERR_INVALID_ARG;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return ARB_ERR_NOMEM;
    s->cfg = *cfg;
    snprintf(s->host, sizeof s->host, "%s", cfg->listen_host ? cfg->listen_host : "127.0.0.1");
    s->cfg.listen_host = s->host;
    if (s->cfg.max_body_default == 0)
        s->cfg.max_body_default = DEFAULT_MAX_BODY;
    s->max_header = DEFAULT_MAX_HEADER;
    s->timeout_s = 30;
    if (s->cfg.workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.workers = n > 2 ? (int)(2 * n) : 4;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->mmu, NULL);
    pthread_cond_init(&s->cv, NULL);
    atomic_init(&s->svc_stop, 0);
    s->started_at = time(NULL);
    *out = s;
    return ARB_OK;
}

arb_err arb_http_server_set_limits(arb_http_server *s, size_t max_header, int timeout_s)
{
    if (s == NULL || s->ctx != NULL || s->stopped || max_header > 65535 || timeout_s < 0 ||
        (max_header != 0 && max_header < 256))
        return ARB_ERR_INVALID_ARG;
    s->max_header = max_header ? max_header : DEFAULT_MAX_HEADER;
    s->timeout_s = timeout_s ? timeout_s : 30;
    return ARB_OK;
}

arb_err arb_http_route_add(arb_http_server *s, arb_http_method m, const char *path,
                           size_t max_body, arb_http_handler fn, void *ud)
{
    struct route *nr;

    if (s == NULL || path == NULL || path[0] != '/' || fn == NULL || s->ctx != NULL ||
        (m != ARB_HTTP_GET && m != ARB_HTTP_POST))
        return ARB_ERR_INVALID_ARG;
    for (size_t i = 0; i < s->nroutes; i++)
        if (s->routes[i].m == m && strcmp(s->routes[i].path, path) == 0)
            return ARB_ERR_EXISTS;
    nr = realloc(s->routes, (s->nroutes + 1) * sizeof *nr);
    if (nr == NULL)
        return ARB_ERR_NOMEM;
    s->routes = nr;
    nr[s->nroutes].m = m;
    nr[s->nroutes].path = path;
    nr[s->nroutes].plen = strlen(path);
    nr[s->nroutes].prefix = path[nr[s->nroutes].plen - 1] == '/';
    nr[s->nroutes].max_body = max_body;
    nr[s->nroutes].fn = fn;
    nr[s->nroutes].fast = NULL;
    nr[s->nroutes].ud = ud;
    s->nroutes++;
    return ARB_OK;
}

arb_err arb_http_route_set_fast(arb_http_server *s, arb_http_method m, const char *path,
                                arb_http_fast_handler fast)
{
    if (s == NULL || path == NULL || s->ctx != NULL)
        return ARB_ERR_INVALID_ARG;
    for (size_t i = 0; i < s->nroutes; i++) {
        if (s->routes[i].m == m && strcmp(s->routes[i].path, path) == 0) {
            s->routes[i].fast = fast;
            return ARB_OK;
        }
    }
    return ARB_ERR_NOT_FOUND;
}

static void *service_main(void *arg)
{
    arb_http_server *s = arg;
    struct timespec t0 = {0, 0}, now;
    int draining = 0;

    for (;;) {
        if (atomic_load(&s->svc_stop)) {
            /* Give responses already being written up to a second to finish. */
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (!draining) {
                draining = 1;
                t0 = now;
            }
            drain_done(s);
            if (s->writing <= 0 || now.tv_sec - t0.tv_sec >= 1)
                break;
        }
        if (lws_service(s->ctx, 0) < 0)
            break;
    }
    pthread_mutex_lock(&s->mu);
    s->ctx_alive = 0;
    pthread_mutex_unlock(&s->mu);
    lws_context_destroy(s->ctx); /* closes every connection: CLOSED_HTTP for each */
    drain_done(s);               /* answers that arrived meanwhile: all conn_gone now */
    if (s->ws)
        arb_http_ws_hub_shutdown(s->ws);
    return NULL;
}

arb_err arb_http_server_start(arb_http_server *s, arb_errbuf *eb)
{
    struct lws_context_creation_info info;
    size_t np = 0, nws;
    int ipv6 = strchr(s->host, ':') != NULL;

    if (s->ctx != NULL || s->stopped)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "server already started");
    {
        int e = probe_bind(s->host, s->cfg.port);
        if (e == EINVAL)
            return arb_errf(eb, ARB_ERR_NET, "cannot listen on %s:%d: not a numeric address",
                            s->host, s->cfg.port);
        if (e != 0)
            return arb_errf(eb, ARB_ERR_NET, "cannot listen on %s:%d: %s", s->host, s->cfg.port,
                            strerror(e));
    }
    /* Built-in GET /metrics unless a module registered its own. */
    {
        int have = 0;
        for (size_t i = 0; i < s->nroutes; i++)
            have |= s->routes[i].m == ARB_HTTP_GET && strcmp(s->routes[i].path, "/metrics") == 0;
        if (!have && arb_http_route_add(s, ARB_HTTP_GET, "/metrics", 0, metrics_handler, s) != ARB_OK)
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    s->wbuf = malloc(LWS_PRE + WRITE_CHUNK + HDR_ROOM);
    nws = arb_http_ws_hub_nprotocols(s->ws);
    s->protocols = calloc(2 + nws, sizeof *s->protocols);
    s->workers = calloc((size_t)s->cfg.workers, sizeof *s->workers);
    if (s->wbuf == NULL || s->protocols == NULL || s->workers == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    s->protocols[np].name = "http";
    s->protocols[np].callback = http_cb;
    s->protocols[np].per_session_data_size = sizeof(struct pss);
    np++;
    if (s->ws)
        np += arb_http_ws_hub_fill_protocols(s->ws, &s->protocols[np]);

    /* lws logs through a process-wide hook; keep it quiet (errors come back to
     * us as return values and are reported through the logger). */
    lws_set_log_level(0, NULL);
    memset(&info, 0, sizeof info);
    info.port = s->cfg.port;
    info.iface = strcmp(s->host, "0.0.0.0") == 0 ? NULL : s->host;
    info.protocols = s->protocols;
    info.user = s;
    info.options = ipv6 ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
    info.max_http_header_data = (unsigned short)s->max_header;
    info.max_http_header_pool = 256;
    info.timeout_secs = (unsigned)s->timeout_s;
    info.timeout_secs_ah_idle = info.timeout_secs;
    info.keepalive_timeout = 30;
    info.pt_serv_buf_size = 16384;
    s->ctx = lws_create_context(&info);
    if (s->ctx == NULL)
        return arb_errf(eb, ARB_ERR_NET, "cannot listen on %s:%d", s->host, s->cfg.port);
    {
        struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "default");
        s->port = vh ? lws_get_vhost_port(vh) : -1;
        if (s->ws)
            arb_http_ws_hub_attach(s->ws, s->ctx, vh);
    }
    if (s->port <= 0) {
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        return arb_errf(eb, ARB_ERR_NET, "cannot listen on %s:%d", s->host, s->cfg.port);
    }
    s->ctx_alive = 1;
    for (int i = 0; i < s->cfg.workers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0)
            break;
        s->nworkers_started++;
    }
    if (s->nworkers_started == 0 || pthread_create(&s->svc, NULL, service_main, s) != 0) {
        arb_http_server_stop(s);
        return arb_errf(eb, ARB_ERR_INTERNAL, "cannot start server threads");
    }
    s->svc_started = 1;
    arb_logf(&s->cfg.log, ARB_LOG_INFO, "http: listening on %s:%d with %d workers", s->host,
             s->port, s->nworkers_started);
    return ARB_OK;
}

int arb_http_server_port(const arb_http_server *s)
{
    return s->port;
}

void arb_http_server_stop(arb_http_server *s)
{
    arb_http_req *r;

    if (s == NULL || s->stopped)
        return;
    /* From the service thread or a handler this would join itself. */
    if (s->svc_started && pthread_equal(pthread_self(), s->svc)) {
        arb_logf(&s->cfg.log, ARB_LOG_ERROR, "http: stop called from the service thread: ignored");
        return;
    }
    for (int i = 0; i < s->nworkers_started; i++)
        if (pthread_equal(pthread_self(), s->workers[i])) {
            arb_logf(&s->cfg.log, ARB_LOG_ERROR, "http: stop called from a handler: ignored");
            return;
        }
    s->stopped = 1;
    /* 1. Workers finish what they run and take nothing more. */
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nworkers_started; i++)
        pthread_join(s->workers[i], NULL);
    /* 2. The service thread flushes what is being written, then closes all. */
    if (s->svc_started) {
        atomic_store(&s->svc_stop, 1);
        pthread_mutex_lock(&s->mu);
        if (s->ctx_alive)
            lws_cancel_service(s->ctx);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->svc, NULL);
    } else if (s->ctx != NULL) {
        pthread_mutex_lock(&s->mu);
        s->ctx_alive = 0;
        pthread_mutex_unlock(&s->mu);
        lws_context_destroy(s->ctx);
    }
    s->ctx = NULL;
    /* 3. Requests still queued never reach a handler: drop their references. */
    pthread_mutex_lock(&s->mu);
    while ((r = s->job_head) != NULL) {
        s->job_head = r->next;
        req_unref_locked(r);
    }
    s->job_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    arb_logf(&s->cfg.log, ARB_LOG_INFO, "http: stopped");
}

void arb_http_server_free(arb_http_server *s)
{
    if (s == NULL)
        return;
    arb_http_server_stop(s);
    if (s->live_reqs != 0)
        arb_logf(&s->cfg.log, ARB_LOG_ERROR,
                 "http: %ld requests still held by handlers at free (they leak)", s->live_reqs);
    arb_http_ws_hub_free(s->ws);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->mmu);
    pthread_cond_destroy(&s->cv);
    free(s->routes);
    free(s->protocols);
    free(s->workers);
    free(s->wbuf);
    free(s->fragbuf);
    free(s);
}


/* ---------------------------------------------------------------- websocket glue */

arb_http_ws_hub *arb_http_server_ws_hub(arb_http_server *s, int create)
{
    if (s == NULL)
        return NULL;
    if (s->ws == NULL && create && s->ctx == NULL && !s->stopped)
        s->ws = arb_http_ws_hub_new(&s->cfg.log);
    if (create && (s->ctx != NULL || s->stopped))
        return NULL; /* too late to add subprotocols */
    return s->ws;
}

int arb_http_server_wake(arb_http_server *s)
{
    int alive;
    pthread_mutex_lock(&s->mu);
    alive = s->ctx_alive;
    if (alive)
        lws_cancel_service(s->ctx);
    pthread_mutex_unlock(&s->mu);
    return alive;
}
