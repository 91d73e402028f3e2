/* The address book (p2p/addrman.h): netgroups, bucket placement by the
 * keyed hash (one source netgroup cannot fill the new table, one address
 * netgroup reaches few tried buckets), the move to tried, test-before-evict
 * in each of its outcomes, terrible entries giving way, selection and the
 * getaddr sample, the addr rate limit, and the file: a round trip, then
 * corrupt, truncated and foreign files refused without harm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/addrman.h"
#include "tests/test.h"

#define NOW 1700000000

static uint64_t rnd(void *ctx)
{
    (void)ctx;
    return arb_test_rand();
}

static arb_netaddr v4(unsigned a, unsigned b, unsigned c, unsigned d, unsigned port)
{
    arb_netaddr x;
    char s[64];
    snprintf(s, sizeof s, "%u.%u.%u.%u:%u", a, b, c, d, port);
    if (!arb_netaddr_parse(&x, s))
        abort();
    return x;
}

static arb_addrman *book(void)
{
    uint8_t key[32];
    arb_test_rand_bytes(key, 32);
    arb_addrman *am = arb_addrman_new(key);
    if (am == NULL)
        abort();
    return am;
}

static void test_netaddr(void)
{
    arb_netaddr a, b;
    char s[64];
    uint8_t g[5];
    CHECK(arb_netaddr_parse(&a, "127.1.0.1:7480"));
    CHECK(arb_netaddr_is_ipv4(&a));
    CHECK_EQ(a.port, 7480);
    arb_netaddr_format(&a, s, sizeof s);
    CHECK_STR(s, "127.1.0.1:7480");
    CHECK_EQ(arb_netaddr_group(&a, g), 3);
    CHECK(g[0] == 4 && g[1] == 127 && g[2] == 1);
    CHECK(arb_netaddr_parse(&b, "127.2.0.1:7480"));
    CHECK(!arb_netaddr_same_group(&a, &b));
    CHECK(arb_netaddr_parse(&b, "127.1.200.9:1"));
    CHECK(arb_netaddr_same_group(&a, &b));
    CHECK(arb_netaddr_parse(&a, "[2001:db8:1::5]:8333"));
    CHECK(!arb_netaddr_is_ipv4(&a));
    arb_netaddr_format(&a, s, sizeof s);
    CHECK_STR(s, "[2001:db8:1::5]:8333");
    CHECK_EQ(arb_netaddr_group(&a, g), 5);
    CHECK(arb_netaddr_parse(&b, "[2001:db8:ffff::1]:1"));
    CHECK(arb_netaddr_same_group(&a, &b));
    CHECK(arb_netaddr_parse(&b, "[2001:db9::1]:1"));
    CHECK(!arb_netaddr_same_group(&a, &b));
    const char *bad[] = {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3:5",
                         "[::1:5", "[::1]5", "host:80", "1.2.3.4:+5", "1.2.3.4:5x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!arb_netaddr_parse(&a, bad[i]));
    CHECK(arb_netaddr_parse(&a, "0.1.2.3:5") && !arb_netaddr_routable(&a));
    CHECK(arb_netaddr_parse(&a, "224.1.2.3:5") && !arb_netaddr_routable(&a));
    CHECK(arb_netaddr_parse(&a, "255.255.255.255:5") && !arb_netaddr_routable(&a));
    CHECK(arb_netaddr_parse(&a, "[::]:5") && !arb_netaddr_routable(&a));
    CHECK(arb_netaddr_parse(&a, "[ff02::1]:5") && !arb_netaddr_routable(&a));
    CHECK(arb_netaddr_parse(&a, "127.0.0.1:5") && arb_netaddr_routable(&a));
    CHECK(arb_netaddr_parse(&a, "10.1.2.3:5") && arb_netaddr_routable(&a));
}

/* One source netgroup reaches at most 64 new buckets, so it cannot hold more
 * than 64 x 64 entries however many addresses it sends; a second source
 * group gets its own buckets. */
