/* Base58 and Base58Check (Bitcoin's alphabet), used by BIP32 extended keys.
 *
 * Base58 maps bytes to the 58 characters 1-9 A-H J-N P-Z a-k m-z; each
 * leading zero byte becomes a leading '1'. Base58Check appends the first four
 * bytes of SHA-256d(payload) before encoding (as Bitcoin does).
 *
 * Pure functions, no state: thread-safe. */
#ifndef ARB_WALLET_BASE58_H
#define ARB_WALLET_BASE58_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* Longest input the codec accepts, in bytes (decoded) - far above the 82 bytes
 * of an extended key; bounds the quadratic conversion. */
#define ARB_BASE58_MAX_BYTES 1024

/* Encodes len bytes into out (NUL-terminated). out_size must be at least
 * len * 138 / 100 + 2. Returns ARB_OK, or ARB_ERR_INVALID_ARG if len exceeds
 * ARB_BASE58_MAX_BYTES or out is too small (out is then ""). */
arb_err arb_base58_encode(char *out, size_t out_size, const uint8_t *in, size_t len)
    ARB_WARN_UNUSED;

/* Decodes a NUL-free string of str_len characters into out (at most out_size
 * bytes); *out_len receives the decoded length. Returns ARB_OK, ARB_ERR_PARSE
 * on a character outside the alphabet or a result longer
 * than out_size (then *out_len is 0). */
arb_err arb_base58_decode(uint8_t *out, size_t out_size, size_t *out_len, const char *str,
                          size_t str_len) ARB_WARN_UNUSED;

/* Base58Check: encodes payload || SHA-256d(payload)[0..4). Same rules as
 * arb_base58_encode with len + 4 bytes. */
arb_err arb_base58check_encode(char *out, size_t out_size, const uint8_t *payload, size_t len)
    ARB_WARN_UNUSED;

/* Decodes and verifies the 4-byte checksum; *out_len is the payload length.
 * Returns ARB_OK, ARB_ERR_PARSE (bad character, too short or too long) or
 * ARB_ERR_VERIFY (checksum mismatch). */
arb_err arb_base58check_decode(uint8_t *out, size_t out_size, size_t *out_len, const char *str,
                               size_t str_len) ARB_WARN_UNUSED;

#endif
