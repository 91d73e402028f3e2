/* The ban list file (see banlist.h). */
#include "p2p/banlist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "merkle/hash.h"

static const uint8_t MAGIC[8] = {'A', 'R', 'B', 'B', 'A', 'N', 'S', '1'};
#define HEAD 16   /* magic, version, count */
#define ENTRY 24  /* address 16, until 8 */
#define FILE_MAX (HEAD + ARB_BANLIST_MAX * ENTRY + 32)

static int sha256(uint8_t out[32], const uint8_t *d, size_t n)
{
    arb_sha256 *sha;
    if (arb_sha256_new(&sha) != ARB_OK)
        return 0;
    arb_sha256_digest(sha, out, d, n);
    arb_sha256_free(sha);
    return 1;
}

arb_err arb_banlist_encode(arb_buf *out, const arb_ban_entry *v, size_t n)
{
    size_t start = out->len;
    uint8_t sum[32];
    if (n > ARB_BANLIST_MAX)
        return ARB_ERR_INVALID_ARG;
    arb_buf_put(out, MAGIC, sizeof MAGIC);
    arb_buf_u32le(out, ARB_BANLIST_VERSION);
    arb_buf_u32le(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        arb_buf_put(out, v[i].ip16, 16);
        arb_buf_u64le(out, (uint64_t)v[i].until);
    }
    if (out->oom || !sha256(sum, out->data + start, out->len - start))
        return ARB_ERR_NOMEM;
    arb_buf_put(out, sum, sizeof sum);
    return out->oom ? ARB_ERR_NOMEM : ARB_OK;
}

static const uint8_t ZERO16[16];

arb_err arb_banlist_decode(arb_ban_entry **out, size_t *n, const uint8_t *data, size_t len,
                           arb_errbuf *eb)
{
    uint8_t sum[32];
    uint32_t version, count;
    arb_ban_entry *v = NULL;
    arb_cur c;
    *out = NULL;
    *n = 0;
    if (len < HEAD + 32 || len > FILE_MAX)
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: %zu bytes", len);
    if (memcmp(data, MAGIC, sizeof MAGIC) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: bad magic");
    if (!sha256(sum, data, len - 32))
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if (memcmp(sum, data + len - 32, 32) != 0)
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: bad checksum");
    c = arb_cur_make(data + sizeof MAGIC, len - 32 - sizeof MAGIC);
    if (!arb_cur_u32le(&c, &version) || !arb_cur_u32le(&c, &count))
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: short header");
    if (version != ARB_BANLIST_VERSION)
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: version %u", (unsigned)version);
    if (count > ARB_BANLIST_MAX || c.len != (size_t)count * ENTRY)
        return arb_errf(eb, ARB_ERR_PARSE, "ban list: count %u does not match the length",
                        (unsigned)count);
    if (count > 0 && (v = calloc(count, sizeof *v)) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        uint64_t u;
        const uint8_t *ip;
        if (!arb_cur_view(&c, &ip, 16) || !arb_cur_u64le(&c, &u))
            goto bad;
        memcpy(v[i].ip16, ip, 16);
        v[i].until = (int64_t)u;
        if (memcmp(v[i].ip16, ZERO16, 16) == 0 || v[i].until <= 0)
            goto bad;
        for (size_t j = 0; j < i; j++) /* at most 10,000 entries, once per start */
            if (memcmp(v[j].ip16, v[i].ip16, 16) == 0)
                goto bad;
    }
    *out = v;
    *n = count;
    return ARB_OK;
bad:
    free(v);
    return arb_errf(eb, ARB_ERR_PARSE, "ban list: bad entry");
}

static arb_err write_all(int fd, const uint8_t *d, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, d, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ARB_ERR_IO;
        }
        d += w;
        n -= (size_t)w;
    }
    return ARB_OK;
}

arb_err arb_banlist_save(const char *path, const arb_ban_entry *v, size_t n, arb_errbuf *eb)
{
    arb_buf b = ARB_BUF_INIT;
    char tmp[4096], dir[4096], *slash;
    arb_err err;
    int fd, dfd;
    if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "ban list path too long");
    if ((err = arb_banlist_encode(&b, v, n)) != ARB_OK) {
        arb_buf_free(&b);
        return arb_errf(eb, err, "cannot encode the ban list");
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        err = arb_errf(eb, ARB_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        arb_buf_free(&b);
        return err;
    }
    if (write_all(fd, b.data, b.len) != ARB_OK || fsync(fd) != 0) {
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
    arb_buf_free(&b);
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        err = arb_errf(eb, ARB_ERR_IO, "cannot sync directory %s: %s", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return err;
    }
    close(dfd);
    return ARB_OK;
fail:
    unlink(tmp);
    arb_buf_free(&b);
    return err;
}

arb_err arb_banlist_load(const char *path, arb_ban_entry **out, size_t *n, arb_errbuf *eb)
{
    struct stat st;
    uint8_t *data;
    size_t got = 0;
    arb_err err;
    int fd;
    *out = NULL;
    *n = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return arb_errf(eb, ARB_ERR_NOT_FOUND, "%s does not exist", path);
        return arb_errf(eb, ARB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)FILE_MAX) {
        close(fd);
        return arb_errf(eb, ARB_ERR_PARSE, "%s: not a regular file of at most %d bytes", path,
                        FILE_MAX);
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
    err = arb_banlist_decode(out, n, data, got, eb);
    free(data);
    return err;
}

void arb_banlist_ip_format(const uint8_t ip16[static 16], char *out, size_t cap)
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip16, v4, 12) == 0) {
        if (inet_ntop(AF_INET, ip16 + 12, out, (socklen_t)cap) == NULL && cap)
            out[0] = '\0';
    } else if (inet_ntop(AF_INET6, ip16, out, (socklen_t)cap) == NULL && cap) {
        out[0] = '\0';
    }
}

int arb_banlist_ip_parse(uint8_t ip16[static 16], const char *ip)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, ip, a) == 1) {
        memset(ip16, 0, 10);
        ip16[10] = ip16[11] = 0xff;
        memcpy(ip16 + 12, a, 4);
        return 1;
    }
    if (inet_pton(AF_INET6, ip, a) == 1) {
        memcpy(ip16, a, 16);
        return 1;
    }
    return 0;
}
