#include "ledger/chain/consensus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"
#include "ledger/names/nameop.h"

static arb_err fail(arb_check_result *res, const char *reason, size_t tx, size_t in,
                    const char *what)
{
    res->reason = reason;
    res->tx_index = tx;
    res->in_index = in;
    if (tx != SIZE_MAX && in != SIZE_MAX)
        return arb_errf(&res->detail, ARB_ERR_VERIFY, "%s: tx %zu input %zu: %s", reason, tx, in,
                        what);
    if (tx != SIZE_MAX)
        return arb_errf(&res->detail, ARB_ERR_VERIFY, "%s: tx %zu: %s", reason, tx, what);
    return arb_errf(&res->detail, ARB_ERR_VERIFY, "%s: %s", reason, what);
}

static void res_init(arb_check_result *res)
{
    memset(res, 0, sizeof *res);
    res->tx_index = SIZE_MAX;
    res->in_index = SIZE_MAX;
}

static int outpoint_eq(const arb_outpoint *a, const arb_outpoint *b)
{
    return a->index == b->index && memcmp(a->txid.b, b->txid.b, 32) == 0;
}

static int cmp_outpoint(const void *x, const void *y)
{
    const arb_outpoint *a = x, *b = y;
    int c = memcmp(a->txid.b, b->txid.b, 32);
    if (c != 0)
        return c;
    return (a->index > b->index) - (a->index < b->index);
}

/* Payload rules of one transaction (is_cb: it is the block's coinbase). Each
 * type is bounded by its own strict decoder: names by arb_nameop_decode,
 * anchors by ARB_ANCHOR_PAYLOAD_MAX and arb_anchor_decode, the state root by
 * its exact size. */
static arb_err check_payload(const arb_tx *tx, int is_cb, size_t tx_i, arb_check_result *res)
{
    arb_errbuf eb;
    if (tx->payload_type == 0) {
        if (tx->payload_len != 0)
            return fail(res, "bad-txns-payload-parse", tx_i, SIZE_MAX,
                        "payload bytes without a payload type");
        return ARB_OK;
    }
    if (tx->payload_type == ARB_PAYLOAD_STATE_ROOT) {
        if (!is_cb)
            return fail(res, "bad-txns-payload-type", tx_i, SIZE_MAX,
                        "a state root outside the coinbase");
        if (tx->payload_len != ARB_STATE_ROOT_SIZE)
            return fail(res, "bad-txns-payload-parse", tx_i, SIZE_MAX,
                        "a state root is exactly 32 bytes");
        return ARB_OK;
    }
    if (is_cb)
        return fail(res, "bad-txns-payload-type", tx_i, SIZE_MAX,
                    "a coinbase carries no payload but the state root");
    if (arb_nameop_type_known(tx->payload_type)) {
        arb_nameop op;
        if (arb_nameop_decode(&op, tx->payload_type, tx->payload, tx->payload_len, &eb) != ARB_OK)
            return fail(res, "bad-txns-payload-parse", tx_i, SIZE_MAX, eb.msg);
        return ARB_OK;
    }
    if (tx->payload_type == ARB_PAYLOAD_LOG_ANCHOR) {
        arb_anchor *a;
        arb_err err;
        if (tx->payload_len > ARB_ANCHOR_PAYLOAD_MAX)
            return fail(res, "bad-txns-payload-parse", tx_i, SIZE_MAX, "anchor payload too long");
        if ((a = malloc(sizeof *a)) == NULL)
            return ARB_ERR_NOMEM;
        err = arb_anchor_decode(a, tx->payload, tx->payload_len, &eb);
        free(a);
        if (err != ARB_OK)
            return fail(res, "bad-txns-payload-parse", tx_i, SIZE_MAX, eb.msg);
        return ARB_OK;
    }
    return fail(res, "bad-txns-payload-type", tx_i, SIZE_MAX, "unknown payload type");
}

