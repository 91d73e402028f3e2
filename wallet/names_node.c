/* The node client's name-layer and anchor calls (see names_node.h). */
#include "wallet/names_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "merkle/buf.h"
#include "merkle/proof.h"
#include "wallet/node_internal.h"

/* Most history entries and names kept from one answer. */
#define MAX_HISTORY 10000
#define MAX_NAMES 100000

static arb_err bad(arb_errbuf *eb, const char *what)
{
    return arb_errf(eb, ARB_ERR_PARSE, "malformed node answer: %s", what);
}

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

/* A height or null (-1). */
static int get_opt_height(const json_t *o, const char *k, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    uint32_t h;
    if (json_is_null(x)) {
        *v = -1;
        return 1;
    }
    if (!get_u32(o, k, &h))
        return 0;
    *v = h;
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

/* A string of at most size-1 bytes, copied. */
static int get_str(const json_t *o, const char *k, char *out, size_t size)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_string(x) || json_string_length(x) >= size ||
        strlen(json_string_value(x)) != json_string_length(x))
        return 0;
    memcpy(out, json_string_value(x), json_string_length(x) + 1);
    return 1;
}

/* 32 bytes as 64 lowercase hex digits. */
static int get_hex32(const json_t *o, const char *k, uint8_t out[static 32])
{
    json_t *x = json_object_get(o, k);
    const char *s;
    if (!json_is_string(x))
        return 0;
    s = json_string_value(x);
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64 &&
           arb_hex_decode(out, 32, s, 64);
}

static int get_txid(const json_t *o, const char *k, char out[static ARB_NODE_HASH_HEX])
{
    uint8_t b[32];
    if (!get_hex32(o, k, b))
        return 0;
    memcpy(out, json_string_value(json_object_get(o, k)), ARB_NODE_HASH_HEX);
    return 1;
}

