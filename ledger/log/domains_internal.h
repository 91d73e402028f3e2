/* Shared by the domain index and the certificate view: the X509 of a log
 * entry (a certificate, or a precert_entry's TBSCertificate wrapped with a
 * placeholder signature that is never verified). Private to ledger/log. */
#ifndef ARB_LEDGER_LOG_DOMAINS_INTERNAL_H
#define ARB_LEDGER_LOG_DOMAINS_INTERNAL_H

#include <openssl/x509.h>

#include "ledger/log/ct.h"

/* NULL if the bytes do not parse (or have trailing bytes). Free with X509_free. */
X509 *arb_domains_entry_x509(const arb_ct_signed_entry *entry);

#endif
