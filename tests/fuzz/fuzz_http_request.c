/* Fuzzes the HTTP server end to end: each input is sent as raw bytes over a
 * loopback connection to one long-running in-process server (routes for GET,
 * POST with a small body limit, a prefix route, a handler that answers from
 * another thread, a route on a second worker pool and a websocket
 * subprotocol "fz" that echoes), and whatever comes back is read. The
 * invariant is that the server survives every input (no crash, no sanitizer
 * report, no busy loop) and still answers a well-formed request afterwards. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ledger/api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static arb_http_server *srv;
static int port;

static void h_echo(void *ud, arb_http_req *req)
{
    char out[256];
    size_t blen;
    const char *a = arb_http_req_query(req, "a");
    (void)arb_http_req_body(req, &blen);
    int n = snprintf(out, sizeof out, "%s %s a=%s body=%zu", ud ? (const char *)ud : "",
                     arb_http_req_path(req), a ? a : "-", blen);
    (void)arb_http_respond(req, 200, "text/plain", "X-A: b\r\n", out, (size_t)n);
}

static void *later(void *arg)
{
    (void)arb_http_respond_error(arg, 409, "later", "answered later");
    return NULL;
}

static void h_later(void *ud, arb_http_req *req)
{
    pthread_t t;
    if (pthread_create(&t, NULL, later, req) != 0) {
        (void)arb_http_respond_error(req, 500, "thread", "no thread");
        return;
    }
    pthread_detach(t);
}

static void ws_open(void *ud, uint64_t conn, int outgoing, const char *peer)
{
}

static void ws_msg(void *ud, uint64_t conn, const uint8_t *data, size_t len, int binary)
{
    (void)arb_http_ws_send(srv, conn, data, len, binary);
}

static void ws_close(void *ud, uint64_t conn)
{
}

static void done(void)
{
    arb_http_server_free(srv);
    srv = NULL;
}

static int init(void)
{
    arb_http_config cfg = {"127.0.0.1", 0, 2, 0, {NULL, NULL}};
    arb_errbuf eb;
    arb_http_ws_proto wp = {"fz", 4096, 65536, ws_open, ws_msg, NULL, ws_close, NULL};
    if (arb_http_server_new(&srv, &cfg) != ARB_OK ||
        arb_http_server_set_option(srv, "header-timeout", "2") != ARB_OK ||
        arb_http_ws_add(srv, &wp) != ARB_OK ||
        arb_http_route_add_pool(srv, ARB_HTTP_POST, "/c/", 4096, h_echo, "chain", "chain") !=
            ARB_OK ||
        arb_http_route_add(srv, ARB_HTTP_GET, "/a", 0, h_echo, "get") != ARB_OK ||
        arb_http_route_add(srv, ARB_HTTP_POST, "/p", 1024, h_echo, "post") != ARB_OK ||
        arb_http_route_add(srv, ARB_HTTP_GET, "/t/", 0, h_echo, "tile") != ARB_OK ||
        arb_http_route_add(srv, ARB_HTTP_GET, "/later", 0, h_later, NULL) != ARB_OK ||
        arb_http_server_start(srv, &eb) != ARB_OK)
        return 0;
    port = arb_http_server_port(srv);
    atexit(done);
    return 1;
}

/* Sends data, then reads until the server closes or goes quiet. Returns the
 * number of bytes received. */
static char why[128]; /* how the last exchange ended, for a failed probe's report */
static long connect_ms; /* how long its connect took */

static size_t exchange(const void *data, size_t size, char *resp, size_t cap, int first_ms)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return 0;
    struct timespec c0, c1;
    int cr;
    clock_gettime(CLOCK_MONOTONIC, &c0);
    cr = connect(fd, (struct sockaddr *)&a, sizeof a);
    clock_gettime(CLOCK_MONOTONIC, &c1);
    connect_ms = (c1.tv_sec - c0.tv_sec) * 1000 + (c1.tv_nsec - c0.tv_nsec) / 1000000;
    snprintf(why, sizeof why, "connect: %s", cr != 0 ? strerror(errno) : "ok");
    if (cr == 0) {
        /* In two writes, split at a point the input picks, so requests and
         * bodies also arrive in pieces. */
        size_t split = size, sum = 0;
        for (size_t i = 0; i < size; i++)
            sum = sum * 31 + ((const uint8_t *)data)[i];
        if (size > 16 && sum % 3 != 0)
            split = 1 + sum % (size - 1);
        for (size_t off = 0; off < size;) {
            size_t end = off < split ? split : size;
            ssize_t w = send(fd, (const char *)data + off, end - off, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            off += (size_t)w;
            if (off == split && split < size)
                usleep(2000);
        }
        for (;;) {
            struct pollfd p = {fd, POLLIN, 0};
            ssize_t r;
            if (poll(&p, 1, got ? 20 : first_ms) <= 0) {
                snprintf(why, sizeof why, "no more bytes after %zu", got);
                break;
            }
            r = recv(fd, resp + got, cap - got - 1, 0);
            if (r <= 0) {
                snprintf(why, sizeof why, "recv %zd (%s) after %zu bytes", r,
                         r < 0 ? strerror(errno) : "closed", got);
                break;
            }
            got += (size_t)r;
            if (got >= cap - 1)
                got = 0; /* keep reading; only liveness matters */
        }
    }
    close(fd);
    resp[got] = '\0';
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char resp[65536];
    static unsigned long n;
    if (srv == NULL && !init())
        abort();
    (void)exchange(data, size, resp, sizeof resp, 100);
    /* Now and then make sure the server still answers: within 10 s, so that
     * a busy machine is not taken for a dead server. */
    if (n++ % 64 == 0) {
        static const char ok[] = "GET /a?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        struct timespec t0, t1;
        long ms;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (exchange(ok, sizeof ok - 1, resp, sizeof resp, 10000) == 0 ||
            strstr(resp, "a=1") == NULL) {
            fprintf(stderr, "liveness probe failed (%s; connect %ld ms): %s\n", why, connect_ms,
                    resp);
            /* Say whether the server is gone for good or missed one answer. */
            if (exchange(ok, sizeof ok - 1, resp, sizeof resp, 10000) > 0)
                fprintf(stderr, "a second probe was answered: %.60s\n", resp);
            else
                fprintf(stderr, "a second probe failed too (%s)\n", why);
            abort();
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > 100)
            fprintf(stderr, "liveness probe answered after %ld ms (connect %ld ms)\n", ms,
                    connect_ms);
    }
    return 0;
}
