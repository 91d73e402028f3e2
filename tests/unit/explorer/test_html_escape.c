/* The explorer's HTML escaping (arb_explorer_html_escape): known answers for
 * markup, quotes, controls, valid and invalid UTF-8; and seeded random byte
 * strings, whose output must contain no markup character, only valid UTF-8,
 * and decode (entities back, '?' for what was replaced) to the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/api/explorer.h"
#include "tests/test.h"

static char *esc(const char *s)
{
    char *b = NULL;
    size_t n = 0, cap = 0;
    if (!arb_explorer_html_escape(&b, &n, &cap, s))
        return NULL;
    return b;
}

static void test_known(void)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", ""},
        {"plain text", "plain text"},
        {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"a & b", "a &amp; b"},
        {"\"'", "&quot;&#39;"},
        {"tab\there\nline", "tab\there\nline"},
        {"bell\x07 del\x7f esc\x1b", "bell? del? esc?"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb3", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb3"},
        {"bad \xff \xc3 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80", "bad ? ? ?? ??? ????"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char *o = esc(v[i].in);
        CHECK(o != NULL);
        if (o != NULL)
            CHECK_STR(o, v[i].out);
        free(o);
    }
    /* Appends to what is there. */
    char *b = malloc(8);
    size_t n = 3, cap = 8;
    memcpy(b, "ab<", 4);
    CHECK(arb_explorer_html_escape(&b, &n, &cap, "<>"));
    CHECK_STR(b, "ab<&lt;&gt;");
    CHECK_EQ(n, strlen(b));
    free(b);
}

/* Validates UTF-8 independently (RFC 3629 table). */
static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        int k = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (k < 0 || (k == 1 && c < 0xc2))
            return 0;
        unsigned cp = k == 0 ? c : k == 1 ? c & 0x1f : k == 2 ? c & 0x0f : c & 0x07;
        for (int i = 1; i <= k; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += k + 1;
    }
    return 1;
}

static void test_random(void)
{
    unsigned long count = arb_test_count(3000);
    arb_test_seed_init();
    for (unsigned long t = 0; t < count; t++) {
        unsigned char in[64];
        size_t len = (size_t)arb_test_rand_below(sizeof in);
        for (size_t i = 0; i < len; i++) {
            /* Mostly interesting bytes: markup, controls, UTF-8 lead and tail bytes. */
            static const unsigned char pick[] = {'<', '>', '&', '"', '\'', 'a', ' ', 0x01, 0x7f,
                                                 0xc3, 0xa9, 0xe2, 0x82, 0xf0, 0x9f, 0xff};
            in[i] = arb_test_rand_below(2) ? pick[arb_test_rand_below(sizeof pick)]
                                           : (unsigned char)(1 + arb_test_rand_below(255));
        }
        in[len] = 0;
        char *o = esc((const char *)in);
        CHECK(o != NULL);
        if (o == NULL)
            continue;
        CHECK(strpbrk(o, "<>\"'") == NULL);
        CHECK(valid_utf8((const unsigned char *)o));
        /* Decode entities; each '?' stands for one or more replaced bytes. */
        char dec[512];
        size_t d = 0;
        for (const char *p = o; *p;) {
            static const struct {
                const char *ent;
                char c;
            } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
            int hit = 0;
            if (*p == '&') {
                for (size_t e = 0; e < 5 && !hit; e++)
                    if (strncmp(p, ents[e].ent, strlen(ents[e].ent)) == 0) {
                        dec[d++] = ents[e].c;
                        p += strlen(ents[e].ent);
                        hit = 1;
                    }
                CHECK(hit); /* a bare & never appears */
                if (!hit)
                    break;
            } else {
                dec[d++] = *p++;
            }
        }
        dec[d] = 0;
        /* Same length in bytes except where '?' replaced bytes; check that the
         * input and the decoded text agree on every byte that was kept. */
        size_t i = 0, j = 0;
        while (i < len && j < d) {
            if ((unsigned char)dec[j] == in[i]) {
                i++;
                j++;
            } else {
                CHECK_EQ(dec[j], '?');
                i++;
                j++;
            }
        }
        CHECK_EQ(i, len);
        CHECK_EQ(j, d);
        free(o);
    }
}

int main(void)
{
    test_known();
    test_random();
    return arb_test_done();
}
