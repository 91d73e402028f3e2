/* Misbehaviour reports: built from heads signed with a key made here, checked
 * again from the JSON text alone; reports that prove nothing are refused.
 * Also the prefix root a consistency proof carries, against the root of the
 * prefix computed directly, for every pair of sizes up to 40. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auditor/consist.h"
#include "auditor/evidence.h"
#include "tests/test.h"
#include "tests/unit/audit/common.h"

static arb_err check_json(json_t *o, arb_audit_ev_result *res, const uint8_t *expect)
{
    char *t = json_dumps(o, JSON_INDENT(1));
    arb_errbuf eb;
    arb_err e = arb_audit_evidence_check(res, t, strlen(t), expect, &eb);
    free(t);
    return e;
}

static void test_compare(void)
{
    arb_audit_sth a, b;
    int older = -1;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.tree_size = b.tree_size = 5;
    a.timestamp = 1;
    b.timestamp = 2;
    CHECK_EQ(arb_audit_heads_compare(&a, &b, NULL), ARB_AUDIT_HEADS_SAME);
    b.root.b[0] = 1;
    CHECK_EQ(arb_audit_heads_compare(&a, &b, NULL), ARB_AUDIT_HEADS_SPLIT);
    b.tree_size = 7;
    CHECK_EQ(arb_audit_heads_compare(&a, &b, NULL), ARB_AUDIT_HEADS_NEED_PROOF);
    b.tree_size = 3;
    CHECK_EQ(arb_audit_heads_compare(&a, &b, &older), ARB_AUDIT_HEADS_SHRINKING);
    CHECK_EQ(older, 0);
    CHECK_EQ(arb_audit_heads_compare(&b, &a, &older), ARB_AUDIT_HEADS_SHRINKING);
    CHECK_EQ(older, 1);
}

static void test_reports(void)
{
    arb_ct_signer *s = NULL, *other = NULL;
    arb_audit_log lg, lg2;
    arb_audit_sth a, b, c, d, foreign;
    arb_hash r1 = thash(1), r2 = thash(2), proof[2] = {thash(3), thash(4)};
    arb_audit_ev_result res;
    json_t *o;

    CHECK_OR(tlog_new(&s, &lg, "http://127.0.0.1:1/"), );
    CHECK_OR(tlog_new(&other, &lg2, "http://127.0.0.1:2/"), );
    CHECK(tlog_sth(&a, s, 5, 1000, &r1));
    CHECK(tlog_sth(&b, s, 5, 2000, &r2));
    CHECK(tlog_sth(&c, s, 3, 3000, &r2));
    CHECK(tlog_sth(&d, s, 9, 4000, &r2));
    CHECK(tlog_sth(&foreign, other, 5, 2000, &r2));

    /* split view: proves it */
    o = arb_audit_evidence_make(ARB_AUDIT_EV_SPLIT_VIEW, &lg, &a, "log", &b, "peer", NULL, 0,
                                "test", 1);
    CHECK_OR(o != NULL, );
    CHECK_EQ(check_json(o, &res, lg.log_id), ARB_OK);
    CHECK_EQ(res.kind, ARB_AUDIT_EV_SPLIT_VIEW);
    CHECK(arb_audit_sth_equal(&res.heads[0], &a));
    CHECK(strstr(res.reason, "split view") != NULL);
    /* ... but not for another log */
    CHECK_EQ(check_json(o, &res, lg2.log_id), ARB_ERR_VERIFY);
    /* a tampered root in the report breaks the signature */
    {
        json_t *h1 = json_array_get(json_object_get(o, "heads"), 1);
        json_object_set_new(h1, "sha256_root_hash",
                            json_string("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="));
        CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    }
    json_decref(o);

    /* same head twice proves nothing */
    o = arb_audit_evidence_make(ARB_AUDIT_EV_SPLIT_VIEW, &lg, &a, NULL, &a, NULL, NULL, 0, NULL, 1);
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    json_decref(o);
    /* a head signed by another key */
    o = arb_audit_evidence_make(ARB_AUDIT_EV_SPLIT_VIEW, &lg, &a, NULL, &foreign, NULL, NULL, 0,
                                NULL, 1);
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    CHECK(strstr(res.reason, "heads[1]") != NULL);
    json_decref(o);

    /* shrinking tree: b (5 @ 2000) then c (3 @ 3000) */
    o = arb_audit_evidence_make(ARB_AUDIT_EV_SHRINKING, &lg, &b, NULL, &c, NULL, NULL, 0, NULL, 1);
    CHECK_EQ(check_json(o, &res, NULL), ARB_OK);
    CHECK_EQ(res.kind, ARB_AUDIT_EV_SHRINKING);
    json_decref(o);
    o = arb_audit_evidence_make(ARB_AUDIT_EV_SHRINKING, &lg, &c, NULL, &d, NULL, NULL, 0, NULL, 1);
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    json_decref(o);

    /* inconsistent: a proof that does not lead to both roots proves it */
    o = arb_audit_evidence_make(ARB_AUDIT_EV_INCONSISTENT, &lg, &c, NULL, &d, NULL, proof, 2, NULL,
                                1);
    CHECK_OR(o != NULL, );
    CHECK_EQ(json_array_size(json_object_get(o, "consistency_proof")), 2);
    CHECK_EQ(check_json(o, &res, NULL), ARB_OK);
    CHECK_EQ(res.kind, ARB_AUDIT_EV_INCONSISTENT);
    json_decref(o);
    /* ... and a correct proof between two real trees proves nothing */
    {
        arb_hash leaves[9], r3, r9, p[ARB_MERKLE_MAX_PROOF];
        size_t pn = 0;
        arb_audit_sth t3, t9;
        tree_leaves(leaves, 9, 0);
        tree_root(leaves, 3, &r3);
        tree_root(leaves, 9, &r9);
        CHECK(tree_consistency(leaves, 3, 9, p, &pn));
        CHECK(tlog_sth(&t3, s, 3, 5000, &r3));
        CHECK(tlog_sth(&t9, s, 9, 6000, &r9));
        o = arb_audit_evidence_make(ARB_AUDIT_EV_INCONSISTENT, &lg, &t3, NULL, &t9, NULL, p, pn,
                                    NULL, 1);
        CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
        json_decref(o);
        /* one hash changed: proven */
        p[0].b[0] ^= 1;
        o = arb_audit_evidence_make(ARB_AUDIT_EV_INCONSISTENT, &lg, &t3, NULL, &t9, NULL, p, pn,
                                    NULL, 1);
        CHECK_EQ(check_json(o, &res, NULL), ARB_OK);
        json_decref(o);
    }
    /* wrong order is refused whatever the proof */
    o = arb_audit_evidence_make(ARB_AUDIT_EV_INCONSISTENT, &lg, &d, NULL, &c, NULL, proof, 2, NULL,
                                1);
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    json_decref(o);

    arb_audit_log_clear(&lg);
    arb_audit_log_clear(&lg2);
    arb_ct_signer_free(s);
    arb_ct_signer_free(other);
}

