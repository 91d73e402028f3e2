/* arbor-wallet against a real regtest arbord: two wallets, mining to the first
 * past coinbase maturity, a payment to the second, one more block; balances
 * checked against the chain's subsidy rule (every coin mined stays with the
 * miner except the payment, fees return to it as the miner of the next
 * block), histories against the payment's txid; insufficient funds and an
 * invalid address are clear failures; `sign` + `broadcast` of a spent coin
 * is rejected by the node with its reason. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ledger/chain/params.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/wallet.h"
#include "wallet/spend.h"

static char g_wallet_bin[PATH_MAX], g_node[64], g_err[4096];
static char g_dir[512];

/* Runs arbor-wallet --node g_node --json ARGS...; *out gets the parsed JSON
 * of stdout (NULL if none or not JSON). Returns the exit status (-1 on
 * trouble); g_err holds the start of stderr. */
static int wallet(json_t **out, const char *const *args)
{
    int rc = arb_tl_wallet(g_wallet_bin, g_node, args, 120000, out, g_err, sizeof(g_err));
    if (rc != 0 && g_err[0] != '\0')
        fprintf(stderr, "arbor-wallet: exit %d: %s", rc, g_err);
    return rc;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A JSON amount string ("1.50000000") in units, or UINT64_MAX. */
static uint64_t units(json_t *o, const char *k)
{
    uint64_t v;
    json_t *x = json_object_get(o, k);
    if (!json_is_string(x) || !arb_amount_parse(&v, json_string_value(x)))
        return UINT64_MAX;
    return v;
}

static char wa[600], wb[600];

/* Total mined in blocks 1..h on regtest. */
static uint64_t mined(uint32_t h)
{
    const arb_chain_params *p = arb_chain_params_get("regtest");
    uint64_t s = 0;
    for (uint32_t i = 1; i <= h; i++)
        s += arb_chain_subsidy(p, i);
    return s;
}

/* A third wallet gets one confirmed coin of 2, pays 0.5 (leaving its change
 * unconfirmed), then pays 1 before any block: only its own unconfirmed change
 * can fund that, and the node takes the chain of two transactions. */
static void spend_unconfirmed_change(const char *alice, const char *bob)
{
    char wc[600], carol[128], t1[65], t2[65];
    json_t *j = NULL, *bal = NULL;
    uint64_t fees;

    snprintf(wc, sizeof(wc), "%s/carol.wallet", g_dir);
    CHECK(wallet(NULL, ARGS("--wallet", wc, "--network", "regtest", "--scrypt-log2n", "2",
                            "create")) == 0);
    CHECK(wallet(&j, ARGS("--wallet", wc, "address")) == 0);
    CHECK(j != NULL && json_is_string(json_object_get(j, "address")));
    snprintf(carol, sizeof(carol), "%s", j ? json_string_value(json_object_get(j, "address")) : "");
    json_decref(j);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "send", carol, "2")) == 0);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "mine", "--blocks", "1", "--address", alice)) == 0);

    CHECK(wallet(&j, ARGS("--wallet", wc, "send", bob, "0.5")) == 0);
    CHECK(j != NULL && units(j, "change") > 0 && units(j, "change") < 150000000ULL);
    snprintf(t1, sizeof(t1), "%s", j ? json_string_value(json_object_get(j, "txid")) : "");
    fees = units(j, "fee");
    json_decref(j);
    CHECK(wallet(&bal, ARGS("--wallet", wc, "balance")) == 0);
    CHECK(bal != NULL && units(bal, "confirmed") == 0 &&
          units(bal, "unconfirmed") == 150000000ULL - fees);
    json_decref(bal);
    CHECK(wallet(&j, ARGS("--wallet", wc, "send", bob, "1")) == 0);
    CHECK(j != NULL && json_integer_value(json_object_get(j, "inputs")) == 1);
    snprintf(t2, sizeof(t2), "%s", j ? json_string_value(json_object_get(j, "txid")) : "");
    fees += units(j, "fee");
    json_decref(j);
    CHECK(strcmp(t1, t2) != 0);
    /* More than the unconfirmed change: a clear error, nothing sent. */
    CHECK(wallet(NULL, ARGS("--wallet", wc, "send", bob, "1")) == 1);
    CHECK(strstr(g_err, "insufficient funds") != NULL);

    CHECK(wallet(NULL, ARGS("--wallet", wa, "mine", "--blocks", "1", "--address", alice)) == 0);
    CHECK(wallet(&bal, ARGS("--wallet", wc, "balance")) == 0);
    CHECK(bal != NULL && units(bal, "unconfirmed") == 0 &&
          units(bal, "confirmed") == 50000000ULL - fees);
    json_decref(bal);
}

