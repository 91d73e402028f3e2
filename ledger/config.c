/* arbord's flags and config file. See config.h. */
#include "ledger/config.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "ledger/log/loglist.h"
#include "merkle/file.h"

static const char usage_text[] =
    "usage: arbord [options]\n"
    "\n"
    "Runs the arbor server (transparency log, ledger node, HTTP API) in the foreground.\n"
    "\n"
    "options:\n"
    "  --datadir DIR          data directory (default: " ARB_CONFIG_DEFAULT_DATADIR ")\n"
    "  --listen HOST:PORT     HTTP address, numeric host (default: " ARB_CONFIG_DEFAULT_LISTEN
    "; port 0: any free port)\n"
    "  --network NAME         main, test or regtest (default: main)\n"
    "  --log-key FILE         ECDSA P-256 log key, PEM (SEC1 or PKCS#8)\n"
    "                         (default: DIR/log-key.pem, generated when absent)\n"
    "  --log-roots FILE       PEM bundle of accepted root certificates\n"
    "  --log-origin NAME      checkpoint origin line (default: arbor.localhost/log)\n"
    "  --log-not-after-start T  accept only leaves with notAfter >= T (RFC 3339 or Unix s)\n"
    "  --log-not-after-end T  accept only leaves with notAfter < T (RFC 3339 or Unix s)\n"
    "  --log-pool-ms N        sequencer pool window, ms (0..29999, below the 30 s answer timeout;\n"
    "                         default 0: group commit)\n"
    "  --log-max-chain N      most certificates per submission (1..64; default 10)\n"
    "  --log-max-cert N       largest certificate, DER bytes (256..16 MiB; default 64 KiB)\n"
    "  --log-max-body N       largest add-chain body, bytes (1024..64 MiB; default 1 MiB)\n"
    "  --log-max-entries N    most entries per get-entries answer (1..10000; default 256)\n"
    "  --log-reject-expired   refuse leaves whose notAfter has passed\n"
    "  --log-reject-unexpired refuse leaves whose notAfter has not passed\n"
    "  --log-ext-key-usages L the chain must allow one of these EKUs (names or OIDs, comma list)\n"
    "  --log-reject-extensions L  refuse leaves with any of these extension OIDs\n"
    "  --log-rate-limit R     submissions per second per client address (default 0: no limit)\n"
    "  --log-rate-burst N     rate limit bucket size (default: R rounded up)\n"
    "  --log-url URL          public base URL; serves the log's v3 log list\n"
    "  --log-monitoring-url URL  public static-ct-api URL, listed under tiled_logs\n"
    "  --log-description S, --log-operator S, --log-operator-email S, --log-mmd SECONDS\n"
    "                         log list fields (MMD default 86400)\n"
    "  --log-export DIR       write the static-ct-api tree (tiles, issuers, checkpoint) into DIR\n"
    "  --store-cache-mb N     store block cache, MiB (8..1048576; default: a quarter of RAM)\n"
    "  --chain-cache-mb N     chain state's coins cache, MiB (1..1048576; default 128)\n"
    "  --connect HOST:PORT    a peer to connect to (repeatable)\n"
    "  --p2p-max-inbound N    most inbound peers (0..10000; default 125)\n"
    "  --p2p-handshake-timeout S  seconds to finish version/verack (1..3600; default 60)\n"
    "  --p2p-ping-interval S  seconds between pings (1..3600; default 120)\n"
    "  --p2p-timeout S        drop a peer silent this long (2..86400; default 1200)\n"
    "  --p2p-stall-timeout-ms N  first block stall allowance, ms (100..600000; default 2000)\n"
    "  --p2p-discourage-time S  seconds a misbehaving address is refused (1..31536000;\n"
    "                         default 86400)\n"
    "  --p2p-tx-delay-ms N    mean transaction announcement delay, ms (1..60000; default 2000)\n"
    "  --p2p-no-compact N     1: no compact block relay (0..1; default 0)\n"
    "  --p2p-no-outbound N    1: no automatic outbound peers from the address book\n"
    "                         (only --connect; 0..1; default 0)\n"
    "  --anchor-every-blocks N   anchor the log's head on the chain every N blocks\n"
    "                         (1..1000000; default 0: off)\n"
    "  --anchor-every-entries M  anchor when the log grew by M entries (1..2^40; default 0)\n"
    "  --anchor-key FILE      the key that pays the anchors' fees (default: DIR/anchor-key,\n"
    "                         created 0600; its address is logged so it can be funded)\n"
    "  --anchor-fee N         fee per anchor transaction, base units (1..10^8; default 10000)\n"
    "  --p2p-max-outbound N   automatic full-relay outbound peers (0..8; default 8)\n"
    "  --p2p-block-relay-outbound N  automatic block-relay-only outbound peers (0..2;\n"
    "                         default 2)\n"
    "  --p2p-feeler-interval S  a feeler connection every S seconds (0: none; 0..86400;\n"
    "                         default 120)\n"
    "  --p2p-headers-timeout S  the headers sync peer must answer within S seconds\n"
    "                         (1..86400; default 900)\n"
    "  --config FILE          read `key = value` settings (keys are these option names)\n"
    "  --http-workers N       HTTP handler threads (default: 2 x cores, at least 4)\n"
    "  --http-limit NAME=V    an HTTP limit, e.g. max-conns=1024, header-timeout=10,\n"
    "                         chain-queue=64 (repeatable; see docs/arbord.md)\n"
    "  --json                 machine-readable lines on stdout (e.g. the listening port)\n"
    "  --log-level LEVEL      error, warn, info or debug (default: info)\n"
    "  --log-format FORMAT    text, logfmt or json lines on stderr (default: text)\n"
    "  --access-log           log a line per answered HTTP request\n"
    "  --help                 show this help and exit\n"
    "  --version              show the version and exit\n"
    "\n"
    "Exit status: 0 ok, 1 failure, 2 usage error. Logs go to stderr.\n";

