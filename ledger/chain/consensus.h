/* Block and transaction consensus rules as pure functions. The chain state is
 * reached only through a UTXO lookup callback, so the node (RocksDB), the
 * mempool and the tests all run the very same checks.
 *
 * Every rejection carries one static reason string per rule, after Bitcoin
 * Core's (see docs/ledger.md for the full list):
 *   context-free, per transaction (arb_chain_check_tx):
 *     bad-txns-vin-empty, bad-txns-vout-empty, bad-txns-oversize,
 *     bad-txns-vout-toolarge, bad-txns-txouttotal-toolarge,
 *     bad-txns-inputs-duplicate, bad-txns-prevout-null, bad-txns-payload-type,
 *     bad-txns-payload-parse
 *   context-free, per block (arb_chain_check_block_basic):
 *     bad-blk-length, bad-cb-missing, bad-cb-multiple, bad-txnmrklroot,
 *     bad-txns-duplicate
 *   against the chain state (arb_chain_check_block):
 *     bad-cb-height, bad-cb-state-root-missing, bad-txns-nonfinal, bad-txns-inputs-missingorspent,
 *     bad-txns-premature-spend-of-coinbase, bad-txns-inputvalues-outofrange,
 *     bad-txns-in-belowout, bad-txns-burn-toolarge, bad-txns-fee-outofrange, bad-cb-amount, bad-txns-sig
 *
 * Payloads (tx.h): types 1-10 (name operations) and 11 (log anchor) in
 * non-coinbase transactions, each decoded by its strict decoder; type 12 (the
 * state root, 32 bytes) in the coinbase only, required at height >= 1. The
 * state rules of the payloads (ledger/names, ledger/anchor) and the value of
 * the root need the committed state and are checked by chainstate.c
 * (`bad-cb-state-root` and the operations' own reasons). Burns (name
 * operations 1, 5, 9): fee = inputs - outputs - burn.
 *
 * Header rules (proof of work, bits, time) are in hdrcheck.h. */
#ifndef ARB_CHAIN_CONSENSUS_H
#define ARB_CHAIN_CONSENSUS_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/block.h"
#include "ledger/chain/params.h"
#include "ledger/chain/schnorr.h"

/* An unspent output as the chain state knows it. */
typedef struct {
    uint64_t amount;
    uint8_t key[ARB_KEY_SIZE];
    uint32_t height; /* height of the block that created it */
    int coinbase;    /* 1 if created by a coinbase */
} arb_coin;

/* Returns 1 and fills *out when op is unspent in the state the block or
 * transaction builds on; 0 when it is missing or spent. Must be safe to call
 * from the calling thread only (the checks never call it from workers). */
typedef int (*arb_utxo_lookup_fn)(void *ud, const arb_outpoint *op, arb_coin *out);

typedef struct {
    const char *reason;  /* static reason string; NULL when the check passed */
    size_t tx_index;     /* failing transaction in the block (SIZE_MAX: none) */
    size_t in_index;     /* failing input (SIZE_MAX: none) */
    arb_errbuf detail;   /* one line for humans */
    uint64_t fees;       /* on success: total fees of the block or transaction */
} arb_check_result;

/* What the checks need besides the block: a hash engine (used only from the
 * calling thread), a BIP340 context (shared read-only with worker threads),
 * and how many threads verify signatures (1 = the calling thread only). */
typedef struct {
    arb_sha256 *sha;
    const arb_schnorr *schnorr;
    unsigned threads;
} arb_chain_checker;

/* Context-free transaction rules (CheckTransaction). coinbase_ok: 1 if tx is
 * allowed to have the coinbase shape (it is the block's first transaction).
 * Returns ARB_OK or ARB_ERR_VERIFY with res->reason. */
arb_err arb_chain_check_tx(const arb_tx *tx, int coinbase_ok, arb_check_result *res)
    ARB_WARN_UNUSED;

/* Context-free block rules (CheckBlock, without the header's proof of work):
 * size and count, coinbase placement, merkle root, duplicate txids, and every
 * transaction's arb_chain_check_tx. Returns ARB_OK, ARB_ERR_VERIFY or NOMEM. */
arb_err arb_chain_check_block_basic(const arb_chain_params *p, arb_sha256 *sha,
                                    const arb_block *b, arb_check_result *res) ARB_WARN_UNUSED;

/* All block rules: arb_chain_check_block_basic, then against the chain state
 * the block at `height` extends (mtp: median time past of its parent, for
 * lock times): coinbase height and amount, finality, inputs exist and are
 * unspent (outputs of earlier transactions in the same block count; spending
 * one output twice does not), coinbase maturity, amounts, and every
 * signature (BIP340 over arb_tx_sighash; spread over c->threads threads).
 * On success res->fees holds the total fees. */
