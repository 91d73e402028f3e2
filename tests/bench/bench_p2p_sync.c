/* Sync speed of the peer network (docs/benchmarks.md):
 *   bench_p2p_sync [N]   (default 10000)
 * builds an N-block regtest chain on one arbord (a transaction in every block
 * once the first coinbase matures, each spending the change of the last), starts a fresh arbord connected to it over loopback
 * and times its catch-up (blocks/s, MB/s of block data); then connects the
 * same blocks, held in memory, into a fresh chain state in this process (the
 * connect bound) and prints the ratio. */
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

static arb_proc *start(const char *dir, int port, int peer)
{
    char conn[32];
    const char *connect[] = {"--connect", conn, NULL};
    snprintf(conn, sizeof conn, "127.0.0.1:%d", peer);
    return bench_arbord_at(dir, port, peer ? connect : NULL);
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000;
    char tmp[1024], da[1100], db[1100], dc[1100];
    arb_tl_actor me; /* mines every block; its coins pay the transactions */
    arb_outpoint *cb;
    uint64_t *cb_amount;
    arb_buf *blocks;
    size_t total = 0;
    arb_outpoint chg = {{{0}}, 0};
    uint64_t chg_amount = 0;
    if (n < 120 || arb_test_tmpdir(tmp, sizeof tmp) != 0 || arb_sha256_new(&H) != ARB_OK ||
        arb_schnorr_new(&S) != ARB_OK)
        return 2;
    P = arb_chain_params_get("regtest");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    arb_test_seed_init();
    arb_tl_actor_new(&(arb_tl_chain){H, S, P, 0}, &me);
    cb = calloc(n + 1, sizeof *cb);
    cb_amount = calloc(n + 1, sizeof *cb_amount);
    blocks = calloc(n + 1, sizeof *blocks);
    snprintf(da, sizeof da, "%s/a", tmp);
    snprintf(db, sizeof db, "%s/b", tmp);
    snprintf(dc, sizeof dc, "%s/c", tmp);
    int pa = arb_test_free_port();
    arb_proc *a = start(da, pa, 0);
    fprintf(stderr, "building %u blocks...\n", n);
    for (uint32_t h = 1; h <= n; h++) {
        char path[256];
        json_t *t;
        uint8_t *raw;
        size_t len;
        arb_block blk;
        arb_errbuf eb;
        if (h > P->coinbase_maturity + 1) {
            /* The first mature coinbase, then always the previous change
             * (regtest subsidies halve every 150 blocks). */
            if (h == P->coinbase_maturity + 2) {
                chg = cb[1];
                chg_amount = cb_amount[1];
            }
            arb_tx tx;
            arb_txout spent = {chg_amount, {0}};
            arb_buf b = ARB_BUF_INIT;
            memcpy(spent.key, me.pk, 32);
            arb_tx_init(&tx);
            if (arb_tx_alloc(&tx, 1, 2) != ARB_OK)
                BENCH_FAIL();
            tx.version = 1;
            tx.in[0] = chg;
            tx.out[0].amount = 10000;
            tx.out[1].amount = chg_amount - 11000;
            memcpy(tx.out[0].key, me.pk, 32);
            memcpy(tx.out[1].key, me.pk, 32);
            if (arb_chain_sign_input(P, H, S, &tx, 0, &spent, me.sk, NULL) != ARB_OK)
                BENCH_FAIL();
            arb_tx_write(&b, &tx, 1);
            if (bench_post_hex(bench_at(pa), "/chain/v1/tx", &b) != 200 ||
                arb_tx_txid(H, &chg.txid, &tx) != ARB_OK)
                BENCH_FAIL();
            chg.index = 1;
            chg_amount = tx.out[1].amount;
            arb_buf_free(&b);
            arb_tx_clear(&tx);
        }
        snprintf(path, sizeof path, "/chain/v1/template?address=%s", me.addr);
        if (arb_tl_http_json(bench_at(pa), path, NULL, &t) != 200 ||
            arb_hex_decode_alloc(&raw, &len, json_string_value(json_object_get(t, "hex"))) != ARB_OK)
            BENCH_FAIL();
        json_decref(t);
        arb_block_init(&blk);
        if (arb_block_decode(&blk, raw, len, &eb) != ARB_OK)
            BENCH_FAIL();
        /* A minute per block from genesis: mined faster than real time, the
         * template's times (max(now, median + 1)) would run past the 2-hour
         * future limit within a few thousand blocks. */
        blk.header.time = P->genesis_time + 60 * h;
        if (!arb_chain_mine_header(&blk.header, 0, 1ULL << 32))
            BENCH_FAIL();
        free(raw);
        arb_block_write(&blocks[h], &blk);
        if (bench_post_hex(bench_at(pa), "/chain/v1/block", &blocks[h]) != 200)
            BENCH_FAIL();
        total += blocks[h].len;
        if (arb_tx_txid(H, &cb[h].txid, &blk.tx[0]) != ARB_OK)
            BENCH_FAIL();
        cb_amount[h] = blk.tx[0].out[0].amount;
        arb_block_clear(&blk);
    }
    /* The fresh node catches up over loopback. */
    int pb = arb_test_free_port();
    double t0 = bench_now_s();
    arb_proc *b = start(db, pb, pa);
    while (arb_tl_tip_height(bench_at(pb)) < n)
        usleep(20000);
    double sync_s = bench_now_s() - t0;
    arb_proc_kill(b, SIGTERM);
    arb_proc_wait(b, 30000);
    arb_proc_free(b);
    arb_proc_kill(a, SIGTERM);
    arb_proc_wait(a, 30000);
    arb_proc_free(a);
    /* The connect bound: the same blocks into a fresh chain state here. */
    arb_store *st;
    arb_chainstate *cs;
    arb_errbuf eb;
    if (arb_store_open(&st, dc, arb_chainstate_cf_names(), ARB_CHAINSTATE_NCF, NULL, &eb) !=
            ARB_OK ||
        arb_chainstate_open(&cs, st, 0, P, 2, NULL, &eb) != ARB_OK)
        BENCH_FAIL();
    double t1 = bench_now_s();
    for (uint32_t h = 1; h <= n; h++) {
        arb_block blk;
        arb_block_outcome oc;
        arb_check_result r;
        arb_block_init(&blk);
        if (arb_block_decode(&blk, blocks[h].data, blocks[h].len, &eb) != ARB_OK ||
            arb_chainstate_submit(cs, &blk, (int64_t)time(NULL), &oc, &r) != ARB_OK ||
            oc != ARB_BLOCK_CONNECTED)
            BENCH_FAIL();
        arb_block_clear(&blk);
    }
    double connect_s = bench_now_s() - t1;
    arb_chainstate_close(cs);
    arb_store_close(st);
    printf("blocks %u, block data %.2f MB\n", n, total / 1e6);
    printf("sync over loopback: %.2f s, %.0f blocks/s, %.2f MB/s\n", sync_s, n / sync_s,
           total / 1e6 / sync_s);
    printf("connect bound:      %.2f s, %.0f blocks/s, %.2f MB/s\n", connect_s, n / connect_s,
           total / 1e6 / connect_s);
    printf("ratio sync/bound:   %.2f\n", connect_s / sync_s);
    for (uint32_t h = 0; h <= n; h++)
        arb_buf_free(&blocks[h]);
    free(blocks);
    free(cb);
    free(cb_amount);
    arb_test_rmtree(tmp);
    bench_http_done();
    arb_sha256_free(H);
    arb_schnorr_free(S);
    return 0;
}
