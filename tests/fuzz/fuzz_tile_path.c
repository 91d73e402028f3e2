/* Fuzzes the strict tile path parser. Invariant: whatever parses is in
 * canonical form, so formatting the parsed tile gives back the input bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/tile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_tile t;
    char buf[ARB_TILE_PATH_MAX];

    if (arb_tile_path_parse(&t, (const char *)data, size) != ARB_OK)
        return 0;
    if (t.width == 0 || t.width > ARB_TILE_WIDTH || t.level > ARB_TILE_MAX_LEVEL)
        abort();
    if (arb_tile_path(&t, buf, sizeof buf) != ARB_OK)
        abort();
    if (strlen(buf) != size || memcmp(buf, data, size) != 0)
        abort();
    /* The arithmetic on parsed values must not trip sanitizers either. */
    (void)arb_tile_width((uint64_t)t.index << 8 | t.width, t.level, t.index);
    return 0;
}
