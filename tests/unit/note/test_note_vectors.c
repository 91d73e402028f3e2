/* Signed notes and checkpoints against outside vectors: the C2SP signed-note
 * example, golang.org/x/mod sumdb/note test notes and keys, and a static-ct-api
 * test log's checkpoint (RFC6962NoteSignature, type 0x05) with witness and
 * mirror cosignatures (tlog-cosignature v1, type 0x04). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/buf.h"
#include "merkle/checkpoint.h"
#include "merkle/note.h"
#include "tests/test.h"

static json_t *vec;

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *ed_case(size_t i)
{
    return json_array_get(json_object_get(vec, "ed25519_notes"), i);
}

static arb_note_verifier *vkey(const char *s)
{
    arb_note_verifier *v = NULL;
    arb_errbuf eb;
    if (s == NULL || arb_note_verifier_from_vkey(&v, s, strlen(s), &eb) != ARB_OK)
        return NULL;
    return v;
}

/* Parses msg, checks it formats back to the same bytes, and verifies it. */
static arb_err open_note(const char *msg, arb_note_verifier **vs, size_t nvs,
                         arb_note_result *res)
{
    arb_note *n = NULL;
    uint8_t *again = NULL;
    size_t again_len = 0;
    arb_errbuf eb;
    arb_err err = arb_note_parse(&n, (const uint8_t *)msg, strlen(msg), &eb);
    if (err != ARB_OK)
        return err;
    if (arb_note_format(&again, &again_len, n) != ARB_OK || again_len != strlen(msg) ||
        memcmp(again, msg, again_len) != 0)
        err = ARB_ERR_INTERNAL;
    free(again);
    if (err == ARB_OK)
        err = arb_note_verify(n, (const arb_note_verifier *const *)vs, nvs, res, &eb);
    arb_note_free(n);
    return err;
}

static void test_c2sp_example(void)
{
    json_t *c = ed_case(0);
    arb_note_verifier *v = vkey(jstr(c, "vkey"));
    char *again = NULL;
    CHECK(v != NULL);
    CHECK_EQ(arb_note_verifier_key_id(v), 0x530d903a);
    CHECK_STR(arb_note_verifier_name(v), "example.com/foo");
    CHECK_EQ(arb_note_verifier_type(v), ARB_NOTE_ED25519);
    CHECK(arb_note_verifier_vkey(&again, v) == ARB_OK);
    CHECK_STR(again, jstr(c, "vkey"));
    free(again);
    CHECK_EQ(open_note(jstr(c, "note"), &v, 1, NULL), ARB_OK);
    arb_note_verifier_free(v);
}

static void test_sumdb_sign(void)
{
    json_t *c = ed_case(1);
    const char *skey = jstr(c, "skey_test_only"), *text = jstr(c, "text");
    const char *want = jstr(c, "signed_note_expected_from_Sign");
    arb_note_signer *s = NULL;
    arb_note_verifier *v = NULL, *v2 = NULL;
    arb_note *n = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    char *vk = NULL;
    arb_errbuf eb;

    CHECK(skey && text && want);
    CHECK(arb_note_signer_from_skey(&s, skey, strlen(skey), &eb) == ARB_OK);
    CHECK_EQ(arb_note_signer_key_id(s), 0xc74f20a3);
    CHECK(arb_note_new(&n, text, strlen(text), &eb) == ARB_OK);
    CHECK(arb_note_sign(n, s, 0, &eb) == ARB_OK);
    CHECK(arb_note_format(&out, &out_len, n) == ARB_OK);
    /* Ed25519 is deterministic: byte-for-byte the note Go's note.Sign made. */
    CHECK_EQ(out_len, strlen(want));
    CHECK_MEM(out, want, out_len);
    free(out);
    arb_note_free(n);
    /* The signer's verifier is the published vkey. */
    CHECK(arb_note_signer_verifier(&v2, s) == ARB_OK);
    CHECK(arb_note_verifier_vkey(&vk, v2) == ARB_OK);
    CHECK_STR(vk, jstr(c, "vkey"));
    free(vk);
    v = vkey(jstr(c, "vkey"));
    CHECK(v != NULL);
    CHECK_EQ(open_note(want, &v, 1, NULL), ARB_OK);
    arb_note_verifier_free(v);
    arb_note_verifier_free(v2);
    arb_note_signer_free(s);

    /* A key ID that does not match the seed is refused. */
    char *bad = strdup(skey);
    CHECK(bad != NULL);
    memcpy(strstr(bad, "c74f20a3"), "c74f20a4", 8);
    CHECK(arb_note_signer_from_skey(&s, bad, strlen(bad), &eb) == ARB_ERR_PARSE);
    CHECK(s == NULL);
    free(bad);
}

