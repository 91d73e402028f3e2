/* Fuzzes arbor-audit's SCT reader (auditor/sct.h arb_audit_sct_parse): the
 * JSON answer of add-chain or a TLS-encoded SCT. Invariant: whatever parses
 * re-encodes (TLS) to an SCT that parses to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/sct.h"
#include "merkle/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_ct_sct sct, back;
    uint8_t *storage = NULL, *st2 = NULL;
    arb_buf b = ARB_BUF_INIT;
    arb_errbuf eb;

    if (arb_audit_sct_parse(&sct, &storage, data, size, &eb) == ARB_OK) {
        if (arb_ct_sct_encode(&b, &sct) != ARB_OK ||
            arb_audit_sct_parse(&back, &st2, b.data, b.len, &eb) != ARB_OK ||
            back.timestamp != sct.timestamp || memcmp(back.log_id, sct.log_id, 32) != 0 ||
            back.ext_len != sct.ext_len)
            abort();
        arb_buf_free(&b);
        free(st2);
    }
    free(storage);
    return 0;
}
