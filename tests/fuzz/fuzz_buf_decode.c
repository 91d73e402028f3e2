/* Fuzzes the low-level decoders: CompactSize, TLS vectors, hex and base64.
 * Invariant: whatever decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_cur c = arb_cur_make(data, size);
    uint64_t v;
    const uint8_t *p;
    size_t n;

    if (arb_cur_compact(&c, &v)) {
        arb_buf b = ARB_BUF_INIT;
        arb_buf_compact(&b, v);
        if (b.len != size - c.len || memcmp(b.data, data, b.len) != 0)
            abort();
        arb_buf_free(&b);
    }
    c = arb_cur_make(data, size);
    while (arb_cur_tls_vec(&c, 2, &p, &n))
        ;
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    uint8_t *d;
    if (arb_base64_decode(&d, &n, s, size) == 0) {
        char *e = arb_base64_encode(d, n);
        if (e == NULL || strlen(e) != size || memcmp(e, s, size) != 0)
            abort();
        free(e);
        free(d);
    }
    if (arb_hex_decode_alloc(&d, &n, s) == 0)
        free(d);
    free(s);
    return 0;
}
