#include "ledger/chain/chainstate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/coins.h"
#include "ledger/chain/hdrcheck.h"
#include "ledger/chain/stateview.h"
#include "ledger/names/nameop.h"

enum {
    CF_INDEX, CF_BLOCKS, CF_UNDO, CF_UTXO, CF_HEIGHT, CF_ADDR, CF_META, CF_TX, CF_HIST,
    CF_STATE, CF_SMT, CF_SUNDO, CF_SHIST, CF_SIDX, CF_SROOT
};

static const char *const CF_NAMES[ARB_CHAINSTATE_NCF] = {
    "chain_index", "chain_blocks", "chain_undo",  "chain_utxo",  "chain_height",
    "chain_addr",  "chain_meta",   "chain_tx",    "chain_hist",  "state_records",
    "state_smt",   "state_undo",   "state_history", "state_index", "state_roots"};

const char *const *arb_chainstate_cf_names(void)
{
    return CF_NAMES;
}

/* Block status bits. */
enum { ST_HAVE_DATA = 1, ST_VALID = 2, ST_FAILED = 4, ST_FAILED_CHILD = 8 };

#define IDX_SIZE (80 + 4 + 1 + 32)
#define COIN_SIZE (8 + 32 + 4 + 1)
#define UNDO_REC (36 + COIN_SIZE)

typedef struct {
    arb_block_header hdr;
    uint32_t height;
    uint8_t status;
    arb_u256 work;
} idx_entry;

struct arb_chainstate {
    arb_store *st;
    unsigned cf;
    const arb_chain_params *p;
    arb_sha256 *sha;
    arb_schnorr *schnorr;
    unsigned threads;
    arb_logger log;
    arb_chain_tip tip;
    arb_chain_tip best_hdr; /* the valid header with the most work (any body) */
    arb_err lookup_err; /* a storage error seen inside a lookup callback */
    const arb_names_params *np;
    arb_hash state_root; /* the state tree's root after the tip */
    /* Flush policy (arb_chainstate_set_flush): a connect or disconnect batch
     * is synced when it is the flush_blocks-th unsynced one or flush_ms have
     * passed since the last sync; otherwise written unsynced. */
    unsigned flush_blocks;
    unsigned flush_ms;
    unsigned unsynced;      /* batches written since the last sync */
    int body_unsynced;      /* a body was written without a sync since the last sync */
    double last_sync;       /* CLOCK_MONOTONIC seconds */
    uint64_t syncs;         /* synced batches so far (for tests and benchmarks) */
    const arb_block *pending; /* the block being submitted (connect uses it, not a copy) */
    arb_hash pending_hash;
    /* The coins cache (coins.h): the UTXO changes since the coins on disk,
     * which are those after the block recorded as "coins" in chain_meta. */
    arb_coins *coins;
    size_t cache_budget; /* bytes */
    uint64_t cache_flushes;
    uint32_t replayed; /* blocks whose coins the open re-applied */
    /* The transaction index and address history of a connected block (most
     * of its batch, by entries) are written by a thread of their own while
     * the next block is checked, after the block's own batch. At most one
     * such batch is in flight: the next block's batch is written only once
     * it has landed, so a crash can leave at most the tip's rows missing,
     * and the "txidx" marker says whether it did (repaired at open). */
    pthread_mutex_t ix_mu;
    pthread_cond_t ix_cv;
    pthread_t ix_thread;
    int ix_started, ix_stop;
    arb_store_batch *ix_batch; /* being written (NULL: idle) */
    arb_err ix_err;            /* the first failed write: every later wait returns it */
    uint32_t repaired;         /* tip blocks whose index rows the open rewrote */
};

#define DEFAULT_CACHE_BYTES ((size_t)128 << 20)

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Writes a batch of the block-boundary kind (a connect, a disconnect, a
 * stored body) under the flush policy. Every batch is atomic and the store
 * recovers its write-ahead log to a point in time, so whatever a crash keeps
 * is a prefix of the batches: the state at some block boundary. */
/* 1 when the next block-boundary batch is to be synced. */
static int sync_due(const arb_chainstate *cs)
{
    return cs->unsynced + 1 >= cs->flush_blocks ||
           (cs->flush_ms > 0 && (mono_s() - cs->last_sync) * 1000.0 >= (double)cs->flush_ms);
}

static arb_err write_batch(arb_chainstate *cs, arb_store_batch *b, int sync)
{
    arb_err err = arb_store_write(cs->st, b, sync ? ARB_STORE_SYNC : 0, NULL);
    if (err != ARB_OK)
        return err;
    if (sync) {
        cs->unsynced = 0;
        cs->body_unsynced = 0;
        cs->last_sync = mono_s();
        cs->syncs++;
    } else {
        cs->unsynced++;
    }
    return ARB_OK;
}

static arb_err write_policy(arb_chainstate *cs, arb_store_batch *b)
{
    return write_batch(cs, b, sync_due(cs));
}

/* ---- the index writer ---- */

static void *ix_main(void *arg)
{
    arb_chainstate *cs = arg;
    pthread_mutex_lock(&cs->ix_mu);
    for (;;) {
        while (cs->ix_batch == NULL && !cs->ix_stop)
            pthread_cond_wait(&cs->ix_cv, &cs->ix_mu);
        if (cs->ix_batch == NULL)
            break;
        arb_store_batch *b = cs->ix_batch;
        pthread_mutex_unlock(&cs->ix_mu);
        arb_err err = arb_store_write(cs->st, b, 0, NULL);
        arb_store_batch_free(b);
        pthread_mutex_lock(&cs->ix_mu);
        if (err != ARB_OK && cs->ix_err == ARB_OK)
            cs->ix_err = err;
        cs->ix_batch = NULL;
        pthread_cond_broadcast(&cs->ix_cv);
    }
    pthread_mutex_unlock(&cs->ix_mu);
    return NULL;
}

/* Waits until the index batch in flight (if any) has landed. Returns the
 * error of any index write that failed since the open: the chain state
 * then refuses to go on (the rows would be missing until the next open). */
static arb_err ix_wait(arb_chainstate *cs)
{
    arb_err err;
    if (!cs->ix_started)
        return cs->ix_err;
    pthread_mutex_lock(&cs->ix_mu);
    while (cs->ix_batch != NULL)
        pthread_cond_wait(&cs->ix_cv, &cs->ix_mu);
    err = cs->ix_err;
    pthread_mutex_unlock(&cs->ix_mu);
    return err;
}

/* Hands a block's index batch to the writer (which frees it), after the
 * block's own batch was written and with no index batch in flight. Without
 * the thread, writes it here. */
static void ix_submit(arb_chainstate *cs, arb_store_batch *b)
{
    if (!cs->ix_started) {
        arb_err err = arb_store_write(cs->st, b, 0, NULL);
        arb_store_batch_free(b);
        if (err != ARB_OK && cs->ix_err == ARB_OK)
            cs->ix_err = err;
        return;
    }
    pthread_mutex_lock(&cs->ix_mu);
    cs->ix_batch = b;
    pthread_cond_signal(&cs->ix_cv);
    pthread_mutex_unlock(&cs->ix_mu);
}

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void put64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void op_key(uint8_t out[36], const arb_outpoint *op)
{
    memcpy(out, op->txid.b, 32);
    put32be(out + 32, op->index);
}

static void addr_key(uint8_t out[68], const uint8_t key[32], const arb_outpoint *op)
{
    memcpy(out, key, 32);
    op_key(out + 32, op);
}

static void coin_enc(uint8_t out[COIN_SIZE], const arb_coin *c)
{
    put64le(out, c->amount);
    memcpy(out + 8, c->key, 32);
    put32le(out + 40, c->height);
    out[44] = (uint8_t)(c->coinbase ? 1 : 0);
}

static void coin_dec(arb_coin *c, const uint8_t in[COIN_SIZE])
{
    c->amount = get64le(in);
    memcpy(c->key, in + 8, 32);
    c->height = get32le(in + 40);
    c->coinbase = in[44];
}

static void idx_enc(uint8_t out[IDX_SIZE], const idx_entry *e)
{
    arb_header_encode(out, &e->hdr);
    put32le(out + 80, e->height);
    out[84] = e->status;
    arb_u256_to_be(out + 85, &e->work);
}

static arb_err idx_get(arb_chainstate *cs, const arb_hash *hash, idx_entry *e)
{
    uint8_t buf[IDX_SIZE];
    size_t n;
    arb_err err = arb_store_get_into(cs->st, NULL, cs->cf + CF_INDEX, hash->b, 32, buf, sizeof buf,
                                     &n, NULL);
    if (err != ARB_OK)
        return err;
    if (n != IDX_SIZE)
        return ARB_ERR_PARSE;
    arb_header_decode(&e->hdr, buf);
    e->height = get32le(buf + 80);
    e->status = buf[84];
    arb_u256_from_be(&e->work, buf + 85);
    return ARB_OK;
}

static void idx_put(arb_chainstate *cs, arb_store_batch *b, const arb_hash *hash, const idx_entry *e)
{
    uint8_t buf[IDX_SIZE];
    idx_enc(buf, e);
    arb_store_batch_put(b, cs->cf + CF_INDEX, hash->b, 32, buf, sizeof buf);
}

int arb_chainstate_utxo_lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    arb_chainstate *cs = ud;
    uint8_t k[36], buf[COIN_SIZE];
    size_t n;
    arb_err err;
    int in_cache = arb_coins_get(cs->coins, op, out);
    if (in_cache >= 0)
        return in_cache;
    op_key(k, op);
    err = arb_store_get_into(cs->st, NULL, cs->cf + CF_UTXO, k, sizeof k, buf, sizeof buf, &n, NULL);
    if (err == ARB_ERR_NOT_FOUND)
        return 0;
    if (err != ARB_OK || n != COIN_SIZE) {
        cs->lookup_err = err != ARB_OK ? err : ARB_ERR_PARSE;
        return 0;
    }
    coin_dec(out, buf);
    return 1;
}

/* ---- ancestors for the header rules ---- */

typedef struct {
    arb_chainstate *cs;
    uint32_t top_height; /* height of v[0] */
    arb_hash next;       /* hash of the next entry to load (v[n]) */
    arb_hdr_info *v;
    size_t n, cap;
    arb_err err;
} anc_ctx;

static int anc_lookup(void *ud, uint32_t height, arb_hdr_info *out)
{
    anc_ctx *a = ud;
    size_t k;
    if (height > a->top_height)
        return 0;
    k = a->top_height - height;
    while (a->n <= k) {
        idx_entry e;
        if (a->n == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 16;
            arb_hdr_info *nv = realloc(a->v, cap * sizeof *nv);
            if (nv == NULL) {
                a->err = ARB_ERR_NOMEM;
                return 0;
            }
            a->v = nv;
            a->cap = cap;
        }
        arb_err err = idx_get(a->cs, &a->next, &e);
        if (err != ARB_OK) {
            a->err = err;
            return 0;
        }
        a->v[a->n].hash = a->next;
        a->v[a->n].time = e.hdr.time;
        a->v[a->n].bits = e.hdr.bits;
        a->n++;
        a->next = e.hdr.prev;
    }
    *out = a->v[k];
    return 1;
}

static void anc_init(anc_ctx *a, arb_chainstate *cs, const arb_hash *top, uint32_t top_height)
{
    memset(a, 0, sizeof *a);
    a->cs = cs;
    a->top_height = top_height;
    a->next = *top;
}

static int64_t mtp_of(arb_chainstate *cs, const arb_hash *hash, uint32_t height)
{
    anc_ctx a;
    int64_t m;
    anc_init(&a, cs, hash, height);
    m = arb_header_median_time(height, anc_lookup, &a);
    free(a.v);
    return m;
}

/* ---- open ---- */

/* ---- the coins cache's flush ---- */

typedef struct {
    arb_chainstate *cs;
    arb_store_batch *b;
} drain_ctx;

static void drain_one(void *ud, const arb_outpoint *op, const arb_coin *coin, unsigned flags)
{
    drain_ctx *d = ud;
    uint8_t k[68], v[COIN_SIZE], amt[8];
    if ((flags & ARB_COIN_FRESH) && (flags & ARB_COIN_SPENT))
        return; /* created and spent between two flushes: the disk never saw it */
    op_key(k, op);
    if (flags & ARB_COIN_SPENT) {
        arb_store_batch_delete(d->b, d->cs->cf + CF_UTXO, k, 36);
        addr_key(k, coin->key, op);
        arb_store_batch_delete(d->b, d->cs->cf + CF_ADDR, k, 68);
        return;
    }
    coin_enc(v, coin);
    arb_store_batch_put(d->b, d->cs->cf + CF_UTXO, k, 36, v, sizeof v);
    addr_key(k, coin->key, op);
    put64le(amt, coin->amount);
    arb_store_batch_put(d->b, d->cs->cf + CF_ADDR, k, 68, amt, 8);
}

/* Adds the cache's changes to b with the "coins" marker: once b is written,
 * the coins on disk are those after block `at` (the caller then clears the
 * cache). Later operations of b on the same keys come after these. */