static void test_source_bound(void)
{
    arb_addrman *am = book();
    arb_netaddr src = v4(203, 0, 113, 7, 8333), src2 = v4(198, 51, 100, 1, 8333);
    static uint8_t seen[ARB_ADDRMAN_NEW_BUCKETS];
    size_t buckets = 0, added = 0;
    memset(seen, 0, sizeof seen);
    for (unsigned i = 0; i < 40000; i++) {
        arb_netaddr a = v4(1 + i % 200, (i / 200) % 256, i % 7, 1 + i % 250, 8333);
        uint32_t bk = arb_addrman_new_bucket(am, &a, &src);
        CHECK_OR(bk < ARB_ADDRMAN_NEW_BUCKETS, );
        if (!seen[bk]) {
            seen[bk] = 1;
            buckets++;
        }
        added += (size_t)arb_addrman_add(am, &a, &src, 1, NOW - 100, NOW);
    }
    CHECK(buckets <= ARB_ADDRMAN_NEW_PER_SOURCE_GROUP);
    CHECK(buckets >= ARB_ADDRMAN_NEW_PER_SOURCE_GROUP / 2);
    CHECK(arb_addrman_size(am) <=
          (size_t)ARB_ADDRMAN_NEW_PER_SOURCE_GROUP * ARB_ADDRMAN_BUCKET_SIZE);
    CHECK_EQ(arb_addrman_size(am), added);
    CHECK(added > 1000);
    CHECK(arb_addrman_check(am));
    /* Same key, same address, same source: same place, every time. */
    arb_netaddr a = v4(9, 9, 9, 9, 1);
    CHECK_EQ(arb_addrman_new_bucket(am, &a, &src), arb_addrman_new_bucket(am, &a, &src));
    /* Another source group can still add. */
    size_t before = arb_addrman_size(am), more = 0;
    for (unsigned i = 0; i < 500; i++) {
        arb_netaddr x = v4(100 + i % 100, i % 256, 1, 1 + i % 250, 8333);
        more += (size_t)arb_addrman_add(am, &x, &src2, 1, NOW - 100, NOW);
    }
    CHECK(more > 250); /* some of its buckets may be the first source's, which are full */
    CHECK_EQ(arb_addrman_size(am), before + more);
    CHECK(arb_addrman_check(am));
    /* Known addresses are not added twice. */
    arb_netaddr x = v4(100, 0, 1, 1, 8333);
    CHECK_EQ(arb_addrman_add(am, &x, &src2, 1, NOW - 100, NOW), 0);
    CHECK_EQ(arb_addrman_size(am), before + more);
    arb_addrman_free(am);
}

/* Addresses of one netgroup land in at most 8 tried buckets; placement
 * depends on the key. */
static void test_tried_buckets(void)
{
    arb_addrman *am = book(), *am2 = book();
    static uint8_t seen[ARB_ADDRMAN_TRIED_BUCKETS];
    size_t buckets = 0, differ = 0;
    memset(seen, 0, sizeof seen);
    for (unsigned i = 0; i < 2000; i++) {
        arb_netaddr a = v4(44, 55, i / 250, 1 + i % 250, 8333);
        uint32_t bk = arb_addrman_tried_bucket(am, &a);
        CHECK_OR(bk < ARB_ADDRMAN_TRIED_BUCKETS, );
        if (!seen[bk]) {
            seen[bk] = 1;
            buckets++;
        }
        differ += arb_addrman_tried_bucket(am2, &a) != bk;
    }
    CHECK(buckets >= 2 && buckets <= ARB_ADDRMAN_TRIED_PER_GROUP);
    CHECK(differ > 0);
    arb_addrman_free(am);
    arb_addrman_free(am2);
}

/* Finds an address of another netgroup than a whose tried slot is a's. */
static arb_netaddr tried_twin(arb_addrman *am, const arb_netaddr *a)
{
    uint32_t b = arb_addrman_tried_bucket(am, a), s = arb_addrman_slot(am, 1, b, a);
    for (unsigned i = 0; i < 50000000; i++) {
        arb_netaddr x = v4(11 + i % 200, (i / 200) % 256, (i / 51200) % 256, 1, 8333);
        if (arb_netaddr_same_group(&x, a))
            continue;
        uint32_t bx = arb_addrman_tried_bucket(am, &x);
        if (bx == b && arb_addrman_slot(am, 1, bx, &x) == s)
            return x;
    }
    abort();
}

