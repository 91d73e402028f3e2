/* The mempool under load. A pool is filled with signed transactions (60%
 * independent one-input one-output spends paying 1..20 units per byte, 40% in
 * CPFP chains of 25 where each child pays one unit more than its parent) and,
 * at 10k, 100k and 300k transactions (or the sizes given), measured:
 *   - admission with signature checks (accepts/s over the whole fill), next
 *     to the raw libsecp256k1 BIP340 verify rate measured in the same run;
 *   - a block template (arb_mempool_select of a full 1 MB block), median of 5;
 *   - block connects: an empty block, a block of 2,000 transactions that are
 *     not in the pool (each input looked up in the outpoint index), and the
 *     template's own block (its transactions leave the pool);
 *   - a reorg's re-admission of the whole pool (arb_mempool_resync);
 *   - a payload flood: admissions per second of log anchors (real P-256
 *     keys, signed tree heads) and of name updates with 0, 1,000 and 4,900
 *     anchors already pending (the pool's bound is 5,000), through the
 *     pool's cached state view and through the reference that applies every
 *     pending payload again (fewer admissions measured there).
 * Prints one JSON line per figure, with the load average.
 * Usage: bench_mempool [--flood-only] [size...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/mempool.h"
#include "ledger/chain/stateview.h"
#include "ledger/log/key.h"
#include "ledger/names/nameop.h"
#include "ledger/names/names.h"
#include "merkle/proof.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *m)
{
    fprintf(stderr, "bench_mempool: %s\n", m);
    exit(1);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---------------------------------------------------------------- chain coins */

typedef struct {
    arb_outpoint op;
    uint64_t amount;
} coin;

#define CCAP (1u << 21)
static coin *CT; /* open addressing; amount 0 = empty */
static size_t NC;
static uint8_t SK[32], PK[32];

static size_t chash(const arb_outpoint *op)
{
    uint64_t h;
    memcpy(&h, op->txid.b, 8);
    return (size_t)((h ^ op->index) * 0x9e3779b97f4a7c15ULL >> 43) & (CCAP - 1);
}

static int lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    (void)ud;
    for (size_t i = chash(op);; i = (i + 1) & (CCAP - 1)) {
        if (CT[i].amount == 0)
            return 0;
        if (CT[i].op.index == op->index && memcmp(CT[i].op.txid.b, op->txid.b, 32) == 0) {
            out->amount = CT[i].amount;
            memcpy(out->key, PK, 32);
            out->height = 1;
            out->coinbase = 0;
            return 1;
        }
    }
}

static void put_coin(const arb_outpoint *op, uint64_t amount)
{
    if (++NC > CCAP / 2)
        die("too many coins");
    size_t i = chash(op);
    while (CT[i].amount != 0)
        i = (i + 1) & (CCAP - 1);
    CT[i].op = *op;
    CT[i].amount = amount;
}

static arb_outpoint new_coin(uint64_t amount)
{
    if (++NC > CCAP / 2)
        die("too many coins");
    arb_outpoint op;
    for (int i = 0; i < 4; i++) {
        uint64_t r = rnd();
        memcpy(op.txid.b + 8 * i, &r, 8);
    }
    op.index = 0;
    size_t i = chash(&op);
    while (CT[i].amount != 0)
        i = (i + 1) & (CCAP - 1);
    CT[i].op = op;
    CT[i].amount = amount;
    return op;
}

/* ---------------------------------------------------------------- transactions */

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;

static void make_tx(arb_tx *tx, const arb_outpoint *op, uint64_t amount, uint64_t fee)
{
    arb_txout spent = {amount, {0}};
    memcpy(spent.key, PK, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        die("out of memory");
    tx->version = 1;
    tx->in[0] = *op;
    tx->out[0].amount = amount - fee;
    memcpy(tx->out[0].key, PK, 32);
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, SK, NULL) != ARB_OK)
        die("sign");
}

