/* The log's tree-head history (GET /log/v1/sth-history, the explorer's
 * /log/heads) on a real arbord.
 *
 * A log of 200 entries is bulk-loaded through the log's sequencer, then its
 * history is deleted from the store, as a log from before the history has
 * none: arbord must start the history with the head it opens at (and say
 * so). 12 certificates are then submitted one at a time; every tree head
 * served by get-sth is recorded; arbord is killed with SIGKILL and restarted.
 * The history must then hold every head that was served (same timestamp,
 * size, root and signature), in strictly increasing time, with sizes that
 * never shrink and signatures by the log key, and walking it in pages (oldest
 * first with after=, newest first with before=, several page sizes) must give
 * the same heads. Hostile queries get 400s. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/log/key.h"
#include "ledger/store/store.h"
#include "merkle/buf.h"
#include "tests/bench/log_bulk.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "tests/testlib/testlog.h"
#include "tests/unit/log/pki.h"

#define WAIT_MS 30000
#define N_BULK 200
#define N_SUBMIT 12
#define MAX_HEADS 64

static char bin[4096], tmp[1024];
static arb_tl_log L; /* freed in main, after a failed check too */

typedef struct {
    long long size, ts;
    char root[64], sig[160];
} head;

/* How this test asks the node on port (tests/testlib/http.h): 30 s a
 * request. */
static arb_tl_http_opts at(int port)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 30};
    return o;
}

static int head_from(head *h, const json_t *o)
{
    const char *r = json_string_value(json_object_get(o, "sha256_root_hash"));
    const char *s = json_string_value(json_object_get(o, "tree_head_signature"));
    memset(h, 0, sizeof *h);
    if (!json_is_integer(json_object_get(o, "tree_size")) ||
        !json_is_integer(json_object_get(o, "timestamp")) || r == NULL || s == NULL ||
        strlen(r) >= sizeof h->root || strlen(s) >= sizeof h->sig)
        return 0;
    h->size = json_integer_value(json_object_get(o, "tree_size"));
    h->ts = json_integer_value(json_object_get(o, "timestamp"));
    strcpy(h->root, r);
    strcpy(h->sig, s);
    return 1;
}

static int head_eq(const head *a, const head *b)
{
    return a->size == b->size && a->ts == b->ts && !strcmp(a->root, b->root) &&
           !strcmp(a->sig, b->sig);
}

static int get_sth(int port, head *h)
{
    char *b = NULL;
    json_t *o;
    int ok = 0;
    if (arb_tl_http(at(port), "/ct/v1/get-sth", NULL, &b) == 200 &&
        (o = json_loads(b, 0, NULL)) != NULL) {
        ok = head_from(h, o);
        json_decref(o);
    }
    free(b);
    return ok;
}

/* Walks the whole history in pages of `limit`, oldest first (newest_first 0,
 * after=) or newest first (before=), into out[] oldest first. Returns the
 * count, or -1 on a bad answer. */
static int walk(int port, int newest_first, int limit, head *out, int cap)
{
    char path[200], *b = NULL;
    long long cursor = 0;
    int n = 0, first = 1;
    for (;;) {
        json_t *o, *arr, *v, *nx;
        size_t i;
        if (newest_first)
            snprintf(path, sizeof path, "/log/v1/sth-history?before=%lld&limit=%d", cursor, limit);
        else if (first)
            snprintf(path, sizeof path, "/log/v1/sth-history?limit=%d", limit);
        else
            snprintf(path, sizeof path, "/log/v1/sth-history?after=%lld&limit=%d", cursor, limit);
        first = 0;
        if (arb_tl_http(at(port), path, NULL, &b) != 200 || (o = json_loads(b, 0, NULL)) == NULL) {
            free(b);
            return -1;
        }
        free(b);
        b = NULL;
        arr = json_object_get(o, "sths");
        if (!json_is_array(arr) || json_array_size(arr) > (size_t)limit) {
            json_decref(o);
            return -1;
        }
        json_array_foreach(arr, i, v)
        {
            if (n == cap || !head_from(&out[n], v)) {
                json_decref(o);
                return -1;
            }
            n++;
        }
        nx = json_object_get(o, "next");
        if (json_is_null(nx)) {
            json_decref(o);
            break;
        }
        /* next is the last head's timestamp, and only when a page is full. */
        if (!json_is_integer(nx) || json_array_size(arr) != (size_t)limit ||
            json_integer_value(nx) != out[n - 1].ts) {
            json_decref(o);
            return -1;
        }
        cursor = json_integer_value(nx);
        json_decref(o);
    }
    if (newest_first)
        for (int i = 0; i < n / 2; i++) {
            head t = out[i];
            out[i] = out[n - 1 - i];
            out[n - 1 - i] = t;
        }
    return n;
}

