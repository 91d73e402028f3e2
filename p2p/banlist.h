/* The node's manual bans on disk (DATADIR/banlist.dat, docs/network.md), as
 * Bitcoin Core's banlist: the operator's bans (POST /p2p/v1/ban) survive a
 * restart; discouragement of misbehaving peers stays in memory only.
 *
 * File: "ARBBANS1" | version u32 LE (1) | count u32 LE (0..ARB_BANLIST_MAX) |
 * count x (address 16 bytes: IPv6, IPv4 as ::ffff:a.b.c.d | until i64 LE,
 * Unix seconds) | SHA-256 of everything before (32). Written to a temporary
 * file, synced, renamed over the old one, and the directory synced.
 * Pure functions apart from _save/_load; thread-safe. */
#ifndef ARB_P2P_BANLIST_H
#define ARB_P2P_BANLIST_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/buf.h"
#include "merkle/error.h"

#define ARB_BANLIST_MAX 10000
#define ARB_BANLIST_VERSION 1

typedef struct {
    uint8_t ip16[16];
    int64_t until; /* Unix seconds, > 0 */
} arb_ban_entry;

/* Appends the file's bytes for n entries (n <= ARB_BANLIST_MAX). Returns
 * ARB_OK, ARB_ERR_INVALID_ARG (too many) or ARB_ERR_NOMEM. */
arb_err arb_banlist_encode(arb_buf *out, const arb_ban_entry *v, size_t n) ARB_WARN_UNUSED;
/* Strict parser: bad magic, version, count, length or checksum, an
 * address of all zeros, a time <= 0 or the same address twice are
 * ARB_ERR_PARSE (eb says which). On ARB_OK *out (n entries, to free; NULL
 * when n is 0) holds the entries in file order; otherwise *out is NULL and
 * *n 0. */
arb_err arb_banlist_decode(arb_ban_entry **out, size_t *n, const uint8_t *data, size_t len,
                           arb_errbuf *eb) ARB_WARN_UNUSED;
/* Writes path atomically and durably (temporary file, fsync, rename, fsync
 * of the directory). ARB_OK, ARB_ERR_IO, ARB_ERR_NOMEM, ARB_ERR_INVALID_ARG. */
arb_err arb_banlist_save(const char *path, const arb_ban_entry *v, size_t n,
                         arb_errbuf *eb) ARB_WARN_UNUSED;
/* Reads path: ARB_ERR_NOT_FOUND if it does not exist, ARB_ERR_IO, or what
 * arb_banlist_decode returns. */
arb_err arb_banlist_load(const char *path, arb_ban_entry **out, size_t *n,
                         arb_errbuf *eb) ARB_WARN_UNUSED;
/* The address text ("1.2.3.4" for IPv4-mapped, else IPv6) into out (cap >=
 * 46); and back: 1, or 0 if ip is not a numeric address. */
void arb_banlist_ip_format(const uint8_t ip16[static 16], char *out, size_t cap);
int arb_banlist_ip_parse(uint8_t ip16[static 16], const char *ip);

#endif
