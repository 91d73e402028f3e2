/* Fuzzes the signed-note parser and the verifiers behind it.
 * Invariants: parsing never crashes; whatever parses formats back to the same
 * bytes; verification against fixed keys of each type never crashes and only
 * succeeds with a signature line whose name and key ID match a key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/buf.h"
#include "merkle/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Public keys from the published test vectors (C2SP / golang.org/x/mod /
 * a static-ct-api test log). */
static const char *const vkeys[] = {
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN",
};
static const char log_spki_b64[] =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPIcer7RB32jt4bTEbhgUKLKvOctFD+I2hoDItFxUBlJiGFvftBuRk3fO7e1T7gC2ekyfL7XoO2oN/ObcZyc4EA==";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_note *n = NULL;
    arb_note_verifier *vs[3] = {NULL, NULL, NULL};
    arb_note_result res[3];
    uint8_t *out = NULL, *der = NULL;
    size_t out_len = 0, der_len = 0;

    if (arb_note_parse(&n, data, size, NULL) != ARB_OK)
        return 0;
    if (arb_note_format(&out, &out_len, n) != ARB_OK || out_len != size ||
        memcmp(out, data, size) != 0)
        abort();
    free(out);
    for (size_t k = 0; k < n->nsigs; k++) {
        const uint8_t *ds;
        size_t ds_len, jl;
        uint64_t ts;
        uint8_t *j;
        /* split then join gives the same bytes */
        if (arb_note_rfc6962_sig_split(n->sigs[k].sig, n->sigs[k].sig_len, &ts, &ds, &ds_len)) {
            if (arb_note_rfc6962_sig_join(&j, &jl, ts, ds, ds_len) != ARB_OK ||
                jl != n->sigs[k].sig_len || memcmp(j, n->sigs[k].sig, jl) != 0)
                abort();
            free(j);
        }
    }
    for (int i = 0; i < 2; i++)
        if (arb_note_verifier_from_vkey(&vs[i], vkeys[i], strlen(vkeys[i]), NULL) != ARB_OK)
            abort();
    if (arb_base64_decode(&der, &der_len, log_spki_b64, strlen(log_spki_b64)) != ARB_OK ||
        arb_note_verifier_rfc6962(&vs[2], "rome2026h1.example.org", der, der_len, NULL) != ARB_OK)
        abort();
    free(der);
    if (arb_note_verify(n, (const arb_note_verifier *const *)vs, 3, res, NULL) == ARB_OK) {
        int any = 0;
        for (int i = 0; i < 3; i++) {
            if (!res[i].verified)
                continue;
            any = 1;
            int found = 0;
            for (size_t k = 0; k < n->nsigs; k++)
                found |= n->sigs[k].key_id == arb_note_verifier_key_id(vs[i]) &&
                         strcmp(n->sigs[k].name, arb_note_verifier_name(vs[i])) == 0;
            if (!found)
                abort();
        }
        if (!any)
            abort();
    }
    for (int i = 0; i < 3; i++)
        arb_note_verifier_free(vs[i]);
    arb_note_free(n);
    return 0;
}
