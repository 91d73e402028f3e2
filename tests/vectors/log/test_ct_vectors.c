/* RFC 6962 known answers from the google/certificate-transparency test PKI
 * (vectors/ct): every SCT there is verified with the test log key over signed
 * data rebuilt here from the certificates (for precertificates that needs the
 * TBS rewriting of RFC 6962 3.2 to reproduce the logged TBS exactly), the
 * MerkleTreeLeaf hashes are checked, SCTs embedded in the final certificates
 * verify (and the tampered one does not), a real Pilot STH verifies only under
 * the Pilot key, and the chains validate against ca-cert.pem only. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "ledger/log/chain.h"
#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "tests/test.h"
#include "tests/unit/log/pki.h"

static arb_sha256 *sha;
static arb_ct_verifier *test_key, *pilot_key;
static arb_ct_roots *ca_roots, *other_roots;

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    arb_sha256_digest(sha, out, p, n);
}

static int hex_eq(const uint8_t *p, size_t n, const char *hex)
{
    uint8_t *want = NULL;
    size_t want_len = 0;
    int eq;

    if (arb_hex_decode_alloc(&want, &want_len, hex) != ARB_OK)
        return 0;
    eq = want_len == n && (n == 0 || memcmp(want, p, n) == 0);
    free(want);
    return eq;
}

static arb_ct_verifier *load_verifier(const char *rel)
{
    size_t n;
    uint8_t *pem = arb_test_read_vector(rel, &n);
    arb_ct_verifier *v = NULL;
    arb_errbuf eb;

    if (pem != NULL && arb_ct_verifier_from_pem(&v, (const char *)pem, n, &eb) != ARB_OK)
        v = NULL;
    free(pem);
    return v;
}

static arb_ct_roots *load_roots(const char *rel)
{
    size_t n;
    uint8_t *pem = arb_test_read_vector(rel, &n);
    arb_ct_roots *r = NULL;
    arb_errbuf eb;

    if (pem != NULL && arb_ct_roots_from_pem(&r, (const char *)pem, n, &eb) != ARB_OK)
        r = NULL;
    free(pem);
    return r;
}

static void test_log_ids(json_t *doc, json_t *pilot)
{
    uint8_t id[32], *spki = NULL;
    size_t spki_len;
    const char *b64;
    arb_ct_verifier *v = NULL;
    arb_errbuf eb;

    arb_ct_verifier_log_id(test_key, id);
    CHECK(hex_eq(id, 32, json_string_value(json_object_get(doc, "log_id_hex"))));
    arb_ct_verifier_log_id(pilot_key, id);
    CHECK(hex_eq(id, 32, json_string_value(json_object_get(pilot, "log_id_hex"))));
    /* The same key from its DER SPKI. */
    b64 = json_string_value(json_object_get(doc, "log_public_key_spki_der_b64"));
    CHECK(b64 != NULL && arb_base64_decode(&spki, &spki_len, b64, strlen(b64)) == ARB_OK);
    CHECK(arb_ct_verifier_from_spki(&v, spki, spki_len, &eb) == ARB_OK);
    sha256(spki, spki_len, id);
    free(spki);
    {
        uint8_t id2[32];
        arb_ct_verifier_log_id(v, id2);
        arb_ct_verifier_free(v);
        CHECK_MEM(id, id2, 32);
    }
}

/* The submitted chain of each case (leaf first), as a CA would send it. */
static const struct {
    const char *leaf;
    const char *chain[3];
    size_t path_len;
    int pre_signer;
} chains[] = {
    {"test-cert.pem", {NULL}, 2, 0},
    {"test-intermediate-cert.pem", {"intermediate-cert.pem"}, 3, 0},
    {"test-embedded-pre-cert.pem", {"ca-cert.pem"}, 2, 0},
    {"test-embedded-with-preca-pre-cert.pem", {"ca-pre-cert.pem"}, 3, 1},
    {"test-embedded-with-intermediate-pre-cert.pem", {"intermediate-cert.pem", "ca-cert.pem"}, 3, 0},
    {"test-embedded-with-intermediate-preca-pre-cert.pem",
     {"intermediate-pre-cert.pem", "intermediate-cert.pem"}, 4, 1},
};

