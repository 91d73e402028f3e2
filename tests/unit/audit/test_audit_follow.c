/* The follower's checks against scripted log answers served on 127.0.0.1 by
 * an HTTP server in this test (each answer is set by the test before a poll,
 * heads signed with a key made here): first head, newer re-signed head, bad
 * signature, non-JSON, truncated JSON and HTTP errors, a split view, a
 * shrinking tree, a rolled-back head (its consistency proof asked for; an
 * honest one named, a fork shown as an older head a fork report), a tree
 * that grows (consistency proof asked for), state kept across a restart, gossiped heads, and entry
 * download with domain matching and precert/final de-duplication.
 * This exercises the auditor's reactions; following a real arbord is the
 * integration test's job. */
#include <pthread.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auditor/evidence.h"
#include "auditor/follow.h"
#include "ledger/api/http.h"
#include "ledger/log/ct.h"
#include "merkle/buf.h"
#include "merkle/range.h"
#include "tests/test.h"
#include "tests/unit/audit/common.h"
#include "tests/unit/log/pki.h"

/* ---- the scripted server ---- */

static pthread_mutex_t script_lock = PTHREAD_MUTEX_INITIALIZER;
static int sth_status = 200, cons_status = 200, ent_status = 200;
static char *sth_body, *cons_body, *ent_body;
static int cons_calls;
static char last_cons_query[128];

static void set_body(char **slot, int *status, int st, const char *body)
{
    pthread_mutex_lock(&script_lock);
    free(*slot);
    *slot = strdup(body);
    *status = st;
    pthread_mutex_unlock(&script_lock);
}

static void serve(arb_http_req *req, char **slot, int *status)
{
    char *b;
    int st;
    pthread_mutex_lock(&script_lock);
    b = strdup(*slot ? *slot : "");
    st = *status;
    pthread_mutex_unlock(&script_lock);
    (void)arb_http_respond(req, st, NULL, NULL, b, strlen(b));
    free(b);
}

static void h_sth(void *ud, arb_http_req *req)
{
    (void)ud;
    serve(req, &sth_body, &sth_status);
}

static void h_cons(void *ud, arb_http_req *req)
{
    const char *first = arb_http_req_query(req, "first"), *second = arb_http_req_query(req, "second");
    (void)ud;
    pthread_mutex_lock(&script_lock);
    cons_calls++;
    snprintf(last_cons_query, sizeof last_cons_query, "%s,%s", first ? first : "",
             second ? second : "");
    pthread_mutex_unlock(&script_lock);
    serve(req, &cons_body, &cons_status);
}

static void h_entries(void *ud, arb_http_req *req)
{
    (void)ud;
    serve(req, &ent_body, &ent_status);
}

/* Serves sth as get-sth JSON. */
static void serve_sth(const arb_audit_sth *s)
{
    json_t *o = arb_audit_sth_to_json(s);
    char *t = json_dumps(o, JSON_COMPACT);
    set_body(&sth_body, &sth_status, 200, t);
    free(t);
    json_decref(o);
}

/* ---- events ---- */

typedef struct {
    int heads, matches, problems, misbehaviour, progress, verified, repeated;
    char last_problem[64];
    char last_kind[64];
    char last_match[256];
    char evidence_path[1200];
    uint64_t last_match_index;
} events;

