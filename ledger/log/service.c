/* The log service for arbord. See service.h. */
#include "ledger/log/service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ledger/log/export.h"
#include "ledger/log/key.h"
#include "ledger/log/loglist.h"
#include "ledger/log/logstats.h"
#include "ledger/log/routes.h"

#define DEFAULT_ORIGIN "arbor.localhost/log"
#define MAX_FILE (4 * 1024 * 1024)

struct arb_log_service {
    arb_ct_signer *signer;
    arb_log *log;
    arb_log_export *export; /* NULL: no export directory */
    arb_log_routes *routes;
    arb_log_stats *stats;
};

/* Reads a whole (small) file. ARB_ERR_NOT_FOUND if it does not exist. */
static arb_err read_file(const char *path, char **out, size_t *len, arb_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    *out = NULL;
    *len = 0;
    if (f == NULL) {
        if (errno == ENOENT)
            return arb_errf(eb, ARB_ERR_NOT_FOUND, "%s: no such file", path);
        return arb_errf(eb, ARB_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if ((buf = malloc(MAX_FILE + 1)) == NULL) {
        fclose(f);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    n = fread(buf, 1, MAX_FILE + 1, f);
    if (ferror(f) || n > MAX_FILE) {
        fclose(f);
        free(buf);
        return arb_errf(eb, ARB_ERR_IO, "%s: unreadable or larger than %d bytes", path, MAX_FILE);
    }
    fclose(f);
    buf[n] = 0;
    *out = buf;
    *len = n;
    return ARB_OK;
}

/* fsyncs the directory holding `path`, so a newly created file's entry is
 * durable. ARB_OK or ARB_ERR_IO. */
static arb_err sync_dir_of(const char *path, arb_errbuf *eb)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
    int fd, e = 0;

    if (n >= sizeof(dir))
        return arb_errf(eb, ARB_ERR_IO, "path too long: %s", path);
    if (n == 0) {
        dir[0] = '.';
        n = 1;
    } else {
        memcpy(dir, path, n);
    }
    dir[n] = 0;
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return arb_errf(eb, ARB_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    if (fsync(fd) != 0)
        e = errno;
    close(fd);
    if (e != 0)
        return arb_errf(eb, ARB_ERR_IO, "cannot sync directory %s: %s", dir, strerror(e));
    return ARB_OK;
}

/* Writes a new private key file with mode 0600 (O_EXCL: never overwrites),
 * then makes the file and its directory entry durable before the key is
 * used. */
static arb_err write_key(const char *path, const char *pem, size_t len, arb_errbuf *eb)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    size_t off = 0;

    if (fd < 0)
        return arb_errf(eb, ARB_ERR_IO, "%s: %s", path, strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, pem + off, len - off);
        if (w <= 0) {
            close(fd);
            unlink(path);
            return arb_errf(eb, ARB_ERR_IO, "%s: %s", path, strerror(errno));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(path);
        return arb_errf(eb, ARB_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (sync_dir_of(path, eb) != ARB_OK) {
        unlink(path);
        return ARB_ERR_IO;
    }
    return ARB_OK;
}

static arb_err load_key(arb_ct_signer **out, const arb_log_service_config *cfg, arb_errbuf *eb)
{
    char path[4096], *pem = NULL;
    size_t len = 0;
    arb_err err;

    if (cfg->key_file != NULL)
        snprintf(path, sizeof(path), "%s", cfg->key_file);
    else if (cfg->datadir != NULL)
        snprintf(path, sizeof(path), "%s/log-key.pem", cfg->datadir);
    else
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "log: no key file and no data directory");
    err = read_file(path, &pem, &len, eb);
    if (err == ARB_ERR_NOT_FOUND && cfg->key_file == NULL) {
        /* First start: generate the log key into the data directory. */
        if ((err = arb_ct_signer_generate(out, eb)) != ARB_OK)
            return err;
        if ((err = arb_ct_signer_private_pem(*out, &pem, &len)) != ARB_OK ||
            (err = write_key(path, pem, len, eb)) != ARB_OK) {
            arb_ct_signer_free(*out);
            *out = NULL;
        } else {
            arb_logf(&cfg->log, ARB_LOG_INFO, "log: generated a new log key in %s", path);
        }
        if (pem != NULL)
            OPENSSL_cleanse(pem, len);
        free(pem);
        return err;
    }
    if (err != ARB_OK)
        return err;
    err = arb_ct_signer_from_pem(out, pem, len, eb);
    OPENSSL_cleanse(pem, len);
    free(pem);
    if (err != ARB_OK) {
        char msg[ARB_ERRBUF_SIZE];
        snprintf(msg, sizeof(msg), "%s", eb ? eb->msg : "");
        return arb_errf(eb, err, "%s: %s", path, msg);
    }
    return ARB_OK;
}

/* Loads the roots file (NULL: no roots, *out NULL). */
static arb_err load_roots(arb_ct_roots **out, const char *file, arb_errbuf *eb)
{
    char *pem = NULL;
    size_t len;
    arb_err err;

    *out = NULL;
    if (file == NULL)
        return ARB_OK;
    if ((err = read_file(file, &pem, &len, eb)) != ARB_OK)
        return err == ARB_ERR_NOT_FOUND ? ARB_ERR_IO : err;
    err = arb_ct_roots_from_pem(out, pem, len, eb);
    free(pem);
    if (err != ARB_OK) {
        char msg[ARB_ERRBUF_SIZE];
        snprintf(msg, sizeof(msg), "%s", eb ? eb->msg : "");
        return arb_errf(eb, err, "%s: %s", file, msg);
    }
    return ARB_OK;
}

/* The log list text for cfg (NULL without a URL). */
static arb_err build_log_list(char **out, const arb_ct_signer *signer,
                              const arb_log_service_config *cfg, arb_errbuf *eb)
{
    arb_ct_loglist_info li;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    arb_err err;

    *out = NULL;
    if (cfg->url == NULL)
        return ARB_OK;
    if ((err = arb_ct_signer_spki(signer, &spki, &spki_len)) != ARB_OK)
        return arb_errf(eb, err, "log: cannot encode the public key");
    memset(&li, 0, sizeof(li));
    li.spki = spki;
    li.spki_len = spki_len;
    li.description = cfg->description;
    li.operator_name = cfg->operator_name;
    li.operator_email = cfg->operator_email;
    li.url = cfg->url;
    li.monitoring_url = cfg->monitoring_url;
    li.mmd = cfg->mmd ? cfg->mmd : 86400;
    li.not_after_start = cfg->chain.not_after_start;
    li.not_after_end = cfg->chain.not_after_end;
    li.timestamp = (int64_t)time(NULL);
    err = arb_ct_loglist_json(out, &li, eb);
    free(spki);
    return err;
}

arb_err arb_log_service_start(arb_log_service **out, arb_store *store, const unsigned *cfs,
                              arb_http_server *http, const arb_log_service_config *cfg,
                              arb_errbuf *eb)
{
    arb_log_service *s;
    arb_log_config lc;
    arb_log_routes_config rc;
    arb_ct_roots *roots = NULL;
    char *log_list = NULL;
    arb_err err;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if ((err = load_key(&s->signer, cfg, eb)) != ARB_OK)
        goto fail;
    if ((err = load_roots(&roots, cfg->roots_file, eb)) != ARB_OK)
        goto fail;
    if ((err = build_log_list(&log_list, s->signer, cfg, eb)) != ARB_OK)
        goto fail;
    memset(&lc, 0, sizeof(lc));
    lc.store = store;
    lc.cfs = cfs;
    lc.signer = s->signer;
    lc.origin = cfg->origin ? cfg->origin : DEFAULT_ORIGIN;
    lc.batch_ms = cfg->batch_ms;
    lc.submit_inline = 1; /* the HTTP worker sequences a lone submission itself */
    lc.log = cfg->log;
    if ((err = arb_log_stats_new(&s->stats, arb_http_server_metrics(http), &cfg->log, 0)) !=
        ARB_OK) {
        arb_errf(eb, err, "out of memory");
        goto fail;
    }
    lc.on_batch = arb_log_stats_batch;
    lc.index_entry = cfg->index_entry;
    lc.index_ud = cfg->index_ud;
    lc.batch_ud = s->stats;
    if ((err = arb_log_open(&s->log, &lc, eb)) != ARB_OK)
        goto fail;
    {
        arb_log_sth sth;
        arb_log_get_sth(s->log, &sth);
        arb_metrics_gauge_set(arb_http_server_metrics(http), "log_tree_size",
                              (int64_t)sth.tree_size);
    }
    memset(&rc, 0, sizeof(rc));
    rc.log = s->log;
    rc.roots = roots; /* the routes own them now, also on failure */
    roots = NULL;
    rc.chain = cfg->chain;
    rc.rate_limit = cfg->rate_limit;
    rc.rate_burst = cfg->rate_burst;
    rc.max_get_entries = cfg->max_get_entries;
    rc.max_body = cfg->max_body;
    rc.log_list = log_list;
    if ((err = arb_log_routes_add(&s->routes, http, &rc)) != ARB_OK) {
        arb_errf(eb, err, "log: cannot register the HTTP routes");
        goto fail;
    }
    free(log_list);
    log_list = NULL;
    if (cfg->export_dir != NULL &&
        (err = arb_log_export_start(&s->export, s->log, cfg->export_dir, cfg->log, eb)) != ARB_OK)
        goto fail;
    *out = s;
    return ARB_OK;
fail:
    arb_ct_roots_free(roots);
    free(log_list);
    arb_log_service_stop(s);
    return err;
}

arb_err arb_log_service_reload(arb_log_service *s, const arb_log_service_config *cfg,
                               arb_errbuf *eb)
{
    arb_ct_roots *roots = NULL;
    char *log_list = NULL;
    arb_err err;

    if ((err = load_roots(&roots, cfg->roots_file, eb)) != ARB_OK)
        return err;
    if ((err = build_log_list(&log_list, s->signer, cfg, eb)) != ARB_OK) {
        arb_ct_roots_free(roots);
        return err;
    }
    err = arb_log_routes_set_policy(s->routes, roots, &cfg->chain, cfg->rate_limit,
                                    cfg->rate_burst, log_list);
    free(log_list);
    if (err != ARB_OK)
        return arb_errf(eb, err, "log: out of memory");
    return ARB_OK;
}

size_t arb_log_service_roots_count(const arb_log_service *s)
{
    return s != NULL ? arb_log_routes_roots_count(s->routes) : 0;
}

void arb_log_service_drain(arb_log_service *s)
{
    if (s == NULL)
        return;
    (void)arb_log_routes_drain(s->routes);
    arb_log_drain(s->log);
}

arb_log *arb_log_service_log(arb_log_service *s)
{
    return s->log;
}

void arb_log_service_log_id(const arb_log_service *s, uint8_t out32[static 32])
{
    arb_ct_signer_log_id(s->signer, out32);
}

void arb_log_service_stop(arb_log_service *s)
{
    if (s == NULL)
        return;
    arb_log_export_stop(s->export); /* writes the last tree head first */
    arb_log_close(s->log);
    arb_log_stats_free(s->stats);
    arb_log_routes_free(s->routes);
    arb_ct_signer_free(s->signer);
    free(s);
}
