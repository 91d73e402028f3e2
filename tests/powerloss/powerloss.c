/* A file system that loses everything not synced, as an LD_PRELOAD library.
 *
 * Programs under test run on a real file system, where the page cache keeps
 * every write across a SIGKILL: a kill test cannot tell a synced write from
 * an unsynced one. This library records, at each sync the program makes,
 * exactly what a power loss right then would have to keep, so a test can
 * build the data directory as it would be after a power loss and restart
 * the program on it.
 *
 * The model (that of POSIX and of ext4 without data journalling):
 *   - a file's content is durable as of its last fsync/fdatasync;
 *   - a name in a directory is durable as of the last fsync of that
 *     directory (a new file, a rename, an unlink, a link, a mkdir);
 *   - syncfs(fd) and sync() make everything durable;
 *   - sync_file_range, even with the WAIT flags, makes nothing durable: it
 *     flushes neither the file's size nor the drive's cache (its manual
 *     page says so), so a program must not rely on it.
 * The real writes happen as usual; only the sync calls are intercepted, so
 * every way of writing (write, pwrite, writev, mmap, ftruncate, fallocate,
 * rename, link, mkstemp) is covered without wrapping it: what matters is the
 * state of the real files at the moment of a sync. A program that opens files
 * with O_SYNC / O_DSYNC would be seen as never syncing; neither RocksDB nor
 * arbor's programs do. What they do use (strace of the durability test):
 * RocksDB appends its write-ahead log and fdatasyncs it, preallocates its
 * MANIFEST (fallocate KEEP_SIZE) and fdatasyncs it, writes CURRENT, IDENTITY
 * and OPTIONS to a temporary file, syncs it, renames it and fsyncs the
 * directory, fsyncs the directory after creating a log file, and calls
 * sync_file_range(fd, 0, 0, 0) only as a writeback hint; arbor's programs
 * fsync files they write and their directories (the wallet through mkstemp,
 * fsync, rename or link, directory fsync). No msync, syncfs or io_uring.
 *
 * Environment:
 *   ARB_POWERLOSS_DIR     the watched directory (only syncs of files and
 *                         directories below it are recorded)
 *   ARB_POWERLOSS_SHADOW  where the record is kept (outside the watched one)
 *   ARB_POWERLOSS_NO_DIRSYNC=1  directory syncs are not recorded: models a
 *                         program that forgets them (the negative control of
 *                         tests that rely on a rename or a new file)
 *
 * The record (shadow directory):
 *   f-<id>   a file's content at its last sync;
 *   d-<id>   a directory's entries at its last sync, one per line:
 *            "f <id> <name>" or "d <id> <name>".
 * <id> names an inode and its generation (inode number, and the inode
 * generation or birth time where the file system has them), so a reused
 * inode number is not mistaken for the file that had it before.
 * Each record is written to a temporary name and renamed, so a SIGKILL of
 * the program mid-record leaves the previous record whole.
 *
 * Thread-safe: one mutex serializes the recording; the real sync happens
 * first, outside it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "tests/powerloss/powerloss.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char watched[PATH_MAX], shadow[PATH_MAX];
static size_t watched_len;
static int active, no_dirsync;
static unsigned long seq;

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static void (*real_sync)(void);
static int (*real_sync_file_range)(int, off64_t, off64_t, unsigned int);

static void init(void)
{
    const char *w = getenv("ARB_POWERLOSS_DIR"), *s = getenv("ARB_POWERLOSS_SHADOW");

    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    real_syncfs = (int (*)(int))dlsym(RTLD_NEXT, "syncfs");
    real_sync = (void (*)(void))dlsym(RTLD_NEXT, "sync");
    real_sync_file_range =
        (int (*)(int, off64_t, off64_t, unsigned int))dlsym(RTLD_NEXT, "sync_file_range");
    if (w == NULL || s == NULL || realpath(w, watched) == NULL || realpath(s, shadow) == NULL)
        return;
    watched_len = strlen(watched);
    no_dirsync = getenv("ARB_POWERLOSS_NO_DIRSYNC") != NULL &&
                 strcmp(getenv("ARB_POWERLOSS_NO_DIRSYNC"), "1") == 0;
    active = 1;
}

static int file_id(int fd, char *out, size_t cap, int *is_dir)
{
    return arb_powerloss_file_id(fd, out, cap, is_dir);
}

/* 1 when fd is the watched directory or below it. */
static int watched_fd(int fd)
{
    char link[64], path[PATH_MAX];
    ssize_t n;

    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    return strncmp(path, watched, watched_len) == 0 &&
           (path[watched_len] == '\0' || path[watched_len] == '/');
}

/* Writes the record `name` from what fill() writes into a temporary file,
 * then renames it into place. */