uint64_t arb_chain_tx_burn(const arb_tx *tx)
{
    arb_nameop op;
    arb_errbuf eb;
    if (!arb_nameop_type_known(tx->payload_type) ||
        arb_nameop_decode(&op, tx->payload_type, tx->payload, tx->payload_len, &eb) != ARB_OK)
        return 0;
    return arb_nameop_burn(&op);
}

int arb_chain_coinbase_root(const arb_tx *cb, arb_hash *out)
{
    if (cb->payload_type != ARB_PAYLOAD_STATE_ROOT || cb->payload_len != ARB_STATE_ROOT_SIZE) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    memcpy(out->b, cb->payload, 32);
    return 1;
}

/* Context-free rules; tx_i is only used for messages. */
static arb_err check_tx(const arb_tx *tx, int coinbase_ok, size_t tx_i, arb_check_result *res)
{
    uint64_t total = 0;
    static const arb_hash zero;

    if (tx->n_in == 0)
        return fail(res, "bad-txns-vin-empty", tx_i, SIZE_MAX, "no inputs");
    if (tx->n_out == 0)
        return fail(res, "bad-txns-vout-empty", tx_i, SIZE_MAX, "no outputs");
    if (tx->n_in > ARB_TX_MAX_INPUTS || tx->n_out > ARB_TX_MAX_OUTPUTS ||
        arb_tx_size(tx) > ARB_BLOCK_MAX_SIZE)
        return fail(res, "bad-txns-oversize", tx_i, SIZE_MAX, "too large");
    for (size_t i = 0; i < tx->n_out; i++) {
        if (tx->out[i].amount > ARB_MAX_MONEY)
            return fail(res, "bad-txns-vout-toolarge", tx_i, SIZE_MAX,
                        "output amount above the money supply");
        total += tx->out[i].amount;
        if (total > ARB_MAX_MONEY)
            return fail(res, "bad-txns-txouttotal-toolarge", tx_i, SIZE_MAX,
                        "outputs add up to more than the money supply");
    }
    if (arb_tx_is_coinbase(tx) && !coinbase_ok)
        return fail(res, "bad-cb-multiple", tx_i, SIZE_MAX,
                    "coinbase-shaped transaction after the first");
    {
        arb_err err = check_payload(tx, arb_tx_is_coinbase(tx), tx_i, res);
        if (err != ARB_OK)
            return err;
    }
    if (arb_tx_is_coinbase(tx))
        return ARB_OK;
    for (size_t i = 0; i < tx->n_in; i++)
        if (memcmp(tx->in[i].txid.b, zero.b, 32) == 0)
            return fail(res, "bad-txns-prevout-null", tx_i, i, "null previous output");
    if (tx->n_in > 1) {
        /* Sorting a copy finds duplicates in n log n for large inputs. */
        arb_outpoint *ops = malloc(tx->n_in * sizeof *ops);
        size_t dup = SIZE_MAX;
        if (ops == NULL)
            return ARB_ERR_NOMEM;
        memcpy(ops, tx->in, tx->n_in * sizeof *ops);
        qsort(ops, tx->n_in, sizeof *ops, cmp_outpoint);
        for (size_t i = 1; i < tx->n_in && dup == SIZE_MAX; i++)
            if (outpoint_eq(&ops[i - 1], &ops[i]))
                dup = i;
        free(ops);
        if (dup != SIZE_MAX)
            return fail(res, "bad-txns-inputs-duplicate", tx_i, SIZE_MAX,
                        "an output is spent twice");
    }
    return ARB_OK;
}

arb_err arb_chain_check_tx(const arb_tx *tx, int coinbase_ok, arb_check_result *res)
{
    res_init(res);
    return check_tx(tx, coinbase_ok, SIZE_MAX, res);
}

static int cmp_hash(const void *x, const void *y)
{
    return memcmp(x, y, 32);
}

/* The context-free block rules; ids (n_tx entries) receives every txid,
 * computed once here for the duplicate check and reused by the caller. */
