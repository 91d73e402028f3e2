/* Note keys and signature algorithms: Ed25519 (0x01), Ed25519 cosignature v1
 * (0x04, c2sp.org/tlog-cosignature) and RFC 6962 TreeHeadSignature (0x05,
 * c2sp.org/static-ct-api), all through OpenSSL EVP. */
#include "merkle/note.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "merkle/buf.h"
#include "merkle/checkpoint.h"
#include "merkle/note_internal.h"
#include "merkle/pkey.h"

struct arb_note_verifier {
    char *name;
    uint32_t key_id;
    uint8_t type;
    uint8_t pub[32]; /* Ed25519 key (0x01, 0x04) or RFC 6962 log ID (0x05) */
    uint8_t *spki;   /* 0x05: DER SubjectPublicKeyInfo */
    size_t spki_len;
    EVP_PKEY *pkey;
};

struct arb_note_signer {
    char *name;
    uint32_t key_id;
    uint8_t type;
    uint8_t pub[32];
    uint8_t *spki;
    size_t spki_len;
    EVP_PKEY *pkey;
};

/* The RFC6962NoteSignature's DigitallySigned algorithms (RFC 5246 7.4.1.4.1). */
enum { TLS_HASH_SHA256 = 4, TLS_SIG_ECDSA = 3 };

/* Timestamps in cosignatures MUST NOT exceed 2^63 - 1 (tlog-cosignature). */
#define COSIG_MAX_TIME UINT64_C(0x7fffffffffffffff)

static uint64_t get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* ---- Ed25519 ---- */

