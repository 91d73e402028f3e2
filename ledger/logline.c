/* arbord's log line formats (see logline.h). */
#include "ledger/logline.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/config.h"

typedef struct {
    char *p;
    size_t n, cap; /* cap excludes room kept for the line's end */
    int full;
} out;

static void put(out *o, const char *s, size_t len)
{
    if (o->full)
        return;
    if (len > o->cap - o->n) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->n, s, len);
    o->n += len;
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Writes v escaped: \" (unless bare_quotes: a text-format message, which
 * no quotes delimit) \\ \n \r \t, other bytes outside 0x20..0x7e as \u00XX
 * (json) or \xXX. A JSON escape never splits across the cut. */
static void put_escaped(out *o, const char *v, int json, int bare_quotes)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char e[8];
        if (*p == '"' && bare_quotes)
            put(o, "\"", 1);
        else if (*p == '"')
            put(o, "\\\"", 2);
        else if (*p == '\\')
            put(o, "\\\\", 2);
        else if (*p == '\n')
            put(o, "\\n", 2);
        else if (*p == '\r')
            put(o, "\\r", 2);
        else if (*p == '\t')
            put(o, "\\t", 2);
        else if (*p < 0x20 || *p > 0x7e) {
            snprintf(e, sizeof e, json ? "\\u%04x" : "\\x%02x", *p);
            put(o, e, strlen(e));
        } else
            put(o, (const char *)p, 1);
    }
}

/* logfmt / text values: bare when they are non-empty printable words. */
static void put_value(out *o, const char *v)
{
    int bare = *v != '\0';
    for (const unsigned char *p = (const unsigned char *)v; *p && bare; p++)
        bare = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '=' && *p != '\\';
    if (bare) {
        puts_(o, v);
        return;
    }
    put(o, "\"", 1);
    put_escaped(o, v, 0, 0);
    put(o, "\"", 1);
}

size_t arb_logline_format(char *buf, size_t cap, int format, time_t when, int level,
                          const char *msg, const arb_logline_field *fields, size_t nfields)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    const char *lv = names[level >= 0 && level <= 3 ? level : 3];
    char ts[32];
    struct tm tm;
    out o;
    static const char json_cut[] = "\",\"truncated\":true}\n";

    if (cap < ARB_LOGLINE_MIN_CAP) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    o.p = buf;
    o.n = 0;
    o.cap = cap - sizeof json_cut; /* room to close the line after a cut */
    o.full = 0;
    gmtime_r(&when, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (msg == NULL)
        msg = "";
    if (format == ARB_CONFIG_LOG_JSON) {
        puts_(&o, "{\"ts\":\"");
        puts_(&o, ts);
        puts_(&o, "\",\"level\":\"");
        puts_(&o, lv);
        puts_(&o, "\",\"msg\":\"");
        put_escaped(&o, msg, 1, 0);
        for (size_t i = 0; i < nfields; i++) {
            /* Key and punctuation in one piece: a cut always falls inside a
             * string value, which json_cut closes. Keys are [a-z_]+. */
            char k[80];
            snprintf(k, sizeof k, "\",\"%.64s\":\"", fields[i].key);
            puts_(&o, k);
            put_escaped(&o, fields[i].value ? fields[i].value : "", 1, 0);
        }
        if (o.full) {
            /* Escapes are written whole, so the cut is outside any escape. */
            memcpy(buf + o.n, json_cut, sizeof json_cut);
            return o.n + sizeof json_cut - 1;
        }
        memcpy(buf + o.n, "\"}\n", 3); /* fits: room was kept for json_cut */
        o.n += 3;
    } else {
        if (format == ARB_CONFIG_LOG_LOGFMT) {
            puts_(&o, "ts=");
            puts_(&o, ts);
            puts_(&o, " level=");
            puts_(&o, lv);
            puts_(&o, " msg=");
            put(&o, "\"", 1);
            put_escaped(&o, msg, 0, 0);
            put(&o, "\"", 1);
        } else {
            puts_(&o, ts);
            puts_(&o, " arbord ");
            puts_(&o, lv);
            puts_(&o, ": ");
            put_escaped(&o, msg, 0, 1);
        }
        for (size_t i = 0; i < nfields; i++) {
            put(&o, " ", 1);
            puts_(&o, fields[i].key);
            put(&o, "=", 1);
            put_value(&o, fields[i].value ? fields[i].value : "");
        }
        if (o.full) {
            memcpy(buf + o.n, " ...\n", 6);
            return o.n + 5;
        }
        buf[o.n++] = '\n'; /* fits: room was kept */
    }
    buf[o.n] = '\0';
    return o.n;
}

