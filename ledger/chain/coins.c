#include "ledger/chain/coins.h"

#include <stdlib.h>
#include <string.h>

enum { USED = 1 };

typedef struct {
    arb_outpoint op;
    arb_coin coin;
    uint8_t flags;
} entry;

struct arb_coins {
    entry *e;
    size_t cap; /* a power of two, or 0 */
    size_t n;
};

#define MIN_CAP 16
/* A table larger than this is given back at a clear (a cache that was full
 * once need not keep its memory through a quiet time). */
#define KEEP_CAP ((size_t)1 << 16)

arb_err arb_coins_new(arb_coins **out)
{
    *out = calloc(1, sizeof **out);
    return *out != NULL ? ARB_OK : ARB_ERR_NOMEM;
}

void arb_coins_free(arb_coins *c)
{
    if (c == NULL)
        return;
    free(c->e);
    free(c);
}

static size_t slot_of(const arb_outpoint *op, size_t mask)
{
    /* txids are SHA-256 outputs: their first bytes are already uniform. */
    uint64_t h;
    memcpy(&h, op->txid.b, 8);
    h ^= (uint64_t)op->index * 0x9e3779b97f4a7c15ULL;
    return (size_t)h & mask;
}

static int op_eq(const arb_outpoint *a, const arb_outpoint *b)
{
    return a->index == b->index && memcmp(a->txid.b, b->txid.b, 32) == 0;
}

/* The slot holding op, or the empty slot where it goes. cap > 0. */
static entry *find(entry *tab, size_t cap, const arb_outpoint *op)
{
    size_t mask = cap - 1;
    for (size_t i = slot_of(op, mask);; i = (i + 1) & mask)
        if (!(tab[i].flags & USED) || op_eq(&tab[i].op, op))
            return &tab[i];
}

int arb_coins_get(const arb_coins *c, const arb_outpoint *op, arb_coin *out)
{
    if (c->n == 0)
        return -1;
    const entry *e = find(c->e, c->cap, op);
    if (!(e->flags & USED))
        return -1;
    if (e->flags & ARB_COIN_SPENT)
        return 0;
    *out = e->coin;
    return 1;
}

/* Capacity for n entries at a load of at most one half. */
static size_t cap_for(size_t n)
{
    size_t cap = MIN_CAP;
    while (cap / 2 < n)
        cap *= 2;
    return cap;
}

size_t arb_coins_bytes_with(const arb_coins *c, size_t extra)
{
    size_t cap = cap_for(c->n + extra);
    return (cap > c->cap ? cap : c->cap) * sizeof(entry);
}

size_t arb_coins_count(const arb_coins *c)
{
    return c->n;
}

arb_err arb_coins_reserve(arb_coins *c, size_t extra)
{
    size_t cap = cap_for(c->n + extra);
    entry *tab;
    if (cap <= c->cap)
        return ARB_OK;
    if ((tab = calloc(cap, sizeof *tab)) == NULL)
        return ARB_ERR_NOMEM;
    for (size_t i = 0; i < c->cap; i++)
        if (c->e[i].flags & USED)
            *find(tab, cap, &c->e[i].op) = c->e[i];
    free(c->e);
    c->e = tab;
    c->cap = cap;
    return ARB_OK;
}

void arb_coins_add(arb_coins *c, const arb_outpoint *op, const arb_coin *coin)
{
    entry *e = find(c->e, c->cap, op);
    if (e->flags & USED) {
        /* Re-created after a spend in the cache: the disk may still hold the
         * old copy, so it is written over (not FRESH), unless the spent one
         * never reached the disk. */
        e->coin = *coin;
        e->flags &= (uint8_t)~ARB_COIN_SPENT;
        return;
    }
    e->op = *op;
    e->coin = *coin;
    e->flags = USED | ARB_COIN_FRESH;
    c->n++;
}

void arb_coins_spend(arb_coins *c, const arb_outpoint *op, const arb_coin *coin)
{
    entry *e = find(c->e, c->cap, op);
    if (e->flags & USED) {
        e->flags |= ARB_COIN_SPENT;
        return;
    }
    e->op = *op;
    e->coin = *coin;
    e->flags = USED | ARB_COIN_SPENT;
    c->n++;
}

void arb_coins_each(const arb_coins *c,
                    void (*fn)(void *ud, const arb_outpoint *op, const arb_coin *coin,
                               unsigned flags),
                    void *ud)
{
    for (size_t i = 0; i < c->cap && c->n > 0; i++)
        if (c->e[i].flags & USED)
            fn(ud, &c->e[i].op, &c->e[i].coin, c->e[i].flags & (ARB_COIN_FRESH | ARB_COIN_SPENT));
}

void arb_coins_clear(arb_coins *c)
{
    if (c->cap > KEEP_CAP) {
        free(c->e);
        c->e = NULL;
        c->cap = 0;
    } else if (c->n > 0) {
        memset(c->e, 0, c->cap * sizeof *c->e);
    }
    c->n = 0;
}
