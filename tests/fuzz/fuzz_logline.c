/* Fuzzes arbord's log line formatter (ledger/logline.h) with hostile text:
 * byte 0 picks the format and the buffer size, the rest is split at NUL into
 * the message and field values. Invariants: the line fits, ends in its only
 * newline, holds only printable ASCII before it, and a JSON line parses with
 * ts, level and msg. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/config.h"
#include "ledger/logline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"peer", "method", "path", "status", "subject"};
    char *copy, *parts[6];
    size_t np = 0, cap, n;
    arb_logline_field f[5];
    char *buf;
    int fmt;

    if (size < 1)
        return 0;
    fmt = data[0] % 3;
    cap = ARB_LOGLINE_MIN_CAP + (size_t)(data[0] >> 2) * 16;
    copy = malloc(size);
    buf = malloc(cap);
    if (copy == NULL || buf == NULL) {
        free(copy);
        free(buf);
        return 0;
    }
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    for (char *p = copy; p <= copy + size - 1 && np < 6; p += strlen(p) + 1)
        parts[np++] = p;
    for (size_t i = 1; i < np; i++) {
        f[i - 1].key = keys[i - 1];
        f[i - 1].value = parts[i];
    }
    n = arb_logline_format(buf, cap, fmt, (time_t)size * 7919, data[0] & 3, parts[0], f,
                           np > 0 ? np - 1 : 0);
    if (n >= cap || strlen(buf) != n || n == 0 || buf[n - 1] != '\n')
        abort();
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
            abort();
    if (fmt == ARB_CONFIG_LOG_JSON) {
        json_t *j = json_loadb(buf, n, 0, NULL);
        if (j == NULL || !json_is_string(json_object_get(j, "ts")) ||
            !json_is_string(json_object_get(j, "level")) ||
            !json_is_string(json_object_get(j, "msg")))
            abort();
        json_decref(j);
    }
    free(copy);
    free(buf);
    return 0;
}