static void test_sumdb_multi(void)
{
    const char *note = jstr(ed_case(2), "note");
    arb_note_verifier *peter = vkey(jstr(ed_case(1), "vkey"));
    arb_note_verifier *enoch = vkey(jstr(ed_case(2), "vkey"));
    arb_note_verifier *both[2] = {peter, enoch};
    arb_note_result res[2];

    CHECK(note && peter && enoch);
    CHECK_EQ(open_note(note, both, 2, res), ARB_OK);
    CHECK(res[0].verified && res[1].verified);
    /* With one verifier known the other signature is ignored, not an error. */
    CHECK_EQ(open_note(note, &peter, 1, res), ARB_OK);
    CHECK(res[0].verified);
    CHECK_EQ(open_note(note, &enoch, 1, res), ARB_OK);
    CHECK(res[0].verified);
    /* No known key at all: rejected. */
    CHECK_EQ(open_note(note, NULL, 0, NULL), ARB_ERR_VERIFY);

    /* Negative case: 'x08g' -> 'xxxx' changes the key ID of Peter's signature,
     * which becomes a signature by an unknown key. */
    char *bad = strdup(jstr(ed_case(1), "signed_note_expected_from_Sign"));
    CHECK(bad != NULL);
    memcpy(strstr(bad, "x08g"), "xxxx", 4);
    CHECK_EQ(open_note(bad, &peter, 1, NULL), ARB_ERR_VERIFY);
    free(bad);

    /* A known key whose signature fails rejects the whole note, even when
     * another known key verified. */
    bad = strdup(note);
    CHECK(bad != NULL);
    char *enoch_sig = strstr(bad, "\xe2\x80\x94 EnochRoot ") + strlen("\xe2\x80\x94 EnochRoot ");
    enoch_sig[10] = enoch_sig[10] == 'A' ? 'B' : 'A';
    CHECK_EQ(open_note(bad, both, 2, res), ARB_ERR_VERIFY);
    CHECK(!res[0].verified && !res[1].verified);
    CHECK_EQ(open_note(bad, &peter, 1, NULL), ARB_OK);
    free(bad);

    /* Ambiguous verifier sets are refused. */
    arb_note_verifier *twice[2] = {peter, peter};
    CHECK_EQ(open_note(note, twice, 2, NULL), ARB_ERR_INVALID_ARG);
    arb_note_verifier_free(peter);
    arb_note_verifier_free(enoch);
}

static void test_bad_vkeys(void)
{
    json_t *bad = json_object_get(ed_case(4), "bad_vkeys");
    size_t i;
    json_t *s;
    CHECK(json_array_size(bad) == 2);
    json_array_foreach(bad, i, s) {
        arb_note_verifier *v = vkey(json_string_value(s));
        CHECK(v == NULL);
    }
}

static arb_note_verifier *rome_log_verifier(void)
{
    size_t len;
    uint8_t *info = arb_test_read_vector("ct/static_ct/rome2026h1_test/log.v3.json", &len);
    json_t *j = info ? json_loadb((const char *)info, len, 0, NULL) : NULL;
    const char *key = j ? jstr(j, "key") : NULL;
    const char *origin = j ? jstr(j, "description") : NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    arb_note_verifier *v = NULL;
    arb_errbuf eb;

    if (key != NULL && origin != NULL &&
        arb_base64_decode(&der, &der_len, key, strlen(key)) == ARB_OK &&
        arb_note_verifier_rfc6962(&v, origin, der, der_len, &eb) != ARB_OK)
        v = NULL;
    free(der);
    json_decref(j);
    free(info);
    return v;
}

static char *read_cp(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "ct/static_ct/rome2026h1_test/%s", name);
    return (char *)arb_test_read_vector(rel, NULL);
}

