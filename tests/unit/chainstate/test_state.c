/* The committed state in the chain state (regtest, real RocksDB): blocks
 * with name operations and log anchors connect and disconnect; the root in
 * the coinbase is checked (missing, wrong); every block whose operation
 * fails is invalid with the operation's reason and leaves the state as it
 * was; burns are not claimable; across reorganizations (both ways) the state,
 * its history and indexes and the root equal those of nodes that only ever
 * saw the winning branch; the state survives reopening. */
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/chainstate.h"
#include "ledger/chain/mine.h"
#include "ledger/log/key.h"
#include "ledger/names/nameop.h"
#include "tests/test.h"

static arb_sha256 *H;
static arb_schnorr *S;
static const arb_chain_params *P;
static const int64_t NOW = 2000000000;
static char DIR_[512];
#define FEE 10000u
#define NS "statetest"
static uint8_t PK0[32], SK0[32]; /* the miner */

typedef struct {
    arb_store *st;
    arb_chainstate *cs;
} node;

static int node_open(node *n, const char *sub)
{
    char path[700];
    arb_errbuf eb;
    snprintf(path, sizeof path, "%s/%s", DIR_, sub);
    if (arb_store_open(&n->st, path, arb_chainstate_cf_names(), ARB_CHAINSTATE_NCF, NULL, &eb) !=
        ARB_OK)
        return 0;
    if (arb_chainstate_open(&n->cs, n->st, 0, P, 1, NULL, &eb) != ARB_OK) {
        arb_store_close(n->st);
        return 0;
    }
    return 1;
}

static void node_close(node *n)
{
    arb_chainstate_close(n->cs);
    arb_store_close(n->st);
}

typedef struct {
    uint8_t sk[32], pk[32];
    arb_outpoint coin;
    uint64_t amount;
} actor;

static void actor_new(actor *a)
{
    memset(a, 0, sizeof *a);
    do
        arb_test_rand_bytes(a->sk, 32);
    while (!arb_schnorr_pubkey(S, a->pk, a->sk));
}

/* Spends a's coin to itself (minus burn and FEE) with a payload. */
static void op_tx(arb_tx *tx, actor *a, uint8_t type, const uint8_t *pl, size_t plen,
                  uint64_t burn)
{
    arb_txout spent = {a->amount, {0}};
    arb_hash id;
    memcpy(spent.key, a->pk, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        abort();
    tx->version = 1;
    tx->in[0] = a->coin;
    tx->out[0].amount = a->amount - burn - FEE;
    memcpy(tx->out[0].key, a->pk, 32);
    if (type != 0) {
        tx->payload_type = type;
        tx->payload = malloc(plen);
        memcpy(tx->payload, pl, plen);
        tx->payload_len = plen;
    }
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, a->sk, NULL) != ARB_OK ||
        arb_tx_txid(H, &id, tx) != ARB_OK)
        abort();
    a->coin.txid = id;
    a->coin.index = 0;
    a->amount = tx->out[0].amount;
}

static void name_tx(arb_tx *tx, actor *a, const arb_nameop *op)
{
    arb_buf b = ARB_BUF_INIT;
    if (arb_nameop_encode(&b, op) != ARB_OK)
        abort();
    op_tx(tx, a, op->type, b.data, b.len, arb_nameop_burn(op));
    arb_buf_free(&b);
}

static void preorder_tx(arb_tx *tx, actor *a, const char *full, const uint8_t salt[32],
                        uint64_t burn)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_PREORDER;
    arb_nameop_name_commitment(H, op.commitment, (const uint8_t *)full, strlen(full), salt, a->pk);
    op.burn = burn;
    name_tx(tx, a, &op);
}

static void register_tx(arb_tx *tx, actor *a, const char *full, const uint8_t salt[32],
                        const uint8_t owner[32])
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_REGISTER;
    op.full_len = strlen(full);
    memcpy(op.full, full, op.full_len);
    memcpy(op.salt, salt, 32);
    memcpy(op.key, owner, 32);
    op.has_zonefile = 1;
    memset(op.zonefile_hash, 0x5a, 32);
    name_tx(tx, a, &op);
}

