/* Fuzzes the transaction decoder. Invariants: whatever decodes re-encodes to
 * exactly the input, has the size arb_tx_size reports, and hashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_tx tx;
    arb_errbuf eb;
    arb_tx_init(&tx);
    if (arb_tx_decode(&tx, data, size, &eb) == ARB_OK) {
        arb_buf b = ARB_BUF_INIT;
        arb_sha256 *sha;
        arb_hash id;
        arb_tx_write(&b, &tx, 1);
        if (b.oom || b.len != size || memcmp(b.data, data, size) != 0 || arb_tx_size(&tx) != size)
            abort();
        if (arb_sha256_new(&sha) == ARB_OK) {
            if (arb_tx_txid(sha, &id, &tx) != ARB_OK)
                abort();
            arb_sha256_free(sha);
        }
        arb_buf_free(&b);
    } else if (tx.n_in != 0 || tx.in != NULL || tx.out != NULL || tx.payload != NULL) {
        abort();
    }
    arb_tx_clear(&tx);
    return 0;
}
