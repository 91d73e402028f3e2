/* The key context behind arb_keyctx: a randomized libsecp256k1 context. Kept
 * out of the public headers so libsecp256k1 types stay private. */
#ifndef ARB_WALLET_KEYCTX_INTERNAL_H
#define ARB_WALLET_KEYCTX_INTERNAL_H

#include <secp256k1.h>

#include "wallet/bip32.h"

struct arb_keyctx {
    secp256k1_context *secp;
};

#endif
