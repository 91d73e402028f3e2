/* Internals of the HTTP server shared with its tests and fuzz harnesses: the
 * request head and path parsers and the query-string model. Not part of the
 * public API. */
#ifndef ARB_LEDGER_API_HTTP_INTERNAL_H
#define ARB_LEDGER_API_HTTP_INTERNAL_H

#include <stddef.h>

#include "merkle/error.h"

/* Most query parameters a request may carry; more is a 400. */
#define ARB_HTTP_MAX_QUERY_PARAMS 64

typedef struct {
    char *name;  /* NUL-terminated, decoded */
    char *value; /* NUL-terminated, decoded; "" for "?flag" */
} arb_http_qparam;

typedef struct {
    arb_http_qparam *v;
    size_t n;
} arb_http_query;

/* A parsed request line and the headers the server acts on. Pointers point
 * into the parsed buffer. */
typedef struct {
    const char *meth; /* the method token, mlen bytes */
    size_t mlen;
    const char *target; /* the request target, tlen bytes (no spaces or controls) */
    size_t tlen;
    long long cl; /* Content-Length; -1: absent */
    int te;       /* a Transfer-Encoding header is present */
    int conn_close, conn_upgrade; /* Connection lists "close" / "upgrade" */
    int upgrade_ws;               /* Upgrade lists "websocket" */
    int ws_key;                   /* a non-empty Sec-WebSocket-Key */
    int expect_continue;          /* Expect: 100-continue */
    int nheaders;
} arb_http_head;

/* Parses a request line and header fields in buf[0..len): CRLF-separated
 * lines, without the empty line that ends them. Strict: single spaces in the
 * request line, a token method, "HTTP/1.0" or "HTTP/1.1", header names that
 * are tokens directly followed by ':', no control characters but tab in
 * values, no obsolete line folding, one Content-Length (repeats must agree,
 * at most 18 digits). Returns 0 (and *minor gets the HTTP/1 minor version),
 * 400 (malformed), 431 (more than 100 header fields) or 505 (another HTTP
 * version). */
int arb_http_head_parse(const char *buf, size_t len, arb_http_head *h, int *minor);

/* Percent-decodes a request path p[0..n) (no '+' rule in a path). Returns a
 * malloc'd NUL-terminated string, or NULL: a bad escape, %00 or a NUL byte
 * (*nomem 0), or
 * out of memory (*nomem 1). */
char *arb_http_path_decode(const char *p, size_t n, int *nomem);

/* Percent-decodes src[0..len) into dst (room for len + 1 bytes; the result is
 * NUL-terminated and never longer than the input). "%XY" with two hex digits
 * becomes one byte; '+' becomes a space (form encoding, as libwebsockets
 * decodes URL arguments), so a literal '+' must be sent as %2B. Returns 1, or 0 if
 * an escape is truncated or not hex, or decodes to NUL (a C string cannot hold
 * it); dst is then the empty string. *out_len gets the decoded length. */
int arb_http_pct_decode(char *dst, size_t *out_len, const char *src, size_t len);

/* Adds one parameter from an already-decoded "name=value" piece (split at the
 * first '='; no '=' means an empty value). Returns ARB_OK, ARB_ERR_NOMEM, or
 * ARB_ERR_PARSE when the limit of parameters is reached or the piece holds a
 * NUL byte. */
arb_err arb_http_query_add_decoded(arb_http_query *q, const char *piece, size_t len);

/* Parses a raw query string (without the '?'): pieces separated by '&', each
 * percent-decoded after splitting at its first raw '='. Empty pieces are
 * skipped. Returns ARB_OK, ARB_ERR_PARSE (bad escape, %00, too many
 * parameters; q is then emptied) or ARB_ERR_NOMEM. */
arb_err arb_http_query_parse(arb_http_query *q, const char *raw, size_t len);

/* The value of the first parameter called `name`, or NULL. */
const char *arb_http_query_get(const arb_http_query *q, const char *name);

/* Frees the parameters; q becomes empty. */
void arb_http_query_clear(arb_http_query *q);

#endif