/* Report files in the state directory's evidence folder. */
static int count_reports(const char *state)
{
    char path[1024];
    DIR *d;
    struct dirent *de;
    int n = 0;

    snprintf(path, sizeof path, "%s/evidence", state);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void on_event(void *ud, const arb_audit_event *ev)
{
    events *e = ud;
    switch (ev->type) {
    case ARB_AUDIT_EVENT_HEAD:
        e->heads++;
        break;
    case ARB_AUDIT_EVENT_MATCH:
        e->matches++;
        e->last_match_index = ev->index;
        snprintf(e->last_match, sizeof e->last_match, "%s", ev->name);
        break;
    case ARB_AUDIT_EVENT_PROBLEM:
        e->problems++;
        snprintf(e->last_problem, sizeof e->last_problem, "%s", ev->problem);
        break;
    case ARB_AUDIT_EVENT_MISBEHAVIOUR:
        e->misbehaviour++;
        snprintf(e->last_kind, sizeof e->last_kind, "%s", ev->problem);
        snprintf(e->evidence_path, sizeof e->evidence_path, "%s",
                 ev->evidence_path ? ev->evidence_path : "");
        e->repeated = ev->repeated;
        break;
    case ARB_AUDIT_EVENT_PROGRESS:
        e->progress++;
        break;
    case ARB_AUDIT_EVENT_VERIFIED:
        e->verified++;
        break;
    case ARB_AUDIT_EVENT_ANCHORED: /* no --chain here (test_anchor_node has it) */
        break;
    }
}

/* The evidence file written for the last misbehaviour proves it. */
static int evidence_proves(const events *e, const uint8_t *log_id)
{
    size_t len;
    uint8_t *t = arb_test_read_file(e->evidence_path, &len);
    arb_audit_ev_result res;
    arb_errbuf eb;
    arb_err err;
    if (t == NULL)
        return 0;
    err = arb_audit_evidence_check(&res, (const char *)t, len, log_id, &eb);
    free(t);
    return err == ARB_OK;
}

/* The scripted log serves real data tiles without their issuers. */
static int no_issuer_check;

static arb_audit_follower *mk(const arb_audit_loglist *l, const char *dir, events *e, int dl,
                              const char *const *watch, size_t nwatch)
{
    arb_audit_follow_cfg cfg;
    arb_audit_follower *f = NULL;
    arb_errbuf eb;
    memset(&cfg, 0, sizeof cfg);
    cfg.state_dir = dir;
    cfg.download = dl;
    cfg.no_issuer_check = no_issuer_check;
    cfg.watch = watch;
    cfg.nwatch = nwatch;
    cfg.timeout_ms = 5000;
    cfg.on_event = on_event;
    cfg.ud = e;
    if (arb_audit_follower_new(&f, l, &cfg, &eb) != ARB_OK) {
        fprintf(stderr, "follower: %s\n", eb.msg);
        return NULL;
    }
    return f;
}

static size_t poll1(arb_audit_follower *f)
{
    size_t p = 99;
    if (arb_audit_follower_poll(f, &p) != ARB_OK)
        return 999;
    return p;
}

static void test_heads(const char *url, const char *dir)
{
    arb_ct_signer *s = NULL, *other = NULL;
    arb_audit_loglist l = {NULL, 0};
    arb_audit_log lo;
    arb_audit_sth h0, h0b, bad, h5, h5x, h3, h3old, h8, got;
    arb_hash empty = {{0}}, r5 = thash(5), r5x = thash(0x55), r3 = thash(3), r8 = thash(8);
    arb_audit_follower *f;
    events e;

    memset(&e, 0, sizeof e);
    l.logs = calloc(1, sizeof *l.logs);
    l.n = 1;
    CHECK_OR(tlog_new(&s, &l.logs[0], url), );
    CHECK_OR(tlog_new(&other, &lo, url), );
    {
        arb_sha256 *h = NULL;
        CHECK_OR(arb_sha256_new(&h) == ARB_OK, );
        arb_sha256_digest(h, empty.b, "", 0);
        arb_sha256_free(h);
    }
    CHECK(tlog_sth(&h0, s, 0, 1000, &empty));
    CHECK(tlog_sth(&h0b, s, 0, 2000, &empty));
    CHECK(tlog_sth(&bad, other, 0, 3000, &empty));
    CHECK(tlog_sth(&h5, s, 5, 4000, &r5));
    CHECK(tlog_sth(&h5x, s, 5, 4500, &r5x));
    CHECK(tlog_sth(&h3, s, 3, 5000, &r3));
    CHECK(tlog_sth(&h3old, s, 3, 3500, &r3));
    CHECK(tlog_sth(&h8, s, 8, 6000, &r8));
    f = mk(&l, dir, &e, 0, NULL, 0);
    CHECK_OR(f != NULL, );

    /* first head: trusted on first use */
    serve_sth(&h0);
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(e.heads, 1);
    /* the same tree re-signed later */
    serve_sth(&h0b);
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(e.heads, 2);
    /* bad signature */
    serve_sth(&bad);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "bad-signature");
    /* not JSON, truncated JSON, a missing member, HTTP errors */
    set_body(&sth_body, &sth_status, 200, "<html>oops</html>");
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "bad-answer");
    set_body(&sth_body, &sth_status, 200, "{\"tree_size\":5,\"timestamp\":1");
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "bad-answer");
    set_body(&sth_body, &sth_status, 200, "{\"tree_size\":5,\"timestamp\":1}");
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "bad-answer");
    set_body(&sth_body, &sth_status, 503, "{\"error\":\"busy\"}");
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "unreachable");
    CHECK_EQ(e.heads, 2);
    /* growth from the empty tree needs no proof */
    serve_sth(&h5);
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(e.heads, 3);
    CHECK_EQ(cons_calls, 0);
    /* same size, another root: split view, with a report that proves it */
    serve_sth(&h5x);
    CHECK_EQ(poll1(f), 1);
    CHECK_EQ(e.misbehaviour, 1);
    CHECK_STR(e.last_kind, "split-view");
    CHECK(!e.repeated);
    CHECK(evidence_proves(&e, l.logs[0].log_id));
    /* smaller and signed later: the tree shrank */
    serve_sth(&h3);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_kind, "shrinking-tree");
    CHECK(evidence_proves(&e, l.logs[0].log_id));
    /* smaller and signed earlier: checked like any other pair, with a
     * consistency proof 3 -> 5 (test_rollback has real trees); a log that
     * cannot give it (it may have lost the newer tree) is a rollback */
    set_body(&cons_body, &cons_status, 503, "{\"error\":\"busy\"}");
    serve_sth(&h3old);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "rollback");
    CHECK_EQ(e.misbehaviour, 2);
    CHECK_EQ(cons_calls, 1);
    CHECK_STR(last_cons_query, "3,5");
    /* growth 5 -> 8: the consistency proof is asked for in that direction */
    serve_sth(&h8);
    set_body(&cons_body, &cons_status, 200, "not json");
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "bad-answer");
    CHECK_EQ(cons_calls, 2);
    CHECK_STR(last_cons_query, "5,8");
    set_body(&cons_body, &cons_status, 200, "{\"consistency\":[\"AAAA\"]}");
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "bad-answer");
    /* the head did not move past what was verified */
    CHECK_EQ(arb_audit_follower_head(f, l.logs[0].log_id, &got), ARB_OK);
    CHECK(arb_audit_sth_equal(&got, &h5));

    /* gossip: a peer's head of the same size with another root: the pair
     * already reported above, so the same report is named, no new file */
    CHECK_EQ(arb_audit_follower_check_head(f, l.logs[0].log_id, &h5x, "http://peer/"),
             ARB_ERR_VERIFY);
    CHECK_STR(e.last_kind, "split-view");
    CHECK(e.repeated);
    CHECK(evidence_proves(&e, l.logs[0].log_id));
    CHECK_EQ(count_reports(dir), 2); /* split view and shrinking tree */
    CHECK_EQ(arb_audit_follower_check_head(f, l.logs[0].log_id, &h5, "http://peer/"), ARB_OK);
    CHECK_EQ(arb_audit_follower_check_head(f, l.logs[0].log_id, &bad, "http://peer/"),
             ARB_ERR_VERIFY);
    CHECK_STR(e.last_problem, "gossip-bad-signature");
    CHECK_EQ(arb_audit_follower_check_head(f, lo.log_id, &h5, "http://peer/"), ARB_ERR_NOT_FOUND);
    {
        json_t *hj = arb_audit_follower_heads_json(f);
        CHECK_EQ(json_array_size(json_object_get(hj, "heads")), 1);
        json_decref(hj);
    }
    arb_audit_follower_free(f);

    /* restart: the verified head is still there */
    f = mk(&l, dir, &e, 0, NULL, 0);
    CHECK_OR(f != NULL, );
    CHECK_EQ(arb_audit_follower_head(f, l.logs[0].log_id, &got), ARB_OK);
    CHECK(arb_audit_sth_equal(&got, &h5));
    serve_sth(&h5x);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_kind, "split-view");
    CHECK(e.repeated); /* remembered across the restart */
    CHECK_EQ(count_reports(dir), 2);
    arb_audit_follower_free(f);

    arb_audit_loglist_free(&l);
    arb_audit_log_clear(&lo);
    arb_ct_signer_free(s);
    arb_ct_signer_free(other);
}

