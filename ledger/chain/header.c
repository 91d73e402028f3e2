#include "ledger/chain/header.h"

#include <string.h>

#include "merkle/buf.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void arb_header_encode(uint8_t out80[static 80], const arb_block_header *h)
{
    put32(out80, (uint32_t)h->version);
    memcpy(out80 + 4, h->prev.b, 32);
    memcpy(out80 + 36, h->merkle_root.b, 32);
    put32(out80 + 68, h->time);
    put32(out80 + 72, h->bits);
    put32(out80 + 76, h->nonce);
}

void arb_header_decode(arb_block_header *h, const uint8_t in80[static 80])
{
    h->version = (int32_t)get32(in80);
    memcpy(h->prev.b, in80 + 4, 32);
    memcpy(h->merkle_root.b, in80 + 36, 32);
    h->time = get32(in80 + 68);
    h->bits = get32(in80 + 72);
    h->nonce = get32(in80 + 76);
}

void arb_header_hash(arb_sha256 *sha, arb_hash *out, const arb_block_header *h)
{
    uint8_t raw[80];
    arb_header_encode(raw, h);
    arb_sha256d(sha, out->b, raw, sizeof raw);
}

void arb_chain_hash_hex(char out[static 65], const arb_hash *h)
{
    uint8_t rev[32];
    for (int i = 0; i < 32; i++)
        rev[i] = h->b[31 - i];
    arb_hex_encode(out, rev, 32);
}

int arb_chain_hash_from_hex(arb_hash *out, const char *hex)
{
    uint8_t rev[32];
    if (strlen(hex) != 64 || !arb_hex_decode(rev, 32, hex, 64))
        return 0;
    for (int i = 0; i < 32; i++)
        out->b[i] = rev[31 - i];
    return 1;
}
