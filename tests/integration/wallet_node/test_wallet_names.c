/* arbor-wallet's name commands against a real regtest arbord.
 *
 * An operator wallet preorders, reveals, imports into and launches a
 * namespace (regtest windows: preorder 6 blocks, launch 40, grace 10). Alice's
 * one-step `name register` is killed with SIGKILL at each stage (after the
 * preorder was broadcast, after it confirmed, after the register was
 * broadcast, after it confirmed and before the zone-file upload) and every
 * re-run continues from the wallet file: the chain then holds exactly one
 * preorder of Alice's, and her coins went down by exactly the price plus the
 * fees of her own transactions. Blocks come from a separate miner so that her
 * balance moves only by what she pays.
 *
 * The life cycle through the CLI: lookup/list with --json, a refused
 * registration of a taken name (nothing paid, the node's reason and height
 * in the message), update, renew, expiry into the grace period (warned, no
 * update, renewal allowed), transfer to Bob, Bob's revoke, Alice no longer the
 * owner. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/tx.h"
#include "ledger/names/nameop.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "tests/testlib/wallet.h"
#include "wallet/spend.h"

#define NS "arbortest" /* 9 bytes: the namespace costs 6.4 coins */
#define PRICE 100000000ULL /* every name: coeff 1 * 10^7 * 10 */

static char g_wallet_bin[PATH_MAX], g_arbord[PATH_MAX], g_err[16384], g_dir[512];
static char g_node[64], wa[700], wb[700], wm[700], wo[700], g_miner[128], g_bob[128];
static arb_proc *g_arbord_p;
static int g_port; /* the node's; g_node is its URL */

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Runs arbor-wallet --node --json ARGS; *out the parsed stdout. */
static int wallet(json_t **out, const char *const *args)
{
    return arb_tl_wallet(g_wallet_bin, g_node, args, 180000, out, g_err, sizeof(g_err));
}

/* Starts arbor-wallet ARGS, waits for a stderr line starting with prefix and
 * kills it with SIGKILL there. Returns 1 when the line came (and the kill
 * happened), 0 otherwise. */
static int wallet_kill_at(const char *prefix, const char *const *args)
{
    const char *argv[40];
    arb_proc *p = NULL;
    int ok;

    arb_tl_wallet_argv(argv, g_wallet_bin, g_node, args);
    if (arb_proc_spawn(&p, argv) != 0)
        return 0;
    ok = arb_proc_wait_line(p, ARB_PROC_STDERR, prefix, NULL, 0, 60000);
    if (!ok) {
        char *e = arb_proc_output(p, ARB_PROC_STDERR);
        fprintf(stderr, "no line \"%s\"; stderr:\n%s\n", prefix, e ? e : "");
        free(e);
    }
    arb_proc_kill(p, SIGKILL);
    (void)arb_proc_wait(p, 30000);
    arb_proc_free(p);
    return ok;
}

/* GET path on the node: the JSON of a 200, else NULL. */
static json_t *get_json(const char *path)
{
    arb_tl_http_opts o = {.port = g_port, .timeout_s = 30};
    return arb_tl_json_200(o, path, NULL);
}

static long tip(void)
{
    json_t *j = get_json("/chain/v1/tip");
    long h = j ? (long)json_integer_value(json_object_get(j, "height")) : -1;
    json_decref(j);
    return h;
}

static int mine(int n)
{
    char nb[16];
    snprintf(nb, sizeof(nb), "%d", n);
    return wallet(NULL, ARGS("--wallet", wm, "mine", "--blocks", nb, "--address", g_miner)) == 0;
}

static uint64_t units(json_t *o, const char *k)
{
    uint64_t v;
    json_t *x = json_object_get(o, k);
    if (!json_is_string(x) || !arb_amount_parse(&v, json_string_value(x)))
        return UINT64_MAX;
    return v;
}

/* Everything the wallet holds: confirmed + unconfirmed + immature. */
static uint64_t total(const char *w)
{
    json_t *b = NULL;
    uint64_t t = UINT64_MAX;
    if (wallet(&b, ARGS("--wallet", w, "balance")) == 0 && b != NULL)
        t = units(b, "confirmed") + units(b, "unconfirmed") + units(b, "immature");
    json_decref(b);
    return t;
}

static int write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fputs(s, f) >= 0;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

