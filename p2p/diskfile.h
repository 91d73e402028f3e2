/* The frame of the files the node keeps (the address book, the ban list):
 *
 *   magic (8 bytes) | version (u32le) | body | SHA-256 of all before it (32)
 *
 * written with arb_file_replace (merkle/file.h) and read back with
 * arb_file_read. A file whose magic, checksum or version is not the
 * expected one is refused whole. Pure functions, thread-safe. */
#ifndef ARB_P2P_DISKFILE_H
#define ARB_P2P_DISKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/buf.h"
#include "merkle/error.h"

/* Starts a file in out: appends magic and version. */
void arb_p2p_file_begin(arb_buf *out, const uint8_t magic[static 8], uint32_t version);

/* Ends the file that starts at out->data[start]: appends the SHA-256 of
 * out->data[start..]. Returns ARB_OK, or ARB_ERR_NOMEM (also when out ran out
 * of memory before). */
arb_err arb_p2p_file_seal(arb_buf *out, size_t start) ARB_WARN_UNUSED;

/* Checks the frame of data[0..len): at least min_body bytes of body, the
 * magic, the checksum, then the version. Returns ARB_OK with *body the bytes
 * between the version and the checksum, or ARB_ERR_PARSE (ARB_ERR_NOMEM) with
 * a message that starts with `what` ("ban list") in eb. */
arb_err arb_p2p_file_open(arb_cur *body, const uint8_t *data, size_t len,
                          const uint8_t magic[static 8], uint32_t version, size_t min_body,
                          const char *what, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
