/* The log served over HTTP by the real arbord process on 127.0.0.1, checked
 * from outside: every SCT and STH signature is verified over TLS structures
 * rebuilt here (a precertificate's logged TBS is taken from the matching final
 * certificate's DER, not from the log's code), every entry's inclusion proof
 * is verified with RFC 9162 verifiers, get-entries are rehashed to the root,
 * tree heads are checked for consistency, the checkpoint and tiles are
 * rehashed to the same root, bad inputs get the right status, and a SIGKILL
 * in the middle of submissions loses nothing that was answered. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "ledger/log/static.h"
#include "merkle/buf.h"
#include "merkle/tile.h"
#include "tests/bench/log_bulk.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "tests/unit/log/pki.h"
#include "tests/unit/log/proofcheck.h"

/* arbord's default checkpoint origin. */
#define ORIGIN "arbor.localhost/log"

/* ---- the client side ---- */

static char tmpdir[512], datadir[600], keyfile[600], rootsfile[600];
static int port;
static pid_t child;
/* More arbord arguments for the next start_server (NULL-terminated). */
static const char *extra_args[16];
static arb_sha256 *sha;
static arb_ct_verifier *verifier;

typedef arb_tl_body body;

/* GET (post == NULL) or POST; returns the status (0 on a transport error). */
static long http(const char *path, const char *post, body *out)
{
    arb_tl_http_opts o = {.port = port, .timeout_s = 30, .flags = ARB_TL_HTTP_NOSIGNAL};

    return arb_tl_http_raw(o, path, post, post != NULL ? strlen(post) : 0, out);
}

static void stop_server(int sig)
{
    int status;

    if (child > 0) {
        kill(child, sig);
        waitpid(child, &status, 0);
        child = 0;
    }
}

static int start_server(void)
{
    char listen[64], arbord[1024];
    int i;

    if (child > 0)
        stop_server(SIGKILL);
    port = arb_test_free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    arb_test_bin(arbord, sizeof(arbord), "arbord");
    child = fork();
    if (child == 0) {
        char logpath[700];
        /* arbord's own log goes to a file beside the data (kept on failure). */
        snprintf(logpath, sizeof(logpath), "%s/arbord.log", tmpdir);
        if (freopen(logpath, "a", stderr) == NULL)
            _exit(126);
        {
            const char *av[40];
            int n = 0;
            av[n++] = arbord;
            av[n++] = "--datadir";
            av[n++] = datadir;
            av[n++] = "--listen";
            av[n++] = listen;
            av[n++] = "--network";
            av[n++] = "regtest";
            if (strcmp(keyfile, "-") != 0) {
                av[n++] = "--log-key";
                av[n++] = keyfile;
            }
            av[n++] = "--log-roots";
            av[n++] = rootsfile;
            for (int k = 0; extra_args[k] != NULL; k++)
                av[n++] = extra_args[k];
            av[n] = NULL;
            execv(arbord, (char *const *)av);
        }
        _exit(127);
    }
    if (child < 0)
        return 0;
    for (i = 0; i < 200; i++) {
        body b;
        long st = http("/ct/v1/get-sth", NULL, &b);
        free(b.data);
        if (st == 200)
            return 1;
        usleep(50000);
    }
    return 0;
}

/* The test PKI. */
static EVP_PKEY *k_root, *k_int, *k_pre, *k_leaf, *k_other;
static X509 *R, *I, *P, *Other;
static uint8_t *R_der, *I_der, *P_der;
static size_t R_len, I_len, P_len;

typedef struct {
    int precert;     /* submitted with add-pre-chain */
    int via_signer;  /* precert issued by the precert signing cert */
    uint8_t *der;    /* the submitted leaf / precert */
    size_t len;
    uint8_t *final;  /* for precerts: the final certificate */
    size_t final_len;
    /* answer */
    int have_sct;
    arb_ct_sct sct;
    uint8_t *sct_store;
    arb_hash leaf_hash;
} cert_case;

static int make_case(cert_case *c, long serial, int precert, int via_signer)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec s = {"leaf.example.test", NULL, serial, now - 3600, now + 86400 * 30, 0};
    X509 *x;

    memset(c, 0, sizeof(*c));
    c->precert = precert;
    c->via_signer = via_signer;
    x = pki_cert(&s, k_leaf, I, k_int);
    if (x == NULL)
        return 0;
    if (precert) {
        X509 *q;
        c->final = pki_der(x, &c->final_len);
        s.flags = PKI_POISON;
        q = via_signer ? pki_cert(&s, k_leaf, P, k_pre) : pki_cert(&s, k_leaf, I, k_int);
        X509_free(x);
        if (q == NULL)
            return 0;
        c->der = pki_der(q, &c->len);
        X509_free(q);
    } else {
        c->der = pki_der(x, &c->len);
        X509_free(x);
    }
    return c->der != NULL;
}

static char *chain_body(const cert_case *c)
{
    arb_ct_cert_ref refs[3];
    size_t n = 0;

    refs[n].der = c->der;
    refs[n++].len = c->len;
    if (c->via_signer) {
        refs[n].der = P_der;
        refs[n++].len = P_len;
    }
    refs[n].der = I_der;
    refs[n++].len = I_len;
    return arb_ct_json_chain(refs, n);
}

/* The signed entry, rebuilt from the certificates alone. */
static int expected_entry(const cert_case *c, arb_ct_signed_entry *e)
{
    memset(e, 0, sizeof(*e));
    if (!c->precert) {
        e->entry_type = ARB_CT_ENTRY_X509;
        e->cert = c->der;
        e->cert_len = c->len;
        return 1;
    }
    e->entry_type = ARB_CT_ENTRY_PRECERT;
    return pki_raw_tbs(c->final, c->final_len, &e->cert, &e->cert_len) &&
           pki_spki_hash(I_der, I_len, e->issuer_key_hash);
}

/* Submits c and checks the SCT. */
/* Sends c's chain and keeps the answer; no checks, so that it can run on
 * several threads (the test counters are not thread-safe). Returns the status. */
