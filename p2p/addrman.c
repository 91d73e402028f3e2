/* The address book (see addrman.h and docs/network.md). */
#include "p2p/addrman.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/file.h"
#include "merkle/hash.h"
#include "p2p/diskfile.h"

#define NONE UINT32_MAX
#define MAP_HEADS 65536u
#define FILE_VERSION 1u
#define FILE_ENTRY (18 + 18 + 8 + 8 + 8 + 8 + 4 + 1)
#define FILE_MAX (16u << 20)

#define HOUR 3600
#define DAY (24 * HOUR)
#define REPLACEMENT (4 * HOUR) /* a tried entry that connected this recently stays */
#define TEST_WINDOW (40 * 60)  /* a collision unresolved this long evicts */

static const uint8_t FILE_MAGIC[8] = {'A', 'R', 'B', 'A', 'D', 'D', 'R', '1'};

typedef struct {
    arb_addrinfo info;
    uint32_t bucket, slot; /* where it is (in the table info.tried says) */
    uint32_t next;         /* chain in the lookup map */
    uint32_t lpos;         /* its index in its table's list */
} entry;

typedef struct {
    uint32_t id;      /* the entry waiting to move to tried */
    int64_t since;    /* when the collision was recorded */
} collision;

struct arb_addrman {
    uint8_t key[32];
    arb_sha256 *sha;
    entry *e;
    uint32_t n, cap, n_tried;
    uint32_t *new_tab;   /* NEW_BUCKETS x BUCKET_SIZE entry ids (NONE: empty) */
    uint32_t *tried_tab; /* TRIED_BUCKETS x BUCKET_SIZE */
    uint32_t *heads;     /* MAP_HEADS chains */
    uint32_t *list[2];   /* the ids in new [0] and tried [1], for uniform picks */
    uint32_t nlist[2];
    collision col[ARB_ADDRMAN_MAX_COLLISIONS];
    size_t n_col;
};

/* ---- addresses ---- */

static const uint8_t V4_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int arb_netaddr_is_ipv4(const arb_netaddr *a)
{
    return memcmp(a->ip, V4_PREFIX, 12) == 0;
}

int arb_netaddr_parse(arb_netaddr *a, const char *s)
{
    char host[64];
    const char *colon, *hs;
    size_t hl;
    char *end;
    unsigned long port;
    memset(a, 0, sizeof *a);
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return 0;
        hs = s + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return 0;
        hs = s;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= sizeof host)
        return 0;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    if (colon[1] < '0' || colon[1] > '9')
        return 0;
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
        return 0;
    if (s[0] == '[') {
        if (inet_pton(AF_INET6, host, a->ip) != 1)
            return 0;
    } else {
        memcpy(a->ip, V4_PREFIX, 12);
        if (inet_pton(AF_INET, host, a->ip + 12) != 1)
            return 0;
    }
    a->port = (uint16_t)port;
    return 1;
}

void arb_netaddr_format(const arb_netaddr *a, char *out, size_t cap)
{
    char h[INET6_ADDRSTRLEN];
    if (arb_netaddr_is_ipv4(a)) {
        inet_ntop(AF_INET, a->ip + 12, h, sizeof h);
        snprintf(out, cap, "%s:%u", h, (unsigned)a->port);
    } else {
        inet_ntop(AF_INET6, a->ip, h, sizeof h);
        snprintf(out, cap, "[%s]:%u", h, (unsigned)a->port);
    }
}

size_t arb_netaddr_group(const arb_netaddr *a, uint8_t out[static 5])
{
    if (arb_netaddr_is_ipv4(a)) {
        out[0] = 4;
        out[1] = a->ip[12];
        out[2] = a->ip[13];
        return 3;
    }
    out[0] = 6;
    memcpy(out + 1, a->ip, 4);
    return 5;
}

