/* Domain matching and certificate names; see match.h. */
#include "auditor/match.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
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

/* One DER TLV read with OpenSSL's ASN1_get_object: *p moves past the header;
 * the element's content is [*p, *p + *len). Returns the tag with
 * V_ASN1_CONSTRUCTED / class bits in *cls, or -1 when the header is bad or the
 * content runs past end. */
static int tlv(const unsigned char **p, const unsigned char *end, long *len, int *cls,
               int *constructed)
{
    const unsigned char *q = *p;
    int tag = 0, ret;

    if (q >= end)
        return -1;
    ret = ASN1_get_object(&q, len, &tag, cls, end - q);
    if (ret & 0x80 || ret == 0x21 /* indefinite length */ || *len > end - q)
        return -1;
    *constructed = (ret & V_ASN1_CONSTRUCTED) != 0;
    *p = q;
    return tag;
}

/* SHA-256, fetched once (an implicit fetch per call takes OpenSSL's global
 * locks, which serialize threads that read certificates in parallel). */
static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* The fields of a TBSCertificate this module needs, as views into the DER:
 * serial number, issuer and subject (whole TLVs) and the extensions (the
 * SEQUENCE inside [3]), without decoding anything else. d2i_X509 would also
 * decode the public key through OpenSSL 3's provider machinery, which takes
 * global locks and costs most of a monitor's time. */
typedef struct {
    const unsigned char *serial, *issuer, *subject, *exts;
    long serial_len, issuer_len, subject_len, exts_len;
} tbs_view;

static int tbs_walk(tbs_view *v, const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q, *e;
    long len;
    int cls, cons, tag;

    memset(v, 0, sizeof *v);
    if ((tag = tlv(&p, end, &len, &cls, &cons)) != V_ASN1_SEQUENCE || cls != 0 || !cons ||
        p + len != end)
        return 0;
    e = p + len;
    q = p;
    tag = tlv(&q, e, &len, &cls, &cons);
    if (tag == 0 && cls == V_ASN1_CONTEXT_SPECIFIC && cons) { /* [0] version */
        p = q + len;
        q = p;
        tag = tlv(&q, e, &len, &cls, &cons);
    }
    if (tag != V_ASN1_INTEGER || cls != 0 || cons)
        return 0;
    v->serial = p;
    v->serial_len = (long)(q - p) + len;
    p = q + len;
    /* signature AlgorithmIdentifier, issuer, validity, subject, SPKI */
    for (int field = 0; field < 5; field++) {
        q = p;
        if (tlv(&q, e, &len, &cls, &cons) != V_ASN1_SEQUENCE || cls != 0 || !cons)
            return 0;
        if (field == 1) {
            v->issuer = p;
            v->issuer_len = (long)(q - p) + len;
        } else if (field == 3) {
            v->subject = p;
            v->subject_len = (long)(q - p) + len;
        }
        p = q + len;
    }
    /* [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions */
    while (p < e) {
        q = p;
        tag = tlv(&q, e, &len, &cls, &cons);
        if (tag < 0 || cls != V_ASN1_CONTEXT_SPECIFIC)
            return 0;
        if (tag == 3) {
            if (!cons)
                return 0;
            v->exts = q;
            v->exts_len = len;
        }
        p = q + len;
    }
    return p == e;
}

arb_err arb_audit_certinfo_read(arb_audit_certinfo *out, const uint8_t *der, size_t len, int is_tbs,
                                arb_errbuf *eb)
{
    const unsigned char *p = der, *end = der + len, *q;
    tbs_view v;
    X509_NAME *subj = NULL;
    X509_EXTENSIONS *exts = NULL;
    GENERAL_NAMES *gens = NULL;
    ASN1_INTEGER *serial = NULL;
    unsigned char *sb = NULL;
    int sl, idx = -1;
    arb_err err = ARB_ERR_NOMEM;
    EVP_MD_CTX *md = NULL;
    const char *what = is_tbs ? "TBSCertificate" : "certificate";

    memset(out, 0, sizeof *out);
    if (len > 0x7fffffff)
        return arb_errf(eb, ARB_ERR_PARSE, "certificate too large");
    if (!is_tbs) {
        /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
         * signatureValue }: only the first is read, the rest must be there. */
        long l;
        int cls, cons;
        if (tlv(&p, end, &l, &cls, &cons) != V_ASN1_SEQUENCE || !cons || p + l != end)
            return arb_errf(eb, ARB_ERR_PARSE, "not a DER certificate");
        q = p;
        if (tlv(&q, end, &l, &cls, &cons) != V_ASN1_SEQUENCE || !cons)
            return arb_errf(eb, ARB_ERR_PARSE, "not a DER certificate");
        end = q + l;
        {
            const unsigned char *r = end;
            long l2;
            if (tlv(&r, der + len, &l2, &cls, &cons) != V_ASN1_SEQUENCE ||
                (r += l2, tlv(&r, der + len, &l2, &cls, &cons)) != V_ASN1_BIT_STRING ||
                r + l2 != der + len)
                return arb_errf(eb, ARB_ERR_PARSE, "not a DER certificate");
        }
    }
    if (!tbs_walk(&v, p, end))
        return arb_errf(eb, ARB_ERR_PARSE, "not a DER %s", what);
    q = v.subject;
    subj = d2i_X509_NAME(NULL, &q, v.subject_len);
    q = v.serial;
    serial = d2i_ASN1_INTEGER(NULL, &q, v.serial_len);
    if (subj == NULL || serial == NULL) {
        err = arb_errf(eb, ARB_ERR_PARSE, "not a DER %s (subject or serial)", what);
        goto out;
    }
    if (v.exts != NULL) {
        q = v.exts;
        exts = d2i_X509_EXTENSIONS(NULL, &q, v.exts_len);
        if (exts == NULL || q != v.exts + v.exts_len) {
            err = arb_errf(eb, ARB_ERR_PARSE, "not a DER %s (extensions)", what);
            goto out;
        }
        gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
    }
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS &&
            !add_name(out, ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName)))
            goto out;
    }
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
    /* The identity: the issuer's DER as it stands in the certificate and the
     * serial's canonical DER (RFC 6962 3.1: equal for a precertificate and
     * its final certificate). */
    sl = i2d_ASN1_INTEGER(serial, &sb);
    pthread_once(&g_sha256_once, fetch_sha256);
    md = EVP_MD_CTX_new();
    if (sl <= 0 || md == NULL || g_sha256 == NULL || !EVP_DigestInit_ex2(md, g_sha256, NULL) ||
        !EVP_DigestUpdate(md, v.issuer, (size_t)v.issuer_len) ||
        !EVP_DigestUpdate(md, sb, (size_t)sl) || !EVP_DigestFinal_ex(md, out->id, NULL)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "cannot encode issuer and serial");
        goto out;
    }
    err = ARB_OK;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(sb);
    ASN1_INTEGER_free(serial);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(subj);
    ERR_clear_error();
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
