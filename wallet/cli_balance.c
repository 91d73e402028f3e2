/* arbor-wallet's read commands on the node: balance and history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wallet/cli.h"
#include "wallet/spend.h"

int cmd_balance(const options *o, int argc, char **argv)
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
    int unknown; /* a pending send the node does not list */
} hist_row;

/* received - sent with its sign ("+1.00000000", "-0.50000000"; zero has none). */
static void format_net(char *out, size_t size, uint64_t received, uint64_t sent)
{
    uint64_t net = received >= sent ? received - sent : sent - received;

    out[0] = net == 0 ? '\0' : received >= sent ? '+' : '-';
    out[1] = '\0';
    arb_amount_format(out + (net != 0), size - 1, net);
}

static int is_pending(const wallet_session *w, const char *txid)
{
    for (size_t i = 0; i < w->ks.n_pending; i++)
        if (strcmp(w->ks.pending[i].txid, txid) == 0)
            return 1;
    return 0;
}

static int cmp_hist(const void *a, const void *b)
{
    const hist_row *x = a, *y = b;
    /* Mempool (-1) last; otherwise by height, then txid. */
    int64_t hx = x->height < 0 ? INT64_MAX : x->height, hy = y->height < 0 ? INT64_MAX : y->height;
    if (hx != hy)
        return hx < hy ? -1 : 1;
    return strcmp(x->txid, y->txid);
}

int cmd_history(const options *o, int argc, char **argv)
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
    /* Payments the wallet sent that the node does not list (it lost them
     * and refused them again): unconfirmed, amounts unknown to the node. */
    for (size_t k = 0; k < w.ks.n_pending; k++) {
        size_t j;
        for (j = 0; j < n_rows; j++)
            if (strcmp(rows[j].txid, w.ks.pending[k].txid) == 0)
                break;
        if (j < n_rows)
            continue;
        {
            hist_row *nr = realloc(rows, (n_rows + 1) * sizeof(*nr));
            if (nr == NULL) {
                errmsg("out of memory");
                rc = EXIT_FAIL;
                goto out;
            }
            rows = nr;
            memset(&rows[n_rows], 0, sizeof(rows[n_rows]));
            memcpy(rows[n_rows].txid, w.ks.pending[k].txid, sizeof(rows[n_rows].txid));
            rows[n_rows].height = -1;
            rows[n_rows].unknown = 1;
            n_rows++;
        }
    }
    if (n_rows > 0)
        qsort(rows, n_rows, sizeof(*rows), cmp_hist);
    if (o->json) {
        json_t *a = json_array();
        for (size_t j = 0; j < n_rows; j++) {
            char net[ARB_AMOUNT_STR_MAX + 1];
            json_t *e;
            format_net(net, sizeof(net), rows[j].received, rows[j].sent);
            e = json_pack("{s:s, s:I, s:b, s:o, s:o, s:s, s:b}", "txid", rows[j].txid, "height",
                          (json_int_t)rows[j].height, "confirmed", rows[j].height >= 0,
                          "received", json_amount(rows[j].received), "sent",
                          json_amount(rows[j].sent), "net", net, "pending",
                          is_pending(&w, rows[j].txid));
            if (e != NULL && rows[j].unknown)
                json_object_set_new(e, "in_node", json_false());
            json_array_append_new(a, e);
        }
        rc = print_json(json_pack("{s:o}", "txs", a));
    } else {
        if (n_rows == 0)
            printf("no transactions\n");
        else
            printf("%-11s  %-64s  %17s  %17s  %18s\n", "HEIGHT", "TXID", "RECEIVED", "SENT",
                   "NET");
        for (size_t j = 0; j < n_rows; j++) {
            char rs[ARB_AMOUNT_STR_MAX], ss[ARB_AMOUNT_STR_MAX], net[ARB_AMOUNT_STR_MAX + 1];
            char hs[24];
            arb_amount_format(rs, sizeof(rs), rows[j].received);
            arb_amount_format(ss, sizeof(ss), rows[j].sent);
            format_net(net, sizeof(net), rows[j].received, rows[j].sent);
            if (rows[j].height < 0)
                snprintf(hs, sizeof(hs), "unconfirmed");
            else
                snprintf(hs, sizeof(hs), "%lld", (long long)rows[j].height);
            if (rows[j].unknown)
                printf("%-11s  %s  (sent by this wallet; the node does not have it yet)\n", hs,
                       rows[j].txid);
            else
                printf("%-11s  %s  %17s  %17s  %18s\n", hs, rows[j].txid, rs, ss, net);
        }
    }
out:
    free(rows);
    scan_clear(&r);
    session_close(&w);
    arb_node_free(node);
    return rc;
}

