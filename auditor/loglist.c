/* Log list (v3 schema) parsing. */
#include "auditor/loglist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "merkle/hash.h"

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

void arb_audit_log_clear(arb_audit_log *l)
{
    if (l == NULL)
        return;
    free(l->operator_name);
    free(l->description);
    free(l->url);
    free(l->origin);
    free(l->key);
    memset(l, 0, sizeof *l);
}

void arb_audit_loglist_free(arb_audit_loglist *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        arb_audit_log_clear(&l->logs[i]);
    free(l->logs);
    l->logs = NULL;
    l->n = 0;
}

/* Checks an http(s) URL and returns a copy that ends in '/'; sets *origin to
 * the URL without scheme and final '/'. */
static arb_err norm_url(char **out, char **origin, const char *url, arb_errbuf *eb)
{
    size_t n = strlen(url), skip;
    char *u;

    *out = NULL;
    *origin = NULL;
    if (strncmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return arb_errf(eb, ARB_ERR_PARSE, "url \"%.60s\": not http(s)", url);
    if (n == skip || n > 2048)
        return arb_errf(eb, ARB_ERR_PARSE, "url: empty host or too long");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f || url[i] == '?' ||
            url[i] == '#')
            return arb_errf(eb, ARB_ERR_PARSE, "url: bad character at offset %zu", i);
    if (url[skip] == '/')
        return arb_errf(eb, ARB_ERR_PARSE, "url: empty host");
    u = malloc(n + 2);
    if (u == NULL)
        return ARB_ERR_NOMEM;
    memcpy(u, url, n + 1);
    if (u[n - 1] != '/') {
        u[n] = '/';
        u[n + 1] = '\0';
        n++;
    }
    *origin = malloc(n - skip);
    if (*origin == NULL) {
        free(u);
        return ARB_ERR_NOMEM;
    }
    memcpy(*origin, u + skip, n - skip - 1);
    (*origin)[n - skip - 1] = '\0';
    *out = u;
    return ARB_OK;
}

/* DER SubjectPublicKeyInfo of a "PUBLIC KEY" PEM (OpenSSL does the parsing). */
static arb_err pem_to_spki(uint8_t **der, size_t *der_len, const uint8_t *pem, size_t pem_len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)(pem_len > INT32_MAX ? INT32_MAX : pem_len));
    EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    unsigned char *p = NULL;
    int n = pk ? i2d_PUBKEY(pk, &p) : -1;
    arb_err err = ARB_ERR_PARSE;

    *der = NULL;
    *der_len = 0;
    if (n > 0) {
        *der = malloc((size_t)n);
        if (*der) {
            memcpy(*der, p, (size_t)n);
            *der_len = (size_t)n;
            err = ARB_OK;
        } else {
            err = ARB_ERR_NOMEM;
        }
    }
    OPENSSL_free(p);
    EVP_PKEY_free(pk);
    BIO_free(bio);
    return err;
}