static void cache_drain(arb_chainstate *cs, arb_store_batch *b, const arb_hash *at)
{
    drain_ctx d = {cs, b};
    arb_coins_each(cs->coins, drain_one, &d);
    arb_store_batch_put(b, cs->cf + CF_META, (const uint8_t *)"coins", 5, at->b, 32);
}

/* Writes the cache out at the tip in a batch of its own (sync: synced) and
 * empties it. Nothing to do when it is empty. */
static arb_err cache_flush(arb_chainstate *cs, int sync)
{
    arb_store_batch *b;
    arb_err err;
    if (arb_coins_count(cs->coins) == 0)
        return ARB_OK;
    if ((err = arb_store_batch_new(&b, cs->st)) != ARB_OK)
        return err;
    cache_drain(cs, b, &cs->tip.hash);
    err = write_batch(cs, b, sync);
    arb_store_batch_free(b);
    if (err != ARB_OK)
        return err;
    arb_coins_clear(cs->coins);
    cs->cache_flushes++;
    return ARB_OK;
}

static arb_err write_genesis(arb_chainstate *cs, arb_errbuf *eb)
{
    arb_block g;
    arb_buf raw = ARB_BUF_INIT;
    arb_store_batch *b = NULL;
    idx_entry e;
    arb_hash hash, want;
    uint8_t hk[4];
    arb_err err;

    if ((err = arb_chain_genesis_build(cs->p, cs->sha, cs->p->genesis_nonce, &g)) != ARB_OK)
        return arb_errf(eb, err, "cannot build the genesis block");
    arb_header_hash(cs->sha, &hash, &g.header);
    arb_chain_genesis_hash(cs->p, &want);
    if (!arb_hash_eq(&hash, &want)) {
        arb_block_clear(&g);
        return arb_errf(eb, ARB_ERR_INTERNAL, "genesis block does not match its parameters");
    }
    arb_block_write(&raw, &g);
    e.hdr = g.header;
    e.height = 0;
    e.status = ST_HAVE_DATA | ST_VALID;
    arb_pow_work(&e.work, g.header.bits);
    arb_block_clear(&g);
    if (raw.oom || (err = arb_store_batch_new(&b, cs->st)) != ARB_OK) {
        arb_buf_free(&raw);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    idx_put(cs, b, &hash, &e);
    arb_store_batch_put(b, cs->cf + CF_BLOCKS, hash.b, 32, raw.data, raw.len);
    put32be(hk, 0);
    arb_store_batch_put(b, cs->cf + CF_HEIGHT, hk, 4, hash.b, 32);
    arb_store_batch_put(b, cs->cf + CF_META, (const uint8_t *)"tip", 3, hash.b, 32);
    arb_store_batch_put(b, cs->cf + CF_META, (const uint8_t *)"coins", 5, hash.b, 32);
    err = arb_store_write(cs->st, b, ARB_STORE_SYNC, eb);
    arb_store_batch_free(b);
    arb_buf_free(&raw);
    return err;
}

static arb_err activate(arb_chainstate *cs, const arb_hash *target, uint32_t target_height,
                        arb_check_result *res);

/* A new valid header with more work than the best one. */
static void note_header(arb_chainstate *cs, const arb_hash *hash, const idx_entry *e)
{
    if (arb_u256_cmp(&e->work, &cs->best_hdr.work) > 0) {
        cs->best_hdr.hash = *hash;
        cs->best_hdr.height = e->height;
        cs->best_hdr.work = e->work;
    }
}


/* After a crash in the middle of a reorg the tip is a block boundary on the
 * way to a heavier stored branch: finds the stored valid block with the most
 * work and moves there (ties keep the tip). */
static arb_err resume_best(arb_chainstate *cs)
{
    arb_store_iter *it;
    arb_hash best = cs->tip.hash;
    uint32_t best_h = cs->tip.height;
    arb_u256 best_w = cs->tip.work;
    arb_err err = arb_store_iter_new(&it, cs->st, NULL, cs->cf + CF_INDEX, NULL, 0, NULL, 0, NULL);
    if (err != ARB_OK)
        return err;
    cs->best_hdr = cs->tip;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        if (kl != 32 || vl != IDX_SIZE)
            continue;
        uint8_t st = v[84];
        arb_u256 w;
        arb_u256_from_be(&w, v + 85);
        if (!(st & (ST_FAILED | ST_FAILED_CHILD)) && arb_u256_cmp(&w, &cs->best_hdr.work) > 0) {
            memcpy(cs->best_hdr.hash.b, k, 32);
            cs->best_hdr.height = get32le(v + 80);
            cs->best_hdr.work = w;
        }
        if (!(st & ST_HAVE_DATA) || (st & (ST_FAILED | ST_FAILED_CHILD)) ||
            arb_u256_cmp(&w, &best_w) <= 0)
            continue;
        memcpy(best.b, k, 32);
        best_h = get32le(v + 80);
        best_w = w;
    }
    err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    if (err != ARB_OK || arb_hash_eq(&best, &cs->tip.hash))
        return err;
    arb_check_result res;
    memset(&res, 0, sizeof res);
    arb_logf(&cs->log, ARB_LOG_INFO, "chain state: resuming the move to a heavier branch (height %u)",
             (unsigned)best_h);
    err = activate(cs, &best, best_h, &res);
    /* ARB_ERR_VERIFY: an invalid block was marked, the tip stays valid.
     * ARB_ERR_NOT_FOUND: a body on the way is missing; peers provide it. */
    return err == ARB_ERR_VERIFY || err == ARB_ERR_NOT_FOUND ? ARB_OK : err;
}

static arb_err load_block(arb_chainstate *cs, const arb_hash *hash, arb_block *blk);
static arb_err repair_index(arb_chainstate *cs, arb_errbuf *eb);

/* Applies the UTXO changes of the connected block `hash` (its body and undo
 * data) to the coins cache, as its connect did: the coins it spends from the
 * state are its undo records, in spending order; the others are outputs of
 * its own earlier transactions. No rule is checked again: the block passed
 * them when it was connected. */
static arb_err replay_block(arb_chainstate *cs, const arb_hash *hash, uint32_t height)
{
    arb_block blk;
    uint8_t *undo = NULL;
    size_t ulen, nundo, u = 0, n_in = 0, n_out = 0;
    arb_err err;

    arb_block_init(&blk);
    if ((err = load_block(cs, hash, &blk)) != ARB_OK)
        goto out;
    if ((err = arb_store_get(cs->st, NULL, cs->cf + CF_UNDO, hash->b, 32, &undo, &ulen, NULL)) !=
        ARB_OK)
        goto out;
    if (ulen < 4 || ulen != 4 + (size_t)get32le(undo) * UNDO_REC) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    nundo = get32le(undo);
    for (size_t t = 0; t < blk.n_tx; t++) {
        n_out += blk.tx[t].n_out;
        n_in += t > 0 ? blk.tx[t].n_in : 0;
    }
    if ((err = arb_coins_reserve(cs->coins, n_in + n_out)) != ARB_OK)
        goto out;
    for (size_t t = 0; t < blk.n_tx; t++) {
        arb_hash id;
        if ((err = arb_tx_txid(cs->sha, &id, &blk.tx[t])) != ARB_OK)
            goto out;
        for (size_t i = 0; t > 0 && i < blk.tx[t].n_in; i++) {
            const arb_outpoint *op = &blk.tx[t].in[i];
            uint8_t k[36];
            arb_coin coin;
            op_key(k, op);
            if (u < nundo && memcmp(undo + 4 + u * UNDO_REC, k, 36) == 0) {
                coin_dec(&coin, undo + 4 + u * UNDO_REC + 36);
                u++;
            } else if (arb_coins_get(cs->coins, op, &coin) != 1) {
                err = ARB_ERR_PARSE; /* neither in the undo data nor made by the block */
                goto out;
            }
            arb_coins_spend(cs->coins, op, &coin);
        }
        for (size_t o = 0; o < blk.tx[t].n_out; o++) {
            arb_outpoint op = {id, (uint32_t)o};
            arb_coin coin = {blk.tx[t].out[o].amount, {0}, height, t == 0};
            memcpy(coin.key, blk.tx[t].out[o].key, 32);
            arb_coins_add(cs->coins, &op, &coin);
        }
    }
    if (u != nundo)
        err = ARB_ERR_PARSE;
out:
    free(undo);
    arb_block_clear(&blk);
    return err;
}

/* After a crash the coins on disk may be those of an earlier block than the
 * tip (the cache was lost): re-applies the blocks from there to the tip and
 * writes the result, synced. The "coins" block is always on the active chain
 * at or below the tip (a disconnect writes the cache out first). */
static arb_err replay_coins(arb_chainstate *cs, arb_errbuf *eb)
{
    arb_hash coins_at, h;
    idx_entry ce;
    size_t n;
    double t0 = mono_s();
    arb_err err = arb_store_get_into(cs->st, NULL, cs->cf + CF_META, (const uint8_t *)"coins", 5,
                                     coins_at.b, 32, &n, eb);
    if (err == ARB_ERR_NOT_FOUND) { /* a state from before the cache: coins at the tip */
        arb_store_batch *b;
        if ((err = arb_store_batch_new(&b, cs->st)) != ARB_OK)
            return err;
        arb_store_batch_put(b, cs->cf + CF_META, (const uint8_t *)"coins", 5, cs->tip.hash.b, 32);
        err = arb_store_write(cs->st, b, ARB_STORE_SYNC, eb);
        arb_store_batch_free(b);
        return err;
    }
    if (err != ARB_OK)
        return err;
    if (n != 32 || idx_get(cs, &coins_at, &ce) != ARB_OK || ce.height > cs->tip.height ||
        arb_chainstate_hash_at(cs, ce.height, &h) != ARB_OK || !arb_hash_eq(&h, &coins_at))
        return arb_errf(eb, ARB_ERR_PARSE, "chain state: the coins' block is not on the active chain");
    if (ce.height == cs->tip.height)
        return ARB_OK;
    for (uint32_t height = ce.height + 1; height <= cs->tip.height; height++) {
        if ((err = arb_chainstate_hash_at(cs, height, &h)) != ARB_OK ||
            (err = replay_block(cs, &h, height)) != ARB_OK)
            return arb_errf(eb, err, "chain state: cannot replay block %u onto the coins: %s",
                            (unsigned)height, arb_err_str(err));
        cs->replayed++;
        /* Over the budget: write out what is there (at this block) first. */
        if (arb_coins_bytes_with(cs->coins, 0) > cs->cache_budget && height < cs->tip.height) {
            arb_hash tip = cs->tip.hash;
            cs->tip.hash = h;
            err = cache_flush(cs, 1);
            cs->tip.hash = tip;
            if (err != ARB_OK)
                return err;
        }
    }
    if ((err = cache_flush(cs, 1)) != ARB_OK)
        return err;
    arb_logf(&cs->log, ARB_LOG_INFO,
             "chain state: replayed the coins of blocks %u..%u in %.3f s",
             (unsigned)ce.height + 1, (unsigned)cs->tip.height, mono_s() - t0);
    return ARB_OK;
}

arb_err arb_chainstate_open(arb_chainstate **out, arb_store *store, unsigned cf_base,
                            const arb_chain_params *p, unsigned sig_threads,
                            const arb_logger *log, arb_errbuf *eb)
{
    arb_chainstate *cs;
    arb_hash tip, g0, want;
    size_t n;
    idx_entry e;
    arb_err err;

    *out = NULL;
    if (!p->has_ledger || cf_base + ARB_CHAINSTATE_NCF > arb_store_cf_count(store))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "chain state: bad parameters or column families");
    cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return ARB_ERR_NOMEM;
    pthread_mutex_init(&cs->ix_mu, NULL);
    pthread_cond_init(&cs->ix_cv, NULL);
    cs->st = store;
    cs->cf = cf_base;
    cs->p = p;
    cs->threads = sig_threads ? sig_threads : 1;
    cs->flush_blocks = 1;
    cs->flush_ms = 0;
    cs->last_sync = mono_s();
    cs->cache_budget = DEFAULT_CACHE_BYTES;
    cs->np = arb_names_params_get(p->name);
    if (cs->np == NULL) {
        err = arb_errf(eb, ARB_ERR_INVALID_ARG, "chain state: no name-layer constants for %s",
                       p->name);
        goto fail;
    }
    if (log != NULL)
        cs->log = *log;
    if ((err = arb_sha256_new(&cs->sha)) != ARB_OK ||
        (err = arb_schnorr_new(&cs->schnorr)) != ARB_OK || (err = arb_coins_new(&cs->coins)) != ARB_OK)
        goto fail;
    err = arb_store_get_into(store, NULL, cf_base + CF_META, (const uint8_t *)"tip", 3, tip.b, 32,
                             &n, eb);
    if (err == ARB_ERR_NOT_FOUND) {
        if ((err = write_genesis(cs, eb)) != ARB_OK)
            goto fail;
        err = arb_store_get_into(store, NULL, cf_base + CF_META, (const uint8_t *)"tip", 3, tip.b,
                                 32, &n, eb);
    }
    if (err != ARB_OK)
        goto fail;
    if (n != 32 || arb_chainstate_hash_at(cs, 0, &g0) != ARB_OK) {
        err = arb_errf(eb, ARB_ERR_PARSE, "chain state: corrupt tip or height index");
        goto fail;
    }
    arb_chain_genesis_hash(p, &want);
    if (!arb_hash_eq(&g0, &want)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "chain state belongs to another network");
        goto fail;
    }
    if ((err = idx_get(cs, &tip, &e)) != ARB_OK) {
        err = arb_errf(eb, ARB_ERR_PARSE, "chain state: tip block not in the index");
        goto fail;
    }
    cs->tip.hash = tip;
    cs->tip.height = e.height;
    cs->tip.work = e.work;
    cs->best_hdr = cs->tip;
    err = arb_store_get_into(store, NULL, cf_base + CF_SROOT, tip.b, 32, cs->state_root.b, 32, &n,
                             eb);
    if (err == ARB_ERR_NOT_FOUND && e.height == 0) {
        arb_smt_empty(&cs->state_root);
    } else if (err != ARB_OK || n != 32) {
        err = arb_errf(eb, ARB_ERR_PARSE,
                       "chain state: no state root for the tip (a database from before the "
                       "state commitment: start from an empty data directory)");
        goto fail;
    }
    if ((err = repair_index(cs, eb)) != ARB_OK || (err = replay_coins(cs, eb)) != ARB_OK)
        goto fail;
    /* Without the thread, index batches are written in line. */
    cs->ix_started = pthread_create(&cs->ix_thread, NULL, ix_main, cs) == 0;
    if ((err = resume_best(cs)) != ARB_OK) /* the tip is still a consistent block boundary */
        arb_logf(&cs->log, ARB_LOG_WARN, "chain state: cannot resume the best branch: %s",
                 arb_err_str(err));
    *out = cs;
    return ARB_OK;
