/* The transparency log as one service for arbord: loads (or creates) the log
 * key, loads the accepted roots, opens the log on the node's store and
 * registers its HTTP routes. arbord wires it as:
 *
 *   store opened with the log's column families (arb_log_cf_names)
 *   arb_log_service_start(&svc, store, cfs, http, &cfg, &eb);
 *   arb_http_server_start(http, ...);
 *   ... SIGHUP: arb_log_service_reload(svc, &cfg, &eb) ...
 *   ... until SIGINT / SIGTERM ...
 *   arb_log_service_drain(svc);
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
    double rate_limit;      /* submissions per second per client address; 0: unlimited */
    unsigned rate_burst;    /* token bucket size; 0: the rate rounded up (at least 1) */
    /* The log's v3 log list (loglist.h), served when url is set. */
    const char *url;            /* public RFC 6962 base URL, ending in '/' */
    const char *monitoring_url; /* public static-ct-api base URL; NULL: none */
    const char *description;    /* NULL: the URL */
    const char *operator_name;  /* NULL: "arbor" */
    const char *operator_email; /* NULL: none */
    uint64_t mmd;               /* maximum merge delay promised, s; 0: 86400 */
    const char *export_dir;     /* write the static-ct-api tree here (export.h); NULL: no */
    arb_logger log;
    /* Optional index written with each entry (arb_log_config.index_entry). */
    arb_err (*index_entry)(void *ud, arb_store_batch *b, uint64_t index, const arb_ct_leaf *leaf,
                           const arb_ct_chain *chain);
    void *index_ud;
} arb_log_service_config;

typedef struct arb_log_service arb_log_service;

/* Returns ARB_OK, or ARB_ERR_IO (unreadable / unwritable key or roots file),
 * ARB_ERR_PARSE (bad key or roots, stored log signed by another key),
 * ARB_ERR_DB, ARB_ERR_NOMEM; eb says which. Call before arb_http_server_start. */
arb_err arb_log_service_start(arb_log_service **out, arb_store *store, const unsigned *cfs,
                              arb_http_server *http, const arb_log_service_config *cfg,
                              arb_errbuf *eb) ARB_WARN_UNUSED;
/* Reloads what an operator may change while the log runs (SIGHUP): the roots
 * file (cfg->roots_file, read again; NULL: no roots), the submission policy
 * (cfg->chain: shard window, expiry, EKU and extension rules, limits), the
 * rate limit and the log list. The key, origin, pool window and HTTP limits
 * are not reloaded (a restart applies them). All or nothing: on any error
 * (unreadable or bad roots file, bad log list settings) the running policy is
 * kept and eb says why. Returns ARB_OK, ARB_ERR_IO, ARB_ERR_PARSE,
 * ARB_ERR_INVALID_ARG, ARB_ERR_NOMEM. Any thread. */
arb_err arb_log_service_reload(arb_log_service *s, const arb_log_service_config *cfg,
                               arb_errbuf *eb) ARB_WARN_UNUSED;
/* For a clean stop (SIGTERM), before arb_http_server_stop: refuses new
 * submissions with 503, sequences what is pooled at once and returns when
 * every pooled submission has been answered. Reads keep working. */
void arb_log_service_drain(arb_log_service *s);
/* How many roots the log accepts now (0: none). Any thread. */
size_t arb_log_service_roots_count(const arb_log_service *s);
/* The log itself (for tests and metrics). */
arb_log *arb_log_service_log(arb_log_service *s);
/* The log ID (SHA-256 of the key's SubjectPublicKeyInfo), for arbord's
 * startup summary (the roots: arb_log_service_roots_count). */
void arb_log_service_log_id(const arb_log_service *s, uint8_t out32[static 32]);
/* Stops the sequencer and frees everything; call after arb_http_server_stop. */
void arb_log_service_stop(arb_log_service *s);

#endif
