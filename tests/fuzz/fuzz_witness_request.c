/* Fuzzes the witness's add-checkpoint request parser (c2sp.org/tlog-witness
 * bodies come from anyone who can reach the witness). Invariants: on success
 * the body starts with the canonical "old <size>\n", the proof count is within
 * the limit, and the checkpoint is exactly the rest of the body after an empty
 * line; on failure a reason is given. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_hash proof[ARB_AUDIT_WITNESS_MAX_PROOF];
    uint64_t old = 0;
    size_t n = 0, note_len = 0;
    const uint8_t *note = NULL;
    char why[256] = "", head[40];
    int hl;

    if (!arb_audit_witness_parse_request(data, size, &old, proof, &n, &note, &note_len, why,
                                         sizeof why)) {
        if (why[0] == '\0')
            abort();
        return 0;
    }
    hl = snprintf(head, sizeof head, "old %" PRIu64 "\n", old);
    if (hl <= 0 || (size_t)hl > size || memcmp(data, head, (size_t)hl) != 0)
        abort();
    if (n > ARB_AUDIT_WITNESS_MAX_PROOF)
        abort();
    if (note < data + 1 || note > data + size || note + note_len != data + size)
        abort();
    if (note[-1] != '\n' || (note - 2 >= data && note[-2] != '\n'))
        abort();
    return 0;
}
