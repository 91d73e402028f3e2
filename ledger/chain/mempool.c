/* The mempool (see mempool.h). Entries live in an array in arrival order. */
#include "ledger/chain/mempool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    arb_tx tx;
    arb_hash txid;
    size_t size;
    uint64_t fee;
    uint64_t seq;
} mp_entry;

struct arb_mempool {
    pthread_mutex_t mu;
    const arb_chain_params *p;
    size_t max_bytes;
    mp_entry *e;
    size_t n, cap;
    size_t bytes;
    uint64_t seq;
};

arb_err arb_mempool_new(arb_mempool **out, const arb_chain_params *p, size_t max_bytes)
{
    arb_mempool *mp = calloc(1, sizeof *mp);
    if (mp == NULL)
        return ARB_ERR_NOMEM;
    if (pthread_mutex_init(&mp->mu, NULL) != 0) {
        free(mp);
        return ARB_ERR_NOMEM;
    }
    mp->p = p;
    mp->max_bytes = max_bytes ? max_bytes : (size_t)64 << 20;
    *out = mp;
    return ARB_OK;
}

void arb_mempool_free(arb_mempool *mp)
{
    if (mp == NULL)
        return;
    for (size_t i = 0; i < mp->n; i++)
        arb_tx_clear(&mp->e[i].tx);
    free(mp->e);
    pthread_mutex_destroy(&mp->mu);
    free(mp);
}

