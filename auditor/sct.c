/* SCT checks; see sct.h. */
#include "auditor/sct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/consist.h"
#include "auditor/sth.h"
#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"

/* Verifies one decoded SCT for entry and fills res. */
static void check_one(arb_audit_sct_result *res, const arb_ct_sct *sct,
                      const arb_ct_signed_entry *entry, const arb_audit_loglist *logs)
{
    arb_ct_verifier *v = NULL;
    arb_errbuf eb;
    arb_sha256 *h = NULL;
    arb_ct_leaf leaf;

    memset(res, 0, sizeof *res);
    memcpy(res->log_id, sct->log_id, 32);
    res->timestamp = sct->timestamp;
    res->is_precert = entry->entry_type == ARB_CT_ENTRY_PRECERT;
    leaf.timestamp = sct->timestamp;
    leaf.entry = *entry;
    leaf.ext = sct->ext;
    leaf.ext_len = sct->ext_len;
    if (arb_sha256_new(&h) == ARB_OK) {
        if (arb_ct_leaf_hash(h, &res->leaf_hash, &leaf) != ARB_OK)
            memset(&res->leaf_hash, 0, sizeof res->leaf_hash);
        arb_sha256_free(h);
    }
    res->log = logs ? arb_audit_loglist_find(logs, sct->log_id) : NULL;
    if (res->log == NULL) {
        snprintf(res->detail, sizeof res->detail, "SCT from a log that is not in the list");
        return;
    }
    if (arb_ct_verifier_from_spki(&v, res->log->key, res->log->key_len, &eb) != ARB_OK) {
        snprintf(res->detail, sizeof res->detail, "log key: %s", eb.msg);
        return;
    }
    if (arb_ct_sct_verify(v, sct, entry) == ARB_OK) {
        res->sig_ok = 1;
        snprintf(res->detail, sizeof res->detail, "signature valid");
    } else {
        snprintf(res->detail, sizeof res->detail, "SCT signature does not verify");
    }
    arb_ct_verifier_free(v);
}

arb_err arb_audit_sct_check_embedded(arb_audit_sct_result **res, size_t *n, const uint8_t *cert,
                                     size_t cert_len, const uint8_t *issuer, size_t issuer_len,
                                     const arb_audit_loglist *logs, arb_errbuf *eb)
{
    uint8_t *list = NULL, *tbs = NULL;
    size_t list_len = 0, tbs_len = 0;
    arb_ct_cert_list scts = {NULL, 0};
    arb_ct_signed_entry entry;
    arb_err err;

    *res = NULL;
    *n = 0;
    memset(&entry, 0, sizeof entry);
    err = arb_ct_embedded_scts(&list, &list_len, &tbs, &tbs_len, cert, cert_len, eb);
    if (err != ARB_OK)
        return err;
    if ((err = arb_ct_issuer_key_hash(entry.issuer_key_hash, issuer, issuer_len)) != ARB_OK) {
        arb_errf(eb, err, "issuer: not a DER certificate");
        goto out;
    }
    if ((err = arb_ct_sct_list_decode(&scts, list, list_len)) != ARB_OK) {
        arb_errf(eb, err, "the embedded SCT list is malformed");
        goto out;
    }
    entry.entry_type = ARB_CT_ENTRY_PRECERT;
    entry.cert = tbs;
    entry.cert_len = tbs_len;
    *res = calloc(scts.n, sizeof **res);
    if (*res == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < scts.n; i++) {
        arb_ct_sct sct;
        if (arb_ct_sct_decode(&sct, scts.certs[i].der, scts.certs[i].len) != ARB_OK) {
            memset(&(*res)[i], 0, sizeof **res);
            snprintf((*res)[i].detail, sizeof(*res)[i].detail, "malformed SCT");
            continue;
        }
        check_one(&(*res)[i], &sct, &entry, logs);
    }
    *n = scts.n;
out:
    arb_ct_cert_list_free(&scts);
    free(list);
    free(tbs);
    return err;
}

