/* What the benchmarks that drive arbord processes share: a monotonic clock,
 * arbord started on a chosen port (so that the others can be told to
 * --connect to it before it runs), and a hex body POSTed with the answer
 * shown when it is not 200. HTTP itself is tests/testlib/http.h; files are
 * written with tests/test.h's arb_test_write_file. */
#ifndef ARB_TESTS_BENCH_BENCH_NODE_H
#define ARB_TESTS_BENCH_BENCH_NODE_H

#include <stddef.h>
#include <stdio.h>

#include "merkle/buf.h"
#include "tests/proc.h"
#include "tests/testlib/http.h"

/* Reports where a step failed and ends the benchmark (from main). */
#define BENCH_FAIL()                                                                               \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: a step failed\n", __FILE__, __LINE__);                              \
        return 1;                                                                                  \
    } while (0)

/* Seconds on CLOCK_MONOTONIC. */
double bench_now_s(void);

/* Starts arbord (from ARB_BIN) with --datadir dir --listen 127.0.0.1:port
 * --json --network regtest and then extra (NULL-terminated; NULL for none;
 * at most 40), and waits up to 30 s for it to listen there. Exits the
 * program with status 1 and a message when it does not. */
arb_proc *bench_arbord_at(const char *dir, int port, const char *const extra[]);

/* How the benchmark's main thread asks arbord on port: 60 s a request, over
 * one curl handle kept alive between requests (made at the first call;
 * bench_http_done frees it). */
arb_tl_http_opts bench_at(int port);
void bench_http_done(void);

/* POSTs {"hex":"<raw>"} to path; when the answer is not 200, prints the
 * path, the status and the answer to stderr. Returns the status. */
long bench_post_hex(arb_tl_http_opts o, const char *path, const arb_buf *raw);

#endif
