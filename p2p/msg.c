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

const char *arb_p2p_type_name(uint8_t type)
{
    static const char *const names[] = {NULL,      "version",  "verack",   "ping",
                                        "pong",    "getheaders", "headers", "inv",
                                        "getdata", "notfound", "block",    "tx"};
    if (type < sizeof names / sizeof *names && names[type] != NULL)
        return names[type];
    return "unknown";
}
