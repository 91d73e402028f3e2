/* Chain validation and precertificates over OpenSSL's X.509 API. See chain.h. */
#include "ledger/log/chain.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ledger/log/der.h"

#define DEFAULT_MAX_CHAIN 10
#define DEFAULT_MAX_CERT (64 * 1024)

/* Parsed certificates from above the leaf of verified chains, by their exact
 * DER: every submission through the same intermediate would otherwise parse
 * it again, and with OpenSSL 3.0 a parse (its public-key decoder above all)
 * costs as much as the signature check. Only certificates of a chain that
 * verified to an accepted root (or that are an accepted root) get in, so
 * chains that fail cannot churn it; a full cache drops its least recently
 * used entry. An X509 is shared read-only by the verifications that use it
 * (OpenSSL guards its lazily computed fields), as the store's roots are. */
#define ISSUER_CACHE_SLOTS ARB_CT_ISSUER_CACHE

struct issuer_ent {
    uint64_t fp; /* FNV-1a of der, a filter before the full comparison */
    uint8_t *der;
    size_t len;
    X509 *x;
    uint64_t used;
};

struct issuer_cache {
    pthread_mutex_t mu;
    struct issuer_ent ent[ISSUER_CACHE_SLOTS];
    uint64_t tick;
};

struct arb_ct_roots {
    X509_STORE *store;
    arb_ct_cert_ref *der; /* owned copies, bundle order */
    size_t n;
    struct issuer_cache *ic; /* mutable behind a const handle */
};

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    while (n--)
        h = (h ^ *p++) * 1099511628211ull;
    return h;
}

static struct issuer_ent *issuer_find(struct issuer_cache *ic, uint64_t fp, const uint8_t *der,
                                      size_t len)
{
    for (size_t i = 0; i < ISSUER_CACHE_SLOTS; i++) {
        struct issuer_ent *e = &ic->ent[i];
        if (e->x != NULL && e->fp == fp && e->len == len && memcmp(e->der, der, len) == 0)
            return e;
    }
    return NULL;
}

/* The cached parse of der, with a reference for the caller, or NULL. */
static X509 *issuer_get(const arb_ct_roots *r, const uint8_t *der, size_t len)
{
    struct issuer_ent *e;
    X509 *x = NULL;
    uint64_t fp = fnv1a(der, len);

    pthread_mutex_lock(&r->ic->mu);
    if ((e = issuer_find(r->ic, fp, der, len)) != NULL && X509_up_ref(e->x)) {
        x = e->x;
        e->used = ++r->ic->tick;
    }
    pthread_mutex_unlock(&r->ic->mu);
    return x;
}

/* Keeps x (the parse of der) unless it is there already; out of memory it
 * is simply not kept. */
static void issuer_put(const arb_ct_roots *r, const uint8_t *der, size_t len, X509 *x)
{
    struct issuer_cache *ic = r->ic;
    struct issuer_ent *e, *slot = NULL;
    uint64_t fp = fnv1a(der, len);
    uint8_t *copy;
    X509 *old = NULL;
    uint8_t *old_der = NULL;

    pthread_mutex_lock(&ic->mu);
    if (issuer_find(ic, fp, der, len) != NULL) {
        pthread_mutex_unlock(&ic->mu);
        return;
    }
    pthread_mutex_unlock(&ic->mu);
    if ((copy = malloc(len)) == NULL)
        return;
    memcpy(copy, der, len);
    if (!X509_up_ref(x)) {
        free(copy);
        return;
    }
    pthread_mutex_lock(&ic->mu);
    if (issuer_find(ic, fp, der, len) != NULL) { /* another thread was first */
        pthread_mutex_unlock(&ic->mu);
        X509_free(x);
        free(copy);
        return;
    }
    for (size_t i = 0; i < ISSUER_CACHE_SLOTS; i++) {
        e = &ic->ent[i];
        if (slot == NULL || e->x == NULL || (slot->x != NULL && e->used < slot->used))
            slot = e;
        if (e->x == NULL)
            break;
    }
    old = slot->x;
    old_der = slot->der;
    slot->fp = fp;
    slot->der = copy;
    slot->len = len;
    slot->x = x;
    slot->used = ++ic->tick;
    pthread_mutex_unlock(&ic->mu);
    X509_free(old);
    free(old_der);
}

void arb_ct_roots_free(arb_ct_roots *r)
{
    size_t i;

    if (r == NULL)
        return;
    if (r->ic != NULL) {
        for (i = 0; i < ISSUER_CACHE_SLOTS; i++) {
            X509_free(r->ic->ent[i].x);
            free(r->ic->ent[i].der);
        }
        pthread_mutex_destroy(&r->ic->mu);
        free(r->ic);
    }
    X509_STORE_free(r->store);
    for (i = 0; i < r->n; i++)
        free((void *)r->der[i].der);
    free(r->der);
    free(r);
}

