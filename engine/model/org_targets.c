/* The org's health targets (targets: NAME): the field table, the checks beyond it, the
 * typed targets, and the pure parts of judging one (its value in a store's metrics, the
 * comparison, the words). */
#include "model/org_load.h"

#include "lang/duration.h"
#include "model/yaml.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sc_target_metrics[] = {"failure_rate", "hold_rate", "queue_depth",
                                         "incomplete", NULL};
const char *const sc_target_cmps[] = {"below", "at_most", "above", "at_least", NULL};
static const char *const cmp_words[] = {"below", "at most", "above", "at least"};

static const struct sc_param notify_fields[] = {
    {.name = "connection", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Connection the daemon POSTs to (a read-write connection: a message is a write), "
            "once when the target is breached and once when it recovers."},
    {.name = "path", .type = SC_T_STRING, .def = "\"\"", .flags = SC_P_STATIC,
     .doc = "Path under the connection's base URL."},
    {0},
};

#define THRESHOLD_DOC(word)                                                                  \
    "The target is met while the value is " word " this; rates take a percentage (\"1%\"), " \
    "counts a whole number. One of below, at_most, above, at_least."

const struct sc_param sc_org_target_fields[] = {
    {.name = "metric", .type = SC_T_ENUM, .required = true, .allowed = sc_target_metrics,
     .flags = SC_P_STATIC,
     .doc = "failure_rate: executions started in the window that ended in error or are "
            "incomplete, over those started; hold_rate: holds created in the window over "
            "executions started in it; queue_depth: items open now in a queue for people, "
            "whatever their age (no window); incomplete: executions started in the window still "
            "incomplete. Rates are 0 when nothing ran."},
    {.name = "scenario", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Only this scenario (failure_rate, hold_rate, incomplete); default: all."},
    {.name = "queue", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Only this queue (queue_depth); default: all queues."},
    {.name = "below", .type = SC_T_ANY, .flags = SC_P_STATIC, .doc = THRESHOLD_DOC("below")},
    {.name = "at_most", .type = SC_T_ANY, .flags = SC_P_STATIC, .doc = THRESHOLD_DOC("at most")},
    {.name = "above", .type = SC_T_ANY, .flags = SC_P_STATIC, .doc = THRESHOLD_DOC("above")},
    {.name = "at_least", .type = SC_T_ANY, .flags = SC_P_STATIC,
     .doc = THRESHOLD_DOC("at least")},
    {.name = "window", .type = SC_T_DURATION, .def = "\"7d\"", .flags = SC_P_STATIC,
     .doc = "The figure is taken over this much time, ending when it is checked "
            "(`metrics --check --since` replaces it)."},
    {.name = "every", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "How often the daemon checks it (default 5m, on the engine's clock); or cron."},
    {.name = "cron", .type = SC_T_CRON, .flags = SC_P_STATIC,
     .doc = "Or: when the daemon checks it, in the org's time zone (end of the working day: "
            "\"0 17 * * 1-5\")."},
    {.name = "notify", .type = SC_T_OBJECT, .fields = notify_fields, .flags = SC_P_STATIC,
     .doc = "Where the daemon says so when the target is breached, and when it recovers."},
    {.name = "description", .type = SC_T_STRING, .flags = SC_P_TEXT, .doc = "Free text."},
    {0},
};

static bool is_rate(enum sc_target_metric m)
{
    return m == SC_TM_FAILURE_RATE || m == SC_TM_HOLD_RATE;
}

static int index_of(const char *const *names, const char *s)
{
    for (int i = 0; s && names[i]; i++)
        if (!strcmp(names[i], s))
            return i;
    return -1;
}

/* The threshold v as a fraction (rates: "N%", 0 <= N <= 100) or a count (a whole number
 * >= 0): 0, or -1 with why. */
static int threshold(bool rate, const json_t *v, double *out, char *why, size_t n)
{
    const char *s = json_string_value(v);
    char *end = NULL;
    double x = s ? strtod(s, &end) : 0;
    if (rate && s && end != s && !strcmp(end, "%") && (*s >= '0' && *s <= '9') && x <= 100) {
        *out = x / 100;
        return 0;
    }
    if (!rate && json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (double)json_integer_value(v);
        return 0;
    }
    snprintf(why, n, rate ? "a rate's threshold is a percentage from 0%% to 100%%, as \"1%%\""
                          : "this metric counts: its threshold is a whole number, as 0");
    return -1;
}

static void check_one(struct sc_check *c, const char *name, const json_t *t, const json_t *root)
{
    char at[400], why[200];
    int metric = index_of(sc_target_metrics, json_string_value(json_object_get(t, "metric")));
    int given = 0;
    for (int i = 0; sc_target_cmps[i]; i++) {
        json_t *v = json_object_get(t, sc_target_cmps[i]);
        double x;
        if (!v)
            continue;
        given++;
        snprintf(at, sizeof at, "targets/%s/%s", name, sc_target_cmps[i]);
        if (given > 1)
            sc_check_error(c, at, "a target takes one comparison: below, at_most, above or "
                           "at_least");
        else if (metric >= 0 && threshold(is_rate(metric), v, &x, why, sizeof why) != 0)
            sc_check_error(c, at, "%s", why);
    }
    snprintf(at, sizeof at, "targets/%s", name);
    if (!given)
        sc_check_error(c, at, "target '%s' needs a threshold: below, at_most, above or "
                       "at_least (as below: \"1%%\")", name);
    snprintf(at, sizeof at, "targets/%s/queue", name);
    if (json_object_get(t, "queue") && metric >= 0 && metric != SC_TM_QUEUE_DEPTH)
        sc_check_error(c, at, "queue scopes queue_depth only; %s is about scenarios "
                       "(scenario:)", sc_target_metrics[metric]);
    snprintf(at, sizeof at, "targets/%s/scenario", name);
    if (json_object_get(t, "scenario") && metric == SC_TM_QUEUE_DEPTH)
        sc_check_error(c, at, "queue_depth is about a queue: scope it with queue:, not "
                       "scenario:");
    /* A zero window holds nothing (always met); an every under 1s would keep the daemon checking. */
    snprintf(at, sizeof at, "targets/%s/window", name);
    const char *win = json_string_value(json_object_get(t, "window"));
    if (win && metric == SC_TM_QUEUE_DEPTH)
        sc_check_error(c, at, "queue_depth counts the items open now, whatever their age: a "
                       "window does not apply (a drift seen every night keeps its first item)");
    else if (win && sc_duration_or(win, -1) == 0)
        sc_check_error(c, at, "a window of %s holds nothing, so the target would always be "
                       "met: give it a length, as 7d", win);
    snprintf(at, sizeof at, "targets/%s/every", name);
    const char *every = json_string_value(json_object_get(t, "every"));
    if (every && sc_duration_or(every, 1000) >= 0 && sc_duration_or(every, 1000) < 1000)
        sc_check_error(c, at, "every must be at least 1s: each check reads the store's metrics, "
                       "so a shorter one keeps the daemon busy");
    snprintf(at, sizeof at, "targets/%s/cron", name);
    if (json_object_get(t, "cron") && json_object_get(t, "every"))
        sc_check_error(c, at, "a target is checked on cron or every, one of them");
    const char *conn = json_string_value(json_object_get(json_object_get(t, "notify"),
                                                         "connection"));
    json_t *cd = json_object_get(json_object_get(root, "connections"), conn ? conn : "");
    snprintf(at, sizeof at, "targets/%s/notify/connection", name);
    if (conn && !cd)
        sc_check_error(c, at, "no connection '%s' in this org", conn);
    else if (conn && !strcmp(json_string_value(json_object_get(cd, "access")) ?
                             json_string_value(json_object_get(cd, "access")) : "", "read-only"))
        sc_check_error(c, at, "connection '%s' is read-only: a notification is a write", conn);
}

void sc_org_targets_check(struct sc_check *c, const json_t *root)
{
    const char *k;
    json_t *t;
    json_object_foreach(json_object_get(root, "targets"), k, t)
        if (json_is_object(t))
            check_one(c, k, t, root);
}

int sc_org_targets_resolve(struct sc_org *org)
{
    json_t *all = json_object_get(org->doc->root, "targets");
    org->targets = sc_calloc(json_object_size(all) + 1, sizeof *org->targets);
    if (!org->targets)
        return -1;
    const char *k;
    json_t *t;
    json_object_foreach(all, k, t) {
        struct sc_org_target *x = &org->targets[org->ntargets++];
        json_t *notify = json_object_get(t, "notify");
        char why[200];
        x->name = k;
        x->metric_name = json_string_value(json_object_get(t, "metric"));
        x->metric = (enum sc_target_metric)index_of(sc_target_metrics, x->metric_name);
        x->scenario = json_string_value(json_object_get(t, "scenario"));
        x->queue = json_string_value(json_object_get(t, "queue"));
        for (int i = 0; sc_target_cmps[i]; i++)
            if (json_object_get(t, sc_target_cmps[i])) {
                x->cmp = (enum sc_target_cmp)i;
                threshold(is_rate(x->metric), json_object_get(t, sc_target_cmps[i]),
                          &x->threshold, why, sizeof why);
            }
        x->window = json_string_value(json_object_get(t, "window"));
        x->window_ms = sc_duration_or(x->window, 0);
        if (x->metric == SC_TM_QUEUE_DEPTH) { /* what is open now, however old */
            x->window = "now";
            x->window_ms = 0;
        }
        x->cron = json_string_value(json_object_get(t, "cron"));
        x->every_ms = sc_duration_or(json_string_value(json_object_get(t, "every")), 300000);
        x->notify_connection = json_string_value(json_object_get(notify, "connection"));
        x->notify_path = json_string_value(json_object_get(notify, "path"));
    }
    return 0;
}

/* ---- judging a target ---- */

static double sum_of(const json_t *scenarios, const char *only, const char *key)
{
    double n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)scenarios, k, v)
        if (!only || !strcmp(k, only))
            n += (double)json_integer_value(json_object_get(v, key));
    return n;
}

