/* A readable view of a logged certificate (for the explorer): subject,
 * issuer, serial, validity and DNS names of an entry's certificate or
 * precertificate TBS. Strings are UTF-8 as OpenSSL prints them (RFC 2253
 * one-line names) and come from the certificate: escape them before putting
 * them in HTML or a log. Pure code, thread-safe. */
#ifndef ARB_LEDGER_LOG_CERTVIEW_H
#define ARB_LEDGER_LOG_CERTVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/log/ct.h"
#include "merkle/error.h"

typedef struct {
    char subject[1024];
    char issuer[1024];
    char serial[132];   /* lowercase hex, up to 64 bytes shown */
    int64_t not_before; /* Unix seconds */
    int64_t not_after;
    char **names;       /* arb_domains_names: indexable DNS names */
    size_t n_names;
} arb_certview;

/* Returns ARB_OK, ARB_ERR_PARSE or ARB_ERR_NOMEM; clear with arb_certview_clear. */
arb_err arb_certview_read(arb_certview *out, const arb_ct_signed_entry *entry) ARB_WARN_UNUSED;
void arb_certview_clear(arb_certview *v);

#endif
