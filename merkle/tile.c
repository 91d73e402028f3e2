#include "merkle/tile.h"

#include <stdio.h>
#include <string.h>

unsigned arb_tile_width(uint64_t size, unsigned level, uint64_t index)
{
    uint64_t c, full;

    if (level >= 64 / ARB_TILE_HEIGHT)
        return 0; /* level 8L >= 64: no perfect subtree that high */
    c = size >> (ARB_TILE_HEIGHT * level); /* perfect subtrees at tree level 8L */
    full = c / ARB_TILE_WIDTH;
    if (index < full)
        return ARB_TILE_WIDTH;
    if (index == full)
        return (unsigned)(c % ARB_TILE_WIDTH);
    return 0;
}

void arb_tile_count(uint64_t size, unsigned level, uint64_t *full, unsigned *partial_width)
{
    uint64_t c = level >= 64 / ARB_TILE_HEIGHT ? 0 : size >> (ARB_TILE_HEIGHT * level);

    *full = c / ARB_TILE_WIDTH;
    *partial_width = (unsigned)(c % ARB_TILE_WIDTH);
}

arb_err arb_tile_for_node(uint64_t node_level, uint64_t node_index, arb_tile *tile,
                          unsigned *offset, unsigned *count)
{
    uint64_t k, first;

    memset(tile, 0, sizeof *tile);
    *offset = 0;
    *count = 0;
    if (node_level > 63 || node_index > UINT64_MAX >> node_level)
        return ARB_ERR_INVALID_ARG;
    k = node_level % ARB_TILE_HEIGHT;
    first = node_index << k; /* first tile entry under the node; fits: k <= node_level */
    tile->kind = ARB_TILE_HASH;
    tile->level = (unsigned)(node_level / ARB_TILE_HEIGHT);
    tile->index = first / ARB_TILE_WIDTH;
    tile->width = ARB_TILE_WIDTH;
    *offset = (unsigned)(first % ARB_TILE_WIDTH);
    *count = 1u << k;
    return ARB_OK;
}

static void load(arb_hash *out, const uint8_t *data, size_t i)
{
    memcpy(out->b, data + i * ARB_HASH_SIZE, ARB_HASH_SIZE);
}

arb_err arb_tile_node_hash(arb_sha256 *h, const arb_tile *tile, const uint8_t *data, size_t len,
                           uint64_t node_level, uint64_t node_index, arb_hash *out)
{
    arb_hash tmp[ARB_TILE_WIDTH / 2], a, b;
    uint64_t base, k, first;
    unsigned offset, count;

    memset(out, 0, sizeof *out);
    if (tile->kind != ARB_TILE_HASH || tile->level > ARB_TILE_MAX_LEVEL || tile->width == 0 ||
        tile->width > ARB_TILE_WIDTH || len != (size_t)tile->width * ARB_HASH_SIZE)
        return ARB_ERR_INVALID_ARG;
    base = (uint64_t)tile->level * ARB_TILE_HEIGHT;
    if (node_level > 63 || node_level < base || node_level > base + ARB_TILE_HEIGHT)
        return ARB_ERR_INVALID_ARG;
    k = node_level - base;
    if (node_index > UINT64_MAX >> k)
        return ARB_ERR_INVALID_ARG;
    first = node_index << k;
    if (first / ARB_TILE_WIDTH != tile->index)
        return ARB_ERR_INVALID_ARG;
    offset = (unsigned)(first % ARB_TILE_WIDTH);
    count = 1u << k;
    if (offset + count > tile->width)
        return ARB_ERR_INVALID_ARG;
    if (count == 1) {
        load(out, data, offset);
        return ARB_OK;
    }
    /* Hash the 2^k entries pairwise, level by level (RFC 6962 2.1 node hash). */
    for (unsigned i = 0; i < count / 2; i++) {
        load(&a, data, offset + 2 * i);
        load(&b, data, offset + 2 * i + 1);
        arb_merkle_node_hash(h, &tmp[i], &a, &b);
    }
    for (count /= 2; count > 1; count /= 2) {
        for (unsigned i = 0; i < count / 2; i++)
            arb_merkle_node_hash(h, &tmp[i], &tmp[2 * i], &tmp[2 * i + 1]);
    }
    *out = tmp[0];
    return ARB_OK;
}

static const char *kind_prefix(arb_tile_kind kind)
{
    switch (kind) {
    case ARB_TILE_DATA:
        return "tile/data/";
    case ARB_TILE_ENTRIES:
        return "tile/entries/";
    default:
        return NULL;
    }
}

