/* Offline transactions: build a payment from coins the caller names (the
 * outputs to spend, with their amounts and keys) and sign every input with
 * the wallet's keys (BIP340 over the ledger's signature hash,
 * ledger/chain/tx.h). Nothing here talks to a node; a node client supplies
 * the coins and broadcasts the result.
 *
 * Thread-safe for distinct arguments. */
#ifndef ARB_WALLET_TXBUILD_H
#define ARB_WALLET_TXBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/tx.h"
#include "merkle/error.h"
#include "wallet/bip32.h"

#define ARB_WALLET_TX_VERSION 1

/* An output to spend: where it is and what it holds. */
typedef struct {
    arb_outpoint prev;
    arb_txout spent; /* its amount and x-only key */
} arb_wallet_coin;

/* Builds an unsigned transaction spending all coins (in order) to dests
 * (in order), paying fee, with the remainder (if non-zero) to change_key32 as
 * a last output; *change_out receives the remainder. Amounts are checked for
 * overflow and against ARB_MAX_MONEY. Returns ARB_OK; ARB_ERR_INVALID_ARG (no
 * coins or destinations, zero amounts, too many in/outputs, overflow) or
 * ARB_ERR_VERIFY (coins do not cover outputs + fee, eb says by how much);
 * ARB_ERR_NOMEM. tx must be initialized (arb_tx_init); it is cleared first. */
arb_err arb_wallet_tx_build(arb_tx *tx, uint64_t *change_out, const arb_wallet_coin *coins,
                            size_t n_coins, const arb_txout *dests, size_t n_dests, uint64_t fee,
                            const uint8_t change_key32[static 32], arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Builds an unsigned transaction that carries a payload (a name operation or
 * a log anchor): it spends all coins in order (coins[0] is input 0, whose key
 * is the operation's sender), burns `burn` (the amount the payload says it
 * destroys: inputs - outputs = burn + fee), pays `fee`, and sends the rest to
 * change_key32 as its only output (a transaction needs one, so the rest must
 * be positive). Returns ARB_OK; ARB_ERR_INVALID_ARG (no coins, too many,
 * payload type 0, an empty payload or one longer than ARB_TX_MAX_PAYLOAD,
 * overflow); ARB_ERR_VERIFY (the coins do not cover burn + fee with something
 * left for the change output; eb says by how much); ARB_ERR_NOMEM. tx must
 * be initialized; it is cleared first. */
arb_err arb_wallet_tx_build_payload(arb_tx *tx, uint64_t *change_out, const arb_wallet_coin *coins,
                                    size_t n_coins, uint8_t payload_type, const uint8_t *payload,
                                    size_t payload_len, uint64_t burn, uint64_t fee,
                                    const uint8_t change_key32[static 32], arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Finds the wallet key whose output key is key32 among receive indices
 * [0, receive_limit) and change indices [0, change_limit) of account (private
 * or public). Returns ARB_OK with *change (0/1) and *index, or
 * ARB_ERR_NOT_FOUND. */
arb_err arb_wallet_find_key(const arb_keyctx *ctx, uint32_t *change, uint32_t *index,
                            const arb_bip32_key *account, const uint8_t key32[static 32],
                            uint32_t receive_limit, uint32_t change_limit) ARB_WARN_UNUSED;

/* Signs every input of tx. coins[i] is what input i spends (same order as
 * tx->in; prev must match). Each coin's key must belong to the (private)
 * account within the limits (see arb_wallet_find_key). network names the
 * parameter set whose network id the signature hash commits to. Each
 * signature is verified before it is stored; on failure all signatures are
 * zeroed. Returns ARB_OK;
 * ARB_ERR_NOT_FOUND (a coin's key is not the wallet's; eb says which);
 * ARB_ERR_INVALID_ARG; ARB_ERR_NOMEM; ARB_ERR_CRYPTO. */
arb_err arb_wallet_tx_sign(const arb_keyctx *ctx, arb_tx *tx, const arb_bip32_key *account,
                           const char *network, const arb_wallet_coin *coins, size_t n_coins,
                           uint32_t receive_limit, uint32_t change_limit, arb_errbuf *eb)
    ARB_WARN_UNUSED;

#endif
