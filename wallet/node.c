/* arbord chain API client: libcurl for transport, jansson for strict JSON. */
#include "wallet/node.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "merkle/buf.h"
#include "wallet/node_internal.h"

/* Largest answer accepted (a template of a full block in hex, with room). */
#define MAX_ANSWER (64u << 20)

struct arb_node {
    CURL *curl;
    char *base;
    long timeout_ms;
};

arb_err arb_node_new(arb_node **out, const char *base_url, long timeout_ms, arb_errbuf *eb)
{
    arb_node *n;
    size_t len;

    *out = NULL;
    if (base_url == NULL || (strncmp(base_url, "http://", 7) != 0 &&
                             strncmp(base_url, "https://", 8) != 0))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "node URL must start with http:// or https://");
    if (timeout_ms <= 0)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "timeout must be positive");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return arb_errf(eb, ARB_ERR_INTERNAL, "curl_global_init failed");
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    len = strlen(base_url);
    while (len > 0 && base_url[len - 1] == '/')
        len--;
    n->base = malloc(len + 1);
    n->curl = curl_easy_init();
    if (n->base == NULL || n->curl == NULL) {
        arb_node_free(n);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    memcpy(n->base, base_url, len);
    n->base[len] = '\0';
    n->timeout_ms = timeout_ms;
    *out = n;
    return ARB_OK;
}

void arb_node_free(arb_node *n)
{
    if (n == NULL)
        return;
    if (n->curl != NULL)
        curl_easy_cleanup(n->curl);
    free(n->base);
    free(n);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    arb_buf *b = ud;
    size_t len = size * nmemb;
    if (b->len + len > MAX_ANSWER)
        return 0;
    arb_buf_put(b, p, len);
    return b->oom ? 0 : len;
}

