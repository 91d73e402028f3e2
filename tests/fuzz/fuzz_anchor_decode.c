/* Fuzzes the log-anchor payload decoder and its check. Invariants: whatever
 * decodes re-encodes to exactly the input; a failed decode leaves the output
 * zeroed; the check of a decoded payload (as a first anchor, and after a
 * previous head of the same log taken from the input) returns OK, or VERIFY
 * with a reason, and never crashes. The anchored-head record decoder
 * round-trips too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_anchor *a = malloc(sizeof *a);
    arb_anchor_head hd, next, prev;
    arb_sha256 *h = NULL;
    arb_buf b = ARB_BUF_INIT;

    if (a == NULL || arb_sha256_new(&h) != ARB_OK)
        goto out;
    if (arb_anchor_decode(a, data, size, NULL) == ARB_OK) {
        const char *reason;
        arb_err err;
        if (arb_anchor_encode(&b, a) != ARB_OK)
            abort();
        if (b.len != size || memcmp(b.data, data, size) != 0)
            abort();
        err = arb_anchor_check(h, a, NULL, 1, &next, &reason);
        if (err == ARB_ERR_VERIFY ? reason == NULL : err != ARB_OK)
            abort();
        memset(&prev, 0, sizeof prev);
        arb_anchor_log_id(h, prev.log_id, a);
        prev.tree_size = a->tree_size / 2;
        prev.timestamp = a->timestamp / 2;
        memcpy(prev.root, a->root, 32);
        err = arb_anchor_check(h, a, &prev, 2, &next, &reason);
        if (err == ARB_ERR_VERIFY ? reason == NULL : err != ARB_OK)
            abort();
    } else {
        static const arb_anchor zero;
        if (memcmp(a, &zero, sizeof zero) != 0)
            abort();
    }
    if (arb_anchor_head_decode(&hd, data, size) == ARB_OK) {
        uint8_t rec[ARB_ANCHOR_REC_SIZE];
        arb_anchor_head_encode(rec, &hd);
        if (size != sizeof rec || memcmp(rec, data, size) != 0)
            abort();
    }
out:
    arb_buf_free(&b);
    arb_sha256_free(h);
    free(a);
    return 0;
}