static int one_of(const char *s, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

void arb_node_name_clear(arb_node_name *r)
{
    if (r == NULL)
        return;
    free(r->zonefile);
    free(r->history);
    memset(r, 0, sizeof(*r));
}

static arb_err decode_name(const json_t *j, arb_node_name *r, int with_history, arb_errbuf *eb)
{
    static const char *const STATUS[] = {"active", "grace", "expired", "revoked", "available",
                                         NULL};
    json_t *zh = json_object_get(j, "zonefile_hash"), *zf = json_object_get(j, "zonefile");
    json_t *hist = json_object_get(j, "history");
    size_t name_len = 0;

    memset(r, 0, sizeof(*r));
    if (!get_str(j, "name", r->name, sizeof(r->name)) ||
        !arb_names_full_valid((const uint8_t *)r->name, strlen(r->name), &name_len) ||
        !get_str(j, "namespace", r->ns, sizeof(r->ns)) || strcmp(r->ns, r->name + name_len + 1) != 0)
        goto bad;
    if (!get_str(j, "status", r->status, sizeof(r->status)) || !one_of(r->status, STATUS) ||
        !get_hex32(j, "owner", r->owner) || !get_str(j, "address", r->address, sizeof(r->address)) ||
        !get_u32(j, "registered_height", &r->registered_height) ||
        !get_u32(j, "renewed_height", &r->renewed_height) ||
        !get_opt_height(j, "expires_at", &r->expires_at) ||
        !get_opt_height(j, "grace_ends_at", &r->grace_ends_at) ||
        !get_bool(j, "imported", &r->imported))
        goto bad;
    if (json_is_null(zh))
        r->has_zonefile = 0;
    else if (get_hex32(j, "zonefile_hash", r->zonefile_hash))
        r->has_zonefile = 1;
    else
        goto bad;
    if (zf != NULL && !json_is_null(zf)) {
        if (!json_is_string(zf) || json_string_length(zf) > ARB_NAMES_ZONEFILE_MAX)
            goto bad;
        if ((r->zonefile = strndup(json_string_value(zf), json_string_length(zf))) == NULL) {
            arb_node_name_clear(r);
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        }
    }
    if (with_history) {
        size_t i;
        json_t *e;
        if (!json_is_array(hist) || json_array_size(hist) > MAX_HISTORY)
            goto bad;
        if (json_array_size(hist) > 0 &&
            (r->history = calloc(json_array_size(hist), sizeof(*r->history))) == NULL) {
            arb_node_name_clear(r);
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        }
        json_array_foreach(hist, i, e) {
            arb_node_name_event *ev = &r->history[i];
            if (!json_is_object(e) || !get_u32(e, "height", &ev->height) ||
                !get_txid(e, "txid", ev->txid) || !get_str(e, "op", ev->op, sizeof(ev->op)))
                goto bad;
            r->n_history++;
        }
    }
    return ARB_OK;
bad:
    arb_node_name_clear(r);
    return bad(eb, "name record");
}

static arb_err decode_owner(const json_t *j, arb_node_name **out, size_t *n_out, arb_errbuf *eb)
{
    json_t *a = json_object_get(j, "names"), *e;
    arb_node_name *v = NULL;
    size_t i, n = 0;
    arb_err err;

    *out = NULL;
    *n_out = 0;
    if (!json_is_array(a) || json_array_size(a) > MAX_NAMES)
        return bad(eb, "names");
    if (json_array_size(a) > 0 && (v = calloc(json_array_size(a), sizeof(*v))) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    json_array_foreach(a, i, e) {
        if (!json_is_object(e)) {
            err = bad(eb, "names");
            goto fail;
        }
        if ((err = decode_name(e, &v[i], 0, eb)) != ARB_OK)
            goto fail;
        n++;
    }
    *out = v;
    *n_out = n;
    return ARB_OK;
fail:
    for (i = 0; i < n; i++)
        arb_node_name_clear(&v[i]);
    free(v);
    return err;
}

static arb_err decode_price(const json_t *j, arb_node_price *p, arb_errbuf *eb)
{
    json_t *x = json_object_get(j, "price");
    char name[ARB_NAMES_FULL_MAX + 1];
    size_t nl;

    memset(p, 0, sizeof(*p));
    if (!get_str(j, "name", name, sizeof(name)) ||
        !arb_names_full_valid((const uint8_t *)name, strlen(name), &nl) ||
        !get_bool(j, "namespace_ready", &p->namespace_ready) ||
        !get_bool(j, "available", &p->available))
        goto bad;
    if (json_is_null(x))
        p->has_price = 0;
    else if (get_u64(j, "price", UINT64_MAX >> 1, &p->price))
        p->has_price = 1;
    else
        goto bad;
    return ARB_OK;
bad:
    memset(p, 0, sizeof(*p));
    return bad(eb, "price");
}

static arb_err decode_namespace(const json_t *j, arb_node_namespace *ns, arb_errbuf *eb)
{
    static const char *const STATUS[] = {"revealed", "ready", "lapsed", NULL};
    json_t *pf = json_object_get(j, "price_function"), *b;
    uint64_t v;

    memset(ns, 0, sizeof(*ns));
    if (!get_str(j, "id", ns->id, sizeof(ns->id)) ||
        !arb_names_ns_valid((const uint8_t *)ns->id, strlen(ns->id)) ||
        !get_str(j, "status", ns->status, sizeof(ns->status)) || !one_of(ns->status, STATUS) ||
        !get_hex32(j, "reveal_key", ns->reveal_key) ||
        !get_u32(j, "reveal_height", &ns->reveal_height) ||
        !get_opt_height(j, "ready_height", &ns->ready_height) ||
        !get_u32(j, "lifetime", &ns->lifetime) || !json_is_object(pf))
        goto bad;
    b = json_object_get(pf, "buckets");
    if (!get_u64(pf, "coeff", 255, &v))
        goto bad;
    ns->price.coeff = (uint8_t)v;
    if (!get_u64(pf, "base", 255, &v))
        goto bad;
    ns->price.base = (uint8_t)v;
    if (!get_u64(pf, "nonalpha_discount", 255, &v))
        goto bad;
    ns->price.nonalpha_discount = (uint8_t)v;
    if (!get_u64(pf, "no_vowel_discount", 255, &v))
        goto bad;
    ns->price.no_vowel_discount = (uint8_t)v;
    if (!json_is_array(b) || json_array_size(b) != 16)
        goto bad;
    for (size_t i = 0; i < 16; i++) {
        json_t *x = json_array_get(b, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 255)
            goto bad;
        ns->price.buckets[i] = (uint8_t)json_integer_value(x);
    }
    return ARB_OK;
bad:
    memset(ns, 0, sizeof(*ns));
    return bad(eb, "namespace");
}

static arb_err decode_anchor_obj(const json_t *a, arb_node_anchor *out)
{
    if (!json_is_object(a) || !get_u64(a, "tree_size", UINT64_MAX >> 1, &out->tree_size) ||
        !get_u64(a, "timestamp", UINT64_MAX >> 1, &out->timestamp) ||
        !get_hex32(a, "root_hash", out->root) || !get_u32(a, "height", &out->height) ||
        !get_txid(a, "txid", out->txid))
        return ARB_ERR_PARSE;
    return ARB_OK;
}

static arb_err decode_anchors(const json_t *j, arb_node_anchor *out, int *has, arb_errbuf *eb)
{
    json_t *latest = json_object_get(j, "latest"), *all = json_object_get(j, "anchors");
    uint8_t id[32];

    memset(out, 0, sizeof(*out));
    *has = 0;
    if (!get_hex32(j, "log_id", id) || !json_is_array(all) || latest == NULL)
        return bad(eb, "anchors");
    if (json_is_null(latest))
        return ARB_OK;
    if (decode_anchor_obj(latest, out) != ARB_OK) {
        memset(out, 0, sizeof(*out));
        return bad(eb, "anchor");
    }
    *has = 1;
    return ARB_OK;
}

static arb_err decode_zonefile(const json_t *j, char hash[static ARB_NODE_HASH_HEX],
                               arb_errbuf *eb)
{
    if (!get_txid(j, "hash", hash)) {
        memset(hash, 0, ARB_NODE_HASH_HEX);
        return bad(eb, "zone-file answer");
    }
    return ARB_OK;
}

/* {"consistency": ["<base64 32 bytes>", ...]} (RFC 6962 4.4). */
static arb_err decode_consistency(const json_t *j, arb_hash *proof, size_t cap, size_t *n,
                                  arb_errbuf *eb)
{
    json_t *a = json_object_get(j, "consistency"), *e;
    size_t i;

    *n = 0;
    if (!json_is_array(a) || json_array_size(a) > cap)
        return arb_errf(eb, ARB_ERR_PARSE, "malformed consistency proof (at most %zu hashes)",
                        cap);
    json_array_foreach(a, i, e) {
        uint8_t *b = NULL;
        size_t bl = 0;
        if (!json_is_string(e) ||
            arb_base64_decode(&b, &bl, json_string_value(e), json_string_length(e)) !=
                ARB_OK ||
            bl != 32) {
            free(b);
            *n = 0;
            return arb_errf(eb, ARB_ERR_PARSE, "malformed consistency proof: hash %zu", i + 1);
        }
        memcpy(proof[i].b, b, 32);
        free(b);
    }
    *n = json_array_size(a);
    return ARB_OK;
}

arb_err arb_node_decode_names_route(arb_node_route route, json_t *j, arb_errbuf *eb)
{
    arb_err err;

    switch (route) {
    case ARB_NODE_ROUTE_NAME: {
        arb_node_name r;
        err = decode_name(j, &r, 1, eb);
        arb_node_name_clear(&r);
        return err;
    }
    case ARB_NODE_ROUTE_OWNER: {
        arb_node_name *v = NULL;
        size_t n = 0;
        err = decode_owner(j, &v, &n, eb);
        for (size_t i = 0; i < n; i++)
            arb_node_name_clear(&v[i]);
        free(v);
        return err;
    }
    case ARB_NODE_ROUTE_PRICE: {
        arb_node_price p;
        return decode_price(j, &p, eb);
    }
    case ARB_NODE_ROUTE_NAMESPACE: {
        arb_node_namespace ns;
        return decode_namespace(j, &ns, eb);
    }
    case ARB_NODE_ROUTE_ANCHORS: {
        arb_node_anchor a;
        int has;
        return decode_anchors(j, &a, &has, eb);
    }
    case ARB_NODE_ROUTE_ZONEFILE: {
        char h[ARB_NODE_HASH_HEX];
        return decode_zonefile(j, h, eb);
    }
    case ARB_NODE_ROUTE_CONSISTENCY: {
        arb_hash proof[ARB_MERKLE_MAX_PROOF];
        size_t n;
        return decode_consistency(j, proof, ARB_MERKLE_MAX_PROOF, &n, eb);
    }
    default:
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "unknown route");
    }
}

/* "<prefix><s>" when s holds only the characters of set (no escaping
 * needed). */
static int safe_path(char *out, size_t size, const char *prefix, const char *s, const char *set)
{
    size_t len = strlen(s);
    if (len == 0 || len > 128 || strspn(s, set) != len)
        return 0;
    return snprintf(out, size, "%s%s", prefix, s) < (int)size;
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-_."

arb_err arb_node_get_name(arb_node *n, arb_node_name *out, const char *full, arb_errbuf *eb)
{
    char path[256];
    json_t *j = NULL;
    arb_err err;

    memset(out, 0, sizeof(*out));
    if (!safe_path(path, sizeof(path), "/names/v1/name/", full, NAME_CHARS))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid name \"%s\"", full);
    if ((err = arb_node_request(n, &j, path, NULL, 0, NULL, eb)) != ARB_OK)
        return err;
    err = decode_name(j, out, 1, eb);
    json_decref(j);
    return err;
}

arb_err arb_node_get_owner_names(arb_node *n, arb_node_name **out, size_t *n_out,
                                 const char *owner, arb_errbuf *eb)
{
    char path[256];
    json_t *j = NULL;
    arb_err err;

    *out = NULL;
    *n_out = 0;
    if (!safe_path(path, sizeof(path), "/names/v1/owner/", owner,
                   "abcdefghijklmnopqrstuvwxyz0123456789"))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid owner \"%s\"", owner);
    if ((err = arb_node_request(n, &j, path, NULL, 0, NULL, eb)) != ARB_OK)
        return err;
    err = decode_owner(j, out, n_out, eb);
    json_decref(j);
    return err;
}

