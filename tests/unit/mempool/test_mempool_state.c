/* The mempool's state view of pending payload transactions (name
 * operations and log anchors, with real P-256 log keys, real signed tree
 * heads and consistency proofs, and real name records):
 *   - admission applies one transaction whatever the number pending: the
 *     pool's counters of state applications and signature verifications
 *     grow by one per admission, and a rebuild after a block re-applies the
 *     pending ones without verifying a signature again;
 *   - the bounds on pending payload transactions (count, bytes, anchors per
 *     log, operations per name) refuse with their reasons and counters, and
 *     a replacement counts without what it replaces;
 *   - a randomized differential test: a pool with the cached view and a
 *     pool checking through the simple reference (every pending payload
 *     applied again on each admission) take the same random sequence of
 *     admissions (forged heads among them), replacements, evictions, blocks
 *     and reorganizations and must hold the same transactions, and the
 *     cached view must equal a view rebuilt from scratch after every step.
 *
 * Seeded: ARB_TEST_SEED replays a run, ARB_TEST_COUNT scales the random
 * test. */
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/mempool.h"
#include "ledger/chain/stateview.h"
#include "ledger/log/key.h"
#include "ledger/names/nameop.h"
#include "ledger/names/names.h"
#include "merkle/proof.h"
#include "tests/test.h"

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static const arb_names_params *NP;
static arb_chain_checker C;
static uint8_t SK[32], PK[32];

/* ---------------------------------------------------------------- the base state */

/* The tip's committed records: a small table, searched linearly. */
enum { RMAX = 256 };
typedef struct {
    uint8_t kind, key[32];
    size_t len;
    uint8_t rec[ARB_SREC_MAX];
} rec;
static rec R[RMAX];
static size_t NR;
static unsigned long BASE_READS;

static rec *rfind(uint8_t kind, const uint8_t key[32])
{
    for (size_t i = 0; i < NR; i++)
        if (R[i].kind == kind && memcmp(R[i].key, key, 32) == 0)
            return &R[i];
    return NULL;
}

static arb_err base_get(void *ud, uint8_t kind, const uint8_t key32[32],
                        uint8_t out[ARB_SREC_MAX], size_t *len)
{
    (void)ud;
    BASE_READS++;
    rec *r = rfind(kind, key32);
    if (r == NULL)
        return ARB_ERR_NOT_FOUND;
    memcpy(out, r->rec, r->len);
    *len = r->len;
    return ARB_OK;
}

static void rset(uint8_t kind, const uint8_t key[32], int has, const uint8_t *data, size_t len)
{
    rec *r = rfind(kind, key);
    if (!has) {
        if (r != NULL)
            *r = R[--NR];
        return;
    }
    if (r == NULL) {
        if (NR == RMAX)
            abort();
        r = &R[NR++];
        r->kind = kind;
        memcpy(r->key, key, 32);
    }
    memcpy(r->rec, data, len);
    r->len = len;
}

/* The chain: coins (a hash table by outpoint), the next height, the tip. */
typedef struct {
    arb_outpoint op;
    arb_txout out;
    int in_chain;
} known;
#define KCAP (1u << 17)
static known *K;
static uint32_t *KT;
static size_t NK;

static size_t khash(const arb_outpoint *op)
{
    uint64_t h;
    memcpy(&h, op->txid.b, 8);
    h ^= op->index * 0x9e3779b97f4a7c15ULL;
    h *= 0xbf58476d1ce4e5b9ULL;
    return (size_t)(h >> 40) & (KCAP - 1);
}

static known *kfind(const arb_outpoint *op)
{
    for (size_t i = khash(op);; i = (i + 1) & (KCAP - 1)) {
        if (KT[i] == 0)
            return NULL;
        known *k = &K[KT[i] - 1];
        if (k->op.index == op->index && memcmp(k->op.txid.b, op->txid.b, 32) == 0)
            return k;
    }
}

static void kadd(const arb_outpoint *op, const arb_txout *out, int in_chain)
{
    if (kfind(op) != NULL)
        return;
    if (NK + 1 >= KCAP / 2) {
        fprintf(stderr, "known-output table full (lower ARB_TEST_COUNT)\n");
        abort();
    }
    known *k = &K[NK++];
    k->op = *op;
    k->out = *out;
    k->in_chain = in_chain;
    size_t i = khash(op);
    while (KT[i] != 0)
        i = (i + 1) & (KCAP - 1);
    KT[i] = (uint32_t)NK;
}

static int chain_lookup(void *ud, const arb_outpoint *op, arb_coin *out)
{
    (void)ud;
    known *k = kfind(op);
    if (k == NULL || !k->in_chain)
        return 0;
    out->amount = k->out.amount;
    memcpy(out->key, k->out.key, 32);
    out->height = 1;
    out->coinbase = 0;
    return 1;
}

static arb_mempool_chain CH; /* the cached view's chain description */
static arb_mempool_chain CHR; /* the reference's */

/* The reference check: a fresh view, every payload applied (and every
 * signature verified) again. */
