/* arbord's log lines (ledger/logline.h): the three formats, escaping of
 * hostile bytes (a line can never be split, a JSON line always parses and
 * gives back the text, bytes >= 0x80 as U+0080..U+00FF), cutting long lines,
 * and seeded random inputs checked the same way. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/config.h"
#include "ledger/logline.h"
#include "tests/test.h"

/* The text a JSON line's value decodes to, as bytes: each code point
 * U+0000..U+00FF back to one byte (what the formatter's \u00XX means). */
static int latin1(const char *utf8, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)utf8; *p; p++) {
        unsigned v = *p;
        if (v >= 0x80) {
            if ((v & 0xe0) != 0xc0 || (p[1] & 0xc0) != 0x80)
                return -1;
            v = ((v & 0x1f) << 6) | (p[1] & 0x3f);
            p++;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = (char)v;
    }
    out[n] = 0;
    return 0;
}

/* One line: ends in its only '\n', nothing outside printable ASCII. */
static int one_clean_line(const char *s, size_t n)
{
    if (n == 0 || s[n - 1] != '\n' || strlen(s) != n)
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static void test_formats(void)
{
    char buf[1024];
    size_t n;
    arb_logline_field f[] = {{"path", "/x y"}, {"status", "404"}, {"empty", ""}};
    time_t t = 1795000000; /* 2026-11-18T... */

    n = arb_logline_format(buf, sizeof buf, ARB_CONFIG_LOG_TEXT, t, 2, "access", f, 3);
    CHECK(one_clean_line(buf, n));
    CHECK(strstr(buf, " arbord info: access path=\"/x y\" status=404 empty=\"\"\n") != NULL);
    CHECK(strncmp(buf, "2026-11-", 8) == 0 && buf[19] == 'Z');
    /* A text message is not quoted, so its quotes stay as they are. */
    n = arb_logline_format(buf, sizeof buf, ARB_CONFIG_LOG_TEXT, t, 2, "log \"a/b\"\n", NULL, 0);
    CHECK(one_clean_line(buf, n));
    CHECK(strstr(buf, " arbord info: log \"a/b\"\\n\n") != NULL);

    n = arb_logline_format(buf, sizeof buf, ARB_CONFIG_LOG_LOGFMT, t, 0, "disk \"full\"", f, 2);
    CHECK(one_clean_line(buf, n));
    CHECK(strncmp(buf, "ts=2026-11-", 11) == 0);
    CHECK(strstr(buf, " level=error msg=\"disk \\\"full\\\"\" path=\"/x y\" status=404\n") != NULL);

    n = arb_logline_format(buf, sizeof buf, ARB_CONFIG_LOG_JSON, t, 3, "m", f, 2);
    CHECK(one_clean_line(buf, n));
    json_t *j = json_loads(buf, 0, NULL);
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "level")), "debug");
    CHECK_STR(json_string_value(json_object_get(j, "msg")), "m");
    CHECK_STR(json_string_value(json_object_get(j, "path")), "/x y");
    CHECK_STR(json_string_value(json_object_get(j, "status")), "404");
    json_decref(j);

    /* A level out of range is shown as debug; a too small buffer gives "". */
    n = arb_logline_format(buf, sizeof buf, ARB_CONFIG_LOG_TEXT, t, 9, "x", NULL, 0);
    CHECK(strstr(buf, " arbord debug: x\n") != NULL);
    CHECK_EQ(arb_logline_format(buf, 10, ARB_CONFIG_LOG_TEXT, t, 2, "x", NULL, 0), 0);
    CHECK_EQ(buf[0], 0);
}

static void test_hostile(void)
{
    const char *evil = "a\nb\rc\td\x1b[31m\"q\\\x7f\xff\xc3\xa9<script>";
    arb_logline_field f[] = {{"subject", evil}};
    char buf[1024], back[256];
    size_t n;

    for (int fmt = 0; fmt < 3; fmt++) {
        n = arb_logline_format(buf, sizeof buf, fmt, 0, 2, evil, f, 1);
        CHECK(one_clean_line(buf, n));
    }
    n = arb_logline_format(buf, sizeof buf, ARB_CONFIG_LOG_JSON, 0, 2, evil, f, 1);
    json_t *j = json_loads(buf, 0, NULL);
    CHECK(j != NULL);
    CHECK_EQ(latin1(json_string_value(json_object_get(j, "msg")), back, sizeof back), 0);
    CHECK_STR(back, evil);
    CHECK_EQ(latin1(json_string_value(json_object_get(j, "subject")), back, sizeof back), 0);
    CHECK_STR(back, evil);
    json_decref(j);
    n = arb_logline_format(buf, sizeof buf, ARB_CONFIG_LOG_LOGFMT, 0, 2, "m", f, 1);
    CHECK(strstr(buf, "subject=\"a\\nb\\rc\\td\\x1b[31m\\\"q\\\\\\x7f\\xff\\xc3\\xa9<script>\"\n") !=
          NULL);
}

