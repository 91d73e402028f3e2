/* Following logs; see follow.h. */
#include "auditor/follow.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auditor/client.h"
#include "auditor/consist.h"
#include "auditor/datatile.h"
#include "auditor/evidence.h"
#include "auditor/lightproof.h"
#include "ledger/log/ct.h"
#include "ledger/store/store.h"
#include "merkle/buf.h"
#include "merkle/file.h"

#include "merkle/proof.h"
#include "merkle/range.h"
#include "merkle/tile.h"

#include <openssl/err.h>
#include <openssl/x509.h>

/* heads: log ID -> last verified head; pos: log ID -> entries downloaded;
 * range: log ID -> compact range frontier of the downloaded entries;
 * seen: certificate identity -> reported, and "evidence" || SHA-256 of a
 * report's kind, log and pair of heads -> the report's file. */
static const char *const CFS[] = {"default", "heads", "pos", "seen", "range"};
enum { CF_HEADS = 1, CF_POS = 2, CF_SEEN = 3, CF_RANGE = 4 };

struct arb_audit_follower {
    const arb_audit_loglist *logs;
    arb_audit_follow_cfg cfg;
    char *evidence_dir;
    arb_store *store;
    arb_audit_client *client; /* poll thread only */
    arb_ct_verifier **keys;   /* one per log */
    pthread_mutex_t lock;     /* head compare-and-update, events */
    uint64_t reports;         /* misbehaviour reports made (under lock) */
    /* Issuer fingerprints of static-ct-api logs already fetched and checked
     * (a few per log; the list stops growing at ISSUERS_MAX). */
    pthread_mutex_t issuers_mu;
    uint8_t (*issuers)[32];
    size_t n_issuers;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void emit(arb_audit_follower *f, arb_audit_event *ev)
{
    if (f->cfg.on_event)
        f->cfg.on_event(f->cfg.ud, ev);
}

static void problem(arb_audit_follower *f, const arb_audit_log *log, const arb_audit_sth *sth,
                    const char *name, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void problem(arb_audit_follower *f, const arb_audit_log *log, const arb_audit_sth *sth,
                    const char *name, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    arb_audit_event ev;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    memset(&ev, 0, sizeof ev);
    ev.type = ARB_AUDIT_EVENT_PROBLEM;
    ev.log = log;
    ev.sth = sth;
    ev.problem = name;
    ev.detail = line;
    emit(f, &ev);
}

/* ---- state ---- */

static void head_encode(arb_buf *b, const arb_audit_sth *s)
{
    arb_buf_u64be(b, s->tree_size);
    arb_buf_u64be(b, s->timestamp);
    arb_buf_put(b, s->root.b, 32);
    arb_buf_u16be(b, (uint16_t)s->sig_len);
    arb_buf_put(b, s->sig, s->sig_len);
}

static arb_err load_head(arb_audit_follower *f, const arb_audit_log *log, arb_audit_sth *out)
{
    uint8_t buf[128];
    size_t n = 0;
    const uint8_t *sig;
    size_t sl;
    arb_cur c;
    arb_err err = arb_store_get_into(f->store, NULL, CF_HEADS, log->log_id, 32, buf, sizeof buf,
                                     &n, NULL);
    memset(out, 0, sizeof *out);
    if (err != ARB_OK)
        return err;
    c = arb_cur_make(buf, n);
    if (!arb_cur_u64be(&c, &out->tree_size) || !arb_cur_u64be(&c, &out->timestamp) ||
        !arb_cur_get(&c, out->root.b, 32) || !arb_cur_tls_vec(&c, 2, &sig, &sl) ||
        sl > sizeof out->sig || c.len != 0)
        return ARB_ERR_DB;
    memcpy(out->sig, sig, sl);
    out->sig_len = sl;
    return ARB_OK;
}

static arb_err save_head(arb_audit_follower *f, const arb_audit_log *log, const arb_audit_sth *s,
                         arb_errbuf *eb)
{
    arb_buf v = ARB_BUF_INIT;
    arb_store_batch *b = NULL;
    arb_err err;

    head_encode(&v, s);
    err = v.oom ? ARB_ERR_NOMEM : arb_store_batch_new(&b, f->store);
    if (err == ARB_OK) {
        arb_store_batch_put(b, CF_HEADS, log->log_id, 32, v.data, v.len);
        err = arb_store_write(f->store, b, ARB_STORE_SYNC, eb);
    }
    arb_store_batch_free(b);
    arb_buf_free(&v);
    return err;
}

static const arb_ct_verifier *key_of(arb_audit_follower *f, const arb_audit_log *log)
{
    return f->keys[log - f->logs->logs];
}

/* ---- evidence ---- */

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* The key under which a report is remembered: "evidence" || SHA-256(kind ||
 * log ID || the two signed heads in a fixed order), so that the same pair of
 * heads seen again (a peer gossiping a forked head every round, either
 * direction) is one report. */
static void evidence_key(uint8_t key[40], arb_audit_ev_kind kind, const arb_audit_log *log,
                         const arb_audit_sth *a, const arb_audit_sth *b)
{
    arb_buf x = ARB_BUF_INIT, y = ARB_BUF_INIT, all = ARB_BUF_INIT;
    arb_sha256 *h = NULL;
    int swap;

    head_encode(&x, a);
    head_encode(&y, b);
    swap = x.len != y.len ? x.len > y.len : memcmp(x.data, y.data, x.len) > 0;
    arb_buf_u8(&all, (uint8_t)kind);
    arb_buf_put(&all, log->log_id, 32);
    arb_buf_put(&all, swap ? y.data : x.data, swap ? y.len : x.len);
    arb_buf_put(&all, swap ? x.data : y.data, swap ? x.len : y.len);
    memcpy(key, "evidence", 8);
    if (all.oom || arb_sha256_new(&h) != ARB_OK)
        memset(key + 8, 0, 32); /* no memory: every such report is written */
    else
        arb_sha256_digest(h, key + 8, all.data, all.len);
    arb_sha256_free(h);
    arb_buf_free(&x);
    arb_buf_free(&y);
    arb_buf_free(&all);
}

static void report_obj(arb_audit_follower *f, arb_audit_ev_kind kind, const arb_audit_log *log,
                       const arb_audit_sth *a, const arb_audit_sth *b, json_t *o,
                       const char *detail, uint64_t t);

static void report(arb_audit_follower *f, arb_audit_ev_kind kind, const arb_audit_log *log,
                   const arb_audit_sth *a, const char *src_a, const arb_audit_sth *b,
                   const char *src_b, const arb_hash *proof, size_t n, const arb_hash *prefix,
                   const char *detail)
{
    uint64_t t = now_ms();
    json_t *o = kind == ARB_AUDIT_EV_FORK
                    ? arb_audit_evidence_make_fork(log, a, src_a, b, src_b, prefix, proof, n,
                                                   detail, t)
                    : arb_audit_evidence_make(kind, log, a, src_a, b, src_b, proof, n, detail, t);
    report_obj(f, kind, log, a, b, o, detail, t);
}

/* Writes report o (takes it; NULL: out of memory, the event still goes out)
 * once per pair of heads and emits the MISBEHAVIOUR event. */
static void report_obj(arb_audit_follower *f, arb_audit_ev_kind kind, const arb_audit_log *log,
                       const arb_audit_sth *a, const arb_audit_sth *b, json_t *o,
                       const char *detail, uint64_t t)
{
    char path[1200], idhex[65], *earlier = NULL;
    arb_audit_event ev;
    const char *written = NULL;
    uint8_t key[40];
    uint8_t *val = NULL;
    size_t vl = 0;

    arb_hex_encode(idhex, log->log_id, 32);
    idhex[16] = '\0';
    /* Reported before (this pair of heads): name the earlier file, write none. */
    evidence_key(key, kind, log, a, b);
    if (arb_store_get(f->store, NULL, CF_SEEN, key, sizeof key, &val, &vl, NULL) == ARB_OK &&
        vl > 0 && vl < sizeof path && (earlier = malloc(vl + 1)) != NULL) {
        memcpy(earlier, val, vl);
        earlier[vl] = '\0';
        written = earlier;
    }
    free(val);
    if (o != NULL && written == NULL) {
        /* A new evidence directory is made durable in its parent, and each
         * report in it (below): the path is reported and remembered in the
         * store, so the file must outlive a power loss as the store does. */
        if (mkdir(f->evidence_dir, 0755) == 0)
            arb_file_sync_parent(f->evidence_dir, NULL);
        /* Never overwrite an earlier report. */
        for (int k = 0; k < 100 && written == NULL; k++) {
            FILE *fp;
            if (k == 0)
                snprintf(path, sizeof path, "%s/%s-%s-%llu.json", f->evidence_dir,
                         arb_audit_ev_kind_name(kind), idhex, (unsigned long long)t);
            else
                snprintf(path, sizeof path, "%s/%s-%s-%llu-%d.json", f->evidence_dir,
                         arb_audit_ev_kind_name(kind), idhex, (unsigned long long)t, k);
            fp = fopen(path, "wx");
            if (fp == NULL) {
                if (errno == EEXIST)
                    continue;
                break;
            }
            {
                int ok = json_dumpf(o, fp, JSON_INDENT(2)) == 0 && fputc('\n', fp) != EOF &&
                         fflush(fp) == 0 && fsync(fileno(fp)) == 0;
                ok = fclose(fp) == 0 && ok && arb_file_sync_parent(path, NULL) == ARB_OK;
                if (ok)
                    written = path; /* else not durable: not remembered as written */
            }
            break;
        }
        if (written != NULL && !all_zero(key + 8, 32)) {
            /* Remembered with the file's path; if this fails, a later
             * sighting simply writes another report. */
            arb_store_batch *rb = NULL;
            if (arb_store_batch_new(&rb, f->store) == ARB_OK) {
                arb_store_batch_put(rb, CF_SEEN, key, sizeof key, (const uint8_t *)written,
                                    strlen(written));
                if (arb_store_write(f->store, rb, ARB_STORE_SYNC, NULL) != ARB_OK) {
                    /* see above */
                }
            }
            arb_store_batch_free(rb);
        }
    }
    memset(&ev, 0, sizeof ev);
    f->reports++;
    ev.type = ARB_AUDIT_EVENT_MISBEHAVIOUR;
    ev.log = log;
    ev.sth = b;
    ev.problem = arb_audit_ev_kind_name(kind);
    ev.detail = detail;
    ev.evidence = o;
    ev.evidence_path = written;
    ev.repeated = earlier != NULL;
    emit(f, &ev);
    json_decref(o);
    free(earlier);
}

/* ---- life ---- */

arb_err arb_audit_follower_new(arb_audit_follower **out, const arb_audit_loglist *logs,
                               const arb_audit_follow_cfg *cfg, arb_errbuf *eb)
{
    arb_audit_follower *f;
    arb_err err;
    size_t dl;

    *out = NULL;
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return ARB_ERR_NOMEM;
    f->logs = logs;
    f->cfg = *cfg;
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->issuers_mu, NULL);
    dl = strlen(cfg->state_dir) + 16;
    f->evidence_dir = malloc(cfg->evidence_dir ? strlen(cfg->evidence_dir) + 1 : dl);
    f->keys = calloc(logs->n ? logs->n : 1, sizeof *f->keys);
    if (f->evidence_dir == NULL || f->keys == NULL) {
        err = ARB_ERR_NOMEM;
        goto fail;
    }
    if (cfg->evidence_dir)
        strcpy(f->evidence_dir, cfg->evidence_dir);
    else
        snprintf(f->evidence_dir, dl, "%s/evidence", cfg->state_dir);
    for (size_t i = 0; i < logs->n; i++)
        if ((err = arb_ct_verifier_from_spki(&f->keys[i], logs->logs[i].key, logs->logs[i].key_len,
                                             eb)) != ARB_OK)
            goto fail;
    if ((err = arb_store_open(&f->store, cfg->state_dir, CFS, 5, NULL, eb)) != ARB_OK)
        goto fail;
    if ((err = arb_audit_client_new(&f->client, cfg->timeout_ms)) != ARB_OK)
        goto fail;
    *out = f;
    return ARB_OK;
fail:
    arb_audit_follower_free(f);
    return err;
}

void arb_audit_follower_free(arb_audit_follower *f)
{
    if (f == NULL)
        return;
    arb_audit_client_free(f->client);
    arb_store_close(f->store);
    for (size_t i = 0; f->keys && i < f->logs->n; i++)
        arb_ct_verifier_free(f->keys[i]);
    free(f->keys);
    free(f->evidence_dir);
    free(f->issuers);
    pthread_mutex_destroy(&f->issuers_mu);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

typedef struct {
    arb_audit_client *c;
    const arb_audit_log *log;
    arb_errbuf *eb;
} tile_reader;

/* Fetches a tile (hash or data) at its width. A partial tile may be gone once
 * the full one exists (tlog-tiles): then the full tile is fetched instead,
 * whose first entries are the same. *width gets the width of what was
 * fetched (tile->width, or 256 after the fallback); *body (free()) the
 * answer. Returns ARB_OK, ARB_ERR_NET (no answer, or not 200). */
static arb_err fetch_tile(arb_audit_client *c, const arb_audit_log *log, const arb_tile *tile,
                          uint8_t **body, size_t *len, unsigned *width, arb_errbuf *eb)
{
    arb_tile t = *tile;
    char path[ARB_TILE_PATH_MAX], url[2300];
    long status = 0;
    arb_err err;

    *body = NULL;
    *len = 0;
    *width = 0;
    for (;;) {
        if (arb_tile_path(&t, path, sizeof path) != ARB_OK)
            return arb_errf(eb, ARB_ERR_INTERNAL, "bad tile");
        snprintf(url, sizeof url, "%s%s", log->url, path);
        if ((err = arb_audit_http(c, url, NULL, 0, NULL, &status, body, len, eb)) != ARB_OK)
            return err;
        if (status != 404 || t.width == ARB_TILE_WIDTH)
            break;
        free(*body);
        *body = NULL;
        t.width = ARB_TILE_WIDTH;
    }
    if (status != 200) {
        free(*body);
        *body = NULL;
        *len = 0;
        return arb_errf(eb, ARB_ERR_NET, "%s: HTTP status %ld", url, status);
    }
    *width = t.width;
    return ARB_OK;
}

/* Fetches a hash tile (tlog-tiles) at its exact width. */
static arb_err read_tile(void *ud, const arb_tile *tile,
                         uint8_t out[static ARB_TILE_WIDTH * ARB_HASH_SIZE])
{
    tile_reader *tr = ud;
    uint8_t *body = NULL;
    size_t len = 0;
    unsigned w = 0;
    arb_err err;

    if ((err = fetch_tile(tr->c, tr->log, tile, &body, &len, &w, tr->eb)) != ARB_OK)
        return err;
    if (len != (size_t)w * ARB_HASH_SIZE) {
        free(body);
        return arb_errf(tr->eb, ARB_ERR_PARSE, "hash tile %u/%llu: %zu bytes, want %u",
                        tile->level, (unsigned long long)tile->index, len, w * ARB_HASH_SIZE);
    }
    memcpy(out, body, (size_t)tile->width * ARB_HASH_SIZE);
    free(body);
    return ARB_OK;
}

static arb_err tiles_consistency(arb_audit_client *c, const arb_audit_log *log, uint64_t m,
                                 uint64_t n, arb_hash proof[static ARB_AUDIT_PROOF_MAX],
                                 size_t *len, arb_errbuf *eb)
{
    tile_reader tr = {c, log, eb};
    arb_tile_source *ts = malloc(sizeof *ts);
    arb_sha256 *h = NULL;
    arb_merkle_source src;
    arb_hash tmp[ARB_MERKLE_MAX_PROOF];
    arb_err err;

    *len = 0;
    if (ts == NULL || arb_sha256_new(&h) != ARB_OK) {
        free(ts);
        return ARB_ERR_NOMEM;
    }
    eb->msg[0] = '\0';
    arb_tile_source_init(ts, h, n, read_tile, &tr);
    src.get_node = arb_tile_source_get_node;
    src.ud = ts;
    err = arb_merkle_consistency_build(h, &src, m, n, tmp, len);
    if (err == ARB_OK && *len <= ARB_AUDIT_PROOF_MAX)
        memcpy(proof, tmp, *len * sizeof tmp[0]);
    else if (err != ARB_OK && eb->msg[0] == '\0')
        arb_errf(eb, err, "tiles: cannot build the consistency proof %llu -> %llu",
                 (unsigned long long)m, (unsigned long long)n);
    arb_sha256_free(h);
    free(ts);
    return err;
}

/* ---- comparing two verified heads ---- */

/* The root of the first m entries of the tree behind `big` (m < big size),
 * established from what the log serves, for a fork report: *prefix such
 * that proof[0..n) (the consistency proof m -> big the log served) leads
 * from it to big's root, which fixes it (consist.h). Where it comes from:
 *   - a static-ct-api log: the log's hash tiles of big's tree;
 *   - m not a power of two: the proof itself carries it;
 *   - m a power of two, the first m entries are one complete subtree: its
 *     hash is the root an inclusion proof of entry m-1 reaches after its
 *     first log2(m) steps (get-entries for the leaf, get-proof-by-hash in
 *     big's tree, the whole proof verified against big's root first).
 * Returns ARB_OK, or an error when the log's answers do not establish it
 * (no report can then be conclusive). No lock held: network calls. */
typedef struct {
    arb_sha256 *h;
    arb_hash leaf;
    int got;
} leaf_grab;

static arb_err grab_leaf(void *ud, uint64_t index, const uint8_t *leaf, size_t leaf_len,
                         const uint8_t *extra, size_t extra_len)
{
    leaf_grab *g = ud;
    (void)index;
    (void)extra;
    (void)extra_len;
    arb_merkle_leaf_hash(g->h, &g->leaf, leaf, leaf_len);
    g->got = 1;
    return ARB_OK;
}

static arb_err prefix_of(arb_audit_client *c, const arb_audit_log *log, uint64_t m,
                         const arb_audit_sth *big, const arb_hash *proof, size_t n,
                         arb_hash *prefix, arb_errbuf *eb)
{
    arb_sha256 *h = NULL;
    arb_err err;

    memset(prefix, 0, sizeof *prefix);
    if (m == 0 || m >= big->tree_size)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "no prefix");
    if (arb_sha256_new(&h) != ARB_OK)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if (log->tiled) {
        tile_reader tr = {c, log, eb};
        arb_tile_source *ts = malloc(sizeof *ts);
        arb_merkle_source src;
        err = ARB_ERR_NOMEM;
        if (ts != NULL) {
            arb_tile_source_init(ts, h, big->tree_size, read_tile, &tr);
            src.get_node = arb_tile_source_get_node;
            src.ud = ts;
            err = arb_merkle_source_root(h, &src, m, prefix);
            free(ts);
        }
    } else if ((m & (m - 1)) != 0) {
        err = arb_audit_consistency_old_root(m, big->tree_size, proof, n, prefix, eb);
    } else {
        leaf_grab g = {h, {{0}}, 0};
        arb_hash path[ARB_MERKLE_MAX_PROOF];
        uint64_t index = 0, got = 0;
        size_t pl = 0, k = 0;
        while (((uint64_t)1 << k) < m)
            k++;
        err = arb_audit_get_entries(c, log, m - 1, m - 1, grab_leaf, &g, &got, eb);
        if (err == ARB_OK && !g.got)
            err = arb_errf(eb, ARB_ERR_PARSE, "get-entries: no entry %llu",
                           (unsigned long long)(m - 1));
        if (err == ARB_OK)
            err = arb_audit_get_proof_by_hash(c, log, &g.leaf, big->tree_size, &index, path,
                                              ARB_MERKLE_MAX_PROOF, &pl, eb);
        if (err == ARB_OK && index != m - 1)
            err = arb_errf(eb, ARB_ERR_VERIFY, "get-proof-by-hash: entry %llu, asked for %llu",
                           (unsigned long long)index, (unsigned long long)(m - 1));
        if (err == ARB_OK)
            err = arb_audit_inclusion_verify(m - 1, big->tree_size, &g.leaf, path, pl, &big->root,
                                             eb);
        if (err == ARB_OK && pl < k)
            err = arb_errf(eb, ARB_ERR_VERIFY, "inclusion proof too short");
        if (err == ARB_OK)
            err = arb_merkle_inclusion_root(h, m - 1, m, &g.leaf, path, k, prefix, eb);
    }
    arb_sha256_free(h);
    if (err == ARB_OK)
        err = arb_audit_consistency_verify(m, prefix, big->tree_size, &big->root, proof, n, eb);
    if (err != ARB_OK)
        memset(prefix, 0, sizeof *prefix);
    return err;
}

/* Compares a new verified head `got` (from src) with the stored `mine`.
 * Called with f->lock held; fetches a consistency proof with client c when
 * needed, with the lock released meanwhile. Returns 1 when got is consistent
 * and newer-or-equal (may replace mine), 0 when consistent but not to be
 * stored (older), -1 when a problem was named (nothing proven), -2 when a
 * misbehaviour was reported. */
static int compare_heads(arb_audit_follower *f, arb_audit_client *c, const arb_audit_log *log,
                         const arb_audit_sth *mine, const arb_audit_sth *got, const char *src)
{
    int older = 0, fork = 0;
    arb_hash proof[ARB_AUDIT_PROOF_MAX], prefix;
    size_t n = 0;
    arb_errbuf eb, veb, peb;
    arb_err err, verr = ARB_ERR_INTERNAL;
    const arb_audit_sth *small, *big;
    char detail[400];

    switch (arb_audit_heads_compare(mine, got, &older)) {
    case ARB_AUDIT_HEADS_SAME:
        return got->timestamp > mine->timestamp ? 1 : 0;
    case ARB_AUDIT_HEADS_SPLIT:
        snprintf(detail, sizeof detail,
                 "two signed tree heads of size %llu with different root hashes (%s)",
                 (unsigned long long)got->tree_size, src);
        report(f, ARB_AUDIT_EV_SPLIT_VIEW, log, mine, "verified earlier", got, src, NULL, 0, NULL,
               detail);
        return -2;
    case ARB_AUDIT_HEADS_SHRINKING: {
        const arb_audit_sth *first = older == 0 ? mine : got, *second = older == 0 ? got : mine;
        snprintf(detail, sizeof detail,
                 "tree head of size %llu signed after one of size %llu: the log shrank (%s)",
                 (unsigned long long)second->tree_size, (unsigned long long)first->tree_size, src);
        report(f, ARB_AUDIT_EV_SHRINKING, log, first, older == 0 ? "verified earlier" : src,
               second, older == 0 ? src : "verified earlier", NULL, 0, NULL, detail);
        return -2;
    }
    case ARB_AUDIT_HEADS_NEED_PROOF:
        break;
    }
    small = mine->tree_size < got->tree_size ? mine : got;
    big = small == mine ? got : mine;
    if (small->tree_size == 0) {
        n = 0;
        verr = ARB_OK;
    } else {
        /* The proofs come over the network: not under the lock, so that a
         * slow log delays only this check, not the other logs' polling or
         * the gossip endpoints. mine and got are the caller's copies. */
        pthread_mutex_unlock(&f->lock);
        if (log->tiled) /* tlog-tiles: the proof from the log's hash tiles */
            err = tiles_consistency(c, log, small->tree_size, big->tree_size, proof, &n, &eb);
        else
            err = arb_audit_get_consistency(c, log, small->tree_size, big->tree_size, proof,
                                            ARB_AUDIT_PROOF_MAX, &n, &eb);
        if (err == ARB_OK) {
            verr = arb_audit_consistency_verify(small->tree_size, &small->root, big->tree_size,
                                                &big->root, proof, n, &veb);
            /* The smaller head is not a prefix of the larger: if the log's
             * tree behind the larger head has another root at that size,
             * the pair is a fork anyone can check. */
            if (verr == ARB_ERR_VERIFY &&
                prefix_of(c, log, small->tree_size, big, proof, n, &prefix, &peb) == ARB_OK &&
                !arb_hash_eq(&prefix, &small->root))
                fork = 1;
        }
        pthread_mutex_lock(&f->lock);
        if (err != ARB_OK && got == small && c == f->client) {
            /* A log that went back to an older tree often cannot prove the
             * newer one any more (it lost it): still a rollback. */
            problem(f, log, got, "rollback",
                    "the log served tree head %llu (timestamp %llu) after %llu (timestamp %llu) "
                    "and gives no consistency proof between them: %s",
                    (unsigned long long)got->tree_size, (unsigned long long)got->timestamp,
                    (unsigned long long)mine->tree_size, (unsigned long long)mine->timestamp,
                    eb.msg);
            return -1;
        }
        if (err != ARB_OK) {
            problem(f, log, got, err == ARB_ERR_PARSE ? "bad-answer" : "unreachable", "%s", eb.msg);
            return -1;
        }
    }
    if (verr == ARB_ERR_VERIFY && fork) {
        char rh[65];
        arb_hex_encode(rh, prefix.b, 32);
        snprintf(detail, sizeof detail,
                 "tree head %llu is not a prefix of tree head %llu: that tree has root %.16s... "
                 "at size %llu (%s)",
                 (unsigned long long)small->tree_size, (unsigned long long)big->tree_size, rh,
                 (unsigned long long)small->tree_size, src);
        report(f, ARB_AUDIT_EV_FORK, log, small, small == mine ? "verified earlier" : src, big,
               big == mine ? "verified earlier" : src, proof, n, &prefix, detail);
        return -2;
    }
    if (verr == ARB_ERR_VERIFY) {
        snprintf(detail, sizeof detail, "consistency proof %llu -> %llu does not verify: %s (%s)",
                 (unsigned long long)small->tree_size, (unsigned long long)big->tree_size,
                 veb.msg, src);
        report(f, ARB_AUDIT_EV_INCONSISTENT, log, small, small == mine ? "verified earlier" : src,
               big, big == mine ? "verified earlier" : src, proof, n, NULL, detail);
        return -2;
    }
    if (verr != ARB_OK) {
        problem(f, log, got, "unverifiable", "%s", veb.msg);
        return -1;
    }
    if (got == small && c == f->client) {
        /* The log itself served an older, smaller head than one it signed
         * before, consistent with it: a stale or rolled-back view, named
         * (nothing to prove) and not stored. */
        problem(f, log, got, "rollback",
                "the log served tree head %llu (timestamp %llu) after %llu (timestamp %llu); "
                "it is consistent with the verified tree",
                (unsigned long long)got->tree_size, (unsigned long long)got->timestamp,
                (unsigned long long)mine->tree_size, (unsigned long long)mine->timestamp);
        return -1;
    }
    return got == big ? 1 : 0;
}

/* ---- entries ---- */

/* The download pipeline (docs/auditor.md, "Downloading entries"). The
 * entries [pos, tree size) are cut into jobs at multiples of 256 (a data
 * tile each, or one get-entries range). DL_FETCHERS threads, each with its
 * own libcurl handle, take the next job, fetch it and do all the work per
 * entry that needs no state: JSON and base64 decoding, MerkleTreeLeaf
 * decoding, the leaf hash, and with a watch list the certificate read and
 * match. The thread that called download() takes the finished jobs strictly
 * in order: it appends their leaf hashes to the compact range, emits their
 * matches (precert / final de-dup against the store) and persists the
 * position with the frontier, synced, every DL_PERSIST_ENTRIES entries or
 * DL_PERSIST_MS, always at a job boundary. A job that failed stops the
 * download at that job: nothing of it is used, the jobs before it are
 * persisted. Fetchers run at most DL_WINDOW jobs ahead. */
#define DL_FETCHERS 4
#define DL_WINDOW 16
#define DL_PERSIST_ENTRIES 8192
#define DL_PERSIST_MS 1000

/* A match, or a certificate that could not be read, at one entry. */
typedef struct {
    uint64_t index;
    int precert;
    long watch;       /* watch list index; -1: bad certificate (why) */
    const char *name; /* into ci.names */
    arb_audit_certinfo ci;
    char *why;
} dl_note;

typedef struct {
    int done;                      /* fetched and processed (or failed) */
    uint64_t start, end;           /* entries [start, end) */
    arb_hash lh[ARB_TILE_WIDTH];   /* leaf hashes of [start, end) */
    dl_note *notes;                /* in index order */
    size_t nnotes, cap;
    arb_err err;                   /* ARB_ERR_NET: unreachable; else bad-entries */
    char why[600];
} dl_job;

typedef struct {
    arb_audit_follower *f;
    const arb_audit_log *log;
    const arb_audit_sth *head;
    uint64_t pos0, njobs;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next_claim;  /* next job a fetcher takes */
    uint64_t next_append; /* next job the appender takes */
    int stop;
    dl_job ring[DL_WINDOW];
} dl_pipe;

/* What a fetcher works with. */
typedef struct {
    dl_pipe *p;
    arb_audit_client *c;
    arb_sha256 *h;
    arb_ct_tile_leaf *tl; /* ARB_TILE_WIDTH */
    dl_job *job;
} dl_fetcher;

static void job_clear(dl_job *j)
{
    for (size_t i = 0; i < j->nnotes; i++) {
        arb_audit_certinfo_clear(&j->notes[i].ci);
        free(j->notes[i].why);
    }
    free(j->notes);
    memset(j, 0, sizeof *j);
}

static arb_err job_note(dl_job *j, const dl_note *n)
{
    if (j->nnotes == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 8;
        dl_note *d = realloc(j->notes, cap * sizeof *d);
        if (d == NULL)
            return ARB_ERR_NOMEM;
        j->notes = d;
        j->cap = cap;
    }
    j->notes[j->nnotes++] = *n;
    return ARB_OK;
}

/* Reads and matches the certificate of entry `index` (watch list only). */
static arb_err job_match(dl_fetcher *w, uint64_t index, const arb_ct_leaf *leaf)
{
    const arb_audit_follow_cfg *cfg = &w->p->f->cfg;
    dl_note n;
    arb_errbuf eb;
    arb_err err;

    if (cfg->nwatch == 0)
        return ARB_OK;
    memset(&n, 0, sizeof n);
    n.index = index;
    n.precert = leaf->entry.entry_type == ARB_CT_ENTRY_PRECERT;
    /* The subject line is rendered only for the certificates that match. */
    if (arb_audit_certinfo_read_ex(&n.ci, leaf->entry.cert, leaf->entry.cert_len, n.precert,
                                   ARB_CERTINFO_NO_SUBJECT, &eb) != ARB_OK) {
        n.watch = -1;
        if ((n.why = strdup(eb.msg)) == NULL)
            return ARB_ERR_NOMEM;
    } else if ((n.watch = arb_audit_certinfo_match(&n.ci, cfg->watch, cfg->nwatch, &n.name)) <
               0) {
        arb_audit_certinfo_clear(&n.ci);
        return ARB_OK;
    } else {
        arb_audit_certinfo_subject(&n.ci, leaf->entry.cert, leaf->entry.cert_len, n.precert);
    }
    if ((err = job_note(w->job, &n)) != ARB_OK) {
        arb_audit_certinfo_clear(&n.ci);
        free(n.why);
    }
    return err;
}

static arb_err on_entry(void *ud, uint64_t index, const uint8_t *leaf_bytes, size_t leaf_len,
                        const uint8_t *extra, size_t extra_len)
{
    dl_fetcher *w = ud;
    dl_job *j = w->job;
    arb_ct_leaf leaf;

    (void)extra;
    (void)extra_len;
    if (arb_ct_leaf_decode(&leaf, leaf_bytes, leaf_len) != ARB_OK) {
        snprintf(j->why, sizeof j->why, "entry %llu: leaf_input is not a MerkleTreeLeaf",
                 (unsigned long long)index);
        return ARB_ERR_PARSE;
    }
    arb_merkle_leaf_hash(w->h, &j->lh[index - j->start], leaf_bytes, leaf_len);
    return job_match(w, index, &leaf);
}

/* An RFC 6962 job: get-entries until the whole range is in (a log may
 * answer fewer entries than asked; never none, never more). */
static arb_err fetch_entries(dl_fetcher *w, arb_errbuf *eb)
{
    dl_job *j = w->job;
    uint64_t at = j->start, got = 0;
    arb_err err;

    while (at < j->end) {
        if ((err = arb_audit_get_entries(w->c, w->p->log, at, j->end - 1, on_entry, w, &got,
                                         eb)) != ARB_OK)
            return err;
        at += got;
    }
    return ARB_OK;
}

#define ISSUERS_MAX 4096

static int issuer_known(arb_audit_follower *f, const uint8_t fp[32])
{
    int known = 0;

    pthread_mutex_lock(&f->issuers_mu);
    for (size_t i = f->n_issuers; i-- > 0 && !known;)
        known = memcmp(f->issuers[i], fp, 32) == 0;
    pthread_mutex_unlock(&f->issuers_mu);
    return known;
}

/* static-ct-api: every fingerprint in a data tile names a certificate the log
 * serves at /issuer/<hex fingerprint>. Fetches each one not checked before
 * and checks that it is a DER certificate whose SHA-256 is the fingerprint;
 * a log that does not serve it, or serves something else, fails the job
 * like any bad answer. */
static arb_err check_issuer(dl_fetcher *w, const uint8_t fp[32], arb_errbuf *eb)
{
    arb_audit_follower *f = w->p->f;
    char hex[65], url[2300];
    uint8_t *body = NULL, got[32];
    const unsigned char *q;
    size_t len = 0;
    long status = 0;
    X509 *x;
    arb_err err;

    if (issuer_known(f, fp))
        return ARB_OK;
    arb_hex_encode(hex, fp, 32);
    snprintf(url, sizeof url, "%sissuer/%s", w->p->log->url, hex);
    if ((err = arb_audit_http(w->c, url, NULL, 0, NULL, &status, &body, &len, eb)) != ARB_OK)
        return err;
    if (status != 200) {
        free(body);
        return arb_errf(eb, status == 404 ? ARB_ERR_PARSE : ARB_ERR_NET,
                        "issuer %s: HTTP status %ld", hex, status);
    }
    arb_sha256_digest(w->h, got, body, len);
    q = body;
    x = len > 0 && len < 0x7fffffff ? d2i_X509(NULL, &q, (long)len) : NULL;
    if (memcmp(got, fp, 32) != 0 || x == NULL || (size_t)(q - body) != len) {
        X509_free(x);
        free(body);
        ERR_clear_error();
        return arb_errf(eb, ARB_ERR_PARSE,
                        "issuer %s: the log serves something else (not the DER certificate "
                        "with that SHA-256)",
                        hex);
    }
    X509_free(x);
    free(body);
    pthread_mutex_lock(&f->issuers_mu);
    if (f->n_issuers < ISSUERS_MAX) {
        uint8_t(*n)[32] = realloc(f->issuers, (f->n_issuers + 1) * sizeof *n);
        if (n != NULL) {
            f->issuers = n;
            memcpy(f->issuers[f->n_issuers++], fp, 32);
        }
    }
    pthread_mutex_unlock(&f->issuers_mu);
    return ARB_OK;
}

/* A static-ct-api job: the data tile holding the job's entries, at the width
 * the head's size gives it (static-ct-api "Log Entries"), parsed whole before
 * any entry is used. Entries of the tile before the job's start were
 * appended earlier (from a narrower partial tile); they are skipped. */
static arb_err fetch_data_tile(dl_fetcher *w, arb_errbuf *eb)
{
    dl_job *j = w->job;
    arb_tile t;
    uint8_t *body = NULL;
    size_t len = 0;
    unsigned wd = 0;
    arb_err err;

    memset(&t, 0, sizeof t);
    t.kind = ARB_TILE_DATA;
    t.index = j->start / ARB_TILE_WIDTH;
    t.width = arb_tile_width(w->p->head->tree_size, 0, t.index);
    if ((err = fetch_tile(w->c, w->p->log, &t, &body, &len, &wd, eb)) != ARB_OK)
        goto out;
    if (arb_audit_data_tile_parse(w->tl, body, len, t.index * ARB_TILE_WIDTH, wd, eb) != ARB_OK) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    for (uint64_t i = j->start; i < j->end && err == ARB_OK; i++) {
        const arb_ct_tile_leaf *tl = &w->tl[i % ARB_TILE_WIDTH];
        for (size_t k = 0; k < tl->n_fingerprints && err == ARB_OK &&
                           !w->p->f->cfg.no_issuer_check;
             k++)
            if ((err = check_issuer(w, tl->fingerprints + 32 * k, eb)) != ARB_OK)
                snprintf(j->why, sizeof j->why, "entry %llu: %s", (unsigned long long)i,
                         eb->msg);
        if (err != ARB_OK)
            break;
        if (arb_ct_tile_leaf_hash(w->h, &j->lh[i - j->start], tl) != ARB_OK)
            err = arb_errf(eb, ARB_ERR_PARSE, "data tile: entry %llu cannot be hashed",
                           (unsigned long long)i);
        else
            err = job_match(w, i, &tl->leaf);
    }
out:
    free(body);
    return err;
}

static void *fetcher_main(void *arg)
{
    dl_fetcher *w = arg;
    dl_pipe *p = w->p;

    for (;;) {
        uint64_t k;
        dl_job *j;
        arb_errbuf eb;
        arb_err err;

        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->next_claim < p->njobs && p->next_claim >= p->next_append + DL_WINDOW)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop || p->next_claim >= p->njobs) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        k = p->next_claim++;
        pthread_mutex_unlock(&p->mu);
        /* Job k's slot is free: the appender is done with job k - DL_WINDOW. */
        j = w->job = &p->ring[k % DL_WINDOW];
        j->start = k == 0 ? p->pos0 : (p->pos0 / ARB_TILE_WIDTH + k) * ARB_TILE_WIDTH;
        j->end = (p->pos0 / ARB_TILE_WIDTH + k + 1) * ARB_TILE_WIDTH;
        if (j->end > p->head->tree_size)
            j->end = p->head->tree_size;
        eb.msg[0] = '\0';
        err = p->log->tiled ? fetch_data_tile(w, &eb) : fetch_entries(w, &eb);
        if (err != ARB_OK) {
            j->err = err;
            if (j->why[0] == '\0')
                snprintf(j->why, sizeof j->why, "%s", eb.msg);
        }
        pthread_mutex_lock(&p->mu);
        j->done = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Emits the notes of a job in order: matches once per certificate (a
 * precertificate and its final certificate are one), unreadable
 * certificates as problems. */
static void emit_notes(arb_audit_follower *f, const arb_audit_log *log, arb_store_batch *seen,
                       const dl_job *j)
{
    for (size_t i = 0; i < j->nnotes; i++) {
        const dl_note *n = &j->notes[i];
        arb_audit_event ev;
        arb_errbuf eb;
        int was = 0;

        if (n->watch < 0) {
            pthread_mutex_lock(&f->lock);
            problem(f, log, NULL, "bad-certificate", "entry %llu: %s",
                    (unsigned long long)n->index, n->why);
            pthread_mutex_unlock(&f->lock);
            continue;
        }
        if (arb_store_exists(f->store, NULL, CF_SEEN, n->ci.id, 32, &was, NULL) != ARB_OK)
            was = 0;
        if (was)
            continue;
        memset(&ev, 0, sizeof ev);
        ev.type = ARB_AUDIT_EVENT_MATCH;
        ev.log = log;
        ev.index = n->index;
        ev.precert = n->precert;
        ev.name = n->name;
        ev.watch = f->cfg.watch[n->watch];
        ev.cert = &n->ci;
        pthread_mutex_lock(&f->lock);
        emit(f, &ev);
        pthread_mutex_unlock(&f->lock);
        /* Remember it at once, so that the other half of a precert / final
         * pair later in this download is not reported again. */
        arb_store_batch_put(seen, CF_SEEN, n->ci.id, 32, (const uint8_t *)"1", 1);
        if (arb_store_write(f->store, seen, 0, &eb) == ARB_OK)
            arb_store_batch_clear(seen);
    }
}

/* Writes the position and the frontier of r (synced, one batch) and emits
 * the progress. */
static arb_err persist(arb_audit_follower *f, const arb_audit_log *log, const arb_audit_sth *head,
                       arb_store_batch *b, const arb_merkle_range *r, arb_errbuf *eb)
{
    arb_hash fr[ARB_MERKLE_MAX_FRONTIER];
    size_t nf = arb_merkle_range_frontier(r, fr);
    arb_audit_event ev;
    arb_err err;

    arb_store_batch_clear(b);
    arb_store_batch_put_u64(b, CF_POS, log->log_id, 32, r->size);
    arb_store_batch_put(b, CF_RANGE, log->log_id, 32, (const uint8_t *)fr, nf * 32);
    if ((err = arb_store_write(f->store, b, ARB_STORE_SYNC, eb)) != ARB_OK)
        return err;
    arb_store_batch_clear(b);
    memset(&ev, 0, sizeof ev);
    ev.type = ARB_AUDIT_EVENT_PROGRESS;
    ev.log = log;
    ev.sth = head;
    ev.done = r->size;
    ev.total = head->tree_size;
    pthread_mutex_lock(&f->lock);
    emit(f, &ev);
    pthread_mutex_unlock(&f->lock);
    return ARB_OK;
}

/* Downloads the entries [*pos, head size) into r through the pipeline.
 * Returns ARB_OK (also when the log failed: then a problem was emitted and
 * counted, and r / *pos stop at the last job that was complete), or a store
 * error. */
static arb_err run_pipeline(arb_audit_follower *f, const arb_audit_log *log,
                            const arb_audit_sth *head, arb_merkle_range *r, arb_sha256 *h,
                            uint64_t *pos, size_t *problems)
{
    dl_pipe *p = calloc(1, sizeof *p);
    dl_fetcher w[DL_FETCHERS];
    pthread_t th[DL_FETCHERS];
    size_t started = 0;
    arb_store_batch *b = NULL, *seen = NULL;
    uint64_t saved = *pos, saved_ms = now_ms();
    arb_errbuf eb;
    arb_err err = ARB_OK;

    memset(w, 0, sizeof w);
    if (p == NULL)
        return ARB_ERR_NOMEM;
    p->f = f;
    p->log = log;
    p->head = head;
    p->pos0 = *pos;
    p->njobs = *pos < head->tree_size ? (head->tree_size + ARB_TILE_WIDTH - 1) / ARB_TILE_WIDTH -
                                            *pos / ARB_TILE_WIDTH
                                      : 0;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if ((err = arb_store_batch_new(&b, f->store)) != ARB_OK ||
        (err = arb_store_batch_new(&seen, f->store)) != ARB_OK)
        goto out;
    for (size_t i = 0; i < DL_FETCHERS && i < p->njobs; i++) {
        w[i].p = p;
        if ((err = arb_audit_client_new(&w[i].c, f->cfg.timeout_ms)) != ARB_OK ||
            (err = arb_sha256_new(&w[i].h)) != ARB_OK ||
            (w[i].tl = malloc(ARB_TILE_WIDTH * sizeof *w[i].tl)) == NULL) {
            err = err != ARB_OK ? err : ARB_ERR_NOMEM;
            goto out;
        }
    }
    for (; started < DL_FETCHERS && started < p->njobs; started++)
        if (pthread_create(&th[started], NULL, fetcher_main, &w[started]) != 0)
            break;
    if (started == 0 && p->njobs > 0) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    for (uint64_t k = 0; k < p->njobs; k++) {
        dl_job *j = &p->ring[k % DL_WINDOW];
        uint64_t t;

        pthread_mutex_lock(&p->mu);
        while (!j->done)
            pthread_cond_wait(&p->cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
        if (j->err == ARB_OK &&
            arb_merkle_range_append_many(r, h, j->lh, (size_t)(j->end - j->start)) != ARB_OK) {
            j->err = ARB_ERR_PARSE;
            snprintf(j->why, sizeof j->why, "entries up to %llu cannot be appended",
                     (unsigned long long)j->end);
        }
        if (j->err != ARB_OK) {
            pthread_mutex_lock(&f->lock);
            problem(f, log, head, j->err == ARB_ERR_NET ? "unreachable" : "bad-entries", "%s",
                    j->why);
            pthread_mutex_unlock(&f->lock);
            (*problems)++;
            job_clear(j);
            break;
        }
        emit_notes(f, log, seen, j);
        *pos = j->end;
        job_clear(j);
        pthread_mutex_lock(&p->mu);
        p->next_append = k + 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        t = now_ms();
        if (*pos == head->tree_size || *pos - saved >= DL_PERSIST_ENTRIES ||
            t - saved_ms >= DL_PERSIST_MS) {
            if ((err = persist(f, log, head, b, r, &eb)) != ARB_OK)
                goto out;
            saved = *pos;
            saved_ms = t;
        }
    }
    /* Stopped by a failed job: keep what came before it. */
    if (*pos != saved)
        err = persist(f, log, head, b, r, &eb);
out:
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < DL_WINDOW; i++)
        job_clear(&p->ring[i]);
    for (size_t i = 0; i < DL_FETCHERS; i++) {
        arb_audit_client_free(w[i].c);
        arb_sha256_free(w[i].h);
        free(w[i].tl);
    }
    arb_store_batch_free(b);
    arb_store_batch_free(seen);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    return err;
}

/* Loads the compact range of the entries downloaded so far; a position
 * without a matching frontier (state from an older build) starts over. */
static void load_range(arb_audit_follower *f, const arb_audit_log *log, uint64_t *pos,
                       arb_merkle_range *r)
{
    uint8_t *val = NULL;
    size_t len = 0;
    arb_hash hs[ARB_MERKLE_MAX_FRONTIER];
    size_t n;

    arb_merkle_range_init(r);
    if (*pos == 0)
        return;
    if (arb_store_get(f->store, NULL, CF_RANGE, log->log_id, 32, &val, &len, NULL) == ARB_OK &&
        len % 32 == 0 && (n = len / 32) <= ARB_MERKLE_MAX_FRONTIER) {
        memcpy(hs, val, len);
        if (arb_merkle_range_from_frontier(r, *pos, hs, n) == ARB_OK) {
            free(val);
            return;
        }
    }
    free(val);
    *pos = 0;
    arb_merkle_range_init(r);
}

static arb_err download(arb_audit_follower *f, const arb_audit_log *log, const arb_audit_sth *head,
                        size_t *problems)
{
    uint64_t pos = 0;
    arb_merkle_range range; /* the entries [0, pos) */
    arb_sha256 *h = NULL;
    arb_store_batch *b = NULL;
    arb_errbuf eb;
    arb_err err;
    arb_audit_event ev;

    err = arb_store_get_u64(f->store, NULL, CF_POS, log->log_id, 32, &pos, &eb);
    if (err != ARB_OK && err != ARB_ERR_NOT_FOUND)
        return err;
    load_range(f, log, &pos, &range);
    if (arb_sha256_new(&h) != ARB_OK)
        return ARB_ERR_NOMEM;
    if (pos < head->tree_size &&
        (err = run_pipeline(f, log, head, &range, h, &pos, problems)) != ARB_OK)
        goto out;
    err = ARB_OK;
    /* Every entry is in: the entries must hash to the signed root. */
    if (pos == head->tree_size && range.size == pos) {
        arb_hash root;
        arb_merkle_range_root(&range, h, &root);
        if (!arb_hash_eq(&root, &head->root)) {
            char a[65], hb[65];
            arb_hex_encode(a, root.b, 32);
            arb_hex_encode(hb, head->root.b, 32);
            pthread_mutex_lock(&f->lock);
            problem(f, log, head, "root-mismatch",
                    "the %llu entries served hash to %s, the signed tree head says %s",
                    (unsigned long long)pos, a, hb);
            pthread_mutex_unlock(&f->lock);
            (*problems)++;
            /* Start the download over next round. */
            if ((err = arb_store_batch_new(&b, f->store)) != ARB_OK)
                goto out;
            arb_store_batch_delete(b, CF_POS, log->log_id, 32);
            arb_store_batch_delete(b, CF_RANGE, log->log_id, 32);
            err = arb_store_write(f->store, b, ARB_STORE_SYNC, &eb);
        } else {
            memset(&ev, 0, sizeof ev);
            ev.type = ARB_AUDIT_EVENT_VERIFIED;
            ev.log = log;
            ev.sth = head;
            pthread_mutex_lock(&f->lock);
            emit(f, &ev);
            pthread_mutex_unlock(&f->lock);
        }
    }
out:
    arb_sha256_free(h);
    arb_store_batch_free(b);
    return err;
}

/* ---- polling ---- */


/* ---- the chain as a witness ---- */

/* Emits an ANCHORED event (under the lock). */
static void anchored_event(arb_audit_follower *f, const arb_audit_log *log,
                           const arb_audit_sth *a, uint32_t height)
{
    arb_audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = ARB_AUDIT_EVENT_ANCHORED;
    ev.log = log;
    ev.sth = a;
    ev.index = height;
    pthread_mutex_lock(&f->lock);
    emit(f, &ev);
    pthread_mutex_unlock(&f->lock);
}

/* Checks the served head `got` against the log's latest head anchored on
 * the chain (docs/anchoring.md "The chain as a witness"). Counts a problem
 * or a report in *problems. Called without the lock. */
static void check_chain(arb_audit_follower *f, const arb_audit_log *log, const arb_audit_sth *got,
                        size_t *problems)
{
    char url[1400], idhex[65], cp[65], detail[500];
    size_t ul = strlen(f->cfg.chain_url), n = 0;
    long status = 0;
    uint8_t *body = NULL, key[32];
    size_t blen = 0;
    json_t *answer = NULL;
    arb_lightproof *lp = NULL;
    arb_lightproof_trust t;
    arb_lightproof_result lr;
    arb_sha256 *sha = NULL;
    arb_audit_sth a;
    arb_errbuf eb, veb;
    arb_hash proof[ARB_AUDIT_PROOF_MAX], prefix;
    arb_err err, verr;
    int older = 0, fork = 0, anchored_idx;
    arb_audit_ev_kind relation = 0;
    const arb_audit_sth *first, *second, *small, *big;

    while (ul > 0 && f->cfg.chain_url[ul - 1] == '/')
        ul--;
    arb_hex_encode(idhex, log->log_id, 32);
    arb_chain_hash_hex(cp, &f->cfg.chain_checkpoint);
    snprintf(url, sizeof url, "%.*s/chain/v1/anchors/%s?proof=1&checkpoint=%s", (int)ul,
             f->cfg.chain_url, idhex, cp);
    if (arb_audit_http(f->client, url, NULL, 0, NULL, &status, &body, &blen, &eb) != ARB_OK ||
        status != 200) {
        pthread_mutex_lock(&f->lock);
        problem(f, log, got, "chain-unreachable", "%s: %s", url,
                status ? "HTTP error" : eb.msg);
        pthread_mutex_unlock(&f->lock);
        (*problems)++;
        goto out;
    }
    answer = json_loadb((const char *)body, blen, JSON_REJECT_DUPLICATES, NULL);
    memset(&t, 0, sizeof t);
    t.params = f->cfg.chain_params;
    t.checkpoint = f->cfg.chain_checkpoint;
    t.now = (int64_t)(now_ms() / 1000u);
    if (answer == NULL || arb_lightproof_from_json(&lp, answer, &eb) != ARB_OK ||
        arb_sha256_new(&sha) != ARB_OK) {
        pthread_mutex_lock(&f->lock);
        problem(f, log, got, "chain-bad-answer", "%s: %s", url,
                answer == NULL ? "not JSON" : eb.msg);
        pthread_mutex_unlock(&f->lock);
        (*problems)++;
        goto out;
    }
    arb_anchor_key(sha, key, log->log_id);
    if (arb_lightproof_verify(sha, lp, &t, key, &lr, &eb) != ARB_OK ||
        (lr.present && !lr.anchor_tx_checked)) {
        pthread_mutex_lock(&f->lock);
        problem(f, log, got, "chain-proof-bad", "the chain's proof of the anchored head: %s",
                lr.present && lr.reason == NULL ? "no anchor transaction" : eb.msg);
        pthread_mutex_unlock(&f->lock);
        (*problems)++;
        goto out;
    }
    if (!lr.present)
        goto out; /* nothing anchored yet */
    memset(&a, 0, sizeof a);
    a.tree_size = lr.anchor.tree_size;
    a.timestamp = lr.anchor.timestamp;
    memcpy(a.root.b, lr.anchor.root, 32);
    memcpy(a.sig, lr.anchor_sig, lr.anchor_sig_len);
    a.sig_len = lr.anchor_sig_len;
    if (arb_audit_sth_verify(key_of(f, log), &a, &eb) != ARB_OK) {
        pthread_mutex_lock(&f->lock);
        problem(f, log, got, "chain-proof-bad", "the anchored head is not signed by the log: %s",
                eb.msg);
        pthread_mutex_unlock(&f->lock);
        (*problems)++;
        goto out;
    }
    switch (arb_audit_heads_compare(&a, got, &older)) {
    case ARB_AUDIT_HEADS_SAME:
        anchored_event(f, log, &a, lr.anchor.height);
        goto out;
    case ARB_AUDIT_HEADS_SPLIT:
        relation = ARB_AUDIT_EV_SPLIT_VIEW;
        first = got;
        second = &a;
        anchored_idx = 1;
        snprintf(detail, sizeof detail,
                 "the log serves a tree head of size %llu with another root than the one "
                 "anchored at height %lu",
                 (unsigned long long)got->tree_size, (unsigned long)lr.anchor.height);
        break;
    case ARB_AUDIT_HEADS_SHRINKING:
        relation = ARB_AUDIT_EV_SHRINKING;
        first = older == 0 ? &a : got;
        second = older == 0 ? got : &a;
        anchored_idx = older == 0 ? 0 : 1;
        snprintf(detail, sizeof detail,
                 "the log's heads of sizes %llu and %llu (one anchored at height %lu) shrink in "
                 "time",
                 (unsigned long long)first->tree_size, (unsigned long long)second->tree_size,
                 (unsigned long)lr.anchor.height);
        break;
    default:
        small = a.tree_size < got->tree_size ? &a : got;
        big = small == &a ? got : &a;
        if (small->tree_size == 0) {
            anchored_event(f, log, &a, lr.anchor.height);
            goto out;
        }
        err = arb_audit_get_consistency(f->client, log, small->tree_size, big->tree_size, proof,
                                        ARB_AUDIT_PROOF_MAX, &n, &eb);
        if (err != ARB_OK) {
            pthread_mutex_lock(&f->lock);
            problem(f, log, got, "anchor-unproven",
                    "no consistency proof between the served head %llu and the head %llu "
                    "anchored at height %lu: %s",
                    (unsigned long long)got->tree_size, (unsigned long long)a.tree_size,
                    (unsigned long)lr.anchor.height, eb.msg);
            pthread_mutex_unlock(&f->lock);
            (*problems)++;
            goto out;
        }
        verr = arb_audit_consistency_verify(small->tree_size, &small->root, big->tree_size,
                                            &big->root, proof, n, &veb);
        if (verr == ARB_OK) {
            anchored_event(f, log, &a, lr.anchor.height);
            goto out;
        }
        if (verr == ARB_ERR_VERIFY &&
            prefix_of(f->client, log, small->tree_size, big, proof, n, &prefix, &eb) == ARB_OK &&
            !arb_hash_eq(&prefix, &small->root))
            fork = 1;
        relation = fork ? ARB_AUDIT_EV_FORK : ARB_AUDIT_EV_INCONSISTENT;
        first = small;
        second = big;
        anchored_idx = small == &a ? 0 : 1;
        snprintf(detail, sizeof detail,
                 "the served head of size %llu is not consistent with the head of size %llu "
                 "anchored at height %lu%s",
                 (unsigned long long)got->tree_size, (unsigned long long)a.tree_size,
                 (unsigned long)lr.anchor.height, fork ? ": another tree (a fork)" : "");
        break;
    }
    {
        uint64_t ts = now_ms();
        json_t *o = arb_audit_evidence_make_anchored(
            relation, log, first, anchored_idx == 0 ? "chain" : log->url, second,
            anchored_idx == 1 ? "chain" : log->url, anchored_idx, fork ? &prefix : NULL, proof, n,
            f->cfg.chain_network, json_object_get(answer, "proof"), detail, ts);
        pthread_mutex_lock(&f->lock);
        report_obj(f, ARB_AUDIT_EV_ANCHORED, log, first, second, o, detail, ts);
        pthread_mutex_unlock(&f->lock);
        (*problems)++;
    }
out:
    arb_sha256_free(sha);
    arb_lightproof_free(lp);
    json_decref(answer);
    free(body);
}

static arb_err poll_log(arb_audit_follower *f, const arb_audit_log *log, size_t *problems)
{
    arb_audit_sth got, mine;
    arb_errbuf eb;
    arb_err err;
    int have, r;
    arb_audit_event ev;

    err = log->tiled ? arb_audit_get_checkpoint(f->client, log, &got, &eb)
                     : arb_audit_get_sth(f->client, log, &got, &eb);
    pthread_mutex_lock(&f->lock);
    if (err != ARB_OK) {
        problem(f, log, NULL,
                err == ARB_ERR_NET ? "unreachable"
                : err == ARB_ERR_VERIFY ? "bad-signature"
                                        : "bad-answer",
                "%s", eb.msg);
        (*problems)++;
        pthread_mutex_unlock(&f->lock);
        return ARB_OK;
    }
    if (arb_audit_sth_verify(key_of(f, log), &got, &eb) != ARB_OK) {
        problem(f, log, &got, "bad-signature", "%s", eb.msg);
        (*problems)++;
        pthread_mutex_unlock(&f->lock);
        return ARB_OK;
    }
    err = load_head(f, log, &mine);
    have = err == ARB_OK;
    if (err != ARB_OK && err != ARB_ERR_NOT_FOUND) {
        pthread_mutex_unlock(&f->lock);
        return err;
    }
    r = have ? compare_heads(f, f->client, log, &mine, &got, log->url) : 1;
    if (r < 0)
        (*problems)++;
    if (r == 0 && got.timestamp < mine.timestamp) {
        problem(f, log, &got, "timestamp-backwards",
                "tree head timestamp %llu is older than the verified %llu",
                (unsigned long long)got.timestamp, (unsigned long long)mine.timestamp);
        (*problems)++;
    }
    if (r == 1 && (!have || !arb_audit_sth_equal(&mine, &got))) {
        if ((err = save_head(f, log, &got, &eb)) != ARB_OK) {
            pthread_mutex_unlock(&f->lock);
            return err;
        }
        memset(&ev, 0, sizeof ev);
        ev.type = ARB_AUDIT_EVENT_HEAD;
        ev.log = log;
        ev.sth = &got;
        emit(f, &ev);
        mine = got;
        have = 1;
    }
    pthread_mutex_unlock(&f->lock);
    if (f->cfg.chain_url != NULL)
        check_chain(f, log, &got, problems);
    if (f->cfg.download && have)
        return download(f, log, &mine, problems);
    return ARB_OK;
}

arb_err arb_audit_follower_poll(arb_audit_follower *f, size_t *problems)
{
    size_t p = 0;
    arb_err err = ARB_OK;
    for (size_t i = 0; i < f->logs->n && err == ARB_OK; i++)
        err = poll_log(f, &f->logs->logs[i], &p);
    if (problems)
        *problems = p;
    return err;
}

arb_err arb_audit_follower_head(arb_audit_follower *f, const uint8_t log_id[static 32],
                                arb_audit_sth *out)
{
    const arb_audit_log *log = arb_audit_loglist_find(f->logs, log_id);
    memset(out, 0, sizeof *out);
    if (log == NULL)
        return ARB_ERR_NOT_FOUND;
    return load_head(f, log, out);
}

arb_err arb_audit_follower_verify_head(arb_audit_follower *f, const uint8_t log_id[static 32],
                                       const arb_audit_sth *sth, arb_errbuf *eb)
{
    const arb_audit_log *log = arb_audit_loglist_find(f->logs, log_id);
    if (log == NULL)
        return arb_errf(eb, ARB_ERR_NOT_FOUND, "not a log this auditor follows");
    return arb_audit_sth_verify(key_of(f, log), sth, eb) == ARB_OK ? ARB_OK : ARB_ERR_VERIFY;
}

arb_err arb_audit_follower_check_head_result(arb_audit_follower *f,
                                             const uint8_t log_id[static 32],
                                             const arb_audit_sth *sth, const char *source,
                                             arb_audit_check_result *res)
{
    const arb_audit_log *log = arb_audit_loglist_find(f->logs, log_id);
    arb_audit_sth mine;
    arb_audit_client *c = NULL;
    arb_errbuf eb;
    arb_err err;
    int r;

    *res = ARB_AUDIT_CHECK_NO_HEAD;
    if (log == NULL)
        return ARB_ERR_NOT_FOUND;
    if (arb_audit_sth_verify(key_of(f, log), sth, &eb) != ARB_OK) {
        pthread_mutex_lock(&f->lock);
        problem(f, log, sth, "gossip-bad-signature", "head from %s: %s", source, eb.msg);
        pthread_mutex_unlock(&f->lock);
        *res = ARB_AUDIT_CHECK_BAD_SIGNATURE;
        return ARB_ERR_VERIFY;
    }
    if ((err = arb_audit_client_new(&c, f->cfg.timeout_ms)) != ARB_OK)
        return err;
    pthread_mutex_lock(&f->lock);
    err = load_head(f, log, &mine);
    if (err == ARB_OK) {
        r = compare_heads(f, c, log, &mine, sth, source);
        err = r < 0 ? ARB_ERR_VERIFY : ARB_OK;
        *res = r >= 0    ? ARB_AUDIT_CHECK_CONSISTENT
               : r == -2 ? ARB_AUDIT_CHECK_MISBEHAVIOUR
                         : ARB_AUDIT_CHECK_UNVERIFIED;
    }
    pthread_mutex_unlock(&f->lock);
    arb_audit_client_free(c);
    return err;
}

arb_err arb_audit_follower_check_head(arb_audit_follower *f, const uint8_t log_id[static 32],
                                      const arb_audit_sth *sth, const char *source)
{
    arb_audit_check_result res;
    return arb_audit_follower_check_head_result(f, log_id, sth, source, &res);
}

void arb_audit_follower_notice(arb_audit_follower *f, const uint8_t *log_id, const char *name,
                               const char *detail)
{
    const arb_audit_log *log = log_id ? arb_audit_loglist_find(f->logs, log_id) : NULL;
    pthread_mutex_lock(&f->lock);
    problem(f, log, NULL, name, "%s", detail);
    pthread_mutex_unlock(&f->lock);
}

json_t *arb_audit_follower_head_json(arb_audit_follower *f, size_t i)
{
    arb_audit_sth s;
    char *id;
    json_t *o;

    if (i >= f->logs->n || load_head(f, &f->logs->logs[i], &s) != ARB_OK)
        return NULL;
    if ((id = arb_base64_encode(f->logs->logs[i].log_id, 32)) == NULL)
        return NULL;
    o = json_pack("{s:s, s:s, s:o}", "log_id", id, "url", f->logs->logs[i].url, "sth",
                  arb_audit_sth_to_json(&s));
    free(id);
    return o;
}

size_t arb_audit_follower_nlogs(const arb_audit_follower *f)
{
    return f->logs->n;
}

json_t *arb_audit_follower_heads_json(arb_audit_follower *f)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < f->logs->n; i++) {
        json_t *h = arb_audit_follower_head_json(f, i);
        if (h)
            json_array_append_new(arr, h);
    }
    return json_pack("{s:o}", "heads", arr);
}