/* How to finish a block's coinbase. */
enum { ROOT_RIGHT, ROOT_WRONG, ROOT_MISSING };

/* A block on n's tip with copies of txs, its root from n's state (or
 * spoiled), mined. tag makes coinbases of other branches differ. */
static void build(node *n, arb_block *b, const arb_tx *txs, size_t nt, int root_mode, uint8_t tag,
                  uint64_t cb_extra)
{
    arb_chain_tip tip;
    arb_chain_hdrinfo hi;
    arb_hash root;
    const arb_tx **ptr = calloc(nt + 1, sizeof *ptr);
    uint8_t *ok = calloc(nt + 1, 1);
    arb_tx *copies = calloc(nt + 1, sizeof *copies);
    arb_chainstate_tip(n->cs, &tip);
    if (arb_chainstate_header(n->cs, &tip.hash, &hi) != ARB_OK)
        abort();
    for (size_t i = 0; i < nt; i++) {
        ptr[i] = &txs[i];
        arb_tx_init(&copies[i]);
        if (arb_tx_copy(&copies[i], &txs[i]) != ARB_OK)
            abort();
    }
    if (arb_chainstate_state_preview(n->cs, ptr, nt, NULL, ok, NULL, &root) != ARB_OK)
        abort();
    if (root_mode == ROOT_WRONG)
        root.b[5] ^= 1;
    if (arb_chain_block_build(P, H, b, &tip.hash, hi.hdr.time, tip.height + 1, 0x207fffff,
                              hi.hdr.time + 1, PK0, copies, nt, cb_extra, &root) != ARB_OK)
        abort();
    b->tx[0].sig[0][10] = tag;
    if (root_mode == ROOT_MISSING) {
        free(b->tx[0].payload);
        b->tx[0].payload = NULL;
        b->tx[0].payload_len = 0;
        b->tx[0].payload_type = 0;
    }
    if (arb_block_merkle_root(H, &b->header.merkle_root, b->tx, b->n_tx) != ARB_OK ||
        !arb_chain_mine_header(&b->header, 0, 1ULL << 32))
        abort();
    free(ptr);
    free(ok);
    free(copies);
}

/* Submits b to n: "ok" (connected) or the reason. */
static const char *submit(node *n, const arb_block *b)
{
    arb_block_outcome oc;
    arb_check_result r;
    arb_err err = arb_chainstate_submit(n->cs, b, NOW, &oc, &r);
    if (err == ARB_ERR_VERIFY)
        return r.reason ? r.reason : "(no reason)";
    if (err != ARB_OK)
        return "(error)";
    return oc == ARB_BLOCK_CONNECTED ? "ok" : oc == ARB_BLOCK_STORED ? "stored" : "(other)";
}

/* Builds on n, submits to every node given (NULL-terminated after n). */
static const char *step(node *n, const arb_tx *txs, size_t nt, node *also)
{
    arb_block b;
    build(n, &b, txs, nt, ROOT_RIGHT, 0, 0);
    const char *r = submit(n, &b);
    if (also != NULL && strcmp(submit(also, &b), "ok") != 0)
        r = "(also)";
    arb_block_clear(&b);
    return r;
}

/* Builds a block of one transaction and returns the reason it is refused. */
static const char *refused(node *n, arb_tx *tx)
{
    arb_block b;
    arb_chain_tip before, after;
    arb_hash d1, d2;
    arb_chainstate_tip(n->cs, &before);
    if (arb_chainstate_state_digest(n->cs, &d1, NULL) != ARB_OK)
        return "(digest)";
    /* The root from a state that ignores the failing operation. */
    build(n, &b, tx, 1, ROOT_RIGHT, 0x77, 0);
    const char *r = submit(n, &b);
    arb_block_clear(&b);
    arb_tx_clear(tx);
    arb_chainstate_tip(n->cs, &after);
    if (arb_chainstate_state_digest(n->cs, &d2, NULL) != ARB_OK || !arb_hash_eq(&d1, &d2) ||
        !arb_hash_eq(&before.hash, &after.hash))
        return "(state changed)";
    return r;
}

