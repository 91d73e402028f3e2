/* The witness state machine; see witness.h. */
#include "auditor/witness.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/consist.h"
#include "ledger/store/store.h"
#include "merkle/buf.h"
#include "merkle/checkpoint.h"

#define MAX_KEYS 256
/* tlog-witness: a client MUST NOT send more than 63 proof lines. */
#define MAX_PROOF ARB_AUDIT_WITNESS_MAX_PROOF

struct arb_audit_witness {
    arb_store *store;
    const arb_note_signer *signer;
    arb_note_verifier *keys[MAX_KEYS];
    size_t nkeys;
    pthread_mutex_t lock;
};

static const char *const CFS[] = {"default", "witness"};
enum { CF_WITNESS = 1 };

arb_err arb_audit_witness_open(arb_audit_witness **out, const char *dir,
                               const arb_note_signer *signer, arb_errbuf *eb)
{
    arb_audit_witness *w;
    arb_err err;

    *out = NULL;
    if (arb_note_signer_type(signer) != ARB_NOTE_COSIG_V1)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "the witness key must be a cosignature (type 4) key");
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return ARB_ERR_NOMEM;
    err = arb_store_open(&w->store, dir, CFS, 2, NULL, eb);
    if (err != ARB_OK) {
        free(w);
        return err;
    }
    pthread_mutex_init(&w->lock, NULL);
    w->signer = signer;
    *out = w;
    return ARB_OK;
}

void arb_audit_witness_close(arb_audit_witness *w)
{
    if (w == NULL)
        return;
    arb_store_close(w->store);
    for (size_t i = 0; i < w->nkeys; i++)
        arb_note_verifier_free(w->keys[i]);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

arb_err arb_audit_witness_add_log(arb_audit_witness *w, arb_note_verifier *v)
{
    if (w->nkeys == MAX_KEYS) {
        arb_note_verifier_free(v);
        return ARB_ERR_INVALID_ARG;
    }
    w->keys[w->nkeys++] = v;
    return ARB_OK;
}

static arb_err reply_set(arb_audit_witness_reply *r, int status, const char *ctype,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static arb_err reply_set(arb_audit_witness_reply *r, int status, const char *ctype,
                         const char *fmt, ...)
{
    va_list ap;
    char line[300];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof line)
        n = sizeof line - 1;
    free(r->body);
    r->status = status;
    r->content_type = ctype ? ctype : "text/plain; charset=utf-8";
    r->body = malloc((size_t)n + 1);
    r->body_len = 0;
    if (r->body == NULL)
        return ARB_ERR_NOMEM;
    memcpy(r->body, line, (size_t)n + 1);
    r->body_len = (size_t)n;
    return ARB_OK;
}

arb_err arb_audit_witness_state(arb_audit_witness *w, const char *origin, uint64_t *size,
                                arb_hash *root, arb_errbuf *eb)
{
    uint8_t buf[40];
    size_t n = 0;
    arb_err err;
    arb_cur c;

    *size = 0;
    memset(root, 0, sizeof *root);
    err = arb_store_get_into(w->store, NULL, CF_WITNESS, (const uint8_t *)origin, strlen(origin),
                             buf, sizeof buf, &n, eb);
    if (err == ARB_ERR_INVALID_ARG && n > sizeof buf) {
        /* The value also carries the checkpoint text: read it whole. */
        uint8_t *val = NULL;
        err = arb_store_get(w->store, NULL, CF_WITNESS, (const uint8_t *)origin, strlen(origin),
                            &val, &n, eb);
        if (err != ARB_OK)
            return err;
        memcpy(buf, val, n < sizeof buf ? n : sizeof buf);
        free(val);
    } else if (err != ARB_OK) {
        return err;
    }
    c = arb_cur_make(buf, n < sizeof buf ? n : sizeof buf);
    if (n < 40 || !arb_cur_u64be(&c, size) || !arb_cur_get(&c, root->b, 32))
        return arb_errf(eb, ARB_ERR_DB, "witness state for %s is corrupt", origin);
    return ARB_OK;
}

int arb_audit_witness_parse_request(const uint8_t *body, size_t len, uint64_t *old,
                                    arb_hash proof[static ARB_AUDIT_WITNESS_MAX_PROOF],
                                    size_t *n, const uint8_t **note, size_t *note_len, char *why,
                                    size_t why_len)
{
    const uint8_t *p = body, *end = body + len, *nl;
    size_t k = 0;

    *n = 0;
    nl = memchr(p, '\n', len);
    if (nl == NULL || nl - p < 5 || memcmp(p, "old ", 4) != 0) {
        snprintf(why, why_len, "the first line must be \"old <size>\"");
        return 0;
    }
    {
        const uint8_t *d = p + 4;
        uint64_t v = 0;
        if (d == nl || (*d == '0' && nl - d > 1)) {
            snprintf(why, why_len, "old size: not a canonical decimal");
            return 0;
        }
        for (; d < nl; d++) {
            if (*d < '0' || *d > '9' || v > (UINT64_MAX - 9) / 10) {
                snprintf(why, why_len, "old size: not a decimal number");
                return 0;
            }
            v = v * 10 + (uint64_t)(*d - '0');
        }
        *old = v;
    }
    p = nl + 1;
    for (;;) {
        uint8_t *raw = NULL;
        size_t rl = 0;
        if (p >= end) {
            snprintf(why, why_len, "missing the empty line before the checkpoint");
            return 0;
        }
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            snprintf(why, why_len, "unterminated line");
            return 0;
        }
        if (nl == p)
            break;
        if (k == MAX_PROOF) {
            snprintf(why, why_len, "more than %d proof lines", MAX_PROOF);
            return 0;
        }
        if (arb_base64_decode(&raw, &rl, (const char *)p, (size_t)(nl - p)) != ARB_OK || rl != 32) {
            free(raw);
            snprintf(why, why_len, "proof line %zu is not a base64 hash", k + 1);
            return 0;
        }
        memcpy(proof[k++].b, raw, 32);
        free(raw);
        p = nl + 1;
    }
    *n = k;
    *note = nl + 1;
    *note_len = (size_t)(end - (nl + 1));
    return 1;
}

