/* The name layer and log anchors across a reorganization, and the namespace
 * and anchor rules at the HTTP boundary, on real regtest arbord processes
 * over 127.0.0.1 (transactions built here from ledger/names, ledger/anchor):
 *   - reorg: nodes A and B on one chain are split (admin disconnect); A mines
 *     a name register, its update and a log anchor; B mines a longer branch
 *     with another, consistent anchor of the same log. Healed, A takes B's
 *     branch: its name and namespace answers, their state proofs (so its
 *     state tree), its anchors and its UTXO digest equal B's; the register
 *     and update are back in A's mempool, the anchor that no longer follows
 *     the chain's head is not (anchor-bad-consistency), the log's anchors
 *     no longer list it, and an anchored inclusion proof taken on the losing
 *     branch, which arbor-audit verify-anchored accepted with A's headers
 *     then, fails against its headers now; mined again the register and
 *     update give the same records on both nodes.
 *   - rules: a namespace revealed and never made ready lapses at the launch
 *     window (40 blocks on regtest): an import and a ready after it are
 *     refused (namespace-lapsed), another key's preorder and reveal are
 *     accepted and the name imported under the lapsed reveal reads as
 *     available; GET /names/v1/price against prices computed by hand (both
 *     discounts, the truncation before * 10); anchors refused each with its
 *     reason (bad signature, smaller size, wrong proof, earlier timestamp),
 *     the wrong proof and the smaller size also inside a mined block (the
 *     block is refused with the anchor's reason), payload bytes that do not
 *     parse and a state root outside the coinbase. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/bech32.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/mine.h"
#include "ledger/log/key.h"
#include "ledger/names/nameop.h"
#include "merkle/proof.h"
#include "merkle/smt.h"
#include "tests/proc.h"
#include "tests/test.h"

#define WAIT_MS 20000
#define FEE 20000u
#define NS "arbortest"

static char bin[4096];
static char tmp[1024];
static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static int PORT;
static const char *AUTH; /* an extra header line for http(), or NULL */

/* ---------------------------------------------------------------- HTTP */

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    arb_buf *b = ud;
    arb_buf_put(b, p, sz * n);
    return b->oom ? 0 : sz * n;
}

static long http(const char *path, const char *body, json_t **out)
{
    char url[2048];
    long status = 0;
    arb_buf resp = ARB_BUF_INIT;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", PORT, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    if (body != NULL)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (AUTH != NULL)
        hdrs = curl_slist_append(hdrs, AUTH);
    if (hdrs != NULL)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (out)
        *out = resp.len ? json_loadb((const char *)resp.data, resp.len, 0, NULL) : NULL;
    arb_buf_free(&resp);
    return status;
}

static long post_hex(const char *path, const uint8_t *d, size_t n, json_t **out)
{
    char *hex = malloc(2 * n + 1), *body = malloc(2 * n + 16);
    arb_hex_encode(hex, d, n);
    sprintf(body, "{\"hex\":\"%s\"}", hex);
    long st = http(path, body, out);
    free(hex);
    free(body);
    return st;
}

static const char *jstr(json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

static int64_t jint(json_t *j, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(j, k));
}

static uint8_t *unhex(const char *hex, size_t *len)
{
    uint8_t *raw = NULL;
    if (hex == NULL || arb_hex_decode_alloc(&raw, len, hex) != ARB_OK)
        return NULL;
    return raw;
}

/* ---------------------------------------------------------------- keys, coins, blocks */

typedef struct {
    uint8_t sk[32], pk[32];
    char addr[ARB_ADDR_MAX];
    arb_outpoint coin; /* the key's one coin, spent and replaced by each transaction */
    uint64_t amount;
} actor;

static void actor_new(actor *a)
{
    memset(a, 0, sizeof *a);
    do
        arb_test_rand_bytes(a->sk, 32);
    while (!arb_schnorr_pubkey(S, a->pk, a->sk));
    if (!arb_address_encode(a->addr, P->hrp, a->pk))
        abort();
}

static uint32_t tip_height(void)
{
    json_t *j = NULL;
    uint32_t h = 0;
    if (http("/chain/v1/tip", NULL, &j) == 200)
        h = (uint32_t)jint(j, "height");
    json_decref(j);
    return h;
}

/* Mines the node's template (paying `to`); returns the block's height or 0. */
static uint32_t mine(const actor *to)
{
    char path[256];
    json_t *t = NULL, *r = NULL;
    arb_block b;
    arb_errbuf eb;
    size_t len;
    uint32_t height = 0;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", to->addr);
    if (http(path, NULL, &t) != 200)
        return 0;
    uint8_t *raw = unhex(jstr(t, "hex"), &len);
    arb_block_init(&b);
    if (raw != NULL && arb_block_decode(&b, raw, len, &eb) == ARB_OK) {
        arb_hash root;
        char rh[65];
        /* the template's state_root is its coinbase's */
        CHECK_OR(arb_chain_coinbase_root(&b.tx[0], &root), 0);
        arb_hex_encode(rh, root.b, 32);
        CHECK_OR(strcmp(jstr(t, "state_root"), rh) == 0, 0);
        if (!arb_chain_mine_header(&b.header, 0, 1ULL << 32))
            abort();
        arb_buf buf = ARB_BUF_INIT;
        arb_block_write(&buf, &b);
        if (post_hex("/chain/v1/block", buf.data, buf.len, &r) == 200)
            height = (uint32_t)jint(r, "height");
        else
            arb_test_fail(__FILE__, __LINE__, "block refused: %s", jstr(r, "error"));
        arb_buf_free(&buf);
        json_decref(r);
    }
    free(raw);
    arb_block_clear(&b);
    json_decref(t);
    return height;
}

