/* Zone-file replication (see zonesync.h and docs/network.md). */
#include "p2p/zonesync.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/names/hset.h"
#include "p2p/msg.h"

_Static_assert(ARB_P2P_MAX_ZONEFILE == ARB_NAMES_ZONEFILE_MAX, "zone-file bounds differ");

#define SCAN_STEP 1000       /* on-chain hashes looked at per tick */
#define ANNOUNCE_PAGE 1000   /* stored hashes announced to a new peer per tick */
#define MISSING_WALK 256     /* missing hashes looked at per tick for nobody's announcement */
#define MAX_NEWS 50000       /* newly stored hashes waiting to be announced */
#define PASS_MS 1000         /* a request pass at least this often */
#define BLIND_DELAY_MS 5000  /* a missing hash nobody announced waits this long for an inv */
#define MAX_SRC ARB_ZONESYNC_MAX_SOURCES

typedef struct {
    uint8_t hash[32];
    uint64_t src[MAX_SRC];   /* peers that announced it */
    uint64_t tried[MAX_SRC]; /* peers that did not deliver it */
    uint8_t n_src, n_tried;
    uint8_t fails;  /* failures since the last round of retries */
    uint8_t rounds; /* rounds in which every peer failed it (the delay doubles) */
    uint64_t asked; /* the peer it is in flight from (0: none) */
    int64_t asked_ms, retry_ms;
    int64_t blind_ms; /* from then on it may be asked of peers that did not announce it */
} want;

typedef struct {
    unsigned rarity;
    size_t i;
} cand;

typedef struct {
    uint64_t conn;
    unsigned inflight;
    size_t sources; /* wants that name it as a source */
    int announcing; /* our stored hashes still being announced to it */
    uint8_t cursor[32];
    int have_cursor;
    arb_p2p_inv req[ARB_ZONESYNC_MAX_INFLIGHT]; /* requests of this pass */
    size_t n_req;
} zpeer;

struct arb_zonesync {
    arb_zonefiles *z;
    uint8_t magic[4];
    arb_zonesync_io io;
    zpeer *peers;
    size_t n_peers, cap_peers;
    want *w;
    size_t n_w, cap_w;
    arb_hset idx; /* hash -> index into w */
    arb_buf out;
    size_t missing_cursor;
    int dirty, scanning;
    int64_t last_pass_ms;
    cand *cand;
    /* filled by the store's hook from any thread, under mu */
    pthread_mutex_t mu;
    uint8_t (*news)[32];
    size_t n_news, news_dropped;
};

static void metric(arb_zonesync *zs, const char *name, uint64_t v)
{
    if (zs->io.metric != NULL)
        zs->io.metric(zs->io.ud, name, v, 0);
}

static void gauge(arb_zonesync *zs, const char *name, uint64_t v)
{
    if (zs->io.metric != NULL)
        zs->io.metric(zs->io.ud, name, v, 1);
}

static void send_frame(arb_zonesync *zs, uint64_t conn)
{
    if (arb_p2p_frame_end(&zs->out) == ARB_OK)
        zs->io.send(zs->io.ud, conn, zs->out.data, zs->out.len);
}

static void send_inv(arb_zonesync *zs, uint64_t conn, uint8_t type, const arb_p2p_inv *v,
                     size_t n)
{
    if (n == 0)
        return;
    arb_p2p_frame_begin(&zs->out, zs->magic, type);
    arb_p2p_inv_write(&zs->out, v, n);
    send_frame(zs, conn);
}

static zpeer *peer_find(arb_zonesync *zs, uint64_t conn)
{
    for (size_t i = 0; i < zs->n_peers; i++)
        if (zs->peers[i].conn == conn)
            return &zs->peers[i];
    return NULL;
}

static long want_find(arb_zonesync *zs, const uint8_t hash32[static 32])
{
    uint32_t *v = arb_hset_get(&zs->idx, hash32);
    return v ? (long)*v : -1;
}

static long want_add(arb_zonesync *zs, const uint8_t hash32[static 32])
{
    if (zs->n_w >= ARB_ZONESYNC_MAX_WANTS)
        return -1;
    if (zs->n_w == zs->cap_w) {
        size_t cap = zs->cap_w ? 2 * zs->cap_w : 256;
        want *w = realloc(zs->w, cap * sizeof *w);
        cand *c = realloc(zs->cand, cap * sizeof *c);
        if (w != NULL)
            zs->w = w;
        if (c != NULL)
            zs->cand = c;
        if (w == NULL || c == NULL)
            return -1;
        zs->cap_w = cap;
    }
    if (!arb_hset_put(&zs->idx, hash32, (uint32_t)zs->n_w))
        return -1;
    want *w = &zs->w[zs->n_w];
    memset(w, 0, sizeof *w);
    memcpy(w->hash, hash32, 32);
    return (long)zs->n_w++;
}

