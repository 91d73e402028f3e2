/* Fuzzes the ban list file parser (arb_banlist_decode, p2p/banlist.h). The
 * first input byte picks a mode: even, the rest is the file as is (the
 * checksum and header checks are hit); odd, the rest gets a correct checksum
 * appended, so the entry parser is reached. Invariants: a parsed list has no
 * more entries than the file can hold, no zero address, no time <= 0, no
 * address twice, and encoding it gives back exactly the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/hash.h"
#include "p2p/banlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t zero[16];
    arb_ban_entry *v = NULL;
    arb_buf b = ARB_BUF_INIT;
    arb_errbuf eb;
    uint8_t *file;
    size_t len, n;
    if (size < 1 || size > (1u << 20))
        return 0;
    len = size - 1;
    file = malloc(len + 32 + 1);
    if (file == NULL)
        return 0;
    memcpy(file, data + 1, len);
    if (data[0] & 1) {
        arb_sha256 *sha;
        if (arb_sha256_new(&sha) != ARB_OK) {
            free(file);
            return 0;
        }
        arb_sha256_digest(sha, file + len, file, len);
        arb_sha256_free(sha);
        len += 32;
    }
    if (arb_banlist_decode(&v, &n, file, len, &eb) == ARB_OK) {
        if (n > ARB_BANLIST_MAX || (n > 0) != (v != NULL))
            abort();
        for (size_t i = 0; i < n; i++) {
            if (memcmp(v[i].ip16, zero, 16) == 0 || v[i].until <= 0)
                abort();
            for (size_t j = 0; j < i; j++)
                if (memcmp(v[i].ip16, v[j].ip16, 16) == 0)
                    abort();
        }
        if (arb_banlist_encode(&b, v, n) != ARB_OK || b.len != len ||
            memcmp(b.data, file, len) != 0)
            abort();
    } else if (v != NULL || n != 0) {
        abort();
    }
    free(v);
    arb_buf_free(&b);
    free(file);
    return 0;
}
