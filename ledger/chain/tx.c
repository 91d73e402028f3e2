#include "ledger/chain/tx.h"

#include <stdlib.h>
#include <string.h>

void arb_tx_init(arb_tx *tx)
{
    memset(tx, 0, sizeof *tx);
}

void arb_tx_clear(arb_tx *tx)
{
    if (tx == NULL)
        return;
    free(tx->in);
    free(tx->sig);
    free(tx->out);
    free(tx->payload);
    memset(tx, 0, sizeof *tx);
}

arb_err arb_tx_alloc(arb_tx *tx, size_t n_in, size_t n_out)
{
    arb_tx_clear(tx);
    if (n_in > ARB_TX_MAX_INPUTS || n_out > ARB_TX_MAX_OUTPUTS)
        return ARB_ERR_INVALID_ARG;
    if (n_in > 0) {
        tx->in = calloc(n_in, sizeof *tx->in);
        tx->sig = calloc(n_in, sizeof *tx->sig);
    }
    if (n_out > 0)
        tx->out = calloc(n_out, sizeof *tx->out);
    if ((n_in > 0 && (tx->in == NULL || tx->sig == NULL)) || (n_out > 0 && tx->out == NULL)) {
        arb_tx_clear(tx);
        return ARB_ERR_NOMEM;
    }
    tx->n_in = n_in;
    tx->n_out = n_out;
    return ARB_OK;
}

arb_err arb_tx_copy(arb_tx *dst, const arb_tx *src)
{
    arb_err err;

    arb_tx_init(dst);
    if ((err = arb_tx_alloc(dst, src->n_in, src->n_out)) != ARB_OK)
        return err;
    if (src->n_in > 0) {
        memcpy(dst->in, src->in, src->n_in * sizeof *src->in);
        memcpy(dst->sig, src->sig, src->n_in * sizeof *src->sig);
    }
    if (src->n_out > 0)
        memcpy(dst->out, src->out, src->n_out * sizeof *src->out);
    dst->version = src->version;
    dst->lock_time = src->lock_time;
    dst->payload_type = src->payload_type;
    if (src->payload_len > 0) {
        dst->payload = malloc(src->payload_len);
        if (dst->payload == NULL) {
            arb_tx_clear(dst);
            return ARB_ERR_NOMEM;
        }
        memcpy(dst->payload, src->payload, src->payload_len);
        dst->payload_len = src->payload_len;
    }
    return ARB_OK;
}

void arb_tx_write(arb_buf *b, const arb_tx *tx, int with_sigs)
{
    arb_buf_u32le(b, tx->version);
    arb_buf_compact(b, tx->n_in);
    for (size_t i = 0; i < tx->n_in; i++) {
        arb_buf_put(b, tx->in[i].txid.b, 32);
        arb_buf_u32le(b, tx->in[i].index);
    }
    arb_buf_compact(b, tx->n_out);
    for (size_t i = 0; i < tx->n_out; i++) {
        arb_buf_u64le(b, tx->out[i].amount);
        arb_buf_put(b, tx->out[i].key, ARB_KEY_SIZE);
    }
    arb_buf_u32le(b, tx->lock_time);
    arb_buf_u8(b, tx->payload_type);
    if (tx->payload_type != 0) {
        arb_buf_compact(b, tx->payload_len);
        arb_buf_put(b, tx->payload, tx->payload_len);
    }
    if (with_sigs && tx->n_in > 0)
        arb_buf_put(b, tx->sig, tx->n_in * ARB_SIG_SIZE);
}