/* Forgets want i, releasing what its peers are charged for it. */
static void want_del(arb_zonesync *zs, size_t i)
{
    want *w = &zs->w[i];
    for (size_t k = 0; k < w->n_src; k++) {
        zpeer *p = peer_find(zs, w->src[k]);
        if (p != NULL && p->sources > 0)
            p->sources--;
    }
    if (w->asked != 0) {
        zpeer *p = peer_find(zs, w->asked);
        if (p != NULL && p->inflight > 0)
            p->inflight--;
    }
    (void)arb_hset_del(&zs->idx, w->hash);
    if (i != zs->n_w - 1) {
        zs->w[i] = zs->w[zs->n_w - 1];
        (void)arb_hset_put(&zs->idx, zs->w[i].hash, (uint32_t)i); /* present: no allocation */
    }
    zs->n_w--;
}

static int list_has(const uint64_t *v, size_t n, uint64_t c)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == c)
            return 1;
    return 0;
}

/* Removes conn from w's sources (uncharging it). */
static void src_remove(arb_zonesync *zs, want *w, uint64_t conn)
{
    for (size_t k = 0; k < w->n_src; k++)
        if (w->src[k] == conn) {
            w->src[k] = w->src[--w->n_src];
            zpeer *p = peer_find(zs, conn);
            if (p != NULL && p->sources > 0)
                p->sources--;
            return;
        }
}

/* Remembers that conn failed w; with the list full the oldest failure is
 * forgotten (so with many peers, they are gone through in turn). */
static void tried_add(want *w, uint64_t conn)
{
    if (list_has(w->tried, w->n_tried, conn))
        return;
    if (w->n_tried == MAX_SRC) {
        memmove(w->tried, w->tried + 1, (MAX_SRC - 1) * sizeof *w->tried);
        w->n_tried--;
    }
    w->tried[w->n_tried++] = conn;
    if (w->fails < 255)
        w->fails++;
}

/* The in-flight request of w is over (answered, refused, timed out). */
static void unask(arb_zonesync *zs, want *w)
{
    zpeer *p = peer_find(zs, w->asked);
    if (p != NULL && p->inflight > 0)
        p->inflight--;
    w->asked = 0;
    zs->dirty = 1;
}

static void on_stored(void *ud, const uint8_t hash32[32])
{
    arb_zonesync *zs = ud;
    pthread_mutex_lock(&zs->mu);
    if (zs->n_news < MAX_NEWS)
        memcpy(zs->news[zs->n_news++], hash32, 32);
    else
        zs->news_dropped++;
    pthread_mutex_unlock(&zs->mu);
}

arb_err arb_zonesync_new(arb_zonesync **out, arb_zonefiles *z, const uint8_t magic[static 4],
                         const arb_zonesync_io *io)
{
    arb_zonesync *zs = calloc(1, sizeof *zs);
    *out = NULL;
    if (zs == NULL || (zs->news = malloc((size_t)MAX_NEWS * 32)) == NULL) {
        free(zs);
        return ARB_ERR_NOMEM;
    }
    zs->z = z;
    memcpy(zs->magic, magic, 4);
    zs->io = *io;
    arb_hset_init(&zs->idx);
    zs->out = (arb_buf)ARB_BUF_INIT;
    pthread_mutex_init(&zs->mu, NULL);
    zs->dirty = 1;
    arb_zonefiles_set_hook(z, on_stored, zs);
    *out = zs;
    return ARB_OK;
}

void arb_zonesync_free(arb_zonesync *zs)
{
    if (zs == NULL)
        return;
    arb_zonefiles_set_hook(zs->z, NULL, NULL);
    arb_hset_clear(&zs->idx);
    arb_buf_free(&zs->out);
    pthread_mutex_destroy(&zs->mu);
    free(zs->news);
    free(zs->peers);
    free(zs->w);
    free(zs->cand);
    free(zs);
}

void arb_zonesync_peer_add(arb_zonesync *zs, uint64_t conn)
{
    if (zs == NULL || peer_find(zs, conn) != NULL)
        return;
    if (zs->n_peers == zs->cap_peers) {
        size_t cap = zs->cap_peers ? 2 * zs->cap_peers : 16;
        zpeer *p = realloc(zs->peers, cap * sizeof *p);
        if (p == NULL)
            return; /* it gets nothing from us and we ask nothing of it */
        zs->peers = p;
        zs->cap_peers = cap;
    }
    zpeer *p = &zs->peers[zs->n_peers++];
    memset(p, 0, sizeof *p);
    p->conn = conn;
    p->announcing = 1;
    zs->dirty = 1;
}

