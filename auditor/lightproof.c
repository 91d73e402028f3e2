#include "auditor/lightproof.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/block.h"
#include "ledger/chain/hdrcheck.h"
#include "ledger/chain/tx.h"
#include "merkle/buf.h"
#include "merkle/smt.h"

/* ------------------------------------------------------------------ parse */

static arb_err perr(arb_errbuf *eb, const char *field, const char *what)
{
    return arb_errf(eb, ARB_ERR_PARSE, "proof: \"%s\" %s", field, what);
}

/* A JSON integer in [0, max]. */
static int get_uint(const json_t *o, const char *name, uint64_t max, uint64_t *out)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

/* Fixed-length hex into out[n]. */
static int hex_fixed(const json_t *v, uint8_t *out, size_t n)
{
    if (!json_is_string(v) || json_string_length(v) != 2 * n)
        return 0;
    return arb_hex_decode(out, n, json_string_value(v), 2 * n);
}

/* Variable-length hex, 1..max bytes, allocated. */
static arb_err hex_var(const json_t *v, size_t max, uint8_t **out, size_t *len)
{
    size_t hl;
    *out = NULL;
    *len = 0;
    if (!json_is_string(v))
        return ARB_ERR_PARSE;
    hl = json_string_length(v);
    if (hl == 0 || hl % 2 || hl / 2 > max || strlen(json_string_value(v)) != hl)
        return ARB_ERR_PARSE;
    return arb_hex_decode_alloc(out, len, json_string_value(v));
}

static int hash_list(const json_t *v, arb_hash *out, size_t *n)
{
    size_t i;
    const json_t *e;
    *n = 0;
    if (!json_is_array(v) || json_array_size(v) > ARB_MERKLE_MAX_PROOF)
        return 0;
    json_array_foreach(v, i, e) {
        if (!hex_fixed(e, out[i].b, 32))
            return 0;
    }
    *n = json_array_size(v);
    return 1;
}

void arb_lightproof_free(arb_lightproof *lp)
{
    if (lp == NULL)
        return;
    free(lp->headers);
    free(lp->coinbase);
    free(lp->smt_proof);
    free(lp->anchor_tx);
    free(lp);
}

