/* Block propagation over a random graph of arbord processes
 * (docs/benchmarks.md):
 *   bench_p2p_propagation [NODES [BLOCKS [TXS [COMPACT]]]]   (20 10 1000 1)
 * starts NODES arbords on loopback, each dialling 2-4 random others (4-8
 * peers each), funds TXS outputs, then BLOCKS times: submits TXS
 * transactions to node 0, waits until every mempool has them, mines a block
 * on node 0 and times until every node has it. Prints p50/p99 of that time
 * and the bytes all nodes sent per block relayed (p2p_bytes_sent), next to
 * the block's size. COMPACT 0 runs with --p2p-no-compact 1. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/chainstate.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/mine.h"
#include "tests/bench/bench_node.h"
#include "tests/testlib/chain.h"
#include "tests/proc.h"
#include "tests/test.h"

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;

static arb_proc *start(const char *dir, int port, const int *peers, size_t np, int compact)
{
    char conn[16][32];
    /* --p2p-no-outbound: the topology the benchmark builds, nothing more */
    const char *extra[48] = {"--p2p-tx-delay-ms", "100", "--http-workers", "2",
                             "--p2p-no-compact", compact ? "0" : "1", "--p2p-no-outbound", "1"};
    size_t a = 8;
    for (size_t i = 0; i < np && i < 16; i++) {
        snprintf(conn[i], sizeof conn[i], "127.0.0.1:%d", peers[i]);
        extra[a++] = "--connect";
        extra[a++] = conn[i];
    }
    extra[a] = NULL;
    return bench_arbord_at(dir, port, extra);
}


static unsigned long long bytes_sent(int port)
{
    long long v;
    arb_tl_metric(bench_at(port), "arbor_p2p_bytes_sent_total", &v);
    return (unsigned long long)v;
}

static size_t pool_count(int port)
{
    json_t *j;
    size_t c = 0;
    if (arb_tl_http_json(bench_at(port), "/chain/v1/mempool", NULL, &j) == 200)
        c = (size_t)json_integer_value(json_object_get(j, "count"));
    json_decref(j);
    return c;
}

static int tip_is(int port, const char *hash)
{
    json_t *j;
    int ok = 0;
    if (arb_tl_http_json(bench_at(port), "/chain/v1/tip", NULL, &j) == 200) {
        const char *h = json_string_value(json_object_get(j, "hash"));
        ok = h != NULL && strcmp(h, hash) == 0;
    }
    json_decref(j);
    return ok;
}

