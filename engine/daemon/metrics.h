/* The daemon's own counters for /metrics (Prometheus text format 0.0.4): webhooks
 * accepted, repeated and refused (by reason), and the histogram of execution times.
 * Lock-free: any thread counts, the operations endpoint reads. */
#ifndef SC_METRICS_H
#define SC_METRICS_H

#include "util.h"

#include <jansson.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Why a webhook was refused: the `reason` label of scenarist_webhook_rejections_total. */
enum sc_rejection {
    SC_REJ_NOT_FOUND, SC_REJ_METHOD, SC_REJ_MEDIA_TYPE, SC_REJ_TOO_LARGE, SC_REJ_MALFORMED,
    SC_REJ_MISSING_SIGNATURE, SC_REJ_BAD_SIGNATURE, SC_REJ_STALE, SC_REJ_SECRET,
    SC_REJ_STOPPING, SC_REJ_BAD_REQUEST, SC_REJ_COUNT
};
extern const char *const sc_metrics_rejections[SC_REJ_COUNT];

/* Upper bounds of the execution-time buckets, in seconds (Prometheus `le`). */
#define SC_LAT_BUCKETS 12
extern const double sc_metrics_lat_bounds[SC_LAT_BUCKETS];

struct sc_metrics {
    atomic_ulong rejected[SC_REJ_COUNT], accepted, duplicates;
    atomic_ulong lat[SC_LAT_BUCKETS + 1], lat_count; /* the last bucket is +Inf */
    atomic_ullong lat_sum_ms;
};

/* Counts an execution attempt that took ms milliseconds. */
void sc_metrics_observe(struct sc_metrics *m, int64_t ms);
/* Appends the counters to b as Prometheus text (HELP, TYPE and samples). */
void sc_metrics_write(struct sc_metrics *m, struct sc_buf *b);
/* Appends the store's counters and gauges (c: as sc_store_counters gives them, borrowed)
 * to b as Prometheus text: scenarist_executions_total{scenario,status},
 * scenarist_holds_created_total{scenario}, scenarist_holds_decided_total{decision},
 * scenarist_work_queue_items_opened_total{queue},
 * scenarist_work_queue_items_closed_total{queue,state}; the gauges
 * scenarist_queue_depth{priority}, scenarist_incomplete{state}, scenarist_holds_pending
 * (created - decided) and scenarist_work_queue_items{queue} (opened - closed). */
void sc_metrics_write_store(struct sc_buf *b, const json_t *c);

#endif
