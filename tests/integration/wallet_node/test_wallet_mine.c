/* arbor-wallet mine against real arbord processes. On regtest every block
 * needs a hash or two, so blocks are found back to back, faster than the node
 * takes them, and the miner builds each next block itself while the node
 * checks the last one: `--blocks N` must still give exactly N blocks (one line
 * each, consecutive heights, the node's tip N higher), none rejected, all
 * paying the mining address, for one thread and for more threads than
 * cores. The mined chain must be valid: its headers, fetched from the node,
 * pass `arbor-audit verify-headers` (linkage, proof of work, bits, times),
 * and the hashes the miner printed are the headers' hashes. The same on the
 * test network, whose blocks need about 65,536 hashes (many chunks of the
 * nonce search per block). A transaction in the mempool goes into the first
 * block mined after it. Two miners on one node at once: blocks of one land on
 * side branches when the other's came first at that height; each must still
 * print exactly its N blocks, all of them in the node's chain, which is then
 * exactly 2N blocks longer and made of nothing else.
 *
 * With the argument `clock` (a separate, slow test): while blocks come faster
 * than one a second each is a second later than its parent, so a long run
 * reaches the most the chain lets a block's time lead the clock (2 hours); the
 * miner must then wait for the clock, one block a second, and say so, rather
 * than have every block refused as time-too-new. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/header.h"
#include "ledger/chain/params.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "tests/proc.h"
#include "tests/test.h"
#include "tests/testlib/http.h"
#include "wallet/spend.h"

static char g_arbord[PATH_MAX], g_wallet[PATH_MAX], g_audit[PATH_MAX], g_dir[512];
static arb_sha256 *g_sha;

typedef struct {
    arb_proc *p;
    int port;
    char url[64]; /* http://127.0.0.1:port, for arbor-wallet --node */
} node;

static int node_start(node *n, const char *network, const char *name)
{
    const char *args[] = {"--network", network, NULL};
    char datadir[700];
    snprintf(datadir, sizeof(datadir), "%s/%s", g_dir, name);
    n->p = arb_proc_start_arbord(g_arbord, datadir, args, 30000, &n->port);
    snprintf(n->url, sizeof(n->url), "http://127.0.0.1:%d", n->port);
    return n->p != NULL && n->port > 0;
}

static int node_stop(node *n)
{
    int rc = arb_proc_kill(n->p, SIGTERM) == 0 ? arb_proc_wait(n->p, 30000) : -1;
    arb_proc_free(n->p);
    n->p = NULL;
    return rc == 0;
}

/* GET path on n: the JSON of a 200, else NULL. */
static json_t *get_json(const node *n, const char *path)
{
    arb_tl_http_opts o = {.port = n->port, .timeout_s = 30};
    return arb_tl_json_200(o, path, NULL);
}

static long tip_height(const node *n)
{
    json_t *j = get_json(n, "/chain/v1/tip");
    long h = j != NULL && json_is_integer(json_object_get(j, "height"))
                 ? (long)json_integer_value(json_object_get(j, "height"))
                 : -1;
    json_decref(j);
    return h;
}

/* Runs a program; returns its exit status, *out and *err (malloc'ed) its
 * output. */
static int run(const char *const *argv, char **out, char **err)
{
    int rc = arb_proc_run(argv, 240000, out, err);
    if (rc != 0)
        fprintf(stderr, "%s: exit %d: %s\n", argv[0], rc, *err ? *err : "");
    return rc;
}

/* A fresh address of `network` (an x-only key from random bytes; the chain
 * takes any 32 bytes as an output key). */
static void address(char out[ARB_ADDR_MAX], const char *network)
{
    uint8_t key[32];
    arb_test_rand_bytes(key, sizeof(key));
    CHECK(arb_address_encode(out, arb_chain_params_get(network)->hrp, key));
}

/* The node's headers 0..tip into a file of raw 80-byte headers; the display
 * hashes of heights from..tip into hashes[] (64 hex + NUL each). Returns the
 * number of headers, or -1. */
