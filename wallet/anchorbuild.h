/* The log-anchor payload as the wallet builds it (`arbor-wallet anchor`):
 * a log's key, its signed tree head (RFC 6962 4.3 get-sth, signature
 * checked here) and the consistency proof (RFC 6962 4.4) from the head the
 * chain last anchored, encoded with ledger/anchor/anchor.h and checked with
 * the chain's own rule (arb_anchor_check) before it is sent, so that a split
 * view is refused locally. Pure: no network.
 *
 * Thread-safe for distinct arguments. */
#ifndef ARB_WALLET_ANCHORBUILD_H
#define ARB_WALLET_ANCHORBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/anchor/anchor.h"
#include "merkle/buf.h"
#include "merkle/error.h"
#include "merkle/hash.h"

/* A signed tree head as the log served it. */
typedef struct {
    uint64_t tree_size;
    uint64_t timestamp; /* milliseconds */
    uint8_t root[32];
    uint8_t hash_alg, sig_alg;
    uint8_t sig[ARB_ANCHOR_SIG_MAX];
    size_t sig_len;
} arb_wallet_sth;

/* The DER SubjectPublicKeyInfo of a P-256 key in PEM (a "PUBLIC KEY", or a
 * private key whose public half is taken). *der is malloc'd. Returns ARB_OK,
 * ARB_ERR_PARSE (not a PEM key, not P-256) or ARB_ERR_NOMEM. */
arb_err arb_wallet_spki_from_pem(uint8_t **der, size_t *der_len, const char *pem, size_t pem_len,
                                 arb_errbuf *eb) ARB_WARN_UNUSED;

/* Parses a get-sth answer and verifies its signature (RFC 6962 3.5) under
 * the key spki. Returns ARB_OK; ARB_ERR_PARSE (malformed answer, a signature
 * longer than ARB_ANCHOR_SIG_MAX); ARB_ERR_VERIFY (bad signature: not this
 * log's head); ARB_ERR_NOMEM. */
arb_err arb_wallet_sth_parse(arb_wallet_sth *out, const char *text, size_t len,
                             const uint8_t *spki, size_t spki_len, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Parses a C2SP static-ct-api checkpoint (a signed note: origin, tree size,
 * root; signature lines) and takes the log's RFC6962NoteSignature under the
 * key spki: its timestamp and TreeHeadSignature are the tree head's, and the
 * signature is checked (arb_ct_checkpoint_verify, with the origin the
 * checkpoint names). *origin_out (may be NULL; size at least 256) receives
 * the origin. Returns ARB_OK; ARB_ERR_PARSE (malformed, no signature line of
 * this key, a signature longer than ARB_ANCHOR_SIG_MAX); ARB_ERR_VERIFY (the
 * signature does not verify); ARB_ERR_NOMEM. */
arb_err arb_wallet_checkpoint_parse(arb_wallet_sth *out, char *origin_out, const char *text,
                                    size_t len, const uint8_t *spki, size_t spki_len,
                                    arb_errbuf *eb) ARB_WARN_UNUSED;

/* Encodes the anchor of sth with proof[0..n_proof) and checks it as the
 * chain will at `height` against prev (the log's anchored head; NULL when
 * it has none). On ARB_OK payload holds the bytes. ARB_ERR_VERIFY: the
 * chain would refuse it, *reason is arb_anchor_check's (anchor-root-changed
 * and anchor-bad-consistency mean the log shows a tree that does not extend
 * the anchored one: a split view). ARB_ERR_INVALID_ARG: a field out of its
 * range; ARB_ERR_NOMEM. */
arb_err arb_wallet_anchor_build(arb_buf *payload, const uint8_t *spki, size_t spki_len,
                                const arb_wallet_sth *sth, const arb_hash *proof, size_t n_proof,
                                const arb_anchor_head *prev, uint32_t height, const char **reason,
                                arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
