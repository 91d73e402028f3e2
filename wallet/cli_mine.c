/* arbor-wallet mine: a CPU miner on the node's block templates.
 *
 * Threads: T workers grind nonces and the main thread talks to the node. They
 * meet under one mutex with two condition variables, so no one sleeps on a
 * timer between blocks: a worker that finds a block wakes the main thread at
 * once, and a worker without work waits until the main thread hands some out.
 * (The one timed wait is for the clock, when blocks get as far ahead of it as
 * the chain allows: see too_early.)
 *
 * Pipelining: when a block is found, the main thread first builds the next
 * block on it (the coinbase for the next height paying the same key, no other
 * transactions, the bits and time the node's template would carry: see
 * build_next) and hands that to the workers, and only then submits the found
 * block; the workers grind while the node checks and stores it. A rejected
 * block drops the work built on it, and the next template comes from the node.
 * The node's template is also fetched every second and taken when it differs
 * (new transactions, another tip). Blocks are built locally only after the
 * first template has been rebuilt byte for byte that way (so a node whose
 * templates differ just gets asked every time), and never across a retarget
 * (its bits need headers the miner does not keep). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/chain/bech32.h"
#include "ledger/chain/block.h"
#include "ledger/chain/consensus.h"
#include "ledger/chain/hdrcheck.h"
#include "ledger/chain/header.h"
#include "ledger/chain/mine.h"
#include "ledger/chain/params.h"
#include "merkle/buf.h"
#include "merkle/hash.h"
#include "wallet/cli.h"
#include "wallet/spend.h"

/* Nonces per call of the search: about a millisecond, so a worker notices
 * new work (or a block found by another) soon. */
#define MINE_CHUNK 16384u

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* workers wait here for work (or stop) */
    pthread_cond_t found_cv; /* the main thread waits here for a solution */
    uint8_t header[80];      /* the current work (under mu) */
    uint64_t gen;            /* bumped with each new work (under mu) */
    int have_work;           /* under mu */
    int found;               /* `solution` solves the current work (under mu) */
    uint8_t solution[80];    /* under mu */
    int stop;                /* under mu */
    atomic_uint_fast64_t hashes;  /* nonces tried, all threads */
    atomic_uint_fast64_t hash_ns; /* time spent in the nonce search, all threads */
    unsigned threads;
} miner;

typedef struct {
    miner *m;
    unsigned id;
    arb_sha256_mid *mid; /* this thread's midstate context */
} miner_arg;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double now_s(void)
{
    return (double)mono_ns() / 1e9;
}