void arb_zonesync_peer_remove(arb_zonesync *zs, uint64_t conn)
{
    zpeer *p;
    if (zs == NULL || (p = peer_find(zs, conn)) == NULL)
        return;
    for (size_t i = 0; i < zs->n_w; i++) {
        want *w = &zs->w[i];
        src_remove(zs, w, conn);
        if (w->asked == conn)
            unask(zs, w);
    }
    *p = zs->peers[--zs->n_peers];
    zs->dirty = 1;
}

void arb_zonesync_on_inv(arb_zonesync *zs, uint64_t conn, const uint8_t hash32[static 32])
{
    zpeer *p;
    long i;
    if (zs == NULL || (p = peer_find(zs, conn)) == NULL)
        return;
    if ((i = want_find(zs, hash32)) < 0) {
        /* Its bound first: past it a peer's announcements cost no lookup. */
        if (p->sources >= ARB_ZONESYNC_PEER_MAX_SOURCES) {
            metric(zs, "p2p_zonefile_inv_ignored", 1);
            return;
        }
        if (arb_zonefiles_has(zs->z, hash32))
            return;
        if ((i = want_add(zs, hash32)) < 0) {
            metric(zs, "p2p_zonefile_inv_ignored", 1);
            return;
        }
    }
    want *w = &zs->w[i];
    if (list_has(w->src, w->n_src, conn) || w->n_src == MAX_SRC ||
        list_has(w->tried, w->n_tried, conn))
        return;
    if (p->sources >= ARB_ZONESYNC_PEER_MAX_SOURCES) {
        metric(zs, "p2p_zonefile_inv_ignored", 1);
        return;
    }
    w->src[w->n_src++] = conn;
    p->sources++;
    zs->dirty = 1;
}

void arb_zonesync_on_notfound(arb_zonesync *zs, uint64_t conn, const uint8_t hash32[static 32])
{
    long i;
    if (zs == NULL || (i = want_find(zs, hash32)) < 0)
        return;
    want *w = &zs->w[i];
    src_remove(zs, w, conn);
    tried_add(w, conn);
    if (w->asked == conn)
        unask(zs, w);
}

int arb_zonesync_serve(arb_zonesync *zs, uint64_t conn, const uint8_t hash32[static 32])
{
    uint8_t *zf;
    size_t len;
    if (zs == NULL || arb_zonefiles_get(zs->z, hash32, &zf, &len, NULL) != ARB_OK)
        return 0;
    arb_p2p_frame_begin(&zs->out, zs->magic, ARB_P2P_ZONEFILE);
    arb_p2p_zonefile_write(&zs->out, hash32, zf, len);
    free(zf);
    send_frame(zs, conn);
    metric(zs, "p2p_zonefile_served", 1);
    return 1;
}

void arb_zonesync_on_zonefile(arb_zonesync *zs, uint64_t conn, const uint8_t *pl, size_t len)
{
    uint8_t hash[32], got[32];
    const uint8_t *zf;
    size_t zlen;
    int oversize, is_new = 0, requested = 0;
    long i;
    if (zs == NULL)
        return; /* not replicating: like an unknown message type */
    if (arb_p2p_zonefile_read(hash, &zf, &zlen, &oversize, pl, len) != ARB_OK) {
        zs->io.misbehave(zs->io.ud, conn, oversize ? "zonefile-oversize" : "malformed-zonefile");
        return;
    }
    if ((i = want_find(zs, hash)) >= 0 && zs->w[i].asked == conn) {
        requested = 1;
        unask(zs, &zs->w[i]);
    }
    arb_err err = arb_zonefiles_add(zs->z, zf, zlen, hash, got, &is_new, NULL);
    i = want_find(zs, hash); /* the store's hook does not touch the wants */
    switch (err) {
    case ARB_OK:
        metric(zs, "p2p_zonefile_received", 1);
        if (!requested && is_new)
            metric(zs, "p2p_zonefile_unsolicited", 1);
        if (i >= 0)
            want_del(zs, (size_t)i);
        break;
    case ARB_ERR_VERIFY:
        if (i >= 0) {
            src_remove(zs, &zs->w[i], conn);
            tried_add(&zs->w[i], conn);
        }
        zs->io.misbehave(zs->io.ud, conn, "zonefile-mismatch");
        break;
    case ARB_ERR_NOT_FOUND:
        /* Asked for while on chain, gone since (a reorganization): nobody's
         * fault. Otherwise nobody asked for a file the chain does not know. */
        if (requested)
            metric(zs, "p2p_zonefile_dropped_not_on_chain", 1);
        else
            zs->io.misbehave(zs->io.ud, conn, "zonefile-not-on-chain");
        break;
    case ARB_ERR_INVALID_ARG:
        zs->io.misbehave(zs->io.ud, conn, "zonefile-oversize");
        break;
    default:
        metric(zs, "p2p_zonefile_store_errors", 1);
        break;
    }
}