static unsigned long REF_CALLS;
static arb_err ref_state(void *ud, const arb_tx *const *txs, size_t n,
                         const uint8_t *const *senders, uint8_t *ok, const char **reasons)
{
    arb_sview *v;
    arb_err err;
    (void)ud;
    REF_CALLS++;
    if ((err = arb_sview_new(&v, NP, base_get, NULL)) != ARB_OK)
        return err;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        ok[i] = 1;
        reasons[i] = NULL;
        if (txs[i]->payload_type == 0)
            continue;
        if (senders[i] == NULL) {
            ok[i] = 0;
            reasons[i] = "bad-txns-inputs-missingorspent";
            continue;
        }
        err = arb_sview_apply(v, H, txs[i], (uint32_t)(i + 1), senders[i], CH.next_height, &why);
        if (err == ARB_ERR_VERIFY) {
            ok[i] = 0;
            reasons[i] = why;
            continue;
        }
        if (err != ARB_OK) {
            arb_sview_free(v);
            return err;
        }
    }
    arb_sview_free(v);
    return ARB_OK;
}

static void chains_sync(void)
{
    CHR = CH;
    CHR.state_get = NULL;
    CHR.state_get_ud = NULL;
    CHR.state = ref_state;
}

static void new_tip(void)
{
    arb_test_rand_bytes(CH.tip.b, 32);
    chains_sync();
}

static arb_outpoint add_coin(uint64_t amount)
{
    arb_outpoint op;
    arb_txout o;
    arb_test_rand_bytes(op.txid.b, 32);
    op.index = 0;
    o.amount = amount;
    memcpy(o.key, PK, 32);
    kadd(&op, &o, 1);
    return op;
}

/* ---------------------------------------------------------------- logs and names */

/* One tree of leaves "leaf <i>" that every log serves (their keys differ). */
enum { LEAVES = 64, LOGS = 48 };
static arb_hash LEAF[LEAVES];

static arb_err get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    arb_hash l, r;
    (void)ud;
    if (level == 0) {
        if (index >= LEAVES)
            return ARB_ERR_NOT_FOUND;
        *out = LEAF[index];
        return ARB_OK;
    }
    if (get_node(ud, level - 1, 2 * index, &l) != ARB_OK ||
        get_node(ud, level - 1, 2 * index + 1, &r) != ARB_OK)
        return ARB_ERR_NOT_FOUND;
    arb_merkle_node_hash(H, out, &l, &r);
    return ARB_OK;
}

typedef struct {
    uint8_t spki[ARB_ANCHOR_SPKI_MAX];
    size_t spki_len;
    arb_ct_signer *signer;
    uint8_t id[32];
} logkey;
static logkey LOG[LOGS];

static void logkey_new(logkey *k)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (arb_ct_signer_generate(&k->signer, NULL) != ARB_OK ||
        arb_ct_signer_spki(k->signer, &der, &len) != ARB_OK || len > sizeof k->spki)
        abort();
    memcpy(k->spki, der, len);
    k->spki_len = len;
    free(der);
    arb_ct_signer_log_id(k->signer, k->id);
}

/* The payload of log l's head at `size` (timestamp size * 1000 + ts_add),
 * with a consistency proof from `from` when 0 < from < size. */
static void anchor_payload(arb_buf *out, int l, uint64_t size, uint64_t ts_add, uint64_t from)
{
    arb_merkle_source src = {get_node, NULL};
    arb_anchor *a = calloc(1, sizeof *a);
    uint8_t sig[ARB_CT_SIG_MAX];
    arb_hash root;
    arb_ct_dsig d;
    uint64_t ts = size * 1000 + ts_add;
    if (a == NULL || arb_merkle_source_root(H, &src, size, &root) != ARB_OK ||
        arb_ct_sth_sign(LOG[l].signer, &d, sig, ts, size, root.b) != ARB_OK)
        abort();
    a->spki = LOG[l].spki;
    a->spki_len = LOG[l].spki_len;
    a->tree_size = size;
    a->timestamp = ts;
    memcpy(a->root, root.b, 32);
    a->sig_hash_alg = d.hash_alg;
    a->sig_sig_alg = d.sig_alg;
    a->sig = d.sig;
    a->sig_len = d.sig_len;
    if (from > 0 && from < size &&
        arb_merkle_consistency_build(H, &src, from, size, a->proof, &a->proof_len) != ARB_OK)
        abort();
    if (arb_anchor_encode(out, a) != ARB_OK)
        abort();
    free(a);
}

/* Names "n<i>.test" owned by PK in a ready namespace "test" that never
 * expires. */
enum { NAMES = 8 };
static void name_full(int i, char *out)
{
    snprintf(out, 16, "n%d.test", i);
}

static void base_names(void)
{
    arb_namespace_rec ns;
    arb_buf b = ARB_BUF_INIT;
    uint8_t key[32];
    memset(&ns, 0, sizeof ns);
    memcpy(ns.id, "test", 4);
    ns.id_len = 4;
    memcpy(ns.reveal_key, PK, 32);
    ns.reveal_height = 1;
    ns.ready = 1;
    ns.ready_height = 2;
    ns.lifetime = 0;
    ns.price.coeff = 1;
    ns.price.base = 2;
    for (int i = 0; i < 16; i++)
        ns.price.buckets[i] = 1;
    ns.price.nonalpha_discount = 1;
    ns.price.no_vowel_discount = 1;
    arb_names_ns_rec_encode(&b, &ns);
    arb_names_ns_key(H, key, ns.id, ns.id_len);
    rset(ARB_SREC_NAMESPACE, key, 1, b.data, b.len);
    for (int i = 0; i < NAMES; i++) {
        arb_name_rec n;
        char full[16];
        memset(&n, 0, sizeof n);
        name_full(i, full);
        n.full_len = strlen(full);
        memcpy(n.full, full, n.full_len);
        memcpy(n.owner, PK, 32);
        n.registered_height = n.renewed_height = 3;
        b.len = 0;
        arb_names_name_rec_encode(&b, &n);
        arb_names_name_key(H, key, n.full, n.full_len);
        rset(ARB_SREC_NAME, key, 1, b.data, b.len);
    }
    arb_buf_free(&b);
}

