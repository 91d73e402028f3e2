#include "tests/unit/audit/lpchain.h"

#include <stdlib.h>
#include <string.h>

#include "ledger/chain/mine.h"
#include "ledger/chain/tx.h"
#include "ledger/log/key.h"

/* RFC 6962 nodes over one block's leaf hashes. */
typedef struct {
    const arb_hash *leaves;
    size_t n;
    arb_sha256 *sha;
} leafsrc;

static arb_err leaf_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    const leafsrc *s = ud;
    arb_hash l, r;
    arb_err err;
    if (level == 0) {
        if (index >= s->n)
            return ARB_ERR_NOT_FOUND;
        *out = s->leaves[index];
        return ARB_OK;
    }
    if ((err = leaf_node(ud, level - 1, 2 * index, &l)) != ARB_OK ||
        (err = leaf_node(ud, level - 1, 2 * index + 1, &r)) != ARB_OK)
        return err;
    arb_merkle_node_hash(s->sha, out, &l, &r);
    return ARB_OK;
}

static int serialize(const arb_tx *tx, uint8_t **out, size_t *len)
{
    arb_buf b = ARB_BUF_INIT;
    arb_tx_write(&b, tx, 1);
    if (b.oom) {
        arb_buf_free(&b);
        return 0;
    }
    *out = b.data;
    *len = b.len;
    return 1;
}

static int coinbase(lp_chain *c, uint32_t height, const arb_hash *state)
{
    arb_tx tx;
    int ok;
    arb_tx_init(&tx);
    if (arb_tx_alloc(&tx, 1, 1) != ARB_OK)
        return 0;
    tx.version = 1;
    tx.in[0].index = height;
    tx.out[0].amount = 50 * ARB_COIN;
    memset(tx.out[0].key, 0x33, 32);
    tx.payload_type = ARB_PAYLOAD_STATE_ROOT;
    tx.payload_len = 32;
    tx.payload = malloc(32);
    if (tx.payload == NULL) {
        arb_tx_clear(&tx);
        return 0;
    }
    memcpy(tx.payload, state->b, 32);
    ok = serialize(&tx, &c->tx[height][0], &c->txlen[height][0]);
    arb_tx_clear(&tx);
    return ok;
}

/* A plain transaction (with or without a payload) as block filler. */
static int plain_tx(uint8_t **out, size_t *len, uint8_t tag, uint8_t ptype, const uint8_t *payload,
                    size_t plen)
{
    arb_tx tx;
    int ok;
    arb_tx_init(&tx);
    if (arb_tx_alloc(&tx, 1, 1) != ARB_OK)
        return 0;
    tx.version = 1;
    memset(tx.in[0].txid.b, tag, 32);
    tx.out[0].amount = 1000;
    memset(tx.out[0].key, tag, 32);
    memset(tx.sig[0], tag, 64);
    if (ptype) {
        tx.payload_type = ptype;
        tx.payload_len = plen;
        if ((tx.payload = malloc(plen)) == NULL) {
            arb_tx_clear(&tx);
            return 0;
        }
        memcpy(tx.payload, payload, plen);
    }
    ok = serialize(&tx, out, len);
    arb_tx_clear(&tx);
    return ok;
}

