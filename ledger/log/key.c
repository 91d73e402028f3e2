/* ECDSA P-256 log keys over OpenSSL EVP. See key.h. */
#include "ledger/log/key.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "merkle/pkey.h"

struct arb_ct_signer {
    EVP_PKEY *pkey;
    uint8_t log_id[32];
};

struct arb_ct_verifier {
    EVP_PKEY *pkey;
    uint8_t log_id[32];
};

/* Refuses to prompt for a passphrase: encrypted keys fail to load. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Checks that pkey is an EC key on P-256 and computes its log ID. */
static arb_err check_p256(EVP_PKEY *pkey, uint8_t log_id[32], arb_errbuf *eb)
{
    if (!arb_pkey_is_p256(pkey))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "log key is not an ECDSA P-256 key");
    if (arb_pkey_spki(pkey, NULL, NULL, log_id) != ARB_OK)
        return arb_errf(eb, ARB_ERR_CRYPTO, "cannot encode the public key");
    return ARB_OK;
}

static arb_err signer_wrap(arb_ct_signer **out, EVP_PKEY *pkey, arb_errbuf *eb)
{
    arb_ct_signer *s;
    arb_err err;

    if ((s = calloc(1, sizeof(*s))) == NULL) {
        EVP_PKEY_free(pkey);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    s->pkey = pkey;
    if ((err = check_p256(pkey, s->log_id, eb)) != ARB_OK) {
        arb_ct_signer_free(s);
        return err;
    }
    *out = s;
    return ARB_OK;
}

arb_err arb_ct_signer_from_pem(arb_ct_signer **out, const char *pem, size_t pem_len, arb_errbuf *eb)
{
    BIO *bio;
    EVP_PKEY *pkey;

    *out = NULL;
    if (pem_len > 1 << 20)
        return arb_errf(eb, ARB_ERR_PARSE, "key file too large");
    if ((bio = BIO_new_mem_buf(pem, (int)pem_len)) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    if (pkey == NULL) {
        ERR_clear_error();
        return arb_errf(eb, ARB_ERR_PARSE, "no unencrypted PEM private key found");
    }
    return signer_wrap(out, pkey, eb);
}

arb_err arb_ct_signer_generate(arb_ct_signer **out, arb_errbuf *eb)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");

    *out = NULL;
    if (pkey == NULL) {
        ERR_clear_error();
        return arb_errf(eb, ARB_ERR_CRYPTO, "EC key generation failed");
    }
    return signer_wrap(out, pkey, eb);
}

void arb_ct_signer_free(arb_ct_signer *s)
{
    if (s == NULL)
        return;
    EVP_PKEY_free(s->pkey);
    free(s);
}

/* Copies a memory BIO into a NUL-terminated malloc'd string. */
static arb_err bio_to_string(BIO *bio, char **pem, size_t *pem_len)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);

    if (n <= 0 || (*pem = malloc((size_t)n + 1)) == NULL)
        return ARB_ERR_NOMEM;
    memcpy(*pem, data, (size_t)n);
    (*pem)[n] = '\0';
    *pem_len = (size_t)n;
    return ARB_OK;
}

arb_err arb_ct_signer_private_pem(const arb_ct_signer *s, char **pem, size_t *pem_len)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    arb_err err = ARB_ERR_CRYPTO;

    *pem = NULL;
    *pem_len = 0;
    if (bio == NULL)
        return ARB_ERR_NOMEM;
    if (PEM_write_bio_PrivateKey(bio, s->pkey, NULL, NULL, 0, NULL, NULL))
        err = bio_to_string(bio, pem, pem_len);
    ERR_clear_error();
    BIO_free(bio);
    return err;
}

