/* Fuzzes the RFC 6962 JSON parsers (add-chain request, SCT and STH answers).
 * Invariant: an SCT or STH that parses survives a build/parse round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/log/ctjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_ct_cert_list l;
    arb_ct_sct sct, sct2;
    arb_ct_dsig d;
    uint8_t *st = NULL, *st2 = NULL, root[32];
    uint64_t size1, ts;
    arb_errbuf eb;
    char *s;

    if (arb_ct_json_chain_parse(&l, (const char *)data, size, 10, 4096, &eb) == ARB_OK)
        arb_ct_json_chain_free(&l);
    if (arb_ct_json_sct_parse(&sct, &st, (const char *)data, size) == ARB_OK) {
        s = arb_ct_json_sct(&sct);
        if (s == NULL || arb_ct_json_sct_parse(&sct2, &st2, s, strlen(s)) != ARB_OK ||
            sct2.timestamp != sct.timestamp || sct2.sig.sig_len != sct.sig.sig_len ||
            memcmp(sct2.log_id, sct.log_id, 32) != 0)
            abort();
        free(s);
        free(st);
        free(st2);
    }
    if (arb_ct_json_sth_parse(&size1, &ts, root, &d, &st, (const char *)data, size) == ARB_OK) {
        s = arb_ct_json_sth(size1, ts, root, &d);
        if (s == NULL)
            abort();
        free(s);
        free(st);
    }
    return 0;
}
