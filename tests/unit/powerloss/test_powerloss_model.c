/* The power-loss model itself (tests/powerloss/): a helper process (this
 * program, run again with the library preloaded) writes, syncs, renames and
 * makes directories in the ways a database does, from several threads; the
 * image built from the record must hold exactly what the model promises:
 *   - a file's content as of its last fsync/fdatasync (later writes, and
 *     sync_file_range even with its WAIT flags, do not count);
 *   - a name (file, rename target, directory) only once its directory was
 *     synced; a rename over an old name without that sync leaves the old file;
 *   - a name synced but whose file never was: an empty file;
 *   - sync() makes everything durable. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/powerloss/powerloss.h"
#include "tests/proc.h"
#include "tests/test.h"

#define THREADS 4
#define APPENDS 200

static char watched[600];

/* ---- the helper (runs under the model; exits non-zero on a failed call) ---- */

static void must(int ok, const char *what)
{
    if (!ok) {
        perror(what);
        exit(3);
    }
}

static int create(const char *name, const char *text)
{
    char p[800];
    int fd;
    snprintf(p, sizeof p, "%s/%s", watched, name);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    must(fd >= 0, name);
    must(write(fd, text, strlen(text)) == (ssize_t)strlen(text), name);
    return fd;
}

static void sync_dir(const char *name)
{
    char p[800];
    int fd;
    snprintf(p, sizeof p, "%s%s%s", watched, name[0] ? "/" : "", name);
    fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    must(fd >= 0 && fsync(fd) == 0 && close(fd) == 0, p);
}

static void ren(const char *from, const char *to)
{
    char a[800], b[800];
    snprintf(a, sizeof a, "%s/%s", watched, from);
    snprintf(b, sizeof b, "%s/%s", watched, to);
    must(rename(a, b) == 0, "rename");
}

static void *appender(void *arg)
{
    long i = (long)arg;
    char name[32], line[64];
    int fd;

    snprintf(name, sizeof name, "t%ld", i);
    fd = create(name, "");
    for (int k = 0; k < APPENDS; k++) {
        int n = snprintf(line, sizeof line, "%ld:%d\n", i, k);
        must(write(fd, line, (size_t)n) == n, "append");
        must((k % 2 ? fdatasync(fd) : fsync(fd)) == 0, "sync");
    }
    close(fd);
    return NULL;
}

static int helper(const char *how)
{
    int fd;

    if (strcmp(how, "sync") == 0) {
        close(create("s", "S"));
        sync();
        return 0;
    }
    /* Step 1: a, e synced; b never synced; s1/x synced with s1; all named by
     * a sync of the top directory. Several threads append and sync. */
    {
        pthread_t t[THREADS];
        for (long i = 0; i < THREADS; i++)
            must(pthread_create(&t[i], NULL, appender, (void *)i) == 0, "thread");
        fd = create("a", "A1");
        must(fsync(fd) == 0, "fsync a");
        close(create("b", "B"));
        fd = create("e", "E1");
        must(fdatasync(fd) == 0 && close(fd) == 0, "e");
        {
            char p[800];
            snprintf(p, sizeof p, "%s/s1", watched);
            must(mkdir(p, 0700) == 0, "mkdir s1");
        }
        fd = create("s1/x", "X");
        must(fsync(fd) == 0 && close(fd) == 0, "x");
        sync_dir("s1");
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        sync_dir("");
    }
    /* Step 2: more of a, never synced; d through a synced rename. */
    {
        int afd;
        char p[800];
        snprintf(p, sizeof p, "%s/a", watched);
        afd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        must(afd >= 0 && write(afd, "A2", 2) == 2, "a again");
        fd = create("d.tmp", "D");
        must(fsync(fd) == 0 && close(fd) == 0, "d.tmp");
        ren("d.tmp", "d");
        sync_dir("");
        /* Step 3: none of this is named by a directory sync. */
        fd = create("c", "C");
        must(fsync(fd) == 0 && close(fd) == 0, "c");
        fd = create("e.tmp", "E2");
        must(fsync(fd) == 0 && close(fd) == 0, "e.tmp");
        ren("e.tmp", "e");
        snprintf(p, sizeof p, "%s/s2", watched);
        must(mkdir(p, 0700) == 0, "mkdir s2");
        /* Step 4: sync_file_range is not a sync. */
        must(write(afd, "A3", 2) == 2, "a A3");
        must(sync_file_range(afd, 0, 0,
                             SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                 SYNC_FILE_RANGE_WAIT_AFTER) == 0,
             "sync_file_range");
        close(afd);
    }
    return 0;
}

