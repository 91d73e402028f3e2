/* Connecting full blocks from a local file, against the rate the signatures
 * alone allow.
 *
 *   bench_connect_full [BLOCKS [TXS [FLUSH_BLOCKS [THREADS]]]]
 *
 * BLOCKS regtest blocks (default 250) are generated once into
 * $TMPDIR/arbor-bench-connect-full-BLOCKS-TXS.{blocks,sigs} and reused by
 * later runs: blocks 1..101 carry only their coinbase, block 102 splits the
 * first coinbase into TXS outputs, and every later block holds TXS signed
 * one-input one-output transactions, each spending the output of the same
 * position in the block before (so a block of 1,000 has 1,000 signatures,
 * 1,000 UTXO lookups, deletes and creations, and their address index and
 * history records). The .sigs file holds each signature's message, signature
 * and key.
 *
 * Then, each printed as one JSON line:
 *   - sig_only: the BIP340 verifications alone, on THREADS threads (default
 *     2) with the verifier the block check uses;
 *   - connect: the blocks read back, decoded and submitted in order to a
 *     fresh chain state with the flush policy FLUSH_BLOCKS (default 256; 1
 *     is a synced batch per block) and signature checks on THREADS threads:
 *     blocks/s, tx/s, signatures/s and their ratio to sig_only; and the
 *     CPU seconds of both with their ratio (the share of the connect's CPU
 *     spent on the signatures), which a loaded machine does not skew;
 *   - paired: the same connect into another fresh chain state, each block's
 *     signatures verified alone right before the block is submitted: the
 *     sums of both durations and their ratio (both sums see the same load,
 *     so the ratio holds on a shared machine where the load moves by the
 *     minute);
 *   - kill9: the same connect in a child process killed with SIGKILL once
 *     half the blocks are connected; the time to open the chain state again
 *     (recovery: the store's log replay and the coins cache's replay of the
 *     blocks since its last flush, coins_replayed_blocks), the tip found,
 *     the time to connect the rest, and whether
 *     the UTXO set, indexes and committed state then equal the clean run's.
 * The figure is `bench_connect_full 10000 1000` (about 1.5 GB of
 * blocks). Exit status 0 when everything connected and the digests agree. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger/chain/chainstate.h"
#include "ledger/chain/mine.h"

#define SIG_JOB_SIZE (32 + 64 + 32)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds of the process (all threads): unlike wall time, not inflated
 * by other programs on a loaded machine. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

_Noreturn static void die(const char *m)
{
    fprintf(stderr, "bench_connect_full: %s\n", m);
    exit(1);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Writes the blocks and the signature jobs to tmp files, then renames them. */
