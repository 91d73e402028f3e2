/* The HTTP server under hostile clients, over raw loopback sockets:
 * pipelining of every kind (answered in order or refused cleanly, and the
 * server keeps answering others and stops promptly), 431, HEAD, the limits
 * per client address and in total, the header timeout (slowloris), many
 * large bodies in flight with bounded memory, and worker pools that do not
 * wait for each other; a fast path answering lent bodies on the I/O thread
 * in pipelined order, past a busy pool. Clients use several loopback addresses (127.0.0.x)
 * to stand for different hosts. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ledger/api/http.h"
#include "tests/test.h"

static arb_http_server *srv;
static int port;

/* ---------------------------------------------------------------- raw client */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection from 127.0.0.<host> (1 if host is 0). Returns the fd or -1. */
static int dial(int host)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (host > 1) {
        struct sockaddr_in la;
        memset(&la, 0, sizeof la);
        la.sin_family = AF_INET;
        la.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)host);
        if (bind(fd, (struct sockaddr *)&la, sizeof la) != 0) {
            close(fd);
            return -1;
        }
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = send(fd, (const char *)p + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return 0;
        off += (size_t)w;
    }
    return 1;
}

static int send_str(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

/* Splits buf[0..len) into answers (status line, headers, a body of
 * Content-Length bytes, none for a HEAD: bit i of head_mask). Fills st[] with
 * the statuses and at[] (if not NULL) with where each answer starts. Returns
 * how many whole answers there are. */
static int parse_answers(const char *buf, size_t len, unsigned head_mask, int *st,
                         const char **at, int max)
{
    size_t off = 0;
    int k = 0;
    while (k < max && off < len) {
        const char *a = buf + off, *e = strstr(a, "\r\n\r\n"), *cl;
        size_t blen = 0;
        if (strncmp(a, "HTTP/1.", 7) != 0 || e == NULL)
            break;
        cl = strstr(a, "Content-Length: ");
        if (cl != NULL && cl < e)
            blen = strtoul(cl + 16, NULL, 10);
        if (k < 32 && (head_mask & (1u << k)))
            blen = 0;
        if ((size_t)(e + 4 - buf) + blen > len)
            break;
        st[k] = atoi(a + 9);
        if (at)
            at[k] = a;
        k++;
        off = (size_t)(e + 4 - buf) + blen;
    }
    return k;
}

/* Reads until the peer closes, `want` whole answers have arrived, or ms of
 * quiet. Returns a NUL-terminated malloc'd buffer (possibly empty); *len gets
 * its length and *closed whether the peer closed. */
static char *read_answers_m(int fd, int want, unsigned head_mask, int ms, int *closed,
                            size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap + 1);
    int dummy, st[64];
    if (closed == NULL)
        closed = &dummy;
    *closed = 0;
    if (out == NULL)
        return NULL;
    out[0] = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t r;
        if (want > 0 && parse_answers(out, n, head_mask, st, NULL, 64) >= want)
            break;
        if (poll(&p, 1, ms) <= 0)
            break;
        if (n == cap) {
            char *nb = realloc(out, 2 * cap + 1);
            if (nb == NULL)
                break;
            out = nb;
            cap *= 2;
        }
        r = recv(fd, out + n, cap - n, 0);
        if (r <= 0) {
            *closed = 1;
            break;
        }
        n += (size_t)r;
        out[n] = 0;
    }
    if (len)
        *len = n;
    return out;
}

static char *read_answers(int fd, int want, int ms, int *closed)
{
    return read_answers_m(fd, want, 0, ms, closed, NULL);
}

/* Counts the whole answers in a buffer (no HEADs) and fills their statuses. */
static int statuses(const char *buf, int *st, int max)
{
    return parse_answers(buf, strlen(buf), 0, st, NULL, max);
}

/* One GET on a fresh connection from host; returns the status or -1. */
static int get_status(int host, const char *path)
{
    char req[512];
    int fd = dial(host), st = -1, n;
    char *out;
    if (fd < 0)
        return -1;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    if (!send_str(fd, req)) {
        close(fd);
        return -1;
    }
    out = read_answers(fd, 1, 10000, NULL);
    n = out ? statuses(out, &st, 1) : 0;
    free(out);
    close(fd);
    return n == 1 ? st : -1;
}

