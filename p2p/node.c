/* The peer network (see node.h and docs/network.md). Bitcoin Core's
 * net_processing.cpp is the model for the rules and limits.
 *
 * Threads: the HTTP service thread calls on_open / on_message / on_writeable /
 * on_close; they only account the bytes and queue an event under n->mu. The
 * chain hooks (HTTP workers, or this node's own thread) queue events too. The
 * node's thread takes the events and owns every peer: handshake, sync,
 * downloads, relay, timers. GET /p2p/v1/peers reads a JSON snapshot the node's
 * thread refreshes under n->mu. */
#include "p2p/node.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ledger/chain/hdrcheck.h"
#include "p2p/addrman.h"
#include "p2p/banlist.h"
#include "p2p/msg.h"
#include "p2p/zonesync.h"

#define MAX_INFLIGHT 16          /* Bitcoin MAX_BLOCKS_IN_TRANSIT_PER_PEER */
#define WINDOW 1024              /* Bitcoin BLOCK_DOWNLOAD_WINDOW */
#define STALL_MAX_MULT 32        /* 2 s doubling to 64 s (Bitcoin BLOCK_STALLING_TIMEOUT_*) */
#define RECV_BUDGET (5u << 20)   /* unprocessed bytes per peer, blocks aside */
#define RECV_BLOCK_BUDGET ((size_t)(MAX_INFLIGHT + 1) * (ARB_BLOCK_MAX_SIZE + ARB_P2P_FRAME_HEADER))
#define RECV_TOTAL_BUDGET (256u << 20) /* unprocessed bytes, all peers */
#define SEND_BUDGET (1u << 20)   /* stop serving a peer whose send queue holds this much */
#define MAX_UNCONNECTING 10      /* Bitcoin MAX_NUM_UNCONNECTING_HEADERS_MSGS */
#define MAX_PENDING_HEADERS 20000 /* low-work headers held per peer before giving up */
#define MAX_PENDING_TOTAL 200000  /* ... and over all peers (16 MB) */
#define MAX_ORPHANS 100          /* Bitcoin DEFAULT_MAX_ORPHAN_TRANSACTIONS */
#define MAX_ORPHAN_SIZE 100000
#define ORPHAN_EXPIRE_MS (20 * 60 * 1000)
#define REJECTS 10000            /* recently rejected transactions remembered */
#define KNOWN_TX 4096            /* transactions remembered per peer */
#define MAX_INV_SEND 1000        /* entries per inv we send */
#define TX_REQUEST_TIMEOUT_MS 60000
#define MAX_BANS 10000
#define TICK_MS 100
#define MAX_OUTBOUND 8           /* Bitcoin MAX_OUTBOUND_FULL_RELAY_CONNECTIONS */
#define MAX_BLOCK_RELAY 2        /* Bitcoin MAX_BLOCK_RELAY_ONLY_CONNECTIONS */
#define MAX_AUTOS (MAX_OUTBOUND + MAX_BLOCK_RELAY + 1) /* + one feeler */
#define HEADERS_RECENT_S (24 * 3600) /* best header this close to now: sync from every peer */
#define BOOK_SAVE_MS (15 * 60 * 1000) /* Bitcoin DUMP_PEERS_INTERVAL */
#define OUTBOUND_EVERY_MS 500    /* how often an automatic outbound slot is filled */
#define ADDR_HORIZON (10 * 60)   /* an addr time this far in the future is not believed */

enum { EV_OPEN, EV_MSG, EV_WRITEABLE, EV_CLOSE, EV_TIP, EV_TX, EV_ADMIN };
enum { ADMIN_CONNECT = 1, ADMIN_DISCONNECT, ADMIN_BAN, ADMIN_UNBAN };

typedef struct ev {
    struct ev *next;
    int kind;
    int outgoing;
    uint64_t conn;
    arb_hash hash;
    char addr[64];
    size_t len;
    int is_block; /* counted against the block budget */
    int admin;    /* ADMIN_*: addr is the argument, len the ban time */
    uint8_t data[];
} ev;

/* Bytes a connection has queued for the node's thread (under n->mu). */
typedef struct {
    uint64_t conn;
    size_t bytes, block_bytes;
    int paused; /* reading it is paused (arb_http_ws_pause) */
} rxacct;

typedef struct {
    arb_hash h[KNOWN_TX];
    size_t next, n;
} hashring;

typedef struct peer {
    struct peer *next;
    uint64_t conn;
    int outbound, manual, closing;
    int target; /* index into n->targets, or -1 */
    char addr[64];
    int got_version, got_verack, handshaked;
    arb_p2p_version ver;
    int64_t connected_ms, last_recv_ms, next_ping_ms, ping_sent_ms, ping_rtt_ms;
    uint64_t ping_nonce;
    uint64_t bytes_in, bytes_out, msgs_in;
    size_t out_pending; /* bytes sent since the send queue was last empty */
    int64_t send_full_ms; /* when out_pending reached SEND_BUDGET (0: under it) */
    ev *deferred, *deferred_tail; /* messages held while its send queue is over SEND_BUDGET */
    arb_p2p_inv *gd_rest;     /* the rest of a getdata to answer once the queue drains */
    size_t gd_n;
    /* sync */
    int best_known;
    arb_hash best_hash;
    uint32_t best_height;
    arb_u256 best_work;
    unsigned unconnecting;
    arb_block_header *pending; /* low-work headers waiting to reach our tip's work */
    size_t n_pending, cap_pending;
    arb_u256 pending_work;     /* cumulative work at the last pending header */
    uint32_t pending_height;
    arb_hash inflight[MAX_INFLIGHT];
    int64_t inflight_ms[MAX_INFLIGHT];
    size_t n_inflight;
    int64_t last_block_ms;
    /* relay */
    hashring known;           /* transactions it has or we sent it */
    arb_hash *to_announce;    /* transactions waiting for the trickle timer */
    size_t n_announce, cap_announce;
    int64_t next_inv_ms;
    /* a compact block from it being completed (getblocktxn sent) */
    int cb_active;
    arb_hash cb_hash;
    arb_block cb_blk;    /* n_tx slots; the missing ones empty */
    uint32_t *cb_missing;
    size_t cb_n_missing;
    arb_hash announced; /* the last tip we announced to it */
    int64_t last_tx_ms;       /* when it last gave us a new transaction */
    int64_t last_new_block_ms; /* ... a block we did not have */
    unsigned misbehaviour;    /* reasons counted against it */
    const char *last_reason;
    /* address book */
    int automatic;            /* an automatic outbound peer chosen from the book */
    arb_netaddr book_addr;    /* its address in the book (automatic only) */
    arb_addr_bucket addr_tokens; /* addr rate limit */
    int getaddr_answered;     /* its getaddr was answered (once per connection) */
    int kind;                 /* CONN_*: block-relay-only peers get no tx or addr relay;
                                 a feeler is closed after the handshake */
    int cmpct_announce;       /* it sent sendcmpct announce=1 version 1: new blocks go to it
                                 as cmpctblock */
    int sync_started;         /* we sent it the initial getheaders */
    int64_t getheaders_ms;    /* our getheaders to it unanswered since (0: none) */
    const char *close_reason; /* why we closed it (NULL: it went away) */
    arb_hash cb_failed;       /* its last compact block that needed the full block */
} peer;

/* Kinds of automatic outbound connections (Bitcoin Core's ConnectionType). */
enum { CONN_FULL = 0, CONN_BLOCK_RELAY = 1, CONN_FEELER = 2 };

/* An automatic outbound connection being opened. */
typedef struct {
    uint64_t conn;
    arb_netaddr addr;
    int kind; /* CONN_* */
} autoconn;

typedef struct {
    char addr[64];
    uint64_t conn; /* 0: not connected */
    int64_t next_try_ms;
    unsigned backoff_ms;
    int self; /* it was ourselves: never again */
} target;

typedef struct {
    char ip[64];
    int64_t until; /* Unix seconds */
    int manual;    /* the operator's (saved in banlist.dat), else a discouragement */
} ban;

typedef struct {
    arb_hash txid;
    uint8_t *raw;
    size_t len;
    uint64_t from;
    int64_t expires_ms;
} orphan;

typedef struct {
    arb_hash txid;
    uint64_t conn;
    int64_t ms;
} txreq;

/* The most-work header chain we know, from the last block it shares with
 * the active chain: bc[i] is at height bc_base + 1 + i. */
enum { BC_NONE = 0, BC_INFLIGHT = 1, BC_HAVE = 2 };

struct arb_p2p {
    arb_http_server *http;
    arb_chainapi *chain;
    const arb_chain_params *p;
    arb_p2p_config cfg;
    arb_logger log;
    uint64_t nonce;
    arb_hash network;
    /* shared with other threads, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thr;
    int running, stop;
    ev *head, *tail;
    rxacct *accts;
    size_t n_accts, cap_accts, queued_total;
    size_t n_paused; /* accts with reading paused */
    char *snapshot; /* JSON for GET /p2p/v1/peers */
    char token[65];   /* the admin bearer token (hex), also in the cookie file */
    char cookie_path[4200];
    char *bans_snapshot;
    /* the node's thread only */
    arb_sha256 *sha;
    arb_buf out;
    peer *peers;
    target *targets;
    size_t n_targets;
    ban *bans;
    size_t n_bans;
    arb_hash *bc;
    uint8_t *bc_state;
    size_t bc_n, bc_cap;
    uint32_t bc_base;
    arb_u256 bc_work;
    unsigned stall_mult;
    orphan orphans[MAX_ORPHANS];
    size_t n_orphans;
    arb_hash *rejects;
    size_t rejects_next, rejects_n;
    txreq *txreqs;
    size_t n_txreqs, cap_txreqs;
    int64_t last_snapshot_ms;
    arb_hash last_tip; /* to tell a reorganization from one more block */
    int no_schedule;   /* on_headers leaves the download to the caller */
    size_t pending_total; /* low-work headers held over all peers */
    arb_addrman *book;
    char book_path[4200]; /* "": not kept */
    int64_t book_saved_ms, next_outbound_ms;
    arb_netaddr self_addr; /* what we advertise */
    int have_self_addr;
    autoconn autos[MAX_AUTOS];
    size_t n_autos;
    arb_zonesync *zs; /* zone-file replication (NULL: none) */
    char bans_path[4200]; /* DATADIR/banlist.dat ("": not kept) */
    uint64_t sync_peer;   /* the one peer headers are synced from (0: none) */
    int64_t next_feeler_ms;
};

/* ---------------------------------------------------------------- small helpers */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rand64(void)
{
    uint64_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
        v = (uint64_t)now_ms() * 6364136223846793005ULL + 1442695040888963407ULL;
    return v;
}

/* An exponentially distributed delay with the given mean (Poisson trickle,
 * as Bitcoin's rand_exp_duration). */
static int64_t exp_delay(unsigned mean_ms)
{
    double u = (double)(rand64() >> 11) / 9007199254740992.0; /* [0, 1) */
    double d = -log1p(-u) * mean_ms;
    return d > 10.0 * mean_ms ? 10 * (int64_t)mean_ms : (int64_t)d;
}

/* Bumps the counter prefix + name (name's characters outside [a-z0-9_]
 * become '_'). */
static void metric(arb_p2p *n, const char *prefix, const char *name)
{
    char m[96];
    snprintf(m, sizeof m, "%s%s", prefix, name);
    for (char *c = m; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            *c = '_';
    arb_http_metric_add(n->http, m, 1);
}

static int hashring_has(const hashring *r, const arb_hash *h)
{
    for (size_t i = 0; i < r->n; i++)
        if (arb_hash_eq(&r->h[i], h))
            return 1;
    return 0;
}

static void hashring_add(hashring *r, const arb_hash *h)
{
    r->h[r->next] = *h;
    r->next = (r->next + 1) % KNOWN_TX;
    if (r->n < KNOWN_TX)
        r->n++;
}

static int rejected(arb_p2p *n, const arb_hash *h)
{
    for (size_t i = 0; i < n->rejects_n; i++)
        if (arb_hash_eq(&n->rejects[i], h))
            return 1;
    return 0;
}

static void reject_add(arb_p2p *n, const arb_hash *h)
{
    if (n->rejects == NULL)
        return;
    n->rejects[n->rejects_next] = *h;
    n->rejects_next = (n->rejects_next + 1) % REJECTS;
    if (n->rejects_n < REJECTS)
        n->rejects_n++;
}

/* The host part of "1.2.3.4:port" or "[v6]:port"; a plain address as is
 * (lws names peers by their IP). */
static void ip_of(char *out, size_t cap, const char *addr)
{
    const char *c = strchr(addr, ':');
    size_t len;
    if (addr[0] == '[' && (c = strchr(addr, ']')) != NULL) {
        len = (size_t)(c - addr - 1);
        addr++;
    } else if (c != NULL && strchr(c + 1, ':') == NULL) {
        len = (size_t)(c - addr);
    } else {
        len = strlen(addr);
    }
    if (len >= cap)
        len = cap - 1;
    memcpy(out, addr, len);
    out[len] = '\0';
}

/* ---------------------------------------------------------------- the event queue */

static rxacct *acct_find(arb_p2p *n, uint64_t conn)
{
    for (size_t i = 0; i < n->n_accts; i++)
        if (n->accts[i].conn == conn)
            return &n->accts[i];
    return NULL;
}

/* With n->mu held. */
static void push_locked(arb_p2p *n, ev *e)
{
    e->next = NULL;
    if (n->tail)
        n->tail->next = e;
    else
        n->head = e;
    n->tail = e;
    pthread_cond_signal(&n->cv);
}

static void push(arb_p2p *n, ev *e)
{
    pthread_mutex_lock(&n->mu);
    push_locked(n, e);
    pthread_mutex_unlock(&n->mu);
}

static ev *ev_new(int kind, uint64_t conn, size_t len)
{
    ev *e = calloc(1, sizeof *e + len);
    if (e != NULL) {
        e->kind = kind;
        e->conn = conn;
        e->len = len;
    }
    return e;
}

static void on_open(void *ud, uint64_t conn, int outgoing, const char *addr)
{
    arb_p2p *n = ud;
    ev *e = ev_new(EV_OPEN, conn, 0);
    if (e == NULL) {
        (void)arb_http_ws_close(n->http, conn);
        return;
    }
    e->outgoing = outgoing;
    snprintf(e->addr, sizeof e->addr, "%s", addr ? addr : "");
    pthread_mutex_lock(&n->mu);
    if (n->n_accts == n->cap_accts) {
        size_t cap = n->cap_accts ? 2 * n->cap_accts : 64;
        rxacct *a = realloc(n->accts, cap * sizeof *a);
        if (a == NULL) {
            pthread_mutex_unlock(&n->mu);
            free(e);
            (void)arb_http_ws_close(n->http, conn);
            return;
        }
        n->accts = a;
        n->cap_accts = cap;
    }
    n->accts[n->n_accts].conn = conn;
    n->accts[n->n_accts].bytes = n->accts[n->n_accts].block_bytes = 0;
    n->accts[n->n_accts].paused = 0;
    n->n_accts++;
    push_locked(n, e);
    pthread_mutex_unlock(&n->mu);
}

/* Whether a connection's unprocessed bytes (or everyone's) are at the
 * receive budget: then reading it is paused. With n->mu held. */
static int over_budget(const arb_p2p *n, const rxacct *a)
{
    return a->bytes >= RECV_BUDGET || a->block_bytes >= RECV_BLOCK_BUDGET ||
           n->queued_total >= RECV_TOTAL_BUDGET;
}

/* ... and whether it has drained enough to read again (half the budgets,
 * so that a busy peer is not paused and resumed for every message). */
static int under_half(const arb_p2p *n, const rxacct *a)
{
    return a->bytes < RECV_BUDGET / 2 && a->block_bytes < RECV_BLOCK_BUDGET / 2 &&
           n->queued_total < RECV_TOTAL_BUDGET / 2;
}

/* A whole message from the service thread: copied and queued. When the
 * peer's (or everyone's) unprocessed bytes reach the receive budget, reading
 * the connection is paused (libwebsockets' rx flow control, at once since
 * this is the service thread) until the node's thread has worked through
 * half of them, as Bitcoin Core's fPauseRecv: TCP then holds the peer back.
 * The paused connection may still complete the message it is in the middle
 * of, so a peer is over its budget by at most one message; more than that
 * (which the pause makes impossible) still drops it. */
static void on_message(void *ud, uint64_t conn, const uint8_t *data, size_t len, int binary)
{
    arb_p2p *n = ud;
    int is_block = binary && len > 4 && data[4] == ARB_P2P_BLOCK, pause = 0;
    const size_t slack = ARB_P2P_FRAME_HEADER + ARB_P2P_MAX_MESSAGE;
    const char *why = NULL;
    ev *e;
    pthread_mutex_lock(&n->mu);
    rxacct *a = acct_find(n, conn);
    if (a == NULL) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    if (!binary)
        why = "text-frame";
    else if (is_block ? a->block_bytes + len > RECV_BLOCK_BUDGET + slack
                      : a->bytes + len > RECV_BUDGET + slack)
        why = "recv-flood";
    else if (n->queued_total + len > RECV_TOTAL_BUDGET + RECV_TOTAL_BUDGET / 4)
        why = "recv-total-flood";
    if (why == NULL && (e = ev_new(EV_MSG, conn, len)) != NULL) {
        memcpy(e->data, data, len);
        e->is_block = is_block;
        if (is_block)
            a->block_bytes += len;
        else
            a->bytes += len;
        n->queued_total += len;
        if (!a->paused && over_budget(n, a)) {
            a->paused = pause = 1;
            n->n_paused++;
        }
        push_locked(n, e);
        pthread_mutex_unlock(&n->mu);
        if (pause) {
            metric(n, "p2p_", "recv_paused");
            (void)arb_http_ws_pause(n->http, conn, 1);
        }
        return;
    }
    pthread_mutex_unlock(&n->mu);
    metric(n, "p2p_disconnect_", why ? why : "nomem");
    (void)arb_http_ws_close(n->http, conn);
}

static void on_writeable(void *ud, uint64_t conn)
{
    arb_p2p *n = ud;
    ev *e = ev_new(EV_WRITEABLE, conn, 0);
    if (e != NULL)
        push(n, e);
}

static void on_close(void *ud, uint64_t conn)
{
    arb_p2p *n = ud;
    ev *e = ev_new(EV_CLOSE, conn, 0);
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->n_accts; i++)
        if (n->accts[i].conn == conn) {
            n->n_paused -= n->accts[i].paused;
            n->accts[i] = n->accts[--n->n_accts];
            break;
        }
    if (e != NULL)
        push_locked(n, e);
    pthread_mutex_unlock(&n->mu);
    /* Without memory for the event the peer stays in the table until the
     * idle timeout finds that sending to it fails. */
}

