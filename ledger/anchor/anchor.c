#include "ledger/anchor/anchor.h"

#include <string.h>

#include "ledger/log/ct.h"
#include "ledger/log/key.h"

arb_err arb_anchor_encode(arb_buf *out, const arb_anchor *a)
{
    if (a->spki_len < 1 || a->spki_len > ARB_ANCHOR_SPKI_MAX || a->sig_len > ARB_ANCHOR_SIG_MAX ||
        a->proof_len > ARB_ANCHOR_PROOF_MAX)
        return ARB_ERR_INVALID_ARG;
    arb_buf_compact(out, a->spki_len);
    arb_buf_put(out, a->spki, a->spki_len);
    arb_buf_u64le(out, a->tree_size);
    arb_buf_u64le(out, a->timestamp);
    arb_buf_put(out, a->root, 32);
    arb_buf_u8(out, a->sig_hash_alg);
    arb_buf_u8(out, a->sig_sig_alg);
    arb_buf_u16be(out, (uint16_t)a->sig_len);
    arb_buf_put(out, a->sig, a->sig_len);
    arb_buf_compact(out, a->proof_len);
    for (size_t i = 0; i < a->proof_len; i++)
        arb_buf_put(out, a->proof[i].b, 32);
    return out->oom ? ARB_ERR_NOMEM : ARB_OK;
}

arb_err arb_anchor_decode(arb_anchor *a, const uint8_t *in, size_t len, arb_errbuf *eb)
{
    arb_cur c = arb_cur_make(in, len);
    uint64_t n;
    uint16_t sl;
    const char *why;

    memset(a, 0, sizeof *a);
    if (!arb_cur_compact(&c, &n) || n < 1 || n > ARB_ANCHOR_SPKI_MAX) {
        why = "bad key length";
        goto bad;
    }
    a->spki_len = (size_t)n;
    if (!arb_cur_view(&c, &a->spki, a->spki_len) || !arb_cur_u64le(&c, &a->tree_size) ||
        !arb_cur_u64le(&c, &a->timestamp) || !arb_cur_get(&c, a->root, 32) ||
        !arb_cur_u8(&c, &a->sig_hash_alg) || !arb_cur_u8(&c, &a->sig_sig_alg) ||
        !arb_cur_u16be(&c, &sl)) {
        why = "truncated";
        goto bad;
    }
    if (sl > ARB_ANCHOR_SIG_MAX) {
        why = "signature too long";
        goto bad;
    }
    a->sig_len = sl;
    if (!arb_cur_view(&c, &a->sig, a->sig_len)) {
        why = "truncated signature";
        goto bad;
    }
    if (!arb_cur_compact(&c, &n) || n > ARB_ANCHOR_PROOF_MAX) {
        why = "bad proof length";
        goto bad;
    }
    a->proof_len = (size_t)n;
    for (size_t i = 0; i < a->proof_len; i++)
        if (!arb_cur_get(&c, a->proof[i].b, 32)) {
            why = "truncated proof";
            goto bad;
        }
    if (c.len != 0) {
        why = "trailing bytes";
        goto bad;
    }
    return ARB_OK;
bad:
    memset(a, 0, sizeof *a);
    return arb_errf(eb, ARB_ERR_PARSE, "log-anchor: %s", why);
}

static size_t put_le(uint8_t *out, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return n;
}

void arb_anchor_head_encode(uint8_t out[static ARB_ANCHOR_REC_SIZE], const arb_anchor_head *hd)
{
    size_t o = 0;
    out[o++] = ARB_ANCHOR_REC_TYPE;
    memcpy(out + o, hd->log_id, 32);
    o += 32;
    o += put_le(out + o, hd->tree_size, 8);
    o += put_le(out + o, hd->timestamp, 8);
    memcpy(out + o, hd->root, 32);
    o += 32;
    put_le(out + o, hd->height, 4);
}

