/* The log's own entry in a v3 log list, the JSON schema of Google's / Chrome's
 * list (https://www.gstatic.com/ct/log_list/v3/log_list_schema.json), which
 * Apple's list and monitors such as Cert Spotter read too:
 *
 *   {"version": "1", "log_list_timestamp": "...Z",
 *    "operators": [{"name": ..., "email": [...],
 *      "logs": [{"description", "log_id", "key", "url", "mmd", "state",
 *                "temporal_interval"}],
 *      "tiled_logs": [{"description", "log_id", "key", "submission_url",
 *                      "monitoring_url", "mmd", "state", "temporal_interval"}]}]}
 *
 * arbord serves the RFC 6962 API and the static-ct-api read path over one
 * tree. The log is listed once (consumers key logs by ID and refuse a log
 * listed twice): under "tiled_logs" when a monitoring URL (where the tiles
 * are served, e.g. an exported directory behind a CDN) is given, else under
 * "logs" (for RFC 6962 monitors). Both arrays are always present (the
 * "logs" one possibly empty). Pure; no I/O. */
#ifndef ARB_LEDGER_LOG_LOGLIST_H
#define ARB_LEDGER_LOG_LOGLIST_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct {
    const uint8_t *spki;        /* the log key's DER SubjectPublicKeyInfo */
    size_t spki_len;
    const char *description;    /* NULL or "": the URL */
    const char *operator_name;  /* NULL or "": "arbor" */
    const char *operator_email; /* NULL: no address (an empty "email" list) */
    const char *url;            /* RFC 6962 base URL (arb_ct_loglist_url_ok) */
    const char *monitoring_url; /* static-ct-api base URL; NULL: no tiled_logs entry */
    uint64_t mmd;               /* maximum merge delay, seconds (> 0) */
    int64_t not_after_start;    /* temporal_interval when not_after_end > not_after_start */
    int64_t not_after_end;
    int64_t timestamp;          /* Unix seconds: log_list_timestamp and the state's */
} arb_ct_loglist_info;

/* 1 if url is an http:// or https:// URL with a host, of printable ASCII
 * without spaces, quotes, backslashes or a fragment/query, 1..1000 bytes,
 * ending in '/'. */
int arb_ct_loglist_url_ok(const char *url);

/* Builds the JSON text (malloc'd, NUL-terminated). Strings from the
 * configuration are escaped by jansson; URLs must pass
 * arb_ct_loglist_url_ok. Returns ARB_OK, ARB_ERR_INVALID_ARG (bad URL, mmd 0,
 * no key) or ARB_ERR_NOMEM. */
arb_err arb_ct_loglist_json(char **out, const arb_ct_loglist_info *info,
                            arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
