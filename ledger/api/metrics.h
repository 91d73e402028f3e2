/* Metrics registry: counters, gauges and histograms, rendered in the
 * Prometheus text exposition format (version 0.0.4) with a HELP and a TYPE
 * line for every family, so that `promtool check metrics` passes.
 *
 * Names are [a-z_][a-z0-9_]* and get the registry's prefix ("arbor_").
 * Counters are rendered with the suffix "_total" (a name given with "_total"
 * already is the same counter). Histograms have at most one label (e.g.
 * "route") and a fixed set of upper bounds given when they are declared.
 * A family that was never declared gets a generic HELP line; declare the
 * families you own with arb_metrics_declare to give them a real one.
 *
 * Thread-safety: every function is safe from any thread (one mutex). */
#ifndef ARB_LEDGER_API_METRICS_H
#define ARB_LEDGER_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/error.h"

typedef struct arb_metrics arb_metrics;

typedef enum {
    ARB_METRIC_COUNTER = 1,
    ARB_METRIC_GAUGE = 2,
    ARB_METRIC_HISTOGRAM = 3
} arb_metric_type;

/* Most families and most label values per histogram (past them updates are
 * dropped, or folded into the label value "other"). */
#define ARB_METRICS_MAX_FAMILIES 256
#define ARB_METRICS_MAX_SERIES 64
#define ARB_METRICS_MAX_BUCKETS 24

/* Upper bounds for latencies in seconds (0.5 ms .. 10 s). */
extern const double arb_metrics_latency_buckets[];
extern const size_t arb_metrics_latency_nbuckets;

/* Creates a registry whose names all start with `prefix` (e.g. "arbor_";
 * [a-z_]+, at most 15 bytes). Returns ARB_OK, ARB_ERR_INVALID_ARG or
 * ARB_ERR_NOMEM. Free with arb_metrics_free. */
arb_err arb_metrics_new(arb_metrics **out, const char *prefix) ARB_WARN_UNUSED;
void arb_metrics_free(arb_metrics *m);

/* Declares a family: its type, its HELP text (printable ASCII, copied), and
 * for a histogram its label name (NULL: none) and its increasing upper bounds
 * (the +Inf bucket is implied). Declaring again with the same type updates
 * the help. Returns ARB_OK, ARB_ERR_INVALID_ARG (bad name, bad bounds, the
 * name has another type), ARB_ERR_NOMEM (too many families). */
arb_err arb_metrics_declare(arb_metrics *m, const char *name, arb_metric_type type,
                            const char *help, const char *label, const double *bounds,
                            size_t nbounds) ARB_WARN_UNUSED;

/* Adds to a counter, created on first use. Bad names are ignored. */
void arb_metrics_counter_add(arb_metrics *m, const char *name, uint64_t delta);
/* Sets a gauge, created on first use. Bad names are ignored. */
void arb_metrics_gauge_set(arb_metrics *m, const char *name, int64_t value);
/* Records one observation in a declared histogram, under label value `label`
 * (ignored if the family has no label; NULL counts as ""). Undeclared names
 * are ignored. */
void arb_metrics_observe(arb_metrics *m, const char *name, const char *label, double value);

/* The current value of a counter or gauge (0 if unknown). For tests. */
int64_t arb_metrics_value(arb_metrics *m, const char *name);

/* Renders every family as Prometheus text into a new NUL-terminated string
 * (*out, free()d by the caller; *len its length). Returns ARB_OK or
 * ARB_ERR_NOMEM (then *out is NULL). */
arb_err arb_metrics_render(arb_metrics *m, char **out, size_t *len) ARB_WARN_UNUSED;

#endif
