/* The websocket extension of the HTTP server: a server dials itself, so both
 * ends of every connection are ours. Checks open/message/close events, echo of
 * text and large binary messages in order, the message size cap, closes from
 * either side, a failed dial, sends to dead ids, pausing and resuming reads,
 * an abort with a full queue, and stop with open sockets. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/api/http.h"
#include "tests/test.h"

#define PROTO "arbor-test.v1"
#define MAX_MSG (512 * 1024)
#define MAX_EVENTS 4096

enum { EV_OPEN = 1, EV_MSG, EV_CLOSE };

struct event {
    int kind;
    uint64_t conn;
    int outgoing;
    int binary;
    uint8_t *data;
    size_t len;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct event events[MAX_EVENTS];
static size_t nevents;
static uint64_t incoming[64]; /* server-side conn ids, in order of opening */
static size_t nincoming;
static arb_http_server *srv;
static int port;

static void push(struct event e)
{
    pthread_mutex_lock(&mu);
    if (nevents < MAX_EVENTS)
        events[nevents++] = e;
    else
        free(e.data);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_open(void *ud, uint64_t conn, int outgoing, const char *peer)
{
    struct event e = {EV_OPEN, conn, outgoing, 0, NULL, 0};
    if (!outgoing) {
        pthread_mutex_lock(&mu);
        if (nincoming < 64)
            incoming[nincoming++] = conn;
        pthread_mutex_unlock(&mu);
    }
    (void)peer;
    push(e);
}

/* Incoming connections echo; outgoing ones record. */
static void on_message(void *ud, uint64_t conn, const uint8_t *data, size_t len, int binary)
{
    int is_incoming = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nincoming; i++)
        is_incoming |= incoming[i] == conn;
    pthread_mutex_unlock(&mu);
    if (is_incoming) {
        if (len == 5 && memcmp(data, "close", 5) == 0)
            (void)arb_http_ws_close(srv, conn);
        else
            (void)arb_http_ws_send(srv, conn, data, len, binary);
        return;
    }
    struct event e = {EV_MSG, conn, 1, binary, malloc(len ? len : 1), len};
    if (e.data && len)
        memcpy(e.data, data, len);
    push(e);
}

static void on_close(void *ud, uint64_t conn)
{
    struct event e = {EV_CLOSE, conn, 0, 0, NULL, 0};
    push(e);
}

/* Waits until an event of `kind` on `conn` (0: any conn) exists past index
 * *from; returns its index or -1 after 5 s. */
static long wait_event(int kind, uint64_t conn, size_t from)
{
    struct timespec dl;
    long found = -1;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&mu);
    for (;;) {
        for (size_t i = from; i < nevents; i++)
            if (events[i].kind == kind && (conn == 0 || events[i].conn == conn)) {
                found = (long)i;
                break;
            }
        if (found >= 0 || pthread_cond_timedwait(&cv, &mu, &dl) != 0)
            break;
    }
    pthread_mutex_unlock(&mu);
    return found;
}

static size_t count_kind(int kind)
{
    size_t n = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nevents; i++)
        n += events[i].kind == kind;
    pthread_mutex_unlock(&mu);
    return n;
}

static uint64_t dial(uint64_t *server_side)
{
    uint64_t id = 0;
    size_t before;
    pthread_mutex_lock(&mu);
    before = nincoming;
    pthread_mutex_unlock(&mu);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    if (arb_http_ws_connect(srv, PROTO, addr, &id) != ARB_OK)
        return 0;
    if (wait_event(EV_OPEN, id, 0) < 0) {
        for (size_t i = 0; i < nevents; i++)
            fprintf(stderr, "event %d conn %llu\n", events[i].kind, (unsigned long long)events[i].conn);
        return 0;
    }
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&mu);
        if (nincoming > before) {
            *server_side = incoming[before];
            pthread_mutex_unlock(&mu);
            return id;
        }
        pthread_mutex_unlock(&mu);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void h_hello(void *ud, arb_http_req *req)
{
    (void)arb_http_respond(req, 200, "text/plain", NULL, "hello", 5);
}