static void test_rfc6962_checkpoint(void)
{
    json_t *c = json_object_get(vec, "rfc6962_note_signature_checkpoint");
    arb_note_verifier *v = rome_log_verifier();
    char *msg = read_cp("checkpoint");
    arb_checkpoint *cp = NULL;
    arb_note *n = NULL;
    arb_note_result res;
    arb_errbuf eb;
    uint8_t *log_id = NULL, *root = NULL;
    size_t log_id_len, root_len;
    const char *log_id_b64 = jstr(c, "log_id_b64"), *root_b64 = jstr(c, "root_hash_b64");

    CHECK(v != NULL && msg != NULL && log_id_b64 && root_b64);
    CHECK_EQ(arb_note_verifier_type(v), ARB_NOTE_RFC6962);
    /* The expected key ID, and the same ID computed from the published log ID. */
    CHECK_EQ(arb_note_verifier_key_id(v), strtoul(jstr(c, "expected_key_id_hex"), NULL, 16));
    CHECK(arb_base64_decode(&log_id, &log_id_len, log_id_b64, strlen(log_id_b64)) == ARB_OK);
    CHECK_EQ(log_id_len, 32);
    CHECK_EQ(arb_note_key_id("rome2026h1.example.org", 22, ARB_NOTE_RFC6962, log_id, 32),
             arb_note_verifier_key_id(v));
    free(log_id);

    CHECK_EQ(open_note(msg, &v, 1, &res), ARB_OK);
    CHECK(res.verified);
    CHECK(res.timestamp == (uint64_t)json_integer_value(json_object_get(c, "sth_timestamp_ms")));

    const arb_note_verifier *cv = v;
    CHECK(arb_checkpoint_open(&cp, &n, (const uint8_t *)msg, strlen(msg), jstr(c, "origin"), &cv,
                              1, &res, &eb) == ARB_OK);
    CHECK_STR(cp->origin, jstr(c, "origin"));
    CHECK(cp->size == (uint64_t)json_integer_value(json_object_get(c, "tree_size")));
    CHECK(arb_base64_decode(&root, &root_len, root_b64, strlen(root_b64)) == ARB_OK);
    CHECK_MEM(cp->root.b, root, 32);
    free(root);
    CHECK_EQ(cp->ext_len, 0);
    CHECK_EQ(n->nsigs, 1);
    /* The signature's layout: timestamp, then a DigitallySigned 0x04 0x03. */
    const uint8_t *ds = NULL;
    size_t ds_len = 0;
    uint64_t ts = 0;
    CHECK(arb_note_rfc6962_sig_split(n->sigs[0].sig, n->sigs[0].sig_len, &ts, &ds, &ds_len));
    CHECK(ts == (uint64_t)json_integer_value(json_object_get(c, "sth_timestamp_ms")));
    CHECK(strcmp(jstr(c, "digitally_signed_hash_sig_bytes"), "0403") == 0);
    CHECK(ds[0] == 0x04 && ds[1] == 0x03);
    arb_checkpoint_free(cp);
    arb_note_free(n);
    /* Wrong expected origin. */
    CHECK(arb_checkpoint_open(&cp, NULL, (const uint8_t *)msg, strlen(msg), "other.example", &cv,
                              1, NULL, &eb) == ARB_ERR_VERIFY);
    CHECK(cp == NULL);

    /* Tampering with the size, the root or the signature fails. */
    char *bad = strdup(msg);
    CHECK(bad != NULL);
    strstr(bad, "\n300\n")[3] = '1';
    CHECK_EQ(open_note(bad, &v, 1, NULL), ARB_ERR_VERIFY);
    strcpy(bad, msg);
    bad[strlen("rome2026h1.example.org\n300\n") + 5] ^= 1;
    CHECK(open_note(bad, &v, 1, NULL) != ARB_OK);
    free(bad);
    free(msg);
    arb_note_verifier_free(v);
}

