/* Transactions: codec, txid and the signature hash.
 *
 * Serialization (integers little-endian, counts as CompactSize):
 *   version      u32
 *   n_in         CompactSize, 1 <= n_in <= ARB_TX_MAX_INPUTS
 *   inputs       n_in x (prev txid 32 bytes, prev output index u32)
 *   n_out        CompactSize, 1 <= n_out <= ARB_TX_MAX_OUTPUTS
 *   outputs      n_out x (amount u64 <= ARB_MAX_MONEY, x-only key 32 bytes)
 *   lock_time    u32
 *   payload_type u8; 0 = no payload; otherwise CompactSize length
 *                (<= ARB_TX_MAX_PAYLOAD) and that many bytes
 *   signatures   n_in x 64 bytes (BIP340), in input order
 *
 * txid = SHA-256d(serialization without the signatures); the block's merkle
 * leaf is the full serialization. A coinbase has exactly one input whose prev
 * txid is all zero and whose prev index is the block height; its 64-byte
 * signature slot is free data (extra nonce, message) and is not checked.
 *
 * Decoding is exact: trailing bytes, non-minimal CompactSize, counts of zero or
 * above the caps, amounts above ARB_MAX_MONEY and a zero-length payload with a
 * non-zero type are parse errors. Thread-safe (no shared state). */
#ifndef ARB_CHAIN_TX_H
#define ARB_CHAIN_TX_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/buf.h"
#include "merkle/error.h"
#include "merkle/hash.h"

#define ARB_COIN 100000000ULL
#define ARB_MAX_MONEY (21000000ULL * ARB_COIN)
#define ARB_TX_MAX_INPUTS 10000
#define ARB_TX_MAX_OUTPUTS 10000
/* Codec bound on a payload; consensus bounds each type below it (names: their
 * decoder; log anchors: ARB_ANCHOR_PAYLOAD_MAX; the state root: exactly 32). */
#define ARB_TX_MAX_PAYLOAD 4096
/* Payload types: 1-10 name operations (ledger/names/nameop.h), 11 log anchor
 * (ledger/anchor/anchor.h), 12 the state root (coinbase only, 32 bytes: the
 * root of the state sparse Merkle tree after the block). */
#define ARB_PAYLOAD_STATE_ROOT 12
#define ARB_STATE_ROOT_SIZE 32
#define ARB_SIG_SIZE 64
#define ARB_KEY_SIZE 32
/* Lock times below this are block heights, at or above it Unix times (Bitcoin's rule). */
#define ARB_LOCKTIME_THRESHOLD 500000000U

typedef struct {
    arb_hash txid;
    uint32_t index;
} arb_outpoint;

typedef struct {
    uint64_t amount;
    uint8_t key[ARB_KEY_SIZE]; /* BIP340 x-only public key */
} arb_txout;

typedef struct {
    uint32_t version;
    size_t n_in;
    arb_outpoint *in;               /* n_in entries */
    uint8_t (*sig)[ARB_SIG_SIZE];   /* n_in entries */
    size_t n_out;
    arb_txout *out;                 /* n_out entries */
    uint32_t lock_time;
    uint8_t payload_type;           /* 0: none */
    size_t payload_len;
    uint8_t *payload;
} arb_tx;

/* Zeroes tx (a valid empty transaction to fill or decode into). */
void arb_tx_init(arb_tx *tx);
/* Frees the arrays and zeroes tx; NULL is fine. */
void arb_tx_clear(arb_tx *tx);
/* Allocates n_in inputs (with signature slots) and n_out outputs, zeroed.
 * Returns ARB_OK or ARB_ERR_NOMEM / ARB_ERR_INVALID_ARG (over the caps). */
arb_err arb_tx_alloc(arb_tx *tx, size_t n_in, size_t n_out) ARB_WARN_UNUSED;
/* Copies src into dst (deep). dst is overwritten (not cleared first). */
arb_err arb_tx_copy(arb_tx *dst, const arb_tx *src) ARB_WARN_UNUSED;

/* Appends the serialization (with_sigs: 1 full, 0 without signatures).
 * Check b->oom afterwards. */
void arb_tx_write(arb_buf *b, const arb_tx *tx, int with_sigs);
/* Reads one transaction from the cursor (advancing it). On failure returns
 * ARB_ERR_PARSE (reason in eb) or ARB_ERR_NOMEM, and tx is left empty. tx
 * must be initialized; its previous contents are freed. */
arb_err arb_tx_read(arb_cur *c, arb_tx *tx, arb_errbuf *eb) ARB_WARN_UNUSED;
/* Decodes exactly len bytes (trailing bytes are an error). */
arb_err arb_tx_decode(arb_tx *tx, const uint8_t *data, size_t len, arb_errbuf *eb) ARB_WARN_UNUSED;

/* txid = SHA-256d(serialization without signatures). Returns ARB_OK or NOMEM. */
arb_err arb_tx_txid(arb_sha256 *sha, arb_hash *out, const arb_tx *tx) ARB_WARN_UNUSED;
/* Size of the full serialization in bytes. */
size_t arb_tx_size(const arb_tx *tx);
/* Returns 1 if tx has the coinbase shape: one input with an all-zero prev txid. */
int arb_tx_is_coinbase(const arb_tx *tx);

/* The signature hash of input `index` (0 <= index < n_in):
 *   tagged_hash("arbor/sighash",
 *       network_id (32) || SHA-256(tx without signatures) (32) ||
 *       index (u32) || SHA-256(for every input i: spent[i].amount (u64) || spent[i].key (32)))
 * with BIP340's tagged hash. The two inner hashes are the same for every
 * input, so signing or checking all inputs is linear in the transaction size
 * (BIP341 hashes its shared parts for the same reason). `spent` has n_in
 * entries: the outputs the inputs spend. Returns ARB_OK or NOMEM. */
#define ARB_SIGHASH_TAG "arbor/sighash"
typedef struct {
    uint8_t tx_hash[32];    /* SHA-256(tx without signatures) */
    uint8_t spent_hash[32]; /* SHA-256 of the spent outputs' amounts and keys */
} arb_sighash_cache;
arb_err arb_tx_sighash_prepare(arb_sha256 *sha, arb_sighash_cache *cache, const arb_tx *tx,
                               const arb_txout *spent) ARB_WARN_UNUSED;
void arb_tx_sighash(arb_sha256 *sha, uint8_t out32[static 32], const arb_hash *network_id,
                    const arb_sighash_cache *cache, uint32_t index);

#endif
