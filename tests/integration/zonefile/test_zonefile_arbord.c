/* Zone files with real arbord processes on 127.0.0.1 (regtest) and real
 * name operations on the chain (built here with ledger/names and the
 * transaction libraries, posted to POST /chain/v1/tx and mined):
 *   - a namespace is preordered, revealed and made ready; a name is
 *     preordered and registered with zone file 1's hash; zone file 1 is
 *     uploaded to node A (POST /names/v1/zonefile) and node B, connected to
 *     A, gets it: GET /names/v1/name/{full} answers its text on both (null
 *     before the upload); a zone file whose hash is not on chain is refused;
 *   - node C, which joins later through B only, gets it too;
 *   - a name-update puts zone file 2's hash on chain (the name answers the
 *     new hash and null, never the old text, until the upload); uploaded to
 *     B it resolves on every node, and zone file 1 stays served;
 *   - a raw websocket peer sending A a zone file not on chain, one that does
 *     not match its hash, or an oversize one is disconnected and discouraged.
 * Nodes are stopped with SIGTERM and must exit 0. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/block.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/header.h"
#include "ledger/chain/mine.h"
#include "ledger/chain/params.h"
#include "ledger/chain/schnorr.h"
#include "ledger/chain/tx.h"
#include "ledger/names/nameop.h"
#include "ledger/names/names.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "p2p/msg.h"
#include "tests/integration/p2p/wspeer.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"

#define WAIT_MS 60000

#define TRY(cond)                                                                                  \
    do {                                                                                           \
        if (cond) {                                                                                \
            arb_test_passed++;                                                                     \
        } else {                                                                                   \
            arb_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                 \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static char bin[4096];
static char tmp[1024];
static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;

typedef struct {
    arb_proc *p;
    int port;
    char dir[1200];
} node;

/* ---------------------------------------------------------------- HTTP */

typedef arb_tl_body body;

