/* Peer message codecs (see msg.h and docs/network.md). */
#include "p2p/msg.h"

#include <stdlib.h>
#include <string.h>

void arb_p2p_frame_begin(arb_buf *out, const uint8_t magic[static 4], uint8_t type)
{
    arb_buf_reset(out);
    arb_buf_put(out, magic, 4);
    arb_buf_u8(out, type);
    arb_buf_u32le(out, 0);
}

arb_err arb_p2p_frame_end(arb_buf *out)
{
    size_t n;
    if (out->oom)
        return ARB_ERR_NOMEM;
    if (out->len < ARB_P2P_FRAME_HEADER)
        return ARB_ERR_INVALID_ARG;
    n = out->len - ARB_P2P_FRAME_HEADER;
    if (n > ARB_P2P_MAX_MESSAGE)
        return ARB_ERR_INVALID_ARG;
    for (int i = 0; i < 4; i++)
        out->data[5 + i] = (uint8_t)(n >> (8 * i));
    return ARB_OK;
}

arb_err arb_p2p_frame_decode(const uint8_t *data, size_t len, const uint8_t magic[static 4],
                             uint8_t *type, const uint8_t **payload, size_t *plen,
                             const char **reason)
{
    uint32_t n;
    *type = 0;
    *payload = NULL;
    *plen = 0;
    *reason = NULL;
    if (len < ARB_P2P_FRAME_HEADER) {
        *reason = len >= 4 && memcmp(data, magic, 4) != 0 ? "bad-magic" : "short-frame";
        return ARB_ERR_PARSE;
    }
    if (memcmp(data, magic, 4) != 0) {
        *reason = "bad-magic";
        return ARB_ERR_PARSE;
    }
    n = (uint32_t)data[5] | (uint32_t)data[6] << 8 | (uint32_t)data[7] << 16 |
        (uint32_t)data[8] << 24;
    if (n > ARB_P2P_MAX_MESSAGE) {
        *reason = "oversize";
        return ARB_ERR_PARSE;
    }
    if ((size_t)n != len - ARB_P2P_FRAME_HEADER) {
        *reason = "length-mismatch";
        return ARB_ERR_PARSE;
    }
    *type = data[4];
    *payload = data + ARB_P2P_FRAME_HEADER;
    *plen = n;
    return ARB_OK;
}

/* ---- version ---- */

void arb_p2p_version_write(arb_buf *out, const arb_p2p_version *v)
{
    uint8_t w[32];
    size_t ua = strnlen(v->user_agent, ARB_P2P_MAX_USER_AGENT);
    arb_buf_u32le(out, v->version);
    arb_buf_u64le(out, v->services);
    arb_buf_u64le(out, (uint64_t)v->timestamp);
    arb_buf_u64le(out, v->nonce);
    arb_buf_put(out, v->network.b, 32);
    arb_buf_u32le(out, v->height);
    arb_u256_to_be(w, &v->work);
    arb_buf_put(out, w, 32);
    arb_buf_u16le(out, v->listen_port);
    arb_buf_compact(out, ua);
    arb_buf_put(out, v->user_agent, ua);
}

