#include "ledger/chain/pow.h"

#include <stdio.h>
#include <string.h>

void arb_u256_zero(arb_u256 *a)
{
    memset(a, 0, sizeof *a);
}

void arb_u256_from_u64(arb_u256 *a, uint64_t v)
{
    arb_u256_zero(a);
    a->w[0] = (uint32_t)v;
    a->w[1] = (uint32_t)(v >> 32);
}

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void arb_u256_from_hash(arb_u256 *a, const arb_hash *h)
{
    for (int i = 0; i < 8; i++)
        a->w[i] = rd32le(h->b + 4 * i);
}

void arb_u256_to_hash(arb_hash *h, const arb_u256 *a)
{
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            h->b[4 * i + j] = (uint8_t)(a->w[i] >> (8 * j));
}

void arb_u256_from_be(arb_u256 *a, const uint8_t be32[static 32])
{
    for (int i = 0; i < 8; i++) {
        const uint8_t *p = be32 + 28 - 4 * i;
        a->w[i] = (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
    }
}

void arb_u256_to_be(uint8_t be32[static 32], const arb_u256 *a)
{
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            be32[31 - 4 * i - j] = (uint8_t)(a->w[i] >> (8 * j));
}

int arb_u256_cmp(const arb_u256 *a, const arb_u256 *b)
{
    for (int i = 7; i >= 0; i--) {
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    }
    return 0;
}

int arb_u256_is_zero(const arb_u256 *a)
{
    for (int i = 0; i < 8; i++)
        if (a->w[i] != 0)
            return 0;
    return 1;
}

int arb_u256_add(arb_u256 *r, const arb_u256 *a, const arb_u256 *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 8; i++) {
        carry += (uint64_t)a->w[i] + b->w[i];
        r->w[i] = (uint32_t)carry;
        carry >>= 32;
    }
    return (int)carry;
}

static void sub(arb_u256 *r, const arb_u256 *a, const arb_u256 *b)
{
    int64_t borrow = 0;
    for (int i = 0; i < 8; i++) {
        int64_t d = (int64_t)a->w[i] - b->w[i] - borrow;
        borrow = d < 0;
        r->w[i] = (uint32_t)(d + (borrow ? ((int64_t)1 << 32) : 0));
    }
}

/* Shifts left by n bits (n < 256); bits beyond 2^256 are dropped. */
static void shl(arb_u256 *a, unsigned n)
{
    arb_u256 r;
    unsigned limbs = n / 32, bits = n % 32;
    arb_u256_zero(&r);
    for (int i = 7; i >= (int)limbs; i--) {
        uint64_t v = (uint64_t)a->w[i - limbs] << bits;
        r.w[i] |= (uint32_t)v;
        if (i + 1 < 8)
            r.w[i + 1] |= (uint32_t)(v >> 32);
    }
    *a = r;
}

static void shr(arb_u256 *a, unsigned n)
{
    arb_u256 r;
    unsigned limbs = n / 32, bits = n % 32;
    arb_u256_zero(&r);
    for (unsigned i = 0; i + limbs < 8; i++) {
        uint64_t v = a->w[i + limbs];
        if (i + limbs + 1 < 8)
            v |= (uint64_t)a->w[i + limbs + 1] << 32;
        r.w[i] = (uint32_t)(v >> bits);
    }
    *a = r;
}

unsigned arb_u256_bits(const arb_u256 *a)
{
    for (int i = 7; i >= 0; i--) {
        if (a->w[i] != 0) {
            unsigned n = 32;
            while (!(a->w[i] >> (n - 1)))
                n--;
            return 32 * (unsigned)i + n;
        }
    }
    return 0;
}

int arb_u256_div(arb_u256 *q, const arb_u256 *a, const arb_u256 *b)
{
    arb_u256 num = *a, div = *b, res;
    unsigned nb, db;
    int shift;

    arb_u256_zero(q);
    if (arb_u256_is_zero(b))
        return 0;
    nb = arb_u256_bits(&num);
    db = arb_u256_bits(&div);
    if (nb < db)
        return 1;
    arb_u256_zero(&res);
    shift = (int)(nb - db);
    shl(&div, (unsigned)shift);
    while (shift >= 0) {
        if (arb_u256_cmp(&num, &div) >= 0) {
            sub(&num, &num, &div);
            res.w[shift / 32] |= (uint32_t)1 << (shift % 32);
        }
        shr(&div, 1);
        shift--;
    }
    *q = res;
    return 1;
}

void arb_u256_hex(char out[static 65], const arb_u256 *a)
{
    char tmp[65];
    size_t i = 0;
    for (int k = 7; k >= 0; k--)
        snprintf(tmp + 8 * (7 - k), 9, "%08x", a->w[k]);
    while (i < 63 && tmp[i] == '0')
        i++;
    memcpy(out, tmp + i, 65 - i);
}