static arb_proc *start(const char *datadir, const char *keyp, const char *rootsp, int *port)
{
    const char *args[] = {"--network", "regtest", "--log-key", keyp, "--log-roots", rootsp, NULL};
    return arb_proc_start_arbord(bin, datadir, args, WAIT_MS, port);
}

/* Removes the tree-head history from the log's store ("sthh" keys of
 * log_meta), as a data directory from before the history has none. */
static void drop_history(const char *datadir)
{
    char db[1300];
    const char *cfs[] = {"default", "log_meta"};
    arb_store *st = NULL;
    arb_store_batch *b = NULL;
    arb_store_iter *it = NULL;
    arb_errbuf eb;
    int found = 0;
    snprintf(db, sizeof db, "%s/db", datadir);
    CHECK_OR(arb_store_open(&st, db, cfs, 2, NULL, &eb) == ARB_OK, );
    CHECK(arb_store_iter_new_prefix(&it, st, NULL, 1, (const uint8_t *)"sthh", 4, &eb) == ARB_OK);
    if (it != NULL) {
        arb_store_iter_first(it);
        found = arb_store_iter_valid(it);
        arb_store_iter_free(it);
    }
    CHECK(found); /* the bulk loader went through the log, which keeps a history */
    CHECK(arb_store_batch_new(&b, st) == ARB_OK);
    if (b != NULL) {
        arb_store_batch_delete_range(b, 1, (const uint8_t *)"sthh", 4, (const uint8_t *)"sthi", 4);
        CHECK(arb_store_write(st, b, ARB_STORE_SYNC, &eb) == ARB_OK);
    }
    arb_store_batch_free(b);
    arb_store_close(st);
}

static int verify_head(const arb_ct_verifier *v, const head *h)
{
    uint8_t *root = NULL, *sig = NULL;
    size_t rl = 0, sl = 0;
    arb_ct_dsig d;
    int ok = arb_base64_decode(&root, &rl, h->root, strlen(h->root)) == ARB_OK && rl == 32 &&
             arb_base64_decode(&sig, &sl, h->sig, strlen(h->sig)) == ARB_OK &&
             arb_ct_dsig_decode(&d, sig, sl) == ARB_OK &&
             arb_ct_sth_verify(v, &d, (uint64_t)h->ts, (uint64_t)h->size, root) == ARB_OK;
    free(root);
    free(sig);
    return ok;
}

