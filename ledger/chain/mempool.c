/* The mempool (see mempool.h and docs/ledger.md).
 *
 * Entries live in a slot array (a free list reuses slots) and are linked in
 * arrival order. Two open-addressing hash tables with linear probing and
 * backward-shift deletion index them: txid -> slot and spent outpoint ->
 * (slot, input). The table hash is keyed with a per-pool random salt, so a
 * peer grinding txids cannot aim them at one bucket. Each entry keeps its
 * in-pool parents and children and its ancestor and descendant totals (Core's
 * CTxMemPoolEntry), updated on every add and remove; the limits keep those
 * walks bounded (at most 25 entries each). A binary min-heap orders entries
 * by descendant score for eviction. Set walks mark entries with an epoch
 * counter instead of clearing flags. */
#include "ledger/chain/mempool.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ledger/chain/stateview.h"
#include "merkle/file.h"

#define NONE UINT32_MAX
#define MAX_SLOTS (UINT32_MAX / 4)

typedef struct {
    arb_tx tx;
    arb_hash txid;
    uint64_t fee;
    uint32_t size;
    int live;
    uint64_t seq;
    int64_t time;
    uint32_t prev, next; /* arrival order */
    uint32_t *par, n_par, cap_par;
    uint32_t *ch, n_ch, cap_ch;
    uint32_t anc_count, desc_count;
    uint64_t anc_size, anc_fees, desc_size, desc_fees;
    uint32_t heap; /* position in the eviction heap */
    /* epoch marks for set walks */
    uint64_t m_walk, m_anc, m_conf, m_pc, m_sc;
    uint32_t sc_count; /* scratch: conflicting descendants (replacement checks) */
    uint64_t sc_size;
    struct pmeta *pm; /* payload transactions only (NULL: none) */
} ent;

/* A payload transaction's: the key its input 0 spends, what its state check
 * learned (the anchor signature verified) and the record it counts against
 * (pk_kind 0: none). */
typedef struct pmeta {
    uint8_t has_sender, pk_kind;
    arb_sview_memo memo;
    uint8_t sender[32];
    uint8_t pk_key[32];
} pmeta;

/* Pending payload transactions per record (log ID, name, namespace). */
typedef struct {
    uint8_t kind; /* 0: empty */
    uint8_t key[32];
    uint32_t n;
} pkslot;

typedef struct {
    uint32_t e, k; /* slot, input index; e == NONE: empty */
} opslot;

/* An eviction-heap key: the entry's descendant score copied out of it, so
 * heap operations stay within one compact array. */
typedef struct {
    uint64_t f, s, seq;
    uint32_t id;
} ekey;

struct arb_mempool {
    pthread_mutex_t mu;
    const arb_chain_params *p;
    size_t max_bytes;
    int64_t (*now)(void *ud);
    void *now_ud;

    ent *e;
    uint32_t n_slots, cap;
    uint32_t *free_ids;
    uint32_t n_free;
    uint32_t head, tail;
    uint32_t count;
    size_t bytes;
    uint64_t total_fees;
    uint64_t seq, generation;

    uint32_t *tt; /* txid table */
    size_t tt_cap;
    opslot *ot; /* outpoint table */
    size_t ot_cap, ot_n;
    uint64_t k0, k1;

    ekey *heap;
    uint32_t heap_n;

    /* scratch, each with room for cap slots */
    uint32_t *walk, *set, *aset;
    uint64_t epoch; /* 64 bits: never wraps */

    double rolling; /* units per 1000 bytes */
    int64_t rolling_last;
    int block_since_bump;
    arb_hash tip;
    arb_sha256 *sha; /* the state view's, under mu */

    /* The state view of the pool: the tip's state (read through sv_get)
     * with the pending payload transactions applied in arrival order. Valid
     * while sv_ok and built for (sv_tip, sv_height, sv_get, sv_ud). */
    const arb_names_params *np;
    arb_sview *sv;
    int sv_ok;
    arb_hash sv_tip;
    uint32_t sv_height;
    arb_sview_get_fn sv_get;
    void *sv_ud;
    uint32_t n_payload;
    size_t payload_bytes;
    pkslot *pk;
    size_t pk_cap;
    arb_mempool_payload_stats ps;
};

/* ---------------------------------------------------------------- basics */

static int64_t now_s(const arb_mempool *mp)
{
    return mp->now ? mp->now(mp->now_ud) : (int64_t)time(NULL);
}

static uint64_t new_epoch(arb_mempool *mp)
{
    return ++mp->epoch;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t h_txid(const arb_mempool *mp, const arb_hash *h)
{
    uint64_t a, b;
    memcpy(&a, h->b, 8);
    memcpy(&b, h->b + 8, 8);
    return mix64(a ^ mp->k0) ^ mix64(b + mp->k1);
}

static uint64_t h_op(const arb_mempool *mp, const arb_outpoint *op)
{
    return mix64(h_txid(mp, &op->txid) + (uint64_t)op->index * 0x9e3779b97f4a7c15ULL);
}

static int op_eq(const arb_outpoint *a, const arb_outpoint *b)
{
    return a->index == b->index && memcmp(a->txid.b, b->txid.b, 32) == 0;
}

/* ---------------------------------------------------------------- txid table */

static uint32_t tt_find(const arb_mempool *mp, const arb_hash *txid)
{
    if (mp->tt_cap == 0)
        return NONE;
    size_t mask = mp->tt_cap - 1, i = (size_t)h_txid(mp, txid) & mask;
    while (mp->tt[i] != NONE) {
        if (memcmp(mp->e[mp->tt[i]].txid.b, txid->b, 32) == 0)
            return mp->tt[i];
        i = (i + 1) & mask;
    }
    return NONE;
}

static void tt_put(uint32_t *t, size_t cap, const arb_mempool *mp, uint32_t id)
{
    size_t mask = cap - 1, i = (size_t)h_txid(mp, &mp->e[id].txid) & mask;
    while (t[i] != NONE)
        i = (i + 1) & mask;
    t[i] = id;
}

/* Room for `need` entries at load factor <= 1/2. */
static int tt_reserve(arb_mempool *mp, size_t need)
{
    if (need * 2 <= mp->tt_cap)
        return 1;
    size_t cap = mp->tt_cap ? mp->tt_cap : 64;
    while (need * 2 > cap)
        cap *= 2;
    uint32_t *t = malloc(cap * sizeof *t);
    if (t == NULL)
        return 0;
    memset(t, 0xff, cap * sizeof *t);
    for (size_t i = 0; i < mp->tt_cap; i++)
        if (mp->tt[i] != NONE)
            tt_put(t, cap, mp, mp->tt[i]);
    free(mp->tt);
    mp->tt = t;
    mp->tt_cap = cap;
    return 1;
}

static void tt_erase(arb_mempool *mp, uint32_t id)
{
    size_t mask = mp->tt_cap - 1, i = (size_t)h_txid(mp, &mp->e[id].txid) & mask;
    while (mp->tt[i] != id) {
        if (mp->tt[i] == NONE)
            return;
        i = (i + 1) & mask;
    }
    /* Backward shift: move later members of the cluster into the hole when
     * their home slot is not cyclically in (hole, j]. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (mp->tt[j] == NONE)
            break;
        size_t home = (size_t)h_txid(mp, &mp->e[mp->tt[j]].txid) & mask;
        int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            mp->tt[i] = mp->tt[j];
            i = j;
        }
    }
    mp->tt[i] = NONE;
}

/* ---------------------------------------------------------------- outpoint table */

static const arb_outpoint *os_op(const arb_mempool *mp, const opslot *s)
{
    return &mp->e[s->e].tx.in[s->k];
}

/* The slot spending op, or NONE. */
static uint32_t ot_find(const arb_mempool *mp, const arb_outpoint *op)
{
    if (mp->ot_cap == 0)
        return NONE;
    size_t mask = mp->ot_cap - 1, i = (size_t)h_op(mp, op) & mask;
    while (mp->ot[i].e != NONE) {
        if (op_eq(os_op(mp, &mp->ot[i]), op))
            return mp->ot[i].e;
        i = (i + 1) & mask;
    }
    return NONE;
}

static void ot_put(opslot *t, size_t cap, const arb_mempool *mp, opslot s)
{
    size_t mask = cap - 1, i = (size_t)h_op(mp, os_op(mp, &s)) & mask;
    while (t[i].e != NONE)
        i = (i + 1) & mask;
    t[i] = s;
}

static int ot_reserve(arb_mempool *mp, size_t need)
{
    if (need * 2 <= mp->ot_cap)
        return 1;
    size_t cap = mp->ot_cap ? mp->ot_cap : 128;
    while (need * 2 > cap)
        cap *= 2;
    opslot *t = malloc(cap * sizeof *t);
    if (t == NULL)
        return 0;
    memset(t, 0xff, cap * sizeof *t);
    for (size_t i = 0; i < mp->ot_cap; i++)
        if (mp->ot[i].e != NONE)
            ot_put(t, cap, mp, mp->ot[i]);
    free(mp->ot);
    mp->ot = t;
    mp->ot_cap = cap;
    return 1;
}

static void ot_erase(arb_mempool *mp, uint32_t id, uint32_t k)
{
    size_t mask = mp->ot_cap - 1, i = (size_t)h_op(mp, &mp->e[id].tx.in[k]) & mask;
    while (mp->ot[i].e != id || mp->ot[i].k != k) {
        if (mp->ot[i].e == NONE)
            return;
        i = (i + 1) & mask;
    }
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (mp->ot[j].e == NONE)
            break;
        size_t home = (size_t)h_op(mp, os_op(mp, &mp->ot[j])) & mask;
        int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            mp->ot[i] = mp->ot[j];
            i = j;
        }
    }
    mp->ot[i].e = NONE;
    mp->ot[i].k = NONE;
    mp->ot_n--;
}

/* ---------------------------------------------------------------- eviction heap */

/* 1 if a's fraction fa/sa is below fb/sb. */
static int frac_lt(uint64_t fa, uint64_t sa, uint64_t fb, uint64_t sb)
{
    return (unsigned __int128)fa * sb < (unsigned __int128)fb * sa;
}

/* Core's descendant score: max(own fee rate, package fee rate with descendants). */
static void desc_score(const ent *x, uint64_t *f, uint64_t *s)
{
    if (frac_lt(x->fee, x->size, x->desc_fees, x->desc_size)) {
        *f = x->desc_fees;
        *s = x->desc_size;
    } else {
        *f = x->fee;
        *s = x->size;
    }
}

static void ekey_of(const arb_mempool *mp, uint32_t id, ekey *k)
{
    desc_score(&mp->e[id], &k->f, &k->s);
    k->seq = mp->e[id].seq;
    k->id = id;
}

/* 1 if a is evicted before b: lower descendant score, ties the newer. */
static int ekey_before(const ekey *a, const ekey *b)
{
    if (frac_lt(a->f, a->s, b->f, b->s))
        return 1;
    if (frac_lt(b->f, b->s, a->f, a->s))
        return 0;
    return a->seq > b->seq;
}

static void heap_set(arb_mempool *mp, uint32_t pos, const ekey *k)
{
    mp->heap[pos] = *k;
    mp->e[k->id].heap = pos;
}

static void heap_up(arb_mempool *mp, uint32_t pos)
{
    ekey k = mp->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!ekey_before(&k, &mp->heap[parent]))
            break;
        heap_set(mp, pos, &mp->heap[parent]);
        pos = parent;
    }
    heap_set(mp, pos, &k);
}

