/* The zone-file routes of arbord (docs/names.md, "Zone files"):
 *
 *   POST /names/v1/zonefile         raw body: stored when its SHA-256 is on
 *                                   chain -> 200 {"hash": "<hex>"};
 *                                   404 {"error": "zonefile-not-on-chain"},
 *                                   413 {"error": "zonefile-too-large"}
 *   GET  /names/v1/zonefile/{hash}  the bytes (application/octet-stream), 404
 *                                   {"error": "zonefile not found"}, 400 for a
 *                                   hash that is not 64 hex digits
 *
 * A stored file is announced to peers by the store's hook (p2p/zonesync.h).
 * Thread-safety: the handlers run on the server's workers; the store is
 * thread-safe. */
#ifndef ARB_LEDGER_API_ZONEFILEAPI_H
#define ARB_LEDGER_API_ZONEFILEAPI_H

#include "ledger/api/http.h"
#include "ledger/names/zonefiles.h"

/* Bodies up to this size are read and answered with zonefile-too-large when
 * over ARB_NAMES_ZONEFILE_MAX; larger ones get the server's own 413 before
 * they are read. */
#define ARB_ZONEFILEAPI_MAX_BODY 65536

/* Registers the routes on http (before arb_http_server_start) over z
 * (borrowed; it must outlive the server). Returns ARB_OK or the server's
 * error. */
arb_err arb_zonefileapi_add(arb_http_server *http, arb_zonefiles *z) ARB_WARN_UNUSED;

#endif