arb_err arb_chain_check_block(const arb_chain_params *p, const arb_chain_checker *c,
                              const arb_block *b, uint32_t height, int64_t mtp,
                              arb_utxo_lookup_fn lookup, void *ud, arb_check_result *res)
    ARB_WARN_UNUSED;

/* What the block check learned, handed to the connect that follows it so the
 * txids are computed and the coins looked up once per block. */
typedef struct {
    arb_hash *txids;   /* n_tx entries */
    arb_coin *spent;   /* the coin each input of transactions 1 .. n_tx-1 spends, in order */
    uint8_t *in_block; /* per such input: 1 when an earlier transaction of the block made it */
    size_t n_spent;
} arb_block_view;
/* Frees what a view holds and zeroes it; NULL is fine. */
void arb_block_view_clear(arb_block_view *v);

/* Builds what the caller derives from a block that passed every rule but the
 * signatures (res may receive a reason). Returns ARB_OK or an error, which
 * arb_chain_check_block_ex returns when every signature verifies. */
typedef arb_err (*arb_block_build_fn)(void *ud, const arb_block_view *v, arb_check_result *res);

/* arb_chain_check_block, and then, when every rule but the signatures
 * passed: build(build_ud, view) on the calling thread while the signatures
 * are verified on c->threads worker threads (the calling thread joins them
 * when build returns). A failing signature gives bad-txns-sig whatever build
 * returned: the caller drops what it built. out (may be NULL) receives the
 * view on ARB_OK (the caller clears it with arb_block_view_clear; on an
 * error it is cleared here). build may be NULL. */
arb_err arb_chain_check_block_ex(const arb_chain_params *p, const arb_chain_checker *c,
                                 const arb_block *b, uint32_t height, int64_t mtp,
                                 arb_utxo_lookup_fn lookup, void *ud, arb_block_build_fn build,
                                 void *build_ud, arb_block_view *out, arb_check_result *res)
    ARB_WARN_UNUSED;

/* One non-coinbase transaction against the chain state for inclusion in the
 * block at `height` (mempool admission): context-free rules, finality,
 * inputs, maturity, amounts and signatures. res->fees receives the fee. */
arb_err arb_chain_check_tx_inputs(const arb_chain_params *p, const arb_chain_checker *c,
                                  const arb_tx *tx, uint32_t height, int64_t mtp,
                                  arb_utxo_lookup_fn lookup, void *ud, arb_check_result *res)
    ARB_WARN_UNUSED;

/* The same without the signature check, for transactions whose signatures
 * were verified before: the mempool re-admitting its own transactions and
 * those of disconnected blocks after a reorg (a signature commits to the
 * transaction and to the outputs it spends, which a reorg cannot change). */
arb_err arb_chain_check_tx_inputs_nosig(const arb_chain_params *p, const arb_chain_checker *c,
                                        const arb_tx *tx, uint32_t height, int64_t mtp,
                                        arb_utxo_lookup_fn lookup, void *ud,
                                        arb_check_result *res) ARB_WARN_UNUSED;

/* The amount tx burns: arb_nameop_burn of its name operation (types 1, 5, 9
 * of a payload that decodes), 0 otherwise. */
uint64_t arb_chain_tx_burn(const arb_tx *tx);
/* 1 with *out = the state root when cb carries a type-12 payload of 32
 * bytes, 0 (and *out zeroed) otherwise. */
int arb_chain_coinbase_root(const arb_tx *cb, arb_hash *out);

/* Signs input `index` of tx with seckey32 given the outputs every input
 * spends (n_in entries); writes tx->sig[index]. aux32 is BIP340 auxiliary
 * randomness (may be NULL). Returns ARB_OK, ARB_ERR_CRYPTO (bad key) or NOMEM. */
arb_err arb_chain_sign_input(const arb_chain_params *p, arb_sha256 *sha, const arb_schnorr *s,
                             arb_tx *tx, size_t index, const arb_txout *spent,
                             const uint8_t seckey32[static 32], const uint8_t *aux32)
    ARB_WARN_UNUSED;

/* A signature-check job and the parallel verifier the block check uses
 * (exposed for the benchmark). Returns the index of the first job that fails,
 * or SIZE_MAX if all verify. threads >= 1; if a thread cannot be started its
 * share runs on the calling thread. */
typedef struct {
    uint8_t msg[32];
    uint8_t sig[64];
    uint8_t key[32];
} arb_sig_job;
size_t arb_chain_verify_sigs(const arb_schnorr *s, const arb_sig_job *jobs, size_t n,
                             unsigned threads);

#endif