/* ---- entries ---- */

static X509 *make_cert(EVP_PKEY *k, const char *cn, const char *san, int poison, long serial)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_NAME_free(n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (poison) {
        ext = X509V3_EXT_conf(NULL, &ctx, "1.3.6.1.4.1.11129.2.4.3", "critical,ASN1:NULL");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, k, EVP_sha256());
    return x;
}

/* {"leaf_input": b64(MerkleTreeLeaf), "extra_data": ""} */
static json_t *entry_json(const uint8_t *der, size_t len, int precert, arb_hash *lh)
{
    arb_ct_leaf leaf;
    arb_buf b = ARB_BUF_INIT;
    char *li;
    json_t *o;
    memset(&leaf, 0, sizeof leaf);
    leaf.timestamp = 1000;
    leaf.entry.entry_type = precert ? ARB_CT_ENTRY_PRECERT : ARB_CT_ENTRY_X509;
    leaf.entry.cert = der;
    leaf.entry.cert_len = len;
    if (arb_ct_leaf_encode(&b, &leaf) != ARB_OK)
        return NULL;
    {
        arb_sha256 *h = NULL;
        if (arb_sha256_new(&h) == ARB_OK)
            arb_merkle_leaf_hash(h, lh, b.data, b.len);
        arb_sha256_free(h);
    }
    li = arb_base64_encode(b.data, b.len);
    o = json_pack("{s:s, s:s}", "leaf_input", li, "extra_data", "");
    free(li);
    arb_buf_free(&b);
    return o;
}

static void test_entries(const char *url, const char *dir)
{
    arb_ct_signer *s = NULL;
    arb_audit_loglist l = {NULL, 0};
    arb_audit_sth h3;
    arb_hash r = thash(7), lh[3];
    EVP_PKEY *k = pki_key();
    X509 *pre = make_cert(k, "www.example.com", "DNS:www.example.com", 1, 9);
    X509 *fin = make_cert(k, "www.example.com", "DNS:www.example.com", 0, 9);
    X509 *oth = make_cert(k, "mail.example.org", "DNS:mail.example.org", 0, 10);
    size_t pl, fl, ol, tl;
    uint8_t *pd = pki_der(pre, &pl), *fd = pki_der(fin, &fl), *od = pki_der(oth, &ol);
    const uint8_t *tbs;
    const char *watch[] = {"example.com"};
    json_t *ents;
    char *t;
    events e;
    arb_audit_follower *f;

    memset(&e, 0, sizeof e);
    l.logs = calloc(1, sizeof *l.logs);
    l.n = 1;
    CHECK_OR(tlog_new(&s, &l.logs[0], url), );
    CHECK_OR(pd && fd && od && pki_raw_tbs(pd, pl, &tbs, &tl), );
    ents = json_pack("{s:[o, o, o]}", "entries", entry_json(tbs, tl, 1, &lh[0]),
                     entry_json(od, ol, 0, &lh[1]), entry_json(fd, fl, 0, &lh[2]));
    t = json_dumps(ents, JSON_COMPACT);
    set_body(&ent_body, &ent_status, 200, t);
    free(t);
    json_decref(ents);
    tree_root(lh, 3, &r); /* the entries must hash to the signed root */
    CHECK(tlog_sth(&h3, s, 3, 1000, &r));
    serve_sth(&h3);
    f = mk(&l, dir, &e, 1, watch, 1);
    CHECK_OR(f != NULL, );
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(e.matches, 1); /* the precert; its final certificate is the same one */
    CHECK_EQ(e.last_match_index, 0);
    CHECK_STR(e.last_match, "www.example.com");
    CHECK(e.progress >= 1);
    CHECK_EQ(e.verified, 1);
    /* nothing new on the next round, and nothing new after a restart */
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(e.matches, 1);
    arb_audit_follower_free(f);
    f = mk(&l, dir, &e, 1, watch, 1);
    CHECK_OR(f != NULL, );
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(e.matches, 1);
    arb_audit_follower_free(f);

    /* entries that do not hash to the signed root are named, and fetched again */
    {
        char d3[700];
        arb_audit_sth wrong;
        arb_hash other = thash(9);
        snprintf(d3, sizeof d3, "%s3", dir);
        CHECK(tlog_sth(&wrong, s, 3, 1000, &other));
        serve_sth(&wrong);
        f = mk(&l, d3, &e, 1, watch, 1);
        CHECK_OR(f != NULL, );
        e.verified = 0;
        CHECK_EQ(poll1(f), 1);
        CHECK_STR(e.last_problem, "root-mismatch");
        CHECK_EQ(poll1(f), 1);
        CHECK_STR(e.last_problem, "root-mismatch");
        CHECK_EQ(e.verified, 0);
        arb_audit_follower_free(f);
        serve_sth(&h3);
    }
    /* a log that answers entries with garbage is named */
    {
        char d2[700];
        snprintf(d2, sizeof d2, "%s2", dir);
        set_body(&ent_body, &ent_status, 200, "{\"entries\":[{\"leaf_input\":\"AAAA\",\"extra_data\":\"\"}]}");
        f = mk(&l, d2, &e, 1, watch, 1);
        CHECK_OR(f != NULL, );
        CHECK_EQ(poll1(f), 1);
        CHECK_STR(e.last_problem, "bad-entries");
        arb_audit_follower_free(f);
    }
    free(pd);
    free(fd);
    free(od);
    X509_free(pre);
    X509_free(fin);
    X509_free(oth);
    EVP_PKEY_free(k);
    arb_audit_loglist_free(&l);
    arb_ct_signer_free(s);
}

/* A growing tree with real roots: 5 -> 8 with the log's correct proof is
 * accepted; 8 -> 10 with one proof hash changed is an "inconsistent" report
 * that verify-evidence's check accepts. */
