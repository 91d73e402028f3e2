/* The log library in process, on a real RocksDB store: arb_log_drain (a
 * pooled batch answered at once, later submissions refused with
 * ARB_ERR_BUSY) and the static-ct-api export (arb_log_export_once): every
 * tile of the published tree written with the bytes the log serves, issuers
 * named by the data tiles, partial versions of a tile removed once it is
 * full, the checkpoint last (an export that fails midway leaves the old
 * checkpoint), and nothing rewritten when the head has not changed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger/log/chain.h"
#include "ledger/log/export.h"
#include "ledger/log/key.h"
#include "ledger/log/log.h"
#include "ledger/store/store.h"
#include "merkle/buf.h"
#include "merkle/tile.h"
#include "pki.h"
#include "tests/test.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long answered, answered_ok, answered_busy;

static void on_sct(void *ud, arb_err err, const arb_ct_sct *sct, const char *msg)
{
    (void)ud;
    (void)sct;
    (void)msg;
    pthread_mutex_lock(&mu);
    answered++;
    answered_ok += err == ARB_OK;
    answered_busy += err == ARB_ERR_BUSY;
    pthread_mutex_unlock(&mu);
}

static long get(long *v)
{
    long x;

    pthread_mutex_lock(&mu);
    x = *v;
    pthread_mutex_unlock(&mu);
    return x;
}

static EVP_PKEY *kr, *ki, *kl;
static X509 *r, *im;
static arb_ct_roots *roots;
static uint8_t *id;
static size_t il;
static int64_t t;

static arb_ct_chain *chain(long serial)
{
    pki_spec sl = {"leaf.example.test", NULL, serial, t - 86400, t + 86400 * 90, 0};
    X509 *l = pki_cert(&sl, kl, im, ki);
    size_t ll = 0;
    uint8_t *ld = l ? pki_der(l, &ll) : NULL;
    arb_ct_cert_ref refs[2] = {{ld, ll}, {id, il}};
    arb_ct_chain *c = NULL;
    arb_errbuf eb;

    if (ld == NULL || arb_ct_chain_validate(&c, roots, NULL, 0, refs, 2, &eb) != ARB_OK)
        c = NULL;
    X509_free(l);
    free(ld);
    return c;
}

static void submit_n(arb_log *log, long first, long n)
{
    for (long i = 0; i < n; i++) {
        arb_ct_chain *c = chain(first + i);
        CHECK_OR(c != NULL, );
        arb_log_submit(log, c, on_sct, NULL);
    }
}

static void wait_size(arb_log *log, uint64_t n)
{
    arb_log_sth sth;

    for (int i = 0; i < 2000; i++) {
        arb_log_get_sth(log, &sth);
        if (sth.tree_size >= n)
            return;
        usleep(5000);
    }
    arb_test_fail(__FILE__, __LINE__, "tree did not reach %llu", (unsigned long long)n);
}

static int file_is(const char *dir, const char *rel, const uint8_t *p, size_t n)
{
    char path[1024];
    size_t len = 0;
    uint8_t *d;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    d = arb_test_read_file(path, &len);
    ok = d != NULL && len == n && memcmp(d, p, n) == 0;
    free(d);
    return ok;
}

static int exists(const char *dir, const char *rel)
{
    char path[1024];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return stat(path, &st) == 0;
}

/* Every tile of the published tree is in dir with the log's bytes. */
static void check_tiles(arb_log *log, const char *dir, uint64_t size)
{
    for (unsigned level = 0; level < 3; level++) {
        uint64_t full;
        unsigned pw;
        arb_tile_count(size, level, &full, &pw);
        for (uint64_t i = 0; i < full + (pw ? 1 : 0); i++) {
            unsigned w = i < full ? ARB_TILE_WIDTH : pw;
            for (int kind = 0; kind < (level == 0 ? 2 : 1); kind++) {
                arb_tile tl = {kind ? ARB_TILE_DATA : ARB_TILE_HASH, level, i, w};
                char p[ARB_TILE_PATH_MAX];
                uint8_t *data = NULL;
                size_t len = 0;
                arb_err err = kind ? arb_log_data_tile(log, i, w == 256 ? 0 : w, &data, &len)
                                   : arb_log_tile(log, level, i, w == 256 ? 0 : w, &data, &len);
                CHECK_EQ(err, ARB_OK);
                CHECK(arb_tile_path(&tl, p, sizeof(p)) == ARB_OK);
                if (!file_is(dir, p, data, len))
                    arb_test_fail(__FILE__, __LINE__, "%s missing or different", p);
                free(data);
            }
        }
    }
}

