/* Fuzzes the monitor's certificate reader (every logged certificate and
 * precertificate TBSCertificate goes through it). Invariants: the input read
 * as a certificate and as a TBSCertificate never crashes; whatever OpenSSL's
 * full d2i_X509 reads completely, the module reads too, with the same names,
 * subject and identity; and the fast reader and the reference reader (OpenSSL's
 * decoders) give the same answer: both fail, or both succeed with the same
 * names, subject and identity. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/match.h"
#include "tests/unit/audit/certinfo_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_as_reference(const uint8_t *data, size_t size, int is_tbs)
{
    arb_audit_certinfo a, b;
    arb_errbuf eb;
    arb_err ea = arb_audit_certinfo_read_ex(&a, data, size, is_tbs, 0, &eb);
    arb_err eb2 = arb_audit_certinfo_read_ex(&b, data, size, is_tbs, ARB_CERTINFO_REFERENCE, &eb);

    if ((ea == ARB_OK) != (eb2 == ARB_OK))
        abort();
    if (ea == ARB_OK) {
        if (a.n != b.n || memcmp(a.id, b.id, 32) != 0 || strcmp(a.subject, b.subject) != 0)
            abort();
        for (size_t i = 0; i < a.n; i++)
            if (strcmp(a.names[i], b.names[i]) != 0)
                abort();
    }
    arb_audit_certinfo_clear(&a);
    arb_audit_certinfo_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    same_as_reference(data, size, 0);
    same_as_reference(data, size, 1);
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
