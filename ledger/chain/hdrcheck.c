#include "ledger/chain/hdrcheck.h"

#include <stdlib.h>
#include <string.h>

static arb_err reject(const char **reason, arb_errbuf *eb, const char *r, const char *detail)
{
    *reason = r;
    return arb_errf(eb, ARB_ERR_VERIFY, "%s: %s", r, detail);
}

arb_err arb_header_check_pow(const arb_chain_params *p, const arb_hash *hash,
                             const arb_block_header *h, const char **reason, arb_errbuf *eb)
{
    arb_u256 limit, target;

    *reason = NULL;
    arb_chain_pow_limit(p, &limit);
    if (!arb_pow_bits_valid(&target, h->bits, &limit))
        return reject(reason, eb, "high-hash", "bits negative, zero, overflowing or above the limit");
    if (!arb_pow_hash_meets(hash, &target))
        return reject(reason, eb, "high-hash", "proof of work does not meet bits");
    return ARB_OK;
}

int arb_header_next_bits(const arb_chain_params *p, uint32_t height, const arb_hdr_info *parent,
                         arb_hdr_lookup_fn lookup, void *ud, uint32_t *bits)
{
    arb_hdr_info first;
    arb_u256 limit;

    *bits = parent->bits;
    if (p->no_retarget || height % p->retarget_interval != 0)
        return 1;
    /* Bitcoin pow.cpp: the period's first block is interval-1 before the
     * parent, i.e. at height - interval. */
    if (!lookup(ud, height - p->retarget_interval, &first))
        return 0;
    arb_chain_pow_limit(p, &limit);
    *bits = arb_pow_retarget(parent->bits, first.time, parent->time, p->target_timespan, &limit);
    return 1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t arb_header_median_time(uint32_t height, arb_hdr_lookup_fn lookup, void *ud)
{
    int64_t t[11];
    int n = 0;
    arb_hdr_info info;

    for (uint32_t k = 0; k < 11 && k <= height; k++) {
        if (!lookup(ud, height - k, &info))
            break;
        t[n++] = info.time;
    }
    if (n == 0)
        return 0;
    qsort(t, (size_t)n, sizeof t[0], cmp_i64);
    return t[n / 2];
}

arb_err arb_header_check_context(const arb_chain_params *p, const arb_block_header *h,
                                 uint32_t height, arb_hdr_lookup_fn lookup, void *ud, int64_t now,
                                 const char **reason, arb_errbuf *eb)
{
    arb_hdr_info parent;
    uint32_t want;
    int64_t mtp;

    *reason = NULL;
    if (height == 0 || !lookup(ud, height - 1, &parent) || !arb_hash_eq(&parent.hash, &h->prev)) {
        *reason = "prev-blk-not-found";
        return arb_errf(eb, ARB_ERR_VERIFY, "prev-blk-not-found: parent is not the header at height %lu",
                        height == 0 ? 0UL : (unsigned long)(height - 1));
    }
    if (arb_header_next_bits(p, height, &parent, lookup, ud, &want)) {
        if (h->bits != want) {
            *reason = "bad-diffbits";
            return arb_errf(eb, ARB_ERR_VERIFY,
                            "bad-diffbits: incorrect proof of work (bits %08x, expected %08x)",
                            h->bits, want);
        }
    } else {
        arb_u256 limit;
        arb_chain_pow_limit(p, &limit);
        if (!arb_pow_transition_permitted(parent.bits, h->bits, p->target_timespan, &limit)) {
            *reason = "bad-diffbits";
            return arb_errf(eb, ARB_ERR_VERIFY,
                            "bad-diffbits: bits %08x out of the permitted range from %08x",
                            h->bits, parent.bits);
        }
    }
    mtp = arb_header_median_time(height - 1, lookup, ud);
    if ((int64_t)h->time <= mtp) {
        *reason = "time-too-old";
        return arb_errf(eb, ARB_ERR_VERIFY,
                        "time-too-old: block's timestamp %u is not after the median %lld",
                        h->time, (long long)mtp);
    }
    if ((int64_t)h->time > now + p->max_future_time) {
        *reason = "time-too-new";
        return arb_errf(eb, ARB_ERR_VERIFY,
                        "time-too-new: block timestamp %u too far in the future (now %lld)",
                        h->time, (long long)now);
    }
    if ((p->bip34_height && height >= p->bip34_height && h->version < 2) ||
        (p->bip66_height && height >= p->bip66_height && h->version < 3) ||
        (p->bip65_height && height >= p->bip65_height && h->version < 4)) {
        *reason = "bad-version";
        return arb_errf(eb, ARB_ERR_VERIFY, "bad-version(0x%08x): rejected nVersion block",
                        (unsigned)h->version);
    }
    return ARB_OK;
}

arb_err arb_header_check(const arb_chain_params *p, arb_sha256 *sha, const arb_block_header *h,
                         uint32_t height, arb_hdr_lookup_fn lookup, void *ud, int64_t now,
                         arb_hash *hash_out, const char **reason, arb_errbuf *eb)
{
    arb_hash hash;
    arb_err err;

    arb_header_hash(sha, &hash, h);
    if (hash_out != NULL)
        *hash_out = hash;
    if ((err = arb_header_check_pow(p, &hash, h, reason, eb)) != ARB_OK)
        return err;
    return arb_header_check_context(p, h, height, lookup, ud, now, reason, eb);
}

struct arb_hdrchain {
    const arb_chain_params *p;
    arb_sha256 *sha;
    uint32_t start;
    arb_hdr_info *v;
    size_t n, cap;
    arb_u256 work;
};

static int chain_lookup(void *ud, uint32_t height, arb_hdr_info *out)
{
    const arb_hdrchain *c = ud;
    if (height < c->start || height - c->start >= c->n)
        return 0;
    *out = c->v[height - c->start];
    return 1;
}

static int push(arb_hdrchain *c, const arb_hash *hash, const arb_block_header *h)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        arb_hdr_info *v = realloc(c->v, cap * sizeof *v);
        if (v == NULL)
            return 0;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n].hash = *hash;
    c->v[c->n].time = h->time;
    c->v[c->n].bits = h->bits;
    c->n++;
    return 1;
}

