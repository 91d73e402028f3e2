/* The integration-test process helper (tests/proc.h), driven with /bin/sh. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/proc.h"
#include "tests/test.h"

static void test_lines_and_signal(void)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "echo starting; echo oops >&2; sleep 0.2; "
                          "echo '{\"event\":\"listening\",\"host\":\"127.0.0.1\",\"port\":4321}'; "
                          "exec sleep 30",
                          NULL};
    arb_proc *p;
    char line[256];
    char *err;
    CHECK(arb_proc_spawn(&p, argv) == 0);
    CHECK(arb_proc_pid(p) > 0);
    CHECK_EQ(arb_proc_wait_port(p, 5000), 4321);
    CHECK(arb_proc_wait_line(p, ARB_PROC_STDOUT, "start", line, sizeof line, 1000) == 1);
    CHECK_STR(line, "starting");
    CHECK(arb_proc_wait_line(p, ARB_PROC_STDERR, "", line, sizeof line, 1000) == 1);
    CHECK_STR(line, "oops");
    CHECK(arb_proc_wait_line(p, ARB_PROC_STDOUT, "never", NULL, 0, 100) == 0);
    CHECK_EQ(arb_proc_wait(p, 100), -1); /* still running */
    CHECK_EQ(arb_proc_kill(p, SIGTERM), 0);
    CHECK_EQ(arb_proc_wait(p, 5000), 128 + SIGTERM);
    CHECK_EQ(arb_proc_wait(p, 0), 128 + SIGTERM); /* again: same answer */
    CHECK_EQ(arb_proc_kill(p, SIGTERM), -1);      /* gone */
    err = arb_proc_output(p, ARB_PROC_STDERR);
    CHECK(err != NULL);
    CHECK_STR(err, "oops\n");
    free(err);
    arb_proc_free(p);
}

static void test_exit_codes(void)
{
    const char *a3[] = {"/bin/sh", "-c", "exit 3", NULL};
    const char *ahang[] = {"/bin/sh", "-c", "exec sleep 30", NULL};
    const char *anone[] = {"/nonexistent/program", NULL};
    arb_proc *p;
    CHECK(arb_proc_spawn(&p, a3) == 0);
    CHECK_EQ(arb_proc_wait(p, 5000), 3);
    /* A line that never comes: the wait ends when the child exits. */
    CHECK(arb_proc_wait_line(p, ARB_PROC_STDOUT, "x", NULL, 0, 5000) == 0);
    arb_proc_free(p);
    /* Freeing a running child kills it. */
    CHECK(arb_proc_spawn(&p, ahang) == 0);
    arb_proc_free(p);
    CHECK(arb_proc_spawn(&p, anone) == -1);
}

int main(void)
{
    test_lines_and_signal();
    test_exit_codes();
    return arb_test_done();
}