const char *arb_config_usage(void)
{
    return usage_text;
}

void arb_config_free(arb_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->datadir);
    free(cfg->listen);
    free(cfg->network);
    free(cfg->log_key);
    free(cfg->log_roots);
    free(cfg->log_origin);
    free(cfg->log_url);
    free(cfg->log_monitoring_url);
    free(cfg->log_description);
    free(cfg->log_operator);
    free(cfg->log_operator_email);
    free(cfg->log_export);
    free(cfg->config_file);
    free(cfg->anchor_key);
    for (size_t i = 0; i < cfg->n_connect; i++)
        free(cfg->connect[i]);
    for (size_t i = 0; i < cfg->n_http_limits; i++)
        free(cfg->http_limits[i]);
    memset(cfg, 0, sizeof *cfg);
}

arb_err arb_config_split_hostport(const char *s, char *host, size_t host_cap, int *port)
{
    const char *colon, *h = s, *hend;
    char *end;
    long p;
    unsigned char tmp[16];

    if (s == NULL || host_cap == 0)
        return ARB_ERR_INVALID_ARG;
    host[0] = '\0';
    *port = 0;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return ARB_ERR_INVALID_ARG;
        h = s + 1;
        hend = rb;
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return ARB_ERR_INVALID_ARG;
        hend = colon;
    }
    if (hend == h || (size_t)(hend - h) >= host_cap || colon[1] == '\0')
        return ARB_ERR_INVALID_ARG;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || *end != '\0' || p < 0 || p > 65535 || colon[1] == '-' || colon[1] == '+' ||
        colon[1] == ' ')
        return ARB_ERR_INVALID_ARG;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    if (inet_pton(*s == '[' ? AF_INET6 : AF_INET, host, tmp) != 1) {
        host[0] = '\0';
        return ARB_ERR_INVALID_ARG;
    }
    *port = (int)p;
    return ARB_OK;
}

/* Replaces *slot with a copy of v. */
static arb_err set_str(char **slot, const char *v)
{
    size_t n = strlen(v) + 1;
    char *d = malloc(n);
    if (d == NULL)
        return ARB_ERR_NOMEM;
    memcpy(d, v, n);
    free(*slot);
    *slot = d;
    return ARB_OK;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
        *out = 0;
    else
        return 0;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int two_digits(const char *p, int *out)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return 0;
    *out = (p[0] - '0') * 10 + (p[1] - '0');
    return 1;
}

/* Unix seconds ("1767225600", may be negative) or an RFC 3339 date-time
 * ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00.5+01:00"; fractions are
 * dropped). Returns 1 and *out, or 0. */
