/* Zone files over the real peer network: nodes built from arbord's own
 * modules (HTTP server, chain module, zone-file store and routes, p2p node)
 * in this process, each with its own RocksDB directory and port on
 * 127.0.0.1, talking over websockets. Which zone-file hashes are on chain is
 * a test oracle shared by the nodes (the chain does not record names yet);
 * a "tip change" is the oracle changing and each node told so.
 *   - the HTTP routes: an upload whose hash is on chain is stored (200 and
 *     its hash), an unknown one is refused (404 zonefile-not-on-chain), an
 *     oversize one too (413 zonefile-too-large); GET serves the bytes;
 *   - a node that joins later gets every zone file its peer has; an upload
 *     on either node reaches the other;
 *   - an update (a new hash on chain) resolves on every node once uploaded
 *     to one, also on a third node that reached the others through one peer;
 *   - a raw websocket peer (tests/integration/p2p/wspeer.c): a zone file not
 *     on chain, one that does not match its hash, and an oversize one each
 *     get the peer disconnected and discouraged (counted); an honest raw
 *     peer's announcement is fetched with getdata and its answer stored and
 *     passed on; a getdata is answered with the file, or notfound;
 *   - stored zone files survive a restart. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/api/chainapi.h"
#include "ledger/api/http.h"
#include "ledger/api/zonefileapi.h"
#include "ledger/chain/chainstate.h"
#include "ledger/chain/params.h"
#include "ledger/names/zonefiles.h"
#include "ledger/store/store.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "p2p/msg.h"
#include "p2p/node.h"
#include "tests/integration/p2p/wspeer.h"
#include "tests/test.h"
#include "tests/testlib/http.h"

#define WAIT_MS 30000
#define NZ 24

#define TRY(cond)                                                                                  \
    do {                                                                                           \
        if (cond) {                                                                                \
            arb_test_passed++;                                                                     \
        } else {                                                                                   \
            arb_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                 \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------- the shared oracle */

static pthread_mutex_t omu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t onchain[64][32];
static size_t n_onchain;

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void chain_add(const uint8_t h[32])
{
    pthread_mutex_lock(&omu);
    memcpy(onchain[n_onchain++], h, 32);
    qsort(onchain, n_onchain, 32, cmp32);
    pthread_mutex_unlock(&omu);
}

static int o_onchain(void *ud, const uint8_t hash32[32])
{
    (void)ud;
    pthread_mutex_lock(&omu);
    int r = bsearch(hash32, onchain, n_onchain, 32, cmp32) != NULL;
    pthread_mutex_unlock(&omu);
    return r;
}

static arb_err o_each(void *ud, const uint8_t *after32,
                      int (*fn)(void *fn_ud, const uint8_t hash32[32]), void *fn_ud)
{
    uint8_t copy[64][32];
    size_t n;
    (void)ud;
    pthread_mutex_lock(&omu);
    n = n_onchain;
    memcpy(copy, onchain, n * 32);
    pthread_mutex_unlock(&omu);
    for (size_t i = 0; i < n; i++)
        if ((after32 == NULL || memcmp(copy[i], after32, 32) > 0) && fn(fn_ud, copy[i]))
            break;
    return ARB_OK;
}

/* ---------------------------------------------------------------- nodes */

typedef struct {
    char dir[1100];
    int port;
    arb_store *store;
    arb_http_server *http;
    arb_chainapi *chain;
    arb_zonefiles *z;
    arb_p2p *p2p;
} node;

static char tmp[1024];
static const arb_chain_params *P;

static void node_stop(node *n)
{
    if (n->http != NULL)
        arb_http_server_stop(n->http);
    arb_p2p_free(n->p2p);
    arb_zonefiles_free(n->z);
    arb_chainapi_stop(n->chain);
    arb_http_server_free(n->http);
    arb_store_close(n->store);
    n->p2p = NULL;
    n->z = NULL;
    n->chain = NULL;
    n->http = NULL;
    n->store = NULL;
}

