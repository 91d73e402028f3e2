/* Tree heads: the real Google Pilot STH verifies with the Pilot key through
 * the auditor's get-sth path and fails under another key or when altered;
 * JSON round trip; strict parsing. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auditor/sth.h"
#include "tests/test.h"

static arb_ct_verifier *load_key(const char *rel)
{
    size_t len;
    uint8_t *pem = arb_test_read_vector(rel, &len);
    arb_ct_verifier *v = NULL;
    arb_errbuf eb;
    if (pem == NULL)
        return NULL;
    if (arb_ct_verifier_from_pem(&v, (const char *)pem, len, &eb) != ARB_OK)
        v = NULL;
    free(pem);
    return v;
}

static void test_pilot(void)
{
    size_t len;
    uint8_t *raw = arb_test_read_vector("ct/real_sth_pilot.json", &len);
    json_t *doc = NULL, *resp;
    arb_ct_verifier *pilot = load_key("ct/certs/google-ct-pilot-server-key-public.pem");
    arb_ct_verifier *other = load_key("ct/certs/ct-server-key-public.pem");
    arb_audit_sth sth, back, bad;
    arb_errbuf eb;
    char *text;

    CHECK_OR(raw && pilot && other, );
    doc = json_loadb((const char *)raw, len, 0, NULL);
    CHECK_OR(doc != NULL, );
    resp = json_object_get(doc, "get_sth_response");
    /* Through the text path, as get-sth's body arrives. */
    text = json_dumps(resp, JSON_COMPACT);
    CHECK_OR(text != NULL, );
    CHECK_EQ(arb_audit_sth_parse(&sth, text, strlen(text), &eb), ARB_OK);
    free(text);
    CHECK_EQ(sth.tree_size, 3721782);
    CHECK_EQ(sth.timestamp, 1396609800587ULL);
    CHECK_EQ(arb_audit_sth_verify(pilot, &sth, &eb), ARB_OK);
    CHECK_EQ(arb_audit_sth_verify(other, &sth, &eb), ARB_ERR_VERIFY);
    /* Every field is covered by the signature. */
    bad = sth;
    bad.tree_size++;
    CHECK_EQ(arb_audit_sth_verify(pilot, &bad, &eb), ARB_ERR_VERIFY);
    bad = sth;
    bad.timestamp--;
    CHECK_EQ(arb_audit_sth_verify(pilot, &bad, &eb), ARB_ERR_VERIFY);
    bad = sth;
    bad.root.b[31] ^= 1;
    CHECK_EQ(arb_audit_sth_verify(pilot, &bad, &eb), ARB_ERR_VERIFY);
    bad = sth;
    bad.sig[bad.sig_len - 1] ^= 1;
    CHECK_EQ(arb_audit_sth_verify(pilot, &bad, &eb), ARB_ERR_VERIFY);
    /* JSON round trip gives the same fields as the upstream response. */
    {
        json_t *o = arb_audit_sth_to_json(&sth);
        CHECK_OR(o != NULL, );
        CHECK(json_equal(o, resp));
        CHECK_EQ(arb_audit_sth_from_json(&back, o, &eb), ARB_OK);
        CHECK(arb_audit_sth_equal(&back, &sth));
        json_decref(o);
    }
    json_decref(doc);
    free(raw);
    arb_ct_verifier_free(pilot);
    arb_ct_verifier_free(other);
}

