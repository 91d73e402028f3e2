/* The log-anchor payload as the wallet builds it (see anchorbuild.h). */
#include "wallet/anchorbuild.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ledger/log/ct.h"
#include "ledger/log/ctjson.h"
#include "ledger/log/key.h"
#include "ledger/log/static.h"
#include "merkle/note.h"

arb_err arb_wallet_spki_from_pem(uint8_t **der, size_t *der_len, const char *pem, size_t pem_len,
                                 arb_errbuf *eb)
{
    BIO *bio;
    EVP_PKEY *k = NULL;
    unsigned char *p = NULL;
    int n;
    arb_ct_verifier *v = NULL;
    arb_err err;

    *der = NULL;
    *der_len = 0;
    if (pem_len > (1u << 16) || (bio = BIO_new_mem_buf(pem, (int)pem_len)) == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "the log key is not a PEM key");
    k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (k == NULL) {
        (void)BIO_reset(bio);
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    if (k == NULL)
        return arb_errf(eb, ARB_ERR_PARSE, "the log key is not a PEM public or private key");
    n = i2d_PUBKEY(k, &p);
    EVP_PKEY_free(k);
    if (n <= 0)
        return arb_errf(eb, ARB_ERR_PARSE, "cannot encode the log key");
    /* Only what the log's own verifier takes (P-256): the chain checks the
     * same. */
    err = arb_ct_verifier_from_spki(&v, p, (size_t)n, eb);
    arb_ct_verifier_free(v);
    if (err != ARB_OK || (size_t)n > ARB_ANCHOR_SPKI_MAX) {
        OPENSSL_free(p);
        return arb_errf(eb, ARB_ERR_PARSE, "the log key is not an ECDSA P-256 key");
    }
    *der = malloc((size_t)n);
    if (*der == NULL) {
        OPENSSL_free(p);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    memcpy(*der, p, (size_t)n);
    *der_len = (size_t)n;
    OPENSSL_free(p);
    return ARB_OK;
}

arb_err arb_wallet_sth_parse(arb_wallet_sth *out, const char *text, size_t len,
                             const uint8_t *spki, size_t spki_len, arb_errbuf *eb)
{
    arb_ct_dsig d;
    uint8_t *storage = NULL;
    arb_ct_verifier *v = NULL;
    arb_err err;

    memset(out, 0, sizeof(*out));
    err = arb_ct_json_sth_parse(&out->tree_size, &out->timestamp, out->root, &d, &storage, text,
                                len);
    if (err != ARB_OK) {
        memset(out, 0, sizeof(*out));
        return err == ARB_ERR_NOMEM ? arb_errf(eb, err, "out of memory")
                                    : arb_errf(eb, ARB_ERR_PARSE, "malformed get-sth answer");
    }
    if (d.sig_len > ARB_ANCHOR_SIG_MAX) {
        free(storage);
        memset(out, 0, sizeof(*out));
        return arb_errf(eb, ARB_ERR_PARSE, "tree head signature of %zu bytes (at most %u)",
                        d.sig_len, (unsigned)ARB_ANCHOR_SIG_MAX);
    }
    out->hash_alg = d.hash_alg;
    out->sig_alg = d.sig_alg;
    out->sig_len = d.sig_len;
    if (d.sig_len > 0)
        memcpy(out->sig, d.sig, d.sig_len);
    if ((err = arb_ct_verifier_from_spki(&v, spki, spki_len, eb)) == ARB_OK &&
        arb_ct_sth_verify(v, &d, out->timestamp, out->tree_size, out->root) != ARB_OK)
        err = arb_errf(eb, ARB_ERR_VERIFY,
                       "the tree head's signature does not verify under the log key");
    arb_ct_verifier_free(v);
    free(storage);
    if (err != ARB_OK)
        memset(out, 0, sizeof(*out));
    return err;
}

arb_err arb_wallet_checkpoint_parse(arb_wallet_sth *out, char *origin_out, const char *text,
                                    size_t len, const uint8_t *spki, size_t spki_len,
                                    arb_errbuf *eb)
{
    char origin[256];
    const char *nl = memchr(text, '\n', len);
    arb_ct_verifier *v = NULL;
    arb_note *note = NULL;
    uint8_t log_id[32], kid[4];
    uint32_t want;
    arb_err err;
    int found = 0;

    memset(out, 0, sizeof(*out));
    if (origin_out != NULL)
        origin_out[0] = '\0';
    if (nl == NULL || nl == text || (size_t)(nl - text) >= sizeof(origin))
        return arb_errf(eb, ARB_ERR_PARSE, "malformed checkpoint: no origin line");
    memcpy(origin, text, (size_t)(nl - text));
    origin[nl - text] = '\0';
    if ((err = arb_ct_verifier_from_spki(&v, spki, spki_len, eb)) != ARB_OK)
        return err;
    err = arb_ct_checkpoint_verify(v, origin, text, len, &out->tree_size, out->root,
                                   &out->timestamp);
    if (err != ARB_OK) {
        arb_ct_verifier_free(v);
        memset(out, 0, sizeof(*out));
        return err == ARB_ERR_VERIFY
                   ? arb_errf(eb, err, "the checkpoint has no valid signature of the log key")
                   : arb_errf(eb, err, "malformed checkpoint");
    }
    /* The signature line that verified: this key's, for this origin, with
     * the timestamp the verification reported. */
    if ((err = arb_note_parse(&note, (const uint8_t *)text, len, eb)) != ARB_OK) {
        arb_ct_verifier_free(v);
        memset(out, 0, sizeof(*out));
        return err;
    }
    arb_ct_verifier_log_id(v, log_id);
    arb_ct_note_key_id(kid, origin, log_id);
    want = (uint32_t)kid[0] << 24 | (uint32_t)kid[1] << 16 | (uint32_t)kid[2] << 8 | kid[3];
    for (size_t i = 0; i < note->nsigs && !found; i++) {
        const arb_note_sig *sg = &note->sigs[i];
        arb_ct_dsig d;
        uint64_t ts = 0;
        if (strcmp(sg->name, origin) != 0 || sg->key_id != want || sg->sig_len <= 8)
            continue;
        for (int k = 0; k < 8; k++)
            ts = ts << 8 | sg->sig[k];
        if (ts != out->timestamp || arb_ct_dsig_decode(&d, sg->sig + 8, sg->sig_len - 8) != ARB_OK ||
            d.sig_len > ARB_ANCHOR_SIG_MAX ||
            arb_ct_sth_verify(v, &d, ts, out->tree_size, out->root) != ARB_OK)
            continue;
        out->hash_alg = d.hash_alg;
        out->sig_alg = d.sig_alg;
        out->sig_len = d.sig_len;
        memcpy(out->sig, d.sig, d.sig_len);
        found = 1;
    }
    arb_note_free(note);
    arb_ct_verifier_free(v);
    if (!found) {
        memset(out, 0, sizeof(*out));
        return arb_errf(eb, ARB_ERR_PARSE, "the checkpoint's signature of the log key is unusable");
    }
    if (origin_out != NULL)
        memcpy(origin_out, origin, strlen(origin) + 1);
    return ARB_OK;
}

arb_err arb_wallet_anchor_build(arb_buf *payload, const uint8_t *spki, size_t spki_len,
                                const arb_wallet_sth *sth, const arb_hash *proof, size_t n_proof,
                                const arb_anchor_head *prev, uint32_t height, const char **reason,
                                arb_errbuf *eb)
{
    arb_anchor a;
    arb_anchor_head next;
    arb_sha256 *sha = NULL;
    arb_err err;

    *reason = NULL;
    memset(&a, 0, sizeof(a));
    if (n_proof > ARB_ANCHOR_PROOF_MAX)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "consistency proof of %zu hashes", n_proof);
    a.spki = spki;
    a.spki_len = spki_len;
    a.tree_size = sth->tree_size;
    a.timestamp = sth->timestamp;
    memcpy(a.root, sth->root, 32);
    a.sig_hash_alg = sth->hash_alg;
    a.sig_sig_alg = sth->sig_alg;
    a.sig = sth->sig;
    a.sig_len = sth->sig_len;
    a.proof_len = n_proof;
    for (size_t i = 0; i < n_proof; i++)
        a.proof[i] = proof[i];
    if ((err = arb_sha256_new(&sha)) != ARB_OK)
        return arb_errf(eb, err, "out of memory");
    err = arb_anchor_check(sha, &a, prev, height, &next, reason);
    arb_sha256_free(sha);
    if (err == ARB_ERR_VERIFY)
        return arb_errf(eb, err, "%s", *reason != NULL ? *reason : "anchor refused");
    if (err != ARB_OK)
        return arb_errf(eb, err, "the anchor cannot be checked");
    if ((err = arb_anchor_encode(payload, &a)) != ARB_OK)
        return arb_errf(eb, err, "the anchor cannot be encoded");
    return ARB_OK;
}
