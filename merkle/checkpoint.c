/* c2sp.org/tlog-checkpoint body codec, and signing / opening signed checkpoints. */
#include "merkle/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/buf.h"
#include "merkle/note_internal.h"

void arb_checkpoint_free(arb_checkpoint *cp)
{
    if (cp == NULL)
        return;
    free(cp->origin);
    free(cp->ext);
    free(cp);
}

/* Parses a tree size line: "0" or [1-9][0-9]*, at most 2^64 - 1. */
static int parse_size(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return 0;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* Returns 1 if ext[0..len) is a sequence of non-empty lines each ending in '\n'. */
static int ext_valid(const char *ext, size_t len)
{
    if (len == 0)
        return 1;
    if (ext[len - 1] != '\n' || ext[0] == '\n')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (ext[i] == '\n' && ext[i - 1] == '\n')
            return 0;
    return 1;
}

arb_err arb_checkpoint_parse(arb_checkpoint **out, const char *text, size_t len, arb_errbuf *eb)
{
    const char *line[3], *nl;
    size_t line_len[3], pos = 0;
    arb_checkpoint *cp;
    uint8_t *root = NULL;
    size_t root_len = 0;
    arb_err err;

    *out = NULL;
    if (len > ARB_NOTE_MAX_SIZE || !arb_note_text_valid(text, len))
        return arb_errf(eb, ARB_ERR_PARSE,
                        "checkpoint is not UTF-8 text without control characters ending in a newline");
    for (int i = 0; i < 3; i++) {
        line[i] = text + pos;
        nl = pos < len ? memchr(text + pos, '\n', len - pos) : NULL;
        if (nl == NULL)
            return arb_errf(eb, ARB_ERR_PARSE, "checkpoint has fewer than three lines");
        line_len[i] = (size_t)(nl - line[i]);
        pos += line_len[i] + 1;
    }
    if (line_len[0] == 0)
        return arb_errf(eb, ARB_ERR_PARSE, "checkpoint origin is empty");
    if (!ext_valid(text + pos, len - pos))
        return arb_errf(eb, ARB_ERR_PARSE, "checkpoint has an empty extension line");
    cp = calloc(1, sizeof *cp);
    if (cp == NULL)
        return ARB_ERR_NOMEM;
    if (!parse_size(line[1], line_len[1], &cp->size)) {
        err = arb_errf(eb, ARB_ERR_PARSE, "checkpoint tree size is not a canonical decimal");
        goto fail;
    }
    err = arb_base64_decode(&root, &root_len, line[2], line_len[2]);
    if (err == ARB_ERR_NOMEM)
        goto fail;
    if (err != ARB_OK || root_len != ARB_HASH_SIZE) {
        err = arb_errf(eb, ARB_ERR_PARSE, "checkpoint root hash is not base64 of 32 bytes");
        goto fail;
    }
    memcpy(cp->root.b, root, ARB_HASH_SIZE);
    cp->origin = arb_note_strndup(line[0], line_len[0]);
    cp->ext = arb_note_strndup(text + pos, len - pos);
    cp->ext_len = len - pos;
    if (cp->origin == NULL || cp->ext == NULL) {
        err = ARB_ERR_NOMEM;
        goto fail;
    }
    free(root);
    *out = cp;
    return ARB_OK;
fail:
    free(root);
    arb_checkpoint_free(cp);
    return err;
}

arb_err arb_checkpoint_format(char **out, size_t *out_len, const arb_checkpoint *cp)
{
    arb_buf b = ARB_BUF_INIT;
    char size[24], *b64;
    size_t olen = cp->origin ? strlen(cp->origin) : 0;
    int n;

    *out = NULL;
    *out_len = 0;
    if (olen == 0 || memchr(cp->origin, '\n', olen) != NULL ||
        (cp->ext_len > 0 && (cp->ext == NULL || !ext_valid(cp->ext, cp->ext_len))))
        return ARB_ERR_INVALID_ARG;
    b64 = arb_base64_encode(cp->root.b, ARB_HASH_SIZE);
    if (b64 == NULL)
        return ARB_ERR_NOMEM;
    n = snprintf(size, sizeof size, "%" PRIu64 "\n", cp->size);
    arb_buf_put(&b, cp->origin, olen);
    arb_buf_u8(&b, '\n');
    arb_buf_put(&b, size, (size_t)n);
    arb_buf_put(&b, b64, strlen(b64));
    arb_buf_u8(&b, '\n');
    if (cp->ext_len > 0)
        arb_buf_put(&b, cp->ext, cp->ext_len);
    arb_buf_u8(&b, '\0');
    free(b64);
    if (b.oom) {
        arb_buf_free(&b);
        return ARB_ERR_NOMEM;
    }
    /* Catches control characters or bad UTF-8 in the origin or extensions. */
    if (b.len - 1 > ARB_NOTE_MAX_SIZE || !arb_note_text_valid((const char *)b.data, b.len - 1)) {
        arb_buf_free(&b);
        return ARB_ERR_INVALID_ARG;
    }
    *out = (char *)arb_buf_take(&b, out_len);
    (*out_len)--;
    return ARB_OK;
}

arb_err arb_checkpoint_sign(uint8_t **out, size_t *out_len, const arb_checkpoint *cp,
                            const arb_note_signer *const *ss, size_t nss, uint64_t now_ms,
                            arb_errbuf *eb)
{
    char *text = NULL;
    size_t text_len;
    arb_note *n = NULL;
    arb_err err;

    *out = NULL;
    *out_len = 0;
    err = arb_checkpoint_format(&text, &text_len, cp);
    if (err != ARB_OK)
        return arb_errf(eb, err, "cannot format checkpoint");
    err = arb_note_new(&n, text, text_len, eb);
    for (size_t i = 0; err == ARB_OK && i < nss; i++)
        err = arb_note_sign(n, ss[i], now_ms, eb);
    if (err == ARB_OK)
        err = arb_note_format(out, out_len, n);
    arb_note_free(n);
    free(text);
    return err;
}

arb_err arb_checkpoint_open(arb_checkpoint **cp_out, arb_note **note_out, const uint8_t *msg,
                            size_t len, const char *origin, const arb_note_verifier *const *vs,
                            size_t nvs, arb_note_result *res, arb_errbuf *eb)
{
    arb_note *n = NULL;
    arb_checkpoint *cp = NULL;
    arb_err err;

    *cp_out = NULL;
    if (note_out != NULL)
        *note_out = NULL;
    if (res != NULL)
        memset(res, 0, nvs * sizeof *res);
    err = arb_note_parse(&n, msg, len, eb);
    if (err != ARB_OK)
        return err;
    err = arb_checkpoint_parse(&cp, n->text, n->text_len, eb);
    if (err != ARB_OK)
        goto out;
    if (origin != NULL && strcmp(origin, cp->origin) != 0) {
        err = arb_errf(eb, ARB_ERR_VERIFY, "checkpoint origin is not %s", origin);
        goto out;
    }
    err = arb_note_verify(n, vs, nvs, res, eb);
    if (err != ARB_OK)
        goto out;
    *cp_out = cp;
    cp = NULL;
    if (note_out != NULL) {
        *note_out = n;
        n = NULL;
    }
out:
    arb_checkpoint_free(cp);
    arb_note_free(n);
    return err;
}
