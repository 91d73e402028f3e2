/* arbor-wallet: keys, mnemonics, the encrypted wallet file and addresses.
 *
 *   arbor-wallet [--node URL] --wallet FILE [options] COMMAND [ARGS]
 *
 * The program is argument parsing and wiring; the work is done by the
 * arb_wallet library (wallet/wallet.h, keystore.h, bip32.h, bip39.h).
 * Exit status: 0 success, 1 failure, 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "wallet/address.h"
#include "wallet/bip32.h"
#include "wallet/bip39.h"
#include "wallet/keystore.h"
#include "wallet/node.h"
#include "wallet/spend.h"
#include "wallet/txbuild.h"
#include "wallet/wallet.h"
#include "ledger/chain/header.h"
#include "ledger/chain/mine.h"

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


/* ---- Commands that talk to the node ---- */

#define NODE_TIMEOUT_MS 30000

static void print_amount(const char *label, uint64_t v)
{
    char s[ARB_AMOUNT_STR_MAX];
    arb_amount_format(s, sizeof(s), v);
    printf("%s%s\n", label, s);
}

static json_t *json_amount(uint64_t v)
{
    char s[ARB_AMOUNT_STR_MAX];
    arb_amount_format(s, sizeof(s), v);
    return json_string(s);
}

static int open_node(const options *o, arb_node **n)
{
    arb_errbuf eb = {{0}};
    const char *url = o->node != NULL ? o->node : getenv("ARBOR_NODE");
    if (url == NULL) {
        errmsg("--node URL is required (or set ARBOR_NODE)");
        return EXIT_USAGE;
    }
    if (arb_node_new(n, url, NODE_TIMEOUT_MS, &eb) != ARB_OK) {
        errmsg("%s", eb.msg);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* A wallet address found by scanning, with what the node says about it. */
typedef struct {
    uint32_t change, index;
    char addr[ARB_ADDR_MAX];
    uint8_t key[32];
    arb_node_hist *hist;
    size_t n_hist;
} scanned;

typedef struct {
    scanned *a;
    size_t n;
    uint32_t next[2]; /* first index after the last used one, per chain */
} scan_result;

static void scan_clear(scan_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->a[i].hist);
    free(r->a);
    memset(r, 0, sizeof(*r));
}

/* Gap-limit scan: derives receive and change addresses until SCAN_GAP unused
 * ones in a row (an address is used when the node has history for it);
 * keeps the used ones. Returns 1, or 0 with a message printed. */
static int scan_wallet(arb_node *node, const arb_keyctx *ctx, const arb_bip32_key *acct,
                       const char *network, scan_result *r)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    memset(r, 0, sizeof(*r));
    for (uint32_t chain = 0; chain < 2; chain++) {
        uint32_t gap = 0;
        for (uint32_t i = 0; gap < SCAN_GAP && i < ARB_BIP32_HARDENED - 1; i++) {
            scanned s;
            memset(&s, 0, sizeof(s));
            s.change = chain;
            s.index = i;
            err = arb_wallet_address_at(ctx, s.addr, sizeof(s.addr), s.key, acct, network, chain,
                                        i);
            if (err == ARB_ERR_VERIFY)
                continue; /* invalid BIP32 child: skipped */
            if (err != ARB_OK) {
                errmsg("key derivation failed: %s", arb_err_str(err));
                goto fail;
            }
            err = arb_node_get_history(node, &s.hist, &s.n_hist, s.addr, &eb);
            if (err != ARB_OK) {
                errmsg("%s", eb.msg);
                goto fail;
            }
            if (s.n_hist == 0) {
                free(s.hist);
                gap++;
                continue;
            }
            gap = 0;
            r->next[chain] = i + 1;
            {
                scanned *na = realloc(r->a, (r->n + 1) * sizeof(*na));
                if (na == NULL) {
                    free(s.hist);
                    errmsg("out of memory");
                    goto fail;
                }
                r->a = na;
                r->a[r->n++] = s;
            }
        }
    }
    return 1;
fail:
    scan_clear(r);
    return 0;
}

/* Everything a node command needs from the wallet, unlocked. */
typedef struct {
    arb_keystore ks;
    arb_wallet_secret s;
    arb_keyctx *ctx;
    arb_bip32_key acct;
    char pass[PASS_MAX + 2];
    int lock_fd;
} wallet_session;

