/* The libcurl client; see client.h. */
#include "auditor/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "auditor/entries.h"
#include "merkle/buf.h"

struct arb_audit_client {
    CURL *curl;
    long timeout_ms;
};

typedef struct {
    arb_buf buf;
    int too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (s->buf.len + n > ARB_AUDIT_MAX_BODY) {
        s->too_big = 1;
        return 0;
    }
    if (!arb_buf_put(&s->buf, p, n))
        return 0;
    return n;
}

arb_err arb_audit_client_new(arb_audit_client **out, long timeout_ms)
{
    arb_audit_client *c = calloc(1, sizeof *c);
    *out = NULL;
    if (c == NULL)
        return ARB_ERR_NOMEM;
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        free(c);
        return ARB_ERR_NOMEM;
    }
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    *out = c;
    return ARB_OK;
}

void arb_audit_client_free(arb_audit_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

arb_err arb_audit_http(arb_audit_client *c, const char *url, const uint8_t *body, size_t body_len,
                       const char *content_type, long *status, uint8_t **out, size_t *out_len,
                       arb_errbuf *eb)
{
    sink s = {ARB_BUF_INIT, 0};
    struct curl_slist *hdrs = NULL;
    char ctype[128];
    CURLcode rc;

    *status = 0;
    *out = NULL;
    *out_len = 0;
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "arbor-audit/" ARB_VERSION);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body != NULL) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s",
                 content_type ? content_type : "application/json");
        hdrs = curl_slist_append(hdrs, ctype);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    rc = curl_easy_perform(c->curl);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK || s.buf.oom) {
        arb_buf_free(&s.buf);
        if (s.too_big)
            return arb_errf(eb, ARB_ERR_NET, "%s: answer larger than %u bytes", url,
                            ARB_AUDIT_MAX_BODY);
        return arb_errf(eb, ARB_ERR_NET, "%s: %s", url, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
    arb_buf_u8(&s.buf, 0);
    if (s.buf.oom) {
        arb_buf_free(&s.buf);
        return ARB_ERR_NOMEM;
    }
    *out_len = s.buf.len - 1;
    *out = arb_buf_take(&s.buf, &s.buf.len);
    return ARB_OK;
}

/* GETs url and parses a JSON object from a 200 answer. */
static arb_err get_json(arb_audit_client *c, const char *url, json_t **out, arb_errbuf *eb)
{
    uint8_t *body = NULL;
    size_t len = 0;
    long status = 0;
    json_error_t je;
    arb_err err;

    *out = NULL;
    if ((err = arb_audit_http(c, url, NULL, 0, NULL, &status, &body, &len, eb)) != ARB_OK)
        return err;
    if (status != 200) {
        err = arb_errf(eb, ARB_ERR_NET, "%s: HTTP status %ld", url, status);
        goto out;
    }
    *out = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
    if (*out == NULL)
        err = arb_errf(eb, ARB_ERR_PARSE, "%s: answer is not JSON (%s)", url, je.text);
    else if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        err = arb_errf(eb, ARB_ERR_PARSE, "%s: answer is not a JSON object", url);
    }
out:
    free(body);
    return err;
}

arb_err arb_audit_get_sth(arb_audit_client *c, const arb_audit_log *log, arb_audit_sth *out,
                          arb_errbuf *eb)
{
    char url[2200];
    json_t *j = NULL;
    arb_errbuf sub;
    arb_err err;

    memset(out, 0, sizeof *out);
    snprintf(url, sizeof url, "%sct/v1/get-sth", log->url);
    if ((err = get_json(c, url, &j, eb)) != ARB_OK)
        return err;
    err = arb_audit_sth_from_json(out, j, &sub);
    if (err != ARB_OK)
        arb_errf(eb, err, "%s: %s", url, sub.msg);
    json_decref(j);
    return err;
}

/* Decodes a JSON array of base64 hashes into out[0..*n). */
static arb_err hash_array(const json_t *a, arb_hash *out, size_t cap, size_t *n, const char *url,
                          const char *name, arb_errbuf *eb)
{
    size_t i;
    const json_t *h;

    *n = 0;
    if (!json_is_array(a))
        return arb_errf(eb, ARB_ERR_PARSE, "%s: \"%s\" missing or not an array", url, name);
    if (json_array_size(a) > cap)
        return arb_errf(eb, ARB_ERR_PARSE, "%s: \"%s\" has %zu hashes, at most %zu expected", url,
                        name, json_array_size(a), cap);
    json_array_foreach(a, i, h) {
        uint8_t *raw = NULL;
        size_t rl = 0;
        if (!json_is_string(h) ||
            arb_base64_decode(&raw, &rl, json_string_value(h), json_string_length(h)) != ARB_OK ||
            rl != 32) {
            free(raw);
            return arb_errf(eb, ARB_ERR_PARSE, "%s: %s[%zu] is not a base64 SHA-256 hash", url,
                            name, i);
        }
        memcpy(out[i].b, raw, 32);
        free(raw);
    }
    *n = json_array_size(a);
    return ARB_OK;
}

