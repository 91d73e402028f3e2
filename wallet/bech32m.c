/* Bech32m after the reference code of BIP173 and BIP350 (polymod checksum
 * with the BIP350 constant 0x2bc830a3). */
#include "wallet/bech32m.h"

#include <string.h>

static const char CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
#define BECH32M_CONST 0x2bc830a3u

static uint32_t polymod_step(uint32_t pre)
{
    uint8_t b = (uint8_t)(pre >> 25);
    return ((pre & 0x1ffffffu) << 5) ^ (-((b >> 0) & 1u) & 0x3b6a57b2u) ^
           (-((b >> 1) & 1u) & 0x26508e6du) ^ (-((b >> 2) & 1u) & 0x1ea119fau) ^
           (-((b >> 3) & 1u) & 0x3d4233ddu) ^ (-((b >> 4) & 1u) & 0x2a1462b3u);
}

static uint32_t hrp_polymod(const char *hrp, size_t hl)
{
    uint32_t chk = 1;
    size_t i;

    for (i = 0; i < hl; i++)
        chk = polymod_step(chk) ^ ((unsigned char)hrp[i] >> 5);
    chk = polymod_step(chk);
    for (i = 0; i < hl; i++)
        chk = polymod_step(chk) ^ ((unsigned char)hrp[i] & 0x1f);
    return chk;
}

arb_err arb_bech32m_encode(char *out, size_t out_size, const char *hrp, const uint8_t *data5,
                           size_t data_len)
{
    size_t hl = strlen(hrp), i, pos = 0;
    uint32_t chk;

    if (out_size > 0)
        out[0] = '\0';
    if (hl < 1 || hl > 83 || hl + 1 + data_len + 6 > ARB_BECH32_MAX ||
        out_size < hl + 1 + data_len + 6 + 1)
        return ARB_ERR_INVALID_ARG;
    for (i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)hrp[i];
        if (c < 33 || c > 126 || (c >= 'A' && c <= 'Z'))
            return ARB_ERR_INVALID_ARG;
    }
    chk = hrp_polymod(hrp, hl);
    memcpy(out, hrp, hl);
    pos = hl;
    out[pos++] = '1';
    for (i = 0; i < data_len; i++) {
        if (data5[i] >> 5) {
            out[0] = '\0';
            return ARB_ERR_INVALID_ARG;
        }
        chk = polymod_step(chk) ^ data5[i];
        out[pos++] = CHARSET[data5[i]];
    }
    for (i = 0; i < 6; i++)
        chk = polymod_step(chk);
    chk ^= BECH32M_CONST;
    for (i = 0; i < 6; i++)
        out[pos++] = CHARSET[(chk >> ((5 - i) * 5)) & 31];
    out[pos] = '\0';
    return ARB_OK;
}

arb_err arb_bech32m_decode(char *hrp_out, size_t hrp_size, uint8_t *data5, size_t data_size,
                           size_t *data_len, const char *str)
{
    size_t len = strlen(str), i, sep, hl, dl;
    int lower = 0, upper = 0;
    uint32_t chk;
    char hrp[84];

    *data_len = 0;
    if (hrp_size > 0)
        hrp_out[0] = '\0';
    if (len > ARB_BECH32_MAX || len < 8)
        return ARB_ERR_PARSE;
    sep = len;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)str[i];
        if (c < 33 || c > 126)
            return ARB_ERR_PARSE;
        if (c >= 'a' && c <= 'z')
            lower = 1;
        if (c >= 'A' && c <= 'Z')
            upper = 1;
        if (c == '1')
            sep = i;
    }
    if (lower && upper)
        return ARB_ERR_PARSE;
    if (sep == len || sep < 1 || sep + 7 > len || sep > 83)
        return ARB_ERR_PARSE;
    hl = sep;
    for (i = 0; i < hl; i++) {
        char c = str[i];
        hrp[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    hrp[hl] = '\0';
    dl = len - sep - 1 - 6;
    if (dl > data_size || hl + 1 > hrp_size)
        return ARB_ERR_PARSE;
    chk = hrp_polymod(hrp, hl);
    for (i = sep + 1; i < len; i++) {
        char c = str[i];
        const char *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        p = strchr(CHARSET, c);
        if (p == NULL || c == '\0')
            return ARB_ERR_PARSE;
        chk = polymod_step(chk) ^ (uint32_t)(p - CHARSET);
        if (i < len - 6)
            data5[i - sep - 1] = (uint8_t)(p - CHARSET);
    }
    if (chk != BECH32M_CONST)
        return ARB_ERR_VERIFY;
    memcpy(hrp_out, hrp, hl + 1);
    *data_len = dl;
    return ARB_OK;
}

int arb_bech32_convert_bits(uint8_t *out, size_t out_size, size_t *out_len, int to_bits,
                            const uint8_t *in, size_t in_len, int from_bits, int pad)
{
    uint32_t acc = 0, maxv = (1u << to_bits) - 1;
    int bits = 0;
    size_t i, n = 0;

    *out_len = 0;
    for (i = 0; i < in_len; i++) {
        if (in[i] >> from_bits)
            return 0;
        acc = ((acc << from_bits) | in[i]) & 0xffffffu;
        bits += from_bits;
        while (bits >= to_bits) {
            bits -= to_bits;
            if (n == out_size)
                return 0;
            out[n++] = (uint8_t)((acc >> bits) & maxv);
        }
    }
    if (pad) {
        if (bits > 0) {
            if (n == out_size)
                return 0;
            out[n++] = (uint8_t)((acc << (to_bits - bits)) & maxv);
        }
    } else if (bits >= from_bits || ((acc << (to_bits - bits)) & maxv) != 0) {
        return 0;
    }
    *out_len = n;
    return 1;
}
