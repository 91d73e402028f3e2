#include "merkle/hash.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

struct arb_sha256 {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};


/* OpenSSL failing on a fetched SHA-256 with valid arguments cannot be handled
 * meaningfully: a wrong hash would be worse than stopping. */
static void must(int ok)
{
    if (!ok)
        abort();
}

arb_err arb_sha256_new(arb_sha256 **out)
{
    arb_sha256 *h;

    *out = NULL;
    h = calloc(1, sizeof *h);
    if (h == NULL)
        return ARB_ERR_NOMEM;
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (h->md == NULL || h->ctx == NULL) {
        arb_sha256_free(h);
        return ARB_ERR_CRYPTO;
    }
    *out = h;
    return ARB_OK;
}

void arb_sha256_free(arb_sha256 *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

void arb_sha256_init(arb_sha256 *h)
{
    must(EVP_DigestInit_ex2(h->ctx, h->md, NULL));
}

void arb_sha256_update(arb_sha256 *h, const void *data, size_t len)
{
    if (len > 0)
        must(EVP_DigestUpdate(h->ctx, data, len));
}

void arb_sha256_final(arb_sha256 *h, uint8_t out32[static 32])
{
    unsigned int n = 0;
    must(EVP_DigestFinal_ex(h->ctx, out32, &n) && n == 32);
}

void arb_sha256_digest(arb_sha256 *h, uint8_t out32[static 32], const void *data, size_t len)
{
    arb_sha256_init(h);
    arb_sha256_update(h, data, len);
    arb_sha256_final(h, out32);
}

void arb_sha256d(arb_sha256 *h, uint8_t out32[static 32], const void *data, size_t len)
{
    uint8_t first[32];
    arb_sha256_digest(h, first, data, len);
    arb_sha256_digest(h, out32, first, sizeof first);
}

void arb_sha256_tagged_init(arb_sha256 *h, const char *tag)
{
    uint8_t th[32];
    arb_sha256_digest(h, th, tag, strlen(tag));
    arb_sha256_init(h);
    arb_sha256_update(h, th, sizeof th);
    arb_sha256_update(h, th, sizeof th);
}

void arb_sha256_tagged(arb_sha256 *h, uint8_t out32[static 32], const char *tag, const void *msg,
                       size_t len)
{
    arb_sha256_tagged_init(h, tag);
    arb_sha256_update(h, msg, len);
    arb_sha256_final(h, out32);
}

void arb_merkle_leaf_hash(arb_sha256 *h, arb_hash *out, const void *data, size_t len)
{
    static const uint8_t prefix = 0x00;
    arb_sha256_init(h);
    arb_sha256_update(h, &prefix, 1);
    arb_sha256_update(h, data, len);
    arb_sha256_final(h, out->b);
}

void arb_merkle_node_hash(arb_sha256 *h, arb_hash *out, const arb_hash *left, const arb_hash *right)
{
    uint8_t buf[1 + 2 * ARB_HASH_SIZE];
    buf[0] = 0x01;
    memcpy(buf + 1, left->b, ARB_HASH_SIZE);
    memcpy(buf + 1 + ARB_HASH_SIZE, right->b, ARB_HASH_SIZE);
    arb_sha256_digest(h, out->b, buf, sizeof buf);
}

void arb_merkle_empty_root(arb_hash *out)
{
    static const uint8_t empty[32] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    };
    memcpy(out->b, empty, sizeof empty);
}

int arb_hash_eq(const arb_hash *a, const arb_hash *b)
{
    return CRYPTO_memcmp(a->b, b->b, ARB_HASH_SIZE) == 0;
}
