/* arbor-wallet anchor against real regtest arbord processes that run a log
 * (the chain and the log on the same arbord, as the quick start runs it):
 * the first anchor of the log's head, a second run with nothing new (nothing
 * paid), a second anchor after the log grew (with a consistency proof from
 * the anchored head), a third from the static-ct-api checkpoint and tiles, both read back from GET /chain/v1/anchors/<log id>.
 * Then a second arbord with the same log key and another tree (a forked log
 * showing another view): the wallet refuses locally, says SPLIT VIEW, prints
 * both heads, and the chain's anchor does not move. Usage errors and a
 * --log-id that is not the key's. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "tests/testlib/wallet.h"
#include "tests/unit/log/pki.h"

static char g_wallet_bin[PATH_MAX], g_arbord[PATH_MAX], g_err[8192], g_dir[512];
static char g_key[700], g_pub[700], g_roots[700];
static X509 *g_ca;
static EVP_PKEY *g_ca_key;
static long g_serial = 100;

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

typedef struct {
    arb_proc *p;
    int port;
    char url[64]; /* http://127.0.0.1:port, for arbor-wallet --node */
} node;

static int node_start(node *n, const char *name)
{
    const char *args[] = {"--network", "regtest", "--log-key", g_key, "--log-roots", g_roots, NULL};
    char datadir[700];
    snprintf(datadir, sizeof(datadir), "%s/%s", g_dir, name);
    n->p = arb_proc_start_arbord(g_arbord, datadir, args, 30000, &n->port);
    snprintf(n->url, sizeof(n->url), "http://127.0.0.1:%d", n->port);
    return n->p != NULL && n->port > 0;
}

static int node_stop(node *n)
{
    int rc = arb_proc_kill(n->p, SIGTERM) == 0 ? arb_proc_wait(n->p, 30000) : -1;
    arb_proc_free(n->p);
    n->p = NULL;
    return rc == 0;
}

/* GET or POST (body non-NULL) path on n; the JSON answer of a 200, else NULL. */
static json_t *http_json(const node *n, const char *path, const char *body)
{
    arb_tl_http_opts o = {.port = n->port, .timeout_s = 30};
    return arb_tl_json_200(o, path, body);
}

/* Submits a fresh certificate under the test CA (RFC 6962 add-chain); the
 * answer comes once the entry is in the tree. */
static int add_leaf(const node *n, const char *cn)
{
    pki_spec spec = {cn, NULL, g_serial++, 1700000000, 1900000000, 0};
    EVP_PKEY *k = pki_key();
    X509 *leaf = pki_cert(&spec, k, g_ca, g_ca_key);
    size_t ll = 0, cl = 0;
    uint8_t *ld = pki_der(leaf, &ll), *cd = pki_der(g_ca, &cl);
    char *l64 = arb_base64_encode(ld, ll), *c64 = arb_base64_encode(cd, cl), *body;
    json_t *o = json_pack("{s:[s, s]}", "chain", l64, c64), *ans;
    int ok;

    body = json_dumps(o, JSON_COMPACT);
    ans = http_json(n, "/ct/v1/add-chain", body);
    ok = ans != NULL;
    json_decref(ans);
    free(body);
    json_decref(o);
    free(l64);
    free(c64);
    free(ld);
    free(cd);
    X509_free(leaf);
    EVP_PKEY_free(k);
    return ok;
}

