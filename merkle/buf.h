/* Byte buffers for codecs, after libbtc's serialize.h: serializers append to a
 * growable arb_buf; deserializers read from an arb_cur {ptr, len} cursor and
 * report success with 1 / failure with 0 without reading past the end.
 *
 * Little-endian helpers serve the ledger formats; big-endian ones serve the
 * TLS structures of RFC 6962. CompactSize is Bitcoin's variable-length integer,
 * and the reader rejects non-minimal encodings. */
#ifndef ARB_MERKLE_BUF_H
#define ARB_MERKLE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    int oom; /* set once an append failed; every later append is a no-op */
} arb_buf;

/* A zeroed arb_buf is a valid empty buffer. */
#define ARB_BUF_INIT {NULL, 0, 0, 0}

void arb_buf_free(arb_buf *b); /* frees the data and resets to empty */
void arb_buf_reset(arb_buf *b); /* len = 0, keeps the allocation */
/* Ensures room for n more bytes. Returns 1, or 0 (and sets oom) on failure. */
int arb_buf_reserve(arb_buf *b, size_t n);
/* Appends; on allocation failure sets b->oom and returns 0. Callers may append
 * many fields and check b->oom once at the end. */
int arb_buf_put(arb_buf *b, const void *p, size_t n);
int arb_buf_u8(arb_buf *b, uint8_t v);
int arb_buf_u16be(arb_buf *b, uint16_t v);
int arb_buf_u24be(arb_buf *b, uint32_t v);
int arb_buf_u32be(arb_buf *b, uint32_t v);
int arb_buf_u64be(arb_buf *b, uint64_t v);
int arb_buf_u16le(arb_buf *b, uint16_t v);
int arb_buf_u32le(arb_buf *b, uint32_t v);
int arb_buf_u64le(arb_buf *b, uint64_t v);
int arb_buf_compact(arb_buf *b, uint64_t v);
/* Takes the data out of b (the caller frees it) and leaves b empty. */
uint8_t *arb_buf_take(arb_buf *b, size_t *len_out);

typedef struct {
    const uint8_t *p;
    size_t len; /* bytes left */
} arb_cur;

static inline arb_cur arb_cur_make(const void *p, size_t len)
{
    arb_cur c = {(const uint8_t *)p, len};
    return c;
}

/* Readers return 1 and advance, or return 0 and leave the cursor unchanged. */
int arb_cur_get(arb_cur *c, void *out, size_t n);
int arb_cur_skip(arb_cur *c, size_t n);
/* Points *out at the next n bytes without copying. */
int arb_cur_view(arb_cur *c, const uint8_t **out, size_t n);
int arb_cur_u8(arb_cur *c, uint8_t *v);
int arb_cur_u16be(arb_cur *c, uint16_t *v);
int arb_cur_u24be(arb_cur *c, uint32_t *v);
int arb_cur_u32be(arb_cur *c, uint32_t *v);
int arb_cur_u64be(arb_cur *c, uint64_t *v);
int arb_cur_u16le(arb_cur *c, uint16_t *v);
int arb_cur_u32le(arb_cur *c, uint32_t *v);
int arb_cur_u64le(arb_cur *c, uint64_t *v);
/* CompactSize; fails on a non-minimal encoding. */
int arb_cur_compact(arb_cur *c, uint64_t *v);
/* TLS opaque vector with a 1/2/3-byte big-endian length prefix (RFC 5246 4.3). */
int arb_cur_tls_vec(arb_cur *c, size_t prefix_bytes, const uint8_t **out, size_t *len);

/* Hex: lowercase encoding; decoding accepts either case and needs an even
 * length. arb_hex_encode writes 2*len+1 bytes (NUL-terminated). */
void arb_hex_encode(char *out, const uint8_t *in, size_t len);
/* Decodes exactly out_len bytes from a hex string of length 2*out_len.
 * Returns 1 on success, 0 on a bad character or length. */
int arb_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len);
/* Allocating form: *out (free()) holds strlen(hex)/2 bytes. Returns ARB_OK,
 * ARB_ERR_PARSE or ARB_ERR_NOMEM. */
arb_err arb_hex_decode_alloc(uint8_t **out, size_t *out_len, const char *hex) ARB_WARN_UNUSED;

/* Standard base64 (RFC 4648 section 4, with padding). arb_base64_encode returns
 * a NUL-terminated malloc'd string or NULL on allocation failure. */
char *arb_base64_encode(const uint8_t *in, size_t len);
/* Appends the base64 of in[0..len) to b (no NUL). Returns 1, or 0 with b->oom
 * set. For building large JSON answers whose strings need no escaping. */
int arb_buf_base64(arb_buf *b, const uint8_t *in, size_t len);
/* The value of each byte in the standard base64 alphabet (RFC 4648 section
 * 4), -1 for every other byte, '=' included: for decoders of their own (a
 * streaming one decoding in place, say) that must accept what
 * arb_base64_decode accepts. */
extern const int8_t arb_base64_value[256];
/* Strict decoding: padding required, no whitespace, no trailing garbage.
 * Returns ARB_OK, ARB_ERR_PARSE or ARB_ERR_NOMEM; *out is freed with free(). */
arb_err arb_base64_decode(uint8_t **out, size_t *out_len, const char *in, size_t in_len)
    ARB_WARN_UNUSED;

#endif
