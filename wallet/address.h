/* arbor addresses: bech32m (BIP350) of an output's 32-byte x-only key with
 * the network's human-readable part ("arb" main, "tarb" test, "rarb"
 * regtest). The data part is the key regrouped into 5-bit values (52 of them),
 * with no witness-version symbol: arbor outputs have one kind of lock only.
 * Pure functions: thread-safe. */
#ifndef ARB_WALLET_ADDRESS_H
#define ARB_WALLET_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* "arb1" + 52 + 6 characters and a NUL fit easily. */
#define ARB_ADDRESS_MAX 91

/* The human-readable part of a network name ("main", "test", "regtest"), or
 * NULL for an unknown name. */
const char *arb_wallet_network_hrp(const char *network);

/* Encodes key32 with hrp into out (out_size >= ARB_ADDRESS_MAX). Returns
 * ARB_OK or ARB_ERR_INVALID_ARG. */
arb_err arb_wallet_address_encode(char *out, size_t out_size, const char *hrp,
                                  const uint8_t key32[static 32]) ARB_WARN_UNUSED;

/* Decodes an address, requiring the human-readable part hrp. Returns ARB_OK,
 * ARB_ERR_PARSE (malformed, wrong network or wrong length) or ARB_ERR_VERIFY
 * (bad checksum); key32 is zeroed on failure. */
arb_err arb_wallet_address_decode(uint8_t key32[static 32], const char *hrp, const char *addr)
    ARB_WARN_UNUSED;

#endif
