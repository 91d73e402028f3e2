#include "ledger/chain/bech32.h"

#include <ctype.h>
#include <strings.h>
#include <string.h>

static const char CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t pre)
{
    uint8_t b = (uint8_t)(pre >> 25);
    return ((pre & 0x1ffffff) << 5) ^ (-((b >> 0) & 1) & 0x3b6a57b2UL) ^
           (-((b >> 1) & 1) & 0x26508e6dUL) ^ (-((b >> 2) & 1) & 0x1ea119faUL) ^
           (-((b >> 3) & 1) & 0x3d4233ddUL) ^ (-((b >> 4) & 1) & 0x2a1462b3UL);
}

static uint32_t variant_const(arb_bech32_variant v)
{
    return v == ARB_BECH32M ? 0x2bc830a3 : 1;
}

/* BIP173 checksum over hrp (lowercase) and data. */
static uint32_t hrp_polymod(const char *hrp, size_t hrp_len)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < hrp_len; i++)
        chk = polymod_step(chk) ^ ((uint8_t)hrp[i] >> 5);
    chk = polymod_step(chk);
    for (size_t i = 0; i < hrp_len; i++)
        chk = polymod_step(chk) ^ ((uint8_t)hrp[i] & 0x1f);
    return chk;
}

int arb_bech32_encode(char *out, size_t out_size, const char *hrp, const uint8_t *data,
                      size_t data_len, arb_bech32_variant variant)
{
    size_t hrp_len = strlen(hrp), pos = 0;
    uint32_t chk;

    if (hrp_len < 1 || hrp_len > ARB_BECH32_MAX_HRP || hrp_len + 1 + data_len + 6 > 90 ||
        out_size < hrp_len + 1 + data_len + 7)
        return 0;
    chk = hrp_polymod(hrp, hrp_len);
    for (size_t i = 0; i < hrp_len; i++) {
        unsigned char ch = (unsigned char)hrp[i];
        if (ch < 33 || ch > 126 || (ch >= 'A' && ch <= 'Z'))
            return 0;
        out[pos++] = (char)ch;
    }
    out[pos++] = '1';
    for (size_t i = 0; i < data_len; i++) {
        if (data[i] >> 5)
            return 0;
        chk = polymod_step(chk) ^ data[i];
        out[pos++] = CHARSET[data[i]];
    }
    for (int i = 0; i < 6; i++)
        chk = polymod_step(chk);
    chk ^= variant_const(variant);
    for (int i = 0; i < 6; i++)
        out[pos++] = CHARSET[(chk >> ((5 - i) * 5)) & 31];
    out[pos] = '\0';
    return 1;
}

arb_err arb_bech32_decode(char hrp_out[static 84], uint8_t *data_out, size_t *data_len,
                          arb_bech32_variant *variant, const char *str, arb_errbuf *eb)
{
    size_t len = strlen(str), sep = 0, hrp_len;
    int lower = 0, upper = 0, found = 0;
    uint32_t chk;

    hrp_out[0] = '\0';
    *data_len = 0;
    if (len > ARB_BECH32_MAX_LEN)
        return arb_errf(eb, ARB_ERR_PARSE, "bech32: longer than 90 characters");
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)str[i];
        if (ch < 33 || ch > 126)
            return arb_errf(eb, ARB_ERR_PARSE, "bech32: character out of range at %zu", i);
        if (ch >= 'a' && ch <= 'z')
            lower = 1;
        if (ch >= 'A' && ch <= 'Z')
            upper = 1;
        if (ch == '1') {
            sep = i;
            found = 1;
        }
    }
    if (lower && upper)
        return arb_errf(eb, ARB_ERR_PARSE, "bech32: mixed case");
    if (!found)
        return arb_errf(eb, ARB_ERR_PARSE, "bech32: no separator");
    hrp_len = sep;
    if (hrp_len < 1)
        return arb_errf(eb, ARB_ERR_PARSE, "bech32: empty human-readable part");
    if (len - sep - 1 < 6)
        return arb_errf(eb, ARB_ERR_PARSE, "bech32: checksum too short");
    if (hrp_len > ARB_BECH32_MAX_HRP)
        return arb_errf(eb, ARB_ERR_PARSE, "bech32: human-readable part too long");
    for (size_t i = 0; i < hrp_len; i++)
        hrp_out[i] = (char)tolower((unsigned char)str[i]);
    hrp_out[hrp_len] = '\0';
    chk = hrp_polymod(hrp_out, hrp_len);
    for (size_t i = sep + 1; i < len; i++) {
        const char *p = strchr(CHARSET, tolower((unsigned char)str[i]));
        if (p == NULL) {
            hrp_out[0] = '\0';
            return arb_errf(eb, ARB_ERR_PARSE, "bech32: invalid data character '%c'", str[i]);
        }
        uint8_t v = (uint8_t)(p - CHARSET);
        chk = polymod_step(chk) ^ v;
        if (i + 6 < len)
            data_out[(*data_len)++] = v;
    }
    if (chk == variant_const(ARB_BECH32)) {
        *variant = ARB_BECH32;
    } else if (chk == variant_const(ARB_BECH32M)) {
        *variant = ARB_BECH32M;
    } else {
        hrp_out[0] = '\0';
        *data_len = 0;
        return arb_errf(eb, ARB_ERR_PARSE, "bech32: bad checksum");
    }
    return ARB_OK;
}

