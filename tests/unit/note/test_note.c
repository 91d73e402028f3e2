/* Signed notes and checkpoints: round trips with fresh keys of every type,
 * every single-byte change of a signed note failing, malformed notes and
 * checkpoints being parse errors, and the RFC 6962 signature checked by an
 * independent OpenSSL computation. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "merkle/buf.h"
#include "merkle/checkpoint.h"
#include "merkle/note.h"
#include "tests/test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define EMPTY_ROOT_B64 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static arb_err parse_str(arb_note **n, const char *s)
{
    arb_errbuf eb;
    return arb_note_parse(n, (const uint8_t *)s, strlen(s), &eb);
}

/* A fresh P-256 key as PEM (SEC1 when sec1 is set, else PKCS#8), and its SPKI DER. */
static char *gen_p256(int sec1, uint8_t **spki, size_t *spki_len)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, *p;
    long n;
    unsigned char *der = NULL;
    int dl;

    if (k == NULL || bio == NULL)
        goto out;
    if (sec1) {
        /* As `openssl ecparam -genkey` writes it: parameters, then the key. */
        BIO_puts(bio, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n");
        if (!PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0, NULL, NULL))
            goto out;
    } else if (!PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)) {
        goto out;
    }
    n = BIO_get_mem_data(bio, &p);
    pem = malloc((size_t)n + 1);
    if (pem == NULL)
        goto out;
    memcpy(pem, p, (size_t)n);
    pem[n] = 0;
    dl = i2d_PUBKEY(k, &der);
    *spki = malloc((size_t)dl);
    memcpy(*spki, der, (size_t)dl);
    *spki_len = (size_t)dl;
    OPENSSL_free(der);
out:
    BIO_free(bio);
    EVP_PKEY_free(k);
    return pem;
}

static arb_note_signer *make_signer(uint8_t type, const char *name, int variant)
{
    arb_note_signer *s = NULL;
    arb_errbuf eb;

    if (type == ARB_NOTE_RFC6962) {
        uint8_t *spki = NULL;
        size_t spki_len = 0;
        char *pem = gen_p256(variant & 1, &spki, &spki_len);
        if (pem == NULL || arb_note_signer_rfc6962(&s, name, (const uint8_t *)pem, strlen(pem),
                                                   &eb) != ARB_OK)
            s = NULL;
        free(pem);
        free(spki);
        return s;
    }
    if (arb_note_signer_generate(&s, name, type, NULL, NULL, &eb) != ARB_OK)
        return NULL;
    return s;
}

static char *checkpoint_text(const char *origin, uint64_t size, const char *ext)
{
    arb_checkpoint cp;
    char *out = NULL;
    size_t len;
    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)origin;
    cp.size = size;
    arb_test_rand_bytes(cp.root.b, 32);
    cp.ext = (char *)ext;
    cp.ext_len = ext ? strlen(ext) : 0;
    if (arb_checkpoint_format(&out, &len, &cp) != ARB_OK)
        return NULL;
    return out;
}

/* Signs text with s, then checks: verifies; formats and re-parses to the same
 * bytes; every single-byte change (xor with a random non-zero byte) of the
 * whole signed note fails to open. */