static void hook_tip(void *ud, const arb_hash *tip, uint32_t height)
{
    arb_p2p *n = ud;
    ev *e = ev_new(EV_TIP, 0, 0);
    (void)height;
    if (e != NULL) {
        e->hash = *tip;
        push(n, e);
    }
}

static void hook_tx(void *ud, const arb_hash *txid)
{
    arb_p2p *n = ud;
    ev *e = ev_new(EV_TX, 0, 0);
    if (e != NULL) {
        e->hash = *txid;
        push(n, e);
    }
}

/* The message was handled: its bytes leave the peer's budget, and paused
 * connections under half their budgets (a connection paused for the total
 * budget may have nothing queued itself) are read again. */
static void done_bytes(arb_p2p *n, const ev *e)
{
    uint64_t resume[16];
    size_t k;
    pthread_mutex_lock(&n->mu);
    rxacct *a = acct_find(n, e->conn);
    if (a != NULL) {
        if (e->is_block)
            a->block_bytes -= e->len <= a->block_bytes ? e->len : a->block_bytes;
        else
            a->bytes -= e->len <= a->bytes ? e->len : a->bytes;
    }
    n->queued_total -= e->len <= n->queued_total ? e->len : n->queued_total;
    do {
        k = 0;
        if (a != NULL && a->paused && under_half(n, a)) {
            a->paused = 0;
            n->n_paused--;
            resume[k++] = a->conn;
        }
        for (size_t i = 0; n->n_paused > 0 && i < n->n_accts && k < 16; i++)
            if (n->accts[i].paused && under_half(n, &n->accts[i])) {
                n->accts[i].paused = 0;
                n->n_paused--;
                resume[k++] = n->accts[i].conn;
            }
        pthread_mutex_unlock(&n->mu);
        for (size_t i = 0; i < k; i++)
            (void)arb_http_ws_pause(n->http, resume[i], 0);
        pthread_mutex_lock(&n->mu);
        a = NULL;
    } while (k == 16);
    pthread_mutex_unlock(&n->mu);
}

/* Unprocessed bytes of a connection (0 if unknown). */
static size_t backlog(arb_p2p *n, uint64_t conn)
{
    size_t b = 0;
    pthread_mutex_lock(&n->mu);
    rxacct *a = acct_find(n, conn);
    if (a != NULL)
        b = a->bytes + a->block_bytes;
    pthread_mutex_unlock(&n->mu);
    return b;
}

/* ---------------------------------------------------------------- peers */

static const char *kind_name(const peer *p)
{
    if (p->manual)
        return "manual";
    return p->kind == CONN_BLOCK_RELAY ? "block-relay-only"
           : p->kind == CONN_FEELER    ? "feeler"
                                       : "full-relay";
}

static peer *peer_find(arb_p2p *n, uint64_t conn)
{
    for (peer *p = n->peers; p; p = p->next)
        if (p->conn == conn)
            return p;
    return NULL;
}

static void disconnect(arb_p2p *n, peer *p, const char *reason);

/* Whether the peer's send queue holds SEND_BUDGET or more: then nothing
 * more is answered until it drains (Bitcoin Core's fPauseSend). */
static int send_full(arb_p2p *n, const peer *p)
{
    return arb_http_ws_queued(n->http, p->conn) >= SEND_BUDGET;
}

static void send_frame(arb_p2p *n, peer *p)
{
    if (p->closing || arb_p2p_frame_end(&n->out) != ARB_OK)
        return;
    arb_err err = arb_http_ws_send(n->http, p->conn, n->out.data, n->out.len, 1);
    if (err == ARB_OK) {
        p->bytes_out += n->out.len;
        p->out_pending += n->out.len;
        if (p->send_full_ms == 0 && p->out_pending >= SEND_BUDGET && send_full(n, p))
            p->send_full_ms = now_ms();
        arb_http_metric_add(n->http, "p2p_bytes_sent", n->out.len);
        return;
    }
    if (err == ARB_ERR_BUSY) /* it does not read what it asked for */
        disconnect(n, p, "send-queue-full");
}

static void begin(arb_p2p *n, uint8_t type)
{
    arb_p2p_frame_begin(&n->out, n->p->magic, type);
}

static void disconnect(arb_p2p *n, peer *p, const char *reason)
{
    if (p->closing)
        return;
    p->closing = 1;
    p->close_reason = reason;
    metric(n, "p2p_disconnect_", reason);
    arb_logf(&n->log, ARB_LOG_INFO, "p2p: disconnecting %s %s peer %s: %s",
             p->outbound ? "outbound" : "inbound", kind_name(p), p->addr, reason);
    /* A full queue would keep a graceful close waiting: drop it. */
    if (send_full(n, p))
        (void)arb_http_ws_abort(n->http, p->conn);
    else
        (void)arb_http_ws_close(n->http, p->conn);
}

static int is_banned(arb_p2p *n, const char *ip)
{
    int64_t t = (int64_t)time(NULL);
    for (size_t i = 0; i < n->n_bans; i++)
        if (strcmp(n->bans[i].ip, ip) == 0 && n->bans[i].until > t)
            return 1;
    return 0;
}

/* Writes the operator's bans still in force to banlist.dat (at every
 * change: they are few and rare). */
static void bans_save(arb_p2p *n)
{
    arb_ban_entry *v;
    size_t k = 0;
    arb_errbuf eb;
    int64_t t = (int64_t)time(NULL);
    if (n->bans_path[0] == '\0')
        return;
    v = malloc((n->n_bans ? n->n_bans : 1) * sizeof *v);
    if (v == NULL)
        return;
    for (size_t i = 0; i < n->n_bans; i++)
        if (n->bans[i].manual && n->bans[i].until > t &&
            arb_banlist_ip_parse(v[k].ip16, n->bans[i].ip)) {
            v[k].until = n->bans[i].until;
            k++;
        }
    if (arb_banlist_save(n->bans_path, v, k, &eb) != ARB_OK)
        arb_logf(&n->log, ARB_LOG_WARN, "p2p: cannot save the ban list: %s", eb.msg);
    free(v);
}

/* Bans ip for seconds: an operator's ban (manual, kept on disk) or a
 * discouragement (memory only, as Bitcoin Core). A discouragement never
 * shortens or unmarks an operator's ban. */
static void ban_add(arb_p2p *n, const char *ip, unsigned seconds, int manual)
{
    int64_t until = (int64_t)time(NULL) + seconds;
    size_t i;
    for (i = 0; i < n->n_bans; i++)
        if (strcmp(n->bans[i].ip, ip) == 0)
            break;
    if (i == n->n_bans) {
        if (n->n_bans == MAX_BANS) { /* full: drop the one ending first */
            size_t k = 0;
            for (size_t j = 1; j < n->n_bans; j++)
                if (n->bans[j].until < n->bans[k].until)
                    k = j;
            i = k;
        } else {
            ban *b = realloc(n->bans, (n->n_bans + 1) * sizeof *b);
            if (b == NULL)
                return;
            n->bans = b;
            n->n_bans++;
        }
        snprintf(n->bans[i].ip, sizeof n->bans[i].ip, "%s", ip);
        n->bans[i].manual = 0;
        n->bans[i].until = 0;
    }
    if (manual) {
        n->bans[i].manual = 1;
        n->bans[i].until = until;
    } else if (!n->bans[i].manual || until > n->bans[i].until) {
        n->bans[i].until = until;
    }
}

/* A rule broken: counted, the peer disconnected, and unless the operator
 * added it, its address discouraged (Bitcoin Core 28: no scores, one strike). */
static void misbehave(arb_p2p *n, peer *p, const char *reason, int discourage)
{
    if (p->closing)
        return;
    p->misbehaviour++;
    p->last_reason = reason;
    metric(n, "p2p_misbehaviour_", reason);
    arb_logf(&n->log, ARB_LOG_INFO, "p2p: peer %s misbehaved: %s%s", p->addr, reason,
             discourage && !p->manual ? " (discouraged)" : "");
    if (discourage && !p->manual) {
        char ip[64];
        ip_of(ip, sizeof ip, p->addr);
        ban_add(n, ip, n->cfg.discourage_s, 0);
        arb_http_metric_add(n->http, "p2p_discouraged", 1);
    }
    disconnect(n, p, discourage ? "misbehaviour" : reason);
}

/* ---------------------------------------------------------------- handshake, ping */

static void send_version(arb_p2p *n, peer *p)
{
    arb_p2p_version v;
    arb_chain_tip tip;
    memset(&v, 0, sizeof v);
    arb_chainstate_tip(arb_chainapi_lock(n->chain), &tip);
    arb_chainapi_unlock(n->chain);
    v.version = ARB_P2P_PROTOCOL_VERSION;
    v.services = ARB_P2P_SERVICE_NETWORK | (n->cfg.no_compact ? 0 : ARB_P2P_SERVICE_CMPCT);
    v.timestamp = (int64_t)time(NULL);
    v.nonce = n->nonce;
    v.network = n->network;
    v.height = tip.height;
    v.work = tip.work;
    v.listen_port = n->cfg.listen_port;
    snprintf(v.user_agent, sizeof v.user_agent, "arbord/%s", ARB_VERSION);
    begin(n, ARB_P2P_VERSION);
    arb_p2p_version_write(&n->out, &v);
    send_frame(n, p);
}

static void send_empty(arb_p2p *n, peer *p, uint8_t type)
{
    begin(n, type);
    send_frame(n, p);
}

static void send_nonce(arb_p2p *n, peer *p, uint8_t type, uint64_t nonce)
{
    begin(n, type);
    arb_p2p_nonce_write(&n->out, nonce);
    send_frame(n, p);
}

/* The hash at height on the best header chain (bc beyond its base, the
 * active chain below). With the chain lock. */
static int best_hash_at(arb_p2p *n, arb_chainstate *cs, uint32_t h, arb_hash *out)
{
    if (n->bc_n > 0 && h > n->bc_base && h <= n->bc_base + n->bc_n) {
        *out = n->bc[h - n->bc_base - 1];
        return 1;
    }
    return arb_chainstate_hash_at(cs, h, out) == ARB_OK;
}

/* A block locator (Bitcoin CChain::GetLocator): the best header chain's
 * tip's parent, the 10 blocks before it, then exponentially sparser, and
 * genesis. */
static size_t make_locator(arb_p2p *n, arb_hash loc[static ARB_P2P_MAX_LOCATOR])
{
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chain_tip tip;
    size_t k = 0;
    uint32_t step = 1, h;
    arb_chainstate_tip(cs, &tip);
    h = n->bc_n > 0 ? n->bc_base + (uint32_t)n->bc_n : tip.height;
    /* From the best header's parent, as Bitcoin Core does, so a peer on the
     * same chain answers with at least that header and we learn that it has
     * our best chain. */
    if (h > 0)
        h--;
    for (;;) {
        if (k < ARB_P2P_MAX_LOCATOR && best_hash_at(n, cs, h, &loc[k]))
            k++;
        if (h == 0)
            break;
        if (k >= 10)
            step *= 2;
        h = h > step ? h - step : 0;
    }
    arb_chainapi_unlock(n->chain);
    return k;
}

static void send_getheaders(arb_p2p *n, peer *p, const arb_hash *from)
{
    arb_hash loc[ARB_P2P_MAX_LOCATOR], zero;
    size_t k;
    memset(&zero, 0, sizeof zero);
    if (from != NULL) {
        loc[0] = *from;
        k = 1;
    } else {
        k = make_locator(n, loc);
    }
    begin(n, ARB_P2P_GETHEADERS);
    arb_p2p_getheaders_write(&n->out, loc, k, &zero);
    send_frame(n, p);
    if (p->getheaders_ms == 0)
        p->getheaders_ms = now_ms();
}

static void book_handshake(arb_p2p *n, peer *p);

/* The time of the best header we know (the best header chain's tip, else
 * the active tip); 0 if unknown. */
static int64_t best_header_time(arb_p2p *n)
{
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chain_tip tip;
    arb_chain_hdrinfo info;
    arb_hash h;
    int64_t t = 0;
    arb_chainstate_tip(cs, &tip);
    h = n->bc_n > 0 ? n->bc[n->bc_n - 1] : tip.hash;
    if (arb_chainstate_header(cs, &h, &info) == ARB_OK)
        t = (int64_t)info.hdr.time;
    arb_chainapi_unlock(n->chain);
    return t;
}

/* Headers sync (Bitcoin Core's fSyncStarted): while our best header is
 * over a day old, the initial getheaders goes to one peer at a time (the
 * sync peer); once it is recent, to every peer. A peer is asked once; after
 * that its announcements keep us up to date. */
static void maybe_start_sync(arb_p2p *n, peer *p, int recent)
{
    if (p->sync_started || !p->handshaked || p->closing || p->kind == CONN_FEELER)
        return;
    if (!recent && n->sync_peer != 0)
        return;
    p->sync_started = 1;
    if (!recent) {
        n->sync_peer = p->conn;
        arb_logf(&n->log, ARB_LOG_INFO, "p2p: syncing headers from %s", p->addr);
    }
    send_getheaders(n, p, NULL);
}

static void handshake_done(arb_p2p *n, peer *p)
{
    p->handshaked = 1;
    p->next_ping_ms = now_ms();
    p->next_inv_ms = now_ms() + exp_delay(n->cfg.tx_delay_ms);
    arb_http_metric_add(n->http, "p2p_handshakes", 1);
    arb_logf(&n->log, ARB_LOG_INFO,
             "p2p: %s %s peer %s connected: version %u, user agent \"%s\", height %u",
             p->outbound ? "outbound" : "inbound", kind_name(p), p->addr,
             (unsigned)p->ver.version, p->ver.user_agent, (unsigned)p->ver.height);
    if (p->kind == CONN_FEELER) { /* it answered: the address works */
        book_handshake(n, p);
        arb_http_metric_add(n->http, "p2p_feelers", 1);
        disconnect(n, p, "feeler");
        return;
    }
    /* BIP152: we take compact blocks (announced without asking) from it. */
    if (!n->cfg.no_compact && (p->ver.services & ARB_P2P_SERVICE_CMPCT)) {
        begin(n, ARB_P2P_SENDCMPCT);
        arb_p2p_sendcmpct_write(&n->out, 1, ARB_P2P_CMPCT_VERSION);
        send_frame(n, p);
    }
    maybe_start_sync(n, p, (int64_t)time(NULL) - best_header_time(n) < HEADERS_RECENT_S);
    book_handshake(n, p);
    arb_zonesync_peer_add(n->zs, p->conn);
}

static void on_version(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_p2p_version v;
    if (p->got_version)
        return; /* redundant: ignored, as Bitcoin Core does */
    if (arb_p2p_version_read(&v, pl, len) != ARB_OK) {
        misbehave(n, p, "malformed-version", 1);
        return;
    }
    if (!arb_hash_eq(&v.network, &n->network)) {
        disconnect(n, p, "wrong-network");
        return;
    }
    if (v.version < ARB_P2P_MIN_PROTOCOL_VERSION) {
        disconnect(n, p, "old-version");
        return;
    }
    if (v.nonce == n->nonce) {
        if (p->target >= 0)
            n->targets[p->target].self = 1;
        arb_http_metric_add(n->http, "p2p_self_connections", 1);
        disconnect(n, p, "self-connection");
        return;
    }
    p->ver = v;
    p->got_version = 1;
    if (!p->outbound)
        send_version(n, p);
    send_empty(n, p, ARB_P2P_VERACK);
    if (p->got_verack)
        handshake_done(n, p);
}


/* ---------------------------------------------------------------- address book */

static uint64_t book_rand(void *ctx)
{
    (void)ctx;
    return rand64();
}