static int parse_time(const char *v, int64_t *out)
{
    const char *p = v;
    int yh, yl, mo, d, h, mi, s, oh = 0, om = 0, sign = 0;
    int64_t t;

    if (strchr(v, 'T') == NULL && strchr(v, 't') == NULL) {
        char *end;
        long long n;
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno || end == v || *end)
            return 0;
        *out = (int64_t)n;
        return 1;
    }
    if (!two_digits(p, &yh) || !two_digits(p + 2, &yl) || p[4] != '-' || !two_digits(p + 5, &mo) ||
        p[7] != '-' || !two_digits(p + 8, &d) || (p[10] != 'T' && p[10] != 't') ||
        !two_digits(p + 11, &h) || p[13] != ':' || !two_digits(p + 14, &mi) || p[16] != ':' ||
        !two_digits(p + 17, &s))
        return 0;
    p += 19;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9')
            return 0;
        for (p++; *p >= '0' && *p <= '9'; p++) {
        }
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        sign = 0;
    } else if ((*p == '+' || *p == '-') && two_digits(p + 1, &oh) && p[3] == ':' &&
               two_digits(p + 4, &om) && p[6] == '\0') {
        sign = *p == '+' ? 1 : -1;
    } else {
        return 0;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = yh * 100 + yl;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || s > 60 || oh > 23 || om > 59)
        return 0;
    t = days_from_civil(year, mo, d) * 86400 + h * 3600 + mi * 60 + (s == 60 ? 59 : s);
    t -= sign * (oh * 3600 + om * 60);
    *out = t;
    return 1;
}

/* A decimal count in [lo, hi]. Returns 1 and *out, or 0. */
static int parse_count(const char *v, unsigned long long lo, unsigned long long hi,
                       unsigned long long *out)
{
    char *end;
    unsigned long long n;

    if (*v < '0' || *v > '9')
        return 0;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return 0;
    *out = n;
    return 1;
}

/* Printable ASCII, 1..max bytes. */
static int printable(const char *v, size_t max)
{
    size_t n = strlen(v);

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return 0;
    return n >= 1 && n <= max;
}

/* The log's submission policy and log list keys. Returns 0 if `key` is not
 * one of them; else 1 with *err ARB_OK or the error (eb set). */
static int apply_log_policy(arb_config *cfg, const char *key, const char *v, const char *where,
                            arb_err *err, arb_errbuf *eb)
{
    arb_errbuf why;

    *err = ARB_OK;
    if (!strcmp(key, "log-reject-expired") || !strcmp(key, "log-reject-unexpired")) {
        if (!parse_bool(v, key[11] == 'e' ? &cfg->log_reject_expired : &cfg->log_reject_unexpired))
            *err = arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad boolean '%s'", where, v);
    } else if (!strcmp(key, "log-ext-key-usages") || !strcmp(key, "log-reject-extensions")) {
        int eku = key[4] == 'e';
        if (arb_ct_oid_list_parse(eku ? &cfg->log_ext_key_usages : &cfg->log_reject_extensions, v,
                                  eku, &why) != ARB_OK)
            *err = arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: %s", where, why.msg);
    } else if (!strcmp(key, "log-rate-limit")) {
        char *end;
        double r;
        errno = 0;
        r = strtod(v, &end);
        if (*v < '0' || *v > '9' || errno || *end || !(r >= 0 && r <= 1e6))
            *err = arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: bad rate '%s' (submissions per second, 0..1000000)", where, v);
        else
            cfg->log_rate_limit = r;
    } else if (!strcmp(key, "log-rate-burst") || !strcmp(key, "log-mmd")) {
        unsigned long long n;
        int burst = key[4] == 'r';
        if (!parse_count(v, 1, burst ? 1000000ull : 31536000ull, &n))
            *err = arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad value '%s' (1..%s)", where, v,
                            burst ? "1000000" : "31536000");
        else if (burst)
            cfg->log_rate_burst = (unsigned)n;
        else
            cfg->log_mmd = n;
    } else if (!strcmp(key, "log-url") || !strcmp(key, "log-monitoring-url")) {
        if (!arb_ct_loglist_url_ok(v))
            *err = arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: bad URL '%s' (http:// or https://, ending in '/')", where, v);
        else
            *err = set_str(key[4] == 'u' ? &cfg->log_url : &cfg->log_monitoring_url, v);
    } else if (!strcmp(key, "log-export")) {
        if (!*v)
            *err = arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: empty directory name", where);
        else
            *err = set_str(&cfg->log_export, v);
    } else if (!strcmp(key, "log-description") || !strcmp(key, "log-operator") ||
               !strcmp(key, "log-operator-email")) {
        char **slot = key[4] == 'd' ? &cfg->log_description
                      : strlen(key) == 12 ? &cfg->log_operator : &cfg->log_operator_email;
        if (!printable(v, 200))
            *err = arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: want 1..200 printable ASCII characters",
                            where);
        else
            *err = set_str(slot, v);
    } else {
        return 0;
    }
    return 1;
}