/* Reads one metric from /metrics, or -1. */
static long long metric(const char *name)
{
    int fd = dial(1);
    char key[128], *out, *p;
    long long v = -1;
    if (fd < 0)
        return -1;
    (void)send_str(fd, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
    out = read_answers(fd, 0, 5000, NULL);
    close(fd);
    snprintf(key, sizeof key, "\n%s ", name);
    if (out != NULL && (p = strstr(out, key)) != NULL)
        v = strtoll(p + strlen(key), NULL, 10);
    free(out);
    return v;
}

/* ---------------------------------------------------------------- handlers */

/* "PATH body=N" (the body length), so answers can be matched to requests. */
static void h_echo(void *ud, arb_http_req *req)
{
    char out[256];
    size_t blen;
    (void)arb_http_req_body(req, &blen);
    int n = snprintf(out, sizeof out, "%s %s body=%zu", (const char *)ud, arb_http_req_path(req),
                     blen);
    (void)arb_http_respond(req, 200, "text/plain", "X-Route: echo\r\n", out, (size_t)n);
}

/* A 4 MiB answer (for clients that leave while it is written). */
static void h_big_answer(void *ud, arb_http_req *req)
{
    static uint8_t big[4u << 20];
    (void)ud;
    (void)arb_http_respond(req, 200, "application/octet-stream", NULL, big, sizeof big);
}

/* A handler that waits until released (for pool tests). */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open = 1, gate_waiting;

static void h_gated(void *ud, arb_http_req *req)
{
    pthread_mutex_lock(&gate_mu);
    gate_waiting++;
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    gate_waiting--;
    pthread_mutex_unlock(&gate_mu);
    h_echo(ud, req);
}

static void gate_set(int open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static int gate_count(void)
{
    int n;
    pthread_mutex_lock(&gate_mu);
    n = gate_waiting;
    pthread_mutex_unlock(&gate_mu);
    return n;
}

/* The fast path of /f/: /f/lent and /f/big are answered there with lent
 * bodies (released once each: lent_released counts), anything else is
 * declined and goes to h_gated on the "slow" pool. */
static const char lent_text[] = "lent body of the fast path";
static uint8_t lent_big[4u << 20];
static atomic_int lent_released;
static void lent_release(void *ud)
{
    (void)ud;
    atomic_fetch_add(&lent_released, 1);
}

static int h_fast(void *ud, arb_http_req *req)
{
    const char *p = arb_http_req_path(req);
    (void)ud;
    if (strcmp(p, "/f/lent") == 0)
        (void)arb_http_respond_shared(req, 200, "text/plain", "X-Route: fast\r\n", lent_text,
                                      sizeof lent_text - 1, lent_release, NULL);
    else if (strcmp(p, "/f/big") == 0)
        (void)arb_http_respond_shared(req, 200, "application/octet-stream", NULL, lent_big,
                                      sizeof lent_big, lent_release, NULL);
    else
        return 0;
    return 1;
}

static void start_server(void)
{
    arb_http_config cfg = {"127.0.0.1", 0, 4, 0, {NULL, NULL}};
    arb_errbuf eb;
    arb_http_pool_config slow = {"slow", 1, 2, 0, 0};
    arb_http_pool_config big = {"big", 2, 64, 8u << 20, 0};

    for (size_t i = 0; i < sizeof lent_big; i++)
        lent_big[i] = (uint8_t)(i * 2654435761u >> 13);

    CHECK(arb_http_server_new(&srv, &cfg) == ARB_OK);
    CHECK(arb_http_server_set_option(srv, "max-conns", "48") == ARB_OK);
    CHECK(arb_http_server_set_option(srv, "max-conns-per-addr", "8") == ARB_OK);
    CHECK(arb_http_server_set_option(srv, "header-timeout", "2") == ARB_OK);
    CHECK(arb_http_server_set_option(srv, "body-timeout", "6") == ARB_OK);
    CHECK(arb_http_server_set_option(srv, "max-header", "2k") == ARB_OK);
    CHECK(arb_http_server_set_option(srv, "nope", "1") == ARB_ERR_INVALID_ARG);
    {
        char *kv[] = {"idle-timeout=30", "default-queue=1k", "nope=1"};
        size_t bad = 9;
        CHECK(arb_http_server_set_options(srv, kv, 2, &bad) == ARB_OK);
        CHECK(arb_http_server_set_options(srv, kv, 3, &bad) == ARB_ERR_INVALID_ARG);
        CHECK_EQ(bad, 2);
        kv[0] = "no-equals";
        CHECK(arb_http_server_set_options(srv, kv, 1, &bad) == ARB_ERR_INVALID_ARG);
        CHECK_EQ(bad, 0);
    }
    CHECK(arb_http_server_set_option(srv, "max-conns", "0") == ARB_ERR_INVALID_ARG);
    CHECK(arb_http_server_set_option(srv, "max-conns", "12x") == ARB_ERR_INVALID_ARG);
    CHECK(arb_http_server_set_option(srv, "default-nice", "20") == ARB_ERR_INVALID_ARG);
    CHECK(arb_http_pool_add(srv, &slow) == ARB_OK);
    CHECK(arb_http_pool_add(srv, &slow) == ARB_ERR_EXISTS);
    CHECK(arb_http_pool_add(srv, &big) == ARB_OK);
    CHECK(arb_http_route_add(srv, ARB_HTTP_GET, "/a", 0, h_echo, "get") == ARB_OK);
    CHECK(arb_http_route_add(srv, ARB_HTTP_GET, "/t/", 0, h_echo, "tile") == ARB_OK);
    CHECK(arb_http_route_add(srv, ARB_HTTP_GET, "/big-answer", 0, h_big_answer, NULL) == ARB_OK);
    CHECK(arb_http_route_add(srv, ARB_HTTP_POST, "/p", 4096, h_echo, "post") == ARB_OK);
    CHECK(arb_http_route_add_pool(srv, ARB_HTTP_GET, "/slow", 0, h_gated, "slow", "slow") ==
          ARB_OK);
    CHECK(arb_http_route_add_pool(srv, ARB_HTTP_POST, "/big", 4u << 20, h_echo, "big", "big") ==
          ARB_OK);
    CHECK(arb_http_route_add_pool(srv, ARB_HTTP_GET, "/f/", 0, h_gated, "fast", "slow") == ARB_OK);
    CHECK(arb_http_route_set_fast(srv, ARB_HTTP_GET, "/f/", h_fast) == ARB_OK);
    CHECK(arb_http_route_set_fast(srv, ARB_HTTP_POST, "/f/", h_fast) == ARB_ERR_NOT_FOUND);
    CHECK(arb_http_route_set_fast(srv, ARB_HTTP_GET, "/f", h_fast) == ARB_ERR_NOT_FOUND);
    CHECK(arb_http_route_add_pool(srv, ARB_HTTP_GET, "/x", 0, h_echo, "x", "Bad-Name") ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_http_server_start(srv, &eb) == ARB_OK);
    port = arb_http_server_port(srv);
}

/* ---------------------------------------------------------------- pipelining */

/* Sends `req` in one write (or at the given split points), expects `n`
 * answers with the given statuses in order, each containing the given text
 * (NULL: any), and the server still answering others afterwards. */
static void pipe_case(const char *req, const size_t *splits, int n, const int *want_st,
                      const char *const *want_txt, int want_close, unsigned head_mask)
{
    int fd = dial(1), st[16], got, closed;
    const char *at[16];
    char *out;
    size_t len = strlen(req), off = 0, olen = 0;

    CHECK(fd >= 0);
    if (splits == NULL) {
        CHECK(send_all(fd, req, len));
    } else {
        for (int i = 0; splits[i] != 0; i++) {
            CHECK(send_all(fd, req + off, splits[i] - off));
            off = splits[i];
            usleep(50 * 1000);
        }
        CHECK(send_all(fd, req + off, len - off));
    }
    out = read_answers_m(fd, n, head_mask, 5000, &closed, &olen);
    if (want_close && !closed) {
        char *rest = read_answers(fd, 0, 5000, &closed);
        free(rest);
    }
    close(fd);
    CHECK(out != NULL);
    got = parse_answers(out, olen, head_mask, st, at, 16);
    if (got != n)
        fprintf(stderr, "pipelined answers: %s\n", out);
    CHECK_EQ(got, n);
    CHECK_EQ(olen, parse_answers(out, olen, head_mask, st, at, 16) == n ? olen : 0);
    for (int i = 0; i < n; i++) {
        const char *next = i + 1 < n ? at[i + 1] : out + olen;
        CHECK_EQ(st[i], want_st[i]);
        if (want_txt && want_txt[i]) {
            const char *t = strstr(at[i], want_txt[i]);
            CHECK(t != NULL && t < next);
        }
    }
    if (want_close)
        CHECK(closed);
    free(out);
    CHECK_EQ(get_status(2, "/a"), 200);
}

static void test_pipelining(void)
{
    /* Several GETs, one of them to another route. */
    {
        static const int st[] = {200, 200, 200, 200};
        static const char *const txt[] = {"get /a", "tile /t/x", "get /a", "tile /t/z"};
        pipe_case("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /t/x HTTP/1.1\r\n\r\n"
                  "GET /a HTTP/1.1\r\n\r\nGET /t/z HTTP/1.1\r\nConnection: close\r\n\r\n",
                  NULL, 4, st, txt, 1, 0);
    }
    /* Several POSTs with bodies, in one write. */
    {
        static const int st[] = {200, 200, 200};
        static const char *const txt[] = {"body=3", "body=5", "body=1"};
        pipe_case("POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                  "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                  "POST /p HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
                  NULL, 3, st, txt, 0, 0);
    }
    /* A POST and then a malformed request line: the POST is answered, the
     * garbage gets a 400 and the connection is closed. */
    {
        static const int st[] = {200, 400};
        static const char *const txt[] = {"body=5", NULL};
        pipe_case("POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                  "GARBAGE / HTTP/1.1 x\r\n\r\n",
                  NULL, 2, st, txt, 1, 0);
    }
    /* A POST whose body comes in three writes, then a GET, with the GET sent
     * together with the end of the body. */
    {
        static const char req[] = "POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"
                                  "GET /t/after HTTP/1.1\r\n\r\n";
        static const size_t splits[] = {20, 44, 0};
        static const int st[] = {200, 200};
        static const char *const txt[] = {"body=10", "tile /t/after"};
        pipe_case(req, splits, 2, st, txt, 0, 0);
    }
    /* Pipelined HEADs: the same headers as GET, no body, so the GET after
     * them is framed right. */
    {
        static const int st[] = {200, 200, 200};
        static const char *const txt[] = {"Content-Length: 13", "Content-Length: 16",
                                          "get /a body=0"};
        pipe_case("HEAD /a HTTP/1.1\r\n\r\nHEAD /t/q HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\n", NULL,
                  3, st, txt, 0, 3);
    }
    /* A request after a body over the limit is not read: 413, close. */
    {
        static const int st[] = {200, 413};
        pipe_case("GET /a HTTP/1.1\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 99999\r\n\r\n"
                  "GET /a HTTP/1.1\r\n\r\n",
                  NULL, 2, st, NULL, 1, 0);
    }
    /* Many small pipelined requests filling the header buffer, on a pool with
     * one thread. */
    {
        char big[2048];
        size_t n = 0;
        int fd, st[64], got;
        char *out;
        for (int i = 0; i < 40; i++)
            n += (size_t)snprintf(big + n, sizeof big - n, "GET /a HTTP/1.1\r\n\r\n");
        fd = dial(3);
        CHECK(fd >= 0);
        CHECK(send_all(fd, big, n));
        out = read_answers(fd, 40, 5000, NULL);
        close(fd);
        CHECK(out != NULL);
        got = statuses(out, st, 64);
        CHECK_EQ(got, 40);
        for (int i = 0; i < got; i++)
            CHECK_EQ(st[i], 200);
        free(out);
    }
}

/* ---------------------------------------------------------------- headers, HEAD */

static void test_431_and_head(void)
{
    char *req = malloc(4096), *out;
    int fd, st[4], closed;

    CHECK(req != NULL);
    snprintf(req, 4096, "GET /a HTTP/1.1\r\nX-Pad: %03000d\r\n\r\n", 7);
    fd = dial(1);
    CHECK(fd >= 0);
    CHECK(send_str(fd, req));
    out = read_answers(fd, 1, 5000, &closed);
    close(fd);
    free(req);
    CHECK(out != NULL);
    CHECK_EQ(statuses(out, st, 4), 1);
    CHECK_EQ(st[0], 431);
    free(out);
    /* Headers that never end, in small pieces: 431 once over the limit. */
    fd = dial(1);
    CHECK(fd >= 0);
    CHECK(send_str(fd, "GET /a HTTP/1.1\r\n"));
    for (int i = 0; i < 40; i++)
        if (!send_str(fd, "X-Filler: 0123456789012345678901234567890123456789012345678901234\r\n"))
            break;
    out = read_answers(fd, 1, 5000, &closed);
    close(fd);
    CHECK(out != NULL && strncmp(out, "HTTP/1.1 431", 12) == 0);
    free(out);
    /* Too many header fields. */
    {
        char many[2000];
        size_t n = (size_t)snprintf(many, sizeof many, "GET /a HTTP/1.1\r\n");
        for (int i = 0; i < 120; i++)
            n += (size_t)snprintf(many + n, sizeof many - n, "a:\r\n");
        snprintf(many + n, sizeof many - n, "\r\n");
        fd = dial(1);
        CHECK(fd >= 0);
        CHECK(send_str(fd, many));
        out = read_answers(fd, 1, 5000, NULL);
        close(fd);
        CHECK(out != NULL && strncmp(out, "HTTP/1.1 431", 12) == 0);
        free(out);
    }
    CHECK(metric("arbor_http_errors_header_too_large_total") >= 3);

    /* HEAD: the GET's headers, no body. */
    fd = dial(1);
    CHECK(fd >= 0);
    CHECK(send_str(fd, "HEAD /a HTTP/1.1\r\nConnection: close\r\n\r\n"));
    out = read_answers(fd, 0, 5000, &closed);
    close(fd);
    CHECK(out != NULL);
    CHECK(strncmp(out, "HTTP/1.1 200", 12) == 0);
    CHECK(strstr(out, "Content-Length: 13\r\n") != NULL); /* "get /a body=0" */
    CHECK(strstr(out, "X-Route: echo\r\n") != NULL);
    CHECK(strlen(strstr(out, "\r\n\r\n")) == 4);
    free(out);
    /* HEAD on a POST-only path: 405 naming the methods. */
    fd = dial(1);
    CHECK(fd >= 0);
    CHECK(send_str(fd, "HEAD /p HTTP/1.1\r\nConnection: close\r\n\r\n"));
    out = read_answers(fd, 0, 5000, NULL);
    close(fd);
    CHECK(out != NULL && strncmp(out, "HTTP/1.1 405", 12) == 0);
    CHECK(strstr(out, "Allow: POST") != NULL);
    CHECK(strlen(strstr(out, "\r\n\r\n")) == 4);
    free(out);
    /* A 405 for PUT on a GET path names GET and HEAD. */
    fd = dial(1);
    CHECK(fd >= 0);
    CHECK(send_str(fd, "PUT /a HTTP/1.1\r\nConnection: close\r\n\r\n"));
    out = read_answers(fd, 0, 5000, NULL);
    close(fd);
    CHECK(out != NULL && strstr(out, "Allow: GET, HEAD\r\n") != NULL);
    free(out);
}

/* ---------------------------------------------------------------- connection limits */

/* Opens a connection from host that holds a request in its body (not
 * evictable): headers of a POST with 100 bytes declared and 10 sent. */
static int hold_body(int host)
{
    int fd = dial(host);
    if (fd >= 0 && !send_str(fd, "POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789")) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_conn_limits(void)
{
    int held[8], idle[8], extra, st[2], closed;
    char *out;

    /* Per address: 8 busy connections from 127.0.0.10; the 9th is refused
     * with a 503, while 127.0.0.1 is served. */
    for (int i = 0; i < 8; i++) {
        held[i] = hold_body(10);
        CHECK(held[i] >= 0);
    }
    usleep(200 * 1000);
    extra = dial(10);
    CHECK(extra >= 0);
    out = read_answers(extra, 0, 5000, &closed);
    close(extra);
    CHECK(out != NULL);
    CHECK_EQ(statuses(out, st, 2), 1);
    CHECK_EQ(st[0], 503);
    CHECK(closed);
    free(out);
    CHECK_EQ(get_status(1, "/a"), 200);
    CHECK(metric("arbor_http_conns_refused_total") >= 1);

    /* Idle connections make room: 8 idle from 127.0.0.11, then a 9th that is
     * served, and the oldest idle one is closed. */
    for (int i = 0; i < 8; i++) {
        idle[i] = dial(11);
        CHECK(idle[i] >= 0);
        usleep(5 * 1000);
    }
    usleep(100 * 1000);
    CHECK_EQ(get_status(11, "/a"), 200);
    {
        struct pollfd p = {idle[0], POLLIN, 0};
        char b;
        CHECK(poll(&p, 1, 5000) == 1);
        CHECK(recv(idle[0], &b, 1, 0) == 0);
    }
    CHECK(metric("arbor_http_conns_evicted_total") >= 1);
    for (int i = 0; i < 8; i++)
        close(idle[i]);

    /* In total (48): 8 busy from .10 above, 8 each from .12 .. .16 makes 48;
     * the next, from yet another address, is refused; .1 gets in again once
     * some are released. */
    {
        int more[40], n = 0;
        for (int h = 12; h <= 16; h++)
            for (int i = 0; i < 8; i++) {
                more[n] = hold_body(h);
                CHECK(more[n] >= 0);
                n++;
            }
        usleep(300 * 1000);
        extra = dial(20);
        CHECK(extra >= 0);
        out = read_answers(extra, 1, 5000, &closed);
        close(extra);
        CHECK(out != NULL && strncmp(out, "HTTP/1.1 503", 12) == 0);
        free(out);
        for (int i = 0; i < n; i++)
            close(more[i]);
    }
    for (int i = 0; i < 8; i++)
        close(held[i]);
    /* Closed connections are noticed and their slots come back. */
    {
        long long t0 = mono_ms();
        int ok = 0;
        while (mono_ms() - t0 < 10000 && !(ok = get_status(20, "/a") == 200))
            usleep(50 * 1000);
        CHECK(ok);
    }
}

/* ---------------------------------------------------------------- timeouts */

static void test_header_timeout(void)
{
    int fd[4], closed;
    long long before = metric("arbor_http_timeouts_header_total");
    char *out;

    /* Slowloris: a header byte now and then. header-timeout is 2 s. */
    for (int i = 0; i < 4; i++) {
        fd[i] = dial(30);
        CHECK(fd[i] >= 0);
        CHECK(send_str(fd[i], "GET /a HTTP/1.1\r\nX-"));
    }
    for (int k = 0; k < 6; k++) {
        for (int i = 0; i < 4; i++)
            (void)send_str(fd[i], "a");
        usleep(300 * 1000);
    }
    for (int i = 0; i < 4; i++) {
        out = read_answers(fd[i], 0, 10000, &closed);
        CHECK(closed);
        free(out);
        close(fd[i]);
    }
    CHECK(metric("arbor_http_timeouts_header_total") >= before + 4);
    /* Empty lines before a request do not restart its timer. */
    fd[0] = dial(30);
    CHECK(fd[0] >= 0);
    for (int k = 0; k < 10; k++) {
        (void)send_str(fd[0], "\r\n");
        usleep(300 * 1000);
    }
    out = read_answers(fd[0], 0, 10000, &closed);
    CHECK(closed);
    free(out);
    close(fd[0]);
    CHECK(metric("arbor_http_timeouts_header_total") >= before + 5);
    /* A connection that sends nothing is closed too. */
    fd[0] = dial(30);
    CHECK(fd[0] >= 0);
    out = read_answers(fd[0], 0, 10000, &closed);
    CHECK(closed);
    CHECK(out != NULL && out[0] == 0);
    free(out);
    close(fd[0]);
    /* A body that stops coming (body-timeout 6 s). */
    fd[0] = hold_body(31);
    CHECK(fd[0] >= 0);
    out = read_answers(fd[0], 0, 20000, &closed);
    CHECK(closed);
    free(out);
    close(fd[0]);
    CHECK(metric("arbor_http_timeouts_body_total") >= 1);
}

/* ---------------------------------------------------------------- bodies and memory */

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

#define NBIG 32
#define BIGLEN (3u << 20)

struct bigclient {
    int host, status;
    pthread_t t;
};

/* Declares a 3 MiB body and sends it in 64 KiB pieces. */
static void *big_main(void *arg)
{
    struct bigclient *b = arg;
    static char chunk[65536];
    char hdr[128];
    int fd = dial(b->host), st;
    char *out;
    b->status = -1;
    if (fd < 0)
        return NULL;
    snprintf(hdr, sizeof hdr, "POST /big HTTP/1.1\r\nContent-Length: %u\r\n\r\n", BIGLEN);
    if (send_str(fd, hdr)) {
        for (size_t off = 0; off < BIGLEN; off += sizeof chunk) {
            if (!send_all(fd, chunk, sizeof chunk))
                break; /* refused early: the server closed */
            usleep(5000);
        }
    }
    out = read_answers(fd, 1, 20000, NULL);
    if (out != NULL && statuses(out, &st, 1) == 1)
        b->status = st;
    free(out);
    close(fd);
    return NULL;
}

static void test_big_bodies(void)
{
    struct bigclient b[NBIG];
    long before = rss_kb(), peak = before;
    int ok = 0, busy = 0, done = 0;
    long long max_held = 0;

    for (int i = 0; i < NBIG; i++) {
        b[i].host = 40 + i % 4;
        CHECK(pthread_create(&b[i].t, NULL, big_main, &b[i]) == 0);
    }
    /* While they run the log-like route answers, and the server's count of
     * body bytes held stays within the pool's budget (8 MiB). */
    for (int k = 0; k < 20; k++) {
        long r = rss_kb();
        long long held = metric("arbor_http_body_bytes_held");
        if (r > peak)
            peak = r;
        if (held > max_held)
            max_held = held;
        CHECK_EQ(get_status(2, "/a"), 200);
        usleep(50 * 1000);
    }
    for (int i = 0; i < NBIG; i++) {
        pthread_join(b[i].t, NULL);
        ok += b[i].status == 200;
        busy += b[i].status == 503;
        done++;
    }
    fprintf(stderr, "big bodies: %d ok, %d refused (503), peak body bytes held %lld, rss %ld -> "
                    "%ld KiB\n",
            ok, busy, max_held, before, peak);
    CHECK_EQ(done, NBIG);
    CHECK(ok >= 1);
    CHECK_EQ(ok + busy, NBIG);
    CHECK(max_held <= 8ll << 20);
    /* 32 x 3 MiB would be 96 MiB if all were held at once. */
    CHECK(peak - before < 48 * 1024);
    CHECK(metric("arbor_http_errors_body_budget_total") >= 1);
    CHECK_EQ(metric("arbor_http_body_bytes_held"), 0);
}

/* One address cannot take a pool's whole body budget by declaring big
 * bodies and sending them slowly: its share is a quarter of the budget or the
 * largest body limit of the pool, whichever is larger (here 4 MiB of 8). */
static void test_body_share(void)
{
    char hdr[128];
    int hog[2], fd, st[2];
    char *out;

    snprintf(hdr, sizeof hdr, "POST /big HTTP/1.1\r\nContent-Length: %u\r\n\r\nxx", 3u << 20);
    for (int i = 0; i < 2; i++) {
        hog[i] = dial(70);
        CHECK(hog[i] >= 0);
        CHECK(send_str(hog[i], hdr));
        usleep(100 * 1000);
    }
    /* The second from the same address is over its share... */
    out = read_answers(hog[1], 1, 5000, NULL);
    CHECK(out != NULL && statuses(out, st, 2) == 1 && st[0] == 503);
    CHECK(strstr(out, "from this address") != NULL);
    free(out);
    close(hog[1]);
    /* ...and another address still gets its body in. */
    fd = dial(71);
    CHECK(fd >= 0);
    {
        char *body = calloc(1, 3u << 20);
        CHECK(body != NULL);
        snprintf(hdr, sizeof hdr, "POST /big HTTP/1.1\r\nContent-Length: %u\r\n\r\n", 3u << 20);
        CHECK(send_str(fd, hdr));
        CHECK(send_all(fd, body, 3u << 20));
        free(body);
    }
    out = read_answers(fd, 1, 10000, NULL);
    CHECK(out != NULL && statuses(out, st, 2) == 1 && st[0] == 200);
    CHECK(strstr(out, "big /big body=3145728") != NULL);
    free(out);
    close(fd);
    close(hog[0]);
}

/* ---------------------------------------------------------------- pools */

static void test_pools(void)
{
    int fd[4], st[2];
    char *out;

    /* The "slow" pool has one thread and room for two waiting requests. */
    gate_set(0);
    for (int i = 0; i < 3; i++) {
        fd[i] = dial(50);
        CHECK(fd[i] >= 0);
        CHECK(send_str(fd[i], "GET /slow HTTP/1.1\r\n\r\n"));
        if (i == 0) { /* the first one takes the thread, the others wait */
            long long t0 = mono_ms();
            while (gate_count() < 1 && mono_ms() - t0 < 5000)
                usleep(10 * 1000);
            CHECK_EQ(gate_count(), 1);
        }
    }
    usleep(100 * 1000);
    /* Its thread is taken and its queue full: a fourth is refused at once... */
    fd[3] = dial(50);
    CHECK(fd[3] >= 0);
    CHECK(send_str(fd[3], "GET /slow HTTP/1.1\r\n\r\n"));
    out = read_answers(fd[3], 1, 5000, NULL);
    if (out != NULL && strncmp(out, "HTTP/1.1 503", 12) != 0)
        fprintf(stderr, "expected a 503: %s\n", out);
    CHECK(out != NULL && statuses(out, st, 2) == 1 && st[0] == 503);
    CHECK(strstr(out, "Retry-After: 1\r\n") != NULL);
    free(out);
    close(fd[3]);
    /* ...and the default pool does not wait for it. */
    for (int i = 0; i < 20; i++)
        CHECK_EQ(get_status(1, "/a"), 200);
    /* A queued request whose client leaves never reaches the handler. */
    close(fd[2]);
    usleep(200 * 1000);
    gate_set(1);
    for (int i = 0; i < 2; i++) {
        out = read_answers(fd[i], 1, 5000, NULL);
        CHECK(out != NULL && statuses(out, st, 2) == 1 && st[0] == 200);
        CHECK(strstr(out, "slow /slow") != NULL);
        free(out);
        close(fd[i]);
    }
    CHECK(metric("arbor_http_errors_busy_total") >= 1);
    {
        long long t0 = mono_ms();
        while (metric("arbor_http_requests_abandoned_total") < 1 && mono_ms() - t0 < 5000)
            usleep(20 * 1000);
        CHECK_EQ(metric("arbor_http_requests_abandoned_total"), 1);
    }
}

/* Clients that reset the connection while a big answer is being written:
 * the server closes that connection and goes on serving. (This program does
 * not ignore SIGPIPE: the server's sends use MSG_NOSIGNAL, so a write to a
 * dead connection cannot kill it.) */
static void test_reset_during_answer(void)
{
    for (int i = 0; i < 5; i++) {
        int fd = dial(80);
        char b[4096];
        struct linger lg = {1, 0};
        CHECK(fd >= 0);
        CHECK(send_str(fd, "GET /big-answer HTTP/1.1\r\n\r\n"));
        CHECK(recv(fd, b, sizeof b, 0) > 0); /* it has started */
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd); /* RST */
        usleep(50 * 1000);
    }
    CHECK_EQ(get_status(1, "/a"), 200);
}

/* ---------------------------------------------------------------- fast path */

/* Waits (up to 10 s) until lent bodies were given back n times. */
static int wait_lent(int n)
{
    long long t0 = mono_ms();
    while (atomic_load(&lent_released) < n && mono_ms() - t0 < 10000)
        usleep(10 * 1000);
    return atomic_load(&lent_released);
}

static void test_fast_path(void)
{
    int base = atomic_load(&lent_released), fd, st[4];
    char *out;

    /* Pipelined: answered here, HEAD (no body), declined (a worker), again
     * here: in order, framed right, on one keep-alive connection. */
    {
        static const int want[] = {200, 200, 200, 200};
        static const char *const txt[] = {("Content-Length: 26\r\nX-Route: fast\r\n\r\n"
                                           "lent body of the fast path"),
                                          "Content-Length: 26", "fast /f/other body=0",
                                          "lent body of the fast path"};
        pipe_case("GET /f/lent HTTP/1.1\r\n\r\nHEAD /f/lent HTTP/1.1\r\n\r\n"
                  "GET /f/other HTTP/1.1\r\n\r\nGET /f/lent HTTP/1.1\r\n\r\n",
                  NULL, 4, want, txt, 0, 2);
    }
    CHECK_EQ(wait_lent(base + 3), base + 3); /* the HEAD's too */

    /* The fast path needs no worker: with the route's pool blocked (its one
     * thread held, its queue full), lent answers still come at once and a
     * declined request is refused with 503. */
    gate_set(0);
    {
        int held[3];
        for (int i = 0; i < 3; i++) {
            held[i] = dial(70);
            CHECK(held[i] >= 0);
            CHECK(send_str(held[i], "GET /f/wait HTTP/1.1\r\n\r\n"));
            if (i == 0) {
                long long t0 = mono_ms();
                while (gate_count() < 1 && mono_ms() - t0 < 5000)
                    usleep(10 * 1000);
                CHECK_EQ(gate_count(), 1);
            }
        }
        usleep(100 * 1000);
        CHECK_EQ(get_status(71, "/f/lent"), 200);
        CHECK_EQ(get_status(71, "/f/declined"), 503);
        gate_set(1);
        for (int i = 0; i < 3; i++) {
            out = read_answers(held[i], 1, 5000, NULL);
            CHECK(out != NULL && statuses(out, st, 4) == 1 && st[0] == 200);
            free(out);
            close(held[i]);
        }
    }
    CHECK_EQ(wait_lent(base + 4), base + 4);

    /* A client that resets while a 4 MiB lent body is being written: the body
     * is given back once, and the server goes on. */
    for (int i = 0; i < 3; i++) {
        char b[4096];
        struct linger lg = {1, 0};
        fd = dial(72);
        CHECK(fd >= 0);
        CHECK(send_str(fd, "GET /f/big HTTP/1.1\r\n\r\n"));
        CHECK(recv(fd, b, sizeof b, 0) > 0); /* it has started */
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd); /* RST */
    }
    CHECK_EQ(wait_lent(base + 7), base + 7);
    /* A whole 4 MiB lent body arrives. */
    {
        size_t len;
        const char *body;
        fd = dial(73);
        CHECK(fd >= 0);
        CHECK(send_str(fd, "GET /f/big HTTP/1.1\r\nConnection: close\r\n\r\n"));
        out = read_answers_m(fd, 1, 0, 10000, NULL, &len);
        close(fd);
        CHECK(out != NULL && parse_answers(out, len, 0, st, NULL, 4) == 1 && st[0] == 200);
        body = out ? strstr(out, "\r\n\r\n") : NULL;
        CHECK(body != NULL && (size_t)(out + len - (body + 4)) == sizeof lent_big &&
              memcmp(body + 4, lent_big, sizeof lent_big) == 0);
        free(out);
    }
    CHECK_EQ(wait_lent(base + 8), base + 8);
    usleep(100 * 1000);
    CHECK_EQ(atomic_load(&lent_released), base + 8); /* and not again */
    CHECK_EQ(get_status(1, "/a"), 200);
}

/* ---------------------------------------------------------------- stop */

static void test_stop_under_attack(void)
{
    int fds[24], n = 0;
    long long t0;

    /* Idle, slowloris, pipelined, half-sent bodies and a handler that has not
     * answered: stop still returns, promptly. */
    gate_set(0);
    for (int i = 0; i < 4; i++) {
        fds[n++] = dial(60);
        fds[n] = dial(61);
        (void)send_str(fds[n++], "GET /a HTTP/1.1\r\nX-");
        fds[n] = dial(62);
        (void)send_str(fds[n++], "POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                                 "POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / x\r\n\r\n");
        fds[n++] = hold_body(63);
    }
    fds[n] = dial(64);
    (void)send_str(fds[n++], "GET /slow HTTP/1.1\r\n\r\n");
    usleep(200 * 1000);
    t0 = mono_ms();
    /* Workers are joined first: let the gated handler finish. */
    gate_set(1);
    arb_http_server_stop(srv);
    fprintf(stderr, "stop took %lld ms\n", mono_ms() - t0);
    CHECK(mono_ms() - t0 < 10000);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    arb_http_server_free(srv);
    srv = NULL;
}

int main(void)
{
    const char *only = getenv("ARB_TEST_ONLY");
    start_server();
    if (srv == NULL)
        return arb_test_done();
#define RUN(t) if (only == NULL || strcmp(only, #t) == 0) t()
    RUN(test_pipelining);
    RUN(test_431_and_head);
    RUN(test_conn_limits);
    RUN(test_header_timeout);
    RUN(test_big_bodies);
    RUN(test_body_share);
    RUN(test_pools);
    RUN(test_reset_during_answer);
    RUN(test_fast_path);
    test_stop_under_attack();
    if (srv != NULL)
        arb_http_server_free(srv);
    return arb_test_done();
}
