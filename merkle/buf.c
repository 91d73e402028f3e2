#include "merkle/buf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

void arb_buf_free(arb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void arb_buf_reset(arb_buf *b)
{
    b->len = 0;
}

int arb_buf_reserve(arb_buf *b, size_t n)
{
    size_t need, cap;
    uint8_t *p;

    if (b->oom)
        return 0;
    if (n > SIZE_MAX - b->len) {
        b->oom = 1;
        return 0;
    }
    need = b->len + n;
    if (need <= b->cap)
        return 1;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

int arb_buf_put(arb_buf *b, const void *p, size_t n)
{
    if (!arb_buf_reserve(b, n))
        return 0;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 1;
}

static int put_be(arb_buf *b, uint64_t v, int n)
{
    uint8_t t[8];
    for (int i = 0; i < n; i++)
        t[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return arb_buf_put(b, t, (size_t)n);
}

static int put_le(arb_buf *b, uint64_t v, int n)
{
    uint8_t t[8];
    for (int i = 0; i < n; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    return arb_buf_put(b, t, (size_t)n);
}

int arb_buf_u8(arb_buf *b, uint8_t v) { return arb_buf_put(b, &v, 1); }
int arb_buf_u16be(arb_buf *b, uint16_t v) { return put_be(b, v, 2); }
int arb_buf_u24be(arb_buf *b, uint32_t v) { return put_be(b, v, 3); }
int arb_buf_u32be(arb_buf *b, uint32_t v) { return put_be(b, v, 4); }
int arb_buf_u64be(arb_buf *b, uint64_t v) { return put_be(b, v, 8); }
int arb_buf_u16le(arb_buf *b, uint16_t v) { return put_le(b, v, 2); }
int arb_buf_u32le(arb_buf *b, uint32_t v) { return put_le(b, v, 4); }
int arb_buf_u64le(arb_buf *b, uint64_t v) { return put_le(b, v, 8); }

int arb_buf_compact(arb_buf *b, uint64_t v)
{
    if (v < 0xfd)
        return arb_buf_u8(b, (uint8_t)v);
    if (v <= 0xffff)
        return arb_buf_u8(b, 0xfd) && put_le(b, v, 2);
    if (v <= 0xffffffffu)
        return arb_buf_u8(b, 0xfe) && put_le(b, v, 4);
    return arb_buf_u8(b, 0xff) && put_le(b, v, 8);
}

uint8_t *arb_buf_take(arb_buf *b, size_t *len_out)
{
    uint8_t *p = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int arb_cur_get(arb_cur *c, void *out, size_t n)
{
    if (c->len < n)
        return 0;
    if (n > 0)
        memcpy(out, c->p, n);
    c->p += n;
    c->len -= n;
    return 1;
}

int arb_cur_skip(arb_cur *c, size_t n)
{
    if (c->len < n)
        return 0;
    c->p += n;
    c->len -= n;
    return 1;
}

int arb_cur_view(arb_cur *c, const uint8_t **out, size_t n)
{
    if (c->len < n)
        return 0;
    *out = c->p;
    c->p += n;
    c->len -= n;
    return 1;
}

static int get_be(arb_cur *c, uint64_t *v, int n)
{
    uint64_t r = 0;
    if (c->len < (size_t)n)
        return 0;
    for (int i = 0; i < n; i++)
        r = (r << 8) | c->p[i];
    c->p += n;
    c->len -= (size_t)n;
    *v = r;
    return 1;
}

static int get_le(arb_cur *c, uint64_t *v, int n)
{
    uint64_t r = 0;
    if (c->len < (size_t)n)
        return 0;
    for (int i = n - 1; i >= 0; i--)
        r = (r << 8) | c->p[i];
    c->p += n;
    c->len -= (size_t)n;
    *v = r;
    return 1;
}

int arb_cur_u8(arb_cur *c, uint8_t *v)
{
    return arb_cur_get(c, v, 1);
}

#define GETTER(name, fn, n, type)                                                                  \
    int name(arb_cur *c, type *v)                                                                  \
    {                                                                                              \
        uint64_t t;                                                                                \
        if (!fn(c, &t, n))                                                                         \
            return 0;                                                                              \
        *v = (type)t;                                                                              \
        return 1;                                                                                  \
    }
GETTER(arb_cur_u16be, get_be, 2, uint16_t)
GETTER(arb_cur_u24be, get_be, 3, uint32_t)
GETTER(arb_cur_u32be, get_be, 4, uint32_t)
GETTER(arb_cur_u64be, get_be, 8, uint64_t)
GETTER(arb_cur_u16le, get_le, 2, uint16_t)
GETTER(arb_cur_u32le, get_le, 4, uint32_t)
GETTER(arb_cur_u64le, get_le, 8, uint64_t)
#undef GETTER

int arb_cur_compact(arb_cur *c, uint64_t *v)
{
    arb_cur save = *c;
    uint8_t tag;
    uint64_t r;

    if (!arb_cur_u8(c, &tag))
        return 0;
    if (tag < 0xfd) {
        *v = tag;
        return 1;
    }
    if (tag == 0xfd) {
        if (!get_le(c, &r, 2) || r < 0xfd)
            goto bad;
    } else if (tag == 0xfe) {
        if (!get_le(c, &r, 4) || r <= 0xffff)
            goto bad;
    } else {
        if (!get_le(c, &r, 8) || r <= 0xffffffffu)
            goto bad;
    }
    *v = r;
    return 1;
bad:
    *c = save;
    return 0;
}

int arb_cur_tls_vec(arb_cur *c, size_t prefix_bytes, const uint8_t **out, size_t *len)
{
    arb_cur save = *c;
    uint64_t n;

    if (prefix_bytes < 1 || prefix_bytes > 3 || !get_be(c, &n, (int)prefix_bytes))
        return 0;
    if (!arb_cur_view(c, out, (size_t)n)) {
        *c = save;
        return 0;
    }
    *len = (size_t)n;
    return 1;
}

void arb_hex_encode(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int nibble(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int arb_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len)
{
    if (hex_len != 2 * out_len)
        return 0;
    for (size_t i = 0; i < out_len; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

arb_err arb_hex_decode_alloc(uint8_t **out, size_t *out_len, const char *hex)
{
    size_t n = strlen(hex);
    uint8_t *p;

    *out = NULL;
    *out_len = 0;
    if (n % 2 != 0)
        return ARB_ERR_PARSE;
    p = malloc(n / 2 + 1);
    if (p == NULL)
        return ARB_ERR_NOMEM;
    if (!arb_hex_decode(p, n / 2, hex, n)) {
        free(p);
        return ARB_ERR_PARSE;
    }
    *out = p;
    *out_len = n / 2;
    return ARB_OK;
}

char *arb_base64_encode(const uint8_t *in, size_t len)
{
    size_t n = 4 * ((len + 2) / 3);
    char *out;

    if (len > (SIZE_MAX / 4) * 3 - 3 || len > INT32_MAX)
        return NULL;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    out[n] = '\0';
    return out;
}

int arb_buf_base64(arb_buf *b, const uint8_t *in, size_t len)
{
    size_t n = 4 * ((len + 2) / 3);

    if (len > (SIZE_MAX / 4) * 3 - 3 || len > INT32_MAX) {
        b->oom = 1;
        return 0;
    }
    /* EVP_EncodeBlock writes a NUL after the n characters. */
    if (!arb_buf_reserve(b, n + 1))
        return 0;
    EVP_EncodeBlock(b->data + b->len, in, (int)len);
    b->len += n;
    return 1;
}

const int8_t arb_base64_value[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int b64val(unsigned char ch)
{
    return arb_base64_value[ch];
}

arb_err arb_base64_decode(uint8_t **out, size_t *out_len, const char *in, size_t in_len)
{
    uint8_t *p;
    size_t o = 0, pad = 0;

    *out = NULL;
    *out_len = 0;
    if (in_len % 4 != 0)
        return ARB_ERR_PARSE;
    if (in_len > 0 && in[in_len - 1] == '=')
        pad++;
    if (in_len > 1 && in[in_len - 2] == '=')
        pad++;
    p = malloc(in_len / 4 * 3 + 1);
    if (p == NULL)
        return ARB_ERR_NOMEM;
    /* Every quad but the last: four table lookups, one validity check. */
    for (size_t i = 0; i + 4 < in_len; i += 4) {
        int a = arb_base64_value[(unsigned char)in[i]], b = arb_base64_value[(unsigned char)in[i + 1]];
        int c = arb_base64_value[(unsigned char)in[i + 2]], d = arb_base64_value[(unsigned char)in[i + 3]];
        uint32_t w;
        if ((a | b | c | d) < 0)
            goto bad;
        w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        p[o++] = (uint8_t)(w >> 16);
        p[o++] = (uint8_t)(w >> 8);
        p[o++] = (uint8_t)w;
    }
    /* The last quad: padding, and no bits set beyond the data (canonical). */
    if (in_len >= 4) {
        const char *q = in + in_len - 4;
        int v[4];
        uint32_t w;
        for (int k = 0; k < 4; k++) {
            if (k >= 4 - (int)pad)
                v[k] = 0;
            else if ((v[k] = b64val((unsigned char)q[k])) < 0)
                goto bad;
        }
        w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        p[o++] = (uint8_t)(w >> 16);
        if (pad < 2)
            p[o++] = (uint8_t)(w >> 8);
        else if ((w >> 8 & 0xff) != 0)
            goto bad;
        if (pad < 1)
            p[o++] = (uint8_t)w;
        else if ((w & 0xff) != 0)
            goto bad;
    }
    *out = p;
    *out_len = o;
    return ARB_OK;
bad:
    free(p);
    return ARB_ERR_PARSE;
}