static void run_all(void)
{
    json_t *j = NULL, *bal = NULL, *hist = NULL, *a;
    char bob[128], alice[128], txid[65], coin[400], to[200], hex1[4096], hex2[4096];
    uint64_t pay = 150000000ULL;

    snprintf(wa, sizeof(wa), "%s/alice.wallet", g_dir);
    snprintf(wb, sizeof(wb), "%s/bob.wallet", g_dir);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "--network", "regtest", "--scrypt-log2n", "2",
                            "create")) == 0);
    CHECK(wallet(NULL, ARGS("--wallet", wb, "--network", "regtest", "--scrypt-log2n", "2",
                            "create")) == 0);

    /* Mine 101 blocks to alice: 101 JSON lines, heights 1..101. */
    {
        const char *argv[] = {g_wallet_bin, "--node", g_node, "--json", "--wallet", wa, "mine",
                              "--blocks", "101", "--threads", "2", NULL};
        arb_proc *p = NULL;
        char *o;
        int lines = 0, last = 0;
        CHECK(arb_proc_spawn(&p, argv) == 0);
        CHECK(arb_proc_wait(p, 120000) == 0);
        o = arb_proc_output(p, ARB_PROC_STDOUT);
        arb_proc_free(p);
        CHECK(o != NULL);
        for (char *line = strtok(o, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            json_t *b = json_loads(line, 0, NULL);
            if (b != NULL && json_is_integer(json_object_get(b, "height")))
                last = (int)json_integer_value(json_object_get(b, "height"));
            json_decref(b);
            lines++;
        }
        free(o);
        CHECK_EQ(lines, 101);
        CHECK_EQ(last, 101);
    }
    CHECK(wallet(&bal, ARGS("--wallet", wa, "balance")) == 0);
    CHECK(bal != NULL);
    CHECK(units(bal, "confirmed") + units(bal, "immature") == mined(101));
    CHECK(units(bal, "confirmed") > pay);
    CHECK(units(bal, "unconfirmed") == 0);
    json_decref(bal);
    bal = NULL;

    /* Bob's address; alice pays him 1.5 coins. */
    CHECK(wallet(&j, ARGS("--wallet", wb, "address")) == 0);
    CHECK(j != NULL && json_is_string(json_object_get(j, "address")));
    snprintf(bob, sizeof(bob), "%s", json_string_value(json_object_get(j, "address")));
    json_decref(j);
    CHECK(wallet(&j, ARGS("--wallet", wa, "address")) == 0);
    CHECK(j != NULL && json_is_string(json_object_get(j, "address")));
    snprintf(alice, sizeof(alice), "%s", json_string_value(json_object_get(j, "address")));
    json_decref(j);

    /* A dry run sends nothing. */
    CHECK(wallet(&j, ARGS("--wallet", wa, "send", bob, "1.5", "--dry-run")) == 0);
    CHECK(j != NULL && json_is_false(json_object_get(j, "sent")));
    json_decref(j);
    CHECK(wallet(&bal, ARGS("--wallet", wb, "balance")) == 0);
    CHECK(bal != NULL && units(bal, "unconfirmed") == 0);
    json_decref(bal);

    CHECK(wallet(&j, ARGS("--wallet", wa, "send", bob, "1.5", "--fee-rate", "3")) == 0);
    CHECK(j != NULL && json_is_string(json_object_get(j, "txid")));
    snprintf(txid, sizeof(txid), "%s", json_string_value(json_object_get(j, "txid")));
    /* fee = 3 units/byte * size */
    CHECK(units(j, "fee") == 3 * (uint64_t)json_integer_value(json_object_get(j, "size")));
    json_decref(j);
    CHECK(wallet(&bal, ARGS("--wallet", wb, "balance")) == 0);
    CHECK(bal != NULL && units(bal, "unconfirmed") == pay && units(bal, "confirmed") == 0);
    json_decref(bal);

    /* One more block (to alice): the payment confirms, the fee comes back. */
    CHECK(wallet(NULL, ARGS("--wallet", wa, "mine", "--blocks", "1", "--address", alice)) == 0);
    CHECK(wallet(&bal, ARGS("--wallet", wb, "balance")) == 0);
    CHECK(bal != NULL && units(bal, "confirmed") == pay && units(bal, "unconfirmed") == 0);
    json_decref(bal);
    CHECK(wallet(&bal, ARGS("--wallet", wa, "balance")) == 0);
    CHECK(bal != NULL);
    CHECK(units(bal, "confirmed") + units(bal, "immature") + units(bal, "unconfirmed") ==
          mined(102) - pay);
    json_decref(bal);

    /* Histories. */
    CHECK(wallet(&hist, ARGS("--wallet", wb, "history")) == 0);
    a = json_object_get(hist, "txs");
    CHECK(json_array_size(a) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(a, 0), "txid")), txid);
    CHECK(json_integer_value(json_object_get(json_array_get(a, 0), "height")) == 102);
    CHECK(units(json_array_get(a, 0), "received") == pay);
    json_decref(hist);
    CHECK(wallet(&hist, ARGS("--wallet", wa, "history")) == 0);
    a = json_object_get(hist, "txs");
    {
        int seen = 0;
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) {
            if (strcmp(json_string_value(json_object_get(e, "txid")), txid) == 0) {
                seen = 1;
                CHECK(units(e, "sent") - units(e, "received") > pay);
            }
        }
        CHECK(seen);
        CHECK(json_array_size(a) == 103); /* 102 coinbases + the payment */
    }
    json_decref(hist);

    /* Insufficient funds and an invalid address: exit 1 with a reason. */
    CHECK(wallet(NULL, ARGS("--wallet", wa, "send", bob, "20000000")) == 1);
    CHECK(strstr(g_err, "insufficient funds") != NULL);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "send", "rarb1qqqqqqqqqq", "1")) == 1);
    CHECK(strstr(g_err, "invalid address") != NULL);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "send", bob, "1.000000001")) == 2);

    /* Bob spends his coin offline (sign) and broadcasts it; a second
     * transaction spending the same coin is rejected by the node. */
    snprintf(coin, sizeof(coin), "%s:0:%llu:%s", txid, (unsigned long long)pay, bob);
    snprintf(to, sizeof(to), "%s:%llu", alice, (unsigned long long)(pay - 10000));
    CHECK(wallet(&j, ARGS("--wallet", wb, "sign", "--coin", coin, "--to", to, "--fee", "10000")) ==
          0);
    CHECK(j != NULL && json_is_string(json_object_get(j, "hex")));
    snprintf(hex1, sizeof(hex1), "%s", json_string_value(json_object_get(j, "hex")));
    json_decref(j);
    snprintf(to, sizeof(to), "%s:%llu", alice, (unsigned long long)(pay - 20000));
    CHECK(wallet(&j, ARGS("--wallet", wb, "sign", "--coin", coin, "--to", to, "--fee", "20000")) ==
          0);
    CHECK(j != NULL && json_is_string(json_object_get(j, "hex")));
    snprintf(hex2, sizeof(hex2), "%s", json_string_value(json_object_get(j, "hex")));
    json_decref(j);
    CHECK(wallet(&j, ARGS("broadcast", hex1)) == 0);
    CHECK(j != NULL && json_is_string(json_object_get(j, "txid")));
    json_decref(j);
    CHECK(wallet(NULL, ARGS("mine", "--address", alice)) == 0);
    CHECK(wallet(NULL, ARGS("broadcast", hex2)) == 1);
    CHECK(strstr(g_err, "bad-txns-inputs-missingorspent") != NULL);
    CHECK(strstr(g_err, "HTTP 400") != NULL);
    /* The same from a file in sign's text layout. */
    {
        char path[700];
        FILE *f;
        snprintf(path, sizeof(path), "%s/tx2.txt", g_dir);
        f = fopen(path, "w");
        CHECK(f != NULL);
        fprintf(f, "txid %s\n%s\n", txid, hex2);
        fclose(f);
        CHECK(wallet(NULL, ARGS("broadcast", path)) == 1);
        CHECK(strstr(g_err, "bad-txns-inputs-missingorspent") != NULL);
        f = fopen(path, "w");
        CHECK(f != NULL);
        fprintf(f, "no transaction here\n");
        fclose(f);
        CHECK(wallet(NULL, ARGS("broadcast", path)) == 1);
        CHECK(strstr(g_err, "not a hex transaction") != NULL);
    }
    CHECK(wallet(&bal, ARGS("--wallet", wb, "balance")) == 0);
    CHECK(bal != NULL && units(bal, "confirmed") == 0);
    json_decref(bal);
    spend_unconfirmed_change(alice, bob);
}

