/* Networks as the wallet names them, and their address prefixes.
 *
 * Addresses themselves are the ledger's (ledger/chain/bech32.h,
 * arb_address_encode / arb_address_decode): the 32-byte x-only output key as
 * a bech32m witness-version-1 string with the network's human-readable part
 * ("arb" main, "tarb" test, "rarb" regtest). Pure functions: thread-safe. */
#ifndef ARB_WALLET_ADDRESS_H
#define ARB_WALLET_ADDRESS_H

#include "ledger/chain/bech32.h"

/* The human-readable part of an arbor network ("main", "test", "regtest"),
 * or NULL for any other name (including the header-only "bitcoin" set). */
const char *arb_wallet_network_hrp(const char *network);

#endif