arb_err arb_ct_signer_public_pem(const arb_ct_signer *s, char **pem, size_t *pem_len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    arb_err err = ARB_ERR_CRYPTO;

    *pem = NULL;
    *pem_len = 0;
    if (bio == NULL)
        return ARB_ERR_NOMEM;
    if (PEM_write_bio_PUBKEY(bio, s->pkey))
        err = bio_to_string(bio, pem, pem_len);
    ERR_clear_error();
    BIO_free(bio);
    return err;
}

arb_err arb_ct_signer_spki(const arb_ct_signer *s, uint8_t **der, size_t *der_len)
{
    unsigned char *p = NULL;
    int n = i2d_PUBKEY(s->pkey, &p);

    *der = NULL;
    *der_len = 0;
    if (n <= 0) {
        ERR_clear_error();
        return ARB_ERR_CRYPTO;
    }
    if ((*der = malloc((size_t)n)) == NULL) {
        OPENSSL_free(p);
        return ARB_ERR_NOMEM;
    }
    memcpy(*der, p, (size_t)n);
    *der_len = (size_t)n;
    OPENSSL_free(p);
    return ARB_OK;
}

void arb_ct_signer_log_id(const arb_ct_signer *s, uint8_t out32[static 32])
{
    memcpy(out32, s->log_id, 32);
}

arb_err arb_ct_sign(const arb_ct_signer *s, uint8_t sig[static ARB_CT_SIG_MAX], size_t *sig_len,
                    const uint8_t *msg, size_t msg_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = ARB_CT_SIG_MAX;
    arb_err err = ARB_ERR_CRYPTO;

    *sig_len = 0;
    if (ctx == NULL)
        return ARB_ERR_NOMEM;
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, s->pkey) == 1 &&
        EVP_DigestSign(ctx, sig, &n, msg, msg_len) == 1 && n <= ARB_CT_SIG_MAX) {
        *sig_len = n;
        err = ARB_OK;
    }
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    return err;
}

static arb_err verifier_wrap(arb_ct_verifier **out, EVP_PKEY *pkey, arb_errbuf *eb)
{
    arb_ct_verifier *v = calloc(1, sizeof(*v));
    arb_err err;

    if (v == NULL) {
        EVP_PKEY_free(pkey);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    v->pkey = pkey;
    if ((err = check_p256(pkey, v->log_id, eb)) != ARB_OK) {
        arb_ct_verifier_free(v);
        return err;
    }
    *out = v;
    return ARB_OK;
}

arb_err arb_ct_verifier_from_pem(arb_ct_verifier **out, const char *pem, size_t pem_len,
                                 arb_errbuf *eb)
{
    BIO *bio;
    EVP_PKEY *pkey;

    *out = NULL;
    if (pem_len > 1 << 20)
        return arb_errf(eb, ARB_ERR_PARSE, "key file too large");
    if ((bio = BIO_new_mem_buf(pem, (int)pem_len)) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    pkey = PEM_read_bio_PUBKEY(bio, NULL, no_password, NULL);
    BIO_free(bio);
    if (pkey == NULL) {
        ERR_clear_error();
        return arb_errf(eb, ARB_ERR_PARSE, "no PEM public key found");
    }
    return verifier_wrap(out, pkey, eb);
}

arb_err arb_ct_verifier_from_spki(arb_ct_verifier **out, const uint8_t *der, size_t der_len,
                                  arb_errbuf *eb)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey;

    *out = NULL;
    if (der_len > 1 << 16)
        return arb_errf(eb, ARB_ERR_PARSE, "public key too large");
    pkey = d2i_PUBKEY(NULL, &p, (long)der_len);
    if (pkey == NULL || p != der + der_len) {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return arb_errf(eb, ARB_ERR_PARSE, "not a DER SubjectPublicKeyInfo");
    }
    return verifier_wrap(out, pkey, eb);
}

void arb_ct_verifier_free(arb_ct_verifier *v)
{
    if (v == NULL)
        return;
    EVP_PKEY_free(v->pkey);
    free(v);
}

void arb_ct_verifier_log_id(const arb_ct_verifier *v, uint8_t out32[static 32])
{
    memcpy(out32, v->log_id, 32);
}

arb_err arb_ct_verify(const arb_ct_verifier *v, const arb_ct_dsig *sig, const uint8_t *msg,
                      size_t msg_len)
{
    EVP_MD_CTX *ctx;
    int ok;

    if (sig->hash_alg != ARB_CT_HASH_SHA256 || sig->sig_alg != ARB_CT_SIG_ECDSA ||
        sig->sig_len == 0)
        return ARB_ERR_VERIFY;
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return ARB_ERR_NOMEM;
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, v->pkey) == 1 &&
         EVP_DigestVerify(ctx, sig->sig, sig->sig_len, msg, msg_len) == 1;
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    return ok ? ARB_OK : ARB_ERR_VERIFY;
}

