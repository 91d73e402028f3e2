#include "merkle/error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const names[ARB_ERR__COUNT] = {
    [ARB_OK] = "ok",
    [ARB_ERR_PARSE] = "parse error",
    [ARB_ERR_VERIFY] = "verification failed",
    [ARB_ERR_NOT_FOUND] = "not found",
    [ARB_ERR_IO] = "i/o error",
    [ARB_ERR_DB] = "database error",
    [ARB_ERR_NET] = "network error",
    [ARB_ERR_CRYPTO] = "crypto library error",
    [ARB_ERR_NOMEM] = "out of memory",
    [ARB_ERR_INVALID_ARG] = "invalid argument",
    [ARB_ERR_INTERNAL] = "internal error",
    [ARB_ERR_EXISTS] = "already exists",
    [ARB_ERR_BUSY] = "resource busy",
};

const char *arb_err_str(arb_err err)
{
    if ((unsigned)err >= ARB_ERR__COUNT || names[err] == NULL)
        return "unknown error";
    return names[err];
}

arb_err arb_errf(arb_errbuf *eb, arb_err err, const char *fmt, ...)
{
    if (eb != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
        va_end(ap);
    }
    return err;
}

void arb_logf(const arb_logger *lg, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (lg == NULL || lg->fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    lg->fn(lg->ud, level, line);
}
