/* The chain state under the flush policy (chainstate.h: a synced batch every
 * few blocks) survives kill -9 and power loss at a block boundary.
 *
 * A clean node connects a regtest chain (101 coinbase-only blocks, a fan-out,
 * then blocks of plain transactions and name preorders, so the UTXO set, the
 * indexes and the committed state all change) with a synced batch per block
 * and records the UTXO, index and state digests and the state root at every
 * height. Then this program is run again as a child that connects the same
 * blocks (from a file) to its own chain state with a sync every FLUSH blocks,
 * printing each height it connected and the last height a sync covered:
 *
 *   - kill -9: the child is killed at a random moment after a random height;
 *     reopened, the chain state's tip is at least the last height the child
 *     printed (a kill loses nothing written) and every digest and the root
 *     equal the clean node's at that tip; repeated, then the rest of the
 *     chain connects and equals the clean node's end state;
 *   - power loss, under the model of tests/powerloss/: copies of its record
 *     taken with the child stopped right after some heights are turned into
 *     the data directory a power loss then would leave; each opens at a tip
 *     no lower than the last synced height the child had printed, with the
 *     clean node's digests at that tip; after arb_chainstate_flush the whole
 *     chain is there. Run again with the store's syncs turned off
 *     (ARB_STORE_UNSAFE_NO_SYNC=1), the check must see blocks lost. */
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/chain/chainstate.h"
#include "ledger/chain/mine.h"
#include "ledger/names/nameop.h"
#include "tests/powerloss/powerloss.h"
#include "tests/proc.h"
#include "tests/test.h"

#define N_EMPTY 101  /* blocks before block 1's coinbase is spendable */
#define N_FULL 40    /* blocks with transactions after the fan-out */
#define N_COINS 24   /* coins of the fan-out, each spent once per block */
#define FLUSH 8      /* the child's flush policy */
#define WAIT_MS 120000

static const arb_chain_params *P;
static arb_sha256 *H;
static arb_schnorr *S;
static uint8_t SK[32], PK[32];
static char TMP[512], SELF[PATH_MAX];

typedef struct {
    arb_store *st;
    arb_chainstate *cs;
} node;

typedef struct {
    arb_hash utxo, index, state, root;
} digests;

static int node_open(node *n, const char *path, unsigned flush)
{
    arb_errbuf eb;
    if (arb_store_open(&n->st, path, arb_chainstate_cf_names(), ARB_CHAINSTATE_NCF, NULL, &eb) !=
        ARB_OK) {
        fprintf(stderr, "store %s: %s\n", path, eb.msg);
        return 0;
    }
    if (arb_chainstate_open(&n->cs, n->st, 0, P, 2, NULL, &eb) != ARB_OK) {
        fprintf(stderr, "chain state %s: %s\n", path, eb.msg);
        arb_store_close(n->st);
        return 0;
    }
    arb_chainstate_set_flush(n->cs, flush, 0);
    return 1;
}

static void node_close(node *n)
{
    arb_chainstate_close(n->cs);
    arb_store_close(n->st);
}

static int node_digests(node *n, digests *d)
{
    uint64_t c;
    arb_chain_tip tip;
    arb_chainstate_tip(n->cs, &tip);
    return arb_chainstate_utxo_digest(n->cs, &d->utxo, &c) == ARB_OK &&
           arb_chainstate_index_digest(n->cs, &d->index, &c) == ARB_OK &&
           arb_chainstate_state_digest(n->cs, &d->state, &c) == ARB_OK &&
           arb_chainstate_state_root(n->cs, tip.height, &d->root) == ARB_OK;
}

static int digests_eq(const digests *a, const digests *b)
{
    return arb_hash_eq(&a->utxo, &b->utxo) && arb_hash_eq(&a->index, &b->index) &&
           arb_hash_eq(&a->state, &b->state) && arb_hash_eq(&a->root, &b->root);
}

/* ---- the child: connects the file's blocks above its tip ---- */

