/* Fuzzes the sparse Merkle tree proof decoder and verifier.
 *
 * Mode 0 (first byte even): key (32) || flag (1: bit 0 = value present) ||
 * value hash (32) || root (32) || proof bytes, missing bytes zero. Invariants:
 * a proof that decodes re-encodes to exactly its bytes; arb_smt_verify
 * returns only OK, PARSE or VERIFY, PARSE exactly when the decoder refuses;
 * a decoded proof verifies against the root arb_smt_proof_root computes for
 * it, and never for both presence and absence of the same key.
 *
 * Mode 1 (first byte odd): builds a tree from up to 12 keys made from the
 * input (keys differ only in a few bits, so paths are deep), proves every key
 * and a neighbour, checks the proofs verify, then flips one input-chosen
 * byte of one proof and checks it no longer verifies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/smt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void take(uint8_t *out, size_t n, const uint8_t **p, size_t *len)
{
    size_t k = *len < n ? *len : n;
    memset(out, 0, n);
    memcpy(out, *p, k);
    *p += k;
    *len -= k;
}

static void mode_decode(arb_sha256 *h, const uint8_t *p, size_t len)
{
    uint8_t key[32], flag;
    arb_hash vh, root, got;
    arb_smt_proof *pr = malloc(sizeof *pr);
    arb_err derr, verr;

    if (pr == NULL)
        return;
    take(key, 32, &p, &len);
    take(&flag, 1, &p, &len);
    take(vh.b, 32, &p, &len);
    take(root.b, 32, &p, &len);
    derr = arb_smt_proof_decode(pr, p, len, NULL);
    verr = arb_smt_verify(h, &root, key, (flag & 1) ? &vh : NULL, p, len, NULL);
    if (verr != ARB_OK && verr != ARB_ERR_PARSE && verr != ARB_ERR_VERIFY)
        abort();
    if ((derr == ARB_ERR_PARSE) != (verr == ARB_ERR_PARSE))
        abort();
    if (derr == ARB_OK) {
        arb_buf b = ARB_BUF_INIT;
        int present_ok, absent_ok;
        arb_smt_proof_encode(&b, pr);
        if (b.oom || b.len != len || memcmp(b.data, p, len) != 0)
            abort();
        arb_buf_free(&b);
        present_ok = arb_smt_proof_root(h, pr, key, &vh, &got, NULL) == ARB_OK &&
                     arb_smt_verify(h, &got, key, &vh, p, len, NULL) == ARB_OK;
        absent_ok = arb_smt_proof_root(h, pr, key, NULL, &got, NULL) == ARB_OK &&
                    arb_smt_verify(h, &got, key, NULL, p, len, NULL) == ARB_OK;
        if (present_ok && absent_ok)
            abort();
        if (pr->kind == ARB_SMT_INCLUDED && !present_ok)
            abort();
        if (pr->kind != ARB_SMT_INCLUDED && present_ok)
            abort();
        if (pr->kind == ARB_SMT_ABSENT_EMPTY && !absent_ok)
            abort();
    }
    free(pr);
}

static void mode_tree(arb_sha256 *h, const uint8_t *p, size_t len)
{
    arb_smt_mem *m = NULL;
    arb_smt_store st;
    arb_smt_op ops[12];
    arb_hash root, empty;
    uint8_t base[32], sel[4], flip[3];
    size_t n = 0;
    arb_smt_proof *pr = malloc(sizeof *pr);
    arb_buf b = ARB_BUF_INIT;

    if (pr == NULL || arb_smt_mem_new(&m) != ARB_OK)
        goto out;
    arb_smt_mem_store(m, &st);
    take(base, 32, &p, &len);
    take(sel, 4, &p, &len);
    take(flip, 3, &p, &len);
    /* Each key: base with bits sel[0..3] set from the next input byte. */
    while (n < 12 && len > 0) {
        uint8_t v = *p++;
        int dup = 0;
        len--;
        memcpy(ops[n].key, base, 32);
        for (int i = 0; i < 4; i++) {
            unsigned d = sel[i];
            ops[n].key[d / 8] &= (uint8_t)~(0x80 >> (d % 8));
            if (v >> i & 1)
                ops[n].key[d / 8] |= (uint8_t)(0x80 >> (d % 8));
        }
        memset(ops[n].value_hash.b, v | 1, 32);
        ops[n].del = (v >> 7) & 1;
        for (size_t j = 0; j < n; j++)
            dup |= memcmp(ops[j].key, ops[n].key, 32) == 0;
        if (!dup)
            n++;
    }
    arb_smt_empty(&empty);
    if (arb_smt_update(h, &st, &empty, ops, n, &root) != ARB_OK)
        abort();
    for (size_t i = 0; i < n; i++) {
        int found;
        arb_hash vh;
        if (arb_smt_get(&st, &root, ops[i].key, &found, &vh) != ARB_OK || found == ops[i].del)
            abort();
        if (arb_smt_prove(&st, &root, ops[i].key, pr) != ARB_OK)
            abort();
        arb_buf_reset(&b);
        arb_smt_proof_encode(&b, pr);
        if (b.oom)
            goto out;
        if (arb_smt_verify(h, &root, ops[i].key, found ? &vh : NULL, b.data, b.len, NULL) != ARB_OK)
            abort();
        if (i == (size_t)flip[0] % (n ? n : 1) && b.len > 0) {
            size_t at = ((size_t)flip[1] << 8 | flip[2]) % b.len;
            b.data[at] ^= (uint8_t)(flip[2] | 1);
            if (arb_smt_verify(h, &root, ops[i].key, found ? &vh : NULL, b.data, b.len, NULL) ==
                ARB_OK)
                abort();
        }
    }
out:
    arb_buf_free(&b);
    arb_smt_mem_free(m);
    free(pr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_sha256 *h;
    if (size == 0 || arb_sha256_new(&h) != ARB_OK)
        return 0;
    if (data[0] & 1)
        mode_tree(h, data + 1, size - 1);
    else
        mode_decode(h, data + 1, size - 1);
    arb_sha256_free(h);
    return 0;
}
