/* Signed notes (C2SP signed-note), their keys, and the three signature types
 * arbor speaks:
 *
 *   0x01  Ed25519 over the note text (c2sp.org/signed-note "Ed25519 signatures")
 *   0x04  timestamped Ed25519 cosignature v1 (c2sp.org/tlog-cosignature): the
 *         signature is timestamp(u64 BE, seconds) || Ed25519 signature over
 *         "cosignature/v1\ntime <t>\n" || checkpoint text
 *   0x05  RFC 6962 TreeHeadSignature (c2sp.org/static-ct-api): the signature is
 *         timestamp(u64 BE, ms) || TLS DigitallySigned{SHA-256, ECDSA, DER},
 *         over the RFC 6962 3.5 TreeHeadSignature of the checkpoint
 *
 * A signed note is a text ending in '\n', a blank line, then one or more lines
 * "\u2014 <key name> <base64(key ID(4, BE) || signature)>\n". Parsing is strict
 * (see arb_note_parse); formatting reproduces a parsed note byte for byte.
 *
 * Everything here is pure computation: no I/O, no clock, no globals. Times are
 * passed in by the caller. Key handles are opaque and hide OpenSSL. A handle is
 * immutable after creation, so one handle may be used from many threads at once;
 * an arb_note is a plain value owned by one thread at a time. */
#ifndef ARB_MERKLE_NOTE_H
#define ARB_MERKLE_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* Signature type bytes (c2sp.org/signed-note "Signature types"). */
#define ARB_NOTE_ED25519 0x01
#define ARB_NOTE_COSIG_V1 0x04
#define ARB_NOTE_RFC6962 0x05

/* Notes with more signature lines than this are parse errors. The spec asks
 * verifiers to accept at least 16; golang.org/x/mod/sumdb/note stops at 100. */
#define ARB_NOTE_MAX_SIGS 100

/* Upper bound on a note's total size (text plus signatures): 1 MiB. Checkpoints
 * are a few hundred bytes; the bound keeps parsing cheap on hostile input. */
#define ARB_NOTE_MAX_SIZE (1u << 20)

/* One signature line. */
typedef struct {
    char *name;      /* key name, NUL-terminated */
    uint32_t key_id; /* first four bytes of the decoded signature, big-endian */
    uint8_t *sig;    /* the signature bytes after the key ID */
    size_t sig_len;  /* >= 1 */
} arb_note_sig;

/* A parsed (or built) note. Fields may be read directly; change them only
 * through the functions below. */
typedef struct {
    char *text;      /* the note text, NUL-terminated, ends in '\n' */
    size_t text_len; /* strlen(text), including the final '\n' */
    arb_note_sig *sigs;
    size_t nsigs;
} arb_note;

/* ---- names, key IDs, text rules ---- */

/* Returns 1 if name[0..len) is a valid key name: non-empty, valid UTF-8, no
 * Unicode white space (as Go's unicode.IsSpace), no '+', no control
 * characters. */
int arb_note_name_valid(const char *name, size_t len);

/* Returns 1 if text[0..len) is acceptable as a note text: valid UTF-8, no
 * control characters other than '\n' (so no '\r'), non-empty, ends in '\n'. */
int arb_note_text_valid(const char *text, size_t len);

/* key ID = SHA-256(name || 0x0A || type || key)[:4] read big-endian
 * (c2sp.org/signed-note). For type 0x05 `key` is the 32-byte RFC 6962 log ID. */
uint32_t arb_note_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t *key,
                         size_t key_len);

/* ---- notes ---- */

/* Parses a signed note. Rules (c2sp.org/signed-note, and golang.org/x/mod
 * sumdb/note where the spec leaves room):
 *  - at most ARB_NOTE_MAX_SIZE bytes; valid UTF-8; no control characters but '\n'
 *  - the text ends at the LAST blank line; it is what comes before it, with
 *    its final newline; the signature block after it is non-empty and ends in '\n'
 *  - every signature line is "\u2014 " name " " base64 "\n", with a valid key
 *    name and canonical base64 of at least 5 bytes (key ID and >= 1 byte)
 *  - at most ARB_NOTE_MAX_SIGS lines.
 * Signatures are NOT verified here (see arb_note_verify); lines are kept in
 * order, duplicates included, so arb_note_format gives back the same bytes.
 * Returns ARB_OK, ARB_ERR_PARSE (reason in eb) or ARB_ERR_NOMEM; *out is NULL
 * on failure. Free with arb_note_free. */
