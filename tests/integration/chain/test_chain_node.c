/* The chain over HTTP against a real regtest arbord: mining through template
 * and submit, spending a matured coinbase, chains of unconfirmed
 * transactions, double spends in the mempool and across blocks, SPV proofs
 * verified with the RFC 6962 verifier against the header's merkle root,
 * balances and history, a reorg to a heavier branch, and kill -9 at random
 * moments while blocks (and reorgs) are submitted: after each crash the
 * stored UTXO set must equal the one rebuilt from the stored main-chain
 * blocks in a fresh chain state. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/chainstate.h"
#include "ledger/chain/mine.h"
#include "merkle/proof.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/chain.h"

#define WAIT_MS 20000

/* CHECK that runs `action` (break, cleanup) on failure instead of returning. */
#define TRY(cond, action)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            arb_test_passed++;                                                                     \
        } else {                                                                                   \
            arb_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                 \
            action;                                                                                \
        }                                                                                          \
    } while (0)

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

static char bin[4096];
static char tmp[1024];
static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static arb_tl_chain C; /* H, S and P for tests/testlib, set in main */

/* ---------------------------------------------------------------- HTTP */

/* How this test asks the node on port (tests/testlib/http.h): 30 s a request. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 30};
    return o;
}

/* ---------------------------------------------------------------- keys and blocks */

typedef arb_tl_actor key; /* its coin unused */

static long submit_block(int port, const arb_block *b, json_t **out)
{
    arb_buf buf = {0};
    arb_block_write(&buf, b);
    long st = arb_tl_post_hex(at(port), "/chain/v1/block", buf.data, buf.len, out);
    arb_buf_free(&buf);
    return st;
}

/* Template to k, nonce ground here, submitted. Returns the status; *blk (if
 * not NULL) receives the mined block. */
static long mine(int port, const key *k, arb_block *blk, json_t **tmpl_out)
{
    char path[256];
    json_t *t, *r;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", k->addr);
    if (arb_tl_http_json(at(port), path, NULL, &t) != 200 || t == NULL)
        return 0;
    const char *hex = json_string_value(json_object_get(t, "hex"));
    uint8_t *raw;
    size_t len;
    arb_block b;
    arb_errbuf eb;
    arb_block_init(&b);
    if (hex == NULL || arb_hex_decode_alloc(&raw, &len, hex) != ARB_OK) {
        json_decref(t);
        return 0;
    }
    if (arb_block_decode(&b, raw, len, &eb) != ARB_OK ||
        !arb_chain_mine_header(&b.header, 0, 1ULL << 32)) {
        free(raw);
        json_decref(t);
        return 0;
    }
    free(raw);
    long st = submit_block(port, &b, &r);
    json_decref(r);
    if (tmpl_out)
        *tmpl_out = t;
    else
        json_decref(t);
    if (blk)
        *blk = b;
    else
        arb_block_clear(&b);
    return st;
}

/* A block on an arbitrary parent, built and mined here. */
static void build_on(arb_block *out, const arb_hash *parent, uint32_t parent_time,
                     uint32_t height, const uint8_t key32[32], arb_tx *txs, size_t n,
                     uint64_t fees)
{
    arb_block_init(out);
    if (arb_chain_block_build(P, H, out, parent, parent_time, height, 0x207fffff, 0, key32, txs,
                              n, fees, NULL) != ARB_OK ||
        !arb_chain_mine_header(&out->header, 0, 1ULL << 32))
        abort();
}

/* A transaction spending op (an output of `amount` to k) into the given outputs. */
static void make_tx(arb_tx *tx, const arb_outpoint *op, uint64_t amount, const key *k,
                    const arb_txout *outs, size_t n_out)
{
    arb_txout spent = {amount, {0}};
    memcpy(spent.key, k->pk, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, n_out) != ARB_OK)
        abort();
    tx->version = 1;
    tx->in[0] = *op;
    memcpy(tx->out, outs, n_out * sizeof *outs);
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, k->sk, NULL) != ARB_OK)
        abort();
}

static long post_tx(int port, const arb_tx *tx, json_t **out)
{
    arb_buf buf = {0};
    arb_tx_write(&buf, tx, 1);
    long st = arb_tl_post_hex(at(port), "/chain/v1/tx", buf.data, buf.len, out);
    arb_buf_free(&buf);
    return st;
}

static void display(char out[65], const arb_hash *h)
{
    arb_chain_hash_hex(out, h);
}

