/* Helpers shared by note.c, note_keys.c and checkpoint.c. Not public. */
#ifndef ARB_MERKLE_NOTE_INTERNAL_H
#define ARB_MERKLE_NOTE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* U+2014 EM DASH followed by a space: the start of every signature line. */
#define NOTE_SIG_PREFIX "\xe2\x80\x94 "
#define NOTE_SIG_PREFIX_LEN 4

/* Decodes one UTF-8 sequence at s[0..len) (len >= 1). Returns its length
 * (1..4) and stores the code point, or returns 0 for an invalid sequence
 * (truncated, overlong, surrogate, above U+10FFFF), like Go's utf8.DecodeRune
 * reporting RuneError of size 1. */
size_t arb_note_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/* Returns 1 if s[0..len) is valid UTF-8 with no control character below
 * U+0020 other than '\n'. */
int arb_note_chars_valid(const uint8_t *s, size_t len);

/* Copies s[0..len) into a new NUL-terminated string, or NULL. */
char *arb_note_strndup(const char *s, size_t len);

#endif