static void test_growth(const char *url, const char *dir)
{
    arb_ct_signer *s = NULL;
    arb_audit_loglist l = {NULL, 0};
    arb_hash leaves[10], r5, r8, r10, p[ARB_MERKLE_MAX_PROOF];
    size_t pn = 0;
    arb_audit_sth h5, h8, h10, got;
    arb_audit_follower *f;
    events e;
    json_t *o, *arr;
    char *t;

    memset(&e, 0, sizeof e);
    l.logs = calloc(1, sizeof *l.logs);
    l.n = 1;
    CHECK_OR(tlog_new(&s, &l.logs[0], url), );
    tree_leaves(leaves, 10, 0);
    tree_root(leaves, 5, &r5);
    tree_root(leaves, 8, &r8);
    tree_root(leaves, 10, &r10);
    CHECK(tlog_sth(&h5, s, 5, 1000, &r5));
    CHECK(tlog_sth(&h8, s, 8, 2000, &r8));
    CHECK(tlog_sth(&h10, s, 10, 3000, &r10));
    f = mk(&l, dir, &e, 0, NULL, 0);
    CHECK_OR(f != NULL, );
    serve_sth(&h5);
    CHECK_EQ(poll1(f), 0);
    CHECK(tree_consistency(leaves, 5, 8, p, &pn));
    arr = json_array();
    for (size_t i = 0; i < pn; i++) {
        char *b = arb_base64_encode(p[i].b, 32);
        json_array_append_new(arr, json_string(b));
        free(b);
    }
    o = json_pack("{s:o}", "consistency", arr);
    t = json_dumps(o, 0);
    set_body(&cons_body, &cons_status, 200, t);
    free(t);
    json_decref(o);
    serve_sth(&h8);
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(arb_audit_follower_head(f, l.logs[0].log_id, &got), ARB_OK);
    CHECK(arb_audit_sth_equal(&got, &h8));
    /* 8 -> 10 with a changed hash */
    CHECK(tree_consistency(leaves, 8, 10, p, &pn));
    p[0].b[5] ^= 1;
    arr = json_array();
    for (size_t i = 0; i < pn; i++) {
        char *b = arb_base64_encode(p[i].b, 32);
        json_array_append_new(arr, json_string(b));
        free(b);
    }
    o = json_pack("{s:o}", "consistency", arr);
    t = json_dumps(o, 0);
    set_body(&cons_body, &cons_status, 200, t);
    free(t);
    json_decref(o);
    serve_sth(&h10);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_kind, "inconsistent");
    CHECK(evidence_proves(&e, l.logs[0].log_id));
    CHECK_EQ(arb_audit_follower_head(f, l.logs[0].log_id, &got), ARB_OK);
    CHECK(arb_audit_sth_equal(&got, &h8));
    arb_audit_follower_free(f);
    arb_audit_loglist_free(&l);
    arb_ct_signer_free(s);
}

/* A static-ct-api log: its published checkpoint served at /checkpoint. */
static char *ckpt_body;
static int ckpt_status = 200;

static void h_ckpt(void *ud, arb_http_req *req)
{
    (void)ud;
    serve(req, &ckpt_body, &ckpt_status);
}

static void test_tiled(const char *url, const char *dir)
{
    size_t nl, ll;
    uint8_t *note = arb_test_read_vector("ct/static_ct/rome2026h1_test/checkpoint", &nl);
    uint8_t *lj = arb_test_read_vector("ct/static_ct/rome2026h1_test/log.v3.json", &ll);
    json_t *log = lj ? json_loadb((const char *)lj, ll, 0, NULL) : NULL, *list;
    char *text, *bad;
    arb_audit_loglist l;
    arb_errbuf eb;
    arb_audit_follower *f;
    arb_audit_sth got;
    events e;

    memset(&e, 0, sizeof e);
    CHECK_OR(note && log, );
    /* the log list entry, pointed at this test's server */
    json_object_set_new(log, "monitoring_url", json_string(url));
    list = json_pack("{s:[{s:s, s:[O]}]}", "operators", "name", "Geomys", "tiled_logs", log);
    text = json_dumps(list, 0);
    CHECK_EQ(arb_audit_loglist_parse(&l, text, strlen(text), &eb), ARB_OK);
    free(text);
    CHECK_STR(l.logs[0].origin, "rome2026h1.example.org");
    set_body(&ckpt_body, &ckpt_status, 200, (const char *)note);
    f = mk(&l, dir, &e, 0, NULL, 0);
    CHECK_OR(f != NULL, );
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(e.heads, 1);
    CHECK_EQ(arb_audit_follower_head(f, l.logs[0].log_id, &got), ARB_OK);
    CHECK_EQ(got.tree_size, 300);
    /* a damaged signature */
    bad = strdup((const char *)note);
    bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
    set_body(&ckpt_body, &ckpt_status, 200, bad);
    free(bad);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "bad-signature");
    arb_audit_follower_free(f);
    arb_audit_loglist_free(&l);
    json_decref(list);
    json_decref(log);
    free(lj);
    free(note);
}

#include "merkle/checkpoint.h"
#include "merkle/tile.h"
#include "auditor/sct.h"

static char *pbh_body;
static int pbh_status = 200;

static void h_pbh(void *ud, arb_http_req *req)
{
    (void)ud;
    serve(req, &pbh_body, &pbh_status);
}

/* check-sct's inclusion step: an SCT signed by the test log for a
 * certificate, the log's tree holding its leaf at index 3 of 7, and the
 * log's inclusion proof (made by the Merkle library) - proven; with one hash
 * changed - failed; before the merge delay - pending. */
