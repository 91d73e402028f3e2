/* The witness state machine (c2sp.org/tlog-witness add-checkpoint): cosigns a
 * first checkpoint and a same-size repeat, refuses rollbacks and conflicting
 * roots (409 with the known size), bad proofs (422), unknown logs (404),
 * untrusted signatures (403), malformed bodies (400); its state survives
 * reopening. Cosignatures are checked with the note library's type 0x04
 * verifier made from the witness key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/witness.h"
#include "merkle/buf.h"
#include "merkle/checkpoint.h"
#include "tests/test.h"
#include "tests/unit/audit/common.h"

#define ORIGIN "example.com/log"

static arb_note_signer *log_key, *impostor, *wit_key;

/* "old N\n" + proof lines + "\n" + a checkpoint of (size, root fill) signed by s. */
static uint8_t *request(size_t *len, uint64_t old, int nproof, uint64_t size, uint8_t fill,
                        const arb_note_signer *s)
{
    arb_checkpoint cp;
    uint8_t *note = NULL;
    size_t note_len = 0;
    arb_buf b = ARB_BUF_INIT;
    char line[64];
    arb_errbuf eb;

    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)ORIGIN;
    cp.size = size;
    memset(cp.root.b, fill, 32);
    cp.ext = (char *)"";
    if (arb_checkpoint_sign(&note, &note_len, &cp, &s, 1, 1700000000000ULL, &eb) != ARB_OK)
        return NULL;
    snprintf(line, sizeof line, "old %llu\n", (unsigned long long)old);
    arb_buf_put(&b, line, strlen(line));
    for (int i = 0; i < nproof; i++)
        arb_buf_put(&b, "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", 45);
    arb_buf_u8(&b, '\n');
    arb_buf_put(&b, note, note_len);
    free(note);
    return arb_buf_take(&b, len);
}

static int post(arb_audit_witness *w, uint64_t old, int nproof, uint64_t size, uint8_t fill,
                const arb_note_signer *s, arb_audit_witness_reply *r)
{
    size_t len = 0;
    uint8_t *body = request(&len, old, nproof, size, fill, s);
    int st;
    if (body == NULL)
        return -1;
    if (arb_audit_witness_add_checkpoint(w, body, len, 1700000001000ULL, r) != ARB_OK)
        st = -1;
    else
        st = r->status;
    free(body);
    return st;
}

/* The cosignature in r verifies over the checkpoint with the witness's public key. */
static int cosig_valid(const arb_audit_witness_reply *r, uint64_t size, uint8_t fill)
{
    arb_checkpoint cp;
    char *text = NULL;
    size_t tl = 0;
    arb_buf msg = ARB_BUF_INIT;
    arb_note *n = NULL;
    arb_note_verifier *v = NULL;
    arb_note_result res;
    arb_errbuf eb;
    int ok = 0;

    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)ORIGIN;
    cp.size = size;
    memset(cp.root.b, fill, 32);
    cp.ext = (char *)"";
    if (arb_checkpoint_format(&text, &tl, &cp) != ARB_OK)
        return 0;
    arb_buf_put(&msg, text, tl);
    arb_buf_u8(&msg, '\n');
    arb_buf_put(&msg, r->body, r->body_len);
    if (!msg.oom && arb_note_parse(&n, msg.data, msg.len, &eb) == ARB_OK &&
        arb_note_signer_verifier(&v, wit_key) == ARB_OK &&
        arb_note_verify(n, (const arb_note_verifier *const *)&v, 1, &res, &eb) == ARB_OK)
        ok = res.verified && res.timestamp == 1700000001;
    arb_note_verifier_free(v);
    arb_note_free(n);
    arb_buf_free(&msg);
    free(text);
    return ok;
}

