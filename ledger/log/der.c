/* Strict DER check of a certificate. See der.h. */
#include "ledger/log/der.h"

#include <string.h>

/* Universal tag numbers (X.680 8.4). */
enum {
    T_EOC = 0,
    T_BOOLEAN = 1,
    T_INTEGER = 2,
    T_BIT_STRING = 3,
    T_OCTET_STRING = 4,
    T_NULL = 5,
    T_OID = 6,
    T_EXTERNAL = 8,
    T_ENUMERATED = 10,
    T_EMBEDDED_PDV = 11,
    T_SEQUENCE = 16,
    T_SET = 17,
    T_UTC_TIME = 23,
    T_GENERALIZED_TIME = 24,
    T_CHARACTER_STRING = 29
};

enum { CLS_UNIVERSAL = 0, CLS_CONTEXT = 2 };

typedef struct {
    const uint8_t *base; /* the whole input, for offsets in messages */
    arb_errbuf *eb;
} ctx;

/* One element: identifier, then contents val[0..len). */
typedef struct {
    unsigned cls;
    int constructed;
    uint32_t tag;
    const uint8_t *hdr;
    const uint8_t *val;
    size_t len;
} tlv;

static arb_err bad(const ctx *c, const uint8_t *at, const char *what)
{
    return arb_errf(c->eb, ARB_ERR_PARSE, "%s at offset %zu", what, (size_t)(at - c->base));
}

static size_t tlv_size(const tlv *t)
{
    return (size_t)(t->val - t->hdr) + t->len;
}

/* Reads the element at p[0..n): identifier and length in their shortest
 * forms, definite length, contents inside p[0..n). */
static arb_err read_tlv(const ctx *c, const uint8_t *p, size_t n, tlv *t)
{
    size_t i, len = 0;

    memset(t, 0, sizeof(*t));
    if (n < 2)
        return bad(c, p, "truncated element");
    t->hdr = p;
    t->cls = p[0] >> 6;
    t->constructed = (p[0] >> 5) & 1;
    t->tag = p[0] & 0x1f;
    i = 1;
    if (t->tag == 0x1f) {
        /* High tag number form (X.690 8.1.2.4): base 128, no leading 0x80,
         * only for numbers of 31 and above. */
        uint32_t v = 0;
        unsigned k = 0;
        if (p[1] == 0x80)
            return bad(c, p, "non-minimal tag number");
        for (;;) {
            if (i >= n)
                return bad(c, p, "truncated tag");
            if (++k > 4)
                return bad(c, p, "tag number too large");
            v = (v << 7) | (p[i] & 0x7f);
            if (!(p[i++] & 0x80))
                break;
        }
        if (v < 31)
            return bad(c, p, "non-minimal tag number");
        t->tag = v;
    }
    if (i >= n)
        return bad(c, p, "truncated length");
    if (p[i] < 0x80) {
        len = p[i++];
    } else if (p[i] == 0x80) {
        return bad(c, p + i, "indefinite length");
    } else {
        /* Long form (X.690 10.1): as few octets as possible, so no leading
         * zero octet and never for a length below 128. */
        const uint8_t *lp = p + i;
        size_t nb = p[i++] & 0x7f, k;
        if (nb > 4)
            return bad(c, lp, "length field too long");
        if (n - i < nb)
            return bad(c, lp, "truncated length");
        if (p[i] == 0)
            return bad(c, lp, "non-minimal length");
        for (k = 0; k < nb; k++)
            len = (len << 8) | p[i++];
        if (len < 0x80)
            return bad(c, lp, "non-minimal length");
    }
    if (len > n - i)
        return bad(c, p, "length beyond the end of its container");
    t->val = p + i;
    t->len = len;
    return ARB_OK;
}