arb_err arb_audit_log_from_key(arb_audit_log *out, const char *url, int tiled, const uint8_t *key,
                               size_t key_len, uint64_t mmd, arb_errbuf *eb)
{
    arb_ct_verifier *v = NULL;
    arb_err err;
    arb_errbuf kb;

    memset(out, 0, sizeof *out);
    /* A PEM key or DER SPKI bytes. */
    if (key_len > 10 && memcmp(key, "-----BEGIN", 10) == 0)
        err = arb_ct_verifier_from_pem(&v, (const char *)key, key_len, &kb);
    else
        err = arb_ct_verifier_from_spki(&v, key, key_len, &kb);
    if (err != ARB_OK)
        return arb_errf(eb, err == ARB_ERR_NOMEM ? err : ARB_ERR_PARSE, "key: %s", kb.msg);
    arb_ct_verifier_log_id(v, out->log_id);
    arb_ct_verifier_free(v);
    out->tiled = tiled;
    out->mmd = mmd;
    out->operator_name = dupstr("");
    out->description = dupstr("");
    out->key = malloc(key_len ? key_len : 1);
    if (!out->operator_name || !out->description || !out->key) {
        arb_audit_log_clear(out);
        return ARB_ERR_NOMEM;
    }
    /* Keep the DER SPKI form whatever was given. */
    if (key_len > 10 && memcmp(key, "-----BEGIN", 10) == 0) {
        uint8_t *der = NULL;
        size_t der_len = 0;
        if (pem_to_spki(&der, &der_len, key, key_len) != ARB_OK) {
            arb_audit_log_clear(out);
            return arb_errf(eb, ARB_ERR_PARSE, "key: cannot read the PEM public key");
        }
        free(out->key);
        out->key = der;
        out->key_len = der_len;
    } else {
        memcpy(out->key, key, key_len);
        out->key_len = key_len;
    }
    /* The log ID is SHA-256 of the key's DER as published (RFC 6962 3.2):
     * refuse a key OpenSSL reads but would encode differently. */
    {
        arb_sha256 *h = NULL;
        uint8_t id[32];
        if (arb_sha256_new(&h) != ARB_OK) {
            arb_audit_log_clear(out);
            return ARB_ERR_NOMEM;
        }
        arb_sha256_digest(h, id, out->key, out->key_len);
        arb_sha256_free(h);
        if (memcmp(id, out->log_id, 32) != 0) {
            arb_audit_log_clear(out);
            return arb_errf(eb, ARB_ERR_PARSE, "key: not in canonical DER form");
        }
    }
    if ((err = norm_url(&out->url, &out->origin, url, eb)) != ARB_OK) {
        arb_audit_log_clear(out);
        return err;
    }
    return ARB_OK;
}