static long fetch_headers(const node *n, const char *file, long from, char (*hashes)[65],
                          long cap)
{
    FILE *f = fopen(file, "wb");
    long count = 0;
    if (f == NULL)
        return -1;
    for (;;) {
        char path[96];
        json_t *j, *a;
        snprintf(path, sizeof(path), "/chain/v1/headers?start=%ld&count=2000", count);
        j = get_json(n, path);
        a = j != NULL ? json_object_get(j, "headers") : NULL;
        if (!json_is_array(a)) {
            json_decref(j);
            fclose(f);
            return -1;
        }
        if (json_array_size(a) == 0) {
            json_decref(j);
            break;
        }
        for (size_t i = 0; i < json_array_size(a); i++, count++) {
            uint8_t *raw = NULL;
            size_t len = 0;
            const char *hex = json_string_value(json_array_get(a, i));
            if (hex == NULL || arb_hex_decode_alloc(&raw, &len, hex) != ARB_OK || len != 80 ||
                fwrite(raw, 1, 80, f) != 80) {
                free(raw);
                json_decref(j);
                fclose(f);
                return -1;
            }
            if (count >= from && count - from < cap) {
                arb_block_header h;
                arb_hash hash;
                arb_header_decode(&h, raw);
                arb_header_hash(g_sha, &hash, &h);
                arb_chain_hash_hex(hashes[count - from], &hash);
            }
            free(raw);
        }
        json_decref(j);
    }
    return fclose(f) == 0 ? count : -1;
}

/* mine --blocks N with `threads` on n (JSON lines), checked line by line
 * against the node's chain, then the whole chain through verify-headers. */
static void mine_and_check(const node *n, const char *network, unsigned long blocks,
                           const char *threads)
{
    char addr[ARB_ADDR_MAX], nb[24], file[700], (*hashes)[65];
    char *out = NULL, *err = NULL;
    long h0 = tip_height(n), lines = 0, got;
    int consecutive = 1, found_ok = 1;

    CHECK(h0 >= 0);
    address(addr, network);
    snprintf(nb, sizeof(nb), "%lu", blocks);
    hashes = calloc(blocks, sizeof(*hashes));
    CHECK_OR(hashes != NULL, );
    {
        const char *argv[] = {g_wallet, "--node", n->url, "--json", "mine", "--blocks", nb,
                              "--threads", threads, "--address", addr, NULL};
        CHECK_EQ(run(argv, &out, &err), 0);
    }
    CHECK(out != NULL && err != NULL);
    /* No block was rejected: every block the miner built itself was one the
     * node took. */
    CHECK(err != NULL && strstr(err, "rejected") == NULL);
    CHECK_EQ(tip_height(n), h0 + (long)blocks);
    snprintf(file, sizeof(file), "%s/%s-headers.bin", g_dir, network);
    got = fetch_headers(n, file, h0 + 1, hashes, (long)blocks);
    CHECK_EQ(got, h0 + (long)blocks + 1);
    for (char *line = out ? strtok(out, "\n") : NULL; line != NULL; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        json_t *hash = json_object_get(j, "hash");
        long height = (long)json_integer_value(json_object_get(j, "height"));
        consecutive &= height == h0 + 1 + lines && json_is_string(hash) &&
                       lines < (long)blocks && strcmp(json_string_value(hash), hashes[lines]) == 0;
        found_ok &= json_integer_value(json_object_get(j, "found")) == lines + 1 &&
                    strcmp(json_string_value(json_object_get(j, "address")), addr) == 0;
        json_decref(j);
        lines++;
    }
    CHECK_EQ(lines, (long)blocks);
    CHECK(consecutive);
    CHECK(found_ok);
    /* Every coinbase paid the address: its balance is the blocks' subsidies. */
    {
        char path[200];
        uint64_t want = 0, have = 0, imm = 0;
        json_t *j;
        for (long h = h0 + 1; h <= h0 + (long)blocks; h++)
            want += arb_chain_subsidy(arb_chain_params_get(network), (uint32_t)h);
        snprintf(path, sizeof(path), "/chain/v1/address/%s/balance", addr);
        j = get_json(n, path);
        if (j != NULL) {
            have = (uint64_t)json_integer_value(json_object_get(j, "confirmed"));
            imm = (uint64_t)json_integer_value(json_object_get(j, "immature"));
        }
        CHECK(j != NULL && have + imm == want);
        json_decref(j);
    }
    free(out);
    free(err);
    {
        const char *argv[] = {g_audit, "--json", "verify-headers", "--rules", network,
                              "--start-height", "0", file, NULL};
        char want[64];
        CHECK_EQ(run(argv, &out, &err), 0);
        snprintf(want, sizeof(want), "\"tip_height\":%ld", h0 + (long)blocks);
        CHECK(out != NULL && strstr(out, "\"ok\":true") != NULL && strstr(out, want) != NULL);
        free(out);
        free(err);
    }
    free(hashes);
}

/* Two miners at once, --blocks 100 each: every block either printed is in the
 * node's chain and the chain grew by exactly the 200 printed. */