/* Applies one setting. `where` names its origin for messages ("--listen",
 * "config.txt:3"). `from_flags` marks command-line use (a first --connect on
 * the command line replaces the file's list). */
static arb_err apply(arb_config *cfg, const char *key, const char *v, const char *where,
                     int *cli_connects, arb_errbuf *eb)
{
    arb_err err = ARB_OK;

    if (!strcmp(key, "datadir")) {
        if (!*v)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: empty data directory", where);
        err = set_str(&cfg->datadir, v);
    } else if (!strcmp(key, "listen")) {
        if (arb_config_split_hostport(v, cfg->listen_host, sizeof cfg->listen_host,
                                      &cfg->listen_port) != ARB_OK)
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: bad address '%s' (want numeric HOST:PORT)", where, v);
        err = set_str(&cfg->listen, v);
    } else if (!strcmp(key, "network")) {
        if (strcmp(v, "main") && strcmp(v, "test") && strcmp(v, "regtest"))
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: unknown network '%s' (want main, test or regtest)", where, v);
        err = set_str(&cfg->network, v);
    } else if (!strcmp(key, "log-key")) {
        if (!*v)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: empty file name", where);
        err = set_str(&cfg->log_key, v);
    } else if (!strcmp(key, "log-roots")) {
        if (!*v)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: empty file name", where);
        err = set_str(&cfg->log_roots, v);
    } else if (!strcmp(key, "log-origin")) {
        for (const char *q = v; *q; q++)
            if ((unsigned char)*q <= 0x20 || *q == 0x7f)
                return arb_errf(eb, ARB_ERR_INVALID_ARG,
                                "%s: bad origin '%s' (printable, no spaces)", where, v);
        if (!*v || strlen(v) > 255)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: origin must be 1..255 bytes", where);
        err = set_str(&cfg->log_origin, v);
    } else if (!strcmp(key, "log-not-after-start") || !strcmp(key, "log-not-after-end")) {
        int64_t t;
        if (!parse_time(v, &t))
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: bad time '%s' (want RFC 3339 or Unix seconds)", where, v);
        if (key[14] == 's')
            cfg->log_not_after_start = t;
        else
            cfg->log_not_after_end = t;
    } else if (!strcmp(key, "log-pool-ms") || !strcmp(key, "log-max-chain") ||
               !strcmp(key, "log-max-cert") || !strcmp(key, "log-max-body") ||
               !strcmp(key, "log-max-entries") || !strcmp(key, "store-cache-mb") ||
               !strcmp(key, "chain-cache-mb")) {
        unsigned long long n, lo = 1, hi;
        if (!strcmp(key, "store-cache-mb"))
            lo = 8, hi = 1048576;
        else if (!strcmp(key, "chain-cache-mb"))
            hi = 1048576;
        else if (!strcmp(key, "log-pool-ms"))
            lo = 0, hi = 0xffffffffull;
        else if (!strcmp(key, "log-max-chain"))
            hi = 64;
        else if (!strcmp(key, "log-max-cert"))
            lo = 256, hi = 16ull << 20;
        else if (!strcmp(key, "log-max-body"))
            lo = 1024, hi = 64ull << 20;
        else
            hi = 10000;
        if (!parse_count(v, lo, hi, &n))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad value '%s' (%llu..%llu)", where, v,
                            lo, hi);
        /* A submission waits through the pool window for its SCT; a window
         * as long as the answer timeout would see every answer dropped. */
        if (!strcmp(key, "log-pool-ms") && n >= ARB_CONFIG_ANSWER_TIMEOUT_MS)
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: %llu ms is not below the %d ms answer timeout of "
                            "submissions (their SCTs would be dropped)",
                            where, n, ARB_CONFIG_ANSWER_TIMEOUT_MS);
        if (!strcmp(key, "store-cache-mb"))
            cfg->store_cache_mb = (size_t)n;
        else if (!strcmp(key, "chain-cache-mb"))
            cfg->chain_cache_mb = (size_t)n;
        else if (!strcmp(key, "log-pool-ms"))
            cfg->log_pool_ms = (unsigned)n;
        else if (!strcmp(key, "log-max-chain"))
            cfg->log_max_chain = (size_t)n;
        else if (!strcmp(key, "log-max-cert"))
            cfg->log_max_cert = (size_t)n;
        else if (!strcmp(key, "log-max-body"))
            cfg->log_max_body = (size_t)n;
        else
            cfg->log_max_entries = (size_t)n;
    } else if (!strncmp(key, "log-", 4) && apply_log_policy(cfg, key, v, where, &err, eb)) {
        if (err != ARB_OK && err != ARB_ERR_NOMEM)
            return err;
    } else if (!strcmp(key, "connect")) {
        char h[64];
        int p;
        if (arb_config_split_hostport(v, h, sizeof h, &p) != ARB_OK || p == 0)
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: bad peer address '%s' (want numeric HOST:PORT)", where, v);
        if (cli_connects != NULL && (*cli_connects)++ == 0) {
            for (size_t i = 0; i < cfg->n_connect; i++)
                free(cfg->connect[i]);
            cfg->n_connect = 0;
        }
        if (cfg->n_connect == ARB_CONFIG_MAX_CONNECT)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: more than %d peers", where,
                            ARB_CONFIG_MAX_CONNECT);
        cfg->connect[cfg->n_connect] = NULL;
        err = set_str(&cfg->connect[cfg->n_connect], v);
        if (err == ARB_OK)
            cfg->n_connect++;
    } else if (!strncmp(key, "p2p-", 4)) {
        static const struct {
            const char *name;
            unsigned long long lo, hi;
            size_t off;
        } p2p[] = {
            {"p2p-max-inbound", 0, 10000, offsetof(arb_config, p2p_max_inbound)},
            {"p2p-handshake-timeout", 1, 3600, offsetof(arb_config, p2p_handshake_timeout)},
            {"p2p-ping-interval", 1, 3600, offsetof(arb_config, p2p_ping_interval)},
            {"p2p-timeout", 2, 86400, offsetof(arb_config, p2p_timeout)},
            {"p2p-stall-timeout-ms", 100, 600000, offsetof(arb_config, p2p_stall_timeout_ms)},
            {"p2p-discourage-time", 1, 31536000, offsetof(arb_config, p2p_discourage_time)},
            {"p2p-tx-delay-ms", 1, 60000, offsetof(arb_config, p2p_tx_delay_ms)},
            {"p2p-no-compact", 0, 1, offsetof(arb_config, p2p_no_compact)},
            {"p2p-no-outbound", 0, 1, offsetof(arb_config, p2p_no_outbound)},
            {"p2p-max-outbound", 0, 8, offsetof(arb_config, p2p_max_outbound)},
            {"p2p-block-relay-outbound", 0, 2, offsetof(arb_config, p2p_block_relay_outbound)},
            {"p2p-feeler-interval", 0, 86400, offsetof(arb_config, p2p_feeler_interval)},
            {"p2p-headers-timeout", 1, 86400, offsetof(arb_config, p2p_headers_timeout)},
        };
        size_t i = 0;
        unsigned long long n;
        while (i < sizeof p2p / sizeof *p2p && strcmp(key, p2p[i].name) != 0)
            i++;
        if (i == sizeof p2p / sizeof *p2p)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: unknown setting '%s'", where, key);
        if (!parse_count(v, p2p[i].lo, p2p[i].hi, &n))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad value '%s' (%llu..%llu)", where, v,
                            p2p[i].lo, p2p[i].hi);
        /* Settings where 0 is a value are kept as value + 1 (0: not given). */
        if (p2p[i].lo == 0 && strcmp(key, "p2p-max-inbound") != 0 &&
            strcmp(key, "p2p-no-compact") != 0 && strcmp(key, "p2p-no-outbound") != 0)
            n++;
        *(unsigned *)((char *)cfg + p2p[i].off) = (unsigned)n;
    } else if (!strcmp(key, "anchor-key")) {
        if (!*v)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: empty file name", where);
        err = set_str(&cfg->anchor_key, v);
    } else if (!strcmp(key, "anchor-every-blocks") || !strcmp(key, "anchor-every-entries") ||
               !strcmp(key, "anchor-fee")) {
        unsigned long long n, hi = key[7] == 'f' ? 100000000ULL
                                   : key[13] == 'b' ? 1000000ULL : 1ULL << 40;
        if (!parse_count(v, 1, hi, &n))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad value '%s' (1..%llu)", where, v, hi);
        if (key[7] == 'f')
            cfg->anchor_fee = n;
        else if (key[13] == 'b')
            cfg->anchor_every_blocks = (unsigned)n;
        else
            cfg->anchor_every_entries = n;
    } else if (!strcmp(key, "http-workers")) {
        char *end;
        long n;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < 1 || n > 256)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad worker count '%s' (1..256)", where,
                            v);
        cfg->http_workers = (int)n;
    } else if (!strcmp(key, "http-limit")) {
        /* NAME=VALUE; the HTTP server checks the name and range at start. */
        const char *eq = strchr(v, '=');
        if (eq == NULL || eq == v || eq[1] == '\0' ||
            strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != (size_t)(eq - v))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad http-limit '%s' (want NAME=VALUE)",
                            where, v);
        if (cfg->n_http_limits == ARB_CONFIG_MAX_HTTP_LIMITS)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: more than %d http-limit settings", where,
                            ARB_CONFIG_MAX_HTTP_LIMITS);
        cfg->http_limits[cfg->n_http_limits] = NULL;
        err = set_str(&cfg->http_limits[cfg->n_http_limits], v);
        if (err == ARB_OK)
            cfg->n_http_limits++;
    } else if (!strcmp(key, "json")) {
        if (!parse_bool(v, &cfg->json))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad boolean '%s'", where, v);
    } else if (!strcmp(key, "access-log")) {
        if (!parse_bool(v, &cfg->access_log))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: bad boolean '%s'", where, v);
    } else if (!strcmp(key, "log-level")) {
        static const char *const levels[] = {"error", "warn", "info", "debug"};
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (!strcmp(v, levels[i]))
                found = i;
        if (found < 0)
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: bad log level '%s' (error, warn, info or debug)", where, v);
        cfg->log_level = found;
    } else if (!strcmp(key, "log-format")) {
        if (!strcmp(v, "text"))
            cfg->log_format = ARB_CONFIG_LOG_TEXT;
        else if (!strcmp(v, "logfmt"))
            cfg->log_format = ARB_CONFIG_LOG_LOGFMT;
        else if (!strcmp(v, "json"))
            cfg->log_format = ARB_CONFIG_LOG_JSON;
        else
            return arb_errf(eb, ARB_ERR_INVALID_ARG,
                            "%s: bad log format '%s' (text, logfmt or json)", where, v);
    } else {
        return arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: unknown setting '%s'", where, key);
    }
    if (err != ARB_OK)
        return arb_errf(eb, err, "out of memory");
    return ARB_OK;
}

