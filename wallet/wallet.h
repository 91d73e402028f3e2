/* Wallet key scheme: from the secret in the keystore to accounts, addresses
 * and signing keys.
 *
 * Path scheme (modelled on BIP86, "Key derivation for single key P2TR
 * outputs"):  m / 86' / coin' / 0' / change / index
 *   coin    ARB_COIN_MAIN on main, 1 on test and regtest (SLIP-44's value for
 *           every test network);
 *   change  0 for receive addresses, 1 for change;
 *   index   0, 1, 2, ... (non-hardened, so the account xpub derives addresses).
 * The output key of an address is the BIP86 taproot output key of the
 * derived key (x-only, BIP341 tweak with no script tree), encoded as an arbor
 * address (ledger/chain/bech32.h). */
#ifndef ARB_WALLET_WALLET_H
#define ARB_WALLET_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"
#include "wallet/address.h"
#include "wallet/bip32.h"
#include "wallet/keystore.h"

/* Coin type for arbor's main network. Not registered in SLIP-44; chosen away
 * from Bitcoin's 0 so the same mnemonic never yields Bitcoin's keys. */
#define ARB_COIN_MAIN 7860u
#define ARB_COIN_TEST 1u

/* The coin type of a network ("main", "test", "regtest"), or -1. */
long arb_wallet_coin_type(const char *network);

/* Fills a secret from a mnemonic (checked with arb_bip39_to_entropy) and an
 * optional BIP39 passphrase (NULL or ""; ASCII). Returns ARB_OK,
 * ARB_ERR_PARSE / ARB_ERR_VERIFY (bad mnemonic), ARB_ERR_INVALID_ARG. */
arb_err arb_wallet_secret_from_mnemonic(arb_wallet_secret *s, const char *mnemonic,
                                        const char *bip39_pass, arb_errbuf *eb) ARB_WARN_UNUSED;

/* The canonical mnemonic of a secret (out_size >= ARB_BIP39_MNEMONIC_MAX). */
arb_err arb_wallet_mnemonic(char *out, size_t out_size, const arb_wallet_secret *s)
    ARB_WARN_UNUSED;

/* The account key m/86'/coin'/0' (private) of a secret on a network. Wipe it
 * after use. */
arb_err arb_wallet_account(const arb_keyctx *ctx, arb_bip32_key *account,
                           const arb_wallet_secret *s, const char *network, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* The address (and, if key32 is non-NULL, the 32-byte output key) at
 * account/change/index; account may be private or public. change is 0 or 1,
 * index < 2^31. addr_size >= ARB_ADDR_MAX. */
arb_err arb_wallet_address_at(const arb_keyctx *ctx, char *addr, size_t addr_size,
                              uint8_t *key32, const arb_bip32_key *account, const char *network,
                              uint32_t change, uint32_t index) ARB_WARN_UNUSED;

/* The BIP340 secret key for the output key at account/change/index (account
 * must be private). Wipe seckey32 after use. */
arb_err arb_wallet_signing_key(const arb_keyctx *ctx, uint8_t seckey32[static 32],
                               const arb_bip32_key *account, uint32_t change, uint32_t index)
    ARB_WARN_UNUSED;

#endif
