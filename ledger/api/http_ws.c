/* Websocket subprotocols and outgoing websocket connections on the HTTP
 * server's libwebsockets context. See the "Websockets" part of http.h.
 *
 * Threads: the public functions run on any thread and only touch the hub's
 * lists under h->mu, then wake the service thread; everything that touches
 * lws runs on the service thread (the protocol callback and
 * arb_http_ws_hub_service). A connection record (struct wsconn) is linked in
 * h->conns while it is usable by id; the service thread unlinks it (under the
 * lock) when lws closes it, and only then frees it, so an id lookup never
 * returns freed memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/api/http_internal.h"
#include "ledger/api/http_ws_internal.h"

#define DEFAULT_MAX_MESSAGE (1u << 20)
#define DEFAULT_MAX_QUEUE (16u << 20)

struct wsmsg {
    struct wsmsg *next;
    size_t len;
    int binary;
    uint8_t buf[]; /* LWS_PRE bytes of headroom, then the message */
};

struct wsproto {
    arb_http_ws_proto p;
    struct arb_http_ws_hub *hub;
};

struct wsconn {
    struct wsconn *next;
    uint64_t id;
    struct wsproto *proto;
    struct lws *wsi; /* service thread only */
    int outgoing;
    int opened;       /* on_open was called */
    int want_write;   /* under mu: ask lws for a writeable callback */
    int close_req;    /* under mu: close once the queue is empty */
    int rx_want;      /* under mu: reading wanted: 1 on, 0 paused (arb_http_ws_pause) */
    int rx_on;        /* service thread: what lws was last told (1: reading) */
    int abort_req;    /* under mu: close now, dropping the queue (arb_http_ws_abort) */
    int abort_done;   /* service thread: lws was told to kill it */
    struct wsmsg *q_head, *q_tail; /* under mu */
    size_t q_bytes;   /* under mu */
    uint8_t *rx;      /* service thread: message being assembled */
    size_t rx_len, rx_cap;
    /* A pending outgoing connect (before it has a wsi). */
    char host[64];
    int port;
    int connect_pending; /* under mu */
};

struct arb_http_ws_hub {
    pthread_mutex_t mu;
    struct wsproto *protos;
    size_t nprotos;
    struct wsconn *conns; /* every record, pending connects included */
    uint64_t next_id;
    int work; /* under mu: something for arb_http_ws_hub_service */
    struct lws_context *ctx;
    struct lws_vhost *vh;
    arb_logger log;
    atomic_int incoming; /* open incoming connections */
    pthread_t svc;       /* the service thread, once svc_known */
    atomic_int svc_known;
};

arb_http_ws_hub *arb_http_ws_hub_new(const arb_logger *log)
{
    arb_http_ws_hub *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    h->next_id = 1;
    if (log)
        h->log = *log;
    return h;
}

static void conn_free(struct wsconn *c)
{
    struct wsmsg *m = c->q_head;
    while (m != NULL) {
        struct wsmsg *n = m->next;
        free(m);
        m = n;
    }
    free(c->rx);
    free(c);
}

void arb_http_ws_hub_free(arb_http_ws_hub *h)
{
    struct wsconn *c;
    if (h == NULL)
        return;
    /* After the context is destroyed only never-started connects remain. */
    while ((c = h->conns) != NULL) {
        h->conns = c->next;
        conn_free(c);
    }
    pthread_mutex_destroy(&h->mu);
    free(h->protos);
    free(h);
}

int arb_http_ws_hub_incoming(const arb_http_ws_hub *h)
{
    return h ? atomic_load(&((arb_http_ws_hub *)h)->incoming) : 0;
}

size_t arb_http_ws_hub_nprotocols(const arb_http_ws_hub *h)
{
    return h ? h->nprotos : 0;
}

