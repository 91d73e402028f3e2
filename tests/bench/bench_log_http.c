/* The transparency log over HTTP, against a real arbord (regtest, temporary
 * data directory, generated log key, a root generated here):
 *   write: add-chain throughput and latency (p50/p99) with 1, 16 and 64
 *     concurrent clients (threads, one libcurl handle each, keep-alive), each
 *     entry a distinct leaf generated beforehand (root -> intermediate -> leaf);
 *     next to the crypto bound measured in the same run: one chain validation
 *     plus one SCT signature per entry on 2 threads;
 *   read: get-sth and get-proof-by-hash requests/s on the tree the write phase
 *     built, next to /tile/0/<N> (a full tile) measured the same way.
 * One JSON line per figure on stdout. Usage: bench_log_http [ENTRIES_PER_LEVEL]
 * (default 2000); arbord is found through ARB_BIN (default: ./arbord). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

static int port;
static pid_t child;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char *data;
    size_t len;
} body;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    char *d;

    if (b == NULL)
        return sz * n;
    d = realloc(b->data, b->len + sz * n + 1);
    if (d == NULL)
        return 0;
    memcpy(d + b->len, p, sz * n);
    b->len += sz * n;
    d[b->len] = 0;
    b->data = d;
    return sz * n;
}

/* One request on handle c (kept alive between calls); returns the status. */
static long req(CURL *c, const char *path, const char *post, body *out)
{
    char url[512];
    long st = 0;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (post != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    return st;
}

/* ---- write phase ---- */

static char **bodies; /* add-chain request bodies, one per entry */
static long n_bodies;
static atomic_long next_body;
static double *lat; /* per request, seconds */
static atomic_long errors;

static void *write_worker(void *arg)
{
    CURL *c = curl_easy_init();
    (void)arg;
    for (;;) {
        long i = atomic_fetch_add(&next_body, 1);
        double t0;
        if (i >= n_bodies)
            break;
        t0 = now_s();
        if (req(c, "/ct/v1/add-chain", bodies[i], NULL) != 200)
            atomic_fetch_add(&errors, 1);
        lat[i] = now_s() - t0;
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- crypto bound ---- */

typedef struct {
    const arb_ct_roots *roots;
    const arb_ct_signer *signer;
    arb_ct_cert_ref (*chains)[2];
    long from, to;
    int bad;
} crypto_arg;

static void *crypto_worker(void *arg)
{
    crypto_arg *a = arg;
    arb_errbuf eb;
    for (long i = a->from; i < a->to; i++) {
        arb_ct_chain *ch = NULL;
        arb_ct_sct sct;
        uint8_t sig[ARB_CT_SIG_MAX];
        arb_ct_signed_entry e;
        if (arb_ct_chain_validate(&ch, a->roots, NULL, 0, a->chains[i], 2, &eb) != ARB_OK) {
            a->bad++;
            continue;
        }
        memset(&e, 0, sizeof(e));
        e.entry_type = ARB_CT_ENTRY_X509;
        e.cert = a->chains[i][0].der;
        e.cert_len = a->chains[i][0].len;
        if (arb_ct_sct_sign(a->signer, &sct, sig, 1700000000000ull + (uint64_t)i, &e, NULL, 0) !=
            ARB_OK)
            a->bad++;
        arb_ct_chain_free(ch);
    }
    return NULL;
}

/* ---- read phase ---- */

typedef struct {
    const char **paths;
    size_t n_paths;
    double until;
    long done;
    long bad;
} read_arg;

static void *read_worker(void *arg)
{
    read_arg *a = arg;
    CURL *c = curl_easy_init();
    size_t k = ((size_t)(uintptr_t)a / 64) * 7919;
    body b;
    while (now_s() < a->until) {
        long st = req(c, a->paths[k++ % a->n_paths], NULL, &b);
        free(b.data);
        if (st == 200)
            a->done++;
        else
            a->bad++;
    }
    curl_easy_cleanup(c);
    return NULL;
}

static double read_rate(const char *what, const char **paths, size_t n, int clients, double secs)
{
    pthread_t th[64];
    read_arg a[64];
    long done = 0, bad = 0;
    double t0 = now_s();

    for (int i = 0; i < clients; i++) {
        a[i] = (read_arg){paths, n, t0 + secs, 0, 0};
        pthread_create(&th[i], NULL, read_worker, &a[i]);
    }
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        done += a[i].done;
        bad += a[i].bad;
    }
    double r = (double)done / (now_s() - t0);
    printf("{\"bench\":\"log_http_read\",\"what\":\"%s\",\"clients\":%d,\"requests\":%ld,"
           "\"errors\":%ld,\"req_per_s\":%.0f}\n",
           what, clients, done, bad, r);
    fflush(stdout);
    return r;
}

static void stop_server(void)
{
    int st;
    if (child > 0) {
        kill(child, SIGTERM);
        waitpid(child, &st, 0);
        child = 0;
    }
}

int main(int argc, char **argv)
{
    long per = argc > 1 ? atol(argv[1]) : 2000;
    const int levels[3] = {1, 16, 64};
    int64_t t = (int64_t)time(NULL);
    EVP_PKEY *kr = pki_key(), *ki = pki_key(), *kl = pki_key();
    pki_spec sr = {"Root", NULL, 1, t - 86400, t + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, t - 86400, t + 86400 * 365, PKI_CA};
    X509 *r = pki_cert(&sr, kr, NULL, NULL), *im = pki_cert(&si, ki, r, kr);
    size_t il, pem_len, total;
    uint8_t *id = pki_der(im, &il);
    char *pem = pki_pem(r, &pem_len), tmp[512], datadir[600], roots_path[600], listen[64],
         arbord[1024];
    arb_ct_roots *roots = NULL;
    arb_ct_signer *signer = NULL;
    arb_ct_cert_ref(*chains)[2];
    arb_errbuf eb;
    double bound;
    FILE *f;

    if (per < 64)
        per = 64;
    total = (size_t)per * 3;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!id || !pem || arb_ct_roots_from_pem(&roots, pem, pem_len, &eb) != ARB_OK ||
        arb_test_tmpdir(tmp, sizeof(tmp)) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(datadir, sizeof(datadir), "%s/data", tmp);
    snprintf(roots_path, sizeof(roots_path), "%s/roots.pem", tmp);
    if ((f = fopen(roots_path, "w")) == NULL || fwrite(pem, 1, pem_len, f) != pem_len ||
        fclose(f) != 0) {
        fprintf(stderr, "cannot write roots\n");
        return 1;
    }
    /* Distinct leaves, generated beforehand. */
    chains = calloc(total, sizeof(*chains));
    bodies = calloc(total, sizeof(*bodies));
    lat = calloc(total, sizeof(*lat));
    for (size_t i = 0; i < total; i++) {
        pki_spec sl = {"leaf.example.test", NULL, 1000 + (long)i, t - 3600, t + 86400 * 90, 0};
        X509 *x = pki_cert(&sl, kl, im, ki);
        size_t len;
        chains[i][0].der = pki_der(x, &len);
        chains[i][0].len = len;
        chains[i][1].der = id;
        chains[i][1].len = il;
        X509_free(x);
        bodies[i] = arb_ct_json_chain(chains[i], 2);
        if (bodies[i] == NULL) {
            fprintf(stderr, "cannot build chains\n");
            return 1;
        }
    }

    /* The server. */
    port = arb_test_free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    arb_test_bin(arbord, sizeof(arbord), "arbord");
    child = fork();
    if (child == 0) {
        char logp[700];
        snprintf(logp, sizeof(logp), "%s/arbord.log", tmp);
        if (freopen(logp, "a", stderr) == NULL)
            _exit(126);
        execl(arbord, arbord, "--datadir", datadir, "--listen", listen, "--network", "regtest",
              "--log-roots", roots_path, (char *)NULL);
        _exit(127);
    }
    {
        CURL *c = curl_easy_init();
        int up = 0;
        for (int i = 0; i < 200 && !up; i++) {
            up = req(c, "/ct/v1/get-sth", NULL, NULL) == 200;
            if (!up)
                usleep(50000);
        }
        curl_easy_cleanup(c);
        if (!up) {
            fprintf(stderr, "arbord did not start (%s)\n", arbord);
            stop_server();
            return 1;
        }
    }

    /* Crypto bound: validation + SCT signature per entry, on 2 threads, over
     * the same chains, with a key like the log's. */
    {
        pthread_t th[2];
        crypto_arg ca[2];
        double t0;
        if (arb_ct_signer_generate(&signer, &eb) != ARB_OK)
            return 1;
        t0 = now_s();
        for (int i = 0; i < 2; i++) {
            ca[i] = (crypto_arg){roots, signer, chains, (long)total * i / 2,
                                 (long)total * (i + 1) / 2, 0};
            pthread_create(&th[i], NULL, crypto_worker, &ca[i]);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        bound = (double)total / (now_s() - t0);
        printf("{\"bench\":\"log_crypto_bound\",\"threads\":2,\"entries\":%zu,\"bad\":%d,"
               "\"entries_per_s\":%.0f}\n",
               total, ca[0].bad + ca[1].bad, bound);
        fflush(stdout);
    }

    /* Write phase. */
    for (int lv = 0; lv < 3; lv++) {
        pthread_t th[64];
        long base = per * lv;
        double t0, dt;
        atomic_store(&errors, 0);
        atomic_store(&next_body, 0);
        n_bodies = per;
        char **saved = bodies;
        double *saved_lat = lat;
        bodies += base;
        lat += base;
        t0 = now_s();
        for (int i = 0; i < levels[lv]; i++)
            pthread_create(&th[i], NULL, write_worker, NULL);
        for (int i = 0; i < levels[lv]; i++)
            pthread_join(th[i], NULL);
        dt = now_s() - t0;
        qsort(lat, (size_t)per, sizeof(*lat), cmp_d);
        printf("{\"bench\":\"log_http_add_chain\",\"clients\":%d,\"entries\":%ld,\"errors\":%ld,"
               "\"entries_per_s\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"bound_entries_per_s\":%.0f,"
               "\"ratio\":%.2f}\n",
               levels[lv], per, atomic_load(&errors), per / dt, lat[per / 2] * 1e3,
               lat[per * 99 / 100] * 1e3, bound, per / dt / bound);
        fflush(stdout);
        bodies = saved;
        lat = saved_lat;
    }

    /* Read phase, on the tree just built. Leaf hashes from get-entries. */
    {
        CURL *c = curl_easy_init();
        body b;
        uint64_t size = 0;
        size_t nh = 0;
        char **paths;
        const char *sth_path[1] = {"/ct/v1/get-sth"};
        char tile_path[64];
        const char *tile_paths[1] = {tile_path};
        arb_sha256 *sha = NULL;
        double proofs, tiles;

        if (arb_sha256_new(&sha) != ARB_OK || req(c, "/ct/v1/get-sth", NULL, &b) != 200)
            return 1;
        {
            json_t *d = json_loadb(b.data, b.len, 0, NULL);
            size = (uint64_t)json_integer_value(json_object_get(d, "tree_size"));
            json_decref(d);
        }
        free(b.data);
        paths = calloc(size, sizeof(*paths));
        while (nh < size) {
            char p[128];
            json_t *d, *v;
            size_t i;
            snprintf(p, sizeof(p), "/ct/v1/get-entries?start=%zu&end=%llu", nh,
                     (unsigned long long)size - 1);
            if (req(c, p, NULL, &b) != 200)
                break;
            d = json_loadb(b.data, b.len, 0, NULL);
            free(b.data);
            if (d == NULL || json_array_size(json_object_get(d, "entries")) == 0)
                break;
            json_array_foreach(json_object_get(d, "entries"), i, v)
            {
                const char *li = json_string_value(json_object_get(v, "leaf_input"));
                uint8_t *leaf = NULL;
                size_t ll;
                arb_hash h;
                char hb64[64], *enc, *q;
                if (li == NULL || arb_base64_decode(&leaf, &ll, li, strlen(li)) != ARB_OK)
                    return 1;
                arb_merkle_leaf_hash(sha, &h, leaf, ll);
                free(leaf);
                enc = arb_base64_encode(h.b, 32);
                /* URL-escape '+', '/', '=' */
                q = hb64;
                for (char *s = enc; *s; s++) {
                    if (*s == '+' || *s == '/' || *s == '=') {
                        q += sprintf(q, "%%%02X", (unsigned char)*s);
                    } else {
                        *q++ = *s;
                    }
                }
                *q = 0;
                free(enc);
                paths[nh] = malloc(160);
                snprintf(paths[nh], 160, "/ct/v1/get-proof-by-hash?hash=%s&tree_size=%llu",
                         hb64, (unsigned long long)size);
                nh++;
            }
            json_decref(d);
        }
        curl_easy_cleanup(c);
        arb_sha256_free(sha);
        printf("{\"bench\":\"log_http_tree\",\"tree_size\":%llu,\"note\":\"tree built by the "
               "write phase through add-chain\"}\n",
               (unsigned long long)size);
        {
            /* C2SP tile index: 3-digit groups, all but the last prefixed 'x'. */
            unsigned long long n = size / 256 > 0 ? size / 256 - 1 : 0, div = 1;
            size_t o = (size_t)snprintf(tile_path, sizeof(tile_path), "/tile/0/");
            while (n / div >= 1000)
                div *= 1000;
            for (; div > 1; div /= 1000)
                o += (size_t)snprintf(tile_path + o, sizeof(tile_path) - o, "x%03llu/",
                                      (n / div) % 1000);
            snprintf(tile_path + o, sizeof(tile_path) - o, "%03llu", n % 1000);
            if (size < 256) /* no full tile yet: the partial one */
                snprintf(tile_path, sizeof(tile_path), "/tile/0/000.p/%llu",
                         (unsigned long long)size);
        }
        for (int cl = 1; cl <= 16; cl *= 16) {
            read_rate("get-sth", sth_path, 1, cl, 3.0);
            proofs = read_rate("get-proof-by-hash", (const char **)paths, nh, cl, 3.0);
            tiles = read_rate("tile-0-full", tile_paths, 1, cl, 3.0);
            printf("{\"bench\":\"log_http_read_ratio\",\"clients\":%d,\"proofs_over_tiles\":%.2f}\n",
                   cl, tiles > 0 ? proofs / tiles : 0.0);
            fflush(stdout);
        }
        for (size_t i = 0; i < nh; i++)
            free(paths[i]);
        free(paths);
    }
    stop_server();
    arb_test_rmtree(tmp);
    for (size_t i = 0; i < total; i++) {
        free(bodies[i]);
        free((void *)chains[i][0].der);
    }
    free(bodies);
    free(chains);
    free(lat);
    free(id);
    free(pem);
    arb_ct_roots_free(roots);
    arb_ct_signer_free(signer);
    X509_free(r);
    X509_free(im);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
    curl_global_cleanup();
    return 0;
}
