/* Fuzzes the peer protocol's sendcmpct payload decoder (p2p/msg.h): whatever
 * decodes re-encodes to exactly the input; nothing else is accepted. */
#include <stdint.h>

#include "tests/fuzz/fuzz_p2p.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_p2p_payload(ARB_P2P_SENDCMPCT, data, size);
    return 0;
}
