/* The peer network with real arbord processes on 127.0.0.1 (regtest):
 *   line_and_ring  five nodes in a line, then a ring: blocks mined on either
 *                  end reach every node, a transaction submitted in the middle
 *                  reaches every mempool and is mined.
 *   partition_heal four nodes split in two halves (admin disconnect), each
 *                  half mines its own branch with its own transaction, then
 *                  heal: one branch (the heavier), one UTXO set everywhere,
 *                  and the lighter branch's transaction back in every mempool.
 *   catch_up       a fresh node joins (its first peer a test peer that
 *                  announces the chain and never sends a block), catches up
 *                  from two honest nodes (the staller is dropped), is killed
 *                  with SIGKILL during the sync, restarts and finishes with the
 *                  same UTXO set digest as the others.
 *   hostile        a test peer speaking the protocol (wspeer.c): garbage,
 *                  a message before version, a wrong network, a handshake
 *                  timeout, an oversize frame, headers with bad proof of work,
 *                  headers that do not link, eleven unconnecting announcements,
 *                  an inv flood, an invalid block, an invalid transaction, an
 *                  unsolicited side-branch block, low-work headers, 200 peers
 *                  that connect, handshake and drop; and a node connecting
 *                  to itself. Each ends as designed; the node's chain is
 *                  unchanged and it still syncs with an honest node. Admin
 *                  calls without the cookie's token in an "Authorization:
 *                  Bearer" header get 401 and change nothing.
 *   compact_relay  a block whose transactions the receiver has crosses as a
 *                  compact block: the sender sends under a tenth of its size;
 *                  then an orphan waits for its parent, and a rejected
 *                  transaction's inv is not followed by a getdata.
 *   eviction       with the inbound slots full a newcomer is taken and one
 *                  unprotected inbound peer evicted.
 * argv[2] "more" runs the other scenarios instead (test_p2p_more):
 *   flow_control   a peer that sends 4 MB while the node sends it 4 MB, neither
 *                  reading first: both finish; a peer that never reads is
 *                  paused (its writes stall, the node's memory stays bounded)
 *                  and dropped after the idle time.
 *   sync_peer      a fresh node asks one peer for headers; a second peer is
 *                  asked only after the first is dropped for not answering.
 *   compact_negotiation  sendcmpct; compact blocks only to a peer that asked;
 *                  getblocktxn / blocktxn; wrong transactions: the whole block.
 *   bans_persist   an operator's ban survives SIGKILL and a restart, a
 *                  discouragement does not, an unban persists.
 *   connection_types  a block-relay-only peer gets blocks but no tx inv; a
 *                  feeler moves an address to tried.
 * argv[1] (optional): the catch-up chain length (default 300); argv[2]
 * "catch-up": run only that scenario. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/mine.h"
#include "p2p/msg.h"
#include "tests/integration/p2p/wspeer.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"

#define WAIT_MS 60000

/* A check that jumps to `out` (where the nodes are stopped) on failure. */
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
static uint32_t catchup_len = 300;

typedef struct {
    arb_proc *p;
    int port;
    char dir[1200];
} node;

/* ---------------------------------------------------------------- HTTP */

/* Nodes listening elsewhere than 127.0.0.1 (the address book's scenario). */
static struct {
    int port;
    char host[32];
} hosts[16];
static size_t n_hosts;

static const char *host_of(int port)
{
    for (size_t i = 0; i < n_hosts; i++)
        if (hosts[i].port == port)
            return hosts[i].host;
    return "127.0.0.1";
}

/* How this test asks the node on port (tests/testlib/http.h): at its
 * address, 30 s a request, with an optional extra header line (e.g.
 * "Authorization: Bearer T"). */
static arb_tl_http_opts at(int port, const char *header)
{
    arb_tl_http_opts o = {.port = port, .header = header, .timeout_s = 30, .host = host_of(port)};
    return o;
}

/* The tip's display hash (65 bytes) and height; 0 if the node does not answer. */
static int tip_of(int port, char hash[65], uint32_t *height)
{
    json_t *j;
    int ok = 0;
    if (arb_tl_http_json(at(port, NULL), "/chain/v1/tip", NULL, &j) == 200 && j != NULL) {
        const char *h = json_string_value(json_object_get(j, "hash"));
        if (h != NULL && strlen(h) == 64) {
            memcpy(hash, h, 65);
            if (height)
                *height = (uint32_t)json_integer_value(json_object_get(j, "height"));
            ok = 1;
        }
    }
    json_decref(j);
    return ok;
}

static int digest_of(int port, char out[65])
{
    json_t *j;
    int ok = 0;
    if (arb_tl_http_json(at(port, NULL), "/chain/v1/utxo-digest", NULL, &j) == 200 && j != NULL) {
        const char *d = json_string_value(json_object_get(j, "utxo_digest"));
        if (d != NULL && strlen(d) == 64) {
            memcpy(out, d, 65);
            ok = 1;
        }
    }
    json_decref(j);
    return ok;
}

static int in_mempool(int port, const char *txid)
{
    json_t *j;
    int found = 0;
    if (arb_tl_http_json(at(port, NULL), "/chain/v1/mempool", NULL, &j) == 200 && j != NULL) {
        json_t *ids = json_object_get(j, "txids");
        for (size_t i = 0; i < json_array_size(ids); i++)
            if (strcmp(json_string_value(json_array_get(ids, i)), txid) == 0)
                found = 1;
    }
    json_decref(j);
    return found;
}

/* A counter from /metrics (0 if absent). */
/* A counter's value: every name read here is a counter, exposed with "_total". */
static unsigned long long metric(int port, const char *name)
{
    char want[160];
    int gauge = strncmp(name, "p2p_addrman_size", 16) == 0 ||
                strncmp(name, "p2p_addrman_tried", 17) == 0 ||
                strcmp(name, "p2p_recv_queued_bytes") == 0;
    snprintf(want, sizeof want, gauge ? "arbor_%s" : "arbor_%s_total", name);
    long long v;
    arb_tl_metric(at(port, NULL), want, &v);
    return (unsigned long long)v;
}

static int n_peers(int port, int handshaked_only)
{
    json_t *j;
    int c = -1;
    if (arb_tl_http_json(at(port, NULL), "/p2p/v1/peers", NULL, &j) == 200 && j != NULL) {
        json_t *arr = json_object_get(j, "peers");
        c = 0;
        for (size_t i = 0; i < json_array_size(arr); i++)
            if (!handshaked_only ||
                json_is_true(json_object_get(json_array_get(arr, i), "handshaked")))
                c++;
    }
    json_decref(j);
    return c;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls until every node's tip is `hash`: 1, or 0 after WAIT_MS. */
static int wait_tips(node *nodes, size_t n, const char *hash)
{
    for (int t = 0; t < WAIT_MS / 100; t++) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) {
            char h[65];
            if (tip_of(nodes[i].port, h, NULL) && strcmp(h, hash) == 0)
                ok++;
        }
        if (ok == n)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

static int wait_mempools(node *nodes, size_t n, const char *txid)
{
    for (int t = 0; t < WAIT_MS / 100; t++) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += (size_t)in_mempool(nodes[i].port, txid);
        if (ok == n)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* The admin token from the node's cookie file (65 bytes), 1 if read. */
static int read_token(const node *nd, char tok[65])
{
    char path[1300];
    size_t n;
    snprintf(path, sizeof path, "%s/.cookie", nd->dir);
    uint8_t *d = arb_test_read_file(path, &n);
    int ok = d != NULL && n == 65 && d[64] == '\n';
    if (ok) {
        memcpy(tok, d, 64);
        tok[64] = '\0';
    }
    free(d);
    return ok;
}

/* POST /p2p/v1/<cmd> {"address": addr} with "Authorization: Bearer tok";
 * tok NULL: no Authorization header. */
static long admin(int port, const char *cmd, const char *tok, const char *addr)
{
    char path[64], body[256], auth[128], *resp = NULL;
    snprintf(path, sizeof path, "/p2p/v1/%s", cmd);
    snprintf(body, sizeof body, "{\"address\":\"%s\"}", addr);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok ? tok : "");
    long st = arb_tl_http(at(port, tok ? auth : NULL), path, body, &resp);
    free(resp);
    return st;
}

/* The same with a given header line (NULL: none) and body; 401 answers must
 * carry "WWW-Authenticate: Bearer" (else this returns -1). */
static long admin_as(int port, const char *cmd, const char *header, const char *body)
{
    char path[64], *resp = NULL, *hdrs = NULL;
    snprintf(path, sizeof path, "/p2p/v1/%s", cmd);
    long st = arb_tl_http_headers(at(port, header), path, body, &resp, &hdrs);
    if (st == 401 && (hdrs == NULL || strstr(hdrs, "\r\nWWW-Authenticate: Bearer") == NULL))
        st = -1;
    free(resp);
    free(hdrs);
    return st;
}

/* ---------------------------------------------------------------- nodes */

/* Starts a node (its data directory under tmp) on host:port, connecting to
 * the given "HOST:PORT" peers; extra: more arguments (NULL-terminated) or
 * NULL. */
static int node_start_at(node *nd, const char *name, const char *host, int port,
                         const char *const *conns, size_t np, const char *const *extra)
{
    const char *argv[64];
    char listen[64];
    size_t a = 0;
    snprintf(nd->dir, sizeof nd->dir, "%s/%s", tmp, name);
    snprintf(listen, sizeof listen, "%s:%d", host, port);
    if (strcmp(host, "127.0.0.1") != 0 && n_hosts < 16 && strcmp(host_of(port), host) != 0) {
        hosts[n_hosts].port = port;
        snprintf(hosts[n_hosts].host, sizeof hosts[n_hosts].host, "%s", host);
        n_hosts++;
    }
    argv[a++] = bin;
    argv[a++] = "--datadir";
    argv[a++] = nd->dir;
    argv[a++] = "--listen";
    argv[a++] = listen;
    argv[a++] = "--json";
    argv[a++] = "--network";
    argv[a++] = "regtest";
    argv[a++] = "--p2p-tx-delay-ms";
    argv[a++] = "50";
    for (size_t i = 0; i < np && i < 16; i++) {
        argv[a++] = "--connect";
        argv[a++] = conns[i];
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && a < 62; i++)
        argv[a++] = extra[i];
    argv[a] = NULL;
    if (arb_proc_spawn(&nd->p, argv) != 0)
        return 0;
    nd->port = arb_proc_wait_port(nd->p, WAIT_MS);
    if (nd->port != port) {
        char *err = arb_proc_output(nd->p, ARB_PROC_STDERR);
        fprintf(stderr, "node %s did not start on %d:\n%s\n", name, port, err ? err : "");
        free(err);
        return 0;
    }
    return 1;
}

/* The scenarios before the address book's own keep to the peers they are
 * given: no automatic outbound connections. */
static int node_start(node *nd, const char *name, int port, const int *peers, size_t np,
                      const char *const *extra)
{
    char conn[16][64];
    const char *conns[16], *ex[40];
    size_t e = 0;
    for (size_t i = 0; i < np && i < 16; i++) {
        snprintf(conn[i], sizeof conn[i], "127.0.0.1:%d", peers[i]);
        conns[i] = conn[i];
    }
    ex[e++] = "--p2p-no-outbound";
    ex[e++] = "1";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && e < 38; i++)
        ex[e++] = extra[i];
    ex[e] = NULL;
    return node_start_at(nd, name, "127.0.0.1", port, conns, np < 16 ? np : 16, ex);
}

static void node_stop(node *nd)
{
    if (nd->p == NULL)
        return;
    if (arb_test_failed > 0 && getenv("ARB_TEST_VERBOSE") != NULL) {
        char *err = arb_proc_output(nd->p, ARB_PROC_STDERR);
        fprintf(stderr, "---- node on %d:\n%s\n", nd->port, err ? err : "");
        free(err);
    }
    arb_proc_kill(nd->p, SIGTERM);
    int st = arb_proc_wait(nd->p, WAIT_MS);
    if (st != 0) {
        char *err = arb_proc_output(nd->p, ARB_PROC_STDERR);
        fprintf(stderr, "node on %d exited with %d:\n%s\n", nd->port, st, err ? err : "");
        free(err);
    }
    arb_proc_free(nd->p);
    nd->p = NULL;
    CHECK_EQ(st, 0);
}

/* ---------------------------------------------------------------- mining and spending */

typedef struct {
    uint8_t sk[32], pk[32];
    char addr[ARB_ADDR_MAX];
} key;

static void key_new(key *k)
{
    do
        arb_test_rand_bytes(k->sk, 32);
    while (!arb_schnorr_pubkey(S, k->pk, k->sk));
    if (!arb_address_encode(k->addr, P->hrp, k->pk))
        abort();
}

