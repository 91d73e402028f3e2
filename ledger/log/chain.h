/* Certificate chains for the log: accepted roots, chain validation for
 * add-chain / add-pre-chain (RFC 6962 4.1, 4.2), precertificates and the
 * TBSCertificate the log signs for them (RFC 6962 3.1, 3.2), and embedded SCT
 * lists of final certificates (RFC 6962 3.3).
 *
 * All X.509 work is done by OpenSSL (X509_verify_cert for path building and
 * signatures, the X509 object API for the TBS rewriting); no OpenSSL type
 * appears here. An arb_ct_roots handle is read-only once loaded and may be
 * shared by threads validating at the same time. */
#ifndef ARB_LEDGER_LOG_CHAIN_H
#define ARB_LEDGER_LOG_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/log/ct.h"
#include "merkle/error.h"

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

typedef struct {
    size_t max_chain_len; /* most certificates accepted in a submission (0: 10) */
    size_t max_cert_size; /* largest DER certificate accepted, bytes (0: 64 KiB) */
    /* Temporal sharding: when not_after_end > not_after_start, the leaf's
     * notAfter must lie in [not_after_start, not_after_end) (Unix seconds). */
    int64_t not_after_start;
    int64_t not_after_end;
} arb_ct_chain_opts;

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
} arb_ct_chain;

void arb_ct_chain_free(arb_ct_chain *c); /* NULL-safe */

/* Validates a submitted chain (leaf first, as add-chain's "chain" array, DER
 * each) against the accepted roots: X509_verify_cert with the roots as the
 * trust store and the submitted certificates after the leaf as untrusted
 * intermediates. Signatures, issuer links and basic constraints are checked;
 * validity periods are NOT checked against the current time (only against the
 * optional notAfter window). precert = 0 (add-chain) rejects a leaf with the CT
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
