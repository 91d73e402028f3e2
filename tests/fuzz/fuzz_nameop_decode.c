/* Fuzzes the name-layer decoders: operation payloads (first byte = payload
 * type) and the three record encodings. Invariants: whatever decodes
 * re-encodes to exactly the input; a failed decode leaves its output zeroed;
 * a decoded operation applied to empty records never crashes and either
 * succeeds or names a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/names/nameop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static void same(const arb_buf *b, const uint8_t *in, size_t len)
{
    if (b->oom)
        return;
    if (b->len != len || memcmp(b->data, in, len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_nameop op;
    arb_name_rec nr;
    arb_namespace_rec ns;
    arb_names_preorder_rec pr;
    arb_buf b = ARB_BUF_INIT;
    arb_sha256 *h;

    if (size == 0 || arb_sha256_new(&h) != ARB_OK)
        return 0;
    if (arb_nameop_decode(&op, data[0], data + 1, size - 1, NULL) == ARB_OK) {
        arb_names_view in, out;
        const char *reason;
        uint8_t sender[32] = {1};
        arb_err err;
        if (arb_nameop_encode(&b, &op) != ARB_OK)
            abort();
        same(&b, data + 1, size - 1);
        memset(&in, 0, sizeof in);
        err = arb_nameop_apply(h, arb_names_params_get("regtest"), &op, sender, 100, &in, &out,
                               &reason);
        if (err == ARB_ERR_VERIFY ? reason == NULL : err != ARB_OK)
            abort();
    } else if (!all_zero(&op, sizeof op)) {
        abort();
    }
    arb_buf_reset(&b);
    if (arb_names_name_rec_decode(&nr, data, size) == ARB_OK) {
        arb_names_name_rec_encode(&b, &nr);
        same(&b, data, size);
    } else if (!all_zero(&nr, sizeof nr)) {
        abort();
    }
    arb_buf_reset(&b);
    if (arb_names_ns_rec_decode(&ns, data, size) == ARB_OK) {
        arb_names_ns_rec_encode(&b, &ns);
        same(&b, data, size);
    } else if (!all_zero(&ns, sizeof ns)) {
        abort();
    }
    arb_buf_reset(&b);
    if (arb_names_preorder_rec_decode(&pr, data, size) == ARB_OK) {
        arb_names_preorder_rec_encode(&b, &pr);
        same(&b, data, size);
    }
    arb_buf_free(&b);
    arb_sha256_free(h);
    return 0;
}
