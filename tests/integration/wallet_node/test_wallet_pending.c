/* arbor-wallet as a new user meets it, against real regtest arbord processes:
 *
 * - create without --network takes the node's network; a wallet of another
 *   network is refused with both networks named;
 * - mining reports a hash rate in a unit that fits and a summary line;
 * - amounts: 0, more than can exist, more than 8 decimals each get their own
 *   message; insufficient funds names the immature rewards;
 * - history has a header row, a signed net column and never "-0.00000000";
 * - a payment is kept in the wallet file until it confirms: a node restarted
 *   from a copy of its data directory taken before the payment (so it never
 *   saw it) gets it again from `rebroadcast` (and from `balance`), history
 *   shows it unconfirmed meanwhile, and it is forgotten once mined; a payment
 *   whose coin another confirmed transaction spent is dropped as conflicted.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/proc.h"
#include "tests/test.h"

/* A hash rate as the miner prints it ("12.3 MH/s") with a unit that fits:
 * below 1000 of its unit, and at least 1 unless the unit is H/s. */
static int rate_fits(const char *s)
{
    double v;
    char unit[16];
    if (s == NULL || sscanf(s, "%lf %15[A-Za-z/]", &v, unit) != 2)
        return 0;
    if (strcmp(unit, "H/s") != 0 && strcmp(unit, "kH/s") != 0 && strcmp(unit, "MH/s") != 0 &&
        strcmp(unit, "GH/s") != 0)
        return 0;
    return v < 1000 && (v >= 1 || strcmp(unit, "H/s") == 0);
}

static char g_wallet_bin[PATH_MAX], g_arbord[PATH_MAX], g_node[64], g_dir[512];
static char *g_out, *g_err;
static arb_proc *g_arbord_proc;

/* Runs arbor-wallet --node g_node ARGS... (json: with --json and *out parsed).
 * Returns the exit status; g_out and g_err hold what it printed. */
