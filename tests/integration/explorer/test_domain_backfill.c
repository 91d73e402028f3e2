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
#include "tests/testlib/testlog.h"
#include "tests/unit/log/pki.h"

#define WAIT_MS 30000
#define N 500

static char bin[4096], tmp[1024];
static arb_tl_log L; /* freed in main, after a failed check too */

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
    char datadir[1200], *err;
    const char *keyp = L.keyp, *rootsp = L.rootsp;
    unsigned long long size = 0;
    log_bulk_config bc;
    arb_errbuf eb;
    long hits;

    snprintf(datadir, sizeof datadir, "%s/data", tmp);
    CHECK(arb_tl_log_make(&L, tmp));
    arb_tl_log_bulk(&L, &bc, datadir, 100, N);
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

}

int main(void)
{
    if (!arb_tl_begin(bin, sizeof bin, tmp, sizeof tmp))
        return 1;
    test_backfill();
    arb_tl_log_free(&L);
    return arb_tl_end(tmp);
}