size_t arb_ct_roots_count(const arb_ct_roots *r)
{
    return r->n;
}

void arb_ct_roots_get(const arb_ct_roots *r, size_t i, const uint8_t **der, size_t *der_len)
{
    *der = r->der[i].der;
    *der_len = r->der[i].len;
}

size_t arb_ct_roots_cached(const arb_ct_roots *r)
{
    size_t n = 0;

    pthread_mutex_lock(&r->ic->mu);
    for (size_t i = 0; i < ISSUER_CACHE_SLOTS; i++)
        n += r->ic->ent[i].x != NULL;
    pthread_mutex_unlock(&r->ic->mu);
    return n;
}

/* Encodes x to a malloc'd DER copy (unmodified certificates keep their
 * original encoding). */
static arb_err cert_der(X509 *x, arb_ct_cert_ref *out)
{
    unsigned char *p = NULL;
    int n = i2d_X509(x, &p);
    uint8_t *copy;

    out->der = NULL;
    out->len = 0;
    if (n <= 0) {
        ERR_clear_error();
        return ARB_ERR_CRYPTO;
    }
    if ((copy = malloc((size_t)n)) == NULL) {
        OPENSSL_free(p);
        return ARB_ERR_NOMEM;
    }
    memcpy(copy, p, (size_t)n);
    OPENSSL_free(p);
    out->der = copy;
    out->len = (size_t)n;
    return ARB_OK;
}

arb_err arb_ct_roots_from_pem(arb_ct_roots **out, const char *pem, size_t pem_len, arb_errbuf *eb)
{
    arb_ct_roots *r = NULL;
    BIO *bio = NULL;
    X509 *x = NULL;
    size_t cap = 0;
    arb_err err = ARB_OK;

    *out = NULL;
    if (pem_len > INT_MAX)
        return arb_errf(eb, ARB_ERR_PARSE, "roots file too large");
    if ((r = calloc(1, sizeof(*r))) == NULL || (r->store = X509_STORE_new()) == NULL ||
        (r->ic = calloc(1, sizeof(*r->ic))) == NULL ||
        (bio = BIO_new_mem_buf(pem, (int)pem_len)) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_init(&r->ic->mu, NULL);
    for (;;) {
        arb_ct_cert_ref ref;
        size_t i;
        int dup = 0;

        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            unsigned long e = ERR_peek_last_error();
            ERR_clear_error();
            /* PEM_R_NO_START_LINE is the normal end of the bundle. */
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break;
            err = arb_errf(eb, ARB_ERR_PARSE, "bad PEM certificate after %zu roots", r->n);
            goto out;
        }
        if ((err = cert_der(x, &ref)) != ARB_OK)
            goto out;
        for (i = 0; i < r->n; i++)
            if (r->der[i].len == ref.len && memcmp(r->der[i].der, ref.der, ref.len) == 0)
                dup = 1;
        if (dup) {
            free((void *)ref.der);
        } else {
            if (r->n == cap) {
                size_t ncap = cap ? 2 * cap : 8;
                arb_ct_cert_ref *v = realloc(r->der, ncap * sizeof(*v));
                if (v == NULL) {
                    free((void *)ref.der);
                    err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
                    goto out;
                }
                r->der = v;
                cap = ncap;
            }
            r->der[r->n++] = ref;
            if (!X509_STORE_add_cert(r->store, x)) {
                ERR_clear_error();
                err = arb_errf(eb, ARB_ERR_CRYPTO, "cannot add a root to the store");
                goto out;
            }
        }
        X509_free(x);
        x = NULL;
    }
    if (r->n == 0)
        err = arb_errf(eb, ARB_ERR_PARSE, "no certificate in the roots bundle");
out:
    X509_free(x);
    BIO_free(bio);
    if (err != ARB_OK)
        arb_ct_roots_free(r);
    else
        *out = r;
    return err;
}

/* Parses exactly one DER certificate. */
static X509 *parse_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;

    if (len == 0 || len > LONG_MAX)
        return NULL;
    x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    return x;
}

/* Returns 1 if x carries the CT poison extension, 0 if not, -1 if it is
 * malformed (repeated, not critical, or its value is not ASN.1 NULL). */
static int poison_state(X509 *x)
{
    int idx = X509_get_ext_by_NID(x, NID_ct_precert_poison, -1);
    X509_EXTENSION *ext;
    const ASN1_OCTET_STRING *val;

    if (idx < 0)
        return 0;
    if (X509_get_ext_by_NID(x, NID_ct_precert_poison, idx) >= 0)
        return -1;
    ext = X509_get_ext(x, idx);
    val = X509_EXTENSION_get_data(ext);
    if (!X509_EXTENSION_get_critical(ext) || ASN1_STRING_length(val) != 2 ||
        memcmp(ASN1_STRING_get0_data(val), "\x05\x00", 2) != 0)
        return -1;
    return 1;
}

