/* Header validation (Bitcoin Core's CheckBlockHeader and
 * ContextualCheckBlockHeader): proof of work, difficulty (retarget), time
 * against the median of the previous 11 and the clock, and linkage.
 *
 * Each rejection names the broken rule with Bitcoin Core's reason string:
 *   high-hash            hash above the target, or bits negative, zero,
 *                        overflowing or above the proof-of-work limit
 *   prev-blk-not-found   the parent is unknown (or not the header before)
 *   bad-diffbits         bits differ from what the retarget rule gives
 *   time-too-old         time <= median time of the previous 11 headers
 *   time-too-new         time > now + max_future_time (2 hours)
 *   bad-version          (bitcoin rules) version below the BIP34/66/65 floor
 *
 * Ancestors are reached through a lookup callback so the same code serves a
 * header file (arb_hdrchain below) and the node's block index. Thread-safe
 * as long as the callback is. */
#ifndef ARB_CHAIN_HDRCHECK_H
#define ARB_CHAIN_HDRCHECK_H

#include <stdint.h>

#include "ledger/chain/header.h"
#include "ledger/chain/params.h"

typedef struct {
    arb_hash hash;
    uint32_t time;
    uint32_t bits;
} arb_hdr_info;

/* Fills *out with the header at `height` on the chain the checked header
 * extends and returns 1, or returns 0 if that header is not known. */
typedef int (*arb_hdr_lookup_fn)(void *ud, uint32_t height, arb_hdr_info *out);

/* Context-free check (proof of work). On failure returns ARB_ERR_VERIFY and
 * sets *reason to a static reason string; detail in eb. */
arb_err arb_header_check_pow(const arb_chain_params *p, const arb_hash *hash,
                             const arb_block_header *h, const char **reason, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* The bits the header at `height` must carry. Returns 1 and sets *bits when
 * they are determined; returns 0 when the first header of the retarget
 * period is unknown (the caller then checks arb_pow_transition_permitted). */
int arb_header_next_bits(const arb_chain_params *p, uint32_t height, const arb_hdr_info *parent,
                         arb_hdr_lookup_fn lookup, void *ud, uint32_t *bits);

/* Median time past of the (up to) 11 headers ending at `height` that lookup
 * knows. */
int64_t arb_header_median_time(uint32_t height, arb_hdr_lookup_fn lookup, void *ud);

/* Contextual checks of the header at `height` (>= 1): parent linkage, bits,
 * median time, future time, version floors. `now` is the current Unix time.
 * Returns ARB_OK or ARB_ERR_VERIFY (with *reason and eb). */
arb_err arb_header_check_context(const arb_chain_params *p, const arb_block_header *h,
                                 uint32_t height, arb_hdr_lookup_fn lookup, void *ud, int64_t now,
                                 const char **reason, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Both, in Bitcoin Core's order (proof of work first). hash is computed. */
arb_err arb_header_check(const arb_chain_params *p, arb_sha256 *sha, const arb_block_header *h,
                         uint32_t height, arb_hdr_lookup_fn lookup, void *ud, int64_t now,
                         arb_hash *hash_out, const char **reason, arb_errbuf *eb) ARB_WARN_UNUSED;

/* An in-memory header chain for checking a run of headers: the first header
 * is trusted at start_height; each added header is checked against the ones
 * before it and appended. Not thread-safe. */
typedef struct arb_hdrchain arb_hdrchain;

arb_err arb_hdrchain_new(arb_hdrchain **out, const arb_chain_params *p, uint32_t start_height,
                         const arb_block_header *first) ARB_WARN_UNUSED;
void arb_hdrchain_free(arb_hdrchain *c);
/* Checks h as the next header; on success appends it. Returns ARB_OK,
 * ARB_ERR_VERIFY (reason/eb set, chain unchanged) or ARB_ERR_NOMEM.
 * hash_out (may be NULL) receives the header's hash either way. */
arb_err arb_hdrchain_add(arb_hdrchain *c, const arb_block_header *h, int64_t now,
                         arb_hash *hash_out, const char **reason, arb_errbuf *eb) ARB_WARN_UNUSED;
uint32_t arb_hdrchain_tip_height(const arb_hdrchain *c);
void arb_hdrchain_tip_hash(const arb_hdrchain *c, arb_hash *out);
/* Work of every header after the trusted first one, summed. */
void arb_hdrchain_work(const arb_hdrchain *c, arb_u256 *out);

#endif
