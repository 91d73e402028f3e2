/* The name layer's read routes (see namesapi.h and docs/api.md). */
#include "ledger/api/namesapi.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/bech32.h"
#include "ledger/names/nameop.h"

#define PREFIX "/names/v1/"
#define MAX_LIST 1000
#define MAX_HISTORY 1000

struct arb_namesapi {
    arb_chainapi *chain;
    const arb_chain_params *p;
    const arb_names_params *np;
};

static void reply(arb_http_req *req, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        (void)arb_http_respond_error(req, 500, "names_nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, 200, NULL, "Cache-Control: no-store\r\n", text, strlen(text));
    free(text);
}

static void reply_status(arb_http_req *req, int status, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        (void)arb_http_respond_error(req, 500, "names_nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, status, NULL, "Cache-Control: no-store\r\n", text, strlen(text));
    free(text);
}

static void fail(arb_http_req *req, int status, const char *counter, const char *msg)
{
    (void)arb_http_respond_error(req, status, counter, msg);
}

static json_t *jhex(const uint8_t *d, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (s == NULL)
        return NULL;
    arb_hex_encode(s, d, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *jstrn(const uint8_t *d, size_t n)
{
    return json_stringn((const char *)d, n);
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

static int want_proof(arb_http_req *req)
{
    const char *q = arb_http_req_query(req, "proof");
    return q != NULL && strcmp(q, "0") != 0;
}

/* ---------------------------------------------------------------- records as JSON */

/* The name's status at `height` (the tip): docs/api.md. */
static const char *name_status(const arb_names_params *np, const arb_name_rec *r,
                               const arb_namespace_rec *ns, int has_ns, uint32_t height)
{
    if (!has_ns || arb_names_stale(ns, r))
        return "available";
    if (r->revoked)
        return "revoked";
    if (arb_names_resolves(r, height))
        return "active";
    if (arb_names_in_grace(np, r, height))
        return "grace";
    return "expired";
}

typedef struct {
    const arb_namesapi *n;
    arb_chainstate *cs;
    json_t *arr;
    uint32_t from, limit, seen;
    int more;
} hist_walk;

static int name_hist(void *ud, uint32_t height, uint32_t tx_index, const arb_hash *txid,
                     uint8_t op, const arb_hash *block, const uint8_t *rec, size_t rec_len)
{
    hist_walk *w = ud;
    char hex[65];
    (void)tx_index;
    (void)block;
    (void)rec;
    (void)rec_len;
    if (w->seen++ < w->from)
        return 0;
    if (json_array_size(w->arr) >= w->limit) {
        w->more = 1;
        return 1;
    }
    arb_chain_hash_hex(hex, txid);
    json_array_append_new(w->arr, json_pack("{s:I, s:s, s:s}", "height", (json_int_t)height,
                                            "txid", hex, "op", arb_nameop_type_name(op)));
    return 0;
}

/* The JSON of a name record (the namespace's record read from the state). */
static json_t *jname(const arb_namesapi *n, arb_chainstate *cs, const arb_name_rec *r)
{
    arb_chain_tip tip;
    arb_namespace_rec ns;
    uint8_t key[32], rec[ARB_SREC_MAX];
    size_t len, name_len = 0;
    int has_ns = 0;
    char addr[ARB_ADDR_MAX];
    arb_sha256 *h;

    arb_chainstate_tip(cs, &tip);
    if (!arb_names_full_valid(r->full, r->full_len, &name_len) || arb_sha256_new(&h) != ARB_OK)
        return NULL;
    arb_names_ns_key(h, key, r->full + name_len + 1, r->full_len - name_len - 1);
    arb_sha256_free(h);
    if (arb_chainstate_state_get(cs, ARB_SREC_NAMESPACE, key, rec, &len) == ARB_OK &&
        arb_names_ns_rec_decode(&ns, rec, len) == ARB_OK)
        has_ns = 1;
    if (!arb_address_encode(addr, n->p->hrp, r->owner))
        addr[0] = '\0';
    json_t *exp = json_null(), *grace = json_null();
    if (r->lifetime > 0) {
        uint64_t e = (uint64_t)r->renewed_height + r->lifetime;
        json_decref(exp);
        json_decref(grace);
        exp = json_integer((json_int_t)e);
        grace = json_integer((json_int_t)(e + n->np->grace_period));
    }
    return json_pack("{s:o, s:o, s:s, s:o, s:s, s:o, s:o, s:I, s:I, s:o, s:o, s:b}", "name",
                     jstrn(r->full, r->full_len), "namespace",
                     jstrn(r->full + name_len + 1, r->full_len - name_len - 1), "status",
                     name_status(n->np, r, &ns, has_ns, tip.height), "owner", jhex(r->owner, 32),
                     "address", addr, "zonefile_hash",
                     r->has_zonefile ? jhex(r->zonefile_hash, 32) : json_null(), "zonefile",
                     json_null(), "registered_height", (json_int_t)r->registered_height,
                     "renewed_height", (json_int_t)r->renewed_height, "expires_at", exp,
                     "grace_ends_at", grace, "imported", r->imported);
}

static json_t *jns(const arb_namesapi *n, const arb_namespace_rec *r, uint32_t height)
{
    json_t *b = json_array();
    for (int i = 0; b && i < 16; i++)
        json_array_append_new(b, json_integer(r->price.buckets[i]));
    const char *status = r->ready                                  ? "ready"
                         : arb_names_ns_lapsed(n->np, r, height) ? "lapsed"
                                                                   : "revealed";
    return json_pack("{s:o, s:s, s:o, s:I, s:o, s:I, s:{s:i, s:i, s:o, s:i, s:i}}", "id",
                     jstrn(r->id, r->id_len), "status", status, "reveal_key",
                     jhex(r->reveal_key, 32), "reveal_height", (json_int_t)r->reveal_height,
                     "ready_height",
                     r->ready ? json_integer((json_int_t)r->ready_height) : json_null(),
                     "lifetime", (json_int_t)r->lifetime, "price_function", "coeff",
                     (int)r->price.coeff, "base", (int)r->price.base, "buckets", b,
                     "nonalpha_discount", (int)r->price.nonalpha_discount, "no_vowel_discount",
                     (int)r->price.no_vowel_discount);
}

/* ---------------------------------------------------------------- routes */

/* Adds the proof object to o (or answers the error and returns 0). */
static int add_proof(arb_http_req *req, arb_chainstate *cs, uint8_t kind, const uint8_t key[32],
                     json_t *o)
{
    json_t *proof = NULL;
    const char *why = NULL;
    arb_sha256 *h;
    if (arb_sha256_new(&h) != ARB_OK) {
        fail(req, 500, "names_nomem", "out of memory");
        return 0;
    }
    arb_err err = arb_chainapi_state_proof(cs, h, kind, key, arb_http_req_query(req, "checkpoint"),
                                           &proof, &why);
    arb_sha256_free(h);
    if (err == ARB_ERR_INVALID_ARG && why != NULL) {
        fail(req, 400, "names_bad_query", why);
        return 0;
    }
    if (err != ARB_OK) {
        fail(req, 500, "names_db", arb_err_str(err));
        return 0;
    }
    json_object_set_new(o, "proof", proof);
    return 1;
}

static void h_name(arb_namesapi *n, arb_http_req *req, const char *full)
{
    size_t len = strlen(full), name_len;
    uint8_t key[32], rec[ARB_SREC_MAX];
    size_t rl;
    arb_name_rec r;
    uint32_t from = 0;
    const char *qf = arb_http_req_query(req, "history_from");
    arb_sha256 *h;
    if (len > ARB_NAMES_FULL_MAX || !arb_names_full_valid((const uint8_t *)full, len, &name_len)) {
        fail(req, 400, "names_bad_query", "bad-name: give name.namespace");
        return;
    }
    if (qf != NULL && !parse_u32(qf, &from)) {
        fail(req, 400, "names_bad_query", "bad-query: history_from=<n>");
        return;
    }
    if (arb_sha256_new(&h) != ARB_OK) {
        fail(req, 500, "names_nomem", "out of memory");
        return;
    }
    arb_names_name_key(h, key, (const uint8_t *)full, len);
    arb_sha256_free(h);
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_err err = arb_chainstate_state_get(cs, ARB_SREC_NAME, key, rec, &rl);
    json_t *o = NULL;
    int status = 200;
    if (err == ARB_OK && arb_names_name_rec_decode(&r, rec, rl) != ARB_OK)
        err = ARB_ERR_PARSE;
    if (err == ARB_OK) {
        hist_walk w = {n, cs, json_array(), from, MAX_HISTORY, 0, 0};
        o = jname(n, cs, &r);
        err = arb_chainstate_state_history(cs, ARB_SREC_NAME, key, name_hist, &w);
        if (o != NULL && w.arr != NULL) {
            json_object_set_new(o, "history", w.arr);
            json_object_set_new(o, "history_next",
                                w.more ? json_integer((json_int_t)from + MAX_HISTORY)
                                       : json_null());
        } else {
            json_decref(w.arr);
        }
    } else if (err == ARB_ERR_NOT_FOUND) {
        status = 404;
        o = json_pack("{s:s}", "error", "name not found");
        err = ARB_OK;
    }
    if (err == ARB_OK && o != NULL && want_proof(req) &&
        !add_proof(req, cs, ARB_SREC_NAME, key, o)) {
        arb_chainapi_unlock(n->chain);
        json_decref(o);
        return;
    }
    arb_chainapi_unlock(n->chain);
    if (err != ARB_OK) {
        json_decref(o);
        fail(req, 500, "names_db", arb_err_str(err));
        return;
    }
    reply_status(req, status, o);
}

typedef struct {
    const arb_namesapi *n;
    arb_chainstate *cs;
    json_t *arr;
    int more;
} owner_walk;

static int owner_each(void *ud, const uint8_t key32[32], const uint8_t *rec, size_t len)
{
    owner_walk *w = ud;
    arb_name_rec r;
    (void)key32;
    if (json_array_size(w->arr) >= MAX_LIST) {
        w->more = 1;
        return 1;
    }
    if (arb_names_name_rec_decode(&r, rec, len) == ARB_OK)
        json_array_append_new(w->arr, jname(w->n, w->cs, &r));
    return 0;
}

static void h_owner(arb_namesapi *n, arb_http_req *req, const char *who)
{
    uint8_t key[32];
    arb_errbuf eb;
    if (!(strlen(who) == 64 && arb_hex_decode(key, 32, who, 64)) &&
        arb_address_decode(key, n->p->hrp, who, &eb) != ARB_OK) {
        fail(req, 400, "names_bad_query", "bad-owner: give an address or a 64-hex x-only key");
        return;
    }
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    owner_walk w = {n, cs, json_array(), 0};
    arb_err err = arb_chainstate_names_by_owner(cs, key, owner_each, &w);
    arb_chainapi_unlock(n->chain);
    if (err != ARB_OK) {
        json_decref(w.arr);
        fail(req, 500, "names_db", arb_err_str(err));
        return;
    }
    reply(req, json_pack("{s:o*, s:b}", "names", w.arr, "more", w.more));
}

typedef struct {
    const arb_namesapi *n;
    uint32_t height;
    json_t *arr;
    uint32_t limit;
    int more;
    uint8_t last[32];
} ns_walk;

static int ns_each(void *ud, const uint8_t key32[32], const uint8_t *rec, size_t len)
{
    ns_walk *w = ud;
    arb_namespace_rec r;
    if (json_array_size(w->arr) >= w->limit) {
        w->more = 1;
        return 1;
    }
    if (arb_names_ns_rec_decode(&r, rec, len) == ARB_OK)
        json_array_append_new(w->arr, jns(w->n, &r, w->height));
    memcpy(w->last, key32, 32);
    return 0;
}

/* GET namespaces[?after=<key hex>&limit=N], by key (SHA-256 of the id). */
static void h_namespaces(arb_namesapi *n, arb_http_req *req)
{
    const char *qa = arb_http_req_query(req, "after"), *ql = arb_http_req_query(req, "limit");
    uint8_t after[32];
    uint32_t limit = MAX_LIST;
    if ((qa != NULL && (strlen(qa) != 64 || !arb_hex_decode(after, 32, qa, 64))) ||
        (ql != NULL && (!parse_u32(ql, &limit) || limit == 0))) {
        fail(req, 400, "names_bad_query", "bad-query: after=<64 hex>&limit=<1..1000>");
        return;
    }
    if (limit > MAX_LIST)
        limit = MAX_LIST;
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chain_tip tip;
    arb_chainstate_tip(cs, &tip);
    ns_walk w = {n, tip.height, json_array(), limit, 0, {0}};
    arb_err err = arb_chainstate_state_each(cs, ARB_SREC_NAMESPACE, qa ? after : NULL, ns_each, &w);
    arb_chainapi_unlock(n->chain);
    if (err != ARB_OK) {
        json_decref(w.arr);
        fail(req, 500, "names_db", arb_err_str(err));
        return;
    }
    reply(req, json_pack("{s:o*, s:o*}", "namespaces", w.arr, "next",
                         w.more ? jhex(w.last, 32) : json_null()));
}

static void h_namespace(arb_namesapi *n, arb_http_req *req, const char *id)
{
    size_t len = strlen(id), rl;
    uint8_t key[32], rec[ARB_SREC_MAX];
    arb_namespace_rec r;
    arb_sha256 *h;
    if (len > ARB_NAMES_NS_MAX || !arb_names_ns_valid((const uint8_t *)id, len)) {
        fail(req, 400, "names_bad_query", "bad-namespace");
        return;
    }
    if (arb_sha256_new(&h) != ARB_OK) {
        fail(req, 500, "names_nomem", "out of memory");
        return;
    }
    arb_names_ns_key(h, key, (const uint8_t *)id, len);
    arb_sha256_free(h);
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chain_tip tip;
    arb_chainstate_tip(cs, &tip);
    arb_err err = arb_chainstate_state_get(cs, ARB_SREC_NAMESPACE, key, rec, &rl);
    json_t *o = NULL;
    int status = 200;
    if (err == ARB_OK && arb_names_ns_rec_decode(&r, rec, rl) != ARB_OK)
        err = ARB_ERR_PARSE;
    if (err == ARB_OK) {
        o = jns(n, &r, tip.height);
    } else if (err == ARB_ERR_NOT_FOUND) {
        status = 404;
        o = json_pack("{s:s}", "error", "namespace not found");
        err = ARB_OK;
    }
    if (err == ARB_OK && o != NULL && want_proof(req) &&
        !add_proof(req, cs, ARB_SREC_NAMESPACE, key, o)) {
        arb_chainapi_unlock(n->chain);
        json_decref(o);
        return;
    }
    arb_chainapi_unlock(n->chain);
    if (err != ARB_OK) {
        json_decref(o);
        fail(req, 500, "names_db", arb_err_str(err));
        return;
    }
    reply_status(req, status, o);
}

static void h_price(arb_namesapi *n, arb_http_req *req, const char *full)
{
    size_t len = strlen(full), name_len, rl;
    uint8_t nkey[32], key[32], rec[ARB_SREC_MAX];
    arb_namespace_rec ns;
    arb_name_rec r;
    uint64_t price = 0;
    arb_sha256 *h;
    if (len > ARB_NAMES_FULL_MAX || !arb_names_full_valid((const uint8_t *)full, len, &name_len)) {
        fail(req, 400, "names_bad_query", "bad-name: give name.namespace");
        return;
    }
    if (arb_sha256_new(&h) != ARB_OK) {
        fail(req, 500, "names_nomem", "out of memory");
        return;
    }
    arb_names_ns_key(h, key, (const uint8_t *)full + name_len + 1, len - name_len - 1);
    arb_names_name_key(h, nkey, (const uint8_t *)full, len);
    arb_sha256_free(h);
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chain_tip tip;
    arb_chainstate_tip(cs, &tip);
    arb_err err = arb_chainstate_state_get(cs, ARB_SREC_NAMESPACE, key, rec, &rl);
    if (err == ARB_OK && arb_names_ns_rec_decode(&ns, rec, rl) != ARB_OK)
        err = ARB_ERR_PARSE;
    int available = 1;
    if (err == ARB_OK) {
        arb_err e2 = arb_chainstate_state_get(cs, ARB_SREC_NAME, nkey, rec, &rl);
        if (e2 == ARB_OK && arb_names_name_rec_decode(&r, rec, rl) == ARB_OK)
            /* a register in the next block: free when stale or released */
            available = arb_names_stale(&ns, &r) || arb_names_released(n->np, &r, tip.height + 1);
        else if (e2 != ARB_ERR_NOT_FOUND)
            err = e2 != ARB_OK ? e2 : ARB_ERR_PARSE;
    }
    arb_chainapi_unlock(n->chain);
    if (err == ARB_ERR_NOT_FOUND) {
        fail(req, 404, "names_not_found", "namespace not found");
        return;
    }
    if (err != ARB_OK) {
        fail(req, 500, "names_db", arb_err_str(err));
        return;
    }
    arb_err pe = arb_names_name_price(&ns.price, (const uint8_t *)full, name_len, &price);
    reply(req, json_pack("{s:s, s:o, s:b, s:b}", "name", full, "price",
                         pe == ARB_OK ? json_integer((json_int_t)price) : json_null(),
                         "namespace_ready", ns.ready != 0, "available", available));
}

static void on_get(void *ud, arb_http_req *req)
{
    arb_namesapi *n = ud;
    const char *p = arb_http_req_path(req) + strlen(PREFIX);
    if (strncmp(p, "name/", 5) == 0)
        h_name(n, req, p + 5);
    else if (strncmp(p, "owner/", 6) == 0)
        h_owner(n, req, p + 6);
    else if (strcmp(p, "namespaces") == 0)
        h_namespaces(n, req);
    else if (strncmp(p, "namespace/", 10) == 0)
        h_namespace(n, req, p + 10);
    else if (strncmp(p, "price/", 6) == 0)
        h_price(n, req, p + 6);
    else
        fail(req, 404, "names_bad_path", "unknown route");
}

arb_err arb_namesapi_start(arb_namesapi **out, arb_http_server *http, arb_chainapi *chain,
                           arb_errbuf *eb)
{
    static const char *const routes[] = {PREFIX "name/", PREFIX "owner/", PREFIX "namespaces",
                                         PREFIX "namespace/", PREFIX "price/"};
    arb_namesapi *n = calloc(1, sizeof *n);
    *out = NULL;
    if (n == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    n->chain = chain;
    n->p = arb_chainapi_params(chain);
    n->np = arb_names_params_get(n->p->name);
    if (n->np == NULL) {
        free(n);
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "no name layer on this network");
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        arb_err err = arb_http_route_add_pool(http, ARB_HTTP_GET, routes[i], 0, on_get, n, "chain");
        if (err != ARB_OK) {
            free(n);
            return arb_errf(eb, err, "cannot register the name routes");
        }
    }
    *out = n;
    return ARB_OK;
}

void arb_namesapi_free(arb_namesapi *n)
{
    free(n);
}