/* fork: a smaller head that is not the prefix of a larger one's tree, shown
 * by the prefix root and a consistency proof to the larger root; conclusive
 * whatever the timestamps. Every way it can fail to show it is refused. */
static void test_fork(void)
{
    arb_ct_signer *s = NULL;
    arb_audit_log lg;
    arb_hash la[12], lb[12], ra12, ra7, rb7, ra8, rb8, p[ARB_MERKLE_MAX_PROOF], p8[ARB_MERKLE_MAX_PROOF];
    size_t pn = 0, pn8 = 0;
    arb_audit_sth a12, a7, b7, b8;
    arb_audit_ev_result res;
    json_t *o;

    CHECK_OR(tlog_new(&s, &lg, "https://log.example/"), );
    tree_leaves(la, 12, 0);
    tree_leaves(lb, 12, 1);
    tree_root(la, 12, &ra12);
    tree_root(la, 7, &ra7);
    tree_root(lb, 7, &rb7);
    tree_root(la, 8, &ra8);
    tree_root(lb, 8, &rb8);
    CHECK(tree_consistency(la, 7, 12, p, &pn));
    CHECK(tree_consistency(la, 8, 12, p8, &pn8));
    CHECK(tlog_sth(&a12, s, 12, 9000, &ra12));
    CHECK(tlog_sth(&a7, s, 7, 1000, &ra7));
    CHECK(tlog_sth(&b7, s, 7, 1001, &rb7)); /* signed earlier than a12: not "shrinking" */
    CHECK(tlog_sth(&b8, s, 8, 1002, &rb8));

    o = arb_audit_evidence_make_fork(&lg, &b7, "log", &a12, "verified earlier", &ra7, p, pn,
                                     "fork", 5);
    CHECK_OR(o != NULL, );
    CHECK_STR(json_string_value(json_object_get(o, "kind")), "fork");
    CHECK(json_is_string(json_object_get(o, "prefix_root")));
    CHECK_EQ(check_json(o, &res, lg.log_id), ARB_OK);
    CHECK_EQ(res.kind, ARB_AUDIT_EV_FORK);
    json_decref(o);
    /* a power-of-two size: the proof starts from the prefix root */
    o = arb_audit_evidence_make_fork(&lg, &b8, NULL, &a12, NULL, &ra8, p8, pn8, NULL, 5);
    CHECK_EQ(check_json(o, &res, NULL), ARB_OK);
    json_decref(o);
    /* the honest head is no fork: its root is the prefix root */
    o = arb_audit_evidence_make_fork(&lg, &a7, NULL, &a12, NULL, &ra7, p, pn, NULL, 5);
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    json_decref(o);
    /* a prefix root the proof does not lead from (anyone could claim one) */
    o = arb_audit_evidence_make_fork(&lg, &b7, NULL, &a12, NULL, &rb8, p, pn, NULL, 5);
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    json_decref(o);
    /* a changed proof hash */
    p[pn - 1].b[7] ^= 1;
    o = arb_audit_evidence_make_fork(&lg, &b7, NULL, &a12, NULL, &ra7, p, pn, NULL, 5);
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    json_decref(o);
    p[pn - 1].b[7] ^= 1;
    /* the heads in the wrong order */
    o = arb_audit_evidence_make_fork(&lg, &a12, NULL, &b7, NULL, &ra7, p, pn, NULL, 5);
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
    json_decref(o);
    /* a head not signed by the log */
    {
        arb_audit_sth bad = b7;
        bad.root.b[0] ^= 1;
        o = arb_audit_evidence_make_fork(&lg, &bad, NULL, &a12, NULL, &ra7, p, pn, NULL, 5);
        CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_VERIFY);
        json_decref(o);
    }
    /* prefix_root missing or not a hash */
    o = arb_audit_evidence_make_fork(&lg, &b7, NULL, &a12, NULL, &ra7, p, pn, NULL, 5);
    json_object_set_new(o, "prefix_root", json_string("AAAA"));
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_PARSE);
    json_object_del(o, "prefix_root");
    CHECK_EQ(check_json(o, &res, NULL), ARB_ERR_PARSE);
    json_decref(o);
    arb_audit_log_clear(&lg);
    arb_ct_signer_free(s);
}

