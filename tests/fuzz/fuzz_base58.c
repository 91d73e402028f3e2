/* Fuzzes Base58, Base58Check, extended-key and address decoding.
 * Invariants: decoding then encoding gives the input back (Base58 is
 * canonical); a decoded extended key re-encodes to the same string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wallet/address.h"
#include "wallet/base58.h"
#include "wallet/bip32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static arb_keyctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t bin[ARB_BASE58_MAX_BYTES], key[32];
    char *s, *enc;
    size_t n = 0;
    arb_bip32_key k;
    arb_bip32_net net;
    arb_errbuf eb;

    if (size > 2 * ARB_BASE58_MAX_BYTES)
        return 0;
    if (ctx == NULL && arb_keyctx_new(&ctx) != ARB_OK)
        abort();
    s = malloc(size + 1);
    enc = malloc(3 * size + 16);
    if (s == NULL || enc == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    if (arb_base58_decode(bin, sizeof(bin), &n, s, size) == ARB_OK) {
        if (arb_base58_encode(enc, 3 * size + 16, bin, n) != ARB_OK || strcmp(enc, s) != 0)
            abort();
    }
    if (arb_base58check_decode(bin, sizeof(bin), &n, s, size) == ARB_OK) {
        if (arb_base58check_encode(enc, 3 * size + 16, bin, n) != ARB_OK || strcmp(enc, s) != 0)
            abort();
    }
    if (strlen(s) == size && arb_bip32_decode(ctx, &k, &net, s, &eb) == ARB_OK) {
        char x[ARB_BIP32_XKEY_MAX];
        if (arb_bip32_encode(x, sizeof(x), &k, net) != ARB_OK || strcmp(x, s) != 0)
            abort();
    }
    if (strlen(s) == size && arb_address_decode(key, "rarb", s, &eb) == ARB_OK) {
        char a[ARB_ADDR_MAX];
        if (!arb_address_encode(a, "rarb", key) || strcasecmp(a, s) != 0)
            abort();
    }
    free(s);
    free(enc);
    return 0;
}
