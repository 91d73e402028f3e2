/* Fuzzes the tlog-tiles path parser. Invariant: a path that parses is
 * canonical, so formatting the parsed values gives the input back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/log/static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), out[64];
    int is_data;
    unsigned level, width;
    uint64_t n;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    if (arb_ct_tile_path_parse(s, &is_data, &level, &n, &width) == ARB_OK) {
        arb_ct_tile_path_format(out, is_data, level, n, width);
        if (strcmp(out, s) != 0 || width > 255)
            abort();
    }
    free(s);
    return 0;
}
