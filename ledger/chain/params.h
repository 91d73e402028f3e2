/* Network parameter sets: `main`, `test`, `regtest` for the arbor ledger, and
 * `bitcoin`, Bitcoin mainnet's header rules (used to audit real Bitcoin
 * headers; it has no arbor genesis block or ledger).
 *
 * The sets are static constants; arb_chain_params_get returns a pointer to
 * one. Thread-safe. See docs/ledger.md for the values and their reasons. */
#ifndef ARB_CHAIN_PARAMS_H
#define ARB_CHAIN_PARAMS_H

#include <stdint.h>

#include "ledger/chain/block.h"
#include "ledger/chain/pow.h"

typedef struct arb_chain_params {
    const char *name;
    uint8_t magic[4];           /* first bytes of every peer message */
    const char *hrp;            /* address prefix; NULL for `bitcoin` */
    int has_ledger;             /* 0: header rules only (`bitcoin`) */
    uint8_t pow_limit[32];      /* largest allowed target, big-endian */
    uint32_t target_spacing;    /* seconds per block */
    uint32_t target_timespan;   /* seconds per retarget period */
    uint32_t retarget_interval; /* blocks per period = timespan / spacing */
    int no_retarget;            /* 1: bits never change (regtest) */
    uint32_t halving_interval;  /* blocks between subsidy halvings */
    uint32_t coinbase_maturity; /* confirmations before a coinbase output may be spent */
    int64_t max_future_time;    /* a header's time may be at most now + this (seconds) */
    uint32_t bip34_height, bip66_height, bip65_height; /* `bitcoin`: version floors 2/3/4 */
    /* Genesis block (arb_chain_genesis builds it from these). */
    int32_t genesis_version;
    uint32_t genesis_time;
    uint32_t genesis_bits;
    uint32_t genesis_nonce;
    const char *genesis_msg;  /* carried in the coinbase's free 64-byte slot */
    const char *genesis_hash; /* display hex; checked by the tests */
} arb_chain_params;

/* Returns the set named "main", "test", "regtest" or "bitcoin", or NULL. */
const arb_chain_params *arb_chain_params_get(const char *name);
void arb_chain_pow_limit(const arb_chain_params *p, arb_u256 *out);
/* The genesis block hash (wire byte order). */
void arb_chain_genesis_hash(const arb_chain_params *p, arb_hash *out);
/* The network id every signature hash commits to: the genesis block hash. */
void arb_chain_network_id(const arb_chain_params *p, arb_hash *out);
/* Block subsidy at height: 50 coins halved every halving_interval blocks
 * (shifts of 64 or more give zero). */
uint64_t arb_chain_subsidy(const arb_chain_params *p, uint32_t height);

/* The key the genesis coinbase pays: SHA-256("arbor genesis output"). Nobody
 * knows a secret key for it, and the genesis coinbase is never added to the
 * UTXO set (as in Bitcoin). */
void arb_chain_genesis_key(arb_sha256 *sha, uint8_t key32[static 32]);
/* Builds the genesis block of an arbor network with the given nonce (the
 * parameter set's genesis_nonce for the real one). Returns ARB_OK,
 * ARB_ERR_NOMEM, or ARB_ERR_INVALID_ARG for `bitcoin`. */
arb_err arb_chain_genesis_build(const arb_chain_params *p, arb_sha256 *sha, uint32_t nonce,
                                arb_block *out) ARB_WARN_UNUSED;

#endif
