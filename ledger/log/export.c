/* The static-ct-api tree written into a directory. See export.h. */
#include "ledger/log/export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger/log/static.h"
#include "merkle/buf.h"
#include "merkle/tile.h"

#define POLL_MS 100
#define RETRY_MS 5000
#define PATH_CAP 4096

struct arb_log_export {
    arb_log *log;
    char *dir;
    arb_logger lg;
    uint64_t size;     /* tree size of the last checkpoint written */
    uint8_t *last_cp;  /* that checkpoint's text */
    size_t last_cp_len;
    pthread_mutex_t mu; /* guards stop and size (for arb_log_export_size) */
    pthread_cond_t cv;
    int stop;
    pthread_t thread;
    int thread_started;
};

static arb_err sync_dir(const char *dir, arb_errbuf *eb)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;

    if (fd < 0)
        return arb_errf(eb, ARB_ERR_IO, "export: cannot open %s: %s", dir, strerror(errno));
    if (fsync(fd) != 0)
        e = errno;
    close(fd);
    if (e != 0)
        return arb_errf(eb, ARB_ERR_IO, "export: cannot sync %s: %s", dir, strerror(e));
    return ARB_OK;
}

/* Creates every missing directory of `path` (an absolute or relative path
 * whose last component is a directory), syncing the parent of each new one. */
static arb_err make_dirs(const char *path, arb_errbuf *eb)
{
    char p[PATH_CAP];
    size_t n = strlen(path), i;

    if (n == 0 || n >= sizeof(p))
        return arb_errf(eb, ARB_ERR_IO, "export: bad directory path");
    memcpy(p, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        p[i] = 0;
        if (mkdir(p, 0755) == 0) {
            char parent[PATH_CAP];
            const char *slash = strrchr(p, '/');
            snprintf(parent, sizeof(parent), "%.*s", slash == NULL ? 1 : slash == p ? 1 : (int)(slash - p),
                     slash == NULL ? "." : p);
            if (sync_dir(parent, eb) != ARB_OK)
                return ARB_ERR_IO;
        } else if (errno != EEXIST) {
            return arb_errf(eb, ARB_ERR_IO, "export: cannot create %s: %s", p, strerror(errno));
        }
        p[i] = i == n ? 0 : '/';
    }
    return ARB_OK;
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Writes dir/rel atomically and durably (temporary file, fsync, rename,
 * directory fsync). With keep, an existing file is left as it is. */
static arb_err put_file(arb_log_export *ex, const char *rel, const void *data, size_t len, int keep,
                        arb_errbuf *eb)
{
    char path[PATH_CAP], tmp[PATH_CAP], dir[PATH_CAP];
    const char *slash;
    const uint8_t *p = data;
    size_t off = 0;
    int fd, n;

    n = snprintf(path, sizeof(path), "%s/%s", ex->dir, rel);
    if (n < 0 || (size_t)n >= sizeof(path))
        return arb_errf(eb, ARB_ERR_IO, "export: path too long");
    if (keep && exists(path))
        return ARB_OK;
    slash = strrchr(path, '/');
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    n = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, slash + 1);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return arb_errf(eb, ARB_ERR_IO, "export: path too long");
    if (make_dirs(dir, eb) != ARB_OK)
        return ARB_ERR_IO;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return arb_errf(eb, ARB_ERR_IO, "export: cannot create %s: %s", tmp, strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return arb_errf(eb, ARB_ERR_IO, "export: cannot write %s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return arb_errf(eb, ARB_ERR_IO, "export: cannot sync %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return arb_errf(eb, ARB_ERR_IO, "export: cannot rename to %s: %s", path, strerror(e));
    }
    return sync_dir(dir, eb);
}

/* Removes dir/rel.p/ (the partial versions of a tile that is now full). */
static arb_err drop_partials(arb_log_export *ex, const char *rel, arb_errbuf *eb)
{
    char pdir[PATH_CAP], f[PATH_CAP], parent[PATH_CAP];
    const char *slash;
    DIR *d;
    struct dirent *de;
    int n = snprintf(pdir, sizeof(pdir), "%s/%s.p", ex->dir, rel);

    if (n < 0 || (size_t)n >= sizeof(pdir))
        return arb_errf(eb, ARB_ERR_IO, "export: path too long");
    if ((d = opendir(pdir)) == NULL)
        return errno == ENOENT ? ARB_OK
                               : arb_errf(eb, ARB_ERR_IO, "export: cannot open %s: %s", pdir,
                                          strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        n = snprintf(f, sizeof(f), "%s/%s", pdir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof(f) || (unlink(f) != 0 && errno != ENOENT)) {
            int e = errno;
            closedir(d);
            return arb_errf(eb, ARB_ERR_IO, "export: cannot remove %s: %s", f, strerror(e));
        }
    }
    closedir(d);
    if (rmdir(pdir) != 0 && errno != ENOENT)
        return arb_errf(eb, ARB_ERR_IO, "export: cannot remove %s: %s", pdir, strerror(errno));
    slash = strrchr(pdir, '/');
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - pdir), pdir);
    return sync_dir(parent, eb);
}

