/* Shared by the peer-message fuzz targets: decodes a payload of the given type
 * with its decoder and checks that what decodes re-encodes to exactly the
 * input (decoders are strict), aborting otherwise. */
#ifndef ARB_TESTS_FUZZ_P2P_H
#define ARB_TESTS_FUZZ_P2P_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/block.h"
#include "p2p/msg.h"

static void fuzz_p2p_same(arb_buf *b, const uint8_t *d, size_t n)
{
    if (b->oom || b->len != n || (n > 0 && memcmp(b->data, d, n) != 0))
        abort();
    arb_buf_free(b);
}

static void fuzz_p2p_payload(uint8_t type, const uint8_t *d, size_t n)
{
    arb_buf b = ARB_BUF_INIT;
    switch (type) {
    case ARB_P2P_VERSION: {
        arb_p2p_version v;
        if (arb_p2p_version_read(&v, d, n) == ARB_OK) {
            if (strlen(v.user_agent) > ARB_P2P_MAX_USER_AGENT)
                abort();
            arb_p2p_version_write(&b, &v);
            fuzz_p2p_same(&b, d, n);
        }
        break;
    }
    case ARB_P2P_PING:
    case ARB_P2P_PONG: {
        uint64_t nonce;
        if (arb_p2p_nonce_read(&nonce, d, n) == ARB_OK) {
            arb_p2p_nonce_write(&b, nonce);
            fuzz_p2p_same(&b, d, n);
        }
        break;
    }
    case ARB_P2P_GETHEADERS: {
        arb_hash loc[ARB_P2P_MAX_LOCATOR], stop;
        size_t k;
        if (arb_p2p_getheaders_read(loc, &k, &stop, d, n) == ARB_OK) {
            if (k == 0 || k > ARB_P2P_MAX_LOCATOR)
                abort();
            arb_p2p_getheaders_write(&b, loc, k, &stop);
            fuzz_p2p_same(&b, d, n);
        }
        break;
    }
    case ARB_P2P_HEADERS: {
        static arb_block_header h[ARB_P2P_MAX_HEADERS];
        size_t k;
        if (arb_p2p_headers_read(h, &k, d, n) == ARB_OK) {
            if (k > ARB_P2P_MAX_HEADERS)
                abort();
            arb_p2p_headers_write(&b, h, k);
            fuzz_p2p_same(&b, d, n);
        }
        break;
    }
    case ARB_P2P_INV:
    case ARB_P2P_GETDATA:
    case ARB_P2P_NOTFOUND: {
        arb_p2p_inv *v;
        size_t k;
        if (arb_p2p_inv_read(&v, &k, d, n) == ARB_OK) {
            if (k == 0 || k > ARB_P2P_MAX_INV)
                abort();
            arb_p2p_inv_write(&b, v, k);
            free(v);
            fuzz_p2p_same(&b, d, n);
        } else if (v != NULL) {
            abort();
        }
        break;
    }
    case ARB_P2P_CMPCTBLOCK: {
        arb_p2p_cmpct c;
        arb_p2p_cmpct_init(&c);
        if (arb_p2p_cmpct_read(&c, d, n) == ARB_OK) {
            if (c.n_short + c.n_pre > ARB_BLOCK_MAX_TXS)
                abort();
            for (size_t i = 0; i < c.n_pre; i++)
                if (c.pre_index[i] >= c.n_short + c.n_pre || (i && c.pre_index[i] <= c.pre_index[i - 1]))
                    abort();
            arb_p2p_cmpct_write(&b, &c);
            fuzz_p2p_same(&b, d, n);
        } else if (c.short_ids != NULL || c.pre_tx != NULL) {
            abort();
        }
        arb_p2p_cmpct_clear(&c);
        break;
    }
    case ARB_P2P_GETBLOCKTXN: {
        arb_hash h;
        uint32_t *idx;
        size_t k;
        if (arb_p2p_getblocktxn_read(&h, &idx, &k, d, n) == ARB_OK) {
            for (size_t i = 1; i < k; i++)
                if (idx[i] <= idx[i - 1])
                    abort();
            arb_p2p_getblocktxn_write(&b, &h, idx, k);
            free(idx);
            fuzz_p2p_same(&b, d, n);
        }
        break;
    }
    case ARB_P2P_BLOCKTXN: {
        arb_hash h;
        arb_tx *txs;
        size_t k;
        if (arb_p2p_blocktxn_read(&h, &txs, &k, d, n) == ARB_OK) {
            const arb_tx **pt = malloc(k * sizeof *pt);
            if (pt == NULL)
                abort();
            for (size_t i = 0; i < k; i++)
                pt[i] = &txs[i];
            arb_p2p_blocktxn_write(&b, &h, pt, k);
            free(pt);
            for (size_t i = 0; i < k; i++)
                arb_tx_clear(&txs[i]);
            free(txs);
            fuzz_p2p_same(&b, d, n);
        }
        break;
    }
    case ARB_P2P_ADDR: {
        static arb_p2p_addr v[ARB_P2P_MAX_ADDR];
        size_t k;
        if (arb_p2p_addr_read(v, &k, d, n) == ARB_OK) {
            if (k == 0 || k > ARB_P2P_MAX_ADDR)
                abort();
            arb_p2p_addr_write(&b, v, k);
            fuzz_p2p_same(&b, d, n);
        }
        break;
    }
    case ARB_P2P_ZONEFILE: {
        uint8_t h[32];
        const uint8_t *zf;
        size_t k;
        int oversize;
        if (arb_p2p_zonefile_read(h, &zf, &k, &oversize, d, n) == ARB_OK) {
            if (k > ARB_P2P_MAX_ZONEFILE || oversize || zf < d || zf + k != d + n)
                abort();
            arb_p2p_zonefile_write(&b, h, zf, k);
            fuzz_p2p_same(&b, d, n);
        } else if (zf != NULL || k != 0) {
            abort();
        }
        break;
    }
    case ARB_P2P_GETADDR:
        if (arb_p2p_empty_read(d, n) == ARB_OK && n != 0)
            abort();
        break;
    case ARB_P2P_SENDCMPCT: {
        int announce;
        uint64_t version;
        if (arb_p2p_sendcmpct_read(&announce, &version, d, n) == ARB_OK) {
            if (announce != 0 && announce != 1)
                abort();
            arb_p2p_sendcmpct_write(&b, announce, version);
            fuzz_p2p_same(&b, d, n);
        }
        break;
    }
    case ARB_P2P_BLOCK: {
        arb_block blk;
        arb_errbuf eb;
        arb_block_init(&blk);
        if (arb_block_decode(&blk, d, n, &eb) == ARB_OK) {
            arb_block_write(&b, &blk);
            fuzz_p2p_same(&b, d, n);
        }
        arb_block_clear(&blk);
        break;
    }
    case ARB_P2P_TX: {
        arb_tx tx;
        arb_errbuf eb;
        arb_tx_init(&tx);
        if (arb_tx_decode(&tx, d, n, &eb) == ARB_OK) {
            arb_tx_write(&b, &tx, 1);
            fuzz_p2p_same(&b, d, n);
        }
        arb_tx_clear(&tx);
        break;
    }
    default:
        break;
    }
}

#endif
