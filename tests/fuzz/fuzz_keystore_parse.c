/* Fuzzes the keystore file parser. Invariants: whatever parses formats and
 * re-parses to the same fields (the name registrations too); opening a parsed file with a wrong passphrase
 * fails cleanly (cheap scrypt costs only, to keep runs fast). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wallet/keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_keystore ks, again;
    arb_errbuf eb;
    char *json = NULL;

    if (arb_keystore_parse(&ks, (const char *)data, size, &eb) != ARB_OK)
        return 0;
    if (arb_keystore_format(&json, &ks) != ARB_OK)
        abort();
    if (arb_keystore_parse(&again, json, strlen(json), &eb) != ARB_OK)
        abort();
    if (strcmp(ks.network, again.network) != 0 || ks.next_receive != again.next_receive ||
        ks.next_change != again.next_change || ks.log2_n != again.log2_n || ks.r != again.r ||
        ks.p != again.p || memcmp(ks.salt, again.salt, 16) != 0 ||
        memcmp(ks.nonce, again.nonce, 12) != 0 || memcmp(ks.tag, again.tag, 16) != 0 ||
        ks.ct_len != again.ct_len || memcmp(ks.ct, again.ct, ks.ct_len) != 0 ||
        ks.n_names != again.n_names)
        abort();
    for (size_t i = 0; i < ks.n_names; i++) {
        const arb_keystore_namereg *a = &ks.names[i], *b = &again.names[i];
        if (strcmp(a->name, b->name) != 0 || a->stage != b->stage ||
            memcmp(a->salt, b->salt, 32) != 0 || memcmp(a->owner, b->owner, 32) != 0 ||
            a->burn != b->burn || strcmp(a->preorder_txid, b->preorder_txid) != 0 ||
            strcmp(a->register_txid, b->register_txid) != 0 || a->time != b->time ||
            a->zonefile_len != b->zonefile_len ||
            (a->zonefile_len > 0 && memcmp(a->zonefile, b->zonefile, a->zonefile_len) != 0))
            abort();
    }
    if (ks.log2_n <= 6 && ks.r <= 8 && ks.p <= 2) {
        arb_wallet_secret s;
        arb_err e = arb_keystore_open(&ks, "fuzz", 4, &s, &eb);
        if (e != ARB_OK && e != ARB_ERR_VERIFY && e != ARB_ERR_PARSE)
            abort();
        arb_wallet_secret_wipe(&s);
    }
    free(json);
    arb_keystore_clear(&ks);
    arb_keystore_clear(&again);
    return 0;
}
