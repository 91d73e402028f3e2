/* The zone-file store (see zonefiles.h and docs/names.md).
 *
 * Column family "zonefiles": 'z' || SHA-256 (33 bytes) -> the zone file;
 * "n" -> the number of stored files (u64, written in the same batch). */
#include "ledger/names/zonefiles.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/names/hset.h"

#define KEY_LEN 33

struct arb_zonefiles {
    arb_store *store;
    unsigned cf;
    arb_zonefiles_oracle oracle;
    pthread_mutex_t mu;
    /* under mu */
    arb_sha256 *sha;
    arb_zonefiles_stored_fn hook;
    void *hook_ud;
    uint64_t count;
    arb_hset missing; /* value: the generation of the scan that last saw it */
    int scanning, pending, truncated;
    uint32_t gen;
    uint8_t cursor[32];
    int have_cursor;
};

static const char *const cf_names[ARB_ZONEFILES_CF_COUNT] = {"zonefiles"};
static const uint8_t count_key[1] = {'n'};

const char *const *arb_zonefiles_cf_names(void)
{
    return cf_names;
}

static void make_key(uint8_t key[static KEY_LEN], const uint8_t hash32[static 32])
{
    key[0] = 'z';
    memcpy(key + 1, hash32, 32);
}

arb_err arb_zonefiles_open(arb_zonefiles **out, arb_store *s, unsigned cf,
                           const arb_zonefiles_oracle *oracle, arb_errbuf *eb)
{
    arb_zonefiles *z;
    arb_err err;
    *out = NULL;
    if (s == NULL || oracle == NULL || oracle->onchain == NULL || oracle->each == NULL)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "zone files: no store or oracle");
    if ((z = calloc(1, sizeof *z)) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if (arb_sha256_new(&z->sha) != ARB_OK) {
        free(z);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    z->store = s;
    z->cf = cf;
    z->oracle = *oracle;
    pthread_mutex_init(&z->mu, NULL);
    arb_hset_init(&z->missing);
    err = arb_store_get_u64(s, NULL, cf, count_key, sizeof count_key, &z->count, eb);
    if (err != ARB_OK && err != ARB_ERR_NOT_FOUND) {
        arb_zonefiles_free(z);
        return err;
    }
    z->pending = 1; /* the first scan */
    *out = z;
    return ARB_OK;
}

void arb_zonefiles_free(arb_zonefiles *z)
{
    if (z == NULL)
        return;
    arb_hset_clear(&z->missing);
    arb_sha256_free(z->sha);
    pthread_mutex_destroy(&z->mu);
    free(z);
}

void arb_zonefiles_set_hook(arb_zonefiles *z, arb_zonefiles_stored_fn fn, void *ud)
{
    pthread_mutex_lock(&z->mu);
    z->hook = fn;
    z->hook_ud = fn ? ud : NULL;
    pthread_mutex_unlock(&z->mu);
}

static int stored(arb_zonefiles *z, const uint8_t hash32[static 32])
{
    uint8_t key[KEY_LEN];
    int found = 0;
    make_key(key, hash32);
    if (arb_store_exists(z->store, NULL, z->cf, key, sizeof key, &found, NULL) != ARB_OK)
        return 0;
    return found;
}

arb_err arb_zonefiles_add(arb_zonefiles *z, const uint8_t *zf, size_t len,
                          const uint8_t *expect32, uint8_t hash32[static 32], int *is_new,
                          arb_errbuf *eb)
{
    uint8_t key[KEY_LEN];
    arb_store_batch *b = NULL;
    arb_zonefiles_stored_fn hook;
    void *hook_ud;
    arb_err err;
    if (is_new != NULL)
        *is_new = 0;
    if (len > ARB_NAMES_ZONEFILE_MAX) {
        memset(hash32, 0, 32);
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "zone file of %zu bytes (at most %d)", len,
                        ARB_NAMES_ZONEFILE_MAX);
    }
    pthread_mutex_lock(&z->mu);
    err = arb_names_zonefile_hash(z->sha, hash32, zf, len);
    pthread_mutex_unlock(&z->mu);
    if (err != ARB_OK)
        return arb_errf(eb, err, "zone file hash");
    if (expect32 != NULL && memcmp(expect32, hash32, 32) != 0)
        return arb_errf(eb, ARB_ERR_VERIFY, "zone file does not match its hash");
    if (z->oracle.onchain(z->oracle.ud, hash32) != 1)
        return arb_errf(eb, ARB_ERR_NOT_FOUND, "zone file hash not on chain");
    make_key(key, hash32);
    pthread_mutex_lock(&z->mu);
    if (stored(z, hash32)) {
        arb_hset_del(&z->missing, hash32);
        pthread_mutex_unlock(&z->mu);
        return ARB_OK;
    }
    if ((err = arb_store_batch_new(&b, z->store)) != ARB_OK) {
        pthread_mutex_unlock(&z->mu);
        return arb_errf(eb, err, "out of memory");
    }
    arb_store_batch_put(b, z->cf, key, sizeof key, zf, len);
    arb_store_batch_put_u64(b, z->cf, count_key, sizeof count_key, z->count + 1);
    err = arb_store_write(z->store, b, ARB_STORE_SYNC, eb);
    arb_store_batch_free(b);
    if (err != ARB_OK) {
        pthread_mutex_unlock(&z->mu);
        return err;
    }
    z->count++;
    arb_hset_del(&z->missing, hash32);
    if (z->truncated) { /* room again: a scan finds what did not fit */
        z->truncated = 0;
        z->pending = 1;
    }
    hook = z->hook;
    hook_ud = z->hook_ud;
    pthread_mutex_unlock(&z->mu);
    if (is_new != NULL)
        *is_new = 1;
    if (hook != NULL)
        hook(hook_ud, hash32);
    return ARB_OK;
}

