#include "tests/test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

unsigned long arb_test_passed, arb_test_failed;
static uint64_t rng_state;
static int rng_ready;

void arb_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    arb_test_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int arb_test_done(void)
{
    printf("%lu passed, %lu failed\n", arb_test_passed, arb_test_failed);
    fflush(stdout);
    return (arb_test_failed == 0 && arb_test_passed > 0) ? 0 : 1;
}

void arb_test_seed_init(void)
{
    const char *s = getenv("ARB_TEST_SEED");
    if (s != NULL && *s) {
        rng_state = strtoull(s, NULL, 0);
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        rng_state = (uint64_t)tv.tv_sec * 1000003u ^ (uint64_t)tv.tv_usec ^ (uint64_t)getpid() << 32;
    }
    fprintf(stderr, "random seed: ARB_TEST_SEED=%llu\n", (unsigned long long)rng_state);
    rng_ready = 1;
}

/* splitmix64: small, fast, and good enough for test inputs. */
uint64_t arb_test_rand(void)
{
    uint64_t z;
    if (!rng_ready)
        arb_test_seed_init();
    z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t arb_test_rand_below(uint64_t n)
{
    return arb_test_rand() % n;
}

void arb_test_rand_bytes(uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)arb_test_rand();
}

unsigned long arb_test_count(unsigned long dflt)
{
    const char *s = getenv("ARB_TEST_COUNT");
    return (s != NULL && *s) ? strtoul(s, NULL, 0) : dflt;
}

const char *arb_test_vector_path(char *out, size_t out_size, const char *rel)
{
    const char *base = getenv("ARB_VECTORS");
    snprintf(out, out_size, "%s/%s", base ? base : "../shared/vectors", rel);
    return out;
}

int arb_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL)
        ok = fclose(f) == 0 && ok;
    return ok;
}

uint8_t *arb_test_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - len < 65536) {
            uint8_t *p = realloc(buf, cap ? cap * 2 : 65536 + 1);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
            cap = cap ? cap * 2 : 65536 + 1;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = 0;
    if (len_out)
        *len_out = len;
    return buf;
}

uint8_t *arb_test_read_vector(const char *rel, size_t *len_out)
{
    char path[4096];
    uint8_t *p = arb_test_read_file(arb_test_vector_path(path, sizeof path, rel), len_out);
    if (p == NULL)
        arb_test_fail(__FILE__, __LINE__, "cannot read vector file %s", path);
    return p;
}

int arb_test_tmpdir(char *out, size_t out_size)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, out_size, "%s/arbor-test-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

void arb_test_rmtree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[4096];

    if (d == NULL) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            arb_test_rmtree(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
}

/* 1 if a listening socket could bind port on addr right now. */
static int port_bindable(uint32_t addr, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    if (fd < 0)
        return 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(addr);
    a.sin_port = htons((uint16_t)port);
    ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* The kernel's ephemeral range (ip_local_port_range): the ports outgoing
 * connections take. */
static void ephemeral_range(int *lo, int *hi)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    *lo = 32768;
    *hi = 60999;
    if (f != NULL) {
        if (fscanf(f, "%d %d", lo, hi) != 2) {
            *lo = 32768;
            *hi = 60999;
        }
        fclose(f);
    }
}

/* A port below the ephemeral range (so no outgoing connection of any test
 * running beside this one can be holding it by the time a server binds it),
 * never handed out twice by this process, and bindable on 127.0.0.1 and on
 * 0.0.0.0 when chosen. Chosen at random, from a source of its own (the
 * test's seeded sequence is left alone), so concurrent tests rarely meet. */
int arb_test_free_port(void)
{
    static int given[512];
    static size_t n_given;
    static uint64_t x;
    int lo, hi, base = 10000;
    ephemeral_range(&lo, &hi);
    if (x == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20;
        x |= 1;
    }
    if (lo - base < 1000) /* an unusual range: fall back to above it */
        base = hi + 1, lo = 65536;
    for (int tries = 0; tries < 1000; tries++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int port = base + (int)(x % (uint64_t)(lo - base)), seen = 0;
        for (size_t i = 0; i < n_given; i++)
            seen |= given[i] == port;
        if (seen || !port_bindable(INADDR_LOOPBACK, port) || !port_bindable(INADDR_ANY, port))
            continue;
        if (n_given < sizeof given / sizeof given[0])
            given[n_given++] = port;
        return port;
    }
    return -1;
}

const char *arb_test_bin(char *out, size_t out_size, const char *name)
{
    const char *base = getenv("ARB_BIN");
    snprintf(out, out_size, "%s/%s", base ? base : ".", name);
    return out;
}
