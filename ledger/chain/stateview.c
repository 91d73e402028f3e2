#include "ledger/chain/stateview.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"
#include "ledger/names/nameop.h"

#define NONE UINT32_MAX

struct arb_sview {
    const arb_names_params *np;
    arb_sview_get_fn get;
    void *ud;
    arb_sview_entry *e;
    size_t n, cap;
    uint32_t *tab; /* open addressing: entry index or NONE */
    size_t tab_cap;
    arb_sview_event *ev;
    size_t nev, cap_ev;
};

arb_err arb_sview_new(arb_sview **out, const arb_names_params *np, arb_sview_get_fn get, void *ud)
{
    arb_sview *v = calloc(1, sizeof *v);
    *out = NULL;
    if (v == NULL)
        return ARB_ERR_NOMEM;
    v->np = np;
    v->get = get;
    v->ud = ud;
    v->tab_cap = 64;
    v->tab = malloc(v->tab_cap * sizeof *v->tab);
    if (v->tab == NULL) {
        free(v);
        return ARB_ERR_NOMEM;
    }
    memset(v->tab, 0xff, v->tab_cap * sizeof *v->tab);
    *out = v;
    return ARB_OK;
}

void arb_sview_free(arb_sview *v)
{
    if (v == NULL)
        return;
    free(v->e);
    free(v->tab);
    free(v->ev);
    free(v);
}

static size_t slot_of(const uint8_t kind, const uint8_t key[32], size_t cap)
{
    uint64_t x;
    memcpy(&x, key, 8); /* keys are hashes: their bytes are uniform */
    x ^= (uint64_t)kind * 0x9e3779b97f4a7c15ULL;
    return (size_t)(x & (cap - 1));
}

static uint32_t find(const arb_sview *v, uint8_t kind, const uint8_t key[32])
{
    for (size_t i = slot_of(kind, key, v->tab_cap);; i = (i + 1) & (v->tab_cap - 1)) {
        uint32_t id = v->tab[i];
        if (id == NONE)
            return NONE;
        if (v->e[id].kind == kind && memcmp(v->e[id].key, key, 32) == 0)
            return id;
    }
}

static void tab_put(uint32_t *tab, size_t cap, const arb_sview_entry *e, uint32_t id)
{
    size_t i = slot_of(e->kind, e->key, cap);
    while (tab[i] != NONE)
        i = (i + 1) & (cap - 1);
    tab[i] = id;
}

/* The entry of (kind, key), read from the base on first use. */
static arb_err entry(arb_sview *v, uint8_t kind, const uint8_t key[32], arb_sview_entry **out)
{
    uint32_t id = find(v, kind, key);
    arb_err err;
    if (id != NONE) {
        *out = &v->e[id];
        return ARB_OK;
    }
    if (2 * (v->n + 1) > v->tab_cap) {
        size_t cap = v->tab_cap * 2;
        uint32_t *t = malloc(cap * sizeof *t);
        if (t == NULL)
            return ARB_ERR_NOMEM;
        memset(t, 0xff, cap * sizeof *t);
        for (size_t i = 0; i < v->n; i++)
            tab_put(t, cap, &v->e[i], (uint32_t)i);
        free(v->tab);
        v->tab = t;
        v->tab_cap = cap;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        arb_sview_entry *ne = realloc(v->e, cap * sizeof *ne);
        if (ne == NULL)
            return ARB_ERR_NOMEM;
        v->e = ne;
        v->cap = cap;
    }
    arb_sview_entry *e = &v->e[v->n];
    memset(e, 0, offsetof(arb_sview_entry, orig));
    e->kind = kind;
    memcpy(e->key, key, 32);
    size_t len = 0;
    err = v->get(v->ud, kind, key, e->orig, &len);
    if (err == ARB_OK) {
        if (len == 0 || len > ARB_SREC_MAX)
            return ARB_ERR_PARSE;
        e->has_orig = 1;
        e->orig_len = (uint16_t)len;
    } else if (err != ARB_ERR_NOT_FOUND) {
        return err;
    }
    e->has_cur = e->has_orig;
    e->cur_len = e->orig_len;
    memcpy(e->cur, e->orig, e->orig_len);
    tab_put(v->tab, v->tab_cap, e, (uint32_t)v->n);
    *out = e;
    v->n++;
    return ARB_OK;
}

size_t arb_sview_count(const arb_sview *v)
{
    return v->n;
}

const arb_sview_entry *arb_sview_at(const arb_sview *v, size_t i)
{
    return &v->e[i];
}

size_t arb_sview_nevents(const arb_sview *v)
{
    return v->nev;
}

const arb_sview_event *arb_sview_event_at(const arb_sview *v, size_t i)
{
    return &v->ev[i];
}

