/* The log's ECDSA P-256 key: signing SCTs and tree heads, verifying them, and
 * the log ID (RFC 6962 3.2: SHA-256 of the public key's DER SubjectPublicKeyInfo).
 *
 * Signatures are DER-encoded ECDSA over SHA-256 inside an RFC 5246
 * digitally-signed structure with hash sha256(4) and signature ecdsa(3).
 * Keys are opaque handles over OpenSSL keys; once loaded a handle is read-only,
 * so one handle may sign or verify from several threads at once. */
#ifndef ARB_LEDGER_LOG_KEY_H
#define ARB_LEDGER_LOG_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/log/ct.h"
#include "merkle/buf.h"
#include "merkle/error.h"

/* An ECDSA P-256 DER signature is at most 72 bytes. */
#define ARB_CT_SIG_MAX 72

typedef struct arb_ct_signer arb_ct_signer;     /* private key */
typedef struct arb_ct_verifier arb_ct_verifier; /* public key */

/* Loads a P-256 private key from PEM: SEC1 ("EC PRIVATE KEY", as
 * `openssl ecparam -genkey` writes) or PKCS#8 ("PRIVATE KEY", `openssl genpkey`).
 * Encrypted keys are refused. Returns ARB_OK, ARB_ERR_PARSE (not a PEM key),
 * ARB_ERR_INVALID_ARG (not a P-256 EC key) or ARB_ERR_NOMEM; *out is NULL on
 * failure. Free with arb_ct_signer_free. */
arb_err arb_ct_signer_from_pem(arb_ct_signer **out, const char *pem, size_t pem_len,
                               arb_errbuf *eb) ARB_WARN_UNUSED;
/* Generates a fresh P-256 key. */
arb_err arb_ct_signer_generate(arb_ct_signer **out, arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_ct_signer_free(arb_ct_signer *s);
/* The private key as PKCS#8 PEM (unencrypted); *pem is NUL-terminated, free()
 * it after OPENSSL_cleanse-ing if you care; *pem_len excludes the NUL. */
arb_err arb_ct_signer_private_pem(const arb_ct_signer *s, char **pem, size_t *pem_len)
    ARB_WARN_UNUSED;
/* The public key as "PUBLIC KEY" PEM (SubjectPublicKeyInfo). */
arb_err arb_ct_signer_public_pem(const arb_ct_signer *s, char **pem, size_t *pem_len)
    ARB_WARN_UNUSED;
/* The DER SubjectPublicKeyInfo (91 bytes for P-256); *der is malloc'd. */
arb_err arb_ct_signer_spki(const arb_ct_signer *s, uint8_t **der, size_t *der_len) ARB_WARN_UNUSED;
void arb_ct_signer_log_id(const arb_ct_signer *s, uint8_t out32[static 32]);

/* Signs msg: writes an ECDSA DER signature (at most ARB_CT_SIG_MAX bytes).
 * Returns ARB_OK or ARB_ERR_CRYPTO. */
arb_err arb_ct_sign(const arb_ct_signer *s, uint8_t sig[static ARB_CT_SIG_MAX], size_t *sig_len,
                    const uint8_t *msg, size_t msg_len) ARB_WARN_UNUSED;

/* Loads a P-256 public key from a "PUBLIC KEY" PEM or from DER SPKI bytes. */
arb_err arb_ct_verifier_from_pem(arb_ct_verifier **out, const char *pem, size_t pem_len,
                                 arb_errbuf *eb) ARB_WARN_UNUSED;
arb_err arb_ct_verifier_from_spki(arb_ct_verifier **out, const uint8_t *der, size_t der_len,
                                  arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_ct_verifier_free(arb_ct_verifier *v);
void arb_ct_verifier_log_id(const arb_ct_verifier *v, uint8_t out32[static 32]);

/* Checks a digitally-signed structure over msg: the algorithms must be
 * sha256/ecdsa and the DER signature valid under the key. Returns ARB_OK,
 * ARB_ERR_VERIFY (wrong algorithms, malformed or invalid signature). */
arb_err arb_ct_verify(const arb_ct_verifier *v, const arb_ct_dsig *sig, const uint8_t *msg,
                      size_t msg_len) ARB_WARN_UNUSED;

/* Issues an SCT for entry at timestamp (ms) with the given extensions: fills
 * *sct (its signature points into sigbuf, ext is borrowed) with the signer's log ID. */
arb_err arb_ct_sct_sign(const arb_ct_signer *s, arb_ct_sct *sct, uint8_t sigbuf[static ARB_CT_SIG_MAX],
                        uint64_t timestamp, const arb_ct_signed_entry *entry, const uint8_t *ext,
                        size_t ext_len) ARB_WARN_UNUSED;
/* Verifies an SCT for entry: the log ID must be the key's and the signature
 * valid over the RFC 6962 3.2 signed data. ARB_OK or ARB_ERR_VERIFY. */
arb_err arb_ct_sct_verify(const arb_ct_verifier *v, const arb_ct_sct *sct,
                          const arb_ct_signed_entry *entry) ARB_WARN_UNUSED;

/* Signs / verifies a tree head (RFC 6962 3.5). */
arb_err arb_ct_sth_sign(const arb_ct_signer *s, arb_ct_dsig *out, uint8_t sigbuf[static ARB_CT_SIG_MAX],
                        uint64_t timestamp, uint64_t tree_size,
                        const uint8_t root32[static 32]) ARB_WARN_UNUSED;
arb_err arb_ct_sth_verify(const arb_ct_verifier *v, const arb_ct_dsig *sig, uint64_t timestamp,
                          uint64_t tree_size, const uint8_t root32[static 32]) ARB_WARN_UNUSED;

#endif
