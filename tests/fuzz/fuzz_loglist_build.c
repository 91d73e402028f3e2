/* Fuzzes the log list the log serves (arb_ct_loglist_json) with hostile
 * configuration strings: the input is split at NUL bytes into description,
 * operator name, operator email, URL and monitoring URL (an absent field is
 * NULL), and its first 16 bytes also give the MMD and the temporal interval.
 * Invariants: no crash, no leak; a bad URL or MMD is refused; an accepted
 * list is valid JSON in which every string comes back exactly as given
 * (jansson escapes quotes, backslashes and control characters), and which
 * the auditor's log list parser (the consumer in this project) accepts with
 * the same key, URL and MMD. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auditor/loglist.h"
#include "ledger/log/loglist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A P-256 SubjectPublicKeyInfo (the auditor requires one). */
static const uint8_t spki[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x4b, 0x90, 0x76, 0x09, 0x5e,
    0x24, 0x1c, 0x1f, 0x7f, 0x5e, 0x84, 0x78, 0x3a, 0x8a, 0x82, 0x71, 0x86, 0xd8, 0x61, 0x18, 0x0c,
    0x06, 0xba, 0x5c, 0x97, 0x8e, 0xeb, 0x5d, 0x72, 0x8e, 0xce, 0x4d, 0x3c, 0x15, 0x5e, 0xe8, 0x14,
    0x70, 0x2e, 0xcd, 0x6a, 0x53, 0x92, 0x7d, 0x9b, 0x52, 0x7c, 0xf3, 0xee, 0xb6, 0x44, 0xf3, 0xe9,
    0x34, 0xf8, 0xb0, 0x05, 0xb1, 0x2a, 0xc9, 0xbe, 0xfa, 0x38, 0xf8};

static uint64_t u64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *field[5] = {NULL, NULL, NULL, NULL, NULL};
    arb_ct_loglist_info li;
    arb_errbuf eb;
    char *copy, *text = NULL, *p;
    size_t n = 0;
    arb_err err;

    if (size < 16 || size > 8192 || (copy = malloc(size - 16 + 1)) == NULL)
        return 0;
    memcpy(copy, data + 16, size - 16);
    copy[size - 16] = 0;
    for (p = copy; p <= copy + (size - 16) && n < 5; p += strlen(p) + 1)
        field[n++] = p;
    memset(&li, 0, sizeof(li));
    li.spki = spki;
    li.spki_len = sizeof(spki);
    li.description = field[0];
    li.operator_name = field[1];
    li.operator_email = field[2];
    li.url = field[3];
    li.monitoring_url = field[4];
    li.mmd = u64(data) % 100000;
    li.not_after_start = (int64_t)(u64(data + 8) % 4000000000u);
    li.not_after_end = li.not_after_start + (int64_t)(data[8] % 3) * 86400 * 180;
    li.timestamp = 1767225600;
    err = arb_ct_loglist_json(&text, &li, &eb);
    if ((!arb_ct_loglist_url_ok(li.url) || li.mmd == 0 ||
         (li.monitoring_url != NULL && !arb_ct_loglist_url_ok(li.monitoring_url))) &&
        err == ARB_OK)
        abort();
    if (err == ARB_OK) {
        json_t *root = json_loads(text, 0, NULL), *op, *log;
        arb_audit_loglist l;
        if (root == NULL)
            abort();
        op = json_array_get(json_object_get(root, "operators"), 0);
        log = json_array_get(json_object_get(op, li.monitoring_url ? "tiled_logs" : "logs"), 0);
        if (strcmp(str(log, li.monitoring_url ? "submission_url" : "url"), li.url) != 0 ||
            (li.monitoring_url && strcmp(str(log, "monitoring_url"), li.monitoring_url) != 0) ||
            (li.description != NULL && li.description[0] &&
             strcmp(str(log, "description"), li.description) != 0) ||
            (li.operator_name != NULL && li.operator_name[0] &&
             strcmp(str(op, "name"), li.operator_name) != 0) ||
            (uint64_t)json_integer_value(json_object_get(log, "mmd")) != li.mmd)
            abort();
        json_decref(root);
        if (arb_audit_loglist_parse(&l, text, strlen(text), &eb) != ARB_OK)
            abort();
        if (l.n != 1 || l.logs[0].tiled != (li.monitoring_url != NULL) || l.logs[0].mmd != li.mmd ||
            l.logs[0].key_len != sizeof(spki) || memcmp(l.logs[0].key, spki, sizeof(spki)) != 0)
            abort();
        arb_audit_loglist_free(&l);
    } else if (text != NULL) {
        abort();
    }
    free(text);
    free(copy);
    return 0;
}