static long submit_block(int port, const arb_block *b)
{
    arb_buf buf = ARB_BUF_INIT;
    json_t *r = NULL;
    arb_block_write(&buf, b);
    long st = arb_tl_post_hex(at(port, NULL), "/chain/v1/block", buf.data, buf.len, &r);
    arb_buf_free(&buf);
    json_decref(r);
    return st;
}

/* Mines one block on the node's template to k; *blk (if not NULL) gets it.
 * Returns 1 on success. */
static int mine(int port, const key *k, arb_block *blk, char hash_hex[65])
{
    char path[256];
    json_t *t;
    uint8_t *raw;
    size_t len;
    arb_block b;
    arb_errbuf eb;
    int ok = 0;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", k->addr);
    if (arb_tl_http_json(at(port, NULL), path, NULL, &t) != 200 || t == NULL)
        return 0;
    const char *hex = json_string_value(json_object_get(t, "hex"));
    arb_block_init(&b);
    if (hex != NULL && arb_hex_decode_alloc(&raw, &len, hex) == ARB_OK) {
        if (arb_block_decode(&b, raw, len, &eb) == ARB_OK &&
            arb_chain_mine_header(&b.header, 0, 1ULL << 32) && submit_block(port, &b) == 200)
            ok = 1;
        free(raw);
    }
    json_decref(t);
    if (ok && hash_hex != NULL) {
        arb_hash h;
        arb_header_hash(H, &h, &b.header);
        arb_chain_hash_hex(hash_hex, &h);
    }
    if (blk != NULL && ok)
        *blk = b;
    else
        arb_block_clear(&b);
    return ok;
}

/* A mined block's coinbase output, to spend after maturity. */
typedef struct {
    arb_outpoint op;
    uint64_t amount;
} coin;

static int coin_of(const arb_block *b, coin *c)
{
    if (arb_tx_txid(H, &c->op.txid, &b->tx[0]) != ARB_OK)
        return 0;
    c->op.index = 0;
    c->amount = b->tx[0].out[0].amount;
    return 1;
}

/* Spends c (locked to k): 10,000 units to `to`, the rest less a fee of 1000
 * back to k (*change, if not NULL, gets that output). Posts it to port;
 * txid_hex gets its id. Returns the HTTP status. */
/* The payment spend() posts, serialized into out (appended); fee is the
 * fee in units (1000 in spend()). */
static void build_spend(arb_buf *out, const coin *c, const key *k, const key *to, uint64_t fee,
                        char txid_hex[65], coin *change)
{
    arb_tx tx;
    arb_txout spent = {c->amount, {0}};
    arb_hash id;
    memcpy(spent.key, k->pk, 32);
    arb_tx_init(&tx);
    if (arb_tx_alloc(&tx, 1, 2) != ARB_OK)
        abort();
    tx.version = 1;
    tx.in[0] = c->op;
    tx.out[0].amount = 10000;
    tx.out[1].amount = c->amount - 10000 - fee;
    memcpy(tx.out[0].key, to->pk, 32);
    memcpy(tx.out[1].key, k->pk, 32);
    if (arb_chain_sign_input(P, H, S, &tx, 0, &spent, k->sk, NULL) != ARB_OK ||
        arb_tx_txid(H, &id, &tx) != ARB_OK)
        abort();
    arb_chain_hash_hex(txid_hex, &id);
    if (change != NULL) {
        change->op.txid = id;
        change->op.index = 1;
        change->amount = tx.out[1].amount;
    }
    arb_tx_write(out, &tx, 1);
    arb_tx_clear(&tx);
}

/* As build_spend with a payload (type, bytes) and one output back to k. */
static void build_payload_spend(arb_buf *out, const coin *c, const key *k, uint64_t fee,
                                uint8_t type, const uint8_t *pl, size_t plen)
{
    arb_tx tx;
    arb_txout spent = {c->amount, {0}};
    memcpy(spent.key, k->pk, 32);
    arb_tx_init(&tx);
    if (arb_tx_alloc(&tx, 1, 1) != ARB_OK || (tx.payload = malloc(plen)) == NULL)
        abort();
    tx.version = 1;
    tx.in[0] = c->op;
    tx.out[0].amount = c->amount - fee;
    memcpy(tx.out[0].key, k->pk, 32);
    tx.payload_type = type;
    memcpy(tx.payload, pl, plen);
    tx.payload_len = plen;
    if (arb_chain_sign_input(P, H, S, &tx, 0, &spent, k->sk, NULL) != ARB_OK)
        abort();
    arb_tx_write(out, &tx, 1);
    arb_tx_clear(&tx);
}

static long spend(int port, const coin *c, const key *k, const key *to, char txid_hex[65],
                  coin *change)
{
    arb_tx tx;
    arb_txout spent = {c->amount, {0}};
    arb_buf buf = ARB_BUF_INIT;
    json_t *r = NULL;
    arb_hash id;
    memcpy(spent.key, k->pk, 32);
    arb_tx_init(&tx);
    if (arb_tx_alloc(&tx, 1, 2) != ARB_OK)
        abort();
    tx.version = 1;
    tx.in[0] = c->op;
    tx.out[0].amount = 10000;
    tx.out[1].amount = c->amount - 11000;
    memcpy(tx.out[0].key, to->pk, 32);
    memcpy(tx.out[1].key, k->pk, 32);
    if (arb_chain_sign_input(P, H, S, &tx, 0, &spent, k->sk, NULL) != ARB_OK ||
        arb_tx_txid(H, &id, &tx) != ARB_OK)
        abort();
    arb_chain_hash_hex(txid_hex, &id);
    if (change != NULL) {
        change->op.txid = id;
        change->op.index = 1;
        change->amount = tx.out[1].amount;
    }
    arb_tx_write(&buf, &tx, 1);
    long st = arb_tl_post_hex(at(port, NULL), "/chain/v1/tx", buf.data, buf.len, &r);
    arb_buf_free(&buf);
    arb_tx_clear(&tx);
    json_decref(r);
    return st;
}

/* ---------------------------------------------------------------- five nodes */

static void line_and_ring(void)
{
    node nd[5];
    int ports[5];
    key k, to;
    char hash[65], txid[65];
    arb_block first;
    coin c;
    memset(nd, 0, sizeof nd);
    key_new(&k);
    key_new(&to);
    for (int i = 0; i < 5; i++)
        ports[i] = arb_test_free_port();
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "line%d", i);
        TRY(node_start(&nd[i], name, ports[i], i ? &ports[i - 1] : NULL, i ? 1 : 0, NULL));
    }
    /* Every link is up before the first block (announcements are not queued
     * for peers that are still connecting). */
    for (int t = 0; t < WAIT_MS / 100; t++) {
        int ok = 1;
        for (int i = 0; i < 5; i++)
            ok &= n_peers(ports[i], 1) == (i == 0 || i == 4 ? 1 : 2);
        if (ok)
            break;
        sleep_ms(100);
    }
    /* A block mined at one end reaches the other, and back. */
    arb_block_init(&first);
    TRY(mine(ports[0], &k, &first, hash));
    TRY(coin_of(&first, &c));
    arb_block_clear(&first);
    TRY(wait_tips(nd, 5, hash));
    TRY(mine(ports[4], &k, NULL, hash) && wait_tips(nd, 5, hash));
    /* Mature the first coinbase with blocks from node 0, then spend it on
     * node 2: every mempool gets it, and a block mined on node 3 takes it. */
    for (uint32_t i = 0; i < P->coinbase_maturity; i++)
        TRY(mine(ports[0], &k, NULL, hash));
    TRY(wait_tips(nd, 5, hash));
    TRY(spend(ports[2], &c, &k, &to, txid, NULL) == 200);
    TRY(wait_mempools(nd, 5, txid));
    TRY(mine(ports[3], &k, NULL, hash) && wait_tips(nd, 5, hash));
    for (int i = 0; i < 5; i++)
        TRY(!in_mempool(ports[i], txid));
    /* Close the ring: node 0 dials node 4 (the admin API, with the token). */
    {
        char tok[65], a4[32];
        snprintf(a4, sizeof a4, "127.0.0.1:%d", ports[4]);
        TRY(read_token(&nd[0], tok));
        TRY(admin(ports[0], "connect", tok, a4) == 200);
    }
    for (int t = 0; t < WAIT_MS / 100 && n_peers(ports[0], 1) < 2; t++)
        sleep_ms(100);
    TRY(n_peers(ports[0], 1) == 2);
    TRY(mine(ports[2], &k, NULL, hash) && wait_tips(nd, 5, hash));
    {
        char d0[65], di[65];
        TRY(digest_of(ports[0], d0));
        for (int i = 1; i < 5; i++) {
            TRY(digest_of(ports[i], di));
            TRY(strcmp(di, d0) == 0);
        }
    }
out:
    for (int i = 0; i < 5; i++)
        node_stop(&nd[i]);
}

/* ---------------------------------------------------------------- partition and heal */

