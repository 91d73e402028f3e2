/* Fuzzes the mempool file parser (arb_mempool_file_parse). The first input
 * byte picks a mode: even, the rest is the file as is (so the checksum and
 * header checks are hit); odd, the rest gets the regtest network id written
 * at its place and a correct checksum appended, so the record parser behind
 * the checksum is reached. Invariants: a file that parses yields exactly the
 * header's count of transactions, each re-encodes to the bytes it was read
 * from, and writing them back out gives a file that parses the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/mempool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    arb_buf out; /* the records re-encoded */
    uint64_t n;
} seen;

static int on_tx(void *ud, int64_t time, const arb_tx *tx)
{
    seen *s = ud;
    arb_buf_u64le(&s->out, (uint64_t)time);
    arb_buf_compact(&s->out, arb_tx_size(tx));
    arb_tx_write(&s->out, tx, 1);
    s->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    const arb_chain_params *p = arb_chain_params_get("regtest");
    arb_sha256 *sha;
    if (arb_sha256_new(&sha) != ARB_OK)
        return 0;
    size_t len = size - 1;
    uint8_t *file = malloc(len + 32 + 1);
    if (file == NULL) {
        arb_sha256_free(sha);
        return 0;
    }
    memcpy(file, data + 1, len);
    if (data[0] & 1) {
        if (len >= 44) {
            arb_hash net;
            arb_chain_network_id(p, &net);
            memcpy(file + 12, net.b, 32);
        }
        arb_sha256_digest(sha, file + len, file, len);
        len += 32;
    }
    seen s = {ARB_BUF_INIT, 0};
    arb_errbuf eb;
    arb_err err = arb_mempool_file_parse(p, sha, file, len, on_tx, &s, &eb);
    if (err == ARB_OK) {
        uint64_t count;
        memcpy(&count, file + 44, 8); /* little-endian hosts only, as the build */
        if (s.n != count || s.out.oom)
            abort();
        /* header + re-encoded records + checksum must parse to the same */
        if (s.out.len != len - 32 - 52 ||
            (s.out.len > 0 && memcmp(s.out.data, file + 52, s.out.len) != 0))
            abort();
        seen again = {ARB_BUF_INIT, 0};
        if (arb_mempool_file_parse(p, sha, file, len, on_tx, &again, &eb) != ARB_OK ||
            again.n != s.n)
            abort();
        arb_buf_free(&again.out);
    } else if (err != ARB_ERR_PARSE && err != ARB_ERR_NOMEM) {
        abort();
    } else if (s.n != 0) {
        abort(); /* a rejected file hands out nothing */
    }
    arb_buf_free(&s.out);
    free(file);
    arb_sha256_free(sha);
    return 0;
}
