/* A strict DER check for submitted certificates (X.690 section 10, RFC 5280
 * 4.1).
 *
 * OpenSSL parses BER leniently (long-form lengths with leading zeros,
 * indefinite lengths, constructed strings, any non-zero BOOLEAN) and writes
 * DER back, so a non-DER submission would be logged as bytes its CA never
 * issued and its SCT would not verify over the real certificate. The log
 * therefore refuses, before anything else, every certificate that is not
 * exactly one DER encoding. This checker is a small parser of its own (no
 * OpenSSL), checked against OpenSSL by the fuzz target
 * tests/fuzz/fuzz_der_cert.c: whatever it accepts and OpenSSL parses, OpenSSL
 * re-encodes to the very same bytes (the whole certificate and the
 * TBSCertificate).
 *
 * Pure and thread-safe; bounded: linear in the input, nesting at most
 * ARB_DER_MAX_DEPTH levels. */
#ifndef ARB_LEDGER_LOG_DER_H
#define ARB_LEDGER_LOG_DER_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

#define ARB_DER_MAX_DEPTH 32

/* Checks that der[0..len) is exactly one X.509 Certificate in DER:
 *  - at every level (the certificate, the TBSCertificate, names, every
 *    extension value, which is itself parsed as one DER element): definite
 *    lengths in the shortest form, tag numbers in the shortest form, no
 *    trailing bytes in any constructed element;
 *  - universal types in their DER form: BOOLEAN 0x00 or 0xFF, INTEGER and
 *    ENUMERATED minimal, BIT STRING with at most 7 unused bits that are all
 *    zero, NULL empty, OBJECT IDENTIFIER subidentifiers minimal, strings and
 *    times primitive (never constructed), SEQUENCE and SET constructed, no
 *    EXTERNAL, EMBEDDED PDV or CHARACTER STRING,
 *    UTCTime as YYMMDDHHMMSSZ, GeneralizedTime as YYYYMMDDHHMMSS[.f]Z without
 *    trailing zeros in the fraction;
 *  - the certificate's shape (RFC 5280 4.1): SEQUENCE { tbsCertificate
 *    SEQUENCE, signatureAlgorithm SEQUENCE, signatureValue BIT STRING }; in
 *    the TBSCertificate no version field holding the DEFAULT v1, issuer and
 *    subject unique IDs as BIT STRINGs, a non-empty extensions list, and no
 *    extension that encodes critical FALSE (a DEFAULT value, X.690 11.5).
 * SET OF order is not checked (names are logged as submitted either way).
 * Returns ARB_OK, or ARB_ERR_PARSE with the first problem and its byte offset
 * in eb (e.g. "non-minimal length at offset 1"). */
arb_err arb_der_check_cert(const uint8_t *der, size_t len, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