/* Runs arbor-wallet --node url --json ARGS; *out the parsed stdout. */
static int wallet(const node *n, json_t **out, const char *const *args)
{
    return arb_tl_wallet(g_wallet_bin, n->url, args, 120000, out, g_err, sizeof(g_err));
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static json_t *anchors(const node *n, const char *log_id)
{
    char path[128];
    snprintf(path, sizeof(path), "/chain/v1/anchors/%s", log_id);
    return http_json(n, path, NULL);
}

static uint64_t sth_size(const node *n)
{
    json_t *j = http_json(n, "/ct/v1/get-sth", NULL);
    uint64_t s = j != NULL ? (uint64_t)json_integer_value(json_object_get(j, "tree_size")) : 0;
    json_decref(j);
    return s;
}

static void run(const node *n1, const node *n2, const char *log_id)
{
    char wa[700];
    json_t *j = NULL, *a = NULL, *latest;

    snprintf(wa, sizeof(wa), "%s/alice.wallet", g_dir);
    CHECK(wallet(n1, NULL, ARGS("--wallet", wa, "--scrypt-log2n", "2", "create")) == 0);
    CHECK(wallet(n1, NULL, ARGS("--wallet", wa, "mine", "--blocks", "101")) == 0);

    /* Usage: without --log-key; an unknown option. */
    CHECK(wallet(n1, NULL, ARGS("--wallet", wa, "anchor", "--log", n1->url)) == 2);
    CHECK(strstr(g_err, "--log-key") != NULL);
    CHECK(wallet(n1, NULL, ARGS("--wallet", wa, "anchor", "--log", n1->url, "--log-key", g_pub,
                                "--bogus")) == 2);
    /* A --log-id that is not the key's. */
    CHECK(wallet(n1, NULL, ARGS("--wallet", wa, "anchor", "--log", n1->url, "--log-key", g_pub,
                                "--log-id",
                                "00000000000000000000000000000000000000000000000000000000000000"
                                "00")) == 1);
    CHECK(strstr(g_err, log_id) != NULL);

    /* The first anchor: three entries. */
    CHECK(add_leaf(n1, "a1.example.test") && add_leaf(n1, "a2.example.test") &&
          add_leaf(n1, "a3.example.test"));
    CHECK_EQ(sth_size(n1), 3);
    CHECK(wallet(n1, &j, ARGS("--wallet", wa, "anchor", "--log", n1->url, "--log-key", g_pub,
                              "--log-id", log_id, "--mine")) == 0);
    CHECK(j != NULL && json_is_true(json_object_get(j, "anchored")) &&
          json_is_true(json_object_get(j, "confirmed")) &&
          json_integer_value(json_object_get(j, "proof_hashes")) == 0 &&
          json_is_null(json_object_get(j, "previous")) &&
          json_integer_value(json_object_get(j, "fee")) > 0);
    json_decref(j);
    a = anchors(n1, log_id);
    latest = a != NULL ? json_object_get(a, "latest") : NULL;
    CHECK(latest != NULL && json_integer_value(json_object_get(latest, "tree_size")) == 3);
    CHECK(a != NULL && json_array_size(json_object_get(a, "anchors")) == 1);
    json_decref(a);

    /* Nothing new: nothing sent. */
    CHECK(wallet(n1, &j, ARGS("--wallet", wa, "anchor", "--log", n1->url, "--log-key", g_pub)) ==
          0);
    CHECK(j != NULL && json_is_false(json_object_get(j, "anchored")));
    json_decref(j);

    /* The log grows to 7: the second anchor carries a consistency proof. */
    for (int i = 0; i < 4; i++) {
        char cn[64];
        snprintf(cn, sizeof(cn), "b%d.example.test", i);
        CHECK(add_leaf(n1, cn));
    }
    CHECK_EQ(sth_size(n1), 7);
    CHECK(wallet(n1, &j, ARGS("--wallet", wa, "anchor", "--log", n1->url, "--log-key", g_pub,
                              "--mine")) == 0);
    CHECK(j != NULL && json_is_true(json_object_get(j, "anchored")) &&
          json_integer_value(json_object_get(j, "proof_hashes")) > 0);
    CHECK(j != NULL && json_integer_value(json_object_get(json_object_get(j, "previous"),
                                                          "tree_size")) == 3);
    json_decref(j);
    a = anchors(n1, log_id);
    latest = a != NULL ? json_object_get(a, "latest") : NULL;
    CHECK(latest != NULL && json_integer_value(json_object_get(latest, "tree_size")) == 7);
    CHECK(a != NULL && json_array_size(json_object_get(a, "anchors")) == 2);
    json_decref(a);

    /* static-ct-api: the checkpoint and a proof built from the tiles, at 10. */
    for (int i = 0; i < 3; i++) {
        char cn[64];
        snprintf(cn, sizeof(cn), "c%d.example.test", i);
        CHECK(add_leaf(n1, cn));
    }
    CHECK(wallet(n1, &j, ARGS("--wallet", wa, "anchor", "--log", n1->url, "--log-key", g_pub,
                              "--tiles", "--mine")) == 0);
    CHECK(j != NULL && json_is_true(json_object_get(j, "anchored")) &&
          json_integer_value(json_object_get(j, "proof_hashes")) > 0 &&
          json_integer_value(json_object_get(json_object_get(j, "head"), "tree_size")) == 10);
    json_decref(j);
    a = anchors(n1, log_id);
    latest = a != NULL ? json_object_get(a, "latest") : NULL;
    CHECK(latest != NULL && json_integer_value(json_object_get(latest, "tree_size")) == 10);
    json_decref(a);

    /* A split view: the same log key serves another tree of 12 entries from
     * the second arbord. The wallet (on the first node's chain) refuses it
     * and pays nothing; the anchor stays at 10. */
    for (int i = 0; i < 12; i++) {
        char cn[64];
        snprintf(cn, sizeof(cn), "fork%d.example.test", i);
        CHECK(add_leaf(n2, cn));
    }
    CHECK_EQ(sth_size(n2), 12);
    CHECK(wallet(n1, &j, ARGS("--wallet", wa, "anchor", "--log", n2->url, "--log-key", g_pub)) ==
          1);
    CHECK(strstr(g_err, "SPLIT VIEW") != NULL);
    CHECK(strstr(g_err, "anchored: tree_size 10") != NULL);
    CHECK(strstr(g_err, "served  : tree_size 12") != NULL);
    CHECK(j != NULL && json_is_true(json_object_get(j, "split_view")) &&
          json_string_value(json_object_get(j, "error")) != NULL &&
          strcmp(json_string_value(json_object_get(j, "error")), "anchor-bad-consistency") == 0);
    json_decref(j);
    a = anchors(n1, log_id);
    latest = a != NULL ? json_object_get(a, "latest") : NULL;
    CHECK(latest != NULL && json_integer_value(json_object_get(latest, "tree_size")) == 10);
    json_decref(a);
}

static void session(node *n1, node *n2, const char *log_id)
{
    CHECK(node_start(n1, "node1"));
    CHECK(node_start(n2, "node2"));
    run(n1, n2, log_id);
    CHECK(node_stop(n1));
    CHECK(node_stop(n2));
}

int main(void)
{
    node n1 = {0}, n2 = {0};
    arb_ct_signer *s = NULL;
    char *pem = NULL, log_id[65];
    size_t pem_len = 0;
    uint8_t id[32];
    arb_errbuf eb;
    pki_spec root = {"arbor wallet anchor test root", NULL, 1, 1600000000, 2000000000, PKI_CA};

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CHECK_OR(arb_test_bin(g_arbord, sizeof(g_arbord), "arbord") != NULL &&
                 arb_test_bin(g_wallet_bin, sizeof(g_wallet_bin), "arbor-wallet") != NULL,
             1);
    CHECK_OR(arb_test_tmpdir(g_dir, sizeof(g_dir)) == 0, 1);
    snprintf(g_key, sizeof(g_key), "%s/log-key.pem", g_dir);
    snprintf(g_pub, sizeof(g_pub), "%s/log-pub.pem", g_dir);
    snprintf(g_roots, sizeof(g_roots), "%s/roots.pem", g_dir);
    CHECK_OR(arb_ct_signer_generate(&s, &eb) == ARB_OK, 1);
    CHECK_OR(arb_ct_signer_private_pem(s, &pem, &pem_len) == ARB_OK &&
                 write_file(g_key, pem, pem_len) == 0,
             1);
    free(pem);
    CHECK_OR(arb_ct_signer_public_pem(s, &pem, &pem_len) == ARB_OK &&
                 write_file(g_pub, pem, pem_len) == 0,
             1);
    free(pem);
    arb_ct_signer_log_id(s, id);
    arb_hex_encode(log_id, id, 32);
    arb_ct_signer_free(s);
    g_ca_key = pki_key();
    g_ca = pki_cert(&root, g_ca_key, NULL, NULL);
    pem = pki_pem(g_ca, &pem_len);
    CHECK_OR(pem != NULL && write_file(g_roots, pem, pem_len) == 0, 1);
    free(pem);
    setenv("ARBOR_PASSPHRASE", "test passphrase", 1);
    session(&n1, &n2, log_id);
    arb_proc_free(n1.p); /* left running only when a check failed */
    arb_proc_free(n2.p);
    X509_free(g_ca);
    EVP_PKEY_free(g_ca_key);
    arb_test_rmtree(g_dir);
    return arb_test_done();
}
