/* libFuzzer harness: the light-client proof parser and verifier never crash,
 * a parsed proof re-encodes to one that parses to the same fields, and a
 * failed verification always names its reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/lightproof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static arb_sha256 *sha;
    arb_lightproof *lp = NULL, *back = NULL;
    arb_lightproof_trust t;
    arb_lightproof_result res;
    arb_errbuf eb;
    json_t *j;
    char *text;

    if (sha == NULL && arb_sha256_new(&sha) != ARB_OK)
        abort();
    if (arb_lightproof_parse(&lp, (const char *)data, size, &eb) != ARB_OK) {
        if (lp != NULL)
            abort();
        return 0;
    }
    j = arb_lightproof_to_json(lp);
    if (j == NULL)
        abort();
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL || arb_lightproof_parse(&back, text, strlen(text), &eb) != ARB_OK)
        abort();
    if (back->n_headers != lp->n_headers || back->height != lp->height ||
        back->coinbase_len != lp->coinbase_len ||
        memcmp(back->coinbase, lp->coinbase, lp->coinbase_len) != 0 ||
        back->smt_proof_len != lp->smt_proof_len || back->has_record != lp->has_record ||
        back->has_anchor_tx != lp->has_anchor_tx)
        abort();
    free(text);
    arb_lightproof_free(back);
    memset(&t, 0, sizeof t);
    t.params = arb_chain_params_get("regtest");
    t.checkpoint = lp->checkpoint;
    t.now = 1767225600 + 86400;
    if (arb_lightproof_verify(sha, lp, &t, NULL, &res, &eb) != ARB_OK && res.reason == NULL)
        abort();
    arb_lightproof_free(lp);
    return 0;
}
