/* The wallet's log-anchor builder with a real P-256 log key: get-sth
 * answers written by the log's own JSON code, trees and consistency proofs
 * from merkle/, the payload decoded and checked again by ledger/anchor. A
 * head that extends the anchored one is built; a forked head (split view),
 * a wrong proof, a head from another key and a shrunken tree are refused
 * with the chain's reasons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/anchor/anchor.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "ledger/log/static.h"
#include "merkle/proof.h"
#include "tests/test.h"
#include "wallet/anchorbuild.h"

static arb_sha256 *sha;

enum { MAXLEAVES = 64 };
typedef struct {
    arb_hash leaf[MAXLEAVES];
} tree;

static void tree_init(tree *t, const char *tag)
{
    for (int i = 0; i < MAXLEAVES; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%s %d", tag, i);
        arb_merkle_leaf_hash(sha, &t->leaf[i], buf, (size_t)n);
    }
}

static arb_err get_node(void *ud, uint64_t level, uint64_t index, arb_hash *out)
{
    tree *t = ud;
    arb_hash l, r;
    if (level == 0) {
        if (index >= MAXLEAVES)
            return ARB_ERR_NOT_FOUND;
        *out = t->leaf[index];
        return ARB_OK;
    }
    if (get_node(ud, level - 1, 2 * index, &l) != ARB_OK ||
        get_node(ud, level - 1, 2 * index + 1, &r) != ARB_OK)
        return ARB_ERR_NOT_FOUND;
    arb_merkle_node_hash(sha, out, &l, &r);
    return ARB_OK;
}

/* The get-sth answer of t at size, signed by s (malloc'd JSON). */
static char *sth_json(arb_ct_signer *s, tree *t, uint64_t size, uint64_t ts)
{
    arb_merkle_source src = {get_node, t};
    arb_hash root;
    arb_ct_dsig d;
    uint8_t sigbuf[ARB_CT_SIG_MAX];

    if (arb_merkle_source_root(sha, &src, size, &root) != ARB_OK ||
        arb_ct_sth_sign(s, &d, sigbuf, ts, size, root.b) != ARB_OK)
        return NULL;
    return arb_ct_json_sth(size, ts, root.b, &d);
}

/* Decodes a built payload and checks it as the chain does. */
static const char *chain_check(const arb_buf *b, const arb_anchor_head *prev, uint32_t height,
                               arb_anchor_head *next)
{
    arb_anchor a;
    arb_errbuf eb;
    const char *reason = NULL;
    if (arb_anchor_decode(&a, b->data, b->len, &eb) != ARB_OK)
        return "decode";
    if (arb_anchor_check(sha, &a, prev, height, next, &reason) != ARB_OK)
        return reason != NULL ? reason : "error";
    return "ok";
}

