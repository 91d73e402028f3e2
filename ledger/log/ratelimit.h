/* Per-client submission rate limits: one token bucket per client address.
 *
 * A bucket holds at most `burst` tokens and refills at `rate` tokens per
 * second; each submission takes one. IPv4 clients are keyed by address; IPv6
 * clients by their /64 prefix (one host usually owns a whole /64, so keying by
 * full address would let it rotate addresses past the limit). At most
 * `max_clients` buckets are kept: when the table is full, buckets that have
 * refilled completely (idle clients) are dropped first, then the least
 * recently used one.
 *
 * Thread-safety: every function may be called from any thread, except
 * arb_ratelimit_free. */
#ifndef ARB_LEDGER_LOG_RATELIMIT_H
#define ARB_LEDGER_LOG_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct arb_ratelimit arb_ratelimit;

/* max_clients 0: 4096. Returns ARB_OK or ARB_ERR_NOMEM. Free with arb_ratelimit_free. */
arb_err arb_ratelimit_new(arb_ratelimit **out, size_t max_clients) ARB_WARN_UNUSED;
void arb_ratelimit_free(arb_ratelimit *rl); /* NULL-safe */

/* Takes one token from the bucket of `client` (an address as text, e.g.
 * "192.0.2.1" or "2001:db8::1"; anything else is keyed as given, truncated to
 * 63 bytes) at time now_ms (any monotonic milliseconds). rate is tokens per
 * second (> 0), burst the bucket size (>= 1). Returns 1 if the submission may
 * go ahead, 0 if the client is over its limit; then *retry_after_s (if not
 * NULL) is the whole number of seconds, at least 1, until a token is back. */
int arb_ratelimit_take(arb_ratelimit *rl, const char *client, double rate, unsigned burst,
                       uint64_t now_ms, unsigned *retry_after_s);

/* Number of buckets currently kept (for tests). */
size_t arb_ratelimit_clients(arb_ratelimit *rl);

#endif