/* How this test asks a node on port (tests/testlib/http.h): 30 s a request. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 30};
    return o;
}

static json_t *http_json(int port, const char *path, long *status)
{
    json_t *j = NULL;
    *status = arb_tl_http_json(at(port), path, NULL, &j);
    return j;
}

/* The counter arbor_<name>_total on port, or 0. */
static unsigned long long metric(int port, const char *name)
{
    char want[160];
    snprintf(want, sizeof want, "arbor_%s_total", name);
    long long v;
    arb_tl_metric(at(port), want, &v);
    return (unsigned long long)v;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- nodes */

static int node_start(node *nd, const char *name, const int *peers, size_t np)
{
    const char *argv[32];
    char listen[64], conn[4][64];
    size_t a = 0;
    snprintf(nd->dir, sizeof nd->dir, "%s/%s", tmp, name);
    nd->port = arb_test_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", nd->port);
    argv[a++] = bin;
    argv[a++] = "--datadir";
    argv[a++] = nd->dir;
    argv[a++] = "--listen";
    argv[a++] = listen;
    argv[a++] = "--json";
    argv[a++] = "--network";
    argv[a++] = "regtest";
    argv[a++] = "--p2p-no-outbound";
    argv[a++] = "1";
    argv[a++] = "--p2p-tx-delay-ms";
    argv[a++] = "50";
    for (size_t i = 0; i < np && i < 4; i++) {
        snprintf(conn[i], sizeof conn[i], "127.0.0.1:%d", peers[i]);
        argv[a++] = "--connect";
        argv[a++] = conn[i];
    }
    argv[a] = NULL;
    if (arb_proc_spawn(&nd->p, argv) != 0)
        return 0;
    if (arb_proc_wait_port(nd->p, WAIT_MS) != nd->port) {
        char *err = arb_proc_output(nd->p, ARB_PROC_STDERR);
        fprintf(stderr, "node %s did not start:\n%s\n", name, err ? err : "");
        free(err);
        return 0;
    }
    return 1;
}

static void node_stop(node *nd)
{
    if (nd->p == NULL)
        return;
    arb_proc_kill(nd->p, SIGTERM);
    int st = arb_proc_wait(nd->p, WAIT_MS);
    if (st != 0 || (arb_test_failed > 0 && getenv("ARB_TEST_VERBOSE") != NULL)) {
        char *err = arb_proc_output(nd->p, ARB_PROC_STDERR);
        fprintf(stderr, "node on %d exited with %d:\n%s\n", nd->port, st, err ? err : "");
        free(err);
    }
    arb_proc_free(nd->p);
    nd->p = NULL;
    CHECK_EQ(st, 0);
}

static int tip_height(int port, uint32_t *height)
{
    long st;
    json_t *j = http_json(port, "/chain/v1/tip", &st);
    int ok = st == 200 && j != NULL;
    if (ok)
        *height = (uint32_t)json_integer_value(json_object_get(j, "height"));
    json_decref(j);
    return ok;
}

/* Waits until every node's tip is at least `height`. */
static int wait_height(const node *const *nodes, size_t n, uint32_t height)
{
    for (int waited = 0; waited < WAIT_MS; waited += 100) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t h;
            ok += tip_height(nodes[i]->port, &h) && h >= height;
        }
        if (ok == n)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* ---------------------------------------------------------------- coins and transactions */

static uint8_t sk[32], pk[32];
static char addr[ARB_ADDR_MAX];

typedef struct {
    arb_outpoint op;
    uint64_t amount;
} coin;

static coin coins[16];
static size_t n_coins, next_coin;

/* Mines one block on the node's template (paying to our key). The first 16
 * blocks' coinbases are kept to spend once mature. */
static int mine(int port)
{
    char path[256];
    long st;
    uint8_t *raw = NULL;
    size_t len;
    arb_block b;
    arb_errbuf eb;
    int ok = 0;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", addr);
    json_t *t = http_json(port, path, &st);
    const char *hex = t ? json_string_value(json_object_get(t, "hex")) : NULL;
    arb_block_init(&b);
    if (st == 200 && hex != NULL && arb_hex_decode_alloc(&raw, &len, hex) == ARB_OK &&
        arb_block_decode(&b, raw, len, &eb) == ARB_OK &&
        arb_chain_mine_header(&b.header, 0, 1ULL << 32)) {
        arb_buf buf = ARB_BUF_INIT;
        arb_block_write(&buf, &b);
        ok = arb_tl_post_hex(at(port), "/chain/v1/block", buf.data, buf.len, NULL) == 200;
        arb_buf_free(&buf);
        if (ok && n_coins < 16 && arb_tx_txid(H, &coins[n_coins].op.txid, &b.tx[0]) == ARB_OK) {
            coins[n_coins].op.index = 0;
            coins[n_coins++].amount = b.tx[0].out[0].amount;
        }
    }
    free(raw);
    arb_block_clear(&b);
    json_decref(t);
    return ok;
}

/* A transaction carrying op, spending the next mature coin: the burn goes
 * nowhere, a fee of 10,000 units, the rest back to our key. Posted to port;
 * 1 when the node took it. */
static int post_op(int port, const arb_nameop *op)
{
    arb_tx tx;
    arb_buf pl = ARB_BUF_INIT, raw = ARB_BUF_INIT;
    json_t *r = NULL;
    int ok = 0;
    if (next_coin >= n_coins)
        return 0;
    const coin *c = &coins[next_coin++];
    arb_txout spent = {c->amount, {0}};
    memcpy(spent.key, pk, 32);
    arb_tx_init(&tx);
    if (arb_nameop_encode(&pl, op) != ARB_OK || arb_tx_alloc(&tx, 1, 1) != ARB_OK)
        goto done;
    tx.version = 1;
    tx.in[0] = c->op;
    tx.out[0].amount = c->amount - arb_nameop_burn(op) - 10000;
    memcpy(tx.out[0].key, pk, 32);
    tx.payload_type = op->type;
    tx.payload_len = pl.len;
    tx.payload = malloc(pl.len);
    memcpy(tx.payload, pl.data, pl.len);
    if (arb_chain_sign_input(P, H, S, &tx, 0, &spent, sk, NULL) != ARB_OK)
        goto done;
    arb_tx_write(&raw, &tx, 1);
    ok = arb_tl_post_hex(at(port), "/chain/v1/tx", raw.data, raw.len, &r) == 200;
    if (!ok)
        fprintf(stderr, "%s refused: %s\n", arb_nameop_type_name(op->type),
                arb_tl_jstr(r, "error"));
done:
    json_decref(r);
    arb_buf_free(&pl);
    arb_buf_free(&raw);
    arb_tx_clear(&tx);
    return ok;
}

/* 1 when the node's chain lists hash among its zone-file hashes. */
static int hash_onchain(int port, const uint8_t h[32])
{
    char hex[65];
    long st;
    int found = 0;
    arb_hex_encode(hex, h, 32);
    json_t *j = http_json(port, "/chain/v1/zonefile-hashes?limit=10000", &st);
    json_t *arr = j ? json_object_get(j, "hashes") : NULL;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        const char *s = json_is_string(e) ? json_string_value(e)
                                           : json_string_value(json_object_get(e, "hash"));
        if (s != NULL && strcmp(s, hex) == 0)
            found = 1;
    }
    json_decref(j);
    return st == 200 && found;
}

