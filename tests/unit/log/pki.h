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
    PKI_BAD_CRITICAL = 1 << 4 /* an unknown critical extension (not the poison) */
};

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
/* SHA-256 of the DER SPKI of a DER certificate. */
int pki_spki_hash(const uint8_t *cert, size_t cert_len, uint8_t out32[32]);

#endif