/* Returns 1 if x has the precertificate signing EKU (RFC 6962 3.1). */
static int is_precert_signer(X509 *x)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    int i, found = 0;

    ERR_clear_error();
    if (eku == NULL)
        return 0;
    for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_ct_precert_signer)
            found = 1;
    EXTENDED_KEY_USAGE_free(eku);
    return found;
}

/* Every critical extension of x is one OpenSSL handles, or the poison. */
static int only_poison_unhandled(X509 *x)
{
    int i, n = X509_get_ext_count(x);

    for (i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        if (!X509_EXTENSION_get_critical(ext))
            continue;
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_ct_precert_poison)
            continue;
        if (!X509_supported_extension(ext))
            return 0;
    }
    return 1;
}

/* Path length and name constraint failures, which precertificate chains do
 * not get checked for (see verify_cb). */
static int relaxed_for_precerts(int e)
{
    switch (e) {
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
        return 1;
    default:
        return 0;
    }
}

/* Lets the CT poison through as the leaf's only unknown critical extension
 * (leaves with poison only reach verification on add-pre-chain). For
 * add-pre-chain (the context's app data points to a non-zero int), path
 * length and name constraints are not enforced, as in Trillian's CT front end
 * (certificate-transparency-go trillian/ctfe ValidateChain): a precertificate
 * signing certificate is one more CA certificate in the path, so a CA whose
 * issuing intermediate has pathLenConstraint 0 (the usual layout) would
 * otherwise be refused although RFC 6962 3.1 lets logs relax these checks;
 * and a log records certificates rather than policing them. Signatures, name
 * chaining, CA:TRUE and keyCertSign are still checked. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    const int *precert = X509_STORE_CTX_get_app_data(ctx);
    int e = X509_STORE_CTX_get_error(ctx);

    if (!ok && e == X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION &&
        X509_STORE_CTX_get_error_depth(ctx) == 0) {
        X509 *x = X509_STORE_CTX_get_current_cert(ctx);
        if (x != NULL && poison_state(x) == 1 && only_poison_unhandled(x)) {
            X509_STORE_CTX_set_error(ctx, X509_V_OK);
            return 1;
        }
    }
    if (!ok && precert != NULL && *precert && relaxed_for_precerts(e)) {
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
    }
    return ok;
}

static int asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    time_t v;

    memset(&tm, 0, sizeof(tm));
    if (!ASN1_TIME_to_tm(t, &tm))
        return 0;
    v = timegm(&tm);
    *out = (int64_t)v;
    return 1;
}

static arb_err spki_hash(uint8_t out32[static 32], X509 *x)
{
    unsigned char *der = NULL;
    unsigned int mdlen = 0;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    int ok;

    if (n <= 0) {
        ERR_clear_error();
        return ARB_ERR_PARSE;
    }
    ok = EVP_Digest(der, (size_t)n, out32, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    return ok ? ARB_OK : ARB_ERR_CRYPTO;
}

arb_err arb_ct_issuer_key_hash(uint8_t out32[static 32], const uint8_t *cert_der, size_t cert_len)
{
    X509 *x = parse_der(cert_der, cert_len);
    arb_err err;

    memset(out32, 0, 32);
    if (x == NULL)
        return ARB_ERR_PARSE;
    err = spki_hash(out32, x);
    X509_free(x);
    return err;
}

/* i2d_re_X509_tbs into a malloc'd buffer. */
static arb_err tbs_der(X509 *x, uint8_t **tbs, size_t *tbs_len)
{
    unsigned char *p = NULL;
    int n = i2d_re_X509_tbs(x, &p);

    if (n <= 0) {
        ERR_clear_error();
        return ARB_ERR_PARSE;
    }
    if ((*tbs = malloc((size_t)n)) == NULL) {
        OPENSSL_free(p);
        return ARB_ERR_NOMEM;
    }
    memcpy(*tbs, p, (size_t)n);
    *tbs_len = (size_t)n;
    OPENSSL_free(p);
    return ARB_OK;
}

/* RFC 6962 3.2 TBS rewriting on a copy of precert. Follows the reference
 * implementation (certificate-transparency-go x509.BuildPrecertTBS) for the
 * authority key identifier: replaced in place (keeping its position and
 * criticality), removed when the pre-issuer has none, appended non-critical
 * when only the pre-issuer has one. */
