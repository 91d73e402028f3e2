/* static-ct-api data tiles as the auditor reads them (c2sp.org/static-ct-api,
 * "Log Entries"): a data tile of width W is W TileLeaf entries back to back,
 * the entries N*256 .. N*256 + W - 1 of the log, each
 *   struct { TimestampedEntry timestamped_entry;
 *            select (entry_type) { case x509_entry: Empty;
 *                                  case precert_entry: ASN.1Cert pre_certificate; };
 *            Fingerprint certificate_chain<0..2^16-1>; } TileLeaf;
 * The RFC 6962 MerkleTreeLeaf of an entry is its timestamped_entry behind the
 * version (v1) and leaf type (timestamped_entry) bytes, so the leaf hashes,
 * and from them the tree root, can be rebuilt from data tiles alone.
 *
 * Pure code, thread-safe. */
#ifndef ARB_AUDITOR_DATATILE_H
#define ARB_AUDITOR_DATATILE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/log/static.h"
#include "merkle/error.h"

/* Parses a data tile: exactly `count` entries (1 <= count <= 256) that fill
 * data[0..len) with nothing left over. Entry i must carry the static-ct-api
 * leaf_index extension with the value first_index + i, and a precert entry's
 * pre_certificate must be exactly one DER certificate. out[0..count) are
 * views into data. Returns ARB_OK; ARB_ERR_PARSE with a reason naming the
 * entry (out zeroed); ARB_ERR_INVALID_ARG for a count out of range. */
arb_err arb_audit_data_tile_parse(arb_ct_tile_leaf *out, const uint8_t *data, size_t len,
                                  uint64_t first_index, unsigned count, arb_errbuf *eb)
    ARB_WARN_UNUSED;

#endif
