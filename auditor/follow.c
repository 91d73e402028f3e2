/* Following logs; see follow.h. */
#include "auditor/follow.h"

#include <errno.h>
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
#include "ledger/log/ct.h"
#include "ledger/store/store.h"
#include "merkle/buf.h"

#include "merkle/proof.h"
#include "merkle/range.h"
#include "merkle/tile.h"

/* heads: log ID -> last verified head; pos: log ID -> entries downloaded;
 * range: log ID -> compact range frontier of the downloaded entries;
 * seen: certificate identity -> reported. */
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

static void report(arb_audit_follower *f, arb_audit_ev_kind kind, const arb_audit_log *log,
                   const arb_audit_sth *a, const char *src_a, const arb_audit_sth *b,
                   const char *src_b, const arb_hash *proof, size_t n, const char *detail)
{
    uint64_t t = now_ms();
    json_t *o = arb_audit_evidence_make(kind, log, a, src_a, b, src_b, proof, n, detail, t);
    char path[1200], idhex[65];
    arb_audit_event ev;
    const char *written = NULL;

    arb_hex_encode(idhex, log->log_id, 32);
    idhex[16] = '\0';
    if (o != NULL) {
        mkdir(f->evidence_dir, 0755);
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
            if (json_dumpf(o, fp, JSON_INDENT(2)) == 0 && fputc('\n', fp) != EOF &&
                fflush(fp) == 0 && fsync(fileno(fp)) == 0)
                written = path;
            fclose(fp);
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
    emit(f, &ev);
    json_decref(o);
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

/* Compares a new verified head `got` (from src) with the stored `mine`.
 * Fetches a consistency proof with client c when needed. Returns 1 when got
 * is consistent and newer-or-equal (may replace mine), 0 when consistent but
 * not to be stored (older), -1 when a problem or misbehaviour was reported. */
static int compare_heads(arb_audit_follower *f, arb_audit_client *c, const arb_audit_log *log,
                         const arb_audit_sth *mine, const arb_audit_sth *got, const char *src)
{
    int older = 0;
    arb_hash proof[ARB_AUDIT_PROOF_MAX];
    size_t n = 0;
    arb_errbuf eb;
    arb_err err;
    const arb_audit_sth *small, *big;
    char detail[400];

    switch (arb_audit_heads_compare(mine, got, &older)) {
    case ARB_AUDIT_HEADS_SAME:
        return got->timestamp > mine->timestamp ? 1 : 0;
    case ARB_AUDIT_HEADS_SPLIT:
        snprintf(detail, sizeof detail,
                 "two signed tree heads of size %llu with different root hashes (%s)",
                 (unsigned long long)got->tree_size, src);
        report(f, ARB_AUDIT_EV_SPLIT_VIEW, log, mine, "verified earlier", got, src, NULL, 0,
               detail);
        return -1;
    case ARB_AUDIT_HEADS_SHRINKING: {
        const arb_audit_sth *first = older == 0 ? mine : got, *second = older == 0 ? got : mine;
        snprintf(detail, sizeof detail,
                 "tree head of size %llu signed after one of size %llu: the log shrank (%s)",
                 (unsigned long long)second->tree_size, (unsigned long long)first->tree_size, src);
        report(f, ARB_AUDIT_EV_SHRINKING, log, first, older == 0 ? "verified earlier" : src,
               second, older == 0 ? src : "verified earlier", NULL, 0, detail);
        return -1;
    }
    case ARB_AUDIT_HEADS_NEED_PROOF:
        break;
    }
    small = mine->tree_size < got->tree_size ? mine : got;
    big = small == mine ? got : mine;
    if (got == small && c == f->client) {
        /* The log itself served an older, smaller head than one it signed
         * before: a rolled-back (or stale) view. */
        problem(f, log, got, "rollback",
                "the log served tree head %llu (timestamp %llu) after %llu (timestamp %llu)",
                (unsigned long long)got->tree_size, (unsigned long long)got->timestamp,
                (unsigned long long)mine->tree_size, (unsigned long long)mine->timestamp);
        return -1;
    }
    if (small->tree_size == 0) {
        n = 0;
    } else if (log->tiled) {
        /* tlog-tiles: build the proof from the log's hash tiles at the larger
         * size, then verify it like a served proof. */
        err = tiles_consistency(c, log, small->tree_size, big->tree_size, proof, &n, &eb);
        if (err != ARB_OK) {
            problem(f, log, got, err == ARB_ERR_PARSE ? "bad-answer" : "unreachable", "%s", eb.msg);
            return -1;
        }
    } else {
        err = arb_audit_get_consistency(c, log, small->tree_size, big->tree_size, proof,
                                        ARB_AUDIT_PROOF_MAX, &n, &eb);
        if (err != ARB_OK) {
            problem(f, log, got, err == ARB_ERR_PARSE ? "bad-answer" : "unreachable", "%s", eb.msg);
            return -1;
        }
    }
    err = arb_audit_consistency_verify(small->tree_size, &small->root, big->tree_size, &big->root,
                                       proof, n, &eb);
    if (err == ARB_ERR_VERIFY) {
        snprintf(detail, sizeof detail, "consistency proof %llu -> %llu does not verify: %s (%s)",
                 (unsigned long long)small->tree_size, (unsigned long long)big->tree_size, eb.msg,
                 src);
        report(f, ARB_AUDIT_EV_INCONSISTENT, log, small, small == mine ? "verified earlier" : src,
               big, big == mine ? "verified earlier" : src, proof, n, detail);
        return -1;
    }
    if (err != ARB_OK) {
        problem(f, log, got, "unverifiable", "%s", eb.msg);
        return -1;
    }
    return got == big ? 1 : 0;
}

/* ---- entries ---- */

typedef struct {
    arb_audit_follower *f;
    const arb_audit_log *log;
    arb_store_batch *batch;
    arb_merkle_range range; /* the entries [0, pos) as a compact range */
    arb_sha256 *h;
    arb_err fail;
    char why[300];
} entry_ctx;

/* Matches the certificate of entry `index` against the watch list; a
 * precertificate and its final certificate are reported once. */
static void match_entry(entry_ctx *x, uint64_t index, const arb_ct_leaf *leaf)
{
    arb_audit_follower *f = x->f;
    arb_audit_certinfo ci;
    arb_errbuf eb;
    const char *name = NULL;
    long w;
    int seen = 0;

    if (f->cfg.nwatch == 0)
        return;
    if (arb_audit_certinfo_read(&ci, leaf->entry.cert, leaf->entry.cert_len,
                                leaf->entry.entry_type == ARB_CT_ENTRY_PRECERT, &eb) != ARB_OK) {
        pthread_mutex_lock(&f->lock);
        problem(f, x->log, NULL, "bad-certificate", "entry %llu: %s", (unsigned long long)index,
                eb.msg);
        pthread_mutex_unlock(&f->lock);
        return;
    }
    w = arb_audit_certinfo_match(&ci, f->cfg.watch, f->cfg.nwatch, &name);
    if (w >= 0) {
        /* A precertificate and its final certificate are one certificate. */
        if (arb_store_exists(f->store, NULL, CF_SEEN, ci.id, 32, &seen, NULL) != ARB_OK)
            seen = 0;
        if (!seen) {
            arb_audit_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = ARB_AUDIT_EVENT_MATCH;
            ev.log = x->log;
            ev.index = index;
            ev.precert = leaf->entry.entry_type == ARB_CT_ENTRY_PRECERT;
            ev.name = name;
            ev.watch = f->cfg.watch[w];
            ev.cert = &ci;
            pthread_mutex_lock(&f->lock);
            emit(f, &ev);
            pthread_mutex_unlock(&f->lock);
            /* Remember it at once, so that the other half of a precert /
             * final pair later in this same answer is not reported again. */
            arb_store_batch_put(x->batch, CF_SEEN, ci.id, 32, (const uint8_t *)"1", 1);
            if (arb_store_write(f->store, x->batch, 0, &eb) == ARB_OK)
                arb_store_batch_clear(x->batch);
        }
    }
    arb_audit_certinfo_clear(&ci);
}

static arb_err on_entry(void *ud, uint64_t index, const uint8_t *leaf_bytes, size_t leaf_len,
                        const uint8_t *extra, size_t extra_len)
{
    entry_ctx *x = ud;
    arb_ct_leaf leaf;

    (void)extra;
    (void)extra_len;
    if (arb_ct_leaf_decode(&leaf, leaf_bytes, leaf_len) != ARB_OK) {
        snprintf(x->why, sizeof x->why, "entry %llu: leaf_input is not a MerkleTreeLeaf",
                 (unsigned long long)index);
        return ARB_ERR_PARSE;
    }
    if (arb_merkle_range_append_leaf(&x->range, x->h, leaf_bytes, leaf_len) != ARB_OK)
        return ARB_ERR_INTERNAL;
    match_entry(x, index, &leaf);
    return ARB_OK;
}

/* One step of an RFC 6962 download: get-entries from pos. */
static arb_err step_entries(entry_ctx *x, const arb_audit_sth *head, uint64_t pos, uint64_t *got,
                            arb_errbuf *eb)
{
    return arb_audit_get_entries(x->f->client, x->log, pos, head->tree_size - 1, on_entry, x, got,
                                 eb);
}

/* One step of a static-ct-api download: the data tile holding entry pos, at
 * the width the head's size gives it (static-ct-api "Log Entries"). The
 * whole tile is parsed before anything is appended, so a malformed tile
 * changes nothing. Entries before pos in the tile were appended earlier (a
 * partial tile then); they are skipped. */
static arb_err step_data_tile(entry_ctx *x, const arb_audit_sth *head, uint64_t pos,
                              uint64_t *got, arb_errbuf *eb)
{
    arb_tile t;
    arb_ct_tile_leaf *tl = NULL;
    uint8_t *body = NULL;
    size_t len = 0;
    unsigned w = 0, skip = (unsigned)(pos % ARB_TILE_WIDTH);
    arb_err err;

    *got = 0;
    memset(&t, 0, sizeof t);
    t.kind = ARB_TILE_DATA;
    t.index = pos / ARB_TILE_WIDTH;
    t.width = arb_tile_width(head->tree_size, 0, t.index);
    if ((tl = malloc(ARB_TILE_WIDTH * sizeof *tl)) == NULL)
        return ARB_ERR_NOMEM;
    if ((err = fetch_tile(x->f->client, x->log, &t, &body, &len, &w, eb)) != ARB_OK)
        goto out;
    if ((err = arb_audit_data_tile_parse(tl, body, len, t.index * ARB_TILE_WIDTH, w, eb)) !=
        ARB_OK) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    for (unsigned i = skip; i < t.width; i++) {
        arb_hash lh;
        if (arb_ct_tile_leaf_hash(x->h, &lh, &tl[i]) != ARB_OK ||
            arb_merkle_range_append(&x->range, x->h, &lh) != ARB_OK) {
            err = arb_errf(eb, ARB_ERR_PARSE, "data tile: entry %llu cannot be hashed",
                           (unsigned long long)(t.index * ARB_TILE_WIDTH + i));
            goto out;
        }
        match_entry(x, t.index * ARB_TILE_WIDTH + i, &tl[i].leaf);
    }
    *got = t.width - skip;
out:
    free(body);
    free(tl);
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
    uint64_t pos = 0, got = 0;
    arb_errbuf eb;
    arb_err err;
    entry_ctx x;
    arb_audit_event ev;

    err = arb_store_get_u64(f->store, NULL, CF_POS, log->log_id, 32, &pos, &eb);
    if (err != ARB_OK && err != ARB_ERR_NOT_FOUND)
        return err;
    memset(&x, 0, sizeof x);
    x.f = f;
    x.log = log;
    load_range(f, log, &pos, &x.range);
    if (arb_sha256_new(&x.h) != ARB_OK)
        return ARB_ERR_NOMEM;
    if ((err = arb_store_batch_new(&x.batch, f->store)) != ARB_OK)
        goto out;
    while (pos < head->tree_size) {
        x.why[0] = '\0';
        err = log->tiled ? step_data_tile(&x, head, pos, &got, &eb)
                         : step_entries(&x, head, pos, &got, &eb);
        if (err != ARB_OK) {
            pthread_mutex_lock(&f->lock);
            problem(f, log, head, err == ARB_ERR_NET ? "unreachable" : "bad-entries", "%s",
                    x.why[0] ? x.why : eb.msg);
            pthread_mutex_unlock(&f->lock);
            (*problems)++;
            err = ARB_OK;
            break;
        }
        pos += got;
        arb_store_batch_put_u64(x.batch, CF_POS, log->log_id, 32, pos);
        {
            arb_hash fr[ARB_MERKLE_MAX_FRONTIER];
            size_t nf = arb_merkle_range_frontier(&x.range, fr);
            arb_store_batch_put(x.batch, CF_RANGE, log->log_id, 32, (const uint8_t *)fr, nf * 32);
        }
        if ((err = arb_store_write(f->store, x.batch, ARB_STORE_SYNC, &eb)) != ARB_OK)
            break;
        arb_store_batch_clear(x.batch);
        memset(&ev, 0, sizeof ev);
        ev.type = ARB_AUDIT_EVENT_PROGRESS;
        ev.log = log;
        ev.sth = head;
        ev.done = pos;
        ev.total = head->tree_size;
        pthread_mutex_lock(&f->lock);
        emit(f, &ev);
        pthread_mutex_unlock(&f->lock);
    }
    /* Every entry is in: the entries must hash to the signed root. */
    if (err == ARB_OK && pos == head->tree_size && x.range.size == pos) {
        arb_hash root;
        arb_merkle_range_root(&x.range, x.h, &root);
        if (!arb_hash_eq(&root, &head->root)) {
            char a[65], b[65];
            arb_hex_encode(a, root.b, 32);
            arb_hex_encode(b, head->root.b, 32);
            pthread_mutex_lock(&f->lock);
            problem(f, log, head, "root-mismatch",
                    "the %llu entries served hash to %s, the signed tree head says %s",
                    (unsigned long long)pos, a, b);
            pthread_mutex_unlock(&f->lock);
            (*problems)++;
            /* Start the download over next round. */
            arb_store_batch_clear(x.batch);
            arb_store_batch_delete(x.batch, CF_POS, log->log_id, 32);
            arb_store_batch_delete(x.batch, CF_RANGE, log->log_id, 32);
            err = arb_store_write(f->store, x.batch, ARB_STORE_SYNC, &eb);
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
    arb_sha256_free(x.h);
    arb_store_batch_free(x.batch);
    return err;
}

/* ---- polling ---- */

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
    uint64_t before;
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
        before = f->reports;
        r = compare_heads(f, c, log, &mine, sth, source);
        err = r < 0 ? ARB_ERR_VERIFY : ARB_OK;
        *res = r >= 0                    ? ARB_AUDIT_CHECK_CONSISTENT
               : f->reports != before ? ARB_AUDIT_CHECK_MISBEHAVIOUR
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