/* Messages quote user input: keep them one printable line. */
static arb_err one_line(arb_errbuf *eb, arb_err err)
{
    if (eb != NULL)
        for (char *p = eb->msg; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
    return err;
}

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

arb_err arb_config_load_stream(arb_config *cfg, FILE *f, const char *path, arb_errbuf *eb)
{
    char line[4096], where[300];
    unsigned lineno = 0;
    arb_err err = ARB_OK;

    while (fgets(line, sizeof line, f) != NULL) {
        char *s, *eq, *key, *val;
        lineno++;
        snprintf(where, sizeof where, "%s:%u", path, lineno);
        if (strchr(line, '\n') == NULL && !feof(f)) {
            err = arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: line too long", where);
            break;
        }
        s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            err = arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: expected 'key = value'", where);
            break;
        }
        *eq = '\0';
        key = trim(s);
        val = trim(eq + 1);
        if (!strcmp(key, "config")) {
            err = arb_errf(eb, ARB_ERR_INVALID_ARG, "%s: 'config' cannot be nested", where);
            break;
        }
        if ((err = apply(cfg, key, val, where, NULL, eb)) != ARB_OK)
            break;
    }
    if (err == ARB_OK && ferror(f))
        err = arb_errf(eb, ARB_ERR_IO, "cannot read config file %s", path);
    return err == ARB_OK ? err : one_line(eb, err);
}

