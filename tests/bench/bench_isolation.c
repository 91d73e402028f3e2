/* Isolation of the log from the chain inside one arbord (regtest, a root
 * generated here): the latency of the log's get-sth and add-chain (p50/p99,
 * one client on a keep-alive connection, requests one after another) with
 * arbord otherwise idle, and again while eight clients loop on the chain's
 * most expensive endpoints (four on GET /chain/v1/template, four posting the
 * template's block, padded to a 4 MiB body, to POST /chain/v1/block), each
 * on its own keep-alive connection. Also the rate the chain clients got. One JSON line per figure
 * on stdout. Usage:
 *   bench_isolation [REQUESTS [SECONDS_WARMUP [--http-limit NAME=V ...]]]
 * (defaults 400 get-sth and 200 add-chain per phase, 1 s); further
 * arguments go to arbord. arbord is found through ARB_BIN (default: next to
 * this program). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/params.h"
#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "tests/integration/hardening/rawclient.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

#define BLOCK_BODY (4u << 20)

static int port;
static char addr[ARB_ADDR_MAX];
static atomic_int load_stop;
static atomic_long load_done[2], load_err[2];

/* One request on a keep-alive connection (reconnects if needed). Returns the
 * status; the answer's body (NUL-terminated) in *body_out if not NULL. */
static int ka_request(int *fd, const char *method, const char *path, const char *body,
                      char **body_out)
{
    char hdr[512];
    size_t blen = body ? strlen(body) : 0, n = 0;
    const char *at;
    char *out;
    int st = -1;

    if (body_out)
        *body_out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0 && (*fd = raw_dial(1, port)) < 0)
            return -1;
        snprintf(hdr, sizeof hdr, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n",
                 method, path, blen);
        if (raw_send_str(*fd, hdr) && (blen == 0 || raw_send(*fd, body, blen)))
            break;
        close(*fd);
        *fd = -1;
    }
    if (*fd < 0)
        return -1;
    out = raw_read(*fd, 1, 30000, &n, NULL);
    if (out == NULL || raw_answers(out, n, &st, &at, 1) != 1) {
        free(out);
        close(*fd);
        *fd = -1;
        return -1;
    }
    if (strstr(at, "Connection: close") != NULL || strstr(at, "connection: close") != NULL) {
        close(*fd);
        *fd = -1;
    }
    if (body_out) {
        const char *b = strstr(at, "\r\n\r\n") + 4;
        *body_out = strdup(b);
    }
    free(out);
    return st;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Chain load: kind 0 loops on the template, kind 1 posts the template's block. */
static void *load_main(void *arg)
{
    int kind = (int)(long)arg, fd = -1;
    char path[256], *tpl = NULL, *block = NULL;

    snprintf(path, sizeof path, "/chain/v1/template?address=%s", addr);
    if (kind == 1) {
        const char *h, *e;
        if (ka_request(&fd, "GET", path, NULL, &tpl) != 200 || tpl == NULL ||
            (h = strstr(tpl, "\"hex\":\"")) == NULL || (e = strchr(h + 7, '"')) == NULL) {
            atomic_fetch_add(&load_err[1], 1);
            free(tpl);
            return NULL;
        }
        h += 7;
        /* The template's block, padded with zero bytes to BLOCK_BODY bytes of
         * JSON: the server reads, parses and decodes it all before it refuses
         * the trailing bytes, as it would for a big block. */
        block = malloc(BLOCK_BODY + (size_t)(e - h) + 16);
        if (block == NULL)
            return NULL;
        {
            int n = sprintf(block, "{\"hex\":\"%.*s", (int)(e - h), h);
            size_t len = (size_t)n;
            while (len + 4 < BLOCK_BODY) {
                block[len++] = '0';
                block[len++] = '0';
            }
            memcpy(block + len, "\"}", 3);
        }
        free(tpl);
    }
    while (!atomic_load(&load_stop)) {
        int st = kind == 0 ? ka_request(&fd, "GET", path, NULL, NULL)
                           : ka_request(&fd, "POST", "/chain/v1/block", block, NULL);
        /* A template is 200; a posted block is read, parsed and checked
         * whole, then accepted (200) or refused (400: stale or not mined). */
        if (st == 200 || (kind == 1 && st == 400))
            atomic_fetch_add(&load_done[kind], 1);
        else
            atomic_fetch_add(&load_err[kind], 1);
    }
    if (fd >= 0)
        close(fd);
    free(block);
    return NULL;
}

static void report(const char *load, const char *what, double *lat, int n, int errors)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp_d);
    printf("{\"bench\":\"isolation\",\"load\":\"%s\",\"what\":\"%s\",\"requests\":%d,"
           "\"errors\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
           load, what, n, errors, n ? lat[n / 2] : 0.0, n ? lat[(n * 99) / 100] : 0.0,
           n ? lat[n - 1] : 0.0);
    fflush(stdout);
}