arb_err arb_note_parse(arb_note **out, const uint8_t *msg, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Creates an unsigned note holding a copy of text (which must pass
 * arb_note_text_valid). Returns ARB_OK, ARB_ERR_PARSE or ARB_ERR_NOMEM. */
arb_err arb_note_new(arb_note **out, const char *text, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

void arb_note_free(arb_note *n);

/* Appends a signature line (copies name and sig). If a line with the same name
 * and key ID exists it is replaced in place. Returns ARB_OK, ARB_ERR_INVALID_ARG
 * (bad name, empty sig, ARB_NOTE_MAX_SIGS reached) or ARB_ERR_NOMEM. */
arb_err arb_note_add_sig(arb_note *n, const char *name, uint32_t key_id, const uint8_t *sig,
                         size_t sig_len, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Serializes: text, "\n", then one line per signature. *out (free()) is NOT
 * NUL-terminated. Returns ARB_OK, ARB_ERR_INVALID_ARG (no signatures: such a
 * note cannot be parsed back) or ARB_ERR_NOMEM. */
arb_err arb_note_format(uint8_t **out, size_t *out_len, const arb_note *n) ARB_WARN_UNUSED;

/* ---- verifier keys ---- */

typedef struct arb_note_verifier arb_note_verifier;

/* Parses a verifier key "<name>+<8 hex key ID>+<base64(type || public key)>"
 * (golang.org/x/mod/sumdb/note NewVerifier). Types 0x01 and 0x04 with 32-byte
 * Ed25519 keys are supported. The key ID must match the name and key.
 * Returns ARB_OK, ARB_ERR_PARSE (malformed, wrong ID, unknown type, bad key),
 * ARB_ERR_NOMEM. Free with arb_note_verifier_free. */
arb_err arb_note_verifier_from_vkey(arb_note_verifier **out, const char *vkey, size_t len,
                                    arb_errbuf *eb) ARB_WARN_UNUSED;

/* A verifier for type 0x01 or 0x04 from a raw Ed25519 public key. */
arb_err arb_note_verifier_ed25519(arb_note_verifier **out, const char *name, uint8_t type,
                                  const uint8_t pub32[static 32], arb_errbuf *eb) ARB_WARN_UNUSED;

/* A type 0x05 verifier (static-ct-api checkpoints) from the log's ECDSA P-256
 * public key as DER SubjectPublicKeyInfo. name must be the log's origin; the
 * key ID is computed from the RFC 6962 log ID = SHA-256(spki_der). Returns
 * ARB_OK, ARB_ERR_PARSE (not a P-256 SPKI, trailing bytes, bad name), ARB_ERR_NOMEM. */
arb_err arb_note_verifier_rfc6962(arb_note_verifier **out, const char *name,
                                  const uint8_t *spki_der, size_t der_len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

void arb_note_verifier_free(arb_note_verifier *v);

const char *arb_note_verifier_name(const arb_note_verifier *v);
uint32_t arb_note_verifier_key_id(const arb_note_verifier *v);
uint8_t arb_note_verifier_type(const arb_note_verifier *v);

/* Formats the vkey string of a type 0x01 / 0x04 verifier into *out (free(),
 * NUL-terminated). Returns ARB_OK, ARB_ERR_INVALID_ARG (type 0x05 has no vkey
 * form) or ARB_ERR_NOMEM. */
arb_err arb_note_verifier_vkey(char **out, const arb_note_verifier *v) ARB_WARN_UNUSED;

/* Checks one signature (the bytes after the key ID) over text[0..text_len).
 * For 0x04 and 0x05 the text must be a checkpoint (for 0x05: without
 * extension lines and with origin == key name), and *timestamp_out receives
 * the signed timestamp (seconds for 0x04, milliseconds for 0x05; 0 for 0x01).
 * Returns 1 if valid, 0 otherwise. timestamp_out may be NULL. */
int arb_note_verifier_verify(const arb_note_verifier *v, const uint8_t *text, size_t text_len,
                             const uint8_t *sig, size_t sig_len, uint64_t *timestamp_out);

/* ---- signer keys ---- */

typedef struct arb_note_signer arb_note_signer;

/* Parses "PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || 32-byte seed)>"
 * (golang.org/x/mod/sumdb/note NewSigner) for types 0x01 and 0x04. The key ID
 * must match the derived public key. Returns ARB_OK, ARB_ERR_PARSE,
 * ARB_ERR_CRYPTO, ARB_ERR_NOMEM. The decoded seed is wiped. */
arb_err arb_note_signer_from_skey(arb_note_signer **out, const char *skey, size_t len,
                                  arb_errbuf *eb) ARB_WARN_UNUSED;

/* Generates a fresh Ed25519 key (OpenSSL's RNG) for type 0x01 or 0x04. If
 * skey_out / vkey_out are non-NULL they receive the key strings (NUL-terminated;
 * free the skey with arb_note_secret_free, which wipes it, the vkey with free()).
 * Returns ARB_OK, ARB_ERR_INVALID_ARG (bad name or type), ARB_ERR_CRYPTO,
 * ARB_ERR_NOMEM. */
arb_err arb_note_signer_generate(arb_note_signer **out, const char *name, uint8_t type,
                                 char **skey_out, char **vkey_out, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* A type 0x05 signer from an ECDSA P-256 private key given as PEM or DER
 * (SEC1 or PKCS#8). name must be the log's origin. Returns ARB_OK,
 * ARB_ERR_PARSE (unreadable, not P-256, bad name), ARB_ERR_NOMEM. */
arb_err arb_note_signer_rfc6962(arb_note_signer **out, const char *name, const uint8_t *key,
                                size_t key_len, arb_errbuf *eb) ARB_WARN_UNUSED;

void arb_note_signer_free(arb_note_signer *s); /* wipes the key */

/* Wipes and frees a NUL-terminated secret string (an skey). NULL is fine. */
void arb_note_secret_free(char *s);

const char *arb_note_signer_name(const arb_note_signer *s);
uint32_t arb_note_signer_key_id(const arb_note_signer *s);
uint8_t arb_note_signer_type(const arb_note_signer *s);

/* The matching verifier. Returns ARB_OK or ARB_ERR_NOMEM. */
arb_err arb_note_signer_verifier(arb_note_verifier **out, const arb_note_signer *s)
    ARB_WARN_UNUSED;

/* Signs text[0..text_len): *sig_out (free()) gets the signature bytes that
 * follow the key ID. now_ms is the Unix time in milliseconds: type 0x04 signs
 * floor(now_ms / 1000) seconds, type 0x05 signs now_ms, type 0x01 ignores it.
 * For 0x04 / 0x05 the text must be a checkpoint as arb_note_verifier_verify
 * requires. Returns ARB_OK, ARB_ERR_INVALID_ARG, ARB_ERR_CRYPTO, ARB_ERR_NOMEM. */
arb_err arb_note_signer_sign(uint8_t **sig_out, size_t *sig_len, const arb_note_signer *s,
                             const uint8_t *text, size_t text_len, uint64_t now_ms,
                             arb_errbuf *eb) ARB_WARN_UNUSED;

/* Signs n's text with s and adds the line (replacing an earlier signature by
 * the same name and key ID). Same errors as arb_note_signer_sign. */
arb_err arb_note_sign(arb_note *n, const arb_note_signer *s, uint64_t now_ms, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* ---- RFC6962NoteSignature bytes ---- */

/* Splits a type 0x05 signature (the bytes after the key ID) into the STH
 * timestamp (ms) and the TLS DigitallySigned struct that /ct/v1/get-sth would
 * return as tree_head_signature. Checks the layout strictly: hash SHA-256 (4),
 * signature ECDSA (3), a non-empty u16-length DER signature, no trailing bytes.
 * *ds points into sig. Returns 1, or 0 when malformed. Does not verify. */
int arb_note_rfc6962_sig_split(const uint8_t *sig, size_t sig_len, uint64_t *timestamp_ms,
                               const uint8_t **ds, size_t *ds_len);

/* The reverse: *out (free()) = timestamp_ms (u64 BE) || ds, so a log can put
 * the signature of its get-sth tree head into its checkpoint unchanged. ds
 * must pass the same layout checks. Returns ARB_OK, ARB_ERR_INVALID_ARG,
 * ARB_ERR_NOMEM. */
arb_err arb_note_rfc6962_sig_join(uint8_t **out, size_t *out_len, uint64_t timestamp_ms,
                                  const uint8_t *ds, size_t ds_len) ARB_WARN_UNUSED;

/* ---- verification ---- */

/* What arb_note_verify found for one verifier. */
typedef struct {
    int verified;       /* 1 if a signature by this key verified */
    uint64_t timestamp; /* signed time of that signature: s for 0x04, ms for 0x05, else 0 */
} arb_note_result;

/* Verifies n against the known keys vs[0..nvs). A signature line whose (name,
 * key ID) matches no verifier is ignored. A line that matches a verifier MUST
 * verify: if one fails the whole note is rejected (c2sp.org/signed-note
 * "Signatures"). At least one known signature must verify.
 * res (may be NULL) has nvs entries and is filled in verifier order.
 * Returns ARB_OK, ARB_ERR_VERIFY (a known signature failed, or none verified;
 * reason in eb), ARB_ERR_INVALID_ARG (two verifiers share name and key ID). */
arb_err arb_note_verify(const arb_note *n, const arb_note_verifier *const *vs, size_t nvs,
                        arb_note_result *res, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