void arb_pow_bits_to_target(arb_u256 *target, uint32_t bits, int *negative, int *overflow)
{
    unsigned size = bits >> 24;
    uint32_t word = bits & 0x007fffff;

    if (size <= 3) {
        word >>= 8 * (3 - size);
        arb_u256_from_u64(target, word);
    } else {
        arb_u256_from_u64(target, word);
        if (8 * (size - 3) >= 256)
            arb_u256_zero(target);
        else
            shl(target, 8 * (size - 3));
    }
    if (negative != NULL)
        *negative = word != 0 && (bits & 0x00800000) != 0;
    if (overflow != NULL)
        *overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) ||
                                  (word > 0xffff && size > 32));
}

uint32_t arb_pow_target_to_bits(const arb_u256 *target, int negative)
{
    unsigned size = (arb_u256_bits(target) + 7) / 8;
    uint32_t compact;

    if (size <= 3) {
        compact = target->w[0] << (8 * (3 - size));
    } else {
        arb_u256 t = *target;
        shr(&t, 8 * (size - 3));
        compact = t.w[0];
    }
    if (compact & 0x00800000) {
        compact >>= 8;
        size++;
    }
    compact |= (uint32_t)size << 24;
    if (negative && (compact & 0x007fffff))
        compact |= 0x00800000;
    return compact;
}

int arb_pow_bits_valid(arb_u256 *target, uint32_t bits, const arb_u256 *pow_limit)
{
    int neg, ovf;
    arb_pow_bits_to_target(target, bits, &neg, &ovf);
    if (neg || ovf || arb_u256_is_zero(target) || arb_u256_cmp(target, pow_limit) > 0)
        return 0;
    return 1;
}

int arb_pow_hash_meets(const arb_hash *hash, const arb_u256 *target)
{
    arb_u256 h;
    arb_u256_from_hash(&h, hash);
    return arb_u256_cmp(&h, target) <= 0;
}

void arb_pow_work(arb_u256 *work, uint32_t bits)
{
    arb_u256 target, inv, t1, one;
    int neg, ovf;

    arb_pow_bits_to_target(&target, bits, &neg, &ovf);
    arb_u256_zero(work);
    if (neg || ovf || arb_u256_is_zero(&target))
        return;
    for (int i = 0; i < 8; i++)
        inv.w[i] = ~target.w[i];
    arb_u256_from_u64(&one, 1);
    arb_u256_add(&t1, &target, &one); /* cannot wrap: target < 2^256 - 1 here */
    if (arb_u256_is_zero(&t1))
        return;
    arb_u256_div(work, &inv, &t1);
    arb_u256_add(work, work, &one);
}

/* r = a * m / d in 288-bit intermediate precision; saturates to 2^256-1 if the
 * quotient does not fit (the caller caps it at the proof-of-work limit). */
static void muldiv(arb_u256 *r, const arb_u256 *a, uint32_t m, uint32_t d)
{
    uint32_t p[9];
    uint64_t carry = 0, rem = 0;

    for (int i = 0; i < 8; i++) {
        carry += (uint64_t)a->w[i] * m;
        p[i] = (uint32_t)carry;
        carry >>= 32;
    }
    p[8] = (uint32_t)carry;
    for (int i = 8; i >= 0; i--) {
        uint64_t cur = (rem << 32) | p[i];
        p[i] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    if (p[8] != 0) {
        memset(r->w, 0xff, sizeof r->w);
        return;
    }
    memcpy(r->w, p, sizeof r->w);
}

uint32_t arb_pow_retarget(uint32_t last_bits, int64_t first_time, int64_t last_time,
                          uint32_t timespan, const arb_u256 *pow_limit)
{
    int64_t actual = last_time - first_time;
    arb_u256 t;

    if (actual < timespan / 4)
        actual = timespan / 4;
    if (actual > (int64_t)timespan * 4)
        actual = (int64_t)timespan * 4;
    arb_pow_bits_to_target(&t, last_bits, NULL, NULL);
    muldiv(&t, &t, (uint32_t)actual, timespan);
    if (arb_u256_cmp(&t, pow_limit) > 0)
        t = *pow_limit;
    return arb_pow_target_to_bits(&t, 0);
}

int arb_pow_transition_permitted(uint32_t old_bits, uint32_t new_bits, uint32_t timespan,
                                 const arb_u256 *pow_limit)
{
    arb_u256 observed, bound, t;

    arb_pow_bits_to_target(&observed, new_bits, NULL, NULL);
    /* Largest target: the slowest possible period. */
    arb_pow_bits_to_target(&t, old_bits, NULL, NULL);
    muldiv(&t, &t, timespan * 4, timespan);
    if (arb_u256_cmp(&t, pow_limit) > 0)
        t = *pow_limit;
    arb_pow_bits_to_target(&bound, arb_pow_target_to_bits(&t, 0), NULL, NULL);
    if (arb_u256_cmp(&bound, &observed) < 0)
        return 0;
    /* Smallest target: the fastest possible period. */
    arb_pow_bits_to_target(&t, old_bits, NULL, NULL);
    muldiv(&t, &t, timespan / 4, timespan);
    if (arb_u256_cmp(&t, pow_limit) > 0)
        t = *pow_limit;
    arb_pow_bits_to_target(&bound, arb_pow_target_to_bits(&t, 0), NULL, NULL);
    if (arb_u256_cmp(&bound, &observed) > 0)
        return 0;
    return 1;
}