static arb_err check_basic(arb_sha256 *sha, const arb_block *b, arb_hash *ids,
                           arb_check_result *res)
{
    arb_hash root, *sorted;
    arb_err err;
    size_t dup = SIZE_MAX;

    res_init(res);
    if (b->n_tx == 0 || b->n_tx > ARB_BLOCK_MAX_TXS || arb_block_size(b) > ARB_BLOCK_MAX_SIZE)
        return fail(res, "bad-blk-length", SIZE_MAX, SIZE_MAX,
                    "no transactions, or over the size limit");
    if ((err = arb_block_merkle_root(sha, &root, b->tx, b->n_tx)) != ARB_OK)
        return err;
    if (!arb_hash_eq(&root, &b->header.merkle_root))
        return fail(res, "bad-txnmrklroot", SIZE_MAX, SIZE_MAX, "merkle root mismatch");
    if (b->tx[0].n_in == 0 || !arb_tx_is_coinbase(&b->tx[0]))
        return fail(res, "bad-cb-missing", 0, SIZE_MAX, "first transaction is not a coinbase");
    for (size_t i = 0; i < b->n_tx; i++)
        if ((err = check_tx(&b->tx[i], i == 0, i, res)) != ARB_OK)
            return err;
    for (size_t i = 0; i < b->n_tx; i++)
        if ((err = arb_tx_txid(sha, &ids[i], &b->tx[i])) != ARB_OK)
            return err;
    sorted = malloc(b->n_tx * sizeof *sorted);
    if (sorted == NULL)
        return ARB_ERR_NOMEM;
    memcpy(sorted, ids, b->n_tx * sizeof *sorted);
    qsort(sorted, b->n_tx, sizeof *sorted, cmp_hash);
    for (size_t i = 1; i < b->n_tx && dup == SIZE_MAX; i++)
        if (memcmp(sorted[i - 1].b, sorted[i].b, 32) == 0)
            dup = i;
    free(sorted);
    if (dup != SIZE_MAX)
        return fail(res, "bad-txns-duplicate", SIZE_MAX, SIZE_MAX, "duplicate transaction");
    return ARB_OK;
}

arb_err arb_chain_check_block_basic(const arb_chain_params *p, arb_sha256 *sha,
                                    const arb_block *b, arb_check_result *res)
{
    arb_hash *ids;
    arb_err err;

    (void)p;
    res_init(res);
    if (b->n_tx == 0 || b->n_tx > ARB_BLOCK_MAX_TXS)
        return check_basic(sha, b, NULL, res); /* fails on the count before using ids */
    if ((ids = malloc(b->n_tx * sizeof *ids)) == NULL)
        return ARB_ERR_NOMEM;
    err = check_basic(sha, b, ids, res);
    free(ids);
    return err;
}

/* ---- signature verification on worker threads ---- */

/* The jobs are taken in chunks from a shared counter by every thread that
 * runs pool_run (the workers, and the calling thread once it has nothing
 * else to do), so the work spreads evenly however busy each thread is. The
 * result is the smallest failing index, as a serial loop would find: a chunk
 * is skipped only when a failure before its start is already known.
 *
 * The jobs may also be streamed: the calling thread starts the workers
 * before it has made every job and publishes them as it goes (pool_publish,
 * then pool_close with the total); a worker whose chunk is not there yet
 * waits for it. Everything below `ready` is written before `ready` moves
 * (sequentially consistent atomics), and workers read nothing above it. */
#define SIG_CHUNK 16
#define MAX_SIG_THREADS 64

typedef struct {
    const arb_schnorr *s;
    const arb_sig_job *jobs;
    atomic_size_t next;
    atomic_size_t first_bad;
    atomic_size_t ready; /* jobs[0 .. ready) may be verified */
    atomic_int done;     /* ready is the total */
    atomic_int cancel;   /* stop: the result is not wanted */
    pthread_mutex_t mu;  /* with cv: waiting for jobs */
    pthread_cond_t cv;
    pthread_t tid[MAX_SIG_THREADS];
    int started[MAX_SIG_THREADS];
    unsigned nthreads;
} sig_pool;

