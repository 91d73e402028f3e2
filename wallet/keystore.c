/* The encrypted keystore (see keystore.h): scrypt and AES-256-GCM from
 * OpenSSL, JSON through jansson, atomic replacement through rename(2) or,
 * for a new file, link(2), which never overwrites. */
#include "wallet/keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "merkle/buf.h"
#include "merkle/file.h"
#include "wallet/address.h"

#define FORMAT_NAME "arbor-wallet-keystore"
#define AAD_LABEL "arbor-wallet-keystore/1"
/* scrypt needs 128 * r * (N + 2) + 128 * r * p bytes; the parameter bounds keep
 * this under 1 GiB plus a margin. */
#define SCRYPT_MAXMEM ((uint64_t)1100 << 20)
#define PLAIN_VERSION 1

void arb_wallet_secret_wipe(arb_wallet_secret *s)
{
    if (s != NULL)
        OPENSSL_cleanse(s, sizeof(*s));
}

void arb_keystore_clear(arb_keystore *ks)
{
    if (ks == NULL)
        return;
    if (ks->ct != NULL) {
        OPENSSL_cleanse(ks->ct, ks->ct_len);
        free(ks->ct);
    }
    for (size_t i = 0; i < ks->n_pending; i++)
        free(ks->pending[i].hex);
    free(ks->pending);
    for (size_t i = 0; i < ks->n_names; i++)
        free(ks->names[i].zonefile);
    free(ks->names);
    OPENSSL_cleanse(ks, sizeof(*ks));
}

static int is_lower_hex(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    return n >= min && n <= max && n % 2 == 0 && strspn(s, "0123456789abcdef") == n;
}

arb_err arb_keystore_pending_add(arb_keystore *ks, const char *txid, const char *hex,
                                 uint64_t time)
{
    arb_keystore_pending *np;
    char *h;

    if (ks->n_pending >= ARB_KEYSTORE_PENDING_MAX || !is_lower_hex(txid, 64, 64) ||
        !is_lower_hex(hex, 2, ARB_KEYSTORE_TX_HEX_MAX))
        return ARB_ERR_INVALID_ARG;
    np = realloc(ks->pending, (ks->n_pending + 1) * sizeof(*np));
    if (np == NULL)
        return ARB_ERR_NOMEM;
    ks->pending = np;
    if ((h = strdup(hex)) == NULL)
        return ARB_ERR_NOMEM;
    memcpy(np[ks->n_pending].txid, txid, 65);
    np[ks->n_pending].hex = h;
    np[ks->n_pending].time = time;
    ks->n_pending++;
    return ARB_OK;
}

void arb_keystore_pending_remove(arb_keystore *ks, size_t i)
{
    if (i >= ks->n_pending)
        return;
    free(ks->pending[i].hex);
    memmove(&ks->pending[i], &ks->pending[i + 1], (ks->n_pending - i - 1) * sizeof(*ks->pending));
    ks->n_pending--;
}

const char *arb_namereg_stage_name(arb_namereg_stage s)
{
    switch (s) {
    case ARB_NAMEREG_PREORDER:
        return "preorder";
    case ARB_NAMEREG_REGISTER:
        return "register";
    case ARB_NAMEREG_UPLOAD:
        return "upload";
    }
    return "?";
}

/* A full name as the name layer writes it, name.namespace, or a bare
 * namespace id (a namespace preorder), from a-z 0-9 - _ (the chain checks
 * the exact lengths; this keeps the file sane). */
static int full_name_ok(const char *s)
{
    size_t n = strlen(s), dot = strcspn(s, ".");
    if (n == 0 || n > ARB_KEYSTORE_NAME_MAX ||
        strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n)
        return 0;
    if (dot == n)
        return n <= 20; /* a namespace id */
    return dot > 0 && dot + 1 < n && strchr(s + dot + 1, '.') == NULL;
}

arb_keystore_namereg *arb_keystore_namereg_find(arb_keystore *ks, const char *name)
{
    for (size_t i = 0; i < ks->n_names; i++)
        if (strcmp(ks->names[i].name, name) == 0)
            return &ks->names[i];
    return NULL;
}