int main(void)
{
    char arbord[PATH_MAX], datadir[700];
    arb_proc *node = NULL;
    int port;

    if (arb_test_bin(arbord, sizeof(arbord), "arbord") == NULL ||
        arb_test_bin(g_wallet_bin, sizeof(g_wallet_bin), "arbor-wallet") == NULL) {
        fprintf(stderr, "programs not found (ARB_BIN)\n");
        return 1;
    }
    if (arb_test_tmpdir(g_dir, sizeof(g_dir)) != 0)
        return 1;
    snprintf(datadir, sizeof(datadir), "%s/node", g_dir);
    {
        const char *argv[] = {arbord, "--datadir", datadir, "--network", "regtest", "--listen",
                              "127.0.0.1:0", "--json", NULL};
        if (arb_proc_spawn(&node, argv) != 0)
            return 1;
    }
    port = arb_proc_wait_port(node, 20000);
    if (port <= 0) {
        fprintf(stderr, "arbord did not start\n");
        arb_proc_free(node);
        return 1;
    }
    snprintf(g_node, sizeof(g_node), "http://127.0.0.1:%d", port);
    setenv("ARBOR_PASSPHRASE", "test passphrase", 1);
    run_all();
    arb_proc_kill(node, SIGTERM);
    if (arb_proc_wait(node, 20000) != 0) {
        fprintf(stderr, "arbord did not stop cleanly\n");
        arb_proc_free(node);
        return 1;
    }
    arb_proc_free(node);
    arb_test_rmtree(g_dir);
    return arb_test_done();
}