void arb_zonesync_tip_changed(arb_zonesync *zs)
{
    if (zs != NULL)
        arb_zonefiles_tip_changed(zs->z);
}

/* Newly stored zone files: no longer wanted, announced to every peer. */
static void announce_news(arb_zonesync *zs)
{
    uint8_t (*news)[32];
    size_t n, dropped;
    pthread_mutex_lock(&zs->mu);
    n = zs->n_news;
    dropped = zs->news_dropped;
    zs->news_dropped = 0;
    if (n == 0) {
        pthread_mutex_unlock(&zs->mu);
        if (dropped)
            metric(zs, "p2p_zonefile_announce_dropped", dropped);
        return;
    }
    news = malloc(n * 32);
    if (news != NULL) {
        memcpy(news, zs->news, n * 32);
        zs->n_news = 0;
    }
    pthread_mutex_unlock(&zs->mu);
    if (dropped)
        metric(zs, "p2p_zonefile_announce_dropped", dropped);
    if (news == NULL)
        return;
    arb_p2p_inv *v = malloc((n < 1000 ? n : 1000) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        long k = want_find(zs, news[i]);
        if (k >= 0)
            want_del(zs, (size_t)k);
    }
    for (size_t off = 0; v != NULL && off < n; off += 1000) {
        size_t m = n - off < 1000 ? n - off : 1000;
        for (size_t j = 0; j < m; j++) {
            v[j].type = ARB_INV_ZONEFILE;
            memcpy(v[j].hash.b, news[off + j], 32);
        }
        for (size_t p = 0; p < zs->n_peers; p++)
            send_inv(zs, zs->peers[p].conn, ARB_P2P_INV, v, m);
    }
    free(v);
    free(news);
}

/* A page of our stored hashes to each peer that joined. */
static void announce_stored(arb_zonesync *zs)
{
    uint8_t(*h)[32] = NULL;
    arb_p2p_inv *v = NULL;
    for (size_t i = 0; i < zs->n_peers; i++) {
        zpeer *p = &zs->peers[i];
        size_t n;
        if (!p->announcing)
            continue;
        if (h == NULL && ((h = malloc(ANNOUNCE_PAGE * 32)) == NULL ||
                          (v = malloc(ANNOUNCE_PAGE * sizeof *v)) == NULL))
            break;
        if (arb_zonefiles_list(zs->z, p->have_cursor ? p->cursor : NULL, h, ANNOUNCE_PAGE, &n) !=
            ARB_OK)
            continue; /* again next time */
        for (size_t k = 0; k < n; k++) {
            v[k].type = ARB_INV_ZONEFILE;
            memcpy(v[k].hash.b, h[k], 32);
        }
        send_inv(zs, p->conn, ARB_P2P_INV, v, n);
        if (n > 0) {
            memcpy(p->cursor, h[n - 1], 32);
            p->have_cursor = 1;
        }
        if (n < ANNOUNCE_PAGE)
            p->announcing = 0;
    }
    free(h);
    free(v);
}

/* Rarest first: fewest sources; hashes nobody announced come last. */
static int by_rarity(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->rarity != y->rarity)
        return x->rarity < y->rarity ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The peer to ask for w: the least busy source that has not failed it; if
 * every source failed (or nobody announced it), the least busy peer that has
 * not failed it. NULL when every candidate is busy or none is left. */
static zpeer *pick(arb_zonesync *zs, want *w, int64_t now, int *exhausted)
{
    zpeer *best = NULL;
    int untried_src = 0, untried = 0;
    *exhausted = 0;
    for (size_t k = 0; k < w->n_src; k++) {
        if (list_has(w->tried, w->n_tried, w->src[k]))
            continue;
        zpeer *p = peer_find(zs, w->src[k]);
        if (p == NULL)
            continue;
        untried_src = 1;
        if (p->inflight < ARB_ZONESYNC_MAX_INFLIGHT && (best == NULL || p->inflight < best->inflight))
            best = p;
    }
    if (untried_src || now < w->blind_ms)
        return best;
    for (size_t i = 0; i < zs->n_peers; i++) {
        zpeer *p = &zs->peers[i];
        if (list_has(w->tried, w->n_tried, p->conn))
            continue;
        untried = 1;
        if (p->inflight < ARB_ZONESYNC_MAX_INFLIGHT && (best == NULL || p->inflight < best->inflight))
            best = p;
    }
    *exhausted = !untried || w->fails >= MAX_SRC;
    return *exhausted ? NULL : best;
}

