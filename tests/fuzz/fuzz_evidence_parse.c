/* libFuzzer harness: misbehaviour report checking never crashes and always
 * explains its verdict. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "auditor/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_audit_ev_result res;
    arb_errbuf eb;
    arb_err e = arb_audit_evidence_check(&res, (const char *)data, size, NULL, &eb);
    if (res.reason[0] == '\0')
        abort();
    (void)e;
    return 0;
}