/* Finds a usable connection by id. Caller holds h->mu. */
static struct wsconn *find_locked(arb_http_ws_hub *h, uint64_t id)
{
    for (struct wsconn *c = h->conns; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* Unlinks c (service thread). */
static void unlink_conn(arb_http_ws_hub *h, struct wsconn *c)
{
    pthread_mutex_lock(&h->mu);
    for (struct wsconn **pp = &h->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    pthread_mutex_unlock(&h->mu);
}

/* The connection is over: tell the module once, then free the record. */
static void conn_gone(arb_http_ws_hub *h, struct wsconn *c)
{
    unlink_conn(h, c);
    if (c->wsi)
        lws_set_opaque_user_data(c->wsi, NULL);
    c->proto->p.on_close(c->proto->p.ud, c->id);
    conn_free(c);
}

static int on_receive(struct wsconn *c, struct lws *wsi, const void *in, size_t len)
{
    size_t max = c->proto->p.max_message ? c->proto->p.max_message : DEFAULT_MAX_MESSAGE;

    if (lws_is_first_fragment(wsi))
        c->rx_len = 0;
    if (len > max - c->rx_len) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        return -1;
    }
    if (c->rx_len + len > c->rx_cap) {
        size_t nc = c->rx_cap ? c->rx_cap : 4096;
        uint8_t *nb;
        while (nc < c->rx_len + len)
            nc *= 2;
        if (nc > max)
            nc = max;
        nb = realloc(c->rx, nc ? nc : 1);
        if (nb == NULL)
            return -1;
        c->rx = nb;
        c->rx_cap = nc;
    }
    if (len)
        memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        c->proto->p.on_message(c->proto->p.ud, c->id, c->rx ? c->rx : (const uint8_t *)"",
                               c->rx_len, lws_frame_is_binary(wsi));
        c->rx_len = 0;
    }
    return 0;
}

static int on_writeable(arb_http_ws_hub *h, struct wsconn *c, struct lws *wsi)
{
    struct wsmsg *m;
    int more, closing, rc;

    pthread_mutex_lock(&h->mu);
    m = c->q_head;
    if (m != NULL) {
        c->q_head = m->next;
        if (c->q_head == NULL)
            c->q_tail = NULL;
        c->q_bytes -= m->len;
    }
    more = c->q_head != NULL;
    closing = c->close_req;
    pthread_mutex_unlock(&h->mu);

    if (m == NULL) {
        if (closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        return 0;
    }
    rc = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    free(m);
    if (rc < 0)
        return -1;
    if (more || closing)
        lws_callback_on_writable(wsi);
    else if (c->proto->p.on_writeable)
        c->proto->p.on_writeable(c->proto->p.ud, c->id);
    return 0;
}

/* Tells lws to pause or resume reading c if the wanted state changed
 * (service thread). lws_rx_flow_control takes effect at once, also inside
 * this connection's own receive callback: the rest of the bytes read are
 * kept by lws until reading resumes. */
static void apply_rxflow(arb_http_ws_hub *h, struct wsconn *c)
{
    int want;
    pthread_mutex_lock(&h->mu);
    want = c->rx_want;
    pthread_mutex_unlock(&h->mu);
    if (c->wsi == NULL || !c->opened || want == c->rx_on)
        return;
    c->rx_on = want;
    (void)lws_rx_flow_control(c->wsi, want);
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    const struct lws_protocols *lp = lws_get_protocol(wsi);
    struct wsproto *wp = lp ? lp->user : NULL;
    arb_http_ws_hub *h = wp ? wp->hub : NULL;
    struct wsconn *c = lws_get_opaque_user_data(wsi);

    if (h != NULL && !atomic_load(&h->svc_known)) {
        h->svc = pthread_self();
        atomic_store(&h->svc_known, 1);
    }
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        char peer[64] = "";
        if (h == NULL)
            return -1;
        c = calloc(1, sizeof *c);
        if (c == NULL)
            return -1;
        c->proto = wp;
        c->wsi = wsi;
        c->rx_want = c->rx_on = 1;
        lws_get_peer_simple(wsi, peer, sizeof peer);
        pthread_mutex_lock(&h->mu);
        c->id = h->next_id++;
        c->next = h->conns;
        h->conns = c;
        pthread_mutex_unlock(&h->mu);
        lws_set_opaque_user_data(wsi, c);
        c->opened = 1;
        atomic_fetch_add(&h->incoming, 1);
        wp->p.on_open(wp->p.ud, c->id, 0, peer);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED: {
        int pending;
        if (c == NULL)
            return -1;
        c->wsi = wsi;
        c->opened = 1;
        c->proto->p.on_open(c->proto->p.ud, c->id, 1, c->host);
        /* Messages (or a close) queued before the handshake completed. */
        pthread_mutex_lock(&c->proto->hub->mu);
        pending = c->q_head != NULL || c->close_req;
        c->want_write = 0;
        pthread_mutex_unlock(&c->proto->hub->mu);
        if (pending)
            lws_callback_on_writable(wsi);
        apply_rxflow(c->proto->hub, c);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return c ? on_receive(c, wsi, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return c ? on_writeable(c->proto->hub, c, wsi) : 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c != NULL)
            arb_logf(&c->proto->hub->log, ARB_LOG_WARN, "ws: connection to %s:%d failed: %.*s",
                     c->host, c->port, in ? (int)len : 7, in ? (const char *)in : "unknown");
        /* fall through */
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c != NULL) {
            c->wsi = wsi;
            if (!c->outgoing && c->opened)
                atomic_fetch_sub(&c->proto->hub->incoming, 1);
            conn_gone(c->proto->hub, c);
        }
        return 0;
    default:
        break;
    }
    return 0;
}

size_t arb_http_ws_hub_fill_protocols(arb_http_ws_hub *h, struct lws_protocols *out)
{
    for (size_t i = 0; i < h->nprotos; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].name = h->protos[i].p.name;
        out[i].callback = ws_cb;
        out[i].per_session_data_size = 0;
        out[i].rx_buffer_size = 0;
        out[i].user = &h->protos[i];
    }
    return h->nprotos;
}

