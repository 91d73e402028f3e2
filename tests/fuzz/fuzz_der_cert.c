/* Fuzzes the strict DER check of certificates (ledger/log/der.h) and checks
 * it against OpenSSL: whenever the checker accepts an input that OpenSSL
 * parses as exactly one certificate, OpenSSL must write the same bytes back,
 * both for the whole certificate and for the TBSCertificate re-encoded from
 * its parsed fields (i2d_re_X509_tbs, what the log's precertificate rewriting
 * uses). So an accepted submission is logged, and its precertificate TBS
 * rebuilt, byte for byte as the CA encoded it. A refusal must be a parse
 * error with a message. Nothing may crash, leak or read out of bounds. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "ledger/log/der.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first element inside the outer SEQUENCE of an input the checker
 * accepted (so its lengths are definite and minimal). */
static int tbs_span(const uint8_t *d, size_t n, const uint8_t **tbs, size_t *tbs_len)
{
    size_t i = 1, len = 0, k, nb;

    if (n < 2)
        return 0;
    if (d[1] & 0x80)
        i += (size_t)(d[1] & 0x7f);
    i++;
    if (i + 2 > n)
        return 0;
    *tbs = d + i;
    if (d[i + 1] < 0x80) {
        *tbs_len = 2 + d[i + 1];
    } else {
        nb = d[i + 1] & 0x7f;
        if (i + 2 + nb > n)
            return 0;
        for (k = 0; k < nb; k++)
            len = (len << 8) | d[i + 2 + k];
        *tbs_len = 2 + nb + len;
    }
    return i + *tbs_len <= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_errbuf eb;
    arb_err err;
    const unsigned char *p = data;
    X509 *x;

    eb.msg[0] = 0;
    err = arb_der_check_cert(data, size, &eb);
    if (err != ARB_OK && (err != ARB_ERR_PARSE || eb.msg[0] == 0))
        abort();
    if (err != ARB_OK || size > LONG_MAX)
        return 0;
    x = d2i_X509(NULL, &p, (long)size);
    if (x != NULL && p == data + size) {
        unsigned char *out = NULL, *tbs = NULL;
        const uint8_t *raw;
        size_t raw_len;
        int n = i2d_X509(x, &out), m;
        if (n <= 0 || (size_t)n != size || memcmp(out, data, size) != 0)
            abort(); /* OpenSSL normalised an encoding the checker let through */
        m = i2d_re_X509_tbs(x, &tbs);
        if (m <= 0 || !tbs_span(data, size, &raw, &raw_len) || (size_t)m != raw_len ||
            memcmp(tbs, raw, raw_len) != 0)
            abort();
        OPENSSL_free(out);
        OPENSSL_free(tbs);
    }
    X509_free(x);
    ERR_clear_error();
    return 0;
}