static void test_parse_strict(void)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"tree_size\":-1,\"timestamp\":1,\"sha256_root_hash\":\"SxKOxksguvHPyUaKYKXoZHzXl91Q257+JQ0AUMlFfeo=\",\"tree_head_signature\":\"BAMAAUE=\"}",
        "{\"tree_size\":1,\"timestamp\":\"1\",\"sha256_root_hash\":\"SxKOxksguvHPyUaKYKXoZHzXl91Q257+JQ0AUMlFfeo=\",\"tree_head_signature\":\"BAMAAUE=\"}",
        "{\"tree_size\":1,\"timestamp\":1,\"sha256_root_hash\":\"SxKO\",\"tree_head_signature\":\"BAMAAUE=\"}",
        "{\"tree_size\":1,\"timestamp\":1,\"sha256_root_hash\":\"SxKOxksguvHPyUaKYKXoZHzXl91Q257+JQ0AUMlFfeo=\",\"tree_head_signature\":\"BAMAAkE=\"}",
        "{\"tree_size\":1,\"timestamp\":1,\"sha256_root_hash\":\"SxKOxksguvHPyUaKYKXoZHzXl91Q257+JQ0AUMlFfeo=\"}",
        "{\"tree_size\":1,\"tree_size\":2,\"timestamp\":1,\"sha256_root_hash\":\"SxKOxksguvHPyUaKYKXoZHzXl91Q257+JQ0AUMlFfeo=\",\"tree_head_signature\":\"BAMAAUE=\"}",
        "<html>not json</html>",
    };
    arb_audit_sth s;
    arb_errbuf eb;
    const char *good = "{\"tree_size\":1,\"timestamp\":1,\"sha256_root_hash\":"
                       "\"SxKOxksguvHPyUaKYKXoZHzXl91Q257+JQ0AUMlFfeo=\",\"tree_head_signature\":"
                       "\"BAMAAUE=\"}";
    CHECK_EQ(arb_audit_sth_parse(&s, good, strlen(good), &eb), ARB_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arb_err e = arb_audit_sth_parse(&s, bad[i], strlen(bad[i]), &eb);
        CHECK_EQ(e, ARB_ERR_PARSE);
        CHECK_EQ(s.tree_size, 0);
    }
}

/* A published static-ct-api checkpoint (RFC6962NoteSignature by the log's
 * ECDSA key) read as a tree head: the fields match the log list's final tree
 * head and the signature verifies as a get-sth signature. */
static void test_checkpoint(void)
{
    size_t nl, ll;
    uint8_t *note = arb_test_read_vector("ct/static_ct/rome2026h1_test/checkpoint", &nl);
    uint8_t *lj = arb_test_read_vector("ct/static_ct/rome2026h1_test/log.v3.json", &ll);
    json_t *log = lj ? json_loadb((const char *)lj, ll, 0, NULL) : NULL, *fth, *o;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    const char *k;
    arb_ct_verifier *v = NULL;
    arb_audit_sth sth;
    arb_errbuf eb;

    CHECK_OR(note && log, );
    k = json_string_value(json_object_get(log, "key"));
    CHECK_EQ(arb_base64_decode(&spki, &spki_len, k, strlen(k)), ARB_OK);
    CHECK_EQ(arb_audit_sth_from_checkpoint(&sth, note, nl, "rome2026h1.example.org", spki, spki_len,
                                           &eb),
             ARB_OK);
    fth = json_object_get(log, "final_tree_head");
    o = arb_audit_sth_to_json(&sth);
    CHECK(json_equal(json_object_get(o, "tree_size"), json_object_get(fth, "tree_size")));
    CHECK(json_equal(json_object_get(o, "sha256_root_hash"), json_object_get(fth, "sha256_root_hash")));
    CHECK(json_equal(json_object_get(o, "timestamp"), json_object_get(fth, "timestamp")));
    json_decref(o);
    CHECK_EQ(arb_ct_verifier_from_spki(&v, spki, spki_len, &eb), ARB_OK);
    CHECK_EQ(arb_audit_sth_verify(v, &sth, &eb), ARB_OK);
    /* the wrong origin is refused */
    CHECK_EQ(arb_audit_sth_from_checkpoint(&sth, note, nl, "milan2026h1.example.org", spki,
                                           spki_len, &eb),
             ARB_ERR_VERIFY);
    arb_ct_verifier_free(v);
    free(spki);
    json_decref(log);
    free(lj);
    free(note);
}

int main(void)
{
    test_pilot();
    test_checkpoint();
    test_parse_strict();
    return arb_test_done();
}
