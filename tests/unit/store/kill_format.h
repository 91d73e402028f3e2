/* The batches the crash test writes, shared by the writer process
 * (store_helper writer) and the checker (test_store_kill.c).
 *
 * Batch n (n >= 1) writes three keys across two column families that all
 * encode n, plus the head counter:
 *   cf "a": "x" || be64(n) -> "n=<n>"
 *           "y" || be64(n) -> 100 bytes, byte i = (n * 31 + i) mod 256
 *   cf "b": "z" || be64(n) -> be64(n)
 *           "head"         -> n (8 bytes little-endian)
 * A batch is whole when all three keys are present with these values. */
#ifndef ARB_TESTS_UNIT_STORE_KILL_FORMAT_H
#define ARB_TESTS_UNIT_STORE_KILL_FORMAT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/store/store.h"

#define KILL_CF_A 0
#define KILL_CF_B 1
#define KILL_HEAD_KEY "head"
#define KILL_YLEN 100

static inline void kill_key(uint8_t key[9], char tag, uint64_t n)
{
    key[0] = (uint8_t)tag;
    for (int i = 0; i < 8; i++)
        key[1 + i] = (uint8_t)(n >> (56 - 8 * i));
}

static inline size_t kill_value(uint8_t *out, char tag, uint64_t n)
{
    switch (tag) {
    case 'x':
        return (size_t)snprintf((char *)out, 32, "n=%llu", (unsigned long long)n);
    case 'y':
        for (size_t i = 0; i < KILL_YLEN; i++)
            out[i] = (uint8_t)((n * 31 + i) & 0xff);
        return KILL_YLEN;
    default:
        for (int i = 0; i < 8; i++)
            out[i] = (uint8_t)(n >> (56 - 8 * i));
        return 8;
    }
}

static inline void kill_fill_batch(arb_store_batch *b, uint64_t n)
{
    static const char tags[3] = {'x', 'y', 'z'};
    uint8_t key[9], val[KILL_YLEN];

    for (int t = 0; t < 3; t++) {
        size_t vl = kill_value(val, tags[t], n);
        kill_key(key, tags[t], n);
        arb_store_batch_put(b, t < 2 ? KILL_CF_A : KILL_CF_B, key, sizeof key, val, vl);
    }
    arb_store_batch_put_u64(b, KILL_CF_B, (const uint8_t *)KILL_HEAD_KEY,
                            sizeof KILL_HEAD_KEY - 1, n);
}

/* How many of batch n's three keys are present with the right value (0..3);
 * -1 if a key holds a wrong value or the read fails. */
static inline int kill_present(const arb_store *s, uint64_t n)
{
    static const char tags[3] = {'x', 'y', 'z'};
    uint8_t key[9], want[KILL_YLEN], got[KILL_YLEN];
    int count = 0;

    for (int t = 0; t < 3; t++) {
        size_t wl = kill_value(want, tags[t], n), gl;
        arb_err err;
        kill_key(key, tags[t], n);
        err = arb_store_get_into(s, NULL, t < 2 ? KILL_CF_A : KILL_CF_B, key, sizeof key, got,
                                 sizeof got, &gl, NULL);
        if (err == ARB_ERR_NOT_FOUND)
            continue;
        if (err != ARB_OK || gl != wl || memcmp(got, want, wl) != 0)
            return -1;
        count++;
    }
    return count;
}

#endif
