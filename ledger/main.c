/* arbord: the arbor server. Thin wiring: parse the settings, prepare the data
 * directory, open the store, load the log key, start the HTTP server with each
 * module's routes, then sleep until SIGINT/SIGTERM and shut down in order.
 *
 * Adding a module: write `static arb_err x_init(arbord *d, const unsigned *cf,
 * arb_errbuf *eb)` (and optionally `x_stop`) that calls the module's library
 * with d->http, d->store, &d->cfg, d->log_key_path and the store column
 * families it asked for (cf[i] is the store index of the module's i-th name),
 * then add a line to `modules[]` below. Init runs before the server starts
 * listening (register routes there); stop runs after the server has stopped
 * accepting and its workers are joined, in reverse order. See docs/arbord.md. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ledger/anchor/selfanchor.h"
#include "ledger/api/chainapi.h"
#include "ledger/api/namesapi.h"
#include "ledger/api/explorer.h"
#include "ledger/api/zonefileapi.h"
#include "ledger/names/zonefiles.h"
#include "ledger/api/http.h"
#include "ledger/api/metrics.h"
#include "ledger/config.h"
#include "ledger/logline.h"
#include "ledger/log/domains.h"
#include "ledger/log/service.h"
#include "ledger/logkey.h"
#include "ledger/store/store.h"
#include "p2p/node.h"

#define MAX_CFS 64
#define MAX_MODULES 16

typedef struct arbord {
    arb_config cfg;
    arb_logger log;
    arb_http_server *http;
    EVP_PKEY *log_key;           /* checked ECDSA P-256 key */
    char log_key_path[PATH_MAX + 32]; /* where it was read from (for modules that load PEM) */
    arb_store *store;
    char datadir_abs[PATH_MAX];
    int lock_fd;
    struct timespec started;
    /* Column families: every module's names, "default" first; cf_start[m] is
     * where module m's list starts in cf_names (cf_all[i] == i). */
    const char *cf_names[MAX_CFS];
    unsigned cf_all[MAX_CFS];
    size_t n_cf;
    size_t cf_start[MAX_MODULES];
    arb_chainapi *chain;
    arb_zonefiles *zonefiles;
    arb_p2p *p2p;
    arb_logline_async *access; /* --access-log: lines go to stderr from their own thread */
    arb_selfanchor *anchor; /* NULL unless --anchor-every-* */
} arbord;

typedef struct {
    const char *name;
    const char *const *cfs; /* store column families the module uses (NULL: none) */
    size_t n_cfs;
    arb_err (*init)(arbord *d, const unsigned *cf, arb_errbuf *eb);
    void (*stop)(arbord *d);
    const char *const *(*cfs_fn)(void); /* when the names come from a library (cfs NULL) */
} arbord_module;

/* ---------------------------------------------------------------- logging */

/* One line per event on stderr, at --log-level and more severe, in
 * --log-format (ledger/logline.h escapes what came from the network). */
static void log_line(const arbord *d, int level, const char *msg, const arb_logline_field *f,
                     size_t nf)
{
    char line[2048];
    size_t n = arb_logline_format(line, sizeof line, d->cfg.log_format, time(NULL), level, msg, f,
                                  nf);
    fwrite(line, 1, n, stderr);
}

static void log_stderr(void *ud, int level, const char *msg)
{
    const arbord *d = ud;
    if (level > d->cfg.log_level)
        return;
    log_line(d, level, msg, NULL, 0);
}

/* --access-log: a line per answered request. Called on the HTTP I/O thread,
 * which must never wait for stderr: the line goes into a bounded ring that
 * its own thread writes out; when the ring is full (stderr is not read) the
 * line is dropped and counted (arbor_access_log_dropped_total). */
#define ACCESS_RING_BYTES ((size_t)1 << 20)

static void access_line(void *ud, const arb_http_access *a)
{
    const arbord *d = ud;
    char status[16], bytes[32], ms[32], line[2048];
    size_t n;
    snprintf(status, sizeof status, "%d", a->status);
    snprintf(bytes, sizeof bytes, "%zu", a->bytes);
    snprintf(ms, sizeof ms, "%.3f", a->seconds * 1000.0);
    arb_logline_field f[] = {{"peer", a->peer},   {"method", a->method}, {"path", a->path},
                             {"status", status}, {"bytes", bytes},     {"ms", ms}};
    n = arb_logline_format(line, sizeof line, d->cfg.log_format, time(NULL), ARB_LOG_INFO,
                           "access", f, sizeof f / sizeof *f);
    if (!arb_logline_async_push(d->access, line, n))
        arb_metrics_counter_add(arb_http_server_metrics(d->http), "access_log_dropped", 1);
}

