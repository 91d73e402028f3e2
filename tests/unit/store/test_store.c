/* The storage core against the real RocksDB: opening and its errors (locked,
 * foreign, corrupt, not a directory), reads, atomic batches, iteration
 * boundaries checked against a naive sorted-array model, snapshots,
 * checkpoints, the error mapping, a write that fails (file size limit) and a
 * full disk (a small tmpfs, when mounting is allowed). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <rocksdb/c.h>

#include "ledger/store/store.h"
#include "ledger/store/store_internal.h"
#include "tests/test.h"
#include "tests/unit/store/helper_proc.h"

static const char *const ab[] = {"a", "b"};

#define K(s) (const uint8_t *)(s), strlen(s)

static void put1(arb_store *s, unsigned cf, const char *k, const char *v)
{
    arb_store_batch *b;
    arb_errbuf eb;
    CHECK(arb_store_batch_new(&b, s) == ARB_OK);
    arb_store_batch_put(b, cf, K(k), K(v));
    CHECK(arb_store_write(s, b, ARB_STORE_SYNC, &eb) == ARB_OK);
    arb_store_batch_free(b);
}

/* 1 if cf holds key with exactly value v (v NULL: key absent). */
static int has(const arb_store *s, const arb_store_snapshot *snap, unsigned cf, const char *k,
               const char *v)
{
    uint8_t *got;
    size_t len;
    arb_err err = arb_store_get(s, snap, cf, K(k), &got, &len, NULL);
    int ok;
    if (v == NULL)
        return err == ARB_ERR_NOT_FOUND && got == NULL;
    ok = err == ARB_OK && len == strlen(v) && memcmp(got, v, len) == 0;
    free(got);
    return ok;
}

static void path_join(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_open_reopen(void)
{
    char tmp[256], dir[300];
    arb_store *s;
    arb_errbuf eb;
    static const char *const bac[] = {"b", "a", "c"};
    static const char *const c_only[] = {"c"};
    static const char *const dflt[] = {"default"};

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    /* Missing parents are created. */
    path_join(dir, sizeof dir, tmp, "x/y/data");
    CHECK(arb_store_open(&s, dir, ab, 2, NULL, &eb) == ARB_OK);
    CHECK_STR(arb_store_dir(s), dir);
    CHECK_EQ(arb_store_cf_count(s), 2);
    put1(s, 0, "ka", "in-a");
    put1(s, 1, "kb", "in-b");
    CHECK(has(s, NULL, 0, "ka", "in-a"));
    CHECK(has(s, NULL, 0, "kb", NULL));
    arb_store_close(s);

    /* Another order and a new column family: indexes follow the new list. */
    CHECK(arb_store_open(&s, dir, bac, 3, NULL, &eb) == ARB_OK);
    CHECK(has(s, NULL, 1, "ka", "in-a"));
    CHECK(has(s, NULL, 0, "kb", "in-b"));
    CHECK(has(s, NULL, 2, "ka", NULL));
    put1(s, 2, "kc", "in-c");
    arb_store_close(s);

    /* Opening with fewer column families than exist works. */
    CHECK(arb_store_open(&s, dir, c_only, 1, NULL, &eb) == ARB_OK);
    CHECK(has(s, NULL, 0, "kc", "in-c"));
    arb_store_close(s);

    /* The marker sits in the default column family. */
    CHECK(arb_store_open(&s, dir, dflt, 1, NULL, &eb) == ARB_OK);
    CHECK(has(s, NULL, 0, ARB_STORE_MARKER_KEY, ARB_STORE_MARKER_VALUE));
    arb_store_close(s);

    /* No column families at all is fine too. */
    CHECK(arb_store_open(&s, dir, NULL, 0, NULL, &eb) == ARB_OK);
    arb_store_close(s);
    arb_store_close(NULL);
    arb_test_rmtree(tmp);
}

/* 1 if one of dir's OPTIONS-* files (RocksDB's record of the options in
 * force) contains `text`. */
static int options_have(const char *dir, const char *text)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;

    if (d == NULL)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[600];
        size_t len;
        uint8_t *data;
        if (strncmp(e->d_name, "OPTIONS-", 8) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if ((data = arb_test_read_file(path, &len)) != NULL) {
            found = strstr((const char *)data, text) != NULL;
            free(data);
        }
    }
    closedir(d);
    return found;
}

/* The options documented in docs/store.md are the ones RocksDB runs with. */
static void test_options_in_force(void)
{
    char tmp[256];
    arb_store *s;
    arb_errbuf eb;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    arb_store_close(s);
    CHECK(options_have(tmp, "compression=kLZ4Compression"));
    CHECK(options_have(tmp, "bottommost_compression=kZSTD"));
    CHECK(options_have(tmp, "filter_policy=bloomfilter"));
    CHECK(options_have(tmp, "whole_key_filtering=true"));
    CHECK(options_have(tmp, "cache_index_and_filter_blocks=true"));
    CHECK(options_have(tmp, "wal_recovery_mode=kPointInTimeRecovery"));
    CHECK(options_have(tmp, "max_open_files=512"));
    arb_test_rmtree(tmp);
}

/* 1 if the newest-named OPTIONS-* file of dir has `line` (exactly, after its
 * indentation) in the section whose header is `section`. */
static int section_has(const char *dir, const char *section, const char *line)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char best[256] = "", path[600], want[200];
    uint8_t *data;
    size_t len;
    const char *sec, *end, *hit;
    int found = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "OPTIONS-", 8) == 0 && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", e->d_name);
    closedir(d);
    snprintf(path, sizeof path, "%s/%s", dir, best);
    snprintf(want, sizeof want, "\n  %s\n", line);
    if (best[0] == '\0' || (data = arb_test_read_file(path, &len)) == NULL)
        return 0;
    if ((sec = strstr((const char *)data, section)) != NULL) {
        end = strstr(sec + 1, "\n[");
        hit = strstr(sec, want);
        found = hit != NULL && (end == NULL || hit < end);
    }
    free(data);
    return found;
}

/* Each column family gets the table options of what it holds (docs/store.md,
 * "Column family profiles"): stored entries LZ4 on every level in 16 KiB
 * blocks, hashes uncompressed, other records LZ4 and zstd at the bottom; and
 * the database-wide bounds. */
