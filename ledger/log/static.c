/* static-ct-api formats. See static.h. */
#include "ledger/log/static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

void arb_ct_leaf_index_ext(uint8_t out8[static 8], uint64_t index)
{
    int i;

    out8[0] = 0; /* extension_type leaf_index */
    out8[1] = 0;
    out8[2] = 5;
    for (i = 0; i < 5; i++)
        out8[3 + i] = (uint8_t)(index >> (32 - 8 * i));
}

arb_err arb_ct_leaf_index_find(uint64_t *index, const uint8_t *ext, size_t ext_len)
{
    arb_cur c = arb_cur_make(ext, ext_len);
    int found = 0;

    *index = 0;
    while (c.len > 0) {
        uint8_t type;
        const uint8_t *data;
        size_t len;
        if (!arb_cur_u8(&c, &type) || !arb_cur_tls_vec(&c, 2, &data, &len))
            return ARB_ERR_PARSE;
        if (type != 0)
            continue;
        if (found || len != 5)
            return ARB_ERR_PARSE;
        *index = ((uint64_t)data[0] << 32) | ((uint64_t)data[1] << 24) | ((uint64_t)data[2] << 16) |
                 ((uint64_t)data[3] << 8) | data[4];
        found = 1;
    }
    return found ? ARB_OK : ARB_ERR_NOT_FOUND;
}

arb_err arb_ct_tile_leaf_encode(arb_buf *out, const arb_ct_tile_leaf *t)
{
    arb_buf tmp = ARB_BUF_INIT;
    arb_err err;

    /* The TimestampedEntry is the MerkleTreeLeaf without its two leading bytes. */
    if ((err = arb_ct_leaf_encode(&tmp, &t->leaf)) != ARB_OK) {
        arb_buf_free(&tmp);
        return err;
    }
    arb_buf_put(out, tmp.data + 2, tmp.len - 2);
    arb_buf_free(&tmp);
    if (t->leaf.entry.entry_type == ARB_CT_ENTRY_PRECERT) {
        if (t->precert_len < 1 || t->precert_len > ARB_CT_CERT_MAX)
            return ARB_ERR_INVALID_ARG;
        arb_buf_u24be(out, (uint32_t)t->precert_len);
        arb_buf_put(out, t->precert, t->precert_len);
    }
    if (t->n_fingerprints > 0xffff / 32)
        return ARB_ERR_INVALID_ARG;
    arb_buf_u16be(out, (uint16_t)(t->n_fingerprints * 32));
    arb_buf_put(out, t->fingerprints, t->n_fingerprints * 32);
    return out->oom ? ARB_ERR_NOMEM : ARB_OK;
}

arb_err arb_ct_tile_leaf_read(arb_ct_tile_leaf *out, arb_cur *c)
{
    arb_cur save = *c;
    const uint8_t *fp;
    size_t fp_len;
    arb_ct_leaf *l = &out->leaf;

    memset(out, 0, sizeof(*out));
    if (!arb_cur_u64be(c, &l->timestamp) || !arb_cur_u16be(c, &l->entry.entry_type))
        goto bad;
    if (l->entry.entry_type == ARB_CT_ENTRY_PRECERT) {
        if (!arb_cur_get(c, l->entry.issuer_key_hash, 32))
            goto bad;
    } else if (l->entry.entry_type != ARB_CT_ENTRY_X509) {
        goto bad;
    }
    if (!arb_cur_tls_vec(c, 3, &l->entry.cert, &l->entry.cert_len) || l->entry.cert_len == 0 ||
        !arb_cur_tls_vec(c, 2, &l->ext, &l->ext_len))
        goto bad;
    if (l->entry.entry_type == ARB_CT_ENTRY_PRECERT &&
        (!arb_cur_tls_vec(c, 3, &out->precert, &out->precert_len) || out->precert_len == 0))
        goto bad;
    if (!arb_cur_tls_vec(c, 2, &fp, &fp_len) || fp_len % 32 != 0)
        goto bad;
    out->fingerprints = fp;
    out->n_fingerprints = fp_len / 32;
    return ARB_OK;
bad:
    *c = save;
    memset(out, 0, sizeof(*out));
    return ARB_ERR_PARSE;
}

arb_err arb_ct_tile_leaf_hash(arb_sha256 *h, arb_hash *out, const arb_ct_tile_leaf *t)
{
    return arb_ct_leaf_hash(h, out, &t->leaf);
}

void arb_ct_note_key_id(uint8_t out4[static 4], const char *origin, const uint8_t log_id[static 32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t md[32];
    unsigned int mdlen = 0;
    static const uint8_t sep[2] = {'\n', 0x05};

    memset(out4, 0, 4);
    if (ctx == NULL)
        return;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, origin, strlen(origin)) &&
        EVP_DigestUpdate(ctx, sep, 2) && EVP_DigestUpdate(ctx, log_id, 32) &&
        EVP_DigestFinal_ex(ctx, md, &mdlen))
        memcpy(out4, md, 4);
    EVP_MD_CTX_free(ctx);
}

static int origin_ok(const char *origin)
{
    const unsigned char *p = (const unsigned char *)origin;

    if (*p == 0)
        return 0;
    for (; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '+')
            return 0;
    return 1;
}

/* The UTF-8 em dash that starts a signature line. */
#define EM_DASH "\xe2\x80\x94"