static int ed25519_verify(EVP_PKEY *pkey, const uint8_t *msg, size_t len, const uint8_t *sig,
                          size_t sig_len)
{
    EVP_MD_CTX *ctx;
    int ok;

    if (sig_len != 64)
        return 0;
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
         EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

static arb_err ed25519_sign(EVP_PKEY *pkey, const uint8_t *msg, size_t len, uint8_t sig64[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 64;
    int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
             EVP_DigestSign(ctx, sig64, &n, msg, len) == 1 && n == 64;

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok ? ARB_OK : ARB_ERR_CRYPTO;
}

/* tlog-cosignature "Ed25519 signed message": the two header lines, then the
 * checkpoint text. */
static arb_err cosig_message(arb_buf *b, uint64_t ts, const uint8_t *text, size_t len)
{
    char line[64];
    int n = snprintf(line, sizeof line, "cosignature/v1\ntime %" PRIu64 "\n", ts);

    arb_buf_put(b, line, (size_t)n);
    arb_buf_put(b, text, len);
    return b->oom ? ARB_ERR_NOMEM : ARB_OK;
}

/* ---- RFC 6962 TreeHeadSignature ---- */

/* RFC 6962 3.5: version v1(0), signature_type tree_hash(1), timestamp,
 * tree_size, sha256_root_hash. */
static void tree_head_tbs(uint8_t out[50], uint64_t ts_ms, const arb_checkpoint *cp)
{
    out[0] = 0;
    out[1] = 1;
    put_u64be(out + 2, ts_ms);
    put_u64be(out + 10, cp->size);
    memcpy(out + 18, cp->root.b, 32);
}

/* Parses the text as a checkpoint fit for a 0x04 / 0x05 signature by `name`.
 * Returns the checkpoint or NULL. */
static arb_checkpoint *checkpoint_for(uint8_t type, const char *name, const uint8_t *text,
                                      size_t len)
{
    arb_checkpoint *cp = NULL;

    if (arb_checkpoint_parse(&cp, (const char *)text, len, NULL) != ARB_OK)
        return NULL;
    /* static-ct-api: no extension lines, and the key name is the origin. */
    if (type == ARB_NOTE_RFC6962 && (cp->ext_len != 0 || strcmp(cp->origin, name) != 0)) {
        arb_checkpoint_free(cp);
        return NULL;
    }
    return cp;
}

/* Checks a DigitallySigned{SHA-256, ECDSA, opaque<1..2^16-1>} with nothing after it. */
static int ds_split(const uint8_t *ds, size_t len, const uint8_t **der, size_t *der_len)
{
    arb_cur c = arb_cur_make(ds, len);
    uint8_t hash_alg, sig_alg;

    return arb_cur_u8(&c, &hash_alg) && arb_cur_u8(&c, &sig_alg) &&
           arb_cur_tls_vec(&c, 2, der, der_len) && c.len == 0 && hash_alg == TLS_HASH_SHA256 &&
           sig_alg == TLS_SIG_ECDSA && *der_len > 0;
}

int arb_note_rfc6962_sig_split(const uint8_t *sig, size_t sig_len, uint64_t *timestamp_ms,
                               const uint8_t **ds, size_t *ds_len)
{
    const uint8_t *der;
    size_t der_len;

    /* static-ct-api: struct { uint64 timestamp; TreeHeadSignature signature; } */
    if (sig_len < 8 || !ds_split(sig + 8, sig_len - 8, &der, &der_len))
        return 0;
    *timestamp_ms = get_u64be(sig);
    *ds = sig + 8;
    *ds_len = sig_len - 8;
    return 1;
}

arb_err arb_note_rfc6962_sig_join(uint8_t **out, size_t *out_len, uint64_t timestamp_ms,
                                  const uint8_t *ds, size_t ds_len)
{
    const uint8_t *der;
    size_t der_len;
    uint8_t *p;

    *out = NULL;
    *out_len = 0;
    if (ds == NULL || !ds_split(ds, ds_len, &der, &der_len))
        return ARB_ERR_INVALID_ARG;
    p = malloc(8 + ds_len);
    if (p == NULL)
        return ARB_ERR_NOMEM;
    put_u64be(p, timestamp_ms);
    memcpy(p + 8, ds, ds_len);
    *out = p;
    *out_len = 8 + ds_len;
    return ARB_OK;
}

static int rfc6962_verify(const arb_note_verifier *v, const uint8_t *text, size_t len,
                          const uint8_t *sig, size_t sig_len, uint64_t *ts_out)
{
    uint64_t ts;
    uint8_t tbs[50];
    const uint8_t *ds, *der;
    size_t ds_len, der_len;
    arb_checkpoint *cp;
    EVP_MD_CTX *ctx;
    int ok;

    if (!arb_note_rfc6962_sig_split(sig, sig_len, &ts, &ds, &ds_len) ||
        !ds_split(ds, ds_len, &der, &der_len))
        return 0;
    cp = checkpoint_for(v->type, v->name, text, len);
    if (cp == NULL)
        return 0;
    tree_head_tbs(tbs, ts, cp);
    arb_checkpoint_free(cp);
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, v->pkey) == 1 &&
         EVP_DigestVerify(ctx, der, der_len, tbs, sizeof tbs) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (ok && ts_out != NULL)
        *ts_out = ts;
    return ok;
}

int arb_note_verifier_verify(const arb_note_verifier *v, const uint8_t *text, size_t text_len,
                             const uint8_t *sig, size_t sig_len, uint64_t *timestamp_out)
{
    if (timestamp_out != NULL)
        *timestamp_out = 0;
    switch (v->type) {
    case ARB_NOTE_ED25519:
        return ed25519_verify(v->pkey, text, text_len, sig, sig_len);
    case ARB_NOTE_COSIG_V1: {
        arb_buf msg = ARB_BUF_INIT;
        arb_checkpoint *cp;
        uint64_t ts;
        int ok;
        if (sig_len != 8 + 64)
            return 0;
        ts = get_u64be(sig);
        if (ts > COSIG_MAX_TIME)
            return 0;
        cp = checkpoint_for(v->type, v->name, text, text_len);
        if (cp == NULL)
            return 0;
        arb_checkpoint_free(cp);
        if (cosig_message(&msg, ts, text, text_len) != ARB_OK)
            return 0;
        ok = ed25519_verify(v->pkey, msg.data, msg.len, sig + 8, 64);
        arb_buf_free(&msg);
        if (ok && timestamp_out != NULL)
            *timestamp_out = ts;
        return ok;
    }
    case ARB_NOTE_RFC6962:
        return rfc6962_verify(v, text, text_len, sig, sig_len, timestamp_out);
    default:
        return 0;
    }
}

/* ---- verifiers ---- */

void arb_note_verifier_free(arb_note_verifier *v)
{
    if (v == NULL)
        return;
    EVP_PKEY_free(v->pkey);
    free(v->spki);
    free(v->name);
    free(v);
}

const char *arb_note_verifier_name(const arb_note_verifier *v)
{
    return v->name;
}

uint32_t arb_note_verifier_key_id(const arb_note_verifier *v)
{
    return v->key_id;
}

uint8_t arb_note_verifier_type(const arb_note_verifier *v)
{
    return v->type;
}

static arb_err new_ed25519_verifier(arb_note_verifier **out, const char *name, size_t name_len,
                                    uint8_t type, const uint8_t pub[32])
{
    arb_note_verifier *v = calloc(1, sizeof *v);

    if (v == NULL)
        return ARB_ERR_NOMEM;
    v->name = arb_note_strndup(name, name_len);
    if (v->name == NULL) {
        free(v);
        return ARB_ERR_NOMEM;
    }
    v->type = type;
    memcpy(v->pub, pub, 32);
    v->key_id = arb_note_key_id(name, name_len, type, pub, 32);
    v->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    if (v->pkey == NULL) {
        ERR_clear_error();
        arb_note_verifier_free(v);
        return ARB_ERR_CRYPTO;
    }
    *out = v;
    return ARB_OK;
}

arb_err arb_note_verifier_ed25519(arb_note_verifier **out, const char *name, uint8_t type,
                                  const uint8_t pub32[static 32], arb_errbuf *eb)
{
    size_t name_len = name ? strlen(name) : 0;

    *out = NULL;
    if (!arb_note_name_valid(name, name_len))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid key name");
    if (type != ARB_NOTE_ED25519 && type != ARB_NOTE_COSIG_V1)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "type 0x%02x is not an Ed25519 type", type);
    return new_ed25519_verifier(out, name, name_len, type, pub32);
}

