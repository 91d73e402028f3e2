/* RFC 6962 TLS structures. See ct.h. */
#include "ledger/log/ct.h"

#include <stdlib.h>
#include <string.h>

void arb_ct_cert_list_free(arb_ct_cert_list *l)
{
    if (l == NULL)
        return;
    free(l->certs);
    l->certs = NULL;
    l->n = 0;
}

static arb_err buf_status(const arb_buf *b)
{
    return b->oom ? ARB_ERR_NOMEM : ARB_OK;
}

/* opaque<lo..hi> with a prefix of pb bytes. */
static arb_err put_vec(arb_buf *b, size_t pb, const uint8_t *p, size_t n, size_t lo, size_t hi)
{
    if (n < lo || n > hi || (n > 0 && p == NULL))
        return ARB_ERR_INVALID_ARG;
    if (pb == 1)
        arb_buf_u8(b, (uint8_t)n);
    else if (pb == 2)
        arb_buf_u16be(b, (uint16_t)n);
    else
        arb_buf_u24be(b, (uint32_t)n);
    arb_buf_put(b, p, n);
    return buf_status(b);
}

static arb_err put_signed_entry(arb_buf *b, const arb_ct_signed_entry *e)
{
    arb_buf_u16be(b, e->entry_type);
    if (e->entry_type == ARB_CT_ENTRY_PRECERT)
        arb_buf_put(b, e->issuer_key_hash, 32);
    else if (e->entry_type != ARB_CT_ENTRY_X509)
        return ARB_ERR_INVALID_ARG;
    return put_vec(b, 3, e->cert, e->cert_len, 1, ARB_CT_CERT_MAX);
}

static int get_signed_entry(arb_cur *c, arb_ct_signed_entry *e)
{
    if (!arb_cur_u16be(c, &e->entry_type))
        return 0;
    if (e->entry_type == ARB_CT_ENTRY_PRECERT) {
        if (!arb_cur_get(c, e->issuer_key_hash, 32))
            return 0;
    } else if (e->entry_type != ARB_CT_ENTRY_X509) {
        return 0;
    }
    if (!arb_cur_tls_vec(c, 3, &e->cert, &e->cert_len))
        return 0;
    return e->cert_len >= 1;
}

arb_err arb_ct_dsig_encode(arb_buf *out, const arb_ct_dsig *d)
{
    arb_buf_u8(out, d->hash_alg);
    arb_buf_u8(out, d->sig_alg);
    return put_vec(out, 2, d->sig, d->sig_len, 0, ARB_CT_EXT_MAX);
}

static int get_dsig(arb_cur *c, arb_ct_dsig *d)
{
    return arb_cur_u8(c, &d->hash_alg) && arb_cur_u8(c, &d->sig_alg) &&
           arb_cur_tls_vec(c, 2, &d->sig, &d->sig_len);
}

arb_err arb_ct_dsig_decode(arb_ct_dsig *out, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);

    if (!get_dsig(&c, out) || c.len != 0) {
        memset(out, 0, sizeof(*out));
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}

arb_err arb_ct_sct_encode(arb_buf *out, const arb_ct_sct *sct)
{
    arb_err err;

    arb_buf_u8(out, 0); /* sct_version v1 */
    arb_buf_put(out, sct->log_id, ARB_CT_LOG_ID_SIZE);
    arb_buf_u64be(out, sct->timestamp);
    if ((err = put_vec(out, 2, sct->ext, sct->ext_len, 0, ARB_CT_EXT_MAX)) != ARB_OK)
        return err;
    return arb_ct_dsig_encode(out, &sct->sig);
}