static void test_build(void)
{
    arb_ct_signer *s = NULL, *other = NULL;
    uint8_t *spki = NULL, *spki2 = NULL;
    size_t spki_len = 0, spki2_len = 0;
    char *pem = NULL, *json;
    size_t pem_len = 0;
    tree t, fork;
    arb_wallet_sth sth;
    arb_anchor_head h1, h2;
    arb_hash proof[ARB_MERKLE_MAX_PROOF];
    size_t n_proof = 0;
    arb_merkle_source src = {get_node, &t}, fsrc = {get_node, &fork};
    arb_buf b = ARB_BUF_INIT;
    arb_errbuf eb;
    const char *reason;

    tree_init(&t, "leaf");
    tree_init(&fork, "leaf");
    fork.leaf[3].b[0] ^= 1; /* the same log key, another tree from entry 3 on */
    CHECK_EQ(arb_ct_signer_generate(&s, NULL), ARB_OK);
    CHECK_EQ(arb_ct_signer_generate(&other, NULL), ARB_OK);
    if (s == NULL || other == NULL)
        goto out;

    /* The key, from the log's public PEM and from its private PEM. */
    CHECK_EQ(arb_ct_signer_public_pem(s, &pem, &pem_len), ARB_OK);
    CHECK_EQ(arb_wallet_spki_from_pem(&spki, &spki_len, pem, pem_len, &eb), ARB_OK);
    free(pem);
    CHECK_EQ(arb_ct_signer_private_pem(s, &pem, &pem_len), ARB_OK);
    CHECK_EQ(arb_wallet_spki_from_pem(&spki2, &spki2_len, pem, pem_len, &eb), ARB_OK);
    CHECK_EQ(spki_len, spki2_len);
    CHECK_MEM(spki, spki2, spki_len);
    free(pem);
    pem = NULL;
    free(spki2);
    spki2 = NULL;
    CHECK_EQ(arb_wallet_spki_from_pem(&spki2, &spki2_len, "not a key", 9, &eb), ARB_ERR_PARSE);

    /* First anchor at size 5: no proof. */
    json = sth_json(s, &t, 5, 1000);
    CHECK(json != NULL);
    CHECK_EQ(arb_wallet_sth_parse(&sth, json, strlen(json), spki, spki_len, &eb), ARB_OK);
    free(json);
    CHECK_EQ(sth.tree_size, 5);
    CHECK_EQ(arb_wallet_anchor_build(&b, spki, spki_len, &sth, NULL, 0, NULL, 10, &reason, &eb),
             ARB_OK);
    CHECK_STR(chain_check(&b, NULL, 10, &h1), "ok");
    CHECK_EQ(h1.tree_size, 5);
    arb_buf_free(&b);

    /* Second at 13 with the consistency proof from 5. */
    json = sth_json(s, &t, 13, 2000);
    CHECK_EQ(arb_wallet_sth_parse(&sth, json, strlen(json), spki, spki_len, &eb), ARB_OK);
    free(json);
    CHECK_EQ(arb_merkle_consistency_build(sha, &src, 5, 13, proof, &n_proof), ARB_OK);
    CHECK(n_proof > 0);
    CHECK_EQ(arb_wallet_anchor_build(&b, spki, spki_len, &sth, proof, n_proof, &h1, 11, &reason,
                                     &eb),
             ARB_OK);
    CHECK_STR(chain_check(&b, &h1, 11, &h2), "ok");
    CHECK_EQ(h2.tree_size, 13);
    arb_buf_free(&b);
    /* Without the proof, or with a damaged one: refused here. */
    CHECK_EQ(arb_wallet_anchor_build(&b, spki, spki_len, &sth, NULL, 0, &h1, 11, &reason, &eb),
             ARB_ERR_VERIFY);
    CHECK_STR(reason, "anchor-bad-consistency");
    proof[0].b[7] ^= 1;
    CHECK_EQ(arb_wallet_anchor_build(&b, spki, spki_len, &sth, proof, n_proof, &h1, 11, &reason,
                                     &eb),
             ARB_ERR_VERIFY);
    CHECK_STR(reason, "anchor-bad-consistency");
    CHECK_EQ(b.len, 0);

    /* A split view: the log signs a forked tree of size 13; its proof from
     * 5 cannot link to the anchored root. */
    json = sth_json(s, &fork, 13, 3000);
    CHECK_EQ(arb_wallet_sth_parse(&sth, json, strlen(json), spki, spki_len, &eb), ARB_OK);
    free(json);
    CHECK_EQ(arb_merkle_consistency_build(sha, &fsrc, 5, 13, proof, &n_proof), ARB_OK);
    CHECK_EQ(arb_wallet_anchor_build(&b, spki, spki_len, &sth, proof, n_proof, &h1, 11, &reason,
                                     &eb),
             ARB_ERR_VERIFY);
    CHECK_STR(reason, "anchor-bad-consistency");
    /* ... and at the anchored size itself: another root. */
    json = sth_json(s, &fork, 5, 3000);
    CHECK_EQ(arb_wallet_sth_parse(&sth, json, strlen(json), spki, spki_len, &eb), ARB_OK);
    free(json);
    CHECK_EQ(arb_wallet_anchor_build(&b, spki, spki_len, &sth, NULL, 0, &h1, 11, &reason, &eb),
             ARB_ERR_VERIFY);
    CHECK_STR(reason, "anchor-root-changed");
    /* A smaller tree than the anchored one. */
    json = sth_json(s, &t, 4, 4000);
    CHECK_EQ(arb_wallet_sth_parse(&sth, json, strlen(json), spki, spki_len, &eb), ARB_OK);
    free(json);
    CHECK_EQ(arb_wallet_anchor_build(&b, spki, spki_len, &sth, NULL, 0, &h1, 11, &reason, &eb),
             ARB_ERR_VERIFY);
    CHECK_STR(reason, "anchor-size-decreased");

    /* A head signed by another key is not this log's. */
    json = sth_json(other, &t, 13, 2000);
    CHECK_EQ(arb_wallet_sth_parse(&sth, json, strlen(json), spki, spki_len, &eb),
             ARB_ERR_VERIFY);
    free(json);
    /* Malformed answers. */
    CHECK_EQ(arb_wallet_sth_parse(&sth, "{}", 2, spki, spki_len, &eb), ARB_ERR_PARSE);
    CHECK_EQ(arb_wallet_sth_parse(&sth, "[", 1, spki, spki_len, &eb), ARB_ERR_PARSE);
out:
    arb_buf_free(&b);
    free(spki);
    free(spki2);
    arb_ct_signer_free(s);
    arb_ct_signer_free(other);
}