static void test_echo(void)
{
    uint64_t srv_side = 0, id = dial(&srv_side);
    size_t from;
    long i;
    CHECK(id != 0 && srv_side != 0 && srv_side != id);

    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_send(srv, id, "hello", 5, 0) == ARB_OK);
    i = wait_event(EV_MSG, id, from);
    CHECK(i >= 0);
    CHECK_EQ(events[i].len, 5);
    CHECK_MEM(events[i].data, "hello", 5);
    CHECK_EQ(events[i].binary, 0);

    /* A large binary message and then many small ones, in order. */
    size_t big = 300 * 1024;
    uint8_t *b = malloc(big);
    CHECK(b != NULL);
    arb_test_rand_bytes(b, big);
    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_send(srv, id, b, big, 1) == ARB_OK);
    for (int k = 0; k < 50; k++) {
        uint8_t m[4] = {'m', (uint8_t)k, 0, 0};
        CHECK(arb_http_ws_send(srv, id, m, sizeof m, 1) == ARB_OK);
    }
    i = wait_event(EV_MSG, id, from);
    CHECK(i >= 0);
    CHECK_EQ(events[i].len, big);
    CHECK_MEM(events[i].data, b, big);
    CHECK_EQ(events[i].binary, 1);
    for (int k = 0; k < 50; k++) {
        i = wait_event(EV_MSG, id, (size_t)i + 1);
        CHECK(i >= 0);
        CHECK_EQ(events[i].len, 4);
        CHECK_EQ(events[i].data[1], k);
    }
    free(b);

    /* HTTP keeps working beside the sockets. */
    {
        CURL *h = curl_easy_init();
        char url[64];
        long st = 0;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", port);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL);
        FILE *devnull = fopen("/dev/null", "w");
        curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
        CHECK(curl_easy_perform(h) == CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        curl_easy_cleanup(h);
        fclose(devnull);
        CHECK_EQ(st, 200);
    }

    /* We close our end: both ends report the close; the ids are dead. */
    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_close(srv, id) == ARB_OK);
    CHECK(wait_event(EV_CLOSE, id, from) >= 0);
    CHECK(wait_event(EV_CLOSE, srv_side, from) >= 0);
    CHECK(arb_http_ws_send(srv, id, "x", 1, 0) == ARB_ERR_NOT_FOUND);
    CHECK(arb_http_ws_send(srv, srv_side, "x", 1, 0) == ARB_ERR_NOT_FOUND);
    CHECK(arb_http_ws_close(srv, id) == ARB_ERR_NOT_FOUND);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Receive flow control: a paused connection reads nothing (its echo does
 * not come) until it is resumed; a connection whose peer does not read is
 * closed at once by arb_http_ws_abort, its queue dropped. */
static void test_pause_and_abort(void)
{
    uint64_t srv_side = 0, id = dial(&srv_side);
    size_t from;
    long i;
    CHECK(id != 0 && srv_side != 0);
    CHECK(arb_http_ws_pause(srv, srv_side, 1) == ARB_OK);
    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_send(srv, id, "p1", 2, 0) == ARB_OK);
    sleep_ms(300);
    pthread_mutex_lock(&mu);
    int early = 0;
    for (size_t k = from; k < nevents; k++)
        early |= events[k].kind == EV_MSG && events[k].conn == id;
    pthread_mutex_unlock(&mu);
    CHECK(!early); /* the server side did not read it */
    CHECK(arb_http_ws_pause(srv, srv_side, 0) == ARB_OK);
    i = wait_event(EV_MSG, id, from);
    CHECK(i >= 0 && events[i].len == 2 && memcmp(events[i].data, "p1", 2) == 0);

    CHECK(arb_http_ws_queued(srv, 999999) == 0);
    CHECK(arb_http_ws_pause(srv, 999999, 1) == ARB_ERR_NOT_FOUND);
    CHECK(arb_http_ws_abort(srv, 999999) == ARB_ERR_NOT_FOUND);

    /* The dialling side stops reading; the server side queues 12 MB, more
     * than the sockets take, and aborts. */
    size_t big = 400 * 1024;
    uint8_t *b = calloc(1, big);
    CHECK(b != NULL);
    CHECK(arb_http_ws_pause(srv, id, 1) == ARB_OK);
    for (int k = 0; k < 30 && b != NULL; k++)
        CHECK(arb_http_ws_send(srv, srv_side, b, big, 1) == ARB_OK);
    free(b);
    sleep_ms(300);
    CHECK(arb_http_ws_queued(srv, srv_side) > 0);
    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_abort(srv, srv_side) == ARB_OK);
    CHECK(arb_http_ws_abort(srv, srv_side) == ARB_ERR_NOT_FOUND);
    CHECK(wait_event(EV_CLOSE, srv_side, from) >= 0);
    CHECK(arb_http_ws_queued(srv, srv_side) == 0);
    /* The other end (ours, paused: it would not notice) reads again and
     * finds the connection gone. */
    CHECK(arb_http_ws_pause(srv, id, 0) == ARB_OK);
    CHECK(wait_event(EV_CLOSE, id, from) >= 0);
}

