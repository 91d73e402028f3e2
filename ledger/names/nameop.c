#include "ledger/names/nameop.h"

#include <string.h>

static const char *const type_names[] = {
    NULL,           "namespace-preorder", "namespace-reveal", "name-import",
    "namespace-ready", "name-preorder",   "name-register",    "name-update",
    "name-transfer",   "name-renew",      "name-revoke",
};

int arb_nameop_type_known(uint8_t type)
{
    return type >= ARB_NAMEOP_NAMESPACE_PREORDER && type <= ARB_NAMEOP_NAME_REVOKE;
}

const char *arb_nameop_type_name(uint8_t type)
{
    return arb_nameop_type_known(type) ? type_names[type] : "unknown";
}

uint64_t arb_nameop_burn(const arb_nameop *op)
{
    switch (op->type) {
    case ARB_NAMEOP_NAMESPACE_PREORDER:
    case ARB_NAMEOP_NAME_PREORDER:
    case ARB_NAMEOP_NAME_RENEW:
        return op->burn;
    default:
        return 0;
    }
}

/* ---- codec ---- */

static void put_str(arb_buf *b, const uint8_t *s, size_t len)
{
    arb_buf_u8(b, (uint8_t)len);
    arb_buf_put(b, s, len);
}

static void put_price(arb_buf *b, const arb_names_price_fn *f)
{
    arb_buf_u8(b, f->coeff);
    arb_buf_u8(b, f->base);
    arb_buf_put(b, f->buckets, 16);
    arb_buf_u8(b, f->nonalpha_discount);
    arb_buf_u8(b, f->no_vowel_discount);
}

arb_err arb_nameop_encode(arb_buf *out, const arb_nameop *op)
{
    int full = 0;
    switch (op->type) {
    case ARB_NAMEOP_NAMESPACE_PREORDER:
    case ARB_NAMEOP_NAME_PREORDER:
        arb_buf_put(out, op->commitment, 32);
        arb_buf_u64le(out, op->burn);
        break;
    case ARB_NAMEOP_NAMESPACE_REVEAL:
        if (!arb_names_ns_valid(op->ns, op->ns_len))
            return ARB_ERR_INVALID_ARG;
        put_str(out, op->ns, op->ns_len);
        arb_buf_put(out, op->salt, 32);
        arb_buf_put(out, op->key, 32);
        arb_buf_u32le(out, op->lifetime);
        put_price(out, &op->price);
        break;
    case ARB_NAMEOP_NAMESPACE_READY:
        if (!arb_names_ns_valid(op->ns, op->ns_len))
            return ARB_ERR_INVALID_ARG;
        put_str(out, op->ns, op->ns_len);
        break;
    default:
        if (!arb_nameop_type_known(op->type) || !arb_names_full_valid(op->full, op->full_len, NULL))
            return ARB_ERR_INVALID_ARG;
        full = 1;
        break;
    }
    if (full) {
        put_str(out, op->full, op->full_len);
        switch (op->type) {
        case ARB_NAMEOP_NAME_IMPORT:
        case ARB_NAMEOP_NAME_REGISTER:
            if (op->has_zonefile > 1)
                return ARB_ERR_INVALID_ARG;
            if (op->type == ARB_NAMEOP_NAME_REGISTER)
                arb_buf_put(out, op->salt, 32);
            arb_buf_put(out, op->key, 32);
            arb_buf_u8(out, op->has_zonefile);
            if (op->has_zonefile)
                arb_buf_put(out, op->zonefile_hash, 32);
            break;
        case ARB_NAMEOP_NAME_UPDATE:
            arb_buf_put(out, op->zonefile_hash, 32);
            break;
        case ARB_NAMEOP_NAME_TRANSFER:
            if (op->keep_zonefile > 1)
                return ARB_ERR_INVALID_ARG;
            arb_buf_put(out, op->key, 32);
            arb_buf_u8(out, op->keep_zonefile);
            break;
        case ARB_NAMEOP_NAME_RENEW:
            arb_buf_u64le(out, op->burn);
            break;
        default: /* revoke: the name only */
            break;
        }
    }
    return out->oom ? ARB_ERR_NOMEM : ARB_OK;
}

static int get_ns(arb_cur *c, arb_nameop *op)
{
    uint8_t n;
    if (!arb_cur_u8(c, &n) || n > ARB_NAMES_NS_MAX || !arb_cur_get(c, op->ns, n) ||
        !arb_names_ns_valid(op->ns, n))
        return 0;
    op->ns_len = n;
    return 1;
}

