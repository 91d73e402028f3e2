/* A set of 32-byte hashes, each with a 32-bit value: open addressing with
 * linear probing and backward-shift deletion, at most half full. Slots are
 * chosen by a hash keyed with a secret drawn at init, so a peer that picks
 * the hashes it sends cannot aim them at one run of slots.
 *
 * Not thread-safe: one owner at a time. */
#ifndef ARB_NAMES_HSET_H
#define ARB_NAMES_HSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t key[32];
    uint32_t val;
    uint32_t used; /* 0 / 1 */
} arb_hset_slot;

typedef struct {
    arb_hset_slot *slot;
    size_t cap; /* 0 or a power of two */
    size_t n;
    uint64_t k0, k1;
} arb_hset;

/* An empty set with a fresh secret. */
void arb_hset_init(arb_hset *h);
/* Frees the table; the set is empty again (and usable). */
void arb_hset_clear(arb_hset *h);
/* The value of key, or NULL when absent (valid until the set changes). */
uint32_t *arb_hset_get(const arb_hset *h, const uint8_t key[static 32]);
/* Inserts key with val, or sets val if key is there. Returns 1, or 0 when
 * out of memory (nothing changed). */
int arb_hset_put(arb_hset *h, const uint8_t key[static 32], uint32_t val);
/* Removes key. Returns 1 if it was there, else 0. */
int arb_hset_del(arb_hset *h, const uint8_t key[static 32]);

#endif
