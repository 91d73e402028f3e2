/* Bulk loading of a transparency log. See log_bulk.h. */
#include "tests/bench/log_bulk.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ledger/config.h"
#include "ledger/log/chain.h"
#include "ledger/log/domains.h"
#include "ledger/log/log.h"
#include "ledger/store/store.h"
#include "tests/unit/log/pki.h"

#define CHUNK 256          /* serials a generator claims at a time */
#define SAMPLE_EVERY 1000  /* chains also validated the normal way */

typedef struct {
    const log_bulk_config *cfg;
    arb_log *log;
    arb_ct_roots *roots;
    uint8_t *root_der, *inter_der;
    size_t root_len, inter_len;
    size_t max_inflight;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    long next;             /* next offset to generate */
    long submitted, answered;
    arb_err err;           /* first failure */
    char msg[ARB_ERRBUF_SIZE];
} bulk;

static void fail_with(bulk *b, arb_err err, const char *msg)
{
    pthread_mutex_lock(&b->mu);
    if (b->err == ARB_OK) {
        b->err = err;
        snprintf(b->msg, sizeof(b->msg), "%s", msg);
    }
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void on_answer(void *ud, arb_err err, const arb_ct_sct *sct, const char *msg)
{
    bulk *b = ud;

    (void)sct;
    if (err != ARB_OK)
        fail_with(b, err, msg ? msg : "submission failed");
    pthread_mutex_lock(&b->mu);
    b->answered++;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n);

    if (d != NULL)
        memcpy(d, p, n);
    return d;
}

/* The chain as arb_ct_chain_validate returns it: leaf, intermediate, root. */
static arb_ct_chain *make_chain(bulk *b, uint8_t *leaf, size_t leaf_len)
{
    arb_ct_chain *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->path = calloc(3, sizeof(*c->path))) == NULL) {
        free(c);
        free(leaf);
        return NULL;
    }
    c->path[0].der = leaf;
    c->path[0].len = leaf_len;
    c->path[1].der = dup_bytes(b->inter_der, b->inter_len);
    c->path[1].len = b->inter_len;
    c->path[2].der = dup_bytes(b->root_der, b->root_len);
    c->path[2].len = b->root_len;
    c->path_len = 3; /* arb_ct_chain_free frees NULL elements too */
    if (c->path[1].der == NULL || c->path[2].der == NULL) {
        arb_ct_chain_free(c);
        return NULL;
    }
    c->entry.entry_type = ARB_CT_ENTRY_X509;
    c->entry.cert = c->path[0].der;
    c->entry.cert_len = c->path[0].len;
    return c;
}

/* 1 if validating the submitted chain (leaf, intermediate) gives exactly c. */
static int same_as_validated(bulk *b, const arb_ct_chain *c)
{
    arb_ct_cert_ref sub[2] = {{c->path[0].der, c->path[0].len}, {b->inter_der, b->inter_len}};
    arb_ct_chain *v = NULL;
    arb_errbuf eb;
    int same;

    if (arb_ct_chain_validate(&v, b->roots, NULL, 0, sub, 2, &eb) != ARB_OK)
        return 0;
    same = v->path_len == c->path_len && v->is_precert == 0 && v->has_precert_signer == 0 &&
           v->entry.entry_type == c->entry.entry_type;
    for (size_t i = 0; same && i < c->path_len; i++)
        same = v->path[i].len == c->path[i].len &&
               memcmp(v->path[i].der, c->path[i].der, c->path[i].len) == 0;
    arb_ct_chain_free(v);
    return same;
}

static void *generator(void *arg)
{
    bulk *b = arg;
    const log_bulk_config *cfg = b->cfg;
    int64_t now = (int64_t)time(NULL);
    pki_spec spec = {"leaf.example.test", NULL, cfg->first_serial, now - 3600, now + 86400 * 90, 0};
    /* One template per thread: each leaf only changes the serial and is re-signed. */
    X509 *x = pki_cert(&spec, cfg->leaf_key, cfg->inter, cfg->inter_key);

    if (x == NULL) {
        fail_with(b, ARB_ERR_CRYPTO, "cannot build a leaf certificate");
        return NULL;
    }
    for (;;) {
        long from, to;

        pthread_mutex_lock(&b->mu);
        from = b->next;
        to = from + CHUNK < cfg->n ? from + CHUNK : cfg->n;
        if (b->err != ARB_OK)
            to = from; /* another thread failed: stop */
        b->next = to;
        pthread_mutex_unlock(&b->mu);
        if (from >= to)
            break;
        for (long i = from; i < to; i++) {
            size_t len;
            uint8_t *der;
            arb_ct_chain *c;

            if (cfg->unique_names) {
                /* This leaf's own name: replace the SAN of the template. */
                char san[96];
                X509V3_CTX ctx;
                X509_EXTENSION *e;
                int at = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
                if (at >= 0)
                    X509_EXTENSION_free(X509_delete_ext(x, at));
                snprintf(san, sizeof san, "DNS:n%ld.d%ld.example.test", cfg->first_serial + i,
                         (cfg->first_serial + i) % 1000);
                X509V3_set_ctx(&ctx, cfg->inter, x, NULL, NULL, 0);
                e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
                if (e == NULL || !X509_add_ext(x, e, -1)) {
                    X509_EXTENSION_free(e);
                    fail_with(b, ARB_ERR_CRYPTO, "cannot add a SAN");
                    goto out;
                }
                X509_EXTENSION_free(e);
            }
            if (!ASN1_INTEGER_set(X509_get_serialNumber(x), cfg->first_serial + i) ||
                X509_sign(x, cfg->inter_key, EVP_sha256()) <= 0 || (der = pki_der(x, &len)) == NULL) {
                fail_with(b, ARB_ERR_CRYPTO, "cannot sign a leaf certificate");
                goto out;
            }
            if ((c = make_chain(b, der, len)) == NULL) {
                fail_with(b, ARB_ERR_NOMEM, "out of memory");
                goto out;
            }
            if (i % SAMPLE_EVERY == 0 && !same_as_validated(b, c)) {
                arb_ct_chain_free(c);
                fail_with(b, ARB_ERR_VERIFY, "a generated chain differs from its validated form");
                goto out;
            }
            pthread_mutex_lock(&b->mu);
            while (b->err == ARB_OK && (size_t)(b->submitted - b->answered) >= b->max_inflight)
                pthread_cond_wait(&b->cv, &b->mu);
            if (b->err != ARB_OK) {
                pthread_mutex_unlock(&b->mu);
                arb_ct_chain_free(c);
                goto out;
            }
            b->submitted++;
            pthread_mutex_unlock(&b->mu);
            arb_log_submit(b->log, c, on_answer, b);
        }
    }
out:
    X509_free(x);
    ERR_clear_error();
    return NULL;
}