static void mine_two(const node *n)
{
    enum { N = 100 };
    char addr[2][ARB_ADDR_MAX], (*hashes)[65] = calloc(2 * N, sizeof(*hashes)), file[700];
    arb_proc *p[2] = {NULL, NULL};
    long h0 = tip_height(n), lines[2] = {0, 0};
    int seen[2 * N] = {0}, all_in_chain = 1;

    CHECK(h0 >= 0 && hashes != NULL);
    for (int k = 0; k < 2; k++) {
        address(addr[k], "regtest");
        const char *argv[] = {g_wallet, "--node", n->url, "--json", "mine", "--blocks", "100",
                              "--threads", "1", "--address", addr[k], NULL};
        CHECK(arb_proc_spawn(&p[k], argv) == 0);
    }
    for (int k = 0; k < 2; k++)
        CHECK_EQ(arb_proc_wait(p[k], 240000), 0);
    CHECK_EQ(tip_height(n), h0 + 2 * N);
    snprintf(file, sizeof(file), "%s/two-headers.bin", g_dir);
    CHECK_EQ(fetch_headers(n, file, h0 + 1, hashes, 2 * N), h0 + 2 * N + 1);
    for (int k = 0; k < 2; k++) {
        char *out = arb_proc_output(p[k], ARB_PROC_STDOUT);
        for (char *line = out ? strtok(out, "\n") : NULL; line != NULL;
             line = strtok(NULL, "\n")) {
            json_t *j = json_loads(line, 0, NULL);
            long height = (long)json_integer_value(json_object_get(j, "height"));
            const char *hash = json_string_value(json_object_get(j, "hash"));
            long i = height - h0 - 1;
            lines[k]++;
            if (i < 0 || i >= 2 * N || hash == NULL || strcmp(hash, hashes[i]) != 0 || seen[i])
                all_in_chain = 0;
            else
                seen[i] = 1;
            json_decref(j);
        }
        free(out);
    }
    CHECK_EQ(lines[0], N);
    CHECK_EQ(lines[1], N);
    CHECK(all_in_chain);
    {
        const char *argv[] = {g_audit, "verify-headers", "--rules", "regtest", "--start-height",
                              "0", file, NULL};
        char *out = NULL, *err = NULL;
        CHECK_EQ(run(argv, &out, &err), 0);
        free(out);
        free(err);
    }
    for (int k = 0; k < 2; k++)
        arb_proc_free(p[k]);
    free(hashes);
}

/* The human form: N `block` lines and the summary with both rates. */
static void mine_human(const node *n)
{
    char addr[ARB_ADDR_MAX], *out = NULL, *err = NULL;
    long h0 = tip_height(n), blocks = 0;
    address(addr, "regtest");
    const char *argv[] = {g_wallet, "--node", n->url, "mine", "--blocks", "7", "--address", addr,
                          NULL};
    CHECK_EQ(run(argv, &out, &err), 0);
    for (char *p = out; p != NULL && (p = strstr(p, "block ")) != NULL; p++)
        blocks += p == out || p[-1] == '\n';
    CHECK_EQ(blocks, 7);
    CHECK(out != NULL && strstr(out, "7 blocks found in ") != NULL &&
          strstr(out, " blocks/s), hashing at ") != NULL && strstr(out, "H/s\n") != NULL);
    CHECK_EQ(tip_height(n), h0 + 7);
    free(out);
    free(err);
}

/* A payment waiting in the mempool goes into the next block mined. */
static void mine_with_tx(const node *n)
{
    char wf[700], to[ARB_ADDR_MAX], txid[65], path[120];
    char *out = NULL, *err = NULL;
    json_t *j;

    snprintf(wf, sizeof(wf), "%s/miner.wallet", g_dir);
    {
        const char *argv[] = {g_wallet, "--node", n->url, "--wallet", wf, "--scrypt-log2n", "2",
                              "create", NULL};
        CHECK_EQ(run(argv, &out, &err), 0);
        free(out);
        free(err);
    }
    {
        /* 101 blocks to the wallet: the first coinbase matures. */
        const char *argv[] = {g_wallet, "--node", n->url, "--wallet", wf, "mine", "--blocks",
                              "101", NULL};
        CHECK_EQ(run(argv, &out, &err), 0);
        free(out);
        free(err);
    }
    address(to, "regtest");
    {
        const char *argv[] = {g_wallet, "--node", n->url, "--wallet", wf, "--json", "send", to,
                              "1", NULL};
        CHECK_EQ(run(argv, &out, &err), 0);
        j = out != NULL ? json_loads(out, 0, NULL) : NULL;
        CHECK(json_is_string(json_object_get(j, "txid")));
        snprintf(txid, sizeof(txid), "%s",
                 json_is_string(json_object_get(j, "txid"))
                     ? json_string_value(json_object_get(j, "txid"))
                     : "");
        json_decref(j);
        free(out);
        free(err);
    }
    {
        const char *argv[] = {g_wallet, "--node", n->url, "--wallet", wf, "mine", "--blocks", "3",
                              NULL};
        CHECK_EQ(run(argv, &out, &err), 0);
        free(out);
        free(err);
    }
    snprintf(path, sizeof(path), "/chain/v1/tx?txid=%s", txid);
    j = get_json(n, path);
    CHECK(j != NULL && json_is_true(json_object_get(j, "confirmed")));
    CHECK(j != NULL && json_integer_value(json_object_get(j, "height")) == tip_height(n) - 2);
    json_decref(j);
}