static arb_err precert_tbs_x509(uint8_t **tbs, size_t *tbs_len, X509 *precert, X509 *pre_issuer,
                                arb_errbuf *eb)
{
    X509 *dup = X509_dup(precert);
    int idx;
    arb_err err = ARB_OK;

    if (dup == NULL) {
        ERR_clear_error();
        return arb_errf(eb, ARB_ERR_NOMEM, "cannot copy the precertificate");
    }
    idx = X509_get_ext_by_NID(dup, NID_ct_precert_poison, -1);
    if (idx < 0) {
        err = arb_errf(eb, ARB_ERR_VERIFY, "precertificate without the CT poison extension");
        goto out;
    }
    X509_EXTENSION_free(X509_delete_ext(dup, idx));
    if (pre_issuer != NULL) {
        int aki = X509_get_ext_by_NID(dup, NID_authority_key_identifier, -1);
        int pre_aki = X509_get_ext_by_NID(pre_issuer, NID_authority_key_identifier, -1);

        if (!X509_set_issuer_name(dup, X509_get_issuer_name(pre_issuer))) {
            err = arb_errf(eb, ARB_ERR_NOMEM, "cannot set the issuer");
            goto out;
        }
        if (aki >= 0 && pre_aki >= 0) {
            X509_EXTENSION *pe = X509_get_ext(pre_issuer, pre_aki);
            if (!X509_EXTENSION_set_data(X509_get_ext(dup, aki), X509_EXTENSION_get_data(pe))) {
                err = arb_errf(eb, ARB_ERR_NOMEM, "cannot set the authority key identifier");
                goto out;
            }
        } else if (aki >= 0) {
            X509_EXTENSION_free(X509_delete_ext(dup, aki));
        } else if (pre_aki >= 0) {
            if (!X509_add_ext(dup, X509_get_ext(pre_issuer, pre_aki), -1) ||
                !X509_EXTENSION_set_critical(X509_get_ext(dup, X509_get_ext_count(dup) - 1), 0)) {
                err = arb_errf(eb, ARB_ERR_NOMEM, "cannot add the authority key identifier");
                goto out;
            }
        }
    }
    if ((err = tbs_der(dup, tbs, tbs_len)) != ARB_OK)
        arb_errf(eb, err, "cannot encode the TBSCertificate");
out:
    ERR_clear_error();
    X509_free(dup);
    return err;
}

arb_err arb_ct_precert_tbs(uint8_t **tbs, size_t *tbs_len, const uint8_t *precert_der,
                           size_t precert_len, const uint8_t *pre_issuer_der,
                           size_t pre_issuer_len, arb_errbuf *eb)
{
    X509 *pre = NULL, *issuer = NULL;
    arb_err err;

    *tbs = NULL;
    *tbs_len = 0;
    if ((pre = parse_der(precert_der, precert_len)) == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "precertificate is not a DER certificate");
    if (pre_issuer_der != NULL && (issuer = parse_der(pre_issuer_der, pre_issuer_len)) == NULL) {
        X509_free(pre);
        return arb_errf(eb, ARB_ERR_PARSE, "pre-issuer is not a DER certificate");
    }
    err = precert_tbs_x509(tbs, tbs_len, pre, issuer, eb);
    X509_free(pre);
    X509_free(issuer);
    return err;
}

/* The bytes to store for certificate x of the verified path: exactly the
 * submitted bytes when x was submitted (the leaf, or an intermediate: found by
 * identity in the untrusted stack, which holds chain[1..] in order), else
 * (an accepted root from the trust store) its own DER. */
static arb_err path_der(X509 *x, X509 *leaf, STACK_OF(X509) *untrusted,
                        const arb_ct_cert_ref *chain, arb_ct_cert_ref *out)
{
    const arb_ct_cert_ref *src = NULL;
    int i;

    if (x == leaf) {
        src = &chain[0];
    } else {
        for (i = 0; i < sk_X509_num(untrusted); i++)
            if (sk_X509_value(untrusted, i) == x)
                src = &chain[i + 1];
    }
    if (src == NULL)
        return cert_der(x, out);
    out->der = NULL;
    out->len = 0;
    if ((out->der = malloc(src->len)) == NULL)
        return ARB_ERR_NOMEM;
    memcpy((void *)out->der, src->der, src->len);
    out->len = src->len;
    return ARB_OK;
}

void arb_ct_chain_free(arb_ct_chain *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->path_len; i++)
        free((void *)c->path[i].der);
    free(c->path);
    free(c->tbs);
    X509_free(c->leaf_x509);
    free(c);
}

arb_err arb_ct_chain_validate(arb_ct_chain **out, const arb_ct_roots *roots,
                              const arb_ct_chain_opts *opts, int precert,
                              const arb_ct_cert_ref *chain, size_t n, arb_errbuf *eb)
{
    return arb_ct_chain_validate_why(out, NULL, roots, opts, precert, chain, n, eb);
}

const char *arb_ct_reject_name(arb_ct_reject r)
{
    switch (r) {
    case ARB_CT_REJECT_NONE: return "none";
    case ARB_CT_REJECT_MALFORMED: return "malformed";
    case ARB_CT_REJECT_KIND: return "wrong_kind";
    case ARB_CT_REJECT_NOT_AFTER: return "not_after_window";
    case ARB_CT_REJECT_EXPIRED: return "expired";
    case ARB_CT_REJECT_UNEXPIRED: return "unexpired";
    case ARB_CT_REJECT_EXTENSION: return "rejected_extension";
    case ARB_CT_REJECT_EKU: return "ext_key_usage";
    case ARB_CT_REJECT_UNTRUSTED: return "untrusted";
    default: return "other";
    }
}