arb_err arb_audit_sct_check_x509(arb_audit_sct_result *res, const uint8_t *cert, size_t cert_len,
                                 const uint8_t *sct_bytes, size_t sct_len,
                                 const arb_audit_loglist *logs, arb_errbuf *eb)
{
    arb_ct_sct sct;
    arb_ct_signed_entry entry;

    memset(res, 0, sizeof *res);
    if (arb_ct_sct_decode(&sct, sct_bytes, sct_len) != ARB_OK)
        return arb_errf(eb, ARB_ERR_PARSE, "not a TLS-encoded v1 SCT");
    memset(&entry, 0, sizeof entry);
    entry.entry_type = ARB_CT_ENTRY_X509;
    entry.cert = cert;
    entry.cert_len = cert_len;
    check_one(res, &sct, &entry, logs);
    return ARB_OK;
}

arb_err arb_audit_sct_parse(arb_ct_sct *sct, uint8_t **storage, const uint8_t *in, size_t len,
                             arb_errbuf *eb)
{
    size_t i = 0;

    *storage = NULL;
    while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n'))
        i++;
    if (i < len && in[i] == '{') {
        if (arb_ct_json_sct_parse(sct, storage, (const char *)in, len) != ARB_OK)
            return arb_errf(eb, ARB_ERR_PARSE,
                            "not an SCT: JSON, but not add-chain's answer "
                            "{\"sct_version\":0,\"id\",\"timestamp\",\"extensions\",\"signature\"}");
        return ARB_OK;
    }
    if (arb_ct_sct_decode(sct, in, len) != ARB_OK)
        return arb_errf(eb, ARB_ERR_PARSE,
                        "not an SCT: neither add-chain's JSON answer nor a TLS-encoded v1 SCT");
    return ARB_OK;
}

arb_err arb_audit_sct_check_given(arb_audit_sct_result *res, const uint8_t *cert, size_t cert_len,
                                  const uint8_t *issuer, size_t issuer_len,
                                  const uint8_t *sct_bytes, size_t sct_len,
                                  const arb_audit_loglist *logs, arb_errbuf *eb)
{
    arb_ct_sct sct;
    arb_ct_signed_entry entry;
    uint8_t *storage = NULL, *tbs = NULL;
    size_t tbs_len = 0;
    arb_errbuf tb;
    arb_err err;

    memset(res, 0, sizeof *res);
    if ((err = arb_audit_sct_parse(&sct, &storage, sct_bytes, sct_len, eb)) != ARB_OK)
        return err;
    memset(&entry, 0, sizeof entry);
    /* A precertificate (it carries the poison) was logged by add-pre-chain
     * as a precert_entry: its TBS without the poison and the issuer's key
     * hash (RFC 6962 3.2). */
    err = arb_ct_precert_tbs(&tbs, &tbs_len, cert, cert_len, NULL, 0, &tb);
    if (err == ARB_OK) {
        if (issuer == NULL) {
            free(tbs);
            free(storage);
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "the certificate is a precertificate: its SCT signs the issuer's key "
                            "too, so give the issuer (--issuer PEM, or as the second "
                            "certificate of the file)");
        }
        if (arb_ct_issuer_key_hash(entry.issuer_key_hash, issuer, issuer_len) != ARB_OK) {
            free(tbs);
            free(storage);
            return arb_errf(eb, ARB_ERR_PARSE, "issuer: not a DER certificate");
        }
        entry.entry_type = ARB_CT_ENTRY_PRECERT;
        entry.cert = tbs;
        entry.cert_len = tbs_len;
    } else if (err == ARB_ERR_VERIFY) {
        entry.entry_type = ARB_CT_ENTRY_X509;
        entry.cert = cert;
        entry.cert_len = cert_len;
    } else {
        free(storage);
        return arb_errf(eb, err, "certificate: %s", tb.msg);
    }
    check_one(res, &sct, &entry, logs);
    if (!res->sig_ok && res->log != NULL)
        snprintf(res->detail, sizeof res->detail,
                 "SCT signature does not verify for this %s (as an %s entry)",
                 res->is_precert ? "precertificate" : "certificate",
                 res->is_precert ? "add-pre-chain precert" : "add-chain x509");
    free(tbs);
    free(storage);
    return ARB_OK;
}

