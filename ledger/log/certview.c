/* A readable view of a logged certificate (see certview.h). */
#include "ledger/log/certview.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>

#include "ledger/log/domains.h"
#include "ledger/log/domains_internal.h"

static void name_text(char *out, size_t cap, const X509_NAME *nm)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = 0;
    out[0] = '\0';
    if (b == NULL)
        return;
    if (nm != NULL &&
        X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
        n = BIO_read(b, out, (int)cap - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

static int64_t when(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    return (int64_t)timegm(&tm);
}

arb_err arb_certview_read(arb_certview *out, const arb_ct_signed_entry *entry)
{
    X509 *x;
    arb_err err;

    memset(out, 0, sizeof *out);
    if ((x = arb_domains_entry_x509(entry)) == NULL)
        return ARB_ERR_PARSE;
    name_text(out->subject, sizeof out->subject, X509_get_subject_name(x));
    name_text(out->issuer, sizeof out->issuer, X509_get_issuer_name(x));
    {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        if (hex != NULL) {
            size_t i;
            for (i = 0; hex[i] && i < sizeof out->serial - 1; i++)
                out->serial[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
            out->serial[i] = '\0';
        }
        OPENSSL_free(hex);
        BN_free(bn);
    }
    out->not_before = when(X509_get0_notBefore(x));
    out->not_after = when(X509_get0_notAfter(x));
    X509_free(x);
    err = arb_domains_names(entry, &out->names, &out->n_names);
    if (err != ARB_OK) {
        arb_certview_clear(out);
        return err;
    }
    return ARB_OK;
}

void arb_certview_clear(arb_certview *v)
{
    if (v == NULL)
        return;
    arb_domains_names_free(v->names, v->n_names);
    memset(v, 0, sizeof *v);
}