static void test_cf_profiles(void)
{
    static const char *const cfs[] = {"log_entries", "log_nodes", "log_dedup", "chain_utxo"};
    char tmp[256];
    arb_store *s;
    arb_errbuf eb;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, cfs, 4, NULL, &eb) == ARB_OK);
    arb_store_close(s);
    CHECK(section_has(tmp, "[CFOptions \"log_entries\"]", "compression=kLZ4Compression"));
    CHECK(section_has(tmp, "[CFOptions \"log_entries\"]", "bottommost_compression=kLZ4Compression"));
    CHECK(section_has(tmp, "[TableOptions/BlockBasedTable \"log_entries\"]", "block_size=16384"));
    CHECK(section_has(tmp, "[CFOptions \"log_nodes\"]", "compression=kNoCompression"));
    CHECK(section_has(tmp, "[TableOptions/BlockBasedTable \"log_nodes\"]", "block_size=4096"));
    CHECK(section_has(tmp, "[CFOptions \"log_dedup\"]", "bottommost_compression=kNoCompression"));
    CHECK(section_has(tmp, "[CFOptions \"chain_utxo\"]", "compression=kLZ4Compression"));
    CHECK(section_has(tmp, "[CFOptions \"chain_utxo\"]", "bottommost_compression=kZSTD"));
    CHECK(section_has(tmp, "[CFOptions \"default\"]", "compression=kLZ4Compression"));
    for (size_t i = 0; i < 4; i++) {
        char sec[80];
        snprintf(sec, sizeof sec, "[CFOptions \"%s\"]", cfs[i]);
        CHECK(section_has(tmp, sec, "level_compaction_dynamic_level_bytes=true"));
        CHECK(section_has(tmp, sec, "target_file_size_base=67108864"));
        CHECK(section_has(tmp, sec, "target_file_size_multiplier=2"));
        snprintf(sec, sizeof sec, "[TableOptions/BlockBasedTable \"%s\"]", cfs[i]);
        CHECK(section_has(tmp, sec, "filter_policy=bloomfilter"));
        CHECK(section_has(tmp, sec, "cache_index_and_filter_blocks=true"));
    }
    CHECK(section_has(tmp, "[DBOptions]", "max_total_wal_size=67108864"));
    CHECK(section_has(tmp, "[DBOptions]", "db_write_buffer_size=134217728"));
    CHECK(section_has(tmp, "[CFOptions \"log_entries\"]", "write_buffer_size=33554432"));
    CHECK(section_has(tmp, "[DBOptions]", "skip_stats_update_on_db_open=true"));
    arb_test_rmtree(tmp);
}