static void put_record(const char *name, int (*fill)(FILE *, void *), void *ud)
{
    char tmp[PATH_MAX + 64], dst[PATH_MAX + 64];
    FILE *f;
    int ok;

    snprintf(tmp, sizeof tmp, "%s/tmp.%ld.%lu", shadow, (long)getpid(), ++seq);
    snprintf(dst, sizeof dst, "%s/%s", shadow, name);
    f = fopen(tmp, "we");
    if (f == NULL)
        return;
    ok = fill(f, ud);
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, dst) != 0)
        unlink(tmp);
}

static int fill_content(FILE *out, void *ud)
{
    int fd = *(int *)ud, rfd;
    char link[64], buf[65536];
    ssize_t n;

    /* A new open file description through /proc reads a file the program
     * opened write-only too. */
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    rfd = open(link, O_RDONLY | O_CLOEXEC);
    if (rfd < 0)
        return 0;
    while ((n = read(rfd, buf, sizeof buf)) > 0)
        if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
            break;
    close(rfd);
    return n == 0;
}

/* One listing of the directory open as fd: "f|d <id> <name>" lines, in a
 * malloc'd string (free()). NULL on failure. */
static char *list_dir(int fd)
{
    int dfd;
    char link[64], *buf = NULL;
    size_t len = 0;
    FILE *out;
    DIR *d;
    struct dirent *e;

    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    dfd = open(link, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
        if (dfd >= 0)
            close(dfd);
        return NULL;
    }
    out = open_memstream(&buf, &len);
    if (out == NULL) {
        closedir(d);
        return NULL;
    }
    while ((e = readdir(d)) != NULL) {
        char id[128];
        int cfd, is_dir = 0;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strchr(e->d_name, '\n') != NULL)
            continue;
        cfd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (cfd < 0)
            continue; /* gone meanwhile, or a symlink: not modelled */
        if (file_id(cfd, id, sizeof id, &is_dir))
            fprintf(out, "%c %s %s\n", is_dir ? 'd' : 'f', id, e->d_name);
        close(cfd);
    }
    closedir(d);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The directory's entries. Another thread of the program may rename or
 * unlink in it while it is read (readdir may then miss a name or show one
 * twice), so it is read until two listings in a row agree. */
static int fill_dir(FILE *out, void *ud)
{
    int fd = *(int *)ud, ok = 0;
    char *prev = list_dir(fd), *cur = NULL;

    for (int tries = 0; prev != NULL && tries < 20; tries++) {
        cur = list_dir(fd);
        if (cur == NULL)
            break;
        if (strcmp(prev, cur) == 0) {
            ok = fputs(cur, out) >= 0;
            break;
        }
        free(prev);
        prev = cur;
        cur = NULL;
    }
    free(prev);
    free(cur);
    return ok;
}

/* Records what a completed fsync / fdatasync of fd made durable. */
static void record(int fd)
{
    char id[128], name[160];
    int is_dir = 0;

    pthread_once(&once, init);
    if (!active || !watched_fd(fd) || !file_id(fd, id, sizeof id, &is_dir) ||
        (is_dir && no_dirsync))
        return;
    pthread_mutex_lock(&mu);
    snprintf(name, sizeof name, "%c-%s", is_dir ? 'd' : 'f', id);
    put_record(name, is_dir ? fill_dir : fill_content, &fd);
    pthread_mutex_unlock(&mu);
}

/* Records every file and directory below the watched directory. */
static void record_tree(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;
    struct dirent *e;

    if (fd < 0)
        return;
    record(fd);
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[PATH_MAX];
        int cfd;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (e->d_type == DT_DIR) {
            record_tree(sub);
        } else if (e->d_type == DT_REG) {
            cfd = open(sub, O_RDONLY | O_CLOEXEC);
            if (cfd >= 0) {
                record(cfd);
                close(cfd);
            }
        }
    }
    closedir(d);
}

/* The wrappers return what the real call returned, with its errno: the
 * recording never changes what the program sees. */
int fsync(int fd)
{
    int r, e;
    pthread_once(&once, init);
    r = real_fsync(fd);
    e = errno;
    if (r == 0)
        record(fd);
    errno = e;
    return r;
}

int fdatasync(int fd)
{
    int r, e;
    pthread_once(&once, init);
    r = real_fdatasync(fd);
    e = errno;
    if (r == 0)
        record(fd);
    errno = e;
    return r;
}

int syncfs(int fd)
{
    int r, e;
    pthread_once(&once, init);
    r = real_syncfs(fd);
    e = errno;
    if (r == 0 && active)
        record_tree(watched);
    errno = e;
    return r;
}

void sync(void)
{
    int e;
    pthread_once(&once, init);
    real_sync();
    e = errno;
    if (active)
        record_tree(watched);
    errno = e;
}

/* Not a durability point (see the top of this file): passed through. */
int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags)
{
    pthread_once(&once, init);
    return real_sync_file_range(fd, offset, nbytes, flags);
}