arb_err arb_keystore_namereg_add(arb_keystore *ks, const arb_keystore_namereg *r)
{
    arb_keystore_namereg *nn;
    uint8_t *zf = NULL;

    if (ks->n_names >= ARB_KEYSTORE_NAMES_MAX || !full_name_ok(r->name) ||
        arb_keystore_namereg_find(ks, r->name) != NULL || r->stage < ARB_NAMEREG_PREORDER ||
        r->stage > ARB_NAMEREG_UPLOAD || !is_lower_hex(r->preorder_txid, 64, 64) ||
        (r->stage == ARB_NAMEREG_PREORDER ? r->register_txid[0] != '\0'
                                          : !is_lower_hex(r->register_txid, 64, 64)) ||
        r->zonefile_len > ARB_KEYSTORE_ZONEFILE_MAX || (r->zonefile == NULL) != (r->zonefile_len == 0) ||
        r->burn > 21000000ULL * 100000000ULL)
        return ARB_ERR_INVALID_ARG;
    if (r->zonefile_len > 0) {
        if ((zf = malloc(r->zonefile_len)) == NULL)
            return ARB_ERR_NOMEM;
        memcpy(zf, r->zonefile, r->zonefile_len);
    }
    nn = realloc(ks->names, (ks->n_names + 1) * sizeof(*nn));
    if (nn == NULL) {
        free(zf);
        return ARB_ERR_NOMEM;
    }
    ks->names = nn;
    nn[ks->n_names] = *r;
    nn[ks->n_names].zonefile = zf;
    ks->n_names++;
    return ARB_OK;
}

void arb_keystore_namereg_remove(arb_keystore *ks, size_t i)
{
    if (i >= ks->n_names)
        return;
    free(ks->names[i].zonefile);
    memmove(&ks->names[i], &ks->names[i + 1], (ks->n_names - i - 1) * sizeof(*ks->names));
    ks->n_names--;
}

static int params_ok(unsigned log2_n, uint32_t r, uint32_t p)
{
    uint64_t mem;

    if (log2_n < 1 || log2_n > ARB_KEYSTORE_LOG2N_MAX || r < 1 || r > 32 || p < 1 || p > 16)
        return 0;
    mem = (uint64_t)128 * r * (((uint64_t)1 << log2_n) + 2) + (uint64_t)128 * r * p;
    return mem <= ((uint64_t)1 << 30);
}

/* The associated data: everything in the file that is not the ciphertext,
 * the tag or the nonce, in a fixed binary layout. */
static arb_err build_aad(arb_buf *b, const arb_keystore *ks)
{
    size_t nl = strlen(ks->network);

    arb_buf_put(b, AAD_LABEL, sizeof(AAD_LABEL)); /* with its NUL */
    arb_buf_u8(b, ARB_KEYSTORE_VERSION);
    arb_buf_u8(b, (uint8_t)nl);
    arb_buf_put(b, ks->network, nl);
    arb_buf_u8(b, (uint8_t)ks->log2_n);
    arb_buf_u32be(b, ks->r);
    arb_buf_u32be(b, ks->p);
    arb_buf_put(b, ks->salt, sizeof(ks->salt));
    arb_buf_u32be(b, ks->next_receive);
    arb_buf_u32be(b, ks->next_change);
    /* Files without pending transactions keep the original layout. */
    for (size_t i = 0; i < ks->n_pending; i++) {
        size_t hl = strlen(ks->pending[i].hex);
        arb_buf_put(b, "pending", 7);
        arb_buf_put(b, ks->pending[i].txid, 64);
        arb_buf_u32be(b, (uint32_t)hl);
        arb_buf_put(b, ks->pending[i].hex, hl);
        arb_buf_u32be(b, (uint32_t)(ks->pending[i].time >> 32));
        arb_buf_u32be(b, (uint32_t)ks->pending[i].time);
    }
    /* Likewise for files without name registrations in progress. */
    for (size_t i = 0; i < ks->n_names; i++) {
        const arb_keystore_namereg *r = &ks->names[i];
        size_t rl = strlen(r->name);
        arb_buf_put(b, "namereg", 7);
        arb_buf_u8(b, (uint8_t)rl);
        arb_buf_put(b, r->name, rl);
        arb_buf_u8(b, (uint8_t)r->stage);
        arb_buf_put(b, r->salt, 32);
        arb_buf_put(b, r->owner, 32);
        arb_buf_u32be(b, (uint32_t)(r->burn >> 32));
        arb_buf_u32be(b, (uint32_t)r->burn);
        arb_buf_put(b, r->preorder_txid, 64);
        arb_buf_u8(b, r->register_txid[0] != '\0');
        if (r->register_txid[0] != '\0')
            arb_buf_put(b, r->register_txid, 64);
        arb_buf_u32be(b, (uint32_t)r->zonefile_len);
        if (r->zonefile_len > 0)
            arb_buf_put(b, r->zonefile, r->zonefile_len);
        arb_buf_u32be(b, (uint32_t)(r->time >> 32));
        arb_buf_u32be(b, (uint32_t)r->time);
    }
    return b->oom ? ARB_ERR_NOMEM : ARB_OK;
}

