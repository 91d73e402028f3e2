/* Fuzzes the block decoder. Invariants: whatever decodes re-encodes to exactly
 * the input and its merkle root can be computed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_block blk;
    arb_errbuf eb;
    arb_block_init(&blk);
    if (arb_block_decode(&blk, data, size, &eb) == ARB_OK) {
        arb_buf b = ARB_BUF_INIT;
        arb_sha256 *sha;
        arb_hash root;
        arb_block_write(&b, &blk);
        if (b.oom || b.len != size || memcmp(b.data, data, size) != 0 ||
            arb_block_size(&blk) != size)
            abort();
        if (arb_sha256_new(&sha) == ARB_OK) {
            if (arb_block_merkle_root(sha, &root, blk.tx, blk.n_tx) != ARB_OK)
                abort();
            arb_sha256_free(sha);
        }
        arb_buf_free(&b);
    } else if (blk.n_tx != 0 || blk.tx != NULL) {
        abort();
    }
    arb_block_clear(&blk);
    return 0;
}
