/* libFuzzer harness: log list (v3 schema) parsing never crashes, and a list
 * that parses has logs whose IDs match their keys. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/loglist.h"
#include "merkle/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_audit_loglist l;
    arb_errbuf eb;
    if (arb_audit_loglist_parse(&l, (const char *)data, size, &eb) == ARB_OK) {
        for (size_t i = 0; i < l.n; i++) {
            uint8_t h[32];
            arb_sha256 *e = NULL;
            if (arb_sha256_new(&e) != ARB_OK)
                abort();
            arb_sha256_digest(e, h, l.logs[i].key, l.logs[i].key_len);
            arb_sha256_free(e);
            if (memcmp(h, l.logs[i].log_id, 32) != 0 || l.logs[i].url == NULL)
                abort();
        }
        arb_audit_loglist_free(&l);
    }
    return 0;
}