/* Extended key usage names, as certificate-transparency-go's CTFE config
 * spells them (Go's x509.ExtKeyUsage names without the prefix). */
static const struct {
    const char *name, *oid;
} eku_names[] = {
    {"any", ARB_CT_OID_ANY_EKU},
    {"serverauth", "1.3.6.1.5.5.7.3.1"},
    {"clientauth", "1.3.6.1.5.5.7.3.2"},
    {"codesigning", "1.3.6.1.5.5.7.3.3"},
    {"emailprotection", "1.3.6.1.5.5.7.3.4"},
    {"timestamping", "1.3.6.1.5.5.7.3.8"},
    {"ocspsigning", "1.3.6.1.5.5.7.3.9"},
    {"precertsigning", ARB_CT_OID_PRECERT_SIGNING},
};

/* 1 if s[0..n) is a dotted-decimal OID as arb_ct_oid_list_parse describes. */
static int dotted_oid(const char *s, size_t n)
{
    size_t i = 0, arcs = 0;
    unsigned long long first = 0;

    if (n == 0 || n >= ARB_CT_OID_MAX)
        return 0;
    while (i < n) {
        unsigned long long v = 0;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (unsigned long long)(s[i] - '0');
            if (v > 0xffffffffull)
                return 0;
            i++;
        }
        if (i == start || (s[start] == '0' && i - start > 1))
            return 0;
        if (arcs == 0 && v > 2)
            return 0;
        if (arcs == 0)
            first = v;
        if (arcs == 1 && first < 2 && v >= 40)
            return 0;
        arcs++;
        if (i < n) {
            if (s[i] != '.' || i + 1 == n)
                return 0;
            i++;
        }
    }
    return arcs >= 2;
}

arb_err arb_ct_oid_list_parse(arb_ct_oid_list *out, const char *text, int eku_names_ok,
                              arb_errbuf *eb)
{
    const char *p = text;

    memset(out, 0, sizeof(*out));
    while (*p) {
        const char *item;
        char oid[ARB_CT_OID_MAX];
        size_t n, k;
        int found = 0;

        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        item = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        n = (size_t)(p - item);
        if (dotted_oid(item, n)) {
            memcpy(oid, item, n);
            oid[n] = 0;
            found = 1;
        }
        for (k = 0; !found && eku_names_ok && k < sizeof(eku_names) / sizeof(eku_names[0]); k++) {
            if (strlen(eku_names[k].name) == n && strncasecmp(item, eku_names[k].name, n) == 0) {
                snprintf(oid, sizeof(oid), "%s", eku_names[k].oid);
                found = 1;
            }
        }
        if (!found) {
            char shown[65]; /* the item, one printable line */
            for (k = 0; k < n && k < 64; k++)
                shown[k] = (unsigned char)item[k] < 0x20 || item[k] == 0x7f ? '?' : item[k];
            shown[k] = 0;
            memset(out, 0, sizeof(*out));
            return arb_errf(eb, ARB_ERR_PARSE, "'%s' is not %s", shown,
                            eku_names_ok ? "an OID or an extended key usage name"
                                         : "a dotted-decimal OID");
        }
        for (k = 0; k < out->n && strcmp(out->oid[k], oid) != 0; k++) {
        }
        if (k < out->n)
            continue;
        if (out->n == ARB_CT_OIDS_MAX) {
            memset(out, 0, sizeof(*out));
            return arb_errf(eb, ARB_ERR_PARSE, "more than %d OIDs", ARB_CT_OIDS_MAX);
        }
        memcpy(out->oid[out->n++], oid, sizeof(oid));
    }
    return ARB_OK;
}

/* The dotted text of an object (ARB_CT_OID_MAX bytes). 0 if too long. */
static int obj_text(char out[ARB_CT_OID_MAX], const ASN1_OBJECT *o)
{
    int n = OBJ_obj2txt(out, ARB_CT_OID_MAX, o, 1);

    return n > 0 && n < ARB_CT_OID_MAX;
}

/* The OID of the first extension of x listed in `refused`, or NULL. */
static const char *refused_extension(X509 *x, const arb_ct_oid_list *refused)
{
    int i, n = X509_get_ext_count(x);
    size_t k;
    char t[ARB_CT_OID_MAX];

    for (i = 0; i < n; i++) {
        if (!obj_text(t, X509_EXTENSION_get_object(X509_get_ext(x, i))))
            continue;
        for (k = 0; k < refused->n; k++)
            if (strcmp(t, refused->oid[k]) == 0)
                return refused->oid[k];
    }
    return NULL;
}

