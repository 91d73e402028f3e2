#include "tests/integration/p2p/wspeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "p2p/msg.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(const wspeer *w, int fd, const uint8_t *d, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, d, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        /* The send timeout passed without progress: the caller may choose
         * to wait on (the frame stays whole: we resume where we stopped). */
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && w != NULL &&
            w->on_stall != NULL && w->on_stall(w->stall_ud))
            continue;
        if (k <= 0)
            return -1;
        d += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads more into w->buf, waiting up to ms. 1 read, 0 timeout, -1 closed. */
static int fill(wspeer *w, int ms)
{
    struct pollfd pf = {w->fd, POLLIN, 0};
    int r = poll(&pf, 1, ms < 0 ? 0 : ms);
    if (r == 0)
        return 0;
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    if (w->cap - w->len < 65536) {
        size_t c = w->cap ? 2 * w->cap : 131072;
        uint8_t *b = realloc(w->buf, c);
        if (b == NULL)
            return -1;
        w->buf = b;
        w->cap = c;
    }
    ssize_t k = recv(w->fd, w->buf + w->len, w->cap - w->len, 0);
    if (k <= 0)
        return -1;
    w->len += (size_t)k;
    w->bytes_in += (uint64_t)k;
    return 1;
}

int wsp_connect(wspeer *w, const arb_chain_params *p, const char *src_ip, int port)
{
    return wsp_connect_buf(w, p, src_ip, port, 0);
}

