/* arbor-wallet: keys, mnemonics, the encrypted wallet file and addresses.
 *
 *   arbor-wallet [--node URL] --wallet FILE [options] COMMAND [ARGS]
 *
 * The program is argument parsing and wiring; the work is done by the
 * arb_wallet library (wallet/wallet.h, keystore.h, bip32.h, bip39.h).
 * Exit status: 0 success, 1 failure, 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "wallet/address.h"
#include "wallet/bip32.h"
#include "wallet/bip39.h"
#include "wallet/keystore.h"
#include "wallet/txbuild.h"
#include "wallet/wallet.h"
#include "ledger/chain/header.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define PASS_MAX ARB_KEYSTORE_PASS_MAX
#define MNEMONIC_INPUT_MAX 4096

typedef struct {
    const char *node;
    const char *wallet;
    const char *network;
    const char *pass_file;
    const char *bip39_pass_file;
    unsigned log2_n;
    int json;
} options;

typedef struct {
    const char *name;
    int (*handler)(const options *o, int argc, char **argv);
    const char *args;
    const char *help;
} command;

static void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void errmsg(const char *fmt, ...)
{
    va_list ap;

    fputs("arbor-wallet: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Prints a JSON object to stdout and frees it. */
static int print_json(json_t *obj)
{
    char *s;

    if (obj == NULL) {
        errmsg("out of memory");
        return EXIT_FAIL;
    }
    s = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (s == NULL) {
        errmsg("out of memory");
        return EXIT_FAIL;
    }
    puts(s);
    free(s);
    return EXIT_OK;
}

/* Strips one trailing "\n" or "\r\n". */
static void chomp(char *s)
{
    size_t n = strlen(s);

    if (n > 0 && s[n - 1] == '\n')
        s[--n] = '\0';
    if (n > 0 && s[n - 1] == '\r')
        s[--n] = '\0';
}

/* Reads the first line of a file into buf. Returns 1 or 0 (message printed). */
static int read_line_file(const char *path, char *buf, size_t size, const char *what)
{
    FILE *f = fopen(path, "r");
    int ok;

    if (f == NULL) {
        errmsg("%s: cannot open %s: %s", path, what, strerror(errno));
        return 0;
    }
    ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (!ok) {
        buf[0] = '\0'; /* an empty file is an empty line */
        return 1;
    }
    if (strchr(buf, '\n') == NULL && strlen(buf) == size - 1) {
        OPENSSL_cleanse(buf, size);
        errmsg("%s: %s too long", path, what);
        return 0;
    }
    chomp(buf);
    return 1;
}

/* Reads a line from the terminal with echo off. Returns 1, or 0 without a
 * terminal. */
static int prompt_noecho(const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    FILE *in;
    int ok, restore;

    if (fd < 0)
        return 0;
    in = fdopen(fd, "r+");
    if (in == NULL) {
        close(fd);
        return 0;
    }
    restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    fputs(prompt, in);
    fflush(in);
    ok = fgets(buf, (int)size, in) != NULL;
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    fclose(in);
    if (!ok)
        buf[0] = '\0';
    chomp(buf);
    return 1;
}

/* The wallet passphrase: --passphrase-file, then ARBOR_PASSPHRASE, then a
 * prompt on the terminal (asked twice when confirm). Returns 1 or 0. */
static int get_passphrase(const options *o, int confirm, char *buf, size_t size)
{
    const char *env = getenv("ARBOR_PASSPHRASE");

    if (o->pass_file != NULL) {
        if (!read_line_file(o->pass_file, buf, size, "passphrase"))
            return 0;
    } else if (env != NULL) {
        if (strlen(env) >= size) {
            errmsg("ARBOR_PASSPHRASE is too long");
            return 0;
        }
        memcpy(buf, env, strlen(env) + 1);
    } else {
        if (!prompt_noecho("Wallet passphrase: ", buf, size)) {
            errmsg("no passphrase: use --passphrase-file FILE, set ARBOR_PASSPHRASE, or run on "
                   "a terminal");
            return 0;
        }
        if (confirm) {
            char again[PASS_MAX + 2];
            int same;
            if (!prompt_noecho("Repeat passphrase: ", again, sizeof(again)))
                return 0;
            same = strcmp(again, buf) == 0;
            OPENSSL_cleanse(again, sizeof(again));
            if (!same) {
                OPENSSL_cleanse(buf, size);
                errmsg("the passphrases do not match");
                return 0;
            }
        }
    }
    if (confirm && buf[0] == '\0') {
        errmsg("refusing an empty passphrase: it would leave the wallet unprotected");
        return 0;
    }
    return 1;
}

