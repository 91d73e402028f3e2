/* arbord's log line formats (see logline.h). */
#include "ledger/logline.h"

#include <stdio.h>
#include <string.h>

#include "ledger/config.h"

typedef struct {
    char *p;
    size_t n, cap; /* cap excludes room kept for the line's end */
    int full;
} out;

static void put(out *o, const char *s, size_t len)
{
    if (o->full)
        return;
    if (len > o->cap - o->n) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->n, s, len);
    o->n += len;
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Writes v escaped: \" (unless bare_quotes: a text-format message, which
 * no quotes delimit) \\ \n \r \t, other bytes outside 0x20..0x7e as \u00XX
 * (json) or \xXX. A JSON escape never splits across the cut. */
static void put_escaped(out *o, const char *v, int json, int bare_quotes)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char e[8];
        if (*p == '"' && bare_quotes)
            put(o, "\"", 1);
        else if (*p == '"')
            put(o, "\\\"", 2);
        else if (*p == '\\')
            put(o, "\\\\", 2);
        else if (*p == '\n')
            put(o, "\\n", 2);
        else if (*p == '\r')
            put(o, "\\r", 2);
        else if (*p == '\t')
            put(o, "\\t", 2);
        else if (*p < 0x20 || *p > 0x7e) {
            snprintf(e, sizeof e, json ? "\\u%04x" : "\\x%02x", *p);
            put(o, e, strlen(e));
        } else
            put(o, (const char *)p, 1);
    }
}

/* logfmt / text values: bare when they are non-empty printable words. */
static void put_value(out *o, const char *v)
{
    int bare = *v != '\0';
    for (const unsigned char *p = (const unsigned char *)v; *p && bare; p++)
        bare = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '=' && *p != '\\';
    if (bare) {
        puts_(o, v);
        return;
    }
    put(o, "\"", 1);
    put_escaped(o, v, 0, 0);
    put(o, "\"", 1);
}

size_t arb_logline_format(char *buf, size_t cap, int format, time_t when, int level,
                          const char *msg, const arb_logline_field *fields, size_t nfields)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    const char *lv = names[level >= 0 && level <= 3 ? level : 3];
    char ts[32];
    struct tm tm;
    out o;
    static const char json_cut[] = "\",\"truncated\":true}\n";

    if (cap < ARB_LOGLINE_MIN_CAP) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    o.p = buf;
    o.n = 0;
    o.cap = cap - sizeof json_cut; /* room to close the line after a cut */
    o.full = 0;
    gmtime_r(&when, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (msg == NULL)
        msg = "";
    if (format == ARB_CONFIG_LOG_JSON) {
        puts_(&o, "{\"ts\":\"");
        puts_(&o, ts);
        puts_(&o, "\",\"level\":\"");
        puts_(&o, lv);
        puts_(&o, "\",\"msg\":\"");
        put_escaped(&o, msg, 1, 0);
        for (size_t i = 0; i < nfields; i++) {
            /* Key and punctuation in one piece: a cut always falls inside a
             * string value, which json_cut closes. Keys are [a-z_]+. */
            char k[80];
            snprintf(k, sizeof k, "\",\"%.64s\":\"", fields[i].key);
            puts_(&o, k);
            put_escaped(&o, fields[i].value ? fields[i].value : "", 1, 0);
        }
        if (o.full) {
            /* Escapes are written whole, so the cut is outside any escape. */
            memcpy(buf + o.n, json_cut, sizeof json_cut);
            return o.n + sizeof json_cut - 1;
        }
        memcpy(buf + o.n, "\"}\n", 3); /* fits: room was kept for json_cut */
        o.n += 3;
    } else {
        if (format == ARB_CONFIG_LOG_LOGFMT) {
            puts_(&o, "ts=");
            puts_(&o, ts);
            puts_(&o, " level=");
            puts_(&o, lv);
            puts_(&o, " msg=");
            put(&o, "\"", 1);
            put_escaped(&o, msg, 0, 0);
            put(&o, "\"", 1);
        } else {
            puts_(&o, ts);
            puts_(&o, " arbord ");
            puts_(&o, lv);
            puts_(&o, ": ");
            put_escaped(&o, msg, 0, 1);
        }
        for (size_t i = 0; i < nfields; i++) {
            put(&o, " ", 1);
            puts_(&o, fields[i].key);
            put(&o, "=", 1);
            put_value(&o, fields[i].value ? fields[i].value : "");
        }
        if (o.full) {
            memcpy(buf + o.n, " ...\n", 6);
            return o.n + 5;
        }
        buf[o.n++] = '\n'; /* fits: room was kept */
    }
    buf[o.n] = '\0';
    return o.n;
}
