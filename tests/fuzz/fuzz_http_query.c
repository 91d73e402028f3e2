/* Fuzzes query-string parsing and percent-decoding. Invariants: the decoder
 * never grows its input; a parsed query finds each of its own names; and the
 * decoded-piece path agrees with the raw parser on inputs without escapes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/api/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char *dec = malloc(size + 1);
    size_t n;
    arb_http_query q = {NULL, 0}, q2 = {NULL, 0};

    if (dec == NULL)
        return 0;
    if (arb_http_pct_decode(dec, &n, s, size)) {
        if (n > size || strlen(dec) != n)
            abort();
    } else if (dec[0] != '\0') {
        abort();
    }
    free(dec);

    if (arb_http_query_parse(&q, s, size) == ARB_OK) {
        for (size_t i = 0; i < q.n; i++)
            if (arb_http_query_get(&q, q.v[i].name) == NULL)
                abort();
        if (memchr(s, '%', size) == NULL && memchr(s, '+', size) == NULL &&
            memchr(s, '\0', size) == NULL) {
            size_t i = 0;
            while (i < size) {
                const char *amp = memchr(s + i, '&', size - i);
                size_t len = amp ? (size_t)(amp - (s + i)) : size - i;
                if (len && arb_http_query_add_decoded(&q2, s + i, len) != ARB_OK)
                    abort();
                i += len + (amp != NULL);
            }
            if (q2.n != q.n)
                abort();
            for (size_t k = 0; k < q.n; k++)
                if (strcmp(q.v[k].name, q2.v[k].name) || strcmp(q.v[k].value, q2.v[k].value))
                    abort();
        }
    }
    arb_http_query_clear(&q);
    arb_http_query_clear(&q2);
    return 0;
}