static void round_trip(arb_note_signer *s, const char *text)
{
    arb_note *n = NULL, *back = NULL;
    arb_note_verifier *v = NULL;
    arb_note_result res;
    uint8_t *msg = NULL, *again = NULL;
    size_t len = 0, again_len = 0;
    arb_errbuf eb;
    const uint64_t now_ms = 1767139200123ull;

    CHECK(arb_note_signer_verifier(&v, s) == ARB_OK);
    CHECK_EQ(arb_note_verifier_key_id(v), arb_note_signer_key_id(s));
    CHECK(arb_note_new(&n, text, strlen(text), &eb) == ARB_OK);
    CHECK(arb_note_sign(n, s, now_ms, &eb) == ARB_OK);
    CHECK_EQ(n->nsigs, 1);
    CHECK(arb_note_format(&msg, &len, n) == ARB_OK);
    CHECK(arb_note_parse(&back, msg, len, &eb) == ARB_OK);
    CHECK(arb_note_format(&again, &again_len, back) == ARB_OK);
    CHECK_EQ(again_len, len);
    CHECK_MEM(again, msg, len);
    free(again);
    const arb_note_verifier *cv = v;
    CHECK(arb_note_verify(back, &cv, 1, &res, &eb) == ARB_OK);
    CHECK(res.verified);
    switch (arb_note_signer_type(s)) {
    case ARB_NOTE_COSIG_V1:
        CHECK(res.timestamp == now_ms / 1000);
        break;
    case ARB_NOTE_RFC6962:
        CHECK(res.timestamp == now_ms);
        break;
    default:
        CHECK(res.timestamp == 0);
    }
    arb_note_free(back);

    for (size_t i = 0; i < len; i++) {
        uint8_t saved = msg[i];
        msg[i] ^= (uint8_t)(1 + arb_test_rand_below(255));
        back = NULL;
        arb_err err = arb_note_parse(&back, msg, len, &eb);
        if (err == ARB_OK) {
            err = arb_note_verify(back, &cv, 1, NULL, &eb);
            arb_note_free(back);
        }
        if (err == ARB_OK)
            arb_test_fail(__FILE__, __LINE__, "byte %zu changed, note still verifies", i);
        CHECK(err != ARB_OK);
        msg[i] = saved;
    }
    /* Re-signing with the same key replaces the line rather than adding one. */
    CHECK(arb_note_sign(n, s, now_ms + 1000, &eb) == ARB_OK);
    CHECK_EQ(n->nsigs, 1);
    free(msg);
    arb_note_free(n);
    arb_note_verifier_free(v);
}

static void test_round_trips(void)
{
    static const uint8_t types[] = {ARB_NOTE_ED25519, ARB_NOTE_COSIG_V1, ARB_NOTE_RFC6962};
    unsigned long rounds = arb_test_count(UNDER_ASAN ? 2 : 6);

    for (unsigned long r = 0; r < rounds; r++) {
        for (size_t t = 0; t < sizeof types; t++) {
            const char *origin = "log.example.org/r\xc3\xa9seau";
            arb_note_signer *s = make_signer(types[t], origin, (int)r);
            char *text;
            CHECK(s != NULL);
            CHECK_STR(arb_note_signer_name(s), origin);
            CHECK_EQ(arb_note_signer_type(s), types[t]);
            if (types[t] == ARB_NOTE_ED25519)
                text = strdup("Any text\n\nwith an empty line, and \xe2\x80\x94 dashes.\n");
            else
                text = checkpoint_text(origin, arb_test_rand(),
                                       types[t] == ARB_NOTE_COSIG_V1 && r % 2 ? "ext a\next b\n"
                                                                              : NULL);
            CHECK(text != NULL);
            round_trip(s, text);
            free(text);
            arb_note_signer_free(s);
        }
    }
}

