/* RFC 6962 (Certificate Transparency v1) TLS structures: encoders and strict
 * decoders, byte-exact with the RFC.
 *
 * Decoded structures are views: their pointers point into the input buffer,
 * which must outlive them. Decoders consume their input exactly (trailing
 * bytes, unknown versions or entry types and out-of-range lengths are
 * ARB_ERR_PARSE) and zero their output on failure. Encoders append to an
 * arb_buf and report ARB_ERR_NOMEM when it ran out of memory, or
 * ARB_ERR_INVALID_ARG when a field does not fit its TLS length prefix.
 *
 * Everything here is pure (no I/O, no globals) and thread-safe. */
#ifndef ARB_LEDGER_LOG_CT_H
#define ARB_LEDGER_LOG_CT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/buf.h"
#include "merkle/error.h"
#include "merkle/hash.h"

#define ARB_CT_LOG_ID_SIZE 32
/* ASN.1Cert is opaque<1..2^24-1> (RFC 6962 3.1). */
#define ARB_CT_CERT_MAX 0xffffffu
/* CtExtensions is opaque<0..2^16-1>; digitally-signed signatures too. */
#define ARB_CT_EXT_MAX 0xffffu

/* LogEntryType (RFC 6962 3.1). */
enum { ARB_CT_ENTRY_X509 = 0, ARB_CT_ENTRY_PRECERT = 1 };
/* RFC 5246 7.4.1.4.1: the only algorithms an RFC 6962 log with a P-256 key uses. */
enum { ARB_CT_HASH_SHA256 = 4, ARB_CT_SIG_ECDSA = 3 };
/* SignatureType (RFC 6962 3.2). */
enum { ARB_CT_SIGTYPE_CERT_TIMESTAMP = 0, ARB_CT_SIGTYPE_TREE_HASH = 1 };

/* The signed_entry of a TimestampedEntry / SCT signed data:
 *   x509_entry:    ASN.1Cert (the leaf certificate DER) in cert
 *   precert_entry: PreCert { issuer_key_hash[32]; TBSCertificate tbs } with
 *                  the TBSCertificate DER in cert. */
typedef struct {
    uint16_t entry_type; /* ARB_CT_ENTRY_X509 or ARB_CT_ENTRY_PRECERT */
    const uint8_t *cert; /* leaf DER or TBSCertificate DER, 1..2^24-1 bytes */
    size_t cert_len;
    uint8_t issuer_key_hash[32]; /* precert only: SHA-256 of the issuer's SPKI DER */
} arb_ct_signed_entry;

/* digitally-signed (RFC 5246 4.7): hash and signature algorithm, then
 * opaque signature<0..2^16-1>. */
typedef struct {
    uint8_t hash_alg;
    uint8_t sig_alg;
    const uint8_t *sig;
    size_t sig_len;
} arb_ct_dsig;

/* SignedCertificateTimestamp v1 (RFC 6962 3.2). */
typedef struct {
    uint8_t log_id[ARB_CT_LOG_ID_SIZE];
    uint64_t timestamp; /* milliseconds since the epoch */
    const uint8_t *ext;
    size_t ext_len;
    arb_ct_dsig sig;
} arb_ct_sct;

/* MerkleTreeLeaf v1 with a timestamped_entry (RFC 6962 3.4). */
typedef struct {
    uint64_t timestamp;
    arb_ct_signed_entry entry;
    const uint8_t *ext;
    size_t ext_len;
} arb_ct_leaf;

/* A list of certificates as views (decoded extra_data, a chain). */
typedef struct {
    const uint8_t *der;
    size_t len;
} arb_ct_cert_ref;

typedef struct {
    arb_ct_cert_ref *certs; /* malloc'd array of n views */
    size_t n;
} arb_ct_cert_list;

void arb_ct_cert_list_free(arb_ct_cert_list *l); /* frees the array; NULL-safe */

/* digitally-signed. */
arb_err arb_ct_dsig_encode(arb_buf *out, const arb_ct_dsig *d) ARB_WARN_UNUSED;
arb_err arb_ct_dsig_decode(arb_ct_dsig *out, const uint8_t *in, size_t len) ARB_WARN_UNUSED;

/* SignedCertificateTimestamp (the raw TLS form, as in .proof files and in
 * each SerializedSCT of an embedded SCT list). */
arb_err arb_ct_sct_encode(arb_buf *out, const arb_ct_sct *sct) ARB_WARN_UNUSED;
arb_err arb_ct_sct_decode(arb_ct_sct *out, const uint8_t *in, size_t len) ARB_WARN_UNUSED;

/* SignedCertificateTimestampList (RFC 6962 3.3): opaque SerializedSCT<1..2^16-1>
 * inside a <1..2^16-1> list. On success *out holds views of each SerializedSCT
 * (not yet decoded); free with arb_ct_cert_list_free. */
arb_err arb_ct_sct_list_decode(arb_ct_cert_list *out, const uint8_t *in, size_t len) ARB_WARN_UNUSED;

/* MerkleTreeLeaf: version v1(0), leaf_type timestamped_entry(0), TimestampedEntry. */
arb_err arb_ct_leaf_encode(arb_buf *out, const arb_ct_leaf *leaf) ARB_WARN_UNUSED;
arb_err arb_ct_leaf_decode(arb_ct_leaf *out, const uint8_t *in, size_t len) ARB_WARN_UNUSED;
/* The RFC 6962 leaf hash SHA-256(0x00 || MerkleTreeLeaf). */
arb_err arb_ct_leaf_hash(arb_sha256 *h, arb_hash *out, const arb_ct_leaf *leaf) ARB_WARN_UNUSED;

/* The data an SCT signs (RFC 6962 3.2): sct_version v1, signature_type
 * certificate_timestamp, timestamp, entry_type, signed_entry, extensions. */
arb_err arb_ct_sct_signed_data(arb_buf *out, uint64_t timestamp, const arb_ct_signed_entry *entry,
                               const uint8_t *ext, size_t ext_len) ARB_WARN_UNUSED;

/* The data an STH signs (RFC 6962 3.5, TreeHeadSignature): version v1,
 * signature_type tree_hash, timestamp, tree_size, sha256_root_hash. Never fails. */
void arb_ct_sth_signed_data(uint8_t out50[static 50], uint64_t timestamp, uint64_t tree_size,
                            const uint8_t root32[static 32]);

/* extra_data of an x509_entry (RFC 6962 4.6): ASN.1Cert certificate_chain<0..2^24-1>,
 * the chain without the leaf. */
arb_err arb_ct_x509_chain_encode(arb_buf *out, const arb_ct_cert_ref *certs, size_t n) ARB_WARN_UNUSED;
arb_err arb_ct_x509_chain_decode(arb_ct_cert_list *out, const uint8_t *in, size_t len) ARB_WARN_UNUSED;

/* extra_data of a precert_entry: PrecertChainEntry { ASN.1Cert pre_certificate;
 * ASN.1Cert precertificate_chain<0..2^24-1>; }. The decoder returns the
 * pre_certificate first, then the chain, in one list. */
arb_err arb_ct_precert_chain_encode(arb_buf *out, const arb_ct_cert_ref *precert,
                                    const arb_ct_cert_ref *chain, size_t n) ARB_WARN_UNUSED;
arb_err arb_ct_precert_chain_decode(arb_ct_cert_list *out, const uint8_t *in, size_t len)
    ARB_WARN_UNUSED;

#endif