fail:
    arb_chainstate_close(cs);
    return err;
}

void arb_chainstate_set_flush(arb_chainstate *cs, unsigned max_blocks, unsigned max_ms)
{
    cs->flush_blocks = max_blocks ? max_blocks : 1;
    cs->flush_ms = max_ms;
}

void arb_chainstate_set_cache(arb_chainstate *cs, size_t bytes)
{
    cs->cache_budget = bytes;
}

uint64_t arb_chainstate_cache_flushes(const arb_chainstate *cs)
{
    return cs->cache_flushes;
}

size_t arb_chainstate_cache_count(const arb_chainstate *cs)
{
    return arb_coins_count(cs->coins);
}

uint32_t arb_chainstate_replayed(const arb_chainstate *cs)
{
    return cs->replayed;
}

uint32_t arb_chainstate_repaired(const arb_chainstate *cs)
{
    return cs->repaired;
}

arb_err arb_chainstate_flush(arb_chainstate *cs)
{
    arb_store_batch *b;
    arb_err err;

    /* The sync below covers the tip's index rows too. */
    if ((err = ix_wait(cs)) != ARB_OK)
        return err;
    if (arb_coins_count(cs->coins) > 0)
        return cache_flush(cs, 1); /* syncs every earlier batch too */
    if (cs->unsynced == 0 && !cs->body_unsynced)
        return ARB_OK;
    /* Syncing the write-ahead log makes every earlier batch durable; the
     * rewritten tip record gives the sync something to write. */
    if ((err = arb_store_batch_new(&b, cs->st)) != ARB_OK)
        return err;
    arb_store_batch_put(b, cs->cf + CF_META, (const uint8_t *)"tip", 3, cs->tip.hash.b, 32);
    err = arb_store_write(cs->st, b, ARB_STORE_SYNC, NULL);
    arb_store_batch_free(b);
    if (err != ARB_OK)
        return err;
    cs->unsynced = 0;
    cs->body_unsynced = 0;
    cs->last_sync = mono_s();
    cs->syncs++;
    return ARB_OK;
}

uint64_t arb_chainstate_sync_count(const arb_chainstate *cs)
{
    return cs->syncs;
}

void arb_chainstate_close(arb_chainstate *cs)
{
    if (cs == NULL)
        return;
    if (cs->ix_started) {
        (void)ix_wait(cs); /* a failed write was logged by the store */
        pthread_mutex_lock(&cs->ix_mu);
        cs->ix_stop = 1;
        pthread_cond_signal(&cs->ix_cv);
        pthread_mutex_unlock(&cs->ix_mu);
        pthread_join(cs->ix_thread, NULL);
        cs->ix_started = 0;
    }
    if (cs->st != NULL && cs->coins != NULL &&
        (cs->unsynced > 0 || cs->body_unsynced || arb_coins_count(cs->coins) > 0) &&
        arb_chainstate_flush(cs) != ARB_OK)
        arb_logf(&cs->log, ARB_LOG_ERROR,
                 "chain state: the last %u blocks were not synced at close (a crash may "
                 "lose them; they reconnect from peers)", cs->unsynced);
    arb_sha256_free(cs->sha);
    arb_schnorr_free(cs->schnorr);
    arb_coins_free(cs->coins);
    pthread_mutex_destroy(&cs->ix_mu);
    pthread_cond_destroy(&cs->ix_cv);
    free(cs);
}

void arb_chainstate_tip(const arb_chainstate *cs, arb_chain_tip *out)
{
    *out = cs->tip;
}

arb_err arb_chainstate_hash_at(arb_chainstate *cs, uint32_t height, arb_hash *out)
{
    uint8_t k[4];
    size_t n;
    arb_err err;
    put32be(k, height);
    err = arb_store_get_into(cs->st, NULL, cs->cf + CF_HEIGHT, k, 4, out->b, 32, &n, NULL);
    if (err == ARB_OK && n != 32)
        err = ARB_ERR_PARSE;
    if (err != ARB_OK)
        memset(out, 0, sizeof *out);
    return err;
}

arb_err arb_chainstate_get_coin(arb_chainstate *cs, const arb_outpoint *op, arb_coin *out)
{
    cs->lookup_err = ARB_OK;
    if (arb_chainstate_utxo_lookup(cs, op, out))
        return ARB_OK;
    memset(out, 0, sizeof *out);
    return cs->lookup_err != ARB_OK ? cs->lookup_err : ARB_ERR_NOT_FOUND;
}

int arb_chainstate_is_invalid(arb_chainstate *cs, const arb_hash *hash)
{
    idx_entry e;
    return idx_get(cs, hash, &e) == ARB_OK && (e.status & (ST_FAILED | ST_FAILED_CHILD));
}

int64_t arb_chainstate_tip_mtp(arb_chainstate *cs)
{
    return mtp_of(cs, &cs->tip.hash, cs->tip.height);
}

arb_err arb_chainstate_addr_coins(arb_chainstate *cs, const uint8_t key32[static 32],
                                  arb_chain_coin_fn fn, void *ud)
{
    arb_store_iter *it;
    /* The address index on disk is complete once the cache is written out. */
    arb_err err = cache_flush(cs, 0);
    if (err != ARB_OK)
        return err;
    err = arb_store_iter_new_prefix(&it, cs->st, NULL, cs->cf + CF_ADDR, key32, 32, NULL);
    if (err != ARB_OK)
        return err;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        arb_outpoint op;
        if (kl != 68 || vl != 8) {
            arb_store_iter_free(it);
            return ARB_ERR_PARSE;
        }
        memcpy(op.txid.b, k + 32, 32);
        op.index = (uint32_t)k[64] << 24 | (uint32_t)k[65] << 16 | (uint32_t)k[66] << 8 | k[67];
        if (fn(ud, &op, get64le(v)))
            break;
    }
    err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

/* ---- connect / disconnect ---- */

static arb_err load_block(arb_chainstate *cs, const arb_hash *hash, arb_block *blk)
{
    uint8_t *raw;
    size_t len;
    arb_errbuf eb;
    arb_err err = arb_store_get(cs->st, NULL, cs->cf + CF_BLOCKS, hash->b, 32, &raw, &len, NULL);
    if (err != ARB_OK)
        return err;
    err = arb_block_decode(blk, raw, len, &eb);
    free(raw);
    return err;
}

typedef struct {
    arb_outpoint op;
    arb_coin coin;
    int spent;
} created;

