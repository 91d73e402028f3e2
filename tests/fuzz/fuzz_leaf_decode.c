/* Fuzzes the MerkleTreeLeaf decoder, both extra_data decoders (x509
 * certificate chain, PrecertChainEntry) and static-ct-api data tiles. Invariant: what decodes re-encodes
 * to exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/log/ct.h"
#include "ledger/log/static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_ct_leaf leaf;
    arb_ct_cert_list l;
    arb_buf b = ARB_BUF_INIT;

    if (arb_ct_leaf_decode(&leaf, data, size) == ARB_OK) {
        if (arb_ct_leaf_encode(&b, &leaf) != ARB_OK || b.len != size ||
            memcmp(b.data, data, size) != 0)
            abort();
        arb_buf_free(&b);
    }
    if (arb_ct_x509_chain_decode(&l, data, size) == ARB_OK) {
        if (arb_ct_x509_chain_encode(&b, l.certs, l.n) != ARB_OK || b.len != size ||
            memcmp(b.data, data, size) != 0)
            abort();
        arb_buf_free(&b);
        arb_ct_cert_list_free(&l);
    }
    if (arb_ct_precert_chain_decode(&l, data, size) == ARB_OK) {
        if (l.n < 1 || arb_ct_precert_chain_encode(&b, &l.certs[0], l.certs + 1, l.n - 1) != ARB_OK ||
            b.len != size || memcmp(b.data, data, size) != 0)
            abort();
        arb_buf_free(&b);
        arb_ct_cert_list_free(&l);
    }
    {
        arb_cur c = arb_cur_make(data, size);
        arb_ct_tile_leaf t;
        uint64_t idx;
        while (arb_ct_tile_leaf_read(&t, &c) == ARB_OK) {
            if (arb_ct_tile_leaf_encode(&b, &t) != ARB_OK)
                abort();
            if (arb_ct_leaf_index_find(&idx, t.leaf.ext, t.leaf.ext_len) == ARB_OK &&
                idx > ARB_CT_LEAF_INDEX_MAX)
                abort();
        }
        arb_buf_free(&b);
    }
    return 0;
}