static void sha_hex(char out[65], const char *s)
{
    arb_sha256 *h = NULL;
    uint8_t d[32];
    if (arb_sha256_new(&h) != ARB_OK) {
        out[0] = '\0';
        return;
    }
    arb_sha256_init(h);
    arb_sha256_update(h, s, strlen(s));
    arb_sha256_final(h, d);
    arb_sha256_free(h);
    arb_hex_encode(out, d, 32);
}

/* Confirmed transactions of address with payload `type`; *fees gets the sum
 * of (inputs - outputs - burn) of all its confirmed payload transactions
 * whose input 0 spends this address (the wallet's name operations). */
static int count_payload_txs(const char *addr, uint8_t type)
{
    char path[256];
    json_t *h;
    size_t i;
    json_t *e;
    int n = 0;

    snprintf(path, sizeof(path), "/chain/v1/address/%s/history", addr);
    h = get_json(path);
    if (h == NULL)
        return -1;
    json_array_foreach(json_object_get(h, "txs"), i, e) {
        const char *txid = json_string_value(json_object_get(e, "txid"));
        json_t *t;
        arb_tx tx;
        arb_errbuf eb;
        uint8_t *raw = NULL;
        size_t rl = 0;
        if (txid == NULL || json_integer_value(json_object_get(e, "height")) < 0)
            continue;
        snprintf(path, sizeof(path), "/chain/v1/tx?txid=%s", txid);
        t = get_json(path);
        arb_tx_init(&tx);
        if (t != NULL && json_string_value(json_object_get(t, "hex")) != NULL &&
            arb_hex_decode_alloc(&raw, &rl, json_string_value(json_object_get(t, "hex"))) ==
                ARB_OK &&
            arb_tx_decode(&tx, raw, rl, &eb) == ARB_OK && tx.payload_type == type)
            n++;
        arb_tx_clear(&tx);
        free(raw);
        json_decref(t);
    }
    json_decref(h);
    return n;
}

static json_t *lookup(const char *name)
{
    json_t *j = NULL;
    if (wallet(&j, ARGS("--wallet", wa, "name", "lookup", name)) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : "";
}

/* ---- the namespace, by its operator ---- */

static void launch_namespace(void)
{
    json_t *j = NULL;
    char zf[700], imp_hash[65];

    CHECK(wallet(NULL, ARGS("--wallet", wo, "--scrypt-log2n", "2", "create")) == 0);
    CHECK(wallet(NULL, ARGS("--wallet", wo, "mine", "--blocks", "101")) == 0);
    /* Reveal before any preorder: refused locally. */
    CHECK(wallet(NULL, ARGS("--wallet", wo, "namespace", "reveal", NS)) == 1);
    CHECK(strstr(g_err, "namespace-preorder-missing") != NULL);
    CHECK(wallet(&j, ARGS("--wallet", wo, "namespace", "preorder", NS)) == 0);
    CHECK(j != NULL && json_integer_value(json_object_get(j, "burn")) == 640000000);
    json_decref(j);
    /* A second preorder of the same id by the same wallet is refused. */
    CHECK(wallet(NULL, ARGS("--wallet", wo, "namespace", "preorder", NS)) == 1);
    CHECK(mine(1));
    CHECK(wallet(&j, ARGS("--wallet", wo, "namespace", "reveal", NS, "--lifetime", "30",
                          "--coeff", "1", "--base", "10", "--buckets",
                          "7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7")) == 0);
    CHECK(j != NULL && strcmp(jstr(j, "op"), "namespace-reveal") == 0);
    json_decref(j);
    CHECK(mine(1));
    CHECK(wallet(&j, ARGS("--wallet", wo, "namespace", "show", NS)) == 0);
    CHECK(j != NULL && strcmp(jstr(j, "status"), "revealed") == 0 &&
          json_integer_value(json_object_get(j, "lifetime")) == 30);
    json_decref(j);
    /* Names are not for sale before the launch. */
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "price", "alice." NS)) == 0);
    CHECK(j != NULL && json_is_false(json_object_get(j, "namespace_ready")) &&
          json_integer_value(json_object_get(j, "price_units")) == (json_int_t)PRICE);
    json_decref(j);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "register", "alice." NS)) == 1);
    CHECK(strstr(g_err, "not ready") != NULL);
    /* Import a name for Bob, with a zone file, then launch. */
    snprintf(zf, sizeof(zf), "%s/imp.zone", g_dir);
    CHECK(write_file(zf, "$ORIGIN imp." NS "\nimp IN TXT \"imported\"\n"));
    CHECK(wallet(NULL, ARGS("--wallet", wo, "namespace", "import", "imp." NS, g_bob,
                            "--zonefile", zf)) == 0);
    CHECK(mine(1));
    CHECK(wallet(NULL, ARGS("--wallet", wo, "namespace", "ready", NS)) == 0);
    CHECK(mine(1));
    CHECK(wallet(&j, ARGS("--wallet", wo, "namespace", "show", NS)) == 0);
    CHECK(j != NULL && strcmp(jstr(j, "status"), "ready") == 0 &&
          json_is_integer(json_object_get(j, "ready_height")));
    json_decref(j);
    j = lookup("imp." NS);
    sha_hex(imp_hash, "$ORIGIN imp." NS "\nimp IN TXT \"imported\"\n");
    CHECK(j != NULL && strcmp(jstr(j, "address"), g_bob) == 0 &&
          json_is_true(json_object_get(j, "imported")) &&
          strcmp(jstr(j, "zonefile_hash"), imp_hash) == 0);
    json_decref(j);
}