static int cmp_created(const void *a, const void *b)
{
    const arb_outpoint *x = a, *y = b;
    int c = memcmp(x->txid.b, y->txid.b, 32);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* One address-history record of a block: key, transaction index, amounts. */
typedef struct {
    uint8_t key[32];
    uint32_t t;
    uint64_t recv, sent;
} hist_rec;

static int cmp_hist(const void *a, const void *b)
{
    const hist_rec *x = a, *y = b;
    int c = memcmp(x->key, y->key, 32);
    return c ? c : (x->t > y->t) - (x->t < y->t);
}

static void hist_key(uint8_t out[40], const uint8_t key[32], uint32_t height, uint32_t t)
{
    memcpy(out, key, 32);
    put32be(out + 32, height);
    put32be(out + 36, t);
}

/* A block's address-history records, one per output and one per spend
 * (merged by put_tx_and_history): spent[k] is the coin spent by the k-th
 * input after the coinbase. hist has room for every output and input. */
static size_t block_hist(const arb_block *bp, const arb_coin *spent, hist_rec *hist)
{
    size_t nh = 0, k = 0;
    for (size_t t = 0; t < bp->n_tx; t++) {
        for (size_t o = 0; o < bp->tx[t].n_out; o++) {
            hist_rec *hr = &hist[nh++];
            memcpy(hr->key, bp->tx[t].out[o].key, 32);
            hr->t = (uint32_t)t;
            hr->recv = bp->tx[t].out[o].amount;
            hr->sent = 0;
        }
        for (size_t i = 0; t > 0 && i < bp->tx[t].n_in; i++, k++) {
            hist_rec *hr = &hist[nh++];
            memcpy(hr->key, spent[k].key, 32);
            hr->t = (uint32_t)t;
            hr->recv = 0;
            hr->sent = spent[k].amount;
        }
    }
    return nh;
}

typedef struct {
    arb_hash txid;
    uint32_t t;
} txid_at;

static int cmp_txid_at(const void *a, const void *b)
{
    return memcmp(((const txid_at *)a)->txid.b, ((const txid_at *)b)->txid.b, 32);
}

/* Puts the transaction index and the address history of the connected block
 * `hash`, with the "txidx" marker naming it. */
static void put_tx_and_history(arb_chainstate *cs, arb_store_batch *b, const arb_hash *hash,
                               uint32_t height, const arb_hash *txids, size_t n_tx, hist_rec *h,
                               size_t nh)
{
    uint8_t v[48], k[40];
    /* In key order: RocksDB's memtable inserts keys that follow the previous
     * one from where that one went, instead of searching from the top. */
    txid_at *order = malloc(n_tx * sizeof *order);
    if (order != NULL) {
        for (size_t t = 0; t < n_tx; t++) {
            order[t].txid = txids[t];
            order[t].t = (uint32_t)t;
        }
        qsort(order, n_tx, sizeof *order, cmp_txid_at);
    }
    for (size_t i = 0; i < n_tx; i++) {
        size_t t = order != NULL ? order[i].t : i;
        put32be(v, height);
        put32be(v + 4, (uint32_t)t);
        arb_store_batch_put(b, cs->cf + CF_TX, txids[t].b, 32, v, 8);
    }
    free(order);
    qsort(h, nh, sizeof *h, cmp_hist);
    for (size_t i = 0; i < nh;) {
        hist_rec r = h[i++];
        while (i < nh && cmp_hist(&h[i], &r) == 0) {
            r.recv += h[i].recv;
            r.sent += h[i].sent;
            i++;
        }
        hist_key(k, r.key, height, r.t);
        memcpy(v, txids[r.t].b, 32);
        put64le(v + 32, r.recv);
        put64le(v + 40, r.sent);
        arb_store_batch_put(b, cs->cf + CF_HIST, k, 40, v, 48);
    }
    arb_store_batch_put(b, cs->cf + CF_META, (const uint8_t *)"txidx", 5, hash->b, 32);
}

static void del_history(arb_chainstate *cs, arb_store_batch *b, const uint8_t key[32],
                        uint32_t height)
{
    uint8_t lo[40], hi[40];
    hist_key(lo, key, height, 0);
    hist_key(hi, key, height + 1, 0);
    arb_store_batch_delete_range(b, cs->cf + CF_HIST, lo, 40, hi, 40);
}

/* The coins a block's inputs spent, in input order (coinbase aside): from
 * its undo data, or made by an earlier transaction of the block. */
static arb_err spent_coins(const arb_block *blk, const arb_hash *txids, const uint8_t *undo,
                           size_t ulen, arb_coin *spent)
{
    size_t nundo = get32le(undo), u = 0, k = 0;
    if (ulen != 4 + nundo * UNDO_REC)
        return ARB_ERR_PARSE;
    for (size_t t = 1; t < blk->n_tx; t++) {
        for (size_t i = 0; i < blk->tx[t].n_in; i++, k++) {
            const arb_outpoint *op = &blk->tx[t].in[i];
            uint8_t key[36];
            size_t s = 0;
            op_key(key, op);
            if (u < nundo && memcmp(undo + 4 + u * UNDO_REC, key, 36) == 0) {
                coin_dec(&spent[k], undo + 4 + u * UNDO_REC + 36);
                u++;
                continue;
            }
            while (s < t && !arb_hash_eq(&txids[s], &op->txid))
                s++;
            if (s == t || op->index >= blk->tx[s].n_out)
                return ARB_ERR_PARSE; /* neither in the undo data nor made by the block */
            memset(&spent[k], 0, sizeof spent[k]);
            spent[k].amount = blk->tx[s].out[op->index].amount;
            memcpy(spent[k].key, blk->tx[s].out[op->index].key, 32);
        }
    }
    return u == nundo ? ARB_OK : ARB_ERR_PARSE;
}

/* A crash between a block's batch and its index batch leaves the tip's
 * transaction index and history missing, and the "txidx" marker naming an
 * earlier block: rewrites the tip's rows (synced) from the block and its
 * undo data. A database without the marker wrote both in one batch. */
static arb_err repair_index(arb_chainstate *cs, arb_errbuf *eb)
{
    arb_hash at;
    arb_block blk;
    arb_hash *txids = NULL;
    arb_coin *spent = NULL;
    hist_rec *hist = NULL;
    uint8_t *undo = NULL;
    arb_store_batch *b = NULL;
    size_t n, ulen, n_in = 0, n_out = 0;
    arb_err err = arb_store_get_into(cs->st, NULL, cs->cf + CF_META, (const uint8_t *)"txidx", 5,
                                     at.b, 32, &n, eb);
    if (err == ARB_ERR_NOT_FOUND)
        return ARB_OK;
    if (err != ARB_OK)
        return err;
    if (n == 32 && arb_hash_eq(&at, &cs->tip.hash))
        return ARB_OK;
    arb_block_init(&blk);
    if ((err = load_block(cs, &cs->tip.hash, &blk)) != ARB_OK ||
        (err = arb_store_get(cs->st, NULL, cs->cf + CF_UNDO, cs->tip.hash.b, 32, &undo, &ulen,
                             eb)) != ARB_OK)
        goto out;
    for (size_t t = 0; t < blk.n_tx; t++) {
        n_out += blk.tx[t].n_out;
        n_in += t > 0 ? blk.tx[t].n_in : 0;
    }
    txids = malloc(blk.n_tx * sizeof *txids + 1);
    spent = malloc(n_in * sizeof *spent + 1);
    hist = malloc((n_in + n_out) * sizeof *hist + 1);
    if (txids == NULL || spent == NULL || hist == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    for (size_t t = 0; t < blk.n_tx; t++)
        if ((err = arb_tx_txid(cs->sha, &txids[t], &blk.tx[t])) != ARB_OK)
            goto out;
    if (ulen < 4 || (err = spent_coins(&blk, txids, undo, ulen, spent)) != ARB_OK) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    if ((err = arb_store_batch_new(&b, cs->st)) != ARB_OK)
        goto out;
    put_tx_and_history(cs, b, &cs->tip.hash, cs->tip.height, txids, blk.n_tx, hist,
                       block_hist(&blk, spent, hist));
    if ((err = arb_store_write(cs->st, b, ARB_STORE_SYNC, eb)) != ARB_OK)
        goto out;
    cs->repaired++;
    arb_logf(&cs->log, ARB_LOG_INFO,
             "chain state: rewrote the transaction index and history of the tip block %u "
             "(interrupted before they were written)", (unsigned)cs->tip.height);
out:
    if (err != ARB_OK)
        err = arb_errf(eb, err, "chain state: cannot rewrite the index of the tip block %u: %s",
                       (unsigned)cs->tip.height, arb_err_str(err));
    arb_store_batch_free(b);
    free(undo);
    free(hist);
    free(spent);
    free(txids);
    arb_block_clear(&blk);
    return err;
}

/* ---- the committed state: name records and anchored heads ----
 *
 * state_records  kind u8 | key 32 -> record (stateview.h kinds)
 * state_smt      node hash -> node (65 bytes, merkle/smt.h)
 * state_undo     block hash -> prev root 32 | n u32 | n x (kind u8 | key 32 |
 *                present u8 | len u16 | record) | m u32 | m x (zone-file hash 32 | count u32)
 * state_history  kind u8 | key 32 | height u32 BE | tx index u32 BE ->
 *                txid 32 | payload type u8 | block hash 32 | record (anchors: the head)
 * state_index    'o' | owner 32 | name key 32 -> "" (names by owner);
 *                'z' | zone-file hash 32 -> count u32 (history entries naming it)
 * state_roots    block hash -> state root after the block */

static arb_err sview_base(void *ud, uint8_t kind, const uint8_t key[32], uint8_t out[ARB_SREC_MAX],
                          size_t *len)
{
    arb_chainstate *cs = ud;
    uint8_t k[33];
    k[0] = kind;
    memcpy(k + 1, key, 32);
    arb_err err = arb_store_get_into(cs->st, NULL, cs->cf + CF_STATE, k, 33, out, ARB_SREC_MAX,
                                     len, NULL);
    return err == ARB_ERR_INVALID_ARG ? ARB_ERR_PARSE : err;
}

/* The node store: nodes written by the current update live in `mem` until
 * the batch is written (arb_smt_update reads nodes it wrote earlier in the
 * same update); b NULL: nothing goes to disk (templates, mempool). */
typedef struct {
    arb_chainstate *cs;
    arb_smt_mem *mem;
    arb_store_batch *b;
} smt_ctx;

static arb_err smt_get(void *ud, const arb_hash *hash, arb_smt_node *out)
{
    smt_ctx *c = ud;
    arb_smt_store ms;
    uint8_t buf[ARB_SMT_NODE_SIZE];
    size_t n;
    arb_smt_mem_store(c->mem, &ms);
    arb_err err = ms.get(ms.ud, hash, out);
    if (err != ARB_ERR_NOT_FOUND)
        return err;
    err = arb_store_get_into(c->cs->st, NULL, c->cs->cf + CF_SMT, hash->b, 32, buf, sizeof buf,
                             &n, NULL);
    if (err == ARB_ERR_INVALID_ARG)
        return ARB_ERR_INTERNAL;
    if (err != ARB_OK)
        return err;
    return arb_smt_node_decode(out, buf, n) == ARB_OK ? ARB_OK : ARB_ERR_INTERNAL;
}

static arb_err smt_put(void *ud, const arb_hash *hash, const arb_smt_node *node)
{
    smt_ctx *c = ud;
    arb_smt_store ms;
    arb_smt_mem_store(c->mem, &ms);
    arb_err err = ms.put(ms.ud, hash, node);
    if (err == ARB_OK && c->b != NULL) {
        uint8_t buf[ARB_SMT_NODE_SIZE];
        arb_smt_node_encode(buf, node);
        arb_store_batch_put(c->b, c->cs->cf + CF_SMT, hash->b, 32, buf, sizeof buf);
    }
    return err;
}

static void smt_store_of(smt_ctx *c, arb_smt_store *st)
{
    st->get = smt_get;
    st->put = smt_put;
    st->ud = c;
}

/* The new root after the view's changes on top of `root`. */
static arb_err view_root(arb_chainstate *cs, const arb_sview *v, const arb_hash *root,
                         arb_store_batch *b, arb_hash *out)
{
    arb_smt_op *ops = NULL;
    size_t n = 0;
    smt_ctx c = {cs, NULL, b};
    arb_smt_store st;
    arb_err err = arb_sview_tree_ops(v, cs->sha, &ops, &n);
    if (err != ARB_OK)
        return err;
    if (n == 0) {
        free(ops);
        *out = *root;
        return ARB_OK;
    }
    if ((err = arb_smt_mem_new(&c.mem)) == ARB_OK) {
        smt_store_of(&c, &st);
        err = arb_smt_update(cs->sha, &st, root, ops, n, out);
    }
    arb_smt_mem_free(c.mem);
    free(ops);
    return err;
}

/* The key of the output input 0 of tx spends: from the block's own outputs
 * (cr, sorted) or the UTXO set (as before the block). */
static int sender_of(arb_chainstate *cs, const arb_tx *tx, const created *cr, size_t ncr,
                     uint8_t out[32])
{
    arb_coin coin;
    const created *c = cr ? bsearch(&tx->in[0], cr, ncr, sizeof *cr, cmp_created) : NULL;
    if (c != NULL) {
        memcpy(out, c->coin.key, 32);
        return 1;
    }
    cs->lookup_err = ARB_OK;
    if (!arb_chainstate_utxo_lookup(cs, &tx->in[0], &coin))
        return 0;
    memcpy(out, coin.key, 32);
    return 1;
}

static void hist_skey(uint8_t out[41], uint8_t kind, const uint8_t key[32], uint32_t height,
                      uint32_t t)
{
    out[0] = kind;
    memcpy(out + 1, key, 32);
    put32be(out + 33, height);
    put32be(out + 37, t);
}

static void owner_key(uint8_t out[65], const uint8_t owner[32], const uint8_t name_key[32])
{
    out[0] = 'o';
    memcpy(out + 1, owner, 32);
    memcpy(out + 33, name_key, 32);
}

/* The owner of a stored name record (0 when it does not decode). */
static int rec_owner(const uint8_t *rec, size_t len, uint8_t owner[32])
{
    arb_name_rec r;
    if (arb_names_name_rec_decode(&r, rec, len) != ARB_OK)
        return 0;
    memcpy(owner, r.owner, 32);
    return 1;
}

static arb_err zf_count_get(arb_chainstate *cs, const uint8_t hash[32], uint32_t *count)
{
    uint8_t k[33], v[4];
    size_t n;
    k[0] = 'z';
    memcpy(k + 1, hash, 32);
    arb_err err = arb_store_get_into(cs->st, NULL, cs->cf + CF_SIDX, k, 33, v, 4, &n, NULL);
    *count = 0;
    if (err == ARB_ERR_NOT_FOUND)
        return ARB_OK;
    if (err != ARB_OK)
        return err;
    if (n != 4)
        return ARB_ERR_PARSE;
    *count = get32le(v);
    return ARB_OK;
}

static void zf_count_put(arb_chainstate *cs, arb_store_batch *b, const uint8_t hash[32],
                         uint32_t count)
{
    uint8_t k[33], v[4];
    k[0] = 'z';
    memcpy(k + 1, hash, 32);
    if (count == 0) {
        arb_store_batch_delete(b, cs->cf + CF_SIDX, k, 33);
        return;
    }
    put32le(v, count);
    arb_store_batch_put(b, cs->cf + CF_SIDX, k, 33, v, 4);
}

typedef struct {
    uint8_t hash[32];
    uint32_t count;
} zf_delta;

static int cmp_zf(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* Applies the payloads of the block (already checked against the UTXO set)
 * to the state, checks the coinbase's root and puts the changes, their undo
 * data, the history and the indexes into b. *new_root: the root after the
 * block. ARB_ERR_VERIFY with res for an operation that fails or a wrong root. */
static arb_err state_connect(arb_chainstate *cs, arb_store_batch *b, const arb_block *blk,
                             const arb_hash *hash, uint32_t height, const arb_hash *txids,
                             const created *cr, size_t ncr, arb_check_result *res,
                             arb_hash *new_root)
{
    arb_sview *v = NULL;
    arb_buf undo = ARB_BUF_INIT;
    zf_delta *zd = NULL;
    size_t nzd = 0;
    arb_hash want;
    arb_err err;
    int any = 0;

    *new_root = cs->state_root;
    for (size_t t = 1; t < blk->n_tx && !any; t++)
        any = blk->tx[t].payload_type != 0;
    if (!any) {
        /* No operation: the root stays, nothing else to keep. */
        arb_chain_coinbase_root(&blk->tx[0], &want);
        if (!arb_hash_eq(&want, &cs->state_root)) {
            res->reason = "bad-cb-state-root";
            res->tx_index = 0;
            return arb_errf(&res->detail, ARB_ERR_VERIFY,
                            "bad-cb-state-root: the coinbase commits to another state root");
        }
        arb_store_batch_put(b, cs->cf + CF_SROOT, hash->b, 32, cs->state_root.b, 32);
        return ARB_OK;
    }
    if ((err = arb_sview_new(&v, cs->np, sview_base, cs)) != ARB_OK)
        return err;
    for (size_t t = 1; t < blk->n_tx; t++) {
        const arb_tx *tx = &blk->tx[t];
        uint8_t sender[32];
        const char *reason = NULL;
        if (tx->payload_type == 0)
            continue;
        if (!sender_of(cs, tx, cr, ncr, sender)) {
            err = cs->lookup_err != ARB_OK ? cs->lookup_err : ARB_ERR_INTERNAL;
            goto out;
        }
        err = arb_sview_apply(v, cs->sha, tx, (uint32_t)t, sender, height, &reason);
        if (err == ARB_ERR_VERIFY) {
            res->reason = reason;
            res->tx_index = t;
            err = arb_errf(&res->detail, ARB_ERR_VERIFY, "%s: tx %zu", reason, t);
            goto out;
        }
        if (err != ARB_OK)
            goto out;
    }
    if ((err = view_root(cs, v, &cs->state_root, b, new_root)) != ARB_OK)
        goto out;
    arb_chain_coinbase_root(&blk->tx[0], &want);
    if (!arb_hash_eq(&want, new_root)) {
        res->reason = "bad-cb-state-root";
        res->tx_index = 0;
        err = arb_errf(&res->detail, ARB_ERR_VERIFY,
                       "bad-cb-state-root: the coinbase commits to another state root");
        goto out;
    }
    /* Records, the owner index and the undo data. */
    arb_buf_put(&undo, cs->state_root.b, 32);
    arb_buf_u32le(&undo, (uint32_t)arb_sview_count(v));
    for (size_t i = 0; i < arb_sview_count(v); i++) {
        const arb_sview_entry *e = arb_sview_at(v, i);
        uint8_t k[33], ok[65], owner[32];
        arb_buf_u8(&undo, e->kind);
        arb_buf_put(&undo, e->key, 32);
        arb_buf_u8(&undo, e->has_orig);
        arb_buf_u16le(&undo, e->orig_len);
        arb_buf_put(&undo, e->orig, e->orig_len);
        if (!arb_sview_entry_changed(e))
            continue;
        k[0] = e->kind;
        memcpy(k + 1, e->key, 32);
        if (e->has_cur)
            arb_store_batch_put(b, cs->cf + CF_STATE, k, 33, e->cur, e->cur_len);
        else
            arb_store_batch_delete(b, cs->cf + CF_STATE, k, 33);
        if (e->kind != ARB_SREC_NAME)
            continue;
        if (e->has_orig && rec_owner(e->orig, e->orig_len, owner)) {
            owner_key(ok, owner, e->key);
            arb_store_batch_delete(b, cs->cf + CF_SIDX, ok, 65);
        }
        if (e->has_cur && rec_owner(e->cur, e->cur_len, owner)) {
            owner_key(ok, owner, e->key);
            arb_store_batch_put(b, cs->cf + CF_SIDX, ok, 65, NULL, 0);
        }
    }
    /* History and the zone-file counts. */
    zd = malloc((arb_sview_nevents(v) ? arb_sview_nevents(v) : 1) * sizeof *zd);
    if (zd == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < arb_sview_nevents(v); i++) {
        const arb_sview_event *ev = arb_sview_event_at(v, i);
        uint8_t k[41], val[32 + 1 + 32 + ARB_SREC_MAX];
        size_t vl = 65;
        hist_skey(k, ev->kind, ev->key, height, ev->tx_index);
        memcpy(val, txids[ev->tx_index].b, 32);
        val[32] = ev->op;
        memcpy(val + 33, hash->b, 32);
        if (ev->kind == ARB_SREC_ANCHOR) {
            /* the head this anchor made: the last state of the log's entry
             * in the block is only right for its last anchor, so re-read
             * the anchor from the transaction */
            const arb_tx *tx = &blk->tx[ev->tx_index];
            arb_anchor *a = malloc(sizeof *a);
            arb_errbuf eb;
            if (a == NULL) {
                err = ARB_ERR_NOMEM;
                goto out;
            }
            if (arb_anchor_decode(a, tx->payload, tx->payload_len, &eb) == ARB_OK) {
                arb_anchor_head hd;
                memcpy(hd.log_id, ev->key, 32);
                hd.tree_size = a->tree_size;
                hd.timestamp = a->timestamp;
                memcpy(hd.root, a->root, 32);
                hd.height = height;
                arb_anchor_head_encode(val + 65, &hd);
                vl += ARB_ANCHOR_REC_SIZE;
            }
            free(a);
        }
        arb_store_batch_put(b, cs->cf + CF_SHIST, k, 41, val, vl);
        if (ev->has_zonefile) {
            memcpy(zd[nzd].hash, ev->zonefile, 32);
            zd[nzd++].count = 1;
        }
    }
    qsort(zd, nzd, sizeof *zd, cmp_zf);
    size_t m = 0;
    for (size_t i = 0; i < nzd; i++) {
        if (m > 0 && memcmp(zd[m - 1].hash, zd[i].hash, 32) == 0)
            zd[m - 1].count++;
        else
            zd[m++] = zd[i];
    }
    nzd = m;
    arb_buf_u32le(&undo, (uint32_t)nzd);
    for (size_t i = 0; i < nzd; i++) {
        uint32_t c;
        if ((err = zf_count_get(cs, zd[i].hash, &c)) != ARB_OK)
            goto out;
        zf_count_put(cs, b, zd[i].hash, c + zd[i].count);
        arb_buf_put(&undo, zd[i].hash, 32);
        arb_buf_u32le(&undo, zd[i].count);
    }
    if (undo.oom) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    arb_store_batch_put(b, cs->cf + CF_SUNDO, hash->b, 32, undo.data, undo.len);
    arb_store_batch_put(b, cs->cf + CF_SROOT, hash->b, 32, new_root->b, 32);
out:
    if (err != ARB_OK)
        *new_root = cs->state_root;
    free(zd);
    arb_buf_free(&undo);
    arb_sview_free(v);
    return err;
}

/* Undoes the state changes of the tip block (hash, height) into b; *prev:
 * the root before it. */
static arb_err state_disconnect(arb_chainstate *cs, arb_store_batch *b, const arb_hash *hash,
                                uint32_t height, arb_hash *prev)
{
    uint8_t *u = NULL;
    size_t ulen;
    arb_cur c;
    uint32_t n, nz;
    arb_err err = arb_store_get(cs->st, NULL, cs->cf + CF_SUNDO, hash->b, 32, &u, &ulen, NULL);
    if (err == ARB_ERR_NOT_FOUND) { /* a block without operations */
        *prev = cs->state_root;
        return ARB_OK;
    }
    if (err != ARB_OK)
        return err;
    c = arb_cur_make(u, ulen);
    if (!arb_cur_get(&c, prev->b, 32) || !arb_cur_u32le(&c, &n)) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t kind, has, key[32], rec[ARB_SREC_MAX], cur[ARB_SREC_MAX], k[41], k2[41], ok[65],
            owner[32];
        uint16_t len;
        size_t cl = 0;
        if (!arb_cur_u8(&c, &kind) || !arb_cur_get(&c, key, 32) || !arb_cur_u8(&c, &has) ||
            !arb_cur_u16le(&c, &len) || len > ARB_SREC_MAX || !arb_cur_get(&c, rec, len)) {
            err = ARB_ERR_PARSE;
            goto out;
        }
        k[0] = kind;
        memcpy(k + 1, key, 32);
        if (kind == ARB_SREC_NAME) {
            err = sview_base(cs, kind, key, cur, &cl);
            if (err == ARB_OK && rec_owner(cur, cl, owner)) {
                owner_key(ok, owner, key);
                arb_store_batch_delete(b, cs->cf + CF_SIDX, ok, 65);
            } else if (err != ARB_OK && err != ARB_ERR_NOT_FOUND) {
                goto out;
            }
            err = ARB_OK;
            if (has && rec_owner(rec, len, owner)) {
                owner_key(ok, owner, key);
                arb_store_batch_put(b, cs->cf + CF_SIDX, ok, 65, NULL, 0);
            }
        }
        if (has)
            arb_store_batch_put(b, cs->cf + CF_STATE, k, 33, rec, len);
        else
            arb_store_batch_delete(b, cs->cf + CF_STATE, k, 33);
        hist_skey(k, kind, key, height, 0);
        hist_skey(k2, kind, key, height + 1, 0);
        arb_store_batch_delete_range(b, cs->cf + CF_SHIST, k, 41, k2, 41);
    }
    if (!arb_cur_u32le(&c, &nz)) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    for (uint32_t i = 0; i < nz; i++) {
        uint8_t zh[32];
        uint32_t cnt, have;
        if (!arb_cur_get(&c, zh, 32) || !arb_cur_u32le(&c, &cnt)) {
            err = ARB_ERR_PARSE;
            goto out;
        }
        if ((err = zf_count_get(cs, zh, &have)) != ARB_OK)
            goto out;
        zf_count_put(cs, b, zh, have > cnt ? have - cnt : 0);
    }
    if (c.len != 0) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    arb_store_batch_delete(b, cs->cf + CF_SUNDO, hash->b, 32);
out:
    free(u);
    return err;
}

/* What the connect of one block builds while its signatures are verified. */
typedef struct {
    arb_chainstate *cs;
    const arb_block *bp;
    const arb_hash *hash;
    idx_entry *e;
    int flush; /* the cache goes out with this block: its UTXO changes go in the batch too */
    arb_store_batch *b;
    arb_store_batch *ib; /* its transaction index and history (the index writer's) */
    arb_hash new_root;
} connect_ctx;

/* Builds the block's batch: undo data, the committed state, height and tip;
 * the UTXO changes only when the cache is written out with this block
 * (otherwise they go to the cache once the batch is written). The
 * transaction index and history go in a second batch, for the index writer.
 * Runs on the calling thread during the signature checks, so it changes
 * nothing but the batches. */
static arb_err build_connect(void *ud, const arb_block_view *bv, arb_check_result *res)
{
    connect_ctx *x = ud;
    arb_chainstate *cs = x->cs;
    const arb_block *bp = x->bp;
    const arb_hash *txids = bv->txids;
    uint32_t height = x->e->height;
    hist_rec *hist = NULL;
    created *cr = NULL;
    size_t nhist = 0, ncr = 0, nundo = 0, n_out = 0, k_in = 0;
    uint8_t *undo = NULL, k[68], v[COIN_SIZE], hk[4];
    arb_err err = ARB_OK;

    for (size_t t = 0; t < bp->n_tx; t++)
        n_out += bp->tx[t].n_out;
    cr = malloc(n_out * sizeof *cr);
    hist = malloc((n_out + bv->n_spent) * sizeof *hist);
    undo = malloc(4 + bv->n_spent * UNDO_REC);
    if (cr == NULL || undo == NULL || hist == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    if (x->flush)
        cache_drain(cs, x->b, x->hash);
    for (size_t t = 0; t < bp->n_tx; t++) {
        for (size_t o = 0; o < bp->tx[t].n_out; o++) {
            created *c = &cr[ncr++];
            c->op.txid = txids[t];
            c->op.index = (uint32_t)o;
            c->coin.amount = bp->tx[t].out[o].amount;
            memcpy(c->coin.key, bp->tx[t].out[o].key, 32);
            c->coin.height = height;
            c->coin.coinbase = t == 0;
            c->spent = 0;
        }
    }
    qsort(cr, ncr, sizeof *cr, cmp_created);
    /* Spends, with the coins the check found: in-block outputs are marked;
     * state coins are recorded for undo (and deleted when flushing). */
    for (size_t t = 1; t < bp->n_tx; t++) {
        for (size_t i = 0; i < bp->tx[t].n_in; i++, k_in++) {
            const arb_outpoint *op = &bp->tx[t].in[i];
            const arb_coin *coin = &bv->spent[k_in];
            if (bv->in_block[k_in]) {
                created *c = bsearch(op, cr, ncr, sizeof *cr, cmp_created);
                if (c == NULL) {
                    err = ARB_ERR_INTERNAL;
                    goto out;
                }
                c->spent = 1;
                continue;
            }
            uint8_t *r = undo + 4 + nundo * UNDO_REC;
            op_key(r, op);
            coin_enc(r + 36, coin);
            nundo++;
            if (x->flush) {
                op_key(k, op);
                arb_store_batch_delete(x->b, cs->cf + CF_UTXO, k, 36);
                addr_key(k, coin->key, op);
                arb_store_batch_delete(x->b, cs->cf + CF_ADDR, k, 68);
            }
        }
    }
    for (size_t i = 0; i < ncr && x->flush; i++) {
        uint8_t amt[8];
        if (cr[i].spent)
            continue;
        op_key(k, &cr[i].op);
        coin_enc(v, &cr[i].coin);
        arb_store_batch_put(x->b, cs->cf + CF_UTXO, k, 36, v, sizeof v);
        addr_key(k, cr[i].coin.key, &cr[i].op);
        put64le(amt, cr[i].coin.amount);
        arb_store_batch_put(x->b, cs->cf + CF_ADDR, k, 68, amt, 8);
    }
    cs->lookup_err = ARB_OK;
    if ((err = state_connect(cs, x->b, bp, x->hash, height, txids, cr, ncr, res, &x->new_root)) !=
        ARB_OK)
        goto out;
    put32le(undo, (uint32_t)nundo);
    arb_store_batch_put(x->b, cs->cf + CF_UNDO, x->hash->b, 32, undo, 4 + nundo * UNDO_REC);
    nhist = block_hist(bp, bv->spent, hist);
    put_tx_and_history(cs, x->ib, x->hash, height, txids, bp->n_tx, hist, nhist);
    put32be(hk, height);
    arb_store_batch_put(x->b, cs->cf + CF_HEIGHT, hk, 4, x->hash->b, 32);
    arb_store_batch_put(x->b, cs->cf + CF_META, (const uint8_t *)"tip", 3, x->hash->b, 32);
    x->e->status |= ST_VALID;
    idx_put(cs, x->b, x->hash, x->e);
out:
    free(hist);
    free(undo);
    free(cr);
    return err;
}

/* The block's UTXO changes into the cache (room reserved before). */
static void cache_apply(arb_chainstate *cs, const arb_block *bp, const arb_block_view *bv,
                        uint32_t height)
{
    size_t k_in = 0;
    for (size_t t = 0; t < bp->n_tx; t++) {
        for (size_t i = 0; t > 0 && i < bp->tx[t].n_in; i++, k_in++)
            arb_coins_spend(cs->coins, &bp->tx[t].in[i], &bv->spent[k_in]);
        for (size_t o = 0; o < bp->tx[t].n_out; o++) {
            arb_outpoint op = {bv->txids[t], (uint32_t)o};
            arb_coin coin = {bp->tx[t].out[o].amount, {0}, height, t == 0};
            memcpy(coin.key, bp->tx[t].out[o].key, 32);
            arb_coins_add(cs->coins, &op, &coin);
        }
    }
}

/* Validates the stored block `hash` on top of the current tip and applies it
 * in one atomic batch (synced by the flush policy). The batch is built while
 * the signatures are verified and dropped if one fails. ARB_ERR_VERIFY with
 * res on a rule failure. */
static arb_err connect(arb_chainstate *cs, const arb_hash *hash, arb_check_result *res)
{
    arb_block blk;
    const arb_block *bp = &blk;
    idx_entry e;
    arb_chain_checker chk = {cs->sha, cs->schnorr, cs->threads};
    arb_block_view bv;
    connect_ctx x;
    size_t n_ops = 0;
    int sync;
    arb_err err;

    memset(&bv, 0, sizeof bv);
    memset(&x, 0, sizeof x);
    arb_block_init(&blk);
    if ((err = idx_get(cs, hash, &e)) != ARB_OK)
        return err;
    /* The block just submitted is at hand: no need to read and decode it back. */
    if (cs->pending != NULL && arb_hash_eq(hash, &cs->pending_hash))
        bp = cs->pending;
    else if ((err = load_block(cs, hash, &blk)) != ARB_OK)
        return err;
    if (!arb_hash_eq(&e.hdr.prev, &cs->tip.hash)) {
        err = ARB_ERR_INTERNAL;
        goto out;
    }
    for (size_t t = 0; t < bp->n_tx; t++)
        n_ops += bp->tx[t].n_out + bp->tx[t].n_in;
    /* The cache is written out with this block at the flush policy's sync
     * points, and when this block's changes would take it over its budget. */
    sync = sync_due(cs);
    x.cs = cs;
    x.bp = bp;
    x.hash = hash;
    x.e = &e;
    x.flush = sync || arb_coins_bytes_with(cs->coins, n_ops) > cs->cache_budget ||
              arb_coins_reserve(cs->coins, n_ops) != ARB_OK;
    if ((err = arb_store_batch_new(&x.b, cs->st)) != ARB_OK ||
        (err = arb_store_batch_new(&x.ib, cs->st)) != ARB_OK)
        goto out;
    cs->lookup_err = ARB_OK;
    err = arb_chain_check_block_ex(cs->p, &chk, bp, e.height,
                                   mtp_of(cs, &cs->tip.hash, cs->tip.height),
                                   arb_chainstate_utxo_lookup, cs, build_connect, &x, &bv, res);
    if (cs->lookup_err != ARB_OK) {
        err = cs->lookup_err;
        goto out;
    }
    if (err != ARB_OK)
        goto out;
    /* The previous block's index rows land before this block's batch. */
    if ((err = ix_wait(cs)) != ARB_OK || (err = write_batch(cs, x.b, sync)) != ARB_OK)
        goto out;
    ix_submit(cs, x.ib);
    x.ib = NULL;
    if (x.flush) {
        if (arb_coins_count(cs->coins) > 0)
            cs->cache_flushes++;
        arb_coins_clear(cs->coins);
    } else {
        cache_apply(cs, bp, &bv, e.height);
    }
    cs->tip.hash = *hash;
    cs->tip.height = e.height;
    cs->tip.work = e.work;
    cs->state_root = x.new_root;
out:
    arb_store_batch_free(x.b);
    arb_store_batch_free(x.ib);
    arb_block_view_clear(&bv);
    arb_block_clear(&blk);
    return err;
}

/* Undoes the tip block in one atomic batch (synced by the flush policy). */
static arb_err disconnect(arb_chainstate *cs)
{
    arb_block blk;
    idx_entry e, pe;
    uint8_t *undo = NULL, k[68], hk[4];
    size_t ulen;
    arb_store_batch *b = NULL;
    arb_hash hash = cs->tip.hash, prev_root;
    arb_err err;

    arb_block_init(&blk);
    if (cs->tip.height == 0)
        return ARB_ERR_INTERNAL;
    /* The tip's index rows land before the batch that deletes them. */
    if ((err = ix_wait(cs)) != ARB_OK)
        return err;
    if ((err = idx_get(cs, &hash, &e)) != ARB_OK || (err = idx_get(cs, &e.hdr.prev, &pe)) != ARB_OK ||
        (err = load_block(cs, &hash, &blk)) != ARB_OK)
        goto out;
    if ((err = arb_store_get(cs->st, NULL, cs->cf + CF_UNDO, hash.b, 32, &undo, &ulen, NULL)) != ARB_OK)
        goto out;
    if (ulen < 4 || ulen != 4 + (size_t)get32le(undo) * UNDO_REC) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    if ((err = arb_store_batch_new(&b, cs->st)) != ARB_OK)
        goto out;
    /* The cache goes out first, in the same batch: the UTXO changes below
     * apply to the coins at the tip, and the coins' block stays on the active
     * chain (the replay after a crash only ever moves forward). */
    cache_drain(cs, b, &e.hdr.prev);
    for (size_t t = 0; t < blk.n_tx; t++) {
        arb_hash id;
        if ((err = arb_tx_txid(cs->sha, &id, &blk.tx[t])) != ARB_OK)
            goto out;
        arb_store_batch_delete(b, cs->cf + CF_TX, id.b, 32);
        for (size_t o = 0; o < blk.tx[t].n_out; o++) {
            arb_outpoint op = {id, (uint32_t)o};
            op_key(k, &op);
            arb_store_batch_delete(b, cs->cf + CF_UTXO, k, 36);
            addr_key(k, blk.tx[t].out[o].key, &op);
            arb_store_batch_delete(b, cs->cf + CF_ADDR, k, 68);
            del_history(cs, b, blk.tx[t].out[o].key, e.height);
        }
    }
    for (size_t i = 0; i < get32le(undo); i++) {
        const uint8_t *r = undo + 4 + i * UNDO_REC;
        arb_coin coin;
        uint8_t amt[8];
        coin_dec(&coin, r + 36);
        arb_store_batch_put(b, cs->cf + CF_UTXO, r, 36, r + 36, COIN_SIZE);
        memcpy(k, coin.key, 32);
        memcpy(k + 32, r, 36);
        put64le(amt, coin.amount);
        arb_store_batch_put(b, cs->cf + CF_ADDR, k, 68, amt, 8);
        del_history(cs, b, coin.key, e.height);
    }
    if ((err = state_disconnect(cs, b, &hash, e.height, &prev_root)) != ARB_OK)
        goto out;
    arb_store_batch_delete(b, cs->cf + CF_UNDO, hash.b, 32);
    put32be(hk, e.height);
    arb_store_batch_delete(b, cs->cf + CF_HEIGHT, hk, 4);
    arb_store_batch_put(b, cs->cf + CF_META, (const uint8_t *)"tip", 3, e.hdr.prev.b, 32);
    arb_store_batch_put(b, cs->cf + CF_META, (const uint8_t *)"txidx", 5, e.hdr.prev.b, 32);
    if ((err = write_policy(cs, b)) != ARB_OK)
        goto out;
    if (arb_coins_count(cs->coins) > 0)
        cs->cache_flushes++;
    arb_coins_clear(cs->coins);
    cs->tip.hash = e.hdr.prev;
    cs->tip.height = pe.height;
    cs->tip.work = pe.work;
    cs->state_root = prev_root;
out:
    arb_store_batch_free(b);
    free(undo);
    arb_block_clear(&blk);
    return err;
}

static arb_err set_status(arb_chainstate *cs, const arb_hash *hash, uint8_t bits)
{
    idx_entry e;
    arb_store_batch *b;
    arb_err err;
    if ((err = idx_get(cs, hash, &e)) != ARB_OK)
        return err;
    e.status |= bits;
    /* An invalid block's body is never needed again: only its header stays,
     * marked, so the block is refused at once if it comes back. */
    if (bits & (ST_FAILED | ST_FAILED_CHILD))
        e.status &= (uint8_t)~ST_HAVE_DATA;
    if ((err = arb_store_batch_new(&b, cs->st)) != ARB_OK)
        return err;
    idx_put(cs, b, hash, &e);
    if (bits & (ST_FAILED | ST_FAILED_CHILD))
        arb_store_batch_delete(b, cs->cf + CF_BLOCKS, hash->b, 32);
    err = arb_store_write(cs->st, b, ARB_STORE_SYNC, NULL);
    arb_store_batch_free(b);
    return err;
}

/* The best header went invalid: find the next best valid one (a scan of
 * the index; invalid blocks are rare and cost their sender real work). */
static void rescan_best_hdr(arb_chainstate *cs)
{
    arb_store_iter *it;
    cs->best_hdr = cs->tip;
    if (arb_store_iter_new(&it, cs->st, NULL, cs->cf + CF_INDEX, NULL, 0, NULL, 0, NULL) != ARB_OK)
        return;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        arb_u256 w;
        if (kl != 32 || vl != IDX_SIZE || (v[84] & (ST_FAILED | ST_FAILED_CHILD)))
            continue;
        arb_u256_from_be(&w, v + 85);
        if (arb_u256_cmp(&w, &cs->best_hdr.work) > 0) {
            memcpy(cs->best_hdr.hash.b, k, 32);
            cs->best_hdr.height = get32le(v + 80);
            cs->best_hdr.work = w;
        }
    }
    arb_store_iter_free(it);
}

/* Moves the active chain to end at `target` (which has more work). */
static arb_err activate(arb_chainstate *cs, const arb_hash *target, uint32_t target_height,
                        arb_check_result *res)
{
    arb_hash *path = NULL, *old = NULL, cur = *target, a = cs->tip.hash;
    size_t npath = 0, nold = 0;
    uint32_t h = target_height, ha = cs->tip.height;
    idx_entry e;
    arb_err err = ARB_OK;

    path = malloc(((size_t)target_height + 1) * sizeof *path);
    old = malloc(((size_t)cs->tip.height + 1) * sizeof *old);
    if (path == NULL || old == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    /* Walk both back to the fork point. */
    while (h > ha) {
        path[npath++] = cur;
        if ((err = idx_get(cs, &cur, &e)) != ARB_OK)
            goto out;
        cur = e.hdr.prev;
        h--;
    }
    while (ha > h) {
        old[nold++] = a;
        if ((err = idx_get(cs, &a, &e)) != ARB_OK)
            goto out;
        a = e.hdr.prev;
        ha--;
    }
    while (!arb_hash_eq(&a, &cur)) {
        path[npath++] = cur;
        old[nold++] = a;
        if ((err = idx_get(cs, &cur, &e)) != ARB_OK)
            goto out;
        cur = e.hdr.prev;
        if ((err = idx_get(cs, &a, &e)) != ARB_OK)
            goto out;
        a = e.hdr.prev;
    }
    /* Every block of the new branch must have its body (headers-first sync
     * stores headers before bodies): otherwise nothing moves. */
    for (size_t i = 0; i < npath; i++) {
        if ((err = idx_get(cs, &path[i], &e)) != ARB_OK)
            goto out;
        if (!(e.status & ST_HAVE_DATA) || (e.status & (ST_FAILED | ST_FAILED_CHILD))) {
            err = ARB_ERR_NOT_FOUND;
            goto out;
        }
    }
    for (size_t i = 0; i < nold; i++)
        if ((err = disconnect(cs)) != ARB_OK)
            goto out;
    for (size_t i = npath; i-- > 0;) {
        err = connect(cs, &path[i], res);
        if (err == ARB_ERR_VERIFY) {
            arb_logf(&cs->log, ARB_LOG_WARN, "block at height %lu is invalid: %s",
                     (unsigned long)(cs->tip.height + 1), res->detail.msg);
            arb_err e2 = set_status(cs, &path[i], ST_FAILED);
            for (size_t j = 0; j < i && e2 == ARB_OK; j++)
                e2 = set_status(cs, &path[j], ST_FAILED_CHILD);
            /* Back to the chain we were on. */
            for (size_t j = npath; j-- > i + 1 && e2 == ARB_OK;)
                e2 = disconnect(cs);
            for (size_t j = nold; j-- > 0 && e2 == ARB_OK;) {
                arb_check_result r2;
                e2 = connect(cs, &old[j], &r2);
            }
            if (e2 != ARB_OK)
                err = e2;
            if (e2 == ARB_OK && arb_chainstate_is_invalid(cs, &cs->best_hdr.hash))
                rescan_best_hdr(cs);
            goto out;
        }
        if (err != ARB_OK)
            goto out;
    }
out:
    free(path);
    free(old);
    return err;
}

/* 1 if every block from `hash` back to the active chain has its body (so the
 * chain ending at hash can be connected), 0 if one is missing, -1 on a
 * storage error (cs->lookup_err). */
static int linked(arb_chainstate *cs, const arb_hash *hash, uint32_t height)
{
    arb_hash cur = *hash, at;
    idx_entry e;
    for (;;) {
        if (height <= cs->tip.height && arb_chainstate_hash_at(cs, height, &at) == ARB_OK &&
            arb_hash_eq(&at, &cur))
            return 1;
        arb_err err = idx_get(cs, &cur, &e);
        if (err != ARB_OK) {
            cs->lookup_err = err;
            return -1;
        }
        if (!(e.status & ST_HAVE_DATA) || height == 0)
            return 0;
        cur = e.hdr.prev;
        height--;
    }
}

/* Checks a header against its stored parent and the header rules. On success
 * fills *e (status 0: no body yet). */
static arb_err check_new_header(arb_chainstate *cs, const arb_block_header *h, int64_t now,
                                idx_entry *e, arb_check_result *res)
{
    idx_entry parent;
    anc_ctx a;
    arb_u256 w;
    arb_err err = idx_get(cs, &h->prev, &parent);
    if (err == ARB_ERR_NOT_FOUND) {
        res->reason = "prev-blk-not-found";
        return arb_errf(&res->detail, ARB_ERR_VERIFY, "prev-blk-not-found: unknown parent");
    }
    if (err != ARB_OK)
        return err;
    if (parent.status & (ST_FAILED | ST_FAILED_CHILD)) {
        res->reason = "bad-prevblk";
        return arb_errf(&res->detail, ARB_ERR_VERIFY, "bad-prevblk: parent is invalid");
    }
    anc_init(&a, cs, &h->prev, parent.height);
    err = arb_header_check(cs->p, cs->sha, h, parent.height + 1, anc_lookup, &a, now, NULL,
                           &res->reason, &res->detail);
    free(a.v);
    if (a.err != ARB_OK)
        return a.err;
    if (err != ARB_OK)
        return err;
    e->hdr = *h;
    e->height = parent.height + 1;
    e->status = 0;
    arb_pow_work(&w, h->bits);
    arb_u256_add(&e->work, &parent.work, &w);
    return ARB_OK;
}

arb_err arb_chainstate_accept_header(arb_chainstate *cs, const arb_block_header *h, int64_t now,
                                     arb_hash *hash_out, int *is_new, arb_check_result *res)
{
    arb_hash hash;
    idx_entry e;
    arb_store_batch *b = NULL;
    arb_err err;

    memset(res, 0, sizeof *res);
    res->tx_index = res->in_index = SIZE_MAX;
    *is_new = 0;
    arb_header_hash(cs->sha, &hash, h);
    if (hash_out != NULL)
        *hash_out = hash;
    err = idx_get(cs, &hash, &e);
    if (err == ARB_OK) {
        if (e.status & (ST_FAILED | ST_FAILED_CHILD)) {
            res->reason = "duplicate-invalid";
            return arb_errf(&res->detail, ARB_ERR_VERIFY, "duplicate-invalid: known invalid block");
        }
        return ARB_OK;
    }
    if (err != ARB_ERR_NOT_FOUND)
        return err;
    if ((err = check_new_header(cs, h, now, &e, res)) != ARB_OK)
        return err;
    if ((err = arb_store_batch_new(&b, cs->st)) != ARB_OK)
        return err;
    idx_put(cs, b, &hash, &e);
    err = arb_store_write(cs->st, b, 0, NULL);
    arb_store_batch_free(b);
    if (err == ARB_OK) {
        *is_new = 1;
        note_header(cs, &hash, &e);
    }
    return err;
}

/* 1 if the block (hash, height) lies on the chain of the best header and
 * that chain has more work than the tip: its body is needed to get there. */
static int needed_for_best(arb_chainstate *cs, const arb_hash *hash, uint32_t height)
{
    arb_hash cur = cs->best_hdr.hash;
    uint32_t h = cs->best_hdr.height;
    idx_entry e;
    if (arb_u256_cmp(&cs->best_hdr.work, &cs->tip.work) <= 0 || height > h)
        return 0;
    while (h > height) {
        if (idx_get(cs, &cur, &e) != ARB_OK)
            return 0;
        cur = e.hdr.prev;
        h--;
    }
    return arb_hash_eq(&cur, hash);
}

arb_err arb_chainstate_submit(arb_chainstate *cs, const arb_block *blk, int64_t now,
                              arb_block_outcome *outcome, arb_check_result *res)
{
    return arb_chainstate_submit_ex(cs, blk, now, 1, outcome, res);
}

arb_err arb_chainstate_submit_ex(arb_chainstate *cs, const arb_block *blk, int64_t now,
                                 int requested, arb_block_outcome *outcome,
                                 arb_check_result *res)
{
    arb_hash hash;
    idx_entry e;
    arb_buf raw = ARB_BUF_INIT;
    arb_store_batch *b = NULL;
    int lk, known;
    arb_err err;

    memset(res, 0, sizeof *res);
    res->tx_index = res->in_index = SIZE_MAX;
    *outcome = 0;
    arb_header_hash(cs->sha, &hash, &blk->header);
    err = idx_get(cs, &hash, &e);
    if (err == ARB_OK && (e.status & (ST_FAILED | ST_FAILED_CHILD))) {
        res->reason = "duplicate-invalid";
        return arb_errf(&res->detail, ARB_ERR_VERIFY, "duplicate-invalid: known invalid block");
    }
    if (err == ARB_OK && (e.status & ST_HAVE_DATA)) {
        *outcome = ARB_BLOCK_DUPLICATE;
        return ARB_OK;
    }
    known = err == ARB_OK;
    if (err == ARB_ERR_NOT_FOUND)
        err = check_new_header(cs, &blk->header, now, &e, res); /* else: header checked before */
    if (err != ARB_OK)
        return err;
    /* Storage policy (Bitcoin Core's AcceptBlock): a body nobody asked for is
     * kept only if its chain has at least the tip's work or it is on the way
     * to the best header; otherwise only its (valid) header is. */
    if (!requested && arb_u256_cmp(&e.work, &cs->tip.work) < 0 &&
        !needed_for_best(cs, &hash, e.height)) {
        if ((err = arb_chain_check_block_basic(cs->p, cs->sha, blk, res)) != ARB_OK)
            return err;
        if (!known) {
            if ((err = arb_store_batch_new(&b, cs->st)) != ARB_OK)
                return err;
            idx_put(cs, b, &hash, &e);
            err = arb_store_write(cs->st, b, 0, NULL);
            arb_store_batch_free(b);
            if (err != ARB_OK)
                return err;
        }
        *outcome = ARB_BLOCK_HEADER_ONLY;
        return ARB_OK;
    }
    /* A body that does not match its (valid) header is a mutated copy: the
     * header stays valid, the body is refused. */
    if ((err = arb_chain_check_block_basic(cs->p, cs->sha, blk, res)) != ARB_OK)
        return err;
    /* Store it: index entry and data, one batch. */
    e.status |= ST_HAVE_DATA;
    arb_block_write(&raw, blk);
    if (raw.oom || arb_store_batch_new(&b, cs->st) != ARB_OK) {
        arb_buf_free(&raw);
        return ARB_ERR_NOMEM;
    }
    idx_put(cs, b, &hash, &e);
    arb_store_batch_put(b, cs->cf + CF_BLOCKS, hash.b, 32, raw.data, raw.len);
    /* Synced with the connect that follows (or by the flush policy): a body
     * a crash loses is fetched again, like any block not yet received. */
    err = cs->flush_blocks > 1 ? arb_store_write(cs->st, b, 0, NULL)
                               : arb_store_write(cs->st, b, ARB_STORE_SYNC, NULL);
    if (err == ARB_OK && cs->flush_blocks > 1)
        cs->body_unsynced = 1;
    arb_store_batch_free(b);
    arb_buf_free(&raw);
    if (err != ARB_OK)
        return err;
    note_header(cs, &hash, &e);
    if (arb_u256_cmp(&e.work, &cs->tip.work) <= 0) {
        *outcome = ARB_BLOCK_STORED;
        /* A missing body on the way to a heavier known chain may just have
         * arrived: move there if every body is now in. */
        if (arb_u256_cmp(&cs->best_hdr.work, &cs->tip.work) > 0 &&
            needed_for_best(cs, &hash, e.height)) {
            arb_hash best = cs->best_hdr.hash;
            cs->lookup_err = ARB_OK;
            lk = linked(cs, &best, cs->best_hdr.height);
            if (lk < 0)
                return cs->lookup_err;
            if (lk == 1) {
                err = activate(cs, &best, cs->best_hdr.height, res);
                if (err == ARB_OK)
                    *outcome = ARB_BLOCK_CONNECTED;
                return err;
            }
        }
        return ARB_OK;
    }
    cs->lookup_err = ARB_OK;
    lk = linked(cs, &blk->header.prev, e.height - 1);
    if (lk < 0)
        return cs->lookup_err;
    if (lk == 0) { /* an earlier body is still missing (parallel download) */
        *outcome = ARB_BLOCK_STORED;
        return ARB_OK;
    }
    cs->pending = blk;
    cs->pending_hash = hash;
    err = activate(cs, &hash, e.height, res);
    cs->pending = NULL;
    if (err != ARB_OK)
        return err;
    *outcome = ARB_BLOCK_CONNECTED;
    return ARB_OK;
}

arb_err arb_chainstate_activate_to(arb_chainstate *cs, const arb_hash *hash, arb_check_result *res)
{
    idx_entry e;
    arb_err err;
    memset(res, 0, sizeof *res);
    res->tx_index = res->in_index = SIZE_MAX;
    if ((err = idx_get(cs, hash, &e)) != ARB_OK)
        return err;
    if (arb_u256_cmp(&e.work, &cs->tip.work) <= 0)
        return ARB_OK;
    return activate(cs, hash, e.height, res);
}

arb_err arb_chainstate_header(arb_chainstate *cs, const arb_hash *hash, arb_chain_hdrinfo *out)
{
    idx_entry e;
    arb_err err = idx_get(cs, hash, &e);
    memset(out, 0, sizeof *out);
    if (err != ARB_OK)
        return err;
    out->hdr = e.hdr;
    out->height = e.height;
    out->work = e.work;
    out->have_data = (e.status & ST_HAVE_DATA) != 0;
    out->invalid = (e.status & (ST_FAILED | ST_FAILED_CHILD)) != 0;
    return ARB_OK;
}

/* ---- reading blocks ---- */

arb_err arb_chainstate_get_block(arb_chainstate *cs, const arb_hash *hash, arb_block_header *hdr,
                                 arb_block *blk, uint32_t *height, int *in_main)
{
    idx_entry e;
    arb_err err = idx_get(cs, hash, &e);
    if (err != ARB_OK)
        return err;
    if (!(e.status & ST_HAVE_DATA))
        return ARB_ERR_NOT_FOUND;
    if (height)
        *height = e.height;
    if (hdr)
        *hdr = e.hdr;
    if (in_main) {
        arb_hash at;
        *in_main = e.height <= cs->tip.height && arb_chainstate_hash_at(cs, e.height, &at) == ARB_OK &&
                   memcmp(at.b, hash->b, 32) == 0;
    }
    if (blk == NULL)
        return ARB_OK;
    arb_block_clear(blk);
    return load_block(cs, hash, blk);
}

static arb_err digest_cf(arb_chainstate *cs, unsigned cf, uint64_t *n)
{
    arb_store_iter *it;
    arb_err err = arb_store_iter_new(&it, cs->st, NULL, cs->cf + cf, NULL, 0, NULL, 0, NULL);
    if (err != ARB_OK)
        return err;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        uint8_t len[8];
        put32le(len, (uint32_t)kl);
        put32le(len + 4, (uint32_t)vl);
        arb_sha256_update(cs->sha, len, 8);
        arb_sha256_update(cs->sha, k, kl);
        arb_sha256_update(cs->sha, v, vl);
        (*n)++;
    }
    err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

arb_err arb_chainstate_utxo_digest(arb_chainstate *cs, arb_hash *out, uint64_t *count)
{
    uint64_t n = 0;
    arb_err err = cache_flush(cs, 0);
    if (err != ARB_OK)
        return err;
    arb_sha256_init(cs->sha);
    err = digest_cf(cs, CF_UTXO, &n);
    arb_sha256_final(cs->sha, out->b);
    if (count)
        *count = n;
    return err;
}

arb_err arb_chainstate_index_digest(arb_chainstate *cs, arb_hash *out, uint64_t *count)
{
    uint64_t n = 0;
    arb_err err;
    if ((err = cache_flush(cs, 0)) != ARB_OK)
        return err;
    if ((err = ix_wait(cs)) != ARB_OK)
        return err;
    arb_sha256_init(cs->sha);
    if ((err = digest_cf(cs, CF_ADDR, &n)) == ARB_OK && (err = digest_cf(cs, CF_TX, &n)) == ARB_OK)
        err = digest_cf(cs, CF_HIST, &n);
    arb_sha256_final(cs->sha, out->b);
    if (count)
        *count = n;
    return err;
}

arb_err arb_chainstate_state_digest(arb_chainstate *cs, arb_hash *out, uint64_t *count)
{
    uint64_t n = 0;
    arb_err err;
    arb_sha256_init(cs->sha);
    if ((err = digest_cf(cs, CF_STATE, &n)) == ARB_OK && (err = digest_cf(cs, CF_SHIST, &n)) == ARB_OK)
        err = digest_cf(cs, CF_SIDX, &n);
    arb_sha256_final(cs->sha, out->b);
    if (count)
        *count = n;
    return err;
}

arb_err arb_chainstate_find_tx(arb_chainstate *cs, const arb_hash *txid, uint32_t *height,
                               uint32_t *index)
{
    uint8_t v[8];
    size_t n;
    arb_err err = ix_wait(cs);
    if (err != ARB_OK)
        return err;
    err = arb_store_get_into(cs->st, NULL, cs->cf + CF_TX, txid->b, 32, v, sizeof v, &n, NULL);
    if (err != ARB_OK)
        return err;
    if (n != 8)
        return ARB_ERR_PARSE;
    *height = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    *index = (uint32_t)v[4] << 24 | (uint32_t)v[5] << 16 | (uint32_t)v[6] << 8 | v[7];
    return ARB_OK;
}

arb_err arb_chainstate_addr_history(arb_chainstate *cs, const uint8_t key32[static 32],
                                    arb_chain_hist_fn fn, void *ud)
{
    arb_store_iter *it;
    arb_err err = ix_wait(cs);
    if (err != ARB_OK)
        return err;
    err = arb_store_iter_new_prefix(&it, cs->st, NULL, cs->cf + CF_HIST, key32, 32, NULL);
    if (err != ARB_OK)
        return err;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        arb_hash txid;
        if (kl != 40 || vl != 48) {
            arb_store_iter_free(it);
            return ARB_ERR_PARSE;
        }
        memcpy(txid.b, v, 32);
        uint32_t h = (uint32_t)k[32] << 24 | (uint32_t)k[33] << 16 | (uint32_t)k[34] << 8 | k[35];
        if (fn(ud, &txid, h, get64le(v + 32), get64le(v + 40)))
            break;
    }
    err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

/* ---- the committed state: reads ---- */

arb_err arb_chainstate_state_root(arb_chainstate *cs, uint32_t height, arb_hash *out)
{
    arb_hash h;
    size_t n;
    arb_err err;
    memset(out, 0, sizeof *out);
    if (height > cs->tip.height)
        return ARB_ERR_NOT_FOUND;
    if (height == cs->tip.height) {
        *out = cs->state_root;
        return ARB_OK;
    }
    if ((err = arb_chainstate_hash_at(cs, height, &h)) != ARB_OK)
        return err;
    err = arb_store_get_into(cs->st, NULL, cs->cf + CF_SROOT, h.b, 32, out->b, 32, &n, NULL);
    if (err == ARB_ERR_NOT_FOUND && height == 0) {
        arb_smt_empty(out);
        return ARB_OK;
    }
    if (err == ARB_OK && n != 32)
        err = ARB_ERR_PARSE;
    if (err != ARB_OK)
        memset(out, 0, sizeof *out);
    return err;
}

int arb_chainstate_zonefile_onchain(arb_chainstate *cs, const uint8_t hash32[static 32])
{
    uint32_t c = 0;
    return zf_count_get(cs, hash32, &c) == ARB_OK && c > 0;
}

arb_err arb_chainstate_zonefile_each_after(arb_chainstate *cs, const uint8_t *after32,
                                           int (*fn)(void *ud, const uint8_t hash32[32]),
                                           void *ud)
{
    arb_store_iter *it;
    uint8_t pre = 'z', seek[34];
    arb_err err = arb_store_iter_new_prefix(&it, cs->st, NULL, cs->cf + CF_SIDX, &pre, 1, NULL);
    if (err != ARB_OK)
        return err;
    if (after32 != NULL) {
        seek[0] = 'z';
        memcpy(seek + 1, after32, 32);
        seek[33] = 0; /* the first key after `after32` */
        arb_store_iter_seek(it, seek, 34);
    } else {
        arb_store_iter_first(it);
    }
    for (; arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl;
        const uint8_t *k = arb_store_iter_key(it, &kl);
        if (kl != 33)
            continue;
        if (fn(ud, k + 1))
            break;
    }
    err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

arb_err arb_chainstate_zonefile_each(arb_chainstate *cs,
                                     int (*fn)(void *ud, const uint8_t hash32[32]), void *ud)
{
    return arb_chainstate_zonefile_each_after(cs, NULL, fn, ud);
}

arb_err arb_chainstate_state_get(arb_chainstate *cs, uint8_t kind, const uint8_t key32[static 32],
                                 uint8_t out[ARB_SREC_MAX], size_t *len)
{
    return sview_base(cs, kind, key32, out, len);
}

arb_err arb_chainstate_state_prove(arb_chainstate *cs, uint8_t kind, const uint8_t key32[static 32],
                                   arb_buf *out, arb_hash *root, uint8_t tree_key32[32])
{
    smt_ctx c = {cs, NULL, NULL};
    arb_smt_store st;
    arb_smt_proof *pf;
    arb_hash vh;
    arb_err err;
    if (!arb_sview_tree_entry(cs->sha, kind, key32, NULL, 0, tree_key32, &vh))
        return ARB_ERR_INVALID_ARG;
    *root = cs->state_root;
    if ((pf = malloc(sizeof *pf)) == NULL)
        return ARB_ERR_NOMEM;
    if ((err = arb_smt_mem_new(&c.mem)) == ARB_OK) {
        smt_store_of(&c, &st);
        err = arb_smt_prove(&st, root, tree_key32, pf);
        if (err == ARB_OK) {
            arb_smt_proof_encode(out, pf);
            if (out->oom)
                err = ARB_ERR_NOMEM;
        }
    }
    arb_smt_mem_free(c.mem);
    free(pf);
    return err;
}

arb_err arb_chainstate_state_history(arb_chainstate *cs, uint8_t kind,
                                     const uint8_t key32[static 32], arb_chain_shist_fn fn,
                                     void *ud)
{
    arb_store_iter *it;
    uint8_t pre[33];
    pre[0] = kind;
    memcpy(pre + 1, key32, 32);
    arb_err err = arb_store_iter_new_prefix(&it, cs->st, NULL, cs->cf + CF_SHIST, pre, 33, NULL);
    if (err != ARB_OK)
        return err;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        arb_hash txid, block;
        if (kl != 41 || vl < 65) {
            err = ARB_ERR_PARSE;
            break;
        }
        memcpy(txid.b, v, 32);
        memcpy(block.b, v + 33, 32);
        uint32_t h = (uint32_t)k[33] << 24 | (uint32_t)k[34] << 16 | (uint32_t)k[35] << 8 | k[36];
        uint32_t t = (uint32_t)k[37] << 24 | (uint32_t)k[38] << 16 | (uint32_t)k[39] << 8 | k[40];
        if (fn(ud, h, t, &txid, v[32], &block, vl > 65 ? v + 65 : NULL, vl - 65))
            break;
    }
    if (err == ARB_OK)
        err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

arb_err arb_chainstate_state_history_last(arb_chainstate *cs, uint8_t kind,
                                          const uint8_t key32[static 32], arb_chain_shist_fn fn,
                                          void *ud)
{
    arb_store_iter *it;
    uint8_t pre[33];
    pre[0] = kind;
    memcpy(pre + 1, key32, 32);
    arb_err err = arb_store_iter_new_prefix(&it, cs->st, NULL, cs->cf + CF_SHIST, pre, 33, NULL);
    if (err != ARB_OK)
        return err;
    arb_store_iter_last(it);
    if (arb_store_iter_valid(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        arb_hash txid, block;
        if (kl != 41 || vl < 65) {
            err = ARB_ERR_PARSE;
        } else {
            memcpy(txid.b, v, 32);
            memcpy(block.b, v + 33, 32);
            uint32_t h = (uint32_t)k[33] << 24 | (uint32_t)k[34] << 16 | (uint32_t)k[35] << 8 | k[36];
            uint32_t t = (uint32_t)k[37] << 24 | (uint32_t)k[38] << 16 | (uint32_t)k[39] << 8 | k[40];
            (void)fn(ud, h, t, &txid, v[32], &block, vl > 65 ? v + 65 : NULL, vl - 65);
        }
    }
    if (err == ARB_OK)
        err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

arb_err arb_chainstate_state_each(arb_chainstate *cs, uint8_t kind, const uint8_t *after32,
                                  arb_chain_srec_fn fn, void *ud)
{
    arb_store_iter *it;
    uint8_t seek[34];
    arb_err err = arb_store_iter_new_prefix(&it, cs->st, NULL, cs->cf + CF_STATE, &kind, 1, NULL);
    if (err != ARB_OK)
        return err;
    if (after32 != NULL) {
        seek[0] = kind;
        memcpy(seek + 1, after32, 32);
        seek[33] = 0;
        arb_store_iter_seek(it, seek, 34);
    } else {
        arb_store_iter_first(it);
    }
    for (; arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        if (kl != 33)
            continue;
        if (fn(ud, k + 1, v, vl))
            break;
    }
    err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

arb_err arb_chainstate_names_by_owner(arb_chainstate *cs, const uint8_t owner32[static 32],
                                      arb_chain_srec_fn fn, void *ud)
{
    arb_store_iter *it;
    uint8_t pre[33];
    pre[0] = 'o';
    memcpy(pre + 1, owner32, 32);
    arb_err err = arb_store_iter_new_prefix(&it, cs->st, NULL, cs->cf + CF_SIDX, pre, 33, NULL);
    if (err != ARB_OK)
        return err;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl;
        const uint8_t *k = arb_store_iter_key(it, &kl);
        uint8_t rec[ARB_SREC_MAX];
        size_t len;
        if (kl != 65)
            continue;
        arb_err e2 = sview_base(cs, ARB_SREC_NAME, k + 33, rec, &len);
        if (e2 == ARB_ERR_NOT_FOUND)
            continue;
        if (e2 != ARB_OK) {
            err = e2;
            break;
        }
        if (fn(ud, k + 33, rec, len))
            break;
    }
    if (err == ARB_OK)
        err = arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

arb_err arb_chainstate_state_preview(arb_chainstate *cs, const arb_tx *const *txs, size_t n,
                                     const uint8_t *const *senders, uint8_t *ok,
                                     const char **reasons, arb_hash *root)
{
    arb_sview *v = NULL;
    arb_hash *ids = NULL;
    uint32_t height = cs->tip.height + 1;
    arb_err err;

    if (root != NULL)
        *root = cs->state_root;
    if ((err = arb_sview_new(&v, cs->np, sview_base, cs)) != ARB_OK)
        return err;
    for (size_t i = 0; i < n; i++) {
        const arb_tx *tx = txs[i];
        uint8_t sender[32];
        const char *reason = NULL;
        ok[i] = 1;
        if (reasons != NULL)
            reasons[i] = NULL;
        if (tx->payload_type == 0)
            continue;
        if (senders != NULL && senders[i] != NULL) {
            memcpy(sender, senders[i], 32);
        } else {
            int found = 0;
            if (ids == NULL) {
                if ((ids = malloc((n ? n : 1) * sizeof *ids)) == NULL) {
                    err = ARB_ERR_NOMEM;
                    goto out;
                }
                for (size_t j = 0; j < n; j++)
                    if ((err = arb_tx_txid(cs->sha, &ids[j], txs[j])) != ARB_OK)
                        goto out;
            }
            for (size_t j = 0; j < i && !found; j++) {
                if (arb_hash_eq(&ids[j], &tx->in[0].txid) && tx->in[0].index < txs[j]->n_out) {
                    memcpy(sender, txs[j]->out[tx->in[0].index].key, 32);
                    found = 1;
                }
            }
            if (!found) {
                arb_coin coin;
                cs->lookup_err = ARB_OK;
                if (arb_chainstate_utxo_lookup(cs, &tx->in[0], &coin)) {
                    memcpy(sender, coin.key, 32);
                    found = 1;
                } else if (cs->lookup_err != ARB_OK) {
                    err = cs->lookup_err;
                    goto out;
                }
            }
            if (!found) {
                ok[i] = 0;
                if (reasons != NULL)
                    reasons[i] = "bad-txns-inputs-missingorspent";
                continue;
            }
        }
        err = arb_sview_apply(v, cs->sha, tx, (uint32_t)(i + 1), sender, height, &reason);
        if (err == ARB_ERR_VERIFY) {
            ok[i] = 0;
            if (reasons != NULL)
                reasons[i] = reason;
            err = ARB_OK;
            continue;
        }
        if (err != ARB_OK)
            goto out;
    }
    if (root != NULL)
        err = view_root(cs, v, &cs->state_root, NULL, root);
out:
    free(ids);
    arb_sview_free(v);
    return err;
}
