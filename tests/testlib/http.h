/* HTTP to a local arbord for integration tests and benchmarks: one GET or
 * POST to http://127.0.0.1:PORT/... (or another local address), the answer
 * as text or as JSON, a hex body POSTed the way the chain routes want it
 * ({"hex":"..."}), small JSON accessors, a Prometheus metric read from
 * /metrics, and the start and end of a test that runs arbord.
 *
 *   arb_tl_http_opts o = {.port = port, .timeout_s = 30};   // passed by value
 *   json_t *j = NULL;
 *   if (arb_tl_http_json(o, "/chain/v1/tip", NULL, &j) == 200) ...
 *   json_decref(j);
 *
 * A call makes its own curl handle unless the options name one to reuse, so
 * the functions are thread-safe once curl_global_init has run (a reused
 * handle belongs to one thread). Statuses are HTTP codes; 0 means no answer
 * (refused, reset, timed out). */
#ifndef ARB_TESTS_TESTLIB_HTTP_H
#define ARB_TESTS_TESTLIB_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum {
    ARB_TL_HTTP_PATH_AS_IS = 1, /* send the path as written ("/a/../b" stays) */
    ARB_TL_HTTP_NOSIGNAL = 2,   /* CURLOPT_NOSIGNAL: no SIGALRM for timeouts */
};

/* Where and how to ask; fields left out of an initializer are 0 / NULL. */
typedef struct {
    int port;           /* the server listens on port (of 127.0.0.1 or host) */
    const char *header; /* one more request header line ("Authorization: ..."), or NULL */
    long timeout_s;     /* the whole request's timeout in seconds; 0 means 60 */
    unsigned flags;     /* ARB_TL_HTTP_* */
    const char *host;   /* the address to ask instead of 127.0.0.1, or NULL */
    void *curl;         /* a curl easy handle to reuse (reset before each request;
                         * its connections are kept alive), or NULL for a fresh one */
} arb_tl_http_opts;

/* The start of a test that runs arbord: the program's path (ARB_BIN, see
 * tests/test.h) in bin[0..bin_cap), which must be executable, the test's
 * temporary directory in tmp[0..tmp_cap), and curl initialised. Returns 1,
 * or 0 with a message on stderr (the test then exits with status 1). */
int arb_tl_begin(char *bin, size_t bin_cap, char *tmp, size_t tmp_cap);

/* The end of such a test: curl cleaned up, tmp removed. Returns
 * arb_test_done()'s exit status. */
int arb_tl_end(const char *tmp);

/* GET path (body NULL) or POST body as application/json. Returns the status
 * (0: no answer). When text is not NULL, *text is the response body
 * (malloc'd and NUL-terminated; free() it), or NULL when the body was empty
 * or memory ran out. */
long arb_tl_http(arb_tl_http_opts o, const char *path, const char *body, char **text);

/* As arb_tl_http, and when headers is not NULL the response's header lines
 * in *headers (malloc'd and NUL-terminated, or NULL; free() it). */
long arb_tl_http_headers(arb_tl_http_opts o, const char *path, const char *body, char **text,
                         char **headers);

/* A response body: data[0..len) and a NUL after it; data NULL when empty. */
typedef struct {
    char *data;
    size_t len;
} arb_tl_body;

/* GET (post NULL) or POST of post[0..plen) as it is, with no Content-Type
 * of its own (curl's default). Returns the status; the answer in *out,
 * zeroed first (free(out->data)). */
long arb_tl_http_raw(arb_tl_http_opts o, const char *path, const void *post, size_t plen,
                     arb_tl_body *out);

/* As arb_tl_http, with the body parsed as JSON into *out when out is not
 * NULL (NULL when the body is empty or not JSON; json_decref it). */
long arb_tl_http_json(arb_tl_http_opts o, const char *path, const char *body,
                      json_t **out);

/* As arb_tl_http_json, but the answer only when the status is 200 (NULL
 * otherwise, and when it is not JSON). */
json_t *arb_tl_json_200(arb_tl_http_opts o, const char *path, const char *body);

/* POSTs {"hex":"<d[0..n) in hex>"} to path; returns the status and the
 * answer's JSON as arb_tl_http_json. Aborts if memory runs out. */
long arb_tl_post_hex(arb_tl_http_opts o, const char *path, const uint8_t *d, size_t n,
                     json_t **out);

/* The string member k of object j, or "" when it is missing or not a
 * string. Borrowed from j. */
const char *arb_tl_jstr(json_t *j, const char *k);

/* The integer member k of object j, or 0. */
int64_t arb_tl_jint(json_t *j, const char *k);

/* hex decoded into a malloc'd array (its length in *len), or NULL when hex is
 * NULL or not hex. */
uint8_t *arb_tl_unhex(const char *hex, size_t *len);

/* The value of the sample `name` (the whole name, such as
 * "arbor_p2p_blocks_relayed_total") in a Prometheus text exposition: the
 * first line that starts with name followed by a space. Returns 1 and sets
 * *v, or 0 when there is no such line. */
int arb_tl_metric_parse(const char *text, const char *name, long long *v);

/* GETs /metrics and reads the sample `name` as arb_tl_metric_parse does.
 * Returns 1 and sets *v, or 0 with *v = 0 when the answer is not 200 or has
 * no such sample. */
int arb_tl_metric(arb_tl_http_opts o, const char *name, long long *v);

#endif