/* ---- Alice's registration, killed at each stage ---- */

static void register_killed(void)
{
    json_t *j = NULL, *p;
    char zf[700], zhash[65], owner_addr[ARB_ADDR_MAX] = "";
    const char *zone = "$ORIGIN alice." NS "\n@ IN A 192.0.2.1\n";
    static char last_err[16384];
    uint64_t before, after;
    long h;
    int rc;

    snprintf(zf, sizeof(zf), "%s/alice.zone", g_dir);
    CHECK(write_file(zf, zone));
    sha_hex(zhash, zone);
    before = total(wa);
    CHECK(before != UINT64_MAX && before > 0);

    /* A taken name: refused before anything is paid, with the height. */
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "register", "imp." NS)) == 1);
    CHECK(strstr(g_err, "name-taken: imp." NS " is registered until height") != NULL);
    CHECK_EQ(total(wa), before);

    /* 1. Killed after the preorder was broadcast (waiting for a block). */
    CHECK(wallet_kill_at("arbor-wallet: alice." NS ": waiting for the preorder",
                         ARGS("--wallet", wa, "name", "register", "alice." NS, "--zonefile", zf)));
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "pending")) == 0);
    p = j ? json_array_get(json_object_get(j, "registrations"), 0) : NULL;
    CHECK(p != NULL && strcmp(jstr(p, "stage"), "preorder") == 0 &&
          json_integer_value(json_object_get(p, "burn")) == (json_int_t)PRICE);
    json_decref(j);
    /* Resumed without a block: still waiting, nothing new sent. */
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "register", "--resume", "--no-wait")) == 0);
    CHECK(strstr(g_err, "resuming") != NULL || strstr(g_err, "stage preorder") != NULL);
    json_decref(j);

    /* 2. The preorder confirms while no run is alive; the re-run registers
     * and is killed waiting for the register's block. */
    CHECK(mine(1));
    CHECK(wallet_kill_at("arbor-wallet: alice." NS ": waiting for the register",
                         ARGS("--wallet", wa, "name", "register", "alice." NS)));
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "pending")) == 0);
    p = j ? json_array_get(json_object_get(j, "registrations"), 0) : NULL;
    CHECK(p != NULL && strcmp(jstr(p, "stage"), "register") == 0 &&
          strlen(jstr(p, "register_txid")) == 64);
    json_decref(j);

    /* 3. Killed again while the register waits (a run with nothing to do). */
    CHECK(wallet_kill_at("arbor-wallet: alice." NS ": waiting for the register",
                         ARGS("--wallet", wa, "name", "register", "--resume")));

    /* 4. The register confirms; the run is killed as it reaches the
     * zone-file upload; a last run finishes what is left. */
    CHECK(mine(1));
    h = tip();
    CHECK(wallet_kill_at("arbor-wallet: alice." NS ": registered at height",
                         ARGS("--wallet", wa, "name", "register", "alice." NS)));
    rc = wallet(&j, ARGS("--wallet", wa, "name", "register", "alice." NS, "--no-wait"));
    if (rc != 0)
        fprintf(stderr, "name register --no-wait exits %d; stderr:\n%s\n", rc, g_err);
    CHECK(rc == 0);
    snprintf(last_err, sizeof(last_err), "%s", g_err);
    json_decref(j);
    j = lookup("alice." NS);
    CHECK(j != NULL && strcmp(jstr(j, "status"), "active") == 0 &&
          strcmp(jstr(j, "zonefile_hash"), zhash) == 0 &&
          json_integer_value(json_object_get(j, "registered_height")) == h &&
          json_integer_value(json_object_get(j, "expires_at")) == h + 30);
    snprintf(owner_addr, sizeof(owner_addr), "%s", j ? jstr(j, "address") : "");
    json_decref(j);
    /* The zone file was uploaded: the registration is complete and the
     * name resolves to the file's text. */
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "pending")) == 0);
    CHECK(j != NULL && json_array_size(json_object_get(j, "registrations")) == 0);
    (void)p;
    (void)last_err;
    json_decref(j);
    j = lookup("alice." NS);
    CHECK(j != NULL && json_is_string(json_object_get(j, "zonefile")) &&
          strstr(jstr(j, "zonefile"), "$ORIGIN alice." NS) != NULL);
    json_decref(j);
    /* Running the finished command again is harmless: the name is already
     * this wallet's, nothing is paid. */
    after = total(wa);
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "register", "alice." NS, "--zonefile",
                          zf)) == 0);
    CHECK(strstr(g_err, "already registered to this wallet") != NULL);
    CHECK(j != NULL && json_is_true(json_object_get(j, "already_registered")));
    json_decref(j);
    CHECK(total(wa) == after);

    /* Exactly one preorder of Alice's on the chain, and her coins went down
     * by the price and her fees only (well under a second price). */
    CHECK_EQ(count_payload_txs(owner_addr, ARB_NAMEOP_NAME_PREORDER), 1);
    CHECK_EQ(count_payload_txs(owner_addr, ARB_NAMEOP_NAME_REGISTER), 1);
    after = total(wa);
    CHECK(after < before && before - after >= PRICE && before - after < PRICE + 10000);
}

