#include "ledger/names/names.h"

#include <string.h>

static const arb_names_params params_main = {"main", 144, 52595, 5000};
static const arb_names_params params_test = {"test", 144, 52595, 5000};
/* Regtest mines instantly; small windows let tests cross every boundary. */
static const arb_names_params params_regtest = {"regtest", 6, 40, 10};

const arb_names_params *arb_names_params_get(const char *network)
{
    if (network == NULL)
        return NULL;
    if (strcmp(network, "main") == 0)
        return &params_main;
    if (strcmp(network, "test") == 0)
        return &params_test;
    if (strcmp(network, "regtest") == 0)
        return &params_regtest;
    return NULL;
}

/* ---- syntax ---- */

static int char_ok(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int part_valid(const uint8_t *s, size_t len, size_t max)
{
    if (len < 1 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!char_ok(s[i]))
            return 0;
    return 1;
}

int arb_names_ns_valid(const uint8_t *s, size_t len)
{
    return part_valid(s, len, ARB_NAMES_NS_MAX);
}

int arb_names_name_valid(const uint8_t *s, size_t len)
{
    return part_valid(s, len, ARB_NAMES_NAME_MAX);
}

int arb_names_full_valid(const uint8_t *s, size_t len, size_t *name_len)
{
    const uint8_t *dot = len > 0 ? memchr(s, '.', len) : NULL;
    size_t n;

    if (dot == NULL)
        return 0;
    n = (size_t)(dot - s);
    if (!arb_names_name_valid(s, n) || !arb_names_ns_valid(dot + 1, len - n - 1))
        return 0;
    if (name_len != NULL)
        *name_len = n;
    return 1;
}

/* ---- prices ---- */

int arb_names_price_fn_valid(const arb_names_price_fn *f)
{
    for (int i = 0; i < 16; i++)
        if (f->buckets[i] > 15)
            return 0;
    return f->nonalpha_discount >= 1 && f->nonalpha_discount <= 15 && f->no_vowel_discount >= 1 &&
           f->no_vowel_discount <= 15;
}

uint64_t arb_names_namespace_price(size_t id_len)
{
    if (id_len <= 1)
        return ARB_NAMES_NS_PRICE_1;
    if (id_len <= 3)
        return ARB_NAMES_NS_PRICE_2;
    if (id_len <= 7)
        return ARB_NAMES_NS_PRICE_4;
    return ARB_NAMES_NS_PRICE_8;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

arb_err arb_names_name_price(const arb_names_price_fn *f, const uint8_t *name, size_t len,
                             uint64_t *price)
{
    uint64_t pw = 1, v, nv = 1, na = 1, div;
    unsigned exp;
    int vowel = 0, nonalpha = 0;

    *price = 0;
    if (!arb_names_price_fn_valid(f) || !arb_names_name_valid(name, len))
        return ARB_ERR_INVALID_ARG;
    exp = f->buckets[len - 1 < 15 ? len - 1 : 15];
    for (size_t i = 0; i < len; i++) {
        uint8_t c = name[i];
        if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y')
            vowel = 1;
        if ((c >= '0' && c <= '9') || c == '-' || c == '_')
            nonalpha = 1;
    }
    if (!vowel)
        nv = f->no_vowel_discount;
    if (nonalpha)
        na = f->nonalpha_discount;
    div = nv > na ? nv : na;
    for (unsigned i = 0; i < exp; i++)
        if (!mul_ok(pw, f->base, &pw))
            return ARB_ERR_VERIFY;
    if (!mul_ok(f->coeff, pw, &v))
        return ARB_ERR_VERIFY;
    v /= div;
    if (!mul_ok(v, 10, &v))
        return ARB_ERR_VERIFY;
    *price = v;
    return ARB_OK;
}

/* ---- records ---- */

static void put_str(arb_buf *b, const uint8_t *s, size_t len)
{
    arb_buf_u8(b, (uint8_t)len);
    arb_buf_put(b, s, len);
}

static int get_flag(arb_cur *c, uint8_t *v)
{
    return arb_cur_u8(c, v) && *v <= 1;
}

void arb_names_name_rec_encode(arb_buf *b, const arb_name_rec *r)
{
    arb_buf_u8(b, ARB_NAMES_REC_NAME);
    put_str(b, r->full, r->full_len);
    arb_buf_put(b, r->owner, 32);
    arb_buf_u8(b, r->has_zonefile);
    if (r->has_zonefile)
        arb_buf_put(b, r->zonefile_hash, 32);
    arb_buf_u32le(b, r->registered_height);
    arb_buf_u32le(b, r->renewed_height);
    arb_buf_u32le(b, r->lifetime);
    arb_buf_u8(b, r->revoked);
    arb_buf_u8(b, r->imported);
}

arb_err arb_names_name_rec_decode(arb_name_rec *r, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    uint8_t type, n;

    memset(r, 0, sizeof *r);
    if (!arb_cur_u8(&c, &type) || type != ARB_NAMES_REC_NAME || !arb_cur_u8(&c, &n) ||
        n > ARB_NAMES_FULL_MAX || !arb_cur_get(&c, r->full, n) ||
        !arb_names_full_valid(r->full, n, NULL) || !arb_cur_get(&c, r->owner, 32) ||
        !get_flag(&c, &r->has_zonefile) ||
        (r->has_zonefile && !arb_cur_get(&c, r->zonefile_hash, 32)) ||
        !arb_cur_u32le(&c, &r->registered_height) || !arb_cur_u32le(&c, &r->renewed_height) ||
        !arb_cur_u32le(&c, &r->lifetime) || !get_flag(&c, &r->revoked) ||
        !get_flag(&c, &r->imported) || c.len != 0 || r->renewed_height < r->registered_height)
        goto bad;
    r->full_len = n;
    return ARB_OK;
bad:
    memset(r, 0, sizeof *r);
    return ARB_ERR_PARSE;
}

static void put_price(arb_buf *b, const arb_names_price_fn *f)
{
    arb_buf_u8(b, f->coeff);
    arb_buf_u8(b, f->base);
    arb_buf_put(b, f->buckets, 16);
    arb_buf_u8(b, f->nonalpha_discount);
    arb_buf_u8(b, f->no_vowel_discount);
}

static int get_price(arb_cur *c, arb_names_price_fn *f)
{
    return arb_cur_u8(c, &f->coeff) && arb_cur_u8(c, &f->base) && arb_cur_get(c, f->buckets, 16) &&
           arb_cur_u8(c, &f->nonalpha_discount) && arb_cur_u8(c, &f->no_vowel_discount);
}

void arb_names_ns_rec_encode(arb_buf *b, const arb_namespace_rec *r)
{
    arb_buf_u8(b, ARB_NAMES_REC_NAMESPACE);
    put_str(b, r->id, r->id_len);
    arb_buf_put(b, r->reveal_key, 32);
    arb_buf_u32le(b, r->reveal_height);
    arb_buf_u8(b, r->ready);
    arb_buf_u32le(b, r->ready_height);
    arb_buf_u32le(b, r->lifetime);
    put_price(b, &r->price);
}

arb_err arb_names_ns_rec_decode(arb_namespace_rec *r, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    uint8_t type, n;

    memset(r, 0, sizeof *r);
    if (!arb_cur_u8(&c, &type) || type != ARB_NAMES_REC_NAMESPACE || !arb_cur_u8(&c, &n) ||
        n > ARB_NAMES_NS_MAX || !arb_cur_get(&c, r->id, n) || !arb_names_ns_valid(r->id, n) ||
        !arb_cur_get(&c, r->reveal_key, 32) || !arb_cur_u32le(&c, &r->reveal_height) ||
        !get_flag(&c, &r->ready) || !arb_cur_u32le(&c, &r->ready_height) ||
        !arb_cur_u32le(&c, &r->lifetime) || !get_price(&c, &r->price) || c.len != 0 ||
        !arb_names_price_fn_valid(&r->price) || (!r->ready && r->ready_height != 0) ||
        (r->ready && r->ready_height < r->reveal_height))
        goto bad;
    r->id_len = n;
    return ARB_OK;
bad:
    memset(r, 0, sizeof *r);
    return ARB_ERR_PARSE;
}

void arb_names_preorder_rec_encode(arb_buf *b, const arb_names_preorder_rec *r)
{
    arb_buf_u8(b, ARB_NAMES_REC_PREORDER);
    arb_buf_put(b, r->commitment, 32);
    arb_buf_put(b, r->sender, 32);
    arb_buf_u32le(b, r->height);
    arb_buf_u64le(b, r->burned);
}

arb_err arb_names_preorder_rec_decode(arb_names_preorder_rec *r, const uint8_t *in, size_t len)
{
    arb_cur c = arb_cur_make(in, len);
    uint8_t type;

    memset(r, 0, sizeof *r);
    if (!arb_cur_u8(&c, &type) || type != ARB_NAMES_REC_PREORDER ||
        !arb_cur_get(&c, r->commitment, 32) || !arb_cur_get(&c, r->sender, 32) ||
        !arb_cur_u32le(&c, &r->height) || !arb_cur_u64le(&c, &r->burned) || c.len != 0) {
        memset(r, 0, sizeof *r);
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}

void arb_names_name_key(arb_sha256 *h, uint8_t key32[static 32], const uint8_t *full, size_t len)
{
    arb_sha256_digest(h, key32, full, len);
}

void arb_names_ns_key(arb_sha256 *h, uint8_t key32[static 32], const uint8_t *id, size_t len)
{
    arb_sha256_digest(h, key32, id, len);
}

static arb_err rec_hash(arb_sha256 *h, arb_hash *out, arb_buf *b)
{
    if (b->oom) {
        arb_buf_free(b);
        memset(out, 0, sizeof *out);
        return ARB_ERR_NOMEM;
    }
    arb_sha256_tagged(h, out->b, ARB_NAMES_RECORD_TAG, b->data, b->len);
    arb_buf_free(b);
    return ARB_OK;
}

arb_err arb_names_name_rec_hash(arb_sha256 *h, arb_hash *out, const arb_name_rec *r)
{
    arb_buf b = ARB_BUF_INIT;
    arb_names_name_rec_encode(&b, r);
    return rec_hash(h, out, &b);
}

arb_err arb_names_ns_rec_hash(arb_sha256 *h, arb_hash *out, const arb_namespace_rec *r)
{
    arb_buf b = ARB_BUF_INIT;
    arb_names_ns_rec_encode(&b, r);
    return rec_hash(h, out, &b);
}

/* ---- leases ---- */

static uint64_t expiry(const arb_name_rec *r)
{
    return (uint64_t)r->renewed_height + r->lifetime;
}

int arb_names_resolves(const arb_name_rec *r, uint32_t height)
{
    if (r->revoked)
        return 0;
    return r->lifetime == 0 || height < expiry(r);
}

int arb_names_in_grace(const arb_names_params *p, const arb_name_rec *r, uint32_t height)
{
    return r->lifetime != 0 && height >= expiry(r) && height < expiry(r) + p->grace_period;
}

int arb_names_released(const arb_names_params *p, const arb_name_rec *r, uint32_t height)
{
    return r->lifetime != 0 && height >= expiry(r) + p->grace_period;
}

int arb_names_stale(const arb_namespace_rec *ns, const arb_name_rec *r)
{
    return r->registered_height < ns->reveal_height;
}

int arb_names_ns_lapsed(const arb_names_params *p, const arb_namespace_rec *r, uint32_t height)
{
    return !r->ready && (uint64_t)height >= (uint64_t)r->reveal_height + p->namespace_ready_ttl;
}

arb_err arb_names_zonefile_hash(arb_sha256 *h, uint8_t out32[static 32], const uint8_t *zf,
                                size_t len)
{
    if (len > ARB_NAMES_ZONEFILE_MAX) {
        memset(out32, 0, 32);
        return ARB_ERR_INVALID_ARG;
    }
    arb_sha256_digest(h, out32, zf, len);
    return ARB_OK;
}