/* ---------------------------------------------------------------- the writer thread */

#define ASYNC_CHUNK 4096 /* PIPE_BUF on Linux: each write is atomic on a pipe */
#define ASYNC_POLL_MS 100

struct arb_logline_async {
    int fd;
    char *ring;
    size_t cap, head, used; /* the queued bytes are ring[head..head+used) mod cap */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    unsigned wait_ms;
    unsigned long long dropped;
    pthread_t thread;
    char chunk[ASYNC_CHUNK];
};

static unsigned long long count_lines(const char *p, size_t n)
{
    unsigned long long k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k ? k : 1;
}

/* Takes up to ASYNC_CHUNK queued bytes, ending at a line's end, into
 * a->chunk. Under a->mu. Returns the length. */
static size_t take_chunk(arb_logline_async *a)
{
    size_t n = a->used < ASYNC_CHUNK ? a->used : ASYNC_CHUNK, first = a->cap - a->head;
    if (first > n)
        first = n;
    memcpy(a->chunk, a->ring + a->head, first);
    memcpy(a->chunk + first, a->ring, n - first);
    if (n < a->used) { /* cut after the last whole line */
        size_t k = n;
        while (k > 0 && a->chunk[k - 1] != '\n')
            k--;
        if (k > 0)
            n = k;
    }
    a->head = (a->head + n) % a->cap;
    a->used -= n;
    return n;
}

static void *async_main(void *ud)
{
    arb_logline_async *a = ud;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        size_t n, off = 0;
        unsigned idle = 0;
        while (a->used == 0 && !a->stop)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->used == 0)
            break;
        n = take_chunk(a);
        pthread_mutex_unlock(&a->mu);
        /* Waits for room with poll, so a stop is noticed even when nobody
         * reads the descriptor. */
        while (off < n) {
            struct pollfd pfd = {a->fd, POLLOUT, 0};
            int r = poll(&pfd, 1, ASYNC_POLL_MS), stopping;
            ssize_t w;
            if (r > 0 && (pfd.revents & POLLOUT)) {
                w = write(a->fd, a->chunk + off, n - off);
                if (w > 0) {
                    off += (size_t)w;
                    idle = 0;
                    continue;
                }
                if (w < 0 && errno != EINTR && errno != EAGAIN)
                    break; /* a closed or broken descriptor: drop the chunk */
            } else if (r > 0) {
                break; /* POLLERR / POLLHUP */
            } else {
                idle += ASYNC_POLL_MS;
            }
            pthread_mutex_lock(&a->mu);
            stopping = a->stop && idle >= a->wait_ms;
            pthread_mutex_unlock(&a->mu);
            if (stopping)
                break;
        }
        pthread_mutex_lock(&a->mu);
        if (off < n)
            a->dropped += count_lines(a->chunk + off, n - off);
        if (off < n && a->stop) { /* giving up: drop the rest */
            while (a->used > 0) {
                size_t k = take_chunk(a);
                a->dropped += count_lines(a->chunk, k);
            }
        }
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int arb_logline_async_new(arb_logline_async **res, int fd, size_t cap)
{
    arb_logline_async *a;
    *res = NULL;
    if (cap < ASYNC_CHUNK || (a = calloc(1, sizeof *a)) == NULL)
        return 0;
    if ((a->ring = malloc(cap)) == NULL) {
        free(a);
        return 0;
    }
    a->fd = fd;
    a->cap = cap;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    if (pthread_create(&a->thread, NULL, async_main, a) != 0) {
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
        free(a->ring);
        free(a);
        return 0;
    }
    *res = a;
    return 1;
}

int arb_logline_async_push(arb_logline_async *a, const char *line, size_t len)
{
    size_t tail, first;
    pthread_mutex_lock(&a->mu);
    if (len == 0 || len > ASYNC_CHUNK || len > a->cap - a->used) {
        a->dropped++;
        pthread_mutex_unlock(&a->mu);
        return 0;
    }
    tail = (a->head + a->used) % a->cap;
    first = a->cap - tail < len ? a->cap - tail : len;
    memcpy(a->ring + tail, line, first);
    memcpy(a->ring, line + first, len - first);
    a->used += len;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 1;
}

unsigned long long arb_logline_async_dropped(arb_logline_async *a)
{
    unsigned long long d;
    pthread_mutex_lock(&a->mu);
    d = a->dropped;
    pthread_mutex_unlock(&a->mu);
    return d;
}

void arb_logline_async_free(arb_logline_async *a, unsigned wait_ms)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    a->wait_ms = wait_ms;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a->ring);
    free(a);
}