static long tip_time(const node *n)
{
    json_t *j = get_json(n, "/chain/v1/tip");
    long t = j != NULL && json_is_integer(json_object_get(j, "time"))
                 ? (long)json_integer_value(json_object_get(j, "time"))
                 : -1;
    json_decref(j);
    return t;
}

/* Mines to within a few blocks of the future-time limit, then past it. */
static void mine_to_clock_limit(const node *n)
{
    const arb_chain_params *p = arb_chain_params_get("regtest");
    char addr[ARB_ADDR_MAX], nb[24], *out = NULL, *err = NULL;
    long lead, k, lines = 0, secs;
    time_t t0;

    address(addr, "regtest");
    {
        /* Blocks 1..7150: quick, each a second after its parent. */
        const char *argv[] = {g_wallet, "--node", n->url, "--json", "mine", "--blocks", "7150",
                              "--address", addr, NULL};
        t0 = time(NULL);
        CHECK_EQ(run(argv, &out, &err), 0);
        secs = (long)(time(NULL) - t0) + 1;
        CHECK(err != NULL && strstr(err, "rejected") == NULL);
        free(out);
        free(err);
    }
    CHECK_EQ(tip_height(n), 7150);
    lead = tip_time(n) - (long)time(NULL);
    CHECK(lead > 0 && lead <= p->max_future_time);
    /* Enough blocks to reach the limit and go three past it. The clock runs
     * on while they are mined (at the rate the first run showed: slower in
     * a sanitizer build or on a busy machine), so add the seconds that takes. */
    k = p->max_future_time - lead + 3;
    k += (k * secs + 7149) / 7150;
    snprintf(nb, sizeof(nb), "%ld", k);
    {
        const char *argv[] = {g_wallet, "--node", n->url, "mine", "--blocks", nb, "--address",
                              addr, NULL};
        CHECK_EQ(run(argv, &out, &err), 0);
    }
    for (char *s = out; s != NULL && (s = strstr(s, "block ")) != NULL; s++)
        lines += s == out || s[-1] == '\n';
    CHECK_EQ(lines, k);
    CHECK(err != NULL && strstr(err, "rejected") == NULL);
    CHECK(err != NULL && strstr(err, "ahead of the clock") != NULL);
    CHECK_EQ(tip_height(n), 7150 + k);
    /* The last blocks went in as the clock allowed, not ahead of it. */
    CHECK(tip_time(n) <= (long)time(NULL) + p->max_future_time);
    free(out);
    free(err);
}

int main(int argc, char **argv)
{
    node reg = {0}, test = {0};

    arb_test_seed_init();
    arb_test_bin(g_arbord, sizeof(g_arbord), "arbord");
    arb_test_bin(g_wallet, sizeof(g_wallet), "arbor-wallet");
    arb_test_bin(g_audit, sizeof(g_audit), "arbor-audit");
    if (arb_test_tmpdir(g_dir, sizeof(g_dir)) != 0 || arb_sha256_new(&g_sha) != ARB_OK)
        return 1;
    setenv("ARBOR_PASSPHRASE", "test passphrase", 1);
    unsetenv("ARBOR_NODE");
    CHECK_OR(node_start(&reg, "regtest", "regtest"), 1);
    if (argc > 1 && strcmp(argv[1], "clock") == 0) {
        mine_to_clock_limit(&reg);
        if (!node_stop(&reg))
            arb_test_fail(__FILE__, __LINE__, "arbord (regtest) did not stop cleanly");
        arb_sha256_free(g_sha);
        arb_test_rmtree(g_dir);
        return arb_test_done();
    }
    mine_and_check(&reg, "regtest", 300, "1");
    mine_and_check(&reg, "regtest", 300, "8");
    mine_human(&reg);
    mine_two(&reg);
    mine_with_tx(&reg);
    if (!node_stop(&reg))
        arb_test_fail(__FILE__, __LINE__, "arbord (regtest) did not stop cleanly");
    CHECK_OR(node_start(&test, "test", "test"), 1);
    mine_and_check(&test, "test", 12, "2");
    if (!node_stop(&test))
        arb_test_fail(__FILE__, __LINE__, "arbord (test) did not stop cleanly");
    arb_sha256_free(g_sha);
    arb_test_rmtree(g_dir);
    return arb_test_done();
}