void wsp_set_send_timeout(wspeer *w, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(w->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void wsp_set_on_stall(wspeer *w, int (*on_stall)(void *ud), void *ud)
{
    w->on_stall = on_stall;
    w->stall_ud = ud;
}

int wsp_connect_buf(wspeer *w, const arb_chain_params *p, const char *src_ip, int port,
                    int bufsize)
{
    struct sockaddr_in src, dst;
    uint8_t key[16];
    char key64[32], req[512];
    int one = 1;
    memset(w, 0, sizeof *w);
    w->p = p;
    w->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (w->fd < 0)
        return -1;
    setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bufsize > 0) {
        setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
        setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    }
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    inet_pton(AF_INET, src_ip, &src.sin_addr);
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    if (bind(w->fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        connect(w->fd, (struct sockaddr *)&dst, sizeof dst) != 0)
        goto fail;
    RAND_bytes(key, sizeof key);
    EVP_EncodeBlock((unsigned char *)key64, key, sizeof key);
    snprintf(req, sizeof req,
             "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Protocol: arbor-p2p.1\r\n\r\n",
             port, key64);
    if (write_all(NULL, w->fd, (const uint8_t *)req, strlen(req)) != 0)
        goto fail;
    int64_t end = mono_ms() + 10000;
    for (;;) {
        size_t hl = 0;
        for (size_t i = 0; i + 4 <= w->len && hl == 0; i++)
            if (memcmp(w->buf + i, "\r\n\r\n", 4) == 0)
                hl = i + 4;
        if (hl != 0) {
            if (hl < 12 || memcmp(w->buf, "HTTP/1.1 101", 12) != 0)
                goto fail;
            memmove(w->buf, w->buf + hl, w->len - hl);
            w->len -= hl;
            return 0;
        }
        if (mono_ms() > end || fill(w, 200) < 0)
            goto fail;
    }
fail:
    close(w->fd);
    w->fd = -1;
    return -1;
}

void wsp_close(wspeer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

static int send_ws(wspeer *w, uint8_t opcode, const void *data, size_t n)
{
    uint8_t hdr[14], mask[4];
    size_t hl = 2;
    uint8_t *f;
    int r;
    hdr[0] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        hdr[1] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        hdr[1] = 0x80 | 126;
        hdr[2] = (uint8_t)(n >> 8);
        hdr[3] = (uint8_t)n;
        hl = 4;
    } else {
        hdr[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            hdr[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    RAND_bytes(mask, 4);
    memcpy(hdr + hl, mask, 4);
    hl += 4;
    f = malloc(hl + n);
    if (f == NULL)
        return -1;
    memcpy(f, hdr, hl);
    for (size_t i = 0; i < n; i++)
        f[hl + i] = ((const uint8_t *)data)[i] ^ mask[i & 3];
    r = write_all(w, w->fd, f, hl + n);
    free(f);
    return r;
}

int wsp_send_frame(wspeer *w, const void *data, size_t n)
{
    return w->fd < 0 ? -1 : send_ws(w, 2, data, n);
}

int wsp_send_msg(wspeer *w, uint8_t type, const void *payload, size_t n)
{
    arb_buf b = ARB_BUF_INIT;
    int r = -1;
    arb_p2p_frame_begin(&b, w->p->magic, type);
    arb_buf_put(&b, payload, n);
    if (arb_p2p_frame_end(&b) == ARB_OK)
        r = wsp_send_frame(w, b.data, b.len);
    arb_buf_free(&b);
    return r;
}

/* Parses one frame from w->buf: 1 (fills opcode, fin, payload copy), 0 (need
 * more), -1 (bad). */
static int parse_frame(wspeer *w, uint8_t *op, int *fin, uint8_t **pl, size_t *pn)
{
    size_t hl = 2;
    uint64_t n;
    if (w->len < 2)
        return 0;
    *fin = w->buf[0] >> 7;
    *op = w->buf[0] & 15;
    n = w->buf[1] & 127;
    if (n == 126) {
        if (w->len < 4)
            return 0;
        n = (uint64_t)w->buf[2] << 8 | w->buf[3];
        hl = 4;
    } else if (n == 127) {
        if (w->len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | w->buf[2 + i];
        hl = 10;
    }
    if (w->buf[1] & 0x80)
        return -1; /* servers do not mask */
    if (n > 64u << 20)
        return -1;
    if (w->len < hl + n)
        return 0;
    *pl = malloc(n ? n : 1);
    if (*pl == NULL)
        return -1;
    memcpy(*pl, w->buf + hl, n);
    *pn = n;
    memmove(w->buf, w->buf + hl + n, w->len - hl - n);
    w->len -= hl + n;
    return 1;
}

int wsp_recv(wspeer *w, uint8_t **msg, size_t *len, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    uint8_t *acc = NULL;
    size_t alen = 0;
    *msg = NULL;
    *len = 0;
    if (w->fd < 0)
        return -1;
    for (;;) {
        uint8_t op, *pl;
        int fin;
        size_t pn;
        int r = parse_frame(w, &op, &fin, &pl, &pn);
        if (r < 0)
            goto closed;
        if (r == 1) {
            if (op == 8) { /* close */
                free(pl);
                goto closed;
            }
            if (op == 9) { /* ping */
                (void)send_ws(w, 10, pl, pn);
                free(pl);
                continue;
            }
            if (op == 10) {
                free(pl);
                continue;
            }
            uint8_t *na = realloc(acc, alen + pn + 1);
            if (na == NULL) {
                free(pl);
                goto closed;
            }
            acc = na;
            memcpy(acc + alen, pl, pn);
            alen += pn;
            free(pl);
            if (fin) {
                *msg = acc;
                *len = alen;
                return 1;
            }
            continue;
        }
        int64_t left = end - mono_ms();
        if (left <= 0) {
            /* a partial fragmented message is lost on timeout; tests do not mind */
            free(acc);
            return 0;
        }
        int f = fill(w, (int)(left > 200 ? 200 : left));
        if (f < 0)
            goto closed;
    }
closed:
    free(acc);
    close(w->fd);
    w->fd = -1;
    return -1;
}

int wsp_expect(wspeer *w, uint8_t type, uint8_t **payload, size_t *plen, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    if (payload)
        *payload = NULL;
    for (;;) {
        uint8_t *m;
        size_t n;
        int64_t left = end - mono_ms();
        int r = wsp_recv(w, &m, &n, left > 0 ? (int)left : 0);
        if (r <= 0)
            return r;
        uint8_t t;
        const uint8_t *pl;
        size_t pn;
        const char *reason;
        if (arb_p2p_frame_decode(m, n, w->p->magic, &t, &pl, &pn, &reason) == ARB_OK) {
            if (t == ARB_P2P_PING) /* stay alive */
                (void)wsp_send_msg(w, ARB_P2P_PONG, pl, pn);
            if (t == type) {
                if (payload) {
                    *payload = malloc(pn ? pn : 1);
                    memcpy(*payload, pl, pn);
                    *plen = pn;
                }
                free(m);
                return 1;
            }
        }
        free(m);
    }
}

int wsp_wait_closed(wspeer *w, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    while (mono_ms() < end) {
        uint8_t *m;
        size_t n;
        int r = wsp_recv(w, &m, &n, 200);
        free(m);
        if (r < 0)
            return 1;
    }
    return 0;
}

int wsp_handshake(wspeer *w, uint64_t nonce)
{
    return wsp_handshake_services(w, nonce, 0);
}

int wsp_handshake_services(wspeer *w, uint64_t nonce, uint64_t services)
{
    arb_p2p_version v;
    arb_buf b = ARB_BUF_INIT;
    int r;
    memset(&v, 0, sizeof v);
    v.version = ARB_P2P_PROTOCOL_VERSION;
    v.services = services;
    v.timestamp = (int64_t)time(NULL);
    v.nonce = nonce;
    arb_chain_genesis_hash(w->p, &v.network);
    snprintf(v.user_agent, sizeof v.user_agent, "test-peer");
    arb_p2p_version_write(&b, &v);
    r = wsp_send_msg(w, ARB_P2P_VERSION, b.data, b.len);
    arb_buf_free(&b);
    if (r != 0 || wsp_expect(w, ARB_P2P_VERSION, NULL, NULL, 10000) != 1 ||
        wsp_expect(w, ARB_P2P_VERACK, NULL, NULL, 10000) != 1 ||
        wsp_send_msg(w, ARB_P2P_VERACK, NULL, 0) != 0)
        return -1;
    return 0;
}
