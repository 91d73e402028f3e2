/* See hset.h. */
#include "ledger/names/hset.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static size_t slot_of(const arb_hset *h, const uint8_t key[static 32])
{
    uint64_t x = h->k0;
    for (int i = 0; i < 4; i++) {
        x ^= load64(key + 8 * i);
        x *= 0x9e3779b97f4a7c15ULL;
        x ^= x >> 29;
        x += h->k1;
    }
    x ^= x >> 32;
    return (size_t)x & (h->cap - 1);
}

void arb_hset_init(arb_hset *h)
{
    memset(h, 0, sizeof *h);
    uint64_t k[2] = {0, 0};
    if (RAND_bytes((unsigned char *)k, sizeof k) != 1) {
        k[0] = (uint64_t)(uintptr_t)h * 0x9e3779b97f4a7c15ULL;
        k[1] = ~k[0];
    }
    h->k0 = k[0];
    h->k1 = k[1] | 1;
}

void arb_hset_clear(arb_hset *h)
{
    free(h->slot);
    h->slot = NULL;
    h->cap = h->n = 0;
}

uint32_t *arb_hset_get(const arb_hset *h, const uint8_t key[static 32])
{
    if (h->n == 0)
        return NULL;
    for (size_t i = slot_of(h, key);; i = (i + 1) & (h->cap - 1)) {
        arb_hset_slot *s = &h->slot[i];
        if (!s->used)
            return NULL;
        if (memcmp(s->key, key, 32) == 0)
            return &s->val;
    }
}

static int grow(arb_hset *h)
{
    size_t cap = h->cap ? 2 * h->cap : 64;
    if (cap > SIZE_MAX / sizeof(arb_hset_slot))
        return 0;
    arb_hset_slot *old = h->slot, *s = calloc(cap, sizeof *s);
    size_t oldcap = h->cap;
    if (s == NULL)
        return 0;
    h->slot = s;
    h->cap = cap;
    for (size_t j = 0; j < oldcap; j++) {
        if (!old[j].used)
            continue;
        size_t i = slot_of(h, old[j].key);
        while (s[i].used)
            i = (i + 1) & (cap - 1);
        s[i] = old[j];
    }
    free(old);
    return 1;
}

int arb_hset_put(arb_hset *h, const uint8_t key[static 32], uint32_t val)
{
    uint32_t *v = arb_hset_get(h, key);
    if (v != NULL) {
        *v = val;
        return 1;
    }
    if (2 * (h->n + 1) > h->cap && !grow(h))
        return 0;
    size_t i = slot_of(h, key);
    while (h->slot[i].used)
        i = (i + 1) & (h->cap - 1);
    memcpy(h->slot[i].key, key, 32);
    h->slot[i].val = val;
    h->slot[i].used = 1;
    h->n++;
    return 1;
}

int arb_hset_del(arb_hset *h, const uint8_t key[static 32])
{
    if (h->n == 0)
        return 0;
    size_t m = h->cap - 1, i = slot_of(h, key);
    while (h->slot[i].used && memcmp(h->slot[i].key, key, 32) != 0)
        i = (i + 1) & m;
    if (!h->slot[i].used)
        return 0;
    /* Backward shift: move later entries of the run into the hole when their
     * home slot does not lie (cyclically) between the hole and them. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & m;
        if (!h->slot[j].used)
            break;
        size_t home = slot_of(h, h->slot[j].key);
        if (((j - home) & m) >= ((j - i) & m)) {
            h->slot[i] = h->slot[j];
            i = j;
        }
    }
    memset(&h->slot[i], 0, sizeof h->slot[i]);
    h->n--;
    return 1;
}
