/* The real arbord program: flags and exit codes, the --json listening line,
 * GET /status and /metrics, the generated log key, the config file, a locked
 * data directory, and a clean exit on SIGTERM and SIGINT. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"

#define WAIT_MS 15000

static char bin[4096];
static char tmp[1024];

/* Runs arbord with the given arguments to completion; returns its exit status
 * and (optionally) its stdout/stderr. */
static int run(const char *const args[], char **out, char **err)
{
    const char *argv[32];
    int n = 0;

    argv[n++] = bin;
    for (int i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return arb_proc_run(argv, WAIT_MS, out, err);
}

/* How this test asks the node on port (tests/testlib/http.h): 10 s a
 * request. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 10};
    return o;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static void test_flags(void)
{
    char *out = NULL, *err = NULL;
    const char *help[] = {"--help", NULL}, *ver[] = {"--version", NULL},
               *bad[] = {"--bogus", NULL}, *badnet[] = {"--network", "moon", NULL},
               *badlisten[] = {"--listen", "localhost:80", NULL},
               *noval[] = {"--datadir", NULL}, *stray[] = {"stray", NULL};

    CHECK_EQ(run(help, &out, &err), 0);
    CHECK(out && strstr(out, "--datadir DIR") && strstr(out, "--listen HOST:PORT") &&
          strstr(out, "--network") && strstr(out, "--log-key") && strstr(out, "--connect") &&
          strstr(out, "--config"));
    free(out);
    free(err);
    CHECK_EQ(run(ver, &out, &err), 0);
    CHECK(out && strncmp(out, "arbord ", 7) == 0);
    free(out);
    free(err);

    const char *const *usage[] = {bad, badnet, badlisten, noval, stray};
    for (size_t i = 0; i < sizeof usage / sizeof *usage; i++) {
        CHECK_EQ(run(usage[i], &out, &err), 2);
        CHECK(err && strncmp(err, "arbord: error: ", 15) == 0);
        CHECK_EQ(count_lines(err), 1);
        CHECK(out && out[0] == 0);
        free(out);
        free(err);
    }
}

/* Starts arbord on a free port with datadir `dir` plus extra args. */
static arb_proc *start(const char *dir, const char *const extra[], int *port)
{
    return arb_proc_start_arbord(bin, dir, extra, WAIT_MS, port);
}

static void test_serve(void)
{
    char dir[1200], key[1300], *body = NULL, *err;
    int port;
    struct stat st;
    const char *extra[] = {"--network", "regtest", NULL};
    arb_proc *p;
    json_t *j;
    FILE *f;
    EVP_PKEY *k;
    char group[64];
    size_t glen;

    snprintf(dir, sizeof dir, "%s/node1/data", tmp); /* parents are created too */
    p = start(dir, extra, &port);
    CHECK(p != NULL);
    CHECK(port > 0);
    CHECK_EQ(arb_tl_http(at(port), "/status", NULL, &body), 200);
    j = json_loads(body, 0, NULL);
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "network")), "regtest");
    CHECK(json_string_value(json_object_get(j, "version")) != NULL);
    CHECK(json_is_integer(json_object_get(j, "uptime")));
    {
        char want[64];
        snprintf(want, sizeof want, "127.0.0.1:%d", port);
        CHECK_STR(json_string_value(json_object_get(j, "listen")), want);
        CHECK(json_is_true(json_object_get(j, "store")));
    }
    CHECK(json_object_get(j, "datadir") == NULL); /* no filesystem paths to the network */
    CHECK(strstr(body, tmp) == NULL);
    json_decref(j);
    free(body);
    CHECK_EQ(arb_tl_http(at(port), "/metrics", NULL, &body), 200);
    CHECK(strstr(body, "arbor_http_requests_total") != NULL);
    free(body);
    CHECK_EQ(arb_tl_http(at(port), "/nope", NULL, &body), 404);
    free(body);

    /* The store lives in DIR/db. */
    {
        char db[1300];
        struct stat dbst;
        snprintf(db, sizeof db, "%s/db/CURRENT", dir);
        CHECK(stat(db, &dbst) == 0);
    }
    /* The generated log key: mode 0600, an ECDSA P-256 private key per OpenSSL. */
    snprintf(key, sizeof key, "%s/log-key.pem", dir);
    CHECK(stat(key, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    f = fopen(key, "r");
    CHECK(f != NULL);
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    CHECK(k != NULL);
    CHECK(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &glen) == 1);
    CHECK_STR(group, "prime256v1");
    EVP_PKEY_free(k);

    /* A second server on the same data directory fails with a clear message. */
    {
        const char *args[] = {"--datadir", dir, "--listen", "127.0.0.1:0", NULL};
        char *e2 = NULL;
        CHECK_EQ(run(args, NULL, &e2), 1);
        CHECK(e2 && strstr(e2, "in use by another arbord") != NULL);
        free(e2);
    }

    CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
    CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
    err = arb_proc_output(p, ARB_PROC_STDERR);
    CHECK(err && strstr(err, "SIGTERM") != NULL);
    free(err);
    CHECK(arb_proc_wait_line(p, ARB_PROC_STDOUT, "{\"event\":\"stopped\"}", NULL, 0, 1000));
    arb_proc_free(p);

    /* Restart on the same directory (lock released; key kept), stop with SIGINT. */
    {
        struct stat st2;
        p = start(dir, extra, &port);
        CHECK(p != NULL && port > 0);
        CHECK_EQ(arb_tl_http(at(port), "/status", NULL, &body), 200);
        free(body);
        CHECK(stat(key, &st2) == 0);
        CHECK_EQ(st2.st_ino, st.st_ino);
        CHECK_EQ(st2.st_mtime, st.st_mtime);
        CHECK_EQ(arb_proc_kill(p, SIGINT), 0);
        CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
        arb_proc_free(p);
    }
}

