/* The log service for arbord. See service.h. */
#include "ledger/log/service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ledger/log/key.h"
#include "ledger/log/logstats.h"
#include "ledger/log/routes.h"

#define DEFAULT_ORIGIN "arbor.localhost/log"
#define MAX_FILE (4 * 1024 * 1024)

struct arb_log_service {
    arb_ct_signer *signer;
    arb_ct_roots *roots;
    arb_log *log;
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

/* Writes a new private key file with mode 0600 (O_EXCL: never overwrites). */
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

arb_err arb_log_service_start(arb_log_service **out, arb_store *store, const unsigned *cfs,
                              arb_http_server *http, const arb_log_service_config *cfg,
                              arb_errbuf *eb)
{
    arb_log_service *s;
    arb_log_config lc;
    arb_log_routes_config rc;
    arb_err err;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if ((err = load_key(&s->signer, cfg, eb)) != ARB_OK)
        goto fail;
    if (cfg->roots_file != NULL) {
        char *pem = NULL;
        size_t len;
        if ((err = read_file(cfg->roots_file, &pem, &len, eb)) != ARB_OK) {
            if (err == ARB_ERR_NOT_FOUND)
                err = ARB_ERR_IO;
            goto fail;
        }
        err = arb_ct_roots_from_pem(&s->roots, pem, len, eb);
        free(pem);
        if (err != ARB_OK)
            goto fail;
    }
    memset(&lc, 0, sizeof(lc));
    lc.store = store;
    lc.cfs = cfs;
    lc.signer = s->signer;
    lc.origin = cfg->origin ? cfg->origin : DEFAULT_ORIGIN;
    lc.batch_ms = cfg->batch_ms;
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
    rc.roots = s->roots;
    rc.chain = cfg->chain;
    rc.max_get_entries = cfg->max_get_entries;
    rc.max_body = cfg->max_body;
    if ((err = arb_log_routes_add(&s->routes, http, &rc)) != ARB_OK) {
        arb_errf(eb, err, "log: cannot register the HTTP routes");
        goto fail;
    }
    *out = s;
    return ARB_OK;
fail:
    arb_log_service_stop(s);
    return err;
}

arb_log *arb_log_service_log(arb_log_service *s)
{
    return s->log;
}

size_t arb_log_service_roots(const arb_log_service *s)
{
    return s->roots ? arb_ct_roots_count(s->roots) : 0;
}

void arb_log_service_log_id(const arb_log_service *s, uint8_t out32[static 32])
{
    arb_ct_signer_log_id(s->signer, out32);
}

void arb_log_service_stop(arb_log_service *s)
{
    if (s == NULL)
        return;
    arb_log_close(s->log);
    arb_log_stats_free(s->stats);
    arb_log_routes_free(s->routes);
    arb_ct_roots_free(s->roots);
    arb_ct_signer_free(s->signer);
    free(s);
}