/* Splits "<a>+<rest>" at the first '+'. Returns 0 if there is none. */
static int chop_plus(const char *s, size_t len, size_t *a_len)
{
    const char *p = memchr(s, '+', len);
    if (p == NULL)
        return 0;
    *a_len = (size_t)(p - s);
    return 1;
}

/* Parses "<name>+<hex8>+<base64>" as used by vkeys and (after the
 * PRIVATE+KEY+ prefix) skeys. On success *key (free(); wipe for skeys) holds
 * the decoded type || key bytes. */
static arb_err parse_key_string(const char *s, size_t len, const char **name, size_t *name_len,
                                uint32_t *key_id, uint8_t **key, size_t *key_len)
{
    size_t hex_len;
    uint8_t id[4];
    arb_err err;

    if (!chop_plus(s, len, name_len) || !arb_note_name_valid(s, *name_len))
        return ARB_ERR_PARSE;
    *name = s;
    s += *name_len + 1;
    len -= *name_len + 1;
    if (!chop_plus(s, len, &hex_len) || hex_len != 8 || !arb_hex_decode(id, 4, s, 8))
        return ARB_ERR_PARSE;
    *key_id = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
    err = arb_base64_decode(key, key_len, s + 9, len - 9);
    if (err != ARB_OK)
        return err;
    if (*key_len == 0) {
        free(*key);
        *key = NULL;
        return ARB_ERR_PARSE;
    }
    return ARB_OK;
}