/* The store's synced writes, for arbor_store_sync_seconds. */
static const double store_sync_buckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                            0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                            0.5,     1,      2.5,     5,      10};

static void store_synced(void *ud, double seconds)
{
    const arbord *d = ud;
    if (d->http != NULL)
        arb_metrics_observe(arb_http_server_metrics(d->http), "store_sync_seconds", NULL, seconds);
}

/* ---------------------------------------------------------------- GET /status */

static long uptime_s(const arbord *d)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - d->started.tv_sec);
}

static arb_log_service *log_service;

static void hex32(char out[65], const uint8_t b[32])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* What /status and the --json "listening" line report: the server, the log
 * and the chain. No filesystem paths: /status answers the network. */
static json_t *status_json(const arbord *d)
{
    char listen[96], log_id[65] = "";
    arb_log_sth sth;
    arb_metrics *m = arb_http_server_metrics(d->http);
    json_t *o;

    memset(&sth, 0, sizeof sth);
    snprintf(listen, sizeof listen, strchr(d->cfg.listen_host, ':') ? "[%s]:%d" : "%s:%d",
             d->cfg.listen_host, arb_http_server_port(d->http));
    if (log_service != NULL) {
        uint8_t id[32];
        arb_log_service_log_id(log_service, id);
        hex32(log_id, id);
        arb_log_get_sth(arb_log_service_log(log_service), &sth);
    }
    o = json_pack("{s:s, s:s, s:I, s:s, s:b, s:{s:s, s:s, s:I, s:I}, s:{s:I, s:I, s:I}}",
                     "version", ARB_VERSION, "network", d->cfg.network, "uptime",
                     (json_int_t)uptime_s(d), "listen", listen, "store", d->store != NULL, "log",
                     "log_id", log_id, "origin",
                     d->cfg.log_origin ? d->cfg.log_origin : "arbor.localhost/log", "tree_size",
                     (json_int_t)sth.tree_size, "roots",
                     (json_int_t)(log_service ? arb_log_service_roots_count(log_service) : 0),
                     "chain", "height", (json_int_t)arb_metrics_value(m, "chain_height"),
                     "mempool_txs", (json_int_t)arb_metrics_value(m, "chain_mempool_txs"),
                     "mempool_bytes", (json_int_t)arb_metrics_value(m, "chain_mempool_bytes"));
    if (o != NULL && d->anchor != NULL) {
        char addr[ARB_ADDR_MAX];
        arb_selfanchor_address(d->anchor, addr);
        json_object_set_new(
            o, "anchor",
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "address", addr, "every_blocks",
                      (json_int_t)d->cfg.anchor_every_blocks, "every_entries",
                      (json_int_t)d->cfg.anchor_every_entries, "submitted",
                      (json_int_t)arb_metrics_value(m, "anchor_submitted_total"), "failures",
                      (json_int_t)arb_metrics_value(m, "anchor_failures_total"), "anchored_size",
                      (json_int_t)arb_metrics_value(m, "anchor_anchored_size")));
    }
    return o;
}

static void status_handler(void *ud, arb_http_req *req)
{
    arbord *d = ud;
    json_t *o = status_json(d);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        (void)arb_http_respond_error(req, 500, "nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, 200, NULL, "Cache-Control: no-store\r\n", text, strlen(text));
    free(text);
}

static arb_err status_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    (void)cf;
    arb_err err = arb_http_route_add(d->http, ARB_HTTP_GET, "/status", 0, status_handler, d);
    if (err != ARB_OK)
        return arb_errf(eb, err, "cannot register /status");
    return ARB_OK;
}

/* The peer network (p2p/node.h, docs/network.md): after the chain module,
 * whose hooks it installs. */