static arb_err derive_key(uint8_t key32[32], const arb_keystore *ks, const char *pass,
                          size_t pass_len)
{
    if (EVP_PBE_scrypt(pass, pass_len, ks->salt, sizeof(ks->salt), (uint64_t)1 << ks->log2_n,
                       ks->r, ks->p, SCRYPT_MAXMEM, key32, 32) != 1)
        return ARB_ERR_CRYPTO;
    return ARB_OK;
}

/* AES-256-GCM in one direction. enc=1: encrypts in -> out and writes tag;
 * enc=0: decrypts and checks tag (returns ARB_ERR_VERIFY on mismatch). */
static arb_err gcm(int enc, const uint8_t key[32], const uint8_t nonce[12], const arb_buf *aad,
                   const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    arb_err err = ARB_ERR_CRYPTO;
    int n = 0;

    if (c == NULL)
        return ARB_ERR_NOMEM;
    if (len > INT_MAX || aad->len > INT_MAX)
        goto out;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1 ||
        EVP_CipherUpdate(c, NULL, &n, aad->data, (int)aad->len) != 1 ||
        (len > 0 && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1))
        goto out;
    if (enc) {
        if (EVP_CipherFinal_ex(c, out + len, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
            goto out;
    } else {
        if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
            goto out;
        if (EVP_CipherFinal_ex(c, out + len, &n) != 1) {
            err = ARB_ERR_VERIFY;
            goto out;
        }
    }
    err = ARB_OK;
out:
    EVP_CIPHER_CTX_free(c);
    return err;
}

static int is_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

arb_err arb_keystore_seal(arb_keystore *ks, const arb_wallet_secret *secret, const char *pass,
                          size_t pass_len, arb_errbuf *eb)
{
    arb_buf plain = ARB_BUF_INIT, aad = ARB_BUF_INIT;
    uint8_t key[32];
    uint8_t *ct = NULL;
    size_t pl;
    arb_err err;

    if (arb_wallet_network_hrp(ks->network) == NULL)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "unknown network \"%s\"", ks->network);
    if (!params_ok(ks->log2_n, ks->r, ks->p))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "scrypt parameters out of range");
    if (secret->entropy_len < 16 || secret->entropy_len > 32 || secret->entropy_len % 4 != 0)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "bad entropy length");
    pl = strnlen(secret->bip39_pass, sizeof(secret->bip39_pass));
    if (pl > ARB_KEYSTORE_PASS_MAX || !is_ascii(secret->bip39_pass))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "BIP39 passphrase must be ASCII, at most %d bytes",
                        ARB_KEYSTORE_PASS_MAX);
    /* Plaintext: version, entropy length and bytes, passphrase length (u16be)
     * and bytes. */
    arb_buf_u8(&plain, PLAIN_VERSION);
    arb_buf_u8(&plain, (uint8_t)secret->entropy_len);
    arb_buf_put(&plain, secret->entropy, secret->entropy_len);
    arb_buf_u16be(&plain, (uint16_t)pl);
    arb_buf_put(&plain, secret->bip39_pass, pl);
    if (plain.oom) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    if (RAND_bytes(ks->salt, sizeof(ks->salt)) != 1 ||
        RAND_bytes(ks->nonce, sizeof(ks->nonce)) != 1) {
        err = arb_errf(eb, ARB_ERR_CRYPTO, "no random numbers");
        goto out;
    }
    if ((err = build_aad(&aad, ks)) != ARB_OK)
        goto out;
    if ((err = derive_key(key, ks, pass, pass_len)) != ARB_OK) {
        arb_errf(eb, err, "scrypt failed");
        goto out;
    }
    ct = malloc(plain.len + 16);
    if (ct == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    if ((err = gcm(1, key, ks->nonce, &aad, plain.data, plain.len, ct, ks->tag)) != ARB_OK) {
        arb_errf(eb, err, "encryption failed");
        goto out;
    }
    if (ks->ct != NULL) {
        OPENSSL_cleanse(ks->ct, ks->ct_len);
        free(ks->ct);
    }
    ks->ct = ct;
    ks->ct_len = plain.len;
    ct = NULL;
out:
    free(ct);
    OPENSSL_cleanse(key, sizeof(key));
    if (plain.data != NULL)
        OPENSSL_cleanse(plain.data, plain.cap);
    arb_buf_free(&plain);
    arb_buf_free(&aad);
    return err;
}