arb_err arb_zonefiles_get(arb_zonefiles *z, const uint8_t hash32[static 32], uint8_t **out,
                          size_t *len, arb_errbuf *eb)
{
    uint8_t key[KEY_LEN];
    make_key(key, hash32);
    return arb_store_get(z->store, NULL, z->cf, key, sizeof key, out, len, eb);
}

int arb_zonefiles_has(arb_zonefiles *z, const uint8_t hash32[static 32])
{
    return stored(z, hash32);
}

arb_err arb_zonefiles_list(arb_zonefiles *z, const uint8_t *after32, uint8_t (*out)[32],
                           size_t cap, size_t *n)
{
    static const uint8_t prefix[1] = {'z'};
    arb_store_iter *it;
    arb_err err;
    *n = 0;
    if (cap == 0)
        return ARB_OK;
    err = arb_store_iter_new_prefix(&it, z->store, NULL, z->cf, prefix, 1, NULL);
    if (err != ARB_OK)
        return err;
    if (after32 != NULL) {
        uint8_t key[KEY_LEN];
        make_key(key, after32);
        arb_store_iter_seek(it, key, sizeof key);
        if (arb_store_iter_valid(it)) {
            size_t kl;
            const uint8_t *k = arb_store_iter_key(it, &kl);
            if (kl == KEY_LEN && memcmp(k, key, KEY_LEN) == 0)
                arb_store_iter_next(it);
        }
    } else {
        arb_store_iter_first(it);
    }
    for (; *n < cap && arb_store_iter_valid(it); arb_store_iter_next(it)) {
        size_t kl;
        const uint8_t *k = arb_store_iter_key(it, &kl);
        if (kl == KEY_LEN)
            memcpy(out[(*n)++], k + 1, 32);
    }
    err = arb_store_iter_valid(it) ? ARB_OK : arb_store_iter_error(it, NULL);
    arb_store_iter_free(it);
    return err;
}

uint64_t arb_zonefiles_count(arb_zonefiles *z)
{
    pthread_mutex_lock(&z->mu);
    uint64_t c = z->count;
    pthread_mutex_unlock(&z->mu);
    return c;
}

/* ---------------------------------------------------------------- missing set */