int arb_netaddr_same_group(const arb_netaddr *a, const arb_netaddr *b)
{
    uint8_t ga[5], gb[5];
    size_t la = arb_netaddr_group(a, ga), lb = arb_netaddr_group(b, gb);
    return la == lb && memcmp(ga, gb, la) == 0;
}

int arb_netaddr_routable(const arb_netaddr *a)
{
    static const uint8_t zero[16];
    if (a->port == 0)
        return 0;
    if (arb_netaddr_is_ipv4(a)) {
        const uint8_t *v = a->ip + 12;
        if (v[0] == 0 || v[0] >= 224) /* this network, multicast, reserved, broadcast */
            return 0;
        return 1;
    }
    if (memcmp(a->ip, zero, 16) == 0 || a->ip[0] == 0xff) /* unspecified, multicast */
        return 0;
    return 1;
}

/* ---- hashing ---- */

static uint64_t keyed(arb_addrman *am, const void *a, size_t na, const void *b, size_t nb)
{
    uint8_t h[32];
    uint64_t v = 0;
    arb_sha256_init(am->sha);
    arb_sha256_update(am->sha, am->key, 32);
    arb_sha256_update(am->sha, a, na);
    if (nb)
        arb_sha256_update(am->sha, b, nb);
    arb_sha256_final(am->sha, h);
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)h[i] << (8 * i);
    return v;
}

static void addr_bytes(const arb_netaddr *a, uint8_t out[18])
{
    memcpy(out, a->ip, 16);
    out[16] = (uint8_t)a->port;
    out[17] = (uint8_t)(a->port >> 8);
}

static void u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t arb_addrman_new_bucket(const arb_addrman *cam, const arb_netaddr *addr,
                                const arb_netaddr *source)
{
    arb_addrman *am = (arb_addrman *)cam; /* the hash engine is scratch state */
    uint8_t ga[5], gs[5], buf[16];
    size_t la = arb_netaddr_group(addr, ga), ls = arb_netaddr_group(source, gs);
    uint64_t h1;
    memcpy(buf, ga, la);
    memcpy(buf + la, gs, ls);
    h1 = keyed(am, buf, la + ls, NULL, 0) % ARB_ADDRMAN_NEW_PER_SOURCE_GROUP;
    memcpy(buf, gs, ls);
    u64le(buf + ls, h1);
    return (uint32_t)(keyed(am, buf, ls + 8, NULL, 0) % ARB_ADDRMAN_NEW_BUCKETS);
}

uint32_t arb_addrman_tried_bucket(const arb_addrman *cam, const arb_netaddr *addr)
{
    arb_addrman *am = (arb_addrman *)cam;
    uint8_t ab[18], g[5], buf[16];
    size_t lg = arb_netaddr_group(addr, g);
    uint64_t h1;
    addr_bytes(addr, ab);
    h1 = keyed(am, ab, 18, NULL, 0) % ARB_ADDRMAN_TRIED_PER_GROUP;
    memcpy(buf, g, lg);
    u64le(buf + lg, h1);
    return (uint32_t)(keyed(am, buf, lg + 8, NULL, 0) % ARB_ADDRMAN_TRIED_BUCKETS);
}

uint32_t arb_addrman_slot(const arb_addrman *cam, int tried, uint32_t bucket,
                          const arb_netaddr *addr)
{
    arb_addrman *am = (arb_addrman *)cam;
    uint8_t buf[5], ab[18];
    buf[0] = tried ? 'K' : 'N';
    buf[1] = (uint8_t)bucket;
    buf[2] = (uint8_t)(bucket >> 8);
    buf[3] = (uint8_t)(bucket >> 16);
    buf[4] = (uint8_t)(bucket >> 24);
    addr_bytes(addr, ab);
    return (uint32_t)(keyed(am, buf, 5, ab, 18) % ARB_ADDRMAN_BUCKET_SIZE);
}

/* The lookup map: not secret-critical (the tables are), but seeded with the
 * key so chains cannot be aimed at. */
