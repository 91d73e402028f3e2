/* The HTTP server: one I/O thread (epoll) that accepts, parses, routes, reads
 * bodies and writes answers; handlers on worker pools; websocket upgrades
 * handed to libwebsockets on a thread of its own. See http.h for the contract
 * and docs/http.md for the design.
 *
 * Connections (struct conn) belong to the I/O thread. A connection reads one
 * request at a time: while a request is with a handler or its answer is being
 * written, the connection does not read, so pipelined requests wait in the
 * kernel and in at most max_header bytes of the connection's buffer, and are
 * answered in order. Every state has a deadline (headers, body, handler,
 * write, idle keep-alive); the loop closes connections past theirs.
 *
 * Lifetime of a request (arb_http_req). It is created on the I/O thread when
 * the request line and headers are in, and holds up to two references:
 *   - the connection's: dropped when the response has been written, or when the
 *     connection closes first (conn_gone is then set and c cleared);
 *   - the handler's: taken when the request is queued for a worker, dropped by
 *     the I/O thread after it has taken the response off the done queue, or at
 *     once by arb_http_respond if the connection is already gone.
 * The request is freed when both are gone, so a handler can respond from any
 * thread at any time, even after its client hung up. All reference counts,
 * the queues and the body budgets are guarded by s->mu. Only the I/O thread
 * touches connections; only the websocket thread touches lws. */
#define _GNU_SOURCE
#include "ledger/api/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ledger/api/http_internal.h"
#include "ledger/api/metrics.h"
#include "ledger/api/http_ws_internal.h"

#define DEFAULT_MAX_BODY (1u << 20)
#define DEFAULT_MAX_HEADER 8192
#define METRIC_NAME_MAX 96
#define MAX_POOLS 8
#define POOL_NAME_MAX 24
#define MAX_HEADERS 100
#define READ_CHUNK 65536
#define LINGER_MS 2000
#define LINGER_BYTES (256u << 10)
#define WS_HANDOFF_MAX 2048 /* lws takes at most this much already-read data */
#define TICK_MS 100

/* Defaults of the limits (see http.h and docs/http.md). */
#define DEF_MAX_CONNS 1024
#define DEF_MAX_CONNS_PER_ADDR 64
#define DEF_HEADER_TIMEOUT 10
#define DEF_BODY_TIMEOUT 30
#define DEF_IDLE_TIMEOUT 30
#define DEF_TIMEOUT 30
#define DEF_MAX_WS_PEERS 128
#define DEF_POOL_WORKERS 4
#define DEF_POOL_QUEUE 256
#define DEF_POOL_BUDGET (64u << 20)

struct route {
    arb_http_method m;
    const char *path;
    size_t plen;
    int prefix;
    size_t max_body;
    arb_http_handler fn;
    arb_http_fast_handler fast; /* NULL: none; runs on the I/O thread */
    void *ud;
    int pool;
};

struct pool {
    arb_http_server *s;
    char name[POOL_NAME_MAX];
    int workers;        /* 0 for the default pool: cfg.workers */
    size_t max_queue;   /* requests waiting for a worker */
    size_t body_budget; /* request body bytes held at once by this pool's requests */
    size_t addr_share;  /* of which one client address may hold this much */
    int nice;           /* added to the workers' nice value */
    pthread_t *threads;
    int nstarted;
    pthread_cond_t cv;
    arb_http_req *head, *tail; /* under s->mu */
    size_t queued;             /* under s->mu */
    size_t body_held;          /* under s->mu */
};

enum cstate { C_HEAD, C_BODY, C_WAIT, C_WRITE, C_LINGER };

/* A client address (an IPv6 address stands for its /64): its connections
 * (I/O thread) and the body bytes its requests hold in each pool (under
 * s->mu). An entry without connections lives on while a request of it
 * still holds bytes; the I/O thread frees it later. */
struct addrent {
    struct addrent *next;
    int n;
    size_t held[MAX_POOLS]; /* under s->mu */
    int holders;            /* under s->mu: requests holding bytes */
    char addr[64];
};

struct conn {
    struct conn *prev, *next;
    int fd;
    enum cstate st;
    uint32_t events; /* epoll interest now */
    struct addrent *ae;
    char peer[64];
    char *in; /* header bytes, then what follows them (pipelined requests) */
    size_t inlen, incap;
    arb_http_req *req;
    int64_t deadline; /* ms, monotonic */
    int64_t since;    /* ms: when the connection entered its state */
    int close_after;
    /* The response being written. */
    char *out;
    size_t outlen, outoff;
    const uint8_t *wbody;
    size_t wlen, woff;
    size_t lingered;
    int started; /* C_HEAD: a byte of the request has come (its header timer runs) */
    int dead;
};

struct arb_http_req {
    arb_http_server *s;
    struct conn *c; /* I/O thread only; NULL once the connection is gone */
    arb_http_method method;
    int head;   /* a HEAD request (method is GET for the handler) */
    int minor;  /* HTTP/1.minor */
    char *path;
    char peer[64];
    arb_http_query query;
    /* The request's header fields, "name\0value\0" each in arrival order
     * (values trimmed), copied from the header block: at most max_header
     * bytes. NULL when there are none. */
    char *hdrs;
    size_t hdrs_len;
    uint8_t *body;
    size_t body_len, body_cap, body_want;
    size_t held; /* bytes of the pool's body budget held */
    struct addrent *ae; /* whose share `held` counts against */
    int pool;
    const struct route *route;
    struct timespec t0; /* first byte of the request: for the latency histogram */

    int refs;      /* under s->mu */
    int conn_gone; /* under s->mu */
    int responded; /* under s->mu */
    int in_fast;   /* I/O thread: the route's fast path is running on it */

    /* The response, written by arb_http_respond before `responded` is set. */
    int status;
    char *ctype;
    char *extra;
    uint8_t *rbody;           /* owned copy (arb_http_respond) */
    const uint8_t *rdata;     /* what is sent: rbody, or a lent body */
    void (*rrelease)(void *); /* arb_http_respond_shared: gives the lent body back */
    void *rrelease_ud;
    size_t rlen;
    int close_after;

    arb_http_req *next; /* link in a job queue or the done queue */
};

struct ws_handoff {
    struct ws_handoff *next;
    int fd;
    size_t len;
    char buf[];
};

struct arb_http_server {
    arb_http_config cfg;
    char host[64];
    struct route *routes;
    size_t nroutes;

    /* Limits (fixed once started). */
    size_t max_header;
    int timeout_s, header_timeout_s, body_timeout_s, idle_timeout_s;
    int max_conns, max_conns_per_addr, max_ws_peers;

    struct pool pools[MAX_POOLS];
    int npools;

    /* I/O thread. */
    pthread_t io;
    int io_started;
    int lfd, efd, epfd;
    int accept_paused; /* the listener is out of the epoll set until the next tick */
    struct conn *conns; /* all connections, oldest first after the head */
    struct conn *conns_tail;
    struct conn *dead; /* closed this round, freed after it */
    int nconns;
    struct addrent *addrs[256];
    uint8_t *rbuf;
    atomic_int io_stop;
    int port;

    pthread_mutex_t mu;
    arb_http_req *done_head, *done_tail;
    int stopping; /* under mu: workers take no more jobs */
    int io_alive; /* under mu: the I/O thread takes answers */
    int stopped;
    long live_reqs; /* under mu */

    /* Websockets (only when a subprotocol is registered). */
    arb_http_ws_hub *ws;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct lws_protocols *protocols;
    pthread_t svc;
    int svc_started;
    atomic_int svc_stop;
    int ctx_alive;                 /* under mu: lws_cancel_service may be called */
    struct ws_handoff *handoffs;   /* under mu */
    atomic_int ws_handoffs_pending;

    arb_metrics *metrics;
    arb_http_access_fn access_fn; /* set before start */
    void *access_ud;

