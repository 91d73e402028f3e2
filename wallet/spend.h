/* Amounts in coins, fees and coin selection for payments built from a node's
 * coin list. Pure functions: no node, no keys.
 *
 * Amounts are shown and accepted in coins with up to 8 decimals
 * ("1.5", "0.00000001"); internally they are uint64_t base units
 * (1 coin = ARB_COIN units). */
#ifndef ARB_WALLET_SPEND_H
#define ARB_WALLET_SPEND_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* Longest formatted amount: "21000000.00000000" plus room for any uint64. */
#define ARB_AMOUNT_STR_MAX 32

/* Parses a decimal amount in coins: digits, optionally '.' and 1..8 digits.
 * No sign, spaces, exponent or leading '.'. Returns 1 with *units set, or 0
 * (bad syntax, more than 8 decimals, above ARB_MAX_MONEY). */
int arb_amount_parse(uint64_t *units, const char *s) ARB_WARN_UNUSED;

/* Formats units as coins with exactly 8 decimals ("1.50000000").
 * out_size >= ARB_AMOUNT_STR_MAX. */
void arb_amount_format(char *out, size_t out_size, uint64_t units);

/* Size in bytes of a signed payment transaction with n_in inputs and n_out
 * outputs (no payload). */
size_t arb_wallet_tx_size_est(size_t n_in, size_t n_out);

/* fee = rate * size. Returns 1, or 0 on overflow or a fee above
 * ARB_MAX_MONEY. */
int arb_wallet_fee(uint64_t *fee, uint64_t rate, size_t size) ARB_WARN_UNUSED;

/* Result of coin selection: which coins (indices into the caller's array,
 * ascending by selection order), the fee and the change (0: no change
 * output; the excess then goes to the fee). */
typedef struct {
    size_t *idx;
    size_t n;
    uint64_t total; /* sum of the selected coins */
    uint64_t fee;
    uint64_t change;
} arb_wallet_selection;

/* Picks coins among amounts[0..n) (largest first) to pay `target` to one
 * destination at fee rate `rate` (units per byte), with a change output when
 * the excess over target + fee pays for the change output itself and leaves
 * at least the mempool's dust threshold (ARB_MEMPOOL_DUST_THRESHOLD, 420
 * units) as change; a smaller excess goes to the fee, since nodes refuse
 * outputs below that threshold. Returns ARB_OK; ARB_ERR_VERIFY (insufficient
 * funds: eb says how much is available and needed); ARB_ERR_INVALID_ARG
 * (zero target, a target below the dust threshold: eb names the limit,
 * overflow); ARB_ERR_NOMEM. Free with arb_wallet_selection_clear. */
arb_err arb_wallet_select_coins(arb_wallet_selection *sel, const uint64_t *amounts, size_t n,
                                uint64_t target, uint64_t rate, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Size in bytes of a signed transaction with n_in inputs, one output and a
 * payload of payload_len bytes. */
size_t arb_wallet_payload_tx_size_est(size_t n_in, size_t payload_len);

/* Coin selection for a payload transaction (txbuild.h,
 * arb_wallet_tx_build_payload): coin `first` is always input 0 (it is the
 * sender's: the operation's key), then further coins, largest first, until
 * they cover burn + fee (at `rate` for the size with payload_len payload
 * bytes) + a change output of at least the dust threshold. sel->idx[0] is
 * `first`; sel->change is the change (always >= the dust threshold).
 * Returns ARB_OK; ARB_ERR_VERIFY (insufficient funds: eb says what is
 * available and needed); ARB_ERR_INVALID_ARG (first >= n, overflow);
 * ARB_ERR_NOMEM. Free with arb_wallet_selection_clear. */
arb_err arb_wallet_select_payload(arb_wallet_selection *sel, const uint64_t *amounts, size_t n,
                                  size_t first, uint64_t burn, uint64_t rate, size_t payload_len,
                                  arb_errbuf *eb) ARB_WARN_UNUSED;

void arb_wallet_selection_clear(arb_wallet_selection *sel);

#endif