static arb_err load_file(arb_config *cfg, const char *path, arb_errbuf *eb)
{
    FILE *f = fopen(path, "r");
    arb_err err;

    if (f == NULL)
        return arb_errf(eb, ARB_ERR_IO, "cannot read config file %s: %s", path, strerror(errno));
    err = arb_config_load_stream(cfg, f, path, eb);
    fclose(f);
    return err;
}

/* Options that take a value, in the order of the help text. */
static const char *const value_opts[] = {
    "datadir",      "listen",        "network",         "log-key",    "log-roots",
    "log-origin",   "log-not-after-start", "log-not-after-end", "log-pool-ms",
    "log-max-chain", "log-max-cert",  "log-max-body",  "log-max-entries", "store-cache-mb", "chain-cache-mb", "connect",
    "p2p-max-inbound", "p2p-handshake-timeout", "p2p-ping-interval", "p2p-timeout",
    "p2p-stall-timeout-ms", "p2p-discourage-time", "p2p-tx-delay-ms", "p2p-no-compact",
    "p2p-no-outbound", "p2p-max-outbound", "p2p-block-relay-outbound", "p2p-feeler-interval",
    "p2p-headers-timeout", "anchor-every-blocks", "anchor-every-entries", "anchor-key", "anchor-fee",
    "http-workers", "http-limit", "config", "log-reject-expired",
    "log-reject-unexpired", "log-ext-key-usages",
    "log-reject-extensions", "log-rate-limit", "log-rate-burst", "log-url", "log-monitoring-url",
    "log-description", "log-operator", "log-operator-email", "log-mmd", "log-export",
    "log-level", "log-format"};

