/* See rawclient.h. */
#include "tests/integration/hardening/rawclient.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long long raw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int raw_dial(int host, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (host > 1) {
        struct sockaddr_in la;
        memset(&la, 0, sizeof la);
        la.sin_family = AF_INET;
        la.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)(host & 0xffffff));
        if (bind(fd, (struct sockaddr *)&la, sizeof la) != 0) {
            close(fd);
            return -1;
        }
    }
    {
        int one = 1; /* a request's header and body go out in separate writes */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int raw_send(int fd, const void *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = send(fd, (const char *)p + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return 0;
        off += (size_t)w;
    }
    return 1;
}

int raw_send_str(int fd, const char *s)
{
    return raw_send(fd, s, strlen(s));
}

/* The Content-Length of the header block [a, e), case-insensitively. */
static size_t content_length(const char *a, const char *e)
{
    for (const char *q = a; q + 16 <= e; q++)
        if ((q == a || q[-1] == '\n') && strncasecmp(q, "content-length:", 15) == 0)
            return strtoul(q + 15, NULL, 10);
    return 0;
}

int raw_answers(const char *buf, size_t len, int *st, const char **at, int max)
{
    size_t off = 0;
    int k = 0;
    while (k < max && off < len) {
        const char *a = buf + off, *e = strstr(a, "\r\n\r\n");
        size_t blen;
        if (strncmp(a, "HTTP/1.", 7) != 0 || e == NULL)
            break;
        blen = content_length(a, e);
        if ((size_t)(e + 4 - buf) + blen > len)
            break;
        st[k] = atoi(a + 9);
        if (at)
            at[k] = a;
        k++;
        off = (size_t)(e + 4 - buf) + blen;
    }
    return k;
}

char *raw_read(int fd, int want, int ms, size_t *len, int *closed)
{
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap + 1);
    int dummy, st[64];
    if (closed == NULL)
        closed = &dummy;
    *closed = 0;
    if (out == NULL)
        return NULL;
    out[0] = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t r;
        if (want > 0 && raw_answers(out, n, st, NULL, 64) >= want)
            break;
        if (poll(&p, 1, ms) <= 0)
            break;
        if (n == cap) {
            char *nb = realloc(out, 2 * cap + 1);
            if (nb == NULL)
                break;
            out = nb;
            cap *= 2;
        }
        r = recv(fd, out + n, cap - n, 0);
        if (r <= 0) {
            *closed = 1;
            break;
        }
        n += (size_t)r;
        out[n] = 0;
    }
    if (len)
        *len = n;
    return out;
}

int raw_request(int host, int port, const char *method, const char *path, const void *body,
                size_t blen, int ms, char **body_out)
{
    char hdr[1024];
    int fd = raw_dial(host, port), st = -1;
    size_t n = 0;
    char *out;
    const char *at;

    if (body_out)
        *body_out = NULL;
    if (fd < 0)
        return -1;
    snprintf(hdr, sizeof hdr,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n",
             method, path, blen, blen ? "Content-Type: application/json\r\n" : "");
    if (!raw_send_str(fd, hdr) || (blen && !raw_send(fd, body, blen))) {
        close(fd);
        return -1;
    }
    out = raw_read(fd, 1, ms, &n, NULL);
    close(fd);
    if (out == NULL)
        return -1;
    if (raw_answers(out, n, &st, &at, 1) != 1)
        st = -1;
    else if (body_out) {
        const char *b = strstr(at, "\r\n\r\n") + 4;
        size_t bl = n - (size_t)(b - out);
        if ((*body_out = malloc(bl + 1)) != NULL) {
            memcpy(*body_out, b, bl);
            (*body_out)[bl] = 0;
        }
    }
    free(out);
    return st;
}

long raw_rss_kb(pid_t pid, int peak)
{
    char path[64], line[256];
    const char *key = peak ? "VmHWM:" : "VmRSS:";
    long v = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, strlen(key)) == 0) {
            v = strtol(line + strlen(key), NULL, 10);
            break;
        }
    fclose(f);
    return v;
}
