/* Amounts, fees and coin selection. */
#include "wallet/spend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/mempool.h"
#include "ledger/chain/tx.h"

int arb_amount_parse(uint64_t *units, const char *s)
{
    uint64_t whole = 0, frac = 0;
    size_t nd = 0, nf = 0;

    *units = 0;
    for (; *s >= '0' && *s <= '9'; s++, nd++) {
        if (whole > (UINT64_MAX - 9) / 10)
            return 0;
        whole = whole * 10 + (uint64_t)(*s - '0');
    }
    if (nd == 0)
        return 0;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, nf++) {
            if (nf == 8)
                return 0;
            frac = frac * 10 + (uint64_t)(*s - '0');
        }
        if (nf == 0)
            return 0;
        for (size_t k = nf; k < 8; k++)
            frac *= 10;
    }
    if (*s != '\0')
        return 0;
    if (whole > ARB_MAX_MONEY / ARB_COIN || whole * ARB_COIN + frac > ARB_MAX_MONEY)
        return 0;
    *units = whole * ARB_COIN + frac;
    return 1;
}

void arb_amount_format(char *out, size_t out_size, uint64_t units)
{
    snprintf(out, out_size, "%llu.%08llu", (unsigned long long)(units / ARB_COIN),
             (unsigned long long)(units % ARB_COIN));
}

static size_t compact_size(size_t v)
{
    return v < 0xfd ? 1 : v <= 0xffff ? 3 : 5;
}

size_t arb_wallet_tx_size_est(size_t n_in, size_t n_out)
{
    /* version, inputs (outpoint + signature), outputs, lock time, payload type */
    return 4 + compact_size(n_in) + n_in * (36 + ARB_SIG_SIZE) + compact_size(n_out) +
           n_out * (8 + ARB_KEY_SIZE) + 4 + 1;
}

int arb_wallet_fee(uint64_t *fee, uint64_t rate, size_t size)
{
    *fee = 0;
    if (rate != 0 && (uint64_t)size > ARB_MAX_MONEY / rate)
        return 0;
    *fee = rate * (uint64_t)size;
    return 1;
}

void arb_wallet_selection_clear(arb_wallet_selection *sel)
{
    if (sel == NULL)
        return;
    free(sel->idx);
    memset(sel, 0, sizeof(*sel));
}

typedef struct {
    uint64_t amount;
    size_t idx;
} coin_ref;

static int by_amount_desc(const void *a, const void *b)
{
    const coin_ref *x = a, *y = b;
    if (x->amount != y->amount)
        return x->amount < y->amount ? 1 : -1;
    return x->idx < y->idx ? -1 : 1;
}

arb_err arb_wallet_select_coins(arb_wallet_selection *sel, const uint64_t *amounts, size_t n,
                                uint64_t target, uint64_t rate, arb_errbuf *eb)
{
    size_t *order = NULL;
    coin_ref *refs = NULL;
    uint64_t total = 0, avail = 0, fee1 = 0, fee2 = 0;

    memset(sel, 0, sizeof(*sel));
    if (target == 0 || target > ARB_MAX_MONEY)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "amount must be between 0 and the money supply");
    if (target < ARB_MEMPOOL_DUST_THRESHOLD) {
        char t[ARB_AMOUNT_STR_MAX], d[ARB_AMOUNT_STR_MAX];
        arb_amount_format(t, sizeof(t), target);
        arb_amount_format(d, sizeof(d), ARB_MEMPOOL_DUST_THRESHOLD);
        return arb_errf(eb, ARB_ERR_INVALID_ARG,
                        "amount %s is below the dust limit of %s (%u units): nodes refuse "
                        "such outputs",
                        t, d, (unsigned)ARB_MEMPOOL_DUST_THRESHOLD);
    }
    for (size_t i = 0; i < n; i++) {
        if (amounts[i] > ARB_MAX_MONEY || avail + amounts[i] > ARB_MAX_MONEY)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "coin amounts overflow");
        avail += amounts[i];
    }
    if (n > 0) {
        order = malloc(n * sizeof(*order));
        refs = malloc(n * sizeof(*refs));
        if (order == NULL || refs == NULL) {
            free(order);
            free(refs);
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            refs[i].amount = amounts[i];
            refs[i].idx = i;
        }
        qsort(refs, n, sizeof(*refs), by_amount_desc);
        for (size_t i = 0; i < n; i++)
            order[i] = refs[i].idx;
        free(refs);
    }
    for (size_t k = 0; k < n && k < ARB_TX_MAX_INPUTS; k++) {
        if (amounts[order[k]] == 0)
            break;
        total += amounts[order[k]];
        if (!arb_wallet_fee(&fee1, rate, arb_wallet_tx_size_est(k + 1, 1)) ||
            !arb_wallet_fee(&fee2, rate, arb_wallet_tx_size_est(k + 1, 2)))
            break;
        if (total < target + fee1)
            continue;
        sel->idx = order;
        sel->n = k + 1;
        sel->total = total;
        /* Change below the dust limit would get the payment refused by
         * every node's mempool (docs/ledger.md, `dust`): it goes to the fee. */
        if (total >= target + fee2 && total - target - fee2 >= ARB_MEMPOOL_DUST_THRESHOLD) {
            sel->fee = fee2;
            sel->change = total - target - fee2;
        } else {
            sel->fee = total - target;
            sel->change = 0;
        }
        return ARB_OK;
    }
    free(order);
    {
        char a[ARB_AMOUNT_STR_MAX], t[ARB_AMOUNT_STR_MAX];
        uint64_t need = 0;
        if (!arb_wallet_fee(&need, rate, arb_wallet_tx_size_est(n > 0 ? n : 1, 1)) ||
            need > ARB_MAX_MONEY - target)
            need = ARB_MAX_MONEY - target;
        arb_amount_format(a, sizeof(a), avail);
        arb_amount_format(t, sizeof(t), target + need);
        return arb_errf(eb, ARB_ERR_VERIFY, "insufficient funds: %s available, %s needed", a, t);
    }
}