static void heap_down(arb_mempool *mp, uint32_t pos)
{
    ekey k = mp->heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, best = pos;
        const ekey *b = &k;
        if (l < mp->heap_n && ekey_before(&mp->heap[l], b)) {
            best = l;
            b = &mp->heap[l];
        }
        if (r < mp->heap_n && ekey_before(&mp->heap[r], b)) {
            best = r;
            b = &mp->heap[r];
        }
        if (best == pos)
            break;
        heap_set(mp, pos, b);
        pos = best;
    }
    heap_set(mp, pos, &k);
}

/* The entry's totals changed: refresh its key and restore the order. */
static void heap_fix(arb_mempool *mp, uint32_t id)
{
    uint32_t pos = mp->e[id].heap;
    ekey_of(mp, id, &mp->heap[pos]);
    heap_up(mp, pos);
    heap_down(mp, mp->e[id].heap);
}

static void heap_push(arb_mempool *mp, uint32_t id)
{
    ekey k;
    ekey_of(mp, id, &k);
    heap_set(mp, mp->heap_n++, &k);
    heap_up(mp, mp->heap_n - 1);
}

static void heap_remove(arb_mempool *mp, uint32_t id)
{
    uint32_t pos = mp->e[id].heap;
    ekey last = mp->heap[--mp->heap_n];
    if (pos == mp->heap_n)
        return;
    heap_set(mp, pos, &last);
    heap_up(mp, pos);
    heap_down(mp, mp->e[last.id].heap);
}

/* ---------------------------------------------------------------- slots */

/* Room for `extra` more entries in the slot array and everything sized by it. */
static int slots_reserve(arb_mempool *mp, uint32_t extra)
{
    uint32_t need = mp->count + extra;
    if (need > MAX_SLOTS)
        return 0;
    if (mp->n_free < extra && mp->n_slots + (extra - mp->n_free) > mp->cap) {
        uint32_t cap = mp->cap ? mp->cap : 64;
        while (cap < mp->n_slots + extra)
            cap *= 2;
        ent *ne = realloc(mp->e, (size_t)cap * sizeof *ne);
        if (ne == NULL)
            return 0;
        mp->e = ne;
        uint32_t **arrs[] = {&mp->free_ids, &mp->walk, &mp->set, &mp->aset};
        for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) {
            uint32_t *na = realloc(*arrs[i], (size_t)cap * sizeof *na);
            if (na == NULL)
                return 0; /* the larger arrays are harmless */
            *arrs[i] = na;
        }
        ekey *nh = realloc(mp->heap, (size_t)cap * sizeof *nh);
        if (nh == NULL)
            return 0;
        mp->heap = nh;
        mp->cap = cap;
    }
    return tt_reserve(mp, need);
}

static uint32_t slot_take(arb_mempool *mp)
{
    uint32_t id = mp->n_free ? mp->free_ids[--mp->n_free] : mp->n_slots++;
    memset(&mp->e[id], 0, sizeof mp->e[id]);
    return id;
}

/* ---------------------------------------------------------------- add and remove */

static int u32_push(uint32_t **a, uint32_t *n, uint32_t *cap, uint32_t v)
{
    if (*n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 4;
        uint32_t *na = realloc(*a, (size_t)c * sizeof *na);
        if (na == NULL)
            return 0;
        *a = na;
        *cap = c;
    }
    (*a)[(*n)++] = v;
    return 1;
}

static void u32_del(uint32_t *a, uint32_t *n, uint32_t v)
{
    for (uint32_t i = 0; i < *n; i++)
        if (a[i] == v) {
            a[i] = a[--*n];
            return;
        }
}

/* Walks the ancestors of id (not id itself) into mp->walk; returns how many. */
static uint32_t walk_ancestors(arb_mempool *mp, uint32_t id)
{
    uint64_t ep = new_epoch(mp);
    uint32_t n = 0;
    for (uint32_t i = 0; i < mp->e[id].n_par; i++) {
        uint32_t q = mp->e[id].par[i];
        if (mp->e[q].m_walk != ep) {
            mp->e[q].m_walk = ep;
            mp->walk[n++] = q;
        }
    }
    for (uint32_t h = 0; h < n; h++) {
        const ent *x = &mp->e[mp->walk[h]];
        for (uint32_t i = 0; i < x->n_par; i++) {
            uint32_t q = x->par[i];
            if (mp->e[q].m_walk != ep) {
                mp->e[q].m_walk = ep;
                mp->walk[n++] = q;
            }
        }
    }
    return n;
}

static uint32_t walk_descendants(arb_mempool *mp, uint32_t id)
{
    uint64_t ep = new_epoch(mp);
    uint32_t n = 0;
    for (uint32_t i = 0; i < mp->e[id].n_ch; i++) {
        uint32_t q = mp->e[id].ch[i];
        if (mp->e[q].m_walk != ep) {
            mp->e[q].m_walk = ep;
            mp->walk[n++] = q;
        }
    }
    for (uint32_t h = 0; h < n; h++) {
        const ent *x = &mp->e[mp->walk[h]];
        for (uint32_t i = 0; i < x->n_ch; i++) {
            uint32_t q = x->ch[i];
            if (mp->e[q].m_walk != ep) {
                mp->e[q].m_walk = ep;
                mp->walk[n++] = q;
            }
        }
    }
    return n;
}

/* ---------------------------------------------------------------- payload bookkeeping */

static size_t pk_home(const arb_mempool *mp, uint8_t kind, const uint8_t key[32])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    return (size_t)(mix64(a ^ mp->k0 ^ kind) ^ mix64(b + mp->k1)) & (mp->pk_cap - 1);
}

/* The slot of (kind, key), or SIZE_MAX. */
static size_t pk_find(const arb_mempool *mp, uint8_t kind, const uint8_t key[32])
{
    if (mp->pk_cap == 0)
        return SIZE_MAX;
    for (size_t i = pk_home(mp, kind, key);; i = (i + 1) & (mp->pk_cap - 1)) {
        if (mp->pk[i].kind == 0)
            return SIZE_MAX;
        if (mp->pk[i].kind == kind && memcmp(mp->pk[i].key, key, 32) == 0)
            return i;
    }
}

static uint32_t pk_count(const arb_mempool *mp, uint8_t kind, const uint8_t key[32])
{
    size_t i = pk_find(mp, kind, key);
    return i == SIZE_MAX ? 0 : mp->pk[i].n;
}

/* The table has room for every pending payload transaction at load factor
 * <= 1/2 (at most ARB_MEMPOOL_MAX_PAYLOAD_TXS of them): it is allocated once. */
static int pk_reserve(arb_mempool *mp)
{
    if (mp->pk_cap != 0)
        return 1;
    size_t cap = 64;
    while (cap < 2 * (size_t)ARB_MEMPOOL_MAX_PAYLOAD_TXS + 2)
        cap *= 2;
    mp->pk = calloc(cap, sizeof *mp->pk);
    if (mp->pk == NULL)
        return 0;
    mp->pk_cap = cap;
    return 1;
}

static void pk_add(arb_mempool *mp, uint8_t kind, const uint8_t key[32])
{
    size_t i = pk_home(mp, kind, key);
    while (mp->pk[i].kind != 0) {
        if (mp->pk[i].kind == kind && memcmp(mp->pk[i].key, key, 32) == 0) {
            mp->pk[i].n++;
            return;
        }
        i = (i + 1) & (mp->pk_cap - 1);
    }
    mp->pk[i].kind = kind;
    memcpy(mp->pk[i].key, key, 32);
    mp->pk[i].n = 1;
}

static void pk_del(arb_mempool *mp, uint8_t kind, const uint8_t key[32])
{
    size_t i = pk_find(mp, kind, key), mask = mp->pk_cap - 1;
    if (i == SIZE_MAX || --mp->pk[i].n > 0)
        return;
    /* backward-shift deletion, as tt_erase */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (mp->pk[j].kind == 0)
            break;
        size_t home = pk_home(mp, mp->pk[j].kind, mp->pk[j].key);
        int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            mp->pk[i] = mp->pk[j];
            i = j;
        }
    }
    memset(&mp->pk[i], 0, sizeof mp->pk[i]);
}

/* A payload transaction leaves: the view no longer matches the pool. */
static void payload_forget(arb_mempool *mp, const ent *x)
{
    mp->n_payload--;
    mp->payload_bytes -= x->size;
    if (x->pm->pk_kind != 0)
        pk_del(mp, x->pm->pk_kind, x->pm->pk_key);
    mp->sv_ok = 0;
}

/* Removes one entry, keeping its relatives' totals right. */
static void remove_one(arb_mempool *mp, uint32_t id)
{
    ent *x = &mp->e[id];
    uint32_t n = walk_ancestors(mp, id);
    for (uint32_t i = 0; i < n; i++) {
        ent *a = &mp->e[mp->walk[i]];
        a->desc_count--;
        a->desc_size -= x->size;
        a->desc_fees -= x->fee;
        heap_fix(mp, mp->walk[i]);
    }
    n = walk_descendants(mp, id);
    for (uint32_t i = 0; i < n; i++) {
        ent *d = &mp->e[mp->walk[i]];
        d->anc_count--;
        d->anc_size -= x->size;
        d->anc_fees -= x->fee;
    }
    for (uint32_t i = 0; i < x->n_par; i++)
        u32_del(mp->e[x->par[i]].ch, &mp->e[x->par[i]].n_ch, id);
    for (uint32_t i = 0; i < x->n_ch; i++)
        u32_del(mp->e[x->ch[i]].par, &mp->e[x->ch[i]].n_par, id);
    tt_erase(mp, id);
    for (size_t k = 0; k < x->tx.n_in; k++)
        ot_erase(mp, id, (uint32_t)k);
    heap_remove(mp, id);
    if (x->prev != NONE)
        mp->e[x->prev].next = x->next;
    else
        mp->head = x->next;
    if (x->next != NONE)
        mp->e[x->next].prev = x->prev;
    else
        mp->tail = x->prev;
    if (x->pm != NULL)
        payload_forget(mp, x);
    mp->count--;
    mp->bytes -= x->size;
    mp->total_fees -= x->fee;
    arb_tx_clear(&x->tx);
    free(x->par);
    free(x->ch);
    free(x->pm);
    x->par = x->ch = NULL;
    x->pm = NULL;
    x->live = 0;
    mp->free_ids[mp->n_free++] = id;
    mp->generation++;
}

/* Collects the given entries and all their descendants into mp->set (marked
 * m_conf with the returned epoch). Stops and returns 0 once more than `limit`
 * were found; otherwise 1 with *n set. */
static int collect_with_descendants(arb_mempool *mp, const uint32_t *ids, uint32_t n_ids,
                                    uint32_t limit, uint32_t *n, uint64_t *ep_out)
{
    uint64_t ep = new_epoch(mp);
    uint32_t m = 0;
    *ep_out = ep;
    for (uint32_t i = 0; i < n_ids; i++)
        if (mp->e[ids[i]].m_conf != ep) {
            if (m == limit)
                return 0;
            mp->e[ids[i]].m_conf = ep;
            mp->set[m++] = ids[i];
        }
    for (uint32_t h = 0; h < m; h++) {
        const ent *x = &mp->e[mp->set[h]];
        for (uint32_t i = 0; i < x->n_ch; i++) {
            uint32_t q = x->ch[i];
            if (mp->e[q].m_conf != ep) {
                if (m == limit)
                    return 0;
                mp->e[q].m_conf = ep;
                mp->set[m++] = q;
            }
        }
    }
    *n = m;
    return 1;
}