/* arb_audit_consistency_old_root against the directly computed prefix
 * root, for 0 < m < n <= 40; powers of two are ARB_ERR_NOT_FOUND. */
static void test_old_root(void)
{
    arb_hash leaves[40], p[ARB_MERKLE_MAX_PROOF], want, got;
    size_t pn = 0;
    arb_errbuf eb;

    tree_leaves(leaves, 40, 3);
    for (uint64_t n = 2; n <= 40; n++)
        for (uint64_t m = 1; m < n; m++) {
            CHECK(tree_consistency(leaves, m, n, p, &pn));
            if ((m & (m - 1)) == 0) {
                CHECK_EQ(arb_audit_consistency_old_root(m, n, p, pn, &got, &eb),
                         ARB_ERR_NOT_FOUND);
                continue;
            }
            tree_root(leaves, m, &want);
            CHECK_EQ(arb_audit_consistency_old_root(m, n, p, pn, &got, &eb), ARB_OK);
            CHECK_MEM(got.b, want.b, 32);
            /* a proof of the wrong length is refused */
            CHECK_EQ(arb_audit_consistency_old_root(m, n, p, pn - 1, &got, &eb), ARB_ERR_VERIFY);
        }
}

static void test_malformed(void)
{
    static const char *const texts[] = {
        "", "{}", "{\"format\":\"arbor-misbehaviour/1\"}",
        ("{\"format\":\"arbor-misbehaviour/1\",\"kind\":\"split-view\",\"log\":{\"key\":\"AAAA\"},"
         "\"heads\":[]}"),
        "{\"format\":\"arbor-misbehaviour/2\",\"kind\":\"split-view\"}",
    };
    arb_audit_ev_result res;
    arb_errbuf eb;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        CHECK_EQ(arb_audit_evidence_check(&res, texts[i], strlen(texts[i]), NULL, &eb),
                 ARB_ERR_PARSE);
}

int main(void)
{
    test_compare();
    test_reports();
    test_fork();
    test_old_root();
    test_malformed();
    return arb_test_done();
}
