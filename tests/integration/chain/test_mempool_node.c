/* The mempool of a real regtest arbord over HTTP:
 *   - the CPFP-ordered load: 80 chains of 25 transactions (2,000, the
 *     ancestor limit stops a single chain at 25; the 26th is refused with its
 *     reason), each child paying one unit more than its parent, plus a cheap
 *     parent with a rich child. The template must hold every transaction,
 *     parents before children, packages by descending fee rate (derived here
 *     from the fees the test chose), and the coinbase must claim the fees;
 *   - liveness: while four clients loop on templates, chain-tip and get-sth
 *     requests keep being answered (a generous curl timeout, no timing
 *     assert);
 *   - a clean restart (SIGTERM, start) keeps the same mempool;
 *   - a replacement through POST /chain/v1/tx (and a refused one);
 *   - mining the template empties the pool. */
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
#include "ledger/chain/mempool.h"
#include "ledger/chain/mine.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/chain.h"

#define WAIT_MS 20000
#define CHAINS 80
#define DEPTH 25

static char bin[4096];
static char tmp[1024];
static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static arb_tl_chain C; /* H, S and P for tests/testlib, set in main */

/* ---------------------------------------------------------------- HTTP */

/* How this test asks the node on port (tests/testlib/http.h): 60 s a request. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 60};
    return o;
}

static long post_tx(int port, const arb_tx *tx, json_t **out)
{
    arb_buf buf = ARB_BUF_INIT;
    arb_tx_write(&buf, tx, 1);
    long st = arb_tl_post_hex(at(port), "/chain/v1/tx", buf.data, buf.len, out);
    arb_buf_free(&buf);
    return st;
}

/* ---------------------------------------------------------------- keys, blocks, transactions */

typedef arb_tl_actor key; /* its coin unused */

/* GET /chain/v1/template for k; the block decoded into *b. Returns the status. */
static long get_template(int port, const key *k, arb_block *b, json_t **tmpl)
{
    char path[256];
    json_t *t = NULL;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", k->addr);
    long st = arb_tl_http_json(at(port), path, NULL, &t);
    const char *hex = json_string_value(json_object_get(t, "hex"));
    uint8_t *raw;
    size_t len;
    arb_errbuf eb;
    arb_block_init(b);
    if (st != 200 || hex == NULL || arb_hex_decode_alloc(&raw, &len, hex) != ARB_OK) {
        json_decref(t);
        return st == 200 ? 0 : st;
    }
    if (arb_block_decode(b, raw, len, &eb) != ARB_OK)
        st = 0;
    free(raw);
    if (tmpl)
        *tmpl = t;
    else
        json_decref(t);
    return st;
}

static long mine(int port, const key *k)
{
    arb_block b;
    json_t *r = NULL;
    long st = get_template(port, k, &b, NULL);
    if (st == 200) {
        if (!arb_chain_mine_header(&b.header, 0, 1ULL << 32))
            abort();
        arb_buf buf = ARB_BUF_INIT;
        arb_block_write(&buf, &b);
        st = arb_tl_post_hex(at(port), "/chain/v1/block", buf.data, buf.len, &r);
        arb_buf_free(&buf);
        json_decref(r);
    }
    arb_block_clear(&b);
    return st;
}

/* One input (an output of `amount` to k) into n_out outputs of `each` to k;
 * the rest is the fee. */
static void make_tx(arb_tx *tx, const arb_outpoint *op, uint64_t amount, const key *k,
                    size_t n_out, uint64_t each)
{
    arb_txout spent = {amount, {0}};
    memcpy(spent.key, k->pk, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, n_out) != ARB_OK)
        abort();
    tx->version = 1;
    tx->in[0] = *op;
    for (size_t o = 0; o < n_out; o++) {
        tx->out[o].amount = each;
        memcpy(tx->out[o].key, k->pk, 32);
    }
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, k->sk, NULL) != ARB_OK)
        abort();
}