/* Removes mp->set[0..n) (closed under descendants), deepest first so only
 * ancestors' totals need updating. */
static void remove_set(arb_mempool *mp, uint32_t n)
{
    /* more ancestors first: a descendant always has more than its ancestor */
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = mp->set[i], j = i;
        while (j > 0 && mp->e[mp->set[j - 1]].anc_count < mp->e[v].anc_count) {
            mp->set[j] = mp->set[j - 1];
            j--;
        }
        mp->set[j] = v;
    }
    for (uint32_t i = 0; i < n; i++)
        remove_one(mp, mp->set[i]);
}

/* Removes id and its descendants. */
static void remove_package(arb_mempool *mp, uint32_t id)
{
    uint32_t n;
    uint64_t ep;
    (void)collect_with_descendants(mp, &id, 1, UINT32_MAX, &n, &ep);
    remove_set(mp, n);
}

/* ---------------------------------------------------------------- rolling minimum fee */

static uint64_t min_fee_rate(arb_mempool *mp)
{
    if (!mp->block_since_bump || mp->rolling == 0)
        return (uint64_t)llround(mp->rolling);
    int64_t now = now_s(mp);
    if (now > mp->rolling_last + 10) {
        double halflife = ARB_MEMPOOL_ROLLING_HALFLIFE;
        if (mp->bytes < mp->max_bytes / 4)
            halflife /= 4;
        else if (mp->bytes < mp->max_bytes / 2)
            halflife /= 2;
        mp->rolling /= exp2((double)(now - mp->rolling_last) / halflife);
        mp->rolling_last = now;
        if (mp->rolling < ARB_MEMPOOL_INCREMENTAL_FEERATE / 2.0) {
            mp->rolling = 0;
            return 0;
        }
    }
    uint64_t r = (uint64_t)llround(mp->rolling);
    return r > ARB_MEMPOOL_INCREMENTAL_FEERATE ? r : ARB_MEMPOOL_INCREMENTAL_FEERATE;
}

/* Fee for size bytes at rate (per 1000 bytes), rounded down (Core's CFeeRate::GetFee). */
static uint64_t fee_at(uint64_t rate, uint64_t size)
{
    unsigned __int128 f = (unsigned __int128)rate * size / 1000;
    return f > UINT64_MAX ? UINT64_MAX : (uint64_t)f;
}

/* Evicts lowest descendant-score packages until the pool fits. */
static void trim(arb_mempool *mp)
{
    while (mp->bytes > mp->max_bytes && mp->heap_n > 0) {
        const ent *w = &mp->e[mp->heap[0].id];
        double rate = (double)w->desc_fees * 1000.0 / (double)w->desc_size +
                      ARB_MEMPOOL_INCREMENTAL_FEERATE;
        if (rate > mp->rolling) {
            mp->rolling = rate;
            mp->block_since_bump = 0;
        }
        remove_package(mp, mp->heap[0].id);
    }
}

/* ---------------------------------------------------------------- admission */

static void res_reset(arb_check_result *res)
{
    memset(res, 0, sizeof *res);
    res->tx_index = SIZE_MAX;
    res->in_index = SIZE_MAX;
}

