/* A child process for the store tests, run as a separate program so that each
 * process has its own RocksDB state (locks, thread pools):
 *   store_helper hold DIR          open DIR, print "ready", hold it until stdin closes
 *   store_helper writer DIR        write synced batches forever, reporting each
 *                                  committed batch number (8 bytes, little-endian)
 *                                  on stdout
 *   store_helper fill DIR BYTES    cap the file size at BYTES (RLIMIT_FSIZE; 0: no
 *                                  cap) and write until the store reports an error; print
 *                                  "err CODE" and the message on the next line
 * Exit status 0 on success, 1 when the store could not be opened (the message
 * goes to stdout as "error CODE MSG"). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ledger/store/store.h"
#include "tests/unit/store/kill_format.h"

static const char *const cfs[] = {"a", "b"};

/* Key of the i-th fill write: be64(i). */
static void fill_key(uint8_t key[8], uint64_t i)
{
    for (int k = 0; k < 8; k++)
        key[k] = (uint8_t)(i >> (56 - 8 * k));
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w <= 0)
            return 0;
        c += w;
        n -= (size_t)w;
    }
    return 1;
}

static int hold(arb_store *s)
{
    char buf[64];
    printf("ready\n");
    fflush(stdout);
    while (read(0, buf, sizeof buf) > 0) {
    }
    arb_store_close(s);
    return 0;
}

static int writer(arb_store *s)
{
    arb_store_batch *b = NULL;
    arb_errbuf eb;
    uint64_t head = 0;
    arb_err err;
    int rc = 1;

    err = arb_store_get_u64(s, NULL, KILL_CF_B, (const uint8_t *)KILL_HEAD_KEY,
                            sizeof KILL_HEAD_KEY - 1, &head, &eb);
    if (err != ARB_OK && err != ARB_ERR_NOT_FOUND) {
        fprintf(stderr, "writer: %s\n", eb.msg);
        goto out;
    }
    if (arb_store_batch_new(&b, s) != ARB_OK)
        goto out;
    /* Runs until killed (or until the parent stops reading). */
    for (uint64_t n = head + 1;; n++) {
        uint8_t le[8];
        arb_store_batch_clear(b);
        kill_fill_batch(b, n);
        if (arb_store_write(s, b, ARB_STORE_SYNC, &eb) != ARB_OK) {
            fprintf(stderr, "writer: %s\n", eb.msg);
            goto out;
        }
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(n >> (8 * i));
        if (!write_all(1, le, 8)) {
            rc = 0;
            goto out;
        }
        /* Now and then move the memtables to table files, so kills also land
         * during flushes. */
        if (n % 64 == 0 && arb_store_flush(s, &eb) != ARB_OK) {
            fprintf(stderr, "writer: %s\n", eb.msg);
            goto out;
        }
    }
out:
    arb_store_batch_free(b);
    arb_store_close(s);
    return rc;
}

static int fill(arb_store *s)
{
    static uint8_t val[64 * 1024];
    arb_store_batch *b;
    arb_errbuf eb;
    arb_err err = ARB_OK;
    uint8_t key[8];
    uint64_t i;

    memset(val, 0x5a, sizeof val);
    if (arb_store_batch_new(&b, s) != ARB_OK)
        return 1;
    for (i = 0; i < 100000; i++) {
        fill_key(key, i);
        arb_store_batch_clear(b);
        arb_store_batch_put(b, 0, key, sizeof key, val, sizeof val);
        if ((err = arb_store_write(s, b, ARB_STORE_SYNC, &eb)) != ARB_OK)
            break;
    }
    if (err == ARB_OK) {
        printf("noerr\n");
    } else {
        printf("err %d\n%s\n", (int)err, eb.msg);
        /* The store stays usable for reads and keeps refusing writes. */
        arb_err err2 = arb_store_write(s, b, ARB_STORE_SYNC, &eb);
        int found = 0;
        fill_key(key, 0);
        arb_err err3 = arb_store_exists(s, NULL, 0, key, sizeof key, &found, &eb);
        printf("again %d read %d found %d committed %llu\n", (int)err2, (int)err3, found,
               (unsigned long long)i);
    }
    fflush(stdout);
    arb_store_batch_free(b);
    arb_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    arb_store *s;
    arb_errbuf eb;
    arb_err err;

    if (argc < 3)
        return 2;
    if (strcmp(argv[1], "fill") == 0 && argc == 4 && strcmp(argv[3], "0") != 0) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)strtoull(argv[3], NULL, 10);
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            return 1;
    }
    err = arb_store_open(&s, argv[2], cfs, 2, NULL, &eb);
    if (err != ARB_OK) {
        printf("error %d %s\n", (int)err, eb.msg);
        return 1;
    }
    if (strcmp(argv[1], "hold") == 0)
        return hold(s);
    if (strcmp(argv[1], "writer") == 0)
        return writer(s);
    if (strcmp(argv[1], "fill") == 0)
        return fill(s);
    arb_store_close(s);
    return 2;
}
