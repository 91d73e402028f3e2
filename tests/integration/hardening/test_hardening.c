/* Attacks on a real arbord's connections, over loopback, while a normal
 * client (from 127.0.0.1) keeps asking the log for get-sth and the chain for
 * its tip: 256 idle connections from one address that reconnect when closed,
 * 300 slowloris connections from five addresses sending a header byte now
 * and then, pipelined POSTs and garbage (the request that used to stop
 * arbord for good), and 64 concurrent 5 MiB bodies to /chain/v1/block while
 * arbord's memory stays bounded. After all that arbord stops on SIGTERM.
 * The only timing bounds are generous liveness bounds. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/hardening/rawclient.h"
#include "tests/proc.h"
#include "tests/test.h"

#define WAIT_MS 20000
#define LIVE_MS 15000 /* a normal request must be answered within this */

static char bin[4096];
static char tmp[1024];
static int port;
static arb_proc *node;

/* The normal client: get-sth from the log and the tip from the chain. */
static void check_normal_client(const char *when)
{
    long long t0 = raw_now_ms();
    int a = raw_request(1, port, "GET", "/ct/v1/get-sth", NULL, 0, LIVE_MS, NULL);
    int b = raw_request(1, port, "GET", "/chain/v1/tip", NULL, 0, LIVE_MS, NULL);
    long long dt = raw_now_ms() - t0;
    if (a != 200 || b != 200)
        fprintf(stderr, "%s: get-sth %d, tip %d after %lld ms\n", when, a, b, dt);
    CHECK_EQ(a, 200);
    CHECK_EQ(b, 200);
    CHECK(dt < 2 * LIVE_MS);
}

/* One counter from arbord's /metrics, or -1. */
static long long metric(const char *name)
{
    char *body = NULL, key[128], *p;
    long long v = -1;
    if (raw_request(1, port, "GET", "/metrics", NULL, 0, LIVE_MS, &body) != 200 || body == NULL) {
        free(body);
        return -1;
    }
    snprintf(key, sizeof key, "\n%s ", name);
    if ((p = strstr(body, key)) != NULL)
        v = strtoll(p + strlen(key), NULL, 10);
    free(body);
    return v;
}

/* ---------------------------------------------------------------- idle connections */

static atomic_int attack_stop;

/* Keeps 256 connections from 127.0.0.2 open, silent, reconnecting any that
 * the server closes. */