static int64_t unix_now(void)
{
    return (int64_t)time(NULL);
}

static void book_gauges(arb_p2p *n)
{
    arb_http_metric_set(n->http, "p2p_addrman_size", arb_addrman_size(n->book));
    arb_http_metric_set(n->http, "p2p_addrman_tried", arb_addrman_size_tried(n->book));
}

static void book_save(arb_p2p *n)
{
    arb_errbuf eb;
    n->book_saved_ms = now_ms();
    if (n->book_path[0] == '\0')
        return;
    if (arb_addrman_save(n->book, n->book_path, &eb) != ARB_OK)
        arb_logf(&n->log, ARB_LOG_WARN, "p2p: cannot save the address book: %s", eb.msg);
}

/* Sends an addr message of k entries. */
static void send_addr(arb_p2p *n, peer *p, const arb_p2p_addr *v, size_t k)
{
    if (k == 0)
        return;
    begin(n, ARB_P2P_ADDR);
    arb_p2p_addr_write(&n->out, v, k);
    send_frame(n, p);
}

static void to_wire(arb_p2p_addr *w, const arb_netaddr *a, uint64_t services, int64_t time)
{
    w->time = time < 0 ? 0 : time > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)time;
    w->services = services;
    memcpy(w->ip, a->ip, 16);
    w->port = a->port;
}

/* After the handshake: our own address to every peer, and to an outbound
 * peer a getaddr (its answer is let through the rate limit). An outbound
 * peer's address goes to the book as one that works. */
static void book_handshake(arb_p2p *n, peer *p)
{
    int64_t t = unix_now();
    arb_p2p_addr w;
    int relay = p->kind == CONN_FULL; /* block-relay-only and feelers: no addr */
    if (n->have_self_addr && relay) {
        to_wire(&w, &n->self_addr, ARB_P2P_SERVICE_NETWORK | ARB_P2P_SERVICE_CMPCT, t);
        send_addr(n, p, &w, 1);
    }
    if (p->outbound) {
        arb_netaddr a;
        if (relay) {
            send_empty(n, p, ARB_P2P_GETADDR);
            arb_addr_bucket_grant(&p->addr_tokens, ARB_P2P_MAX_ADDR);
        }
        if (p->automatic)
            a = p->book_addr;
        else if (!arb_netaddr_parse(&a, p->addr))
            return;
        (void)arb_addrman_add(n->book, &a, &a, p->ver.services, t, t);
        (void)arb_addrman_good(n->book, &a, t);
        book_gauges(n);
    }
}