static void test_config_and_keys(void)
{
    char dir[1200], cfgpath[1200], keypath[1200], *body = NULL, *err = NULL;
    int port;
    arb_proc *p;
    json_t *j;
    FILE *f;

    snprintf(dir, sizeof dir, "%s/node2", tmp);
    snprintf(cfgpath, sizeof cfgpath, "%s/arbord.conf", tmp);
    snprintf(keypath, sizeof keypath, "%s/sec1.pem", tmp);

    /* A SEC1 ("EC PRIVATE KEY") P-256 key written by OpenSSL. */
    {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        CHECK(k != NULL);
        BIO *b = BIO_new_file(keypath, "w");
        CHECK(b != NULL);
        CHECK(PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL) == 1);
        BIO_free(b);
        EVP_PKEY_free(k);
        {
            char *pem = (char *)arb_test_read_file(keypath, NULL);
            CHECK(pem && strstr(pem, "BEGIN EC PRIVATE KEY") != NULL);
            free(pem);
        }
    }
    f = fopen(cfgpath, "w");
    CHECK(f != NULL);
    fprintf(f, "# test config\n\ndatadir = %s\nnetwork = regtest\n  log-key=%s  \nlisten = "
               "127.0.0.1:1\n",
            dir, keypath);
    fclose(f);
    {
        /* Flags override the file: network and listen. */
        const char *argv[] = {bin, "--config", cfgpath, "--network", "test",
                              "--listen", "127.0.0.1:0", "--json", NULL};
        CHECK(arb_proc_spawn(&p, argv) == 0);
        port = arb_proc_wait_port(p, WAIT_MS);
        CHECK(port > 0);
        CHECK_EQ(arb_tl_http(at(port), "/status", NULL, &body), 200);
        j = json_loads(body, 0, NULL);
        CHECK(j != NULL);
        CHECK_STR(json_string_value(json_object_get(j, "network")), "test");
        CHECK(json_object_get(j, "datadir") == NULL);
        json_decref(j);
        free(body);
        CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
        CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
        arb_proc_free(p);
        /* The given key is used: nothing generated in the data directory. */
        char gen[1300];
        snprintf(gen, sizeof gen, "%s/log-key.pem", dir);
        CHECK(access(gen, F_OK) != 0);
    }
    {
        /* A key that is not P-256, a missing key, a bad config file. */
        char edpath[1300], badcfg[1300];
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        snprintf(edpath, sizeof edpath, "%s/ed.pem", tmp);
        f = fopen(edpath, "w");
        CHECK(f != NULL && k != NULL);
        CHECK(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
        fclose(f);
        EVP_PKEY_free(k);
        const char *a1[] = {"--datadir", dir, "--listen", "127.0.0.1:0", "--log-key", edpath, NULL};
        CHECK_EQ(run(a1, NULL, &err), 1);
        CHECK(err && strstr(err, "not an ECDSA P-256 key") != NULL);
        free(err);
        const char *a2[] = {"--datadir", dir, "--listen", "127.0.0.1:0", "--log-key",
                            "/nonexistent/key.pem", NULL};
        CHECK_EQ(run(a2, NULL, &err), 1);
        CHECK(err && strstr(err, "no such file") != NULL);
        free(err);
        snprintf(badcfg, sizeof badcfg, "%s/bad.conf", tmp);
        f = fopen(badcfg, "w");
        CHECK(f != NULL);
        fprintf(f, "datadir = %s\ncolour = blue\n", dir);
        fclose(f);
        const char *a3[] = {"--config", badcfg, NULL};
        CHECK_EQ(run(a3, NULL, &err), 2);
        CHECK(err && strstr(err, "bad.conf:2: unknown setting 'colour'") != NULL);
        free(err);
        const char *a4[] = {"--config", "/nonexistent/arbord.conf", NULL};
        CHECK_EQ(run(a4, NULL, &err), 1);
        CHECK(err && strstr(err, "cannot read config file") != NULL);
        free(err);
    }
}

static void test_port_in_use(void)
{
    char dir[1200], *err = NULL, listen[64];
    int port;
    arb_proc *p;
    snprintf(dir, sizeof dir, "%s/node3", tmp);
    p = start(dir, NULL, &port);
    CHECK(p != NULL && port > 0);
    {
        char dir2[1200];
        snprintf(dir2, sizeof dir2, "%s/node4", tmp);
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        const char *args[] = {"--datadir", dir2, "--listen", listen, NULL};
        CHECK_EQ(run(args, NULL, &err), 1);
        CHECK(err && strstr(err, "cannot listen on") != NULL);
        free(err);
    }
    CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
    CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
    arb_proc_free(p);
}

int main(void)
{
    if (!arb_tl_begin(bin, sizeof bin, tmp, sizeof tmp))
        return 1;
    test_flags();
    test_serve();
    test_config_and_keys();
    test_port_in_use();
    return arb_tl_end(tmp);
}