/* Go's crypto/x509 key usage check over the verified path (see
 * arb_ct_chain_opts.ext_key_usages). skip is a path index to leave out (the
 * precertificate signing certificate) or -1. Returns 1 if some required
 * usage survives, 0 if not, -1 on a malformed EKU extension. */
static int eku_allows(STACK_OF(X509) *path, int skip, const arb_ct_oid_list *required)
{
    int alive[ARB_CT_OIDS_MAX], i, left;
    size_t k;

    for (k = 0; k < required->n; k++)
        alive[k] = 1;
    for (i = sk_X509_num(path) - 1; i >= 0; i--) {
        X509 *x = sk_X509_value(path, i);
        EXTENDED_KEY_USAGE *eku;
        int crit = 0, j, any = 0;

        if (i == skip)
            continue;
        eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
        if (eku == NULL) {
            ERR_clear_error();
            if (crit != -1)
                return -1; /* present but unreadable, or repeated */
            continue;
        }
        for (j = 0; j < sk_ASN1_OBJECT_num(eku); j++)
            if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, j)) == NID_anyExtendedKeyUsage)
                any = 1;
        for (k = 0; !any && k < required->n; k++) {
            int has = 0;
            char t[ARB_CT_OID_MAX];
            for (j = 0; j < sk_ASN1_OBJECT_num(eku); j++)
                if (obj_text(t, sk_ASN1_OBJECT_value(eku, j)) && strcmp(t, required->oid[k]) == 0)
                    has = 1;
            /* A required "any" is satisfied by whatever the path allows. */
            if (!has && strcmp(required->oid[k], ARB_CT_OID_ANY_EKU) != 0)
                alive[k] = 0;
        }
        EXTENDED_KEY_USAGE_free(eku);
    }
    for (k = 0, left = 0; k < required->n; k++)
        left |= alive[k];
    return left;
}

