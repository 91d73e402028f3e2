/* Transparency-log checkpoints (c2sp.org/tlog-checkpoint): the text of a
 * signed note that names a log and one of its tree heads.
 *
 *   <origin>\n
 *   <tree size, decimal, no leading zeros>\n
 *   <base64 of the 32-byte RFC 6962 root hash>\n
 *   [<extension line>\n ...]
 *
 * The body is parsed strictly: formatting a parsed checkpoint gives back the
 * same bytes. Signing and verifying go through merkle/note.h; the helpers here
 * join the two. Pure computation, no globals; values are owned by the caller. */
#ifndef ARB_MERKLE_CHECKPOINT_H
#define ARB_MERKLE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"
#include "merkle/hash.h"
#include "merkle/note.h"

typedef struct {
    char *origin;    /* NUL-terminated, non-empty, no '\n' */
    uint64_t size;   /* number of leaves */
    arb_hash root;   /* RFC 6962 root hash at that size */
    char *ext;       /* extension lines, each ending in '\n', concatenated; "" if none */
    size_t ext_len;  /* strlen(ext) */
} arb_checkpoint;

/* Parses a checkpoint body text[0..len) (the note text, final '\n' included).
 * Rules: valid note text (UTF-8, no control characters but '\n', ends in '\n');
 * at least three lines; origin non-empty; size is "0" or [1-9][0-9]* and fits
 * in 64 bits; root hash is canonical base64 of exactly 32 bytes; extension
 * lines non-empty. Returns ARB_OK, ARB_ERR_PARSE (reason in eb), ARB_ERR_NOMEM;
 * *out is NULL on failure. Free with arb_checkpoint_free. */
arb_err arb_checkpoint_parse(arb_checkpoint **out, const char *text, size_t len, arb_errbuf *eb)
    ARB_WARN_UNUSED;

void arb_checkpoint_free(arb_checkpoint *cp);

/* Formats cp (which may point at borrowed strings; ext may be NULL when
 * ext_len is 0) into *out (free(); NUL-terminated, *out_len excludes the NUL).
 * Returns ARB_OK, ARB_ERR_INVALID_ARG (empty origin or one with '\n', a
 * malformed extension block, or text that is not a valid note text) or
 * ARB_ERR_NOMEM. */
arb_err arb_checkpoint_format(char **out, size_t *out_len, const arb_checkpoint *cp)
    ARB_WARN_UNUSED;

/* Formats cp and signs it with every signer in ss[0..nss) at time now_ms (see
 * arb_note_signer_sign), giving the serialized signed note in *out (free(),
 * not NUL-terminated). Returns ARB_OK or the first error. */
arb_err arb_checkpoint_sign(uint8_t **out, size_t *out_len, const arb_checkpoint *cp,
                            const arb_note_signer *const *ss, size_t nss, uint64_t now_ms,
                            arb_errbuf *eb) ARB_WARN_UNUSED;

/* Opens a signed checkpoint: parses the note, parses its text as a
 * checkpoint, checks the origin (when `origin` is non-NULL), and verifies it
 * with arb_note_verify against vs[0..nvs) (res as there). On success *cp_out
 * (and *note_out if note_out is non-NULL) receive the parsed values.
 * The caller applies its policy on res, e.g. "the log's key and 2 of these 3
 * witnesses". Returns ARB_OK, ARB_ERR_PARSE, ARB_ERR_VERIFY (wrong origin,
 * a known signature failed, none verified), ARB_ERR_INVALID_ARG, ARB_ERR_NOMEM. */
arb_err arb_checkpoint_open(arb_checkpoint **cp_out, arb_note **note_out, const uint8_t *msg,
                            size_t len, const char *origin, const arb_note_verifier *const *vs,
                            size_t nvs, arb_note_result *res, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
