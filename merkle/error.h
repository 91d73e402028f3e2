/* The project's one error type and the logging callback shared by every library.
 *
 * Every fallible function in arbor returns an arb_err; ARB_OK is zero so that
 * `if ((err = f(...)) != ARB_OK) goto out;` reads naturally. A human-readable
 * detail, where a function can give one, goes into a caller-supplied arb_errbuf
 * or onto the context object the function works on. */
#ifndef ARB_MERKLE_ERROR_H
#define ARB_MERKLE_ERROR_H

#include <stddef.h>

typedef enum arb_err {
    ARB_OK = 0,
    ARB_ERR_PARSE,       /* malformed input: bad encoding, trailing bytes, out of range */
    ARB_ERR_VERIFY,      /* well-formed input that fails a check (proof, signature, rule) */
    ARB_ERR_NOT_FOUND,   /* the thing asked for does not exist */
    ARB_ERR_IO,          /* file system or operating-system failure */
    ARB_ERR_DB,          /* storage engine failure (RocksDB) */
    ARB_ERR_NET,         /* network failure */
    ARB_ERR_CRYPTO,      /* a crypto library call failed unexpectedly */
    ARB_ERR_NOMEM,       /* allocation failed */
    ARB_ERR_INVALID_ARG, /* the caller passed arguments outside the documented range */
    ARB_ERR_INTERNAL,    /* an invariant broke: a bug */
    ARB_ERR_EXISTS,      /* the thing to create already exists (duplicate) */
    ARB_ERR_BUSY,        /* the resource is held by someone else (e.g. a locked data directory) */
    ARB_ERR__COUNT
} arb_err;

/* Returns a static, lowercase, one-phrase description of err ("parse error").
 * Never returns NULL; unknown values give "unknown error". */
const char *arb_err_str(arb_err err);

/* A fixed buffer for a one-line human-readable detail ("block 12: high-hash"). */
#define ARB_ERRBUF_SIZE 256
typedef struct {
    char msg[ARB_ERRBUF_SIZE];
} arb_errbuf;

/* Formats into eb (if eb is non-NULL) and returns err, so that
 * `return arb_errf(eb, ARB_ERR_PARSE, "bad length %zu", n);` works. */
arb_err arb_errf(arb_errbuf *eb, arb_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Log levels for arb_log_fn. */
enum { ARB_LOG_ERROR = 0, ARB_LOG_WARN = 1, ARB_LOG_INFO = 2, ARB_LOG_DEBUG = 3 };

/* Libraries never print: they report through this callback, which a program wires
 * to stderr. `msg` is one line without a trailing newline. */
typedef void (*arb_log_fn)(void *ud, int level, const char *msg);

typedef struct {
    arb_log_fn fn; /* NULL: discard */
    void *ud;
} arb_logger;

/* Formats a line and passes it to lg->fn (does nothing if lg or lg->fn is NULL). */
void arb_logf(const arb_logger *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ARB_WARN_UNUSED __attribute__((warn_unused_result))

#endif
