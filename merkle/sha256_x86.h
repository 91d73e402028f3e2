/* SHA-256 compression with the x86 SHA extensions, two independent blocks at
 * a time (internal to the hashing core; the mining midstate uses it). */
#ifndef ARB_MERKLE_SHA256_X86_H
#define ARB_MERKLE_SHA256_X86_H

#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ARB_SHA256_X86 1

/* 1 when this CPU has the SHA extensions (and SSSE3, SSE4.1), else 0. */
int arb_sha256_x86_available(void);

/* ha = compress(ha, wa) and hb = compress(hb, wb): FIPS 180-4 6.2.2 steps
 * 1-4 on two states (words a..h) and two message blocks given as sixteen
 * 32-bit words each (already converted from big-endian bytes). Call only
 * when arb_sha256_x86_available(). */
void arb_sha256_x86_compress2(uint32_t ha[8], const uint32_t wa[16], uint32_t hb[8],
                              const uint32_t wb[16]);

#endif /* x86-64 */
#endif
