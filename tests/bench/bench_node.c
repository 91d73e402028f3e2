#include "tests/bench/bench_node.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <time.h>

#include "tests/test.h"

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

arb_proc *bench_arbord_at(const char *dir, int port, const char *const extra[])
{
    char bin[4096], listen[32];
    const char *argv[56] = {arb_test_bin(bin, sizeof bin, "arbord"), "--datadir", dir, "--listen",
                            listen, "--json", "--network", "regtest"};
    size_t n = 8;
    arb_proc *p;
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    for (size_t i = 0; extra != NULL && extra[i] != NULL && i < 40; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    if (arb_proc_spawn(&p, argv) != 0 || arb_proc_wait_port(p, 30000) != port) {
        fprintf(stderr, "cannot start arbord\n");
        exit(1);
    }
    return p;
}

static CURL *main_curl;

arb_tl_http_opts bench_at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 60};
    if (main_curl == NULL)
        main_curl = curl_easy_init();
    o.curl = main_curl;
    return o;
}

void bench_http_done(void)
{
    curl_easy_cleanup(main_curl);
    main_curl = NULL;
}

long bench_post_hex(arb_tl_http_opts o, const char *path, const arb_buf *raw)
{
    json_t *j = NULL;
    long st = arb_tl_post_hex(o, path, raw->data, raw->len, &j);
    if (st != 200) {
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        fprintf(stderr, "POST %s: %ld %s\n", path, st, text ? text : "");
        free(text);
    }
    json_decref(j);
    return st;
}