static int same_netaddr(const arb_netaddr *a, const arb_netaddr *b)
{
    return a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

/* Up to 2 handshaked peers other than from, at random. */
static size_t pick_relay_peers(arb_p2p *n, const peer *from, peer *out[2])
{
    size_t k = 0, seen = 0;
    for (peer *q = n->peers; q; q = q->next) {
        if (q == from || !q->handshaked || q->closing || q->kind != CONN_FULL)
            continue;
        seen++;
        if (k < 2)
            out[k++] = q;
        else if (rand64() % seen < 2)
            out[rand64() % 2] = q; /* reservoir sample */
    }
    return k;
}

static void on_addr(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_p2p_addr *v = malloc(ARB_P2P_MAX_ADDR * sizeof *v);
    arb_p2p_addr fresh[10];
    size_t k, nfresh = 0, taken = 0, dropped = 0, added = 0;
    int64_t t = unix_now(), ms = now_ms();
    arb_netaddr src;
    if (v == NULL)
        return;
    if (arb_p2p_addr_read(v, &k, pl, len) != ARB_OK) {
        free(v);
        misbehave(n, p, "malformed-addr", 1);
        return;
    }
    if (p->kind != CONN_FULL) { /* we do not take addresses over block-relay-only links */
        free(v);
        arb_http_metric_add(n->http, "p2p_addr_ignored_block_relay", 1);
        return;
    }
    if (p->automatic)
        src = p->book_addr;
    else if (!arb_netaddr_parse(&src, p->addr))
        memset(&src, 0, sizeof src);
    for (size_t i = 0; i < k; i++) {
        arb_netaddr a;
        int64_t when = v[i].time;
        if (!arb_addr_bucket_take(&p->addr_tokens, ms)) {
            dropped++;
            continue;
        }
        taken++;
        memcpy(a.ip, v[i].ip, 16);
        a.port = v[i].port;
        if (n->have_self_addr && same_netaddr(&a, &n->self_addr))
            continue;
        /* Bitcoin's rule: a time far off is replaced by five days ago. */
        if (when <= 100000000 || when > t + ADDR_HORIZON)
            when = t - 5 * 86400;
        if (arb_addrman_add(n->book, &a, &src, v[i].services, when, t)) {
            added++;
            if (k <= 10)
                fresh[nfresh++] = v[i];
        }
    }
    free(v);
    if (taken)
        arb_http_metric_add(n->http, "p2p_addr_processed", taken);
    if (dropped)
        arb_http_metric_add(n->http, "p2p_addr_rate_limited", dropped);
    /* Newly learnt addresses of a small (unsolicited) addr go on to two
     * other peers, as Bitcoin relays them; only new ones, so nothing loops. */
    if (nfresh) {
        peer *to[2];
        size_t m = pick_relay_peers(n, p, to);
        for (size_t i = 0; i < m; i++)
            send_addr(n, to[i], fresh, nfresh);
    }
    if (added)
        book_gauges(n);
}

/* An inbound peer's first getaddr is answered with a random sample of the
 * book; later ones, and an outbound peer's, are ignored (Bitcoin's rules,
 * against fingerprinting). */
static void on_getaddr(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_addrinfo *s;
    arb_p2p_addr *w;
    size_t k;
    int64_t t = unix_now();
    if (arb_p2p_empty_read(pl, len) != ARB_OK) {
        misbehave(n, p, "malformed-getaddr", 1);
        return;
    }
    if (p->outbound || p->getaddr_answered) {
        arb_http_metric_add(n->http, "p2p_getaddr_ignored", 1);
        return;
    }
    p->getaddr_answered = 1;
    s = malloc(ARB_P2P_MAX_ADDR * sizeof *s);
    w = malloc(ARB_P2P_MAX_ADDR * sizeof *w);
    if (s != NULL && w != NULL) {
        k = arb_addrman_sample(n->book, book_rand, NULL, s, ARB_P2P_MAX_ADDR, t);
        for (size_t i = 0; i < k; i++)
            to_wire(&w[i], &s[i].addr, s[i].services, s[i].time);
        send_addr(n, p, w, k);
    }
    free(s);
    free(w);
}

/* Whether a is worth dialling now: not us, not connected or being
 * connected, not in the netgroup of an outbound peer, not discouraged, and
 * its last failure's backoff (1 minute doubling with each failed attempt,
 * at most an hour) is over. */
static int book_usable(arb_p2p *n, const arb_netaddr *a, int64_t t)
{
    arb_addrinfo info;
    char s[64], ip[64];
    if (n->have_self_addr && same_netaddr(a, &n->self_addr))
        return 0;
    for (size_t i = 0; i < n->n_autos; i++)
        if (arb_netaddr_same_group(&n->autos[i].addr, a))
            return 0;
    for (peer *p = n->peers; p; p = p->next) {
        arb_netaddr pa;
        if (p->automatic)
            pa = p->book_addr;
        else if (!arb_netaddr_parse(&pa, p->addr))
            continue;
        if (same_netaddr(&pa, a) || (p->outbound && arb_netaddr_same_group(&pa, a)))
            return 0;
    }
    for (size_t i = 0; i < n->n_targets; i++) {
        arb_netaddr ta;
        if (arb_netaddr_parse(&ta, n->targets[i].addr) && same_netaddr(&ta, a))
            return 0;
    }
    arb_netaddr_format(a, s, sizeof s);
    ip_of(ip, sizeof ip, s);
    if (is_banned(n, ip))
        return 0;
    if (arb_addrman_find(n->book, a, &info) && info.last_try && info.attempts) {
        unsigned sh = info.attempts < 6 ? info.attempts : 6;
        int64_t wait = (int64_t)60 << sh;
        if (wait > 3600)
            wait = 3600;
        if (t - info.last_try < wait)
            return 0;
    }
    return 1;
}

/* Dials an address of the book as an automatic connection of a kind. */
static void book_dial(arb_p2p *n, const arb_netaddr *a, int kind, int64_t t)
{
    char s[64];
    uint64_t id;
    if (n->n_autos >= MAX_AUTOS)
        return;
    arb_netaddr_format(a, s, sizeof s);
    arb_addrman_attempt(n->book, a, t);
    if (arb_http_ws_connect(n->http, ARB_P2P_SUBPROTOCOL, s, &id) == ARB_OK) {
        n->autos[n->n_autos].conn = id;
        n->autos[n->n_autos].addr = *a;
        n->autos[n->n_autos].kind = kind;
        n->n_autos++;
        arb_http_metric_add(n->http, kind == CONN_FEELER ? "p2p_feeler_attempts"
                                                         : "p2p_outbound_attempts", 1);
    }
}

/* The address book's periodic work: collisions, saving, a feeler now and
 * then, and one more automatic outbound connection when fewer than
 * max_outbound full-relay (then block_relay_outbound block-relay-only)
 * ones are up. */
static void book_tick(arb_p2p *n, int64_t ms)
{
    int64_t t = unix_now();
    arb_netaddr cand;
    int found = 0;
    arb_addrman_resolve_collisions(n->book, t);
    if (ms - n->book_saved_ms >= BOOK_SAVE_MS)
        book_save(n);
    if (n->cfg.no_outbound)
        return;
    /* A feeler (Bitcoin Core's): every feeler interval, a short connection
     * to an address of the new table; a handshake moves it to tried. */
    if (n->cfg.feeler_interval_s != 0 && ms >= n->next_feeler_ms) {
        n->next_feeler_ms = ms + (int64_t)n->cfg.feeler_interval_s * 1000;
        for (size_t i = 0; i < n->n_autos; i++)
            if (n->autos[i].kind == CONN_FEELER)
                return;
        for (peer *p = n->peers; p; p = p->next)
            if (p->kind == CONN_FEELER && !p->closing)
                return;
        for (int i = 0; i < 100; i++) {
            arb_addrinfo info;
            if (!arb_addrman_select(n->book, book_rand, NULL, &info, t))
                break;
            if (!info.tried && book_usable(n, &info.addr, t)) {
                book_dial(n, &info.addr, CONN_FEELER, t);
                break;
            }
        }
    }
    if (ms < n->next_outbound_ms)
        return;
    n->next_outbound_ms = ms + OUTBOUND_EVERY_MS;
    size_t full = 0, block = 0;
    for (size_t i = 0; i < n->n_autos; i++) {
        full += n->autos[i].kind == CONN_FULL;
        block += n->autos[i].kind == CONN_BLOCK_RELAY;
    }
    for (peer *p = n->peers; p; p = p->next) {
        full += p->automatic && !p->closing && p->kind == CONN_FULL;
        block += p->automatic && !p->closing && p->kind == CONN_BLOCK_RELAY;
    }
    int kind = full < n->cfg.max_outbound         ? CONN_FULL
               : block < n->cfg.block_relay_outbound ? CONN_BLOCK_RELAY
                                                   : -1;
    if (kind < 0)
        return;
    /* A tried entry whose slot a newcomer wants is tested first. */
    if (arb_addrman_select_collision(n->book, &cand) && book_usable(n, &cand, t))
        found = 1;
    for (int i = 0; i < 100 && !found; i++) {
        arb_addrinfo info;
        if (!arb_addrman_select(n->book, book_rand, NULL, &info, t))
            break;
        found = book_usable(n, &info.addr, t);
        cand = info.addr;
    }
    if (found)
        book_dial(n, &cand, kind, t);
}

/* ---------------------------------------------------------------- headers */

static void on_getheaders(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_hash loc[ARB_P2P_MAX_LOCATOR], stop, at;
    arb_block_header *h;
    size_t k, nh = 0;
    uint32_t start = 1;
    arb_chain_tip tip;
    if (arb_p2p_getheaders_read(loc, &k, &stop, pl, len) != ARB_OK) {
        misbehave(n, p, "malformed-getheaders", 1);
        return;
    }
    h = malloc(ARB_P2P_MAX_HEADERS * sizeof *h);
    if (h == NULL)
        return;
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chainstate_tip(cs, &tip);
    for (size_t i = 0; i < k; i++) { /* the first one on our active chain */
        arb_chain_hdrinfo info;
        if (arb_chainstate_header(cs, &loc[i], &info) == ARB_OK && info.height <= tip.height &&
            arb_chainstate_hash_at(cs, info.height, &at) == ARB_OK && arb_hash_eq(&at, &loc[i])) {
            start = info.height + 1;
            break;
        }
    }
    for (uint32_t ht = start; ht <= tip.height && nh < ARB_P2P_MAX_HEADERS; ht++) {
        arb_chain_hdrinfo info;
        if (arb_chainstate_hash_at(cs, ht, &at) != ARB_OK ||
            arb_chainstate_header(cs, &at, &info) != ARB_OK)
            break;
        h[nh++] = info.hdr;
        if (arb_hash_eq(&at, &stop))
            break;
    }
    arb_chainapi_unlock(n->chain);
    begin(n, ARB_P2P_HEADERS);
    arb_p2p_headers_write(&n->out, h, nh);
    free(h);
    send_frame(n, p);
}

static void schedule(arb_p2p *n);
static void bc_reaim(arb_p2p *n);

/* Drops the peer's held low-work headers. */
static void pending_reset(arb_p2p *n, peer *p)
{
    n->pending_total -= p->n_pending <= n->pending_total ? p->n_pending : n->pending_total;
    p->n_pending = 0;
}

/* The best header chain moves to the chain ending at `tip` (a header in the
 * index) if that has more work than both the current one and the active
 * tip. With the chain lock. */
static void bc_update_ex(arb_p2p *n, arb_chainstate *cs, const arb_hash *tip, uint32_t height,
                         const arb_u256 *work, int force);

static void bc_update(arb_p2p *n, arb_chainstate *cs, const arb_hash *tip, uint32_t height,
                      const arb_u256 *work)
{
    bc_update_ex(n, cs, tip, height, work, 0);
}

/* force: replace bc even if it has as much work (nobody can serve it). */
static void bc_update_ex(arb_p2p *n, arb_chainstate *cs, const arb_hash *tip, uint32_t height,
                         const arb_u256 *work, int force)
{
    arb_chain_tip t;
    arb_hash cur = *tip, at;
    arb_hash *col = NULL;
    uint8_t *cst = NULL;
    size_t nc = 0, capc = 0, keep = 0;
    uint32_t h = height, base;
    arb_chainstate_tip(cs, &t);
    if (arb_u256_cmp(work, &t.work) <= 0 ||
        (!force && n->bc_n > 0 && arb_u256_cmp(work, &n->bc_work) <= 0))
        return;
    if (force && n->bc_n > 0 && !(n->bc_n > 0 && height > n->bc_base &&
                                  height <= n->bc_base + n->bc_n &&
                                  arb_hash_eq(&n->bc[height - n->bc_base - 1], tip)))
        n->bc_n = 0; /* start over from the active chain */
    for (;;) {
        arb_chain_hdrinfo info;
        if (n->bc_n > 0 && h > n->bc_base && h <= n->bc_base + n->bc_n &&
            arb_hash_eq(&n->bc[h - n->bc_base - 1], &cur)) {
            keep = h - n->bc_base;
            base = n->bc_base;
            break;
        }
        if (h <= t.height && arb_chainstate_hash_at(cs, h, &at) == ARB_OK && arb_hash_eq(&at, &cur)) {
            keep = 0;
            base = h;
            break;
        }
        if (h == 0 || arb_chainstate_header(cs, &cur, &info) != ARB_OK)
            goto out; /* cannot happen for a stored header; leave bc alone */
        if (nc == capc) {
            size_t c = capc ? 2 * capc : 256;
            arb_hash *nh = realloc(col, c * sizeof *nh);
            uint8_t *ns = nh ? realloc(cst, c) : NULL;
            if (nh)
                col = nh;
            if (ns == NULL)
                goto out;
            cst = ns;
            capc = c;
        }
        col[nc] = cur;
        cst[nc] = info.have_data ? BC_HAVE : BC_NONE;
        nc++;
        cur = info.hdr.prev;
        h--;
    }
    if (keep + nc > n->bc_cap) {
        size_t c = keep + nc + 1024;
        arb_hash *nb = realloc(n->bc, c * sizeof *nb);
        uint8_t *ns = nb ? realloc(n->bc_state, c) : NULL;
        if (nb)
            n->bc = nb;
        if (ns == NULL)
            goto out;
        n->bc_state = ns;
        n->bc_cap = c;
    }
    if (keep == 0)
        n->bc_base = base;
    for (size_t i = 0; i < nc; i++) {
        n->bc[keep + i] = col[nc - 1 - i];
        n->bc_state[keep + i] = cst[nc - 1 - i];
    }
    n->bc_n = keep + nc;
    n->bc_work = *work;
out:
    free(col);
    free(cst);
}

/* The tip moved: drops the part of bc the active chain now holds. */
static void bc_trim(arb_p2p *n, arb_chainstate *cs)
{
    arb_chain_tip t;
    arb_chainstate_tip(cs, &t);
    if (n->bc_n == 0)
        return;
    if (arb_u256_cmp(&t.work, &n->bc_work) >= 0) {
        n->bc_n = 0;
        return;
    }
    if (t.height > n->bc_base && t.height <= n->bc_base + n->bc_n &&
        arb_hash_eq(&n->bc[t.height - n->bc_base - 1], &t.hash)) {
        size_t drop = t.height - n->bc_base;
        memmove(n->bc, n->bc + drop, (n->bc_n - drop) * sizeof *n->bc);
        memmove(n->bc_state, n->bc_state + drop, n->bc_n - drop);
        n->bc_n -= drop;
        n->bc_base = t.height;
    }
}

/* Validates and stores the peer's pending headers, which now reach our tip's
 * work. Returns 1, or 0 if the peer was disconnected. */
static int commit_headers(arb_p2p *n, peer *p)
{
    int64_t now = (int64_t)time(NULL);
    arb_hash last;
    for (size_t i = 0; i < p->n_pending; i += 100) {
        arb_chainstate *cs = arb_chainapi_lock(n->chain);
        for (size_t j = i; j < p->n_pending && j < i + 100; j++) {
            arb_check_result res;
            int is_new;
            arb_err err = arb_chainstate_accept_header(cs, &p->pending[j], now, &last, &is_new, &res);
            if (err == ARB_ERR_VERIFY) {
                arb_chainapi_unlock(n->chain);
                pending_reset(n, p);
                if (res.reason != NULL && strcmp(res.reason, "time-too-new") == 0)
                    disconnect(n, p, "headers-time-too-new"); /* may be our clock */
                else
                    misbehave(n, p, "headers-invalid", 1);
                return 0;
            }
            if (err != ARB_OK) {
                arb_chainapi_unlock(n->chain);
                arb_logf(&n->log, ARB_LOG_WARN, "p2p: cannot store headers: %s",
                         arb_err_str(err));
                pending_reset(n, p);
                return 0;
            }
        }
        arb_chainapi_unlock(n->chain);
    }
    p->best_known = 1;
    p->best_hash = last;
    p->best_height = p->pending_height;
    p->best_work = p->pending_work;
    pending_reset(n, p);
    if (p->cap_pending > ARB_P2P_MAX_HEADERS) { /* keep one batch's room, not more */
        free(p->pending);
        p->pending = NULL;
        p->cap_pending = 0;
    }
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    bc_update(n, cs, &p->best_hash, p->best_height, &p->best_work);
    arb_chainapi_unlock(n->chain);
    bc_reaim(n);
    return 1;
}

static void on_headers(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_block_header *h = malloc(ARB_P2P_MAX_HEADERS * sizeof *h);
    arb_hash hash, prev;
    size_t k;
    const char *reason;
    arb_u256 w;
    arb_chain_tip tip;
    if (h == NULL)
        return;
    if (arb_p2p_headers_read(h, &k, pl, len) != ARB_OK) {
        misbehave(n, p, "malformed-headers", 1);
        goto out;
    }
    {
        int answer = p->getheaders_ms != 0 && !n->no_schedule;
        p->getheaders_ms = 0; /* it answered: it is not stalling */
        /* The sync peer's chain ends here (not a full batch): the next peer
         * in line is asked, in case it knows more. */
        if (answer && p->conn == n->sync_peer && k < ARB_P2P_MAX_HEADERS)
            n->sync_peer = 0;
    }
    if (k == 0)
        goto out;
    /* Context-free checks first: linkage inside the message, proof of work. */
    for (size_t i = 0; i < k; i++) {
        arb_errbuf eb;
        arb_header_hash(n->sha, &hash, &h[i]);
        if (i > 0 && !arb_hash_eq(&h[i].prev, &prev)) {
            misbehave(n, p, "headers-discontinuous", 1);
            goto out;
        }
        if (arb_header_check_pow(n->p, &hash, &h[i], &reason, &eb) != ARB_OK) {
            misbehave(n, p, "headers-bad-pow", 1);
            goto out;
        }
        prev = hash;
    }
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chainstate_tip(cs, &tip);
    int continues = 0;
    if (p->n_pending > 0) {
        arb_hash plast;
        arb_header_hash(n->sha, &plast, &p->pending[p->n_pending - 1]);
        continues = arb_hash_eq(&plast, &h[0].prev);
    }
    if (!continues) {
        arb_chain_hdrinfo parent;
        arb_err err = arb_chainstate_header(cs, &h[0].prev, &parent);
        pending_reset(n, p);
        if (err == ARB_OK && parent.invalid) {
            arb_chainapi_unlock(n->chain);
            misbehave(n, p, "headers-invalid-chain", 1);
            goto out;
        }
        if (err != ARB_OK) {
            arb_chainapi_unlock(n->chain);
            if (++p->unconnecting > MAX_UNCONNECTING) {
                misbehave(n, p, "headers-unconnecting", 1);
                goto out;
            }
            send_getheaders(n, p, NULL); /* an announcement we cannot place: ask */
            goto out;
        }
        p->pending_work = parent.work;
        p->pending_height = parent.height;
    }
    arb_chainapi_unlock(n->chain);
    p->unconnecting = 0;
    if (p->n_pending + k > MAX_PENDING_HEADERS || n->pending_total + k > MAX_PENDING_TOTAL) {
        pending_reset(n, p);
        disconnect(n, p, "low-work-headers");
        goto out;
    }
    if (p->n_pending + k > p->cap_pending) { /* grows with what the peer sent */
        size_t cap = p->n_pending + k;
        arb_block_header *np = realloc(p->pending, cap * sizeof *np);
        if (np == NULL)
            goto out;
        p->pending = np;
        p->cap_pending = cap;
    }
    memcpy(p->pending + p->n_pending, h, k * sizeof *h);
    p->n_pending += k;
    n->pending_total += k;
    for (size_t i = 0; i < k; i++) {
        arb_pow_work(&w, h[i].bits);
        arb_u256_add(&p->pending_work, &p->pending_work, &w);
    }
    p->pending_height += (uint32_t)k;
    if (arb_u256_cmp(&p->pending_work, &tip.work) < 0) {
        /* Less work than our chain so far: it costs memory within
         * MAX_PENDING_HEADERS and never leads to downloads. */
        if (k == ARB_P2P_MAX_HEADERS)
            send_getheaders(n, p, &prev);
        else
            pending_reset(n, p); /* its whole chain is lighter than ours */
        goto out;
    }
    if (!commit_headers(n, p))
        goto out;
    if (k == ARB_P2P_MAX_HEADERS)
        send_getheaders(n, p, &prev);
    if (!n->no_schedule)
        schedule(n);
out:
    free(h);
}

/* ---------------------------------------------------------------- block download */

/* Index in bc of the peer's best block, or -1 if the peer is not on bc. */
static long peer_bc_top(const arb_p2p *n, const peer *p)
{
    if (!p->best_known || p->closing || !p->handshaked || n->bc_n == 0)
        return -1;
    if (p->best_height > n->bc_base && p->best_height <= n->bc_base + n->bc_n &&
        arb_hash_eq(&n->bc[p->best_height - n->bc_base - 1], &p->best_hash))
        return (long)(p->best_height - n->bc_base - 1);
    return -1;
}

static size_t bc_first_missing(const arb_p2p *n)
{
    size_t i = 0;
    while (i < n->bc_n && n->bc_state[i] == BC_HAVE)
        i++;
    return i;
}

/* Asks every peer that has blocks of the window for up to MAX_INFLIGHT. */
static void schedule(arb_p2p *n)
{
    size_t first = bc_first_missing(n), end;
    if (first >= n->bc_n)
        return;
    end = first + WINDOW < n->bc_n ? first + WINDOW : n->bc_n;
    for (peer *p = n->peers; p; p = p->next) {
        long top = peer_bc_top(n, p);
        arb_p2p_inv req[MAX_INFLIGHT];
        size_t nr = 0;
        if (top < 0 || p->n_inflight >= MAX_INFLIGHT)
            continue;
        for (size_t i = first; i < end && i <= (size_t)top && p->n_inflight < MAX_INFLIGHT; i++) {
            if (n->bc_state[i] != BC_NONE)
                continue;
            n->bc_state[i] = BC_INFLIGHT;
            p->inflight[p->n_inflight] = n->bc[i];
            p->inflight_ms[p->n_inflight++] = now_ms();
            req[nr].type = ARB_INV_BLOCK;
            req[nr++].hash = n->bc[i];
        }
        if (nr > 0) {
            begin(n, ARB_P2P_GETDATA);
            arb_p2p_inv_write(&n->out, req, nr);
            send_frame(n, p);
        }
    }
}

/* The bc index of hash at height, or -1. */
static long bc_index(const arb_p2p *n, const arb_hash *hash, uint32_t height)
{
    if (n->bc_n == 0 || height <= n->bc_base || height > n->bc_base + n->bc_n)
        return -1;
    return arb_hash_eq(&n->bc[height - n->bc_base - 1], hash) ? (long)(height - n->bc_base - 1)
                                                              : -1;
}

/* Forgets the peer's requests; their blocks may be asked of others. */
static void release_inflight(arb_p2p *n, peer *p)
{
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    for (size_t i = 0; i < p->n_inflight; i++) {
        arb_chain_hdrinfo info;
        long k;
        if (arb_chainstate_header(cs, &p->inflight[i], &info) == ARB_OK &&
            (k = bc_index(n, &p->inflight[i], info.height)) >= 0 && n->bc_state[k] == BC_INFLIGHT)
            n->bc_state[k] = BC_NONE;
    }
    arb_chainapi_unlock(n->chain);
    p->n_inflight = 0;
}

/* Connects the longest run of downloaded bc blocks if blocks arrived out of
 * order. */
static void try_activate(arb_p2p *n)
{
    size_t first = bc_first_missing(n);
    arb_chain_tip tip;
    arb_check_result res;
    if (first == 0)
        return;
    arb_chainstate_tip(arb_chainapi_lock(n->chain), &tip);
    arb_chainapi_unlock(n->chain);
    if (n->bc_base + first <= tip.height)
        return;
    arb_err err = arb_chainapi_activate(n->chain, n->sha, &n->bc[first - 1], &res);
    if (err == ARB_ERR_VERIFY) {
        arb_logf(&n->log, ARB_LOG_WARN, "p2p: the best header chain holds an invalid block (%s)",
                 res.reason ? res.reason : "?");
        n->bc_n = 0;
    }
}

static void process_block(arb_p2p *n, peer *p, arb_block *b, int requested);

static void on_block(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_block blk;
    arb_errbuf eb;
    arb_block_init(&blk);
    if (arb_block_decode(&blk, pl, len, &eb) != ARB_OK) {
        misbehave(n, p, "malformed-block", 1);
        return;
    }
    process_block(n, p, &blk, 0);
}

/* A whole block from p (decoded; cleared here). requested: it was asked for
 * (as a compact block's missing transactions) even if not in p's list. */
static void process_block(arb_p2p *n, peer *p, arb_block *b, int requested)
{
    arb_block blk = *b;
    arb_hash hash;
    arb_chain_hdrinfo info;
    arb_chain_tip tip;
    int known;
    arb_block_init(b);
    arb_header_hash(n->sha, &hash, &blk.header);
    for (size_t i = 0; i < p->n_inflight; i++)
        if (arb_hash_eq(&p->inflight[i], &hash)) {
            p->inflight[i] = p->inflight[p->n_inflight - 1];
            p->inflight_ms[i] = p->inflight_ms[p->n_inflight - 1];
            p->n_inflight--;
            requested = 1;
            break;
        }
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chainstate_tip(cs, &tip);
    known = arb_chainstate_header(cs, &hash, &info) == ARB_OK;
    arb_chainapi_unlock(n->chain);
    /* Storage policy for what nobody asked for: only a block on our tip (a
     * direct announcement) is taken; anything else costs the sender nothing
     * and us no disk. */
    if (!requested && !arb_hash_eq(&blk.header.prev, &tip.hash)) {
        arb_http_metric_add(n->http, "p2p_unsolicited_blocks", 1);
        arb_block_clear(&blk);
        return;
    }
    arb_block_outcome outcome;
    arb_check_result res;
    arb_err err = arb_chainapi_submit_block(n->chain, n->sha, &blk, requested, &outcome, &res);
    uint32_t height = known ? info.height : tip.height + 1;
    arb_block_clear(&blk);
    long k = bc_index(n, &hash, height);
    if (err == ARB_ERR_VERIFY) {
        if (k >= 0 && n->bc_state[k] != BC_HAVE)
            n->bc_state[k] = BC_NONE; /* a mutated copy: another peer may have the real one */
        arb_logf(&n->log, ARB_LOG_INFO, "p2p: invalid block from %s: %s", p->addr,
                 res.detail.msg);
        if (res.reason && strcmp(res.reason, "time-too-new") == 0)
            disconnect(n, p, "block-time-too-new");
        else
            misbehave(n, p, "block-invalid", 1);
        cs = arb_chainapi_lock(n->chain);
        if (arb_chainstate_is_invalid(cs, &hash))
            n->bc_n = 0; /* the best chain holds it: it is not the best chain */
        arb_chainapi_unlock(n->chain);
        schedule(n);
        return;
    }
    if (err != ARB_OK) {
        arb_logf(&n->log, ARB_LOG_WARN, "p2p: cannot store a block: %s", arb_err_str(err));
        if (k >= 0)
            n->bc_state[k] = BC_NONE;
        return;
    }
    p->last_block_ms = now_ms();
    /* A new block protects its sender from eviction, unless it came whole
     * after a compact form from it that did not rebuild (short id trouble
     * or blocktxn answered with wrong transactions): no credit for that. */
    if (outcome != ARB_BLOCK_DUPLICATE && !arb_hash_eq(&p->cb_failed, &hash))
        p->last_new_block_ms = p->last_block_ms;
    else if (outcome != ARB_BLOCK_DUPLICATE)
        arb_http_metric_add(n->http, "p2p_cmpct_not_credited", 1);
    if (k >= 0 && outcome != ARB_BLOCK_HEADER_ONLY) {
        if ((size_t)k == bc_first_missing(n) && n->stall_mult > 1)
            n->stall_mult /= 2;
        n->bc_state[k] = BC_HAVE;
    }
    if (!known) { /* a new block on our tip, sent directly */
        p->best_known = 1;
        p->best_hash = hash;
        p->best_height = height;
    }
    try_activate(n);
    schedule(n);
}

/* Answers getdata entries v[0..k) (takes ownership of v). Stops when the
 * peer's send queue reaches its budget and keeps the rest in p->gd_rest,
 * answered when the queue has drained (Bitcoin Core's vRecvGetData), so
 * one getdata can ask for any amount without overflowing the queue. */
static void answer_getdata(arb_p2p *n, peer *p, arb_p2p_inv *v, size_t k)
{
    arb_p2p_inv *nf;
    size_t nnf = 0, i;
    nf = malloc(k * sizeof *nf);
    for (i = 0; i < k && !p->closing; i++) {
        if (i > 0 && send_full(n, p))
            break;
        arb_buf raw = ARB_BUF_INIT;
        arb_err err = ARB_ERR_NOT_FOUND;
        if (v[i].type == ARB_INV_BLOCK) {
            arb_block blk;
            arb_block_init(&blk);
            arb_chainstate *cs = arb_chainapi_lock(n->chain);
            err = arb_chainstate_get_block(cs, &v[i].hash, NULL, &blk, NULL, NULL);
            arb_chainapi_unlock(n->chain);
            if (err == ARB_OK) {
                begin(n, ARB_P2P_BLOCK);
                arb_block_write(&n->out, &blk);
                send_frame(n, p);
            }
            arb_block_clear(&blk);
        } else if (v[i].type == ARB_INV_TX) {
            arb_tx tx;
            arb_tx_init(&tx);
            err = arb_mempool_get(arb_chainapi_mempool(n->chain), &v[i].hash, &tx, NULL);
            if (err == ARB_OK) {
                begin(n, ARB_P2P_TX);
                arb_tx_write(&n->out, &tx, 1);
                send_frame(n, p);
                hashring_add(&p->known, &v[i].hash);
            }
            arb_tx_clear(&tx);
        } else if (v[i].type == ARB_INV_ZONEFILE) {
            err = arb_zonesync_serve(n->zs, p->conn, v[i].hash.b) ? ARB_OK : ARB_ERR_NOT_FOUND;
        }
        arb_buf_free(&raw);
        if (err != ARB_OK && nf != NULL)
            nf[nnf++] = v[i];
    }
    if (nnf > 0 && !p->closing) {
        begin(n, ARB_P2P_NOTFOUND);
        arb_p2p_inv_write(&n->out, nf, nnf);
        send_frame(n, p);
    }
    free(nf);
    if (i < k && !p->closing) {
        memmove(v, v + i, (k - i) * sizeof *v);
        p->gd_rest = v;
        p->gd_n = k - i;
        return;
    }
    free(v);
}

static void on_getdata(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_p2p_inv *v;
    size_t k;
    if (arb_p2p_inv_read(&v, &k, pl, len) != ARB_OK) {
        misbehave(n, p, "malformed-getdata", 1);
        return;
    }
    answer_getdata(n, p, v, k);
}

/* ---------------------------------------------------------------- compact blocks */

typedef struct {
    uint64_t sid;
    uint32_t index;
} sid_slot;

static int cmp_sid(const void *a, const void *b)
{
    const sid_slot *x = a, *y = b;
    return (x->sid > y->sid) - (x->sid < y->sid);
}

typedef struct {
    const uint64_t *key;
    sid_slot *sorted;
    size_t n;
    arb_block *blk;
    uint8_t *filled;
    int collision, oom;
} rebuild_ctx;

/* With the mempool's lock held: places pool transactions by short id. */
static int rebuild_from_pool(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    rebuild_ctx *r = ud;
    sid_slot want, *hit;
    (void)fee;
    if (r->n == 0)
        return 1;
    want.sid = arb_p2p_short_id(r->key, txid);
    want.index = 0;
    hit = bsearch(&want, r->sorted, r->n, sizeof *r->sorted, cmp_sid);
    if (hit == NULL)
        return 0;
    if (r->filled[hit->index]) {
        r->collision = 1; /* two pool transactions with one short id */
        return 1;
    }
    if (arb_tx_copy(&r->blk->tx[hit->index], tx) != ARB_OK) {
        r->oom = 1;
        return 1;
    }
    r->filled[hit->index] = 1;
    return 0;
}

/* Asks p for the whole block instead (short id trouble, or a merkle root
 * that does not match): it stays counted as in flight from p. */
static void cmpct_fallback(arb_p2p *n, peer *p, const arb_hash *hash)
{
    arb_p2p_inv inv = {ARB_INV_BLOCK, *hash};
    arb_http_metric_add(n->http, "p2p_cmpct_fallbacks", 1);
    p->cb_failed = *hash;
    begin(n, ARB_P2P_GETDATA);
    arb_p2p_inv_write(&n->out, &inv, 1);
    send_frame(n, p);
}

/* Marks hash as in flight from p (compact block being completed). */
static void mark_inflight(arb_p2p *n, peer *p, const arb_hash *hash, uint32_t height)
{
    long k = bc_index(n, hash, height);
    if (k >= 0 && n->bc_state[k] == BC_NONE)
        n->bc_state[k] = BC_INFLIGHT;
    for (size_t i = 0; i < p->n_inflight; i++)
        if (arb_hash_eq(&p->inflight[i], hash))
            return;
    if (p->n_inflight < MAX_INFLIGHT) {
        p->inflight[p->n_inflight] = *hash;
        p->inflight_ms[p->n_inflight++] = now_ms();
    }
}

/* The block is complete: checked against its merkle root, then processed. */
static void cmpct_complete(arb_p2p *n, peer *p, arb_block *blk, const arb_hash *hash)
{
    arb_hash root;
    if (arb_block_merkle_root(n->sha, &root, blk->tx, blk->n_tx) != ARB_OK ||
        !arb_hash_eq(&root, &blk->header.merkle_root)) {
        arb_block_clear(blk);
        cmpct_fallback(n, p, hash);
        return;
    }
    arb_http_metric_add(n->http, "p2p_cmpct_rebuilt", 1);
    process_block(n, p, blk, 1);
}

static void on_cmpctblock(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_p2p_cmpct c;
    arb_hash hash;
    arb_chain_hdrinfo info;
    arb_chain_tip tip;
    arb_buf hb = ARB_BUF_INIT;
    sid_slot *sorted = NULL;
    uint8_t *filled = NULL;
    arb_block blk;
    size_t total;
    uint64_t key[2];
    arb_p2p_cmpct_init(&c);
    arb_block_init(&blk);
    arb_err err = arb_p2p_cmpct_read(&c, pl, len);
    if (err != ARB_OK) {
        if (err == ARB_ERR_PARSE)
            misbehave(n, p, "malformed-cmpctblock", 1);
        return;
    }
    /* Its header goes the way of an announcement. */
    arb_p2p_headers_write(&hb, &c.header, 1);
    n->no_schedule = 1;
    if (!hb.oom)
        on_headers(n, p, hb.data, hb.len);
    n->no_schedule = 0;
    arb_buf_free(&hb);
    if (p->closing)
        goto out;
    arb_header_hash(n->sha, &hash, &c.header);
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    arb_chainstate_tip(cs, &tip);
    int known = arb_chainstate_header(cs, &hash, &info) == ARB_OK;
    arb_chainapi_unlock(n->chain);
    /* Only a block on our tip is rebuilt; anything else (a header we could
     * not place, a block we have, a branch) is left to the usual download. */
    if (!known || info.have_data || info.invalid || !arb_hash_eq(&c.header.prev, &tip.hash) ||
        p->cb_active)
        goto done;
    total = c.n_short + c.n_pre;
    sorted = c.n_short ? malloc(c.n_short * sizeof *sorted) : NULL;
    filled = calloc(total ? total : 1, 1);
    blk.tx = calloc(total ? total : 1, sizeof *blk.tx);
    if ((c.n_short && sorted == NULL) || filled == NULL || blk.tx == NULL)
        goto done;
    blk.header = c.header;
    blk.n_tx = total;
    for (size_t i = 0; i < c.n_pre; i++) {
        blk.tx[c.pre_index[i]] = c.pre_tx[i]; /* moved */
        memset(&c.pre_tx[i], 0, sizeof c.pre_tx[i]);
        filled[c.pre_index[i]] = 1;
    }
    for (size_t i = 0, j = 0; i < total; i++)
        if (!filled[i] && j < c.n_short) {
            sorted[j].sid = c.short_ids[j];
            sorted[j].index = (uint32_t)i;
            j++;
        }
    if (c.n_short > 1)
        qsort(sorted, c.n_short, sizeof *sorted, cmp_sid);
    int dup = 0;
    for (size_t i = 1; i < c.n_short; i++)
        dup |= sorted[i].sid == sorted[i - 1].sid;
    arb_p2p_cmpct_key(n->sha, key, &c.header, c.nonce);
    rebuild_ctx r = {key, sorted, c.n_short, &blk, filled, 0, 0};
    if (!dup)
        arb_mempool_foreach(arb_chainapi_mempool(n->chain), rebuild_from_pool, &r);
    mark_inflight(n, p, &hash, info.height);
    if (dup || r.collision || r.oom) {
        cmpct_fallback(n, p, &hash);
        goto done;
    }
    size_t missing = 0;
    for (size_t i = 0; i < total; i++)
        missing += !filled[i];
    if (missing == 0) {
        cmpct_complete(n, p, &blk, &hash);
        goto done;
    }
    p->cb_missing = malloc(missing * sizeof *p->cb_missing);
    if (p->cb_missing == NULL) {
        cmpct_fallback(n, p, &hash);
        goto done;
    }
    p->cb_n_missing = 0;
    for (size_t i = 0; i < total; i++)
        if (!filled[i])
            p->cb_missing[p->cb_n_missing++] = (uint32_t)i;
    p->cb_active = 1;
    p->cb_hash = hash;
    p->cb_blk = blk;
    arb_block_init(&blk);
    begin(n, ARB_P2P_GETBLOCKTXN);
    arb_p2p_getblocktxn_write(&n->out, &hash, p->cb_missing, p->cb_n_missing);
    send_frame(n, p);
done:
    schedule(n);
out:
    free(sorted);
    free(filled);
    arb_block_clear(&blk);
    arb_p2p_cmpct_clear(&c);
}

static void on_getblocktxn(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_hash hash;
    uint32_t *idx;
    size_t k;
    arb_block blk;
    arb_err err = arb_p2p_getblocktxn_read(&hash, &idx, &k, pl, len);
    if (err != ARB_OK) {
        if (err == ARB_ERR_PARSE)
            misbehave(n, p, "malformed-getblocktxn", 1);
        return;
    }
    arb_block_init(&blk);
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    err = arb_chainstate_get_block(cs, &hash, NULL, &blk, NULL, NULL);
    arb_chainapi_unlock(n->chain);
    if (err == ARB_OK) {
        const arb_tx **txs = malloc(k * sizeof *txs);
        int bad = txs == NULL;
        for (size_t i = 0; !bad && i < k; i++) {
            if (idx[i] >= blk.n_tx)
                bad = 2;
            else
                txs[i] = &blk.tx[idx[i]];
        }
        if (bad == 2) {
            misbehave(n, p, "getblocktxn-out-of-range", 1);
        } else if (!bad) {
            begin(n, ARB_P2P_BLOCKTXN);
            arb_p2p_blocktxn_write(&n->out, &hash, txs, k);
            send_frame(n, p);
        }
        free(txs);
    } else {
        arb_p2p_inv inv = {ARB_INV_BLOCK, hash};
        begin(n, ARB_P2P_NOTFOUND);
        arb_p2p_inv_write(&n->out, &inv, 1);
        send_frame(n, p);
    }
    arb_block_clear(&blk);
    free(idx);
}

static void on_blocktxn(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_hash hash;
    arb_tx *txs;
    size_t k;
    arb_err err = arb_p2p_blocktxn_read(&hash, &txs, &k, pl, len);
    if (err != ARB_OK) {
        if (err == ARB_ERR_PARSE)
            misbehave(n, p, "malformed-blocktxn", 1);
        return;
    }
    if (!p->cb_active || !arb_hash_eq(&hash, &p->cb_hash) || k != p->cb_n_missing) {
        for (size_t i = 0; i < k; i++)
            arb_tx_clear(&txs[i]);
        free(txs);
        if (p->cb_active && arb_hash_eq(&hash, &p->cb_hash))
            misbehave(n, p, "blocktxn-mismatch", 1); /* not what we asked for */
        return;
    }
    for (size_t i = 0; i < k; i++)
        p->cb_blk.tx[p->cb_missing[i]] = txs[i]; /* moved */
    free(txs);
    arb_block blk = p->cb_blk;
    arb_block_init(&p->cb_blk);
    free(p->cb_missing);
    p->cb_missing = NULL;
    p->cb_n_missing = 0;
    p->cb_active = 0;
    cmpct_complete(n, p, &blk, &hash);
}

/* ---------------------------------------------------------------- transactions */

static int tx_requested(arb_p2p *n, const arb_hash *h)
{
    for (size_t i = 0; i < n->n_txreqs; i++)
        if (arb_hash_eq(&n->txreqs[i].txid, h))
            return 1;
    return 0;
}

static void txreq_done(arb_p2p *n, const arb_hash *h)
{
    for (size_t i = 0; i < n->n_txreqs; i++)
        if (arb_hash_eq(&n->txreqs[i].txid, h)) {
            n->txreqs[i] = n->txreqs[--n->n_txreqs];
            return;
        }
}

static int have_tx(arb_p2p *n, const arb_hash *h)
{
    arb_tx tx;
    arb_tx_init(&tx);
    int have = arb_mempool_get(arb_chainapi_mempool(n->chain), h, &tx, NULL) == ARB_OK;
    arb_tx_clear(&tx);
    for (size_t i = 0; !have && i < n->n_orphans; i++)
        have = arb_hash_eq(&n->orphans[i].txid, h);
    return have;
}

static void on_inv(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_p2p_inv *v, *want;
    size_t k, nw = 0;
    int new_block = 0;
    if (arb_p2p_inv_read(&v, &k, pl, len) != ARB_OK) {
        misbehave(n, p, "malformed-inv", 1);
        return;
    }
    want = malloc(k * sizeof *want);
    for (size_t i = 0; i < k && want != NULL; i++) {
        if (v[i].type == ARB_INV_TX) {
            if (p->kind != CONN_FULL)
                continue; /* no transactions over a block-relay-only link */
            hashring_add(&p->known, &v[i].hash);
            if (rejected(n, &v[i].hash) || tx_requested(n, &v[i].hash) || have_tx(n, &v[i].hash))
                continue;
            if (n->n_txreqs == n->cap_txreqs) {
                size_t c = n->cap_txreqs ? 2 * n->cap_txreqs : 256;
                txreq *r = c <= 4 * ARB_P2P_MAX_INV ? realloc(n->txreqs, c * sizeof *r) : NULL;
                if (r == NULL)
                    break;
                n->txreqs = r;
                n->cap_txreqs = c;
            }
            n->txreqs[n->n_txreqs].txid = v[i].hash;
            n->txreqs[n->n_txreqs].conn = p->conn;
            n->txreqs[n->n_txreqs++].ms = now_ms();
            want[nw++] = v[i];
        } else if (v[i].type == ARB_INV_BLOCK) {
            arb_chain_hdrinfo info;
            arb_chainstate *cs = arb_chainapi_lock(n->chain);
            if (arb_chainstate_header(cs, &v[i].hash, &info) != ARB_OK)
                new_block = 1;
            arb_chainapi_unlock(n->chain);
        } else if (v[i].type == ARB_INV_ZONEFILE) {
            arb_zonesync_on_inv(n->zs, p->conn, v[i].hash.b);
        }
    }
    if (nw > 0) {
        begin(n, ARB_P2P_GETDATA);
        arb_p2p_inv_write(&n->out, want, nw);
        send_frame(n, p);
    }
    if (new_block) /* blocks are announced by headers; an inv asks us to sync */
        send_getheaders(n, p, NULL);
    free(want);
    free(v);
}

static void on_notfound(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    arb_p2p_inv *v;
    size_t k;
    if (arb_p2p_inv_read(&v, &k, pl, len) != ARB_OK) {
        misbehave(n, p, "malformed-notfound", 1);
        return;
    }
    for (size_t i = 0; i < k; i++)
        if (v[i].type == ARB_INV_ZONEFILE)
            arb_zonesync_on_notfound(n->zs, p->conn, v[i].hash.b);
        else if (v[i].type == ARB_INV_TX)
            for (size_t j = 0; j < n->n_txreqs; j++)
                if (n->txreqs[j].conn == p->conn && arb_hash_eq(&n->txreqs[j].txid, &v[i].hash)) {
                    n->txreqs[j] = n->txreqs[--n->n_txreqs];
                    break;
                }
    free(v);
}

/* Rejections that say nothing bad about the sender: the pool's own policy
 * (fees, package limits, replacement rules, dust, size; ledger/chain/mempool.h)
 * and consensus reasons that depend on what this node has seen. */
static int policy_reason(const char *r)
{
    static const char *const ok[] = {"txn-already-in-mempool", "txn-mempool-conflict",
                                     "mempool-full", "mempool-min-fee-not-met",
                                     "min-relay-fee-not-met", "dust", "tx-size",
                                     "too-many-unconfirmed-ancestors",
                                     "exceeds-ancestor-size-limit", "too-many-descendants",
                                     "exceeds-descendant-size-limit", "bad-txns-nonfinal",
                                     "bad-txns-premature-spend-of-coinbase",
                                     "bad-txns-inputs-missingorspent", "mempool-payload-full",
                                     "too-many-pending-anchors", "too-many-pending-name-ops"};
    /* Name operations and anchors are judged against the committed state
     * (and the pool's pending operations), which the relaying peer may see
     * otherwise (another block, another pending preorder or anchor): like
     * missing inputs, no fault of the peer. Only what no state can make
     * valid counts against it. */
    static const char *const never_valid[] = {"anchor-bad-key", "anchor-bad-signature",
                                              "anchor-empty-root",
                                              "namespace-price-function-invalid"};
    if (r == NULL || strncmp(r, "rbf-", 4) == 0)
        return 1;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strcmp(r, ok[i]) == 0)
            return 1;
    if (strncmp(r, "name-", 5) == 0 || strncmp(r, "namespace-", 10) == 0 ||
        strncmp(r, "anchor-", 7) == 0) {
        for (size_t i = 0; i < sizeof never_valid / sizeof *never_valid; i++)
            if (strcmp(r, never_valid[i]) == 0)
                return 0;
        return 1;
    }
    return 0;
}