arb_err arb_audit_witness_add_checkpoint(arb_audit_witness *w, const uint8_t *body, size_t len,
                                         uint64_t now_ms, arb_audit_witness_reply *reply)
{
    arb_hash proof[MAX_PROOF];
    size_t nproof = 0, nkeys = 0, origin_len;
    uint64_t old = 0, cur_size = 0;
    arb_hash cur_root;
    const uint8_t *note_bytes = NULL;
    size_t note_len = 0;
    char why[200];
    arb_note *note = NULL;
    arb_checkpoint *cp = NULL;
    const arb_note_verifier *vs[MAX_KEYS];
    arb_errbuf eb;
    arb_err err;
    char *origin = NULL;
    const char *nlp;
    int locked = 0;
    uint8_t *sig = NULL;
    size_t sig_len = 0;

    memset(reply, 0, sizeof *reply);
    if (!arb_audit_witness_parse_request(body, len, &old, proof, &nproof, &note_bytes, &note_len,
                                         why, sizeof why)) {
        err = reply_set(reply, 400, NULL, "%s\n", why);
        goto out;
    }
    if (arb_note_parse(&note, note_bytes, note_len, &eb) != ARB_OK) {
        err = reply_set(reply, 400, NULL, "checkpoint: %s\n", eb.msg);
        goto out;
    }
    nlp = memchr(note->text, '\n', note->text_len);
    origin_len = (size_t)(nlp - note->text);
    origin = malloc(origin_len + 1);
    if (origin == NULL) {
        err = ARB_ERR_NOMEM;
        goto out;
    }
    memcpy(origin, note->text, origin_len);
    origin[origin_len] = '\0';
    for (size_t i = 0; i < w->nkeys; i++)
        if (strcmp(arb_note_verifier_name(w->keys[i]), origin) == 0)
            vs[nkeys++] = w->keys[i];
    if (nkeys == 0) {
        err = reply_set(reply, 404, NULL, "unknown log origin \"%.100s\"\n", origin);
        goto out;
    }
    err = arb_checkpoint_open(&cp, NULL, note_bytes, note_len, origin, vs, nkeys, NULL, &eb);
    if (err == ARB_ERR_PARSE) {
        err = reply_set(reply, 400, NULL, "checkpoint: %s\n", eb.msg);
        goto out;
    }
    if (err != ARB_OK) {
        err = reply_set(reply, err == ARB_ERR_NOMEM ? 500 : 403, NULL, "checkpoint: %s\n", eb.msg);
        goto out;
    }
    if (old > cp->size) {
        err = reply_set(reply, 400, NULL, "old size %llu is larger than the checkpoint size %llu\n",
                        (unsigned long long)old, (unsigned long long)cp->size);
        goto out;
    }
    pthread_mutex_lock(&w->lock);
    locked = 1;
    err = arb_audit_witness_state(w, origin, &cur_size, &cur_root, &eb);
    if (err != ARB_OK && err != ARB_ERR_NOT_FOUND) {
        err = reply_set(reply, 500, NULL, "witness state: %s\n", eb.msg);
        goto out;
    }
    if (old != cur_size) {
        err = reply_set(reply, 409, "text/x.tlog.size", "%llu\n", (unsigned long long)cur_size);
        goto out;
    }
    if (old == cp->size && old != 0 && !arb_hash_eq(&cur_root, &cp->root)) {
        err = reply_set(reply, 409, "text/x.tlog.size", "%llu\n", (unsigned long long)cur_size);
        goto out;
    }
    err = arb_audit_consistency_verify(old, &cur_root, cp->size, &cp->root, proof, nproof, &eb);
    if (err != ARB_OK) {
        err = reply_set(reply, err == ARB_ERR_VERIFY ? 422 : 500, NULL,
                        "consistency proof: %s\n", eb.msg);
        goto out;
    }
    /* Persist (synced) before answering. */
    {
        arb_store_batch *b = NULL;
        arb_buf v = ARB_BUF_INIT;
        arb_buf_u64be(&v, cp->size);
        arb_buf_put(&v, cp->root.b, 32);
        arb_buf_put(&v, note->text, note->text_len);
        err = v.oom ? ARB_ERR_NOMEM : arb_store_batch_new(&b, w->store);
        if (err == ARB_OK) {
            arb_store_batch_put(b, CF_WITNESS, (const uint8_t *)origin, origin_len, v.data, v.len);
            err = arb_store_write(w->store, b, ARB_STORE_SYNC, &eb);
        } else {
            snprintf(eb.msg, sizeof eb.msg, "out of memory");
        }
        arb_store_batch_free(b);
        arb_buf_free(&v);
        if (err != ARB_OK) {
            err = reply_set(reply, 500, NULL, "witness state: %s\n", eb.msg);
            goto out;
        }
    }
    pthread_mutex_unlock(&w->lock);
    locked = 0;
    /* Cosign: "— <name> base64(key ID || signature)\n". */
    err = arb_note_signer_sign(&sig, &sig_len, w->signer, (const uint8_t *)note->text,
                               note->text_len, now_ms, &eb);
    if (err != ARB_OK) {
        err = reply_set(reply, 500, NULL, "cosigning: %s\n", eb.msg);
        goto out;
    }
    {
        uint8_t *kid_sig = malloc(4 + sig_len);
        uint32_t id = arb_note_signer_key_id(w->signer);
        char *b64;
        arb_buf line = ARB_BUF_INIT;
        if (kid_sig == NULL) {
            err = ARB_ERR_NOMEM;
            goto out;
        }
        kid_sig[0] = (uint8_t)(id >> 24);
        kid_sig[1] = (uint8_t)(id >> 16);
        kid_sig[2] = (uint8_t)(id >> 8);
        kid_sig[3] = (uint8_t)id;
        memcpy(kid_sig + 4, sig, sig_len);
        b64 = arb_base64_encode(kid_sig, 4 + sig_len);
        free(kid_sig);
        if (b64 == NULL) {
            err = ARB_ERR_NOMEM;
            goto out;
        }
        arb_buf_put(&line, "\xe2\x80\x94 ", 4);
        arb_buf_put(&line, arb_note_signer_name(w->signer), strlen(arb_note_signer_name(w->signer)));
        arb_buf_u8(&line, ' ');
        arb_buf_put(&line, b64, strlen(b64));
        arb_buf_u8(&line, '\n');
        arb_buf_u8(&line, 0);
        free(b64);
        if (line.oom) {
            arb_buf_free(&line);
            err = ARB_ERR_NOMEM;
            goto out;
        }
        reply->status = 200;
        reply->content_type = "text/plain; charset=utf-8";
        reply->body_len = line.len - 1;
        reply->body = (char *)arb_buf_take(&line, &line.len);
        err = ARB_OK;
    }
out:
    if (locked)
        pthread_mutex_unlock(&w->lock);
    free(sig);
    free(origin);
    arb_checkpoint_free(cp);
    arb_note_free(note);
    return err;
}