static arb_audit_witness *open_witness(const char *dir)
{
    arb_audit_witness *w = NULL;
    arb_note_verifier *v = NULL;
    arb_errbuf eb;
    if (arb_audit_witness_open(&w, dir, wit_key, &eb) != ARB_OK)
        return NULL;
    if (arb_note_signer_verifier(&v, log_key) != ARB_OK ||
        arb_audit_witness_add_log(w, v) != ARB_OK) {
        arb_audit_witness_close(w);
        return NULL;
    }
    return w;
}

static void test_witness(const char *dir)
{
    arb_audit_witness *w = open_witness(dir);
    arb_audit_witness_reply r;
    uint64_t size;
    arb_hash root;
    arb_errbuf eb;

    memset(&r, 0, sizeof r);
    CHECK_OR(w != NULL, );
    /* first checkpoint: old 0, no proof */
    CHECK_EQ(post(w, 0, 0, 5, 0xaa, log_key, &r), 200);
    CHECK(cosig_valid(&r, 5, 0xaa));
    CHECK(!cosig_valid(&r, 5, 0xab));
    free(r.body);
    CHECK_EQ(arb_audit_witness_state(w, ORIGIN, &size, &root, &eb), ARB_OK);
    CHECK_EQ(size, 5);
    CHECK_EQ(root.b[0], 0xaa);
    /* rollback to old 0: 409 with the known size */
    CHECK_EQ(post(w, 0, 0, 7, 0xaa, log_key, &r), 409);
    CHECK_STR(r.content_type, "text/x.tlog.size");
    CHECK_STR(r.body, "5\n");
    free(r.body);
    /* a stale old size */
    CHECK_EQ(post(w, 3, 0, 7, 0xaa, log_key, &r), 409);
    CHECK_STR(r.body, "5\n");
    free(r.body);
    /* same size, same root: cosigned again */
    CHECK_EQ(post(w, 5, 0, 5, 0xaa, log_key, &r), 200);
    CHECK(cosig_valid(&r, 5, 0xaa));
    free(r.body);
    /* same size, another root: 409, state unchanged */
    CHECK_EQ(post(w, 5, 0, 5, 0xbb, log_key, &r), 409);
    free(r.body);
    /* same size with a non-empty proof: 422 */
    CHECK_EQ(post(w, 5, 1, 5, 0xaa, log_key, &r), 422);
    free(r.body);
    /* old size larger than the checkpoint: 400 */
    CHECK_EQ(post(w, 5, 0, 4, 0xaa, log_key, &r), 400);
    free(r.body);
    /* signed by an unknown key of the same name: 403 */
    CHECK_EQ(post(w, 5, 0, 9, 0xaa, impostor, &r), 403);
    free(r.body);
    /* malformed bodies: 400 */
    {
        static const char *const bad[] = {"", "old\n\n", "old 01\n\n", "old 5\nAAAA\n\n",
                                          "old 5\n", "new 5\n\nx\n"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            CHECK_EQ(arb_audit_witness_add_checkpoint(w, (const uint8_t *)bad[i], strlen(bad[i]),
                                                      1, &r),
                     ARB_OK);
            CHECK_EQ(r.status, 400);
            free(r.body);
        }
    }
    CHECK_EQ(arb_audit_witness_state(w, ORIGIN, &size, &root, &eb), ARB_OK);
    CHECK_EQ(size, 5);
    CHECK_EQ(root.b[0], 0xaa);
    arb_audit_witness_close(w);

    /* reopened: the state is still there */
    w = open_witness(dir);
    CHECK_OR(w != NULL, );
    CHECK_EQ(post(w, 0, 0, 5, 0xaa, log_key, &r), 409);
    CHECK_STR(r.body, "5\n");
    free(r.body);
    arb_audit_witness_close(w);
}