static void orphan_drop(arb_p2p *n, size_t i)
{
    free(n->orphans[i].raw);
    n->orphans[i] = n->orphans[--n->n_orphans];
}

enum { TX_REJECTED = 0, TX_ACCEPTED = 1, TX_ORPHAN = 2 };

/* Tries to admit raw transaction bytes from peer p (NULL: from the orphan
 * pool). Returns TX_ACCEPTED, TX_ORPHAN (a parent is missing; kept in the
 * orphan pool unless from_orphans) or TX_REJECTED. */
static int accept_tx(arb_p2p *n, peer *p, const uint8_t *raw, size_t len, int from_orphans)
{
    arb_tx tx;
    arb_errbuf eb;
    arb_hash txid;
    arb_check_result res;
    arb_tx_init(&tx);
    if (arb_tx_decode(&tx, raw, len, &eb) != ARB_OK) {
        if (p != NULL)
            misbehave(n, p, "malformed-tx", 1);
        return 0;
    }
    if (arb_tx_txid(n->sha, &txid, &tx) != ARB_OK) {
        arb_tx_clear(&tx);
        return 0;
    }
    txreq_done(n, &txid);
    if (p != NULL)
        hashring_add(&p->known, &txid);
    if (rejected(n, &txid)) {
        arb_tx_clear(&tx);
        return 0;
    }
    arb_err err = arb_chainapi_submit_tx(n->chain, n->sha, &tx, &txid, &res);
    arb_tx_clear(&tx);
    if (err == ARB_OK) {
        if (p != NULL)
            p->last_tx_ms = now_ms();
        return TX_ACCEPTED;
    }
    if (err != ARB_ERR_VERIFY)
        return 0;
    if (res.reason && strcmp(res.reason, "bad-txns-inputs-missingorspent") == 0) {
        if (from_orphans)
            return TX_ORPHAN;
        if (len > MAX_ORPHAN_SIZE)
            return TX_REJECTED;
        for (size_t i = 0; i < n->n_orphans; i++)
            if (arb_hash_eq(&n->orphans[i].txid, &txid))
                return TX_ORPHAN;
        if (n->n_orphans == MAX_ORPHANS) /* full: a random one goes (Bitcoin LimitOrphans) */
            orphan_drop(n, (size_t)(rand64() % MAX_ORPHANS));
        uint8_t *copy = malloc(len);
        if (copy == NULL)
            return 0;
        memcpy(copy, raw, len);
        orphan *o = &n->orphans[n->n_orphans++];
        o->txid = txid;
        o->raw = copy;
        o->len = len;
        o->from = p ? p->conn : 0;
        o->expires_ms = now_ms() + ORPHAN_EXPIRE_MS;
        arb_http_metric_add(n->http, "p2p_orphans_added", 1);
        return TX_ORPHAN;
    }
    if (strcmp(res.reason ? res.reason : "", "txn-already-in-mempool") != 0)
        reject_add(n, &txid);
    if (p != NULL && !policy_reason(res.reason))
        misbehave(n, p, "tx-invalid", 1);
    return 0;
}