double sc_org_target_value(const struct sc_org_target *t, const json_t *m)
{
    const json_t *sc = json_object_get(m, "scenarios");
    double runs = sum_of(sc, t->scenario, "executions");
    switch (t->metric) {
    case SC_TM_FAILURE_RATE:
        return runs > 0 ? sum_of(sc, t->scenario, "failures") / runs : 0;
    case SC_TM_HOLD_RATE:
        return runs > 0 ? sum_of(sc, t->scenario, "holds") / runs : 0;
    case SC_TM_INCOMPLETE:
        return sum_of(sc, t->scenario, "incomplete");
    case SC_TM_QUEUE_DEPTH:
    default: {
        double n = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(m, "queues"), k, v)
            if (!t->queue || !strcmp(k, t->queue))
                n += (double)json_integer_value(v);
        return n;
    }
    }
}

bool sc_org_target_ok(const struct sc_org_target *t, double value)
{
    switch (t->cmp) {
    case SC_TC_BELOW: return value < t->threshold;
    case SC_TC_AT_MOST: return value <= t->threshold;
    case SC_TC_ABOVE: return value > t->threshold;
    case SC_TC_AT_LEAST:
    default: return value >= t->threshold;
    }
}

void sc_org_target_format(const struct sc_org_target *t, double value, char *buf, size_t n)
{
    if (is_rate(t->metric))
        snprintf(buf, n, "%.1f%%", value * 100);
    else
        snprintf(buf, n, "%.0f", value);
}

void sc_org_target_want(const struct sc_org_target *t, char *buf, size_t n)
{
    char v[64];
    if (is_rate(t->metric))
        snprintf(v, sizeof v, "%g%%", round(t->threshold * 100 * 1e6) / 1e6);
    else
        snprintf(v, sizeof v, "%.0f", t->threshold);
    snprintf(buf, n, "%s %s", cmp_words[t->cmp], v);
}

void sc_org_target_scope(const struct sc_org_target *t, char *buf, size_t n)
{
    bool queue = t->metric == SC_TM_QUEUE_DEPTH;
    const char *one = queue ? t->queue : t->scenario;
    if (one)
        snprintf(buf, n, "%s %s", queue ? "queue" : "scenario", one);
    else
        snprintf(buf, n, "%s", queue ? "all queues" : "all scenarios");
}
