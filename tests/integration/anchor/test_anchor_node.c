/* The chain as a witness for the log, and light-client lookups, with real
 * regtest arbord processes on 127.0.0.1 and the real arbor-audit:
 *   - node A runs a log and anchors its own head every 2 blocks, paying from
 *     its anchor key (funded by mining to the address /status names); the
 *     anchored heads are exactly heads the log served, in order;
 *   - node F follows A's chain over the peer network and holds every anchor;
 *   - `follow --chain` finds A's served head consistent with the anchored one;
 *     `check-sct --anchored` turns an SCT into an anchored inclusion proof that
 *     `verify-anchored` accepts offline and refuses after any altered byte;
 *   - node B runs the same log key with another tree and anchors on the same
 *     chain: consensus refuses its anchors (its metrics count the refusals),
 *     and an auditor shown B's tree reports an anchored split view whose
 *     evidence `verify-evidence` checks with no network;
 *   - `verify-name` checks a registered name (active) and an absent one
 *     against the headers from the genesis, refuses an altered record and a
 *     proof older than the height the user knows (stale). */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/mine.h"
#include "ledger/names/nameop.h"
#include "merkle/buf.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/names.h"
#include "tests/unit/log/pki.h"

#define WAIT_MS 20000
#define FEE 20000u
#define NS "anchortest"

static char arbord_bin[4096], audit_bin[4096];
static char tmp[1024];
static char key_pem[1200], roots_pem[1200], ca_pem[1200];
static EVP_PKEY *ca_key;
static X509 *ca;
static long next_serial = 100;
static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static arb_tl_chain C; /* H, S, P and FEE, set in main */

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- HTTP */

/* How this test asks the node on port (tests/testlib/http.h): 60 s a request. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 60};
    return o;
}

/* GET (body NULL) or POST (JSON) on port: the status (0: no answer), the
 * JSON and, when raw is non-NULL, the body text (malloc'd; "" when empty). */
static long http(int port, const char *path, const char *body, json_t **out, char **raw)
{
    long st;
    if (raw == NULL)
        return arb_tl_http_json(at(port), path, body, out);
    st = arb_tl_http(at(port), path, body, raw);
    if (out)
        *out = *raw ? json_loads(*raw, 0, NULL) : NULL;
    if (*raw == NULL)
        *raw = calloc(1, 1);
    return st;
}

/* ---------------------------------------------------------------- processes */

typedef struct {
    arb_proc *p;
    int port;
    char url[64];
    char dir[1200];
} node;

static int start_node(node *n, const char *name, const char *const *extra)
{
    const char *args[32] = {"--network", "regtest"};
    size_t k = 2;
    snprintf(n->dir, sizeof n->dir, "%s/%s", tmp, name);
    for (size_t i = 0; extra && extra[i] && k < 30; i++)
        args[k++] = extra[i];
    args[k] = NULL;
    n->p = arb_proc_start_arbord(arbord_bin, n->dir, args, WAIT_MS, &n->port);
    if (n->p == NULL)
        return 0;
    snprintf(n->url, sizeof n->url, "http://127.0.0.1:%d/", n->port);
    return n->port > 0;
}

static void stop_node(node *n)
{
    if (n->p != NULL) {
        arb_proc_kill(n->p, SIGTERM);
        arb_proc_wait(n->p, 60000);
        arb_proc_free(n->p);
        n->p = NULL;
    }
}

/* Runs arbor-audit with args; its exit status, and its stdout in *out
 * (malloc'd; may be NULL). */
