#include "ledger/chain/block.h"

#include <stdlib.h>
#include <string.h>

void arb_block_init(arb_block *b)
{
    memset(b, 0, sizeof *b);
}

void arb_block_clear(arb_block *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n_tx; i++)
        arb_tx_clear(&b->tx[i]);
    free(b->tx);
    memset(b, 0, sizeof *b);
}

void arb_block_write(arb_buf *out, const arb_block *b)
{
    uint8_t hdr[ARB_HEADER_SIZE];
    arb_header_encode(hdr, &b->header);
    arb_buf_put(out, hdr, sizeof hdr);
    arb_buf_compact(out, b->n_tx);
    for (size_t i = 0; i < b->n_tx; i++)
        arb_tx_write(out, &b->tx[i], 1);
}

size_t arb_block_size(const arb_block *b)
{
    size_t n = ARB_HEADER_SIZE + (b->n_tx < 0xfd ? 1 : b->n_tx <= 0xffff ? 3 : 5);
    for (size_t i = 0; i < b->n_tx; i++)
        n += arb_tx_size(&b->tx[i]);
    return n;
}

arb_err arb_block_decode(arb_block *b, const uint8_t *data, size_t len, arb_errbuf *eb)
{
    arb_cur c = arb_cur_make(data, len);
    const uint8_t *hdr;
    uint64_t n;
    arb_err err;

    arb_block_clear(b);
    if (len > ARB_BLOCK_MAX_SIZE)
        return arb_errf(eb, ARB_ERR_PARSE, "block: %zu bytes exceeds the %d-byte limit", len,
                        ARB_BLOCK_MAX_SIZE);
    if (!arb_cur_view(&c, &hdr, ARB_HEADER_SIZE))
        return arb_errf(eb, ARB_ERR_PARSE, "block: truncated header");
    if (!arb_cur_compact(&c, &n))
        return arb_errf(eb, ARB_ERR_PARSE, "block: truncated or non-minimal tx count");
    if (n > ARB_BLOCK_MAX_TXS || n * ARB_TX_MIN_SIZE > c.len)
        return arb_errf(eb, ARB_ERR_PARSE, "block: tx count %llu out of range",
                        (unsigned long long)n);
    arb_header_decode(&b->header, hdr);
    if (n > 0) {
        b->tx = calloc((size_t)n, sizeof *b->tx);
        if (b->tx == NULL) {
            arb_block_clear(b);
            return ARB_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        arb_errbuf txeb;
        b->n_tx = i + 1;
        if ((err = arb_tx_read(&c, &b->tx[i], &txeb)) != ARB_OK) {
            arb_block_clear(b);
            return arb_errf(eb, err, "block: tx %zu: %s", i,
                            err == ARB_ERR_PARSE ? txeb.msg : arb_err_str(err));
        }
    }
    if (c.len != 0) {
        arb_block_clear(b);
        return arb_errf(eb, ARB_ERR_PARSE, "block: %zu trailing bytes", c.len);
    }
    return ARB_OK;
}

void arb_merkle_root_from_leaves(arb_sha256 *sha, arb_hash *out, arb_hash *leaves, size_t n)
{
    if (n == 0) {
        arb_merkle_empty_root(out);
        return;
    }
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i + 1 < n; i += 2)
            arb_merkle_node_hash(sha, &leaves[m++], &leaves[i], &leaves[i + 1]);
        if (n & 1)
            leaves[m++] = leaves[n - 1];
        n = m;
    }
    *out = leaves[0];
}

arb_err arb_block_merkle_root(arb_sha256 *sha, arb_hash *out, const arb_tx *txs, size_t n)
{
    arb_buf b = ARB_BUF_INIT;
    arb_hash *leaves;

    memset(out, 0, sizeof *out);
    if (n == 0) {
        arb_merkle_empty_root(out);
        return ARB_OK;
    }
    leaves = calloc(n, sizeof *leaves);
    if (leaves == NULL)
        return ARB_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        arb_buf_reset(&b);
        arb_tx_write(&b, &txs[i], 1);
        if (b.oom) {
            free(leaves);
            arb_buf_free(&b);
            return ARB_ERR_NOMEM;
        }
        arb_merkle_leaf_hash(sha, &leaves[i], b.data, b.len);
    }
    arb_merkle_root_from_leaves(sha, out, leaves, n);
    arb_buf_free(&b);
    free(leaves);
    return ARB_OK;
}
