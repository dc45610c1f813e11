/* The daemon's own counters for /metrics. */
#include "daemon/metrics.h"

#include <stdio.h>
#include <string.h>

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

/* A label value escaped as the text format wants (\\, \", \n). */
static void label(struct sc_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            sc_buf_add(b, "\\", 1);
        if (*v == '\n')
            sc_buf_puts(b, "\\n");
        else
            sc_buf_add(b, v, 1);
    }
}

/* name{k1="v1"[,k2="v2"]} n */
static void sample(struct sc_buf *b, const char *name, const char *k1, const char *v1,
                   const char *k2, const char *v2, long long n)
{
    sc_buf_printf(b, "%s{%s=\"", name, k1);
    label(b, v1);
    if (k2) {
        sc_buf_printf(b, "\",%s=\"", k2);
        label(b, v2);
    }
    sc_buf_printf(b, "\"} %lld\n", n);
}

static long long num(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* The sum of an object's integer values. */
static long long total(const json_t *o)
{
    long long n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) n += (long long)json_integer_value(v);
    return n;
}

static void write_gauges(struct sc_buf *b, const json_t *c)
{
    const char *k;
    json_t *v;
    help(b, "scenarist_queue_depth", "gauge", "Events waiting for a worker, by priority.");
    for (const char *p = "realtime\0routine\0"; *p; p += strlen(p) + 1)
        sample(b, "scenarist_queue_depth", "priority", p, NULL, NULL,
               num(json_object_get(c, "queued"), p));
    help(b, "scenarist_incomplete", "gauge",
         "Incomplete executions: pending a retry, or exhausted (a person's turn).");
    for (const char *s = "pending\0exhausted\0"; *s; s += strlen(s) + 1)
        sample(b, "scenarist_incomplete", "state", s, NULL, NULL,
               num(json_object_get(c, "incomplete"), s));
    help(b, "scenarist_holds_pending", "gauge", "Executions held for a person's decision.");
    sc_buf_printf(b, "scenarist_holds_pending %lld\n",
                  total(json_object_get(c, "holds_created")) -
                      total(json_object_get(c, "holds_decided")));
    help(b, "scenarist_work_queue_items", "gauge", "Open items in the queues for people.");
    json_t *closed = json_object_get(c, "queue_items_closed");
    json_object_foreach(json_object_get(c, "queue_items_opened"), k, v)
        sample(b, "scenarist_work_queue_items", "queue", k, NULL, NULL,
               (long long)json_integer_value(v) - total(json_object_get(closed, k)));
}

void sc_metrics_write_store(struct sc_buf *b, const json_t *c)
{
    const char *k, *k2;
    json_t *v, *v2;
    help(b, "scenarist_executions_total", "counter",
         "Executions entering each status (queued; running, once per attempt; then the "
         "outcome), by scenario.");
    json_object_foreach(json_object_get(c, "executions"), k, v)
        json_object_foreach(v, k2, v2)
            sample(b, "scenarist_executions_total", "scenario", k, "status", k2,
                   (long long)json_integer_value(v2));
    write_gauges(b, c);
    help(b, "scenarist_holds_created_total", "counter", "Holds created, by scenario.");
    json_object_foreach(json_object_get(c, "holds_created"), k, v)
        sample(b, "scenarist_holds_created_total", "scenario", k, NULL, NULL,
               (long long)json_integer_value(v));
    help(b, "scenarist_holds_decided_total", "counter", "Holds decided, by decision.");
    json_t *decided = json_object_get(c, "holds_decided");
    for (const char *p = "approved\0rejected\0"; *p; p += strlen(p) + 1)
        sample(b, "scenarist_holds_decided_total", "decision", p, NULL, NULL, num(decided, p));
    json_object_foreach(decided, k, v)
        if (strcmp(k, "approved") && strcmp(k, "rejected"))
            sample(b, "scenarist_holds_decided_total", "decision", k, NULL, NULL,
                   (long long)json_integer_value(v));
    help(b, "scenarist_work_queue_items_opened_total", "counter",
         "Items opened in the queues for people, by queue.");
    json_object_foreach(json_object_get(c, "queue_items_opened"), k, v)
        sample(b, "scenarist_work_queue_items_opened_total", "queue", k, NULL, NULL,
               (long long)json_integer_value(v));
    help(b, "scenarist_work_queue_items_closed_total", "counter",
         "Items closed in the queues for people, by queue and how (resolved, ...).");
    json_object_foreach(json_object_get(c, "queue_items_closed"), k, v)
        json_object_foreach(v, k2, v2)
            sample(b, "scenarist_work_queue_items_closed_total", "queue", k, "state", k2,
                   (long long)json_integer_value(v2));
}
