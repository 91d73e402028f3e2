/* Watching domains in logged certificates: the DNS names of a certificate
 * or precertificate (SAN dNSNames and subject CNs) and a watch list of
 * domains they are matched against.
 *
 * A watch entry "example.com" (or "*.example.com", the same) matches the
 * certificate names "example.com", any subdomain ("www.example.com",
 * "*.a.example.com"), and a wildcard that covers the domain itself ("*.com"
 * covers "example.com": one label, RFC 6125 6.4.3). Comparison ignores ASCII
 * case and one trailing dot. Pure code, thread-safe. */
#ifndef ARB_AUDITOR_MATCH_H
#define ARB_AUDITOR_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

/* 1 if the certificate name (possibly a wildcard "*.x") matches watch entry w. */
int arb_audit_name_matches(const char *cert_name, const char *watch);

/* The names and identity of one logged certificate. */
typedef struct {
    char **names;  /* DNS names, NUL-terminated, deduplicated, lowercase (one
                      allocation with the strings: free with _clear) */
    size_t n;
    uint8_t id[32]; /* SHA-256(issuer name DER || serial DER): equal for a
                       precert and its final certificate (RFC 6962 3.1) */
    char subject[256];
} arb_audit_certinfo;

void arb_audit_certinfo_clear(arb_audit_certinfo *ci);

/* Reads a DER certificate (is_tbs 0) or a DER TBSCertificate (is_tbs 1, as in
 * a precert_entry). Names that are not printable ASCII are skipped.
 * Returns ARB_OK, ARB_ERR_PARSE, ARB_ERR_NOMEM. */
arb_err arb_audit_certinfo_read(arb_audit_certinfo *out, const uint8_t *der, size_t len, int is_tbs,
                                arb_errbuf *eb) ARB_WARN_UNUSED;

/* arb_audit_certinfo_read with flags:
 *   ARB_CERTINFO_NO_SUBJECT  leave subject empty (a monitor fills it with
 *                            arb_audit_certinfo_subject for the few that match)
 *   ARB_CERTINFO_REFERENCE   read with OpenSSL's decoders only (the reference
 *                            the fast reader is tested against)
 * Both readers give the same answer on every input. */
#define ARB_CERTINFO_NO_SUBJECT 1u
#define ARB_CERTINFO_REFERENCE 2u
arb_err arb_audit_certinfo_read_ex(arb_audit_certinfo *out, const uint8_t *der, size_t len,
                                   int is_tbs, unsigned flags, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Fills ci->subject (OpenSSL's one-line form) from the certificate ci was
 * read from; "" if it cannot be read. */
void arb_audit_certinfo_subject(arb_audit_certinfo *ci, const uint8_t *der, size_t len, int is_tbs);

/* Index of the first watch entry (of nw) that one of the names matches, or -1;
 * *name gets the matching name. */
long arb_audit_certinfo_match(const arb_audit_certinfo *ci, const char *const *watch, size_t nw,
                              const char **name);

#endif