arb_err arb_p2p_version_read(arb_p2p_version *v, const uint8_t *p, size_t n)
{
    arb_cur c = arb_cur_make(p, n);
    uint8_t w[32];
    uint64_t ts, ua;
    const uint8_t *s;
    memset(v, 0, sizeof *v);
    if (!arb_cur_u32le(&c, &v->version) || !arb_cur_u64le(&c, &v->services) ||
        !arb_cur_u64le(&c, &ts) || !arb_cur_u64le(&c, &v->nonce) ||
        !arb_cur_get(&c, v->network.b, 32) || !arb_cur_u32le(&c, &v->height) ||
        !arb_cur_get(&c, w, 32) || !arb_cur_u16le(&c, &v->listen_port) ||
        !arb_cur_compact(&c, &ua) || ua > ARB_P2P_MAX_USER_AGENT ||
        !arb_cur_view(&c, &s, (size_t)ua) || c.len != 0)
        goto bad;
    for (size_t i = 0; i < ua; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            goto bad;
    memcpy(v->user_agent, s, (size_t)ua);
    v->user_agent[ua] = '\0';
    v->timestamp = (int64_t)ts;
    arb_u256_from_be(&v->work, w);
    return ARB_OK;
bad:
    memset(v, 0, sizeof *v);
    return ARB_ERR_PARSE;
}

/* ---- sendcmpct ---- */

void arb_p2p_sendcmpct_write(arb_buf *out, int announce, uint64_t version)
{
    arb_buf_u8(out, announce ? 1 : 0);
    arb_buf_u64le(out, version);
}

arb_err arb_p2p_sendcmpct_read(int *announce, uint64_t *version, const uint8_t *p, size_t n)
{
    arb_cur c = arb_cur_make(p, n);
    uint8_t a;
    if (!arb_cur_u8(&c, &a) || a > 1 || !arb_cur_u64le(&c, version) || c.len != 0) {
        *announce = 0;
        *version = 0;
        return ARB_ERR_PARSE;
    }
    *announce = a;
    return ARB_OK;
}

/* ---- ping, pong ---- */

void arb_p2p_nonce_write(arb_buf *out, uint64_t nonce)
{
    arb_buf_u64le(out, nonce);
}

arb_err arb_p2p_nonce_read(uint64_t *nonce, const uint8_t *p, size_t n)
{
    arb_cur c = arb_cur_make(p, n);
    if (!arb_cur_u64le(&c, nonce) || c.len != 0) {
        *nonce = 0;
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}

/* ---- getheaders, headers ---- */

void arb_p2p_getheaders_write(arb_buf *out, const arb_hash *locator, size_t n,
                              const arb_hash *stop)
{
    arb_buf_compact(out, n);
    for (size_t i = 0; i < n; i++)
        arb_buf_put(out, locator[i].b, 32);
    arb_buf_put(out, stop->b, 32);
}

arb_err arb_p2p_getheaders_read(arb_hash *loc, size_t *n, arb_hash *stop, const uint8_t *p,
                                size_t len)
{
    arb_cur c = arb_cur_make(p, len);
    uint64_t k;
    *n = 0;
    if (!arb_cur_compact(&c, &k) || k == 0 || k > ARB_P2P_MAX_LOCATOR || c.len != (k + 1) * 32)
        return ARB_ERR_PARSE;
    for (size_t i = 0; i < k; i++)
        (void)arb_cur_get(&c, loc[i].b, 32);
    (void)arb_cur_get(&c, stop->b, 32);
    *n = (size_t)k;
    return ARB_OK;
}

void arb_p2p_headers_write(arb_buf *out, const arb_block_header *h, size_t n)
{
    uint8_t raw[80];
    arb_buf_compact(out, n);
    for (size_t i = 0; i < n; i++) {
        arb_header_encode(raw, &h[i]);
        arb_buf_put(out, raw, 80);
    }
}

arb_err arb_p2p_headers_read(arb_block_header *h, size_t *n, const uint8_t *p, size_t len)
{
    arb_cur c = arb_cur_make(p, len);
    uint64_t k;
    *n = 0;
    if (!arb_cur_compact(&c, &k) || k > ARB_P2P_MAX_HEADERS || c.len != k * 80)
        return ARB_ERR_PARSE;
    for (size_t i = 0; i < k; i++)
        arb_header_decode(&h[i], c.p + 80 * i);
    *n = (size_t)k;
    return ARB_OK;
}

/* ---- inv, getdata, notfound ---- */

void arb_p2p_inv_write(arb_buf *out, const arb_p2p_inv *v, size_t n)
{
    arb_buf_compact(out, n);
    for (size_t i = 0; i < n; i++) {
        arb_buf_u8(out, v[i].type);
        arb_buf_put(out, v[i].hash.b, 32);
    }
}

arb_err arb_p2p_inv_read(arb_p2p_inv **out, size_t *n, const uint8_t *p, size_t len)
{
    arb_cur c = arb_cur_make(p, len);
    uint64_t k;
    arb_p2p_inv *v;
    *out = NULL;
    *n = 0;
    if (!arb_cur_compact(&c, &k) || k == 0 || k > ARB_P2P_MAX_INV || c.len != k * 33)
        return ARB_ERR_PARSE;
    v = malloc((size_t)k * sizeof *v);
    if (v == NULL)
        return ARB_ERR_NOMEM;
    for (size_t i = 0; i < k; i++) {
        v[i].type = c.p[33 * i];
        memcpy(v[i].hash.b, c.p + 33 * i + 1, 32);
    }
    *out = v;
    *n = (size_t)k;
    return ARB_OK;
}

/* ---- compact blocks ---- */

void arb_p2p_cmpct_init(arb_p2p_cmpct *c)
{
    memset(c, 0, sizeof *c);
}

void arb_p2p_cmpct_clear(arb_p2p_cmpct *c)
{
    for (size_t i = 0; c->pre_tx != NULL && i < c->n_pre; i++)
        arb_tx_clear(&c->pre_tx[i]);
    free(c->pre_tx);
    free(c->pre_index);
    free(c->short_ids);
    memset(c, 0, sizeof *c);
}

void arb_p2p_cmpct_key(arb_sha256 *sha, uint64_t key[static 2], const arb_block_header *h,
                       uint64_t nonce)
{
    uint8_t raw[88], d[32];
    arb_header_encode(raw, h);
    for (int i = 0; i < 8; i++)
        raw[80 + i] = (uint8_t)(nonce >> (8 * i));
    arb_sha256_init(sha);
    arb_sha256_update(sha, raw, sizeof raw);
    arb_sha256_final(sha, d);
    key[0] = key[1] = 0;
    for (int i = 7; i >= 0; i--) {
        key[0] = key[0] << 8 | d[i];
        key[1] = key[1] << 8 | d[8 + i];
    }
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

/* SipHash-2-4 of the 32-byte txid (Aumasson-Bernstein), low 48 bits. */
uint64_t arb_p2p_short_id(const uint64_t key[static 2], const arb_hash *txid)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0], v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0], v3 = 0x7465646279746573ULL ^ key[1];
    for (int w = 0; w < 4; w++) {
        uint64_t m = 0;
        for (int i = 7; i >= 0; i--)
            m = m << 8 | txid->b[8 * w + i];
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)32 << 56;
    v3 ^= last;
    SIPROUND;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return (v0 ^ v1 ^ v2 ^ v3) & 0xffffffffffffULL;
}

