#include "tests/testlib/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/buf.h"

/* curl's write callback: appends to an arb_buf; a short count (an error for
 * curl) once it is out of memory. */
static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    arb_buf *b = ud;
    arb_buf_put(b, p, sz * n);
    return b->oom ? 0 : sz * n;
}

/* One request; the body (possibly empty) in *resp. */
static long request(const arb_tl_http_opts *o, const char *path, const char *body, arb_buf *resp)
{
    char url[4096];
    long status = 0;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    if (h == NULL)
        return 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", o->port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 60L);
    if (o->flags & ARB_TL_HTTP_PATH_AS_IS)
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    if (o->flags & ARB_TL_HTTP_NOSIGNAL)
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body != NULL)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (o->header != NULL)
        hdrs = curl_slist_append(hdrs, o->header);
    if (hdrs != NULL)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return status;
}

long arb_tl_http(arb_tl_http_opts o, const char *path, const char *body, char **text)
{
    arb_buf resp = ARB_BUF_INIT;
    long status = request(&o, path, body, &resp);
    if (text != NULL) {
        *text = NULL;
        if (resp.len > 0 && !resp.oom && (*text = malloc(resp.len + 1)) != NULL) {
            memcpy(*text, resp.data, resp.len);
            (*text)[resp.len] = '\0';
        }
    }
    arb_buf_free(&resp);
    return status;
}

long arb_tl_http_json(arb_tl_http_opts o, const char *path, const char *body,
                      json_t **out)
{
    arb_buf resp = ARB_BUF_INIT;
    long status = request(&o, path, body, &resp);
    if (out != NULL)
        *out = resp.len ? json_loadb((const char *)resp.data, resp.len, 0, NULL) : NULL;
    arb_buf_free(&resp);
    return status;
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

long long arb_tl_metric(arb_tl_http_opts o, const char *name)
{
    char *text = NULL;
    long long v = -1;
    if (arb_tl_http(o, "/metrics", NULL, &text) != 200 || !arb_tl_metric_parse(text, name, &v))
        v = -1;
    free(text);
    return v;
}