static void name_payload(arb_buf *out, uint8_t type, int i)
{
    arb_nameop op;
    char full[16];
    memset(&op, 0, sizeof op);
    op.type = type;
    name_full(i, full);
    op.full_len = strlen(full);
    memcpy(op.full, full, op.full_len);
    op.has_zonefile = type == ARB_NAMEOP_NAME_UPDATE;
    arb_test_rand_bytes(op.zonefile_hash, 32);
    if (arb_nameop_encode(out, &op) != ARB_OK)
        abort();
}

/* A name preorder of a random commitment (no per-record bound). */
#define BURN 1000u
static void preorder_payload(arb_buf *out)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_PREORDER;
    arb_test_rand_bytes(op.commitment, 32);
    op.burn = BURN;
    if (arb_nameop_encode(out, &op) != ARB_OK)
        abort();
}

/* ---------------------------------------------------------------- transactions */

/* A signed transaction spending `in` to one output (value - fee - burn),
 * carrying the payload. */
static void mk(arb_tx *tx, arb_hash *txid, arb_outpoint in, uint64_t fee, uint8_t type,
               const arb_buf *pl)
{
    known *k = kfind(&in);
    uint64_t burn = type == ARB_NAMEOP_NAME_PREORDER ? BURN : 0;
    if (k == NULL || k->out.amount < fee + burn + ARB_MEMPOOL_DUST_THRESHOLD)
        abort();
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        abort();
    tx->in[0] = in;
    tx->out[0].amount = k->out.amount - fee - burn;
    memcpy(tx->out[0].key, PK, 32);
    if (type != 0) {
        tx->payload_type = type;
        tx->payload = malloc(pl->len);
        if (tx->payload == NULL)
            abort();
        memcpy(tx->payload, pl->data, pl->len);
        tx->payload_len = pl->len;
    }
    if (arb_chain_sign_input(P, H, S, tx, 0, &k->out, SK, NULL) != ARB_OK ||
        arb_tx_txid(H, txid, tx) != ARB_OK)
        abort();
    arb_outpoint op = {*txid, 0};
    kadd(&op, &tx->out[0], 0);
}

/* A plain transaction spending `in` to n_out outputs. */
static void mk_big(arb_tx *tx, arb_hash *txid, arb_outpoint in, uint64_t fee, size_t n_out)
{
    known *k = kfind(&in);
    arb_tx_init(tx);
    if (k == NULL || arb_tx_alloc(tx, 1, n_out) != ARB_OK)
        abort();
    tx->in[0] = in;
    for (size_t o = 0; o < n_out; o++) {
        tx->out[o].amount = (k->out.amount - fee) / n_out;
        memcpy(tx->out[o].key, PK, 32);
    }
    if (arb_chain_sign_input(P, H, S, tx, 0, &k->out, SK, NULL) != ARB_OK ||
        arb_tx_txid(H, txid, tx) != ARB_OK)
        abort();
    for (uint32_t o = 0; o < n_out; o++) {
        arb_outpoint op = {*txid, o};
        kadd(&op, &tx->out[o], 0);
    }
}

/* The tree size of log l's committed head (0: none). */
static uint64_t committed_size(int l)
{
    rec *r = rfind(ARB_SREC_ANCHOR, LOG[l].id);
    arb_anchor_head hd;
    if (r == NULL || arb_anchor_head_decode(&hd, r->rec, r->len) != ARB_OK)
        return 0;
    return hd.tree_size;
}

static const char *accept(arb_mempool *mp, const arb_mempool_chain *ch, const arb_tx *tx)
{
    static char buf[64];
    arb_check_result r;
    arb_hash id;
    arb_err e = arb_mempool_accept(mp, &C, ch, tx, &id, &r);
    if (e == ARB_OK)
        return "ok";
    if (e == ARB_ERR_VERIFY && r.reason != NULL)
        return r.reason;
    snprintf(buf, sizeof buf, "error %d", (int)e);
    return buf;
}

static int view_ok(arb_mempool *mp)
{
    arb_errbuf eb;
    if (arb_mempool_state_check(mp, &CH, &eb))
        return 1;
    fprintf(stderr, "state view: %s\n", eb.msg);
    return 0;
}

static arb_mempool_payload_stats stats(arb_mempool *mp)
{
    arb_mempool_payload_stats s;
    arb_mempool_payload_stats_get(mp, &s);
    return s;
}

/* Admits an anchor of log l at size (from the previous size) and checks
 * that it cost one application and one signature verification. */
