#include "ledger/chain/params.h"

#include <stdlib.h>
#include <string.h>

#include "ledger/chain/header.h"

#define GENESIS_NONCE_MAIN 8427223
#define GENESIS_HASH_MAIN "0000006ac0c57e8b1c12a2e52b38a3ca715a7998841622ace9c3cf7a84f105e7"
#define GENESIS_NONCE_TEST 67254
#define GENESIS_HASH_TEST "0000502bd512c9a0d8c379ad443ed189a5639798272145cd7dce2c95691dc7a7"
#define GENESIS_NONCE_REGTEST 0
#define GENESIS_HASH_REGTEST "32154c3b3a035307776348296484458767b19802fd986f7fb2de28ba0a910498"

/* Genesis blocks were made by arb_chain_genesis_build with nonce 0, 1, 2, ...
 * and the first nonce whose hash meets genesis_bits was kept (the unit test
 * rebuilds each genesis, checks its hash against genesis_hash, and for the
 * cheap networks checks that no smaller nonce works). */
static const arb_chain_params PARAMS[] = {
    {
        .name = "main",
        .magic = {0xa1, 0xb0, 0x72, 0x01},
        .hrp = "arb",
        .has_ledger = 1,
        /* 2^232 - 1: bits 0x1e00ffff, 256 times easier than Bitcoin's start. */
        .pow_limit = {0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        .target_spacing = 600,
        .target_timespan = 14 * 24 * 3600,
        .retarget_interval = 2016,
        .halving_interval = 210000,
        .coinbase_maturity = 100,
        .max_future_time = 2 * 3600,
        .genesis_version = 1,
        .genesis_time = 1767225600, /* 2026-01-01T00:00:00Z */
        .genesis_bits = 0x1e00ffff,
        .genesis_nonce = GENESIS_NONCE_MAIN,
        .genesis_msg = "arbor main genesis 2026-01-01",
        .genesis_hash = GENESIS_HASH_MAIN,
    },
    {
        .name = "test",
        .magic = {0xa1, 0xb0, 0x72, 0x02},
        .hrp = "tarb",
        .has_ledger = 1,
        /* 2^240 - 1: bits 0x1f00ffff, about 65,536 hashes per block. */
        .pow_limit = {0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        .target_spacing = 600,
        .target_timespan = 14 * 24 * 3600,
        .retarget_interval = 2016,
        .halving_interval = 210000,
        .coinbase_maturity = 100,
        .max_future_time = 2 * 3600,
        .genesis_version = 1,
        .genesis_time = 1767225600,
        .genesis_bits = 0x1f00ffff,
        .genesis_nonce = GENESIS_NONCE_TEST,
        .genesis_msg = "arbor test genesis 2026-01-01",
        .genesis_hash = GENESIS_HASH_TEST,
    },
    {
        .name = "regtest",
        .magic = {0xa1, 0xb0, 0x72, 0x03},
        .hrp = "rarb",
        .has_ledger = 1,
        /* 2^255 - 1: bits 0x207fffff, half of all hashes qualify (Bitcoin regtest). */
        .pow_limit = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        .target_spacing = 600,
        .target_timespan = 14 * 24 * 3600,
        .retarget_interval = 2016,
        .no_retarget = 1,
        .halving_interval = 150, /* as Bitcoin's regtest */
        .coinbase_maturity = 100,
        .max_future_time = 2 * 3600,
        .genesis_version = 1,
        .genesis_time = 1767225600,
        .genesis_bits = 0x207fffff,
        .genesis_nonce = GENESIS_NONCE_REGTEST,
        .genesis_msg = "arbor regtest genesis 2026-01-01",
        .genesis_hash = GENESIS_HASH_REGTEST,
    },
    {
        .name = "bitcoin",
        .magic = {0xf9, 0xbe, 0xb4, 0xd9},
        .hrp = NULL,
        .has_ledger = 0,
        /* Bitcoin mainnet powLimit 2^224 - 1 (compact 0x1d00ffff). */
        .pow_limit = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        .target_spacing = 600,
        .target_timespan = 14 * 24 * 3600,
        .retarget_interval = 2016,
        .halving_interval = 210000,
        .coinbase_maturity = 100,
        .max_future_time = 2 * 3600,
        .bip34_height = 227931,
        .bip66_height = 363725,
        .bip65_height = 388381,
        .genesis_version = 1,
        .genesis_time = 1231006505,
        .genesis_bits = 0x1d00ffff,
        .genesis_nonce = 2083236893,
        .genesis_msg = NULL,
        .genesis_hash = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    },
};

const arb_chain_params *arb_chain_params_get(const char *name)
{
    for (size_t i = 0; i < sizeof PARAMS / sizeof PARAMS[0]; i++)
        if (strcmp(PARAMS[i].name, name) == 0)
            return &PARAMS[i];
    return NULL;
}

void arb_chain_pow_limit(const arb_chain_params *p, arb_u256 *out)
{
    arb_u256_from_be(out, p->pow_limit);
}

void arb_chain_genesis_hash(const arb_chain_params *p, arb_hash *out)
{
    if (!arb_chain_hash_from_hex(out, p->genesis_hash))
        memset(out, 0, sizeof *out);
}

void arb_chain_network_id(const arb_chain_params *p, arb_hash *out)
{
    arb_chain_genesis_hash(p, out);
}

uint64_t arb_chain_subsidy(const arb_chain_params *p, uint32_t height)
{
    uint32_t halvings = height / p->halving_interval;
    if (halvings >= 64)
        return 0;
    return (50 * ARB_COIN) >> halvings;
}

void arb_chain_genesis_key(arb_sha256 *sha, uint8_t key32[static 32])
{
    static const char label[] = "arbor genesis output";
    arb_sha256_digest(sha, key32, label, sizeof label - 1);
}

arb_err arb_chain_genesis_build(const arb_chain_params *p, arb_sha256 *sha, uint32_t nonce,
                                arb_block *out)
{
    arb_tx *cb;
    arb_err err;
    size_t mlen;

    arb_block_init(out);
    if (!p->has_ledger || p->genesis_msg == NULL)
        return ARB_ERR_INVALID_ARG;
    out->tx = calloc(1, sizeof *out->tx);
    if (out->tx == NULL)
        return ARB_ERR_NOMEM;
    out->n_tx = 1;
    cb = &out->tx[0];
    if ((err = arb_tx_alloc(cb, 1, 1)) != ARB_OK) {
        arb_block_clear(out);
        return err;
    }
    cb->version = 1;
    cb->in[0].index = 0; /* the height */
    mlen = strlen(p->genesis_msg);
    memcpy(cb->sig[0], p->genesis_msg, mlen < ARB_SIG_SIZE ? mlen : ARB_SIG_SIZE);
    cb->out[0].amount = arb_chain_subsidy(p, 0);
    arb_chain_genesis_key(sha, cb->out[0].key);
    out->header.version = p->genesis_version;
    out->header.time = p->genesis_time;
    out->header.bits = p->genesis_bits;
    out->header.nonce = nonce;
    if ((err = arb_block_merkle_root(sha, &out->header.merkle_root, out->tx, 1)) != ARB_OK) {
        arb_block_clear(out);
        return err;
    }
    return ARB_OK;
}