static int audit(char **out, const char *const *args)
{
    const char *argv[40] = {audit_bin};
    size_t k = 1;
    char *e = NULL;
    int st;
    for (size_t i = 0; args[i] && k < 39; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    st = arb_proc_run(argv, 120000, out, &e);
    if (st != 0)
        fprintf(stderr, "arbor-audit %s: exit %d: %s", args[0], st, e ? e : "");
    free(e);
    return st;
}

/* ---------------------------------------------------------------- chain */

static uint32_t tip_height(const node *n)
{
    return arb_tl_tip_height(at(n->port));
}

/* Mines n's template paying addr; returns the block's height or 0. */
static uint32_t mine(const node *n, const char *addr)
{
    return arb_tl_mine(at(n->port), addr, 0);
}

static int wait_height(const node *n, uint32_t h)
{
    for (int i = 0; i < 600; i++) {
        if (tip_height(n) >= h)
            return 1;
        msleep(100);
    }
    return 0;
}

/* Writes the raw headers 0..upto of n to path (GET /chain/v1/headers). */
static int save_headers(const node *n, uint32_t upto, const char *path)
{
    char q[128];
    json_t *j = NULL;
    arb_buf raw = ARB_BUF_INIT;
    int ok = 0;
    snprintf(q, sizeof q, "/chain/v1/headers?start=0&count=%u", upto + 1);
    if (http(n->port, q, NULL, &j, NULL) == 200 &&
        json_array_size(json_object_get(j, "headers")) == upto + 1) {
        size_t i;
        json_t *h;
        ok = 1;
        json_array_foreach(json_object_get(j, "headers"), i, h) {
            uint8_t b[80];
            if (!json_is_string(h) || !arb_hex_decode(b, 80, json_string_value(h), 160))
                ok = 0;
            else
                arb_buf_put(&raw, b, 80);
        }
        ok = ok && !raw.oom && arb_test_write_file(path, raw.data, raw.len);
    }
    arb_buf_free(&raw);
    json_decref(j);
    return ok;
}

/* ---------------------------------------------------------------- the log */

/* add-chain of a fresh leaf issued by the test CA; the leaf's PEM and the
 * SCT answer are written to <tmp>/<cn>.pem / .sct.json when save is set. */
static int add_leaf(const node *n, const char *cn, int save)
{
    pki_spec spec = {cn, NULL, next_serial++, 1700000000, 1900000000, 0};
    EVP_PKEY *k = pki_key();
    X509 *leaf = pki_cert(&spec, k, ca, ca_key);
    size_t ll, cl;
    uint8_t *ld = pki_der(leaf, &ll), *cd = pki_der(ca, &cl);
    char *l64 = arb_base64_encode(ld, ll), *c64 = arb_base64_encode(cd, cl), *body, *raw = NULL;
    json_t *o = json_pack("{s:[s, s]}", "chain", l64, c64);
    int ok;

    body = json_dumps(o, JSON_COMPACT);
    ok = http(n->port, "/ct/v1/add-chain", body, NULL, &raw) == 200;
    if (ok && save) {
        char path[1400];
        size_t pl;
        char *pem = pki_pem(leaf, &pl);
        snprintf(path, sizeof path, "%s/%s.pem", tmp, cn);
        ok = arb_test_write_file(path, pem, pl);
        free(pem);
        snprintf(path, sizeof path, "%s/%s.sct.json", tmp, cn);
        ok = ok && arb_test_write_file(path, raw, strlen(raw));
    }
    free(raw);
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

/* The log's get-sth once its size reaches size. */
static json_t *sth_at(const node *n, int64_t size)
{
    for (int i = 0; i < 400; i++) {
        json_t *j = NULL;
        if (http(n->port, "/ct/v1/get-sth", NULL, &j, NULL) == 200 &&
            arb_tl_jint(j, "tree_size") >= size)
            return j;
        json_decref(j);
        msleep(50);
    }
    return NULL;
}

static char LOG_ID[65];

/* GET /chain/v1/anchors/<LOG_ID>. */
static json_t *anchors(const node *n)
{
    char path[200];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/chain/v1/anchors/%s", LOG_ID);
    if (http(n->port, path, NULL, &j, NULL) != 200) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int64_t anchored_size(const node *n)
{
    json_t *j = anchors(n);
    int64_t s = -1;
    if (j != NULL && json_is_object(json_object_get(j, "latest")))
        s = arb_tl_jint(json_object_get(j, "latest"), "tree_size");
    json_decref(j);
    return s;
}

/* Mines on n (paying addr) until the log's anchored size is `size`. */
static int mine_until_anchored(const node *n, const char *addr, int64_t size)
{
    for (int i = 0; i < 60; i++) {
        if (anchored_size(n) == size)
            return 1;
        if (mine(n, addr) == 0)
            return 0;
        msleep(300); /* the anchoring thread polls every 200 ms */
    }
    return anchored_size(n) == size;
}

/* An anchor (JSON) is the get-sth head g. */
static int anchor_is_head(json_t *an, json_t *g)
{
    uint8_t *root = NULL;
    size_t rl = 0;
    char hex[65];
    const char *r64 = arb_tl_jstr(g, "sha256_root_hash");
    int ok = arb_base64_decode(&root, &rl, r64, strlen(r64)) == ARB_OK && rl == 32;
    if (ok)
        arb_hex_encode(hex, root, 32);
    free(root);
    return ok && arb_tl_jint(an, "tree_size") == arb_tl_jint(g, "tree_size") &&
           arb_tl_jint(an, "timestamp") == arb_tl_jint(g, "timestamp") &&
           strcmp(arb_tl_jstr(an, "root_hash"), hex) == 0;
}

/* ---------------------------------------------------------------- names */

typedef arb_tl_actor actor;

/* a's coin: the coinbase of block `height` (which paid a). */
static int actor_coinbase(actor *a, const node *n, uint32_t height)
{
    char path[100];
    json_t *j = NULL;
    arb_block b;
    arb_errbuf eb;
    uint8_t *raw = NULL;
    size_t len;
    int ok = 0;
    snprintf(path, sizeof path, "/chain/v1/block?height=%u", height);
    arb_block_init(&b);
    if (http(n->port, path, NULL, &j, NULL) == 200 &&
        arb_hex_decode_alloc(&raw, &len, arb_tl_jstr(j, "hex")) == ARB_OK &&
        arb_block_decode(&b, raw, len, &eb) == ARB_OK &&
        memcmp(b.tx[0].out[0].key, a->pk, 32) == 0 &&
        arb_tx_txid(H, &a->coin.txid, &b.tx[0]) == ARB_OK) {
        a->coin.index = 0;
        a->amount = b.tx[0].out[0].amount;
        ok = 1;
    }
    free(raw);
    arb_block_clear(&b);
    json_decref(j);
    return ok;
}

/* A name operation of a, posted to n: "ok" (a's coin moves to the change)
 * or the reason. */
static const char *nameop(actor *a, const node *n, const arb_nameop *op)
{
    return arb_tl_nameop(&C, at(n->port), a, op);
}

/* The namespace NS (lifetime 1000) and the name alice.NS, owned by a. */
static void register_name(actor *a, const node *n, const char *mine_to)
{
    arb_nameop op;
    uint8_t salt[32], salt2[32];
    arb_test_rand_bytes(salt, 32);
    arb_test_rand_bytes(salt2, 32);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(H, op.commitment, (const uint8_t *)NS, strlen(NS), salt, a->pk);
    op.burn = arb_names_namespace_price(strlen(NS));
    CHECK_STR(nameop(a, n, &op), "ok");
    CHECK(mine(n, mine_to) > 0);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    op.ns_len = strlen(NS);
    memcpy(op.ns, NS, op.ns_len);
    memcpy(op.salt, salt, 32);
    memcpy(op.key, a->pk, 32);
    op.lifetime = 1000;
    op.price.coeff = 1;
    op.price.base = 10;
    for (int i = 0; i < 16; i++)
        op.price.buckets[i] = 3;
    op.price.nonalpha_discount = 1;
    op.price.no_vowel_discount = 1;
    CHECK_STR(nameop(a, n, &op), "ok");
    CHECK(mine(n, mine_to) > 0);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_READY;
    op.ns_len = strlen(NS);
    memcpy(op.ns, NS, op.ns_len);
    CHECK_STR(nameop(a, n, &op), "ok");
    CHECK(mine(n, mine_to) > 0);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_PREORDER;
    arb_nameop_name_commitment(H, op.commitment, (const uint8_t *)"alice." NS,
                               strlen("alice." NS), salt2, a->pk);
    op.burn = 10000; /* 1 * 10^3 * 10 */
    CHECK_STR(nameop(a, n, &op), "ok");
    CHECK(mine(n, mine_to) > 0);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_REGISTER;
    op.full_len = strlen("alice." NS);
    memcpy(op.full, "alice." NS, op.full_len);
    memcpy(op.salt, salt2, 32);
    memcpy(op.key, a->pk, 32);
    CHECK_STR(nameop(a, n, &op), "ok");
    CHECK(mine(n, mine_to) > 0);
}

/* ---------------------------------------------------------------- the test */

static char *status_anchor_address(const node *n)
{
    json_t *j = NULL;
    char *a = NULL;
    if (http(n->port, "/status", NULL, &j, NULL) == 200)
        a = strdup(arb_tl_jstr(json_object_get(j, "anchor"), "address"));
    json_decref(j);
    return a;
}

/* Flips one hex digit of field `key` of the JSON object at path in file
 * src (a light-client proof in an answer), writing dst. */
static int alter_hex_field(const char *src, const char *dst, const char *outer, const char *key,
                           size_t at)
{
    json_t *j = json_load_file(src, 0, NULL), *o;
    int ok = 0;
    if (j == NULL)
        return 0;
    o = outer ? json_object_get(j, outer) : j;
    const char *h = json_string_value(json_object_get(o, key));
    if (h != NULL && strlen(h) > at) {
        char *c = strdup(h);
        c[at] = c[at] == '0' ? '1' : '0';
        json_object_set_new(o, key, json_string(c));
        free(c);
        ok = json_dump_file(j, dst, 0) == 0;
    }
    json_decref(j);
    return ok;
}

static void test_anchors_and_names(void)
{
    node A = {0}, F = {0}, B = {0};
    char connect_a[64], path[1400], path2[1400], state1[1300], state2[1300], gen[65];
    char *addr_a = NULL, *addr_b = NULL, *out = NULL;
    json_t *sth3 = NULL, *sth5 = NULL, *la = NULL, *lf = NULL;
    actor alice;
    arb_hash gh;
    long long v = 0;

    arb_chain_genesis_hash(P, &gh);
    arb_chain_hash_hex(gen, &gh);
    arb_tl_actor_new(&C, &alice);
    {
        const char *ex[] = {"--log-key", key_pem, "--log-roots", roots_pem,
                            "--anchor-every-blocks", "2", NULL};
        CHECK(start_node(&A, "a", ex));
    }
    snprintf(connect_a, sizeof connect_a, "127.0.0.1:%d", A.port);
    {
        const char *ex[] = {"--connect", connect_a, NULL};
        CHECK(start_node(&F, "f", ex));
    }
    {
        const char *ex[] = {"--log-key", key_pem, "--log-roots", roots_pem, "--connect",
                            connect_a, "--anchor-every-blocks", "1", NULL};
        CHECK(start_node(&B, "b", ex));
    }
    addr_a = status_anchor_address(&A);
    addr_b = status_anchor_address(&B);
    CHECK(addr_a != NULL && strncmp(addr_a, "rarb1", 5) == 0);
    CHECK(addr_b != NULL && strncmp(addr_b, "rarb1", 5) == 0 && strcmp(addr_a, addr_b) != 0);
    /* The anchor key is the operator's alone. */
    {
        struct stat stt;
        snprintf(path, sizeof path, "%s/anchor-key", A.dir);
        CHECK(stat(path, &stt) == 0 && (stt.st_mode & 0777) == 0600);
    }

    /* Fund: block 1 pays A's anchor key, 2 B's, 3 alice; mature at 103. */
    CHECK_EQ(mine(&A, addr_a), 1);
    CHECK_EQ(mine(&A, addr_b), 2);
    CHECK_EQ(mine(&A, alice.addr), 3);
    while (tip_height(&A) < 3 + P->coinbase_maturity)
        CHECK(mine(&A, addr_a) > 0);
    CHECK(actor_coinbase(&alice, &A, 3));

    /* verify-name: a registered name and an absent one, from the genesis. */
    register_name(&alice, &A, addr_a);
    {
        const char *args[] = {"--json", "verify-name", "--node", A.url, "--name", "alice." NS,
                              "--checkpoint", "genesis", "--network", "regtest", NULL};
        CHECK_EQ(audit(&out, args), 0);
        json_t *j = out ? json_loads(out, 0, NULL) : NULL;
        CHECK_STR(arb_tl_jstr(j, "status"), "active");
        CHECK(json_is_true(json_object_get(j, "namespace_checked")));
        CHECK(json_is_true(json_object_get(j, "answer_checked")));
        char pk[65];
        arb_hex_encode(pk, alice.pk, 32);
        CHECK_STR(arb_tl_jstr(j, "owner"), pk);
        json_decref(j);
        free(out);
        out = NULL;
    }
    {
        const char *args[] = {"--json", "verify-name", "--node", A.url, "--name", "bob." NS,
                              "--checkpoint", "genesis", "--network", "regtest", NULL};
        CHECK_EQ(audit(&out, args), 0);
        json_t *j = out ? json_loads(out, 0, NULL) : NULL;
        CHECK_STR(arb_tl_jstr(j, "status"), "available");
        CHECK(json_is_false(json_object_get(j, "present")));
        json_decref(j);
        free(out);
        out = NULL;
    }
    /* Offline: the answer saved, then an altered record, then stale. */
    {
        char *raw = NULL;
        uint32_t h = tip_height(&A);
        char minh[32];
        CHECK_EQ(http(A.port, "/names/v1/name/alice." NS "?proof=1", NULL, NULL, &raw), 200);
        snprintf(path, sizeof path, "%s/alice.json", tmp);
        CHECK(raw != NULL && arb_test_write_file(path, raw, strlen(raw)));
        free(raw);
        const char *ok_args[] = {"verify-name", "--checkpoint", gen, "--network", "regtest",
                                 path, NULL};
        CHECK_EQ(audit(NULL, ok_args), 0);
        snprintf(path2, sizeof path2, "%s/alice-altered.json", tmp);
        CHECK(alter_hex_field(path, path2, "proof", "record", 40));
        const char *bad_args[] = {"verify-name", "--checkpoint", gen, "--network", "regtest",
                                  path2, NULL};
        CHECK_EQ(audit(NULL, bad_args), 1);
        CHECK(alter_hex_field(path, path2, "proof", "coinbase", 100));
        CHECK_EQ(audit(NULL, bad_args), 1);
        /* With the user's own headers 0..h: every header rule has context. */
        char hdrs[1300];
        snprintf(hdrs, sizeof hdrs, "%s/headers.bin", tmp);
        CHECK(save_headers(&A, h, hdrs));
        const char *hdr_args[] = {"verify-name", "--checkpoint", gen, "--network", "regtest",
                                  "--headers", hdrs, path, NULL};
        CHECK_EQ(audit(NULL, hdr_args), 0);
        /* A proof whose checkpoint is the tip carries no headers: the user's
         * headers give the tip's. */
        {
            json_t *tipj = NULL;
            char q[300], tiphash[65];
            CHECK_EQ(http(A.port, "/chain/v1/tip", NULL, &tipj, NULL), 200);
            snprintf(tiphash, sizeof tiphash, "%s", arb_tl_jstr(tipj, "hash"));
            json_decref(tipj);
            snprintf(q, sizeof q, "/names/v1/name/alice." NS "?proof=1&checkpoint=%s", tiphash);
            CHECK_EQ(http(A.port, q, NULL, NULL, &raw), 200);
            snprintf(path2, sizeof path2, "%s/alice-tip.json", tmp);
            CHECK(raw != NULL && arb_test_write_file(path2, raw, strlen(raw)));
            free(raw);
            const char *tip_args[] = {"verify-name", "--checkpoint", tiphash, "--network",
                                      "regtest", "--headers", hdrs, path2, NULL};
            CHECK_EQ(audit(NULL, tip_args), 0);
            const char *nohdr_args[] = {"--json", "verify-name", "--checkpoint", tiphash,
                                        "--network", "regtest", path2, NULL};
            CHECK_EQ(audit(&out, nohdr_args), 1);
            CHECK(out != NULL && strstr(out, "tip-header-unknown") != NULL);
            free(out);
            out = NULL;
        }
        CHECK(mine(&A, addr_a) == h + 1);
        /* The user now knows block h + 1: the saved proof is stale. */
        CHECK(save_headers(&A, h + 1, hdrs));
        CHECK_EQ(audit(NULL, hdr_args), 1);
        snprintf(minh, sizeof minh, "%u", h + 1);
        const char *stale_args[] = {"--json", "verify-name", "--checkpoint", gen, "--network",
                                    "regtest", "--min-height", minh, path, NULL};
        CHECK_EQ(audit(&out, stale_args), 1);
        CHECK(out != NULL && strstr(out, "\"stale\"") != NULL);
        free(out);
        out = NULL;
    }

    /* A anchors its own head: 3 entries, then 5. */
    CHECK(add_leaf(&A, "one.example", 1));
    CHECK(add_leaf(&A, "two.example", 0));
    CHECK(add_leaf(&A, "three.example", 0));
    CHECK((sth3 = sth_at(&A, 3)) != NULL);
    CHECK(mine_until_anchored(&A, addr_a, 3));
    CHECK(add_leaf(&A, "four.example", 0));
    CHECK(add_leaf(&A, "five.example", 0));
    CHECK((sth5 = sth_at(&A, 5)) != NULL);
    CHECK(mine_until_anchored(&A, addr_a, 5));
    la = anchors(&A);
    CHECK(la != NULL);
    {
        /* The anchoring thread may also have caught the tree between the
         * leaves (size 1, 2 or 4: its block count came due while they were
         * being added); the heads of 3 and 5 are anchored, in order, with
         * 5 the latest. */
        json_t *arr = json_object_get(la, "anchors");
        size_t na = json_array_size(arr), at3 = na;
        CHECK(na >= 2 && na <= 5);
        for (size_t i = 0; i < na; i++) {
            int64_t sz = arb_tl_jint(json_array_get(arr, i), "tree_size");
            CHECK(sz >= 1 && sz <= 5);
            CHECK(i == 0 || sz > arb_tl_jint(json_array_get(arr, i - 1), "tree_size"));
            if (sz == 3)
                at3 = i;
        }
        CHECK(at3 < na && anchor_is_head(json_array_get(arr, at3), sth3));
        CHECK(na >= 1 && anchor_is_head(json_array_get(arr, na - 1), sth5));
        CHECK(arb_tl_metric(at(A.port), "arbor_anchor_submitted_total", &v) &&
              v == (long long)na);
    }
    /* F, over the peer network, holds the same anchors. */
    CHECK(wait_height(&F, tip_height(&A)));
    lf = anchors(&F);
    CHECK(lf != NULL && json_equal(json_object_get(la, "anchors"), json_object_get(lf, "anchors")));

    /* The auditor: A's served head against the chain. */
    snprintf(state1, sizeof state1, "%s/audit1", tmp);
    {
        const char *args[] = {"--json", "follow", "--log", A.url, "--key", key_pem, "--state",
                              state1, "--chain", A.url, "--checkpoint", "genesis", "--network",
                              "regtest", "--once", NULL};
        CHECK_EQ(audit(&out, args), 0);
        CHECK(out != NULL && strstr(out, "\"event\":\"anchored\"") != NULL);
        free(out);
        out = NULL;
    }
    /* An SCT turned into an anchored inclusion proof, checked offline. */
    {
        char cert[1300], sct[1300];
        snprintf(cert, sizeof cert, "%s/one.example.pem", tmp);
        snprintf(sct, sizeof sct, "%s/one.example.sct.json", tmp);
        snprintf(path, sizeof path, "%s/anchored.json", tmp);
        const char *args[] = {"check-sct", "--cert", cert, "--issuer", ca_pem, "--sct", sct,
                              "--key", key_pem, "--log", A.url, "--anchored", "--chain", A.url,
                              "--checkpoint", "genesis", "--network", "regtest", "--out", path,
                              NULL};
        CHECK_EQ(audit(&out, args), 0);
        CHECK(out != NULL && strstr(out, "chain: anchored") != NULL);
        free(out);
        out = NULL;
        const char *vargs[] = {"verify-anchored", "--checkpoint", gen, path, NULL};
        CHECK_EQ(audit(NULL, vargs), 0);
        /* Altered bytes: the inclusion proof's first hash, the anchor transaction. */
        json_t *d = json_load_file(path, 0, NULL);
        CHECK(d != NULL);
        json_t *ip = json_object_get(d, "inclusion_proof");
        CHECK(json_array_size(ip) > 0);
        char *h = strdup(json_string_value(json_array_get(ip, 0)));
        h[3] = h[3] == 'A' ? 'B' : 'A';
        json_array_set_new(ip, 0, json_string(h));
        free(h);
        snprintf(path2, sizeof path2, "%s/anchored-altered.json", tmp);
        CHECK(json_dump_file(d, path2, 0) == 0);
        json_decref(d);
        const char *bargs[] = {"verify-anchored", "--checkpoint", gen, path2, NULL};
        CHECK_EQ(audit(NULL, bargs), 1);
        CHECK(alter_hex_field(path, path2, "anchor", "anchor_tx", 300));
        CHECK_EQ(audit(NULL, bargs), 1);
    }

    /* B: the same key, another tree, anchored on the same chain: refused. */
    CHECK(wait_height(&B, tip_height(&A)));
    for (int i = 0; i < 6; i++) {
        char cn[64];
        snprintf(cn, sizeof cn, "other%d.example", i);
        CHECK(add_leaf(&B, cn, i == 0));
    }
    json_decref(sth_at(&B, 6));
    {
        long long refused = 0;
        for (int i = 0; i < 40 && refused == 0; i++) {
            CHECK(mine(&A, addr_a) > 0);
            CHECK(wait_height(&B, tip_height(&A)));
            msleep(300);
            if (!arb_tl_metric(at(B.port), "arbor_anchor_refused_fork_total", &refused))
                refused = 0;
        }
        CHECK(refused > 0);
    }
    CHECK_EQ(anchored_size(&A), 5);
    /* never submitted: the counter was never made */
    CHECK(!arb_tl_metric(at(B.port), "arbor_anchor_submitted_total", &v) || v == 0);
    CHECK(arb_tl_metric(at(B.port), "arbor_anchor_attempts_total", &v) && v > 0);
    /* An auditor shown B's tree: a split view against the chain. */
    snprintf(state2, sizeof state2, "%s/audit2", tmp);
    {
        const char *args[] = {"--json", "follow", "--log", B.url, "--key", key_pem, "--state",
                              state2, "--chain", A.url, "--checkpoint", "genesis", "--network",
                              "regtest", "--once", NULL};
        CHECK_EQ(audit(&out, args), 1);
        CHECK(out != NULL);
        const char *line = out ? strstr(out, "\"kind\":\"anchored-split-view\"") : NULL;
        CHECK(line != NULL);
        /* the evidence file named on that line */
        const char *start = line;
        while (start > out && start[-1] != '\n')
            start--;
        const char *end = strchr(start, '\n');
        char *l = strndup(start, end ? (size_t)(end - start) : strlen(start));
        json_t *ev = json_loads(l, 0, NULL);
        free(l);
        snprintf(path, sizeof path, "%s", arb_tl_jstr(ev, "evidence_file"));
        json_decref(ev);
        free(out);
        out = NULL;
        CHECK(path[0] != '\0');
    }
    /* check-sct --anchored before and after the entry is anchored, and an
     * entry of B's tree: a head anchored after its merge delay (--mmd 0)
     * lacks it. */
    {
        char cert[1300], sct[1300];
        snprintf(cert, sizeof cert, "%s/six.example.pem", tmp);
        snprintf(sct, sizeof sct, "%s/six.example.sct.json", tmp);
        CHECK(add_leaf(&A, "six.example", 1));
        json_decref(sth_at(&A, 6));
        const char *args[] = {"check-sct", "--cert", cert, "--issuer", ca_pem, "--sct", sct,
                              "--key", key_pem, "--log", A.url, "--anchored", "--chain", A.url,
                              "--checkpoint", "genesis", "--network", "regtest", NULL};
        CHECK_EQ(audit(&out, args), 1);
        CHECK(out != NULL && strstr(out, "chain: pending") != NULL);
        free(out);
        out = NULL;
        CHECK(mine_until_anchored(&A, addr_a, 6));
        CHECK_EQ(audit(&out, args), 0);
        CHECK(out != NULL && strstr(out, "chain: anchored") != NULL);
        free(out);
        out = NULL;
        snprintf(cert, sizeof cert, "%s/other0.example.pem", tmp);
        snprintf(sct, sizeof sct, "%s/other0.example.sct.json", tmp);
        const char *bargs[] = {"check-sct", "--cert", cert, "--issuer", ca_pem, "--sct", sct,
                               "--key", key_pem, "--log", B.url, "--mmd", "0", "--anchored",
                               "--chain", A.url, "--checkpoint", "genesis", "--network",
                               "regtest", NULL};
        CHECK_EQ(audit(&out, bargs), 1);
        CHECK(out != NULL && strstr(out, "chain: failed") != NULL);
        free(out);
        out = NULL;
    }
    /* Offline: every server stopped first. */
    stop_node(&B);
    stop_node(&F);
    stop_node(&A);
    {
        const char *args[] = {"--json", "verify-evidence", "--checkpoint", gen, path, NULL};
        CHECK_EQ(audit(&out, args), 0);
        CHECK(out != NULL && strstr(out, "\"relation\":\"fork\"") != NULL);
        free(out);
        out = NULL;
        snprintf(path2, sizeof path2, "%s/evidence-altered.json", tmp);
        json_t *d = json_load_file(path, 0, NULL);
        json_t *pf = json_object_get(json_object_get(d, "anchor"), "proof");
        const char *tx = json_string_value(json_object_get(pf, "anchor_tx"));
        CHECK(tx != NULL);
        char *c = strdup(tx);
        c[200] = c[200] == '0' ? '1' : '0';
        json_object_set_new(pf, "anchor_tx", json_string(c));
        free(c);
        CHECK(json_dump_file(d, path2, 0) == 0);
        json_decref(d);
        const char *bargs[] = {"verify-evidence", "--checkpoint", gen, path2, NULL};
        CHECK_EQ(audit(NULL, bargs), 1);
    }
    json_decref(sth3);
    json_decref(sth5);
    json_decref(la);
    json_decref(lf);
    free(addr_a);
    free(addr_b);
}

/* ---------------------------------------------------------------- setup */

static int setup(void)
{
    EVP_PKEY *k;
    FILE *f;
    size_t len;
    char *pem;

    if (arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 0;
    arb_test_bin(arbord_bin, sizeof arbord_bin, "arbord");
    arb_test_bin(audit_bin, sizeof audit_bin, "arbor-audit");
    /* The log key both A and B run. */
    snprintf(key_pem, sizeof key_pem, "%s/log-key.pem", tmp);
    k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    f = fopen(key_pem, "w");
    if (k == NULL || f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
        return 0;
    fclose(f);
    {
        unsigned char *der = NULL;
        int dl = i2d_PUBKEY(k, &der);
        uint8_t id[32];
        if (dl <= 0)
            return 0;
        arb_sha256_digest(H, id, der, (size_t)dl);
        arb_hex_encode(LOG_ID, id, 32);
        OPENSSL_free(der);
    }
    EVP_PKEY_free(k);
    /* The test CA, the log's only root. */
    ca_key = pki_key();
    pki_spec spec = {"anchor test CA", NULL, 1, 1600000000, 2000000000, PKI_CA};
    ca = pki_cert(&spec, ca_key, NULL, NULL);
    pem = pki_pem(ca, &len);
    snprintf(roots_pem, sizeof roots_pem, "%s/roots.pem", tmp);
    snprintf(ca_pem, sizeof ca_pem, "%s/ca.pem", tmp);
    if (pem == NULL || !arb_test_write_file(roots_pem, pem, len) || !arb_test_write_file(ca_pem, pem, len))
        return 0;
    free(pem);
    return 1;
}

int main(void)
{
    arb_test_seed_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    P = arb_chain_params_get("regtest");
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK || !setup()) {
        arb_test_fail(__FILE__, __LINE__, "setup failed");
        return arb_test_done();
    }
    C = (arb_tl_chain){H, S, P, FEE};
    test_anchors_and_names();
    arb_test_rmtree(tmp);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    curl_global_cleanup();
    return arb_test_done();
}
