/* Fuzzes the bech32/bech32m, segwit and arbor address decoders. Invariants:
 * a decoded string re-encodes to its lowercase form; a decoded address
 * re-encodes to the same lowercase address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/bech32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[128], hrp[84], re[128], low[128];
    uint8_t d[ARB_BECH32_MAX_LEN], prog[40], key[32];
    size_t n, plen;
    arb_bech32_variant v;
    arb_errbuf eb;
    int ver;

    if (size >= sizeof s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (strlen(s) != size)
        return 0;
    for (size_t i = 0; i <= size; i++)
        low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    if (arb_bech32_decode(hrp, d, &n, &v, s, &eb) == ARB_OK) {
        if (!arb_bech32_encode(re, sizeof re, hrp, d, n, v) || strcmp(re, low) != 0)
            abort();
        if (arb_segwit_addr_decode(&ver, prog, &plen, hrp, s, &eb) == ARB_OK) {
            if (!arb_segwit_addr_encode(re, sizeof re, hrp, ver, prog, plen) ||
                strcmp(re, low) != 0)
                abort();
        }
        if (arb_address_decode(key, hrp, s, &eb) == ARB_OK) {
            if (!arb_address_encode(re, hrp, key) || strcmp(re, low) != 0)
                abort();
        }
    }
    return 0;
}