static int is_digits(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

static arb_err check_bits(const ctx *c, const tlv *t)
{
    unsigned unused;

    if (t->len == 0)
        return bad(c, t->hdr, "empty BIT STRING");
    unused = t->val[0];
    if (unused > 7 || (t->len == 1 && unused != 0))
        return bad(c, t->hdr, "bad unused-bits count in BIT STRING");
    if (unused != 0 && (t->val[t->len - 1] & ((1u << unused) - 1)) != 0)
        return bad(c, t->hdr, "non-zero padding bits in BIT STRING");
    return ARB_OK;
}

static arb_err check_integer(const ctx *c, const tlv *t)
{
    if (t->len == 0)
        return bad(c, t->hdr, "empty INTEGER");
    if (t->len > 1 && ((t->val[0] == 0x00 && !(t->val[1] & 0x80)) ||
                       (t->val[0] == 0xff && (t->val[1] & 0x80))))
        return bad(c, t->hdr, "non-minimal INTEGER");
    return ARB_OK;
}

/* The contents rules of the primitive universal types. */
static arb_err check_primitive(const ctx *c, const tlv *t)
{
    size_t i;

    switch (t->tag) {
    case T_BOOLEAN:
        if (t->len != 1 || (t->val[0] != 0x00 && t->val[0] != 0xff))
            return bad(c, t->hdr, "BOOLEAN not 0x00 or 0xFF");
        return ARB_OK;
    case T_INTEGER:
    case T_ENUMERATED:
        return check_integer(c, t);
    case T_BIT_STRING:
        return check_bits(c, t);
    case T_NULL:
        if (t->len != 0)
            return bad(c, t->hdr, "NULL with contents");
        return ARB_OK;
    case T_OID:
        if (t->len == 0 || (t->val[t->len - 1] & 0x80))
            return bad(c, t->hdr, "truncated OBJECT IDENTIFIER");
        for (i = 0; i < t->len; i++)
            if (t->val[i] == 0x80 && (i == 0 || !(t->val[i - 1] & 0x80)))
                return bad(c, t->hdr, "non-minimal OBJECT IDENTIFIER component");
        return ARB_OK;
    case T_UTC_TIME:
        if (t->len != 13 || !is_digits(t->val, 12) || t->val[12] != 'Z')
            return bad(c, t->hdr, "UTCTime not in the form YYMMDDHHMMSSZ");
        return ARB_OK;
    case T_GENERALIZED_TIME:
        if (t->len < 15 || !is_digits(t->val, 14) || t->val[t->len - 1] != 'Z')
            return bad(c, t->hdr, "GeneralizedTime not in the form YYYYMMDDHHMMSS[.f]Z");
        if (t->len > 15) {
            /* A fraction: ".", digits, the last not 0 (X.690 11.7). */
            if (t->len < 17 || t->val[14] != '.' || !is_digits(t->val + 15, t->len - 16) ||
                t->val[t->len - 2] == '0')
                return bad(c, t->hdr, "GeneralizedTime not in the form YYYYMMDDHHMMSS[.f]Z");
        }
        return ARB_OK;
    case T_EOC:
        return bad(c, t->hdr, "end-of-contents marker (indefinite length)");
    default:
        return ARB_OK; /* strings and the rest: any contents */
    }
}

static arb_err check_children(const ctx *c, const uint8_t *p, size_t n, unsigned depth);

/* Any element, recursively: universal types in their DER form; the contents
 * of other constructed elements are elements too; the contents of other
 * primitive elements (implicitly tagged) are opaque. */
static arb_err check_elem(const ctx *c, const tlv *t, unsigned depth)
{
    if (depth > ARB_DER_MAX_DEPTH)
        return bad(c, t->hdr, "nesting too deep");
    if (t->cls == CLS_UNIVERSAL) {
        switch (t->tag) {
        case T_SEQUENCE:
        case T_SET:
            if (!t->constructed)
                return bad(c, t->hdr, "primitive SEQUENCE or SET");
            break;
        case T_EXTERNAL:
        case T_EMBEDDED_PDV:
        case T_CHARACTER_STRING:
            /* Never in certificates, and OpenSSL's ANY writes them back in
             * another form (found by fuzz_der_cert). */
            return bad(c, t->hdr, "unsupported universal type");
        default:
            /* DER encodes strings (and every other type) primitively
             * (X.690 10.2). */
            if (t->constructed)
                return bad(c, t->hdr, "constructed encoding of a primitive type");
            return check_primitive(c, t);
        }
    }
    if (!t->constructed)
        return ARB_OK;
    return check_children(c, t->val, t->len, depth + 1);
}

static arb_err check_children(const ctx *c, const uint8_t *p, size_t n, unsigned depth)
{
    arb_err err;
    tlv t;

    while (n > 0) {
        if ((err = read_tlv(c, p, n, &t)) != ARB_OK || (err = check_elem(c, &t, depth)) != ARB_OK)
            return err;
        n -= tlv_size(&t);
        p += tlv_size(&t);
    }
    return ARB_OK;
}

/* The next child of a constructed element (p, n advance past it). */
static arb_err next_child(const ctx *c, const uint8_t **p, size_t *n, tlv *t)
{
    arb_err err = read_tlv(c, *p, *n, t);

    if (err == ARB_OK) {
        *n -= tlv_size(t);
        *p += tlv_size(t);
    }
    return err;
}

static int is_universal(const tlv *t, uint32_t tag)
{
    return t->cls == CLS_UNIVERSAL && t->tag == tag;
}

/* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
 * extnValue OCTET STRING } (RFC 5280 4.1); extnValue holds one DER value. */
static arb_err check_extension(const ctx *c, const tlv *ext, unsigned depth)
{
    const uint8_t *p = ext->val;
    size_t n = ext->len;
    tlv t, inner;
    arb_err err;

    if (!is_universal(ext, T_SEQUENCE) || !ext->constructed)
        return bad(c, ext->hdr, "extension is not a SEQUENCE");
    if ((err = next_child(c, &p, &n, &t)) != ARB_OK)
        return err;
    if (!is_universal(&t, T_OID) || (err = check_elem(c, &t, depth + 1)) != ARB_OK)
        return err != ARB_OK ? err : bad(c, t.hdr, "extension without an OBJECT IDENTIFIER");
    if ((err = next_child(c, &p, &n, &t)) != ARB_OK)
        return err;
    if (is_universal(&t, T_BOOLEAN)) {
        if ((err = check_elem(c, &t, depth + 1)) != ARB_OK)
            return err;
        if (t.val[0] == 0x00)
            return bad(c, t.hdr, "extension encodes critical FALSE (a DEFAULT value)");
        if ((err = next_child(c, &p, &n, &t)) != ARB_OK)
            return err;
    }
    if (!is_universal(&t, T_OCTET_STRING) || t.constructed)
        return bad(c, t.hdr, "extension value is not a primitive OCTET STRING");
    if (n != 0)
        return bad(c, p, "extra element in an extension");
    if ((err = read_tlv(c, t.val, t.len, &inner)) != ARB_OK)
        return err;
    if (tlv_size(&inner) != t.len)
        return bad(c, t.val + tlv_size(&inner), "trailing bytes in an extension value");
    return check_elem(c, &inner, depth + 2);
}

/* TBSCertificate (RFC 5280 4.1): version [0] EXPLICIT, serial, signature,
 * issuer, validity, subject, subjectPublicKeyInfo, issuerUniqueID [1]
 * IMPLICIT BIT STRING, subjectUniqueID [2] IMPLICIT BIT STRING,
 * extensions [3] EXPLICIT SEQUENCE SIZE (1..MAX) OF Extension. */
static arb_err check_tbs(const ctx *c, const tlv *tbs)
{
    const uint8_t *p = tbs->val;
    size_t n = tbs->len;
    int first = 1;
    arb_err err;

    if (!is_universal(tbs, T_SEQUENCE) || !tbs->constructed)
        return bad(c, tbs->hdr, "TBSCertificate is not a SEQUENCE");
    while (n > 0) {
        tlv t;
        if ((err = next_child(c, &p, &n, &t)) != ARB_OK)
            return err;
        if (t.cls == CLS_CONTEXT && t.tag == 0 && first) {
            tlv v;
            if (!t.constructed || (err = read_tlv(c, t.val, t.len, &v)) != ARB_OK ||
                tlv_size(&v) != t.len || !is_universal(&v, T_INTEGER))
                return err != ARB_OK ? err : bad(c, t.hdr, "bad version field");
            if ((err = check_elem(c, &v, 3)) != ARB_OK)
                return err;
            if (v.len == 1 && v.val[0] == 0)
                return bad(c, t.hdr, "version v1 encoded (a DEFAULT value)");
        } else if (t.cls == CLS_CONTEXT && (t.tag == 1 || t.tag == 2)) {
            /* [1] / [2] IMPLICIT BIT STRING: primitive in DER. */
            if (t.constructed)
                return bad(c, t.hdr, "constructed encoding of a unique ID");
            if ((err = check_bits(c, &t)) != ARB_OK)
                return err;
        } else if (t.cls == CLS_CONTEXT && t.tag == 3) {
            tlv seq;
            const uint8_t *q;
            size_t m;
            if (!t.constructed || (err = read_tlv(c, t.val, t.len, &seq)) != ARB_OK ||
                tlv_size(&seq) != t.len || !is_universal(&seq, T_SEQUENCE) || !seq.constructed)
                return err != ARB_OK ? err : bad(c, t.hdr, "extensions are not a SEQUENCE");
            if (seq.len == 0)
                return bad(c, seq.hdr, "empty extensions");
            for (q = seq.val, m = seq.len; m > 0;) {
                tlv ext;
                if ((err = next_child(c, &q, &m, &ext)) != ARB_OK ||
                    (err = check_extension(c, &ext, 4)) != ARB_OK)
                    return err;
            }
        } else if ((err = check_elem(c, &t, 2)) != ARB_OK) {
            return err;
        }
        first = 0;
    }
    return ARB_OK;
}

arb_err arb_der_check_cert(const uint8_t *der, size_t len, arb_errbuf *eb)
{
    ctx c = {der, eb};
    const uint8_t *p;
    size_t n;
    tlv cert, t;
    arb_err err;

    if (der == NULL || len == 0)
        return arb_errf(eb, ARB_ERR_PARSE, "empty certificate");
    if ((err = read_tlv(&c, der, len, &cert)) != ARB_OK)
        return err;
    if (tlv_size(&cert) != len)
        return bad(&c, der + tlv_size(&cert), "trailing bytes after the certificate");
    if (!is_universal(&cert, T_SEQUENCE) || !cert.constructed)
        return bad(&c, der, "certificate is not a SEQUENCE");
    p = cert.val;
    n = cert.len;
    if ((err = next_child(&c, &p, &n, &t)) != ARB_OK || (err = check_tbs(&c, &t)) != ARB_OK)
        return err;
    if ((err = next_child(&c, &p, &n, &t)) != ARB_OK)
        return err;
    if (!is_universal(&t, T_SEQUENCE) || (err = check_elem(&c, &t, 1)) != ARB_OK)
        return err != ARB_OK ? err : bad(&c, t.hdr, "signatureAlgorithm is not a SEQUENCE");
    if ((err = next_child(&c, &p, &n, &t)) != ARB_OK)
        return err;
    if (!is_universal(&t, T_BIT_STRING) || (err = check_elem(&c, &t, 1)) != ARB_OK)
        return err != ARB_OK ? err : bad(&c, t.hdr, "signatureValue is not a BIT STRING");
    if (n != 0)
        return bad(&c, p, "extra element in the certificate");
    return ARB_OK;
}