static int get_full(arb_cur *c, arb_nameop *op)
{
    uint8_t n;
    size_t name_len;
    if (!arb_cur_u8(c, &n) || n > ARB_NAMES_FULL_MAX || !arb_cur_get(c, op->full, n) ||
        !arb_names_full_valid(op->full, n, &name_len))
        return 0;
    op->full_len = n;
    op->name_len = name_len;
    op->ns_len = n - name_len - 1;
    memcpy(op->ns, op->full + name_len + 1, op->ns_len);
    return 1;
}

static int get_flag(arb_cur *c, uint8_t *v)
{
    return arb_cur_u8(c, v) && *v <= 1;
}

arb_err arb_nameop_decode(arb_nameop *op, uint8_t type, const uint8_t *in, size_t len,
                          arb_errbuf *eb)
{
    arb_cur c = arb_cur_make(in, len);
    const char *why = NULL;

    memset(op, 0, sizeof *op);
    op->type = type;
    switch (type) {
    case ARB_NAMEOP_NAMESPACE_PREORDER:
    case ARB_NAMEOP_NAME_PREORDER:
        if (!arb_cur_get(&c, op->commitment, 32) || !arb_cur_u64le(&c, &op->burn))
            why = "truncated preorder";
        break;
    case ARB_NAMEOP_NAMESPACE_REVEAL:
        if (!get_ns(&c, op))
            why = "bad namespace id";
        else if (!arb_cur_get(&c, op->salt, 32) || !arb_cur_get(&c, op->key, 32) ||
                 !arb_cur_u32le(&c, &op->lifetime) || !arb_cur_u8(&c, &op->price.coeff) ||
                 !arb_cur_u8(&c, &op->price.base) || !arb_cur_get(&c, op->price.buckets, 16) ||
                 !arb_cur_u8(&c, &op->price.nonalpha_discount) ||
                 !arb_cur_u8(&c, &op->price.no_vowel_discount))
            why = "truncated namespace-reveal";
        break;
    case ARB_NAMEOP_NAMESPACE_READY:
        if (!get_ns(&c, op))
            why = "bad namespace id";
        break;
    case ARB_NAMEOP_NAME_IMPORT:
    case ARB_NAMEOP_NAME_REGISTER:
        if (!get_full(&c, op))
            why = "bad full name";
        else if ((type == ARB_NAMEOP_NAME_REGISTER && !arb_cur_get(&c, op->salt, 32)) ||
                 !arb_cur_get(&c, op->key, 32))
            why = "truncated name operation";
        else if (!get_flag(&c, &op->has_zonefile))
            why = "bad zone-file flag";
        else if (op->has_zonefile && !arb_cur_get(&c, op->zonefile_hash, 32))
            why = "truncated zone-file hash";
        break;
    case ARB_NAMEOP_NAME_UPDATE:
        if (!get_full(&c, op))
            why = "bad full name";
        else if (!arb_cur_get(&c, op->zonefile_hash, 32))
            why = "truncated zone-file hash";
        op->has_zonefile = 1;
        break;
    case ARB_NAMEOP_NAME_TRANSFER:
        if (!get_full(&c, op))
            why = "bad full name";
        else if (!arb_cur_get(&c, op->key, 32))
            why = "truncated new owner";
        else if (!get_flag(&c, &op->keep_zonefile))
            why = "bad keep flag";
        break;
    case ARB_NAMEOP_NAME_RENEW:
        if (!get_full(&c, op))
            why = "bad full name";
        else if (!arb_cur_u64le(&c, &op->burn))
            why = "truncated burn";
        break;
    case ARB_NAMEOP_NAME_REVOKE:
        if (!get_full(&c, op))
            why = "bad full name";
        break;
    default:
        why = "unknown payload type";
        break;
    }
    if (why == NULL && c.len != 0)
        why = "trailing bytes";
    if (why != NULL) {
        memset(op, 0, sizeof *op);
        return arb_errf(eb, ARB_ERR_PARSE, "%s: %s", arb_nameop_type_name(type), why);
    }
    return ARB_OK;
}

/* ---- commitments ---- */

static void commitment(arb_sha256 *h, uint8_t out32[static 32], const char *tag, const uint8_t *s,
                       size_t len, const uint8_t salt32[static 32], const uint8_t key32[static 32])
{
    uint8_t n = (uint8_t)len;
    arb_sha256_tagged_init(h, tag);
    arb_sha256_update(h, &n, 1);
    arb_sha256_update(h, s, len);
    arb_sha256_update(h, salt32, 32);
    arb_sha256_update(h, key32, 32);
    arb_sha256_final(h, out32);
}

