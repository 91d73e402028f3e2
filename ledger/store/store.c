/* The storage core over RocksDB's C API. See store.h for the contract and
 * docs/store.md for the options chosen and why. */
#include "ledger/store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "ledger/store/store_internal.h"

#define DEFAULT_CACHE_BYTES ((size_t)32 << 20) /* the least block cache by default */
#define MAX_TOTAL_WAL_BYTES ((uint64_t)64 << 20)
#define MIN_WAL_BYTES ((uint64_t)256 << 10)
#define BLOOM_BITS_PER_KEY 10.0
#define MAX_OPEN_FILES 512
#define MAX_CFS 256
/* Opening needs room for RocksDB's log header, a new write-ahead log and a
 * manifest record; below this we refuse with "disk full" (see free_space). */
#define MIN_FREE_BYTES ((uint64_t)1 << 20)

struct arb_store {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *ro;          /* latest state, checksums verified */
    rocksdb_writeoptions_t *wo_sync;    /* sync = 1: fsync the WAL */
    rocksdb_writeoptions_t *wo_nosync;
    rocksdb_column_family_handle_t **all; /* every opened column family */
    size_t n_all;
    size_t *cf_idx; /* caller cf i -> all[cf_idx[i]] */
    size_t n_cfs;
    char *dir;
    arb_logger log;
    void (*on_sync)(void *ud, double seconds); /* arb_store_opts.on_sync */
    void *sync_ud;
    uint64_t max_wal_bytes; /* write-ahead log bound, >= MIN_WAL_BYTES */
    /* Set after a write failed: RocksDB is then in a background-error state in
     * which a further write can trip an internal assertion (Debian builds keep
     * them), so we refuse writes ourselves until the store is reopened. */
    atomic_int write_failed;
    /* arb_store_reopen: the column family names opened (n_all of them, owned)
     * and a gate. Every call that touches db, and every live batch, snapshot and
     * iterator, counts in `users`; a reopen sets `reopening`, waits for users to
     * reach 0, swaps the database and opens the gate again. */
    char **names;
    atomic_uint users;
    atomic_int reopening;
    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;
};

struct arb_store_batch {
    arb_store *s;
    rocksdb_writebatch_t *wb;
    int bad_cf; /* an operation named a column family out of range */
};

struct arb_store_snapshot {
    arb_store *s;
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t *ro;
};

struct arb_store_iter {
    arb_store *s;
    rocksdb_readoptions_t *ro; /* owns the bounds below */
    rocksdb_iterator_t *it;
    uint8_t *lower, *upper;
    size_t lower_len, upper_len;
    int has_upper;
};

/* ---- errors ---- */