static void admit_counted(arb_mempool *mp, int l, uint64_t size)
{
    arb_buf pl = ARB_BUF_INIT;
    arb_tx tx;
    arb_hash id;
    anchor_payload(&pl, l, size, 0, size - 1);
    mk(&tx, &id, add_coin(100000), 5000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
    arb_mempool_payload_stats before = stats(mp);
    CHECK_STR(accept(mp, &CH, &tx), "ok");
    arb_mempool_payload_stats after = stats(mp);
    CHECK_EQ(after.applications - before.applications, 1);
    CHECK_EQ(after.sig_verifications - before.sig_verifications, 1);
    CHECK_EQ(after.rebuilds, before.rebuilds);
    arb_tx_clear(&tx);
    arb_buf_free(&pl);
}

/* Admission costs one application, at 0 pending as at hundreds; a block
 * makes the next admission rebuild the view once, with no signature
 * verified again; the reference costs one application per pending. */
static void test_flat_admission(void)
{
    arb_mempool *mp;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    CHECK(view_ok(mp)); /* the first view, of the empty pool */
    /* 16 logs x 25 anchors: sizes 1..25, each from the previous */
    size_t pending = 0;
    for (uint64_t size = 1; size <= 25; size++)
        for (int l = 0; l < 16; l++) {
            admit_counted(mp, l, size);
            pending++;
        }
    CHECK_EQ(stats(mp).count, pending);
    CHECK(view_ok(mp));
    arb_mempool_payload_stats s0 = stats(mp);
    /* a name operation costs the same */
    arb_buf pl = ARB_BUF_INIT;
    arb_tx tx;
    arb_hash id;
    name_payload(&pl, ARB_NAMEOP_NAME_UPDATE, 0);
    mk(&tx, &id, add_coin(100000), 5000, ARB_NAMEOP_NAME_UPDATE, &pl);
    CHECK_STR(accept(mp, &CH, &tx), "ok");
    arb_tx_clear(&tx);
    pending++;
    arb_mempool_payload_stats s1 = stats(mp);
    CHECK_EQ(s1.applications - s0.applications, 1);
    CHECK_EQ(s1.sig_verifications, s0.sig_verifications);

    /* A block (empty: the tip moves): the next admission rebuilds once,
     * re-applying the pending ones without verifying their signatures. */
    arb_block blk;
    arb_block_init(&blk);
    arb_mempool_block_connected(mp, H, &blk);
    arb_block_clear(&blk);
    CH.next_height++;
    new_tip();
    size_t dropped = 99;
    CHECK(arb_mempool_state_recheck(mp, &CH, &dropped) == ARB_OK);
    CHECK_EQ(dropped, 0);
    arb_mempool_payload_stats s2 = stats(mp);
    CHECK_EQ(s2.rebuilds - s1.rebuilds, 1);
    CHECK_EQ(s2.applications - s1.applications, pending);
    CHECK_EQ(s2.sig_verifications, s1.sig_verifications);
    /* the recheck's view serves the next admission as it is */
    admit_counted(mp, 16, 1);
    pending++;
    CHECK(view_ok(mp));

    /* The reference path for comparison: a pool checking through
     * chain->state runs the whole pending set for each admission. */
    arb_mempool *ref;
    CHECK(arb_mempool_new(&ref, P, NULL) == ARB_OK);
    unsigned long calls = REF_CALLS;
    for (uint64_t size = 1; size <= 3; size++) {
        pl.len = 0;
        anchor_payload(&pl, 17, size, 0, size - 1);
        mk(&tx, &id, add_coin(100000), 5000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
        CHECK_STR(accept(ref, &CHR, &tx), "ok");
        arb_tx_clear(&tx);
    }
    CHECK_EQ(REF_CALLS - calls, 3);
    CHECK_EQ(stats(ref).applications, 0); /* no view kept */
    arb_mempool_free(ref);
    arb_buf_free(&pl);
    arb_mempool_free(mp);
}

/* The bounds: anchors per log, operations per name, the pool's count and
 * bytes of payload transactions; each with its reason and counter. */
static void test_bounds(void)
{
    arb_mempool *mp;
    arb_buf pl = ARB_BUF_INIT;
    arb_tx tx, last;
    arb_hash id;
    arb_outpoint last_in;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);

    /* 25 anchors of one log; the 26th is refused */
    for (uint64_t size = 1; size <= ARB_MEMPOOL_MAX_ANCHORS_PER_LOG; size++) {
        pl.len = 0;
        anchor_payload(&pl, 20, size, 0, size - 1);
        arb_outpoint in = add_coin(100000);
        mk(&tx, &id, in, 5000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
        CHECK_STR(accept(mp, &CH, &tx), "ok");
        if (size == ARB_MEMPOOL_MAX_ANCHORS_PER_LOG) {
            last = tx;
            last_in = in;
        } else {
            arb_tx_clear(&tx);
        }
    }
    pl.len = 0;
    anchor_payload(&pl, 20, 26, 0, 25);
    mk(&tx, &id, add_coin(100000), 5000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
    CHECK_STR(accept(mp, &CH, &tx), "too-many-pending-anchors");
    CHECK_EQ(stats(mp).rejected_per_record, 1);
    arb_tx_clear(&tx);
    /* another log is not affected */
    pl.len = 0;
    anchor_payload(&pl, 21, 1, 0, 0);
    mk(&tx, &id, add_coin(100000), 5000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
    CHECK_STR(accept(mp, &CH, &tx), "ok");
    arb_tx_clear(&tx);
    /* a replacement of the 25th by a later head counts without it */
    pl.len = 0;
    anchor_payload(&pl, 20, 26, 0, 24);
    mk(&tx, &id, last_in, 20000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
    CHECK_STR(accept(mp, &CH, &tx), "ok");
    arb_hash old_id;
    CHECK(arb_tx_txid(H, &old_id, &last) == ARB_OK);
    CHECK(arb_mempool_get(mp, &old_id, NULL, NULL) == ARB_ERR_NOT_FOUND);
    CHECK(view_ok(mp));
    arb_tx_clear(&tx);
    arb_tx_clear(&last);

    /* operations per name */
    for (unsigned i = 0; i < ARB_MEMPOOL_MAX_OPS_PER_NAME; i++) {
        pl.len = 0;
        name_payload(&pl, ARB_NAMEOP_NAME_UPDATE, 1);
        mk(&tx, &id, add_coin(100000), 5000, ARB_NAMEOP_NAME_UPDATE, &pl);
        CHECK_STR(accept(mp, &CH, &tx), "ok");
        arb_tx_clear(&tx);
    }
    pl.len = 0;
    name_payload(&pl, ARB_NAMEOP_NAME_UPDATE, 1);
    mk(&tx, &id, add_coin(100000), 5000, ARB_NAMEOP_NAME_UPDATE, &pl);
    CHECK_STR(accept(mp, &CH, &tx), "too-many-pending-name-ops");
    CHECK_EQ(stats(mp).rejected_per_record, 2);
    arb_tx_clear(&tx);
    CHECK(view_ok(mp));
    arb_mempool_free(mp);

    /* the count: ARB_MEMPOOL_MAX_PAYLOAD_TXS preorders, then refusals; a
     * plain transaction still enters */
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    for (unsigned i = 0; i < ARB_MEMPOOL_MAX_PAYLOAD_TXS; i++) {
        pl.len = 0;
        preorder_payload(&pl);
        mk(&tx, &id, add_coin(100000), 5000, ARB_NAMEOP_NAME_PREORDER, &pl);
        const char *r = accept(mp, &CH, &tx);
        if (strcmp(r, "ok") != 0) {
            CHECK_STR(r, "ok");
            break;
        }
        arb_tx_clear(&tx);
    }
    CHECK_EQ(stats(mp).count, ARB_MEMPOOL_MAX_PAYLOAD_TXS);
    pl.len = 0;
    preorder_payload(&pl);
    mk(&tx, &id, add_coin(100000), 5000, ARB_NAMEOP_NAME_PREORDER, &pl);
    CHECK_STR(accept(mp, &CH, &tx), "mempool-payload-full");
    CHECK_EQ(stats(mp).rejected_full, 1);
    arb_tx_clear(&tx);
    mk(&tx, &id, add_coin(100000), 5000, 0, NULL);
    CHECK_STR(accept(mp, &CH, &tx), "ok");
    arb_tx_clear(&tx);
    arb_mempool_free(mp);

    /* the bytes: a quarter of the pool's size cap */
    arb_mempool_opts o = {20000, NULL, NULL};
    CHECK(arb_mempool_new(&mp, P, &o) == ARB_OK);
    size_t n_ok = 0;
    const char *r = "ok";
    for (int l = 22; l < LOGS && strcmp(r, "ok") == 0; l++) {
        pl.len = 0;
        anchor_payload(&pl, l, 1, 0, 0);
        mk(&tx, &id, add_coin(100000), 5000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
        r = accept(mp, &CH, &tx);
        n_ok += strcmp(r, "ok") == 0;
        arb_tx_clear(&tx);
    }
    CHECK_STR(r, "mempool-payload-full");
    CHECK(n_ok > 0);
    CHECK(stats(mp).bytes <= 20000 / ARB_MEMPOOL_PAYLOAD_BYTES_DIVISOR);
    CHECK(stats(mp).bytes + 1000 > 20000 / ARB_MEMPOOL_PAYLOAD_BYTES_DIVISOR);
    arb_mempool_free(mp);
    arb_buf_free(&pl);
}

/* Refused operations leave the records they read in the pool's view; a
 * flood of them must not grow it past its bound: the view is dropped and
 * rebuilt from the pending ones. */
static void test_refused_flood(void)
{
    arb_mempool *mp;
    arb_buf pl = ARB_BUF_INIT;
    arb_tx tx;
    arb_hash id;
    CHECK(arb_mempool_new(&mp, P, NULL) == ARB_OK);
    for (uint64_t size = 1; size <= 3; size++) {
        anchor_payload(&pl, 30, size, 0, size - 1);
        mk(&tx, &id, add_coin(100000), 5000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
        CHECK_STR(accept(mp, &CH, &tx), "ok");
        arb_tx_clear(&tx);
        pl.len = 0;
    }
    arb_mempool_payload_stats s0 = stats(mp);
    size_t most = 0, n = ARB_MEMPOOL_VIEW_SLACK + 200;
    for (size_t i = 0; i < n; i++) {
        pl.len = 0;
        name_payload(&pl, ARB_NAMEOP_NAME_UPDATE, 100 + (int)i); /* no such name */
        mk(&tx, &id, add_coin(100000), 5000, ARB_NAMEOP_NAME_UPDATE, &pl);
        const char *r = accept(mp, &CH, &tx);
        CHECK(strcmp(r, "ok") != 0);
        arb_tx_clear(&tx);
        arb_mempool_payload_stats si = stats(mp);
        if (si.view_entries > most)
            most = si.view_entries;
    }
    arb_mempool_payload_stats s1 = stats(mp);
    CHECK(most > ARB_MEMPOOL_VIEW_SLACK / 2); /* the refused ones' records were kept */
    CHECK(most <= 3 * s1.count + ARB_MEMPOOL_VIEW_SLACK + 3);
    CHECK(s1.rebuilds > s0.rebuilds);
    CHECK_EQ(s1.sig_verifications, s0.sig_verifications); /* rebuilds verify nothing again */
    CHECK_EQ(s1.count, 3);
    CHECK(view_ok(mp));
    arb_buf_free(&pl);
    arb_mempool_free(mp);
}

/* ---------------------------------------------------------------- the differential test */

/* One pending transaction the test made (kept to build replacements). */
typedef struct {
    arb_tx tx;
    arb_hash id;
    arb_outpoint in;
    uint64_t fee;
} made;

static int collect(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    arb_hash *ids = ((arb_hash **)ud)[0];
    size_t *n = ((size_t **)ud)[1];
    (void)tx;
    (void)fee;
    ids[(*n)++] = *txid;
    return 0;
}

static int same_pools(arb_mempool *a, arb_mempool *b)
{
    size_t na = 0, nb = 0, ca, cb;
    arb_mempool_stats(a, &ca, NULL);
    arb_mempool_stats(b, &cb, NULL);
    if (ca != cb)
        return 0;
    arb_hash *ia = malloc((ca + 1) * sizeof *ia), *ib = malloc((cb + 1) * sizeof *ib);
    void *ua[2] = {ia, &na}, *ub[2] = {ib, &nb};
    arb_mempool_foreach(a, collect, ua);
    arb_mempool_foreach(b, collect, ub);
    int same = na == nb && memcmp(ia, ib, na * sizeof *ia) == 0; /* arrival order too */
    free(ia);
    free(ib);
    return same;
}

/* Applies txs to the base state as a block would (the coins too), keeping
 * what it needs to undo. */
typedef struct {
    rec saved[RMAX];
    size_t nsaved;
    arb_tx *txs;
    size_t n;
    arb_hash tip;
    int valid;
} undo;

static void block_apply(const arb_tx *txs, size_t n, undo *u)
{
    arb_sview *v;
    memcpy(u->saved, R, sizeof R);
    u->nsaved = NR;
    u->tip = CH.tip;
    CHECK(arb_sview_new(&v, NP, base_get, NULL) == ARB_OK);
    for (size_t i = 0; i < n; i++) {
        const char *why;
        arb_err e = arb_sview_apply(v, H, &txs[i], (uint32_t)(i + 1), PK, CH.next_height, &why);
        CHECK(e == ARB_OK); /* the test puts only applicable ones in */
        for (size_t k = 0; k < txs[i].n_in; k++)
            kfind(&txs[i].in[k])->in_chain = 0;
        for (uint32_t o = 0; o < txs[i].n_out; o++) {
            arb_hash id;
            CHECK(arb_tx_txid(H, &id, &txs[i]) == ARB_OK);
            arb_outpoint op = {id, o};
            kadd(&op, &txs[i].out[o], 1);
            kfind(&op)->in_chain = 1;
        }
    }
    for (size_t i = 0; i < arb_sview_count(v); i++) {
        const arb_sview_entry *e = arb_sview_at(v, i);
        if (arb_sview_entry_changed(e))
            rset(e->kind, e->key, e->has_cur, e->cur, e->cur_len);
    }
    arb_sview_free(v);
}

static void block_undo(undo *u)
{
    for (size_t i = u->n; i-- > 0;) {
        const arb_tx *t = &u->txs[i];
        arb_hash id;
        CHECK(arb_tx_txid(H, &id, t) == ARB_OK);
        for (uint32_t o = 0; o < t->n_out; o++) {
            arb_outpoint op = {id, o};
            kfind(&op)->in_chain = 0;
        }
        for (size_t k = 0; k < t->n_in; k++)
            kfind(&t->in[k])->in_chain = 1;
    }
    memcpy(R, u->saved, sizeof R);
    NR = u->nsaved;
}

static void connect_both(arb_mempool *a, arb_mempool *b, const arb_tx *txs, size_t n)
{
    arb_block blk;
    arb_block_init(&blk);
    blk.n_tx = n;
    blk.tx = calloc(n ? n : 1, sizeof *blk.tx);
    for (size_t i = 0; i < n; i++)
        CHECK(arb_tx_copy(&blk.tx[i], &txs[i]) == ARB_OK);
    arb_mempool_block_connected(a, H, &blk);
    arb_mempool_block_connected(b, H, &blk);
    arb_block_clear(&blk);
}

static void test_differential(void)
{
    enum { DLOGS = 3, DNAMES = 6 };
    unsigned long steps = arb_test_count(300);
    arb_mempool_opts o = {24000, NULL, NULL};
    arb_mempool *a, *b;
    CHECK(arb_mempool_new(&a, P, &o) == ARB_OK);
    CHECK(arb_mempool_new(&b, P, &o) == ARB_OK);
    made *m = calloc(steps + 1, sizeof *m);
    size_t nm = 0;
    undo *u = calloc(1, sizeof *u);
    uint64_t next_size[DLOGS] = {0};  /* next size to anchor */
    arb_buf pl = ARB_BUF_INIT;
    unsigned long n_rej = 0, n_blocks = 0, n_reorgs = 0, n_repl = 0;
    CHECK(m != NULL && u != NULL);
    for (int l = 0; l < DLOGS; l++)
        next_size[l] = 1;

    for (unsigned long step = 0; step < steps; step++) {
        unsigned op = (unsigned)arb_test_rand_below(100);
        if (op < 60 || nm == 0) {
            /* a new transaction: an anchor (usually the next head of its
             * log, sometimes a stale or skipping one), a name update or
             * revoke, a preorder, or none */
            arb_tx tx;
            arb_hash id;
            uint8_t type = 0;
            unsigned kind = (unsigned)arb_test_rand_below(10);
            int l = (int)arb_test_rand_below(DLOGS);
            pl.len = 0;
            if (kind < 5) {
                uint64_t size = next_size[l];
                uint64_t from = size - 1;
                unsigned twist = (unsigned)arb_test_rand_below(10);
                if (twist == 0 && size > 1)
                    size -= 1 + arb_test_rand_below(size - 1); /* stale */
                else if (twist == 1 && size + 3 < LEAVES)
                    size += 1 + arb_test_rand_below(3); /* skips ahead (its proof from the
                                                           expected previous head) */
                if (from >= size)
                    from = 0;
                anchor_payload(&pl, l, size, 0, from);
                if (twist == 2)
                    pl.data[1 + LOG[l].spki_len + 16] ^= 1; /* the root: a forged head */
                type = ARB_PAYLOAD_LOG_ANCHOR;
            } else if (kind < 7) {
                type = arb_test_rand_below(25) == 0 ? ARB_NAMEOP_NAME_REVOKE
                                                   : ARB_NAMEOP_NAME_UPDATE;
                name_payload(&pl, type, (int)arb_test_rand_below(DNAMES));
            } else if (kind < 8) {
                type = ARB_NAMEOP_NAME_PREORDER;
                preorder_payload(&pl);
            }
            uint64_t fee = 1000 + arb_test_rand_below(20000);
            arb_outpoint in = add_coin(100000);
            mk(&tx, &id, in, fee, type, &pl);
            const char *ra = accept(a, &CH, &tx);
            char ra_copy[64];
            snprintf(ra_copy, sizeof ra_copy, "%s", ra);
            const char *rb = accept(b, &CHR, &tx);
            CHECK_STR(ra_copy, rb);
            if (strcmp(ra_copy, "ok") == 0) {
                if (type == ARB_PAYLOAD_LOG_ANCHOR && next_size[l] + 1 < LEAVES)
                    next_size[l]++;
                m[nm].tx = tx;
                m[nm].id = id;
                m[nm].in = in;
                m[nm].fee = fee;
                nm++;
            } else {
                n_rej++;
                if (getenv("ARB_TEST_VERBOSE"))
                    fprintf(stderr, "rejected: %s\n", ra_copy);
                arb_tx_clear(&tx);
            }
        } else if (op < 78) {
            /* a replacement of a pending transaction: same payload, another
             * anchor head or no payload, at a higher fee */
            size_t j = (size_t)arb_test_rand_below(nm);
            for (int tries = 0; tries < 20 && arb_mempool_get(a, &m[j].id, NULL, NULL) != ARB_OK;
                 tries++)
                j = (size_t)arb_test_rand_below(nm);
            if (arb_mempool_get(a, &m[j].id, NULL, NULL) != ARB_OK)
                continue;
            arb_tx tx;
            arb_hash id;
            uint8_t type = m[j].tx.payload_type;
            int rl = -1;
            pl.len = 0;
            unsigned what = (unsigned)arb_test_rand_below(3);
            if (what == 0 && type != 0) {
                arb_buf_put(&pl, m[j].tx.payload, m[j].tx.payload_len);
            } else if (what == 1) {
                rl = (int)arb_test_rand_below(DLOGS);
                anchor_payload(&pl, rl, next_size[rl], 1, next_size[rl] - 1);
                type = ARB_PAYLOAD_LOG_ANCHOR;
            } else {
                type = 0;
            }
            uint64_t fee = m[j].fee + 3000 + arb_test_rand_below(5000);
            mk(&tx, &id, m[j].in, fee, type, &pl);
            const char *ra = accept(a, &CH, &tx);
            char ra_copy[64];
            snprintf(ra_copy, sizeof ra_copy, "%s", ra);
            CHECK_STR(ra_copy, accept(b, &CHR, &tx));
            if (strcmp(ra_copy, "ok") == 0) {
                n_repl++;
                if (rl >= 0 && next_size[rl] + 1 < LEAVES)
                    next_size[rl]++;
                arb_tx_clear(&m[j].tx);
                m[j].tx = tx;
                m[j].id = id;
                m[j].fee = fee;
            } else {
                arb_tx_clear(&tx);
            }
        } else if (op < 88) {
            /* a block: the first few pending transactions that apply, in
             * arrival order, sometimes with an anchor from outside that
             * makes pending ones of its log stale */
            arb_tx *txs = calloc(12, sizeof *txs);
            size_t n = 0;
            arb_sview *v;
            CHECK(arb_sview_new(&v, NP, base_get, NULL) == ARB_OK);
            if (arb_test_rand_below(4) == 0) {
                int l = (int)arb_test_rand_below(DLOGS);
                uint64_t size = next_size[l] + 1 < LEAVES ? next_size[l] + 1 : next_size[l];
                arb_hash id;
                pl.len = 0;
                anchor_payload(&pl, l, size, 2, committed_size(l));
                mk(&txs[n], &id, add_coin(100000), 5000, ARB_PAYLOAD_LOG_ANCHOR, &pl);
                const char *why;
                if (arb_sview_apply(v, H, &txs[n], 1, PK, CH.next_height, &why) == ARB_OK) {
                    n++;
                    next_size[l] = size + 1 < LEAVES ? size + 1 : size;
                } else {
                    arb_tx_clear(&txs[n]);
                }
            }
            for (size_t j = 0; j < nm && n < 12; j++) {
                const char *why;
                if (arb_mempool_get(a, &m[j].id, NULL, NULL) != ARB_OK ||
                    arb_test_rand_below(3) == 0)
                    continue;
                /* its parent is in the chain (every test coin is) */
                if (arb_sview_apply(v, H, &m[j].tx, 1, PK, CH.next_height, &why) != ARB_OK)
                    continue;
                CHECK(arb_tx_copy(&txs[n++], &m[j].tx) == ARB_OK);
            }
            arb_sview_free(v);
            for (size_t i = 0; i < u->n; i++)
                arb_tx_clear(&u->txs[i]);
            free(u->txs);
            block_apply(txs, n, u);
            u->txs = txs;
            u->n = n;
            u->valid = 1;
            connect_both(a, b, txs, n);
            CH.next_height++;
            new_tip();
            size_t da = 0, db = 0;
            CHECK(arb_mempool_state_recheck(a, &CH, &da) == ARB_OK);
            CHECK(arb_mempool_state_recheck(b, &CHR, &db) == ARB_OK);
            CHECK_EQ(da, db);
            n_blocks++;
        } else if (op < 94 && u->valid) {
            /* a reorganization: the last block leaves the chain (for an
             * empty one at the same height) and its transactions return */
            block_undo(u);
            u->valid = 0;
            arb_test_rand_bytes(CH.tip.b, 32);
            chains_sync();
            CHECK(arb_mempool_resync(a, &C, &CH, u->txs, u->n) == ARB_OK);
            CHECK(arb_mempool_resync(b, &C, &CHR, u->txs, u->n) == ARB_OK);
            n_reorgs++;
        } else {
            /* a large plain transaction paying a high fee rate: with the
             * small pool it evicts the cheapest */
            arb_tx tx;
            arb_hash id;
            arb_outpoint in = add_coin(1000000);
            uint64_t fee = 10000 + arb_test_rand_below(50000);
            mk_big(&tx, &id, in, fee, 40);
            const char *ra = accept(a, &CH, &tx);
            char ra_copy[64];
            snprintf(ra_copy, sizeof ra_copy, "%s", ra);
            CHECK_STR(ra_copy, accept(b, &CHR, &tx));
            if (strcmp(ra_copy, "ok") == 0) {
                m[nm].tx = tx;
                m[nm].id = id;
                m[nm].in = in;
                m[nm].fee = fee;
                nm++;
            } else {
                arb_tx_clear(&tx);
            }
        }
        if (!same_pools(a, b)) {
            CHECK(!"the pools differ");
            break;
        }
        if (!view_ok(a)) {
            CHECK(!"the cached view differs from a rebuild");
            break;
        }
        arb_errbuf eb;
        if (!arb_mempool_check_consistency(a, &eb)) {
            fprintf(stderr, "inconsistent pool: %s\n", eb.msg);
            CHECK(0);
            break;
        }
    }
    /* the sequence exercised every path */
    CHECK(n_rej > 0);
    CHECK(n_blocks > 0);
    CHECK(n_repl > 0);
    CHECK(steps < 100 || n_reorgs > 0);
    arb_mempool_payload_stats s = stats(a);
    CHECK(s.rebuilds > 0);
    CHECK(s.sig_verifications > 0);
    fprintf(stderr, "differential: %lu steps, %lu rejected, %lu replaced, %lu blocks, %lu reorgs, "
                    "%llu rebuilds, %llu applications, %llu signature checks\n",
            steps, n_rej, n_repl, n_blocks, n_reorgs, (unsigned long long)s.rebuilds,
            (unsigned long long)s.applications, (unsigned long long)s.sig_verifications);
    for (size_t i = 0; i < nm; i++)
        arb_tx_clear(&m[i].tx);
    for (size_t i = 0; i < u->n; i++)
        arb_tx_clear(&u->txs[i]);
    free(u->txs);
    free(u);
    free(m);
    arb_buf_free(&pl);
    arb_mempool_free(a);
    arb_mempool_free(b);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    K = calloc(KCAP / 2, sizeof *K);
    KT = calloc(KCAP, sizeof *KT);
    if (K == NULL || KT == NULL)
        return 1;
    P = arb_chain_params_get("regtest");
    NP = arb_names_params_get(P->name);
    C.sha = H;
    C.schnorr = S;
    C.threads = 1;
    do
        arb_test_rand_bytes(SK, 32);
    while (!arb_schnorr_pubkey(S, PK, SK));
    for (int i = 0; i < LEAVES; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "leaf %d", i);
        arb_merkle_leaf_hash(H, &LEAF[i], buf, (size_t)n);
    }
    for (int l = 0; l < LOGS; l++)
        logkey_new(&LOG[l]);
    base_names();
    CH.lookup = chain_lookup;
    CH.next_height = 20;
    CH.state_get = base_get;
    new_tip();

    test_flat_admission();
    test_bounds();
    test_refused_flood();
    /* the differential test on a fresh state */
    NR = 0;
    base_names();
    test_differential();

    for (int l = 0; l < LOGS; l++)
        arb_ct_signer_free(LOG[l].signer);
    free(K);
    free(KT);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    return arb_test_done();
}
