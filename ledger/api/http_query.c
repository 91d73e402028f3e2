/* Query strings: percent-decoding and name=value splitting (RFC 3986 2.1 for
 * the escapes; the application/x-www-form-urlencoded split on '&' and '='). */
#include <stdlib.h>
#include <string.h>

#include "ledger/api/http_internal.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int arb_http_pct_decode(char *dst, size_t *out_len, const char *src, size_t len)
{
    size_t i = 0, o = 0;

    while (i < len) {
        char c = src[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3 || (hi = hexval(src[i + 1])) < 0 || (lo = hexval(src[i + 2])) < 0)
                goto bad;
            c = (char)(hi << 4 | lo);
            i += 3;
        } else {
            if (c == '+')
                c = ' ';
            i++;
        }
        if (c == '\0')
            goto bad;
        dst[o++] = c;
    }
    dst[o] = '\0';
    if (out_len)
        *out_len = o;
    return 1;
bad:
    dst[0] = '\0';
    if (out_len)
        *out_len = 0;
    return 0;
}

static arb_err push(arb_http_query *q, char *name, char *value)
{
    arb_http_qparam *nv;

    if (q->n >= ARB_HTTP_MAX_QUERY_PARAMS) {
        free(name);
        free(value);
        return ARB_ERR_PARSE;
    }
    nv = realloc(q->v, (q->n + 1) * sizeof *nv);
    if (nv == NULL) {
        free(name);
        free(value);
        return ARB_ERR_NOMEM;
    }
    q->v = nv;
    q->v[q->n].name = name;
    q->v[q->n].value = value;
    q->n++;
    return ARB_OK;
}

static char *dup_n(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

arb_err arb_http_query_add_decoded(arb_http_query *q, const char *piece, size_t len)
{
    const char *eq;
    char *name, *value;
    size_t nlen;

    if (memchr(piece, '\0', len) != NULL)
        return ARB_ERR_PARSE;
    eq = memchr(piece, '=', len);
    nlen = eq ? (size_t)(eq - piece) : len;
    name = dup_n(piece, nlen);
    value = eq ? dup_n(eq + 1, len - nlen - 1) : dup_n("", 0);
    if (name == NULL || value == NULL) {
        free(name);
        free(value);
        return ARB_ERR_NOMEM;
    }
    return push(q, name, value);
}

arb_err arb_http_query_parse(arb_http_query *q, const char *raw, size_t len)
{
    size_t i = 0;
    arb_err err = ARB_OK;

    while (i < len) {
        const char *piece = raw + i, *amp = memchr(piece, '&', len - i), *eq;
        size_t plen = amp ? (size_t)(amp - piece) : len - i, nlen;
        char *name, *value;

        i += plen + (amp != NULL);
        if (plen == 0)
            continue;
        eq = memchr(piece, '=', plen);
        nlen = eq ? (size_t)(eq - piece) : plen;
        name = malloc(nlen + 1);
        value = malloc(eq ? plen - nlen : 1);
        if (name == NULL || value == NULL) {
            free(name);
            free(value);
            err = ARB_ERR_NOMEM;
            break;
        }
        if (!arb_http_pct_decode(name, NULL, piece, nlen) ||
            !arb_http_pct_decode(value, NULL, eq ? eq + 1 : "", eq ? plen - nlen - 1 : 0)) {
            free(name);
            free(value);
            err = ARB_ERR_PARSE;
            break;
        }
        if ((err = push(q, name, value)) != ARB_OK)
            break;
    }
    if (err != ARB_OK)
        arb_http_query_clear(q);
    return err;
}

const char *arb_http_query_get(const arb_http_query *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->v[i].name, name) == 0)
            return q->v[i].value;
    return NULL;
}

void arb_http_query_clear(arb_http_query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->v[i].name);
        free(q->v[i].value);
    }
    free(q->v);
    q->v = NULL;
    q->n = 0;
}