static int wait_peers(int port, int want)
{
    for (int t = 0; t < WAIT_MS / 100; t++) {
        if (n_peers(port, 1) == want)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* A <- B ~ C <- D, where B dials C through the admin API. B drops C (admin
 * disconnect): each half mines its own branch with its own transaction; B
 * dials C again: everyone ends on the heavier branch with one UTXO set, and
 * the lighter branch's transaction is back in every mempool. */
static void partition_heal(void)
{
    node nd[4];
    int ports[4];
    key k, to;
    char hash[65], tok[65], addr_c[32], tx1[65], tx2[65], win[65], d0[65], di[65];
    coin c1, c2;
    memset(nd, 0, sizeof nd);
    key_new(&k);
    key_new(&to);
    for (int i = 0; i < 4; i++)
        ports[i] = arb_test_free_port();
    TRY(node_start(&nd[0], "pa", ports[0], NULL, 0, NULL));
    TRY(node_start(&nd[1], "pb", ports[1], &ports[0], 1, NULL));
    TRY(node_start(&nd[2], "pc", ports[2], NULL, 0, NULL));
    TRY(node_start(&nd[3], "pd", ports[3], &ports[2], 1, NULL));
    snprintf(addr_c, sizeof addr_c, "127.0.0.1:%d", ports[2]);
    TRY(read_token(&nd[1], tok));
    TRY(admin(ports[1], "connect", tok, addr_c) == 200);
    TRY(wait_peers(ports[1], 2) && wait_peers(ports[2], 2));
    /* Two coins to spend, one per side. */
    {
        arb_block b1, b2;
        TRY(mine(ports[0], &k, &b1, hash));
        TRY(coin_of(&b1, &c1));
        arb_block_clear(&b1);
        TRY(mine(ports[0], &k, &b2, hash));
        TRY(coin_of(&b2, &c2));
        arb_block_clear(&b2);
    }
    for (uint32_t i = 0; i < P->coinbase_maturity; i++)
        TRY(mine(ports[0], &k, NULL, hash));
    TRY(wait_tips(nd, 4, hash));
    /* Split. */
    TRY(admin(ports[1], "disconnect", tok, addr_c) == 200);
    TRY(wait_peers(ports[1], 1) && wait_peers(ports[2], 1));
    TRY(spend(ports[0], &c1, &k, &to, tx1, NULL) == 200);
    TRY(wait_mempools(nd, 2, tx1));
    TRY(mine(ports[1], &k, NULL, hash) && mine(ports[1], &k, NULL, hash));
    TRY(wait_tips(nd, 2, hash));
    TRY(spend(ports[3], &c2, &k, &to, tx2, NULL) == 200);
    TRY(wait_mempools(nd + 2, 2, tx2));
    for (int i = 0; i < 4; i++)
        TRY(mine(ports[2], &k, NULL, win));
    TRY(wait_tips(nd + 2, 2, win));
    TRY(!in_mempool(ports[2], tx1) && !in_mempool(ports[0], tx2));
    /* Heal. */
    TRY(admin(ports[1], "connect", tok, addr_c) == 200);
    TRY(wait_tips(nd, 4, win));
    TRY(wait_mempools(nd, 4, tx1));
    TRY(digest_of(ports[0], d0));
    for (int i = 1; i < 4; i++) {
        TRY(digest_of(ports[i], di));
        TRY(strcmp(di, d0) == 0);
    }
out:
    for (int i = 0; i < 4; i++)
        node_stop(&nd[i]);
}

/* ---------------------------------------------------------------- catch-up */

/* All active-chain headers of the node, 1..tip (malloc'd). */
static arb_block_header *fetch_headers(int port, size_t *n)
{
    arb_block_header *v = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        char path[128];
        json_t *j;
        snprintf(path, sizeof path, "/chain/v1/headers?start=%zu&count=2000", *n + 1);
        if (arb_tl_http_json(at(port, NULL), path, NULL, &j) != 200 || j == NULL)
            break;
        json_t *arr = json_object_get(j, "headers");
        size_t k = json_array_size(arr);
        for (size_t i = 0; i < k; i++) {
            uint8_t raw[80];
            const char *hex = json_string_value(json_array_get(arr, i));
            if (*n == cap) {
                cap = cap ? 2 * cap : 1024;
                v = realloc(v, cap * sizeof *v);
            }
            if (hex == NULL || strlen(hex) != 160 || !arb_hex_decode(raw, 80, hex, 160))
                break;
            arb_header_decode(&v[(*n)++], raw);
        }
        json_decref(j);
        if (k < 2000)
            break;
    }
    return v;
}

/* A peer that has the chain `h` (n headers after genesis): answers
 * getheaders from it until the node asks for a block, which it never sends.
 * Returns 1 once a getdata came. */
static int serve_headers_until_getdata(wspeer *w, const arb_block_header *h, size_t n)
{
    for (;;) {
        uint8_t *m, type;
        size_t len, plen, k;
        const uint8_t *pl;
        const char *reason;
        if (wsp_recv(w, &m, &len, WAIT_MS) != 1)
            return 0;
        if (arb_p2p_frame_decode(m, len, P->magic, &type, &pl, &plen, &reason) != ARB_OK) {
            free(m);
            return 0;
        }
        if (type == ARB_P2P_GETDATA) {
            free(m);
            return 1;
        }
        if (type == ARB_P2P_PING)
            (void)wsp_send_msg(w, ARB_P2P_PONG, pl, plen);
        if (type == ARB_P2P_GETHEADERS) {
            arb_hash loc[ARB_P2P_MAX_LOCATOR], stop;
            size_t start = 0;
            if (arb_p2p_getheaders_read(loc, &k, &stop, pl, plen) == ARB_OK) {
                /* the first locator hash we have decides where to go on */
                for (size_t i = 0; i < k && start == 0; i++)
                    for (size_t j = n; j-- > 0;) {
                        arb_hash hh;
                        arb_header_hash(H, &hh, &h[j]);
                        if (arb_hash_eq(&hh, &loc[i])) {
                            start = j + 1;
                            break;
                        }
                    }
            }
            size_t cnt = n - start < ARB_P2P_MAX_HEADERS ? n - start : ARB_P2P_MAX_HEADERS;
            arb_buf b = ARB_BUF_INIT;
            arb_p2p_headers_write(&b, h + start, cnt);
            (void)wsp_send_msg(w, ARB_P2P_HEADERS, b.data, b.len);
            arb_buf_free(&b);
        }
        free(m);
    }
}

static void catch_up(void)
{
    node a, b, d;
    int pa = arb_test_free_port(), pb = arb_test_free_port(), pd = arb_test_free_port();
    int peers[2];
    key k, to;
    coin *coins = calloc(catchup_len + 1, sizeof *coins);
    char hash[65], da[65], dbb[65], dd[65];
    arb_block_header *hdrs = NULL;
    size_t nh = 0;
    uint32_t height = 0;
    wspeer s;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&d, 0, sizeof d);
    memset(&s, 0, sizeof s);
    s.fd = -1;
    key_new(&k);
    key_new(&to);
    TRY(coins != NULL);
    /* A chain with a transaction in every block once coinbases mature. */
    TRY(node_start(&a, "ca", pa, NULL, 0, NULL));
    /* From the first mature coinbase on, every block carries a transaction
     * spending the change of the one before (subsidies halve every 150
     * blocks on regtest, so coinbases soon pay too little). */
    coin chg;
    for (uint32_t h = 1; h <= catchup_len; h++) {
        arb_block blk;
        char txid[65];
        if (h > P->coinbase_maturity + 1)
            TRY(spend(pa, h == P->coinbase_maturity + 2 ? &coins[1] : &chg, &k, &to, txid,
                      &chg) == 200);
        TRY(mine(pa, &k, &blk, hash));
        TRY(coin_of(&blk, &coins[h]));
        arb_block_clear(&blk);
    }
    TRY(node_start(&b, "cb", pb, &pa, 1, NULL));
    TRY(wait_tips(&a, 1, hash) && wait_tips(&b, 1, hash));
    hdrs = fetch_headers(pa, &nh);
    TRY(nh == catchup_len);
    node_stop(&a);
    node_stop(&b);
    /* The fresh node's first peer announces the chain and stalls. */
    {
        const char *extra[] = {"--p2p-stall-timeout-ms", "300", NULL};
        TRY(node_start(&d, "cd", pd, NULL, 0, extra));
    }
    TRY(wsp_connect(&s, P, "127.0.0.20", pd) == 0);
    TRY(wsp_handshake(&s, 77) == 0);
    TRY(serve_headers_until_getdata(&s, hdrs, nh));
    /* The honest nodes come back (on new ports) and dial it. */
    pa = arb_test_free_port();
    pb = arb_test_free_port();
    TRY(node_start(&a, "ca", pa, &pd, 1, NULL));
    TRY(node_start(&b, "cb", pb, &pd, 1, NULL));
    TRY(wsp_wait_closed(&s, WAIT_MS));
    TRY(metric(pd, "p2p_disconnect_stalled") >= 1);
    /* SIGKILL during the sync (or just after it, on a fast machine). */
    for (int t = 0; t < WAIT_MS / 20; t++) {
        char h2[65];
        if (tip_of(pd, h2, &height) && height > 0)
            break;
        sleep_ms(20);
    }
    TRY(height > 0);
    arb_proc_kill(d.p, SIGKILL);
    TRY(arb_proc_wait(d.p, WAIT_MS) == 128 + SIGKILL);
    arb_proc_free(d.p);
    d.p = NULL;
    peers[0] = pa;
    peers[1] = pb;
    pd = arb_test_free_port();
    TRY(node_start(&d, "cd", pd, peers, 2, NULL));
    TRY(wait_tips(&d, 1, hash));
    TRY(digest_of(pa, da) && digest_of(pb, dbb) && digest_of(pd, dd));
    TRY(strcmp(da, dd) == 0 && strcmp(dbb, dd) == 0);
out:
    wsp_close(&s);
    free(hdrs);
    free(coins);
    node_stop(&a);
    node_stop(&b);
    node_stop(&d);
}

/* ---------------------------------------------------------------- hostile peers */

/* A block on parent at height, to key32, claiming `extra` units more than it
 * may (0: valid); mined. */
static void build_on(arb_block *out, const arb_hash *parent, uint32_t parent_time,
                     uint32_t height, const uint8_t key32[32], uint64_t extra)
{
    arb_block_init(out);
    if (arb_chain_block_build(P, H, out, parent, parent_time, height, 0x207fffff,
                              (int64_t)time(NULL), key32, NULL, 0, extra, NULL) != ARB_OK ||
        !arb_chain_mine_header(&out->header, 0, 1ULL << 32))
        abort();
}

static int send_block(wspeer *w, const arb_block *b)
{
    arb_buf buf = ARB_BUF_INIT;
    arb_block_write(&buf, b);
    int r = wsp_send_msg(w, ARB_P2P_BLOCK, buf.data, buf.len);
    arb_buf_free(&buf);
    return r;
}

/* Sends a ping and waits for its pong; fails if a getdata comes first.
 * Returns 1 (pong, no getdata), 0 otherwise. */
static int pong_without_getdata(wspeer *w)
{
    uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    if (wsp_send_msg(w, ARB_P2P_PING, nonce, 8) != 0)
        return 0;
    for (;;) {
        uint8_t *m, type;
        size_t len, plen;
        const uint8_t *pl;
        const char *reason;
        if (wsp_recv(w, &m, &len, WAIT_MS) != 1)
            return 0;
        int ok = arb_p2p_frame_decode(m, len, P->magic, &type, &pl, &plen, &reason) == ARB_OK;
        int pong = ok && type == ARB_P2P_PONG && plen == 8 && memcmp(pl, nonce, 8) == 0;
        int getdata = ok && type == ARB_P2P_GETDATA;
        if (ok && type == ARB_P2P_PING)
            (void)wsp_send_msg(w, ARB_P2P_PONG, pl, plen);
        free(m);
        if (getdata)
            return 0;
        if (pong)
            return 1;
    }
}

static int hostile_port;
static int crowd_ok[8];

/* 25 peers in a row from one address: connect, handshake, hang up. */
static void *crowd(void *arg)
{
    int t = (int)(intptr_t)arg;
    char ip[32];
    snprintf(ip, sizeof ip, "127.0.1.%d", t + 1);
    for (int i = 0; i < 25; i++) {
        wspeer w;
        if (wsp_connect(&w, P, ip, hostile_port) == 0 && wsp_handshake(&w, 1000 + (uint64_t)i) == 0)
            crowd_ok[t]++;
        wsp_close(&w);
    }
    return NULL;
}

static int banned(int port, const char *ip)
{
    json_t *j;
    int found = 0;
    if (arb_tl_http_json(at(port, NULL), "/p2p/v1/bans", NULL, &j) == 200 && j != NULL) {
        json_t *arr = json_object_get(j, "bans");
        for (size_t i = 0; i < json_array_size(arr); i++)
            if (strcmp(json_string_value(json_object_get(json_array_get(arr, i), "address")),
                       ip) == 0)
                found = 1;
    }
    json_decref(j);
    return found;
}

/* The bytes of a data directory's stored data: every RocksDB table (.sst),
 * blob file (.blob: large values such as block bodies) and write-ahead log
 * (NNNNNN.log) under it, at any depth. */
static unsigned long long store_bytes(const char *dir)
{
    unsigned long long sum = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        size_t n = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            sum += store_bytes(path);
        else if (S_ISREG(st.st_mode) && n > 4 &&
                 (strcmp(e->d_name + n - 4, ".sst") == 0 ||
                  (n > 5 && strcmp(e->d_name + n - 5, ".blob") == 0) ||
                  (strcmp(e->d_name + n - 4, ".log") == 0 && e->d_name[0] >= '0' &&
                   e->d_name[0] <= '9')))
            sum += (unsigned long long)st.st_size;
    }
    closedir(d);
    return sum;
}

