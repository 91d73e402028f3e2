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
    free(ci->names); /* one block: the pointers, then the strings */
    memset(ci, 0, sizeof *ci);
}

/* The names of one certificate while it is read: lowercase strings, each
 * NUL-terminated, back to back in buf (on the stack until it outgrows it). */
typedef struct {
    char *buf;
    size_t used, cap;
    size_t *off;
    size_t n, ncap;
    char sbuf[2048];
    size_t soff[32];
} namecol;

static void namecol_init(namecol *c)
{
    c->buf = c->sbuf;
    c->cap = sizeof c->sbuf;
    c->used = 0;
    c->off = c->soff;
    c->ncap = sizeof c->soff / sizeof c->soff[0];
    c->n = 0;
}

static void namecol_free(namecol *c)
{
    if (c->buf != c->sbuf)
        free(c->buf);
    if (c->off != c->soff)
        free(c->off);
}

/* Adds s[0..len) unless it is not a DNS-looking string (skipped) or already
 * there. Returns 0 when out of memory. */
static int add_name(namecol *c, const unsigned char *s, int len)
{
    char *d;

    if (len <= 0 || len > 253)
        return 1;
    for (int i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return 1; /* not a DNS name: skip */
    if (c->used + (size_t)len + 1 > c->cap) {
        size_t cap = c->cap * 2 + (size_t)len + 1;
        char *nb = malloc(cap);
        if (nb == NULL)
            return 0;
        memcpy(nb, c->buf, c->used);
        if (c->buf != c->sbuf)
            free(c->buf);
        c->buf = nb;
        c->cap = cap;
    }
    if (c->n == c->ncap) {
        size_t *no = malloc(2 * c->ncap * sizeof *no);
        if (no == NULL)
            return 0;
        memcpy(no, c->off, c->n * sizeof *no);
        if (c->off != c->soff)
            free(c->off);
        c->off = no;
        c->ncap *= 2;
    }
    d = c->buf + c->used;
    for (int i = 0; i < len; i++)
        d[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    d[len] = 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->buf + c->off[i], d) == 0)
            return 1;
    c->off[c->n++] = c->used;
    c->used += (size_t)len + 1;
    return 1;
}

/* Moves the names into ci (one allocation). Returns 0 when out of memory. */
static int namecol_finish(namecol *c, arb_audit_certinfo *ci)
{
    char **names, *str;

    if (c->n == 0)
        return 1;
    if ((names = malloc(c->n * sizeof *names + c->used)) == NULL)
        return 0;
    str = (char *)(names + c->n);
    memcpy(str, c->buf, c->used);
    for (size_t i = 0; i < c->n; i++)
        names[i] = str + c->off[i];
    ci->names = names;
    ci->n = c->n;
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

/* Finds the TBSCertificate of a certificate (is_tbs 0) or checks that der
 * is one (is_tbs 1): *tbs / *tbs_end delimit it. Returns 1, or 0 with the
 * reason in eb. */
static int find_tbs(const uint8_t *der, size_t len, int is_tbs, const unsigned char **tbs,
                    const unsigned char **tbs_end, arb_errbuf *eb)
{
    const unsigned char *p = der, *end = der + len, *q;

    if (len > 0x7fffffff) {
        arb_errf(eb, ARB_ERR_PARSE, "certificate too large");
        return 0;
    }
    if (!is_tbs) {
        /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
         * signatureValue }: only the first is read, the rest must be there. */
        long l;
        int cls, cons;
        if (tlv(&p, end, &l, &cls, &cons) != V_ASN1_SEQUENCE || !cons || p + l != end) {
            arb_errf(eb, ARB_ERR_PARSE, "not a DER certificate");
            return 0;
        }
        q = p;
        if (tlv(&q, end, &l, &cls, &cons) != V_ASN1_SEQUENCE || !cons) {
            arb_errf(eb, ARB_ERR_PARSE, "not a DER certificate");
            return 0;
        }
        end = q + l;
        {
            const unsigned char *r = end;
            long l2;
            if (tlv(&r, der + len, &l2, &cls, &cons) != V_ASN1_SEQUENCE ||
                (r += l2, tlv(&r, der + len, &l2, &cls, &cons)) != V_ASN1_BIT_STRING ||
                r + l2 != der + len) {
                arb_errf(eb, ARB_ERR_PARSE, "not a DER certificate");
                return 0;
            }
        }
    }
    *tbs = p;
    *tbs_end = end;
    return 1;
}