static void test_sct_inclusion(const char *url)
{
    arb_ct_signer *s = NULL;
    arb_audit_loglist l = {NULL, 0};
    uint8_t sigbuf[ARB_CT_SIG_MAX];
    arb_ct_sct sct;
    arb_ct_signed_entry entry;
    const uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x07}; /* any bytes: the log signs them */
    arb_buf sb = ARB_BUF_INIT;
    arb_audit_sct_result r;
    arb_hash leaves[7], root, path[ARB_MERKLE_MAX_PROOF];
    size_t pn = 0;
    arb_audit_sth sth;
    arb_audit_client *c = NULL;
    arb_errbuf eb;
    uint64_t ts = 1000000;

    l.logs = calloc(1, sizeof *l.logs);
    l.n = 1;
    CHECK_OR(tlog_new(&s, &l.logs[0], url), );
    memset(&entry, 0, sizeof entry);
    entry.entry_type = ARB_CT_ENTRY_X509;
    entry.cert = cert;
    entry.cert_len = sizeof cert;
    CHECK_OR(arb_ct_sct_sign(s, &sct, sigbuf, ts, &entry, NULL, 0) == ARB_OK, );
    CHECK_OR(arb_ct_sct_encode(&sb, &sct) == ARB_OK, );
    CHECK_EQ(arb_audit_sct_check_x509(&r, cert, sizeof cert, sb.data, sb.len, &l, &eb), ARB_OK);
    CHECK(r.sig_ok);
    tree_leaves(leaves, 7, 3);
    leaves[3] = r.leaf_hash;
    tree_root(leaves, 7, &root);
    {
        tleaves t = {leaves, 7, NULL};
        arb_merkle_source src = {tleaves_node, &t};
        CHECK_OR(arb_sha256_new(&t.h) == ARB_OK, );
        CHECK(arb_merkle_inclusion_build(t.h, &src, 3, 7, path, &pn) == ARB_OK);
        arb_sha256_free(t.h);
    }
    CHECK(tlog_sth(&sth, s, 7, ts + 120000, &root));
    serve_sth(&sth);
    for (int round = 0; round < 2; round++) {
        json_t *arr = json_array(), *o;
        char *t;
        for (size_t i = 0; i < pn; i++) {
            char *b = arb_base64_encode(path[i].b, 32);
            json_array_append_new(arr, json_string(b));
            free(b);
        }
        o = json_pack("{s:i, s:o}", "leaf_index", 3, "audit_path", arr);
        t = json_dumps(o, 0);
        set_body(&pbh_body, &pbh_status, 200, t);
        free(t);
        json_decref(o);
        CHECK_OR(arb_audit_client_new(&c, 5000) == ARB_OK, );
        CHECK_EQ(arb_audit_sct_inclusion(c, &r, ts + 61000), ARB_OK);
        arb_audit_client_free(c);
        if (round == 0) {
            CHECK_EQ(r.inclusion, ARB_AUDIT_INCL_PROVEN);
            CHECK_EQ(r.leaf_index, 3);
            path[1].b[0] ^= 1;
        } else {
            CHECK_EQ(r.inclusion, ARB_AUDIT_INCL_FAILED);
        }
    }
    CHECK_OR(arb_audit_client_new(&c, 5000) == ARB_OK, );
    /* Within the merge delay a bad proof is still a failure... */
    CHECK_EQ(arb_audit_sct_inclusion(c, &r, ts + 59000), ARB_OK);
    CHECK_EQ(r.inclusion, ARB_AUDIT_INCL_FAILED);
    /* ...but a leaf the log does not know yet is pending, and a failure
     * after the merge delay. */
    set_body(&pbh_body, &pbh_status, 404, "{\"error\":\"not found\"}");
    CHECK_EQ(arb_audit_sct_inclusion(c, &r, ts + 59000), ARB_OK);
    CHECK_EQ(r.inclusion, ARB_AUDIT_INCL_PENDING);
    CHECK_EQ(arb_audit_sct_inclusion(c, &r, ts + 61000), ARB_OK);
    CHECK_EQ(r.inclusion, ARB_AUDIT_INCL_FAILED);
    arb_audit_client_free(c);
    arb_buf_free(&sb);
    arb_audit_loglist_free(&l);
    arb_ct_signer_free(s);
}

/* Level-0 hash tiles of the tree the test serves (sizes < 256). */
static const arb_hash *tile_leaves;
static size_t tile_count;

/* Data tiles: the real full tiles data/000 and data/001 of navigli2025h2;
 * partial data tiles are gone (404). */
static int serve_data_tiles;
static int data_partial_asked;

static void h_data_tile(arb_http_req *req, const arb_tile *t)
{
    char rel[128];
    uint8_t *d;
    size_t dl;
    int on;
    pthread_mutex_lock(&script_lock);
    on = serve_data_tiles;
    if (t->width < 256)
        data_partial_asked++;
    pthread_mutex_unlock(&script_lock);
    snprintf(rel, sizeof rel, "ct/static_ct/navigli2025h2_real/tile/data/%03u",
             (unsigned)t->index);
    if (!on || t->width < 256 || t->index > 1 || (d = arb_test_read_vector(rel, &dl)) == NULL) {
        (void)arb_http_respond_error(req, 404, "no_tile", "no such tile");
        return;
    }
    (void)arb_http_respond(req, 200, "application/octet-stream", NULL, d, dl);
    free(d);
}

static void h_tile(void *ud, arb_http_req *req)
{
    const char *path = arb_http_req_path(req) + 1; /* "tile/0/000.p/9" */
    arb_tile t;
    const arb_hash *lv;
    size_t n;
    (void)ud;
    pthread_mutex_lock(&script_lock);
    lv = tile_leaves;
    n = tile_count;
    pthread_mutex_unlock(&script_lock);
    if (arb_tile_path_parse(&t, path, strlen(path)) == ARB_OK && t.kind == ARB_TILE_DATA) {
        h_data_tile(req, &t);
        return;
    }
    if (arb_tile_path_parse(&t, path, strlen(path)) != ARB_OK || t.kind != ARB_TILE_HASH ||
        t.level != 0 || t.index != 0 || t.width > n) {
        (void)arb_http_respond_error(req, 404, "no_tile", "no such tile");
        return;
    }
    (void)arb_http_respond(req, 200, "application/octet-stream", NULL, lv, (size_t)t.width * 32);
}