static arb_err reject(arb_check_result *res, const char *reason, size_t in_index,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static arb_err reject(arb_check_result *res, const char *reason, size_t in_index,
                      const char *fmt, ...)
{
    va_list ap;
    uint64_t fees = res->fees;
    res_reset(res);
    res->fees = fees;
    res->reason = reason;
    res->in_index = in_index;
    va_start(ap, fmt);
    vsnprintf(res->detail.msg, sizeof res->detail.msg, fmt, ap);
    va_end(ap);
    return ARB_ERR_VERIFY;
}

typedef struct {
    const arb_mempool *mp;
    const arb_mempool_chain *chain;
} lookup_ctx;

/* Mempool outputs first, then the chain. */
static int pool_lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    const lookup_ctx *l = ud;
    uint32_t i = tt_find(l->mp, &op->txid);
    if (i != NONE) {
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

/* The pool's payload transactions in arrival order (skipping those marked
 * m_conf == skip_ep: being replaced; 0: none), with their senders (the key input 0 spends), then `extra` when not
 * NULL; run through chain->state. ids[i] is the entry of txs[i] (NONE for
 * extra). Returns ARB_OK with the arrays (free them) or NOMEM / the state's
 * error. */
static arb_err state_run(const arb_mempool *mp, const arb_mempool_chain *chain, const arb_tx *extra,
                         uint64_t skip_ep, uint32_t **ids_out, uint8_t **ok_out,
                         const char ***reasons_out, size_t *n_out)
{
    size_t n = 0, k = 0;
    for (uint32_t i = mp->head; i != NONE; i = mp->e[i].next)
        n += mp->e[i].tx.payload_type != 0;
    n += extra != NULL;
    const arb_tx **txs = malloc((n ? n : 1) * sizeof *txs);
    const uint8_t **snd = malloc((n ? n : 1) * sizeof *snd);
    uint8_t (*keys)[32] = malloc((n ? n : 1) * 32);
    uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    uint8_t *ok = malloc(n ? n : 1);
    const char **reasons = malloc((n ? n : 1) * sizeof *reasons);
    arb_err err = ARB_OK;
    lookup_ctx l = {mp, chain};
    if (txs == NULL || snd == NULL || keys == NULL || ids == NULL || ok == NULL ||
        reasons == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    for (uint32_t i = mp->head; i != NONE; i = mp->e[i].next) {
        arb_coin coin;
        if (mp->e[i].tx.payload_type == 0 || (skip_ep != 0 && mp->e[i].m_conf == skip_ep))
            continue;
        txs[k] = &mp->e[i].tx;
        ids[k] = i;
        snd[k] = NULL; /* not found: the state check fails it */
        if (pool_lookup(&l, &mp->e[i].tx.in[0], &coin)) {
            memcpy(keys[k], coin.key, 32);
            snd[k] = keys[k];
        }
        k++;
    }
    if (extra != NULL) {
        arb_coin coin;
        txs[k] = extra;
        ids[k] = NONE;
        snd[k] = NULL;
        if (pool_lookup(&l, &extra->in[0], &coin)) {
            memcpy(keys[k], coin.key, 32);
            snd[k] = keys[k];
        }
        k++;
    }
    err = chain->state(chain->state_ud, txs, k, snd, ok, reasons);
out:
    free(txs);
    free(snd);
    free(keys);
    if (err != ARB_OK) {
        free(ids);
        free(ok);
        free(reasons);
        return err;
    }
    *ids_out = ids;
    *ok_out = ok;
    *reasons_out = reasons;
    *n_out = k;
    return ARB_OK;
}

/* ---------------------------------------------------------------- the pool's state view */

static arb_err view_apply(arb_mempool *mp, arb_sview *v, const arb_tx *tx,
                          const uint8_t sender[32], uint32_t height, arb_sview_memo *m,
                          const char **reason)
{
    arb_err err = arb_sview_apply_memo(v, mp->sha, tx, 1, sender, height, m, reason);
    mp->ps.applications++;
    if (m->sig_checked)
        mp->ps.sig_verifications++;
    return err;
}

/* A fresh view: the tip's state with the pending payload transactions
 * applied in arrival order, less those marked m_conf == skip_ep (0: none).
 * Those that do not apply are left out (as a template leaves them out) and,
 * when bad is not NULL, listed in bad[0..*n_bad) (room for n_payload). No
 * signature is verified again: each entry's memo says it was. */
static arb_err view_build(arb_mempool *mp, const arb_mempool_chain *chain, uint64_t skip_ep,
                          arb_sview **out, uint32_t *bad, size_t *n_bad)
{
    arb_sview *v;
    arb_err err;
    *out = NULL;
    if (n_bad != NULL)
        *n_bad = 0;
    if ((err = arb_sview_new(&v, mp->np, chain->state_get, chain->state_get_ud)) != ARB_OK)
        return err;
    for (uint32_t i = mp->head; i != NONE; i = mp->e[i].next) {
        ent *x = &mp->e[i];
        const char *why = NULL;
        if (x->tx.payload_type == 0 || (skip_ep != 0 && x->m_conf == skip_ep))
            continue;
        err = x->pm->has_sender ? view_apply(mp, v, &x->tx, x->pm->sender, chain->next_height,
                                             &x->pm->memo, &why)
                                : ARB_ERR_VERIFY;
        if (err == ARB_ERR_VERIFY) {
            if (bad != NULL)
                bad[(*n_bad)++] = i;
            continue;
        }
        if (err != ARB_OK) {
            arb_sview_free(v);
            return err;
        }
    }
    mp->ps.rebuilds++;
    *out = v;
    return ARB_OK;
}

static void view_install(arb_mempool *mp, const arb_mempool_chain *chain, arb_sview *v)
{
    arb_sview_free(mp->sv);
    mp->sv = v;
    mp->sv_ok = 1;
    mp->sv_tip = chain->tip;
    mp->sv_height = chain->next_height;
    mp->sv_get = chain->state_get;
    mp->sv_ud = chain->state_get_ud;
}

/* Brings the pool's view up to date for chain: rebuilt (once) after a
 * block, a reorganization, an eviction or a replacement changed what is
 * pending or what it stands on; otherwise as it is. */
static arb_err view_sync(arb_mempool *mp, const arb_mempool_chain *chain)
{
    if (mp->sv != NULL && mp->sv_ok && arb_hash_eq(&mp->sv_tip, &chain->tip) &&
        mp->sv_height == chain->next_height && mp->sv_get == chain->state_get &&
        mp->sv_ud == chain->state_get_ud)
        return ARB_OK;
    arb_sview *v;
    arb_err err = view_build(mp, chain, 0, &v, NULL, NULL);
    if (err != ARB_OK)
        return err;
    view_install(mp, chain, v);
    return ARB_OK;
}

/* Records the pool's view may hold: those of the pending payload
 * transactions (at most 3 each) plus room for the records refused ones read. */
static size_t view_entries_cap(const arb_mempool *mp)
{
    return 3 * (size_t)mp->n_payload + ARB_MEMPOOL_VIEW_SLACK;
}

static size_t payload_bytes_cap(const arb_mempool *mp)
{
    return mp->max_bytes / ARB_MEMPOOL_PAYLOAD_BYTES_DIVISOR;
}

static uint32_t per_record_limit(uint8_t kind)
{
    return kind == ARB_SREC_ANCHOR ? ARB_MEMPOOL_MAX_ANCHORS_PER_LOG : ARB_MEMPOOL_MAX_OPS_PER_NAME;
}

#define ACCEPT_BYPASS 1 /* re-admission after a reorg: no fee-rate floors, no trimming */
#define ACCEPT_NOSIG 2  /* signatures verified before (reorg re-admission) */

static arb_err accept_locked(arb_mempool *mp, const arb_chain_checker *c,
                             const arb_mempool_chain *chain, const arb_tx *tx, int64_t when,
                             int flags, arb_hash *txid_out, arb_check_result *res)
{
    arb_hash txid;
    arb_err err;
    arb_tx copy;
    uint32_t *par = NULL, n_par = 0, cap_par = 0;

    res_reset(res);
    if ((err = arb_chain_check_tx(tx, 0, res)) != ARB_OK)
        return err;
    if ((err = arb_tx_txid(c->sha, &txid, tx)) != ARB_OK)
        return err;
    if (tt_find(mp, &txid) != NONE)
        return reject(res, "txn-already-in-mempool", SIZE_MAX,
                      "transaction already in the mempool");
    size_t size = arb_tx_size(tx);
    if (size > ARB_MEMPOOL_MAX_TX_SIZE)
        return reject(res, "tx-size", SIZE_MAX, "transaction of %zu bytes is over %u", size,
                      ARB_MEMPOOL_MAX_TX_SIZE);
    for (size_t o = 0; o < tx->n_out; o++)
        if (tx->out[o].amount < ARB_MEMPOOL_DUST_THRESHOLD)
            return reject(res, "dust", SIZE_MAX, "output %zu pays %llu units, below %u", o,
                          (unsigned long long)tx->out[o].amount, ARB_MEMPOOL_DUST_THRESHOLD);
    /* Every later step may need room for one more entry and its inputs. */
    if (!slots_reserve(mp, 1) || !ot_reserve(mp, mp->ot_n + tx->n_in))
        return ARB_ERR_NOMEM;

    lookup_ctx l = {mp, chain};
    err = (flags & ACCEPT_NOSIG)
              ? arb_chain_check_tx_inputs_nosig(mp->p, c, tx, chain->next_height, chain->mtp,
                                                pool_lookup, &l, res)
              : arb_chain_check_tx_inputs(mp->p, c, tx, chain->next_height, chain->mtp,
                                          pool_lookup, &l, res);
    if (err != ARB_OK)
        return err;
    uint64_t fee = res->fees;

    if (!(flags & ACCEPT_BYPASS)) {
        uint64_t rate = min_fee_rate(mp);
        if (rate > 0 && fee < fee_at(rate, size))
            return reject(res, "mempool-min-fee-not-met", SIZE_MAX,
                          "fee %llu is below the mempool's minimum of %llu units per 1000 bytes",
                          (unsigned long long)fee, (unsigned long long)rate);
        if (fee < fee_at(ARB_MEMPOOL_MIN_RELAY_FEERATE, size))
            return reject(res, "min-relay-fee-not-met", SIZE_MAX,
                          "fee %llu is below the minimum relay fee of %llu for %zu bytes",
                          (unsigned long long)fee,
                          (unsigned long long)fee_at(ARB_MEMPOOL_MIN_RELAY_FEERATE, size), size);
    }

    /* Direct conflicts: mempool transactions spending one of our inputs. */
    uint64_t ep_dc = new_epoch(mp);
    uint32_t n_dc = 0;
    uint32_t *dc = mp->aset; /* borrowed until the ancestors are walked */
    for (size_t k = 0; k < tx->n_in; k++) {
        uint32_t s = ot_find(mp, &tx->in[k]);
        if (s != NONE && mp->e[s].m_pc != ep_dc) {
            mp->e[s].m_pc = ep_dc;
            dc[n_dc++] = s; /* n_dc <= count: aset has room */
        }
    }

    /* Replacement rule 6 (Core's PaysMoreThanConflicts): a higher fee rate
     * than every directly conflicting transaction. */
    for (uint32_t i = 0; i < n_dc; i++) {
        const ent *d = &mp->e[dc[i]];
        if (!frac_lt(d->fee, d->size, fee, size))
            return reject(res, "rbf-feerate-too-low", SIZE_MAX,
                          "fee rate does not beat the conflicting transaction's %llu/%u",
                          (unsigned long long)d->fee, d->size);
    }
    /* Rule 5: at most 100 transactions evicted (the conflicts and their
     * descendants). */
    uint32_t n_conf = 0;
    uint64_t ep_conf = 0;
    if (n_dc > 0 && !collect_with_descendants(mp, dc, n_dc, ARB_MEMPOOL_MAX_REPLACEMENTS, &n_conf,
                                              &ep_conf))
        return reject(res, "rbf-too-many-replacements", SIZE_MAX,
                      "the replacement would evict more than %u transactions",
                      ARB_MEMPOOL_MAX_REPLACEMENTS);
    /* Rule 2: no new unconfirmed inputs, except outputs of transactions whose
     * outputs a direct conflict already spent. */
    if (n_dc > 0) {
        uint64_t ep_pc = new_epoch(mp);
        for (uint32_t i = 0; i < n_dc; i++) {
            const ent *d = &mp->e[dc[i]];
            for (size_t k = 0; k < d->tx.n_in; k++) {
                uint32_t q = tt_find(mp, &d->tx.in[k].txid);
                if (q != NONE)
                    mp->e[q].m_pc = ep_pc;
            }
        }
        for (size_t k = 0; k < tx->n_in; k++) {
            uint32_t q = tt_find(mp, &tx->in[k].txid);
            if (q != NONE && mp->e[q].m_pc != ep_pc)
                return reject(res, "rbf-adds-unconfirmed", k,
                              "the replacement spends an unconfirmed output the replaced "
                              "transactions did not spend");
        }
    }

    /* Ancestors, with the package limits. */
    uint64_t ep_anc = new_epoch(mp);
    uint32_t n_anc = 0;
    uint64_t anc_size = size, anc_fees = fee;
    for (size_t k = 0; k < tx->n_in; k++) {
        uint32_t q = tt_find(mp, &tx->in[k].txid);
        if (q == NONE || mp->e[q].m_anc == ep_anc)
            continue;
        if (!u32_push(&par, &n_par, &cap_par, q)) {
            free(par);
            return ARB_ERR_NOMEM;
        }
        mp->e[q].m_anc = ep_anc;
        if (n_anc + 1 >= ARB_MEMPOOL_ANCESTOR_LIMIT) {
            free(par);
            return reject(res, "too-many-unconfirmed-ancestors", SIZE_MAX,
                          "more than %u unconfirmed ancestors", ARB_MEMPOOL_ANCESTOR_LIMIT - 1);
        }
        mp->aset[n_anc++] = q;
    }
    for (uint32_t h = 0; h < n_anc; h++) {
        const ent *x = &mp->e[mp->aset[h]];
        anc_size += x->size;
        anc_fees += x->fee;
        for (uint32_t i = 0; i < x->n_par; i++) {
            uint32_t q = x->par[i];
            if (mp->e[q].m_anc == ep_anc)
                continue;
            mp->e[q].m_anc = ep_anc;
            if (n_anc + 1 >= ARB_MEMPOOL_ANCESTOR_LIMIT) {
                free(par);
                return reject(res, "too-many-unconfirmed-ancestors", SIZE_MAX,
                              "more than %u unconfirmed ancestors",
                              ARB_MEMPOOL_ANCESTOR_LIMIT - 1);
            }
            mp->aset[n_anc++] = q;
        }
    }
    if (anc_size > ARB_MEMPOOL_ANCESTOR_SIZE_LIMIT) {
        free(par);
        return reject(res, "exceeds-ancestor-size-limit", SIZE_MAX,
                      "the package with its ancestors is %llu bytes, over %u",
                      (unsigned long long)anc_size, ARB_MEMPOOL_ANCESTOR_SIZE_LIMIT);
    }

    uint64_t conf_fees = 0;
    if (n_conf > 0) {
        /* Core's EntriesAndTxidsDisjoint: no ancestor is being replaced. */
        for (uint32_t i = 0; i < n_anc; i++)
            if (mp->e[mp->aset[i]].m_conf == ep_conf) {
                free(par);
                return reject(res, "rbf-spends-conflicting-tx", SIZE_MAX,
                              "the replacement spends an output of a transaction it replaces");
            }
        /* Rules 3 and 4: pays for what it evicts, and for its own relay. */
        for (uint32_t i = 0; i < n_conf; i++)
            conf_fees += mp->e[mp->set[i]].fee;
        if (fee < conf_fees) {
            free(par);
            return reject(res, "rbf-fee-below-replaced", SIZE_MAX,
                          "fee %llu is below the %llu the replaced transactions pay",
                          (unsigned long long)fee, (unsigned long long)conf_fees);
        }
        if (fee - conf_fees < fee_at(ARB_MEMPOOL_INCREMENTAL_FEERATE, size)) {
            free(par);
            return reject(res, "rbf-increment-too-low", SIZE_MAX,
                          "the fee rises by %llu, less than the %llu the incremental relay fee "
                          "asks for %zu bytes",
                          (unsigned long long)(fee - conf_fees),
                          (unsigned long long)fee_at(ARB_MEMPOOL_INCREMENTAL_FEERATE, size),
                          size);
        }
        /* Descendants of our ancestors that are being replaced no longer count. */
        uint64_t ep_sc = new_epoch(mp);
        for (uint32_t i = 0; i < n_conf; i++) {
            uint32_t x = mp->set[i], n = walk_ancestors(mp, x);
            for (uint32_t j = 0; j < n; j++) {
                ent *a = &mp->e[mp->walk[j]];
                if (a->m_anc != ep_anc)
                    continue;
                if (a->m_sc != ep_sc) {
                    a->m_sc = ep_sc;
                    a->sc_count = 0;
                    a->sc_size = 0;
                }
                a->sc_count++;
                a->sc_size += mp->e[x].size;
            }
        }
        for (uint32_t i = 0; i < n_anc; i++) {
            ent *a = &mp->e[mp->aset[i]];
            if (a->m_sc != ep_sc) {
                a->m_sc = ep_sc;
                a->sc_count = 0;
                a->sc_size = 0;
            }
        }
    }
    for (uint32_t i = 0; i < n_anc; i++) {
        const ent *a = &mp->e[mp->aset[i]];
        uint64_t dc_n = a->desc_count - (n_conf ? a->sc_count : 0);
        uint64_t dc_s = a->desc_size - (n_conf ? a->sc_size : 0);
        if (dc_n + 1 > ARB_MEMPOOL_DESCENDANT_LIMIT) {
            free(par);
            return reject(res, "too-many-descendants", SIZE_MAX,
                          "an unconfirmed ancestor would get more than %u descendants",
                          ARB_MEMPOOL_DESCENDANT_LIMIT);
        }
        if (dc_s + size > ARB_MEMPOOL_DESCENDANT_SIZE_LIMIT) {
            free(par);
            return reject(res, "exceeds-descendant-size-limit", SIZE_MAX,
                          "an unconfirmed ancestor's descendants would exceed %u bytes",
                          ARB_MEMPOOL_DESCENDANT_SIZE_LIMIT);
        }
    }

    /* Payload transactions: the policy bounds, then the state check. */
    arb_sview *newv = NULL; /* a replacement's: the view without what it replaces */
    int applied = 0;        /* the pool's view now holds tx */
    arb_sview_memo memo = {(uint8_t)((flags & ACCEPT_NOSIG) != 0), 0};
    uint8_t pk_kind = 0, pk_key[32] = {0}, sender[32] = {0};
    int has_sender = 0;
    if (tx->payload_type != 0) {
        uint32_t conf_pl = 0, conf_key = 0;
        size_t conf_pl_bytes = 0;
        arb_coin coin;
        pk_kind = arb_sview_payload_key(c->sha, tx, pk_key);
        for (uint32_t i = 0; i < n_conf; i++) {
            const ent *d = &mp->e[mp->set[i]];
            if (d->tx.payload_type == 0)
                continue;
            conf_pl++;
            conf_pl_bytes += d->size;
            conf_key += pk_kind != 0 && d->pm->pk_kind == pk_kind &&
                        memcmp(d->pm->pk_key, pk_key, 32) == 0;
        }
        if (mp->n_payload - conf_pl + 1 > ARB_MEMPOOL_MAX_PAYLOAD_TXS ||
            mp->payload_bytes - conf_pl_bytes + size > payload_bytes_cap(mp)) {
            free(par);
            mp->ps.rejected_full++;
            return reject(res, "mempool-payload-full", SIZE_MAX,
                          "the mempool holds %u name and anchor transactions (%zu bytes), its "
                          "limit is %u (%zu bytes)",
                          mp->n_payload, mp->payload_bytes, ARB_MEMPOOL_MAX_PAYLOAD_TXS,
                          payload_bytes_cap(mp));
        }
        if (pk_kind != 0 &&
            pk_count(mp, pk_kind, pk_key) - conf_key + 1 > per_record_limit(pk_kind)) {
            free(par);
            mp->ps.rejected_per_record++;
            if (pk_kind == ARB_SREC_ANCHOR)
                return reject(res, "too-many-pending-anchors", SIZE_MAX,
                              "the log already has %u anchors in the mempool",
                              ARB_MEMPOOL_MAX_ANCHORS_PER_LOG);
            return reject(res, "too-many-pending-name-ops", SIZE_MAX,
                          "the name already has %u operations in the mempool",
                          ARB_MEMPOOL_MAX_OPS_PER_NAME);
        }
        if (!pk_reserve(mp)) {
            free(par);
            return ARB_ERR_NOMEM;
        }
        if (pool_lookup(&l, &tx->in[0], &coin)) {
            memcpy(sender, coin.key, 32);
            has_sender = 1;
        }
    }
    if (tx->payload_type != 0 && chain->state_get != NULL) {
        /* Against the tip's state after the pool's earlier payloads, less
         * those this transaction replaces: the pool's view, or for a
         * replacement of a payload transaction a view rebuilt without it
         * (no signature verified again). */
        const char *why = NULL;
        int repl = 0;
        for (uint32_t i = 0; i < n_conf; i++)
            repl |= mp->e[mp->set[i]].tx.payload_type != 0;
        if (!has_sender) {
            why = "bad-txns-inputs-missingorspent";
        } else {
            arb_sview *v = NULL;
            if (repl) {
                err = view_build(mp, chain, ep_conf, &newv, NULL, NULL);
                v = newv;
            } else {
                err = view_sync(mp, chain);
                v = mp->sv;
            }
            if (err == ARB_OK) {
                err = view_apply(mp, v, tx, sender, chain->next_height, &memo, &why);
                if (err == ARB_ERR_VERIFY)
                    err = ARB_OK;
                else if (err == ARB_OK)
                    applied = !repl;
                else if (!repl)
                    mp->sv_ok = 0; /* the view may be half-changed */
                /* A refused operation leaves the records it read in the
                 * view: a flood of refused ones must not grow it without
                 * end. Past the bound the view is dropped and rebuilt from
                 * the pending ones (no signature verified again). */
                if (why != NULL && !repl &&
                    arb_sview_count(mp->sv) > view_entries_cap(mp)) {
                    arb_sview_free(mp->sv);
                    mp->sv = NULL;
                    mp->sv_ok = 0;
                }
            }
        }
        if (err != ARB_OK || why != NULL) {
            arb_sview_free(newv);
            free(par);
            if (err != ARB_OK)
                return err;
            return reject(res, why, SIZE_MAX, "%s: the operation does not apply to the chain's "
                          "state after the pool's earlier operations", why);
        }
    } else if (tx->payload_type != 0 && chain->state != NULL) {
        /* The reference: every pending payload applied again, through
         * chain->state. */
        uint32_t *ids;
        uint8_t *ok;
        const char **reasons;
        size_t n;
        if ((err = state_run(mp, chain, tx, n_conf > 0 ? ep_conf : 0, &ids, &ok, &reasons,
                             &n)) != ARB_OK) {
            free(par);
            return err;
        }
        const char *why = n > 0 && !ok[n - 1] ? reasons[n - 1] : NULL;
        free(ids);
        free(ok);
        free(reasons);
        if (why != NULL) {
            free(par);
            return reject(res, why, SIZE_MAX, "%s: the operation does not apply to the chain's "
                          "state after the pool's earlier operations", why);
        }
    }

    /* Everything that can fail to allocate, before the pool changes. */
    for (uint32_t i = 0; i < n_par; i++) {
        ent *q = &mp->e[par[i]];
        if (q->n_ch == q->cap_ch) {
            uint32_t cc = q->cap_ch ? q->cap_ch * 2 : 4;
            uint32_t *nc = realloc(q->ch, (size_t)cc * sizeof *nc);
            if (nc == NULL) {
                free(par);
                arb_sview_free(newv);
                if (applied)
                    mp->sv_ok = 0;
                return ARB_ERR_NOMEM;
            }
            q->ch = nc;
            q->cap_ch = cc;
        }
    }
    pmeta *pm = NULL;
    arb_tx_init(&copy);
    if ((err = arb_tx_copy(&copy, tx)) != ARB_OK ||
        (tx->payload_type != 0 && (pm = calloc(1, sizeof *pm)) == NULL)) {
        arb_tx_clear(&copy);
        free(par);
        arb_sview_free(newv);
        if (applied)
            mp->sv_ok = 0;
        return err != ARB_OK ? err : ARB_ERR_NOMEM;
    }

    /* Commit: evict the replaced, then link the newcomer. */
    if (n_conf > 0)
        remove_set(mp, n_conf); /* frees slots and keeps the ancestors' totals right */
    uint32_t id = slot_take(mp);
    ent *x = &mp->e[id];
    x->tx = copy;
    x->txid = txid;
    x->fee = fee;
    x->size = (uint32_t)size;
    x->live = 1;
    x->seq = ++mp->seq;
    x->time = when >= 0 ? when : now_s(mp);
    x->par = par;
    x->n_par = n_par;
    x->cap_par = cap_par;
    x->anc_count = n_anc + 1;
    x->anc_size = anc_size;
    x->anc_fees = anc_fees;
    x->desc_count = 1;
    x->desc_size = size;
    x->desc_fees = fee;
    x->pm = pm;
    if (pm != NULL) {
        pm->has_sender = (uint8_t)has_sender;
        memcpy(pm->sender, sender, 32);
        pm->memo = memo;
        pm->memo.sig_checked = 0;
        pm->pk_kind = pk_kind;
        memcpy(pm->pk_key, pk_key, 32);
        if (pk_kind != 0)
            pk_add(mp, pk_kind, pk_key);
        mp->n_payload++;
        mp->payload_bytes += size;
        if (newv != NULL)
            view_install(mp, chain, newv); /* the pool's view from now on */
        else if (!applied)
            mp->sv_ok = 0;
    }
    for (uint32_t i = 0; i < n_par; i++) {
        ent *q = &mp->e[par[i]];
        q->ch[q->n_ch++] = id;
    }
    x->prev = mp->tail;
    x->next = NONE;
    if (mp->tail != NONE)
        mp->e[mp->tail].next = id;
    else
        mp->head = id;
    mp->tail = id;
    tt_put(mp->tt, mp->tt_cap, mp, id);
    for (size_t k = 0; k < tx->n_in; k++) {
        opslot s = {id, (uint32_t)k};
        ot_put(mp->ot, mp->ot_cap, mp, s);
        mp->ot_n++;
    }
    heap_push(mp, id);
    /* ancestors' descendant totals (walked again: replacement may have
     * changed nothing here, but aset was overwritten by remove_set's walks) */
    uint32_t n = walk_ancestors(mp, id);
    for (uint32_t i = 0; i < n; i++) {
        ent *a = &mp->e[mp->walk[i]];
        a->desc_count++;
        a->desc_size += size;
        a->desc_fees += fee;
        heap_fix(mp, mp->walk[i]);
    }
    mp->count++;
    mp->bytes += size;
    mp->total_fees += fee;
    mp->generation++;
    res->fees = fee;

    if (!(flags & ACCEPT_BYPASS)) {
        trim(mp);
        if (tt_find(mp, &txid) == NONE)
            return reject(res, "mempool-full", SIZE_MAX,
                          "the mempool is full and this package pays the lowest fee rate");
    }
    if (txid_out)
        *txid_out = txid;
    return ARB_OK;
}

/* ---------------------------------------------------------------- public */

arb_err arb_mempool_state_recheck(arb_mempool *mp, const arb_mempool_chain *chain,
                                  size_t *dropped)
{
    arb_err err = ARB_OK;
    size_t total = 0;
    if (dropped)
        *dropped = 0;
    if (chain->state == NULL && chain->state_get == NULL)
        return ARB_OK;
    pthread_mutex_lock(&mp->mu);
    /* A dropped operation can make a later one fail (an anchor checked
     * against a pending one): again until everything left applies. */
    for (;;) {
        uint32_t *ids;
        uint8_t *ok = NULL;
        const char **reasons = NULL;
        size_t n, bad = 0;
        if (chain->state_get != NULL) {
            /* The pool's view rebuilt on the new tip (no signature verified
             * again); ids lists the entries that no longer apply. */
            arb_sview *v = NULL;
            if ((ids = malloc(((size_t)mp->n_payload + 1) * sizeof *ids)) == NULL) {
                err = ARB_ERR_NOMEM;
                break;
            }
            if ((err = view_build(mp, chain, 0, &v, ids, &n)) != ARB_OK) {
                free(ids);
                break;
            }
            if (n == 0)
                view_install(mp, chain, v);
            else
                arb_sview_free(v);
        } else if ((err = state_run(mp, chain, NULL, 0, &ids, &ok, &reasons, &n)) != ARB_OK) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if ((ok != NULL && ok[i]) || !mp->e[ids[i]].live)
                continue;
            uint32_t before = mp->count;
            remove_package(mp, ids[i]);
            total += before - mp->count;
            bad++;
        }
        free(ids);
        free(ok);
        free(reasons);
        if (bad == 0)
            break;
    }
    pthread_mutex_unlock(&mp->mu);
    if (dropped)
        *dropped = total;
    return err;
}

int arb_mempool_state_check(arb_mempool *mp, const arb_mempool_chain *chain, arb_errbuf *eb)
{
    arb_sview *ref = NULL;
    int same = 0;
    arb_err err;
    pthread_mutex_lock(&mp->mu);
    lookup_ctx l = {mp, chain};
    if ((err = view_sync(mp, chain)) != ARB_OK) {
        arb_errf(eb, err, "cannot bring the pool's state view up to date");
        goto out;
    }
    /* The reference: every pending payload applied afresh, with its
     * signature, and its sender looked up again. */
    if ((err = arb_sview_new(&ref, mp->np, chain->state_get, chain->state_get_ud)) != ARB_OK) {
        arb_errf(eb, err, "cannot make a state view");
        goto out;
    }
    for (uint32_t i = mp->head; i != NONE; i = mp->e[i].next) {
        const arb_tx *t = &mp->e[i].tx;
        arb_coin coin;
        const char *why;
        if (t->payload_type == 0 || !pool_lookup(&l, &t->in[0], &coin))
            continue;
        err = arb_sview_apply(ref, mp->sha, t, 1, coin.key, chain->next_height, &why);
        if (err != ARB_OK && err != ARB_ERR_VERIFY) {
            arb_errf(eb, err, "cannot apply a pending payload");
            goto out;
        }
    }
    same = arb_sview_same(mp->sv, ref);
    if (!same)
        arb_errf(eb, ARB_ERR_INTERNAL, "the pool's state view differs from a rebuild");
out:
    arb_sview_free(ref);
    pthread_mutex_unlock(&mp->mu);
    return same;
}

void arb_mempool_payload_stats_get(arb_mempool *mp, arb_mempool_payload_stats *out)
{
    pthread_mutex_lock(&mp->mu);
    *out = mp->ps;
    out->count = mp->n_payload;
    out->view_entries = mp->sv != NULL ? arb_sview_count(mp->sv) : 0;
    out->bytes = mp->payload_bytes;
    pthread_mutex_unlock(&mp->mu);
}

arb_err arb_mempool_new(arb_mempool **out, const arb_chain_params *p, const arb_mempool_opts *o)
{
    *out = NULL;
    arb_mempool *mp = calloc(1, sizeof *mp);
    if (mp == NULL)
        return ARB_ERR_NOMEM;
    if (pthread_mutex_init(&mp->mu, NULL) != 0) {
        free(mp);
        return ARB_ERR_NOMEM;
    }
    mp->p = p;
    mp->max_bytes = o && o->max_bytes ? o->max_bytes : ARB_MEMPOOL_DEFAULT_MAX_BYTES;
    if (o) {
        mp->now = o->now;
        mp->now_ud = o->now_ud;
    }
    mp->head = mp->tail = NONE;
    uint64_t k[2];
    if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        k[0] = mix64((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)mp);
        k[1] = mix64((uint64_t)ts.tv_sec + k[0]);
    }
    mp->k0 = k[0];
    mp->k1 = k[1];
    mp->np = arb_names_params_get(p->name);
    if (arb_sha256_new(&mp->sha) != ARB_OK) {
        pthread_mutex_destroy(&mp->mu);
        free(mp);
        return ARB_ERR_NOMEM;
    }
    *out = mp;
    return ARB_OK;
}

static void clear_all(arb_mempool *mp)
{
    for (uint32_t i = 0; i < mp->n_slots; i++)
        if (mp->e[i].live) {
            arb_tx_clear(&mp->e[i].tx);
            free(mp->e[i].par);
            free(mp->e[i].ch);
            free(mp->e[i].pm);
            mp->e[i].pm = NULL;
        }
    mp->n_slots = mp->n_free = 0;
    mp->count = 0;
    mp->bytes = 0;
    mp->total_fees = 0;
    mp->heap_n = 0;
    mp->head = mp->tail = NONE;
    mp->ot_n = 0;
    if (mp->tt)
        memset(mp->tt, 0xff, mp->tt_cap * sizeof *mp->tt);
    if (mp->ot)
        memset(mp->ot, 0xff, mp->ot_cap * sizeof *mp->ot);
    mp->n_payload = 0;
    mp->payload_bytes = 0;
    if (mp->pk)
        memset(mp->pk, 0, mp->pk_cap * sizeof *mp->pk);
    mp->sv_ok = 0;
    mp->generation++;
}

void arb_mempool_free(arb_mempool *mp)
{
    if (mp == NULL)
        return;
    clear_all(mp);
    free(mp->e);
    free(mp->free_ids);
    free(mp->heap);
    free(mp->walk);
    free(mp->set);
    free(mp->aset);
    free(mp->tt);
    free(mp->ot);
    free(mp->pk);
    arb_sview_free(mp->sv);
    arb_sha256_free(mp->sha);
    pthread_mutex_destroy(&mp->mu);
    free(mp);
}

arb_err arb_mempool_accept(arb_mempool *mp, const arb_chain_checker *c,
                           const arb_mempool_chain *chain, const arb_tx *tx, arb_hash *txid_out,
                           arb_check_result *res)
{
    pthread_mutex_lock(&mp->mu);
    arb_err err = accept_locked(mp, c, chain, tx, -1, 0, txid_out, res);
    if (err == ARB_OK)
        mp->tip = chain->tip;
    pthread_mutex_unlock(&mp->mu);
    return err;
}

void arb_mempool_set_tip(arb_mempool *mp, const arb_hash *tip)
{
    pthread_mutex_lock(&mp->mu);
    mp->tip = *tip;
    mp->generation++;
    pthread_mutex_unlock(&mp->mu);
}

void arb_mempool_block_connected(arb_mempool *mp, arb_sha256 *sha, const arb_block *b)
{
    pthread_mutex_lock(&mp->mu);
    for (size_t t = 0; t < b->n_tx; t++) {
        const arb_tx *tx = &b->tx[t];
        arb_hash id;
        if (arb_tx_is_coinbase(tx))
            continue;
        if (arb_tx_txid(sha, &id, tx) == ARB_OK) {
            uint32_t i = tt_find(mp, &id);
            if (i != NONE) {
                remove_one(mp, i); /* confirmed: its children stay */
                continue;
            }
        }
        for (size_t k = 0; k < tx->n_in; k++) {
            uint32_t s = ot_find(mp, &tx->in[k]);
            if (s != NONE)
                remove_package(mp, s); /* conflicts with the block */
        }
    }
    arb_header_hash(sha, &mp->tip, &b->header);
    mp->rolling_last = now_s(mp);
    mp->block_since_bump = 1;
    mp->generation++;
    pthread_mutex_unlock(&mp->mu);
}

arb_err arb_mempool_resync(arb_mempool *mp, const arb_chain_checker *c,
                           const arb_mempool_chain *chain, const arb_tx *txs, size_t n)
{
    arb_check_result res;
    arb_err err = ARB_OK;
    pthread_mutex_lock(&mp->mu);
    size_t n_old = mp->count, j = 0;
    arb_tx *old = n_old ? calloc(n_old, sizeof *old) : NULL;
    int64_t *when = n_old ? calloc(n_old, sizeof *when) : NULL;
    if (n_old && (old == NULL || when == NULL)) {
        free(old);
        free(when);
        pthread_mutex_unlock(&mp->mu);
        return ARB_ERR_NOMEM;
    }
    for (uint32_t i = mp->head; i != NONE; i = mp->e[i].next) {
        old[j] = mp->e[i].tx; /* moved out */
        when[j++] = mp->e[i].time;
        arb_tx_init(&mp->e[i].tx);
    }
    clear_all(mp);
    int64_t now = now_s(mp);
    /* Every transaction here had its signatures verified (in a connected
     * block or at admission) and a reorg cannot change what they sign. */
    for (size_t i = 0; i < n && err != ARB_ERR_NOMEM; i++)
        if (!arb_tx_is_coinbase(&txs[i]))
            err = accept_locked(mp, c, chain, &txs[i], now, ACCEPT_BYPASS | ACCEPT_NOSIG, NULL,
                                &res);
    for (size_t i = 0; i < n_old && err != ARB_ERR_NOMEM; i++)
        err = accept_locked(mp, c, chain, &old[i], when[i], ACCEPT_BYPASS | ACCEPT_NOSIG, NULL,
                            &res);
    trim(mp);
    mp->tip = chain->tip;
    mp->generation++;
    pthread_mutex_unlock(&mp->mu);
    for (size_t i = 0; i < n_old; i++)
        arb_tx_clear(&old[i]);
    free(old);
    free(when);
    return err == ARB_ERR_NOMEM ? err : ARB_OK;
}

arb_err arb_mempool_get(arb_mempool *mp, const arb_hash *txid, arb_tx *dst,
                        arb_mempool_entry_info *info)
{
    arb_err err = ARB_ERR_NOT_FOUND;
    pthread_mutex_lock(&mp->mu);
    uint32_t i = tt_find(mp, txid);
    if (i != NONE) {
        const ent *x = &mp->e[i];
        err = dst ? arb_tx_copy(dst, &x->tx) : ARB_OK;
        if (info) {
            info->fee = x->fee;
            info->size = x->size;
            info->time = x->time;
            info->seq = x->seq;
            info->anc_count = x->anc_count;
            info->anc_size = x->anc_size;
            info->anc_fees = x->anc_fees;
            info->desc_count = x->desc_count;
            info->desc_size = x->desc_size;
            info->desc_fees = x->desc_fees;
        }
    }
    pthread_mutex_unlock(&mp->mu);
    return err;
}

int arb_mempool_spends(arb_mempool *mp, const arb_outpoint *op)
{
    pthread_mutex_lock(&mp->mu);
    int r = ot_find(mp, op) != NONE;
    pthread_mutex_unlock(&mp->mu);
    return r;
}

void arb_mempool_stats(arb_mempool *mp, size_t *count, size_t *bytes)
{
    pthread_mutex_lock(&mp->mu);
    if (count)
        *count = mp->count;
    if (bytes)
        *bytes = mp->bytes;
    pthread_mutex_unlock(&mp->mu);
}

void arb_mempool_info_get(arb_mempool *mp, arb_mempool_info *out)
{
    pthread_mutex_lock(&mp->mu);
    out->count = mp->count;
    out->bytes = mp->bytes;
    out->max_bytes = mp->max_bytes;
    out->total_fees = mp->total_fees;
    out->rolling_min_fee_rate = min_fee_rate(mp);
    out->min_relay_fee_rate = ARB_MEMPOOL_MIN_RELAY_FEERATE;
    out->incremental_fee_rate = ARB_MEMPOOL_INCREMENTAL_FEERATE;
    out->min_fee_rate = out->rolling_min_fee_rate > out->min_relay_fee_rate
                            ? out->rolling_min_fee_rate
                            : out->min_relay_fee_rate;
    out->generation = mp->generation;
    out->tip = mp->tip;
    pthread_mutex_unlock(&mp->mu);
}

void arb_mempool_foreach(arb_mempool *mp, arb_mempool_tx_fn fn, void *ud)
{
    pthread_mutex_lock(&mp->mu);
    for (uint32_t i = mp->head; i != NONE; i = mp->e[i].next)
        if (fn(ud, &mp->e[i].txid, &mp->e[i].tx, mp->e[i].fee))
            break;
    pthread_mutex_unlock(&mp->mu);
}

/* ---------------------------------------------------------------- block templates */

enum { S_INBLOCK = 1, S_HASMOD = 2, S_FAILED = 4 };

/* A main-heap key: the ancestor totals copied out of the entry, so heap
 * operations walk one compact array instead of the whole slot array. */
typedef struct {
    uint64_t fees, size;
    uint32_t id;
} hkey;

typedef struct {
    const arb_mempool *mp;
    uint8_t *st;
    uint64_t *mod_size, *mod_fees;
    hkey *heap;
    uint32_t n_heap;          /* by ancestor score (max first) */
    uint32_t *mheap, n_mheap; /* by modified ancestor score */
    uint32_t *mpos;           /* position in mheap or NONE */
} sel;

/* 1 if package (fa, sa, id a) ranks above (fb, sb, id b): higher fee rate,
 * ties the smaller txid (bytewise). */
static int pkg_better(const arb_mempool *mp, uint64_t fa, uint64_t sa, uint32_t a, uint64_t fb,
                      uint64_t sb, uint32_t b)
{
    if (frac_lt(fb, sb, fa, sa))
        return 1;
    if (frac_lt(fa, sa, fb, sb))
        return 0;
    return memcmp(mp->e[a].txid.b, mp->e[b].txid.b, 32) < 0;
}

static int main_better(const sel *s, const hkey *a, const hkey *b)
{
    return pkg_better(s->mp, a->fees, a->size, a->id, b->fees, b->size, b->id);
}

static int mod_better(const sel *s, uint32_t a, uint32_t b)
{
    return pkg_better(s->mp, s->mod_fees[a], s->mod_size[a], a, s->mod_fees[b], s->mod_size[b],
                      b);
}

static void main_down(sel *s, uint32_t pos)
{
    hkey k = s->heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, best = pos;
        const hkey *b = &k;
        if (l < s->n_heap && main_better(s, &s->heap[l], b)) {
            best = l;
            b = &s->heap[l];
        }
        if (r < s->n_heap && main_better(s, &s->heap[r], b)) {
            best = r;
            b = &s->heap[r];
        }
        if (best == pos)
            break;
        s->heap[pos] = *b;
        pos = best;
    }
    s->heap[pos] = k;
}

