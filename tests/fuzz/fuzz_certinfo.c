/* Fuzzes the monitor's certificate reader (every logged certificate and
 * precertificate TBSCertificate goes through it). Invariants: the input read
 * as a certificate and as a TBSCertificate never crashes; whatever OpenSSL's
 * full d2i_X509 reads completely, the module reads too, with the same names,
 * subject and identity. */
#include <stdint.h>
#include <stdlib.h>

#include "auditor/match.h"
#include "tests/unit/audit/certinfo_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_audit_certinfo ci;
    arb_errbuf eb;
    int ok = arb_audit_certinfo_read(&ci, data, size, 0, &eb) == ARB_OK;
    int ref = certinfo_check(&ci, data, size);

    if (ref == 0 || (ref == 1 && !ok))
        abort();
    arb_audit_certinfo_clear(&ci);
    if (arb_audit_certinfo_read(&ci, data, size, 1, &eb) == ARB_OK)
        arb_audit_certinfo_clear(&ci);
    return 0;
}