/* Fills txs[0..n) with the next batch of the mix. */
static void generate(arb_tx *txs, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (rnd() % 10 < 4 && n - i >= 25) { /* a CPFP chain */
            uint64_t amount = 10000000, base = 160 + rnd() % 300;
            arb_outpoint op = new_coin(amount);
            for (int k = 0; k < 25; k++, i++) {
                make_tx(&txs[i], &op, amount, base + (uint64_t)k);
                amount -= base + (uint64_t)k;
                if (arb_tx_txid(H, &op.txid, &txs[i]) != ARB_OK)
                    die("txid");
                op.index = 0;
            }
        } else {
            uint64_t amount = 10000000;
            arb_outpoint op = new_coin(amount);
            make_tx(&txs[i++], &op, amount, (1 + rnd() % 20) * 151 + rnd() % 151);
        }
    }
}

/* Raw BIP340 verifications per second (the bound for admission), measured
 * again next to each admission figure: the machine's load changes. */
static double verify_rate(void)
{
    enum { NV = 4000 };
    static uint8_t msg[NV][32], sig[NV][64];
    static int ready;
    if (!ready) {
        for (int i = 0; i < NV; i++) {
            uint64_t r = rnd();
            memcpy(msg[i], &r, 8);
            memset(msg[i] + 8, i & 0xff, 24);
            if (!arb_schnorr_sign(S, sig[i], msg[i], 32, SK, NULL))
                die("sign");
        }
        ready = 1;
    }
    double t0 = now_s();
    int ok = 0;
    for (int i = 0; i < NV; i++)
        ok += arb_schnorr_verify(S, sig[i], msg[i], 32, PK);
    double dt = now_s() - t0;
    if (ok != NV)
        die("verify");
    return NV / dt;
}

static void load_avg(char *out, size_t cap)
{
    double la[3] = {0, 0, 0};
    if (getloadavg(la, 3) < 0)
        la[0] = la[1] = la[2] = -1;
    snprintf(out, cap, "\"load\":[%.2f,%.2f,%.2f]", la[0], la[1], la[2]);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---------------------------------------------------------------- payload flood */

/* The tip's committed records: a namespace "bench" and names "b<i>.bench"
 * owned by PK (sorted array searched linearly: a few dozen). */
enum { FNAMES = 64 };
typedef struct {
    uint8_t kind, key[32];
    size_t len;
    uint8_t rec[ARB_SREC_MAX];
} frec;
static frec FR[FNAMES + 1];
static size_t NFR;

static arb_err flood_get(void *ud, uint8_t kind, const uint8_t key32[32],
                         uint8_t out[ARB_SREC_MAX], size_t *len)
{
    (void)ud;
    for (size_t i = 0; i < NFR; i++)
        if (FR[i].kind == kind && memcmp(FR[i].key, key32, 32) == 0) {
            memcpy(out, FR[i].rec, FR[i].len);
            *len = FR[i].len;
            return ARB_OK;
        }
    return ARB_ERR_NOT_FOUND;
}

static void flood_base(void)
{
    arb_namespace_rec ns;
    arb_buf b = ARB_BUF_INIT;
    memset(&ns, 0, sizeof ns);
    memcpy(ns.id, "bench", 5);
    ns.id_len = 5;
    memcpy(ns.reveal_key, PK, 32);
    ns.reveal_height = 1;
    ns.ready = 1;
    ns.ready_height = 2;
    ns.price.coeff = 1;
    ns.price.base = 2;
    for (int i = 0; i < 16; i++)
        ns.price.buckets[i] = 1;
    ns.price.nonalpha_discount = ns.price.no_vowel_discount = 1;
    arb_names_ns_rec_encode(&b, &ns);
    FR[0].kind = ARB_SREC_NAMESPACE;
    arb_names_ns_key(H, FR[0].key, ns.id, ns.id_len);
    memcpy(FR[0].rec, b.data, b.len);
    FR[0].len = b.len;
    for (int i = 0; i < FNAMES; i++) {
        arb_name_rec n;
        memset(&n, 0, sizeof n);
        n.full_len = (size_t)snprintf((char *)n.full, sizeof n.full, "b%d.bench", i);
        memcpy(n.owner, PK, 32);
        n.registered_height = n.renewed_height = 3;
        b.len = 0;
        arb_names_name_rec_encode(&b, &n);
        FR[1 + i].kind = ARB_SREC_NAME;
        arb_names_name_key(H, FR[1 + i].key, n.full, n.full_len);
        memcpy(FR[1 + i].rec, b.data, b.len);
        FR[1 + i].len = b.len;
    }
    NFR = 1 + FNAMES;
    arb_buf_free(&b);
}

static arb_err flood_ref(void *ud, const arb_tx *const *txs, size_t n,
                         const uint8_t *const *senders, uint8_t *ok, const char **reasons)
{
    arb_sview *v;
    arb_err err;
    if ((err = arb_sview_new(&v, arb_names_params_get(P->name), flood_get, NULL)) != ARB_OK)
        return err;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        ok[i] = 1;
        reasons[i] = NULL;
        if (txs[i]->payload_type == 0)
            continue;
        err = senders[i] ? arb_sview_apply(v, H, txs[i], (uint32_t)(i + 1), senders[i],
                                           *(const uint32_t *)ud, &why)
                         : ARB_ERR_VERIFY;
        if (err == ARB_ERR_VERIFY) {
            ok[i] = 0;
            reasons[i] = why ? why : "bad-txns-inputs-missingorspent";
            continue;
        }
        if (err != ARB_OK)
            break;
    }
    arb_sview_free(v);
    return err == ARB_ERR_VERIFY ? ARB_OK : err;
}