static void test_unknown_origin(const char *dir)
{
    arb_audit_witness *w = NULL;
    arb_audit_witness_reply r;
    arb_errbuf eb;
    CHECK_EQ(arb_audit_witness_open(&w, dir, wit_key, &eb), ARB_OK);
    CHECK_EQ(post(w, 0, 0, 5, 0xaa, log_key, &r), 404);
    free(r.body);
    /* a first checkpoint with a proof: 422 */
    arb_audit_witness_close(w);
    w = open_witness(dir);
    CHECK_OR(w != NULL, );
    CHECK_EQ(post(w, 0, 2, 5, 0xaa, log_key, &r), 422);
    free(r.body);
    arb_audit_witness_close(w);
    /* the log key is not a cosignature key */
    CHECK_EQ(arb_audit_witness_open(&w, dir, log_key, &eb), ARB_ERR_INVALID_ARG);
}

/* The published rome2026h1 checkpoint (signed by the log's ECDSA key as an
 * RFC6962NoteSignature) is cosigned as a first checkpoint. */
static void test_real_checkpoint(const char *dir)
{
    size_t nl, ll;
    uint8_t *note = arb_test_read_vector("ct/static_ct/rome2026h1_test/checkpoint", &nl);
    uint8_t *lj = arb_test_read_vector("ct/static_ct/rome2026h1_test/log.v3.json", &ll);
    char *log = (char *)lj, *k, *e;
    uint8_t *spki = NULL, *body;
    size_t spki_len = 0;
    arb_note_verifier *v = NULL;
    arb_audit_witness *w = NULL;
    arb_audit_witness_reply r;
    arb_errbuf eb;
    uint64_t size;
    arb_hash root;

    CHECK_OR(note && log, );
    k = strstr(log, "\"key\": \"");
    CHECK_OR(k != NULL, );
    k += 8;
    e = strchr(k, '"');
    CHECK_OR(e != NULL, );
    CHECK_EQ(arb_base64_decode(&spki, &spki_len, k, (size_t)(e - k)), ARB_OK);
    CHECK_EQ(arb_note_verifier_rfc6962(&v, "rome2026h1.example.org", spki, spki_len, &eb), ARB_OK);
    CHECK_EQ(arb_audit_witness_open(&w, dir, wit_key, &eb), ARB_OK);
    CHECK_EQ(arb_audit_witness_add_log(w, v), ARB_OK);
    body = malloc(nl + 7);
    CHECK_OR(body != NULL, );
    memcpy(body, "old 0\n\n", 7);
    memcpy(body + 7, note, nl);
    CHECK_EQ(arb_audit_witness_add_checkpoint(w, body, nl + 7, 1700000001000ULL, &r), ARB_OK);
    CHECK_EQ(r.status, 200);
    free(r.body);
    CHECK_EQ(arb_audit_witness_state(w, "rome2026h1.example.org", &size, &root, &eb), ARB_OK);
    CHECK_EQ(size, 300);
    /* the same note with its signature damaged: 403 */
    body[nl + 7 - 3] ^= 1;
    CHECK_EQ(arb_audit_witness_add_checkpoint(w, body, nl + 7, 1700000001000ULL, &r), ARB_OK);
    CHECK(r.status == 403 || r.status == 400);
    free(r.body);
    arb_audit_witness_close(w);
    free(body);
    free(spki);
    free(lj);
    free(note);
}

/* A real tree: the witness cosigns 5 -> 8 with a correct consistency proof,
 * refuses the same step with one hash changed (422), and a fork of the
 * first 5 leaves (422). */
static uint8_t *ext_request(size_t *len, uint64_t old, const arb_hash *proof, size_t n,
                            uint64_t size, const arb_hash *root)
{
    arb_checkpoint cp;
    uint8_t *note = NULL;
    size_t note_len = 0;
    arb_buf b = ARB_BUF_INIT;
    char line[64];
    arb_errbuf eb;

    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)ORIGIN;
    cp.size = size;
    cp.root = *root;
    cp.ext = (char *)"";
    if (arb_checkpoint_sign(&note, &note_len, &cp, (const arb_note_signer *const *)&log_key, 1,
                            1700000000000ULL, &eb) != ARB_OK)
        return NULL;
    snprintf(line, sizeof line, "old %llu\n", (unsigned long long)old);
    arb_buf_put(&b, line, strlen(line));
    for (size_t i = 0; i < n; i++) {
        char *h = arb_base64_encode(proof[i].b, 32);
        arb_buf_put(&b, h, strlen(h));
        arb_buf_u8(&b, '\n');
        free(h);
    }
    arb_buf_u8(&b, '\n');
    arb_buf_put(&b, note, note_len);
    free(note);
    return arb_buf_take(&b, len);
}

