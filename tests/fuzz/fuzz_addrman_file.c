/* Fuzzes the address book file parser (arb_addrman_parse, p2p/addrman.h).
 * The first input byte picks a mode: even, the rest is the file as is (the
 * checksum and header checks are hit); odd, the rest gets a correct checksum
 * appended, so the entry parser and the table placement behind it are
 * reached. Invariants: a parsed book is internally consistent, holds no more
 * entries than the file, and serializing and parsing it again gives the same
 * bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/hash.h"
#include "p2p/addrman.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_addrman *am = NULL, *am2 = NULL;
    arb_buf b = ARB_BUF_INIT, b2 = ARB_BUF_INIT;
    arb_errbuf eb;
    uint8_t *file;
    size_t len;
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
    if (arb_addrman_parse(&am, file, len, &eb) == ARB_OK) {
        if (am == NULL || !arb_addrman_check(am))
            abort();
        if (arb_addrman_size(am) > (len - 80) / 73)
            abort();
        if (arb_addrman_serialize(am, &b) != ARB_OK)
            abort();
        if (arb_addrman_parse(&am2, b.data, b.len, &eb) != ARB_OK)
            abort();
        if (arb_addrman_serialize(am2, &b2) != ARB_OK || b2.len != b.len ||
            memcmp(b.data, b2.data, b.len) != 0)
            abort();
    } else if (am != NULL) {
        abort();
    }
    arb_addrman_free(am);
    arb_addrman_free(am2);
    arb_buf_free(&b);
    arb_buf_free(&b2);
    free(file);
    return 0;
}