static void test_peer_close_and_limits(void)
{
    uint64_t srv_side = 0, id = dial(&srv_side);
    size_t from;
    CHECK(id != 0);
    /* The other end closes (it closes on "close"). */
    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_send(srv, id, "close", 5, 0) == ARB_OK);
    CHECK(wait_event(EV_CLOSE, id, from) >= 0);
    CHECK(wait_event(EV_CLOSE, srv_side, from) >= 0);

    /* A message over the receiver's cap closes the connection. */
    id = dial(&srv_side);
    CHECK(id != 0);
    size_t n = MAX_MSG + 1;
    uint8_t *b = calloc(1, n);
    CHECK(b != NULL);
    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_send(srv, id, b, n, 1) == ARB_OK);
    CHECK(wait_event(EV_CLOSE, srv_side, from) >= 0);
    CHECK(wait_event(EV_CLOSE, id, from) >= 0);
    free(b);

    /* Dialling a closed port: a close without an open. */
    {
        uint64_t bad = 0;
        char addr[32];
        int p = arb_test_free_port();
        snprintf(addr, sizeof addr, "127.0.0.1:%d", p);
        pthread_mutex_lock(&mu);
        from = nevents;
        pthread_mutex_unlock(&mu);
        CHECK(arb_http_ws_connect(srv, PROTO, addr, &bad) == ARB_OK);
        CHECK(bad != 0);
        CHECK(wait_event(EV_CLOSE, bad, from) >= 0);
    }
    {
        uint64_t x;
        CHECK(arb_http_ws_connect(srv, PROTO, "localhost:80", &x) == ARB_ERR_INVALID_ARG);
        CHECK(arb_http_ws_connect(srv, "other", "127.0.0.1:80", &x) == ARB_ERR_INVALID_ARG);
        CHECK(arb_http_ws_send(srv, 999999, "x", 1, 0) == ARB_ERR_NOT_FOUND);
    }
}

/* At most max-ws-peers (3 here) incoming connections: the next upgrade is
 * refused (the dial closes without opening); closing one makes room. Our own
 * dials are not counted against it. */
static void test_peer_limit(void)
{
    uint64_t ids[3], sides[3], extra = 0;
    size_t from;
    char addr[32];

    for (int i = 0; i < 3; i++) {
        ids[i] = dial(&sides[i]);
        CHECK(ids[i] != 0);
    }
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_connect(srv, PROTO, addr, &extra) == ARB_OK);
    CHECK(wait_event(EV_CLOSE, extra, from) >= 0);
    {
        int opened = 0;
        pthread_mutex_lock(&mu);
        for (size_t i = 0; i < nevents; i++)
            opened |= events[i].kind == EV_OPEN && events[i].conn == extra;
        pthread_mutex_unlock(&mu);
        CHECK(!opened);
    }
    pthread_mutex_lock(&mu);
    from = nevents;
    pthread_mutex_unlock(&mu);
    CHECK(arb_http_ws_close(srv, ids[0]) == ARB_OK);
    CHECK(wait_event(EV_CLOSE, sides[0], from) >= 0);
    ids[0] = dial(&sides[0]);
    CHECK(ids[0] != 0);
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&mu);
        from = nevents;
        pthread_mutex_unlock(&mu);
        CHECK(arb_http_ws_close(srv, ids[i]) == ARB_OK);
        CHECK(wait_event(EV_CLOSE, sides[i], from) >= 0);
    }
}