static int need_wallet(const options *o)
{
    if (o->wallet == NULL) {
        errmsg("--wallet FILE is required (see --help)");
        return 0;
    }
    return 1;
}

/* Loads the wallet file and checks it against --network. With lock_fd, the
 * file stays locked (until arb_keystore_unlock) for a read-modify-write. */
static int load_wallet(const options *o, arb_keystore *ks, int *lock_fd)
{
    arb_errbuf eb = {{0}};
    arb_err err = lock_fd != NULL ? arb_keystore_load_locked(ks, lock_fd, o->wallet, &eb)
                                  : arb_keystore_load(ks, o->wallet, &eb);

    if (err != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        return 0;
    }
    if (o->network != NULL && strcmp(o->network, ks->network) != 0) {
        errmsg("%s is a %s wallet, not %s", o->wallet, ks->network, o->network);
        arb_keystore_clear(ks);
        if (lock_fd != NULL) {
            arb_keystore_unlock(*lock_fd);
            *lock_fd = -1;
        }
        return 0;
    }
    return 1;
}

/* Loads (locked if lock_fd is non-NULL), asks for the passphrase and
 * decrypts. On failure nothing is held. */
static int unlock_wallet(const options *o, arb_keystore *ks, arb_wallet_secret *s, char *pass,
                         size_t pass_size, int *lock_fd)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    if (!load_wallet(o, ks, lock_fd))
        return 0;
    if (!get_passphrase(o, 0, pass, pass_size)) {
        err = ARB_ERR_INVALID_ARG;
        goto fail;
    }
    err = arb_keystore_open(ks, pass, strlen(pass), s, &eb);
    if (err != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto fail;
    }
    return 1;
fail:
    arb_keystore_clear(ks);
    OPENSSL_cleanse(pass, pass_size);
    if (lock_fd != NULL) {
        arb_keystore_unlock(*lock_fd);
        *lock_fd = -1;
    }
    return 0;
}

static int account_xpub(const arb_keyctx *ctx, const arb_bip32_key *acct, const char *network,
                        char *out, size_t out_size)
{
    arb_bip32_key pub;
    arb_bip32_net net = strcmp(network, "main") == 0 ? ARB_BIP32_MAINNET : ARB_BIP32_TESTNET;

    return arb_bip32_neuter(ctx, &pub, acct) == ARB_OK &&
           arb_bip32_encode(out, out_size, &pub, net) == ARB_OK;
}