/* Replaces control characters so the message stays on one line. */
static void one_line(arb_errbuf *eb)
{
    if (eb == NULL)
        return;
    for (char *p = eb->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

arb_err arb_store_map_error(arb_errbuf *eb, const char *dir, const char *what, const char *rerr)
{
    arb_err err;

    if (rerr == NULL)
        rerr = "unknown RocksDB error";
    if (strstr(rerr, "lock hold by current process") != NULL) {
        err = arb_errf(eb, ARB_ERR_BUSY, "data directory %s is already open in this process", dir);
    } else if (strstr(rerr, "LOCK") != NULL &&
               (strstr(rerr, "Resource temporarily unavailable") != NULL ||
                strstr(rerr, "While lock file") != NULL)) {
        err = arb_errf(eb, ARB_ERR_BUSY, "data directory %s is in use by another process", dir);
    } else if (strstr(rerr, "No space left on device") != NULL) {
        err = arb_errf(eb, ARB_ERR_IO, "data directory %s: disk full during %s (%s)", dir, what,
                       rerr);
    } else if (strncmp(rerr, "IO error", 8) == 0) {
        err = arb_errf(eb, ARB_ERR_IO, "data directory %s: I/O error during %s (%s)", dir, what,
                       rerr);
    } else if (strncmp(rerr, "Corruption", 10) == 0) {
        err = arb_errf(eb, ARB_ERR_DB, "data directory %s is corrupt (%s)", dir, rerr);
    } else {
        err = arb_errf(eb, ARB_ERR_DB, "data directory %s: %s failed (%s)", dir, what, rerr);
    }
    one_line(eb);
    return err;
}

/* Maps *rerr (if set), frees it and returns the error; ARB_OK if unset. */
static arb_err take_error(arb_errbuf *eb, const char *dir, const char *what, char **rerr)
{
    arb_err err;

    if (*rerr == NULL)
        return ARB_OK;
    err = arb_store_map_error(eb, dir, what, *rerr);
    rocksdb_free(*rerr);
    *rerr = NULL;
    return err;
}

size_t arb_store_prefix_end(uint8_t *out, const uint8_t *prefix, size_t len)
{
    while (len > 0 && prefix[len - 1] == 0xff)
        len--;
    if (len == 0)
        return 0;
    memcpy(out, prefix, len);
    out[len - 1]++;
    return len;
}

/* ---- opening ---- */

static void store_free(arb_store *s)
{
    if (s == NULL)
        return;
    if (s->all != NULL) {
        for (size_t i = 0; i < s->n_all; i++)
            if (s->all[i] != NULL)
                rocksdb_column_family_handle_destroy(s->all[i]);
    }
    if (s->db != NULL)
        rocksdb_close(s->db);
    if (s->opts != NULL)
        rocksdb_options_destroy(s->opts);
    if (s->cache != NULL)
        rocksdb_cache_destroy(s->cache);
    if (s->ro != NULL)
        rocksdb_readoptions_destroy(s->ro);
    if (s->wo_sync != NULL)
        rocksdb_writeoptions_destroy(s->wo_sync);
    if (s->wo_nosync != NULL)
        rocksdb_writeoptions_destroy(s->wo_nosync);
    free(s->all);
    free(s->cf_idx);
    if (s->names != NULL)
        for (size_t i = 0; i < s->n_all; i++)
            free(s->names[i]);
    free(s->names);
    pthread_mutex_destroy(&s->gate_mu);
    pthread_cond_destroy(&s->gate_cv);
    free(s->dir);
    free(s);
}

/* Syncs the directory holding `path` (the part before its last '/', or "."),
 * so that a name just created there survives a power loss. */
static int sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *d;
    int fd, ok;

    if (slash == NULL)
        d = strdup(".");
    else if (slash == path)
        d = strdup("/");
    else
        d = strndup(path, (size_t)(slash - path));
    if (d == NULL)
        return 0;
    fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(d);
    if (fd < 0)
        return 0;
    ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* mkdir(p, mode); when it made a new directory, the parent is synced so the
 * new name is durable (RocksDB syncs the database directory itself, never its
 * parent). Returns 1, or 0 with errno set. */
static int mkdir_synced(const char *p, mode_t mode)
{
    if (mkdir(p, mode) != 0)
        return errno == EEXIST;
    return sync_parent(p);
}

/* ---- the reopen gate ----
 * enter/leave bracket every use of s->db (sequentially consistent atomics:
 * either a user sees `reopening` and backs off, or the reopener sees the
 * user). A user that finds the gate closed waits for it to open. */

static arb_err gate_enter(const arb_store *cs, arb_errbuf *eb)
{
    arb_store *s = (arb_store *)cs;

    for (;;) {
        atomic_fetch_add(&s->users, 1);
        if (!atomic_load(&s->reopening))
            break;
        atomic_fetch_sub(&s->users, 1);
        pthread_mutex_lock(&s->gate_mu);
        while (atomic_load(&s->reopening))
            pthread_cond_wait(&s->gate_cv, &s->gate_mu);
        pthread_mutex_unlock(&s->gate_mu);
    }
    if (s->db == NULL) {
        atomic_fetch_sub(&s->users, 1);
        return arb_errf(eb, ARB_ERR_IO,
                        "data directory %s: the database is closed after a failed reopen", s->dir);
    }
    return ARB_OK;
}

static void gate_leave(const arb_store *cs)
{
    atomic_fetch_sub(&((arb_store *)cs)->users, 1);
}

/* Creates dir and any missing parents (parents 0755, dir itself 0700: a data
 * directory may hold keys), each new one durably. */
static arb_err mkdir_p(const char *dir, arb_errbuf *eb)
{
    size_t n = strlen(dir);
    char *p = malloc(n + 1);

    if (p == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (p[i] != '/')
            continue;
        p[i] = '\0';
        if (!mkdir_synced(p, 0755)) {
            arb_err err = arb_errf(eb, ARB_ERR_IO, "data directory %s: cannot create %s: %s", dir,
                                   p, strerror(errno));
            free(p);
            return err;
        }
        p[i] = '/';
    }
    free(p);
    if (!mkdir_synced(dir, 0700))
        return arb_errf(eb, ARB_ERR_IO, "data directory %s: cannot create it: %s", dir,
                        strerror(errno));
    return ARB_OK;
}

/* The test-only switch that turns syncing off (docs/store.md, "Durability
 * promise"): set to "1", ARB_STORE_SYNC writes are not synced. It exists so
 * that the power-loss test can show it catches lost acknowledged writes; it
 * must never be set in production. */
#define UNSAFE_NO_SYNC_ENV "ARB_STORE_UNSAFE_NO_SYNC"

static int unsafe_no_sync(void)
{
    const char *v = getenv(UNSAFE_NO_SYNC_ENV);
    return v != NULL && strcmp(v, "1") == 0;
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Files RocksDB itself may leave in a directory before CURRENT exists (an
 * interrupted creation). */
static int rocksdb_file_name(const char *n)
{
    return !strcmp(n, "LOCK") || !strcmp(n, "LOG") || !strcmp(n, "IDENTITY") ||
           has_prefix(n, "LOG.old.") || has_prefix(n, "MANIFEST-") || has_prefix(n, "OPTIONS-") ||
           has_suffix(n, ".log") || has_suffix(n, ".sst") || has_suffix(n, ".dbtmp") ||
           has_suffix(n, ".blob");
}

/* Looks at `dir` before RocksDB touches it. Sets *exists_db when a database is
 * there (CURRENT present). Refuses a path that is not a directory and a
 * directory holding files that are not RocksDB's. */
static arb_err inspect_dir(const char *dir, int create, int *exists_db, arb_errbuf *eb)
{
    struct stat st;
    char *cur;
    size_t n = strlen(dir);
    DIR *d;
    struct dirent *e;
    arb_err err = ARB_OK;

    *exists_db = 0;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return arb_errf(eb, ARB_ERR_IO, "data directory %s: %s", dir, strerror(errno));
        if (!create)
            return arb_errf(eb, ARB_ERR_NOT_FOUND, "data directory %s does not exist", dir);
        return mkdir_p(dir, eb);
    }
    if (!S_ISDIR(st.st_mode))
        return arb_errf(eb, ARB_ERR_IO, "data directory %s is not a directory", dir);

    if ((cur = malloc(n + sizeof "/CURRENT")) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    memcpy(cur, dir, n);
    memcpy(cur + n, "/CURRENT", sizeof "/CURRENT");
    if (stat(cur, &st) == 0) {
        free(cur);
        if (!S_ISREG(st.st_mode))
            return arb_errf(eb, ARB_ERR_PARSE, "data directory %s is not an arbor store", dir);
        *exists_db = 1;
        return ARB_OK;
    }
    free(cur);

    if ((d = opendir(dir)) == NULL)
        return arb_errf(eb, ARB_ERR_IO, "data directory %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!rocksdb_file_name(e->d_name)) {
            err = arb_errf(eb, ARB_ERR_PARSE,
                           "data directory %s is not an arbor store (it holds other files, "
                           "such as %.64s)",
                           dir, e->d_name);
            break;
        }
    }
    closedir(d);
    if (err == ARB_OK && !create)
        err = arb_errf(eb, ARB_ERR_NOT_FOUND, "data directory %s holds no store", dir);
    return err;
}

/* RocksDB writes its LOG header while opening, and in the Debian build a second
 * append to a log file whose previous append failed trips an assertion (an
 * abort, not an error). So on a (nearly) full disk we refuse to open. */
static arb_err free_space(const char *dir, arb_errbuf *eb)
{
    struct statvfs vfs;
    uint64_t avail;

    if (statvfs(dir, &vfs) != 0)
        return arb_errf(eb, ARB_ERR_IO, "data directory %s: %s", dir, strerror(errno));
    avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    if (avail < MIN_FREE_BYTES)
        return arb_errf(eb, ARB_ERR_IO,
                        "data directory %s: disk full (%llu bytes free, at least %llu needed)",
                        dir, (unsigned long long)avail, (unsigned long long)MIN_FREE_BYTES);
    return ARB_OK;
}

/* What a column family holds decides its table options (docs/store.md,
 * "Column family profiles"). */
enum { PROFILE_RECORDS, PROFILE_RAW, PROFILE_BODIES, PROFILE_BLOBS, PROFILE_INDEX };

/* Compression and block size follow what a column family holds, measured
 * with sst_dump --command=recompress on the tables of a 10^6-entry log and
 * on real static-ct-api entries (docs/store.md, "Column family profiles"):
 *   - bodies: stored entries (leaf certificate and its chain; consecutive
 *     entries share issuers, names, extensions) compress ~3x with LZ4 in
 *     16 KiB blocks and only ~10% better with zstd, whose decompression costs
 *     several times more on every read (with zstd it was 28% of the CPU of
 *     serving a data tile): LZ4 on every level;
 *   - raw: SHA-256 hashes and hash -> index maps gain 0-25%, and every point
 *     lookup would decompress a block for one 40-byte record: none;
 *   - blobs: the chain's block bodies and undo data (tens to hundreds of KB
 *     per block, written once, read rarely): values of BLOB_MIN_BYTES and more
 *     go to blob files, compressed once with LZ4 when written, so compaction
 *     moves only their small references instead of rewriting (and
 *     recompressing) gigabytes of bodies at every level while a node syncs;
 *   - index: the chain's address history, its largest index, rewritten by
 *     compaction all through a sync: zstd at its last level cost a
 *     10,000-block connect 3% of its CPU; LZ4 on every level is as fast as
 *     none and still saves 31% (zstd 45%);
 *   - records: everything else, including names this table does not know:
 *     LZ4, zstd for the last level. */
static const struct {
    const char *name;
    int profile;
} CF_PROFILES[] = {
    {"log_entries", PROFILE_BODIES}, /* entry index -> leaf, chain, SCT signature */
    {"log_issuers", PROFILE_BODIES}, /* fingerprint -> issuer certificate */
    {"log_nodes", PROFILE_RAW},      /* tree node -> SHA-256 */
    {"log_leafhash", PROFILE_RAW},   /* leaf hash -> index */
    {"log_dedup", PROFILE_RAW},      /* certificate hash -> index */
    {"chain_blocks", PROFILE_BLOBS}, /* block bodies: signatures, keys, txids */
    {"chain_undo", PROFILE_BLOBS},   /* spent coins: outpoints, keys */
    {"chain_tx", PROFILE_RAW},       /* txid -> block and position */
    {"chain_hist", PROFILE_INDEX},   /* address key, height, position -> txid, amounts */
};

/* Values at least this long go to blob files in the blobs profile. */
#define BLOB_MIN_BYTES 4096

static int cf_profile(const char *name)
{
    for (size_t i = 0; i < sizeof CF_PROFILES / sizeof CF_PROFILES[0]; i++)
        if (strcmp(CF_PROFILES[i].name, name) == 0)
            return CF_PROFILES[i].profile;
    return PROFILE_RECORDS;
}

/* Options shared by the database and every column family. */
static void set_db_options(rocksdb_options_t *o, uint64_t max_wal_bytes)
{
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    rocksdb_options_set_paranoid_checks(o, 1);
    /* Replay the log up to the first torn or corrupt record after a crash:
     * a batch is either fully applied or absent. */
    rocksdb_options_set_wal_recovery_mode(o, 2 /* kPointInTimeRecovery */);
    rocksdb_options_set_max_background_jobs(o, 2);
    rocksdb_options_set_max_open_files(o, MAX_OPEN_FILES);
    rocksdb_options_set_bytes_per_sync(o, 1 << 20);
    rocksdb_options_set_keep_log_file_num(o, 4);
    rocksdb_options_set_max_log_file_size(o, 4 << 20);
    /* A bounded write-ahead log: once the live logs pass this, the column
     * families whose memtables pin the oldest log are flushed, so a rarely
     * written column family (a tree head, a marker) cannot keep gigabytes of
     * log alive, and an open after a crash replays at most this much. */
    rocksdb_options_set_max_total_wal_size(o, max_wal_bytes);
    /* RocksDB counts only closed log files against that bound, and a log file
     * is closed when a memtable fills; so memtables are kept to half the
     * bound (the open log holds at most about that much more), and all of
     * them together to twice the bound, which also caps what a replay
     * rebuilds in memory. */
    rocksdb_options_set_write_buffer_size(o, (size_t)(max_wal_bytes / 2));
    rocksdb_options_set_db_write_buffer_size(o, (size_t)(max_wal_bytes * 2));
    /* Opening reads no table file just to refresh statistics. */
    rocksdb_options_set_skip_stats_update_on_db_open(o, 1);
    /* RocksDB's own LOG (in the data directory) gets only the header written
     * at open: in the Debian build an append after a failed append (disk full)
     * aborts, and runtime messages at any level could be that append. Our own
     * failures go to the arb_logger. */
    rocksdb_options_set_info_log_level(o, 5 /* HEADER_LEVEL */);
}

/* Per column family: compaction, compression and table options for its
 * profile. compress = 0 when this RocksDB build lacks LZ4 or zstd. */
static void set_cf_options(arb_store *s, rocksdb_options_t *o, int profile, int compress)
{
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();

    /* Level compaction sized from the last level up: about 90% of the data
     * is in the last level, so space amplification stays near 1.1 and a
     * point read touches at most one file per level. Files grow twice per
     * level (64, 128, 256 MiB ...) so a tree of 10^8 entries (~150 GB) is a
     * few hundred files, inside the open-file budget, and the table cache
     * never has to reopen files. */
    rocksdb_options_set_compaction_style(o, rocksdb_level_compaction);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
    rocksdb_options_set_target_file_size_base(o, 64u << 20);
    rocksdb_options_set_target_file_size_multiplier(o, 2);
    rocksdb_options_set_max_bytes_for_level_base(o, 256u << 20);
    if (profile == PROFILE_BLOBS) {
        rocksdb_options_set_enable_blob_files(o, 1);
        rocksdb_options_set_min_blob_size(o, BLOB_MIN_BYTES);
        rocksdb_options_set_blob_file_size(o, 256u << 20);
        rocksdb_options_set_blob_compression_type(o, compress ? rocksdb_lz4_compression
                                                              : rocksdb_no_compression);
        rocksdb_options_set_enable_blob_gc(o, 1);
    }
    if (!compress || profile == PROFILE_RAW || profile == PROFILE_BLOBS) {
        rocksdb_options_set_compression(o, rocksdb_no_compression);
        rocksdb_options_set_bottommost_compression(o, rocksdb_no_compression);
    } else {
        rocksdb_options_set_compression(o, rocksdb_lz4_compression);
        rocksdb_options_set_bottommost_compression(
            o, profile == PROFILE_BODIES || profile == PROFILE_INDEX ? rocksdb_lz4_compression
                                                                     : rocksdb_zstd_compression);
    }

    rocksdb_block_based_options_set_block_cache(t, s->cache);
    /* Full (not block-based) bloom filters, 10 bits per key (~1% false
     * positives): most reads are point lookups of keys that may be absent
     * (txids, hashes). The table options take ownership of the policy. */
    rocksdb_block_based_options_set_filter_policy(
        t, rocksdb_filterpolicy_create_bloom_full(BLOOM_BITS_PER_KEY));
    rocksdb_block_based_options_set_format_version(t, 5);
    /* Certificates are ~1.5 KB: 16 KiB blocks hold ten, so range reads (data
     * tiles, get-entries) read fewer blocks and the index is a quarter of
     * the size it would be with 4 KiB blocks. */
    rocksdb_block_based_options_set_block_size(t, profile == PROFILE_BODIES ? 16u << 10
                                                                             : 4u << 10);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(t, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(t, 1);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);
}

/* The default block cache: a quarter of the machine's memory, at least
 * DEFAULT_CACHE_BYTES. An LRU cache takes memory only as blocks are read. */
static size_t default_cache_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t quarter;

    if (pages <= 0 || page <= 0)
        return DEFAULT_CACHE_BYTES;
    quarter = (uint64_t)pages / 4 * (uint64_t)page;
    if (quarter > SIZE_MAX)
        quarter = SIZE_MAX;
    return quarter > DEFAULT_CACHE_BYTES ? (size_t)quarter : DEFAULT_CACHE_BYTES;
}

/* Builds the list of column families to open: "default" first, then the ones
 * already in the database, then the caller's missing ones; fills s->cf_idx. */
static arb_err cf_union(arb_store *s, char **existing, size_t n_existing,
                        const char *const *cf_names, size_t n_cfs, const char ***names_out,
                        arb_errbuf *eb)
{
    const char **names = calloc(n_existing + n_cfs + 1, sizeof *names);
    size_t n = 0;

    *names_out = NULL;
    if (names == NULL || (s->cf_idx = calloc(n_cfs ? n_cfs : 1, sizeof *s->cf_idx)) == NULL) {
        free(names);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    names[n++] = "default";
    for (size_t i = 0; i < n_existing; i++)
        if (strcmp(existing[i], "default") != 0)
            names[n++] = existing[i];
    for (size_t i = 0; i < n_cfs; i++) {
        size_t j;
        for (j = 0; j < n; j++)
            if (strcmp(names[j], cf_names[i]) == 0)
                break;
        if (j == n)
            names[n++] = cf_names[i];
        s->cf_idx[i] = j;
    }
    s->n_all = n;
    *names_out = names;
    return ARB_OK;
}

static arb_err open_db(arb_store *s, const char **names, int compress, arb_errbuf *eb,
                       char **rerr)
{
    rocksdb_options_t **cfo = calloc(s->n_all, sizeof *cfo);
    arb_err err = ARB_OK;

    if (cfo == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if (s->opts != NULL)
        rocksdb_options_destroy(s->opts);
    s->opts = rocksdb_options_create();
    set_db_options(s->opts, s->max_wal_bytes);
    set_cf_options(s, s->opts, PROFILE_RECORDS, compress);
    for (size_t i = 0; i < s->n_all; i++) {
        if ((cfo[i] = rocksdb_options_create_copy(s->opts)) == NULL)
            break;
        set_cf_options(s, cfo[i], cf_profile(names[i]), compress);
    }
    for (size_t i = 0; i < s->n_all; i++)
        if (cfo[i] == NULL) {
            err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
            goto out;
        }
    s->db = rocksdb_open_column_families(s->opts, s->dir, (int)s->n_all, names,
                                         (const rocksdb_options_t *const *)cfo, s->all, rerr);
out:
    for (size_t i = 0; i < s->n_all; i++)
        if (cfo[i] != NULL)
            rocksdb_options_destroy(cfo[i]);
    free(cfo);
    return err;
}

/* 1 if no column family holds any key. */
static arb_err all_empty(arb_store *s, int *empty, arb_errbuf *eb)
{
    char *rerr = NULL;

    *empty = 1;
    for (size_t i = 0; i < s->n_all && *empty; i++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->all[i]);
        rocksdb_iter_seek_to_first(it);
        if (rocksdb_iter_valid(it))
            *empty = 0;
        rocksdb_iter_get_error(it, &rerr);
        rocksdb_iter_destroy(it);
        if (rerr != NULL)
            return take_error(eb, s->dir, "open", &rerr);
    }
    return ARB_OK;
}

static arb_err write_marker(arb_store *s, arb_errbuf *eb)
{
    char *rerr = NULL;

    rocksdb_put_cf(s->db, s->wo_sync, s->all[0], ARB_STORE_MARKER_KEY,
                   sizeof ARB_STORE_MARKER_KEY - 1, ARB_STORE_MARKER_VALUE,
                   sizeof ARB_STORE_MARKER_VALUE - 1, &rerr);
    return take_error(eb, s->dir, "creation", &rerr);
}

/* Checks (or, for a new database, writes) the format marker. */
static arb_err check_marker(arb_store *s, int existed, arb_errbuf *eb)
{
    char *rerr = NULL;
    size_t len = 0;
    arb_err err = ARB_OK;
    rocksdb_pinnableslice_t *v =
        rocksdb_get_pinned_cf(s->db, s->ro, s->all[0], ARB_STORE_MARKER_KEY,
                              sizeof ARB_STORE_MARKER_KEY - 1, &rerr);

    if (rerr != NULL)
        return take_error(eb, s->dir, "open", &rerr);
    if (v != NULL) {
        const char *p = rocksdb_pinnableslice_value(v, &len);
        if (len != sizeof ARB_STORE_MARKER_VALUE - 1 ||
            memcmp(p, ARB_STORE_MARKER_VALUE, len) != 0) {
            char shown[41];
            size_t k;
            for (k = 0; k < len && k < sizeof shown - 1; k++)
                shown[k] = (p[k] >= 0x20 && p[k] < 0x7f) ? p[k] : '?';
            shown[k] = '\0';
            err = arb_errf(eb, ARB_ERR_PARSE,
                           "data directory %s has store format \"%s\", expected \"%s\"", s->dir,
                           shown, ARB_STORE_MARKER_VALUE);
        }
        rocksdb_pinnableslice_destroy(v);
        return err;
    }
    if (existed) {
        /* A database without the marker: either a creation interrupted between
         * RocksDB's setup and the marker write (then it is empty), or someone
         * else's database. */
        int empty;
        if ((err = all_empty(s, &empty, eb)) != ARB_OK)
            return err;
        if (!empty)
            return arb_errf(eb, ARB_ERR_PARSE,
                            "data directory %s holds a RocksDB database that is not an arbor "
                            "store (no format marker)",
                            s->dir);
        arb_logf(&s->log, ARB_LOG_WARN, "store %s: completing an interrupted creation", s->dir);
    }
    return write_marker(s, eb);
}

arb_err arb_store_open(arb_store **out, const char *dir, const char *const *cf_names, size_t n_cfs,
                       const arb_store_opts *opts, arb_errbuf *eb)
{
    arb_store *s = NULL;
    arb_store_opts dflt = {0};
    char **existing = NULL, *rerr = NULL;
    size_t n_existing = 0;
    const char **names = NULL;
    int existed;
    arb_err err;

    *out = NULL;
    if (opts == NULL)
        opts = &dflt;
    if (dir == NULL || *dir == '\0')
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "no data directory given");
    if (n_cfs > MAX_CFS || (n_cfs > 0 && cf_names == NULL))
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "data directory %s: bad column family list", dir);
    for (size_t i = 0; i < n_cfs; i++) {
        if (cf_names[i] == NULL || cf_names[i][0] == '\0')
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "data directory %s: empty column family name",
                            dir);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cf_names[i], cf_names[j]) == 0)
                return arb_errf(eb, ARB_ERR_INVALID_ARG,
                                "data directory %s: column family %s listed twice", dir,
                                cf_names[i]);
    }

    if ((err = inspect_dir(dir, !opts->no_create, &existed, eb)) != ARB_OK)
        return err;
    if ((err = free_space(dir, eb)) != ARB_OK)
        return err;

    if ((s = calloc(1, sizeof *s)) == NULL || (s->dir = strdup(dir)) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_init(&s->gate_mu, NULL);
    pthread_cond_init(&s->gate_cv, NULL);
    s->log = opts->log;
    s->on_sync = opts->on_sync;
    s->sync_ud = opts->sync_ud;
    s->max_wal_bytes = opts->max_wal_bytes ? opts->max_wal_bytes : MAX_TOTAL_WAL_BYTES;
    if (s->max_wal_bytes < MIN_WAL_BYTES)
        s->max_wal_bytes = MIN_WAL_BYTES;
    s->n_cfs = n_cfs;
    s->cache = rocksdb_cache_create_lru(opts->block_cache_bytes ? opts->block_cache_bytes
                                                                : default_cache_bytes());
    s->ro = rocksdb_readoptions_create();
    s->wo_sync = rocksdb_writeoptions_create();
    s->wo_nosync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wo_sync, 1);
    if (unsafe_no_sync()) {
        rocksdb_writeoptions_set_sync(s->wo_sync, 0);
        arb_logf(&s->log, ARB_LOG_WARN,
                 "store %s: UNSAFE: %s=1, synced writes are not synced; a power loss loses "
                 "acknowledged data (a test-only switch)",
                 dir, UNSAFE_NO_SYNC_ENV);
    }
    rocksdb_readoptions_set_verify_checksums(s->ro, 1);

    if (existed) {
        rocksdb_options_t *lo = rocksdb_options_create();
        existing = rocksdb_list_column_families(lo, dir, &n_existing, &rerr);
        rocksdb_options_destroy(lo);
        if ((err = take_error(eb, dir, "open", &rerr)) != ARB_OK)
            goto out;
    }
    if ((err = cf_union(s, existing, n_existing, cf_names, n_cfs, &names, eb)) != ARB_OK)
        goto out;
    if ((s->all = calloc(s->n_all, sizeof *s->all)) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }

    if ((err = open_db(s, names, 1, eb, &rerr)) != ARB_OK)
        goto out;
    if (s->db == NULL && rerr != NULL && strstr(rerr, "ompression") != NULL) {
        /* This RocksDB build lacks LZ4 or zstd: run uncompressed. */
        arb_logf(&s->log, ARB_LOG_WARN, "store %s: compression unavailable (%s), storing raw",
                 dir, rerr);
        rocksdb_free(rerr);
        rerr = NULL;
        if ((err = open_db(s, names, 0, eb, &rerr)) != ARB_OK)
            goto out;
    }
    if (s->db == NULL) {
        err = rerr ? take_error(eb, dir, "open", &rerr)
                   : arb_errf(eb, ARB_ERR_DB, "data directory %s: open failed", dir);
        goto out;
    }
    if ((err = check_marker(s, existed, eb)) != ARB_OK)
        goto out;
    if ((s->names = calloc(s->n_all, sizeof *s->names)) == NULL) {
        err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->n_all; i++)
        if ((s->names[i] = strdup(names[i])) == NULL) {
            err = arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
            goto out;
        }
    *out = s;
    s = NULL;