/* Writes every issuer a data tile's entries name (before the tile itself, so
 * an existing data tile means its issuers exist). */
static arb_err put_issuers(arb_log_export *ex, const uint8_t *tile, size_t len, arb_errbuf *eb)
{
    arb_cur c = arb_cur_make(tile, len);

    while (c.len > 0) {
        arb_ct_tile_leaf t;
        size_t i;
        if (arb_ct_tile_leaf_read(&t, &c) != ARB_OK)
            return arb_errf(eb, ARB_ERR_INTERNAL, "export: unreadable data tile");
        for (i = 0; i < t.n_fingerprints; i++) {
            char rel[8 + 65], path[PATH_CAP];
            uint8_t *der = NULL;
            size_t der_len = 0;
            arb_err err;
            memcpy(rel, "issuer/", 7);
            arb_hex_encode(rel + 7, t.fingerprints + 32 * i, 32);
            if (snprintf(path, sizeof(path), "%s/%s", ex->dir, rel) >= (int)sizeof(path))
                return arb_errf(eb, ARB_ERR_IO, "export: path too long");
            if (exists(path))
                continue;
            if ((err = arb_log_issuer(ex->log, t.fingerprints + 32 * i, &der, &der_len)) != ARB_OK)
                return arb_errf(eb, err, "export: cannot read issuer %s", rel + 7);
            err = put_file(ex, rel, der, der_len, 1, eb);
            free(der);
            if (err != ARB_OK)
                return err;
        }
    }
    return ARB_OK;
}

/* Writes tile (kind, level, index, width) of the published tree. */
static arb_err put_tile(arb_log_export *ex, arb_tile_kind kind, unsigned level, uint64_t index,
                        unsigned width, arb_errbuf *eb)
{
    arb_tile t;
    char rel[ARB_TILE_PATH_MAX], path[PATH_CAP];
    uint8_t *data = NULL;
    size_t len = 0;
    arb_err err;

    t.kind = kind;
    t.level = level;
    t.index = index;
    t.width = width;
    if (arb_tile_path(&t, rel, sizeof(rel)) != ARB_OK)
        return arb_errf(eb, ARB_ERR_INTERNAL, "export: bad tile");
    if (snprintf(path, sizeof(path), "%s/%s", ex->dir, rel) >= (int)sizeof(path))
        return arb_errf(eb, ARB_ERR_IO, "export: path too long");
    if (!exists(path)) {
        if (kind == ARB_TILE_DATA)
            err = arb_log_data_tile(ex->log, index, width == ARB_TILE_WIDTH ? 0 : width, &data,
                                    &len);
        else
            err = arb_log_tile(ex->log, level, index, width == ARB_TILE_WIDTH ? 0 : width, &data,
                               &len);
        if (err != ARB_OK)
            return arb_errf(eb, err, "export: cannot read %s", rel);
        err = kind == ARB_TILE_DATA ? put_issuers(ex, data, len, eb) : ARB_OK;
        if (err == ARB_OK)
            err = put_file(ex, rel, data, len, 1, eb);
        free(data);
        if (err != ARB_OK)
            return err;
    }
    return width == ARB_TILE_WIDTH ? drop_partials(ex, rel, eb) : ARB_OK;
}

/* The tree size on the second line of a checkpoint. */
static int checkpoint_size(const uint8_t *text, size_t len, uint64_t *size)
{
    const uint8_t *nl = memchr(text, '\n', len), *p;
    uint64_t v = 0;

    if (nl == NULL)
        return 0;
    for (p = nl + 1; p < text + len && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == nl + 1 || p == text + len || *p != '\n')
        return 0;
    *size = v;
    return 1;
}