static void test_good_and_collisions(void)
{
    arb_addrman *am = book();
    arb_netaddr src = v4(203, 0, 113, 7, 8333), out;
    arb_addrinfo info;
    arb_netaddr a = v4(1, 2, 3, 4, 8333);
    arb_netaddr b = tried_twin(am, &a);
    CHECK(arb_addrman_add(am, &a, &src, 1, NOW - 100, NOW));
    CHECK(arb_addrman_add(am, &b, &src, 1, NOW - 100, NOW));
    CHECK_EQ(arb_addrman_size_tried(am), 0);
    CHECK(!arb_addrman_select_collision(am, &out));
    /* a connects: it moves to tried. */
    arb_addrman_attempt(am, &a, NOW);
    CHECK(arb_addrman_find(am, &a, &info) && info.attempts == 1 && info.last_try == NOW);
    CHECK(arb_addrman_good(am, &a, NOW));
    CHECK(arb_addrman_find(am, &a, &info) && info.tried && info.attempts == 0 &&
          info.last_success == NOW);
    CHECK_EQ(arb_addrman_size_tried(am), 1);
    CHECK(arb_addrman_check(am));
    /* b connects too: its tried slot is a's, so it waits and a is to be tested. */
    CHECK_EQ(arb_addrman_good(am, &b, NOW + 10), 0);
    CHECK(arb_addrman_find(am, &b, &info) && !info.tried);
    CHECK(arb_addrman_select_collision(am, &out));
    CHECK_MEM(&out, &a, sizeof a);
    /* a connected within 4 hours: it stays, b's request is dropped. */
    arb_addrman_resolve_collisions(am, NOW + 20);
    CHECK(!arb_addrman_select_collision(am, &out));
    CHECK(arb_addrman_find(am, &a, &info) && info.tried);
    CHECK(arb_addrman_find(am, &b, &info) && !info.tried);
    CHECK(arb_addrman_check(am));

    /* Five hours on: b connects again; the test of a starts and a fails. */
    int64_t t = NOW + 5 * 3600;
    CHECK_EQ(arb_addrman_good(am, &b, t), 0);
    CHECK(arb_addrman_select_collision(am, &out));
    arb_addrman_attempt(am, &a, t + 1);
    arb_addrman_resolve_collisions(am, t + 30); /* the test is under way */
    CHECK(arb_addrman_select_collision(am, &out));
    CHECK(arb_addrman_find(am, &a, &info) && info.tried);
    arb_addrman_resolve_collisions(am, t + 62); /* no success a minute on: evicted */
    CHECK(!arb_addrman_select_collision(am, &out));
    CHECK(arb_addrman_find(am, &b, &info) && info.tried);
    CHECK(arb_addrman_find(am, &a, &info) && !info.tried); /* back in new, not lost */
    CHECK_EQ(arb_addrman_size(am), 2);
    CHECK_EQ(arb_addrman_size_tried(am), 1);
    CHECK(arb_addrman_check(am));

    /* A collision nobody tests is settled after 40 minutes for the newcomer. */
    t += 10 * 3600;
    CHECK_EQ(arb_addrman_good(am, &a, t), 0);
    arb_addrman_resolve_collisions(am, t + 39 * 60);
    CHECK(arb_addrman_select_collision(am, &out));
    arb_addrman_resolve_collisions(am, t + 41 * 60);
    CHECK(!arb_addrman_select_collision(am, &out));
    CHECK(arb_addrman_find(am, &a, &info) && info.tried);
    CHECK(arb_addrman_find(am, &b, &info) && !info.tried);
    CHECK(arb_addrman_check(am));
    arb_addrman_free(am);
}

/* A new slot holding a good entry keeps it; a terrible one gives way. */
static void test_new_collision(void)
{
    arb_addrman *am = book();
    arb_netaddr src = v4(203, 0, 113, 7, 8333), a = v4(5, 6, 7, 8, 8333), b;
    arb_addrinfo info;
    uint32_t ba = arb_addrman_new_bucket(am, &a, &src), sa = arb_addrman_slot(am, 0, ba, &a);
    unsigned i;
    for (i = 0; i < 50000000; i++) {
        b = v4(5, 6, (i / 250) % 256, 1 + i % 250, 1000 + i / 64000);
        if (memcmp(&b, &a, sizeof a) == 0)
            continue;
        uint32_t bb = arb_addrman_new_bucket(am, &b, &src);
        if (bb == ba && arb_addrman_slot(am, 0, bb, &b) == sa)
            break;
    }
    CHECK(i < 50000000);
    CHECK(arb_addrman_add(am, &a, &src, 1, NOW - 100, NOW));
    CHECK_EQ(arb_addrman_add(am, &b, &src, 1, NOW - 100, NOW), 0);
    CHECK(!arb_addrman_find(am, &b, NULL));
    /* a fails three times without ever connecting: terrible. */
    for (int k = 0; k < 3; k++)
        arb_addrman_attempt(am, &a, NOW + k);
    CHECK(arb_addrman_find(am, &a, &info) && !arb_addrinfo_terrible(&info, NOW + 30));
    CHECK(arb_addrinfo_terrible(&info, NOW + 120));
    CHECK(arb_addrman_add(am, &b, &src, 1, NOW + 100, NOW + 120));
    CHECK(!arb_addrman_find(am, &a, NULL));
    CHECK(arb_addrman_find(am, &b, NULL));
    CHECK_EQ(arb_addrman_size(am), 1);
    CHECK(arb_addrman_check(am));
    /* Terrible addresses are not taken in the first place. */
    arb_netaddr c = v4(8, 8, 4, 4, 1);
    CHECK_EQ(arb_addrman_add(am, &c, &src, 1, 0, NOW), 0);
    CHECK_EQ(arb_addrman_add(am, &c, &src, 1, NOW - 31 * 86400, NOW), 0);
    CHECK_EQ(arb_addrman_add(am, &c, &src, 1, NOW + 3600, NOW), 0);
    arb_netaddr z = v4(0, 0, 0, 0, 1);
    CHECK_EQ(arb_addrman_add(am, &z, &src, 1, NOW, NOW), 0);
    arb_addrman_free(am);
}

