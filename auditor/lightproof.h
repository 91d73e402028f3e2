/* The light-client proof: a record of the chain's committed state (a name,
 * a namespace or a log's anchored head), or its absence, proved against
 * block headers alone. docs/anchoring.md ("Light-client proofs") gives the
 * JSON object that arbord answers with `?proof=1`:
 *
 *   headers after a checkpoint the user trusts, up to the tip at `height`
 *     -> the tip's merkle root
 *     -> the coinbase (RFC 6962 inclusion of leaf 0 among tx_count leaves)
 *     -> the coinbase's payload type 12: the state root after the block
 *     -> the sparse Merkle tree proof (merkle/smt.h) of `key` to `record`
 *        (or to nothing).
 * For a log's anchored head the object may also carry the anchor
 * transaction with its inclusion proof in an earlier block of the headers,
 * which shows the log-signed tree head behind the record.
 *
 * The headers are checked with the chain's own header rules
 * (ledger/chain/hdrcheck.h): linkage, proof of work against the bits and
 * the pow limit, retarget bits and median time wherever the ancestors are
 * known (from the user's known headers, the network's genesis, or earlier
 * headers of the proof), and the future-time bound.
 *
 * Pure code: no I/O, the caller gives the clock. Thread-safe with one
 * arb_sha256 engine per thread. */
#ifndef ARB_AUDITOR_LIGHTPROOF_H
#define ARB_AUDITOR_LIGHTPROOF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ledger/anchor/anchor.h"
#include "ledger/chain/header.h"
#include "ledger/chain/params.h"
#include "ledger/names/names.h"
#include "merkle/error.h"
#include "merkle/hash.h"
#include "merkle/proof.h"

#ifndef ARB_PAYLOAD_STATE_ROOT
/* Coinbase payload type of the state root (32 bytes). */
#define ARB_PAYLOAD_STATE_ROOT 12
#endif

#define ARB_LIGHTPROOF_VERSION 1
/* Most headers one proof may carry (32 MB of hex): a proof from an old
 * checkpoint longer than this is refused; name a more recent checkpoint. */
#define ARB_LIGHTPROOF_MAX_HEADERS 200000
/* Longest record: a name record (1 + 1 + 69 + 32 + 1 + 32 + 4 + 4 + 4 + 1 + 1). */
#define ARB_LIGHTPROOF_RECORD_MAX 256

/* A parsed proof object. Byte strings are owned by it. */
typedef struct {
    uint32_t version;
    arb_hash checkpoint;          /* wire order */
    size_t n_headers;
    arb_block_header *headers;    /* n_headers, in chain order */
    uint32_t height;              /* the tip's height */
    uint8_t *coinbase;            /* full serialization */
    size_t coinbase_len;
    uint64_t tx_count;
    size_t coinbase_proof_len;
    arb_hash coinbase_proof[ARB_MERKLE_MAX_PROOF];
    uint8_t key[32];
    int has_record;               /* 0: the proof claims absence */
    uint8_t record[ARB_LIGHTPROOF_RECORD_MAX];
    size_t record_len;
    uint8_t *smt_proof;
    size_t smt_proof_len;
    /* The latest anchor's transaction (anchor proofs only). */
    int has_anchor_tx;
    uint8_t *anchor_tx;
    size_t anchor_tx_len;
    uint64_t anchor_tx_index;
    uint64_t anchor_tx_count;     /* 0: not given (the verifier finds the tree size) */
    size_t anchor_tx_proof_len;
    arb_hash anchor_tx_proof[ARB_MERKLE_MAX_PROOF];
    uint32_t anchor_block_height;
} arb_lightproof;

/* Parses a proof object, or any object with one under "proof" (a lookup
 * answer). Strict: every field of docs/anchoring.md with its type, hex of
 * the right lengths, counts within their bounds. Returns ARB_OK with *out
 * (free with arb_lightproof_free), ARB_ERR_PARSE (reason in eb, *out NULL)
 * or ARB_ERR_NOMEM. */
arb_err arb_lightproof_from_json(arb_lightproof **out, const json_t *obj, arb_errbuf *eb)
    ARB_WARN_UNUSED;