static void pool_run(sig_pool *p)
{
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, SIG_CHUNK), total, end;
        if (atomic_load(&p->ready) < i + SIG_CHUNK && !atomic_load(&p->done)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->ready) < i + SIG_CHUNK && !atomic_load(&p->done))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->cancel))
            return;
        total = atomic_load(&p->done) ? atomic_load(&p->ready) : i + SIG_CHUNK;
        if (i >= total)
            return;
        end = total - i < SIG_CHUNK ? total : i + SIG_CHUNK;
        if (i > atomic_load(&p->first_bad))
            continue;
        for (; i < end; i++) {
            const arb_sig_job *j = &p->jobs[i];
            if (!arb_schnorr_verify(p->s, j->sig, j->msg, 32, j->key)) {
                size_t cur = atomic_load(&p->first_bad);
                while (i < cur && !atomic_compare_exchange_weak(&p->first_bad, &cur, i))
                    ;
                break;
            }
        }
    }
}

static void *pool_worker(void *arg)
{
    pool_run(arg);
    return NULL;
}

/* Starts `workers` threads on the jobs: jobs[0 .. n) when stream is 0,
 * otherwise those published later. No thread (workers 0, or a thread that
 * cannot be started) is fine: pool_finish does the rest. */
static void pool_start(sig_pool *p, const arb_schnorr *s, const arb_sig_job *jobs, size_t n,
                       int stream, unsigned workers)
{
    p->s = s;
    p->jobs = jobs;
    atomic_init(&p->next, 0);
    atomic_init(&p->first_bad, SIZE_MAX);
    atomic_init(&p->ready, stream ? 0 : n);
    atomic_init(&p->done, !stream);
    atomic_init(&p->cancel, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (workers > MAX_SIG_THREADS)
        workers = MAX_SIG_THREADS;
    if (!stream && (size_t)workers > (n + SIG_CHUNK - 1) / SIG_CHUNK)
        workers = (unsigned)((n + SIG_CHUNK - 1) / SIG_CHUNK);
    p->nthreads = workers;
    for (unsigned t = 0; t < workers; t++)
        p->started[t] = pthread_create(&p->tid[t], NULL, pool_worker, p) == 0;
}

/* Streaming: jobs[0 .. ready) are written (ready never decreases); done:
 * there will be no more. Wakes the waiting workers when a chunk is
 * complete or at the end. */
static void pool_publish(sig_pool *p, size_t ready, int done)
{
    size_t before = atomic_load(&p->ready);
    atomic_store(&p->ready, ready);
    if (done)
        atomic_store(&p->done, 1);
    if (done || ready / SIG_CHUNK != before / SIG_CHUNK) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Waits for the workers (joining in first unless cancel) and frees what
 * pool_start made. Returns the first failing index or SIZE_MAX. */
static size_t pool_finish(sig_pool *p, int cancel)
{
    if (cancel) {
        atomic_store(&p->cancel, 1);
        pool_publish(p, atomic_load(&p->ready), 1);
    } else {
        pool_run(p);
    }
    for (unsigned t = 0; t < p->nthreads; t++)
        if (p->started[t])
            pthread_join(p->tid[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    return atomic_load(&p->first_bad);
}

size_t arb_chain_verify_sigs(const arb_schnorr *s, const arb_sig_job *jobs, size_t n,
                             unsigned threads)
{
    sig_pool *p = malloc(sizeof *p);
    size_t first = SIZE_MAX;

    if (threads < 1)
        threads = 1;
    if (p == NULL) { /* verify serially rather than fail */
        for (size_t i = 0; i < n && first == SIZE_MAX; i++)
            if (!arb_schnorr_verify(s, jobs[i].sig, jobs[i].msg, 32, jobs[i].key))
                first = i;
        return first;
    }
    /* threads - 1 workers; the calling thread is the last one. */
    pool_start(p, s, jobs, n, 0, threads - 1);
    first = pool_finish(p, 0);
    free(p);
    return first;
}

/* ---- the block's view of the UTXO set ---- */

/* Open-addressing table of outpoints touched by the block: outputs created by
 * its transactions and outputs it spends from the base state. */
typedef struct {
    arb_outpoint op;
    arb_coin coin;
    uint8_t used, spent;
} view_entry;

typedef struct {
    view_entry *e;
    size_t mask;
    arb_utxo_lookup_fn base;
    void *base_ud;
} view;

static int view_init(view *v, size_t want, arb_utxo_lookup_fn base, void *ud)
{
    size_t cap = 16;
    while (cap < 2 * want)
        cap *= 2;
    v->e = calloc(cap, sizeof *v->e);
    v->mask = cap - 1;
    v->base = base;
    v->base_ud = ud;
    return v->e != NULL;
}

static view_entry *view_slot(view *v, const arb_outpoint *op)
{
    uint64_t h;
    memcpy(&h, op->txid.b, 8);
    h ^= op->index * 0x9e3779b97f4a7c15ULL;
    for (size_t i = (size_t)h & v->mask;; i = (i + 1) & v->mask) {
        if (!v->e[i].used || outpoint_eq(&v->e[i].op, op))
            return &v->e[i];
    }
}

/* Spends op: returns 1 with the coin from the base state, 2 with a coin an
 * earlier transaction of the block created, or 0 when missing or already
 * spent. */
static int view_spend(view *v, const arb_outpoint *op, arb_coin *coin)
{
    view_entry *e = view_slot(v, op);
    if (e->used) {
        if (e->spent)
            return 0;
        e->spent = 1;
        *coin = e->coin;
        return 2;
    }
    if (!v->base(v->base_ud, op, coin))
        return 0;
    e->used = 1;
    e->spent = 1;
    e->op = *op;
    e->coin = *coin;
    return 1;
}

static void view_add(view *v, const arb_outpoint *op, const arb_coin *coin)
{
    view_entry *e = view_slot(v, op);
    if (e->used)
        return; /* a duplicate txid; check_block_basic rejects those first */
    e->used = 1;
    e->spent = 0;
    e->op = *op;
    e->coin = *coin;
}

static int tx_final(const arb_tx *tx, uint32_t height, int64_t mtp)
{
    /* Bitcoin IsFinalTx without sequence numbers: a lock time is a height
     * (< 500,000,000) or a time; it must lie strictly before the block. */
    if (tx->lock_time == 0)
        return 1;
    if (tx->lock_time < ARB_LOCKTIME_THRESHOLD)
        return (int64_t)tx->lock_time < (int64_t)height;
    return (int64_t)tx->lock_time < mtp;
}

/* Inputs, maturity, amounts of one non-coinbase transaction; queues its
 * signature jobs into jobs[*nj...]; records each spent coin in
 * bv->spent[bv->n_spent...] when bv is not NULL. */
static arb_err spend_inputs(const arb_chain_params *p, arb_sha256 *sha, const arb_hash *net,
                            const arb_tx *tx, size_t tx_i, uint32_t height, view *v,
                            arb_sig_job *jobs, size_t *nj, uint64_t *fee, arb_block_view *bv,
                            arb_check_result *res)
{
    arb_txout *spent;
    arb_sighash_cache cache;
    uint64_t in_total = 0, out_total = 0;
    arb_err err = ARB_OK;

    spent = malloc(tx->n_in * sizeof *spent);
    if (spent == NULL)
        return ARB_ERR_NOMEM;
    for (size_t i = 0; i < tx->n_in; i++) {
        arb_coin coin;
        int got = view_spend(v, &tx->in[i], &coin);
        if (!got) {
            err = fail(res, "bad-txns-inputs-missingorspent", tx_i, i,
                       "input missing or already spent");
            goto out;
        }
        if (bv != NULL) {
            bv->spent[bv->n_spent] = coin;
            bv->in_block[bv->n_spent++] = got == 2;
        }
        if (coin.coinbase &&
            (coin.height > height || height - coin.height < p->coinbase_maturity)) {
            err = fail(res, "bad-txns-premature-spend-of-coinbase", tx_i, i,
                       "coinbase output spent before maturity");
            goto out;
        }
        if (coin.amount > ARB_MAX_MONEY || in_total + coin.amount > ARB_MAX_MONEY) {
            err = fail(res, "bad-txns-inputvalues-outofrange", tx_i, i,
                       "input values out of range");
            goto out;
        }
        in_total += coin.amount;
        spent[i].amount = coin.amount;
        memcpy(spent[i].key, coin.key, ARB_KEY_SIZE);
    }
    for (size_t i = 0; i < tx->n_out; i++)
        out_total += tx->out[i].amount; /* bounded by check_tx */
    if (in_total < out_total) {
        err = fail(res, "bad-txns-in-belowout", tx_i, SIZE_MAX, "outputs exceed inputs");
        goto out;
    }
    {
        uint64_t burn = arb_chain_tx_burn(tx);
        if (in_total - out_total < burn) {
            err = fail(res, "bad-txns-burn-toolarge", tx_i, SIZE_MAX,
                       "inputs minus outputs do not cover the burn");
            goto out;
        }
        /* Burned coins leave circulation: they are not a fee. */
        *fee = in_total - out_total - burn;
    }
    if (jobs == NULL) /* signatures not checked: no messages to hash */
        goto out;
    if ((err = arb_tx_sighash_prepare(sha, &cache, tx, spent)) != ARB_OK)
        goto out;
    for (size_t i = 0; i < tx->n_in; i++) {
        arb_sig_job *j = &jobs[(*nj)++];
        arb_tx_sighash(sha, j->msg, net, &cache, (uint32_t)i);
        memcpy(j->sig, tx->sig[i], 64);
        memcpy(j->key, spent[i].key, 32);
    }
out:
    free(spent);
    return err;
}

/* Which (tx, input) a signature job belongs to, for the message. */
static void locate_job(const arb_block *b, size_t first_tx, size_t job, size_t *tx_i, size_t *in_i)
{
    for (size_t t = first_tx; t < b->n_tx; t++) {
        if (job < b->tx[t].n_in) {
            *tx_i = t;
            *in_i = job;
            return;
        }
        job -= b->tx[t].n_in;
    }
    *tx_i = SIZE_MAX;
    *in_i = SIZE_MAX;
}

/* The state-dependent rules for transactions [first, n_tx) of b. txids: the
 * transactions' ids (NULL: computed here). bv (may be NULL) receives the
 * spent coins; build (may be NULL) runs on the calling thread while the
 * signatures are verified on c->threads worker threads. */
static arb_err check_with_state(const arb_chain_params *p, const arb_chain_checker *c,
                                const arb_block *b, size_t first, uint32_t height, int64_t mtp,
                                arb_utxo_lookup_fn lookup, void *ud, int check_sigs,
                                const arb_hash *txids, arb_block_view *bv,
                                arb_block_build_fn build, void *build_ud, arb_check_result *res)
{
    view v;
    sig_pool *pool = NULL;
    int pool_live = 0;
    arb_sig_job *jobs = NULL;
    size_t n_inputs = 0, n_outputs = 0, nj = 0, bad;
    uint64_t fees = 0;
    arb_hash net;
    arb_err err = ARB_OK;

    arb_chain_network_id(p, &net);
    for (size_t t = 0; t < b->n_tx; t++) {
        n_inputs += b->tx[t].n_in;
        n_outputs += b->tx[t].n_out;
    }
    if (!view_init(&v, n_inputs + n_outputs, lookup, ud))
        return ARB_ERR_NOMEM;
    jobs = malloc((n_inputs ? n_inputs : 1) * sizeof *jobs);
    if (jobs == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    /* With a build step (the chain state's connect), the signature workers
     * start now and verify each transaction's signatures as soon as its
     * inputs are checked and its messages hashed. */
    if (build != NULL && check_sigs) {
        if ((pool = malloc(sizeof *pool)) == NULL) {
            err = ARB_ERR_NOMEM;
            goto out;
        }
        pool_start(pool, c->schnorr, jobs, 0, 1, c->threads < 1 ? 1 : c->threads);
        pool_live = 1;
    }
    for (size_t t = 0; t < b->n_tx; t++) {
        const arb_tx *tx = &b->tx[t];
        arb_hash txid;
        if (!tx_final(tx, height, mtp)) {
            err = fail(res, "bad-txns-nonfinal", t, SIZE_MAX, "lock time not reached");
            goto out;
        }
        if (t >= first) {
            uint64_t fee = 0;
            if ((err = spend_inputs(p, c->sha, &net, tx, t, height, &v, check_sigs ? jobs : NULL,
                                    &nj, &fee, bv, res)) != ARB_OK)
                goto out;
            if (pool_live)
                pool_publish(pool, nj, 0);
            fees += fee; /* each fee <= ARB_MAX_MONEY, the sum checked below */
            if (fees > ARB_MAX_MONEY) {
                err = fail(res, "bad-txns-fee-outofrange", t, SIZE_MAX, "fees out of range");
                goto out;
            }
        }
        /* Its outputs are spendable by later transactions of the block. */
        if (txids != NULL)
            txid = txids[t];
        else if ((err = arb_tx_txid(c->sha, &txid, tx)) != ARB_OK)
            goto out;
        for (size_t o = 0; o < tx->n_out; o++) {
            arb_outpoint op = {txid, (uint32_t)o};
            arb_coin coin = {tx->out[o].amount, {0}, height, t == 0 && first == 1};
            memcpy(coin.key, tx->out[o].key, ARB_KEY_SIZE);
            view_add(&v, &op, &coin);
        }
    }
    if (first == 1) {
        uint64_t cb_total = 0, allowed = arb_chain_subsidy(p, height) + fees;
        for (size_t o = 0; o < b->tx[0].n_out; o++)
            cb_total += b->tx[0].out[o].amount;
        if (cb_total > allowed) {
            err = fail(res, "bad-cb-amount", 0, SIZE_MAX, "coinbase pays more than allowed");
            goto out;
        }
    }
    if (build == NULL) {
        bad = check_sigs ? arb_chain_verify_sigs(c->schnorr, jobs, nj, c->threads) : SIZE_MAX;
    } else {
        arb_err berr;
        /* The workers verify while this thread builds; then it helps with
         * what is left. */
        if (pool_live)
            pool_publish(pool, nj, 1);
        berr = build(build_ud, bv, res);
        bad = SIZE_MAX;
        if (pool_live) {
            pool_live = 0;
            bad = pool_finish(pool, 0);
        }
        /* A bad signature is the block's reason whatever the build found, as
         * when the signatures were checked first. */
        if (bad == SIZE_MAX && berr != ARB_OK) {
            err = berr;
            goto out;
        }
    }
    if (bad != SIZE_MAX) {
        size_t ti, ii;
        locate_job(b, first, bad, &ti, &ii);
        err = fail(res, "bad-txns-sig", ti, ii, "signature does not verify");
        goto out;
    }
    res->fees = fees;
out:
    if (pool_live) /* a rule failed: the signatures are not wanted */
        pool_finish(pool, 1);
    free(pool);
    free(v.e);
    free(jobs);
    return err;
}

arb_err arb_chain_check_block(const arb_chain_params *p, const arb_chain_checker *c,
                              const arb_block *b, uint32_t height, int64_t mtp,
                              arb_utxo_lookup_fn lookup, void *ud, arb_check_result *res)
{
    return arb_chain_check_block_ex(p, c, b, height, mtp, lookup, ud, NULL, NULL, NULL, res);
}

void arb_block_view_clear(arb_block_view *v)
{
    if (v == NULL)
        return;
    free(v->txids);
    free(v->spent);
    free(v->in_block);
    memset(v, 0, sizeof *v);
}

arb_err arb_chain_check_block_ex(const arb_chain_params *p, const arb_chain_checker *c,
                                 const arb_block *b, uint32_t height, int64_t mtp,
                                 arb_utxo_lookup_fn lookup, void *ud, arb_block_build_fn build,
                                 void *build_ud, arb_block_view *out, arb_check_result *res)
{
    arb_block_view local, *bv = out != NULL ? out : &local;
    size_t n_in = 0;
    arb_err err;

    memset(bv, 0, sizeof *bv);
    res_init(res);
    if (b->n_tx == 0 || b->n_tx > ARB_BLOCK_MAX_TXS)
        return check_basic(c->sha, b, NULL, res); /* fails on the count */
    for (size_t t = 1; t < b->n_tx; t++)
        n_in += b->tx[t].n_in;
    bv->txids = malloc(b->n_tx * sizeof *bv->txids);
    bv->spent = malloc((n_in ? n_in : 1) * sizeof *bv->spent);
    bv->in_block = malloc(n_in ? n_in : 1);
    if (bv->txids == NULL || bv->spent == NULL || bv->in_block == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    if ((err = check_basic(c->sha, b, bv->txids, res)) != ARB_OK)
        goto out;
    if (b->tx[0].in[0].index != height) {
        err = fail(res, "bad-cb-height", 0, SIZE_MAX, "coinbase does not carry the block height");
        goto out;
    }
    if (height >= 1 && b->tx[0].payload_type != ARB_PAYLOAD_STATE_ROOT) {
        err = fail(res, "bad-cb-state-root-missing", 0, SIZE_MAX,
                   "coinbase does not carry the state root");
        goto out;
    }
    err = check_with_state(p, c, b, 1, height, mtp, lookup, ud, 1, bv->txids, bv, build, build_ud,
                           res);
out:
    if (err != ARB_OK || bv == &local)
        arb_block_view_clear(bv);
    return err;
}

static arb_err check_tx_inputs(const arb_chain_params *p, const arb_chain_checker *c,
                               const arb_tx *tx, uint32_t height, int64_t mtp,
                               arb_utxo_lookup_fn lookup, void *ud, int check_sigs,
                               arb_check_result *res)
{
    arb_block one;
    arb_err err;

    res_init(res);
    if ((err = check_tx(tx, 0, 0, res)) != ARB_OK)
        return err;
    /* A one-transaction "block" without a coinbase. */
    one.n_tx = 1;
    one.tx = (arb_tx *)(uintptr_t)tx;
    return check_with_state(p, c, &one, 0, height, mtp, lookup, ud, check_sigs, NULL, NULL, NULL,
                            NULL, res);
}

arb_err arb_chain_check_tx_inputs(const arb_chain_params *p, const arb_chain_checker *c,
                                  const arb_tx *tx, uint32_t height, int64_t mtp,
                                  arb_utxo_lookup_fn lookup, void *ud, arb_check_result *res)
{
    return check_tx_inputs(p, c, tx, height, mtp, lookup, ud, 1, res);
}

arb_err arb_chain_check_tx_inputs_nosig(const arb_chain_params *p, const arb_chain_checker *c,
                                        const arb_tx *tx, uint32_t height, int64_t mtp,
                                        arb_utxo_lookup_fn lookup, void *ud,
                                        arb_check_result *res)
{
    return check_tx_inputs(p, c, tx, height, mtp, lookup, ud, 0, res);
}

arb_err arb_chain_sign_input(const arb_chain_params *p, arb_sha256 *sha, const arb_schnorr *s,
                             arb_tx *tx, size_t index, const arb_txout *spent,
                             const uint8_t seckey32[static 32], const uint8_t *aux32)
{
    arb_sighash_cache cache;
    arb_hash net;
    uint8_t msg[32];
    arb_err err;

    if (index >= tx->n_in)
        return ARB_ERR_INVALID_ARG;
    if ((err = arb_tx_sighash_prepare(sha, &cache, tx, spent)) != ARB_OK)
        return err;
    arb_chain_network_id(p, &net);
    arb_tx_sighash(sha, msg, &net, &cache, (uint32_t)index);
    if (!arb_schnorr_sign(s, tx->sig[index], msg, 32, seckey32, aux32))
        return ARB_ERR_CRYPTO;
    return ARB_OK;
}
