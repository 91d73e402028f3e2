/* RFC 6962 JSON bodies over jansson. See ctjson.h. */
#include "ledger/log/ctjson.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "merkle/buf.h"

/* Decodes a JSON string field as strict base64. */
static arb_err b64_field(json_t *obj, const char *key, uint8_t **out, size_t *len)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    *len = 0;
    if (!json_is_string(v))
        return ARB_ERR_PARSE;
    return arb_base64_decode(out, len, json_string_value(v), json_string_length(v));
}

/* A JSON integer field in [0, 2^63). */
static int u64_field(json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

void arb_ct_json_chain_free(arb_ct_cert_list *l)
{
    size_t i;

    if (l == NULL)
        return;
    for (i = 0; i < l->n; i++)
        free((void *)l->certs[i].der);
    arb_ct_cert_list_free(l);
}

arb_err arb_ct_json_chain_parse(arb_ct_cert_list *out, const char *body, size_t len,
                                size_t max_certs, size_t max_cert_size, arb_errbuf *eb)
{
    json_error_t jerr;
    json_t *doc, *arr, *v;
    size_t i, n;
    arb_err err = ARB_OK;

    memset(out, 0, sizeof(*out));
    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "bad JSON: %s", jerr.text);
    arr = json_object_get(doc, "chain");
    if (!json_is_object(doc) || !json_is_array(arr)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "missing \"chain\" array");
        goto out;
    }
    n = json_array_size(arr);
    if (n == 0 || n > max_certs) {
        err = arb_errf(eb, ARB_ERR_PARSE, "chain has %zu certificates (1..%zu)", n, max_certs);
        goto out;
    }
    if ((out->certs = calloc(n, sizeof(*out->certs))) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(arr, i, v)
    {
        uint8_t *der = NULL;
        size_t der_len = 0;

        if (!json_is_string(v)) {
            err = arb_errf(eb, ARB_ERR_PARSE, "chain[%zu] is not a string", i);
            goto out;
        }
        if (json_string_length(v) > (max_cert_size / 3 + 1) * 4) {
            err = arb_errf(eb, ARB_ERR_PARSE,
                           "chain[%zu]: certificate larger than %zu bytes (this log's maximum)", i,
                           max_cert_size);
            goto out;
        }
        err = arb_base64_decode(&der, &der_len, json_string_value(v), json_string_length(v));
        if (err == ARB_OK && der_len > max_cert_size) {
            free(der);
            err = arb_errf(eb, ARB_ERR_PARSE,
                           "chain[%zu]: certificate of %zu bytes, larger than %zu (this log's maximum)",
                           i, der_len, max_cert_size);
            goto out;
        }
        if (err != ARB_OK || der_len == 0) {
            free(der);
            err = err == ARB_ERR_NOMEM ? ARB_ERR_NOMEM : ARB_ERR_PARSE;
            arb_errf(eb, err, "chain[%zu] is not base64 of 1..%zu bytes", i, max_cert_size);
            goto out;
        }
        out->certs[i].der = der;
        out->certs[i].len = der_len;
        out->n = i + 1;
    }
out:
    json_decref(doc);
    if (err != ARB_OK)
        arb_ct_json_chain_free(out);
    return err;
}

/* Sets key to a base64 string; returns 0 on allocation failure. */
static int set_b64(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    char *s = arb_base64_encode(p, n);
    int ok;

    if (s == NULL)
        return 0;
    ok = json_object_set_new(obj, key, json_string(s)) == 0;
    free(s);
    return ok;
}

static char *dump(json_t *obj, int ok)
{
    char *s = ok ? json_dumps(obj, JSON_COMPACT) : NULL;

    json_decref(obj);
    return s;
}

char *arb_ct_json_chain(const arb_ct_cert_ref *certs, size_t n)
{
    json_t *obj = json_object(), *arr = json_array();
    size_t i;
    int ok = obj != NULL && arr != NULL;

    for (i = 0; ok && i < n; i++) {
        char *s = arb_base64_encode(certs[i].der, certs[i].len);
        ok = s != NULL && json_array_append_new(arr, json_string(s)) == 0;
        free(s);
    }
    if (ok)
        ok = json_object_set(obj, "chain", arr) == 0;
    json_decref(arr);
    return dump(obj, ok);
}