/* The reference reader: OpenSSL decodes the subject, the serial and the
 * extensions. Used for whatever the fast reader below does not handle. */
static arb_err certinfo_read_ref(arb_audit_certinfo *out, const uint8_t *der, size_t len,
                                 int is_tbs, int want_subject, arb_errbuf *eb)
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
    namecol nc;

    memset(out, 0, sizeof *out);
    if (!find_tbs(der, len, is_tbs, &p, &end, eb))
        return ARB_ERR_PARSE;
    namecol_init(&nc);
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
            !add_name(&nc, ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName)))
            goto out;
    }
    while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
        unsigned char *u = NULL;
        int ul = ASN1_STRING_to_UTF8(&u, s);
        int ok = ul < 0 || add_name(&nc, u, ul);
        OPENSSL_free(u);
        if (!ok)
            goto out;
    }
    if (want_subject)
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
    err = namecol_finish(&nc, out) ? ARB_OK : ARB_ERR_NOMEM;
out:
    namecol_free(&nc);
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

/* ---- the fast reader ----
 *
 * Most logged certificates are plain DER with string types a monitor sees
 * every day. For those, this reader walks the bytes itself: the subject's
 * common names, the SAN extension's names and the serial, without OpenSSL's
 * decoders (which canonicalise every name, allocate per field and cost most
 * of a monitor's time). Whatever it does not recognise exactly (BER lengths,
 * rare string types, non-ASCII UTF-8, a second SAN extension, GeneralName
 * kinds other than the four primitive ones, trailing bytes, a malformed OID)
 * goes to the reference reader above, so its answers are the reference's
 * answers; the tests and the fuzz target compare the two on every input. */

/* One strict DER element: a low-tag-number identifier and a minimal definite
 * length. *p moves past the header; the content is [*p, *p + *len). Returns
 * the identifier octet, or -1. */
static int dtlv(const unsigned char **p, const unsigned char *end, size_t *len)
{
    const unsigned char *q = *p;
    size_t l;
    int id;

    if (end - q < 2)
        return -1;
    id = *q++;
    if ((id & 0x1f) == 0x1f)
        return -1; /* high tag number form */
    l = *q++;
    if (l & 0x80) {
        unsigned n = l & 0x7f;
        if (n == 0 || n > 3 || (size_t)(end - q) < n || q[0] == 0)
            return -1; /* indefinite, huge, or a leading zero octet */
        l = 0;
        for (unsigned i = 0; i < n; i++)
            l = l << 8 | *q++;
        if (l < 0x80)
            return -1; /* the short form was due */
    }
    if ((size_t)(end - q) < l)
        return -1;
    *p = q;
    *len = l;
    return id;
}

/* An OBJECT IDENTIFIER's content as X.690 8.19 wants it (OpenSSL's decoder
 * refuses the others). */
static int oid_ok(const unsigned char *p, size_t len)
{
    if (len == 0 || p[len - 1] & 0x80)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] == 0x80 && (i == 0 || !(p[i - 1] & 0x80)))
            return 0;
    return 1;
}

enum { FAST_OK = 0, FAST_NO = 1, FAST_NOMEM = 2 };