/* After a transaction entered the pool: orphans may now fit. Each round
 * takes the whole pool out and puts back those still missing a parent. */
static void retry_orphans(arb_p2p *n)
{
    int progress = 1;
    while (progress && n->n_orphans > 0) {
        orphan held[MAX_ORPHANS];
        size_t nh = n->n_orphans;
        progress = 0;
        memcpy(held, n->orphans, nh * sizeof *held);
        n->n_orphans = 0;
        for (size_t i = 0; i < nh; i++) {
            int r = accept_tx(n, NULL, held[i].raw, held[i].len, 1);
            if (r == TX_ACCEPTED)
                progress = 1;
            if (r == TX_ORPHAN && n->n_orphans < MAX_ORPHANS)
                n->orphans[n->n_orphans++] = held[i];
            else
                free(held[i].raw);
        }
    }
}

static void on_tx(arb_p2p *n, peer *p, const uint8_t *pl, size_t len)
{
    if (p->kind != CONN_FULL) /* not asked for: block-relay-only */
        return;
    if (accept_tx(n, p, pl, len, 0) == TX_ACCEPTED)
        retry_orphans(n);
}

/* A transaction entered our mempool: each peer that does not know it gets
 * it in its next trickle. */
static void relay_tx(arb_p2p *n, const arb_hash *txid)
{
    for (peer *p = n->peers; p; p = p->next) {
        if (!p->handshaked || p->closing || p->kind != CONN_FULL || hashring_has(&p->known, txid))
            continue;
        if (p->n_announce == p->cap_announce) {
            size_t c = p->cap_announce ? 2 * p->cap_announce : 64;
            arb_hash *a = c <= 8 * MAX_INV_SEND ? realloc(p->to_announce, c * sizeof *a) : NULL;
            if (a == NULL)
                continue;
            p->to_announce = a;
            p->cap_announce = c;
        }
        p->to_announce[p->n_announce++] = *txid;
    }
}

static void trickle(arb_p2p *n, peer *p, int64_t now)
{
    arb_p2p_inv v[MAX_INV_SEND];
    size_t k = 0, i = 0;
    if (now < p->next_inv_ms)
        return;
    /* Inbound peers wait longer (Bitcoin: 5 s vs 2 s). */
    p->next_inv_ms = now + exp_delay(p->outbound ? n->cfg.tx_delay_ms : n->cfg.tx_delay_ms * 5 / 2);
    for (; i < p->n_announce && k < MAX_INV_SEND; i++) {
        if (hashring_has(&p->known, &p->to_announce[i]))
            continue;
        v[k].type = ARB_INV_TX;
        v[k++].hash = p->to_announce[i];
        hashring_add(&p->known, &p->to_announce[i]);
    }
    if (i > 0) {
        memmove(p->to_announce, p->to_announce + i, (p->n_announce - i) * sizeof *p->to_announce);
        p->n_announce -= i;
    }
    if (k > 0) {
        begin(n, ARB_P2P_INV);
        arb_p2p_inv_write(&n->out, v, k);
        send_frame(n, p);
    }
}

/* ---------------------------------------------------------------- dispatch */

static void handle_msg(arb_p2p *n, peer *p, const uint8_t *data, size_t len)
{
    uint8_t type;
    const uint8_t *pl;
    size_t plen;
    const char *reason;
    p->last_recv_ms = now_ms();
    p->bytes_in += len;
    p->msgs_in++;
    if (arb_p2p_frame_decode(data, len, n->p->magic, &type, &pl, &plen, &reason) != ARB_OK) {
        if (strcmp(reason, "bad-magic") == 0 || strcmp(reason, "oversize") == 0)
            disconnect(n, p, reason);
        else
            misbehave(n, p, "malformed-frame", 1);
        return;
    }
    metric(n, "p2p_msgs_in_", arb_p2p_type_name(type));
    if (!p->got_version && type != ARB_P2P_VERSION) {
        disconnect(n, p, "no-version");
        return;
    }
    if (type == ARB_P2P_VERSION) {
        on_version(n, p, pl, plen);
        return;
    }
    if (type == ARB_P2P_VERACK) {
        if (plen != 0) {
            misbehave(n, p, "malformed-verack", 1);
        } else if (!p->got_verack) {
            p->got_verack = 1;
            if (p->got_version)
                handshake_done(n, p);
        }
        return;
    }
    if (!p->handshaked) {
        disconnect(n, p, "no-verack");
        return;
    }
    switch (type) {
    case ARB_P2P_PING: {
        uint64_t nonce;
        if (arb_p2p_nonce_read(&nonce, pl, plen) != ARB_OK)
            misbehave(n, p, "malformed-ping", 1);
        else
            send_nonce(n, p, ARB_P2P_PONG, nonce);
        break;
    }
    case ARB_P2P_PONG: {
        uint64_t nonce;
        if (arb_p2p_nonce_read(&nonce, pl, plen) != ARB_OK) {
            misbehave(n, p, "malformed-pong", 1);
        } else if (p->ping_nonce != 0 && nonce == p->ping_nonce) {
            p->ping_rtt_ms = now_ms() - p->ping_sent_ms;
            p->ping_nonce = 0;
        }
        break;
    }
    case ARB_P2P_GETHEADERS:
        on_getheaders(n, p, pl, plen);
        break;
    case ARB_P2P_HEADERS:
        on_headers(n, p, pl, plen);
        break;
    case ARB_P2P_INV:
        on_inv(n, p, pl, plen);
        break;
    case ARB_P2P_GETDATA:
        on_getdata(n, p, pl, plen);
        break;
    case ARB_P2P_NOTFOUND:
        on_notfound(n, p, pl, plen);
        break;
    case ARB_P2P_BLOCK:
        on_block(n, p, pl, plen);
        break;
    case ARB_P2P_TX:
        on_tx(n, p, pl, plen);
        break;
    case ARB_P2P_CMPCTBLOCK:
        on_cmpctblock(n, p, pl, plen);
        break;
    case ARB_P2P_GETBLOCKTXN:
        on_getblocktxn(n, p, pl, plen);
        break;
    case ARB_P2P_BLOCKTXN:
        on_blocktxn(n, p, pl, plen);
        break;
    case ARB_P2P_ADDR:
        on_addr(n, p, pl, plen);
        break;
    case ARB_P2P_GETADDR:
        on_getaddr(n, p, pl, plen);
        break;
    case ARB_P2P_ZONEFILE:
        arb_zonesync_on_zonefile(n->zs, p->conn, pl, plen);
        break;
    case ARB_P2P_SENDCMPCT: {
        int announce;
        uint64_t version;
        if (arb_p2p_sendcmpct_read(&announce, &version, pl, plen) != ARB_OK)
            misbehave(n, p, "malformed-sendcmpct", 1);
        else if (version == ARB_P2P_CMPCT_VERSION) /* other versions: ignored (BIP152) */
            p->cmpct_announce = announce;
        break;
    }
    default:
        break; /* unknown types are for later versions */
    }
}

static unsigned count_inbound(const arb_p2p *n)
{
    unsigned c = 0;
    for (const peer *p = n->peers; p; p = p->next)
        if (!p->outbound && !p->closing)
            c++;
    return c;
}

/* The netgroup of an address: the /16 of IPv4, the /32 of IPv6 (Bitcoin's
 * default grouping without an AS map). */
static void netgroup(char *out, size_t cap, const char *addr)
{
    char ip[64];
    ip_of(ip, sizeof ip, addr);
    if (strchr(ip, ':') != NULL) {
        const char *c = ip;
        int colons = 0;
        while (*c && colons < 2)
            colons += *c++ == ':';
        snprintf(out, cap, "%.*s", (int)(c - ip), ip);
    } else {
        const char *d = strchr(ip, '.');
        d = d ? strchr(d + 1, '.') : NULL;
        snprintf(out, cap, "%.*s", d ? (int)(d - ip) : (int)strlen(ip), ip);
    }
}

typedef struct {
    peer *p;
    char group[64];
    uint64_t group_key;
    int protect;
} evict_cand;

static int by_group_key(const void *a, const void *b)
{
    const evict_cand *x = a, *y = b;
    return (x->group_key > y->group_key) - (x->group_key < y->group_key);
}
static int by_ping(const void *a, const void *b)
{
    const evict_cand *x = a, *y = b;
    int64_t px = x->p->ping_rtt_ms > 0 ? x->p->ping_rtt_ms : INT64_MAX;
    int64_t py = y->p->ping_rtt_ms > 0 ? y->p->ping_rtt_ms : INT64_MAX;
    return (px > py) - (px < py);
}
static int by_recent_tx(const void *a, const void *b)
{
    const evict_cand *x = a, *y = b;
    return (x->p->last_tx_ms < y->p->last_tx_ms) - (x->p->last_tx_ms > y->p->last_tx_ms);
}
static int by_recent_block(const void *a, const void *b)
{
    const evict_cand *x = a, *y = b;
    return (x->p->last_new_block_ms < y->p->last_new_block_ms) -
           (x->p->last_new_block_ms > y->p->last_new_block_ms);
}
static int by_age(const void *a, const void *b) /* oldest first */
{
    const evict_cand *x = a, *y = b;
    return (x->p->connected_ms > y->p->connected_ms) - (x->p->connected_ms < y->p->connected_ms);
}

/* Protects the first k unprotected candidates in the order cmp gives. */
static void protect(evict_cand *c, size_t n, size_t k, int (*cmp)(const void *, const void *))
{
    qsort(c, n, sizeof *c, cmp);
    for (size_t i = 0; i < n && k > 0; i++)
        if (!c[i].protect) {
            c[i].protect = 1;
            k--;
        }
}

/* Inbound slots are full and `newcomer` arrived: Bitcoin Core's
 * SelectNodeToEvict. Among inbound peers not added by the operator, protect
 * 4 by netgroup (keyed by our nonce, so an attacker cannot choose), 8 with
 * the lowest ping, 4 that most recently gave us new transactions, 4 that
 * most recently gave us new blocks, then the older half of the rest; of the
 * others, the netgroup with the most connections loses its youngest peer.
 * Returns 1 if a peer was evicted (the newcomer stays), 0 if none could be. */
static int evict_inbound(arb_p2p *n, const peer *newcomer)
{
    evict_cand *c;
    size_t nc = 0, left = 0;
    for (peer *p = n->peers; p; p = p->next)
        nc += !p->outbound && !p->closing && !p->manual && p != newcomer;
    if (nc == 0 || (c = calloc(nc, sizeof *c)) == NULL)
        return 0;
    nc = 0;
    for (peer *p = n->peers; p; p = p->next) {
        if (p->outbound || p->closing || p->manual || p == newcomer)
            continue;
        c[nc].p = p;
        netgroup(c[nc].group, sizeof c[nc].group, p->addr);
        uint8_t d[32];
        arb_sha256_init(n->sha);
        arb_sha256_update(n->sha, (const uint8_t *)&n->nonce, sizeof n->nonce);
        arb_sha256_update(n->sha, (const uint8_t *)c[nc].group, strlen(c[nc].group));
        arb_sha256_final(n->sha, d);
        memcpy(&c[nc].group_key, d, 8);
        nc++;
    }
    protect(c, nc, 4, by_group_key);
    protect(c, nc, 8, by_ping);
    protect(c, nc, 4, by_recent_tx);
    protect(c, nc, 4, by_recent_block);
    for (size_t i = 0; i < nc; i++)
        left += !c[i].protect;
    protect(c, nc, left / 2, by_age);
    /* The largest netgroup among the unprotected (ties: the one with the
     * youngest member), its youngest peer. */
    peer *victim = NULL;
    size_t best_size = 0;
    for (size_t i = 0; i < nc; i++) {
        if (c[i].protect)
            continue;
        size_t size = 0;
        peer *youngest = NULL;
        for (size_t j = 0; j < nc; j++)
            if (!c[j].protect && strcmp(c[j].group, c[i].group) == 0) {
                size++;
                if (youngest == NULL || c[j].p->connected_ms > youngest->connected_ms)
                    youngest = c[j].p;
            }
        if (size > best_size ||
            (size == best_size && victim && youngest->connected_ms > victim->connected_ms)) {
            best_size = size;
            victim = youngest;
        }
    }
    free(c);
    if (victim == NULL)
        return 0;
    disconnect(n, victim, "evicted");
    return 1;
}

static void ev_open(arb_p2p *n, ev *e)
{
    peer *p = calloc(1, sizeof *p);
    char ip[64];
    if (p == NULL) {
        (void)arb_http_ws_close(n->http, e->conn);
        return;
    }
    p->conn = e->conn;
    p->outbound = e->outgoing;
    p->target = -1;
    p->connected_ms = p->last_recv_ms = now_ms();
    arb_addr_bucket_init(&p->addr_tokens, p->connected_ms);
    snprintf(p->addr, sizeof p->addr, "%s", e->addr);
    for (size_t i = 0; p->outbound && i < n->n_autos; i++)
        if (n->autos[i].conn == e->conn) {
            p->automatic = 1;
            p->kind = n->autos[i].kind;
            p->book_addr = n->autos[i].addr;
            arb_netaddr_format(&p->book_addr, p->addr, sizeof p->addr);
            n->autos[i] = n->autos[--n->n_autos];
            break;
        }
    for (size_t i = 0; p->outbound && i < n->n_targets; i++)
        if (n->targets[i].conn == e->conn) {
            p->target = (int)i;
            p->manual = 1;
            snprintf(p->addr, sizeof p->addr, "%s", n->targets[i].addr);
            n->targets[i].backoff_ms = 0;
        }
    p->next = n->peers;
    n->peers = p;
    ip_of(ip, sizeof ip, p->addr);
    if (!p->outbound && is_banned(n, ip)) {
        disconnect(n, p, "discouraged");
        return;
    }
    if (!p->outbound && count_inbound(n) > n->cfg.max_inbound && !evict_inbound(n, p)) {
        disconnect(n, p, "inbound-full");
        return;
    }
    if (p->outbound)
        send_version(n, p);
}

static void peer_free(peer *p)
{
    ev *d = p->deferred;
    while (d) {
        ev *nx = d->next;
        free(d);
        d = nx;
    }
    free(p->pending);
    free(p->gd_rest);
    free(p->to_announce);
    arb_block_clear(&p->cb_blk);
    free(p->cb_missing);
    free(p);
}

static void ev_close(arb_p2p *n, uint64_t conn)
{
    peer **pp = &n->peers;
    for (size_t i = 0; i < n->n_autos; i++)
        if (n->autos[i].conn == conn) { /* the connection failed before it opened */
            n->autos[i] = n->autos[--n->n_autos];
            break;
        }
    for (size_t i = 0; i < n->n_targets; i++)
        if (n->targets[i].conn == conn) {
            target *t = &n->targets[i];
            t->conn = 0;
            t->backoff_ms = t->backoff_ms ? (t->backoff_ms < 30000 ? 2 * t->backoff_ms : 60000) : 500;
            t->next_try_ms = now_ms() + t->backoff_ms;
        }
    while (*pp && (*pp)->conn != conn)
        pp = &(*pp)->next;
    if (*pp == NULL)
        return;
    peer *p = *pp;
    *pp = p->next;
    /* Its held messages leave the budgets (the total one above all: it
     * would otherwise stay counted and pause every peer in the end). */
    for (ev *d = p->deferred; d != NULL; d = d->next)
        done_bytes(n, d);
    release_inflight(n, p);
    pending_reset(n, p);
    arb_zonesync_peer_remove(n->zs, conn);
    for (size_t i = 0; i < n->n_txreqs;)
        if (n->txreqs[i].conn == conn)
            n->txreqs[i] = n->txreqs[--n->n_txreqs];
        else
            i++;
    if (p->conn == n->sync_peer)
        n->sync_peer = 0;
    if (p->handshaked)
        arb_logf(&n->log, ARB_LOG_INFO, "p2p: %s %s peer %s gone: %s",
                 p->outbound ? "outbound" : "inbound", kind_name(p), p->addr,
                 p->close_reason ? p->close_reason : "closed by the peer");
    peer_free(p);
    schedule(n);
}

