/* The committed state's cost, on a fresh RocksDB chain state (regtest):
 *   - connecting blocks of name registrations (each changes the state tree)
 *     and of name preorders, against blocks of as many plain one-input
 *     one-output transactions: operations/s and the ratio;
 *   - the template's preview (the root of a block not yet mined);
 *   - lookups with the full light-client proof (arb_chainapi_state_proof:
 *     headers, coinbase proof, record, tree proof) per second;
 *   - log anchors: arb_anchor_check per anchor against the consensus check
 *     of a plain transaction (its signature), and connecting a block of
 *     1,000 anchors (1,000 logs' first heads).
 * One JSON line per figure. Usage: bench_names_connect [ops_per_block [blocks]]
 * (defaults 1000 and 4). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/anchor/anchor.h"
#include "ledger/api/chainapi.h"
#include "ledger/chain/chainstate.h"
#include "ledger/chain/mine.h"
#include "ledger/log/key.h"
#include "ledger/names/nameop.h"

#define NS "benchspace"
#define FEE 1000u

static const arb_chain_params *P;
static arb_sha256 *H;
static arb_schnorr *S;
static uint8_t SK[32], PK[32];
static arb_chainstate *CS;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

_Noreturn static void die(const char *m)
{
    fprintf(stderr, "bench_names_connect: %s\n", m);
    exit(1);
}

/* A coin of PK. */
typedef struct {
    arb_outpoint op;
    uint64_t amount;
} coin;

static void tx_build(arb_tx *tx, const coin *c, uint8_t type, const uint8_t *pl, size_t plen,
                     uint64_t burn)
{
    arb_txout spent = {c->amount, {0}};
    memcpy(spent.key, PK, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        die("nomem");
    tx->version = 1;
    tx->in[0] = c->op;
    tx->out[0].amount = c->amount - burn - FEE;
    memcpy(tx->out[0].key, PK, 32);
    if (type != 0) {
        tx->payload_type = type;
        if ((tx->payload = malloc(plen)) == NULL)
            die("nomem");
        memcpy(tx->payload, pl, plen);
        tx->payload_len = plen;
    }
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, SK, NULL) != ARB_OK)
        die("sign");
}

static void name_tx(arb_tx *tx, const coin *c, const arb_nameop *op)
{
    arb_buf b = ARB_BUF_INIT;
    if (arb_nameop_encode(&b, op) != ARB_OK)
        die("encode");
    tx_build(tx, c, op->type, b.data, b.len, arb_nameop_burn(op));
    arb_buf_free(&b);
}

/* Builds the next block with txs (moved in) and its root; returns the
 * preview time through *preview_s; connects it and returns the time. */
static double connect(arb_tx *txs, size_t n, double *preview_s)
{
    arb_chain_tip tip;
    arb_chain_hdrinfo hi;
    arb_hash root;
    arb_block b;
    const arb_tx **ptr = malloc((n ? n : 1) * sizeof *ptr);
    uint8_t *ok = malloc(n ? n : 1);
    arb_chainstate_tip(CS, &tip);
    if (ptr == NULL || ok == NULL || arb_chainstate_header(CS, &tip.hash, &hi) != ARB_OK)
        die("tip");
    for (size_t i = 0; i < n; i++)
        ptr[i] = &txs[i];
    double t0 = now_s();
    if (arb_chainstate_state_preview(CS, ptr, n, NULL, ok, NULL, &root) != ARB_OK)
        die("preview");
    if (preview_s)
        *preview_s = now_s() - t0;
    for (size_t i = 0; i < n; i++)
        if (!ok[i])
            die("an operation fails");
    free(ptr);
    free(ok);
    if (arb_chain_block_build(P, H, &b, &tip.hash, hi.hdr.time, tip.height + 1, 0x207fffff,
                              hi.hdr.time + 1, PK, txs, n, 0, &root) != ARB_OK ||
        !arb_chain_mine_header(&b.header, 0, 1ULL << 32))
        die("build");
    arb_block_outcome oc;
    arb_check_result r;
    t0 = now_s();
    arb_err err = arb_chainstate_submit(CS, &b, 2000000000, &oc, &r);
    double dt = now_s() - t0;
    if (err != ARB_OK || oc != ARB_BLOCK_CONNECTED) {
        fprintf(stderr, "block refused: %s\n", err == ARB_ERR_VERIFY ? r.detail.msg : "error");
        exit(1);
    }
    arb_block_clear(&b);
    return dt;
}

