/* A CT log to serve in integration tests and benchmarks: a test CA (a root
 * and an intermediate under it, tests/unit/log/pki.h), a key for the leaves,
 * a fresh log key, and the files arbord is started with, key.pem, pub.pem and
 * roots.pem, in one directory. Its entries are then bulk-loaded
 * (tests/bench/log_bulk.h). */
#ifndef ARB_TESTS_TESTLIB_TESTLOG_H
#define ARB_TESTS_TESTLIB_TESTLOG_H

#include <stddef.h>

#include "ledger/log/key.h"
#include "tests/bench/log_bulk.h"
#include "tests/unit/log/pki.h"

typedef struct {
    EVP_PKEY *root_key, *inter_key, *leaf_key;
    X509 *root, *inter;
    arb_ct_signer *signer;
    char *pub;      /* the log's public key, PEM */
    size_t pub_len;
    char keyp[800], pubp[800], rootsp[800]; /* dir/key.pem, dir/pub.pem, dir/roots.pem */
} arb_tl_log;

/* Makes the CA (valid from a day ago, the root for ten years, the
 * intermediate for one) and the log key, and writes the three files into dir
 * (which must exist). Returns 1, or 0 with a message on stderr; either way
 * arb_tl_log_free cleans up. */
int arb_tl_log_make(arb_tl_log *l, const char *dir);

/* bc for a bulk load of n entries into datadir, signed by l's key with
 * arbord's default origin, leaves issued by l's intermediate with serials
 * from first_serial; every other field 0 (the defaults). */
void arb_tl_log_bulk(const arb_tl_log *l, log_bulk_config *bc, const char *datadir,
                     long first_serial, long n);

/* Frees what arb_tl_log_make made (not the files). */
void arb_tl_log_free(arb_tl_log *l);

#endif