static uint64_t generate(const arb_chain_params *p, uint32_t n, uint32_t txs, const char *bfile,
                         const char *sfile)
{
    char btmp[700], stmp[700];
    arb_sha256 *sha;
    arb_schnorr *s;
    uint8_t sk[32], pk[32];
    arb_hash parent, net;
    uint32_t ptime = p->genesis_time;
    uint64_t nsig = 0;
    arb_outpoint *prev = calloc(txs, sizeof *prev);
    uint64_t *amt = calloc(txs, sizeof *amt);
    arb_tx *tx = calloc(txs, sizeof *tx);
    arb_outpoint cb1 = {{{0}}, 0};
    uint64_t cb1_amount = 0;

    snprintf(btmp, sizeof btmp, "%s.tmp", bfile);
    snprintf(stmp, sizeof stmp, "%s.tmp", sfile);
    if (prev == NULL || amt == NULL || tx == NULL || arb_sha256_new(&sha) != ARB_OK ||
        arb_schnorr_new(&s) != ARB_OK)
        die("init");
    for (int i = 0; i < 32; i++)
        sk[i] = (uint8_t)(i + 7);
    if (!arb_schnorr_pubkey(s, pk, sk))
        die("key");
    arb_chain_network_id(p, &net);
    FILE *bf = fopen(btmp, "wb"), *sf = fopen(stmp, "wb");
    if (bf == NULL || sf == NULL)
        die("cannot write the block files");
    arb_chain_genesis_hash(p, &parent);
    for (uint32_t h = 1; h <= n; h++) {
        arb_block b;
        size_t ntx = 0;
        arb_block_init(&b);
        if (h == p->coinbase_maturity + 2) { /* the fan-out */
            arb_txout spent = {cb1_amount, {0}};
            memcpy(spent.key, pk, 32);
            arb_tx_init(&tx[0]);
            if (arb_tx_alloc(&tx[0], 1, txs) != ARB_OK)
                die("nomem");
            tx[0].version = 1;
            tx[0].in[0] = cb1;
            for (uint32_t o = 0; o < txs; o++) {
                tx[0].out[o].amount = cb1_amount / txs;
                memcpy(tx[0].out[o].key, pk, 32);
            }
            if (arb_chain_sign_input(p, sha, s, &tx[0], 0, &spent, sk, NULL) != ARB_OK)
                die("sign");
            arb_hash id;
            if (arb_tx_txid(sha, &id, &tx[0]) != ARB_OK)
                die("txid");
            for (uint32_t o = 0; o < txs; o++) {
                prev[o].txid = id;
                prev[o].index = o;
                amt[o] = cb1_amount / txs;
            }
            ntx = 1;
        } else if (h > p->coinbase_maturity + 2) {
            for (uint32_t t = 0; t < txs; t++) {
                arb_txout spent = {amt[t], {0}};
                arb_sighash_cache cache;
                uint8_t job[SIG_JOB_SIZE];
                memcpy(spent.key, pk, 32);
                arb_tx_init(&tx[t]);
                if (arb_tx_alloc(&tx[t], 1, 1) != ARB_OK)
                    die("nomem");
                tx[t].version = 1;
                tx[t].in[0] = prev[t];
                tx[t].out[0].amount = amt[t];
                memcpy(tx[t].out[0].key, pk, 32);
                if (arb_chain_sign_input(p, sha, s, &tx[t], 0, &spent, sk, NULL) != ARB_OK ||
                    arb_tx_sighash_prepare(sha, &cache, &tx[t], &spent) != ARB_OK)
                    die("sign");
                arb_tx_sighash(sha, job, &net, &cache, 0);
                memcpy(job + 32, tx[t].sig[0], 64);
                memcpy(job + 96, pk, 32);
                if (fwrite(job, 1, sizeof job, sf) != sizeof job)
                    die("write");
                nsig++;
                if (arb_tx_txid(sha, &prev[t].txid, &tx[t]) != ARB_OK)
                    die("txid");
                prev[t].index = 0;
            }
            ntx = txs;
        }
        if (arb_chain_block_build(p, sha, &b, &parent, ptime, h, 0x207fffff, 0, pk, tx, ntx, 0,
                                  NULL) != ARB_OK ||
            !arb_chain_mine_header(&b.header, 0, 1ULL << 32))
            die("build");
        for (size_t t = 0; t < ntx; t++)
            arb_tx_clear(&tx[t]);
        if (h == 1) {
            if (arb_tx_txid(sha, &cb1.txid, &b.tx[0]) != ARB_OK)
                die("txid");
            cb1_amount = b.tx[0].out[0].amount;
        }
        arb_header_hash(sha, &parent, &b.header);
        ptime = b.header.time;
        arb_buf buf = ARB_BUF_INIT;
        arb_block_write(&buf, &b);
        uint32_t len = (uint32_t)buf.len;
        if (buf.oom || fwrite(&len, 4, 1, bf) != 1 || fwrite(buf.data, 1, buf.len, bf) != buf.len)
            die("write");
        arb_buf_free(&buf);
        arb_block_clear(&b);
    }
    if (fclose(bf) != 0 || fclose(sf) != 0 || rename(btmp, bfile) != 0 || rename(stmp, sfile) != 0)
        die("cannot finish the block files");
    free(prev);
    free(amt);
    free(tx);
    arb_schnorr_free(s);
    arb_sha256_free(sha);
    return nsig;
}

typedef struct {
    arb_store *st;
    arb_chainstate *cs;
} node;

static void node_open(node *nd, const char *db, const arb_chain_params *p, unsigned flush,
                      unsigned threads)
{
    const char *cfs[1 + ARB_CHAINSTATE_NCF];
    arb_errbuf eb;
    arb_store_opts so;
    cfs[0] = "default";
    for (size_t i = 0; i < ARB_CHAINSTATE_NCF; i++)
        cfs[1 + i] = arb_chainstate_cf_names()[i];
    memset(&so, 0, sizeof so);
    if (arb_store_open(&nd->st, db, cfs, 1 + ARB_CHAINSTATE_NCF, &so, &eb) != ARB_OK ||
        arb_chainstate_open(&nd->cs, nd->st, 1, p, threads, NULL, &eb) != ARB_OK)
        die(eb.msg);
    arb_chainstate_set_flush(nd->cs, flush, 2000);
}

static void node_close(node *nd)
{
    arb_chainstate_close(nd->cs);
    arb_store_close(nd->st);
}

