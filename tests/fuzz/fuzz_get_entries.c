/* Fuzzes the get-entries decoders (auditor/entries.h). Input: one byte (the
 * most entries allowed - 1), then the answer. Invariant: the strict in-place
 * decoder, jansson and their combination agree (tests/unit/audit/
 * entries_diff.h): whatever the strict decoder accepts, jansson accepts with
 * the same entries; what it refuses it leaves untouched; the client's result
 * is always jansson's. */
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/audit/entries_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sok;

    if (size < 1)
        return 0;
    if (entries_diff(data + 1, size - 1, (size_t)data[0] + 1, &sok) == 0)
        abort();
    return 0;
}
