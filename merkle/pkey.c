#include "merkle/pkey.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

int arb_pkey_is_p256(const EVP_PKEY *pkey)
{
    char group[64];
    size_t glen = 0;
    int ok;

    ok = EVP_PKEY_is_a(pkey, "EC") &&
         EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) == 1 &&
         (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
    ERR_clear_error();
    return ok;
}

arb_err arb_pkey_spki(const EVP_PKEY *pkey, uint8_t **der, size_t *der_len, uint8_t id32[32])
{
    unsigned char *enc = NULL;
    unsigned int md_len = 0;
    int n = i2d_PUBKEY(pkey, &enc);

    if (der != NULL)
        *der = NULL;
    if (der_len != NULL)
        *der_len = 0;
    if (n <= 0) {
        ERR_clear_error();
        return ARB_ERR_CRYPTO;
    }
    if (!EVP_Digest(enc, (size_t)n, id32, &md_len, EVP_sha256(), NULL) || md_len != 32) {
        OPENSSL_free(enc);
        ERR_clear_error();
        return ARB_ERR_CRYPTO;
    }
    if (der != NULL) {
        *der = malloc((size_t)n);
        if (*der == NULL) {
            OPENSSL_free(enc);
            return ARB_ERR_NOMEM;
        }
        memcpy(*der, enc, (size_t)n);
        if (der_len != NULL)
            *der_len = (size_t)n;
    }
    OPENSSL_free(enc);
    return ARB_OK;
}
