#include "auditor/headers.h"

#include <string.h>

arb_err arb_audit_verify_headers(const arb_chain_params *p, uint32_t start_height,
                                 const uint8_t *data, size_t len, int64_t now,
                                 arb_audit_progress_fn progress, void *ud,
                                 arb_audit_headers_result *res)
{
    arb_hdrchain *c = NULL;
    arb_block_header h;
    size_t n;
    arb_err err;

    memset(res, 0, sizeof *res);
    if (len == 0 || len % ARB_HEADER_SIZE != 0)
        return arb_errf(&res->detail, ARB_ERR_PARSE,
                        "file size %zu is not a positive multiple of 80 bytes", len);
    n = len / ARB_HEADER_SIZE;
    if ((uint64_t)start_height + n - 1 > UINT32_MAX)
        return arb_errf(&res->detail, ARB_ERR_PARSE, "heights would pass 2^32");
    res->headers = n;
    arb_header_decode(&h, data);
    if ((err = arb_hdrchain_new(&c, p, start_height, &h)) != ARB_OK)
        return arb_errf(&res->detail, err, "%s", arb_err_str(err));
    for (size_t i = 1; i < n; i++) {
        arb_hash hash;
        arb_header_decode(&h, data + i * ARB_HEADER_SIZE);
        err = arb_hdrchain_add(c, &h, now, &hash, &res->reason, &res->detail);
        if (err == ARB_ERR_VERIFY) {
            res->failed = 1;
            res->bad_height = start_height + (uint32_t)i;
            res->bad_hash = hash;
            break;
        }
        if (err != ARB_OK) {
            arb_errf(&res->detail, err, "%s", arb_err_str(err));
            break;
        }
        res->checked++;
        if (progress != NULL && (i % 4096 == 0))
            progress(ud, i, n);
    }
    if (progress != NULL && err == ARB_OK)
        progress(ud, n, n);
    res->tip_height = arb_hdrchain_tip_height(c);
    arb_hdrchain_tip_hash(c, &res->tip_hash);
    arb_hdrchain_work(c, &res->work);
    arb_hdrchain_free(c);
    return err;
}