arb_err arb_p2p_cmpct_from_block(arb_sha256 *sha, arb_p2p_cmpct *c, const arb_block *b,
                                 uint64_t nonce)
{
    uint64_t key[2];
    arb_p2p_cmpct_clear(c);
    if (b->n_tx == 0)
        return ARB_ERR_INVALID_ARG;
    c->header = b->header;
    c->nonce = nonce;
    c->short_ids = b->n_tx > 1 ? malloc((b->n_tx - 1) * sizeof *c->short_ids) : NULL;
    c->pre_index = malloc(sizeof *c->pre_index);
    c->pre_tx = calloc(1, sizeof *c->pre_tx);
    if ((b->n_tx > 1 && c->short_ids == NULL) || c->pre_index == NULL || c->pre_tx == NULL ||
        arb_tx_copy(&c->pre_tx[0], &b->tx[0]) != ARB_OK) {
        arb_p2p_cmpct_clear(c);
        return ARB_ERR_NOMEM;
    }
    c->pre_index[0] = 0;
    c->n_pre = 1;
    arb_p2p_cmpct_key(sha, key, &b->header, nonce);
    for (size_t i = 1; i < b->n_tx; i++) {
        arb_hash id;
        if (arb_tx_txid(sha, &id, &b->tx[i]) != ARB_OK) {
            arb_p2p_cmpct_clear(c);
            return ARB_ERR_NOMEM;
        }
        c->short_ids[c->n_short++] = arb_p2p_short_id(key, &id);
    }
    return ARB_OK;
}

void arb_p2p_cmpct_write(arb_buf *out, const arb_p2p_cmpct *c)
{
    uint8_t raw[80];
    arb_header_encode(raw, &c->header);
    arb_buf_put(out, raw, 80);
    arb_buf_u64le(out, c->nonce);
    arb_buf_compact(out, c->n_short);
    for (size_t i = 0; i < c->n_short; i++)
        for (int k = 0; k < 6; k++)
            arb_buf_u8(out, (uint8_t)(c->short_ids[i] >> (8 * k)));
    arb_buf_compact(out, c->n_pre);
    for (size_t i = 0; i < c->n_pre; i++) {
        arb_buf_compact(out, i == 0 ? c->pre_index[0] : c->pre_index[i] - c->pre_index[i - 1] - 1);
        arb_tx_write(out, &c->pre_tx[i], 1);
    }
}