out:
    if (existing != NULL)
        rocksdb_list_column_families_destroy(existing, n_existing);
    free(names);
    store_free(s);
    return err;
}

void arb_store_close(arb_store *s) { store_free(s); }

const char *arb_store_dir(const arb_store *s) { return s->dir; }

size_t arb_store_cf_count(const arb_store *s) { return s->n_cfs; }

/* ---- reads ---- */

static const rocksdb_readoptions_t *read_opts(const arb_store *s, const arb_store_snapshot *snap)
{
    return snap != NULL ? snap->ro : s->ro;
}

/* Looks the key up; *v is NULL when absent. */
static arb_err get_pinned(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                          const uint8_t *key, size_t key_len, rocksdb_pinnableslice_t **v,
                          arb_errbuf *eb)
{
    char *rerr = NULL;

    *v = NULL;
    if (cf >= s->n_cfs)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "data directory %s: no column family %u", s->dir,
                        cf);
    if (snap != NULL && snap->s != s)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "data directory %s: snapshot of another store",
                        s->dir);
    if (gate_enter(s, eb) != ARB_OK)
        return ARB_ERR_IO;
    *v = rocksdb_get_pinned_cf(s->db, read_opts(s, snap), s->all[s->cf_idx[cf]],
                               (const char *)key, key_len, &rerr);
    gate_leave(s);
    return take_error(eb, s->dir, "read", &rerr);
}

