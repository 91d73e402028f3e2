/* The self-anchoring operator key file: created once (mode 0600, 64 hex
 * digits and a newline, a valid secp256k1 secret), read back the same, and
 * refused when it is not such a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger/anchor/selfanchor.h"
#include "tests/test.h"

static char tmp[1024];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_create_and_load(void)
{
    char path[1200];
    uint8_t k1[32], k2[32], zero[32] = {0};
    int created = -1;
    struct stat st;
    arb_errbuf eb;
    size_t len;
    uint8_t *text;

    snprintf(path, sizeof path, "%s/anchor-key", tmp);
    CHECK(arb_selfanchor_key_load(path, k1, &created, &eb) == ARB_OK);
    CHECK_EQ(created, 1);
    CHECK(memcmp(k1, zero, 32) != 0);
    CHECK(stat(path, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    text = arb_test_read_file(path, &len);
    CHECK(text != NULL);
    CHECK_EQ(len, 65);
    CHECK(text[64] == '\n');
    free(text);
    CHECK(arb_selfanchor_key_load(path, k2, &created, &eb) == ARB_OK);
    CHECK_EQ(created, 0);
    CHECK_MEM(k1, k2, 32);
}

static void test_refused(void)
{
    static const char *const bad[] = {
        "",                                                                   /* empty */
        "00112233",                                                           /* short */
        "zz00000000000000000000000000000000000000000000000000000000000001\n", /* not hex */
        "0000000000000000000000000000000000000000000000000000000000000000\n", /* zero */
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n", /* >= order */
        "0000000000000000000000000000000000000000000000000000000000000001\n\n", /* trailing */
    };
    char path[1200];
    uint8_t k[32], zero[32] = {0};
    int created;
    arb_errbuf eb;

    snprintf(path, sizeof path, "%s/bad-key", tmp);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i]);
        created = -1;
        CHECK(arb_selfanchor_key_load(path, k, &created, &eb) == ARB_ERR_PARSE);
        CHECK_EQ(created, 0);
        CHECK_MEM(k, zero, 32);
    }
    write_text(path, "0000000000000000000000000000000000000000000000000000000000000001");
    CHECK(arb_selfanchor_key_load(path, k, &created, &eb) == ARB_OK);
    CHECK_EQ(k[31], 1);
    /* A directory that does not exist: an I/O error, nothing created. */
    snprintf(path, sizeof path, "%s/missing/anchor-key", tmp);
    CHECK(arb_selfanchor_key_load(path, k, &created, &eb) == ARB_ERR_IO);
}

int main(void)
{
    if (arb_test_tmpdir(tmp, sizeof tmp) != 0)
        return 1;
    test_create_and_load();
    test_refused();
    arb_test_rmtree(tmp);
    return arb_test_done();
}
