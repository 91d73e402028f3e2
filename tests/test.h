/* The test harness: assertion macros that report file:line and work under
 * NDEBUG, a seeded random source, and helpers to find the shared vectors.
 *
 * A test program calls its checks from main() and ends with
 * `return arb_test_done();`, which prints "N passed, N failed" and returns
 * the exit status ctest reads. A failed CHECK records the failure and returns
 * from the current function (it never aborts), so later checks still run. */
#ifndef ARB_TESTS_TEST_H
#define ARB_TESTS_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern unsigned long arb_test_passed, arb_test_failed;

void arb_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            arb_test_passed++;                                                                     \
        } else {                                                                                   \
            arb_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Like CHECK but for functions that return a value: returns `ret` on failure. */
#define CHECK_OR(cond, ret)                                                                        \
    do {                                                                                           \
        if (cond) {                                                                                \
            arb_test_passed++;                                                                     \
        } else {                                                                                   \
            arb_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                 \
            return ret;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ == check_b_) {                                                                \
            arb_test_passed++;                                                                     \
        } else {                                                                                   \
            arb_test_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld != %lld", #a, #b, check_a_,  \
                          check_b_);                                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                         \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) == 0) {                                                          \
            arb_test_passed++;                                                                     \
        } else {                                                                                   \
            arb_test_fail(__FILE__, __LINE__, "CHECK_MEM(%s, %s, %s)", #a, #b, #n);                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (check_a_ != NULL && check_b_ != NULL && strcmp(check_a_, check_b_) == 0) {             \
            arb_test_passed++;                                                                     \
        } else {                                                                                   \
            arb_test_fail(__FILE__, __LINE__, "CHECK_STR(%s, %s): \"%s\" != \"%s\"", #a, #b,       \
                          check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Prints the summary line and returns 0 if nothing failed (and something passed). */
int arb_test_done(void);

/* Seeded random numbers: the seed comes from ARB_TEST_SEED if set, otherwise
 * from the clock, and is printed so a failure can be replayed. */
void arb_test_seed_init(void);
uint64_t arb_test_rand(void);
/* Uniform in [0, n); n > 0. */
uint64_t arb_test_rand_below(uint64_t n);
void arb_test_rand_bytes(uint8_t *out, size_t n);
/* How many iterations randomized tests run: ARB_TEST_COUNT or `dflt`. */
unsigned long arb_test_count(unsigned long dflt);

/* The shared vectors directory (ARB_VECTORS, set by ctest). Writes
 * "<vectors>/<rel>" into out and returns out. */
const char *arb_test_vector_path(char *out, size_t out_size, const char *rel);
/* Reads a whole file into a malloc'd buffer (NUL-terminated; free()). NULL on error. */
uint8_t *arb_test_read_file(const char *path, size_t *len_out);
/* Writes data[0..len) to path (created or truncated). 1 when written and
 * closed, else 0. */
int arb_test_write_file(const char *path, const void *data, size_t len);
/* Reads "<vectors>/<rel>"; reports a failure (and returns NULL) when missing. */
uint8_t *arb_test_read_vector(const char *rel, size_t *len_out);
/* Creates a fresh temporary directory; path written into out. Returns 0 on success. */
int arb_test_tmpdir(char *out, size_t out_size);
/* Removes a directory tree (best effort). */
void arb_test_rmtree(const char *path);
/* A TCP port that was free a moment ago on 127.0.0.1 and 0.0.0.0, below the
 * kernel's ephemeral range and not handed out before by this process. */
int arb_test_free_port(void);
/* Path of a built program: "<ARB_BIN>/<name>". */
const char *arb_test_bin(char *out, size_t out_size, const char *name);

#endif