static int anchor_payload(lp_chain *c, uint32_t height, arb_buf *payload)
{
    arb_ct_signer *signer = NULL;
    uint8_t *der = NULL, sig[ARB_CT_SIG_MAX];
    size_t der_len = 0;
    arb_hash *leaves = c->leaves, root;
    arb_ct_dsig d;
    arb_anchor a;
    int ok = 0;

    if (arb_ct_signer_generate(&signer, NULL) != ARB_OK ||
        arb_ct_signer_spki(signer, &der, &der_len) != ARB_OK || der_len > sizeof c->spki)
        goto out;
    memcpy(c->spki, der, der_len);
    c->spki_len = der_len;
    for (int i = 0; i < 7; i++) {
        char s[16];
        int n = snprintf(s, sizeof s, "entry %d", i);
        arb_merkle_leaf_hash(c->sha, &leaves[i], s, (size_t)n);
    }
    {
        arb_hash tmp[7];
        memcpy(tmp, leaves, sizeof tmp);
        arb_merkle_root_from_leaves(c->sha, &root, tmp, 7);
    }
    if (arb_ct_sth_sign(signer, &d, sig, 1767225600000ULL + height, 7, root.b) != ARB_OK)
        goto out;
    memset(&a, 0, sizeof a);
    a.spki = c->spki;
    a.spki_len = c->spki_len;
    a.tree_size = 7;
    a.timestamp = 1767225600000ULL + height;
    memcpy(a.root, root.b, 32);
    a.sig_hash_alg = d.hash_alg;
    a.sig_sig_alg = d.sig_alg;
    a.sig = d.sig;
    a.sig_len = d.sig_len;
    if (arb_anchor_encode(payload, &a) != ARB_OK)
        goto out;
    {
        const char *reason = NULL;
        if (arb_anchor_check(c->sha, &a, NULL, height, &c->head, &reason) != ARB_OK)
            goto out;
    }
    memcpy(c->log_id, c->head.log_id, 32);
    c->anchor_sig[0] = d.hash_alg;
    c->anchor_sig[1] = d.sig_alg;
    c->anchor_sig[2] = (uint8_t)(d.sig_len >> 8);
    c->anchor_sig[3] = (uint8_t)d.sig_len;
    memcpy(c->anchor_sig + 4, d.sig, d.sig_len);
    c->anchor_sig_len = 4 + d.sig_len;
    c->signer = signer;
    signer = NULL;
    ok = 1;
out:
    free(der);
    arb_ct_signer_free(signer);
    return ok;
}

static void name_rec(arb_name_rec *r, const char *full, uint32_t h)
{
    memset(r, 0, sizeof *r);
    r->full_len = strlen(full);
    memcpy(r->full, full, r->full_len);
    memset(r->owner, 0x04, 32);
    r->has_zonefile = 1;
    memset(r->zonefile_hash, 0x5a, 32);
    r->registered_height = h;
    r->renewed_height = h;
    r->lifetime = 20;
}

static void ns_rec(arb_namespace_rec *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->id, "test", 4);
    r->id_len = 4;
    memset(r->reveal_key, 0x07, 32);
    r->reveal_height = 1;
    r->ready = 1;
    r->ready_height = 2;
    r->lifetime = 20;
    r->price.coeff = 1;
    r->price.base = 4;
    for (int i = 0; i < 16; i++)
        r->price.buckets[i] = 1;
    r->price.nonalpha_discount = 1;
    r->price.no_vowel_discount = 1;
}

