/* arbor-wallet's key commands: create, restore, address, show, export-xpub.
 * They work offline, except that create and restore ask the node for its
 * network when --network is not given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "wallet/address.h"
#include "wallet/bip39.h"
#include "wallet/cli.h"

#define MNEMONIC_INPUT_MAX 4096

/* The network of a new wallet: --network, else the node's. Returns 1, or 0
 * with a message that says how to choose. */
static int new_wallet_network(const options *o, char *out, size_t size)
{
    arb_node *n = NULL;
    arb_node_tip tip;
    arb_errbuf eb = {{0}};
    const char *url = node_url(o);

    if (o->network != NULL) {
        snprintf(out, size, "%s", o->network);
        return 1;
    }
    if (arb_node_new(&n, url, 5000, &eb) != ARB_OK || arb_node_get_tip(n, &tip, &eb) != ARB_OK) {
        errmsg("cannot learn the network for the new wallet from the node: %s; start arbord "
               "(or point --node at it), or choose with --network main|test|regtest",
               eb.msg);
        arb_node_free(n);
        return 0;
    }
    arb_node_free(n);
    if (arb_wallet_network_hrp(tip.network) == NULL) {
        errmsg("the node at %s runs network \"%s\", which the wallet does not know; choose "
               "with --network main|test|regtest", url, tip.network);
        return 0;
    }
    snprintf(out, size, "%s", tip.network);
    if (!o->json)
        fprintf(stderr, "arbor-wallet: network %s (from the node at %s)\n", out, url);
    return 1;
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
    char network[16];
    int rc = EXIT_FAIL;
    arb_err err;

    memset(&ks, 0, sizeof(ks));
    memset(&acct, 0, sizeof(acct));
    mn[0] = '\0';
    if (access(o->wallet, F_OK) == 0) {
        errmsg("%s already exists; not overwriting it", o->wallet);
        goto out;
    }
    if (!new_wallet_network(o, network, sizeof(network)))
        goto out;
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

int cmd_create(const options *o, int argc, char **argv)
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

int cmd_restore(const options *o, int argc, char **argv)
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

int cmd_address(const options *o, int argc, char **argv)
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

int cmd_show(const options *o, int argc, char **argv)
{
    (void)argv;
    return show_common(o, argc, 0);
}

int cmd_export_xpub(const options *o, int argc, char **argv)
{
    (void)argv;
    return show_common(o, argc, 1);
}