typedef struct {
    arb_ct_cert_ref certs[4];
    size_t n;
} sub_chain;

static int load_chain(sub_chain *s, const char *leaf, size_t *path_len, int *pre_signer)
{
    char rel[256];
    size_t i, j;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
        if (strcmp(chains[i].leaf, leaf) != 0)
            continue;
        snprintf(rel, sizeof(rel), "ct/certs/%s", leaf);
        s->certs[0].der = pki_pem_file_der(rel, &s->certs[0].len);
        s->n = 1;
        for (j = 0; j < 3 && chains[i].chain[j] != NULL; j++) {
            snprintf(rel, sizeof(rel), "ct/certs/%s", chains[i].chain[j]);
            s->certs[s->n].der = pki_pem_file_der(rel, &s->certs[s->n].len);
            s->n++;
        }
        *path_len = chains[i].path_len;
        *pre_signer = chains[i].pre_signer;
        for (j = 0; j < s->n; j++)
            if (s->certs[j].der == NULL)
                return 0;
        return 1;
    }
    return 0;
}

static void free_chain(sub_chain *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free((void *)s->certs[i].der);
    s->n = 0;
}

/* Checks one SCT of sct_expected.json end to end. */
static void check_case(json_t *c, sub_chain *sub)
{
    const char *sct_file = json_string_value(json_object_get(c, "sct_file"));
    const char *leaf_file = json_string_value(json_object_get(c, "submitted_file"));
    int precert = strcmp(json_string_value(json_object_get(c, "entry_type")), "precert_entry") == 0;
    char rel[256];
    uint8_t *proof, digest[32];
    size_t proof_len, path_len = 0;
    int pre_signer = 0;
    arb_ct_sct sct;
    arb_ct_chain *chain = NULL;
    arb_ct_leaf leaf, leaf2;
    arb_buf enc = ARB_BUF_INIT;
    arb_hash lh;
    arb_errbuf eb;
    uint8_t ca_der_hash[32];

    snprintf(rel, sizeof(rel), "ct/certs/%s", sct_file);
    CHECK((proof = arb_test_read_vector(rel, &proof_len)) != NULL);
    /* The .proof file is the raw SCT given in hex. */
    CHECK(hex_eq(proof, proof_len, json_string_value(json_object_get(c, "sct_hex"))));
    CHECK(arb_ct_sct_decode(&sct, proof, proof_len) == ARB_OK);
    CHECK(hex_eq(sct.log_id, 32, json_string_value(json_object_get(c, "log_id_hex"))));
    CHECK_EQ(sct.timestamp, json_integer_value(json_object_get(c, "timestamp_ms")));
    CHECK(hex_eq(sct.ext, sct.ext_len, json_string_value(json_object_get(c, "extensions_hex"))));
    CHECK_EQ(sct.sig.hash_alg, json_integer_value(json_object_get(c, "hash_alg")));
    CHECK_EQ(sct.sig.sig_alg, json_integer_value(json_object_get(c, "sig_alg")));
    CHECK(hex_eq(sct.sig.sig, sct.sig.sig_len,
                 json_string_value(json_object_get(c, "signature_der_hex"))));
    CHECK(arb_ct_sct_encode(&enc, &sct) == ARB_OK);
    CHECK(enc.len == proof_len && memcmp(enc.data, proof, proof_len) == 0);
    arb_buf_free(&enc);

    /* Validate the chain as the log would on add-chain / add-pre-chain. */
    CHECK(load_chain(sub, leaf_file, &path_len, &pre_signer));
    if (arb_ct_chain_validate(&chain, ca_roots, NULL, precert, sub->certs, sub->n, &eb) != ARB_OK)
        fprintf(stderr, "%s: %s\n", leaf_file, eb.msg);
    CHECK(chain != NULL);
    CHECK_EQ(chain->path_len, path_len);
    CHECK_EQ(chain->has_precert_signer, pre_signer);
    CHECK_EQ(chain->is_precert, precert);
    CHECK(chain->path[0].len == sub->certs[0].len &&
          memcmp(chain->path[0].der, sub->certs[0].der, sub->certs[0].len) == 0);
    {
        size_t ca_len;
        uint8_t *ca = pki_pem_file_der("ct/certs/ca-cert.pem", &ca_len);
        CHECK(ca != NULL);
        sha256(ca, ca_len, ca_der_hash);
        free(ca);
        sha256(chain->path[path_len - 1].der, chain->path[path_len - 1].len, digest);
        CHECK_MEM(digest, ca_der_hash, 32);
    }
    if (!precert) {
        CHECK_EQ(chain->entry.entry_type, ARB_CT_ENTRY_X509);
        CHECK(chain->entry.cert_len == sub->certs[0].len &&
              memcmp(chain->entry.cert, sub->certs[0].der, sub->certs[0].len) == 0);
    } else {
        const char *issuer_file = json_string_value(json_object_get(c, "issuer_file"));
        uint8_t *issuer;
        size_t issuer_len;
        uint8_t ikh[32];

        CHECK_EQ(chain->entry.entry_type, ARB_CT_ENTRY_PRECERT);
        CHECK_EQ(chain->tbs_len, json_integer_value(json_object_get(c, "tbs_precert_len")));
        sha256(chain->tbs, chain->tbs_len, digest);
        CHECK(hex_eq(digest, 32, json_string_value(json_object_get(c, "tbs_precert_sha256"))));
        CHECK(hex_eq(chain->entry.issuer_key_hash, 32,
                     json_string_value(json_object_get(c, "issuer_key_hash_hex"))));
        snprintf(rel, sizeof(rel), "ct/certs/%s", issuer_file);
        CHECK((issuer = pki_pem_file_der(rel, &issuer_len)) != NULL);
        CHECK(pki_spki_hash(issuer, issuer_len, ikh));
        CHECK(arb_ct_issuer_key_hash(digest, issuer, issuer_len) == ARB_OK);
        free(issuer);
        CHECK_MEM(ikh, chain->entry.issuer_key_hash, 32);
        CHECK_MEM(digest, ikh, 32);
    }

    /* The SCT verifies over the rebuilt signed data, and only with the right key. */
    CHECK(arb_ct_sct_verify(test_key, &sct, &chain->entry) == ARB_OK);
    CHECK(arb_ct_sct_verify(pilot_key, &sct, &chain->entry) == ARB_ERR_VERIFY);
    sct.timestamp++;
    CHECK(arb_ct_sct_verify(test_key, &sct, &chain->entry) == ARB_ERR_VERIFY);
    sct.timestamp--;
    /* Through the add-chain answer's JSON and back, it still verifies. */
    {
        char *js = arb_ct_json_sct(&sct);
        arb_ct_sct back;
        uint8_t *st = NULL;
        CHECK(js != NULL);
        CHECK(arb_ct_json_sct_parse(&back, &st, js, strlen(js)) == ARB_OK);
        free(js);
        CHECK(arb_ct_sct_verify(test_key, &back, &chain->entry) == ARB_OK);
        free(st);
    }

    /* The MerkleTreeLeaf and its hash. */
    memset(&leaf, 0, sizeof(leaf));
    leaf.timestamp = sct.timestamp;
    leaf.entry = chain->entry;
    CHECK(arb_ct_leaf_encode(&enc, &leaf) == ARB_OK);
    CHECK_EQ(enc.len, json_integer_value(json_object_get(c, "merkle_tree_leaf_len")));
    CHECK(arb_ct_leaf_hash(sha, &lh, &leaf) == ARB_OK);
    CHECK(hex_eq(lh.b, 32, json_string_value(json_object_get(c, "merkle_leaf_hash_hex"))));
    CHECK(arb_ct_leaf_decode(&leaf2, enc.data, enc.len) == ARB_OK);
    CHECK_EQ(leaf2.timestamp, leaf.timestamp);
    CHECK_EQ(leaf2.entry.entry_type, leaf.entry.entry_type);
    CHECK(leaf2.entry.cert_len == leaf.entry.cert_len &&
          memcmp(leaf2.entry.cert, leaf.entry.cert, leaf.entry.cert_len) == 0);
    arb_buf_free(&enc);

    /* The same chain does not validate against another root. */
    {
        arb_ct_chain *other = NULL;
        CHECK(arb_ct_chain_validate(&other, other_roots, NULL, precert, sub->certs, sub->n, &eb) ==
              ARB_ERR_VERIFY);
        CHECK(other == NULL);
        /* Nor as the other kind of submission. */
        CHECK(arb_ct_chain_validate(&other, ca_roots, NULL, !precert, sub->certs, sub->n, &eb) ==
              ARB_ERR_VERIFY);
    }

    /* The final certificate carries the same SCT, signed over its TBS without
     * the SCT list: that TBS must be the one logged for the precertificate. */
    if (precert) {
        const char *final_file = json_string_value(json_object_get(c, "final_cert_file"));
        uint8_t *final, *scts = NULL, *tbs = NULL;
        size_t final_len, scts_len, tbs_len;
        arb_ct_cert_list list;
        arb_ct_sct emb;
        arb_ct_signed_entry e = chain->entry;

        snprintf(rel, sizeof(rel), "ct/certs/%s", final_file);
        CHECK((final = pki_pem_file_der(rel, &final_len)) != NULL);
        CHECK(arb_ct_embedded_scts(&scts, &scts_len, &tbs, &tbs_len, final, final_len, &eb) ==
              ARB_OK);
        free(final);
        CHECK(tbs_len == chain->tbs_len && memcmp(tbs, chain->tbs, tbs_len) == 0);
        CHECK(arb_ct_sct_list_decode(&list, scts, scts_len) == ARB_OK);
        CHECK_EQ(list.n, 1);
        CHECK(arb_ct_sct_decode(&emb, list.certs[0].der, list.certs[0].len) == ARB_OK);
        CHECK_EQ(emb.timestamp, sct.timestamp);
        e.cert = tbs;
        e.cert_len = tbs_len;
        CHECK(arb_ct_sct_verify(test_key, &emb, &e) == ARB_OK);
        arb_ct_cert_list_free(&list);
        free(scts);
        free(tbs);
    }
    arb_ct_chain_free(chain);
    free(proof);
}

