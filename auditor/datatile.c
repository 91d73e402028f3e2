/* Data tiles; see datatile.h. */
#include "auditor/datatile.h"

#include <limits.h>
#include <string.h>

#include <openssl/x509.h>

#include "merkle/tile.h"

/* 1 if der[0..len) is exactly one DER X.509 certificate. */
static int one_certificate(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;

    if (len > LONG_MAX)
        return 0;
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL)
        return 0;
    X509_free(x);
    return p == der + len;
}

arb_err arb_audit_data_tile_parse(arb_ct_tile_leaf *out, const uint8_t *data, size_t len,
                                  uint64_t first_index, unsigned count, arb_errbuf *eb)
{
    arb_cur c = arb_cur_make(data, len);
    arb_err err = ARB_OK;
    unsigned i;

    if (count < 1 || count > ARB_TILE_WIDTH)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "data tile: %u entries asked", count);
    memset(out, 0, count * sizeof *out);
    for (i = 0; i < count && err == ARB_OK; i++) {
        uint64_t want = first_index + i, idx;
        arb_err e2;
        if (arb_ct_tile_leaf_read(&out[i], &c) != ARB_OK) {
            if (c.len == 0)
                err = arb_errf(eb, ARB_ERR_PARSE, "data tile: %u entries, want %u", i, count);
            else
                err = arb_errf(eb, ARB_ERR_PARSE, "data tile: entry %llu is not a TileLeaf",
                               (unsigned long long)want);
            break;
        }
        e2 = arb_ct_leaf_index_find(&idx, out[i].leaf.ext, out[i].leaf.ext_len);
        if (e2 != ARB_OK)
            err = arb_errf(eb, ARB_ERR_PARSE, "data tile: entry %llu has %s leaf_index extension",
                           (unsigned long long)want, e2 == ARB_ERR_NOT_FOUND ? "no" : "a malformed");
        else if (idx != want)
            err = arb_errf(eb, ARB_ERR_PARSE, "data tile: entry %llu says it is entry %llu",
                           (unsigned long long)want, (unsigned long long)idx);
        else if (out[i].leaf.entry.entry_type == ARB_CT_ENTRY_PRECERT &&
                 !one_certificate(out[i].precert, out[i].precert_len))
            err = arb_errf(eb, ARB_ERR_PARSE,
                           "data tile: entry %llu: pre_certificate is not a DER certificate",
                           (unsigned long long)want);
    }
    if (err == ARB_OK && c.len != 0)
        err = arb_errf(eb, ARB_ERR_PARSE, "data tile: %zu bytes after the %u entries", c.len,
                       count);
    if (err != ARB_OK)
        memset(out, 0, count * sizeof *out);
    return err;
}