/* ---- the rest of the life cycle ---- */

static void life_cycle(void)
{
    json_t *j = NULL, *a;
    char zf2[700], zh2[65];
    const char *zone2 = "$ORIGIN alice." NS "\n@ IN A 192.0.2.2\n";
    uint64_t before;
    long h;
    size_t i;
    int found = 0;

    /* list --json: Alice's name, with its expiry. */
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "list")) == 0);
    json_array_foreach(j ? json_object_get(j, "names") : NULL, i, a)
        if (strcmp(jstr(a, "name"), "alice." NS) == 0)
            found = json_is_integer(json_object_get(a, "expires_at"));
    CHECK(found);
    json_decref(j);

    /* update with a new zone file. */
    snprintf(zf2, sizeof(zf2), "%s/alice2.zone", g_dir);
    CHECK(write_file(zf2, zone2));
    sha_hex(zh2, zone2);
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "update", "alice." NS, "--zonefile", zf2)) == 0);
    CHECK(j != NULL && strcmp(jstr(j, "op"), "name-update") == 0);
    json_decref(j);
    CHECK(mine(1));
    j = lookup("alice." NS);
    CHECK(j != NULL && strcmp(jstr(j, "zonefile_hash"), zh2) == 0);
    CHECK(j != NULL && json_array_size(json_object_get(j, "history")) == 2);
    /* Until the new file is uploaded the name shows no text, never the old one. */
    CHECK(j != NULL && json_is_null(json_object_get(j, "zonefile")));
    json_decref(j);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "upload", "alice." NS, "--zonefile", zf2)) == 0);
    j = lookup("alice." NS);
    CHECK(j != NULL && json_is_string(json_object_get(j, "zonefile")) &&
          strcmp(jstr(j, "zonefile"), zone2) == 0);
    json_decref(j);

    /* renew: a new lease from the renewal's block, the price burned. */
    before = total(wa);
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "renew", "alice." NS)) == 0);
    CHECK(j != NULL && json_integer_value(json_object_get(j, "burn")) == (json_int_t)PRICE);
    json_decref(j);
    CHECK(mine(1));
    h = tip();
    j = lookup("alice." NS);
    CHECK(j != NULL && json_integer_value(json_object_get(j, "renewed_height")) == h &&
          json_integer_value(json_object_get(j, "expires_at")) == h + 30);
    json_decref(j);
    CHECK(before - total(wa) >= PRICE && before - total(wa) < PRICE + 5000);

    /* Expiry: 30 blocks later it is in its grace period: warned, no
     * update, but its owner may renew. */
    CHECK(mine(30));
    j = lookup("alice." NS);
    CHECK(j != NULL && strcmp(jstr(j, "status"), "grace") == 0);
    json_decref(j);
    CHECK(strstr(g_err, "grace period") != NULL);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "update", "alice." NS, "--zonefile", zf2)) ==
          1);
    CHECK(strstr(g_err, "name-expired") != NULL);
    CHECK(wallet(&j, ARGS("--wallet", wa, "name", "list")) == 0);
    found = 0;
    json_array_foreach(j ? json_object_get(j, "names") : NULL, i, a)
        if (strcmp(jstr(a, "name"), "alice." NS) == 0)
            found = json_is_true(json_object_get(a, "expiry_warning"));
    CHECK(found);
    json_decref(j);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "renew", "alice." NS, "--mine")) == 0);
    j = lookup("alice." NS);
    CHECK(j != NULL && strcmp(jstr(j, "status"), "active") == 0);
    json_decref(j);

    /* transfer to Bob's mining address (where he has coins to act with). */
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "transfer", "alice." NS, g_bob,
                            "--keep-zonefile")) == 0);
    CHECK(mine(1));
    j = lookup("alice." NS);
    CHECK(j != NULL && strcmp(jstr(j, "address"), g_bob) == 0 &&
          strcmp(jstr(j, "zonefile_hash"), zh2) == 0);
    json_decref(j);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "revoke", "alice." NS)) == 1);
    CHECK(strstr(g_err, "name-not-owner") != NULL);
    /* Bob revokes it. */
    CHECK(wallet(&j, ARGS("--wallet", wb, "name", "revoke", "alice." NS, "--mine")) == 0);
    json_decref(j);
    j = lookup("alice." NS);
    CHECK(j != NULL && strcmp(jstr(j, "status"), "revoked") == 0);
    json_decref(j);
    CHECK(wallet(NULL, ARGS("--wallet", wb, "name", "update", "alice." NS, "--zonefile", zf2)) ==
          1);
    CHECK(strstr(g_err, "name-revoked") != NULL);
    /* Usage errors. */
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "register", "Bad.Name")) == 2);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "frobnicate")) == 2);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "name", "lookup", "nobody." NS)) == 1);
}