/* Generated skeys and vkeys parse back to the same key. */
static void test_key_strings(void)
{
    arb_note_signer *s = NULL, *s2 = NULL;
    arb_note_verifier *v = NULL;
    char *skey = NULL, *vkey = NULL, *vkey2 = NULL;
    uint8_t *sig1 = NULL, *sig2 = NULL;
    size_t l1, l2;
    arb_errbuf eb;
    static const char text[] = "hello\n";

    CHECK(arb_note_signer_generate(&s, "example.com/w", ARB_NOTE_COSIG_V1, &skey, &vkey, &eb) ==
          ARB_OK);
    CHECK(strncmp(skey, "PRIVATE+KEY+example.com/w+", 26) == 0);
    CHECK(arb_note_signer_from_skey(&s2, skey, strlen(skey), &eb) == ARB_OK);
    CHECK_EQ(arb_note_signer_key_id(s2), arb_note_signer_key_id(s));
    CHECK_EQ(arb_note_signer_type(s2), ARB_NOTE_COSIG_V1);
    CHECK(arb_note_verifier_from_vkey(&v, vkey, strlen(vkey), &eb) == ARB_OK);
    CHECK_EQ(arb_note_verifier_key_id(v), arb_note_signer_key_id(s));
    CHECK(arb_note_verifier_vkey(&vkey2, v) == ARB_OK);
    CHECK_STR(vkey2, vkey);
    /* Cosignatures need a checkpoint. */
    CHECK(arb_note_signer_sign(&sig1, &l1, s, (const uint8_t *)text, 6, 0, &eb) ==
          ARB_ERR_INVALID_ARG);
    arb_note_signer_free(s);
    arb_note_signer_free(s2);
    arb_note_verifier_free(v);
    arb_note_secret_free(skey);
    free(vkey);
    free(vkey2);

    /* Type 0x01: the same seed signs identically. */
    CHECK(arb_note_signer_generate(&s, "n", ARB_NOTE_ED25519, &skey, NULL, &eb) == ARB_OK);
    CHECK(arb_note_signer_from_skey(&s2, skey, strlen(skey), &eb) == ARB_OK);
    CHECK(arb_note_signer_sign(&sig1, &l1, s, (const uint8_t *)text, 6, 0, &eb) == ARB_OK);
    CHECK(arb_note_signer_sign(&sig2, &l2, s2, (const uint8_t *)text, 6, 0, &eb) == ARB_OK);
    CHECK_EQ(l1, 64);
    CHECK_EQ(l2, 64);
    CHECK_MEM(sig1, sig2, 64);
    free(sig1);
    free(sig2);
    arb_note_signer_free(s);
    arb_note_signer_free(s2);
    arb_note_secret_free(skey);

    /* Malformed key strings. */
    static const char *const bad_vkeys[] = {
        "",
        "name",
        "name+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW ",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+",
    };
    for (size_t i = 0; i < sizeof bad_vkeys / sizeof bad_vkeys[0]; i++) {
        v = (arb_note_verifier *)1;
        CHECK(arb_note_verifier_from_vkey(&v, bad_vkeys[i], strlen(bad_vkeys[i]), &eb) ==
              ARB_ERR_PARSE);
        CHECK(v == NULL);
    }
    /* Upper-case hex in the key ID is accepted, as Go's ParseUint does. */
    static const char upper[] = "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    CHECK(arb_note_verifier_from_vkey(&v, upper, strlen(upper), &eb) == ARB_OK);
    arb_note_verifier_free(v);

    static const char *const bad_skeys[] = {
        "PRIVATE+KEY+PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
        "PRIVATE+KEYS+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+BYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",
        "PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    };
    for (size_t i = 0; i < sizeof bad_skeys / sizeof bad_skeys[0]; i++) {
        s = (arb_note_signer *)1;
        CHECK(arb_note_signer_from_skey(&s, bad_skeys[i], strlen(bad_skeys[i]), &eb) ==
              ARB_ERR_PARSE);
        CHECK(s == NULL);
    }
}

static void test_names(void)
{
    static const char *const good[] = {"a", "example.com/log42", "r\xc3\xa9seau", "x\x7fy",
                                       "\xf0\x9f\x8c\xb3"};
    static const char *const bad[] = {"",          "a b",          "a+b",         "a\tb",
                                      "a\nb",      "a\xc2\xa0" "b", /* U+00A0 */
                                      "a\xe2\x80\x83" "b",          /* U+2003 */
                                      "a\xe3\x80\x80" "b",          /* U+3000 */
                                      "a\xe2\x80\xa8",              /* U+2028 */
                                      "a\xc2\x85",                  /* U+0085 */
                                      "\xc0\xaf",                   /* overlong */
                                      "\xed\xa0\x80",               /* surrogate */
                                      "\xf4\x90\x80\x80",           /* > U+10FFFF */
                                      "\xe2\x80",                   /* truncated */
                                      "\x01"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(arb_note_name_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!arb_note_name_valid(bad[i], strlen(bad[i])));
}

static void test_malformed_notes(void)
{
    /* "AAAAAAA=" decodes to 5 bytes: key ID 0 and one signature byte. */
    static const char *const bad[] = {
        "",
        "\n",
        "\n\n",
        "text\n",
        "text\n\n",
        "text\n\n\xe2\x80\x94 name AAAAAAA=",               /* no final newline */
        "text\n\xe2\x80\x94 name AAAAAAA=\n",               /* no blank line */
        "text\r\n\n\xe2\x80\x94 name AAAAAAA=\n",           /* CR */
        "te\txt\n\n\xe2\x80\x94 name AAAAAAA=\n",           /* tab */
        "te\x00xt\n\n\xe2\x80\x94 name AAAAAAA=\n",         /* NUL (strlen stops: no sig) */
        "te\xffxt\n\n\xe2\x80\x94 name AAAAAAA=\n",         /* bad UTF-8 */
        "te\xc0\xafxt\n\n\xe2\x80\x94 name AAAAAAA=\n",     /* overlong */
        "text\n\n- name AAAAAAA=\n",                        /* hyphen, not em dash */
        "text\n\n\xe2\x80\x94name AAAAAAA=\n",              /* no space after dash */
        "text\n\n\xe2\x80\x94  AAAAAAA=\n",                 /* empty name */
        "text\n\n\xe2\x80\x94 na+me AAAAAAA=\n",            /* plus in name */
        "text\n\n\xe2\x80\x94 name\n",                      /* no signature */
        "text\n\n\xe2\x80\x94 name \n",                     /* empty signature */
        "text\n\n\xe2\x80\x94 name AAAAAA==\n",             /* 4 bytes: no signature */
        "text\n\n\xe2\x80\x94 name AAAAAAB=\n",             /* non-canonical base64 */
        "text\n\n\xe2\x80\x94 name AAAAAAA\n",              /* unpadded */
        "text\n\n\xe2\x80\x94 name AAAAAAA= \n",            /* trailing space */
        "text\n\n\xe2\x80\x94 name  AAAAAAA=\n",            /* double space */
        "text\n\n\xe2\x80\x94 name AAAAAAA=\nrubbish\n",    /* non-signature line */
        "text\n\n\xe2\x80\x94 name AAAAAAA=\n\n",           /* trailing blank line */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arb_note *n = (arb_note *)1;
        arb_err err = parse_str(&n, bad[i]);
        if (err != ARB_ERR_PARSE)
            arb_test_fail(__FILE__, __LINE__, "case %zu parsed (%d)", i, (int)err);
        CHECK(err == ARB_ERR_PARSE);
        CHECK(n == NULL);
    }

    /* Valid edge cases: the text may contain blank lines (it ends at the LAST
     * one); DEL and non-ASCII are fine. */
    arb_note *n = NULL;
    CHECK(parse_str(&n, "a\n\nb\n\n\xe2\x80\x94 name AAAAAAA=\n") == ARB_OK);
    CHECK_STR(n->text, "a\n\nb\n");
    CHECK_EQ(n->nsigs, 1);
    CHECK_STR(n->sigs[0].name, "name");
    CHECK_EQ(n->sigs[0].key_id, 0);
    CHECK_EQ(n->sigs[0].sig_len, 1);
    arb_note_free(n);
    CHECK(parse_str(&n, "\n\n\xe2\x80\x94 name AAAAAAA=\n") == ARB_OK);
    CHECK_STR(n->text, "\n");
    arb_note_free(n);
    CHECK(parse_str(&n, "\x7f \xe2\x80\x94\n\n\xe2\x80\x94 n\xc3\xa9 AAAAAAA=\n") == ARB_OK);
    arb_note_free(n);

    /* Signature count: ARB_NOTE_MAX_SIGS lines parse, one more does not. */
    arb_buf b = ARB_BUF_INIT;
    arb_buf_put(&b, "text\n\n", 6);
    for (int i = 0; i < ARB_NOTE_MAX_SIGS; i++)
        arb_buf_put(&b, "\xe2\x80\x94 name AAAAAAA=\n", 18);
    CHECK(!b.oom);
    CHECK(arb_note_parse(&n, b.data, b.len, NULL) == ARB_OK);
    CHECK_EQ(n->nsigs, ARB_NOTE_MAX_SIGS);
    arb_note_free(n);
    arb_buf_put(&b, "\xe2\x80\x94 name AAAAAAA=\n", 18);
    CHECK(arb_note_parse(&n, b.data, b.len, NULL) == ARB_ERR_PARSE);
    arb_buf_free(&b);

    /* Unsigned text rules for arb_note_new. */
    CHECK(arb_note_new(&n, "no newline", 10, NULL) == ARB_ERR_PARSE);
    CHECK(arb_note_new(&n, "", 0, NULL) == ARB_ERR_PARSE);
    CHECK(arb_note_new(&n, "cr\r\n", 4, NULL) == ARB_ERR_PARSE);
    CHECK(arb_note_new(&n, "ok\n", 3, NULL) == ARB_OK);
    uint8_t *out = NULL;
    size_t out_len = 0;
    CHECK(arb_note_format(&out, &out_len, n) == ARB_ERR_INVALID_ARG); /* unsigned */
    CHECK(arb_note_add_sig(n, "bad name", 1, (const uint8_t *)"x", 1, NULL) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_note_add_sig(n, "name", 1, (const uint8_t *)"x", 0, NULL) == ARB_ERR_INVALID_ARG);
    arb_note_free(n);
}

/* Random byte strings and random mutations of a valid note never crash, and
 * whatever parses formats back to the input. */
static void test_random_inputs(void)
{
    static const char base[] =
        "example.com/log\n5\n" EMPTY_ROOT_B64 "\n\n\xe2\x80\x94 example.com/log AAAAAAA=\n"
        "\xe2\x80\x94 w.example AAAAAAA=\n";
    unsigned long rounds = arb_test_count(UNDER_ASAN ? 3000 : 20000);
    uint8_t buf[sizeof base + 8];

    for (unsigned long r = 0; r < rounds; r++) {
        size_t len = sizeof base - 1;
        memcpy(buf, base, len);
        for (int k = 1 + (int)arb_test_rand_below(3); k > 0; k--) {
            size_t at = arb_test_rand_below(len);
            static const uint8_t picks[] = {'\n', ' ', '+', '=', 0xe2, 0x80, 0x94, 'A', 0, '\r'};
            buf[at] = arb_test_rand_below(2) ? picks[arb_test_rand_below(sizeof picks)]
                                             : (uint8_t)arb_test_rand();
        }
        if (arb_test_rand_below(4) == 0)
            len = arb_test_rand_below(len + 1);
        arb_note *n = NULL;
        if (arb_note_parse(&n, buf, len, NULL) == ARB_OK) {
            uint8_t *out = NULL;
            size_t out_len = 0;
            CHECK(arb_note_format(&out, &out_len, n) == ARB_OK);
            CHECK_EQ(out_len, len);
            CHECK_MEM(out, buf, len);
            free(out);
            arb_checkpoint *cp = NULL;
            if (arb_checkpoint_parse(&cp, n->text, n->text_len, NULL) == ARB_OK) {
                char *t = NULL;
                size_t tl;
                CHECK(arb_checkpoint_format(&t, &tl, cp) == ARB_OK);
                CHECK_STR(t, n->text);
                free(t);
                arb_checkpoint_free(cp);
            }
            arb_note_free(n);
        }
    }
}

static void test_checkpoint_codec(void)
{
    static const struct {
        const char *text;
        int ok;
        uint64_t size;
    } cases[] = {
        {"o\n0\n" EMPTY_ROOT_B64 "\n", 1, 0},
        {"o\n1\n" EMPTY_ROOT_B64 "\n", 1, 1},
        {"o\n18446744073709551615\n" EMPTY_ROOT_B64 "\n", 1, UINT64_MAX},
        {"o\n18446744073709551616\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n99999999999999999999\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n00\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n01\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n+1\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n-1\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n 1\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n1 \n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n0x1\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"\n1\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o\n1\n" EMPTY_ROOT_B64, 0, 0},
        {"o\n1\n", 0, 0},
        {"o\n1\n\n", 0, 0},
        {"o\n1\nAAAA\n", 0, 0},
        {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", 0, 0}, /* non-canonical */
        {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n", 0, 0},  /* no padding */
        {"o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=AAAA\n", 0, 0},
        {"o\n1\n" EMPTY_ROOT_B64 "\next\n", 1, 1},
        {"o\n1\n" EMPTY_ROOT_B64 "\next\nmore ext\n", 1, 1},
        {"o\n1\n" EMPTY_ROOT_B64 "\n\n", 0, 0},
        {"o\n1\n" EMPTY_ROOT_B64 "\next\n\n", 0, 0},
        {"o\n1\n" EMPTY_ROOT_B64 "\next", 0, 0},
        {"o\r\n1\n" EMPTY_ROOT_B64 "\n", 0, 0},
        {"o with spaces\n1\n" EMPTY_ROOT_B64 "\n", 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        arb_checkpoint *cp = (arb_checkpoint *)1;
        arb_errbuf eb;
        arb_err err = arb_checkpoint_parse(&cp, cases[i].text, strlen(cases[i].text), &eb);
        if ((err == ARB_OK) != cases[i].ok)
            arb_test_fail(__FILE__, __LINE__, "case %zu: got %d", i, (int)err);
        CHECK((err == ARB_OK) == cases[i].ok);
        if (!cases[i].ok) {
            CHECK(err == ARB_ERR_PARSE);
            CHECK(cp == NULL);
            continue;
        }
        CHECK(cp->size == cases[i].size);
        char *t = NULL;
        size_t tl;
        CHECK(arb_checkpoint_format(&t, &tl, cp) == ARB_OK);
        CHECK_STR(t, cases[i].text);
        CHECK_EQ(tl, strlen(cases[i].text));
        free(t);
        arb_checkpoint_free(cp);
    }

    /* Formatting refuses what parsing would refuse. */
    arb_checkpoint cp;
    char *t = NULL;
    size_t tl;
    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)"";
    CHECK(arb_checkpoint_format(&t, &tl, &cp) == ARB_ERR_INVALID_ARG);
    cp.origin = (char *)"a\nb";
    CHECK(arb_checkpoint_format(&t, &tl, &cp) == ARB_ERR_INVALID_ARG);
    cp.origin = (char *)"a\rb";
    CHECK(arb_checkpoint_format(&t, &tl, &cp) == ARB_ERR_INVALID_ARG);
    cp.origin = (char *)"a";
    cp.ext = (char *)"no newline";
    cp.ext_len = strlen(cp.ext);
    CHECK(arb_checkpoint_format(&t, &tl, &cp) == ARB_ERR_INVALID_ARG);
    cp.ext = (char *)"x\n\ny\n";
    cp.ext_len = strlen(cp.ext);
    CHECK(arb_checkpoint_format(&t, &tl, &cp) == ARB_ERR_INVALID_ARG);
    CHECK(t == NULL);
}

/* The 0x05 signature checked without our verifier: decode its layout and run
 * OpenSSL's ECDSA verification over the RFC 6962 3.5 TreeHeadSignature. */
static void test_rfc6962_independent(void)
{
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    char *pem = gen_p256(0, &spki, &spki_len);
    arb_note_signer *s = NULL;
    arb_note_signer *ss[1];
    arb_checkpoint cp;
    uint8_t *msg = NULL;
    size_t len = 0;
    arb_errbuf eb;
    const char *origin = "ct.example.org/2026";

    CHECK(pem != NULL);
    CHECK(arb_note_signer_rfc6962(&s, origin, (const uint8_t *)pem, strlen(pem), &eb) == ARB_OK);
    /* The key ID is over the log ID, SHA-256 of the SPKI. */
    uint8_t log_id[32];
    CHECK(EVP_Digest(spki, spki_len, log_id, NULL, EVP_sha256(), NULL));
    CHECK_EQ(arb_note_signer_key_id(s),
             arb_note_key_id(origin, strlen(origin), ARB_NOTE_RFC6962, log_id, 32));

    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)origin;
    cp.size = 123456;
    arb_test_rand_bytes(cp.root.b, 32);
    ss[0] = s;
    CHECK(arb_checkpoint_sign(&msg, &len, &cp, (const arb_note_signer *const *)ss, 1,
                              1700000000555ull, &eb) == ARB_OK);

    arb_note *n = NULL;
    CHECK(arb_note_parse(&n, msg, len, &eb) == ARB_OK);
    CHECK_EQ(n->nsigs, 1);
    const uint8_t *sig = n->sigs[0].sig;
    size_t sl = n->sigs[0].sig_len;
    CHECK(sl > 12);
    uint64_t ts = 0;
    for (int i = 0; i < 8; i++)
        ts = ts << 8 | sig[i];
    CHECK(ts == 1700000000555ull);
    CHECK_EQ(sig[8], 4);
    CHECK_EQ(sig[9], 3);
    CHECK_EQ((size_t)(sig[10] << 8 | sig[11]), sl - 12);
    uint8_t tbs[50] = {0, 1};
    for (int i = 0; i < 8; i++) {
        tbs[2 + i] = (uint8_t)(ts >> (56 - 8 * i));
        tbs[10 + i] = (uint8_t)(cp.size >> (56 - 8 * i));
    }
    memcpy(tbs + 18, cp.root.b, 32);
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CHECK(pk != NULL && ctx != NULL);
    CHECK(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1);
    CHECK(EVP_DigestVerify(ctx, sig + 12, sl - 12, tbs, sizeof tbs) == 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);

    /* split / join give back the get-sth DigitallySigned and the same bytes. */
    const uint8_t *ds = NULL;
    size_t ds_len = 0;
    uint64_t ts2 = 0;
    uint8_t *joined = NULL;
    size_t joined_len = 0;
    CHECK(arb_note_rfc6962_sig_split(sig, sl, &ts2, &ds, &ds_len));
    CHECK(ts2 == ts);
    CHECK(ds == sig + 8 && ds_len == sl - 8);
    CHECK(arb_note_rfc6962_sig_join(&joined, &joined_len, ts2, ds, ds_len) == ARB_OK);
    CHECK_EQ(joined_len, sl);
    CHECK_MEM(joined, sig, sl);
    free(joined);
    CHECK(!arb_note_rfc6962_sig_split(sig, sl - 1, &ts2, &ds, &ds_len));
    CHECK(!arb_note_rfc6962_sig_split(sig, 11, &ts2, &ds, &ds_len));
    CHECK(arb_note_rfc6962_sig_join(&joined, &joined_len, 1, sig + 9, sl - 9) ==
          ARB_ERR_INVALID_ARG);

    /* Our verifier built from the SPKI accepts it through checkpoint_open. */
    arb_note_verifier *v = NULL;
    CHECK(arb_note_verifier_rfc6962(&v, origin, spki, spki_len, &eb) == ARB_OK);
    const arb_note_verifier *cv = v;
    arb_checkpoint *got = NULL;
    arb_note_result res;
    CHECK(arb_checkpoint_open(&got, NULL, msg, len, origin, &cv, 1, &res, &eb) == ARB_OK);
    CHECK(got->size == 123456);
    CHECK(res.timestamp == 1700000000555ull);
    arb_checkpoint_free(got);

    /* 0x05 rules: no extension lines; the key name is the origin. */
    cp.ext = (char *)"ext\n";
    cp.ext_len = 4;
    uint8_t *m2 = NULL;
    size_t l2;
    CHECK(arb_checkpoint_sign(&m2, &l2, &cp, (const arb_note_signer *const *)ss, 1, 1, &eb) ==
          ARB_ERR_INVALID_ARG);
    cp.ext = NULL;
    cp.ext_len = 0;
    cp.origin = (char *)"other.example.org";
    CHECK(arb_checkpoint_sign(&m2, &l2, &cp, (const arb_note_signer *const *)ss, 1, 1, &eb) ==
          ARB_ERR_INVALID_ARG);
    /* A signature valid for one origin does not verify for a verifier named
     * after another (the TreeHeadSignature itself does not cover the origin). */
    arb_note_verifier *v2 = NULL;
    CHECK(arb_note_verifier_rfc6962(&v2, "other.example.org", spki, spki_len, &eb) == ARB_OK);
    CHECK(!arb_note_verifier_verify(v2, (const uint8_t *)n->text, n->text_len, sig, sl, NULL));
    CHECK(arb_note_verifier_verify(v, (const uint8_t *)n->text, n->text_len, sig, sl, NULL));
    /* Trailing bytes after the DigitallySigned are refused. */
    uint8_t *longer = malloc(sl + 1);
    memcpy(longer, sig, sl);
    longer[sl] = 0;
    CHECK(!arb_note_verifier_verify(v, (const uint8_t *)n->text, n->text_len, longer, sl + 1, NULL));
    free(longer);

    /* Keys that are not P-256 are refused. */
    EVP_PKEY *k384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    unsigned char *d384 = NULL;
    int dl = i2d_PUBKEY(k384, &d384);
    arb_note_verifier *v3 = NULL;
    CHECK(dl > 0);
    CHECK(arb_note_verifier_rfc6962(&v3, origin, d384, (size_t)dl, &eb) == ARB_ERR_PARSE);
    OPENSSL_free(d384);
    EVP_PKEY_free(k384);
    arb_note_signer *s2 = NULL;
    CHECK(arb_note_signer_rfc6962(&s2, origin, (const uint8_t *)"junk", 4, &eb) == ARB_ERR_PARSE);
    CHECK(arb_note_verifier_rfc6962(&v3, origin, spki, spki_len - 1, &eb) == ARB_ERR_PARSE);

    /* A DER private key works too. */
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    unsigned char *pder = NULL;
    int pl = i2d_PrivateKey(priv, &pder);
    CHECK(pl > 0);
    CHECK(arb_note_signer_rfc6962(&s2, origin, pder, (size_t)pl, &eb) == ARB_OK);
    CHECK_EQ(arb_note_signer_key_id(s2), arb_note_signer_key_id(s));
    OPENSSL_cleanse(pder, (size_t)pl);
    OPENSSL_free(pder);
    arb_note_signer_free(s2);
    s2 = NULL;
    /* An encrypted PEM key is refused, without prompting for a pass phrase. */
    BIO *enc = BIO_new(BIO_s_mem());
    char *ep = NULL;
    CHECK(enc != NULL && PEM_write_bio_PrivateKey(enc, priv, EVP_aes_128_cbc(),
                                                  (const unsigned char *)"pass", 4, NULL, NULL));
    long el = BIO_get_mem_data(enc, &ep);
    CHECK(arb_note_signer_rfc6962(&s2, origin, (const uint8_t *)ep, (size_t)el, &eb) ==
          ARB_ERR_PARSE);
    CHECK(s2 == NULL);
    BIO_free(enc);
    EVP_PKEY_free(priv);
    BIO_free(bio);

    arb_note_signer_free(s2);
    arb_note_verifier_free(v);
    arb_note_verifier_free(v2);
    arb_note_free(n);
    free(msg);
    arb_note_signer_free(s);
    free(pem);
    free(spki);
}

/* A checkpoint signed by a log and two witnesses; the caller's quorum policy
 * reads arb_note_result. */
static void test_checkpoint_quorum(void)
{
    arb_note_signer *log = make_signer(ARB_NOTE_ED25519, "log.example", 0);
    arb_note_signer *w1 = make_signer(ARB_NOTE_COSIG_V1, "w1.example", 0);
    arb_note_signer *w2 = make_signer(ARB_NOTE_COSIG_V1, "w2.example", 0);
    arb_note_signer *w3 = make_signer(ARB_NOTE_COSIG_V1, "w3.example", 0);
    const arb_note_signer *ss[3] = {log, w1, w2};
    arb_note_verifier *vs[4] = {NULL, NULL, NULL, NULL};
    arb_note_result res[4];
    arb_checkpoint cp, *got = NULL;
    uint8_t *msg = NULL;
    size_t len;
    arb_errbuf eb;

    CHECK(log && w1 && w2 && w3);
    memset(&cp, 0, sizeof cp);
    cp.origin = (char *)"log.example";
    cp.size = 42;
    CHECK(arb_checkpoint_sign(&msg, &len, &cp, ss, 3, 1767139200999ull, &eb) == ARB_OK);
    CHECK(arb_note_signer_verifier(&vs[0], log) == ARB_OK);
    CHECK(arb_note_signer_verifier(&vs[1], w1) == ARB_OK);
    CHECK(arb_note_signer_verifier(&vs[2], w2) == ARB_OK);
    CHECK(arb_note_signer_verifier(&vs[3], w3) == ARB_OK);
    CHECK(arb_checkpoint_open(&got, NULL, msg, len, "log.example",
                              (const arb_note_verifier *const *)vs, 4, res, &eb) == ARB_OK);
    CHECK(res[0].verified && res[1].verified && res[2].verified && !res[3].verified);
    CHECK(res[1].timestamp == 1767139200ull);
    CHECK(got->size == 42);
    arb_checkpoint_free(got);
    /* Only an unrelated witness known: nothing verifies, rejected. */
    CHECK(arb_checkpoint_open(&got, NULL, msg, len, NULL,
                              (const arb_note_verifier *const *)vs + 3, 1, res, &eb) ==
          ARB_ERR_VERIFY);
    CHECK(got == NULL);
    for (int i = 0; i < 4; i++)
        arb_note_verifier_free(vs[i]);
    free(msg);
    arb_note_signer_free(log);
    arb_note_signer_free(w1);
    arb_note_signer_free(w2);
    arb_note_signer_free(w3);
}

int main(void)
{
    arb_test_seed_init();
    test_names();
    test_malformed_notes();
    test_checkpoint_codec();
    test_key_strings();
    test_round_trips();
    test_rfc6962_independent();
    test_checkpoint_quorum();
    test_random_inputs();
    return arb_test_done();
}