arb_err arb_node_get_price(arb_node *n, arb_node_price *out, const char *full, arb_errbuf *eb)
{
    char path[256];
    json_t *j = NULL;
    arb_err err;

    memset(out, 0, sizeof(*out));
    if (!safe_path(path, sizeof(path), "/names/v1/price/", full, NAME_CHARS))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid name \"%s\"", full);
    if ((err = arb_node_request(n, &j, path, NULL, 0, NULL, eb)) != ARB_OK)
        return err;
    err = decode_price(j, out, eb);
    json_decref(j);
    return err;
}

arb_err arb_node_get_namespace(arb_node *n, arb_node_namespace *out, const char *id,
                               arb_errbuf *eb)
{
    char path[256];
    json_t *j = NULL;
    arb_err err;

    memset(out, 0, sizeof(*out));
    if (!safe_path(path, sizeof(path), "/names/v1/namespace/", id,
                   "abcdefghijklmnopqrstuvwxyz0123456789-_"))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid namespace id \"%s\"", id);
    if ((err = arb_node_request(n, &j, path, NULL, 0, NULL, eb)) != ARB_OK)
        return err;
    err = decode_namespace(j, out, eb);
    json_decref(j);
    return err;
}

arb_err arb_node_get_anchor(arb_node *n, arb_node_anchor *out, int *has,
                            const uint8_t log_id32[static 32], arb_errbuf *eb)
{
    char path[128], hex[65];
    json_t *j = NULL;
    arb_err err;

    memset(out, 0, sizeof(*out));
    *has = 0;
    arb_hex_encode(hex, log_id32, 32);
    snprintf(path, sizeof(path), "/chain/v1/anchors/%s", hex);
    err = arb_node_request(n, &j, path, NULL, 0, NULL, eb);
    if (err == ARB_ERR_NOT_FOUND) {
        /* No anchor of this log yet. (A node without the route answers
         * 404 too; it also refuses the anchor transaction, which says so.) */
        eb->msg[0] = '\0';
        return ARB_OK;
    }
    if (err != ARB_OK)
        return err;
    err = decode_anchors(j, out, has, eb);
    json_decref(j);
    return err;
}

