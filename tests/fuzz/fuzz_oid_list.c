/* Fuzzes the OID list parser of the log's submission policy
 * (arb_ct_oid_list_parse): the first byte picks whether extended key usage
 * names are allowed, the rest is the text. Invariants: no crash; on success
 * at most ARB_CT_OIDS_MAX distinct OIDs, each of which OpenSSL parses as a
 * dotted OID and prints back to the same text (two parsers agree); on
 * failure an empty list and a one-line reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "ledger/log/chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_ct_oid_list l;
    arb_errbuf eb;
    char *text;
    size_t i, k;

    if (size == 0 || size > 4096)
        return 0;
    if ((text = malloc(size)) == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    eb.msg[0] = 0;
    if (arb_ct_oid_list_parse(&l, text, data[0] & 1, &eb) == ARB_OK) {
        if (l.n > ARB_CT_OIDS_MAX)
            abort();
        for (i = 0; i < l.n; i++) {
            char back[ARB_CT_OID_MAX + 8];
            ASN1_OBJECT *o;
            if (strlen(l.oid[i]) >= ARB_CT_OID_MAX || (o = OBJ_txt2obj(l.oid[i], 1)) == NULL)
                abort();
            if (OBJ_obj2txt(back, sizeof(back), o, 1) <= 0 || strcmp(back, l.oid[i]) != 0)
                abort();
            ASN1_OBJECT_free(o);
            for (k = 0; k < i; k++)
                if (strcmp(l.oid[k], l.oid[i]) == 0)
                    abort();
        }
    } else if (l.n != 0 || strchr(eb.msg, '\n') != NULL) {
        abort();
    }
    free(text);
    return 0;
}
