#include "tests/testlib/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/mine.h"
#include "tests/test.h"

void arb_tl_actor_new(const arb_tl_chain *c, arb_tl_actor *a)
{
    memset(a, 0, sizeof *a);
    do
        arb_test_rand_bytes(a->sk, 32);
    while (!arb_schnorr_pubkey(c->schnorr, a->pk, a->sk));
    if (!arb_address_encode(a->addr, c->params->hrp, a->pk))
        abort();
}

uint32_t arb_tl_tip_height(arb_tl_http_opts o)
{
    json_t *j = NULL;
    uint32_t h = 0;
    if (arb_tl_http_json(o, "/chain/v1/tip", NULL, &j) == 200)
        h = (uint32_t)arb_tl_jint(j, "height");
    json_decref(j);
    return h;
}

uint32_t arb_tl_mine(arb_tl_http_opts o, const char *addr, unsigned flags)
{
    char path[256];
    json_t *t = NULL, *r = NULL;
    arb_block b;
    arb_errbuf eb;
    size_t len;
    uint32_t height = 0;
    snprintf(path, sizeof path, "/chain/v1/template?address=%s", addr);
    if (arb_tl_http_json(o, path, NULL, &t) != 200) {
        json_decref(t);
        return 0;
    }
    uint8_t *raw = arb_tl_unhex(arb_tl_jstr(t, "hex"), &len);
    arb_block_init(&b);
    if (raw != NULL && arb_block_decode(&b, raw, len, &eb) == ARB_OK) {
        if (flags & ARB_TL_MINE_STRICT) {
            arb_hash root;
            char rh[65];
            /* the template's state_root is its coinbase's */
            CHECK_OR(arb_chain_coinbase_root(&b.tx[0], &root), 0);
            arb_hex_encode(rh, root.b, 32);
            CHECK_OR(strcmp(arb_tl_jstr(t, "state_root"), rh) == 0, 0);
        }
        if (!arb_chain_mine_header(&b.header, 0, 1ULL << 32))
            abort();
        arb_buf buf = ARB_BUF_INIT;
        arb_block_write(&buf, &b);
        if (arb_tl_post_hex(o, "/chain/v1/block", buf.data, buf.len, &r) == 200)
            height = (uint32_t)arb_tl_jint(r, "height");
        else if (flags & ARB_TL_MINE_STRICT)
            arb_test_fail(__FILE__, __LINE__, "block refused: %s", arb_tl_jstr(r, "error"));
        arb_buf_free(&buf);
        json_decref(r);
    }
    free(raw);
    arb_block_clear(&b);
    json_decref(t);
    return height;
}

void arb_tl_mine_to(arb_tl_http_opts o, const char *addr, uint32_t height)
{
    while (arb_tl_tip_height(o) < height)
        CHECK(arb_tl_mine(o, addr, ARB_TL_MINE_STRICT) > 0);
}

void arb_tl_op_tx(const arb_tl_chain *c, arb_tx *tx, const arb_tl_actor *a, uint8_t type,
                  const uint8_t *pl, size_t plen, uint64_t burn)
{
    arb_txout spent = {a->amount, {0}};
    memcpy(spent.key, a->pk, 32);
    arb_tx_init(tx);
    if (arb_tx_alloc(tx, 1, 1) != ARB_OK)
        abort();
    tx->version = 1;
    tx->in[0] = a->coin;
    tx->out[0].amount = a->amount - burn - c->fee;
    memcpy(tx->out[0].key, a->pk, 32);
    if (type != 0) {
        tx->payload_type = type;
        if ((tx->payload = malloc(plen > 0 ? plen : 1)) == NULL)
            abort();
        memcpy(tx->payload, pl, plen);
        tx->payload_len = plen;
    }
    if (arb_chain_sign_input(c->params, c->sha, c->schnorr, tx, 0, &spent, a->sk, NULL) != ARB_OK)
        abort();
}

const char *arb_tl_post_op(const arb_tl_chain *c, arb_tl_http_opts o, arb_tl_actor *a,
                           arb_tx *tx)
{
    static char why[128];
    json_t *j = NULL;
    arb_buf buf = ARB_BUF_INIT;
    arb_hash id;
    arb_tx_write(&buf, tx, 1);
    long st = arb_tl_post_hex(o, "/chain/v1/tx", buf.data, buf.len, &j);
    arb_buf_free(&buf);
    if (st == 200) {
        if (arb_tx_txid(c->sha, &id, tx) != ARB_OK)
            abort();
        a->coin.txid = id;
        a->coin.index = 0;
        a->amount = tx->out[0].amount;
        snprintf(why, sizeof why, "ok");
    } else {
        snprintf(why, sizeof why, "%s", arb_tl_jstr(j, "error"));
    }
    json_decref(j);
    arb_tx_clear(tx);
    return why;
}
