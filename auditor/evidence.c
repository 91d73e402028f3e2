/* Misbehaviour reports: building and re-checking; see evidence.h. */
#include "auditor/evidence.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/consist.h"
#include "auditor/lightproof.h"
#include "ledger/log/key.h"
#include "merkle/buf.h"

static const char *const KIND_NAMES[] = {NULL,   "split-view", "shrinking-tree", "inconsistent",
                                         "fork", "anchored-split-view"};

const char *arb_audit_ev_kind_name(arb_audit_ev_kind k)
{
    if (k >= ARB_AUDIT_EV_SPLIT_VIEW && k <= ARB_AUDIT_EV_ANCHORED)
        return KIND_NAMES[k];
    return "unknown";
}

arb_audit_heads_rel arb_audit_heads_compare(const arb_audit_sth *a, const arb_audit_sth *b,
                                            int *older)
{
    if (a->tree_size == b->tree_size)
        return arb_hash_eq(&a->root, &b->root) ? ARB_AUDIT_HEADS_SAME : ARB_AUDIT_HEADS_SPLIT;
    /* Sizes differ: the later-signed head must be the larger. */
    if (a->timestamp < b->timestamp && b->tree_size < a->tree_size) {
        if (older)
            *older = 0;
        return ARB_AUDIT_HEADS_SHRINKING;
    }
    if (b->timestamp < a->timestamp && a->tree_size < b->tree_size) {
        if (older)
            *older = 1;
        return ARB_AUDIT_HEADS_SHRINKING;
    }
    return ARB_AUDIT_HEADS_NEED_PROOF;
}

static json_t *head_json(const arb_audit_sth *s, const char *src)
{
    json_t *o = arb_audit_sth_to_json(s);
    if (o && src)
        json_object_set_new(o, "source", json_string(src));
    return o;
}