static arb_proc *start(const char *dir, int *port)
{
    static const char *const regtest[] = {"--network", "regtest", NULL};
    return arb_proc_start_arbord(bin, dir, regtest, WAIT_MS, port);
}

static void stop(arb_proc *p)
{
    if (p == NULL)
        return;
    CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
    CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
    arb_proc_free(p);
}

/* ---------------------------------------------------------------- library-level state checks */

static const char *CFS[1 + ARB_CHAINSTATE_NCF];

static arb_err open_state(const char *dbdir, arb_store **st, arb_chainstate **cs)
{
    arb_errbuf eb;
    arb_store_opts so;
    memset(&so, 0, sizeof so);
    arb_err err = arb_store_open(st, dbdir, CFS, 1 + ARB_CHAINSTATE_NCF, &so, &eb);
    if (err != ARB_OK)
        return err;
    err = arb_chainstate_open(cs, *st, 1, P, 1, NULL, &eb);
    if (err != ARB_OK) {
        arb_store_close(*st);
        *st = NULL;
    }
    return err;
}

/* The node's stored UTXO set equals the one a fresh chain state builds from
 * the node's stored main-chain blocks (submitted in order). */
static void check_rebuild(const char *datadir, arb_chain_tip *tip_out)
{
    char db[1300], db2[1300];
    arb_store *st = NULL, *st2 = NULL;
    arb_chainstate *cs = NULL, *cs2 = NULL;
    snprintf(db, sizeof db, "%s/db", datadir);
    snprintf(db2, sizeof db2, "%s-rebuild", datadir);
    arb_test_rmtree(db2);
    CHECK(open_state(db, &st, &cs) == ARB_OK);
    CHECK(open_state(db2, &st2, &cs2) == ARB_OK);
    arb_chain_tip tip, tip2;
    arb_chainstate_tip(cs, &tip);
    for (uint32_t h = 1; h <= tip.height; h++) {
        arb_hash bh;
        arb_block b;
        arb_block_outcome oc;
        arb_check_result r;
        arb_block_init(&b);
        TRY(arb_chainstate_hash_at(cs, h, &bh) == ARB_OK, break);
        TRY(arb_chainstate_get_block(cs, &bh, NULL, &b, NULL, NULL) == ARB_OK, break);
        TRY(arb_chainstate_submit(cs2, &b, (int64_t)time(NULL), &oc, &r) == ARB_OK &&
                     oc == ARB_BLOCK_CONNECTED,
                 arb_block_clear(&b);
                 break);
        arb_block_clear(&b);
    }
    arb_chainstate_tip(cs2, &tip2);
    CHECK_MEM(tip.hash.b, tip2.hash.b, 32);
    arb_hash d1, d2;
    uint64_t n1, n2;
    CHECK(arb_chainstate_utxo_digest(cs, &d1, &n1) == ARB_OK);
    CHECK(arb_chainstate_utxo_digest(cs2, &d2, &n2) == ARB_OK);
    CHECK_EQ(n1, n2);
    CHECK_MEM(d1.b, d2.b, 32);
    /* The address index, transaction index and history agree too. */
    arb_hash i1, i2;
    uint64_t m1, m2;
    CHECK(arb_chainstate_index_digest(cs, &i1, &m1) == ARB_OK);
    CHECK(arb_chainstate_index_digest(cs2, &i2, &m2) == ARB_OK);
    CHECK_EQ(m1, m2);
    CHECK_MEM(i1.b, i2.b, 32);
    CHECK(m1 >= 2 * (uint64_t)tip.height);
    /* One coin per block (the coinbase), plus outputs of spends: at least tip.height. */
    CHECK(n1 >= tip.height);
    if (tip_out)
        *tip_out = tip;
    arb_chainstate_close(cs);
    arb_store_close(st);
    arb_chainstate_close(cs2);
    arb_store_close(st2);
    arb_test_rmtree(db2);
}

/* ---------------------------------------------------------------- the flow */

static uint64_t bal(int port, const key *k, const char *field)
{
    char path[256];
    json_t *j;
    snprintf(path, sizeof path, "/chain/v1/address/%s/balance", k->addr);
    if (arb_tl_http_json(at(port), path, NULL, &j) != 200)
        return UINT64_MAX;
    uint64_t v = (uint64_t)arb_tl_jint(j, field);
    json_decref(j);
    return v;
}

