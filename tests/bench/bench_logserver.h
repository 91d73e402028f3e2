/* A bulk-loaded log served by a real arbord, for the benchmarks that read
 * it (bench_audit_catchup, bench_domain_search). The log lives in one
 * directory: log/ (arbord's data directory), key.pem, pub.pem, roots.pem,
 * and a file "loaded" once it is complete, so that a later run with the
 * same directory reuses it. */
#ifndef ARB_TESTS_BENCH_BENCH_LOGSERVER_H
#define ARB_TESTS_BENCH_BENCH_LOGSERVER_H

#include <sys/types.h>

#include "tests/testlib/http.h"

/* How the leaves are made (tests/bench/log_bulk.h). */
typedef struct {
    long first_serial; /* the first leaf certificate's serial */
    int unique_names;  /* each leaf with its own name; the figure line says "domain_index":true */
} bench_log_spec;

/* Makes the log of n entries in dir (created) unless dir holds a complete
 * one, and prints the bulk load's figure line on stdout. Returns 1, or 0
 * with a message on stderr. */
int bench_log_make(const char *dir, long n, const bench_log_spec *spec);

/* arbord serving a log. */
typedef struct {
    pid_t pid; /* 0: not running */
    int port;
} bench_server;

/* Starts bin on a free port of 127.0.0.1 with the log in dir (--datadir
 * dir/log --network regtest --log-key dir/key.pem --log-roots
 * dir/roots.pem), its stderr appended to logp and its stdout dropped, and
 * waits up to 60 s for get-sth to answer 200. Returns 1, or 0 with a message
 * on stderr (the server then stopped). */
int bench_server_start(bench_server *s, const char *bin, const char *dir, const char *logp);

/* SIGTERMs the server and reaps it; nothing when it is not running. */
void bench_server_stop(bench_server *s);

/* How to ask the server over the kept-alive handle curl (one per thread):
 * 60 s a request, no signals. */
arb_tl_http_opts bench_server_at(const bench_server *s, void *curl);

#endif
