/* Checking SCTs (RFC 6962 3.2, 3.3): the signature of each SCT a certificate
 * carries (embedded SCT list) or that comes with it (a TLS-encoded SCT), under
 * the key of the log it names, and the leaf hash the entry will have in that
 * log, for the inclusion check once the log's merge delay has passed. */
#ifndef ARB_AUDITOR_SCT_H
#define ARB_AUDITOR_SCT_H

#include <stddef.h>
#include <stdint.h>

#include "auditor/client.h"
#include "auditor/loglist.h"
#include "ledger/log/ct.h"
#include "merkle/error.h"
#include "merkle/hash.h"

typedef enum {
    ARB_AUDIT_INCL_UNCHECKED = 0, /* not asked for, or the signature failed */
    ARB_AUDIT_INCL_PROVEN = 1,    /* the log proved inclusion under a verified tree head */
    ARB_AUDIT_INCL_PENDING = 2,   /* the merge delay has not passed yet */
    ARB_AUDIT_INCL_FAILED = 3,    /* past the merge delay and the log cannot prove it */
    ARB_AUDIT_INCL_ERROR = 4      /* could not check (network, no verifier): see detail */
} arb_audit_incl;

typedef struct {
    uint8_t log_id[32];
    uint64_t timestamp;        /* ms */
    const arb_audit_log *log;  /* the log in the list, or NULL when unknown */
    int sig_ok;                /* 1 when the signature verified */
    int is_precert;
    arb_hash leaf_hash;        /* RFC 6962 leaf hash of the entry this SCT promises */
    arb_audit_incl inclusion;
    uint64_t leaf_index;       /* when proven */
    char detail[400];
} arb_audit_sct_result;

/* Checks every SCT embedded in a final certificate (DER) issued by issuer
 * (DER): each is verified as a precert_entry over the certificate's TBS
 * without the SCT list and the issuer's key hash. *res (free()) gets n
 * results. Returns ARB_OK (look at each sig_ok), ARB_ERR_NOT_FOUND (no SCT
 * list), ARB_ERR_PARSE, ARB_ERR_NOMEM. */
arb_err arb_audit_sct_check_embedded(arb_audit_sct_result **res, size_t *n, const uint8_t *cert,
                                     size_t cert_len, const uint8_t *issuer, size_t issuer_len,
                                     const arb_audit_loglist *logs, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Checks one TLS-encoded SCT for a certificate logged as an x509_entry.
 * Returns ARB_OK (look at sig_ok), ARB_ERR_PARSE (not an SCT). */
arb_err arb_audit_sct_check_x509(arb_audit_sct_result *res, const uint8_t *cert, size_t cert_len,
                                 const uint8_t *sct, size_t sct_len, const arb_audit_loglist *logs,
                                 arb_errbuf *eb) ARB_WARN_UNUSED;

/* Parses an SCT as add-chain answers it (JSON, RFC 6962 4.1) or TLS-encoded
 * (RFC 6962 3.2). JSON views point into *storage (free(); NULL for TLS, whose
 * views point into in). Returns ARB_OK or ARB_ERR_PARSE (eb says which form
 * was expected). */
arb_err arb_audit_sct_parse(arb_ct_sct *sct, uint8_t **storage, const uint8_t *in, size_t len,
                            arb_errbuf *eb) ARB_WARN_UNUSED;

/* Checks one SCT (JSON or TLS) given for a certificate (DER): a
 * precertificate (with the CT poison) as the precert_entry add-pre-chain
 * logged, which needs its issuer (DER; NULL otherwise allowed); any other
 * certificate as an x509_entry. Returns ARB_OK (look at sig_ok),
 * ARB_ERR_PARSE (not an SCT, bad certificate), ARB_ERR_INVALID_ARG (a
 * precertificate without issuer), ARB_ERR_NOMEM. */
arb_err arb_audit_sct_check_given(arb_audit_sct_result *res, const uint8_t *cert, size_t cert_len,
                                  const uint8_t *issuer, size_t issuer_len, const uint8_t *sct,
                                  size_t sct_len, const arb_audit_loglist *logs, arb_errbuf *eb)
    ARB_WARN_UNUSED;

/* Inclusion of a verified SCT's entry: fetches and verifies the log's tree
 * head and asks get-proof-by-hash for the leaf hash; sets res->inclusion and
 * res->detail. A proof that does not verify is FAILED; no proof is PENDING
 * while now_ms is within timestamp + mmd and FAILED after. Returns ARB_OK. */
arb_err arb_audit_sct_inclusion(arb_audit_client *c, arb_audit_sct_result *res, uint64_t now_ms)
    ARB_WARN_UNUSED;

#endif