static arb_err peers_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    arb_p2p_config pc;
    (void)cf;
    memset(&pc, 0, sizeof pc);
    pc.connect = (const char *const *)d->cfg.connect;
    pc.n_connect = d->cfg.n_connect;
    pc.max_inbound = d->cfg.p2p_max_inbound;
    pc.handshake_timeout_s = d->cfg.p2p_handshake_timeout;
    pc.ping_interval_s = d->cfg.p2p_ping_interval;
    pc.idle_timeout_s = d->cfg.p2p_timeout;
    pc.stall_timeout_ms = d->cfg.p2p_stall_timeout_ms;
    pc.discourage_s = d->cfg.p2p_discourage_time;
    pc.tx_delay_ms = d->cfg.p2p_tx_delay_ms;
    pc.no_compact = d->cfg.p2p_no_compact != 0;
    pc.no_outbound = d->cfg.p2p_no_outbound != 0;
    pc.max_outbound = d->cfg.p2p_max_outbound ? d->cfg.p2p_max_outbound - 1 : 8;
    pc.block_relay_outbound =
        d->cfg.p2p_block_relay_outbound ? d->cfg.p2p_block_relay_outbound - 1 : 2;
    pc.feeler_interval_s = d->cfg.p2p_feeler_interval ? d->cfg.p2p_feeler_interval - 1 : 120;
    pc.headers_timeout_s = d->cfg.p2p_headers_timeout;
    pc.listen_port = (uint16_t)d->cfg.listen_port;
    pc.listen_host = d->cfg.listen_host;
    pc.datadir = d->datadir_abs;
    pc.zonefiles = d->zonefiles;
    pc.log = d->log;
    return arb_p2p_new(&d->p2p, d->http, d->chain, &pc, eb);
}

static void peers_stop(arbord *d)
{
    arb_p2p_free(d->p2p);
    d->p2p = NULL;
}

/* The chain: chain state, mempool, templates, /chain/v1/ routes. */
static arb_err chain_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    char mempool_file[PATH_MAX + 16];
    snprintf(mempool_file, sizeof mempool_file, "%s/mempool.dat", d->datadir_abs);
    arb_err err = arb_chainapi_start(&d->chain, d->http, d->store, cf[0], d->cfg.network, 0,
                                     mempool_file, &d->log, eb);
    if (err == ARB_OK && d->cfg.chain_cache_mb > 0) {
        arb_chainstate_set_cache(arb_chainapi_lock(d->chain), d->cfg.chain_cache_mb << 20);
        arb_chainapi_unlock(d->chain);
    }
    return err;
}

static void chain_stop(arbord *d)
{
    arb_chainapi_stop(d->chain);
    d->chain = NULL;
}

static const char *const *chain_cfs(void)
{
    return arb_chainstate_cf_names();
}

/* Zone files (ledger/names/zonefiles.h, docs/names.md): the store, its
 * routes under /names/v1/zonefile; replicated by the p2p module. After the
 * chain, which the store asks whether a hash is on chain. */

/* The store's oracle: the chain state, under the chain module's lock.
 * arb_zonefiles_scan_step asks for at most 1,000 hashes at a time, so the
 * lock is held briefly. */
static int zonefiles_onchain(void *ud, const uint8_t hash32[32])
{
    arb_chainapi *chain = ud;
    int r = arb_chainstate_zonefile_onchain(arb_chainapi_lock(chain), hash32);
    arb_chainapi_unlock(chain);
    return r;
}

static arb_err zonefiles_each(void *ud, const uint8_t *after32,
                              int (*fn)(void *fn_ud, const uint8_t hash32[32]), void *fn_ud)
{
    arb_chainapi *chain = ud;
    arb_err err = arb_chainstate_zonefile_each_after(arb_chainapi_lock(chain), after32, fn, fn_ud);
    arb_chainapi_unlock(chain);
    return err;
}

static arb_err zonefiles_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    arb_zonefiles_oracle o = {zonefiles_onchain, zonefiles_each, d->chain};
    arb_err err = arb_zonefiles_open(&d->zonefiles, d->store, cf[0], &o, eb);
    if (err != ARB_OK)
        return err;
    if ((err = arb_zonefileapi_add(d->http, d->zonefiles)) != ARB_OK)
        return arb_errf(eb, err, "cannot register the zone-file routes");
    return ARB_OK;
}

static void zonefiles_stop(arbord *d)
{
    arb_zonefiles_free(d->zonefiles);
    d->zonefiles = NULL;
}

/* Self-anchoring (ledger/anchor/selfanchor.h): when --anchor-every-blocks or
 * --anchor-every-entries is given, the log's head goes onto the chain on
 * that schedule. After "log" and "chain", whose parts it uses. */
