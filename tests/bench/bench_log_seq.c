/* Sequencer throughput: N distinct validated chains submitted at once to a
 * log on a fresh RocksDB store (each batch one synced write), timed until the
 * last SCT is answered. Usage: bench_log_seq [N] (default 5000). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/log/chain.h"
#include "ledger/log/key.h"
#include "ledger/log/log.h"
#include "ledger/store/store.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long answered, failed;

static void on_sct(void *ud, arb_err err, const arb_ct_sct *sct, const char *msg)
{
    (void)ud;
    (void)sct;
    (void)msg;
    pthread_mutex_lock(&mu);
    answered++;
    if (err != ARB_OK)
        failed++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000, i;
    int64_t t = (int64_t)time(NULL);
    EVP_PKEY *kr = pki_key(), *ki = pki_key(), *kl = pki_key();
    pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
    X509 *r = pki_cert(&sr, kr, NULL, NULL), *im = pki_cert(&si, ki, r, kr);
    size_t il, pem_len;
    uint8_t *id = pki_der(im, &il);
    char *pem = pki_pem(r, &pem_len), dir[512];
    arb_ct_roots *roots = NULL;
    arb_ct_signer *s = NULL;
    arb_store *store = NULL;
    arb_log *log = NULL;
    arb_ct_chain **chains = calloc((size_t)n, sizeof(*chains));
    unsigned cfs[ARB_LOG_CF_COUNT];
    arb_log_config lc;
    arb_errbuf eb;
    double t0, t1, t2;

    if (chains == NULL || pem == NULL || arb_ct_roots_from_pem(&roots, pem, pem_len, &eb) != ARB_OK ||
        arb_ct_signer_generate(&s, &eb) != ARB_OK || arb_test_tmpdir(dir, sizeof(dir)) != 0 ||
        arb_store_open(&store, dir, arb_log_cf_names, ARB_LOG_CF_COUNT, NULL, &eb) != ARB_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (i = 0; i < ARB_LOG_CF_COUNT; i++)
        cfs[i] = (unsigned)i;
    memset(&lc, 0, sizeof(lc));
    lc.store = store;
    lc.cfs = cfs;
    lc.signer = s;
    lc.origin = "bench.example/log";
    if (arb_log_open(&log, &lc, &eb) != ARB_OK) {
        fprintf(stderr, "log: %s\n", eb.msg);
        return 1;
    }
    for (i = 0; i < n; i++) {
        pki_spec sl = {"leaf.example.test", NULL, 1000 + i, t - 86400, t + 86400 * 90, 0};
        X509 *l = pki_cert(&sl, kl, im, ki);
        size_t ll;
        uint8_t *ld = pki_der(l, &ll);
        arb_ct_cert_ref refs[2] = {{ld, ll}, {id, il}};
        if (arb_ct_chain_validate(&chains[i], roots, NULL, 0, refs, 2, &eb) != ARB_OK) {
            fprintf(stderr, "validate: %s\n", eb.msg);
            return 1;
        }
        free(ld);
        X509_free(l);
    }
    t0 = now_s();
    for (i = 0; i < n; i++)
        arb_log_submit(log, chains[i], on_sct, NULL);
    t1 = now_s();
    pthread_mutex_lock(&mu);
    while (answered < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    t2 = now_s();
    printf("sequenced %ld entries in %.3f s: %.0f entries/s (submit %.3f s), %ld failed\n", n,
           t2 - t0, (double)n / (t2 - t0), t1 - t0, failed);
    arb_log_close(log);
    arb_store_close(store);
    arb_test_rmtree(dir);
    arb_ct_signer_free(s);
    arb_ct_roots_free(roots);
    free(chains);
    free(pem);
    free(id);
    X509_free(r);
    X509_free(im);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
    return failed != 0;
}