/* Tree of 64 leaves that every log serves. */
static arb_hash FLEAF[64];
static arb_err fnode(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    arb_hash l, r;
    if (level == 0) {
        if (index >= 64)
            return ARB_ERR_NOT_FOUND;
        *out = FLEAF[index];
        return ARB_OK;
    }
    if (fnode(ud, level - 1, 2 * index, &l) != ARB_OK ||
        fnode(ud, level - 1, 2 * index + 1, &r) != ARB_OK)
        return ARB_ERR_NOT_FOUND;
    arb_merkle_node_hash(H, out, &l, &r);
    return ARB_OK;
}

/* A signed transaction carrying log `signer`'s head at size (from size - 1),
 * or (signer NULL) an update of name i. */
static void flood_tx(arb_tx *tx, const arb_ct_signer *signer, const uint8_t *spki,
                     size_t spki_len, uint64_t size, int name)
{
    arb_buf pl = ARB_BUF_INIT;
    uint8_t type;
    if (signer != NULL) {
        arb_merkle_source src = {fnode, NULL};
        arb_anchor *a = calloc(1, sizeof *a);
        uint8_t sig[ARB_CT_SIG_MAX];
        arb_hash root;
        arb_ct_dsig d;
        if (a == NULL || arb_merkle_source_root(H, &src, size, &root) != ARB_OK ||
            arb_ct_sth_sign(signer, &d, sig, size * 1000, size, root.b) != ARB_OK)
            die("anchor");
        a->spki = spki;
        a->spki_len = spki_len;
        a->tree_size = size;
        a->timestamp = size * 1000;
        memcpy(a->root, root.b, 32);
        a->sig_hash_alg = d.hash_alg;
        a->sig_sig_alg = d.sig_alg;
        a->sig = d.sig;
        a->sig_len = d.sig_len;
        if (size > 1 &&
            arb_merkle_consistency_build(H, &src, size - 1, size, a->proof, &a->proof_len) !=
                ARB_OK)
            die("proof");
        if (arb_anchor_encode(&pl, a) != ARB_OK)
            die("anchor encode");
        free(a);
        type = ARB_PAYLOAD_LOG_ANCHOR;
    } else {
        arb_nameop op;
        memset(&op, 0, sizeof op);
        op.type = type = ARB_NAMEOP_NAME_UPDATE;
        op.full_len = (size_t)snprintf((char *)op.full, sizeof op.full, "b%d.bench", name);
        op.has_zonefile = 1;
        uint64_t r = rnd();
        memcpy(op.zonefile_hash, &r, 8);
        if (arb_nameop_encode(&pl, &op) != ARB_OK)
            die("nameop encode");
    }
    uint64_t amount = 10000000;
    arb_outpoint op = new_coin(amount);
    arb_txout spent = {amount, {0}};
    memcpy(spent.key, PK, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK || (tx->payload = malloc(pl.len)) == NULL)
        die("out of memory");
    tx->version = 1;
    tx->in[0] = op;
    tx->out[0].amount = amount - 20000;
    memcpy(tx->out[0].key, PK, 32);
    tx->payload_type = type;
    memcpy(tx->payload, pl.data, pl.len);
    tx->payload_len = pl.len;
    arb_buf_free(&pl);
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, SK, NULL) != ARB_OK)
        die("sign");
}

