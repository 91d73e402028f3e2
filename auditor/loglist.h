/* Log lists in the JSON v3 schema that browsers and monitors use
 * (operators -> logs / tiled_logs; each log with a base64 DER SPKI "key",
 * base64 "log_id", "url" (RFC 6962 logs) or "monitoring_url" (static-ct-api
 * logs), and "mmd" in seconds).
 *
 * Parsing is strict on what the auditor relies on: every log must have a
 * P-256 key whose SHA-256 equals its log_id, an http(s) URL and a positive
 * mmd; anything else in the document is ignored. A list is a plain value
 * owned by the caller. */
#ifndef ARB_AUDITOR_LOGLIST_H
#define ARB_AUDITOR_LOGLIST_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* The most logs one list may name (real lists have about a hundred). */
#define ARB_AUDIT_LOGLIST_MAX 4096

typedef struct {
    char *operator_name;      /* may be "" */
    char *description;        /* may be "" */
    char *url;                /* base URL, always ending in '/' */
    int tiled;                /* 1: static-ct-api (tiles + /checkpoint), 0: RFC 6962 API */
    char *origin;             /* tiled: the checkpoint origin (submission URL, else the
                                 monitoring URL, without scheme and final '/') */
    uint8_t *key;             /* DER SubjectPublicKeyInfo */
    size_t key_len;
    uint8_t log_id[32];       /* SHA-256(key) */
    uint64_t mmd;             /* maximum merge delay, seconds */
} arb_audit_log;

typedef struct {
    arb_audit_log *logs;
    size_t n;
} arb_audit_loglist;

/* Parses text[0..len). Returns ARB_OK with *out (free with
 * arb_audit_loglist_free), ARB_ERR_PARSE (the reason names the operator and
 * log index) or ARB_ERR_NOMEM. An empty list (no logs) is ARB_ERR_PARSE. */
arb_err arb_audit_loglist_parse(arb_audit_loglist *out, const char *text, size_t len,
                                arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_audit_loglist_free(arb_audit_loglist *l);

/* Fills one log from flags: url and a PEM or DER public key. tiled as above.
 * Returns ARB_OK, ARB_ERR_PARSE (bad URL or key), ARB_ERR_NOMEM. Free with
 * arb_audit_log_clear. */
arb_err arb_audit_log_from_key(arb_audit_log *out, const char *url, int tiled, const uint8_t *key,
                               size_t key_len, uint64_t mmd, arb_errbuf *eb) ARB_WARN_UNUSED;
void arb_audit_log_clear(arb_audit_log *l);

/* Looks up a log by ID; NULL if absent. */
const arb_audit_log *arb_audit_loglist_find(const arb_audit_loglist *l,
                                            const uint8_t log_id[static 32]);

#endif
