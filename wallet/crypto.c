/* OpenSSL digest wrappers for the wallet (see crypto_internal.h). The wallet
 * hashes little, so the one-shot EVP calls are fast enough. */
#include "wallet/crypto_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int arb_wallet_sha256(uint8_t out32[static 32], const void *data, size_t len)
{
    unsigned int n = 0;

    return EVP_Digest(data, len, out32, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

int arb_wallet_sha256d(uint8_t out32[static 32], const void *data, size_t len)
{
    uint8_t tmp[32];
    int ok = arb_wallet_sha256(tmp, data, len) && arb_wallet_sha256(out32, tmp, 32);

    OPENSSL_cleanse(tmp, sizeof(tmp));
    return ok;
}

int arb_wallet_hash160(uint8_t out20[static 20], const void *data, size_t len)
{
    uint8_t tmp[32];
    unsigned int n = 0;
    EVP_MD *md;
    int ok = 0;

    /* OpenSSL 3.0.7+ serves RIPEMD-160 from the default provider. */
    md = EVP_MD_fetch(NULL, "RIPEMD160", NULL);
    if (md != NULL && arb_wallet_sha256(tmp, data, len))
        ok = EVP_Digest(tmp, 32, out20, &n, md, NULL) == 1 && n == 20;
    EVP_MD_free(md);
    return ok;
}

int arb_wallet_hmac_sha512(uint8_t out64[static 64], const void *key, size_t key_len,
                           const void *data, size_t data_len)
{
    unsigned int n = 0;

    if (key_len > (size_t)INT32_MAX)
        return 0;
    return HMAC(EVP_sha512(), key, (int)key_len, data, data_len, out64, &n) != NULL && n == 64;
}