    time_t started_at;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

void arb_http_metric_add(arb_http_server *s, const char *name, uint64_t delta)
{
    if (metric_name_ok(name))
        arb_metrics_counter_add(s->metrics, name, delta);
}

void arb_http_metric_set(arb_http_server *s, const char *name, uint64_t value)
{
    if (metric_name_ok(name))
        arb_metrics_gauge_set(s->metrics, name, (int64_t)value);
}

arb_metrics *arb_http_server_metrics(arb_http_server *s)
{
    return s->metrics;
}

void arb_http_server_set_access_log(arb_http_server *s, arb_http_access_fn fn, void *ud)
{
    if (s->io_started)
        return;
    s->access_fn = fn;
    s->access_ud = ud;
}

/* The answer to c->req is out: its latency per route, and the access log. */
static void request_done(arb_http_server *s, const arb_http_req *r)
{
    struct timespec now;
    double secs;
    clock_gettime(CLOCK_MONOTONIC, &now);
    secs = (double)(now.tv_sec - r->t0.tv_sec) + (double)(now.tv_nsec - r->t0.tv_nsec) / 1e9;
    arb_metrics_observe(s->metrics, "http_request_duration_seconds",
                        r->route ? r->route->path : "none", secs);
    if (s->access_fn != NULL) {
        arb_http_access a;
        a.peer = r->peer;
        a.method = r->head ? "HEAD" : r->method == ARB_HTTP_POST ? "POST" : r->method ? "GET" : "-";
        a.path = r->path ? r->path : "-";
        a.status = r->status;
        a.bytes = r->head ? 0 : r->rlen;
        a.seconds = secs;
        s->access_fn(s->access_ud, &a);
    }
}

static char *metrics_text(arb_http_server *s, size_t *len)
{
    char *out;
    arb_metrics_gauge_set(s->metrics, "uptime_seconds", (int64_t)(time(NULL) - s->started_at));
    if (arb_metrics_render(s->metrics, &out, len) != ARB_OK)
        return NULL;
    return out;
}

/* ---------------------------------------------------------------- requests */

/* Frees the request and gives a lent response body back: this is the one
 * place release is called for a request that took one, so it is called
 * exactly once, whichever side lets go last (caller holds s->mu). */
static void req_free(arb_http_req *r)
{
    arb_http_query_clear(&r->query);
    free(r->hdrs);
    free(r->path);
    free(r->body);
    free(r->ctype);
    free(r->extra);
    free(r->rbody);
    if (r->rrelease != NULL)
        r->rrelease(r->rrelease_ud);
    free(r);
}

/* Drops one reference; frees on the last, giving back the body budget.
 * Caller holds s->mu. */
static void req_unref_locked(arb_http_req *r)
{
    if (--r->refs == 0) {
        r->s->pools[r->pool].body_held -= r->held;
        if (r->held) {
            r->ae->held[r->pool] -= r->held;
            r->ae->holders--;
        }
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

int arb_http_req_is_head(const arb_http_req *r)
{
    return r->head;
}

const char *arb_http_req_path(const arb_http_req *r)
{
    return r->path;
}

const char *arb_http_req_query(const arb_http_req *r, const char *name)
{
    return arb_http_query_get(&r->query, name);
}

const char *arb_http_req_header(const arb_http_req *r, const char *name)
{
    size_t nlen, i = 0;
    if (r == NULL || name == NULL || r->hdrs == NULL)
        return NULL;
    nlen = strlen(name);
    while (i < r->hdrs_len) {
        const char *n = r->hdrs + i, *v = n + strlen(n) + 1;
        if (strlen(n) == nlen && strncasecmp(n, name, nlen) == 0)
            return v;
        i = (size_t)(v - r->hdrs) + strlen(v) + 1;
    }
    return NULL;
}

/* Keeps the header fields of a parsed header block (the request line, then
 * CRLF-separated "name: value" lines, already checked by
 * arb_http_head_parse) for arb_http_req_header. Returns 0, or -1 when out of
 * memory. */
static int req_keep_headers(arb_http_req *r, const char *blk, size_t len)
{
    const char *p = memmem(blk, len, "\r\n", 2), *end = blk + len;
    size_t j = 0;
    if (p == NULL || p + 2 >= end)
        return 0; /* no header fields */
    p += 2;
    r->hdrs = malloc((size_t)(end - p) + 2);
    if (r->hdrs == NULL)
        return -1;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2), *colon, *v, *ve;
        if (eol == NULL)
            eol = end;
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon != NULL) {
            v = colon + 1;
            ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            memcpy(r->hdrs + j, p, (size_t)(colon - p));
            j += (size_t)(colon - p);
            r->hdrs[j++] = '\0';
            memcpy(r->hdrs + j, v, (size_t)(ve - v));
            j += (size_t)(ve - v);
            r->hdrs[j++] = '\0';
        }
        p = eol + 2;
    }
    r->hdrs_len = j;
    return 0;
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

/* Extra header lines must be "Name: value\r\n" each, with a token name and no
 * CR or LF inside, so a handler cannot break the framing. Returns 1 if so. */
static int extra_ok(const char *x)
{
    while (*x) {
        const char *eol = strstr(x, "\r\n"), *p;
        int colon = 0;
        if (eol == NULL || eol == x)
            return 0;
        for (p = x; p < eol; p++) {
            if (*p == '\r' || *p == '\n')
                return 0;
            if (*p == ':' && !colon) {
                if (p == x)
                    return 0;
                colon = 1;
            } else if (!colon && (*p <= ' ' || *p >= 127 || strchr("()<>@,;\\\"/[]?={}", *p)))
                return 0;
        }
        if (!colon)
            return 0;
        x = eol + 2;
    }
    return 1;
}

/* Fills in the response fields. The body is copied, unless lent (then it is
 * sent from where it is). Returns ARB_OK, ARB_ERR_NOMEM (then the response
 * becomes an empty 500 that closes the connection) or ARB_ERR_INVALID_ARG for
 * malformed extra headers (dropped; the answer goes out without them). */
static arb_err set_response(arb_http_req *r, int status, const char *ctype, const char *extra,
                            const void *body, size_t len, int lent)
{
    arb_err err = ARB_OK;
    if (extra && *extra && !extra_ok(extra)) {
        extra = NULL;
        err = ARB_ERR_INVALID_ARG;
    }
    if (ctype && (strchr(ctype, '\r') || strchr(ctype, '\n')))
        ctype = NULL;
    r->status = status;
    r->ctype = dup_str(ctype ? ctype : "application/json");
    r->extra = extra && *extra ? dup_str(extra) : NULL;
    r->rbody = len && !lent ? malloc(len) : NULL;
    if (r->ctype == NULL || (extra && *extra && r->extra == NULL) ||
        (len && !lent && r->rbody == NULL)) {
        free(r->ctype);
        free(r->extra);
        free(r->rbody);
        r->ctype = r->extra = NULL;
        r->rbody = NULL;
        r->rdata = NULL;
        r->rlen = 0;
        r->status = 500;
        r->close_after = 1;
        return ARB_ERR_NOMEM;
    }
    if (lent) {
        r->rdata = body;
    } else {
        if (len)
            memcpy(r->rbody, body, len);
        r->rdata = r->rbody;
    }
    r->rlen = len;
    return err;
}

static void wake_io(arb_http_server *s)
{
    uint64_t one = 1;
    ssize_t w = write(s->efd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

/* Stores the response and hands it to the I/O thread. A lent body (release
 * not NULL) is not copied: the request keeps it until req_free gives it back.
 * From a fast path (on the I/O thread, r->in_fast) the request is only marked
 * answered: conn_dispatch writes it at once, and no handler reference exists
 * to drop. */
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
        if (release != NULL)
            release(release_ud); /* not ours to keep: the promise is once, from here */
        pthread_mutex_unlock(&s->mu);
        return ARB_ERR_INVALID_ARG;
    }
    pthread_mutex_unlock(&s->mu);

    err = set_response(r, status, content_type, extra_headers, body, len, release != NULL);
    /* Set even on ARB_ERR_NOMEM (the body is then not sent), so that req_free
     * gives the body back in every case. */
    r->rrelease = release;
    r->rrelease_ud = release_ud;

    pthread_mutex_lock(&s->mu);
    r->responded = 1;
    if (r->in_fast) {
        pthread_mutex_unlock(&s->mu);
        return err == ARB_ERR_NOMEM ? err : ARB_OK;
    }
    if (r->conn_gone || !s->io_alive) {
        /* Nobody to write to: drop the handler's reference. */
        req_unref_locked(r);
        pthread_mutex_unlock(&s->mu);
        return err == ARB_ERR_NOMEM ? err : ARB_OK;
    }
    r->next = NULL;
    if (s->done_tail)
        s->done_tail->next = r;
    else
        s->done_head = r;
    s->done_tail = r;
    wake_io(s);
    pthread_mutex_unlock(&s->mu);
    return err == ARB_ERR_NOMEM ? err : ARB_OK;
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
    if (release == NULL) /* nothing to give back: an ordinary (copied) answer */
        return respond(r, status, content_type, extra_headers, body, len, NULL, NULL);
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

/* ---------------------------------------------------------------- pools */

static void *worker_main(void *arg)
{
    struct pool *p = arg;
    arb_http_server *s = p->s;
    char tname[16];

    snprintf(tname, sizeof tname, "http-%.10s", p->name);
    (void)pthread_setname_np(pthread_self(), tname);

    if (p->nice > 0) {
        /* Linux: a thread's nice value is its own (setpriority on its tid). */
        errno = 0;
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
                          getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)) + p->nice);
    }
    for (;;) {
        arb_http_req *r;
        pthread_mutex_lock(&s->mu);
        while (p->head == NULL && !s->stopping)
            pthread_cond_wait(&p->cv, &s->mu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        r = p->head;
        p->head = r->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        if (r->conn_gone) {
            /* The client left (or timed out) while the request waited: no
             * one would read the answer. Drop the handler's reference. */
            req_unref_locked(r);
            pthread_mutex_unlock(&s->mu);
            arb_http_metric_add(s, "http_requests_abandoned", 1);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        r->route->fn(r->route->ud, r);
    }
}

static int pool_name_ok(const char *name)
{
    size_t n = 0;
    if (name == NULL || !*name)
        return 0;
    for (const char *p = name; *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return n < POOL_NAME_MAX;
}

static int pool_find(const arb_http_server *s, const char *name)
{
    for (int i = 0; i < s->npools; i++)
        if (strcmp(s->pools[i].name, name) == 0)
            return i;
    return -1;
}

/* Finds or creates (with defaults) the pool called name. Returns its index or
 * -1 (bad name, too many pools). */
static int pool_get(arb_http_server *s, const char *name)
{
    int i;
    struct pool *p;
    if (name == NULL)
        return 0;
    if ((i = pool_find(s, name)) >= 0)
        return i;
    if (!pool_name_ok(name) || s->npools == MAX_POOLS)
        return -1;
    p = &s->pools[s->npools];
    memset(p, 0, sizeof *p);
    p->s = s;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->workers = DEF_POOL_WORKERS;
    p->max_queue = DEF_POOL_QUEUE;
    p->body_budget = DEF_POOL_BUDGET;
    pthread_cond_init(&p->cv, NULL);
    return s->npools++;
}

arb_err arb_http_pool_add(arb_http_server *s, const arb_http_pool_config *pc)
{
    int i;
    struct pool *p;
    if (s == NULL || pc == NULL || s->io_started || s->stopped || !pool_name_ok(pc->name) ||
        pc->workers < 0 || pc->workers > 256 || pc->nice < 0 || pc->nice > 19)
        return ARB_ERR_INVALID_ARG;
    if (pool_find(s, pc->name) >= 0)
        return ARB_ERR_EXISTS;
    if ((i = pool_get(s, pc->name)) < 0)
        return ARB_ERR_INVALID_ARG;
    p = &s->pools[i];
    if (pc->workers)
        p->workers = pc->workers;
    if (pc->max_queue)
        p->max_queue = pc->max_queue;
    if (pc->body_budget)
        p->body_budget = pc->body_budget;
    p->nice = pc->nice;
    return ARB_OK;
}

/* Queues the request for its pool (I/O thread). Returns 0, or -1 if the
 * pool's queue is full. */
static int enqueue(arb_http_server *s, arb_http_req *r)
{
    struct pool *p = &s->pools[r->pool];
    pthread_mutex_lock(&s->mu);
    if (p->queued >= p->max_queue) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    r->refs++;
    r->next = NULL;
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
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
        snprintf(allow, allow_cap, "Allow: %s%s%s\r\n", seen_get ? "GET, HEAD" : "",
                 seen_get && seen_post ? ", " : "", seen_post ? "POST" : "");
    return best;
}

/* ---------------------------------------------------------------- connections (I/O thread) */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Error" : "Server Error";
    }
}