/* A checkpoint and a get-sth answer of the same head give the same anchor
 * fields; another key or an altered checkpoint is refused. */
static void test_checkpoint(void)
{
    arb_ct_signer *s = NULL, *other = NULL;
    uint8_t *spki = NULL, *spki2 = NULL, root[32];
    size_t spki_len = 0, spki2_len = 0, tl = 0;
    char *text = NULL, origin[256];
    arb_wallet_sth a;
    arb_anchor_head next;
    arb_buf b = ARB_BUF_INIT;
    arb_errbuf eb;
    const char *reason;

    arb_test_rand_bytes(root, 32);
    CHECK_EQ(arb_ct_signer_generate(&s, NULL), ARB_OK);
    CHECK_EQ(arb_ct_signer_generate(&other, NULL), ARB_OK);
    CHECK_EQ(arb_ct_signer_spki(s, &spki, &spki_len), ARB_OK);
    CHECK_EQ(arb_ct_signer_spki(other, &spki2, &spki2_len), ARB_OK);
    CHECK_EQ(arb_ct_checkpoint_sign(&text, &tl, s, "log.example/test", 1234567, 9, root), ARB_OK);
    CHECK_EQ(arb_wallet_checkpoint_parse(&a, origin, text, tl, spki, spki_len, &eb), ARB_OK);
    CHECK_STR(origin, "log.example/test");
    CHECK_EQ(a.tree_size, 9);
    CHECK_EQ(a.timestamp, 1234567);
    CHECK_MEM(a.root, root, 32);
    CHECK(a.sig_len > 0);
    /* The signature it carries is the STH's: the chain's check accepts it. */
    CHECK_EQ(arb_wallet_anchor_build(&b, spki, spki_len, &a, NULL, 0, NULL, 5, &reason, &eb),
             ARB_OK);
    CHECK_STR(chain_check(&b, NULL, 5, &next), "ok");
    CHECK_EQ(next.tree_size, 9);
    /* Another key: no signature of it. */
    CHECK_EQ(arb_wallet_checkpoint_parse(&a, NULL, text, tl, spki2, spki2_len, &eb),
             ARB_ERR_VERIFY);
    /* An altered size. */
    {
        char *p = strchr(text, '\n');
        CHECK(p != NULL && p[1] == '9');
        p[1] = '8';
        CHECK(arb_wallet_checkpoint_parse(&a, NULL, text, tl, spki, spki_len, &eb) != ARB_OK);
        p[1] = '9';
    }
    CHECK(arb_wallet_checkpoint_parse(&a, NULL, "x", 1, spki, spki_len, &eb) != ARB_OK);
    arb_buf_free(&b);
    free(text);
    free(spki);
    free(spki2);
    arb_ct_signer_free(s);
    arb_ct_signer_free(other);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    test_build();
    test_checkpoint();
    arb_sha256_free(sha);
    return arb_test_done();
}