/* A message from a peer: handled now, or held while the peer's send queue is
 * over budget (it must read what it asked for before it asks for more). */
static void ev_msg(arb_p2p *n, ev *e)
{
    peer *p = peer_find(n, e->conn);
    if (p == NULL || p->closing) {
        done_bytes(n, e);
        free(e);
        return;
    }
    p->last_recv_ms = now_ms(); /* it is talking, even if we cannot listen yet */
    if (p->deferred != NULL || p->gd_rest != NULL || send_full(n, p)) {
        e->next = NULL;
        if (p->deferred_tail)
            p->deferred_tail->next = e;
        else
            p->deferred = e;
        p->deferred_tail = e;
        return;
    }
    handle_msg(n, p, e->data, e->len);
    done_bytes(n, e);
    free(e);
}

/* The send queue may have drained: the rest of a getdata first, then the
 * messages held meanwhile, while the queue stays under budget. */
static void run_deferred(arb_p2p *n, peer *p)
{
    if (p->gd_rest != NULL && !p->closing && !send_full(n, p)) {
        arb_p2p_inv *v = p->gd_rest;
        p->gd_rest = NULL;
        answer_getdata(n, p, v, p->gd_n);
    }
    while (p->deferred != NULL && p->gd_rest == NULL && !p->closing && !send_full(n, p)) {
        ev *e = p->deferred;
        p->deferred = e->next;
        if (p->deferred == NULL)
            p->deferred_tail = NULL;
        handle_msg(n, p, e->data, e->len);
        done_bytes(n, e);
        free(e);
    }
}

/* Called with the mempool's lock held: touches only the node's own state. */
static int relay_pool_tx(void *ud, const arb_hash *txid, const arb_tx *tx, uint64_t fee)
{
    (void)tx;
    (void)fee;
    relay_tx(ud, txid);
    return 0;
}

static void ev_tip(arb_p2p *n, const arb_hash *tip)
{
    arb_chain_hdrinfo info;
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    int ok = arb_chainstate_header(cs, tip, &info) == ARB_OK;
    bc_trim(n, cs);
    arb_chainapi_unlock(n->chain);
    arb_zonesync_tip_changed(n->zs);
    if (!ok)
        return;
    /* After a reorganization the mempool took back the transactions of the
     * blocks that left the chain: they are announced again. */
    if (!arb_hash_eq(&info.hdr.prev, &n->last_tip))
        arb_mempool_foreach(arb_chainapi_mempool(n->chain), relay_pool_tx, n);
    n->last_tip = *tip;
    /* Announce by headers (Bitcoin's sendheaders): a peer that cannot place
     * the header asks with getheaders. */
    /* Peers known to be at its parent that asked for compact blocks
     * (sendcmpct announce=1) get it as one (BIP152's high-bandwidth mode: no
     * round trip when they have its transactions). */
    arb_block blk;
    arb_p2p_cmpct c;
    int have_cmpct = 0;
    arb_block_init(&blk);
    arb_p2p_cmpct_init(&c);
    for (peer *p = n->peers; p; p = p->next) {
        if (!p->handshaked || p->closing || (p->best_known && arb_hash_eq(&p->best_hash, tip)))
            continue;
        int at_parent = (p->best_known && arb_hash_eq(&p->best_hash, &info.hdr.prev)) ||
                        arb_hash_eq(&p->announced, &info.hdr.prev);
        p->announced = *tip;
        if (at_parent && p->cmpct_announce && !n->cfg.no_compact && have_cmpct >= 0) {
            if (have_cmpct == 0) {
                arb_chainstate *cs2 = arb_chainapi_lock(n->chain);
                arb_err err = arb_chainstate_get_block(cs2, tip, NULL, &blk, NULL, NULL);
                arb_chainapi_unlock(n->chain);
                have_cmpct = err == ARB_OK &&
                                     arb_p2p_cmpct_from_block(n->sha, &c, &blk, rand64()) == ARB_OK
                                 ? 1
                                 : -1;
            }
            if (have_cmpct == 1) {
                begin(n, ARB_P2P_CMPCTBLOCK);
                arb_p2p_cmpct_write(&n->out, &c);
                send_frame(n, p);
                continue;
            }
        }
        begin(n, ARB_P2P_HEADERS);
        arb_p2p_headers_write(&n->out, &info.hdr, 1);
        send_frame(n, p);
    }
    arb_block_clear(&blk);
    arb_p2p_cmpct_clear(&c);
    arb_http_metric_set(n->http, "p2p_best_header_height",
                        n->bc_n ? n->bc_base + n->bc_n : info.height);
}

/* ---------------------------------------------------------------- timers */

/* When no connected peer is on the best header chain (its peers left, or it
 * ties with a chain peers do have), it is re-aimed at the best chain a peer
 * offers, so the download never waits for a chain nobody can give. */
static void bc_reaim(arb_p2p *n)
{
    peer *best = NULL;
    for (peer *p = n->peers; p; p = p->next) {
        if (peer_bc_top(n, p) >= 0)
            return;
        if (p->best_known && !p->closing && p->handshaked &&
            (best == NULL || arb_u256_cmp(&p->best_work, &best->best_work) > 0))
            best = p;
    }
    if (best == NULL)
        return;
    arb_chainstate *cs = arb_chainapi_lock(n->chain);
    bc_update_ex(n, cs, &best->best_hash, best->best_height, &best->best_work, 1);
    arb_chainapi_unlock(n->chain);
}

static void tick(arb_p2p *n)
{
    int64_t now = now_ms();
    arb_chain_tip tip;
    size_t first = bc_first_missing(n);
    arb_chainstate_tip(arb_chainapi_lock(n->chain), &tip);
    arb_chainapi_unlock(n->chain);
    for (size_t i = 0; i < n->n_targets; i++) {
        target *t = &n->targets[i];
        if (t->conn != 0 || t->self || now < t->next_try_ms)
            continue;
        uint64_t id;
        if (arb_http_ws_connect(n->http, ARB_P2P_SUBPROTOCOL, t->addr, &id) == ARB_OK) {
            t->conn = id;
        } else {
            t->backoff_ms = t->backoff_ms ? (t->backoff_ms < 30000 ? 2 * t->backoff_ms : 60000) : 500;
            t->next_try_ms = now + t->backoff_ms;
        }
    }
    int recent = (int64_t)time(NULL) - best_header_time(n) < HEADERS_RECENT_S;
    for (peer *p = n->peers; p; p = p->next) {
        if (p->closing)
            continue;
        if (p->handshaked && !p->sync_started)
            maybe_start_sync(n, p, recent);
        /* The sync peer does not answer our getheaders (Bitcoin Core's
         * headers download timeout): another peer takes over. */
        if (p->conn == n->sync_peer && p->getheaders_ms != 0 &&
            now - p->getheaders_ms > (int64_t)n->cfg.headers_timeout_s * 1000) {
            n->sync_peer = 0;
            disconnect(n, p, "headers-stalled");
            continue;
        }
        if (!p->handshaked) {
            if (now - p->connected_ms > (int64_t)n->cfg.handshake_timeout_s * 1000)
                disconnect(n, p, "handshake-timeout");
            continue;
        }
        /* Our queue to it has not drained for the idle time: it does not
         * read (Bitcoin's send timeout). Its own messages wait meanwhile,
         * and reading it is paused once they fill its receive budget. */
        if (!send_full(n, p))
            p->send_full_ms = 0;
        else if (p->send_full_ms == 0)
            p->send_full_ms = now;
        if (p->send_full_ms != 0 && now - p->send_full_ms > (int64_t)n->cfg.idle_timeout_s * 1000) {
            disconnect(n, p, "send-timeout");
            continue;
        }
        /* Silence counts only while we listen: a peer whose messages wait
         * for its send queue to drain (reading it may be paused) is not
         * silent; the send timeout above covers it. */
        if (p->deferred == NULL && p->gd_rest == NULL &&
            now - p->last_recv_ms > (int64_t)n->cfg.idle_timeout_s * 1000) {
            disconnect(n, p, "timeout");
            continue;
        }
        if (p->ping_nonce != 0 && p->deferred == NULL && p->gd_rest == NULL &&
            now - p->ping_sent_ms > (int64_t)n->cfg.idle_timeout_s * 1000) {
            disconnect(n, p, "ping-timeout"); /* Bitcoin's TIMEOUT_INTERVAL for a pong */
            continue;
        }
        if (p->ping_nonce == 0 && now >= p->next_ping_ms) {
            p->ping_nonce = rand64() | 1;
            p->ping_sent_ms = now;
            p->next_ping_ms = now + (int64_t)n->cfg.ping_interval_s * 1000;
            send_nonce(n, p, ARB_P2P_PING, p->ping_nonce);
        }
        trickle(n, p, now);
        if (p->deferred != NULL || p->gd_rest != NULL)
            run_deferred(n, p); /* in case the queue drained without an event */
        if (p->closing)
            continue;
        /* A block requested this long ago with nobody else to ask. */
        for (size_t i = 0; i < p->n_inflight; i++)
            if (now - p->inflight_ms[i] > (int64_t)n->cfg.idle_timeout_s * 1000) {
                disconnect(n, p, "block-timeout");
                break;
            }
    }
    /* Stalling (Bitcoin's BLOCK_STALLING_TIMEOUT): the first block we lack
     * is in flight from a peer that does not deliver while another could. */
    if (first < n->bc_n && n->bc_state[first] == BC_INFLIGHT) {
        peer *staller = NULL;
        int64_t since = 0;
        int others = 0;
        for (peer *p = n->peers; p; p = p->next) {
            for (size_t i = 0; i < p->n_inflight; i++)
                if (arb_hash_eq(&p->inflight[i], &n->bc[first])) {
                    staller = p;
                    since = p->inflight_ms[i] > p->last_block_ms ? p->inflight_ms[i]
                                                                  : p->last_block_ms;
                }
            if (peer_bc_top(n, p) >= (long)first)
                others++;
        }
        if (staller != NULL && others > 1 && !staller->closing &&
            now - since > (int64_t)n->cfg.stall_timeout_ms * n->stall_mult &&
            backlog(n, staller->conn) == 0) {
            disconnect(n, staller, "stalled");
            if (n->stall_mult < STALL_MAX_MULT)
                n->stall_mult *= 2;
        }
    }
    {
        size_t q;
        pthread_mutex_lock(&n->mu);
        q = n->queued_total;
        pthread_mutex_unlock(&n->mu);
        arb_http_metric_set(n->http, "p2p_recv_queued_bytes", q);
    }
    for (size_t i = 0; i < n->n_txreqs;)
        if (now - n->txreqs[i].ms > TX_REQUEST_TIMEOUT_MS)
            n->txreqs[i] = n->txreqs[--n->n_txreqs];
        else
            i++;
    for (size_t i = 0; i < n->n_orphans;)
        if (now > n->orphans[i].expires_ms)
            orphan_drop(n, i);
        else
            i++;
    (void)tip;
}

/* ---------------------------------------------------------------- admin snapshot */

static void refresh_snapshot(arb_p2p *n)
{
    json_t *arr = json_array(), *bans = json_array();
    int64_t now = now_ms(), t = (int64_t)time(NULL);
    unsigned in = 0, out = 0;
    for (peer *p = n->peers; p && arr; p = p->next) {
        char work[65];
        arb_u256_hex(work, &p->ver.work);
        if (p->handshaked)
            p->outbound ? out++ : in++;
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:b, s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
                           "s:I, s:s?, s:b, s:s, s:b}",
                           "address", p->addr, "direction", p->outbound ? "outbound" : "inbound",
                           "handshaked", p->handshaked, "version", (json_int_t)p->ver.version,
                           "user_agent", p->ver.user_agent, "height",
                           (json_int_t)(p->best_known && p->best_height > p->ver.height
                                            ? p->best_height
                                            : p->ver.height),
                           "work", work, "ping_ms", (json_int_t)p->ping_rtt_ms, "bytes_in",
                           (json_int_t)p->bytes_in, "bytes_out", (json_int_t)p->bytes_out,
                           "connected_s", (json_int_t)((now - p->connected_ms) / 1000),
                           "inflight", (json_int_t)p->n_inflight, "misbehaviour",
                           (json_int_t)p->misbehaviour, "manual", (json_int_t)p->manual,
                           "last_misbehaviour", p->last_reason, "automatic", p->automatic,
                           "connection_type", kind_name(p), "compact", p->cmpct_announce));
    }
    for (size_t i = 0; i < n->n_bans && bans; i++)
        if (n->bans[i].until > t)
            json_array_append_new(bans, json_pack("{s:s, s:I, s:b}", "address", n->bans[i].ip,
                                                  "until", (json_int_t)n->bans[i].until,
                                                  "manual", n->bans[i].manual));
    json_t *o = json_pack("{s:o*}", "peers", arr);
    json_t *b = json_pack("{s:o*}", "bans", bans);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char *btext = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(o);
    json_decref(b);
    pthread_mutex_lock(&n->mu);
    if (text != NULL) {
        free(n->snapshot);
        n->snapshot = text;
    }
    if (btext != NULL) {
        free(n->bans_snapshot);
        n->bans_snapshot = btext;
    }
    pthread_mutex_unlock(&n->mu);
    arb_http_metric_set(n->http, "p2p_peers_inbound", in);
    arb_http_metric_set(n->http, "p2p_peers_outbound", out);
    n->last_snapshot_ms = now;
}

char *arb_p2p_snapshot_json(arb_p2p *n, int bans)
{
    char *text;
    pthread_mutex_lock(&n->mu);
    if (!bans)
        text = n->snapshot ? strdup(n->snapshot) : strdup("{\"peers\":[]}");
    else
        text = n->bans_snapshot ? strdup(n->bans_snapshot) : strdup("{\"bans\":[]}");
    pthread_mutex_unlock(&n->mu);
    return text;
}

static void on_get(void *ud, arb_http_req *req)
{
    arb_p2p *n = ud;
    const char *path = arb_http_req_path(req);
    char *text = NULL;
    if (strcmp(path, "/p2p/v1/peers") == 0)
        text = arb_p2p_snapshot_json(n, 0);
    else if (strcmp(path, "/p2p/v1/bans") == 0)
        text = arb_p2p_snapshot_json(n, 1);
    if (strcmp(path, "/p2p/v1/peers") != 0 && strcmp(path, "/p2p/v1/bans") != 0) {
        (void)arb_http_respond_error(req, 404, "p2p_bad_path", "unknown route");
        return;
    }
    if (text == NULL) {
        (void)arb_http_respond_error(req, 500, "p2p_nomem", "out of memory");
        return;
    }
    (void)arb_http_respond(req, 200, NULL, "Cache-Control: no-store\r\n", text, strlen(text));
    free(text);
}

/* 1 if the request carries "Authorization: Bearer T" with T the token of
 * the cookie file (the scheme's name in any case, compared in constant time
 * over the token's fixed length). */
static int admin_authorized(const arb_p2p *n, const arb_http_req *req)
{
    const char *a = arb_http_req_header(req, "Authorization");
    if (a == NULL || strncasecmp(a, "Bearer", 6) != 0 || (a[6] != ' ' && a[6] != '\t'))
        return 0;
    a += 7;
    while (*a == ' ' || *a == '\t')
        a++;
    return strlen(a) == 64 && CRYPTO_memcmp(a, n->token, 64) == 0;
}

/* POST /p2p/v1/{connect,disconnect,ban,unban} with the header
 * "Authorization: Bearer T" and a JSON body {"address": A[, "seconds": N]}:
 * T must be the token of the cookie file, else 401 (with
 * "WWW-Authenticate: Bearer") and nothing changes. A token in the body is
 * not looked at. The command is handed to the node's thread. */