static void main_pop(sel *s)
{
    s->heap[0] = s->heap[--s->n_heap];
    if (s->n_heap > 0)
        main_down(s, 0);
}

static void mset(sel *s, uint32_t pos, uint32_t id)
{
    s->mheap[pos] = id;
    s->mpos[id] = pos;
}

static void mod_up(sel *s, uint32_t pos)
{
    uint32_t id = s->mheap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!mod_better(s, id, s->mheap[parent]))
            break;
        mset(s, pos, s->mheap[parent]);
        pos = parent;
    }
    mset(s, pos, id);
}

static void mod_down(sel *s, uint32_t pos)
{
    uint32_t id = s->mheap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, best = pos, bid = id;
        if (l < s->n_mheap && mod_better(s, s->mheap[l], bid)) {
            best = l;
            bid = s->mheap[l];
        }
        if (r < s->n_mheap && mod_better(s, s->mheap[r], bid)) {
            best = r;
            bid = s->mheap[r];
        }
        if (best == pos)
            break;
        mset(s, pos, bid);
        pos = best;
    }
    mset(s, pos, id);
}

static void mod_remove(sel *s, uint32_t id)
{
    uint32_t pos = s->mpos[id], last = s->mheap[--s->n_mheap];
    s->mpos[id] = NONE;
    if (pos == s->n_mheap)
        return;
    mset(s, pos, last);
    mod_up(s, pos);
    mod_down(s, s->mpos[last]);
}

