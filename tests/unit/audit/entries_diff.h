/* The differential check of the two get-entries decoders (auditor/entries.h),
 * shared by test_audit_entries and the fuzz target. */
#ifndef ARB_TESTS_UNIT_AUDIT_ENTRIES_DIFF_H
#define ARB_TESTS_UNIT_AUDIT_ENTRIES_DIFF_H

#include <stddef.h>
#include <stdint.h>

/* Decodes body[0..len) (at most max entries, 1 <= max <= 256) three ways: the
 * strict decoder alone, jansson alone, and the combination the client uses.
 * Returns 1 when they agree: the combination gives exactly jansson's result
 * (error code, count and every entry's bytes), and when the strict decoder
 * accepts, jansson accepts with the same entries while a refusal leaves the
 * body unchanged. Returns 0 (and says why on stderr) otherwise, -1 when out
 * of memory. *strict_ok gets 1 when the strict decoder accepted. */
int entries_diff(const uint8_t *body, size_t len, size_t max, int *strict_ok);

#endif