static int same_state(node *a, node *b)
{
    arb_hash d1, d2, r1, r2, u1, u2;
    uint64_t c1, c2;
    arb_chain_tip t1, t2;
    arb_chainstate_tip(a->cs, &t1);
    arb_chainstate_tip(b->cs, &t2);
    return arb_chainstate_state_digest(a->cs, &d1, &c1) == ARB_OK &&
           arb_chainstate_state_digest(b->cs, &d2, &c2) == ARB_OK && arb_hash_eq(&d1, &d2) &&
           c1 == c2 && arb_chainstate_state_root(a->cs, t1.height, &r1) == ARB_OK &&
           arb_chainstate_state_root(b->cs, t2.height, &r2) == ARB_OK && arb_hash_eq(&r1, &r2) &&
           arb_chainstate_utxo_digest(a->cs, &u1, NULL) == ARB_OK &&
           arb_chainstate_utxo_digest(b->cs, &u2, NULL) == ARB_OK && arb_hash_eq(&u1, &u2);
}

static int name_owner(node *n, const char *full, uint8_t owner[32])
{
    uint8_t key[32], rec[ARB_SREC_MAX];
    size_t len;
    arb_name_rec r;
    arb_names_name_key(H, key, (const uint8_t *)full, strlen(full));
    if (arb_chainstate_state_get(n->cs, ARB_SREC_NAME, key, rec, &len) != ARB_OK ||
        arb_names_name_rec_decode(&r, rec, len) != ARB_OK)
        return 0;
    memcpy(owner, r.owner, 32);
    return 1;
}