/* 1 if a goes before b in a topological order: fewer ancestors, then older. */
static int topo_before(const arb_mempool *mp, uint32_t a, uint32_t b)
{
    const ent *x = &mp->e[a], *y = &mp->e[b];
    if (x->anc_count != y->anc_count)
        return x->anc_count < y->anc_count;
    return x->seq < y->seq;
}

static arb_err select_locked(arb_mempool *mp, size_t max_bytes, arb_tx **out, size_t *n_out,
                             uint64_t *fees)
{
    sel s;
    memset(&s, 0, sizeof s);
    s.mp = mp;
    uint32_t n = mp->n_slots;
    arb_err err = ARB_OK;
    arb_tx *res = NULL;
    size_t cnt = 0, cap = 0, used = 0;
    uint64_t total = 0;
    uint32_t *pkg = NULL;
    if (n > 0) {
        s.st = calloc(n, 1);
        s.mod_size = malloc(n * sizeof *s.mod_size);
        s.mod_fees = malloc(n * sizeof *s.mod_fees);
        s.heap = malloc(n * sizeof *s.heap);
        s.mheap = malloc(n * sizeof *s.mheap);
        s.mpos = malloc(n * sizeof *s.mpos);
        pkg = malloc(ARB_MEMPOOL_ANCESTOR_LIMIT * 2 * sizeof *pkg);
        if (!s.st || !s.mod_size || !s.mod_fees || !s.heap || !s.mheap || !s.mpos || !pkg) {
            err = ARB_ERR_NOMEM;
            goto out;
        }
        memset(s.mpos, 0xff, n * sizeof *s.mpos);
        for (uint32_t i = mp->head; i != NONE; i = mp->e[i].next) {
            hkey *k = &s.heap[s.n_heap++];
            k->fees = mp->e[i].anc_fees;
            k->size = mp->e[i].anc_size;
            k->id = i;
        }
        for (uint32_t i = s.n_heap / 2; i-- > 0;)
            main_down(&s, i);
    }
    unsigned fails = 0;
    for (;;) {
        while (s.n_heap > 0 && (s.st[s.heap[0].id] & (S_INBLOCK | S_HASMOD | S_FAILED)))
            main_pop(&s);
        int have_main = s.n_heap > 0, have_mod = s.n_mheap > 0, use_mod;
        if (!have_main && !have_mod)
            break;
        uint32_t cand;
        if (!have_main)
            use_mod = 1;
        else if (!have_mod)
            use_mod = 0;
        else {
            const hkey *x = &s.heap[0];
            uint32_t m = s.mheap[0];
            use_mod = pkg_better(mp, s.mod_fees[m], s.mod_size[m], m, x->fees, x->size, x->id);
        }
        cand = use_mod ? s.mheap[0] : s.heap[0].id;
        uint64_t psize = use_mod ? s.mod_size[cand] : mp->e[cand].anc_size;
        uint64_t pfees = use_mod ? s.mod_fees[cand] : mp->e[cand].anc_fees;
        if (pfees < fee_at(ARB_MEMPOOL_MIN_RELAY_FEERATE, psize))
            break; /* everything left pays less */
        if (used + psize > max_bytes) {
            if (use_mod)
                mod_remove(&s, cand);
            else
                main_pop(&s);
            s.st[cand] |= S_FAILED;
            if (++fails > 1000 && used + 4000 > max_bytes)
                break;
            continue;
        }
        /* The package: cand and its ancestors not yet in the block. */
        uint64_t ep = new_epoch(mp);
        uint32_t np = 0;
        pkg[np++] = cand;
        mp->e[cand].m_walk = ep;
        for (uint32_t h = 0; h < np; h++) {
            const ent *x = &mp->e[pkg[h]];
            for (uint32_t i = 0; i < x->n_par; i++) {
                uint32_t q = x->par[i];
                if (mp->e[q].m_walk != ep && !(s.st[q] & S_INBLOCK) &&
                    np < 2 * ARB_MEMPOOL_ANCESTOR_LIMIT) {
                    mp->e[q].m_walk = ep;
                    pkg[np++] = q; /* at most the 25 ancestors */
                }
            }
        }
        for (uint32_t i = 1; i < np; i++) { /* np <= 25 */
            uint32_t v = pkg[i], j = i;
            while (j > 0 && topo_before(mp, v, pkg[j - 1])) {
                pkg[j] = pkg[j - 1];
                j--;
            }
            pkg[j] = v;
        }
        if (cnt + np > cap) {
            size_t nc = cap ? cap * 2 : 256;
            while (nc < cnt + np)
                nc *= 2;
            arb_tx *nr = realloc(res, nc * sizeof *nr);
            if (nr == NULL) {
                err = ARB_ERR_NOMEM;
                goto out;
            }
            res = nr;
            cap = nc;
        }
        for (uint32_t i = 0; i < np; i++) {
            uint32_t t = pkg[i];
            arb_tx_init(&res[cnt]);
            if ((err = arb_tx_copy(&res[cnt], &mp->e[t].tx)) != ARB_OK) {
                arb_tx_clear(&res[cnt]);
                goto out;
            }
            cnt++;
            s.st[t] |= S_INBLOCK;
            if (s.mpos[t] != NONE)
                mod_remove(&s, t);
            used += mp->e[t].size;
            total += mp->e[t].fee;
        }
        fails = 0;
        /* Descendants of what was added now pay for fewer ancestors. */
        for (uint32_t i = 0; i < np; i++) {
            uint32_t t = pkg[i], nd = walk_descendants(mp, t);
            for (uint32_t j = 0; j < nd; j++) {
                uint32_t d = mp->walk[j];
                if (s.st[d] & S_INBLOCK)
                    continue;
                if (!(s.st[d] & S_HASMOD)) {
                    s.st[d] |= S_HASMOD;
                    s.mod_size[d] = mp->e[d].anc_size;
                    s.mod_fees[d] = mp->e[d].anc_fees;
                }
                s.mod_size[d] -= mp->e[t].size;
                s.mod_fees[d] -= mp->e[t].fee;
                if (s.st[d] & S_FAILED)
                    continue;
                if (s.mpos[d] == NONE) {
                    mset(&s, s.n_mheap++, d);
                    mod_up(&s, s.n_mheap - 1);
                } else {
                    mod_up(&s, s.mpos[d]);
                    mod_down(&s, s.mpos[d]);
                }
            }
        }
    }
out:
    free(s.st);
    free(s.mod_size);
    free(s.mod_fees);
    free(s.heap);
    free(s.mheap);
    free(s.mpos);
    free(pkg);
    if (err != ARB_OK) {
        for (size_t i = 0; i < cnt; i++)
            arb_tx_clear(&res[i]);
        free(res);
        return err;
    }
    *out = res;
    *n_out = cnt;
    *fees = total;
    return ARB_OK;
}

