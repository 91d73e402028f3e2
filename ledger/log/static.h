/* The C2SP static-ct-api formats over the same tree as the RFC 6962 API:
 * the leaf_index CT extension, data-tile entries (TileLeaf), issuer
 * fingerprints, and checkpoints signed with an RFC6962NoteSignature
 * (signed-note signature type 0x05).
 *
 * arbor puts the leaf_index extension into every SCT and MerkleTreeLeaf it
 * issues, so one tree serves both APIs: an RFC 6962 client sees an ordinary
 * CtExtensions value, a static-ct-api client finds the index it needs.
 * Pure functions, thread-safe; decoded structures are views into the input. */
#ifndef ARB_LEDGER_LOG_STATIC_H
#define ARB_LEDGER_LOG_STATIC_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/log/ct.h"
#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "merkle/error.h"

/* The extensions value holding only leaf_index: type 0, length 5, uint40. */
#define ARB_CT_LEAF_INDEX_EXT_SIZE 8
#define ARB_CT_LEAF_INDEX_MAX ((UINT64_C(1) << 40) - 1)

/* Writes the 8-byte CtExtensions body for index (0 <= index < 2^40). */
void arb_ct_leaf_index_ext(uint8_t out8[static 8], uint64_t index);
/* Finds the leaf_index extension in a CtExtensions body. Returns ARB_OK,
 * ARB_ERR_PARSE (malformed list, repeated or wrongly sized leaf_index) or
 * ARB_ERR_NOT_FOUND. */
arb_err arb_ct_leaf_index_find(uint64_t *index, const uint8_t *ext, size_t ext_len) ARB_WARN_UNUSED;

/* One entry of a data tile:
 *   struct { TimestampedEntry timestamped_entry;
 *            select (entry_type) { case x509_entry: Empty;
 *                                  case precert_entry: ASN.1Cert pre_certificate; };
 *            Fingerprint certificate_chain<0..2^16-1>; } TileLeaf;
 * with Fingerprint = opaque[32], the SHA-256 of each chain certificate's DER. */
typedef struct {
    arb_ct_leaf leaf;       /* timestamp, signed entry, extensions */
    const uint8_t *precert; /* precert_entry only: the submitted precertificate DER */
    size_t precert_len;
    const uint8_t *fingerprints; /* n_fingerprints * 32 bytes */
    size_t n_fingerprints;
} arb_ct_tile_leaf;

arb_err arb_ct_tile_leaf_encode(arb_buf *out, const arb_ct_tile_leaf *t) ARB_WARN_UNUSED;
/* Reads one TileLeaf from c (a data tile is a concatenation of them). On
 * failure returns ARB_ERR_PARSE and leaves c unchanged. */
arb_err arb_ct_tile_leaf_read(arb_ct_tile_leaf *out, arb_cur *c) ARB_WARN_UNUSED;
/* The MerkleTreeLeaf hash of a TileLeaf (same as the RFC 6962 leaf hash). */
arb_err arb_ct_tile_leaf_hash(arb_sha256 *h, arb_hash *out, const arb_ct_tile_leaf *t) ARB_WARN_UNUSED;

/* The signed-note key ID of an RFC6962NoteSignature:
 * SHA-256(origin || "\n" || 0x05 || log_id)[:4]. */
void arb_ct_note_key_id(uint8_t out4[static 4], const char *origin, const uint8_t log_id[static 32]);

/* A checkpoint (C2SP tlog-checkpoint) signed by the log:
 *   "<origin>\n<size>\n<base64 root>\n\n— <origin> <base64 sig>\n"
 * where sig = key ID (4) || timestamp (uint64 ms) || TreeHeadSignature
 * (digitally-signed, as in the RFC 6962 STH). The text is malloc'd and
 * NUL-terminated. origin must be non-empty, printable, without spaces or '+'. */
arb_err arb_ct_checkpoint_sign(char **text, size_t *text_len, const arb_ct_signer *s,
                               const char *origin, uint64_t timestamp, uint64_t tree_size,
                               const uint8_t root32[static 32]) ARB_WARN_UNUSED;
/* Verifies a checkpoint: the body's origin must equal origin, and one
 * signature line of the note must be an RFC6962NoteSignature by v under that
 * name (other signatures, e.g. witness cosignatures, are ignored). Outputs the
 * tree size, root and the signed timestamp. Returns ARB_OK, ARB_ERR_PARSE or
 * ARB_ERR_VERIFY. */
arb_err arb_ct_checkpoint_verify(const arb_ct_verifier *v, const char *origin, const char *text,
                                 size_t text_len, uint64_t *tree_size, uint8_t root32[static 32],
                                 uint64_t *timestamp) ARB_WARN_UNUSED;

#endif
