/* The HTTP server, exercised over real sockets with libcurl (and raw sockets
 * for malformed input): routing, query decoding, bodies, limits, answers from
 * other threads, concurrency, clients that hang up, metrics, and stop. */
#include <arpa/inet.h>
#include <curl/curl.h>
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

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static arb_http_server *srv;
static int port;

/* ---------------------------------------------------------------- client */

typedef struct {
    char *data;
    size_t len;
} sbuf;

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    sbuf *b = ud;
    char *nd = realloc(b->data, b->len + sz * n + 1);
    if (nd == NULL)
        return 0;
    b->data = nd;
    memcpy(b->data + b->len, p, sz * n);
    b->len += sz * n;
    b->data[b->len] = 0;
    return sz * n;
}

typedef struct {
    long status;
    sbuf body;
    sbuf hdrs;
    CURLcode rc;
} resp;

static void resp_free(resp *r)
{
    free(r->body.data);
    free(r->hdrs.data);
    memset(r, 0, sizeof *r);
}

/* One request on handle h (reused for keep-alive) or a fresh one. */
static void do_req(CURL *h, resp *out, const char *method, const char *path, const void *body,
                   size_t blen, long timeout_ms)
{
    char url[4096];
    int own = h == NULL;

    memset(out, 0, sizeof *out);
    if (own)
        h = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &out->hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 20000L);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    out->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    if (own)
        curl_easy_cleanup(h);
}

/* Case-insensitive substring search (header names are case-insensitive). */
static const char *ci_find(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* ---------------------------------------------------------------- handlers */

static void h_hello(void *ud, arb_http_req *req)
{
    (void)arb_http_respond(req, 200, "text/plain", "X-Test: yes\r\nCache-Control: no-store\r\n",
                           "hello", 5);
}

/* Answers "<name>=<value>\n" for the names a, b, c, flag, id (absent ones skipped). */
static void h_query(void *ud, arb_http_req *req)
{
    static const char *names[] = {"a", "b", "c", "flag", "id"};
    char out[8192];
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = arb_http_req_query(req, names[i]);
        if (v != NULL)
            n += (size_t)snprintf(out + n, sizeof out - n, "%s=%s\n", names[i], v);
    }
    (void)arb_http_respond(req, 200, "text/plain", NULL, out, n);
}

/* Answers "<name>=<value>\n" for some header fields ("-" when absent). */
static void h_hdr(void *ud, arb_http_req *req)
{
    static const char *names[] = {"X-A", "authorization", "X-Id", "X-Missing"};
    char out[8192];
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = arb_http_req_header(req, names[i]);
        n += (size_t)snprintf(out + n, sizeof out - n, "%s=%s\n", names[i], v ? v : "-");
    }
    (void)arb_http_respond(req, 200, "text/plain", NULL, out, n);
}

static void h_echo(void *ud, arb_http_req *req)
{
    size_t len;
    const uint8_t *b = arb_http_req_body(req, &len);
    (void)arb_http_respond(req, 200, "application/octet-stream", NULL, b, len);
}

static void h_path(void *ud, arb_http_req *req)
{
    const char *p = arb_http_req_path(req);
    if (strcmp(p, "/tile/peer") == 0)
        p = arb_http_req_peer(req);
    (void)arb_http_respond(req, 200, "text/plain", NULL, p, strlen(p));
}

/* 1 MiB of bytes from a simple generator the test recomputes independently. */
#define BIG_LEN (1u << 20)
static uint8_t big_byte(size_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static void h_big(void *ud, arb_http_req *req)
{
    uint8_t *b = malloc(BIG_LEN);
    if (b == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "nomem");
        return;
    }
    for (size_t i = 0; i < BIG_LEN; i++)
        b[i] = big_byte(i);
    (void)arb_http_respond(req, 200, "application/octet-stream", NULL, b, BIG_LEN);
    free(b);
}

/* arb_http_respond_shared: BIG_LEN bytes sent from the handler's own buffer,
 * which the server gives back (release) once. ?slow waits 600 ms first. */
static atomic_int shared_released;
static void release_shared(void *ud)
{
    free(ud);
    atomic_fetch_add(&shared_released, 1);
}

static uint8_t *big_body(void)
{
    uint8_t *b = malloc(BIG_LEN);
    for (size_t i = 0; b != NULL && i < BIG_LEN; i++)
        b[i] = big_byte(i);
    return b;
}

