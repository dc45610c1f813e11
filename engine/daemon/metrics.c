/* The names and buckets of the daemon's /metrics. */
#include "daemon/metrics.h"

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

size_t sc_metrics_bucket(int64_t ms)
{
    size_t b = 0;
    while (b < SC_LAT_BUCKETS && (double)ms / 1000.0 > sc_metrics_lat_bounds[b])
        b++;
    return b;
}
