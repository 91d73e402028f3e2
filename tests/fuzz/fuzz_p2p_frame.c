/* Fuzzes the peer message framing and, through it, every payload decoder
 * (the type byte picks the decoder, as the node does). Invariants: a frame
 * that splits gives a payload inside the input of the length its header
 * states; every payload that decodes re-encodes to exactly its bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/params.h"
#include "p2p/msg.h"
#include "tests/fuzz/fuzz_p2p.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const arb_chain_params *p = arb_chain_params_get("regtest");
    uint8_t type;
    const uint8_t *pl;
    size_t plen;
    const char *reason;
    if (arb_p2p_frame_decode(data, size, p->magic, &type, &pl, &plen, &reason) != ARB_OK) {
        if (reason == NULL)
            abort();
        return 0;
    }
    if (pl != data + ARB_P2P_FRAME_HEADER || plen + ARB_P2P_FRAME_HEADER != size ||
        plen > ARB_P2P_MAX_MESSAGE)
        abort();
    /* The frame re-encodes to the input. */
    arb_buf b = ARB_BUF_INIT;
    arb_p2p_frame_begin(&b, p->magic, type);
    arb_buf_put(&b, pl, plen);
    if (arb_p2p_frame_end(&b) != ARB_OK || b.len != size || memcmp(b.data, data, size) != 0)
        abort();
    arb_buf_free(&b);
    fuzz_p2p_payload(type, pl, plen);
    return 0;
}
