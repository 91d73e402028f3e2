/* Certificate chains for the log: accepted roots, chain validation for
 * add-chain / add-pre-chain (RFC 6962 4.1, 4.2), precertificates and the
 * TBSCertificate the log signs for them (RFC 6962 3.1, 3.2), and embedded SCT
 * lists of final certificates (RFC 6962 3.3).
 *
 * All X.509 work is done by OpenSSL (X509_verify_cert for path building and
 * signatures, the X509 object API for the TBS rewriting); no OpenSSL type
 * appears here. An arb_ct_roots handle may be shared by threads validating
 * at the same time: its roots are read-only once loaded, and its cache of
 * parsed intermediates (arb_ct_roots_cached) has its own lock. */
#ifndef ARB_LEDGER_LOG_CHAIN_H
#define ARB_LEDGER_LOG_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/log/ct.h"
#include "merkle/error.h"

struct x509_st; /* OpenSSL's X509 */

/* OIDs (RFC 6962 3.1). */
#define ARB_CT_OID_POISON "1.3.6.1.4.1.11129.2.4.3"
#define ARB_CT_OID_PRECERT_SIGNING "1.3.6.1.4.1.11129.2.4.4"
#define ARB_CT_OID_SCT_LIST "1.3.6.1.4.1.11129.2.4.2"

typedef struct arb_ct_roots arb_ct_roots;

/* Loads every certificate of a PEM bundle (text between the PEM blocks is
 * ignored; duplicates are kept once). Returns ARB_OK, ARB_ERR_PARSE (a broken
 * PEM block, or no certificate at all) or ARB_ERR_NOMEM. Free with arb_ct_roots_free. */