arb_err arb_store_get_with(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                           const uint8_t *key, size_t key_len, arb_store_value_fn fn, void *ud,
                           arb_errbuf *eb)
{
    rocksdb_pinnableslice_t *v;
    const char *p;
    size_t len;
    arb_err err;

    if ((err = get_pinned(s, snap, cf, key, key_len, &v, eb)) != ARB_OK)
        return err;
    if (v == NULL)
        return ARB_ERR_NOT_FOUND;
    p = rocksdb_pinnableslice_value(v, &len);
    err = fn(ud, (const uint8_t *)p, len);
    rocksdb_pinnableslice_destroy(v);
    return err;
}

arb_err arb_store_get(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                      const uint8_t *key, size_t key_len, uint8_t **val, size_t *val_len,
                      arb_errbuf *eb)
{
    rocksdb_pinnableslice_t *v;
    const char *p;
    size_t len;
    arb_err err;

    *val = NULL;
    *val_len = 0;
    if ((err = get_pinned(s, snap, cf, key, key_len, &v, eb)) != ARB_OK)
        return err;
    if (v == NULL)
        return ARB_ERR_NOT_FOUND;
    p = rocksdb_pinnableslice_value(v, &len);
    if ((*val = malloc(len ? len : 1)) == NULL) {
        rocksdb_pinnableslice_destroy(v);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    memcpy(*val, p, len);
    *val_len = len;
    rocksdb_pinnableslice_destroy(v);
    return ARB_OK;
}

arb_err arb_store_get_into(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                           const uint8_t *key, size_t key_len, uint8_t *buf, size_t cap,
                           size_t *val_len, arb_errbuf *eb)
{
    rocksdb_pinnableslice_t *v;
    const char *p;
    size_t len;
    arb_err err;

    *val_len = 0;
    if ((err = get_pinned(s, snap, cf, key, key_len, &v, eb)) != ARB_OK)
        return err;
    if (v == NULL)
        return ARB_ERR_NOT_FOUND;
    p = rocksdb_pinnableslice_value(v, &len);
    *val_len = len;
    if (len > cap) {
        err = arb_errf(eb, ARB_ERR_INVALID_ARG,
                       "data directory %s: value of %zu bytes does not fit in %zu", s->dir, len,
                       cap);
    } else if (len > 0) {
        memcpy(buf, p, len);
    }
    rocksdb_pinnableslice_destroy(v);
    return err;
}

arb_err arb_store_exists(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                         const uint8_t *key, size_t key_len, int *found, arb_errbuf *eb)
{
    rocksdb_pinnableslice_t *v;
    arb_err err;

    *found = 0;
    if ((err = get_pinned(s, snap, cf, key, key_len, &v, eb)) != ARB_OK)
        return err;
    if (v != NULL) {
        *found = 1;
        rocksdb_pinnableslice_destroy(v);
    }
    return ARB_OK;
}

arb_err arb_store_get_u64(const arb_store *s, const arb_store_snapshot *snap, unsigned cf,
                          const uint8_t *key, size_t key_len, uint64_t *v, arb_errbuf *eb)
{
    uint8_t b[8];
    size_t len;
    arb_err err;

    *v = 0;
    err = arb_store_get_into(s, snap, cf, key, key_len, b, sizeof b, &len, eb);
    if (err == ARB_ERR_INVALID_ARG || (err == ARB_OK && len != 8))
        return arb_errf(eb, ARB_ERR_PARSE,
                        "data directory %s: integer value of %zu bytes, expected 8", s->dir, len);
    if (err != ARB_OK)
        return err;
    for (int i = 7; i >= 0; i--)
        *v = (*v << 8) | b[i];
    return ARB_OK;
}

/* ---- batches ---- */

arb_err arb_store_batch_new(arb_store_batch **out, arb_store *s)
{
    arb_store_batch *b = calloc(1, sizeof *b);

    *out = NULL;
    if (b == NULL)
        return ARB_ERR_NOMEM;
    /* A batch holds column family handles: it keeps the gate until freed. */
    if (gate_enter(s, NULL) != ARB_OK) {
        free(b);
        return ARB_ERR_IO;
    }
    b->s = s;
    b->wb = rocksdb_writebatch_create();
    *out = b;
    return ARB_OK;
}

void arb_store_batch_free(arb_store_batch *b)
{
    if (b == NULL)
        return;
    rocksdb_writebatch_destroy(b->wb);
    gate_leave(b->s);
    free(b);
}

void arb_store_batch_clear(arb_store_batch *b)
{
    rocksdb_writebatch_clear(b->wb);
    b->bad_cf = 0;
}

size_t arb_store_batch_count(const arb_store_batch *b)
{
    return (size_t)rocksdb_writebatch_count(b->wb);
}

/* The handle for cf, or NULL (and the batch marked bad). */
static rocksdb_column_family_handle_t *batch_cf(arb_store_batch *b, unsigned cf)
{
    if (cf >= b->s->n_cfs) {
        b->bad_cf = 1;
        return NULL;
    }
    return b->s->all[b->s->cf_idx[cf]];
}

void arb_store_batch_put(arb_store_batch *b, unsigned cf, const uint8_t *key, size_t key_len,
                         const uint8_t *val, size_t val_len)
{
    rocksdb_column_family_handle_t *h = batch_cf(b, cf);
    if (h != NULL)
        rocksdb_writebatch_put_cf(b->wb, h, (const char *)key, key_len, (const char *)val,
                                  val_len);
}

void arb_store_batch_delete(arb_store_batch *b, unsigned cf, const uint8_t *key, size_t key_len)
{
    rocksdb_column_family_handle_t *h = batch_cf(b, cf);
    if (h != NULL)
        rocksdb_writebatch_delete_cf(b->wb, h, (const char *)key, key_len);
}

void arb_store_batch_delete_range(arb_store_batch *b, unsigned cf, const uint8_t *begin,
                                  size_t begin_len, const uint8_t *end, size_t end_len)
{
    rocksdb_column_family_handle_t *h = batch_cf(b, cf);
    if (h != NULL)
        rocksdb_writebatch_delete_range_cf(b->wb, h, (const char *)begin, begin_len,
                                           (const char *)end, end_len);
}

void arb_store_batch_put_u64(arb_store_batch *b, unsigned cf, const uint8_t *key, size_t key_len,
                             uint64_t v)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    arb_store_batch_put(b, cf, key, key_len, le, sizeof le);
}