/* Readers hammering GET routes while blocks are mined: every answer is 200. */
typedef struct {
    int port;
    const char *addr;
    atomic_int *stop;
    int bad, n;
} reader;

static void *read_loop(void *ud)
{
    reader *r = ud;
    char path[256];
    static const char *fixed[] = {"/chain/v1/tip", "/chain/v1/mempool",
                                  "/chain/v1/headers?start=0&count=50"};
    while (!atomic_load(r->stop)) {
        json_t *j = NULL;
        int k = r->n % 5;
        if (k < 3)
            snprintf(path, sizeof path, "%s", fixed[k]);
        else
            snprintf(path, sizeof path, "/chain/v1/address/%s/%s", r->addr,
                     k == 3 ? "utxos" : "balance");
        if (arb_tl_http_json(at(r->port), path, NULL, &j) != 200 || j == NULL)
            r->bad++;
        json_decref(j);
        r->n++;
    }
    return NULL;
}

static void test_flow(void)
{
    char dir[1200], path[512], hx[65];
    int port;
    json_t *j = NULL;
    key k1, k2, k3;
    arb_tl_actor_new(&C, &k1);
    arb_tl_actor_new(&C, &k2);
    arb_tl_actor_new(&C, &k3);
    snprintf(dir, sizeof dir, "%s/flow", tmp);
    arb_proc *p = start(dir, &port);
    CHECK(p != NULL && port > 0);

    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tip", NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "network")), "regtest");
    CHECK_EQ(arb_tl_jint(j, "height"), 0);
    {
        arb_hash g;
        arb_chain_genesis_hash(P, &g);
        display(hx, &g);
        CHECK_STR(json_string_value(json_object_get(j, "hash")), hx);
    }
    json_decref(j);

    /* Mine maturity + 1 blocks to k1 (the first coinbase becomes spendable). */
    uint32_t n_blocks = P->coinbase_maturity + 1;
    arb_block first;
    arb_block_init(&first);
    for (uint32_t i = 0; i < n_blocks; i++) {
        arb_block b;
        TRY(mine(port, &k1, &b, NULL) == 200, return);
        if (i == 0)
            first = b;
        else
            arb_block_clear(&b);
    }
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tip", NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(j, "height"), n_blocks);
    json_decref(j);
    /* Balance: the coinbases of heights h with (tip + 1 - h) >= maturity are mature. */
    {
        uint64_t mature = 0, immature = 0;
        for (uint32_t h = 1; h <= n_blocks; h++) {
            if (n_blocks + 1 - h >= P->coinbase_maturity)
                mature += arb_chain_subsidy(P, h);
            else
                immature += arb_chain_subsidy(P, h);
        }
        CHECK_EQ(bal(port, &k1, "confirmed"), mature);
        CHECK_EQ(bal(port, &k1, "immature"), immature);
        CHECK_EQ(bal(port, &k1, "unconfirmed"), 0);
        CHECK(mature > 0);
    }

    /* Spend the first coinbase: 30 coins to k2, change to k1, fee 0.1. */
    arb_outpoint cb1;
    CHECK(arb_tx_txid(H, &cb1.txid, &first.tx[0]) == ARB_OK);
    cb1.index = 0;
    uint64_t sub1 = first.tx[0].out[0].amount;
    CHECK_EQ(sub1, arb_chain_subsidy(P, 1));
    arb_txout o1[2] = {{30 * ARB_COIN, {0}}, {sub1 - 30 * ARB_COIN - ARB_COIN / 10, {0}}};
    memcpy(o1[0].key, k2.pk, 32);
    memcpy(o1[1].key, k1.pk, 32);
    arb_tx tx1, tx2, tx3;
    arb_hash id1, id2, id3;
    make_tx(&tx1, &cb1, sub1, &k1, o1, 2);
    CHECK(arb_tx_txid(H, &id1, &tx1) == ARB_OK);
    CHECK_EQ(post_tx(port, &tx1, &j), 200);
    display(hx, &id1);
    CHECK_STR(json_string_value(json_object_get(j, "txid")), hx);
    json_decref(j);
    /* In the mempool: unconfirmed, and the k2 output shows as unconfirmed. */
    snprintf(path, sizeof path, "/chain/v1/tx?txid=%s", hx);
    CHECK_EQ(arb_tl_http_json(at(port), path, NULL, &j), 200);
    CHECK(json_is_false(json_object_get(j, "confirmed")));
    json_decref(j);
    CHECK_EQ(bal(port, &k2, "unconfirmed"), 30 * ARB_COIN);

    /* A double spend of the same coinbase in the mempool paying a lower fee
     * rate (0.05 coin for 151 bytes against 0.1 coin for 191): no replacement. */
    arb_txout o2 = {sub1 - ARB_COIN / 20, {0}};
    memcpy(o2.key, k3.pk, 32);
    make_tx(&tx2, &cb1, sub1, &k1, &o2, 1);
    CHECK(arb_tx_txid(H, &id2, &tx2) == ARB_OK);
    CHECK_EQ(post_tx(port, &tx2, &j), 400);
    CHECK_STR(arb_tl_jstr(j, "error"), "rbf-feerate-too-low");
    json_decref(j);

    /* A chain of unconfirmed transactions: k2 spends tx1's output to k3. */
    arb_outpoint t1o0 = {id1, 0};
    arb_txout o3 = {29 * ARB_COIN, {0}};
    memcpy(o3.key, k3.pk, 32);
    make_tx(&tx3, &t1o0, 30 * ARB_COIN, &k2, &o3, 1);
    CHECK(arb_tx_txid(H, &id3, &tx3) == ARB_OK);
    CHECK_EQ(post_tx(port, &tx3, &j), 200);
    json_decref(j);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/mempool", NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(j, "count"), 2);
    CHECK_EQ(arb_tl_jint(j, "bytes"), (int64_t)(arb_tx_size(&tx1) + arb_tx_size(&tx3)));
    json_decref(j);
    /* k2's unconfirmed output is spent in the mempool: left out. */
    CHECK_EQ(bal(port, &k2, "unconfirmed"), 0);
    CHECK_EQ(bal(port, &k3, "unconfirmed"), 29 * ARB_COIN);

    /* Mine them: coinbase value = subsidy + fees (0.1 + 1 coin). */
    arb_block b2;
    json_t *tmpl = NULL;
    CHECK_EQ(mine(port, &k1, &b2, &tmpl), 200);
    CHECK_EQ(arb_tl_jint(tmpl, "tx_count"), 3);
    CHECK_EQ(arb_tl_jint(tmpl, "coinbase_value"),
             (int64_t)(arb_chain_subsidy(P, n_blocks + 1) + ARB_COIN / 10 + ARB_COIN));
    CHECK_EQ(arb_tl_jint(tmpl, "height"), n_blocks + 1);
    json_decref(tmpl);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/mempool", NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(j, "count"), 0);
    json_decref(j);
    CHECK_EQ(bal(port, &k3, "confirmed"), 29 * ARB_COIN);

    /* The confirmed transaction with its SPV proof, checked independently. */
    display(hx, &id1);
    snprintf(path, sizeof path, "/chain/v1/tx?txid=%s", hx);
    CHECK_EQ(arb_tl_http_json(at(port), path, NULL, &j), 200);
    CHECK(json_is_true(json_object_get(j, "confirmed")));
    CHECK_EQ(arb_tl_jint(j, "height"), n_blocks + 1);
    {
        uint8_t hdr80[80], raw[4096];
        const char *hh = json_string_value(json_object_get(j, "header"));
        const char *th = json_string_value(json_object_get(j, "hex"));
        CHECK(hh && strlen(hh) == 160 && arb_hex_decode(hdr80, 80, hh, 160));
        size_t tl = th ? strlen(th) / 2 : 0;
        CHECK(th && tl <= sizeof raw && arb_hex_decode(raw, tl, th, 2 * tl));
        arb_block_header hdr;
        arb_header_decode(&hdr, hdr80);
        arb_hash bh, leaf;
        arb_header_hash(H, &bh, &hdr);
        display(hx, &bh);
        CHECK_STR(json_string_value(json_object_get(j, "block_hash")), hx);
        arb_header_hash(H, &bh, &b2.header);
        CHECK_MEM(hdr80, (uint8_t[80]){0}, 0);
        arb_merkle_leaf_hash(H, &leaf, raw, tl);
        json_t *pr = json_object_get(j, "proof");
        size_t plen = json_array_size(pr);
        arb_hash proof[ARB_MERKLE_MAX_PROOF];
        CHECK(plen <= ARB_MERKLE_MAX_PROOF);
        for (size_t i = 0; i < plen; i++)
            CHECK(arb_hex_decode(proof[i].b, 32, json_string_value(json_array_get(pr, i)), 64));
        uint64_t idx = (uint64_t)arb_tl_jint(j, "index"),
                 size = (uint64_t)arb_tl_jint(j, "tree_size");
        CHECK_EQ(size, 3);
        CHECK_EQ(idx, 1);
        CHECK(arb_merkle_inclusion_verify(H, idx, size, &leaf, proof, plen, &hdr.merkle_root,
                                          NULL) == ARB_OK);
        /* A tampered proof fails. */
        proof[0].b[0] ^= 1;
        CHECK(arb_merkle_inclusion_verify(H, idx, size, &leaf, proof, plen, &hdr.merkle_root,
                                          NULL) != ARB_OK);
    }
    json_decref(j);

    /* Double spend across blocks: in the mempool and inside a block. */
    CHECK_EQ(post_tx(port, &tx2, &j), 400);
    CHECK_STR(arb_tl_jstr(j, "error"), "bad-txns-inputs-missingorspent");
    json_decref(j);
    {
        arb_hash tiph;
        arb_header_hash(H, &tiph, &b2.header);
        arb_tx cp;
        arb_tx_init(&cp);
        CHECK(arb_tx_copy(&cp, &tx2) == ARB_OK);
        arb_block bad;
        build_on(&bad, &tiph, b2.header.time, n_blocks + 2, k1.pk, &cp, 1, ARB_COIN);
        CHECK_EQ(submit_block(port, &bad, &j), 400);
        CHECK_STR(arb_tl_jstr(j, "error"), "bad-txns-inputs-missingorspent");
        json_decref(j);
        arb_block_clear(&bad);
        CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tip", NULL, &j), 200);
        CHECK_EQ(arb_tl_jint(j, "height"), n_blocks + 1);
        json_decref(j);
    }

    /* History of k2: received 30 in tx1, sent 30 in tx3. */
    snprintf(path, sizeof path, "/chain/v1/address/%s/history", k2.addr);
    CHECK_EQ(arb_tl_http_json(at(port), path, NULL, &j), 200);
    {
        json_t *txs = json_object_get(j, "txs");
        CHECK_EQ(json_array_size(txs), 2);
        display(hx, &id1);
        CHECK_STR(json_string_value(json_object_get(json_array_get(txs, 0), "txid")), hx);
        CHECK_EQ(arb_tl_jint(json_array_get(txs, 0), "received"), 30 * ARB_COIN);
        CHECK_EQ(arb_tl_jint(json_array_get(txs, 1), "sent"), 30 * ARB_COIN);
        CHECK_EQ(arb_tl_jint(json_array_get(txs, 1), "height"), n_blocks + 1);
    }
    json_decref(j);

    /* Headers chain up: each one's prev is the hash of the one before. */
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/headers?start=0&count=5", NULL, &j), 200);
    {
        json_t *hs = json_object_get(j, "headers");
        CHECK_EQ(json_array_size(hs), 5);
        arb_hash prev;
        for (size_t i = 0; i < json_array_size(hs); i++) {
            uint8_t raw[80];
            arb_block_header h;
            CHECK(arb_hex_decode(raw, 80, json_string_value(json_array_get(hs, i)), 160));
            arb_header_decode(&h, raw);
            if (i > 0)
                CHECK_MEM(h.prev.b, prev.b, 32);
            arb_header_hash(H, &prev, &h);
        }
    }
    json_decref(j);

    /* Bad input: 4xx with a reason, counted in the metrics. */
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tx", "{\"hex\":\"zz\"}", &j), 400);
    json_decref(j);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tx", "not json", &j), 400);
    json_decref(j);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/block", "{\"hex\":\"00\"}", &j), 400);
    json_decref(j);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/address/bogus/balance", NULL, &j), 400);
    CHECK_STR(arb_tl_jstr(j, "error"), "bad-address");
    json_decref(j);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/block?hash=00000000000000000000000000000000000000000000000000000000000000aa", NULL, &j), 404);
    json_decref(j);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/block?height=99999", NULL, &j), 404);
    json_decref(j);
    {
        static const char *bad_get[] = {
            "/chain/v1/block?height=-1", "/chain/v1/block?height=1x", "/chain/v1/block",
            "/chain/v1/block?hash=abcd", "/chain/v1/headers", "/chain/v1/headers?start=x",
            "/chain/v1/tx", "/chain/v1/tx?txid=zz", "/chain/v1/template",
            "/chain/v1/template?address=arb1qqqq", "/chain/v1/address/", "/chain/v1/address/x",
            "/chain/v1/address/x/nope", "/chain/v1/nope"};
        for (size_t i = 0; i < sizeof bad_get / sizeof *bad_get; i++) {
            long st = arb_tl_http_json(at(port), bad_get[i], NULL, &j);
            CHECK(st == 400 || st == 404);
            CHECK(arb_tl_jstr(j, "error")[0] != '\0');
            json_decref(j);
        }
        static const char *bad_post[] = {"{\"hex\":1}", "[]", "{}", "{\"hex\":\"abc\"}",
                                         "{\"hex\":\"\"}"};
        for (size_t i = 0; i < sizeof bad_post / sizeof *bad_post; i++) {
            CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tx", bad_post[i], &j), 400);
            json_decref(j);
            CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/block", bad_post[i], &j), 400);
            json_decref(j);
        }
        CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/headers?start=0&count=999999", NULL, &j),
                 200);
        CHECK(json_array_size(json_object_get(j, "headers")) <= 2000);
        json_decref(j);
        CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/headers?start=4000000000", NULL, &j), 200);
        CHECK_EQ(json_array_size(json_object_get(j, "headers")), 0);
        json_decref(j);
    }

    /* Reorg: two blocks on the parent of the tip win over the one block that
     * confirmed tx1 and tx3, which go back to the mempool. */
    {
        arb_hash parent = b2.header.prev;
        char q[256];
        display(hx, &parent);
        snprintf(q, sizeof q, "/chain/v1/block?hash=%s", hx);
        CHECK_EQ(arb_tl_http_json(at(port), q, NULL, &j), 200);
        uint32_t ptime;
        {
            uint8_t raw[80];
            arb_block_header h;
            CHECK(arb_hex_decode(raw, 80, json_string_value(json_object_get(j, "header")), 160));
            arb_header_decode(&h, raw);
            ptime = h.time;
        }
        json_decref(j);
        arb_block f1, f2;
        arb_hash f1h, f2h;
        build_on(&f1, &parent, ptime, n_blocks + 1, k3.pk, NULL, 0, 0);
        arb_header_hash(H, &f1h, &f1.header);
        build_on(&f2, &f1h, f1.header.time, n_blocks + 2, k3.pk, NULL, 0, 0);
        arb_header_hash(H, &f2h, &f2.header);
        CHECK_EQ(submit_block(port, &f1, &j), 200); /* stored on a side branch */
        json_decref(j);
        CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tip", NULL, &j), 200);
        CHECK_EQ(arb_tl_jint(j, "height"), n_blocks + 1);
        json_decref(j);
        CHECK_EQ(submit_block(port, &f2, &j), 200);
        json_decref(j);
        CHECK_EQ(submit_block(port, &f2, &j), 400);
        CHECK_STR(arb_tl_jstr(j, "error"), "duplicate");
        json_decref(j);
        CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tip", NULL, &j), 200);
        display(hx, &f2h);
        CHECK_STR(json_string_value(json_object_get(j, "hash")), hx);
        json_decref(j);
        CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/mempool", NULL, &j), 200);
        CHECK_EQ(arb_tl_jint(j, "count"), 2);
        json_decref(j);
        /* k3: two coinbases (immature) on the winning branch, tx3's output unconfirmed. */
        CHECK_EQ(bal(port, &k3, "immature"),
                 arb_chain_subsidy(P, n_blocks + 1) + arb_chain_subsidy(P, n_blocks + 2));
        CHECK_EQ(bal(port, &k3, "confirmed"), 0);
        CHECK_EQ(bal(port, &k3, "unconfirmed"), 29 * ARB_COIN);
        /* The old tip is no longer on the active chain. */
        arb_header_hash(H, &parent, &b2.header);
        display(hx, &parent);
        snprintf(q, sizeof q, "/chain/v1/block?hash=%s", hx);
        CHECK_EQ(arb_tl_http_json(at(port), q, NULL, &j), 200);
        CHECK_EQ(arb_tl_jint(j, "confirmations"), 0);
        json_decref(j);
        arb_block_clear(&f1);
        arb_block_clear(&f2);
        /* k2's history: both transactions back in the mempool (height -1). */
        snprintf(q, sizeof q, "/chain/v1/address/%s/history", k2.addr);
        CHECK_EQ(arb_tl_http_json(at(port), q, NULL, &j), 200);
        {
            json_t *txs = json_object_get(j, "txs");
            CHECK_EQ(json_array_size(txs), 2);
            CHECK_EQ(arb_tl_jint(json_array_get(txs, 0), "height"), -1);
            CHECK_EQ(arb_tl_jint(json_array_get(txs, 0), "received"), 30 * ARB_COIN);
            CHECK_EQ(arb_tl_jint(json_array_get(txs, 1), "height"), -1);
            CHECK_EQ(arb_tl_jint(json_array_get(txs, 1), "sent"), 30 * ARB_COIN);
        }
        json_decref(j);
        /* tx1 is no longer confirmed. */
        display(hx, &id1);
        snprintf(q, sizeof q, "/chain/v1/tx?txid=%s", hx);
        CHECK_EQ(arb_tl_http_json(at(port), q, NULL, &j), 200);
        CHECK(json_is_false(json_object_get(j, "confirmed")));
        json_decref(j);
        /* Mining again confirms the re-added transactions. */
        CHECK_EQ(mine(port, &k1, NULL, NULL), 200);
        CHECK_EQ(bal(port, &k3, "unconfirmed"), 0);
        snprintf(q, sizeof q, "/chain/v1/address/%s/history", k2.addr);
        CHECK_EQ(arb_tl_http_json(at(port), q, NULL, &j), 200);
        {
            json_t *txs = json_object_get(j, "txs");
            CHECK_EQ(json_array_size(txs), 2);
            CHECK_EQ(arb_tl_jint(json_array_get(txs, 0), "height"), n_blocks + 3);
            CHECK_EQ(arb_tl_jint(json_array_get(txs, 1), "height"), n_blocks + 3);
            CHECK_EQ(arb_tl_jint(json_array_get(txs, 1), "sent"), 30 * ARB_COIN);
        }
        json_decref(j);
        /* k3's history on the winning branch: two coinbases, then tx3. */
        snprintf(q, sizeof q, "/chain/v1/address/%s/history", k3.addr);
        CHECK_EQ(arb_tl_http_json(at(port), q, NULL, &j), 200);
        CHECK_EQ(json_array_size(json_object_get(j, "txs")), 3);
        json_decref(j);
    }
    {
        atomic_int stop_flag = 0;
        reader rd[3];
        pthread_t th[3];
        for (int i = 0; i < 3; i++) {
            rd[i] = (reader){port, k1.addr, &stop_flag, 0, 0};
            CHECK(pthread_create(&th[i], NULL, read_loop, &rd[i]) == 0);
        }
        for (int i = 0; i < 10; i++)
            CHECK_EQ(mine(port, &k2, NULL, NULL), 200);
        atomic_store(&stop_flag, 1);
        for (int i = 0; i < 3; i++) {
            pthread_join(th[i], NULL);
            CHECK_EQ(rd[i].bad, 0);
            CHECK(rd[i].n > 0);
        }
    }
    {
        char *m = NULL;
        CHECK_EQ(arb_tl_http(at(port), "/metrics", NULL, &m), 200);
        CHECK(m && strstr(m, "chain_bad_address") && strstr(m, "chain_tx_rejected") &&
              strstr(m, "chain_block_rejected") && strstr(m, "chain_bad_hex"));
        free(m);
    }
    stop(p);
    /* The stored state equals one rebuilt from the stored main chain. */
    check_rebuild(dir, NULL);

    arb_block_clear(&first);
    arb_block_clear(&b2);
    arb_tx_clear(&tx1);
    arb_tx_clear(&tx2);
    arb_tx_clear(&tx3);
}