void arb_http_ws_hub_attach(arb_http_ws_hub *h, struct lws_context *ctx, struct lws_vhost *vh)
{
    pthread_mutex_lock(&h->mu);
    h->ctx = ctx;
    h->vh = vh;
    pthread_mutex_unlock(&h->mu);
}

/* Starts a pending outgoing connection (service thread). */
static void start_connect(arb_http_ws_hub *h, struct wsconn *c)
{
    struct lws_client_connect_info ci;
    char hosthdr[80];

    memset(&ci, 0, sizeof ci);
    snprintf(hosthdr, sizeof hosthdr, "%s:%d", c->host, c->port);
    ci.context = h->ctx;
    ci.vhost = h->vh;
    ci.address = c->host;
    ci.port = c->port;
    ci.path = "/";
    ci.host = hosthdr;
    ci.origin = hosthdr;
    ci.protocol = c->proto->p.name;
    ci.local_protocol_name = c->proto->p.name;
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = c;
    {
        uint64_t id = c->id;
        struct lws *wsi = lws_client_connect_via_info(&ci);
        /* lws may already have reported CLIENT_CONNECTION_ERROR from inside
         * that call (and so freed c through conn_gone): look it up again by
         * its id, which is never reused, before touching it. */
        pthread_mutex_lock(&h->mu);
        c = find_locked(h, id);
        pthread_mutex_unlock(&h->mu);
        if (c == NULL)
            return;
        if (wsi == NULL) {
            c->wsi = NULL;
            conn_gone(h, c);
            return;
        }
        c->wsi = wsi;
    }
}

void arb_http_ws_hub_service(arb_http_ws_hub *h)
{
    for (;;) {
        struct wsconn *todo = NULL;
        int connect = 0;

        pthread_mutex_lock(&h->mu);
        if (!h->work) {
            pthread_mutex_unlock(&h->mu);
            return;
        }
        for (struct wsconn *c = h->conns; c != NULL; c = c->next) {
            if (c->connect_pending) {
                c->connect_pending = 0;
                todo = c;
                connect = 1;
                break;
            }
            if (c->want_write && c->wsi != NULL && c->opened) {
                c->want_write = 0;
                todo = c;
                break;
            }
            if (c->rx_want != c->rx_on && c->wsi != NULL && c->opened) {
                todo = c;
                connect = 2;
                break;
            }
            if (c->abort_req && !c->abort_done && c->wsi != NULL && c->opened) {
                c->abort_done = 1;
                todo = c;
                connect = 3;
                break;
            }
        }
        if (todo == NULL)
            h->work = 0;
        pthread_mutex_unlock(&h->mu);
        if (todo == NULL)
            return;
        if (connect == 1)
            start_connect(h, todo);
        else if (connect == 2)
            apply_rxflow(h, todo);
        else if (connect == 3) /* closed from the service loop, writable or not */
            lws_set_timeout(todo->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        else
            lws_callback_on_writable(todo->wsi);
    }
}

void arb_http_ws_hub_shutdown(arb_http_ws_hub *h)
{
    for (;;) {
        struct wsconn *c;
        pthread_mutex_lock(&h->mu);
        c = h->conns;
        if (c != NULL)
            h->conns = c->next;
        h->ctx = NULL; /* no more dials */
        pthread_mutex_unlock(&h->mu);
        if (c == NULL)
            return;
        c->proto->p.on_close(c->proto->p.ud, c->id);
        conn_free(c);
    }
}

/* ---------------------------------------------------------------- public API */

/* "a.b.c.d:port" or "[v6]:port" with a numeric host. Returns 1 or 0. */
static int split_hostport(const char *s, char *host, size_t cap, int *port)
{
    const char *h = s, *hend, *colon;
    unsigned char tmp[16];
    char *end;
    long p;

    if (*s == '[') {
        hend = strchr(s, ']');
        if (hend == NULL || hend[1] != ':')
            return 0;
        h = s + 1;
        colon = hend + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return 0;
        hend = colon;
    }
    if (hend == h || (size_t)(hend - h) >= cap || colon[1] < '0' || colon[1] > '9')
        return 0;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || *end || p < 1 || p > 65535)
        return 0;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    if (inet_pton(*s == '[' ? AF_INET6 : AF_INET, host, tmp) != 1)
        return 0;
    *port = (int)p;
    return 1;
}

