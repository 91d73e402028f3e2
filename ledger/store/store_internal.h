/* Internals of the storage core that tests reach directly. Not part of the API. */
#ifndef ARB_LEDGER_STORE_STORE_INTERNAL_H
#define ARB_LEDGER_STORE_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* Turns a RocksDB status string (as the C API reports it, e.g.
 * "IO error: No space left on device") met while doing `what` ("open", "write",
 * "read", ...) on data directory `dir` into an arb_err and a one-line message
 * in eb. Never returns ARB_OK. */
arb_err arb_store_map_error(arb_errbuf *eb, const char *dir, const char *what, const char *rerr);

/* The smallest key greater than every key that starts with prefix[0..len):
 * writes it to out (capacity len) and returns its length; returns 0 when there
 * is none (the prefix is empty or all 0xff), meaning "no upper bound". */
size_t arb_store_prefix_end(uint8_t *out, const uint8_t *prefix, size_t len);

#endif
