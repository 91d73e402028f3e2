/* Decoding get-entries answers (RFC 6962 4.6):
 *
 *   {"entries":[{"leaf_input":"<base64>","extra_data":"<base64>"}, ...]}
 *
 * Two decoders that must agree. The general one parses a JSON tree with
 * jansson (duplicate keys rejected), ignores unknown members and decodes each
 * entry's two strings as strict base64 (merkle/buf.h). The strict one is a
 * streaming decoder for exactly the shape above — with any JSON whitespace,
 * either key order and any JSON escapes in keys and values — that decodes the
 * base64 in place inside the answer, with no tree and no allocation. It
 * either accepts, and then the general decoder accepts the same answer with
 * the same entries, or refuses without touching the answer, and the caller
 * falls back to the general decoder (which then gives the answer or the
 * error). tests/unit/audit/test_audit_entries.c and the fuzz target
 * tests/fuzz/fuzz_get_entries.c check that promise.
 *
 * Everything here is a pure function of its arguments: thread-safe. */
#ifndef ARB_AUDITOR_ENTRIES_H
#define ARB_AUDITOR_ENTRIES_H

#include <stddef.h>
#include <stdint.h>

#include "auditor/client.h"
#include "merkle/error.h"

/* One decoded entry: leaf_input and extra_data bytes (views into the answer). */
typedef struct {
    const uint8_t *leaf;
    size_t leaf_len;
    const uint8_t *extra;
    size_t extra_len;
} arb_audit_entry_view;

/* The strict decoder. When body[0..len) is exactly the shape above with
 * 1 <= number of entries <= max, every value is base64 that
 * arb_base64_decode accepts, no key is repeated and there is no other
 * member, decodes the values in place (body is overwritten), fills
 * out[0..*n) with views into body and returns 1. Otherwise returns 0 with *n
 * = 0 and body unchanged. out has room for max views. */
int arb_audit_entries_strict(arb_audit_entry_view *out, size_t *n, uint8_t *body, size_t len,
                             size_t max);

/* The general decoder: body[0..len) parsed with jansson (JSON object, no
 * duplicate keys), "entries" an array of 1..max objects whose "leaf_input"
 * and "extra_data" are strings of strict base64. Calls fn(ud, start + i, ...)
 * for each entry in order; *got counts the calls that returned ARB_OK.
 * Returns ARB_OK; ARB_ERR_PARSE (eb names `url` and says what is wrong), with
 * fn already called for the entries before the bad one; ARB_ERR_NOMEM; or
 * what fn returned. */
arb_err arb_audit_entries_json(const uint8_t *body, size_t len, size_t max, uint64_t start,
                               arb_audit_entry_fn fn, void *ud, uint64_t *got, const char *url,
                               arb_errbuf *eb) ARB_WARN_UNUSED;

/* Both: the strict decoder, and the general one when it refuses. Same
 * contract as arb_audit_entries_json; body may be overwritten. */
arb_err arb_audit_entries_decode(uint8_t *body, size_t len, size_t max, uint64_t start,
                                 arb_audit_entry_fn fn, void *ud, uint64_t *got, const char *url,
                                 arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