static long post_case(cert_case *c)
{
    char *req = chain_body(c);
    body b;
    long st;

    if (req == NULL)
        return 0;
    st = http(c->precert ? "/ct/v1/add-pre-chain" : "/ct/v1/add-chain", req, &b);
    free(req);
    if (st != 200)
        fprintf(stderr, "submit: %ld %s\n", st, b.data ? b.data : "");
    if (st == 200 && arb_ct_json_sct_parse(&c->sct, &c->sct_store, b.data, b.len) == ARB_OK)
        c->have_sct = 1;
    free(b.data);
    return st;
}

/* Checks c's SCT against the certificates and computes its leaf hash. */
static void check_sct(cert_case *c)
{
    arb_ct_signed_entry e;
    arb_ct_leaf leaf;
    arb_buf enc = ARB_BUF_INIT;
    uint64_t idx;

    CHECK(c->have_sct);
    CHECK(expected_entry(c, &e));
    CHECK(arb_ct_sct_verify(verifier, &c->sct, &e) == ARB_OK);
    CHECK(arb_ct_leaf_index_find(&idx, c->sct.ext, c->sct.ext_len) == ARB_OK);
    memset(&leaf, 0, sizeof(leaf));
    leaf.timestamp = c->sct.timestamp;
    leaf.entry = e;
    leaf.ext = c->sct.ext;
    leaf.ext_len = c->sct.ext_len;
    CHECK(arb_ct_leaf_encode(&enc, &leaf) == ARB_OK);
    arb_merkle_leaf_hash(sha, &c->leaf_hash, enc.data, enc.len);
    arb_buf_free(&enc);
}

static void submit(cert_case *c)
{
    CHECK_EQ(post_case(c), 200);
    check_sct(c);
}

typedef struct {
    uint64_t size, ts;
    arb_hash root;
} sth_t;

static int get_sth(sth_t *s)
{
    body b;
    arb_ct_dsig d;
    uint8_t *st = NULL;
    int ok;

    if (http("/ct/v1/get-sth", NULL, &b) != 200)
        return 0;
    ok = arb_ct_json_sth_parse(&s->size, &s->ts, s->root.b, &d, &st, b.data, b.len) == ARB_OK &&
         arb_ct_sth_verify(verifier, &d, s->ts, s->size, s->root.b) == ARB_OK;
    free(st);
    free(b.data);
    return ok;
}

static int b64_hashes(json_t *arr, arb_hash **out, size_t *n)
{
    size_t i;
    json_t *v;

    *n = json_array_size(arr);
    *out = calloc(*n + 1, sizeof(arb_hash));
    if (!json_is_array(arr) || *out == NULL)
        return 0;
    json_array_foreach(arr, i, v)
    {
        uint8_t *h = NULL;
        size_t hl;
        const char *s = json_string_value(v);
        if (s == NULL || arb_base64_decode(&h, &hl, s, strlen(s)) != ARB_OK || hl != 32) {
            free(h);
            return 0;
        }
        memcpy((*out)[i].b, h, 32);
        free(h);
    }
    return 1;
}

/* Inclusion proof of a leaf hash via get-proof-by-hash. */
static void check_inclusion(const arb_hash *lh, uint64_t want_index, const sth_t *s)
{
    char path[512], *b64 = arb_base64_encode(lh->b, 32), *esc;
    body b;
    json_t *doc;
    arb_hash *proof = NULL;
    size_t n;

    CHECK(b64 != NULL);
    if (strchr(b64, '+') != NULL) {
        /* Clients that do not percent-encode '+' are understood too. */
        snprintf(path, sizeof(path), "/ct/v1/get-proof-by-hash?hash=%s&tree_size=%llu", b64,
                 (unsigned long long)s->size);
        CHECK_EQ(http(path, NULL, &b), 200);
        free(b.data);
    }
    esc = curl_easy_escape(NULL, b64, 0);
    free(b64);
    CHECK(esc != NULL);
    snprintf(path, sizeof(path), "/ct/v1/get-proof-by-hash?hash=%s&tree_size=%llu", esc,
             (unsigned long long)s->size);
    curl_free(esc);
    CHECK_EQ(http(path, NULL, &b), 200);
    doc = json_loadb(b.data, b.len, 0, NULL);
    free(b.data);
    CHECK(doc != NULL);
    CHECK_EQ(json_integer_value(json_object_get(doc, "leaf_index")), want_index);
    CHECK(b64_hashes(json_object_get(doc, "audit_path"), &proof, &n));
    json_decref(doc);
    CHECK(pc_verify_inclusion(sha, want_index, s->size, lh, proof, n, &s->root));
    free(proof);
}

static void check_consistency(const sth_t *a, const sth_t *b2)
{
    char path[256];
    body b;
    json_t *doc;
    arb_hash *proof = NULL;
    size_t n;

    snprintf(path, sizeof(path), "/ct/v1/get-sth-consistency?first=%llu&second=%llu",
             (unsigned long long)a->size, (unsigned long long)b2->size);
    CHECK_EQ(http(path, NULL, &b), 200);
    doc = json_loadb(b.data, b.len, 0, NULL);
    free(b.data);
    CHECK(doc != NULL);
    CHECK(b64_hashes(json_object_get(doc, "consistency"), &proof, &n));
    json_decref(doc);
    if (a->size == 0)
        CHECK_EQ(n, 0);
    else
        CHECK(pc_verify_consistency(sha, a->size, b2->size, &a->root, &b2->root, proof, n));
    free(proof);
}