arb_err arb_hdrchain_new(arb_hdrchain **out, const arb_chain_params *p, uint32_t start_height,
                         const arb_block_header *first)
{
    arb_hdrchain *c;
    arb_hash hash;
    arb_err err;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return ARB_ERR_NOMEM;
    c->p = p;
    c->start = start_height;
    if ((err = arb_sha256_new(&c->sha)) != ARB_OK) {
        free(c);
        return err;
    }
    arb_header_hash(c->sha, &hash, first);
    if (!push(c, &hash, first)) {
        arb_hdrchain_free(c);
        return ARB_ERR_NOMEM;
    }
    *out = c;
    return ARB_OK;
}

void arb_hdrchain_free(arb_hdrchain *c)
{
    if (c == NULL)
        return;
    arb_sha256_free(c->sha);
    free(c->v);
    free(c);
}

arb_err arb_hdrchain_add(arb_hdrchain *c, const arb_block_header *h, int64_t now,
                         arb_hash *hash_out, const char **reason, arb_errbuf *eb)
{
    arb_hash hash;
    arb_u256 w;
    arb_err err;
    uint32_t height = c->start + (uint32_t)c->n;

    *reason = NULL;
    err = arb_header_check(c->p, c->sha, h, height, chain_lookup, c, now, &hash, reason, eb);
    if (hash_out != NULL)
        *hash_out = hash;
    if (err != ARB_OK)
        return err;
    if (!push(c, &hash, h))
        return ARB_ERR_NOMEM;
    arb_pow_work(&w, h->bits);
    arb_u256_add(&c->work, &c->work, &w);
    return ARB_OK;
}

uint32_t arb_hdrchain_tip_height(const arb_hdrchain *c)
{
    return c->start + (uint32_t)c->n - 1;
}

void arb_hdrchain_tip_hash(const arb_hdrchain *c, arb_hash *out)
{
    *out = c->v[c->n - 1].hash;
}

void arb_hdrchain_work(const arb_hdrchain *c, arb_u256 *out)
{
    *out = c->work;
}