static void test_cases(json_t *doc)
{
    json_t *cases = json_object_get(doc, "cases"), *c;
    size_t i;

    CHECK(json_array_size(cases) == 6);
    json_array_foreach(cases, i, c)
    {
        sub_chain sub;
        unsigned long before = arb_test_failed;
        memset(&sub, 0, sizeof(sub));
        check_case(c, &sub);
        free_chain(&sub);
        if (arb_test_failed != before)
            fprintf(stderr, "case %zu failed\n", i);
    }
}

/* test-invalid-embedded-cert.pem carries another certificate's SCT. */
static void test_invalid_embedded(void)
{
    uint8_t *final, *ca, *scts = NULL, *tbs = NULL;
    size_t final_len, ca_len, scts_len, tbs_len;
    arb_ct_cert_list list;
    arb_ct_sct emb;
    arb_ct_signed_entry e;
    arb_errbuf eb;

    CHECK((final = pki_pem_file_der("ct/certs/test-invalid-embedded-cert.pem", &final_len)) != NULL);
    CHECK((ca = pki_pem_file_der("ct/certs/ca-cert.pem", &ca_len)) != NULL);
    CHECK(arb_ct_embedded_scts(&scts, &scts_len, &tbs, &tbs_len, final, final_len, &eb) == ARB_OK);
    CHECK(arb_ct_sct_list_decode(&list, scts, scts_len) == ARB_OK);
    CHECK_EQ(list.n, 1);
    CHECK(arb_ct_sct_decode(&emb, list.certs[0].der, list.certs[0].len) == ARB_OK);
    CHECK_EQ(emb.timestamp, 1365181457060ull);
    memset(&e, 0, sizeof(e));
    e.entry_type = ARB_CT_ENTRY_PRECERT;
    CHECK(arb_ct_issuer_key_hash(e.issuer_key_hash, ca, ca_len) == ARB_OK);
    e.cert = tbs;
    e.cert_len = tbs_len;
    CHECK(arb_ct_sct_verify(test_key, &emb, &e) == ARB_ERR_VERIFY);
    /* A certificate without an SCT list says so. */
    free(scts);
    free(tbs);
    CHECK(arb_ct_embedded_scts(&scts, &scts_len, &tbs, &tbs_len, ca, ca_len, &eb) ==
          ARB_ERR_NOT_FOUND);
    arb_ct_cert_list_free(&list);
    free(final);
    free(ca);
}

