/* The wallet file survives kill -9 at any moment.
 *
 * `arbor-wallet address` records the next receive index in the encrypted
 * wallet file (temp file, fsync, rename, directory fsync) before printing the
 * address. Real processes are SIGKILLed at random points of that work; after
 * each kill the file must still open with the passphrase, and no address that
 * was printed may ever be handed out again. A `create` killed at a random
 * point leaves either no wallet file or a complete one. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tests/proc.h"
#include "tests/test.h"

static char bin[4096], dir[512];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

/* Runs the wallet on `path` with args; kills it after kill_us microseconds
 * when kill_us >= 0. Returns the exit status (128 + signal when killed) and
 * the address it printed (if any) in addr. */
static int wallet(const char *path, const char *cmd, long kill_us, char *addr, size_t cap)
{
    const char *argv[] = {bin,    "--wallet", path, "--network", "regtest", "--scrypt-log2n",
                          "2",    "--json",   cmd,  NULL};
    arb_proc *p = NULL;
    char *out;
    int st;

    if (addr != NULL)
        addr[0] = '\0';
    if (arb_proc_spawn(&p, argv) != 0)
        return -1;
    if (kill_us >= 0) {
        sleep_us(kill_us);
        arb_proc_kill(p, SIGKILL);
    }
    st = arb_proc_wait(p, 30000);
    out = arb_proc_output(p, ARB_PROC_STDOUT);
    if (addr != NULL && out != NULL) {
        json_t *j = json_loads(out, 0, NULL);
        const char *a = json_string_value(json_object_get(j, "address"));
        if (a != NULL)
            snprintf(addr, cap, "%s", a);
        json_decref(j);
    }
    free(out);
    arb_proc_free(p);
    return st;
}

static char (*seen)[128];
static size_t nseen;

static int was_seen(const char *a)
{
    for (size_t i = 0; i < nseen; i++)
        if (strcmp(seen[i], a) == 0)
            return 1;
    return 0;
}

static void test_address(void)
{
    char path[600], a[128];
    unsigned long rounds = arb_test_count(40), killed_mid = 0;
    double t0, span;

    snprintf(path, sizeof path, "%s/w.json", dir);
    CHECK_EQ(wallet(path, "create", -1, NULL, 0), 0);
    seen = calloc(rounds + rounds / 4 + 4, sizeof *seen);
    CHECK_OR(seen != NULL, );
    /* How long one clean run takes: kills land anywhere inside it. */
    t0 = now_ms();
    CHECK_EQ(wallet(path, "address", -1, a, sizeof a), 0);
    span = now_ms() - t0;
    CHECK(a[0] != '\0');
    snprintf(seen[nseen++], sizeof seen[0], "%s", a);
    for (unsigned long i = 0; i < rounds; i++) {
        long us = (long)arb_test_rand_below((uint64_t)(span * 1200.0) + 1);
        int st = wallet(path, "address", us, a, sizeof a);
        if (a[0] != '\0') {
            /* It printed: the index was durable first, so never again. */
            CHECK(!was_seen(a));
            snprintf(seen[nseen++], sizeof seen[0], "%s", a);
        } else if (st == 128 + SIGKILL) {
            killed_mid++;
        } else {
            CHECK_EQ(st, 0);
        }
        if (i % 4 == 3) {
            /* The file opens with the passphrase and goes on. */
            CHECK_EQ(wallet(path, "address", -1, a, sizeof a), 0);
            CHECK(a[0] != '\0' && !was_seen(a));
            snprintf(seen[nseen++], sizeof seen[0], "%s", a);
        }
    }
    printf("address: %zu addresses handed out, %lu runs killed before printing\n", nseen,
           killed_mid);
    CHECK(killed_mid > 0);
    free(seen);
}

static void test_create(void)
{
    unsigned long rounds = arb_test_count(12), complete = 0, absent = 0;
    char a[128];
    double t0, span;

    {
        char path[600];
        snprintf(path, sizeof path, "%s/c-calibrate.json", dir);
        t0 = now_ms();
        CHECK_EQ(wallet(path, "create", -1, NULL, 0), 0);
        span = now_ms() - t0;
    }
    for (unsigned long i = 0; i < rounds; i++) {
        char path[600];
        struct stat sb;
        long us = (long)arb_test_rand_below((uint64_t)(span * 1200.0) + 1);

        snprintf(path, sizeof path, "%s/c%lu.json", dir, i);
        wallet(path, "create", us, NULL, 0);
        if (stat(path, &sb) != 0) {
            absent++;
            continue;
        }
        /* A wallet file that exists is whole: it opens and derives. */
        CHECK_EQ(sb.st_mode & 077, 0);
        CHECK_EQ(wallet(path, "address", -1, a, sizeof a), 0);
        CHECK(a[0] != '\0');
        complete++;
    }
    printf("create: %lu complete, %lu absent after kills\n", complete, absent);
}

int main(void)
{
    arb_test_seed_init();
    if (arb_test_bin(bin, sizeof bin, "arbor-wallet") == NULL || arb_test_tmpdir(dir, sizeof dir))
        return 1;
    setenv("ARBOR_PASSPHRASE", "kill test passphrase", 1);
    test_address();
    test_create();
    arb_test_rmtree(dir);
    return arb_test_done();
}
