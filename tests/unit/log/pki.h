/* Test PKI built at test time with OpenSSL: keys and certificates for roots,
 * intermediates, precertificate signing certificates, final certificates and
 * precertificates, plus small independent helpers (PEM to DER, the raw TBS
 * bytes of a certificate, SPKI hashes). Test-only code. */
#ifndef ARB_TESTS_UNIT_LOG_PKI_H
#define ARB_TESTS_UNIT_LOG_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Extension flags for pki_cert. */
enum {
    PKI_CA = 1 << 0,          /* basicConstraints critical CA:TRUE (else CA:FALSE) */
    PKI_POISON = 1 << 1,      /* CT poison, critical, placed between other extensions */
    PKI_PRE_SIGNER = 1 << 2,  /* EKU 1.3.6.1.4.1.11129.2.4.4 */
    PKI_NO_AKI = 1 << 3,      /* leave out the authority key identifier */
    PKI_BAD_CRITICAL = 1 << 4, /* an unknown critical extension (not the poison) */
    PKI_PATHLEN0 = 1 << 5,     /* with PKI_CA: basicConstraints pathLenConstraint 0 */
    PKI_NAME_CONSTRAINED = 1 << 6, /* with PKI_CA: nameConstraints permitting only
                                     DNS:allowed.test (leaves are for example.test) */
    PKI_EKU_SERVER = 1 << 7,  /* EKU serverAuth (not with PKI_PRE_SIGNER) */
    PKI_EKU_CLIENT = 1 << 8,  /* EKU clientAuth (with PKI_EKU_SERVER: both) */
    PKI_EKU_ANY = 1 << 9,     /* EKU anyExtendedKeyUsage (alone) */
    PKI_EXTRA_EXT = 1 << 10   /* a non-critical extension 1.3.6.1.4.1.99999.2 (NULL value) */
};
#define PKI_EXTRA_EXT_OID "1.3.6.1.4.1.99999.2"

typedef struct {
    const char *cn;         /* subject CN */
    const char *issuer_cn;  /* issuer CN written into the cert (NULL: the signer's subject) */
    long serial;
    int64_t not_before;     /* Unix seconds */
    int64_t not_after;
    unsigned flags;
} pki_spec;

EVP_PKEY *pki_key(void);
/* Builds and signs a certificate for subject_key, signed by signer_key; the
 * issuer name is signer's subject (or spec->issuer_cn), the AKI is signer's
 * SKI. signer == NULL makes it self-signed. */
X509 *pki_cert(const pki_spec *spec, EVP_PKEY *subject_key, X509 *signer, EVP_PKEY *signer_key);
/* The DER of x; *der is malloc'd. */
uint8_t *pki_der(X509 *x, size_t *len);
/* PEM of x in a malloc'd string. */
char *pki_pem(X509 *x, size_t *len);
/* The first certificate of a PEM file read from the vectors; DER malloc'd. */
uint8_t *pki_pem_file_der(const char *rel, size_t *len);
/* The raw TBSCertificate bytes inside a DER certificate (first element of the
 * outer SEQUENCE), found by a small DER walk; 0 on failure. */
int pki_raw_tbs(const uint8_t *cert, size_t cert_len, const uint8_t **tbs, size_t *tbs_len);
/* BER re-encodings of a DER element, for tests that submit non-DER. */
enum {
    PKI_BER_LONG_LENGTH = 1, /* the length in long form with one leading zero octet */
    PKI_BER_INDEFINITE = 2   /* indefinite length closed by end-of-contents (constructed only) */
};
/* Re-encodes der[0..len) with one element in a BER form (`mode`), fixing the
 * lengths of every enclosing element. `path` names the element: child indexes
 * from the outermost element, ended by -1 ({-1}: the certificate itself;
 * {0, -1}: its TBSCertificate; {0, 4, -1}: the TBS's fifth element). Returns
 * malloc'd bytes (length in *out_len) or NULL. */
uint8_t *pki_ber_variant(const uint8_t *der, size_t len, const int *path, int mode,
                         size_t *out_len);
/* SHA-256 of the DER SPKI of a DER certificate. */
int pki_spki_hash(const uint8_t *cert, size_t cert_len, uint8_t out32[32]);

#endif
