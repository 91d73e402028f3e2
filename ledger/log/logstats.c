/* Batch metrics and the periodic sequencer summary (see logstats.h). */
#include "ledger/log/logstats.h"

#include <stdlib.h>
#include <time.h>

static const double batch_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};

struct arb_log_stats {
    arb_metrics *metrics;
    arb_logger log;
    int64_t interval_ms;
    int64_t last_ms; /* when the last summary was written (or the start) */
    /* since the last summary */
    uint64_t entries, batches, tree_size;
    double commit_s, commit_max_s;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

arb_err arb_log_stats_new(arb_log_stats **out, arb_metrics *metrics, const arb_logger *log,
                          unsigned interval_ms)
{
    arb_log_stats *s = calloc(1, sizeof *s);
    *out = NULL;
    if (s == NULL)
        return ARB_ERR_NOMEM;
    s->metrics = metrics;
    if (log != NULL)
        s->log = *log;
    s->interval_ms = interval_ms ? interval_ms : 5000;
    s->last_ms = mono_ms();
    if (metrics != NULL &&
        (arb_metrics_declare(metrics, "log_batch_entries", ARB_METRIC_HISTOGRAM,
                             "New entries per sequenced log batch.", NULL, batch_bounds,
                             sizeof batch_bounds / sizeof *batch_bounds) != ARB_OK ||
         arb_metrics_declare(metrics, "log_commit_seconds", ARB_METRIC_HISTOGRAM,
                             "Time of a log batch's synced write (fsync included).", NULL,
                             arb_metrics_latency_buckets, arb_metrics_latency_nbuckets) != ARB_OK ||
         arb_metrics_declare(metrics, "log_entries_sequenced", ARB_METRIC_COUNTER,
                             "Entries added to the log's tree.", NULL, NULL, 0) != ARB_OK)) {
        free(s);
        return ARB_ERR_NOMEM;
    }
    *out = s;
    return ARB_OK;
}

static void summary(arb_log_stats *s, int64_t now)
{
    if (s->batches > 0)
        arb_logf(&s->log, ARB_LOG_INFO,
                 "log: sequenced %llu entries in %llu batches over %.1f s, tree size %llu, "
                 "commit avg %.1f ms max %.1f ms",
                 (unsigned long long)s->entries, (unsigned long long)s->batches,
                 (double)(now - s->last_ms) / 1000.0, (unsigned long long)s->tree_size,
                 s->commit_s * 1000.0 / (double)s->batches, s->commit_max_s * 1000.0);
    s->entries = s->batches = 0;
    s->commit_s = s->commit_max_s = 0;
    s->last_ms = now;
}

void arb_log_stats_batch(void *ud, size_t added, uint64_t tree_size, double commit_seconds)
{
    arb_log_stats *s = ud;
    int64_t now = mono_ms();

    if (s->metrics != NULL) {
        arb_metrics_observe(s->metrics, "log_batch_entries", NULL, (double)added);
        arb_metrics_observe(s->metrics, "log_commit_seconds", NULL, commit_seconds);
        arb_metrics_counter_add(s->metrics, "log_entries_sequenced", added);
        arb_metrics_gauge_set(s->metrics, "log_tree_size", (int64_t)tree_size);
    }
    s->entries += added;
    s->batches++;
    s->tree_size = tree_size;
    s->commit_s += commit_seconds;
    if (commit_seconds > s->commit_max_s)
        s->commit_max_s = commit_seconds;
    if (now - s->last_ms >= s->interval_ms)
        summary(s, now);
}

void arb_log_stats_free(arb_log_stats *s)
{
    if (s == NULL)
        return;
    summary(s, mono_ms());
    free(s);
}
