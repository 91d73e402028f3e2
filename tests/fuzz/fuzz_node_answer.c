/* Fuzzes the wallet's decoding of arbord's answers (first byte picks the
 * route, the rest is the body) and amount parsing. Invariant: a parsed
 * amount formats back to a string that parses to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wallet/node_internal.h"
#include "wallet/spend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_errbuf eb;
    char *s;
    uint64_t v = 0, w = 0;
    char f[ARB_AMOUNT_STR_MAX];

    if (size < 1 || size > (1u << 20))
        return 0;
    if (arb_node_decode_answer((arb_node_route)(data[0] % ARB_NODE_ROUTE_COUNT), data + 1,
                               size - 1, &eb) != ARB_OK && eb.msg[0] == '\0')
        abort(); /* every failure has a reason */
    s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if (arb_amount_parse(&v, s)) {
        arb_amount_format(f, sizeof(f), v);
        if (!arb_amount_parse(&w, f) || w != v)
            abort();
    }
    free(s);
    return 0;
}