void arb_nameop_ns_commitment(arb_sha256 *h, uint8_t out32[static 32], const uint8_t *id,
                              size_t id_len, const uint8_t salt32[static 32],
                              const uint8_t reveal_key32[static 32])
{
    commitment(h, out32, ARB_NAMEOP_NS_PREORDER_TAG, id, id_len, salt32, reveal_key32);
}

void arb_nameop_name_commitment(arb_sha256 *h, uint8_t out32[static 32], const uint8_t *full,
                                size_t full_len, const uint8_t salt32[static 32],
                                const uint8_t owner32[static 32])
{
    commitment(h, out32, ARB_NAMEOP_NAME_PREORDER_TAG, full, full_len, salt32, owner32);
}

void arb_nameop_lookups_get(arb_sha256 *h, const arb_nameop *op, arb_nameop_lookups *out)
{
    memset(out, 0, sizeof *out);
    switch (op->type) {
    case ARB_NAMEOP_NAMESPACE_PREORDER:
    case ARB_NAMEOP_NAME_PREORDER:
        out->need_preorder = 1;
        memcpy(out->preorder_commitment, op->commitment, 32);
        break;
    case ARB_NAMEOP_NAMESPACE_REVEAL:
        out->need_preorder = 1;
        out->need_ns = 1;
        arb_nameop_ns_commitment(h, out->preorder_commitment, op->ns, op->ns_len, op->salt, op->key);
        break;
    case ARB_NAMEOP_NAMESPACE_READY:
        out->need_ns = 1;
        break;
    case ARB_NAMEOP_NAME_REGISTER:
        out->need_preorder = 1;
        out->need_ns = 1;
        out->need_name = 1;
        arb_nameop_name_commitment(h, out->preorder_commitment, op->full, op->full_len, op->salt,
                                   op->key);
        break;
    default:
        if (arb_nameop_type_known(op->type)) {
            out->need_ns = 1;
            out->need_name = 1;
        }
        break;
    }
}

/* ---- the transition ---- */

static int key_eq(const uint8_t a[32], const uint8_t b[32])
{
    return memcmp(a, b, 32) == 0;
}

/* A preorder is pending (blocks a new preorder of the same commitment, can
 * be revealed) while height < its height + preorder_ttl. */
static int preorder_live(const arb_names_params *p, const arb_names_preorder_rec *r, uint32_t height)
{
    return (uint64_t)height < (uint64_t)r->height + p->preorder_ttl;
}

/* Checks the preorder a reveal or register consumes. */
static const char *check_preorder(const arb_names_params *p, const arb_names_view *in,
                                  const uint8_t sender[32], uint32_t height, const char *missing,
                                  const char *sender_bad, const char *same_block,
                                  const char *expired)
{
    if (!in->has_preorder)
        return missing;
    if (!key_eq(in->preorder.sender, sender))
        return sender_bad;
    if (height <= in->preorder.height)
        return same_block;
    if (!preorder_live(p, &in->preorder, height))
        return expired;
    return NULL;
}

/* The namespace a name operation needs: revealed and ready. */
static const char *check_ns_ready(const arb_names_view *in)
{
    if (!in->has_ns)
        return "namespace-missing";
    if (!in->ns.ready)
        return "namespace-not-ready";
    return NULL;
}

/* The name an owner operation (update, transfer, renew, revoke) acts on. */
static const char *check_owned(const arb_names_params *p, const arb_names_view *in,
                               int have_name, const uint8_t sender[32], uint32_t height, int renew)
{
    if (!have_name)
        return "name-missing";
    if (!key_eq(in->name.owner, sender))
        return "name-not-owner";
    if (in->name.revoked)
        return "name-revoked";
    if (renew) {
        if (arb_names_released(p, &in->name, height))
            return "name-expired";
    } else if (!arb_names_resolves(&in->name, height)) {
        return "name-expired";
    }
    return NULL;
}

