/* Signed-note text codec: UTF-8 and name rules, parsing, formatting, and the
 * verification policy of c2sp.org/signed-note. The signature algorithms live
 * in note_keys.c. */
#include "merkle/note.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "merkle/buf.h"
#include "merkle/note_internal.h"

size_t arb_note_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t n;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0; /* continuation byte, 0xc0/0xc1 (always overlong), 0xf5.. */
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

int arb_note_chars_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        if (s[i] < 0x80) { /* fast path for ASCII */
            if (s[i] < 0x20 && s[i] != '\n')
                return 0;
            i++;
            continue;
        }
        size_t n = arb_note_utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

char *arb_note_strndup(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p == NULL)
        return NULL;
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Unicode White_Space, the set Go's unicode.IsSpace tests. */
static int is_unicode_space(uint32_t cp)
{
    switch (cp) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202f: case 0x205f: case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200a;
    }
}

int arb_note_name_valid(const char *name, size_t len)
{
    const uint8_t *s = (const uint8_t *)name;
    size_t i = 0;

    if (name == NULL || len == 0)
        return 0;
    while (i < len) {
        uint32_t cp;
        size_t n = arb_note_utf8_decode(s + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || cp == '+' || is_unicode_space(cp))
            return 0;
        i += n;
    }
    return 1;
}

int arb_note_text_valid(const char *text, size_t len)
{
    return text != NULL && len > 0 && text[len - 1] == '\n' &&
           arb_note_chars_valid((const uint8_t *)text, len);
}

uint32_t arb_note_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t *key,
                         size_t key_len)
{
    uint8_t sum[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    const uint8_t nl = '\n';

    /* A hash failure here is not recoverable and must not yield a wrong ID. */
    if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(ctx, name, name_len) || !EVP_DigestUpdate(ctx, &nl, 1) ||
        !EVP_DigestUpdate(ctx, &type, 1) || !EVP_DigestUpdate(ctx, key, key_len) ||
        !EVP_DigestFinal_ex(ctx, sum, &n) || n != 32)
        abort();
    EVP_MD_CTX_free(ctx);
    return (uint32_t)sum[0] << 24 | (uint32_t)sum[1] << 16 | (uint32_t)sum[2] << 8 | sum[3];
}

void arb_note_free(arb_note *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nsigs; i++) {
        free(n->sigs[i].name);
        free(n->sigs[i].sig);
    }
    free(n->sigs);
    free(n->text);
    free(n);
}

arb_err arb_note_new(arb_note **out, const char *text, size_t len, arb_errbuf *eb)
{
    arb_note *n;

    *out = NULL;
    if (len > ARB_NOTE_MAX_SIZE)
        return arb_errf(eb, ARB_ERR_PARSE, "note text longer than %u bytes", ARB_NOTE_MAX_SIZE);
    if (!arb_note_text_valid(text, len))
        return arb_errf(eb, ARB_ERR_PARSE,
                        "note text must be UTF-8 without control characters and end in a newline");
    n = calloc(1, sizeof *n);
    if (n == NULL)
        return ARB_ERR_NOMEM;
    n->text = arb_note_strndup(text, len);
    if (n->text == NULL) {
        free(n);
        return ARB_ERR_NOMEM;
    }
    n->text_len = len;
    *out = n;
    return ARB_OK;
}

/* Adds a line without the replace-duplicates rule (parsing keeps every line). */
static arb_err push_sig(arb_note *n, const char *name, size_t name_len, uint32_t key_id,
                        const uint8_t *sig, size_t sig_len)
{
    arb_note_sig *grown, *s;

    grown = realloc(n->sigs, (n->nsigs + 1) * sizeof *grown);
    if (grown == NULL)
        return ARB_ERR_NOMEM;
    n->sigs = grown;
    s = &n->sigs[n->nsigs];
    s->name = arb_note_strndup(name, name_len);
    s->sig = malloc(sig_len);
    if (s->name == NULL || s->sig == NULL) {
        free(s->name);
        free(s->sig);
        return ARB_ERR_NOMEM;
    }
    memcpy(s->sig, sig, sig_len);
    s->key_id = key_id;
    s->sig_len = sig_len;
    n->nsigs++;
    return ARB_OK;
}

