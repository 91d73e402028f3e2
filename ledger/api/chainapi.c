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
#include "ledger/anchor/anchor.h"
#include "ledger/api/metrics.h"
#include "merkle/proof.h"

#define PREFIX "/chain/v1/"
#define MAX_HEADERS 2000
#define MAX_POST (5u << 20)

/* The last template selection, reused while neither the tip nor the pool
 * changed (arb_mempool_info.generation). */
typedef struct {
    int valid;
    arb_hash tip;
    uint64_t generation;
    arb_tx *txs;
    size_t n;
    uint64_t fees;
    arb_hash root; /* the state root after the selection */
    /* the last block built from it, for one coinbase key (a miner asks for
     * the same address again and again): only the header time changes */
    int have_block;
    uint8_t key[32];
    uint8_t *raw;
    size_t raw_len;
    uint32_t parent_time;
    uint64_t value;
    size_t tx_count;
} tmpl_cache;

struct arb_chainapi {
    pthread_mutex_t mu; /* the chain state */
    arb_chainstate *cs;
    arb_mempool *mp;
    pthread_mutex_t tmpl_mu; /* the template cache (never held with mu) */
    tmpl_cache tmpl;
    char *mempool_file; /* NULL: no persistence */
    int started;        /* set once start succeeded: only then is the pool saved */
    const arb_chain_params *p;
    arb_schnorr *schnorr;
    arb_http_server *http;
    arb_logger log;
    arb_chainapi_hooks hooks; /* the peer network's announcements (zeroed: none) */
};

static void notify_tip(arb_chainapi *a, const arb_chain_tip *before, const arb_chain_tip *after);
static void notify_tx(arb_chainapi *a, const arb_hash *txid);

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

/* The mempool's payload check: the operations against the tip's state. */
static arb_err pool_state(void *ud, const arb_tx *const *txs, size_t n,
                          const uint8_t *const *senders, uint8_t *ok, const char **reasons)
{
    return arb_chainstate_state_preview(ud, txs, n, senders, ok, reasons, NULL);
}

/* The tip's committed records, over which the mempool keeps its state view. */
static arb_err pool_state_get(void *ud, uint8_t kind, const uint8_t key32[32],
                              uint8_t out[ARB_SREC_MAX], size_t *len)
{
    return arb_chainstate_state_get(ud, kind, key32, out, len);
}

/* A refusal by the mempool's bounds on pending name and anchor transactions. */
static void count_payload_reject(arb_chainapi *a, const arb_check_result *res)
{
    if (res->reason != NULL && (strcmp(res->reason, "mempool-payload-full") == 0 ||
                                strncmp(res->reason, "too-many-pending-", 17) == 0))
        arb_http_metric_add(a->http, "chain_mempool_payload_rejected", 1);
}

static arb_mempool_chain chain_desc(arb_chainapi *a)
{
    arb_chain_tip tip;
    arb_chainstate_tip(a->cs, &tip);
    arb_mempool_chain c = {arb_chainstate_utxo_lookup, a->cs, tip.height + 1,
                           arb_chainstate_tip_mtp(a->cs), tip.hash, pool_state, a->cs,
                           pool_state_get, a->cs};
    return c;
}

/* After a block on the tip: drops the pool's operations the block made
 * invalid. With a->mu. */