arb_err arb_p2p_cmpct_read(arb_p2p_cmpct *c, const uint8_t *p, size_t n)
{
    arb_cur cur = arb_cur_make(p, n);
    const uint8_t *raw;
    uint64_t ns, np, idx = 0;
    arb_errbuf eb;
    arb_err err = ARB_ERR_PARSE;
    arb_p2p_cmpct_clear(c);
    if (!arb_cur_view(&cur, &raw, 80) || !arb_cur_u64le(&cur, &c->nonce) ||
        !arb_cur_compact(&cur, &ns) || ns > ARB_BLOCK_MAX_TXS || cur.len < ns * 6)
        goto bad;
    arb_header_decode(&c->header, raw);
    c->short_ids = ns ? malloc((size_t)ns * sizeof *c->short_ids) : NULL;
    if (ns && c->short_ids == NULL) {
        err = ARB_ERR_NOMEM;
        goto bad;
    }
    for (size_t i = 0; i < ns; i++) {
        uint64_t v = 0;
        for (int k = 5; k >= 0; k--)
            v = v << 8 | cur.p[6 * i + (size_t)k];
        c->short_ids[i] = v;
    }
    c->n_short = (size_t)ns;
    (void)arb_cur_skip(&cur, (size_t)ns * 6);
    if (!arb_cur_compact(&cur, &np) || np > ARB_BLOCK_MAX_TXS - ns)
        goto bad;
    c->pre_index = np ? malloc((size_t)np * sizeof *c->pre_index) : NULL;
    c->pre_tx = np ? calloc((size_t)np, sizeof *c->pre_tx) : NULL;
    if (np && (c->pre_index == NULL || c->pre_tx == NULL)) {
        err = ARB_ERR_NOMEM;
        goto bad;
    }
    for (size_t i = 0; i < np; i++) {
        uint64_t d;
        if (!arb_cur_compact(&cur, &d) || d >= ARB_BLOCK_MAX_TXS)
            goto bad;
        idx = i == 0 ? d : idx + d + 1;
        if (idx >= ns + np) /* every index points into the block */
            goto bad;
        c->pre_index[i] = (uint32_t)idx;
        c->n_pre = i + 1;
        if (arb_tx_read(&cur, &c->pre_tx[i], &eb) != ARB_OK)
            goto bad;
    }
    if (cur.len != 0)
        goto bad;
    return ARB_OK;
bad:
    arb_p2p_cmpct_clear(c);
    return err;
}

void arb_p2p_getblocktxn_write(arb_buf *out, const arb_hash *block, const uint32_t *idx, size_t n)
{
    arb_buf_put(out, block->b, 32);
    arb_buf_compact(out, n);
    for (size_t i = 0; i < n; i++)
        arb_buf_compact(out, i == 0 ? idx[0] : idx[i] - idx[i - 1] - 1);
}

arb_err arb_p2p_getblocktxn_read(arb_hash *block, uint32_t **idx, size_t *n, const uint8_t *p,
                                 size_t len)
{
    arb_cur c = arb_cur_make(p, len);
    uint64_t k, at = 0;
    uint32_t *v;
    *idx = NULL;
    *n = 0;
    if (!arb_cur_get(&c, block->b, 32) || !arb_cur_compact(&c, &k) || k == 0 ||
        k > ARB_BLOCK_MAX_TXS || c.len < k)
        return ARB_ERR_PARSE;
    v = malloc((size_t)k * sizeof *v);
    if (v == NULL)
        return ARB_ERR_NOMEM;
    for (size_t i = 0; i < k; i++) {
        uint64_t d;
        if (!arb_cur_compact(&c, &d) || d >= ARB_BLOCK_MAX_TXS) {
            free(v);
            return ARB_ERR_PARSE;
        }
        at = i == 0 ? d : at + d + 1;
        if (at >= ARB_BLOCK_MAX_TXS) {
            free(v);
            return ARB_ERR_PARSE;
        }
        v[i] = (uint32_t)at;
    }
    if (c.len != 0) {
        free(v);
        return ARB_ERR_PARSE;
    }
    *idx = v;
    *n = (size_t)k;
    return ARB_OK;
}

void arb_p2p_blocktxn_write(arb_buf *out, const arb_hash *block, const arb_tx *const *txs,
                            size_t n)
{
    arb_buf_put(out, block->b, 32);
    arb_buf_compact(out, n);
    for (size_t i = 0; i < n; i++)
        arb_tx_write(out, txs[i], 1);
}

