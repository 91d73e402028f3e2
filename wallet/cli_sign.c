/* arbor-wallet's offline signing and broadcasting: sign builds and signs a
 * payment from coins given on the command line; broadcast submits a signed
 * transaction to the node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ledger/chain/header.h"
#include "wallet/address.h"
#include "wallet/cli.h"
#include "wallet/spend.h"
#include "wallet/txbuild.h"

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

int cmd_sign(const options *o, int argc, char **argv)
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

int cmd_broadcast(const options *o, int argc, char **argv)
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
    {
        arb_node_tip tip;
        if ((rc = open_node(o, &node, &tip)) != EXIT_OK)
            goto out;
    }
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