static arb_err anchor_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    arb_selfanchor_config ac;
    char keypath[PATH_MAX + 16];
    unsigned char *der = NULL;
    int der_len;
    arb_err err;

    (void)cf;
    if (d->cfg.anchor_every_blocks == 0 && d->cfg.anchor_every_entries == 0)
        return ARB_OK;
    memset(&ac, 0, sizeof ac);
    if (d->cfg.anchor_key != NULL)
        snprintf(keypath, sizeof keypath, "%s", d->cfg.anchor_key);
    else
        snprintf(keypath, sizeof keypath, "%s/anchor-key", d->datadir_abs);
    ac.key_path = keypath;
    ac.every_blocks = d->cfg.anchor_every_blocks;
    ac.every_entries = d->cfg.anchor_every_entries;
    ac.fee = d->cfg.anchor_fee;
    der_len = i2d_PUBKEY(d->log_key, &der);
    if (der_len <= 0)
        return arb_errf(eb, ARB_ERR_CRYPTO, "cannot encode the log's public key");
    err = arb_selfanchor_start(&d->anchor, d->chain, arb_log_service_log(log_service), d->http,
                               der, (size_t)der_len, &d->log, &ac, eb);
    OPENSSL_free(der);
    return err;
}

static void anchor_stop(arbord *d)
{
    arb_selfanchor_stop(d->anchor);
    d->anchor = NULL;
}


/* The name layer's read routes (/names/v1/), over the chain module; a
 * name's "zonefile" comes from the zone-file store (started before). */
static arb_namesapi *names_api;

static arb_err names_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    (void)cf;
    arb_err err = arb_namesapi_start(&names_api, d->http, d->chain, eb);
    if (err == ARB_OK)
        arb_namesapi_set_zonefiles(names_api, d->zonefiles);
    return err;
}

static void names_stop(arbord *d)
{
    (void)d;
    arb_namesapi_free(names_api);
    names_api = NULL;
}

/* The log's domain index (ledger/log/domains.h): its column family, and
 * GET /log/v1/search. Before "log", which writes it with every entry. */
static arb_domains *domains;

static arb_err domains_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    arb_err err = arb_domains_new(&domains, d->store, cf[0]);
    if (err == ARB_OK)
        err = arb_domains_routes_add(domains, d->http);
    return err == ARB_OK ? ARB_OK : arb_errf(eb, err, "cannot set up the domain index");
}

static void domains_stop(arbord *d)
{
    (void)d;
    arb_domains_free(domains);
    domains = NULL;
}

/* The transparency log (ledger/log/service.h, docs/log.md). arbord has
 * already loaded or generated the key at d->log_key_path. */

/* The accepted roots: --log-roots, else the system's trusted roots (as
 * production logs accept the browsers' roots), else none. */
#define ARB_SYSTEM_ROOTS "/etc/ssl/certs/ca-certificates.crt"

static int system_roots_ok = -1; /* -1 not checked yet, 0 unusable, 1 usable */

/* The system's bundle is a default, not a choice: one that does not load
 * leaves the log without roots (and says why) instead of stopping arbord. */
static void check_system_roots(arbord *d)
{
    FILE *f;
    char *pem = NULL;
    size_t len = 0;
    arb_ct_roots *r = NULL;
    arb_errbuf eb;

    system_roots_ok = 0;
    if (d->cfg.log_roots != NULL || (f = fopen(ARB_SYSTEM_ROOTS, "rb")) == NULL)
        return;
    if ((pem = malloc(4 << 20)) != NULL)
        len = fread(pem, 1, 4 << 20, f);
    fclose(f);
    memset(&eb, 0, sizeof eb);
    if (pem != NULL && len > 0 && len < (4 << 20) &&
        arb_ct_roots_from_pem(&r, pem, len, &eb) == ARB_OK)
        system_roots_ok = 1;
    else
        arb_logf(&d->log, ARB_LOG_WARN, "log: cannot use the system's roots %s: %s",
                 ARB_SYSTEM_ROOTS, eb.msg[0] ? eb.msg : "unreadable or too large");
    arb_ct_roots_free(r);
    free(pem);
}

