/* The chain module (see chainapi.h and docs/api.md). */
#include "ledger/api/chainapi.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/hdrcheck.h"
#include "ledger/chain/mine.h"
#include "ledger/api/metrics.h"
#include "merkle/proof.h"

#define PREFIX "/chain/v1/"
#define MAX_HEADERS 2000
#define MAX_POST (5u << 20)

struct arb_chainapi {
    pthread_mutex_t mu; /* the chain state */
    arb_chainstate *cs;
    arb_mempool *mp;
    const arb_chain_params *p;
    arb_schnorr *schnorr;
    arb_http_server *http;
    arb_logger log;
};

/* ---------------------------------------------------------------- helpers */

static void reply(arb_http_req *req, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        (void)arb_http_respond_error(req, 500, "chain_nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, 200, NULL, "Cache-Control: no-store\r\n", text, strlen(text));
    free(text);
}

static void fail(arb_http_req *req, int status, const char *counter, const char *msg)
{
    (void)arb_http_respond_error(req, status, counter, msg);
}

static json_t *jhash(const arb_hash *h)
{
    char hex[65];
    arb_chain_hash_hex(hex, h);
    return json_string(hex);
}

static json_t *jhex(const uint8_t *d, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (s == NULL)
        return NULL;
    arb_hex_encode(s, d, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *jheader(const arb_block_header *h)
{
    uint8_t raw[80];
    arb_header_encode(raw, h);
    return jhex(raw, 80);
}

static json_t *jtx(const arb_tx *tx)
{
    arb_buf b = {0};
    arb_tx_write(&b, tx, 1);
    json_t *j = b.oom ? NULL : jhex(b.data, b.len);
    arb_buf_free(&b);
    return j;
}

/* Strict decimal parse of a query value. */
static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

static arb_mempool_chain chain_desc(arb_chainapi *a)
{
    arb_chain_tip tip;
    arb_chainstate_tip(a->cs, &tip);
    arb_mempool_chain c = {arb_chainstate_utxo_lookup, a->cs, tip.height + 1,
                           arb_chainstate_tip_mtp(a->cs)};
    return c;
}

/* The "hex" member of a JSON body, decoded. */
static int body_hex(arb_http_req *req, uint8_t **out, size_t *len)
{
    size_t blen;
    const uint8_t *body = arb_http_req_body(req, &blen);
    json_error_t je;
    json_t *o = json_loadb((const char *)body, blen, 0, &je);
    const char *hex = o ? json_string_value(json_object_get(o, "hex")) : NULL;
    if (o == NULL || hex == NULL) {
        json_decref(o);
        fail(req, 400, "chain_bad_json", "bad-json: expected {\"hex\": \"...\"}");
        return 0;
    }
    arb_err err = arb_hex_decode_alloc(out, len, hex);
    json_decref(o);
    if (err != ARB_OK) {
        fail(req, err == ARB_ERR_NOMEM ? 500 : 400, "chain_bad_hex", "bad-hex");
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- GET tip, block, headers */

static void h_tip(arb_chainapi *a, arb_http_req *req)
{
    arb_chain_tip tip;
    arb_block_header hdr;
    char work[65];
    pthread_mutex_lock(&a->mu);
    arb_chainstate_tip(a->cs, &tip);
    arb_err err = arb_chainstate_get_block(a->cs, &tip.hash, &hdr, NULL, NULL, NULL);
    pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK) {
        fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    uint8_t wbe[32];
    arb_u256_to_be(wbe, &tip.work);
    arb_hex_encode(work, wbe, 32);
    reply(req, json_pack("{s:s, s:I, s:o, s:I, s:I, s:s}", "network", a->p->name, "height",
                         (json_int_t)tip.height, "hash", jhash(&tip.hash), "bits",
                         (json_int_t)hdr.bits, "time", (json_int_t)hdr.time, "chainwork", work));
}

static void h_block(arb_chainapi *a, arb_http_req *req, arb_sha256 *sha)
{
    const char *qh = arb_http_req_query(req, "hash"), *qn = arb_http_req_query(req, "height");
    arb_hash hash;
    uint32_t height = 0;
    arb_chain_tip tip;
    arb_block blk;
    arb_block_header hdr;
    int in_main = 0;
    arb_err err;

    if (qh != NULL ? !arb_chain_hash_from_hex(&hash, qh) : !parse_u32(qn, &height)) {
        fail(req, 400, "chain_bad_query", "bad-query: give hash=<64 hex> or height=<n>");
        return;
    }
    arb_block_init(&blk);
    pthread_mutex_lock(&a->mu);
    arb_chainstate_tip(a->cs, &tip);
    err = qh != NULL ? ARB_OK : arb_chainstate_hash_at(a->cs, height, &hash);
    if (err == ARB_OK)
        err = arb_chainstate_get_block(a->cs, &hash, &hdr, &blk, &height, &in_main);
    pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK) {
        arb_block_clear(&blk);
        if (err == ARB_ERR_NOT_FOUND)
            fail(req, 404, "chain_not_found", "block-not-found");
        else
            fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    json_t *txs = json_array();
    for (size_t i = 0; i < blk.n_tx && txs; i++) {
        arb_hash id;
        if (arb_tx_txid(sha, &id, &blk.tx[i]) != ARB_OK ||
            json_array_append_new(txs, json_pack("{s:o, s:o*}", "txid", jhash(&id), "hex",
                                                 jtx(&blk.tx[i]))) != 0) {
            json_decref(txs);
            txs = NULL;
        }
    }
    arb_buf b = {0};
    arb_block_write(&b, &blk);
    json_t *hex = b.oom ? NULL : jhex(b.data, b.len);
    arb_buf_free(&b);
    arb_block_clear(&blk);
    reply(req, json_pack("{s:o, s:I, s:o*, s:I, s:o*, s:o*}", "hash", jhash(&hash), "height",
                         (json_int_t)height, "header", jheader(&hdr), "confirmations",
                         (json_int_t)(in_main ? tip.height - height + 1 : 0), "txs", txs, "hex",
                         hex));
}

static void h_headers(arb_chainapi *a, arb_http_req *req)
{
    uint32_t start, count = MAX_HEADERS;
    const char *qc = arb_http_req_query(req, "count");
    if (!parse_u32(arb_http_req_query(req, "start"), &start) ||
        (qc != NULL && !parse_u32(qc, &count))) {
        fail(req, 400, "chain_bad_query", "bad-query: give start=<n>&count=<m>");
        return;
    }
    if (count > MAX_HEADERS)
        count = MAX_HEADERS;
    json_t *arr = json_array();
    arb_err err = ARB_OK;
    pthread_mutex_lock(&a->mu);
    arb_chain_tip tip;
    arb_chainstate_tip(a->cs, &tip);
    for (uint64_t h = start; arr && h <= tip.height && h < (uint64_t)start + count; h++) {
        arb_hash hash;
        arb_block_header hdr;
        if ((err = arb_chainstate_hash_at(a->cs, (uint32_t)h, &hash)) != ARB_OK ||
            (err = arb_chainstate_get_block(a->cs, &hash, &hdr, NULL, NULL, NULL)) != ARB_OK)
            break;
        json_array_append_new(arr, jheader(&hdr));
    }
    pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK) {
        json_decref(arr);
        fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    reply(req, json_pack("{s:I, s:o*}", "start", (json_int_t)start, "headers", arr));
}

/* ---------------------------------------------------------------- GET tx (with its proof) */

typedef struct {
    const arb_hash *leaves;
    size_t n;
    arb_sha256 *sha;
} leaf_src;

/* Perfect subtree (level, index) over the leaf hashes. */
static arb_err leaf_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    const leaf_src *s = ud;
    if (level == 0) {
        if (index >= s->n)
            return ARB_ERR_INVALID_ARG;
        *out = s->leaves[index];
        return ARB_OK;
    }
    arb_hash l, r;
    arb_err err;
    if ((err = leaf_node(ud, level - 1, 2 * index, &l)) != ARB_OK ||
        (err = leaf_node(ud, level - 1, 2 * index + 1, &r)) != ARB_OK)
        return err;
    arb_merkle_node_hash(s->sha, out, &l, &r);
    return ARB_OK;
}

/* The RFC 6962 inclusion proof of tx `index` in the block's transaction tree. */
static arb_err tx_proof(const arb_block *blk, size_t index, arb_hash *proof, size_t *plen)
{
    arb_sha256 *sha = NULL, *sha2 = NULL;
    arb_hash *leaves = calloc(blk->n_tx, sizeof *leaves);
    arb_err err = leaves ? arb_sha256_new(&sha) : ARB_ERR_NOMEM;
    if (err == ARB_OK)
        err = arb_sha256_new(&sha2);
    for (size_t i = 0; err == ARB_OK && i < blk->n_tx; i++) {
        arb_buf b = {0};
        arb_tx_write(&b, &blk->tx[i], 1);
        if (b.oom)
            err = ARB_ERR_NOMEM;
        else
            arb_merkle_leaf_hash(sha, &leaves[i], b.data, b.len);
        arb_buf_free(&b);
    }
    if (err == ARB_OK) {
        leaf_src s = {leaves, blk->n_tx, sha2};
        arb_merkle_source src = {leaf_node, &s};
        err = arb_merkle_inclusion_build(sha, &src, index, blk->n_tx, proof, plen);
    }
    arb_sha256_free(sha);
    arb_sha256_free(sha2);
    free(leaves);
    return err;
}

static void h_tx(arb_chainapi *a, arb_http_req *req, arb_sha256 *sha)
{
    arb_hash txid;
    arb_tx tx;
    const char *q = arb_http_req_query(req, "txid");
    if (q == NULL || !arb_chain_hash_from_hex(&txid, q)) {
        fail(req, 400, "chain_bad_query", "bad-query: give txid=<64 hex>");
        return;
    }
    arb_tx_init(&tx);
    if (arb_mempool_get(a->mp, &txid, &tx, NULL) == ARB_OK) {
        json_t *hex = jtx(&tx);
        arb_tx_clear(&tx);
        reply(req, json_pack("{s:o, s:o*, s:b}", "txid", jhash(&txid), "hex", hex, "confirmed", 0));
        return;
    }
    arb_block blk;
    arb_block_init(&blk);
    arb_hash bhash;
    arb_block_header hdr;
    uint32_t height = 0, idx32 = 0;
    size_t index = SIZE_MAX;
    pthread_mutex_lock(&a->mu);
    arb_err err = arb_chainstate_find_tx(a->cs, &txid, &height, &idx32);
    if (err == ARB_OK)
        err = arb_chainstate_hash_at(a->cs, height, &bhash);
    if (err == ARB_OK)
        err = arb_chainstate_get_block(a->cs, &bhash, &hdr, &blk, NULL, NULL);
    if (err == ARB_OK && idx32 < blk.n_tx)
        index = idx32;
    else if (err == ARB_OK)
        err = ARB_ERR_PARSE;
    pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK || index == SIZE_MAX) {
        arb_block_clear(&blk);
        if (err == ARB_OK || err == ARB_ERR_NOT_FOUND)
            fail(req, 404, "chain_not_found", "tx-not-found");
        else
            fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    arb_hash proof[ARB_MERKLE_MAX_PROOF];
    size_t plen = 0;
    err = tx_proof(&blk, index, proof, &plen);
    json_t *jp = json_array();
    for (size_t i = 0; err == ARB_OK && jp && i < plen; i++)
        json_array_append_new(jp, jhex(proof[i].b, 32));
    json_t *hex = jtx(&blk.tx[index]);
    size_t n_tx = blk.n_tx;
    arb_block_clear(&blk);
    if (err != ARB_OK) {
        json_decref(jp);
        json_decref(hex);
        fail(req, 500, "chain_nomem", arb_err_str(err));
        return;
    }
    reply(req, json_pack("{s:o, s:o*, s:b, s:o, s:I, s:I, s:I, s:o*, s:o*}", "txid", jhash(&txid),
                         "hex", hex, "confirmed", 1, "block_hash", jhash(&bhash), "height",
                         (json_int_t)height, "index", (json_int_t)index, "tree_size",
                         (json_int_t)n_tx, "proof", jp, "header", jheader(&hdr)));
}

/* ---------------------------------------------------------------- addresses */

typedef struct {
    arb_outpoint op;
    uint64_t amount;
    int64_t height; /* -1: mempool */
    int coinbase, mature;
} addr_utxo;

typedef struct {
    addr_utxo *v;
    size_t n, cap;
    int oom;
    const uint8_t *key;
} utxo_list;

static void ul_add(utxo_list *l, const arb_outpoint *op, uint64_t amount)
{
    if (l->n == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 16;
        addr_utxo *nv = realloc(l->v, c * sizeof *nv);
        if (nv == NULL) {
            l->oom = 1;
            return;
        }
        l->v = nv;
        l->cap = c;
    }
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    l->v[l->n].op = *op;
    l->v[l->n].amount = amount;
    l->v[l->n].height = -1;
    l->v[l->n].mature = 1;
    l->n++;
}

static int ul_chain(void *ud, const arb_outpoint *op, uint64_t amount)
{
    utxo_list *l = ud;
    ul_add(l, op, amount);
    return l->oom;
}

/* Mempool outputs to the key (called with the mempool locked: no pool calls). */
static int ul_pool(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    utxo_list *l = ud;
    (void)fee;
    for (size_t o = 0; o < tx->n_out; o++)
        if (memcmp(tx->out[o].key, l->key, 32) == 0) {
            arb_outpoint op = {*txid, (uint32_t)o};
            ul_add(l, &op, tx->out[o].amount);
        }
    return l->oom;
}

/* The address's unspent outputs: confirmed (not spent in the mempool) then
 * unconfirmed (not spent in the mempool). */
static arb_err addr_utxos(arb_chainapi *a, const uint8_t key[32], utxo_list *l)
{
    memset(l, 0, sizeof *l);
    l->key = key;
    pthread_mutex_lock(&a->mu);
    arb_chain_tip tip;
    arb_chainstate_tip(a->cs, &tip);
    arb_err err = arb_chainstate_addr_coins(a->cs, key, ul_chain, l);
    for (size_t i = 0; err == ARB_OK && i < l->n; i++) {
        arb_coin c;
        if ((err = arb_chainstate_get_coin(a->cs, &l->v[i].op, &c)) != ARB_OK)
            break;
        l->v[i].height = c.height;
        l->v[i].coinbase = c.coinbase;
        l->v[i].mature = !c.coinbase || (tip.height + 1 >= c.height &&
                                         tip.height + 1 - c.height >= a->p->coinbase_maturity);
    }
    pthread_mutex_unlock(&a->mu);
    if (err == ARB_OK && !l->oom)
        arb_mempool_foreach(a->mp, ul_pool, l);
    if (err == ARB_OK && l->oom)
        err = ARB_ERR_NOMEM;
    if (err == ARB_OK) {
        size_t w = 0;
        for (size_t i = 0; i < l->n; i++)
            if (!arb_mempool_spends(a->mp, &l->v[i].op))
                l->v[w++] = l->v[i];
        l->n = w;
    }
    return err;
}

typedef struct {
    arb_hash txid;
    int64_t height;
    uint64_t received, sent;
} hist_entry;

typedef struct {
    hist_entry *v;
    size_t n, cap;
    arb_outpoint *own; /* outputs ever paid to the key (for "sent") */
    uint64_t *own_amount;
    size_t n_own, cap_own;
    int oom;
    const uint8_t *key;
    arb_sha256 *sha;
    arb_chainstate *cs; /* spent coins not in `own` are looked up here */
} hist;

static int hist_add(hist *h, const arb_hash *txid, int64_t height, uint64_t recv,
                    uint64_t sent);

static void hist_tx(hist *h, const arb_tx *tx, int64_t height)
{
    arb_hash id;
    uint64_t recv = 0, sent = 0;
    if (arb_tx_txid(h->sha, &id, tx) != ARB_OK) {
        h->oom = 1;
        return;
    }
    if (!arb_tx_is_coinbase(tx))
        for (size_t i = 0; i < tx->n_in; i++) {
            for (size_t k = 0; k < h->n_own; k++)
                if (h->own[k].index == tx->in[i].index &&
                    memcmp(h->own[k].txid.b, tx->in[i].txid.b, 32) == 0) {
                    sent += h->own_amount[k];
                    goto next_in;
                }
            if (h->cs != NULL) {
                arb_coin c;
                if (arb_chainstate_get_coin(h->cs, &tx->in[i], &c) == ARB_OK &&
                    memcmp(c.key, h->key, 32) == 0)
                    sent += c.amount;
            }
        next_in:;
        }
    for (size_t o = 0; o < tx->n_out; o++) {
        if (memcmp(tx->out[o].key, h->key, 32) != 0)
            continue;
        recv += tx->out[o].amount;
        if (h->n_own == h->cap_own) {
            size_t c = h->cap_own ? h->cap_own * 2 : 16;
            arb_outpoint *no = realloc(h->own, c * sizeof *no);
            if (no)
                h->own = no;
            uint64_t *na = realloc(h->own_amount, c * sizeof *na);
            if (na)
                h->own_amount = na;
            if (!no || !na) {
                h->oom = 1;
                return;
            }
            h->cap_own = c;
        }
        h->own[h->n_own].txid = id;
        h->own[h->n_own].index = (uint32_t)o;
        h->own_amount[h->n_own++] = tx->out[o].amount;
    }
    if (recv == 0 && sent == 0)
        return;
    (void)hist_add(h, &id, height, recv, sent);
}

static int hist_add(hist *h, const arb_hash *txid, int64_t height, uint64_t recv,
                    uint64_t sent)
{
    if (h->n == h->cap) {
        size_t c = h->cap ? h->cap * 2 : 16;
        hist_entry *nv = realloc(h->v, c * sizeof *nv);
        if (nv == NULL) {
            h->oom = 1;
            return 1;
        }
        h->v = nv;
        h->cap = c;
    }
    h->v[h->n].txid = *txid;
    h->v[h->n].height = height;
    h->v[h->n].received = recv;
    h->v[h->n].sent = sent;
    h->n++;
    return 0;
}

static int hist_chain(void *ud, const arb_hash *txid, uint32_t height, uint64_t recv, uint64_t sent)
{
    return hist_add(ud, txid, height, recv, sent);
}

typedef struct {
    arb_tx *v;
    size_t n, cap;
    int oom;
} tx_list;

static int copy_pool(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    tx_list *l = ud;
    (void)txid;
    (void)fee;
    if (l->n == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 16;
        arb_tx *nv = realloc(l->v, c * sizeof *nv);
        if (nv == NULL) {
            l->oom = 1;
            return 1;
        }
        l->v = nv;
        l->cap = c;
    }
    arb_tx_init(&l->v[l->n]);
    if (arb_tx_copy(&l->v[l->n], tx) != ARB_OK) {
        arb_tx_clear(&l->v[l->n]);
        l->oom = 1;
        return 1;
    }
    l->n++;
    return 0;
}

/* History: the chain's address-history index, then the mempool (arrival order). */
static arb_err addr_history(arb_chainapi *a, const uint8_t key[32], arb_sha256 *sha, hist *h)
{
    memset(h, 0, sizeof *h);
    h->key = key;
    h->sha = sha;
    tx_list pool = {0};
    arb_mempool_foreach(a->mp, copy_pool, &pool);
    pthread_mutex_lock(&a->mu);
    arb_err err = arb_chainstate_addr_history(a->cs, key, hist_chain, h);
    h->cs = a->cs;
    for (size_t i = 0; err == ARB_OK && !h->oom && !pool.oom && i < pool.n; i++)
        hist_tx(h, &pool.v[i], -1);
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < pool.n; i++)
        arb_tx_clear(&pool.v[i]);
    free(pool.v);
    if (err == ARB_OK && (h->oom || pool.oom))
        err = ARB_ERR_NOMEM;
    return err;
}

static void h_address(arb_chainapi *a, arb_http_req *req, const char *rest, arb_sha256 *sha)
{
    char addr[ARB_ADDR_MAX + 1];
    const char *slash = strchr(rest, '/');
    uint8_t key[32];
    arb_errbuf eb;
    if (slash == NULL || (size_t)(slash - rest) > ARB_ADDR_MAX) {
        fail(req, 404, "chain_bad_path", "unknown route");
        return;
    }
    memcpy(addr, rest, (size_t)(slash - rest));
    addr[slash - rest] = '\0';
    const char *what = slash + 1;
    if (strcmp(what, "utxos") != 0 && strcmp(what, "balance") != 0 &&
        strcmp(what, "history") != 0) {
        fail(req, 404, "chain_bad_path", "unknown route");
        return;
    }
    if (arb_address_decode(key, a->p->hrp, addr, &eb) != ARB_OK) {
        fail(req, 400, "chain_bad_address", "bad-address");
        return;
    }
    if (strcmp(what, "history") == 0) {
        hist h;
        arb_err err = addr_history(a, key, sha, &h);
        json_t *arr = json_array();
        for (size_t i = 0; err == ARB_OK && arr && i < h.n; i++)
            json_array_append_new(arr, json_pack("{s:o, s:I, s:I, s:I}", "txid",
                                                 jhash(&h.v[i].txid), "height",
                                                 (json_int_t)h.v[i].height, "received",
                                                 (json_int_t)h.v[i].received, "sent",
                                                 (json_int_t)h.v[i].sent));
        free(h.v);
        free(h.own);
        free(h.own_amount);
        if (err != ARB_OK) {
            json_decref(arr);
            fail(req, 500, "chain_db", arb_err_str(err));
            return;
        }
        reply(req, json_pack("{s:s, s:o*}", "address", addr, "txs", arr));
        return;
    }
    utxo_list l;
    arb_err err = addr_utxos(a, key, &l);
    if (err != ARB_OK) {
        free(l.v);
        fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    if (strcmp(what, "balance") == 0) {
        uint64_t conf = 0, unconf = 0, immature = 0;
        for (size_t i = 0; i < l.n; i++) {
            if (l.v[i].height < 0)
                unconf += l.v[i].amount;
            else if (!l.v[i].mature)
                immature += l.v[i].amount;
            else
                conf += l.v[i].amount;
        }
        free(l.v);
        reply(req, json_pack("{s:s, s:I, s:I, s:I}", "address", addr, "confirmed",
                             (json_int_t)conf, "unconfirmed", (json_int_t)unconf, "immature",
                             (json_int_t)immature));
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l.n; i++)
        json_array_append_new(
            arr, json_pack("{s:o, s:I, s:I, s:I, s:b, s:b, s:b}", "txid", jhash(&l.v[i].op.txid),
                           "index", (json_int_t)l.v[i].op.index, "amount",
                           (json_int_t)l.v[i].amount, "height", (json_int_t)l.v[i].height,
                           "coinbase", l.v[i].coinbase, "confirmed", l.v[i].height >= 0,
                           "mature", l.v[i].mature));
    free(l.v);
    reply(req, json_pack("{s:s, s:o*}", "address", addr, "utxos", arr));
}

/* ---------------------------------------------------------------- template, mempool */

static int active_lookup(void *ud, uint32_t height, arb_hdr_info *out)
{
    arb_chainapi *a = ud;
    arb_block_header h;
    if (arb_chainstate_hash_at(a->cs, height, &out->hash) != ARB_OK ||
        arb_chainstate_get_block(a->cs, &out->hash, &h, NULL, NULL, NULL) != ARB_OK)
        return 0;
    out->time = h.time;
    out->bits = h.bits;
    return 1;
}

static void h_template(arb_chainapi *a, arb_http_req *req, arb_sha256 *sha)
{
    uint8_t key[32];
    arb_errbuf eb;
    const char *addr = arb_http_req_query(req, "address");
    if (addr == NULL || arb_address_decode(key, a->p->hrp, addr, &eb) != ARB_OK) {
        fail(req, 400, "chain_bad_address", "bad-address");
        return;
    }
    arb_block blk;
    arb_block_init(&blk);
    arb_tx *txs = NULL;
    size_t n = 0;
    uint64_t fees = 0;
    uint32_t bits = 0;
    arb_chain_tip tip;
    pthread_mutex_lock(&a->mu);
    arb_chainstate_tip(a->cs, &tip);
    arb_hdr_info parent;
    arb_err err = active_lookup(a, tip.height, &parent) ? ARB_OK : ARB_ERR_DB;
    if (err == ARB_OK && !arb_header_next_bits(a->p, tip.height + 1, &parent, active_lookup, a,
                                               &bits))
        err = ARB_ERR_INTERNAL;
    if (err == ARB_OK)
        err = arb_mempool_select(a->mp, ARB_BLOCK_MAX_SIZE - 4096, &txs, &n, &fees);
    if (err == ARB_OK) {
        int64_t now = (int64_t)time(NULL), mtp = arb_chainstate_tip_mtp(a->cs);
        if (now <= mtp)
            now = mtp + 1;
        err = arb_chain_block_build(a->p, sha, &blk, &tip.hash, parent.time, tip.height + 1, bits,
                                    now, key, txs, n, fees);
    }
    pthread_mutex_unlock(&a->mu);
    free(txs);
    if (err != ARB_OK) {
        arb_block_clear(&blk);
        fail(req, 500, "chain_template", arb_err_str(err));
        return;
    }
    arb_buf b = {0};
    arb_block_write(&b, &blk);
    json_t *hex = b.oom ? NULL : jhex(b.data, b.len);
    arb_buf_free(&b);
    arb_u256 target;
    int neg, ovf;
    char thex[65];
    arb_pow_bits_to_target(&target, bits, &neg, &ovf);
    arb_u256_hex(thex, &target);
    uint64_t value = 0;
    for (size_t o = 0; o < blk.tx[0].n_out; o++)
        value += blk.tx[0].out[o].amount;
    reply(req, json_pack("{s:I, s:o, s:I, s:s, s:I, s:I, s:I, s:o*}", "height",
                         (json_int_t)tip.height + 1, "prev_hash", jhash(&tip.hash), "bits",
                         (json_int_t)bits, "target", thex, "time", (json_int_t)blk.header.time,
                         "coinbase_value", (json_int_t)value, "tx_count", (json_int_t)blk.n_tx,
                         "hex", hex));
    arb_block_clear(&blk);
}

static int pool_ids(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    (void)tx;
    (void)fee;
    json_array_append_new(ud, jhash(txid));
    return 0;
}

static void h_mempool(arb_chainapi *a, arb_http_req *req)
{
    size_t count, bytes;
    json_t *arr = json_array();
    arb_mempool_stats(a->mp, &count, &bytes);
    if (arr)
        arb_mempool_foreach(a->mp, pool_ids, arr);
    count = arr ? json_array_size(arr) : count;
    reply(req, json_pack("{s:I, s:I, s:o*}", "count", (json_int_t)count, "bytes",
                         (json_int_t)bytes, "txids", arr));
}

/* ---------------------------------------------------------------- POST tx, block */

static void h_post_tx(arb_chainapi *a, arb_http_req *req, arb_sha256 *sha)
{
    uint8_t *raw;
    size_t len;
    arb_tx tx;
    arb_errbuf eb;
    if (!body_hex(req, &raw, &len))
        return;
    arb_tx_init(&tx);
    arb_err err = arb_tx_decode(&tx, raw, len, &eb);
    free(raw);
    if (err != ARB_OK) {
        fail(req, 400, "chain_tx_rejected", "tx-decode-failed");
        return;
    }
    arb_check_result res;
    arb_hash txid;
    arb_chain_checker c = {sha, a->schnorr, 1};
    pthread_mutex_lock(&a->mu);
    arb_mempool_chain ch = chain_desc(a);
    err = arb_mempool_accept(a->mp, &c, &ch, &tx, &txid, &res);
    pthread_mutex_unlock(&a->mu);
    arb_tx_clear(&tx);
    if (err == ARB_ERR_VERIFY) {
        fail(req, 400, "chain_tx_rejected", res.reason ? res.reason : "rejected");
        return;
    }
    if (err != ARB_OK) {
        fail(req, 500, "chain_nomem", arb_err_str(err));
        return;
    }
    size_t count, bytes;
    arb_mempool_stats(a->mp, &count, &bytes);
    arb_http_metric_set(a->http, "chain_mempool_txs", count);
    arb_http_metric_set(a->http, "chain_mempool_bytes", bytes);
    arb_http_metric_add(a->http, "chain_txs_accepted", 1);
    reply(req, json_pack("{s:o}", "txid", jhash(&txid)));
}

/* After the tip moved other than by one block on the old tip: collects the
 * transactions of the blocks that left the active chain (in chain order) and
 * re-checks the mempool against the new chain. Called with a->mu held. */
static void mempool_reorg(arb_chainapi *a, arb_sha256 *sha, const arb_hash *old_tip)
{
    arb_hash h = *old_tip;
    arb_block *blocks = NULL;
    size_t nb = 0;
    arb_tx *txs = NULL;
    size_t nt = 0;
    for (;;) {
        arb_block b;
        arb_block_header hdr;
        int in_main = 1;
        uint32_t height;
        arb_block_init(&b);
        if (arb_chainstate_get_block(a->cs, &h, &hdr, &b, &height, &in_main) != ARB_OK ||
            in_main || height == 0) {
            arb_block_clear(&b);
            break;
        }
        arb_block *nbv = realloc(blocks, (nb + 1) * sizeof *nbv);
        if (nbv == NULL) {
            arb_block_clear(&b);
            break;
        }
        blocks = nbv;
        blocks[nb++] = b;
        h = hdr.prev;
    }
    for (size_t i = 0; i < nb; i++)
        nt += blocks[i].n_tx;
    txs = nt ? calloc(nt, sizeof *txs) : NULL;
    nt = 0;
    for (size_t i = nb; txs && i-- > 0;) /* oldest first */
        for (size_t k = 0; k < blocks[i].n_tx; k++)
            txs[nt++] = blocks[i].tx[k]; /* shallow: freed with the blocks */
    arb_chain_checker c = {sha, a->schnorr, 1};
    arb_mempool_chain ch = chain_desc(a);
    if (arb_mempool_resync(a->mp, &c, &ch, txs, nt) != ARB_OK)
        arb_logf(&a->log, ARB_LOG_WARN, "mempool: out of memory re-checking after a reorg");
    free(txs);
    for (size_t i = 0; i < nb; i++)
        arb_block_clear(&blocks[i]);
    free(blocks);
    {
        char old_hex[65];
        arb_chain_hash_hex(old_hex, old_tip);
        arb_logf(&a->log, ARB_LOG_INFO, "chain: reorg of depth %zu, old tip %s", nb, old_hex);
    }
}

static void h_post_block(arb_chainapi *a, arb_http_req *req, arb_sha256 *sha)
{
    uint8_t *raw;
    size_t len;
    arb_block blk;
    arb_errbuf eb;
    if (!body_hex(req, &raw, &len))
        return;
    arb_block_init(&blk);
    arb_err err = arb_block_decode(&blk, raw, len, &eb);
    free(raw);
    if (err != ARB_OK) {
        fail(req, 400, "chain_block_rejected", "block-decode-failed");
        return;
    }
    arb_hash hash;
    arb_header_hash(sha, &hash, &blk.header);
    arb_block_outcome outcome = 0;
    arb_check_result res;
    memset(&res, 0, sizeof res);
    arb_chain_tip before, after;
    uint32_t height = 0;
    struct timespec t0, t1;
    pthread_mutex_lock(&a->mu);
    arb_chainstate_tip(a->cs, &before);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = arb_chainstate_submit(a->cs, &blk, (int64_t)time(NULL), &outcome, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    arb_chainstate_tip(a->cs, &after);
    if (err == ARB_OK && memcmp(before.hash.b, after.hash.b, 32) != 0) {
        if (memcmp(blk.header.prev.b, before.hash.b, 32) == 0 &&
            memcmp(after.hash.b, hash.b, 32) == 0)
            arb_mempool_block_connected(a->mp, sha, &blk);
        else
            mempool_reorg(a, sha, &before.hash);
    }
    if (err == ARB_OK)
        if (arb_chainstate_get_block(a->cs, &hash, NULL, NULL, &height, NULL) != ARB_OK)
            height = 0;
    pthread_mutex_unlock(&a->mu);
    size_t blk_ntx = blk.n_tx;
    arb_block_clear(&blk);
    if (err == ARB_ERR_VERIFY) {
        fail(req, 400, "chain_block_rejected", res.reason ? res.reason : "rejected");
        return;
    }
    if (err != ARB_OK) {
        fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    if (outcome == ARB_BLOCK_DUPLICATE) {
        fail(req, 400, "chain_block_rejected", "duplicate");
        return;
    }
    size_t count, bytes;
    arb_mempool_stats(a->mp, &count, &bytes);
    arb_http_metric_set(a->http, "chain_mempool_txs", count);
    arb_http_metric_set(a->http, "chain_mempool_bytes", bytes);
    arb_http_metric_set(a->http, "chain_height", after.height);
    arb_http_metric_add(a->http, "chain_blocks_accepted", 1);
    arb_metrics_observe(arb_http_server_metrics(a->http), "chain_block_connect_seconds", NULL,
                        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (memcmp(before.hash.b, after.hash.b, 32) != 0) {
        char tip_hex[65];
        arb_chain_hash_hex(tip_hex, &after.hash);
        arb_logf(&a->log, ARB_LOG_INFO, "chain: block %s connected, height %u, %zu txs", tip_hex,
                 after.height, blk_ntx);
    }
    reply(req, json_pack("{s:o, s:I, s:b}", "hash", jhash(&hash), "height", (json_int_t)height,
                         "accepted", 1));
}

/* ---------------------------------------------------------------- dispatch */

static void on_get(void *ud, arb_http_req *req)
{
    arb_chainapi *a = ud;
    const char *p = arb_http_req_path(req) + strlen(PREFIX);
    arb_sha256 *sha;
    if (arb_sha256_new(&sha) != ARB_OK) {
        fail(req, 500, "chain_nomem", "out of memory");
        return;
    }
    if (strcmp(p, "tip") == 0)
        h_tip(a, req);
    else if (strcmp(p, "block") == 0)
        h_block(a, req, sha);
    else if (strcmp(p, "headers") == 0)
        h_headers(a, req);
    else if (strcmp(p, "tx") == 0)
        h_tx(a, req, sha);
    else if (strncmp(p, "address/", 8) == 0)
        h_address(a, req, p + 8, sha);
    else if (strcmp(p, "template") == 0)
        h_template(a, req, sha);
    else if (strcmp(p, "mempool") == 0)
        h_mempool(a, req);
    else
        fail(req, 404, "chain_bad_path", "unknown route");
    arb_sha256_free(sha);
}

static void on_post(void *ud, arb_http_req *req)
{
    arb_chainapi *a = ud;
    const char *p = arb_http_req_path(req) + strlen(PREFIX);
    arb_sha256 *sha;
    if (arb_sha256_new(&sha) != ARB_OK) {
        fail(req, 500, "chain_nomem", "out of memory");
        return;
    }
    if (strcmp(p, "tx") == 0)
        h_post_tx(a, req, sha);
    else if (strcmp(p, "block") == 0)
        h_post_block(a, req, sha);
    else
        fail(req, 404, "chain_bad_path", "unknown route");
    arb_sha256_free(sha);
}

arb_err arb_chainapi_start(arb_chainapi **out, arb_http_server *http, arb_store *store,
                           unsigned cf_base, const char *network, size_t mempool_bytes,
                           const arb_logger *log, arb_errbuf *eb)
{
    arb_chainapi *a = calloc(1, sizeof *a);
    arb_err err;
    *out = NULL;
    if (a == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    a->p = arb_chain_params_get(network);
    a->http = http;
    if (log)
        a->log = *log;
    pthread_mutex_init(&a->mu, NULL);
    if (a->p == NULL || !a->p->has_ledger) {
        err = arb_errf(eb, ARB_ERR_INVALID_ARG, "network %s has no ledger", network);
        goto fail;
    }
    if ((err = arb_schnorr_new(&a->schnorr)) != ARB_OK) {
        arb_errf(eb, err, "cannot create a BIP340 context");
        goto fail;
    }
    if ((err = arb_mempool_new(&a->mp, a->p, mempool_bytes)) != ARB_OK) {
        arb_errf(eb, err, "out of memory");
        goto fail;
    }
    if ((err = arb_chainstate_open(&a->cs, store, cf_base, a->p, 2, log, eb)) != ARB_OK)
        goto fail;
    /* On a worker pool of their own, so the log's routes never wait behind them. */
    if ((err = arb_http_route_add_pool(http, ARB_HTTP_GET, PREFIX, 0, on_get, a, "chain")) !=
            ARB_OK ||
        (err = arb_http_route_add_pool(http, ARB_HTTP_POST, PREFIX, MAX_POST, on_post, a,
                                       "chain")) != ARB_OK) {
        arb_errf(eb, err, "cannot register the chain routes");
        goto fail;
    }
    arb_chain_tip tip;
    arb_chainstate_tip(a->cs, &tip);
    arb_http_metric_set(http, "chain_height", tip.height);
    arb_http_metric_set(http, "chain_mempool_txs", 0);
    arb_http_metric_set(http, "chain_mempool_bytes", 0);
    if ((err = arb_metrics_declare(arb_http_server_metrics(http), "chain_block_connect_seconds",
                                   ARB_METRIC_HISTOGRAM,
                                   "Time to validate and connect a submitted block.", NULL,
                                   arb_metrics_latency_buckets,
                                   arb_metrics_latency_nbuckets)) != ARB_OK) {
        arb_errf(eb, err, "cannot declare the chain metrics");
        goto fail;
    }
    *out = a;
    return ARB_OK;
fail:
    arb_chainapi_stop(a);
    return err;
}

void arb_chainapi_read(arb_chainapi *a,
                       void (*fn)(void *ud, arb_chainstate *cs, arb_mempool *mp,
                                  const arb_chain_params *p),
                       void *ud)
{
    pthread_mutex_lock(&a->mu);
    fn(ud, a->cs, a->mp, a->p);
    pthread_mutex_unlock(&a->mu);
}

void arb_chainapi_stop(arb_chainapi *a)
{
    if (a == NULL)
        return;
    arb_chainstate_close(a->cs);
    arb_mempool_free(a->mp);
    arb_schnorr_free(a->schnorr);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