arb_err arb_ct_chain_validate_why(arb_ct_chain **out, arb_ct_reject *why, const arb_ct_roots *roots,
                                  const arb_ct_chain_opts *opts, int precert,
                                  const arb_ct_cert_ref *chain, size_t n, arb_errbuf *eb)
{
    size_t max_chain = DEFAULT_MAX_CHAIN, max_cert = DEFAULT_MAX_CERT, i;
    X509 *leaf = NULL;
    STACK_OF(X509) *untrusted = NULL, *path = NULL;
    X509_STORE_CTX *ctx = NULL;
    arb_ct_chain *c = NULL;
    arb_err err = ARB_OK;
    arb_ct_reject r = ARB_CT_REJECT_OTHER;
    arb_ct_reject dummy;
    int poison;

    *out = NULL;
    if (why == NULL)
        why = &dummy;
    *why = ARB_CT_REJECT_MALFORMED;
    if (opts != NULL && opts->max_chain_len != 0)
        max_chain = opts->max_chain_len;
    if (opts != NULL && opts->max_cert_size != 0)
        max_cert = opts->max_cert_size;
    if (n == 0)
        return arb_errf(eb, ARB_ERR_PARSE, "empty chain");
    if (n > max_chain)
        return arb_errf(eb, ARB_ERR_PARSE, "chain of %zu certificates (at most %zu)", n, max_chain);
    for (i = 0; i < n; i++)
        if (chain[i].len > max_cert)
            return arb_errf(eb, ARB_ERR_PARSE, "certificate %zu is %zu bytes (at most %zu)", i,
                            chain[i].len, max_cert);
    /* DER only, at every level of every certificate: OpenSSL would accept BER
     * and the log would then store (and sign) another encoding than the one
     * submitted. */
    for (i = 0; i < n; i++) {
        arb_errbuf dw;
        if (arb_der_check_cert(chain[i].der, chain[i].len, &dw) != ARB_OK)
            return arb_errf(eb, ARB_ERR_PARSE, "certificate %zu is not DER: %s", i, dw.msg);
    }

    if ((leaf = parse_der(chain[0].der, chain[0].len)) == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "certificate 0 is not a DER certificate");
    r = ARB_CT_REJECT_MALFORMED;
    if ((untrusted = sk_X509_new_null()) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 1; i < n; i++) {
        X509 *x = issuer_get(roots, chain[i].der, chain[i].len);
        if (x == NULL)
            x = parse_der(chain[i].der, chain[i].len);
        if (x == NULL) {
            err = arb_errf(eb, ARB_ERR_PARSE, "certificate %zu is not a DER certificate", i);
            goto out;
        }
        if (!sk_X509_push(untrusted, x)) {
            X509_free(x);
            err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
            goto out;
        }
    }

    r = ARB_CT_REJECT_KIND;
    poison = poison_state(leaf);
    if (poison < 0) {
        err = arb_errf(eb, ARB_ERR_VERIFY, "malformed CT poison extension");
        goto out;
    }
    if (precert && poison == 0) {
        err = arb_errf(eb, ARB_ERR_VERIFY, "add-pre-chain: leaf is not a precertificate");
        goto out;
    }
    if (!precert && poison == 1) {
        err = arb_errf(eb, ARB_ERR_VERIFY, "add-chain: leaf is a precertificate");
        goto out;
    }
    if (opts != NULL && opts->not_after_end > opts->not_after_start) {
        int64_t na;
        if (!asn1_time_unix(X509_get0_notAfter(leaf), &na)) {
            err = arb_errf(eb, ARB_ERR_PARSE, "unreadable notAfter");
            goto out;
        }
        if (na < opts->not_after_start || na >= opts->not_after_end) {
            r = ARB_CT_REJECT_NOT_AFTER;
            err = arb_errf(eb, ARB_ERR_VERIFY,
                           "notAfter %lld outside this log's window [%lld, %lld) (temporal shard)",
                           (long long)na, (long long)opts->not_after_start,
                           (long long)opts->not_after_end);
            goto out;
        }
    }
    if (opts != NULL && (opts->reject_expired || opts->reject_unexpired)) {
        int64_t na, now = opts->now != 0 ? opts->now : (int64_t)time(NULL);
        if (!asn1_time_unix(X509_get0_notAfter(leaf), &na)) {
            r = ARB_CT_REJECT_MALFORMED;
            err = arb_errf(eb, ARB_ERR_PARSE, "unreadable notAfter");
            goto out;
        }
        if (opts->reject_expired && na < now) {
            r = ARB_CT_REJECT_EXPIRED;
            err = arb_errf(eb, ARB_ERR_VERIFY,
                           "certificate expired (notAfter %lld); this log refuses expired "
                           "certificates", (long long)na);
            goto out;
        }
        if (opts->reject_unexpired && na >= now) {
            r = ARB_CT_REJECT_UNEXPIRED;
            err = arb_errf(eb, ARB_ERR_VERIFY,
                           "certificate not expired (notAfter %lld); this log accepts only "
                           "expired certificates", (long long)na);
            goto out;
        }
    }
    if (opts != NULL && opts->reject_extensions.n > 0) {
        const char *bad = refused_extension(leaf, &opts->reject_extensions);
        if (bad != NULL) {
            r = ARB_CT_REJECT_EXTENSION;
            err = arb_errf(eb, ARB_ERR_VERIFY, "leaf has extension %s, which this log refuses",
                           bad);
            goto out;
        }
    }
    r = ARB_CT_REJECT_UNTRUSTED;

    if ((ctx = X509_STORE_CTX_new()) == NULL ||
        !X509_STORE_CTX_init(ctx, roots->store, leaf, untrusted)) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "cannot set up verification");
        goto out;
    }
    /* Logs accept expired certificates: only the shard window bounds time.
     * Any accepted root is a trust anchor, self-signed or not. */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
    if (!X509_STORE_CTX_set_app_data(ctx, &precert)) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "cannot set up verification");
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        err = arb_errf(eb, ARB_ERR_VERIFY, "chain does not verify to an accepted root: %s (depth %d)",
                       X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx));
        goto out;
    }
    r = ARB_CT_REJECT_OTHER;
    if ((path = X509_STORE_CTX_get1_chain(ctx)) == NULL || sk_X509_num(path) < 1) {
        err = arb_errf(eb, ARB_ERR_INTERNAL, "verified chain missing");
        goto out;
    }
    /* The submitted certificates above the leaf that this verified path
     * uses, or that are accepted roots, are kept parsed for the next
     * submission through them. */
    for (i = 0; i < (size_t)sk_X509_num(untrusted); i++) {
        X509 *x = sk_X509_value(untrusted, (int)i);
        int keep = 0;
        for (int k = 1; k < sk_X509_num(path) && !keep; k++)
            keep = sk_X509_value(path, k) == x;
        for (size_t k = 0; k < roots->n && !keep; k++)
            keep = roots->der[k].len == chain[i + 1].len &&
                   memcmp(roots->der[k].der, chain[i + 1].der, chain[i + 1].len) == 0;
        if (keep)
            issuer_put(roots, chain[i + 1].der, chain[i + 1].len, x);
    }
    if (opts != NULL && opts->ext_key_usages.n > 0) {
        int skip = precert && sk_X509_num(path) >= 3 && is_precert_signer(sk_X509_value(path, 1))
                       ? 1 : -1;
        int ok = eku_allows(path, skip, &opts->ext_key_usages);
        if (ok != 1) {
            r = ARB_CT_REJECT_EKU;
            err = arb_errf(eb, ARB_ERR_VERIFY,
                           ok < 0 ? "malformed extended key usage extension in the chain"
                                  : "chain is not valid for any extended key usage this log "
                                    "requires");
            goto out;
        }
    }

    if ((c = calloc(1, sizeof(*c))) == NULL ||
        (c->path = calloc((size_t)sk_X509_num(path), sizeof(*c->path))) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < (size_t)sk_X509_num(path); i++) {
        if ((err = path_der(sk_X509_value(path, (int)i), leaf, untrusted, chain, &c->path[i])) !=
            ARB_OK) {
            arb_errf(eb, err, "cannot encode certificate");
            goto out;
        }
        c->path_len = i + 1;
    }
    c->is_precert = precert;
    if (!precert) {
        c->entry.entry_type = ARB_CT_ENTRY_X509;
        c->entry.cert = c->path[0].der;
        c->entry.cert_len = c->path[0].len;
    } else {
        X509 *pre_issuer = NULL, *issuer;

        if (c->path_len < 2) {
            err = arb_errf(eb, ARB_ERR_VERIFY, "precertificate without an issuer");
            goto out;
        }
        issuer = sk_X509_value(path, 1);
        if (is_precert_signer(issuer)) {
            /* RFC 6962 3.1: the precertificate signing certificate must be
             * directly certified by the real issuer, which signs the final
             * certificate; it must be in the path. */
            if (c->path_len < 3) {
                err = arb_errf(eb, ARB_ERR_VERIFY,
                               "precertificate signing certificate without its issuer");
                goto out;
            }
            pre_issuer = issuer;
            issuer = sk_X509_value(path, 2);
            c->has_precert_signer = 1;
        }
        if ((err = spki_hash(c->entry.issuer_key_hash, issuer)) != ARB_OK) {
            arb_errf(eb, err, "cannot hash the issuer's public key");
            goto out;
        }
        if ((err = precert_tbs_x509(&c->tbs, &c->tbs_len, leaf, pre_issuer, eb)) != ARB_OK)
            goto out;
        c->entry.entry_type = ARB_CT_ENTRY_PRECERT;
        c->entry.cert = c->tbs;
        c->entry.cert_len = c->tbs_len;
    }
    c->leaf_x509 = leaf; /* the chain keeps it */
    leaf = NULL;