arb_err arb_nameop_apply(arb_sha256 *h, const arb_names_params *p, const arb_nameop *op,
                         const uint8_t sender32[static 32], uint32_t height,
                         const arb_names_view *in, arb_names_view *out, const char **reason)
{
    arb_nameop_lookups lk;
    const char *why = NULL;
    uint64_t price;
    int have_name;

    *out = *in;
    *reason = NULL;
    if (!arb_nameop_type_known(op->type))
        return ARB_ERR_INVALID_ARG;
    /* The records passed in must be the ones this operation names. */
    arb_nameop_lookups_get(h, op, &lk);
    if ((in->has_ns && (!lk.need_ns || in->ns.id_len != op->ns_len ||
                        memcmp(in->ns.id, op->ns, op->ns_len) != 0)) ||
        (in->has_name && (!lk.need_name || in->name.full_len != op->full_len ||
                          memcmp(in->name.full, op->full, op->full_len) != 0)) ||
        (in->has_preorder && (!lk.need_preorder ||
                              !key_eq(in->preorder.commitment, lk.preorder_commitment))))
        return ARB_ERR_INVALID_ARG;

    /* A name left over from a lapsed earlier reveal of its namespace is
     * treated as absent (and overwritten by an import or a register). */
    have_name = in->has_name && !(in->has_ns && arb_names_stale(&in->ns, &in->name));

    switch (op->type) {
    case ARB_NAMEOP_NAMESPACE_PREORDER:
    case ARB_NAMEOP_NAME_PREORDER: {
        int ns = op->type == ARB_NAMEOP_NAMESPACE_PREORDER;
        if (op->burn == 0)
            why = ns ? "namespace-preorder-no-burn" : "name-preorder-no-burn";
        else if (in->has_preorder && preorder_live(p, &in->preorder, height))
            why = ns ? "namespace-preorder-exists" : "name-preorder-exists";
        if (why != NULL)
            break;
        out->has_preorder = 1;
        memcpy(out->preorder.commitment, op->commitment, 32);
        memcpy(out->preorder.sender, sender32, 32);
        out->preorder.height = height;
        out->preorder.burned = op->burn;
        break;
    }
    case ARB_NAMEOP_NAMESPACE_REVEAL:
        if ((why = check_preorder(p, in, sender32, height, "namespace-preorder-missing",
                                  "namespace-preorder-sender", "namespace-preorder-same-block",
                                  "namespace-preorder-expired")) != NULL)
            break;
        if (in->has_ns && !arb_names_ns_lapsed(p, &in->ns, height)) {
            why = "namespace-exists";
            break;
        }
        if (!arb_names_price_fn_valid(&op->price)) {
            why = "namespace-price-function-invalid";
            break;
        }
        if (in->preorder.burned < arb_names_namespace_price(op->ns_len)) {
            why = "namespace-burn-insufficient";
            break;
        }
        out->has_preorder = 0;
        memset(&out->preorder, 0, sizeof out->preorder);
        out->has_ns = 1;
        memset(&out->ns, 0, sizeof out->ns);
        memcpy(out->ns.id, op->ns, op->ns_len);
        out->ns.id_len = op->ns_len;
        memcpy(out->ns.reveal_key, op->key, 32);
        out->ns.reveal_height = height;
        out->ns.lifetime = op->lifetime;
        out->ns.price = op->price;
        break;
    case ARB_NAMEOP_NAME_IMPORT:
    case ARB_NAMEOP_NAMESPACE_READY:
        if (!in->has_ns)
            why = "namespace-missing";
        else if (in->ns.ready)
            why = "namespace-already-ready";
        else if (arb_names_ns_lapsed(p, &in->ns, height))
            why = "namespace-lapsed";
        else if (!key_eq(in->ns.reveal_key, sender32))
            why = "namespace-not-revealer";
        if (why != NULL)
            break;
        if (op->type == ARB_NAMEOP_NAMESPACE_READY) {
            out->ns.ready = 1;
            out->ns.ready_height = height;
            break;
        }
        /* An import may overwrite an earlier import of the same name, as in
         * BNS: the revealer fixes mistakes before the namespace is ready. */
        out->has_name = 1;
        memset(&out->name, 0, sizeof out->name);
        memcpy(out->name.full, op->full, op->full_len);
        out->name.full_len = op->full_len;
        memcpy(out->name.owner, op->key, 32);
        out->name.has_zonefile = op->has_zonefile;
        memcpy(out->name.zonefile_hash, op->zonefile_hash, 32);
        out->name.registered_height = height;
        out->name.renewed_height = height;
        out->name.lifetime = in->ns.lifetime;
        out->name.imported = 1;
        break;
    case ARB_NAMEOP_NAME_REGISTER:
        if ((why = check_ns_ready(in)) != NULL)
            break;
        if ((why = check_preorder(p, in, sender32, height, "name-preorder-missing",
                                  "name-preorder-sender", "name-preorder-same-block",
                                  "name-preorder-expired")) != NULL)
            break;
        if (have_name && !arb_names_released(p, &in->name, height)) {
            why = arb_names_in_grace(p, &in->name, height) ? "name-in-grace" : "name-taken";
            break;
        }
        if (arb_names_name_price(&in->ns.price, op->full, op->name_len, &price) != ARB_OK) {
            why = "name-price-overflow";
            break;
        }
        if (in->preorder.burned < price) {
            why = "name-burn-insufficient";
            break;
        }
        out->has_preorder = 0;
        memset(&out->preorder, 0, sizeof out->preorder);
        out->has_name = 1;
        memset(&out->name, 0, sizeof out->name);
        memcpy(out->name.full, op->full, op->full_len);
        out->name.full_len = op->full_len;
        memcpy(out->name.owner, op->key, 32);
        out->name.has_zonefile = op->has_zonefile;
        memcpy(out->name.zonefile_hash, op->zonefile_hash, 32);
        out->name.registered_height = height;
        out->name.renewed_height = height;
        out->name.lifetime = in->ns.lifetime;
        break;
    case ARB_NAMEOP_NAME_UPDATE:
    case ARB_NAMEOP_NAME_TRANSFER:
    case ARB_NAMEOP_NAME_REVOKE:
        if ((why = check_ns_ready(in)) != NULL ||
            (why = check_owned(p, in, have_name, sender32, height, 0)) != NULL)
            break;
        if (op->type == ARB_NAMEOP_NAME_UPDATE) {
            out->name.has_zonefile = 1;
            memcpy(out->name.zonefile_hash, op->zonefile_hash, 32);
        } else if (op->type == ARB_NAMEOP_NAME_TRANSFER) {
            memcpy(out->name.owner, op->key, 32);
            if (!op->keep_zonefile) {
                out->name.has_zonefile = 0;
                memset(out->name.zonefile_hash, 0, 32);
            }
        } else {
            out->name.revoked = 1;
        }
        break;
    case ARB_NAMEOP_NAME_RENEW:
        if ((why = check_ns_ready(in)) != NULL ||
            (why = check_owned(p, in, have_name, sender32, height, 1)) != NULL)
            break;
        if (in->ns.lifetime == 0 || in->name.lifetime == 0) {
            why = "name-never-expires";
            break;
        }
        if (arb_names_name_price(&in->ns.price, op->full, op->name_len, &price) != ARB_OK) {
            why = "name-price-overflow";
            break;
        }
        if (op->burn < price) {
            why = "name-burn-insufficient";
            break;
        }
        out->name.renewed_height = height;
        out->name.lifetime = in->ns.lifetime;
        break;
    default:
        return ARB_ERR_INVALID_ARG;
    }
    if (why != NULL) {
        *out = *in;
        *reason = why;
        return ARB_ERR_VERIFY;
    }
    return ARB_OK;
}