static void log_stderr(void *ud, int level, const char *msg)
{
    if (level <= ARB_LOG_WARN)
        fprintf(stderr, "log: %s\n", msg);
}

int main(void)
{
    arb_http_config cfg = {"127.0.0.1", 0, 2, 0, {log_stderr, NULL}};
    arb_http_ws_proto p;
    arb_errbuf eb;
    uint64_t a = 0, b = 0;

    arb_test_seed_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    memset(&p, 0, sizeof p);
    p.name = PROTO;
    p.max_message = MAX_MSG;
    p.on_open = on_open;
    p.on_message = on_message;
    p.on_close = on_close;
    CHECK_OR(arb_http_server_new(&srv, &cfg) == ARB_OK, 1);
    CHECK_OR(arb_http_ws_add(srv, &p) == ARB_OK, 1);
    CHECK_OR(arb_http_ws_add(srv, &p) == ARB_ERR_EXISTS, 1);
    {
        arb_http_ws_proto q = p;
        q.name = "has/slash"; /* not an HTTP token */
        CHECK_OR(arb_http_ws_add(srv, &q) == ARB_ERR_INVALID_ARG, 1);
        q.name = "http";
        CHECK_OR(arb_http_ws_add(srv, &q) == ARB_ERR_INVALID_ARG, 1);
    }
    CHECK_OR(arb_http_route_add(srv, ARB_HTTP_GET, "/hello", 0, h_hello, NULL) == ARB_OK, 1);
    CHECK_OR(arb_http_server_set_option(srv, "max-ws-peers", "3") == ARB_OK, 1);
    CHECK_OR(arb_http_server_start(srv, &eb) == ARB_OK, 1);
    port = arb_http_server_port(srv);
    p.name = "late";
    CHECK_OR(arb_http_ws_add(srv, &p) == ARB_ERR_INVALID_ARG, 1);

    test_echo();
    test_pause_and_abort();
    test_peer_close_and_limits();
    test_peer_limit();

    /* Stop with two connections open: every open gets its close. */
    CHECK_OR(dial(&a) != 0 && dial(&b) != 0, 1);
    /* Dials still in flight at stop get their on_close too. */
    uint64_t late[5];
    {
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
        for (int i = 0; i < 5; i++)
            CHECK_OR(arb_http_ws_connect(srv, PROTO, addr, &late[i]) == ARB_OK, 1);
    }
    arb_http_server_stop(srv);
    CHECK_OR(count_kind(EV_CLOSE) >= count_kind(EV_OPEN), 1);
    for (int i = 0; i < 5; i++)
        CHECK_OR(wait_event(EV_CLOSE, late[i], 0) >= 0, 1);
    {
        /* exactly once per id */
        size_t closes[5] = {0};
        for (size_t i = 0; i < nevents; i++)
            for (int k = 0; k < 5; k++)
                closes[k] += events[i].kind == EV_CLOSE && events[i].conn == late[k];
        for (int k = 0; k < 5; k++)
            CHECK_OR(closes[k] == 1, 1);
    }
    /* Every connection that opened was closed exactly once. */
    for (size_t i = 0; i < nevents; i++) {
        size_t closes = 0;
        if (events[i].kind != EV_OPEN)
            continue;
        for (size_t k = 0; k < nevents; k++)
            closes += events[k].kind == EV_CLOSE && events[k].conn == events[i].conn;
        CHECK_OR(closes == 1, 1);
    }
    {
        uint64_t x;
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
        CHECK_OR(arb_http_ws_connect(srv, PROTO, addr, &x) == ARB_ERR_INVALID_ARG, 1);
    }
    arb_http_server_free(srv);
    for (size_t i = 0; i < nevents; i++)
        free(events[i].data);
    curl_global_cleanup();
    return arb_test_done();
}