arb_err arb_note_verifier_from_vkey(arb_note_verifier **out, const char *vkey, size_t len,
                                    arb_errbuf *eb)
{
    const char *name;
    size_t name_len, key_len;
    uint32_t key_id;
    uint8_t *key = NULL;
    arb_err err;

    *out = NULL;
    if (vkey == NULL || len > 4096)
        return arb_errf(eb, ARB_ERR_PARSE, "verifier key too long");
    err = parse_key_string(vkey, len, &name, &name_len, &key_id, &key, &key_len);
    if (err == ARB_ERR_NOMEM)
        return err;
    if (err != ARB_OK)
        return arb_errf(eb, ARB_ERR_PARSE, "malformed verifier key");
    if (key_id != arb_note_key_id(name, name_len, key[0], key + 1, key_len - 1)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "verifier key ID does not match its name and key");
    } else if (key[0] != ARB_NOTE_ED25519 && key[0] != ARB_NOTE_COSIG_V1) {
        err = arb_errf(eb, ARB_ERR_PARSE, "unsupported verifier key type 0x%02x", key[0]);
    } else if (key_len != 33) {
        err = arb_errf(eb, ARB_ERR_PARSE, "Ed25519 verifier key must be 32 bytes, not %zu",
                       key_len - 1);
    } else {
        err = new_ed25519_verifier(out, name, name_len, key[0], key + 1);
        if (err == ARB_ERR_CRYPTO)
            err = arb_errf(eb, ARB_ERR_PARSE, "unusable Ed25519 key");
    }
    free(key);
    return err;
}

arb_err arb_note_verifier_rfc6962(arb_note_verifier **out, const char *name,
                                  const uint8_t *spki_der, size_t der_len, arb_errbuf *eb)
{
    size_t name_len = name ? strlen(name) : 0;
    const unsigned char *p = spki_der;
    arb_note_verifier *v;
    EVP_PKEY *pkey;
    arb_err err;

    *out = NULL;
    if (!arb_note_name_valid(name, name_len))
        return arb_errf(eb, ARB_ERR_PARSE, "invalid key name");
    if (spki_der == NULL || der_len == 0 || der_len > 4096)
        return arb_errf(eb, ARB_ERR_PARSE, "bad public key length");
    pkey = d2i_PUBKEY(NULL, &p, (long)der_len);
    ERR_clear_error();
    if (pkey == NULL || p != spki_der + der_len || !arb_pkey_is_p256(pkey)) {
        EVP_PKEY_free(pkey);
        return arb_errf(eb, ARB_ERR_PARSE, "not an ECDSA P-256 SubjectPublicKeyInfo");
    }
    v = calloc(1, sizeof *v);
    if (v == NULL) {
        EVP_PKEY_free(pkey);
        return ARB_ERR_NOMEM;
    }
    v->pkey = pkey;
    v->type = ARB_NOTE_RFC6962;
    v->name = arb_note_strndup(name, name_len);
    err = v->name == NULL ? ARB_ERR_NOMEM : arb_pkey_spki(pkey, &v->spki, &v->spki_len, v->pub);
    if (err != ARB_OK) {
        arb_note_verifier_free(v);
        return err;
    }
    v->key_id = arb_note_key_id(name, name_len, ARB_NOTE_RFC6962, v->pub, 32);
    *out = v;
    return ARB_OK;
}

static arb_err format_key_string(char **out, const char *prefix, const char *name,
                                 uint32_t key_id, uint8_t type, const uint8_t *key, size_t key_len)
{
    uint8_t raw[33];
    char *b64, *s;
    size_t n;

    *out = NULL;
    raw[0] = type;
    memcpy(raw + 1, key, key_len);
    b64 = arb_base64_encode(raw, key_len + 1);
    OPENSSL_cleanse(raw, sizeof raw);
    if (b64 == NULL)
        return ARB_ERR_NOMEM;
    n = strlen(prefix) + strlen(name) + 1 + 8 + 1 + strlen(b64) + 1;
    s = malloc(n);
    if (s != NULL)
        snprintf(s, n, "%s%s+%08" PRIx32 "+%s", prefix, name, key_id, b64);
    OPENSSL_cleanse(b64, strlen(b64));
    free(b64);
    if (s == NULL)
        return ARB_ERR_NOMEM;
    *out = s;
    return ARB_OK;
}

arb_err arb_note_verifier_vkey(char **out, const arb_note_verifier *v)
{
    *out = NULL;
    if (v->type != ARB_NOTE_ED25519 && v->type != ARB_NOTE_COSIG_V1)
        return ARB_ERR_INVALID_ARG;
    return format_key_string(out, "", v->name, v->key_id, v->type, v->pub, 32);
}