static ptrdiff_t find_txid(const arb_mempool *mp, const arb_hash *txid)
{
    for (size_t i = 0; i < mp->n; i++)
        if (memcmp(mp->e[i].txid.b, txid->b, 32) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static int spends(const arb_mempool *mp, const arb_outpoint *op)
{
    for (size_t i = 0; i < mp->n; i++)
        for (size_t k = 0; k < mp->e[i].tx.n_in; k++)
            if (mp->e[i].tx.in[k].index == op->index &&
                memcmp(mp->e[i].tx.in[k].txid.b, op->txid.b, 32) == 0)
                return 1;
    return 0;
}

typedef struct {
    const arb_mempool *mp;
    const arb_mempool_chain *chain;
} lookup_ctx;

/* Mempool outputs first (spent ones were refused as conflicts before), then the chain. */
static int pool_lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    const lookup_ctx *l = ud;
    ptrdiff_t i = find_txid(l->mp, &op->txid);
    if (i >= 0) {
        const arb_tx *t = &l->mp->e[i].tx;
        if (op->index >= t->n_out)
            return 0;
        out->amount = t->out[op->index].amount;
        memcpy(out->key, t->out[op->index].key, 32);
        out->height = l->chain->next_height;
        out->coinbase = 0;
        return 1;
    }
    return l->chain->lookup(l->chain->ud, op, out);
}

/* Marks entry i and every entry descending from a marked one. */
static void mark_descendants(const arb_mempool *mp, uint8_t *mark)
{
    int changed = 1;
    while (changed) {
        changed = 0;
        for (size_t i = 0; i < mp->n; i++) {
            if (mark[i])
                continue;
            for (size_t k = 0; k < mp->e[i].tx.n_in && !mark[i]; k++) {
                ptrdiff_t j = find_txid(mp, &mp->e[i].tx.in[k].txid);
                if (j >= 0 && mark[j]) {
                    mark[i] = 1;
                    changed = 1;
                }
            }
        }
    }
}

static void remove_marked(arb_mempool *mp, const uint8_t *mark)
{
    size_t w = 0;
    for (size_t i = 0; i < mp->n; i++) {
        if (mark[i]) {
            mp->bytes -= mp->e[i].size;
            arb_tx_clear(&mp->e[i].tx);
        } else {
            mp->e[w++] = mp->e[i];
        }
    }
    mp->n = w;
}

/* a's fee rate below b's (ties: the later arrival counts as lower). */
static int rate_lower(const mp_entry *a, const mp_entry *b)
{
    unsigned __int128 x = (unsigned __int128)a->fee * b->size;
    unsigned __int128 y = (unsigned __int128)b->fee * a->size;
    if (x != y)
        return x < y;
    return a->seq > b->seq;
}

/* Evicts lowest fee rate entries (with descendants) until under the cap. */
static arb_err trim(arb_mempool *mp)
{
    while (mp->bytes > mp->max_bytes && mp->n > 0) {
        size_t lo = 0;
        for (size_t i = 1; i < mp->n; i++)
            if (rate_lower(&mp->e[i], &mp->e[lo]))
                lo = i;
        uint8_t *mark = calloc(mp->n, 1);
        if (mark == NULL)
            return ARB_ERR_NOMEM;
        mark[lo] = 1;
        mark_descendants(mp, mark);
        remove_marked(mp, mark);
        free(mark);
    }
    return ARB_OK;
}

static void res_reset(arb_check_result *res)
{
    memset(res, 0, sizeof *res);
    res->tx_index = SIZE_MAX;
    res->in_index = SIZE_MAX;
}

static arb_err accept_locked(arb_mempool *mp, const arb_chain_checker *c,
                             const arb_mempool_chain *chain, const arb_tx *tx, arb_hash *txid_out,
                             arb_check_result *res)
{
    arb_hash txid;
    arb_err err;
    res_reset(res);
    if ((err = arb_chain_check_tx(tx, 0, res)) != ARB_OK)
        return err;
    if ((err = arb_tx_txid(c->sha, &txid, tx)) != ARB_OK)
        return err;
    if (find_txid(mp, &txid) >= 0) {
        res->reason = "txn-already-in-mempool";
        return arb_errf(&res->detail, ARB_ERR_VERIFY, "transaction already in the mempool");
    }
    for (size_t k = 0; k < tx->n_in; k++) {
        if (spends(mp, &tx->in[k])) {
            res->reason = "txn-mempool-conflict";
            res->in_index = k;
            return arb_errf(&res->detail, ARB_ERR_VERIFY,
                            "input %zu is already spent by a mempool transaction", k);
        }
    }
    lookup_ctx l = {mp, chain};
    if ((err = arb_chain_check_tx_inputs(mp->p, c, tx, chain->next_height, chain->mtp,
                                         pool_lookup, &l, res)) != ARB_OK)
        return err;
    if (mp->n == mp->cap) {
        size_t nc = mp->cap ? mp->cap * 2 : 64;
        mp_entry *ne = realloc(mp->e, nc * sizeof *ne);
        if (ne == NULL)
            return ARB_ERR_NOMEM;
        mp->e = ne;
        mp->cap = nc;
    }
    mp_entry *e = &mp->e[mp->n];
    memset(e, 0, sizeof *e);
    arb_tx_init(&e->tx);
    if ((err = arb_tx_copy(&e->tx, tx)) != ARB_OK) {
        arb_tx_clear(&e->tx);
        return err;
    }
    e->txid = txid;
    e->size = arb_tx_size(tx);
    e->fee = res->fees;
    e->seq = ++mp->seq;
    mp->n++;
    mp->bytes += e->size;
    if ((err = trim(mp)) != ARB_OK)
        return err;
    if (find_txid(mp, &txid) < 0) {
        uint64_t fee = res->fees;
        res_reset(res);
        res->fees = fee;
        res->reason = "mempool-full";
        return arb_errf(&res->detail, ARB_ERR_VERIFY,
                        "the mempool is full and the fee rate is too low");
    }
    if (txid_out)
        *txid_out = txid;
    return ARB_OK;
}

arb_err arb_mempool_accept(arb_mempool *mp, const arb_chain_checker *c,
                           const arb_mempool_chain *chain, const arb_tx *tx, arb_hash *txid_out,
                           arb_check_result *res)
{
    pthread_mutex_lock(&mp->mu);
    arb_err err = accept_locked(mp, c, chain, tx, txid_out, res);
    pthread_mutex_unlock(&mp->mu);
    return err;
}

void arb_mempool_block_connected(arb_mempool *mp, arb_sha256 *sha, const arb_block *b)
{
    pthread_mutex_lock(&mp->mu);
    uint8_t *mark = mp->n ? calloc(mp->n, 1) : NULL;
    if (mark != NULL) {
        uint8_t *conf = calloc(mp->n, 1);
        for (size_t t = 0; t < b->n_tx; t++) {
            const arb_tx *tx = &b->tx[t];
            if (arb_tx_is_coinbase(tx))
                continue;
            arb_hash id;
            if (conf != NULL && arb_tx_txid(sha, &id, tx) == ARB_OK) {
                ptrdiff_t i = find_txid(mp, &id);
                if (i >= 0) {
                    conf[i] = 1; /* confirmed: dropped, its children stay */
                    continue;
                }
            }
            for (size_t k = 0; k < tx->n_in; k++)
                for (size_t i = 0; i < mp->n; i++)
                    for (size_t j = 0; j < mp->e[i].tx.n_in; j++)
                        if (mp->e[i].tx.in[j].index == tx->in[k].index &&
                            memcmp(mp->e[i].tx.in[j].txid.b, tx->in[k].txid.b, 32) == 0)
                            mark[i] = 1; /* conflicts with the block */
        }
        mark_descendants(mp, mark);
        if (conf != NULL)
            for (size_t i = 0; i < mp->n; i++)
                mark[i] |= conf[i];
        remove_marked(mp, mark);
        free(conf);
        free(mark);
    }
    pthread_mutex_unlock(&mp->mu);
}

arb_err arb_mempool_resync(arb_mempool *mp, const arb_chain_checker *c,
                           const arb_mempool_chain *chain, const arb_tx *txs, size_t n)
{
    arb_check_result res;
    arb_err err = ARB_OK;
    pthread_mutex_lock(&mp->mu);
    mp_entry *old = mp->e;
    size_t n_old = mp->n;
    mp->e = NULL;
    mp->n = mp->cap = 0;
    mp->bytes = 0;
    for (size_t i = 0; i < n && err != ARB_ERR_NOMEM; i++)
        if (!arb_tx_is_coinbase(&txs[i]))
            err = accept_locked(mp, c, chain, &txs[i], NULL, &res);
    for (size_t i = 0; i < n_old && err != ARB_ERR_NOMEM; i++)
        err = accept_locked(mp, c, chain, &old[i].tx, NULL, &res);
    for (size_t i = 0; i < n_old; i++)
        arb_tx_clear(&old[i].tx);
    free(old);
    pthread_mutex_unlock(&mp->mu);
    return err == ARB_ERR_NOMEM ? err : ARB_OK;
}

arb_err arb_mempool_get(arb_mempool *mp, const arb_hash *txid, arb_tx *dst, uint64_t *fee)
{
    arb_err err = ARB_ERR_NOT_FOUND;
    pthread_mutex_lock(&mp->mu);
    ptrdiff_t i = find_txid(mp, txid);
    if (i >= 0) {
        err = dst ? arb_tx_copy(dst, &mp->e[i].tx) : ARB_OK;
        if (fee)
            *fee = mp->e[i].fee;
    }
    pthread_mutex_unlock(&mp->mu);
    return err;
}

int arb_mempool_spends(arb_mempool *mp, const arb_outpoint *op)
{
    pthread_mutex_lock(&mp->mu);
    int r = spends(mp, op);
    pthread_mutex_unlock(&mp->mu);
    return r;
}

void arb_mempool_stats(arb_mempool *mp, size_t *count, size_t *bytes)
{
    pthread_mutex_lock(&mp->mu);
    if (count)
        *count = mp->n;
    if (bytes)
        *bytes = mp->bytes;
    pthread_mutex_unlock(&mp->mu);
}

void arb_mempool_foreach(arb_mempool *mp, arb_mempool_tx_fn fn, void *ud)
{
    pthread_mutex_lock(&mp->mu);
    for (size_t i = 0; i < mp->n; i++)
        if (fn(ud, &mp->e[i].txid, &mp->e[i].tx, mp->e[i].fee))
            break;
    pthread_mutex_unlock(&mp->mu);
}

arb_err arb_mempool_select(arb_mempool *mp, size_t max_bytes, arb_tx **out, size_t *n_out,
                           uint64_t *fees)
{
    arb_err err = ARB_OK;
    *out = NULL;
    *n_out = 0;
    *fees = 0;
    pthread_mutex_lock(&mp->mu);
    size_t n = mp->n, used = 0, cnt = 0;
    size_t *order = n ? malloc(n * sizeof *order) : NULL;
    uint8_t *taken = n ? calloc(n, 1) : NULL;
    arb_tx *res = n ? calloc(n, sizeof *res) : NULL;
    if (n && (order == NULL || taken == NULL || res == NULL)) {
        err = ARB_ERR_NOMEM;
        goto done;
    }
    /* Insertion sort by fee rate, highest first. */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && rate_lower(&mp->e[order[j - 1]], &mp->e[i])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t r = 0; r < n; r++) {
            size_t i = order[r];
            if (taken[i] || used + mp->e[i].size > max_bytes)
                continue;
            int ready = 1;
            for (size_t k = 0; k < mp->e[i].tx.n_in && ready; k++) {
                ptrdiff_t j = find_txid(mp, &mp->e[i].tx.in[k].txid);
                if (j >= 0 && !taken[j])
                    ready = 0;
            }
            if (!ready)
                continue;
            arb_tx_init(&res[cnt]);
            if ((err = arb_tx_copy(&res[cnt], &mp->e[i].tx)) != ARB_OK) {
                arb_tx_clear(&res[cnt]);
                goto done;
            }
            cnt++;
            taken[i] = 1;
            used += mp->e[i].size;
            *fees += mp->e[i].fee;
            progress = 1;
            break; /* restart from the highest rate: a parent may have unlocked a child */
        }
    }
done:
    pthread_mutex_unlock(&mp->mu);
    free(order);
    free(taken);
    if (err != ARB_OK) {
        for (size_t i = 0; i < cnt; i++)
            arb_tx_clear(&res[i]);
        free(res);
        *fees = 0;
        return err;
    }
    *out = res;
    *n_out = cnt;
    return ARB_OK;
}