arb_err arb_ct_checkpoint_sign(char **text, size_t *text_len, const arb_ct_signer *s,
                               const char *origin, uint64_t timestamp, uint64_t tree_size,
                               const uint8_t root32[static 32])
{
    uint8_t sigbuf[ARB_CT_SIG_MAX], log_id[32];
    arb_ct_dsig d;
    arb_buf sig = ARB_BUF_INIT, out = ARB_BUF_INIT;
    char *root_b64 = NULL, *sig_b64 = NULL, line[64];
    arb_err err;

    *text = NULL;
    *text_len = 0;
    if (!origin_ok(origin))
        return ARB_ERR_INVALID_ARG;
    if ((err = arb_ct_sth_sign(s, &d, sigbuf, timestamp, tree_size, root32)) != ARB_OK)
        return err;
    arb_ct_signer_log_id(s, log_id);
    arb_buf_reserve(&sig, 4);
    if (!sig.oom) {
        arb_ct_note_key_id(sig.data, origin, log_id);
        sig.len = 4;
    }
    arb_buf_u64be(&sig, timestamp);
    if ((err = arb_ct_dsig_encode(&sig, &d)) != ARB_OK)
        goto out;
    if ((root_b64 = arb_base64_encode(root32, 32)) == NULL ||
        (sig_b64 = arb_base64_encode(sig.data, sig.len)) == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    snprintf(line, sizeof(line), "\n%llu\n", (unsigned long long)tree_size);
    arb_buf_put(&out, origin, strlen(origin));
    arb_buf_put(&out, line, strlen(line));
    arb_buf_put(&out, root_b64, strlen(root_b64));
    arb_buf_put(&out, "\n\n" EM_DASH " ", 6);
    arb_buf_put(&out, origin, strlen(origin));
    arb_buf_u8(&out, ' ');
    arb_buf_put(&out, sig_b64, strlen(sig_b64));
    arb_buf_put(&out, "\n", 2); /* includes the NUL */
    if (out.oom) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    *text_len = out.len - 1;
    *text = (char *)arb_buf_take(&out, NULL);
out:
    free(root_b64);
    free(sig_b64);
    arb_buf_free(&sig);
    arb_buf_free(&out);
    return err;
}

/* Parses a decimal uint64 without sign or leading zeros. */
static int parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
        return 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        if (v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 1;
}

arb_err arb_ct_checkpoint_verify(const arb_ct_verifier *v, const char *origin, const char *text,
                                 size_t text_len, uint64_t *tree_size, uint8_t root32[static 32],
                                 uint64_t *timestamp)
{
    const char *end = text + text_len, *p = text, *nl, *sep;
    size_t olen = strlen(origin);
    uint8_t log_id[32], key_id[4], *root = NULL;
    size_t root_len;
    uint64_t size;
    arb_err err = ARB_ERR_PARSE;
    int verified = 0;

    *tree_size = 0;
    *timestamp = 0;
    memset(root32, 0, 32);
    if (memchr(text, 0, text_len) != NULL)
        return ARB_ERR_PARSE;
    /* The body ends at the first blank line. */
    for (sep = text; sep + 1 < end; sep++)
        if (sep[0] == '\n' && sep[1] == '\n')
            break;
    if (sep + 1 >= end)
        return ARB_ERR_PARSE;
    /* Line 1: origin. */
    if ((nl = memchr(p, '\n', (size_t)(sep + 1 - p))) == NULL || (size_t)(nl - p) != olen ||
        memcmp(p, origin, olen) != 0)
        return ARB_ERR_VERIFY;
    p = nl + 1;
    /* Line 2: tree size. */
    if ((nl = memchr(p, '\n', (size_t)(sep + 1 - p))) == NULL || !parse_u64(p, (size_t)(nl - p), &size))
        return ARB_ERR_PARSE;
    p = nl + 1;
    /* Line 3: root hash. */
    if ((nl = memchr(p, '\n', (size_t)(sep + 1 - p))) == NULL ||
        arb_base64_decode(&root, &root_len, p, (size_t)(nl - p)) != ARB_OK)
        return ARB_ERR_PARSE;
    if (root_len != 32) {
        free(root);
        return ARB_ERR_PARSE;
    }
    arb_ct_verifier_log_id(v, log_id);
    arb_ct_note_key_id(key_id, origin, log_id);
    /* Signature lines: "— <name> <base64>\n". */
    p = sep + 2;
    if (p >= end) {
        free(root);
        return ARB_ERR_PARSE;
    }
    while (p < end) {
        const char *name, *b64;
        uint8_t *sig = NULL;
        size_t sig_len;

        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL || (size_t)(nl - p) < 4 ||
            memcmp(p, EM_DASH " ", 4) != 0) {
            err = ARB_ERR_PARSE;
            goto out;
        }
        name = p + 4;
        if ((b64 = memchr(name, ' ', (size_t)(nl - name))) == NULL) {
            err = ARB_ERR_PARSE;
            goto out;
        }
        if ((size_t)(b64 - name) == olen && memcmp(name, origin, olen) == 0 &&
            arb_base64_decode(&sig, &sig_len, b64 + 1, (size_t)(nl - b64 - 1)) == ARB_OK) {
            arb_ct_dsig d;
            uint64_t ts = 0;
            int i;
            if (sig_len > 12 && memcmp(sig, key_id, 4) == 0) {
                for (i = 0; i < 8; i++)
                    ts = (ts << 8) | sig[4 + i];
                if (arb_ct_dsig_decode(&d, sig + 12, sig_len - 12) == ARB_OK &&
                    arb_ct_sth_verify(v, &d, ts, size, root) == ARB_OK && !verified) {
                    verified = 1;
                    *timestamp = ts;
                }
            }
        }
        free(sig);
        p = nl + 1;
    }
    err = verified ? ARB_OK : ARB_ERR_VERIFY;
out:
    if (err == ARB_OK) {
        *tree_size = size;
        memcpy(root32, root, 32);
    } else {
        *timestamp = 0;
    }
    free(root);
    return err;
}
