/* arbor-wallet as a program: create, address, show, export-xpub, restore,
 * passphrase sources, exit statuses (0 ok, 1 failure, 2 usage). Addresses the
 * program prints are checked against the library's derivation from the
 * printed mnemonic. */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "ledger/chain/header.h"
#include "ledger/chain/params.h"
#include "ledger/chain/schnorr.h"
#include "ledger/chain/tx.h"
#include "merkle/buf.h"
#include "tests/test.h"
#include "wallet/address.h"
#include "wallet/bip32.h"
#include "wallet/bip39.h"
#include "wallet/wallet.h"

static char g_bin[PATH_MAX], g_dir[512], g_out[16384];

/* Runs arbor-wallet with args (NULL-terminated); pass (if non-NULL) goes in
 * ARBOR_PASSPHRASE; in (if non-NULL) is written to stdin. Captures stdout
 * into g_out and returns the exit status (or -1). */
static int run(const char *pass, const char *in, const char *const *args)
{
    int inp[2], outp[2], status = 0;
    size_t n = 0;
    ssize_t r;
    pid_t pid;

    if (pipe(inp) != 0 || pipe(outp) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *argv[32];
        int i = 0;
        argv[i++] = g_bin;
        for (; *args != NULL && i < 31; args++)
            argv[i++] = *args;
        argv[i] = NULL;
        dup2(inp[0], 0);
        dup2(outp[1], 1);
        close(inp[1]);
        close(outp[0]);
        if (chdir(g_dir) != 0)
            _exit(99);
        if (pass != NULL)
            setenv("ARBOR_PASSPHRASE", pass, 1);
        else
            unsetenv("ARBOR_PASSPHRASE");
        /* No controlling terminal: a prompt must fail instead of hanging. */
        setsid();
        execv(g_bin, (char *const *)argv);
        _exit(98);
    }
    close(inp[0]);
    close(outp[1]);
    if (in != NULL && write(inp[1], in, strlen(in)) != (ssize_t)strlen(in))
        n = 0;
    close(inp[1]);
    while ((r = read(outp[0], g_out + n, sizeof(g_out) - 1 - n)) > 0)
        n += (size_t)r;
    g_out[n] = '\0';
    close(outp[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static char *slurp(const char *name, size_t *len)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    return (char *)arb_test_read_file(path, len);
}

/* The library's address at receive index i for a mnemonic and BIP39 passphrase. */
static int lib_address_pp(char *out, const char *mnemonic, const char *pp, const char *network,
                          uint32_t i)
{
    arb_keyctx *ctx = NULL;
    arb_wallet_secret s;
    arb_bip32_key acct;
    arb_errbuf eb;
    int ok = arb_keyctx_new(&ctx) == ARB_OK &&
             arb_wallet_secret_from_mnemonic(&s, mnemonic, pp, &eb) == ARB_OK &&
             arb_wallet_account(ctx, &acct, &s, network, &eb) == ARB_OK &&
             arb_wallet_address_at(ctx, out, ARB_ADDR_MAX, NULL, &acct, network, 0, i) ==
                 ARB_OK;
    arb_keyctx_free(ctx);
    return ok;
}

static int lib_address(char *out, const char *mnemonic, const char *network, uint32_t i)
{
    return lib_address_pp(out, mnemonic, "", network, i);
}

static void test_create_and_address(void)
{
    json_t *j;
    json_error_t jerr;
    char mnemonic[ARB_BIP39_MNEMONIC_MAX], want[ARB_ADDR_MAX];
    uint8_t ent[32];
    size_t el = 0, blen = 0, alen = 0;
    char *before, *after;
    struct stat st;
    char path[700];

    CHECK_EQ(run("s3cret pass", NULL,
                 ARGS("--wallet", "w.json", "--network", "regtest", "--scrypt-log2n", "4", "--json",
                      "create")),
             0);
    j = json_loads(g_out, 0, &jerr);
    CHECK(j != NULL);
    snprintf(mnemonic, sizeof(mnemonic), "%s", json_string_value(json_object_get(j, "mnemonic")));
    CHECK_EQ(arb_bip39_to_entropy(ent, &el, mnemonic, NULL), ARB_OK);
    CHECK_EQ(el, 32);
    CHECK(lib_address(want, mnemonic, "regtest", 0));
    CHECK_STR(json_string_value(json_object_get(j, "address")), want);
    CHECK_STR(json_string_value(json_object_get(j, "network")), "regtest");
    json_decref(j);
    snprintf(path, sizeof(path), "%s/w.json", g_dir);
    CHECK(stat(path, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);

    /* The next addresses, in order. */
    CHECK_EQ(run("s3cret pass", NULL, ARGS("--wallet", "w.json", "address")), 0);
    CHECK(lib_address(want, mnemonic, "regtest", 1));
    CHECK(strncmp(g_out, want, strlen(want)) == 0 && g_out[strlen(want)] == '\n');
    CHECK_EQ(run("s3cret pass", NULL, ARGS("address", "--wallet", "w.json", "--json")), 0);
    j = json_loads(g_out, 0, &jerr);
    CHECK(j != NULL);
    CHECK(lib_address(want, mnemonic, "regtest", 2));
    CHECK_STR(json_string_value(json_object_get(j, "address")), want);
    CHECK_EQ(json_integer_value(json_object_get(j, "index")), 2);
    CHECK_STR(json_string_value(json_object_get(j, "path")), "m/86'/1'/0'/0/2");
    json_decref(j);

    /* show lists them; export-xpub gives a tpub that derives the same address. */
    CHECK_EQ(run("s3cret pass", NULL, ARGS("--wallet", "w.json", "--json", "show")), 0);
    j = json_loads(g_out, 0, &jerr);
    CHECK(j != NULL);
    CHECK_EQ(json_array_size(json_object_get(j, "receive_addresses")), 3);
    CHECK_STR(json_string_value(json_array_get(json_object_get(j, "receive_addresses"), 2)), want);
    json_decref(j);
    CHECK_EQ(run("s3cret pass", NULL, ARGS("--wallet", "w.json", "export-xpub")), 0);
    {
        arb_keyctx *ctx = NULL;
        arb_bip32_key pub;
        arb_bip32_net net;
        char a[ARB_ADDR_MAX];
        arb_errbuf eb;
        g_out[strcspn(g_out, "\n")] = '\0';
        CHECK(strncmp(g_out, "tpub", 4) == 0);
        CHECK_EQ(arb_keyctx_new(&ctx), ARB_OK);
        CHECK_EQ(arb_bip32_decode(ctx, &pub, &net, g_out, &eb), ARB_OK);
        CHECK(!pub.is_private && net == ARB_BIP32_TESTNET && pub.depth == 3);
        CHECK_EQ(arb_wallet_address_at(ctx, a, sizeof(a), NULL, &pub, "regtest", 0, 2), ARB_OK);
        CHECK_STR(a, want);
        arb_keyctx_free(ctx);
    }

    /* A wrong passphrase fails with status 1 and changes nothing. */
    before = slurp("w.json", &blen);
    CHECK(before != NULL);
    CHECK_EQ(run("wrong pass", NULL, ARGS("--wallet", "w.json", "address")), 1);
    CHECK_EQ(run("", NULL, ARGS("--wallet", "w.json", "address")), 1);
    /* No passphrase and no terminal: status 1. */
    CHECK_EQ(run(NULL, NULL, ARGS("--wallet", "w.json", "address")), 1);
    /* A wallet for another network. */
    CHECK_EQ(run("s3cret pass", NULL, ARGS("--wallet", "w.json", "--network", "main", "address")),
             1);
    /* create never overwrites. */
    CHECK_EQ(run("s3cret pass", NULL,
                 ARGS("--wallet", "w.json", "--scrypt-log2n", "4", "create")),
             1);
    after = slurp("w.json", &alen);
    CHECK(after != NULL && alen == blen && memcmp(before, after, blen) == 0);
    free(before);
    free(after);

    /* The passphrase from a file (first line). */
    {
        FILE *f;
        char pf[700];
        snprintf(pf, sizeof(pf), "%s/pass.txt", g_dir);
        f = fopen(pf, "w");
        CHECK(f != NULL);
        fputs("s3cret pass\nignored\n", f);
        fclose(f);
        CHECK_EQ(run("wrong", NULL,
                     ARGS("--wallet", "w.json", "--passphrase-file", "pass.txt", "address")),
                 0);
        CHECK(lib_address(want, mnemonic, "regtest", 3));
        CHECK(strncmp(g_out, want, strlen(want)) == 0);
        CHECK_EQ(run("s3cret pass", NULL,
                     ARGS("--wallet", "w.json", "--passphrase-file", "missing.txt", "address")),
                 1);
    }
}

static void test_restore(void)
{
    static const char MN[] = "legal winner thank year wave sausage worth useful legal winner "
                             "thank yellow\n";
    char want[ARB_ADDR_MAX];
    json_t *j;
    json_error_t jerr;
    struct stat st;
    char path[700];

    CHECK_EQ(run("pw-restore", MN,
                 ARGS("--wallet", "r.json", "--network", "test", "--scrypt-log2n", "4", "--json",
                      "restore")),
             0);
    j = json_loads(g_out, 0, &jerr);
    CHECK(j != NULL);
    CHECK(json_object_get(j, "mnemonic") == NULL); /* never echoed back */
    CHECK(lib_address(want, MN, "test", 0));
    CHECK_STR(json_string_value(json_object_get(j, "address")), want);
    CHECK(strncmp(want, "tarb1p", 6) == 0);
    json_decref(j);
    /* With a BIP39 passphrase from a file: other keys. */
    {
        char pf[700], plain[ARB_ADDR_MAX];
        FILE *f;
        snprintf(pf, sizeof(pf), "%s/bip39pass.txt", g_dir);
        f = fopen(pf, "w");
        CHECK(f != NULL);
        fputs("TREZOR\n", f);
        fclose(f);
        CHECK_EQ(run("pw-restore", MN,
                     ARGS("--wallet", "rp.json", "--network", "test", "--scrypt-log2n", "4",
                          "--bip39-passphrase-file", "bip39pass.txt", "--json", "restore")),
                 0);
        j = json_loads(g_out, 0, &jerr);
        CHECK(j != NULL);
        CHECK(lib_address_pp(want, MN, "TREZOR", "test", 0));
        CHECK(lib_address(plain, MN, "test", 0));
        CHECK(strcmp(want, plain) != 0);
        CHECK_STR(json_string_value(json_object_get(j, "address")), want);
        json_decref(j);
        CHECK_EQ(run("pw-restore", NULL, ARGS("--wallet", "rp.json", "--json", "show")), 0);
        CHECK(strstr(g_out, want) != NULL);
    }
    /* Bad mnemonics: status 1, no file. */
    CHECK_EQ(run("pw", "legal winner thank year wave sausage worth useful legal winner thank "
                       "yard\n",
                 ARGS("--wallet", "bad.json", "--scrypt-log2n", "4", "restore")),
             1);
    CHECK_EQ(run("pw", "not words at all\n",
                 ARGS("--wallet", "bad.json", "--scrypt-log2n", "4", "restore")),
             1);
    snprintf(path, sizeof(path), "%s/bad.json", g_dir);
    CHECK(stat(path, &st) != 0);
    /* An empty passphrase is refused for a new wallet. */
    CHECK_EQ(run("", MN, ARGS("--wallet", "bad.json", "--scrypt-log2n", "4", "restore")), 1);
    CHECK(stat(path, &st) != 0);
}

/* sign: the printed transaction decodes, pays what was asked, sends the rest
 * to the wallet's first change address, and its signature verifies against
 * the ledger's signature hash. */
static void test_sign(void)
{
    static const char MN[] = "legal winner thank year wave sausage worth useful legal winner "
                             "thank yellow\n";
    char a0[ARB_ADDR_MAX], coin[300], to[200], dest_addr[ARB_ADDR_MAX];
    uint8_t dest_key[32], key0[32], *raw = NULL, msg[32];
    size_t raw_len = 0;
    json_t *j;
    json_error_t jerr;
    arb_tx tx;
    arb_errbuf eb;
    arb_hash txid, netid;
    char txid_hex[65];
    arb_sha256 *sha = NULL;
    arb_schnorr *sch = NULL;
    arb_sighash_cache cache;
    arb_txout spent;

    CHECK_EQ(run("pw-sign", MN,
                 ARGS("--wallet", "s.json", "--network", "regtest", "--scrypt-log2n", "4",
                      "restore")),
             0);
    CHECK(lib_address(a0, MN, "regtest", 0));
    CHECK_EQ(arb_address_decode(key0, "rarb", a0, &eb), ARB_OK);
    arb_test_rand_bytes(dest_key, 32);
    CHECK(arb_address_encode(dest_addr, "rarb", dest_key));
    snprintf(coin, sizeof(coin), "%064x:3:5000000000:%s", 77u, a0);
    snprintf(to, sizeof(to), "%s:1200000000", dest_addr);
    CHECK_EQ(run("pw-sign", NULL,
                 ARGS("--wallet", "s.json", "--json", "sign", "--coin", coin, "--to", to, "--fee",
                      "1000")),
             0);
    j = json_loads(g_out, 0, &jerr);
    CHECK(j != NULL);
    CHECK_EQ(arb_hex_decode_alloc(&raw, &raw_len, json_string_value(json_object_get(j, "hex"))),
             ARB_OK);
    arb_tx_init(&tx);
    CHECK_EQ(arb_tx_decode(&tx, raw, raw_len, &eb), ARB_OK);
    free(raw);
    CHECK_EQ(tx.n_in, 1);
    CHECK_EQ(tx.in[0].index, 3);
    CHECK_EQ(tx.in[0].txid.b[0], 77); /* display hex is byte-reversed */
    CHECK_EQ(tx.n_out, 2);
    CHECK_EQ(tx.out[0].amount, 1200000000);
    CHECK_MEM(tx.out[0].key, dest_key, 32);
    CHECK_EQ(tx.out[1].amount, 5000000000ULL - 1200000000ULL - 1000);
    CHECK_EQ(json_integer_value(json_object_get(j, "change")), 5000000000LL - 1200000000LL - 1000);
    {
        uint8_t ck[32];
        CHECK_EQ(arb_address_decode(ck, "rarb",
                                    json_string_value(json_object_get(j, "change_address")), &eb),
                 ARB_OK);
        CHECK_MEM(tx.out[1].key, ck, 32);
    }
    CHECK_EQ(arb_sha256_new(&sha), ARB_OK);
    CHECK_EQ(arb_schnorr_new(&sch), ARB_OK);
    CHECK_EQ(arb_tx_txid(sha, &txid, &tx), ARB_OK);
    arb_chain_hash_hex(txid_hex, &txid);
    CHECK_STR(json_string_value(json_object_get(j, "txid")), txid_hex);
    json_decref(j);
    spent.amount = 5000000000ULL;
    memcpy(spent.key, key0, 32);
    arb_chain_network_id(arb_chain_params_get("regtest"), &netid);
    CHECK_EQ(arb_tx_sighash_prepare(sha, &cache, &tx, &spent), ARB_OK);
    arb_tx_sighash(sha, msg, &netid, &cache, 0);
    CHECK(arb_schnorr_verify(sch, tx.sig[0], msg, 32, key0));
    arb_schnorr_free(sch);
    arb_sha256_free(sha);
    arb_tx_clear(&tx);

    /* Not enough money, a coin the wallet cannot sign: failures. */
    snprintf(coin, sizeof(coin), "%064x:0:100:%s", 1u, a0);
    CHECK_EQ(run("pw-sign", NULL,
                 ARGS("--wallet", "s.json", "sign", "--coin", coin, "--to", to, "--fee", "1")),
             1);
    snprintf(coin, sizeof(coin), "%064x:0:5000000000:%s", 1u, dest_addr);
    CHECK_EQ(run("pw-sign", NULL,
                 ARGS("--wallet", "s.json", "sign", "--coin", coin, "--to", to, "--fee", "1")),
             1);
    /* Malformed arguments: usage errors. */
    CHECK_EQ(run("pw-sign", NULL, ARGS("--wallet", "s.json", "sign", "--to", to, "--fee", "1")), 2);
    CHECK_EQ(run("pw-sign", NULL,
                 ARGS("--wallet", "s.json", "sign", "--coin", "zz:0:1:x", "--to", to, "--fee",
                      "1")),
             2);
    CHECK_EQ(run("pw-sign", NULL,
                 ARGS("--wallet", "s.json", "sign", "--coin", coin, "--to", to, "--fee", "-1")),
             2);
    CHECK_EQ(run("pw-sign", NULL,
                 ARGS("--wallet", "s.json", "sign", "--coin", coin, "--to", "tarb1qqq:5", "--fee",
                      "1")),
             2);
}

/* Several processes handing out addresses at once get different addresses,
 * and the file counts all of them (the file lock serializes the
 * read-modify-write). */
static void test_concurrent_address(void)
{
    enum { K = 6 };
    pid_t pids[K];
    char addrs[K][ARB_ADDR_MAX];
    int k, m;
    json_t *j;
    json_error_t jerr;

    CHECK_EQ(run("pw-conc", NULL,
                 ARGS("--wallet", "c.json", "--network", "regtest", "--scrypt-log2n", "3",
                      "create")),
             0);
    for (k = 0; k < K; k++) {
        pids[k] = fork();
        CHECK(pids[k] >= 0);
        if (pids[k] == 0) {
            char out[64];
            int fd;
            if (chdir(g_dir) != 0)
                _exit(99);
            snprintf(out, sizeof(out), "addr%d.txt", k);
            fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0)
                _exit(99);
            dup2(fd, 1);
            setenv("ARBOR_PASSPHRASE", "pw-conc", 1);
            execl(g_bin, g_bin, "--wallet", "c.json", "address", (char *)NULL);
            _exit(98);
        }
    }
    for (k = 0; k < K; k++) {
        int status = 0;
        CHECK(waitpid(pids[k], &status, 0) == pids[k]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    for (k = 0; k < K; k++) {
        char name[64];
        size_t len = 0;
        char *txt;
        snprintf(name, sizeof(name), "addr%d.txt", k);
        txt = slurp(name, &len);
        CHECK(txt != NULL);
        txt[strcspn(txt, "\n")] = '\0';
        snprintf(addrs[k], sizeof(addrs[k]), "%s", txt);
        free(txt);
        CHECK(strncmp(addrs[k], "rarb1p", 6) == 0);
        for (m = 0; m < k; m++)
            CHECK(strcmp(addrs[k], addrs[m]) != 0);
    }
    CHECK_EQ(run("pw-conc", NULL, ARGS("--wallet", "c.json", "--json", "show")), 0);
    j = json_loads(g_out, 0, &jerr);
    CHECK(j != NULL);
    CHECK_EQ(json_integer_value(json_object_get(j, "next_receive")), K + 1);
    json_decref(j);
}

static void test_usage(void)
{
    CHECK_EQ(run("pw", NULL, ARGS("--version")), 0);
    CHECK(strncmp(g_out, "arbor-wallet ", 13) == 0);
    CHECK_EQ(run("pw", NULL, ARGS("--help")), 0);
    CHECK(strstr(g_out, "export-xpub") != NULL);
    CHECK_EQ(run("pw", NULL, ARGS("--wallet", "x.json")), 2);
    CHECK_EQ(run("pw", NULL, ARGS("--wallet", "x.json", "frobnicate")), 2);
    CHECK_EQ(run("pw", NULL, ARGS("--wallet", "x.json", "--bogus", "show")), 2);
    CHECK_EQ(run("pw", NULL, ARGS("--wallet")), 2);
    CHECK_EQ(run("pw", NULL, ARGS("--wallet", "x.json", "create", "extra")), 2);
    CHECK_EQ(run("pw", NULL, ARGS("--wallet", "x.json", "--network", "moon", "create")), 2);
    CHECK_EQ(run("pw", NULL, ARGS("--wallet", "x.json", "--scrypt-log2n", "0", "create")), 2);
    CHECK_EQ(run("pw", NULL, ARGS("--scrypt-log2n", "4", "create")), 2); /* no --wallet */
    /* A missing wallet file is a failure, not a usage error. */
    CHECK_EQ(run("pw", NULL, ARGS("--wallet", "none.json", "address")), 1);
}

int main(void)
{
    char rel[512];

    /* The program runs in the temporary directory: make its path absolute. */
    arb_test_bin(rel, sizeof(rel), "arbor-wallet");
    if (realpath(rel, g_bin) == NULL) {
        fprintf(stderr, "%s: not found\n", rel);
        return 1;
    }
    if (arb_test_tmpdir(g_dir, sizeof(g_dir)) != 0)
        return 1;
    test_create_and_address();
    test_restore();
    test_sign();
    test_concurrent_address();
    test_usage();
    arb_test_rmtree(g_dir);
    return arb_test_done();
}
