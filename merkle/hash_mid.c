/* The block-header midstate (merkle/hash.h).
 *
 * Mining hashes the same 80-byte header again and again with only the nonce
 * changed, so the cost that matters is the SHA-256 compression function
 * itself: two compressions per nonce once the first 64 bytes are absorbed.
 * OpenSSL 3's EVP interface has no call for one compression: a context copy
 * plus update plus final costs about as much again as the compressions
 * (measured by tests/bench/bench_mine.c). The low-level SHA256_Transform runs
 * OpenSSL's own block function (the same assembly, with the SHA extensions
 * where the CPU has them, that EVP uses underneath); it is deprecated in 3.0
 * but part of libcrypto's ABI for the whole 3.x series. We pad the two final
 * blocks ourselves (FIPS 180-4 5.1.1) and read the state words, which is
 * exactly what SHA-256 does, and test it against SHA-256d through EVP
 * (tests/unit/merkle/test_hash.c, and every block header of the shared
 * mainnet vectors). */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "merkle/hash.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "merkle/sha256_x86.h"

struct arb_sha256_mid {
    SHA256_CTX base;   /* state after the header's first 64 bytes */
    SHA256_CTX iv;     /* the initial state */
    SHA256_CTX work;   /* the block function reads and writes only h[] */
    uint8_t tail[64];  /* header bytes 64..79, then padding for 80 bytes */
    uint8_t outer[64]; /* the inner hash, then padding for 32 bytes */
    int x86;           /* two-way compression with the SHA extensions */
};

arb_err arb_sha256_mid_new(arb_sha256_mid **out)
{
    arb_sha256_mid *m;

    *out = NULL;
    m = calloc(1, sizeof *m);
    if (m == NULL)
        return ARB_ERR_NOMEM;
    if (!SHA256_Init(&m->iv) || !SHA256_Init(&m->base) || !SHA256_Init(&m->work)) {
        free(m);
        return ARB_ERR_CRYPTO;
    }
    /* 80 bytes = 640 bits; 32 bytes = 256 bits (big-endian bit lengths). */
    m->tail[16] = 0x80;
    m->tail[62] = 0x02;
    m->tail[63] = 0x80;
    m->outer[32] = 0x80;
    m->outer[62] = 0x01;
    m->outer[63] = 0x00;
#ifdef ARB_SHA256_X86
    m->x86 = arb_sha256_x86_available();
#endif
    *out = m;
    return ARB_OK;
}

void arb_sha256_mid_free(arb_sha256_mid *m)
{
    free(m);
}

void arb_sha256_mid_set(arb_sha256_mid *m, const uint8_t first64[static 64])
{
    m->base = m->iv;
    SHA256_Transform(&m->base, first64);
}

static void put_state(uint8_t out32[static 32], const SHA256_CTX *c)
{
    for (int i = 0; i < 8; i++) {
        uint32_t w = c->h[i];
        out32[4 * i] = (uint8_t)(w >> 24);
        out32[4 * i + 1] = (uint8_t)(w >> 16);
        out32[4 * i + 2] = (uint8_t)(w >> 8);
        out32[4 * i + 3] = (uint8_t)w;
    }
}

void arb_sha256_mid_header_hash(arb_sha256_mid *m, const uint8_t tail16[static 16],
                                uint8_t out32[static 32])
{
    SHA256_CTX *c = &m->work;

    memcpy(m->tail, tail16, 16);
    memcpy(c->h, m->base.h, sizeof c->h);
    SHA256_Transform(c, m->tail);
    put_state(m->outer, c);
    memcpy(c->h, m->iv.h, sizeof c->h);
    SHA256_Transform(c, m->outer);
    put_state(out32, c);
}

#ifdef ARB_SHA256_X86
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_words(uint8_t out32[static 32], const uint32_t h[8])
{
    for (int i = 0; i < 8; i++) {
        out32[4 * i] = (uint8_t)(h[i] >> 24);
        out32[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out32[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out32[4 * i + 3] = (uint8_t)h[i];
    }
}

/* Both headers through the two-way compression: the padded last block from
 * the midstate, then the padded inner hash from the initial state. */
static void header_hash2_x86(const arb_sha256_mid *m, const uint8_t tail_a[static 16],
                             const uint8_t tail_b[static 16], uint8_t out_a[static 32],
                             uint8_t out_b[static 32])
{
    uint32_t ha[8], hb[8], wa[16] = {0}, wb[16] = {0};

    for (int i = 0; i < 4; i++) {
        wa[i] = be32(tail_a + 4 * i);
        wb[i] = be32(tail_b + 4 * i);
    }
    wa[4] = wb[4] = 0x80000000u;
    wa[15] = wb[15] = 640;
    memcpy(ha, m->base.h, sizeof ha);
    memcpy(hb, m->base.h, sizeof hb);
    arb_sha256_x86_compress2(ha, wa, hb, wb);
    memcpy(wa, ha, sizeof ha);
    memcpy(wb, hb, sizeof hb);
    wa[8] = wb[8] = 0x80000000u;
    for (int i = 9; i < 15; i++)
        wa[i] = wb[i] = 0;
    wa[15] = wb[15] = 256;
    memcpy(ha, m->iv.h, sizeof ha);
    memcpy(hb, m->iv.h, sizeof hb);
    arb_sha256_x86_compress2(ha, wa, hb, wb);
    put_words(out_a, ha);
    put_words(out_b, hb);
}
#endif

void arb_sha256_mid_header_hash2(arb_sha256_mid *m, const uint8_t tail_a[static 16],
                                 const uint8_t tail_b[static 16], uint8_t out_a[static 32],
                                 uint8_t out_b[static 32])
{
#ifdef ARB_SHA256_X86
    if (m->x86) {
        header_hash2_x86(m, tail_a, tail_b, out_a, out_b);
        return;
    }
#endif
    arb_sha256_mid_header_hash(m, tail_a, out_a);
    arb_sha256_mid_header_hash(m, tail_b, out_b);
}

int arb_sha256_mid_accelerated(const arb_sha256_mid *m)
{
    return m->x86;
}