static void session(void)
{
    static const char *const regtest[] = {"--network", "regtest", NULL};
    json_t *j = NULL;
    char datadir[700];

    snprintf(datadir, sizeof(datadir), "%s/node", g_dir);
    g_arbord_p = arb_proc_start_arbord(g_arbord, datadir, regtest, 30000, &g_port);
    CHECK(g_arbord_p != NULL);
    CHECK(g_port > 0);
    snprintf(g_node, sizeof(g_node), "http://127.0.0.1:%d", g_port);
    snprintf(wa, sizeof(wa), "%s/alice.wallet", g_dir);
    snprintf(wb, sizeof(wb), "%s/bob.wallet", g_dir);
    snprintf(wm, sizeof(wm), "%s/miner.wallet", g_dir);
    snprintf(wo, sizeof(wo), "%s/operator.wallet", g_dir);
    CHECK(wallet(NULL, ARGS("--wallet", wm, "--scrypt-log2n", "2", "create")) == 0);
    CHECK(wallet(&j, ARGS("--wallet", wm, "address")) == 0);
    snprintf(g_miner, sizeof(g_miner), "%s", j ? jstr(j, "address") : "");
    json_decref(j);
    CHECK(wallet(NULL, ARGS("--wallet", wb, "--scrypt-log2n", "2", "create")) == 0);
    CHECK(wallet(&j, ARGS("--wallet", wb, "address")) == 0);
    snprintf(g_bob, sizeof(g_bob), "%s", j ? jstr(j, "address") : "");
    json_decref(j);
    CHECK(wallet(NULL, ARGS("--wallet", wb, "mine", "--blocks", "5", "--address", g_bob)) == 0);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "--scrypt-log2n", "2", "create")) == 0);
    CHECK(wallet(NULL, ARGS("--wallet", wa, "mine", "--blocks", "3")) == 0);
    launch_namespace();
    /* Bob's and Alice's coinbases are mature by now (101 blocks of the
     * operator's and more). */
    register_killed();
    life_cycle();
    arb_proc_kill(g_arbord_p, SIGTERM);
    CHECK(arb_proc_wait(g_arbord_p, 30000) == 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CHECK_OR(arb_test_bin(g_arbord, sizeof(g_arbord), "arbord") != NULL &&
                 arb_test_bin(g_wallet_bin, sizeof(g_wallet_bin), "arbor-wallet") != NULL,
             1);
    CHECK_OR(arb_test_tmpdir(g_dir, sizeof(g_dir)) == 0, 1);
    setenv("ARBOR_PASSPHRASE", "test passphrase", 1);
    session();
    arb_proc_free(g_arbord_p);
    arb_test_rmtree(g_dir);
    return arb_test_done();
}