static unsigned addr_hash(const char *a)
{
    unsigned h = 2166136261u;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 16777619u;
    return h & 255;
}

static struct addrent *addr_find(arb_http_server *s, const char *peer)
{
    for (struct addrent *e = s->addrs[addr_hash(peer)]; e != NULL; e = e->next)
        if (strcmp(e->addr, peer) == 0)
            return e;
    return NULL;
}

static struct addrent *addr_get(arb_http_server *s, const char *peer)
{
    struct addrent *e = addr_find(s, peer);
    unsigned h;
    if (e != NULL) {
        e->n++;
        return e;
    }
    if ((e = calloc(1, sizeof *e)) == NULL)
        return NULL;
    h = addr_hash(peer);
    snprintf(e->addr, sizeof e->addr, "%s", peer);
    e->n = 1;
    e->next = s->addrs[h];
    s->addrs[h] = e;
    return e;
}

/* Frees the entries of addresses with no connection and no bytes held. */
static void addr_sweep(arb_http_server *s, unsigned bucket)
{
    pthread_mutex_lock(&s->mu);
    for (struct addrent **pp = &s->addrs[bucket]; *pp != NULL;) {
        struct addrent *e = *pp;
        if (e->n == 0 && e->holders == 0) {
            *pp = e->next;
            free(e);
        } else {
            pp = &e->next;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void addr_put(arb_http_server *s, struct addrent *e)
{
    if (e == NULL || --e->n > 0)
        return;
    addr_sweep(s, addr_hash(e->addr));
}

static void conn_events(arb_http_server *s, struct conn *c, uint32_t ev)
{
    struct epoll_event e;
    if (c->events == ev)
        return;
    memset(&e, 0, sizeof e);
    e.events = ev;
    e.data.ptr = c;
    (void)epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

/* Forgets the connection; closes its socket unless keep_fd. */
static void conn_drop(arb_http_server *s, struct conn *c, int keep_fd)
{
    arb_http_req *r = c->req;

    (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (!keep_fd)
        close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->conns_tail = c->prev;
    s->nconns--;
    addr_put(s, c->ae);
    if (r != NULL) {
        int dropped;
        pthread_mutex_lock(&s->mu);
        dropped = r->refs > 1 || r->responded; /* a handler had it */
        r->conn_gone = 1;
        r->c = NULL;
        req_unref_locked(r);
        pthread_mutex_unlock(&s->mu);
        if (dropped)
            arb_http_metric_add(s, "http_responses_dropped", 1);
    }
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    /* Freed after the current batch of events, which may still name it. */
    c->dead = 1;
    c->next = s->dead;
    s->dead = c;
}

static void conn_close(arb_http_server *s, struct conn *c)
{
    conn_drop(s, c, 0);
}

/* Waits for the client to take the answer before the socket is closed: a close
 * with unread input would reset the connection and could destroy the answer
 * on its way (a 413 before an unread body, say). */
static void conn_linger(arb_http_server *s, struct conn *c)
{
    (void)shutdown(c->fd, SHUT_WR);
    free(c->in);
    c->in = NULL;
    c->inlen = c->incap = 0;
    c->st = C_LINGER;
    c->lingered = 0;
    c->deadline = now_ms() + LINGER_MS;
    conn_events(s, c, EPOLLIN);
}

/* Enters the state of waiting for a request. */
static void conn_idle(arb_http_server *s, struct conn *c, int fresh)
{
    int64_t now = now_ms();
    c->st = C_HEAD;
    c->since = now;
    c->started = c->inlen > 0;
    if (c->inlen > 0)
        c->deadline = now + (int64_t)s->header_timeout_s * 1000;
    else
        c->deadline = now + (int64_t)(fresh ? s->header_timeout_s : s->idle_timeout_s) * 1000;
    if (c->inlen == 0) {
        free(c->in);
        c->in = NULL;
        c->incap = 0;
    }
    conn_events(s, c, EPOLLIN);
}

/* Writes what it can of the response. Returns -1 if the connection is gone,
 * 0 if the socket is full (EPOLLOUT is asked for), 1 when the response is out
 * (the connection then waits for its next request, or lingers). */
static int conn_write(arb_http_server *s, struct conn *c)
{
    for (;;) {
        struct iovec iov[2];
        int n = 0;
        ssize_t w;
        if (c->outoff < c->outlen) {
            iov[n].iov_base = c->out + c->outoff;
            iov[n].iov_len = c->outlen - c->outoff;
            n++;
        }
        if (c->woff < c->wlen) {
            iov[n].iov_base = (void *)(c->wbody + c->woff);
            iov[n].iov_len = c->wlen - c->woff;
            n++;
        }
        if (n == 0)
            break;
        {
            /* sendmsg for MSG_NOSIGNAL: a client gone away must not raise
             * SIGPIPE in a program that has not ignored it. */
            struct msghdr mh;
            memset(&mh, 0, sizeof mh);
            mh.msg_iov = iov;
            mh.msg_iovlen = (size_t)n;
            w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        }
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_events(s, c, EPOLLOUT);
                return 0;
            }
            conn_close(s, c);
            return -1;
        }
        {
            size_t left = (size_t)w, a = c->outlen - c->outoff;
            if (a > left)
                a = left;
            c->outoff += a;
            left -= a;
            c->woff += left;
        }
    }
    /* Done: release the connection's reference. */
    free(c->out);
    c->out = NULL;
    c->outlen = c->outoff = c->wlen = c->woff = 0;
    c->wbody = NULL;
    arb_http_metric_add(s, "http_responses", 1);
    request_done(s, c->req);
    {
        arb_http_req *r = c->req;
        c->req = NULL;
        pthread_mutex_lock(&s->mu);
        r->c = NULL;
        r->conn_gone = 1; /* nothing more goes to this connection for it */
        req_unref_locked(r);
        pthread_mutex_unlock(&s->mu);
    }
    if (c->close_after) {
        conn_linger(s, c);
        return 1;
    }
    conn_idle(s, c, 0);
    return 1;
}

/* Puts the response of c->req on the wire (the request has responded). */
static int conn_start_write(arb_http_server *s, struct conn *c)
{
    arb_http_req *r = c->req;
    size_t cap = 256 + strlen(r->ctype ? r->ctype : "") + (r->extra ? strlen(r->extra) : 0);
    int n;

    c->close_after |= r->close_after;
    c->out = malloc(cap);
    if (c->out == NULL) {
        conn_close(s, c);
        return -1;
    }
    n = snprintf(c->out, cap, "HTTP/1.%d %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
                 r->minor, r->status, reason_phrase(r->status),
                 r->ctype ? r->ctype : "application/json", r->rlen, r->extra ? r->extra : "",
                 c->close_after ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n >= cap) {
        conn_close(s, c);
        return -1;
    }
    c->outlen = (size_t)n;
    c->outoff = 0;
    c->wbody = r->head ? NULL : r->rdata; /* a lent body is sent from where it is */
    c->wlen = r->head ? 0 : r->rlen;
    c->woff = 0;
    c->st = C_WRITE;
    c->since = now_ms();
    c->deadline = c->since + (int64_t)s->timeout_s * 1000;
    return conn_write(s, c);
}

/* Answers c->req on the I/O thread, without a worker (errors, 503s). */
static int local_answer(arb_http_server *s, struct conn *c, int status, const char *counter,
                        const char *msg, const char *extra, int close_after)
{
    char body[512];
    arb_http_req *r = c->req;
    size_t n = json_error_body(body, sizeof body, msg);

    count_error(s, counter);
    (void)set_response(r, status, NULL, extra, body, n, 0);
    r->close_after |= close_after;
    pthread_mutex_lock(&s->mu);
    r->responded = 1;
    pthread_mutex_unlock(&s->mu);
    return conn_start_write(s, c);
}

/* The request is whole: the route's fast path may answer it here, else it
 * goes to its pool's workers. Returns what conn_start_write returns when the
 * fast path answered, what local_answer returns when the pool is full, else
 * 1. */
static int conn_dispatch(arb_http_server *s, struct conn *c)
{
    arb_http_req *r = c->req;
    if (r->route->fast != NULL) {
        int took, answered;
        r->in_fast = 1;
        took = r->route->fast(r->route->ud, r);
        pthread_mutex_lock(&s->mu);
        r->in_fast = 0;
        answered = r->responded;
        pthread_mutex_unlock(&s->mu);
        if (answered) {
            /* Counted as a request handed to a handler, like one a worker
             * answers; written like a local answer (the connection's
             * reference is the only one). */
            arb_http_metric_add(s, "http_requests", 1);
            return conn_start_write(s, c);
        }
        if (took)
            arb_logf(&s->cfg.log, ARB_LOG_ERROR,
                     "http: the fast path of %s returned 1 without answering; sent to a worker",
                     r->route->path);
    }
    c->st = C_WAIT;
    c->since = now_ms();
    c->deadline = c->since + (int64_t)s->timeout_s * 1000;
    /* Not reading while the handler runs, but told if the client hangs up. */
    conn_events(s, c, EPOLLRDHUP);
    if (enqueue(s, r) != 0)
        return local_answer(s, c, 503, "busy", "server busy, try again", "Retry-After: 1\r\n", 0);
    arb_http_metric_add(s, "http_requests", 1);
    return 1;
}

static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Case-insensitive: does the comma-separated list `v` hold token `tok`? */
static int list_has(const char *v, size_t vlen, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < vlen) {
        size_t j;
        while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        j = i;
        while (j < vlen && v[j] != ',')
            j++;
        {
            size_t e = j;
            while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
                e--;
            if (e - i == tl && strncasecmp(v + i, tok, tl) == 0)
                return 1;
        }
        i = j;
    }
    return 0;
}

int arb_http_head_parse(const char *buf, size_t len, arb_http_head *h, int *minor)
{
    const char *p = buf, *end = buf + len, *eol, *sp1, *sp2;

    memset(h, 0, sizeof *h);
    h->cl = -1;
    eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (eol == NULL)
        eol = end;
    sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (sp1 == NULL || sp1 == p)
        return 400;
    sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (sp2 == NULL || sp2 == sp1 + 1)
        return 400;
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return 400;
    for (const char *q = sp1 + 1; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return 400;
    if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0 || sp2[7] != '.' ||
        sp2[6] < '0' || sp2[6] > '9' || sp2[8] < '0' || sp2[8] > '9')
        return 400;
    if (sp2[6] != '1' || (sp2[8] != '0' && sp2[8] != '1'))
        return 505;
    *minor = sp2[8] - '0';
    h->meth = p;
    h->mlen = (size_t)(sp1 - p);
    h->target = sp1 + 1;
    h->tlen = (size_t)(sp2 - sp1 - 1);

    for (p = eol + 2; p < end; p = eol + 2) {
        const char *colon, *v, *ve;
        size_t nlen, vlen;
        eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (eol == NULL)
            eol = end;
        if (++h->nheaders > MAX_HEADERS)
            return 431;
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL || colon == p)
            return 400; /* also obsolete line folding (a line starting with a space) */
        for (const char *q = p; q < colon; q++)
            if (!is_tchar((unsigned char)*q))
                return 400;
        nlen = (size_t)(colon - p);
        v = colon + 1;
        ve = eol;
        for (const char *q = v; q < ve; q++)
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
                return 400;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        vlen = (size_t)(ve - v);
        if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
            long long n = 0;
            if (vlen == 0 || vlen > 18)
                return 400;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return 400;
                n = n * 10 + (v[i] - '0');
            }
            if (h->cl >= 0 && h->cl != n)
                return 400;
            h->cl = n;
        } else if (nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
            h->te = 1;
        } else if (nlen == 10 && strncasecmp(p, "connection", 10) == 0) {
            h->conn_close |= list_has(v, vlen, "close");
            h->conn_upgrade |= list_has(v, vlen, "upgrade");
        } else if (nlen == 7 && strncasecmp(p, "upgrade", 7) == 0) {
            h->upgrade_ws |= list_has(v, vlen, "websocket");
        } else if (nlen == 17 && strncasecmp(p, "sec-websocket-key", 17) == 0) {
            h->ws_key = vlen > 0;
        } else if (nlen == 6 && strncasecmp(p, "expect", 6) == 0) {
            h->expect_continue = vlen == 12 && strncasecmp(v, "100-continue", 12) == 0;
        }
    }
    return 0;
}