arb_err arb_keystore_open(const arb_keystore *ks, const char *pass, size_t pass_len,
                          arb_wallet_secret *secret, arb_errbuf *eb)
{
    arb_buf aad = ARB_BUF_INIT;
    uint8_t key[32], tag[16];
    uint8_t *plain = NULL;
    arb_err err;

    memset(secret, 0, sizeof(*secret));
    if (!params_ok(ks->log2_n, ks->r, ks->p) || ks->ct == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "keystore parameters out of range");
    if ((err = build_aad(&aad, ks)) != ARB_OK)
        goto out;
    if ((err = derive_key(key, ks, pass, pass_len)) != ARB_OK) {
        arb_errf(eb, err, "scrypt failed");
        goto out;
    }
    plain = malloc(ks->ct_len + 16);
    if (plain == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    memcpy(tag, ks->tag, 16);
    err = gcm(0, key, ks->nonce, &aad, ks->ct, ks->ct_len, plain, tag);
    if (err == ARB_ERR_VERIFY) {
        arb_errf(eb, err, "wrong passphrase, or the wallet file was modified");
        goto out;
    }
    if (err != ARB_OK) {
        arb_errf(eb, err, "decryption failed");
        goto out;
    }
    {
        arb_cur c = arb_cur_make(plain, ks->ct_len);
        uint8_t ver = 0, el = 0;
        uint16_t pl = 0;
        if (!arb_cur_u8(&c, &ver) || ver != PLAIN_VERSION || !arb_cur_u8(&c, &el) || el < 16 ||
            el > 32 || el % 4 != 0 || !arb_cur_get(&c, secret->entropy, el) ||
            !arb_cur_u16be(&c, &pl) || pl > ARB_KEYSTORE_PASS_MAX ||
            !arb_cur_get(&c, secret->bip39_pass, pl) || c.len != 0) {
            err = arb_errf(eb, ARB_ERR_PARSE, "malformed wallet secret");
            goto out;
        }
        secret->entropy_len = el;
        secret->bip39_pass[pl] = '\0';
    }
out:
    if (err != ARB_OK)
        arb_wallet_secret_wipe(secret);
    OPENSSL_cleanse(key, sizeof(key));
    if (plain != NULL) {
        OPENSSL_cleanse(plain, ks->ct_len + 16);
        free(plain);
    }
    arb_buf_free(&aad);
    return err;
}

/* Strict JSON helpers: each returns 1 on success. */
static int get_uint(json_t *obj, const char *name, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, name);
    json_int_t i;

    if (!json_is_integer(v))
        return 0;
    i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return 0;
    *out = (uint64_t)i;
    return 1;
}

static int get_hex(json_t *obj, const char *name, uint8_t *out, size_t n)
{
    const char *s = json_string_value(json_object_get(obj, name));

    return s != NULL && strlen(s) == 2 * n && arb_hex_decode(out, n, s, 2 * n);
}

static int get_str_eq(json_t *obj, const char *name, const char *want)
{
    const char *s = json_string_value(json_object_get(obj, name));

    return s != NULL && strcmp(s, want) == 0;
}

/* Every key of obj is one of the NULL-terminated names. */
static int only_keys(json_t *obj, const char *const *names)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v) {
        const char *const *n;
        for (n = names; *n != NULL; n++)
            if (strcmp(*n, k) == 0)
                break;
        if (*n == NULL)
            return 0;
    }
    return 1;
}

