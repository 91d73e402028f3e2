/* arbor-wallet's payments: send (coin selection, signing, broadcast; the
 * transaction is kept in the wallet file until it confirms) and rebroadcast. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/chain/header.h"
#include "ledger/chain/params.h"
#include "wallet/address.h"
#include "wallet/cli.h"
#include "wallet/spend.h"
#include "wallet/txbuild.h"

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

int cmd_send(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    wallet_session w;
    scan_result r;
    size_t n_all = 0, n_conf = 0;
    arb_wallet_coin *coins = NULL, *pick = NULL;
    uint64_t *amounts = NULL, amount = 0, rate = 1, change = 0, immature = 0;
    int64_t first_mature = -1;
    arb_wallet_selection sel = {0};
    arb_txout dest;
    arb_tx tx;
    arb_errbuf eb = {{0}};
    arb_err err;
    const char *to = NULL, *amount_s = NULL, *hrp;
    char *hex = NULL, txid[65], change_addr[ARB_ADDR_MAX] = "";
    uint8_t change_key[32];
    int dry = 0, rc;
    uint32_t tip_height = 0;

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
        errmsg("send needs %s", to == NULL ? "ADDRESS and AMOUNT" : "AMOUNT");
        return wallet_usage_error("send");
    }
    if (!parse_coins(amount_s, &amount))
        return EXIT_USAGE;
    arb_tx_init(&tx);
    memset(&dest, 0, sizeof(dest));
    memset(&w, 0, sizeof(w));
    w.lock_fd = -1;
    rc = node_wallet_scan(o, &node, &w, &r);
    if (rc != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    {
        arb_node_tip tip;
        if (arb_node_get_tip(node, &tip, &eb) != ARB_OK) {
            errmsg("%s", eb.msg);
            goto out;
        }
        tip_height = tip.height;
    }
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
                if (pass == 0 && !u[k].mature && u[k].height >= 0) {
                    immature += u[k].amount;
                    if (first_mature < 0 || u[k].height < first_mature)
                        first_mature = u[k].height;
                }
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
    if (err == ARB_ERR_VERIFY && immature > 0) {
        /* Say why coins the balance shows cannot be spent yet. */
        const arb_chain_params *p = arb_chain_params_get(w.ks.network);
        char im[ARB_AMOUNT_STR_MAX];
        long long wait = p != NULL ? first_mature + (long long)p->coinbase_maturity - 1 -
                                         (long long)tip_height : 0;
        arb_amount_format(im, sizeof(im), immature);
        errmsg("%s; %s more are immature mining rewards, spendable once they have %u "
               "confirmations (the first after %lld more block%s)",
               eb.msg, im, p != NULL ? (unsigned)p->coinbase_maturity : 0, wait > 0 ? wait : 1,
               wait == 1 ? "" : "s");
        goto out;
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
        /* The change index and the transaction are durable before the node
         * sees it: if this process dies after the post, the payment is still
         * rebroadcast until it confirms. */
        if (change > 0)
            w.ks.next_change++;
        if ((err = arb_keystore_pending_add(&w.ks, txid, hex, (uint64_t)time(NULL))) != ARB_OK) {
            errmsg("cannot keep the payment in the wallet file: %s (%d unconfirmed payments "
                   "already; wait for them to confirm)",
                   arb_err_str(err), (int)w.ks.n_pending);
            goto out;
        }
        if (!session_save(o, &w))
            goto out;
        err = arb_node_post_tx(node, node_txid, hex, &eb);
        if (err == ARB_ERR_VERIFY || err == ARB_ERR_NOT_FOUND || err == ARB_ERR_PARSE) {
            /* Refused: it will never be valid as it is; forget it. */
            errmsg("%s", eb.msg);
            arb_keystore_pending_remove(&w.ks, w.ks.n_pending - 1);
            (void)session_save(o, &w);
            goto out;
        }
        if (err != ARB_OK) {
            errmsg("%s; the payment is kept in the wallet file and sent again by the next "
                   "command that reaches the node (or `rebroadcast`)", eb.msg);
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


int cmd_rebroadcast(const options *o, int argc, char **argv)
{
    arb_node *node = NULL;
    arb_node_tip tip;
    wallet_session w;
    pending_report *rep = NULL;
    size_t n_rep = 0;
    int rc;

    (void)argv;
    if (argc != 0) {
        errmsg("rebroadcast takes no arguments");
        return wallet_usage_error("rebroadcast");
    }
    if (!need_wallet(o))
        return EXIT_USAGE;
    memset(&w, 0, sizeof(w));
    w.lock_fd = -1;
    if ((rc = open_node(o, &node, &tip)) != EXIT_OK)
        return rc;
    rc = EXIT_FAIL;
    if (!session_open(o, &w) || !same_network(o, w.ks.network, node, tip.network) ||
        !pending_sync(o, &w, node, &rep, &n_rep))
        goto out;
    if (o->json) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < n_rep; i++) {
            json_t *e = json_pack("{s:s, s:s}", "txid", rep[i].txid, "state",
                                  pending_state_name(rep[i].state));
            if (e == NULL)
                continue;
            if (rep[i].state == PENDING_CONFIRMED)
                json_object_set_new(e, "height", json_integer(rep[i].height));
            if (rep[i].state == PENDING_CONFLICTED)
                json_object_set_new(e, "conflict", json_string(rep[i].other));
            if (rep[i].state == PENDING_REFUSED)
                json_object_set_new(e, "reason", json_string(rep[i].reason));
            json_array_append_new(a, e);
        }
        rc = print_json(json_pack("{s:o, s:I}", "pending", a, "still_pending",
                                  (json_int_t)w.ks.n_pending));
    } else {
        if (n_rep == 0)
            printf("no unconfirmed payments\n");
        for (size_t i = 0; i < n_rep; i++) {
            switch (rep[i].state) {
            case PENDING_IN_MEMPOOL:
                printf("%s  in the node's mempool\n", rep[i].txid);
                break;
            case PENDING_REBROADCAST:
                printf("%s  rebroadcast (the node did not have it)\n", rep[i].txid);
                break;
            case PENDING_REFUSED:
                printf("%s  refused: %s (kept)\n", rep[i].txid, rep[i].reason);
                break;
            case PENDING_CONFIRMED:
                printf("%s  confirmed at height %lld (forgotten)\n", rep[i].txid,
                       (long long)rep[i].height);
                break;
            case PENDING_CONFLICTED:
                printf("%s  conflicted: an input was spent by %s (forgotten)\n", rep[i].txid,
                       rep[i].other);
                break;
            }
        }
        rc = EXIT_OK;
    }
out:
    free(rep);
    session_close(&w);
    arb_node_free(node);
    return rc;
}
