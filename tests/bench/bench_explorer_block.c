/* The explorer's page of a big block: a real regtest arbord is given 103
 * blocks through POST /chain/v1/block (built and signed here): 101 to mature
 * a coinbase, one whose transaction splits it into 2,000 outputs, and one
 * with 2,000 signed transactions spending them (2,001 with the coinbase).
 * Then GET /chain/block/<hash> of that block is timed N times (default 200)
 * over one keep-alive connection. Prints one JSON line: render time p50 /
 * p99 / max in ms, the page's bytes and the machine's load averages.
 * Usage: bench_explorer_block [renders] (arbord is the one beside this
 * program, or in $ARB_BIN) */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/chain/block.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/mine.h"
#include "ledger/chain/params.h"
#include "ledger/chain/schnorr.h"
#include "merkle/buf.h"
#include "tests/proc.h"
#include "tests/test.h"

#define N_TXS 2000

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

_Noreturn static void die(const char *m)
{
    fprintf(stderr, "bench_explorer_block: %s\n", m);
    exit(1);
}

typedef struct {
    char *p;
    size_t n;
} body;

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    char *nb = realloc(b->p, b->n + sz * n + 1);
    if (nb == NULL)
        return 0;
    memcpy(nb + b->n, p, sz * n);
    b->n += sz * n;
    nb[b->n] = 0;
    b->p = nb;
    return sz * n;
}

