/* Checking a file of raw 80-byte block headers (the `verify-headers`
 * command): the first header is trusted at a given height and every later one
 * must pass arb_header_check under the chosen rules. Pure: the caller reads
 * the file and supplies the clock. */
#ifndef ARB_AUDITOR_HEADERS_H
#define ARB_AUDITOR_HEADERS_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/chain/hdrcheck.h"

typedef struct {
    size_t headers;         /* headers read, including the trusted first */
    size_t checked;         /* headers that passed (not counting the first) */
    uint32_t tip_height;    /* height of the last good header */
    arb_hash tip_hash;      /* hash of the last good header */
    arb_u256 work;          /* work of the checked headers */
    /* On a rule failure: */
    int failed;             /* 1 when a header broke a rule */
    uint32_t bad_height;
    arb_hash bad_hash;
    const char *reason;     /* static reason string, e.g. "high-hash" */
    arb_errbuf detail;      /* one line */
} arb_audit_headers_result;

/* Called every few thousand headers with (done, total). */
typedef void (*arb_audit_progress_fn)(void *ud, size_t done, size_t total);

/* Checks len bytes of headers. Returns ARB_OK when all pass; ARB_ERR_VERIFY
 * when one breaks a rule (details in res); ARB_ERR_PARSE when len is zero or
 * not a multiple of 80; ARB_ERR_NOMEM. */
arb_err arb_audit_verify_headers(const arb_chain_params *p, uint32_t start_height,
                                 const uint8_t *data, size_t len, int64_t now,
                                 arb_audit_progress_fn progress, void *ud,
                                 arb_audit_headers_result *res) ARB_WARN_UNUSED;

#endif