/* The same from JSON text[0..len). */
arb_err arb_lightproof_parse(arb_lightproof **out, const char *text, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;
void arb_lightproof_free(arb_lightproof *lp);
/* The object back as JSON (the field names and encodings of the parser), or
 * NULL when out of memory. parse(to_json(p)) gives p again. */
json_t *arb_lightproof_to_json(const arb_lightproof *lp);

/* What the user trusts. */
typedef struct {
    const arb_chain_params *params; /* the network's header rules */
    arb_hash checkpoint;            /* a block the user trusts (wire order) */
    /* Optional: raw 80-byte headers the user holds (e.g. checked with
     * verify-headers), the first at known_start. They give the header rules
     * their context, and their last height is a floor for the proof's tip.
     * NULL: only the genesis header is known (when the checkpoint is it). */
    const uint8_t *known;
    size_t known_len;               /* multiple of 80 */
    uint32_t known_start;
    uint32_t min_height;            /* a tip below this is stale */
    int64_t now;                    /* Unix seconds, for the future-time rule */
} arb_lightproof_trust;

typedef struct {
    const char *reason;        /* NULL on success; otherwise a static reason code */
    char detail[256];          /* one line for the human */
    uint32_t checkpoint_height;
    uint32_t tip_height;
    arb_hash tip_hash;         /* wire order */
    uint32_t tip_time;
    arb_hash state_root;
    size_t headers_checked;    /* headers checked with every rule (ancestors known) */
    int present;               /* the record exists in the state */
    int rec_type;              /* ARB_NAMES_REC_NAME / _NAMESPACE / ARB_ANCHOR_REC_TYPE, 0 absent */
    arb_name_rec name;
    arb_namespace_rec ns;
    arb_anchor_head anchor;
    /* With an anchor transaction: the log key and the signed head it carries. */
    int anchor_tx_checked;
    uint8_t anchor_spki[ARB_ANCHOR_SPKI_MAX];
    size_t anchor_spki_len;
    uint8_t anchor_sig[4 + ARB_ANCHOR_SIG_MAX]; /* digitally-signed, as the STH carries it */
    size_t anchor_sig_len;
    arb_hash anchor_txid;
    arb_hash anchor_block_hash; /* wire order */
} arb_lightproof_result;

/* Verifies lp against what the user trusts. expect_key32 (may be NULL) is
 * the key the caller asked about (SHA-256 of the name, of the namespace id,
 * or arb_anchor_key of the log ID): the proof's key must be it. Every link
 * above is checked; then the record (when present) is decoded strictly and
 * its value hash proved, and the anchor transaction (when present) must be
 * a valid log-signed anchor in a block of the proof's chain that matches the
 * anchored-head record exactly.
 * Returns ARB_OK (res filled); ARB_ERR_VERIFY with res->reason one of
 *   checkpoint-unknown  neither the proof's checkpoint nor any of its
 *                       headers is the trusted checkpoint
 *   headers-conflict    the proof's headers differ from known ones at the
 *                       same height, or do not link
 *   header-<rule>       a header breaks a header rule (e.g. header-high-hash)
 *   stale               the tip is below min_height or the known headers
 *   tip-header-unknown  no headers (the checkpoint is the tip) and the
 *                       known headers lack the tip's
 *   coinbase-bad        not a coinbase of the tip's height
 *   coinbase-not-included  the inclusion proof does not reach the tip's root
 *   state-root-missing  the coinbase carries no type-12 payload of 32 bytes
 *   key-mismatch        the proof speaks of another key
 *   record-bad          the record does not decode, or names another key
 *   smt-proof-bad       the state proof does not reach the state root
 *   anchor-tx-bad       the anchor transaction is malformed or not log-signed
 *   anchor-tx-not-included  its inclusion proof does not reach its block
 *   anchor-mismatch     it does not carry the anchored head of the record
 * ARB_ERR_NOMEM. eb gets "reason: detail". */
arb_err arb_lightproof_verify(arb_sha256 *sha, const arb_lightproof *lp,
                              const arb_lightproof_trust *t, const uint8_t *expect_key32,
                              arb_lightproof_result *res, arb_errbuf *eb) ARB_WARN_UNUSED;

/* A name's standing at a height, after docs/names.md. */
typedef enum {
    ARB_LP_NAME_AVAILABLE = 0, /* no record, or a stale one (an earlier reveal's import) */
    ARB_LP_NAME_ACTIVE = 1,    /* resolves */
    ARB_LP_NAME_GRACE = 2,     /* expired, in its grace period (only the owner may renew) */
    ARB_LP_NAME_EXPIRED = 3,   /* past its grace period: anyone may register it */
    ARB_LP_NAME_REVOKED = 4
} arb_lp_name_status;

const char *arb_lp_name_status_str(arb_lp_name_status s);

/* The status of name record r (NULL: absent) at height, with its
 * namespace's record ns (NULL: not known; staleness is then not decided and
 * *ns_checked is 0). */
arb_lp_name_status arb_lp_name_status_at(const arb_names_params *np, const arb_name_rec *r,
                                         const arb_namespace_rec *ns, uint32_t height,
                                         int *ns_checked);

/* What a verified name lookup says. */
typedef struct {
    arb_lp_name_status status;
    int ns_checked;          /* the namespace record was proved too (staleness decided) */
    int ns_present;          /* the namespace exists */
    int never_expires;       /* lifetime 0 */
    uint64_t expires_at;     /* renewed_height + lifetime, unless never_expires */
    uint64_t grace_ends_at;  /* expires_at + grace period */
    int zonefile_checked;    /* the answer's zone file text hashed to the record's hash */
    int answer_checked;      /* an answer's claims were compared */
} arb_lp_name_view;

/* Verifies a name lookup for the full name `full`: lp must prove the key
 * SHA-256(full) (arb_lightproof_verify with every check above). nslp (may
 * be NULL) proves the namespace's record at the same tip, which decides
 * staleness (docs/names.md). answer (may be NULL) is the node's lookup answer
 * (GET /names/v1/name/{full}); its claims, where present, must be what the
 * proof shows: name, namespace, status, owner, address, zonefile_hash,
 * zonefile (its SHA-256), registered_height, renewed_height, expires_at,
 * grace_ends_at, imported. np: the network's name constants. Returns as
 * arb_lightproof_verify, with the further reasons
 *   name-invalid        full is not a valid full name
 *   namespace-proof-tip the namespace proof speaks for another block
 *   namespace-proof-bad the namespace proof fails (its detail follows)
 *   answer-disagrees    a claim of the answer differs from the proof
 *   namespace-unknown   the answer says "available" for a record the proof
 *                       holds, which only the namespace proof can decide.
 * res is the name's verification; view what it means at the tip. */
arb_err arb_lightproof_verify_name(arb_sha256 *sha, const char *full, const arb_lightproof *lp,
                                   const arb_lightproof *nslp, const json_t *answer,
                                   const arb_lightproof_trust *t, const arb_names_params *np,
                                   arb_lightproof_result *res, arb_lp_name_view *view,
                                   arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
