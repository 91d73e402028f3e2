#include "p2p/diskfile.h"

#include <string.h>

#include "merkle/hash.h"

/* SHA-256 of d[0..n) with a hasher of its own. 1, or 0 when out of memory. */
static int sha256(uint8_t out[32], const uint8_t *d, size_t n)
{
    arb_sha256 *sha;
    if (arb_sha256_new(&sha) != ARB_OK)
        return 0;
    arb_sha256_digest(sha, out, d, n);
    arb_sha256_free(sha);
    return 1;
}

void arb_p2p_file_begin(arb_buf *out, const uint8_t magic[static 8], uint32_t version)
{
    arb_buf_put(out, magic, 8);
    arb_buf_u32le(out, version);
}

arb_err arb_p2p_file_seal(arb_buf *out, size_t start)
{
    uint8_t sum[32];
    if (out->oom || !sha256(sum, out->data + start, out->len - start))
        return ARB_ERR_NOMEM;
    arb_buf_put(out, sum, sizeof sum);
    return out->oom ? ARB_ERR_NOMEM : ARB_OK;
}

arb_err arb_p2p_file_open(arb_cur *body, const uint8_t *data, size_t len,
                          const uint8_t magic[static 8], uint32_t version, size_t min_body,
                          const char *what, arb_errbuf *eb)
{
    uint8_t sum[32];
    uint32_t v;
    arb_cur c;
    if (len < 8 + 4 + min_body + 32)
        return arb_errf(eb, ARB_ERR_PARSE, "%s: too short (%zu bytes)", what, len);
    if (memcmp(data, magic, 8) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "%s: bad magic", what);
    if (!sha256(sum, data, len - 32))
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if (memcmp(sum, data + len - 32, 32) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "%s: bad checksum", what);
    c = arb_cur_make(data + 8, len - 8 - 32);
    (void)arb_cur_u32le(&c, &v); /* the length was checked */
    if (v != version)
        return arb_errf(eb, ARB_ERR_PARSE, "%s: version %u", what, (unsigned)v);
    *body = c;
    return ARB_OK;
}
