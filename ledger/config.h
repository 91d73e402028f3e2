/* arbord's settings: command-line flags, an optional key = value config file,
 * and the helpers the program needs around them (listen addresses, the log
 * key file, the data directory lock). Kept out of main() so tests link it.
 *
 * Precedence: built-in defaults < the --config file < command-line flags.
 * The config file holds one `key = value` per line, the keys being the long
 * option names without "--" (datadir, listen, network, log-key, log-roots,
 * log-origin, log-not-after-start, log-not-after-end, log-pool-ms,
 * log-max-chain, log-max-cert, log-max-body, log-max-entries, the log policy
 * and log list keys (log-reject-expired, log-reject-unexpired,
 * log-ext-key-usages, log-reject-extensions, log-rate-limit, log-rate-burst,
 * log-url, log-monitoring-url, log-description, log-operator,
 * log-operator-email, log-mmd), log-export, store-cache-mb, chain-cache-mb, connect, the p2p-*
 * settings, the anchor-* settings, http-workers, http-limit, json, log-level,
 * log-format, access-log);
 * '#' starts a comment line; `connect` and `http-limit` may
 * repeat. See docs/arbord.md. */
#ifndef ARB_LEDGER_CONFIG_H
#define ARB_LEDGER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ledger/log/chain.h"
#include "merkle/error.h"

#define ARB_CONFIG_DEFAULT_DATADIR "arbor-data"
#define ARB_CONFIG_DEFAULT_LISTEN "127.0.0.1:7480"
#define ARB_CONFIG_MAX_CONNECT 64
/* How long a submission waits for its answer: the HTTP server's request
 * timeout, which arbord leaves at its default (arb_http_server_set_limits,
 * 30 s); a later answer is dropped. So the sequencer's pool window
 * (log-pool-ms) must be shorter. */
#define ARB_CONFIG_ANSWER_TIMEOUT_MS 30000
#define ARB_CONFIG_MAX_HTTP_LIMITS 64

enum { ARB_CONFIG_LOG_TEXT = 0, ARB_CONFIG_LOG_LOGFMT = 1, ARB_CONFIG_LOG_JSON = 2 };

typedef struct {
    char *datadir;    /* never NULL after a successful parse */
    char *listen;     /* "HOST:PORT" as given */
    char listen_host[64];
    int listen_port;  /* 0..65535; 0 picks a free port */
    char *network;    /* "main", "test" or "regtest" */
    char *log_key;    /* NULL: <datadir>/log-key.pem, generated when absent */
    char *log_roots;  /* NULL: none */
    char *log_origin; /* checkpoint origin; NULL: the log's default */
    /* notAfter shard window [start, end) in Unix seconds; both 0: no window.
     * After a successful parse either both are 0 or start < end. */
    int64_t log_not_after_start, log_not_after_end;
    unsigned log_pool_ms;   /* sequencer window, ms, below ARB_CONFIG_ANSWER_TIMEOUT_MS;
                               0: none (group commit, the default) */
    size_t store_cache_mb;  /* store block cache, MiB; 0: default (docs/store.md) */
    size_t chain_cache_mb;  /* chain state's coins cache, MiB; 0: default (docs/ledger.md) */
    size_t log_max_chain;   /* most certificates per submission; 0: default */
    size_t log_max_cert;    /* largest certificate, DER bytes; 0: default */
    size_t log_max_body;    /* largest add-chain body, bytes; 0: default */
    size_t log_max_entries; /* most entries per get-entries answer; 0: default */
    /* Submission policy (docs/log.md "Running a log in production"); SIGHUP
     * reloads these with the roots. Never both reject flags. */
    int log_reject_expired, log_reject_unexpired;
    arb_ct_oid_list log_ext_key_usages;   /* required EKUs; empty: any */
    arb_ct_oid_list log_reject_extensions; /* refused leaf extensions */
    double log_rate_limit;   /* submissions per second per client; 0: unlimited */
    unsigned log_rate_burst; /* 0: the rate rounded up */
    /* The log list (served when log_url is set); log_monitoring_url needs log_url. */
    char *log_url, *log_monitoring_url; /* http(s) URLs ending in '/' */
    char *log_description, *log_operator, *log_operator_email; /* printable ASCII */
    uint64_t log_mmd; /* seconds; 0: 86400 */
    char *log_export; /* directory the static-ct-api tree is written to; NULL: none */
    char *connect[ARB_CONFIG_MAX_CONNECT];
    size_t n_connect;
    /* Peer network (0: the default; docs/network.md). */
    unsigned p2p_max_inbound, p2p_handshake_timeout, p2p_ping_interval, p2p_timeout;
    unsigned p2p_stall_timeout_ms, p2p_discourage_time, p2p_tx_delay_ms;
    unsigned p2p_no_compact; /* 1: announce blocks by headers only (for comparisons) */
    unsigned p2p_no_outbound; /* 1: no automatic outbound peers from the address book */
    /* Self-anchoring (docs/anchoring.md): both 0 (the default) turn it off. */
    unsigned anchor_every_blocks;  /* anchor after this many new blocks; 0: not by blocks */
    uint64_t anchor_every_entries; /* anchor after this many new log entries; 0: not by entries */
    char *anchor_key;              /* NULL: <datadir>/anchor-key, created 0600 when absent */
    uint64_t anchor_fee;           /* base units per anchor transaction; 0: the default */
    /* value + 1 (0: not given, the default applies) */
    unsigned p2p_max_outbound, p2p_block_relay_outbound, p2p_feeler_interval;
    unsigned p2p_headers_timeout; /* 0: default */
    char *config_file; /* NULL: none */
    int http_workers;  /* 0: the server's default */
    char *http_limits[ARB_CONFIG_MAX_HTTP_LIMITS]; /* "NAME=VALUE" (arb_http_server_set_option) */
    size_t n_http_limits;
    int json;          /* machine-readable output on stdout */
    int log_level;     /* ARB_LOG_ERROR..ARB_LOG_DEBUG: the most verbose level printed (info) */
    int log_format;    /* ARB_CONFIG_LOG_TEXT, _LOGFMT or _JSON */
    int access_log;    /* a line per answered HTTP request */
    int help, version; /* --help / --version seen: print and exit 0 */
} arb_config;

