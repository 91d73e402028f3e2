/* Proof-of-work arithmetic: 256-bit unsigned integers, Bitcoin's compact `bits`
 * encoding of a target, the work a target represents, and the retarget rule.
 *
 * Everything here is a pure function with Bitcoin Core's semantics
 * (arith_uint256.cpp SetCompact/GetCompact, pow.cpp CalculateNextWorkRequired,
 * PermittedDifficultyTransition, chain.cpp GetBlockProof). Thread-safe. */
#ifndef ARB_CHAIN_POW_H
#define ARB_CHAIN_POW_H

#include <stdint.h>

#include "merkle/hash.h"

/* A 256-bit unsigned integer, little-endian 32-bit limbs (w[0] least
 * significant). A copyable value. */
typedef struct {
    uint32_t w[8];
} arb_u256;

void arb_u256_zero(arb_u256 *a);
void arb_u256_from_u64(arb_u256 *a, uint64_t v);
/* Reads a hash as Bitcoin does (UintToArith256): the 32 bytes are a
 * little-endian number, so the byte-reversed display form reads big-endian. */
void arb_u256_from_hash(arb_u256 *a, const arb_hash *h);
void arb_u256_to_hash(arb_hash *h, const arb_u256 *a);
/* Big-endian 32 bytes, as a target is usually written. */
void arb_u256_from_be(arb_u256 *a, const uint8_t be32[static 32]);
void arb_u256_to_be(uint8_t be32[static 32], const arb_u256 *a);
/* Returns -1, 0 or 1. */
int arb_u256_cmp(const arb_u256 *a, const arb_u256 *b);
int arb_u256_is_zero(const arb_u256 *a);
/* r = a + b modulo 2^256; returns the carry out (0 or 1). r may alias a or b. */
int arb_u256_add(arb_u256 *r, const arb_u256 *a, const arb_u256 *b);
/* q = a / b (floor); b must be non-zero (returns 0 and leaves q zero if it is). */
int arb_u256_div(arb_u256 *q, const arb_u256 *a, const arb_u256 *b);
/* Number of significant bits (0 for zero). */
unsigned arb_u256_bits(const arb_u256 *a);
/* Lowercase hex without leading zeros ("0" for zero); out needs 65 bytes. */
void arb_u256_hex(char out[static 65], const arb_u256 *a);

/* Decodes compact bits (Bitcoin SetCompact). *negative and *overflow may be
 * NULL; they are set when the encoding has the sign bit with a non-zero
 * mantissa, or when the value does not fit in 256 bits. */
void arb_pow_bits_to_target(arb_u256 *target, uint32_t bits, int *negative, int *overflow);
/* Encodes a target (Bitcoin GetCompact); never sets the sign bit unless
 * `negative` is non-zero and the mantissa is non-zero. */
uint32_t arb_pow_target_to_bits(const arb_u256 *target, int negative);
/* Decodes bits into a usable target: returns 1 when bits is positive,
 * non-zero, fits in 256 bits and is <= pow_limit; 0 otherwise. */
int arb_pow_bits_valid(arb_u256 *target, uint32_t bits, const arb_u256 *pow_limit);
/* Returns 1 if hash (as a number) <= target (Bitcoin CheckProofOfWork). */
int arb_pow_hash_meets(const arb_hash *hash, const arb_u256 *target);
/* Expected number of hashes to meet bits: 2^256 / (target + 1), computed as
 * ~target / (target + 1) + 1 (Bitcoin GetBlockProof). Zero for invalid bits. */
void arb_pow_work(arb_u256 *work, uint32_t bits);

/* The retarget rule (Bitcoin CalculateNextWorkRequired): the actual timespan
 * last_time - first_time is clamped to [timespan/4, timespan*4], the old
 * target is scaled by actual/timespan and capped at pow_limit. The product is
 * computed in 288 bits, so unlike Core it cannot wrap for huge limits.
 * timespan must be > 0. */
uint32_t arb_pow_retarget(uint32_t last_bits, int64_t first_time, int64_t last_time,
                          uint32_t timespan, const arb_u256 *pow_limit);
/* Bitcoin PermittedDifficultyTransition for a retarget boundary: returns 1 if
 * new_bits lies within what any timespan could have produced from old_bits. */
int arb_pow_transition_permitted(uint32_t old_bits, uint32_t new_bits, uint32_t timespan,
                                 const arb_u256 *pow_limit);

#endif
