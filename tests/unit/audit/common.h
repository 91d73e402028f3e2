/* Helpers shared by the auditor tests: a log key made in the test and tree
 * heads signed with it. */
#ifndef ARB_TESTS_UNIT_AUDIT_COMMON_H
#define ARB_TESTS_UNIT_AUDIT_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "auditor/loglist.h"
#include "auditor/sth.h"
#include "ledger/log/key.h"

/* A fresh log: signer plus its arb_audit_log description (url given). */
static inline int tlog_new(arb_ct_signer **s, arb_audit_log *lg, const char *url)
{
    uint8_t *der = NULL;
    size_t len = 0;
    arb_errbuf eb;
    int ok = arb_ct_signer_generate(s, &eb) == ARB_OK && arb_ct_signer_spki(*s, &der, &len) == ARB_OK &&
             arb_audit_log_from_key(lg, url, 0, der, len, 60, &eb) == ARB_OK;
    free(der);
    return ok;
}

/* Signs a tree head (root filled with byte `fill`) into *out. */
static inline int tlog_sth(arb_audit_sth *out, const arb_ct_signer *s, uint64_t size, uint64_t ts,
                           const arb_hash *root)
{
    uint8_t sigbuf[ARB_CT_SIG_MAX];
    arb_ct_dsig d;
    arb_buf b = ARB_BUF_INIT;
    int ok;

    memset(out, 0, sizeof *out);
    out->tree_size = size;
    out->timestamp = ts;
    out->root = *root;
    ok = arb_ct_sth_sign(s, &d, sigbuf, ts, size, root->b) == ARB_OK &&
         arb_ct_dsig_encode(&b, &d) == ARB_OK && b.len <= sizeof out->sig;
    if (ok) {
        memcpy(out->sig, b.data, b.len);
        out->sig_len = b.len;
    }
    arb_buf_free(&b);
    return ok;
}

static inline arb_hash thash(uint8_t fill)
{
    arb_hash h;
    memset(h.b, fill, 32);
    return h;
}

#endif
