/* merkle/pkey.h: which keys count as P-256, and the SPKI key ID checked
 * against SHA-256 of OpenSSL's own DER encoding, and against a real log's
 * published key and log ID from the shared vectors. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "merkle/buf.h"
#include "merkle/pkey.h"
#include "tests/test.h"

static void test_curves(void)
{
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    uint8_t id[32], want[32], *der = NULL, *mine = NULL;
    size_t len = 0;
    unsigned int ml = 0;
    int n;

    CHECK(p256 != NULL && p384 != NULL && ed != NULL);
    CHECK(arb_pkey_is_p256(p256));
    CHECK(!arb_pkey_is_p256(p384));
    CHECK(!arb_pkey_is_p256(ed));
    CHECK(arb_pkey_spki(p256, &der, &len, id) == ARB_OK);
    n = i2d_PUBKEY(p256, &mine);
    CHECK(n > 0 && (size_t)n == len && memcmp(der, mine, len) == 0);
    CHECK(EVP_Digest(mine, (size_t)n, want, &ml, EVP_sha256(), NULL) == 1);
    CHECK_MEM(id, want, 32);
    memset(id, 0, 32);
    CHECK(arb_pkey_spki(p256, NULL, NULL, id) == ARB_OK);
    CHECK_MEM(id, want, 32);
    free(der);
    OPENSSL_free(mine);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
}

/* The retired Google Pilot log: its public key file and its published log ID. */
static void test_real_log_id(void)
{
    size_t n = 0, hl = 0;
    uint8_t *pem = arb_test_read_vector("ct/certs/google-ct-pilot-server-key-public.pem", &n);
    uint8_t *js = arb_test_read_vector("ct/real_sth_pilot.json", &hl), id[32], want[32];
    const char *hex;
    EVP_PKEY *k = NULL;
    BIO *bio;

    CHECK(pem != NULL && js != NULL);
    if (pem == NULL || js == NULL)
        goto out;
    bio = BIO_new_mem_buf(pem, (int)n);
    k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    CHECK(k != NULL && arb_pkey_is_p256(k));
    static const char key[] = "\"log_id_hex\": \"";
    hex = strstr((const char *)js, key);
    CHECK(hex != NULL);
    if (k == NULL || hex == NULL)
        goto out;
    CHECK(arb_hex_decode(want, 32, hex + strlen(key), 64));
    CHECK(arb_pkey_spki(k, NULL, NULL, id) == ARB_OK);
    CHECK_MEM(id, want, 32);
out:
    EVP_PKEY_free(k);
    free(pem);
    free(js);
}

int main(void)
{
    arb_test_seed_init();
    test_curves();
    test_real_log_id();
    return arb_test_done();
}
