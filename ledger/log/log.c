/* The transparency log: sequencer and storage. See log.h.
 *
 * Storage layout (column families, keys big-endian so they sort numerically):
 *   log_meta      "sth"         -> tree_size u64 || timestamp u64 || root[32] || sig (u16 len)
 *                 "checkpoint"  -> the signed checkpoint note of that tree head
 *                 "sthh" || timestamp u64 -> every published tree head, encoded as "sth"
 *                                  (the history: written in the batch of its head)
 *   log_entries   index u64     -> leaf_input (u32 len) || extra_data (u32 len) || SCT sig (u16 len)
 *                                  || fingerprints (u16 len)
 *                 (fingerprints: SHA-256 of each chain certificate after the
 *                 submitted one, as a data tile's TileLeaf lists them; absent
 *                 in entries written before they were stored)
 *   log_nodes     level u8 || index u64 -> hash[32] (every complete tree node, leaves at level 0)
 *   log_leafhash  leaf hash[32] -> index u64
 *   log_dedup     SHA-256(entry_type u16 || submitted leaf DER) -> index u64
 *   log_issuers   SHA-256(DER)  -> DER of a chain certificate (static-ct-api /issuer/)
 */
#include "ledger/log/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/log/static.h"
#include "ledger/log/tree_internal.h"
#include "merkle/buf.h"
#include "merkle/note.h"

const char *const arb_log_cf_names[ARB_LOG_CF_COUNT] = {
    "log_meta", "log_entries", "log_nodes", "log_leafhash", "log_dedup", "log_issuers",
};
enum { CF_META, CF_ENTRIES, CF_NODES, CF_LEAFHASH, CF_DEDUP, CF_ISSUERS };

#define DEFAULT_BATCH_MAX 512
#define DEFAULT_REFRESH_S 3600
/* After a storage failure: the first recovery attempt after this long, then
 * doubling up to arb_log_config.retry_max_ms. */
#define RETRY_FIRST_MS 250
#define DEFAULT_RETRY_MAX_MS 5000
/* How long a recovery waits for readers to let go of the store. */
#define REOPEN_WAIT_MS 2000
/* Full data tiles kept in memory (see tile_cache_get). */
#define TILE_CACHE_SLOTS 256
#define DEFAULT_TILE_CACHE_BYTES ((size_t)32 << 20)

/* A data tile's bytes, shared by the cache and the readers it was handed to;
 * freed when the last of them lets go. */
struct arb_log_tile_ref {
    atomic_size_t refs;
    size_t len;
    uint8_t data[];
};

/* One full data tile in the cache, by tile index. */
typedef struct {
    uint64_t index;
    arb_log_tile_ref *tile; /* NULL: a free slot */
    uint64_t used; /* tile_clock at the last hit: the least recently used goes first */
} tile_slot;

typedef struct pending {
    struct pending *next;
    arb_ct_chain *chain;
    arb_log_submit_fn fn;
    void *ud;
    /* filled while sequencing */
    uint8_t dedup[32];
    int state;         /* 0 new, 1 existing entry (answered from the store), 2 alias of another */
    uint64_t index;
    struct pending *alias;
    arb_ct_sct sct;
    uint8_t sigbuf[ARB_CT_SIG_MAX];
    uint8_t ext[ARB_CT_LEAF_INDEX_EXT_SIZE];
} pending;

struct arb_log {
    arb_store *store;
    unsigned cf[ARB_LOG_CF_COUNT];
    const arb_ct_signer *signer;
    uint8_t log_id[32];
    char *origin;
    unsigned batch_ms;
    size_t batch_max;
    uint64_t refresh_ms;
    uint64_t retry_at; /* after a failed refresh or write: next attempt, not before (ms) */
    uint64_t retry_ms; /* the current recovery back-off */
    uint64_t retry_max_ms;
    arb_logger lg;
    arb_ct_verifier *verifier; /* the log key's public half: checks the stored head */
    void (*on_batch)(void *ud, size_t added, uint64_t tree_size, double commit_seconds);
    void *batch_ud;
    arb_err (*index_entry)(void *ud, arb_store_batch *b, uint64_t index, const arb_ct_leaf *leaf,
                           const arb_ct_chain *chain);
    void *index_ud;

    pthread_mutex_t mu; /* guards the queue, the published head, the health, stop */
    pthread_cond_t cv;
    pending *head, *tail;
    size_t queued;
    int stop;
    int draining;   /* arb_log_drain: refuse new submissions, sequence the queue now */
    int sequencing; /* batches taken from the queue and not answered yet */
    /* The sequencer state (below) is in use by a submitting thread
     * (submit_inline) or by the sequencer's own idle work (refresh, recovery):
     * the other waits. A batch being sequenced is marked by `sequencing`. */
    int owned;
    int submit_inline;
    /* A write failed: the store refuses writes until reopened, so the log
     * refuses submissions and the sequencer tries to recover (try_recover). */
    int failed;
    char fail_reason[ARB_LOG_REASON_MAX];
    uint64_t write_failures, recoveries;
    arb_log_sth sth;
    uint8_t *checkpoint;
    size_t checkpoint_len;

    /* Full data tiles never change (C2SP static-ct-api), so the bytes of the
     * recently served ones are kept: a bounded cache in memory, rebuilt from
     * the stored entries after a restart. Guarded by tile_mu. */
    pthread_mutex_t tile_mu;
    tile_slot tiles[TILE_CACHE_SLOTS];
    size_t tile_bytes, tile_budget;
    uint64_t tile_clock;

    /* The committer (see prepare_batch): the batch it is to write (guarded
     * by mu), signalled on commit_cv both ways. */
    struct commit_job *commit;
    pthread_cond_t commit_cv;
    int commit_stop;
    pthread_t committer;
    int committer_started;