/* The "names" list: strictly as arb_keystore_format writes it. */
static arb_err parse_names(arb_keystore *ks, json_t *names, arb_errbuf *eb)
{
    static const char *const NAMEREG[] = {"name", "stage", "salt", "owner", "burn",
                                          "preorder_txid", "register_txid", "zonefile", "time",
                                          NULL};
    size_t i;
    json_t *e;

    if (!json_is_array(names) || json_array_size(names) == 0 ||
        json_array_size(names) > ARB_KEYSTORE_NAMES_MAX)
        return arb_errf(eb, ARB_ERR_PARSE, "bad names list");
    json_array_foreach(names, i, e) {
        arb_keystore_namereg r;
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *stage = json_string_value(json_object_get(e, "stage"));
        const char *pre = json_string_value(json_object_get(e, "preorder_txid"));
        const char *reg = json_string_value(json_object_get(e, "register_txid"));
        const char *zf = json_string_value(json_object_get(e, "zonefile"));
        uint64_t v;
        arb_err e2;

        memset(&r, 0, sizeof(r));
        if (!json_is_object(e) || !only_keys(e, NAMEREG) || name == NULL || stage == NULL ||
            pre == NULL || reg == NULL || zf == NULL || strlen(name) > ARB_KEYSTORE_NAME_MAX ||
            strlen(pre) != 64 || (strlen(reg) != 64 && reg[0] != '\0') ||
            !get_hex(e, "salt", r.salt, 32) || !get_hex(e, "owner", r.owner, 32) ||
            !get_uint(e, "burn", 21000000ULL * 100000000ULL, &r.burn) ||
            !get_uint(e, "time", UINT32_MAX, &v) ||
            strlen(zf) > 2 * (size_t)ARB_KEYSTORE_ZONEFILE_MAX ||
            (zf[0] != '\0' && !is_lower_hex(zf, 2, 2 * (size_t)ARB_KEYSTORE_ZONEFILE_MAX)))
            return arb_errf(eb, ARB_ERR_PARSE, "bad name registration %zu", i);
        r.time = v;
        snprintf(r.name, sizeof(r.name), "%s", name);
        memcpy(r.preorder_txid, pre, 65);
        memcpy(r.register_txid, reg, strlen(reg) + 1);
        if (strcmp(stage, "preorder") == 0)
            r.stage = ARB_NAMEREG_PREORDER;
        else if (strcmp(stage, "register") == 0)
            r.stage = ARB_NAMEREG_REGISTER;
        else if (strcmp(stage, "upload") == 0)
            r.stage = ARB_NAMEREG_UPLOAD;
        else
            return arb_errf(eb, ARB_ERR_PARSE, "bad name registration %zu", i);
        if (zf[0] != '\0' && arb_hex_decode_alloc(&r.zonefile, &r.zonefile_len, zf) != ARB_OK)
            return arb_errf(eb, ARB_ERR_PARSE, "bad name registration %zu", i);
        e2 = arb_keystore_namereg_add(ks, &r);
        free(r.zonefile);
        if (e2 == ARB_ERR_NOMEM)
            return arb_errf(eb, e2, "out of memory");
        if (e2 != ARB_OK)
            return arb_errf(eb, ARB_ERR_PARSE, "bad name registration %zu", i);
    }
    return ARB_OK;
}

