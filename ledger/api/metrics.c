/* Metrics registry and its Prometheus text rendering (see metrics.h). */
#include "ledger/api/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 96
#define LABEL_MAX_LEN 96

const double arb_metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t arb_metrics_latency_nbuckets =
    sizeof arb_metrics_latency_buckets / sizeof *arb_metrics_latency_buckets;

struct series {
    char label[LABEL_MAX_LEN];
    uint64_t counts[ARB_METRICS_MAX_BUCKETS + 1]; /* per bucket (not cumulative); last: +Inf */
    uint64_t n;
    double sum;
};

struct family {
    char name[NAME_MAX_LEN]; /* without prefix, counters without "_total" */
    arb_metric_type type;
    char *help;       /* NULL: generic */
    int64_t v;        /* counter or gauge */
    char label[32];   /* histogram label name, "" for none */
    double bounds[ARB_METRICS_MAX_BUCKETS];
    size_t nbounds;
    struct series *series;
    size_t nseries;
};

struct arb_metrics {
    char prefix[16];
    pthread_mutex_t mu;
    struct family fam[ARB_METRICS_MAX_FAMILIES];
    size_t nfam;
};

/* Help for families that other modules bump without declaring. Families with
 * a dynamic part (errors per kind, pools) are matched by prefix. */
static const struct {
    const char *name;
    const char *help;
} builtin_help[] = {
    {"http_requests", "HTTP requests handed to a handler."},
    {"http_responses", "HTTP responses written in full."},
    {"http_responses_dropped", "Responses dropped because the client had gone."},
    {"http_ws_upgrades", "Websocket upgrade requests handed to the websocket thread."},
    {"http_conns_evicted", "Idle HTTP connections closed to make room for new ones."},
    {"http_conns_refused", "HTTP connections refused at a connection limit."},
    {"http_accept_paused", "Times accepting paused for lack of file descriptors."},
    {"http_connections_accepted", "HTTP connections accepted."},
    {"http_connections", "Open HTTP connections."},
    {"http_body_bytes_held", "Request body bytes held by the worker pools."},
    {"http_timeouts_header", "Connections closed for a slow request header."},
    {"http_timeouts_body", "Connections closed for a slow request body."},
    {"http_timeouts_handler", "Requests whose handler did not answer in time."},
    {"http_timeouts_write", "Connections closed for a client that stopped reading."},
    {"http_errors_", "HTTP error answers of this kind."},
    {"http_pool_", "Requests waiting for a thread of this worker pool."},
    {"log_tree_size", "Entries in the transparency log's tree."},
    {"log_scts_issued", "SCTs issued by the transparency log."},
    {"log_submissions_rejected", "Log submissions refused before sequencing."},
    {"chain_height", "Height of the chain tip."},
    {"chain_mempool_txs", "Transactions in the mempool."},
    {"chain_mempool_bytes", "Serialized bytes of the mempool's transactions."},
    {"chain_txs_accepted", "Transactions accepted into the mempool."},
    {"chain_blocks_accepted", "Blocks submitted and connected."},
    {"http_requests_abandoned", "Requests whose client left before the handler answered."},
    {"log_submissions_pending", "Log submissions waiting for the sequencer."},
    {"log_submissions_rate_limited", "Log submissions refused by the rate limit."},
    {"log_submissions_unavailable", "Log submissions refused because the log cannot store."},
    {"log_rejected_", "Log submissions refused, by reason."},
    {"log_full_tiles_served", "Full tiles of the log's tree served."},
    {"log_partial_tiles_served", "Partial tiles of the log's tree served."},
    {"log_issuers_served", "Issuer certificates served by the log."},
    {"log_storage_failed", "1 while the log cannot write to its storage."},
    {"log_storage_write_failures", "Writes of the log that failed."},
    {"log_storage_recoveries", "Times the log recovered from a storage failure."},
    {"chain_template_selections", "Block templates that ran a transaction selection."},
    {"chain_template_cache_hits", "Block templates answered from the cached selection or block."},
    {"chain_mempool_file_errors", "Mempool files that could not be reloaded."},
    {"chain_mempool_payload_rejected",
     "Name and anchor transactions refused by the mempool's bounds on pending ones."},
    {"p2p_handshakes", "Peer handshakes completed."},
    {"p2p_discouraged", "Peers discouraged for misbehaviour."},
    {"p2p_self_connections", "Connections to this node itself, closed."},
    {"p2p_unsolicited_blocks", "Blocks received from peers without being asked for."},
    {"p2p_orphans_added", "Transactions kept as orphans until their parents arrive."},
    {"p2p_bytes_sent", "Bytes sent to peers."},
    {"p2p_cmpct_rebuilt", "Compact blocks rebuilt from the mempool."},
    {"p2p_cmpct_fallbacks", "Compact blocks that fell back to a full block request."},
    {"p2p_admin_unauthorized", "Peer administration requests refused."},
    {"p2p_disconnect_", "Peer disconnections, by reason."},
    {"p2p_misbehaviour_", "Peer misbehaviour, by kind."},
    {"p2p_msgs_in_", "Peer messages received, by type."},
    {"p2p_peers_inbound", "Connected inbound peers."},
    {"p2p_peers_outbound", "Connected outbound peers."},
    {"p2p_best_header_height", "Height of the best header known from peers."},
    {"gossip_push_", "Tree heads pushed by other auditors, by outcome."},
    {"uptime_seconds", "Seconds since the server started."},
};

