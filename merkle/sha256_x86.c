/* Two SHA-256 compressions at once with the x86 SHA extensions, for the
 * mining midstate (merkle/hash_mid.c).
 *
 * OpenSSL's block function runs one chain of sha256rnds2 instructions, each
 * waiting on the one before; two independent nonces interleaved fill the gaps,
 * which is how the miner goes past what one call to the library can do per
 * block (tests/bench/bench_mine.c measures both). This is the round structure
 * of FIPS 180-4 6.2.2 mapped onto the instructions as Intel documents them
 * (the SHA extensions reference, "Intel SHA Extensions", 2013): state kept as
 * ABEF/CDGH, four rounds per two sha256rnds2, the schedule with sha256msg1 /
 * sha256msg2. Used only when CPUID reports SHA, SSSE3 and SSE4.1; tested
 * against OpenSSL in tests/unit/merkle/test_hash.c. */
#include "merkle/sha256_x86.h"

#ifdef ARB_SHA256_X86

#include <cpuid.h>
#include <immintrin.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

int arb_sha256_x86_available(void)
{
    unsigned a, b, c, d;

    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & bit_SSSE3) || !(c & bit_SSE4_1))
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b & (1u << 29)) != 0; /* CPUID.(EAX=7,ECX=0):EBX.SHA */
}

#define TARGET __attribute__((target("sha,ssse3,sse4.1")))

/* h (a..h in words 0..7) to the ABEF / CDGH register layout. */
TARGET static inline void load_state(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
    __m128i dcba = _mm_loadu_si128((const __m128i *)h);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)(h + 4));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    *abef = _mm_alignr_epi8(cdab, efgh, 8);
    *cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

TARGET static inline void store_state(uint32_t h[8], __m128i abef, __m128i cdgh)
{
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}

/* Four rounds on one state with message words w (already in lanes 0..3). */
#define ROUNDS4(abef, cdgh, w, i)                                                              \
    do {                                                                                       \
        __m128i m_ = _mm_add_epi32((w), _mm_loadu_si128((const __m128i *)(K + 4 * (i))));     \
        (cdgh) = _mm_sha256rnds2_epu32((cdgh), (abef), m_);                                    \
        (abef) = _mm_sha256rnds2_epu32((abef), (cdgh), _mm_shuffle_epi32(m_, 0x0E));           \
    } while (0)

/* The next four schedule words from the previous sixteen (w0 oldest). */
#define SCHEDULE(w0, w1, w2, w3)                                                               \
    _mm_sha256msg2_epu32(                                                                      \
        _mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)), _mm_alignr_epi8((w3), (w2), 4)), (w3))

TARGET void arb_sha256_x86_compress2(uint32_t ha[8], const uint32_t wa[16], uint32_t hb[8],
                                     const uint32_t wb[16])
{
    __m128i a0, a1, b0, b1, sa0, sa1, sb0, sb1;
    __m128i xa[4], xb[4];

    load_state(ha, &a0, &a1);
    load_state(hb, &b0, &b1);
    sa0 = a0, sa1 = a1, sb0 = b0, sb1 = b1;
    for (int i = 0; i < 4; i++) {
        xa[i] = _mm_loadu_si128((const __m128i *)(wa + 4 * i));
        xb[i] = _mm_loadu_si128((const __m128i *)(wb + 4 * i));
        ROUNDS4(a0, a1, xa[i], i);
        ROUNDS4(b0, b1, xb[i], i);
    }
#pragma GCC unroll 12
    for (int i = 4; i < 16; i++) {
        __m128i na = SCHEDULE(xa[i & 3], xa[(i + 1) & 3], xa[(i + 2) & 3], xa[(i + 3) & 3]);
        __m128i nb = SCHEDULE(xb[i & 3], xb[(i + 1) & 3], xb[(i + 2) & 3], xb[(i + 3) & 3]);
        xa[i & 3] = na;
        xb[i & 3] = nb;
        ROUNDS4(a0, a1, na, i);
        ROUNDS4(b0, b1, nb, i);
    }
    store_state(ha, _mm_add_epi32(a0, sa0), _mm_add_epi32(a1, sa1));
    store_state(hb, _mm_add_epi32(b0, sb0), _mm_add_epi32(b1, sb1));
}

#endif