/* Posts the request ext_request made (body and *len). */
static int post_raw(arb_audit_witness *w, uint8_t *body, const size_t *len)
{
    arb_audit_witness_reply r;
    int st = -1;
    if (body && arb_audit_witness_add_checkpoint(w, body, *len, 1700000001000ULL, &r) == ARB_OK) {
        st = r.status;
        free(r.body);
    }
    free(body);
    return st;
}

static void test_extension(const char *dir)
{
    arb_audit_witness *w = open_witness(dir);
    arb_hash leaves[8], fork[8], r5, r8, f8, p[ARB_MERKLE_MAX_PROOF], pf[ARB_MERKLE_MAX_PROOF];
    size_t pn = 0, pfn = 0, len;
    uint64_t size;
    arb_hash root;
    arb_errbuf eb;

    CHECK_OR(w != NULL, );
    tree_leaves(leaves, 8, 0);
    tree_leaves(fork, 8, 1);
    tree_root(leaves, 5, &r5);
    tree_root(leaves, 8, &r8);
    memcpy(fork, leaves, 3 * sizeof fork[0]); /* shares 3 leaves, then differs */
    tree_root(fork, 8, &f8);
    CHECK(tree_consistency(leaves, 5, 8, p, &pn));
    CHECK(tree_consistency(fork, 5, 8, pf, &pfn));
    CHECK_EQ(post_raw(w, ext_request(&len, 0, NULL, 0, 5, &r5), &len), 200);
    /* the forked tree's own proof does not lead from our size-5 root */
    CHECK_EQ(post_raw(w, ext_request(&len, 5, pf, pfn, 8, &f8), &len), 422);
    p[1].b[3] ^= 0x10;
    CHECK_EQ(post_raw(w, ext_request(&len, 5, p, pn, 8, &r8), &len), 422);
    p[1].b[3] ^= 0x10;
    CHECK_EQ(post_raw(w, ext_request(&len, 5, p, pn, 8, &r8), &len), 200);
    CHECK_EQ(arb_audit_witness_state(w, ORIGIN, &size, &root, &eb), ARB_OK);
    CHECK_EQ(size, 8);
    CHECK(arb_hash_eq(&root, &r8));
    arb_audit_witness_close(w);
}

int main(void)
{
    char dir[512], d1[600], d2[600], d3[600];
    arb_errbuf eb;

    CHECK_OR(arb_test_tmpdir(dir, sizeof dir) == 0, 1);
    CHECK_OR(arb_note_signer_generate(&log_key, ORIGIN, ARB_NOTE_ED25519, NULL, NULL, &eb) == ARB_OK,
             1);
    CHECK_OR(arb_note_signer_generate(&impostor, ORIGIN, ARB_NOTE_ED25519, NULL, NULL, &eb) ==
                 ARB_OK,
             1);
    CHECK_OR(arb_note_signer_generate(&wit_key, "witness.example/w1", ARB_NOTE_COSIG_V1, NULL, NULL,
                                      &eb) == ARB_OK,
             1);
    snprintf(d1, sizeof d1, "%s/w1", dir);
    snprintf(d2, sizeof d2, "%s/w2", dir);
    test_witness(d1);
    test_unknown_origin(d2);
    snprintf(d3, sizeof d3, "%s/w3", dir);
    test_real_checkpoint(d3);
    {
        char d4[600];
        snprintf(d4, sizeof d4, "%s/w4", dir);
        test_extension(d4);
    }
    arb_note_signer_free(log_key);
    arb_note_signer_free(impostor);
    arb_note_signer_free(wit_key);
    arb_test_rmtree(dir);
    return arb_test_done();
}
