/* The one-step name registration's state machine: every stage recorded in a
 * wallet file, read back as a new run would, gives the step that resumes it
 * (never a second preorder while the first is usable); and the preorder
 * window against a naive reading of docs/names.md over a small domain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/names/nameop.h"
#include "tests/test.h"
#include "wallet/keystore.h"
#include "wallet/namereg.h"

#define PASS "pass"

static char path[600];

/* Writes ks to the wallet file and reads it back, as a resumed run does. */
static void reopen(arb_keystore *ks)
{
    arb_wallet_secret s, back;
    arb_keystore loaded;
    arb_errbuf eb;

    memset(&s, 0, sizeof(s));
    s.entropy_len = 16;
    CHECK_EQ(arb_keystore_seal(ks, &s, PASS, strlen(PASS), &eb), ARB_OK);
    CHECK_EQ(arb_keystore_save(ks, path, 0, &eb), ARB_OK);
    arb_keystore_clear(ks);
    CHECK_EQ(arb_keystore_load(&loaded, path, &eb), ARB_OK);
    CHECK_EQ(arb_keystore_open(&loaded, PASS, strlen(PASS), &back, &eb), ARB_OK);
    *ks = loaded;
}

static arb_namereg_obs obs(uint32_t tip)
{
    arb_namereg_obs o;
    memset(&o, 0, sizeof(o));
    o.tip = tip;
    o.preorder_ttl = 6;
    return o;
}

/* Naive: a register in block tip + 1 is valid iff h < tip + 1 < h + ttl. */
static void test_window_exhaustive(void)
{
    arb_keystore_namereg r;
    memset(&r, 0, sizeof(r));
    r.stage = ARB_NAMEREG_PREORDER;
    for (uint32_t ttl = 1; ttl <= 8; ttl++)
        for (uint32_t h = 0; h <= 20; h++)
            for (uint32_t tip = 0; tip <= 32; tip++) {
                arb_namereg_obs o = obs(tip);
                arb_namereg_action want;
                o.preorder_ttl = ttl;
                o.preorder = ARB_NAMEREG_TX_CONFIRMED;
                o.preorder_height = h;
                if (tip + 1 > h && tip + 1 < h + ttl)
                    want = ARB_NAMEREG_SEND_REGISTER;
                else if (tip + 1 >= h + ttl)
                    want = ARB_NAMEREG_REPREORDER;
                else
                    want = ARB_NAMEREG_WAIT_BLOCK;
                CHECK_EQ(arb_namereg_next(&r, &o), want);
                /* At stage REGISTER with the register not yet in a block,
                 * only a closed window sends it back to a preorder. */
                r.stage = ARB_NAMEREG_REGISTER;
                o.reg = ARB_NAMEREG_TX_MEMPOOL;
                CHECK_EQ(arb_namereg_next(&r, &o), tip + 1 >= h + ttl
                                                       ? ARB_NAMEREG_REPREORDER
                                                       : ARB_NAMEREG_WAIT_REGISTER);
                o.reg = ARB_NAMEREG_TX_CONFIRMED;
                CHECK_EQ(arb_namereg_next(&r, &o), ARB_NAMEREG_DONE);
                r.stage = ARB_NAMEREG_PREORDER;
            }
}