arb_err log_bulk_load(const log_bulk_config *cfg, unsigned long long *tree_size, arb_errbuf *eb)
{
    const char *names[2 + ARB_LOG_CF_COUNT];
    arb_domains *dom = NULL;
    unsigned cfs[ARB_LOG_CF_COUNT];
    char dbdir[4200], *pem = NULL;
    size_t pem_len = 0;
    int threads = cfg->threads > 0 ? cfg->threads : 2, started = 0, lock_fd = -1;
    pthread_t th[16];
    arb_store *store = NULL;
    arb_log_config lc;
    arb_log_sth sth;
    bulk b;
    arb_err err;

    memset(&b, 0, sizeof(b));
    *tree_size = 0;
    if (threads > 16)
        threads = 16;
    b.cfg = cfg;
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    if ((b.root_der = pki_der(cfg->root, &b.root_len)) == NULL ||
        (b.inter_der = pki_der(cfg->inter, &b.inter_len)) == NULL ||
        (pem = pki_pem(cfg->root, &pem_len)) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "cannot encode the root or the intermediate");
        goto out;
    }
    if ((err = arb_ct_roots_from_pem(&b.roots, pem, pem_len, eb)) != ARB_OK ||
        (err = arb_datadir_create(cfg->datadir, eb)) != ARB_OK ||
        (err = arb_datadir_lock(cfg->datadir, &lock_fd, eb)) != ARB_OK)
        goto out;
    /* The store as arbord opens it ("default" first; other modules' column
     * families are created when arbord opens it). */
    names[0] = "default";
    for (size_t i = 0; i < ARB_LOG_CF_COUNT; i++) {
        names[1 + i] = arb_log_cf_names[i];
        cfs[i] = (unsigned)(1 + i);
    }
    snprintf(dbdir, sizeof(dbdir), "%s/db", cfg->datadir);
    if (!cfg->no_domain_index)
        names[1 + ARB_LOG_CF_COUNT] = arb_domains_cf_names[0];
    if ((err = arb_store_open(&store, dbdir, names, 1 + ARB_LOG_CF_COUNT + !cfg->no_domain_index,
                              NULL, eb)) != ARB_OK)
        goto out;
    if (!cfg->no_domain_index &&
        (err = arb_domains_new(&dom, store, 1 + ARB_LOG_CF_COUNT)) != ARB_OK)
        goto out;
    memset(&lc, 0, sizeof(lc));
    lc.store = store;
    lc.cfs = cfs;
    lc.signer = cfg->signer;
    lc.origin = cfg->origin;
    lc.batch_max = cfg->batch ? cfg->batch : 4096;
    if (dom != NULL) {
        lc.index_entry = arb_domains_index_entry;
        lc.index_ud = dom;
    }
    if ((err = arb_log_open(&b.log, &lc, eb)) != ARB_OK)
        goto out;
    if (dom != NULL) {
        /* As arbord at startup: index what is there (nothing in a new log)
         * and mark the index complete, so arbord need not backfill. */
        uint64_t n_indexed;
        if ((err = arb_domains_backfill(dom, b.log, &n_indexed, eb)) != ARB_OK)
            goto out;
    }
    b.max_inflight = 4 * lc.batch_max;
    for (; started < threads; started++)
        if (pthread_create(&th[started], NULL, generator, &b) != 0)
            break;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_lock(&b.mu);
    while (b.answered < b.submitted)
        pthread_cond_wait(&b.cv, &b.mu);
    if (b.err == ARB_OK && (started == 0 || b.submitted != cfg->n)) {
        b.err = ARB_ERR_NOMEM;
        snprintf(b.msg, sizeof(b.msg), "cannot start the generators");
    }
    err = b.err;
    pthread_mutex_unlock(&b.mu);
    if (err != ARB_OK) {
        arb_errf(eb, err, "bulk load: %s", b.msg);
        goto out;
    }
    arb_log_get_sth(b.log, &sth);
    *tree_size = sth.tree_size;
out:
    arb_log_close(b.log);
    arb_domains_free(dom);
    arb_store_close(store);
    if (lock_fd >= 0)
        close(lock_fd);
    arb_ct_roots_free(b.roots);
    free(b.root_der);
    free(b.inter_der);
    free(pem);
    pthread_mutex_destroy(&b.mu);
    pthread_cond_destroy(&b.cv);
    return err;
}
