/* arbor-wallet run by integration tests against a node, with its --json
 * output read back. */
#ifndef ARB_TESTS_TESTLIB_WALLET_H
#define ARB_TESTS_TESTLIB_WALLET_H

#include <jansson.h>
#include <stddef.h>

/* Fills argv[0..40) with `bin --node node_url --json args...` (args
 * NULL-terminated; the first 35 taken) and a NULL. */
void arb_tl_wallet_argv(const char *argv[static 40], const char *bin, const char *node_url,
                        const char *const *args);

/* Runs `bin --node node_url --json args...` (args NULL-terminated, at most
 * 35) to its end, waiting up to timeout_ms. Returns its exit status as
 * arb_proc_run does (-1: not started, or timed out); *out (when out is not
 * NULL) is its stdout parsed as JSON (any value; NULL when there is none or
 * it is not JSON) and err[0..err_cap) the start of its stderr. */
int arb_tl_wallet(const char *bin, const char *node_url, const char *const *args,
                  int timeout_ms, json_t **out, char *err, size_t err_cap);

#endif
