#include "tests/bench/bench_logserver.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/bench_node.h"
#include "tests/test.h"
#include "tests/testlib/testlog.h"

int bench_log_make(const char *dir, long n, const bench_log_spec *spec)
{
    char datadir[800], done[800];
    unsigned long long size = 0;
    log_bulk_config bc;
    arb_tl_log l;
    arb_errbuf eb;
    struct stat sb;
    double t0;
    int ok = 0;

    snprintf(datadir, sizeof(datadir), "%s/log", dir);
    snprintf(done, sizeof(done), "%s/loaded", dir);
    if (stat(done, &sb) == 0)
        return 1;
    mkdir(dir, 0755);
    if (!arb_tl_log_make(&l, dir))
        goto out;
    arb_tl_log_bulk(&l, &bc, datadir, spec->first_serial, n);
    bc.unique_names = spec->unique_names;
    t0 = bench_now_s();
    if (log_bulk_load(&bc, &size, &eb) != ARB_OK) {
        fprintf(stderr, "bulk load: %s\n", eb.msg);
        goto out;
    }
    printf("{\"bench\":\"log_bulk_load\",\"entries\":%ld,\"tree_size\":%llu,%s"
           "\"seconds\":%.1f,\"entries_per_s\":%.0f}\n",
           n, size, spec->unique_names ? "\"domain_index\":true," : "", bench_now_s() - t0,
           (double)n / (bench_now_s() - t0));
    fflush(stdout);
    ok = arb_test_write_file(done, "1", 1);
out:
    arb_tl_log_free(&l);
    return ok;
}

arb_tl_http_opts bench_server_at(const bench_server *s, void *curl)
{
    arb_tl_http_opts o = {.port = s->port, .timeout_s = 60, .flags = ARB_TL_HTTP_NOSIGNAL};
    o.curl = curl;
    return o;
}

int bench_server_start(bench_server *s, const char *bin, const char *dir, const char *logp)
{
    char listen[64], datadir[800], keyp[800], rootsp[800];
    CURL *c;
    arb_tl_body b;
    int up = 0;

    snprintf(datadir, sizeof(datadir), "%s/log", dir);
    snprintf(keyp, sizeof(keyp), "%s/key.pem", dir);
    snprintf(rootsp, sizeof(rootsp), "%s/roots.pem", dir);
    s->port = arb_test_free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    s->pid = fork();
    if (s->pid == 0) {
        const char *av[] = {bin,       "--datadir", datadir, "--listen",    listen, "--network",
                            "regtest", "--log-key", keyp,    "--log-roots", rootsp, NULL};
        if (freopen(logp, "a", stderr) == NULL || freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execv(bin, (char *const *)av);
        _exit(127);
    }
    c = curl_easy_init();
    for (int i = 0; i < 1200 && !up && s->pid > 0; i++) {
        up = arb_tl_http_raw(bench_server_at(s, c), "/ct/v1/get-sth", NULL, 0, &b) == 200;
        free(b.data);
        if (!up)
            usleep(50000);
    }
    curl_easy_cleanup(c);
    if (!up) {
        fprintf(stderr, "arbord did not start (%s; see %s)\n", bin, logp);
        bench_server_stop(s);
    }
    return up;
}

void bench_server_stop(bench_server *s)
{
    int st;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &st, 0);
        s->pid = 0;
    }
}