arb_err arb_ct_roots_from_pem(arb_ct_roots **out, const char *pem, size_t pem_len,
                              arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_ct_roots_free(arb_ct_roots *r);
size_t arb_ct_roots_count(const arb_ct_roots *r);
/* The DER of root i (0 <= i < count), in bundle order; the pointer lives as long as r. */
void arb_ct_roots_get(const arb_ct_roots *r, size_t i, const uint8_t **der, size_t *der_len);
/* How many certificates from above the leaf the handle keeps parsed: chain
 * validation keeps the intermediates (and submitted copies of accepted
 * roots) of every chain that verified, up to ARB_CT_ISSUER_CACHE, dropping
 * the least recently used, so that the next submission through them is not
 * parsed again. Only a verified chain's certificates get in; the cache
 * changes no result, only its cost. */
#define ARB_CT_ISSUER_CACHE 64
size_t arb_ct_roots_cached(const arb_ct_roots *r);

/* OID lists of a submission policy: dotted decimal, at most ARB_CT_OID_MAX - 1
 * characters each, at most ARB_CT_OIDS_MAX of them. */
#define ARB_CT_OIDS_MAX 16
#define ARB_CT_OID_MAX 64
#define ARB_CT_OID_ANY_EKU "2.5.29.37.0" /* anyExtendedKeyUsage (RFC 5280 4.2.1.12) */

typedef struct {
    size_t n;
    char oid[ARB_CT_OIDS_MAX][ARB_CT_OID_MAX];
} arb_ct_oid_list;

/* Parses a list of OIDs separated by commas and/or spaces (an empty or blank
 * text is the empty list). Each item is a dotted-decimal OID (at least two
 * arcs, the first 0..2, the second below 40 under 0 and 1, no leading zeros,
 * each arc below 2^32); with eku_names also an extended key usage name as
 * Trillian's CT front end spells them, case-insensitively: Any, ServerAuth,
 * ClientAuth, CodeSigning, EmailProtection, TimeStamping, OCSPSigning
 * (RFC 5280 4.2.1.12), or PrecertSigning (RFC 6962 3.1). Repeated OIDs are kept
 * once. Returns ARB_OK with *out, or ARB_ERR_PARSE (eb names the bad item)
 * with *out empty. Untrusted input is fine. */
arb_err arb_ct_oid_list_parse(arb_ct_oid_list *out, const char *text, int eku_names,
                              arb_errbuf *eb) ARB_WARN_UNUSED;

typedef struct {
    size_t max_chain_len; /* most certificates accepted in a submission (0: 10) */
    size_t max_cert_size; /* largest DER certificate accepted, bytes (0: 64 KiB) */
    /* Temporal sharding: when not_after_end > not_after_start, the leaf's
     * notAfter must lie in [not_after_start, not_after_end) (Unix seconds). */
    int64_t not_after_start;
    int64_t not_after_end;
    /* Refuse a leaf whose notAfter is before `now` (expired) / not before
     * `now` (unexpired; for logs of expired certificates). now 0: the current
     * time. Setting both refuses everything, which callers should not do. */
    int reject_expired;
    int reject_unexpired;
    int64_t now;
    /* When non-empty, the chain must be valid for at least one of these
     * extended key usages, as Go's crypto/x509 (which CTFE uses) decides it:
     * every certificate of the path that has an EKU extension without
     * anyExtendedKeyUsage narrows the usable set to the usages it lists, and
     * the set left at the end must hold one of the required ones; a
     * certificate without the extension does not narrow it. A precertificate
     * signing certificate (whose EKU is the CT one) is left out. */
    arb_ct_oid_list ext_key_usages;
    /* Refuse a leaf carrying any extension with one of these OIDs. */
    arb_ct_oid_list reject_extensions;
} arb_ct_chain_opts;

/* Why a submission was refused, for metrics and operators. */
typedef enum {
    ARB_CT_REJECT_NONE = 0,
    ARB_CT_REJECT_MALFORMED,   /* empty, too many or too large certificates, not DER */
    ARB_CT_REJECT_KIND,        /* a precertificate on add-chain or the reverse; bad poison */
    ARB_CT_REJECT_NOT_AFTER,   /* notAfter outside the shard window */
    ARB_CT_REJECT_EXPIRED,     /* reject_expired and the leaf has expired */
    ARB_CT_REJECT_UNEXPIRED,   /* reject_unexpired and the leaf has not expired */
    ARB_CT_REJECT_EXTENSION,   /* the leaf carries a refused extension */
    ARB_CT_REJECT_EKU,         /* not valid for any required extended key usage */
    ARB_CT_REJECT_UNTRUSTED,   /* does not verify to an accepted root */
    ARB_CT_REJECT_OTHER        /* anything else (precertificate structure, no memory) */
} arb_ct_reject;
/* A short metric-friendly name ("not_after_window", "expired", ...). */
const char *arb_ct_reject_name(arb_ct_reject r);

/* A validated submission. */
typedef struct {
    /* The verified path as it is stored: leaf (or precert) first, each
     * certificate issued by the next, ending in the accepted root. Each
     * element owns its DER bytes. */
    arb_ct_cert_ref *path;
    size_t path_len;
    int is_precert;
    int has_precert_signer; /* path[1] is a precertificate signing certificate */
    /* What the log signs and stores in its MerkleTreeLeaf: for an x509 entry
     * the leaf DER (path[0]); for a precert the rewritten TBSCertificate and the
     * issuer key hash. entry.cert points into this structure. */
    arb_ct_signed_entry entry;
    uint8_t *tbs; /* owned; precert only */
    size_t tbs_len;
    /* The leaf (or precertificate) as OpenSSL parsed it during validation,
     * kept so that later readers (the log's domain index) need not parse it
     * again; owned. Its names are those of the logged entry (a precertificate's
     * TBS rewriting changes only the poison, issuer and key identifier). NULL
     * in a chain not built by arb_ct_chain_validate. */
    struct x509_st *leaf_x509;
} arb_ct_chain;

void arb_ct_chain_free(arb_ct_chain *c); /* NULL-safe */

/* Validates a submitted chain (leaf first, as add-chain's "chain" array, DER
 * each) against the accepted roots: X509_verify_cert with the roots as the
 * trust store and the submitted certificates after the leaf as untrusted
 * intermediates. Signatures, issuer links and basic constraints are checked;
 * validity periods are NOT checked against the current time (only against the
 * optional notAfter window and the reject_expired / reject_unexpired policy;
 * opts also holds the extended key usage and refused extension policy). precert = 0 (add-chain) rejects a leaf with the CT
 * poison extension; precert = 1 (add-pre-chain) requires it (critical, NULL)
 * and allows it as the only unknown critical extension; a precertificate
 * signing certificate (EKU 1.3.6.1.4.1.11129.2.4.4) directly above the precert
 * must itself be issued by the real issuer, which the path must contain.
 * opts may be NULL for the defaults.
 * Returns ARB_OK with *out (free with arb_ct_chain_free), ARB_ERR_PARSE (not
 * DER certificates, too many or too large), ARB_ERR_VERIFY (does not chain to
 * an accepted root, wrong kind of leaf, outside the shard window) or
 * ARB_ERR_NOMEM; eb gets the reason. */
arb_err arb_ct_chain_validate(arb_ct_chain **out, const arb_ct_roots *roots,
                              const arb_ct_chain_opts *opts, int precert,
                              const arb_ct_cert_ref *chain, size_t n, arb_errbuf *eb) ARB_WARN_UNUSED;
/* The same, also saying why a chain was refused: *why is ARB_CT_REJECT_NONE
 * on ARB_OK, else the reason (why may be NULL). */
arb_err arb_ct_chain_validate_why(arb_ct_chain **out, arb_ct_reject *why, const arb_ct_roots *roots,
                                  const arb_ct_chain_opts *opts, int precert,
                                  const arb_ct_cert_ref *chain, size_t n,
                                  arb_errbuf *eb) ARB_WARN_UNUSED;

/* The TBSCertificate of precert_der as RFC 6962 3.2 logs it: the poison
 * extension removed; when pre_issuer_der is non-NULL (a precertificate
 * signing certificate issued precert_der), the issuer name replaced by the
 * pre-issuer's issuer and the authority key identifier by the pre-issuer's
 * (removed if the pre-issuer has none, added if only the pre-issuer has one).
 * *tbs is malloc'd. Returns ARB_OK, ARB_ERR_PARSE, ARB_ERR_VERIFY (no poison)
 * or ARB_ERR_NOMEM. */
arb_err arb_ct_precert_tbs(uint8_t **tbs, size_t *tbs_len, const uint8_t *precert_der,
                           size_t precert_len, const uint8_t *pre_issuer_der,
                           size_t pre_issuer_len, arb_errbuf *eb) ARB_WARN_UNUSED;

/* SHA-256 of a certificate's DER SubjectPublicKeyInfo (the issuer_key_hash). */
arb_err arb_ct_issuer_key_hash(uint8_t out32[static 32], const uint8_t *cert_der, size_t cert_len)
    ARB_WARN_UNUSED;

/* For checking SCTs embedded in a final certificate (RFC 6962 3.3): *scts
 * receives the certificate's SignedCertificateTimestampList (malloc'd TLS
 * bytes; decode with arb_ct_sct_list_decode) and *tbs the TBSCertificate with
 * that extension removed, which is what the SCTs signed as a precert entry.
 * Returns ARB_OK, ARB_ERR_PARSE, ARB_ERR_NOT_FOUND (no SCT list) or ARB_ERR_NOMEM. */
arb_err arb_ct_embedded_scts(uint8_t **scts, size_t *scts_len, uint8_t **tbs, size_t *tbs_len,
                             const uint8_t *cert_der, size_t cert_len, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
