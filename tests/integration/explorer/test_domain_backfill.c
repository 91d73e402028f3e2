/* A data directory whose log predates the domain index: 500 entries are
 * bulk-loaded through the log's sequencer without the index
 * (tests/bench/log_bulk.h), then a real arbord opens it: it must index the
 * existing entries at startup (and say so), answer domain searches for all of
 * them, and not index them again at the next start. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/log/key.h"
#include "tests/bench/log_bulk.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "tests/unit/log/pki.h"

#define WAIT_MS 30000
#define N 500

static char bin[4096], tmp[1024];

/* The number of results of an exact search (one page of up to 1000), or -1. */
static long count_hits(int port, const char *domain)
{
    char path[512], *resp = NULL;
    long n = -1;
    arb_tl_http_opts o = {.port = port, .timeout_s = 30};
    snprintf(path, sizeof path, "/log/v1/search?domain=%s&limit=1000", domain);
    if (arb_tl_http(o, path, NULL, &resp) == 200 && resp != NULL) {
        json_t *j = json_loads(resp, 0, NULL);
        if (j != NULL && json_is_null(json_object_get(j, "next")))
            n = (long)json_array_size(json_object_get(j, "results"));
        json_decref(j);
    }
    free(resp);
    return n;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL)
        ok = fclose(f) == 0 && ok;
    return ok;
}

/* Starts arbord on the loaded directory, counts the hits, stops it; returns
 * its stderr (malloc'd). */
static char *serve_once(const char *datadir, const char *keyp, const char *rootsp, long *hits)
{
    const char *argv[] = {bin,          "--datadir", datadir, "--listen", "127.0.0.1:0",
                          "--network",  "regtest",   "--json", "--log-key", keyp,
                          "--log-roots", rootsp,     NULL};
    arb_proc *p;
    char *err = NULL;
    int port;
    *hits = -1;
    CHECK_OR(arb_proc_spawn(&p, argv) == 0, NULL);
    port = arb_proc_wait_port(p, WAIT_MS);
    if (port > 0)
        *hits = count_hits(port, "leaf.example.test");
    int stopped = arb_proc_kill(p, SIGTERM) == 0 && arb_proc_wait(p, WAIT_MS) == 0;
    err = arb_proc_output(p, ARB_PROC_STDERR);
    if (!stopped) { /* the caller's checks then fail on the missing lines */
        free(err);
        err = NULL;
    }
    arb_proc_free(p);
    return err;
}

static void test_backfill(void)
{
    char datadir[1200], keyp[1200], rootsp[1200];
    int64_t t = (int64_t)time(NULL);
    pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
    EVP_PKEY *kr = pki_key(), *ki = pki_key(), *kl = pki_key();
    X509 *r = pki_cert(&sr, kr, NULL, NULL), *im = pki_cert(&si, ki, r, kr);
    arb_ct_signer *signer = NULL;
    char *key = NULL, *roots = NULL, *err;
    size_t klen = 0, rlen = 0;
    unsigned long long size = 0;
    log_bulk_config bc;
    arb_errbuf eb;
    long hits;

    snprintf(datadir, sizeof datadir, "%s/data", tmp);
    snprintf(keyp, sizeof keyp, "%s/key.pem", tmp);
    snprintf(rootsp, sizeof rootsp, "%s/roots.pem", tmp);
    CHECK(r != NULL && im != NULL && (roots = pki_pem(r, &rlen)) != NULL);
    CHECK(arb_ct_signer_generate(&signer, &eb) == ARB_OK);
    CHECK(arb_ct_signer_private_pem(signer, &key, &klen) == ARB_OK);
    CHECK(write_file(keyp, key, klen) && write_file(rootsp, roots, rlen));
    memset(&bc, 0, sizeof bc);
    bc.datadir = datadir;
    bc.signer = signer;
    bc.origin = "arbor.localhost/log";
    bc.root = r;
    bc.inter = im;
    bc.inter_key = ki;
    bc.leaf_key = kl;
    bc.first_serial = 100;
    bc.n = N;
    bc.batch = 64;
    bc.no_domain_index = 1; /* a log from before the index */
    CHECK(log_bulk_load(&bc, &size, &eb) == ARB_OK);
    CHECK_EQ(size, N);

    err = serve_once(datadir, keyp, rootsp, &hits);
    CHECK_EQ(hits, N);
    CHECK(err != NULL && strstr(err, "indexed the domains of 500 existing entries") != NULL);
    free(err);
    /* Next start: complete already, nothing to do. */
    err = serve_once(datadir, keyp, rootsp, &hits);
    CHECK_EQ(hits, N);
    CHECK(err != NULL && strstr(err, "indexed the domains") == NULL);
    free(err);

    arb_ct_signer_free(signer);
    free(key);
    free(roots);
    X509_free(r);
    X509_free(im);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
}

int main(void)
{
    if (!arb_tl_begin(bin, sizeof bin, tmp, sizeof tmp))
        return 1;
    test_backfill();
    return arb_tl_end(tmp);
}