int lp_chain_build(lp_chain *c, uint32_t tip, uint32_t anchor_h)
{
    arb_block g;

    memset(c, 0, sizeof *c);
    if (tip >= LP_MAXB || anchor_h == 0 || anchor_h > tip)
        return 0;
    c->p = arb_chain_params_get("regtest");
    c->anchor_height = anchor_h;
    if (arb_sha256_new(&c->sha) != ARB_OK || arb_smt_mem_new(&c->mem) != ARB_OK)
        return 0;
    arb_smt_mem_store(c->mem, &c->st);
    arb_block_init(&g);
    if (arb_chain_genesis_build(c->p, c->sha, c->p->genesis_nonce, &g) != ARB_OK)
        return 0;
    c->hdr[0] = g.header;
    arb_header_hash(c->sha, &c->hash[0], &g.header);
    arb_block_clear(&g);
    arb_smt_empty(&c->state[0]);
    for (uint32_t h = 1; h <= tip; h++) {
        arb_smt_op ops[3];
        size_t nops = 0;
        arb_hash leaves[LP_MAXTX];
        arb_buf payload = ARB_BUF_INIT;

        c->ntx[h] = 1;
        if (h == 2) {
            arb_name_rec r;
            arb_namespace_rec ns;
            arb_buf b = ARB_BUF_INIT;
            name_rec(&r, "alice.test", 2);
            arb_names_name_key(c->sha, ops[nops].key, r.full, r.full_len);
            ops[nops].del = 0;
            if (arb_names_name_rec_hash(c->sha, &ops[nops].value_hash, &r) != ARB_OK)
                return 0;
            nops++;
            ns_rec(&ns);
            arb_names_ns_key(c->sha, ops[nops].key, ns.id, ns.id_len);
            ops[nops].del = 0;
            if (arb_names_ns_rec_hash(c->sha, &ops[nops].value_hash, &ns) != ARB_OK)
                return 0;
            nops++;
            /* The register transaction as filler (its bytes are not checked here). */
            arb_names_name_rec_encode(&b, &r);
            if (b.oom || !plain_tx(&c->tx[h][1], &c->txlen[h][1], 0x21, 2, b.data, b.len))
                return 0;
            arb_buf_free(&b);
            c->ntx[h] = 2;
        }
        if (h == anchor_h) {
            if (!anchor_payload(c, h, &payload) || payload.oom)
                return 0;
            /* Filler, then the anchor at index 1 of 3 or more transactions. */
            if (!plain_tx(&c->tx[h][c->ntx[h]], &c->txlen[h][c->ntx[h]], 0x44,
                          ARB_PAYLOAD_LOG_ANCHOR, payload.data, payload.len))
                return 0;
            c->ntx[h]++;
            if (!plain_tx(&c->tx[h][c->ntx[h]], &c->txlen[h][c->ntx[h]], 0x45, 0, NULL, 0))
                return 0;
            c->ntx[h]++;
            arb_buf_free(&payload);
            arb_anchor_tree_op(c->sha, &c->head, &ops[nops++]);
        }
        if (arb_smt_update(c->sha, &c->st, &c->state[h - 1], ops, nops, &c->state[h]) != ARB_OK)
            return 0;
        if (!coinbase(c, h, &c->state[h]))
            return 0;
        for (size_t i = 0; i < c->ntx[h]; i++)
            arb_merkle_leaf_hash(c->sha, &leaves[i], c->tx[h][i], c->txlen[h][i]);
        memset(&c->hdr[h], 0, sizeof c->hdr[h]);
        c->hdr[h].version = 1;
        c->hdr[h].prev = c->hash[h - 1];
        arb_merkle_root_from_leaves(c->sha, &c->hdr[h].merkle_root, leaves, c->ntx[h]);
        c->hdr[h].time = c->hdr[h - 1].time + 600;
        c->hdr[h].bits = c->p->genesis_bits;
        if (!arb_chain_mine_header(&c->hdr[h], 0, 1u << 20))
            return 0;
        arb_header_hash(c->sha, &c->hash[h], &c->hdr[h]);
        c->tip = h;
    }
    return 1;
}

void lp_chain_free(lp_chain *c)
{
    for (size_t h = 0; h < LP_MAXB; h++)
        for (size_t i = 0; i < LP_MAXTX; i++)
            free(c->tx[h][i]);
    arb_smt_mem_free(c->mem);
    arb_sha256_free(c->sha);
    arb_ct_signer_free(c->signer);
    memset(c, 0, sizeof *c);
}

static int tx_proof(lp_chain *c, uint32_t h, size_t index, arb_hash *proof, size_t *plen)
{
    arb_hash leaves[LP_MAXTX];
    leafsrc s;
    arb_merkle_source src = {leaf_node, &s};
    for (size_t i = 0; i < c->ntx[h]; i++)
        arb_merkle_leaf_hash(c->sha, &leaves[i], c->tx[h][i], c->txlen[h][i]);
    s.leaves = leaves;
    s.n = c->ntx[h];
    s.sha = c->sha;
    return arb_merkle_inclusion_build(c->sha, &src, index, c->ntx[h], proof, plen) == ARB_OK;
}