static uint32_t map_head(const arb_addrman *am, const arb_netaddr *a)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 8; i++)
        h = (h ^ am->key[i]) * 1099511628211ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ a->ip[i]) * 1099511628211ull;
    h = (h ^ (a->port & 0xff)) * 1099511628211ull;
    h = (h ^ (a->port >> 8)) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32)) % MAP_HEADS;
}

static int addr_eq(const arb_netaddr *a, const arb_netaddr *b)
{
    return a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

static uint32_t lookup(const arb_addrman *am, const arb_netaddr *a)
{
    for (uint32_t i = am->heads[map_head(am, a)]; i != NONE; i = am->e[i].next)
        if (addr_eq(&am->e[i].info.addr, a))
            return i;
    return NONE;
}

static uint32_t *tab_slot(arb_addrman *am, int tried, uint32_t bucket, uint32_t slot)
{
    return (tried ? am->tried_tab : am->new_tab) + (size_t)bucket * ARB_ADDRMAN_BUCKET_SIZE + slot;
}

/* Table membership: a slot and a place in the table's list. */
static void list_add(arb_addrman *am, uint32_t id)
{
    int t = am->e[id].info.tried ? 1 : 0;
    am->e[id].lpos = am->nlist[t];
    am->list[t][am->nlist[t]++] = id;
}

static void list_del(arb_addrman *am, uint32_t id)
{
    int t = am->e[id].info.tried ? 1 : 0;
    uint32_t pos = am->e[id].lpos, last = am->list[t][--am->nlist[t]];
    am->list[t][pos] = last;
    am->e[last].lpos = pos;
}

/* ---- the book ---- */

arb_addrman *arb_addrman_new(const uint8_t key[static 32])
{
    arb_addrman *am = calloc(1, sizeof *am);
    size_t nn = (size_t)ARB_ADDRMAN_NEW_BUCKETS * ARB_ADDRMAN_BUCKET_SIZE;
    size_t nt = (size_t)ARB_ADDRMAN_TRIED_BUCKETS * ARB_ADDRMAN_BUCKET_SIZE;
    if (am == NULL)
        return NULL;
    memcpy(am->key, key, 32);
    am->new_tab = malloc(nn * sizeof *am->new_tab);
    am->tried_tab = malloc(nt * sizeof *am->tried_tab);
    am->heads = malloc(MAP_HEADS * sizeof *am->heads);
    am->list[0] = malloc(nn * sizeof *am->list[0]);
    am->list[1] = malloc(nt * sizeof *am->list[1]);
    if (am->new_tab == NULL || am->tried_tab == NULL || am->heads == NULL ||
        am->list[0] == NULL || am->list[1] == NULL ||
        arb_sha256_new(&am->sha) != ARB_OK) {
        arb_addrman_free(am);
        return NULL;
    }
    memset(am->new_tab, 0xff, nn * sizeof *am->new_tab);
    memset(am->tried_tab, 0xff, nt * sizeof *am->tried_tab);
    memset(am->heads, 0xff, MAP_HEADS * sizeof *am->heads);
    return am;
}

void arb_addrman_free(arb_addrman *am)
{
    if (am == NULL)
        return;
    arb_sha256_free(am->sha);
    free(am->e);
    free(am->new_tab);
    free(am->tried_tab);
    free(am->heads);
    free(am->list[0]);
    free(am->list[1]);
    memset(am->key, 0, sizeof am->key);
    free(am);
}

size_t arb_addrman_size(const arb_addrman *am)
{
    return am->n;
}

size_t arb_addrman_size_tried(const arb_addrman *am)
{
    return am->n_tried;
}

static void map_unlink(arb_addrman *am, uint32_t id)
{
    uint32_t *pp = &am->heads[map_head(am, &am->e[id].info.addr)];
    while (*pp != id)
        pp = &am->e[*pp].next;
    *pp = am->e[id].next;
}

/* Removes entry id from its table slot, the map and the array (the last
 * entry moves into its place; collisions are fixed up). */
static void delete_entry(arb_addrman *am, uint32_t id)
{
    entry *x = &am->e[id];
    uint32_t last = am->n - 1;
    *tab_slot(am, x->info.tried, x->bucket, x->slot) = NONE;
    list_del(am, id);
    if (x->info.tried)
        am->n_tried--;
    map_unlink(am, id);
    for (size_t i = 0; i < am->n_col;) {
        if (am->col[i].id == id)
            am->col[i] = am->col[--am->n_col];
        else
            i++;
    }
    if (id != last) {
        entry *y = &am->e[last];
        uint32_t *pp = &am->heads[map_head(am, &y->info.addr)];
        while (*pp != last)
            pp = &am->e[*pp].next;
        *pp = id;
        *tab_slot(am, y->info.tried, y->bucket, y->slot) = id;
        am->list[y->info.tried ? 1 : 0][y->lpos] = id;
        for (size_t i = 0; i < am->n_col; i++)
            if (am->col[i].id == last)
                am->col[i].id = id;
        *x = *y;
    }
    am->n--;
}

int arb_addrinfo_terrible(const arb_addrinfo *e, int64_t now)
{
    if (e->last_try && e->last_try >= now - 60)
        return 0;
    if (e->time > now + 10 * 60)
        return 1;
    if (e->time == 0 || now - e->time > 30 * DAY)
        return 1;
    if (e->last_success == 0 && e->attempts >= 3)
        return 1;
    if (now - e->last_success > 7 * DAY && e->attempts >= 10)
        return 1;
    return 0;
}

static uint32_t append(arb_addrman *am, const arb_addrinfo *info)
{
    uint32_t id, h;
    if (am->n == am->cap) {
        uint32_t nc = am->cap ? am->cap * 2 : 64;
        entry *ne;
        if (nc > ARB_ADDRMAN_MAX_ENTRIES)
            nc = ARB_ADDRMAN_MAX_ENTRIES;
        if (nc <= am->n)
            return NONE;
        ne = realloc(am->e, (size_t)nc * sizeof *ne);
        if (ne == NULL)
            return NONE;
        am->e = ne;
        am->cap = nc;
    }
    id = am->n++;
    am->e[id].info = *info;
    h = map_head(am, &info->addr);
    am->e[id].next = am->heads[h];
    am->heads[h] = id;
    return id;
}

int arb_addrman_add(arb_addrman *am, const arb_netaddr *addr, const arb_netaddr *source,
                    uint64_t services, int64_t time, int64_t now)
{
    arb_addrinfo info;
    uint32_t id = lookup(am, addr), b, s, *sl;
    if (id != NONE) {
        arb_addrinfo *x = &am->e[id].info;
        /* Core: a fresher time counts only if it is an hour newer (less churn). */
        if (time > x->time + HOUR && time <= now + 10 * 60)
            x->time = time;
        x->services |= services;
        return 0;
    }
    if (!arb_netaddr_routable(addr))
        return 0;
    memset(&info, 0, sizeof info);
    info.addr = *addr;
    info.source = *source;
    info.services = services;
    info.time = time;
    if (arb_addrinfo_terrible(&info, now))
        return 0;
    b = arb_addrman_new_bucket(am, addr, source);
    s = arb_addrman_slot(am, 0, b, addr);
    sl = tab_slot(am, 0, b, s);
    if (*sl != NONE) {
        if (!arb_addrinfo_terrible(&am->e[*sl].info, now))
            return 0;
        delete_entry(am, *sl);
    }
    id = append(am, &info);
    if (id == NONE)
        return 0;
    am->e[id].bucket = b;
    am->e[id].slot = s;
    *sl = id;
    list_add(am, id);
    return 1;
}

void arb_addrman_attempt(arb_addrman *am, const arb_netaddr *addr, int64_t now)
{
    uint32_t id = lookup(am, addr);
    if (id == NONE)
        return;
    am->e[id].info.last_try = now;
    if (am->e[id].info.attempts < UINT32_MAX)
        am->e[id].info.attempts++;
}

/* Moves new entry id into its tried slot, which must be free. */
static void to_tried(arb_addrman *am, uint32_t id, uint32_t b, uint32_t s)
{
    entry *x = &am->e[id];
    *tab_slot(am, 0, x->bucket, x->slot) = NONE;
    list_del(am, id);
    x->info.tried = 1;
    list_add(am, id);
    x->bucket = b;
    x->slot = s;
    *tab_slot(am, 1, b, s) = id;
    am->n_tried++;
}

/* Moves tried entry id back to new (its slot there by its source); if that
 * new slot is taken, the occupant goes (Core does the same). */
static void to_new(arb_addrman *am, uint32_t id)
{
    arb_netaddr a = am->e[id].info.addr;
    uint32_t b = arb_addrman_new_bucket(am, &am->e[id].info.addr, &am->e[id].info.source);
    uint32_t s = arb_addrman_slot(am, 0, b, &a);
    uint32_t occ = *tab_slot(am, 0, b, s);
    entry *x;
    if (occ != NONE) {
        delete_entry(am, occ); /* may move entry id to another index */
        id = lookup(am, &a);
    }
    x = &am->e[id];
    *tab_slot(am, 1, x->bucket, x->slot) = NONE;
    list_del(am, id);
    x->info.tried = 0;
    list_add(am, id);
    am->n_tried--;
    x->bucket = b;
    x->slot = s;
    *tab_slot(am, 0, b, s) = id;
}

int arb_addrman_good(arb_addrman *am, const arb_netaddr *addr, int64_t now)
{
    uint32_t id = lookup(am, addr), b, s, occ;
    entry *x;
    if (id == NONE)
        return 0;
    x = &am->e[id];
    x->info.last_success = now;
    x->info.last_try = now;
    x->info.time = now;
    x->info.attempts = 0;
    if (x->info.tried)
        return 1;
    b = arb_addrman_tried_bucket(am, addr);
    s = arb_addrman_slot(am, 1, b, addr);
    occ = *tab_slot(am, 1, b, s);
    if (occ != NONE) {
        for (size_t i = 0; i < am->n_col; i++)
            if (am->col[i].id == id)
                return 0;
        if (am->n_col < ARB_ADDRMAN_MAX_COLLISIONS)
            am->col[am->n_col++] = (collision){id, now};
        return 0;
    }
    to_tried(am, id, b, s);
    return 1;
}

int arb_addrman_select_collision(arb_addrman *am, arb_netaddr *out)
{
    for (size_t i = 0; i < am->n_col; i++) {
        const arb_netaddr *a = &am->e[am->col[i].id].info.addr;
        uint32_t b = arb_addrman_tried_bucket(am, a);
        uint32_t occ = *tab_slot(am, 1, b, arb_addrman_slot(am, 1, b, a));
        if (occ != NONE) {
            *out = am->e[occ].info.addr;
            return 1;
        }
    }
    return 0;
}

void arb_addrman_resolve_collisions(arb_addrman *am, int64_t now)
{
    size_t i = 0;
    while (i < am->n_col) {
        uint32_t id = am->col[i].id, b = 0, s = 0, occ = NONE;
        arb_netaddr a = am->e[id].info.addr;
        int erase = 0, evict = 0;
        if (am->e[id].info.tried) {
            erase = 1;
        } else {
            b = arb_addrman_tried_bucket(am, &a);
            s = arb_addrman_slot(am, 1, b, &a);
            occ = *tab_slot(am, 1, b, s);
            if (occ == NONE) {
                evict = 1; /* the slot came free */
            } else {
                const arb_addrinfo *old = &am->e[occ].info;
                if (old->last_success && now - old->last_success < REPLACEMENT)
                    erase = 1; /* the old one is good: it stays */
                else if (old->last_try && now - old->last_try < REPLACEMENT) {
                    if (now - old->last_try > 60)
                        evict = 1; /* tested, and no success since */
                } else if (now - am->col[i].since > TEST_WINDOW) {
                    evict = 1; /* not tested in time */
                }
            }
        }
        if (!erase && !evict) {
            i++;
            continue;
        }
        am->col[i] = am->col[--am->n_col];
        if (evict) {
            if (occ != NONE)
                to_new(am, occ);
            /* to_new may have deleted an entry and moved indexes */
            id = lookup(am, &a);
            if (id != NONE && !am->e[id].info.tried && *tab_slot(am, 1, b, s) == NONE)
                to_tried(am, id, b, s);
        }
        i = 0; /* deletions may have reordered the list */
    }
}

static double chance(const arb_addrinfo *e, int64_t now)
{
    double c = 1.0;
    uint32_t a = e->attempts < 8 ? e->attempts : 8;
    if (e->last_try && now - e->last_try < 10 * 60)
        c *= 0.01;
    for (uint32_t i = 0; i < a; i++)
        c *= 0.66;
    return c;
}

static double unit(uint64_t (*rnd)(void *), void *rctx)
{
    return (double)(rnd(rctx) >> 11) / 9007199254740992.0;
}

int arb_addrman_select(arb_addrman *am, uint64_t (*rnd)(void *), void *rctx,
                       arb_addrinfo *out, int64_t now)
{
    int want_tried;
    double factor = 1.0;
    if (am->n == 0)
        return 0;
    if (am->n_tried == 0)
        want_tried = 0;
    else if (am->n_tried == am->n)
        want_tried = 1;
    else
        want_tried = (int)(rnd(rctx) & 1);
    /* Bounded: the factor grows 1.2x a round, so after ~50 rounds every
     * entry's chance (at least 0.01 x 0.66^8) is over 1. */
    for (int round = 0; round < 1000; round++) {
        uint32_t t = (uint32_t)want_tried;
        const arb_addrinfo *x = &am->e[am->list[t][rnd(rctx) % am->nlist[t]]].info;
        if (unit(rnd, rctx) < factor * chance(x, now)) {
            *out = *x;
            return 1;
        }
        factor *= 1.2;
    }
    return 0;
}

size_t arb_addrman_sample(arb_addrman *am, uint64_t (*rnd)(void *), void *rctx,
                          arb_addrinfo *out, size_t max, int64_t now)
{
    size_t want = (size_t)am->n * 23 / 100, got = 0;
    uint32_t *perm;
    if (want < ARB_ADDRMAN_SAMPLE_MIN)
        want = am->n < ARB_ADDRMAN_SAMPLE_MIN ? am->n : ARB_ADDRMAN_SAMPLE_MIN;
    if (want > max)
        want = max;
    if (want == 0)
        return 0;
    perm = malloc((size_t)am->n * sizeof *perm);
    if (perm == NULL)
        return 0;
    for (uint32_t i = 0; i < am->n; i++)
        perm[i] = i;
    for (uint32_t i = 0; i < am->n && got < want; i++) {
        uint32_t j = i + (uint32_t)(rnd(rctx) % (am->n - i)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        if (!arb_addrinfo_terrible(&am->e[perm[i]].info, now))
            out[got++] = am->e[perm[i]].info;
    }
    free(perm);
    return got;
}

int arb_addrman_find(const arb_addrman *am, const arb_netaddr *addr, arb_addrinfo *out)
{
    uint32_t id = lookup(am, addr);
    if (id == NONE)
        return 0;
    if (out)
        *out = am->e[id].info;
    return 1;
}

int arb_addrman_check(const arb_addrman *cam)
{
    arb_addrman *am = (arb_addrman *)cam;
    uint32_t tried = 0, in_new = 0, in_tried = 0;
    for (uint32_t i = 0; i < am->n; i++) {
        const entry *x = &am->e[i];
        if (lookup(am, &x->info.addr) != i)
            return 0;
        if (*tab_slot(am, x->info.tried, x->bucket, x->slot) != i)
            return 0;
        if (x->info.tried) {
            tried++;
            if (x->bucket != arb_addrman_tried_bucket(am, &x->info.addr))
                return 0;
        } else if (x->bucket != arb_addrman_new_bucket(am, &x->info.addr, &x->info.source)) {
            return 0;
        }
        if (x->slot != arb_addrman_slot(am, x->info.tried, x->bucket, &x->info.addr))
            return 0;
    }
    for (size_t i = 0; i < (size_t)ARB_ADDRMAN_NEW_BUCKETS * ARB_ADDRMAN_BUCKET_SIZE; i++)
        if (am->new_tab[i] != NONE) {
            if (am->new_tab[i] >= am->n || am->e[am->new_tab[i]].info.tried)
                return 0;
            in_new++;
        }
    for (size_t i = 0; i < (size_t)ARB_ADDRMAN_TRIED_BUCKETS * ARB_ADDRMAN_BUCKET_SIZE; i++)
        if (am->tried_tab[i] != NONE) {
            if (am->tried_tab[i] >= am->n || !am->e[am->tried_tab[i]].info.tried)
                return 0;
            in_tried++;
        }
    for (size_t i = 0; i < am->n_col; i++)
        if (am->col[i].id >= am->n)
            return 0;
    if (am->nlist[0] + am->nlist[1] != am->n || am->nlist[1] != am->n_tried)
        return 0;
    for (int t = 0; t < 2; t++)
        for (uint32_t i = 0; i < am->nlist[t]; i++) {
            uint32_t id = am->list[t][i];
            if (id >= am->n || am->e[id].lpos != i || am->e[id].info.tried != t)
                return 0;
        }
    return tried == am->n_tried && in_tried == tried && in_new + in_tried == am->n;
}

/* ---- rate limit ---- */

void arb_addr_bucket_init(arb_addr_bucket *b, int64_t now_ms)
{
    b->tokens = ARB_ADDR_BURST;
    b->last_ms = now_ms;
}

int arb_addr_bucket_take(arb_addr_bucket *b, int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        if (b->tokens < ARB_ADDR_BURST) {
            b->tokens += (double)(now_ms - b->last_ms) / 1000.0 * ARB_ADDR_RATE;
            if (b->tokens > ARB_ADDR_BURST)
                b->tokens = ARB_ADDR_BURST;
        }
        b->last_ms = now_ms;
    }
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

void arb_addr_bucket_grant(arb_addr_bucket *b, double n)
{
    b->tokens += n;
}

/* ---- persistence ---- */

static void put_addr(arb_buf *b, const arb_netaddr *a)
{
    arb_buf_put(b, a->ip, 16);
    arb_buf_u16le(b, a->port);
}

arb_err arb_addrman_serialize(const arb_addrman *cam, arb_buf *out)
{
    const arb_addrman *am = cam;
    arb_buf_reset(out);
    arb_p2p_file_begin(out, FILE_MAGIC, FILE_VERSION);
    arb_buf_put(out, am->key, 32);
    arb_buf_u32le(out, am->n);
    for (uint32_t i = 0; i < am->n && !out->oom; i++) {
        const arb_addrinfo *x = &am->e[i].info;
        put_addr(out, &x->addr);
        put_addr(out, &x->source);
        arb_buf_u64le(out, x->services);
        arb_buf_u64le(out, (uint64_t)x->time);
        arb_buf_u64le(out, (uint64_t)x->last_try);
        arb_buf_u64le(out, (uint64_t)x->last_success);
        arb_buf_u32le(out, x->attempts);
        arb_buf_u8(out, (uint8_t)(x->tried ? 1 : 0));
    }
    return arb_p2p_file_seal(out, 0);
}

/* Places a parsed entry: tried ones in their tried slot (else new), new ones
 * in their new slot. Duplicates and entries whose slot is taken are left
 * out. */
static arb_err place(arb_addrman *am, const arb_addrinfo *info)
{
    uint32_t id, b, s;
    int tried = info->tried;
    if (lookup(am, &info->addr) != NONE)
        return ARB_OK;
    if (tried) {
        b = arb_addrman_tried_bucket(am, &info->addr);
        s = arb_addrman_slot(am, 1, b, &info->addr);
        if (*tab_slot(am, 1, b, s) != NONE)
            tried = 0;
    }
    if (!tried) {
        b = arb_addrman_new_bucket(am, &info->addr, &info->source);
        s = arb_addrman_slot(am, 0, b, &info->addr);
        if (*tab_slot(am, 0, b, s) != NONE)
            return ARB_OK;
    }
    id = append(am, info);
    if (id == NONE)
        return ARB_ERR_NOMEM;
    am->e[id].info.tried = tried;
    am->e[id].bucket = b;
    am->e[id].slot = s;
    *tab_slot(am, tried, b, s) = id;
    list_add(am, id);
    if (tried)
        am->n_tried++;
    return ARB_OK;
}

arb_err arb_addrman_parse(arb_addrman **out, const uint8_t *data, size_t len, arb_errbuf *eb)
{
    arb_cur c;
    uint8_t key[32];
    uint32_t count;
    arb_addrman *am;
    arb_err err;
    *out = NULL;
    err = arb_p2p_file_open(&c, data, len, FILE_MAGIC, FILE_VERSION, 32 + 4 /* key, count */,
                            "address book file", eb);
    if (err != ARB_OK)
        return err;
    (void)arb_cur_get(&c, key, 32); /* the length was checked */
    (void)arb_cur_u32le(&c, &count);
    if (count > ARB_ADDRMAN_MAX_ENTRIES || c.len != (size_t)count * FILE_ENTRY)
        return arb_errf(eb, ARB_ERR_PARSE, "address book file: %u entries in %zu bytes",
                        (unsigned)count, c.len);
    am = arb_addrman_new(key);
    if (am == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        arb_addrinfo x;
        uint64_t t, lt, ls;
        uint8_t tried;
        memset(&x, 0, sizeof x);
        (void)arb_cur_get(&c, x.addr.ip, 16);
        (void)arb_cur_u16le(&c, &x.addr.port);
        (void)arb_cur_get(&c, x.source.ip, 16);
        (void)arb_cur_u16le(&c, &x.source.port);
        (void)arb_cur_u64le(&c, &x.services);
        (void)arb_cur_u64le(&c, &t);
        (void)arb_cur_u64le(&c, &lt);
        (void)arb_cur_u64le(&c, &ls);
        (void)arb_cur_u32le(&c, &x.attempts);
        (void)arb_cur_u8(&c, &tried);
        if (tried > 1 || !arb_netaddr_routable(&x.addr)) {
            arb_addrman_free(am);
            return arb_errf(eb, ARB_ERR_PARSE, "address book file: bad entry %u", (unsigned)i);
        }
        x.time = (int64_t)t;
        x.last_try = (int64_t)lt;
        x.last_success = (int64_t)ls;
        x.tried = tried;
        if ((err = place(am, &x)) != ARB_OK) {
            arb_addrman_free(am);
            return arb_errf(eb, err, "out of memory");
        }
    }
    *out = am;
    return ARB_OK;
}

arb_err arb_addrman_save(const arb_addrman *am, const char *path, arb_errbuf *eb)
{
    arb_buf b = ARB_BUF_INIT;
    arb_err err;
    if (arb_addrman_serialize(am, &b) != ARB_OK)
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    else
        err = arb_file_replace(path, b.data, b.len, eb);
    arb_buf_free(&b);
    return err;
}

arb_err arb_addrman_load(arb_addrman **out, const char *path, arb_errbuf *eb)
{
    uint8_t *data;
    size_t got;
    arb_err err;
    *out = NULL;
    if ((err = arb_file_read(path, FILE_MAX, &data, &got, eb)) != ARB_OK)
        return err;
    err = arb_addrman_parse(out, data, got, eb);
    free(data);
    return err;
}