static int child(const char *db, const char *file, unsigned flush)
{
    node n;
    size_t len;
    uint8_t *raw = arb_test_read_file(file, &len);
    arb_chain_tip tip;
    uint32_t synced;
    arb_errbuf eb;

    if (raw == NULL || !node_open(&n, db, flush))
        return 1;
    arb_chainstate_tip(n.cs, &tip);
    synced = tip.height;
    for (size_t off = 0, h = 1; off + 4 <= len; h++) {
        uint32_t bl;
        memcpy(&bl, raw + off, 4);
        off += 4;
        if (bl > len - off)
            return 1;
        if (h > tip.height) {
            arb_block b;
            arb_block_outcome oc;
            arb_check_result r;
            uint64_t before = arb_chainstate_sync_count(n.cs);
            arb_block_init(&b);
            if (arb_block_decode(&b, raw + off, bl, &eb) != ARB_OK ||
                arb_chainstate_submit(n.cs, &b, 2000000000, &oc, &r) != ARB_OK ||
                oc != ARB_BLOCK_CONNECTED) {
                fprintf(stderr, "block %zu refused\n", h);
                return 1;
            }
            arb_block_clear(&b);
            if (arb_chainstate_sync_count(n.cs) != before)
                synced = (uint32_t)h;
            printf("h %zu %u\n", h, (unsigned)synced);
            fflush(stdout);
        }
        off += bl;
    }
    if (arb_chainstate_flush(n.cs) != ARB_OK)
        return 1;
    arb_chainstate_tip(n.cs, &tip);
    printf("done %u\n", (unsigned)tip.height);
    fflush(stdout);
    for (;;)
        pause(); /* killed by the test */
}

/* ---- the clean chain ---- */

typedef struct {
    arb_outpoint op;
    uint64_t amount;
} coin;

static digests *CLEAN; /* by height */
static uint32_t TOP;

/* Builds the next block on the clean node with txs (moved in), connects it,
 * appends it to f and records the digests. */
static int clean_block(node *n, FILE *f, arb_tx *txs, size_t ntx)
{
    arb_chain_tip tip;
    arb_chain_hdrinfo hi;
    arb_hash root;
    arb_block b;
    const arb_tx *ptr[N_COINS + 2];
    uint8_t ok[N_COINS + 2];
    arb_block_outcome oc;
    arb_check_result r;
    arb_buf buf = ARB_BUF_INIT;

    arb_chainstate_tip(n->cs, &tip);
    CHECK_OR(arb_chainstate_header(n->cs, &tip.hash, &hi) == ARB_OK, 0);
    for (size_t i = 0; i < ntx; i++)
        ptr[i] = &txs[i];
    CHECK_OR(arb_chainstate_state_preview(n->cs, ptr, ntx, NULL, ok, NULL, &root) == ARB_OK, 0);
    for (size_t i = 0; i < ntx; i++)
        CHECK_OR(ok[i], 0);
    CHECK_OR(arb_chain_block_build(P, H, &b, &tip.hash, hi.hdr.time, tip.height + 1, 0x207fffff,
                                   hi.hdr.time + 1, PK, txs, ntx, 0, &root) == ARB_OK &&
                 arb_chain_mine_header(&b.header, 0, 1ULL << 32),
             0);
    CHECK_OR(arb_chainstate_submit(n->cs, &b, 2000000000, &oc, &r) == ARB_OK &&
                 oc == ARB_BLOCK_CONNECTED,
             0);
    arb_block_write(&buf, &b);
    uint32_t len = (uint32_t)buf.len;
    CHECK_OR(!buf.oom && fwrite(&len, 4, 1, f) == 1 && fwrite(buf.data, 1, buf.len, f) == buf.len,
             0);
    arb_buf_free(&buf);
    arb_block_clear(&b);
    TOP = tip.height + 1;
    return node_digests(n, &CLEAN[TOP]);
}

