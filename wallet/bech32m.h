/* Bech32m (BIP350) strings, as the wallet needs them for addresses.
 *
 * This is a stand-in with the interface the wallet uses; the chain codec
 * library owns address encoding for the ledger and replaces it once it is
 * available. Pure functions: thread-safe. */
#ifndef ARB_WALLET_BECH32M_H
#define ARB_WALLET_BECH32M_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* BIP173 limit on a whole string. */
#define ARB_BECH32_MAX 90

/* Encodes hrp (lowercase, 1..83 printable ASCII characters 33..126) and
 * data_len 5-bit values into out (NUL-terminated, out_size >= ARB_BECH32_MAX+1).
 * Returns ARB_OK or ARB_ERR_INVALID_ARG. */
arb_err arb_bech32m_encode(char *out, size_t out_size, const char *hrp, const uint8_t *data5,
                           size_t data_len) ARB_WARN_UNUSED;

/* Decodes a bech32m string: hrp into hrp_out (size hrp_size), 5-bit values
 * into data5 (at most data_size). Rejects mixed case, bad characters, strings
 * over 90 characters and bad checksums (ARB_ERR_VERIFY); other faults are
 * ARB_ERR_PARSE. */
arb_err arb_bech32m_decode(char *hrp_out, size_t hrp_size, uint8_t *data5, size_t data_size,
                           size_t *data_len, const char *str) ARB_WARN_UNUSED;

/* Regroups bits (BIP173 convertbits): from 8-bit to 5-bit with padding (pad=1)
 * or 5-bit to 8-bit without (pad=0, which rejects non-zero or over-long
 * padding). Returns 1 on success, 0 on bad input or a too small out. */
int arb_bech32_convert_bits(uint8_t *out, size_t out_size, size_t *out_len, int to_bits,
                            const uint8_t *in, size_t in_len, int from_bits, int pad);

#endif