arb_err arb_log_export_once(arb_log_export *ex, arb_errbuf *eb)
{
    uint8_t *cp = NULL;
    size_t cp_len = 0;
    uint64_t n, m = ex->size;
    unsigned level;
    arb_err err;

    if ((err = arb_log_get_checkpoint(ex->log, &cp, &cp_len)) != ARB_OK)
        return arb_errf(eb, err, "export: cannot read the checkpoint");
    if (!checkpoint_size(cp, cp_len, &n) || n < m) {
        free(cp);
        return arb_errf(eb, ARB_ERR_INTERNAL, "export: unexpected checkpoint");
    }
    if (ex->last_cp != NULL && cp_len == ex->last_cp_len && memcmp(cp, ex->last_cp, cp_len) == 0) {
        free(cp);
        return ARB_OK;
    }
    /* Tiles first (for each data tile its issuers before it), level by
     * level; the checkpoint that names them last. Tiles that were full at
     * the previous export are done. */
    for (level = 0; level <= ARB_TILE_MAX_LEVEL; level++) {
        uint64_t full, full_before, i;
        unsigned pw, pw_before;
        arb_tile_count(n, level, &full, &pw);
        if (full == 0 && pw == 0)
            break;
        arb_tile_count(m, level, &full_before, &pw_before);
        for (i = full_before; i < full; i++) {
            if (level == 0 && (err = put_tile(ex, ARB_TILE_DATA, 0, i, ARB_TILE_WIDTH, eb)) != ARB_OK)
                goto out;
            if ((err = put_tile(ex, ARB_TILE_HASH, level, i, ARB_TILE_WIDTH, eb)) != ARB_OK)
                goto out;
        }
        if (pw > 0) {
            if (level == 0 && (err = put_tile(ex, ARB_TILE_DATA, 0, full, pw, eb)) != ARB_OK)
                goto out;
            if ((err = put_tile(ex, ARB_TILE_HASH, level, full, pw, eb)) != ARB_OK)
                goto out;
        }
    }
    if ((err = put_file(ex, "checkpoint", cp, cp_len, 0, eb)) != ARB_OK)
        goto out;
    free(ex->last_cp);
    ex->last_cp = cp;
    ex->last_cp_len = cp_len;
    cp = NULL;
    pthread_mutex_lock(&ex->mu);
    ex->size = n;
    pthread_mutex_unlock(&ex->mu);
out:
    free(cp);
    return err;
}

static void *export_main(void *arg)
{
    arb_log_export *ex = arg;
    uint64_t wait_ms = 0;

    pthread_mutex_lock(&ex->mu);
    while (!ex->stop) {
        struct timespec until;
        arb_errbuf eb;
        pthread_mutex_unlock(&ex->mu);
        eb.msg[0] = 0;
        if (arb_log_export_once(ex, &eb) != ARB_OK) {
            arb_logf(&ex->lg, ARB_LOG_ERROR, "%s (retrying in %d s)", eb.msg, RETRY_MS / 1000);
            wait_ms = RETRY_MS;
        } else {
            wait_ms = POLL_MS;
        }
        pthread_mutex_lock(&ex->mu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(wait_ms / 1000);
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!ex->stop && pthread_cond_timedwait(&ex->cv, &ex->mu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&ex->mu);
    return NULL;
}

arb_err arb_log_export_open(arb_log_export **out, arb_log *log, const char *dir, arb_logger lg,
                            arb_errbuf *eb)
{
    arb_log_export *ex;
    arb_err err;

    *out = NULL;
    if (dir == NULL || dir[0] == 0 || strlen(dir) > PATH_CAP - 200)
        return arb_errf(eb, ARB_ERR_IO, "export: bad directory");
    if ((err = make_dirs(dir, eb)) != ARB_OK)
        return err;
    if ((ex = calloc(1, sizeof(*ex))) == NULL || (ex->dir = strdup(dir)) == NULL) {
        free(ex);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    ex->log = log;
    ex->lg = lg;
    pthread_mutex_init(&ex->mu, NULL);
    pthread_cond_init(&ex->cv, NULL);
    *out = ex;
    return ARB_OK;
}

arb_err arb_log_export_start(arb_log_export **out, arb_log *log, const char *dir, arb_logger lg,
                             arb_errbuf *eb)
{
    arb_log_export *ex;
    arb_err err;

    if ((err = arb_log_export_open(&ex, log, dir, lg, eb)) != ARB_OK)
        return err;
    if (pthread_create(&ex->thread, NULL, export_main, ex) != 0) {
        arb_log_export_stop(ex);
        *out = NULL;
        return arb_errf(eb, ARB_ERR_NOMEM, "export: cannot start the thread");
    }
    ex->thread_started = 1;
    *out = ex;
    return ARB_OK;
}

void arb_log_export_stop(arb_log_export *ex)
{
    if (ex == NULL)
        return;
    if (ex->thread_started) {
        arb_errbuf eb;
        pthread_mutex_lock(&ex->mu);
        ex->stop = 1;
        pthread_cond_broadcast(&ex->cv);
        pthread_mutex_unlock(&ex->mu);
        pthread_join(ex->thread, NULL);
        eb.msg[0] = 0;
        if (arb_log_export_once(ex, &eb) != ARB_OK)
            arb_logf(&ex->lg, ARB_LOG_ERROR, "%s", eb.msg);
    }
    pthread_mutex_destroy(&ex->mu);
    pthread_cond_destroy(&ex->cv);
    free(ex->last_cp);
    free(ex->dir);
    free(ex);
}

uint64_t arb_log_export_size(arb_log_export *ex)
{
    uint64_t n;

    pthread_mutex_lock(&ex->mu);
    n = ex->size;
    pthread_mutex_unlock(&ex->mu);
    return n;
}