static void spend(arb_tx *tx, coin *c, int preorder)
{
    arb_txout spent = {c->amount, {0}};
    uint64_t burn = preorder ? 1000 : 0;
    memcpy(spent.key, PK, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        abort();
    tx->version = 1;
    tx->in[0] = c->op;
    tx->out[0].amount = c->amount - burn;
    memcpy(tx->out[0].key, PK, 32);
    if (preorder) {
        arb_nameop op;
        arb_buf b = ARB_BUF_INIT;
        memset(&op, 0, sizeof op);
        op.type = ARB_NAMEOP_NAME_PREORDER;
        arb_test_rand_bytes(op.commitment, 32);
        op.burn = burn;
        if (arb_nameop_encode(&b, &op) != ARB_OK)
            abort();
        tx->payload_type = op.type;
        tx->payload = b.data; /* moved */
        tx->payload_len = b.len;
    }
    if (arb_chain_sign_input(P, H, S, tx, 0, &spent, SK, NULL) != ARB_OK ||
        arb_tx_txid(H, &c->op.txid, tx) != ARB_OK)
        abort();
    c->op.index = 0;
    c->amount = tx->out[0].amount;
}

static int make_chain(const char *file)
{
    node n;
    char db[700];
    FILE *f = fopen(file, "wb");
    coin coins[N_COINS], cb1;
    arb_tx txs[N_COINS + 1];

    snprintf(db, sizeof db, "%s/clean", TMP);
    CHECK_OR(f != NULL && node_open(&n, db, 1), 0);
    CLEAN = calloc(N_EMPTY + 2 + N_FULL, sizeof *CLEAN);
    CHECK_OR(CLEAN != NULL && node_digests(&n, &CLEAN[0]), 0);
    for (int i = 0; i < N_EMPTY; i++)
        CHECK_OR(clean_block(&n, f, NULL, 0), 0);
    /* Block 1's coinbase, fanned out. */
    {
        arb_hash h1;
        arb_block b;
        arb_block_init(&b);
        CHECK_OR(arb_chainstate_hash_at(n.cs, 1, &h1) == ARB_OK &&
                     arb_chainstate_get_block(n.cs, &h1, NULL, &b, NULL, NULL) == ARB_OK &&
                     arb_tx_txid(H, &cb1.op.txid, &b.tx[0]) == ARB_OK,
                 0);
        cb1.op.index = 0;
        cb1.amount = b.tx[0].out[0].amount;
        arb_block_clear(&b);
        arb_txout spent = {cb1.amount, {0}};
        memcpy(spent.key, PK, 32);
        arb_tx_init(&txs[0]);
        CHECK_OR(arb_tx_alloc(&txs[0], 1, N_COINS) == ARB_OK, 0);
        txs[0].version = 1;
        txs[0].in[0] = cb1.op;
        for (int o = 0; o < N_COINS; o++) {
            txs[0].out[o].amount = cb1.amount / N_COINS;
            memcpy(txs[0].out[o].key, PK, 32);
        }
        CHECK_OR(arb_chain_sign_input(P, H, S, &txs[0], 0, &spent, SK, NULL) == ARB_OK, 0);
        arb_hash id;
        CHECK_OR(arb_tx_txid(H, &id, &txs[0]) == ARB_OK, 0);
        for (int o = 0; o < N_COINS; o++) {
            coins[o].op.txid = id;
            coins[o].op.index = (uint32_t)o;
            coins[o].amount = cb1.amount / N_COINS;
        }
        CHECK_OR(clean_block(&n, f, txs, 1), 0);
        arb_tx_clear(&txs[0]);
    }
    for (int k = 0; k < N_FULL; k++) {
        size_t ntx = (size_t)(1 + k % N_COINS); /* blocks of growing size */
        for (size_t t = 0; t < ntx; t++)
            spend(&txs[t], &coins[t], t == 0 && k % 3 == 0);
        CHECK_OR(clean_block(&n, f, txs, ntx), 0);
        for (size_t t = 0; t < ntx; t++)
            arb_tx_clear(&txs[t]);
    }
    node_close(&n);
    CHECK_OR(fclose(f) == 0, 0);
    return 1;
}

/* Opens db, checks its tip is >= min_height and equals the clean chain there;
 * returns the tip height, or -1 on a mismatch. *replayed (may be NULL): the
 * blocks the open re-applied to the coins on disk. */
static int check_at_tip(const char *db, uint32_t min_height, uint32_t *replayed)
{
    node n;
    digests d;
    arb_chain_tip tip;
    if (!node_open(&n, db, 1))
        return -1;
    if (replayed != NULL)
        *replayed = arb_chainstate_replayed(n.cs);
    arb_chainstate_tip(n.cs, &tip);
    int ok = node_digests(&n, &d) && tip.height <= TOP && digests_eq(&d, &CLEAN[tip.height]);
    node_close(&n);
    if (!ok) {
        fprintf(stderr, "%s: tip %u differs from the clean chain there\n", db,
                (unsigned)tip.height);
        return -1;
    }
    if (tip.height < min_height) {
        fprintf(stderr, "%s: tip %u below %u\n", db, (unsigned)tip.height, (unsigned)min_height);
        return -1;
    }
    return (int)tip.height;
}

static int parse_h(const char *line, uint32_t *h, uint32_t *synced)
{
    unsigned a, b;
    if (sscanf(line, "h %u %u", &a, &b) != 2)
        return 0;
    *h = a;
    *synced = b;
    return 1;
}

static arb_proc *spawn_child(const char *db, const char *file)
{
    char flush[16];
    arb_proc *p;
    snprintf(flush, sizeof flush, "%d", FLUSH);
    const char *argv[] = {SELF, "--child", db, file, flush, NULL};
    return arb_proc_spawn(&p, argv) == 0 ? p : NULL;
}

static void test_kill9(const char *file)
{
    char db[700], prefix[32], line[128];
    uint32_t h = 0, synced = 0, last = 0, last_synced = 0, replayed = 0, replays = 0;
    int rounds = 4;

    snprintf(db, sizeof db, "%s/killed", TMP);
    for (int r = 0; r < rounds && last + 1 < TOP; r++) {
        arb_proc *p = spawn_child(db, file);
        CHECK_OR(p != NULL, );
        /* A random height above the tip, then a random moment. */
        uint32_t span = TOP - last, target;
        uint8_t rnd[4];
        arb_test_rand_bytes(rnd, 4);
        target = last + 1 + (uint32_t)((rnd[0] | rnd[1] << 8) % (span > 1 ? span - 1 : 1));
        snprintf(prefix, sizeof prefix, "h %u ", (unsigned)target);
        CHECK(arb_proc_wait_line(p, ARB_PROC_STDOUT, prefix, line, sizeof line, WAIT_MS) == 1);
        usleep((useconds_t)(rnd[2] % 16) * 250);
        CHECK(arb_proc_kill(p, SIGKILL) == 0);
        CHECK_EQ(arb_proc_wait(p, WAIT_MS), 128 + SIGKILL);
        /* The last height it printed. */
        char *out = arb_proc_output(p, ARB_PROC_STDOUT);
        for (char *s = out; s != NULL && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
            if (parse_h(s, &h, &synced) && h > last) {
                last = h;
                last_synced = synced;
            }
        free(out);
        arb_proc_free(p);
        int tip = check_at_tip(db, last, &replayed);
        printf("kill -9 round %d: killed after height %u (synced through %u), reopened at %d, "
               "coins of %u blocks replayed\n",
               r, (unsigned)last, (unsigned)last_synced, tip, (unsigned)replayed);
        CHECK(tip >= (int)last);
        /* The coins on disk were those of the last sync point (the cache goes
         * out with it): the open re-applied the blocks since, and no more
         * (after the last block the child flushes). */
        if (tip == (int)last && last < TOP)
            CHECK_EQ(replayed, last - last_synced);
        CHECK(tip < 0 || replayed <= (uint32_t)tip - last_synced);
        replays += replayed > 0;
        if (tip > 0)
            last = (uint32_t)tip;
    }
    /* The rest connects; the end state is the clean node's. */
    arb_proc *p = spawn_child(db, file);
    CHECK_OR(p != NULL, );
    CHECK(arb_proc_wait_line(p, ARB_PROC_STDOUT, "done ", line, sizeof line, WAIT_MS) == 1);
    arb_proc_free(p);
    CHECK_EQ(check_at_tip(db, TOP, &replayed), (int)TOP);
    CHECK_EQ(replayed, 0); /* flushed before "done" */
    printf("kill -9: %u of the rounds replayed coins\n", (unsigned)replays);
}

/* Copies the model's record as it is now into dst, with the child stopped
 * (SIGSTOP) so that the copy is one moment of it (as tests/integration/
 * durability/test_powerloss.c does). */
static int snapshot(arb_proc *p, const char *shadow, const char *dst)
{
    DIR *d;
    struct dirent *e;
    int ok = 1;

    if (arb_proc_kill(p, SIGSTOP) != 0)
        return 0;
    if (mkdir(dst, 0700) != 0 || (d = opendir(shadow)) == NULL) {
        ok = 0;
    } else {
        while (ok && (e = readdir(d)) != NULL) {
            char from[1400], to[1400];
            uint8_t *buf;
            size_t len = 0;
            FILE *f;
            if ((e->d_name[0] != 'd' && e->d_name[0] != 'f') || e->d_name[1] != '-')
                continue; /* ".", "..", a record being written */
            snprintf(from, sizeof from, "%s/%s", shadow, e->d_name);
            snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
            if ((buf = arb_test_read_file(from, &len)) == NULL)
                continue; /* replaced meanwhile by a newer record: taken below */
            f = fopen(to, "wb");
            ok = f != NULL && fwrite(buf, 1, len, f) == len;
            if (f != NULL && fclose(f) != 0)
                ok = 0;
            free(buf);
        }
        closedir(d);
    }
    arb_proc_kill(p, SIGCONT);
    return ok;
}

/* Returns how many snapshots opened below the synced height they were taken
 * after (0 when the syncs hold), or -1 on another failure. */
static int powerloss_run(const char *file, const char *name, int no_sync)
{
    char base[700], data[800], shadow[800], db[900], shim[4096], line[128], prefix[32];
    const uint32_t at[] = {N_EMPTY / 2, N_EMPTY + 3, N_EMPTY + 2 + N_FULL / 2, 0 /* done */};
    uint32_t synced_at[4] = {0};
    int lost = 0;

    snprintf(base, sizeof base, "%s/%s", TMP, name);
    snprintf(data, sizeof data, "%s/data", base);
    snprintf(shadow, sizeof shadow, "%s/shadow", base);
    snprintf(db, sizeof db, "%s/db", data);
    CHECK_OR(mkdir(base, 0700) == 0 && mkdir(data, 0700) == 0 && mkdir(shadow, 0700) == 0, -1);
    CHECK_OR(arb_powerloss_lib(shim, sizeof shim) != NULL, -1);
    setenv("LD_PRELOAD", shim, 1);
    setenv("ARB_POWERLOSS_DIR", data, 1);
    setenv("ARB_POWERLOSS_SHADOW", shadow, 1);
    if (no_sync)
        setenv("ARB_STORE_UNSAFE_NO_SYNC", "1", 1);
    arb_proc *p = spawn_child(db, file);
    unsetenv("LD_PRELOAD");
    unsetenv("ARB_POWERLOSS_DIR");
    unsetenv("ARB_POWERLOSS_SHADOW");
    unsetenv("ARB_STORE_UNSAFE_NO_SYNC");
    CHECK_OR(p != NULL, -1);
    for (int i = 0; i < 4; i++) {
        char snap[900];
        uint32_t h;
        if (at[i] != 0)
            snprintf(prefix, sizeof prefix, "h %u ", (unsigned)at[i]);
        else
            snprintf(prefix, sizeof prefix, "done ");
        CHECK_OR(arb_proc_wait_line(p, ARB_PROC_STDOUT, prefix, line, sizeof line, WAIT_MS) == 1,
                 -1);
        if (at[i] != 0)
            CHECK_OR(parse_h(line, &h, &synced_at[i]), -1);
        else
            synced_at[i] = TOP; /* flushed */
        snprintf(snap, sizeof snap, "%s/snap-%d", base, i);
        CHECK_OR(snapshot(p, shadow, snap), -1);
    }
    arb_proc_free(p);
    for (int i = 0; i < 4; i++) {
        char snap[900], after[900], adb[1000];
        snprintf(snap, sizeof snap, "%s/snap-%d", base, i);
        snprintf(after, sizeof after, "%s/after-%d", base, i);
        snprintf(adb, sizeof adb, "%s/db", after);
        CHECK_OR(arb_powerloss_image(data, snap, after, NULL) == 0, -1);
        /* Consistent at a block boundary in any case; at least the synced height
         * when the store syncs. */
        int tip = check_at_tip(adb, 0, NULL);
        CHECK_OR(tip >= 0, -1);
        printf("%s: power loss after height %u (synced through %u): tip %d\n", name,
               (unsigned)at[i], (unsigned)synced_at[i], tip);
        if ((uint32_t)tip < synced_at[i])
            lost++;
    }
    return lost;
}

static void run(const char *file)
{
    if (!make_chain(file))
        return;
    CHECK_EQ(TOP, N_EMPTY + 1 + N_FULL);
    /* The UTXO set, the indexes and the committed state did change. */
    CHECK(!arb_hash_eq(&CLEAN[N_EMPTY + 2].utxo, &CLEAN[TOP].utxo));
    CHECK(!arb_hash_eq(&CLEAN[N_EMPTY + 2].index, &CLEAN[TOP].index));
    CHECK(!arb_hash_eq(&CLEAN[N_EMPTY + 2].state, &CLEAN[TOP].state));
    test_kill9(file);
    CHECK_EQ(powerloss_run(file, "synced", 0), 0);
    CHECK(powerloss_run(file, "nosync", 1) > 0);
}

int main(int argc, char **argv)
{
    char file[700];

    P = arb_chain_params_get("regtest");
    if (argc == 5 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10));
    arb_test_seed_init();
    ssize_t sl = readlink("/proc/self/exe", SELF, sizeof SELF - 1);
    CHECK_OR(sl > 0, arb_test_done());
    SELF[sl] = 0;
    CHECK_OR(P != NULL && arb_sha256_new(&H) == ARB_OK && arb_schnorr_new(&S) == ARB_OK,
             arb_test_done());
    for (int i = 0; i < 32; i++)
        SK[i] = (uint8_t)(i + 11);
    CHECK_OR(arb_schnorr_pubkey(S, PK, SK), arb_test_done());
    CHECK_OR(arb_test_tmpdir(TMP, sizeof TMP) == 0, arb_test_done());
    snprintf(file, sizeof file, "%s/blocks.bin", TMP);
    run(file);
    free(CLEAN);
    arb_schnorr_free(S);
    arb_sha256_free(H);
    if (arb_test_failed == 0)
        arb_test_rmtree(TMP);
    return arb_test_done();
}