/* Fetches every entry with get-entries, checks each, and rehashes to the root. */
static void check_entries(const sth_t *s, arb_hash *leaf_hashes)
{
    uint64_t start = 0;
    arb_hash root;

    while (start < s->size) {
        char path[128];
        body b;
        json_t *doc, *v;
        size_t i;

        snprintf(path, sizeof(path), "/ct/v1/get-entries?start=%llu&end=%llu",
                 (unsigned long long)start, (unsigned long long)(s->size - 1));
        CHECK_EQ(http(path, NULL, &b), 200);
        doc = json_loadb(b.data, b.len, 0, NULL);
        free(b.data);
        CHECK(doc != NULL && json_array_size(json_object_get(doc, "entries")) > 0);
        json_array_foreach(json_object_get(doc, "entries"), i, v)
        {
            const char *li = json_string_value(json_object_get(v, "leaf_input"));
            const char *ed = json_string_value(json_object_get(v, "extra_data"));
            uint8_t *leaf = NULL, *extra = NULL;
            size_t ll, el;
            arb_ct_leaf l;
            arb_ct_cert_list chain;
            uint64_t idx;

            CHECK(li != NULL && ed != NULL);
            CHECK(arb_base64_decode(&leaf, &ll, li, strlen(li)) == ARB_OK);
            CHECK(arb_base64_decode(&extra, &el, ed, strlen(ed)) == ARB_OK);
            CHECK(arb_ct_leaf_decode(&l, leaf, ll) == ARB_OK);
            CHECK(arb_ct_leaf_index_find(&idx, l.ext, l.ext_len) == ARB_OK);
            CHECK_EQ(idx, start + i);
            arb_merkle_leaf_hash(sha, &leaf_hashes[start + i], leaf, ll);
            if (l.entry.entry_type == ARB_CT_ENTRY_PRECERT)
                CHECK(arb_ct_precert_chain_decode(&chain, extra, el) == ARB_OK);
            else
                CHECK(arb_ct_x509_chain_decode(&chain, extra, el) == ARB_OK);
            /* The stored chain ends in the accepted root. */
            CHECK(chain.n >= 2 && chain.certs[chain.n - 1].len == R_len &&
                  memcmp(chain.certs[chain.n - 1].der, R_der, R_len) == 0);
            arb_ct_cert_list_free(&chain);
            free(leaf);
            free(extra);
        }
        start += json_array_size(json_object_get(doc, "entries"));
        json_decref(doc);
    }
    pc_mth(sha, leaf_hashes, s->size, &root);
    CHECK(arb_hash_eq(&root, &s->root));
}

/* "/tile/..." for a level-0 tile (width 0: full). */
static int tile_url(char *out, size_t n, arb_tile_kind kind, uint64_t index, unsigned width)
{
    arb_tile t;

    t.kind = kind;
    t.level = 0;
    t.index = index;
    t.width = width ? width : ARB_TILE_WIDTH;
    out[0] = '/';
    return arb_tile_path(&t, out + 1, n - 1) == ARB_OK;
}