static void *miner_thread(void *p)
{
    miner_arg *a = p;
    miner *m = a->m;
    uint64_t gen = 0;
    arb_block_header h;
    uint32_t start = 0, end = 0, next = 0;
    arb_sha256_mid *mid = a->mid;

    memset(&h, 0, sizeof(h));
    pthread_mutex_lock(&m->mu);
    for (;;) {
        uint64_t left, tries, t0;
        int ok;

        while (!m->stop && (!m->have_work || m->found))
            pthread_cond_wait(&m->work_cv, &m->mu);
        if (m->stop)
            break;
        if (m->gen != gen) {
            gen = m->gen;
            arb_header_decode(&h, m->header);
            /* Each thread owns a slice of the nonce space. */
            start = (uint32_t)(((uint64_t)a->id << 32) / m->threads);
            end = (uint32_t)((((uint64_t)a->id + 1) << 32) / m->threads - 1);
            next = start;
        }
        pthread_mutex_unlock(&m->mu);
        left = (uint64_t)end - next + 1;
        tries = left < MINE_CHUNK ? left : MINE_CHUNK;
        t0 = mono_ns();
        ok = arb_chain_mine_header_mid(mid, &h, next, tries);
        atomic_fetch_add(&m->hash_ns, mono_ns() - t0);
        atomic_fetch_add(&m->hashes, ok ? (uint64_t)(h.nonce - next) + 1 : tries);
        pthread_mutex_lock(&m->mu);
        if (ok) {
            /* Done with this work either way: the loop waits for the next
             * (or picks it up if the main thread already gave it). */
            if (m->gen == gen && !m->found) {
                arb_header_encode(m->solution, &h);
                m->found = 1;
                pthread_cond_signal(&m->found_cv);
            }
            next = start;
            gen = 0;
        } else if (tries == left) {
            /* Slice exhausted: bump the time and start over. */
            h.time++;
            next = start;
        } else
            next += (uint32_t)tries;
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* Hands out new work (the block's first 80 bytes); a solution of the old
 * work that the main thread has not taken is dropped. */
static void give_work(miner *m, const uint8_t header[80])
{
    pthread_mutex_lock(&m->mu);
    memcpy(m->header, header, 80);
    m->gen++;
    m->have_work = 1;
    m->found = 0;
    pthread_cond_broadcast(&m->work_cv);
    pthread_mutex_unlock(&m->mu);
}

/* The hashing rate: nonces over the time the workers spent searching (the
 * time spent waiting for the node is not hashing). Each thread's share of
 * that time is the total over the number of threads. */
static double hash_rate(miner *m)
{
    double ns = (double)atomic_load(&m->hash_ns);
    return ns > 0 ? (double)atomic_load(&m->hashes) * m->threads * 1e9 / ns : 0;
}

/* "12.3 kH/s": a rate with a unit that fits. */
static void format_rate(char *out, size_t size, double r)
{
    static const char *const unit[] = {"H/s", "kH/s", "MH/s", "GH/s", "TH/s"};
    size_t u = 0;

    while (r >= 1000.0 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
        r /= 1000.0;
        u++;
    }
    snprintf(out, size, "%.*f %s", u == 0 ? 0 : 1, r, unit[u]);
}

/* A block to mine. */
typedef struct {
    uint8_t *block; /* the complete block (malloc'ed); the header is block[0..80) */
    size_t len;
    uint32_t height;
    uint64_t reward; /* the coinbase's value */
} work;

static void work_clear(work *w)
{
    free(w->block);
    memset(w, 0, sizeof(*w));
}

/* Takes the template's block. */
static void work_from_template(work *w, arb_node_template *t)
{
    w->block = t->block;
    w->len = t->block_len;
    w->height = t->height;
    w->reward = t->coinbase_value;
    t->block = NULL;
    arb_node_template_clear(t);
}

typedef struct {
    const arb_chain_params *p;
    arb_sha256 *sha;
    uint8_t key[32]; /* the coinbase's key */
    int ok;          /* building locally gave the node's template */
    arb_hash root;   /* the template's "state_root" (its coinbase's): a block
                        without transactions after it leaves the state as is */
} builder;

static int no_lookup(void *ud, uint32_t height, arb_hdr_info *out)
{
    (void)ud;
    (void)height;
    (void)out;
    return 0;
}

/* Serializes blk into w. Returns 1, or 0 when out of memory. */
static int work_from_block(work *w, const arb_block *blk, uint32_t height)
{
    arb_buf b = {0};

    arb_block_write(&b, blk);
    if (b.oom) {
        arb_buf_free(&b);
        return 0;
    }
    w->block = arb_buf_take(&b, &w->len);
    w->height = height;
    w->reward = blk->tx[0].out[0].amount;
    return 1;
}

/* The block after the found one (header hdr at `height`), as the node's
 * template would give it on an empty mempool: arb_chain_block_build with the
 * parent's hash and time, bits from the retarget rule (the parent's, except
 * at a retarget, which needs older headers: then 0 is returned) and the clock.
 * The node passes max(now, median time past + 1) as the time; since the
 * parent's time is at least the median time past of the chain ending at it,
 * the result max(that, parent time + 1) is the same. Returns 1 or 0. */
static int build_next(builder *b, work *out, const uint8_t hdr[80], uint32_t height)
{
    arb_block_header h;
    arb_hdr_info parent;
    arb_block blk;
    uint32_t bits;
    int ok;

    memset(out, 0, sizeof(*out));
    arb_header_decode(&h, hdr);
    arb_header_hash(b->sha, &parent.hash, &h);
    parent.time = h.time;
    parent.bits = h.bits;
    if (!arb_header_next_bits(b->p, height + 1, &parent, no_lookup, NULL, &bits) ||
        arb_chain_block_build(b->p, b->sha, &blk, &parent.hash, parent.time, height + 1, bits,
                              (int64_t)time(NULL), b->key, NULL, 0, 0, &b->root) != ARB_OK)
        return 0;
    ok = work_from_block(out, &blk, height + 1);
    arb_block_clear(&blk);
    return ok;
}

/* How long a block with this header must wait before the node takes it:
 * consensus refuses a header time more than max_future_time past the node's
 * clock (time-too-new), and while blocks come faster than one a second each is
 * a second later than its parent, so a long fast run on regtest reaches that
 * limit. Returns the seconds to wait (0: it can go now). The node's clock is
 * time(), which reads a coarse clock that lags the exact one by up to a timer
 * tick; hence 50 ms more than the exact clock says. */
static double too_early(const arb_chain_params *p, const uint8_t hdr[80])
{
    arb_block_header h;
    struct timespec ts;
    double now, from;

    arb_header_decode(&h, hdr);
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    from = (double)h.time - (double)p->max_future_time + 0.05;
    return from > now ? from - now : 0;
}

/* Hands out w once the clock allows its time (see too_early), saying so
 * the first time it has to wait. */
static void give_work_in_time(miner *m, const builder *b, const work *w, int *told, int tty)
{
    double wait = too_early(b->p, w->block);

    if (wait > 0) {
        struct timespec ts;
        if (!*told) {
            if (tty)
                fprintf(stderr, "\r\033[K");
            errmsg("the blocks' times are now %ld s ahead of the clock, as far as the chain "
                   "allows: one block a second from here", (long)b->p->max_future_time);
            *told = 1;
        }
        ts.tv_sec = (time_t)wait;
        ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    give_work(m, w->block);
}

/* Takes the template's state root (its coinbase's payload) for the blocks
 * built locally after it. Returns 1, or 0 when the template has none. */
static int builder_root(builder *b, const arb_node_template *t)
{
    arb_block nb;
    arb_errbuf eb;
    int ok;
    arb_block_init(&nb);
    ok = arb_block_decode(&nb, t->block, t->block_len, &eb) == ARB_OK && nb.n_tx > 0 &&
         arb_chain_coinbase_root(&nb.tx[0], &b->root);
    arb_block_clear(&nb);
    return ok;
}

/* Rebuilds the node's template t (its transactions, fees, parent, bits and
 * time) with arb_chain_block_build: 1 if the bytes are the same, so blocks
 * built by build_next are what the node would hand out. */
static int builder_check(builder *b, const arb_node_template *t)
{
    arb_block nb, blk;
    arb_errbuf eb;
    uint64_t subsidy = arb_chain_subsidy(b->p, t->height);
    work w = {0};
    int same;

    arb_block_init(&nb);
    if (arb_block_decode(&nb, t->block, t->block_len, &eb) != ARB_OK || nb.n_tx == 0 ||
        t->coinbase_value < subsidy) {
        arb_block_clear(&nb);
        return 0;
    }
    /* The state root the node put in the coinbase (its "state_root"). */
    if (!arb_chain_coinbase_root(&nb.tx[0], &b->root)) {
        arb_block_clear(&nb);
        return 0;
    }
    /* parent time 0: the header's time is then t->time itself. */
    if (arb_chain_block_build(b->p, b->sha, &blk, &nb.header.prev, 0, t->height, t->bits,
                              t->time, b->key, nb.tx + 1, nb.n_tx - 1,
                              t->coinbase_value - subsidy, &b->root) != ARB_OK) {
        arb_block_clear(&nb);
        return 0;
    }
    arb_block_clear(&nb);
    same = work_from_block(&w, &blk, t->height) && w.len == t->block_len &&
           memcmp(w.block, t->block, w.len) == 0;
    arb_block_clear(&blk);
    work_clear(&w);
    return same;
}

/* The address to mine to: --address, else the wallet's next receive address
 * (recorded as handed out). */
static int mine_address(const options *o, const char *given, const arb_node *node,
                        const char *node_network, char *addr, size_t size)
{
    wallet_session w;
    arb_errbuf eb = {{0}};
    arb_err err;
    int ok = 0;

    if (given != NULL) {
        uint8_t key[32];
        const char *hrp = arb_wallet_network_hrp(node_network);
        if (strlen(given) >= size || hrp == NULL ||
            arb_address_decode(key, hrp, given, &eb) != ARB_OK) {
            errmsg("--address %s is not a %s address (the node at %s runs %s; %s addresses "
                   "start with %s1)", given, node_network, arb_node_url(node), node_network,
                   node_network, hrp != NULL ? hrp : "?");
            return 0;
        }
        strcpy(addr, given);
        return 1;
    }
    if (o->wallet == NULL) {
        errmsg("mine needs --address ADDRESS or --wallet FILE");
        return 0;
    }
    if (!session_open(o, &w) || !same_network(o, w.ks.network, node, node_network))
        goto out;
    {
        /* Pending payments go back to the node first, so the blocks can
         * carry them. */
        pending_report *rep = NULL;
        size_t n_rep = 0;
        if (!pending_sync(o, &w, (arb_node *)node, &rep, &n_rep))
            goto out;
        pending_report_stderr(rep, n_rep);
        free(rep);
    }
    while ((err = arb_wallet_address_at(w.ctx, addr, size, NULL, &w.acct, w.ks.network, 0,
                                        w.ks.next_receive)) == ARB_ERR_VERIFY)
        w.ks.next_receive++;
    if (err != ARB_OK) {
        errmsg("key derivation failed");
        goto out;
    }
    w.ks.next_receive++;
    if ((err = arb_keystore_seal(&w.ks, &w.s, w.pass, strlen(w.pass), &eb)) != ARB_OK ||
        (err = arb_keystore_save(&w.ks, o->wallet, 0, &eb)) != ARB_OK) {
        errmsg("%s", eb.msg[0] ? eb.msg : arb_err_str(err));
        goto out;
    }
    ok = 1;
out:
    session_close(&w);
    return ok;
}

/* Whether the block the node just took (hash at height) is on its active
 * chain. The node stores a block whose height another block took first on a
 * side branch and answers as for one that extends its tip, so the tip is
 * asked: the block is the tip, or the tip moved on past it (*moved: work built
 * on the block is stale either way), or the block is not in the chain.
 * Returns 1, or 0 when the node did not answer (eb says why). */
static int on_active_chain(arb_node *node, const char *hash, uint32_t height, int *in_chain,
                           int *moved, arb_errbuf *eb)
{
    arb_node_tip tip;
    char at[ARB_NODE_HASH_HEX];
    arb_err err;

    *in_chain = *moved = 0;
    if (arb_node_get_tip(node, &tip, eb) != ARB_OK)
        return 0;
    if (strcmp(tip.hash, hash) == 0) {
        *in_chain = 1;
        return 1;
    }
    *moved = 1;
    if (tip.height < height)
        return 1;
    err = arb_node_get_block_hash(node, at, height, eb);
    if (err == ARB_ERR_NOT_FOUND) /* the chain got shorter meanwhile */
        return 1;
    if (err != ARB_OK)
        return 0;
    *in_chain = strcmp(at, hash) == 0;
    return 1;
}

static int parse_mine_args(int argc, char **argv, unsigned long *blocks, unsigned long *threads,
                           const char **address)
{
    for (int i = 0; i < argc; i++) {
        char *end = NULL;
        if (i + 1 >= argc) {
            errmsg("mine: %s %s", argv[i], i + 1 >= argc ? "needs a value" : "is not an option of mine");
            return wallet_usage_error("mine");
        }
        if (strcmp(argv[i], "--address") == 0) {
            *address = argv[++i];
            continue;
        }
        errno = 0;
        if (strcmp(argv[i], "--blocks") == 0) {
            *blocks = strtoul(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || *blocks == 0 || *blocks > 1000000) {
                errmsg("--blocks must be 1..1000000");
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--threads") == 0) {
            *threads = strtoul(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || *threads == 0 || *threads > 1024) {
                errmsg("--threads must be 1..1024");
                return EXIT_USAGE;
            }
        } else {
            errmsg("mine: %s %s", argv[i], i + 1 >= argc ? "needs a value" : "is not an option of mine");
            return wallet_usage_error("mine");
        }
    }
    return EXIT_OK;
}

/* One line on stdout for an accepted block. */
static void print_block(const options *o, const char *hash, uint32_t height, const char *addr,
                        uint64_t reward, unsigned long found)
{
    if (o->json) {
        json_t *j = json_pack("{s:s, s:I, s:s, s:o, s:I}", "hash", hash, "height",
                              (json_int_t)height, "address", addr, "reward", json_amount(reward),
                              "found", (json_int_t)found);
        char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (s != NULL)
            printf("%s\n", s);
        free(s);
    } else
        printf("block %u %s\n", height, hash);
    fflush(stdout);
}

int cmd_mine(const options *o, int argc, char **argv)
{
    unsigned long blocks = 1, threads = 0;
    const char *address = NULL;
    char addr[ARB_ADDR_MAX];
    arb_node *node = NULL;
    arb_node_template t = {0};
    arb_node_tip tip;
    arb_errbuf eb = {{0}};
    builder b = {0};
    work cur = {0};
    miner m;
    pthread_condattr_t ca;
    miner_arg *args = NULL;
    pthread_t *tids = NULL;
    unsigned started = 0;
    unsigned long found = 0;
    int rc, tty = !o->json && isatty(2), told = 0;
    double t0, last_poll, last_show;

    if ((rc = parse_mine_args(argc, argv, &blocks, &threads, &address)) != EXIT_OK)
        return rc;
    if (threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (unsigned long)nc : 1;
    }
    if ((rc = open_node(o, &node, &tip)) != EXIT_OK)
        return rc;
    rc = EXIT_FAIL;
    if (!mine_address(o, address, node, tip.network, addr, sizeof(addr))) {
        arb_node_free(node);
        return EXIT_FAIL;
    }
    b.p = arb_chain_params_get(tip.network);
    if (b.p == NULL || arb_address_decode(b.key, b.p->hrp, addr, &eb) != ARB_OK) {
        errmsg("the node runs an unknown network '%s'", tip.network);
        arb_node_free(node);
        return EXIT_FAIL;
    }
    if (arb_sha256_new(&b.sha) != ARB_OK) {
        errmsg("out of memory");
        arb_node_free(node);
        return EXIT_FAIL;
    }
    memset(&m, 0, sizeof(m));
    pthread_mutex_init(&m.mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m.work_cv, NULL);
    pthread_cond_init(&m.found_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&m.hashes, 0);
    atomic_init(&m.hash_ns, 0);
    m.threads = (unsigned)threads;
    args = calloc(threads, sizeof(*args));
    tids = calloc(threads, sizeof(*tids));
    if (args == NULL || tids == NULL)
        goto out;
    /* First template before the threads start: errors (bad address, node
     * down) are reported at once. */
    if (arb_node_get_template(node, &t, addr, &eb) != ARB_OK) {
        errmsg("%s", eb.msg);
        goto out;
    }
    b.ok = builder_check(&b, &t);
    work_from_template(&cur, &t);
    give_work_in_time(&m, &b, &cur, &told, tty);
    for (started = 0; started < threads; started++) {
        args[started].m = &m;
        args[started].id = started;
        if (arb_sha256_mid_new(&args[started].mid) != ARB_OK ||
            pthread_create(&tids[started], NULL, miner_thread, &args[started]) != 0)
            break;
    }
    if (started == 0) {
        errmsg("cannot start threads");
        goto out;
    }
    if (started < threads) {
        /* Fewer threads than asked: the slices must cover the nonce space. */
        pthread_mutex_lock(&m.mu);
        m.threads = started;
        m.gen++;
        pthread_cond_broadcast(&m.work_cv);
        pthread_mutex_unlock(&m.mu);
    }
    t0 = last_poll = last_show = now_s();
    while (found < blocks) {
        uint8_t sol[80];
        int have_sol = 0, need_node = 0;
        double now;

        /* Wait for a block, or until it is time to poll the node or draw
         * the progress line. */
        pthread_mutex_lock(&m.mu);
        if (!m.found) {
            double wake = last_poll + 1.0;
            struct timespec ts;
            if (!o->json && last_show + (tty ? 1.0 : 10.0) < wake)
                wake = last_show + (tty ? 1.0 : 10.0);
            ts.tv_sec = (time_t)wake;
            ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
            while (!m.found && pthread_cond_timedwait(&m.found_cv, &m.mu, &ts) != ETIMEDOUT)
                ;
        }
        if (m.found) {
            have_sol = 1;
            memcpy(sol, m.solution, 80);
            m.found = 0;
            m.have_work = 0;
        }
        pthread_mutex_unlock(&m.mu);
        if (have_sol) {
            char hash[ARB_NODE_HASH_HEX];
            uint32_t height = 0;
            work next = {0};
            int piped = 0;

            memcpy(cur.block, sol, 80);
            /* The next block first, so the workers grind while the node
             * checks this one. */
            if (b.ok && found + 1 < blocks && build_next(&b, &next, sol, cur.height)) {
                if (too_early(b.p, next.block) > 0)
                    work_clear(&next); /* the node's template, after the wait */
                else {
                    give_work(&m, next.block);
                    piped = 1;
                }
            }
            if (arb_node_post_block(node, hash, &height, cur.block, cur.len, &eb) != ARB_OK) {
                /* A stale block (the tip moved) is not fatal: mine on. */
                if (tty)
                    fprintf(stderr, "\r\033[K");
                errmsg("block rejected: %s", eb.msg);
                piped = 0;
            } else {
                int in_chain, moved;
                if (!on_active_chain(node, hash, height, &in_chain, &moved, &eb)) {
                    errmsg("%s", eb.msg);
                    work_clear(&next);
                    goto out;
                }
                if (tty)
                    fprintf(stderr, "\r\033[K");
                if (in_chain) {
                    found++;
                    print_block(o, hash, height, addr, cur.reward, found);
                } else
                    errmsg("block %u %s went to a side branch (another block at that height "
                           "came first); mining on the node's tip", height, hash);
                if (!in_chain || moved)
                    piped = 0;
            }
            work_clear(&cur);
            if (piped)
                cur = next;
            else {
                work_clear(&next);
                need_node = 1;
            }
            if (found >= blocks)
                break;
        }
        now = now_s();
        if (need_node || now - last_poll >= 1.0) {
            /* The node's template: taken when work must come from the node,
             * or when it differs from the current work in more than the time
             * (version, parent, merkle root: new transactions, another tip). */
            last_poll = now;
            if (arb_node_get_template(node, &t, addr, &eb) != ARB_OK) {
                errmsg("%s", eb.msg);
                goto out;
            }
            if (need_node || t.block_len != cur.len || memcmp(t.block, cur.block, 68) != 0) {
                if (b.ok && !builder_root(&b, &t))
                    b.ok = 0;
                work_clear(&cur);
                work_from_template(&cur, &t);
                give_work_in_time(&m, &b, &cur, &told, tty);
            } else
                arb_node_template_clear(&t);
        }
        /* Progress on stderr: redrawn on a terminal after each block and
         * every second; a line every 10 s otherwise. */
        if (!o->json && (tty ? (have_sol || now - last_show >= 1.0) : now - last_show >= 10.0)) {
            char rate[32];
            last_show = now;
            format_rate(rate, sizeof(rate), hash_rate(&m));
            fprintf(stderr, "%smining: %lu/%lu blocks found, %s, %u thread%s%s",
                    tty ? "\r\033[K" : "", found, blocks, rate, started,
                    started == 1 ? "" : "s", tty ? "" : "\n");
            fflush(stderr);
        }
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    if (!o->json) {
        char rate[32];
        double el = now_s() - t0;
        format_rate(rate, sizeof(rate), hash_rate(&m));
        printf("%lu block%s found in %.2f s (%.1f blocks/s), hashing at %s\n", found,
               found == 1 ? "" : "s", el, el > 0 ? (double)found / el : 0.0, rate);
    }
    rc = EXIT_OK;
out:
    pthread_mutex_lock(&m.mu);
    m.stop = 1;
    pthread_cond_broadcast(&m.work_cv);
    pthread_mutex_unlock(&m.mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    for (unsigned long i = 0; args != NULL && i < threads; i++)
        arb_sha256_mid_free(args[i].mid);
    pthread_cond_destroy(&m.work_cv);
    pthread_cond_destroy(&m.found_cv);
    pthread_mutex_destroy(&m.mu);
    free(args);
    free(tids);
    work_clear(&cur);
    arb_node_template_clear(&t);
    arb_sha256_free(b.sha);
    arb_node_free(node);
    return rc;
}