arb_err arb_ct_sct_sign(const arb_ct_signer *s, arb_ct_sct *sct, uint8_t sigbuf[static ARB_CT_SIG_MAX],
                        uint64_t timestamp, const arb_ct_signed_entry *entry, const uint8_t *ext,
                        size_t ext_len)
{
    arb_buf data = ARB_BUF_INIT;
    size_t sig_len = 0;
    arb_err err;

    memset(sct, 0, sizeof(*sct));
    if ((err = arb_ct_sct_signed_data(&data, timestamp, entry, ext, ext_len)) == ARB_OK)
        err = arb_ct_sign(s, sigbuf, &sig_len, data.data, data.len);
    arb_buf_free(&data);
    if (err != ARB_OK)
        return err;
    memcpy(sct->log_id, s->log_id, 32);
    sct->timestamp = timestamp;
    sct->ext = ext;
    sct->ext_len = ext_len;
    sct->sig.hash_alg = ARB_CT_HASH_SHA256;
    sct->sig.sig_alg = ARB_CT_SIG_ECDSA;
    sct->sig.sig = sigbuf;
    sct->sig.sig_len = sig_len;
    return ARB_OK;
}

arb_err arb_ct_sct_verify(const arb_ct_verifier *v, const arb_ct_sct *sct,
                          const arb_ct_signed_entry *entry)
{
    arb_buf data = ARB_BUF_INIT;
    arb_err err;

    if (CRYPTO_memcmp(sct->log_id, v->log_id, 32) != 0)
        return ARB_ERR_VERIFY;
    err = arb_ct_sct_signed_data(&data, sct->timestamp, entry, sct->ext, sct->ext_len);
    if (err == ARB_OK)
        err = arb_ct_verify(v, &sct->sig, data.data, data.len);
    else if (err == ARB_ERR_INVALID_ARG)
        err = ARB_ERR_VERIFY;
    arb_buf_free(&data);
    return err;
}

arb_err arb_ct_sth_sign(const arb_ct_signer *s, arb_ct_dsig *out, uint8_t sigbuf[static ARB_CT_SIG_MAX],
                        uint64_t timestamp, uint64_t tree_size, const uint8_t root32[static 32])
{
    uint8_t data[50];
    size_t sig_len = 0;
    arb_err err;

    memset(out, 0, sizeof(*out));
    arb_ct_sth_signed_data(data, timestamp, tree_size, root32);
    if ((err = arb_ct_sign(s, sigbuf, &sig_len, data, sizeof(data))) != ARB_OK)
        return err;
    out->hash_alg = ARB_CT_HASH_SHA256;
    out->sig_alg = ARB_CT_SIG_ECDSA;
    out->sig = sigbuf;
    out->sig_len = sig_len;
    return ARB_OK;
}

arb_err arb_ct_sth_verify(const arb_ct_verifier *v, const arb_ct_dsig *sig, uint64_t timestamp,
                          uint64_t tree_size, const uint8_t root32[static 32])
{
    uint8_t data[50];

    arb_ct_sth_signed_data(data, timestamp, tree_size, root32);
    return arb_ct_verify(v, sig, data, sizeof(data));
}
