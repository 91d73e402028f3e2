/* An interrupted download resumes: a real arbord serves a log of N entries
 * bulk-loaded through its own sequencer, with short get-entries answers
 * (--log-max-entries 16, so every job of the download needs many requests and
 * the auditor must ask again for the rest). arbor-audit follow --download
 * --watch example.test (every entry matches) is killed with SIGKILL during
 * its download, then started again on the same state, until a run finishes.
 *
 * The kills land mid-download by construction, not by timing: the follower
 * persists its position at least every 8,192 entries (docs/auditor.md,
 * "Downloading entries") and reports matches from the thread that persists,
 * in index order. So once a run reports a match PERSIST entries past the
 * position it started from, it has persisted a larger position; the test
 * reads the run's stdout through a pipe and stops reading right there, so the
 * auditor blocks on the full pipe within a few hundred entries and cannot
 * reach the end of the log before the SIGKILL. Checked:
 *   - after each kill, the persisted position lies strictly between the one
 *     the run started from and N, and the next run carries on from there;
 *   - the last run reports the entries verified at the log's size and root,
 *     with no problem;
 *   - no entry is skipped: the matches of all runs together name every entry
 *     (each run's in increasing order); an entry is named twice at most once
 *     per kill (a match printed just before the kill, whose record was not
 *     yet written).
 * The same through data tiles (--tiled). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ledger/log/key.h"
#include "ledger/store/store.h"
#include "merkle/buf.h"
#include "tests/bench/log_bulk.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/testlog.h"
#include "tests/unit/log/pki.h"

enum { N = 20000 };
/* The follower persists at least this often (docs/auditor.md). */
enum { PERSIST = 8192 };
/* A killed run stops at most this far past the match that triggered the
 * kill: one job of 256 entries in progress plus what fits in a pipe of 64 KiB
 * at 100 bytes or more per match line. */
enum { OVERSHOOT = 256 + 65536 / 100 + 256 };

extern char **environ;

static char tmp[512], audit_bin[1024], arbord_bin[1024];
static char pub_pem[800], url[64];
static uint8_t log_id[32];
static unsigned char *named; /* per entry: times a match named it */

/* The position persisted in the auditor's state (the process is gone). */
static uint64_t saved_pos(const char *state)
{
    static const char *const cfs[] = {"default", "heads", "pos", "seen", "range"};
    arb_store *s = NULL;
    uint64_t pos = 0;
    arb_errbuf eb;

    if (arb_store_open(&s, state, cfs, 5, NULL, &eb) != ARB_OK)
        return 0;
    if (arb_store_get_u64(s, NULL, 2, log_id, 32, &pos, &eb) != ARB_OK)
        pos = 0;
    arb_store_close(s);
    return pos;
}

/* Reads a run's output: counts matches per entry (in increasing order within
 * the run), verified lines at size/root, and problems. */