arb_err arb_audit_sct_inclusion(arb_audit_client *c, arb_audit_sct_result *res, uint64_t now_ms)
{
    arb_audit_sth sth;
    arb_ct_verifier *v = NULL;
    arb_errbuf eb;
    arb_hash path[64];
    size_t n = 0;
    uint64_t index = 0;
    arb_err err;
    int within;

    if (!res->sig_ok || res->log == NULL) {
        res->inclusion = ARB_AUDIT_INCL_UNCHECKED;
        return ARB_OK;
    }
    /* Within the merge delay the log may not have integrated the entry yet:
     * ask anyway (arbord integrates before it answers), and call a missing
     * proof pending rather than a failure. */
    within = now_ms < res->timestamp + res->log->mmd * 1000u;
    res->inclusion = ARB_AUDIT_INCL_ERROR;
    if ((err = arb_audit_get_sth(c, res->log, &sth, &eb)) != ARB_OK) {
        snprintf(res->detail, sizeof res->detail, "get-sth: %s", eb.msg);
        return ARB_OK;
    }
    if (arb_ct_verifier_from_spki(&v, res->log->key, res->log->key_len, &eb) != ARB_OK ||
        arb_audit_sth_verify(v, &sth, &eb) != ARB_OK) {
        arb_ct_verifier_free(v);
        snprintf(res->detail, sizeof res->detail, "tree head: %s", eb.msg);
        return ARB_OK;
    }
    arb_ct_verifier_free(v);
    err = arb_audit_get_proof_by_hash(c, res->log, &res->leaf_hash, sth.tree_size, &index, path, 64,
                                      &n, &eb);
    if (err == ARB_ERR_NET && strstr(eb.msg, "HTTP status 4") != NULL && within) {
        res->inclusion = ARB_AUDIT_INCL_PENDING;
        snprintf(res->detail, sizeof res->detail,
                 "signature valid; not in the tree of size %llu yet, within the merge delay "
                 "(%llu s from the SCT's timestamp)",
                 (unsigned long long)sth.tree_size, (unsigned long long)res->log->mmd);
        return ARB_OK;
    }
    if (err == ARB_ERR_NET && strstr(eb.msg, "HTTP status 4") != NULL) {
        res->inclusion = ARB_AUDIT_INCL_FAILED;
        snprintf(res->detail, sizeof res->detail,
                 "past the merge delay, the log has no inclusion proof at size %llu: %s",
                 (unsigned long long)sth.tree_size, eb.msg);
        return ARB_OK;
    }
    if (err != ARB_OK) {
        snprintf(res->detail, sizeof res->detail, "get-proof-by-hash: %s", eb.msg);
        return ARB_OK;
    }
    res->leaf_index = index;
    err = arb_audit_inclusion_verify(index, sth.tree_size, &res->leaf_hash, path, n, &sth.root,
                                     &eb);
    if (err == ARB_OK) {
        res->inclusion = ARB_AUDIT_INCL_PROVEN;
        snprintf(res->detail, sizeof res->detail,
                 "signature valid; included as leaf %llu of the verified tree of size %llu",
                 (unsigned long long)index, (unsigned long long)sth.tree_size);
    } else if (err == ARB_ERR_VERIFY) {
        res->inclusion = ARB_AUDIT_INCL_FAILED;
        snprintf(res->detail, sizeof res->detail, "the log's inclusion proof fails: %s", eb.msg);
    } else {
        snprintf(res->detail, sizeof res->detail, "%s", eb.msg);
    }
    return ARB_OK;
}
