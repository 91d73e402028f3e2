/* The transparency log as one service for arbord: loads (or creates) the log
 * key, loads the accepted roots, opens the log on the node's store and
 * registers its HTTP routes. arbord wires it as:
 *
 *   store opened with the log's column families (arb_log_cf_names)
 *   arb_log_service_start(&svc, store, cfs, http, &cfg, &eb);
 *   arb_http_server_start(http, ...);
 *   ... until SIGINT / SIGTERM ...
 *   arb_http_server_stop(http);
 *   arb_log_service_stop(svc);
 *   arb_store_close(store);
 */
#ifndef ARB_LEDGER_LOG_SERVICE_H
#define ARB_LEDGER_LOG_SERVICE_H

#include "ledger/api/http.h"
#include "ledger/log/chain.h"
#include "ledger/log/log.h"
#include "ledger/store/store.h"
#include "merkle/error.h"

typedef struct {
    const char *datadir;    /* the node's data directory */
    const char *key_file;   /* --log-key; NULL: <datadir>/log-key.pem, generated (mode 0600) if absent */
    const char *roots_file; /* --log-roots PEM bundle; NULL: accept no submissions */
    const char *origin;     /* checkpoint origin; NULL: "arbor.localhost/log" */
    arb_ct_chain_opts chain; /* submission limits and notAfter window (zeros: defaults) */
    unsigned batch_ms;      /* sequencer pool window, ms; 0: none (group commit) */
    size_t max_get_entries; /* most entries per get-entries answer; 0: 256 */
    size_t max_body;        /* largest add-chain body, bytes; 0: 1 MiB */
    arb_logger log;
    /* Optional index written with each entry (arb_log_config.index_entry). */
    arb_err (*index_entry)(void *ud, arb_store_batch *b, uint64_t index, const arb_ct_leaf *leaf);
    void *index_ud;
} arb_log_service_config;

typedef struct arb_log_service arb_log_service;

/* Returns ARB_OK, or ARB_ERR_IO (unreadable / unwritable key or roots file),
 * ARB_ERR_PARSE (bad key or roots, stored log signed by another key),
 * ARB_ERR_DB, ARB_ERR_NOMEM; eb says which. Call before arb_http_server_start. */
arb_err arb_log_service_start(arb_log_service **out, arb_store *store, const unsigned *cfs,
                              arb_http_server *http, const arb_log_service_config *cfg,
                              arb_errbuf *eb) ARB_WARN_UNUSED;
/* The log itself (for tests and metrics). */
arb_log *arb_log_service_log(arb_log_service *s);
/* The number of accepted roots loaded, and the log ID (SHA-256 of the key's
 * SubjectPublicKeyInfo), for arbord's startup summary. */
size_t arb_log_service_roots(const arb_log_service *s);
void arb_log_service_log_id(const arb_log_service *s, uint8_t out32[static 32]);
/* Stops the sequencer and frees everything; call after arb_http_server_stop. */
void arb_log_service_stop(arb_log_service *s);

#endif