static void test_select_sample(void)
{
    arb_addrman *am = book();
    arb_netaddr src = v4(203, 0, 113, 7, 8333);
    arb_addrinfo info, *out = calloc(2000, sizeof *out);
    CHECK(out != NULL);
    CHECK(!arb_addrman_select(am, rnd, NULL, &info, NOW));
    CHECK_EQ(arb_addrman_sample(am, rnd, NULL, out, 1000, NOW), 0);
    for (unsigned i = 0; i < 1000; i++) {
        arb_netaddr a = v4(20 + i % 100, i / 100, 1, 1, 8333);
        (void)arb_addrman_add(am, &a, &src, 1, NOW - 100, NOW);
    }
    size_t n = arb_addrman_size(am);
    CHECK(n > 500);
    CHECK(arb_addrman_select(am, rnd, NULL, &info, NOW));
    CHECK(arb_addrman_find(am, &info.addr, NULL) && !info.tried);
    size_t k = arb_addrman_sample(am, rnd, NULL, out, 1000, NOW);
    CHECK_EQ(k, n * 23 / 100);
    for (size_t i = 0; i < k; i++) {
        CHECK(arb_addrman_find(am, &out[i].addr, NULL));
        for (size_t j = 0; j < i; j++)
            CHECK_OR(memcmp(&out[i].addr, &out[j].addr, sizeof out[i].addr) != 0, );
    }
    CHECK_EQ(arb_addrman_sample(am, rnd, NULL, out, 10, NOW), 10);
    /* One tried entry: select picks from tried at even odds, so it shows up. */
    CHECK(arb_addrman_good(am, &out[0].addr, NOW));
    int seen_tried = 0;
    for (int i = 0; i < 200 && !seen_tried; i++)
        if (arb_addrman_select(am, rnd, NULL, &info, NOW) && info.tried)
            seen_tried = 1;
    CHECK(seen_tried);
    CHECK(arb_addrman_check(am));
    free(out);
    arb_addrman_free(am);
}

static void test_rate_limit(void)
{
    arb_addr_bucket b;
    int64_t ms = 5000;
    arb_addr_bucket_init(&b, ms);
    int taken = 0;
    for (int i = 0; i < 1500; i++)
        taken += arb_addr_bucket_take(&b, ms);
    CHECK_EQ(taken, 1000);
    CHECK(!arb_addr_bucket_take(&b, ms + 9000));  /* 0.9 tokens */
    CHECK(arb_addr_bucket_take(&b, ms + 10000));  /* 1.0 */
    CHECK(!arb_addr_bucket_take(&b, ms + 10000));
    /* A long silence refills no more than the burst. */
    taken = 0;
    for (int i = 0; i < 1500; i++)
        taken += arb_addr_bucket_take(&b, ms + 100000000);
    CHECK_EQ(taken, 1000);
    /* Our getaddr earns the answer's worth. */
    arb_addr_bucket_grant(&b, 1000);
    taken = 0;
    for (int i = 0; i < 1500; i++)
        taken += arb_addr_bucket_take(&b, ms + 100000000);
    CHECK_EQ(taken, 1000);
}

static void write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(d, 1, n, f) != n || fclose(f) != 0)
        abort();
}

