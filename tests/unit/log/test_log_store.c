/* The log library on a real RocksDB store, in process: more than two full
 * tiles of entries (so level-1 tiles exist; every seventh a precertificate), duplicates inside one batch,
 * tiles and data tiles rehashed independently, data tiles (full ones served
 * from the log's cache after their first request, partial ones rebuilt)
 * byte-equal to an independent encoding of the stored entries before and
 * after a reopen, with entries stored without their chain fingerprints (as
 * older logs wrote them) and with a cache that holds one tile, reopening with the
 * same key (state reloaded and checked) and with another key (refused). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "ledger/log/chain.h"
#include "ledger/log/key.h"
#include "ledger/log/log.h"
#include "ledger/log/static.h"
#include "ledger/store/store.h"
#include "pki.h"
#include "proofcheck.h"
#include "tests/test.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long answered;

typedef struct {
    arb_err err;
    uint64_t ts;
    uint64_t index;
    uint8_t sig[ARB_CT_SIG_MAX];
    size_t sig_len;
    pthread_t thread; /* the thread that answered */
} answer;

static void on_sct(void *ud, arb_err err, const arb_ct_sct *sct, const char *msg)
{
    answer *a = ud;

    (void)msg;
    a->thread = pthread_self();
    a->err = err;
    if (err == ARB_OK) {
        a->ts = sct->timestamp;
        if (arb_ct_leaf_index_find(&a->index, sct->ext, sct->ext_len) != ARB_OK)
            a->err = ARB_ERR_INTERNAL;
        memcpy(a->sig, sct->sig.sig, sct->sig.sig_len);
        a->sig_len = sct->sig.sig_len;
    }
    pthread_mutex_lock(&mu);
    answered++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static void wait_answers(long n)
{
    pthread_mutex_lock(&mu);
    while (answered < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static arb_err open_log(arb_log **log, arb_store *store, arb_ct_signer *s, unsigned refresh_s,
                        size_t tile_cache_bytes)
{
    static const unsigned cfs[ARB_LOG_CF_COUNT] = {0, 1, 2, 3, 4, 5};
    arb_log_config lc;
    arb_errbuf eb;

    memset(&lc, 0, sizeof(lc));
    lc.store = store;
    lc.cfs = cfs;
    lc.signer = s;
    lc.origin = "unit.example/log";
    lc.batch_ms = 5;
    lc.batch_max = 100;
    lc.sth_refresh_s = refresh_s;
    lc.tile_cache_bytes = tile_cache_bytes;
    return arb_log_open(log, &lc, &eb);
}

static uint32_t u24(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

/* The data tile of entries first..first+count-1 encoded here from the stored
 * entries, independently of the log's encoder (static-ct-api TileLeaf):
 * the MerkleTreeLeaf without its version and leaf type, then (precert) the
 * precertificate, then the SHA-256 of each chain certificate after the leaf
 * (OpenSSL's one-shot SHA256). The entries here are x509 or precert. */
static int expected_data_tile(arb_log *log, uint64_t first, unsigned count, arb_buf *out)
{
    arb_buf_reset(out);
    for (uint64_t i = first; i < first + count; i++) {
        uint8_t *leaf = NULL, *extra = NULL;
        size_t ll = 0, el = 0, at, end;
        int ok;

        if (arb_log_get_entry(log, i, &leaf, &ll, &extra, &el) != ARB_OK || ll < 12)
            return 0;
        ok = 1;
        arb_buf_put(out, leaf + 2, ll - 2);
        at = 0;
        if (leaf[10] == 0 && leaf[11] == 1) { /* precert_entry: pre_certificate first */
            ok = el >= 3 && u24(extra) <= el - 3;
            if (ok) {
                arb_buf_put(out, extra, 3 + u24(extra));
                at = 3 + u24(extra);
            }
        }
        ok = ok && el - at >= 3 && u24(extra + at) == el - at - 3;
        if (ok) {
            uint8_t fps[32 * 16];
            size_t n = 0;
            for (at += 3, end = el; ok && at < end; n++) {
                size_t cl = end - at >= 3 ? u24(extra + at) : SIZE_MAX;
                ok = n < 16 && cl <= end - at - 3;
                if (ok)
                    SHA256(extra + at + 3, cl, fps + 32 * n);
                at += 3 + (ok ? cl : 0);
            }
            arb_buf_u16be(out, (uint16_t)(32 * n));
            arb_buf_put(out, fps, 32 * n);
        }
        free(leaf);
        free(extra);
        if (!ok)
            return 0;
    }
    return !out->oom;
}

/* Every data tile the tree of size N has (full 000 and 001, partial
 * 002.p/88), and a few narrower partial ones, twice each (the second request
 * of a full tile comes from the cache), byte for byte against
 * expected_data_tile; widths the tree does not have yet are not found. */
static void check_data_tiles(arb_log *log, size_t n)
{
    static const struct {
        uint64_t index;
        unsigned width;
    } tiles[] = {{0, 0}, {1, 0}, {2, 88}, {0, 1}, {1, 5}, {2, 1}, {0, 0}, {1, 0}, {2, 88}, {1, 255}};
    arb_buf want = ARB_BUF_INIT;

    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < sizeof(tiles) / sizeof(tiles[0]); k++) {
            uint8_t *tile = NULL;
            size_t len = 0;
            unsigned count = tiles[k].width ? tiles[k].width : 256;
            CHECK(256 * tiles[k].index + count <= n);
            CHECK(expected_data_tile(log, 256 * tiles[k].index, count, &want));
            CHECK(arb_log_data_tile(log, tiles[k].index, tiles[k].width, &tile, &len) == ARB_OK);
            if (len != want.len || memcmp(tile, want.data, len) != 0)
                arb_test_fail(__FILE__, __LINE__, "data tile %llu width %u differs (round %d)",
                              (unsigned long long)tiles[k].index, tiles[k].width, round);
            free(tile);
        }
    }
    {
        uint8_t *tile = NULL;
        size_t len = 0;
        CHECK(arb_log_data_tile(log, 2, 0, &tile, &len) == ARB_ERR_NOT_FOUND && tile == NULL);
        CHECK(arb_log_data_tile(log, 2, (unsigned)(n - 512 + 1), &tile, &len) == ARB_ERR_NOT_FOUND);
        CHECK(arb_log_data_tile(log, 3, 1, &tile, &len) == ARB_ERR_NOT_FOUND);
    }
    arb_buf_free(&want);
}

#define N 600
#define DUP_EVERY 50

/* Rewrites entries first..last as a log stored them before it kept their
 * chain fingerprints: the record without its trailing fingerprints field.
 * Checks first that the record has that field, with two fingerprints
 * (intermediate, root). Returns 1 on success. */
static int strip_fingerprints(arb_store *store, uint64_t first, uint64_t last)
{
    arb_store_batch *b = NULL;
    arb_errbuf eb;
    int ok = arb_store_batch_new(&b, store) == ARB_OK;

    for (uint64_t i = first; ok && i <= last; i++) {
        uint8_t key[8], *v = NULL;
        size_t vl = 0, at;
        for (int k = 0; k < 8; k++)
            key[k] = (uint8_t)(i >> (56 - 8 * k));
        ok = arb_store_get(store, NULL, 1, key, 8, &v, &vl, NULL) == ARB_OK && vl >= 4;
        at = ok ? 4 + ((size_t)v[0] << 24 | (size_t)v[1] << 16 | (size_t)v[2] << 8 | v[3]) : 0;
        ok = ok && vl >= at + 4;
        at = ok ? at + 4 + ((size_t)v[at] << 24 | (size_t)v[at + 1] << 16 |
                            (size_t)v[at + 2] << 8 | v[at + 3])
                : 0;
        ok = ok && vl >= at + 2;
        at = ok ? at + 2 + ((size_t)v[at] << 8 | v[at + 1]) : 0;
        ok = ok && vl == at + 2 + 64 && v[at] == 0 && v[at + 1] == 64;
        if (ok)
            arb_store_batch_put(b, 1, key, 8, v, at);
        free(v);
    }
    ok = ok && arb_store_write(store, b, ARB_STORE_SYNC, &eb) == ARB_OK;
    arb_store_batch_free(b);
    return ok;
}

/* A cache of 1 byte keeps nothing; one of 1.5 tiles holds one full tile, so
 * serving 000 and 001 in turn evicts each time. */
static void check_small_cache(arb_store *store, arb_ct_signer *s)
{
    arb_log *log = NULL;
    uint8_t *tile = NULL;
    size_t len = 0;
    arb_buf want = ARB_BUF_INIT;

    CHECK(open_log(&log, store, s, 0, 1) == ARB_OK);
    CHECK(arb_log_data_tile(log, 0, 0, &tile, &len) == ARB_OK); /* larger than the cache */
    free(tile);
    check_data_tiles(log, N);
    arb_log_close(log);
    log = NULL;
    CHECK(open_log(&log, store, s, 0, len + len / 2) == ARB_OK);
    check_data_tiles(log, N);
    if (expected_data_tile(log, 0, 256, &want)) {
        for (int k = 0; k < 6; k++) {
            if (arb_log_data_tile(log, (uint64_t)(k & 1), 0, &tile, &len) != ARB_OK) {
                arb_test_fail(__FILE__, __LINE__, "data tile %d", k & 1);
                break;
            }
            if (k % 2 == 0 && (len != want.len || memcmp(tile, want.data, len) != 0))
                arb_test_fail(__FILE__, __LINE__, "data tile 000 differs after eviction");
            free(tile);
        }
    } else {
        arb_test_fail(__FILE__, __LINE__, "cannot encode data tile 000");
    }
    /* A reference outlives the tile's eviction from the cache and the log. */
    {
        arb_log_tile_ref *ref = NULL;
        const uint8_t *d;
        size_t dl = 0;
        CHECK(arb_log_data_tile_ref(log, 0, 0, &ref) == ARB_OK);
        CHECK(arb_log_data_tile(log, 1, 0, &tile, &len) == ARB_OK); /* evicts 000 */
        free(tile);
        arb_log_close(log);
        log = NULL;
        d = arb_log_tile_ref_data(ref, &dl);
        if (dl != want.len || memcmp(d, want.data, dl) != 0)
            arb_test_fail(__FILE__, __LINE__, "a held data tile changed");
        arb_log_tile_ref_release(ref);
        arb_log_tile_ref_release(NULL);
    }
    arb_buf_free(&want);
    arb_log_close(log);
}


/* Batches of one entry with group commit (no pool window), each certificate
 * submitted twice in a row: the second copy lands in the batch after the
 * first, which is usually still being synced while the second is prepared
 * (the in-flight deduplication) and sometimes already durable (the stored
 * index). Either way every copy gets the first one's SCT and the tree holds
 * each certificate once. */
#define PIPE_N 40
#define PIPE_THREADS 4

typedef struct {
    arb_log *log;
    const arb_ct_roots *roots;
    arb_ct_cert_ref (*refs)[2];
    answer *ans; /* PIPE_N answers of this thread */
    size_t first; /* where this thread starts in the list */
} pipe_arg;

/* Submits every certificate once, from `first` on, wrapping around. */
static void *pipe_submitter(void *arg)
{
    pipe_arg *pa = arg;
    arb_errbuf eb;

    for (size_t k = 0; k < PIPE_N; k++) {
        size_t i = (pa->first + k) % PIPE_N;
        arb_ct_chain *c = NULL;
        if (arb_ct_chain_validate(&c, pa->roots, NULL, 0, pa->refs[i], 2, &eb) != ARB_OK) {
            pa->ans[i].err = ARB_ERR_INTERNAL;
            pthread_mutex_lock(&mu);
            answered++;
            pthread_cond_signal(&cv);
            pthread_mutex_unlock(&mu);
            continue;
        }
        arb_log_submit(pa->log, c, on_sct, &pa->ans[i]);
    }
    return NULL;
}

/* A log on a fresh store in a new temporary directory (dir, dir_cap), with
 * the column families cfs, signer s, origin, no pool window, and the rest of
 * lc as given (lc's store, cfs, signer, origin and batch_ms are set here). */
static int open_fresh_log(char *dir, size_t dir_cap, arb_store **store, arb_log **log,
                          arb_log_config *lc, const unsigned *cfs, arb_ct_signer *s,
                          const char *origin)
{
    arb_errbuf eb;

    lc->cfs = cfs;
    lc->signer = s;
    lc->origin = origin;
    lc->batch_ms = 0;
    if (arb_test_tmpdir(dir, dir_cap) != 0 ||
        arb_store_open(store, dir, arb_log_cf_names, ARB_LOG_CF_COUNT, NULL, &eb) != ARB_OK)
        return 0;
    lc->store = *store;
    return arb_log_open(log, lc, &eb) == ARB_OK;
}

/* With submit_inline (as arbord runs the log): a submission on the idle log
 * is sequenced, written and answered on the submitting thread; submissions
 * from PIPE_THREADS threads at once, every certificate from each, mix that
 * with the queue (a queued batch prepared while an inline one syncs, and the
 * reverse). Every copy gets one SCT, the tree holds each certificate once,
 * and it survives a reopen. */
static void check_inline_submitters(const arb_ct_roots *roots, arb_ct_signer *s, EVP_PKEY *kl,
                                    X509 *im, EVP_PKEY *ki, const uint8_t *id, size_t il)
{
    static const unsigned cfs[ARB_LOG_CF_COUNT] = {0, 1, 2, 3, 4, 5};
    static answer ans[PIPE_THREADS][PIPE_N], lone;
    static arb_ct_cert_ref refs[PIPE_N][2];
    int64_t t = (int64_t)time(NULL);
    arb_store *store = NULL;
    arb_log *log = NULL;
    arb_log_config lc;
    arb_log_sth sth, again;
    arb_errbuf eb;
    pthread_t th[PIPE_THREADS];
    pipe_arg pa[PIPE_THREADS];
    char dir[512];
    long base;
    size_t i;

    memset(&lc, 0, sizeof(lc));
    lc.submit_inline = 1;
    CHECK_OR(open_fresh_log(dir, sizeof(dir), &store, &log, &lc, cfs, s, "unit.example/inline"), );
    for (i = 0; i < PIPE_N; i++) {
        pki_spec sl = {"inline.example.test", NULL, 7000 + (long)i, t - 86400, t + 86400 * 90, 0};
        X509 *l = pki_cert(&sl, kl, im, ki);
        size_t ll;
        refs[i][0].der = pki_der(l, &ll);
        refs[i][0].len = ll;
        refs[i][1].der = id;
        refs[i][1].len = il;
        X509_free(l);
        CHECK_OR(refs[i][0].der != NULL, );
    }
    pthread_mutex_lock(&mu);
    base = answered;
    pthread_mutex_unlock(&mu);

    /* Alone on the idle log: answered before arb_log_submit returns, on this
     * thread. */
    {
        arb_ct_chain *c = NULL;
        CHECK_OR(arb_ct_chain_validate(&c, roots, NULL, 0, refs[0], 2, &eb) == ARB_OK, );
        memset(&lone, 0, sizeof(lone));
        lone.err = ARB_ERR_INTERNAL;
        arb_log_submit(log, c, on_sct, &lone);
        pthread_mutex_lock(&mu);
        CHECK_EQ(answered, base + 1);
        pthread_mutex_unlock(&mu);
        CHECK(lone.err == ARB_OK && lone.index == 0);
        CHECK(pthread_equal(lone.thread, pthread_self()));
    }

    for (int k = 0; k < PIPE_THREADS; k++) {
        pa[k] = (pipe_arg){log, roots, refs, ans[k], (size_t)k * PIPE_N / PIPE_THREADS};
        CHECK_OR(pthread_create(&th[k], NULL, pipe_submitter, &pa[k]) == 0, );
    }
    for (int k = 0; k < PIPE_THREADS; k++)
        pthread_join(th[k], NULL);
    wait_answers(base + 1 + PIPE_THREADS * PIPE_N);
    for (i = 0; i < PIPE_N; i++) {
        const answer *a = &ans[0][i];
        CHECK(a->err == ARB_OK && a->index < PIPE_N);
        for (int k = 1; k < PIPE_THREADS; k++) {
            const answer *b = &ans[k][i];
            CHECK(b->err == ARB_OK);
            CHECK(a->ts == b->ts && a->index == b->index && a->sig_len == b->sig_len &&
                  memcmp(a->sig, b->sig, a->sig_len) == 0);
        }
        for (size_t j = 0; j < i; j++)
            CHECK(ans[0][j].index != a->index);
    }
    CHECK(ans[0][0].index == lone.index && ans[0][0].ts == lone.ts);
    {
        int on_submitter = 0;
        for (int k = 0; k < PIPE_THREADS; k++)
            for (i = 0; i < PIPE_N; i++)
                on_submitter += pthread_equal(ans[k][i].thread, th[k]) != 0;
        printf("concurrent submitters: %d of %d answered on the submitting thread\n",
               on_submitter, PIPE_THREADS * PIPE_N);
    }
    arb_log_get_sth(log, &sth);
    CHECK_EQ(sth.tree_size, PIPE_N);

    /* Durable: the same tree after a reopen. */
    arb_log_close(log);
    log = NULL;
    arb_store_close(store);
    store = NULL;
    CHECK_OR(arb_store_open(&store, dir, arb_log_cf_names, ARB_LOG_CF_COUNT, NULL, &eb) == ARB_OK, );
    lc.store = store;
    CHECK_OR(arb_log_open(&log, &lc, &eb) == ARB_OK, );
    arb_log_get_sth(log, &again);
    CHECK_EQ(again.tree_size, PIPE_N);
    CHECK_MEM(again.root, sth.root, 32);
    arb_log_close(log);
    arb_store_close(store);
    arb_test_rmtree(dir);
    for (i = 0; i < PIPE_N; i++)
        free((void *)refs[i][0].der);
}

static void check_pipelined_duplicates(const arb_ct_roots *roots, arb_ct_signer *s, EVP_PKEY *kl,
                                       X509 *im, EVP_PKEY *ki, const uint8_t *id, size_t il)
{
    static const unsigned cfs[ARB_LOG_CF_COUNT] = {0, 1, 2, 3, 4, 5};
    static answer ans[2 * PIPE_N];
    int64_t t = (int64_t)time(NULL);
    arb_store *store = NULL;
    arb_log *log = NULL;
    arb_log_config lc;
    arb_log_sth sth;
    arb_errbuf eb;
    char dir[512];
    long base;
    size_t i;

    memset(&lc, 0, sizeof(lc));
    lc.batch_max = 1;
    CHECK_OR(open_fresh_log(dir, sizeof(dir), &store, &log, &lc, cfs, s, "unit.example/pipe"), );
    pthread_mutex_lock(&mu);
    base = answered;
    pthread_mutex_unlock(&mu);
    for (i = 0; i < PIPE_N; i++) {
        pki_spec sl = {"pipe.example.test", NULL, 5000 + (long)i, t - 86400, t + 86400 * 90, 0};
        X509 *l = pki_cert(&sl, kl, im, ki);
        size_t ll;
        uint8_t *ld = pki_der(l, &ll);
        arb_ct_cert_ref refs[2] = {{ld, ll}, {id, il}};
        for (int k = 0; k < 2; k++) {
            arb_ct_chain *c = NULL;
            CHECK_OR(arb_ct_chain_validate(&c, roots, NULL, 0, refs, 2, &eb) == ARB_OK, );
            arb_log_submit(log, c, on_sct, &ans[2 * i + (size_t)k]);
        }
        free(ld);
        X509_free(l);
    }
    wait_answers(base + 2 * PIPE_N);
    for (i = 0; i < PIPE_N; i++) {
        const answer *a = &ans[2 * i], *b = &ans[2 * i + 1];
        CHECK(a->err == ARB_OK && b->err == ARB_OK);
        CHECK(a->ts == b->ts && a->index == b->index && a->sig_len == b->sig_len &&
              memcmp(a->sig, b->sig, a->sig_len) == 0);
        CHECK(a->index < PIPE_N);
    }
    arb_log_get_sth(log, &sth);
    CHECK(sth.tree_size == PIPE_N);
    arb_log_close(log);
    arb_store_close(store);
    arb_test_rmtree(dir);
}

int main(void)
{
    int64_t t = (int64_t)time(NULL);
    EVP_PKEY *kr = pki_key(), *ki = pki_key(), *kl = pki_key();
    pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
    X509 *r = pki_cert(&sr, kr, NULL, NULL), *im = pki_cert(&si, ki, r, kr);
    size_t il, pem_len, i, n_dup = 0, n_pre = 0;
    uint8_t *id = pki_der(im, &il);
    char *pem = pki_pem(r, &pem_len), dir[512];
    arb_ct_roots *roots = NULL;
    arb_ct_signer *s = NULL, *s2 = NULL;
    arb_store *store = NULL;
    arb_log *log = NULL;
    static answer ans[N + N / DUP_EVERY];
    static arb_hash leaves[N];
    arb_sha256 *sha = NULL;
    arb_log_sth sth;
    arb_errbuf eb;
    arb_hash root;

    if (!pem || !id || arb_ct_roots_from_pem(&roots, pem, pem_len, &eb) != ARB_OK ||
        arb_ct_signer_generate(&s, &eb) != ARB_OK || arb_ct_signer_generate(&s2, &eb) != ARB_OK ||
        arb_sha256_new(&sha) != ARB_OK || arb_test_tmpdir(dir, sizeof(dir)) != 0 ||
        arb_store_open(&store, dir, arb_log_cf_names, ARB_LOG_CF_COUNT, NULL, &eb) != ARB_OK ||
        open_log(&log, store, s, 0, 0) != ARB_OK) {
        arb_test_fail(__FILE__, __LINE__, "setup failed");
        return arb_test_done();
    }
    arb_log_get_sth(log, &sth);
    if (sth.tree_size != 0)
        arb_test_fail(__FILE__, __LINE__, "new log not empty");

    /* N distinct certificates, each DUP_EVERY-th submitted twice in a row. */
    for (i = 0; i < N; i++) {
        int pre = i % 7 == 3; /* some precertificates (add-pre-chain) */
        pki_spec sl = {"leaf.example.test", NULL, 1000 + (long)i, t - 86400, t + 86400 * 90,
                       pre ? PKI_POISON : 0};
        X509 *l = pki_cert(&sl, kl, im, ki);
        size_t ll;
        uint8_t *ld = pki_der(l, &ll);
        arb_ct_cert_ref refs[2] = {{ld, ll}, {id, il}};
        arb_ct_chain *c = NULL, *c2 = NULL;
        if (arb_ct_chain_validate(&c, roots, NULL, pre, refs, 2, &eb) != ARB_OK) {
            arb_test_fail(__FILE__, __LINE__, "validate: %s", eb.msg);
            return arb_test_done();
        }
        arb_log_submit(log, c, on_sct, &ans[i]);
        if (i % DUP_EVERY == 0 && arb_ct_chain_validate(&c2, roots, NULL, pre, refs, 2, &eb) == ARB_OK)
            arb_log_submit(log, c2, on_sct, &ans[N + n_dup++]);
        free(ld);
        X509_free(l);
    }
    wait_answers((long)(N + n_dup));
    for (i = 0; i < N + n_dup; i++)
        if (ans[i].err != ARB_OK)
            arb_test_fail(__FILE__, __LINE__, "submission %zu failed", i);
    /* Each duplicate got the original's SCT. */
    for (i = 0; i < n_dup; i++) {
        const answer *a = &ans[N + i], *o = &ans[i * DUP_EVERY];
        if (a->ts != o->ts || a->index != o->index || a->sig_len != o->sig_len ||
            memcmp(a->sig, o->sig, a->sig_len) != 0)
            arb_test_fail(__FILE__, __LINE__, "duplicate %zu got another SCT", i);
    }
    arb_log_get_sth(log, &sth);
    CHECK_OR(sth.tree_size == N, arb_test_done());

    /* Level-0 data: leaf hashes from the stored entries, and the root. */
    for (i = 0; i < N; i++) {
        uint8_t *leaf = NULL, *extra = NULL;
        size_t ll, el;
        CHECK_OR(arb_log_get_entry(log, i, &leaf, &ll, &extra, &el) == ARB_OK && ll > 12,
                 arb_test_done());
        n_pre += leaf[10] == 0 && leaf[11] == 1; /* entry_type precert_entry */
        arb_merkle_leaf_hash(sha, &leaves[i], leaf, ll);
        free(leaf);
        free(extra);
    }
    CHECK_OR(n_pre == (N + 3) / 7, arb_test_done());
    pc_mth(sha, leaves, N, &root);
    CHECK_OR(memcmp(root.b, sth.root, 32) == 0, arb_test_done());

    /* Tiles: level 0 full 000, 001 and partial 002.p/88; level 1 partial
     * 000.p/2 holding the roots of the first two full level-0 tiles. */
    {
        uint8_t *tile = NULL;
        size_t len;
        unsigned k;
        arb_hash sub;
        CHECK_OR(arb_log_tile(log, 0, 1, 0, &tile, &len) == ARB_OK && len == 256 * 32,
                 arb_test_done());
        for (k = 0; k < 256; k++)
            CHECK_OR(memcmp(tile + 32 * k, leaves[256 + k].b, 32) == 0, arb_test_done());
        free(tile);
        CHECK_OR(arb_log_tile(log, 0, 2, 88, &tile, &len) == ARB_OK && len == 88 * 32,
                 arb_test_done());
        CHECK_OR(memcmp(tile + 87 * 32, leaves[599].b, 32) == 0, arb_test_done());
        free(tile);
        CHECK_OR(arb_log_tile(log, 0, 2, 0, &tile, &len) == ARB_ERR_NOT_FOUND, arb_test_done());
        CHECK_OR(arb_log_tile(log, 0, 2, 89, &tile, &len) == ARB_ERR_NOT_FOUND, arb_test_done());
        CHECK_OR(arb_log_tile(log, 1, 0, 2, &tile, &len) == ARB_OK && len == 64, arb_test_done());
        pc_mth(sha, leaves, 256, &sub);
        CHECK_OR(memcmp(tile, sub.b, 32) == 0, arb_test_done());
        pc_mth(sha, leaves + 256, 256, &sub);
        CHECK_OR(memcmp(tile + 32, sub.b, 32) == 0, arb_test_done());
        free(tile);
        CHECK_OR(arb_log_tile(log, 1, 0, 3, &tile, &len) == ARB_ERR_NOT_FOUND, arb_test_done());
        /* Data tile 001: 256 TileLeafs hashing to level-0 tile 001. */
        CHECK_OR(arb_log_data_tile(log, 1, 0, &tile, &len) == ARB_OK, arb_test_done());
        {
            arb_cur c = arb_cur_make(tile, len);
            for (k = 0; k < 256; k++) {
                arb_ct_tile_leaf tl;
                arb_hash h;
                uint64_t idx;
                CHECK_OR(arb_ct_tile_leaf_read(&tl, &c) == ARB_OK, arb_test_done());
                CHECK_OR(arb_ct_tile_leaf_hash(sha, &h, &tl) == ARB_OK &&
                             arb_hash_eq(&h, &leaves[256 + k]),
                         arb_test_done());
                CHECK_OR(arb_ct_leaf_index_find(&idx, tl.leaf.ext, tl.leaf.ext_len) == ARB_OK &&
                             idx == 256 + k,
                         arb_test_done());
                CHECK_OR(tl.n_fingerprints == 2, arb_test_done()); /* intermediate, root */
            }
            CHECK_OR(c.len == 0, arb_test_done());
        }
        free(tile);
    }
    check_data_tiles(log, N);
    /* Proofs against the independent verifiers. */
    for (i = 0; i < N; i += 37) {
        arb_hash *p = NULL, r2;
        size_t pl;
        uint64_t m = 1 + (uint64_t)i;
        CHECK_OR(arb_log_inclusion(log, i, N, &p, &pl) == ARB_OK, arb_test_done());
        CHECK_OR(pc_verify_inclusion(sha, i, N, &leaves[i], p, pl, &root), arb_test_done());
        free(p);
        CHECK_OR(arb_log_consistency(log, m, N, &p, &pl) == ARB_OK, arb_test_done());
        pc_mth(sha, leaves, m, &r2);
        CHECK_OR(pc_verify_consistency(sha, m, N, &r2, &root, p, pl), arb_test_done());
        free(p);
        CHECK_OR(arb_log_root_at(log, m, &root) == ARB_OK && arb_hash_eq(&root, &r2), arb_test_done());
        pc_mth(sha, leaves, N, &root);
    }
    CHECK_OR(arb_log_inclusion(log, 0, N + 1, &(arb_hash *){NULL}, &(size_t){0}) ==
                 ARB_ERR_INVALID_ARG,
             arb_test_done());

    /* Reopen: same tree; another key is refused. */
    arb_log_close(log);
    log = NULL;
    CHECK_OR(open_log(&log, store, s2, 0, 0) == ARB_ERR_PARSE && log == NULL, arb_test_done());
    /* Entries of a store written before fingerprints were kept: all of
     * tile 000 and part of the partial tile 002 (their fingerprints are
     * computed when a tile is built). After a reopen (an empty cache) every
     * data tile has the same bytes; then with a cache too small for two full
     * tiles, so serving 000 and 001 in turn evicts. */
    CHECK_OR(strip_fingerprints(store, 0, 255) && strip_fingerprints(store, 520, 560),
             arb_test_done());
    CHECK_OR(open_log(&log, store, s, 0, 0) == ARB_OK, arb_test_done());
    check_data_tiles(log, N);
    arb_log_close(log);
    log = NULL;
    check_small_cache(store, s);
    CHECK_OR(open_log(&log, store, s, 1, 0) == ARB_OK, arb_test_done());
    {
        arb_log_sth again, fresh;
        arb_ct_verifier *v = NULL;
        arb_ct_dsig d;
        char *pub = NULL;
        size_t pub_len;
        uint8_t *cp = NULL;
        size_t cp_len;
        uint64_t cs, cts;
        uint8_t croot[32];

        arb_log_get_sth(log, &again);
        CHECK_OR(again.tree_size == N && memcmp(again.root, sth.root, 32) == 0, arb_test_done());
        /* An idle log re-signs its head every sth_refresh_s (1 s here). */
        usleep(1600 * 1000);
        arb_log_get_sth(log, &fresh);
        CHECK_OR(fresh.timestamp > again.timestamp && fresh.tree_size == N &&
                     memcmp(fresh.root, sth.root, 32) == 0,
                 arb_test_done());
        CHECK_OR(arb_ct_signer_public_pem(s, &pub, &pub_len) == ARB_OK &&
                     arb_ct_verifier_from_pem(&v, pub, pub_len, &eb) == ARB_OK,
                 arb_test_done());
        CHECK_OR(arb_ct_dsig_decode(&d, fresh.sig, fresh.sig_len) == ARB_OK &&
                     arb_ct_sth_verify(v, &d, fresh.timestamp, fresh.tree_size, fresh.root) == ARB_OK,
                 arb_test_done());
        /* The checkpoint carries the head's timestamp. The log keeps
         * re-signing every second, so read head and checkpoint again until no
         * refresh fell between the two reads. */
        for (int tries = 0;; tries++) {
            arb_log_sth h1, h2;
            arb_log_get_sth(log, &h1);
            free(cp);
            cp = NULL;
            CHECK_OR(arb_log_get_checkpoint(log, &cp, &cp_len) == ARB_OK &&
                         arb_ct_checkpoint_verify(v, "unit.example/log", (const char *)cp, cp_len,
                                                  &cs, croot, &cts) == ARB_OK,
                     arb_test_done());
            arb_log_get_sth(log, &h2);
            if (h1.timestamp != h2.timestamp && tries < 20)
                continue;
            CHECK_OR(cs == N && cts == h1.timestamp && h1.timestamp >= fresh.timestamp,
                     arb_test_done());
            break;
        }
        free(cp);
        free(pub);
        arb_ct_verifier_free(v);
    }
    arb_log_close(log);
    check_pipelined_duplicates(roots, s, kl, im, ki, id, il);
    check_inline_submitters(roots, s, kl, im, ki, id, il);
    arb_store_close(store);
    arb_test_rmtree(dir);
    arb_ct_signer_free(s);
    arb_ct_signer_free(s2);
    arb_ct_roots_free(roots);
    arb_sha256_free(sha);
    free(pem);
    free(id);
    X509_free(r);
    X509_free(im);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
    arb_test_passed++;
    return arb_test_done();
}