    /* sequencer-only state */
    pthread_t thread;
    int thread_started;
    struct commit_job *inflight; /* handed to the committer, not yet settled */
    arb_merkle_range range;
    arb_sha256 *sha;
    uint64_t last_ts;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void be64(uint8_t out[8], uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- node access for tree.c ---- */

static arb_err node_get(void *ud, unsigned level, uint64_t index, arb_hash *out)
{
    arb_log *l = ud;
    uint8_t key[LOG_NODE_KEY_SIZE];
    size_t len = 0;
    arb_err err;

    log_node_key(key, level, index);
    err = arb_store_get_into(l->store, NULL, l->cf[CF_NODES], key, sizeof(key), out->b, 32, &len, NULL);
    if (err == ARB_OK && len != 32)
        err = ARB_ERR_PARSE;
    return err;
}

typedef struct {
    arb_log *l;
    arb_store_batch *b;
} emit_ctx;

static void node_emit(void *ud, uint64_t level, uint64_t index, const arb_hash *h)
{
    emit_ctx *e = ud;
    uint8_t key[LOG_NODE_KEY_SIZE];

    log_node_key(key, (unsigned)level, index);
    arb_store_batch_put(e->b, e->l->cf[CF_NODES], key, sizeof(key), h->b, 32);
}

/* ---- tree heads ---- */

/* The history's keys: "sthh" || timestamp (ms, big-endian), so they sort by
 * time (timestamps strictly increase between tree heads). */
#define HIST_KEY_SIZE 12
static void hist_key(uint8_t k[HIST_KEY_SIZE], uint64_t ts)
{
    memcpy(k, "sthh", 4);
    for (int i = 0; i < 8; i++)
        k[4 + i] = (uint8_t)(ts >> (56 - 8 * i));
}

static arb_err encode_sth(arb_buf *b, const arb_log_sth *s)
{
    arb_buf_u64be(b, s->tree_size);
    arb_buf_u64be(b, s->timestamp);
    arb_buf_put(b, s->root, 32);
    arb_buf_u16be(b, (uint16_t)s->sig_len);
    arb_buf_put(b, s->sig, s->sig_len);
    return b->oom ? ARB_ERR_NOMEM : ARB_OK;
}

static arb_err decode_sth(arb_log_sth *s, const uint8_t *p, size_t n)
{
    arb_cur c = arb_cur_make(p, n);
    const uint8_t *sig;
    size_t sig_len;

    memset(s, 0, sizeof(*s));
    if (!arb_cur_u64be(&c, &s->tree_size) || !arb_cur_u64be(&c, &s->timestamp) ||
        !arb_cur_get(&c, s->root, 32) || !arb_cur_tls_vec(&c, 2, &sig, &sig_len) || c.len != 0 ||
        sig_len > sizeof(s->sig))
        return ARB_ERR_PARSE;
    memcpy(s->sig, sig, sig_len);
    s->sig_len = sig_len;
    return ARB_OK;
}

/* Signs a tree head and its checkpoint note. */
static arb_err sign_head(arb_log *l, arb_log_sth *s, uint64_t size, uint64_t ts, const arb_hash *root,
                         uint8_t **cp, size_t *cp_len, arb_errbuf *eb)
{
    uint8_t sigbuf[ARB_CT_SIG_MAX], *nsig = NULL;
    size_t nsig_len = 0;
    arb_ct_dsig d;
    arb_buf enc = ARB_BUF_INIT;
    arb_note *note = NULL;
    char *root_b64 = NULL, *text = NULL;
    size_t text_len;
    arb_err err;

    *cp = NULL;
    *cp_len = 0;
    memset(s, 0, sizeof(*s));
    if ((err = arb_ct_sth_sign(l->signer, &d, sigbuf, ts, size, root->b)) != ARB_OK)
        return arb_errf(eb, err, "cannot sign the tree head");
    if ((err = arb_ct_dsig_encode(&enc, &d)) != ARB_OK || enc.len > sizeof(s->sig)) {
        arb_buf_free(&enc);
        return arb_errf(eb, ARB_ERR_INTERNAL, "tree head signature too long");
    }
    s->tree_size = size;
    s->timestamp = ts;
    memcpy(s->root, root->b, 32);
    memcpy(s->sig, enc.data, enc.len);
    s->sig_len = enc.len;

    /* The checkpoint carries the very same signature (static-ct-api). */
    if ((root_b64 = arb_base64_encode(root->b, 32)) == NULL)
        goto nomem;
    text_len = strlen(l->origin) + strlen(root_b64) + 32;
    if ((text = malloc(text_len)) == NULL)
        goto nomem;
    snprintf(text, text_len, "%s\n%llu\n%s\n", l->origin, (unsigned long long)size, root_b64);
    if ((err = arb_note_rfc6962_sig_join(&nsig, &nsig_len, ts, enc.data, enc.len)) != ARB_OK ||
        (err = arb_note_new(&note, text, strlen(text), eb)) != ARB_OK ||
        (err = arb_note_add_sig(note, l->origin,
                                arb_note_key_id(l->origin, strlen(l->origin), ARB_NOTE_RFC6962,
                                                l->log_id, 32),
                                nsig, nsig_len, eb)) != ARB_OK ||
        (err = arb_note_format(cp, cp_len, note)) != ARB_OK) {
        arb_errf(eb, err, "cannot build the checkpoint");
        goto out;
    }
    goto out;
nomem:
    err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
out:
    arb_note_free(note);
    free(nsig);
    free(text);
    free(root_b64);
    arb_buf_free(&enc);
    return err;
}

/* Adds the tree head and its checkpoint to the batch. ARB_OK or ARB_ERR_NOMEM
 * (then nothing was added). */
static arb_err put_head(arb_log *l, arb_store_batch *b, const arb_log_sth *s, const uint8_t *cp,
                        size_t cp_len, arb_buf *scratch)
{
    arb_err err;

    arb_buf_reset(scratch);
    if ((err = encode_sth(scratch, s)) != ARB_OK)
        return err;
    arb_store_batch_put(b, l->cf[CF_META], (const uint8_t *)"sth", 3, scratch->data, scratch->len);
    arb_store_batch_put(b, l->cf[CF_META], (const uint8_t *)"checkpoint", 10, cp, cp_len);
    {
        uint8_t hk[HIST_KEY_SIZE];
        hist_key(hk, s->timestamp);
        arb_store_batch_put(b, l->cf[CF_META], hk, sizeof hk, scratch->data, scratch->len);
    }
    return ARB_OK;
}

/* ---- storage failures ---- */

/* What a client is told about a storage failure: the kind, never the server's
 * paths (the full message goes to the server's log). */
static void client_reason(char *out, size_t n, arb_err err, const char *msg)
{
    const char *kind = strstr(msg, "disk full") != NULL || strstr(msg, "No space") != NULL
                           ? "disk full"
                       : err == ARB_ERR_IO ? "I/O error"
                                           : "database error";
    snprintf(out, n,
             "the log cannot store new entries now (storage failed: %s); it retries by itself",
             kind);
}

/* Records a failed write (err ARB_ERR_IO / ARB_ERR_DB): the log refuses
 * submissions until try_recover succeeds. Other errors only count. */
static void note_write_failure(arb_log *l, arb_err err, const char *msg)
{
    pthread_mutex_lock(&l->mu);
    l->write_failures++;
    if ((err == ARB_ERR_IO || err == ARB_ERR_DB) && !l->failed) {
        l->failed = 1;
        client_reason(l->fail_reason, sizeof(l->fail_reason), err, msg);
        l->retry_ms = RETRY_FIRST_MS;
        l->retry_at = now_ms() + l->retry_ms;
    }
    pthread_mutex_unlock(&l->mu);
}

/* ---- entries ---- */

static arb_err encode_entry(arb_buf *b, const uint8_t *leaf, size_t leaf_len, const uint8_t *extra,
                            size_t extra_len, const arb_ct_dsig *sig, const uint8_t *fps,
                            size_t n_fps)
{
    if (n_fps > 0xffff / 32)
        return ARB_ERR_INVALID_ARG; /* no TileLeaf can hold that chain either */
    arb_buf_u32be(b, (uint32_t)leaf_len);
    arb_buf_put(b, leaf, leaf_len);
    arb_buf_u32be(b, (uint32_t)extra_len);
    arb_buf_put(b, extra, extra_len);
    arb_buf_u16be(b, 0); /* patched below */
    {
        size_t at = b->len;
        arb_err err = arb_ct_dsig_encode(b, sig);
        if (err != ARB_OK)
            return err;
        if (!b->oom) {
            b->data[at - 2] = (uint8_t)((b->len - at) >> 8);
            b->data[at - 1] = (uint8_t)(b->len - at);
        }
    }
    arb_buf_u16be(b, (uint16_t)(32 * n_fps));
    arb_buf_put(b, fps, 32 * n_fps);
    return b->oom ? ARB_ERR_NOMEM : ARB_OK;
}

typedef struct {
    const uint8_t *leaf, *extra, *sig;
    size_t leaf_len, extra_len, sig_len;
    int has_fps; /* 0: an entry stored before fingerprints were */
    const uint8_t *fps;
    size_t n_fps;
} entry_view;

static arb_err decode_entry(entry_view *e, const uint8_t *p, size_t n)
{
    arb_cur c = arb_cur_make(p, n);
    uint32_t a, b;

    memset(e, 0, sizeof(*e));
    if (!arb_cur_u32be(&c, &a) || !arb_cur_view(&c, &e->leaf, a) || !arb_cur_u32be(&c, &b) ||
        !arb_cur_view(&c, &e->extra, b) || !arb_cur_tls_vec(&c, 2, &e->sig, &e->sig_len))
        return ARB_ERR_PARSE;
    if (c.len > 0) {
        size_t fl;
        if (!arb_cur_tls_vec(&c, 2, &e->fps, &fl) || fl % 32 != 0 || c.len != 0)
            return ARB_ERR_PARSE;
        e->has_fps = 1;
        e->n_fps = fl / 32;
    }
    e->leaf_len = a;
    e->extra_len = b;
    return ARB_OK;
}

static arb_err read_entry(arb_log *l, uint64_t i, uint8_t **val, size_t *len)
{
    uint8_t key[8];

    be64(key, i);
    return arb_store_get(l->store, NULL, l->cf[CF_ENTRIES], key, 8, val, len, NULL);
}

/* Rebuilds the SCT of a stored entry (views into the record). */
static arb_err entry_sct(arb_log *l, const entry_view *e, arb_ct_sct *sct)
{
    arb_ct_leaf leaf;
    arb_err err;

    memset(sct, 0, sizeof(*sct));
    if ((err = arb_ct_leaf_decode(&leaf, e->leaf, e->leaf_len)) != ARB_OK ||
        (err = arb_ct_dsig_decode(&sct->sig, e->sig, e->sig_len)) != ARB_OK)
        return err;
    memcpy(sct->log_id, l->log_id, 32);
    sct->timestamp = leaf.timestamp;
    sct->ext = leaf.ext;
    sct->ext_len = leaf.ext_len;
    return ARB_OK;
}

/* Answers a submission from the stored entry `index`. */
static void answer_existing(arb_log *l, pending *p, uint64_t index)
{
    uint8_t *val = NULL;
    size_t len;
    entry_view e;
    arb_ct_sct sct;
    arb_err err = read_entry(l, index, &val, &len);

    if (err == ARB_OK && (err = decode_entry(&e, val, len)) == ARB_OK &&
        (err = entry_sct(l, &e, &sct)) == ARB_OK)
        p->fn(p->ud, ARB_OK, &sct, NULL);
    else
        p->fn(p->ud, err, NULL, "stored entry unreadable");
    free(val);
}

static void dedup_key(arb_log *l, const arb_ct_chain *c, uint8_t out[32])
{
    uint8_t t[2] = {0, (uint8_t)c->entry.entry_type};

    arb_sha256_init(l->sha);
    arb_sha256_update(l->sha, t, 2);
    arb_sha256_update(l->sha, c->path[0].der, c->path[0].len);
    arb_sha256_final(l->sha, out);
}

/* extra_data (RFC 6962 4.6): x509: the chain after the leaf; precert:
 * PrecertChainEntry (the precertificate, then the chain after it). */
static arb_err extra_data(arb_buf *b, const arb_ct_chain *c)
{
    if (c->is_precert)
        return arb_ct_precert_chain_encode(b, &c->path[0], c->path + 1, c->path_len - 1);
    return arb_ct_x509_chain_encode(b, c->path + 1, c->path_len - 1);
}

/* ---- the sequencer ---- */

static void fail_all(pending *list, arb_err err, const char *msg)
{
    pending *p, *next;

    for (p = list; p != NULL; p = next) {
        next = p->next;
        p->fn(p->ud, err, NULL, msg);
        arb_ct_chain_free(p->chain);
        free(p);
    }
}

/* Batches with at least this many new entries are signed on two threads. */
#define PARALLEL_SIGN_MIN 8

typedef struct {
    arb_log *l;
    pending *list;
    uint64_t ts;
    int parity; /* 0 or 1: every other new entry; -1: all */
    arb_err err;
} sign_job;

static void *sign_part(void *arg)
{
    sign_job *j = arg;
    size_t i = 0;

    for (pending *p = j->list; p != NULL; p = p->next) {
        arb_err e;
        if (p->state != 0)
            continue;
        if (j->parity >= 0 && (int)(i++ & 1) != j->parity)
            continue;
        e = arb_ct_sct_sign(j->l->signer, &p->sct, p->sigbuf, j->ts, &p->chain->entry, p->ext,
                            sizeof(p->ext));
        if (e != ARB_OK && j->err == ARB_OK)
            j->err = e;
    }
    return NULL;
}

/* The batch's new entries in an open-addressing table (cap a power of two,
 * more than twice the batch), keyed by their dedup hash. */
static pending *batch_dup(pending **tab, size_t cap, const pending *p)
{
    size_t i = (size_t)rd64(p->dedup) & (cap - 1);

    for (; tab[i] != NULL; i = (i + 1) & (cap - 1))
        if (memcmp(tab[i]->dedup, p->dedup, 32) == 0)
            return tab[i];
    return NULL;
}

static void batch_dup_add(pending **tab, size_t cap, pending *p)
{
    size_t i = (size_t)rd64(p->dedup) & (cap - 1);

    while (tab[i] != NULL)
        i = (i + 1) & (cap - 1);
    tab[i] = p;
}

/* The sequencer is a two-stage pipeline: the sequencer thread prepares a
 * batch (deduplication, SCT signatures, entry records, tree nodes, the
 * signed tree head, all in one storage batch) while the committer thread
 * writes and syncs the batch before it and then answers its submitters. So
 * the signatures of batch N+1 are computed during the fsync of batch N. At
 * most one batch is in flight: the next is handed over only once the one
 * before it is durable (or failed, which fails the next one too: it was
 * built on top of it). */
typedef struct commit_job {
    pending *list;
    arb_store_batch *b;
    pending **dups; /* the batch's new entries by dedup key (dups_cap slots) */
    size_t dups_cap;
    arb_merkle_range saved; /* the tree before this batch */
    size_t added;
    arb_log_sth sth;
    uint8_t *cp;
    size_t cp_len;
    int done; /* set by the committer when everyone is answered */
    arb_err err;
} commit_job;

static void job_free(commit_job *j)
{
    pending *p, *next;

    if (j == NULL)
        return;
    for (p = j->list; p != NULL; p = next) {
        next = p->next;
        arb_ct_chain_free(p->chain);
        free(p);
    }
    arb_store_batch_free(j->b);
    free(j->dups);
    free(j->cp);
    free(j);
}

/* Answers a failed batch's submitters. */
static void job_fail(commit_job *j, arb_err err, const char *reason)
{
    for (pending *p = j->list; p != NULL; p = p->next)
        p->fn(p->ud, err, NULL, reason);
}

/* Prepares the storage batch of `list` on the tree as it stands (which may
 * include the in-flight batch `prev`, not yet durable: its entries count
 * as known for deduplication). Advances l->range. Returns the job (also on
 * failure: then job->err is set, l->range is back to job->saved and nothing
 * was answered), or NULL when out of memory (the list was failed). */
static commit_job *prepare_batch(arb_log *l, pending *list, const commit_job *prev)
{
    arb_buf leaf = ARB_BUF_INIT, extra = ARB_BUF_INIT, rec = ARB_BUF_INIT, fps = ARB_BUF_INIT;
    uint64_t ts = now_ms();
    uint8_t key[8];
    arb_hash root;
    arb_errbuf eb;
    emit_ctx ectx;
    pending *p, *q;
    arb_err err = ARB_OK;
    size_t n_new = 0;
    commit_job *j = calloc(1, sizeof(*j));

    eb.msg[0] = 0;
    if (j == NULL) {
        fail_all(list, ARB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    j->list = list;
    j->saved = l->range;
    if (ts <= l->last_ts)
        ts = l->last_ts + 1; /* timestamps strictly increase between tree heads */
    for (p = list; p != NULL; p = p->next)
        j->dups_cap += 2;
    while (j->dups_cap & (j->dups_cap - 1))
        j->dups_cap &= j->dups_cap - 1;
    j->dups_cap *= 2; /* a power of two, at least twice the batch */
    if ((j->dups = calloc(j->dups_cap, sizeof(*j->dups))) == NULL) {
        err = ARB_ERR_NOMEM;
        arb_errf(&eb, err, "out of memory");
        goto failed;
    }
    if ((err = arb_store_batch_new(&j->b, l->store)) != ARB_OK) {
        arb_errf(&eb, err, "cannot start a storage batch");
        goto failed;
    }
    ectx.l = l;
    ectx.b = j->b;
    for (p = list; p != NULL; p = p->next) {
        uint8_t ikey[8];

        dedup_key(l, p->chain, p->dedup);
        /* A duplicate inside this batch shares the first one's answer. */
        if ((q = batch_dup(j->dups, j->dups_cap, p)) != NULL) {
            p->state = 2;
            p->alias = q;
            continue;
        }
        /* One of the batch in flight: answered from the store once both
         * batches are durable. */
        if (prev != NULL && (q = batch_dup(prev->dups, prev->dups_cap, p)) != NULL) {
            p->state = 1;
            p->index = q->index;
            continue;
        }
        {
            size_t len = 0;
            err = arb_store_get_into(l->store, NULL, l->cf[CF_DEDUP], p->dedup, 32, ikey, 8, &len, NULL);
            if (err == ARB_OK && len == 8) {
                p->state = 1;
                p->index = rd64(ikey);
                continue;
            }
            if (err != ARB_ERR_NOT_FOUND) {
                if (err == ARB_OK)
                    err = ARB_ERR_PARSE;
                arb_errf(&eb, err, "dedup index unreadable");
                goto failed;
            }
            err = ARB_OK;
        }
        p->state = 0;
        p->index = l->range.size + n_new++;
        batch_dup_add(j->dups, j->dups_cap, p);
        arb_ct_leaf_index_ext(p->ext, p->index);
    }
    /* The SCT signatures (the sequencer's main cost), on two threads for
     * larger batches: each signs every other new entry. */
    {
        sign_job jobs[2] = {{l, list, ts, n_new >= PARALLEL_SIGN_MIN ? 0 : -1, ARB_OK},
                            {l, list, ts, 1, ARB_OK}};
        pthread_t th;
        int threaded = n_new >= PARALLEL_SIGN_MIN && pthread_create(&th, NULL, sign_part, &jobs[1]) == 0;
        if (n_new >= PARALLEL_SIGN_MIN && !threaded)
            jobs[0].parity = -1;
        sign_part(&jobs[0]);
        if (threaded)
            pthread_join(th, NULL);
        if ((err = jobs[0].err) != ARB_OK || (err = jobs[1].err) != ARB_OK) {
            arb_errf(&eb, err, "cannot sign an SCT");
            goto failed;
        }
    }
    for (p = list; p != NULL; p = p->next) {
        arb_ct_leaf ml;
        arb_hash lh;
        size_t k;

        if (p->state != 0)
            continue;
        memset(&ml, 0, sizeof(ml));
        ml.timestamp = ts;
        ml.entry = p->chain->entry;
        ml.ext = p->ext;
        ml.ext_len = sizeof(p->ext);
        arb_buf_reset(&leaf);
        arb_buf_reset(&extra);
        arb_buf_reset(&rec);
        /* The chain's fingerprints, stored with the entry so a data tile is
         * built without hashing (they are also the issuers' keys). */
        arb_buf_reset(&fps);
        if (arb_buf_reserve(&fps, 32 * p->chain->path_len)) {
            for (k = 1; k < p->chain->path_len; k++)
                arb_sha256_digest(l->sha, fps.data + 32 * (k - 1), p->chain->path[k].der,
                                  p->chain->path[k].len);
            fps.len = 32 * (p->chain->path_len - 1);
        }
        if ((err = fps.oom ? ARB_ERR_NOMEM : ARB_OK) != ARB_OK ||
            (err = arb_ct_leaf_encode(&leaf, &ml)) != ARB_OK ||
            (err = extra_data(&extra, p->chain)) != ARB_OK ||
            (err = encode_entry(&rec, leaf.data, leaf.len, extra.data, extra.len, &p->sct.sig,
                                fps.data, p->chain->path_len - 1)) != ARB_OK) {
            arb_errf(&eb, err, "cannot encode an entry");
            goto failed;
        }
        arb_merkle_leaf_hash(l->sha, &lh, leaf.data, leaf.len);
        be64(key, p->index);
        arb_store_batch_put(j->b, l->cf[CF_ENTRIES], key, 8, rec.data, rec.len);
        arb_store_batch_put(j->b, l->cf[CF_LEAFHASH], lh.b, 32, key, 8);
        arb_store_batch_put(j->b, l->cf[CF_DEDUP], p->dedup, 32, key, 8);
        if (l->index_entry != NULL &&
            (err = l->index_entry(l->index_ud, j->b, p->index, &ml, p->chain)) != ARB_OK) {
            arb_errf(&eb, err, "cannot index an entry");
            goto failed;
        }
        for (k = 1; k < p->chain->path_len; k++)
            arb_store_batch_put(j->b, l->cf[CF_ISSUERS], fps.data + 32 * (k - 1), 32,
                                p->chain->path[k].der, p->chain->path[k].len);
        if ((err = arb_merkle_range_append_visit(&l->range, l->sha, &lh, node_emit, &ectx)) !=
            ARB_OK) {
            arb_errf(&eb, err, "log: the tree is full");
            goto failed;
        }
        j->added++;
    }
    if (j->added > 0) {
        arb_merkle_range_root(&l->range, l->sha, &root);
        if ((err = sign_head(l, &j->sth, l->range.size, ts, &root, &j->cp, &j->cp_len, &eb)) != ARB_OK)
            goto failed;
        if ((err = put_head(l, j->b, &j->sth, j->cp, j->cp_len, &rec)) != ARB_OK) {
            arb_errf(&eb, err, "cannot encode the tree head");
            goto failed;
        }
        l->last_ts = ts;
    }
    goto out;
failed:
    l->range = j->saved;
    j->err = err;
    arb_logf(&l->lg, ARB_LOG_ERROR, "log: batch failed: %s", eb.msg);
out:
    arb_buf_free(&leaf);
    arb_buf_free(&extra);
    arb_buf_free(&rec);
    arb_buf_free(&fps);
    return j;
}

/* The committer's half: writes the batch (synced), publishes its tree head
 * and answers everyone; on a failed write the log enters the failed state
 * and everyone gets the reason. Runs on the committer thread. */
static void commit_batch(arb_log *l, commit_job *j)
{
    arb_errbuf eb;
    arb_err err = ARB_OK;
    char reason[ARB_LOG_REASON_MAX + 64];
    struct timespec w0, w1;
    pending *p;

    eb.msg[0] = 0;
    if (j->added > 0) {
        clock_gettime(CLOCK_MONOTONIC, &w0);
        if ((err = arb_store_write(l->store, j->b, ARB_STORE_SYNC, &eb)) != ARB_OK) {
            arb_logf(&l->lg, ARB_LOG_ERROR, "log: batch failed: %s", eb.msg);
            note_write_failure(l, err, eb.msg);
            client_reason(reason, sizeof(reason), err, eb.msg);
            j->err = err;
            job_fail(j, err, reason);
            return;
        }
        clock_gettime(CLOCK_MONOTONIC, &w1);
        pthread_mutex_lock(&l->mu);
        l->sth = j->sth;
        free(l->checkpoint);
        l->checkpoint = j->cp;
        l->checkpoint_len = j->cp_len;
        j->cp = NULL;
        pthread_mutex_unlock(&l->mu);
        arb_logf(&l->lg, ARB_LOG_DEBUG, "log: sequenced %zu entries, tree size %llu", j->added,
                 (unsigned long long)j->sth.tree_size);
        if (l->on_batch != NULL)
            l->on_batch(l->batch_ud, j->added, j->sth.tree_size,
                        (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9);
    }
    /* Durable: answer everyone. */
    for (p = j->list; p != NULL; p = p->next) {
        if (p->state == 0)
            p->fn(p->ud, ARB_OK, &p->sct, NULL);
        else if (p->state == 1)
            answer_existing(l, p, p->index);
        else
            p->fn(p->ud, ARB_OK, &p->alias->sct, NULL);
    }
}

static void *committer_main(void *arg)
{
    arb_log *l = arg;

    pthread_mutex_lock(&l->mu);
    for (;;) {
        commit_job *j;

        while (l->commit == NULL && !l->commit_stop)
            pthread_cond_wait(&l->commit_cv, &l->mu);
        if (l->commit == NULL)
            break;
        j = l->commit;
        pthread_mutex_unlock(&l->mu);
        commit_batch(l, j);
        pthread_mutex_lock(&l->mu);
        j->done = 1;
        l->commit = NULL;
        l->sequencing--;
        pthread_cond_broadcast(&l->commit_cv);
        pthread_cond_broadcast(&l->cv); /* arb_log_drain waits for this */
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* Waits until the batch in flight is answered and forgets it. If its write
 * failed, the tree goes back to what it was before it. Sequencer thread,
 * without l->mu. Returns the in-flight batch's error (ARB_OK if none). */
static arb_err settle(arb_log *l)
{
    commit_job *j = l->inflight;
    arb_err err;

    if (j == NULL)
        return ARB_OK;
    pthread_mutex_lock(&l->mu);
    while (!j->done)
        pthread_cond_wait(&l->commit_cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    err = j->err;
    if (err != ARB_OK)
        l->range = j->saved;
    l->inflight = NULL;
    job_free(j);
    return err;
}

/* Sequences one batch: prepares it while the previous one is synced, then
 * hands it to the committer once the previous one is durable. Sequencer
 * thread, without l->mu; l->sequencing was raised for it. */
static void sequence_batch(arb_log *l, pending *list)
{
    commit_job *j = prepare_batch(l, list, l->inflight);
    arb_err prev_err = settle(l);

    if (j == NULL || j->err != ARB_OK || prev_err != ARB_OK) {
        if (j != NULL) {
            char reason[ARB_LOG_REASON_MAX];
            if (prev_err != ARB_OK) {
                /* Built on a batch that did not reach the disk: its tree is
                 * gone (settle restored the one before it). */
                pthread_mutex_lock(&l->mu);
                if (l->failed)
                    snprintf(reason, sizeof(reason), "%s", l->fail_reason);
                else
                    snprintf(reason, sizeof(reason), "the log could not store the entry (%s)",
                             arb_err_str(prev_err));
                pthread_mutex_unlock(&l->mu);
                job_fail(j, prev_err, reason);
            } else {
                snprintf(reason, sizeof(reason), "the log could not store the entry (%s)",
                         arb_err_str(j->err));
                job_fail(j, j->err, reason);
            }
            job_free(j);
        }
        pthread_mutex_lock(&l->mu);
        l->sequencing--;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        return;
    }
    l->inflight = j;
    pthread_mutex_lock(&l->mu);
    l->commit = j;
    pthread_cond_broadcast(&l->commit_cv);
    pthread_mutex_unlock(&l->mu);
}

/* A lone submission on an idle log, on the submitting thread (submit_inline):
 * prepares its batch, then writes and syncs it and answers as the committer
 * would, without waking the sequencer or the committer. The caller set
 * l->owned (the sequencer state is ours until the batch is prepared) and
 * raised l->sequencing (lowered here once everyone is answered); nothing else
 * is in flight. While this batch syncs, the sequencer may already prepare the
 * next one on top of it, as it does while the committer syncs. */
static void sequence_inline(arb_log *l, pending *p)
{
    commit_job *j = NULL;
    arb_err err = settle(l); /* the last batch the committer wrote: answered already */

    p->next = NULL;
    if (err != ARB_OK) {
        /* That write failed (the log is failed, or recovered since): its tree
         * is gone already; refuse like the queue would. */
        char reason[ARB_LOG_REASON_MAX];
        snprintf(reason, sizeof(reason), "the log could not store the entry (%s)",
                 arb_err_str(err));
        fail_all(p, err, reason);
    } else if ((j = prepare_batch(l, p, NULL)) != NULL && j->err != ARB_OK) {
        char reason[ARB_LOG_REASON_MAX];
        snprintf(reason, sizeof(reason), "the log could not store the entry (%s)",
                 arb_err_str(j->err));
        job_fail(j, j->err, reason);
        job_free(j);
        j = NULL;
    }
    pthread_mutex_lock(&l->mu);
    l->owned = 0;
    if (j == NULL) { /* answered already */
        l->sequencing--;
        pthread_cond_broadcast(&l->cv); /* the sequencer, for what queued meanwhile; drain */
        pthread_mutex_unlock(&l->mu);
        return;
    }
    l->inflight = j; /* settled (freed) by whoever sequences next */
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    commit_batch(l, j);
    pthread_mutex_lock(&l->mu);
    j->done = 1;
    l->sequencing--;
    pthread_cond_broadcast(&l->commit_cv); /* settle */
    pthread_cond_broadcast(&l->cv);        /* arb_log_drain */
    pthread_mutex_unlock(&l->mu);
}

/* Signs and durably stores a new tree head for the same tree (new timestamp)
 * and publishes it. On a failed write the log enters the failed state. */
static arb_err refresh_head(arb_log *l, arb_errbuf *eb)
{
    arb_store_batch *b = NULL;
    arb_buf scratch = ARB_BUF_INIT;
    arb_log_sth sth;
    arb_hash root;
    uint8_t *cp = NULL;
    size_t cp_len = 0;
    uint64_t ts = now_ms();
    int write_failed = 0;
    arb_err err;

    if (ts <= l->last_ts)
        ts = l->last_ts + 1;
    arb_merkle_range_root(&l->range, l->sha, &root);
    if ((err = sign_head(l, &sth, l->range.size, ts, &root, &cp, &cp_len, eb)) != ARB_OK)
        ; /* eb says why */
    else if ((err = arb_store_batch_new(&b, l->store)) != ARB_OK)
        arb_errf(eb, err, "cannot start a storage batch");
    else if ((err = put_head(l, b, &sth, cp, cp_len, &scratch)) != ARB_OK)
        arb_errf(eb, err, "cannot encode the tree head");
    else if ((err = arb_store_write(l->store, b, ARB_STORE_SYNC, eb)) != ARB_OK)
        write_failed = 1;
    arb_store_batch_free(b);
    arb_buf_free(&scratch);
    if (write_failed)
        note_write_failure(l, err, eb->msg);
    pthread_mutex_lock(&l->mu);
    if (err == ARB_OK) {
        l->last_ts = ts;
        l->sth = sth;
        free(l->checkpoint);
        l->checkpoint = cp;
        l->checkpoint_len = cp_len;
        cp = NULL;
    } else if (!l->failed) {
        l->retry_at = ts + l->refresh_ms; /* try again one interval later */
    }
    pthread_mutex_unlock(&l->mu);
    free(cp);
    return err;
}

static arb_err load_state(arb_log *l, arb_errbuf *eb);

/* After a storage failure: reopens the store (which refuses writes after a
 * failed one), reloads the log from it (a batch whose write was reported
 * failed may have reached the disk after all), and proves that writes work by
 * storing a fresh tree head. Runs on the sequencer thread, which holds no
 * batch, snapshot or iterator now. On failure the next attempt is scheduled
 * with a doubled back-off. */
static void try_recover(arb_log *l)
{
    arb_errbuf eb;
    arb_err err = ARB_OK;

    eb.msg[0] = 0;
    if (arb_store_write_failed(l->store))
        err = arb_store_reopen(l->store, REOPEN_WAIT_MS, &eb);
    if (err == ARB_OK)
        err = load_state(l, &eb);
    if (err == ARB_OK)
        err = refresh_head(l, &eb);
    pthread_mutex_lock(&l->mu);
    if (err == ARB_OK) {
        l->failed = 0;
        l->fail_reason[0] = 0;
        l->recoveries++;
    } else {
        l->retry_at = now_ms() + l->retry_ms;
        l->retry_ms = l->retry_ms * 2 < l->retry_max_ms ? l->retry_ms * 2 : l->retry_max_ms;
    }
    pthread_mutex_unlock(&l->mu);
    if (err == ARB_OK)
        arb_logf(&l->lg, ARB_LOG_INFO,
                 "log: storage works again; accepting submissions at tree size %llu",
                 (unsigned long long)l->range.size);
    else
        arb_logf(&l->lg, ARB_LOG_WARN, "log: still cannot store: %s", eb.msg);
}

static void *sequencer_main(void *arg)
{
    arb_log *l = arg;

    pthread_mutex_lock(&l->mu);
    for (;;) {
        pending *list, *p;
        size_t n;
        struct timespec deadline;

        while (l->owned || (l->head == NULL && !l->stop)) {
            if (l->owned) { /* a submitter sequences inline (arb_log_submit) */
                pthread_cond_wait(&l->cv, &l->mu);
                continue;
            }
            /* Idle: re-sign the tree head when it gets old, so monitors see a
             * fresh one at least every refresh interval (RFC 6962 3.5); after
             * a storage failure, try to recover at the back-off time instead.
             * Each action moves `due` into the future, so the wait below
             * always sleeps. */
            uint64_t due, now = now_ms();
            struct timespec until;
            if (l->failed) {
                due = l->retry_at;
            } else {
                due = l->sth.timestamp + l->refresh_ms;
                if (l->retry_at > due)
                    due = l->retry_at;
            }
            if (now >= due) {
                int failed;
                l->owned = 1;
                pthread_mutex_unlock(&l->mu);
                (void)settle(l); /* the store is written by one batch at a time */
                pthread_mutex_lock(&l->mu);
                failed = l->failed;
                pthread_mutex_unlock(&l->mu);
                if (failed) {
                    try_recover(l);
                } else {
                    arb_errbuf eb;
                    eb.msg[0] = 0;
                    if (refresh_head(l, &eb) != ARB_OK)
                        arb_logf(&l->lg, ARB_LOG_ERROR, "log: cannot refresh the tree head: %s",
                                 eb.msg);
                }
                pthread_mutex_lock(&l->mu);
                l->owned = 0;
                continue;
            }
            until.tv_sec = (time_t)(due / 1000);
            until.tv_nsec = (long)(due % 1000) * 1000000L;
            pthread_cond_timedwait(&l->cv, &l->mu, &until);
        }
        if (l->head == NULL && l->stop) {
            pthread_mutex_unlock(&l->mu);
            (void)settle(l);
            pthread_mutex_lock(&l->mu);
            break;
        }
        if (l->failed) {
            /* Refuse at once (the routes usually refuse before queueing). */
            char reason[ARB_LOG_REASON_MAX];
            list = l->head;
            l->head = l->tail = NULL;
            l->queued = 0;
            memcpy(reason, l->fail_reason, sizeof(reason));
            l->sequencing++;
            pthread_mutex_unlock(&l->mu);
            fail_all(list, ARB_ERR_IO, reason);
            pthread_mutex_lock(&l->mu);
            l->sequencing--;
            pthread_cond_broadcast(&l->cv);
            continue;
        }
        /* With a pool window, wait for more submissions (or a full batch).
         * Without one (group commit), sequence what is queued now: what
         * arrives while this batch is signed and synced forms the next. */
        if (l->batch_ms > 0) {
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_nsec += (long)l->batch_ms * 1000000L;
            deadline.tv_sec += deadline.tv_nsec / 1000000000L;
            deadline.tv_nsec %= 1000000000L;
            while (!l->stop && !l->draining && l->queued < l->batch_max)
                if (pthread_cond_timedwait(&l->cv, &l->mu, &deadline) != 0)
                    break;
        }
        list = l->head;
        for (p = list, n = 1; n < l->batch_max && p->next != NULL; n++)
            p = p->next;
        l->head = p->next;
        if (l->head == NULL)
            l->tail = NULL;
        p->next = NULL;
        l->queued -= n;
        l->sequencing++; /* lowered when the batch is answered */
        pthread_mutex_unlock(&l->mu);
        sequence_batch(l, list);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* 1 if the chain fits the TLS encodings of its entry (RFC 6962 3.1, 4.6):
 * the signed certificate or TBS in opaque<1..2^24-1>, and the chain after it
 * in a list<0..2^24-1>. Checked before queueing, so one oversized submission
 * (possible with a large --log-max-cert) is refused alone instead of failing
 * the encoding of the whole batch it would join. */
static int chain_fits(const arb_ct_chain *c)
{
    size_t total = 0, i;

    if (c->path_len == 0 || c->entry.cert_len < 1 || c->entry.cert_len > ARB_CT_CERT_MAX ||
        c->path[0].len < 1 || c->path[0].len > ARB_CT_CERT_MAX)
        return 0;
    for (i = 1; i < c->path_len; i++) {
        if (c->path[i].len < 1 || c->path[i].len > ARB_CT_CERT_MAX)
            return 0;
        total += 3 + c->path[i].len;
        if (total > ARB_CT_CERT_MAX)
            return 0;
    }
    return 1;
}

void arb_log_submit(arb_log *l, arb_ct_chain *chain, arb_log_submit_fn fn, void *ud)
{
    pending *p;

    if (!chain_fits(chain)) {
        arb_ct_chain_free(chain);
        fn(ud, ARB_ERR_PARSE, NULL,
           "the chain is too large for the log's entry encoding (each certificate and the "
           "chain after the leaf must stay below 16 MiB)");
        return;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL) {
        arb_ct_chain_free(chain);
        fn(ud, ARB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    p->chain = chain;
    p->fn = fn;
    p->ud = ud;
    pthread_mutex_lock(&l->mu);
    if (l->stop || l->draining) {
        pthread_mutex_unlock(&l->mu);
        arb_ct_chain_free(chain);
        free(p);
        fn(ud, ARB_ERR_BUSY, NULL, "the log is shutting down");
        return;
    }
    if (l->submit_inline && l->batch_ms == 0 && !l->failed && l->head == NULL &&
        l->sequencing == 0 && !l->owned) {
        /* Idle: this thread is the sequencer and the committer for once. */
        l->owned = 1;
        l->sequencing++;
        pthread_mutex_unlock(&l->mu);
        sequence_inline(l, p);
        return;
    }
    if (l->tail != NULL)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    l->queued++;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* ---- open / close ---- */

/* Loads the stored tree head (which must be signed by this log's key), the
 * tree's right edge (which must hash to that head's root) and the checkpoint,
 * and publishes them. On failure nothing changes. Sequencer state: call before
 * the sequencer starts or on the sequencer thread. */
static arb_err load_state(arb_log *l, arb_errbuf *eb)
{
    uint8_t *val = NULL, *cp = NULL;
    size_t len = 0, cp_len = 0;
    arb_log_sth sth;
    arb_merkle_range range;
    arb_ct_dsig d;
    arb_hash root;
    arb_err err;

    err = arb_store_get(l->store, NULL, l->cf[CF_META], (const uint8_t *)"sth", 3, &val, &len, eb);
    if (err == ARB_ERR_NOT_FOUND)
        return arb_errf(eb, ARB_ERR_PARSE, "log: the stored tree head is missing");
    if (err != ARB_OK)
        return err;
    err = decode_sth(&sth, val, len);
    free(val);
    if (err != ARB_OK)
        return arb_errf(eb, err, "log: stored tree head is corrupt");
    /* The stored head must be ours and match the stored tree. */
    err = arb_ct_dsig_decode(&d, sth.sig, sth.sig_len);
    if (err == ARB_OK)
        err = arb_ct_sth_verify(l->verifier, &d, sth.timestamp, sth.tree_size, sth.root);
    if (err != ARB_OK)
        return arb_errf(eb, ARB_ERR_PARSE, "log: the stored tree head is not signed by this key");
    if ((err = log_range_load(&range, sth.tree_size, node_get, l)) != ARB_OK)
        return arb_errf(eb, err, "log: tree nodes missing for size %llu",
                        (unsigned long long)sth.tree_size);
    arb_merkle_range_root(&range, l->sha, &root);
    if (memcmp(root.b, sth.root, 32) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "log: stored tree does not match its tree head");
    if ((err = arb_store_get(l->store, NULL, l->cf[CF_META], (const uint8_t *)"checkpoint", 10,
                             &cp, &cp_len, eb)) != ARB_OK)
        return err == ARB_ERR_NOT_FOUND
                   ? arb_errf(eb, ARB_ERR_PARSE, "log: the stored checkpoint is missing")
                   : err;
    l->range = range;
    l->last_ts = sth.timestamp;
    pthread_mutex_lock(&l->mu);
    l->sth = sth;
    free(l->checkpoint);
    l->checkpoint = cp;
    l->checkpoint_len = cp_len;
    pthread_mutex_unlock(&l->mu);
    return ARB_OK;
}

/* A log written before the tree-head history has none: its history starts
 * with the current head, stored (synced) at open. */
static arb_err history_seed(arb_log *l, arb_errbuf *eb)
{
    uint8_t hk[HIST_KEY_SIZE];
    arb_buf scratch = ARB_BUF_INIT;
    arb_store_batch *b = NULL;
    int found = 0;
    arb_err err;

    hist_key(hk, l->sth.timestamp);
    if ((err = arb_store_exists(l->store, NULL, l->cf[CF_META], hk, sizeof hk, &found, eb)) !=
            ARB_OK ||
        found)
        return err;
    if ((err = encode_sth(&scratch, &l->sth)) != ARB_OK ||
        (err = arb_store_batch_new(&b, l->store)) != ARB_OK) {
        arb_buf_free(&scratch);
        return arb_errf(eb, err, "out of memory");
    }
    arb_store_batch_put(b, l->cf[CF_META], hk, sizeof hk, scratch.data, scratch.len);
    err = arb_store_write(l->store, b, ARB_STORE_SYNC, eb);
    arb_store_batch_free(b);
    arb_buf_free(&scratch);
    if (err == ARB_OK)
        arb_logf(&l->lg, ARB_LOG_INFO, "log: tree-head history starts at tree size %llu",
                 (unsigned long long)l->sth.tree_size);
    return err;
}

arb_err arb_log_open(arb_log **out, const arb_log_config *cfg, arb_errbuf *eb)
{
    arb_log *l;
    uint8_t *val = NULL;
    size_t len, i;
    arb_err err;

    *out = NULL;
    if (cfg->store == NULL || cfg->cfs == NULL || cfg->signer == NULL || cfg->origin == NULL)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "log: missing store, key or origin");
    if ((l = calloc(1, sizeof(*l))) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    pthread_cond_init(&l->commit_cv, NULL);
    pthread_mutex_init(&l->tile_mu, NULL);
    l->tile_budget = cfg->tile_cache_bytes ? cfg->tile_cache_bytes : DEFAULT_TILE_CACHE_BYTES;
    l->store = cfg->store;
    for (i = 0; i < ARB_LOG_CF_COUNT; i++)
        l->cf[i] = cfg->cfs[i];
    l->signer = cfg->signer;
    arb_ct_signer_log_id(l->signer, l->log_id);
    l->batch_ms = cfg->batch_ms;
    l->submit_inline = cfg->submit_inline;
    l->batch_max = cfg->batch_max ? cfg->batch_max : DEFAULT_BATCH_MAX;
    l->refresh_ms = (uint64_t)(cfg->sth_refresh_s ? cfg->sth_refresh_s : DEFAULT_REFRESH_S) * 1000u;
    l->retry_max_ms = cfg->retry_max_ms ? cfg->retry_max_ms : DEFAULT_RETRY_MAX_MS;
    l->retry_ms = RETRY_FIRST_MS;
    l->lg = cfg->log;
    l->on_batch = cfg->on_batch;
    l->batch_ud = cfg->batch_ud;
    l->index_entry = cfg->index_entry;
    l->index_ud = cfg->index_ud;
    if ((l->origin = strdup(cfg->origin)) == NULL || arb_sha256_new(&l->sha) != ARB_OK) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    {
        char *pem = NULL;
        size_t pem_len;
        if ((err = arb_ct_signer_public_pem(l->signer, &pem, &pem_len)) != ARB_OK ||
            (err = arb_ct_verifier_from_pem(&l->verifier, pem, pem_len, eb)) != ARB_OK) {
            free(pem);
            arb_errf(eb, err, "log: cannot use the log key's public half");
            goto fail;
        }
        free(pem);
    }
    if (!arb_note_name_valid(l->origin, strlen(l->origin))) {
        err = arb_errf(eb, ARB_ERR_INVALID_ARG, "log: bad origin \"%s\"", l->origin);
        goto fail;
    }

    err = arb_store_get(l->store, NULL, l->cf[CF_META], (const uint8_t *)"sth", 3, &val, &len, eb);
    if (err == ARB_ERR_NOT_FOUND) {
        /* A new log: the empty tree, durably. */
        arb_store_batch *b = NULL;
        arb_buf scratch = ARB_BUF_INIT;
        arb_hash root;
        uint8_t *cp = NULL;
        size_t cp_len;

        arb_merkle_empty_root(&root);
        l->last_ts = now_ms();
        if ((err = sign_head(l, &l->sth, 0, l->last_ts, &root, &cp, &cp_len, eb)) != ARB_OK)
            goto fail;
        if ((err = arb_store_batch_new(&b, l->store)) != ARB_OK) {
            free(cp);
            goto fail;
        }
        if ((err = put_head(l, b, &l->sth, cp, cp_len, &scratch)) != ARB_OK)
            arb_errf(eb, err, "log: cannot encode the tree head");
        else
            err = arb_store_write(l->store, b, ARB_STORE_SYNC, eb);
        arb_store_batch_free(b);
        arb_buf_free(&scratch);
        if (err != ARB_OK) {
            free(cp);
            goto fail;
        }
        l->checkpoint = cp;
        l->checkpoint_len = cp_len;
        arb_logf(&l->lg, ARB_LOG_INFO, "log: created an empty log \"%s\"", l->origin);
    } else if (err != ARB_OK) {
        goto fail;
    } else {
        free(val);
        val = NULL;
        if ((err = load_state(l, eb)) != ARB_OK || (err = history_seed(l, eb)) != ARB_OK)
            goto fail;
        arb_logf(&l->lg, ARB_LOG_INFO, "log: \"%s\" opened at tree size %llu", l->origin,
                 (unsigned long long)l->sth.tree_size);
    }
    if (pthread_create(&l->committer, NULL, committer_main, l) != 0) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "cannot start the sequencer");
        goto fail;
    }
    l->committer_started = 1;
    if (pthread_create(&l->thread, NULL, sequencer_main, l) != 0) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "cannot start the sequencer");
        goto fail;
    }
    l->thread_started = 1;
    *out = l;
    return ARB_OK;
fail:
    free(val);
    arb_log_close(l);
    return err;
}

void arb_log_drain(arb_log *l)
{
    pthread_mutex_lock(&l->mu);
    l->draining = 1;
    pthread_cond_broadcast(&l->cv); /* ends a pool window at once */
    while (l->thread_started && (l->head != NULL || l->sequencing))
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
}

void arb_log_close(arb_log *l)
{
    if (l == NULL)
        return;
    if (l->thread_started) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    if (l->committer_started) {
        pthread_mutex_lock(&l->mu);
        l->commit_stop = 1;
        pthread_cond_broadcast(&l->commit_cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->committer, NULL);
    }
    fail_all(l->head, ARB_ERR_BUSY, "the log is shutting down");
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    pthread_cond_destroy(&l->commit_cv);
    for (size_t i = 0; i < TILE_CACHE_SLOTS; i++)
        arb_log_tile_ref_release(l->tiles[i].tile);
    pthread_mutex_destroy(&l->tile_mu);
    arb_sha256_free(l->sha);
    arb_ct_verifier_free(l->verifier);
    free(l->checkpoint);
    free(l->origin);
    free(l);
}

/* ---- reads ---- */

arb_err arb_log_sth_history(arb_log *l, uint64_t cursor, int newest_first, size_t limit,
                            arb_log_sth *out, size_t *n, int *more, arb_errbuf *eb)
{
    uint8_t lo[HIST_KEY_SIZE], hi[HIST_KEY_SIZE];
    arb_store_iter *it = NULL;
    uint64_t published;
    arb_err err;

    *n = 0;
    *more = 0;
    pthread_mutex_lock(&l->mu);
    published = l->sth.timestamp; /* a head stored but not yet published is left out */
    pthread_mutex_unlock(&l->mu);
    if (newest_first) {
        if (cursor == 0 || cursor > published + 1)
            cursor = published + 1;
        hist_key(lo, 0);
        hist_key(hi, cursor); /* timestamps < cursor */
    } else {
        if (cursor >= published)
            return ARB_OK;
        hist_key(lo, cursor + 1);
        hist_key(hi, published + 1);
    }
    if ((err = arb_store_iter_new(&it, l->store, NULL, l->cf[CF_META], lo, sizeof lo, hi,
                                  sizeof hi, eb)) != ARB_OK)
        return err;
    if (newest_first)
        arb_store_iter_last(it);
    else
        arb_store_iter_first(it);
    while (arb_store_iter_valid(it)) {
        size_t vl;
        const uint8_t *v = arb_store_iter_value(it, &vl);
        if (*n == limit) {
            *more = 1;
            break;
        }
        if (decode_sth(&out[*n], v, vl) != ARB_OK) {
            err = arb_errf(eb, ARB_ERR_PARSE, "log: a stored tree head of the history is corrupt");
            break;
        }
        (*n)++;
        if (newest_first)
            arb_store_iter_prev(it);
        else
            arb_store_iter_next(it);
    }
    if (err == ARB_OK && !arb_store_iter_valid(it))
        err = arb_store_iter_error(it, eb);
    arb_store_iter_free(it);
    if (err != ARB_OK) {
        *n = 0;
        *more = 0;
    }
    return err;
}

arb_err arb_log_sth_check(arb_log *l, const arb_log_sth *s)
{
    arb_ct_dsig d;
    arb_err err = arb_ct_dsig_decode(&d, s->sig, s->sig_len);
    if (err == ARB_OK)
        err = arb_ct_sth_verify(l->verifier, &d, s->timestamp, s->tree_size, s->root);
    return err;
}

void arb_log_get_sth(arb_log *l, arb_log_sth *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->sth;
    pthread_mutex_unlock(&l->mu);
}

void arb_log_get_health(arb_log *l, arb_log_health *out)
{
    pthread_mutex_lock(&l->mu);
    out->failed = l->failed;
    memcpy(out->reason, l->fail_reason, sizeof(out->reason));
    out->write_failures = l->write_failures;
    out->recoveries = l->recoveries;
    pthread_mutex_unlock(&l->mu);
}

static uint64_t published_size(arb_log *l)
{
    uint64_t n;

    pthread_mutex_lock(&l->mu);
    n = l->sth.tree_size;
    pthread_mutex_unlock(&l->mu);
    return n;
}

arb_err arb_log_get_checkpoint(arb_log *l, uint8_t **text, size_t *len)
{
    arb_err err = ARB_OK;

    pthread_mutex_lock(&l->mu);
    *len = l->checkpoint_len;
    if ((*text = malloc(l->checkpoint_len + 1)) == NULL) {
        err = ARB_ERR_NOMEM;
        *len = 0;
    } else {
        memcpy(*text, l->checkpoint, l->checkpoint_len);
        (*text)[l->checkpoint_len] = 0;
    }
    pthread_mutex_unlock(&l->mu);
    return err;
}

arb_err arb_log_get_entry(arb_log *l, uint64_t i, uint8_t **leaf_input, size_t *leaf_len,
                          uint8_t **extra, size_t *extra_len)
{
    uint8_t *val = NULL;
    size_t len;
    entry_view e;
    arb_err err;

    *leaf_input = *extra = NULL;
    *leaf_len = *extra_len = 0;
    if (i >= published_size(l))
        return ARB_ERR_NOT_FOUND;
    if ((err = read_entry(l, i, &val, &len)) != ARB_OK)
        return err;
    if ((err = decode_entry(&e, val, len)) == ARB_OK) {
        *leaf_input = malloc(e.leaf_len ? e.leaf_len : 1);
        *extra = malloc(e.extra_len ? e.extra_len : 1);
        if (*leaf_input == NULL || *extra == NULL) {
            free(*leaf_input);
            free(*extra);
            *leaf_input = *extra = NULL;
            err = ARB_ERR_NOMEM;
        } else {
            memcpy(*leaf_input, e.leaf, e.leaf_len);
            memcpy(*extra, e.extra, e.extra_len);
            *leaf_len = e.leaf_len;
            *extra_len = e.extra_len;
        }
    }
    free(val);
    return err;
}

/* Receives one stored entry of a range walk (views valid during the call). */
typedef arb_err (*entry_view_fn)(void *ud, uint64_t index, const entry_view *e);

/* Entries first..last (last < published size) in order, with one iterator. */
static arb_err walk_entries(arb_log *l, uint64_t first, uint64_t last, entry_view_fn fn, void *ud)
{
    uint8_t lo[8], hi[8];
    arb_store_iter *it = NULL;
    uint64_t i = first;
    arb_err err;

    if (first > last || last >= published_size(l))
        return ARB_ERR_NOT_FOUND;
    be64(lo, first);
    be64(hi, last + 1); /* last + 1 <= published size < 2^64 */
    if ((err = arb_store_iter_new(&it, l->store, NULL, l->cf[CF_ENTRIES], lo, 8, hi, 8, NULL)) !=
        ARB_OK)
        return err;
    for (arb_store_iter_first(it); err == ARB_OK && arb_store_iter_valid(it);
         arb_store_iter_next(it), i++) {
        size_t kl = 0, vl = 0;
        const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
        entry_view e;
        if (kl != 8 || rd64(k) != i) {
            err = ARB_ERR_DB; /* a gap: entries are written with the tree head */
            break;
        }
        if ((err = decode_entry(&e, v, vl)) == ARB_OK)
            err = fn(ud, i, &e);
    }
    if (err == ARB_OK && (err = arb_store_iter_error(it, NULL)) == ARB_OK && i != last + 1)
        err = ARB_ERR_DB;
    arb_store_iter_free(it);
    return err;
}

typedef struct {
    arb_log_entry_fn fn;
    void *ud;
} public_walk;

static arb_err public_entry(void *ud, uint64_t index, const entry_view *e)
{
    public_walk *w = ud;

    return w->fn(w->ud, index, e->leaf, e->leaf_len, e->extra, e->extra_len);
}

arb_err arb_log_get_entries(arb_log *l, uint64_t first, uint64_t last, arb_log_entry_fn fn,
                            void *ud)
{
    public_walk w = {fn, ud};

    return walk_entries(l, first, last, public_entry, &w);
}

arb_err arb_log_find_leaf(arb_log *l, const arb_hash *leaf_hash, uint64_t *index)
{
    uint8_t v[8];
    size_t len = 0;
    arb_err err;

    *index = 0;
    err = arb_store_get_into(l->store, NULL, l->cf[CF_LEAFHASH], leaf_hash->b, 32, v, 8, &len, NULL);
    if (err != ARB_OK)
        return err;
    if (len != 8)
        return ARB_ERR_PARSE;
    *index = rd64(v);
    if (*index >= published_size(l))
        return ARB_ERR_NOT_FOUND; /* written but not yet published */
    return ARB_OK;
}

/* Readers need their own hash engine (an engine is single-threaded). */
static arb_err with_sha(arb_sha256 **sha)
{
    return arb_sha256_new(sha);
}

arb_err arb_log_inclusion(arb_log *l, uint64_t m, uint64_t n, arb_hash **path, size_t *len)
{
    arb_sha256 *sha = NULL;
    arb_err err;

    *path = NULL;
    *len = 0;
    if (n > published_size(l) || m >= n)
        return ARB_ERR_INVALID_ARG;
    if ((err = with_sha(&sha)) != ARB_OK)
        return err;
    err = log_inclusion_proof(sha, node_get, l, m, n, path, len);
    arb_sha256_free(sha);
    return err;
}

arb_err arb_log_consistency(arb_log *l, uint64_t m, uint64_t n, arb_hash **path, size_t *len)
{
    arb_sha256 *sha = NULL;
    arb_err err;

    *path = NULL;
    *len = 0;
    if (n > published_size(l) || m > n)
        return ARB_ERR_INVALID_ARG;
    if ((err = with_sha(&sha)) != ARB_OK)
        return err;
    err = log_consistency_proof(sha, node_get, l, m, n, path, len);
    arb_sha256_free(sha);
    return err;
}

arb_err arb_log_root_at(arb_log *l, uint64_t n, arb_hash *out)
{
    arb_sha256 *sha = NULL;
    arb_err err;

    if (n > published_size(l))
        return ARB_ERR_INVALID_ARG;
    if ((err = with_sha(&sha)) != ARB_OK)
        return err;
    err = log_tree_root(sha, node_get, l, n, out);
    arb_sha256_free(sha);
    return err;
}

/* Number of entries a tile (level, n) may hold in the published tree. */
static arb_err tile_check(arb_log *l, unsigned level, uint64_t n, unsigned width, uint64_t *first,
                          unsigned *count)
{
    uint64_t size = published_size(l), avail;

    if (width > 255 || level > 7 || n > (UINT64_MAX >> 8))
        return ARB_ERR_INVALID_ARG;
    avail = 8 * level >= 64 ? 0 : size >> (8 * level); /* complete nodes at that tree level */
    *first = n * 256;
    *count = width == 0 ? 256 : width;
    if (avail < *first || avail - *first < *count)
        return ARB_ERR_NOT_FOUND;
    return ARB_OK;
}

arb_err arb_log_tile(arb_log *l, unsigned level, uint64_t n, unsigned width, uint8_t **out,
                     size_t *len)
{
    uint64_t first;
    unsigned count, i = 0;
    uint8_t lo[LOG_NODE_KEY_SIZE], hi[LOG_NODE_KEY_SIZE];
    arb_store_iter *it = NULL;
    arb_err err;

    *out = NULL;
    *len = 0;
    if ((err = tile_check(l, level, n, width, &first, &count)) != ARB_OK)
        return err;
    if ((*out = malloc((size_t)count * 32)) == NULL)
        return ARB_ERR_NOMEM;
    /* The tile's nodes are consecutive keys: one iterator (read-ahead)
     * instead of a lookup per node. */
    log_node_key(lo, 8 * level, first);
    log_node_key(hi, 8 * level, first + count);
    if ((err = arb_store_iter_new(&it, l->store, NULL, l->cf[CF_NODES], lo, sizeof lo, hi,
                                  sizeof hi, NULL)) == ARB_OK) {
        for (arb_store_iter_first(it); i < count && arb_store_iter_valid(it);
             arb_store_iter_next(it), i++) {
            size_t kl = 0, vl = 0;
            const uint8_t *k = arb_store_iter_key(it, &kl), *v = arb_store_iter_value(it, &vl);
            if (kl != LOG_NODE_KEY_SIZE || rd64(k + 1) != first + i || vl != 32) {
                err = ARB_ERR_DB; /* a gap or a bad node: complete nodes are all stored */
                break;
            }
            memcpy(*out + 32 * (size_t)i, v, 32);
        }
        if (err == ARB_OK && (err = arb_store_iter_error(it, NULL)) == ARB_OK && i != count)
            err = ARB_ERR_DB;
        arb_store_iter_free(it);
    }
    if (err != ARB_OK) {
        free(*out);
        *out = NULL;
        return err;
    }
    *len = (size_t)count * 32;
    return ARB_OK;
}

/* Appends the TileLeaf of one stored entry (a range walk's callback). */
typedef struct {
    arb_sha256 *sha;
    arb_buf *out;
} tile_ctx;

static arb_err tile_leaf(void *ud, uint64_t index, const entry_view *e)
{
    tile_ctx *x = ud;
    arb_ct_tile_leaf t;
    arb_ct_cert_list chain;
    uint8_t *fps = NULL;
    size_t first = 0, k;
    arb_err err;

    (void)index;
    memset(&chain, 0, sizeof(chain));
    memset(&t, 0, sizeof(t));
    if ((err = arb_ct_leaf_decode(&t.leaf, e->leaf, e->leaf_len)) != ARB_OK)
        goto out;
    if (t.leaf.entry.entry_type == ARB_CT_ENTRY_PRECERT) {
        err = arb_ct_precert_chain_decode(&chain, e->extra, e->extra_len);
        first = 1;
    } else {
        err = arb_ct_x509_chain_decode(&chain, e->extra, e->extra_len);
    }
    if (err != ARB_OK)
        goto out;
    if (first) {
        t.precert = chain.certs[0].der;
        t.precert_len = chain.certs[0].len;
    }
    t.n_fingerprints = chain.n - first;
    if (e->has_fps) {
        /* Stored when the entry was sequenced: one per chain certificate. */
        if (e->n_fps != t.n_fingerprints) {
            err = ARB_ERR_PARSE;
            goto out;
        }
        t.fingerprints = e->fps;
    } else {
        /* An entry stored before fingerprints were: hash its chain. */
        if ((fps = malloc(32 * (chain.n - first) + 1)) == NULL) {
            err = ARB_ERR_NOMEM;
            goto out;
        }
        for (k = first; k < chain.n; k++)
            arb_sha256_digest(x->sha, fps + 32 * (k - first), chain.certs[k].der,
                              chain.certs[k].len);
        t.fingerprints = fps;
    }
    err = arb_ct_tile_leaf_encode(x->out, &t);
out:
    free(fps);
    arb_ct_cert_list_free(&chain);
    return err;
}

void arb_log_tile_ref_release(arb_log_tile_ref *t)
{
    if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

const uint8_t *arb_log_tile_ref_data(const arb_log_tile_ref *t, size_t *len)
{
    *len = t->len;
    return t->data;
}

/* Full data tile n from the cache (a new reference), or NULL. */
static arb_log_tile_ref *tile_cache_get(arb_log *l, uint64_t n)
{
    arb_log_tile_ref *t = NULL;

    pthread_mutex_lock(&l->tile_mu);
    for (size_t i = 0; i < TILE_CACHE_SLOTS; i++) {
        if (l->tiles[i].tile != NULL && l->tiles[i].index == n) {
            l->tiles[i].used = ++l->tile_clock;
            t = l->tiles[i].tile;
            atomic_fetch_add(&t->refs, 1);
            break;
        }
    }
    pthread_mutex_unlock(&l->tile_mu);
    return t;
}

/* Keeps full data tile n (takes a reference), evicting the least recently
 * used tiles to stay within the budget. A tile larger than the budget, or
 * one another reader cached meanwhile, is not kept. */
static void tile_cache_put(arb_log *l, uint64_t n, arb_log_tile_ref *t)
{
    size_t i, free_slot;

    if (t->len > l->tile_budget)
        return;
    pthread_mutex_lock(&l->tile_mu);
    for (i = 0; i < TILE_CACHE_SLOTS; i++)
        if (l->tiles[i].tile != NULL && l->tiles[i].index == n)
            break;
    if (i < TILE_CACHE_SLOTS) {
        pthread_mutex_unlock(&l->tile_mu);
        return;
    }
    for (;;) {
        size_t lru = TILE_CACHE_SLOTS;
        free_slot = TILE_CACHE_SLOTS;
        for (i = 0; i < TILE_CACHE_SLOTS; i++) {
            if (l->tiles[i].tile == NULL)
                free_slot = free_slot < TILE_CACHE_SLOTS ? free_slot : i;
            else if (lru == TILE_CACHE_SLOTS || l->tiles[i].used < l->tiles[lru].used)
                lru = i;
        }
        if (free_slot < TILE_CACHE_SLOTS && l->tile_bytes + t->len <= l->tile_budget)
            break;
        /* lru exists: every slot is taken, or the budget (which holds t) is not */
        l->tile_bytes -= l->tiles[lru].tile->len;
        arb_log_tile_ref_release(l->tiles[lru].tile);
        memset(&l->tiles[lru], 0, sizeof(l->tiles[lru]));
    }
    atomic_fetch_add(&t->refs, 1);
    l->tiles[free_slot].index = n;
    l->tiles[free_slot].tile = t;
    l->tiles[free_slot].used = ++l->tile_clock;
    l->tile_bytes += t->len;
    pthread_mutex_unlock(&l->tile_mu);
}

arb_err arb_log_data_tile_cached(arb_log *l, uint64_t n, arb_log_tile_ref **out)
{
    /* Only published full tiles are ever cached, and the tree only grows. */
    *out = tile_cache_get(l, n);
    return *out != NULL ? ARB_OK : ARB_ERR_NOT_FOUND;
}

arb_err arb_log_data_tile_ref(arb_log *l, uint64_t n, unsigned width, arb_log_tile_ref **out)
{
    uint64_t first;
    unsigned count;
    arb_buf b = ARB_BUF_INIT;
    tile_ctx x = {NULL, &b};
    arb_log_tile_ref *t;
    arb_err err;

    *out = NULL;
    if ((err = tile_check(l, 0, n, width, &first, &count)) != ARB_OK)
        return err;
    /* A full tile is immutable once published: served from memory when it
     * was built before. Partial tiles are built on every request. */
    if (count == 256 && (*out = tile_cache_get(l, n)) != NULL)
        return ARB_OK;
    if ((err = with_sha(&x.sha)) != ARB_OK)
        return err;
    /* The reference's header in front of the encoded tile. */
    if (!arb_buf_reserve(&b, sizeof(*t))) {
        arb_sha256_free(x.sha);
        return ARB_ERR_NOMEM;
    }
    b.len = sizeof(*t);
    err = walk_entries(l, first, first + count - 1, tile_leaf, &x);
    arb_sha256_free(x.sha);
    if (err == ARB_OK && b.oom)
        err = ARB_ERR_NOMEM;
    if (err != ARB_OK) {
        arb_buf_free(&b);
        return err;
    }
    {
        size_t total = 0;
        void *p = arb_buf_take(&b, &total), *fit;
        /* A cached tile keeps no spare capacity of the growing buffer. */
        if (count == 256 && (fit = realloc(p, total)) != NULL)
            p = fit;
        t = p;
        atomic_init(&t->refs, 1);
        t->len = total - sizeof(*t);
    }
    if (count == 256)
        tile_cache_put(l, n, t);
    *out = t;
    return ARB_OK;
}

arb_err arb_log_data_tile(arb_log *l, uint64_t n, unsigned width, uint8_t **out, size_t *len)
{
    arb_log_tile_ref *t = NULL;
    arb_err err;

    *out = NULL;
    *len = 0;
    if ((err = arb_log_data_tile_ref(l, n, width, &t)) != ARB_OK)
        return err;
    if ((*out = malloc(t->len ? t->len : 1)) == NULL) {
        arb_log_tile_ref_release(t);
        return ARB_ERR_NOMEM;
    }
    memcpy(*out, t->data, t->len);
    *len = t->len;
    arb_log_tile_ref_release(t);
    return ARB_OK;
}

arb_err arb_log_issuer(arb_log *l, const uint8_t fp32[static 32], uint8_t **der, size_t *len)
{
    return arb_store_get(l->store, NULL, l->cf[CF_ISSUERS], fp32, 32, der, len, NULL);
}