static arb_proc *start(const char *dir, int *port)
{
    static const char *const regtest[] = {"--network", "regtest", NULL};
    return arb_proc_start_arbord(bin, dir, regtest, WAIT_MS, port);
}

static int stop(arb_proc *p)
{
    if (p == NULL)
        return -1;
    int st = arb_proc_kill(p, SIGTERM) == 0 ? arb_proc_wait(p, 60000) : -1;
    arb_proc_free(p);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

/* Sorted txids of GET /chain/v1/mempool, as one string per line. */
static char *pool_ids(int port, size_t *count)
{
    json_t *j = NULL;
    *count = 0;
    if (arb_tl_http_json(at(port), "/chain/v1/mempool", NULL, &j) != 200 || j == NULL)
        return NULL;
    json_t *arr = json_object_get(j, "txids");
    size_t n = json_array_size(arr);
    char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (char *)json_string_value(json_array_get(arr, i));
    qsort(v, n, sizeof *v, cmp_str);
    char *out = malloc(n * 66 + 1);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        strcat(out, v[i] ? v[i] : "?");
        strcat(out, "\n");
    }
    free(v);
    json_decref(j);
    *count = n;
    return out;
}

/* ---------------------------------------------------------------- liveness */

typedef struct {
    int port;
    const key *k;
    atomic_int *stop;
    int bad, n;
} tloop;

