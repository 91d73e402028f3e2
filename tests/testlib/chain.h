/* The chain of a running regtest arbord, driven over HTTP for integration
 * tests: keys with one coin each, blocks mined from the node's own template,
 * and transactions built and signed here (ledger/chain) and POSTed to
 * /chain/v1/tx.
 *
 *   arb_tl_chain c = {H, S, P, 20000};
 *   arb_tl_actor a;
 *   arb_tl_actor_new(&c, &a);
 *   arb_tl_mine(node, a.addr, ARB_TL_MINE_STRICT);   // height or 0
 *
 * Not thread-safe: arb_tl_post_op answers in a static buffer. */
#ifndef ARB_TESTS_TESTLIB_CHAIN_H
#define ARB_TESTS_TESTLIB_CHAIN_H

#include <stdint.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/consensus.h"
#include "tests/testlib/http.h"

/* What signing needs, borrowed for the test's life. */
typedef struct {
    arb_sha256 *sha;
    arb_schnorr *schnorr;
    const arb_chain_params *params;
    uint64_t fee; /* the fee each arb_tl_op_tx pays */
} arb_tl_chain;

/* A key and its one coin, spent and replaced by each transaction. */
typedef struct {
    uint8_t sk[32], pk[32];
    char addr[ARB_ADDR_MAX];
    arb_outpoint coin;
    uint64_t amount;
} arb_tl_actor;

/* A fresh random key (tests/test.h's seeded random source) with no coin. */
void arb_tl_actor_new(const arb_tl_chain *c, arb_tl_actor *a);

/* The node's tip height, or 0 when it does not answer. */
uint32_t arb_tl_tip_height(arb_tl_http_opts o);

enum {
    /* Check that the template's state_root is its coinbase's, and count a
     * refused block as a test failure (with the node's reason). */
    ARB_TL_MINE_STRICT = 1,
};

/* Mines the node's block template paying addr (the nonce ground here) and
 * POSTs it to /chain/v1/block. Returns the block's height, or 0 when there
 * is no template, it does not decode or mine, or the node refuses it. */
uint32_t arb_tl_mine(arb_tl_http_opts o, const char *addr, unsigned flags);

/* Mines (ARB_TL_MINE_STRICT) until the node's tip is at least height; a
 * block not mined is a test failure and stops it. */
void arb_tl_mine_to(arb_tl_http_opts o, const char *addr, uint32_t height);

/* A transaction of a: a's coin in, the change (coin - burn - fee) back to a
 * in output 0, and the payload (type 0: none), signed. Not posted; the
 * caller clears tx. Aborts if memory runs out or signing fails. */
void arb_tl_op_tx(const arb_tl_chain *c, arb_tx *tx, const arb_tl_actor *a, uint8_t type,
                  const uint8_t *pl, size_t plen, uint64_t burn);

/* POSTs tx of a and clears tx. Returns "ok" (and a's coin moves to the
 * change, output 0) or the node's reason ("" when it gave none), in a static
 * buffer that the next call overwrites. */
const char *arb_tl_post_op(const arb_tl_chain *c, arb_tl_http_opts o, arb_tl_actor *a,
                           arb_tx *tx);

#endif
