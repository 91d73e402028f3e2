/* Starting store_helper as a separate process with pipes to its stdin and
 * stdout (fork + exec: the child gets fresh RocksDB state, which a bare fork of
 * a process that has used RocksDB would not). */
#ifndef ARB_TESTS_UNIT_STORE_HELPER_PROC_H
#define ARB_TESTS_UNIT_STORE_HELPER_PROC_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test.h"

typedef struct {
    pid_t pid;
    int to_child;   /* child's stdin */
    int from_child; /* child's stdout */
} helper_proc;

/* Runs "<ARB_BIN>/store_helper mode dir [arg]". Returns 0 on success. */
static inline int helper_start(helper_proc *hp, const char *mode, const char *dir,
                               const char *arg)
{
    char bin[4096];
    int in[2], outp[2];

    arb_test_bin(bin, sizeof bin, "store_helper");
    if (pipe(in) != 0)
        return -1;
    if (pipe(outp) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    hp->pid = fork();
    if (hp->pid < 0)
        return -1;
    if (hp->pid == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        close(in[0]);
        close(in[1]);
        close(outp[0]);
        close(outp[1]);
        execl(bin, bin, mode, dir, arg, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    hp->to_child = in[1];
    hp->from_child = outp[0];
    return 0;
}

/* Reads one line (without the newline) from the child; 0 at EOF. */
static inline int helper_line(helper_proc *hp, char *buf, size_t n)
{
    size_t i = 0;
    char c;
    while (i + 1 < n && read(hp->from_child, &c, 1) == 1) {
        if (c == '\n') {
            buf[i] = '\0';
            return 1;
        }
        buf[i++] = c;
    }
    buf[i] = '\0';
    return i > 0;
}

/* Closes the pipes and waits; returns the wait status. */
static inline int helper_finish(helper_proc *hp)
{
    int st = 0;
    if (hp->to_child >= 0)
        close(hp->to_child);
    if (hp->from_child >= 0)
        close(hp->from_child);
    hp->to_child = hp->from_child = -1;
    while (waitpid(hp->pid, &st, 0) < 0 && errno == EINTR) {
    }
    return st;
}

#endif