json_t *arb_audit_evidence_make(arb_audit_ev_kind kind, const arb_audit_log *log,
                                const arb_audit_sth *a, const char *src_a, const arb_audit_sth *b,
                                const char *src_b, const arb_hash *proof, size_t n,
                                const char *detail, uint64_t now_ms)
{
    char *id = arb_base64_encode(log->log_id, 32);
    char *key = arb_base64_encode(log->key, log->key_len);
    json_t *o = NULL, *lj = NULL, *heads = NULL;

    if (id == NULL || key == NULL)
        goto out;
    lj = json_pack("{s:s, s:s, s:s, s:s}", "log_id", id, "key", key, "url",
                   log->url ? log->url : "", "description",
                   log->description ? log->description : "");
    heads = json_array();
    if (lj == NULL || heads == NULL)
        goto out;
    if (json_array_append_new(heads, head_json(a, src_a)) != 0 ||
        json_array_append_new(heads, head_json(b, src_b)) != 0)
        goto out;
    o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:I}", "format", ARB_AUDIT_EVIDENCE_FORMAT, "kind",
                  arb_audit_ev_kind_name(kind), "log", lj, "heads", heads, "detail",
                  detail ? detail : "", "observed_at", (json_int_t)now_ms);
    lj = heads = NULL; /* owned by o (or freed by json_pack on failure) */
    if (o && (kind == ARB_AUDIT_EV_INCONSISTENT || kind == ARB_AUDIT_EV_FORK)) {
        json_t *pj = json_array();
        for (size_t i = 0; pj && i < n; i++) {
            char *h = arb_base64_encode(proof[i].b, 32);
            if (h == NULL || json_array_append_new(pj, json_string(h)) != 0) {
                free(h);
                json_decref(pj);
                pj = NULL;
                break;
            }
            free(h);
        }
        if (pj == NULL || json_object_set_new(o, "consistency_proof", pj) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
out:
    json_decref(lj);
    json_decref(heads);
    free(id);
    free(key);
    return o;
}

json_t *arb_audit_evidence_make_fork(const arb_audit_log *log, const arb_audit_sth *a,
                                     const char *src_a, const arb_audit_sth *b,
                                     const char *src_b, const arb_hash *prefix_root,
                                     const arb_hash *proof, size_t n, const char *detail,
                                     uint64_t now_ms)
{
    json_t *o = arb_audit_evidence_make(ARB_AUDIT_EV_FORK, log, a, src_a, b, src_b, proof, n,
                                        detail, now_ms);
    char *r = arb_base64_encode(prefix_root->b, 32);

    if (o == NULL || r == NULL || json_object_set_new(o, "prefix_root", json_string(r)) != 0) {
        json_decref(o);
        o = NULL;
    }
    free(r);
    return o;
}

json_t *arb_audit_evidence_make_anchored(arb_audit_ev_kind relation, const arb_audit_log *log,
                                         const arb_audit_sth *a, const char *src_a,
                                         const arb_audit_sth *b, const char *src_b, int anchored,
                                         const arb_hash *prefix_root, const arb_hash *proof,
                                         size_t n, const char *network,
                                         const json_t *anchor_proof, const char *detail,
                                         uint64_t now_ms)
{
    json_t *o, *aj;

    if (relation < ARB_AUDIT_EV_SPLIT_VIEW || relation > ARB_AUDIT_EV_FORK ||
        (anchored != 0 && anchored != 1) || anchor_proof == NULL || network == NULL ||
        (relation == ARB_AUDIT_EV_FORK && prefix_root == NULL))
        return NULL;
    if (relation == ARB_AUDIT_EV_FORK)
        o = arb_audit_evidence_make_fork(log, a, src_a, b, src_b, prefix_root, proof, n, detail,
                                         now_ms);
    else
        o = arb_audit_evidence_make(relation, log, a, src_a, b, src_b, proof, n, detail, now_ms);
    aj = json_pack("{s:s, s:O}", "network", network, "proof", anchor_proof);
    if (o == NULL || aj == NULL ||
        json_object_set_new(o, "kind", json_string(KIND_NAMES[ARB_AUDIT_EV_ANCHORED])) != 0 ||
        json_object_set_new(o, "relation", json_string(KIND_NAMES[relation])) != 0 ||
        json_object_set_new(o, "anchored_head", json_integer(anchored)) != 0 ||
        json_object_set_new(o, "anchor", aj) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Reads a JSON array of base64 hashes (at most ARB_AUDIT_PROOF_MAX) into
 * *out (calloc'd, free()) and *n. Returns 0 on success, else 1 with the
 * reason in why. */
static int read_proof(const json_t *pj, arb_hash **out, size_t *n, char *why, size_t cap)
{
    const json_t *h;
    size_t i;

    *out = NULL;
    *n = 0;
    if (!json_is_array(pj) || json_array_size(pj) > ARB_AUDIT_PROOF_MAX) {
        snprintf(why, cap, "consistency_proof: missing or too long");
        return 1;
    }
    if ((*out = calloc(json_array_size(pj) ? json_array_size(pj) : 1, sizeof **out)) == NULL) {
        snprintf(why, cap, "out of memory");
        return 1;
    }
    json_array_foreach(pj, i, h) {
        uint8_t *raw = NULL;
        size_t rl = 0;
        if (!json_is_string(h) ||
            arb_base64_decode(&raw, &rl, json_string_value(h), json_string_length(h)) != ARB_OK ||
            rl != 32) {
            free(raw);
            snprintf(why, cap, "consistency_proof[%zu]: not a hash", i);
            return 1;
        }
        memcpy((*out)[i].b, raw, 32);
        free(raw);
    }
    *n = json_array_size(pj);
    return 0;
}

static arb_err fail(arb_audit_ev_result *res, arb_errbuf *eb, arb_err err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static arb_err fail(arb_audit_ev_result *res, arb_errbuf *eb, arb_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof res->reason, fmt, ap);
    va_end(ap);
    return arb_errf(eb, err, "%s", res->reason);
}

/* The anchored head of an anchored-split-view report: heads[res->anchored]
 * must be the head the proved anchor transaction carries. */
static arb_err check_anchor(arb_audit_ev_result *res, const json_t *root,
                            const arb_audit_ev_trust *trust, arb_errbuf *eb)
{
    const json_t *aj = json_object_get(root, "anchor"), *ij = json_object_get(root, "anchored_head");
    const json_t *nj, *rj = json_object_get(root, "relation");
    const char *rname = json_is_string(rj) ? json_string_value(rj) : "";
    arb_lightproof *lp = NULL;
    arb_lightproof_trust t;
    arb_lightproof_result lr;
    arb_sha256 *sha = NULL;
    uint8_t key[32];
    arb_errbuf sub;
    arb_err err;
    const arb_audit_sth *h;

    for (int k = ARB_AUDIT_EV_SPLIT_VIEW; k <= ARB_AUDIT_EV_FORK; k++)
        if (strcmp(rname, KIND_NAMES[k]) == 0)
            res->relation = (arb_audit_ev_kind)k;
    if (res->relation == 0)
        return fail(res, eb, ARB_ERR_PARSE, "relation: unknown \"%.40s\"", rname);
    if (!json_is_integer(ij) || (json_integer_value(ij) != 0 && json_integer_value(ij) != 1))
        return fail(res, eb, ARB_ERR_PARSE, "anchored_head: want 0 or 1");
    res->anchored = (int)json_integer_value(ij);
    nj = json_object_get(aj, "network");
    memset(&t, 0, sizeof t);
    t.params = json_is_string(nj) ? arb_chain_params_get(json_string_value(nj)) : NULL;
    if (!json_is_object(aj) || t.params == NULL || !t.params->has_ledger)
        return fail(res, eb, ARB_ERR_PARSE, "anchor.network: want main, test or regtest");
    if ((err = arb_lightproof_from_json(&lp, json_object_get(aj, "proof"), &sub)) != ARB_OK)
        return fail(res, eb, err, "anchor.proof: %s", sub.msg);
    if ((err = arb_sha256_new(&sha)) != ARB_OK) {
        arb_lightproof_free(lp);
        return fail(res, eb, err, "out of memory");
    }
    t.checkpoint = trust && trust->checkpoint ? *trust->checkpoint : lp->checkpoint;
    t.now = trust ? trust->now : INT64_MAX / 4;
    res->checkpoint = t.checkpoint;
    arb_anchor_key(sha, key, res->log_id);
    err = arb_lightproof_verify(sha, lp, &t, key, &lr, &sub);
    arb_lightproof_free(lp);
    arb_sha256_free(sha);
    if (err != ARB_OK)
        return fail(res, eb, err, "anchor.proof: %s", sub.msg);
    if (!lr.present || !lr.anchor_tx_checked)
        return fail(res, eb, ARB_ERR_VERIFY,
                    "anchor.proof: no anchored head with its anchor transaction");
    h = &res->heads[res->anchored];
    if (h->tree_size != lr.anchor.tree_size || h->timestamp != lr.anchor.timestamp ||
        memcmp(h->root.b, lr.anchor.root, 32) != 0 || h->sig_len != lr.anchor_sig_len ||
        memcmp(h->sig, lr.anchor_sig, h->sig_len) != 0)
        return fail(res, eb, ARB_ERR_VERIFY,
                    "heads[%d] is not the head the anchor transaction carries", res->anchored);
    res->anchor_height = lr.anchor.height;
    res->tip_height = lr.tip_height;
    return ARB_OK;
}

arb_err arb_audit_evidence_check(arb_audit_ev_result *res, const char *text, size_t len,
                                 const uint8_t *expect_log_id, arb_errbuf *eb)
{
    return arb_audit_evidence_check_trust(res, text, len, expect_log_id, NULL, eb);
}

arb_err arb_audit_evidence_check_trust(arb_audit_ev_result *res, const char *text, size_t len,
                                       const uint8_t *expect_log_id,
                                       const arb_audit_ev_trust *trust, arb_errbuf *eb)
{
    arb_audit_ev_kind kind;
    json_error_t je;
    json_t *root = NULL;
    const json_t *lj, *heads, *kj, *fj;
    arb_ct_verifier *v = NULL;
    uint8_t *key = NULL;
    size_t key_len = 0;
    arb_hash *proof = NULL;
    size_t n = 0;
    arb_errbuf sub;
    arb_err err;
    const char *kname;

    memset(res, 0, sizeof *res);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return fail(res, eb, ARB_ERR_PARSE, "not JSON: line %d: %s", je.line, je.text);
    fj = json_object_get(root, "format");
    if (!json_is_string(fj) || strcmp(json_string_value(fj), ARB_AUDIT_EVIDENCE_FORMAT) != 0) {
        err = fail(res, eb, ARB_ERR_PARSE, "not a misbehaviour report (format is not \"%s\")",
                   ARB_AUDIT_EVIDENCE_FORMAT);
        goto out;
    }
    kj = json_object_get(root, "kind");
    kname = json_is_string(kj) ? json_string_value(kj) : "";
    for (int k = ARB_AUDIT_EV_SPLIT_VIEW; k <= ARB_AUDIT_EV_ANCHORED; k++)
        if (strcmp(kname, KIND_NAMES[k]) == 0)
            res->kind = (arb_audit_ev_kind)k;
    if (res->kind == 0) {
        err = fail(res, eb, ARB_ERR_PARSE, "unknown kind \"%.40s\"", kname);
        goto out;
    }
    lj = json_object_get(root, "log");
    if (!json_is_object(lj) || !json_is_string(json_object_get(lj, "key"))) {
        err = fail(res, eb, ARB_ERR_PARSE, "log.key missing");
        goto out;
    }
    {
        const char *k = json_string_value(json_object_get(lj, "key"));
        if (arb_base64_decode(&key, &key_len, k, strlen(k)) != ARB_OK) {
            err = fail(res, eb, ARB_ERR_PARSE, "log.key: not base64");
            goto out;
        }
    }
    if (arb_ct_verifier_from_spki(&v, key, key_len, &sub) != ARB_OK) {
        err = fail(res, eb, ARB_ERR_PARSE, "log.key: %s", sub.msg);
        goto out;
    }
    arb_ct_verifier_log_id(v, res->log_id);
    if (expect_log_id && memcmp(expect_log_id, res->log_id, 32) != 0) {
        err = fail(res, eb, ARB_ERR_VERIFY, "the report is about another log (key mismatch)");
        goto out;
    }
    heads = json_object_get(root, "heads");
    if (!json_is_array(heads) || json_array_size(heads) != 2) {
        err = fail(res, eb, ARB_ERR_PARSE, "heads: want an array of two tree heads");
        goto out;
    }
    for (size_t i = 0; i < 2; i++) {
        if (arb_audit_sth_from_json(&res->heads[i], json_array_get(heads, i), &sub) != ARB_OK) {
            err = fail(res, eb, ARB_ERR_PARSE, "heads[%zu]: %s", i, sub.msg);
            goto out;
        }
        if (arb_audit_sth_verify(v, &res->heads[i], &sub) != ARB_OK) {
            err = fail(res, eb, ARB_ERR_VERIFY, "heads[%zu]: %s", i, sub.msg);
            goto out;
        }
    }
    kind = res->kind;
    if (kind == ARB_AUDIT_EV_ANCHORED) {
        if ((err = check_anchor(res, root, trust, eb)) != ARB_OK)
            goto out;
        kind = res->relation;
    }
    {
        const arb_audit_sth *a = &res->heads[0], *b = &res->heads[1];
        unsigned long long sa = (unsigned long long)a->tree_size,
                           sb = (unsigned long long)b->tree_size;
        switch (kind) {
        case ARB_AUDIT_EV_SPLIT_VIEW:
            if (a->tree_size != b->tree_size) {
                err = fail(res, eb, ARB_ERR_VERIFY, "split-view: sizes differ (%llu, %llu)", sa, sb);
                goto out;
            }
            if (arb_hash_eq(&a->root, &b->root)) {
                err = fail(res, eb, ARB_ERR_VERIFY, "split-view: the root hashes are equal");
                goto out;
            }
            err = fail(res, eb, ARB_OK,
                       "split view: two signed heads of size %llu with different roots", sa);
            goto out;
        case ARB_AUDIT_EV_SHRINKING:
            if (!(a->timestamp < b->timestamp && b->tree_size < a->tree_size)) {
                err = fail(res, eb, ARB_ERR_VERIFY,
                           "shrinking-tree: the later head is not smaller (%llu@%llu, %llu@%llu)",
                           sa, (unsigned long long)a->timestamp, sb,
                           (unsigned long long)b->timestamp);
                goto out;
            }
            err = fail(res, eb, ARB_OK, "the log shrank: size %llu signed after size %llu", sb, sa);
            goto out;
        case ARB_AUDIT_EV_INCONSISTENT: {
            const json_t *pj = json_object_get(root, "consistency_proof");
            if (!(a->tree_size < b->tree_size) || a->tree_size == 0) {
                err = fail(res, eb, ARB_ERR_VERIFY,
                           "inconsistent: want 0 < heads[0].tree_size < heads[1].tree_size");
                goto out;
            }
            char why[120];
            if (read_proof(pj, &proof, &n, why, sizeof why)) {
                err = fail(res, eb, strcmp(why, "out of memory") == 0 ? ARB_ERR_NOMEM
                                                                     : ARB_ERR_PARSE,
                           "%s", why);
                goto out;
            }
            err = arb_audit_consistency_verify(a->tree_size, &a->root, b->tree_size, &b->root,
                                               proof, n, &sub);
            if (err == ARB_OK)
                err = fail(res, eb, ARB_ERR_VERIFY,
                           "inconsistent: the consistency proof %llu -> %llu verifies", sa, sb);
            else if (err == ARB_ERR_VERIFY)
                err = fail(res, eb, ARB_OK,
                           "the log's consistency proof %llu -> %llu does not verify: %s", sa, sb,
                           sub.msg);
            else
                err = fail(res, eb, err, "cannot check: %s", sub.msg);
            goto out;
        }
        case ARB_AUDIT_EV_FORK: {
            const json_t *rj = json_object_get(root, "prefix_root");
            uint8_t *raw = NULL;
            size_t rl = 0;
            arb_hash prefix;
            char why[120];
            if (!(a->tree_size < b->tree_size) || a->tree_size == 0) {
                err = fail(res, eb, ARB_ERR_VERIFY,
                           "fork: want 0 < heads[0].tree_size < heads[1].tree_size");
                goto out;
            }
            if (!json_is_string(rj) ||
                arb_base64_decode(&raw, &rl, json_string_value(rj), json_string_length(rj)) !=
                    ARB_OK ||
                rl != 32) {
                free(raw);
                err = fail(res, eb, ARB_ERR_PARSE, "prefix_root: missing or not a hash");
                goto out;
            }
            memcpy(prefix.b, raw, 32);
            free(raw);
            if (read_proof(json_object_get(root, "consistency_proof"), &proof, &n, why,
                           sizeof why)) {
                err = fail(res, eb, strcmp(why, "out of memory") == 0 ? ARB_ERR_NOMEM
                                                                     : ARB_ERR_PARSE,
                           "%s", why);
                goto out;
            }
            if (arb_hash_eq(&prefix, &a->root)) {
                err = fail(res, eb, ARB_ERR_VERIFY,
                           "fork: prefix_root is heads[0]'s root (no fork shown)");
                goto out;
            }
            err = arb_audit_consistency_verify(a->tree_size, &prefix, b->tree_size, &b->root,
                                               proof, n, &sub);
            if (err == ARB_OK)
                err = fail(res, eb, ARB_OK,
                           "fork: the tree of size %llu the log signed has another root at size "
                           "%llu than the head of size %llu it signed",
                           sb, sa, sa);
            else if (err == ARB_ERR_VERIFY)
                err = fail(res, eb, ARB_ERR_VERIFY,
                           "fork: the proof does not lead from prefix_root to heads[1]: %s",
                           sub.msg);
            else
                err = fail(res, eb, err, "cannot check: %s", sub.msg);
            goto out;
        }
        case ARB_AUDIT_EV_ANCHORED:
            break;
        }
    }
    err = fail(res, eb, ARB_ERR_INTERNAL, "unreachable");
out:
    if (err == ARB_OK && res->kind == ARB_AUDIT_EV_ANCHORED) {
        char tmp[sizeof res->reason];
        snprintf(tmp, sizeof tmp, "%s", res->reason);
        snprintf(res->reason, sizeof res->reason,
                 "against the head anchored at height %lu: %.150s",
                 (unsigned long)res->anchor_height, tmp);
        arb_errf(eb, ARB_OK, "%s", res->reason);
    }
    free(proof);
    free(key);
    arb_ct_verifier_free(v);
    json_decref(root);
    return err;
}