static const char *str_or(const json_t *o, const char *name, const char *dflt)
{
    const json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static arb_err parse_log(arb_audit_log *out, const json_t *lj, const char *opname, int tiled,
                         arb_errbuf *eb)
{
    const char *key_b64 = str_or(lj, "key", NULL), *id_b64 = str_or(lj, "log_id", NULL);
    const char *url = str_or(lj, tiled ? "monitoring_url" : "url", NULL);
    const json_t *mmdj = json_object_get(lj, "mmd");
    uint8_t *key = NULL, *id = NULL;
    size_t key_len = 0, id_len = 0;
    arb_err err;

    if (!json_is_object(lj))
        return arb_errf(eb, ARB_ERR_PARSE, "not an object");
    if (key_b64 == NULL || id_b64 == NULL || url == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "missing key, log_id or %s",
                        tiled ? "monitoring_url" : "url");
    if (!json_is_integer(mmdj) || json_integer_value(mmdj) <= 0)
        return arb_errf(eb, ARB_ERR_PARSE, "mmd: missing or not a positive integer");
    if (arb_base64_decode(&key, &key_len, key_b64, strlen(key_b64)) != ARB_OK || key_len == 0) {
        free(key);
        return arb_errf(eb, ARB_ERR_PARSE, "key: not base64");
    }
    if (arb_base64_decode(&id, &id_len, id_b64, strlen(id_b64)) != ARB_OK || id_len != 32) {
        free(key);
        free(id);
        return arb_errf(eb, ARB_ERR_PARSE, "log_id: not 32 bytes of base64");
    }
    err = arb_audit_log_from_key(out, url, tiled, key, key_len,
                                 (uint64_t)json_integer_value(mmdj), eb);
    free(key);
    if (err == ARB_OK && memcmp(out->log_id, id, 32) != 0) {
        arb_audit_log_clear(out);
        err = arb_errf(eb, ARB_ERR_PARSE, "log_id is not the SHA-256 of the key");
    }
    free(id);
    if (err != ARB_OK)
        return err;
    /* static-ct-api: the origin is the submission prefix without the scheme
     * (and without a final '/'); it may differ from the monitoring URL. */
    if (tiled && json_is_string(json_object_get(lj, "submission_url"))) {
        char *u = NULL, *o = NULL;
        if (norm_url(&u, &o, str_or(lj, "submission_url", ""), eb) != ARB_OK) {
            arb_audit_log_clear(out);
            return ARB_ERR_PARSE;
        }
        free(u);
        free(out->origin);
        out->origin = o;
    }
    free(out->operator_name);
    free(out->description);
    out->operator_name = dupstr(opname);
    out->description = dupstr(str_or(lj, "description", ""));
    if (!out->operator_name || !out->description) {
        arb_audit_log_clear(out);
        return ARB_ERR_NOMEM;
    }
    return ARB_OK;
}

arb_err arb_audit_loglist_parse(arb_audit_loglist *out, const char *text, size_t len,
                                arb_errbuf *eb)
{
    json_error_t je;
    json_t *root, *ops;
    arb_audit_loglist l = {NULL, 0};
    size_t cap = 0, oi;
    json_t *op;
    arb_err err = ARB_OK;
    arb_errbuf sub;

    memset(out, 0, sizeof *out);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "log list: not JSON: line %d: %s", je.line, je.text);
    ops = json_object_get(root, "operators");
    if (!json_is_array(ops)) {
        json_decref(root);
        return arb_errf(eb, ARB_ERR_PARSE, "log list: no \"operators\" array");
    }
    json_array_foreach(ops, oi, op) {
        const char *opname = str_or(op, "name", "");
        static const char *const kinds[2] = {"logs", "tiled_logs"};
        if (!json_is_object(op)) {
            err = arb_errf(eb, ARB_ERR_PARSE, "log list: operator %zu: not an object", oi);
            goto out;
        }
        for (int t = 0; t < 2; t++) {
            const json_t *logs = json_object_get(op, kinds[t]), *lj;
            size_t li;
            if (logs == NULL)
                continue;
            if (!json_is_array(logs)) {
                err = arb_errf(eb, ARB_ERR_PARSE, "log list: operator %zu: %s is not an array", oi,
                               kinds[t]);
                goto out;
            }
            json_array_foreach(logs, li, lj) {
                if (l.n == ARB_AUDIT_LOGLIST_MAX) {
                    err = arb_errf(eb, ARB_ERR_PARSE, "log list: more than %d logs",
                                   ARB_AUDIT_LOGLIST_MAX);
                    goto out;
                }
                if (l.n == cap) {
                    size_t nc = cap ? cap * 2 : 16;
                    arb_audit_log *nl = realloc(l.logs, nc * sizeof *nl);
                    if (nl == NULL) {
                        err = ARB_ERR_NOMEM;
                        goto out;
                    }
                    l.logs = nl;
                    cap = nc;
                }
                err = parse_log(&l.logs[l.n], lj, opname, t, &sub);
                if (err != ARB_OK) {
                    arb_errf(eb, err, "log list: operator %zu (%.40s) %s[%zu]: %s", oi, opname,
                             kinds[t], li, sub.msg);
                    goto out;
                }
                for (size_t k = 0; k < l.n; k++)
                    if (memcmp(l.logs[k].log_id, l.logs[l.n].log_id, 32) == 0) {
                        arb_audit_log_clear(&l.logs[l.n]);
                        err = arb_errf(eb, ARB_ERR_PARSE, "log list: log %zu listed twice", k);
                        goto out;
                    }
                l.n++;
            }
        }
    }
    if (l.n == 0)
        err = arb_errf(eb, ARB_ERR_PARSE, "log list: no logs");
out:
    json_decref(root);
    if (err != ARB_OK) {
        arb_audit_loglist_free(&l);
        return err;
    }
    *out = l;
    return ARB_OK;
}

const arb_audit_log *arb_audit_loglist_find(const arb_audit_loglist *l,
                                            const uint8_t log_id[static 32])
{
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->logs[i].log_id, log_id, 32) == 0)
            return &l->logs[i];
    return NULL;
}
