/* C2SP tlog-tiles arithmetic (https://c2sp.org/tlog-tiles) and the static-ct-api
 * data tiles (https://c2sp.org/static-ct-api).
 *
 * Tiles have height 8: the tile at level L, index N holds the hashes of the
 * perfect subtrees at tree level 8L with indices N*256 .. N*256 + W - 1
 * (tlog-tiles: MTH(D[(N*256 + i) * 256^L : (N*256 + i + 1) * 256^L])). A full
 * tile has W = 256 hashes (8192 bytes); the rightmost tile of a level may be
 * partial (1 <= W <= 255) and is served at `tile/<L>/<N>.p/<W>`. Tree levels
 * 8L+1 .. 8L+8 are not stored: they are hashed from a tile's entries
 * (arb_tile_node_hash).
 *
 * Paths: `tile/<L>/<N>[.p/<W>]` for hash tiles, `tile/data/<N>[.p/<W>]` for
 * static-ct-api data tiles and `tile/entries/<N>[.p/<W>]` for tlog-tiles entry
 * bundles. <N> is written in three-digit groups, all but the last prefixed
 * with `x` (1234067 -> x001/x234/067). Paths carry no leading slash and no URL
 * prefix.
 *
 * Everything here is pure arithmetic except arb_tile_source, a node source
 * (merkle/proof.h) over a tile reader; it is not thread-safe (one per
 * thread, like the engine it holds). */
#ifndef ARB_MERKLE_TILE_H
#define ARB_MERKLE_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"
#include "merkle/hash.h"

#define ARB_TILE_HEIGHT 8
#define ARB_TILE_WIDTH 256
/* tlog-tiles allows levels 0..63 in paths. */
#define ARB_TILE_MAX_LEVEL 63
/* Enough for any path this module writes (with the NUL). */
#define ARB_TILE_PATH_MAX 64

typedef enum {
    ARB_TILE_HASH = 0, /* tile/<L>/<N>: Merkle tree hashes */
    ARB_TILE_DATA,     /* tile/data/<N>: static-ct-api leaf data, level 0 */
    ARB_TILE_ENTRIES,  /* tile/entries/<N>: tlog-tiles entry bundle, level 0 */
} arb_tile_kind;

typedef struct {
    arb_tile_kind kind;
    unsigned level; /* L, 0..63; always 0 for data and entries tiles */
    uint64_t index; /* N */
    unsigned width; /* W, 1..256; 256 is a full tile */
} arb_tile;

/* The width of tile (level, index) in a tree of `size` leaves: 256 for a
 * full tile, 1..255 for the partial rightmost tile, 0 when the tile has no
 * entry yet. For data tiles use level 0. */
unsigned arb_tile_width(uint64_t size, unsigned level, uint64_t index);

/* How many tiles a tree of `size` leaves has at `level`: full ones in
 * *full, and the width of the partial one (0 if none) in *partial_width. */
void arb_tile_count(uint64_t size, unsigned level, uint64_t *full, unsigned *partial_width);

/* Where the perfect subtree (node_level, node_index) lives: the hash tile
 * (level node_level / 8, rounded down) whose entries [*offset, *offset +
 * *count) it is hashed from (count = 2^(node_level mod 8); count 1 means the
 * node is stored as is). The tile's width is set to 256; a caller that knows
 * the tree size sets it with arb_tile_width. Returns ARB_OK or
 * ARB_ERR_INVALID_ARG when node_level > 63 or the node's leaves would not fit
 * below 2^64. */
arb_err arb_tile_for_node(uint64_t node_level, uint64_t node_index, arb_tile *tile,
                          unsigned *offset, unsigned *count) ARB_WARN_UNUSED;

/* The hash of the perfect subtree (node_level, node_index) computed from the
 * contents of hash tile `tile`: `data` holds its tile->width hashes
 * (len == tile->width * 32). The node must lie inside the tile: tree level
 * between 8L and 8L + 8 (8L + 8 is the whole tile, which must be full) and
 * its entries within the tile's width. Returns ARB_OK, or
 * ARB_ERR_INVALID_ARG (*out zeroed) when the node is not in the tile or len
 * is wrong. */
arb_err arb_tile_node_hash(arb_sha256 *h, const arb_tile *tile, const uint8_t *data, size_t len,
                           uint64_t node_level, uint64_t node_index, arb_hash *out) ARB_WARN_UNUSED;

/* Writes the tile's path ("tile/0/x001/234.p/7") into out. Returns ARB_OK,
 * or ARB_ERR_INVALID_ARG for an out-of-range tile (level > 63, width 0 or
 * > 256, a data/entries tile with level != 0) or a too-small buffer. */
arb_err arb_tile_path(const arb_tile *tile, char *out, size_t out_size) ARB_WARN_UNUSED;

/* Parses a tile path (exactly `len` bytes, no leading slash) strictly: only
 * the canonical form arb_tile_path writes is accepted (no leading zeros in L
 * or W, three-digit groups, no empty leading `x000` groups, 1 <= W <= 255 on
 * .p, N below 2^64). Returns ARB_OK or ARB_ERR_PARSE (*tile zeroed). */
arb_err arb_tile_path_parse(arb_tile *tile, const char *path, size_t len) ARB_WARN_UNUSED;

/* Reads hash tile `tile` (its width already set for the tree size) into
 * out: exactly tile->width * 32 bytes. Returns ARB_OK or an error, passed on. */
typedef arb_err (*arb_tile_read_fn)(void *ud, const arb_tile *tile,
                                    uint8_t out[static ARB_TILE_WIDTH * ARB_HASH_SIZE]);

/* A node source over tiles for a tree of a fixed size: use
 * arb_tile_source_get_node with the arb_tile_source as ud in an
 * arb_merkle_source. It reads the tile holding each asked node (full or
 * partial as the tree size requires) and hashes the node from it; the last
 * tile read is cached. */
typedef struct {
    arb_sha256 *h;
    uint64_t size;
    arb_tile_read_fn read;
    void *read_ud;
    int cached; /* whether `tile`/`data` hold a tile */
    arb_tile tile;
    uint8_t data[ARB_TILE_WIDTH * ARB_HASH_SIZE];
} arb_tile_source;

/* Sets up ts for a tree of `size` leaves. Borrows h and read_ud. */
void arb_tile_source_init(arb_tile_source *ts, arb_sha256 *h, uint64_t size, arb_tile_read_fn read,
                          void *read_ud);

/* arb_merkle_get_node_fn over an arb_tile_source (passed as ud). Returns
 * ARB_OK, ARB_ERR_INVALID_ARG for a node that is not a perfect subtree inside
 * the tree, or the reader's error. */
arb_err arb_tile_source_get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out);

#endif
