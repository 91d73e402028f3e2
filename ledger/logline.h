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

/* ---- a writer thread for lines that must not block their producer ----
 *
 * A bounded byte ring of whole lines, drained into a file descriptor by its
 * own thread. Pushing never blocks on the descriptor: a line that does not
 * fit in the ring is dropped and counted (so a stderr pipe nobody reads
 * cannot stall the HTTP I/O thread that writes the access log). Lines are
 * written in the order they were pushed, each whole, in writes of at most
 * PIPE_BUF bytes.
 *
 * Thread-safety: push and dropped from any thread; free from one thread
 * after every pusher has stopped. */
typedef struct arb_logline_async arb_logline_async;

/* Starts a writer of cap bytes (>= 4096) to fd (borrowed; not closed).
 * Returns 1, or 0 when out of memory or the thread cannot start (*out NULL). */
int arb_logline_async_new(arb_logline_async **res, int fd, size_t cap);
/* Queues line[0..len) (a whole line, its '\n' included). Returns 1, or 0
 * when the ring is full or len is 0 or over 4096 (the line is dropped and
 * counted). Never blocks on the descriptor. */
int arb_logline_async_push(arb_logline_async *a, const char *line, size_t len);
/* Lines dropped so far. */
unsigned long long arb_logline_async_dropped(arb_logline_async *a);
/* Writes what is queued (while the descriptor takes it: a descriptor that
 * takes nothing for wait_ms ends the wait and the rest is dropped), stops
 * the thread and frees. NULL does nothing. */
void arb_logline_async_free(arb_logline_async *a, unsigned wait_ms);

#endif
