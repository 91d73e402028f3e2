#include "tests/testlib/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test.h"

void arb_tl_fund(const arb_tl_chain *c, arb_tl_http_opts o, const arb_tl_actor *miner,
                 uint32_t height, arb_tl_actor **to, size_t n, uint64_t each)
{
    char bpath[64];
    json_t *j = NULL;
    arb_block b;
    arb_errbuf eb;
    size_t len;
    arb_hash cb_id;
    /* the coinbase of block `height` pays the miner */
    snprintf(bpath, sizeof bpath, "/chain/v1/block?height=%u", height);
    CHECK_EQ(arb_tl_http_json(o, bpath, NULL, &j), 200);
    uint8_t *raw = arb_tl_unhex(arb_tl_jstr(j, "hex"), &len);
    arb_block_init(&b);
    CHECK(raw != NULL && arb_block_decode(&b, raw, len, &eb) == ARB_OK);
    free(raw);
    json_decref(j);
    CHECK(arb_tx_txid(c->sha, &cb_id, &b.tx[0]) == ARB_OK);
    uint64_t total = b.tx[0].out[0].amount;
    arb_block_clear(&b);
    arb_tx tx;
    arb_txout spent = {total, {0}};
    memcpy(spent.key, miner->pk, 32);
    arb_tx_init(&tx);
    CHECK(arb_tx_alloc(&tx, 1, n) == ARB_OK);
    tx.version = 1;
    tx.in[0].txid = cb_id;
    tx.in[0].index = 0;
    for (size_t i = 0; i < n; i++) {
        tx.out[i].amount = each;
        memcpy(tx.out[i].key, to[i]->pk, 32);
    }
    CHECK(arb_chain_sign_input(c->params, c->sha, c->schnorr, &tx, 0, &spent, miner->sk, NULL) ==
          ARB_OK);
    arb_hash id;
    CHECK(arb_tx_txid(c->sha, &id, &tx) == ARB_OK);
    arb_buf buf = ARB_BUF_INIT;
    arb_tx_write(&buf, &tx, 1);
    CHECK_EQ(arb_tl_post_hex(o, "/chain/v1/tx", buf.data, buf.len, &j), 200);
    json_decref(j);
    arb_buf_free(&buf);
    arb_tx_clear(&tx);
    for (size_t i = 0; i < n; i++) {
        to[i]->coin.txid = id;
        to[i]->coin.index = (uint32_t)i;
        to[i]->amount = each;
    }
}

const char *arb_tl_nameop(const arb_tl_chain *c, arb_tl_http_opts o, arb_tl_actor *a,
                          const arb_nameop *op)
{
    arb_buf b = ARB_BUF_INIT;
    arb_tx tx;
    CHECK_OR(arb_nameop_encode(&b, op) == ARB_OK, "(encode)");
    arb_tl_op_tx(c, &tx, a, op->type, b.data, b.len, arb_nameop_burn(op));
    arb_buf_free(&b);
    return arb_tl_post_op(c, o, a, &tx);
}

void arb_tl_nameop_set_full(arb_nameop *op, const char *full)
{
    op->full_len = strlen(full);
    memcpy(op->full, full, op->full_len);
}

const char *arb_tl_name_preorder(const arb_tl_chain *c, arb_tl_http_opts o,
                                 arb_tl_actor *a, const char *full, const uint8_t salt[32],
                                 const uint8_t owner[32], uint64_t burn)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_PREORDER;
    arb_nameop_name_commitment(c->sha, op.commitment, (const uint8_t *)full, strlen(full), salt,
                               owner);
    op.burn = burn;
    return arb_tl_nameop(c, o, a, &op);
}

const char *arb_tl_name_register(const arb_tl_chain *c, arb_tl_http_opts o,
                                 arb_tl_actor *a, const char *full, const uint8_t salt[32],
                                 const uint8_t owner[32], const uint8_t *zf)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = ARB_NAMEOP_NAME_REGISTER;
    arb_tl_nameop_set_full(&op, full);
    memcpy(op.salt, salt, 32);
    memcpy(op.key, owner, 32);
    if (zf != NULL) {
        op.has_zonefile = 1;
        memcpy(op.zonefile_hash, zf, 32);
    }
    return arb_tl_nameop(c, o, a, &op);
}

