/* Fuzzes the state view (ledger/chain/stateview.h), the place where
 * transaction payloads meet the state rules. The input is a list of
 * operations, each: height delta u8, sender index u8 (of four keys), payload
 * type u8, length u8, then that many payload bytes. They are applied in order
 * to a view over an in-memory base. Invariants: nothing crashes; an
 * operation that fails leaves every entry of the view as it was and adds no
 * event; the tree changes of the view always compute and update a tree; a
 * second view applying through arb_sview_apply_memo (as the mempool does)
 * decides the same and holds the same records; arb_sview_payload_key takes
 * any payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/chain/stateview.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static arb_err empty_base(void *ud, uint8_t kind, const uint8_t key32[32],
                          uint8_t out[ARB_SREC_MAX], size_t *len)
{
    (void)ud;
    (void)kind;
    (void)key32;
    (void)out;
    *len = 0;
    return ARB_ERR_NOT_FOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arb_sha256 *h;
    arb_sview *v, *w;
    arb_smt_mem *mem;
    arb_smt_store st;
    uint8_t senders[4][32];
    uint32_t height = 1;
    if (arb_sha256_new(&h) != ARB_OK)
        return 0;
    if (arb_sview_new(&v, arb_names_params_get("regtest"), empty_base, NULL) != ARB_OK) {
        arb_sha256_free(h);
        return 0;
    }
    if (arb_sview_new(&w, arb_names_params_get("regtest"), empty_base, NULL) != ARB_OK) {
        arb_sview_free(v);
        arb_sha256_free(h);
        return 0;
    }
    for (int i = 0; i < 4; i++)
        memset(senders[i], 0x11 * (i + 1), 32);
    while (size >= 4) {
        uint8_t dh = data[0], si = data[1] & 3, type = data[2];
        size_t len = data[3];
        data += 4;
        size -= 4;
        if (len > size)
            len = size;
        arb_tx tx;
        arb_tx_init(&tx);
        tx.payload_type = type;
        tx.payload_len = len;
        tx.payload = len ? malloc(len) : NULL;
        if (len && tx.payload == NULL)
            break;
        if (len)
            memcpy(tx.payload, data, len);
        if (type != 0 && len == 0) /* the codec never gives this */
            tx.payload_type = 0;
        data += len;
        size -= len;
        height += dh;
        /* the view before */
        size_t n0 = arb_sview_count(v), e0 = arb_sview_nevents(v);
        arb_sview_entry *copy = malloc((n0 ? n0 : 1) * sizeof *copy);
        if (copy == NULL) {
            arb_tx_clear(&tx);
            break;
        }
        for (size_t i = 0; i < n0; i++)
            copy[i] = *arb_sview_at(v, i);
        const char *reason = NULL, *reason_w = NULL;
        uint8_t pkey[32];
        (void)arb_sview_payload_key(h, &tx, pkey);
        arb_sview_memo memo = {0, 0};
        arb_err err_w = arb_sview_apply_memo(w, h, &tx, 1, senders[si], height, &memo, &reason_w);
        arb_err err = arb_sview_apply(v, h, &tx, 1, senders[si], height, &reason);
        if (err != ARB_ERR_NOMEM && err_w != ARB_ERR_NOMEM &&
            (err != err_w ||
             (err == ARB_ERR_VERIFY &&
              (reason == NULL || reason_w == NULL || strcmp(reason, reason_w) != 0)) ||
             !arb_sview_same(v, w)))
            abort();
        if (err == ARB_ERR_VERIFY) {
            if (reason == NULL || arb_sview_nevents(v) != e0)
                abort();
            for (size_t i = 0; i < n0; i++) {
                const arb_sview_entry *e = arb_sview_at(v, i);
                if (e->has_cur != copy[i].has_cur || e->cur_len != copy[i].cur_len ||
                    memcmp(e->cur, copy[i].cur, e->cur_len) != 0)
                    abort();
            }
            /* entries read on the way are unchanged records */
            for (size_t i = n0; i < arb_sview_count(v); i++)
                if (arb_sview_entry_changed(arb_sview_at(v, i)))
                    abort();
        } else if (err != ARB_OK && err != ARB_ERR_NOMEM) {
            abort();
        }
        free(copy);
        arb_tx_clear(&tx);
    }
    arb_smt_op *ops = NULL;
    size_t nops = 0;
    if (arb_sview_tree_ops(v, h, &ops, &nops) == ARB_OK && arb_smt_mem_new(&mem) == ARB_OK) {
        arb_hash root, out;
        arb_smt_empty(&root);
        arb_smt_mem_store(mem, &st);
        arb_err err = arb_smt_update(h, &st, &root, ops, nops, &out);
        if (err != ARB_OK && err != ARB_ERR_NOMEM)
            abort();
        arb_smt_mem_free(mem);
    }
    free(ops);
    arb_sview_free(w);
    arb_sview_free(v);
    arb_sha256_free(h);
    return 0;
}