arb_err arb_keystore_parse(arb_keystore *ks, const char *json, size_t len, arb_errbuf *eb)
{
    static const char *const TOP[] = {"format", "version", "network", "next_receive",
                                      "next_change", "kdf", "cipher", "ciphertext",
                                      "pending", "names", NULL};
    static const char *const PENDING[] = {"txid", "hex", "time", NULL};
    static const char *const KDF[] = {"name", "log2_n", "r", "p", "salt", NULL};
    static const char *const CIPHER[] = {"name", "nonce", "tag", NULL};
    json_error_t jerr;
    json_t *root, *kdf, *cipher, *pending, *names;
    const char *net, *cth;
    uint64_t v;
    arb_err err = ARB_ERR_PARSE;

    memset(ks, 0, sizeof(*ks));
    if (len > ARB_KEYSTORE_FILE_MAX)
        return arb_errf(eb, ARB_ERR_PARSE, "wallet file too large");
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "wallet file is not JSON: %s (line %d)", jerr.text,
                        jerr.line);
    if (!json_is_object(root) || !only_keys(root, TOP)) {
        arb_errf(eb, err, "wallet file has an unknown field");
        goto out;
    }
    if (!get_str_eq(root, "format", FORMAT_NAME)) {
        arb_errf(eb, err, "not an arbor wallet file");
        goto out;
    }
    if (!get_uint(root, "version", 1000, &v) || v != ARB_KEYSTORE_VERSION) {
        arb_errf(eb, err, "unsupported wallet file version");
        goto out;
    }
    net = json_string_value(json_object_get(root, "network"));
    if (net == NULL || arb_wallet_network_hrp(net) == NULL) {
        arb_errf(eb, err, "bad network in wallet file");
        goto out;
    }
    snprintf(ks->network, sizeof(ks->network), "%s", net);
    if (!get_uint(root, "next_receive", 0x7fffffff, &v)) {
        arb_errf(eb, err, "bad next_receive");
        goto out;
    }
    ks->next_receive = (uint32_t)v;
    if (!get_uint(root, "next_change", 0x7fffffff, &v)) {
        arb_errf(eb, err, "bad next_change");
        goto out;
    }
    ks->next_change = (uint32_t)v;
    kdf = json_object_get(root, "kdf");
    if (!json_is_object(kdf) || !only_keys(kdf, KDF) || !get_str_eq(kdf, "name", "scrypt")) {
        arb_errf(eb, err, "bad kdf (scrypt expected)");
        goto out;
    }
    if (!get_uint(kdf, "log2_n", ARB_KEYSTORE_LOG2N_MAX, &v))
        goto bad_params;
    ks->log2_n = (unsigned)v;
    if (!get_uint(kdf, "r", 32, &v))
        goto bad_params;
    ks->r = (uint32_t)v;
    if (!get_uint(kdf, "p", 16, &v))
        goto bad_params;
    ks->p = (uint32_t)v;
    if (!params_ok(ks->log2_n, ks->r, ks->p))
        goto bad_params;
    if (!get_hex(kdf, "salt", ks->salt, sizeof(ks->salt))) {
        arb_errf(eb, err, "bad kdf salt");
        goto out;
    }
    cipher = json_object_get(root, "cipher");
    if (!json_is_object(cipher) || !only_keys(cipher, CIPHER) ||
        !get_str_eq(cipher, "name", "aes-256-gcm") ||
        !get_hex(cipher, "nonce", ks->nonce, sizeof(ks->nonce)) ||
        !get_hex(cipher, "tag", ks->tag, sizeof(ks->tag))) {
        arb_errf(eb, err, "bad cipher (aes-256-gcm with nonce and tag expected)");
        goto out;
    }
    cth = json_string_value(json_object_get(root, "ciphertext"));
    if (cth == NULL || strlen(cth) == 0 || strlen(cth) % 2 != 0) {
        arb_errf(eb, err, "bad ciphertext");
        goto out;
    }
    err = arb_hex_decode_alloc(&ks->ct, &ks->ct_len, cth);
    if (err != ARB_OK) {
        arb_errf(eb, err, "bad ciphertext");
        goto out;
    }
    pending = json_object_get(root, "pending");
    if (pending != NULL) {
        size_t i;
        json_t *e;
        err = ARB_ERR_PARSE;
        if (!json_is_array(pending) || json_array_size(pending) == 0 ||
            json_array_size(pending) > ARB_KEYSTORE_PENDING_MAX) {
            arb_errf(eb, err, "bad pending list");
            goto out;
        }
        json_array_foreach(pending, i, e) {
            const char *txid = json_string_value(json_object_get(e, "txid"));
            const char *hex = json_string_value(json_object_get(e, "hex"));
            arb_err e2;
            if (!json_is_object(e) || !only_keys(e, PENDING) || txid == NULL || hex == NULL ||
                !get_uint(e, "time", UINT32_MAX, &v) ||
                (e2 = arb_keystore_pending_add(ks, txid, hex, v)) == ARB_ERR_INVALID_ARG) {
                arb_errf(eb, err, "bad pending transaction %zu", i);
                goto out;
            }
            if (e2 != ARB_OK) {
                err = arb_errf(eb, e2, "out of memory");
                goto out;
            }
        }
    }
    names = json_object_get(root, "names");
    if (names != NULL && (err = parse_names(ks, names, eb)) != ARB_OK)
        goto out;
    err = ARB_OK;
    goto out;