static void test_state(void)
{
    node a, b, c;
    actor al, bo, ev;
    uint8_t salt[32], salt2[32], owner[32];
    arb_tx tx[4];
    arb_hash empty, root;
    const uint64_t price = 10000;

    arb_smt_empty(&empty);
    CHECK(node_open(&a, "a") && node_open(&b, "b") && node_open(&c, "c"));
    actor_new(&al);
    actor_new(&bo);
    actor_new(&ev);
    arb_test_rand_bytes(salt, 32);
    arb_test_rand_bytes(salt2, 32);

    /* 101 empty blocks on a, b and c: the root stays the empty one. */
    for (int i = 0; i < 101; i++) {
        arb_block blk;
        build(&a, &blk, NULL, 0, ROOT_RIGHT, 0, 0);
        CHECK_STR(submit(&a, &blk), "ok");
        CHECK_STR(submit(&b, &blk), "ok");
        CHECK_STR(submit(&c, &blk), "ok");
        arb_block_clear(&blk);
    }
    CHECK(arb_chainstate_state_root(a.cs, 101, &root) == ARB_OK && arb_hash_eq(&root, &empty));
    CHECK(arb_chainstate_state_root(a.cs, 0, &root) == ARB_OK && arb_hash_eq(&root, &empty));

    /* Fund three keys from block 1's coinbase. */
    {
        arb_block b1;
        arb_hash h1, cb;
        arb_block_init(&b1);
        CHECK(arb_chainstate_hash_at(a.cs, 1, &h1) == ARB_OK);
        CHECK(arb_chainstate_get_block(a.cs, &h1, NULL, &b1, NULL, NULL) == ARB_OK);
        CHECK(arb_tx_txid(H, &cb, &b1.tx[0]) == ARB_OK);
        arb_txout spent = {b1.tx[0].out[0].amount, {0}};
        memcpy(spent.key, PK0, 32);
        arb_block_clear(&b1);
        arb_tx_init(&tx[0]);
        CHECK(arb_tx_alloc(&tx[0], 1, 3) == ARB_OK);
        tx[0].version = 1;
        tx[0].in[0].txid = cb;
        actor *who[3] = {&al, &bo, &ev};
        for (int i = 0; i < 3; i++) {
            tx[0].out[i].amount = 16 * ARB_COIN;
            memcpy(tx[0].out[i].key, who[i]->pk, 32);
        }
        CHECK(arb_chain_sign_input(P, H, S, &tx[0], 0, &spent, SK0, NULL) == ARB_OK);
        arb_hash id;
        CHECK(arb_tx_txid(H, &id, &tx[0]) == ARB_OK);
        for (int i = 0; i < 3; i++) {
            who[i]->coin.txid = id;
            who[i]->coin.index = (uint32_t)i;
            who[i]->amount = 16 * ARB_COIN;
        }
    }
    /* The namespace, in the funding block and the next ones. */
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_PREORDER;
    arb_nameop_ns_commitment(H, op.commitment, (const uint8_t *)NS, strlen(NS), salt, al.pk);
    op.burn = arb_names_namespace_price(strlen(NS));
    name_tx(&tx[1], &al, &op);
    CHECK_STR(step(&a, tx, 2, &b), "ok");
    arb_tx_clear(&tx[0]);
    arb_tx_clear(&tx[1]);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_REVEAL;
    op.ns_len = strlen(NS);
    memcpy(op.ns, NS, op.ns_len);
    memcpy(op.salt, salt, 32);
    memcpy(op.key, al.pk, 32);
    op.lifetime = 100;
    op.price.coeff = 1;
    op.price.base = 10;
    memset(op.price.buckets, 3, 16);
    op.price.nonalpha_discount = 1;
    op.price.no_vowel_discount = 1;
    name_tx(&tx[0], &al, &op);
    CHECK_STR(step(&a, tx, 1, &b), "ok");
    arb_tx_clear(&tx[0]);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAMESPACE_READY;
    op.ns_len = strlen(NS);
    memcpy(op.ns, NS, op.ns_len);
    name_tx(&tx[0], &al, &op);
    CHECK_STR(step(&a, tx, 1, &b), "ok");
    arb_tx_clear(&tx[0]);
    CHECK(same_state(&a, &b));
    CHECK(arb_chainstate_state_root(a.cs, 104, &root) == ARB_OK && !arb_hash_eq(&root, &empty));

    /* The coinbase's root: missing, wrong; the burn is not a fee. */
    {
        arb_block blk;
        build(&a, &blk, NULL, 0, ROOT_MISSING, 1, 0);
        CHECK_STR(submit(&a, &blk), "bad-cb-state-root-missing");
        arb_block_clear(&blk);
        build(&a, &blk, NULL, 0, ROOT_WRONG, 2, 0);
        CHECK_STR(submit(&a, &blk), "bad-cb-state-root");
        arb_block_clear(&blk);
        actor save = bo;
        preorder_tx(&tx[0], &bo, "burn." NS, salt2, price);
        build(&a, &blk, tx, 1, ROOT_RIGHT, 3, FEE + price); /* claims the burn */
        CHECK_STR(submit(&a, &blk), "bad-cb-amount");
        arb_block_clear(&blk);
        arb_tx_clear(&tx[0]);
        bo = save;
    }

    /* Every rejection reached through a block (the state unchanged). */
    {
        actor save = ev;
        register_tx(&tx[0], &ev, "x." NS, salt2, ev.pk);
        CHECK_STR(refused(&a, &tx[0]), "name-preorder-missing");
        ev = save;
        preorder_tx(&tx[0], &ev, "y." NS, salt2, 0);
        CHECK_STR(refused(&a, &tx[0]), "name-preorder-no-burn");
        ev = save;
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAME_UPDATE;
        op.full_len = strlen("nobody." NS);
        memcpy(op.full, "nobody." NS, op.full_len);
        op.has_zonefile = 1;
        name_tx(&tx[0], &ev, &op);
        CHECK_STR(refused(&a, &tx[0]), "name-missing");
        ev = save;
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAMESPACE_READY;
        op.ns_len = strlen(NS);
        memcpy(op.ns, NS, op.ns_len);
        name_tx(&tx[0], &ev, &op);
        CHECK_STR(refused(&a, &tx[0]), "namespace-already-ready");
        ev = save;
        /* a preorder and its register in one block */
        preorder_tx(&tx[0], &ev, "z." NS, salt2, price);
        register_tx(&tx[1], &ev, "z." NS, salt2, ev.pk);
        arb_block blk;
        arb_chain_tip t0;
        arb_chainstate_tip(a.cs, &t0);
        build(&a, &blk, tx, 2, ROOT_RIGHT, 4, 0);
        CHECK_STR(submit(&a, &blk), "name-preorder-same-block");
        arb_block_clear(&blk);
        arb_tx_clear(&tx[0]);
        arb_tx_clear(&tx[1]);
        ev = save;
        /* a log anchor whose signature does not verify */
        arb_ct_signer *log = NULL;
        uint8_t *spki = NULL;
        size_t spki_len = 0;
        CHECK(arb_ct_signer_generate(&log, NULL) == ARB_OK);
        CHECK(arb_ct_signer_spki(log, &spki, &spki_len) == ARB_OK);
        arb_anchor an;
        memset(&an, 0, sizeof an);
        an.spki = spki;
        an.spki_len = spki_len;
        an.tree_size = 1;
        an.timestamp = 1;
        an.sig_hash_alg = 4;
        an.sig_sig_alg = 3;
        uint8_t junk[8] = {0x30, 6, 2, 1, 1, 2, 1, 1};
        an.sig = junk;
        an.sig_len = sizeof junk;
        arb_buf ab = ARB_BUF_INIT;
        CHECK(arb_anchor_encode(&ab, &an) == ARB_OK);
        op_tx(&tx[0], &ev, ARB_PAYLOAD_LOG_ANCHOR, ab.data, ab.len, 0);
        arb_buf_free(&ab);
        CHECK_STR(refused(&a, &tx[0]), "anchor-bad-signature");
        ev = save;
        /* a good anchor (a tree of one leaf) */
        arb_hash leaf, r1;
        arb_ct_dsig d;
        uint8_t sig[ARB_CT_SIG_MAX];
        arb_merkle_leaf_hash(H, &leaf, "x", 1);
        r1 = leaf;
        CHECK(arb_ct_sth_sign(log, &d, sig, 5, 1, r1.b) == ARB_OK);
        memcpy(an.root, r1.b, 32);
        an.timestamp = 5;
        an.sig = d.sig;
        an.sig_len = d.sig_len;
        CHECK(arb_anchor_encode(&ab, &an) == ARB_OK);
        op_tx(&tx[0], &ev, ARB_PAYLOAD_LOG_ANCHOR, ab.data, ab.len, 0);
        CHECK_STR(step(&a, tx, 1, &b), "ok");
        arb_tx_clear(&tx[0]);
        /* the same head again */
        save = ev;
        op_tx(&tx[0], &ev, ARB_PAYLOAD_LOG_ANCHOR, ab.data, ab.len, 0);
        CHECK_STR(refused(&a, &tx[0]), "anchor-duplicate");
        ev = save;
        arb_buf_free(&ab);
        free(spki);
        arb_ct_signer_free(log);
    }
    CHECK(same_state(&a, &b));

    /* c catches up with a (the common prefix of the fork). */
    {
        arb_chain_tip ta, tc;
        arb_chainstate_tip(a.cs, &ta);
        arb_chainstate_tip(c.cs, &tc);
        for (uint32_t h = tc.height + 1; h <= ta.height; h++) {
            arb_hash hh;
            arb_block blk;
            arb_block_init(&blk);
            CHECK(arb_chainstate_hash_at(a.cs, h, &hh) == ARB_OK);
            CHECK(arb_chainstate_get_block(a.cs, &hh, NULL, &blk, NULL, NULL) == ARB_OK);
            CHECK_STR(submit(&c, &blk), "ok");
            arb_block_clear(&blk);
        }
        CHECK(same_state(&a, &c));
    }

    /* The fork. Branch A (on a and b): alice.NS to al, two blocks. Branch C
     * (on c): alice.NS to bo, three blocks. */
    actor al_a = al, bo_c = bo;
    preorder_tx(&tx[0], &al_a, "alice." NS, salt, price);
    CHECK_STR(step(&a, tx, 1, &b), "ok");
    arb_tx_clear(&tx[0]);
    register_tx(&tx[0], &al_a, "alice." NS, salt, al_a.pk);
    CHECK_STR(step(&a, tx, 1, &b), "ok");
    arb_tx_clear(&tx[0]);
    CHECK(name_owner(&a, "alice." NS, owner) && memcmp(owner, al.pk, 32) == 0);
    arb_block cblk[3];
    preorder_tx(&tx[0], &bo_c, "alice." NS, salt2, price);
    build(&c, &cblk[0], tx, 1, ROOT_RIGHT, 9, 0);
    CHECK_STR(submit(&c, &cblk[0]), "ok");
    arb_tx_clear(&tx[0]);
    register_tx(&tx[0], &bo_c, "alice." NS, salt2, bo_c.pk);
    build(&c, &cblk[1], tx, 1, ROOT_RIGHT, 9, 0);
    CHECK_STR(submit(&c, &cblk[1]), "ok");
    arb_tx_clear(&tx[0]);
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_TRANSFER;
    op.full_len = strlen("alice." NS);
    memcpy(op.full, "alice." NS, op.full_len);
    memcpy(op.key, ev.pk, 32);
    name_tx(&tx[0], &bo_c, &op);
    build(&c, &cblk[2], tx, 1, ROOT_RIGHT, 9, 0);
    CHECK_STR(submit(&c, &cblk[2]), "ok");
    arb_tx_clear(&tx[0]);
    CHECK(!same_state(&a, &c));
    /* a reorganizes to C: equal to c, which never saw A */
    CHECK_STR(submit(&a, &cblk[0]), "stored");
    CHECK_STR(submit(&a, &cblk[1]), "stored");
    CHECK_STR(submit(&a, &cblk[2]), "ok");
    for (int i = 0; i < 3; i++)
        arb_block_clear(&cblk[i]);
    CHECK(same_state(&a, &c));
    CHECK(name_owner(&a, "alice." NS, owner) && memcmp(owner, ev.pk, 32) == 0);
    /* and back: b extends A past C; a follows and equals b */
    arb_block bblk[2];
    for (int i = 0; i < 2; i++) {
        build(&b, &bblk[i], NULL, 0, ROOT_RIGHT, 11, 0);
        CHECK_STR(submit(&b, &bblk[i]), "ok");
    }
    CHECK_STR(submit(&a, &bblk[0]), "stored");
    CHECK_STR(submit(&a, &bblk[1]), "ok");
    for (int i = 0; i < 2; i++)
        arb_block_clear(&bblk[i]);
    CHECK(same_state(&a, &b));
    CHECK(name_owner(&a, "alice." NS, owner) && memcmp(owner, al.pk, 32) == 0);
    CHECK(arb_chainstate_zonefile_onchain(a.cs, (const uint8_t[32]){0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                                                    0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                                                    0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                                                    0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                                                    0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                                                    0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                                                    0x5a, 0x5a}));

    /* Reopened, the state and its root are the same. */
    arb_hash d1, d2;
    arb_chain_tip t1, t2;
    arb_chainstate_tip(a.cs, &t1);
    CHECK(arb_chainstate_state_digest(a.cs, &d1, NULL) == ARB_OK);
    CHECK(arb_chainstate_state_root(a.cs, t1.height, &root) == ARB_OK);
    node_close(&a);
    CHECK(node_open(&a, "a"));
    arb_chainstate_tip(a.cs, &t2);
    CHECK(arb_hash_eq(&t1.hash, &t2.hash));
    CHECK(arb_chainstate_state_digest(a.cs, &d2, NULL) == ARB_OK && arb_hash_eq(&d1, &d2));
    arb_hash root2;
    CHECK(arb_chainstate_state_root(a.cs, t2.height, &root2) == ARB_OK &&
          arb_hash_eq(&root, &root2));
    /* a block on it still connects (its root computed from the reopened state) */
    CHECK_STR(step(&a, NULL, 0, &b), "ok");
    node_close(&a);
    node_close(&b);
    node_close(&c);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_test_tmpdir(DIR_, sizeof DIR_) != 0)
        return 1;
    P = arb_chain_params_get("regtest");
    if (arb_sha256_new(&H) != ARB_OK || arb_schnorr_new(&S) != ARB_OK)
        return 1;
    do
        arb_test_rand_bytes(SK0, 32);
    while (!arb_schnorr_pubkey(S, PK0, SK0));
    test_state();
    arb_sha256_free(H);
    arb_schnorr_free(S);
    arb_test_rmtree(DIR_);
    return arb_test_done();
}
