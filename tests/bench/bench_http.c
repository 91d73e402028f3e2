/* HTTP server throughput: small GETs over keep-alive connections from several
 * client threads, small GETs on fresh connections, and 1 MiB responses. Server
 * and clients share the machine, so the figures are a floor. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/api/http.h"

static int port;
static volatile int stop_flag;

static void h_small(void *ud, arb_http_req *req)
{
    (void)arb_http_respond(req, 200, NULL, NULL, "{\"ok\":true}", 11);
}

static uint8_t *big;
#define BIG (1u << 20)
static void h_big(void *ud, arb_http_req *req)
{
    (void)arb_http_respond(req, 200, "application/octet-stream", NULL, big, BIG);
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    *(size_t *)ud += sz * n;
    return sz * n;
}

struct arg {
    const char *path;
    int fresh;
    unsigned long done;
    size_t bytes;
};

static void *client(void *a_)
{
    struct arg *a = a_;
    char url[128];
    CURL *h = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, a->path);
    while (!stop_flag) {
        if (a->fresh) {
            curl_easy_cleanup(h);
            h = curl_easy_init();
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->bytes);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (curl_easy_perform(h) == CURLE_OK)
            a->done++;
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void run(const char *name, const char *path, int fresh, int nthreads, double secs)
{
    pthread_t t[16];
    struct arg a[16];
    struct timespec t0, t1, d = {(time_t)secs, 0};
    unsigned long total = 0;
    size_t bytes = 0;
    double el;

    stop_flag = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < nthreads; i++) {
        a[i] = (struct arg){path, fresh, 0, 0};
        pthread_create(&t[i], NULL, client, &a[i]);
    }
    nanosleep(&d, NULL);
    stop_flag = 1;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        total += a[i].done;
        bytes += a[i].bytes;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%-34s %2d clients: %9.0f req/s  %8.1f MB/s\n", name, nthreads, (double)total / el,
           (double)bytes / el / 1e6);
}

int main(int argc, char **argv)
{
    arb_http_config cfg = {"127.0.0.1", 0, 4, 0, {NULL, NULL}};
    arb_http_server *s;
    arb_errbuf eb;
    double secs = argc > 1 ? atof(argv[1]) : 3.0;

    big = malloc(BIG);
    if (big == NULL)
        return 1;
    memset(big, 'x', BIG);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (arb_http_server_new(&s, &cfg) != ARB_OK ||
        arb_http_route_add(s, ARB_HTTP_GET, "/small", 0, h_small, NULL) != ARB_OK ||
        arb_http_route_add(s, ARB_HTTP_GET, "/big", 0, h_big, NULL) != ARB_OK ||
        arb_http_server_start(s, &eb) != ARB_OK)
        return 1;
    port = arb_http_server_port(s);
    run("GET small, keep-alive", "/small", 0, 1, secs);
    run("GET small, keep-alive", "/small", 0, 4, secs);
    run("GET small, new connection each", "/small", 1, 4, secs);
    run("GET 1 MiB, keep-alive", "/big", 0, 2, secs);
    arb_http_server_free(s);
    curl_global_cleanup();
    free(big);
    return 0;
}