arb_err arb_lightproof_from_json(arb_lightproof **out, const json_t *obj, arb_errbuf *eb)
{
    arb_lightproof *lp;
    const json_t *v, *e;
    uint64_t u;
    size_t i;
    arb_err err;

    *out = NULL;
    if (json_is_object(obj) && json_is_object(json_object_get(obj, "proof")))
        obj = json_object_get(obj, "proof");
    if (!json_is_object(obj))
        return arb_errf(eb, ARB_ERR_PARSE, "proof: not a JSON object");
    if ((lp = calloc(1, sizeof *lp)) == NULL)
        return ARB_ERR_NOMEM;
    err = ARB_ERR_PARSE;
    if (!get_uint(obj, "version", UINT32_MAX, &u) || u != ARB_LIGHTPROOF_VERSION) {
        perr(eb, "version", "is not 1");
        goto fail;
    }
    lp->version = (uint32_t)u;
    v = json_object_get(obj, "checkpoint");
    if (!json_is_string(v) || json_string_length(v) != 64 ||
        !arb_chain_hash_from_hex(&lp->checkpoint, json_string_value(v))) {
        perr(eb, "checkpoint", "is not a block hash");
        goto fail;
    }
    v = json_object_get(obj, "headers");
    if (!json_is_array(v) || json_array_size(v) > ARB_LIGHTPROOF_MAX_HEADERS) {
        perr(eb, "headers", "is not an array of at most 200000 headers");
        goto fail;
    }
    lp->n_headers = json_array_size(v);
    if (lp->n_headers &&
        (lp->headers = calloc(lp->n_headers, sizeof *lp->headers)) == NULL) {
        err = ARB_ERR_NOMEM;
        goto fail;
    }
    json_array_foreach(v, i, e) {
        uint8_t raw[ARB_HEADER_SIZE];
        if (!hex_fixed(e, raw, sizeof raw)) {
            arb_errf(eb, ARB_ERR_PARSE, "proof: header %zu is not 80 bytes of hex", i);
            goto fail;
        }
        arb_header_decode(&lp->headers[i], raw);
    }
    if (!get_uint(obj, "height", UINT32_MAX, &u)) {
        perr(eb, "height", "is not a height");
        goto fail;
    }
    lp->height = (uint32_t)u;
    if (lp->n_headers > lp->height) {
        perr(eb, "headers", "are more than the tip's height");
        goto fail;
    }
    if ((err = hex_var(json_object_get(obj, "coinbase"), ARB_BLOCK_MAX_SIZE, &lp->coinbase,
                       &lp->coinbase_len)) != ARB_OK) {
        if (err == ARB_ERR_PARSE)
            perr(eb, "coinbase", "is not a transaction in hex");
        goto fail;
    }
    err = ARB_ERR_PARSE;
    if (!get_uint(obj, "tx_count", ARB_BLOCK_MAX_TXS, &lp->tx_count) || lp->tx_count == 0) {
        perr(eb, "tx_count", "is not a transaction count");
        goto fail;
    }
    if (!hash_list(json_object_get(obj, "coinbase_proof"), lp->coinbase_proof,
                   &lp->coinbase_proof_len)) {
        perr(eb, "coinbase_proof", "is not a list of at most 65 hashes");
        goto fail;
    }
    if (!hex_fixed(json_object_get(obj, "key"), lp->key, 32)) {
        perr(eb, "key", "is not 32 bytes of hex");
        goto fail;
    }
    v = json_object_get(obj, "record");
    if (json_is_null(v)) {
        lp->has_record = 0;
    } else {
        size_t hl = json_is_string(v) ? json_string_length(v) : 0;
        if (hl == 0 || hl % 2 || hl / 2 > ARB_LIGHTPROOF_RECORD_MAX ||
            !arb_hex_decode(lp->record, hl / 2, json_string_value(v), hl)) {
            perr(eb, "record", "is neither null nor a record in hex");
            goto fail;
        }
        lp->has_record = 1;
        lp->record_len = hl / 2;
    }
    if ((err = hex_var(json_object_get(obj, "smt_proof"), ARB_SMT_PROOF_MAX, &lp->smt_proof,
                       &lp->smt_proof_len)) != ARB_OK) {
        if (err == ARB_ERR_PARSE)
            perr(eb, "smt_proof", "is not a state proof in hex");
        goto fail;
    }
    err = ARB_ERR_PARSE;
    v = json_object_get(obj, "anchor_tx");
    if (v != NULL && !json_is_null(v)) {
        if ((err = hex_var(v, ARB_BLOCK_MAX_SIZE, &lp->anchor_tx, &lp->anchor_tx_len)) != ARB_OK) {
            if (err == ARB_ERR_PARSE)
                perr(eb, "anchor_tx", "is not a transaction in hex");
            goto fail;
        }
        err = ARB_ERR_PARSE;
        lp->has_anchor_tx = 1;
        if (!get_uint(obj, "anchor_tx_index", ARB_BLOCK_MAX_TXS - 1, &lp->anchor_tx_index)) {
            perr(eb, "anchor_tx_index", "is not a transaction index");
            goto fail;
        }
        if (json_object_get(obj, "anchor_tx_count") != NULL &&
            (!get_uint(obj, "anchor_tx_count", ARB_BLOCK_MAX_TXS, &lp->anchor_tx_count) ||
             lp->anchor_tx_count <= lp->anchor_tx_index)) {
            perr(eb, "anchor_tx_count", "is not a count above the index");
            goto fail;
        }
        if (!hash_list(json_object_get(obj, "anchor_tx_proof"), lp->anchor_tx_proof,
                       &lp->anchor_tx_proof_len)) {
            perr(eb, "anchor_tx_proof", "is not a list of at most 65 hashes");
            goto fail;
        }
        if (!get_uint(obj, "anchor_block_height", UINT32_MAX, &u)) {
            perr(eb, "anchor_block_height", "is not a height");
            goto fail;
        }
        lp->anchor_block_height = (uint32_t)u;
    }
    *out = lp;
    return ARB_OK;
fail:
    arb_lightproof_free(lp);
    return err;
}

arb_err arb_lightproof_parse(arb_lightproof **out, const char *text, size_t len, arb_errbuf *eb)
{
    json_error_t je;
    json_t *root;
    arb_err err;

    *out = NULL;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "proof: not JSON: %s (line %d)", je.text, je.line);
    err = arb_lightproof_from_json(out, root, eb);
    json_decref(root);
    return err;
}

static json_t *jhex(const uint8_t *d, size_t n)
{
    char *s = malloc(2 * n + 1);
    json_t *j;
    if (s == NULL)
        return NULL;
    arb_hex_encode(s, d, n);
    j = json_string(s);
    free(s);
    return j;
}