static void on_post(void *ud, arb_http_req *req)
{
    arb_p2p *n = ud;
    const char *path = arb_http_req_path(req) + strlen("/p2p/v1/");
    size_t blen;
    const uint8_t *body = arb_http_req_body(req, &blen);
    json_error_t je;
    int cmd = !strcmp(path, "connect")      ? ADMIN_CONNECT
              : !strcmp(path, "disconnect") ? ADMIN_DISCONNECT
              : !strcmp(path, "ban")        ? ADMIN_BAN
              : !strcmp(path, "unban")      ? ADMIN_UNBAN
                                            : 0;
    if (cmd == 0) {
        (void)arb_http_respond_error(req, 404, "p2p_bad_path", "unknown route");
        return;
    }
    if (!admin_authorized(n, req)) {
        static const char msg[] = "{\"error\":\"unauthorized: send the header 'Authorization: "
                                  "Bearer TOKEN' with the token from the data directory's "
                                  ".cookie file\"}";
        arb_http_metric_add(n->http, "p2p_admin_unauthorized", 1);
        arb_http_metric_add(n->http, "http_errors_p2p_unauthorized", 1); /* as respond_error */
        (void)arb_http_respond(req, 401, NULL,
                               "WWW-Authenticate: Bearer realm=\"arbor\"\r\n"
                               "Cache-Control: no-store\r\n",
                               msg, sizeof msg - 1);
        return;
    }
    json_t *o = json_loadb((const char *)body, blen, 0, &je);
    const char *addr = json_string_value(json_object_get(o, "address"));
    json_t *secs = json_object_get(o, "seconds");
    if (addr == NULL || *addr == '\0' || strlen(addr) >= 64 ||
        (secs != NULL && (!json_is_integer(secs) || json_integer_value(secs) < 1 ||
                          json_integer_value(secs) > 31536000))) {
        json_decref(o);
        (void)arb_http_respond_error(req, 400, "p2p_bad_request",
                                     "bad-request: give \"address\" (and \"seconds\" 1..31536000)");
        return;
    }
    ev *e = ev_new(EV_ADMIN, 0, 0);
    if (e == NULL) {
        json_decref(o);
        (void)arb_http_respond_error(req, 500, "p2p_nomem", "out of memory");
        return;
    }
    e->admin = cmd;
    snprintf(e->addr, sizeof e->addr, "%s", addr);
    e->len = secs ? (size_t)json_integer_value(secs) : n->cfg.discourage_s;
    json_decref(o);
    push(n, e);
    (void)arb_http_respond(req, 200, NULL, "Cache-Control: no-store\r\n", "{\"ok\":true}", 11);
}

static void ev_admin(arb_p2p *n, const ev *e)
{
    char ip[64];
    ip_of(ip, sizeof ip, e->addr);
    switch (e->admin) {
    case ADMIN_CONNECT: {
        for (size_t i = 0; i < n->n_targets; i++)
            if (strcmp(n->targets[i].addr, e->addr) == 0)
                return;
        target *t = realloc(n->targets, (n->n_targets + 1) * sizeof *t);
        if (t == NULL)
            return;
        n->targets = t;
        memset(&t[n->n_targets], 0, sizeof *t);
        snprintf(t[n->n_targets].addr, sizeof t->addr, "%s", e->addr);
        n->n_targets++;
        break;
    }
    case ADMIN_DISCONNECT:
        /* The operator's own peers stop being redialled too. */
        for (size_t i = 0; i < n->n_targets;) {
            if (strcmp(n->targets[i].addr, e->addr) == 0) {
                for (peer *p = n->peers; p; p = p->next)
                    if (p->target == (int)i)
                        p->target = -1;
                    else if (p->target == (int)n->n_targets - 1)
                        p->target = (int)i;
                n->targets[i] = n->targets[--n->n_targets];
            } else {
                i++;
            }
        }
        for (peer *p = n->peers; p; p = p->next)
            if (strcmp(p->addr, e->addr) == 0)
                disconnect(n, p, "admin");
        break;
    case ADMIN_BAN:
        ban_add(n, ip, (unsigned)e->len, 1);
        bans_save(n);
        arb_logf(&n->log, ARB_LOG_INFO, "p2p: banned %s for %zu s (operator)", ip, e->len);
        for (peer *p = n->peers; p; p = p->next) {
            char pip[64];
            ip_of(pip, sizeof pip, p->addr);
            if (!p->outbound && strcmp(pip, ip) == 0)
                disconnect(n, p, "admin-ban");
        }
        break;
    case ADMIN_UNBAN:
        for (size_t i = 0; i < n->n_bans; i++)
            if (strcmp(n->bans[i].ip, ip) == 0) {
                n->bans[i] = n->bans[--n->n_bans];
                arb_logf(&n->log, ARB_LOG_INFO, "p2p: unbanned %s (operator)", ip);
                break;
            }
        bans_save(n);
        break;
    }
    refresh_snapshot(n);
}

/* Writes a fresh token to the cookie file, readable by its owner only (as
 * bitcoind's .cookie). */
static arb_err write_cookie(arb_p2p *n, arb_errbuf *eb)
{
    uint8_t raw[32];
    char line[66];
    int fd;
    if (RAND_bytes(raw, sizeof raw) != 1)
        return arb_errf(eb, ARB_ERR_CRYPTO, "no randomness for the admin token");
    arb_hex_encode(n->token, raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    (void)unlink(n->cookie_path);
    fd = open(n->cookie_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return arb_errf(eb, ARB_ERR_IO, "cannot write %s", n->cookie_path);
    snprintf(line, sizeof line, "%s\n", n->token);
    ssize_t w = write(fd, line, 65);
    if (fchmod(fd, 0600) != 0 || w != 65 || fsync(fd) != 0) {
        close(fd);
        return arb_errf(eb, ARB_ERR_IO, "cannot write %s", n->cookie_path);
    }
    close(fd);
    return ARB_OK;
}

/* ---------------------------------------------------------------- the node's thread */

static void *run(void *arg)
{
    arb_p2p *n = arg;
    int64_t next_tick = 0;
    for (;;) {
        ev *list;
        pthread_mutex_lock(&n->mu);
        while (!n->stop && n->head == NULL) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += TICK_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) != 0)
                break;
        }
        if (n->stop) {
            pthread_mutex_unlock(&n->mu);
            break;
        }
        list = n->head;
        n->head = n->tail = NULL;
        pthread_mutex_unlock(&n->mu);
        while (list != NULL) {
            ev *e = list;
            list = e->next;
            peer *p;
            switch (e->kind) {
            case EV_OPEN:
                ev_open(n, e);
                break;
            case EV_MSG:
                ev_msg(n, e);
                e = NULL; /* owned by ev_msg */
                break;
            case EV_WRITEABLE:
                if ((p = peer_find(n, e->conn)) != NULL) {
                    p->out_pending = 0;
                    p->send_full_ms = 0;
                    run_deferred(n, p);
                }
                break;
            case EV_CLOSE:
                ev_close(n, e->conn);
                break;
            case EV_TIP:
                ev_tip(n, &e->hash);
                break;
            case EV_TX:
                relay_tx(n, &e->hash);
                break;
            case EV_ADMIN:
                ev_admin(n, e);
                break;
            }
            free(e);
        }
        if (now_ms() >= next_tick) {
            bc_reaim(n);
            tick(n);
            arb_zonesync_tick(n->zs, now_ms());
            book_tick(n, now_ms());
            schedule(n);
            if (now_ms() - n->last_snapshot_ms >= 500)
                refresh_snapshot(n);
            next_tick = now_ms() + TICK_MS;
        }
    }
    return NULL;
}

/* The address book from DATADIR/peers.dat; a missing, unreadable or
 * corrupt file is reported and a fresh book with a new secret key used. */
static arb_err book_open(arb_p2p *n, arb_errbuf *eb)
{
    arb_errbuf leb;
    arb_err err = ARB_ERR_NOT_FOUND;
    const char *h = n->cfg.listen_host;
    if (n->cfg.datadir != NULL) {
        snprintf(n->book_path, sizeof n->book_path, "%s/peers.dat", n->cfg.datadir);
        err = arb_addrman_load(&n->book, n->book_path, &leb);
        if (err == ARB_OK)
            arb_logf(&n->log, ARB_LOG_INFO, "p2p: address book: %zu addresses (%zu tried)",
                     arb_addrman_size(n->book), arb_addrman_size_tried(n->book));
        else if (err != ARB_ERR_NOT_FOUND)
            arb_logf(&n->log, ARB_LOG_WARN, "p2p: address book ignored, starting afresh: %s",
                     leb.msg);
    }
    if (err != ARB_OK) {
        uint8_t key[32];
        if (RAND_bytes(key, sizeof key) != 1)
            return arb_errf(eb, ARB_ERR_CRYPTO, "no randomness for the address book key");
        n->book = arb_addrman_new(key);
        OPENSSL_cleanse(key, sizeof key);
        if (n->book == NULL)
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        if (err != ARB_ERR_NOT_FOUND)
            arb_http_metric_add(n->http, "p2p_addrman_file_ignored", 1);
    }
    n->book_saved_ms = now_ms();
    book_gauges(n);
    if (h != NULL && h[0] != '\0' && n->cfg.listen_port != 0) {
        char a[96];
        snprintf(a, sizeof a, strchr(h, ':') ? "[%s]:%u" : "%s:%u", h,
                 (unsigned)n->cfg.listen_port);
        n->have_self_addr =
            arb_netaddr_parse(&n->self_addr, a) && arb_netaddr_routable(&n->self_addr);
    }
    return ARB_OK;
}

/* ---------------------------------------------------------------- zone files (p2p/zonesync.h) */

static void zs_send(void *ud, uint64_t conn, const uint8_t *frame, size_t len)
{
    arb_p2p *n = ud;
    peer *p = peer_find(n, conn);
    if (p == NULL || p->closing)
        return;
    arb_err err = arb_http_ws_send(n->http, p->conn, frame, len, 1);
    if (err == ARB_OK) {
        p->bytes_out += len;
        p->out_pending += len;
        arb_http_metric_add(n->http, "p2p_bytes_sent", len);
    } else if (err == ARB_ERR_BUSY) {
        metric(n, "p2p_disconnect_", "send-queue-full");
        p->closing = 1;
        (void)arb_http_ws_close(n->http, p->conn);
    }
}

static void zs_misbehave(void *ud, uint64_t conn, const char *reason)
{
    arb_p2p *n = ud;
    peer *p = peer_find(n, conn);
    if (p != NULL)
        misbehave(n, p, reason, 1);
}

static void zs_metric(void *ud, const char *name, uint64_t v, int is_gauge)
{
    arb_p2p *n = ud;
    if (is_gauge)
        arb_http_metric_set(n->http, name, v);
    else
        arb_http_metric_add(n->http, name, v);
}

/* The operator's bans from DATADIR/banlist.dat (those still in force); a
 * corrupt file is reported and counted, and the node starts without it. */
static void bans_open(arb_p2p *n)
{
    arb_ban_entry *v;
    size_t k;
    arb_errbuf eb;
    int64_t t = (int64_t)time(NULL);
    if (n->cfg.datadir == NULL)
        return;
    snprintf(n->bans_path, sizeof n->bans_path, "%s/banlist.dat", n->cfg.datadir);
    arb_err err = arb_banlist_load(n->bans_path, &v, &k, &eb);
    if (err != ARB_OK) {
        if (err != ARB_ERR_NOT_FOUND) {
            arb_logf(&n->log, ARB_LOG_WARN, "p2p: ban list ignored: %s", eb.msg);
            arb_http_metric_add(n->http, "p2p_banlist_file_ignored", 1);
        }
        return;
    }
    for (size_t i = 0; i < k; i++) {
        char ip[64];
        if (v[i].until <= t)
            continue;
        arb_banlist_ip_format(v[i].ip16, ip, sizeof ip);
        ban_add(n, ip, 0, 1);
        for (size_t j = 0; j < n->n_bans; j++)
            if (strcmp(n->bans[j].ip, ip) == 0)
                n->bans[j].until = v[i].until;
    }
    free(v);
    if (n->n_bans)
        arb_logf(&n->log, ARB_LOG_INFO, "p2p: %zu bans from the ban list", n->n_bans);
}

arb_err arb_p2p_new(arb_p2p **out, arb_http_server *http, arb_chainapi *chain,
                    const arb_p2p_config *cfg, arb_errbuf *eb)
{
    arb_p2p *n;
    arb_err err;
    *out = NULL;
    n = calloc(1, sizeof *n);
    if (n == NULL)
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    n->http = http;
    n->chain = chain;
    n->p = arb_chainapi_params(chain);
    n->cfg = *cfg;
    n->log = cfg->log;
    if (!n->cfg.max_inbound)
        n->cfg.max_inbound = 125;
    if (!n->cfg.handshake_timeout_s)
        n->cfg.handshake_timeout_s = 60;
    if (!n->cfg.ping_interval_s)
        n->cfg.ping_interval_s = 120;
    if (!n->cfg.idle_timeout_s)
        n->cfg.idle_timeout_s = 1200;
    if (!n->cfg.stall_timeout_ms)
        n->cfg.stall_timeout_ms = 2000;
    if (!n->cfg.discourage_s)
        n->cfg.discourage_s = 86400;
    if (!n->cfg.tx_delay_ms)
        n->cfg.tx_delay_ms = 2000;
    if (!n->cfg.headers_timeout_s)
        n->cfg.headers_timeout_s = 900;
    if (n->cfg.max_outbound > MAX_OUTBOUND)
        n->cfg.max_outbound = MAX_OUTBOUND;
    if (n->cfg.block_relay_outbound > MAX_BLOCK_RELAY)
        n->cfg.block_relay_outbound = MAX_BLOCK_RELAY;
    n->next_feeler_ms = now_ms() + (int64_t)n->cfg.feeler_interval_s * 1000;
    n->cfg.connect = NULL;
    n->stall_mult = 1;
    n->nonce = rand64();
    {
        arb_chain_tip t;
        arb_chainstate_tip(arb_chainapi_lock(chain), &t);
        arb_chainapi_unlock(chain);
        n->last_tip = t.hash;
    }
    if ((err = book_open(n, eb)) != ARB_OK) {
        arb_p2p_free(n);
        return err;
    }
    bans_open(n);
    arb_chain_genesis_hash(n->p, &n->network);
    n->rejects = calloc(REJECTS, sizeof *n->rejects);
    n->targets = cfg->n_connect ? calloc(cfg->n_connect, sizeof *n->targets) : NULL;
    if ((err = arb_sha256_new(&n->sha)) != ARB_OK || n->rejects == NULL ||
        (cfg->n_connect && n->targets == NULL)) {
        arb_p2p_free(n);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    if (cfg->zonefiles != NULL) {
        arb_zonesync_io io = {zs_send, zs_misbehave, zs_metric, n};
        if (arb_zonesync_new(&n->zs, cfg->zonefiles, n->p->magic, &io) != ARB_OK) {
            arb_p2p_free(n);
            return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < cfg->n_connect; i++)
        snprintf(n->targets[i].addr, sizeof n->targets[i].addr, "%s", cfg->connect[i]);
    n->n_targets = cfg->n_connect;
    if (cfg->datadir != NULL) {
        snprintf(n->cookie_path, sizeof n->cookie_path, "%s/.cookie", cfg->datadir);
        if ((err = write_cookie(n, eb)) != ARB_OK) {
            arb_p2p_free(n);
            return err;
        }
    } else if (RAND_bytes((unsigned char *)n->token, 32) == 1) {
        /* no cookie file: a token nobody knows; admin calls are refused */
        arb_hex_encode(n->token, (const uint8_t *)n->token, 32);
    }
    arb_http_ws_proto proto = {ARB_P2P_SUBPROTOCOL,
                               ARB_P2P_FRAME_HEADER + ARB_P2P_MAX_MESSAGE,
                               SEND_BUDGET + ARB_P2P_FRAME_HEADER + ARB_P2P_MAX_MESSAGE,
                               on_open, on_message, on_writeable, on_close, n};
    if ((err = arb_http_ws_add(http, &proto)) != ARB_OK ||
        (err = arb_http_route_add(http, ARB_HTTP_GET, "/p2p/v1/", 0, on_get, n)) != ARB_OK ||
        (err = arb_http_route_add(http, ARB_HTTP_POST, "/p2p/v1/", 4096, on_post, n)) != ARB_OK) {
        arb_p2p_free(n);
        return arb_errf(eb, err, "cannot register the peer protocol");
    }
    refresh_snapshot(n); /* the bans from the file show from the start */
    arb_chainapi_hooks hooks = {hook_tip, hook_tx, n};
    arb_chainapi_set_hooks(chain, &hooks);
    if (pthread_create(&n->thr, NULL, run, n) != 0) {
        arb_chainapi_set_hooks(chain, NULL);
        arb_p2p_free(n);
        return arb_errf(eb, ARB_ERR_NOMEM, "cannot start the peer thread");
    }
    n->running = 1;
    *out = n;
    return ARB_OK;
}

void arb_p2p_stop(arb_p2p *n)
{
    if (n == NULL || !n->running)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = 1;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thr, NULL);
    n->running = 0;
    book_save(n);
    arb_chainapi_set_hooks(n->chain, NULL);
}

void arb_p2p_free(arb_p2p *n)
{
    if (n == NULL)
        return;
    arb_p2p_stop(n);
    while (n->head) {
        ev *e = n->head;
        n->head = e->next;
        free(e);
    }
    while (n->peers) {
        peer *p = n->peers;
        n->peers = p->next;
        peer_free(p);
    }
    for (size_t i = 0; i < n->n_orphans; i++)
        free(n->orphans[i].raw);
    arb_zonesync_free(n->zs);
    arb_sha256_free(n->sha);
    arb_addrman_free(n->book);
    arb_buf_free(&n->out);
    free(n->accts);
    free(n->snapshot);
    free(n->bans_snapshot);
    free(n->targets);
    free(n->bans);
    free(n->bc);
    free(n->bc_state);
    free(n->rejects);
    free(n->txreqs);
    if (n->cookie_path[0] != '\0')
        (void)unlink(n->cookie_path);
    OPENSSL_cleanse(n->token, sizeof n->token);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}