static void pool_state_recheck(arb_chainapi *a)
{
    arb_mempool_chain ch = chain_desc(a);
    size_t dropped = 0;
    if (arb_mempool_state_recheck(a->mp, &ch, &dropped) != ARB_OK)
        arb_logf(&a->log, ARB_LOG_WARN, "mempool: cannot re-check the name and anchor operations");
    if (dropped > 0)
        arb_http_metric_add(a->http, "chain_mempool_state_dropped", dropped);
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
    arb_mempool_entry_info info;
    if (arb_mempool_get(a->mp, &txid, &tx, &info) == ARB_OK) {
        json_t *hex = jtx(&tx);
        arb_tx_clear(&tx);
        reply(req, json_pack("{s:o, s:o*, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                             "txid", jhash(&txid), "hex", hex, "confirmed", 0, "fee",
                             (json_int_t)info.fee, "size", (json_int_t)info.size, "fee_rate",
                             (json_int_t)(info.fee * 1000 / info.size), "time",
                             (json_int_t)info.time, "ancestor_count",
                             (json_int_t)info.anc_count, "ancestor_size",
                             (json_int_t)info.anc_size, "ancestor_fees",
                             (json_int_t)info.anc_fees, "descendant_count",
                             (json_int_t)info.desc_count, "descendant_size",
                             (json_int_t)info.desc_size, "descendant_fees",
                             (json_int_t)info.desc_fees));
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

/* ---------------------------------------------------------------- state proofs, anchors */

#define PROOF_MAX_HEADERS 10000

/* Appends an RFC 6962 inclusion proof of tx `index` of blk as hex strings. */
static json_t *jtx_proof(const arb_block *blk, size_t index, arb_err *err)
{
    arb_hash proof[ARB_MERKLE_MAX_PROOF];
    size_t plen = 0;
    json_t *jp = json_array();
    *err = tx_proof(blk, index, proof, &plen);
    for (size_t i = 0; *err == ARB_OK && jp && i < plen; i++)
        json_array_append_new(jp, jhex(proof[i].b, 32));
    if (*err != ARB_OK || jp == NULL) {
        json_decref(jp);
        if (*err == ARB_OK)
            *err = ARB_ERR_NOMEM;
        return NULL;
    }
    return jp;
}

arb_err arb_chainapi_state_proof(arb_chainstate *cs, arb_sha256 *sha, uint8_t kind,
                                 const uint8_t key32[32], const char *checkpoint,
                                 struct json_t **out, const char **why)
{
    arb_chain_tip tip;
    arb_hash cp, h, root;
    arb_chain_hdrinfo hi;
    uint32_t cp_height = 0;
    arb_block blk;
    arb_buf smtp = ARB_BUF_INIT, cb = ARB_BUF_INIT;
    uint8_t tree_key[32], rec[ARB_SREC_MAX];
    size_t rec_len = 0;
    json_t *o = NULL, *hdrs = NULL, *cbp = NULL, *jrec = NULL;
    arb_err err;

    *out = NULL;
    *why = NULL;
    arb_block_init(&blk);
    arb_chainstate_tip(cs, &tip);
    if (checkpoint != NULL) {
        if (!arb_chain_hash_from_hex(&cp, checkpoint)) {
            *why = "bad-checkpoint: give a block hash (64 hex)";
            return ARB_ERR_INVALID_ARG;
        }
        if (arb_chainstate_header(cs, &cp, &hi) != ARB_OK ||
            arb_chainstate_hash_at(cs, hi.height, &h) != ARB_OK || !arb_hash_eq(&h, &cp)) {
            *why = "checkpoint-not-on-the-active-chain";
            return ARB_ERR_INVALID_ARG;
        }
        cp_height = hi.height;
    } else if ((err = arb_chainstate_hash_at(cs, 0, &cp)) != ARB_OK) {
        return err;
    }
    if (tip.height - cp_height > PROOF_MAX_HEADERS) {
        *why = "too-many-headers: more than 10000 headers after the checkpoint; give a later "
               "checkpoint";
        return ARB_ERR_INVALID_ARG;
    }
    hdrs = json_array();
    for (uint32_t y = cp_height + 1; hdrs && y <= tip.height; y++) {
        arb_block_header hdr;
        uint8_t raw[80];
        if ((err = arb_chainstate_hash_at(cs, y, &h)) != ARB_OK ||
            (err = arb_chainstate_get_block(cs, &h, &hdr, NULL, NULL, NULL)) != ARB_OK)
            goto out;
        arb_header_encode(raw, &hdr);
        json_array_append_new(hdrs, jhex(raw, 80));
    }
    if ((err = arb_chainstate_get_block(cs, &tip.hash, NULL, &blk, NULL, NULL)) != ARB_OK)
        goto out;
    arb_tx_write(&cb, &blk.tx[0], 1);
    if ((cbp = jtx_proof(&blk, 0, &err)) == NULL)
        goto out;
    if ((err = arb_chainstate_state_prove(cs, kind, key32, &smtp, &root, tree_key)) != ARB_OK)
        goto out;
    err = arb_chainstate_state_get(cs, kind, key32, rec, &rec_len);
    if (err == ARB_OK)
        jrec = jhex(rec, rec_len);
    else if (err == ARB_ERR_NOT_FOUND)
        jrec = json_null();
    else
        goto out;
    err = ARB_OK;
    if (cb.oom || smtp.oom) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    o = json_pack("{s:i, s:o, s:o, s:I, s:o*, s:I, s:o, s:o*, s:o, s:o*}", "version", 1,
                  "checkpoint", jhash(&cp), "headers", hdrs, "height", (json_int_t)tip.height,
                  "coinbase", jhex(cb.data, cb.len), "tx_count", (json_int_t)blk.n_tx,
                  "coinbase_proof", cbp, "key", jhex(tree_key, 32), "record", jrec,
                  "smt_proof", jhex(smtp.data, smtp.len));
    hdrs = cbp = jrec = NULL; /* taken by o (or freed by json_pack on failure) */
    if (o == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    (void)sha;
    *out = o;
out:
    json_decref(hdrs);
    json_decref(cbp);
    json_decref(jrec);
    arb_buf_free(&smtp);
    arb_buf_free(&cb);
    arb_block_clear(&blk);
    return err;
}

/* Query "from" / "limit" for a bounded list (limit 1..max, default max). */
static int page_query(arb_http_req *req, uint32_t max, uint32_t *from, uint32_t *limit)
{
    const char *qf = arb_http_req_query(req, "from"), *ql = arb_http_req_query(req, "limit");
    *from = 0;
    *limit = max;
    if (qf != NULL && !parse_u32(qf, from))
        return 0;
    if (ql != NULL && (!parse_u32(ql, limit) || *limit == 0))
        return 0;
    if (*limit > max)
        *limit = max;
    return 1;
}

static json_t *janchor(uint64_t tree_size, uint64_t ts, const uint8_t root[32], uint32_t height,
                       const arb_hash *txid, const arb_hash *block)
{
    return json_pack("{s:I, s:I, s:o*, s:I, s:o, s:o}", "tree_size", (json_int_t)tree_size,
                     "timestamp", (json_int_t)ts, "root_hash", jhex(root, 32), "height",
                     (json_int_t)height, "txid", jhash(txid), "block", jhash(block));
}

typedef struct {
    json_t *arr;
    uint32_t from, limit, seen;
    json_t *latest;
    uint32_t last_height, last_index;
    arb_hash last_block;
    int more;
} anchor_walk;

/* The page of a log's anchors: entries from..from+limit (stops after). */
static int anchor_hist(void *ud, uint32_t height, uint32_t tx_index, const arb_hash *txid,
                       uint8_t op, const arb_hash *block, const uint8_t *rec, size_t rec_len)
{
    anchor_walk *w = ud;
    arb_anchor_head hd;
    (void)op;
    (void)tx_index;
    if (w->seen++ < w->from)
        return 0;
    if (json_array_size(w->arr) >= w->limit) {
        w->more = 1;
        return 1;
    }
    if (rec != NULL && arb_anchor_head_decode(&hd, rec, rec_len) == ARB_OK)
        json_array_append_new(w->arr,
                              janchor(hd.tree_size, hd.timestamp, hd.root, height, txid, block));
    return 0;
}

/* The latest anchor of a log (its last history entry). */
static int anchor_latest(void *ud, uint32_t height, uint32_t tx_index, const arb_hash *txid,
                         uint8_t op, const arb_hash *block, const uint8_t *rec, size_t rec_len)
{
    anchor_walk *w = ud;
    arb_anchor_head hd;
    (void)op;
    if (rec == NULL || arb_anchor_head_decode(&hd, rec, rec_len) != ARB_OK)
        return 1;
    json_decref(w->latest);
    w->latest = janchor(hd.tree_size, hd.timestamp, hd.root, height, txid, block);
    w->last_height = height;
    w->last_index = tx_index;
    w->last_block = *block;
    return 1;
}

static void h_anchor(arb_chainapi *a, arb_http_req *req, const char *hex, arb_sha256 *sha)
{
    uint8_t log_id[32];
    uint32_t from, limit;
    const char *qp = arb_http_req_query(req, "proof");
    int want_proof = qp != NULL && strcmp(qp, "0") != 0;
    if (strlen(hex) != 64 || !arb_hex_decode(log_id, 32, hex, 64)) {
        fail(req, 400, "chain_bad_query", "bad-log-id: give 64 hex");
        return;
    }
    if (!page_query(req, 1000, &from, &limit)) {
        fail(req, 400, "chain_bad_query", "bad-query: from=<n>&limit=<1..1000>");
        return;
    }
    anchor_walk w = {json_array(), from, limit, 0, NULL, 0, 0, {{0}}, 0};
    json_t *proof = NULL;
    const char *why = NULL;
    pthread_mutex_lock(&a->mu);
    arb_err err = arb_chainstate_state_history(a->cs, ARB_SREC_ANCHOR, log_id, anchor_hist, &w);
    if (err == ARB_OK)
        err = arb_chainstate_state_history_last(a->cs, ARB_SREC_ANCHOR, log_id, anchor_latest, &w);
    if (err == ARB_OK && want_proof) {
        err = arb_chainapi_state_proof(a->cs, sha, ARB_SREC_ANCHOR, log_id,
                                       arb_http_req_query(req, "checkpoint"), &proof, &why);
        if (err == ARB_OK && w.latest != NULL) {
            /* the latest anchor's transaction and its inclusion in its block */
            arb_block blk;
            arb_block_init(&blk);
            err = arb_chainstate_get_block(a->cs, &w.last_block, NULL, &blk, NULL, NULL);
            if (err == ARB_OK && w.last_index < blk.n_tx) {
                json_t *jp = jtx_proof(&blk, w.last_index, &err);
                if (jp != NULL) {
                    json_object_set_new(proof, "anchor_tx", jtx(&blk.tx[w.last_index]));
                    json_object_set_new(proof, "anchor_tx_index", json_integer(w.last_index));
                    json_object_set_new(proof, "anchor_tx_proof", jp);
                    json_object_set_new(proof, "anchor_block_height",
                                        json_integer(w.last_height));
                }
            } else if (err == ARB_OK) {
                err = ARB_ERR_PARSE;
            }
            arb_block_clear(&blk);
        }
    }
    pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK) {
        json_decref(w.arr);
        json_decref(w.latest);
        json_decref(proof);
        if (err == ARB_ERR_INVALID_ARG && why != NULL)
            fail(req, 400, "chain_bad_query", why);
        else
            fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    json_t *o = json_pack("{s:o*, s:o, s:o*, s:b}", "log_id", jhex(log_id, 32), "latest",
                          w.latest ? w.latest : json_null(), "anchors", w.arr, "more", w.more);
    if (o != NULL && proof != NULL)
        json_object_set_new(o, "proof", proof);
    else
        json_decref(proof);
    reply(req, o);
}

typedef struct {
    arb_chainstate *cs;
    json_t *arr;
    uint32_t limit;
    int more;
    uint8_t last[32];
} anchors_list;

static int anchor_each(void *ud, const uint8_t key32[32], const uint8_t *rec, size_t len)
{
    anchors_list *l = ud;
    (void)rec;
    (void)len;
    if (json_array_size(l->arr) >= l->limit) {
        l->more = 1;
        return 1;
    }
    anchor_walk w = {NULL, 0, 0, 0, NULL, 0, 0, {{0}}, 0};
    if (arb_chainstate_state_history_last(l->cs, ARB_SREC_ANCHOR, key32, anchor_latest, &w) !=
        ARB_OK) {
        json_decref(w.latest);
        return 1;
    }
    json_array_append_new(l->arr, json_pack("{s:o*, s:o}", "log_id", jhex(key32, 32), "latest",
                                            w.latest ? w.latest : json_null()));
    memcpy(l->last, key32, 32);
    return 0;
}

/* GET anchors[?after=<log id hex>&limit=N]: every anchored log, by log ID. */
static void h_anchors(arb_chainapi *a, arb_http_req *req)
{
    const char *qa = arb_http_req_query(req, "after"), *ql = arb_http_req_query(req, "limit");
    uint8_t after[32];
    uint32_t limit = 1000;
    if ((qa != NULL && (strlen(qa) != 64 || !arb_hex_decode(after, 32, qa, 64))) ||
        (ql != NULL && (!parse_u32(ql, &limit) || limit == 0))) {
        fail(req, 400, "chain_bad_query", "bad-query: after=<64 hex>&limit=<1..1000>");
        return;
    }
    if (limit > 1000)
        limit = 1000;
    anchors_list l = {NULL, json_array(), limit, 0, {0}};
    pthread_mutex_lock(&a->mu);
    l.cs = a->cs;
    arb_err err = arb_chainstate_state_each(a->cs, ARB_SREC_ANCHOR, qa ? after : NULL,
                                            anchor_each, &l);
    pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK) {
        json_decref(l.arr);
        fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    reply(req, json_pack("{s:o*, s:o*}", "logs", l.arr, "next",
                         l.more ? jhex(l.last, 32) : json_null()));
}

typedef struct {
    json_t *arr;
    uint32_t limit;
    int more;
    uint8_t last[32];
} zf_list;

static int zf_each(void *ud, const uint8_t hash32[32])
{
    zf_list *l = ud;
    if (json_array_size(l->arr) >= l->limit) {
        l->more = 1;
        return 1;
    }
    json_array_append_new(l->arr, jhex(hash32, 32));
    memcpy(l->last, hash32, 32);
    return 0;
}

/* GET zonefile-hashes[?after=<hex>&limit=N]: the on-chain zone-file hashes
 * in key order, at most limit (1..10000, default 1000). */
static void h_zonefile_hashes(arb_chainapi *a, arb_http_req *req)
{
    const char *qa = arb_http_req_query(req, "after"), *ql = arb_http_req_query(req, "limit");
    uint8_t after[32];
    uint32_t limit = 1000;
    if ((qa != NULL && (strlen(qa) != 64 || !arb_hex_decode(after, 32, qa, 64))) ||
        (ql != NULL && (!parse_u32(ql, &limit) || limit == 0 || limit > 10000))) {
        fail(req, 400, "chain_bad_query", "bad-query: after=<64 hex>&limit=<1..10000>");
        return;
    }
    zf_list l = {json_array(), limit, 0, {0}};
    pthread_mutex_lock(&a->mu);
    arb_err err = arb_chainstate_zonefile_each_after(a->cs, qa ? after : NULL, zf_each, &l);
    pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK) {
        json_decref(l.arr);
        fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    reply(req, json_pack("{s:o*, s:o*}", "hashes", l.arr, "next",
                         l.more ? jhex(l.last, 32) : json_null()));
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

/* Outpoints paying the key, with their amounts: a hash set (linear probing;
 * txids are hashes, so their first bytes spread well). */
typedef struct {
    arb_outpoint op;
    uint64_t amount;
    int used;
} own_slot;

typedef struct {
    own_slot *v;
    size_t cap, n;
} own_set;

static size_t own_home(const own_set *s, const arb_outpoint *op)
{
    uint64_t x;
    memcpy(&x, op->txid.b, 8);
    x ^= (uint64_t)op->index * 0x9e3779b97f4a7c15ULL;
    x *= 0xbf58476d1ce4e5b9ULL;
    return (size_t)(x >> 32) & (s->cap - 1);
}

static int own_find(const own_set *s, const arb_outpoint *op, uint64_t *amount)
{
    if (s->cap == 0)
        return 0;
    for (size_t i = own_home(s, op);; i = (i + 1) & (s->cap - 1)) {
        if (!s->v[i].used)
            return 0;
        if (s->v[i].op.index == op->index && memcmp(s->v[i].op.txid.b, op->txid.b, 32) == 0) {
            *amount = s->v[i].amount;
            return 1;
        }
    }
}

/* Returns 0 when out of memory. */
static int own_add(own_set *s, const arb_outpoint *op, uint64_t amount)
{
    if ((s->n + 1) * 2 > s->cap) {
        own_set g = {calloc(s->cap ? s->cap * 2 : 64, sizeof(own_slot)), s->cap ? s->cap * 2 : 64,
                     0};
        if (g.v == NULL)
            return 0;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i].used)
                (void)own_add(&g, &s->v[i].op, s->v[i].amount);
        free(s->v);
        *s = g;
    }
    size_t i = own_home(s, op);
    while (s->v[i].used)
        i = (i + 1) & (s->cap - 1);
    s->v[i].op = *op;
    s->v[i].amount = amount;
    s->v[i].used = 1;
    s->n++;
    return 1;
}

typedef struct {
    hist_entry *v;
    size_t n, cap;
    own_set own; /* unspent chain coins of the key, then mempool outputs to it */
    int oom;
    const uint8_t *key;
} hist;

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

static int hist_own_coin(void *ud, const arb_outpoint *op, uint64_t amount)
{
    hist *h = ud;
    if (!own_add(&h->own, op, amount))
        h->oom = 1;
    return h->oom;
}

/* A mempool transaction (called with the mempool locked: no pool calls). A
 * pool transaction can spend only unspent chain coins or pool outputs, so
 * `own` (the key's unspent chain coins, then the pool outputs to the key seen
 * so far in arrival order) tells what it sends from the key. */
static int hist_pool(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    hist *h = ud;
    uint64_t recv = 0, sent = 0, amount;
    (void)fee;
    for (size_t i = 0; i < tx->n_in; i++)
        if (own_find(&h->own, &tx->in[i], &amount))
            sent += amount;
    for (size_t o = 0; o < tx->n_out; o++) {
        if (memcmp(tx->out[o].key, h->key, 32) != 0)
            continue;
        recv += tx->out[o].amount;
        arb_outpoint op = {*txid, (uint32_t)o};
        if (!own_add(&h->own, &op, tx->out[o].amount)) {
            h->oom = 1;
            return 1;
        }
    }
    if (recv != 0 || sent != 0)
        return hist_add(h, txid, -1, recv, sent);
    return 0;
}

/* History: the chain's address-history index, then the mempool (arrival
 * order). The chain lock covers only the key's own index entries; the pool
 * is scanned under the mempool's lock alone. */
static arb_err addr_history(arb_chainapi *a, const uint8_t key[32], hist *h)
{
    memset(h, 0, sizeof *h);
    h->key = key;
    pthread_mutex_lock(&a->mu);
    arb_err err = arb_chainstate_addr_history(a->cs, key, hist_chain, h);
    if (err == ARB_OK && !h->oom)
        err = arb_chainstate_addr_coins(a->cs, key, hist_own_coin, h);
    pthread_mutex_unlock(&a->mu);
    if (err == ARB_OK && !h->oom)
        arb_mempool_foreach(a->mp, hist_pool, h);
    free(h->own.v);
    h->own.v = NULL;
    if (err == ARB_OK && h->oom)
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
        arb_err err = addr_history(a, key, &h);
        json_t *arr = json_array();
        for (size_t i = 0; err == ARB_OK && arr && i < h.n; i++)
            json_array_append_new(arr, json_pack("{s:o, s:I, s:I, s:I}", "txid",
                                                 jhash(&h.v[i].txid), "height",
                                                 (json_int_t)h.v[i].height, "received",
                                                 (json_int_t)h.v[i].received, "sent",
                                                 (json_int_t)h.v[i].sent));
        free(h.v);
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

static void txs_free(arb_tx *txs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        arb_tx_clear(&txs[i]);
    free(txs);
}

/* Deep copies of n transactions (*out NULL when n is 0). */
static arb_err txs_copy(arb_tx **out, const arb_tx *src, size_t n)
{
    *out = NULL;
    if (n == 0)
        return ARB_OK;
    arb_tx *v = calloc(n, sizeof *v);
    if (v == NULL)
        return ARB_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        arb_tx_init(&v[i]);
        if (arb_tx_copy(&v[i], &src[i]) != ARB_OK) {
            txs_free(v, i + 1);
            return ARB_ERR_NOMEM;
        }
    }
    *out = v;
    return ARB_OK;
}

#define TEMPLATE_MAX_TX_BYTES (ARB_BLOCK_MAX_SIZE - 4096)

/* The template's transactions for the pool on `tip`: the cached selection
 * when neither the tip nor the pool changed since it was made, otherwise a
 * new selection (under the mempool's lock only; never under the chain lock).
 * Returns ARB_OK with copies in *txs, ARB_ERR_NOT_FOUND when the pool is not
 * on `tip` (the tip moved meanwhile: the caller reads it again), or NOMEM. */
/* Leaves out of the selection sel[0..*n) every transaction whose payload
 * fails against the tip's state with the earlier ones applied, and those
 * spending their outputs, and gives the state root after the rest. With
 * a->mu held; the tip must be the one the selection was made on. */
static arb_err template_state(arb_chainapi *a, arb_sha256 *sha, arb_tx *sel, size_t *n,
                              uint64_t *fees, arb_hash *root)
{
    arb_err err = ARB_OK;
    for (;;) {
        size_t m = *n, k = 0;
        const arb_tx **ptr = malloc((m ? m : 1) * sizeof *ptr);
        uint8_t *ok = malloc(m ? m : 1);
        arb_hash *ids = malloc((m ? m : 1) * sizeof *ids);
        int all = 1;
        if (ptr == NULL || ok == NULL || ids == NULL) {
            err = ARB_ERR_NOMEM;
        } else {
            for (size_t i = 0; i < m; i++)
                ptr[i] = &sel[i];
            err = arb_chainstate_state_preview(a->cs, ptr, m, NULL, ok, NULL, root);
        }
        for (size_t i = 0; err == ARB_OK && i < m; i++)
            all &= ok[i];
        if (err != ARB_OK || all) {
            free(ptr);
            free(ok);
            free(ids);
            return err;
        }
        /* the failures and their descendants (the selection is in
         * topological order) */
        for (size_t i = 0; i < m && err == ARB_OK; i++) {
            err = arb_tx_txid(sha, &ids[i], &sel[i]);
            for (size_t j = 0; ok[i] && j < i; j++)
                if (!ok[j])
                    for (size_t q = 0; q < sel[i].n_in; q++)
                        if (arb_hash_eq(&sel[i].in[q].txid, &ids[j]))
                            ok[i] = 0;
        }
        for (size_t i = 0; i < m && err == ARB_OK; i++) {
            if (ok[i]) {
                if (k != i)
                    sel[k] = sel[i];
                k++;
                continue;
            }
            arb_mempool_entry_info info;
            if (arb_mempool_get(a->mp, &ids[i], NULL, &info) == ARB_OK && info.fee <= *fees)
                *fees -= info.fee;
            arb_tx_clear(&sel[i]);
        }
        if (err == ARB_OK)
            *n = k;
        free(ptr);
        free(ok);
        free(ids);
        if (err != ARB_OK)
            return err;
        arb_http_metric_add(a->http, "chain_template_state_dropped", m - k);
    }
}

static arb_err template_txs(arb_chainapi *a, arb_sha256 *sha, const arb_hash *tip, int locked,
                            arb_tx **txs, size_t *n, uint64_t *fees, arb_hash *root,
                            uint64_t *generation)
{
    arb_mempool_info mi;
    arb_err err;
    *txs = NULL;
    *n = 0;
    *fees = 0;
    arb_mempool_info_get(a->mp, &mi);
    *generation = mi.generation;
    pthread_mutex_lock(&a->tmpl_mu);
    if (a->tmpl.valid && a->tmpl.generation == mi.generation &&
        memcmp(a->tmpl.tip.b, tip->b, 32) == 0) {
        err = txs_copy(txs, a->tmpl.txs, a->tmpl.n);
        *n = err == ARB_OK ? a->tmpl.n : 0;
        *fees = err == ARB_OK ? a->tmpl.fees : 0;
        *root = a->tmpl.root;
        pthread_mutex_unlock(&a->tmpl_mu);
        arb_http_metric_add(a->http, "chain_template_cache_hits", 1);
        return err;
    }
    pthread_mutex_unlock(&a->tmpl_mu);
    arb_tx *sel;
    size_t nsel;
    uint64_t f, gen;
    arb_hash ptip;
    if ((err = arb_mempool_select(a->mp, TEMPLATE_MAX_TX_BYTES, &sel, &nsel, &f, &ptip, &gen)) !=
        ARB_OK)
        return err;
    if (memcmp(ptip.b, tip->b, 32) != 0) {
        txs_free(sel, nsel);
        return ARB_ERR_NOT_FOUND;
    }
    /* The payloads against the tip's state: under the chain lock, on the
     * tip the selection was made on. */
    if (!locked)
        pthread_mutex_lock(&a->mu);
    arb_chain_tip now;
    arb_chainstate_tip(a->cs, &now);
    err = memcmp(now.hash.b, tip->b, 32) != 0
              ? ARB_ERR_NOT_FOUND
              : template_state(a, sha, sel, &nsel, &f, root);
    if (!locked)
        pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK) {
        txs_free(sel, nsel);
        return err;
    }
    if ((err = txs_copy(txs, sel, nsel)) != ARB_OK) {
        txs_free(sel, nsel);
        return err;
    }
    *n = nsel;
    *fees = f;
    *generation = gen;
    pthread_mutex_lock(&a->tmpl_mu);
    txs_free(a->tmpl.txs, a->tmpl.n);
    free(a->tmpl.raw);
    a->tmpl.raw = NULL;
    a->tmpl.have_block = 0;
    a->tmpl.valid = 1;
    a->tmpl.tip = ptip;
    a->tmpl.generation = gen;
    a->tmpl.txs = sel;
    a->tmpl.n = nsel;
    a->tmpl.fees = f;
    a->tmpl.root = *root;
    pthread_mutex_unlock(&a->tmpl_mu);
    arb_http_metric_add(a->http, "chain_template_selections", 1);
    return ARB_OK;
}

/* The header time of a template: max(now, mtp + 1), and after the parent
 * (arb_chain_block_build's rule). */
static uint32_t template_time(int64_t mtp, uint32_t parent_time)
{
    int64_t now = (int64_t)time(NULL);
    if (now <= mtp)
        now = mtp + 1;
    return now > (int64_t)parent_time ? (uint32_t)now : parent_time + 1;
}

/* Writes the template answer by hand around the block's hex (a megabyte
 * block is two megabytes of hex: no need to copy and escape it again). */
static void template_reply(arb_chainapi *a, arb_http_req *req, uint32_t height,
                           const arb_hash *prev, uint32_t bits, const uint8_t *raw, size_t len,
                           uint64_t value, uint64_t fees, size_t tx_count,
                           const arb_hash *root)
{
    arb_u256 target;
    int neg, ovf;
    char thex[65], prev_hex[65], root_hex[65], head[600];
    arb_pow_bits_to_target(&target, bits, &neg, &ovf);
    arb_u256_hex(thex, &target);
    arb_chain_hash_hex(prev_hex, prev);
    arb_hex_encode(root_hex, root->b, 32);
    uint32_t t = (uint32_t)raw[68] | (uint32_t)raw[69] << 8 | (uint32_t)raw[70] << 16 |
                 (uint32_t)raw[71] << 24;
    int hl = snprintf(head, sizeof head,
                      "{\"height\":%u,\"prev_hash\":\"%s\",\"bits\":%u,\"target\":\"%s\","
                      "\"time\":%u,\"coinbase_value\":%llu,\"fees\":%llu,\"tx_count\":%zu,"
                      "\"state_root\":\"%s\",\"hex\":\"",
                      height, prev_hex, bits, thex, t, (unsigned long long)value,
                      (unsigned long long)fees, tx_count, root_hex);
    size_t total = (size_t)hl + 2 * len + 2;
    char *text = malloc(total + 1);
    if (text == NULL) {
        fail(req, 500, "chain_nomem", "out of memory");
        return;
    }
    memcpy(text, head, (size_t)hl);
    arb_hex_encode(text + hl, raw, len);
    memcpy(text + hl + 2 * len, "\"}", 3);
    (void)arb_http_respond(req, 200, NULL, "Cache-Control: no-store\r\n", text, total);
    free(text);
    (void)a;
}

/* The chain lock is held only to read the tip, its bits and times; the
 * selection runs outside it (template_txs), so a template never stalls the
 * other chain routes. The block built last is kept with the selection: the
 * same address on the same (tip, pool) gets it back with the time updated. */
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
    uint64_t fees = 0, gen = 0;
    uint32_t bits = 0;
    int64_t mtp = 0;
    arb_chain_tip tip;
    arb_hdr_info parent;
    arb_hash root;
    arb_err err = ARB_ERR_NOT_FOUND;

    arb_smt_empty(&root);
    pthread_mutex_lock(&a->mu);
    arb_chainstate_tip(a->cs, &tip);
    int have = active_lookup(a, tip.height, &parent) &&
               arb_header_next_bits(a->p, tip.height + 1, &parent, active_lookup, a, &bits);
    mtp = arb_chainstate_tip_mtp(a->cs);
    pthread_mutex_unlock(&a->mu);
    if (have) {
        arb_mempool_info mi;
        arb_mempool_info_get(a->mp, &mi);
        pthread_mutex_lock(&a->tmpl_mu);
        tmpl_cache *tc = &a->tmpl;
        if (tc->valid && tc->have_block && tc->generation == mi.generation &&
            memcmp(tc->tip.b, tip.hash.b, 32) == 0 && memcmp(tc->key, key, 32) == 0 &&
            tc->parent_time == parent.time) {
            uint8_t *raw = malloc(tc->raw_len);
            size_t len = tc->raw_len, cnt = tc->tx_count;
            uint64_t value = tc->value, f = tc->fees;
            arb_hash croot = tc->root;
            if (raw != NULL)
                memcpy(raw, tc->raw, len);
            pthread_mutex_unlock(&a->tmpl_mu);
            if (raw != NULL) {
                uint32_t t = template_time(mtp, parent.time);
                raw[68] = (uint8_t)t;
                raw[69] = (uint8_t)(t >> 8);
                raw[70] = (uint8_t)(t >> 16);
                raw[71] = (uint8_t)(t >> 24);
                arb_http_metric_add(a->http, "chain_template_cache_hits", 1);
                template_reply(a, req, tip.height + 1, &tip.hash, bits, raw, len, value, f, cnt,
                               &croot);
                free(raw);
                return;
            }
        } else {
            pthread_mutex_unlock(&a->tmpl_mu);
        }
    }

    /* A block arriving between reading the tip and selecting moves the pool
     * to the new tip: read the tip again. After a few tries (blocks arriving
     * back to back) select under the chain lock, where the two agree. */
    for (int attempt = 0; attempt < 4 && err == ARB_ERR_NOT_FOUND; attempt++) {
        int locked_select = attempt == 3;
        pthread_mutex_lock(&a->mu);
        arb_chainstate_tip(a->cs, &tip);
        err = active_lookup(a, tip.height, &parent) ? ARB_OK : ARB_ERR_DB;
        if (err == ARB_OK && !arb_header_next_bits(a->p, tip.height + 1, &parent, active_lookup,
                                                   a, &bits))
            err = ARB_ERR_INTERNAL;
        mtp = arb_chainstate_tip_mtp(a->cs);
        if (!locked_select)
            pthread_mutex_unlock(&a->mu);
        if (err == ARB_OK)
            err = template_txs(a, sha, &tip.hash, locked_select, &txs, &n, &fees, &root, &gen);
        if (locked_select)
            pthread_mutex_unlock(&a->mu);
    }
    if (err == ARB_OK) {
        int64_t now = (int64_t)time(NULL);
        if (now <= mtp)
            now = mtp + 1;
        err = arb_chain_block_build(a->p, sha, &blk, &tip.hash, parent.time, tip.height + 1, bits,
                                    now, key, txs, n, fees, &root);
    }
    free(txs); /* the transactions were moved into blk (or freed on failure) */
    arb_buf b = ARB_BUF_INIT;
    if (err == ARB_OK) {
        arb_block_write(&b, &blk);
        if (b.oom)
            err = ARB_ERR_NOMEM;
    }
    if (err != ARB_OK) {
        arb_buf_free(&b);
        arb_block_clear(&blk);
        fail(req, 500, "chain_template", arb_err_str(err));
        return;
    }
    uint64_t value = 0;
    for (size_t o = 0; o < blk.tx[0].n_out; o++)
        value += blk.tx[0].out[o].amount;
    size_t tx_count = blk.n_tx;
    arb_block_clear(&blk);
    template_reply(a, req, tip.height + 1, &tip.hash, bits, b.data, b.len, value, fees, tx_count,
                   &root);
    /* keep it when the selection it came from is still the cached one */
    pthread_mutex_lock(&a->tmpl_mu);
    tmpl_cache *tc = &a->tmpl;
    if (tc->valid && tc->generation == gen && memcmp(tc->tip.b, tip.hash.b, 32) == 0) {
        free(tc->raw);
        tc->raw = b.data;
        tc->raw_len = b.len;
        memcpy(tc->key, key, 32);
        tc->parent_time = parent.time;
        tc->value = value;
        tc->tx_count = tx_count;
        tc->have_block = 1;
        b.data = NULL;
    }
    pthread_mutex_unlock(&a->tmpl_mu);
    arb_buf_free(&b);
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
    arb_mempool_info mi;
    json_t *arr = json_array();
    arb_mempool_info_get(a->mp, &mi);
    if (arr)
        arb_mempool_foreach(a->mp, pool_ids, arr);
    size_t count = arr ? json_array_size(arr) : mi.count;
    reply(req, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*}", "count",
                         (json_int_t)count, "bytes", (json_int_t)mi.bytes, "max_bytes",
                         (json_int_t)mi.max_bytes, "total_fees", (json_int_t)mi.total_fees,
                         "min_fee_rate", (json_int_t)mi.min_fee_rate, "rolling_min_fee_rate",
                         (json_int_t)mi.rolling_min_fee_rate, "min_relay_fee_rate",
                         (json_int_t)mi.min_relay_fee_rate, "incremental_fee_rate",
                         (json_int_t)mi.incremental_fee_rate, "txids", arr));
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
        count_payload_reject(a, &res);
        fail(req, 400, "chain_tx_rejected", res.reason ? res.reason : "rejected");
        return;
    }
    if (err != ARB_OK) {
        fail(req, 500, "chain_nomem", arb_err_str(err));
        return;
    }
    notify_tx(a, &txid);
    size_t count, bytes;
    arb_mempool_stats(a->mp, &count, &bytes);
    arb_http_metric_set(a->http, "chain_mempool_txs", count);
    arb_http_metric_set(a->http, "chain_mempool_bytes", bytes);
    arb_http_metric_add(a->http, "chain_txs_accepted", 1);
    reply(req, json_pack("{s:o, s:I}", "txid", jhash(&txid), "fee", (json_int_t)res.fees));
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
    /* Not requested: the storage policy applies (chainstate.h). */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = arb_chainstate_submit_ex(a->cs, &blk, (int64_t)time(NULL), 0, &outcome, &res);
    /* The answer acknowledges the block: whatever the flush policy left
     * unsynced (a catch-up from peers), it is durable before we say so. */
    if (err == ARB_OK)
        err = arb_chainstate_flush(a->cs);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    arb_chainstate_tip(a->cs, &after);
    if (err == ARB_OK && memcmp(before.hash.b, after.hash.b, 32) != 0) {
        if (memcmp(blk.header.prev.b, before.hash.b, 32) == 0 &&
            memcmp(after.hash.b, hash.b, 32) == 0) {
            arb_mempool_block_connected(a->mp, sha, &blk);
            pool_state_recheck(a);
        } else
            mempool_reorg(a, sha, &before.hash);
    }
    if (err == ARB_OK)
        if (arb_chainstate_get_block(a->cs, &hash, NULL, NULL, &height, NULL) != ARB_OK)
            height = 0;
    pthread_mutex_unlock(&a->mu);
    size_t blk_ntx = blk.n_tx;
    arb_block_clear(&blk);
    notify_tip(a, &before, &after);
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
    reply(req, json_pack("{s:o, s:I, s:b, s:b}", "hash", jhash(&hash), "height", (json_int_t)height,
                         "accepted", 1, "stored", outcome != ARB_BLOCK_HEADER_ONLY));
}

