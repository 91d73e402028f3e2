/* A reference for arb_audit_certinfo_read built on OpenSSL's full d2i_X509
 * (what auditor/match.c did before it walked the TBSCertificate itself), for
 * differential tests and fuzzing. */
#ifndef ARB_TESTS_AUDIT_CERTINFO_REF_H
#define ARB_TESTS_AUDIT_CERTINFO_REF_H

#include <stddef.h>
#include <stdint.h>

#include "auditor/match.h"

/* -1 when d2i_X509 does not read exactly der[0..len), or when der is not the
 * DER that i2d_X509 writes back (OpenSSL reads some non-DER encodings);
 * otherwise 1 when ci
 * (read by the module from the same certificate) has the names OpenSSL finds
 * (SAN dNSNames then subject CNs; printable ASCII, lowercased, first
 * occurrence kept), the same subject line and the identity SHA-256(issuer DER
 * || serial DER), and 0 when it differs. */
int certinfo_check(const arb_audit_certinfo *ci, const uint8_t *der, size_t len);

#endif