/* Refuses writes after an earlier write failure (see write_failed). */
static arb_err check_writable(arb_store *s, arb_errbuf *eb)
{
    if (atomic_load(&s->write_failed))
        return arb_errf(eb, ARB_ERR_IO,
                        "data directory %s: writes disabled after an earlier write error "
                        "(reopen the store)",
                        s->dir);
    return ARB_OK;
}

arb_err arb_store_write(arb_store *s, const arb_store_batch *b, unsigned flags, arb_errbuf *eb)
{
    char *rerr = NULL;
    arb_err err;

    if (b->s != s)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "data directory %s: batch of another store",
                        s->dir);
    if (b->bad_cf)
        return arb_errf(eb, ARB_ERR_INVALID_ARG,
                        "data directory %s: batch names a column family out of range", s->dir);
    if ((err = check_writable(s, eb)) != ARB_OK)
        return err;
    /* The batch holds the gate (arb_store_batch_new), so db is stable here. */
    if ((flags & ARB_STORE_SYNC) && s->on_sync != NULL) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rocksdb_write(s->db, s->wo_sync, b->wb, &rerr);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rerr == NULL)
            s->on_sync(s->sync_ud, (double)(t1.tv_sec - t0.tv_sec) +
                                       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    } else {
        rocksdb_write(s->db, (flags & ARB_STORE_SYNC) ? s->wo_sync : s->wo_nosync, b->wb, &rerr);
    }
    if (rerr != NULL) {
        atomic_store(&s->write_failed, 1);
        arb_logf(&s->log, ARB_LOG_ERROR, "store %s: write failed: %s", s->dir, rerr);
    }
    return take_error(eb, s->dir, "write", &rerr);
}

