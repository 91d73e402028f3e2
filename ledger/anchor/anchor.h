/* Log anchors: the `log-anchor` transaction payload (a transparency log's
 * public key, a signed tree head and a consistency proof from the log's
 * previous anchored head), its strict codec, the pure check that the chain
 * applies to it, and the anchored-head record the state commitment holds.
 * docs/anchoring.md gives the bytes.
 *
 * Consensus applies it (ledger/chain/stateview.h, chainstate.c): a block
 * with an anchor that fails arb_anchor_check is invalid with its reason.
 *
 * The signature check is the log's own: arb_ct_sth_verify (ledger/log/key.h,
 * RFC 6962 3.5 TreeHeadSignature, ECDSA P-256), from the pure library
 * arb_logcore; the consistency proof is merkle/proof.h's verifier.
 * Pure functions, thread-safe with one arb_sha256 engine per thread. */
#ifndef ARB_ANCHOR_ANCHOR_H
#define ARB_ANCHOR_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/buf.h"
#include "merkle/error.h"
#include "merkle/hash.h"
#include "merkle/proof.h"
#include "merkle/smt.h"

/* The transaction payload type (ledger/names/nameop.h numbers 1-10). */
#define ARB_PAYLOAD_LOG_ANCHOR 11

/* Bounds of the encoding. A P-256 SubjectPublicKeyInfo is 91 bytes; an
 * ECDSA P-256 DER signature at most 72. */
#define ARB_ANCHOR_SPKI_MAX 256
#define ARB_ANCHOR_SIG_MAX 72
#define ARB_ANCHOR_PROOF_MAX ARB_MERKLE_MAX_PROOF /* 65 hashes */
/* The longest payload: 3 + 256 + 8 + 8 + 32 + 4 + 72 + 1 + 65 * 32. */
#define ARB_ANCHOR_PAYLOAD_MAX 2464

/* A decoded payload. spki and sig point into the decoded input. */
typedef struct {
    const uint8_t *spki; /* DER SubjectPublicKeyInfo, 1..ARB_ANCHOR_SPKI_MAX bytes */
    size_t spki_len;
    uint64_t tree_size;
    uint64_t timestamp;  /* milliseconds since the epoch, as in the STH */
    uint8_t root[32];
    uint8_t sig_hash_alg, sig_sig_alg; /* digitally-signed algorithms */
    const uint8_t *sig;  /* DER ECDSA signature, 0..ARB_ANCHOR_SIG_MAX bytes */
    size_t sig_len;
    size_t proof_len;    /* 0..ARB_ANCHOR_PROOF_MAX */
    arb_hash proof[ARB_ANCHOR_PROOF_MAX];
} arb_anchor;

/* Payload bytes (integers little-endian, as DESIGN.md's ledger formats):
 *   spki_len   CompactSize, 1..256
 *   spki       spki_len bytes
 *   tree_size  u64
 *   timestamp  u64
 *   root       32 bytes (sha256_root_hash)
 *   signature  RFC 5246 digitally-signed, as the log's STH carries it:
 *              hash_alg u8, sig_alg u8, u16 big-endian length (0..72), bytes
 *   proof_len  CompactSize, 0..65
 *   proof      proof_len x 32 bytes, RFC 6962 2.1.2 order
 * Appends to out. Returns ARB_OK, ARB_ERR_INVALID_ARG (a field out of its
 * range) or ARB_ERR_NOMEM. */
arb_err arb_anchor_encode(arb_buf *out, const arb_anchor *a) ARB_WARN_UNUSED;
/* Strict decoder: exactly the bytes above; non-minimal CompactSize, lengths
 * out of range and trailing bytes are ARB_ERR_PARSE (reason in eb, *a
 * zeroed). The key and the signature are not checked here. */