/* The log service settings from c (also for SIGHUP's reload). */
static void log_settings(arb_log_service_config *sc, const arbord *d, const arb_config *c)
{
    memset(sc, 0, sizeof *sc);
    sc->datadir = d->datadir_abs;
    sc->key_file = d->log_key_path;
    sc->roots_file = c->log_roots != NULL ? c->log_roots
                   : system_roots_ok == 1 ? ARB_SYSTEM_ROOTS : NULL;
    sc->origin = c->log_origin;
    sc->chain.max_chain_len = c->log_max_chain;
    sc->chain.max_cert_size = c->log_max_cert;
    sc->chain.not_after_start = c->log_not_after_start;
    sc->chain.not_after_end = c->log_not_after_end;
    sc->chain.reject_expired = c->log_reject_expired;
    sc->chain.reject_unexpired = c->log_reject_unexpired;
    sc->chain.ext_key_usages = c->log_ext_key_usages;
    sc->chain.reject_extensions = c->log_reject_extensions;
    sc->rate_limit = c->log_rate_limit;
    sc->rate_burst = c->log_rate_burst;
    sc->url = c->log_url;
    sc->monitoring_url = c->log_monitoring_url;
    sc->description = c->log_description;
    sc->operator_name = c->log_operator;
    sc->operator_email = c->log_operator_email;
    sc->mmd = c->log_mmd;
    sc->export_dir = c->log_export;
    sc->batch_ms = c->log_pool_ms;
    sc->max_get_entries = c->log_max_entries;
    sc->max_body = c->log_max_body;
    sc->log = d->log;
    sc->index_entry = arb_domains_index_entry; /* the domain index, in each entry's batch */
    sc->index_ud = domains;
}

static arb_err log_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    arb_log_service_config sc;

    check_system_roots(d);
    log_settings(&sc, d, &d->cfg);
    arb_err err = arb_log_service_start(&log_service, d->store, cf, d->http, &sc, eb);
    if (err != ARB_OK)
        return err;
    {
        /* A data directory from before the domain index: index what is there. */
        uint64_t n = 0;
        err = arb_domains_backfill(domains, arb_log_service_log(log_service), &n, eb);
        if (err == ARB_OK && n > 0)
            arb_logf(&d->log, ARB_LOG_INFO, "log: indexed the domains of %llu existing entries",
                     (unsigned long long)n);
        if (err != ARB_OK) { /* this module's stop will not run: undo the start */
            arb_log_service_stop(log_service);
            log_service = NULL;
            return err;
        }
    }
    if (sc.roots_file != NULL)
        arb_logf(&d->log, ARB_LOG_INFO, "log: accepting %zu roots from %s%s",
                 arb_log_service_roots_count(log_service), sc.roots_file,
                 d->cfg.log_roots == NULL ? " (the system's trusted roots; choose others with "
                                            "--log-roots FILE)"
                                          : "");
    else
        arb_logf(&d->log, ARB_LOG_WARN, "log: no roots (no --log-roots and no %s): the log "
                 "accepts no submissions", ARB_SYSTEM_ROOTS);
    return ARB_OK;
}

/* SIGHUP: reads the command line and config file again and reloads the log's
 * roots and submission policy; on any error the running ones stay. */
static void log_reload(arbord *d, int argc, char **argv)
{
    arb_config c;
    arb_log_service_config sc;
    arb_errbuf eb;

    if (log_service == NULL)
        return;
    if (arb_config_parse(&c, argc, argv, &eb) != ARB_OK) {
        arb_logf(&d->log, ARB_LOG_ERROR, "SIGHUP: settings not reloaded: %s", eb.msg);
        return;
    }
    log_settings(&sc, d, &c);
    if (arb_log_service_reload(log_service, &sc, &eb) != ARB_OK)
        arb_logf(&d->log, ARB_LOG_ERROR, "SIGHUP: log roots and policy kept (%zu roots): %s",
                 arb_log_service_roots_count(log_service), eb.msg);
    else
        arb_logf(&d->log, ARB_LOG_INFO, "SIGHUP: log roots and policy reloaded: %zu roots from %s",
                 arb_log_service_roots_count(log_service),
                 sc.roots_file != NULL ? sc.roots_file : "nowhere (no roots)");
    arb_config_free(&c);
}

static void log_stop(arbord *d)
{
    (void)d;
    arb_log_service_stop(log_service);
    log_service = NULL;
}

/* The explorer (ledger/api/explorer.h): pages at / over the log and its
 * domain index. After "log". */
static arb_explorer *explorer;

static char *explorer_peers(void *ud, int bans)
{
    return arb_p2p_snapshot_json(ud, bans);
}

static arb_err explorer_init(arbord *d, const unsigned *cf, arb_errbuf *eb)
{
    arb_explorer_config ec;
    arb_err err;
    (void)cf;
    memset(&ec, 0, sizeof ec);
    ec.log = arb_log_service_log(log_service);
    ec.domains = domains;
    ec.network = d->cfg.network;
    ec.origin = d->cfg.log_origin ? d->cfg.log_origin : "arbor.localhost/log";
    ec.chain = d->chain;
    if (d->p2p != NULL) {
        ec.peers_json = explorer_peers;
        ec.peers_ud = d->p2p;
    }
    arb_log_service_log_id(log_service, ec.log_id);
    if ((err = arb_explorer_start(&explorer, d->http, &ec)) != ARB_OK)
        return arb_errf(eb, err, "cannot register the explorer pages");
    return ARB_OK;
}