arb_err arb_node_post_zonefile(arb_node *n, char hash_out[static ARB_NODE_HASH_HEX],
                               const uint8_t *zf, size_t len, arb_errbuf *eb)
{
    json_t *j = NULL;
    arb_err err;

    memset(hash_out, 0, ARB_NODE_HASH_HEX);
    if (len == 0 || len > ARB_NAMES_ZONEFILE_MAX)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "a zone file has 1 to %u bytes",
                        (unsigned)ARB_NAMES_ZONEFILE_MAX);
    if ((err = arb_node_request(n, &j, "/names/v1/zonefile", zf, len,
                                "application/octet-stream", eb)) != ARB_OK)
        return err;
    err = decode_zonefile(j, hash_out, eb);
    json_decref(j);
    return err;
}

arb_err arb_node_get_consistency(arb_node *log, arb_hash *proof, size_t cap, size_t *n_proof,
                                 uint64_t first, uint64_t second, arb_errbuf *eb)
{
    char path[128];
    json_t *j = NULL;
    arb_err err;

    *n_proof = 0;
    snprintf(path, sizeof(path), "/ct/v1/get-sth-consistency?first=%llu&second=%llu",
             (unsigned long long)first, (unsigned long long)second);
    if ((err = arb_node_request(log, &j, path, NULL, 0, NULL, eb)) != ARB_OK)
        return err;
    err = decode_consistency(j, proof, cap, n_proof, eb);
    json_decref(j);
    return err;
}

arb_err arb_node_get_raw(arb_node *n, const char *path, size_t max, uint8_t **body, size_t *len,
                         arb_errbuf *eb)
{
    long status = 0;
    arb_err err = arb_node_http(n, path, NULL, 0, NULL, &status, body, len, eb);

    if (err != ARB_OK)
        return err;
    if (status != 200 || *len > max) {
        free(*body);
        *body = NULL;
        if (status == 200) {
            err = arb_errf(eb, ARB_ERR_PARSE, "%s: answer of %zu bytes (at most %zu)", path, *len,
                           max);
            *len = 0;
            return err;
        }
        *len = 0;
        return arb_errf(eb, status == 404 ? ARB_ERR_NOT_FOUND : ARB_ERR_VERIFY,
                        "%s%s answered HTTP %ld", arb_node_url(n), path, status);
    }
    return ARB_OK;
}

arb_err arb_node_get_sth_body(arb_node *log, uint8_t **body, size_t *len, arb_errbuf *eb)
{
    return arb_node_get_raw(log, "/ct/v1/get-sth", 1u << 16, body, len, eb);
}