/* GET utxo-digest: arb_chainstate_utxo_digest at the tip (linear in the UTXO
 * set: for tests and audits comparing nodes). */
static void h_utxo_digest(arb_chainapi *a, arb_http_req *req)
{
    arb_chain_tip tip;
    arb_hash d;
    uint64_t count = 0;
    char hex[65];
    pthread_mutex_lock(&a->mu);
    arb_chainstate_tip(a->cs, &tip);
    arb_err err = arb_chainstate_utxo_digest(a->cs, &d, &count);
    pthread_mutex_unlock(&a->mu);
    if (err != ARB_OK) {
        fail(req, 500, "chain_db", arb_err_str(err));
        return;
    }
    arb_hex_encode(hex, d.b, 32);
    reply(req, json_pack("{s:I, s:o, s:s, s:I}", "height", (json_int_t)tip.height, "hash",
                         jhash(&tip.hash), "utxo_digest", hex, "utxo_count", (json_int_t)count));
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
    else if (strcmp(p, "utxo-digest") == 0)
        h_utxo_digest(a, req);
    else if (strcmp(p, "anchors") == 0)
        h_anchors(a, req);
    else if (strncmp(p, "anchors/", 8) == 0)
        h_anchor(a, req, p + 8, sha);
    else if (strcmp(p, "zonefile-hashes") == 0)
        h_zonefile_hashes(a, req);
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

/* Reloads the mempool file written at the last clean shutdown: every
 * transaction is checked again against the current chain. A missing file is
 * normal (first start, or a crash); a corrupt one is reported and ignored. */
static void mempool_restore(arb_chainapi *a)
{
    arb_sha256 *sha;
    arb_errbuf eb;
    size_t ok = 0, bad = 0;
    if (arb_sha256_new(&sha) != ARB_OK) {
        arb_logf(&a->log, ARB_LOG_WARN, "mempool: out of memory; not reloaded");
        return;
    }
    arb_chain_checker c = {sha, a->schnorr, 1};
    pthread_mutex_lock(&a->mu);
    arb_mempool_chain ch = chain_desc(a);
    arb_err err = arb_mempool_load(a->mp, &c, &ch, a->mempool_file, &ok, &bad, &eb);
    pthread_mutex_unlock(&a->mu);
    arb_sha256_free(sha);
    if (err != ARB_OK) {
        arb_logf(&a->log, ARB_LOG_WARN, "mempool: %s ignored: %s", a->mempool_file, eb.msg);
        arb_http_metric_add(a->http, "chain_mempool_file_errors", 1);
    } else if (ok + bad > 0) {
        arb_logf(&a->log, ARB_LOG_INFO,
                 "mempool: reloaded %zu transactions from %s (%zu no longer valid)", ok,
                 a->mempool_file, bad);
    }
    size_t count, bytes;
    arb_mempool_stats(a->mp, &count, &bytes);
    arb_http_metric_set(a->http, "chain_mempool_txs", count);
    arb_http_metric_set(a->http, "chain_mempool_bytes", bytes);
}

arb_err arb_chainapi_start(arb_chainapi **out, arb_http_server *http, arb_store *store,
                           unsigned cf_base, const char *network, size_t mempool_bytes,
                           const char *mempool_file, const arb_logger *log, arb_errbuf *eb)
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
    pthread_mutex_init(&a->tmpl_mu, NULL);
    if (mempool_file != NULL && (a->mempool_file = strdup(mempool_file)) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (a->p == NULL || !a->p->has_ledger) {
        err = arb_errf(eb, ARB_ERR_INVALID_ARG, "network %s has no ledger", network);
        goto fail;
    }
    if ((err = arb_schnorr_new(&a->schnorr)) != ARB_OK) {
        arb_errf(eb, err, "cannot create a BIP340 context");
        goto fail;
    }
    arb_mempool_opts mo = {mempool_bytes, NULL, NULL};
    if ((err = arb_mempool_new(&a->mp, a->p, &mo)) != ARB_OK) {
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
    arb_mempool_set_tip(a->mp, &tip.hash);
    if (a->mempool_file != NULL)
        mempool_restore(a);
    arb_http_metric_set(http, "chain_height", tip.height);
    {
        /* After the restore: the gauges start at what was reloaded. */
        size_t count, bytes;
        arb_mempool_stats(a->mp, &count, &bytes);
        arb_http_metric_set(http, "chain_mempool_txs", count);
        arb_http_metric_set(http, "chain_mempool_bytes", bytes);
    }
    if ((err = arb_metrics_declare(arb_http_server_metrics(http), "chain_block_connect_seconds",
                                   ARB_METRIC_HISTOGRAM,
                                   "Time to validate and connect a submitted block.", NULL,
                                   arb_metrics_latency_buckets,
                                   arb_metrics_latency_nbuckets)) != ARB_OK) {
        arb_errf(eb, err, "cannot declare the chain metrics");
        goto fail;
    }
    a->started = 1;
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
    if (a->started && a->mempool_file != NULL) {
        arb_errbuf eb;
        size_t n = 0;
        if (arb_mempool_save(a->mp, a->mempool_file, &n, &eb) != ARB_OK)
            arb_logf(&a->log, ARB_LOG_ERROR, "mempool: not saved: %s", eb.msg);
        else
            arb_logf(&a->log, ARB_LOG_INFO, "mempool: saved %zu transactions to %s", n,
                     a->mempool_file);
    }
    arb_chainstate_close(a->cs);
    arb_mempool_free(a->mp);
    txs_free(a->tmpl.txs, a->tmpl.n);
    free(a->tmpl.raw);
    pthread_mutex_destroy(&a->tmpl_mu);
    free(a->mempool_file);
    arb_schnorr_free(a->schnorr);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* ---------------------------------------------------------------- the peer network's side */

void arb_chainapi_set_hooks(arb_chainapi *a, const arb_chainapi_hooks *h)
{
    pthread_mutex_lock(&a->mu);
    if (h != NULL)
        a->hooks = *h;
    else
        memset(&a->hooks, 0, sizeof a->hooks);
    pthread_mutex_unlock(&a->mu);
}

static void notify_tip(arb_chainapi *a, const arb_chain_tip *before, const arb_chain_tip *after)
{
    if (a->hooks.tip_changed != NULL && !arb_hash_eq(&before->hash, &after->hash))
        a->hooks.tip_changed(a->hooks.ud, &after->hash, after->height);
}

static void notify_tx(arb_chainapi *a, const arb_hash *txid)
{
    if (a->hooks.tx_accepted != NULL)
        a->hooks.tx_accepted(a->hooks.ud, txid);
}

arb_chainstate *arb_chainapi_lock(arb_chainapi *a)
{
    pthread_mutex_lock(&a->mu);
    return a->cs;
}

void arb_chainapi_unlock(arb_chainapi *a)
{
    pthread_mutex_unlock(&a->mu);
}

arb_mempool *arb_chainapi_mempool(arb_chainapi *a)
{
    return a->mp;
}

const arb_chain_params *arb_chainapi_params(const arb_chainapi *a)
{
    return a->p;
}

/* After the tip moved: the mempool follows, as in h_post_block. With a->mu. */
static void pool_follow(arb_chainapi *a, arb_sha256 *sha, const arb_block *blk,
                        const arb_hash *hash, const arb_chain_tip *before,
                        const arb_chain_tip *after)
{
    if (arb_hash_eq(&before->hash, &after->hash))
        return;
    if (blk != NULL && arb_hash_eq(&blk->header.prev, &before->hash) &&
        arb_hash_eq(&after->hash, hash)) {
        arb_mempool_block_connected(a->mp, sha, blk);
        pool_state_recheck(a);
    } else
        mempool_reorg(a, sha, &before->hash);
}

static void chain_metrics(arb_chainapi *a, const arb_chain_tip *after)
{
    size_t count, bytes;
    arb_mempool_stats(a->mp, &count, &bytes);
    arb_http_metric_set(a->http, "chain_mempool_txs", count);
    arb_http_metric_set(a->http, "chain_mempool_bytes", bytes);
    arb_http_metric_set(a->http, "chain_height", after->height);
}

/* The chain state's flush policy for a block with header time `t`
 * (chainstate.h, docs/ledger.md "Flush policy"): while the node catches up
 * on blocks older than an hour (a new node's sync, or one back after a long
 * stop), their batches are synced every 256 blocks or every second, which is
 * what makes a sync fast; a recent block (the node is at the tip) is synced
 * by itself, so the tip a node answers with survives a power loss. Called
 * with a->mu held. */
#define CATCHUP_AGE_S 3600
#define CATCHUP_FLUSH_BLOCKS 256
#define CATCHUP_FLUSH_MS 1000
static void flush_policy_for(arb_chainapi *a, uint32_t t)
{
    if ((int64_t)t < (int64_t)time(NULL) - CATCHUP_AGE_S)
        arb_chainstate_set_flush(a->cs, CATCHUP_FLUSH_BLOCKS, CATCHUP_FLUSH_MS);
    else
        arb_chainstate_set_flush(a->cs, 1, 0);
}

arb_err arb_chainapi_submit_block(arb_chainapi *a, arb_sha256 *sha, const arb_block *blk,
                                  int requested, arb_block_outcome *outcome,
                                  arb_check_result *res)
{
    arb_chain_tip before, after;
    arb_hash hash;
    arb_header_hash(sha, &hash, &blk->header);
    struct timespec t0, t1;
    pthread_mutex_lock(&a->mu);
    arb_chainstate_tip(a->cs, &before);
    flush_policy_for(a, blk->header.time);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    arb_err err = arb_chainstate_submit_ex(a->cs, blk, (int64_t)time(NULL), requested, outcome,
                                           res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    arb_chainstate_tip(a->cs, &after);
    pool_follow(a, sha, blk, &hash, &before, &after);
    pthread_mutex_unlock(&a->mu);
    if (err == ARB_OK && *outcome != ARB_BLOCK_DUPLICATE) {
        arb_http_metric_add(a->http, "chain_blocks_accepted", 1);
        arb_metrics_observe(arb_http_server_metrics(a->http), "chain_block_connect_seconds", NULL,
                            (double)(t1.tv_sec - t0.tv_sec) +
                                (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    if (err == ARB_OK && memcmp(before.hash.b, after.hash.b, 32) != 0) {
        char tip_hex[65];
        arb_chain_hash_hex(tip_hex, &after.hash);
        arb_logf(&a->log, ARB_LOG_INFO,
                 "chain: block %s connected, height %u, %zu txs (from a peer)", tip_hex,
                 after.height, blk->n_tx);
    }
    chain_metrics(a, &after);
    notify_tip(a, &before, &after);
    return err;
}

arb_err arb_chainapi_activate(arb_chainapi *a, arb_sha256 *sha, const arb_hash *hash,
                              arb_check_result *res)
{
    arb_chain_tip before, after;
    arb_chain_hdrinfo target;
    pthread_mutex_lock(&a->mu);
    arb_chainstate_tip(a->cs, &before);
    if (arb_chainstate_header(a->cs, hash, &target) == ARB_OK)
        flush_policy_for(a, target.hdr.time);
    arb_err err = arb_chainstate_activate_to(a->cs, hash, res);
    arb_chainstate_tip(a->cs, &after);
    pool_follow(a, sha, NULL, hash, &before, &after);
    pthread_mutex_unlock(&a->mu);
    chain_metrics(a, &after);
    notify_tip(a, &before, &after);
    return err;
}

arb_err arb_chainapi_submit_tx(arb_chainapi *a, arb_sha256 *sha, const arb_tx *tx,
                               arb_hash *txid, arb_check_result *res)
{
    arb_chain_checker c = {sha, a->schnorr, 1};
    pthread_mutex_lock(&a->mu);
    arb_mempool_chain ch = chain_desc(a);
    arb_err err = arb_mempool_accept(a->mp, &c, &ch, tx, txid, res);
    pthread_mutex_unlock(&a->mu);
    if (err == ARB_ERR_VERIFY)
        count_payload_reject(a, res);
    if (err != ARB_OK)
        return err;
    notify_tx(a, txid);
    size_t count, bytes;
    arb_mempool_stats(a->mp, &count, &bytes);
    arb_http_metric_set(a->http, "chain_mempool_txs", count);
    arb_http_metric_set(a->http, "chain_mempool_bytes", bytes);
    arb_http_metric_add(a->http, "chain_txs_accepted", 1);
    return ARB_OK;
}