static void test_cosignatures(void)
{
    json_t *cases = json_object_get(json_object_get(vec, "cosignatures"), "cases");
    size_t i;
    json_t *c;
    int ran = 0;

    CHECK(json_array_size(cases) == 4);
    json_array_foreach(cases, i, c) {
        char rel[256];
        snprintf(rel, sizeof rel, "ct/%s", jstr(c, "file"));
        char *msg = (char *)arb_test_read_vector(rel, NULL);
        arb_note_verifier *w = vkey(jstr(c, "vkey"));
        arb_note_result res[2];
        CHECK(msg != NULL && w != NULL);
        CHECK_EQ(arb_note_verifier_type(w), ARB_NOTE_COSIG_V1);
        if (json_object_get(c, "mutation") != NULL) {
            /* tree size line 300 -> 301 */
            strstr(msg, "\n300\n")[3] = '1';
            CHECK_EQ(open_note(msg, &w, 1, res), ARB_ERR_VERIFY);
            CHECK(!res[0].verified);
        } else {
            CHECK_EQ(open_note(msg, &w, 1, res), ARB_OK);
            CHECK(res[0].verified);
            CHECK(res[0].timestamp ==
                  (uint64_t)json_integer_value(json_object_get(c, "cosig_timestamp")));
            if (strstr(jstr(c, "file"), "/checkpoint.witness-cosigned") != NULL) {
                /* The log's signature verifies alongside the witness's. */
                arb_note_verifier *log = rome_log_verifier();
                arb_note_verifier *both[2] = {log, w};
                CHECK(log != NULL);
                CHECK_EQ(open_note(msg, both, 2, res), ARB_OK);
                CHECK(res[0].verified && res[1].verified);
                CHECK(res[0].timestamp == UINT64_C(1767139200000));
                arb_note_verifier_free(log);
            }
        }
        ran++;
        arb_note_verifier_free(w);
        free(msg);
    }
    CHECK_EQ(ran, 4);

    /* The witness key does not vouch for the mirror's checkpoint. */
    char *msg = read_cp("checkpoint.mirror-cosigned");
    arb_note_verifier *w = vkey("witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN");
    CHECK(msg != NULL && w != NULL);
    CHECK_EQ(open_note(msg, &w, 1, NULL), ARB_ERR_VERIFY);
    arb_note_verifier_free(w);
    free(msg);
}

/* A witness adds its cosignature to the log's published checkpoint: the log's
 * line stays byte-identical and both verify. */
static void test_add_cosignature(void)
{
    char *msg = read_cp("checkpoint");
    arb_note_verifier *log = rome_log_verifier(), *wv = NULL;
    arb_note_signer *w = NULL;
    arb_note *n = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    arb_note_result res[2];
    arb_errbuf eb;

    CHECK(msg != NULL && log != NULL);
    CHECK(arb_note_signer_generate(&w, "witness.test", ARB_NOTE_COSIG_V1, NULL, NULL, &eb) ==
          ARB_OK);
    CHECK(arb_note_signer_verifier(&wv, w) == ARB_OK);
    CHECK(arb_note_parse(&n, (const uint8_t *)msg, strlen(msg), &eb) == ARB_OK);
    CHECK(arb_note_sign(n, w, UINT64_C(1767139260000), &eb) == ARB_OK);
    CHECK(arb_note_format(&out, &out_len, n) == ARB_OK);
    CHECK(out_len > strlen(msg));
    CHECK_MEM(out, msg, strlen(msg)); /* appended after the log's line */
    arb_note_free(n);
    n = NULL;
    arb_note_verifier *both[2] = {log, wv};
    CHECK(arb_note_parse(&n, out, out_len, &eb) == ARB_OK);
    CHECK(arb_note_verify(n, (const arb_note_verifier *const *)both, 2, res, &eb) == ARB_OK);
    CHECK(res[0].verified && res[1].verified);
    CHECK(res[0].timestamp == UINT64_C(1767139200000));
    CHECK(res[1].timestamp == UINT64_C(1767139260));
    arb_note_free(n);
    free(out);
    arb_note_signer_free(w);
    arb_note_verifier_free(wv);
    arb_note_verifier_free(log);
    free(msg);
}

static void test_tree_note(void)
{
    json_t *c = json_object_get(vec, "tree_note_golang_sumdb");
    const char *text = jstr(c, "text");
    arb_checkpoint *cp = NULL;
    char *again = NULL;
    size_t again_len;
    arb_errbuf eb;

    CHECK(text != NULL);
    CHECK(arb_checkpoint_parse(&cp, text, strlen(text), &eb) == ARB_OK);
    CHECK(cp->size == UINT64_C(123456789012));
    CHECK_STR(cp->origin, "go.sum database tree");
    CHECK(arb_checkpoint_format(&again, &again_len, cp) == ARB_OK);
    CHECK_STR(again, text);
    free(again);
    arb_checkpoint_free(cp);
}

int main(void)
{
    size_t len;
    uint8_t *raw = arb_test_read_vector("ct/signed_notes.json", &len);
    json_error_t jerr;

    if (raw == NULL)
        return arb_test_done();
    vec = json_loadb((const char *)raw, len, 0, &jerr);
    free(raw);
    if (vec == NULL) {
        arb_test_fail(__FILE__, __LINE__, "signed_notes.json: %s", jerr.text);
        return arb_test_done();
    }
    test_c2sp_example();
    test_sumdb_sign();
    test_sumdb_multi();
    test_bad_vkeys();
    test_rfc6962_checkpoint();
    test_cosignatures();
    test_add_cosignature();
    test_tree_note();
    json_decref(vec);
    return arb_test_done();
}