/* BIP173 convertbits. Returns 1, or 0 when padding rules are broken. */
static int convert_bits(uint8_t *out, size_t *out_len, int outbits, const uint8_t *in,
                        size_t in_len, int inbits, int pad)
{
    uint32_t val = 0;
    int bits = 0;
    uint32_t maxv = (((uint32_t)1) << outbits) - 1;

    *out_len = 0;
    for (size_t i = 0; i < in_len; i++) {
        val = (val << inbits) | in[i];
        bits += inbits;
        while (bits >= outbits) {
            bits -= outbits;
            out[(*out_len)++] = (uint8_t)((val >> bits) & maxv);
        }
    }
    if (pad) {
        if (bits)
            out[(*out_len)++] = (uint8_t)((val << (outbits - bits)) & maxv);
    } else if (((val << (outbits - bits)) & maxv) || bits >= inbits) {
        return 0;
    }
    return 1;
}

int arb_segwit_addr_encode(char *out, size_t out_size, const char *hrp, int version,
                           const uint8_t *prog, size_t prog_len)
{
    uint8_t data[65];
    size_t n;

    if (version < 0 || version > 16 || prog_len < 2 || prog_len > 40)
        return 0;
    if (version == 0 && prog_len != 20 && prog_len != 32)
        return 0;
    data[0] = (uint8_t)version;
    convert_bits(data + 1, &n, 5, prog, prog_len, 8, 1);
    return arb_bech32_encode(out, out_size, hrp, data, n + 1,
                             version == 0 ? ARB_BECH32 : ARB_BECH32M);
}

arb_err arb_segwit_addr_decode(int *version, uint8_t *prog, size_t *prog_len,
                               const char *expected_hrp, const char *addr, arb_errbuf *eb)
{
    char hrp[84];
    uint8_t data[ARB_BECH32_MAX_LEN];
    size_t n;
    arb_bech32_variant v;
    arb_err err;

    *version = -1;
    *prog_len = 0;
    if ((err = arb_bech32_decode(hrp, data, &n, &v, addr, eb)) != ARB_OK)
        return err;
    if (strcasecmp(hrp, expected_hrp) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "address: wrong network (hrp \"%s\")", hrp);
    if (n < 1 || data[0] > 16)
        return arb_errf(eb, ARB_ERR_PARSE, "address: bad witness version");
    if ((data[0] == 0) != (v == ARB_BECH32))
        return arb_errf(eb, ARB_ERR_PARSE, "address: wrong checksum variant for version %d",
                        data[0]);
    if (n - 1 > 64 || !convert_bits(prog, prog_len, 8, data + 1, n - 1, 5, 0) || *prog_len < 2 ||
        *prog_len > 40) {
        *prog_len = 0;
        return arb_errf(eb, ARB_ERR_PARSE, "address: bad program length or padding");
    }
    if (data[0] == 0 && *prog_len != 20 && *prog_len != 32) {
        *prog_len = 0;
        return arb_errf(eb, ARB_ERR_PARSE, "address: bad program length for version 0");
    }
    *version = data[0];
    return ARB_OK;
}

int arb_address_encode(char out[static ARB_ADDR_MAX], const char *hrp, const uint8_t key32[static 32])
{
    return arb_segwit_addr_encode(out, ARB_ADDR_MAX, hrp, 1, key32, 32);
}

arb_err arb_address_decode(uint8_t key32[static 32], const char *hrp, const char *addr,
                           arb_errbuf *eb)
{
    uint8_t prog[40];
    size_t n;
    int ver;
    arb_err err;

    memset(key32, 0, 32);
    if ((err = arb_segwit_addr_decode(&ver, prog, &n, hrp, addr, eb)) != ARB_OK)
        return err;
    if (ver != 1 || n != 32)
        return arb_errf(eb, ARB_ERR_PARSE, "address: not a version-1 32-byte key");
    memcpy(key32, prog, 32);
    return ARB_OK;
}
