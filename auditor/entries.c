/* get-entries decoders; see entries.h. */
#include "auditor/entries.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "merkle/buf.h"

/* ---- the strict decoder ---- */

/* The base64 alphabet: arb_base64_value (merkle/buf.h), the table
 * arb_base64_decode uses. */
#define B64 arb_base64_value

typedef struct {
    const uint8_t *p, *end;
} cursor;

enum { K_NONE, K_ENTRIES, K_LEAF, K_EXTRA };

/* Skips JSON whitespace (RFC 8259 2: space, tab, line feed, carriage return). */
static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Whitespace, then the byte ch: consumes both and returns 1, else 0. */
static int lit(cursor *c, uint8_t ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* One character of a JSON string body at c->p (the caller has checked it is
 * not the closing quote): a plain byte or an escape (RFC 8259 7). Returns the
 * character when it is ASCII and not NUL, else -1: nothing outside ASCII can
 * be part of a key we know or of base64, so the decoder refuses there and
 * leaves the judgement (bad UTF-8, bad escape, or a value that is not
 * base64) to jansson. */
static int str_char(cursor *c)
{
    uint8_t ch = *c->p++;
    int v = 0;

    if (ch < 0x20 || ch >= 0x80)
        return -1;
    if (ch != '\\')
        return ch;
    if (c->p >= c->end)
        return -1;
    switch (ch = *c->p++) {
    case '"':
    case '\\':
    case '/':
        return ch;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'u':
        if (c->end - c->p < 4)
            return -1;
        for (int k = 0; k < 4; k++) {
            int h = hexval(c->p[k]);
            if (h < 0)
                return -1;
            v = v << 4 | h;
        }
        c->p += 4;
        return v >= 1 && v < 0x80 ? v : -1;
    default:
        return -1;
    }
}

/* A member name (whitespace, then a string): which of ours, or K_NONE. */
static int key(cursor *c)
{
    char k[12];
    size_t n = 0;

    if (!lit(c, '"'))
        return K_NONE;
    for (;;) {
        int ch;
        if (c->p >= c->end)
            return K_NONE;
        if (*c->p == '"') {
            c->p++;
            break;
        }
        if ((ch = str_char(c)) < 0 || n == sizeof k)
            return K_NONE;
        k[n++] = (char)ch;
    }
    if (n == 7 && memcmp(k, "entries", 7) == 0)
        return K_ENTRIES;
    if (n == 10 && memcmp(k, "leaf_input", 10) == 0)
        return K_LEAF;
    if (n == 10 && memcmp(k, "extra_data", 10) == 0)
        return K_EXTRA;
    return K_NONE;
}

/* A string value holding base64 that arb_base64_decode accepts: length a
 * multiple of 4, alphabet characters then at most two '=', and no bits set
 * beyond the data in the last quad. On success *raw is the string body
 * (between the quotes) and *raw_len its length; nothing is written. */
static int b64_value(cursor *c, const uint8_t **raw, size_t *raw_len)
{
    size_t n = 0, pad = 0;
    int q[4] = {0, 0, 0, 0};

    if (!lit(c, '"'))
        return 0;
    *raw = c->p;
    /* The common case first: a run of alphabet characters, then up to two
     * '=' and the closing quote. A string with an escape is read again from
     * its start by the general loop below. */
    while (c->p < c->end && B64[*c->p] >= 0)
        c->p++;
    n = (size_t)(c->p - *raw);
    while (c->p < c->end && *c->p == '=' && pad < 3) {
        c->p++;
        pad++;
    }
    if (c->p < c->end && *c->p == '"') {
        *raw_len = (size_t)(c->p - *raw);
        c->p++;
        if (pad > 2 || (n + pad) % 4 != 0)
            return 0;
        /* Canonical: "xx==" carries 8 bits, "xxx=" 16 (the character before
         * the padding holds the last bits). */
        if (pad == 2 && (B64[(*raw)[n - 1]] & 0x0f) != 0)
            return 0;
        if (pad == 1 && (B64[(*raw)[n - 1]] & 0x03) != 0)
            return 0;
        return 1;
    }
    if (c->p >= c->end || *c->p != '\\')
        return 0;
    c->p = *raw;
    n = 0;
    pad = 0;
    for (;;) {
        int ch;
        if (c->p >= c->end)
            return 0;
        if (*c->p == '"')
            break;
        if (*c->p == '\\') {
            if ((ch = str_char(c)) < 0)
                return 0;
        } else {
            ch = *c->p++;
        }
        if (ch == '=') {
            if (++pad > 2)
                return 0;
        } else if (pad > 0 || B64[ch] < 0) {
            return 0;
        } else {
            q[n & 3] = B64[ch];
        }
        n++;
    }
    *raw_len = (size_t)(c->p - *raw);
    c->p++;
    if (n % 4 != 0)
        return 0;
    /* Canonical: "xx==" carries 8 bits, "xxx=" 16. */
    if (pad == 2 && (q[1] & 0x0f) != 0)
        return 0;
    if (pad == 1 && (q[2] & 0x03) != 0)
        return 0;
    return 1;
}

/* Decodes a string body that b64_value accepted, in place: the bytes are
 * written from raw[0] on, never ahead of the characters still to be read
 * (3 bytes per 4 characters, and an escape is longer than its character).
 * Returns the number of bytes. */
static size_t b64_decode_in_place(uint8_t *raw, size_t raw_len)
{
    uint8_t *w = raw;
    cursor c = {raw, raw + raw_len};
    uint32_t acc = 0;
    int k = 0;

    if (memchr(raw, '\\', raw_len) == NULL) {
        /* No escapes: whole quads without padding. */
        while (c.end - c.p >= 4 && c.p[3] != '=') {
            acc = (uint32_t)B64[c.p[0]] << 18 | (uint32_t)B64[c.p[1]] << 12 |
                  (uint32_t)B64[c.p[2]] << 6 | (uint32_t)B64[c.p[3]];
            c.p += 4;
            w[0] = (uint8_t)(acc >> 16);
            w[1] = (uint8_t)(acc >> 8);
            w[2] = (uint8_t)acc;
            w += 3;
        }
        acc = 0;
    }
    while (c.p < c.end) {
        int ch = *c.p == '\\' ? str_char(&c) : *c.p++;
        if (ch == '=')
            break;
        acc = acc << 6 | (uint32_t)B64[ch];
        if (++k == 4) {
            w[0] = (uint8_t)(acc >> 16);
            w[1] = (uint8_t)(acc >> 8);
            w[2] = (uint8_t)acc;
            w += 3;
            acc = 0;
            k = 0;
        }
    }
    if (k == 3) {
        *w++ = (uint8_t)(acc >> 10);
        *w++ = (uint8_t)(acc >> 2);
    } else if (k == 2) {
        *w++ = (uint8_t)(acc >> 4);
    }
    return (size_t)(w - raw);
}

int arb_audit_entries_strict(arb_audit_entry_view *out, size_t *n, uint8_t *body, size_t len,
                             size_t max)
{
    cursor c = {body, body + len};
    size_t cnt = 0;

    *n = 0;
    /* Pass 1: the whole shape and every value, nothing written; the views
     * hold the raw string bodies meanwhile. */
    if (!lit(&c, '{') || key(&c) != K_ENTRIES || !lit(&c, ':') || !lit(&c, '['))
        return 0;
    for (;;) {
        arb_audit_entry_view *v = &out[cnt];
        int seen = 0;
        if (cnt == max || !lit(&c, '{'))
            return 0;
        for (int m = 0; m < 2; m++) {
            int k;
            if (m == 1 && !lit(&c, ','))
                return 0;
            k = key(&c);
            if ((k != K_LEAF && k != K_EXTRA) || (seen & (1 << k)) != 0 || !lit(&c, ':'))
                return 0;
            seen |= 1 << k;
            if (!(k == K_LEAF ? b64_value(&c, &v->leaf, &v->leaf_len)
                              : b64_value(&c, &v->extra, &v->extra_len)))
                return 0;
        }
        if (!lit(&c, '}'))
            return 0;
        cnt++;
        if (lit(&c, ','))
            continue;
        if (lit(&c, ']'))
            break;
        return 0;
    }
    if (!lit(&c, '}'))
        return 0;
    skip_ws(&c);
    if (c.p != c.end)
        return 0;

    /* Pass 2: decode; it cannot fail now. The strings are disjoint, so each
     * one is decoded over itself. */
    for (size_t i = 0; i < cnt; i++) {
        uint8_t *leaf = body + (out[i].leaf - body), *extra = body + (out[i].extra - body);
        out[i].leaf_len = b64_decode_in_place(leaf, out[i].leaf_len);
        out[i].extra_len = b64_decode_in_place(extra, out[i].extra_len);
    }
    *n = cnt;
    return 1;
}

/* ---- the general decoder ---- */

static arb_err b64_member(const json_t *o, const char *name, uint8_t **out, size_t *len)
{
    const json_t *v = json_object_get(o, name);
    *out = NULL;
    *len = 0;
    if (!json_is_string(v))
        return ARB_ERR_PARSE;
    return arb_base64_decode(out, len, json_string_value(v), json_string_length(v));
}

arb_err arb_audit_entries_json(const uint8_t *body, size_t len, size_t max, uint64_t start,
                               arb_audit_entry_fn fn, void *ud, uint64_t *got, const char *url,
                               arb_errbuf *eb)
{
    json_t *j, *entries, *e;
    json_error_t je;
    size_t i;
    arb_err err = ARB_OK;

    *got = 0;
    j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "%s: answer is not JSON (%s)", url, je.text);
    if (!json_is_object(j)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "%s: answer is not a JSON object", url);
        goto out;
    }
    entries = json_object_get(j, "entries");
    if (!json_is_array(entries) || json_array_size(entries) == 0 ||
        json_array_size(entries) > max) {
        err = arb_errf(eb, ARB_ERR_PARSE, "%s: \"entries\" missing, empty or too long", url);
        goto out;
    }
    json_array_foreach(entries, i, e) {
        uint8_t *leaf = NULL, *extra = NULL;
        size_t ll = 0, el = 0;
        if (b64_member(e, "leaf_input", &leaf, &ll) != ARB_OK ||
            b64_member(e, "extra_data", &extra, &el) != ARB_OK) {
            free(leaf);
            free(extra);
            err = arb_errf(eb, ARB_ERR_PARSE, "%s: entry %zu: leaf_input / extra_data not base64",
                           url, i);
            goto out;
        }
        err = fn(ud, start + i, leaf, ll, extra, el);
        free(leaf);
        free(extra);
        if (err != ARB_OK)
            goto out;
        (*got)++;
    }
out:
    json_decref(j);
    return err;
}

arb_err arb_audit_entries_decode(uint8_t *body, size_t len, size_t max, uint64_t start,
                                 arb_audit_entry_fn fn, void *ud, uint64_t *got, const char *url,
                                 arb_errbuf *eb)
{
    arb_audit_entry_view v[ARB_AUDIT_ENTRIES_BATCH];
    size_t n;

    *got = 0;
    if (max > ARB_AUDIT_ENTRIES_BATCH || !arb_audit_entries_strict(v, &n, body, len, max))
        return arb_audit_entries_json(body, len, max, start, fn, ud, got, url, eb);
    for (size_t i = 0; i < n; i++) {
        arb_err err = fn(ud, start + i, v[i].leaf, v[i].leaf_len, v[i].extra, v[i].extra_len);
        if (err != ARB_OK)
            return err;
        (*got)++;
    }
    return ARB_OK;
}