arb_err arb_mempool_select(arb_mempool *mp, size_t max_bytes, arb_tx **out, size_t *n_out,
                           uint64_t *fees, arb_hash *tip, uint64_t *generation)
{
    *out = NULL;
    *n_out = 0;
    *fees = 0;
    pthread_mutex_lock(&mp->mu);
    arb_err err = select_locked(mp, max_bytes, out, n_out, fees);
    if (tip)
        *tip = mp->tip;
    if (generation)
        *generation = mp->generation;
    pthread_mutex_unlock(&mp->mu);
    return err;
}

/* ---------------------------------------------------------------- consistency (tests) */

int arb_mempool_check_consistency(arb_mempool *mp, arb_errbuf *eb)
{
    int ok = 0;
    pthread_mutex_lock(&mp->mu);
    size_t cnt = 0, bytes = 0, ins = 0, tt_n = 0, ot_n = 0;
    uint64_t fees = 0;
    uint32_t prev = NONE;
    for (uint32_t i = mp->head; i != NONE; prev = i, i = mp->e[i].next) {
        const ent *x = &mp->e[i];
        if (!x->live || x->prev != prev) {
            arb_errf(eb, ARB_ERR_INTERNAL, "arrival list broken at slot %u", i);
            goto out;
        }
        if (cnt > mp->count) {
            arb_errf(eb, ARB_ERR_INTERNAL, "arrival list loops");
            goto out;
        }
        cnt++;
        bytes += x->size;
        fees += x->fee;
        ins += x->tx.n_in;
        if (tt_find(mp, &x->txid) != i) {
            arb_errf(eb, ARB_ERR_INTERNAL, "txid index misses slot %u", i);
            goto out;
        }
        for (size_t k = 0; k < x->tx.n_in; k++)
            if (ot_find(mp, &x->tx.in[k]) != i) {
                arb_errf(eb, ARB_ERR_INTERNAL, "outpoint index misses input %zu of slot %u", k, i);
                goto out;
            }
        /* parents: exactly the in-pool txids among the inputs */
        uint32_t np = 0;
        uint64_t ep = new_epoch(mp);
        for (size_t k = 0; k < x->tx.n_in; k++) {
            uint32_t q = tt_find(mp, &x->tx.in[k].txid);
            if (q != NONE && mp->e[q].m_walk != ep) {
                mp->e[q].m_walk = ep;
                np++;
                int found = 0;
                for (uint32_t j = 0; j < x->n_par; j++)
                    found |= x->par[j] == q;
                int back = 0;
                for (uint32_t j = 0; j < mp->e[q].n_ch; j++)
                    back |= mp->e[q].ch[j] == i;
                if (!found || !back) {
                    arb_errf(eb, ARB_ERR_INTERNAL, "parent link %u -> %u missing", q, i);
                    goto out;
                }
            }
        }
        for (uint32_t j = 0; j < x->n_ch; j++) {
            const ent *c = &mp->e[x->ch[j]];
            int back = 0;
            for (uint32_t q = 0; c->live && q < c->n_par; q++)
                back |= c->par[q] == i;
            if (!back) {
                arb_errf(eb, ARB_ERR_INTERNAL, "child link %u -> %u is stale", i, x->ch[j]);
                goto out;
            }
        }
        if (np != x->n_par) {
            arb_errf(eb, ARB_ERR_INTERNAL, "slot %u has %u parents, expected %u", i, x->n_par, np);
            goto out;
        }
        uint32_t na = walk_ancestors(mp, i);
        uint64_t as = x->size, af = x->fee;
        for (uint32_t j = 0; j < na; j++) {
            as += mp->e[mp->walk[j]].size;
            af += mp->e[mp->walk[j]].fee;
        }
        if (na + 1 != x->anc_count || as != x->anc_size || af != x->anc_fees) {
            arb_errf(eb, ARB_ERR_INTERNAL, "ancestor totals of slot %u are stale", i);
            goto out;
        }
        uint32_t nd = walk_descendants(mp, i);
        uint64_t ds = x->size, df = x->fee;
        for (uint32_t j = 0; j < nd; j++) {
            ds += mp->e[mp->walk[j]].size;
            df += mp->e[mp->walk[j]].fee;
        }
        if (nd + 1 != x->desc_count || ds != x->desc_size || df != x->desc_fees) {
            arb_errf(eb, ARB_ERR_INTERNAL, "descendant totals of slot %u are stale", i);
            goto out;
        }
        ekey k;
        ekey_of(mp, i, &k);
        if (x->heap >= mp->heap_n || mp->heap[x->heap].id != i ||
            memcmp(&mp->heap[x->heap], &k, offsetof(ekey, id) + sizeof k.id) != 0) {
            arb_errf(eb, ARB_ERR_INTERNAL, "slot %u is missing or stale in the eviction heap", i);
            goto out;
        }
    }
    if (cnt != mp->count || bytes != mp->bytes || fees != mp->total_fees ||
        mp->heap_n != mp->count || ins != mp->ot_n) {
        arb_errf(eb, ARB_ERR_INTERNAL, "pool totals are stale");
        goto out;
    }
    for (uint32_t pos = 1; pos < mp->heap_n; pos++)
        if (ekey_before(&mp->heap[pos], &mp->heap[(pos - 1) / 2])) {
            arb_errf(eb, ARB_ERR_INTERNAL, "eviction heap order broken at %u", pos);
            goto out;
        }
    for (size_t i = 0; i < mp->tt_cap; i++)
        if (mp->tt[i] != NONE)
            tt_n++;
    for (size_t i = 0; i < mp->ot_cap; i++)
        if (mp->ot[i].e != NONE)
            ot_n++;
    if (tt_n != mp->count || ot_n != mp->ot_n) {
        arb_errf(eb, ARB_ERR_INTERNAL, "hash tables hold stale slots");
        goto out;
    }
    ok = 1;
out:
    pthread_mutex_unlock(&mp->mu);
    return ok;
}