static int session_open(const options *o, wallet_session *w)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    memset(w, 0, sizeof(*w));
    w->lock_fd = -1;
    if (!unlock_wallet(o, &w->ks, &w->s, w->pass, sizeof(w->pass), &w->lock_fd))
        return 0;
    if ((err = arb_keyctx_new(&w->ctx)) != ARB_OK ||
        (err = arb_wallet_account(w->ctx, &w->acct, &w->s, w->ks.network, &eb)) != ARB_OK) {
        errmsg("key derivation failed: %s", eb.msg[0] ? eb.msg : arb_err_str(err));
        return 0;
    }
    return 1;
}

static void session_close(wallet_session *w)
{
    arb_bip32_key_wipe(&w->acct);
    arb_keyctx_free(w->ctx);
    arb_wallet_secret_wipe(&w->s);
    arb_keystore_clear(&w->ks);
    OPENSSL_cleanse(w->pass, sizeof(w->pass));
    if (w->lock_fd >= 0)
        arb_keystore_unlock(w->lock_fd);
    w->lock_fd = -1;
}

/* Raises the keystore's indices to what the scan found, and saves. */
static int session_update_indices(const options *o, wallet_session *w, const scan_result *r)
{
    arb_errbuf eb = {{0}};
    arb_err err;

    if (r->next[0] <= w->ks.next_receive && r->next[1] <= w->ks.next_change)
        return 1;
    if (r->next[0] > w->ks.next_receive)
        w->ks.next_receive = r->next[0];
    if (r->next[1] > w->ks.next_change)
        w->ks.next_change = r->next[1];
    if ((err = arb_keystore_seal(&w->ks, &w->s, w->pass, strlen(w->pass), &eb)) != ARB_OK ||
        (err = arb_keystore_save(&w->ks, o->wallet, 0, &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        return 0;
    }
    return 1;
}

/* Opens node and wallet and scans. */
static int node_wallet_scan(const options *o, arb_node **node, wallet_session *w, scan_result *r)
{
    int rc;
    memset(r, 0, sizeof(*r));
    if (!need_wallet(o))
        return EXIT_USAGE;
    if ((rc = open_node(o, node)) != EXIT_OK)
        return rc;
    if (!session_open(o, w))
        return EXIT_FAIL;
    if (!scan_wallet(*node, w->ctx, &w->acct, w->ks.network, r) ||
        !session_update_indices(o, w, r))
        return EXIT_FAIL;
    return EXIT_OK;
}

static int cmd_balance(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    arb_node_balance sum = {0, 0, 0};
    arb_errbuf eb = {{0}};
    int rc;

    (void)argv;
    if (argc != 0) {
        errmsg("balance takes no arguments");
        return EXIT_USAGE;
    }
    memset(&w, 0, sizeof(w));
    w.lock_fd = -1;
    rc = node_wallet_scan(o, &node, &w, &r);
    if (rc != EXIT_OK)
        goto out;
    for (size_t i = 0; i < r.n; i++) {
        arb_node_balance b;
        if (arb_node_get_balance(node, &b, r.a[i].addr, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            rc = EXIT_FAIL;
            goto out;
        }
        sum.confirmed += b.confirmed;
        sum.unconfirmed += b.unconfirmed;
        sum.immature += b.immature;
    }
    if (o->json)
        rc = print_json(json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:i}", "confirmed",
                                  json_amount(sum.confirmed), "unconfirmed",
                                  json_amount(sum.unconfirmed), "immature",
                                  json_amount(sum.immature), "confirmed_units",
                                  (json_int_t)sum.confirmed, "unconfirmed_units",
                                  (json_int_t)sum.unconfirmed, "immature_units",
                                  (json_int_t)sum.immature, "addresses_used", (int)r.n));
    else {
        print_amount("confirmed:   ", sum.confirmed);
        print_amount("unconfirmed: ", sum.unconfirmed);
        print_amount("immature:    ", sum.immature);
    }
out:
    scan_clear(&r);
    session_close(&w);
    arb_node_free(node);
    return rc;
}

typedef struct {
    char txid[ARB_NODE_HASH_HEX];
    int64_t height;
    uint64_t received, sent;
} hist_row;

static int cmp_hist(const void *a, const void *b)
{
    const hist_row *x = a, *y = b;
    /* Mempool (-1) last; otherwise by height, then txid. */
    int64_t hx = x->height < 0 ? INT64_MAX : x->height, hy = y->height < 0 ? INT64_MAX : y->height;
    if (hx != hy)
        return hx < hy ? -1 : 1;
    return strcmp(x->txid, y->txid);
}

static int cmd_history(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    hist_row *rows = NULL;
    size_t n_rows = 0;
    int rc;

    (void)argv;
    if (argc != 0) {
        errmsg("history takes no arguments");
        return EXIT_USAGE;
    }
    memset(&w, 0, sizeof(w));
    w.lock_fd = -1;
    rc = node_wallet_scan(o, &node, &w, &r);
    if (rc != EXIT_OK)
        goto out;
    /* One row per transaction over all addresses. */
    for (size_t i = 0; i < r.n; i++)
        for (size_t k = 0; k < r.a[i].n_hist; k++) {
            const arb_node_hist *h = &r.a[i].hist[k];
            size_t j;
            for (j = 0; j < n_rows; j++)
                if (strcmp(rows[j].txid, h->txid) == 0)
                    break;
            if (j == n_rows) {
                hist_row *nr = realloc(rows, (n_rows + 1) * sizeof(*nr));
                if (nr == NULL) {
                    errmsg("out of memory");
                    rc = EXIT_FAIL;
                    goto out;
                }
                rows = nr;
                memset(&rows[j], 0, sizeof(rows[j]));
                memcpy(rows[j].txid, h->txid, sizeof(rows[j].txid));
                rows[j].height = h->height;
                n_rows++;
            }
            rows[j].received += h->received;
            rows[j].sent += h->sent;
        }
    if (n_rows > 0)
        qsort(rows, n_rows, sizeof(*rows), cmp_hist);
    if (o->json) {
        json_t *a = json_array();
        for (size_t j = 0; j < n_rows; j++) {
            int in = rows[j].received >= rows[j].sent;
            uint64_t net = in ? rows[j].received - rows[j].sent : rows[j].sent - rows[j].received;
            char s[ARB_AMOUNT_STR_MAX + 1];
            s[0] = in ? '+' : '-';
            arb_amount_format(s + 1, sizeof(s) - 1, net);
            json_array_append_new(
                a, json_pack("{s:s, s:I, s:b, s:o, s:o, s:s}", "txid", rows[j].txid, "height",
                             (json_int_t)rows[j].height, "confirmed", rows[j].height >= 0,
                             "received", json_amount(rows[j].received), "sent",
                             json_amount(rows[j].sent), "net", s));
        }
        rc = print_json(json_pack("{s:o}", "txs", a));
    } else {
        if (n_rows == 0)
            printf("no transactions\n");
        for (size_t j = 0; j < n_rows; j++) {
            char rs[ARB_AMOUNT_STR_MAX], ss[ARB_AMOUNT_STR_MAX], hs[24];
            arb_amount_format(rs, sizeof(rs), rows[j].received);
            arb_amount_format(ss, sizeof(ss), rows[j].sent);
            if (rows[j].height < 0)
                snprintf(hs, sizeof(hs), "unconfirmed");
            else
                snprintf(hs, sizeof(hs), "%lld", (long long)rows[j].height);
            printf("%-11s %s  +%s  -%s\n", hs, rows[j].txid, rs, ss);
        }
    }
out:
    free(rows);
    scan_clear(&r);
    session_close(&w);
    arb_node_free(node);
    return rc;
}

/* Hex of a transaction's full serialization and its txid. */
static char *tx_hex(const arb_tx *tx, char txid_hex[static 65])
{
    arb_buf raw = ARB_BUF_INIT;
    arb_sha256 *sha = NULL;
    arb_hash txid;
    char *hex = NULL;

    arb_tx_write(&raw, tx, 1);
    if (!raw.oom && arb_sha256_new(&sha) == ARB_OK && arb_tx_txid(sha, &txid, tx) == ARB_OK) {
        arb_chain_hash_hex(txid_hex, &txid);
        hex = malloc(2 * raw.len + 1);
        if (hex != NULL)
            arb_hex_encode(hex, raw.data, raw.len);
    }
    arb_sha256_free(sha);
    arb_buf_free(&raw);
    return hex;
}

/* Appends one node UTXO paying key32 to the coin and amount arrays. */
static int add_coin(arb_wallet_coin **coins, uint64_t **amounts, size_t *n,
                    const arb_node_utxo *u, const uint8_t key32[32])
{
    arb_wallet_coin *nc = realloc(*coins, (*n + 1) * sizeof(**coins));
    uint64_t *na;

    if (nc == NULL)
        return 0;
    *coins = nc;
    na = realloc(*amounts, (*n + 1) * sizeof(**amounts));
    if (na == NULL)
        return 0;
    *amounts = na;
    if (!arb_chain_hash_from_hex(&nc[*n].prev.txid, u->txid))
        return 0;
    nc[*n].prev.index = u->index;
    nc[*n].spent.amount = u->amount;
    memcpy(nc[*n].spent.key, key32, 32);
    na[*n] = u->amount;
    (*n)++;
    return 1;
}

static int cmd_send(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    size_t n_all = 0, n_conf = 0;
    arb_wallet_coin *coins = NULL, *pick = NULL;
    uint64_t *amounts = NULL, amount = 0, rate = 1, change = 0;
    arb_wallet_selection sel = {0};
    arb_txout dest;
    arb_tx tx;
    arb_errbuf eb = {{0}};
    arb_err err;
    const char *to = NULL, *amount_s = NULL, *hrp;
    char *hex = NULL, txid[65], change_addr[ARB_ADDR_MAX] = "";
    uint8_t change_key[32];
    int dry = 0, rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0)
            dry = 1;
        else if (strcmp(argv[i], "--fee-rate") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            rate = strtoull(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || argv[i][0] == '-' ||
                rate > ARB_MAX_MONEY) {
                errmsg("--fee-rate must be a whole number of units per byte");
                return EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            errmsg("send: unknown option %s", argv[i]);
            return EXIT_USAGE;
        } else if (to == NULL)
            to = argv[i];
        else if (amount_s == NULL)
            amount_s = argv[i];
        else {
            errmsg("send: too many arguments");
            return EXIT_USAGE;
        }
    }
    if (to == NULL || amount_s == NULL) {
        errmsg("usage: send ADDRESS AMOUNT [--fee-rate UNITS_PER_BYTE] [--dry-run]");
        return EXIT_USAGE;
    }
    if (!arb_amount_parse(&amount, amount_s) || amount == 0) {
        errmsg("invalid amount \"%s\" (coins with at most 8 decimals, e.g. 1.5)", amount_s);
        return EXIT_USAGE;
    }
    arb_tx_init(&tx);
    memset(&dest, 0, sizeof(dest));
    memset(&w, 0, sizeof(w));
    w.lock_fd = -1;
    rc = node_wallet_scan(o, &node, &w, &r);
    if (rc != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    hrp = arb_wallet_network_hrp(w.ks.network);
    if (arb_address_decode(dest.key, hrp, to, &eb) != ARB_OK) {
        errmsg("invalid address \"%s\" for %s: %s", to, w.ks.network, eb.msg);
        goto out;
    }
    dest.amount = amount;
    /* Spendable coins: confirmed and mature ones first; then, only if those
     * are not enough, unconfirmed outputs of this wallet's own transactions
     * (its change: nobody else can double-spend them away), which the node
     * accepts as a chain of unconfirmed transactions. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < r.n; i++) {
            arb_node_utxo *u = NULL;
            size_t nu = 0;
            if (pass == 1 && r.a[i].change != 1)
                continue;
            if (arb_node_get_utxos(node, &u, &nu, r.a[i].addr, &eb) != ARB_OK) {
                errmsg("%s", eb.msg);
                goto out;
            }
            for (size_t k = 0; k < nu; k++) {
                if (!u[k].mature || u[k].confirmed != (pass == 0))
                    continue;
                if (!add_coin(&coins, &amounts, &n_all, &u[k], r.a[i].key)) {
                    free(u);
                    errmsg("out of memory");
                    goto out;
                }
            }
            free(u);
        }
        if (pass == 0)
            n_conf = n_all;
    }
    err = arb_wallet_select_coins(&sel, amounts, n_conf, amount, rate, &eb);
    if (err == ARB_ERR_VERIFY && n_all > n_conf) {
        arb_wallet_selection_clear(&sel);
        err = arb_wallet_select_coins(&sel, amounts, n_all, amount, rate, &eb);
    }
    if (err != ARB_OK) {
        errmsg("%s", eb.msg);
        goto out;
    }
    pick = calloc(sel.n, sizeof(*pick));
    if (pick == NULL)
        goto out;
    for (size_t i = 0; i < sel.n; i++)
        pick[i] = coins[sel.idx[i]];
    /* Change goes to the next unused change address. */
    if (arb_wallet_address_at(w.ctx, change_addr, sizeof(change_addr), change_key, &w.acct,
                              w.ks.network, 1, w.ks.next_change) != ARB_OK) {
        errmsg("cannot derive a change address");
        goto out;
    }
    if ((err = arb_wallet_tx_build(&tx, &change, pick, sel.n, &dest, 1, sel.fee, change_key,
                                   &eb)) != ARB_OK ||
        (err = arb_wallet_tx_sign(w.ctx, &tx, &w.acct, w.ks.network, pick, sel.n,
                                  w.ks.next_receive + SCAN_GAP, w.ks.next_change + SCAN_GAP,
                                  &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    hex = tx_hex(&tx, txid);
    if (hex == NULL) {
        errmsg("out of memory");
        goto out;
    }
    if (!dry) {
        char node_txid[ARB_NODE_HASH_HEX];
        if (change > 0) {
            w.ks.next_change++;
            if ((err = arb_keystore_seal(&w.ks, &w.s, w.pass, strlen(w.pass), &eb)) != ARB_OK ||
                (err = arb_keystore_save(&w.ks, o->wallet, 0, &eb)) != ARB_OK) {
                errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
                goto out;
            }
        }
        if (arb_node_post_tx(node, node_txid, hex, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            goto out;
        }
    }
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:b}", "txid", txid, "to", to,
                              "amount", json_amount(amount), "fee", json_amount(sel.fee),
                              "change", json_amount(change), "size",
                              (json_int_t)arb_tx_size(&tx), "inputs", (json_int_t)sel.n, "sent",
                              !dry);
        if (change > 0)
            json_object_set_new(j, "change_address", json_string(change_addr));
        if (dry)
            json_object_set_new(j, "hex", json_string(hex));
        rc = print_json(j);
    } else {
        printf("%s %s\n", dry ? "dry run, not sent:" : "sent", txid);
        print_amount("amount: ", amount);
        print_amount("fee:    ", sel.fee);
        if (change > 0) {
            char s[ARB_AMOUNT_STR_MAX];
            arb_amount_format(s, sizeof(s), change);
            printf("change: %s to %s\n", s, change_addr);
        }
        printf("inputs: %zu, size: %zu bytes\n", sel.n, arb_tx_size(&tx));
        if (dry)
            printf("%s\n", hex);
        rc = EXIT_OK;
    }
out:
    free(hex);
    arb_tx_clear(&tx);
    arb_wallet_selection_clear(&sel);
    free(pick);
    free(coins);
    free(amounts);
    scan_clear(&r);
    session_close(&w);
    arb_node_free(node);
    return rc;
}

/* Reads a hex transaction from a file ("-": standard input). */
static char *read_hex_file(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    arb_buf b = ARB_BUF_INIT;
    char chunk[4096];
    size_t k;
    char *s;

    if (f == NULL)
        return NULL;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (32u << 20))
        arb_buf_put(&b, chunk, k);
    if (f != stdin)
        fclose(f);
    arb_buf_u8(&b, 0);
    if (b.oom) {
        arb_buf_free(&b);
        return NULL;
    }
    s = (char *)b.data;
    /* The longest line made only of hex digits: a bare hex file, or the
     * text output of `sign` ("txid ..." then the transaction). */
    {
        char *best = NULL, *line = s;
        size_t best_len = 0;
        while (*line != '\0') {
            size_t n = strcspn(line, "\r\n");
            size_t h = strspn(line, "0123456789abcdefABCDEF");
            if (h == n && n > best_len) {
                best = line;
                best_len = n;
            }
            line += n;
            line += strspn(line, "\r\n");
        }
        if (best == NULL)
            best_len = 0;
        else
            memmove(s, best, best_len);
        s[best_len] = '\0';
    }
    return s;
}

static int cmd_broadcast(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    char *hex = NULL, txid[ARB_NODE_HASH_HEX], local[65];
    uint8_t *raw = NULL;
    size_t len = 0;
    arb_tx tx;
    arb_errbuf eb = {{0}};
    int rc;

    if (argc != 1) {
        errmsg("usage: broadcast HEX|FILE");
        return EXIT_USAGE;
    }
    if (strlen(argv[0]) > 0 && strspn(argv[0], "0123456789abcdefABCDEF") == strlen(argv[0]))
        hex = strdup(argv[0]);
    else {
        hex = read_hex_file(argv[0]);
        if (hex == NULL) {
            errmsg("cannot read %s: %s", argv[0], strerror(errno));
            return EXIT_FAIL;
        }
    }
    if (hex == NULL)
        return EXIT_FAIL;
    arb_tx_init(&tx);
    /* Check locally first: a clear error for garbage, before the node. */
    if (hex[0] == '\0' || arb_hex_decode_alloc(&raw, &len, hex) != ARB_OK) {
        errmsg("not a hex transaction");
        rc = EXIT_FAIL;
        goto out;
    }
    if (arb_tx_decode(&tx, raw, len, &eb) != ARB_OK) {
        errmsg("not a valid transaction: %s", eb.msg);
        rc = EXIT_FAIL;
        goto out;
    }
    free(hex);
    hex = tx_hex(&tx, local);
    if (hex == NULL) {
        rc = EXIT_FAIL;
        goto out;
    }
    if ((rc = open_node(o, &node)) != EXIT_OK)
        goto out;
    if (arb_node_post_tx(node, txid, hex, &eb) != ARB_OK) {
        errmsg("%s", eb.msg);
        rc = EXIT_FAIL;
        goto out;
    }
    if (o->json)
        rc = print_json(json_pack("{s:s}", "txid", txid));
    else {
        printf("%s\n", txid);
        rc = EXIT_OK;
    }
out:
    free(hex);
    free(raw);
    arb_tx_clear(&tx);
    arb_node_free(node);
    return rc;
}

/* ---- mine: a CPU miner on the node's block templates ---- */

#define MINE_CHUNK 65536u

typedef struct {
    pthread_mutex_t mu;
    uint8_t header[80];    /* current work (under mu) */
    uint64_t gen;          /* bumped on new work; 0: none yet (under mu) */
    int have_work;         /* under mu */
    int found;             /* a solution for gen `found_gen` is waiting (under mu) */
    uint64_t found_gen;
    uint8_t solution[80];  /* under mu */
    atomic_uint_fast64_t hashes;
    atomic_int stop;
    unsigned threads;
} miner;

typedef struct {
    miner *m;
    unsigned id;
} miner_arg;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *miner_thread(void *p)
{
    miner_arg *a = p;
    miner *m = a->m;
    uint64_t gen = 0;
    arb_block_header h;
    uint32_t start = 0, end = 0, next = 0;

    memset(&h, 0, sizeof(h));
    while (!atomic_load(&m->stop)) {
        int have;
        pthread_mutex_lock(&m->mu);
        have = m->have_work && !m->found;
        if (have && m->gen != gen) {
            gen = m->gen;
            arb_header_decode(&h, m->header);
            /* Each thread owns a slice of the nonce space. */
            start = (uint32_t)(((uint64_t)a->id << 32) / m->threads);
            end = (uint32_t)((((uint64_t)a->id + 1) << 32) / m->threads - 1);
            next = start;
        }
        pthread_mutex_unlock(&m->mu);
        if (!have) {
            sleep_ms(5);
            continue;
        }
        {
            uint64_t left = (uint64_t)end - next + 1;
            uint64_t tries = left < MINE_CHUNK ? left : MINE_CHUNK;
            int ok = arb_chain_mine_header(&h, next, tries);
            atomic_fetch_add(&m->hashes, ok ? (uint64_t)(h.nonce - next) + 1 : tries);
            if (ok) {
                pthread_mutex_lock(&m->mu);
                if (m->gen == gen && !m->found) {
                    arb_header_encode(m->solution, &h);
                    m->found = 1;
                    m->found_gen = gen;
                }
                pthread_mutex_unlock(&m->mu);
                gen = 0; /* wait for new work */
                continue;
            }
            if (tries == left) {
                /* Slice exhausted: bump the time and start over. */
                h.time++;
                next = start;
            } else
                next += (uint32_t)tries;
        }
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The address to mine to: --address, else the wallet's next receive address
 * (recorded as handed out). */
static int mine_address(const options *o, const char *given, char *addr, size_t size)
{
    wallet_session w;
    arb_errbuf eb = {{0}};
    arb_err err;
    int ok = 0;

    if (given != NULL) {
        if (strlen(given) >= size) {
            errmsg("invalid address");
            return 0;
        }
        strcpy(addr, given);
        return 1;
    }
    if (o->wallet == NULL) {
        errmsg("mine needs --address ADDRESS or --wallet FILE");
        return 0;
    }
    if (!session_open(o, &w))
        goto out;
    while ((err = arb_wallet_address_at(w.ctx, addr, size, NULL, &w.acct, w.ks.network, 0,
                                        w.ks.next_receive)) == ARB_ERR_VERIFY)
        w.ks.next_receive++;
    if (err != ARB_OK) {
        errmsg("key derivation failed");
        goto out;
    }
    w.ks.next_receive++;
    if ((err = arb_keystore_seal(&w.ks, &w.s, w.pass, strlen(w.pass), &eb)) != ARB_OK ||
        (err = arb_keystore_save(&w.ks, o->wallet, 0, &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    ok = 1;
out:
    session_close(&w);
    return ok;
}

static int cmd_mine(const options *o, int argc, char **argv)
{
    unsigned long blocks = 1, threads = 0;
    const char *address = NULL;
    char addr[ARB_ADDR_MAX];
    arb_node *node = NULL;
    arb_node_template t = {0};
    arb_errbuf eb = {{0}};
    miner m;
    miner_arg *args = NULL;
    pthread_t *tids = NULL;
    unsigned started = 0;
    unsigned long found = 0;
    int rc, progress = !o->json && isatty(2);
    double t0, last_poll, last_show;

    for (int i = 0; i < argc; i++) {
        char *end = NULL;
        if (i + 1 >= argc) {
            errmsg("usage: mine [--blocks N] [--threads T] [--address A]");
            return EXIT_USAGE;
        }
        if (strcmp(argv[i], "--address") == 0) {
            address = argv[++i];
            continue;
        }
        errno = 0;
        if (strcmp(argv[i], "--blocks") == 0) {
            blocks = strtoul(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || blocks == 0 || blocks > 1000000) {
                errmsg("--blocks must be 1..1000000");
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--threads") == 0) {
            threads = strtoul(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || threads == 0 || threads > 1024) {
                errmsg("--threads must be 1..1024");
                return EXIT_USAGE;
            }
        } else {
            errmsg("usage: mine [--blocks N] [--threads T] [--address A]");
            return EXIT_USAGE;
        }
    }
    if (threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (unsigned long)nc : 1;
    }
    if ((rc = open_node(o, &node)) != EXIT_OK)
        return rc;
    rc = EXIT_FAIL;
    if (!mine_address(o, address, addr, sizeof(addr))) {
        arb_node_free(node);
        return EXIT_FAIL;
    }
    memset(&m, 0, sizeof(m));
    pthread_mutex_init(&m.mu, NULL);
    atomic_init(&m.hashes, 0);
    atomic_init(&m.stop, 0);
    m.threads = (unsigned)threads;
    args = calloc(threads, sizeof(*args));
    tids = calloc(threads, sizeof(*tids));
    if (args == NULL || tids == NULL)
        goto out;
    /* First template before the threads start: errors (bad address, node
     * down) are reported at once. */
    if (arb_node_get_template(node, &t, addr, &eb) != ARB_OK) {
        errmsg("%s", eb.msg);
        goto out;
    }
    memcpy(m.header, t.block, 80);
    m.gen = 1;
    m.have_work = 1;
    for (started = 0; started < threads; started++) {
        args[started].m = &m;
        args[started].id = started;
        if (pthread_create(&tids[started], NULL, miner_thread, &args[started]) != 0)
            break;
    }
    if (started == 0) {
        errmsg("cannot start threads");
        goto out;
    }
    t0 = last_poll = last_show = now_s();
    while (found < blocks) {
        uint8_t sol[80];
        int have_sol = 0;
        double now;

        sleep_ms(20);
        pthread_mutex_lock(&m.mu);
        if (m.found) {
            have_sol = m.found_gen == m.gen;
            memcpy(sol, m.solution, 80);
            m.found = 0;
            m.have_work = 0;
        }
        pthread_mutex_unlock(&m.mu);
        now = now_s();
        if (have_sol) {
            char hash[ARB_NODE_HASH_HEX];
            uint32_t height = 0;
            memcpy(t.block, sol, 80);
            if (arb_node_post_block(node, hash, &height, t.block, t.block_len, &eb) != ARB_OK) {
                /* A stale block (the tip moved) is not fatal: mine on. */
                if (progress)
                    fprintf(stderr, "\r\033[K");
                errmsg("block rejected: %s", eb.msg);
            } else {
                found++;
                if (progress)
                    fprintf(stderr, "\r\033[K");
                if (o->json) {
                    json_t *j = json_pack("{s:s, s:I, s:s, s:o, s:I}", "hash", hash, "height",
                                          (json_int_t)height, "address", addr, "reward",
                                          json_amount(t.coinbase_value), "found",
                                          (json_int_t)found);
                    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                    json_decref(j);
                    if (s != NULL)
                        printf("%s\n", s);
                    free(s);
                } else
                    printf("block %u %s\n", height, hash);
                fflush(stdout);
            }
            if (found >= blocks)
                break;
        }
        if (have_sol || now - last_poll >= 1.0) {
            int refresh = have_sol;
            last_poll = now;
            if (!refresh) {
                arb_node_tip tip;
                if (arb_node_get_tip(node, &tip, &eb) != ARB_OK) {
                    errmsg("%s", eb.msg);
                    goto out;
                }
                refresh = strcmp(tip.hash, t.prev_hash) != 0;
            }
            if (refresh) {
                arb_node_template_clear(&t);
                if (arb_node_get_template(node, &t, addr, &eb) != ARB_OK) {
                    errmsg("%s", eb.msg);
                    goto out;
                }
                pthread_mutex_lock(&m.mu);
                memcpy(m.header, t.block, 80);
                m.gen++;
                m.have_work = 1;
                m.found = 0;
                pthread_mutex_unlock(&m.mu);
            }
        }
        if (progress && now - last_show >= 1.0) {
            double rate = (double)atomic_load(&m.hashes) / (now - t0);
            last_show = now;
            fprintf(stderr, "\r\033[Kmining: %.2f MH/s, %u threads, %lu/%lu blocks found", rate / 1e6,
                    started, found, blocks);
        }
    }
    if (progress)
        fprintf(stderr, "\r\033[K");
    if (!o->json) {
        double el = now_s() - t0;
        printf("%lu blocks found in %.1f s (%.2f MH/s)\n", found, el,
               el > 0 ? (double)atomic_load(&m.hashes) / el / 1e6 : 0.0);
    }
    rc = EXIT_OK;
out:
    atomic_store(&m.stop, 1);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&m.mu);
    free(args);
    free(tids);
    arb_node_template_clear(&t);
    arb_node_free(node);
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
    {"balance", cmd_balance, "", "confirmed, unconfirmed and immature balance (from the node)"},
    {"history", cmd_history, "", "the wallet's transactions (from the node)"},
    {"send", cmd_send, "ADDRESS AMOUNT [--fee-rate UNITS_PER_BYTE] [--dry-run]",
     "pay AMOUNT coins to ADDRESS from the wallet's coins (default fee rate 1)"},
    {"broadcast", cmd_broadcast, "HEX|FILE",
     "submit a signed transaction: hex, or a file (- for stdin) holding it, e.g. sign's output"},
    {"mine", cmd_mine, "[--blocks N] [--threads T] [--address A]",
     "mine blocks on the node's templates (default: 1 block, one thread per core)"},
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
