#include "ledger/chain/schnorr.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

struct arb_schnorr {
    secp256k1_context *ctx;
};

arb_err arb_schnorr_new(arb_schnorr **out)
{
    arb_schnorr *s;
    uint8_t seed[32];

    *out = NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return ARB_ERR_NOMEM;
    s->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (s->ctx == NULL) {
        free(s);
        return ARB_ERR_NOMEM;
    }
    if (RAND_bytes(seed, sizeof seed) != 1 || !secp256k1_context_randomize(s->ctx, seed)) {
        OPENSSL_cleanse(seed, sizeof seed);
        arb_schnorr_free(s);
        return ARB_ERR_CRYPTO;
    }
    OPENSSL_cleanse(seed, sizeof seed);
    *out = s;
    return ARB_OK;
}

void arb_schnorr_free(arb_schnorr *s)
{
    if (s == NULL)
        return;
    secp256k1_context_destroy(s->ctx);
    free(s);
}

int arb_schnorr_pubkey(const arb_schnorr *s, uint8_t pub32[static 32],
                       const uint8_t seckey32[static 32])
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    int ok = secp256k1_keypair_create(s->ctx, &kp, seckey32) &&
             secp256k1_keypair_xonly_pub(s->ctx, &xpk, NULL, &kp) &&
             secp256k1_xonly_pubkey_serialize(s->ctx, pub32, &xpk);
    OPENSSL_cleanse(&kp, sizeof kp);
    if (!ok)
        memset(pub32, 0, 32);
    return ok;
}

int arb_schnorr_sign(const arb_schnorr *s, uint8_t sig64[static 64], const uint8_t *msg,
                     size_t msg_len, const uint8_t seckey32[static 32], const uint8_t *aux32)
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    secp256k1_schnorrsig_extraparams ep = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
    int ok;

    ep.ndata = (void *)(uintptr_t)aux32;
    ok = secp256k1_keypair_create(s->ctx, &kp, seckey32) &&
         secp256k1_schnorrsig_sign_custom(s->ctx, sig64, msg, msg_len, &kp, &ep) &&
         secp256k1_keypair_xonly_pub(s->ctx, &xpk, NULL, &kp) &&
         secp256k1_schnorrsig_verify(s->ctx, sig64, msg, msg_len, &xpk);
    OPENSSL_cleanse(&kp, sizeof kp);
    if (!ok)
        memset(sig64, 0, 64);
    return ok;
}

int arb_schnorr_verify(const arb_schnorr *s, const uint8_t sig64[static 64], const uint8_t *msg,
                       size_t msg_len, const uint8_t pub32[static 32])
{
    secp256k1_xonly_pubkey xpk;
    if (!secp256k1_xonly_pubkey_parse(s->ctx, &xpk, pub32))
        return 0;
    return secp256k1_schnorrsig_verify(s->ctx, sig64, msg, msg_len, &xpk);
}
