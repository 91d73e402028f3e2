/* The crash test: a writer process commits synced batches (each spread over two
 * column families) and reports every committed batch number through a pipe; we
 * kill it with SIGKILL at random moments, reopen the store and check that every
 * reported batch is there and that no batch is half-applied. */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "ledger/store/store.h"
#include "tests/test.h"
#include "tests/unit/store/helper_proc.h"
#include "tests/unit/store/kill_format.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARB_ASAN 1
#endif
#endif

static const char *const ab[] = {"a", "b"};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads whatever numbers are in the pipe (blocking up to timeout_ms for the
 * first byte); each must be last+1. Returns -1 at EOF, 0 otherwise; sets *bad
 * on a sequence error. */
static int read_reports(int fd, int timeout_ms, uint64_t *last, uint8_t *part, size_t *part_len,
                        int *bad)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint8_t buf[4096];
    ssize_t r;

    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    r = read(fd, buf, sizeof buf);
    if (r <= 0)
        return r < 0 && errno == EINTR ? 0 : -1;
    for (ssize_t i = 0; i < r; i++) {
        part[(*part_len)++] = buf[i];
        if (*part_len == 8) {
            uint64_t n = 0;
            for (int j = 7; j >= 0; j--)
                n = (n << 8) | part[j];
            if (n != *last + 1)
                *bad = 1;
            *last = n;
            *part_len = 0;
        }
    }
    return 0;
}

/* Counts the keys of one column family. */
static uint64_t count_keys(arb_store *s, unsigned cf)
{
    arb_store_iter *it;
    uint64_t n = 0;
    if (arb_store_iter_new(&it, s, NULL, cf, NULL, 0, NULL, 0, NULL) != ARB_OK)
        return UINT64_MAX;
    for (arb_store_iter_first(it); arb_store_iter_valid(it); arb_store_iter_next(it))
        n++;
    if (arb_store_iter_error(it, NULL) != ARB_OK)
        n = UINT64_MAX;
    arb_store_iter_free(it);
    return n;
}

static void test_kill(void)
{
    char tmp[256];
#ifdef ARB_ASAN
    unsigned long rounds = arb_test_count(12);
#else
    unsigned long rounds = arb_test_count(20);
#endif
    uint64_t reported = 0, checked_upto = 0;
    unsigned long rounds_with_commits = 0;

    CHECK(arb_test_tmpdir(tmp, sizeof tmp) == 0);
    for (unsigned long r = 0; r < rounds; r++) {
        helper_proc hp;
        uint8_t part[8];
        size_t part_len = 0;
        int bad = 0, st;
        uint64_t before = reported, head = 0;
        /* Every fourth round kills at a random moment after the start (often
         * while the store is still opening); the others wait for the first
         * commit and then kill within the next 0-250 ms, mid-writing. */
        int early = r % 4 == 3;
        int64_t deadline = now_ms() + (int64_t)arb_test_rand_below(early ? 120 : 150);
        arb_store *s;
        arb_errbuf eb;
        arb_err err;

        CHECK(helper_start(&hp, "writer", tmp, NULL) == 0);
        if (!early) {
            int64_t give_up = now_ms() + 20000;
            while (reported == before && now_ms() < give_up)
                if (read_reports(hp.from_child, 100, &reported, part, &part_len, &bad) < 0)
                    break;
            deadline = now_ms() + (int64_t)arb_test_rand_below(250);
        }
        while (now_ms() < deadline) {
            int left = (int)(deadline - now_ms());
            if (read_reports(hp.from_child, left > 0 ? left : 0, &reported, part, &part_len,
                             &bad) < 0)
                break;
        }
        kill(hp.pid, SIGKILL);
        /* Numbers already in the pipe were committed before the kill. */
        while (read_reports(hp.from_child, 1000, &reported, part, &part_len, &bad) == 0) {
        }
        st = helper_finish(&hp);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        CHECK(!bad);
        if (reported > before)
            rounds_with_commits++;

        err = arb_store_open(&s, tmp, ab, 2, NULL, &eb);
        if (err != ARB_OK)
            fprintf(stderr, "reopen: %s\n", eb.msg);
        CHECK(err == ARB_OK);
        err = arb_store_get_u64(s, NULL, KILL_CF_B, (const uint8_t *)KILL_HEAD_KEY,
                                sizeof KILL_HEAD_KEY - 1, &head, &eb);
        CHECK(err == ARB_OK || (err == ARB_ERR_NOT_FOUND && reported == 0));
        /* Everything reported is there; at most one more batch (committed but
         * killed before it could report). */
        CHECK(head >= reported);
        CHECK(head <= reported + 1);
        /* Batches are whole: the head batch and everything since the last
         * check complete, the next one absent, and no stray keys. */
        for (uint64_t n = checked_upto + 1; n <= head; n++)
            CHECK_EQ(kill_present(s, n), 3);
        CHECK_EQ(kill_present(s, head + 1), 0);
        CHECK_EQ(count_keys(s, KILL_CF_A), 2 * head);
        CHECK_EQ(count_keys(s, KILL_CF_B), head + (head > 0));
        checked_upto = head;
        reported = head; /* the writer continues from the stored head */
        arb_store_close(s);
    }

    /* A final full check of every batch ever written. */
    {
        arb_store *s;
        arb_errbuf eb;
        CHECK(arb_store_open(&s, tmp, ab, 2, NULL, &eb) == ARB_OK);
        for (uint64_t n = 1; n <= checked_upto; n++)
            CHECK_EQ(kill_present(s, n), 3);
        arb_store_close(s);
    }
    printf("kill test: %lu rounds, %lu with commits, %llu batches\n", rounds,
           rounds_with_commits, (unsigned long long)checked_upto);
    CHECK(rounds_with_commits >= rounds / 2);
    arb_test_rmtree(tmp);
}

int main(void)
{
    arb_test_seed_init();
    test_kill();
    return arb_test_done();
}