/* 1 when the node serves exactly zf for h (waits up to WAIT_MS). */
static int wait_served(const node *nd, const uint8_t h[32], const char *zf)
{
    char path[128], hex[65];
    arb_hex_encode(hex, h, 32);
    snprintf(path, sizeof path, "/names/v1/zonefile/%s", hex);
    for (int waited = 0; waited < WAIT_MS; waited += 100) {
        body b;
        long st = arb_tl_http_raw(at(nd->port), path, NULL, 0, &b);
        int ok = st == 200 && b.len == strlen(zf) && memcmp(b.data, zf, b.len) == 0;
        free(b.data);
        if (ok)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

static int upload(const node *nd, const char *zf, long *status)
{
    body b;
    *status = arb_tl_http_raw(at(nd->port), "/names/v1/zonefile", zf, strlen(zf), &b);
    free(b.data);
    return *status == 200;
}

/* 1 when GET /names/v1/name/{full} on the node answers zonefile_hash h and
 * "zonefile" zf (NULL: null), waiting up to WAIT_MS. */
static int wait_name(const node *nd, const char *full, const uint8_t h[32], const char *zf)
{
    char path[160], hex[65];
    arb_hex_encode(hex, h, 32);
    snprintf(path, sizeof path, "/names/v1/name/%s", full);
    for (int waited = 0; waited < WAIT_MS; waited += 100) {
        long st;
        json_t *j = http_json(nd->port, path, &st);
        const char *zh = j ? json_string_value(json_object_get(j, "zonefile_hash")) : NULL;
        json_t *z = j ? json_object_get(j, "zonefile") : NULL;
        int ok = st == 200 && zh != NULL && strcmp(zh, hex) == 0 && z != NULL &&
                 (zf == NULL ? json_is_null(z)
                             : json_is_string(z) && strcmp(json_string_value(z), zf) == 0);
        json_decref(j);
        if (ok)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* ---------------------------------------------------------------- the scenario */

static void test_names_and_zonefiles(void)
{
    node a = {0}, b = {0}, c = {0};
    const node *all[3] = {&a, &b, &c};
    static const char ns[] = "zonetest";
    static const char full[] = "alice.zonetest";
    const char *zf1 = "$ORIGIN alice.zonetest\n$TTL 3600\n_http._tcp IN URI 10 1 \"https://alice.example/\"\n";
    const char *zf2 = "$ORIGIN alice.zonetest\n$TTL 3600\n_http._tcp IN URI 10 1 \"https://alice.example/v2\"\n";
    const char *zf_x = "$ORIGIN mallory.zonetest\n$TTL 60\n";
    uint8_t h1[32], h2[32], hx[32], ns_salt[32], name_salt[32];
    arb_names_price_fn pf;
    arb_nameop op;
    uint32_t height = 0;
    long st;
    wspeer w = {0};
    int w_open = 0;

    arb_sha256_digest(H, h1, zf1, strlen(zf1));
    arb_sha256_digest(H, h2, zf2, strlen(zf2));
    arb_sha256_digest(H, hx, zf_x, strlen(zf_x));
    arb_test_rand_bytes(ns_salt, 32);
    arb_test_rand_bytes(name_salt, 32);

    TRY(node_start(&a, "a", NULL, 0));
    TRY(node_start(&b, "b", &a.port, 1));
    /* Coins: 110 blocks, the first ones' coinbases mature. */
    for (int i = 0; i < 110; i++)
        TRY(mine(a.port));

    /* namespace-preorder, -reveal, -ready, each in its own block. */
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(H, op.commitment, (const uint8_t *)ns, strlen(ns), ns_salt, pk);
    op.burn = arb_names_namespace_price(strlen(ns));
    TRY(post_op(a.port, &op));
    TRY(mine(a.port));
    memset(&pf, 0, sizeof pf);
    pf.coeff = 1;
    pf.base = 2;
    pf.nonalpha_discount = 1;
    pf.no_vowel_discount = 1;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    memcpy(op.ns, ns, strlen(ns));
    op.ns_len = strlen(ns);
    memcpy(op.salt, ns_salt, 32);
    memcpy(op.key, pk, 32);
    op.lifetime = 0;
    op.price = pf;
    TRY(post_op(a.port, &op));
    TRY(mine(a.port));
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_READY;
    memcpy(op.ns, ns, strlen(ns));
    op.ns_len = strlen(ns);
    TRY(post_op(a.port, &op));
    TRY(mine(a.port));

    /* name-preorder, then name-register with zone file 1's hash. */
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_PREORDER;
    arb_nameop_name_commitment(H, op.commitment, (const uint8_t *)full, strlen(full), name_salt,
                               pk);
    TRY(arb_names_name_price(&pf, (const uint8_t *)"alice", 5, &op.burn) == ARB_OK);
    TRY(post_op(a.port, &op));
    TRY(mine(a.port));
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_REGISTER;
    memcpy(op.full, full, strlen(full));
    op.full_len = strlen(full);
    op.name_len = 5;
    memcpy(op.ns, ns, strlen(ns));
    op.ns_len = strlen(ns);
    memcpy(op.salt, name_salt, 32);
    memcpy(op.key, pk, 32);
    op.has_zonefile = 1;
    memcpy(op.zonefile_hash, h1, 32);
    /* Not on chain yet: refused. */
    TRY(!upload(&a, zf1, &st) && st == 404);
    TRY(post_op(a.port, &op));
    TRY(mine(a.port));
    TRY(tip_height(a.port, &height) && height == 115);
    TRY(hash_onchain(a.port, h1));

    /* Uploaded to A; B gets it, and the name resolves to it on both. A file
     * whose hash is on no chain is refused. */
    TRY(wait_name(&a, full, h1, NULL));
    TRY(upload(&a, zf1, &st));
    TRY(wait_name(&a, full, h1, zf1));
    TRY(!upload(&a, zf_x, &st) && st == 404);
    TRY(wait_height((const node *const *)all, 2, height));
    TRY(wait_served(&b, h1, zf1));
    TRY(wait_name(&b, full, h1, zf1));

    /* C joins later, through B only. */
    TRY(node_start(&c, "c", &b.port, 1));
    TRY(wait_height((const node *const *)all, 3, height));
    TRY(wait_served(&c, h1, zf1));
    TRY(wait_name(&c, full, h1, zf1));

    /* name-update to zone file 2; uploaded to B, it resolves everywhere and
     * zone file 1 stays. */
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_UPDATE;
    memcpy(op.full, full, strlen(full));
    op.full_len = strlen(full);
    op.name_len = 5;
    memcpy(op.ns, ns, strlen(ns));
    op.ns_len = strlen(ns);
    op.has_zonefile = 1;
    memcpy(op.zonefile_hash, h2, 32);
    TRY(post_op(a.port, &op));
    TRY(mine(a.port));
    TRY(tip_height(a.port, &height) && height == 116);
    TRY(wait_height((const node *const *)all, 3, height));
    TRY(hash_onchain(b.port, h2));
    /* Before the upload the name has the new hash and no text: never the
     * old zone file. */
    TRY(wait_name(&b, full, h2, NULL));
    TRY(upload(&b, zf2, &st));
    for (size_t i = 0; i < 3; i++) {
        TRY(wait_served(all[i], h2, zf2));
        TRY(wait_name(all[i], full, h2, zf2));
        TRY(wait_served(all[i], h1, zf1));
    }

    /* Hostile raw peers against A. */
    {
        static const struct {
            const char *ip, *metric;
        } bad[] = {{"127.0.0.21", "p2p_misbehaviour_zonefile_not_on_chain"},
                   {"127.0.0.22", "p2p_misbehaviour_zonefile_mismatch"},
                   {"127.0.0.23", "p2p_misbehaviour_zonefile_oversize"}};
        for (size_t k = 0; k < 3; k++) {
            arb_buf m = ARB_BUF_INIT;
            unsigned long long before = metric(a.port, bad[k].metric);
            static uint8_t big[ARB_NAMES_ZONEFILE_MAX + 1];
            if (k == 0)
                arb_p2p_zonefile_write(&m, hx, (const uint8_t *)zf_x, strlen(zf_x));
            else if (k == 1)
                arb_p2p_zonefile_write(&m, h2, (const uint8_t *)zf1, strlen(zf1));
            else
                arb_p2p_zonefile_write(&m, h2, big, sizeof big);
            TRY(wsp_connect(&w, P, bad[k].ip, a.port) == 0);
            w_open = 1;
            TRY(wsp_handshake(&w, 2100 + k) == 0);
            TRY(wsp_send_msg(&w, ARB_P2P_ZONEFILE, m.data, m.len) == 0);
            arb_buf_free(&m);
            TRY(wsp_wait_closed(&w, WAIT_MS) == 1);
            wsp_close(&w);
            w_open = 0;
            TRY(metric(a.port, bad[k].metric) == before + 1);
            /* discouraged: refused on its next try */
            TRY(wsp_connect(&w, P, bad[k].ip, a.port) != 0 || (w_open = 1, wsp_handshake(&w, 2200 + k) != 0));
            if (w_open)
                wsp_close(&w);
            w_open = 0;
        }
        TRY(metric(a.port, "p2p_discouraged") >= 3);
    }
    /* Nothing of theirs was kept; A still serves the real files. */
    TRY(wait_served(&a, h2, zf2));
    {
        char hex[65], path[128];
        body r;
        arb_hex_encode(hex, hx, 32);
        snprintf(path, sizeof path, "/names/v1/zonefile/%s", hex);
        TRY(arb_tl_http_raw(at(a.port), path, NULL, 0, &r) == 404);
        free(r.data);
    }

out:
    if (w_open)
        wsp_close(&w);
    node_stop(&c);
    node_stop(&b);
    node_stop(&a);
}

int main(void)
{
    arb_test_seed_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK ||
        (P = arb_chain_params_get("regtest")) == NULL || arb_test_tmpdir(tmp, sizeof tmp) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    arb_test_bin(bin, sizeof bin, "arbord");
    do
        arb_test_rand_bytes(sk, 32);
    while (!arb_schnorr_pubkey(S, pk, sk));
    if (!arb_address_encode(addr, P->hrp, pk))
        return 1;
    test_names_and_zonefiles();
    arb_test_rmtree(tmp);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    curl_global_cleanup();
    return arb_test_done();
}