/* Spends block `height`'s coinbase into n coins of `each`. */
static void fan_out(uint32_t height, coin *out, size_t n, uint64_t each)
{
    arb_hash h, cb;
    arb_block b;
    arb_tx tx;
    arb_block_init(&b);
    if (arb_chainstate_hash_at(CS, height, &h) != ARB_OK ||
        arb_chainstate_get_block(CS, &h, NULL, &b, NULL, NULL) != ARB_OK ||
        arb_tx_txid(H, &cb, &b.tx[0]) != ARB_OK)
        die("coinbase");
    arb_txout spent = {b.tx[0].out[0].amount, {0}};
    memcpy(spent.key, PK, 32);
    arb_block_clear(&b);
    arb_tx_init(&tx);
    if (arb_tx_alloc(&tx, 1, n) != ARB_OK)
        die("nomem");
    tx.version = 1;
    tx.in[0].txid = cb;
    for (size_t i = 0; i < n; i++) {
        tx.out[i].amount = each;
        memcpy(tx.out[i].key, PK, 32);
    }
    if ((uint64_t)n * each > spent.amount ||
        arb_chain_sign_input(P, H, S, &tx, 0, &spent, SK, NULL) != ARB_OK)
        die("fan-out");
    arb_hash id;
    if (arb_tx_txid(H, &id, &tx) != ARB_OK)
        die("txid");
    for (size_t i = 0; i < n; i++) {
        out[i].op.txid = id;
        out[i].op.index = (uint32_t)i;
        out[i].amount = each;
    }
    connect(&tx, 1, NULL);
}

static void name_of(char *out, size_t cap, size_t i)
{
    snprintf(out, cap, "n%zu." NS, i);
}

