/* Token buckets per client. See ratelimit.h. */
#include "ledger/log/ratelimit.h"

#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 64

typedef struct {
    char key[KEY_MAX]; /* "" : free slot */
    double tokens;
    uint64_t last_ms;
} bucket;

struct arb_ratelimit {
    pthread_mutex_t mu;
    bucket *slots; /* open addressing, linear probing; cap = 2 * max */
    size_t cap, max, used;
};

arb_err arb_ratelimit_new(arb_ratelimit **out, size_t max_clients)
{
    arb_ratelimit *rl;

    *out = NULL;
    if (max_clients == 0)
        max_clients = 4096;
    if (max_clients > (SIZE_MAX / sizeof(bucket)) / 2)
        return ARB_ERR_INVALID_ARG;
    if ((rl = calloc(1, sizeof(*rl))) == NULL)
        return ARB_ERR_NOMEM;
    rl->max = max_clients;
    rl->cap = 2 * max_clients;
    if ((rl->slots = calloc(rl->cap, sizeof(bucket))) == NULL) {
        free(rl);
        return ARB_ERR_NOMEM;
    }
    pthread_mutex_init(&rl->mu, NULL);
    *out = rl;
    return ARB_OK;
}

void arb_ratelimit_free(arb_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

/* The bucket key of a client: IPv6 addresses cut to their /64. */
static void client_key(char out[KEY_MAX], const char *client)
{
    unsigned char a[16];

    if (strchr(client, ':') != NULL && inet_pton(AF_INET6, client, a) == 1) {
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, v4mapped, 12) == 0) {
            inet_ntop(AF_INET, a + 12, out, KEY_MAX);
            return;
        }
        memset(a + 8, 0, 8);
        inet_ntop(AF_INET6, a, out, KEY_MAX - 4);
        strcat(out, "/64");
        return;
    }
    snprintf(out, KEY_MAX, "%s", client);
}

static size_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return (size_t)h;
}

static void refill(bucket *b, double rate, unsigned burst, uint64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
        b->last_ms = now_ms;
    }
    if (b->tokens > (double)burst)
        b->tokens = (double)burst;
}

/* Re-inserts every kept bucket (after removals; linear probing has no
 * tombstones). */
static void rehash(arb_ratelimit *rl, bucket *old)
{
    size_t i;

    memset(rl->slots, 0, rl->cap * sizeof(bucket));
    rl->used = 0;
    for (i = 0; i < rl->cap; i++) {
        size_t j;
        if (old[i].key[0] == 0)
            continue;
        for (j = hash_key(old[i].key) % rl->cap; rl->slots[j].key[0]; j = (j + 1) % rl->cap) {
        }
        rl->slots[j] = old[i];
        rl->used++;
    }
}

/* Makes room for one more bucket: drops the buckets that are full again
 * (idle clients), or else the least recently used one. */
static void make_room(arb_ratelimit *rl, double rate, unsigned burst, uint64_t now_ms)
{
    bucket *copy = malloc(rl->cap * sizeof(bucket));
    size_t i, lru = SIZE_MAX, dropped = 0;

    if (copy == NULL) {
        /* Cannot rebuild: forget every client (fails open, never closed). */
        memset(rl->slots, 0, rl->cap * sizeof(bucket));
        rl->used = 0;
        return;
    }
    memcpy(copy, rl->slots, rl->cap * sizeof(bucket));
    for (i = 0; i < rl->cap; i++) {
        if (copy[i].key[0] == 0)
            continue;
        refill(&copy[i], rate, burst, now_ms);
        if (copy[i].tokens >= (double)burst) {
            copy[i].key[0] = 0;
            dropped++;
        } else if (lru == SIZE_MAX || copy[i].last_ms < copy[lru].last_ms) {
            lru = i;
        }
    }
    if (dropped == 0 && lru != SIZE_MAX)
        copy[lru].key[0] = 0;
    rehash(rl, copy);
    free(copy);
}

int arb_ratelimit_take(arb_ratelimit *rl, const char *client, double rate, unsigned burst,
                       uint64_t now_ms, unsigned *retry_after_s)
{
    char key[KEY_MAX];
    size_t j;
    bucket *b;
    int ok;

    if (retry_after_s != NULL)
        *retry_after_s = 0;
    if (!(rate > 0) || burst == 0)
        return 1;
    client_key(key, client != NULL && client[0] ? client : "?");
    pthread_mutex_lock(&rl->mu);
    for (j = hash_key(key) % rl->cap; rl->slots[j].key[0] && strcmp(rl->slots[j].key, key) != 0;
         j = (j + 1) % rl->cap) {
    }
    if (rl->slots[j].key[0] == 0) {
        if (rl->used >= rl->max) {
            make_room(rl, rate, burst, now_ms);
            for (j = hash_key(key) % rl->cap; rl->slots[j].key[0]; j = (j + 1) % rl->cap) {
            }
        }
        memcpy(rl->slots[j].key, key, KEY_MAX);
        rl->slots[j].tokens = (double)burst;
        rl->slots[j].last_ms = now_ms;
        rl->used++;
    }
    b = &rl->slots[j];
    refill(b, rate, burst, now_ms);
    ok = b->tokens >= 1.0;
    if (ok) {
        b->tokens -= 1.0;
    } else if (retry_after_s != NULL) {
        double s = ceil((1.0 - b->tokens) / rate);
        *retry_after_s = s < 1 ? 1 : s > 86400 ? 86400 : (unsigned)s;
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

size_t arb_ratelimit_clients(arb_ratelimit *rl)
{
    size_t n;

    pthread_mutex_lock(&rl->mu);
    n = rl->used;
    pthread_mutex_unlock(&rl->mu);
    return n;
}