typedef struct {
    arb_ct_signer *signer;
    uint8_t spki[ARB_ANCHOR_SPKI_MAX];
    size_t spki_len;
} flog;

static void flog_new(flog *l)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (arb_ct_signer_generate(&l->signer, NULL) != ARB_OK ||
        arb_ct_signer_spki(l->signer, &der, &len) != ARB_OK || len > sizeof l->spki)
        die("log key");
    memcpy(l->spki, der, len);
    l->spki_len = len;
    free(der);
}

/* Admissions per second of n transactions (all must enter). */
static double flood_rate(arb_mempool *mp, const arb_chain_checker *c, const arb_mempool_chain *ch,
                         arb_tx *txs, size_t n)
{
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        arb_check_result r;
        if (arb_mempool_accept(mp, c, ch, &txs[i], NULL, &r) != ARB_OK) {
            fprintf(stderr, "bench_mempool: flood admission refused: %s\n",
                    r.reason ? r.reason : "?");
            exit(1);
        }
    }
    double dt = now_s() - t0;
    for (size_t i = 0; i < n; i++)
        arb_tx_clear(&txs[i]);
    return (double)n / dt;
}

static void flood(void)
{
    enum { NLOGS = 200, BATCH = 50, RBATCH = 3 };
    static const size_t pend[3] = {0, 1000, 4900};
    arb_chain_checker c = {H, S, 1};
    uint32_t height = 200;
    char load[96];
    flog *logs = calloc(NLOGS + 2 * BATCH, sizeof *logs);
    arb_tx *txs = calloc(4900 + BATCH, sizeof *txs);
    if (logs == NULL || txs == NULL)
        die("out of memory");
    for (int i = 0; i < 64; i++) {
        char b[16];
        int n = snprintf(b, sizeof b, "leaf %d", i);
        arb_merkle_leaf_hash(H, &FLEAF[i], b, (size_t)n);
    }
    flood_base();
    for (int i = 0; i < NLOGS + 2 * BATCH; i++)
        flog_new(&logs[i]);
    for (int ref = 0; ref < 2; ref++) {
        for (int pi = 0; pi < 3; pi++) {
            arb_mempool *mp;
            arb_mempool_opts o = {(size_t)64 << 20, NULL, NULL};
            if (arb_mempool_new(&mp, P, &o) != ARB_OK)
                die("out of memory");
            arb_mempool_chain ch = {lookup, NULL, height, 0, {{0}}, NULL, NULL, NULL, NULL};
            arb_mempool_chain fill = ch;
            if (ref) {
                ch.state = flood_ref;
                ch.state_ud = &height;
            } else {
                ch.state_get = flood_get;
                fill = ch;
            }
            /* pending anchors: 25 heads each of 196 logs (the reference's
             * pool is filled by the context-free rules only) */
            size_t n = pend[pi];
            for (size_t i = 0; i < n; i++)
                flood_tx(&txs[i], logs[i % (NLOGS - 4)].signer, logs[i % (NLOGS - 4)].spki,
                         logs[i % (NLOGS - 4)].spki_len, 1 + i / (NLOGS - 4), 0);
            (void)flood_rate(mp, &c, &fill, txs, n);
            size_t nb = ref ? RBATCH : BATCH;
            for (size_t i = 0; i < nb; i++) /* first heads of logs not pending */
                flood_tx(&txs[i], logs[NLOGS + i].signer, logs[NLOGS + i].spki,
                         logs[NLOGS + i].spki_len, 1, 0);
            double anchors = flood_rate(mp, &c, &ch, txs, nb);
            for (size_t i = 0; i < nb; i++)
                flood_tx(&txs[i], NULL, NULL, 0, 0, (int)i);
            double names = flood_rate(mp, &c, &ch, txs, nb);
            arb_mempool_payload_stats st;
            arb_mempool_payload_stats_get(mp, &st);
            load_avg(load, sizeof load);
            printf("{\"bench\":\"mempool\",\"figure\":\"payload_flood\",\"path\":\"%s\","
                   "\"pending\":%zu,\"measured\":%zu,\"anchors_per_s\":%.1f,"
                   "\"name_ops_per_s\":%.1f,\"state_applications\":%llu,"
                   "\"signature_checks\":%llu,%s}\n",
                   ref ? "reference" : "cached_view", n, nb, anchors, names,
                   (unsigned long long)st.applications, (unsigned long long)st.sig_verifications,
                   load);
            fflush(stdout);
            arb_mempool_free(mp);
        }
    }
    for (int i = 0; i < NLOGS + 2 * BATCH; i++)
        arb_ct_signer_free(logs[i].signer);
    free(logs);
    free(txs);
}