static void serve_checkpoint(const arb_note_signer *ns, const char *origin, uint64_t size,
                             const arb_hash *root, uint64_t ms)
{
    arb_checkpoint cp;
    uint8_t *note = NULL;
    size_t nl = 0;
    arb_errbuf eb;
    char *t;
    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)origin;
    cp.size = size;
    cp.root = *root;
    cp.ext = (char *)"";
    if (arb_checkpoint_sign(&note, &nl, &cp, &ns, 1, ms, &eb) != ARB_OK)
        return;
    t = malloc(nl + 1);
    memcpy(t, note, nl);
    t[nl] = 0;
    set_body(&ckpt_body, &ckpt_status, 200, t);
    free(t);
    free(note);
}

static void test_tiled_growth(const char *url, const char *dir)
{
    arb_ct_signer *s = NULL;
    arb_note_signer *ns = NULL;
    arb_audit_loglist l = {NULL, 0};
    static arb_hash leaves[12], fork[12];
    arb_hash r5, r9, f12;
    char *pem = NULL;
    size_t pem_len, spki_len;
    uint8_t *spki = NULL;
    arb_errbuf eb;
    arb_audit_follower *f;
    arb_audit_sth got;
    events e;

    memset(&e, 0, sizeof e);
    l.logs = calloc(1, sizeof *l.logs);
    l.n = 1;
    CHECK_OR(arb_ct_signer_generate(&s, &eb) == ARB_OK &&
                 arb_ct_signer_private_pem(s, &pem, &pem_len) == ARB_OK &&
                 arb_ct_signer_spki(s, &spki, &spki_len) == ARB_OK, );
    CHECK_OR(arb_audit_log_from_key(&l.logs[0], url, 1, spki, spki_len, 60, &eb) == ARB_OK, );
    CHECK_OR(arb_note_signer_rfc6962(&ns, l.logs[0].origin, (const uint8_t *)pem, pem_len, &eb) ==
                 ARB_OK, );
    tree_leaves(leaves, 12, 0);
    memcpy(fork, leaves, sizeof fork);
    tree_leaves(fork + 7, 5, 9); /* leaves 7.. differ */
    tree_root(leaves, 5, &r5);
    tree_root(leaves, 9, &r9);
    tree_root(fork, 12, &f12);
    pthread_mutex_lock(&script_lock);
    tile_leaves = leaves;
    tile_count = 12;
    pthread_mutex_unlock(&script_lock);
    f = mk(&l, dir, &e, 0, NULL, 0);
    CHECK_OR(f != NULL, );
    serve_checkpoint(ns, l.logs[0].origin, 5, &r5, 1000);
    CHECK_EQ(poll1(f), 0);
    serve_checkpoint(ns, l.logs[0].origin, 9, &r9, 2000);
    CHECK_EQ(poll1(f), 0);
    CHECK_EQ(arb_audit_follower_head(f, l.logs[0].log_id, &got), ARB_OK);
    CHECK_EQ(got.tree_size, 9);
    /* the log now serves a tree that rewrote leaf 7 and up */
    pthread_mutex_lock(&script_lock);
    tile_leaves = fork;
    pthread_mutex_unlock(&script_lock);
    serve_checkpoint(ns, l.logs[0].origin, 12, &f12, 3000);
    CHECK_EQ(poll1(f), 1);
    /* the log's own hash tiles of the tree of 12 give its root at size 9,
     * which is not the verified one: a fork, conclusive offline */
    CHECK_STR(e.last_kind, "fork");
    CHECK(evidence_proves(&e, l.logs[0].log_id));
    /* tiles that are missing are named, not taken as proof */
    pthread_mutex_lock(&script_lock);
    tile_count = 3;
    pthread_mutex_unlock(&script_lock);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "unreachable");
    arb_audit_follower_free(f);
    pthread_mutex_lock(&script_lock);
    tile_leaves = NULL;
    tile_count = 0;
    pthread_mutex_unlock(&script_lock);
    arb_audit_loglist_free(&l);
    arb_note_signer_free(ns);
    arb_ct_signer_free(s);
    free(pem);
    free(spki);
}

/* --download of a static-ct-api log whose partial data tile is gone: the
 * full tile is read instead and only its first entries are used; the real
 * entries rehash to the checkpoint's root. A checkpoint whose root is not
 * that of the entries is a root-mismatch. */
