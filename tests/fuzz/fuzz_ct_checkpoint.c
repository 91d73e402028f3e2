/* Fuzzes the checkpoint (signed note with an RFC6962NoteSignature) verifier
 * with arbitrary text: it must never crash and never accept, since the fuzzer
 * cannot forge the key generated here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/log/key.h"
#include "ledger/log/static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static arb_ct_verifier *verifier;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t tree_size, ts;
    uint8_t root[32];
    arb_errbuf eb;

    if (verifier == NULL) {
        arb_ct_signer *s = NULL;
        char *pem = NULL;
        size_t len;
        if (arb_ct_signer_generate(&s, &eb) != ARB_OK ||
            arb_ct_signer_public_pem(s, &pem, &len) != ARB_OK ||
            arb_ct_verifier_from_pem(&verifier, pem, len, &eb) != ARB_OK)
            abort();
        free(pem);
        arb_ct_signer_free(s);
    }
    if (arb_ct_checkpoint_verify(verifier, "example.org/log", (const char *)data, size, &tree_size,
                                 root, &ts) == ARB_OK)
        abort();
    return 0;
}