/* Starts node n in tmp/name, dialling the given ports (n_conn of them). */
static int node_start(node *n, const char *name, const int *conn, size_t n_conn)
{
    const char *cfs[1 + ARB_CHAINSTATE_NCF + ARB_ZONEFILES_CF_COUNT];
    char addrs[4][32];
    const char *cp[4];
    arb_errbuf eb;
    arb_store_opts so;
    char db[1200];
    snprintf(n->dir, sizeof n->dir, "%s/%s", tmp, name);
    snprintf(db, sizeof db, "%s/db", n->dir);
    cfs[0] = "default";
    for (size_t i = 0; i < ARB_CHAINSTATE_NCF; i++)
        cfs[1 + i] = arb_chainstate_cf_names()[i];
    cfs[1 + ARB_CHAINSTATE_NCF] = arb_zonefiles_cf_names()[0];
    memset(&so, 0, sizeof so);
    so.block_cache_bytes = 8 << 20;
    if (n->port == 0)
        n->port = arb_test_free_port();
    arb_http_config hc = {"127.0.0.1", n->port, 4, 0, {NULL, NULL}};
    arb_zonefiles_oracle zo = {o_onchain, o_each, NULL};
    arb_p2p_config pc;
    memset(&pc, 0, sizeof pc);
    for (size_t i = 0; i < n_conn && i < 4; i++) {
        snprintf(addrs[i], sizeof addrs[i], "127.0.0.1:%d", conn[i]);
        cp[i] = addrs[i];
    }
    pc.connect = cp;
    pc.n_connect = n_conn;
    pc.no_outbound = 1;
    pc.listen_port = (uint16_t)n->port;
    pc.datadir = n->dir;
    arb_logger lg = {NULL, NULL};
    if (arb_store_open(&n->store, db, cfs, 1 + ARB_CHAINSTATE_NCF + 1, &so, &eb) != ARB_OK ||
        arb_http_server_new(&n->http, &hc) != ARB_OK ||
        arb_chainapi_start(&n->chain, n->http, n->store, 1, "regtest", 0, NULL, &lg, &eb) != ARB_OK ||
        arb_zonefiles_open(&n->z, n->store, 1 + ARB_CHAINSTATE_NCF, &zo, &eb) != ARB_OK ||
        arb_zonefileapi_add(n->http, n->z) != ARB_OK) {
        fprintf(stderr, "node %s: %s\n", name, eb.msg);
        node_stop(n);
        return -1;
    }
    pc.zonefiles = n->z;
    if (arb_p2p_new(&n->p2p, n->http, n->chain, &pc, &eb) != ARB_OK ||
        arb_http_server_start(n->http, &eb) != ARB_OK) {
        fprintf(stderr, "node %s: %s\n", name, eb.msg);
        node_stop(n);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- HTTP */

typedef arb_tl_body body;

/* How this test asks a node on port (tests/testlib/http.h): 30 s a request. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 30};
    return o;
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

/* 1 when the node serves exactly zf for h. */
static int serves(const node *n, const uint8_t h[32], const char *zf)
{
    char path[128], hex[65];
    body b;
    arb_hex_encode(hex, h, 32);
    snprintf(path, sizeof path, "/names/v1/zonefile/%s", hex);
    long st = arb_tl_http_raw(at(n->port), path, NULL, 0, &b);
    int ok = st == 200 && b.len == strlen(zf) && memcmp(b.data, zf, b.len) == 0;
    free(b.data);
    return ok;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until node n serves zone files first..last-1 (1), or times out (0). */
static int wait_all(const node *n, char zf[][160], uint8_t h[][32], int first, int last)
{
    for (int waited = 0; waited < WAIT_MS; waited += 100) {
        int all = 1;
        for (int i = first; i < last && all; i++)
            all = serves(n, h[i], zf[i]);
        if (all)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

static int upload(const node *n, const char *zf, const uint8_t h[32])
{
    char want[100], hex[65];
    body b;
    arb_hex_encode(hex, h, 32);
    snprintf(want, sizeof want, "{\"hash\":\"%s\"}", hex);
    long st = arb_tl_http_raw(at(n->port), "/names/v1/zonefile", zf, strlen(zf), &b);
    int ok = st == 200 && b.data != NULL && strcmp(b.data, want) == 0;
    free(b.data);
    return ok;
}

/* 1 when /p2p/v1/bans lists ip (the list is a snapshot refreshed twice a
 * second: waited for when `wait`). */
static int banned(const node *n, const char *ip, int wait)
{
    char want[64];
    snprintf(want, sizeof want, "\"address\":\"%s\"", ip);
    for (int waited = 0;; waited += 100) {
        body b;
        int r = arb_tl_http_raw(at(n->port), "/p2p/v1/bans", NULL, 0, &b) == 200 &&
                b.data != NULL && strstr(b.data, want) != NULL;
        free(b.data);
        if (r || !wait || waited >= WAIT_MS)
            return r;
        sleep_ms(100);
    }
}

/* ---------------------------------------------------------------- the scenario */

static char zf[NZ][160];
static uint8_t zh[NZ][32];

static void test_network(void)
{
    node a = {0}, b = {0}, c = {0};
    wspeer w = {0};
    body r = {0};
    int started_w = 0;
    arb_sha256 *sha = NULL;
    TRY(arb_sha256_new(&sha) == ARB_OK);
    for (int i = 0; i < NZ; i++) {
        snprintf(zf[i], sizeof zf[i],
                 "$ORIGIN name%d.id\n$TTL 3600\n_http._tcp IN URI 10 1 \"https://n%d.example/\"\n", i,
                 i);
        arb_sha256_digest(sha, zh[i], zf[i], strlen(zf[i]));
    }
    /* On chain: 0..19 (20 and 21 come with later updates; 22, 23 never). */
    for (int i = 0; i < 20; i++)
        chain_add(zh[i]);

    TRY(node_start(&a, "a", NULL, 0) == 0);
    /* The routes. */
    for (int i = 0; i < 10; i++)
        TRY(upload(&a, zf[i], zh[i]));
    TRY(upload(&a, zf[0], zh[0])); /* again: fine */
    TRY(arb_tl_http_raw(at(a.port), "/names/v1/zonefile", zf[22], strlen(zf[22]), &r) == 404);
    TRY(r.data != NULL && strcmp(r.data, "{\"error\":\"zonefile-not-on-chain\"}") == 0);
    free(r.data);
    r.data = NULL;
    {
        static char big[70000];
        memset(big, 'z', sizeof big);
        TRY(arb_tl_http_raw(at(a.port), "/names/v1/zonefile", big, ARB_NAMES_ZONEFILE_MAX + 1,
                            &r) == 413);
        TRY(r.data != NULL && strcmp(r.data, "{\"error\":\"zonefile-too-large\"}") == 0);
        free(r.data);
        r.data = NULL;
        /* not even read */
        TRY(arb_tl_http_raw(at(a.port), "/names/v1/zonefile", big, sizeof big, &r) == 413);
        free(r.data);
        r.data = NULL;
    }
    TRY(serves(&a, zh[3], zf[3]));
    TRY(!serves(&a, zh[12], zf[12]));
    {
        char hex[65], path[128];
        arb_hex_encode(hex, zh[12], 32);
        snprintf(path, sizeof path, "/names/v1/zonefile/%s", hex);
        TRY(arb_tl_http_raw(at(a.port), path, NULL, 0, &r) == 404);
        free(r.data);
        r.data = NULL;
        TRY(arb_tl_http_raw(at(a.port), "/names/v1/zonefile/xyz", NULL, 0, &r) == 400);
        free(r.data);
        r.data = NULL;
    }

    /* B joins later and gets every zone file A has. */
    TRY(node_start(&b, "b", &a.port, 1) == 0);
    TRY(wait_all(&b, zf, zh, 0, 10));
    /* Uploads on B reach A. */
    for (int i = 10; i < 20; i++)
        TRY(upload(&b, zf[i], zh[i]));
    TRY(wait_all(&a, zf, zh, 10, 20));

    /* C joins later still, through B only: all twenty. */
    TRY(node_start(&c, "c", &b.port, 1) == 0);
    TRY(wait_all(&c, zf, zh, 0, 20));

    /* An update puts zone file 20 on chain; uploaded to A it resolves on
     * every node (C hears of it through B). */
    chain_add(zh[20]);
    arb_zonefiles_tip_changed(a.z);
    arb_zonefiles_tip_changed(b.z);
    arb_zonefiles_tip_changed(c.z);
    TRY(upload(&a, zf[20], zh[20]));
    TRY(wait_all(&b, zf, zh, 20, 21));
    TRY(wait_all(&c, zf, zh, 20, 21));

    /* Hostile raw peers against A, each from its own address. */
    {
        static const struct {
            const char *ip;
            const char *metric;
            int kind;
        } bad[] = {{"127.0.0.5", "p2p_misbehaviour_zonefile_not_on_chain", 0},
                   {"127.0.0.6", "p2p_misbehaviour_zonefile_mismatch", 1},
                   {"127.0.0.7", "p2p_misbehaviour_zonefile_oversize", 2}};
        chain_add(zh[21]); /* on chain, stored nowhere yet */
        arb_zonefiles_tip_changed(a.z);
        arb_zonefiles_tip_changed(b.z);
        arb_zonefiles_tip_changed(c.z);
        for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
            arb_buf m = ARB_BUF_INIT;
            unsigned long long before = metric(a.port, bad[k].metric);
            TRY(wsp_connect(&w, P, bad[k].ip, a.port) == 0);
            started_w = 1;
            TRY(wsp_handshake(&w, 900 + k) == 0);
            if (bad[k].kind == 0) { /* unknown: its hash is on no chain */
                arb_p2p_zonefile_write(&m, zh[22], (const uint8_t *)zf[22], strlen(zf[22]));
            } else if (bad[k].kind == 1) { /* an on-chain hash, other bytes */
                arb_p2p_zonefile_write(&m, zh[21], (const uint8_t *)zf[23], strlen(zf[23]));
            } else { /* 40,961 bytes */
                static uint8_t big[ARB_NAMES_ZONEFILE_MAX + 1];
                arb_p2p_zonefile_write(&m, zh[21], big, sizeof big);
            }
            TRY(!m.oom);
            TRY(wsp_send_msg(&w, ARB_P2P_ZONEFILE, m.data, m.len) == 0);
            arb_buf_free(&m);
            TRY(wsp_wait_closed(&w, WAIT_MS) == 1);
            wsp_close(&w);
            started_w = 0;
            TRY(metric(a.port, bad[k].metric) == before + 1);
            TRY(banned(&a, bad[k].ip, 1));
            /* Discouraged: a new connection from there is refused. */
            if (wsp_connect(&w, P, bad[k].ip, a.port) == 0) {
                started_w = 1;
                TRY(wsp_handshake(&w, 950 + k) != 0);
                wsp_close(&w);
                started_w = 0;
            }
        }
        TRY(!serves(&a, zh[21], zf[21]));
        TRY(!serves(&a, zh[21], zf[23]));
    }

    /* An honest raw peer: it announces zone file 21, A asks for it, the
     * answer is stored and passed on to B and C. A getdata of ours is
     * answered with the file; one of an unknown hash with notfound. */
    {
        arb_p2p_inv inv;
        arb_buf m = ARB_BUF_INIT;
        uint8_t *pl = NULL;
        size_t plen = 0;
        int asked = 0;
        TRY(wsp_connect(&w, P, "127.0.0.8", a.port) == 0);
        started_w = 1;
        TRY(wsp_handshake(&w, 808) == 0);
        inv.type = ARB_INV_ZONEFILE;
        memcpy(inv.hash.b, zh[21], 32);
        arb_p2p_inv_write(&m, &inv, 1);
        TRY(wsp_send_msg(&w, ARB_P2P_INV, m.data, m.len) == 0);
        arb_buf_reset(&m);
        for (int tries = 0; tries < 50 && !asked; tries++) {
            arb_p2p_inv *v = NULL;
            size_t k = 0;
            free(pl);
            pl = NULL;
            if (wsp_expect(&w, ARB_P2P_GETDATA, &pl, &plen, WAIT_MS) != 1)
                break;
            if (arb_p2p_inv_read(&v, &k, pl, plen) == ARB_OK)
                for (size_t i = 0; i < k; i++)
                    asked |= v[i].type == ARB_INV_ZONEFILE && memcmp(v[i].hash.b, zh[21], 32) == 0;
            free(v);
        }
        free(pl);
        pl = NULL;
        TRY(asked);
        arb_p2p_zonefile_write(&m, zh[21], (const uint8_t *)zf[21], strlen(zf[21]));
        TRY(wsp_send_msg(&w, ARB_P2P_ZONEFILE, m.data, m.len) == 0);
        arb_buf_reset(&m);
        TRY(wait_all(&a, zf, zh, 21, 22));
        TRY(wait_all(&b, zf, zh, 21, 22));
        TRY(wait_all(&c, zf, zh, 21, 22));
        sleep_ms(1100); /* two snapshots later */
        TRY(!banned(&a, "127.0.0.8", 0));

        inv.type = ARB_INV_ZONEFILE;
        memcpy(inv.hash.b, zh[5], 32);
        arb_p2p_inv_write(&m, &inv, 1);
        TRY(wsp_send_msg(&w, ARB_P2P_GETDATA, m.data, m.len) == 0);
        arb_buf_reset(&m);
        TRY(wsp_expect(&w, ARB_P2P_ZONEFILE, &pl, &plen, WAIT_MS) == 1);
        {
            uint8_t hh[32];
            const uint8_t *v;
            size_t n;
            int over;
            TRY(arb_p2p_zonefile_read(hh, &v, &n, &over, pl, plen) == ARB_OK);
            TRY(memcmp(hh, zh[5], 32) == 0 && n == strlen(zf[5]) && memcmp(v, zf[5], n) == 0);
        }
        free(pl);
        pl = NULL;
        memcpy(inv.hash.b, zh[23], 32);
        arb_p2p_inv_write(&m, &inv, 1);
        TRY(wsp_send_msg(&w, ARB_P2P_GETDATA, m.data, m.len) == 0);
        arb_buf_free(&m);
        TRY(wsp_expect(&w, ARB_P2P_NOTFOUND, &pl, &plen, WAIT_MS) == 1);
        free(pl);
        wsp_close(&w);
        started_w = 0;
    }
    TRY(metric(a.port, "p2p_zonefile_received") >= 1);
    TRY(metric(c.port, "p2p_zonefile_received") >= 22);

    /* Durable: B restarted without peers still serves every file. */
    node_stop(&b);
    TRY(node_start(&b, "b", NULL, 0) == 0);
    TRY(wait_all(&b, zf, zh, 0, 22));

out:
    if (started_w)
        wsp_close(&w);
    free(r.data);
    node_stop(&c);
    node_stop(&b);
    node_stop(&a);
    arb_sha256_free(sha);
}

int main(void)
{
    arb_test_seed_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    P = arb_chain_params_get("regtest");
    if (arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    test_network();
    arb_test_rmtree(tmp);
    curl_global_cleanup();
    return arb_test_done();
}