char *arb_ct_json_sct(const arb_ct_sct *sct)
{
    json_t *obj = json_object();
    arb_buf sig = ARB_BUF_INIT;
    int ok = obj != NULL && arb_ct_dsig_encode(&sig, &sct->sig) == ARB_OK;

    ok = ok && json_object_set_new(obj, "sct_version", json_integer(0)) == 0 &&
         set_b64(obj, "id", sct->log_id, 32) &&
         json_object_set_new(obj, "timestamp", json_integer((json_int_t)sct->timestamp)) == 0 &&
         set_b64(obj, "extensions", sct->ext, sct->ext_len) &&
         set_b64(obj, "signature", sig.data, sig.len);
    arb_buf_free(&sig);
    return dump(obj, ok);
}

arb_err arb_ct_json_sct_parse(arb_ct_sct *sct, uint8_t **storage, const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    uint8_t *id = NULL, *ext = NULL, *sig = NULL, *store = NULL;
    size_t id_len, ext_len, sig_len;
    uint64_t version;
    arb_ct_dsig d;
    arb_err err = ARB_ERR_PARSE;

    memset(sct, 0, sizeof(*sct));
    *storage = NULL;
    if (!json_is_object(doc) || !u64_field(doc, "sct_version", &version) || version != 0 ||
        !u64_field(doc, "timestamp", &sct->timestamp) || b64_field(doc, "id", &id, &id_len) != ARB_OK ||
        id_len != 32 || b64_field(doc, "extensions", &ext, &ext_len) != ARB_OK ||
        ext_len > ARB_CT_EXT_MAX || b64_field(doc, "signature", &sig, &sig_len) != ARB_OK ||
        arb_ct_dsig_decode(&d, sig, sig_len) != ARB_OK)
        goto out;
    /* One allocation holds the extensions and the signature. */
    if ((store = malloc(ext_len + d.sig_len + 1)) == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    memcpy(store, ext, ext_len);
    memcpy(store + ext_len, d.sig, d.sig_len);
    memcpy(sct->log_id, id, 32);
    sct->ext = store;
    sct->ext_len = ext_len;
    sct->sig.hash_alg = d.hash_alg;
    sct->sig.sig_alg = d.sig_alg;
    sct->sig.sig = store + ext_len;
    sct->sig.sig_len = d.sig_len;
    *storage = store;
    err = ARB_OK;
out:
    if (err != ARB_OK) {
        memset(sct, 0, sizeof(*sct));
        free(store);
    }
    free(id);
    free(ext);
    free(sig);
    json_decref(doc);
    return err;
}

char *arb_ct_json_sth(uint64_t tree_size, uint64_t timestamp, const uint8_t root32[static 32],
                      const arb_ct_dsig *sig)
{
    json_t *obj = json_object();
    arb_buf b = ARB_BUF_INIT;
    int ok = obj != NULL && arb_ct_dsig_encode(&b, sig) == ARB_OK;

    ok = ok && json_object_set_new(obj, "tree_size", json_integer((json_int_t)tree_size)) == 0 &&
         json_object_set_new(obj, "timestamp", json_integer((json_int_t)timestamp)) == 0 &&
         set_b64(obj, "sha256_root_hash", root32, 32) &&
         set_b64(obj, "tree_head_signature", b.data, b.len);
    arb_buf_free(&b);
    return dump(obj, ok);
}

arb_err arb_ct_json_sth_parse(uint64_t *tree_size, uint64_t *timestamp, uint8_t root32[static 32],
                              arb_ct_dsig *sig, uint8_t **storage, const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    uint8_t *root = NULL, *s = NULL;
    size_t root_len, s_len;
    arb_err err = ARB_ERR_PARSE;

    *tree_size = 0;
    *timestamp = 0;
    memset(root32, 0, 32);
    memset(sig, 0, sizeof(*sig));
    *storage = NULL;
    if (json_is_object(doc) && u64_field(doc, "tree_size", tree_size) &&
        u64_field(doc, "timestamp", timestamp) &&
        b64_field(doc, "sha256_root_hash", &root, &root_len) == ARB_OK && root_len == 32 &&
        b64_field(doc, "tree_head_signature", &s, &s_len) == ARB_OK &&
        arb_ct_dsig_decode(sig, s, s_len) == ARB_OK) {
        memcpy(root32, root, 32);
        *storage = s;
        s = NULL;
        err = ARB_OK;
    } else {
        *tree_size = 0;
        *timestamp = 0;
        memset(sig, 0, sizeof(*sig));
    }
    free(root);
    free(s);
    json_decref(doc);
    return err;
}
