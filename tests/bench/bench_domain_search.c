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
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/log/key.h"
#include "tests/bench/log_bulk.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

#define CLIENTS 4

static char tmp[512], arbord_bin[1024];
static pid_t server;
static int port;
static long n_entries;
static double run_s = 5;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char *data;
    size_t len;
} body;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    char *d = realloc(b->data, b->len + sz * n + 1);
    if (d == NULL)
        return 0;
    memcpy(d + b->len, p, sz * n);
    b->len += sz * n;
    d[b->len] = 0;
    b->data = d;
    return sz * n;
}

static long get(CURL *c, const char *path, body *out)
{
    char url[512];
    long st = 0;
    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    return st;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL)
        ok = fclose(f) == 0 && ok;
    return ok;
}

static int make_log(const char *dir, long n)
{
    char datadir[800], keyp[800], rootsp[800], done[800];
    int64_t t = (int64_t)time(NULL);
    EVP_PKEY *kr = NULL, *ki = NULL, *kl = NULL;
    X509 *r = NULL, *im = NULL;
    arb_ct_signer *signer = NULL;
    char *key = NULL, *roots = NULL;
    size_t kl_len = 0, rl = 0;
    unsigned long long size = 0;
    log_bulk_config bc;
    arb_errbuf eb;
    struct stat sb;
    double t0;
    int ok = 0;

    snprintf(datadir, sizeof(datadir), "%s/log", dir);
    snprintf(keyp, sizeof(keyp), "%s/key.pem", dir);
    snprintf(rootsp, sizeof(rootsp), "%s/roots.pem", dir);
    snprintf(done, sizeof(done), "%s/loaded", dir);
    if (stat(done, &sb) == 0)
        return 1;
    mkdir(dir, 0755);
    {
        pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
        pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
        kr = pki_key();
        ki = pki_key();
        kl = pki_key();
        r = pki_cert(&sr, kr, NULL, NULL);
        im = pki_cert(&si, ki, r, kr);
    }
    if (r == NULL || im == NULL || (roots = pki_pem(r, &rl)) == NULL ||
        arb_ct_signer_generate(&signer, &eb) != ARB_OK ||
        arb_ct_signer_private_pem(signer, &key, &kl_len) != ARB_OK ||
        !write_file(keyp, key, kl_len) || !write_file(rootsp, roots, rl)) {
        fprintf(stderr, "cannot set up the log's keys\n");
        goto out;
    }
    memset(&bc, 0, sizeof(bc));
    bc.datadir = datadir;
    bc.signer = signer;
    bc.origin = "arbor.localhost/log";
    bc.root = r;
    bc.inter = im;
    bc.inter_key = ki;
    bc.leaf_key = kl;
    bc.first_serial = 0;
    bc.n = n;
    bc.unique_names = 1;
    t0 = now_s();
    if (log_bulk_load(&bc, &size, &eb) != ARB_OK) {
        fprintf(stderr, "bulk load: %s\n", eb.msg);
        goto out;
    }
    printf("{\"bench\":\"log_bulk_load\",\"entries\":%ld,\"tree_size\":%llu,\"domain_index\":true,"
           "\"seconds\":%.1f,\"entries_per_s\":%.0f}\n",
           n, size, now_s() - t0, (double)n / (now_s() - t0));
    fflush(stdout);
    ok = write_file(done, "1", 1);
out:
    arb_ct_signer_free(signer);
    free(key);
    free(roots);
    X509_free(r);
    X509_free(im);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
    return ok;
}

static void stop_server(void)
{
    int st;
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, &st, 0);
        server = 0;
    }
}

static int start_server(const char *dir)
{
    char listen[64], logp[700], datadir[800], keyp[800], rootsp[800];
    CURL *c;
    body b;
    int up = 0;

    snprintf(datadir, sizeof(datadir), "%s/log", dir);
    snprintf(keyp, sizeof(keyp), "%s/key.pem", dir);
    snprintf(rootsp, sizeof(rootsp), "%s/roots.pem", dir);
    port = arb_test_free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(logp, sizeof(logp), "%s/arbord.log", tmp);
    server = fork();
    if (server == 0) {
        const char *av[] = {arbord_bin, "--datadir", datadir, "--listen", listen, "--network",
                            "regtest", "--log-key", keyp, "--log-roots", rootsp, NULL};
        if (freopen(logp, "a", stderr) == NULL || freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execv(arbord_bin, (char *const *)av);
        _exit(127);
    }
    c = curl_easy_init();
    for (int i = 0; i < 1200 && !up; i++) {
        up = get(c, "/ct/v1/get-sth", &b) == 200;
        free(b.data);
        if (!up)
            usleep(50000);
    }
    curl_easy_cleanup(c);
    return up;
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
    double end = now_s() + run_s;
    long per_dom = n_entries / 1000;
    while (now_s() < end && !cl->bad) {
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
    double t0 = now_s();
    for (int i = 0; i < CLIENTS; i++) {
        cl[i] = (client){kind, (unsigned)(1234 + i * 7919 + kind), 0, 0};
        pthread_create(&th[i], NULL, client_run, &cl[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        total += cl[i].done;
        bad |= cl[i].bad;
    }
    double dt = now_s() - t0;
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
    char dir[700];
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
    ok = make_log(dir, n) && start_server(dir);
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
    stop_server();
    curl_global_cleanup();
    arb_test_rmtree(tmp);
    return ok ? 0 : 1;
}