static void h_shared(void *ud, arb_http_req *req)
{
    uint8_t *b = big_body();
    if (b == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "nomem");
        return;
    }
    if (arb_http_req_query(req, "slow") != NULL)
        nanosleep(&(struct timespec){0, 600 * 1000 * 1000}, NULL);
    (void)arb_http_respond_shared(req, 200, "application/octet-stream", NULL, b, BIG_LEN,
                                  release_shared, b);
}

/* A route with a fast path: ?fast is answered there (a shared 1 MiB body),
 * anything else declined and answered by the worker handler. */
static atomic_int fast_answered;
static int h_fastq_fast(void *ud, arb_http_req *req)
{
    uint8_t *b;
    if (arb_http_req_query(req, "fast") == NULL || (b = big_body()) == NULL)
        return 0;
    atomic_fetch_add(&fast_answered, 1);
    (void)arb_http_respond_shared(req, 200, "application/octet-stream", NULL, b, BIG_LEN,
                                  release_shared, b);
    return 1;
}

static void h_fastq(void *ud, arb_http_req *req)
{
    (void)arb_http_respond(req, 200, "text/plain", NULL, "worker", 6);
}

static void *later_thread(void *arg)
{
    arb_http_req *req = arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    (void)arb_http_respond(req, 202, NULL, NULL, "{\"later\":true}", 14);
    return NULL;
}

static void h_later(void *ud, arb_http_req *req)
{
    pthread_t t;
    if (pthread_create(&t, NULL, later_thread, req) != 0) {
        (void)arb_http_respond_error(req, 500, "thread", "no thread");
        return;
    }
    pthread_detach(t);
}

static void h_slow(void *ud, arb_http_req *req)
{
    struct timespec ts = {0, 600 * 1000 * 1000};
    nanosleep(&ts, NULL);
    (void)arb_http_respond(req, 200, "text/plain", NULL, "slow", 4);
}

static void h_bad_json(void *ud, arb_http_req *req)
{
    (void)arb_http_respond_error(req, 400, "bad_json", "bad \"json\"\n");
}

/* A handler that parks the request; the test answers it after stop. */
static arb_http_req *parked;
static void h_park(void *ud, arb_http_req *req)
{
    parked = req;
}

/* Sleeps 0..30 ms, then answers directly or from a fresh thread. */
static void *rand_later(void *arg)
{
    (void)arb_http_respond(arg, 200, "text/plain", NULL, "r", 1);
    return NULL;
}

static void h_rand(void *ud, arb_http_req *req)
{
    const char *v = arb_http_req_query(req, "v");
    unsigned x = v ? (unsigned)strtoul(v, NULL, 10) : 0;
    struct timespec ts = {0, (long)(x % 31) * 1000 * 1000};
    pthread_t t;
    nanosleep(&ts, NULL);
    if ((x & 64) && pthread_create(&t, NULL, rand_later, req) == 0) {
        pthread_detach(t);
        return;
    }
    (void)arb_http_respond(req, 200, "text/plain", NULL, "r", 1);
}

static void register_routes(arb_http_server *s)
{
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/rand", 0, h_rand, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/hello", 0, h_hello, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/q", 0, h_query, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/hdr", 0, h_hdr, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_POST, "/hdr", 1024, h_hdr, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_POST, "/echo", 256 * 1024, h_echo, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_POST, "/small", 16, h_echo, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_POST, "/bigpost", 4u << 20, h_echo, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/tile/", 0, h_path, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/tile/data/", 0, h_hello, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/big", 0, h_big, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/shared", 0, h_shared, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/fastq", 0, h_fastq, NULL) == ARB_OK);
    CHECK(arb_http_route_set_fast(s, ARB_HTTP_GET, "/fastq", h_fastq_fast) == ARB_OK);
    CHECK(arb_http_route_set_fast(s, ARB_HTTP_POST, "/fastq", h_fastq_fast) == ARB_ERR_NOT_FOUND);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/later", 0, h_later, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/slow", 0, h_slow, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/badjson", 0, h_bad_json, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/park", 0, h_park, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "/hello", 0, h_hello, NULL) == ARB_ERR_EXISTS);
    CHECK(arb_http_route_add(s, ARB_HTTP_GET, "nope", 0, h_hello, NULL) == ARB_ERR_INVALID_ARG);
}

