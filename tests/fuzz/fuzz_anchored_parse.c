/* libFuzzer harness: checking an anchored inclusion proof document
 * (auditor/anchored.h) never crashes, and a refusal always names its
 * reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/anchored.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static arb_sha256 *sha;
    arb_lightproof_trust t;
    arb_audit_anchored_result res;
    arb_errbuf eb;

    if (sha == NULL && arb_sha256_new(&sha) != ARB_OK)
        abort();
    memset(&t, 0, sizeof t); /* the document's network, the proof's own checkpoint */
    t.now = 1767225600 + 86400;
    if (arb_audit_anchored_check(sha, (const char *)data, size, &t, NULL, &res, &eb) != ARB_OK &&
        res.reason == NULL)
        abort();
    return 0;
}