/* Seals and writes a new wallet for secret s, then reports. */
static int write_new_wallet(const options *o, arb_wallet_secret *s, int show_mnemonic)
{
    arb_keystore ks;
    arb_keyctx *ctx = NULL;
    arb_bip32_key acct;
    arb_errbuf eb = {{0}};
    char pass[PASS_MAX + 2], mn[ARB_BIP39_MNEMONIC_MAX], xpub[ARB_BIP32_XKEY_MAX];
    char addr[ARB_ADDR_MAX];
    const char *network = o->network ? o->network : "main";
    int rc = EXIT_FAIL;
    arb_err err;

    memset(&ks, 0, sizeof(ks));
    memset(&acct, 0, sizeof(acct));
    mn[0] = '\0';
    if (!get_passphrase(o, 1, pass, sizeof(pass)))
        goto out;
    if ((err = arb_keyctx_new(&ctx)) != ARB_OK) {
        errmsg("cannot create a key context: %s", arb_err_str(err));
        goto out;
    }
    snprintf(ks.network, sizeof(ks.network), "%s", network);
    ks.log2_n = o->log2_n;
    ks.r = 8;
    ks.p = 1;
    /* The first receive address is handed out below, so the file starts at 1. */
    ks.next_receive = 1;
    if ((err = arb_wallet_account(ctx, &acct, s, network, &eb)) != ARB_OK ||
        (err = arb_wallet_address_at(ctx, addr, sizeof(addr), NULL, &acct, network, 0, 0)) !=
            ARB_OK ||
        (err = arb_wallet_mnemonic(mn, sizeof(mn), s)) != ARB_OK) {
        errmsg("key derivation failed: %s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    if (!account_xpub(ctx, &acct, network, xpub, sizeof(xpub))) {
        errmsg("key derivation failed");
        goto out;
    }
    if ((err = arb_keystore_seal(&ks, s, pass, strlen(pass), &eb)) != ARB_OK ||
        (err = arb_keystore_save(&ks, o->wallet, 1, &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "wallet", o->wallet, "network", network,
                              "account_xpub", xpub, "address", addr);
        if (j != NULL && show_mnemonic)
            json_object_set_new(j, "mnemonic", json_string(mn));
        rc = print_json(j);
    } else {
        if (show_mnemonic) {
            printf("Write these %zu words down and keep them safe. They are the only backup of "
                   "this wallet and are not shown again:\n\n%s\n\n",
                   s->entropy_len * 3 / 4, mn);
        }
        printf("wallet:  %s (%s)\naddress: %s\n", o->wallet, network, addr);
        rc = EXIT_OK;
    }
out:
    OPENSSL_cleanse(pass, sizeof(pass));
    OPENSSL_cleanse(mn, sizeof(mn));
    arb_bip32_key_wipe(&acct);
    arb_keystore_clear(&ks);
    arb_keyctx_free(ctx);
    return rc;
}

/* The optional BIP39 passphrase (--bip39-passphrase-file). */
static int get_bip39_pass(const options *o, char *buf, size_t size)
{
    buf[0] = '\0';
    if (o->bip39_pass_file == NULL)
        return 1;
    return read_line_file(o->bip39_pass_file, buf, size, "BIP39 passphrase");
}

static int cmd_create(const options *o, int argc, char **argv)
{
    arb_wallet_secret s;
    int rc;

    (void)argv;
    if (argc != 0) {
        errmsg("create takes no arguments");
        return EXIT_USAGE;
    }
    if (!need_wallet(o))
        return EXIT_USAGE;
    memset(&s, 0, sizeof(s));
    if (!get_bip39_pass(o, s.bip39_pass, sizeof(s.bip39_pass)))
        return EXIT_FAIL;
    s.entropy_len = 32; /* 256 bits: 24 words */
    if (RAND_priv_bytes(s.entropy, 32) != 1) {
        errmsg("the random number generator failed");
        return EXIT_FAIL;
    }
    rc = write_new_wallet(o, &s, 1);
    arb_wallet_secret_wipe(&s);
    return rc;
}

static int cmd_restore(const options *o, int argc, char **argv)
{
    arb_wallet_secret s;
    arb_errbuf eb = {{0}};
    char *input = NULL, bip39_pass[PASS_MAX + 2];
    size_t n = 0;
    arb_err err;
    int rc = EXIT_FAIL;

    (void)argv;
    if (argc != 0) {
        errmsg("restore takes no arguments (the mnemonic is read from standard input)");
        return EXIT_USAGE;
    }
    if (!need_wallet(o))
        return EXIT_USAGE;
    input = calloc(1, MNEMONIC_INPUT_MAX + 1);
    if (input == NULL)
        return EXIT_FAIL;
    if (isatty(STDIN_FILENO)) {
        if (!prompt_noecho("Mnemonic: ", input, MNEMONIC_INPUT_MAX + 1))
            goto out;
    } else {
        size_t r;
        while ((r = fread(input + n, 1, MNEMONIC_INPUT_MAX - n, stdin)) > 0)
            n += r;
        if (n == MNEMONIC_INPUT_MAX) {
            errmsg("mnemonic input too long");
            goto out;
        }
        input[n] = '\0';
    }
    if (!get_bip39_pass(o, bip39_pass, sizeof(bip39_pass)))
        goto out;
    err = arb_wallet_secret_from_mnemonic(&s, input, bip39_pass, &eb);
    OPENSSL_cleanse(bip39_pass, sizeof(bip39_pass));
    if (err != ARB_OK) {
        errmsg("invalid mnemonic: %s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    rc = write_new_wallet(o, &s, 0);
    arb_wallet_secret_wipe(&s);
out:
    OPENSSL_cleanse(input, MNEMONIC_INPUT_MAX + 1);
    free(input);
    return rc;
}

static int cmd_address(const options *o, int argc, char **argv)
{
    arb_keystore ks;
    arb_wallet_secret s;
    arb_keyctx *ctx = NULL;
    arb_bip32_key acct;
    arb_errbuf eb = {{0}};
    char pass[PASS_MAX + 2], addr[ARB_ADDR_MAX];
    uint32_t index;
    int rc = EXIT_FAIL, lock_fd = -1;
    arb_err err;

    (void)argv;
    if (argc != 0) {
        errmsg("address takes no arguments");
        return EXIT_USAGE;
    }
    if (!need_wallet(o))
        return EXIT_USAGE;
    memset(&acct, 0, sizeof(acct));
    if (!unlock_wallet(o, &ks, &s, pass, sizeof(pass), &lock_fd))
        return EXIT_FAIL;
    index = ks.next_receive;
    if (index >= ARB_BIP32_HARDENED - 1) {
        errmsg("no receive addresses left");
        goto out;
    }
    if ((err = arb_keyctx_new(&ctx)) != ARB_OK ||
        (err = arb_wallet_account(ctx, &acct, &s, ks.network, &eb)) != ARB_OK) {
        errmsg("key derivation failed: %s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    /* BIP32: an index whose key would be invalid (probability below 2^-127)
     * is skipped. */
    while ((err = arb_wallet_address_at(ctx, addr, sizeof(addr), NULL, &acct, ks.network, 0,
                                        index)) == ARB_ERR_VERIFY &&
           index < ARB_BIP32_HARDENED - 2)
        index++;
    if (err != ARB_OK) {
        errmsg("key derivation failed: %s", arb_err_str(err));
        goto out;
    }
    /* Record the index before handing the address out. */
    ks.next_receive = index + 1;
    if ((err = arb_keystore_seal(&ks, &s, pass, strlen(pass), &eb)) != ARB_OK ||
        (err = arb_keystore_save(&ks, o->wallet, 0, &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    if (o->json) {
        char path[64];
        snprintf(path, sizeof(path), "m/86'/%ld'/0'/0/%u", arb_wallet_coin_type(ks.network),
                 (unsigned)index);
        rc = print_json(json_pack("{s:s, s:i, s:s}", "address", addr, "index", (int)index,
                                  "path", path));
    } else {
        puts(addr);
        rc = EXIT_OK;
    }
out:
    arb_keystore_unlock(lock_fd);
    OPENSSL_cleanse(pass, sizeof(pass));
    arb_wallet_secret_wipe(&s);
    arb_bip32_key_wipe(&acct);
    arb_keystore_clear(&ks);
    arb_keyctx_free(ctx);
    return rc;
}

/* show and export-xpub share the unlock and the account key. */
static int show_common(const options *o, int argc, int xpub_only)
{
    arb_keystore ks;
    arb_wallet_secret s;
    arb_keyctx *ctx = NULL;
    arb_bip32_key acct;
    arb_errbuf eb = {{0}};
    char pass[PASS_MAX + 2], xpub[ARB_BIP32_XKEY_MAX];
    json_t *addrs = NULL;
    int rc = EXIT_FAIL;
    uint32_t i;
    arb_err err;

    if (argc != 0) {
        errmsg("%s takes no arguments", xpub_only ? "export-xpub" : "show");
        return EXIT_USAGE;
    }
    if (!need_wallet(o))
        return EXIT_USAGE;
    memset(&acct, 0, sizeof(acct));
    if (!unlock_wallet(o, &ks, &s, pass, sizeof(pass), NULL))
        return EXIT_FAIL;
    if ((err = arb_keyctx_new(&ctx)) != ARB_OK ||
        (err = arb_wallet_account(ctx, &acct, &s, ks.network, &eb)) != ARB_OK ||
        !account_xpub(ctx, &acct, ks.network, xpub, sizeof(xpub))) {
        errmsg("key derivation failed: %s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    if (xpub_only) {
        if (o->json)
            rc = print_json(json_pack("{s:s, s:s}", "network", ks.network, "account_xpub", xpub));
        else {
            puts(xpub);
            rc = EXIT_OK;
        }
        goto out;
    }
    addrs = json_array();
    if (addrs == NULL)
        goto out;
    for (i = 0; i < ks.next_receive && i < 1000; i++) {
        char addr[ARB_ADDR_MAX];
        if (arb_wallet_address_at(ctx, addr, sizeof(addr), NULL, &acct, ks.network, 0, i) !=
            ARB_OK) {
            errmsg("key derivation failed");
            goto out;
        }
        json_array_append_new(addrs, json_string(addr));
    }
    if (o->json) {
        char path[64];
        snprintf(path, sizeof(path), "m/86'/%ld'/0'", arb_wallet_coin_type(ks.network));
        rc = print_json(json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:O}", "wallet", o->wallet,
                                  "network", ks.network, "account_path", path, "account_xpub",
                                  xpub, "words", (int)(s.entropy_len * 3 / 4), "next_receive",
                                  (int)ks.next_receive, "next_change", (int)ks.next_change,
                                  "receive_addresses", addrs));
    } else {
        size_t k;
        json_t *v;
        printf("wallet:        %s\nnetwork:       %s\naccount path:  m/86'/%ld'/0'\n"
               "account xpub:  %s\nmnemonic:      %zu words%s\nscrypt:        N=2^%u r=%u p=%u\n"
               "receive addresses (%u):\n",
               o->wallet, ks.network, arb_wallet_coin_type(ks.network), xpub,
               s.entropy_len * 3 / 4, s.bip39_pass[0] ? " + BIP39 passphrase" : "", ks.log2_n,
               (unsigned)ks.r, (unsigned)ks.p, (unsigned)ks.next_receive);
        json_array_foreach(addrs, k, v) printf("  %zu  %s\n", k, json_string_value(v));
        rc = EXIT_OK;
    }
out:
    json_decref(addrs);
    OPENSSL_cleanse(pass, sizeof(pass));
    arb_wallet_secret_wipe(&s);
    arb_bip32_key_wipe(&acct);
    arb_keystore_clear(&ks);
    arb_keyctx_free(ctx);
    return rc;
}

static int cmd_show(const options *o, int argc, char **argv)
{
    (void)argv;
    return show_common(o, argc, 0);
}

static int cmd_export_xpub(const options *o, int argc, char **argv)
{
    (void)argv;
    return show_common(o, argc, 1);
}

/* Coins the wallet may own: receive and change indices up to this many past
 * the next unused ones. */
#define SCAN_GAP 20

/* Parses a decimal amount in base units. */
static int parse_amount(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (ARB_MAX_MONEY - (uint64_t)(*s - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

/* "TXID:INDEX:AMOUNT:ADDRESS" */
static int parse_coin(const char *arg, const char *hrp, arb_wallet_coin *c)
{
    char buf[256], *f[4], *p;
    int n = 0;
    unsigned long idx;
    arb_errbuf eb;

    if (strlen(arg) >= sizeof(buf))
        return 0;
    memcpy(buf, arg, strlen(arg) + 1);
    for (p = buf; n < 4; n++) {
        f[n] = p;
        p = strchr(p, ':');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    if (n != 3 || strlen(f[1]) == 0 || strlen(f[1]) > 10 ||
        strspn(f[1], "0123456789") != strlen(f[1]))
        return 0;
    idx = strtoul(f[1], NULL, 10);
    if (idx > 0xffffffffUL)
        return 0;
    c->prev.index = (uint32_t)idx;
    return arb_chain_hash_from_hex(&c->prev.txid, f[0]) && parse_amount(f[2], &c->spent.amount) &&
           arb_address_decode(c->spent.key, hrp, f[3], &eb) == ARB_OK;
}

/* "ADDRESS:AMOUNT" */
static int parse_dest(const char *arg, const char *hrp, arb_txout *d)
{
    char buf[200], *colon;
    arb_errbuf eb;

    if (strlen(arg) >= sizeof(buf))
        return 0;
    memcpy(buf, arg, strlen(arg) + 1);
    colon = strrchr(buf, ':');
    if (colon == NULL)
        return 0;
    *colon = '\0';
    return parse_amount(colon + 1, &d->amount) && d->amount > 0 &&
           arb_address_decode(d->key, hrp, buf, &eb) == ARB_OK;
}

static int cmd_sign(const options *o, int argc, char **argv)
{
    arb_wallet_coin *coins = NULL;
    arb_txout *dests = NULL;
    size_t n_coins = 0, n_dests = 0;
    uint64_t fee = 0, change = 0;
    int have_fee = 0, i, rc = EXIT_FAIL, lock_fd = -1;
    arb_keystore ks;
    arb_wallet_secret s;
    arb_keyctx *ctx = NULL;
    arb_bip32_key acct;
    arb_errbuf eb = {{0}};
    char pass[PASS_MAX + 2], change_addr[ARB_ADDR_MAX], txid_hex[65];
    uint8_t change_key[32];
    const char *hrp;
    arb_tx tx;
    arb_buf raw = ARB_BUF_INIT;
    arb_err err;

    if (!need_wallet(o))
        return EXIT_USAGE;
    coins = calloc((size_t)argc + 1, sizeof(*coins));
    dests = calloc((size_t)argc + 1, sizeof(*dests));
    if (coins == NULL || dests == NULL) {
        free(coins);
        free(dests);
        return EXIT_FAIL;
    }
    memset(&acct, 0, sizeof(acct));
    arb_tx_init(&tx);
    /* The network (and so the address prefix) comes from the file. */
    if (!load_wallet(o, &ks, NULL)) {
        free(coins);
        free(dests);
        return EXIT_FAIL;
    }
    hrp = arb_wallet_network_hrp(ks.network);
    arb_keystore_clear(&ks);
    for (i = 0; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc || (strcmp(opt, "--coin") != 0 && strcmp(opt, "--to") != 0 &&
                              strcmp(opt, "--fee") != 0)) {
            errmsg("sign: expected --coin TXID:INDEX:AMOUNT:ADDRESS, --to ADDRESS:AMOUNT or "
                   "--fee AMOUNT, got \"%s\"", opt);
            rc = EXIT_USAGE;
            goto out;
        }
        i++;
        if (strcmp(opt, "--coin") == 0 && !parse_coin(argv[i], hrp, &coins[n_coins++])) {
            errmsg("sign: bad --coin \"%s\" (TXID:INDEX:AMOUNT:ADDRESS, amounts in base units, "
                   "addresses of this wallet's network)", argv[i]);
            rc = EXIT_USAGE;
            goto out;
        }
        if (strcmp(opt, "--to") == 0 && !parse_dest(argv[i], hrp, &dests[n_dests++])) {
            errmsg("sign: bad --to \"%s\" (ADDRESS:AMOUNT, amount in base units > 0)", argv[i]);
            rc = EXIT_USAGE;
            goto out;
        }
        if (strcmp(opt, "--fee") == 0) {
            if (!parse_amount(argv[i], &fee)) {
                errmsg("sign: bad --fee \"%s\"", argv[i]);
                rc = EXIT_USAGE;
                goto out;
            }
            have_fee = 1;
        }
    }
    if (n_coins == 0 || n_dests == 0 || !have_fee) {
        errmsg("sign needs at least one --coin, one --to and --fee");
        rc = EXIT_USAGE;
        goto out;
    }
    if (!unlock_wallet(o, &ks, &s, pass, sizeof(pass), &lock_fd))
        goto out;
    if ((err = arb_keyctx_new(&ctx)) != ARB_OK ||
        (err = arb_wallet_account(ctx, &acct, &s, ks.network, &eb)) != ARB_OK ||
        (err = arb_wallet_address_at(ctx, change_addr, sizeof(change_addr), change_key, &acct,
                                     ks.network, 1, ks.next_change)) != ARB_OK) {
        errmsg("key derivation failed: %s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out_locked;
    }
    if ((err = arb_wallet_tx_build(&tx, &change, coins, n_coins, dests, n_dests, fee, change_key,
                                   &eb)) != ARB_OK ||
        (err = arb_wallet_tx_sign(ctx, &tx, &acct, ks.network, coins, n_coins,
                                  ks.next_receive + SCAN_GAP, ks.next_change + SCAN_GAP, &eb)) !=
            ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out_locked;
    }
    /* A change output uses up its change index: record it first. */
    if (change > 0) {
        ks.next_change++;
        if ((err = arb_keystore_seal(&ks, &s, pass, strlen(pass), &eb)) != ARB_OK ||
            (err = arb_keystore_save(&ks, o->wallet, 0, &eb)) != ARB_OK) {
            errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
            goto out_locked;
        }
    }
    {
        arb_sha256 *sha = NULL;
        arb_hash txid;
        char *hex;
        arb_tx_write(&raw, &tx, 1);
        if (raw.oom || arb_sha256_new(&sha) != ARB_OK || arb_tx_txid(sha, &txid, &tx) != ARB_OK) {
            arb_sha256_free(sha);
            errmsg("out of memory");
            goto out_locked;
        }
        arb_sha256_free(sha);
        arb_chain_hash_hex(txid_hex, &txid);
        hex = malloc(2 * raw.len + 1);
        if (hex == NULL)
            goto out_locked;
        arb_hex_encode(hex, raw.data, raw.len);
        if (o->json) {
            json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "txid", txid_hex, "hex", hex, "fee",
                                  (json_int_t)fee, "change", (json_int_t)change);
            if (j != NULL && change > 0)
                json_object_set_new(j, "change_address", json_string(change_addr));
            rc = print_json(j);
        } else {
            printf("txid %s\n%s\n", txid_hex, hex);
            rc = EXIT_OK;
        }
        free(hex);
    }
out_locked:
    arb_keystore_unlock(lock_fd);
    OPENSSL_cleanse(pass, sizeof(pass));
    arb_wallet_secret_wipe(&s);
    arb_keystore_clear(&ks);
out:
    arb_buf_free(&raw);
    arb_tx_clear(&tx);
    arb_bip32_key_wipe(&acct);
    arb_keyctx_free(ctx);
    free(coins);
    free(dests);
    return rc;
}

static const command COMMANDS[] = {
    {"create", cmd_create, "",
     "create a new wallet (24-word mnemonic, printed once) and show its first address"},
    {"restore", cmd_restore, "", "create a wallet from a mnemonic read from standard input"},
    {"address", cmd_address, "", "hand out the next receive address"},
    {"show", cmd_show, "", "show the wallet's network, account key and addresses"},
    {"export-xpub", cmd_export_xpub, "", "print the account's extended public key"},
    {"sign", cmd_sign, "--coin TXID:INDEX:AMOUNT:ADDRESS... --to ADDRESS:AMOUNT... --fee AMOUNT",
     "build and sign a payment from the given coins (offline; amounts in base units)"},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f,
            "usage: arbor-wallet [--node URL] --wallet FILE [options] COMMAND [ARGS]\n"
            "\n"
            "commands:\n");
    for (i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        fprintf(f, "  %-12s %s%s%s\n", COMMANDS[i].name, COMMANDS[i].help,
                COMMANDS[i].args[0] ? "\n               " : "", COMMANDS[i].args);
    fprintf(f,
            "\n"
            "options:\n"
            "  --wallet FILE              the encrypted wallet file\n"
            "  --node URL                 arbord's HTTP API (for commands that use the node)\n"
            "  --network NAME             main, test or regtest (for create/restore; default "
            "main)\n"
            "  --passphrase-file FILE     read the wallet passphrase from the first line of "
            "FILE\n"
            "  --bip39-passphrase-file FILE  optional BIP39 passphrase (create/restore; ASCII)\n"
            "  --scrypt-log2n N           scrypt cost 2^N for new files (1..20, default 15;\n"
            "                             small values are for tests only)\n"
            "  --json                     machine-readable output\n"
            "  --help, --version\n"
            "\n"
            "The passphrase comes from --passphrase-file, else the environment variable\n"
            "ARBOR_PASSPHRASE, else a prompt on the terminal.\n"
            "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

/* Options may come before or after the command. */
int main(int argc, char **argv)
{
    options o = {NULL, NULL, NULL, NULL, NULL, ARB_KEYSTORE_LOG2N_DEFAULT, 0};
    char **rest;
    int nrest = 0, i;
    const command *cmd = NULL;
    int rc;

    rest = calloc((size_t)argc + 1, sizeof(char *));
    if (rest == NULL)
        return EXIT_FAIL;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            free(rest);
            return EXIT_OK;
        }
        if (strcmp(a, "--version") == 0) {
            printf("arbor-wallet %s\n", ARB_VERSION);
            free(rest);
            return EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            o.json = 1;
            continue;
        }
        if (strcmp(a, "--node") == 0)
            target = &o.node;
        else if (strcmp(a, "--wallet") == 0)
            target = &o.wallet;
        else if (strcmp(a, "--network") == 0)
            target = &o.network;
        else if (strcmp(a, "--passphrase-file") == 0)
            target = &o.pass_file;
        else if (strcmp(a, "--bip39-passphrase-file") == 0)
            target = &o.bip39_pass_file;
        else if (strcmp(a, "--scrypt-log2n") == 0) {
            char *end = NULL;
            unsigned long v;
            if (i + 1 >= argc) {
                errmsg("--scrypt-log2n needs a value");
                free(rest);
                return EXIT_USAGE;
            }
            errno = 0;
            v = strtoul(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || v < 1 ||
                v > ARB_KEYSTORE_LOG2N_MAX) {
                errmsg("--scrypt-log2n must be 1..%d", ARB_KEYSTORE_LOG2N_MAX);
                free(rest);
                return EXIT_USAGE;
            }
            o.log2_n = (unsigned)v;
            continue;
        } else if (strncmp(a, "--", 2) == 0 && nrest > 0) {
            rest[nrest++] = argv[i]; /* the command's own option */
            continue;
        } else if (strncmp(a, "--", 2) == 0) {
            errmsg("unknown option %s (see --help)", a);
            free(rest);
            return EXIT_USAGE;
        } else {
            rest[nrest++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) {
            errmsg("%s needs a value", a);
            free(rest);
            return EXIT_USAGE;
        }
        *target = argv[++i];
    }
    if (nrest == 0) {
        usage(stderr);
        free(rest);
        return EXIT_USAGE;
    }
    if (o.network != NULL && arb_wallet_network_hrp(o.network) == NULL) {
        errmsg("unknown network %s (main, test or regtest)", o.network);
        free(rest);
        return EXIT_USAGE;
    }
    for (i = 0; i < (int)(sizeof(COMMANDS) / sizeof(COMMANDS[0])); i++)
        if (strcmp(rest[0], COMMANDS[i].name) == 0)
            cmd = &COMMANDS[i];
    if (cmd == NULL) {
        errmsg("unknown command %s (see --help)", rest[0]);
        free(rest);
        return EXIT_USAGE;
    }
    rc = cmd->handler(&o, nrest - 1, rest + 1);
    free(rest);
    return rc;
}
