/* Files that must survive a power loss, for every program (arbord, the
 * wallet, the auditor): the fsync of the directory that names a file, a file
 * replaced atomically and durably, and a bounded read of a whole file.
 *
 * This is the one part of merkle/ that does I/O; it is its own library
 * (arb_file), so that arb_merkle stays free of it. Thread-safe: no state. */
#ifndef ARB_MERKLE_FILE_H
#define ARB_MERKLE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* fsyncs the directory that holds path: the part before its last '/' ("/"
 * when that is the first character, "." when there is none), so that a name
 * just created, renamed or removed there survives a power loss. Returns
 * ARB_OK, or ARB_ERR_IO with a message in eb (eb may be NULL). */
arb_err arb_file_sync_parent(const char *path, arb_errbuf *eb);

/* Replaces path with data[0..len), atomically and durably: written to
 * "<path>.new" (mode 0600), fsynced, renamed over path, then the directory
 * fsynced (arb_file_sync_parent). On failure "<path>.new" is removed (once
 * renamed only the directory's fsync can fail) and the error is
 * ARB_ERR_INVALID_ARG (path too long) or ARB_ERR_IO, with a message in eb. */
arb_err arb_file_replace(const char *path, const uint8_t *data, size_t len,
                         arb_errbuf *eb) ARB_WARN_UNUSED;

/* Reads the whole of path, which must be a regular file of at most max
 * bytes, into *out (malloc'd, one spare byte after the data; free() it) and
 * *len. A read that ends early gives what was read. Errors:
 * ARB_ERR_NOT_FOUND (no such file), ARB_ERR_PARSE (not a regular file, or
 * larger than max), ARB_ERR_IO, ARB_ERR_NOMEM; then *out is NULL and *len 0. */
arb_err arb_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
                      arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