static void run(void)
{
    pki_spec sr = {"Root", NULL, 1, 0, 0, PKI_CA}, si = {"Intermediate", NULL, 2, 0, 0, PKI_CA};
    static const unsigned cfs[ARB_LOG_CF_COUNT] = {0, 1, 2, 3, 4, 5};
    char dir[512], dbdir[600], exdir[600], rel[128], hex[65];
    arb_ct_signer *s = NULL;
    arb_store *store = NULL;
    arb_log *log = NULL;
    arb_log_export *ex = NULL;
    arb_log_config lc;
    arb_errbuf eb;
    arb_log_sth sth;
    uint8_t *cp = NULL, *cp2 = NULL, fp[32];
    size_t cp_len = 0, cp2_len = 0, pem_len;
    char *pem;

    t = (int64_t)time(NULL);
    sr.not_before = si.not_before = t - 86400;
    sr.not_after = si.not_after = t + 86400 * 365;
    kr = pki_key();
    ki = pki_key();
    kl = pki_key();
    r = pki_cert(&sr, kr, NULL, NULL);
    im = pki_cert(&si, ki, r, kr);
    id = im ? pki_der(im, &il) : NULL;
    pem = r ? pki_pem(r, &pem_len) : NULL;
    if (!id || !pem || arb_ct_roots_from_pem(&roots, pem, pem_len, &eb) != ARB_OK ||
        arb_ct_signer_generate(&s, &eb) != ARB_OK || arb_test_tmpdir(dir, sizeof(dir)) != 0) {
        arb_test_fail(__FILE__, __LINE__, "setup failed");
        return;
    }
    free(pem);
    snprintf(dbdir, sizeof(dbdir), "%s/db", dir);
    snprintf(exdir, sizeof(exdir), "%s/export/log", dir);
    CHECK_OR(arb_store_open(&store, dbdir, arb_log_cf_names, ARB_LOG_CF_COUNT, NULL, &eb) == ARB_OK, );
    memset(&lc, 0, sizeof(lc));
    lc.store = store;
    lc.cfs = cfs;
    lc.signer = s;
    lc.origin = "unit.example/export";
    lc.batch_ms = 25000; /* a long pool window: only the drain sequences early */
    lc.batch_max = 1024;
    CHECK_OR(arb_log_open(&log, &lc, &eb) == ARB_OK, );

    /* Drain: 300 pooled submissions are answered at once. */
    submit_n(log, 1000, 300);
    arb_log_get_sth(log, &sth);
    CHECK_EQ(sth.tree_size, 0); /* still pooled */
    arb_log_drain(log);
    CHECK_EQ(get(&answered), 300);
    CHECK_EQ(get(&answered_ok), 300);
    arb_log_get_sth(log, &sth);
    CHECK_EQ(sth.tree_size, 300);
    /* ...and later ones refused. */
    submit_n(log, 5000, 2);
    CHECK_EQ(get(&answered_busy), 2);
    arb_log_close(log);
    log = NULL;

    /* Export: reopen with group commit. */
    lc.batch_ms = 0;
    CHECK_OR(arb_log_open(&log, &lc, &eb) == ARB_OK, );
    CHECK_EQ(arb_log_export_open(&ex, log, exdir, (arb_logger){0}, &eb), ARB_OK);
    CHECK_EQ(arb_log_export_once(ex, &eb), ARB_OK);
    CHECK_EQ(arb_log_export_size(ex), 300);
    check_tiles(log, exdir, 300);
    CHECK(exists(exdir, "tile/0/001.p/44"));
    CHECK(exists(exdir, "tile/data/001.p/44"));
    CHECK_EQ(arb_log_get_checkpoint(log, &cp, &cp_len), ARB_OK);
    CHECK(file_is(exdir, "checkpoint", cp, cp_len));
    /* Both chain certificates are exported as issuers. */
    CHECK(EVP_Digest(id, il, fp, NULL, EVP_sha256(), NULL) == 1);
    arb_hex_encode(hex, fp, 32);
    snprintf(rel, sizeof(rel), "issuer/%s", hex);
    CHECK(file_is(exdir, rel, id, il));
    /* Nothing changed: nothing is rewritten (a removed tile stays removed). */
    {
        char p[1024];
        snprintf(p, sizeof(p), "%s/tile/0/000", exdir);
        CHECK_EQ(unlink(p), 0);
        CHECK_EQ(arb_log_export_once(ex, &eb), ARB_OK);
        CHECK(!exists(exdir, "tile/0/000"));
    }
    arb_log_export_stop(ex);
    ex = NULL;

    /* Grow across the end of tile 1 (512). A failing export (a file where
     * the directory tile/0/002.p must go) keeps the old checkpoint. */
    submit_n(log, 2000, 220);
    wait_size(log, 520);
    {
        char p[1024];
        FILE *f;
        snprintf(p, sizeof(p), "%s/tile/0/002.p", exdir);
        f = fopen(p, "w");
        CHECK(f != NULL);
        if (f != NULL)
            fclose(f);
        CHECK_EQ(arb_log_export_open(&ex, log, exdir, (arb_logger){0}, &eb), ARB_OK);
        CHECK_EQ(arb_log_export_once(ex, &eb), ARB_ERR_IO);
        CHECK(strstr(eb.msg, "002.p") != NULL);
        CHECK(file_is(exdir, "checkpoint", cp, cp_len)); /* the old one */
        CHECK_EQ(arb_log_export_size(ex), 0);
        CHECK_EQ(unlink(p), 0);
        CHECK_EQ(arb_log_export_once(ex, &eb), ARB_OK);
    }
    arb_log_get_sth(log, &sth);
    CHECK_EQ(arb_log_export_size(ex), sth.tree_size);
    check_tiles(log, exdir, sth.tree_size);
    /* Tile 1 is full now: its partial versions are gone. */
    CHECK(exists(exdir, "tile/0/001"));
    CHECK(!exists(exdir, "tile/0/001.p"));
    CHECK(!exists(exdir, "tile/data/001.p"));
    CHECK_EQ(arb_log_get_checkpoint(log, &cp2, &cp2_len), ARB_OK);
    CHECK(file_is(exdir, "checkpoint", cp2, cp2_len));
    /* The thread: started, then stopped after more entries, exports them. */
    arb_log_export_stop(ex);
    CHECK_EQ(arb_log_export_start(&ex, log, exdir, (arb_logger){0}, &eb), ARB_OK);
    submit_n(log, 9000, 5);
    wait_size(log, sth.tree_size + 5);
    arb_log_export_stop(ex);
    arb_log_get_sth(log, &sth);
    check_tiles(log, exdir, sth.tree_size);
    free(cp);
    free(cp2);
    CHECK_EQ(arb_log_get_checkpoint(log, &cp, &cp_len), ARB_OK);
    CHECK(file_is(exdir, "checkpoint", cp, cp_len));
    free(cp);
    /* A directory that cannot be made. */
    {
        char bad[700];
        snprintf(bad, sizeof(bad), "%s/checkpoint/x", exdir);
        CHECK_EQ(arb_log_export_open(&ex, log, bad, (arb_logger){0}, &eb), ARB_ERR_IO);
        CHECK(ex == NULL);
    }

    arb_log_close(log);
    arb_store_close(store);
    arb_ct_signer_free(s);
    arb_ct_roots_free(roots);
    X509_free(r);
    X509_free(im);
    free(id);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
    if (arb_test_failed == 0)
        arb_test_rmtree(dir);
}

int main(void)
{
    run();
    return arb_test_done();
}