const char *arb_tl_name_simple(const arb_tl_chain *c, arb_tl_http_opts o,
                               arb_tl_actor *a, uint8_t type, const char *full,
                               const uint8_t *arg32, uint64_t burn)
{
    arb_nameop op;
    memset(&op, 0, sizeof op);
    op.type = type;
    arb_tl_nameop_set_full(&op, full);
    if (type == ARB_NAMEOP_NAME_UPDATE) {
        op.has_zonefile = 1;
        memcpy(op.zonefile_hash, arg32, 32);
    } else if (type == ARB_NAMEOP_NAME_TRANSFER) {
        memcpy(op.key, arg32, 32);
        op.keep_zonefile = 1;
    } else if (type == ARB_NAMEOP_NAME_RENEW) {
        op.burn = burn;
    }
    return arb_tl_nameop(c, o, a, &op);
}

long arb_tl_name_lookup(arb_tl_http_opts o, const char *full, const char *query,
                        json_t **out)
{
    char path[256];
    snprintf(path, sizeof path, "/names/v1/name/%s%s", full, query ? query : "");
    return arb_tl_http_json(o, path, NULL, out);
}

const char *arb_tl_name_status(arb_tl_http_opts o, const char *full)
{
    static char st[32];
    json_t *j = NULL;
    st[0] = 0;
    if (arb_tl_name_lookup(o, full, NULL, &j) == 200)
        snprintf(st, sizeof st, "%s", arb_tl_jstr(j, "status"));
    json_decref(j);
    return st;
}

void arb_tl_tree_init(arb_tl_tree *t, arb_sha256 *sha, const char *tag)
{
    t->sha = sha;
    for (int i = 0; i < ARB_TL_TREE_LEAVES; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%s %d", tag, i);
        arb_merkle_leaf_hash(sha, &t->leaf[i], buf, (size_t)n);
    }
}

arb_err arb_tl_tree_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    arb_tl_tree *t = ud;
    arb_hash l, r;
    if (level == 0) {
        if (index >= ARB_TL_TREE_LEAVES)
            return ARB_ERR_NOT_FOUND;
        *out = t->leaf[index];
        return ARB_OK;
    }
    if (arb_tl_tree_node(ud, level - 1, 2 * index, &l) != ARB_OK ||
        arb_tl_tree_node(ud, level - 1, 2 * index + 1, &r) != ARB_OK)
        return ARB_ERR_NOT_FOUND;
    arb_merkle_node_hash(t->sha, out, &l, &r);
    return ARB_OK;
}

const char *arb_tl_anchor_payload(arb_buf *out, const arb_ct_signer *log, const uint8_t *spki,
                                  size_t spki_len, arb_tl_tree *t, uint64_t size,
                                  uint64_t sig_ts, uint64_t ts, uint64_t from,
                                  arb_tl_tree *proof_tree)
{
    arb_merkle_source src = {arb_tl_tree_node, t},
                      psrc = {arb_tl_tree_node, proof_tree ? proof_tree : t};
    arb_anchor an;
    arb_hash root;
    arb_ct_dsig d;
    uint8_t sig[ARB_CT_SIG_MAX];
    memset(&an, 0, sizeof an);
    CHECK_OR(arb_merkle_source_root(t->sha, &src, size, &root) == ARB_OK, "(root)");
    CHECK_OR(arb_ct_sth_sign(log, &d, sig, sig_ts, size, root.b) == ARB_OK, "(sign)");
    an.spki = spki;
    an.spki_len = spki_len;
    an.tree_size = size;
    an.timestamp = ts;
    memcpy(an.root, root.b, 32);
    an.sig_hash_alg = d.hash_alg;
    an.sig_sig_alg = d.sig_alg;
    an.sig = d.sig;
    an.sig_len = d.sig_len;
    if (from > 0)
        CHECK_OR(arb_merkle_consistency_build(t->sha, &psrc, from, size, an.proof,
                                              &an.proof_len) == ARB_OK,
                 "(proof)");
    CHECK_OR(arb_anchor_encode(out, &an) == ARB_OK, "(encode)");
    return NULL;
}
