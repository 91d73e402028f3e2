/* Base58 by repeated division, as in Bitcoin Core's base58.cpp: a big number
 * held in base 58 (encoding) or base 256 (decoding), quadratic in the length,
 * which is why inputs are bounded by ARB_BASE58_MAX_BYTES. */
#include "wallet/base58.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "wallet/crypto_internal.h"

static const char ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Maps an ASCII character to its digit, or -1. */
static int digit_of(unsigned char c)
{
    const char *p;

    if (c == 0)
        return -1;
    p = strchr(ALPHABET, c);
    return p ? (int)(p - ALPHABET) : -1;
}

arb_err arb_base58_encode(char *out, size_t out_size, const uint8_t *in, size_t len)
{
    size_t zeros = 0, size, length = 0, i, j, need;
    uint8_t *b58;

    if (out_size > 0)
        out[0] = '\0';
    if (len > ARB_BASE58_MAX_BYTES || out == NULL)
        return ARB_ERR_INVALID_ARG;
    while (zeros < len && in[zeros] == 0)
        zeros++;
    size = (len - zeros) * 138 / 100 + 1; /* log(256) / log(58), rounded up */
    b58 = calloc(size, 1);
    if (b58 == NULL)
        return ARB_ERR_NOMEM;
    for (i = zeros; i < len; i++) {
        unsigned carry = in[i];
        size_t k = 0;
        for (j = size; j-- > 0 && (carry != 0 || k < length); k++) {
            carry += 256u * b58[j];
            b58[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        length = k;
    }
    j = size - length;
    while (j < size && b58[j] == 0)
        j++;
    need = zeros + (size - j) + 1;
    if (need > out_size) {
        free(b58);
        return ARB_ERR_INVALID_ARG;
    }
    memset(out, '1', zeros);
    for (i = zeros; j < size; j++, i++)
        out[i] = ALPHABET[b58[j]];
    out[i] = '\0';
    OPENSSL_cleanse(b58, size);
    free(b58);
    return ARB_OK;
}

arb_err arb_base58_decode(uint8_t *out, size_t out_size, size_t *out_len, const char *str,
                          size_t str_len)
{
    size_t zeros = 0, size, length = 0, i, j, n;
    uint8_t *b256;

    *out_len = 0;
    if (str_len > ARB_BASE58_MAX_BYTES * 2)
        return ARB_ERR_PARSE;
    while (zeros < str_len && str[zeros] == '1')
        zeros++;
    size = (str_len - zeros) * 733 / 1000 + 1; /* log(58) / log(256), rounded up */
    b256 = calloc(size, 1);
    if (b256 == NULL)
        return ARB_ERR_NOMEM;
    for (i = zeros; i < str_len; i++) {
        int d = digit_of((unsigned char)str[i]);
        unsigned carry;
        size_t k = 0;
        if (d < 0) {
            free(b256);
            return ARB_ERR_PARSE;
        }
        carry = (unsigned)d;
        for (j = size; j-- > 0 && (carry != 0 || k < length); k++) {
            carry += 58u * b256[j];
            b256[j] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        length = k;
    }
    j = size - length;
    while (j < size && b256[j] == 0)
        j++;
    n = zeros + (size - j);
    if (n > out_size) {
        OPENSSL_cleanse(b256, size);
        free(b256);
        return ARB_ERR_PARSE;
    }
    memset(out, 0, zeros);
    memcpy(out + zeros, b256 + j, size - j);
    *out_len = n;
    OPENSSL_cleanse(b256, size);
    free(b256);
    return ARB_OK;
}

arb_err arb_base58check_encode(char *out, size_t out_size, const uint8_t *payload, size_t len)
{
    uint8_t *tmp;
    uint8_t h[32];
    arb_err err;

    if (out_size > 0)
        out[0] = '\0';
    if (len > ARB_BASE58_MAX_BYTES - 4)
        return ARB_ERR_INVALID_ARG;
    tmp = malloc(len + 4);
    if (tmp == NULL)
        return ARB_ERR_NOMEM;
    if (len > 0)
        memcpy(tmp, payload, len);
    if (!arb_wallet_sha256d(h, payload, len)) {
        free(tmp);
        return ARB_ERR_CRYPTO;
    }
    memcpy(tmp + len, h, 4);
    err = arb_base58_encode(out, out_size, tmp, len + 4);
    OPENSSL_cleanse(tmp, len + 4);
    free(tmp);
    return err;
}

arb_err arb_base58check_decode(uint8_t *out, size_t out_size, size_t *out_len, const char *str,
                               size_t str_len)
{
    uint8_t *tmp;
    size_t n = 0;
    uint8_t h[32];
    arb_err err;

    *out_len = 0;
    tmp = malloc(out_size + 4);
    if (tmp == NULL)
        return ARB_ERR_NOMEM;
    err = arb_base58_decode(tmp, out_size + 4, &n, str, str_len);
    if (err == ARB_OK && n < 4)
        err = ARB_ERR_PARSE;
    if (err == ARB_OK) {
        if (!arb_wallet_sha256d(h, tmp, n - 4))
            err = ARB_ERR_CRYPTO;
        else if (CRYPTO_memcmp(h, tmp + n - 4, 4) != 0) {
            err = ARB_ERR_VERIFY;
        } else {
            memcpy(out, tmp, n - 4);
            *out_len = n - 4;
        }
    }
    OPENSSL_cleanse(tmp, out_size + 4);
    free(tmp);
    return err;
}
