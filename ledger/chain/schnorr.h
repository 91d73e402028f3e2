/* BIP340 Schnorr signatures over secp256k1, through libsecp256k1's schnorrsig
 * and extrakeys modules. The context is created with SECP256K1_CONTEXT_NONE
 * and randomized once at creation (side-channel blinding for signing).
 *
 * Thread-safety: after arb_schnorr_new returns, verification and public-key
 * derivation only read the context and may run from many threads at once;
 * signing also only reads it (libsecp256k1 contexts are immutable after
 * randomization), so one context serves a whole process. */
#ifndef ARB_CHAIN_SCHNORR_H
#define ARB_CHAIN_SCHNORR_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct arb_schnorr arb_schnorr;

/* Returns ARB_OK, ARB_ERR_NOMEM or ARB_ERR_CRYPTO (no randomness or library
 * failure). *out is NULL on failure. */
arb_err arb_schnorr_new(arb_schnorr **out) ARB_WARN_UNUSED;
void arb_schnorr_free(arb_schnorr *s);

/* x-only public key of a secret key. Returns 1, or 0 if seckey32 is zero or
 * not below the group order. */
int arb_schnorr_pubkey(const arb_schnorr *s, uint8_t pub32[static 32],
                       const uint8_t seckey32[static 32]) ARB_WARN_UNUSED;
/* BIP340 Sign of an arbitrary-length message with auxiliary randomness aux32
 * (may be NULL: BIP340 then uses no aux data). Returns 1, or 0 for an invalid
 * secret key. The signature is verified before it is returned. */
int arb_schnorr_sign(const arb_schnorr *s, uint8_t sig64[static 64], const uint8_t *msg,
                     size_t msg_len, const uint8_t seckey32[static 32],
                     const uint8_t *aux32) ARB_WARN_UNUSED;
/* BIP340 Verify. Returns 1 if valid, 0 otherwise (including a public key that
 * is not an x coordinate on the curve). */
int arb_schnorr_verify(const arb_schnorr *s, const uint8_t sig64[static 64], const uint8_t *msg,
                       size_t msg_len, const uint8_t pub32[static 32]) ARB_WARN_UNUSED;

#endif
