/* Fuzzes the request head parser and the path decoder of the HTTP server
 * directly (the http_request target reaches them through sockets, slowly).
 * Invariants: whatever is accepted lies inside the input and has the shape
 * the parser promises (a token method, a target without spaces or controls,
 * one header field per line after the request line, a Content-Length of at
 * most 18 digits); the answer is one of 0, 400, 431, 505; and the path
 * decoder agrees with a plain reference decoder written here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/api/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The reference: returns the decoded length, or -1 if malformed; out gets
 * the bytes (room for n). */
static long ref_decode(const char *p, size_t n, char *out)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\0')
            return -1;
        if (p[i] != '%') {
            out[j++] = p[i];
            continue;
        }
        if (n - i < 3 || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
            return -1;
        out[j] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
        if (out[j] == 0)
            return -1;
        j++;
        i += 2;
    }
    return (long)j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    arb_http_head h;
    int minor = -1, nomem = 0;
    int st = arb_http_head_parse(s, size, &h, &minor);

    if (st != 0 && st != 400 && st != 431 && st != 505)
        abort();
    if (st == 0) {
        size_t lines = 1;
        if (minor != 0 && minor != 1)
            abort();
        if (h.meth != s || h.mlen == 0 || h.mlen >= size || h.meth[h.mlen] != ' ')
            abort();
        if (h.target != h.meth + h.mlen + 1 || h.tlen == 0 || h.target + h.tlen > end)
            abort();
        for (size_t i = 0; i < h.tlen; i++)
            if ((unsigned char)h.target[i] <= 0x20 || (unsigned char)h.target[i] >= 0x7f)
                abort();
        if (h.cl < -1 || h.cl > 999999999999999999ll || h.nheaders > 100)
            abort();
        for (size_t i = 0; i + 1 < size; i++)
            lines += s[i] == '\r' && s[i + 1] == '\n';
        if (size >= 2 && s[size - 2] == '\r' && s[size - 1] == '\n')
            lines--; /* a final CRLF ends the last line; no empty field after it */
        if ((size_t)h.nheaders + 1 != lines)
            abort();
        /* Deterministic. */
        {
            arb_http_head h2;
            int m2 = -1;
            if (arb_http_head_parse(s, size, &h2, &m2) != 0 || m2 != minor ||
                memcmp(&h, &h2, sizeof h) != 0)
                abort();
        }
    }

    /* The path decoder, on the whole input as a path. */
    {
        char *ref = malloc(size + 1), *dec = arb_http_path_decode(s, size, &nomem);
        long n = ref ? ref_decode(s, size, ref) : -2;
        if (ref != NULL && !nomem) {
            if ((dec == NULL) != (n < 0))
                abort();
            if (dec != NULL && (strlen(dec) != (size_t)n || memcmp(dec, ref, (size_t)n) != 0))
                abort();
        }
        free(dec);
        free(ref);
    }
    return 0;
}