/* Submits the blocks of the file above height `from` up to height `to`;
 * progress_fd >= 0 gets each connected height (4 bytes). Returns how many. */
static uint32_t connect_file(node *nd, const char *bfile, uint32_t from, uint32_t to,
                             int progress_fd)
{
    FILE *f = fopen(bfile, "rb");
    uint8_t *raw = malloc(ARB_BLOCK_MAX_SIZE);
    uint32_t len, h = 0, connected = 0;
    arb_errbuf eb;
    if (f == NULL || raw == NULL)
        die("cannot read the block file");
    while (h < to && fread(&len, 4, 1, f) == 1) {
        h++;
        if (len > ARB_BLOCK_MAX_SIZE)
            die("corrupt block file");
        if (h <= from) {
            if (fseek(f, (long)len, SEEK_CUR) != 0)
                die("seek");
            continue;
        }
        arb_block b;
        arb_block_outcome oc;
        arb_check_result r;
        arb_block_init(&b);
        if (fread(raw, 1, len, f) != len || arb_block_decode(&b, raw, len, &eb) != ARB_OK)
            die("read");
        if (arb_chainstate_submit(nd->cs, &b, (int64_t)time(NULL), &oc, &r) != ARB_OK ||
            oc != ARB_BLOCK_CONNECTED) {
            fprintf(stderr, "block %u: %s\n", h, r.reason ? r.reason : "error");
            die("submit");
        }
        connected++;
        arb_block_clear(&b);
        if (progress_fd >= 0 && write(progress_fd, &h, 4) != 4)
            _exit(3);
    }
    free(raw);
    fclose(f);
    return connected;
}

/* The paired phase: before each block is submitted, its signatures are
 * verified alone (from the .sigs file, on `threads` threads); the two
 * durations are summed separately, so both sums see the same load at the
 * same moments (a loaded machine changes by the minute). */
static void connect_paired(node *nd, const char *bfile, uint32_t n, uint32_t txs,
                           const arb_schnorr *s, const arb_sig_job *jobs, size_t nsig,
                           unsigned threads, uint32_t first_signed, double *sig_s, double *conn_s)
{
    FILE *f = fopen(bfile, "rb");
    uint8_t *raw = malloc(ARB_BLOCK_MAX_SIZE);
    uint32_t len, h = 0;
    size_t next_sig = 0;
    arb_errbuf eb;
    *sig_s = *conn_s = 0;
    if (f == NULL || raw == NULL)
        die("cannot read the block file");
    while (h < n && fread(&len, 4, 1, f) == 1) {
        arb_block b;
        arb_block_outcome oc;
        arb_check_result r;
        h++;
        if (len > ARB_BLOCK_MAX_SIZE)
            die("corrupt block file");
        arb_block_init(&b);
        if (fread(raw, 1, len, f) != len || arb_block_decode(&b, raw, len, &eb) != ARB_OK)
            die("read");
        if (h >= first_signed && next_sig + txs <= nsig) {
            double t0 = now_s();
            if (arb_chain_verify_sigs(s, jobs + next_sig, txs, threads) != SIZE_MAX)
                die("a signature of the file does not verify");
            *sig_s += now_s() - t0;
            next_sig += txs;
        }
        double t1 = now_s();
        if (arb_chainstate_submit(nd->cs, &b, (int64_t)time(NULL), &oc, &r) != ARB_OK ||
            oc != ARB_BLOCK_CONNECTED)
            die("submit");
        *conn_s += now_s() - t1;
        arb_block_clear(&b);
    }
    free(raw);
    fclose(f);
}

typedef struct {
    arb_hash utxo, index, state;
    uint64_t n_utxo;
} digests;

