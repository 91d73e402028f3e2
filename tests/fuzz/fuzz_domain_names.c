/* Fuzzes the domain index's reading of hostile certificates and names:
 * byte 0 picks x509_entry or precert_entry (a TBSCertificate), the rest is
 * the DER. Invariants: no crash or leak; every name returned is a hostname
 * that normalizes to itself, names are sorted and distinct. The same input
 * as a C string goes through arb_domains_normalize, whose output must be
 * stable (normalizing it again gives it back), and through
 * arb_domains_parse_after and arb_domains_parse_after_date, which must
 * round-trip. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/log/domains.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_ct_signed_entry e;
    char **v = NULL, norm[ARB_DOMAINS_NAME_MAX + 1], again[ARB_DOMAINS_NAME_MAX + 1];
    size_t n = 0;

    if (size < 1)
        return 0;
    memset(&e, 0, sizeof e);
    e.entry_type = data[0] & 1 ? ARB_CT_ENTRY_PRECERT : ARB_CT_ENTRY_X509;
    e.cert = data + 1;
    e.cert_len = size - 1;
    if (arb_domains_names(&e, &v, &n) == ARB_OK) {
        for (size_t i = 0; i < n; i++) {
            if (!arb_domains_normalize(norm, v[i]) || strcmp(norm, v[i]) != 0)
                abort();
            if (i > 0 && strcmp(v[i - 1], v[i]) >= 0)
                abort();
        }
        arb_domains_names_free(v, n);
    } else if (v != NULL || n != 0) {
        abort();
    }
    if (size < 400) {
        char s[400];
        memcpy(s, data + 1, size - 1);
        s[size - 1] = 0;
        if (arb_domains_normalize(norm, s) &&
            (!arb_domains_normalize(again, norm) || strcmp(again, norm) != 0))
            abort();
        /* A resume point: what parses prints back to something that parses
         * to the same. */
        arb_domains_hit h, h2;
        if (arb_domains_parse_after(&h, s)) {
            char back[ARB_DOMAINS_NAME_MAX + 32];
            snprintf(back, sizeof back, "%s:%llu", h.name, (unsigned long long)h.index);
            if (!arb_domains_parse_after(&h2, back) || strcmp(h.name, h2.name) != 0 ||
                h.index != h2.index)
                abort();
        }
        /* The same for a date-order resume point TIMESTAMP:INDEX:NAME. */
        if (arb_domains_parse_after_date(&h, s)) {
            char back[ARB_DOMAINS_NAME_MAX + 64];
            snprintf(back, sizeof back, "%llu:%llu:%s", (unsigned long long)h.timestamp,
                     (unsigned long long)h.index, h.name);
            if (!arb_domains_parse_after_date(&h2, back) || strcmp(h.name, h2.name) != 0 ||
                h.index != h2.index || h.timestamp != h2.timestamp)
                abort();
        }
    }
    return 0;
}