/* ---- snapshots ---- */

arb_err arb_store_snapshot_new(arb_store_snapshot **out, arb_store *s)
{
    arb_store_snapshot *snap = calloc(1, sizeof *snap);

    *out = NULL;
    if (snap == NULL)
        return ARB_ERR_NOMEM;
    if (gate_enter(s, NULL) != ARB_OK) { /* held until arb_store_snapshot_free */
        free(snap);
        return ARB_ERR_IO;
    }
    snap->s = s;
    snap->snap = rocksdb_create_snapshot(s->db);
    snap->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(snap->ro, 1);
    rocksdb_readoptions_set_snapshot(snap->ro, snap->snap);
    *out = snap;
    return ARB_OK;
}

void arb_store_snapshot_free(arb_store_snapshot *snap)
{
    if (snap == NULL)
        return;
    rocksdb_readoptions_destroy(snap->ro);
    rocksdb_release_snapshot(snap->s->db, snap->snap);
    gate_leave(snap->s);
    free(snap);
}

/* ---- iterators ---- */

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d != NULL && n)
        memcpy(d, p, n);
    return d;
}

arb_err arb_store_iter_new(arb_store_iter **out, arb_store *s, const arb_store_snapshot *snap,
                           unsigned cf, const uint8_t *lower, size_t lower_len,
                           const uint8_t *upper, size_t upper_len, arb_errbuf *eb)
{
    arb_store_iter *it;

    *out = NULL;
    if (cf >= s->n_cfs)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "data directory %s: no column family %u", s->dir,
                        cf);
    if (snap != NULL && snap->s != s)
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "data directory %s: snapshot of another store",
                        s->dir);
    if ((it = calloc(1, sizeof *it)) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    if (gate_enter(s, eb) != ARB_OK) { /* held until arb_store_iter_free */
        free(it);
        return ARB_ERR_IO;
    }
    it->s = s;
    if ((lower != NULL && (it->lower = dup_bytes(lower, lower_len)) == NULL) ||
        (upper != NULL && (it->upper = dup_bytes(upper, upper_len)) == NULL)) {
        free(it->lower);
        free(it);
        gate_leave(s);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    it->lower_len = lower ? lower_len : 0;
    it->upper_len = upper ? upper_len : 0;
    it->has_upper = upper != NULL;
    /* RocksDB keeps pointers to the bounds: they live as long as the iterator. */
    it->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(it->ro, 1);
    if (snap != NULL)
        rocksdb_readoptions_set_snapshot(it->ro, snap->snap);
    if (it->lower != NULL)
        rocksdb_readoptions_set_iterate_lower_bound(it->ro, (const char *)it->lower,
                                                    it->lower_len);
    if (it->upper != NULL)
        rocksdb_readoptions_set_iterate_upper_bound(it->ro, (const char *)it->upper,
                                                    it->upper_len);
    it->it = rocksdb_create_iterator_cf(s->db, it->ro, s->all[s->cf_idx[cf]]);
    *out = it;
    return ARB_OK;
}

arb_err arb_store_iter_new_prefix(arb_store_iter **out, arb_store *s,
                                  const arb_store_snapshot *snap, unsigned cf,
                                  const uint8_t *prefix, size_t prefix_len, arb_errbuf *eb)
{
    uint8_t *end = malloc(prefix_len ? prefix_len : 1);
    size_t end_len;
    arb_err err;

    *out = NULL;
    if (end == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    end_len = arb_store_prefix_end(end, prefix, prefix_len);
    err = arb_store_iter_new(out, s, snap, cf, prefix_len ? prefix : NULL, prefix_len,
                             end_len ? end : NULL, end_len, eb);
    free(end);
    return err;
}

void arb_store_iter_free(arb_store_iter *it)
{
    if (it == NULL)
        return;
    rocksdb_iter_destroy(it->it);
    rocksdb_readoptions_destroy(it->ro);
    gate_leave(it->s);
    free(it->lower);
    free(it->upper);
    free(it);
}

void arb_store_iter_first(arb_store_iter *it) { rocksdb_iter_seek_to_first(it->it); }

void arb_store_iter_last(arb_store_iter *it) { rocksdb_iter_seek_to_last(it->it); }

void arb_store_iter_seek(arb_store_iter *it, const uint8_t *key, size_t key_len)
{
    /* Seeking below the lower bound is undefined in RocksDB: clamp. */
    if (it->lower != NULL && key_cmp(key, key_len, it->lower, it->lower_len) < 0)
        rocksdb_iter_seek_to_first(it->it);
    else
        rocksdb_iter_seek(it->it, (const char *)key, key_len);
}

void arb_store_iter_seek_prev(arb_store_iter *it, const uint8_t *key, size_t key_len)
{
    /* Likewise for seeking at or past the upper bound. */
    if (it->has_upper && key_cmp(key, key_len, it->upper, it->upper_len) >= 0)
        rocksdb_iter_seek_to_last(it->it);
    else
        rocksdb_iter_seek_for_prev(it->it, (const char *)key, key_len);
}

int arb_store_iter_valid(const arb_store_iter *it) { return rocksdb_iter_valid(it->it) != 0; }

void arb_store_iter_next(arb_store_iter *it) { rocksdb_iter_next(it->it); }

void arb_store_iter_prev(arb_store_iter *it) { rocksdb_iter_prev(it->it); }

const uint8_t *arb_store_iter_key(const arb_store_iter *it, size_t *key_len)
{
    return (const uint8_t *)rocksdb_iter_key(it->it, key_len);
}

const uint8_t *arb_store_iter_value(const arb_store_iter *it, size_t *val_len)
{
    return (const uint8_t *)rocksdb_iter_value(it->it, val_len);
}

arb_err arb_store_iter_error(const arb_store_iter *it, arb_errbuf *eb)
{
    char *rerr = NULL;

    rocksdb_iter_get_error(it->it, &rerr);
    return take_error(eb, it->s->dir, "iteration", &rerr);
}

/* ---- maintenance ---- */

arb_err arb_store_flush(arb_store *s, arb_errbuf *eb)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    char *rerr = NULL;
    arb_err err = ARB_OK;

    if ((err = check_writable(s, eb)) != ARB_OK || (err = gate_enter(s, eb)) != ARB_OK) {
        rocksdb_flushoptions_destroy(fo);
        return err;
    }
    rocksdb_flushoptions_set_wait(fo, 1);
    for (size_t i = 0; i < s->n_all && err == ARB_OK; i++) {
        rocksdb_flush_cf(s->db, fo, s->all[i], &rerr);
        err = take_error(eb, s->dir, "flush", &rerr);
    }
    gate_leave(s);
    rocksdb_flushoptions_destroy(fo);
    return err;
}

arb_err arb_store_checkpoint(arb_store *s, const char *dir, arb_errbuf *eb)
{
    struct stat st;
    char *rerr = NULL;
    rocksdb_checkpoint_t *cp;
    arb_err err;

    if (dir == NULL || *dir == '\0')
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "no checkpoint directory given");
    if (stat(dir, &st) == 0)
        return arb_errf(eb, ARB_ERR_EXISTS, "checkpoint directory %s already exists", dir);
    if ((err = check_writable(s, eb)) != ARB_OK || (err = gate_enter(s, eb)) != ARB_OK)
        return err;
    cp = rocksdb_checkpoint_object_create(s->db, &rerr);
    if ((err = take_error(eb, s->dir, "checkpoint", &rerr)) == ARB_OK) {
        /* log_size_for_flush 0: always flush, so the copy needs no log replay. */
        rocksdb_checkpoint_create(cp, dir, 0, &rerr);
        rocksdb_checkpoint_object_destroy(cp);
        err = take_error(eb, s->dir, "checkpoint", &rerr);
    }
    gate_leave(s);
    return err;
}

