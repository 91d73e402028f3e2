#include "merkle/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

arb_err arb_file_sync_parent(const char *path, arb_errbuf *eb)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd, ok, e = 0;

    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir)
            return arb_errf(eb, ARB_ERR_IO, "path too long: %s", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return arb_errf(eb, ARB_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    ok = fsync(fd) == 0;
    if (!ok)
        e = errno;
    close(fd);
    if (!ok)
        return arb_errf(eb, ARB_ERR_IO, "cannot sync directory %s: %s", dir, strerror(e));
    return ARB_OK;
}

static int write_all(int fd, const uint8_t *d, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, d, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        d += w;
        n -= (size_t)w;
    }
    return 1;
}

arb_err arb_file_replace(const char *path, const uint8_t *data, size_t len, arb_errbuf *eb)
{
    char tmp[4096];
    arb_err err;
    int fd;

    if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "path too long: %s", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return arb_errf(eb, ARB_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    if (!write_all(fd, data, len) || fsync(fd) != 0) {
        err = arb_errf(eb, ARB_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    if (close(fd) != 0) {
        err = arb_errf(eb, ARB_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        err = arb_errf(eb, ARB_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
        goto fail;
    }
    return arb_file_sync_parent(path, eb);
fail:
    unlink(tmp);
    return err;
}

arb_err arb_file_read(const char *path, size_t max, uint8_t **out, size_t *len, arb_errbuf *eb)
{
    struct stat st;
    uint8_t *data;
    size_t got = 0;
    int fd;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return arb_errf(eb, ARB_ERR_NOT_FOUND, "%s does not exist", path);
        return arb_errf(eb, ARB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        close(fd);
        return arb_errf(eb, ARB_ERR_PARSE, "%s: not a regular file of at most %zu bytes", path,
                        max);
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        close(fd);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *out = data;
    *len = got;
    return ARB_OK;
}