static void test_tiled_download(const char *url, const char *dir)
{
    arb_ct_signer *s = NULL;
    arb_note_signer *ns = NULL;
    arb_audit_loglist l = {NULL, 0};
    char *pem = NULL;
    size_t pem_len, spki_len, hl0, hl1;
    uint8_t *spki = NULL;
    uint8_t *h0 = arb_test_read_vector("ct/static_ct/navigli2025h2_real/tile/0/000", &hl0);
    uint8_t *h1 = arb_test_read_vector("ct/static_ct/navigli2025h2_real/tile/0/001", &hl1);
    arb_merkle_range r;
    arb_sha256 *sha = NULL;
    arb_hash root, bad;
    arb_errbuf eb;
    arb_audit_follower *f;
    events e;

    memset(&e, 0, sizeof e);
    CHECK_OR(h0 && h1 && hl0 == 8192 && hl1 == 8192 && arb_sha256_new(&sha) == ARB_OK, );
    /* the root of entries 0..265 from the log's own level-0 tiles */
    arb_merkle_range_init(&r);
    CHECK_OR(arb_merkle_range_append_many(&r, sha, (const arb_hash *)h0, 256) == ARB_OK &&
                 arb_merkle_range_append_many(&r, sha, (const arb_hash *)h1, 10) == ARB_OK, );
    arb_merkle_range_root(&r, sha, &root);
    l.logs = calloc(1, sizeof *l.logs);
    l.n = 1;
    CHECK_OR(arb_ct_signer_generate(&s, &eb) == ARB_OK &&
                 arb_ct_signer_private_pem(s, &pem, &pem_len) == ARB_OK &&
                 arb_ct_signer_spki(s, &spki, &spki_len) == ARB_OK, );
    CHECK_OR(arb_audit_log_from_key(&l.logs[0], url, 1, spki, spki_len, 60, &eb) == ARB_OK, );
    CHECK_OR(arb_note_signer_rfc6962(&ns, l.logs[0].origin, (const uint8_t *)pem, pem_len, &eb) ==
                 ARB_OK, );
    pthread_mutex_lock(&script_lock);
    serve_data_tiles = 1;
    data_partial_asked = 0;
    pthread_mutex_unlock(&script_lock);
    /* Their issuers are not among the vectors: with the check, the download
     * stops at the first entry (bad-entries). */
    no_issuer_check = 0;
    {
        char d0[700];
        snprintf(d0, sizeof d0, "%s-issuers", dir);
        f = mk(&l, d0, &e, 1, NULL, 0);
        CHECK_OR(f != NULL, );
        serve_checkpoint(ns, l.logs[0].origin, 266, &root, 500);
        CHECK_EQ(poll1(f), 1);
        CHECK_STR(e.last_problem, "bad-entries");
        arb_audit_follower_free(f);
    }
    no_issuer_check = 1;
    f = mk(&l, dir, &e, 1, NULL, 0);
    CHECK_OR(f != NULL, );
    /* first a checkpoint that lies about the root */
    bad = root;
    bad.b[0] ^= 1;
    serve_checkpoint(ns, l.logs[0].origin, 266, &bad, 1000);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "root-mismatch");
    arb_audit_follower_free(f);
    /* a fresh auditor, the true root */
    snprintf(e.last_problem, sizeof e.last_problem, "%s", "");
    {
        char d2[700];
        snprintf(d2, sizeof d2, "%s-2", dir);
        f = mk(&l, d2, &e, 1, NULL, 0);
    }
    CHECK_OR(f != NULL, );
    serve_checkpoint(ns, l.logs[0].origin, 266, &root, 2000);
    CHECK_EQ(poll1(f), 0);
    CHECK_STR(e.last_problem, "");
    pthread_mutex_lock(&script_lock);
    CHECK(data_partial_asked >= 1); /* 001.p/10 was asked first */
    serve_data_tiles = 0;
    pthread_mutex_unlock(&script_lock);
    arb_audit_follower_free(f);
    arb_audit_loglist_free(&l);
    arb_note_signer_free(ns);
    arb_ct_signer_free(s);
    arb_sha256_free(sha);
    free(pem);
    free(spki);
    free(h0);
    free(h1);
}

/* ---- rollbacks ---- */

static char *proof_json(const char *member, const arb_hash *p, size_t n, const char *extra_key,
                        long extra)
{
    json_t *arr = json_array(), *o;
    char *t;
    for (size_t i = 0; i < n; i++) {
        char *b = arb_base64_encode(p[i].b, 32);
        json_array_append_new(arr, json_string(b));
        free(b);
    }
    o = extra_key ? json_pack("{s:o, s:i}", member, arr, extra_key, (int)extra)
                  : json_pack("{s:o}", member, arr);
    t = json_dumps(o, 0);
    json_decref(o);
    return t;
}

static void serve_consistency(const arb_hash *leaves, uint64_t m, uint64_t n, int tamper)
{
    arb_hash p[ARB_MERKLE_MAX_PROOF];
    size_t pn = 0;
    char *t;
    if (!tree_consistency(leaves, m, n, p, &pn))
        return;
    if (tamper && pn > 1)
        p[1].b[3] ^= 1;
    t = proof_json("consistency", p, pn, NULL, 0);
    set_body(&cons_body, &cons_status, 200, t);
    free(t);
}

/* The kind of the report last written, as verify-evidence reads it. */
static int evidence_kind(const events *e, const uint8_t *log_id)
{
    size_t len;
    uint8_t *t = arb_test_read_file(e->evidence_path, &len);
    arb_audit_ev_result res;
    arb_errbuf eb;
    int k = -1;
    if (t != NULL && arb_audit_evidence_check(&res, (const char *)t, len, log_id, &eb) == ARB_OK)
        k = (int)res.kind;
    free(t);
    return k;
}

/* A head smaller than the verified one and signed before it (so not a
 * shrinking tree): the auditor asks for the consistency proof to the
 * verified head. An honest stale head is named (rollback) and not stored; a
 * head of another tree - a fork shown as an old head - is a fork report that
 * verifies offline, whether its size is a power of two (the prefix root from
 * an inclusion proof) or not (from the consistency proof); a proof that does
 * not verify and does not establish the prefix root is an inconsistent
 * report. The same from gossip. */
