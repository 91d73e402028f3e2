#include "tests/testlib/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "merkle/buf.h"
#include "tests/test.h"

/* curl's write callback: appends to an arb_buf; a short count (an error for
 * curl) once it is out of memory. */
static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    arb_buf *b = ud;
    arb_buf_put(b, p, sz * n);
    return b->oom ? 0 : sz * n;
}

/* One request: GET when post is NULL, else POST of post[0..plen) (as JSON
 * when json is set); the answer's body (possibly empty) in *resp and, when
 * headers is not NULL, its header lines in *headers. */
static long request(const arb_tl_http_opts *o, const char *path, const void *post, size_t plen,
                    int json, arb_buf *resp, arb_buf *headers)
{
    char url[4096];
    long status = 0;
    CURL *h = o->curl != NULL ? o->curl : curl_easy_init();
    struct curl_slist *hdrs = NULL;
    if (h == NULL)
        return 0;
    if (o->curl != NULL)
        curl_easy_reset(h);
    snprintf(url, sizeof url, "http://%s:%d%s", o->host ? o->host : "127.0.0.1", o->port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    if (headers != NULL) {
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sink);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, headers);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 60L);
    if (o->flags & ARB_TL_HTTP_PATH_AS_IS)
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    if (o->flags & ARB_TL_HTTP_NOSIGNAL)
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (post != NULL && json)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (o->header != NULL)
        hdrs = curl_slist_append(hdrs, o->header);
    if (hdrs != NULL)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (post != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)plen);
    }
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (o->curl == NULL)
        curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return status;
}

/* A malloc'd NUL-terminated copy of b, or NULL when b is empty or short of
 * memory. */
static char *text_of(const arb_buf *b)
{
    char *t = NULL;
    if (b->len > 0 && !b->oom && (t = malloc(b->len + 1)) != NULL) {
        memcpy(t, b->data, b->len);
        t[b->len] = '\0';
    }
    return t;
}

long arb_tl_http_headers(arb_tl_http_opts o, const char *path, const char *body, char **text,
                         char **headers)
{
    arb_buf resp = ARB_BUF_INIT, hdrs = ARB_BUF_INIT;
    long status =
        request(&o, path, body, body ? strlen(body) : 0, 1, &resp, headers ? &hdrs : NULL);
    if (text != NULL)
        *text = text_of(&resp);
    if (headers != NULL)
        *headers = text_of(&hdrs);
    arb_buf_free(&resp);
    arb_buf_free(&hdrs);
    return status;
}

long arb_tl_http(arb_tl_http_opts o, const char *path, const char *body, char **text)
{
    return arb_tl_http_headers(o, path, body, text, NULL);
}

long arb_tl_http_raw(arb_tl_http_opts o, const char *path, const void *post, size_t plen,
                     arb_tl_body *out)
{
    arb_buf resp = ARB_BUF_INIT;
    long status = request(&o, path, post, plen, 0, &resp, NULL);
    out->data = text_of(&resp);
    out->len = out->data != NULL ? resp.len : 0;
    arb_buf_free(&resp);
    return status;
}

long arb_tl_http_json(arb_tl_http_opts o, const char *path, const char *body,
                      json_t **out)
{
    arb_buf resp = ARB_BUF_INIT;
    long status = request(&o, path, body, body ? strlen(body) : 0, 1, &resp, NULL);
    if (out != NULL)
        *out = resp.len ? json_loadb((const char *)resp.data, resp.len, 0, NULL) : NULL;
    arb_buf_free(&resp);
    return status;
}

json_t *arb_tl_json_200(arb_tl_http_opts o, const char *path, const char *body)
{
    json_t *j = NULL;
    if (arb_tl_http_json(o, path, body, &j) != 200) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

long arb_tl_post_hex(arb_tl_http_opts o, const char *path, const uint8_t *d, size_t n,
                     json_t **out)
{
    char *hex = malloc(2 * n + 1), *body = malloc(2 * n + 16);
    long st;
    if (hex == NULL || body == NULL)
        abort();
    arb_hex_encode(hex, d, n);
    snprintf(body, 2 * n + 16, "{\"hex\":\"%s\"}", hex);
    st = arb_tl_http_json(o, path, body, out);
    free(hex);
    free(body);
    return st;
}

const char *arb_tl_jstr(json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

int64_t arb_tl_jint(json_t *j, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(j, k));
}

uint8_t *arb_tl_unhex(const char *hex, size_t *len)
{
    uint8_t *raw = NULL;
    if (hex == NULL || arb_hex_decode_alloc(&raw, len, hex) != ARB_OK)
        return NULL;
    return raw;
}

int arb_tl_metric_parse(const char *text, const char *name, long long *v)
{
    size_t nl = strlen(name);
    if (text == NULL || nl == 0)
        return 0;
    for (const char *p = strstr(text, name); p != NULL; p = strstr(p + 1, name)) {
        if ((p == text || p[-1] == '\n') && p[nl] == ' ') {
            *v = strtoll(p + nl + 1, NULL, 10);
            return 1;
        }
    }
    return 0;
}

int arb_tl_metric(arb_tl_http_opts o, const char *name, long long *v)
{
    char *text = NULL;
    int found =
        arb_tl_http(o, "/metrics", NULL, &text) == 200 && arb_tl_metric_parse(text, name, v);
    if (!found)
        *v = 0;
    free(text);
    return found;
}

int arb_tl_begin(char *bin, size_t bin_cap, char *tmp, size_t tmp_cap)
{
    arb_test_bin(bin, bin_cap, "arbord");
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "no arbord at %s\n", bin);
        return 0;
    }
    if (arb_test_tmpdir(tmp, tmp_cap) != 0)
        return 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 1;
}

int arb_tl_end(const char *tmp)
{
    curl_global_cleanup();
    arb_test_rmtree(tmp);
    return arb_test_done();
}