arb_err arb_anchor_head_decode(arb_anchor_head *hd, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    uint8_t type;

    memset(hd, 0, sizeof *hd);
    if (!arb_cur_u8(&c, &type) || type != ARB_ANCHOR_REC_TYPE || !arb_cur_get(&c, hd->log_id, 32) ||
        !arb_cur_u64le(&c, &hd->tree_size) || !arb_cur_u64le(&c, &hd->timestamp) ||
        !arb_cur_get(&c, hd->root, 32) || !arb_cur_u32le(&c, &hd->height) || c.len != 0) {
        memset(hd, 0, sizeof *hd);
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}

void arb_anchor_key(arb_sha256 *h, uint8_t key32[static 32], const uint8_t log_id32[static 32])
{
    arb_sha256_tagged(h, key32, ARB_ANCHOR_KEY_TAG, log_id32, 32);
}

void arb_anchor_head_hash(arb_sha256 *h, arb_hash *out, const arb_anchor_head *hd)
{
    uint8_t rec[ARB_ANCHOR_REC_SIZE];
    arb_anchor_head_encode(rec, hd);
    arb_sha256_tagged(h, out->b, ARB_ANCHOR_RECORD_TAG, rec, sizeof rec);
}

void arb_anchor_log_id(arb_sha256 *h, uint8_t out32[static 32], const arb_anchor *a)
{
    arb_sha256_digest(h, out32, a->spki, a->spki_len);
}

/* The key and the STH signature: what depends on the payload alone. */
static arb_err check_sig(const arb_anchor *a, const uint8_t log_id[32], const char **why)
{
    arb_ct_verifier *v = NULL;
    arb_ct_dsig sig;
    uint8_t key_id[32];
    arb_err err;

    *why = NULL;
    /* The key: DER SPKI of a P-256 key whose canonical encoding is these
     * very bytes (so the log ID is unambiguous). */
    err = arb_ct_verifier_from_spki(&v, a->spki, a->spki_len, NULL);
    if (err == ARB_ERR_NOMEM)
        return err;
    if (err != ARB_OK) {
        arb_ct_verifier_free(v);
        *why = "anchor-bad-key";
        return ARB_OK;
    }
    arb_ct_verifier_log_id(v, key_id);
    if (memcmp(key_id, log_id, 32) != 0) {
        *why = "anchor-bad-key";
        goto out;
    }
    sig.hash_alg = a->sig_hash_alg;
    sig.sig_alg = a->sig_sig_alg;
    sig.sig = a->sig;
    sig.sig_len = a->sig_len;
    err = arb_ct_sth_verify(v, &sig, a->timestamp, a->tree_size, a->root);
    if (err == ARB_ERR_NOMEM)
        goto out;
    if (err != ARB_OK) {
        err = ARB_OK;
        *why = "anchor-bad-signature";
    }
out:
    arb_ct_verifier_free(v);
    return err;
}

static arb_err check(arb_sha256 *h, const arb_anchor *a, const arb_anchor_head *prev,
                     uint32_t height, int sig_verified, arb_anchor_head *next,
                     const char **reason)
{
    uint8_t log_id[32];
    arb_hash root, prev_root, empty;
    const char *why = NULL;
    arb_err err;

    memset(next, 0, sizeof *next);
    *reason = NULL;
    arb_anchor_log_id(h, log_id, a);
    if (prev != NULL && memcmp(prev->log_id, log_id, 32) != 0)
        return ARB_ERR_INVALID_ARG;
    if (!sig_verified) {
        if ((err = check_sig(a, log_id, &why)) != ARB_OK)
            return err;
        if (why != NULL)
            goto out;
    }
    memcpy(root.b, a->root, 32);
    arb_merkle_empty_root(&empty);
    if (a->tree_size == 0 && !arb_hash_eq(&root, &empty)) {
        why = "anchor-empty-root";
        goto out;
    }
    if (prev == NULL) {
        if (a->proof_len != 0)
            why = "anchor-proof-unexpected";
        goto out;
    }
    memcpy(prev_root.b, prev->root, 32);
    if (a->tree_size < prev->tree_size) {
        why = "anchor-size-decreased";
    } else if (a->timestamp < prev->timestamp) {
        why = "anchor-timestamp-earlier";
    } else if (a->tree_size == prev->tree_size && a->timestamp == prev->timestamp) {
        why = "anchor-duplicate";
    } else if (a->tree_size == prev->tree_size && !arb_hash_eq(&root, &prev_root)) {
        why = "anchor-root-changed";
    } else if (prev->tree_size == 0 || a->tree_size == prev->tree_size) {
        if (a->proof_len != 0)
            why = "anchor-proof-unexpected";
    } else if (arb_merkle_consistency_verify(h, prev->tree_size, a->tree_size, &prev_root, &root,
                                             a->proof, a->proof_len, NULL) != ARB_OK) {
        why = "anchor-bad-consistency";
    }
out:
    if (why != NULL) {
        *reason = why;
        return ARB_ERR_VERIFY;
    }
    memcpy(next->log_id, log_id, 32);
    next->tree_size = a->tree_size;
    next->timestamp = a->timestamp;
    memcpy(next->root, a->root, 32);
    next->height = height;
    return ARB_OK;
}

arb_err arb_anchor_check(arb_sha256 *h, const arb_anchor *a, const arb_anchor_head *prev,
                         uint32_t height, arb_anchor_head *next, const char **reason)
{
    return check(h, a, prev, height, 0, next, reason);
}

arb_err arb_anchor_check_sig(arb_sha256 *h, const arb_anchor *a, const char **reason)
{
    uint8_t log_id[32];
    *reason = NULL;
    arb_anchor_log_id(h, log_id, a);
    arb_err err = check_sig(a, log_id, reason);
    if (err == ARB_OK && *reason != NULL)
        return ARB_ERR_VERIFY;
    return err;
}

arb_err arb_anchor_check_verified(arb_sha256 *h, const arb_anchor *a, const arb_anchor_head *prev,
                                  uint32_t height, arb_anchor_head *next, const char **reason)
{
    return check(h, a, prev, height, 1, next, reason);
}

void arb_anchor_tree_op(arb_sha256 *h, const arb_anchor_head *next, arb_smt_op *op)
{
    memset(op, 0, sizeof *op);
    arb_anchor_key(h, op->key, next->log_id);
    arb_anchor_head_hash(h, &op->value_hash, next);
}
