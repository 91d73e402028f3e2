/* Child processes for integration tests. See proc.h. */
#include "tests/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/test.h"

extern char **environ;

struct arb_proc {
    pid_t pid;
    int exited;
    int status; /* valid once exited */
    char dir[512];
    char out_path[600];
    char err_path[600];
};

int arb_proc_spawn(arb_proc **out, const char *const argv[])
{
    arb_proc *p = calloc(1, sizeof *p);
    pid_t parent = getpid();
    int in, o, e;

    *out = NULL;
    if (p == NULL || arb_test_tmpdir(p->dir, sizeof p->dir) != 0) {
        fprintf(stderr, "arb_proc_spawn: no temporary directory\n");
        free(p);
        return -1;
    }
    snprintf(p->out_path, sizeof p->out_path, "%s/stdout", p->dir);
    snprintf(p->err_path, sizeof p->err_path, "%s/stderr", p->dir);
    if (access(argv[0], X_OK) != 0) {
        fprintf(stderr, "arb_proc_spawn: cannot start %s: %s\n", argv[0], strerror(errno));
        arb_test_rmtree(p->dir);
        free(p);
        return -1;
    }
    in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    o = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    e = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    p->pid = in >= 0 && o >= 0 && e >= 0 ? fork() : -1;
    if (p->pid == 0) {
        /* The child: only async-signal-safe calls until exec. It dies with
         * the test (PR_SET_PDEATHSIG), so a test that stops early on a
         * failed check never leaves a daemon behind. */
        if (dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 ||
            prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        execve(argv[0], (char *const *)argv, environ);
        _exit(127);
    }
    if (in >= 0)
        close(in);
    if (o >= 0)
        close(o);
    if (e >= 0)
        close(e);
    if (p->pid < 0) {
        fprintf(stderr, "arb_proc_spawn: cannot start %s: %s\n", argv[0], strerror(errno));
        arb_test_rmtree(p->dir);
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

pid_t arb_proc_pid(const arb_proc *p)
{
    return p->pid;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Reaps the child if it has exited. Returns 1 if it has. */
static int poll_exit(arb_proc *p)
{
    int st;
    if (p->exited)
        return 1;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
        p->exited = 1;
        p->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
        return 1;
    }
    return 0;
}

char *arb_proc_output(arb_proc *p, int which)
{
    return (char *)arb_test_read_file(which == ARB_PROC_STDERR ? p->err_path : p->out_path, NULL);
}

static int find_line(const char *text, const char *prefix, char *line, size_t cap)
{
    size_t plen = strlen(prefix);
    const char *s = text;
    while (s && *s) {
        const char *nl = strchr(s, '\n');
        if (nl == NULL)
            return 0; /* an incomplete last line: wait for the rest */
        if ((size_t)(nl - s) >= plen && strncmp(s, prefix, plen) == 0) {
            if (line != NULL && cap > 0) {
                size_t n = (size_t)(nl - s) < cap - 1 ? (size_t)(nl - s) : cap - 1;
                memcpy(line, s, n);
                line[n] = '\0';
            }
            return 1;
        }
        s = nl + 1;
    }
    return 0;
}

int arb_proc_wait_line(arb_proc *p, int which, const char *prefix, char *line, size_t cap,
                       int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        int gone = poll_exit(p); /* check before reading: output is complete once it exited */
        char *text = arb_proc_output(p, which);
        int found = text != NULL && find_line(text, prefix, line, cap);
        free(text);
        if (found)
            return 1;
        if (gone || now_ms() >= deadline)
            return 0;
        sleep_ms(10);
    }
}

int arb_proc_wait_port(arb_proc *p, int timeout_ms)
{
    char line[1024];
    const char *k;
    if (!arb_proc_wait_line(p, ARB_PROC_STDOUT, "{\"event\":\"listening\"", line, sizeof line,
                            timeout_ms))
        return -1;
    k = strstr(line, "\"port\":");
    return k ? atoi(k + 7) : -1;
}

arb_proc *arb_proc_start_arbord(const char *bin, const char *dir, const char *const extra[],
                                int timeout_ms, int *port)
{
    const char *argv[48] = {bin, "--datadir", dir, "--listen", "127.0.0.1:0", "--json"};
    size_t n = 6;
    arb_proc *p;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && i < 40; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    *port = -1;
    if (arb_proc_spawn(&p, argv) != 0)
        return NULL;
    *port = arb_proc_wait_port(p, timeout_ms);
    return p;
}

int arb_proc_run(const char *const argv[], int timeout_ms, char **out, char **err)
{
    arb_proc *p;
    int st;
    if (out != NULL)
        *out = NULL;
    if (err != NULL)
        *err = NULL;
    if (arb_proc_spawn(&p, argv) != 0)
        return -1;
    st = arb_proc_wait(p, timeout_ms);
    if (out != NULL)
        *out = arb_proc_output(p, ARB_PROC_STDOUT);
    if (err != NULL)
        *err = arb_proc_output(p, ARB_PROC_STDERR);
    arb_proc_free(p);
    return st;
}

int arb_proc_kill(arb_proc *p, int sig)
{
    if (poll_exit(p))
        return -1;
    return kill(p->pid, sig) == 0 ? 0 : -1;
}

int arb_proc_wait(arb_proc *p, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    while (!poll_exit(p)) {
        if (now_ms() >= deadline)
            return -1;
        sleep_ms(5);
    }
    return p->status;
}

void arb_proc_free(arb_proc *p)
{
    if (p == NULL)
        return;
    if (!poll_exit(p)) {
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    arb_test_rmtree(p->dir);
    free(p);
}
