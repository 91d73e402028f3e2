/* arbor-wallet mine: a CPU miner on the node's block templates. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/chain/header.h"
#include "ledger/chain/mine.h"
#include "wallet/cli.h"
#include "wallet/spend.h"

#define MINE_CHUNK 65536u

typedef struct {
    pthread_mutex_t mu;
    uint8_t header[80];    /* current work (under mu) */
    uint64_t gen;          /* bumped on new work; 0: none yet (under mu) */
    int have_work;         /* under mu */
    int found;             /* a solution for gen `found_gen` is waiting (under mu) */
    uint64_t found_gen;
    uint8_t solution[80];  /* under mu */
    atomic_uint_fast64_t hashes;
    atomic_int stop;
    unsigned threads;
} miner;

typedef struct {
    miner *m;
    unsigned id;
} miner_arg;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *miner_thread(void *p)
{
    miner_arg *a = p;
    miner *m = a->m;
    uint64_t gen = 0;
    arb_block_header h;
    uint32_t start = 0, end = 0, next = 0;

    memset(&h, 0, sizeof(h));
    while (!atomic_load(&m->stop)) {
        int have;
        pthread_mutex_lock(&m->mu);
        have = m->have_work && !m->found;
        if (have && m->gen != gen) {
            gen = m->gen;
            arb_header_decode(&h, m->header);
            /* Each thread owns a slice of the nonce space. */
            start = (uint32_t)(((uint64_t)a->id << 32) / m->threads);
            end = (uint32_t)((((uint64_t)a->id + 1) << 32) / m->threads - 1);
            next = start;
        }
        pthread_mutex_unlock(&m->mu);
        if (!have) {
            sleep_ms(5);
            continue;
        }
        {
            uint64_t left = (uint64_t)end - next + 1;
            uint64_t tries = left < MINE_CHUNK ? left : MINE_CHUNK;
            int ok = arb_chain_mine_header(&h, next, tries);
            atomic_fetch_add(&m->hashes, ok ? (uint64_t)(h.nonce - next) + 1 : tries);
            if (ok) {
                pthread_mutex_lock(&m->mu);
                if (m->gen == gen && !m->found) {
                    arb_header_encode(m->solution, &h);
                    m->found = 1;
                    m->found_gen = gen;
                }
                pthread_mutex_unlock(&m->mu);
                gen = 0; /* wait for new work */
                continue;
            }
            if (tries == left) {
                /* Slice exhausted: bump the time and start over. */
                h.time++;
                next = start;
            } else
                next += (uint32_t)tries;
        }
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "12.3 kH/s": hashes per second with a unit that fits (regtest blocks
 * need only a few hashes each). */
static void format_rate(char *out, size_t size, double hashes, double seconds)
{
    static const char *const unit[] = {"H/s", "kH/s", "MH/s", "GH/s", "TH/s"};
    double r = seconds > 0 ? hashes / seconds : 0;
    size_t u = 0;

    while (r >= 1000.0 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
        r /= 1000.0;
        u++;
    }
    snprintf(out, size, "%.*f %s", u == 0 ? 0 : 1, r, unit[u]);
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

int cmd_mine(const options *o, int argc, char **argv)
{
    unsigned long blocks = 1, threads = 0;
    const char *address = NULL;
    char addr[ARB_ADDR_MAX];
    arb_node *node = NULL;
    arb_node_template t = {0};
    arb_node_tip tip;
    arb_errbuf eb = {{0}};
    miner m;
    miner_arg *args = NULL;
    pthread_t *tids = NULL;
    unsigned started = 0;
    unsigned long found = 0;
    int rc, tty = !o->json && isatty(2);
    double t0, last_poll, last_show;

    for (int i = 0; i < argc; i++) {
        char *end = NULL;
        if (i + 1 >= argc) {
            errmsg("mine: %s %s", argv[i], i + 1 >= argc ? "needs a value" : "is not an option of mine");
            return wallet_usage_error("mine");
        }
        if (strcmp(argv[i], "--address") == 0) {
            address = argv[++i];
            continue;
        }
        errno = 0;
        if (strcmp(argv[i], "--blocks") == 0) {
            blocks = strtoul(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || blocks == 0 || blocks > 1000000) {
                errmsg("--blocks must be 1..1000000");
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--threads") == 0) {
            threads = strtoul(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || threads == 0 || threads > 1024) {
                errmsg("--threads must be 1..1024");
                return EXIT_USAGE;
            }
        } else {
            errmsg("mine: %s %s", argv[i], i + 1 >= argc ? "needs a value" : "is not an option of mine");
            return wallet_usage_error("mine");
        }
    }
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
    memset(&m, 0, sizeof(m));
    pthread_mutex_init(&m.mu, NULL);
    atomic_init(&m.hashes, 0);
    atomic_init(&m.stop, 0);
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
    memcpy(m.header, t.block, 80);
    m.gen = 1;
    m.have_work = 1;
    for (started = 0; started < threads; started++) {
        args[started].m = &m;
        args[started].id = started;
        if (pthread_create(&tids[started], NULL, miner_thread, &args[started]) != 0)
            break;
    }
    if (started == 0) {
        errmsg("cannot start threads");
        goto out;
    }
    t0 = last_poll = last_show = now_s();
    while (found < blocks) {
        uint8_t sol[80];
        int have_sol = 0;
        double now;

        sleep_ms(20);
        pthread_mutex_lock(&m.mu);
        if (m.found) {
            have_sol = m.found_gen == m.gen;
            memcpy(sol, m.solution, 80);
            m.found = 0;
            m.have_work = 0;
        }
        pthread_mutex_unlock(&m.mu);
        now = now_s();
        if (have_sol) {
            char hash[ARB_NODE_HASH_HEX];
            uint32_t height = 0;
            memcpy(t.block, sol, 80);
            if (arb_node_post_block(node, hash, &height, t.block, t.block_len, &eb) != ARB_OK) {
                /* A stale block (the tip moved) is not fatal: mine on. */
                if (tty)
                    fprintf(stderr, "\r\033[K");
                errmsg("block rejected: %s", eb.msg);
            } else {
                found++;
                if (tty)
                    fprintf(stderr, "\r\033[K");
                if (o->json) {
                    json_t *j = json_pack("{s:s, s:I, s:s, s:o, s:I}", "hash", hash, "height",
                                          (json_int_t)height, "address", addr, "reward",
                                          json_amount(t.coinbase_value), "found",
                                          (json_int_t)found);
                    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                    json_decref(j);
                    if (s != NULL)
                        printf("%s\n", s);
                    free(s);
                } else
                    printf("block %u %s\n", height, hash);
                fflush(stdout);
            }
            if (found >= blocks)
                break;
        }
        if (have_sol || now - last_poll >= 1.0) {
            int refresh = have_sol;
            last_poll = now;
            if (!refresh) {
                if (arb_node_get_tip(node, &tip, &eb) != ARB_OK) {
                    errmsg("%s", eb.msg);
                    goto out;
                }
                refresh = strcmp(tip.hash, t.prev_hash) != 0;
            }
            if (refresh) {
                arb_node_template_clear(&t);
                if (arb_node_get_template(node, &t, addr, &eb) != ARB_OK) {
                    errmsg("%s", eb.msg);
                    goto out;
                }
                pthread_mutex_lock(&m.mu);
                memcpy(m.header, t.block, 80);
                m.gen++;
                m.have_work = 1;
                m.found = 0;
                pthread_mutex_unlock(&m.mu);
            }
        }
        /* Progress on stderr: redrawn on a terminal after each block and
         * every second; a line every 10 s otherwise. */
        if (!o->json && (tty ? (have_sol || now - last_show >= 1.0) : now - last_show >= 10.0)) {
            char rate[32];
            last_show = now;
            format_rate(rate, sizeof(rate), (double)atomic_load(&m.hashes), now - t0);
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
        format_rate(rate, sizeof(rate), (double)atomic_load(&m.hashes), el);
        printf("%lu block%s found in %.1f s (%s)\n", found, found == 1 ? "" : "s", el, rate);
    }
    rc = EXIT_OK;
out:
    atomic_store(&m.stop, 1);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&m.mu);
    free(args);
    free(tids);
    arb_node_template_clear(&t);
    arb_node_free(node);
    return rc;
}