static void test_cut(void)
{
    char msg[5000], buf[300];
    size_t n;
    memset(msg, 'x', sizeof msg - 1);
    msg[sizeof msg - 1] = 0;
    msg[100] = '\n';
    for (int fmt = 0; fmt < 3; fmt++) {
        n = arb_logline_format(buf, sizeof buf, fmt, 0, 2, msg, NULL, 0);
        CHECK(n < sizeof buf);
        CHECK(one_clean_line(buf, n));
    }
    n = arb_logline_format(buf, sizeof buf, ARB_CONFIG_LOG_JSON, 0, 2, msg, NULL, 0);
    json_t *j = json_loads(buf, 0, NULL);
    CHECK(j != NULL && json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
}

static void test_random(void)
{
    unsigned long count = arb_test_count(2000);
    arb_test_seed_init();
    for (unsigned long i = 0; i < count; i++) {
        char msg[200], val[200], full[700], back[256];
        size_t cap = ARB_LOGLINE_MIN_CAP + (size_t)arb_test_rand_below(570);
        size_t ml = (size_t)arb_test_rand_below(sizeof msg), vl = (size_t)arb_test_rand_below(sizeof val);
        arb_test_rand_bytes((uint8_t *)msg, ml);
        arb_test_rand_bytes((uint8_t *)val, vl);
        msg[ml] = 0;
        val[vl] = 0;
        arb_logline_field f[] = {{"k", val}};
        int fmt = (int)arb_test_rand_below(3);
        char *buf = full;
        size_t n = arb_logline_format(buf, cap, fmt, (time_t)arb_test_rand_below(1u << 31),
                                      (int)arb_test_rand_below(4), msg, f, 1);
        CHECK(n < cap);
        if (!one_clean_line(buf, n))
            fprintf(stderr, "fmt %d cap %zu n %zu: [%s]\n", fmt, cap, n, buf);
        CHECK(one_clean_line(buf, n));
        if (fmt == ARB_CONFIG_LOG_JSON) {
            json_t *j = json_loads(buf, 0, NULL);
            CHECK(j != NULL);
            if (j != NULL && !json_is_true(json_object_get(j, "truncated"))) {
                CHECK_EQ(latin1(json_string_value(json_object_get(j, "msg")), back, sizeof back), 0);
                CHECK_STR(back, msg);
                CHECK_EQ(latin1(json_string_value(json_object_get(j, "k")), back, sizeof back), 0);
                CHECK_STR(back, val);
            }
            json_decref(j);
        }
    }
}


/* The access log's writer: pushes never block on a descriptor nobody reads;
 * what was accepted comes out whole and in order once it is read; what was
 * not is counted; free returns even when the descriptor takes nothing. */
static void test_async(void)
{
    int fd[2];
    arb_logline_async *a = NULL;
    unsigned long long accepted = 0, total = 20000;
    static char got[1 << 20];
    size_t len = 0;
    char line[128];

    CHECK_OR(pipe(fd) == 0, );
    CHECK(!arb_logline_async_new(&a, fd[1], 100) && a == NULL); /* too small a ring */
    CHECK_OR(arb_logline_async_new(&a, fd[1], 8192), );
    for (unsigned long long k = 0; k < total; k++) {
        int n = snprintf(line, sizeof line, "line %06llu %s\n", k,
                         "padding padding padding padding padding padding padding");
        accepted += (unsigned long long)arb_logline_async_push(a, line, (size_t)n);
    }
    CHECK(!arb_logline_async_push(a, line, 0));
    {
        static char big[5000];
        memset(big, 'x', sizeof big);
        CHECK(!arb_logline_async_push(a, big, sizeof big)); /* over 4096 */
    }
    CHECK(accepted > 0 && accepted < total);
    /* Read what was accepted: the pipe, then the ring as the writer drains it. */
    fcntl(fd[0], F_SETFL, fcntl(fd[0], F_GETFL) | O_NONBLOCK);
    for (int idle = 0; idle < 40 && len < sizeof got;) {
        ssize_t r = read(fd[0], got + len, sizeof got - len);
        if (r > 0) {
            len += (size_t)r;
            idle = 0;
        } else {
            idle++;
            usleep(20 * 1000);
        }
    }
    {
        unsigned long long lines = 0, prev = 0;
        int ordered = 1, whole = 1;
        for (char *p = got, *nl; p < got + len && (nl = memchr(p, '\n', (size_t)(got + len - p)));
             p = nl + 1) {
            unsigned long long k;
            *nl = 0;
            char want[128];
            if (sscanf(p, "line %llu padding", &k) != 1)
                whole = 0;
            snprintf(want, sizeof want, "line %06llu %s", k,
                     "padding padding padding padding padding padding padding");
            if (strcmp(p, want) != 0)
                whole = 0;
            else if (lines > 0 && k <= prev)
                ordered = 0;
            prev = k;
            lines++;
        }
        CHECK(whole && ordered);
        CHECK_EQ(len > 0 && got[len - 1] == 0, 1); /* ends at a line's end */
        CHECK_EQ(lines + arb_logline_async_dropped(a), total + 2);
    }
    arb_logline_async_free(a, 1000);
    /* A descriptor that takes nothing: free still returns. */
    CHECK_OR(arb_logline_async_new(&a, fd[1], 1 << 20), );
    for (int k = 0; k < 5000; k++) {
        int n = snprintf(line, sizeof line, "stuck %06d %s\n", k, "padding padding padding");
        (void)arb_logline_async_push(a, line, (size_t)n);
    }
    arb_logline_async_free(a, 200);
    arb_logline_async_free(NULL, 0);
    close(fd[0]);
    close(fd[1]);
}

int main(void)
{
    test_formats();
    test_hostile();
    test_cut();
    test_random();
    test_async();
    return arb_test_done();
}