static void *template_loop(void *ud)
{
    tloop *t = ud;
    while (!atomic_load(t->stop)) {
        arb_block b;
        if (get_template(t->port, t->k, &b, NULL) != 200)
            t->bad++;
        arb_block_clear(&b);
        __atomic_add_fetch(&t->n, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* 1 if each of the n template clients has had at least one answer. */
static int all_served(tloop *t, int n)
{
    for (int i = 0; i < n; i++)
        if (__atomic_load_n(&t[i].n, __ATOMIC_RELAXED) == 0)
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- the test */

static void test_mempool_node(void)
{
    char dir[1200], hx[65];
    int port;
    json_t *j = NULL;
    key k1, miner;
    arb_tl_actor_new(&C, &k1);
    arb_tl_actor_new(&C, &miner);
    snprintf(dir, sizeof dir, "%s/node", tmp);
    arb_proc *p = start(dir, &port);
    CHECK(p != NULL && port > 0);

    /* Coins: maturity + 1 blocks to k1; the first coinbase fans out to the
     * chains' roots and is confirmed. */
    for (uint32_t i = 0; i <= P->coinbase_maturity; i++)
        CHECK_EQ(mine(port, &k1), 200);
    arb_hash cb_id;
    {
        arb_block b;
        arb_hash h1;
        CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/block?height=1", NULL, &j), 200);
        CHECK(arb_chain_hash_from_hex(&h1, json_string_value(json_object_get(j, "hash"))));
        const char *hex = json_string_value(json_object_get(j, "hex"));
        uint8_t *raw;
        size_t len;
        arb_errbuf eb;
        arb_block_init(&b);
        CHECK(hex != NULL && arb_hex_decode_alloc(&raw, &len, hex) == ARB_OK);
        CHECK(arb_block_decode(&b, raw, len, &eb) == ARB_OK);
        free(raw);
        CHECK(arb_tx_txid(H, &cb_id, &b.tx[0]) == ARB_OK);
        arb_block_clear(&b);
        json_decref(j);
    }
    enum { ROOTS = CHAINS + 3 };
    const uint64_t each = ARB_COIN / 2;
    arb_tx fan;
    arb_outpoint cb_op = {cb_id, 0};
    make_tx(&fan, &cb_op, arb_chain_subsidy(P, 1), &k1, ROOTS, each);
    arb_hash fan_id;
    CHECK(arb_tx_txid(H, &fan_id, &fan) == ARB_OK);
    CHECK_EQ(post_tx(port, &fan, &j), 200);
    json_decref(j);
    arb_tx_clear(&fan);
    {
        /* k1's history ends with the unconfirmed fan-out: it spends a
         * confirmed coin of k1 and pays k1 back. */
        char path[256], fx[65];
        snprintf(path, sizeof path, "/chain/v1/address/%s/history", k1.addr);
        CHECK_EQ(arb_tl_http_json(at(port), path, NULL, &j), 200);
        json_t *txs = json_object_get(j, "txs");
        json_t *last = json_array_get(txs, json_array_size(txs) - 1);
        arb_chain_hash_hex(fx, &fan_id);
        CHECK_EQ(json_array_size(txs), P->coinbase_maturity + 2);
        CHECK_STR(json_string_value(json_object_get(last, "txid")), fx);
        CHECK_EQ(arb_tl_jint(last, "height"), -1);
        CHECK_EQ(arb_tl_jint(last, "sent"), (int64_t)arb_chain_subsidy(P, 1));
        CHECK_EQ(arb_tl_jint(last, "received"), (int64_t)(ROOTS * each));
        json_decref(j);
    }
    CHECK_EQ(mine(port, &miner), 200);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/mempool", NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(j, "count"), 0);
    CHECK_EQ(arb_tl_jint(j, "min_relay_fee_rate"), ARB_MEMPOOL_MIN_RELAY_FEERATE);
    json_decref(j);

    /* Chain c's transaction i pays 200 + c + i units: each child one more
     * than its parent. */
    static arb_hash ids[CHAINS][DEPTH];
    uint64_t total_fees = 0;
    for (int c = 0; c < CHAINS; c++) {
        arb_outpoint op = {fan_id, (uint32_t)c};
        uint64_t amount = each;
        for (int i = 0; i < DEPTH; i++) {
            uint64_t fee = 200 + (uint64_t)c + (uint64_t)i;
            arb_tx tx;
            make_tx(&tx, &op, amount, &k1, 1, amount - fee);
            CHECK(arb_tx_txid(H, &ids[c][i], &tx) == ARB_OK);
            long st = post_tx(port, &tx, &j);
            if (st != 200)
                fprintf(stderr, "chain %d tx %d: %ld %s\n", c, i, st, arb_tl_jstr(j, "error"));
            CHECK_EQ(st, 200);
            json_decref(j);
            arb_tx_clear(&tx);
            total_fees += fee;
            op.txid = ids[c][i];
            op.index = 0;
            amount -= fee;
        }
        if (c == 0) { /* the 26th of a chain has 25 unconfirmed ancestors */
            arb_tx tx;
            make_tx(&tx, &op, amount, &k1, 1, amount - 1000);
            CHECK_EQ(post_tx(port, &tx, &j), 400);
            CHECK_STR(arb_tl_jstr(j, "error"), "too-many-unconfirmed-ancestors");
            json_decref(j);
            arb_tx_clear(&tx);
        }
    }
    /* A parent paying the minimum whose child pays a lot: that package comes first. */
    arb_hash cheap_id, rich_id;
    {
        arb_tx tx;
        arb_outpoint op = {fan_id, CHAINS};
        make_tx(&tx, &op, each, &k1, 1, each - 151);
        CHECK(arb_tx_txid(H, &cheap_id, &tx) == ARB_OK);
        CHECK_EQ(post_tx(port, &tx, &j), 200);
        json_decref(j);
        arb_tx_clear(&tx);
        arb_outpoint op2 = {cheap_id, 0};
        make_tx(&tx, &op2, each - 151, &k1, 1, each - 151 - 50000);
        CHECK(arb_tx_txid(H, &rich_id, &tx) == ARB_OK);
        CHECK_EQ(post_tx(port, &tx, &j), 200);
        json_decref(j);
        arb_tx_clear(&tx);
        total_fees += 151 + 50000;
        /* the parent's entry shows the package */
        arb_chain_hash_hex(hx, &cheap_id);
        char path[256];
        snprintf(path, sizeof path, "/chain/v1/tx?txid=%s", hx);
        CHECK_EQ(arb_tl_http_json(at(port), path, NULL, &j), 200);
        CHECK_EQ(arb_tl_jint(j, "fee"), 151);
        CHECK_EQ(arb_tl_jint(j, "descendant_count"), 2);
        CHECK_EQ(arb_tl_jint(j, "descendant_fees"), 151 + 50000);
        json_decref(j);
    }

    /* The template: everything, in the order derived from the fees. */
    {
        arb_block b;
        json_t *t = NULL;
        CHECK_EQ(get_template(port, &miner, &b, &t), 200);
        CHECK_EQ(b.n_tx, 1 + CHAINS * DEPTH + 2);
        CHECK_EQ(arb_tl_jint(t, "fees"), (int64_t)total_fees);
        uint64_t cbv = 0;
        for (size_t o = 0; o < b.tx[0].n_out; o++)
            cbv += b.tx[0].out[o].amount;
        CHECK_EQ(cbv, arb_chain_subsidy(P, P->coinbase_maturity + 3) + total_fees);
        arb_hash id;
        int ok = b.n_tx == 1 + CHAINS * DEPTH + 2;
        if (ok) {
            ok &= arb_tx_txid(H, &id, &b.tx[1]) == ARB_OK && arb_hash_eq(&id, &cheap_id);
            ok &= arb_tx_txid(H, &id, &b.tx[2]) == ARB_OK && arb_hash_eq(&id, &rich_id);
            /* then whole chains, the highest-paying chain (the last) first */
            size_t at = 3;
            for (int c = CHAINS - 1; c >= 0 && ok; c--)
                for (int i = 0; i < DEPTH && ok; i++, at++)
                    ok &= arb_tx_txid(H, &id, &b.tx[at]) == ARB_OK && arb_hash_eq(&id, &ids[c][i]);
        }
        CHECK(ok);
        /* Asked again (the pool unchanged): the same block but for the time. */
        arb_block b2;
        json_t *t2 = NULL;
        CHECK_EQ(get_template(port, &miner, &b2, &t2), 200);
        arb_buf w1 = ARB_BUF_INIT, w2 = ARB_BUF_INIT;
        arb_block_write(&w1, &b);
        arb_block_write(&w2, &b2);
        CHECK(!w1.oom && !w2.oom && w1.len == w2.len && w1.len > 80);
        CHECK(memcmp(w1.data, w2.data, 68) == 0);
        CHECK(memcmp(w1.data + 72, w2.data + 72, w1.len - 72) == 0);
        CHECK(b2.header.time >= b.header.time);
        CHECK_EQ(arb_tl_jint(t2, "fees"), (int64_t)total_fees);
        arb_buf_free(&w1);
        arb_buf_free(&w2);
        json_decref(t2);
        arb_block_clear(&b2);
        json_decref(t);
        arb_block_clear(&b);
    }

    /* Liveness: four clients loop on templates; tip and get-sth answer. */
    {
        atomic_int stopf = 0;
        tloop tl[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
            tl[i] = (tloop){port, &miner, &stopf, 0, 0};
            CHECK(pthread_create(&th[i], NULL, template_loop, &tl[i]) == 0);
        }
        /* At least 20 rounds, and on until every template client has been
         * answered at least once (bounded: a loaded machine may serve the
         * quick routes long before the first template). */
        int answered = 0, rounds = 0;
        for (int i = 0; i < 20 || (i < 20000 && !all_served(tl, 4)); i++) {
            rounds++;
            if (arb_tl_http_json(at(port), "/chain/v1/tip", NULL, &j) == 200 &&
                arb_tl_jint(j, "height") > 0)
                answered++;
            json_decref(j);
            if (arb_tl_http_json(at(port), "/ct/v1/get-sth", NULL, &j) == 200 &&
                json_object_get(j, "tree_size") != NULL)
                answered++;
            json_decref(j);
        }
        atomic_store(&stopf, 1);
        int templates = 0, bad = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            templates += tl[i].n;
            bad += tl[i].bad;
        }
        CHECK_EQ(answered, 2 * rounds);
        CHECK_EQ(bad, 0);
        CHECK(templates > 0);
        printf("liveness: %d tip/get-sth answers while %d templates were served\n", answered,
               templates);
    }

    /* A clean restart keeps the pool. */
    size_t n_before = 0, n_after = 0;
    char *before = pool_ids(port, &n_before);
    CHECK_EQ(n_before, CHAINS * DEPTH + 2);
    CHECK_EQ(stop(p), 0);
    char path[1300];
    snprintf(path, sizeof path, "%s/mempool.dat", dir);
    CHECK(access(path, F_OK) == 0);
    p = start(dir, &port);
    CHECK(p != NULL && port > 0);
    char *after = pool_ids(port, &n_after);
    CHECK_EQ(n_after, n_before);
    CHECK(before != NULL && after != NULL && strcmp(before, after) == 0);
    free(before);
    free(after);

    /* A replacement through the API, and one that pays too little. */
    {
        arb_outpoint op = {fan_id, CHAINS + 1};
        arb_tx a, b, c;
        arb_hash a_id, b_id;
        make_tx(&a, &op, each, &k1, 1, each - 1000);
        make_tx(&b, &op, each, &k1, 1, each - 5000);
        CHECK(arb_tx_txid(H, &a_id, &a) == ARB_OK && arb_tx_txid(H, &b_id, &b) == ARB_OK);
        CHECK_EQ(post_tx(port, &a, &j), 200);
        json_decref(j);
        CHECK_EQ(post_tx(port, &b, &j), 200);
        CHECK_EQ(arb_tl_jint(j, "fee"), 5000);
        json_decref(j);
        arb_chain_hash_hex(hx, &a_id);
        snprintf(path, sizeof path, "/chain/v1/tx?txid=%s", hx);
        CHECK_EQ(arb_tl_http_json(at(port), path, NULL, &j), 404);
        json_decref(j);
        arb_chain_hash_hex(hx, &b_id);
        snprintf(path, sizeof path, "/chain/v1/tx?txid=%s", hx);
        CHECK_EQ(arb_tl_http_json(at(port), path, NULL, &j), 200);
        CHECK_EQ(arb_tl_jint(j, "fee"), 5000);
        CHECK_EQ(arb_tl_jint(j, "fee_rate"), 5000 * 1000 / 151);
        json_decref(j);
        make_tx(&c, &op, each, &k1, 1, each - 5100); /* higher rate, +100 < 151 */
        CHECK_EQ(post_tx(port, &c, &j), 400);
        CHECK_STR(arb_tl_jstr(j, "error"), "rbf-increment-too-low");
        json_decref(j);
        CHECK_EQ(post_tx(port, &a, &j), 400); /* the original cannot come back */
        CHECK_STR(arb_tl_jstr(j, "error"), "rbf-feerate-too-low");
        json_decref(j);
        arb_tx_clear(&a);
        arb_tx_clear(&b);
        arb_tx_clear(&c);
    }

    /* Mining the template confirms everything. */
    CHECK_EQ(mine(port, &miner), 200);
    CHECK_EQ(arb_tl_http_json(at(port), "/chain/v1/mempool", NULL, &j), 200);
    CHECK_EQ(arb_tl_jint(j, "count"), 0);
    CHECK_EQ(arb_tl_jint(j, "bytes"), 0);
    json_decref(j);
    CHECK_EQ(stop(p), 0);
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
    test_mempool_node();
    curl_global_cleanup();
    arb_schnorr_free(S);
    arb_sha256_free(H);
    arb_test_rmtree(tmp);
    return arb_test_done();
}
