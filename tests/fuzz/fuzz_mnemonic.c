/* Fuzzes mnemonic and derivation-path parsing. Invariants: an accepted
 * mnemonic's entropy gives a canonical mnemonic that parses to the same
 * entropy; an accepted path has at most 255 levels. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wallet/bip32.h"
#include "wallet/bip39.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t ent[32], ent2[32];
    size_t el = 0, el2 = 0, n = 0;
    char *s, mn[ARB_BIP39_MNEMONIC_MAX];
    uint32_t idx[ARB_BIP32_MAX_DEPTH];
    arb_errbuf eb;

    if (size > 4096)
        return 0;
    s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (arb_bip39_to_entropy(ent, &el, s, &eb) == ARB_OK) {
        if (arb_bip39_from_entropy(mn, sizeof(mn), ent, el) != ARB_OK)
            abort();
        if (arb_bip39_to_entropy(ent2, &el2, mn, &eb) != ARB_OK || el2 != el ||
            memcmp(ent, ent2, el) != 0)
            abort();
    }
    if (arb_bip32_path_parse(idx, ARB_BIP32_MAX_DEPTH, &n, s, &eb) == ARB_OK &&
        n > ARB_BIP32_MAX_DEPTH)
        abort();
    free(s);
    return 0;
}
