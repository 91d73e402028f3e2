/* Fuzzes the gossip document parser (heads pulled from or pushed by other
 * auditors). Invariants: on success every head's STH is well-formed
 * (re-serialized and parsed again to the same value); on failure nothing is
 * returned. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/gossip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_audit_gossip_head *heads = (arb_audit_gossip_head *)1;
    size_t n = 99;
    arb_errbuf eb;

    if (arb_audit_gossip_parse(&heads, &n, (const char *)data, size, &eb) != ARB_OK) {
        if (heads != NULL || n != 0)
            abort();
        return 0;
    }
    if (n > ARB_AUDIT_GOSSIP_MAX_HEADS || (n > 0 && heads == NULL))
        abort();
    for (size_t i = 0; i < n; i++) {
        json_t *o = arb_audit_sth_to_json(&heads[i].sth);
        arb_audit_sth back;
        if (o == NULL || arb_audit_sth_from_json(&back, o, &eb) != ARB_OK ||
            !arb_audit_sth_equal(&back, &heads[i].sth))
            abort();
        json_decref(o);
    }
    free(heads);
    return 0;
}