int arb_sview_entry_changed(const arb_sview_entry *e)
{
    if (e->has_cur != e->has_orig)
        return 1;
    return e->has_cur && (e->cur_len != e->orig_len || memcmp(e->cur, e->orig, e->cur_len) != 0);
}

static arb_err push_event(arb_sview *v, uint8_t kind, const uint8_t key[32], uint32_t t,
                          uint8_t op, int has_zf, const uint8_t *zf)
{
    if (v->nev == v->cap_ev) {
        size_t cap = v->cap_ev ? v->cap_ev * 2 : 16;
        arb_sview_event *ne = realloc(v->ev, cap * sizeof *ne);
        if (ne == NULL)
            return ARB_ERR_NOMEM;
        v->ev = ne;
        v->cap_ev = cap;
    }
    arb_sview_event *e = &v->ev[v->nev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    memcpy(e->key, key, 32);
    e->tx_index = t;
    e->op = op;
    e->has_zonefile = (uint8_t)(has_zf != 0);
    if (has_zf)
        memcpy(e->zonefile, zf, 32);
    return ARB_OK;
}

/* Stores a record (or its absence) as the entry's current value. */
static arb_err set_cur(arb_sview_entry *e, int has, const arb_buf *b)
{
    if (!has) {
        e->has_cur = 0;
        e->cur_len = 0;
        return ARB_OK;
    }
    if (b->oom)
        return ARB_ERR_NOMEM;
    if (b->len == 0 || b->len > ARB_SREC_MAX)
        return ARB_ERR_INTERNAL;
    e->has_cur = 1;
    e->cur_len = (uint16_t)b->len;
    memcpy(e->cur, b->data, b->len);
    return ARB_OK;
}

static arb_err apply_name(arb_sview *v, arb_sha256 *h, const arb_tx *tx, uint32_t t,
                          const uint8_t sender[32], uint32_t height, const char **reason)
{
    arb_nameop op;
    arb_nameop_lookups lk;
    arb_names_view in, outv;
    arb_sview_entry *ens = NULL, *ename = NULL, *epre = NULL;
    uint8_t kns[32], kname[32];
    arb_errbuf eb;
    arb_err err;

    if (arb_nameop_decode(&op, tx->payload_type, tx->payload, tx->payload_len, &eb) != ARB_OK) {
        *reason = "bad-txns-payload-parse";
        return ARB_ERR_VERIFY;
    }
    arb_nameop_lookups_get(h, &op, &lk);
    memset(&in, 0, sizeof in);
    if (lk.need_ns) {
        arb_names_ns_key(h, kns, op.ns, op.ns_len);
        if ((err = entry(v, ARB_SREC_NAMESPACE, kns, &ens)) != ARB_OK)
            return err;
        if (ens->has_cur) {
            if (arb_names_ns_rec_decode(&in.ns, ens->cur, ens->cur_len) != ARB_OK)
                return ARB_ERR_PARSE;
            in.has_ns = 1;
        }
    }
    if (lk.need_name) {
        arb_names_name_key(h, kname, op.full, op.full_len);
        if ((err = entry(v, ARB_SREC_NAME, kname, &ename)) != ARB_OK)
            return err;
        if (ename->has_cur) {
            if (arb_names_name_rec_decode(&in.name, ename->cur, ename->cur_len) != ARB_OK)
                return ARB_ERR_PARSE;
            in.has_name = 1;
        }
    }
    if (lk.need_preorder) {
        if ((err = entry(v, ARB_SREC_PREORDER, lk.preorder_commitment, &epre)) != ARB_OK)
            return err;
        if (epre->has_cur) {
            if (arb_names_preorder_rec_decode(&in.preorder, epre->cur, epre->cur_len) != ARB_OK)
                return ARB_ERR_PARSE;
            in.has_preorder = 1;
        }
    }
    /* entry() may have moved the array: look the entries up again below. */
    err = arb_nameop_apply(h, v->np, &op, sender, height, &in, &outv, reason);
    if (err != ARB_OK)
        return err;
    if (lk.need_ns) {
        arb_buf b = ARB_BUF_INIT;
        ens = &v->e[find(v, ARB_SREC_NAMESPACE, kns)];
        if (outv.has_ns)
            arb_names_ns_rec_encode(&b, &outv.ns);
        err = set_cur(ens, outv.has_ns, &b);
        arb_buf_free(&b);
        if (err != ARB_OK)
            return err;
    }
    if (lk.need_name) {
        arb_buf b = ARB_BUF_INIT;
        ename = &v->e[find(v, ARB_SREC_NAME, kname)];
        if (outv.has_name)
            arb_names_name_rec_encode(&b, &outv.name);
        err = set_cur(ename, outv.has_name, &b);
        arb_buf_free(&b);
        if (err != ARB_OK)
            return err;
    }
    if (lk.need_preorder) {
        arb_buf b = ARB_BUF_INIT;
        epre = &v->e[find(v, ARB_SREC_PREORDER, lk.preorder_commitment)];
        if (outv.has_preorder)
            arb_names_preorder_rec_encode(&b, &outv.preorder);
        err = set_cur(epre, outv.has_preorder, &b);
        arb_buf_free(&b);
        if (err != ARB_OK)
            return err;
    }
    switch (op.type) {
    case ARB_NAMEOP_NAMESPACE_REVEAL:
    case ARB_NAMEOP_NAMESPACE_READY:
        if (!lk.need_ns)
            arb_names_ns_key(h, kns, op.ns, op.ns_len);
        return push_event(v, ARB_SREC_NAMESPACE, kns, t, op.type, 0, NULL);
    case ARB_NAMEOP_NAME_IMPORT:
    case ARB_NAMEOP_NAME_REGISTER:
    case ARB_NAMEOP_NAME_UPDATE:
    case ARB_NAMEOP_NAME_TRANSFER:
    case ARB_NAMEOP_NAME_RENEW:
    case ARB_NAMEOP_NAME_REVOKE: {
        int zf = op.type != ARB_NAMEOP_NAME_TRANSFER && op.type != ARB_NAMEOP_NAME_RENEW &&
                 op.type != ARB_NAMEOP_NAME_REVOKE && op.has_zonefile;
        if (!lk.need_name)
            arb_names_name_key(h, kname, op.full, op.full_len);
        return push_event(v, ARB_SREC_NAME, kname, t, op.type, zf, op.zonefile_hash);
    }
    default: /* preorders: hidden commitments, no history */
        return ARB_OK;
    }
}

static arb_err apply_anchor(arb_sview *v, arb_sha256 *h, const arb_tx *tx, uint32_t t,
                            uint32_t height, arb_sview_memo *m, const char **reason)
{
    arb_anchor *a = malloc(sizeof *a);
    arb_anchor_head prev, next;
    arb_sview_entry *e;
    uint8_t log_id[32], rec[ARB_ANCHOR_REC_SIZE];
    arb_errbuf eb;
    arb_err err;

    if (a == NULL)
        return ARB_ERR_NOMEM;
    if (tx->payload_len > ARB_ANCHOR_PAYLOAD_MAX ||
        arb_anchor_decode(a, tx->payload, tx->payload_len, &eb) != ARB_OK) {
        free(a);
        *reason = "bad-txns-payload-parse";
        return ARB_ERR_VERIFY;
    }
    arb_anchor_log_id(h, log_id, a);
    if ((err = entry(v, ARB_SREC_ANCHOR, log_id, &e)) != ARB_OK)
        goto out;
    if (e->has_cur && arb_anchor_head_decode(&prev, e->cur, e->cur_len) != ARB_OK) {
        err = ARB_ERR_PARSE;
        goto out;
    }
    if (m == NULL) {
        err = arb_anchor_check(h, a, e->has_cur ? &prev : NULL, height, &next, reason);
    } else {
        if (!m->sig_ok) {
            m->sig_checked = 1;
            if ((err = arb_anchor_check_sig(h, a, reason)) != ARB_OK)
                goto out;
            m->sig_ok = 1;
        }
        err = arb_anchor_check_verified(h, a, e->has_cur ? &prev : NULL, height, &next, reason);
    }
    if (err != ARB_OK)
        goto out;
    arb_anchor_head_encode(rec, &next);
    e->has_cur = 1;
    e->cur_len = ARB_ANCHOR_REC_SIZE;
    memcpy(e->cur, rec, sizeof rec);
    err = push_event(v, ARB_SREC_ANCHOR, log_id, t, ARB_PAYLOAD_LOG_ANCHOR, 0, NULL);
out:
    free(a);
    return err;
}

static arb_err apply(arb_sview *v, arb_sha256 *h, const arb_tx *tx, uint32_t tx_index,
                     const uint8_t sender32[static 32], uint32_t height, arb_sview_memo *m,
                     const char **reason)
{
    *reason = NULL;
    if (m != NULL)
        m->sig_checked = 0;
    if (tx->payload_type == 0)
        return ARB_OK;
    if (arb_nameop_type_known(tx->payload_type))
        return apply_name(v, h, tx, tx_index, sender32, height, reason);
    if (tx->payload_type == ARB_PAYLOAD_LOG_ANCHOR)
        return apply_anchor(v, h, tx, tx_index, height, m, reason);
    *reason = "bad-txns-payload-type";
    return ARB_ERR_VERIFY;
}

arb_err arb_sview_apply(arb_sview *v, arb_sha256 *h, const arb_tx *tx, uint32_t tx_index,
                        const uint8_t sender32[static 32], uint32_t height, const char **reason)
{
    return apply(v, h, tx, tx_index, sender32, height, NULL, reason);
}

arb_err arb_sview_apply_memo(arb_sview *v, arb_sha256 *h, const arb_tx *tx, uint32_t tx_index,
                             const uint8_t sender32[static 32], uint32_t height,
                             arb_sview_memo *m, const char **reason)
{
    return apply(v, h, tx, tx_index, sender32, height, m, reason);
}

uint8_t arb_sview_payload_key(arb_sha256 *h, const arb_tx *tx, uint8_t key32[32])
{
    if (arb_nameop_type_known(tx->payload_type)) {
        arb_nameop op;
        arb_nameop_lookups lk;
        arb_errbuf eb;
        if (arb_nameop_decode(&op, tx->payload_type, tx->payload, tx->payload_len, &eb) != ARB_OK)
            return 0;
        arb_nameop_lookups_get(h, &op, &lk);
        switch (op.type) {
        case ARB_NAMEOP_NAMESPACE_PREORDER:
        case ARB_NAMEOP_NAME_PREORDER:
            return 0; /* a hidden commitment: nothing to bound it by */
        case ARB_NAMEOP_NAMESPACE_REVEAL:
        case ARB_NAMEOP_NAMESPACE_READY:
            arb_names_ns_key(h, key32, op.ns, op.ns_len);
            return ARB_SREC_NAMESPACE;
        default:
            if (!lk.need_name)
                return 0;
            arb_names_name_key(h, key32, op.full, op.full_len);
            return ARB_SREC_NAME;
        }
    }
    if (tx->payload_type == ARB_PAYLOAD_LOG_ANCHOR) {
        arb_anchor *a = malloc(sizeof *a);
        arb_errbuf eb;
        uint8_t kind = 0;
        if (a == NULL)
            return 0;
        if (tx->payload_len <= ARB_ANCHOR_PAYLOAD_MAX &&
            arb_anchor_decode(a, tx->payload, tx->payload_len, &eb) == ARB_OK) {
            arb_anchor_log_id(h, key32, a);
            kind = ARB_SREC_ANCHOR;
        }
        free(a);
        return kind;
    }
    return 0;
}

/* The current record of (kind, key) in v, or NULL when v never touched it;
 * *has / *len describe it. */
static const uint8_t *cur_of(const arb_sview *v, uint8_t kind, const uint8_t key[32], int *has,
                             size_t *len)
{
    uint32_t id = find(v, kind, key);
    if (id == NONE)
        return NULL;
    *has = v->e[id].has_cur;
    *len = v->e[id].cur_len;
    return v->e[id].cur;
}

static int covers(const arb_sview *a, const arb_sview *b)
{
    for (size_t i = 0; i < a->n; i++) {
        const arb_sview_entry *e = &a->e[i];
        int has = e->has_orig;
        size_t len = e->orig_len;
        const uint8_t *rec = cur_of(b, e->kind, e->key, &has, &len);
        if (rec == NULL)
            rec = e->orig; /* b reads the same base */
        if (has != e->has_cur || (has && (len != e->cur_len || memcmp(rec, e->cur, len) != 0)))
            return 0;
    }
    return 1;
}

int arb_sview_same(const arb_sview *a, const arb_sview *b)
{
    return covers(a, b) && covers(b, a);
}

int arb_sview_tree_entry(arb_sha256 *h, uint8_t kind, const uint8_t key32[32],
                         const uint8_t *rec, size_t len, uint8_t tree_key32[32],
                         arb_hash *value_hash)
{
    switch (kind) {
    case ARB_SREC_NAME:
    case ARB_SREC_NAMESPACE:
        memcpy(tree_key32, key32, 32);
        if (rec != NULL)
            arb_sha256_tagged(h, value_hash->b, ARB_NAMES_RECORD_TAG, rec, len);
        return 1;
    case ARB_SREC_ANCHOR:
        arb_anchor_key(h, tree_key32, key32);
        if (rec != NULL)
            arb_sha256_tagged(h, value_hash->b, ARB_ANCHOR_RECORD_TAG, rec, len);
        return 1;
    default:
        return 0;
    }
}

arb_err arb_sview_tree_ops(const arb_sview *v, arb_sha256 *h, arb_smt_op **ops, size_t *n)
{
    arb_smt_op *o = malloc((v->n ? v->n : 1) * sizeof *o);
    size_t k = 0;
    *ops = NULL;
    *n = 0;
    if (o == NULL)
        return ARB_ERR_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        const arb_sview_entry *e = &v->e[i];
        if (!arb_sview_entry_changed(e))
            continue;
        memset(&o[k], 0, sizeof o[k]);
        if (!arb_sview_tree_entry(h, e->kind, e->key, e->has_cur ? e->cur : NULL, e->cur_len,
                                  o[k].key, &o[k].value_hash))
            continue;
        o[k].del = !e->has_cur;
        k++;
    }
    *ops = o;
    *n = k;
    return ARB_OK;
}