static void explorer_stop(arbord *d)
{
    (void)d;
    arb_explorer_free(explorer);
    explorer = NULL;
}

/* The modules, in start order. */
static const arbord_module modules[] = {
    {"status", NULL, 0, status_init, NULL, NULL},
    {"domains", arb_domains_cf_names, ARB_DOMAINS_CF_COUNT, domains_init, domains_stop, NULL},
    {"log", arb_log_cf_names, ARB_LOG_CF_COUNT, log_init, log_stop, NULL},
    {"chain", NULL, ARB_CHAINSTATE_NCF, chain_init, chain_stop, chain_cfs},
    {"zonefiles", NULL, ARB_ZONEFILES_CF_COUNT, zonefiles_init, zonefiles_stop,
     arb_zonefiles_cf_names},
    {"names", NULL, 0, names_init, names_stop, NULL},
    {"p2p", NULL, 0, peers_init, peers_stop, NULL},
    {"anchor", NULL, 0, anchor_init, anchor_stop, NULL},
    {"explorer", NULL, 0, explorer_init, explorer_stop, NULL},
};
#define N_MODULES (sizeof modules / sizeof *modules)
_Static_assert(N_MODULES <= MAX_MODULES, "raise MAX_MODULES");

/* Collects every module's column families (after "default"). Returns ARB_OK
 * or ARB_ERR_INTERNAL if two modules claim the same name or there are too many. */
static arb_err collect_cfs(arbord *d, arb_errbuf *eb)
{
    d->cf_names[0] = "default";
    d->n_cf = 1;
    for (size_t m = 0; m < N_MODULES; m++) {
        d->cf_start[m] = d->n_cf;
        for (size_t i = 0; i < modules[m].n_cfs; i++) {
            const char *const *names = modules[m].cfs ? modules[m].cfs : modules[m].cfs_fn();
            const char *n = names[i];
            for (size_t k = 0; k < d->n_cf; k++)
                if (strcmp(d->cf_names[k], n) == 0)
                    return arb_errf(eb, ARB_ERR_INTERNAL, "column family %s claimed twice", n);
            if (d->n_cf == MAX_CFS)
                return arb_errf(eb, ARB_ERR_INTERNAL, "too many column families");
            d->cf_names[d->n_cf] = n;
            d->cf_all[d->n_cf] = (unsigned)d->n_cf;
            d->n_cf++;
        }
    }
    return ARB_OK;
}

/* ---------------------------------------------------------------- startup */

/* Prints a one-line error (control characters from user input become '?'). */
static int fail(arbord *d, const char *msg)
{
    (void)d;
    fputs("arbord: error: ", stderr);
    for (const char *p = msg; *p; p++)
        fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, stderr);
    fputc('\n', stderr);
    return 1;
}

static arb_err open_datadir(arbord *d, arb_errbuf *eb)
{
    char *keypath = d->log_key_path;
    int generated = 0;
    arb_err err;

    if ((err = arb_datadir_create(d->cfg.datadir, eb)) != ARB_OK)
        return err;
    if (realpath(d->cfg.datadir, d->datadir_abs) == NULL)
        snprintf(d->datadir_abs, sizeof d->datadir_abs, "%s", d->cfg.datadir);
    if ((err = arb_datadir_lock(d->datadir_abs, &d->lock_fd, eb)) != ARB_OK)
        return err;
    {
        char dbdir[PATH_MAX + 8];
        arb_store_opts so;
        memset(&so, 0, sizeof so);
        so.log = d->log;
        so.on_sync = store_synced;
        so.sync_ud = d;
        so.block_cache_bytes = d->cfg.store_cache_mb << 20;
        snprintf(dbdir, sizeof dbdir, "%s/db", d->datadir_abs);
        if ((err = collect_cfs(d, eb)) != ARB_OK)
            return err;
        err = arb_store_open(&d->store, dbdir, d->cf_names, d->n_cf, &so, eb);
        if (err == ARB_ERR_BUSY)
            return arb_errf(eb, err, "data directory %s is in use by another arbord (%s)",
                            d->datadir_abs, eb->msg);
        if (err != ARB_OK)
            return err;
    }
    if (d->cfg.log_key != NULL) {
        snprintf(keypath, sizeof d->log_key_path, "%s", d->cfg.log_key);
        err = arb_logkey_load(&d->log_key, d->cfg.log_key, 0, NULL, eb);
    } else {
        snprintf(keypath, sizeof d->log_key_path, "%s/log-key.pem", d->datadir_abs);
        err = arb_logkey_load(&d->log_key, keypath, 1, &generated, eb);
        if (err == ARB_OK && generated)
            arb_logf(&d->log, ARB_LOG_INFO, "generated a new log key in %s", keypath);
    }
    if (err != ARB_OK)
        return err;
    if (d->cfg.log_roots != NULL && access(d->cfg.log_roots, R_OK) != 0)
        return arb_errf(eb, ARB_ERR_IO, "cannot read --log-roots %s: %s", d->cfg.log_roots,
                        strerror(errno));
    return ARB_OK;
}