/* The subject's common names, in order. */
static int fast_subject(namecol *nc, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len, *e;
    size_t l;

    if (dtlv(&p, end, &l) != 0x30 || p + l != end)
        return FAST_NO;
    while (p < end) {
        const unsigned char *set;
        size_t sl;
        if (dtlv(&p, end, &sl) != 0x31 || sl == 0)
            return FAST_NO;
        set = p;
        e = set + sl;
        p = e;
        while (set < e) {
            const unsigned char *oid, *val, *ae;
            size_t al, ol, vl;
            int tag;
            if (dtlv(&set, e, &al) != 0x30)
                return FAST_NO;
            ae = set + al;
            if (dtlv(&set, ae, &ol) != 0x06 || !oid_ok(set, ol))
                return FAST_NO;
            oid = set;
            set += ol;
            tag = dtlv(&set, ae, &vl);
            if (set + vl != ae)
                return FAST_NO;
            val = set;
            set = ae;
            if (tag == 0x0c) { /* UTF8String: ASCII only here */
                for (size_t i = 0; i < vl; i++)
                    if (val[i] & 0x80)
                        return FAST_NO;
            } else if (tag != 0x13 && tag != 0x16) { /* PrintableString, IA5String */
                return FAST_NO;
            }
            if (ol == 3 && oid[0] == 0x55 && oid[1] == 0x04 && oid[2] == 0x03 &&
                !add_name(nc, val, (int)vl))
                return FAST_NOMEM;
        }
    }
    return FAST_OK;
}

/* The dNSNames of a SAN extension's value. */
static int fast_san(namecol *nc, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    size_t l;

    if (dtlv(&p, end, &l) != 0x30 || p + l != end || l == 0)
        return FAST_NO;
    while (p < end) {
        int id = dtlv(&p, end, &l);
        /* [1] rfc822Name, [2] dNSName, [6] URI, [7] iPAddress, primitive */
        if (id != 0x81 && id != 0x82 && id != 0x86 && id != 0x87)
            return FAST_NO;
        if (id == 0x82 && !add_name(nc, p, (int)l))
            return FAST_NOMEM;
        p += l;
    }
    return FAST_OK;
}

/* The extensions SEQUENCE: shape checked, the one SAN extension read. */
static int fast_exts(namecol *nc, const unsigned char *p, size_t len)
{
    static const unsigned char san_oid[] = {0x55, 0x1d, 0x11};
    const unsigned char *end = p + len, *san = NULL;
    size_t l, san_len = 0;

    if (dtlv(&p, end, &l) != 0x30 || p + l != end)
        return FAST_NO;
    while (p < end) {
        const unsigned char *e, *oid;
        size_t el, ol, vl;
        int id;
        if (dtlv(&p, end, &el) != 0x30)
            return FAST_NO;
        e = p + el;
        if (dtlv(&p, e, &ol) != 0x06 || !oid_ok(p, ol))
            return FAST_NO;
        oid = p;
        p += ol;
        id = dtlv(&p, e, &vl);
        if (id == 0x01) { /* critical */
            if (vl != 1)
                return FAST_NO;
            p += vl;
            id = dtlv(&p, e, &vl);
        }
        if (id != 0x04 || p + vl != e)
            return FAST_NO;
        if (ol == sizeof san_oid && memcmp(oid, san_oid, ol) == 0) {
            if (san != NULL)
                return FAST_NO; /* two: OpenSSL reads neither */
            san = p;
            san_len = vl;
        }
        p = e;
    }
    return san != NULL ? fast_san(nc, san, san_len) : FAST_OK;
}

/* A serial whose bytes are already its canonical DER. */
static int serial_canonical(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    size_t l;

    if (dtlv(&p, end, &l) != 0x02 || p + l != end || l == 0)
        return 0;
    if (l > 1 && ((p[0] == 0x00 && !(p[1] & 0x80)) || (p[0] == 0xff && (p[1] & 0x80))))
        return 0;
    return 1;
}