static void mine_to(const actor *to, uint32_t height)
{
    while (tip_height() < height)
        CHECK(mine(to) > 0);
}

/* A transaction of a: its coin in, the change (coin - burn - FEE) back to a,
 * and the payload. Not posted. */
static void op_tx(arb_tx *tx, const actor *a, uint8_t type, const uint8_t *pl, size_t plen,
                  uint64_t burn)
{
    arb_txout spent = {a->amount, {0}};
    memcpy(spent.key, a->pk, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        abort();
    tx->version = 1;
    tx->in[0] = a->coin;
    tx->out[0].amount = a->amount - burn - FEE;
    memcpy(tx->out[0].key, a->pk, 32);
    if (type != 0) {
        tx->payload_type = type;
        tx->payload = malloc(plen);
        memcpy(tx->payload, pl, plen);
        tx->payload_len = plen;
    }
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, a->sk, NULL) != ARB_OK)
        abort();
}

/* Posts tx of a: "ok" (and a's coin moves to the change) or the reason. */
static const char *post_op(actor *a, arb_tx *tx)
{
    static char why[128];
    json_t *j = NULL;
    arb_buf buf = ARB_BUF_INIT;
    arb_hash id;
    arb_tx_write(&buf, tx, 1);
    long st = post_hex("/chain/v1/tx", buf.data, buf.len, &j);
    arb_buf_free(&buf);
    if (st == 200) {
        if (arb_tx_txid(H, &id, tx) != ARB_OK)
            abort();
        a->coin.txid = id;
        a->coin.index = 0;
        a->amount = tx->out[0].amount;
        snprintf(why, sizeof why, "ok");
    } else {
        snprintf(why, sizeof why, "%s", jstr(j, "error"));
    }
    json_decref(j);
    arb_tx_clear(tx);
    return why;
}

/* As post_op, but the transaction goes straight into a block on the node's
 * template (its coinbase carries the state root without it), mined and
 * POSTed: the answer is the block's refusal reason, or "ok". */
static const char *post_in_block(const actor *miner_to, arb_tx *tx)
{
    static char why[128];
    char path[256];
    json_t *t = NULL, *r = NULL;
    arb_block b;
    arb_errbuf eb;
    size_t len;
    uint8_t *raw;
    arb_tx *grown;
    snprintf(why, sizeof why, "(template)");
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", miner_to->addr);
    if (http(path, NULL, &t) != 200) {
        arb_tx_clear(tx);
        return why;
    }
    raw = unhex(jstr(t, "hex"), &len);
    arb_block_init(&b);
    if (raw != NULL && arb_block_decode(&b, raw, len, &eb) == ARB_OK &&
        (grown = realloc(b.tx, (b.n_tx + 1) * sizeof *grown)) != NULL) {
        b.tx = grown;
        b.tx[b.n_tx++] = *tx; /* moved in */
        arb_tx_init(tx);
        if (arb_block_merkle_root(H, &b.header.merkle_root, b.tx, b.n_tx) != ARB_OK ||
            !arb_chain_mine_header(&b.header, 0, 1ULL << 32))
            abort();
        arb_buf buf = ARB_BUF_INIT;
        arb_block_write(&buf, &b);
        if (post_hex("/chain/v1/block", buf.data, buf.len, &r) == 200)
            snprintf(why, sizeof why, "ok");
        else
            snprintf(why, sizeof why, "%s", jstr(r, "error"));
        arb_buf_free(&buf);
        json_decref(r);
    }
    free(raw);
    arb_block_clear(&b);
    arb_tx_clear(tx);
    json_decref(t);
    return why;
}

/* Set: anchor() puts its transaction straight into a block (post_in_block). */
static const actor *g_in_block;

/* A name operation of a (encoded from op). */
static const char *nameop(actor *a, const arb_nameop *op)
{
    arb_buf b = ARB_BUF_INIT;
    arb_tx tx;
    CHECK_OR(arb_nameop_encode(&b, op) == ARB_OK, "(encode)");
    op_tx(&tx, a, op->type, b.data, b.len, arb_nameop_burn(op));
    arb_buf_free(&b);
    return post_op(a, &tx);
}

static void set_full(arb_nameop *op, const char *full)
{
    op->full_len = strlen(full);
    memcpy(op->full, full, op->full_len);
}

static const char *name_preorder(actor *a, const char *full, const uint8_t salt[32],
                                 const uint8_t owner[32], uint64_t burn)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_PREORDER;
    arb_nameop_name_commitment(H, op.commitment, (const uint8_t *)full, strlen(full), salt, owner);
    op.burn = burn;
    return nameop(a, &op);
}

static const char *name_register(actor *a, const char *full, const uint8_t salt[32],
                                 const uint8_t owner[32], const uint8_t *zf)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_REGISTER;
    set_full(&op, full);
    memcpy(op.salt, salt, 32);
    memcpy(op.key, owner, 32);
    if (zf != NULL) {
        op.has_zonefile = 1;
        memcpy(op.zonefile_hash, zf, 32);
    }
    return nameop(a, &op);
}

static const char *name_simple(actor *a, uint8_t type, const char *full, const uint8_t *arg32,
                               uint64_t burn)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = type;
    set_full(&op, full);
    if (type == ARB_NAMEOP_NAME_UPDATE) {
        op.has_zonefile = 1;
        memcpy(op.zonefile_hash, arg32, 32);
    } else if (type == ARB_NAMEOP_NAME_TRANSFER) {
        memcpy(op.key, arg32, 32);
        op.keep_zonefile = 1;
    } else if (type == ARB_NAMEOP_NAME_RENEW) {
        op.burn = burn;
    }
    return nameop(a, &op);
}

