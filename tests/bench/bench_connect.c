/* Connecting blocks into the RocksDB chain state: N regtest blocks (10,000 by
 * default) are generated and written to a file first (blocks 102.. carry one
 * signed transaction spending the previous one's first output into four
 * outputs), then read back from disk and submitted in order to a fresh chain
 * state. Prints one JSON line: blocks/s and UTXO operations/s (outputs
 * created + inputs spent), every block being one RocksDB batch, synced every
 * FLUSH_BLOCKS blocks (default 1: each; chainstate.h's flush policy).
 * Usage: bench_connect [blocks [FLUSH_BLOCKS]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/chain/chainstate.h"
#include "ledger/chain/mine.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

_Noreturn static void die(const char *m)
{
    fprintf(stderr, "bench_connect: %s\n", m);
    exit(1);
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000;
    unsigned flush = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1;
    const char *tmpenv = getenv("TMPDIR");
    char dir[512], file[600], db[600], cmd[700];
    arb_sha256 *sha;
    arb_schnorr *s;
    const arb_chain_params *p = arb_chain_params_get("regtest");
    uint8_t sk[32], pk[32];

    snprintf(dir, sizeof dir, "%s/arbor-bench-connect-XXXXXX", tmpenv ? tmpenv : "/tmp");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    snprintf(file, sizeof file, "%s/blocks.bin", dir);
    snprintf(db, sizeof db, "%s/db", dir);
    if (arb_sha256_new(&sha) != ARB_OK || arb_schnorr_new(&s) != ARB_OK)
        die("init");
    for (int i = 0; i < 32; i++)
        sk[i] = (uint8_t)(i + 7);
    if (!arb_schnorr_pubkey(s, pk, sk))
        die("key");

    /* Generate. */
    FILE *f = fopen(file, "wb");
    if (f == NULL)
        die("cannot write the block file");
    arb_hash parent;
    uint32_t ptime = p->genesis_time;
    arb_chain_genesis_hash(p, &parent);
    arb_outpoint prev_out = {{{0}}, 0};
    uint64_t prev_amount = 0, ops = 0;
    double t0 = now_s();
    for (uint32_t h = 1; h <= n; h++) {
        arb_block b;
        arb_tx tx, *txs = NULL;
        size_t ntx = 0;
        arb_block_init(&b);
        if (h > p->coinbase_maturity + 1) {
            arb_txout spent = {prev_amount, {0}};
            memcpy(spent.key, pk, 32);
            arb_tx_init(&tx);
            if (arb_tx_alloc(&tx, 1, 4) != ARB_OK)
                die("nomem");
            tx.version = 1;
            tx.in[0] = prev_out;
            for (int o = 0; o < 4; o++) {
                tx.out[o].amount = o == 0 ? prev_amount - 3 : 1;
                memcpy(tx.out[o].key, pk, 32);
                tx.out[o].key[0] ^= (uint8_t)o; /* outputs 1..3 to other (unspendable) keys */
            }
            if (arb_chain_sign_input(p, sha, s, &tx, 0, &spent, sk, NULL) != ARB_OK)
                die("sign");
            if (arb_tx_txid(sha, &prev_out.txid, &tx) != ARB_OK)
                die("txid");
            prev_out.index = 0;
            prev_amount -= 3;
            txs = &tx;
            ntx = 1;
            ops += 1 + 4;
        }
        if (arb_chain_block_build(p, sha, &b, &parent, ptime, h, 0x207fffff, 0, pk, txs, ntx, 0, NULL) !=
                ARB_OK ||
            !arb_chain_mine_header(&b.header, 0, 1ULL << 32))
            die("build");
        ops += 1; /* the coinbase output */
        if (h == 1) {
            if (arb_tx_txid(sha, &prev_out.txid, &b.tx[0]) != ARB_OK)
                die("txid");
            prev_amount = b.tx[0].out[0].amount;
        }
        arb_header_hash(sha, &parent, &b.header);
        ptime = b.header.time;
        arb_buf buf = {0};
        arb_block_write(&buf, &b);
        uint32_t len = (uint32_t)buf.len;
        if (buf.oom || fwrite(&len, 4, 1, f) != 1 || fwrite(buf.data, 1, buf.len, f) != buf.len)
            die("write");
        arb_buf_free(&buf);
        arb_block_clear(&b);
    }
    fclose(f);
    double gen_s = now_s() - t0;

    /* Connect from disk. */
    const char *cfs[1 + ARB_CHAINSTATE_NCF];
    cfs[0] = "default";
    for (size_t i = 0; i < ARB_CHAINSTATE_NCF; i++)
        cfs[1 + i] = arb_chainstate_cf_names()[i];
    arb_store *st;
    arb_chainstate *cs;
    arb_errbuf eb;
    arb_store_opts so;
    memset(&so, 0, sizeof so);
    if (arb_store_open(&st, db, cfs, 1 + ARB_CHAINSTATE_NCF, &so, &eb) != ARB_OK ||
        arb_chainstate_open(&cs, st, 1, p, 2, NULL, &eb) != ARB_OK)
        die(eb.msg);
    arb_chainstate_set_flush(cs, flush, 0);
    f = fopen(file, "rb");
    if (f == NULL)
        die("cannot read the block file");
    t0 = now_s();
    uint32_t len;
    uint8_t *raw = malloc(ARB_BLOCK_MAX_SIZE);
    uint32_t connected = 0;
    while (raw && fread(&len, 4, 1, f) == 1) {
        arb_block b;
        arb_block_outcome oc;
        arb_check_result r;
        arb_block_init(&b);
        if (len > ARB_BLOCK_MAX_SIZE || fread(raw, 1, len, f) != len ||
            arb_block_decode(&b, raw, len, &eb) != ARB_OK)
            die("read");
        if (arb_chainstate_submit(cs, &b, (int64_t)time(NULL), &oc, &r) != ARB_OK ||
            oc != ARB_BLOCK_CONNECTED) {
            fprintf(stderr, "block %u: %s\n", connected + 1, r.reason ? r.reason : "error");
            die("submit");
        }
        connected++;
        arb_block_clear(&b);
    }
    double conn_s = now_s() - t0;
    fclose(f);
    free(raw);
    arb_chain_tip tip;
    arb_chainstate_tip(cs, &tip);
    arb_chainstate_close(cs);
    arb_store_close(st);
    printf("{\"bench\":\"connect\",\"blocks\":%u,\"flush_blocks\":%u,\"tip_height\":%u,"
           "\"utxo_ops\":%llu,"
           "\"seconds\":%.3f,\"blocks_per_s\":%.1f,\"utxo_ops_per_s\":%.1f,"
           "\"generate_seconds\":%.3f}\n",
           connected, flush, (unsigned)tip.height, (unsigned long long)ops, conn_s,
           connected / conn_s, (double)ops / conn_s, gen_s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_connect: could not remove %s\n", dir);
    arb_schnorr_free(s);
    arb_sha256_free(sha);
    return tip.height == n ? 0 : 1;
}