char *arb_http_path_decode(const char *p, size_t n, int *nomem)
{
    char *d = malloc(n + 1);
    size_t j = 0;
    *nomem = d == NULL;
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            int hi, lo;
            if (i + 2 >= n) {
                free(d);
                return NULL;
            }
            hi = p[i + 1];
            lo = p[i + 2];
            hi = hi >= '0' && hi <= '9' ? hi - '0' : (hi | 32) >= 'a' && (hi | 32) <= 'f' ? (hi | 32) - 'a' + 10 : -1;
            lo = lo >= '0' && lo <= '9' ? lo - '0' : (lo | 32) >= 'a' && (lo | 32) <= 'f' ? (lo | 32) - 'a' + 10 : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(d);
                return NULL;
            }
            d[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (p[i] == '\0') { /* a C string cannot hold it */
            free(d);
            return NULL;
        } else {
            d[j++] = p[i];
        }
    }
    d[j] = '\0';
    return d;
}

static void consume_in(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->inlen - n);
    c->inlen -= n;
}

/* Hands an upgrade request and its socket to the websocket thread. */
static void ws_handoff(arb_http_server *s, struct conn *c)
{
    struct ws_handoff *h = malloc(sizeof *h + c->inlen);
    int fd = c->fd;
    if (h == NULL) {
        conn_close(s, c);
        return;
    }
    h->fd = fd;
    h->len = c->inlen;
    memcpy(h->buf, c->in, c->inlen);
    conn_drop(s, c, 1);
    pthread_mutex_lock(&s->mu);
    if (!s->ctx_alive) {
        pthread_mutex_unlock(&s->mu);
        close(fd);
        free(h);
        return;
    }
    h->next = s->handoffs;
    s->handoffs = h;
    atomic_fetch_add(&s->ws_handoffs_pending, 1);
    lws_cancel_service(s->ctx);
    pthread_mutex_unlock(&s->mu);
    arb_http_metric_add(s, "http_ws_upgrades", 1);
}

/* In C_HEAD: parses a request if its headers are in. Returns -1 if the
 * connection is gone, 0 if it needs more bytes, 1 if its state moved on. */