bad_params:
    arb_errf(eb, err, "scrypt parameters out of range");
out:
    json_decref(root);
    if (err != ARB_OK)
        arb_keystore_clear(ks);
    return err;
}

arb_err arb_keystore_format(char **out, const arb_keystore *ks)
{
    char salt[33], nonce[25], tag[33], *cth = NULL;
    json_t *root = NULL;
    arb_err err = ARB_ERR_NOMEM;

    *out = NULL;
    if (ks->ct_len > ARB_KEYSTORE_FILE_MAX)
        return ARB_ERR_INVALID_ARG;
    cth = malloc(2 * ks->ct_len + 1);
    if (cth == NULL)
        return ARB_ERR_NOMEM;
    arb_hex_encode(cth, ks->ct, ks->ct_len);
    arb_hex_encode(salt, ks->salt, sizeof(ks->salt));
    arb_hex_encode(nonce, ks->nonce, sizeof(ks->nonce));
    arb_hex_encode(tag, ks->tag, sizeof(ks->tag));
    root = json_pack("{s:s, s:i, s:s, s:I, s:I, s:{s:s, s:i, s:I, s:I, s:s}, "
                     "s:{s:s, s:s, s:s}, s:s}",
                     "format", FORMAT_NAME, "version", ARB_KEYSTORE_VERSION, "network",
                     ks->network, "next_receive", (json_int_t)ks->next_receive, "next_change",
                     (json_int_t)ks->next_change, "kdf", "name", "scrypt", "log2_n",
                     (int)ks->log2_n, "r", (json_int_t)ks->r, "p", (json_int_t)ks->p, "salt",
                     salt, "cipher", "name", "aes-256-gcm", "nonce", nonce, "tag", tag,
                     "ciphertext", cth);
    if (root == NULL)
        goto out;
    if (ks->n_pending > 0) {
        json_t *a = json_array();
        if (a == NULL || json_object_set_new(root, "pending", a) != 0)
            goto out;
        for (size_t i = 0; i < ks->n_pending; i++)
            if (json_array_append_new(a, json_pack("{s:s, s:s, s:I}", "txid",
                                                   ks->pending[i].txid, "hex",
                                                   ks->pending[i].hex, "time",
                                                   (json_int_t)ks->pending[i].time)) != 0)
                goto out;
    }
    if (ks->n_names > 0) {
        json_t *a = json_array();
        if (a == NULL || json_object_set_new(root, "names", a) != 0)
            goto out;
        for (size_t i = 0; i < ks->n_names; i++) {
            const arb_keystore_namereg *r = &ks->names[i];
            char salt_h[65], owner_h[65], *zf = malloc(2 * r->zonefile_len + 1);
            json_t *e;
            if (zf == NULL)
                goto out;
            arb_hex_encode(zf, r->zonefile, r->zonefile_len);
            zf[2 * r->zonefile_len] = '\0';
            arb_hex_encode(salt_h, r->salt, 32);
            arb_hex_encode(owner_h, r->owner, 32);
            e = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "name", r->name,
                          "stage", arb_namereg_stage_name(r->stage), "salt", salt_h, "owner",
                          owner_h, "burn", (json_int_t)r->burn, "preorder_txid",
                          r->preorder_txid, "register_txid", r->register_txid, "zonefile", zf,
                          "time", (json_int_t)r->time);
            free(zf);
            if (json_array_append_new(a, e) != 0)
                goto out;
        }
    }
    *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (*out != NULL)
        err = ARB_OK;
out:
    json_decref(root);
    free(cth);
    return err;
}