static long request(CURL *h, const char *url, const char *post, body *out)
{
    long st = 0;
    struct curl_slist *hd = NULL;
    out->n = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    if (post != NULL) {
        hd = curl_slist_append(hd, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    }
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(hd);
    return st;
}

/* Builds, mines and submits a block with txs (moved in; no name or anchor
 * payloads, so the state root stays the empty one). */
static void submit(CURL *h, int port, const arb_chain_params *p, arb_sha256 *sha, arb_hash *parent,
                   uint32_t *ptime, uint32_t height, const uint8_t pk[32], arb_tx *txs, size_t n,
                   uint64_t fees, arb_block *keep)
{
    arb_block b;
    arb_buf raw = ARB_BUF_INIT;
    char url[128], *post = NULL, *hex = NULL;
    body out = {0};
    arb_block_init(&b);
    if (arb_chain_block_build(p, sha, &b, parent, *ptime, height, 0x207fffff, 0, pk, txs, n,
                              fees, NULL) != ARB_OK ||
        !arb_chain_mine_header(&b.header, 0, 1ULL << 32))
        die("cannot build a block");
    arb_block_write(&raw, &b);
    if (raw.oom || (hex = malloc(2 * raw.len + 1)) == NULL ||
        (post = malloc(2 * raw.len + 32)) == NULL)
        die("out of memory");
    arb_hex_encode(hex, raw.data, raw.len);
    snprintf(post, 2 * raw.len + 32, "{\"hex\":\"%s\"}", hex);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/chain/v1/block", port);
    if (request(h, url, post, &out) != 200) {
        fprintf(stderr, "block %u: %s\n", height, out.p ? out.p : "(no answer)");
        die("arbord refused a block");
    }
    free(out.p);
    free(post);
    free(hex);
    arb_buf_free(&raw);
    arb_header_hash(sha, parent, &b.header);
    *ptime = b.header.time;
    if (keep != NULL)
        *keep = b;
    else
        arb_block_clear(&b);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int renders = argc > 1 ? atoi(argv[1]) : 200;
    const arb_chain_params *p = arb_chain_params_get("regtest");
    char bin[4096], dir[1024], datadir[1100], url[256], hx[65];
    arb_sha256 *sha;
    arb_schnorr *s;
    uint8_t sk[32], pk[32];
    arb_hash parent, cb1_txid, split_txid;
    uint32_t ptime = p->genesis_time;
    uint64_t cb_amount = 0;
    arb_proc *proc;
    int port;
    CURL *h;
    body out = {0};
    double *t, la[3] = {0, 0, 0};

    if (renders < 1)
        die("usage: bench_explorer_block [renders]");
    if (getenv("ARB_BIN") != NULL) {
        arb_test_bin(bin, sizeof bin, "arbord");
    } else { /* beside this program */
        ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 8);
        char *slash;
        bin[n > 0 ? n : 0] = 0;
        slash = strrchr(bin, '/');
        snprintf(slash ? slash + 1 : bin, 8, "arbord");
    }
    if (access(bin, X_OK) != 0 || arb_test_tmpdir(dir, sizeof dir) != 0)
        die("no arbord beside this program, or no temporary directory");
    snprintf(datadir, sizeof datadir, "%s/data", dir);
    const char *av[] = {bin, "--datadir", datadir, "--listen", "127.0.0.1:0", "--network",
                        "regtest", "--json", "--log-level", "warn", NULL};
    if (arb_proc_spawn(&proc, av) != 0 || (port = arb_proc_wait_port(proc, 30000)) <= 0)
        die("arbord did not start");
    if (arb_sha256_new(&sha) != ARB_OK || arb_schnorr_new(&s) != ARB_OK)
        die("init");
    for (int i = 0; i < 32; i++)
        sk[i] = (uint8_t)(i + 11);
    if (!arb_schnorr_pubkey(s, pk, sk))
        die("key");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    arb_chain_genesis_hash(p, &parent);

    /* 101 blocks: block 1's coinbase matures. */
    for (uint32_t ht = 1; ht <= p->coinbase_maturity + 1; ht++) {
        arb_block b;
        submit(h, port, p, sha, &parent, &ptime, ht, pk, NULL, 0, 0, ht == 1 ? &b : NULL);
        if (ht == 1) {
            if (arb_tx_txid(sha, &cb1_txid, &b.tx[0]) != ARB_OK)
                die("txid");
            cb_amount = b.tx[0].out[0].amount;
            arb_block_clear(&b);
        }
    }
    /* The split: block 1's coinbase into N_TXS outputs. */
    {
        arb_tx tx;
        arb_txout spent = {cb_amount, {0}};
        uint64_t each = (cb_amount - 100000) / N_TXS;
        memcpy(spent.key, pk, 32);
        arb_tx_init(&tx);
        if (arb_tx_alloc(&tx, 1, N_TXS) != ARB_OK)
            die("out of memory");
        tx.version = 1;
        tx.in[0].txid = cb1_txid;
        tx.in[0].index = 0;
        for (size_t o = 0; o < N_TXS; o++) {
            tx.out[o].amount = each;
            memcpy(tx.out[o].key, pk, 32);
        }
        if (arb_chain_sign_input(p, sha, s, &tx, 0, &spent, sk, NULL) != ARB_OK ||
            arb_tx_txid(sha, &split_txid, &tx) != ARB_OK)
            die("sign");
        submit(h, port, p, sha, &parent, &ptime, p->coinbase_maturity + 2, pk, &tx, 1,
               cb_amount - each * N_TXS, NULL);
        /* The big block: N_TXS transactions, each spending one split output. */
        arb_tx *txs = calloc(N_TXS, sizeof *txs);
        uint64_t fees = 0;
        if (txs == NULL)
            die("out of memory");
        for (size_t k = 0; k < N_TXS; k++) {
            arb_txout so = {each, {0}};
            memcpy(so.key, pk, 32);
            arb_tx_init(&txs[k]);
            if (arb_tx_alloc(&txs[k], 1, 1) != ARB_OK)
                die("out of memory");
            txs[k].version = 1;
            txs[k].in[0].txid = split_txid;
            txs[k].in[0].index = (uint32_t)k;
            txs[k].out[0].amount = each - 500;
            memcpy(txs[k].out[0].key, pk, 32);
            txs[k].out[0].key[31] ^= (uint8_t)k; /* many addresses */
            fees += 500;
            if (arb_chain_sign_input(p, sha, s, &txs[k], 0, &so, sk, NULL) != ARB_OK)
                die("sign");
        }
        submit(h, port, p, sha, &parent, &ptime, p->coinbase_maturity + 3, pk, txs, N_TXS, fees,
               NULL);
        free(txs);
    }

    /* Render the big block's page. */
    arb_chain_hash_hex(hx, &parent);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/chain/block/%s", port, hx);
    if ((t = calloc((size_t)renders, sizeof *t)) == NULL)
        die("out of memory");
    if (request(h, url, NULL, &out) != 200 || out.p == NULL || strstr(out.p, "2001</td>") == NULL)
        die("the block page does not list 2,001 transactions");
    for (int k = 0; k < renders; k++) {
        double t0 = now_s();
        if (request(h, url, NULL, &out) != 200)
            die("a render failed");
        t[k] = (now_s() - t0) * 1000.0;
    }
    qsort(t, (size_t)renders, sizeof *t, cmp_d);
    if (getloadavg(la, 3) != 3)
        la[0] = la[1] = la[2] = -1;
    printf("{\"bench\":\"explorer_block\",\"transactions\":%d,\"renders\":%d,\"page_bytes\":%zu,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"loadavg\":[%.2f,%.2f,%.2f]}\n",
           N_TXS + 1, renders, out.n, t[renders / 2],
           t[(size_t)((double)renders * 0.99) < (size_t)renders ? (size_t)((double)renders * 0.99)
                                                                 : (size_t)renders - 1],
           t[renders - 1], la[0], la[1], la[2]);
    free(t);
    free(out.p);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    arb_proc_kill(proc, SIGTERM);
    arb_proc_wait(proc, 30000);
    arb_proc_free(proc);
    arb_sha256_free(sha);
    arb_schnorr_free(s);
    arb_test_rmtree(dir);
    return 0;
}