/* ---------------------------------------------------------------- persistence */

static const uint8_t FILE_MAGIC[8] = {'A', 'R', 'B', 'M', 'P', 'O', 'O', 'L'};
#define FILE_HEADER (8 + 4 + 32 + 8)

arb_err arb_mempool_file_parse(const arb_chain_params *p, arb_sha256 *sha, const uint8_t *data,
                               size_t len, arb_mempool_file_fn fn, void *ud, arb_errbuf *eb)
{
    uint8_t sum[32];
    arb_hash net;
    if (len < FILE_HEADER + 32)
        return arb_errf(eb, ARB_ERR_PARSE, "mempool file too short (%zu bytes)", len);
    if (memcmp(data, FILE_MAGIC, 8) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "not a mempool file (bad magic)");
    arb_sha256_digest(sha, sum, data, len - 32);
    if (memcmp(sum, data + len - 32, 32) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "mempool file checksum mismatch");
    arb_cur c = arb_cur_make(data + 8, len - 8 - 32);
    uint32_t version;
    uint64_t count;
    const uint8_t *netb;
    if (!arb_cur_u32le(&c, &version) || !arb_cur_view(&c, &netb, 32) ||
        !arb_cur_u64le(&c, &count))
        return arb_errf(eb, ARB_ERR_PARSE, "mempool file header truncated");
    if (version != ARB_MEMPOOL_FILE_VERSION)
        return arb_errf(eb, ARB_ERR_PARSE, "mempool file version %u (this build reads %u)",
                        version, ARB_MEMPOOL_FILE_VERSION);
    arb_chain_network_id(p, &net);
    if (memcmp(netb, net.b, 32) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "mempool file is for another network");
    /* each record takes at least 8 + 1 + ARB_TX_MIN_SIZE bytes */
    if (count > c.len / (9 + ARB_TX_MIN_SIZE))
        return arb_errf(eb, ARB_ERR_PARSE, "mempool file count %llu does not fit its length",
                        (unsigned long long)count);
    arb_cur body = c;
    arb_tx tx;
    arb_tx_init(&tx);
    for (int pass = 0; pass < 2; pass++) {
        c = body;
        for (uint64_t i = 0; i < count; i++) {
            uint64_t t, n;
            const uint8_t *raw;
            arb_errbuf teb;
            if (!arb_cur_u64le(&c, &t) || !arb_cur_compact(&c, &n) || n == 0 ||
                n > ARB_MEMPOOL_MAX_TX_SIZE || !arb_cur_view(&c, &raw, (size_t)n)) {
                arb_tx_clear(&tx);
                return arb_errf(eb, ARB_ERR_PARSE, "mempool file record %llu is truncated",
                                (unsigned long long)i);
            }
            arb_err err = arb_tx_decode(&tx, raw, (size_t)n, &teb);
            if (err != ARB_OK) {
                arb_tx_clear(&tx);
                if (err == ARB_ERR_NOMEM)
                    return err;
                return arb_errf(eb, ARB_ERR_PARSE, "mempool file record %llu: %s",
                                (unsigned long long)i, teb.msg);
            }
            if (pass == 1 && fn(ud, (int64_t)t, &tx))
                break;
        }
        if (pass == 0 && c.len != 0) {
            arb_tx_clear(&tx);
            return arb_errf(eb, ARB_ERR_PARSE, "mempool file has %zu trailing bytes", c.len);
        }
    }
    arb_tx_clear(&tx);
    return ARB_OK;
}

typedef struct {
    uint64_t anc_count, seq;
    uint32_t id;
} save_key;

static int cmp_save(const void *a, const void *b)
{
    const save_key *x = a, *y = b;
    if (x->anc_count != y->anc_count)
        return x->anc_count < y->anc_count ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

arb_err arb_mempool_save(arb_mempool *mp, const char *path, size_t *n_out, arb_errbuf *eb)
{
    arb_buf b = ARB_BUF_INIT;
    arb_sha256 *sha = NULL;
    arb_hash net;
    save_key *ids = NULL;
    arb_err err;

    if (n_out)
        *n_out = 0;
    if ((err = arb_sha256_new(&sha)) != ARB_OK)
        return arb_errf(eb, err, "out of memory");
    pthread_mutex_lock(&mp->mu);
    size_t n = mp->count, j = 0;
    ids = n ? malloc(n * sizeof *ids) : NULL;
    if (n && ids == NULL) {
        pthread_mutex_unlock(&mp->mu);
        arb_sha256_free(sha);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = mp->head; i != NONE; i = mp->e[i].next) {
        ids[j].anc_count = mp->e[i].anc_count;
        ids[j].seq = mp->e[i].seq;
        ids[j++].id = i;
    }
    if (n > 1)
        qsort(ids, n, sizeof *ids, cmp_save); /* parents before children */
    arb_chain_network_id(mp->p, &net);
    arb_buf_put(&b, FILE_MAGIC, 8);
    arb_buf_u32le(&b, ARB_MEMPOOL_FILE_VERSION);
    arb_buf_put(&b, net.b, 32);
    arb_buf_u64le(&b, n);
    for (size_t i = 0; i < n && !b.oom; i++) {
        const ent *x = &mp->e[ids[i].id];
        arb_buf_u64le(&b, (uint64_t)x->time);
        arb_buf_compact(&b, x->size);
        arb_tx_write(&b, &x->tx, 1);
    }
    pthread_mutex_unlock(&mp->mu);
    free(ids);
    if (!b.oom && arb_buf_reserve(&b, 32)) {
        uint8_t sum[32];
        arb_sha256_digest(sha, sum, b.data, b.len);
        arb_buf_put(&b, sum, 32);
    }
    arb_sha256_free(sha);
    if (b.oom) {
        arb_buf_free(&b);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    /* Written beside it and renamed over it, the directory synced. */
    err = arb_file_replace(path, b.data, b.len, eb);
    arb_buf_free(&b);
    if (err == ARB_OK && n_out)
        *n_out = n;
    return err;
}

typedef struct {
    arb_mempool *mp;
    const arb_chain_checker *c;
    const arb_mempool_chain *chain;
    size_t ok, bad;
    int nomem;
} load_ctx;

static int load_one(void *ud, int64_t t, const arb_tx *tx)
{
    load_ctx *l = ud;
    arb_check_result res;
    arb_err err = accept_locked(l->mp, l->c, l->chain, tx, t, 0, NULL, &res);
    if (err == ARB_OK)
        l->ok++;
    else
        l->bad++;
    if (err == ARB_ERR_NOMEM) {
        l->nomem = 1;
        return 1;
    }
    return 0;
}

arb_err arb_mempool_load(arb_mempool *mp, const arb_chain_checker *c,
                         const arb_mempool_chain *chain, const char *path, size_t *accepted,
                         size_t *rejected, arb_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    arb_err err;
    if (accepted)
        *accepted = 0;
    if (rejected)
        *rejected = 0;
    /* A file over twice the pool's size is not one this pool wrote. */
    err = arb_file_read(path, mp->max_bytes * 2 + ((size_t)1 << 20), &data, &len, eb);
    if (err == ARB_ERR_NOT_FOUND)
        return ARB_OK;
    if (err != ARB_OK)
        return err;
    load_ctx l = {mp, c, chain, 0, 0, 0};
    pthread_mutex_lock(&mp->mu);
    err = arb_mempool_file_parse(mp->p, c->sha, data, len, load_one, &l, eb);
    mp->tip = chain->tip;
    pthread_mutex_unlock(&mp->mu);
    free(data);
    if (err == ARB_OK && l.nomem)
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if (accepted)
        *accepted = l.ok;
    if (rejected)
        *rejected = l.bad;
    return err;
}