static void node_digests(node *nd, digests *d)
{
    uint64_t n1, n2;
    if (arb_chainstate_utxo_digest(nd->cs, &d->utxo, &d->n_utxo) != ARB_OK ||
        arb_chainstate_index_digest(nd->cs, &d->index, &n1) != ARB_OK ||
        arb_chainstate_state_digest(nd->cs, &d->state, &n2) != ARB_OK)
        die("digest");
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: bench_connect_full [BLOCKS [TXS [FLUSH_BLOCKS [THREADS]]]]\n"
               "  defaults: 250 blocks, 1000 transactions per block, a synced flush every\n"
               "  256 blocks (1: every block), 2 signature threads. One JSON line per phase.\n");
        return 0;
    }
    if (argc == 8 && strcmp(argv[1], "--child") == 0) { /* the kill -9 phase's connect */
        node nd;
        node_open(&nd, argv[2], arb_chain_params_get("regtest"),
                  (unsigned)strtoul(argv[6], NULL, 10), (unsigned)strtoul(argv[7], NULL, 10));
        connect_file(&nd, argv[3], 0, (uint32_t)strtoul(argv[4], NULL, 10), atoi(argv[5]));
        node_close(&nd);
        return 0;
    }
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 250;
    uint32_t txs = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000;
    unsigned flush = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 256;
    unsigned threads = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 2;
    const arb_chain_params *p = arb_chain_params_get("regtest");
    const char *tmpenv = getenv("TMPDIR");
    const char *tmp = tmpenv ? tmpenv : "/tmp";
    char bfile[600], sfile[600], dir[512], db[600], db2[600], db3[600], cmd[700];

    if (n < p->coinbase_maturity + 3 || txs < 1 || txs > 5000 || threads < 1)
        die("BLOCKS must be at least 103, TXS 1..5000, THREADS at least 1");
    snprintf(bfile, sizeof bfile, "%s/arbor-bench-connect-full-%u-%u.blocks", tmp, n, txs);
    snprintf(sfile, sizeof sfile, "%s/arbor-bench-connect-full-%u-%u.sigs", tmp, n, txs);
    snprintf(dir, sizeof dir, "%s/arbor-bench-connect-full-XXXXXX", tmp);
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(db2, sizeof db2, "%s/db-kill", dir);
    snprintf(db3, sizeof db3, "%s/db-paired", dir);

    int reused = file_exists(bfile) && file_exists(sfile);
    double t0 = now_s();
    if (!reused)
        generate(p, n, txs, bfile, sfile);
    double gen_s = now_s() - t0;
    printf("{\"bench\":\"connect_full\",\"phase\":\"generate\",\"blocks\":%u,\"txs_per_block\":%u,"
           "\"reused\":%d,\"seconds\":%.3f}\n",
           n, txs, reused, gen_s);
    fflush(stdout);

    /* The signatures alone. */
    FILE *sf = fopen(sfile, "rb");
    if (sf == NULL || fseek(sf, 0, SEEK_END) != 0)
        die("cannot read the signature file");
    size_t nsig = (size_t)ftell(sf) / SIG_JOB_SIZE;
    rewind(sf);
    arb_sig_job *jobs = malloc((nsig ? nsig : 1) * sizeof *jobs);
    if (jobs == NULL)
        die("nomem");
    for (size_t i = 0; i < nsig; i++) {
        uint8_t j[SIG_JOB_SIZE];
        if (fread(j, 1, sizeof j, sf) != sizeof j)
            die("read");
        memcpy(jobs[i].msg, j, 32);
        memcpy(jobs[i].sig, j + 32, 64);
        memcpy(jobs[i].key, j + 96, 32);
    }
    fclose(sf);
    arb_schnorr *s;
    if (arb_schnorr_new(&s) != ARB_OK)
        die("init");
    /* The block check verifies one block's signatures at a time: so here. */
    t0 = now_s();
    double c0 = cpu_s();
    for (size_t i = 0; i < nsig; i += txs) {
        size_t k = nsig - i < txs ? nsig - i : txs;
        if (arb_chain_verify_sigs(s, jobs + i, k, threads) != SIZE_MAX)
            die("a signature of the file does not verify");
    }
    double sig_s = now_s() - t0;
    double sig_cpu = cpu_s() - c0;
    double sig_rate = (double)nsig / sig_s;
    printf("{\"bench\":\"connect_full\",\"phase\":\"sig_only\",\"threads\":%u,\"sigs\":%zu,"
           "\"seconds\":%.3f,\"sigs_per_s\":%.1f,\"cpu_seconds\":%.3f}\n",
           threads, nsig, sig_s, sig_rate, sig_cpu);
    fflush(stdout);

    /* A clean connect. */
    node nd;
    digests clean, after;
    node_open(&nd, db, p, flush, threads);
    uint64_t syncs0 = arb_chainstate_sync_count(nd.cs);
    t0 = now_s();
    c0 = cpu_s();
    uint32_t connected = connect_file(&nd, bfile, 0, n, -1);
    double conn_s = now_s() - t0;
    double conn_cpu = cpu_s() - c0;
    uint64_t syncs = arb_chainstate_sync_count(nd.cs) - syncs0;
    uint64_t cache_flushes = arb_chainstate_cache_flushes(nd.cs);
    node_digests(&nd, &clean);
    node_close(&nd);
    uint64_t ntx_total = nsig + 1 + connected; /* signed, the fan-out, the coinbases */
    double sig_conn_rate = (double)nsig / conn_s;
    printf("{\"bench\":\"connect_full\",\"phase\":\"connect\",\"blocks\":%u,\"txs\":%llu,"
           "\"flush_blocks\":%u,\"synced_batches\":%llu,\"threads\":%u,\"seconds\":%.3f,"
           "\"blocks_per_s\":%.1f,\"tx_per_s\":%.1f,\"sigs_per_s\":%.1f,"
           "\"sig_only_sigs_per_s\":%.1f,\"ratio\":%.3f,\"cpu_seconds\":%.3f,"
           "\"cpu_ratio\":%.3f,\"cache_flushes\":%llu,\"utxos\":%llu}\n",
           connected, (unsigned long long)ntx_total, flush, (unsigned long long)syncs, threads,
           conn_s, connected / conn_s, (double)ntx_total / conn_s, sig_conn_rate, sig_rate,
           sig_conn_rate / sig_rate, conn_cpu, sig_cpu / conn_cpu,
           (unsigned long long)cache_flushes, (unsigned long long)clean.n_utxo);
    fflush(stdout);

    /* Paired: each block's signatures alone, then the block, in turn. */
    {
        node np;
        digests d;
        double ps, pc;
        node_open(&np, db3, p, flush, threads);
        connect_paired(&np, bfile, n, txs, s, jobs, nsig, threads, p->coinbase_maturity + 3, &ps,
                       &pc);
        node_digests(&np, &d);
        node_close(&np);
        if (!arb_hash_eq(&d.utxo, &clean.utxo))
            die("the paired connect ended in another UTXO set");
        printf("{\"bench\":\"connect_full\",\"phase\":\"paired\",\"blocks\":%u,\"threads\":%u,"
               "\"sig_only_seconds\":%.3f,\"connect_seconds\":%.3f,\"ratio\":%.3f}\n",
               n, threads, ps, pc, ps / pc);
        fflush(stdout);
    }
    arb_schnorr_free(s);
    free(jobs);

    /* kill -9 half-way, recover, connect the rest. */
    int pfd[2];
    if (pipe(pfd) != 0)
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* A fresh program: RocksDB's threads of the clean run must not be
         * forked half-way through whatever they hold. */
        char a_n[16], a_fd[16], a_flush[16], a_thr[16];
        close(pfd[0]);
        snprintf(a_n, sizeof a_n, "%u", n);
        snprintf(a_fd, sizeof a_fd, "%d", pfd[1]);
        snprintf(a_flush, sizeof a_flush, "%u", flush);
        snprintf(a_thr, sizeof a_thr, "%u", threads);
        execl("/proc/self/exe", "bench_connect_full", "--child", db2, bfile, a_n, a_fd, a_flush,
              a_thr, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    uint32_t h = 0, killed_at = 0;
    while (read(pfd[0], &h, 4) == 4) {
        if (h >= n / 2) {
            kill(pid, SIGKILL);
            killed_at = h;
            break;
        }
    }
    close(pfd[0]);
    int wst;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    if (killed_at == 0 || !WIFSIGNALED(wst))
        die("the child was not killed mid-way");
    t0 = now_s();
    node_open(&nd, db2, p, flush, threads);
    double rec_s = now_s() - t0;
    uint32_t replayed = arb_chainstate_replayed(nd.cs);
    arb_chain_tip tip;
    arb_chainstate_tip(nd.cs, &tip);
    t0 = now_s();
    uint32_t rest = connect_file(&nd, bfile, tip.height, n, -1);
    double rest_s = now_s() - t0;
    arb_chainstate_tip(nd.cs, &tip);
    node_digests(&nd, &after);
    node_close(&nd);
    int equal = arb_hash_eq(&clean.utxo, &after.utxo) && arb_hash_eq(&clean.index, &after.index) &&
                arb_hash_eq(&clean.state, &after.state) && tip.height == n;
    printf("{\"bench\":\"connect_full\",\"phase\":\"kill9\",\"killed_at_height\":%u,"
           "\"recovered_tip\":%u,\"recovery_seconds\":%.3f,\"coins_replayed_blocks\":%u,"
           "\"reconnected_blocks\":%u,\"reconnect_seconds\":%.3f,\"digests_equal_clean\":%s}\n",
           killed_at, (unsigned)(tip.height - rest), rec_s, (unsigned)replayed, rest, rest_s,
           equal ? "true" : "false");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_connect_full: could not remove %s\n", dir);
    return connected == n && equal ? 0 : 1;
}