static void test_rollback(const char *url, const char *dir)
{
    arb_ct_signer *s = NULL;
    arb_audit_loglist l = {NULL, 0};
    arb_hash la[8], lb[8], ra8, ra5, rb5, rb4;
    arb_audit_sth h8, h5, f5, f4, got;
    arb_audit_follower *f;
    events e;
    int calls;

    memset(&e, 0, sizeof e);
    l.logs = calloc(1, sizeof *l.logs);
    l.n = 1;
    CHECK_OR(tlog_new(&s, &l.logs[0], url), );
    tree_leaves(la, 8, 0);
    tree_leaves(lb, 8, 1);
    tree_root(la, 8, &ra8);
    tree_root(la, 5, &ra5);
    tree_root(lb, 5, &rb5);
    tree_root(lb, 4, &rb4);
    CHECK(tlog_sth(&h8, s, 8, 5000, &ra8));
    CHECK(tlog_sth(&h5, s, 5, 3000, &ra5));
    CHECK(tlog_sth(&f5, s, 5, 3100, &rb5));
    CHECK(tlog_sth(&f4, s, 4, 3200, &rb4));
    f = mk(&l, dir, &e, 0, NULL, 0);
    CHECK_OR(f != NULL, );
    serve_sth(&h8);
    CHECK_EQ(poll1(f), 0);

    /* an honest older head: consistent, named, not stored, no report */
    pthread_mutex_lock(&script_lock);
    calls = cons_calls;
    pthread_mutex_unlock(&script_lock);
    serve_consistency(la, 5, 8, 0);
    serve_sth(&h5);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_problem, "rollback");
    CHECK_EQ(e.misbehaviour, 0);
    CHECK_EQ(cons_calls, calls + 1);
    CHECK_STR(last_cons_query, "5,8");
    CHECK_EQ(arb_audit_follower_head(f, l.logs[0].log_id, &got), ARB_OK);
    CHECK(arb_audit_sth_equal(&got, &h8));

    /* a fork of size 5 shown as an older head; the log's proof 5 -> 8 is
     * that of its real tree: the prefix root it carries is not f5's */
    serve_sth(&f5);
    CHECK_EQ(poll1(f), 1);
    CHECK_EQ(e.misbehaviour, 1);
    CHECK_STR(e.last_kind, "fork");
    CHECK_EQ(evidence_kind(&e, l.logs[0].log_id), ARB_AUDIT_EV_FORK);

    /* the same head with a proof altered on the way: nothing conclusive,
     * the weaker report */
    serve_consistency(la, 5, 8, 1);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_kind, "inconsistent");
    CHECK_EQ(evidence_kind(&e, l.logs[0].log_id), ARB_AUDIT_EV_INCONSISTENT);

    /* a fork of size 4 (a power of two: the proof 4 -> 8 starts from the
     * prefix root instead of carrying it): entry 3 and its inclusion proof in
     * the tree of 8 give it */
    serve_consistency(la, 4, 8, 0);
    {
        char *li = arb_base64_encode((const uint8_t *)"leaf 3 salt 0", 13), *t;
        json_t *o = json_pack("{s:[{s:s, s:s}]}", "entries", "leaf_input", li, "extra_data", "");
        tleaves tl = {la, 8, NULL};
        arb_merkle_source src = {tleaves_node, &tl};
        arb_hash path[ARB_MERKLE_MAX_PROOF];
        size_t pn = 0;
        t = json_dumps(o, 0);
        set_body(&ent_body, &ent_status, 200, t);
        free(t);
        json_decref(o);
        free(li);
        CHECK_OR(arb_sha256_new(&tl.h) == ARB_OK, );
        CHECK(arb_merkle_inclusion_build(tl.h, &src, 3, 8, path, &pn) == ARB_OK);
        arb_sha256_free(tl.h);
        t = proof_json("audit_path", path, pn, "leaf_index", 3);
        set_body(&pbh_body, &pbh_status, 200, t);
        free(t);
    }
    serve_sth(&f4);
    CHECK_EQ(poll1(f), 1);
    CHECK_STR(e.last_kind, "fork");
    CHECK_EQ(evidence_kind(&e, l.logs[0].log_id), ARB_AUDIT_EV_FORK);
    CHECK(!e.repeated);

    /* from gossip: the same fork, named again (reported before) */
    serve_consistency(la, 5, 8, 0);
    CHECK_EQ(arb_audit_follower_check_head(f, l.logs[0].log_id, &f5, "http://peer/"),
             ARB_ERR_VERIFY);
    CHECK_STR(e.last_kind, "fork");
    CHECK(e.repeated);
    /* and an honest older head from gossip is simply consistent */
    CHECK_EQ(arb_audit_follower_check_head(f, l.logs[0].log_id, &h5, "http://peer/"), ARB_OK);
    CHECK_EQ(arb_audit_follower_head(f, l.logs[0].log_id, &got), ARB_OK);
    CHECK(arb_audit_sth_equal(&got, &h8));
    set_body(&pbh_body, &pbh_status, 404, "{\"error\":\"not found\"}");
    arb_audit_follower_free(f);
    arb_audit_loglist_free(&l);
    arb_ct_signer_free(s);
}

int main(void)
{
    arb_http_config hc;
    arb_http_server *srv = NULL;
    arb_errbuf eb;
    char url[64], tmp[512], d1[600], d2[600], d3[600];

    curl_global_init(CURL_GLOBAL_DEFAULT);
    memset(&hc, 0, sizeof hc);
    hc.listen_host = "127.0.0.1";
    hc.workers = 2;
    CHECK_OR(arb_http_server_new(&srv, &hc) == ARB_OK, 1);
    CHECK_OR(arb_http_route_add(srv, ARB_HTTP_GET, "/ct/v1/get-sth", 0, h_sth, NULL) == ARB_OK, 1);
    CHECK_OR(arb_http_route_add(srv, ARB_HTTP_GET, "/ct/v1/get-sth-consistency", 0, h_cons, NULL) ==
                 ARB_OK,
             1);
    CHECK_OR(arb_http_route_add(srv, ARB_HTTP_GET, "/ct/v1/get-entries", 0, h_entries, NULL) ==
                 ARB_OK,
             1);
    CHECK_OR(arb_http_route_add(srv, ARB_HTTP_GET, "/checkpoint", 0, h_ckpt, NULL) == ARB_OK, 1);
    CHECK_OR(arb_http_route_add(srv, ARB_HTTP_GET, "/tile/", 0, h_tile, NULL) == ARB_OK, 1);
    CHECK_OR(arb_http_route_add(srv, ARB_HTTP_GET, "/ct/v1/get-proof-by-hash", 0, h_pbh, NULL) ==
                 ARB_OK,
             1);
    CHECK_OR(arb_http_server_start(srv, &eb) == ARB_OK, 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", arb_http_server_port(srv));
    CHECK_OR(arb_test_tmpdir(tmp, sizeof tmp) == 0, 1);
    snprintf(d1, sizeof d1, "%s/a", tmp);
    snprintf(d2, sizeof d2, "%s/b", tmp);
    test_heads(url, d1);
    test_entries(url, d2);
    snprintf(d3, sizeof d3, "%s/c", tmp);
    test_tiled(url, d3);
    snprintf(d3, sizeof d3, "%s/d", tmp);
    test_growth(url, d3);
    snprintf(d3, sizeof d3, "%s/e", tmp);
    test_tiled_growth(url, d3);
    snprintf(d3, sizeof d3, "%s/f", tmp);
    test_tiled_download(url, d3);
    test_sct_inclusion(url);
    snprintf(d3, sizeof d3, "%s/g", tmp);
    test_rollback(url, d3);
    free(pbh_body);
    arb_http_server_stop(srv);
    arb_http_server_free(srv);
    arb_test_rmtree(tmp);
    free(sth_body);
    free(cons_body);
    free(ent_body);
    free(ckpt_body);
    curl_global_cleanup();
    return arb_test_done();
}
