#include "tests/testlib/wallet.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/proc.h"

void arb_tl_wallet_argv(const char *argv[static 40], const char *bin, const char *node_url,
                        const char *const *args)
{
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--node";
    argv[n++] = node_url;
    argv[n++] = "--json";
    for (; *args != NULL && n < 39; args++)
        argv[n++] = *args;
    argv[n] = NULL;
}

int arb_tl_wallet(const char *bin, const char *node_url, const char *const *args,
                  int timeout_ms, json_t **out, char *err, size_t err_cap)
{
    const char *argv[40];
    char *o, *e;
    int rc;

    arb_tl_wallet_argv(argv, bin, node_url, args);
    if (out != NULL)
        *out = NULL;
    rc = arb_proc_run(argv, timeout_ms, &o, &e);
    snprintf(err, err_cap, "%s", e != NULL ? e : "");
    if (out != NULL && o != NULL)
        *out = json_loads(o, JSON_DECODE_ANY, NULL);
    free(o);
    free(e);
    return rc;
}