static int conn_head(arb_http_server *s, struct conn *c)
{
    arb_http_head h;
    arb_http_req *r;
    char *hend, allow[64];
    size_t hlen, lead = 0;
    int st, minor = 1, nomem = 0;
    const char *q;
    size_t plen;

    while (lead + 1 < c->inlen && c->in[lead] == '\r' && c->in[lead + 1] == '\n')
        lead += 2; /* RFC 9112 2.2: empty lines before a request are ignored */
    if (lead)
        consume_in(c, lead);
    if (c->inlen == 0)
        return 0;
    hend = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (hend == NULL && c->inlen <= s->max_header)
        return 0;
    hlen = hend ? (size_t)(hend - c->in) + 4 : c->inlen;

    r = calloc(1, sizeof *r);
    if (r == NULL) {
        conn_close(s, c);
        return -1;
    }
    r->s = s;
    r->c = c;
    r->refs = 1;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    r->minor = 1;
    snprintf(r->peer, sizeof r->peer, "%s", c->peer);
    pthread_mutex_lock(&s->mu);
    s->live_reqs++;
    pthread_mutex_unlock(&s->mu);
    c->req = r;
    c->close_after = 0;

    if (hend == NULL || hlen > s->max_header)
        return local_answer(s, c, 431, "header_too_large", "request header too large", NULL, 1);
    st = arb_http_head_parse(c->in, hlen - 4, &h, &minor);
    r->minor = minor;
    if (st == 431)
        return local_answer(s, c, 431, "header_too_large", "too many header fields", NULL, 1);
    if (st == 505)
        return local_answer(s, c, 505, "bad_request", "HTTP version not supported", NULL, 1);
    if (st != 0)
        return local_answer(s, c, 400, "bad_request", "malformed request", NULL, 1);
    c->close_after = h.conn_close || minor == 0;

    if (h.mlen == 4 && memcmp(h.meth, "HEAD", 4) == 0) {
        r->method = ARB_HTTP_GET;
        r->head = 1;
    } else if (h.mlen == 3 && memcmp(h.meth, "GET", 3) == 0) {
        r->method = ARB_HTTP_GET;
    } else if (h.mlen == 4 && memcmp(h.meth, "POST", 4) == 0) {
        r->method = ARB_HTTP_POST;
    } else {
        r->method = (arb_http_method)0;
    }
    q = memchr(h.target, '?', h.tlen);
    plen = q ? (size_t)(q - h.target) : h.tlen;
    r->path = arb_http_path_decode(h.target, plen, &nomem);
    if (nomem) {
        conn_close(s, c);
        return -1;
    }
    if (r->path == NULL || r->path[0] != '/') {
        free(r->path);
        r->path = NULL;
        return local_answer(s, c, 400, "bad_request", "bad request path", NULL, 1);
    }
    if (q != NULL) {
        arb_err qe = arb_http_query_parse(&r->query, q + 1, h.tlen - plen - 1);
        if (qe == ARB_ERR_NOMEM) {
            conn_close(s, c);
            return -1;
        }
        if (qe != ARB_OK)
            return local_answer(s, c, 400, "bad_query", "bad query string", NULL, 1);
    }

    /* A websocket upgrade for a registered subprotocol goes to lws, with the
     * bytes read so far. */
    if (s->ws != NULL && r->method == ARB_HTTP_GET && !r->head && h.upgrade_ws && h.ws_key) {
        if (c->inlen > WS_HANDOFF_MAX)
            return local_answer(s, c, 431, "header_too_large", "upgrade request too large",
                                NULL, 1);
        if (arb_http_ws_hub_incoming(s->ws) + atomic_load(&s->ws_handoffs_pending) >=
            s->max_ws_peers)
            return local_answer(s, c, 503, "ws_peers", "too many websocket peers",
                                "Retry-After: 10\r\n", 1);
        /* The request is not ours any more. */
        pthread_mutex_lock(&s->mu);
        c->req = NULL;
        req_unref_locked(r);
        pthread_mutex_unlock(&s->mu);
        ws_handoff(s, c);
        return -1;
    }
    if (req_keep_headers(r, c->in, hlen - 4) != 0) {
        conn_close(s, c);
        return -1;
    }
    consume_in(c, hlen);

    if (r->method == 0) {
        route_find(s, (arb_http_method)0, r->path, allow, sizeof allow);
        if (allow[0])
            return local_answer(s, c, 405, "method_not_allowed", "method not allowed", allow,
                                h.cl > 0 || h.te);
        return local_answer(s, c, 404, "not_found", "not found", NULL, h.cl > 0 || h.te);
    }
    r->route = route_find(s, r->method, r->path, allow, sizeof allow);
    if (r->route == NULL) {
        if (allow[0])
            return local_answer(s, c, 405, "method_not_allowed", "method not allowed", allow,
                                h.cl > 0 || h.te);
        return local_answer(s, c, 404, "not_found", "not found", NULL, h.cl > 0 || h.te);
    }
    r->pool = r->route->pool;
    if (h.te)
        return local_answer(s, c, 411, "length_required", "a Content-Length is required", NULL, 1);
    if (r->method == ARB_HTTP_GET) {
        if (h.cl > 0)
            return local_answer(s, c, 400, "bad_request", "GET with a body", NULL, 1);
        return conn_dispatch(s, c);
    }
    {
        size_t max_body = r->route->max_body ? r->route->max_body : s->cfg.max_body_default;
        struct pool *p = &s->pools[r->pool];
        size_t have;
        if (h.cl > 0 && (unsigned long long)h.cl > max_body)
            return local_answer(s, c, 413, "body_too_large", "request body too large", NULL, 1);
        if (h.cl <= 0)
            return conn_dispatch(s, c);
        /* Reserve the whole body in the pool's budget before reading it, and
         * within the client address's share of it, so that clients that
         * declare big bodies and send them slowly cannot take it all. */
        pthread_mutex_lock(&s->mu);
        if ((size_t)h.cl > p->body_budget - p->body_held) {
            pthread_mutex_unlock(&s->mu);
            return local_answer(s, c, 503, "body_budget", "too many request bodies in flight",
                                "Retry-After: 1\r\n", 1);
        }
        if ((size_t)h.cl > p->addr_share - c->ae->held[r->pool]) {
            pthread_mutex_unlock(&s->mu);
            return local_answer(s, c, 503, "body_budget",
                                "too many request bodies in flight from this address",
                                "Retry-After: 1\r\n", 1);
        }
        p->body_held += (size_t)h.cl;
        c->ae->held[r->pool] += (size_t)h.cl;
        c->ae->holders++;
        r->held = (size_t)h.cl;
        r->ae = c->ae;
        pthread_mutex_unlock(&s->mu);
        r->body_want = (size_t)h.cl;
        r->body_cap = r->body_want < READ_CHUNK ? r->body_want : READ_CHUNK;
        have = c->inlen < r->body_want ? c->inlen : r->body_want;
        if (have > r->body_cap)
            r->body_cap = have;
        r->body = malloc(r->body_cap);
        if (r->body == NULL) {
            conn_close(s, c);
            return -1;
        }
        memcpy(r->body, c->in, have);
        r->body_len = have;
        consume_in(c, have);
        if (r->body_len == r->body_want)
            return conn_dispatch(s, c);
        if (h.expect_continue && have == 0) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            ssize_t w = send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL);
            (void)w; /* a fresh socket takes 25 bytes; if not, the client sends anyway */
        }
        c->st = C_BODY;
        c->since = now_ms();
        c->deadline = c->since + (int64_t)s->body_timeout_s * 1000;
        return 1;
    }
}

/* Advances the connection as far as its buffered bytes allow. */
static void conn_pump(arb_http_server *s, struct conn *c)
{
    for (;;) {
        int rc;
        if (c->st == C_HEAD)
            rc = conn_head(s, c);
        else if (c->st == C_WRITE)
            rc = conn_write(s, c);
        else
            return;
        if (rc <= 0)
            return;
    }
}

static void conn_readable(arb_http_server *s, struct conn *c)
{
    ssize_t n;

    if (c->st == C_HEAD) {
        size_t room;
        if (c->in == NULL) {
            c->incap = s->max_header + 1;
            if ((c->in = malloc(c->incap)) == NULL) {
                conn_close(s, c);
                return;
            }
        }
        room = c->incap - c->inlen;
        if (room == 0) { /* cannot happen: a full buffer is answered with 431 */
            conn_close(s, c);
            return;
        }
        n = recv(c->fd, c->in + c->inlen, room, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(s, c);
            return;
        }
        if (n < 0)
            return;
        if (!c->started) { /* empty lines before a request do not restart it */
            c->started = 1;
            c->deadline = now_ms() + (int64_t)s->header_timeout_s * 1000;
        }
        c->inlen += (size_t)n;
        conn_pump(s, c);
    } else if (c->st == C_BODY) {
        arb_http_req *r = c->req;
        if (r->body_len == r->body_cap) {
            size_t nc = r->body_cap * 2;
            uint8_t *nb;
            if (nc > r->body_want)
                nc = r->body_want;
            if ((nb = realloc(r->body, nc)) == NULL) {
                conn_close(s, c);
                return;
            }
            r->body = nb;
            r->body_cap = nc;
        }
        n = recv(c->fd, r->body + r->body_len, r->body_cap - r->body_len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(s, c);
            return;
        }
        if (n < 0)
            return;
        r->body_len += (size_t)n;
        if (r->body_len == r->body_want && conn_dispatch(s, c) > 0)
            conn_pump(s, c);
    } else if (c->st == C_LINGER) {
        n = recv(c->fd, s->rbuf, READ_CHUNK, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
            (c->lingered += n > 0 ? (size_t)n : 0) > LINGER_BYTES)
            conn_close(s, c);
    }
}

/* The oldest connection waiting for a request (from `peer` if not NULL), to
 * make room for a new one; NULL if none. */
static struct conn *evictable(arb_http_server *s, const struct addrent *peer)
{
    struct conn *best = NULL;
    for (struct conn *c = s->conns; c != NULL; c = c->next)
        if (c->st == C_HEAD && (peer == NULL || c->ae == peer) &&
            (best == NULL || c->since < best->since))
            best = c;
    return best;
}

/* The key a client is counted under: its IPv4 address, or the /64 of its
 * IPv6 address (one host usually has a whole /64). */
static void addr_key(const struct sockaddr_storage *ss, char *key, size_t cap)
{
    key[0] = '\0';
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, key, (socklen_t)cap);
    } else if (ss->ss_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            inet_ntop(AF_INET, &a.s6_addr[12], key, (socklen_t)cap);
            return;
        }
        memset(&a.s6_addr[8], 0, 8);
        inet_ntop(AF_INET6, &a, key, (socklen_t)cap);
        if (strlen(key) + 4 < cap)
            strcat(key, "/64");
    }
}