arb_err arb_audit_get_consistency(arb_audit_client *c, const arb_audit_log *log, uint64_t first,
                                  uint64_t second, arb_hash *proof, size_t cap, size_t *n,
                                  arb_errbuf *eb)
{
    char url[2300];
    json_t *j = NULL;
    arb_err err;

    *n = 0;
    snprintf(url, sizeof url, "%sct/v1/get-sth-consistency?first=%llu&second=%llu", log->url,
             (unsigned long long)first, (unsigned long long)second);
    if ((err = get_json(c, url, &j, eb)) != ARB_OK)
        return err;
    err = hash_array(json_object_get(j, "consistency"), proof, cap, n, url, "consistency", eb);
    json_decref(j);
    return err;
}

arb_err arb_audit_get_entries(arb_audit_client *c, const arb_audit_log *log, uint64_t start,
                              uint64_t end, arb_audit_entry_fn fn, void *ud, uint64_t *got,
                              arb_errbuf *eb)
{
    char url[2300];
    uint8_t *body = NULL;
    size_t len = 0;
    long status = 0;
    arb_err err;

    *got = 0;
    if (end < start)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "get-entries: end < start");
    if (end - start >= ARB_AUDIT_ENTRIES_BATCH)
        end = start + ARB_AUDIT_ENTRIES_BATCH - 1;
    snprintf(url, sizeof url, "%sct/v1/get-entries?start=%llu&end=%llu", log->url,
             (unsigned long long)start, (unsigned long long)end);
    if ((err = arb_audit_http(c, url, NULL, 0, NULL, &status, &body, &len, eb)) != ARB_OK)
        return err;
    if (status != 200)
        err = arb_errf(eb, ARB_ERR_NET, "%s: HTTP status %ld", url, status);
    else /* the strict in-place decoder, or jansson when it refuses (entries.h) */
        err = arb_audit_entries_decode(body, len, (size_t)(end - start + 1), start, fn, ud, got,
                                       url, eb);
    free(body);
    return err;
}

arb_err arb_audit_get_proof_by_hash(arb_audit_client *c, const arb_audit_log *log,
                                    const arb_hash *leaf_hash, uint64_t tree_size,
                                    uint64_t *index, arb_hash *path, size_t cap, size_t *n,
                                    arb_errbuf *eb)
{
    char url[2400], *h64, *esc;
    json_t *j = NULL;
    const json_t *ij;
    arb_err err;

    *n = 0;
    *index = 0;
    h64 = arb_base64_encode(leaf_hash->b, 32);
    if (h64 == NULL)
        return ARB_ERR_NOMEM;
    esc = curl_easy_escape(c->curl, h64, 0);
    free(h64);
    if (esc == NULL)
        return ARB_ERR_NOMEM;
    snprintf(url, sizeof url, "%sct/v1/get-proof-by-hash?hash=%s&tree_size=%llu", log->url, esc,
             (unsigned long long)tree_size);
    curl_free(esc);
    if ((err = get_json(c, url, &j, eb)) != ARB_OK)
        return err;
    ij = json_object_get(j, "leaf_index");
    if (!json_is_integer(ij) || json_integer_value(ij) < 0) {
        err = arb_errf(eb, ARB_ERR_PARSE, "%s: leaf_index missing or negative", url);
        goto out;
    }
    *index = (uint64_t)json_integer_value(ij);
    err = hash_array(json_object_get(j, "audit_path"), path, cap, n, url, "audit_path", eb);
out:
    json_decref(j);
    return err;
}

arb_err arb_audit_get_checkpoint(arb_audit_client *c, const arb_audit_log *log, arb_audit_sth *out,
                                 arb_errbuf *eb)
{
    char url[2200];
    uint8_t *body = NULL;
    size_t len = 0;
    long status = 0;
    arb_errbuf sub;
    arb_err err;

    memset(out, 0, sizeof *out);
    snprintf(url, sizeof url, "%scheckpoint", log->url);
    if ((err = arb_audit_http(c, url, NULL, 0, NULL, &status, &body, &len, eb)) != ARB_OK)
        return err;
    if (status != 200)
        err = arb_errf(eb, ARB_ERR_NET, "%s: HTTP status %ld", url, status);
    else if ((err = arb_audit_sth_from_checkpoint(out, body, len, log->origin, log->key,
                                                  log->key_len, &sub)) != ARB_OK)
        arb_errf(eb, err, "%s: %s", url, sub.msg);
    free(body);
    return err;
}
