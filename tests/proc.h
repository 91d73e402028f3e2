/* Child processes for integration tests: spawn a program with its stdout and
 * stderr captured to files, wait for a line it prints, signal it, and wait for
 * its exit, all with timeouts so a hung program fails the test instead of
 * hanging it.
 *
 *   char bin[4096];
 *   const char *argv[] = {arb_test_bin(bin, sizeof bin, "arbord"), "--datadir", dir,
 *                         "--listen", "127.0.0.1:0", "--json", NULL};
 *   arb_proc *p;
 *   if (arb_proc_spawn(&p, argv) != 0) ...;
 *   int port = arb_proc_wait_port(p, 10000);      // reads {"event":"listening",...,"port":N}
 *   ...
 *   arb_proc_kill(p, SIGTERM);
 *   int status = arb_proc_wait(p, 10000);         // exit code, 128+signal, or -1 on timeout
 *   arb_proc_free(p);                             // SIGKILLs it if still running
 */
#ifndef ARB_TESTS_PROC_H
#define ARB_TESTS_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct arb_proc arb_proc;

enum { ARB_PROC_STDOUT = 1, ARB_PROC_STDERR = 2 };

/* Starts argv[0] (a path) with arguments argv (NULL-terminated); stdin is
 * /dev/null, stdout and stderr go to files in a fresh temporary directory.
 * The child is killed when the thread that started it ends (Linux
 * PR_SET_PDEATHSIG): start children from the test's main thread.
 * Returns 0, or -1 (with a message on stderr) if it cannot be started. */
int arb_proc_spawn(arb_proc **out, const char *const argv[]);

/* Waits up to timeout_ms for a complete line in the child's stdout or stderr
 * (`which`) that starts with `prefix` ("" matches any line). Copies the line
 * (without its newline) into line[0..cap) if line is not NULL. Returns 1 when
 * found, 0 on timeout or if the child exited without printing it. */
int arb_proc_wait_line(arb_proc *p, int which, const char *prefix, char *line, size_t cap,
                       int timeout_ms);

/* Waits for arbord's --json line {"event":"listening",...,"port":N} on stdout
 * and returns N, or -1. */
int arb_proc_wait_port(arb_proc *p, int timeout_ms);

/* Starts arbord (the program bin) with --datadir dir --listen 127.0.0.1:0
 * --json and then the arguments extra (NULL-terminated; NULL for none; at
 * most 40), and waits up to timeout_ms for its listening line. Returns the
 * child and its port in *port (-1 if it never listened: the caller still
 * frees the child), or NULL with *port -1 if it could not be started. */
arb_proc *arb_proc_start_arbord(const char *bin, const char *dir, const char *const extra[],
                                int timeout_ms, int *port);

/* Runs argv[0] with argv (NULL-terminated) to its end, waiting up to
 * timeout_ms. Returns its status as arb_proc_wait does (-1: it could not be
 * started, or it timed out and was killed) and, when out / err are not NULL,
 * what it wrote to stdout / stderr (malloc'd; NULL when it could not be
 * started). */
int arb_proc_run(const char *const argv[], int timeout_ms, char **out, char **err);

/* Sends a signal. Returns 0, or -1 if the child is gone. */
int arb_proc_kill(arb_proc *p, int sig);

/* Waits up to timeout_ms for the child to exit. Returns its exit code
 * (0..255), 128 + the signal number if a signal ended it, or -1 on timeout.
 * Calling it again after the exit returns the same value. */
int arb_proc_wait(arb_proc *p, int timeout_ms);

/* Everything the child wrote so far to stdout or stderr (malloc'd,
 * NUL-terminated; free() it), or NULL. */
char *arb_proc_output(arb_proc *p, int which);

pid_t arb_proc_pid(const arb_proc *p);

/* Kills the child with SIGKILL if it still runs, reaps it, removes the
 * capture files and frees p. NULL is fine. */
void arb_proc_free(arb_proc *p);

#endif