static void test_pilot_sth(json_t *doc)
{
    json_t *r = json_object_get(doc, "get_sth_response");
    const char *root_b64 = json_string_value(json_object_get(r, "sha256_root_hash"));
    const char *sig_b64 = json_string_value(json_object_get(r, "tree_head_signature"));
    uint64_t size = (uint64_t)json_integer_value(json_object_get(r, "tree_size"));
    uint64_t ts = (uint64_t)json_integer_value(json_object_get(r, "timestamp"));
    uint8_t *root = NULL, *sig = NULL;
    size_t root_len, sig_len;
    arb_ct_dsig d;
    arb_buf enc = ARB_BUF_INIT;

    CHECK(root_b64 != NULL && sig_b64 != NULL);
    CHECK(arb_base64_decode(&root, &root_len, root_b64, strlen(root_b64)) == ARB_OK);
    CHECK(root_len == 32);
    CHECK(arb_base64_decode(&sig, &sig_len, sig_b64, strlen(sig_b64)) == ARB_OK);
    CHECK(arb_ct_dsig_decode(&d, sig, sig_len) == ARB_OK);
    CHECK(arb_ct_dsig_encode(&enc, &d) == ARB_OK);
    CHECK(enc.len == sig_len && memcmp(enc.data, sig, sig_len) == 0);
    arb_buf_free(&enc);
    CHECK(arb_ct_sth_verify(pilot_key, &d, ts, size, root) == ARB_OK);
    CHECK(arb_ct_sth_verify(test_key, &d, ts, size, root) == ARB_ERR_VERIFY);
    /* The get-sth answer as a client receives it. */
    {
        char *js = json_dumps(r, JSON_COMPACT);
        uint64_t size2, ts2;
        uint8_t root2[32], *st = NULL;
        arb_ct_dsig d2;
        CHECK(js != NULL);
        CHECK(arb_ct_json_sth_parse(&size2, &ts2, root2, &d2, &st, js, strlen(js)) == ARB_OK);
        free(js);
        CHECK(arb_ct_sth_verify(pilot_key, &d2, ts2, size2, root2) == ARB_OK);
        free(st);
    }
    CHECK(arb_ct_sth_verify(pilot_key, &d, ts, size + 1, root) == ARB_ERR_VERIFY);
    CHECK(arb_ct_sth_verify(pilot_key, &d, ts + 1, size, root) == ARB_ERR_VERIFY);
    root[31] ^= 1;
    CHECK(arb_ct_sth_verify(pilot_key, &d, ts, size, root) == ARB_ERR_VERIFY);
    root[31] ^= 1;
    d.hash_alg = 2;
    CHECK(arb_ct_sth_verify(pilot_key, &d, ts, size, root) == ARB_ERR_VERIFY);
    /* A trailing byte makes the structure unparseable. */
    sig = realloc(sig, sig_len + 1);
    CHECK(sig != NULL);
    sig[sig_len] = 0;
    CHECK(arb_ct_dsig_decode(&d, sig, sig_len + 1) == ARB_ERR_PARSE);
    free(root);
    free(sig);
}