static void hostile(void)
{
    node h, hon;
    int ph = arb_test_free_port(), pn = arb_test_free_port();
    const char *extra[] = {"--p2p-handshake-timeout", "2", NULL};
    key k;
    char hash[65], tip_before[65], dig_before[65], s[65];
    arb_hash tip;
    uint32_t height;
    arb_block_header tiphdr;
    wspeer w;
    memset(&h, 0, sizeof h);
    memset(&hon, 0, sizeof hon);
    memset(&w, 0, sizeof w);
    w.fd = -1;
    key_new(&k);
    /* It dials itself: found out by the version nonce, never kept. */
    TRY(node_start(&h, "hostile", ph, &ph, 1, extra));
    hostile_port = ph;
    for (int t = 0; t < WAIT_MS / 100 && metric(ph, "p2p_self_connections") == 0; t++)
        sleep_ms(100);
    TRY(metric(ph, "p2p_self_connections") >= 1);
    for (int i = 0; i < 5; i++)
        TRY(mine(ph, &k, NULL, hash));
    TRY(tip_of(ph, tip_before, &height) && height == 5);
    TRY(digest_of(ph, dig_before));
    unsigned long long disk_before = store_bytes(h.dir);
    TRY(disk_before > 0);
    TRY(arb_chain_hash_from_hex(&tip, tip_before));
    {
        json_t *j;
        char path[128];
        uint8_t raw[80];
        snprintf(path, sizeof path, "/chain/v1/block?hash=%s", tip_before);
        TRY(arb_tl_http_json(at(ph, NULL), path, NULL, &j) == 200);
        const char *hx = json_string_value(json_object_get(j, "header"));
        int ok = hx != NULL && arb_hex_decode(raw, 80, hx, 160);
        json_decref(j);
        TRY(ok);
        arb_header_decode(&tiphdr, raw);
    }

    /* Garbage (bad magic): disconnected, not discouraged. */
    uint8_t junk[100];
    arb_test_rand_bytes(junk, sizeof junk);
    junk[0] = (uint8_t)~P->magic[0];
    TRY(wsp_connect(&w, P, "127.0.0.2", ph) == 0 && wsp_send_frame(&w, junk, sizeof junk) == 0);
    TRY(wsp_wait_closed(&w, WAIT_MS));
    wsp_close(&w);
    TRY(metric(ph, "p2p_disconnect_bad_magic") >= 1);
    TRY(wsp_connect(&w, P, "127.0.0.2", ph) == 0 && wsp_handshake(&w, 2) == 0);
    wsp_close(&w);

    /* Anything before version. */
    TRY(wsp_connect(&w, P, "127.0.0.3", ph) == 0 && wsp_send_msg(&w, ARB_P2P_PING, junk, 8) == 0);
    TRY(wsp_wait_closed(&w, WAIT_MS));
    wsp_close(&w);
    TRY(metric(ph, "p2p_disconnect_no_version") >= 1);

    /* Another network. */
    {
        arb_p2p_version v;
        arb_buf b = ARB_BUF_INIT;
        memset(&v, 0, sizeof v);
        v.version = ARB_P2P_PROTOCOL_VERSION;
        v.nonce = 3;
        arb_test_rand_bytes(v.network.b, 32);
        arb_p2p_version_write(&b, &v);
        TRY(wsp_connect(&w, P, "127.0.0.4", ph) == 0 &&
            wsp_send_msg(&w, ARB_P2P_VERSION, b.data, b.len) == 0);
        arb_buf_free(&b);
        TRY(wsp_wait_closed(&w, WAIT_MS));
        wsp_close(&w);
        TRY(metric(ph, "p2p_disconnect_wrong_network") >= 1);
    }

    /* Silence: the handshake timeout (2 s here). */
    TRY(wsp_connect(&w, P, "127.0.0.5", ph) == 0);
    TRY(wsp_wait_closed(&w, WAIT_MS));
    wsp_close(&w);
    TRY(metric(ph, "p2p_disconnect_handshake_timeout") >= 1);

    /* A frame over the 4,000,000-byte cap. */
    {
        size_t n = ARB_P2P_FRAME_HEADER + ARB_P2P_MAX_MESSAGE + 100;
        uint8_t *big = calloc(1, n);
        TRY(big != NULL);
        memcpy(big, P->magic, 4);
        big[4] = ARB_P2P_TX;
        TRY(wsp_connect(&w, P, "127.0.0.6", ph) == 0 && wsp_handshake(&w, 6) == 0);
        (void)wsp_send_frame(&w, big, n); /* the node may close while we write */
        free(big);
        TRY(wsp_wait_closed(&w, WAIT_MS));
        wsp_close(&w);
    }

    /* A header on our tip without its proof of work: discouraged. */
    {
        arb_block_header bad = tiphdr;
        arb_hash bh;
        arb_u256 target;
        arb_buf b = ARB_BUF_INIT;
        arb_header_hash(H, &bad.prev, &tiphdr);
        bad.time = tiphdr.time + 1;
        arb_pow_bits_to_target(&target, bad.bits, NULL, NULL);
        for (bad.nonce = 0;; bad.nonce++) {
            arb_header_hash(H, &bh, &bad);
            if (!arb_pow_hash_meets(&bh, &target))
                break;
        }
        arb_p2p_headers_write(&b, &bad, 1);
        TRY(wsp_connect(&w, P, "127.0.0.7", ph) == 0 && wsp_handshake(&w, 7) == 0 &&
            wsp_send_msg(&w, ARB_P2P_HEADERS, b.data, b.len) == 0);
        arb_buf_free(&b);
        TRY(wsp_wait_closed(&w, WAIT_MS));
        wsp_close(&w);
        TRY(metric(ph, "p2p_misbehaviour_headers_bad_pow") >= 1);
        for (int t = 0; t < WAIT_MS / 100 && !banned(ph, "127.0.0.7"); t++)
            sleep_ms(100);
        TRY(banned(ph, "127.0.0.7"));
        /* Refused from then on: closed before any version. */
        if (wsp_connect(&w, P, "127.0.0.7", ph) == 0)
            TRY(wsp_handshake(&w, 7) != 0);
        wsp_close(&w);
        TRY(metric(ph, "p2p_disconnect_discouraged") >= 1);
    }

    /* Headers that do not link to each other. */
    {
        arb_block a1, a2;
        arb_hash junkprev;
        arb_buf b = ARB_BUF_INIT;
        arb_block_header two[2];
        build_on(&a1, &tip, tiphdr.time, height + 1, k.pk, 0);
        arb_test_rand_bytes(junkprev.b, 32);
        build_on(&a2, &junkprev, a1.header.time, height + 2, k.pk, 0);
        two[0] = a1.header;
        two[1] = a2.header;
        arb_block_clear(&a1);
        arb_block_clear(&a2);
        arb_p2p_headers_write(&b, two, 2);
        TRY(wsp_connect(&w, P, "127.0.0.13", ph) == 0 && wsp_handshake(&w, 13) == 0 &&
            wsp_send_msg(&w, ARB_P2P_HEADERS, b.data, b.len) == 0);
        arb_buf_free(&b);
        TRY(wsp_wait_closed(&w, WAIT_MS));
        wsp_close(&w);
        TRY(metric(ph, "p2p_misbehaviour_headers_discontinuous") >= 1);
    }

    /* Eleven announcements in a row that connect to nothing we know (each
     * answered with a getheaders): the eleventh gets it discouraged. */
    {
        TRY(wsp_connect(&w, P, "127.0.0.14", ph) == 0 && wsp_handshake(&w, 14) == 0);
        for (int i = 0; i < 11; i++) {
            arb_block x;
            arb_hash rp;
            arb_buf b = ARB_BUF_INIT;
            arb_test_rand_bytes(rp.b, 32);
            build_on(&x, &rp, tiphdr.time, height + 1, k.pk, 0);
            arb_p2p_headers_write(&b, &x.header, 1);
            arb_block_clear(&x);
            int r = wsp_send_msg(&w, ARB_P2P_HEADERS, b.data, b.len);
            arb_buf_free(&b);
            TRY(r == 0);
            if (i < 10)
                TRY(wsp_expect(&w, ARB_P2P_GETHEADERS, NULL, NULL, WAIT_MS) == 1);
        }
        TRY(wsp_wait_closed(&w, WAIT_MS));
        wsp_close(&w);
        TRY(metric(ph, "p2p_misbehaviour_headers_unconnecting") == 1);
    }

    /* An inv of 50,001 entries. */
    {
        size_t cnt = ARB_P2P_MAX_INV + 1;
        arb_p2p_inv *v = calloc(cnt, sizeof *v);
        arb_buf b = ARB_BUF_INIT;
        TRY(v != NULL);
        for (size_t i = 0; i < cnt; i++) {
            v[i].type = ARB_INV_TX;
            memcpy(v[i].hash.b, &i, sizeof i);
        }
        arb_p2p_inv_write(&b, v, cnt);
        free(v);
        TRY(wsp_connect(&w, P, "127.0.0.8", ph) == 0 && wsp_handshake(&w, 8) == 0 &&
            wsp_send_msg(&w, ARB_P2P_INV, b.data, b.len) == 0);
        arb_buf_free(&b);
        TRY(wsp_wait_closed(&w, WAIT_MS));
        wsp_close(&w);
        TRY(metric(ph, "p2p_misbehaviour_malformed_inv") >= 1);
        for (int t = 0; t < WAIT_MS / 100 && !banned(ph, "127.0.0.8"); t++)
            sleep_ms(100);
        TRY(banned(ph, "127.0.0.8"));
    }

    /* A consensus-invalid block on our tip (the coinbase claims too much):
     * discouraged, and its body is not kept. */
    {
        arb_block bad;
        arb_hash bh;
        char path[128], hex[65];
        build_on(&bad, &tip, tiphdr.time, height + 1, k.pk, 1);
        arb_header_hash(H, &bh, &bad.header);
        arb_chain_hash_hex(hex, &bh);
        TRY(wsp_connect(&w, P, "127.0.0.9", ph) == 0 && wsp_handshake(&w, 9) == 0 &&
            send_block(&w, &bad) == 0);
        arb_block_clear(&bad);
        TRY(wsp_wait_closed(&w, WAIT_MS));
        wsp_close(&w);
        TRY(metric(ph, "p2p_misbehaviour_block_invalid") >= 1);
        snprintf(path, sizeof path, "/chain/v1/block?hash=%s", hex);
        TRY(arb_tl_http_json(at(ph, NULL), path, NULL, NULL) == 404);
    }

    /* A consensus-invalid transaction (an input spent twice). */
    {
        arb_tx tx;
        arb_buf b = ARB_BUF_INIT;
        arb_tx_init(&tx);
        TRY(arb_tx_alloc(&tx, 2, 1) == ARB_OK);
        tx.version = 1;
        memset(tx.in[0].txid.b, 7, 32);
        tx.in[1] = tx.in[0];
        tx.out[0].amount = 1000;
        arb_tx_write(&b, &tx, 1);
        arb_tx_clear(&tx);
        TRY(wsp_connect(&w, P, "127.0.0.10", ph) == 0 && wsp_handshake(&w, 10) == 0 &&
            wsp_send_msg(&w, ARB_P2P_TX, b.data, b.len) == 0);
        arb_buf_free(&b);
        TRY(wsp_wait_closed(&w, WAIT_MS));
        wsp_close(&w);
        TRY(metric(ph, "p2p_misbehaviour_tx_invalid") >= 1);
    }

    /* An unsolicited valid block on a side branch (from genesis): not
     * stored, the peer stays. Then low-work headers (a short branch from
     * genesis) lead to no download, while one header on our tip does. */
    {
        arb_block side;
        arb_hash g, bh;
        char path[128], hex[65];
        arb_chain_genesis_hash(P, &g);
        build_on(&side, &g, P->genesis_time, 1, k.pk, 0);
        arb_header_hash(H, &bh, &side.header);
        arb_chain_hash_hex(hex, &bh);
        TRY(wsp_connect(&w, P, "127.0.0.11", ph) == 0 && wsp_handshake(&w, 11) == 0 &&
            send_block(&w, &side) == 0);
        TRY(pong_without_getdata(&w));
        snprintf(path, sizeof path, "/chain/v1/block?hash=%s", hex);
        TRY(arb_tl_http_json(at(ph, NULL), path, NULL, NULL) == 404);
        TRY(metric(ph, "p2p_unsolicited_blocks") >= 1);
        arb_block_header low[3];
        low[0] = side.header;
        arb_block_clear(&side);
        for (int i = 1; i < 3; i++) {
            arb_block nx;
            arb_hash ph2;
            arb_header_hash(H, &ph2, &low[i - 1]);
            build_on(&nx, &ph2, low[i - 1].time, (uint32_t)i + 1, k.pk, 0);
            low[i] = nx.header;
            arb_block_clear(&nx);
        }
        arb_buf b = ARB_BUF_INIT;
        arb_p2p_headers_write(&b, low, 3);
        TRY(wsp_send_msg(&w, ARB_P2P_HEADERS, b.data, b.len) == 0);
        arb_buf_free(&b);
        TRY(pong_without_getdata(&w));
        arb_block good;
        build_on(&good, &tip, tiphdr.time, height + 1, k.pk, 0);
        arb_p2p_headers_write(&b, &good.header, 1);
        arb_block_clear(&good);
        TRY(wsp_send_msg(&w, ARB_P2P_HEADERS, b.data, b.len) == 0);
        arb_buf_free(&b);
        TRY(wsp_expect(&w, ARB_P2P_GETDATA, NULL, NULL, WAIT_MS) == 1);
        wsp_close(&w);
    }

    /* 200 peers connect, handshake and drop, eight at a time. */
    {
        pthread_t th[8];
        int total = 0;
        for (int t = 0; t < 8; t++)
            pthread_create(&th[t], NULL, crowd, (void *)(intptr_t)t);
        for (int t = 0; t < 8; t++) {
            pthread_join(th[t], NULL);
            total += crowd_ok[t];
        }
        TRY(total == 200);
    }

    /* The admin calls: refused without the cookie's token, and with a wrong
     * one; taken with it. The cookie file is the owner's only. */
    {
        char tok[65], bad[65], path[1300];
        struct stat st;
        snprintf(path, sizeof path, "%s/.cookie", h.dir);
        TRY(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
        TRY(read_token(&h, tok));
        memcpy(bad, tok, 65);
        bad[0] = bad[0] == 'a' ? 'b' : 'a';
        TRY(admin(ph, "ban", NULL, "127.0.0.99") == 401);
        TRY(admin(ph, "ban", bad, "127.0.0.99") == 401);
        TRY(admin(ph, "connect", bad, "127.0.0.1:1") == 401);
        TRY(metric(ph, "p2p_admin_unauthorized") == 3);
        TRY(admin(ph, "unban", NULL, "127.0.0.7") == 401);
        /* The token in the body (an old form) is not taken, nor under
         * another scheme; the 401 names the scheme. */
        {
            char body[256], hdr[128];
            snprintf(body, sizeof body, "{\"token\":\"%s\",\"address\":\"127.0.0.99\"}", tok);
            TRY(admin_as(ph, "ban", NULL, body) == 401);
            snprintf(hdr, sizeof hdr, "Authorization: Basic %s", tok);
            TRY(admin_as(ph, "ban", hdr, "{\"address\":\"127.0.0.99\"}") == 401);
            snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", bad);
            TRY(admin_as(ph, "ban", hdr, "{\"address\":\"127.0.0.99\"}") == 401);
            snprintf(hdr, sizeof hdr, "Authorization: Bearer %.63s", tok);
            TRY(admin_as(ph, "ban", hdr, "{\"address\":\"127.0.0.99\"}") == 401);
            snprintf(hdr, sizeof hdr, "Authorization: Bearer %sa", tok);
            TRY(admin_as(ph, "ban", hdr, "{\"address\":\"127.0.0.99\"}") == 401);
            TRY(metric(ph, "p2p_admin_unauthorized") == 9);
        }
        sleep_ms(600); /* two snapshot periods: a ban would show by now */
        TRY(!banned(ph, "127.0.0.99"));
        TRY(banned(ph, "127.0.0.7"));
        TRY(admin(ph, "ban", tok, "127.0.0.99") == 200);
        for (int t = 0; t < WAIT_MS / 100 && !banned(ph, "127.0.0.99"); t++)
            sleep_ms(100);
        TRY(banned(ph, "127.0.0.99"));
        {
            char hdr[128];
            snprintf(hdr, sizeof hdr, "authorization:   bearer  %s ", tok);
            TRY(admin_as(ph, "unban", hdr, "{\"address\":\"127.0.0.7\"}") == 200);
        }
        for (int t = 0; t < WAIT_MS / 100 && banned(ph, "127.0.0.7"); t++)
            sleep_ms(100);
        TRY(!banned(ph, "127.0.0.7"));
        TRY(wsp_connect(&w, P, "127.0.0.7", ph) == 0 && wsp_handshake(&w, 70) == 0);
        wsp_close(&w);
    }

    /* Nothing of all that changed the chain, and the store barely grew:
     * the one header on the tip and its download, the operator's bans, no
     * side-branch body, nothing from the floods (the 4 MB frame, the inv,
     * the 200 peers). */
    {
        unsigned long long disk_after = store_bytes(h.dir);
        fprintf(stderr, "hostile: store %llu bytes before the attacks, %llu after\n",
                disk_before, disk_after);
        TRY(disk_after >= disk_before && disk_after - disk_before < 64 * 1024);
    }
    TRY(tip_of(ph, s, NULL) && strcmp(s, tip_before) == 0);
    TRY(digest_of(ph, s) && strcmp(s, dig_before) == 0);
    /* And it still syncs with an honest node, both ways. */
    TRY(node_start(&hon, "honest", pn, &ph, 1, NULL));
    TRY(wait_tips(&hon, 1, tip_before));
    TRY(mine(pn, &k, NULL, hash));
    TRY(wait_tips(&h, 1, hash));
out:
    wsp_close(&w);
    node_stop(&hon);
    node_stop(&h);
}

/* Compact block relay: B has every transaction of A's next block in its
 * mempool; the block crosses as a compact block, rebuilt from B's mempool,
 * and what A sends meanwhile is a small fraction of the block's size. */
static void compact_relay(void)
{
    node nd[2];
    int ports[2] = {arb_test_free_port(), arb_test_free_port()};
    key k, to;
    coin cs[40], extra;
    char hash[65], txid[65], path[128];
    wspeer w;
    memset(nd, 0, sizeof nd);
    memset(&w, 0, sizeof w);
    w.fd = -1;
    key_new(&k);
    key_new(&to);
    TRY(node_start(&nd[0], "ca0", ports[0], NULL, 0, NULL));
    TRY(node_start(&nd[1], "ca1", ports[1], &ports[0], 1, NULL));
    TRY(wait_peers(ports[0], 1));
    for (int i = 0; i <= 40; i++) {
        arb_block b;
        TRY(mine(ports[0], &k, &b, hash));
        TRY(coin_of(&b, i < 40 ? &cs[i] : &extra));
        arb_block_clear(&b);
    }
    for (uint32_t i = 0; i < P->coinbase_maturity; i++)
        TRY(mine(ports[0], &k, NULL, hash));
    TRY(wait_tips(nd, 2, hash));
    for (int i = 0; i < 40; i++)
        TRY(spend(ports[0], &cs[i], &k, &to, txid, NULL) == 200);
    TRY(wait_mempools(nd + 1, 1, txid));
    for (int t = 0; t < WAIT_MS / 100; t++) { /* all 40 there */
        json_t *j;
        long c = 0;
        if (arb_tl_http_json(at(ports[1], NULL), "/chain/v1/mempool", NULL, &j) == 200)
            c = (long)json_integer_value(json_object_get(j, "count"));
        json_decref(j);
        if (c == 40)
            break;
        sleep_ms(100);
    }
    unsigned long long before = metric(ports[0], "p2p_bytes_sent");
    TRY(mine(ports[0], &k, NULL, hash));
    TRY(wait_tips(nd, 2, hash));
    unsigned long long sent = metric(ports[0], "p2p_bytes_sent") - before;
    json_t *j = NULL;
    snprintf(path, sizeof path, "/chain/v1/block?hash=%s", hash);
    TRY(arb_tl_http_json(at(ports[0], NULL), path, NULL, &j) == 200);
    size_t size = strlen(json_string_value(json_object_get(j, "hex"))) / 2;
    size_t ntx = json_array_size(json_object_get(j, "txs"));
    json_decref(j);
    fprintf(stderr, "compact relay: block of %zu transactions, %zu bytes; %llu bytes sent\n", ntx,
            size, sent);
    TRY(ntx == 41);
    TRY(sent * 10 < size);
    TRY(metric(ports[1], "p2p_cmpct_rebuilt") >= 1);
    TRY(metric(ports[1], "p2p_cmpct_fallbacks") == 0);

    /* Orphans: a child sent before its parent waits in the orphan pool and
     * enters the mempool (and is relayed) once the parent comes. */
    {
        arb_buf parent = ARB_BUF_INIT, child = ARB_BUF_INIT;
        char ptx[65], ctx[65];
        coin pc, cc;
        build_spend(&parent, &extra, &k, &to, 1000, ptx, &pc);
        build_spend(&child, &pc, &k, &to, 1000, ctx, &cc);
        TRY(wsp_connect(&w, P, "127.0.0.30", ports[1]) == 0 && wsp_handshake(&w, 30) == 0);
        TRY(wsp_send_msg(&w, ARB_P2P_TX, child.data, child.len) == 0);
        TRY(pong_without_getdata(&w)); /* handled before the pong */
        TRY(metric(ports[1], "p2p_orphans_added") == 1);
        TRY(!in_mempool(ports[1], ctx));
        TRY(wsp_send_msg(&w, ARB_P2P_TX, parent.data, parent.len) == 0);
        TRY(pong_without_getdata(&w));
        arb_buf_free(&parent);
        arb_buf_free(&child);
        TRY(in_mempool(ports[1], ptx) && in_mempool(ports[1], ctx));
        TRY(wait_mempools(nd, 2, ctx));

        /* Recently rejected: a double spend of the parent's coin is refused
         * (a policy reason: the peer stays), and its inv is not followed by
         * a getdata. */
        arb_buf dbl = ARB_BUF_INIT;
        char dtx[65];
        arb_hash did;
        build_spend(&dbl, &extra, &k, &to, 2000, dtx, NULL);
        TRY(wsp_send_msg(&w, ARB_P2P_TX, dbl.data, dbl.len) == 0);
        arb_buf_free(&dbl);
        TRY(pong_without_getdata(&w));
        TRY(!in_mempool(ports[1], dtx));
        TRY(arb_chain_hash_from_hex(&did, dtx));
        arb_p2p_inv inv = {ARB_INV_TX, did};
        arb_buf ib = ARB_BUF_INIT;
        arb_p2p_inv_write(&ib, &inv, 1);
        TRY(wsp_send_msg(&w, ARB_P2P_INV, ib.data, ib.len) == 0);
        arb_buf_free(&ib);
        TRY(pong_without_getdata(&w));
        /* A transaction it does not know is asked for (the control). */
        arb_test_rand_bytes(inv.hash.b, 32);
        arb_p2p_inv_write(&ib, &inv, 1);
        TRY(wsp_send_msg(&w, ARB_P2P_INV, ib.data, ib.len) == 0);
        arb_buf_free(&ib);
        TRY(wsp_expect(&w, ARB_P2P_GETDATA, NULL, NULL, WAIT_MS) == 1);
        TRY(metric(ports[1], "p2p_misbehaviour_tx_invalid") == 0);

        /* A name register in a namespace this node has never seen: refused
         * against the committed state, which the peer may see otherwise
         * (like missing inputs), so the peer stays. The payload (type 6):
         * full name, salt, owner key, no zone file. */
        {
            uint8_t pl[1 + 8 + 32 + 32 + 1];
            arb_buf nb = ARB_BUF_INIT;
            pl[0] = 8;
            memcpy(pl + 1, "alice.zz", 8);
            memset(pl + 9, 1, 32);
            memcpy(pl + 41, k.pk, 32);
            pl[73] = 0;
            build_payload_spend(&nb, &cc, &k, 2000, 6, pl, sizeof pl);
            TRY(wsp_send_msg(&w, ARB_P2P_TX, nb.data, nb.len) == 0);
            arb_buf_free(&nb);
            TRY(pong_without_getdata(&w));
            TRY(metric(ports[1], "p2p_misbehaviour_tx_invalid") == 0);
        }
    }
out:
    wsp_close(&w);
    node_stop(&nd[0]);
    node_stop(&nd[1]);
}

/* Inbound slots full (24 here): a newcomer is taken and one unprotected
 * inbound peer is evicted (Bitcoin's SelectNodeToEvict); the operator's
 * outbound peers do not count. */
static void eviction(void)
{
    node e;
    int pe = arb_test_free_port();
    const char *extra[] = {"--p2p-max-inbound", "24", NULL};
    wspeer w[25];
    size_t nw = 0;
    memset(&e, 0, sizeof e);
    TRY(node_start(&e, "evict", pe, NULL, 0, extra));
    for (; nw < 24; nw++) {
        char ip[32];
        snprintf(ip, sizeof ip, "127.0.2.%zu", nw + 1);
        TRY(wsp_connect(&w[nw], P, ip, pe) == 0);
        if (wsp_handshake(&w[nw], 500 + nw) != 0) {
            wsp_close(&w[nw]);
            TRY(0);
        }
    }
    TRY(metric(pe, "p2p_disconnect_evicted") == 0);
    TRY(wsp_connect(&w[nw], P, "127.0.3.1", pe) == 0);
    nw++;
    TRY(wsp_handshake(&w[nw - 1], 600) == 0);
    for (int t = 0; t < WAIT_MS / 100 && (metric(pe, "p2p_disconnect_evicted") < 1 ||
                                          n_peers(pe, 1) != 24);
         t++)
        sleep_ms(100);
    TRY(metric(pe, "p2p_disconnect_evicted") == 1);
    TRY(n_peers(pe, 1) == 24);
    TRY(metric(pe, "p2p_disconnect_inbound_full") == 0);
out:
    for (size_t i = 0; i < nw; i++)
        wsp_close(&w[i]);
    node_stop(&e);
}


/* ---------------------------------------------------------------- address book */

/* The automatic outbound peers of the node on port: their count, and 1 in
 * *distinct if no two share a /16. */
static int automatic_peers(int port, int *distinct)
{
    json_t *j;
    int c = -1;
    char groups[16][32];
    *distinct = 1;
    if (arb_tl_http_json(at(port, NULL), "/p2p/v1/peers", NULL, &j) == 200 && j != NULL) {
        json_t *arr = json_object_get(j, "peers");
        c = 0;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *pe = json_array_get(arr, i);
            const char *a = json_string_value(json_object_get(pe, "address"));
            unsigned x, y;
            if (!json_is_true(json_object_get(pe, "automatic")) ||
                !json_is_true(json_object_get(pe, "handshaked")) || a == NULL)
                continue;
            if (sscanf(a, "%u.%u.", &x, &y) != 2)
                continue;
            if (c < 16) {
                snprintf(groups[c], sizeof groups[c], "%u.%u", x, y);
                for (int k = 0; k < c; k++)
                    if (strcmp(groups[k], groups[c]) == 0)
                        *distinct = 0;
            }
            c++;
        }
    }
    json_decref(j);
    return c;
}