/* Reads all of fd (at most ARB_KEYSTORE_FILE_MAX bytes) and parses it. */
static arb_err load_fd(arb_keystore *ks, int fd, const char *path, arb_errbuf *eb)
{
    char *buf;
    size_t n = 0;
    ssize_t r;
    arb_err err;

    buf = malloc(ARB_KEYSTORE_FILE_MAX + 1);
    if (buf == NULL)
        return ARB_ERR_NOMEM;
    for (;;) {
        r = read(fd, buf + n, ARB_KEYSTORE_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = arb_errf(eb, ARB_ERR_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > ARB_KEYSTORE_FILE_MAX) {
            err = arb_errf(eb, ARB_ERR_PARSE, "%s: wallet file too large", path);
            goto out;
        }
    }
    err = arb_keystore_parse(ks, buf, n, eb);
out:
    free(buf);
    return err;
}

static arb_err open_existing(int *fd, const char *path, arb_errbuf *eb)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0)
        return ARB_OK;
    if (errno == ENOENT)
        return arb_errf(eb, ARB_ERR_NOT_FOUND, "%s: no such wallet file", path);
    return arb_errf(eb, ARB_ERR_IO, "%s: %s", path, strerror(errno));
}

arb_err arb_keystore_load(arb_keystore *ks, const char *path, arb_errbuf *eb)
{
    int fd;
    arb_err err;

    memset(ks, 0, sizeof(*ks));
    if ((err = open_existing(&fd, path, eb)) != ARB_OK)
        return err;
    err = load_fd(ks, fd, path, eb);
    close(fd);
    return err;
}

arb_err arb_keystore_load_locked(arb_keystore *ks, int *lock_fd, const char *path,
                                 arb_errbuf *eb)
{
    int fd, tries;
    arb_err err;

    memset(ks, 0, sizeof(*ks));
    *lock_fd = -1;
    for (tries = 0; tries < 1000; tries++) {
        struct stat a, b;
        if ((err = open_existing(&fd, path, eb)) != ARB_OK)
            return err;
        while (flock(fd, LOCK_EX) != 0) {
            if (errno != EINTR) {
                err = arb_errf(eb, ARB_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
                close(fd);
                return err;
            }
        }
        /* Still the file at path? A writer may have replaced it meanwhile. */
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            err = load_fd(ks, fd, path, eb);
            if (err != ARB_OK) {
                close(fd);
                return err;
            }
            *lock_fd = fd;
            return ARB_OK;
        }
        close(fd);
    }
    return arb_errf(eb, ARB_ERR_BUSY, "%s: the file keeps changing", path);
}

void arb_keystore_unlock(int lock_fd)
{
    if (lock_fd >= 0)
        close(lock_fd); /* closing the descriptor releases the flock */
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

arb_err arb_keystore_save(const arb_keystore *ks, const char *path, int create_new,
                          arb_errbuf *eb)
{
    char *json = NULL, *tmp = NULL, *dir = NULL, *slash;
    size_t pl = strlen(path);
    int fd = -1, saved;
    arb_err err;

    if ((err = arb_keystore_format(&json, ks)) != ARB_OK)
        return arb_errf(eb, err, "cannot format the wallet file");
    if (strlen(json) + 1 > ARB_KEYSTORE_FILE_MAX) {
        free(json);
        return arb_errf(eb, ARB_ERR_INVALID_ARG,
                        "%s: the wallet file would exceed %u bytes; not written", path,
                        ARB_KEYSTORE_FILE_MAX);
    }
    tmp = malloc(pl + 16);
    dir = malloc(pl + 2);
    if (tmp == NULL || dir == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    /* The directory of path (".", "/", or the part before the last slash). */
    memcpy(dir, path, pl + 1);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    snprintf(tmp, pl + 16, "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        err = arb_errf(eb, ARB_ERR_IO, "%s: cannot create a temporary file: %s", dir,
                       strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 || !write_all(fd, json, strlen(json)) ||
        !write_all(fd, "\n", 1) || fsync(fd) != 0) {
        err = arb_errf(eb, ARB_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        err = arb_errf(eb, ARB_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (create_new) {
        /* link() fails if path exists: a new wallet never replaces an old one. */
        if (link(tmp, path) != 0) {
            saved = errno;
            err = saved == EEXIST
                      ? arb_errf(eb, ARB_ERR_EXISTS, "%s already exists; not overwriting it", path)
                      : arb_errf(eb, ARB_ERR_IO, "%s: %s", path, strerror(saved));
            goto out;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        err = arb_errf(eb, ARB_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    err = arb_file_sync_parent(path, eb);
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL && tmp[0] != '\0')
        unlink(tmp);
    free(tmp);
    free(dir);
    free(json);
    return err;
}
