/* Light-client proof verification (auditor/lightproof.h) on one core: a
 * name's proof whose headers run from the genesis over N regtest blocks (the
 * most arbord answers is 10,000), against a state tree of M names. Prints
 * one JSON line per figure, with SHA-256d of 80-byte headers measured in
 * the same run for scale (each header costs its hash plus the rules' work).
 *
 *   build/bin/bench_lightproof [N [M]]     (defaults 10000 and 10000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditor/lightproof.h"
#include "ledger/chain/mine.h"
#include "merkle/smt.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void name_rec(arb_name_rec *r, const char *full)
{
    memset(r, 0, sizeof *r);
    r->full_len = strlen(full);
    memcpy(r->full, full, r->full_len);
    memset(r->owner, 0x04, 32);
    r->registered_height = r->renewed_height = 1;
    r->lifetime = 0;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    unsigned long m = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    const arb_chain_params *p = arb_chain_params_get("regtest");
    arb_sha256 *sha = NULL;
    arb_smt_mem *mem = NULL;
    arb_smt_store st;
    arb_smt_op *ops;
    arb_hash root, prev, leaf;
    arb_block g;
    arb_lightproof lp;
    arb_lightproof_trust t;
    arb_lightproof_result res;
    arb_smt_proof sp;
    arb_buf b = ARB_BUF_INIT, cbb = ARB_BUF_INIT;
    arb_name_rec r;
    arb_tx cb;
    uint8_t key[32];
    uint32_t time0;
    double t0, dt;
    int reps = 5;

    if (n < 1 || n > 200000 || m < 1 || arb_sha256_new(&sha) != ARB_OK ||
        arb_smt_mem_new(&mem) != ARB_OK || (ops = calloc(m, sizeof *ops)) == NULL)
        return 1;
    arb_smt_mem_store(mem, &st);
    /* The state: m names. */
    for (unsigned long i = 0; i < m; i++) {
        char full[32];
        snprintf(full, sizeof full, "n%lu.bench", i);
        name_rec(&r, full);
        arb_names_name_key(sha, ops[i].key, r.full, r.full_len);
        if (arb_names_name_rec_hash(sha, &ops[i].value_hash, &r) != ARB_OK)
            return 1;
    }
    arb_smt_empty(&root);
    if (arb_smt_update(sha, &st, &root, ops, m, &root) != ARB_OK)
        return 1;
    free(ops);
    /* The tip's coinbase commits to it; every block holds only its coinbase. */
    arb_tx_init(&cb);
    if (arb_tx_alloc(&cb, 1, 1) != ARB_OK || (cb.payload = malloc(32)) == NULL)
        return 1;
    cb.version = 1;
    cb.in[0].index = (uint32_t)n;
    cb.out[0].amount = 50 * ARB_COIN;
    cb.payload_type = ARB_PAYLOAD_STATE_ROOT;
    cb.payload_len = 32;
    memcpy(cb.payload, root.b, 32);
    arb_tx_write(&cbb, &cb, 1);
    arb_tx_clear(&cb);
    arb_merkle_leaf_hash(sha, &leaf, cbb.data, cbb.len);
    arb_block_init(&g);
    if (cbb.oom || arb_chain_genesis_build(p, sha, p->genesis_nonce, &g) != ARB_OK)
        return 1;
    memset(&lp, 0, sizeof lp);
    lp.version = 1;
    arb_header_hash(sha, &lp.checkpoint, &g.header);
    time0 = g.header.time;
    arb_block_clear(&g);
    lp.n_headers = n;
    lp.height = (uint32_t)n;
    if ((lp.headers = calloc(n, sizeof *lp.headers)) == NULL)
        return 1;
    prev = lp.checkpoint;
    for (unsigned long i = 0; i < n; i++) {
        arb_block_header *h = &lp.headers[i];
        h->version = 1;
        h->prev = prev;
        memset(h->merkle_root.b, (int)(i & 0xff), 32);
        if (i == n - 1)
            h->merkle_root = leaf;
        h->time = time0 + 600 * (uint32_t)(i + 1);
        h->bits = p->genesis_bits;
        if (!arb_chain_mine_header(h, 0, 1u << 24))
            return 1;
        arb_header_hash(sha, &prev, h);
    }
    lp.coinbase = cbb.data;
    lp.coinbase_len = cbb.len;
    lp.tx_count = 1;
    name_rec(&r, "n7.bench");
    arb_names_name_key(sha, key, r.full, r.full_len);
    memcpy(lp.key, key, 32);
    arb_names_name_rec_encode(&b, &r);
    if (b.oom || b.len > sizeof lp.record || arb_smt_prove(&st, &root, key, &sp) != ARB_OK)
        return 1;
    memcpy(lp.record, b.data, b.len);
    lp.record_len = b.len;
    lp.has_record = 1;
    arb_buf_reset(&b);
    arb_smt_proof_encode(&b, &sp);
    lp.smt_proof = b.data;
    lp.smt_proof_len = b.len;
    memset(&t, 0, sizeof t);
    t.params = p;
    t.checkpoint = lp.checkpoint;
    t.now = (int64_t)time0 + 600 * (int64_t)(n + 1);

    /* Verification, best of reps. */
    dt = 1e9;
    for (int k = 0; k < reps; k++) {
        arb_errbuf eb;
        t0 = now_s();
        if (arb_lightproof_verify(sha, &lp, &t, key, &res, &eb) != ARB_OK) {
            fprintf(stderr, "bench_lightproof: %s\n", eb.msg);
            return 1;
        }
        double d = now_s() - t0;
        if (d < dt)
            dt = d;
    }
    printf("{\"bench\":\"lightproof_verify\",\"headers\":%lu,\"headers_checked\":%zu,"
           "\"names\":%lu,\"smt_depth\":%u,\"seconds\":%.6f,\"headers_per_s\":%.0f}\n",
           n, res.headers_checked, m, sp.depth, dt, (double)n / dt);
    /* The JSON form: to text and back, as verify-name reads it. */
    {
        json_t *j = arb_lightproof_to_json(&lp);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        arb_lightproof *back = NULL;
        arb_errbuf eb;
        if (text == NULL)
            return 1;
        t0 = now_s();
        if (arb_lightproof_parse(&back, text, strlen(text), &eb) != ARB_OK)
            return 1;
        dt = now_s() - t0;
        printf("{\"bench\":\"lightproof_parse\",\"headers\":%lu,\"bytes\":%zu,\"seconds\":%.6f}\n",
               n, strlen(text), dt);
        arb_lightproof_free(back);
        free(text);
        json_decref(j);
    }
    /* For scale: SHA-256d of n headers alone, best of reps. */
    dt = 1e9;
    for (int k = 0; k < reps; k++) {
        t0 = now_s();
        for (unsigned long i = 0; i < n; i++)
            arb_header_hash(sha, &prev, &lp.headers[i]);
        double d = now_s() - t0;
        if (d < dt)
            dt = d;
    }
    printf("{\"bench\":\"header_hash\",\"headers\":%lu,\"seconds\":%.6f,\"headers_per_s\":%.0f}\n",
           n, dt, (double)n / dt);
    free(lp.headers);
    arb_buf_free(&b);
    arb_buf_free(&cbb);
    arb_smt_mem_free(mem);
    arb_sha256_free(sha);
    return 0;
}