/* The stored record bytes under key at the tip, by rebuilding them. */
static int record_for(lp_chain *c, const uint8_t key32[32], uint8_t *out, size_t *len)
{
    arb_name_rec r;
    arb_namespace_rec ns;
    uint8_t k[32];
    arb_buf b = ARB_BUF_INIT;

    name_rec(&r, "alice.test", 2);
    arb_names_name_key(c->sha, k, r.full, r.full_len);
    if (memcmp(k, key32, 32) == 0) {
        arb_names_name_rec_encode(&b, &r);
        goto done;
    }
    ns_rec(&ns);
    arb_names_ns_key(c->sha, k, ns.id, ns.id_len);
    if (memcmp(k, key32, 32) == 0) {
        arb_names_ns_rec_encode(&b, &ns);
        goto done;
    }
    arb_anchor_key(c->sha, k, c->log_id);
    if (memcmp(k, key32, 32) == 0) {
        *len = ARB_ANCHOR_REC_SIZE;
        arb_anchor_head_encode(out, &c->head);
        return 1;
    }
    *len = 0;
    return 1;
done:
    if (b.oom || b.len > ARB_LIGHTPROOF_RECORD_MAX) {
        arb_buf_free(&b);
        return 0;
    }
    memcpy(out, b.data, b.len);
    *len = b.len;
    arb_buf_free(&b);
    return 1;
}

arb_lightproof *lp_chain_prove(lp_chain *c, const uint8_t key32[32], uint32_t cp_height,
                               int anchor, int with_count)
{
    arb_lightproof *lp = calloc(1, sizeof *lp);
    arb_smt_proof sp;
    arb_buf b = ARB_BUF_INIT;
    uint32_t tip = c->tip;

    if (lp == NULL || cp_height > tip)
        goto fail;
    lp->version = 1;
    lp->checkpoint = c->hash[cp_height];
    lp->n_headers = tip - cp_height;
    if (lp->n_headers && (lp->headers = calloc(lp->n_headers, sizeof *lp->headers)) == NULL)
        goto fail;
    for (size_t i = 0; i < lp->n_headers; i++)
        lp->headers[i] = c->hdr[cp_height + 1 + i];
    lp->height = tip;
    if ((lp->coinbase = malloc(c->txlen[tip][0])) == NULL)
        goto fail;
    memcpy(lp->coinbase, c->tx[tip][0], c->txlen[tip][0]);
    lp->coinbase_len = c->txlen[tip][0];
    lp->tx_count = c->ntx[tip];
    if (!tx_proof(c, tip, 0, lp->coinbase_proof, &lp->coinbase_proof_len))
        goto fail;
    memcpy(lp->key, key32, 32);
    if (!record_for(c, key32, lp->record, &lp->record_len))
        goto fail;
    lp->has_record = lp->record_len > 0;
    if (arb_smt_prove(&c->st, &c->state[tip], key32, &sp) != ARB_OK)
        goto fail;
    arb_smt_proof_encode(&b, &sp);
    if (b.oom)
        goto fail;
    lp->smt_proof = b.data;
    lp->smt_proof_len = b.len;
    b.data = NULL;
    if (anchor) {
        uint32_t ah = c->anchor_height;
        lp->has_anchor_tx = 1;
        if ((lp->anchor_tx = malloc(c->txlen[ah][c->ntx[ah] - 2])) == NULL)
            goto fail;
        lp->anchor_tx_index = c->ntx[ah] - 2;
        memcpy(lp->anchor_tx, c->tx[ah][lp->anchor_tx_index], c->txlen[ah][lp->anchor_tx_index]);
        lp->anchor_tx_len = c->txlen[ah][lp->anchor_tx_index];
        lp->anchor_tx_count = with_count ? c->ntx[ah] : 0;
        if (!tx_proof(c, ah, lp->anchor_tx_index, lp->anchor_tx_proof, &lp->anchor_tx_proof_len))
            goto fail;
        lp->anchor_block_height = ah;
    }
    return lp;
fail:
    arb_buf_free(&b);
    arb_lightproof_free(lp);
    return NULL;
}

uint8_t *lp_chain_raw_headers(const lp_chain *c, uint32_t upto, size_t *len)
{
    uint8_t *out = malloc(((size_t)upto + 1) * ARB_HEADER_SIZE);
    *len = 0;
    if (out == NULL)
        return NULL;
    for (uint32_t h = 0; h <= upto; h++)
        arb_header_encode(out + (size_t)h * ARB_HEADER_SIZE, &c->hdr[h]);
    *len = ((size_t)upto + 1) * ARB_HEADER_SIZE;
    return out;
}