int main(int argc, char **argv)
{
    size_t sizes[8] = {10000, 100000, 300000};
    size_t n_sizes = 3;
    int flood_only = argc > 1 && strcmp(argv[1], "--flood-only") == 0;
    if (argc > 1 + flood_only) {
        n_sizes = 0;
        for (int i = 1 + flood_only; i < argc && n_sizes < 8; i++)
            sizes[n_sizes++] = strtoul(argv[i], NULL, 10);
    }
    CT = calloc(CCAP, sizeof *CT);
    if (CT == NULL || arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        die("out of memory");
    P = arb_chain_params_get("regtest");
    do {
        for (int i = 0; i < 4; i++) {
            uint64_t r = rnd();
            memcpy(SK + 8 * i, &r, 8);
        }
    } while (!arb_schnorr_pubkey(S, PK, SK));
    char load[96];

    flood();
    if (flood_only) {
        arb_schnorr_free(S);
        arb_sha256_free(H);
        free(CT);
        return 0;
    }
    load_avg(load, sizeof load);
    printf("{\"bench\":\"mempool\",\"figure\":\"bip340_verify_raw\",\"per_s\":%.0f,%s}\n",
           verify_rate(), load);
    fflush(stdout);

    arb_mempool *mp;
    arb_mempool_opts o = {(size_t)256 << 20, NULL, NULL};
    if (arb_mempool_new(&mp, P, &o) != ARB_OK)
        die("out of memory");
    arb_chain_checker c = {H, S, 1};
    arb_mempool_chain ch = {lookup, NULL, 200, 0, {{0}}, NULL, NULL, NULL, NULL};
    double accept_s = 0, last_s = 1, last_n = 0;
    size_t accepted = 0, refused = 0;
    for (size_t si = 0; si < n_sizes; si++) {
        size_t count;
        arb_mempool_stats(mp, &count, NULL);
        while (count < sizes[si]) {
            size_t n = sizes[si] - count < 5000 ? sizes[si] - count : 5000;
            if (n < 25)
                n = 25;
            arb_tx *txs = calloc(n, sizeof *txs);
            if (txs == NULL)
                die("out of memory");
            generate(txs, n);
            double t0 = now_s();
            for (size_t i = 0; i < n; i++) {
                arb_check_result r;
                if (arb_mempool_accept(mp, &c, &ch, &txs[i], NULL, &r) == ARB_OK)
                    accepted++;
                else
                    refused++;
            }
            last_s = now_s() - t0;
            last_n = (double)n;
            accept_s += last_s;
            for (size_t i = 0; i < n; i++)
                arb_tx_clear(&txs[i]);
            free(txs);
            arb_mempool_stats(mp, &count, NULL);
        }
        size_t bytes;
        arb_mempool_stats(mp, &count, &bytes);
        /* the last batch's admission rate next to a raw verify rate measured now */
        double raw = verify_rate();
        load_avg(load, sizeof load);
        printf("{\"bench\":\"mempool\",\"figure\":\"accept\",\"pool\":%zu,\"accepted\":%zu,"
               "\"refused\":%zu,\"per_s\":%.0f,\"last_batch_per_s\":%.0f,"
               "\"verify_raw_per_s\":%.0f,\"ratio\":%.2f,%s}\n",
               count, accepted, refused, accepted / accept_s, last_n / last_s, raw,
               last_n / last_s / raw, load);

        /* Template: median of 5. */
        double ts[5];
        size_t ntx = 0;
        uint64_t fees = 0;
        arb_tx *sel = NULL;
        for (int k = 0; k < 5; k++) {
            double t0 = now_s();
            if (arb_mempool_select(mp, ARB_BLOCK_MAX_SIZE - 4096, &sel, &ntx, &fees, NULL, NULL) !=
                ARB_OK)
                die("select");
            ts[k] = now_s() - t0;
            if (k < 4) {
                for (size_t i = 0; i < ntx; i++)
                    arb_tx_clear(&sel[i]);
                free(sel);
            }
        }
        qsort(ts, 5, sizeof *ts, cmp_d);
        load_avg(load, sizeof load);
        printf("{\"bench\":\"mempool\",\"figure\":\"template\",\"pool\":%zu,\"bytes\":%zu,"
               "\"block_txs\":%zu,\"fees\":%llu,\"ms\":%.2f,\"ms_min\":%.2f,%s}\n",
               count, bytes, ntx, (unsigned long long)fees, ts[2] * 1e3, ts[0] * 1e3, load);

        /* Connects: empty, 2,000 foreign transactions, the template's block. */
        arb_block blk;
        arb_block_init(&blk);
        double t0 = now_s();
        arb_mempool_block_connected(mp, H, &blk);
        double empty = now_s() - t0;
        blk.n_tx = 2000;
        blk.tx = calloc(blk.n_tx, sizeof *blk.tx);
        if (blk.tx == NULL)
            die("out of memory");
        for (size_t i = 0; i < blk.n_tx; i++) {
            arb_outpoint op = new_coin(1000000);
            make_tx(&blk.tx[i], &op, 1000000, 1000);
        }
        t0 = now_s();
        arb_mempool_block_connected(mp, H, &blk);
        double foreign = now_s() - t0;
        arb_block_clear(&blk);
        arb_block_init(&blk);
        blk.n_tx = ntx;
        blk.tx = sel;
        t0 = now_s();
        arb_mempool_block_connected(mp, H, &blk);
        double own = now_s() - t0;
        /* the chain now has the block's outputs (children left in the pool spend them) */
        for (size_t i = 0; i < blk.n_tx; i++) {
            arb_outpoint op;
            if (arb_tx_txid(H, &op.txid, &blk.tx[i]) != ARB_OK)
                die("txid");
            for (uint32_t k = 0; k < blk.tx[i].n_out; k++) {
                op.index = k;
                put_coin(&op, blk.tx[i].out[k].amount);
            }
        }
        arb_block_clear(&blk); /* frees sel */
        size_t after;
        arb_mempool_stats(mp, &after, NULL);
        load_avg(load, sizeof load);
        /* A reorg with nothing disconnected: the whole pool is re-admitted
         * (every rule but the signature check). */
        t0 = now_s();
        if (arb_mempool_resync(mp, &c, &ch, NULL, 0) != ARB_OK)
            die("resync");
        double resync = now_s() - t0;
        size_t after_resync;
        arb_mempool_stats(mp, &after_resync, NULL);
        printf("{\"bench\":\"mempool\",\"figure\":\"reorg_resync\",\"pool\":%zu,\"ms\":%.1f,"
               "\"kept\":%zu,%s}\n",
               after, resync * 1e3, after_resync, load);
        printf("{\"bench\":\"mempool\",\"figure\":\"connect\",\"pool\":%zu,\"empty_ms\":%.3f,"
               "\"foreign_2000_ms\":%.3f,\"template_block_ms\":%.3f,\"template_block_txs\":%zu,"
               "\"pool_after\":%zu,%s}\n",
               count, empty * 1e3, foreign * 1e3, own * 1e3, ntx, after, load);
        fflush(stdout);
    }
    arb_mempool_free(mp);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    free(CT);
    return 0;
}
