/* Anchored inclusion proofs; see anchored.h. */
#include "auditor/anchored.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/consist.h"
#include "merkle/buf.h"

static json_t *jb64(const uint8_t *d, size_t n)
{
    char *s = arb_base64_encode(d, n);
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

json_t *arb_audit_anchored_make(const char *network, const uint8_t log_id32[32],
                                const arb_hash *leaf_hash, uint64_t sct_timestamp,
                                uint64_t leaf_index, const arb_hash *proof, size_t n,
                                const json_t *anchor_proof)
{
    json_t *pj = json_array();
    for (size_t i = 0; pj != NULL && i < n; i++) {
        if (json_array_append_new(pj, jb64(proof[i].b, 32)) != 0) {
            json_decref(pj);
            pj = NULL;
        }
    }
    return json_pack("{s:s, s:s, s:o*, s:o*, s:I, s:I, s:o*, s:O}", "format",
                     ARB_AUDIT_ANCHORED_FORMAT, "network", network, "log_id", jb64(log_id32, 32),
                     "leaf_hash", jb64(leaf_hash->b, 32), "sct_timestamp",
                     (json_int_t)sct_timestamp, "leaf_index", (json_int_t)leaf_index,
                     "inclusion_proof", pj, "anchor", anchor_proof);
}

static arb_err afail(arb_audit_anchored_result *res, arb_errbuf *eb, arb_err err,
                     const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static arb_err afail(arb_audit_anchored_result *res, arb_errbuf *eb, arb_err err,
                     const char *reason, const char *fmt, ...)
{
    va_list ap;
    res->reason = reason;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
    return arb_errf(eb, err, "%s: %s", reason, res->detail);
}

static int b64_hash(const json_t *j, arb_hash *out)
{
    uint8_t *raw = NULL;
    size_t rl = 0;
    int ok = json_is_string(j) &&
             arb_base64_decode(&raw, &rl, json_string_value(j), json_string_length(j)) == ARB_OK &&
             rl == 32;
    if (ok)
        memcpy(out->b, raw, 32);
    free(raw);
    return ok;
}

arb_err arb_audit_anchored_check(arb_sha256 *sha, const char *text, size_t len,
                                 const arb_lightproof_trust *t, const arb_hash *expect_leaf,
                                 arb_audit_anchored_result *res, arb_errbuf *eb)
{
    json_error_t je;
    json_t *root;
    const json_t *j, *e;
    arb_lightproof *lp = NULL;
    arb_lightproof_trust tt = *t;
    arb_lightproof_result lr;
    arb_hash logid, proof[ARB_MERKLE_MAX_PROOF], zero;
    uint8_t key[32];
    size_t n = 0, i;
    arb_errbuf sub;
    arb_err err;

    memset(res, 0, sizeof *res);
    memset(&zero, 0, sizeof zero);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return afail(res, eb, ARB_ERR_PARSE, "parse", "not JSON: line %d: %s", je.line, je.text);
    err = ARB_ERR_PARSE;
    j = json_object_get(root, "format");
    if (!json_is_string(j) || strcmp(json_string_value(j), ARB_AUDIT_ANCHORED_FORMAT) != 0) {
        afail(res, eb, err, "parse", "not an anchored inclusion proof (format is not \"%s\")",
              ARB_AUDIT_ANCHORED_FORMAT);
        goto out;
    }
    j = json_object_get(root, "network");
    tt.params = json_is_string(j) ? arb_chain_params_get(json_string_value(j)) : NULL;
    if (tt.params == NULL || !tt.params->has_ledger) {
        afail(res, eb, err, "parse", "network: want main, test or regtest");
        goto out;
    }
    if (!b64_hash(json_object_get(root, "log_id"), &logid) ||
        !b64_hash(json_object_get(root, "leaf_hash"), &res->leaf_hash)) {
        afail(res, eb, err, "parse", "log_id and leaf_hash: want base64 hashes");
        goto out;
    }
    memcpy(res->log_id, logid.b, 32);
    j = json_object_get(root, "sct_timestamp");
    e = json_object_get(root, "leaf_index");
    if (!json_is_integer(j) || json_integer_value(j) < 0 || !json_is_integer(e) ||
        json_integer_value(e) < 0) {
        afail(res, eb, err, "parse", "sct_timestamp and leaf_index: want integers");
        goto out;
    }
    res->sct_timestamp = (uint64_t)json_integer_value(j);
    res->leaf_index = (uint64_t)json_integer_value(e);
    j = json_object_get(root, "inclusion_proof");
    if (!json_is_array(j) || json_array_size(j) > ARB_MERKLE_MAX_PROOF) {
        afail(res, eb, err, "parse", "inclusion_proof: want at most 65 base64 hashes");
        goto out;
    }
    json_array_foreach(j, i, e) {
        if (!b64_hash(e, &proof[i])) {
            afail(res, eb, err, "parse", "inclusion_proof[%zu]: not a base64 hash", i);
            goto out;
        }
    }
    n = json_array_size(j);
    if ((err = arb_lightproof_from_json(&lp, json_object_get(root, "anchor"), &sub)) != ARB_OK) {
        afail(res, eb, err, "parse", "anchor: %s", sub.msg);
        goto out;
    }
    if (arb_hash_eq(&tt.checkpoint, &zero))
        tt.checkpoint = lp->checkpoint;
    res->checkpoint = tt.checkpoint;
    arb_anchor_key(sha, key, res->log_id);
    if ((err = arb_lightproof_verify(sha, lp, &tt, key, &lr, &sub)) != ARB_OK) {
        if (err == ARB_ERR_VERIFY) {
            res->reason = lr.reason;
            snprintf(res->detail, sizeof res->detail, "the anchored head: %s", lr.detail);
            arb_errf(eb, err, "%s", sub.msg);
        } else {
            afail(res, eb, err, "error", "%s", sub.msg);
        }
        goto out;
    }
    err = ARB_ERR_VERIFY;
    if (!lr.present || !lr.anchor_tx_checked) {
        afail(res, eb, err, "wrong-log", "the chain holds no anchored head of this log");
        goto out;
    }
    res->head = lr.anchor;
    res->tip_height = lr.tip_height;
    if (expect_leaf != NULL && !arb_hash_eq(expect_leaf, &res->leaf_hash)) {
        afail(res, eb, err, "leaf-mismatch", "the proof is about another entry");
        goto out;
    }
    {
        arb_hash aroot;
        memcpy(aroot.b, lr.anchor.root, 32);
        if (res->leaf_index >= lr.anchor.tree_size ||
            arb_audit_inclusion_verify(res->leaf_index, lr.anchor.tree_size, &res->leaf_hash, proof,
                                       n, &aroot, &sub) != ARB_OK) {
            afail(res, eb, err, "not-included",
                  "the inclusion proof does not lead to the anchored root of size %llu",
                  (unsigned long long)lr.anchor.tree_size);
            goto out;
        }
    }
    err = ARB_OK;
out:
    arb_lightproof_free(lp);
    json_decref(root);
    return err;
}

const char *arb_audit_anch_status_str(arb_audit_anch_status s)
{
    switch (s) {
    case ARB_AUDIT_ANCH_PROVEN:
        return "anchored";
    case ARB_AUDIT_ANCH_PENDING:
        return "pending";
    case ARB_AUDIT_ANCH_FAILED:
        return "failed";
    default:
        return "not-checked";
    }
}

arb_audit_anch_status arb_audit_sct_anchored(arb_audit_client *c, arb_sha256 *sha,
                                             const char *chain_url, const char *network,
                                             const arb_lightproof_trust *t,
                                             const arb_audit_sct_result *res, json_t **doc,
                                             char *detail, size_t cap)
{
    char url[1024], idhex[65], cp[65];
    size_t ul = strlen(chain_url);
    long status = 0;
    uint8_t *body = NULL, key[32];
    size_t blen = 0;
    json_t *answer = NULL, *pj;
    arb_lightproof *lp = NULL;
    arb_lightproof_result lr;
    arb_errbuf eb;
    arb_hash path[ARB_MERKLE_MAX_PROOF], aroot;
    size_t n = 0;
    uint64_t index = 0, deadline;
    arb_err err;
    arb_audit_anch_status st = ARB_AUDIT_ANCH_ERROR;

    *doc = NULL;
    if (!res->sig_ok || res->log == NULL) {
        snprintf(detail, cap, "the SCT's signature was not verified");
        return ARB_AUDIT_ANCH_ERROR;
    }
    while (ul > 0 && chain_url[ul - 1] == '/')
        ul--;
    arb_hex_encode(idhex, res->log_id, 32);
    arb_chain_hash_hex(cp, &t->checkpoint);
    snprintf(url, sizeof url, "%.*s/chain/v1/anchors/%s?proof=1&checkpoint=%s", (int)ul,
             chain_url, idhex, cp);
    if (arb_audit_http(c, url, NULL, 0, NULL, &status, &body, &blen, &eb) != ARB_OK) {
        snprintf(detail, cap, "%s: %s", url, eb.msg);
        goto out;
    }
    if (status != 200 && status != 404) {
        snprintf(detail, cap, "%s: HTTP %ld", url, status);
        goto out;
    }
    answer = json_loadb((const char *)body, blen, JSON_REJECT_DUPLICATES, NULL);
    if (answer == NULL || arb_lightproof_from_json(&lp, answer, &eb) != ARB_OK) {
        snprintf(detail, cap, "the chain's anchors answer has no valid proof: %s",
                 answer == NULL ? "not JSON" : eb.msg);
        goto out;
    }
    arb_anchor_key(sha, key, res->log_id);
    if (arb_lightproof_verify(sha, lp, t, key, &lr, &eb) != ARB_OK) {
        snprintf(detail, cap, "the chain's proof of the anchored head does not verify: %s",
                 eb.msg);
        goto out;
    }
    deadline = res->timestamp + res->log->mmd * 1000u;
    if (!lr.present) {
        st = ARB_AUDIT_ANCH_PENDING;
        snprintf(detail, cap, "the chain holds no anchored head of this log (at height %lu)",
                 (unsigned long)lr.tip_height);
        if (lr.tip_time * 1000ull >= deadline) {
            st = ARB_AUDIT_ANCH_FAILED;
            snprintf(detail, cap,
                     "the chain holds no anchored head of this log at height %lu, past the "
                     "merge delay",
                     (unsigned long)lr.tip_height);
        }
        goto out;
    }
    if (!lr.anchor_tx_checked) {
        snprintf(detail, cap, "the chain's answer lacks the anchor transaction");
        goto out;
    }
    err = ARB_ERR_NOT_FOUND;
    if (lr.anchor.tree_size > 0)
        err = arb_audit_get_proof_by_hash(c, res->log, &res->leaf_hash, lr.anchor.tree_size,
                                          &index, path, ARB_MERKLE_MAX_PROOF, &n, &eb);
    memcpy(aroot.b, lr.anchor.root, 32);
    if (err == ARB_OK && index < lr.anchor.tree_size &&
        arb_audit_inclusion_verify(index, lr.anchor.tree_size, &res->leaf_hash, path, n, &aroot,
                                   &eb) == ARB_OK) {
        pj = json_object_get(answer, "proof");
        *doc = arb_audit_anchored_make(network, res->log_id, &res->leaf_hash, res->timestamp,
                                       index, path, n, pj);
        if (*doc == NULL) {
            snprintf(detail, cap, "out of memory");
            goto out;
        }
        st = ARB_AUDIT_ANCH_PROVEN;
        snprintf(detail, cap,
                 "leaf %llu of the head of size %llu anchored at height %lu (chain tip %lu)",
                 (unsigned long long)index, (unsigned long long)lr.anchor.tree_size,
                 (unsigned long)lr.anchor.height, (unsigned long)lr.tip_height);
        goto out;
    }
    if (err != ARB_OK && err != ARB_ERR_NOT_FOUND &&
        !(err == ARB_ERR_NET && strstr(eb.msg, "HTTP status 4") != NULL)) {
        snprintf(detail, cap, "get-proof-by-hash: %s", eb.msg);
        goto out;
    }
    if (lr.anchor.timestamp >= deadline) {
        st = ARB_AUDIT_ANCH_FAILED;
        snprintf(detail, cap,
                 "not in the head of size %llu anchored at height %lu, which the log signed "
                 "after the merge delay ended",
                 (unsigned long long)lr.anchor.tree_size, (unsigned long)lr.anchor.height);
    } else {
        st = ARB_AUDIT_ANCH_PENDING;
        snprintf(detail, cap,
                 "not in the latest anchored head (size %llu, height %lu), signed before the "
                 "merge delay ended",
                 (unsigned long long)lr.anchor.tree_size, (unsigned long)lr.anchor.height);
    }
out:
    free(body);
    json_decref(answer);
    arb_lightproof_free(lp);
    return st;
}