/* The --json "listening" line: where to connect, and the /status fields.
 * (stdout is the operator's, so the data directory is named here.) */
static void print_json_event(const char *event, const arbord *d)
{
    /* "event" first: scripts match the line's start (tests/proc.h). */
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "event", event, "host",
                          d->cfg.listen_host, "port", arb_http_server_port(d->http), "network",
                          d->cfg.network, "datadir", d->datadir_abs);
    json_t *st = status_json(d);
    if (o != NULL && (st == NULL || json_object_update_missing(o, st) != 0)) {
        json_decref(o);
        o = NULL;
    }
    json_decref(st);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text != NULL) {
        printf("%s\n", text);
        fflush(stdout);
    }
    free(text);
    json_decref(o);
}

/* One info line that says what this server is: version, network, where it
 * listens, which log it runs (ID, origin, size, roots) and where its data is. */
static void startup_summary(const arbord *d)
{
    json_t *st = status_json(d);
    json_t *lg = json_object_get(st, "log"), *ch = json_object_get(st, "chain");
    char size[32], roots[32], height[32];
    const char *listen = json_string_value(json_object_get(st, "listen"));
    const char *log_id = json_string_value(json_object_get(lg, "log_id"));
    const char *origin = json_string_value(json_object_get(lg, "origin"));

    snprintf(size, sizeof size, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(lg, "tree_size")));
    snprintf(roots, sizeof roots, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(lg, "roots")));
    snprintf(height, sizeof height, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(ch, "height")));
    arb_logline_field f[] = {
        {"version", ARB_VERSION},           {"network", d->cfg.network},
        {"listen", listen ? listen : ""},   {"log_id", log_id ? log_id : ""},
        {"origin", origin ? origin : ""},   {"tree_size", size},
        {"roots", roots},                   {"chain_height", height},
        {"datadir", d->datadir_abs},        {"access_log", d->cfg.access_log ? "on" : "off"},
    };
    if (d->cfg.log_level >= ARB_LOG_INFO)
        log_line(d, ARB_LOG_INFO, "arbord started", f, sizeof f / sizeof *f);
    json_decref(st);
}

