/* The log library when its storage fails, in process, on a real full disk: a
 * 4 MiB tmpfs mounted by the test (root, or CAP_SYS_ADMIN, is needed to mount;
 * unable to mount, the test fails). First the store's own reopen
 * (arb_store_reopen), then the log. The store's write fails
 * with "disk full"; the submitters of that batch and every later submission
 * get ARB_ERR_IO with a reason that says so; the failed log does not spin
 * (the process's CPU time over two seconds stays small); reads keep working;
 * once the file system grows (as when an operator frees space) the log
 * recovers by itself, keeps every entry it answered, and accepts new ones,
 * also after reopening. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger/log/chain.h"
#include "ledger/log/key.h"
#include "ledger/log/log.h"
#include "ledger/log/static.h"
#include "ledger/store/store.h"
#include "merkle/proof.h"
#include "pki.h"
#include "tests/test.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

typedef struct {
    int done;
    arb_err err;
    uint64_t index;
    char msg[256];
    int on_submitter; /* answered on the thread that submitted */
} answer;

static pthread_t submitter;

static void on_sct(void *ud, arb_err err, const arb_ct_sct *sct, const char *msg)
{
    answer *a = ud;

    pthread_mutex_lock(&mu);
    a->err = err;
    if (err == ARB_OK && arb_ct_leaf_index_find(&a->index, sct->ext, sct->ext_len) != ARB_OK)
        a->err = ARB_ERR_INTERNAL;
    snprintf(a->msg, sizeof(a->msg), "%s", msg ? msg : "");
    a->on_submitter = pthread_equal(pthread_self(), submitter) != 0;
    a->done = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* The test PKI: a root, an intermediate, and leaves by serial. */
static EVP_PKEY *k_root, *k_int, *k_leaf;
static X509 *x_root, *x_int;
static uint8_t *int_der;
static size_t int_len;
static arb_ct_roots *roots;

static arb_ct_chain *make_chain(long serial)
{
    int64_t t = (int64_t)time(NULL);
    pki_spec sl = {"leaf.example.test", NULL, serial, t - 86400, t + 86400 * 90, 0};
    X509 *l = pki_cert(&sl, k_leaf, x_int, k_int);
    size_t ll = 0;
    uint8_t *ld = l ? pki_der(l, &ll) : NULL;
    arb_ct_cert_ref refs[2] = {{ld, ll}, {int_der, int_len}};
    arb_ct_chain *c = NULL;
    arb_errbuf eb;

    if (ld == NULL || arb_ct_chain_validate(&c, roots, NULL, 0, refs, 2, &eb) != ARB_OK)
        c = NULL;
    free(ld);
    X509_free(l);
    return c;
}

/* Submits one chain and waits for its answer. */
static void submit_wait(arb_log *log, long serial, answer *a)
{
    arb_ct_chain *c = make_chain(serial);

    memset(a, 0, sizeof(*a));
    if (c == NULL) {
        a->err = ARB_ERR_INTERNAL;
        return;
    }
    submitter = pthread_self();
    arb_log_submit(log, c, on_sct, a);
    pthread_mutex_lock(&mu);
    while (!a->done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* submit_inline: 1 makes a submission on the idle log be sequenced and
 * written on the submitting thread (as arbord runs it), 0 through the
 * sequencer and committer threads. */
static int submit_inline;

static arb_err open_log(arb_log **log, arb_store *store, const arb_ct_signer *s)
{
    static const unsigned cfs[ARB_LOG_CF_COUNT] = {0, 1, 2, 3, 4, 5};
    arb_log_config lc;
    arb_errbuf eb;

    memset(&lc, 0, sizeof(lc));
    lc.store = store;
    lc.cfs = cfs;
    lc.signer = s;
    lc.origin = "unit.example/log";
    lc.retry_max_ms = 200;
    lc.submit_inline = submit_inline;
    return arb_log_open(log, &lc, &eb);
}

/* Fills the file system holding `path` with a file of that name. */
static int fill(const char *path)
{
    static char chunk[64 * 1024];
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return 0;
    setvbuf(f, NULL, _IONBF, 0);
    while (fwrite(chunk, 1, sizeof chunk, f) == sizeof chunk) {
    }
    while (fwrite(chunk, 1, 512, f) == 512) {
    }
    while (fwrite(chunk, 1, 1, f) == 1) {
    }
    fclose(f);
    return 1;
}

static void test_disk_full(const char *mnt)
{
    char dbdir[400], filler[400];
    arb_store *store = NULL;
    arb_ct_signer *signer = NULL;
    arb_log *log = NULL;
    arb_log_health h;
    arb_log_sth before, after;
    answer a;
    arb_errbuf eb;
    long serial = 100;
    int i;

    snprintf(dbdir, sizeof dbdir, "%s/db", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    CHECK(arb_ct_signer_generate(&signer, &eb) == ARB_OK);
    CHECK(arb_store_open(&store, dbdir, arb_log_cf_names, ARB_LOG_CF_COUNT, NULL, &eb) == ARB_OK);
    CHECK(open_log(&log, store, signer) == ARB_OK);
    submit_wait(log, serial++, &a);
    CHECK(a.err == ARB_OK && a.index == 0);
    CHECK_EQ(a.on_submitter, submit_inline); /* the idle log sequenced it inline, or not */
    arb_log_get_sth(log, &before);
    CHECK_EQ(before.tree_size, 1);

    /* The disk fills; the next batch's write fails. */
    CHECK(fill(filler));
    for (i = 0; i < 50; i++) {
        submit_wait(log, serial++, &a);
        if (a.err != ARB_OK)
            break;
    }
    CHECK(a.err == ARB_ERR_IO);
    CHECK(strstr(a.msg, "disk full") != NULL);
    CHECK_EQ(a.on_submitter, submit_inline); /* the failed write was the submitter's own */
    arb_log_get_health(log, &h);
    CHECK(h.failed == 1);
    CHECK(strstr(h.reason, "disk full") != NULL);
    CHECK(strstr(h.reason, mnt) == NULL); /* no server paths for clients */
    CHECK(h.write_failures >= 1);
    CHECK_EQ(h.recoveries, 0);

    /* Refused at once while failed; reads work; no spinning. */
    {
        double c0 = cpu_seconds(), c1;
        struct timespec two = {2, 0};
        nanosleep(&two, NULL);
        c1 = cpu_seconds();
        printf("CPU time over 2 s while failed: %.3f s\n", c1 - c0);
        CHECK(c1 - c0 < 0.5);
    }
    submit_wait(log, serial, &a);
    CHECK(a.err == ARB_ERR_IO && strstr(a.msg, "disk full") != NULL);
    arb_log_get_sth(log, &after);
    CHECK(after.tree_size >= 1);
    {
        uint8_t *leaf = NULL, *extra = NULL;
        size_t ll, el;
        CHECK(arb_log_get_entry(log, 0, &leaf, &ll, &extra, &el) == ARB_OK);
        free(leaf);
        free(extra);
    }

    /* Space comes back: the log recovers by itself. */
    CHECK(unlink(filler) == 0);
    CHECK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m") == 0);
    for (i = 0; i < 400; i++) {
        struct timespec d = {0, 50 * 1000000L};
        arb_log_get_health(log, &h);
        if (!h.failed)
            break;
        nanosleep(&d, NULL);
    }
    CHECK(h.failed == 0 && h.reason[0] == 0);
    CHECK_EQ(h.recoveries, 1);
    arb_log_get_sth(log, &after);
    CHECK(after.tree_size >= before.tree_size);
    CHECK(after.timestamp > before.timestamp);
    submit_wait(log, serial, &a);
    CHECK(a.err == ARB_OK);
    CHECK_EQ(a.on_submitter, submit_inline);
    CHECK_EQ(a.index, after.tree_size);
    arb_log_get_sth(log, &after);
    CHECK_EQ(after.tree_size, a.index + 1);
    {
        /* The grown tree is consistent with the head before the failure. */
        arb_hash *path = NULL, r_old, r_new;
        size_t n = 0;
        arb_sha256 *sha = NULL;
        CHECK(arb_sha256_new(&sha) == ARB_OK);
        CHECK(arb_log_consistency(log, before.tree_size, after.tree_size, &path, &n) == ARB_OK);
        memcpy(r_old.b, before.root, 32);
        memcpy(r_new.b, after.root, 32);
        CHECK(arb_merkle_consistency_verify(sha, before.tree_size, after.tree_size, &r_old, &r_new,
                                            path, n, &eb) == ARB_OK);
        free(path);
        arb_sha256_free(sha);
    }

    /* Everything answered survives closing and reopening. */
    arb_log_close(log);
    log = NULL;
    arb_store_close(store);
    store = NULL;
    CHECK(arb_store_open(&store, dbdir, arb_log_cf_names, ARB_LOG_CF_COUNT, NULL, &eb) == ARB_OK);
    CHECK(open_log(&log, store, signer) == ARB_OK);
    arb_log_get_sth(log, &before);
    CHECK_EQ(before.tree_size, after.tree_size);
    CHECK_MEM(before.root, after.root, 32);
    arb_log_close(log);
    arb_store_close(store);
    arb_ct_signer_free(signer);
}

/* The store's reopen on its own: refused (and harmless) on a still-full
 * disk and while an iterator is live; afterwards writes work again and every
 * committed write is there. */
static void test_store_reopen(const char *mnt)
{
    static const char *const names[] = {"a"};
    char dbdir[400], filler[400];
    arb_store *s = NULL;
    arb_store_batch *b = NULL;
    arb_store_iter *it = NULL;
    arb_errbuf eb;
    uint8_t key[8], val[4096];
    uint64_t i, committed = 0;
    int found;

    snprintf(dbdir, sizeof dbdir, "%s/store", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    memset(val, 0x5a, sizeof val);
    CHECK(arb_store_open(&s, dbdir, names, 1, NULL, &eb) == ARB_OK);
    CHECK(fill(filler));
    for (i = 0; i < 10000; i++) {
        memcpy(key, &i, 8);
        CHECK(arb_store_batch_new(&b, s) == ARB_OK);
        arb_store_batch_put(b, 0, key, 8, val, sizeof val);
        if (arb_store_write(s, b, ARB_STORE_SYNC, &eb) != ARB_OK) {
            arb_store_batch_free(b);
            break;
        }
        arb_store_batch_free(b);
        committed = i + 1;
    }
    CHECK(strstr(eb.msg, "disk full") != NULL);
    CHECK(arb_store_write_failed(s));
    /* Still full: refused before anything is closed; reads work. */
    CHECK(arb_store_reopen(s, 100, &eb) == ARB_ERR_IO);
    CHECK(strstr(eb.msg, "disk full") != NULL);
    if (committed > 0) {
        i = committed - 1;
        memcpy(key, &i, 8);
        CHECK(arb_store_exists(s, NULL, 0, key, 8, &found, &eb) == ARB_OK && found);
    }
    CHECK(unlink(filler) == 0);
    CHECK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m") == 0);
    /* A live iterator keeps the store busy. */
    CHECK(arb_store_iter_new(&it, s, NULL, 0, NULL, 0, NULL, 0, &eb) == ARB_OK);
    CHECK(arb_store_reopen(s, 50, &eb) == ARB_ERR_BUSY);
    arb_store_iter_free(it);
    CHECK(arb_store_write_failed(s));
    CHECK(arb_store_reopen(s, 1000, &eb) == ARB_OK);
    CHECK(!arb_store_write_failed(s));
    for (i = 0; i < committed; i++) {
        memcpy(key, &i, 8);
        CHECK(arb_store_exists(s, NULL, 0, key, 8, &found, &eb) == ARB_OK && found);
    }
    i = 1u << 20;
    memcpy(key, &i, 8);
    CHECK(arb_store_batch_new(&b, s) == ARB_OK);
    arb_store_batch_put(b, 0, key, 8, val, 16);
    CHECK(arb_store_write(s, b, ARB_STORE_SYNC, &eb) == ARB_OK);
    arb_store_batch_free(b);
    arb_store_close(s);
}

/* A chain whose extra_data cannot be encoded (over 2^24-1 bytes after the
 * leaf) is refused alone, at once; a normal submission with it still works. */
static void test_oversized(void)
{
    char dir[512];
    arb_store *store = NULL;
    arb_ct_signer *signer = NULL;
    arb_log *log = NULL;
    arb_ct_chain *c = make_chain(7);
    answer a;
    arb_errbuf eb;
    uint8_t *big;

    CHECK(c != NULL && c->path_len >= 2);
    CHECK(arb_test_tmpdir(dir, sizeof dir) == 0);
    CHECK(arb_ct_signer_generate(&signer, &eb) == ARB_OK);
    CHECK(arb_store_open(&store, dir, arb_log_cf_names, ARB_LOG_CF_COUNT, NULL, &eb) == ARB_OK);
    CHECK(open_log(&log, store, signer) == ARB_OK);
    /* The intermediate's slot made 16 MiB long. */
    CHECK((big = calloc(1, ARB_CT_CERT_MAX)) != NULL);
    free((void *)c->path[1].der);
    c->path[1].der = big;
    c->path[1].len = ARB_CT_CERT_MAX;
    memset(&a, 0, sizeof(a));
    arb_log_submit(log, c, on_sct, &a);
    CHECK(a.done); /* answered at once, on this thread */
    CHECK(a.err == ARB_ERR_PARSE && strstr(a.msg, "too large") != NULL);
    submit_wait(log, 8, &a);
    CHECK(a.err == ARB_OK && a.index == 0);
    arb_log_close(log);
    arb_store_close(store);
    arb_ct_signer_free(signer);
    arb_test_rmtree(dir);
}

int main(void)
{
    int64_t t = (int64_t)time(NULL);
    char tmp[256], mnt[300], *pem;
    size_t pem_len;
    arb_errbuf eb;

    arb_test_seed_init();
    k_root = pki_key();
    k_int = pki_key();
    k_leaf = pki_key();
    {
        pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
        pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
        x_root = pki_cert(&sr, k_root, NULL, NULL);
        x_int = pki_cert(&si, k_int, x_root, k_root);
    }
    int_der = pki_der(x_int, &int_len);
    pem = pki_pem(x_root, &pem_len);
    if (int_der == NULL || pem == NULL || arb_ct_roots_from_pem(&roots, pem, pem_len, &eb) != ARB_OK ||
        arb_test_tmpdir(tmp, sizeof tmp) != 0) {
        arb_test_fail(__FILE__, __LINE__, "setup failed");
        return arb_test_done();
    }
    test_oversized();
    for (int k = 0; k < 3; k++) {
        snprintf(mnt, sizeof mnt, "%s/mnt%d", tmp, k);
        if (mkdir(mnt, 0700) != 0 ||
            mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m") != 0) {
            /* Without the mount there is nothing to test: a failure (also when
             * not root: this test must run as root). */
            arb_test_fail(__FILE__, __LINE__, "cannot mount a tmpfs (%s)%s", strerror(errno),
                          geteuid() == 0 ? "" : "; run this test as root");
            break;
        }
        if (k == 0) {
            test_store_reopen(mnt);
        } else {
            submit_inline = k == 2;
            printf("disk full, submissions %s\n",
                   submit_inline ? "sequenced on the submitting thread" : "queued");
            test_disk_full(mnt);
        }
        umount2(mnt, MNT_DETACH);
    }
    arb_test_rmtree(tmp);
    free(pem);
    free(int_der);
    arb_ct_roots_free(roots);
    X509_free(x_root);
    X509_free(x_int);
    EVP_PKEY_free(k_root);
    EVP_PKEY_free(k_int);
    EVP_PKEY_free(k_leaf);
    return arb_test_done();
}