/* ---------------------------------------------------------------- crash test */

typedef struct {
    pid_t pid;
    unsigned delay_us;
} killer;

static void *kill_later(void *ud)
{
    killer *k = ud;
    usleep(k->delay_us);
    kill(k->pid, SIGKILL);
    return NULL;
}

typedef struct {
    arb_hash hash;
    uint32_t height, time;
} known;

static void test_crash(void)
{
    char dir[1200];
    int rounds = ASAN ? 2 : 4;
    known *kb = calloc(4096, sizeof *kb);
    size_t nk = 0;
    TRY(kb != NULL, return);
    snprintf(dir, sizeof dir, "%s/crash", tmp);
    arb_chain_genesis_hash(P, &kb[0].hash);
    kb[0].height = 0;
    kb[0].time = P->genesis_time;
    nk = 1;
    for (int round = 0; round < rounds; round++) {
        int port;
        arb_proc *p = start(dir, &port);
        TRY(p != NULL && port > 0, break);
        killer k = {arb_proc_pid(p), (unsigned)(20000 + arb_test_rand_below(ASAN ? 400000 : 200000))};
        pthread_t th;
        TRY(pthread_create(&th, NULL, kill_later, &k) == 0, break);
        /* Submit blocks until the node dies: mostly on the best known block,
         * sometimes on an ancestor a few blocks back (forks that later win). */
        size_t accepted = 0, forks = 0, reorgs = 0, follow = SIZE_MAX;
        int follow_left = 0;
        for (int i = 0; i < 400 && nk < 4096; i++) {
            uint32_t best = 0;
            for (size_t q = 0; q < nk; q++)
                if (kb[q].height > kb[best].height)
                    best = (uint32_t)q;
            size_t par = best;
            if (follow_left > 0) {
                par = follow; /* keep growing the fork until it outweighs the tip */
                follow_left--;
            } else if (arb_test_rand_below(3) == 0) {
                size_t q = nk - 1 - arb_test_rand_below(nk < 8 ? nk : 8);
                if (kb[q].height + 3 >= kb[best].height)
                    par = q;
                forks += par != best;
            }
            uint8_t pk[32];
            arb_test_rand_bytes(pk, 32);
            arb_block b;
            build_on(&b, &kb[par].hash, kb[par].time, kb[par].height + 1, pk, NULL, 0, 0);
            json_t *j = NULL;
            long st = submit_block(port, &b, &j);
            /* A block on a lighter branch that nothing asked for: only its
             * header is kept (the storage policy), so nothing builds on it. */
            int header_only = st == 200 && json_is_false(json_object_get(j, "stored"));
            json_decref(j);
            if (st != 200) {
                arb_block_clear(&b);
                break;
            }
            if (header_only) {
                arb_block_clear(&b);
                continue;
            }
            if (kb[par].height + 1 > kb[best].height && par != best)
                reorgs++; /* a heavier branch that does not extend the tip */
            if (par != best && follow_left == 0 && arb_test_rand_below(2) == 0)
                follow_left = 3;
            follow = nk;
            arb_header_hash(H, &kb[nk].hash, &b.header);
            kb[nk].height = kb[par].height + 1;
            kb[nk].time = b.header.time;
            nk++;
            accepted++;
            arb_block_clear(&b);
        }
        pthread_join(th, NULL);
        arb_proc_wait(p, WAIT_MS);
        arb_proc_free(p);
        /* Blocks the dead node may not have stored are forgotten here (the
         * next round builds only on blocks it answered 200 for, which were
         * synced before the answer). */
        arb_chain_tip tip;
        check_rebuild(dir, &tip);
        /* Every block answered 200 was synced, and opening the state resumes a
         * reorg the crash interrupted: the chain is at least as long. */
        uint32_t best_h = 0;
        for (size_t q = 0; q < nk; q++)
            if (kb[q].height > best_h)
                best_h = kb[q].height;
        CHECK(tip.height >= best_h);
        printf("crash round %d: killed after %zu accepted blocks (%zu off the best tip, %zu "
               "reorgs), recovered tip height %u\n",
               round, accepted, forks, reorgs, (unsigned)tip.height);
        if (arb_test_failed > 0)
            break;
    }
    /* A clean restart serves the recovered tip. */
    {
        int port;
        arb_proc *p = start(dir, &port);
        CHECK(p != NULL && port > 0);
        json_t *j = NULL;
        CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/tip", NULL, &j), 200);
        CHECK(arb_tl_jint(j, "height") > 0);
        json_decref(j);
        stop(p);
    }
    free(kb);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_test_bin(bin, sizeof bin, "arbord") == NULL || arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    P = arb_chain_params_get("regtest");
    C = (arb_tl_chain){H, S, P, 0};
    CFS[0] = "default";
    for (size_t i = 0; i < ARB_CHAINSTATE_NCF; i++)
        CFS[1 + i] = arb_chainstate_cf_names()[i];
    test_flow();
    test_crash();
    curl_global_cleanup();
    arb_schnorr_free(S);
    arb_sha256_free(H);
    arb_test_rmtree(tmp);
    return arb_test_done();
}