/* ---- recovery after a write failure ---- */

int arb_store_write_failed(const arb_store *s)
{
    return atomic_load(&((arb_store *)s)->write_failed) != 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void gate_open(arb_store *s)
{
    pthread_mutex_lock(&s->gate_mu);
    atomic_store(&s->reopening, 0);
    pthread_cond_broadcast(&s->gate_cv);
    pthread_mutex_unlock(&s->gate_mu);
}

arb_err arb_store_reopen(arb_store *s, unsigned wait_ms, arb_errbuf *eb)
{
    const rocksdb_options_t **cfo = NULL;
    char *rerr = NULL;
    uint64_t deadline;
    int expected = 0;
    arb_err err;

    /* Opening writes RocksDB's LOG header and a new write-ahead log: on a
     * still-full disk that is the failing append the Debian build aborts on
     * (see free_space). Check before closing anything. */
    if ((err = free_space(s->dir, eb)) != ARB_OK)
        return err;
    if ((cfo = calloc(s->n_all, sizeof *cfo)) == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n_all; i++)
        cfo[i] = s->opts;
    if (!atomic_compare_exchange_strong(&s->reopening, &expected, 1)) {
        free(cfo);
        return arb_errf(eb, ARB_ERR_BUSY, "data directory %s: already being reopened", s->dir);
    }
    deadline = mono_ms() + wait_ms;
    while (atomic_load(&s->users) != 0) {
        if (mono_ms() >= deadline) {
            gate_open(s);
            free(cfo);
            return arb_errf(eb, ARB_ERR_BUSY,
                            "data directory %s: still in use (%u readers, batches or "
                            "iterators) after %u ms; not reopened",
                            s->dir, atomic_load(&s->users), wait_ms);
        }
        usleep(1000);
    }
    /* Nobody uses the database now, and nobody can until the gate opens. */
    if (s->db != NULL) {
        for (size_t i = 0; i < s->n_all; i++)
            if (s->all[i] != NULL) {
                rocksdb_column_family_handle_destroy(s->all[i]);
                s->all[i] = NULL;
            }
        rocksdb_close(s->db);
        s->db = NULL;
    }
    s->db = rocksdb_open_column_families(s->opts, s->dir, (int)s->n_all,
                                         (const char *const *)s->names, cfo, s->all, &rerr);
    free(cfo);
    if (s->db == NULL) {
        err = rerr ? take_error(eb, s->dir, "reopen", &rerr)
                   : arb_errf(eb, ARB_ERR_DB, "data directory %s: reopen failed", s->dir);
        arb_logf(&s->log, ARB_LOG_ERROR, "store %s: %s", s->dir, eb ? eb->msg : "reopen failed");
    } else {
        atomic_store(&s->write_failed, 0);
        arb_logf(&s->log, ARB_LOG_INFO, "store %s: reopened; writes enabled again", s->dir);
        err = ARB_OK;
    }
    gate_open(s);
    return err;
}