/* SHA-256(issuer DER || serial DER) into out. */
static int identity(uint8_t out[32], const unsigned char *issuer, size_t il,
                    const unsigned char *serial, size_t sl)
{
    unsigned char stack[1024], *buf = stack;
    int ok;

    pthread_once(&g_sha256_once, fetch_sha256);
    if (g_sha256 == NULL)
        return 0;
    if (il + sl > sizeof stack && (buf = malloc(il + sl)) == NULL)
        return 0;
    memcpy(buf, issuer, il);
    memcpy(buf + il, serial, sl);
    ok = EVP_Digest(buf, il + sl, out, NULL, g_sha256, NULL);
    if (buf != stack)
        free(buf);
    return ok;
}

/* FAST_OK with *out filled (names and identity; the subject line only with
 * want_subject), FAST_NO (use the reference reader), or FAST_NOMEM. */
static int certinfo_read_fast(arb_audit_certinfo *out, const uint8_t *der, size_t len, int is_tbs,
                              int want_subject)
{
    const unsigned char *p, *end;
    tbs_view v;
    namecol nc;
    arb_errbuf eb;
    int r;

    memset(out, 0, sizeof *out);
    if (!find_tbs(der, len, is_tbs, &p, &end, &eb) || !tbs_walk(&v, p, end) ||
        !serial_canonical(v.serial, (size_t)v.serial_len) ||
        v.subject_len > 1024 * 1024 /* OpenSSL's X509_NAME_MAX */)
        return FAST_NO;
    namecol_init(&nc);
    r = v.exts != NULL ? fast_exts(&nc, v.exts, (size_t)v.exts_len) : FAST_OK;
    if (r == FAST_OK)
        r = fast_subject(&nc, v.subject, (size_t)v.subject_len);
    if (r == FAST_OK && !identity(out->id, v.issuer, (size_t)v.issuer_len, v.serial,
                                  (size_t)v.serial_len))
        r = FAST_NO;
    if (r == FAST_OK && want_subject) {
        const unsigned char *q = v.subject;
        X509_NAME *subj = d2i_X509_NAME(NULL, &q, v.subject_len);
        if (subj == NULL)
            r = FAST_NO;
        else
            X509_NAME_oneline(subj, out->subject, sizeof out->subject);
        X509_NAME_free(subj);
        ERR_clear_error();
    }
    if (r == FAST_OK && !namecol_finish(&nc, out))
        r = FAST_NOMEM;
    namecol_free(&nc);
    if (r != FAST_OK)
        arb_audit_certinfo_clear(out);
    return r;
}

arb_err arb_audit_certinfo_read_ex(arb_audit_certinfo *out, const uint8_t *der, size_t len,
                                   int is_tbs, unsigned flags, arb_errbuf *eb)
{
    int want_subject = !(flags & ARB_CERTINFO_NO_SUBJECT);

    if (!(flags & ARB_CERTINFO_REFERENCE)) {
        int r = certinfo_read_fast(out, der, len, is_tbs, want_subject);
        if (r == FAST_OK)
            return ARB_OK;
        if (r == FAST_NOMEM)
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    return certinfo_read_ref(out, der, len, is_tbs, want_subject, eb);
}

arb_err arb_audit_certinfo_read(arb_audit_certinfo *out, const uint8_t *der, size_t len, int is_tbs,
                                arb_errbuf *eb)
{
    return arb_audit_certinfo_read_ex(out, der, len, is_tbs, 0, eb);
}

void arb_audit_certinfo_subject(arb_audit_certinfo *ci, const uint8_t *der, size_t len, int is_tbs)
{
    const unsigned char *p, *end, *q;
    tbs_view v;
    arb_errbuf eb;
    X509_NAME *subj;

    ci->subject[0] = 0;
    if (!find_tbs(der, len, is_tbs, &p, &end, &eb) || !tbs_walk(&v, p, end))
        return;
    q = v.subject;
    if ((subj = d2i_X509_NAME(NULL, &q, v.subject_len)) != NULL)
        X509_NAME_oneline(subj, ci->subject, sizeof ci->subject);
    X509_NAME_free(subj);
    ERR_clear_error();
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