/* Times get-sth and add-chain (bodies[next...]). */
static void measure(const char *load, int n, char **bodies, int *next)
{
    double *lat = calloc((size_t)n, sizeof *lat);
    int fd = -1, errors = 0;
    if (lat == NULL)
        return;
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        if (ka_request(&fd, "GET", "/ct/v1/get-sth", NULL, NULL) != 200)
            errors++;
        lat[i] = now_ms() - t0;
    }
    report(load, "get-sth", lat, n, errors);
    errors = 0;
    for (int i = 0; i < n / 2; i++) {
        double t0 = now_ms();
        if (ka_request(&fd, "POST", "/ct/v1/add-chain", bodies[(*next)++], NULL) != 200)
            errors++;
        lat[i] = now_ms() - t0;
    }
    report(load, "add-chain", lat, n / 2, errors);
    if (fd >= 0)
        close(fd);
    free(lat);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 400, warm = argc > 2 ? atoi(argv[2]) : 1, next = 0;
    int64_t t = (int64_t)time(NULL);
    EVP_PKEY *kr = pki_key(), *ki = pki_key(), *kl = pki_key();
    pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
    X509 *r = pki_cert(&sr, kr, NULL, NULL), *im = pki_cert(&si, ki, r, kr);
    size_t il, pem_len;
    uint8_t *id = pki_der(im, &il), key[32];
    char *pem = pki_pem(r, &pem_len), roots_path[1200], bin[4096], tmp[1024], datadir[1100];
    char **bodies;
    const char *av[64];
    int ac = 0;
    arb_proc *node;
    FILE *f;

    if (n < 10)
        n = 10;
    if (arb_test_bin(bin, sizeof bin, "arbord") == NULL || arb_test_tmpdir(tmp, sizeof tmp) != 0 ||
        id == NULL || pem == NULL) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(roots_path, sizeof roots_path, "%s/roots.pem", tmp);
    snprintf(datadir, sizeof datadir, "%s/data", tmp);
    if ((f = fopen(roots_path, "w")) == NULL || fwrite(pem, 1, pem_len, f) != pem_len ||
        fclose(f) != 0)
        return 1;
    /* add-chain bodies: distinct leaves, two phases' worth. */
    bodies = calloc((size_t)n, sizeof *bodies);
    for (int i = 0; i < n; i++) {
        pki_spec sl = {"leaf.example.test", NULL, 1000 + (long)i, t - 3600, t + 86400 * 90, 0};
        X509 *x = pki_cert(&sl, kl, im, ki);
        arb_ct_cert_ref chain[2];
        size_t len;
        chain[0].der = pki_der(x, &len);
        chain[0].len = len;
        chain[1].der = id;
        chain[1].len = il;
        X509_free(x);
        bodies[i] = arb_ct_json_chain(chain, 2);
        free((void *)chain[0].der);
        if (bodies[i] == NULL)
            return 1;
    }
    memset(key, 0x5a, sizeof key);
    if (!arb_address_encode(addr, arb_chain_params_get("regtest")->hrp, key))
        return 1;

    av[ac++] = bin;
    av[ac++] = "--datadir";
    av[ac++] = datadir;
    av[ac++] = "--listen";
    av[ac++] = "127.0.0.1:0";
    av[ac++] = "--json";
    av[ac++] = "--network";
    av[ac++] = "regtest";
    av[ac++] = "--log-roots";
    av[ac++] = roots_path;
    for (int i = 3; i < argc && ac < 62; i++)
        av[ac++] = argv[i];
    av[ac] = NULL;
    if (arb_proc_spawn(&node, av) != 0 || (port = arb_proc_wait_port(node, 20000)) <= 0) {
        fprintf(stderr, "arbord did not start\n");
        return 1;
    }

    measure("idle", n, bodies, &next);
    {
        pthread_t th[8];
        double t0, dt;
        atomic_store(&load_stop, 0);
        for (int i = 0; i < 8; i++)
            pthread_create(&th[i], NULL, load_main, (void *)(long)(i % 2));
        sleep((unsigned)warm);
        t0 = now_ms();
        measure("chain8", n, bodies, &next);
        dt = now_ms() - t0;
        atomic_store(&load_stop, 1);
        for (int i = 0; i < 8; i++)
            pthread_join(th[i], NULL);
        printf("{\"bench\":\"isolation\",\"load\":\"chain8\",\"what\":\"chain clients\","
               "\"template_per_s\":%.1f,\"block_post_per_s\":%.1f,\"errors\":%ld}\n",
               (double)atomic_load(&load_done[0]) * 1e3 / (dt + warm * 1e3),
               (double)atomic_load(&load_done[1]) * 1e3 / (dt + warm * 1e3),
               atomic_load(&load_err[0]) + atomic_load(&load_err[1]));
    }
    arb_proc_kill(node, SIGTERM);
    arb_proc_wait(node, 20000);
    arb_proc_free(node);
    arb_test_rmtree(tmp);
    for (int i = 0; i < n; i++)
        free(bodies[i]);
    free(bodies);
    return 0;
}