arb_err arb_ct_sct_decode(arb_ct_sct *out, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    uint8_t version;

    memset(out, 0, sizeof(*out));
    if (!arb_cur_u8(&c, &version) || version != 0 ||
        !arb_cur_get(&c, out->log_id, ARB_CT_LOG_ID_SIZE) || !arb_cur_u64be(&c, &out->timestamp) ||
        !arb_cur_tls_vec(&c, 2, &out->ext, &out->ext_len) || !get_dsig(&c, &out->sig) ||
        c.len != 0) {
        memset(out, 0, sizeof(*out));
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}

/* Appends a view to a growing list. */
static arb_err list_push(arb_ct_cert_list *l, size_t *cap, const uint8_t *p, size_t n)
{
    if (l->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        arb_ct_cert_ref *v = realloc(l->certs, ncap * sizeof(*v));
        if (v == NULL)
            return ARB_ERR_NOMEM;
        l->certs = v;
        *cap = ncap;
    }
    l->certs[l->n].der = p;
    l->certs[l->n].len = n;
    l->n++;
    return ARB_OK;
}

/* Splits a list body into items of opaque<lo..2^(8*pb)-1> each. */
static arb_err split_items(arb_ct_cert_list *l, size_t *cap, const uint8_t *p, size_t n, size_t pb)
{
    arb_cur c = arb_cur_make(p, n);
    arb_err err;

    while (c.len > 0) {
        const uint8_t *item;
        size_t item_len;
        if (!arb_cur_tls_vec(&c, pb, &item, &item_len) || item_len == 0)
            return ARB_ERR_PARSE;
        if ((err = list_push(l, cap, item, item_len)) != ARB_OK)
            return err;
    }
    return ARB_OK;
}

arb_err arb_ct_sct_list_decode(arb_ct_cert_list *out, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    const uint8_t *body;
    size_t body_len, cap = 0;
    arb_err err;

    memset(out, 0, sizeof(*out));
    if (!arb_cur_tls_vec(&c, 2, &body, &body_len) || c.len != 0 || body_len == 0)
        return ARB_ERR_PARSE;
    if ((err = split_items(out, &cap, body, body_len, 2)) != ARB_OK)
        arb_ct_cert_list_free(out);
    return err;
}

arb_err arb_ct_leaf_encode(arb_buf *out, const arb_ct_leaf *leaf)
{
    arb_err err;

    arb_buf_u8(out, 0); /* version v1 */
    arb_buf_u8(out, 0); /* leaf_type timestamped_entry */
    arb_buf_u64be(out, leaf->timestamp);
    if ((err = put_signed_entry(out, &leaf->entry)) != ARB_OK)
        return err;
    return put_vec(out, 2, leaf->ext, leaf->ext_len, 0, ARB_CT_EXT_MAX);
}

arb_err arb_ct_leaf_decode(arb_ct_leaf *out, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    uint8_t version, leaf_type;

    memset(out, 0, sizeof(*out));
    if (!arb_cur_u8(&c, &version) || version != 0 || !arb_cur_u8(&c, &leaf_type) ||
        leaf_type != 0 || !arb_cur_u64be(&c, &out->timestamp) ||
        !get_signed_entry(&c, &out->entry) || !arb_cur_tls_vec(&c, 2, &out->ext, &out->ext_len) ||
        c.len != 0) {
        memset(out, 0, sizeof(*out));
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}

arb_err arb_ct_leaf_hash(arb_sha256 *h, arb_hash *out, const arb_ct_leaf *leaf)
{
    arb_buf b = ARB_BUF_INIT;
    arb_err err = arb_ct_leaf_encode(&b, leaf);

    if (err == ARB_OK)
        arb_merkle_leaf_hash(h, out, b.data, b.len);
    else
        memset(out, 0, sizeof(*out));
    arb_buf_free(&b);
    return err;
}

arb_err arb_ct_sct_signed_data(arb_buf *out, uint64_t timestamp, const arb_ct_signed_entry *entry,
                               const uint8_t *ext, size_t ext_len)
{
    arb_err err;

    arb_buf_u8(out, 0); /* sct_version v1 */
    arb_buf_u8(out, ARB_CT_SIGTYPE_CERT_TIMESTAMP);
    arb_buf_u64be(out, timestamp);
    if ((err = put_signed_entry(out, entry)) != ARB_OK)
        return err;
    return put_vec(out, 2, ext, ext_len, 0, ARB_CT_EXT_MAX);
}

void arb_ct_sth_signed_data(uint8_t out50[static 50], uint64_t timestamp, uint64_t tree_size,
                            const uint8_t root32[static 32])
{
    int i;

    out50[0] = 0; /* version v1 */
    out50[1] = ARB_CT_SIGTYPE_TREE_HASH;
    for (i = 0; i < 8; i++) {
        out50[2 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
        out50[10 + i] = (uint8_t)(tree_size >> (56 - 8 * i));
    }
    memcpy(out50 + 18, root32, 32);
}

/* ASN.1Cert list<0..2^24-1>. */
static arb_err put_cert_list(arb_buf *out, const arb_ct_cert_ref *certs, size_t n)
{
    size_t total = 0, i, start;
    arb_err err;

    for (i = 0; i < n; i++) {
        if (certs[i].len < 1 || certs[i].len > ARB_CT_CERT_MAX)
            return ARB_ERR_INVALID_ARG;
        total += 3 + certs[i].len;
        if (total > ARB_CT_CERT_MAX)
            return ARB_ERR_INVALID_ARG;
    }
    start = out->len;
    arb_buf_u24be(out, (uint32_t)total);
    for (i = 0; i < n; i++)
        if ((err = put_vec(out, 3, certs[i].der, certs[i].len, 1, ARB_CT_CERT_MAX)) != ARB_OK)
            return err;
    if (!out->oom && out->len - start != 3 + total)
        return ARB_ERR_INTERNAL;
    return buf_status(out);
}

arb_err arb_ct_x509_chain_encode(arb_buf *out, const arb_ct_cert_ref *certs, size_t n)
{
    return put_cert_list(out, certs, n);
}

arb_err arb_ct_x509_chain_decode(arb_ct_cert_list *out, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    const uint8_t *body;
    size_t body_len, cap = 0;
    arb_err err;

    memset(out, 0, sizeof(*out));
    if (!arb_cur_tls_vec(&c, 3, &body, &body_len) || c.len != 0)
        return ARB_ERR_PARSE;
    if ((err = split_items(out, &cap, body, body_len, 3)) != ARB_OK)
        arb_ct_cert_list_free(out);
    return err;
}

arb_err arb_ct_precert_chain_encode(arb_buf *out, const arb_ct_cert_ref *precert,
                                    const arb_ct_cert_ref *chain, size_t n)
{
    arb_err err = put_vec(out, 3, precert->der, precert->len, 1, ARB_CT_CERT_MAX);

    if (err != ARB_OK)
        return err;
    return put_cert_list(out, chain, n);
}

arb_err arb_ct_precert_chain_decode(arb_ct_cert_list *out, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    const uint8_t *pre, *body;
    size_t pre_len, body_len, cap = 0;
    arb_err err;

    memset(out, 0, sizeof(*out));
    if (!arb_cur_tls_vec(&c, 3, &pre, &pre_len) || pre_len == 0 ||
        !arb_cur_tls_vec(&c, 3, &body, &body_len) || c.len != 0)
        return ARB_ERR_PARSE;
    if ((err = list_push(out, &cap, pre, pre_len)) == ARB_OK)
        err = split_items(out, &cap, body, body_len, 3);
    if (err != ARB_OK)
        arb_ct_cert_list_free(out);
    return err;
}