/* Subprotocol names travel in Sec-WebSocket-Protocol, a list of HTTP tokens
 * (RFC 6455 4.1): keep to letters, digits and "._-". */
static int name_ok(const char *n)
{
    if (n == NULL || !*n || strlen(n) > 64)
        return 0;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              *n == '.' || *n == '_' || *n == '-'))
            return 0;
    return 1;
}

arb_err arb_http_ws_add(arb_http_server *s, const arb_http_ws_proto *p)
{
    arb_http_ws_hub *h;
    struct wsproto *np;

    if (s == NULL || p == NULL || !name_ok(p->name) || p->on_open == NULL ||
        p->on_message == NULL || p->on_close == NULL || strcmp(p->name, "http") == 0)
        return ARB_ERR_INVALID_ARG;
    h = arb_http_server_ws_hub(s, 1);
    if (h == NULL)
        return ARB_ERR_INVALID_ARG; /* already started (or out of memory) */
    for (size_t i = 0; i < h->nprotos; i++)
        if (strcmp(h->protos[i].p.name, p->name) == 0)
            return ARB_ERR_EXISTS;
    np = realloc(h->protos, (h->nprotos + 1) * sizeof *np);
    if (np == NULL)
        return ARB_ERR_NOMEM;
    h->protos = np;
    np[h->nprotos].p = *p;
    np[h->nprotos].hub = h;
    h->nprotos++;
    /* The array may have moved: re-point the hub links. */
    for (size_t i = 0; i < h->nprotos; i++)
        h->protos[i].hub = h;
    return ARB_OK;
}

arb_err arb_http_ws_connect(arb_http_server *s, const char *name, const char *hostport,
                            uint64_t *conn)
{
    arb_http_ws_hub *h = arb_http_server_ws_hub(s, 0);
    struct wsproto *wp = NULL;
    struct wsconn *c;
    char host[64];
    int port;

    *conn = 0;
    if (h == NULL || name == NULL || hostport == NULL)
        return ARB_ERR_INVALID_ARG;
    for (size_t i = 0; i < h->nprotos; i++)
        if (strcmp(h->protos[i].p.name, name) == 0)
            wp = &h->protos[i];
    if (wp == NULL || !split_hostport(hostport, host, sizeof host, &port))
        return ARB_ERR_INVALID_ARG;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return ARB_ERR_NOMEM;
    c->proto = wp;
    c->outgoing = 1;
    c->rx_want = c->rx_on = 1;
    memcpy(c->host, host, sizeof host);
    c->port = port;
    c->connect_pending = 1;
    pthread_mutex_lock(&h->mu);
    if (h->ctx == NULL) {
        pthread_mutex_unlock(&h->mu);
        free(c);
        return ARB_ERR_INVALID_ARG;
    }
    c->id = h->next_id++;
    c->next = h->conns;
    h->conns = c;
    h->work = 1;
    *conn = c->id;
    pthread_mutex_unlock(&h->mu);
    if (!arb_http_server_wake(s)) {
        /* Stopping: take the record back unless the shutdown already has
         * (then it has reported on_close for it, and the id stands). */
        int found = 0;
        uint64_t id = *conn;
        pthread_mutex_lock(&h->mu);
        for (struct wsconn **pp = &h->conns; *pp != NULL; pp = &(*pp)->next)
            if ((*pp)->id == id) {
                c = *pp;
                *pp = c->next;
                found = 1;
                break;
            }
        pthread_mutex_unlock(&h->mu);
        if (found) {
            conn_free(c);
            *conn = 0;
            return ARB_ERR_INVALID_ARG;
        }
    }
    return ARB_OK;
}