/* ---- state-commitment changes ---- */

arb_err arb_nameop_tree_ops(arb_sha256 *h, const arb_names_view *in, const arb_names_view *out,
                            arb_smt_op ops[static 2], size_t *n)
{
    arb_hash before, after;
    arb_err err;

    *n = 0;
    if (out->has_ns) {
        if ((err = arb_names_ns_rec_hash(h, &after, &out->ns)) != ARB_OK)
            return err;
        if (in->has_ns && (err = arb_names_ns_rec_hash(h, &before, &in->ns)) != ARB_OK)
            return err;
        if (!in->has_ns || !arb_hash_eq(&before, &after)) {
            memset(&ops[*n], 0, sizeof ops[*n]);
            arb_names_ns_key(h, ops[*n].key, out->ns.id, out->ns.id_len);
            ops[*n].value_hash = after;
            (*n)++;
        }
    } else if (in->has_ns) {
        memset(&ops[*n], 0, sizeof ops[*n]);
        arb_names_ns_key(h, ops[*n].key, in->ns.id, in->ns.id_len);
        ops[*n].del = 1;
        (*n)++;
    }
    if (out->has_name) {
        if ((err = arb_names_name_rec_hash(h, &after, &out->name)) != ARB_OK)
            return err;
        if (in->has_name && (err = arb_names_name_rec_hash(h, &before, &in->name)) != ARB_OK)
            return err;
        if (!in->has_name || !arb_hash_eq(&before, &after)) {
            memset(&ops[*n], 0, sizeof ops[*n]);
            arb_names_name_key(h, ops[*n].key, out->name.full, out->name.full_len);
            ops[*n].value_hash = after;
            (*n)++;
        }
    } else if (in->has_name) {
        memset(&ops[*n], 0, sizeof ops[*n]);
        arb_names_name_key(h, ops[*n].key, in->name.full, in->name.full_len);
        ops[*n].del = 1;
        (*n)++;
    }
    return ARB_OK;
}