/* Parses argv (argv[0] is the program name) and, if --config FILE is given,
 * that file, into cfg (which it first resets to the defaults). On failure cfg
 * holds no allocations and eb says why in one line:
 *   ARB_ERR_INVALID_ARG  a usage error (unknown flag, missing or bad value,
 *                        unknown key or bad line in the config file): exit 2
 *   ARB_ERR_IO           the config file cannot be read: exit 1
 *   ARB_ERR_NOMEM. */
arb_err arb_config_parse(arb_config *cfg, int argc, char *const argv[],
                         arb_errbuf *eb) ARB_WARN_UNUSED;

/* Applies the `key = value` lines read from f (named `path` in messages) on
 * top of cfg, as --config does. For tests and fuzzing; arb_config_parse is the
 * normal entry. Returns ARB_OK, ARB_ERR_INVALID_ARG (bad line), ARB_ERR_IO,
 * ARB_ERR_NOMEM; cfg may be partly updated on failure (free it as usual). */
arb_err arb_config_load_stream(arb_config *cfg, FILE *f, const char *path,
                               arb_errbuf *eb) ARB_WARN_UNUSED;

/* Frees what arb_config_parse allocated; cfg is left zeroed. NULL is fine. */
void arb_config_free(arb_config *cfg);

/* Splits "HOST:PORT" ("[v6addr]:PORT" for IPv6) into a numeric host and a
 * port 0..65535. Returns ARB_OK or ARB_ERR_INVALID_ARG. */
arb_err arb_config_split_hostport(const char *s, char *host, size_t host_cap,
                                  int *port) ARB_WARN_UNUSED;

/* The --help text (static). */
const char *arb_config_usage(void);

/* Creates `dir` (and missing parents) with mode 0700 if absent. Returns ARB_OK
 * or ARB_ERR_IO with a message. */
arb_err arb_datadir_create(const char *dir, arb_errbuf *eb) ARB_WARN_UNUSED;

/* Takes an exclusive lock on <dir>/arbord.lock (flock, released when the
 * process exits) so that two servers never share a data directory. Returns
 * ARB_OK with *fd_out the lock's descriptor, ARB_ERR_BUSY with a message naming
 * the holder's pid when another process holds it, ARB_ERR_IO otherwise. */
arb_err arb_datadir_lock(const char *dir, int *fd_out, arb_errbuf *eb) ARB_WARN_UNUSED;

#endif