arb_err arb_p2p_blocktxn_read(arb_hash *block, arb_tx **txs, size_t *n, const uint8_t *p,
                              size_t len)
{
    arb_cur c = arb_cur_make(p, len);
    uint64_t k;
    arb_tx *v;
    arb_errbuf eb;
    *txs = NULL;
    *n = 0;
    if (!arb_cur_get(&c, block->b, 32) || !arb_cur_compact(&c, &k) || k == 0 ||
        k > ARB_BLOCK_MAX_TXS || c.len < k * ARB_TX_MIN_SIZE)
        return ARB_ERR_PARSE;
    v = calloc((size_t)k, sizeof *v);
    if (v == NULL)
        return ARB_ERR_NOMEM;
    for (size_t i = 0; i < k; i++)
        if (arb_tx_read(&c, &v[i], &eb) != ARB_OK) {
            for (size_t j = 0; j <= i; j++)
                arb_tx_clear(&v[j]);
            free(v);
            return ARB_ERR_PARSE;
        }
    if (c.len != 0) {
        for (size_t j = 0; j < k; j++)
            arb_tx_clear(&v[j]);
        free(v);
        return ARB_ERR_PARSE;
    }
    *txs = v;
    *n = (size_t)k;
    return ARB_OK;
}

/* ---- addr, getaddr ---- */

void arb_p2p_addr_write(arb_buf *out, const arb_p2p_addr *v, size_t n)
{
    arb_buf_compact(out, n);
    for (size_t i = 0; i < n; i++) {
        arb_buf_u32le(out, v[i].time);
        arb_buf_u64le(out, v[i].services);
        arb_buf_put(out, v[i].ip, 16);
        arb_buf_u16le(out, v[i].port);
    }
}

arb_err arb_p2p_addr_read(arb_p2p_addr *v, size_t *n, const uint8_t *p, size_t len)
{
    arb_cur c = arb_cur_make(p, len);
    uint64_t k;
    *n = 0;
    if (!arb_cur_compact(&c, &k) || k == 0 || k > ARB_P2P_MAX_ADDR ||
        c.len != k * ARB_P2P_ADDR_ENTRY)
        return ARB_ERR_PARSE;
    for (size_t i = 0; i < k; i++) {
        (void)arb_cur_u32le(&c, &v[i].time);
        (void)arb_cur_u64le(&c, &v[i].services);
        (void)arb_cur_get(&c, v[i].ip, 16);
        (void)arb_cur_u16le(&c, &v[i].port);
    }
    *n = (size_t)k;
    return ARB_OK;
}

void arb_p2p_zonefile_write(arb_buf *out, const uint8_t hash32[static 32], const uint8_t *zf,
                            size_t len)
{
    arb_buf_put(out, hash32, 32);
    arb_buf_compact(out, len);
    if (len > 0)
        arb_buf_put(out, zf, len);
}

arb_err arb_p2p_zonefile_read(uint8_t hash32[static 32], const uint8_t **zf, size_t *len,
                              int *oversize, const uint8_t *p, size_t n)
{
    arb_cur c = arb_cur_make(p, n);
    uint64_t k;
    *zf = NULL;
    *len = 0;
    *oversize = 0;
    memset(hash32, 0, 32);
    if (!arb_cur_get(&c, hash32, 32) || !arb_cur_compact(&c, &k)) {
        memset(hash32, 0, 32);
        return ARB_ERR_PARSE;
    }
    if (k > ARB_P2P_MAX_ZONEFILE) {
        *oversize = 1;
        memset(hash32, 0, 32);
        return ARB_ERR_PARSE;
    }
    if (c.len != k || !arb_cur_view(&c, zf, (size_t)k)) {
        memset(hash32, 0, 32);
        *zf = NULL;
        return ARB_ERR_PARSE;
    }
    *len = (size_t)k;
    return ARB_OK;
}

arb_err arb_p2p_empty_read(const uint8_t *p, size_t len)
{
    (void)p;
    return len == 0 ? ARB_OK : ARB_ERR_PARSE;
}

const char *arb_p2p_type_name(uint8_t type)
{
    static const char *const names[] = {NULL,         "version",     "verack",    "ping",
                                        "pong",       "getheaders",  "headers",   "inv",
                                        "getdata",    "notfound",    "block",     "tx",
                                        "cmpctblock", "getblocktxn", "blocktxn",  "addr",
                                        "getaddr",    "zonefile",
                                        "sendcmpct"};
    if (type < sizeof names / sizeof *names && names[type] != NULL)
        return names[type];
    return "unknown";
}