static void refuse(arb_http_server *s, int fd)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
                              "Content-Type: application/json\r\nContent-Length: 33\r\n"
                              "Retry-After: 1\r\nConnection: close\r\n\r\n"
                              "{\"error\":\"too many connections\"}\n";
    ssize_t w = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    /* Take what the client has sent already: closing with unread input would
     * reset the connection and could destroy the answer on its way. */
    (void)shutdown(fd, SHUT_WR);
    w = recv(fd, s->rbuf, READ_CHUNK, MSG_DONTWAIT);
    close(fd);
}

static void accept_conns(arb_http_server *s)
{
    for (int k = 0; k < 64; k++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char peer[64] = "", key[64];
        struct addrent *ae;
        struct conn *c;
        struct epoll_event e;
        int one = 1, fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: make room by closing the oldest idle
                 * one, else stop accepting for a tick (the listener would
                 * stay readable and spin the loop). */
                struct conn *old = evictable(s, NULL);
                if (old != NULL) {
                    arb_http_metric_add(s, "http_conns_evicted", 1);
                    conn_close(s, old);
                    continue;
                }
                arb_http_metric_add(s, "http_accept_paused", 1);
                (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
                s->accept_paused = 1;
            }
            return;
        }
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, peer, sizeof peer);
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, peer, sizeof peer);
        addr_key(&ss, key, sizeof key);
        ae = addr_find(s, key);
        if (ae != NULL && ae->n >= s->max_conns_per_addr) {
            struct conn *old = evictable(s, ae);
            if (old == NULL) {
                arb_http_metric_add(s, "http_conns_refused", 1);
                refuse(s, fd);
                continue;
            }
            arb_http_metric_add(s, "http_conns_evicted", 1);
            conn_close(s, old);
        }
        if (s->nconns >= s->max_conns) {
            struct conn *old = evictable(s, NULL);
            if (old == NULL) {
                arb_http_metric_add(s, "http_conns_refused", 1);
                refuse(s, fd);
                continue;
            }
            arb_http_metric_add(s, "http_conns_evicted", 1);
            conn_close(s, old);
        }
        c = calloc(1, sizeof *c);
        if (c == NULL || (c->ae = addr_get(s, key)) == NULL) {
            free(c);
            close(fd);
            continue;
        }
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        c->events = EPOLLIN;
        memset(&e, 0, sizeof e);
        e.events = EPOLLIN;
        e.data.ptr = c;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            addr_put(s, c->ae);
            free(c);
            close(fd);
            continue;
        }
        c->prev = s->conns_tail;
        if (s->conns_tail)
            s->conns_tail->next = c;
        else
            s->conns = c;
        s->conns_tail = c;
        s->nconns++;
        conn_idle(s, c, 1);
        arb_http_metric_add(s, "http_connections_accepted", 1);
    }
}

/* Takes the answered requests off the done queue and starts writing them. */
static void drain_done(arb_http_server *s)
{
    arb_http_req *r;

    pthread_mutex_lock(&s->mu);
    r = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (r != NULL) {
        arb_http_req *next = r->next;
        struct conn *c = r->c; /* changes only on this thread */
        if (c != NULL && c->req == r && c->st == C_WAIT && conn_start_write(s, c) > 0)
            conn_pump(s, c);
        req_unref(r); /* the handler's reference */
        r = next;
    }
}

static void expire(arb_http_server *s, int64_t now)
{
    struct conn *c = s->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        if (now < c->deadline)
            continue;
        switch (c->st) {
        case C_HEAD:
            if (c->started)
                arb_http_metric_add(s, "http_timeouts_header", 1);
            break;
        case C_BODY:
            arb_http_metric_add(s, "http_timeouts_body", 1);
            break;
        case C_WAIT:
            arb_http_metric_add(s, "http_timeouts_handler", 1);
            break;
        case C_WRITE:
            arb_http_metric_add(s, "http_timeouts_write", 1);
            break;
        case C_LINGER:
            break;
        }
        conn_close(s, c);
    }
}

static void publish_gauges(arb_http_server *s)
{
    size_t held = 0;
    char name[METRIC_NAME_MAX];
    arb_http_metric_set(s, "http_connections", (uint64_t)s->nconns);
    for (int i = 0; i < s->npools; i++) {
        size_t q;
        pthread_mutex_lock(&s->mu);
        q = s->pools[i].queued;
        held += s->pools[i].body_held;
        pthread_mutex_unlock(&s->mu);
        snprintf(name, sizeof name, "http_pool_%s_queued", s->pools[i].name);
        arb_http_metric_set(s, name, q);
    }
    arb_http_metric_set(s, "http_body_bytes_held", held);
}

static void free_dead(arb_http_server *s)
{
    while (s->dead != NULL) {
        struct conn *c = s->dead;
        s->dead = c->next;
        free(c);
    }
}

static void *io_main(void *arg)
{
    arb_http_server *s = arg;
    struct epoll_event ev[64];
    (void)pthread_setname_np(pthread_self(), "http-io");
    int64_t next_tick = 0, stop_at = 0;
    unsigned ticks = 0;

    for (;;) {
        int n = epoll_wait(s->epfd, ev, 64, TICK_MS);
        int64_t now;
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == &s->lfd) {
                accept_conns(s);
            } else if (p == &s->efd) {
                uint64_t v;
                ssize_t rd = read(s->efd, &v, sizeof v);
                (void)rd;
                drain_done(s);
            } else {
                struct conn *c = p;
                if (c->dead) /* closed earlier in this batch */
                    continue;
                if (ev[i].events & EPOLLOUT && c->st == C_WRITE)
                    conn_pump(s, c);
                else if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                    if (c->st == C_WAIT || c->st == C_WRITE) {
                        if (ev[i].events & (EPOLLHUP | EPOLLERR))
                            conn_close(s, c);
                    } else {
                        conn_readable(s, c);
                    }
                } else if (ev[i].events & EPOLLRDHUP && c->st == C_WAIT) {
                    /* The client shut its side: gone, unless it sent more
                     * (pipelined) requests first, which are then answered. */
                    char b;
                    ssize_t pk = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
                    if (c->inlen == 0 &&
                        (pk == 0 || (pk < 0 && errno != EAGAIN && errno != EINTR)))
                        conn_close(s, c);
                    else
                        conn_events(s, c, 0);
                }
            }
        }
        free_dead(s);
        now = now_ms();
        if (now >= next_tick) {
            if (s->accept_paused && s->lfd >= 0) {
                struct epoll_event e;
                memset(&e, 0, sizeof e);
                e.events = EPOLLIN;
                e.data.ptr = &s->lfd;
                (void)epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &e);
                s->accept_paused = 0;
            }
            expire(s, now);
            publish_gauges(s);
            if (++ticks % 10 == 0) /* addresses whose last request let go */
                for (unsigned b = 0; b < 256; b++)
                    if (s->addrs[b] != NULL)
                        addr_sweep(s, b);
            next_tick = now + TICK_MS;
        }
        if (atomic_load(&s->io_stop)) {
            int writing = 0;
            if (stop_at == 0) {
                stop_at = now + 1000;
                if (s->lfd >= 0) {
                    (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
                    close(s->lfd);
                    s->lfd = -1;
                }
            }
            drain_done(s);
            for (struct conn *c = s->conns; c != NULL; c = c->next)
                writing |= c->st == C_WRITE;
            if (!writing || now >= stop_at)
                break;
        }
    }
    while (s->conns != NULL)
        conn_close(s, s->conns);
    free_dead(s);
    pthread_mutex_lock(&s->mu);
    s->io_alive = 0;
    pthread_mutex_unlock(&s->mu);
    drain_done(s); /* answers that arrived meanwhile: all conn_gone now */
    return NULL;
}

/* ---------------------------------------------------------------- websocket thread */

/* Adopts the sockets the I/O thread handed over (websocket thread). */
static void adopt_handoffs(arb_http_server *s)
{
    struct ws_handoff *h;
    pthread_mutex_lock(&s->mu);
    h = s->handoffs;
    s->handoffs = NULL;
    pthread_mutex_unlock(&s->mu);
    while (h != NULL) {
        struct ws_handoff *next = h->next;
        /* On failure lws closes the socket itself. */
        (void)lws_adopt_socket_vhost_readbuf(s->vh, h->fd, h->buf, h->len);
        atomic_fetch_sub(&s->ws_handoffs_pending, 1);
        free(h);
        h = next;
    }
}

/* Protocol 0 of the lws context: adopted connections start here and leave
 * when their upgrade names a registered subprotocol. */
static int lws_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    arb_http_server *s = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        adopt_handoffs(s);
        arb_http_ws_hub_service(s->ws);
        return 0;
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_ESTABLISHED:
        return -1; /* not an upgrade to a registered subprotocol */
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static void *svc_main(void *arg)
{
    arb_http_server *s = arg;
    (void)pthread_setname_np(pthread_self(), "http-ws");
    while (!atomic_load(&s->svc_stop))
        if (lws_service(s->ctx, 0) < 0)
            break;
    pthread_mutex_lock(&s->mu);
    s->ctx_alive = 0;
    pthread_mutex_unlock(&s->mu);
    adopt_handoffs(s); /* lws adopts and, being destroyed, closes them */
    lws_context_destroy(s->ctx);
    arb_http_ws_hub_shutdown(s->ws);
    return NULL;
}

