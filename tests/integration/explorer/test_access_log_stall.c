/* --access-log must never stall the server: arbord runs with its stderr on a
 * pipe that nobody reads, and answers 1,500 requests whose access lines
 * (about 1.6 KB each, 2.4 MB in all) are far more than the pipe (64 KiB) and
 * the access log's ring (1 MiB) hold. Every request must be answered; the
 * lines that did not fit must be counted in arbor_access_log_dropped_total.
 * Then the pipe is drained: the lines that were kept come out whole, and
 * arbord stops cleanly on SIGTERM. */
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test.h"

#define N_REQ 1500
#define PAD 1500

static char bin[4096], tmp[1024];

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    char **b = ud;
    size_t old = *b ? strlen(*b) : 0;
    char *nb = realloc(*b, old + sz * n + 1);
    if (nb == NULL)
        return 0;
    memcpy(nb + old, p, sz * n);
    nb[old + sz * n] = 0;
    *b = nb;
    return sz * n;
}

/* GET on a reused handle; returns the status (0: no answer in 10 s). */
static long get(CURL *h, int port, const char *path, char **out)
{
    char url[4096];
    long st = 0;
    *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    return st;
}

/* The value of a sample line "name value" in Prometheus text, or -1. */
static double sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return atof(p + n + 1);
    return -1;
}

static void run(void)
{
    char datadir[1200], listen[64], path[PAD + 32], *body = NULL;
    int errpipe[2], port, answered = 0;
    pid_t pid;
    CURL *h;

    snprintf(datadir, sizeof datadir, "%s/data", tmp);
    port = arb_test_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    CHECK_OR(pipe(errpipe) == 0, ); /* gives up */
    pid = fork();
    CHECK_OR(pid >= 0, ); /* gives up */
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(errpipe[1], 2);
        dup2(null, 1);
        close(errpipe[0]);
        execl(bin, bin, "--datadir", datadir, "--listen", listen, "--network", "regtest",
              "--access-log", (char *)NULL);
        _exit(127);
    }
    close(errpipe[1]); /* errpipe[0] stays open and unread until the end */
    h = curl_easy_init();
    for (int k = 0; k < 400; k++) {
        if (get(h, port, "/status", &body) == 200)
            break;
        free(body);
        body = NULL;
        usleep(50 * 1000);
    }
    free(body);
    memset(path, 'a', sizeof path);
    memcpy(path, "/no-such-page-", 14);
    path[PAD] = 0;
    for (int k = 0; k < N_REQ; k++) {
        if (get(h, port, path, &body) == 404)
            answered++;
        free(body);
        body = NULL;
    }
    CHECK_EQ(answered, N_REQ);
    CHECK_EQ(get(h, port, "/metrics", &body), 200);
    if (body != NULL) {
        double dropped = sample(body, "arbor_access_log_dropped_total");
        /* At most ring + pipe (about 1.1 MB, some 700 lines) can be kept. */
        CHECK(dropped >= N_REQ - 800);
        CHECK(dropped <= N_REQ + 2);
    }
    free(body);
    curl_easy_cleanup(h);

    /* Drain: the kept lines are whole access lines. */
    {
        int fl = fcntl(errpipe[0], F_GETFL);
        size_t cap = 4 << 20, len = 0;
        char *buf = malloc(cap + 1);
        int lines = 0, bad = 0;
        CHECK_OR(buf != NULL, ); /* gives up */
        fcntl(errpipe[0], F_SETFL, fl | O_NONBLOCK);
        for (int idle = 0; idle < 20 && len < cap;) {
            ssize_t r = read(errpipe[0], buf + len, cap - len);
            if (r > 0) {
                len += (size_t)r;
                idle = 0;
            } else {
                idle++;
                usleep(50 * 1000);
            }
        }
        buf[len] = 0;
        for (char *p = buf, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
            *nl = 0;
            if (strstr(p, " access ") != NULL && strstr(p, "path=/no-such-page-") != NULL) {
                lines++;
                if (strlen(p) < PAD || strstr(p, "status=404") == NULL)
                    bad++;
            }
        }
        CHECK(lines >= 100);
        CHECK_EQ(bad, 0);
        free(buf);
    }
    kill(pid, SIGTERM);
    {
        int st = 0, done = 0;
        for (int k = 0; k < 600 && !done; k++) { /* 30 s */
            char junk[65536];
            while (read(errpipe[0], junk, sizeof junk) > 0) /* the shutdown lines */
                ;
            done = waitpid(pid, &st, WNOHANG) == pid;
            if (!done)
                usleep(50 * 1000);
        }
        if (!done) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        CHECK(done);
        CHECK(done && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    close(errpipe[0]);
}

int main(void)
{
    arb_test_bin(bin, sizeof bin, "arbord");
    if (access(bin, X_OK) != 0 || arb_test_tmpdir(tmp, sizeof tmp) != 0) {
        fprintf(stderr, "no arbord at %s, or no temporary directory\n", bin);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    run();
    curl_global_cleanup();
    arb_test_rmtree(tmp);
    return arb_test_done();
}
