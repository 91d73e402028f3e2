/* See entries_diff.h. */
#include "tests/unit/audit/entries_diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditor/entries.h"
#include "merkle/buf.h"

/* Every entry the callback saw, serialized: index, lengths, bytes. */
static int put_entry(arb_buf *b, uint64_t index, const uint8_t *leaf, size_t ll,
                     const uint8_t *extra, size_t el)
{
    return arb_buf_put(b, &index, sizeof index) && arb_buf_put(b, &ll, sizeof ll) &&
           arb_buf_put(b, leaf, ll) && arb_buf_put(b, &el, sizeof el) &&
           arb_buf_put(b, extra, el);
}

static arb_err collect(void *ud, uint64_t index, const uint8_t *leaf, size_t ll,
                       const uint8_t *extra, size_t el)
{
    return put_entry(ud, index, leaf, ll, extra, el) ? ARB_OK : ARB_ERR_NOMEM;
}

static int same(const arb_buf *a, const arb_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int entries_diff(const uint8_t *body, size_t len, size_t max, int *strict_ok)
{
    arb_audit_entry_view v[ARB_AUDIT_ENTRIES_BATCH];
    arb_buf js = ARB_BUF_INIT, st = ARB_BUF_INIT, both = ARB_BUF_INIT;
    uint8_t *copy = malloc(len + 1), *copy2 = malloc(len + 1);
    uint64_t got_j = 0, got_b = 0;
    arb_errbuf eb;
    arb_err ej, eboth;
    size_t n = 0;
    int ok = 0;

    *strict_ok = 0;
    if (copy == NULL || copy2 == NULL) {
        ok = -1;
        goto out;
    }
    memcpy(copy, body, len);
    memcpy(copy2, body, len);
    ej = arb_audit_entries_json(body, len, max, 7, collect, &js, &got_j, "u", &eb);
    eboth = arb_audit_entries_decode(copy2, len, max, 7, collect, &both, &got_b, "u", &eb);
    if (js.oom || both.oom) {
        ok = -1;
        goto out;
    }
    if (ej == ARB_ERR_NOMEM || eboth == ARB_ERR_NOMEM) {
        ok = -1;
        goto out;
    }
    if (ej != eboth || got_j != got_b || !same(&js, &both)) {
        fprintf(stderr, "entries_diff: combined decoder %d/%llu, jansson %d/%llu\n", (int)eboth,
                (unsigned long long)got_b, (int)ej, (unsigned long long)got_j);
        goto out;
    }
    if (arb_audit_entries_strict(v, &n, copy, len, max)) {
        *strict_ok = 1;
        for (size_t i = 0; i < n; i++)
            if (!put_entry(&st, 7 + i, v[i].leaf, v[i].leaf_len, v[i].extra, v[i].extra_len)) {
                ok = -1;
                goto out;
            }
        if (n < 1 || n > max || ej != ARB_OK || got_j != n || !same(&js, &st)) {
            fprintf(stderr, "entries_diff: strict accepted %zu entries, jansson %d/%llu\n", n,
                    (int)ej, (unsigned long long)got_j);
            goto out;
        }
    } else if (n != 0 || memcmp(copy, body, len) != 0) {
        fprintf(stderr, "entries_diff: strict refused but changed the body\n");
        goto out;
    }
    ok = 1;
out:
    arb_buf_free(&js);
    arb_buf_free(&st);
    arb_buf_free(&both);
    free(copy);
    free(copy2);
    return ok;
}
