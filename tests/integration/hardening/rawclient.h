/* A small raw HTTP/1.1 client for tests and benchmarks that attack or time
 * a server over loopback: connections from any 127.0.0.x source address (to
 * stand for different hosts), whole writes, and answers split by their
 * Content-Length. No libcurl, so a test controls every byte and every pause. */
#ifndef ARB_TESTS_RAWCLIENT_H
#define ARB_TESTS_RAWCLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* Connects to 127.0.0.1:port from 127.0.0.<host> (host 0 or 1: any).
 * Returns the fd or -1. */
int raw_dial(int host, int port);
/* Sends all n bytes. Returns 1, or 0 if the connection failed. */
int raw_send(int fd, const void *p, size_t n);
int raw_send_str(int fd, const char *s);
/* Reads until `want` whole answers are in (0: until the peer closes), or ms
 * without a byte. Returns a NUL-terminated malloc'd buffer; *len its length
 * (may be NULL), *closed whether the peer closed (may be NULL). */
char *raw_read(int fd, int want, int ms, size_t *len, int *closed);
/* Splits buf into answers: fills st[] with statuses and at[] (may be NULL)
 * with where each starts; returns how many whole answers there are. */
int raw_answers(const char *buf, size_t len, int *st, const char **at, int max);
/* One request on a fresh connection with Connection: close. Returns the
 * status (the body, NUL-terminated, in *body if not NULL; free it) or -1. */
int raw_request(int host, int port, const char *method, const char *path, const void *body,
                size_t blen, int ms, char **body_out);
/* Resident and peak resident memory of a process, KiB (from /proc), or -1. */
long raw_rss_kb(pid_t pid, int peak);
/* Milliseconds on the monotonic clock. */
long long raw_now_ms(void);

#endif
