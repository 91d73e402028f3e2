/* Domain matching and certificate names; see match.h. */
#include "auditor/match.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Length of s without one trailing dot. */
static size_t trimmed(const char *s)
{
    size_t n = strlen(s);
    return (n > 0 && s[n - 1] == '.') ? n - 1 : n;
}

/* 1 if name[0..nl) equals dom[0..dl) or ends in "." + dom. */
static int in_domain(const char *name, size_t nl, const char *dom, size_t dl)
{
    if (dl == 0 || nl < dl)
        return 0;
    if (strncasecmp(name + nl - dl, dom, dl) != 0)
        return 0;
    return nl == dl || name[nl - dl - 1] == '.';
}

int arb_audit_name_matches(const char *cert_name, const char *watch)
{
    size_t nl = trimmed(cert_name), wl = trimmed(watch);

    /* A watch entry written as "*.example.com" means the same as "example.com". */
    if (wl > 2 && watch[0] == '*' && watch[1] == '.') {
        watch += 2;
        wl -= 2;
    }
    if (nl == 0 || wl == 0)
        return 0;
    if (in_domain(cert_name, nl, watch, wl))
        return 1;
    /* A wildcard "*.base" covers exactly one label below base: it covers the
     * watched domain when the domain is "<label>.base". */
    if (nl > 2 && cert_name[0] == '*' && cert_name[1] == '.') {
        const char *base = cert_name + 2;
        size_t bl = nl - 2;
        const char *dot = memchr(watch, '.', wl);
        if (dot != NULL && dot != watch && (size_t)(watch + wl - (dot + 1)) == bl &&
            strncasecmp(dot + 1, base, bl) == 0)
            return 1;
    }
    return 0;
}

void arb_audit_certinfo_clear(arb_audit_certinfo *ci)
{
    if (ci == NULL)
        return;
    for (size_t i = 0; i < ci->n; i++)
        free(ci->names[i]);
    free(ci->names);
    memset(ci, 0, sizeof *ci);
}

static int add_name(arb_audit_certinfo *ci, const unsigned char *s, int len)
{
    char *d, **nn;
    if (len <= 0 || len > 253)
        return 1;
    for (int i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return 1; /* not a DNS name: skip */
    d = malloc((size_t)len + 1);
    if (d == NULL)
        return 0;
    for (int i = 0; i < len; i++)
        d[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    d[len] = 0;
    for (size_t i = 0; i < ci->n; i++)
        if (strcmp(ci->names[i], d) == 0) {
            free(d);
            return 1;
        }
    nn = realloc(ci->names, (ci->n + 1) * sizeof *nn);
    if (nn == NULL) {
        free(d);
        return 0;
    }
    ci->names = nn;
    ci->names[ci->n++] = d;
    return 1;
}

/* Wraps a TBSCertificate into a Certificate with an empty signature so that
 * OpenSSL's X509 parser reads it (only its fields are used, never the
 * signature). */
static unsigned char *wrap_tbs(const uint8_t *tbs, size_t len, size_t *out_len)
{
    static const uint8_t alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                  0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}; /* sha256WithRSA */
    static const uint8_t bits[] = {0x03, 0x01, 0x00};
    size_t body = len + sizeof alg + sizeof bits, hl, i = 0;
    unsigned char *out;

    if (len > 0xffffff)
        return NULL;
    hl = body < 0x80 ? 2 : body < 0x100 ? 3 : body < 0x10000 ? 4 : 5;
    out = malloc(hl + body);
    if (out == NULL)
        return NULL;
    out[i++] = 0x30;
    if (body < 0x80) {
        out[i++] = (uint8_t)body;
    } else if (body < 0x100) {
        out[i++] = 0x81;
        out[i++] = (uint8_t)body;
    } else if (body < 0x10000) {
        out[i++] = 0x82;
        out[i++] = (uint8_t)(body >> 8);
        out[i++] = (uint8_t)body;
    } else {
        out[i++] = 0x83;
        out[i++] = (uint8_t)(body >> 16);
        out[i++] = (uint8_t)(body >> 8);
        out[i++] = (uint8_t)body;
    }
    memcpy(out + i, tbs, len);
    memcpy(out + i + len, alg, sizeof alg);
    memcpy(out + i + len + sizeof alg, bits, sizeof bits);
    *out_len = hl + body;
    return out;
}

arb_err arb_audit_certinfo_read(arb_audit_certinfo *out, const uint8_t *der, size_t len, int is_tbs,
                                arb_errbuf *eb)
{
    unsigned char *wrapped = NULL;
    const unsigned char *p;
    size_t wl = len;
    X509 *x = NULL;
    GENERAL_NAMES *gens = NULL;
    X509_NAME *subj, *iss;
    const ASN1_INTEGER *serial;
    unsigned char *ib = NULL, *sb = NULL;
    int il, sl, idx = -1;
    arb_err err = ARB_ERR_NOMEM;
    EVP_MD_CTX *md = NULL;

    memset(out, 0, sizeof *out);
    if (len > 0x7fffffff)
        return arb_errf(eb, ARB_ERR_PARSE, "certificate too large");
    if (is_tbs) {
        wrapped = wrap_tbs(der, len, &wl);
        if (wrapped == NULL)
            return arb_errf(eb, ARB_ERR_PARSE, "TBSCertificate too large");
        p = wrapped;
    } else {
        p = der;
    }
    {
        const unsigned char *start = p;
        x = d2i_X509(NULL, &p, (long)wl);
        if (x == NULL || (size_t)(p - start) != wl) {
            err = arb_errf(eb, ARB_ERR_PARSE, "not a DER %s", is_tbs ? "TBSCertificate" : "certificate");
            goto out;
        }
    }
    gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS &&
            !add_name(out, ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName)))
            goto out;
    }
    subj = X509_get_subject_name(x);
    while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
        unsigned char *u = NULL;
        int ul = ASN1_STRING_to_UTF8(&u, s);
        int ok = ul < 0 || add_name(out, u, ul);
        OPENSSL_free(u);
        if (!ok)
            goto out;
    }
    X509_NAME_oneline(subj, out->subject, sizeof out->subject);
    iss = X509_get_issuer_name(x);
    serial = X509_get0_serialNumber(x);
    il = i2d_X509_NAME(iss, &ib);
    sl = i2d_ASN1_INTEGER(serial, &sb);
    md = EVP_MD_CTX_new();
    if (il <= 0 || sl <= 0 || md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(md, ib, (size_t)il) || !EVP_DigestUpdate(md, sb, (size_t)sl) ||
        !EVP_DigestFinal_ex(md, out->id, NULL)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "cannot encode issuer and serial");
        goto out;
    }
    err = ARB_OK;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(ib);
    OPENSSL_free(sb);
    GENERAL_NAMES_free(gens);
    X509_free(x);
    free(wrapped);
    if (err != ARB_OK)
        arb_audit_certinfo_clear(out);
    return err;
}

long arb_audit_certinfo_match(const arb_audit_certinfo *ci, const char *const *watch, size_t nw,
                              const char **name)
{
    for (size_t w = 0; w < nw; w++)
        for (size_t i = 0; i < ci->n; i++)
            if (arb_audit_name_matches(ci->names[i], watch[w])) {
                if (name)
                    *name = ci->names[i];
                return (long)w;
            }
    return -1;
}
