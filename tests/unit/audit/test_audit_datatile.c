/* The auditor's data tile parser on real static-ct-api tiles (navigli2025h2:
 * a full tile and the partial tile 003.p/10): every entry parses, carries its
 * index, and hashes to the log's level-0 hash tile. Then tiles that must be
 * refused: another first index, a count that is too large or too small,
 * trailing bytes, a truncated tile, a damaged pre_certificate. */
#include <stdlib.h>
#include <string.h>

#include "auditor/datatile.h"
#include "merkle/hash.h"
#include "tests/test.h"

#define NAV "ct/static_ct/navigli2025h2_real/"

static arb_ct_tile_leaf out[256];

static void check_real(const char *data_rel, const char *hash_rel, uint64_t first, unsigned n)
{
    size_t dl, hl;
    uint8_t *d = arb_test_read_vector(data_rel, &dl), *hs = arb_test_read_vector(hash_rel, &hl);
    arb_sha256 *h = NULL;
    arb_errbuf eb;

    CHECK_OR(d != NULL && hs != NULL && hl == (size_t)n * 32 && arb_sha256_new(&h) == ARB_OK, );
    CHECK_EQ(arb_audit_data_tile_parse(out, d, dl, first, n, &eb), ARB_OK);
    for (unsigned i = 0; i < n; i++) {
        arb_hash lh;
        CHECK(arb_ct_tile_leaf_hash(h, &lh, &out[i]) == ARB_OK);
        CHECK_MEM(lh.b, hs + 32 * i, 32);
    }
    /* refused: wrong first index, too many or too few entries, trailing and
     * missing bytes */
    CHECK_EQ(arb_audit_data_tile_parse(out, d, dl, first + 1, n, &eb), ARB_ERR_PARSE);
    CHECK(strstr(eb.msg, "says it is entry") != NULL);
    CHECK(out[0].leaf.entry.cert == NULL);
    if (n < 256) {
        CHECK_EQ(arb_audit_data_tile_parse(out, d, dl, first, n + 1, &eb), ARB_ERR_PARSE);
    }
    CHECK_EQ(arb_audit_data_tile_parse(out, d, dl, first, n - 1, &eb), ARB_ERR_PARSE);
    CHECK(strstr(eb.msg, "bytes after") != NULL);
    CHECK_EQ(arb_audit_data_tile_parse(out, d, dl - 1, first, n, &eb), ARB_ERR_PARSE);
    CHECK_EQ(arb_audit_data_tile_parse(out, d, dl, first, 0, &eb), ARB_ERR_INVALID_ARG);
    CHECK_EQ(arb_audit_data_tile_parse(out, d, dl, first, 257, &eb), ARB_ERR_INVALID_ARG);
    arb_sha256_free(h);
    free(d);
    free(hs);
}

/* A pre_certificate whose DER is damaged (its outer length byte) is refused,
 * even though the TileLeaf framing is intact. */
static void check_bad_precert(void)
{
    size_t dl;
    uint8_t *d = arb_test_read_vector(NAV "tile/data/003.p/10", &dl);
    arb_errbuf eb;
    size_t off;

    CHECK_OR(d != NULL, );
    CHECK_OR(arb_audit_data_tile_parse(out, d, dl, 768, 10, &eb) == ARB_OK, );
    /* out[0].precert points into d: the SEQUENCE tag, then its length */
    off = (size_t)(out[0].precert - d);
    d[off] = 0x31; /* SET instead of SEQUENCE */
    CHECK_EQ(arb_audit_data_tile_parse(out, d, dl, 768, 10, &eb), ARB_ERR_PARSE);
    CHECK(strstr(eb.msg, "pre_certificate") != NULL);
    free(d);
}

int main(void)
{
    check_real(NAV "tile/data/003.p/10", NAV "tile/0/003.p/10", 768, 10);
    check_real(NAV "tile/data/001", NAV "tile/0/001", 256, 256);
    check_bad_precert();
    return arb_test_done();
}
