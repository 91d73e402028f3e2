/* The log's v3 log list entry. See loglist.h. */
#include "ledger/log/loglist.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "merkle/buf.h"

int arb_ct_loglist_url_ok(const char *url)
{
    size_t n, i, host;

    if (url == NULL)
        return 0;
    n = strlen(url);
    if (strncmp(url, "https://", 8) == 0)
        host = 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = 7;
    else
        return 0;
    if (n > 1000 || n <= host + 1 || url[n - 1] != '/' || url[host] == '/')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '#' || c == '?')
            return 0;
    }
    return 1;
}

/* RFC 3339 UTC text of Unix seconds; 0 on failure. */
static int rfc3339(char out[32], int64_t t)
{
    time_t v = (time_t)t;
    struct tm tm;

    if ((int64_t)v != t || gmtime_r(&v, &tm) == NULL)
        return 0;
    return strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

static json_t *b64(const uint8_t *p, size_t n)
{
    char *s = arb_base64_encode(p, n);
    json_t *j = s != NULL ? json_string(s) : NULL;

    free(s);
    return j;
}

/* One log object (RFC 6962 when tiled is 0). */
static json_t *log_object(const arb_ct_loglist_info *in, const uint8_t id[32], int tiled,
                          const char *ts)
{
    json_t *o = json_object(), *state = json_object(), *usable = json_object();
    const char *desc = in->description != NULL && in->description[0] ? in->description : in->url;
    int bad = o == NULL || state == NULL || usable == NULL;

    bad = bad || json_object_set_new(o, "description", json_string(desc)) ||
          json_object_set_new(o, "log_id", b64(id, 32)) ||
          json_object_set_new(o, "key", b64(in->spki, in->spki_len));
    if (!tiled)
        bad = bad || json_object_set_new(o, "url", json_string(in->url));
    else
        bad = bad || json_object_set_new(o, "submission_url", json_string(in->url)) ||
              json_object_set_new(o, "monitoring_url", json_string(in->monitoring_url));
    bad = bad || json_object_set_new(o, "mmd", json_integer((json_int_t)in->mmd));
    if (usable != NULL && json_object_set_new(usable, "timestamp", json_string(ts)) != 0)
        bad = 1;
    if (state != NULL && usable != NULL) {
        bad |= json_object_set_new(state, "usable", usable) != 0; /* steals usable */
        usable = NULL;
    }
    if (o != NULL && state != NULL) {
        bad |= json_object_set_new(o, "state", state) != 0; /* steals state */
        state = NULL;
    }
    if (!bad && in->not_after_end > in->not_after_start) {
        char s[32], e[32];
        json_t *ti = json_object();
        if (ti == NULL || !rfc3339(s, in->not_after_start) || !rfc3339(e, in->not_after_end) ||
            json_object_set_new(ti, "start_inclusive", json_string(s)) ||
            json_object_set_new(ti, "end_exclusive", json_string(e))) {
            json_decref(ti);
            bad = 1;
        } else {
            bad = json_object_set_new(o, "temporal_interval", ti) != 0; /* steals ti */
        }
    }
    json_decref(usable);
    json_decref(state);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

arb_err arb_ct_loglist_json(char **out, const arb_ct_loglist_info *in, arb_errbuf *eb)
{
    uint8_t id[32];
    unsigned int idlen = 0;
    char ts[32];
    json_t *root = NULL, *op = NULL, *logs = NULL, *tiled = NULL, *emails = NULL, *lo;
    int bad;

    *out = NULL;
    if (in->spki == NULL || in->spki_len == 0 || in->mmd == 0 || in->mmd > INT64_MAX ||
        !arb_ct_loglist_url_ok(in->url) ||
        (in->monitoring_url != NULL && !arb_ct_loglist_url_ok(in->monitoring_url)))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "log list: bad URL, MMD or key");
    if (!EVP_Digest(in->spki, in->spki_len, id, &idlen, EVP_sha256(), NULL) ||
        !rfc3339(ts, in->timestamp))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "log list: cannot hash the key or format time");
    root = json_object();
    op = json_object();
    logs = json_array();
    emails = json_array();
    bad = root == NULL || op == NULL || logs == NULL || emails == NULL;
    if (!bad && in->operator_email != NULL && in->operator_email[0])
        bad = json_array_append_new(emails, json_string(in->operator_email)) != 0;
    /* One entry: consumers key logs by ID and refuse a log listed twice. */
    tiled = json_array();
    bad = bad || tiled == NULL;
    if (!bad && in->monitoring_url != NULL) {
        bad = (lo = log_object(in, id, 1, ts)) == NULL || json_array_append_new(tiled, lo);
    } else {
        bad = bad || (lo = log_object(in, id, 0, ts)) == NULL || json_array_append_new(logs, lo);
    }
    bad = bad || json_object_set_new(op, "name",
                                     json_string(in->operator_name != NULL && in->operator_name[0]
                                                     ? in->operator_name
                                                     : "arbor")) ||
          json_object_set(op, "email", emails) || json_object_set(op, "logs", logs) ||
          json_object_set(op, "tiled_logs", tiled);
    bad = bad || json_object_set_new(root, "version", json_string("1")) ||
          json_object_set_new(root, "log_list_timestamp", json_string(ts)) ||
          json_object_set_new(root, "operators", json_pack("[O]", op));
    if (!bad)
        *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(emails);
    json_decref(logs);
    json_decref(tiled);
    json_decref(op);
    json_decref(root);
    if (*out == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "log list: out of memory (or a string not UTF-8)");
    return ARB_OK;
}