arb_err arb_http_ws_send(arb_http_server *s, uint64_t conn, const void *data, size_t len,
                         int binary)
{
    arb_http_ws_hub *h = arb_http_server_ws_hub(s, 0);
    struct wsconn *c;
    struct wsmsg *m;
    size_t maxq;

    if (h == NULL)
        return ARB_ERR_NOT_FOUND;
    if (len > SIZE_MAX - sizeof *m - LWS_PRE)
        return ARB_ERR_NOMEM;
    m = malloc(sizeof *m + LWS_PRE + len);
    if (m == NULL)
        return ARB_ERR_NOMEM;
    m->next = NULL;
    m->len = len;
    m->binary = binary != 0;
    if (len)
        memcpy(m->buf + LWS_PRE, data, len);
    pthread_mutex_lock(&h->mu);
    c = find_locked(h, conn);
    if (c == NULL || c->close_req) {
        pthread_mutex_unlock(&h->mu);
        free(m);
        return ARB_ERR_NOT_FOUND;
    }
    maxq = c->proto->p.max_queue ? c->proto->p.max_queue : DEFAULT_MAX_QUEUE;
    if (len > maxq - (c->q_bytes < maxq ? c->q_bytes : maxq) || c->q_bytes >= maxq) {
        pthread_mutex_unlock(&h->mu);
        free(m);
        return ARB_ERR_BUSY;
    }
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q_head = m;
    c->q_tail = m;
    c->q_bytes += len;
    c->want_write = 1;
    h->work = 1;
    pthread_mutex_unlock(&h->mu);
    (void)arb_http_server_wake(s);
    return ARB_OK;
}

size_t arb_http_ws_queued(arb_http_server *s, uint64_t conn)
{
    arb_http_ws_hub *h = arb_http_server_ws_hub(s, 0);
    struct wsconn *c;
    size_t q = 0;
    if (h == NULL)
        return 0;
    pthread_mutex_lock(&h->mu);
    c = find_locked(h, conn);
    if (c != NULL)
        q = c->q_bytes;
    pthread_mutex_unlock(&h->mu);
    return q;
}

arb_err arb_http_ws_pause(arb_http_server *s, uint64_t conn, int paused)
{
    arb_http_ws_hub *h = arb_http_server_ws_hub(s, 0);
    struct wsconn *c;
    int here;

    if (h == NULL)
        return ARB_ERR_NOT_FOUND;
    here = atomic_load(&h->svc_known) && pthread_equal(h->svc, pthread_self());
    pthread_mutex_lock(&h->mu);
    c = find_locked(h, conn);
    if (c == NULL) {
        pthread_mutex_unlock(&h->mu);
        return ARB_ERR_NOT_FOUND;
    }
    c->rx_want = !paused;
    if (!here)
        h->work = 1;
    pthread_mutex_unlock(&h->mu);
    /* On the service thread (from a callback) the change is made now, so
     * not one more message is read; elsewhere the service thread is woken. */
    if (here)
        apply_rxflow(h, c);
    else
        (void)arb_http_server_wake(s);
    return ARB_OK;
}

arb_err arb_http_ws_abort(arb_http_server *s, uint64_t conn)
{
    arb_http_ws_hub *h = arb_http_server_ws_hub(s, 0);
    struct wsconn *c;
    struct wsmsg *m;

    if (h == NULL)
        return ARB_ERR_NOT_FOUND;
    pthread_mutex_lock(&h->mu);
    c = find_locked(h, conn);
    if (c == NULL || c->abort_req) {
        pthread_mutex_unlock(&h->mu);
        return ARB_ERR_NOT_FOUND;
    }
    m = c->q_head;
    c->q_head = c->q_tail = NULL;
    c->q_bytes = 0;
    c->close_req = 1;
    c->abort_req = 1;
    h->work = 1;
    if (!c->opened) /* a dial not yet open: closed when it opens */
        c->want_write = 1;
    pthread_mutex_unlock(&h->mu);
    while (m != NULL) {
        struct wsmsg *nx = m->next;
        free(m);
        m = nx;
    }
    (void)arb_http_server_wake(s);
    return ARB_OK;
}

arb_err arb_http_ws_close(arb_http_server *s, uint64_t conn)
{
    arb_http_ws_hub *h = arb_http_server_ws_hub(s, 0);
    struct wsconn *c;

    if (h == NULL)
        return ARB_ERR_NOT_FOUND;
    pthread_mutex_lock(&h->mu);
    c = find_locked(h, conn);
    if (c == NULL || c->close_req) {
        pthread_mutex_unlock(&h->mu);
        return ARB_ERR_NOT_FOUND;
    }
    c->close_req = 1;
    c->want_write = 1;
    h->work = 1;
    pthread_mutex_unlock(&h->mu);
    (void)arb_http_server_wake(s);
    return ARB_OK;
}