arb_err arb_node_http(arb_node *n, const char *path, const uint8_t *body, size_t body_len,
                      const char *content_type, long *status, uint8_t **out, size_t *out_len,
                      arb_errbuf *eb)
{
    arb_buf ans = {0};
    struct curl_slist *hdr = NULL;
    char *url = NULL, cerr[CURL_ERROR_SIZE] = "", ct[128];
    CURLcode cc;
    arb_err err = ARB_OK;
    size_t ul = strlen(n->base) + strlen(path) + 1;

    *status = 0;
    *out = NULL;
    *out_len = 0;
    url = malloc(ul);
    if (url == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    snprintf(url, ul, "%s%s", n->base, path);
    curl_easy_reset(n->curl);
    curl_easy_setopt(n->curl, CURLOPT_URL, url);
    curl_easy_setopt(n->curl, CURLOPT_TIMEOUT_MS, n->timeout_ms);
    curl_easy_setopt(n->curl, CURLOPT_CONNECTTIMEOUT_MS, n->timeout_ms);
    curl_easy_setopt(n->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(n->curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(n->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(n->curl, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(n->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s",
                 content_type != NULL ? content_type : "application/json");
        hdr = curl_slist_append(NULL, ct);
        if (hdr == NULL) {
            err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
            goto out;
        }
        curl_easy_setopt(n->curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(n->curl, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(n->curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    cc = curl_easy_perform(n->curl);
    if (ans.oom) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (cc == CURLE_WRITE_ERROR) {
        err = arb_errf(eb, ARB_ERR_PARSE, "answer from %s is too large", url);
        goto out;
    }
    if (cc != CURLE_OK) {
        err = arb_errf(eb, ARB_ERR_NET, "node unreachable at %s: %s", n->base,
                       cerr[0] ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, status);
    arb_buf_u8(&ans, 0); /* a NUL after the body, not counted */
    if (ans.oom) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    *out = ans.data;
    *out_len = ans.len - 1;
    ans.data = NULL;
out:
    curl_slist_free_all(hdr);
    arb_buf_free(&ans);
    free(url);
    return err;
}

arb_err arb_node_request(arb_node *n, json_t **out, const char *path, const uint8_t *body,
                         size_t body_len, const char *content_type, arb_errbuf *eb)
{
    uint8_t *ans = NULL;
    size_t len = 0;
    long status = 0;
    json_t *j = NULL;
    json_error_t je;
    arb_err err;

    *out = NULL;
    err = arb_node_http(n, path, body, body_len, content_type, &status, &ans, &len, eb);
    if (err != ARB_OK)
        return err;
    j = json_loadb((const char *)ans, len, JSON_REJECT_DUPLICATES, &je);
    if (status >= 400) {
        json_t *e = json_is_object(j) ? json_object_get(j, "error") : NULL;
        const char *reason = json_is_string(e) ? json_string_value(e) : "no reason given";
        err = arb_errf(eb, status == 404 ? ARB_ERR_NOT_FOUND : ARB_ERR_VERIFY,
                       "node rejected the request: %s (HTTP %ld)", reason, status);
        goto out;
    }
    if (status != 200) {
        err = arb_errf(eb, ARB_ERR_PARSE, "unexpected HTTP status %ld from %s%s", status,
                       n->base, path);
        goto out;
    }
    if (!json_is_object(j)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "node answer from %s%s is not a JSON object", n->base,
                       path);
        goto out;
    }
    *out = j;
    j = NULL;
out:
    json_decref(j);
    free(ans);
    return err;
}

/* One JSON request (body NULL: GET, else POST of a JSON string). */
static arb_err request(arb_node *n, json_t **out, const char *path, const char *body,
                       arb_errbuf *eb)
{
    return arb_node_request(n, out, path, (const uint8_t *)body, body ? strlen(body) : 0,
                            "application/json", eb);
}

/* Strict field readers: 1 on success, 0 when missing or of the wrong type. */
static int get_u64(const json_t *o, const char *k, uint64_t max, uint64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x) || json_integer_value(x) < 0 ||
        (uint64_t)json_integer_value(x) > max)
        return 0;
    *v = (uint64_t)json_integer_value(x);
    return 1;
}

static int get_u32(const json_t *o, const char *k, uint32_t *v)
{
    uint64_t t;
    if (!get_u64(o, k, UINT32_MAX, &t))
        return 0;
    *v = (uint32_t)t;
    return 1;
}

static int get_height(const json_t *o, const char *k, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x) || json_integer_value(x) < -1 ||
        json_integer_value(x) > (json_int_t)UINT32_MAX)
        return 0;
    *v = (int64_t)json_integer_value(x);
    return 1;
}

static int get_bool(const json_t *o, const char *k, int *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_boolean(x))
        return 0;
    *v = json_is_true(x);
    return 1;
}

static int get_hash(const json_t *o, const char *k, char out[static ARB_NODE_HASH_HEX])
{
    json_t *x = json_object_get(o, k);
    const char *s;
    if (!json_is_string(x))
        return 0;
    s = json_string_value(x);
    if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
        return 0;
    memcpy(out, s, ARB_NODE_HASH_HEX);
    return 1;
}

static arb_err bad(arb_errbuf *eb, const char *what)
{
    return arb_errf(eb, ARB_ERR_PARSE, "malformed node answer: %s", what);
}

/* Appends "/chain/v1/address/<address>/<what>" after checking address holds
 * only bech32 characters (so it needs no escaping). */
static int addr_path(char *out, size_t size, const char *address, const char *what)
{
    size_t len = strlen(address);
    if (len == 0 || len > 120 ||
        strspn(address, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != len)
        return 0;
    return snprintf(out, size, "/chain/v1/address/%s/%s", address, what) < (int)size;
}

static arb_err decode_tip(const json_t *j, arb_node_tip *tip, arb_errbuf *eb)
{
    json_t *net = json_object_get(j, "network");

    memset(tip, 0, sizeof(*tip));
    if (!json_is_string(net) || strlen(json_string_value(net)) >= sizeof(tip->network) ||
        !get_u32(j, "height", &tip->height) || !get_hash(j, "hash", tip->hash) ||
        !get_u32(j, "bits", &tip->bits) || !get_u32(j, "time", &tip->time)) {
        memset(tip, 0, sizeof(*tip));
        return bad(eb, "tip");
    }
    strcpy(tip->network, json_string_value(net));
    return ARB_OK;
}

arb_err arb_node_get_tip(arb_node *n, arb_node_tip *tip, arb_errbuf *eb)
{
    json_t *j = NULL;
    arb_err err;

    memset(tip, 0, sizeof(*tip));
    err = request(n, &j, "/chain/v1/tip", NULL, eb);
    if (err != ARB_OK)
        return err;
    err = decode_tip(j, tip, eb);
    json_decref(j);
    return err;
}

static arb_err decode_utxos(json_t *j, arb_node_utxo **out, size_t *n_out, arb_errbuf *eb);
static arb_err decode_balance(const json_t *j, arb_node_balance *bal, arb_errbuf *eb);
static arb_err decode_history(json_t *j, arb_node_hist **out, size_t *n_out, arb_errbuf *eb);
static arb_err decode_template(const json_t *j, arb_node_template *t, arb_errbuf *eb);
static arb_err decode_tx(const json_t *j, arb_node_txinfo *info, arb_errbuf *eb);
static arb_err decode_block_hash(const json_t *j, char hash[static ARB_NODE_HASH_HEX],
                                 uint32_t *height, arb_errbuf *eb);

const char *arb_node_url(const arb_node *n)
{
    return n->base;
}

void arb_node_txinfo_clear(arb_node_txinfo *info)
{
    if (info == NULL)
        return;
    free(info->hex);
    memset(info, 0, sizeof(*info));
    info->height = -1;
}

arb_err arb_node_get_tx(arb_node *n, arb_node_txinfo *info, const char *txid, arb_errbuf *eb)
{
    char path[128];
    json_t *j = NULL;
    arb_err err;

    memset(info, 0, sizeof(*info));
    info->height = -1;
    if (strlen(txid) != 64 || strspn(txid, "0123456789abcdef") != 64)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid txid");
    snprintf(path, sizeof(path), "/chain/v1/tx?txid=%s", txid);
    err = request(n, &j, path, NULL, eb);
    if (err != ARB_OK)
        return err;
    err = decode_tx(j, info, eb);
    json_decref(j);
    return err;
}

/* {"txid","hex","confirmed":true,"height",...} or {"txid","hex","confirmed":false}. */
static arb_err decode_tx(const json_t *j, arb_node_txinfo *info, arb_errbuf *eb)
{
    json_t *hex = json_object_get(j, "hex");
    size_t len;

    memset(info, 0, sizeof(*info));
    info->height = -1;
    if (!get_hash(j, "txid", info->txid) || !get_bool(j, "confirmed", &info->confirmed) ||
        !json_is_string(hex) || (len = strlen(json_string_value(hex))) == 0 || len % 2 != 0 ||
        strspn(json_string_value(hex), "0123456789abcdefABCDEF") != len)
        goto bad;
    if (info->confirmed && (!get_height(j, "height", &info->height) || info->height < 0))
        goto bad;
    if ((info->hex = strdup(json_string_value(hex))) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    return ARB_OK;
bad:
    arb_node_txinfo_clear(info);
    return bad(eb, "transaction");
}

/* The array under key k of an answer, or NULL. */
static json_t *get_array(json_t *j, const char *k)
{
    json_t *a = json_object_get(j, k);
    return json_is_array(a) ? a : NULL;
}

arb_err arb_node_get_utxos(arb_node *n, arb_node_utxo **out, size_t *n_out, const char *address,
                           arb_errbuf *eb)
{
    char path[200];
    json_t *j = NULL;
    arb_err err;

    *out = NULL;
    *n_out = 0;
    if (!addr_path(path, sizeof(path), address, "utxos"))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid address");
    err = request(n, &j, path, NULL, eb);
    if (err != ARB_OK)
        return err;
    err = decode_utxos(j, out, n_out, eb);
    json_decref(j);
    return err;
}

static arb_err decode_utxos(json_t *j, arb_node_utxo **out, size_t *n_out, arb_errbuf *eb)
{
    json_t *a, *e;
    arb_node_utxo *u;
    size_t i;

    *out = NULL;
    *n_out = 0;
    a = get_array(j, "utxos");
    if (a == NULL)
        return bad(eb, "utxos");
    u = calloc(json_array_size(a) + 1, sizeof(*u));
    if (u == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    json_array_foreach(a, i, e) {
        arb_node_utxo *x = &u[i];
        if (!json_is_object(e) || !get_hash(e, "txid", x->txid) ||
            !get_u32(e, "index", &x->index) ||
            !get_u64(e, "amount", 2100000000000000ULL, &x->amount) ||
            !get_height(e, "height", &x->height) || !get_bool(e, "coinbase", &x->coinbase) ||
            !get_bool(e, "confirmed", &x->confirmed) || !get_bool(e, "mature", &x->mature)) {
            free(u);
            return bad(eb, "utxo entry");
        }
    }
    *n_out = json_array_size(a);
    *out = u;
    return ARB_OK;
}

arb_err arb_node_get_balance(arb_node *n, arb_node_balance *bal, const char *address,
                             arb_errbuf *eb)
{
    char path[200];
    json_t *j = NULL;
    arb_err err;

    memset(bal, 0, sizeof(*bal));
    if (!addr_path(path, sizeof(path), address, "balance"))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid address");
    err = request(n, &j, path, NULL, eb);
    if (err != ARB_OK)
        return err;
    err = decode_balance(j, bal, eb);
    json_decref(j);
    return err;
}

static arb_err decode_balance(const json_t *j, arb_node_balance *bal, arb_errbuf *eb)
{
    const uint64_t max = 2100000000000000ULL;
    if (!get_u64(j, "confirmed", max, &bal->confirmed) ||
        !get_u64(j, "unconfirmed", max, &bal->unconfirmed) ||
        !get_u64(j, "immature", max, &bal->immature)) {
        memset(bal, 0, sizeof(*bal));
        return bad(eb, "balance");
    }
    return ARB_OK;
}

arb_err arb_node_get_history(arb_node *n, arb_node_hist **out, size_t *n_out, const char *address,
                             arb_errbuf *eb)
{
    char path[200];
    json_t *j = NULL;
    arb_err err;

    *out = NULL;
    *n_out = 0;
    if (!addr_path(path, sizeof(path), address, "history"))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid address");
    err = request(n, &j, path, NULL, eb);
    if (err != ARB_OK)
        return err;
    err = decode_history(j, out, n_out, eb);
    json_decref(j);
    return err;
}

static arb_err decode_history(json_t *j, arb_node_hist **out, size_t *n_out, arb_errbuf *eb)
{
    json_t *a, *e;
    arb_node_hist *h;
    size_t i;
    const uint64_t max = 2100000000000000ULL;

    *out = NULL;
    *n_out = 0;
    a = get_array(j, "txs");
    if (a == NULL)
        return bad(eb, "history");
    h = calloc(json_array_size(a) + 1, sizeof(*h));
    if (h == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    json_array_foreach(a, i, e) {
        if (!json_is_object(e) || !get_hash(e, "txid", h[i].txid) ||
            !get_height(e, "height", &h[i].height) ||
            !get_u64(e, "received", max, &h[i].received) ||
            !get_u64(e, "sent", max, &h[i].sent)) {
            free(h);
            return bad(eb, "history entry");
        }
    }
    *n_out = json_array_size(a);
    *out = h;
    return ARB_OK;
}

/* POSTs {"hex": hex} to path. */
static arb_err post_hex(arb_node *n, json_t **out, const char *path, const char *hex,
                        arb_errbuf *eb)
{
    json_t *body = json_pack("{s:s}", "hex", hex);
    char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    arb_err err;

    json_decref(body);
    if (s == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    err = request(n, out, path, s, eb);
    free(s);
    return err;
}

arb_err arb_node_post_tx(arb_node *n, char txid_out[static ARB_NODE_HASH_HEX], const char *hex,
                         arb_errbuf *eb)
{
    json_t *j = NULL;
    arb_err err;

    txid_out[0] = '\0';
    err = post_hex(n, &j, "/chain/v1/tx", hex, eb);
    if (err != ARB_OK)
        return err;
    if (!get_hash(j, "txid", txid_out)) {
        json_decref(j);
        txid_out[0] = '\0';
        return bad(eb, "tx submission");
    }
    json_decref(j);
    return ARB_OK;
}

void arb_node_template_clear(arb_node_template *t)
{
    if (t == NULL)
        return;
    free(t->block);
    memset(t, 0, sizeof(*t));
}

arb_err arb_node_get_template(arb_node *n, arb_node_template *t, const char *address,
                              arb_errbuf *eb)
{
    char path[200];
    json_t *j = NULL;
    arb_err err;
    size_t len = strlen(address);

    memset(t, 0, sizeof(*t));
    if (len == 0 || len > 120 ||
        strspn(address, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != len)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid address");
    snprintf(path, sizeof(path), "/chain/v1/template?address=%s", address);
    err = request(n, &j, path, NULL, eb);
    if (err != ARB_OK)
        return err;
    err = decode_template(j, t, eb);
    json_decref(j);
    return err;
}

static arb_err decode_template(const json_t *j, arb_node_template *t, arb_errbuf *eb)
{
    json_t *hex = json_object_get(j, "hex");

    memset(t, 0, sizeof(*t));
    if (!get_u32(j, "height", &t->height) || !get_hash(j, "prev_hash", t->prev_hash) ||
        !get_u32(j, "bits", &t->bits) || !get_u32(j, "time", &t->time) ||
        !get_u64(j, "coinbase_value", 2100000000000000ULL, &t->coinbase_value) ||
        !json_is_string(hex) ||
        arb_hex_decode_alloc(&t->block, &t->block_len, json_string_value(hex)) != ARB_OK ||
        t->block_len < 80) {
        arb_node_template_clear(t);
        return bad(eb, "template");
    }
    return ARB_OK;
}

/* The block answer's hash and height (the rest, the whole block, is not
 * needed here). */
static arb_err decode_block_hash(const json_t *j, char hash[static ARB_NODE_HASH_HEX],
                                 uint32_t *height, arb_errbuf *eb)
{
    if (!get_hash(j, "hash", hash) || !get_u32(j, "height", height)) {
        hash[0] = '\0';
        *height = 0;
        return bad(eb, "block");
    }
    return ARB_OK;
}

arb_err arb_node_get_block_hash(arb_node *n, char hash_out[static ARB_NODE_HASH_HEX],
                                uint32_t height, arb_errbuf *eb)
{
    char path[64];
    json_t *j = NULL;
    uint32_t got = 0;
    arb_err err;

    hash_out[0] = '\0';
    snprintf(path, sizeof(path), "/chain/v1/block?height=%u", height);
    err = request(n, &j, path, NULL, eb);
    if (err != ARB_OK)
        return err;
    err = decode_block_hash(j, hash_out, &got, eb);
    json_decref(j);
    if (err == ARB_OK && got != height) {
        hash_out[0] = '\0';
        return arb_errf(eb, ARB_ERR_PARSE, "malformed node answer: block at height %u for %u",
                        got, height);
    }
    return err;
}

arb_err arb_node_post_block(arb_node *n, char hash_out[static ARB_NODE_HASH_HEX],
                            uint32_t *height, const uint8_t *block, size_t len, arb_errbuf *eb)
{
    json_t *j = NULL;
    char *hex;
    arb_err err;

    hash_out[0] = '\0';
    *height = 0;
    if (len > MAX_ANSWER / 2)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "block too large");
    hex = malloc(2 * len + 1);
    if (hex == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    arb_hex_encode(hex, block, len);
    err = post_hex(n, &j, "/chain/v1/block", hex, eb);
    free(hex);
    if (err != ARB_OK)
        return err;
    if (!get_hash(j, "hash", hash_out) || !get_u32(j, "height", height)) {
        json_decref(j);
        hash_out[0] = '\0';
        *height = 0;
        return bad(eb, "block submission");
    }
    json_decref(j);
    return ARB_OK;
}

arb_err arb_node_decode_answer(arb_node_route route, const uint8_t *text, size_t len,
                               arb_errbuf *eb)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &je);
    arb_err err;

    if (!json_is_object(j)) {
        json_decref(j);
        return bad(eb, "not a JSON object");
    }
    switch (route) {
    case ARB_NODE_ROUTE_TIP: {
        arb_node_tip tip;
        err = decode_tip(j, &tip, eb);
        break;
    }
    case ARB_NODE_ROUTE_UTXOS: {
        arb_node_utxo *u = NULL;
        size_t n = 0;
        err = decode_utxos(j, &u, &n, eb);
        free(u);
        break;
    }
    case ARB_NODE_ROUTE_BALANCE: {
        arb_node_balance b;
        err = decode_balance(j, &b, eb);
        break;
    }
    case ARB_NODE_ROUTE_HISTORY: {
        arb_node_hist *h = NULL;
        size_t n = 0;
        err = decode_history(j, &h, &n, eb);
        free(h);
        break;
    }
    case ARB_NODE_ROUTE_TEMPLATE: {
        arb_node_template t;
        err = decode_template(j, &t, eb);
        arb_node_template_clear(&t);
        break;
    }
    case ARB_NODE_ROUTE_TX: {
        arb_node_txinfo info;
        err = decode_tx(j, &info, eb);
        arb_node_txinfo_clear(&info);
        break;
    }
    case ARB_NODE_ROUTE_BLOCK: {
        char hash[ARB_NODE_HASH_HEX];
        uint32_t height;
        err = decode_block_hash(j, hash, &height, eb);
        break;
    }
    case ARB_NODE_ROUTE_NAME:
    case ARB_NODE_ROUTE_OWNER:
    case ARB_NODE_ROUTE_PRICE:
    case ARB_NODE_ROUTE_NAMESPACE:
    case ARB_NODE_ROUTE_ANCHORS:
    case ARB_NODE_ROUTE_ZONEFILE:
    case ARB_NODE_ROUTE_CONSISTENCY:
        err = arb_node_decode_names_route(route, j, eb);
        break;
    default:
        err = arb_errf(eb, ARB_ERR_INVALID_ARG, "unknown route");
    }
    json_decref(j);
    return err;
}