static void read_run(const char *out, const char *root_hex, int *verified, int *problems,
                     int *ordered)
{
    char *save = NULL, *line;
    long last = -1;

    *verified = *problems = 0;
    *ordered = 1;
    for (line = strtok_r((char *)out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *ev = json_string_value(json_object_get(o, "event"));
        if (ev && strcmp(ev, "match") == 0) {
            json_int_t i = json_integer_value(json_object_get(o, "index"));
            if (i >= 0 && i < N)
                named[i]++;
            if (i <= last)
                *ordered = 0;
            last = (long)i;
        } else if (ev && strcmp(ev, "verified") == 0) {
            const char *r = json_string_value(json_object_get(o, "root"));
            if (json_integer_value(json_object_get(o, "tree_size")) == N && r &&
                strcmp(r, root_hex) == 0)
                (*verified)++;
        } else if (!ev || (strcmp(ev, "head") != 0 && strcmp(ev, "start") != 0)) {
            (*problems)++;
        }
        json_decref(o);
    }
}

/* The index of a match line, or -1 for any other line. */
static long long match_index(const char *line)
{
    json_t *o = json_loads(line, 0, NULL);
    const char *ev = json_string_value(json_object_get(o, "event"));
    long long i = -1;

    if (ev && strcmp(ev, "match") == 0 && json_is_integer(json_object_get(o, "index")))
        i = json_integer_value(json_object_get(o, "index"));
    json_decref(o);
    return i;
}

/* One run of the auditor on state, its stdout read line by line through a
 * pipe. With kill_at >= 0 it is killed (SIGKILL) as soon as it reports a
 * match at an index >= kill_at; the test stops reading there until the
 * auditor is gone, so it cannot run on beyond what the pipe holds. *out
 * (free()) gets all of its stdout; returns its exit status (128 + 9 when
 * killed), -1 if it could not be run. */
static int one_run(const char *state, int tiled, long long kill_at, char **out)
{
    /* Without --tiled the list ends there (the origin is for checkpoints). */
    const char *argv[] = {audit_bin, "follow", "--log", url, "--key", pub_pem, "--state", state,
                          "--download", "--watch", "example.test", "--once", "--json",
                          tiled ? "--tiled" : NULL, "--origin", "arbor.localhost/log", NULL};
    arb_buf all = ARB_BUF_INIT;
    pid_t parent = getpid(), pid;
    int fds[2], st = -1, killed = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;

    *out = NULL;
    if (pipe(fds) != 0)
        return -1;
    (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls until exec; dies with the test. */
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(fds[1], 1) < 0 ||
            prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        execve(argv[0], (char *const *)argv, environ);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0 || (f = fdopen(fds[0], "r")) == NULL) {
        close(fds[0]);
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        arb_buf_put(&all, line, (size_t)n);
        if (!killed && kill_at >= 0 && match_index(line) >= kill_at) {
            kill(pid, SIGKILL);
            killed = 1;
        }
    }
    free(line);
    fclose(f);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    st = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
    arb_buf_u8(&all, 0);
    if (all.oom) {
        arb_buf_free(&all);
        return -1;
    }
    *out = (char *)arb_buf_take(&all, &all.len);
    return st;
}

/* Follows the log until a run finishes, killing each run mid-download (see
 * above) while a kill PERSIST entries past its start still leaves room
 * before N, at most kills_max times. *mid gets the number of runs killed
 * mid-download (start < persisted position < N). */
static void interrupted_download(const char *name, int tiled, int kills_max,
                                 const char *root_hex, int *mid)
{
    char state[700];
    int kills = 0, done = 0;
    size_t twice = 0;

    *mid = 0;
    snprintf(state, sizeof state, "%s/%s", tmp, name);
    memset(named, 0, N);
    for (int run = 0; run < kills_max + 1 && !done; run++) {
        char *out = NULL;
        int verified, problems, ordered, st;
        uint64_t before = saved_pos(state);
        long long kill_at = -1;

        if (kills < kills_max && before + PERSIST + OVERSHOOT < N)
            kill_at = (long long)before + PERSIST;
        st = one_run(state, tiled, kill_at, &out);
        CHECK(st >= 0);
        read_run(out, root_hex, &verified, &problems, &ordered);
        free(out);
        CHECK(ordered);
        CHECK_EQ(problems, 0);
        if (kill_at >= 0) {
            uint64_t pos = saved_pos(state);
            CHECK_EQ(st, 128 + SIGKILL);
            kills++;
            /* It went on from where it was and persisted on the way. */
            if (pos <= before || pos >= N)
                fprintf(stderr, "%s: run %d started at %llu, killed at %llu\n", name, run,
                        (unsigned long long)before, (unsigned long long)pos);
            CHECK(pos > before);
            CHECK(pos < N);
            (*mid)++;
        } else {
            CHECK_EQ(st, 0);
            CHECK_EQ(verified, 1);
            CHECK_EQ(saved_pos(state), N);
            done = 1;
        }
    }
    CHECK(done);
    for (size_t i = 0; i < N; i++) {
        if (named[i] == 0)
            fprintf(stderr, "%s: entry %zu never reported\n", name, i);
        CHECK(named[i] > 0);
        twice += named[i] - 1u;
    }
    CHECK(twice <= (size_t)kills);
    fprintf(stderr, "%s: %d kills, %d mid-download, %zu entries reported twice\n", name, kills,
            *mid, twice);
}

/* The log's root from its tree head, as the auditor verified it. */
static void log_root(char root_hex[65])
{
    char path[700];
    const char *argv[] = {audit_bin, "follow", "--log", url, "--key", pub_pem, "--state",
                          path, "--once", "--json", NULL};
    arb_proc *p = NULL;
    char line[1024] = "";
    json_t *o;
    int st;

    root_hex[0] = '\0';
    snprintf(path, sizeof path, "%s/head-only", tmp);
    CHECK(arb_proc_spawn(&p, argv) == 0);
    arb_proc_wait_line(p, ARB_PROC_STDOUT, "{\"event\":\"head\"", line, sizeof line, 30000);
    st = arb_proc_wait(p, 30000);
    arb_proc_free(p);
    CHECK_EQ(st, 0);
    o = json_loads(line, 0, NULL);
    if (json_integer_value(json_object_get(o, "tree_size")) == N &&
        json_string_value(json_object_get(o, "root")))
        snprintf(root_hex, 65, "%s", json_string_value(json_object_get(o, "root")));
    json_decref(o);
    CHECK(root_hex[0] != '\0');
}

static void test_resume(void)
{
    char root_hex[65];
    int mid = 0;

    log_root(root_hex);
    interrupted_download("rfc6962", 0, 8, root_hex, &mid);
    CHECK(mid >= 2);
    interrupted_download("tiled", 1, 8, root_hex, &mid);
    CHECK(mid >= 1);
}

int main(void)
{
    arb_tl_log l;
    char datadir[700];
    unsigned long long size = 0;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    log_bulk_config bc;
    arb_errbuf eb;
    arb_proc *server = NULL;
    int port;

    arb_test_bin(audit_bin, sizeof audit_bin, "arbor-audit");
    arb_test_bin(arbord_bin, sizeof arbord_bin, "arbord");
    named = calloc(N, 1);
    CHECK_OR(named && arb_test_tmpdir(tmp, sizeof tmp) == 0, 1);
    snprintf(datadir, sizeof datadir, "%s/log", tmp);
    CHECK_OR(arb_tl_log_make(&l, tmp) &&
                 arb_ct_signer_spki(l.signer, &spki, &spki_len) == ARB_OK,
             1);
    snprintf(pub_pem, sizeof pub_pem, "%s", l.pubp);
    {
        arb_sha256 *h = NULL;
        CHECK_OR(arb_sha256_new(&h) == ARB_OK, 1);
        arb_sha256_digest(h, log_id, spki, spki_len);
        arb_sha256_free(h);
    }
    arb_tl_log_bulk(&l, &bc, datadir, 1000, N);
    if (log_bulk_load(&bc, &size, &eb) != ARB_OK)
        fprintf(stderr, "bulk load: %s\n", eb.msg);
    CHECK_OR(size == N, 1);
    {
        const char *argv[] = {arbord_bin, "--datadir", datadir, "--listen", "127.0.0.1:0",
                              "--network", "regtest", "--log-key", l.keyp, "--log-roots", l.rootsp,
                              "--log-max-entries", "16", "--json", NULL};
        CHECK_OR(arb_proc_spawn(&server, argv) == 0, 1);
        port = arb_proc_wait_port(server, 30000);
        if (port <= 0) {
            arb_proc_free(server);
            CHECK_OR(port > 0, 1);
        }
        snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    }
    test_resume();
    arb_proc_kill(server, SIGTERM);
    if (arb_proc_wait(server, 30000) != 0)
        arb_test_fail(__FILE__, __LINE__, "arbord did not stop cleanly");
    arb_proc_free(server);
    arb_test_rmtree(tmp);
    free(named);
    free(spki);
    arb_tl_log_free(&l);
    return arb_test_done();
}