void arb_zonefiles_tip_changed(arb_zonefiles *z)
{
    pthread_mutex_lock(&z->mu);
    z->pending = 1;
    pthread_mutex_unlock(&z->mu);
}

typedef struct {
    uint8_t (*h)[32];
    size_t n, cap;
} collect;

static int collect_fn(void *ud, const uint8_t hash32[32])
{
    collect *c = ud;
    memcpy(c->h[c->n++], hash32, 32);
    return c->n == c->cap;
}

/* With z->mu held: drops the entries the finished scan did not see. */
static void sweep(arb_zonefiles *z)
{
    size_t i = 0;
    while (i < z->missing.cap) {
        arb_hset_slot *s = &z->missing.slot[i];
        if (s->used && s->val != z->gen) {
            uint8_t k[32];
            memcpy(k, s->key, 32);
            arb_hset_del(&z->missing, k);
            continue; /* another entry may have shifted into slot i */
        }
        i++;
    }
}

int arb_zonefiles_scan_step(arb_zonefiles *z, size_t max_hashes)
{
    collect c = {NULL, 0, max_hashes ? max_hashes : 1};
    uint8_t after[32];
    int have_after, more;
    uint32_t gen;
    arb_err err;
    pthread_mutex_lock(&z->mu);
    if (!z->scanning) {
        if (!z->pending) {
            pthread_mutex_unlock(&z->mu);
            return 0;
        }
        z->scanning = 1;
        z->pending = 0;
        z->truncated = 0;
        z->gen++;
        z->have_cursor = 0;
    }
    have_after = z->have_cursor;
    memcpy(after, z->cursor, 32);
    gen = z->gen;
    pthread_mutex_unlock(&z->mu);

    if ((c.h = malloc(c.cap * 32)) == NULL)
        return 1; /* try again later */
    err = z->oracle.each(z->oracle.ud, have_after ? after : NULL, collect_fn, &c);
    if (err != ARB_OK) {
        free(c.h);
        pthread_mutex_lock(&z->mu);
        z->scanning = 0;
        z->pending = 1;
        pthread_mutex_unlock(&z->mu);
        return -1;
    }
    more = c.n == c.cap;
    pthread_mutex_lock(&z->mu);
    if (z->gen == gen && z->scanning) {
        for (size_t i = 0; i < c.n; i++) {
            if (stored(z, c.h[i]))
                continue;
            uint32_t *v = arb_hset_get(&z->missing, c.h[i]);
            if (v != NULL)
                *v = gen;
            else if (z->missing.n >= ARB_ZONEFILES_MAX_MISSING ||
                     !arb_hset_put(&z->missing, c.h[i], gen))
                z->truncated = 1;
        }
        if (c.n > 0) {
            memcpy(z->cursor, c.h[c.n - 1], 32);
            z->have_cursor = 1;
        }
        if (!more) {
            sweep(z);
            z->scanning = 0;
        }
    }
    more = z->scanning || z->pending;
    pthread_mutex_unlock(&z->mu);
    free(c.h);
    return more;
}

int arb_zonefiles_is_missing(arb_zonefiles *z, const uint8_t hash32[static 32])
{
    pthread_mutex_lock(&z->mu);
    int m = arb_hset_get(&z->missing, hash32) != NULL;
    pthread_mutex_unlock(&z->mu);
    return m;
}

size_t arb_zonefiles_missing_list(arb_zonefiles *z, size_t *cursor, uint8_t (*out)[32],
                                  size_t cap)
{
    size_t k = 0, i;
    pthread_mutex_lock(&z->mu);
    for (i = *cursor; i < z->missing.cap && k < cap; i++)
        if (z->missing.slot[i].used)
            memcpy(out[k++], z->missing.slot[i].key, 32);
    *cursor = i < z->missing.cap ? i : 0;
    pthread_mutex_unlock(&z->mu);
    return k;
}

size_t arb_zonefiles_missing_count(arb_zonefiles *z)
{
    pthread_mutex_lock(&z->mu);
    size_t n = z->missing.n;
    pthread_mutex_unlock(&z->mu);
    return n;
}