/* ---- signers ---- */

void arb_note_signer_free(arb_note_signer *s)
{
    if (s == NULL)
        return;
    EVP_PKEY_free(s->pkey); /* OpenSSL clears private key material on free */
    free(s->spki);
    free(s->name);
    free(s);
}

void arb_note_secret_free(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

const char *arb_note_signer_name(const arb_note_signer *s)
{
    return s->name;
}

uint32_t arb_note_signer_key_id(const arb_note_signer *s)
{
    return s->key_id;
}

uint8_t arb_note_signer_type(const arb_note_signer *s)
{
    return s->type;
}

/* Builds an Ed25519 signer from a seed; the caller wipes the seed. */
static arb_err ed25519_signer(arb_note_signer **out, const char *name, size_t name_len,
                              uint8_t type, const uint8_t seed[32])
{
    arb_note_signer *s = calloc(1, sizeof *s);
    size_t pub_len = 32;

    if (s == NULL)
        return ARB_ERR_NOMEM;
    s->type = type;
    s->name = arb_note_strndup(name, name_len);
    s->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (s->name == NULL || s->pkey == NULL ||
        EVP_PKEY_get_raw_public_key(s->pkey, s->pub, &pub_len) != 1 || pub_len != 32) {
        arb_err err = s->name == NULL ? ARB_ERR_NOMEM : ARB_ERR_CRYPTO;
        ERR_clear_error();
        arb_note_signer_free(s);
        return err;
    }
    s->key_id = arb_note_key_id(name, name_len, type, s->pub, 32);
    *out = s;
    return ARB_OK;
}

arb_err arb_note_signer_from_skey(arb_note_signer **out, const char *skey, size_t len,
                                  arb_errbuf *eb)
{
    static const char prefix[] = "PRIVATE+KEY+";
    const size_t plen = sizeof prefix - 1;
    const char *name;
    size_t name_len, key_len;
    uint32_t key_id;
    uint8_t *key = NULL;
    arb_note_signer *s = NULL;
    arb_err err;

    *out = NULL;
    if (skey == NULL || len < plen || len > 4096 || memcmp(skey, prefix, plen) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "signer key does not start with PRIVATE+KEY+");
    err = parse_key_string(skey + plen, len - plen, &name, &name_len, &key_id, &key, &key_len);
    if (err == ARB_ERR_NOMEM)
        return err;
    if (err != ARB_OK)
        return arb_errf(eb, ARB_ERR_PARSE, "malformed signer key");
    if (key[0] != ARB_NOTE_ED25519 && key[0] != ARB_NOTE_COSIG_V1) {
        err = arb_errf(eb, ARB_ERR_PARSE, "unsupported signer key type 0x%02x", key[0]);
    } else if (key_len != 33) {
        err = arb_errf(eb, ARB_ERR_PARSE, "Ed25519 seed must be 32 bytes");
    } else {
        err = ed25519_signer(&s, name, name_len, key[0], key + 1);
        /* The ID names the public key, so it is checked after deriving it. */
        if (err == ARB_OK && s->key_id != key_id) {
            arb_note_signer_free(s);
            s = NULL;
            err = arb_errf(eb, ARB_ERR_PARSE, "signer key ID does not match its key");
        }
    }
    OPENSSL_cleanse(key, key_len);
    free(key);
    *out = s;
    return err;
}

arb_err arb_note_signer_generate(arb_note_signer **out, const char *name, uint8_t type,
                                 char **skey_out, char **vkey_out, arb_errbuf *eb)
{
    size_t name_len = name ? strlen(name) : 0;
    uint8_t seed[32];
    size_t seed_len = sizeof seed;
    EVP_PKEY *pkey;
    arb_note_signer *s = NULL;
    char *skey = NULL, *vkey = NULL;
    arb_err err;

    *out = NULL;
    if (skey_out != NULL)
        *skey_out = NULL;
    if (vkey_out != NULL)
        *vkey_out = NULL;
    if (!arb_note_name_valid(name, name_len))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid key name");
    if (type != ARB_NOTE_ED25519 && type != ARB_NOTE_COSIG_V1)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "type 0x%02x is not an Ed25519 type", type);
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL || EVP_PKEY_get_raw_private_key(pkey, seed, &seed_len) != 1 ||
        seed_len != 32) {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return arb_errf(eb, ARB_ERR_CRYPTO, "Ed25519 key generation failed");
    }
    EVP_PKEY_free(pkey);
    err = ed25519_signer(&s, name, name_len, type, seed);
    if (err == ARB_OK && skey_out != NULL)
        err = format_key_string(&skey, "PRIVATE+KEY+", name, s->key_id, type, seed, 32);
    if (err == ARB_OK && vkey_out != NULL)
        err = format_key_string(&vkey, "", name, s->key_id, type, s->pub, 32);
    OPENSSL_cleanse(seed, sizeof seed);
    if (err != ARB_OK) {
        arb_note_signer_free(s);
        arb_note_secret_free(skey);
        free(vkey);
        return err;
    }
    *out = s;
    if (skey_out != NULL)
        *skey_out = skey;
    if (vkey_out != NULL)
        *vkey_out = vkey;
    return ARB_OK;
}