/* A registration killed after each step, resumed from the wallet file. */
static void test_resume_each_stage(void)
{
    arb_keystore ks;
    arb_keystore_namereg r, *e;
    arb_namereg_obs o;
    arb_sha256 *sha = NULL;
    uint8_t c1[32], c2[32], zf[64];

    memset(&ks, 0, sizeof(ks));
    snprintf(ks.network, sizeof(ks.network), "regtest");
    ks.log2_n = 1;
    ks.r = 1;
    ks.p = 1;
    CHECK_EQ(arb_sha256_new(&sha), ARB_OK);
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "alice.id");
    r.stage = ARB_NAMEREG_PREORDER;
    arb_test_rand_bytes(r.salt, 32);
    arb_test_rand_bytes(r.owner, 32);
    arb_test_rand_bytes(zf, sizeof(zf));
    r.zonefile = zf;
    r.zonefile_len = sizeof(zf);
    r.burn = 1000;
    memcpy(r.preorder_txid, "0101010101010101010101010101010101010101010101010101010101010101",
           65);
    arb_nameop_name_commitment(sha, c1, (const uint8_t *)"alice.id", 8, r.salt, r.owner);
    CHECK_EQ(arb_keystore_namereg_add(&ks, &r), ARB_OK);

    /* 1. Killed after the preorder was recorded and broadcast: the node has
     * it in its mempool (or lost it, and the wallet still holds it to
     * rebroadcast): wait for it, never preorder again. */
    reopen(&ks);
    e = arb_keystore_namereg_find(&ks, "alice.id");
    CHECK(e != NULL);
    if (e == NULL)
        goto out;
    CHECK_EQ(e->stage, ARB_NAMEREG_PREORDER);
    /* The salt survived: the same commitment. */
    arb_nameop_name_commitment(sha, c2, (const uint8_t *)e->name, strlen(e->name), e->salt,
                               e->owner);
    CHECK_MEM(c1, c2, 32);
    CHECK_MEM(e->zonefile, zf, sizeof(zf));
    o = obs(100);
    o.preorder = ARB_NAMEREG_TX_MEMPOOL;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_WAIT_PREORDER);
    o.preorder = ARB_NAMEREG_TX_UNKNOWN;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_WAIT_PREORDER);
    o.preorder_lost = 1; /* conflicted: dropped from the wallet's list */
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_REPREORDER);

    /* 2. Killed after the preorder confirmed (at the tip): the register
     * goes in the next block, a later one than the preorder's; past the
     * window: preorder again. (A node whose tip is below the preorder's
     * block, after a reorg, makes it wait.) */
    o = obs(100);
    o.preorder = ARB_NAMEREG_TX_CONFIRMED;
    o.preorder_height = 101;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_WAIT_BLOCK);
    o.tip = 101;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_SEND_REGISTER);
    o.tip = 102;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_SEND_REGISTER);
    o.tip = 105;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_SEND_REGISTER);
    o.tip = 106; /* the next block, 107, is 101 + 6: too late */
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_REPREORDER);

    /* 3. Killed after the register was recorded and broadcast. */
    e->stage = ARB_NAMEREG_REGISTER;
    memcpy(e->register_txid, "0202020202020202020202020202020202020202020202020202020202020202",
           65);
    reopen(&ks);
    e = arb_keystore_namereg_find(&ks, "alice.id");
    CHECK(e != NULL);
    if (e == NULL)
        goto out;
    CHECK_EQ(e->stage, ARB_NAMEREG_REGISTER);
    o = obs(103);
    o.preorder = ARB_NAMEREG_TX_CONFIRMED;
    o.preorder_height = 101;
    o.reg = ARB_NAMEREG_TX_MEMPOOL;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_WAIT_REGISTER);
    o.reg = ARB_NAMEREG_TX_UNKNOWN; /* the node lost it: rebroadcast, wait */
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_WAIT_REGISTER);
    o.register_lost = 1; /* refused for good (name-taken) */
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_FAILED);
    o.register_lost = 0;
    o.preorder = ARB_NAMEREG_TX_MEMPOOL; /* a reorg took the preorder out */
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_WAIT_PREORDER);

    /* 4. Killed after the register confirmed, before the upload. */
    o = obs(104);
    o.preorder = ARB_NAMEREG_TX_CONFIRMED;
    o.preorder_height = 101;
    o.reg = ARB_NAMEREG_TX_CONFIRMED;
    o.register_height = 103;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_UPLOAD_ZONEFILE);
    e->stage = ARB_NAMEREG_UPLOAD;
    reopen(&ks);
    e = arb_keystore_namereg_find(&ks, "alice.id");
    CHECK(e != NULL);
    if (e == NULL)
        goto out;
    CHECK_EQ(e->stage, ARB_NAMEREG_UPLOAD);
    o = obs(200); /* long after: the upload stage does not depend on the window */
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_UPLOAD_ZONEFILE);
    /* Without a zone file the registration is done once confirmed. */
    free(e->zonefile);
    e->zonefile = NULL;
    e->zonefile_len = 0;
    CHECK_EQ(arb_namereg_next(e, &o), ARB_NAMEREG_DONE);
out:
    CHECK_STR(arb_namereg_action_name(ARB_NAMEREG_REPREORDER), "preorder-again");
    arb_keystore_clear(&ks);
    arb_sha256_free(sha);
}

int main(void)
{
    char dir[512];

    arb_test_seed_init();
    CHECK_OR(arb_test_tmpdir(dir, sizeof(dir)) == 0, 1);
    snprintf(path, sizeof(path), "%s/wallet.json", dir);
    test_window_exhaustive();
    test_resume_each_stage();
    arb_test_rmtree(dir);
    return arb_test_done();
}