static void request_pass(arb_zonesync *zs, int64_t now)
{
    size_t nc = 0, capacity = 0;
    /* Forget what is neither wanted nor offered any more. */
    for (size_t i = 0; i < zs->n_w;) {
        want *w = &zs->w[i];
        if (w->asked == 0 && w->n_src == 0 && !arb_zonefiles_is_missing(zs->z, w->hash))
            want_del(zs, i);
        else
            i++;
    }
    for (size_t i = 0; i < zs->n_peers; i++) {
        zs->peers[i].n_req = 0;
        if (zs->peers[i].inflight < ARB_ZONESYNC_MAX_INFLIGHT)
            capacity += ARB_ZONESYNC_MAX_INFLIGHT - zs->peers[i].inflight;
    }
    if (capacity == 0)
        return;
    for (size_t i = 0; i < zs->n_w; i++) {
        want *w = &zs->w[i];
        if (w->asked == 0 && now >= w->retry_ms && arb_zonefiles_is_missing(zs->z, w->hash)) {
            zs->cand[nc].rarity = w->n_src ? w->n_src : 1000;
            zs->cand[nc++].i = i;
        }
    }
    if (nc > 1)
        qsort(zs->cand, nc, sizeof *zs->cand, by_rarity);
    for (size_t c = 0; c < nc && capacity > 0; c++) {
        want *w = &zs->w[zs->cand[c].i];
        int exhausted;
        zpeer *p = pick(zs, w, now, &exhausted);
        if (p == NULL) {
            if (exhausted) { /* everyone failed it: a while later, all again */
                w->n_tried = 0;
                w->fails = 0;
                w->retry_ms = now + ((int64_t)ARB_ZONESYNC_RETRY_MS << w->rounds);
                if (w->rounds < 5)
                    w->rounds++;
            }
            continue;
        }
        w->asked = p->conn;
        w->asked_ms = now;
        p->inflight++;
        p->req[p->n_req].type = ARB_INV_ZONEFILE;
        memcpy(p->req[p->n_req++].hash.b, w->hash, 32);
        capacity--;
    }
    for (size_t i = 0; i < zs->n_peers; i++) {
        zpeer *p = &zs->peers[i];
        if (p->n_req > 0) {
            send_inv(zs, p->conn, ARB_P2P_GETDATA, p->req, p->n_req);
            metric(zs, "p2p_zonefile_requested", p->n_req);
            p->n_req = 0;
        }
    }
}

void arb_zonesync_tick(arb_zonesync *zs, int64_t now)
{
    if (zs == NULL)
        return;
    announce_news(zs);
    announce_stored(zs);
    int r = arb_zonefiles_scan_step(zs->z, SCAN_STEP);
    if (r != 0 || zs->scanning) {
        zs->dirty = 1;
        zs->scanning = r != 0;
    }
    /* Missing hashes nobody announced get a want of their own. */
    {
        uint8_t h[MISSING_WALK][32];
        size_t n = arb_zonefiles_missing_list(zs->z, &zs->missing_cursor, h, MISSING_WALK);
        for (size_t i = 0; i < n; i++) {
            long k;
            if (want_find(zs, h[i]) < 0 && (k = want_add(zs, h[i])) >= 0) {
                zs->w[k].blind_ms = now + BLIND_DELAY_MS;
                zs->dirty = 1;
            }
        }
    }
    for (size_t i = 0; i < zs->n_w; i++) {
        want *w = &zs->w[i];
        if (w->asked != 0 && now - w->asked_ms > ARB_ZONESYNC_TIMEOUT_MS) {
            src_remove(zs, w, w->asked);
            tried_add(w, w->asked);
            unask(zs, w);
            metric(zs, "p2p_zonefile_request_timeouts", 1);
        }
    }
    if (zs->dirty || now - zs->last_pass_ms >= PASS_MS) {
        zs->dirty = 0;
        zs->last_pass_ms = now;
        request_pass(zs, now);
    }
    gauge(zs, "zonefiles_stored", arb_zonefiles_count(zs->z));
    gauge(zs, "zonefiles_missing", arb_zonefiles_missing_count(zs->z));
    gauge(zs, "p2p_zonefile_wants", zs->n_w);
}