static json_t *jhashes(const arb_hash *h, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, jhex(h[i].b, 32)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *arb_lightproof_to_json(const arb_lightproof *lp)
{
    char cp[65];
    json_t *o, *hs = json_array();

    for (size_t i = 0; hs != NULL && i < lp->n_headers; i++) {
        uint8_t raw[ARB_HEADER_SIZE];
        arb_header_encode(raw, &lp->headers[i]);
        if (json_array_append_new(hs, jhex(raw, sizeof raw)) != 0) {
            json_decref(hs);
            return NULL;
        }
    }
    arb_chain_hash_hex(cp, &lp->checkpoint);
    o = json_pack("{s:i, s:s, s:o*, s:I, s:o*, s:I, s:o*, s:o*, s:o*, s:o*}", "version",
                  (int)lp->version, "checkpoint", cp, "headers", hs, "height",
                  (json_int_t)lp->height, "coinbase", jhex(lp->coinbase, lp->coinbase_len),
                  "tx_count", (json_int_t)lp->tx_count, "coinbase_proof",
                  jhashes(lp->coinbase_proof, lp->coinbase_proof_len), "key", jhex(lp->key, 32),
                  "record", lp->has_record ? jhex(lp->record, lp->record_len) : json_null(),
                  "smt_proof", jhex(lp->smt_proof, lp->smt_proof_len));
    if (o == NULL || !lp->has_anchor_tx)
        return o;
    if (json_object_set_new(o, "anchor_tx", jhex(lp->anchor_tx, lp->anchor_tx_len)) != 0 ||
        json_object_set_new(o, "anchor_tx_index", json_integer((json_int_t)lp->anchor_tx_index)) ||
        json_object_set_new(o, "anchor_tx_proof",
                            jhashes(lp->anchor_tx_proof, lp->anchor_tx_proof_len)) ||
        json_object_set_new(o, "anchor_block_height",
                            json_integer((json_int_t)lp->anchor_block_height)) ||
        (lp->anchor_tx_count &&
         json_object_set_new(o, "anchor_tx_count", json_integer((json_int_t)lp->anchor_tx_count)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------------ verify */

static arb_err fail(arb_lightproof_result *res, arb_errbuf *eb, const char *reason,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static arb_err fail(arb_lightproof_result *res, arb_errbuf *eb, const char *reason,
                    const char *fmt, ...)
{
    va_list ap;
    res->reason = reason;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
    return arb_errf(eb, ARB_ERR_VERIFY, "%s: %s", reason, res->detail);
}

/* Headers by height: the user's known headers, the genesis, and the
 * proof's own headers (heights cp_height + 1 .. tip). */
typedef struct {
    const arb_lightproof_trust *t;
    const arb_block_header *genesis; /* NULL unless the genesis is the base */
    const arb_lightproof *lp;
    const arb_hash *hashes;          /* of lp's headers */
    size_t n_ok;                     /* proof headers checked so far */
    uint32_t cp_height;
    arb_sha256 *sha;
} ctx;

static int known_header(const ctx *c, uint32_t height, arb_block_header *out)
{
    const arb_lightproof_trust *t = c->t;
    if (t->known != NULL && height >= t->known_start &&
        (uint64_t)(height - t->known_start) < t->known_len / ARB_HEADER_SIZE) {
        arb_header_decode(out, t->known + (size_t)(height - t->known_start) * ARB_HEADER_SIZE);
        return 1;
    }
    if (c->genesis != NULL && height == 0) {
        *out = *c->genesis;
        return 1;
    }
    return 0;
}

static int lookup(void *ud, uint32_t height, arb_hdr_info *out)
{
    const ctx *c = ud;
    arb_block_header h;

    if (height > c->cp_height && (uint64_t)(height - c->cp_height) <= c->n_ok) {
        size_t i = height - c->cp_height - 1;
        out->hash = c->hashes[i];
        out->time = c->lp->headers[i].time;
        out->bits = c->lp->headers[i].bits;
        return 1;
    }
    if (!known_header(c, height, &h))
        return 0;
    arb_header_hash(c->sha, &out->hash, &h);
    out->time = h.time;
    out->bits = h.bits;
    return 1;
}

/* The header at height among the proof's (checked) headers or the known
 * ones; hash too. */
static int header_at(const ctx *c, uint32_t height, arb_block_header *h, arb_hash *hash)
{
    if (height > c->cp_height && (uint64_t)(height - c->cp_height) <= c->lp->n_headers) {
        *h = c->lp->headers[height - c->cp_height - 1];
        *hash = c->hashes[height - c->cp_height - 1];
        return 1;
    }
    if (!known_header(c, height, h))
        return 0;
    arb_header_hash(c->sha, hash, h);
    return 1;
}

static arb_err check_headers(ctx *c, arb_lightproof_result *res, arb_errbuf *eb)
{
    const arb_lightproof *lp = c->lp;
    const arb_lightproof_trust *t = c->t;
    int trusted = arb_hash_eq(&lp->checkpoint, &t->checkpoint);
    arb_block_header kh;
    arb_hash kh_hash;
    char hex[65];

    /* The checkpoint as the known headers have it. */
    if (known_header(c, c->cp_height, &kh)) {
        arb_header_hash(c->sha, &kh_hash, &kh);
        if (!arb_hash_eq(&kh_hash, &lp->checkpoint)) {
            arb_chain_hash_hex(hex, &lp->checkpoint);
            return fail(res, eb, "headers-conflict",
                        "the proof's checkpoint %s is not the known header at height %lu", hex,
                        (unsigned long)c->cp_height);
        }
    }
    for (size_t i = 0; i < lp->n_headers; i++) {
        uint32_t height = c->cp_height + 1 + (uint32_t)i;
        const arb_block_header *h = &lp->headers[i];
        const arb_hash *prev = i == 0 ? &lp->checkpoint : &c->hashes[i - 1];
        arb_hdr_info parent;
        const char *reason = NULL;
        arb_errbuf heb;
        arb_err err;

        if (!arb_hash_eq(&h->prev, prev))
            return fail(res, eb, "headers-conflict",
                        "header at height %lu does not follow the one before it",
                        (unsigned long)height);
        if (lookup(c, height - 1, &parent)) {
            err = arb_header_check_context(t->params, h, height, lookup, c, t->now, &reason, &heb);
            res->headers_checked++;
        } else {
            err = ARB_OK; /* the parent's time and bits are not known: proof of work only */
        }
        if (err == ARB_OK)
            err = arb_header_check_pow(t->params, &c->hashes[i], h, &reason, &heb);
        if (err == ARB_OK && (int64_t)h->time > t->now + t->params->max_future_time) {
            reason = "time-too-new";
            err = arb_errf(&heb, ARB_ERR_VERIFY, "timestamp %u is too far in the future", h->time);
        }
        if (err != ARB_OK) {
            const char *r = "header-bad";
            if (reason != NULL) {
                static const char *const known[] = {"high-hash", "prev-blk-not-found",
                                                    "bad-diffbits", "time-too-old",
                                                    "time-too-new", "bad-version"};
                static const char *const codes[] = {
                    "header-high-hash", "header-prev-blk-not-found", "header-bad-diffbits",
                    "header-time-too-old", "header-time-too-new", "header-bad-version"};
                for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
                    if (strcmp(reason, known[k]) == 0)
                        r = codes[k];
            }
            return fail(res, eb, r, "header at height %lu: %s", (unsigned long)height, heb.msg);
        }
        /* A known header at the same height must be this one. */
        if (known_header(c, height, &kh)) {
            arb_header_hash(c->sha, &kh_hash, &kh);
            if (!arb_hash_eq(&kh_hash, &c->hashes[i]))
                return fail(res, eb, "headers-conflict",
                            "header at height %lu differs from the known header there",
                            (unsigned long)height);
        }
        c->n_ok = i + 1;
    }
    /* The trusted checkpoint must be the proof's, or one of its headers. */
    for (size_t i = 0; !trusted && i < lp->n_headers; i++)
        trusted = arb_hash_eq(&c->hashes[i], &t->checkpoint);
    if (!trusted) {
        arb_chain_hash_hex(hex, &t->checkpoint);
        return fail(res, eb, "checkpoint-unknown",
                    "the trusted checkpoint %s is neither the proof's checkpoint nor one of "
                    "its headers",
                    hex);
    }
    return ARB_OK;
}

/* Decodes the record and computes its value hash; checks it names key. */
static arb_err record_hash(arb_sha256 *sha, const arb_lightproof *lp, arb_lightproof_result *res,
                           arb_hash *vh, arb_errbuf *eb)
{
    uint8_t key[32];

    switch (lp->record[0]) {
    case ARB_NAMES_REC_NAME:
        if (arb_names_name_rec_decode(&res->name, lp->record, lp->record_len) != ARB_OK)
            return fail(res, eb, "record-bad", "the name record does not decode");
        arb_names_name_key(sha, key, res->name.full, res->name.full_len);
        if (arb_names_name_rec_hash(sha, vh, &res->name) != ARB_OK)
            return ARB_ERR_NOMEM;
        break;
    case ARB_NAMES_REC_NAMESPACE:
        if (arb_names_ns_rec_decode(&res->ns, lp->record, lp->record_len) != ARB_OK)
            return fail(res, eb, "record-bad", "the namespace record does not decode");
        arb_names_ns_key(sha, key, res->ns.id, res->ns.id_len);
        if (arb_names_ns_rec_hash(sha, vh, &res->ns) != ARB_OK)
            return ARB_ERR_NOMEM;
        break;
    case ARB_ANCHOR_REC_TYPE:
        if (arb_anchor_head_decode(&res->anchor, lp->record, lp->record_len) != ARB_OK)
            return fail(res, eb, "record-bad", "the anchored-head record does not decode");
        arb_anchor_key(sha, key, res->anchor.log_id);
        arb_anchor_head_hash(sha, vh, &res->anchor);
        break;
    default:
        return fail(res, eb, "record-bad", "record type %u is not a name, namespace or anchor",
                    lp->record[0]);
    }
    if (memcmp(key, lp->key, 32) != 0)
        return fail(res, eb, "record-bad", "the record belongs to another key");
    res->rec_type = lp->record[0];
    return ARB_OK;
}

/* The anchor transaction: in its block, a valid log-signed anchor, and the
 * head the record holds. */
static arb_err check_anchor_tx(ctx *c, arb_lightproof_result *res, arb_errbuf *eb)
{
    const arb_lightproof *lp = c->lp;
    arb_block_header bh;
    arb_hash bhash, leaf, root;
    arb_tx tx;
    arb_anchor a, nosig;
    arb_anchor_head next;
    uint8_t log_id[32];
    const char *reason = NULL;
    arb_errbuf teb;
    arb_err err;
    int included = 0;

    if (!res->present || res->rec_type != ARB_ANCHOR_REC_TYPE)
        return fail(res, eb, "anchor-mismatch", "an anchor transaction without an anchored head");
    if (lp->anchor_block_height > lp->height ||
        !header_at(c, lp->anchor_block_height, &bh, &bhash))
        return fail(res, eb, "anchor-tx-not-included",
                    "the anchor's block %lu is not among the headers",
                    (unsigned long)lp->anchor_block_height);
    arb_merkle_leaf_hash(c->sha, &leaf, lp->anchor_tx, lp->anchor_tx_len);
    if (lp->anchor_tx_count) {
        included = arb_merkle_inclusion_verify(c->sha, lp->anchor_tx_index, lp->anchor_tx_count,
                                               &leaf, lp->anchor_tx_proof,
                                               lp->anchor_tx_proof_len, &bh.merkle_root,
                                               NULL) == ARB_OK;
    } else {
        /* The tree size is not given: a path that reaches the block's root
         * for some size shows the transaction is a leaf of that tree (RFC
         * 6962 separates leaves from nodes). Only sizes whose proofs have
         * this length can match. */
        for (uint64_t n = lp->anchor_tx_index + 1; !included && n <= ARB_BLOCK_MAX_TXS; n++) {
            if (arb_merkle_inclusion_root(c->sha, lp->anchor_tx_index, n, &leaf,
                                          lp->anchor_tx_proof, lp->anchor_tx_proof_len, &root,
                                          NULL) != ARB_OK)
                continue;
            included = arb_hash_eq(&root, &bh.merkle_root);
        }
    }
    if (!included)
        return fail(res, eb, "anchor-tx-not-included",
                    "the anchor transaction's inclusion proof does not reach block %lu's root",
                    (unsigned long)lp->anchor_block_height);
    arb_tx_init(&tx);
    if ((err = arb_tx_decode(&tx, lp->anchor_tx, lp->anchor_tx_len, &teb)) != ARB_OK) {
        if (err == ARB_ERR_NOMEM)
            return err;
        return fail(res, eb, "anchor-tx-bad", "%s", teb.msg);
    }
    if (arb_tx_is_coinbase(&tx) || tx.payload_type != ARB_PAYLOAD_LOG_ANCHOR) {
        arb_tx_clear(&tx);
        return fail(res, eb, "anchor-tx-bad", "the transaction carries no log anchor");
    }
    if (arb_tx_txid(c->sha, &res->anchor_txid, &tx) != ARB_OK) {
        arb_tx_clear(&tx);
        return ARB_ERR_NOMEM;
    }
    if (arb_anchor_decode(&a, tx.payload, tx.payload_len, &teb) != ARB_OK) {
        arb_tx_clear(&tx);
        return fail(res, eb, "anchor-tx-bad", "%s", teb.msg);
    }
    /* The key and the signature, through the chain's own check: as a first
     * anchor, without its consistency proof (consensus checked that proof
     * against the head before it when the block was made). */
    nosig = a;
    nosig.proof_len = 0;
    err = arb_anchor_check(c->sha, &nosig, NULL, lp->anchor_block_height, &next, &reason);
    if (err != ARB_OK) {
        arb_tx_clear(&tx);
        if (err != ARB_ERR_VERIFY)
            return err;
        return fail(res, eb, "anchor-tx-bad", "%s", reason ? reason : "the anchor does not check");
    }
    arb_anchor_log_id(c->sha, log_id, &a);
    if (memcmp(log_id, res->anchor.log_id, 32) != 0 || a.tree_size != res->anchor.tree_size ||
        a.timestamp != res->anchor.timestamp || memcmp(a.root, res->anchor.root, 32) != 0 ||
        res->anchor.height != lp->anchor_block_height) {
        arb_tx_clear(&tx);
        return fail(res, eb, "anchor-mismatch",
                    "the anchor transaction does not carry the anchored head of the record");
    }
    memcpy(res->anchor_spki, a.spki, a.spki_len);
    res->anchor_spki_len = a.spki_len;
    res->anchor_sig[0] = a.sig_hash_alg;
    res->anchor_sig[1] = a.sig_sig_alg;
    res->anchor_sig[2] = (uint8_t)(a.sig_len >> 8);
    res->anchor_sig[3] = (uint8_t)a.sig_len;
    memcpy(res->anchor_sig + 4, a.sig, a.sig_len);
    res->anchor_sig_len = 4 + a.sig_len;
    res->anchor_block_hash = bhash;
    res->anchor_tx_checked = 1;
    arb_tx_clear(&tx);
    return ARB_OK;
}

arb_err arb_lightproof_verify(arb_sha256 *sha, const arb_lightproof *lp,
                              const arb_lightproof_trust *t, const uint8_t *expect_key32,
                              arb_lightproof_result *res, arb_errbuf *eb)
{
    ctx c;
    arb_block genesis;
    arb_block_header tip;
    arb_hash *hashes = NULL, leaf, vh;
    arb_tx cb;
    arb_errbuf teb;
    arb_err err;
    uint64_t known_top = 0;
    int have_known_top = 0;

    memset(res, 0, sizeof *res);
    memset(&c, 0, sizeof c);
    arb_block_init(&genesis);
    arb_tx_init(&cb);
    if (t->known != NULL && (t->known_len == 0 || t->known_len % ARB_HEADER_SIZE != 0))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "known headers: not a multiple of 80 bytes");
    c.t = t;
    c.lp = lp;
    c.sha = sha;
    c.cp_height = lp->height - (uint32_t)lp->n_headers; /* the parser keeps n <= height */
    res->checkpoint_height = c.cp_height;
    res->tip_height = lp->height;
    if (t->params->has_ledger) {
        arb_hash gh;
        arb_chain_genesis_hash(t->params, &gh);
        if (c.cp_height == 0 && arb_hash_eq(&gh, &lp->checkpoint)) {
            if ((err = arb_chain_genesis_build(t->params, sha, t->params->genesis_nonce,
                                               &genesis)) != ARB_OK)
                goto out;
            c.genesis = &genesis.header;
        }
    }
    if (lp->n_headers && (hashes = calloc(lp->n_headers, sizeof *hashes)) == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < lp->n_headers; i++)
        arb_header_hash(sha, &hashes[i], &lp->headers[i]);
    c.hashes = hashes;
    if ((err = check_headers(&c, res, eb)) != ARB_OK)
        goto out;

    /* Freshness: the tip must not be older than what the user knows. */
    if (t->known != NULL) {
        known_top = (uint64_t)t->known_start + t->known_len / ARB_HEADER_SIZE - 1;
        have_known_top = 1;
    }
    if (lp->height < t->min_height || (have_known_top && lp->height < known_top)) {
        err = fail(res, eb, "stale",
                   "the proof speaks for height %lu, older than the %lu the user knows",
                   (unsigned long)lp->height,
                   (unsigned long)(have_known_top && known_top > t->min_height ? known_top
                                                                               : t->min_height));
        goto out;
    }
    if (!header_at(&c, lp->height, &tip, &res->tip_hash)) {
        err = fail(res, eb, "tip-header-unknown",
                   "the proof has no header for its tip (height %lu): its checkpoint is the tip, "
                   "so give that header (the known headers)",
                   (unsigned long)lp->height);
        goto out;
    }
    res->tip_time = tip.time;

    /* The coinbase, in the tip block, with the state root. */
    if ((err = arb_tx_decode(&cb, lp->coinbase, lp->coinbase_len, &teb)) != ARB_OK) {
        if (err != ARB_ERR_NOMEM)
            err = fail(res, eb, "coinbase-bad", "%s", teb.msg);
        goto out;
    }
    if (!arb_tx_is_coinbase(&cb) || cb.in[0].index != lp->height) {
        err = fail(res, eb, "coinbase-bad", "not the coinbase of a block at height %lu",
                   (unsigned long)lp->height);
        goto out;
    }
    arb_merkle_leaf_hash(sha, &leaf, lp->coinbase, lp->coinbase_len);
    if (arb_merkle_inclusion_verify(sha, 0, lp->tx_count, &leaf, lp->coinbase_proof,
                                    lp->coinbase_proof_len, &tip.merkle_root, &teb) != ARB_OK) {
        err = fail(res, eb, "coinbase-not-included", "the coinbase's proof: %s", teb.msg);
        goto out;
    }
    if (cb.payload_type != ARB_PAYLOAD_STATE_ROOT || cb.payload_len != 32) {
        err = fail(res, eb, "state-root-missing", "the coinbase carries no state root");
        goto out;
    }
    memcpy(res->state_root.b, cb.payload, 32);

    /* The record (or its absence) in the state. */
    if (expect_key32 != NULL && memcmp(expect_key32, lp->key, 32) != 0) {
        err = fail(res, eb, "key-mismatch", "the proof is about another key");
        goto out;
    }
    if (lp->has_record && (err = record_hash(sha, lp, res, &vh, eb)) != ARB_OK)
        goto out;
    if (arb_smt_verify(sha, &res->state_root, lp->key, lp->has_record ? &vh : NULL, lp->smt_proof,
                       lp->smt_proof_len, &teb) != ARB_OK) {
        err = fail(res, eb, "smt-proof-bad", "%s", teb.msg);
        goto out;
    }
    res->present = lp->has_record;
    if (lp->has_anchor_tx && (err = check_anchor_tx(&c, res, eb)) != ARB_OK)
        goto out;
    err = ARB_OK;
out:
    if (err != ARB_OK && err != ARB_ERR_VERIFY && res->reason == NULL) {
        res->reason = "error";
        snprintf(res->detail, sizeof res->detail, "%s", arb_err_str(err));
        arb_errf(eb, err, "%s", arb_err_str(err));
    }
    arb_tx_clear(&cb);
    arb_block_clear(&genesis);
    free(hashes);
    return err;
}

/* ------------------------------------------------------------------ names */

const char *arb_lp_name_status_str(arb_lp_name_status s)
{
    switch (s) {
    case ARB_LP_NAME_ACTIVE:
        return "active";
    case ARB_LP_NAME_GRACE:
        return "grace";
    case ARB_LP_NAME_EXPIRED:
        return "expired";
    case ARB_LP_NAME_REVOKED:
        return "revoked";
    case ARB_LP_NAME_AVAILABLE:
    default:
        return "available";
    }
}

arb_lp_name_status arb_lp_name_status_at(const arb_names_params *np, const arb_name_rec *r,
                                         const arb_namespace_rec *ns, uint32_t height,
                                         int *ns_checked)
{
    *ns_checked = ns != NULL;
    if (r == NULL)
        return ARB_LP_NAME_AVAILABLE;
    if (ns != NULL && arb_names_stale(ns, r))
        return ARB_LP_NAME_AVAILABLE;
    if (r->revoked)
        return ARB_LP_NAME_REVOKED;
    if (arb_names_resolves(r, height))
        return ARB_LP_NAME_ACTIVE;
    if (arb_names_in_grace(np, r, height))
        return ARB_LP_NAME_GRACE;
    return ARB_LP_NAME_EXPIRED;
}

/* A claim of the answer: absent is fine, present must equal. */
static int claim_int(const json_t *answer, const char *name, int is_null, uint64_t v)
{
    const json_t *j = json_object_get(answer, name);
    if (j == NULL)
        return 1;
    if (is_null)
        return json_is_null(j);
    return json_is_integer(j) && json_integer_value(j) >= 0 &&
           (uint64_t)json_integer_value(j) == v;
}

static int claim_str(const json_t *answer, const char *name, const char *v)
{
    const json_t *j = json_object_get(answer, name);
    if (j == NULL)
        return 1;
    if (v == NULL)
        return json_is_null(j);
    return json_is_string(j) && strcmp(json_string_value(j), v) == 0;
}

static int claim_bool(const json_t *answer, const char *name, int v)
{
    const json_t *j = json_object_get(answer, name);
    return j == NULL || (json_is_boolean(j) && json_is_true(j) == (v != 0));
}

arb_err arb_lightproof_verify_name(arb_sha256 *sha, const char *full, const arb_lightproof *lp,
                                   const arb_lightproof *nslp, const json_t *answer,
                                   const arb_lightproof_trust *t, const arb_names_params *np,
                                   arb_lightproof_result *res, arb_lp_name_view *view,
                                   arb_errbuf *eb)
{
    uint8_t key[32], nskey[32];
    size_t full_len = strlen(full), name_len = 0;
    arb_lightproof_result nsres;
    arb_errbuf neb;
    arb_err err;
    const arb_name_rec *r;
    const arb_namespace_rec *ns = NULL;
    char hex[65], ns_id[ARB_NAMES_NS_MAX + 1];

    memset(view, 0, sizeof *view);
    memset(res, 0, sizeof *res);
    if (!arb_names_full_valid((const uint8_t *)full, full_len, &name_len))
        return fail(res, eb, "name-invalid", "\"%.80s\" is not a full name (name.namespace)",
                    full);
    arb_names_name_key(sha, key, (const uint8_t *)full, full_len);
    if ((err = arb_lightproof_verify(sha, lp, t, key, res, eb)) != ARB_OK)
        return err;
    if (res->present && res->rec_type != ARB_NAMES_REC_NAME)
        return fail(res, eb, "record-bad", "the record is not a name record");
    memcpy(ns_id, full + name_len + 1, full_len - name_len - 1);
    ns_id[full_len - name_len - 1] = '\0';
    if (nslp != NULL) {
        arb_names_ns_key(sha, nskey, (const uint8_t *)ns_id, strlen(ns_id));
        if ((err = arb_lightproof_verify(sha, nslp, t, nskey, &nsres, &neb)) != ARB_OK) {
            if (err != ARB_ERR_VERIFY)
                return err;
            return fail(res, eb, "namespace-proof-bad", "%s", neb.msg);
        }
        if (nsres.tip_height != res->tip_height || !arb_hash_eq(&nsres.tip_hash, &res->tip_hash))
            return fail(res, eb, "namespace-proof-tip",
                        "the namespace proof speaks for block %lu, the name's for block %lu",
                        (unsigned long)nsres.tip_height, (unsigned long)res->tip_height);
        if (nsres.present && nsres.rec_type != ARB_NAMES_REC_NAMESPACE)
            return fail(res, eb, "namespace-proof-bad", "the record is not a namespace record");
        view->ns_present = nsres.present;
        res->ns = nsres.ns;
        if (nsres.present)
            ns = &res->ns;
    }
    r = res->present ? &res->name : NULL;
    view->status = arb_lp_name_status_at(np, r, ns, res->tip_height, &view->ns_checked);
    if (nslp != NULL && !nsres.present && r != NULL) {
        /* A name without its namespace cannot be: count it as available. */
        view->status = ARB_LP_NAME_AVAILABLE;
        view->ns_checked = 1;
    }
    if (r != NULL) {
        view->never_expires = r->lifetime == 0;
        view->expires_at = (uint64_t)r->renewed_height + r->lifetime;
        view->grace_ends_at = view->expires_at + np->grace_period;
    }
    if (answer == NULL || !json_is_object(answer) || json_object_get(answer, "proof") == NULL)
        return ARB_OK;
    view->answer_checked = 1;
    if (!claim_str(answer, "name", full) || !claim_str(answer, "namespace", ns_id))
        return fail(res, eb, "answer-disagrees", "the answer is about another name");
    if (!claim_str(answer, "status", arb_lp_name_status_str(view->status))) {
        if (!view->ns_checked && r != NULL && claim_str(answer, "status", "available"))
            return fail(res, eb, "namespace-unknown",
                        "the answer says the name is available although its record is in the "
                        "state: give the namespace's proof to decide whether it is stale");
        return fail(res, eb, "answer-disagrees", "the answer's status is not \"%s\"",
                    arb_lp_name_status_str(view->status));
    }
    if (r == NULL || view->status == ARB_LP_NAME_AVAILABLE)
        return ARB_OK; /* nothing more the proof can say */
    arb_hex_encode(hex, r->owner, 32);
    if (!claim_str(answer, "owner", hex))
        return fail(res, eb, "answer-disagrees", "the answer's owner is not the record's");
    if (t->params->hrp != NULL) {
        char addr[ARB_ADDR_MAX];
        if (arb_address_encode(addr, t->params->hrp, r->owner) &&
            !claim_str(answer, "address", addr))
            return fail(res, eb, "answer-disagrees", "the answer's address is not the owner's");
    }
    if (r->has_zonefile)
        arb_hex_encode(hex, r->zonefile_hash, 32);
    if (!claim_str(answer, "zonefile_hash", r->has_zonefile ? hex : NULL))
        return fail(res, eb, "answer-disagrees", "the answer's zone-file hash is not the record's");
    {
        const json_t *zf = json_object_get(answer, "zonefile");
        if (zf != NULL && !json_is_null(zf)) {
            uint8_t zh[32];
            if (!json_is_string(zf) || !r->has_zonefile ||
                arb_names_zonefile_hash(sha, zh, (const uint8_t *)json_string_value(zf),
                                        json_string_length(zf)) != ARB_OK ||
                memcmp(zh, r->zonefile_hash, 32) != 0)
                return fail(res, eb, "answer-disagrees",
                            "the answer's zone file does not hash to the record's zone-file hash");
            view->zonefile_checked = 1;
        }
    }
    if (!claim_int(answer, "registered_height", 0, r->registered_height) ||
        !claim_int(answer, "renewed_height", 0, r->renewed_height) ||
        !claim_int(answer, "expires_at", view->never_expires, view->expires_at) ||
        !claim_int(answer, "grace_ends_at", view->never_expires, view->grace_ends_at) ||
        !claim_bool(answer, "imported", r->imported))
        return fail(res, eb, "answer-disagrees",
                    "the answer's heights or import flag are not the record's");
    return ARB_OK;
}