int main(int argc, char **argv)
{
    size_t per = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    size_t blocks = argc > 2 ? strtoul(argv[2], NULL, 10) : 4;
    size_t total = per * blocks;
    const char *tmpenv = getenv("TMPDIR");
    char dir[512], cmd[700];
    arb_store *st;
    arb_errbuf eb;
    uint8_t salt[32];

    if (per == 0 || blocks == 0 || 2 * total + 16 > ARB_TX_MAX_OUTPUTS)
        die("ops_per_block x blocks must be 1..4,992");
    P = arb_chain_params_get("regtest");
    snprintf(dir, sizeof dir, "%s/arbor-bench-names-XXXXXX", tmpenv ? tmpenv : "/tmp");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        die("init");
    for (int i = 0; i < 32; i++)
        SK[i] = (uint8_t)(i + 3);
    memset(salt, 9, 32);
    if (!arb_schnorr_pubkey(S, PK, SK))
        die("key");
    if (arb_store_open(&st, dir, arb_chainstate_cf_names(), ARB_CHAINSTATE_NCF, NULL, &eb) !=
            ARB_OK ||
        arb_chainstate_open(&CS, st, 0, P, 2, NULL, &eb) != ARB_OK)
        die(eb.msg);
    for (int i = 0; i < 104; i++)
        connect(NULL, 0, NULL);

    /* Coins: 2 x total + 16 from block 1's coinbase, plain ones from block 2's. */
    coin *c = malloc((2 * total + 16) * sizeof *c), *pc = malloc((total + 1) * sizeof *pc);
    if (c == NULL || pc == NULL)
        die("nomem");
    fan_out(1, c, 2 * total + 16, 20000);
    fan_out(2, pc, total, 20000);
    /* The namespace: its price burned from block 3's coinbase. */
    {
        coin big;
        fan_out(3, &big, 1, 40 * ARB_COIN);
        arb_nameop op;
        arb_tx tx;
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
        arb_nameop_ns_commitment(H, op.commitment, (const uint8_t *)NS, strlen(NS), salt, PK);
        op.burn = arb_names_namespace_price(strlen(NS));
        name_tx(&tx, &big, &op);
        big.op.txid = (arb_hash){{0}};
        if (arb_tx_txid(H, &big.op.txid, &tx) != ARB_OK)
            die("txid");
        big.op.index = 0;
        big.amount = tx.out[0].amount;
        connect(&tx, 1, NULL);
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
        op.ns_len = strlen(NS);
        memcpy(op.ns, NS, op.ns_len);
        memcpy(op.salt, salt, 32);
        memcpy(op.key, PK, 32);
        op.lifetime = 0;
        op.price.coeff = 1;
        op.price.base = 1;
        memset(op.price.buckets, 1, 16);
        op.price.nonalpha_discount = 1;
        op.price.no_vowel_discount = 1;
        name_tx(&tx, &big, &op);
        if (arb_tx_txid(H, &big.op.txid, &tx) != ARB_OK)
            die("txid");
        big.amount = tx.out[0].amount;
        connect(&tx, 1, NULL);
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAMESPACE_READY;
        op.ns_len = strlen(NS);
        memcpy(op.ns, NS, op.ns_len);
        name_tx(&tx, &big, &op);
        connect(&tx, 1, NULL);
    }

    /* Blocks of preorders, of registers, of plain transactions. */
    double t_pre = 0, t_reg = 0, t_plain = 0, t_prev = 0, pv;
    arb_tx *txs = calloc(per, sizeof *txs);
    if (txs == NULL)
        die("nomem");
    /* preorder block k, then the registers of block k - 1 (each register
     * two blocks after its preorder, inside regtest's window of 6) */
    for (size_t bl = 0; bl <= blocks; bl++) {
        if (bl < blocks) {
            for (size_t i = 0; i < per; i++) {
                char full[64];
                arb_nameop op;
                name_of(full, sizeof full, bl * per + i);
                memset(&op, 0, sizeof op);
                op.type = ARB_NAMEOP_NAME_PREORDER;
                arb_nameop_name_commitment(H, op.commitment, (const uint8_t *)full, strlen(full),
                                           salt, PK);
                op.burn = 100; /* the price: 1 * 1^1 * 10 = 10 */
                name_tx(&txs[i], &c[bl * per + i], &op);
            }
            t_pre += connect(txs, per, NULL);
        }
        if (bl == 0)
            continue;
        size_t rb = bl - 1;
        for (size_t i = 0; i < per; i++) {
            char full[64];
            arb_nameop op;
            name_of(full, sizeof full, rb * per + i);
            memset(&op, 0, sizeof op);
            op.type = ARB_NAMEOP_NAME_REGISTER;
            op.full_len = strlen(full);
            memcpy(op.full, full, op.full_len);
            memcpy(op.salt, salt, 32);
            memcpy(op.key, PK, 32);
            op.has_zonefile = 1;
            memset(op.zonefile_hash, (int)(i & 0xff), 32);
            name_tx(&txs[i], &c[total + rb * per + i], &op);
        }
        t_reg += connect(txs, per, &pv);
        t_prev += pv;
    }
    for (size_t bl = 0; bl < blocks; bl++) {
        for (size_t i = 0; i < per; i++)
            tx_build(&txs[i], &pc[bl * per + i], 0, NULL, 0, 0);
        t_plain += connect(txs, per, NULL);
    }
    printf("{\"bench\":\"names_connect\",\"what\":\"name-preorder blocks\",\"ops_per_block\":%zu,"
           "\"blocks\":%zu,\"ops_per_s\":%.0f}\n",
           per, blocks, (double)total / t_pre);
    printf("{\"bench\":\"names_connect\",\"what\":\"name-register blocks\",\"ops_per_block\":%zu,"
           "\"blocks\":%zu,\"ops_per_s\":%.0f}\n",
           per, blocks, (double)total / t_reg);
    printf("{\"bench\":\"names_connect\",\"what\":\"plain blocks (1 in, 1 out)\","
           "\"txs_per_block\":%zu,\"blocks\":%zu,\"txs_per_s\":%.0f}\n",
           per, blocks, (double)total / t_plain);
    printf("{\"bench\":\"names_connect\",\"what\":\"register vs plain connect time\","
           "\"ratio\":%.2f}\n",
           t_reg / t_plain);
    printf("{\"bench\":\"names_connect\",\"what\":\"template preview of a register block\","
           "\"ops_per_s\":%.0f}\n",
           (double)total / t_prev);

    /* Lookups with the whole proof. */
    {
        size_t n = 2000;
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            char full[64];
            uint8_t key[32];
            json_t *pf = NULL;
            const char *why = NULL;
            name_of(full, sizeof full, (i * 7919) % total);
            arb_names_name_key(H, key, (const uint8_t *)full, strlen(full));
            if (arb_chainapi_state_proof(CS, H, ARB_SREC_NAME, key, NULL, &pf, &why) != ARB_OK)
                die("proof");
            char *text = json_dumps(pf, JSON_COMPACT);
            free(text);
            json_decref(pf);
        }
        arb_chain_tip tip;
        arb_chainstate_tip(CS, &tip);
        printf("{\"bench\":\"names_connect\",\"what\":\"name lookup with proof (JSON, %u headers)\","
               "\"names\":%zu,\"lookups_per_s\":%.0f}\n",
               tip.height, total, (double)n / (now_s() - t0));
    }

    /* Anchors: 1,000 logs' first heads. */
    {
        size_t n = 1000;
        arb_tx *atx = calloc(n, sizeof *atx);
        arb_anchor *an = calloc(n, sizeof *an);
        uint8_t(*spki)[128] = calloc(n, 128);
        uint8_t(*sig)[ARB_CT_SIG_MAX] = calloc(n, ARB_CT_SIG_MAX);
        coin *ac = c + 2 * total;
        if (atx == NULL || an == NULL || spki == NULL || sig == NULL)
            die("nomem");
        coin *acs = malloc(n * sizeof *acs);
        if (acs == NULL)
            die("nomem");
        fan_out(4, acs, n, 20000);
        (void)ac;
        arb_hash root;
        arb_merkle_leaf_hash(H, &root, "leaf", 4);
        for (size_t i = 0; i < n; i++) {
            arb_ct_signer *k;
            uint8_t *der;
            size_t len;
            arb_ct_dsig d;
            if (arb_ct_signer_generate(&k, NULL) != ARB_OK ||
                arb_ct_signer_spki(k, &der, &len) != ARB_OK || len > 128 ||
                arb_ct_sth_sign(k, &d, sig[i], 1700000000000ULL, 1, root.b) != ARB_OK)
                die("log key");
            memcpy(spki[i], der, len);
            free(der);
            arb_ct_signer_free(k);
            an[i].spki = spki[i];
            an[i].spki_len = len;
            an[i].tree_size = 1;
            an[i].timestamp = 1700000000000ULL;
            memcpy(an[i].root, root.b, 32);
            an[i].sig_hash_alg = d.hash_alg;
            an[i].sig_sig_alg = d.sig_alg;
            an[i].sig = d.sig;
            an[i].sig_len = d.sig_len;
        }
        /* the check alone, per anchor */
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            arb_anchor_head next;
            const char *reason;
            if (arb_anchor_check(H, &an[i], NULL, 1, &next, &reason) != ARB_OK)
                die("anchor check");
        }
        double t_check = (now_s() - t0) / (double)n;
        /* a plain transaction's consensus check (its signature), per tx */
        arb_chain_checker chk = {H, S, 1};
        arb_tx ptx;
        coin spare = c[2 * total];
        tx_build(&ptx, &spare, 0, NULL, 0, 0);
        arb_check_result r;
        t0 = now_s();
        for (size_t i = 0; i < n; i++)
            if (arb_chain_check_tx_inputs(P, &chk, &ptx, 200, 0, arb_chainstate_utxo_lookup, CS,
                                          &r) != ARB_OK)
                die("plain check");
        double t_plaintx = (now_s() - t0) / (double)n;
        arb_tx_clear(&ptx);
        for (size_t i = 0; i < n; i++) {
            arb_buf b = ARB_BUF_INIT;
            if (arb_anchor_encode(&b, &an[i]) != ARB_OK)
                die("anchor encode");
            tx_build(&atx[i], &acs[i], ARB_PAYLOAD_LOG_ANCHOR, b.data, b.len, 0);
            arb_buf_free(&b);
        }
        double t_blk = connect(atx, n, &pv);
        printf("{\"bench\":\"names_connect\",\"what\":\"anchor check per anchor vs plain tx "
               "check\",\"anchor_us\":%.1f,\"plain_tx_us\":%.1f,\"ratio\":%.2f}\n",
               t_check * 1e6, t_plaintx * 1e6, t_check / t_plaintx);
        printf("{\"bench\":\"names_connect\",\"what\":\"connect a block of 1000 anchors\","
               "\"seconds\":%.3f,\"anchors_per_s\":%.0f,\"preview_seconds\":%.3f}\n",
               t_blk, (double)n / t_blk, pv);
        free(atx);
        free(an);
        free(spki);
        free(sig);
        free(acs);
    }
    free(txs);
    free(c);
    free(pc);
    arb_chainstate_close(CS);
    arb_store_close(st);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_names_connect: could not remove %s\n", dir);
    return 0;
}
