/* The ban list file (see banlist.h). */
#include "p2p/banlist.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/file.h"
#include "p2p/diskfile.h"

static const uint8_t MAGIC[8] = {'A', 'R', 'B', 'B', 'A', 'N', 'S', '1'};
#define HEAD 16   /* magic, version, count */
#define ENTRY 24  /* address 16, until 8 */
#define FILE_MAX (HEAD + ARB_BANLIST_MAX * ENTRY + 32)

arb_err arb_banlist_encode(arb_buf *out, const arb_ban_entry *v, size_t n)
{
    size_t start = out->len;
    if (n > ARB_BANLIST_MAX)
        return ARB_ERR_INVALID_ARG;
    arb_p2p_file_begin(out, MAGIC, ARB_BANLIST_VERSION);
    arb_buf_u32le(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        arb_buf_put(out, v[i].ip16, 16);
        arb_buf_u64le(out, (uint64_t)v[i].until);
    }
    return arb_p2p_file_seal(out, start);
}

static const uint8_t ZERO16[16];

arb_err arb_banlist_decode(arb_ban_entry **out, size_t *n, const uint8_t *data, size_t len,
                           arb_errbuf *eb)
{
    uint32_t count;
    arb_ban_entry *v = NULL;
    arb_cur c;
    arb_err err;
    *out = NULL;
    *n = 0;
    if (len > FILE_MAX)
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: %zu bytes", len);
    err = arb_p2p_file_open(&c, data, len, MAGIC, ARB_BANLIST_VERSION, 4 /* count */, "ban list",
                            eb);
    if (err != ARB_OK)
        return err;
    if (!arb_cur_u32le(&c, &count))
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: short header");
    if (count > ARB_BANLIST_MAX || c.len != (size_t)count * ENTRY)
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: count %u does not match the length",
                        (unsigned)count);
    if (count > 0 && (v = calloc(count, sizeof *v)) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        uint64_t u;
        const uint8_t *ip;
        if (!arb_cur_view(&c, &ip, 16) || !arb_cur_u64le(&c, &u))
            goto bad;
        memcpy(v[i].ip16, ip, 16);
        v[i].until = (int64_t)u;
        if (memcmp(v[i].ip16, ZERO16, 16) == 0 || v[i].until <= 0)
            goto bad;
        for (size_t j = 0; j < i; j++) /* at most 10,000 entries, once per start */
            if (memcmp(v[j].ip16, v[i].ip16, 16) == 0)
                goto bad;
    }
    *out = v;
    *n = count;
    return ARB_OK;
bad:
    free(v);
    return arb_errf(eb, ARB_ERR_PARSE, "ban list: bad entry");
}

arb_err arb_banlist_save(const char *path, const arb_ban_entry *v, size_t n, arb_errbuf *eb)
{
    arb_buf b = ARB_BUF_INIT;
    arb_err err = arb_banlist_encode(&b, v, n);
    if (err != ARB_OK)
        err = arb_errf(eb, err, "cannot encode the ban list");
    else
        err = arb_file_replace(path, b.data, b.len, eb);
    arb_buf_free(&b);
    return err;
}

arb_err arb_banlist_load(const char *path, arb_ban_entry **out, size_t *n, arb_errbuf *eb)
{
    uint8_t *data;
    size_t got;
    arb_err err;
    *out = NULL;
    *n = 0;
    if ((err = arb_file_read(path, FILE_MAX, &data, &got, eb)) != ARB_OK)
        return err;
    err = arb_banlist_decode(out, n, data, got, eb);
    free(data);
    return err;
}

void arb_banlist_ip_format(const uint8_t ip16[static 16], char *out, size_t cap)
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip16, v4, 12) == 0) {
        if (inet_ntop(AF_INET, ip16 + 12, out, (socklen_t)cap) == NULL && cap)
            out[0] = '\0';
    } else if (inet_ntop(AF_INET6, ip16, out, (socklen_t)cap) == NULL && cap) {
        out[0] = '\0';
    }
}

int arb_banlist_ip_parse(uint8_t ip16[static 16], const char *ip)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, ip, a) == 1) {
        memset(ip16, 0, 10);
        ip16[10] = ip16[11] = 0xff;
        memcpy(ip16 + 12, a, 4);
        return 1;
    }
    if (inet_pton(AF_INET6, ip, a) == 1) {
        memcpy(ip16, a, 16);
        return 1;
    }
    return 0;
}