static size_t compact_size(uint64_t v)
{
    return v < 0xfd ? 1 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

size_t arb_tx_size(const arb_tx *tx)
{
    size_t n = 4 + compact_size(tx->n_in) + tx->n_in * (36 + ARB_SIG_SIZE) +
               compact_size(tx->n_out) + tx->n_out * 40 + 4 + 1;
    if (tx->payload_type != 0)
        n += compact_size(tx->payload_len) + tx->payload_len;
    return n;
}

arb_err arb_tx_read(arb_cur *c, arb_tx *tx, arb_errbuf *eb)
{
    arb_cur start = *c;
    uint32_t version, lock_time;
    uint64_t n_in, n_out, plen = 0;
    uint8_t ptype;
    arb_err err;

    arb_tx_clear(tx);
    if (!arb_cur_u32le(c, &version) || !arb_cur_compact(c, &n_in)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "tx: truncated or non-minimal input count");
        goto fail;
    }
    if (n_in == 0 || n_in > ARB_TX_MAX_INPUTS) {
        err = arb_errf(eb, ARB_ERR_PARSE, "tx: input count %llu out of range",
                       (unsigned long long)n_in);
        goto fail;
    }
    /* Check the bytes exist before allocating for them. */
    if (c->len < n_in * 36) {
        err = arb_errf(eb, ARB_ERR_PARSE, "tx: truncated inputs");
        goto fail;
    }
    if ((err = arb_tx_alloc(tx, (size_t)n_in, 0)) != ARB_OK)
        goto fail;
    for (size_t i = 0; i < n_in; i++) {
        arb_cur_get(c, tx->in[i].txid.b, 32);
        arb_cur_u32le(c, &tx->in[i].index);
    }
    if (!arb_cur_compact(c, &n_out)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "tx: truncated or non-minimal output count");
        goto fail;
    }
    if (n_out == 0 || n_out > ARB_TX_MAX_OUTPUTS) {
        err = arb_errf(eb, ARB_ERR_PARSE, "tx: output count %llu out of range",
                       (unsigned long long)n_out);
        goto fail;
    }
    if (c->len < n_out * 40) {
        err = arb_errf(eb, ARB_ERR_PARSE, "tx: truncated outputs");
        goto fail;
    }
    tx->out = calloc((size_t)n_out, sizeof *tx->out);
    if (tx->out == NULL) {
        err = ARB_ERR_NOMEM;
        goto fail;
    }
    tx->n_out = (size_t)n_out;
    for (size_t i = 0; i < n_out; i++) {
        arb_cur_u64le(c, &tx->out[i].amount);
        arb_cur_get(c, tx->out[i].key, ARB_KEY_SIZE);
        if (tx->out[i].amount > ARB_MAX_MONEY) {
            err = arb_errf(eb, ARB_ERR_PARSE, "tx: output %zu amount above the money supply", i);
            goto fail;
        }
    }
    if (!arb_cur_u32le(c, &lock_time) || !arb_cur_u8(c, &ptype)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "tx: truncated lock time or payload type");
        goto fail;
    }
    if (ptype != 0) {
        if (!arb_cur_compact(c, &plen)) {
            err = arb_errf(eb, ARB_ERR_PARSE, "tx: truncated or non-minimal payload length");
            goto fail;
        }
        if (plen == 0 || plen > ARB_TX_MAX_PAYLOAD || plen > c->len) {
            err = arb_errf(eb, ARB_ERR_PARSE, "tx: payload length %llu out of range",
                           (unsigned long long)plen);
            goto fail;
        }
        tx->payload = malloc((size_t)plen);
        if (tx->payload == NULL) {
            err = ARB_ERR_NOMEM;
            goto fail;
        }
        arb_cur_get(c, tx->payload, (size_t)plen);
        tx->payload_len = (size_t)plen;
    }
    tx->version = version;
    tx->lock_time = lock_time;
    tx->payload_type = ptype;
    if (!arb_cur_get(c, tx->sig, tx->n_in * ARB_SIG_SIZE)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "tx: truncated signatures");
        goto fail;
    }
    return ARB_OK;
fail:
    arb_tx_clear(tx);
    *c = start;
    return err;
}

arb_err arb_tx_decode(arb_tx *tx, const uint8_t *data, size_t len, arb_errbuf *eb)
{
    arb_cur c = arb_cur_make(data, len);
    arb_err err = arb_tx_read(&c, tx, eb);
    if (err != ARB_OK)
        return err;
    if (c.len != 0) {
        arb_tx_clear(tx);
        return arb_errf(eb, ARB_ERR_PARSE, "tx: %zu trailing bytes", c.len);
    }
    return ARB_OK;
}

arb_err arb_tx_txid(arb_sha256 *sha, arb_hash *out, const arb_tx *tx)
{
    arb_buf b = ARB_BUF_INIT;
    arb_tx_write(&b, tx, 0);
    if (b.oom) {
        arb_buf_free(&b);
        memset(out, 0, sizeof *out);
        return ARB_ERR_NOMEM;
    }
    arb_sha256d(sha, out->b, b.data, b.len);
    arb_buf_free(&b);
    return ARB_OK;
}

int arb_tx_is_coinbase(const arb_tx *tx)
{
    static const arb_hash zero;
    return tx->n_in == 1 && memcmp(tx->in[0].txid.b, zero.b, 32) == 0;
}

arb_err arb_tx_sighash_prepare(arb_sha256 *sha, arb_sighash_cache *cache, const arb_tx *tx,
                               const arb_txout *spent)
{
    arb_buf b = ARB_BUF_INIT;
    arb_tx_write(&b, tx, 0);
    if (b.oom) {
        arb_buf_free(&b);
        return ARB_ERR_NOMEM;
    }
    arb_sha256_digest(sha, cache->tx_hash, b.data, b.len);
    arb_buf_free(&b);
    arb_sha256_init(sha);
    for (size_t i = 0; i < tx->n_in; i++) {
        uint8_t amt[8];
        for (int k = 0; k < 8; k++)
            amt[k] = (uint8_t)(spent[i].amount >> (8 * k));
        arb_sha256_update(sha, amt, 8);
        arb_sha256_update(sha, spent[i].key, ARB_KEY_SIZE);
    }
    arb_sha256_final(sha, cache->spent_hash);
    return ARB_OK;
}

void arb_tx_sighash(arb_sha256 *sha, uint8_t out32[static 32], const arb_hash *network_id,
                    const arb_sighash_cache *cache, uint32_t index)
{
    uint8_t idx[4] = {(uint8_t)index, (uint8_t)(index >> 8), (uint8_t)(index >> 16),
                      (uint8_t)(index >> 24)};
    arb_sha256_tagged_init(sha, ARB_SIGHASH_TAG);
    arb_sha256_update(sha, network_id->b, 32);
    arb_sha256_update(sha, cache->tx_hash, 32);
    arb_sha256_update(sha, idx, 4);
    arb_sha256_update(sha, cache->spent_hash, 32);
    arb_sha256_final(sha, out32);
}
