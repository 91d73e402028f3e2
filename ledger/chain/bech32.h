/* Bech32 (BIP173) and Bech32m (BIP350) strings, segwit-style addresses, and
 * arbor addresses.
 *
 * An arbor address is the 32-byte x-only output key written exactly like a
 * segwit version-1 (Taproot) address: bech32m, witness version 1, 32-byte
 * program, human-readable part `arb` (main), `tarb` (test) or `rarb`
 * (regtest); e.g. "rarb1p...". The version digit leaves room for other key
 * types later, and any BIP350 decoder reads the key back. Thread-safe. */
#ifndef ARB_CHAIN_BECH32_H
#define ARB_CHAIN_BECH32_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef enum { ARB_BECH32 = 1, ARB_BECH32M = 2 } arb_bech32_variant;

/* Longest string accepted (BIP173), and longest human-readable part. */
#define ARB_BECH32_MAX_LEN 90
#define ARB_BECH32_MAX_HRP 83

/* Encodes hrp (lowercase, 1..83 chars of 33..126) and data (values 0..31).
 * out needs room for strlen(hrp) + 1 + data_len + 6 + 1 bytes and at most 91.
 * Returns 1, or 0 on invalid arguments or when the result would exceed 90. */
int arb_bech32_encode(char *out, size_t out_size, const char *hrp, const uint8_t *data,
                      size_t data_len, arb_bech32_variant variant) ARB_WARN_UNUSED;
/* Decodes a bech32 or bech32m string (BIP173 Decoding rules: length <= 90,
 * characters 33..126, not mixed case, separator, hrp >= 1 char, >= 6 checksum
 * chars, valid checksum). hrp_out receives the lowercase hrp (84 bytes),
 * data_out the values without the checksum (<= 90 entries). Returns
 * ARB_OK or ARB_ERR_PARSE with the reason in eb. */
arb_err arb_bech32_decode(char hrp_out[static 84], uint8_t *data_out, size_t *data_len,
                          arb_bech32_variant *variant, const char *str, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Segwit address (BIP173/BIP350): version 0 uses bech32 with a 20- or
 * 32-byte program, versions 1..16 bech32m with 2..40 bytes. */
int arb_segwit_addr_encode(char *out, size_t out_size, const char *hrp, int version,
                           const uint8_t *prog, size_t prog_len) ARB_WARN_UNUSED;
/* Checks the hrp equals expected_hrp (case-insensitively). prog needs 40
 * bytes. Returns ARB_OK or ARB_ERR_PARSE (reason in eb). */
arb_err arb_segwit_addr_decode(int *version, uint8_t *prog, size_t *prog_len,
                               const char *expected_hrp, const char *addr, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* arbor address of an x-only key; out needs ARB_ADDR_MAX bytes. */
#define ARB_ADDR_MAX 91
int arb_address_encode(char out[static ARB_ADDR_MAX], const char *hrp,
                       const uint8_t key32[static 32]) ARB_WARN_UNUSED;
/* Parses an arbor address for the network with the given hrp. Returns ARB_OK
 * or ARB_ERR_PARSE (wrong network, version, length or checksum). */
arb_err arb_address_decode(uint8_t key32[static 32], const char *hrp, const char *addr,
                           arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
