/* Domain search against a real arbord: a log of N entries (default 10^6),
 * each leaf with its own name "n<i>.d<i % 1000>.example.test", is bulk-loaded
 * through the log's own sequencer with the domain index written in the same
 * batches (tests/bench/log_bulk.h), then served by arbord, and
 * GET /log/v1/search is measured over keep-alive connections from 4 client
 * threads for a few seconds per query kind:
 *   exact      one random name (1 result)
 *   subdomain  one random d<k>.example.test with subdomains, limit 100
 *              (about N/1000 names below it: a full first page)
 *   page       a later page of the same (after=)
 * and the explorer's pages rendered by arbord: the start page (it reads 58
 * entries), a random entry (decoded, with its inclusion proof) and a
 * domain's first page of 100 results.
 * Every answer must be 200 with the expected number of results, else the
 * bench fails. One JSON line per figure. Usage:
 *   bench_domain_search [ENTRIES [KEEP_DIR [SECONDS]]]
 * With KEEP_DIR the loaded log is kept and reused. arbord comes from ARB_BIN
 * (default: ./). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "tests/bench/bench_logserver.h"
#include "tests/bench/bench_node.h"
#include "tests/test.h"

#define CLIENTS 4

static char tmp[512], arbord_bin[1024];
static bench_server srv;
static long n_entries;
static double run_s = 5;

typedef arb_tl_body body;

/* GET path on arbord over the kept-alive handle c; the status (0: no answer). */
static long get(CURL *c, const char *path, body *out)
{
    return arb_tl_http_raw(bench_server_at(&srv, c), path, NULL, 0, out);
}

enum { Q_EXACT, Q_SUB, Q_PAGE, Q_HOME, Q_ENTRY, Q_DOMAIN_HTML };

typedef struct {
    int kind;
    unsigned seed;
    long done;
    int bad;
} client;

static void *client_run(void *ud)
{
    client *cl = ud;
    CURL *c = curl_easy_init();
    double end = bench_now_s() + run_s;
    long per_dom = n_entries / 1000;
    while (bench_now_s() < end && !cl->bad) {
        char path[256];
        long i = (long)(rand_r(&cl->seed) % (unsigned)n_entries), want;
        body b;
        if (cl->kind == Q_EXACT) {
            snprintf(path, sizeof path, "/log/v1/search?domain=n%ld.d%ld.example.test", i, i % 1000);
            want = 1;
        } else if (cl->kind == Q_SUB) {
            snprintf(path, sizeof path, "/log/v1/search?domain=d%ld.example.test&subdomains=1&limit=100",
                     i % 1000);
            want = per_dom < 100 ? per_dom : 100;
        } else if (cl->kind == Q_HOME) {
            snprintf(path, sizeof path, "/");
            want = -1;
        } else if (cl->kind == Q_ENTRY) {
            snprintf(path, sizeof path, "/log/entry/%ld", i);
            want = -1;
        } else if (cl->kind == Q_DOMAIN_HTML) {
            snprintf(path, sizeof path, "/log/domain?domain=d%ld.example.test&subdomains=1", i % 1000);
            want = -1;
        } else {
            /* A page after the name of entry i: everything sorting after it. */
            snprintf(path, sizeof path,
                     "/log/v1/search?domain=d%ld.example.test&subdomains=1&limit=100&after=n%ld.d%ld."
                     "example.test:%ld",
                     i % 1000, i, i % 1000, i);
            want = -1;
        }
        if (get(c, path, &b) != 200 || b.data == NULL) {
            cl->bad = 1;
        } else if (want >= 0) {
            json_t *j = json_loads(b.data, 0, NULL);
            if (j == NULL || (long)json_array_size(json_object_get(j, "results")) != want)
                cl->bad = 1;
            json_decref(j);
        }
        free(b.data);
        cl->done++;
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int measure(int kind, const char *name)
{
    pthread_t th[CLIENTS];
    client cl[CLIENTS];
    long total = 0;
    int bad = 0;
    double t0 = bench_now_s();
    for (int i = 0; i < CLIENTS; i++) {
        cl[i] = (client){kind, (unsigned)(1234 + i * 7919 + kind), 0, 0};
        pthread_create(&th[i], NULL, client_run, &cl[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        total += cl[i].done;
        bad |= cl[i].bad;
    }
    double dt = bench_now_s() - t0;
    printf("{\"bench\":\"domain_search\",\"query\":\"%s\",\"entries\":%ld,\"clients\":%d,"
           "\"requests\":%ld,\"seconds\":%.2f,\"requests_per_s\":%.0f,\"ok\":%s}\n",
           name, n_entries, CLIENTS, total, dt, (double)total / dt, bad ? "false" : "true");
    fflush(stdout);
    return !bad;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    const char *keep = argc > 2 ? argv[2] : NULL, *bin = getenv("ARB_BIN");
    char dir[700], logp[700];
    const bench_log_spec spec = {0, 1}; /* serials from 0, a name per leaf */
    int ok;

    if (n < 1000 || argc > 4 || (keep != NULL && keep[0] == '\0')) {
        fprintf(stderr, "usage: bench_domain_search [ENTRIES>=1000 [KEEP_DIR [SECONDS]]]\n");
        return 2;
    }
    if (argc > 3)
        run_s = atof(argv[3]);
    n_entries = n;
    snprintf(arbord_bin, sizeof arbord_bin, "%s/arbord", bin ? bin : ".");
    if (arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    snprintf(dir, sizeof dir, "%s", keep ? keep : tmp);
    if (!keep)
        strncat(dir, "/bench", sizeof dir - strlen(dir) - 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(logp, sizeof logp, "%s/arbord.log", tmp);
    ok = bench_log_make(dir, n, &spec) && bench_server_start(&srv, arbord_bin, dir, logp);
    if (ok) {
        ok &= measure(Q_EXACT, "exact");
        ok &= measure(Q_SUB, "subdomains_first_page_100");
        ok &= measure(Q_PAGE, "subdomains_later_page_100");
        ok &= measure(Q_HOME, "explorer_start_page");
        ok &= measure(Q_ENTRY, "explorer_entry_page");
        ok &= measure(Q_DOMAIN_HTML, "explorer_domain_page_100");
    } else {
        fprintf(stderr, "cannot load or serve the log\n");
    }
    bench_server_stop(&srv);
    curl_global_cleanup();
    arb_test_rmtree(tmp);
    return ok ? 0 : 1;
}