/* ---- the test ---- */

static char *read_file(const char *dir, const char *name)
{
    char p[900], *buf;
    FILE *f;
    long n;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int exists(const char *dir, const char *name)
{
    char p[900];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

static void check_file(const char *dir, const char *name, const char *want)
{
    char *got = read_file(dir, name);
    if (got == NULL || strcmp(got, want) != 0)
        fprintf(stderr, "%s: \"%s\", want \"%s\"\n", name, got ? got : "(missing)", want);
    CHECK(got != NULL);
    CHECK_STR(got, want);
    free(got);
}

/* Runs the helper under the model on a fresh directory; builds the image. */
static int run_helper(const char *self, const char *base, const char *how, char *after,
                      size_t cap, arb_powerloss_stats *st)
{
    char shadow[700], lib[4096];
    const char *argv[] = {self, "helper", how, watched, NULL};
    arb_proc *p = NULL;
    int rc;

    snprintf(watched, sizeof watched, "%s/%s-data", base, how);
    snprintf(shadow, sizeof shadow, "%s/%s-shadow", base, how);
    snprintf(after, cap, "%s/%s-after", base, how);
    if (mkdir(watched, 0700) != 0 || mkdir(shadow, 0700) != 0 ||
        arb_powerloss_lib(lib, sizeof lib) == NULL)
        return 0;
    setenv("LD_PRELOAD", lib, 1);
    setenv("ARB_POWERLOSS_DIR", watched, 1);
    setenv("ARB_POWERLOSS_SHADOW", shadow, 1);
    rc = arb_proc_spawn(&p, argv);
    unsetenv("LD_PRELOAD");
    unsetenv("ARB_POWERLOSS_DIR");
    unsetenv("ARB_POWERLOSS_SHADOW");
    if (rc != 0)
        return 0;
    rc = arb_proc_wait(p, 60000);
    if (rc != 0) {
        char *e = arb_proc_output(p, ARB_PROC_STDERR);
        fprintf(stderr, "helper %s: status %d: %s\n", how, rc, e ? e : "");
        free(e);
    }
    arb_proc_free(p);
    return rc == 0 && arb_powerloss_image(watched, shadow, after, st) == 0;
}

static void test_model(const char *self, const char *base)
{
    char after[700];
    arb_powerloss_stats st;

    CHECK(run_helper(self, base, "steps", after, sizeof after, &st));
    check_file(after, "a", "A1");
    check_file(after, "b", "");
    check_file(after, "e", "E1");
    check_file(after, "d", "D");
    check_file(after, "s1/x", "X");
    CHECK(!exists(after, "c"));
    CHECK(!exists(after, "s2"));
    CHECK(!exists(after, "d.tmp"));
    CHECK(!exists(after, "e.tmp"));
    for (int i = 0; i < THREADS; i++) {
        char name[16], *got, want[8192];
        size_t off = 0;
        snprintf(name, sizeof name, "t%d", i);
        for (int k = 0; k < APPENDS; k++)
            off += (size_t)snprintf(want + off, sizeof want - off, "%d:%d\n", i, k);
        got = read_file(after, name);
        CHECK(got != NULL && strcmp(got, want) == 0);
        free(got);
    }
    /* a b e d s1 s1/x t0..t3, with b never synced */
    CHECK_EQ(st.files, 5 + THREADS);
    CHECK_EQ(st.dirs, 2);
    CHECK_EQ(st.never_synced, 1);
}

static void test_sync_all(const char *self, const char *base)
{
    char after[700];

    CHECK(run_helper(self, base, "sync", after, sizeof after, NULL));
    check_file(after, "s", "S");
}

int main(int argc, char **argv)
{
    char base[512];

    if (argc == 4 && strcmp(argv[1], "helper") == 0) {
        snprintf(watched, sizeof watched, "%s", argv[3]);
        return helper(argv[2]);
    }
    arb_test_seed_init();
    CHECK_OR(arb_test_tmpdir(base, sizeof base) == 0, 1);
    test_model(argv[0], base);
    test_sync_all(argv[0], base);
    arb_test_rmtree(base);
    return arb_test_done();
}
