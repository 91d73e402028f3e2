/* Operating the log in production, against the real arbord on 127.0.0.1:
 * the submission policy from a config file (temporal shard, refused expired
 * certificates, a required extended key usage, a refused extension), each
 * refusal a 400 with its own reason and counter and the tree unchanged; the
 * v3 log list; SIGHUP reloading roots, policy, rate limit and log list (a
 * bad config or roots file keeps the running ones and says why); the
 * per-client rate limit (429 with Retry-After, counted); SIGTERM draining a
 * pooled batch (every pooled submission answered with its SCT long before
 * the pool window would have closed, the entries durable). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "tests/unit/log/pki.h"

#define DAY 86400

static char tmpdir[512], datadir[600], keyfile[600], rootsfile[600], conffile[600];
static int port;
static arb_proc *server;
static int64_t now;
static uint8_t log_id[32];
static arb_ct_verifier *verifier;

/* ---- HTTP ---- */

typedef struct {
    char *data;
    size_t len;
    char retry_after[32];
} body;

static long http(const char *path, const char *post, body *out)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 60, .flags = ARB_TL_HTTP_NOSIGNAL};
    char *headers = NULL, *ra;
    long status;

    memset(out, 0, sizeof(*out));
    status = arb_tl_http_headers(o, path, post, &out->data, &headers);
    out->len = out->data != NULL ? strlen(out->data) : 0;
    for (ra = headers; ra != NULL && *ra; ra += strcspn(ra, "\n"), ra += *ra == '\n')
        if (strncasecmp(ra, "Retry-After: ", 13) == 0) {
            size_t k = strcspn(ra + 13, "\r\n");
            if (k >= sizeof(out->retry_after))
                k = sizeof(out->retry_after) - 1;
            memcpy(out->retry_after, ra + 13, k);
            out->retry_after[k] = 0;
        }
    free(headers);
    return status;
}

static unsigned long long metric(const char *name)
{
    body b;
    unsigned long long v = 0;
    const char *p;

    if (http("/metrics", NULL, &b) == 200 && b.data != NULL) {
        for (p = strstr(b.data, name); p != NULL; p = strstr(p + 1, name))
            if ((p == b.data || p[-1] == '\n') && p[strlen(name)] == ' ') {
                v = strtoull(p + strlen(name) + 1, NULL, 10);
                break;
            }
    }
    free(b.data);
    return v;
}