/* Mines one block on node port to addr; its display hash and size out. */
static int mine(int port, const char *addr, char hash[65], size_t *size)
{
    char path[256];
    json_t *t;
    uint8_t *raw;
    size_t len;
    arb_block blk;
    arb_errbuf eb;
    arb_buf b = ARB_BUF_INIT;
    arb_hash h;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", addr);
    if (arb_tl_http_json(bench_at(port), path, NULL, &t) != 200 ||
        arb_hex_decode_alloc(&raw, &len, json_string_value(json_object_get(t, "hex"))) != ARB_OK)
        return 0;
    json_decref(t);
    arb_block_init(&blk);
    if (arb_block_decode(&blk, raw, len, &eb) != ARB_OK ||
        !arb_chain_mine_header(&blk.header, 0, 1ULL << 32))
        return 0;
    free(raw);
    arb_block_write(&b, &blk);
    arb_header_hash(H, &h, &blk.header);
    arb_chain_hash_hex(hash, &h);
    *size = b.len;
    int ok = bench_post_hex(bench_at(port), "/chain/v1/block", &b) == 200;
    arb_buf_free(&b);
    arb_block_clear(&blk);
    return ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int nn = argc > 1 ? atoi(argv[1]) : 20, nb = argc > 2 ? atoi(argv[2]) : 10;
    int nt = argc > 3 ? atoi(argv[3]) : 1000, compact = argc > 4 ? atoi(argv[4]) : 1;
    char tmp[1024], hash[65];
    arb_tl_actor me; /* mines every block; its coins pay the transactions */
    if (nn < 2 || nn > 64 || nb < 1 || nt < 1 || nt > 4000 || arb_test_tmpdir(tmp, sizeof tmp) != 0 ||
        arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 2;
    P = arb_chain_params_get("regtest");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    arb_test_seed_init();
    arb_tl_actor_new(&(arb_tl_chain){H, S, P, 0}, &me);
    int *ports = calloc((size_t)nn, sizeof *ports);
    arb_proc **procs = calloc((size_t)nn, sizeof *procs);
    for (int i = 0; i < nn; i++)
        ports[i] = arb_test_free_port();
    for (int i = 0; i < nn; i++) {
        int peers[4];
        size_t np = 0;
        char dir[1100];
        if (i > 0)
            peers[np++] = ports[i - 1]; /* keeps the graph connected */
        size_t want = 2 + (size_t)arb_test_rand_below(3);
        while (np < want && np < (size_t)nn - 1) {
            int j = (int)arb_test_rand_below((uint64_t)nn);
            int dup = j == i;
            for (size_t q = 0; q < np; q++)
                dup |= peers[q] == ports[j];
            if (!dup)
                peers[np++] = ports[j];
        }
        snprintf(dir, sizeof dir, "%s/n%d", tmp, i);
        procs[i] = start(dir, ports[i], peers, np, compact);
    }
    /* Fund: a mature coinbase split into nt outputs. */
    size_t size;
    arb_outpoint cb = {{{0}}, 0};
    uint64_t cb_amount = 0;
    for (uint32_t h = 1; h <= P->coinbase_maturity + 1; h++) {
        if (!mine(ports[0], me.addr, hash, &size))
            BENCH_FAIL();
        if (h == 1) {
            json_t *j;
            char path[128];
            snprintf(path, sizeof path, "/chain/v1/block?hash=%s", hash);
            if (arb_tl_http_json(bench_at(ports[0]), path, NULL, &j) != 200)
                BENCH_FAIL();
            uint8_t *raw;
            size_t len;
            arb_block blk;
            arb_errbuf eb;
            arb_block_init(&blk);
            if (arb_hex_decode_alloc(&raw, &len, json_string_value(json_object_get(j, "hex"))) !=
                    ARB_OK ||
                arb_block_decode(&blk, raw, len, &eb) != ARB_OK ||
                arb_tx_txid(H, &cb.txid, &blk.tx[0]) != ARB_OK)
                BENCH_FAIL();
            cb_amount = blk.tx[0].out[0].amount;
            free(raw);
            arb_block_clear(&blk);
            json_decref(j);
        }
    }
    arb_outpoint *coins = calloc((size_t)nt, sizeof *coins);
    uint64_t each = (cb_amount - 100000) / (uint64_t)nt;
    {
        arb_tx tx;
        arb_txout spent = {cb_amount, {0}};
        arb_buf b = ARB_BUF_INIT;
        arb_hash id;
        memcpy(spent.key, me.pk, 32);
        arb_tx_init(&tx);
        if (arb_tx_alloc(&tx, 1, (size_t)nt) != ARB_OK)
            BENCH_FAIL();
        tx.version = 1;
        tx.in[0] = cb;
        for (int o = 0; o < nt; o++) {
            tx.out[o].amount = each;
            memcpy(tx.out[o].key, me.pk, 32);
        }
        if (arb_chain_sign_input(P, H, S, &tx, 0, &spent, me.sk, NULL) != ARB_OK ||
            arb_tx_txid(H, &id, &tx) != ARB_OK)
            BENCH_FAIL();
        arb_tx_write(&b, &tx, 1);
        if (bench_post_hex(bench_at(ports[0]), "/chain/v1/tx", &b) != 200)
            BENCH_FAIL();
        arb_buf_free(&b);
        arb_tx_clear(&tx);
        for (int o = 0; o < nt; o++) {
            coins[o].txid = id;
            coins[o].index = (uint32_t)o;
        }
        if (!mine(ports[0], me.addr, hash, &size))
            BENCH_FAIL();
    }
    for (int i = 0; i < nn; i++)
        while (!tip_is(ports[i], hash))
            usleep(50000);
    double *times = calloc((size_t)nb, sizeof *times);
    double bytes_per_block = 0, block_bytes = 0;
    for (int r = 0; r < nb; r++) {
        for (int t = 0; t < nt; t++) {
            arb_tx tx;
            arb_txout spent = {each, {0}};
            arb_buf b = ARB_BUF_INIT;
            memcpy(spent.key, me.pk, 32);
            arb_tx_init(&tx);
            if (arb_tx_alloc(&tx, 1, 1) != ARB_OK)
                BENCH_FAIL();
            tx.version = 1;
            tx.in[0] = coins[t];
            tx.out[0].amount = each - 200;
            memcpy(tx.out[0].key, me.pk, 32);
            if (arb_chain_sign_input(P, H, S, &tx, 0, &spent, me.sk, NULL) != ARB_OK ||
                arb_tx_txid(H, &coins[t].txid, &tx) != ARB_OK)
                BENCH_FAIL();
            coins[t].index = 0;
            arb_tx_write(&b, &tx, 1);
            if (bench_post_hex(bench_at(ports[0]), "/chain/v1/tx", &b) != 200)
                BENCH_FAIL();
            arb_buf_free(&b);
            arb_tx_clear(&tx);
        }
        each -= 200;
        for (int i = 0; i < nn; i++)
            while (pool_count(ports[i]) < (size_t)nt)
                usleep(50000);
        unsigned long long before = 0, after = 0;
        for (int i = 0; i < nn; i++)
            before += bytes_sent(ports[i]);
        if (!mine(ports[0], me.addr, hash, &size))
            BENCH_FAIL();
        double t0 = bench_now_s();
        for (int i = 0; i < nn; i++)
            while (!tip_is(ports[i], hash))
                usleep(2000);
        times[r] = bench_now_s() - t0;
        for (int i = 0; i < nn; i++)
            after += bytes_sent(ports[i]);
        bytes_per_block += (double)(after - before);
        block_bytes += (double)size;
        fprintf(stderr, "block %d: %zu bytes, %.3f s to the last node, %llu bytes sent\n", r + 1,
                size, times[r], after - before);
    }
    qsort(times, (size_t)nb, sizeof *times, cmp_double);
    printf("nodes %d, blocks %d of %d transactions (%.0f bytes each), compact relay %s\n", nn, nb,
           nt, block_bytes / nb, compact ? "on" : "off");
    printf("time to the last node: p50 %.3f s, p99 %.3f s\n", times[(nb - 1) / 2],
           times[(size_t)((nb - 1) * 0.99)]);
    printf("bytes sent by all nodes per block: %.0f (%.2f x the block)\n", bytes_per_block / nb,
           bytes_per_block / block_bytes);
    for (int i = 0; i < nn; i++) {
        arb_proc_kill(procs[i], SIGTERM);
        arb_proc_wait(procs[i], 30000);
        arb_proc_free(procs[i]);
    }
    arb_test_rmtree(tmp);
    free(times);
    free(coins);
    free(ports);
    free(procs);
    bench_http_done();
    return 0;
}
