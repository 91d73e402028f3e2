/* Runs the real arbor-audit program on the 10,000 Bitcoin mainnet headers and
 * on tampered copies, checking exit codes and what it prints. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/chain/header.h"
#include "ledger/chain/params.h"
#include "tests/test.h"

static char DIR_[512];

/* Runs arbor-audit with args; stdout and stderr go to files read back into
 * out/err (each up to 4 KB). Returns the exit status, or -1. */
static int run(const char *const *args, char *out, char *err)
{
    char bin[512], op[600], ep[600];
    const char *argv[16];
    int n = 0, status;
    pid_t pid;

    arb_test_bin(bin, sizeof bin, "arbor-audit");
    argv[n++] = bin;
    for (int i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(op, sizeof op, "%s/out", DIR_);
    snprintf(ep, sizeof ep, "%s/err", DIR_);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fo < 0 || fe < 0)
            _exit(127);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *d = arb_test_read_file(k == 0 ? op : ep, &len);
        char *dst = k == 0 ? out : err;
        dst[0] = '\0';
        if (d != NULL) {
            snprintf(dst, 4096, "%s", (char *)d);
            free(d);
        }
    }
    return WEXITSTATUS(status);
}

static void write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f != NULL) {
        fwrite(d, 1, n, f);
        fclose(f);
    }
}

static void test_audit(void)
{
    char vec[512], bad[600], out[4096], err[4096];
    size_t len;
    uint8_t *d;

    arb_test_vector_path(vec, sizeof vec, "chain/mainnet_headers_0_9999.bin");
    d = arb_test_read_file(vec, &len);
    CHECK(d != NULL && len == 800000);

    /* All good: exit 0, summary names the tip. */
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "bitcoin", "--start-height", "0",
                                  vec, NULL},
                 out, err),
             0);
    CHECK(strstr(out, "10000 headers") != NULL);
    CHECK(strstr(out, "00000000fbc97cc6c599ce9c24dd4a2243e2bfd518eda56e1d5e47d29e29c3a7") != NULL);
    CHECK_EQ(run((const char *[]){"--json", "verify-headers", "--rules", "bitcoin", vec, NULL}, out,
                 err),
             0);
    CHECK(strstr(out, "\"ok\":true") != NULL);
    CHECK(strstr(out, "\"tip_height\":9999") != NULL);

    /* One nonce bit flipped at height 7000: exit 1, the message names it. */
    snprintf(bad, sizeof bad, "%s/bad.bin", DIR_);
    d[7000 * 80 + 76] ^= 0x01;
    write_file(bad, d, len);
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "bitcoin", bad, NULL}, out, err), 1);
    CHECK(strstr(err, "height 7000") != NULL);
    CHECK(strstr(err, "high-hash") != NULL);
    CHECK_EQ(run((const char *[]){"verify-headers", "--json", "--rules", "bitcoin", bad, NULL}, out,
                 err),
             1);
    CHECK(strstr(out, "\"bad_height\":7000") != NULL);
    CHECK(strstr(out, "\"reason\":\"high-hash\"") != NULL);
    d[7000 * 80 + 76] ^= 0x01;

    /* A broken link: header 300 dropped, so 301 follows 299. */
    memmove(d + 300 * 80, d + 301 * 80, len - 301 * 80);
    write_file(bad, d, len - 80);
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "bitcoin", bad, NULL}, out, err), 1);
    CHECK(strstr(err, "height 300") != NULL);
    CHECK(strstr(err, "prev-blk-not-found") != NULL);

    /* A truncated file is bad input (1); usage errors are 2. */
    write_file(bad, d, 8000 + 17);
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "bitcoin", bad, NULL}, out, err), 1);
    CHECK(strstr(err, "multiple of 80") != NULL);
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "nope", vec, NULL}, out, err), 2);
    CHECK_EQ(run((const char *[]){"verify-headers", vec, NULL}, out, err), 2);
    CHECK_EQ(run((const char *[]){"no-such-command", NULL}, out, err), 2);
    CHECK_EQ(run((const char *[]){"--help", NULL}, out, err), 0);
    CHECK(strstr(out, "verify-headers") != NULL);
    CHECK_EQ(run((const char *[]){"--version", NULL}, out, err), 0);
    CHECK(strstr(out, "arbor-audit") != NULL);
    free(d);
}

/* Mines n regtest headers after genesis into out (80 bytes each); header
 * `bad` gets a time before its parent's median (re-mined, so its proof of
 * work is valid) when bad > 0. */
static int regtest_headers(uint8_t *out, size_t n, size_t bad)
{
    const arb_chain_params *p = arb_chain_params_get("regtest");
    arb_sha256 *sha;
    arb_block g;
    arb_block_header h;
    arb_u256 t;
    arb_hash hash;

    if (arb_sha256_new(&sha) != ARB_OK)
        return 0;
    if (arb_chain_genesis_build(p, sha, p->genesis_nonce, &g) != ARB_OK) {
        arb_sha256_free(sha);
        return 0;
    }
    h = g.header;
    arb_block_clear(&g);
    arb_pow_bits_to_target(&t, h.bits, NULL, NULL);
    arb_header_encode(out, &h);
    for (size_t i = 1; i < n; i++) {
        arb_header_hash(sha, &h.prev, &h);
        h.time += 600;
        if (i == bad)
            h.time -= 600 * 8;
        for (h.nonce = 0;; h.nonce++) {
            arb_header_hash(sha, &hash, &h);
            if (arb_pow_hash_meets(&hash, &t))
                break;
        }
        arb_header_encode(out + 80 * i, &h);
    }
    arb_sha256_free(sha);
    return 1;
}

static void test_audit_regtest(void)
{
    uint8_t hdrs[40 * 80];
    char path[600], out[4096], err[4096];

    snprintf(path, sizeof path, "%s/regtest.bin", DIR_);
    CHECK(regtest_headers(hdrs, 40, 0));
    write_file(path, hdrs, sizeof hdrs);
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "regtest", path, NULL}, out, err), 0);
    CHECK(strstr(out, "40 headers") != NULL);
    /* The same file under the bitcoin rules: bits above that limit. */
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "bitcoin", path, NULL}, out, err), 1);
    CHECK(strstr(err, "height 1 ") != NULL);
    CHECK(strstr(err, "high-hash") != NULL);
    /* Header 25 with a time before the median of the previous 11. */
    CHECK(regtest_headers(hdrs, 40, 25));
    write_file(path, hdrs, sizeof hdrs);
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "regtest", path, NULL}, out, err), 1);
    CHECK(strstr(err, "height 25 ") != NULL);
    CHECK(strstr(err, "time-too-old") != NULL);
    /* Started at height 1000 the same run reports height 1025. */
    CHECK_EQ(run((const char *[]){"verify-headers", "--rules", "regtest", "--start-height", "1000",
                                  path, NULL},
                 out, err),
             1);
    CHECK(strstr(err, "height 1025 ") != NULL);
}

int main(void)
{
    if (arb_test_tmpdir(DIR_, sizeof DIR_) != 0)
        return 1;
    test_audit();
    test_audit_regtest();
    arb_test_rmtree(DIR_);
    return arb_test_done();
}
