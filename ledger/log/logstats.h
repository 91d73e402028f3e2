/* What the log's sequencer reports after each durable batch, turned into
 * metrics (batch size and commit latency histograms, entries sequenced, tree
 * size) and into an info line at most every few seconds summarizing the
 * batches since the last one (rather than a line per batch).
 *
 * Thread-safety: arb_log_stats_batch may be called from any one thread at a
 * time (the sequencer); new/free from the owner. */
#ifndef ARB_LEDGER_LOG_LOGSTATS_H
#define ARB_LEDGER_LOG_LOGSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/api/metrics.h"
#include "merkle/error.h"

typedef struct arb_log_stats arb_log_stats;

/* Creates the reporter. metrics may be NULL (no metrics); interval_ms is the
 * shortest time between two summary lines (0: 5000). Returns ARB_OK or
 * ARB_ERR_NOMEM. Free with arb_log_stats_free. */
arb_err arb_log_stats_new(arb_log_stats **out, arb_metrics *metrics, const arb_logger *log,
                          unsigned interval_ms) ARB_WARN_UNUSED;
/* Logs what has not been summarized yet, then frees. NULL does nothing. */
void arb_log_stats_free(arb_log_stats *s);

/* The arb_log_config.on_batch callback (ud: the arb_log_stats). */
void arb_log_stats_batch(void *ud, size_t added, uint64_t tree_size, double commit_seconds);

#endif