static void test_history(void)
{
    char datadir[1200], body[8192], *b = NULL;
    const char *keyp = L.keyp, *rootsp = L.rootsp;
    int64_t t = (int64_t)time(NULL);
    arb_ct_verifier *ver = NULL;
    char *err;
    unsigned long long size = 0;
    log_bulk_config bc;
    arb_errbuf eb;
    head served[N_SUBMIT + 1], all[MAX_HEADS], pages[MAX_HEADS];
    int port = 0, n_all;
    arb_proc *p;

    snprintf(datadir, sizeof datadir, "%s/data", tmp);
    CHECK(arb_tl_log_make(&L, tmp));
    CHECK(arb_ct_verifier_from_pem(&ver, L.pub, L.pub_len, &eb) == ARB_OK);
    arb_tl_log_bulk(&L, &bc, datadir, 100, N_BULK);
    bc.batch = 50;
    CHECK(log_bulk_load(&bc, &size, &eb) == ARB_OK);
    CHECK_EQ(size, N_BULK);
    drop_history(datadir);

    /* An old log: the history starts with the head arbord opens at. */
    p = start(datadir, keyp, rootsp, &port);
    CHECK_OR(p != NULL && port > 0, );
    CHECK(get_sth(port, &served[0]));
    CHECK_EQ(served[0].size, N_BULK);
    n_all = walk(port, 0, 1000, all, MAX_HEADS);
    CHECK_EQ(n_all, 1);
    if (n_all == 1)
        CHECK(head_eq(&all[0], &served[0]));

    /* One certificate at a time: a new head each. */
    {
        size_t il = 0;
        uint8_t *ider = pki_der(L.inter, &il);
        char *ib64 = ider ? arb_base64_encode(ider, il) : NULL;
        for (int k = 0; k < N_SUBMIT; k++) {
            char cn[64];
            pki_spec sl = {cn, NULL, 5000 + k, t - 3600, t + 86400 * 30, PKI_EKU_SERVER};
            X509 *leaf;
            uint8_t *der;
            size_t len = 0;
            char *b64;
            snprintf(cn, sizeof cn, "h%d.history.example", k);
            leaf = pki_cert(&sl, L.leaf_key, L.inter, L.inter_key);
            der = leaf ? pki_der(leaf, &len) : NULL;
            b64 = der ? arb_base64_encode(der, len) : NULL;
            CHECK(b64 != NULL && ib64 != NULL);
            if (b64 != NULL && ib64 != NULL) {
                snprintf(body, sizeof body, "{\"chain\":[\"%s\",\"%s\"]}", b64, ib64);
                CHECK_EQ(arb_tl_http(at(port), "/ct/v1/add-chain", body, &b), 200);
                free(b);
                b = NULL;
            }
            CHECK(get_sth(port, &served[k + 1]));
            CHECK_EQ(served[k + 1].size, N_BULK + k + 1);
            free(b64);
            free(der);
            X509_free(leaf);
        }
        free(ib64);
        free(ider);
    }
    /* kill -9: every head served was durable. */
    CHECK_EQ(arb_proc_kill(p, SIGKILL), 0);
    arb_proc_wait(p, WAIT_MS);
    err = arb_proc_output(p, ARB_PROC_STDERR);
    CHECK(err != NULL && strstr(err, "tree-head history starts at tree size 200") != NULL);
    free(err);
    arb_proc_free(p);

    p = start(datadir, keyp, rootsp, &port);
    CHECK_OR(p != NULL && port > 0, );
    n_all = walk(port, 0, 1000, all, MAX_HEADS);
    CHECK(n_all >= N_SUBMIT + 1);
    for (int k = 0; k <= N_SUBMIT; k++) {
        int seen = 0;
        for (int i = 0; i < n_all; i++)
            seen |= head_eq(&all[i], &served[k]);
        CHECK(seen);
    }
    CHECK(n_all > 0 && head_eq(&all[0], &served[0]));
    for (int i = 0; i < n_all; i++) {
        CHECK(verify_head(ver, &all[i]));
        if (i > 0) {
            CHECK(all[i].ts > all[i - 1].ts);
            CHECK(all[i].size >= all[i - 1].size);
        }
    }
    {
        head now;
        CHECK(get_sth(port, &now));
        CHECK(n_all > 0 && head_eq(&all[n_all - 1], &now));
    }
    /* Pages, both ways, give the same heads. */
    for (int dir = 0; dir < 2; dir++) {
        const int limits[] = {1, 3, 7};
        for (size_t li = 0; li < sizeof limits / sizeof *limits; li++) {
            int n = walk(port, dir, limits[li], pages, MAX_HEADS);
            CHECK_EQ(n, n_all);
            for (int i = 0; i < n && i < n_all; i++)
                CHECK(head_eq(&pages[i], &all[i]));
        }
    }
    /* Hostile queries. */
    {
        const char *bad[] = {"/log/v1/sth-history?after=x", "/log/v1/sth-history?limit=0",
                             "/log/v1/sth-history?limit=1001", "/log/v1/sth-history?after=1&before=2",
                             "/log/v1/sth-history?before=-1",
                             "/log/v1/sth-history?after=99999999999999999999999"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            CHECK_EQ(arb_tl_http(at(port), bad[i], NULL, &b), 400);
            free(b);
            b = NULL;
        }
        CHECK_EQ(arb_tl_http(at(port), "/log/heads?before=zz", NULL, &b), 400);
        free(b);
        b = NULL;
    }
    /* The explorer page: a row per head (up to 100), every signature valid. */
    CHECK_EQ(arb_tl_http(at(port), "/log/heads", NULL, &b), 200);
    if (b != NULL) {
        int rows = 0, valid = 0;
        for (const char *q = b; (q = strstr(q, "<td class=\"size\">")) != NULL; q++)
            rows++;
        for (const char *q = b; (q = strstr(q, "class=\"sig-ok\">valid<")) != NULL; q++)
            valid++;
        CHECK_EQ(rows, n_all);
        CHECK_EQ(valid, n_all);
        CHECK(strstr(b, "INVALID") == NULL);
        CHECK(strstr(b, "id=\"heads-plot\"") != NULL);
    }
    free(b);
    CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
    CHECK_EQ(arb_proc_wait(p, WAIT_MS), 0);
    arb_proc_free(p);

    arb_ct_verifier_free(ver);
}

int main(void)
{
    if (!arb_tl_begin(bin, sizeof bin, tmp, sizeof tmp))
        return 1;
    test_history();
    arb_tl_log_free(&L);
    return arb_tl_end(tmp);
}