arb_err arb_anchor_decode(arb_anchor *a, const uint8_t *in, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* The anchored head of one log: what the state commitment holds. */
typedef struct {
    uint8_t log_id[32]; /* SHA-256 of the log's SubjectPublicKeyInfo */
    uint64_t tree_size;
    uint64_t timestamp;
    uint8_t root[32];
    uint32_t height;    /* block that anchored it */
} arb_anchor_head;

#define ARB_ANCHOR_REC_TYPE 4 /* after the name layer's record types 1-3 */
#define ARB_ANCHOR_REC_SIZE 85
/* Record: type u8 (4) || log_id 32 || tree_size u64 || timestamp u64 ||
 * root 32 || height u32, little-endian. */
void arb_anchor_head_encode(uint8_t out[static ARB_ANCHOR_REC_SIZE], const arb_anchor_head *hd);
arb_err arb_anchor_head_decode(arb_anchor_head *hd, const uint8_t *in, size_t len) ARB_WARN_UNUSED;

#define ARB_ANCHOR_KEY_TAG "arbor/anchor/key"
#define ARB_ANCHOR_RECORD_TAG "arbor/anchor/record"
/* State-commitment key: tagged_hash("arbor/anchor/key", log_id). Its
 * preimage begins with SHA-256 of the tag, whose bytes lie outside the name
 * alphabet, so it never equals a name key (SHA-256 of a full name). */
void arb_anchor_key(arb_sha256 *h, uint8_t key32[static 32], const uint8_t log_id32[static 32]);
/* Value hash: tagged_hash("arbor/anchor/record", record bytes). */
void arb_anchor_head_hash(arb_sha256 *h, arb_hash *out, const arb_anchor_head *hd);

/* The log ID of the payload's key: SHA-256 of the spki bytes. */
void arb_anchor_log_id(arb_sha256 *h, uint8_t out32[static 32], const arb_anchor *a);

/* Checks an anchor against the log's previous anchored head (prev NULL:
 * the log's first anchor) and fills *next with the new head at `height`.
 * The checks, in order, each with its reason:
 *   anchor-bad-key          spki is not a canonical DER P-256 key
 *   anchor-bad-signature    the STH signature does not verify (RFC 6962 3.5)
 *   anchor-empty-root       tree_size 0 with a root other than SHA-256("")
 *   anchor-size-decreased   tree_size < prev's
 *   anchor-timestamp-earlier timestamp < prev's
 *   anchor-duplicate        same tree_size and timestamp as prev
 *   anchor-root-changed     same tree_size as prev, another root (a fork)
 *   anchor-proof-unexpected a proof where none can exist (first anchor,
 *                           previous size 0, or same size)
 *   anchor-bad-consistency  the proof does not show prev's tree is a prefix
 * Returns ARB_OK; ARB_ERR_VERIFY with *reason; ARB_ERR_INVALID_ARG when prev
 * belongs to another log (a caller bug); ARB_ERR_NOMEM / ARB_ERR_CRYPTO. */
arb_err arb_anchor_check(arb_sha256 *h, const arb_anchor *a, const arb_anchor_head *prev,
                         uint32_t height, arb_anchor_head *next, const char **reason)
    ARB_WARN_UNUSED;

/* The two halves of arb_anchor_check, for callers that apply one anchor
 * more than once (the mempool's state view): arb_anchor_check_sig runs the
 * checks that depend on the payload alone (anchor-bad-key,
 * anchor-bad-signature: the ECDSA verification) and returns ARB_OK or
 * ARB_ERR_VERIFY with *reason; arb_anchor_check_verified runs the rest, the
 * checks against prev, for a payload that passed arb_anchor_check_sig
 * before. Together they decide exactly as arb_anchor_check. */
arb_err arb_anchor_check_sig(arb_sha256 *h, const arb_anchor *a, const char **reason)
    ARB_WARN_UNUSED;
arb_err arb_anchor_check_verified(arb_sha256 *h, const arb_anchor *a, const arb_anchor_head *prev,
                                  uint32_t height, arb_anchor_head *next, const char **reason)
    ARB_WARN_UNUSED;

/* The state-commitment change of an accepted anchor: set
 * arb_anchor_key(log ID) to arb_anchor_head_hash(next). */
void arb_anchor_tree_op(arb_sha256 *h, const arb_anchor_head *next, arb_smt_op *op);

#endif