static int name_ok(const char *name)
{
    size_t n = 0;
    if (name == NULL || !*name)
        return 0;
    for (const char *p = name; *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (n > 0 && *p >= '0' && *p <= '9')))
            return 0;
    return n + 6 < NAME_MAX_LEN;
}

arb_err arb_metrics_new(arb_metrics **out, const char *prefix)
{
    arb_metrics *m;
    *out = NULL;
    if (prefix == NULL || strlen(prefix) >= sizeof m->prefix ||
        strspn(prefix, "abcdefghijklmnopqrstuvwxyz_") != strlen(prefix))
        return ARB_ERR_INVALID_ARG;
    m = calloc(1, sizeof *m);
    if (m == NULL)
        return ARB_ERR_NOMEM;
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return ARB_OK;
}

void arb_metrics_free(arb_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nfam; i++) {
        free(m->fam[i].help);
        free(m->fam[i].series);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Copies `name` into buf without a trailing "_total" (for counters). */
static void base_name(char *buf, size_t cap, const char *name, arb_metric_type t)
{
    size_t n = strlen(name);
    if (t == ARB_METRIC_COUNTER && n > 6 && strcmp(name + n - 6, "_total") == 0)
        n -= 6;
    snprintf(buf, cap, "%.*s", (int)n, name);
}

/* Finds family `name`, creating it with type t when create is set. Caller
 * holds mu. Returns NULL when absent (or full, or of another type). */
static struct family *find(arb_metrics *m, const char *name, arb_metric_type t, int create)
{
    char base[NAME_MAX_LEN];
    base_name(base, sizeof base, name, t);
    for (size_t i = 0; i < m->nfam; i++)
        if (strcmp(m->fam[i].name, base) == 0)
            return m->fam[i].type == t ? &m->fam[i] : NULL;
    if (!create || m->nfam == ARB_METRICS_MAX_FAMILIES)
        return NULL;
    struct family *f = &m->fam[m->nfam++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", base);
    f->type = t;
    return f;
}

static int help_ok(const char *h)
{
    for (; *h; h++)
        if ((unsigned char)*h < 0x20 || (unsigned char)*h > 0x7e || *h == '\\')
            return 0;
    return 1;
}

arb_err arb_metrics_declare(arb_metrics *m, const char *name, arb_metric_type type,
                            const char *help, const char *label, const double *bounds,
                            size_t nbounds)
{
    struct family *f;
    char *h;
    arb_err err = ARB_OK;

    if (!name_ok(name) || help == NULL || !help_ok(help) ||
        (type != ARB_METRIC_COUNTER && type != ARB_METRIC_GAUGE && type != ARB_METRIC_HISTOGRAM))
        return ARB_ERR_INVALID_ARG;
    if (type == ARB_METRIC_HISTOGRAM) {
        if (nbounds == 0 || nbounds > ARB_METRICS_MAX_BUCKETS || bounds == NULL)
            return ARB_ERR_INVALID_ARG;
        for (size_t i = 0; i < nbounds; i++)
            if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
                return ARB_ERR_INVALID_ARG;
        if (label != NULL && (!name_ok(label) || strlen(label) >= sizeof f->label ||
                              strcmp(label, "le") == 0))
            return ARB_ERR_INVALID_ARG;
    }
    h = strdup(help);
    if (h == NULL)
        return ARB_ERR_NOMEM;
    pthread_mutex_lock(&m->mu);
    f = find(m, name, type, 0);
    if (f == NULL) {
        char base[NAME_MAX_LEN];
        int clash = 0;
        base_name(base, sizeof base, name, type);
        for (size_t i = 0; i < m->nfam; i++)
            clash |= strcmp(m->fam[i].name, base) == 0;
        f = clash ? NULL : find(m, name, type, 1);
        if (f == NULL)
            err = clash ? ARB_ERR_INVALID_ARG : ARB_ERR_NOMEM;
        else if (type == ARB_METRIC_HISTOGRAM) {
            memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
            f->nbounds = nbounds;
            snprintf(f->label, sizeof f->label, "%s", label ? label : "");
        }
    }
    if (f != NULL) {
        free(f->help);
        f->help = h;
        h = NULL;
    }
    pthread_mutex_unlock(&m->mu);
    free(h);
    return err;
}

void arb_metrics_counter_add(arb_metrics *m, const char *name, uint64_t delta)
{
    struct family *f;
    if (m == NULL || !name_ok(name))
        return;
    pthread_mutex_lock(&m->mu);
    if ((f = find(m, name, ARB_METRIC_COUNTER, 1)) != NULL)
        f->v = (int64_t)((uint64_t)f->v + delta);
    pthread_mutex_unlock(&m->mu);
}

void arb_metrics_gauge_set(arb_metrics *m, const char *name, int64_t value)
{
    struct family *f;
    if (m == NULL || !name_ok(name))
        return;
    pthread_mutex_lock(&m->mu);
    if ((f = find(m, name, ARB_METRIC_GAUGE, 1)) != NULL)
        f->v = value;
    pthread_mutex_unlock(&m->mu);
}

int64_t arb_metrics_value(arb_metrics *m, const char *name)
{
    int64_t v = 0;
    char base[NAME_MAX_LEN];
    if (m == NULL || !name_ok(name))
        return 0;
    base_name(base, sizeof base, name, ARB_METRIC_COUNTER);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfam; i++)
        if (m->fam[i].type != ARB_METRIC_HISTOGRAM &&
            (strcmp(m->fam[i].name, name) == 0 ||
             (m->fam[i].type == ARB_METRIC_COUNTER && strcmp(m->fam[i].name, base) == 0)))
            v = m->fam[i].v;
    pthread_mutex_unlock(&m->mu);
    return v;
}

void arb_metrics_observe(arb_metrics *m, const char *name, const char *label, double value)
{
    struct family *f;
    struct series *s = NULL;
    size_t b;

    if (m == NULL || !name_ok(name) || isnan(value))
        return;
    if (label == NULL)
        label = "";
    pthread_mutex_lock(&m->mu);
    f = find(m, name, ARB_METRIC_HISTOGRAM, 0);
    if (f == NULL)
        goto out;
    if (!f->label[0])
        label = "";
    for (size_t i = 0; i < f->nseries; i++)
        if (strncmp(f->series[i].label, label, LABEL_MAX_LEN - 1) == 0) {
            s = &f->series[i];
            break;
        }
    if (s == NULL) {
        /* The last slot is kept for "other" so a flood of label values stays bounded. */
        if (f->nseries + 1 >= ARB_METRICS_MAX_SERIES)
            label = "other";
        for (size_t i = 0; s == NULL && i < f->nseries; i++)
            if (strcmp(f->series[i].label, label) == 0)
                s = &f->series[i];
        if (s == NULL) {
            if (f->series == NULL) {
                f->series = calloc(ARB_METRICS_MAX_SERIES, sizeof *f->series);
                if (f->series == NULL)
                    goto out;
            }
            s = &f->series[f->nseries++];
            snprintf(s->label, sizeof s->label, "%s", label);
        }
    }
    for (b = 0; b < f->nbounds && value > f->bounds[b]; b++)
        ;
    s->counts[b]++;
    s->n++;
    s->sum += value;
out:
    pthread_mutex_unlock(&m->mu);
}

/* ---------------------------------------------------------------- rendering */

typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)w < b->cap - b->n) {
            b->n += (size_t)w;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)w;
        char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* A label value with \, " and newline escaped (text format 0.0.4). */
