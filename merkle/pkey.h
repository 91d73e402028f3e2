/* Small helpers for OpenSSL public keys shared by the note keys, the log's
 * keys and arbord's key loading: the one place that decides what counts as
 * a P-256 key and how a key ID over its SubjectPublicKeyInfo is computed. */
#ifndef ARB_MERKLE_PKEY_H
#define ARB_MERKLE_PKEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "merkle/error.h"

/* 1 when pkey is an EC key on NIST P-256, else 0 (OpenSSL's error queue is
 * left clean). */
int arb_pkey_is_p256(const EVP_PKEY *pkey);

/* The DER SubjectPublicKeyInfo of pkey (malloc'd into *der when der is not
 * NULL, *der_len its length) and SHA-256 of it into id32 (RFC 6962's log ID).
 * Returns ARB_OK, ARB_ERR_NOMEM or ARB_ERR_CRYPTO. */
arb_err arb_pkey_spki(const EVP_PKEY *pkey, uint8_t **der, size_t *der_len, uint8_t id32[32]);

#endif