arb_err arb_tile_path(const arb_tile *tile, char *out, size_t out_size)
{
    unsigned groups[7];
    size_t ng = 0, pos;
    uint64_t n = tile->index;
    int w;

    if (out_size > 0)
        out[0] = 0;
    if (tile->width == 0 || tile->width > ARB_TILE_WIDTH)
        return ARB_ERR_INVALID_ARG;
    if (tile->kind == ARB_TILE_HASH) {
        if (tile->level > ARB_TILE_MAX_LEVEL)
            return ARB_ERR_INVALID_ARG;
        w = snprintf(out, out_size, "tile/%u/", tile->level);
    } else if (kind_prefix(tile->kind) != NULL && tile->level == 0) {
        w = snprintf(out, out_size, "%s", kind_prefix(tile->kind));
    } else {
        return ARB_ERR_INVALID_ARG;
    }
    if (w < 0 || (size_t)w >= out_size)
        goto small;
    pos = (size_t)w;
    do {
        groups[ng++] = (unsigned)(n % 1000);
        n /= 1000;
    } while (n > 0);
    while (ng > 0) {
        ng--;
        w = snprintf(out + pos, out_size - pos, ng > 0 ? "x%03u/" : "%03u", groups[ng]);
        if (w < 0 || (size_t)w >= out_size - pos)
            goto small;
        pos += (size_t)w;
    }
    if (tile->width < ARB_TILE_WIDTH) {
        w = snprintf(out + pos, out_size - pos, ".p/%u", tile->width);
        if (w < 0 || (size_t)w >= out_size - pos)
            goto small;
    }
    return ARB_OK;
small:
    if (out_size > 0)
        out[0] = 0;
    return ARB_ERR_INVALID_ARG;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses a canonical decimal (no sign, no leading zero unless "0") of at most
 * `max_digits` digits from p[0..len) that ends at len or at a character that
 * is not a digit; returns the number of digits, 0 on failure. */
static size_t parse_dec(const char *p, size_t len, size_t max_digits, unsigned *v)
{
    size_t i = 0;
    unsigned x = 0;

    while (i < len && is_digit(p[i])) {
        if (i == max_digits)
            return 0;
        x = x * 10 + (unsigned)(p[i] - '0');
        i++;
    }
    if (i == 0 || (i > 1 && p[0] == '0'))
        return 0;
    *v = x;
    return i;
}

arb_err arb_tile_path_parse(arb_tile *tile, const char *path, size_t len)
{
    arb_tile t;
    size_t pos, ng = 0;
    uint64_t n = 0;

    memset(tile, 0, sizeof *tile);
    memset(&t, 0, sizeof t);
    if (len < 5 || memcmp(path, "tile/", 5) != 0)
        return ARB_ERR_PARSE;
    pos = 5;
    if (len - pos >= 5 && memcmp(path + pos, "data/", 5) == 0) {
        t.kind = ARB_TILE_DATA;
        pos += 5;
    } else if (len - pos >= 8 && memcmp(path + pos, "entries/", 8) == 0) {
        t.kind = ARB_TILE_ENTRIES;
        pos += 8;
    } else {
        size_t d = parse_dec(path + pos, len - pos, 2, &t.level);
        if (d == 0 || t.level > ARB_TILE_MAX_LEVEL || pos + d >= len || path[pos + d] != '/')
            return ARB_ERR_PARSE;
        t.kind = ARB_TILE_HASH;
        pos += d + 1;
    }
    /* <N>: "xDDD/" groups, then a final "DDD". */
    for (;;) {
        int x = pos < len && path[pos] == 'x';
        unsigned g;

        pos += (size_t)x;
        if (len - pos < 3 || !is_digit(path[pos]) || !is_digit(path[pos + 1]) ||
            !is_digit(path[pos + 2]))
            return ARB_ERR_PARSE;
        g = (unsigned)(path[pos] - '0') * 100 + (unsigned)(path[pos + 1] - '0') * 10 +
            (unsigned)(path[pos + 2] - '0');
        pos += 3;
        if (ng == 0 && x && g == 0)
            return ARB_ERR_PARSE; /* a leading zero group is not canonical */
        if (n > (UINT64_MAX - g) / 1000)
            return ARB_ERR_PARSE;
        n = n * 1000 + g;
        ng++;
        if (!x)
            break;
        if (pos >= len || path[pos] != '/')
            return ARB_ERR_PARSE;
        pos++;
    }
    t.index = n;
    t.width = ARB_TILE_WIDTH;
    if (pos < len) {
        size_t d;
        if (len - pos < 4 || memcmp(path + pos, ".p/", 3) != 0)
            return ARB_ERR_PARSE;
        pos += 3;
        d = parse_dec(path + pos, len - pos, 3, &t.width);
        if (d == 0 || pos + d != len || t.width == 0 || t.width >= ARB_TILE_WIDTH)
            return ARB_ERR_PARSE;
    }
    *tile = t;
    return ARB_OK;
}

void arb_tile_source_init(arb_tile_source *ts, arb_sha256 *h, uint64_t size, arb_tile_read_fn read,
                          void *read_ud)
{
    ts->h = h;
    ts->size = size;
    ts->read = read;
    ts->read_ud = read_ud;
    ts->cached = 0;
    memset(&ts->tile, 0, sizeof ts->tile);
}

arb_err arb_tile_source_get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    arb_tile_source *ts = ud;
    arb_tile t;
    unsigned offset, count;
    arb_err err;

    memset(out, 0, sizeof *out);
    if (level > 63 || index > UINT64_MAX >> level || index << level >= ts->size ||
        ts->size - (index << level) < (uint64_t)1 << level)
        return ARB_ERR_INVALID_ARG; /* not a perfect subtree inside the tree */
    if ((err = arb_tile_for_node(level, index, &t, &offset, &count)) != ARB_OK)
        return err;
    t.width = arb_tile_width(ts->size, t.level, t.index);
    if (t.width == 0)
        return ARB_ERR_INTERNAL; /* a perfect subtree's tile always has entries */
    if (!ts->cached || ts->tile.level != t.level || ts->tile.index != t.index ||
        ts->tile.width != t.width) {
        ts->cached = 0;
        if ((err = ts->read(ts->read_ud, &t, ts->data)) != ARB_OK)
            return err;
        ts->tile = t;
        ts->cached = 1;
    }
    return arb_tile_node_hash(ts->h, &ts->tile, ts->data, (size_t)t.width * ARB_HASH_SIZE, level,
                              index, out);
}
