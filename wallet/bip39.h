/* BIP39 mnemonic codes with the English word list.
 *
 * entropy (16, 20, 24, 28 or 32 bytes) -> words: the entropy followed by the
 * first ENT/32 bits of SHA-256(entropy), cut into 11-bit indices into the
 * 2048-word list (BIP39 "Generating the mnemonic"). The seed is
 * PBKDF2-HMAC-SHA512(mnemonic, "mnemonic" || passphrase, 2048 rounds, 64 bytes)
 * (BIP39 "From mnemonic to seed").
 *
 * BIP39 applies Unicode NFKD to both strings first. English words are ASCII,
 * for which NFKD is the identity, so this implementation accepts only ASCII
 * passphrases and rejects others with ARB_ERR_INVALID_ARG instead of
 * silently deriving a seed other wallets would not derive.
 *
 * All functions are pure and thread-safe. */
#ifndef ARB_WALLET_BIP39_H
#define ARB_WALLET_BIP39_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

#define ARB_BIP39_WORDS 2048
/* Enough for 24 words of at most 8 letters, 23 spaces and the NUL. */
#define ARB_BIP39_MNEMONIC_MAX 224
#define ARB_BIP39_SEED_SIZE 64

/* The i-th word of the English list, 0 <= i < 2048; NULL outside that range. */
const char *arb_bip39_word(unsigned i);

/* The index of a word of word_len bytes in the English list, or -1. */
int arb_bip39_word_index(const char *word, size_t word_len);

/* Writes the mnemonic for ent_len bytes of entropy into out (single spaces,
 * NUL-terminated). ent_len is 16, 20, 24, 28 or 32 (12 to 24 words); out_size
 * at least ARB_BIP39_MNEMONIC_MAX. Returns ARB_OK, ARB_ERR_INVALID_ARG or
 * ARB_ERR_CRYPTO. */
arb_err arb_bip39_from_entropy(char *out, size_t out_size, const uint8_t *ent, size_t ent_len)
    ARB_WARN_UNUSED;

/* Checks a mnemonic and recovers its entropy into ent32 (*ent_len = 16..32).
 * Words are separated by any run of ASCII whitespace; upper case is accepted.
 * Returns ARB_OK; ARB_ERR_PARSE for a word count other than 12, 15, 18, 21
 * or 24, or a word not in the list (eb says which); ARB_ERR_VERIFY for a bad
 * checksum. On failure ent32 is zeroed. eb may be NULL. */
arb_err arb_bip39_to_entropy(uint8_t ent32[static 32], size_t *ent_len, const char *mnemonic,
                             arb_errbuf *eb) ARB_WARN_UNUSED;

/* The 64-byte seed of a mnemonic (used as given; pass the canonical form from
 * arb_bip39_from_entropy) and passphrase ("" for none). Returns ARB_OK,
 * ARB_ERR_INVALID_ARG for non-ASCII text, or ARB_ERR_CRYPTO. */
arb_err arb_bip39_seed(uint8_t seed64[static 64], const char *mnemonic, const char *passphrase)
    ARB_WARN_UNUSED;

#endif
