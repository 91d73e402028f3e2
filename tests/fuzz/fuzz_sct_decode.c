/* Fuzzes the SCT, digitally-signed and SCT-list decoders.
 * Invariant: whatever decodes re-encodes to exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/log/ct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_ct_sct sct;
    arb_ct_dsig d;
    arb_ct_cert_ref *items;
    arb_ct_cert_list l;
    arb_buf b = ARB_BUF_INIT;
    size_t i;

    if (arb_ct_sct_decode(&sct, data, size) == ARB_OK) {
        if (arb_ct_sct_encode(&b, &sct) != ARB_OK || b.len != size || memcmp(b.data, data, size) != 0)
            abort();
        arb_buf_free(&b);
    }
    if (arb_ct_dsig_decode(&d, data, size) == ARB_OK) {
        if (arb_ct_dsig_encode(&b, &d) != ARB_OK || b.len != size || memcmp(b.data, data, size) != 0)
            abort();
        arb_buf_free(&b);
    }
    if (arb_ct_sct_list_decode(&l, data, size) == ARB_OK) {
        items = l.certs;
        for (i = 0; i < l.n; i++) {
            if (items[i].len == 0 || items[i].der < data || items[i].der + items[i].len > data + size)
                abort();
            arb_err e = arb_ct_sct_decode(&sct, items[i].der, items[i].len);
            (void)e;
        }
        arb_ct_cert_list_free(&l);
    }
    return 0;
}
