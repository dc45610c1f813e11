/* The names and buckets of the daemon's /metrics: why webhooks were refused, and the
 * buckets of the execution-time histogram. Counters live in struct sc_daemon. */
#ifndef SC_METRICS_H
#define SC_METRICS_H

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

/* The bucket a duration in ms falls in: 0..SC_LAT_BUCKETS (the last is +Inf). */
size_t sc_metrics_bucket(int64_t ms);

#endif
