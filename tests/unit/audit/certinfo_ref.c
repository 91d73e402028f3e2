#include "tests/unit/audit/certinfo_ref.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Compares candidate name s against the module's next expected name: skipped
 * if not a DNS-looking string or already seen among names[0..*k). */
static int expect(const arb_audit_certinfo *ci, size_t *k, const unsigned char *s, int len)
{
    char low[256];

    if (len <= 0 || len > 253)
        return 1;
    for (int i = 0; i < len; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return 1;
        low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    }
    low[len] = '\0';
    for (size_t i = 0; i < *k; i++)
        if (strcmp(ci->names[i], low) == 0)
            return 1;
    if (*k >= ci->n || strcmp(ci->names[*k], low) != 0)
        return 0;
    (*k)++;
    return 1;
}

/* 1 when every SEQUENCE and SET in der[0..len) is encoded constructed and
 * every element's length fits (DER's shape; OpenSSL's name parser also takes
 * a primitive-flagged SEQUENCE and writes its bytes back unchanged). */
static int der_shape(const unsigned char *p, long len, int depth)
{
    const unsigned char *end = p + len;

    if (depth > 32)
        return 0;
    while (p < end) {
        long l = 0;
        int tag = 0, cls = 0, ret = ASN1_get_object(&p, &l, &tag, &cls, end - p);
        if (ret & 0x80 || ret == 0x21 || l > end - p)
            return 0;
        if (cls == V_ASN1_UNIVERSAL && (tag == V_ASN1_SEQUENCE || tag == V_ASN1_SET) &&
            !(ret & V_ASN1_CONSTRUCTED))
            return 0;
        if ((ret & V_ASN1_CONSTRUCTED) && !der_shape(p, l, depth + 1))
            return 0;
        p += l;
    }
    return 1;
}

int certinfo_check(const arb_audit_certinfo *ci, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;
    GENERAL_NAMES *gens;
    X509_NAME *subj;
    unsigned char *ib = NULL, *sb = NULL, id[32];
    char line[256];
    int il, sl, idx = -1, same = 1;
    size_t k = 0;
    EVP_MD_CTX *md;

    if (len > 0x7fffffff)
        return -1;
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || (size_t)(p - der) != len) {
        X509_free(x);
        ERR_clear_error();
        return -1;
    }
    /* OpenSSL reads some encodings DER forbids (a primitive-flagged name
     * SEQUENCE, say) that the module refuses; compare only on input that is
     * the DER OpenSSL itself writes for what it read. */
    {
        unsigned char *re = NULL;
        int rl = i2d_X509(x, &re);
        int canonical = rl > 0 && (size_t)rl == len && memcmp(re, der, len) == 0 &&
                        der_shape(der, (long)len, 0);
        OPENSSL_free(re);
        if (!canonical) {
            X509_free(x);
            ERR_clear_error();
            return -1;
        }
    }
    gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            same &= expect(ci, &k, ASN1_STRING_get0_data(g->d.dNSName),
                           ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
    subj = X509_get_subject_name(x);
    while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
        unsigned char *u = NULL;
        int ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
        if (ul >= 0)
            same &= expect(ci, &k, u, ul);
        OPENSSL_free(u);
    }
    same &= k == ci->n;
    X509_NAME_oneline(subj, line, sizeof line);
    same &= strcmp(line, ci->subject) == 0;
    il = i2d_X509_NAME(X509_get_issuer_name(x), &ib);
    sl = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &sb);
    md = EVP_MD_CTX_new();
    if (il <= 0 || sl <= 0 || md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(md, ib, (size_t)il) || !EVP_DigestUpdate(md, sb, (size_t)sl) ||
        !EVP_DigestFinal_ex(md, id, NULL))
        same = 0;
    else
        same &= memcmp(id, ci->id, 32) == 0;
    EVP_MD_CTX_free(md);
    OPENSSL_free(ib);
    OPENSSL_free(sb);
    X509_free(x);
    ERR_clear_error();
    return same;
}