/* test-root-certs is an upstream get-roots answer: base64 DER certificates
 * (two Belgian roots) that all parse. */
static void test_get_roots_file(void)
{
    size_t n, i, count = 0, leaf_len;
    uint8_t *txt = arb_test_read_vector("ct/certs/test-root-certs", &n);
    uint8_t *leaf = pki_pem_file_der("ct/certs/test-cert.pem", &leaf_len);
    json_t *doc, *v;

    CHECK(txt != NULL && leaf != NULL);
    doc = json_loadb((const char *)txt, n, 0, NULL);
    free(txt);
    CHECK(doc != NULL);
    json_array_foreach(json_object_get(doc, "certificates"), i, v)
    {
        uint8_t *der = NULL, ikh[32];
        size_t der_len;
        const char *s = json_string_value(v);
        if (s != NULL && arb_base64_decode(&der, &der_len, s, strlen(s)) == ARB_OK) {
            if (arb_ct_issuer_key_hash(ikh, der, der_len) == ARB_OK)
                count++;
            free(der);
        }
    }
    json_decref(doc);
    free(leaf);
    CHECK_EQ(count, 2);
}

/* An unrelated root, made now. */
static arb_ct_roots *make_other_roots(void)
{
    pki_spec spec = {"Sample CA", NULL, 1, 0, 2000000000, PKI_CA};
    EVP_PKEY *k = pki_key();
    X509 *x = k != NULL ? pki_cert(&spec, k, NULL, NULL) : NULL;
    char *pem = NULL;
    size_t len = 0;
    arb_ct_roots *r = NULL;
    arb_errbuf eb;

    if (x != NULL)
        pem = pki_pem(x, &len);
    if (pem != NULL && arb_ct_roots_from_pem(&r, pem, len, &eb) != ARB_OK)
        r = NULL;
    free(pem);
    X509_free(x);
    EVP_PKEY_free(k);
    return r;
}

