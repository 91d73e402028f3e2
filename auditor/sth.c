/* Signed tree heads: JSON form, signature check, checkpoints. */
#include "auditor/sth.h"

#include <stdlib.h>
#include <string.h>

#include "merkle/buf.h"
#include "merkle/checkpoint.h"
#include "merkle/note.h"

static arb_err get_u64(uint64_t *out, const json_t *obj, const char *name, arb_errbuf *eb)
{
    const json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        return arb_errf(eb, ARB_ERR_PARSE, "%s: missing or not an integer", name);
    if (json_integer_value(v) < 0)
        return arb_errf(eb, ARB_ERR_PARSE, "%s: negative", name);
    *out = (uint64_t)json_integer_value(v);
    return ARB_OK;
}

/* Decodes strict base64 of a string member into buf[0..cap); *len gets the length. */
static arb_err get_b64(uint8_t *buf, size_t cap, size_t *len, const json_t *obj, const char *name,
                       arb_errbuf *eb)
{
    const json_t *v = json_object_get(obj, name);
    uint8_t *raw = NULL;
    size_t n = 0;
    arb_err err;

    if (!json_is_string(v))
        return arb_errf(eb, ARB_ERR_PARSE, "%s: missing or not a string", name);
    err = arb_base64_decode(&raw, &n, json_string_value(v), json_string_length(v));
    if (err != ARB_OK)
        return arb_errf(eb, err, "%s: not valid base64", name);
    if (n > cap) {
        free(raw);
        return arb_errf(eb, ARB_ERR_PARSE, "%s: %zu bytes, at most %zu allowed", name, n, cap);
    }
    if (n)
        memcpy(buf, raw, n);
    free(raw);
    *len = n;
    return ARB_OK;
}

arb_err arb_audit_sth_from_json(arb_audit_sth *out, const json_t *obj, arb_errbuf *eb)
{
    arb_audit_sth s;
    size_t n = 0;
    arb_ct_dsig d;
    arb_err err;

    memset(out, 0, sizeof *out);
    memset(&s, 0, sizeof s);
    if (!json_is_object(obj))
        return arb_errf(eb, ARB_ERR_PARSE, "tree head: not a JSON object");
    if ((err = get_u64(&s.tree_size, obj, "tree_size", eb)) != ARB_OK ||
        (err = get_u64(&s.timestamp, obj, "timestamp", eb)) != ARB_OK ||
        (err = get_b64(s.root.b, 32, &n, obj, "sha256_root_hash", eb)) != ARB_OK)
        return err;
    if (n != 32)
        return arb_errf(eb, ARB_ERR_PARSE, "sha256_root_hash: %zu bytes, want 32", n);
    if ((err = get_b64(s.sig, sizeof s.sig, &s.sig_len, obj, "tree_head_signature", eb)) != ARB_OK)
        return err;
    if (arb_ct_dsig_decode(&d, s.sig, s.sig_len) != ARB_OK)
        return arb_errf(eb, ARB_ERR_PARSE, "tree_head_signature: not a TLS digitally-signed struct");
    *out = s;
    return ARB_OK;
}

arb_err arb_audit_sth_parse(arb_audit_sth *out, const char *text, size_t len, arb_errbuf *eb)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    arb_err err;

    memset(out, 0, sizeof *out);
    if (root == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "tree head: not JSON: %s", je.text);
    err = arb_audit_sth_from_json(out, root, eb);
    json_decref(root);
    return err;
}

json_t *arb_audit_sth_to_json(const arb_audit_sth *sth)
{
    char *root = arb_base64_encode(sth->root.b, 32);
    char *sig = arb_base64_encode(sth->sig, sth->sig_len);
    json_t *o = NULL;

    if (root && sig)
        o = json_pack("{s:I, s:I, s:s, s:s}", "tree_size", (json_int_t)sth->tree_size, "timestamp",
                      (json_int_t)sth->timestamp, "sha256_root_hash", root,
                      "tree_head_signature", sig);
    free(root);
    free(sig);
    return o;
}

arb_err arb_audit_sth_verify(const arb_ct_verifier *v, const arb_audit_sth *sth, arb_errbuf *eb)
{
    arb_ct_dsig d;

    if (sth->tree_size > INT64_MAX || sth->timestamp > INT64_MAX)
        return arb_errf(eb, ARB_ERR_VERIFY, "tree head: size or timestamp out of range");
    if (arb_ct_dsig_decode(&d, sth->sig, sth->sig_len) != ARB_OK)
        return arb_errf(eb, ARB_ERR_VERIFY, "tree head signature: malformed");
    if (arb_ct_sth_verify(v, &d, sth->timestamp, sth->tree_size, sth->root.b) != ARB_OK)
        return arb_errf(eb, ARB_ERR_VERIFY,
                        "tree head signature does not verify under the log key (size %llu)",
                        (unsigned long long)sth->tree_size);
    return ARB_OK;
}

arb_err arb_audit_sth_from_checkpoint(arb_audit_sth *out, const uint8_t *note, size_t len,
                                      const char *origin, const uint8_t *spki, size_t spki_len,
                                      arb_errbuf *eb)
{
    arb_note_verifier *v = NULL;
    arb_checkpoint *cp = NULL;
    arb_note *n = NULL;
    arb_note_result res;
    arb_err err;
    const uint8_t *ds = NULL;
    size_t ds_len = 0;
    uint64_t ts = 0;

    memset(out, 0, sizeof *out);
    if ((err = arb_note_verifier_rfc6962(&v, origin, spki, spki_len, eb)) != ARB_OK)
        return err;
    err = arb_checkpoint_open(&cp, &n, note, len, origin, (const arb_note_verifier *const *)&v, 1,
                              &res, eb);
    if (err != ARB_OK)
        goto out;
    err = arb_errf(eb, ARB_ERR_VERIFY, "checkpoint: no RFC 6962 signature by the log key");
    for (size_t i = 0; i < n->nsigs; i++) {
        const arb_note_sig *s = &n->sigs[i];
        if (strcmp(s->name, origin) != 0 || s->key_id != arb_note_verifier_key_id(v))
            continue;
        if (!arb_note_rfc6962_sig_split(s->sig, s->sig_len, &ts, &ds, &ds_len) ||
            ds_len > sizeof out->sig) {
            err = arb_errf(eb, ARB_ERR_PARSE, "checkpoint: malformed RFC 6962 signature");
            goto out;
        }
        out->tree_size = cp->size;
        out->timestamp = ts;
        out->root = cp->root;
        memcpy(out->sig, ds, ds_len);
        out->sig_len = ds_len;
        err = ARB_OK;
        break;
    }
out:
    arb_checkpoint_free(cp);
    arb_note_free(n);
    arb_note_verifier_free(v);
    return err;
}

int arb_audit_sth_equal(const arb_audit_sth *a, const arb_audit_sth *b)
{
    return a->tree_size == b->tree_size && a->timestamp == b->timestamp &&
           memcmp(a->root.b, b->root.b, 32) == 0 && a->sig_len == b->sig_len &&
           memcmp(a->sig, b->sig, a->sig_len) == 0;
}