/* ---------------------------------------------------------------- tests */

static void test_basic(void)
{
    resp r;
    do_req(NULL, &r, "GET", "/hello", NULL, 0, 0);
    CHECK_EQ(r.rc, CURLE_OK);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body.data, "hello");
    CHECK(strstr(r.hdrs.data, "X-Test: yes\r\n") != NULL || strstr(r.hdrs.data, "x-test: yes\r\n"));
    CHECK(ci_find(r.hdrs.data, "content-type: text/plain") != NULL);
    CHECK(ci_find(r.hdrs.data, "cache-control: no-store") != NULL);
    resp_free(&r);

    /* Prefix routes: the longest matching prefix wins; exact routes are exact. */
    do_req(NULL, &r, "GET", "/tile/1/002", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body.data, "/tile/1/002");
    resp_free(&r);
    do_req(NULL, &r, "GET", "/tile/peer", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body.data, "127.0.0.1");
    resp_free(&r);
    do_req(NULL, &r, "GET", "/tile/data/000", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body.data, "hello");
    resp_free(&r);
    do_req(NULL, &r, "GET", "/hello/x", NULL, 0, 0);
    CHECK_EQ(r.status, 404);
    resp_free(&r);
}

static void test_query(void)
{
    resp r;
    do_req(NULL, &r, "GET", "/q?a=x%20y%26z%3D1&b=caf%C3%A9&flag&c=1+2&id=%2B%2f", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body.data, "a=x y&z=1\nb=caf\xc3\xa9\nc=1 2\nflag=\nid=+/\n");
    resp_free(&r);
    do_req(NULL, &r, "GET", "/q", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body.data ? r.body.data : "", "");
    resp_free(&r);
}

static void test_post(void)
{
    resp r;
    size_t n = 200 * 1024, cap = 256 * 1024 + 1;
    uint8_t *b = malloc(cap);
    CHECK(b != NULL);
    arb_test_rand_bytes(b, cap);
    do_req(NULL, &r, "POST", "/echo", b, n, 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body.len, n);
    CHECK_MEM(r.body.data, b, n);
    resp_free(&r);
    do_req(NULL, &r, "POST", "/echo", "", 0, 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body.len, 0);
    resp_free(&r);
    /* Over the route's limit: 413 with a JSON error. */
    do_req(NULL, &r, "POST", "/small", b, 17, 0);
    CHECK_EQ(r.status, 413);
    CHECK(r.body.data && strstr(r.body.data, "\"error\"") != NULL);
    resp_free(&r);
    do_req(NULL, &r, "POST", "/echo", b, cap, 0);
    CHECK_EQ(r.status, 413);
    resp_free(&r);
    /* Chunked request bodies: 411, a Content-Length is required. */
    {
        CURL *h = curl_easy_init();
        struct curl_slist *hl = curl_slist_append(NULL, "Transfer-Encoding: chunked");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        do_req(h, &r, "POST", "/echo", b, 100, 0);
        CHECK_EQ(r.status, 411);
        CHECK(r.body.data && strstr(r.body.data, "Content-Length") != NULL);
        resp_free(&r);
        curl_easy_cleanup(h);
        curl_slist_free_all(hl);
    }
    do_req(NULL, &r, "POST", "/small", b, 16, 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body.len, 16);
    resp_free(&r);
    free(b);
}

static void test_errors(void)
{
    resp r;
    do_req(NULL, &r, "GET", "/nope", NULL, 0, 0);
    CHECK_EQ(r.status, 404);
    CHECK(ci_find(r.hdrs.data, "content-type: application/json") != NULL);
    CHECK_STR(r.body.data, "{\"error\":\"not found\"}");
    resp_free(&r);
    do_req(NULL, &r, "GET", "/echo", NULL, 0, 0);
    CHECK_EQ(r.status, 405);
    CHECK(ci_find(r.hdrs.data, "allow: POST") != NULL);
    resp_free(&r);
    do_req(NULL, &r, "POST", "/hello", "x", 1, 0);
    CHECK_EQ(r.status, 405);
    CHECK(ci_find(r.hdrs.data, "allow: GET") != NULL);
    resp_free(&r);
    do_req(NULL, &r, "DELETE", "/hello", NULL, 0, 0);
    CHECK_EQ(r.status, 405);
    resp_free(&r);
    do_req(NULL, &r, "GET", "/badjson", NULL, 0, 0);
    CHECK_EQ(r.status, 400);
    CHECK_STR(r.body.data, "{\"error\":\"bad \\\"json\\\"\\u000a\"}");
    resp_free(&r);
}

