/* The daemon's own counters for /metrics. */
#include "daemon/metrics.h"

#include <stdio.h>

const char *const sc_metrics_rejections[SC_REJ_COUNT] = {
    [SC_REJ_NOT_FOUND] = "not_found", [SC_REJ_METHOD] = "method_not_allowed",
    [SC_REJ_MEDIA_TYPE] = "unsupported_media_type", [SC_REJ_TOO_LARGE] = "too_large",
    [SC_REJ_MALFORMED] = "malformed_json", [SC_REJ_MISSING_SIGNATURE] = "missing_signature",
    [SC_REJ_BAD_SIGNATURE] = "bad_signature", [SC_REJ_STALE] = "stale_timestamp",
    [SC_REJ_SECRET] = "secret_unusable", [SC_REJ_STOPPING] = "stopping",
    [SC_REJ_BAD_REQUEST] = "bad_request",
};

const double sc_metrics_lat_bounds[SC_LAT_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10,  60};

void sc_metrics_observe(struct sc_metrics *m, int64_t ms)
{
    size_t b = 0;
    while (b < SC_LAT_BUCKETS && (double)ms / 1000.0 > sc_metrics_lat_bounds[b])
        b++;
    atomic_fetch_add(&m->lat[b], 1);
    atomic_fetch_add(&m->lat_count, 1);
    atomic_fetch_add(&m->lat_sum_ms, (unsigned long long)(ms > 0 ? ms : 0));
}

static void help(struct sc_buf *b, const char *name, const char *type, const char *text)
{
    sc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

void sc_metrics_write(struct sc_metrics *m, struct sc_buf *b)
{
    help(b, "scenarist_execution_duration_seconds", "histogram",
         "Execution runs (first runs and retries) by this process, by duration.");
    unsigned long cum = 0;
    for (int i = 0; i <= SC_LAT_BUCKETS; i++) {
        cum += atomic_load(&m->lat[i]);
        if (i < SC_LAT_BUCKETS)
            sc_buf_printf(b, "scenarist_execution_duration_seconds_bucket{le=\"%g\"} %lu\n",
                          sc_metrics_lat_bounds[i], cum);
        else
            sc_buf_printf(b, "scenarist_execution_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    }
    sc_buf_printf(b, "scenarist_execution_duration_seconds_sum %.3f\n",
                  (double)atomic_load(&m->lat_sum_ms) / 1000.0);
    sc_buf_printf(b, "scenarist_execution_duration_seconds_count %lu\n",
                  atomic_load(&m->lat_count));
    help(b, "scenarist_webhooks_accepted_total", "counter",
         "Webhook events stored and acknowledged.");
    sc_buf_printf(b, "scenarist_webhooks_accepted_total %lu\n", atomic_load(&m->accepted));
    help(b, "scenarist_webhook_duplicates_total", "counter",
         "Repeated webhook deliveries answered with the first execution.");
    sc_buf_printf(b, "scenarist_webhook_duplicates_total %lu\n", atomic_load(&m->duplicates));
    help(b, "scenarist_webhook_rejections_total", "counter",
         "Webhook requests turned away, by reason.");
    for (int i = 0; i < SC_REJ_COUNT; i++)
        sc_buf_printf(b, "scenarist_webhook_rejections_total{reason=\"%s\"} %lu\n",
                      sc_metrics_rejections[i], atomic_load(&m->rejected[i]));
}