static int takes_value(const char *name)
{
    for (size_t i = 0; i < sizeof value_opts / sizeof *value_opts; i++)
        if (!strcmp(name, value_opts[i]))
            return 1;
    return 0;
}

/* Walks argv; for each option calls back with (name, value). pass 0 only
 * handles --config/--help/--version, pass 1 the rest. */
static arb_err walk(arb_config *cfg, int argc, char *const argv[], int pass, arb_errbuf *eb)
{
    int cli_connects = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *val = NULL;
        char name[64], where[80];
        size_t nlen;

        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "unexpected argument '%s'", a);
        a += 2;
        eq = strchr(a, '=');
        nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (nlen >= sizeof name)
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "unknown option '--%.40s...'", a);
        memcpy(name, a, nlen);
        name[nlen] = '\0';
        snprintf(where, sizeof where, "--%s", name);
        if (!strcmp(name, "access-log")) {
            if (eq != NULL)
                return arb_errf(eb, ARB_ERR_INVALID_ARG, "option --%s takes no value", name);
            if (pass == 1)
                cfg->access_log = 1;
            continue;
        }
        if (!strcmp(name, "help") || !strcmp(name, "version") || !strcmp(name, "json")) {
            if (eq != NULL)
                return arb_errf(eb, ARB_ERR_INVALID_ARG, "option --%s takes no value", name);
            if (pass == 0 && name[0] == 'h')
                cfg->help = 1;
            else if (pass == 0 && name[0] == 'v')
                cfg->version = 1;
            else if (name[0] == 'j')
                cfg->json = 1; /* in pass 0 too: --version --json prints JSON */
            continue;
        }
        if (!takes_value(name))
            return arb_errf(eb, ARB_ERR_INVALID_ARG, "unknown option '--%s'", name);
        if (eq != NULL) {
            val = eq + 1;
        } else if (!strncmp(name, "log-reject-", 11) && strcmp(name, "log-reject-extensions")) {
            val = "true"; /* --log-reject-expired alone; =false to turn it off */
        } else {
            if (i + 1 >= argc)
                return arb_errf(eb, ARB_ERR_INVALID_ARG, "option --%s needs a value", name);
            val = argv[++i];
        }
        if (!strcmp(name, "config")) {
            if (pass == 0) {
                if (!*val)
                    return arb_errf(eb, ARB_ERR_INVALID_ARG, "--config: empty file name");
                if (set_str(&cfg->config_file, val) != ARB_OK)
                    return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
            }
            continue;
        }
        if (pass == 1) {
            arb_err err = apply(cfg, name, val, where, &cli_connects, eb);
            if (err != ARB_OK)
                return err;
        }
    }
    return ARB_OK;
}