out:
    ERR_clear_error();
    if (path != NULL)
        sk_X509_pop_free(path, X509_free);
    X509_STORE_CTX_free(ctx);
    if (untrusted != NULL)
        sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    if (err != ARB_OK)
        arb_ct_chain_free(c);
    else
        *out = c;
    *why = err == ARB_OK ? ARB_CT_REJECT_NONE : r;
    return err;
}

arb_err arb_ct_embedded_scts(uint8_t **scts, size_t *scts_len, uint8_t **tbs, size_t *tbs_len,
                             const uint8_t *cert_der, size_t cert_len, arb_errbuf *eb)
{
    X509 *x = NULL, *dup = NULL;
    ASN1_OCTET_STRING *inner = NULL;
    const unsigned char *p;
    const ASN1_OCTET_STRING *val;
    int idx;
    arb_err err = ARB_OK;

    *scts = NULL;
    *scts_len = 0;
    *tbs = NULL;
    *tbs_len = 0;
    if ((x = parse_der(cert_der, cert_len)) == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "not a DER certificate");
    idx = X509_get_ext_by_NID(x, NID_ct_precert_scts, -1);
    if (idx < 0) {
        err = arb_errf(eb, ARB_ERR_NOT_FOUND, "no embedded SCT list");
        goto out;
    }
    if (X509_get_ext_by_NID(x, NID_ct_precert_scts, idx) >= 0) {
        err = arb_errf(eb, ARB_ERR_PARSE, "repeated SCT list extension");
        goto out;
    }
    /* The extnValue holds an OCTET STRING that holds the TLS list. */
    val = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    p = ASN1_STRING_get0_data(val);
    inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(val));
    if (inner == NULL || p != ASN1_STRING_get0_data(val) + ASN1_STRING_length(val) ||
        ASN1_STRING_length(inner) <= 0) {
        err = arb_errf(eb, ARB_ERR_PARSE, "SCT list extension is not an OCTET STRING");
        goto out;
    }
    if ((*scts = malloc((size_t)ASN1_STRING_length(inner))) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(*scts, ASN1_STRING_get0_data(inner), (size_t)ASN1_STRING_length(inner));
    *scts_len = (size_t)ASN1_STRING_length(inner);
    if ((dup = X509_dup(x)) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "cannot copy the certificate");
        goto out;
    }
    X509_EXTENSION_free(X509_delete_ext(dup, idx));
    if ((err = tbs_der(dup, tbs, tbs_len)) != ARB_OK)
        arb_errf(eb, err, "cannot encode the TBSCertificate");
out:
    ERR_clear_error();
    ASN1_OCTET_STRING_free(inner);
    X509_free(dup);
    X509_free(x);
    if (err != ARB_OK) {
        free(*scts);
        *scts = NULL;
        *scts_len = 0;
    }
    return err;
}