/* The checkpoint and the tiles describe the same tree as get-sth. */
static void check_static(const sth_t *s, const arb_hash *leaf_hashes)
{
    body b;
    uint64_t size, ts;
    uint8_t root[32];
    char path[128];
    uint64_t tiles = s->size / 256, t;
    unsigned rest = (unsigned)(s->size % 256);

    CHECK_EQ(http("/checkpoint", NULL, &b), 200);
    CHECK(arb_ct_checkpoint_verify(verifier, ORIGIN, b.data, b.len, &size, root, &ts) == ARB_OK);
    free(b.data);
    CHECK_EQ(size, s->size);
    CHECK_EQ(ts, s->ts);
    CHECK_MEM(root, s->root.b, 32);
    for (t = 0; t <= tiles; t++) {
        unsigned w = t < tiles ? 0 : rest, i, count = w ? w : 256;
        arb_cur c;
        if (t == tiles && rest == 0)
            break;
        CHECK(tile_url(path, sizeof(path), ARB_TILE_HASH, t, w));
        CHECK_EQ(http(path, NULL, &b), 200);
        CHECK_EQ(b.len, 32 * count);
        for (i = 0; i < count; i++)
            CHECK_MEM(b.data + 32 * i, leaf_hashes[t * 256 + i].b, 32);
        free(b.data);
        CHECK(tile_url(path, sizeof(path), ARB_TILE_DATA, t, w));
        CHECK_EQ(http(path, NULL, &b), 200);
        {
            /* Asked again (a full one now comes from the log's cache): the
             * same bytes. */
            body again;
            CHECK_EQ(http(path, NULL, &again), 200);
            CHECK(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
            free(again.data);
        }
        c = arb_cur_make(b.data, b.len);
        for (i = 0; i < count; i++) {
            arb_ct_tile_leaf tl;
            arb_hash h;
            size_t k;
            CHECK(arb_ct_tile_leaf_read(&tl, &c) == ARB_OK);
            CHECK(arb_ct_tile_leaf_hash(sha, &h, &tl) == ARB_OK);
            CHECK(arb_hash_eq(&h, &leaf_hashes[t * 256 + i]));
            /* Each fingerprint names an issuer the log serves. */
            for (k = 0; k < tl.n_fingerprints; k++) {
                char hex[65], ip[128];
                body ib;
                uint8_t d[32];
                arb_hex_encode(hex, tl.fingerprints + 32 * k, 32);
                snprintf(ip, sizeof(ip), "/issuer/%s", hex);
                CHECK_EQ(http(ip, NULL, &ib), 200);
                arb_sha256_digest(sha, d, ib.data, ib.len);
                free(ib.data);
                CHECK_MEM(d, tl.fingerprints + 32 * k, 32);
            }
        }
        CHECK_EQ(c.len, 0);
        free(b.data);
    }
    /* A tile beyond the tree does not exist yet. */
    CHECK(tile_url(path, sizeof(path), ARB_TILE_HASH, tiles + 1, 0));
    CHECK_EQ(http(path, NULL, &b), 404);
    free(b.data);
}

static void check_status(const char *path, const char *post, long want)
{
    body b;
    long st = http(path, post, &b);

    if (st != want)
        fprintf(stderr, "%s: got %ld want %ld: %s\n", path, st, want, b.data ? b.data : "");
    if (st >= 400 && b.data != NULL) {
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        CHECK(json_is_string(json_object_get(doc, "error")));
        json_decref(doc);
    }
    free(b.data);
    CHECK_EQ(st, want);
}

static void test_bad_inputs(cert_case *x509_case, cert_case *pre_case)
{
    char *body_x, *body_p;
    int64_t now = (int64_t)time(NULL);
    pki_spec s = {"stranger.example.test", NULL, 999, now, now + 86400, 0};
    X509 *stranger = pki_cert(&s, k_leaf, Other, k_other);
    uint8_t *sd;
    size_t sl;
    arb_ct_cert_ref ref;
    char *sb;

    CHECK(stranger != NULL);
    sd = pki_der(stranger, &sl);
    X509_free(stranger);
    ref.der = sd;
    ref.len = sl;
    sb = arb_ct_json_chain(&ref, 1);
    free(sd);
    body_x = chain_body(x509_case);
    body_p = chain_body(pre_case);
    check_status("/ct/v1/add-chain", "not json", 400);
    check_status("/ct/v1/add-chain", "{\"chain\": []}", 400);
    check_status("/ct/v1/add-chain", "{\"chain\": [\"!!\"]}", 400);
    check_status("/ct/v1/add-chain", "{\"chain\": [\"MAA=\"]}", 400);
    check_status("/ct/v1/add-chain", sb, 400);      /* not from an accepted root */
    check_status("/ct/v1/add-chain", body_p, 400);  /* a precertificate */
    check_status("/ct/v1/add-pre-chain", body_x, 400); /* not a precertificate */
    {
        /* A body over the 1 MiB limit. */
        size_t big = (1u << 20) + 100;
        char *huge = malloc(big + 1);
        CHECK(huge != NULL);
        memset(huge, 'A', big);
        memcpy(huge, "{\"chain\": [\"", 11);
        huge[big - 3] = '"';
        huge[big - 2] = ']';
        huge[big - 1] = '}';
        huge[big] = 0;
        check_status("/ct/v1/add-chain", huge, 413);
        free(huge);
    }
    check_status("/ct/v1/get-entries?start=5&end=2", NULL, 400);
    check_status("/ct/v1/get-entries?start=100000&end=100001", NULL, 400);
    check_status("/ct/v1/get-entries?start=-1&end=2", NULL, 400);
    check_status("/ct/v1/get-entries", NULL, 400);
    check_status("/ct/v1/get-sth-consistency?first=1&second=100000", NULL, 400);
    check_status("/ct/v1/get-sth-consistency?first=3&second=2", NULL, 400);
    check_status("/ct/v1/get-proof-by-hash?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&tree_size=1",
                 NULL, 404);
    check_status("/ct/v1/get-proof-by-hash?hash=AAAA&tree_size=1", NULL, 400);
    check_status("/ct/v1/get-entry-and-proof?leaf_index=5&tree_size=5", NULL, 400);
    check_status("/ct/v1/get-sth", "{}", 405);
    check_status("/ct/v1/add-chain", NULL, 405);
    check_status("/ct/v1/nothing", NULL, 404);
    check_status("/tile/0/x000/001", NULL, 400);
    check_status("/tile/0/001.p/0", NULL, 400);
    check_status("/tile/data/1", NULL, 400);
    check_status("/issuer/00", NULL, 400);
    check_status("/issuer/0000000000000000000000000000000000000000000000000000000000000000", NULL,
                 404);
    free(sb);
    free(body_x);
    free(body_p);
}

static void free_case(cert_case *c)
{
    free(c->der);
    free(c->final);
    free(c->sct_store);
}

typedef struct {
    cert_case *cases;
    size_t from, to;
} worker_arg;

static void *worker(void *arg)
{
    worker_arg *w = arg;
    size_t i;

    for (i = w->from; i < w->to; i++)
        post_case(&w->cases[i]);
    return NULL;
}

#define N_CASES 40

static void test_server(void)
{
    static cert_case cases[N_CASES];
    static arb_hash leaf_hashes[4 * N_CASES];
    pthread_t th[4];
    worker_arg wa[4];
    sth_t s0, s1, s2;
    size_t i;
    body b;

    for (i = 0; i < N_CASES; i++)
        CHECK(make_case(&cases[i], 100 + (long)i, i % 3 != 0, i % 3 == 2));
    CHECK(start_server());
    CHECK(get_sth(&s0));
    CHECK_EQ(s0.size, 0);
    {
        arb_hash empty;
        arb_merkle_empty_root(&empty);
        CHECK(arb_hash_eq(&s0.root, &empty));
    }
    /* get-roots lists the accepted root. */
    CHECK_EQ(http("/ct/v1/get-roots", NULL, &b), 200);
    {
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        const char *r0 = json_string_value(json_array_get(json_object_get(doc, "certificates"), 0));
        char *want = arb_base64_encode(R_der, R_len);
        CHECK(r0 != NULL && want != NULL && strcmp(r0, want) == 0);
        free(want);
        json_decref(doc);
    }
    free(b.data);

    /* The first half one by one, the second half from 4 threads at once
     * (so several land in one sequencer batch). */
    for (i = 0; i < N_CASES / 2; i++)
        submit(&cases[i]);
    CHECK(get_sth(&s1));
    CHECK_EQ(s1.size, N_CASES / 2);
    check_consistency(&s0, &s1);
    for (i = 0; i < 4; i++) {
        wa[i].cases = cases;
        wa[i].from = N_CASES / 2 + i * (N_CASES / 8);
        wa[i].to = wa[i].from + N_CASES / 8;
        CHECK(pthread_create(&th[i], NULL, worker, &wa[i]) == 0);
    }
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (i = N_CASES / 2; i < N_CASES; i++)
        check_sct(&cases[i]);
    CHECK(get_sth(&s2));
    CHECK_EQ(s2.size, N_CASES);
    check_consistency(&s1, &s2);
    check_consistency(&s0, &s2);
    check_consistency(&s2, &s2);

    /* Re-submitting returns the original SCT, and the tree does not grow. */
    {
        cert_case again = cases[7];
        again.sct_store = NULL;
        again.have_sct = 0;
        submit(&again);
        CHECK_EQ(again.sct.timestamp, cases[7].sct.timestamp);
        CHECK(again.sct.sig.sig_len == cases[7].sct.sig.sig_len &&
              memcmp(again.sct.sig.sig, cases[7].sct.sig.sig, again.sct.sig.sig_len) == 0);
        free(again.sct_store);
        CHECK(get_sth(&s1));
        CHECK_EQ(s1.size, N_CASES);
    }

    /* Every entry: get-entries rehashes to the root; every SCT's leaf is included. */
    check_entries(&s2, leaf_hashes);
    for (i = 0; i < N_CASES; i++) {
        uint64_t idx;
        CHECK(arb_ct_leaf_index_find(&idx, cases[i].sct.ext, cases[i].sct.ext_len) == ARB_OK);
        if (!arb_hash_eq(&cases[i].leaf_hash, &leaf_hashes[idx]))
            fprintf(stderr, "case %zu (precert %d signer %d) index %llu\n", i, cases[i].precert,
                    cases[i].via_signer, (unsigned long long)idx);
        CHECK(arb_hash_eq(&cases[i].leaf_hash, &leaf_hashes[idx]));
        check_inclusion(&cases[i].leaf_hash, idx, &s2);
    }
    /* get-entry-and-proof for a few. */
    for (i = 0; i < N_CASES; i += 13) {
        char path[128];
        json_t *doc;
        arb_hash *proof = NULL;
        size_t n;
        snprintf(path, sizeof(path), "/ct/v1/get-entry-and-proof?leaf_index=%zu&tree_size=%llu", i,
                 (unsigned long long)s2.size);
        CHECK_EQ(http(path, NULL, &b), 200);
        doc = json_loadb(b.data, b.len, 0, NULL);
        free(b.data);
        CHECK(b64_hashes(json_object_get(doc, "audit_path"), &proof, &n));
        CHECK(pc_verify_inclusion(sha, i, s2.size, &leaf_hashes[i], proof, n, &s2.root));
        free(proof);
        json_decref(doc);
    }
    check_static(&s2, leaf_hashes);
    test_bad_inputs(&cases[0], &cases[1]);
    /* The log's counters are in the server's metrics. */
    CHECK_EQ(http("/metrics", NULL, &b), 200);
    CHECK(b.data != NULL && strstr(b.data, "arbor_log_scts_issued_total") != NULL &&
          strstr(b.data, "arbor_log_tree_size") != NULL);
    free(b.data);

    /* A clean restart keeps everything: the same tree, and the data tile
     * has the same bytes as before. */
    {
        body before, after;
        char path[128];
        CHECK(tile_url(path, sizeof(path), ARB_TILE_DATA, 0, N_CASES));
        CHECK_EQ(http(path, NULL, &before), 200);
        stop_server(SIGTERM);
        CHECK(start_server());
        CHECK(get_sth(&s1));
        CHECK_EQ(s1.size, s2.size);
        CHECK(arb_hash_eq(&s1.root, &s2.root));
        CHECK_EQ(http(path, NULL, &after), 200);
        CHECK(before.len == after.len && before.len > 0 &&
              memcmp(before.data, after.data, before.len) == 0);
        free(before.data);
        free(after.data);
        check_static(&s1, leaf_hashes);
    }
    stop_server(SIGTERM);
    for (i = 0; i < N_CASES; i++)
        free_case(&cases[i]);
}

/* SIGKILL while submissions are in flight: every answered SCT survives. */
typedef struct {
    cert_case *cases;
    size_t n;
    _Atomic size_t done;
} crash_arg;

static void *crash_worker(void *arg)
{
    crash_arg *a = arg;
    size_t i;

    for (i = 0; i < a->n; i++) {
        if (post_case(&a->cases[i]) != 200)
            break; /* the server is gone */
        atomic_store(&a->done, i + 1);
    }
    return NULL;
}

static void test_crash(void)
{
    enum { N = 60 };
    static cert_case cases[N];
    crash_arg a;
    pthread_t th;
    sth_t before, after;
    size_t i, answered = 0;

    arb_test_rmtree(datadir);
    for (i = 0; i < N; i++)
        CHECK(make_case(&cases[i], 5000 + (long)i, i % 2, 0));
    CHECK(start_server());
    a.cases = cases;
    a.n = N;
    a.done = 0;
    CHECK(pthread_create(&th, NULL, crash_worker, &a) == 0);
    while (atomic_load(&a.done) < 15)
        usleep(2000);
    CHECK(get_sth(&before));
    stop_server(SIGKILL);
    pthread_join(th, NULL);
    CHECK(start_server());
    CHECK(get_sth(&after));
    CHECK(after.size >= before.size);
    check_consistency(&before, &after);
    for (i = 0; i < N; i++) {
        arb_ct_signed_entry e;
        arb_ct_leaf leaf;
        arb_buf enc = ARB_BUF_INIT;
        uint64_t idx;
        if (!cases[i].have_sct)
            continue;
        answered++;
        CHECK(expected_entry(&cases[i], &e));
        CHECK(arb_ct_sct_verify(verifier, &cases[i].sct, &e) == ARB_OK);
        CHECK(arb_ct_leaf_index_find(&idx, cases[i].sct.ext, cases[i].sct.ext_len) == ARB_OK);
        CHECK(idx < after.size);
        memset(&leaf, 0, sizeof(leaf));
        leaf.timestamp = cases[i].sct.timestamp;
        leaf.entry = e;
        leaf.ext = cases[i].sct.ext;
        leaf.ext_len = cases[i].sct.ext_len;
        CHECK(arb_ct_leaf_encode(&enc, &leaf) == ARB_OK);
        arb_merkle_leaf_hash(sha, &cases[i].leaf_hash, enc.data, enc.len);
        arb_buf_free(&enc);
        check_inclusion(&cases[i].leaf_hash, idx, &after);
    }
    CHECK(answered >= 15);
    /* The log keeps working after the crash. */
    {
        cert_case extra;
        CHECK(make_case(&extra, 9999, 0, 0));
        submit(&extra);
        free_case(&extra);
    }
    stop_server(SIGTERM);
    for (i = 0; i < N; i++)
        free_case(&cases[i]);
}

/* Without --log-key the server generates its key into the data directory
 * (mode 0600) and keeps it across restarts. */
static void test_generated_key(void)
{
    char saved[sizeof(keyfile)], path[700];
    uint8_t *pem;
    size_t len;
    struct stat st;
    arb_ct_verifier *saved_v = verifier;
    arb_ct_signer *s = NULL;
    arb_errbuf eb;
    sth_t a, b;

    arb_test_rmtree(datadir);
    memcpy(saved, keyfile, sizeof(saved));
    snprintf(keyfile, sizeof(keyfile), "-");
    verifier = NULL;
    CHECK(start_server());
    snprintf(path, sizeof(path), "%s/log-key.pem", datadir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK((pem = arb_test_read_file(path, &len)) != NULL);
    CHECK(arb_ct_signer_from_pem(&s, (const char *)pem, len, &eb) == ARB_OK);
    free(pem);
    {
        char *pub = NULL;
        size_t pub_len;
        CHECK(arb_ct_signer_public_pem(s, &pub, &pub_len) == ARB_OK);
        CHECK(arb_ct_verifier_from_pem(&verifier, pub, pub_len, &eb) == ARB_OK);
        free(pub);
    }
    arb_ct_signer_free(s);
    CHECK(get_sth(&a));
    stop_server(SIGTERM);
    CHECK(start_server());
    CHECK(get_sth(&b)); /* still signed by the same key */
    CHECK_EQ(a.ts, b.ts);
    stop_server(SIGTERM);
    arb_ct_verifier_free(verifier);
    verifier = saved_v;
    memcpy(keyfile, saved, sizeof(saved));
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, 1, n, f) == n;

    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

/* Runs arbord with one bad log option: a usage error (exit 2, one line). */
static void check_usage_error(const char *opt, const char *val)
{
    char arbord[1024], errpath[700];
    pid_t pid;
    int status = 0;
    uint8_t *msg;
    size_t len, lines = 0;

    arb_test_bin(arbord, sizeof(arbord), "arbord");
    snprintf(errpath, sizeof(errpath), "%s/usage.err", tmpdir);
    pid = fork();
    if (pid == 0) {
        if (freopen(errpath, "w", stderr) == NULL)
            _exit(126);
        execl(arbord, arbord, "--datadir", datadir, "--listen", "127.0.0.1:0", opt, val,
              (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 2);
    CHECK((msg = arb_test_read_file(errpath, &len)) != NULL);
    for (size_t i = 0; i < len; i++)
        lines += msg[i] == '\n';
    CHECK_EQ(lines, 1);
    free(msg);
}

static void rfc3339(char *out, size_t n, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The log options on arbord's command line: origin, notAfter shard window,
 * get-entries batch limit; and bad values as usage errors. */
static void test_options(void)
{
    enum { N = 5 };
    static cert_case cases[N];
    int64_t now = (int64_t)time(NULL);
    char start[40], end[40], checkpoint_first[128], conf[700], conf_text[256];
    const char *origin = "shard.example.test/2026";
    sth_t a, b2;
    body b;
    size_t i;

    check_usage_error("--log-pool-ms", "60001");
    check_usage_error("--log-pool-ms", "30000"); /* not below the answer timeout */
    check_usage_error("--log-max-cert", "255");
    check_usage_error("--log-max-entries", "-1");
    check_usage_error("--log-max-chain", "12x");
    check_usage_error("--log-max-body", "10");
    check_usage_error("--log-not-after-start", "2026-02-30T00:00:00Z");
    check_usage_error("--log-not-after-end", "tomorrow");
    check_usage_error("--log-origin", "two words");

    /* The window [now + 10 days, now + 60 days): the cases (notAfter now + 30
     * days) are inside; one with notAfter now + 90 days is not. */
    rfc3339(start, sizeof(start), now + 86400 * 10);
    snprintf(end, sizeof(end), "%lld", (long long)(now + 86400 * 60));
    arb_test_rmtree(datadir);
    /* The origin and the batch limit from a config file, the rest as flags. */
    snprintf(conf, sizeof(conf), "%s/arbord.conf", tmpdir);
    snprintf(conf_text, sizeof(conf_text),
             "# log options\nlog-origin = %s\nlog-max-entries = 3\n", origin);
    CHECK(write_file(conf, conf_text, strlen(conf_text)));
    extra_args[0] = "--config";
    extra_args[1] = conf;
    extra_args[2] = "--log-not-after-start";
    extra_args[3] = start;
    extra_args[4] = "--log-not-after-end";
    extra_args[5] = end;
    extra_args[6] = "--log-pool-ms";
    extra_args[7] = "10";
    extra_args[8] = NULL;
    for (i = 0; i < N; i++)
        CHECK(make_case(&cases[i], 500 + (long)i, 0, 0));
    CHECK(start_server());
    for (i = 0; i < N; i++)
        submit(&cases[i]);
    CHECK(get_sth(&a));
    CHECK_EQ(a.size, N);

    /* Outside the shard: 400 with a JSON reason, and the tree is unchanged. */
    {
        pki_spec s = {"late.example.test", NULL, 900, now - 3600, now + 86400 * 90, 0};
        X509 *x = pki_cert(&s, k_leaf, I, k_int);
        arb_ct_cert_ref refs[2];
        char *req;
        json_t *doc;
        size_t len;
        uint8_t *der;

        CHECK(x != NULL);
        der = pki_der(x, &len);
        X509_free(x);
        CHECK(der != NULL);
        refs[0].der = der;
        refs[0].len = len;
        refs[1].der = I_der;
        refs[1].len = I_len;
        req = arb_ct_json_chain(refs, 2);
        free(der);
        CHECK(req != NULL);
        CHECK_EQ(http("/ct/v1/add-chain", req, &b), 400);
        free(req);
        doc = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
        free(b.data);
        CHECK(doc != NULL && json_is_string(json_object_get(doc, "error")) &&
              strlen(json_string_value(json_object_get(doc, "error"))) > 0);
        json_decref(doc);
        usleep(100000); /* longer than the pool window */
        CHECK(get_sth(&b2));
        CHECK_EQ(b2.size, a.size);
        CHECK(arb_hash_eq(&a.root, &b2.root));
    }

    /* The checkpoint's first line is the origin. */
    CHECK_EQ(http("/checkpoint", NULL, &b), 200);
    CHECK(b.data != NULL && strchr(b.data, '\n') != NULL);
    snprintf(checkpoint_first, sizeof(checkpoint_first), "%.*s",
             (int)(strchr(b.data, '\n') - b.data), b.data);
    free(b.data);
    CHECK_STR(checkpoint_first, origin);

    /* get-entries for 0..4 answers the first 3 (the configured maximum). */
    CHECK_EQ(http("/ct/v1/get-entries?start=0&end=4", NULL, &b), 200);
    {
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        free(b.data);
        CHECK(doc != NULL);
        CHECK_EQ(json_array_size(json_object_get(doc, "entries")), 3);
        json_decref(doc);
    }
    /* The rest, entries 3..4, in the next request. */
    CHECK_EQ(http("/ct/v1/get-entries?start=3&end=4", NULL, &b), 200);
    {
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        free(b.data);
        CHECK(doc != NULL);
        CHECK_EQ(json_array_size(json_object_get(doc, "entries")), 2);
        json_decref(doc);
    }
    stop_server(SIGTERM);
    extra_args[0] = NULL;
    for (i = 0; i < N; i++)
        free_case(&cases[i]);
}

/* A metric's value in /metrics (0 when absent). */
static unsigned long long metric(const char *name)
{
    body b;
    unsigned long long v = 0;
    const char *p;

    if (http("/metrics", NULL, &b) == 200 && b.data != NULL) {
        for (p = strstr(b.data, name); p != NULL; p = strstr(p + 1, name))
            if ((p == b.data || p[-1] == '\n') && p[strlen(name)] == ' ') {
                v = strtoull(p + strlen(name) + 1, NULL, 10);
                break;
            }
    }
    free(b.data);
    return v;
}

/* --log-max-cert: a certificate larger than the limit is refused with 400 and
 * a JSON reason naming the limit, counted in arbor_log_submissions_rejected_total,
 * and the tree does not change; one of exactly the limit is accepted. */
static void test_max_cert(void)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec s = {"big.example.test", NULL, 800, now - 3600, now + 86400 * 30, 0};
    EVP_PKEY *rsa = EVP_RSA_gen(2048); /* a larger key: a larger certificate */
    X509 *x = rsa ? pki_cert(&s, rsa, I, k_int) : NULL;
    cert_case ok_case, big;
    char limit[32], conf[700], conf_text[64];
    size_t max;
    unsigned long long rejected;
    sth_t a, b2;
    body b;
    json_t *doc;

    CHECK(x != NULL && make_case(&ok_case, 801, 0, 0));
    memset(&big, 0, sizeof(big));
    big.der = x ? pki_der(x, &big.len) : NULL;
    X509_free(x);
    EVP_PKEY_free(rsa);
    CHECK(big.der != NULL);
    max = ok_case.len > I_len ? ok_case.len : I_len;
    CHECK(big.len > max);
    snprintf(limit, sizeof(limit), "%zu", max);
    /* The limit from the config file (the flag is the same key). */
    snprintf(conf, sizeof(conf), "%s/max-cert.conf", tmpdir);
    snprintf(conf_text, sizeof(conf_text), "log-max-cert = %s\n", limit);
    CHECK(write_file(conf, conf_text, strlen(conf_text)));
    arb_test_rmtree(datadir);
    extra_args[0] = "--config";
    extra_args[1] = conf;
    extra_args[2] = NULL;
    CHECK(start_server());
    submit(&ok_case); /* the largest certificate in its chain is exactly the limit */
    CHECK(get_sth(&a));
    CHECK_EQ(a.size, 1);
    rejected = metric("arbor_log_submissions_rejected_total");
    {
        char *req = chain_body(&big);
        CHECK(req != NULL);
        CHECK_EQ(http("/ct/v1/add-chain", req, &b), 400);
        free(req);
    }
    doc = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
    free(b.data);
    CHECK(doc != NULL && json_is_string(json_object_get(doc, "error")));
    if (doc != NULL && json_is_string(json_object_get(doc, "error")))
        CHECK(strstr(json_string_value(json_object_get(doc, "error")), limit) != NULL);
    json_decref(doc);
    CHECK_EQ(metric("arbor_log_submissions_rejected_total"), rejected + 1);
    CHECK(get_sth(&b2));
    CHECK_EQ(b2.size, a.size);
    CHECK(arb_hash_eq(&a.root, &b2.root));
    stop_server(SIGTERM);
    extra_args[0] = NULL;
    free_case(&ok_case);
    free_case(&big);
}

/* A log bulk-loaded through the log's own sequencer (tests/bench/log_bulk.h,
 * which the read benchmark uses to build 10^6 entries) is served like one
 * built by submissions: every entry, inclusion proof, tile, issuer and the
 * tree head check out; a sample of the stored chains validates against the
 * root; re-submitting a loaded certificate returns its entry; arbord accepts
 * new submissions on top and keeps everything across a restart. */
static void test_bulk(void)
{
    enum { N = 2000 };
    static arb_hash leaf_hashes[N + 1];
    log_bulk_config bc;
    arb_ct_signer *signer = NULL;
    arb_ct_roots *roots = NULL;
    unsigned long long size = 0;
    uint8_t *key = NULL;
    char *pem;
    size_t key_len = 0, pem_len;
    cert_case c;
    sth_t a, b2, b3;
    arb_errbuf eb;
    uint64_t i;

    key = arb_test_read_file(keyfile, &key_len);
    CHECK(key != NULL && arb_ct_signer_from_pem(&signer, (const char *)key, key_len, &eb) == ARB_OK);
    free(key);
    pem = pki_pem(R, &pem_len);
    CHECK(pem != NULL && arb_ct_roots_from_pem(&roots, pem, pem_len, &eb) == ARB_OK);
    free(pem);
    if (signer == NULL || roots == NULL)
        goto out;
    arb_test_rmtree(datadir);
    memset(&bc, 0, sizeof(bc));
    bc.datadir = datadir;
    bc.signer = signer;
    bc.origin = ORIGIN;
    bc.root = R;
    bc.inter = I;
    bc.inter_key = k_int;
    bc.leaf_key = k_leaf;
    bc.first_serial = 100000;
    bc.n = N;
    bc.batch = 256; /* several batches */
    if (log_bulk_load(&bc, &size, &eb) != ARB_OK)
        fprintf(stderr, "bulk load: %s\n", eb.msg);
    CHECK_EQ(size, N);
    CHECK(start_server());
    CHECK(get_sth(&a));
    CHECK_EQ(a.size, N);
    check_entries(&a, leaf_hashes);
    for (i = 0; i < N; i++)
        check_inclusion(&leaf_hashes[i], i, &a);
    check_static(&a, leaf_hashes);

    /* The stored chains are real: a sample validates (leaf and intermediate
     * submitted as a CA would) and re-submitting it returns that entry. */
    for (i = 7; i < N; i += 331) {
        char path[128], *req;
        body b;
        json_t *doc, *e;
        const char *li, *ed;
        uint8_t *leaf = NULL, *extra = NULL;
        size_t ll, el;
        arb_ct_leaf l;
        arb_ct_cert_list chain;
        arb_ct_cert_ref refs[2];
        arb_ct_chain *v = NULL;
        arb_ct_sct sct;
        uint8_t *sct_store = NULL;
        uint64_t idx;

        snprintf(path, sizeof(path), "/ct/v1/get-entries?start=%llu&end=%llu",
                 (unsigned long long)i, (unsigned long long)i);
        CHECK_EQ(http(path, NULL, &b), 200);
        doc = json_loadb(b.data, b.len, 0, NULL);
        free(b.data);
        e = json_array_get(json_object_get(doc, "entries"), 0);
        li = json_string_value(json_object_get(e, "leaf_input"));
        ed = json_string_value(json_object_get(e, "extra_data"));
        CHECK(li != NULL && ed != NULL);
        if (li == NULL || ed == NULL) {
            json_decref(doc);
            continue;
        }
        CHECK(arb_base64_decode(&leaf, &ll, li, strlen(li)) == ARB_OK);
        CHECK(arb_base64_decode(&extra, &el, ed, strlen(ed)) == ARB_OK);
        json_decref(doc);
        CHECK(arb_ct_leaf_decode(&l, leaf, ll) == ARB_OK);
        CHECK(arb_ct_x509_chain_decode(&chain, extra, el) == ARB_OK);
        CHECK(chain.n == 2 && chain.certs[0].len == I_len &&
              memcmp(chain.certs[0].der, I_der, I_len) == 0);
        refs[0].der = l.entry.cert;
        refs[0].len = l.entry.cert_len;
        refs[1].der = I_der;
        refs[1].len = I_len;
        CHECK(arb_ct_chain_validate(&v, roots, NULL, 0, refs, 2, &eb) == ARB_OK);
        arb_ct_chain_free(v);
        req = arb_ct_json_chain(refs, 2);
        CHECK(req != NULL);
        CHECK_EQ(http("/ct/v1/add-chain", req, &b), 200);
        free(req);
        CHECK(arb_ct_json_sct_parse(&sct, &sct_store, b.data, b.len) == ARB_OK);
        free(b.data);
        CHECK(arb_ct_sct_verify(verifier, &sct, &l.entry) == ARB_OK);
        CHECK_EQ(sct.timestamp, l.timestamp);
        CHECK(arb_ct_leaf_index_find(&idx, sct.ext, sct.ext_len) == ARB_OK);
        CHECK_EQ(idx, i);
        free(sct_store);
        arb_ct_cert_list_free(&chain);
        free(leaf);
        free(extra);
    }
    CHECK(get_sth(&b2));
    CHECK_EQ(b2.size, N);

    /* A normal submission on top. */
    CHECK(make_case(&c, 900000, 0, 0));
    submit(&c);
    CHECK(get_sth(&b2));
    CHECK_EQ(b2.size, N + 1);
    check_consistency(&a, &b2);
    check_inclusion(&c.leaf_hash, N, &b2);
    free_case(&c);
    stop_server(SIGTERM);
    CHECK(start_server());
    CHECK(get_sth(&b3));
    CHECK_EQ(b3.size, N + 1);
    CHECK(arb_hash_eq(&b3.root, &b2.root));
    stop_server(SIGTERM);
out:
    arb_ct_roots_free(roots);
    arb_ct_signer_free(signer);
}

static int setup(void)
{
    int64_t now = (int64_t)time(NULL);
    pki_spec sr = {"Root", NULL, 1, now - 86400, now + 86400 * 3650, PKI_CA};
    pki_spec si = {"Intermediate", NULL, 2, now - 86400, now + 86400 * 365, PKI_CA};
    pki_spec sp = {"Precert Signer", NULL, 3, now - 86400, now + 86400 * 365, PKI_CA | PKI_PRE_SIGNER};
    pki_spec so = {"Other Root", NULL, 1, now - 86400, now + 86400, PKI_CA};
    arb_ct_signer *s = NULL;
    char *pem = NULL, *pub = NULL;
    size_t pem_len, pub_len;
    arb_errbuf eb;
    int ok;

    k_root = pki_key();
    k_int = pki_key();
    k_pre = pki_key();
    k_leaf = pki_key();
    k_other = pki_key();
    R = pki_cert(&sr, k_root, NULL, NULL);
    I = pki_cert(&si, k_int, R, k_root);
    P = pki_cert(&sp, k_pre, I, k_int);
    Other = pki_cert(&so, k_other, NULL, NULL);
    if (!R || !I || !P || !Other)
        return 0;
    R_der = pki_der(R, &R_len);
    I_der = pki_der(I, &I_len);
    P_der = pki_der(P, &P_len);
    if (arb_test_tmpdir(tmpdir, sizeof(tmpdir)) != 0)
        return 0;
    snprintf(datadir, sizeof(datadir), "%s/data", tmpdir);
    snprintf(keyfile, sizeof(keyfile), "%s/log-key.pem", tmpdir);
    snprintf(rootsfile, sizeof(rootsfile), "%s/roots.pem", tmpdir);
    if (arb_ct_signer_generate(&s, &eb) != ARB_OK ||
        arb_ct_signer_private_pem(s, &pem, &pem_len) != ARB_OK ||
        arb_ct_signer_public_pem(s, &pub, &pub_len) != ARB_OK)
        return 0;
    ok = write_file(keyfile, pem, pem_len) &&
         arb_ct_verifier_from_pem(&verifier, pub, pub_len, &eb) == ARB_OK;
    free(pem);
    free(pub);
    arb_ct_signer_free(s);
    pem = pki_pem(R, &pem_len);
    ok = ok && pem != NULL && write_file(rootsfile, pem, pem_len);
    free(pem);
    return ok;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    if (setup()) {
        test_server();
        test_crash();
        test_generated_key();
        test_options();
        test_max_cert();
        test_bulk();
    } else {
        arb_test_fail(__FILE__, __LINE__, "setup failed");
    }
    if (child > 0)
        stop_server(SIGKILL);
    if (arb_test_failed == 0)
        arb_test_rmtree(tmpdir);
    else
        fprintf(stderr, "kept %s (arbord.log)\n", tmpdir);
    arb_ct_verifier_free(verifier);
    arb_sha256_free(sha);
    curl_global_cleanup();
    return arb_test_done();
}