size_t arb_wallet_payload_tx_size_est(size_t n_in, size_t payload_len)
{
    return arb_wallet_tx_size_est(n_in, 1) + compact_size(payload_len) + payload_len;
}

arb_err arb_wallet_select_payload(arb_wallet_selection *sel, const uint64_t *amounts, size_t n,
                                  size_t first, uint64_t burn, uint64_t rate, size_t payload_len,
                                  arb_errbuf *eb)
{
    coin_ref *refs = NULL;
    size_t *order = NULL, k = 0;
    uint64_t total = 0, avail = 0, fee = 0;

    memset(sel, 0, sizeof(*sel));
    if (first >= n)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "no coin of the acting key");
    if (burn > ARB_MAX_MONEY)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "burn above the money supply");
    for (size_t i = 0; i < n; i++) {
        if (amounts[i] > ARB_MAX_MONEY || avail + amounts[i] > ARB_MAX_MONEY)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "coin amounts overflow");
        avail += amounts[i];
    }
    order = malloc(n * sizeof(*order));
    refs = malloc(n * sizeof(*refs));
    if (order == NULL || refs == NULL) {
        free(order);
        free(refs);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        refs[i].amount = amounts[i];
        refs[i].idx = i;
    }
    qsort(refs, n, sizeof(*refs), by_amount_desc);
    order[k++] = first;
    for (size_t i = 0; i < n; i++)
        if (refs[i].idx != first)
            order[k++] = refs[i].idx;
    free(refs);
    for (k = 0; k < n && k < ARB_TX_MAX_INPUTS; k++) {
        if (k > 0 && amounts[order[k]] == 0)
            break;
        total += amounts[order[k]];
        if (!arb_wallet_fee(&fee, rate, arb_wallet_payload_tx_size_est(k + 1, payload_len)) ||
            fee > ARB_MAX_MONEY - burn)
            break;
        if (total < burn + fee || total - burn - fee < ARB_MEMPOOL_DUST_THRESHOLD)
            continue;
        sel->idx = order;
        sel->n = k + 1;
        sel->total = total;
        sel->fee = fee;
        sel->change = total - burn - fee;
        return ARB_OK;
    }
    free(order);
    {
        char a[ARB_AMOUNT_STR_MAX], t[ARB_AMOUNT_STR_MAX];
        uint64_t need = 0;
        if (!arb_wallet_fee(&need, rate, arb_wallet_payload_tx_size_est(n, payload_len)) ||
            need > ARB_MAX_MONEY - burn - ARB_MEMPOOL_DUST_THRESHOLD)
            need = ARB_MAX_MONEY - burn - ARB_MEMPOOL_DUST_THRESHOLD;
        arb_amount_format(a, sizeof(a), avail);
        arb_amount_format(t, sizeof(t), burn + need + ARB_MEMPOOL_DUST_THRESHOLD);
        return arb_errf(eb, ARB_ERR_VERIFY, "insufficient funds: %s available, %s needed", a, t);
    }
}