static arb_err ws_start(arb_http_server *s, arb_errbuf *eb)
{
    struct lws_context_creation_info info;
    size_t np = 0, nws = arb_http_ws_hub_nprotocols(s->ws);

    s->protocols = calloc(2 + nws, sizeof *s->protocols);
    if (s->protocols == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    s->protocols[np].name = "http";
    s->protocols[np].callback = lws_http_cb;
    np++;
    np += arb_http_ws_hub_fill_protocols(s->ws, &s->protocols[np]);
    /* lws logs through a process-wide hook; keep it quiet (errors come back to
     * us as return values and are reported through the logger). */
    lws_set_log_level(0, NULL);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = s->protocols;
    info.user = s;
    info.options = strchr(s->host, ':') != NULL ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
    info.max_http_header_data = (unsigned short)(s->max_header > WS_HANDOFF_MAX
                                                     ? s->max_header : WS_HANDOFF_MAX);
    info.max_http_header_pool = 64;
    info.timeout_secs = (unsigned)s->timeout_s;
    info.timeout_secs_ah_idle = (unsigned)s->header_timeout_s;
    info.pt_serv_buf_size = 16384;
    s->ctx = lws_create_context(&info);
    if (s->ctx == NULL)
        return arb_errf(eb, ARB_ERR_INTERNAL, "cannot create the websocket context");
    s->vh = lws_get_vhost_by_name(s->ctx, "default");
    arb_http_ws_hub_attach(s->ws, s->ctx, s->vh);
    s->ctx_alive = 1;
    if (pthread_create(&s->svc, NULL, svc_main, s) != 0) {
        s->ctx_alive = 0;
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        return arb_errf(eb, ARB_ERR_INTERNAL, "cannot start the websocket thread");
    }
    s->svc_started = 1;
    return ARB_OK;
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
    if (arb_metrics_new(&s->metrics, "arbor_") != ARB_OK ||
        arb_metrics_declare(s->metrics, "http_request_duration_seconds", ARB_METRIC_HISTOGRAM,
                            "Time from a request's first byte to its answer written, by route.",
                            "route", arb_metrics_latency_buckets,
                            arb_metrics_latency_nbuckets) != ARB_OK) {
        arb_metrics_free(s->metrics);
        free(s);
        return ARB_ERR_NOMEM;
    }
    s->cfg = *cfg;
    snprintf(s->host, sizeof s->host, "%s", cfg->listen_host ? cfg->listen_host : "127.0.0.1");
    s->cfg.listen_host = s->host;
    if (s->cfg.max_body_default == 0)
        s->cfg.max_body_default = DEFAULT_MAX_BODY;
    s->max_header = DEFAULT_MAX_HEADER;
    s->timeout_s = DEF_TIMEOUT;
    s->header_timeout_s = DEF_HEADER_TIMEOUT;
    s->body_timeout_s = DEF_BODY_TIMEOUT;
    s->idle_timeout_s = DEF_IDLE_TIMEOUT;
    s->max_conns = DEF_MAX_CONNS;
    s->max_conns_per_addr = DEF_MAX_CONNS_PER_ADDR;
    s->max_ws_peers = DEF_MAX_WS_PEERS;
    if (s->cfg.workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.workers = n > 2 ? (int)(2 * n) : 4;
    }
    s->lfd = s->efd = s->epfd = -1;
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->io_stop, 0);
    atomic_init(&s->svc_stop, 0);
    atomic_init(&s->ws_handoffs_pending, 0);
    (void)pool_get(s, "default");
    s->pools[0].workers = s->cfg.workers;
    s->pools[0].max_queue = 1024;
    s->started_at = time(NULL);
    *out = s;
    return ARB_OK;
}

arb_err arb_http_server_set_limits(arb_http_server *s, size_t max_header, int timeout_s)
{
    if (s == NULL || s->io_started || s->stopped || max_header > 65535 || timeout_s < 0 ||
        (max_header != 0 && max_header < 256))
        return ARB_ERR_INVALID_ARG;
    s->max_header = max_header ? max_header : DEFAULT_MAX_HEADER;
    s->timeout_s = timeout_s ? timeout_s : DEF_TIMEOUT;
    return ARB_OK;
}

/* Parses a size with an optional k/m/g suffix (powers of 1024). */
static int parse_size(const char *v, unsigned long long *out)
{
    char *end;
    unsigned long long n, mul = 1;
    if (v == NULL || *v < '0' || *v > '9')
        return 0;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno)
        return 0;
    if (*end == 'k' || *end == 'K')
        mul = 1ull << 10, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1ull << 20, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1ull << 30, end++;
    if (*end != '\0' || n > (1ull << 50) / mul)
        return 0;
    *out = n * mul;
    return 1;
}

arb_err arb_http_server_set_option(arb_http_server *s, const char *name, const char *value)
{
    unsigned long long v;
    const char *dash;

    if (s == NULL || name == NULL || s->io_started || s->stopped || !parse_size(value, &v))
        return ARB_ERR_INVALID_ARG;
#define INT_OPT(key, field, lo, hi)                                                               \
    if (strcmp(name, key) == 0) {                                                                 \
        if (v + 1 < (lo) + 1ull || v > (hi))                                                              \
            return ARB_ERR_INVALID_ARG;                                                           \
        s->field = (int)v;                                                                        \
        return ARB_OK;                                                                            \
    }
    INT_OPT("max-conns", max_conns, 1, 1000000)
    INT_OPT("max-conns-per-addr", max_conns_per_addr, 1, 1000000)
    INT_OPT("max-ws-peers", max_ws_peers, 0, 100000)
    INT_OPT("header-timeout", header_timeout_s, 1, 3600)
    INT_OPT("body-timeout", body_timeout_s, 1, 3600)
    INT_OPT("idle-timeout", idle_timeout_s, 1, 3600)
    INT_OPT("timeout", timeout_s, 1, 3600)
#undef INT_OPT
    if (strcmp(name, "max-header") == 0) {
        if (v < 256 || v > 65535)
            return ARB_ERR_INVALID_ARG;
        s->max_header = (size_t)v;
        return ARB_OK;
    }
    /* POOL-workers, POOL-queue, POOL-body-budget, POOL-nice */
    for (dash = strchr(name, '-'); dash != NULL; dash = strchr(dash + 1, '-')) {
        char pname[POOL_NAME_MAX];
        const char *key = dash + 1;
        int pi;
        struct pool *p;
        if ((size_t)(dash - name) >= sizeof pname)
            break;
        if (strcmp(key, "workers") && strcmp(key, "queue") && strcmp(key, "body-budget") &&
            strcmp(key, "nice"))
            continue;
        memcpy(pname, name, (size_t)(dash - name));
        pname[dash - name] = '\0';
        if ((pi = pool_get(s, pname)) < 0)
            return ARB_ERR_INVALID_ARG;
        p = &s->pools[pi];
        if (!strcmp(key, "workers")) {
            if (v < 1 || v > 256)
                return ARB_ERR_INVALID_ARG;
            p->workers = (int)v;
            if (pi == 0)
                s->cfg.workers = (int)v;
        } else if (!strcmp(key, "queue")) {
            if (v < 1 || v > 1000000)
                return ARB_ERR_INVALID_ARG;
            p->max_queue = (size_t)v;
        } else if (!strcmp(key, "body-budget")) {
            if (v < 1024)
                return ARB_ERR_INVALID_ARG;
            p->body_budget = (size_t)v;
        } else {
            if (v > 19)
                return ARB_ERR_INVALID_ARG;
            p->nice = (int)v;
        }
        return ARB_OK;
    }
    return ARB_ERR_INVALID_ARG;
}

arb_err arb_http_server_set_options(arb_http_server *s, char *const *kv, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        char name[64];
        const char *eq = kv[i] ? strchr(kv[i], '=') : NULL;
        if (eq == NULL || (size_t)(eq - kv[i]) >= sizeof name) {
            if (bad)
                *bad = i;
            return ARB_ERR_INVALID_ARG;
        }
        memcpy(name, kv[i], (size_t)(eq - kv[i]));
        name[eq - kv[i]] = '\0';
        if (arb_http_server_set_option(s, name, eq + 1) != ARB_OK) {
            if (bad)
                *bad = i;
            return ARB_ERR_INVALID_ARG;
        }
    }
    return ARB_OK;
}

arb_err arb_http_route_add_pool(arb_http_server *s, arb_http_method m, const char *path,
                                size_t max_body, arb_http_handler fn, void *ud, const char *pool)
{
    struct route *nr;
    int pi;

    if (s == NULL || path == NULL || path[0] != '/' || fn == NULL || s->io_started ||
        s->stopped || (m != ARB_HTTP_GET && m != ARB_HTTP_POST))
        return ARB_ERR_INVALID_ARG;
    if ((pi = pool_get(s, pool)) < 0)
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
    /* "/" alone is exact (a start page), or it would swallow every unknown path. */
    nr[s->nroutes].prefix = path[nr[s->nroutes].plen - 1] == '/' && nr[s->nroutes].plen > 1;
    nr[s->nroutes].max_body = max_body;
    nr[s->nroutes].fn = fn;
    nr[s->nroutes].fast = NULL;
    nr[s->nroutes].ud = ud;
    nr[s->nroutes].pool = pi;
    s->nroutes++;
    return ARB_OK;
}