static void sb_label(sbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            sb_printf(b, "\\\\");
        else if (*v == '"')
            sb_printf(b, "\\\"");
        else if (*v == '\n')
            sb_printf(b, "\\n");
        else
            sb_printf(b, "%c", *v);
    }
}

static void sb_double(sbuf *b, double v)
{
    if (isinf(v))
        sb_printf(b, v > 0 ? "+Inf" : "-Inf");
    else
        sb_printf(b, "%.15g", v);
}

static const char *help_for(const struct family *f)
{
    if (f->help != NULL)
        return f->help;
    for (size_t i = 0; i < sizeof builtin_help / sizeof *builtin_help; i++) {
        size_t n = strlen(builtin_help[i].name);
        if (builtin_help[i].name[n - 1] == '_' ? strncmp(f->name, builtin_help[i].name, n) == 0
                                              : strcmp(f->name, builtin_help[i].name) == 0)
            return builtin_help[i].help;
    }
    return f->type == ARB_METRIC_COUNTER ? "A counter of arbord." : "A gauge of arbord.";
}

static int cmp_family(const void *a, const void *b)
{
    return strcmp((*(const struct family *const *)a)->name, (*(const struct family *const *)b)->name);
}

arb_err arb_metrics_render(arb_metrics *m, char **out, size_t *len)
{
    sbuf b = {NULL, 0, 0, 0};
    const struct family *sorted[ARB_METRICS_MAX_FAMILIES];
    size_t nf;

    *out = NULL;
    *len = 0;
    b.cap = 4096;
    b.p = malloc(b.cap);
    if (b.p == NULL)
        return ARB_ERR_NOMEM;
    b.p[0] = '\0';
    pthread_mutex_lock(&m->mu);
    nf = m->nfam;
    for (size_t i = 0; i < nf; i++)
        sorted[i] = &m->fam[i];
    qsort(sorted, nf, sizeof *sorted, cmp_family);
    for (size_t i = 0; i < nf; i++) {
        const struct family *f = sorted[i];
        const char *sfx = f->type == ARB_METRIC_COUNTER ? "_total" : "";
        const char *type = f->type == ARB_METRIC_COUNTER ? "counter"
                           : f->type == ARB_METRIC_GAUGE ? "gauge"
                                                         : "histogram";
        sb_printf(&b, "# HELP %s%s%s %s\n# TYPE %s%s%s %s\n", m->prefix, f->name, sfx,
                  help_for(f), m->prefix, f->name, sfx, type);
        if (f->type != ARB_METRIC_HISTOGRAM) {
            sb_printf(&b, "%s%s%s %lld\n", m->prefix, f->name, sfx, (long long)f->v);
            continue;
        }
        for (size_t k = 0; k < f->nseries; k++) {
            const struct series *s = &f->series[k];
            uint64_t cum = 0;
            for (size_t j = 0; j <= f->nbounds; j++) {
                cum += s->counts[j];
                sb_printf(&b, "%s%s_bucket{", m->prefix, f->name);
                if (f->label[0]) {
                    sb_printf(&b, "%s=\"", f->label);
                    sb_label(&b, s->label);
                    sb_printf(&b, "\",");
                }
                sb_printf(&b, "le=\"");
                sb_double(&b, j < f->nbounds ? f->bounds[j] : INFINITY);
                sb_printf(&b, "\"} %llu\n", (unsigned long long)cum);
            }
            for (int part = 0; part < 2; part++) {
                sb_printf(&b, "%s%s_%s", m->prefix, f->name, part ? "count" : "sum");
                if (f->label[0]) {
                    sb_printf(&b, "{%s=\"", f->label);
                    sb_label(&b, s->label);
                    sb_printf(&b, "\"}");
                }
                sb_printf(&b, " ");
                if (part)
                    sb_printf(&b, "%llu\n", (unsigned long long)s->n);
                else {
                    sb_double(&b, s->sum);
                    sb_printf(&b, "\n");
                }
            }
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (b.failed) {
        free(b.p);
        return ARB_ERR_NOMEM;
    }
    *out = b.p;
    *len = b.n;
    return ARB_OK;
}
