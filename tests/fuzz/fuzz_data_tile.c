/* Fuzzes the auditor's static-ct-api data tile parser. Input: one byte
 * (entry count - 1), five bytes (index of the first entry, big-endian), then
 * the tile. Invariants: a tile that parses re-encodes, entry by entry, to
 * exactly its bytes, every entry carries the index it must have, and its
 * leaf hash can be computed; a tile that does not parse leaves every output
 * entry zeroed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/datatile.h"
#include "merkle/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static arb_ct_tile_leaf out[256];
    static const arb_ct_tile_leaf zero;
    unsigned count;
    uint64_t first = 0;
    arb_errbuf eb;
    arb_buf b = ARB_BUF_INIT;
    arb_sha256 *h = NULL;

    if (size < 6)
        return 0;
    count = (unsigned)data[0] + 1;
    for (int i = 1; i < 6; i++)
        first = first << 8 | data[i];
    if (arb_audit_data_tile_parse(out, data + 6, size - 6, first, count, &eb) != ARB_OK) {
        for (unsigned i = 0; i < count; i++)
            if (memcmp(&out[i], &zero, sizeof zero) != 0)
                abort();
        return 0;
    }
    if (arb_sha256_new(&h) != ARB_OK)
        abort();
    for (unsigned i = 0; i < count; i++) {
        uint64_t idx;
        arb_hash lh;
        if (arb_ct_tile_leaf_encode(&b, &out[i]) != ARB_OK ||
            arb_ct_leaf_index_find(&idx, out[i].leaf.ext, out[i].leaf.ext_len) != ARB_OK ||
            idx != first + i || arb_ct_tile_leaf_hash(h, &lh, &out[i]) != ARB_OK)
            abort();
    }
    if (b.len != size - 6 || memcmp(b.data, data + 6, b.len) != 0)
        abort();
    arb_buf_free(&b);
    arb_sha256_free(h);
    return 0;
}
