#include "ledger/chain/mine.h"

#include <stdlib.h>
#include <string.h>

arb_err arb_chain_coinbase_build(arb_tx *cb, uint32_t height, uint64_t amount,
                                 const uint8_t key32[static 32], uint64_t extra_nonce,
                                 const char *tag, const arb_hash *state_root)
{
    arb_err err;
    size_t tl = tag ? strlen(tag) : 0;

    if ((err = arb_tx_alloc(cb, 1, 1)) != ARB_OK)
        return err;
    cb->version = 1;
    cb->in[0].index = height;
    for (int i = 0; i < 8; i++)
        cb->sig[0][i] = (uint8_t)(extra_nonce >> (8 * i));
    memcpy(cb->sig[0] + 8, tag ? tag : "", tl < 56 ? tl : 56);
    cb->out[0].amount = amount;
    memcpy(cb->out[0].key, key32, 32);
    if ((cb->payload = calloc(1, ARB_STATE_ROOT_SIZE)) == NULL) {
        arb_tx_clear(cb);
        return ARB_ERR_NOMEM;
    }
    cb->payload_type = ARB_PAYLOAD_STATE_ROOT;
    cb->payload_len = ARB_STATE_ROOT_SIZE;
    if (state_root != NULL)
        memcpy(cb->payload, state_root->b, ARB_STATE_ROOT_SIZE);
    return ARB_OK;
}

arb_err arb_chain_block_build(const arb_chain_params *p, arb_sha256 *sha, arb_block *out,
                              const arb_hash *parent, uint32_t parent_time, uint32_t height,
                              uint32_t bits, int64_t now, const uint8_t key32[static 32],
                              arb_tx *txs, size_t n, uint64_t fees,
                              const arb_hash *state_root)
{
    arb_err err;

    arb_block_init(out);
    out->tx = calloc(n + 1, sizeof *out->tx);
    if (out->tx == NULL) {
        for (size_t i = 0; i < n; i++)
            arb_tx_clear(&txs[i]);
        return ARB_ERR_NOMEM;
    }
    out->n_tx = n + 1;
    if (n > 0) {
        memcpy(out->tx + 1, txs, n * sizeof *txs);
        memset(txs, 0, n * sizeof *txs);
    }
    if ((err = arb_chain_coinbase_build(&out->tx[0], height, arb_chain_subsidy(p, height) + fees,
                                        key32, 0, "arbor", state_root)) != ARB_OK)
        goto fail;
    out->header.version = 1;
    out->header.prev = *parent;
    out->header.time = now > (int64_t)parent_time ? (uint32_t)now : parent_time + 1;
    out->header.bits = bits;
    out->header.nonce = 0;
    if ((err = arb_block_merkle_root(sha, &out->header.merkle_root, out->tx, out->n_tx)) != ARB_OK)
        goto fail;
    return ARB_OK;
fail:
    arb_block_clear(out);
    return err;
}

static void put_nonce(uint8_t tail[16], uint32_t nonce)
{
    tail[12] = (uint8_t)nonce;
    tail[13] = (uint8_t)(nonce >> 8);
    tail[14] = (uint8_t)(nonce >> 16);
    tail[15] = (uint8_t)(nonce >> 24);
}

/* The hash is a little-endian number: its last four bytes are the most
 * significant, and nearly every nonce fails on them alone. */
static int meets(const arb_hash *hash, uint32_t top, const arb_u256 *target)
{
    uint32_t hi = (uint32_t)hash->b[28] | (uint32_t)hash->b[29] << 8 |
                  (uint32_t)hash->b[30] << 16 | (uint32_t)hash->b[31] << 24;
    return hi <= top && arb_pow_hash_meets(hash, target);
}

int arb_chain_mine_header_mid(arb_sha256_mid *mid, arb_block_header *h, uint32_t start_nonce,
                              uint64_t max_tries)
{
    uint8_t raw[ARB_HEADER_SIZE], ta[16], tb[16];
    arb_u256 target;
    arb_hash ha, hb;
    uint32_t top;
    uint64_t i = 0;
    int neg, ovf, found = 0;

    arb_pow_bits_to_target(&target, h->bits, &neg, &ovf);
    if (neg || ovf || arb_u256_is_zero(&target))
        return 0;
    top = target.w[7];
    h->nonce = start_nonce;
    arb_header_encode(raw, h);
    arb_sha256_mid_set(mid, raw);
    memcpy(ta, raw + 64, 16);
    memcpy(tb, raw + 64, 16);
    /* Nonces in pairs (the midstate hashes two at once), checked in order. */
    for (; i + 1 < max_tries; i += 2) {
        uint32_t nonce = start_nonce + (uint32_t)i;
        put_nonce(ta, nonce);
        put_nonce(tb, nonce + 1);
        arb_sha256_mid_header_hash2(mid, ta, tb, ha.b, hb.b);
        if (meets(&ha, top, &target)) {
            h->nonce = nonce;
            found = 1;
            break;
        }
        if (meets(&hb, top, &target)) {
            h->nonce = nonce + 1;
            found = 1;
            break;
        }
    }
    if (!found && i < max_tries) {
        uint32_t nonce = start_nonce + (uint32_t)i;
        put_nonce(ta, nonce);
        arb_sha256_mid_header_hash(mid, ta, ha.b);
        if (meets(&ha, top, &target)) {
            h->nonce = nonce;
            found = 1;
        }
    }
    return found;
}

int arb_chain_mine_header(arb_block_header *h, uint32_t start_nonce, uint64_t max_tries)
{
    arb_sha256_mid *mid;
    int found;

    if (arb_sha256_mid_new(&mid) != ARB_OK)
        return 0;
    found = arb_chain_mine_header_mid(mid, h, start_nonce, max_tries);
    arb_sha256_mid_free(mid);
    return found;
}