static void *idle_attacker(void *arg)
{
    int fds[256];
    (void)arg;
    for (int i = 0; i < 256; i++)
        fds[i] = raw_dial(2, port);
    while (!atomic_load(&attack_stop)) {
        for (int i = 0; i < 256; i++) {
            char b;
            if (fds[i] >= 0 && recv(fds[i], &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN)
                continue; /* still open */
            if (fds[i] >= 0)
                close(fds[i]);
            fds[i] = raw_dial(2, port);
        }
        usleep(20 * 1000);
    }
    for (int i = 0; i < 256; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return NULL;
}

/* 300 connections from 127.0.0.3..7, each sending one more header byte every
 * half second, reconnecting when closed. */
static void *slowloris(void *arg)
{
    int fds[300];
    (void)arg;
    for (int i = 0; i < 300; i++) {
        fds[i] = raw_dial(3 + i % 5, port);
        if (fds[i] >= 0)
            (void)raw_send_str(fds[i], "GET /ct/v1/get-sth HTTP/1.1\r\nX-A: ");
    }
    while (!atomic_load(&attack_stop)) {
        for (int i = 0; i < 300; i++) {
            if (fds[i] >= 0 && raw_send_str(fds[i], "a"))
                continue;
            if (fds[i] >= 0)
                close(fds[i]);
            fds[i] = raw_dial(3 + i % 5, port);
            if (fds[i] >= 0)
                (void)raw_send_str(fds[i], "GET /ct/v1/get-sth HTTP/1.1\r\nX-A: ");
        }
        usleep(500 * 1000);
    }
    for (int i = 0; i < 300; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return NULL;
}

static void test_idle_and_slowloris(void)
{
    pthread_t t1, t2;
    atomic_store(&attack_stop, 0);
    CHECK(pthread_create(&t1, NULL, idle_attacker, NULL) == 0);
    CHECK(pthread_create(&t2, NULL, slowloris, NULL) == 0);
    /* The attack runs past the header timeout (3 s here), so the attackers
     * are closed and come back at least once. */
    for (int k = 0; k < 8; k++) {
        usleep(1000 * 1000);
        check_normal_client("idle + slowloris");
    }
    atomic_store(&attack_stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    check_normal_client("after idle + slowloris");
    /* The server cut them off itself: slowloris by the header timeout, the
     * idle ones (over the per-address limit) by eviction. */
    CHECK(metric("arbor_http_timeouts_header_total") >= 1);
    CHECK(metric("arbor_http_conns_evicted_total") >= 1);
}

/* ---------------------------------------------------------------- pipelining */

static void test_pipelined(void)
{
    static const char posts[] =
        "POST /chain/v1/tx HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"hex\":\"00\"}"
        "POST /chain/v1/tx HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"hex\":\"00\"}"
        "POST /chain/v1/tx HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"hex\":\"00\"}";
    static const char garbage[] =
        "POST /chain/v1/tx HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"hex\":\"00\"}"
        "\x01\x02 garbage\r\n\r\n";
    static const char gets[] = "GET /ct/v1/get-sth HTTP/1.1\r\n\r\nHEAD /chain/v1/tip HTTP/1.1\r\n\r\n"
                               "GET /chain/v1/tip HTTP/1.1\r\nConnection: close\r\n\r\n";
    int st[8], fd;
    size_t n;
    char *out;

    fd = raw_dial(1, port);
    CHECK(fd >= 0);
    CHECK(raw_send(fd, posts, sizeof posts - 1));
    out = raw_read(fd, 3, LIVE_MS, &n, NULL);
    close(fd);
    CHECK(out != NULL);
    CHECK_EQ(raw_answers(out, n, st, NULL, 8), 3);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(st[i], 400); /* "00" is no transaction; each gets its own answer */
    free(out);

    fd = raw_dial(1, port);
    CHECK(fd >= 0);
    CHECK(raw_send(fd, garbage, sizeof garbage - 1));
    out = raw_read(fd, 0, LIVE_MS, &n, NULL);
    close(fd);
    CHECK(out != NULL);
    CHECK_EQ(raw_answers(out, n, st, NULL, 8), 2);
    CHECK_EQ(st[0], 400);
    CHECK_EQ(st[1], 400);
    free(out);

    /* GET, HEAD, GET: the HEAD's answer has no body, so count by hand. */
    fd = raw_dial(1, port);
    CHECK(fd >= 0);
    CHECK(raw_send(fd, gets, sizeof gets - 1));
    out = raw_read(fd, 0, LIVE_MS, &n, NULL);
    close(fd);
    CHECK(out != NULL);
    {
        int k = 0;
        for (const char *q = out; (q = strstr(q, "HTTP/1.1 200")) != NULL; q++)
            k++;
        CHECK_EQ(k, 3);
    }
    free(out);
    check_normal_client("after pipelining");
}

/* ---------------------------------------------------------------- big bodies */

#define NBODIES 64
#define BODYLEN (5u << 20)

static char *big_body;
static atomic_int bodies_ok, bodies_refused, bodies_other;

static void *body_client(void *arg)
{
    int host = (int)(long)arg, st;
    char hdr[160];
    int fd = raw_dial(host, port);
    size_t n;
    char *out;
    if (fd < 0) {
        atomic_fetch_add(&bodies_other, 1);
        return NULL;
    }
    snprintf(hdr, sizeof hdr,
             "POST /chain/v1/block HTTP/1.1\r\nContent-Type: application/json\r\n"
             "Content-Length: %u\r\nConnection: close\r\n\r\n",
             BODYLEN);
    if (raw_send_str(fd, hdr)) {
        /* In 256 KiB pieces with pauses, so many are in flight at once. */
        for (size_t off = 0; off < BODYLEN; off += 256u << 10) {
            if (!raw_send(fd, big_body + off, 256u << 10))
                break;
            usleep(20 * 1000);
        }
    }
    out = raw_read(fd, 1, 60000, &n, NULL);
    close(fd);
    if (out != NULL && raw_answers(out, n, &st, NULL, 1) == 1) {
        if (st == 503)
            atomic_fetch_add(&bodies_refused, 1);
        else if (st == 400)
            atomic_fetch_add(&bodies_ok, 1); /* read whole, parsed, rejected as a block */
        else
            atomic_fetch_add(&bodies_other, 1);
    } else {
        atomic_fetch_add(&bodies_other, 1);
    }
    free(out);
    return NULL;
}

static void test_big_bodies(void)
{
    pthread_t t[NBODIES];
    pid_t pid = arb_proc_pid(node);
    long before = raw_rss_kb(pid, 0), peak = before;

    big_body = malloc(BODYLEN);
    CHECK(big_body != NULL);
    memcpy(big_body, "{\"hex\":\"", 8);
    memset(big_body + 8, '0', BODYLEN - 10);
    memcpy(big_body + BODYLEN - 2, "\"}", 2);
    for (int i = 0; i < NBODIES; i++)
        CHECK(pthread_create(&t[i], NULL, body_client, (void *)(long)(8 + i % 8)) == 0);
    for (int k = 0; k < 6; k++) {
        long r;
        check_normal_client("big bodies");
        r = raw_rss_kb(pid, 0);
        if (r > peak)
            peak = r;
        usleep(300 * 1000);
    }
    for (int i = 0; i < NBODIES; i++)
        pthread_join(t[i], NULL);
    {
        long r = raw_rss_kb(pid, 0);
        if (r > peak)
            peak = r;
    }
    fprintf(stderr,
            "64 x 5 MiB bodies: %d read and answered, %d refused (503), %d other; arbord RSS %ld "
            "-> peak seen %ld KiB (VmHWM %ld KiB)\n",
            atomic_load(&bodies_ok), atomic_load(&bodies_refused), atomic_load(&bodies_other),
            before, peak, raw_rss_kb(pid, 1));
    CHECK_EQ(atomic_load(&bodies_other), 0);
    CHECK(atomic_load(&bodies_ok) >= 1);
    CHECK(atomic_load(&bodies_refused) >= 1);
    /* 64 bodies of 5 MiB held at once would be 320 MiB; the chain's budget
     * here is 24 MiB (and a body's JSON parse needs a few times its size). */
    CHECK(peak - before < 192 * 1024);
    free(big_body);
    check_normal_client("after big bodies");
}

/* A bad limit is a usage error, found before the data directory is made. */
static void test_bad_limit(void)
{
    char dir[1100];
    const char *bad[] = {bin, "--datadir", dir, "--listen", "127.0.0.1:0", "--network",
                         "regtest", "--http-limit", "max-conns=0", NULL};
    arb_proc *p;
    snprintf(dir, sizeof dir, "%s/never", tmp);
    CHECK(arb_proc_spawn(&p, bad) == 0);
    CHECK_EQ(arb_proc_wait(p, WAIT_MS), 2);
    CHECK(access(dir, F_OK) != 0);
    arb_proc_free(p);
}

/* arbord still stops on SIGTERM, at once, with attackers connected. */
static void stop_node(void)
{
    int fds[64];
    for (int i = 0; i < 64; i++) {
        fds[i] = raw_dial(2 + i % 4, port);
        if (fds[i] >= 0 && i % 2)
            (void)raw_send_str(fds[i], "POST /chain/v1/tx HTTP/1.1\r\nContent-Length: 12\r\n\r\n"
                                       "{\"hex\":\"00\"}GET / x\r\nX-");
    }
    CHECK_EQ(arb_proc_kill(node, SIGTERM), 0);
    CHECK_EQ(arb_proc_wait(node, WAIT_MS), 0);
    for (int i = 0; i < 64; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int main(void)
{
    const char *argv[] = {bin, "--datadir", tmp, "--listen", "127.0.0.1:0", "--json",
                          "--network", "regtest",
                          "--http-limit", "header-timeout=3",
                          "--http-limit", "chain-body-budget=24m",
                          "--http-limit", "max-conns=1000",
                          NULL};
    struct rlimit rl;

    arb_test_seed_init();
    if (arb_test_bin(bin, sizeof bin, "arbord") == NULL || arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    /* This process opens some 600 sockets at once. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    test_bad_limit();
    if (arb_proc_spawn(&node, argv) != 0)
        return 1;
    port = arb_proc_wait_port(node, WAIT_MS);
    if (port <= 0) {
        char *err = arb_proc_output(node, 2);
        fprintf(stderr, "arbord did not start: %s\n", err ? err : "");
        free(err);
        arb_proc_free(node);
        return 1;
    }
    check_normal_client("before");
    test_pipelined();
    test_idle_and_slowloris();
    test_big_bodies();
    stop_node();
    arb_proc_free(node);
    arb_test_rmtree(tmp);
    return arb_test_done();
}
