/* arbord's log lines: one event per line on stderr, in one of three formats.
 *
 *   text    2026-11-23T12:00:00Z arbord info: message key=value ...
 *   logfmt  ts=2026-11-23T12:00:00Z level=info msg="message" key=value ...
 *   json    {"ts":"2026-11-23T12:00:00Z","level":"info","msg":"message","key":"value"}
 *
 * Messages and values may carry text from the network (request paths,
 * certificate fields): every byte outside printable ASCII is escaped, so a
 * line can never be split or forged and the JSON form is always valid JSON. */
#ifndef ARB_LEDGER_LOGLINE_H
#define ARB_LEDGER_LOGLINE_H

#include <stddef.h>
#include <time.h>

typedef struct {
    const char *key;   /* [a-z_]+ */
    const char *value; /* any bytes, NUL-terminated */
} arb_logline_field;

/* The smallest buffer arb_logline_format writes a line into. */
#define ARB_LOGLINE_MIN_CAP 128

/* Formats one line ending in '\n' into buf (cap >= ARB_LOGLINE_MIN_CAP bytes;
 * a smaller one gets "" and 0); a line
 * that does not fit is cut short and still ends in '\n' (a JSON line then
 * ends with "...","truncated":true}). format is ARB_CONFIG_LOG_TEXT, _LOGFMT
 * or _JSON (ledger/config.h); level 0..3 (error, warn, info, debug). Returns
 * the length written (< cap). */
size_t arb_logline_format(char *buf, size_t cap, int format, time_t when, int level,
                          const char *msg, const arb_logline_field *fields, size_t nfields);

#endif