arb_err arb_note_add_sig(arb_note *n, const char *name, uint32_t key_id, const uint8_t *sig,
                         size_t sig_len, arb_errbuf *eb)
{
    size_t name_len = name ? strlen(name) : 0;

    if (!arb_note_name_valid(name, name_len))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "invalid key name");
    if (sig == NULL || sig_len == 0)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "empty signature");
    for (size_t i = 0; i < n->nsigs; i++) {
        arb_note_sig *s = &n->sigs[i];
        if (s->key_id == key_id && strcmp(s->name, name) == 0) {
            uint8_t *copy = malloc(sig_len);
            if (copy == NULL)
                return ARB_ERR_NOMEM;
            memcpy(copy, sig, sig_len);
            free(s->sig);
            s->sig = copy;
            s->sig_len = sig_len;
            return ARB_OK;
        }
    }
    if (n->nsigs >= ARB_NOTE_MAX_SIGS)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "note already has %d signatures",
                        ARB_NOTE_MAX_SIGS);
    return push_sig(n, name, name_len, key_id, sig, sig_len);
}

arb_err arb_note_parse(arb_note **out, const uint8_t *msg, size_t len, arb_errbuf *eb)
{
    arb_note *n = NULL;
    size_t split, pos, i;
    uint8_t *raw = NULL;
    arb_err err;

    *out = NULL;
    if (len > ARB_NOTE_MAX_SIZE)
        return arb_errf(eb, ARB_ERR_PARSE, "note longer than %u bytes", ARB_NOTE_MAX_SIZE);
    if (!arb_note_chars_valid(msg, len))
        return arb_errf(eb, ARB_ERR_PARSE, "note is not UTF-8 or has control characters");
    /* The text ends at the last blank line (signed-note "Format"). */
    for (i = len; i >= 2; i--)
        if (msg[i - 2] == '\n' && msg[i - 1] == '\n')
            break;
    if (i < 2)
        return arb_errf(eb, ARB_ERR_PARSE, "note has no blank line before its signatures");
    split = i - 2;
    if (split + 2 == len || msg[len - 1] != '\n')
        return arb_errf(eb, ARB_ERR_PARSE, "signature block empty or not ending in a newline");

    err = arb_note_new(&n, (const char *)msg, split + 1, eb);
    if (err != ARB_OK)
        return err;

    for (pos = split + 2; pos < len;) {
        const uint8_t *line = msg + pos, *nl = memchr(line, '\n', len - pos);
        size_t line_len = (size_t)(nl - line), name_len, b64_len, raw_len;
        const char *name, *b64, *sp;

        pos += line_len + 1;
        if (n->nsigs >= ARB_NOTE_MAX_SIGS) {
            err = arb_errf(eb, ARB_ERR_PARSE, "more than %d signatures", ARB_NOTE_MAX_SIGS);
            goto out;
        }
        if (line_len < NOTE_SIG_PREFIX_LEN || memcmp(line, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN)) {
            err = arb_errf(eb, ARB_ERR_PARSE, "signature line %zu does not start with an em dash",
                           n->nsigs + 1);
            goto out;
        }
        name = (const char *)line + NOTE_SIG_PREFIX_LEN;
        sp = memchr(name, ' ', line_len - NOTE_SIG_PREFIX_LEN);
        if (sp == NULL) {
            err = arb_errf(eb, ARB_ERR_PARSE, "signature line %zu has no signature", n->nsigs + 1);
            goto out;
        }
        name_len = (size_t)(sp - name);
        b64 = sp + 1;
        b64_len = line_len - NOTE_SIG_PREFIX_LEN - name_len - 1;
        if (!arb_note_name_valid(name, name_len)) {
            err = arb_errf(eb, ARB_ERR_PARSE, "signature line %zu has an invalid key name",
                           n->nsigs + 1);
            goto out;
        }
        err = arb_base64_decode(&raw, &raw_len, b64, b64_len);
        if (err == ARB_ERR_NOMEM)
            goto out;
        if (err != ARB_OK || raw_len < 5) {
            err = arb_errf(eb, ARB_ERR_PARSE, "signature line %zu: bad base64 or too short",
                           n->nsigs + 1);
            goto out;
        }
        err = push_sig(n, name, name_len,
                       (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 |
                           raw[3],
                       raw + 4, raw_len - 4);
        free(raw);
        raw = NULL;
        if (err != ARB_OK)
            goto out;
    }
    *out = n;
    n = NULL;
    err = ARB_OK;
out:
    free(raw);
    arb_note_free(n);
    return err;
}

arb_err arb_note_format(uint8_t **out, size_t *out_len, const arb_note *n)
{
    arb_buf b = ARB_BUF_INIT;

    *out = NULL;
    *out_len = 0;
    if (n->nsigs == 0)
        return ARB_ERR_INVALID_ARG;
    arb_buf_put(&b, n->text, n->text_len);
    arb_buf_u8(&b, '\n');
    for (size_t i = 0; i < n->nsigs; i++) {
        const arb_note_sig *s = &n->sigs[i];
        uint8_t *raw = malloc(s->sig_len + 4);
        char *b64;
        if (raw == NULL) {
            arb_buf_free(&b);
            return ARB_ERR_NOMEM;
        }
        raw[0] = (uint8_t)(s->key_id >> 24);
        raw[1] = (uint8_t)(s->key_id >> 16);
        raw[2] = (uint8_t)(s->key_id >> 8);
        raw[3] = (uint8_t)s->key_id;
        memcpy(raw + 4, s->sig, s->sig_len);
        b64 = arb_base64_encode(raw, s->sig_len + 4);
        free(raw);
        if (b64 == NULL) {
            arb_buf_free(&b);
            return ARB_ERR_NOMEM;
        }
        arb_buf_put(&b, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN);
        arb_buf_put(&b, s->name, strlen(s->name));
        arb_buf_u8(&b, ' ');
        arb_buf_put(&b, b64, strlen(b64));
        arb_buf_u8(&b, '\n');
        free(b64);
    }
    if (b.oom) {
        arb_buf_free(&b);
        return ARB_ERR_NOMEM;
    }
    *out = arb_buf_take(&b, out_len);
    return ARB_OK;
}

arb_err arb_note_verify(const arb_note *n, const arb_note_verifier *const *vs, size_t nvs,
                        arb_note_result *res, arb_errbuf *eb)
{
    size_t nverified = 0;

    if (res != NULL)
        memset(res, 0, nvs * sizeof *res);
    /* Two keys with the same name and ID make the lookup ambiguous: a
     * misconfiguration (or an attack on the configuration), never guessed at. */
    for (size_t i = 0; i < nvs; i++)
        for (size_t j = i + 1; j < nvs; j++)
            if (arb_note_verifier_key_id(vs[i]) == arb_note_verifier_key_id(vs[j]) &&
                strcmp(arb_note_verifier_name(vs[i]), arb_note_verifier_name(vs[j])) == 0)
                return arb_errf(eb, ARB_ERR_INVALID_ARG, "ambiguous verifiers for %s+%08x",
                                arb_note_verifier_name(vs[i]), arb_note_verifier_key_id(vs[i]));

    for (size_t k = 0; k < n->nsigs; k++) {
        const arb_note_sig *s = &n->sigs[k];
        for (size_t i = 0; i < nvs; i++) {
            uint64_t ts = 0;
            if (arb_note_verifier_key_id(vs[i]) != s->key_id ||
                strcmp(arb_note_verifier_name(vs[i]), s->name) != 0)
                continue;
            /* A known key: its signature must verify (signed-note "Signatures"). */
            if (!arb_note_verifier_verify(vs[i], (const uint8_t *)n->text, n->text_len, s->sig,
                                          s->sig_len, &ts)) {
                if (res != NULL)
                    memset(res, 0, nvs * sizeof *res);
                return arb_errf(eb, ARB_ERR_VERIFY, "invalid signature for key %s+%08x",
                                s->name, s->key_id);
            }
            if (res != NULL && !res[i].verified) {
                res[i].verified = 1;
                res[i].timestamp = ts;
            }
            nverified++;
            break;
        }
    }
    if (nverified == 0)
        return arb_errf(eb, ARB_ERR_VERIFY, "no signature from a known key");
    return ARB_OK;
}