/* PEM pass-phrase callback that refuses: never prompt on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

arb_err arb_note_signer_rfc6962(arb_note_signer **out, const char *name, const uint8_t *key,
                                size_t key_len, arb_errbuf *eb)
{
    size_t name_len = name ? strlen(name) : 0;
    EVP_PKEY *pkey = NULL;
    arb_note_signer *s;
    arb_err err;

    *out = NULL;
    if (!arb_note_name_valid(name, name_len))
        return arb_errf(eb, ARB_ERR_PARSE, "invalid key name");
    if (key == NULL || key_len == 0 || key_len > 65536)
        return arb_errf(eb, ARB_ERR_PARSE, "bad private key length");
    if (key_len >= 10 && memcmp(key, "-----BEGIN", 10) == 0) {
        BIO *bio = BIO_new_mem_buf(key, (int)key_len);
        if (bio != NULL)
            pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = key;
        pkey = d2i_AutoPrivateKey(NULL, &p, (long)key_len);
    }
    ERR_clear_error();
    if (pkey == NULL || !arb_pkey_is_p256(pkey)) {
        EVP_PKEY_free(pkey);
        return arb_errf(eb, ARB_ERR_PARSE, "not an ECDSA P-256 private key (PEM or DER)");
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        EVP_PKEY_free(pkey);
        return ARB_ERR_NOMEM;
    }
    s->pkey = pkey;
    s->type = ARB_NOTE_RFC6962;
    s->name = arb_note_strndup(name, name_len);
    err = s->name == NULL ? ARB_ERR_NOMEM : arb_pkey_spki(pkey, &s->spki, &s->spki_len, s->pub);
    if (err != ARB_OK) {
        arb_note_signer_free(s);
        return err;
    }
    s->key_id = arb_note_key_id(name, name_len, ARB_NOTE_RFC6962, s->pub, 32);
    *out = s;
    return ARB_OK;
}

arb_err arb_note_signer_verifier(arb_note_verifier **out, const arb_note_signer *s)
{
    *out = NULL;
    if (s->type == ARB_NOTE_RFC6962)
        return arb_note_verifier_rfc6962(out, s->name, s->spki, s->spki_len, NULL);
    return new_ed25519_verifier(out, s->name, strlen(s->name), s->type, s->pub);
}

static arb_err rfc6962_sign(uint8_t **sig_out, size_t *sig_len, const arb_note_signer *s,
                            const arb_checkpoint *cp, uint64_t ts_ms)
{
    uint8_t tbs[50];
    EVP_MD_CTX *ctx;
    size_t der_len = 0;
    uint8_t *der = NULL;
    arb_buf b = ARB_BUF_INIT;
    int ok;

    tree_head_tbs(tbs, ts_ms, cp);
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, s->pkey) == 1 &&
         EVP_DigestSign(ctx, NULL, &der_len, tbs, sizeof tbs) == 1 &&
         (der = malloc(der_len)) != NULL &&
         EVP_DigestSign(ctx, der, &der_len, tbs, sizeof tbs) == 1 && der_len <= 0xffff;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) {
        free(der);
        return ARB_ERR_CRYPTO;
    }
    arb_buf_u64be(&b, ts_ms);
    arb_buf_u8(&b, TLS_HASH_SHA256);
    arb_buf_u8(&b, TLS_SIG_ECDSA);
    arb_buf_u16be(&b, (uint16_t)der_len);
    arb_buf_put(&b, der, der_len);
    free(der);
    if (b.oom) {
        arb_buf_free(&b);
        return ARB_ERR_NOMEM;
    }
    *sig_out = arb_buf_take(&b, sig_len);
    return ARB_OK;
}

arb_err arb_note_signer_sign(uint8_t **sig_out, size_t *sig_len, const arb_note_signer *s,
                             const uint8_t *text, size_t text_len, uint64_t now_ms,
                             arb_errbuf *eb)
{
    arb_checkpoint *cp = NULL;
    arb_err err;

    *sig_out = NULL;
    *sig_len = 0;
    if (!arb_note_text_valid((const char *)text, text_len))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid note text");
    if (s->type != ARB_NOTE_ED25519) {
        cp = checkpoint_for(s->type, s->name, text, text_len);
        if (cp == NULL)
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            s->type == ARB_NOTE_RFC6962
                                ? "text is not a checkpoint of origin %s without extensions"
                                : "text is not a checkpoint%s",
                            s->type == ARB_NOTE_RFC6962 ? s->name : "");
    }
    switch (s->type) {
    case ARB_NOTE_ED25519: {
        uint8_t *sig = malloc(64);
        if (sig == NULL)
            return ARB_ERR_NOMEM;
        err = ed25519_sign(s->pkey, text, text_len, sig);
        if (err != ARB_OK) {
            free(sig);
            return arb_errf(eb, err, "Ed25519 signing failed");
        }
        *sig_out = sig;
        *sig_len = 64;
        return ARB_OK;
    }
    case ARB_NOTE_COSIG_V1: {
        arb_buf msg = ARB_BUF_INIT;
        uint64_t ts = now_ms / 1000;
        uint8_t *sig;
        arb_checkpoint_free(cp);
        if (ts > COSIG_MAX_TIME) /* cannot happen for a 64-bit ms clock, kept for clarity */
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "timestamp out of range");
        sig = malloc(8 + 64);
        if (sig == NULL)
            return ARB_ERR_NOMEM;
        err = cosig_message(&msg, ts, text, text_len);
        if (err == ARB_OK)
            err = ed25519_sign(s->pkey, msg.data, msg.len, sig + 8);
        arb_buf_free(&msg);
        if (err != ARB_OK) {
            free(sig);
            return arb_errf(eb, err, "cosignature failed");
        }
        put_u64be(sig, ts);
        *sig_out = sig;
        *sig_len = 8 + 64;
        return ARB_OK;
    }
    case ARB_NOTE_RFC6962:
        err = rfc6962_sign(sig_out, sig_len, s, cp, now_ms);
        arb_checkpoint_free(cp);
        return err == ARB_OK ? ARB_OK : arb_errf(eb, err, "ECDSA signing failed");
    default:
        arb_checkpoint_free(cp);
        return arb_errf(eb, ARB_ERR_INTERNAL, "unknown signer type");
    }
}

arb_err arb_note_sign(arb_note *n, const arb_note_signer *s, uint64_t now_ms, arb_errbuf *eb)
{
    uint8_t *sig;
    size_t sig_len;
    arb_err err;

    err = arb_note_signer_sign(&sig, &sig_len, s, (const uint8_t *)n->text, n->text_len, now_ms,
                               eb);
    if (err != ARB_OK)
        return err;
    err = arb_note_add_sig(n, s->name, s->key_id, sig, sig_len, eb);
    free(sig);
    return err;
}
