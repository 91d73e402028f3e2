/* The transparency log's signing key file: an ECDSA P-256 private key in PEM,
 * SEC1 ("EC PRIVATE KEY", as `openssl ecparam -genkey` writes) or PKCS#8
 * ("PRIVATE KEY", as `openssl genpkey` writes). arbord generates one into its
 * data directory on first start. */
#ifndef ARB_LEDGER_LOGKEY_H
#define ARB_LEDGER_LOGKEY_H

#include <openssl/evp.h>

#include "merkle/error.h"

/* Loads the key in `path`. When the file does not exist and `generate` is 1, a
 * new P-256 key is generated and written there first (PKCS#8 PEM, created with
 * mode 0600, never overwriting an existing file; the file and then its directory
 * are fsynced before the key is returned); *generated (if not NULL)
 * tells which happened. Returns ARB_OK and *out (free with EVP_PKEY_free), or:
 *   ARB_ERR_NOT_FOUND  no such file and generate is 0
 *   ARB_ERR_PARSE      the file holds no PEM private key, or one that is not
 *                      ECDSA P-256
 *   ARB_ERR_IO         the file cannot be read or written
 *   ARB_ERR_CRYPTO     key generation failed. */
arb_err arb_logkey_load(EVP_PKEY **out, const char *path, int generate, int *generated,
                        arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