static void test_later_and_big(void)
{
    resp r;
    do_req(NULL, &r, "GET", "/later", NULL, 0, 0);
    CHECK_EQ(r.status, 202);
    CHECK_STR(r.body.data, "{\"later\":true}");
    resp_free(&r);

    do_req(NULL, &r, "GET", "/big", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body.len, BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i++)
        if ((uint8_t)r.body.data[i] != big_byte(i)) {
            arb_test_fail(__FILE__, __LINE__, "big body differs at %zu", i);
            break;
        }
    resp_free(&r);
}

/* Waits (up to 10 s) until the shared bodies were given back n times. */
static int wait_released(int n)
{
    for (int i = 0; i < 1000 && atomic_load(&shared_released) < n; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    return atomic_load(&shared_released);
}

/* A shared body arrives intact and is given back exactly once, also when the
 * client has gone before the handler answers. */
static void test_shared(void)
{
    resp r;
    int base = atomic_load(&shared_released);

    for (int k = 0; k < 3; k++) {
        do_req(NULL, &r, "GET", "/shared", NULL, 0, 0);
        CHECK_EQ(r.status, 200);
        CHECK_EQ(r.body.len, BIG_LEN);
        for (size_t i = 0; i < BIG_LEN; i++)
            if ((uint8_t)r.body.data[i] != big_byte(i)) {
                arb_test_fail(__FILE__, __LINE__, "shared body differs at %zu", i);
                break;
            }
        resp_free(&r);
    }
    CHECK_EQ(wait_released(base + 3), base + 3);
    do_req(NULL, &r, "GET", "/shared?slow", NULL, 0, 100);
    CHECK(r.rc == CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    CHECK_EQ(wait_released(base + 4), base + 4);
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    CHECK_EQ(atomic_load(&shared_released), base + 4); /* and not again */
}

/* The fast path answers what it takes (on one keep-alive connection too),
 * and what it declines reaches the worker handler. */
static void test_fast(void)
{
    CURL *h = curl_easy_init();
    int base = atomic_load(&shared_released);
    resp r;

    for (int k = 0; k < 6; k++) {
        do_req(h, &r, "GET", k % 2 ? "/fastq" : "/fastq?fast", NULL, 0, 0);
        CHECK_EQ(r.status, 200);
        if (k % 2) {
            CHECK_STR(r.body.data, "worker");
        } else {
            CHECK_EQ(r.body.len, BIG_LEN);
            CHECK(r.body.data != NULL && (uint8_t)r.body.data[BIG_LEN - 1] == big_byte(BIG_LEN - 1) &&
                  (uint8_t)r.body.data[12345] == big_byte(12345));
        }
        resp_free(&r);
    }
    curl_easy_cleanup(h);
    CHECK_EQ(atomic_load(&fast_answered), 3);
    CHECK_EQ(wait_released(base + 3), base + 3);
}

/* libcurl sends "Expect: 100-continue" for bodies over 1 MiB and waits up to
 * a second for the go-ahead: the server must give it at once. */
static void test_expect_continue(void)
{
    size_t n = 1536 * 1024;
    uint8_t *b = malloc(n);
    CURL *h = curl_easy_init();
    resp r;
    double secs = 0;
    CHECK(b != NULL);
    arb_test_rand_bytes(b, n);
    /* Without the server's go-ahead libcurl would now wait 10 s. */
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L);
    do_req(h, &r, "POST", "/bigpost", b, n, 0);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body.len, n);
    CHECK_MEM(r.body.data, b, n);
    CHECK(ci_find(r.hdrs.data, "100 Continue") != NULL);
    CHECK(secs < 5.0);
    resp_free(&r);
    /* The connection is fine afterwards, and a refused body gets no go-ahead. */
    do_req(h, &r, "GET", "/hello", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
    do_req(h, &r, "POST", "/echo", b, n, 0);
    CHECK_EQ(r.status, 413);
    CHECK(ci_find(r.hdrs.data, "100 Continue") == NULL);
    resp_free(&r);
    curl_easy_cleanup(h);
    free(b);
}

static void test_keepalive(void)
{
    CURL *h = curl_easy_init();
    resp r;
    long conns = 0, total = 0;
    for (int i = 0; i < 20; i++) {
        do_req(h, &r, i % 2 ? "POST" : "GET", i % 2 ? "/echo" : "/hello", "abc", 3, 0);
        CHECK_EQ(r.status, 200);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
        total += conns;
        resp_free(&r);
    }
    /* One connection for all 20 requests (also across a 404). */
    do_req(h, &r, "GET", "/nope", NULL, 0, 0);
    CHECK_EQ(r.status, 404);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    total += conns;
    resp_free(&r);
    do_req(h, &r, "GET", "/hello", NULL, 0, 0);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    total += conns;
    resp_free(&r);
    curl_easy_cleanup(h);
    CHECK_EQ(total, 1);
}

#define CONC_THREADS 8
struct conc_arg {
    int idx, n, bad;
};

static void *conc_main(void *arg)
{
    struct conc_arg *a = arg;
    CURL *h = curl_easy_init();
    for (int i = 0; i < a->n; i++) {
        char path[64], want[64];
        resp r;
        snprintf(path, sizeof path, "/q?id=%d-%d", a->idx, i);
        snprintf(want, sizeof want, "id=%d-%d\n", a->idx, i);
        /* Mix keep-alive and fresh connections. */
        do_req(i % 4 == 0 ? NULL : h, &r, "GET", path, NULL, 0, 0);
        if (r.status != 200 || r.body.data == NULL || strcmp(r.body.data, want) != 0)
            a->bad++;
        resp_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void test_concurrent(void)
{
    pthread_t t[CONC_THREADS];
    struct conc_arg a[CONC_THREADS];
    int n = (int)arb_test_count(SANITIZED ? 50 : 200), bad = 0;
    for (int i = 0; i < CONC_THREADS; i++) {
        a[i].idx = i;
        a[i].n = n;
        a[i].bad = 0;
        CHECK(pthread_create(&t[i], NULL, conc_main, &a[i]) == 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(t[i], NULL);
        bad += a[i].bad;
    }
    CHECK_EQ(bad, 0);
}

/* Clients that give up at random moments against handlers that answer at
 * random moments, some from other threads: every request object must be
 * freed exactly once (ASan/LSan, and the server's own count at free). */
struct churn_arg {
    unsigned long n;
    uint64_t seed;
};

static void *churn_main(void *arg)
{
    struct churn_arg *a = arg;
    uint64_t st = a->seed;
    for (unsigned long i = 0; i < a->n; i++) {
        char path[64];
        resp r;
        unsigned x;
        st = st * 6364136223846793005ull + 1442695040888963407ull; /* per-thread LCG */
        x = (unsigned)(st >> 33);
        snprintf(path, sizeof path, "/rand?v=%u", x);
        do_req(NULL, &r, "GET", path, NULL, 0, 1 + (long)((x >> 8) % 40));
        resp_free(&r);
    }
    return NULL;
}

static void test_churn(void)
{
    pthread_t t[4];
    struct churn_arg a[4];
    struct timespec ts = {0, 300 * 1000 * 1000};
    resp r;
    for (int i = 0; i < 4; i++) {
        a[i].n = arb_test_count(SANITIZED ? 20 : 40);
        a[i].seed = arb_test_rand();
        CHECK(pthread_create(&t[i], NULL, churn_main, &a[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    nanosleep(&ts, NULL);
    do_req(NULL, &r, "GET", "/hello", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
}

static void test_disconnect(void)
{
    resp r;
    struct timespec ts = {0, 800 * 1000 * 1000};
    /* The client gives up after 100 ms; the handler answers at 600 ms. */
    do_req(NULL, &r, "GET", "/slow", NULL, 0, 100);
    CHECK(r.rc == CURLE_OPERATION_TIMEDOUT);
    resp_free(&r);
    nanosleep(&ts, NULL);
    do_req(NULL, &r, "GET", "/hello", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    resp_free(&r);
}

/* Sends raw bytes and reads until the server closes or `ms` pass. Returns the
 * bytes read (NUL-terminated, malloc'd). */
static char *raw_exchange(const void *data, size_t len, int ms)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char *out = calloc(1, 65536);
    size_t n = 0;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || out == NULL || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return out;
    }
    /* The server may close before taking everything (EPIPE is fine). */
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t rd;
        if (poll(&p, 1, ms) <= 0)
            break;
        rd = recv(fd, out + n, 65535 - n, 0);
        if (rd <= 0)
            break;
        n += (size_t)rd;
        if (n >= 65535)
            break;
    }
    close(fd);
    return out;
}

/* arb_http_req_header: present, absent, any case, trimmed, the first of a
 * repeated field, no fields at all; pipelined requests each see their own. */
static void test_headers(void)
{
    char *out;
    const char *one = "GET /hdr HTTP/1.1\r\nHost: x\r\nx-a:   spaced value \t\r\n"
                      "AUTHORIZATION: Bearer abc\r\nX-Id: 1\r\nX-Id: 2\r\n"
                      "Connection: close\r\n\r\n";
    out = raw_exchange(one, strlen(one), 2000);
    CHECK(strstr(out, "HTTP/1.1 200") == out);
    CHECK(strstr(out, "\r\n\r\nX-A=spaced value\nauthorization=Bearer abc\nX-Id=1\n"
                      "X-Missing=-\n") != NULL);
    free(out);

    /* Empty values, and a request with no header fields at all. */
    const char *two = "GET /hdr HTTP/1.0\r\n\r\n";
    out = raw_exchange(two, strlen(two), 2000);
    CHECK(strstr(out, "X-A=-\nauthorization=-\nX-Id=-\nX-Missing=-\n") != NULL);
    free(out);
    const char *three = "GET /hdr HTTP/1.1\r\nX-A:\r\nX-Id: \t \r\nConnection: close\r\n\r\n";
    out = raw_exchange(three, strlen(three), 2000);
    CHECK(strstr(out, "X-A=\nauthorization=-\nX-Id=\nX-Missing=-\n") != NULL);
    free(out);

    /* Three pipelined requests (one a POST with a body): each answer shows
     * its own request's fields, and none leaks into the next. */
    const char *pipe = "GET /hdr HTTP/1.1\r\nHost: x\r\nX-A: first\r\nX-Id: 10\r\n\r\n"
                       "POST /hdr HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                       "Authorization: Bearer second\r\n\r\nbody"
                       "GET /hdr HTTP/1.1\r\nHost: x\r\nx-id: 30\r\nConnection: close\r\n\r\n";
    out = raw_exchange(pipe, strlen(pipe), 2000);
    {
        const char *a = strstr(out, "X-A=first\nauthorization=-\nX-Id=10\nX-Missing=-\n");
        const char *b = a ? strstr(a + 1, "X-A=-\nauthorization=Bearer second\nX-Id=-\n"
                                          "X-Missing=-\n")
                          : NULL;
        const char *c = b ? strstr(b + 1, "X-A=-\nauthorization=-\nX-Id=30\nX-Missing=-\n")
                          : NULL;
        CHECK(a != NULL && b != NULL && c != NULL);
    }
    free(out);

    /* Through curl too (its own header layout). */
    {
        CURL *h = curl_easy_init();
        struct curl_slist *l = curl_slist_append(NULL, "X-a: curl");
        resp r;
        char url[128];
        memset(&r, 0, sizeof r);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hdr", port);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
        CHECK(curl_easy_perform(h) == CURLE_OK);
        CHECK(r.body.data != NULL && strstr(r.body.data, "X-A=curl\nauthorization=-\n") != NULL);
        resp_free(&r);
        curl_slist_free_all(l);
        curl_easy_cleanup(h);
    }
}

static void test_malformed(void)
{
    static const char *cases[] = {
        "\x00\x01\x02garbage\xff\xfe\r\n\r\n",
        "GET\r\n\r\n",
        "GET /hello HTTP/9.9\r\n\r\n",
        "GET /hello HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
        "GET /q?a=%zz&b=%&c=%0 HTTP/1.1\r\n\r\n",
        "GET /q?a=%00 HTTP/1.1\r\n\r\n",
        "GET /../../etc/passwd HTTP/1.1\r\n\r\n",
        "GET http://example.com/hello HTTP/1.1\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    char *out;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = i == 0 ? 16 : strlen(cases[i]);
        out = raw_exchange(cases[i], len, 300);
        CHECK(out != NULL);
        free(out);
    }
    /* A header far over the cap: 431/400 or a close, never a crash. */
    {
        size_t n = 100000;
        char *big = malloc(n + 64);
        CHECK(big != NULL);
        strcpy(big, "GET /hello HTTP/1.1\r\nX-Big: ");
        memset(big + strlen(big), 'a', n);
        strcpy(big + 28 + n, "\r\n\r\n");
        out = raw_exchange(big, strlen(big), 1000);
        CHECK(out != NULL);
        CHECK(strstr(out, "200 OK") == NULL);
        free(out);
        free(big);
    }
    /* Random garbage. */
    for (int k = 0; k < 20; k++) {
        uint8_t junk[600];
        arb_test_rand_bytes(junk, sizeof junk);
        out = raw_exchange(junk, sizeof junk, 100);
        free(out);
    }
    /* Pipelined requests are answered in order; HTTP/1.0 closes after one. */
    {
        static const char pipe3[] = "GET /tile/x HTTP/1.1\r\nHost: a\r\n\r\n"
                                    "GET /tile/y HTTP/1.1\r\nHost: a\r\n\r\n"
                                    "GET /tile/z HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        const char *x, *y, *z;
        out = raw_exchange(pipe3, sizeof pipe3 - 1, 2000);
        CHECK(out != NULL);
        x = strstr(out, "/tile/x");
        y = strstr(out, "/tile/y");
        z = strstr(out, "/tile/z");
        CHECK(x != NULL && y != NULL && z != NULL && x < y && y < z);
        free(out);
        static const char http10[] = "GET /hello HTTP/1.0\r\n\r\n";
        out = raw_exchange(http10, sizeof http10 - 1, 2000);
        CHECK(out != NULL && strncmp(out, "HTTP/1.0 200", 12) == 0 && strstr(out, "hello"));
        free(out);
    }
    /* A well-formed raw request still works. */
    out = raw_exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 51, 2000);
    CHECK(out != NULL);
    CHECK(strstr(out, "200") != NULL);
    CHECK(strstr(out, "hello") != NULL);
    free(out);
    {
        resp r;
        do_req(NULL, &r, "GET", "/hello", NULL, 0, 0);
        CHECK_EQ(r.status, 200);
        resp_free(&r);
    }
}

/* Reads one metric value from /metrics text, or -1. */
static long long metric(const char *text, const char *name)
{
    char key[128];
    const char *p;
    snprintf(key, sizeof key, "\n%s ", name);
    p = strstr(text, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void test_metrics(void)
{
    resp r, r2;
    do_req(NULL, &r, "GET", "/metrics", NULL, 0, 0);
    CHECK_EQ(r.status, 200);
    CHECK(ci_find(r.hdrs.data, "content-type: text/plain") != NULL);
    CHECK(strstr(r.body.data, "# TYPE arbor_http_errors_not_found_total counter\n") != NULL);
    CHECK(metric(r.body.data, "arbor_http_errors_not_found_total") >= 3);
    CHECK(metric(r.body.data, "arbor_http_errors_method_not_allowed_total") >= 3);
    CHECK(metric(r.body.data, "arbor_http_errors_body_too_large_total") >= 2);
    CHECK(metric(r.body.data, "arbor_http_errors_bad_json_total") == 1);
    CHECK(metric(r.body.data, "arbor_http_errors_length_required_total") >= 1);
    CHECK(metric(r.body.data, "arbor_http_responses_dropped_total") >= 1);
    CHECK(metric(r.body.data, "arbor_http_requests_total") > 8 * 50);
    arb_http_metric_add(srv, "test_things_total", 5);
    arb_http_metric_add(srv, "test_things_total", 2);
    arb_http_metric_set(srv, "test_level", 42);
    arb_http_metric_set(srv, "test_level", 41);
    arb_http_metric_add(srv, "Bad-Name", 1);
    do_req(NULL, &r2, "GET", "/metrics", NULL, 0, 0);
    CHECK_EQ(metric(r2.body.data, "arbor_test_things_total"), 7);
    CHECK_EQ(metric(r2.body.data, "arbor_test_level"), 41);
    CHECK(strstr(r2.body.data, "# TYPE arbor_test_level gauge\n") != NULL);
    CHECK(strstr(r2.body.data, "Bad") == NULL);
    resp_free(&r);
    resp_free(&r2);
}

static void test_stop_with_parked(void)
{
    resp r;
    struct timespec ts = {0, 20 * 1000 * 1000};
    do_req(NULL, &r, "GET", "/park", NULL, 0, 300);
    resp_free(&r);
    for (int i = 0; i < 100 && parked == NULL; i++)
        nanosleep(&ts, NULL);
    CHECK(parked != NULL);
    arb_http_server_stop(srv);
    /* Answering after stop is safe and frees the request. */
    CHECK(arb_http_respond(parked, 200, NULL, NULL, "{}", 2) == ARB_OK);
    parked = NULL;
}

static void test_bind_conflict(void)
{
    arb_http_server *s2 = NULL;
    arb_http_config cfg = {"127.0.0.1", port, 1, 0, {NULL, NULL}};
    arb_errbuf eb;
    CHECK(arb_http_server_new(&s2, &cfg) == ARB_OK);
    CHECK(arb_http_server_start(s2, &eb) == ARB_ERR_NET);
    CHECK(strstr(eb.msg, "cannot listen") != NULL);
    arb_http_server_free(s2);
}

static void h_stuck(void *ud, arb_http_req *req)
{
    struct timespec ts = {3, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    (void)arb_http_respond(req, 200, "text/plain", NULL, "late", 4);
}

/* A handler slower than the server's timeout: the client's connection is
 * closed, the late answer is dropped, the server carries on. */
static void test_handler_timeout(void)
{
    arb_http_server *s2 = NULL;
    arb_http_config cfg = {"127.0.0.1", 0, 2, 0, {NULL, NULL}};
    arb_errbuf eb;
    int saved = port;
    resp r;
    CHECK(arb_http_server_new(&s2, &cfg) == ARB_OK);
    CHECK(arb_http_server_set_limits(s2, 100, 1) == ARB_ERR_INVALID_ARG);
    CHECK(arb_http_server_set_limits(s2, 70000, 1) == ARB_ERR_INVALID_ARG);
    CHECK(arb_http_server_set_limits(s2, 0, 1) == ARB_OK);
    CHECK(arb_http_route_add(s2, ARB_HTTP_GET, "/stuck", 0, h_stuck, NULL) == ARB_OK);
    CHECK(arb_http_route_add(s2, ARB_HTTP_GET, "/hello", 0, h_hello, NULL) == ARB_OK);
    CHECK(arb_http_server_start(s2, &eb) == ARB_OK);
    port = arb_http_server_port(s2);
    do_req(NULL, &r, "GET", "/stuck", NULL, 0, 10000);
    CHECK(r.status != 200);
    resp_free(&r);
    {
        struct timespec ts = {2, 0};
        nanosleep(&ts, NULL); /* the handler answers into the void meanwhile */
    }
    do_req(NULL, &r, "GET", "/hello", NULL, 0, 0);
    port = saved;
    CHECK_EQ(r.status, 200);
    resp_free(&r);
    arb_http_server_free(s2);
}

/* Error-level messages from the server (e.g. requests still held at free). */
static int server_errors;
static void log_errors(void *ud, int level, const char *msg)
{
    if (level == ARB_LOG_ERROR) {
        server_errors++;
        fprintf(stderr, "server error: %s\n", msg);
    }
}

int main(void)
{
    arb_http_config cfg = {"127.0.0.1", 0, 4, 0, {log_errors, NULL}};
    arb_errbuf eb;

    arb_test_seed_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (arb_http_server_new(&srv, &cfg) != ARB_OK)
        return 1;
    register_routes(srv);
    if (arb_http_server_start(srv, &eb) != ARB_OK) {
        fprintf(stderr, "start: %s\n", eb.msg);
        return 1;
    }
    port = arb_http_server_port(srv);
    CHECK_OR(port > 0, 1);
    test_basic();
    test_query();
    test_post();
    test_errors();
    test_later_and_big();
    test_shared();
    test_fast();
    test_keepalive();
    test_expect_continue();
    test_concurrent();
    test_disconnect();
    test_churn();
    test_headers();
    test_malformed();
    test_metrics();
    test_bind_conflict();
    test_handler_timeout();
    test_stop_with_parked();
    arb_http_server_free(srv);
    CHECK_OR(server_errors == 0, 1);
    curl_global_cleanup();
    return arb_test_done();
}