/* GET /names/v1/name/<full>: the status code and the answer. */
static long lookup(const char *full, const char *query, json_t **out)
{
    char path[256];
    snprintf(path, sizeof path, "/names/v1/name/%s%s", full, query ? query : "");
    return http(path, NULL, out);
}

static char *name_status(const char *full)
{
    static char st[32];
    json_t *j = NULL;
    st[0] = 0;
    if (lookup(full, NULL, &j) == 200)
        snprintf(st, sizeof st, "%s", jstr(j, "status"));
    json_decref(j);
    return st;
}

/* ---------------------------------------------------------------- anchors */

enum { MAXLEAVES = 64 };
typedef struct {
    arb_hash leaf[MAXLEAVES];
} tree;

static void tree_init(tree *t, const char *tag)
{
    for (int i = 0; i < MAXLEAVES; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%s %d", tag, i);
        arb_merkle_leaf_hash(H, &t->leaf[i], buf, (size_t)n);
    }
}

static arb_err get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    tree *t = ud;
    arb_hash l, r;
    if (level == 0) {
        if (index >= MAXLEAVES)
            return ARB_ERR_NOT_FOUND;
        *out = t->leaf[index];
        return ARB_OK;
    }
    if (get_node(ud, level - 1, 2 * index, &l) != ARB_OK ||
        get_node(ud, level - 1, 2 * index + 1, &r) != ARB_OK)
        return ARB_ERR_NOT_FOUND;
    arb_merkle_node_hash(H, out, &l, &r);
    return ARB_OK;
}

/* An anchor transaction of a: the head of t at size signed by the log, with
 * a consistency proof from `from` (0: none). */
static const char *anchor(actor *a, arb_ct_signer *log, const uint8_t *spki, size_t spki_len,
                          tree *t, uint64_t size, uint64_t ts, uint64_t from, tree *proof_tree,
                          int bad_sig)
{
    arb_merkle_source src = {get_node, t}, psrc = {get_node, proof_tree ? proof_tree : t};
    arb_anchor an;
    arb_hash root;
    arb_ct_dsig d;
    uint8_t sig[ARB_CT_SIG_MAX];
    arb_buf b = ARB_BUF_INIT;
    arb_tx tx;
    memset(&an, 0, sizeof an);
    CHECK_OR(arb_merkle_source_root(H, &src, size, &root) == ARB_OK, "(root)");
    CHECK_OR(arb_ct_sth_sign(log, &d, sig, ts, size, root.b) == ARB_OK, "(sign)");
    an.spki = spki;
    an.spki_len = spki_len;
    an.tree_size = size;
    an.timestamp = ts + (bad_sig ? 1 : 0); /* signed over another time */
    memcpy(an.root, root.b, 32);
    an.sig_hash_alg = d.hash_alg;
    an.sig_sig_alg = d.sig_alg;
    an.sig = d.sig;
    an.sig_len = d.sig_len;
    if (from > 0)
        CHECK_OR(arb_merkle_consistency_build(H, &psrc, from, size, an.proof, &an.proof_len) ==
                     ARB_OK,
                 "(proof)");
    CHECK_OR(arb_anchor_encode(&b, &an) == ARB_OK, "(encode)");
    op_tx(&tx, a, ARB_PAYLOAD_LOG_ANCHOR, b.data, b.len, 0);
    arb_buf_free(&b);
    if (g_in_block != NULL)
        return post_in_block(g_in_block, &tx);
    return post_op(a, &tx);
}

/* ---------------------------------------------------------------- the test */

/* Starts a node on a free port (PORT then points at it): no automatic
 * outbound peers, so only the admin API connects the two nodes. */
static arb_proc *start(const char *dir)
{
    const char *argv[] = {bin,  "--datadir",          dir,  "--listen", "127.0.0.1:0",
                          "--json", "--network",      "regtest", "--p2p-no-outbound", "1",
                          "--p2p-tx-delay-ms", "50", NULL};
    arb_proc *p;
    if (arb_proc_spawn(&p, argv) != 0)
        return NULL;
    PORT = arb_proc_wait_port(p, WAIT_MS);
    return p;
}

static int stop(arb_proc *p)
{
    if (p == NULL)
        return -1;
    int st = arb_proc_kill(p, SIGTERM) == 0 ? arb_proc_wait(p, 60000) : -1;
    arb_proc_free(p);
    return st;
}

/* Pays `each` to every key from the coinbase of block `height` (mined to
 * the miner and mature). */