static int run(json_t **out, int json, const char *const *args)
{
    const char *argv[40];
    arb_proc *p = NULL;
    int n = 0, rc;

    argv[n++] = g_wallet_bin;
    argv[n++] = "--node";
    argv[n++] = g_node;
    if (json)
        argv[n++] = "--json";
    for (; *args != NULL && n < 39; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    if (out != NULL)
        *out = NULL;
    free(g_out);
    free(g_err);
    g_out = g_err = NULL;
    if (arb_proc_spawn(&p, argv) != 0)
        return -1;
    rc = arb_proc_wait(p, 120000);
    g_out = arb_proc_output(p, ARB_PROC_STDOUT);
    g_err = arb_proc_output(p, ARB_PROC_STDERR);
    if (g_out == NULL)
        g_out = strdup("");
    if (g_err == NULL)
        g_err = strdup("");
    if (out != NULL && g_out != NULL)
        *out = json_loads(g_out, JSON_DECODE_ANY, NULL);
    arb_proc_free(p);
    return rc;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static int start_node(const char *datadir)
{
    const char *argv[] = {g_arbord, "--datadir", datadir, "--network", "regtest", "--listen",
                          "127.0.0.1:0", "--json", NULL};
    int port;

    if (arb_proc_spawn(&g_arbord_proc, argv) != 0)
        return 0;
    port = arb_proc_wait_port(g_arbord_proc, 20000);
    if (port <= 0)
        return 0;
    snprintf(g_node, sizeof(g_node), "http://127.0.0.1:%d", port);
    return 1;
}

static int stop_node(void)
{
    int st;
    arb_proc_kill(g_arbord_proc, SIGTERM);
    st = arb_proc_wait(g_arbord_proc, 20000);
    arb_proc_free(g_arbord_proc);
    g_arbord_proc = NULL;
    return st == 0;
}

/* cp -a from to ("" to: rm -rf from). */
static int copy_tree(const char *from, const char *to)
{
    char cmd[2048];
    if (to[0] == '\0')
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", from);
    else
        snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", from, to);
    return system(cmd) == 0;
}

/* Is txid in the node's mempool? (via the wallet's broadcast-free path: the
 * node's HTTP API through curl would do too; the mempool list is simplest.) */
static int in_mempool(const char *txid)
{
    char cmd[512], buf[8192];
    FILE *f;
    size_t n;

    snprintf(cmd, sizeof(cmd), "curl -s %s/chain/v1/mempool", g_node);
    f = popen(cmd, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    pclose(f);
    return strstr(buf, txid) != NULL;
}

static void run_all(void)
{
    char wa[700], wa_old[700], wm[700], snap[700], live[700], bob[128], txid[65], alice[128];
    json_t *j = NULL;

    snprintf(wa, sizeof(wa), "%s/alice.wallet", g_dir);
    snprintf(wa_old, sizeof(wa_old), "%s/alice-before.wallet", g_dir);
    snprintf(wm, sizeof(wm), "%s/main.wallet", g_dir);
    snprintf(snap, sizeof(snap), "%s/snapshot", g_dir);
    snprintf(live, sizeof(live), "%s/node", g_dir);

    /* The network comes from the node. */
    CHECK_EQ(run(&j, 1, ARGS("--wallet", wa, "--scrypt-log2n", "2", "create")), 0);
    CHECK_STR(json_string_value(json_object_get(j, "network")), "regtest");
    snprintf(alice, sizeof(alice), "%s", json_string_value(json_object_get(j, "address")));
    json_decref(j);
    /* A main wallet against a regtest node: both networks named. */
    CHECK_EQ(run(NULL, 0,
                 ARGS("--wallet", wm, "--network", "main", "--scrypt-log2n", "2", "create")),
             0);
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wm, "balance")), 1);
    CHECK(strstr(g_err, "network mismatch") != NULL && strstr(g_err, "main wallet") != NULL &&
          strstr(g_err, "runs regtest") != NULL);
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wm, "mine")), 1);
    CHECK(strstr(g_err, "runs regtest") != NULL);
    CHECK_EQ(run(NULL, 0, ARGS("mine", "--address", "arb1qqqq")), 1);
    CHECK(strstr(g_err, "not a regtest address") != NULL);

    /* 99 blocks: nothing mature yet. The summary's rate has a unit that fits. */
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "mine", "--blocks", "99")), 0);
    CHECK(strstr(g_out, "99 blocks found in") != NULL);
    CHECK(strstr(g_out, "hashing at ") != NULL && rate_fits(strstr(g_out, "hashing at ") + 11));
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "send", alice, "1")), 1);
    CHECK(strstr(g_err, "insufficient funds") != NULL && strstr(g_err, "immature") != NULL &&
          strstr(g_err, "after 1 more block") != NULL);
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "mine")), 0);
    CHECK(strstr(g_out, "1 block found in") != NULL);

    /* Amount errors say what is wrong (usage errors: nothing is sent). */
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "send", alice, "0")), 2);
    CHECK(strstr(g_err, "more than 0") != NULL);
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "send", alice, "30000000")), 2);
    CHECK(strstr(g_err, "can ever exist") != NULL);
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "send", alice, "1.123456789")), 2);
    CHECK(strstr(g_err, "8 decimals") != NULL);
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "send", alice)), 2);
    CHECK(strstr(g_err, "AMOUNT") != NULL);

    /* The snapshot: the chain at height 100 (one mature coin) and the wallet, before the payment. */
    CHECK(stop_node());
    CHECK(copy_tree(live, snap));
    CHECK(copy_tree(wa, wa_old));
    CHECK(start_node(live));

    snprintf(bob, sizeof(bob), "%s", alice); /* paying oneself works as well */
    CHECK_EQ(run(&j, 1, ARGS("--wallet", wa, "send", bob, "10")), 0);
    snprintf(txid, sizeof(txid), "%s",
             j != NULL && json_is_string(json_object_get(j, "txid"))
                 ? json_string_value(json_object_get(j, "txid"))
                 : "");
    json_decref(j);
    CHECK(strlen(txid) == 64);
    CHECK(in_mempool(txid));
    /* Kept in the wallet file until it confirms. */
    {
        size_t len = 0;
        char *file = (char *)arb_test_read_file(wa, &len);
        CHECK(file != NULL && strstr(file, "\"pending\"") != NULL && strstr(file, txid) != NULL);
        free(file);
    }

    /* A node that never saw the payment (started from the snapshot). */
    CHECK(stop_node());
    CHECK(copy_tree(live, ""));
    CHECK(copy_tree(snap, live));
    CHECK(start_node(live));
    CHECK(!in_mempool(txid));
    CHECK_EQ(run(&j, 1, ARGS("--wallet", wa, "rebroadcast")), 0);
    CHECK(j != NULL && json_array_size(json_object_get(j, "pending")) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "pending"), 0),
                                                "state")),
              "rebroadcast");
    json_decref(j);
    CHECK(in_mempool(txid));
    /* history lists it as unconfirmed, with a header and a net column. */
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "history")), 0);
    CHECK(strncmp(g_out, "HEIGHT", 6) == 0 && strstr(g_out, "NET") != NULL);
    CHECK(strstr(g_out, "-0.00000000") == NULL);
    {
        const char *line = strstr(g_out, txid);
        CHECK(line != NULL && line - g_out >= 11 && strncmp(line - 13, "unconfirmed", 11) == 0);
    }
    CHECK_EQ(run(&j, 1, ARGS("--wallet", wa, "history")), 0);
    {
        size_t i;
        json_t *e;
        int seen = 0;
        json_array_foreach(json_object_get(j, "txs"), i, e) {
            if (strcmp(json_string_value(json_object_get(e, "txid")), txid) == 0) {
                seen = 1;
                CHECK(json_is_true(json_object_get(e, "pending")));
                CHECK(json_is_false(json_object_get(e, "confirmed")));
            }
            /* Coinbases: net equals received, with a plus sign. */
            if (json_integer_value(json_object_get(e, "height")) == 1)
                CHECK_STR(json_string_value(json_object_get(e, "net")), "+50.00000000");
        }
        CHECK(seen);
    }
    json_decref(j);
    /* Mined: forgotten. */
    CHECK_EQ(run(NULL, 0, ARGS("--wallet", wa, "mine")), 0);
    CHECK_EQ(run(&j, 1, ARGS("--wallet", wa, "rebroadcast")), 0);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "pending"), 0),
                                                "state")),
              "confirmed");
    CHECK_EQ(json_integer_value(json_object_get(j, "still_pending")), 0);
    json_decref(j);
    {
        size_t len = 0;
        char *file = (char *)arb_test_read_file(wa, &len);
        CHECK(file != NULL && strstr(file, "\"pending\"") == NULL);
        free(file);
    }

    /* A conflict: two copies of the wallet from before the payment, each
     * against a node that never saw the other's transaction, spend the one
     * mature coin. The second is mined; the first is then dropped. */
    {
        char c1[700], c2[700], t1[65] = "";
        snprintf(c1, sizeof(c1), "%s/copy1.wallet", g_dir);
        snprintf(c2, sizeof(c2), "%s/copy2.wallet", g_dir);
        CHECK(copy_tree(wa_old, c1));
        CHECK(copy_tree(wa_old, c2));
        CHECK(stop_node());
        CHECK(copy_tree(live, ""));
        CHECK(copy_tree(snap, live));
        CHECK(start_node(live));
        CHECK_EQ(run(&j, 1, ARGS("--wallet", c1, "send", alice, "10")), 0);
        if (j != NULL && json_is_string(json_object_get(j, "txid")))
            snprintf(t1, sizeof(t1), "%s", json_string_value(json_object_get(j, "txid")));
        json_decref(j);
        CHECK(stop_node());
        CHECK(copy_tree(live, ""));
        CHECK(copy_tree(snap, live));
        CHECK(start_node(live));
        CHECK_EQ(run(&j, 1, ARGS("--wallet", c2, "send", alice, "20")), 0);
        json_decref(j);
        CHECK_EQ(run(NULL, 0, ARGS("mine", "--address", alice)), 0);
        CHECK_EQ(run(&j, 1, ARGS("--wallet", c1, "rebroadcast")), 0);
        {
            json_t *e = json_array_get(json_object_get(j, "pending"), 0);
            CHECK_STR(json_string_value(json_object_get(e, "txid")), t1);
            CHECK_STR(json_string_value(json_object_get(e, "state")), "conflicted");
            CHECK(json_is_string(json_object_get(e, "conflict")));
        }
        CHECK_EQ(json_integer_value(json_object_get(j, "still_pending")), 0);
        json_decref(j);
        /* The human form says so on stderr from any node command. */
        CHECK_EQ(run(NULL, 0, ARGS("--wallet", c2, "balance")), 0);
        CHECK(strstr(g_err, "confirmed at height 101") != NULL);
    }
    /* On a terminal (script(1) gives it one) mining shows a progress line
     * after each block, with a rate unit that fits. */
    if (access("/usr/bin/script", X_OK) == 0) {
        char line[PATH_MAX + 512];
        const char *argv[] = {"/usr/bin/script", "-qec", line, "/dev/null", NULL};
        arb_proc *p = NULL;
        char *o;
        snprintf(line, sizeof(line), "%s --node %s mine --blocks 2 --address %s", g_wallet_bin,
                 g_node, alice);
        CHECK(arb_proc_spawn(&p, argv) == 0);
        CHECK_EQ(arb_proc_wait(p, 60000), 0);
        o = arb_proc_output(p, ARB_PROC_STDOUT);
        CHECK(o != NULL && strstr(o, "mining: 1/2 blocks found, ") != NULL &&
              rate_fits(strstr(o, "mining: 1/2 blocks found, ") + 26));
        free(o);
        arb_proc_free(p);
    }
}

int main(void)
{
    if (arb_test_bin(g_arbord, sizeof(g_arbord), "arbord") == NULL ||
        arb_test_bin(g_wallet_bin, sizeof(g_wallet_bin), "arbor-wallet") == NULL) {
        fprintf(stderr, "programs not found (ARB_BIN)\n");
        return 1;
    }
    if (arb_test_tmpdir(g_dir, sizeof(g_dir)) != 0)
        return 1;
    setenv("ARBOR_PASSPHRASE", "test passphrase", 1);
    unsetenv("ARBOR_NODE");
    {
        char datadir[700];
        snprintf(datadir, sizeof(datadir), "%s/node", g_dir);
        if (!start_node(datadir)) {
            fprintf(stderr, "arbord did not start\n");
            return 1;
        }
    }
    run_all();
    if (g_arbord_proc != NULL && !stop_node()) {
        fprintf(stderr, "arbord did not stop cleanly\n");
        return 1;
    }
    free(g_out);
    free(g_err);
    arb_test_rmtree(g_dir);
    return arb_test_done();
}