int main(void)
{
    size_t n;
    uint8_t *txt;
    json_t *doc = NULL, *pilot = NULL;

    if (arb_sha256_new(&sha) != ARB_OK)
        return 1;
    test_key = load_verifier("ct/certs/ct-server-key-public.pem");
    pilot_key = load_verifier("ct/certs/google-ct-pilot-server-key-public.pem");
    ca_roots = load_roots("ct/certs/ca-cert.pem");
    other_roots = make_other_roots();
    if ((txt = arb_test_read_vector("ct/sct_expected.json", &n)) != NULL) {
        doc = json_loadb((const char *)txt, n, 0, NULL);
        free(txt);
    }
    if ((txt = arb_test_read_vector("ct/real_sth_pilot.json", &n)) != NULL) {
        pilot = json_loadb((const char *)txt, n, 0, NULL);
        free(txt);
    }
    if (test_key != NULL && pilot_key != NULL && ca_roots != NULL && other_roots != NULL &&
        doc != NULL && pilot != NULL) {
        test_log_ids(doc, pilot);
        test_cases(doc);
        test_invalid_embedded();
        test_pilot_sth(pilot);
        test_get_roots_file();
    } else {
        arb_test_fail(__FILE__, __LINE__, "cannot load the vectors");
    }
    json_decref(doc);
    json_decref(pilot);
    arb_ct_verifier_free(test_key);
    arb_ct_verifier_free(pilot_key);
    arb_ct_roots_free(ca_roots);
    arb_ct_roots_free(other_roots);
    arb_sha256_free(sha);
    return arb_test_done();
}