static int wait_metric_at_least(int port, const char *name, unsigned long long v)
{
    for (int t = 0; t < WAIT_MS / 100; t++) {
        if (metric(port, name) >= v)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

static int wait_automatic(int port, int want)
{
    int distinct;
    for (int t = 0; t < WAIT_MS / 100; t++) {
        if (automatic_peers(port, &distinct) >= want)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* An addr payload of n entries 10.(i/250).(i%250).1 .. seen now. */
static void addr_payload(arb_buf *b, size_t n, unsigned base)
{
    arb_p2p_addr *v = calloc(n, sizeof *v);
    if (v == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned k = base + (unsigned)i;
        v[i].time = (uint32_t)time(NULL);
        v[i].services = 1;
        v[i].ip[10] = v[i].ip[11] = 0xff;
        v[i].ip[12] = 10;
        v[i].ip[13] = (uint8_t)(k / 250 % 256);
        v[i].ip[14] = (uint8_t)(k % 250 + 1);
        v[i].ip[15] = 1;
        v[i].port = 8333;
    }
    arb_buf_reset(b);
    arb_p2p_addr_write(b, v, n);
    free(v);
}

/* A (127.1.0.1) is known to B (127.2.0.1), E (127.2.0.2, B's /16) and C
 * (127.3.0.1), which advertise themselves to it. D (127.4.0.1) knows only
 * A: its getaddr brings the others, and it dials them on its own, one per
 * /16. D restarts without --connect and finds them from its saved book; a
 * corrupt book is reported and ignored. Then, on a node on 127.0.0.1, a
 * hostile peer floods addr (five messages of 1,000): 1,000 are taken, the
 * rest counted as rate-limited; an addr of 1,001 entries is misbehaviour; a
 * second getaddr on one connection is not answered. */
static void address_book(void)
{
    node a, b, c, d, e, f;
    int pa = arb_test_free_port(), pb = arb_test_free_port(), pc = arb_test_free_port();
    int pd = arb_test_free_port(), pe = arb_test_free_port(), pf = arb_test_free_port();
    char ca[64], path[1400];
    const char *to_a[] = {ca};
    const char *quiet[] = {"--p2p-no-outbound", "1", NULL};
    int distinct;
    size_t flen = 0, got = 0;
    uint8_t *file;
    FILE *fp;
    unsigned long long took;
    wspeer w;
    arb_buf pl = ARB_BUF_INIT;
    memset(&w, 0, sizeof w);
    w.fd = -1;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    memset(&e, 0, sizeof e);
    memset(&f, 0, sizeof f);
    snprintf(ca, sizeof ca, "127.1.0.1:%d", pa);
    TRY(node_start_at(&a, "book-a", "127.1.0.1", pa, NULL, 0, NULL));
    TRY(node_start_at(&b, "book-b", "127.2.0.1", pb, to_a, 1, NULL));
    TRY(node_start_at(&e, "book-e", "127.2.0.2", pe, to_a, 1, NULL));
    TRY(node_start_at(&c, "book-c", "127.3.0.1", pc, to_a, 1, NULL));
    /* A learns the three from their own advertisements. */
    TRY(wait_metric_at_least(pa, "p2p_addrman_size", 3));
    TRY(node_start_at(&d, "book-d", "127.4.0.1", pd, to_a, 1, NULL));
    /* D dials one of B, E and C: two automatic peers, never two in 127.2/16. */
    TRY(wait_automatic(pd, 2));
    for (int i = 0; i < 20; i++) {
        int k = automatic_peers(pd, &distinct);
        CHECK(distinct);
        CHECK(k <= 2);
        sleep_ms(100);
    }
    CHECK(metric(pd, "p2p_addrman_size") >= 3);
    CHECK(metric(pd, "p2p_addrman_tried") >= 3); /* A and the two it dialled */
    /* The book survives a restart: D without --connect finds A, 127.2 and C. */
    node_stop(&d);
    snprintf(path, sizeof path, "%s/peers.dat", d.dir);
    file = arb_test_read_file(path, &flen);
    CHECK(file != NULL && flen > 80);
    free(file);
    TRY(node_start_at(&d, "book-d", "127.4.0.1", pd, NULL, 0, NULL));
    CHECK(metric(pd, "p2p_addrman_size") >= 3);
    CHECK(wait_automatic(pd, 3));
    CHECK(automatic_peers(pd, &distinct) == 3 && distinct);
    CHECK_EQ(metric(pd, "p2p_addrman_file_ignored"), 0);
    node_stop(&d);
    /* A corrupt book: reported, ignored, the node runs with a fresh one. The
     * others stop first: one that dials D would hand it its own address. */
    node_stop(&c);
    node_stop(&e);
    node_stop(&b);
    node_stop(&a);
    fp = fopen(path, "r+b");
    CHECK(fp != NULL);
    if (fp != NULL) {
        fseek(fp, 90, SEEK_SET);
        fputc('!', fp);
        fclose(fp);
    }
    TRY(node_start_at(&d, "book-d", "127.4.0.1", pd, NULL, 0, NULL));
    CHECK_EQ(metric(pd, "p2p_addrman_file_ignored"), 1);
    CHECK_EQ(metric(pd, "p2p_addrman_size"), 0);
    node_stop(&d);

    /* The flood. */
    TRY(node_start_at(&f, "book-f", "127.0.0.1", pf, NULL, 0, quiet));
    TRY(wsp_connect(&w, P, "127.0.0.40", pf) == 0 && wsp_handshake(&w, 4040) == 0);
    for (unsigned m = 0; m < 5; m++) {
        addr_payload(&pl, 1000, 1000 * m);
        CHECK(wsp_send_msg(&w, ARB_P2P_ADDR, pl.data, pl.len) == 0);
    }
    CHECK(wait_metric_at_least(pf, "p2p_addr_rate_limited", 3990));
    took = metric(pf, "p2p_addr_processed");
    CHECK(took >= 1000 && took <= 1010); /* the burst, and 0.1/s since */
    CHECK(metric(pf, "p2p_addrman_size") <= took);
    CHECK(metric(pf, "p2p_addrman_size") >= 100);
    /* Over 1,000 in one message: misbehaviour (discouraged, disconnected). */
    addr_payload(&pl, 1001, 0);
    CHECK(wsp_send_msg(&w, ARB_P2P_ADDR, pl.data, pl.len) == 0);
    CHECK(wsp_wait_closed(&w, WAIT_MS));
    wsp_close(&w);
    CHECK_EQ(metric(pf, "p2p_misbehaviour_malformed_addr"), 1);
    int is_banned = 0;
    for (int t = 0; t < WAIT_MS / 100 && !is_banned; t++) { /* the list is refreshed twice a second */
        is_banned = banned(pf, "127.0.0.40");
        if (!is_banned)
            sleep_ms(100);
    }
    CHECK(is_banned);
    /* getaddr: answered once per connection with a sample of the book. */
    TRY(wsp_connect(&w, P, "127.0.0.41", pf) == 0 && wsp_handshake(&w, 4141) == 0);
    CHECK(wsp_send_msg(&w, ARB_P2P_GETADDR, NULL, 0) == 0);
    for (int i = 0; i < 5 && got <= 1; i++) { /* the node's own address comes first */
        uint8_t *ap = NULL;
        size_t alen = 0;
        arb_p2p_addr *v = calloc(ARB_P2P_MAX_ADDR, sizeof *v);
        if (v != NULL && wsp_expect(&w, ARB_P2P_ADDR, &ap, &alen, WAIT_MS) == 1 &&
            arb_p2p_addr_read(v, &got, ap, alen) != ARB_OK)
            got = 0;
        free(ap);
        free(v);
    }
    CHECK(got >= 100 && got <= ARB_P2P_MAX_ADDR);
    CHECK(wsp_send_msg(&w, ARB_P2P_GETADDR, NULL, 0) == 0);
    CHECK(wait_metric_at_least(pf, "p2p_getaddr_ignored", 1));
    CHECK_EQ(metric(pf, "p2p_getaddr_ignored"), 1);
out:
    wsp_close(&w);
    arb_buf_free(&pl);
    node_stop(&f);
    node_stop(&d);
    node_stop(&c);
    node_stop(&e);
    node_stop(&b);
    node_stop(&a);
}

/* ================================================================ more (test_p2p_more) */

/* Resident memory of a process in KiB (0 if unknown). */
static unsigned long rss_kib(pid_t pid)
{
    char path[64], line[256];
    unsigned long kib = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtoul(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* Whether the node's log (stderr) holds a line with every one of the
 * given pieces. */
static int log_has(node *nd, const char *a, const char *b)
{
    char *err = arb_proc_output(nd->p, ARB_PROC_STDERR);
    int found = 0;
    for (char *line = err; line != NULL && *line && !found;) {
        char *end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        found = strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL);
        line = end ? end + 1 : NULL;
    }
    free(err);
    return found;
}

/* A getdata for `count` copies of hash (a block). */
static int send_getdata_n(wspeer *w, const arb_hash *hash, size_t count)
{
    arb_p2p_inv *v = malloc(count * sizeof *v);
    arb_buf b = ARB_BUF_INIT;
    int r;
    for (size_t i = 0; i < count; i++) {
        v[i].type = ARB_INV_BLOCK;
        v[i].hash = *hash;
    }
    arb_p2p_inv_write(&b, v, count);
    r = wsp_send_msg(w, ARB_P2P_GETDATA, b.data, b.len);
    arb_buf_free(&b);
    free(v);
    return r;
}

#define RECV_BOUND (5u * 1024 * 1024 + ARB_P2P_FRAME_HEADER + ARB_P2P_MAX_MESSAGE)
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KIB (192 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_SLACK_KIB (192 * 1024)
#endif
#endif
#ifndef RSS_SLACK_KIB
#define RSS_SLACK_KIB (48 * 1024)
#endif

/* The test peers' socket buffers are the kernel's own (autotuned), not set:
 * set (64 KiB or 256 KiB), they lock the receive window near the size of
 * one loopback segment (64 KiB), and when both sides' queues are full the
 * lost segments and window updates leave a peer in TCP's retransmission and
 * persist backoff for seconds to minutes: the node then dropped the peer for
 * its send timeout (one run in four at 64 KiB), or both waited out the
 * test's time (256 KiB). Untuned, a peer that does not read still holds only
 * its initial receive buffer, so the node's flow control is what is tested. */
#define PEER_SOCKBUF 0

/* Flow control: a peer that sends a 4 MB message while the node sends it
 * 4 MB of blocks (neither reading until its own send is done) does not
 * deadlock: both finish. A peer that never reads makes the node stop
 * handling its messages, then stop reading it (its writes stall; the
 * node's memory stays bounded), then drop it after the idle time. */
/* A stalled send to a node that has not paused reading it yet (a busy
 * machine) waits on, up to WAIT_MS; one it has paused is a real stall. */
typedef struct {
    int port;
    time_t deadline;
} stall_ctx;

static int wait_unless_paused(void *ud)
{
    const stall_ctx *c = ud;
    return metric(c->port, "p2p_recv_paused") < 1 && time(NULL) < c->deadline;
}

static void flow_control(void)
{
    node f;
    int pf = arb_test_free_port();
    const char *extra[] = {"--p2p-timeout", "8", NULL};
    wspeer w1, w2;
    arb_hash g;
    char gh[65], path[128];
    size_t bsize = 0, count;
    uint8_t *big = NULL;
    memset(&f, 0, sizeof f);
    memset(&w1, 0, sizeof w1);
    memset(&w2, 0, sizeof w2);
    w1.fd = w2.fd = -1;
    TRY(node_start(&f, "flow", pf, NULL, 0, extra));
    arb_chain_genesis_hash(P, &g);
    arb_chain_hash_hex(gh, &g);
    {
        json_t *j = NULL;
        snprintf(path, sizeof path, "/chain/v1/block?hash=%s", gh);
        TRY(arb_tl_http_json(at(pf, NULL), path, NULL, &j) == 200);
        bsize = strlen(json_string_value(json_object_get(j, "hex"))) / 2;
        json_decref(j);
    }
    /* About 4 MB of answers (the send queue holds 1 MB plus one message). */
    count = 4000000 / (bsize + ARB_P2P_FRAME_HEADER);
    big = calloc(1, ARB_P2P_MAX_MESSAGE - 10000);
    TRY(big != NULL);

    /* Both ways at once. Type 200 is unknown: read in whole, then ignored. */
    TRY(wsp_connect_buf(&w1, P, "127.0.3.1", pf, PEER_SOCKBUF) == 0 && wsp_handshake(&w1, 31) == 0);
    TRY(send_getdata_n(&w1, &g, count) == 0);
    TRY(wsp_send_msg(&w1, 200, big, ARB_P2P_MAX_MESSAGE - 10000) == 0);
    {
        size_t blocks = 0;
        while (blocks < count && wsp_expect(&w1, ARB_P2P_BLOCK, NULL, NULL, WAIT_MS) == 1)
            blocks++;
        TRY(blocks == count);
    }
    TRY(pong_without_getdata(&w1));
    TRY(metric(pf, "p2p_disconnect_send_queue_full") == 0);
    TRY(metric(pf, "p2p_disconnect_recv_flood") == 0);
    wsp_close(&w1);

    /* Never reads: asks for 16 MB, then keeps sending 1 MB messages. */
    unsigned long rss0 = rss_kib(arb_proc_pid(f.p));
    size_t sent = 0;
    TRY(wsp_connect_buf(&w2, P, "127.0.3.2", pf, PEER_SOCKBUF) == 0 && wsp_handshake(&w2, 32) == 0);
    /* Four times: more than the node's socket buffer takes (its queue is
     * filled once more each time the kernel has taken the last answer). */
    for (int i = 0; i < 4; i++)
        TRY(send_getdata_n(&w2, &g, count) == 0);
    wsp_set_send_timeout(&w2, 3000);
    stall_ctx sc = {pf, time(NULL) + WAIT_MS / 1000};
    wsp_set_on_stall(&w2, wait_unless_paused, &sc);
    while (sent < (96u << 20) && wsp_send_msg(&w2, 200, big, 1000000) == 0)
        sent += 1000000;
    unsigned long rss1 = rss_kib(arb_proc_pid(f.p));
    fprintf(stderr, "flow control: a peer that does not read got %zu bytes in before its writes "
                    "stalled; node RSS %lu -> %lu KiB\n", sent, rss0, rss1);
    /* The 5 MB budget, one message, and the kernel's socket buffers (the
     * node's receive buffer grows to tcp_rmem's maximum while it reads). */
    TRY(sent < (72u << 20));
    TRY(metric(pf, "p2p_recv_paused") >= 1);
    TRY(metric(pf, "p2p_disconnect_recv_flood") == 0);
    /* What the node holds of it: at most its 5 MB budget and one message. */
    TRY(metric(pf, "p2p_recv_queued_bytes") <= RECV_BOUND);
    /* The node holds at most ~15 MB for it; under AddressSanitizer freed
     * memory sits in quarantine for a while, so the process grows more. */
    TRY(rss1 < rss0 + RSS_SLACK_KIB);
    /* Dropped once its queue has not drained for the idle time. */
    TRY(wait_metric_at_least(pf, "p2p_disconnect_send_timeout", 1));
    /* What it sent and we held leaves the receive budgets with it. */
    for (int t = 0; t < WAIT_MS / 100 && metric(pf, "p2p_recv_queued_bytes") != 0; t++)
        sleep_ms(100);
    TRY(metric(pf, "p2p_recv_queued_bytes") == 0);
    TRY(log_has(&f, "inbound full-relay peer 127.0.3.1 connected: version 1", NULL));
    TRY(log_has(&f, "peer 127.0.3.2", "send-timeout"));
out:
    free(big);
    wsp_close(&w1);
    wsp_close(&w2);
    node_stop(&f);
}

/* Headers sync: a fresh node (its best header, genesis, is old) asks one
 * peer at a time; a sync peer that does not answer is dropped after the
 * headers timeout and the next peer is asked. */
static void sync_peer(void)
{
    node s;
    int ps = arb_test_free_port();
    const char *extra[] = {"--p2p-headers-timeout", "2", NULL};
    wspeer a, b;
    memset(&s, 0, sizeof s);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.fd = b.fd = -1;
    TRY(node_start(&s, "sync", ps, NULL, 0, extra));
    TRY(wsp_connect(&a, P, "127.0.5.1", ps) == 0 && wsp_handshake(&a, 51) == 0);
    TRY(wsp_expect(&a, ARB_P2P_GETHEADERS, NULL, NULL, WAIT_MS) == 1); /* the sync peer */
    TRY(wsp_connect(&b, P, "127.0.5.2", ps) == 0 && wsp_handshake(&b, 52) == 0);
    TRY(metric(ps, "p2p_disconnect_headers_stalled") == 0);
    /* b is asked only once a has been dropped for not answering. */
    TRY(wsp_expect(&b, ARB_P2P_GETHEADERS, NULL, NULL, WAIT_MS) == 1);
    TRY(metric(ps, "p2p_disconnect_headers_stalled") == 1);
    TRY(wsp_wait_closed(&a, WAIT_MS));
    TRY(log_has(&s, "syncing headers from 127.0.5.2", NULL));
out:
    wsp_close(&a);
    wsp_close(&b);
    node_stop(&s);
}

/* BIP152 negotiation and completion: a node sends sendcmpct to a peer that
 * advertises compact blocks; only a peer that asked gets a new block as a
 * cmpctblock (the other gets its header). A compact block whose
 * transactions the node partly lacks is completed with getblocktxn /
 * blocktxn; one answered with wrong transactions falls back to the whole
 * block (getdata) and earns its sender no credit. */
static void compact_negotiation(void)
{
    node r;
    int pr = arb_test_free_port();
    key k, to;
    coin cs[6];
    char hash[65];
    wspeer w, plain;
    arb_hash tip;
    arb_block_header tiphdr;
    uint32_t height = 0;
    memset(&r, 0, sizeof r);
    memset(&w, 0, sizeof w);
    memset(&plain, 0, sizeof plain);
    w.fd = plain.fd = -1;
    key_new(&k);
    key_new(&to);
    TRY(node_start(&r, "cmpctneg", pr, NULL, 0, NULL));
    for (int i = 0; i < 6; i++) {
        arb_block b;
        TRY(mine(pr, &k, &b, hash));
        TRY(coin_of(&b, &cs[i]));
        arb_block_clear(&b);
    }
    for (uint32_t i = 0; i < P->coinbase_maturity; i++)
        TRY(mine(pr, &k, NULL, hash));

    /* Negotiation. */
    TRY(wsp_connect(&w, P, "127.0.6.1", pr) == 0 &&
        wsp_handshake_services(&w, 61, ARB_P2P_SERVICE_NETWORK | ARB_P2P_SERVICE_CMPCT) == 0);
    {
        uint8_t *pl = NULL, want[9];
        size_t plen = 0;
        TRY(wsp_expect(&w, ARB_P2P_SENDCMPCT, &pl, &plen, WAIT_MS) == 1);
        arb_buf sb = ARB_BUF_INIT;
        arb_p2p_sendcmpct_write(&sb, 1, ARB_P2P_CMPCT_VERSION);
        memcpy(want, sb.data, 9);
        arb_buf_free(&sb);
        int same = plen == 9 && memcmp(pl, want, 9) == 0;
        free(pl);
        TRY(same);
        TRY(wsp_send_msg(&w, ARB_P2P_SENDCMPCT, want, 9) == 0);
    }
    TRY(wsp_connect(&plain, P, "127.0.6.2", pr) == 0 &&
        wsp_handshake_services(&plain, 62, ARB_P2P_SERVICE_NETWORK | ARB_P2P_SERVICE_CMPCT) == 0);
    TRY(pong_without_getdata(&w)); /* its sendcmpct has been handled */
    TRY(pong_without_getdata(&plain));
    /* Two blocks: after the first both are known to be at the second's
     * parent; then only w asked for compact blocks. */
    TRY(mine(pr, &k, NULL, hash));
    TRY(wsp_expect(&plain, ARB_P2P_HEADERS, NULL, NULL, WAIT_MS) == 1);
    TRY(mine(pr, &k, NULL, hash));
    {
        int got = 0;
        for (;;) {
            uint8_t *m, type;
            size_t len, plen;
            const uint8_t *pl;
            const char *reason;
            if (wsp_recv(&w, &m, &len, WAIT_MS) != 1)
                break;
            int ok = arb_p2p_frame_decode(m, len, P->magic, &type, &pl, &plen, &reason) == ARB_OK;
            if (ok && type == ARB_P2P_CMPCTBLOCK) {
                arb_p2p_cmpct c;
                arb_hash hh;
                char hx[65];
                arb_p2p_cmpct_init(&c);
                if (arb_p2p_cmpct_read(&c, pl, plen) == ARB_OK) {
                    arb_header_hash(H, &hh, &c.header);
                    arb_chain_hash_hex(hx, &hh);
                    got = strcmp(hx, hash) == 0;
                }
                arb_p2p_cmpct_clear(&c);
            }
            free(m);
            if (got)
                break;
        }
        TRY(got);
    }
    {
        uint8_t *pl = NULL;
        size_t plen = 0;
        int hdr_ok = 0;
        TRY(wsp_expect(&plain, ARB_P2P_HEADERS, &pl, &plen, WAIT_MS) == 1);
        if (plen == 81) {
            arb_block_header hh;
            size_t k1;
            arb_hash x;
            char hx[65];
            if (arb_p2p_headers_read(&hh, &k1, pl, plen) == ARB_OK) {
                arb_header_hash(H, &x, &hh);
                arb_chain_hash_hex(hx, &x);
                hdr_ok = strcmp(hx, hash) == 0;
            }
        }
        free(pl);
        TRY(hdr_ok);
    }
    wsp_close(&plain);

    /* A compact block from w: two of its four transactions are in the
     * node's mempool, two are not. */
    for (int round = 0; round < 2; round++) {
        /* round 0: four transactions, the first two in the node's mempool;
         * round 1: two, the first in the mempool, and the answer to the
         * node's getblocktxn is another spend of the second's coin. */
        size_t ntx = round == 0 ? 4 : 2, pooled = round == 0 ? 2 : 1;
        char txids[4][65], wid[65];
        arb_tx txs[4], wrong;
        arb_block blk;
        arb_p2p_cmpct c;
        arb_errbuf eb;
        json_t *j = NULL;
        char path[128];
        arb_tx_init(&wrong);
        for (size_t i = 0; i < 4; i++)
            arb_tx_init(&txs[i]);
        for (size_t i = 0; i < ntx; i++) {
            arb_buf one = ARB_BUF_INIT;
            build_spend(&one, &cs[round == 0 ? i : 4 + i], &k, &to, 1000, txids[i], NULL);
            TRY(arb_tx_decode(&txs[i], one.data, one.len, &eb) == ARB_OK);
            if (i < pooled)
                TRY(arb_tl_post_hex(at(pr, NULL), "/chain/v1/tx", one.data, one.len, NULL) == 200);
            arb_buf_free(&one);
        }
        {
            arb_buf one = ARB_BUF_INIT;
            build_spend(&one, &cs[5], &k, &to, 2000, wid, NULL);
            TRY(arb_tx_decode(&wrong, one.data, one.len, &eb) == ARB_OK);
            arb_buf_free(&one);
        }
        TRY(tip_of(pr, hash, &height));
        TRY(arb_chain_hash_from_hex(&tip, hash));
        snprintf(path, sizeof path, "/chain/v1/block?hash=%s", hash);
        TRY(arb_tl_http_json(at(pr, NULL), path, NULL, &j) == 200);
        {
            const char *hx = json_string_value(json_object_get(j, "header"));
            uint8_t h80[80];
            int ok = hx != NULL && arb_hex_decode(h80, 80, hx, 160);
            json_decref(j);
            TRY(ok);
            arb_header_decode(&tiphdr, h80);
        }
        arb_block_init(&blk);
        TRY(arb_chain_block_build(P, H, &blk, &tip, tiphdr.time, height + 1, 0x207fffff,
                                  (int64_t)time(NULL), k.pk, txs, ntx, 1000 * ntx, NULL) == ARB_OK);
        TRY(arb_chain_mine_header(&blk.header, 0, 1ULL << 32));
        arb_p2p_cmpct_init(&c);
        TRY(arb_p2p_cmpct_from_block(H, &c, &blk, 7 + (uint64_t)round) == ARB_OK);
        arb_buf cb = ARB_BUF_INIT;
        arb_p2p_cmpct_write(&cb, &c);
        arb_p2p_cmpct_clear(&c);
        TRY(wsp_send_msg(&w, ARB_P2P_CMPCTBLOCK, cb.data, cb.len) == 0);
        arb_buf_free(&cb);
        /* It asks for exactly the ones it lacks. */
        uint8_t *pl = NULL;
        size_t plen = 0;
        arb_hash bh, ah;
        uint32_t *idx = NULL;
        size_t nidx = 0;
        arb_header_hash(H, &bh, &blk.header);
        TRY(wsp_expect(&w, ARB_P2P_GETBLOCKTXN, &pl, &plen, WAIT_MS) == 1);
        int gb = arb_p2p_getblocktxn_read(&ah, &idx, &nidx, pl, plen) == ARB_OK;
        free(pl);
        TRY(gb && arb_hash_eq(&ah, &bh));
        /* round 0: block txs 3, 4 (after the coinbase); round 1: tx 2. */
        if (round == 0)
            TRY(nidx == 2 && idx[0] == 3 && idx[1] == 4);
        else
            TRY(nidx == 1 && idx[0] == 2);
        const arb_tx *ans[2];
        for (size_t i = 0; i < nidx; i++)
            ans[i] = round == 0 ? &blk.tx[idx[i]] : &wrong;
        free(idx);
        arb_buf bt = ARB_BUF_INIT;
        arb_p2p_blocktxn_write(&bt, &bh, ans, nidx);
        TRY(wsp_send_msg(&w, ARB_P2P_BLOCKTXN, bt.data, bt.len) == 0);
        arb_buf_free(&bt);
        char bhx[65];
        arb_chain_hash_hex(bhx, &bh);
        if (round == 0) {
            TRY(wait_tips(&r, 1, bhx));
            /* The counters move after the tip does: wait for them. */
            TRY(wait_metric_at_least(pr, "p2p_cmpct_rebuilt", 1));
            TRY(metric(pr, "p2p_cmpct_rebuilt") == 1);
            TRY(metric(pr, "p2p_cmpct_fallbacks") == 0);
        } else {
            /* The merkle root does not match: the whole block is asked for. */
            uint8_t *gp = NULL;
            size_t gl = 0;
            arb_p2p_inv *inv = NULL;
            size_t ninv = 0;
            TRY(wsp_expect(&w, ARB_P2P_GETDATA, &gp, &gl, WAIT_MS) == 1);
            int gd = arb_p2p_inv_read(&inv, &ninv, gp, gl) == ARB_OK && ninv == 1 &&
                     inv[0].type == ARB_INV_BLOCK && arb_hash_eq(&inv[0].hash, &bh);
            free(inv);
            free(gp);
            TRY(gd);
            TRY(metric(pr, "p2p_cmpct_fallbacks") == 1);
            TRY(send_block(&w, &blk) == 0);
            TRY(wait_tips(&r, 1, bhx));
            TRY(wait_metric_at_least(pr, "p2p_cmpct_not_credited", 1));
            TRY(metric(pr, "p2p_cmpct_not_credited") == 1);
            TRY(metric(pr, "p2p_misbehaviour_blocktxn_mismatch") == 0);
            TRY(pong_without_getdata(&w)); /* still connected */
        }
        arb_block_clear(&blk);
        for (int i = 0; i < 4; i++)
            arb_tx_clear(&txs[i]);
        arb_tx_clear(&wrong);
    }
out:
    wsp_close(&w);
    wsp_close(&plain);
    node_stop(&r);
}

/* A ban's entry in /p2p/v1/bans: 1 manual, 0 a discouragement, -1 none. */
static int ban_kind(int port, const char *ip)
{
    json_t *j;
    int kind = -1;
    if (arb_tl_http_json(at(port, NULL), "/p2p/v1/bans", NULL, &j) == 200 && j != NULL) {
        json_t *arr = json_object_get(j, "bans");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *e = json_array_get(arr, i);
            if (strcmp(json_string_value(json_object_get(e, "address")), ip) == 0)
                kind = json_is_true(json_object_get(e, "manual"));
        }
    }
    json_decref(j);
    return kind;
}

/* A wspeer from ip: 1 if the node keeps it (handshake, then a pong), 0 if
 * it closes the connection. */
static int admitted(int port, const char *ip)
{
    wspeer w;
    int ok = wsp_connect(&w, P, ip, port) == 0 && wsp_handshake(&w, 77) == 0 &&
             pong_without_getdata(&w);
    wsp_close(&w);
    return ok;
}

/* Operator bans survive a restart (even after SIGKILL once the ban is
 * shown), discouragement does not; an unban survives too. */
static void bans_persist(void)
{
    node b;
    int pb = arb_test_free_port();
    char tok[65], body[128];
    wspeer w;
    memset(&b, 0, sizeof b);
    memset(&w, 0, sizeof w);
    w.fd = -1;
    TRY(node_start(&b, "bans", pb, NULL, 0, NULL));
    TRY(read_token(&b, tok));
    {
        char auth[128];
        char *resp = NULL;
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
        snprintf(body, sizeof body, "{\"address\":\"127.0.4.1\",\"seconds\":3600}");
        TRY(arb_tl_http(at(pb, auth), "/p2p/v1/ban", body, &resp) == 200);
        free(resp);
    }
    /* A discouragement: a malformed ping after the handshake. */
    TRY(wsp_connect(&w, P, "127.0.4.2", pb) == 0 && wsp_handshake(&w, 42) == 0);
    TRY(wsp_send_msg(&w, ARB_P2P_PING, "x", 1) == 0);
    TRY(wsp_wait_closed(&w, WAIT_MS));
    wsp_close(&w);
    for (int t = 0; t < WAIT_MS / 100 && (ban_kind(pb, "127.0.4.1") != 1 ||
                                          ban_kind(pb, "127.0.4.2") != 0); t++)
        sleep_ms(100);
    TRY(ban_kind(pb, "127.0.4.1") == 1 && ban_kind(pb, "127.0.4.2") == 0);
    TRY(!admitted(pb, "127.0.4.1"));
    TRY(log_has(&b, "banned 127.0.4.1 for 3600 s", NULL));
    TRY(log_has(&b, "127.0.4.2", "malformed-ping (discouraged)"));
    /* SIGKILL: the ban was written before it was shown. */
    arb_proc_kill(b.p, SIGKILL);
    arb_proc_wait(b.p, WAIT_MS);
    arb_proc_free(b.p);
    b.p = NULL;
    TRY(node_start(&b, "bans", pb, NULL, 0, NULL));
    TRY(ban_kind(pb, "127.0.4.1") == 1);
    TRY(ban_kind(pb, "127.0.4.2") == -1);
    TRY(!admitted(pb, "127.0.4.1"));
    TRY(admitted(pb, "127.0.4.2"));
    TRY(metric(pb, "p2p_disconnect_discouraged") >= 1);
    TRY(read_token(&b, tok));
    TRY(admin(pb, "unban", tok, "127.0.4.1") == 200);
    for (int t = 0; t < WAIT_MS / 100 && ban_kind(pb, "127.0.4.1") != -1; t++)
        sleep_ms(100);
    node_stop(&b);
    TRY(node_start(&b, "bans", pb, NULL, 0, NULL));
    TRY(ban_kind(pb, "127.0.4.1") == -1);
    TRY(admitted(pb, "127.0.4.1"));
    /* A corrupt ban list is reported and ignored. */
    node_stop(&b);
    {
        char path[1400];
        snprintf(path, sizeof path, "%s/banlist.dat", b.dir);
        FILE *f = fopen(path, "wb");
        TRY(f != NULL);
        fputs("not a ban list", f);
        fclose(f);
    }
    TRY(node_start(&b, "bans", pb, NULL, 0, NULL));
    TRY(metric(pb, "p2p_banlist_file_ignored") == 1);
    TRY(admitted(pb, "127.0.4.1"));
out:
    wsp_close(&w);
    node_stop(&b);
}

/* The automatic outbound peers of a node's address book, of a type:
 * how many are handshaked, and the address of one (if addr != NULL). */
static int peers_of_type(int port, const char *type, char *addr, size_t cap)
{
    json_t *j;
    int c = 0;
    if (arb_tl_http_json(at(port, NULL), "/p2p/v1/peers", NULL, &j) == 200 && j != NULL) {
        json_t *arr = json_object_get(j, "peers");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *e = json_array_get(arr, i);
            const char *t = json_string_value(json_object_get(e, "connection_type"));
            if (t != NULL && strcmp(t, type) == 0 &&
                json_is_true(json_object_get(e, "handshaked"))) {
                c++;
                if (addr != NULL)
                    snprintf(addr, cap, "%s", json_string_value(json_object_get(e, "address")));
            }
        }
    }
    json_decref(j);
    return c;
}

/* Connection types: a node with no full-relay slots and one block-relay-only
 * slot dials an address it learnt (B's, passed on by C) as block-relay-only:
 * blocks reach B over it, transactions and their invs do not. A feeler
 * tests an address of the new table and moves it to tried. */
static void connection_types(void)
{
    node a, b, c, d, f, g;
    int pa = arb_test_free_port(), pb = arb_test_free_port(), pc = arb_test_free_port(),
        pd = arb_test_free_port(), pf = arb_test_free_port(), pg = arb_test_free_port();
    const char *ea[] = {"--p2p-max-outbound", "0", "--p2p-block-relay-outbound", "1",
                        "--p2p-feeler-interval", "0", NULL};
    const char *eno[] = {"--p2p-no-outbound", "1", NULL};
    const char *ef[] = {"--p2p-max-outbound", "0", "--p2p-block-relay-outbound", "0",
                        "--p2p-feeler-interval", "1", NULL};
    char ca[64], cc[64], cf[64], want[64], got[64], hash[65], txid[65];
    const char *conn1[1];
    key k, to;
    coin cn;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    memset(&f, 0, sizeof f);
    memset(&g, 0, sizeof g);
    key_new(&k);
    key_new(&to);
    snprintf(ca, sizeof ca, "127.0.0.1:%d", pa);
    snprintf(cc, sizeof cc, "127.0.0.1:%d", pc);
    snprintf(cf, sizeof cf, "127.0.0.1:%d", pf);
    TRY(node_start_at(&a, "ta", "127.0.0.1", pa, NULL, 0, ea));
    {
        arb_block blk;
        TRY(mine(pa, &k, &blk, hash));
        TRY(coin_of(&blk, &cn));
        arb_block_clear(&blk);
        for (uint32_t i = 0; i < P->coinbase_maturity; i++)
            TRY(mine(pa, &k, NULL, hash));
    }
    /* C listens on 0.0.0.0, so it does not advertise itself: A learns only
     * B's address, which C passes on. */
    conn1[0] = ca;
    TRY(node_start_at(&c, "tc", "0.0.0.0", pc, conn1, 1, eno));
    conn1[0] = cc;
    TRY(node_start_at(&b, "tb", "127.0.0.1", pb, conn1, 1, eno));
    snprintf(want, sizeof want, "127.0.0.1:%d", pb);
    for (int t = 0; t < WAIT_MS / 100 && peers_of_type(pa, "block-relay-only", NULL, 0) == 0; t++)
        sleep_ms(100);
    TRY(peers_of_type(pa, "block-relay-only", got, sizeof got) == 1);
    TRY(strcmp(got, want) == 0);
    node_stop(&c); /* B's only link to A is now the block-relay-only one */
    conn1[0] = ca;
    TRY(node_start_at(&d, "td", "127.0.0.1", pd, conn1, 1, eno)); /* a full-relay peer of A */
    TRY(wait_peers(pd, 1));
    TRY(wait_tips(&b, 1, hash)); /* blocks reach B */
    /* D holds the coin's block before the spend is relayed (a spend of a
     * coin it does not know yet would only be an orphan there). */
    TRY(wait_tips(&d, 1, hash));
    TRY(spend(pa, &cn, &k, &to, txid, NULL) == 200);
    TRY(wait_mempools(&d, 1, txid)); /* relayed to the full-relay peer */
    TRY(mine(pa, &k, NULL, hash));
    TRY(wait_tips(&b, 1, hash));
    sleep_ms(500); /* what A might still have queued for B would be out by now */
    TRY(metric(pb, "p2p_msgs_in_inv") == 0);
    TRY(metric(pb, "p2p_msgs_in_tx") == 0);
    TRY(metric(pd, "p2p_msgs_in_inv") >= 1);
    TRY(log_has(&a, "outbound block-relay-only peer", "connected: version 1"));

    /* A feeler: F has no outbound slots; G's address (it connects to F and
     * advertises itself) is tested and moves to tried. */
    TRY(node_start_at(&f, "tf", "127.0.0.1", pf, NULL, 0, ef));
    conn1[0] = cf;
    TRY(node_start_at(&g, "tg", "127.0.0.1", pg, conn1, 1, eno));
    TRY(wait_metric_at_least(pf, "p2p_feelers", 1));
    TRY(wait_metric_at_least(pf, "p2p_disconnect_feeler", 1));
    TRY(metric(pf, "p2p_addrman_tried") >= 1);
    /* F dialled nothing but feelers (no full-relay or block-relay slots). */
    TRY(metric(pf, "p2p_outbound_attempts") == 0);
    TRY(metric(pf, "p2p_feeler_attempts") >= 1);
out:
    node_stop(&a);
    node_stop(&b);
    node_stop(&c);
    node_stop(&d);
    node_stop(&f);
    node_stop(&g);
}

int main(int argc, char **argv)
{
    arb_test_seed_init();
    if (argc > 1)
        catchup_len = (uint32_t)strtoul(argv[1], NULL, 10);
    if (catchup_len < 110)
        catchup_len = 110;
    arb_test_bin(bin, sizeof bin, "arbord");
    if (arb_test_tmpdir(tmp, sizeof tmp) != 0 || arb_sha256_new(&H) != ARB_OK ||
        arb_schnorr_new(&S) != ARB_OK || (P = arb_chain_params_get("regtest")) == NULL) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc > 2 && strcmp(argv[2], "more") == 0) {
        flow_control();
        sync_peer();
        compact_negotiation();
        bans_persist();
        connection_types();
        goto done;
    }
    if (argc > 2 && strcmp(argv[2], "address-book") == 0) {
        address_book(); /* that scenario alone */
    } else if (argc <= 2 || strcmp(argv[2], "catch-up") != 0) {
        line_and_ring();
        partition_heal();
        hostile();
        eviction();
        compact_relay();
        address_book();
    }
    if (argc <= 2 || strcmp(argv[2], "address-book") != 0)
        catch_up();
done:
    curl_global_cleanup();
    arb_sha256_free(H);
    arb_schnorr_free(S);
    arb_test_rmtree(tmp);
    return arb_test_done();
}