static void fund(actor *miner, uint32_t height, actor **to, size_t n, uint64_t each)
{
    char bpath[64];
    json_t *j = NULL;
    arb_block b;
    arb_errbuf eb;
    size_t len;
    arb_hash cb_id;
    /* the coinbase of block 1 pays the miner */
    snprintf(bpath, sizeof bpath, "/chain/v1/block?height=%u", height);
    CHECK_EQ(http(bpath, NULL, &j), 200);
    uint8_t *raw = unhex(jstr(j, "hex"), &len);
    arb_block_init(&b);
    CHECK(raw != NULL && arb_block_decode(&b, raw, len, &eb) == ARB_OK);
    free(raw);
    json_decref(j);
    CHECK(arb_tx_txid(H, &cb_id, &b.tx[0]) == ARB_OK);
    uint64_t total = b.tx[0].out[0].amount;
    arb_block_clear(&b);
    arb_tx tx;
    arb_txout spent = {total, {0}};
    memcpy(spent.key, miner->pk, 32);
    arb_tx_init(&tx);
    CHECK(arb_tx_alloc(&tx, 1, n) == ARB_OK);
    tx.version = 1;
    tx.in[0].txid = cb_id;
    tx.in[0].index = 0;
    for (size_t i = 0; i < n; i++) {
        tx.out[i].amount = each;
        memcpy(tx.out[i].key, to[i]->pk, 32);
    }
    CHECK(arb_chain_sign_input(P, H, S, &tx, 0, &spent, miner->sk, NULL) == ARB_OK);
    arb_hash id;
    CHECK(arb_tx_txid(H, &id, &tx) == ARB_OK);
    arb_buf buf = ARB_BUF_INIT;
    arb_tx_write(&buf, &tx, 1);
    CHECK_EQ(post_hex("/chain/v1/tx", buf.data, buf.len, &j), 200);
    json_decref(j);
    arb_buf_free(&buf);
    arb_tx_clear(&tx);
    for (size_t i = 0; i < n; i++) {
        to[i]->coin.txid = id;
        to[i]->coin.index = (uint32_t)i;
        to[i]->amount = each;
    }
}


/* ---------------------------------------------------------------- two nodes */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* POST /p2p/v1/<cmd> {"address": "127.0.0.1:<peer>"} on PORT with the
 * node's admin token (DIR/.cookie). */
static long admin(const char *dir, const char *cmd, int peer)
{
    char path[1300], body[64], auth[128];
    size_t n;
    snprintf(path, sizeof path, "%s/.cookie", dir);
    uint8_t *tok = arb_test_read_file(path, &n);
    if (tok == NULL || n != 65) {
        free(tok);
        return 0;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %.64s", (const char *)tok);
    free(tok);
    snprintf(path, sizeof path, "/p2p/v1/%s", cmd);
    snprintf(body, sizeof body, "{\"address\":\"127.0.0.1:%d\"}", peer);
    AUTH = auth;
    long st = http(path, body, NULL);
    AUTH = NULL;
    return st;
}

/* Polls the node on `port` until it has `want` handshaked peers. */
static int wait_peers(int port, size_t want)
{
    for (int t = 0; t < WAIT_MS / 100; t++) {
        json_t *j = NULL;
        size_t c = 0;
        PORT = port;
        if (http("/p2p/v1/peers", NULL, &j) == 200) {
            json_t *arr = json_object_get(j, "peers");
            for (size_t i = 0; i < json_array_size(arr); i++)
                c += json_is_true(json_object_get(json_array_get(arr, i), "handshaked"));
            if (c == want) {
                json_decref(j);
                return 1;
            }
        }
        json_decref(j);
        sleep_ms(100);
    }
    return 0;
}

static void tip_hash(int port, char out[65])
{
    json_t *j = NULL;
    PORT = port;
    out[0] = 0;
    if (http("/chain/v1/tip", NULL, &j) == 200)
        snprintf(out, 65, "%s", jstr(j, "hash"));
    json_decref(j);
}

/* Polls until both nodes have the same tip (and `want`, if given). */
static int wait_same_tip(int a, int b, const char *want)
{
    char ha[65], hb[65];
    for (int t = 0; t < WAIT_MS / 100; t++) {
        tip_hash(a, ha);
        tip_hash(b, hb);
        if (ha[0] != 0 && strcmp(ha, hb) == 0 && (want == NULL || strcmp(ha, want) == 0))
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* The answer of GET path on `port`: "STATUS BODY" (body with sorted keys),
 * malloc'd. */
static char *answer(int port, const char *path)
{
    json_t *j = NULL;
    PORT = port;
    long st = http(path, NULL, &j);
    char *body = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(j);
    size_t n = (body ? strlen(body) : 0) + 32;
    char *out = malloc(n);
    snprintf(out, n, "%ld %s", st, body ? body : "");
    free(body);
    return out;
}

/* The same answer from both nodes. */
static void same_answer(int a, int b, const char *path)
{
    char *x = answer(a, path), *y = answer(b, path);
    if (strcmp(x, y) != 0)
        arb_test_fail(__FILE__, __LINE__, "%s differs:\n  A: %.600s\n  B: %.600s", path, x, y);
    else
        arb_test_passed++;
    free(x);
    free(y);
}

static int in_mempool(int port, const arb_hash *id)
{
    json_t *j = NULL;
    char hex[65];
    int found = 0;
    arb_chain_hash_hex(hex, id);
    PORT = port;
    if (http("/chain/v1/mempool", NULL, &j) == 200) {
        json_t *ids = json_object_get(j, "txids");
        for (size_t i = 0; i < json_array_size(ids); i++)
            found |= strcmp(json_string_value(json_array_get(ids, i)), hex) == 0;
    }
    json_decref(j);
    return found;
}

/* Polls until the transaction is in the node's mempool. */
static int wait_in_mempool(int port, const arb_hash *id)
{
    for (int t = 0; t < WAIT_MS / 100; t++) {
        if (in_mempool(port, id))
            return 1;
        sleep_ms(100);
    }
    return 0;
}

/* A namespace preordered, revealed (price function fn) and, if `ready`,
 * made ready by a; mined on PORT. The reveal's height in *reveal_h. */
static void ns_launch(actor *a, const actor *miner, const char *ns, const uint8_t salt[32],
                      const arb_names_price_fn *fn, int ready, uint32_t *reveal_h)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(H, op.commitment, (const uint8_t *)ns, strlen(ns), salt, a->pk);
    op.burn = arb_names_namespace_price(strlen(ns));
    CHECK_STR(nameop(a, &op), "ok");
    CHECK(mine(miner) > 0);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    op.ns_len = strlen(ns);
    memcpy(op.ns, ns, op.ns_len);
    memcpy(op.salt, salt, 32);
    memcpy(op.key, a->pk, 32);
    op.lifetime = 100;
    op.price = *fn;
    CHECK_STR(nameop(a, &op), "ok");
    *reveal_h = mine(miner);
    CHECK(*reveal_h > 0);
    if (ready) {
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAMESPACE_READY;
        op.ns_len = strlen(ns);
        memcpy(op.ns, ns, op.ns_len);
        CHECK_STR(nameop(a, &op), "ok");
        CHECK(mine(miner) > 0);
    }
}

static const char *name_import(actor *a, const char *full, const uint8_t owner[32])
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_IMPORT;
    set_full(&op, full);
    memcpy(op.key, owner, 32);
    return nameop(a, &op);
}

/* ---------------------------------------------------------------- the auditor */

/* Writes the node's (PORT) headers from the genesis to its tip, raw, to path. */
static int write_headers(const char *path)
{
    json_t *j = NULL;
    int ok = 0;
    FILE *f = fopen(path, "wb");
    if (f != NULL && http("/chain/v1/headers?start=0", NULL, &j) == 200) {
        json_t *hs = json_object_get(j, "headers");
        ok = json_array_size(hs) == (size_t)tip_height() + 1;
        for (size_t i = 0; ok && i < json_array_size(hs); i++) {
            size_t n;
            uint8_t *raw = unhex(json_string_value(json_array_get(hs, i)), &n);
            ok = raw != NULL && n == 80 && fwrite(raw, 1, n, f) == n;
            free(raw);
        }
    }
    json_decref(j);
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

/* Writes an anchored inclusion proof (docs/anchoring.md) of leaf `index` of
 * t at the anchored size `size`, around the anchor's light-client proof. */
static int write_anchored(const char *path, const uint8_t log_id[32], tree *t, uint64_t index,
                          uint64_t size, uint64_t ts, json_t *anchor_proof)
{
    arb_merkle_source src = {get_node, t};
    arb_hash pr[ARB_MERKLE_MAX_PROOF];
    size_t plen;
    if (arb_merkle_inclusion_build(H, &src, index, size, pr, &plen) != ARB_OK)
        return 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < plen; i++) {
        char *b = arb_base64_encode(pr[i].b, 32);
        json_array_append_new(arr, json_string(b));
        free(b);
    }
    char *lid = arb_base64_encode(log_id, 32), *lh = arb_base64_encode(t->leaf[index].b, 32);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:O}", "format",
                          "arbor-anchored-inclusion/1", "network", "regtest", "log_id", lid,
                          "leaf_hash", lh, "sct_timestamp", (json_int_t)ts, "leaf_index",
                          (json_int_t)index, "inclusion_proof", arr, "anchor", anchor_proof);
    free(lid);
    free(lh);
    int ok = o != NULL && json_dump_file(o, path, 0) == 0;
    json_decref(o);
    return ok;
}