int main(int argc, char **argv)
{
    arbord d;
    arb_errbuf eb;
    arb_err err;
    sigset_t sigs;
    int sig = 0, rc = 1;
    size_t started_modules = 0;

    memset(&d, 0, sizeof d);
    d.lock_fd = -1;
    d.log.fn = log_stderr;
    d.log.ud = &d;
    clock_gettime(CLOCK_MONOTONIC, &d.started);

    err = arb_config_parse(&d.cfg, argc, argv, &eb);
    if (err != ARB_OK) {
        fprintf(stderr, "arbord: error: %s%s\n", eb.msg,
                err == ARB_ERR_INVALID_ARG ? " (see arbord --help)" : "");
        return err == ARB_ERR_INVALID_ARG ? 2 : 1;
    }
    if (d.cfg.help) {
        fputs(arb_config_usage(), stdout);
        arb_config_free(&d.cfg);
        return 0;
    }
    if (d.cfg.version) {
        if (d.cfg.json)
            printf("{\"program\":\"arbord\",\"version\":\"%s\"}\n", ARB_VERSION);
        else
            printf("arbord %s\n", ARB_VERSION);
        arb_config_free(&d.cfg);
        return 0;
    }

    /* Signals are taken by sigwait() in this thread only: block them before any
     * thread starts so every thread inherits the mask. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    /* --http-limit is the HTTP server's to check: on a scratch one, before
     * anything is touched on disk. */
    if (d.cfg.n_http_limits > 0) {
        arb_http_config hc = {"127.0.0.1", 0, 1, 0, {NULL, NULL}};
        arb_http_server *scratch = NULL;
        size_t bad = 0;
        err = arb_http_server_new(&scratch, &hc);
        if (err == ARB_OK)
            err = arb_http_server_set_options(scratch, d.cfg.http_limits, d.cfg.n_http_limits, &bad);
        arb_http_server_free(scratch);
        if (err != ARB_OK) {
            fprintf(stderr, "arbord: error: bad http-limit %s (unknown name or out of range; see "
                            "arbord --help)\n", d.cfg.http_limits[bad]);
            arb_config_free(&d.cfg);
            return 2;
        }
    }
    if ((err = open_datadir(&d, &eb)) != ARB_OK) {
        rc = fail(&d, eb.msg);
        goto out;
    }
    {
        arb_http_config hc;
        memset(&hc, 0, sizeof hc);
        hc.listen_host = d.cfg.listen_host;
        hc.port = d.cfg.listen_port;
        hc.workers = d.cfg.http_workers;
        hc.log = d.log;
        if (arb_http_server_new(&d.http, &hc) != ARB_OK) {
            rc = fail(&d, "cannot create the HTTP server");
            goto out;
        }
        {
            arb_metrics *m = arb_http_server_metrics(d.http);
            if (arb_metrics_declare(m, "store_sync_seconds", ARB_METRIC_HISTOGRAM,
                                    "Seconds each synced write of the store took (the write and "
                                    "the fsync of its write-ahead log)",
                                    NULL, store_sync_buckets,
                                    sizeof store_sync_buckets / sizeof *store_sync_buckets) !=
                    ARB_OK ||
                arb_metrics_declare(m, "access_log_dropped", ARB_METRIC_COUNTER,
                                    "Access log lines dropped because stderr did not take them "
                                    "in time (the ring of --access-log was full)",
                                    NULL, NULL, 0) != ARB_OK) {
                rc = fail(&d, "cannot declare the server's metrics");
                goto out;
            }
        }
        if (d.cfg.access_log) {
            if (!arb_logline_async_new(&d.access, STDERR_FILENO, ACCESS_RING_BYTES)) {
                rc = fail(&d, "cannot start the access log's writer");
                goto out;
            }
            arb_http_server_set_access_log(d.http, access_line, &d);
        }
        /* The chain's handlers (templates, big blocks) yield the CPU to the
         * log's; --http-limit chain-nice=0 undoes it. */
        if (arb_http_server_set_option(d.http, "chain-nice", "10") != ARB_OK ||
            arb_http_server_set_options(d.http, d.cfg.http_limits, d.cfg.n_http_limits, NULL) !=
                ARB_OK) {
            rc = fail(&d, "cannot apply the http-limit settings");
            goto out;
        }
    }
    for (; started_modules < N_MODULES; started_modules++) {
        if ((err = modules[started_modules].init(&d, &d.cf_all[d.cf_start[started_modules]],
                                                 &eb)) != ARB_OK) {
            char msg[sizeof eb.msg + 64];
            snprintf(msg, sizeof msg, "%s: %s", modules[started_modules].name, eb.msg);
            rc = fail(&d, msg);
            goto out;
        }
    }
    if ((err = arb_http_server_start(d.http, &eb)) != ARB_OK) {
        rc = fail(&d, eb.msg);
        goto out;
    }
    startup_summary(&d);
    if (d.cfg.json)
        print_json_event("listening", &d);

    while (sigwait(&sigs, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
        if (sig == SIGHUP)
            log_reload(&d, argc, argv);
    arb_logf(&d.log, ARB_LOG_INFO, "%s received, shutting down",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* Drain the log while the server still answers: new submissions get 503,
     * the pooled ones are sequenced and answered. */
    arb_log_service_drain(log_service);
    rc = 0;

out:
    /* Stop order: no new requests, then the modules (which may still answer
     * requests they hold), then free the server, then the store. */
    arb_http_server_stop(d.http);
    while (started_modules > 0) {
        started_modules--;
        if (modules[started_modules].stop)
            modules[started_modules].stop(&d);
    }
    arb_http_server_free(d.http);
    d.http = NULL; /* store_synced: no metrics from here on */
    arb_logline_async_free(d.access, 2000);
    arb_store_close(d.store);
    EVP_PKEY_free(d.log_key);
    if (rc == 0 && d.cfg.json) {
        printf("{\"event\":\"stopped\"}\n");
        fflush(stdout);
    }
    if (d.lock_fd >= 0)
        close(d.lock_fd);
    arb_config_free(&d.cfg);
    return rc;
}