arb_err arb_http_route_add(arb_http_server *s, arb_http_method m, const char *path,
                           size_t max_body, arb_http_handler fn, void *ud)
{
    return arb_http_route_add_pool(s, m, path, max_body, fn, ud, NULL);
}

arb_err arb_http_route_set_fast(arb_http_server *s, arb_http_method m, const char *path,
                                arb_http_fast_handler fast)
{
    if (s == NULL || path == NULL || s->io_started || s->stopped)
        return ARB_ERR_INVALID_ARG;
    for (size_t i = 0; i < s->nroutes; i++) {
        if (s->routes[i].m == m && strcmp(s->routes[i].path, path) == 0) {
            s->routes[i].fast = fast;
            return ARB_OK;
        }
    }
    return ARB_ERR_NOT_FOUND;
}

/* Opens the listening socket. Returns 0 or an errno (EINVAL: not a numeric
 * address). */
static int listen_on(arb_http_server *s)
{
    struct addrinfo hints, *ai = NULL;
    char sport[16];
    int fd, one = 1, err = 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    snprintf(sport, sizeof sport, "%d", s->cfg.port);
    if (getaddrinfo(s->host, sport, &hints, &ai) != 0 || ai == NULL)
        return EINVAL;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno;
    } else {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return err ? err : EINVAL;
    s->lfd = fd;
    s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

/* Makes sure the process may open max_conns sockets and some files besides. */
static void raise_nofile(arb_http_server *s)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)s->max_conns + 4096; /* and room for the store's files */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

static void stop_threads(arb_http_server *s);

arb_err arb_http_server_start(arb_http_server *s, arb_errbuf *eb)
{
    struct epoll_event e;
    int started = 0;

    if (s->io_started || s->stopped)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "server already started");
    {
        int err = listen_on(s);
        if (err == EINVAL)
            return arb_errf(eb, ARB_ERR_NET, "cannot listen on %s:%d: not a numeric address",
                            s->host, s->cfg.port);
        if (err != 0)
            return arb_errf(eb, ARB_ERR_NET, "cannot listen on %s:%d: %s", s->host, s->cfg.port,
                            strerror(err));
    }
    /* Built-in GET /metrics unless a module registered its own. */
    {
        int have = 0;
        for (size_t i = 0; i < s->nroutes; i++)
            have |= s->routes[i].m == ARB_HTTP_GET && strcmp(s->routes[i].path, "/metrics") == 0;
        if (!have && arb_http_route_add(s, ARB_HTTP_GET, "/metrics", 0, metrics_handler, s) != ARB_OK)
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    /* A pool's budget must hold its largest body, or such a body could never
     * be taken. */
    for (size_t i = 0; i < s->nroutes; i++) {
        struct pool *p = &s->pools[s->routes[i].pool];
        size_t mb = s->routes[i].max_body ? s->routes[i].max_body : s->cfg.max_body_default;
        if (s->routes[i].m == ARB_HTTP_POST && p->body_budget < mb) {
            arb_logf(&s->cfg.log, ARB_LOG_WARN,
                     "http: pool %s: body budget raised to %zu bytes for %s", p->name, mb,
                     s->routes[i].path);
            p->body_budget = mb;
        }
    }
    for (int i = 0; i < s->npools; i++) {
        struct pool *p = &s->pools[i];
        size_t largest = 0;
        for (size_t k = 0; k < s->nroutes; k++) {
            size_t mb = s->routes[k].max_body ? s->routes[k].max_body : s->cfg.max_body_default;
            if (s->routes[k].pool == i && s->routes[k].m == ARB_HTTP_POST && mb > largest)
                largest = mb;
        }
        p->addr_share = p->body_budget / 4 > largest ? p->body_budget / 4 : largest;
    }
    raise_nofile(s);
    s->rbuf = malloc(READ_CHUNK);
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->rbuf == NULL || s->efd < 0 || s->epfd < 0) {
        stop_threads(s);
        return arb_errf(eb, ARB_ERR_NOMEM, "cannot set up the event loop");
    }
    memset(&e, 0, sizeof e);
    e.events = EPOLLIN;
    e.data.ptr = &s->lfd;
    (void)epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &e);
    e.data.ptr = &s->efd;
    (void)epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &e);

    for (int i = 0; i < s->npools; i++) {
        struct pool *p = &s->pools[i];
        p->threads = calloc((size_t)p->workers, sizeof *p->threads);
        if (p->threads == NULL)
            break;
        for (int k = 0; k < p->workers; k++) {
            if (pthread_create(&p->threads[k], NULL, worker_main, p) != 0)
                break;
            p->nstarted++;
        }
        started += p->nstarted;
        if (p->nstarted == 0)
            break;
    }
    pthread_mutex_lock(&s->mu);
    s->io_alive = 1;
    pthread_mutex_unlock(&s->mu);
    if (s->ws != NULL) {
        arb_err err = ws_start(s, eb);
        if (err != ARB_OK) {
            stop_threads(s);
            return err;
        }
    }
    for (int i = 0; i < s->npools; i++)
        if (s->pools[i].nstarted == 0) {
            stop_threads(s);
            return arb_errf(eb, ARB_ERR_INTERNAL, "cannot start worker threads");
        }
    if (pthread_create(&s->io, NULL, io_main, s) != 0) {
        stop_threads(s);
        return arb_errf(eb, ARB_ERR_INTERNAL, "cannot start the I/O thread");
    }
    s->io_started = 1;
    arb_logf(&s->cfg.log, ARB_LOG_INFO,
             "http: listening on %s:%d with %d workers in %d pools (max %d connections, %d per "
             "address)",
             s->host, s->port, started, s->npools, s->max_conns, s->max_conns_per_addr);
    return ARB_OK;
}

int arb_http_server_port(const arb_http_server *s)
{
    return s->port;
}

static int is_our_thread(arb_http_server *s)
{
    pthread_t self = pthread_self();
    if ((s->io_started && pthread_equal(self, s->io)) ||
        (s->svc_started && pthread_equal(self, s->svc)))
        return 1;
    for (int i = 0; i < s->npools; i++)
        for (int k = 0; k < s->pools[i].nstarted; k++)
            if (pthread_equal(self, s->pools[i].threads[k]))
                return 1;
    return 0;
}

/* Stops whatever has started: workers, then the I/O thread, then the
 * websocket thread; drops requests still queued. */
static void stop_threads(arb_http_server *s)
{
    arb_http_req *r;
    s->stopped = 1;
    /* 1. Workers finish what they run and take nothing more. */
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    for (int i = 0; i < s->npools; i++)
        pthread_cond_broadcast(&s->pools[i].cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->npools; i++)
        for (int k = 0; k < s->pools[i].nstarted; k++)
            pthread_join(s->pools[i].threads[k], NULL);
    /* 2. The I/O thread flushes what is being written, then closes all. */
    if (s->io_started) {
        atomic_store(&s->io_stop, 1);
        wake_io(s);
        pthread_join(s->io, NULL);
    } else {
        pthread_mutex_lock(&s->mu);
        s->io_alive = 0;
        pthread_mutex_unlock(&s->mu);
    }
    /* 3. The websocket thread closes its connections. */
    if (s->svc_started) {
        atomic_store(&s->svc_stop, 1);
        pthread_mutex_lock(&s->mu);
        if (s->ctx_alive)
            lws_cancel_service(s->ctx);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->svc, NULL);
        s->svc_started = 0;
    }
    s->ctx = NULL;
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->efd >= 0)
        close(s->efd);
    if (s->epfd >= 0)
        close(s->epfd);
    s->lfd = s->efd = s->epfd = -1;
    /* 4. Requests still queued never reach a handler: drop their references. */
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->npools; i++) {
        while ((r = s->pools[i].head) != NULL) {
            s->pools[i].head = r->next;
            req_unref_locked(r);
        }
        s->pools[i].tail = NULL;
        s->pools[i].queued = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

void arb_http_server_stop(arb_http_server *s)
{
    if (s == NULL || s->stopped)
        return;
    /* From the server's own threads this would join itself. */
    if (is_our_thread(s)) {
        arb_logf(&s->cfg.log, ARB_LOG_ERROR, "http: stop called from a server thread: ignored");
        return;
    }
    stop_threads(s);
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
    for (int i = 0; i < s->npools; i++) {
        pthread_cond_destroy(&s->pools[i].cv);
        free(s->pools[i].threads);
    }
    for (int i = 0; i < 256; i++)
        while (s->addrs[i] != NULL) {
            struct addrent *e = s->addrs[i];
            s->addrs[i] = e->next;
            free(e);
        }
    pthread_mutex_destroy(&s->mu);
    arb_metrics_free(s->metrics);
    free(s->routes);
    free(s->protocols);
    free(s->rbuf);
    free(s);
}

/* ---------------------------------------------------------------- websocket glue */

arb_http_ws_hub *arb_http_server_ws_hub(arb_http_server *s, int create)
{
    if (s == NULL)
        return NULL;
    if (s->ws == NULL && create && !s->io_started && !s->stopped)
        s->ws = arb_http_ws_hub_new(&s->cfg.log);
    if (create && (s->io_started || s->stopped))
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