static uint64_t tree_size(void)
{
    body b;
    json_t *j;
    uint64_t n = UINT64_MAX;

    if (http("/ct/v1/get-sth", NULL, &b) == 200 && (j = json_loads(b.data, 0, NULL)) != NULL) {
        n = (uint64_t)json_integer_value(json_object_get(j, "tree_size"));
        json_decref(j);
    }
    free(b.data);
    return n;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && fputs(text, f) >= 0;

    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

static void rfc3339(char *out, size_t n, int64_t t)
{
    time_t v = (time_t)t;
    struct tm tm;

    gmtime_r(&v, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the server ---- */

static int start(void)
{
    char bin[1024], listen[64];
    const char *argv[] = {arb_test_bin(bin, sizeof(bin), "arbord"), "--datadir", datadir,
                          "--listen", listen, "--network", "regtest", "--log-key", keyfile,
                          "--config", conffile, "--json", NULL};

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    if (arb_proc_spawn(&server, argv) != 0)
        return 0;
    return arb_proc_wait_port(server, 30000) == port;
}

/* Waits until arbord's stderr holds `count` lines containing `what`. */
static int wait_log(const char *what, int count)
{
    for (int i = 0; i < 600; i++) {
        char *err = arb_proc_output(server, ARB_PROC_STDERR);
        int n = 0;
        for (const char *p = err ? strstr(err, what) : NULL; p; p = strstr(p + 1, what))
            n++;
        free(err);
        if (n >= count)
            return 1;
        usleep(50000);
    }
    return 0;
}

/* ---- certificates ---- */

static EVP_PKEY *k_root, *k_int, *k_leaf, *k_root2;
static X509 *R, *I, *R2, *I2;

static char *chain_json(X509 *leaf, X509 *inter)
{
    size_t l1, l2;
    uint8_t *d1 = pki_der(leaf, &l1), *d2 = pki_der(inter, &l2);
    char *b1 = d1 ? arb_base64_encode(d1, l1) : NULL, *b2 = d2 ? arb_base64_encode(d2, l2) : NULL;
    char *out = NULL;

    if (b1 && b2 && (out = malloc(strlen(b1) + strlen(b2) + 32)) != NULL)
        sprintf(out, "{\"chain\":[\"%s\",\"%s\"]}", b1, b2);
    free(d1);
    free(d2);
    free(b1);
    free(b2);
    return out;
}

static char *leaf_json(long serial, int64_t not_after, unsigned flags, int other_pki)
{
    pki_spec s = {"leaf", NULL, serial, now - 2 * DAY, not_after, flags};
    X509 *l = pki_cert(&s, k_leaf, other_pki ? I2 : I, other_pki ? k_root2 : k_int);
    char *j = l ? chain_json(l, other_pki ? I2 : I) : NULL;

    X509_free(l);
    return j;
}

/* Submits and checks the status; for 400 the reason must contain `reason`
 * and the counter arbor_log_rejected_<counter>_total must have grown by one. */
static void expect(const char *chain, long status, const char *reason, const char *counter)
{
    char name[96];
    unsigned long long before = 0;
    uint64_t size = tree_size();
    body b;
    long st;

    if (counter != NULL) {
        snprintf(name, sizeof(name), "arbor_log_rejected_%s_total", counter);
        before = metric(name);
    }
    st = http("/ct/v1/add-chain", chain, &b);
    if (st != status)
        arb_test_fail(__FILE__, __LINE__, "status %ld, want %ld (%s)", st, status,
                      b.data ? b.data : "");
    if (reason != NULL && (b.data == NULL || strstr(b.data, reason) == NULL))
        arb_test_fail(__FILE__, __LINE__, "reason '%s' not in %s", reason, b.data ? b.data : "");
    if (status == 200) {
        arb_ct_sct sct;
        uint8_t *store = NULL;
        CHECK(b.data != NULL && arb_ct_json_sct_parse(&sct, &store, b.data, b.len) == ARB_OK);
        if (store != NULL)
            CHECK_MEM(sct.log_id, log_id, 32);
        free(store);
    } else {
        CHECK_EQ(tree_size(), size);
    }
    if (counter != NULL)
        CHECK_EQ(metric(name), before + 1);
    free(b.data);
}

static void write_conf(const char *extra)
{
    char text[4096], s[40], e[40];

    rfc3339(s, sizeof(s), now - 30 * DAY);
    rfc3339(e, sizeof(e), now + 180 * DAY);
    snprintf(text, sizeof(text),
             "log-roots = %s\n"
             "log-not-after-start = %s\n"
             "log-not-after-end = %s\n"
             "log-url = http://127.0.0.1:%d/\n"
             "log-mmd = 3600\n"
             "%s",
             rootsfile, s, e, port, extra);
    CHECK(write_text(conffile, text));
}

static void write_roots(int both)
{
    size_t l1, l2 = 0;
    char *p1 = pki_pem(R, &l1), *p2 = both ? pki_pem(R2, &l2) : NULL;
    char *all = malloc(l1 + l2 + 1);

    CHECK(p1 != NULL && all != NULL);
    if (all != NULL && p1 != NULL) {
        memcpy(all, p1, l1);
        if (p2 != NULL)
            memcpy(all + l1, p2, l2);
        all[l1 + l2] = 0;
        CHECK(write_text(rootsfile, all));
    }
    free(all);
    free(p1);
    free(p2);
}

static size_t roots_count(void)
{
    body b;
    json_t *j;
    size_t n = 0;

    if (http("/ct/v1/get-roots", NULL, &b) == 200 && (j = json_loads(b.data, 0, NULL)) != NULL) {
        n = json_array_size(json_object_get(j, "certificates"));
        json_decref(j);
    }
    free(b.data);
    return n;
}

static void check_log_list(const char *description)
{
    body b;
    json_t *j, *log;
    char *id64 = arb_base64_encode(log_id, 32), url[64], s[40], e[40];

    CHECK_EQ(http("/ct/log_list/v3/log_list.json", NULL, &b), 200);
    j = b.data ? json_loads(b.data, 0, NULL) : NULL;
    CHECK(j != NULL);
    log = json_array_get(json_object_get(json_array_get(json_object_get(j, "operators"), 0), "logs"),
                         0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    rfc3339(s, sizeof(s), now - 30 * DAY);
    rfc3339(e, sizeof(e), now + 180 * DAY);
    CHECK_STR(json_string_value(json_object_get(log, "log_id")), id64);
    CHECK_STR(json_string_value(json_object_get(log, "url")), url);
    CHECK_EQ(json_integer_value(json_object_get(log, "mmd")), 3600);
    CHECK_STR(json_string_value(json_object_get(log, "description")), description);
    CHECK_STR(json_string_value(json_object_get(json_object_get(log, "temporal_interval"),
                                                "start_inclusive")), s);
    CHECK_STR(json_string_value(json_object_get(json_object_get(log, "temporal_interval"),
                                                "end_exclusive")), e);
    /* The key is the log key's SPKI: its SHA-256 is the log ID. */
    {
        uint8_t *spki = NULL, h[32];
        size_t n = 0;
        unsigned int hl;
        const char *k = json_string_value(json_object_get(log, "key"));
        CHECK(k != NULL && arb_base64_decode(&spki, &n, k, strlen(k)) == ARB_OK);
        CHECK(EVP_Digest(spki, n, h, &hl, EVP_sha256(), NULL) == 1);
        CHECK_MEM(h, log_id, 32);
        free(spki);
    }
    json_decref(j);
    free(id64);
    free(b.data);
}

/* ---- the tests ---- */

static void test_policy_and_reload(void)
{
    char *ok = leaf_json(100, now + 90 * DAY, PKI_EKU_SERVER, 0);
    char *outside = leaf_json(101, now + 400 * DAY, PKI_EKU_SERVER, 0);
    char *expired = leaf_json(102, now - DAY, PKI_EKU_SERVER, 0);
    char *client = leaf_json(103, now + 90 * DAY, PKI_EKU_CLIENT, 0);
    char *extra = leaf_json(104, now + 90 * DAY, PKI_EKU_SERVER | PKI_EXTRA_EXT, 0);
    char *other = leaf_json(105, now + 90 * DAY, PKI_EKU_SERVER, 1);
    char *fresh = leaf_json(106, now + 90 * DAY, PKI_EKU_SERVER, 0);
    body b;

    CHECK(ok && outside && expired && client && extra && other && fresh);
    write_roots(0);
    write_conf("log-reject-expired = true\n"
               "log-ext-key-usages = ServerAuth\n"
               "log-reject-extensions = " PKI_EXTRA_EXT_OID "\n"
               "log-description = first\n");
    CHECK_OR(start(), );
    check_log_list("first");
    expect(ok, 200, NULL, NULL);
    expect(outside, 400, "outside this log's window", "not_after_window");
    expect(expired, 400, "refuses expired", "expired");
    expect(client, 400, "extended key usage", "ext_key_usage");
    expect(extra, 400, "extension " PKI_EXTRA_EXT_OID, "rejected_extension");
    expect(other, 400, "accepted root", "untrusted");
    CHECK_EQ(metric("arbor_log_submissions_rejected_total"), 5);
    CHECK_EQ(roots_count(), 1);

    /* SIGHUP: a second root, no refused extensions, a rate limit of one
     * submission per 100 s with a burst of 2, a new description. */
    write_roots(1);
    write_conf("log-reject-expired = true\n"
               "log-ext-key-usages = ServerAuth\n"
               "log-rate-limit = 0.01\n"
               "log-rate-burst = 2\n"
               "log-description = second\n");
    CHECK(arb_proc_kill(server, SIGHUP) == 0);
    CHECK(wait_log("SIGHUP: log roots and policy reloaded", 1));
    CHECK_EQ(roots_count(), 2);
    check_log_list("second");
    expect(extra, 200, NULL, NULL);  /* token 1 */
    expect(other, 200, NULL, NULL);  /* token 2 */
    CHECK_EQ(http("/ct/v1/add-chain", fresh, &b), 429);
    CHECK_STR(b.retry_after, "100");
    CHECK(b.data != NULL && strstr(b.data, "retry after 100 s") != NULL);
    free(b.data);
    CHECK_EQ(metric("arbor_log_submissions_rate_limited_total"), 1);
    /* Reads are not limited. */
    CHECK(tree_size() == 3);

    /* A bad config file: everything stays (the rate limit too). */
    write_conf("log-rate-limit = 0\nlog-no-such-key = 1\n");
    CHECK(arb_proc_kill(server, SIGHUP) == 0);
    CHECK(wait_log("SIGHUP: settings not reloaded", 1));
    CHECK(wait_log("log-no-such-key", 1));
    CHECK_EQ(http("/ct/v1/add-chain", fresh, &b), 429);
    free(b.data);
    CHECK_EQ(roots_count(), 2);
    /* A damaged roots file with a good config: the old roots and policy stay. */
    CHECK(write_text(rootsfile, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"));
    write_conf("log-rate-limit = 0\n");
    CHECK(arb_proc_kill(server, SIGHUP) == 0);
    CHECK(wait_log("SIGHUP: log roots and policy kept", 1));
    CHECK_EQ(roots_count(), 2);
    CHECK_EQ(http("/ct/v1/add-chain", fresh, &b), 429);
    free(b.data);
    /* Both reject flags: a usage error in the file, so nothing changes. */
    write_roots(1);
    write_conf("log-reject-expired = true\nlog-reject-unexpired = true\n");
    CHECK(arb_proc_kill(server, SIGHUP) == 0);
    CHECK(wait_log("SIGHUP: settings not reloaded", 2));
    CHECK_EQ(http("/ct/v1/add-chain", fresh, &b), 429);
    free(b.data);
    /* And a good one lifts the limit. */
    write_conf("log-reject-expired = true\n");
    CHECK(arb_proc_kill(server, SIGHUP) == 0);
    CHECK(wait_log("SIGHUP: log roots and policy reloaded", 2));
    expect(fresh, 200, NULL, NULL);
    CHECK_EQ(tree_size(), 4);

    CHECK(arb_proc_kill(server, SIGTERM) == 0);
    CHECK_EQ(arb_proc_wait(server, 30000), 0);
    arb_proc_free(server);
    server = NULL;
    free(ok);
    free(outside);
    free(expired);
    free(client);
    free(extra);
    free(other);
    free(fresh);
}

/* ---- drain ---- */

#define DRAIN_N 4
typedef struct {
    char *chain;
    long status;
    char *answer;
} drain_job;

static void *drain_worker(void *arg)
{
    drain_job *j = arg;
    body b;

    j->status = http("/ct/v1/add-chain", j->chain, &b);
    j->answer = b.data;
    return NULL;
}

static void test_drain(void)
{
    pthread_t th[DRAIN_N];
    drain_job jobs[DRAIN_N];
    struct timespec t0, t1;
    int i, k;

    /* A pool window of 29 s: without the drain, SIGTERM would wait it out. */
    write_roots(0);
    write_conf("log-pool-ms = 29000\n");
    CHECK_OR(start(), );
    for (i = 0; i < DRAIN_N; i++) {
        jobs[i].chain = leaf_json(200 + i, now + 90 * DAY, 0, 0);
        jobs[i].answer = NULL;
        pthread_create(&th[i], NULL, drain_worker, &jobs[i]);
    }
    /* Every submission validated and waiting in the pool. */
    for (k = 0; k < 600 && metric("arbor_log_submissions_pending") != DRAIN_N; k++)
        usleep(50000);
    CHECK_EQ(metric("arbor_log_submissions_pending"), DRAIN_N);
    CHECK_EQ(tree_size(), 4);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(arb_proc_kill(server, SIGTERM) == 0);
    for (i = 0; i < DRAIN_N; i++) {
        arb_ct_sct sct;
        uint8_t *st = NULL;
        pthread_join(th[i], NULL);
        CHECK_EQ(jobs[i].status, 200);
        CHECK(jobs[i].answer != NULL &&
              arb_ct_json_sct_parse(&sct, &st, jobs[i].answer, strlen(jobs[i].answer)) == ARB_OK);
        free(st);
        free(jobs[i].answer);
        free(jobs[i].chain);
    }
    CHECK_EQ(arb_proc_wait(server, 60000), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* The window was cut short (it would have ended 29 s after the first
     * submission). */
    CHECK(t1.tv_sec - t0.tv_sec < 25);
    arb_proc_free(server);
    server = NULL;
    /* Durable: the restarted log has them. */
    write_conf("");
    CHECK_OR(start(), );
    CHECK_EQ(tree_size(), 4 + DRAIN_N);
    CHECK(arb_proc_kill(server, SIGTERM) == 0);
    CHECK_EQ(arb_proc_wait(server, 30000), 0);
    arb_proc_free(server);
    server = NULL;
}

static int setup(void)
{
    pki_spec sr = {"Ops Root", NULL, 1, now - DAY, now + 3650 * DAY, PKI_CA};
    pki_spec si = {"Ops Int", NULL, 2, now - DAY, now + 365 * DAY, PKI_CA};
    pki_spec sr2 = {"Ops Root 2", NULL, 3, now - DAY, now + 3650 * DAY, PKI_CA};
    pki_spec si2 = {"Ops Int 2", NULL, 4, now - DAY, now + 365 * DAY, PKI_CA};
    arb_ct_signer *s = NULL;
    char *pem = NULL, *pub = NULL;
    size_t pem_len, pub_len;
    arb_errbuf eb;
    int ok;

    k_root = pki_key();
    k_int = pki_key();
    k_leaf = pki_key();
    k_root2 = pki_key();
    R = pki_cert(&sr, k_root, NULL, NULL);
    I = pki_cert(&si, k_int, R, k_root);
    R2 = pki_cert(&sr2, k_root2, NULL, NULL);
    I2 = pki_cert(&si2, k_root2, R2, k_root2);
    if (!R || !I || !R2 || !I2 || arb_test_tmpdir(tmpdir, sizeof(tmpdir)) != 0)
        return 0;
    snprintf(datadir, sizeof(datadir), "%s/data", tmpdir);
    snprintf(keyfile, sizeof(keyfile), "%s/log-key.pem", tmpdir);
    snprintf(rootsfile, sizeof(rootsfile), "%s/roots.pem", tmpdir);
    snprintf(conffile, sizeof(conffile), "%s/arbord.conf", tmpdir);
    if (arb_ct_signer_generate(&s, &eb) != ARB_OK ||
        arb_ct_signer_private_pem(s, &pem, &pem_len) != ARB_OK ||
        arb_ct_signer_public_pem(s, &pub, &pub_len) != ARB_OK)
        return 0;
    arb_ct_signer_log_id(s, log_id);
    ok = write_text(keyfile, pem) && arb_ct_verifier_from_pem(&verifier, pub, pub_len, &eb) == ARB_OK;
    OPENSSL_cleanse(pem, pem_len);
    free(pem);
    free(pub);
    arb_ct_signer_free(s);
    port = arb_test_free_port();
    return ok && port > 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    now = (int64_t)time(NULL);
    if (setup()) {
        test_policy_and_reload();
        test_drain();
    } else {
        arb_test_fail(__FILE__, __LINE__, "setup failed");
    }
    arb_proc_free(server);
    arb_ct_verifier_free(verifier);
    X509_free(R);
    X509_free(I);
    X509_free(R2);
    X509_free(I2);
    EVP_PKEY_free(k_root);
    EVP_PKEY_free(k_int);
    EVP_PKEY_free(k_leaf);
    EVP_PKEY_free(k_root2);
    if (arb_test_failed == 0)
        arb_test_rmtree(tmpdir);
    else
        fprintf(stderr, "kept %s\n", tmpdir);
    curl_global_cleanup();
    return arb_test_done();
}