/* Total size of dir's write-ahead log files (*.log). */
static uint64_t wal_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t total = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char path[600];
        struct stat st;
        if (n < 4 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

/* The write-ahead log stays bounded: a column family written once (its
 * memtable would otherwise pin the first log file forever) next to one
 * written a lot. With a 1 MiB bound and 16 MiB written, far less than 16 MiB
 * of log is left for the next open to replay, and everything is there. */
static void test_wal_bounded(void)
{
    char tmp[256];
    arb_store *s;
    arb_store_opts o;
    arb_errbuf eb;
    uint8_t val[4096];
    uint64_t wal;

    memset(&o, 0, sizeof o);
    o.max_wal_bytes = 1 << 20;
    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, &o, &eb) == ARB_OK);
    put1(s, 0, "once", "1");
    for (unsigned i = 0; i < 4096; i++) {
        arb_store_batch *b;
        uint8_t key[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        memset(val, (int)(i & 0xff), sizeof val);
        CHECK(arb_store_batch_new(&b, s) == ARB_OK);
        arb_store_batch_put(b, 1, key, 4, val, sizeof val);
        CHECK(arb_store_write(s, b, 0, &eb) == ARB_OK);
        arb_store_batch_free(b);
    }
    arb_store_close(s);
    wal = wal_bytes(tmp);
    printf("write-ahead log left: %llu bytes of 16 MiB written\n", (unsigned long long)wal);
    CHECK(wal < (4u << 20));
    CHECK(arb_store_open(&s, tmp, ab, 2, &o, &eb) == ARB_OK);
    CHECK(has(s, NULL, 0, "once", "1"));
    for (unsigned i = 0; i < 4096; i += 511) {
        uint8_t key[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        uint8_t got[sizeof val];
        size_t len = 0;
        memset(val, (int)(i & 0xff), sizeof val);
        CHECK(arb_store_get_into(s, NULL, 1, key, 4, got, sizeof got, &len, &eb) == ARB_OK);
        CHECK(len == sizeof val && memcmp(got, val, len) == 0);
    }
    arb_store_close(s);
    arb_test_rmtree(tmp);
}

static void test_open_bad_args(void)
{
    char tmp[256];
    arb_store *s = (arb_store *)1;
    arb_errbuf eb;
    static const char *const dup[] = {"a", "b", "a"};
    static const char *const empty[] = {"a", ""};

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, NULL, ab, 2, NULL, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(s == NULL);
    CHECK(arb_store_open(&s, "", ab, 2, NULL, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(arb_store_open(&s, tmp, dup, 3, NULL, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(strstr(eb.msg, "listed twice") != NULL);
    CHECK(arb_store_open(&s, tmp, empty, 2, NULL, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(arb_store_open(&s, tmp, NULL, 2, NULL, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(s == NULL);
    arb_test_rmtree(tmp);
}

static void test_no_create(void)
{
    char tmp[256], dir[300];
    arb_store *s;
    arb_errbuf eb;
    arb_store_opts o = {0};
    struct stat st;

    o.no_create = 1;
    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    path_join(dir, sizeof dir, tmp, "none");
    CHECK(arb_store_open(&s, dir, ab, 2, &o, &eb) == ARB_ERR_NOT_FOUND);
    CHECK(strstr(eb.msg, dir) != NULL);
    CHECK(stat(dir, &st) != 0);
    /* An empty directory holds no store either, and is left empty. */
    CHECK(arb_store_open(&s, tmp, ab, 2, &o, &eb) == ARB_ERR_NOT_FOUND);
    CHECK(rmdir(tmp) == 0);
}

static void test_not_a_directory(void)
{
    char tmp[256], file[300];
    arb_store *s;
    arb_errbuf eb;
    char expect[400];

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    path_join(file, sizeof file, tmp, "plain");
    write_text(file, "hello\n");
    CHECK(arb_store_open(&s, file, ab, 2, NULL, &eb) == ARB_ERR_IO);
    CHECK(s == NULL);
    snprintf(expect, sizeof expect, "data directory %s is not a directory", file);
    CHECK_STR(eb.msg, expect);
    arb_test_rmtree(tmp);
}

static void test_foreign_directory(void)
{
    char tmp[256], file[300], lock[300];
    arb_store *s;
    arb_errbuf eb;
    struct stat st;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    path_join(file, sizeof file, tmp, "notes.txt");
    write_text(file, "mine\n");
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_ERR_PARSE);
    CHECK(strstr(eb.msg, tmp) != NULL);
    CHECK(strstr(eb.msg, "not an arbor store") != NULL);
    CHECK(strchr(eb.msg, '\n') == NULL);
    /* Nothing was written into the foreign directory. */
    path_join(lock, sizeof lock, tmp, "LOCK");
    CHECK(stat(lock, &st) != 0);
    arb_test_rmtree(tmp);
}

/* Makes a plain RocksDB database (not created by arb_store) holding `key` if
 * key is not NULL. */
static int make_rocksdb(const char *dir, const char *key)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
    char *err = NULL;
    rocksdb_t *db;

    rocksdb_options_set_create_if_missing(o, 1);
    db = rocksdb_open(o, dir, &err);
    if (db != NULL && key != NULL)
        rocksdb_put(db, w, key, strlen(key), "v", 1, &err);
    if (db != NULL)
        rocksdb_close(db);
    rocksdb_writeoptions_destroy(w);
    rocksdb_options_destroy(o);
    if (err != NULL) {
        rocksdb_free(err);
        return 0;
    }
    return db != NULL;
}

static void test_foreign_marker(void)
{
    char tmp[256], d1[300], d2[300], d3[300];
    arb_store *s;
    arb_errbuf eb;
    static const char *const dflt[] = {"default"};

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);

    /* A store whose marker says another format. */
    path_join(d1, sizeof d1, tmp, "other-format");
    CHECK(arb_store_open(&s, d1, dflt, 1, NULL, &eb) == ARB_OK);
    put1(s, 0, ARB_STORE_MARKER_KEY, "other/9");
    arb_store_close(s);
    CHECK(arb_store_open(&s, d1, ab, 2, NULL, &eb) == ARB_ERR_PARSE);
    CHECK(s == NULL);
    CHECK(strstr(eb.msg, d1) != NULL);
    CHECK(strstr(eb.msg, "\"other/9\"") != NULL);
    CHECK(strstr(eb.msg, ARB_STORE_MARKER_VALUE) != NULL);

    /* Someone else's RocksDB database with data and no marker. */
    path_join(d2, sizeof d2, tmp, "foreign-rocksdb");
    CHECK(make_rocksdb(d2, "theirs"));
    CHECK(arb_store_open(&s, d2, ab, 2, NULL, &eb) == ARB_ERR_PARSE);
    CHECK(strstr(eb.msg, "no format marker") != NULL);
    CHECK(strstr(eb.msg, d2) != NULL);

    /* An empty RocksDB database without the marker is what an interrupted
     * creation leaves: it is adopted and marked. */
    path_join(d3, sizeof d3, tmp, "interrupted");
    CHECK(make_rocksdb(d3, NULL));
    CHECK(arb_store_open(&s, d3, dflt, 1, NULL, &eb) == ARB_OK);
    CHECK(has(s, NULL, 0, ARB_STORE_MARKER_KEY, ARB_STORE_MARKER_VALUE));
    arb_store_close(s);
    arb_test_rmtree(tmp);
}

static void test_corrupt(void)
{
    char tmp[256], cur[300];
    arb_store *s;
    arb_errbuf eb;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    put1(s, 0, "k", "v");
    arb_store_close(s);
    path_join(cur, sizeof cur, tmp, "CURRENT");
    write_text(cur, "garbage");
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_ERR_DB);
    CHECK(s == NULL);
    CHECK(strstr(eb.msg, tmp) != NULL);
    CHECK(strstr(eb.msg, "corrupt") != NULL);
    arb_test_rmtree(tmp);
}

static void test_locked_same_process(void)
{
    char tmp[256];
    arb_store *s, *s2;
    arb_errbuf eb;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    CHECK(arb_store_open(&s2, tmp, ab, 2, NULL, &eb) == ARB_ERR_BUSY);
    CHECK(s2 == NULL);
    CHECK(strstr(eb.msg, tmp) != NULL);
    arb_store_close(s);
    CHECK(arb_store_open(&s2, tmp, ab, 2, NULL, &eb) == ARB_OK);
    arb_store_close(s2);
    arb_test_rmtree(tmp);
}

static void test_locked_other_process(void)
{
    char tmp[256], line[512], expect[400];
    arb_store *s;
    arb_errbuf eb;
    helper_proc hp;
    int st;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(helper_start(&hp, "hold", tmp, NULL) == 0);
    CHECK(helper_line(&hp, line, sizeof line));
    CHECK_STR(line, "ready");
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_ERR_BUSY);
    CHECK(s == NULL);
    snprintf(expect, sizeof expect, "data directory %s is in use by another process", tmp);
    CHECK_STR(eb.msg, expect);
    st = helper_finish(&hp); /* closing its stdin lets it close the store */
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    arb_store_close(s);
    arb_test_rmtree(tmp);
}

static arb_err sum_fn(void *ud, const uint8_t *val, size_t len)
{
    size_t *sum = ud;
    for (size_t i = 0; i < len; i++)
        *sum += val[i];
    return len == 3 ? ARB_OK : ARB_ERR_VERIFY;
}

static void test_reads(void)
{
    char tmp[256];
    arb_store *s;
    arb_store_batch *b;
    arb_errbuf eb;
    uint8_t *v = (uint8_t *)1, buf[4];
    size_t len = 99, sum = 0;
    int found = -1;
    uint64_t u = 7;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);

    /* Missing keys. */
    CHECK(arb_store_get(s, NULL, 0, K("nope"), &v, &len, &eb) == ARB_ERR_NOT_FOUND);
    CHECK(v == NULL && len == 0);
    CHECK(arb_store_exists(s, NULL, 0, K("nope"), &found, &eb) == ARB_OK);
    CHECK_EQ(found, 0);
    CHECK(arb_store_get_with(s, NULL, 0, K("nope"), sum_fn, &sum, &eb) == ARB_ERR_NOT_FOUND);
    CHECK_EQ(sum, 0);
    len = 5;
    CHECK(arb_store_get_into(s, NULL, 0, K("nope"), buf, sizeof buf, &len, &eb) ==
          ARB_ERR_NOT_FOUND);
    CHECK_EQ(len, 0);
    CHECK(arb_store_get_u64(s, NULL, 0, K("nope"), &u, &eb) == ARB_ERR_NOT_FOUND);
    CHECK(u == 0);

    CHECK(arb_store_batch_new(&b, s) == ARB_OK);
    arb_store_batch_put(b, 0, K("abc"), K("xyz"));
    arb_store_batch_put(b, 0, K("empty"), (const uint8_t *)"", 0);
    arb_store_batch_put(b, 1, (const uint8_t *)"", 0, K("empty key"));
    arb_store_batch_put_u64(b, 1, K("n"), 0x0102030405060708ull);
    arb_store_batch_put(b, 1, K("short"), K("1234567"));
    CHECK_EQ(arb_store_batch_count(b), 5);
    CHECK(arb_store_write(s, b, 0, &eb) == ARB_OK);
    arb_store_batch_free(b);

    CHECK(arb_store_get(s, NULL, 0, K("abc"), &v, &len, &eb) == ARB_OK);
    CHECK(len == 3 && memcmp(v, "xyz", 3) == 0);
    free(v);
    /* An empty value is found, with a non-NULL buffer. */
    CHECK(arb_store_get(s, NULL, 0, K("empty"), &v, &len, &eb) == ARB_OK);
    CHECK(v != NULL && len == 0);
    free(v);
    CHECK(arb_store_exists(s, NULL, 0, K("empty"), &found, &eb) == ARB_OK);
    CHECK_EQ(found, 1);
    CHECK(has(s, NULL, 1, "", "empty key"));
    CHECK(has(s, NULL, 1, "abc", NULL));

    CHECK(arb_store_get_with(s, NULL, 0, K("abc"), sum_fn, &sum, &eb) == ARB_OK);
    CHECK_EQ(sum, 'x' + 'y' + 'z');
    CHECK(arb_store_get_with(s, NULL, 0, K("empty"), sum_fn, &sum, &eb) == ARB_ERR_VERIFY);

    CHECK(arb_store_get_into(s, NULL, 0, K("abc"), buf, 3, &len, &eb) == ARB_OK);
    CHECK(len == 3 && memcmp(buf, "xyz", 3) == 0);
    CHECK(arb_store_get_into(s, NULL, 0, K("abc"), buf, 2, &len, &eb) == ARB_ERR_INVALID_ARG);
    CHECK_EQ(len, 3);

    CHECK(arb_store_get_u64(s, NULL, 1, K("n"), &u, &eb) == ARB_OK);
    CHECK(u == 0x0102030405060708ull);
    CHECK(has(s, NULL, 1, "n", "\x08\x07\x06\x05\x04\x03\x02\x01"));
    CHECK(arb_store_get_u64(s, NULL, 1, K("short"), &u, &eb) == ARB_ERR_PARSE);
    CHECK(u == 0);

    /* Column family out of range. */
    CHECK(arb_store_get(s, NULL, 2, K("abc"), &v, &len, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(v == NULL);
    CHECK(arb_store_exists(s, NULL, 99, K("abc"), &found, &eb) == ARB_ERR_INVALID_ARG);

    /* Data survives a reopen. */
    arb_store_close(s);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    CHECK(has(s, NULL, 0, "abc", "xyz"));
    CHECK(has(s, NULL, 1, "", "empty key"));
    arb_store_close(s);
    arb_test_rmtree(tmp);
}

static void test_batches(void)
{
    char tmp[256], tmp2[256];
    arb_store *s, *s2;
    arb_store_batch *b, *b2;
    arb_errbuf eb;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_test_tmpdir(tmp2, sizeof tmp2) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    CHECK(arb_store_open(&s2, tmp2, ab, 2, NULL, &eb) == ARB_OK);
    CHECK(arb_store_batch_new(&b, s) == ARB_OK);
    CHECK_EQ(arb_store_batch_count(b), 0);
    /* An empty batch writes nothing, successfully. */
    CHECK(arb_store_write(s, b, ARB_STORE_SYNC, &eb) == ARB_OK);

    for (int i = 0; i < 10; i++) {
        char k[8];
        snprintf(k, sizeof k, "r%d", i);
        arb_store_batch_put(b, 0, K(k), K(k));
    }
    arb_store_batch_put(b, 1, K("other"), K("1"));
    arb_store_batch_put(b, 0, K("gone"), K("soon"));
    arb_store_batch_delete(b, 0, K("gone")); /* later operations win */
    arb_store_batch_put(b, 1, K("twice"), K("first"));
    arb_store_batch_put(b, 1, K("twice"), K("second"));
    CHECK(arb_store_write(s, b, ARB_STORE_SYNC, &eb) == ARB_OK);
    CHECK(has(s, NULL, 0, "r0", "r0") && has(s, NULL, 0, "r9", "r9"));
    CHECK(has(s, NULL, 1, "other", "1"));
    CHECK(has(s, NULL, 0, "gone", NULL));
    CHECK(has(s, NULL, 1, "twice", "second"));

    /* delete_range removes [r2, r5) and nothing else. */
    arb_store_batch_clear(b);
    CHECK_EQ(arb_store_batch_count(b), 0);
    arb_store_batch_delete_range(b, 0, K("r2"), K("r5"));
    arb_store_batch_delete(b, 1, K("other"));
    CHECK(arb_store_write(s, b, 0, &eb) == ARB_OK);
    CHECK(has(s, NULL, 0, "r1", "r1"));
    CHECK(has(s, NULL, 0, "r2", NULL) && has(s, NULL, 0, "r3", NULL) && has(s, NULL, 0, "r4", NULL));
    CHECK(has(s, NULL, 0, "r5", "r5"));
    CHECK(has(s, NULL, 1, "other", NULL));

    /* A bad column family poisons the whole batch: nothing is written. */
    arb_store_batch_clear(b);
    arb_store_batch_put(b, 0, K("ok"), K("1"));
    arb_store_batch_put(b, 7, K("bad"), K("1"));
    arb_store_batch_delete(b, 2, K("bad"));
    arb_store_batch_delete_range(b, 3, K("a"), K("b"));
    CHECK(arb_store_write(s, b, ARB_STORE_SYNC, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(has(s, NULL, 0, "ok", NULL));
    /* clear forgets it. */
    arb_store_batch_clear(b);
    arb_store_batch_put(b, 0, K("ok"), K("1"));
    CHECK(arb_store_write(s, b, ARB_STORE_SYNC, &eb) == ARB_OK);
    CHECK(has(s, NULL, 0, "ok", "1"));

    /* A batch belongs to its store. */
    CHECK(arb_store_batch_new(&b2, s2) == ARB_OK);
    arb_store_batch_put(b2, 0, K("x"), K("y"));
    CHECK(arb_store_write(s, b2, ARB_STORE_SYNC, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(has(s, NULL, 0, "x", NULL));
    CHECK(arb_store_write(s2, b2, ARB_STORE_SYNC, &eb) == ARB_OK);
    CHECK(has(s2, NULL, 0, "x", "y"));

    arb_store_batch_free(b2);
    arb_store_batch_free(b);
    arb_store_batch_free(NULL);
    arb_store_close(s2);
    arb_store_close(s);
    arb_test_rmtree(tmp);
    arb_test_rmtree(tmp2);
}

/* ---- iteration against a model ---- */

#define MAXK 4
typedef struct {
    uint8_t b[MAXK];
    size_t n;
} mkey;

static int mkey_cmp(const void *x, const void *y)
{
    const mkey *a = x, *b = y;
    size_t n = a->n < b->n ? a->n : b->n;
    int c = n ? memcmp(a->b, b->b, n) : 0;
    if (c)
        return c;
    return a->n < b->n ? -1 : a->n > b->n;
}

/* Bytes drawn from a small alphabet with the boundary values, so prefixes,
 * 0x00 and 0xff runs and equal keys all occur. */
static void rand_key(mkey *k, size_t maxlen)
{
    static const uint8_t alpha[] = {0x00, 0x01, 0x7f, 0xfe, 0xff};
    k->n = (size_t)arb_test_rand_below(maxlen + 1);
    for (size_t i = 0; i < k->n; i++)
        k->b[i] = alpha[arb_test_rand_below(sizeof alpha)];
}

static int in_range(const mkey *k, const mkey *lo, const mkey *hi)
{
    return (lo == NULL || mkey_cmp(k, lo) >= 0) && (hi == NULL || mkey_cmp(k, hi) < 0);
}

static int starts_with(const mkey *k, const mkey *p)
{
    return k->n >= p->n && (p->n == 0 || memcmp(k->b, p->b, p->n) == 0);
}

/* The model value of a key: its bytes reversed, then a marker byte. */
static size_t model_val(uint8_t *out, const mkey *k)
{
    for (size_t i = 0; i < k->n; i++)
        out[i] = k->b[k->n - 1 - i];
    out[k->n] = 0xaa;
    return k->n + 1;
}

static int iter_at(const arb_store_iter *it, const mkey *want)
{
    size_t kl, vl;
    const uint8_t *kp, *vp;
    uint8_t wv[MAXK + 1];
    size_t wl = model_val(wv, want);

    if (!arb_store_iter_valid(it))
        return 0;
    kp = arb_store_iter_key(it, &kl);
    vp = arb_store_iter_value(it, &vl);
    return kl == want->n && (kl == 0 || memcmp(kp, want->b, kl) == 0) && vl == wl &&
           memcmp(vp, wv, wl) == 0;
}

/* Walks `it` forward and backward and checks it yields exactly the model keys
 * for which sel[i] is set. */
static void check_walk(arb_store_iter *it, const mkey *keys, size_t n, const int *sel)
{
    size_t i;
    arb_errbuf eb;

    arb_store_iter_first(it);
    for (i = 0; i < n; i++) {
        if (!sel[i])
            continue;
        CHECK(iter_at(it, &keys[i]));
        arb_store_iter_next(it);
    }
    CHECK(!arb_store_iter_valid(it));
    CHECK(arb_store_iter_error(it, &eb) == ARB_OK);
    arb_store_iter_last(it);
    for (i = n; i-- > 0;) {
        if (!sel[i])
            continue;
        CHECK(iter_at(it, &keys[i]));
        arb_store_iter_prev(it);
    }
    CHECK(!arb_store_iter_valid(it));
}

/* seek(t) must land on the first selected key >= t, seek_prev(t) on the last
 * selected key <= t. */
static void check_seeks(arb_store_iter *it, const mkey *keys, size_t n, const int *sel)
{
    for (int round = 0; round < 40; round++) {
        mkey t;
        size_t i, want = n, want_prev = n;
        rand_key(&t, MAXK);
        for (i = 0; i < n; i++) {
            if (!sel[i])
                continue;
            if (want == n && mkey_cmp(&keys[i], &t) >= 0)
                want = i;
            if (mkey_cmp(&keys[i], &t) <= 0)
                want_prev = i;
        }
        arb_store_iter_seek(it, t.b, t.n);
        if (want == n)
            CHECK(!arb_store_iter_valid(it));
        else
            CHECK(iter_at(it, &keys[want]));
        arb_store_iter_seek_prev(it, t.b, t.n);
        if (want_prev == n)
            CHECK(!arb_store_iter_valid(it));
        else
            CHECK(iter_at(it, &keys[want_prev]));
    }
}

static void test_iteration(void)
{
    char tmp[256];
    arb_store *s;
    arb_store_batch *b;
    arb_store_iter *it;
    arb_errbuf eb;
    mkey keys[200];
    int sel[200];
    size_t n = 0;
    unsigned long rounds = arb_test_count(60);

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    CHECK(arb_store_batch_new(&b, s) == ARB_OK);

    /* Distinct random keys into cf 0; noise into cf 1 that must never show. */
    for (int tries = 0; tries < 400 && n < 150; tries++) {
        mkey k;
        uint8_t v[MAXK + 1];
        size_t j;
        rand_key(&k, MAXK);
        for (j = 0; j < n; j++)
            if (mkey_cmp(&keys[j], &k) == 0)
                break;
        if (j < n)
            continue;
        keys[n++] = k;
        arb_store_batch_put(b, 0, k.b, k.n, v, model_val(v, &k));
        arb_store_batch_put(b, 1, k.b, k.n, (const uint8_t *)"noise", 5);
        /* Half the keys go to table files, half stay in the memtable. */
        if (n == 60) {
            CHECK(arb_store_write(s, b, 0, &eb) == ARB_OK);
            CHECK(arb_store_flush(s, &eb) == ARB_OK);
            arb_store_batch_clear(b);
        }
    }
    CHECK(arb_store_write(s, b, 0, &eb) == ARB_OK);
    arb_store_batch_free(b);
    qsort(keys, n, sizeof keys[0], mkey_cmp);

    /* The whole column family. */
    for (size_t i = 0; i < n; i++)
        sel[i] = 1;
    CHECK(arb_store_iter_new(&it, s, NULL, 0, NULL, 0, NULL, 0, &eb) == ARB_OK);
    check_walk(it, keys, n, sel);
    check_seeks(it, keys, n, sel);
    arb_store_iter_free(it);

    for (unsigned long r = 0; r < rounds; r++) {
        mkey lo, hi;
        int use_lo = (int)arb_test_rand_below(4) != 0, use_hi = (int)arb_test_rand_below(4) != 0;
        rand_key(&lo, MAXK);
        rand_key(&hi, MAXK);
        for (size_t i = 0; i < n; i++)
            sel[i] = in_range(&keys[i], use_lo ? &lo : NULL, use_hi ? &hi : NULL);
        CHECK(arb_store_iter_new(&it, s, NULL, 0, use_lo ? lo.b : NULL, lo.n,
                                 use_hi ? hi.b : NULL, hi.n, &eb) == ARB_OK);
        check_walk(it, keys, n, sel);
        check_seeks(it, keys, n, sel);
        arb_store_iter_free(it);

        /* Prefixes, including empty and all-0xff ones. */
        mkey p;
        rand_key(&p, 3);
        if (r % 7 == 0) {
            p.n = 1 + (size_t)arb_test_rand_below(3);
            memset(p.b, 0xff, p.n);
        }
        for (size_t i = 0; i < n; i++)
            sel[i] = starts_with(&keys[i], &p);
        CHECK(arb_store_iter_new_prefix(&it, s, NULL, 0, p.b, p.n, &eb) == ARB_OK);
        check_walk(it, keys, n, sel);
        check_seeks(it, keys, n, sel);
        arb_store_iter_free(it);
    }

    /* An empty range (lower == upper); random ranges above include lower > upper. */
    CHECK(arb_store_iter_new(&it, s, NULL, 0, K("\x01"), K("\x01"), &eb) == ARB_OK);
    arb_store_iter_first(it);
    CHECK(!arb_store_iter_valid(it));
    arb_store_iter_last(it);
    CHECK(!arb_store_iter_valid(it));
    arb_store_iter_free(it);

    CHECK(arb_store_iter_new(&it, s, NULL, 5, NULL, 0, NULL, 0, &eb) == ARB_ERR_INVALID_ARG);
    CHECK(it == NULL);
    arb_store_close(s);
    arb_test_rmtree(tmp);
}

static void test_prefix_end(void)
{
    /* Exhaustive over short strings of boundary bytes: k starts with p exactly
     * when p <= k < end (or p <= k with no end). */
    static const uint8_t alpha[] = {0x00, 0x01, 0xfe, 0xff};
    mkey all[1 + 4 + 16 + 64 + 256];
    size_t n = 0;

    for (size_t len = 0; len <= 4; len++) {
        size_t count = 1;
        for (size_t i = 0; i < len; i++)
            count *= 4;
        for (size_t c = 0; c < count; c++) {
            size_t x = c;
            all[n].n = len;
            for (size_t i = 0; i < len; i++, x /= 4)
                all[n].b[i] = alpha[x % 4];
            n++;
        }
    }
    for (size_t pi = 0; pi < n; pi++) {
        const mkey *p = &all[pi];
        mkey end;
        if (p->n > 3)
            continue;
        end.n = arb_store_prefix_end(end.b, p->b, p->n);
        for (size_t ki = 0; ki < n; ki++) {
            const mkey *k = &all[ki];
            int inside = mkey_cmp(k, p) >= 0 && (end.n == 0 || mkey_cmp(k, &end) < 0);
            CHECK_EQ(inside, starts_with(k, p));
        }
    }
}

static void test_snapshots(void)
{
    char tmp[256];
    arb_store *s;
    arb_store_snapshot *snap;
    arb_store_iter *it, *it_live;
    arb_store_batch *b;
    arb_errbuf eb;
    size_t kl;
    const uint8_t *kp;
    int found;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    put1(s, 0, "k1", "old");
    put1(s, 0, "k2", "old");
    put1(s, 1, "b", "old");
    CHECK(arb_store_snapshot_new(&snap, s) == ARB_OK);
    /* An iterator without a snapshot also sees the state of its creation. */
    CHECK(arb_store_iter_new(&it_live, s, NULL, 0, NULL, 0, NULL, 0, &eb) == ARB_OK);

    CHECK(arb_store_batch_new(&b, s) == ARB_OK);
    arb_store_batch_put(b, 0, K("k1"), K("new"));
    arb_store_batch_delete(b, 0, K("k2"));
    arb_store_batch_put(b, 0, K("k3"), K("new"));
    arb_store_batch_delete(b, 1, K("b"));
    CHECK(arb_store_write(s, b, ARB_STORE_SYNC, &eb) == ARB_OK);
    arb_store_batch_free(b);
    CHECK(arb_store_flush(s, &eb) == ARB_OK); /* and across a flush */

    CHECK(has(s, snap, 0, "k1", "old"));
    CHECK(has(s, snap, 0, "k2", "old"));
    CHECK(has(s, snap, 0, "k3", NULL));
    CHECK(has(s, snap, 1, "b", "old"));
    CHECK(arb_store_exists(s, snap, 0, K("k3"), &found, &eb) == ARB_OK);
    CHECK_EQ(found, 0);
    CHECK(has(s, NULL, 0, "k1", "new"));
    CHECK(has(s, NULL, 0, "k2", NULL));
    CHECK(has(s, NULL, 0, "k3", "new"));
    CHECK(has(s, NULL, 1, "b", NULL));

    const char *want_old[] = {"k1", "k2"};
    CHECK(arb_store_iter_new(&it, s, snap, 0, NULL, 0, NULL, 0, &eb) == ARB_OK);
    arb_store_iter_first(it);
    for (int i = 0; i < 2; i++) {
        CHECK(arb_store_iter_valid(it));
        kp = arb_store_iter_key(it, &kl);
        CHECK(kl == 2 && memcmp(kp, want_old[i], 2) == 0);
        arb_store_iter_next(it);
    }
    CHECK(!arb_store_iter_valid(it));
    arb_store_iter_free(it);

    arb_store_iter_first(it_live);
    for (int i = 0; i < 2; i++) {
        size_t vl;
        const uint8_t *vp;
        CHECK(arb_store_iter_valid(it_live));
        kp = arb_store_iter_key(it_live, &kl);
        vp = arb_store_iter_value(it_live, &vl);
        CHECK(kl == 2 && memcmp(kp, want_old[i], 2) == 0);
        CHECK(vl == 3 && memcmp(vp, "old", 3) == 0);
        arb_store_iter_next(it_live);
    }
    CHECK(!arb_store_iter_valid(it_live));
    arb_store_iter_free(it_live);

    /* A fresh iterator sees the new state. */
    CHECK(arb_store_iter_new_prefix(&it, s, NULL, 0, K("k"), &eb) == ARB_OK);
    int count = 0;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it))
        count++;
    CHECK_EQ(count, 2);
    arb_store_iter_free(it);

    arb_store_snapshot_free(snap);
    arb_store_snapshot_free(NULL);
    arb_store_close(s);
    arb_test_rmtree(tmp);
}

/* ---- threads ----
 * Writers, each with its own batch, commit (item n, counter = n + 1) together;
 * readers take snapshots and check that in every snapshot each writer's
 * counter matches exactly the items a prefix iteration sees. */

#define NWRITERS 3
#define NREADERS 2

typedef struct {
    arb_store *s;
    int id;
    int items;
    atomic_int *stop;
    int failed;
} thread_arg;

static void *writer_main(void *p)
{
    thread_arg *a = p;
    arb_store_batch *b;
    char key[32], ckey[16];

    if (arb_store_batch_new(&b, a->s) != ARB_OK) {
        a->failed = 1;
        return NULL;
    }
    snprintf(ckey, sizeof ckey, "count%d", a->id);
    for (int n = 0; n < a->items; n++) {
        arb_store_batch_clear(b);
        snprintf(key, sizeof key, "w%d:%06d", a->id, n);
        arb_store_batch_put(b, 0, K(key), K(key));
        arb_store_batch_put_u64(b, 1, K(ckey), (uint64_t)n + 1);
        if (arb_store_write(a->s, b, n % 16 == 0 ? ARB_STORE_SYNC : 0, NULL) != ARB_OK) {
            a->failed = 1;
            break;
        }
    }
    arb_store_batch_free(b);
    return NULL;
}

static void *reader_main(void *p)
{
    thread_arg *a = p;
    int rounds = 0;

    while (!atomic_load(a->stop) || rounds < 3) {
        arb_store_snapshot *snap;
        if (arb_store_snapshot_new(&snap, a->s) != ARB_OK) {
            a->failed = 1;
            return NULL;
        }
        for (int w = 0; w < NWRITERS && !a->failed; w++) {
            char ckey[16], prefix[8];
            uint64_t count = 0, seen = 0;
            arb_store_iter *it;
            arb_err err;
            snprintf(ckey, sizeof ckey, "count%d", w);
            snprintf(prefix, sizeof prefix, "w%d:", w);
            err = arb_store_get_u64(a->s, snap, 1, K(ckey), &count, NULL);
            if (err != ARB_OK && err != ARB_ERR_NOT_FOUND) {
                a->failed = 1;
                break;
            }
            if (arb_store_iter_new_prefix(&it, a->s, snap, 0, K(prefix), NULL) != ARB_OK) {
                a->failed = 1;
                break;
            }
            for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it))
                seen++;
            arb_store_iter_free(it);
            if (seen != count)
                a->failed = 1;
        }
        arb_store_snapshot_free(snap);
        if (a->failed)
            return NULL;
        rounds++;
    }
    a->items = rounds;
    return NULL;
}

static void test_threads(void)
{
    char tmp[256];
    arb_store *s;
    arb_errbuf eb;
    pthread_t wt[NWRITERS], rt[NREADERS];
    thread_arg wa[NWRITERS], ra[NREADERS];
    atomic_int stop = 0;
    int items = (int)arb_test_count(400);

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
    for (int i = 0; i < NREADERS; i++) {
        ra[i] = (thread_arg){.s = s, .id = i, .stop = &stop};
        CHECK(pthread_create(&rt[i], NULL, reader_main, &ra[i]) == 0);
    }
    for (int i = 0; i < NWRITERS; i++) {
        wa[i] = (thread_arg){.s = s, .id = i, .items = items, .stop = &stop};
        CHECK(pthread_create(&wt[i], NULL, writer_main, &wa[i]) == 0);
    }
    for (int i = 0; i < NWRITERS; i++)
        pthread_join(wt[i], NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(rt[i], NULL);
    for (int i = 0; i < NWRITERS; i++)
        CHECK(!wa[i].failed);
    for (int i = 0; i < NREADERS; i++) {
        CHECK(!ra[i].failed);
        CHECK(ra[i].items >= 3);
    }
    for (int w = 0; w < NWRITERS; w++) {
        char ckey[16];
        uint64_t count;
        snprintf(ckey, sizeof ckey, "count%d", w);
        CHECK(arb_store_get_u64(s, NULL, 1, K(ckey), &count, &eb) == ARB_OK);
        CHECK_EQ(count, items);
    }
    arb_store_close(s);
    arb_test_rmtree(tmp);
}

static void test_checkpoint(void)
{
    char tmp[256], src[300], dst[300];
    arb_store *s, *c;
    arb_errbuf eb;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    path_join(src, sizeof src, tmp, "src");
    path_join(dst, sizeof dst, tmp, "copy");
    CHECK(arb_store_open(&s, src, ab, 2, NULL, &eb) == ARB_OK);
    put1(s, 1, "k", "v");
    CHECK(arb_store_checkpoint(s, dst, &eb) == ARB_OK);
    put1(s, 1, "k", "after");
    CHECK(arb_store_checkpoint(s, dst, &eb) == ARB_ERR_EXISTS);
    CHECK(arb_store_open(&c, dst, ab, 2, NULL, &eb) == ARB_OK);
    CHECK(has(c, NULL, 1, "k", "v"));
    arb_store_close(c);
    arb_store_close(s);
    arb_test_rmtree(tmp);
}

static void test_error_mapping(void)
{
    arb_errbuf eb;

    CHECK(arb_store_map_error(&eb, "/d", "open",
                              "IO error: While lock file: /d/LOCK: Resource temporarily "
                              "unavailable") == ARB_ERR_BUSY);
    CHECK_STR(eb.msg, "data directory /d is in use by another process");
    CHECK(arb_store_map_error(&eb, "/d", "open",
                              "IO error: lock hold by current process, acquire time 1 acquiring "
                              "thread 2: /d/LOCK: No locks available") == ARB_ERR_BUSY);
    CHECK(arb_store_map_error(&eb, "/d", "write",
                              "IO error: While appending to file: /d/000004.log: No space left "
                              "on device") == ARB_ERR_IO);
    CHECK(strstr(eb.msg, "disk full") != NULL && strstr(eb.msg, "/d") != NULL);
    CHECK(arb_store_map_error(&eb, "/d", "write", "IO error: File too large") == ARB_ERR_IO);
    CHECK(strstr(eb.msg, "I/O error during write") != NULL);
    CHECK(arb_store_map_error(&eb, "/d", "open", "Corruption: bad\nblock") == ARB_ERR_DB);
    CHECK(strstr(eb.msg, "corrupt") != NULL && strchr(eb.msg, '\n') == NULL);
    CHECK(arb_store_map_error(&eb, "/d", "open", "Invalid argument: x") == ARB_ERR_DB);
    CHECK(arb_store_map_error(NULL, "/d", "open", NULL) == ARB_ERR_DB);
}

/* Runs "store_helper fill DIR LIMIT", which writes synced 64 KiB batches into
 * cf 0 until a write fails, then checks what it reports: an I/O error naming
 * the directory, further writes refused, reads still served. Then reopens the
 * store here (without the limit) and checks every committed write is there. */
static void check_fill(const char *dir, const char *limit, const char *want_text,
                       int (*before_reopen)(void *), void *ud)
{
    char line[512];
    helper_proc hp;
    int code = -1, again = -1, rd = -1, found = -1, st;
    unsigned long long committed = 0;
    arb_store *s;
    arb_errbuf eb;

    CHECK(helper_start(&hp, "fill", dir, limit) == 0);
    CHECK(helper_line(&hp, line, sizeof line));
    CHECK(sscanf(line, "err %d", &code) == 1);
    CHECK_EQ(code, ARB_ERR_IO);
    CHECK(helper_line(&hp, line, sizeof line));
    CHECK(strstr(line, dir) != NULL);
    CHECK(strstr(line, want_text) != NULL);
    CHECK(helper_line(&hp, line, sizeof line));
    CHECK(sscanf(line, "again %d read %d found %d committed %llu", &again, &rd, &found,
                 &committed) == 4);
    CHECK(again != ARB_OK);
    CHECK_EQ(rd, ARB_OK);
    CHECK(committed > 0);
    CHECK_EQ(found, 1);
    st = helper_finish(&hp);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    if (before_reopen != NULL)
        CHECK(before_reopen(ud));
    CHECK(arb_store_open(&s, dir, ab, 2, NULL, &eb) == ARB_OK);
    for (unsigned long long i = 0; i < committed; i++) {
        uint8_t key[8];
        uint8_t *v;
        size_t len;
        for (int k = 0; k < 8; k++)
            key[k] = (uint8_t)(i >> (56 - 8 * k));
        CHECK(arb_store_get(s, NULL, 0, key, sizeof key, &v, &len, &eb) == ARB_OK);
        CHECK(len == 64 * 1024 && v[0] == 0x5a && v[len - 1] == 0x5a);
        free(v);
    }
    arb_store_close(s);
}

/* A real failing write: the helper caps its file size (RLIMIT_FSIZE), so the
 * log append fails inside RocksDB (EFBIG) the way it does on a full disk. */
static void test_write_error(void)
{
    char tmp[256];

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    check_fill(tmp, "1048576", "I/O error during write", NULL, NULL);
    arb_test_rmtree(tmp);
}

/* Fills what is left of the file system, checks that opening the store on
 * the full disk is refused with a clear message (not an abort), then frees
 * the space and grows the file system. */
static int full_then_grow(void *ud)
{
    const char *mnt = ud;
    char filler[400], db[400];
    static uint8_t chunk[64 * 1024];
    arb_store *s;
    arb_errbuf eb;
    arb_err err;
    FILE *f;

    path_join(filler, sizeof filler, mnt, "filler");
    path_join(db, sizeof db, mnt, "db");
    if ((f = fopen(filler, "w")) == NULL)
        return 0;
    setvbuf(f, NULL, _IONBF, 0);
    while (fwrite(chunk, 1, sizeof chunk, f) == sizeof chunk) {
    }
    while (fwrite(chunk, 1, 512, f) == 512) {
    }
    fclose(f);
    err = arb_store_open(&s, db, ab, 2, NULL, &eb);
    if (err == ARB_OK)
        arb_store_close(s);
    if (err != ARB_ERR_IO || strstr(eb.msg, "disk full") == NULL || strstr(eb.msg, db) == NULL) {
        fprintf(stderr, "open on a full disk: %s: %s\n", arb_err_str(err), eb.msg);
        return 0;
    }
    unlink(filler);
    return mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m") == 0;
}

/* A real full disk: a 4 MiB tmpfs. Needs the right to mount (root or
 * CAP_SYS_ADMIN). Only an unprivileged run may go without it: as root (as CI
 * runs) a failed mount fails the test. A write fails with "disk full", opening
 * on the full disk is refused, and after the file system grows (as when an
 * operator frees space) the store reopens with every committed write. */
static void test_disk_full(void)
{
    char tmp[256], mnt[300], dir[320];

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    path_join(mnt, sizeof mnt, tmp, "mnt");
    path_join(dir, sizeof dir, mnt, "db");
    CHECK(mkdir(mnt, 0700) == 0);
    if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m") != 0) {
        int e = errno;
        if (geteuid() == 0)
            fprintf(stderr, "running as root but cannot mount a tmpfs: %s\n", strerror(e));
        arb_test_rmtree(tmp);
        CHECK(geteuid() != 0);
        printf("disk-full test not run: not root, cannot mount a tmpfs (%s)\n", strerror(e));
        return;
    }
    check_fill(dir, "0", "disk full during write", full_then_grow, mnt);
    umount2(mnt, MNT_DETACH);
    arb_test_rmtree(tmp);
}

int main(void)
{
    arb_test_seed_init();
    test_open_reopen();
    test_options_in_force();
    test_cf_profiles();
    test_wal_bounded();
    test_open_bad_args();
    test_no_create();
    test_not_a_directory();
    test_foreign_directory();
    test_foreign_marker();
    test_corrupt();
    test_locked_same_process();
    test_locked_other_process();
    test_reads();
    test_batches();
    test_iteration();
    test_prefix_end();
    test_snapshots();
    test_threads();
    test_checkpoint();
    test_error_mapping();
    test_write_error();
    test_disk_full();
    return arb_test_done();
}