static void test_persistence(void)
{
    arb_addrman *am = book(), *got = NULL;
    arb_netaddr src = v4(203, 0, 113, 7, 8333);
    arb_buf b1 = ARB_BUF_INIT, b2 = ARB_BUF_INIT;
    arb_errbuf eb;
    char dir[512], path[600];
    arb_addrinfo info;
    CHECK(arb_test_tmpdir(dir, sizeof dir) == 0);
    snprintf(path, sizeof path, "%s/peers.dat", dir);
    CHECK(arb_addrman_load(&got, path, &eb) == ARB_ERR_NOT_FOUND && got == NULL);
    for (unsigned i = 0; i < 3000; i++) {
        arb_netaddr a = v4(30 + i % 150, i / 150, 2, 3, 8333);
        arb_netaddr s = v4(60 + i % 7, 1, 1, 1, 8333);
        (void)arb_addrman_add(am, &a, &s, 1 + i % 3, NOW - (int64_t)i, NOW);
        if (i % 5 == 0)
            (void)arb_addrman_good(am, &a, NOW);
        else if (i % 7 == 0)
            arb_addrman_attempt(am, &a, NOW);
    }
    arb_netaddr one = v4(30, 0, 2, 3, 8333);
    CHECK(arb_addrman_find(am, &one, NULL));
    (void)src;
    CHECK(arb_addrman_size_tried(am) > 300);
    CHECK(arb_addrman_save(am, path, &eb) == ARB_OK);
    CHECK(arb_addrman_load(&got, path, &eb) == ARB_OK);
    CHECK_OR(got != NULL, );
    CHECK_EQ(arb_addrman_size(got), arb_addrman_size(am));
    CHECK_EQ(arb_addrman_size_tried(got), arb_addrman_size_tried(am));
    CHECK(arb_addrman_check(got));
    CHECK(arb_addrman_serialize(am, &b1) == ARB_OK);
    CHECK(arb_addrman_serialize(got, &b2) == ARB_OK);
    CHECK_EQ(b1.len, b2.len);
    CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    CHECK(arb_addrman_find(got, &one, &info) && info.tried && info.last_success == NOW);
    arb_addrman_free(got);
    got = NULL;

    /* Every single flipped byte, a truncation at every length class, an
     * appended byte: refused with a reason, nothing returned. */
    uint8_t *d = malloc(b1.len + 1);
    CHECK_OR(d != NULL, );
    for (size_t i = 0; i < b1.len; i += 1 + i / 16) {
        memcpy(d, b1.data, b1.len);
        d[i] ^= 0x40;
        eb.msg[0] = '\0';
        CHECK_OR(arb_addrman_parse(&got, d, b1.len, &eb) == ARB_ERR_PARSE, );
        CHECK_OR(got == NULL && eb.msg[0] != '\0', );
    }
    for (size_t n = 0; n < b1.len; n += 1 + n / 4)
        CHECK_OR(arb_addrman_parse(&got, b1.data, n, &eb) == ARB_ERR_PARSE && got == NULL, );
    memcpy(d, b1.data, b1.len);
    d[b1.len] = 0;
    CHECK(arb_addrman_parse(&got, d, b1.len + 1, &eb) == ARB_ERR_PARSE && got == NULL);
    /* On disk: a corrupt file is reported, the caller starts afresh. */
    memcpy(d, b1.data, b1.len);
    d[100] ^= 1;
    write_file(path, d, b1.len);
    CHECK(arb_addrman_load(&got, path, &eb) == ARB_ERR_PARSE && got == NULL);
    CHECK(strstr(eb.msg, "checksum") != NULL);
    write_file(path, (const uint8_t *)"hello", 5);
    CHECK(arb_addrman_load(&got, path, &eb) == ARB_ERR_PARSE && got == NULL);
    free(d);
    /* The save replaced nothing but the file; no temporary is left. */
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    CHECK(arb_addrman_save(am, path, &eb) == ARB_OK);
    FILE *f = fopen(tmp, "rb");
    CHECK(f == NULL);
    if (f)
        fclose(f);
    CHECK(arb_addrman_load(&got, path, &eb) == ARB_OK && got != NULL);
    arb_addrman_free(got);
    arb_buf_free(&b1);
    arb_buf_free(&b2);
    arb_addrman_free(am);
    arb_test_rmtree(dir);
}

int main(void)
{
    arb_test_seed_init();
    test_netaddr();
    test_source_bound();
    test_tried_buckets();
    test_good_and_collisions();
    test_new_collision();
    test_select_sample();
    test_rate_limit();
    test_persistence();
    return arb_test_done();
}