arb_err arb_config_parse(arb_config *cfg, int argc, char *const argv[], arb_errbuf *eb)
{
    arb_err err;

    memset(cfg, 0, sizeof *cfg);
    cfg->log_level = ARB_LOG_INFO;
    if ((err = set_str(&cfg->datadir, ARB_CONFIG_DEFAULT_DATADIR)) != ARB_OK ||
        (err = set_str(&cfg->network, "main")) != ARB_OK ||
        (err = apply(cfg, "listen", ARB_CONFIG_DEFAULT_LISTEN, "default", NULL, eb)) != ARB_OK) {
        arb_config_free(cfg);
        return arb_errf(eb, ARB_ERR_NOMEM, "out of memory");
    }
    if ((err = walk(cfg, argc, argv, 0, eb)) != ARB_OK)
        goto fail;
    if (cfg->help || cfg->version)
        return ARB_OK;
    if (cfg->config_file != NULL && (err = load_file(cfg, cfg->config_file, eb)) != ARB_OK)
        goto fail;
    if ((err = walk(cfg, argc, argv, 1, eb)) != ARB_OK)
        goto fail;
    if (cfg->log_not_after_start != 0 || cfg->log_not_after_end != 0) {
        if (cfg->log_not_after_end == 0)
            cfg->log_not_after_end = INT64_MAX;
        if (cfg->log_not_after_end <= cfg->log_not_after_start) {
            err = arb_errf(eb, ARB_ERR_INVALID_ARG,
                           "log-not-after-end must be later than log-not-after-start");
            goto fail;
        }
    }
    if (cfg->log_reject_expired && cfg->log_reject_unexpired) {
        err = arb_errf(eb, ARB_ERR_INVALID_ARG,
                       "log-reject-expired and log-reject-unexpired together refuse everything");
        goto fail;
    }
    if (cfg->log_monitoring_url != NULL && cfg->log_url == NULL) {
        err = arb_errf(eb, ARB_ERR_INVALID_ARG, "log-monitoring-url needs log-url");
        goto fail;
    }
    return ARB_OK;
fail:
    arb_config_free(cfg);
    return one_line(eb, err);
}

arb_err arb_datadir_create(const char *dir, arb_errbuf *eb)
{
    char path[4096];
    size_t n = strlen(dir);
    struct stat st;

    if (n == 0 || n >= sizeof path)
        return arb_errf(eb, ARB_ERR_IO, "bad data directory path");
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0700) == 0) {
            /* a new directory: durable in its parent before anything the
             * node acknowledges is written below it */
            arb_errbuf sb;
            if (arb_file_sync_parent(path, &sb) != ARB_OK)
                return arb_errf(eb, ARB_ERR_IO, "cannot sync the directory holding %s: %s", path,
                                sb.msg);
        } else if (errno != EEXIST) {
            int e = errno;
            return arb_errf(eb, ARB_ERR_IO, "cannot create data directory %s: %s", path,
                            strerror(e));
        }
        path[i] = i == n ? '\0' : '/';
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return arb_errf(eb, ARB_ERR_IO, "data directory %s is not a directory", dir);
    return ARB_OK;
}

arb_err arb_datadir_lock(const char *dir, int *fd_out, arb_errbuf *eb)
{
    char path[4096], buf[32];
    int fd;

    *fd_out = -1;
    snprintf(path, sizeof path, "%s/arbord.lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return arb_errf(eb, ARB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        long pid = 0;
        if (n > 0) {
            buf[n] = '\0';
            pid = strtol(buf, NULL, 10);
        }
        close(fd);
        if (e == EWOULDBLOCK) {
            if (pid > 0)
                return arb_errf(eb, ARB_ERR_BUSY,
                                "data directory %s is in use by another arbord (pid %ld)", dir,
                                pid);
            return arb_errf(eb, ARB_ERR_BUSY, "data directory %s is in use by another arbord",
                            dir);
        }
        return arb_errf(eb, ARB_ERR_IO, "cannot lock %s: %s", path, strerror(e));
    }
    if (ftruncate(fd, 0) == 0) {
        int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
        if (pwrite(fd, buf, (size_t)n, 0) != n) {
            /* The pid is only a hint for the message above. */
        }
    }
    *fd_out = fd;
    return ARB_OK;
}