/* arbor-audit verify-anchored of the proof file against the headers file:
 * its exit status. */
static int verify_anchored(const char *headers, const char *proof)
{
    char audit[4096];
    arb_proc *p;
    if (arb_test_bin(audit, sizeof audit, "arbor-audit") == NULL)
        return -1;
    const char *argv[] = {audit,     "verify-anchored", "--checkpoint", "genesis", "--headers",
                          headers,   "--json",          proof,          NULL};
    if (arb_proc_spawn(&p, argv) != 0)
        return -1;
    int st = arb_proc_wait(p, WAIT_MS);
    if (st != 0 && st != 1) {
        char *err = arb_proc_output(p, ARB_PROC_STDERR);
        fprintf(stderr, "arbor-audit verify-anchored exited with %d:\n%s\n", st, err ? err : "");
        free(err);
    }
    arb_proc_free(p);
    return st;
}

/* ---------------------------------------------------------------- the reorg */

static void reorg(int A, int B, const char *db)
{
    char path[256], lid[65], win[65], hex[65];
    actor miner, alice, carol, dave;
    uint8_t salt[32], salt2[32], zf1[32], zf2[32], log_id[32];
    arb_names_price_fn fn;
    const char *AL = "alice." NS;
    actor_new(&miner);
    actor_new(&alice);
    actor_new(&carol);
    actor_new(&dave);
    arb_test_rand_bytes(salt, 32);
    arb_test_rand_bytes(salt2, 32);
    arb_test_rand_bytes(zf1, 32);
    arb_test_rand_bytes(zf2, 32);
    memset(&fn, 0, sizeof fn);
    fn.coeff = 1;
    fn.base = 10;
    for (int i = 0; i < 16; i++)
        fn.buckets[i] = 3;
    fn.nonalpha_discount = fn.no_vowel_discount = 1;
    const uint64_t price = 10000; /* 1 * 10^3 / 1 * 10 */

    PORT = B;
    CHECK_EQ(admin(db, "connect", A), 200);
    CHECK(wait_peers(A, 1) && wait_peers(B, 1));

    /* The common chain, mined on A: coins, a ready namespace, alice's
     * preorder of her name. */
    PORT = A;
    mine_to(&miner, P->coinbase_maturity + 1);
    actor *who[3] = {&alice, &carol, &dave};
    fund(&miner, 1, who, 3, 16 * ARB_COIN);
    CHECK(mine(&miner) > 0);
    uint32_t rev_h;
    ns_launch(&alice, &miner, NS, salt, &fn, 1, &rev_h);
    CHECK_STR(name_preorder(&alice, AL, salt2, alice.pk, price), "ok");
    uint32_t pre_h = mine(&miner);
    CHECK(pre_h > 0);
    CHECK(wait_same_tip(A, B, NULL));

    /* Split. */
    PORT = B;
    CHECK_EQ(admin(db, "disconnect", A), 200);
    CHECK(wait_peers(A, 0) && wait_peers(B, 0));

    /* A: the register with an anchor (size 5, carol), then the update. */
    arb_ct_signer *log = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    tree t;
    const uint64_t T = 1700000000000ULL;
    CHECK(arb_ct_signer_generate(&log, NULL) == ARB_OK);
    CHECK(arb_ct_signer_spki(log, &spki, &spki_len) == ARB_OK);
    arb_sha256_digest(H, log_id, spki, spki_len);
    arb_hex_encode(lid, log_id, 32);
    tree_init(&t, "leaf");
    actor carol0 = carol;
    PORT = A;
    CHECK_STR(name_register(&alice, AL, salt2, alice.pk, zf1), "ok");
    arb_hash reg_id = alice.coin.txid;
    CHECK_STR(anchor(&carol, log, spki, spki_len, &t, 5, T + 10, 0, NULL, 0), "ok");
    arb_hash anc_id = carol.coin.txid;
    CHECK_EQ(mine(&miner), pre_h + 1);
    CHECK_STR(name_simple(&alice, ARB_NAMEOP_NAME_UPDATE, AL, zf2, 0), "ok");
    arb_hash upd_id = alice.coin.txid;
    CHECK_EQ(mine(&miner), pre_h + 2);
    CHECK_STR(name_status(AL), "active");
    snprintf(path, sizeof path, "/chain/v1/anchors/%s", lid);
    json_t *j = NULL;
    CHECK_EQ(http(path, NULL, &j), 200);
    CHECK_EQ(jint(json_object_get(j, "latest"), "tree_size"), 5);
    json_decref(j);
    /* an auditor's anchored proof of leaf 4 at size 5, taken now: it
     * verifies against A's headers */
    char hdrs[1300], anchored[1300];
    snprintf(hdrs, sizeof hdrs, "%s/headers", tmp);
    snprintf(anchored, sizeof anchored, "%s/anchored.json", tmp);
    snprintf(path, sizeof path, "/chain/v1/anchors/%s?proof=1", lid);
    CHECK_EQ(http(path, NULL, &j), 200);
    CHECK(json_object_get(json_object_get(j, "proof"), "anchor_tx") != NULL);
    CHECK(write_anchored(anchored, log_id, &t, 4, 5, T + 10, json_object_get(j, "proof")));
    json_decref(j);
    CHECK(write_headers(hdrs));
    CHECK_EQ(verify_anchored(hdrs, anchored), 0);

    /* B: a longer branch without them, with a smaller head of the same log
     * (dave). */
    PORT = B;
    CHECK_EQ(tip_height(), pre_h);
    CHECK_STR(anchor(&dave, log, spki, spki_len, &t, 3, T, 0, NULL, 0), "ok");
    for (int i = 0; i < 3; i++)
        CHECK(mine(&miner) > 0);
    CHECK_EQ(tip_height(), pre_h + 3);
    tip_hash(B, win);
    PORT = B;
    CHECK_STR(name_status(AL), "");

    /* Heal: A takes B's branch. */
    PORT = B;
    CHECK_EQ(admin(db, "connect", A), 200);
    CHECK(wait_same_tip(A, B, win));
    /* A's state is B's: the name (absent) and the namespace with their state
     * proofs, the log's anchors, the UTXO set. */
    snprintf(path, sizeof path, "/names/v1/name/%s?proof=1", AL);
    same_answer(A, B, path);
    same_answer(A, B, "/names/v1/namespace/" NS "?proof=1");
    snprintf(path, sizeof path, "/chain/v1/anchors/%s?proof=1", lid);
    same_answer(A, B, path);
    same_answer(A, B, "/chain/v1/utxo-digest");
    PORT = A;
    CHECK_EQ(lookup(AL, NULL, &j), 404);
    json_decref(j);
    snprintf(path, sizeof path, "/chain/v1/anchors/%s", lid);
    CHECK_EQ(http(path, NULL, &j), 200);
    CHECK_EQ(jint(json_object_get(j, "latest"), "tree_size"), 3);
    CHECK_EQ(json_array_size(json_object_get(j, "anchors")), 1);
    json_decref(j);
    /* the proof taken before the reorg fails against A's new headers */
    CHECK(write_headers(hdrs));
    CHECK_EQ(verify_anchored(hdrs, anchored), 1);
    /* the register and update are back; the size-5 head without a proof
     * from 3 is not, and is refused with its reason */
    CHECK(wait_in_mempool(A, &reg_id));
    CHECK(wait_in_mempool(A, &upd_id));
    CHECK(!in_mempool(A, &anc_id));
    carol = carol0;
    PORT = A;
    CHECK_STR(anchor(&carol, log, spki, spki_len, &t, 5, T + 10, 0, NULL, 0),
              "anchor-bad-consistency");

    /* Mined again (on A): both nodes hold the same records. */
    PORT = A;
    uint32_t h2 = mine(&miner);
    CHECK_EQ(h2, pre_h + 4);
    tip_hash(A, win);
    CHECK(wait_same_tip(A, B, win));
    CHECK(!in_mempool(A, &reg_id) && !in_mempool(A, &upd_id));
    snprintf(path, sizeof path, "/names/v1/name/%s?proof=1", AL);
    same_answer(A, B, path);
    same_answer(A, B, "/chain/v1/utxo-digest");
    /* with both mempools empty, the next block's state root (each node's own
     * state tree) is the same */
    {
        char ra[65], rb[65];
        snprintf(path, sizeof path, "/chain/v1/template?address=%s", miner.addr);
        PORT = A;
        CHECK_EQ(http(path, NULL, &j), 200);
        snprintf(ra, sizeof ra, "%s", jstr(j, "state_root"));
        json_decref(j);
        PORT = B;
        CHECK_EQ(http(path, NULL, &j), 200);
        snprintf(rb, sizeof rb, "%s", jstr(j, "state_root"));
        json_decref(j);
        CHECK(strlen(ra) == 64);
        CHECK_STR(ra, rb);
    }
    PORT = B;
    CHECK_EQ(lookup(AL, NULL, &j), 200);
    CHECK_STR(jstr(j, "status"), "active");
    CHECK_STR(jstr(j, "address"), alice.addr);
    arb_hex_encode(hex, zf2, 32);
    CHECK_STR(jstr(j, "zonefile_hash"), hex);
    CHECK_EQ(jint(j, "registered_height"), h2);
    CHECK_EQ(json_array_size(json_object_get(j, "history")), 2);
    json_decref(j);
    free(spki);
    arb_ct_signer_free(log);
}

