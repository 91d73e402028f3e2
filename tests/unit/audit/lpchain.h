/* A small regtest chain built in memory for light-client proof tests: real
 * mined headers, coinbases carrying the state root (payload type 12), a
 * state tree with name, namespace and anchored-head records, and a log-anchor
 * transaction signed with a freshly generated P-256 log key. Proof objects
 * are built from it the way a node answers `?proof=1`. */
#ifndef ARB_TESTS_UNIT_AUDIT_LPCHAIN_H
#define ARB_TESTS_UNIT_AUDIT_LPCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "auditor/lightproof.h"
#include "merkle/smt.h"

enum { LP_MAXB = 32, LP_MAXTX = 5 };

typedef struct {
    const arb_chain_params *p;
    arb_sha256 *sha;
    arb_smt_mem *mem;
    arb_smt_store st;
    uint32_t tip;                    /* height of the last block */
    arb_block_header hdr[LP_MAXB];
    arb_hash hash[LP_MAXB];
    arb_hash state[LP_MAXB];         /* state root after the block */
    size_t ntx[LP_MAXB];
    uint8_t *tx[LP_MAXB][LP_MAXTX];  /* full serializations; [0] the coinbase */
    size_t txlen[LP_MAXB][LP_MAXTX];
    /* The log whose head block `anchor_height` anchors (tx index 1). */
    uint8_t log_id[32];
    uint8_t spki[256];
    size_t spki_len;
    uint32_t anchor_height;
    arb_anchor_head head;
    struct arb_ct_signer *signer;    /* the log's key */
    uint8_t anchor_sig[4 + 72];      /* the anchored head's digitally-signed bytes */
    size_t anchor_sig_len;
    arb_hash leaves[7];              /* the anchored tree */
} lp_chain;

/* Builds genesis and blocks 1..tip: block 2 registers alice.test and the
 * namespace test (reveal 1, ready 2, lifetime 20), block anchor_h (>= 1)
 * carries an anchor of a 7-leaf log tree, and every block commits to its
 * state. Returns 1 on success. */
int lp_chain_build(lp_chain *c, uint32_t tip, uint32_t anchor_h);
void lp_chain_free(lp_chain *c);
/* The proof of key at the tip, with headers after the block at cp_height.
 * With anchor, adds the anchor transaction (and its count when with_count).
 * Returns NULL on failure. */
arb_lightproof *lp_chain_prove(lp_chain *c, const uint8_t key32[32], uint32_t cp_height,
                               int anchor, int with_count);
/* The raw headers 0..upto. malloc'd. */
uint8_t *lp_chain_raw_headers(const lp_chain *c, uint32_t upto, size_t *len);

#endif
