/* Address codec over the bech32m primitives (see address.h). */
#include "wallet/address.h"

#include <string.h>

#include "wallet/bech32m.h"

const char *arb_wallet_network_hrp(const char *network)
{
    if (strcmp(network, "main") == 0)
        return "arb";
    if (strcmp(network, "test") == 0)
        return "tarb";
    if (strcmp(network, "regtest") == 0)
        return "rarb";
    return NULL;
}

arb_err arb_wallet_address_encode(char *out, size_t out_size, const char *hrp,
                                  const uint8_t key32[static 32])
{
    uint8_t d5[52];
    size_t n = 0;

    if (out_size > 0)
        out[0] = '\0';
    if (!arb_bech32_convert_bits(d5, sizeof(d5), &n, 5, key32, 32, 8, 1) || n != 52)
        return ARB_ERR_INTERNAL;
    return arb_bech32m_encode(out, out_size, hrp, d5, n);
}

arb_err arb_wallet_address_decode(uint8_t key32[static 32], const char *hrp, const char *addr)
{
    char h[84];
    uint8_t d5[90];
    size_t n = 0, kl = 0;
    arb_err err;

    memset(key32, 0, 32);
    err = arb_bech32m_decode(h, sizeof(h), d5, sizeof(d5), &n, addr);
    if (err != ARB_OK)
        return err;
    if (strcmp(h, hrp) != 0 || n != 52)
        return ARB_ERR_PARSE;
    if (!arb_bech32_convert_bits(key32, 32, &kl, 8, d5, n, 5, 0) || kl != 32) {
        memset(key32, 0, 32);
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}