static void test_reorg(void)
{
    char da[1200], db[1200];
    snprintf(da, sizeof da, "%s/a", tmp);
    snprintf(db, sizeof db, "%s/b", tmp);
    arb_proc *pa = start(da);
    int A = PORT;
    arb_proc *pb = start(db);
    int B = PORT;
    if (pa != NULL && pb != NULL && A > 0 && B > 0)
        reorg(A, B, db);
    else
        arb_test_fail(__FILE__, __LINE__, "the nodes did not start");
    CHECK_EQ(stop(pa), 0);
    CHECK_EQ(stop(pb), 0);
}

/* ---------------------------------------------------------------- the rules */

static int64_t price_of(const char *full)
{
    char path[256];
    json_t *j = NULL;
    int64_t v = -1;
    snprintf(path, sizeof path, "/names/v1/price/%s", full);
    if (http(path, NULL, &j) == 200)
        v = jint(j, "price");
    json_decref(j);
    return v;
}

static void rules(void)
{
    char full[128];
    actor miner, alice, bob, eve;
    uint8_t salt[32], salt2[32];
    const arb_names_params *np = arb_names_params_get("regtest");
    const char *LNS = "lapsingns";
    json_t *j = NULL;
    actor_new(&miner);
    actor_new(&alice);
    actor_new(&bob);
    actor_new(&eve);
    arb_test_rand_bytes(salt, 32);
    arb_test_rand_bytes(salt2, 32);
    mine_to(&miner, P->coinbase_maturity + 1);
    actor *who[3] = {&alice, &bob, &eve};
    fund(&miner, 1, who, 3, 16 * ARB_COIN);
    CHECK(mine(&miner) > 0);

    /* The lapse: bob reveals, imports one name, never makes it ready. */
    arb_names_price_fn flat, ex;
    memset(&flat, 0, sizeof flat);
    flat.coeff = 1;
    flat.base = 2;
    flat.nonalpha_discount = flat.no_vowel_discount = 1;
    uint32_t rev_h, rev2_h;
    ns_launch(&bob, &miner, LNS, salt, &flat, 0, &rev_h);
    CHECK_EQ(np->namespace_ready_ttl, 40);
    snprintf(full, sizeof full, "old.%s", LNS);
    CHECK_STR(name_import(&bob, full, bob.pk), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(name_status(full), "active");
    /* the last block of the window still takes an import */
    mine_to(&miner, rev_h + np->namespace_ready_ttl - 2);
    snprintf(full, sizeof full, "edge.%s", LNS);
    CHECK_STR(name_import(&bob, full, bob.pk), "ok");
    CHECK_EQ(mine(&miner), rev_h + np->namespace_ready_ttl - 1);
    /* the next block is at reveal + 40: lapsed */
    snprintf(full, sizeof full, "late.%s", LNS);
    CHECK_STR(name_import(&bob, full, bob.pk), "namespace-lapsed");
    {
        arb_nameop op;
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAMESPACE_READY;
        op.ns_len = strlen(LNS);
        memcpy(op.ns, LNS, op.ns_len);
        CHECK_STR(nameop(&bob, &op), "namespace-lapsed");
    }
    /* eve takes the id with her own preorder and reveal, and the worked
     * examples' price function (docs/names.md) */
    memset(&ex, 0, sizeof ex);
    ex.coeff = 1;
    ex.base = 10;
    for (int i = 0; i < 6; i++)
        ex.buckets[i] = (uint8_t)(6 - i);
    ex.nonalpha_discount = 3;
    ex.no_vowel_discount = 4;
    ns_launch(&eve, &miner, LNS, salt2, &ex, 0, &rev2_h);
    CHECK(rev2_h > rev_h + np->namespace_ready_ttl);
    CHECK_EQ(http("/names/v1/namespace/lapsingns", NULL, &j), 200);
    CHECK_EQ(jint(j, "reveal_height"), rev2_h);
    json_decref(j);
    /* the names imported under bob's reveal are stale */
    snprintf(full, sizeof full, "old.%s", LNS);
    CHECK_STR(name_status(full), "available");
    snprintf(full, sizeof full, "/names/v1/price/edge.%s", LNS);
    CHECK_EQ(http(full, NULL, &j), 200);
    CHECK(json_is_true(json_object_get(j, "available")));
    CHECK(json_is_false(json_object_get(j, "namespace_ready")));
    json_decref(j);
    /* and eve may import over them */
    snprintf(full, sizeof full, "old.%s", LNS);
    CHECK_STR(name_import(&bob, full, bob.pk), "namespace-not-revealer");
    CHECK_STR(name_import(&eve, full, eve.pk), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(name_status(full), "active");

    /* Prices, by hand from the formula: exp = buckets[min(len, 16) - 1],
     * ((coeff * base^exp) / max(nv, na)) * 10, truncated before the * 10. */
    static const struct {
        const char *name;
        int64_t price;
    } prices[] = {
        {"a", 10000000},     /* 10^6 / 1 * 10 */
        {"b", 2500000},      /* 10^6 / 4 * 10: no vowel */
        {"bcd", 25000},      /* 10^4 / 4 * 10 */
        {"a2", 333330},      /* 10^5 / 3 = 33,333 (truncated) * 10: non-alpha */
        {"b2", 250000},      /* 10^5 / max(4, 3) * 10 */
        {"yy", 1000000},     /* y counts as a vowel: 10^5 / 1 * 10 */
        {"aaaaaaa", 10},     /* 10^0 / 1 * 10 */
        {"abc-def-ghi-jkl-mno-pqr-stu-vwx-yza-bcd-efg-hij1", 0}, /* 48 bytes: 1 / 3 = 0 */
    };
    for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
        snprintf(full, sizeof full, "%s.%s", prices[i].name, LNS);
        int64_t got = price_of(full);
        if (got != prices[i].price)
            arb_test_fail(__FILE__, __LINE__, "price of %s: %lld, want %lld", full,
                          (long long)got, (long long)prices[i].price);
        else
            arb_test_passed++;
    }

    /* Anchors refused, each with its reason. */
    arb_ct_signer *log = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    tree t, fork;
    const uint64_t T = 1700000000000ULL;
    CHECK(arb_ct_signer_generate(&log, NULL) == ARB_OK);
    CHECK(arb_ct_signer_spki(log, &spki, &spki_len) == ARB_OK);
    tree_init(&t, "leaf");
    tree_init(&fork, "forked");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 13, T, 0, NULL, 1), "anchor-bad-signature");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 13, T, 0, NULL, 0), "ok");
    CHECK(mine(&miner) > 0);
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T + 1, 13, NULL, 1),
              "anchor-bad-signature");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 5, T + 1, 0, NULL, 0),
              "anchor-size-decreased");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T + 1, 13, &fork, 0),
              "anchor-bad-consistency");
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T - 1, 13, NULL, 0),
              "anchor-timestamp-earlier");
    /* The same refusals in a block a miner built around the mempool: the
     * block is refused with the anchor's reason and the tip stays. */
    {
        uint32_t h0 = tip_height();
        g_in_block = &miner;
        CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T + 1, 13, &fork, 0),
                  "anchor-bad-consistency");
        CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 5, T + 1, 0, NULL, 0),
                  "anchor-size-decreased");
        g_in_block = NULL;
        CHECK_EQ(tip_height(), h0);
    }
    /* each of them wrong in one thing only */
    CHECK_STR(anchor(&alice, log, spki, spki_len, &t, 20, T + 1, 13, NULL, 0), "ok");
    CHECK(mine(&miner) > 0);
    /* payload bytes that do not parse, and a state root outside the
     * coinbase */
    {
        uint8_t junk[40];
        arb_tx tx;
        arb_test_rand_bytes(junk, sizeof junk);
        junk[0] = 0xff;
        op_tx(&tx, &alice, ARB_PAYLOAD_LOG_ANCHOR, junk, sizeof junk, 0);
        CHECK_STR(post_op(&alice, &tx), "bad-txns-payload-parse");
        op_tx(&tx, &alice, ARB_NAMEOP_NAME_REGISTER, junk, 3, 0);
        CHECK_STR(post_op(&alice, &tx), "bad-txns-payload-parse");
        op_tx(&tx, &alice, ARB_PAYLOAD_STATE_ROOT, junk, 32, 0);
        CHECK_STR(post_op(&alice, &tx), "bad-txns-payload-type");
    }
    free(spki);
    arb_ct_signer_free(log);
}

static void test_rules(void)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/rules", tmp);
    arb_proc *p = start(dir);
    if (p != NULL && PORT > 0)
        rules();
    else
        arb_test_fail(__FILE__, __LINE__, "the node did not start");
    CHECK_EQ(stop(p), 0);
}

int main(int argc, char **argv)
{
    arb_test_seed_init();
    if (arb_test_bin(bin, sizeof bin, "arbord") == NULL || arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    P = arb_chain_params_get("regtest");
    const char *which = argc > 1 ? argv[1] : "all";
    if (strcmp(which, "reorg") == 0 || strcmp(which, "all") == 0)
        test_reorg();
    if (strcmp(which, "rules") == 0 || strcmp(which, "all") == 0)
        test_rules();
    curl_global_cleanup();
    arb_schnorr_free(S);
    arb_sha256_free(H);
    arb_test_rmtree(tmp);
    return arb_test_done();
}
