/* Bulk loading of a transparency log, for benchmarks and tests (not a
 * user-facing command).
 *
 * Builds, in an arbord data directory, a log of n x509 entries through the
 * log's own sequencer: arb_log_open on the data directory's store, then
 * arb_log_submit of every chain, with large batches (each one synced RocksDB
 * write batch, as in normal operation). So the stored entries, tree nodes,
 * tiles, leaf-hash and duplicate indexes, issuers, tree head and checkpoint
 * are exactly what normal add-chain submissions produce (with arbord's
 * domain index, ledger/log/domains.h, written in the same batches), and
 * arbord can serve the data directory and accept submissions afterwards.
 *
 * The leaves are real certificates (serials first_serial .. first_serial+n-1)
 * signed by `inter`, which `root` issued. Instead of running
 * arb_ct_chain_validate on each (two signature checks per entry), the loader
 * builds each chain in the form validation returns (leaf, intermediate,
 * root); every 1000th chain is also validated against `root` and must come
 * out identical. */
#ifndef ARB_TESTS_BENCH_LOG_BULK_H
#define ARB_TESTS_BENCH_LOG_BULK_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ledger/log/key.h"
#include "merkle/error.h"

typedef struct {
    const char *datadir;          /* arbord --datadir (created; must not be in use) */
    const arb_ct_signer *signer;  /* the log key arbord will be started with */
    const char *origin;           /* checkpoint origin arbord will use */
    X509 *root, *inter;           /* inter is issued by root; root is an accepted root */
    EVP_PKEY *inter_key, *leaf_key;
    long first_serial;
    long n;                       /* entries to append */
    size_t batch;                 /* entries per synced batch; 0: 4096 */
    int threads;                  /* certificate generator threads; 0: 2 */
    /* 1: each leaf i also carries the SAN dNSName "n<i>.d<i % 1000>.example.test". */
    int unique_names;
    /* 1: leave out the domain index (a log as from before the index existed;
     * arbord then indexes it at its next start). */
    int no_domain_index;
} log_bulk_config;

/* Appends n entries to the log in cfg->datadir (creating it if needed) and
 * closes it again. *tree_size gets the final tree size. Returns ARB_OK or the
 * first error (eb says which). */
arb_err log_bulk_load(const log_bulk_config *cfg, unsigned long long *tree_size, arb_errbuf *eb);

#endif
