/* Test PKI built with OpenSSL. See pki.h. */
#include "pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tests/test.h"

EVP_PKEY *pki_key(void)
{
    return EVP_EC_gen("P-256");
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok;

    if (ext == NULL)
        return 0;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Adds an extension with a raw DER value under an OID given as text. */
static int add_raw_ext(X509 *x, const char *oid, int critical, const uint8_t *val, int val_len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = 0;

    if (obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, val, val_len))
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, os);
    if (ext != NULL)
        ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok;
}

static X509_NAME *name_cn(const char *cn)
{
    X509_NAME *n = X509_NAME_new();

    if (n == NULL)
        return NULL;
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"arbor test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    return n;
}

X509 *pki_cert(const pki_spec *spec, EVP_PKEY *subject_key, X509 *signer, EVP_PKEY *signer_key)
{
    X509 *x = X509_new();
    X509_NAME *subj = name_cn(spec->cn), *iss = NULL;
    X509V3_CTX ctx;
    int ok = 0;

    if (x == NULL || subj == NULL)
        goto out;
    if (spec->issuer_cn != NULL)
        iss = name_cn(spec->issuer_cn);
    else if (signer != NULL)
        iss = X509_NAME_dup(X509_get_subject_name(signer));
    else
        iss = X509_NAME_dup(subj);
    if (iss == NULL)
        goto out;
    if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), spec->serial) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)spec->not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)spec->not_after) ||
        !X509_set_subject_name(x, subj) || !X509_set_issuer_name(x, iss) ||
        !X509_set_pubkey(x, subject_key))
        goto out;
    X509V3_set_ctx(&ctx, signer != NULL ? signer : x, x, NULL, NULL, 0);
    if (!add_ext(x, &ctx, NID_basic_constraints,
                 !(spec->flags & PKI_CA)         ? "critical,CA:FALSE"
                 : (spec->flags & PKI_PATHLEN0) ? "critical,CA:TRUE,pathlen:0"
                                                : "critical,CA:TRUE"))
        goto out;
    if ((spec->flags & PKI_NAME_CONSTRAINED) &&
        !add_ext(x, &ctx, NID_name_constraints, "critical,permitted;DNS:allowed.test"))
        goto out;
    if ((spec->flags & PKI_POISON) && !add_raw_ext(x, "1.3.6.1.4.1.11129.2.4.3", 1,
                                                   (const uint8_t *)"\x05\x00", 2))
        goto out;
    if (!add_ext(x, &ctx, NID_key_usage,
                 (spec->flags & PKI_CA) ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"))
        goto out;
    if ((spec->flags & PKI_PRE_SIGNER) &&
        !add_ext(x, &ctx, NID_ext_key_usage, "1.3.6.1.4.1.11129.2.4.4"))
        goto out;
    if ((spec->flags & (PKI_EKU_SERVER | PKI_EKU_CLIENT | PKI_EKU_ANY)) &&
        !add_ext(x, &ctx, NID_ext_key_usage,
                 (spec->flags & PKI_EKU_ANY) ? "anyExtendedKeyUsage"
                 : (spec->flags & PKI_EKU_SERVER) && (spec->flags & PKI_EKU_CLIENT)
                     ? "serverAuth,clientAuth"
                 : (spec->flags & PKI_EKU_SERVER) ? "serverAuth" : "clientAuth"))
        goto out;
    if ((spec->flags & PKI_EXTRA_EXT) &&
        !add_raw_ext(x, PKI_EXTRA_EXT_OID, 0, (const uint8_t *)"\x05\x00", 2))
        goto out;
    if (!(spec->flags & PKI_CA) && !add_ext(x, &ctx, NID_subject_alt_name, "DNS:example.test"))
        goto out;
    if (!add_ext(x, &ctx, NID_subject_key_identifier, "hash"))
        goto out;
    if (signer != NULL && !(spec->flags & PKI_NO_AKI) &&
        !add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
        goto out;
    if ((spec->flags & PKI_BAD_CRITICAL) &&
        !add_raw_ext(x, "1.3.6.1.4.1.99999.1", 1, (const uint8_t *)"\x05\x00", 2))
        goto out;
    if (!X509_sign(x, signer_key != NULL ? signer_key : subject_key, EVP_sha256()))
        goto out;
    ok = 1;
out:
    X509_NAME_free(subj);
    X509_NAME_free(iss);
    ERR_clear_error();
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

uint8_t *pki_der(X509 *x, size_t *len)
{
    unsigned char *p = NULL;
    int n = i2d_X509(x, &p);
    uint8_t *out;

    *len = 0;
    if (n <= 0 || (out = malloc((size_t)n)) == NULL) {
        OPENSSL_free(p);
        return NULL;
    }
    memcpy(out, p, (size_t)n);
    OPENSSL_free(p);
    *len = (size_t)n;
    return out;
}

char *pki_pem(X509 *x, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    long n;

    *len = 0;
    if (bio == NULL)
        return NULL;
    if (PEM_write_bio_X509(bio, x) && (n = BIO_get_mem_data(bio, &data)) > 0 &&
        (out = malloc((size_t)n + 1)) != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        *len = (size_t)n;
    }
    BIO_free(bio);
    return out;
}

uint8_t *pki_pem_file_der(const char *rel, size_t *len)
{
    size_t n;
    uint8_t *pem = arb_test_read_vector(rel, &n);
    BIO *bio;
    X509 *x;
    uint8_t *der = NULL;

    *len = 0;
    if (pem == NULL)
        return NULL;
    bio = BIO_new_mem_buf(pem, (int)n);
    x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (x != NULL)
        der = pki_der(x, len);
    X509_free(x);
    BIO_free(bio);
    free(pem);
    return der;
}

/* Reads a DER tag and definite length; returns the header size or 0. */
static size_t der_header(const uint8_t *p, size_t n, size_t *body_len)
{
    size_t i, len = 0, nb;

    if (n < 2)
        return 0;
    if (p[1] < 0x80) {
        *body_len = p[1];
        return 2;
    }
    nb = p[1] & 0x7f;
    if (nb == 0 || nb > 4 || n < 2 + nb)
        return 0;
    for (i = 0; i < nb; i++)
        len = (len << 8) | p[2 + i];
    *body_len = len;
    return 2 + nb;
}

int pki_raw_tbs(const uint8_t *cert, size_t cert_len, const uint8_t **tbs, size_t *tbs_len)
{
    size_t outer_body, inner_body, h1, h2;

    if (cert_len < 2 || cert[0] != 0x30 || (h1 = der_header(cert, cert_len, &outer_body)) == 0 ||
        h1 + outer_body != cert_len)
        return 0;
    if (cert[h1] != 0x30 || (h2 = der_header(cert + h1, cert_len - h1, &inner_body)) == 0 ||
        h2 + inner_body > outer_body)
        return 0;
    *tbs = cert + h1;
    *tbs_len = h2 + inner_body;
    return 1;
}

int pki_spki_hash(const uint8_t *cert, size_t cert_len, uint8_t out32[32])
{
    const unsigned char *p = cert;
    X509 *x = d2i_X509(NULL, &p, (long)cert_len);
    unsigned char *der = NULL;
    unsigned int mdlen;
    int n, ok = 0;

    if (x == NULL)
        return 0;
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (n > 0)
        ok = EVP_Digest(der, (size_t)n, out32, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    X509_free(x);
    return ok;
}

/* ---- BER variants ---- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int oom;
} bbuf;

static void bput(bbuf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2 + 64;
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

/* A definite length, minimal, or with one extra leading zero octet. */
static void put_len(bbuf *b, size_t len, int padded)
{
    uint8_t tmp[6];
    size_t nb = 0, v = len, i;

    if (len < 0x80 && !padded) {
        tmp[0] = (uint8_t)len;
        bput(b, tmp, 1);
        return;
    }
    while (v > 0) {
        nb++;
        v >>= 8;
    }
    if (padded)
        nb++;
    tmp[0] = (uint8_t)(0x80 | nb);
    for (i = 0; i < nb; i++) {
        size_t shift = 8 * (nb - 1 - i);
        tmp[1 + i] = shift >= 8 * sizeof(size_t) ? 0 : (uint8_t)(len >> shift);
    }
    bput(b, tmp, 1 + nb);
}

/* Encodes the element at p (single-byte tag) into b, rewriting the target. */
static int ber_elem(bbuf *b, const uint8_t *p, size_t n, const int *path, int mode, size_t *used)
{
    size_t body, h = der_header(p, n, &body);

    if (h == 0 || h + body > n || (p[0] & 0x1f) == 0x1f)
        return 0;
    *used = h + body;
    if (path[0] == -1) {
        bput(b, p, 1);
        if (mode == PKI_BER_INDEFINITE) {
            if (!(p[0] & 0x20))
                return 0;
            bput(b, "\x80", 1);
            bput(b, p + h, body);
            bput(b, "\x00\x00", 2);
        } else {
            put_len(b, body, 1);
            bput(b, p + h, body);
        }
        return 1;
    }
    if (!(p[0] & 0x20))
        return 0;
    {
        bbuf inner = {NULL, 0, 0, 0};
        const uint8_t *q = p + h;
        size_t m = body, k;
        int idx = 0, ok = 1, found = 0;
        while (ok && m > 0) {
            size_t cbody, ch = der_header(q, m, &cbody);
            if (ch == 0 || ch + cbody > m) {
                ok = 0;
                break;
            }
            if (idx == path[0]) {
                ok = ber_elem(&inner, q, m, path + 1, mode, &k);
                found = 1;
            } else {
                bput(&inner, q, ch + cbody);
            }
            q += ch + cbody;
            m -= ch + cbody;
            idx++;
        }
        if (ok && found && !inner.oom) {
            bput(b, p, 1);
            put_len(b, inner.len, 0);
            bput(b, inner.p, inner.len);
        }
        free(inner.p);
        return ok && found && !inner.oom;
    }
}

uint8_t *pki_ber_variant(const uint8_t *der, size_t len, const int *path, int mode,
                         size_t *out_len)
{
    bbuf b = {NULL, 0, 0, 0};
    size_t used = 0;

    *out_len = 0;
    if (!ber_elem(&b, der, len, path, mode, &used) || used != len || b.oom) {
        free(b.p);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}
