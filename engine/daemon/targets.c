/* The org's health targets, watched by the daemon (targets.h). */
#include "daemon/targets.h"

#include "daemon/catalog.h"
#include "run/plan.h"

#include "clock.h"
#include "model/org.h"
#include "run/audit.h"
#include "store/store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { UNKNOWN, MET, BREACHED };

struct sc_target_watch {
    int64_t next_ms;    /* -1: never (its cron has no next time) */
    struct sc_cron cron;
    bool cron_ok;       /* checked at cron, else every every_ms */
    int state;          /* as last told (UNKNOWN until the first check) */
};

static int64_t next_check(const struct sc_daemon *d, const struct sc_org_target *t,
                          struct sc_target_watch *w, int64_t now)
{
    return w->cron_ok ? sc_cron_next(&w->cron, d->org->timezone, now) : now + t->every_ms;
}

int sc_targets_arm(struct sc_daemon *d)
{
    const struct sc_org *org = d->org;
    d->sched.targets = sc_calloc(org->ntargets + 1, sizeof *d->sched.targets);
    if (!d->sched.targets)
        return -1;
    int64_t now = sc_clock_now_ms();
    for (size_t i = 0; i < org->ntargets; i++) {
        struct sc_target_watch *w = &d->sched.targets[i];
        struct sc_cron_err ce;
        w->cron_ok = org->targets[i].cron && sc_cron_parse(org->targets[i].cron, &w->cron, &ce) == 0;
        w->next_ms = next_check(d, &org->targets[i], w, now);
    }
    return 0;
}

/* True when a step of v (a scenario's JSON, walked whole: routes and fallbacks too) is a
 * queue.push or queue.sweep of queue q. */
static bool names_queue(const json_t *v, const char *q)
{
    const char *m = json_string_value(json_object_get(v, "module"));
    const char *wq = json_string_value(json_object_get(json_object_get(v, "with"), "queue"));
    if (m && wq && !strncmp(m, "queue.", 6) && !strcmp(wq, q))
        return true;
    const char *k;
    size_t i;
    json_t *x;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
            if (names_queue(x, q))
                return true;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            if (names_queue(x, q))
                return true;
    }
    return false;
}

void sc_targets_warn(const struct sc_daemon *d, const struct sc_catalog *c)
{
    for (size_t i = 0; c && c->scs && i < d->org->ntargets; i++) {
        const struct sc_org_target *t = &d->org->targets[i];
        bool found = !t->scenario && !t->queue;
        for (size_t f = 0; !found && f < c->nfiles; f++)
            found = c->scs[f] && (t->scenario ? !strcmp(sc_scenario_name(c->scs[f]), t->scenario)
                                              : names_queue(sc_scenario_json(c->scs[f]), t->queue));
        if (!found)
            sc_daemon_say("target %s: no scenario served %s '%s': its %s stays 0 and the "
                          "target is met whatever happens (a typo, or a scenario not deployed?)",
                          t->name, t->scenario ? "is named" : "pushes to queue",
                          t->scenario ? t->scenario : t->queue, t->metric_name);
    }
}

int64_t sc_targets_next(const struct sc_daemon *d, int64_t next)
{
    for (size_t i = 0; d->sched.targets && i < d->org->ntargets; i++) {
        int64_t t = d->sched.targets[i].next_ms;
        if (t >= 0 && (next < 0 || t < next))
            next = t;
    }
    return next;
}

/* Logs the change and sends it to the target's connection: 0, or -1 (not sent). */
static int tell(struct sc_daemon *d, struct sc_runtime *rt, const struct sc_org_target *t,
                double value, bool ok)
{
    char shown[32], want[64], scope[300], text[800], err[800];
    sc_org_target_format(t, value, shown, sizeof shown);
    sc_org_target_want(t, want, sizeof want);
    sc_org_target_scope(t, scope, sizeof scope);
    snprintf(text, sizeof text, "target %s %s: %s %s %s%s (%s), wanted %s", t->name,
             ok ? "recovered" : "breached", t->metric_name, shown,
             t->metric == SC_TM_QUEUE_DEPTH ? "" : "over ", t->window, scope, want);
    sc_daemon_say("%s", text);
    if (!t->notify_connection)
        return 0;
    json_t *msg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:f, s:s, s:s}", "text",
                            text, "org", d->org->name, "target", t->name, "metric",
                            t->metric_name, "scope", scope, "state",
                            ok ? "recovered" : "breached", "value", value, "shown", shown,
                            "threshold", t->threshold, "want", want, "window", t->window);
    int rc = msg ? sc_audit_post(rt->http, d->org, t->notify_connection, t->notify_path, msg,
                                 err, sizeof err)
                 : (snprintf(err, sizeof err, "out of memory"), -1);
    json_decref(msg);
    if (rc != 0)
        sc_daemon_say("target %s: the notification was not sent (again at the next check): %s",
                      t->name, err);
    return rc;
}

json_t *sc_targets_figures(struct sc_store *st, const struct sc_org_target *t, int64_t since_ms)
{
    if (t->metric != SC_TM_QUEUE_DEPTH)
        return sc_store_metrics(st, since_ms);
    json_t *d = sc_store_queue_depths(st, 0), *q = json_object(), *m = json_pack("{s:o}", "queues", q);
    const char *k;
    json_t *v;
    json_object_foreach(d, k, v)
        json_object_set_new(q, k, json_integer(json_integer_value(json_object_get(v, "open"))));
    if (!d) {
        json_decref(m);
        m = NULL;
    }
    json_decref(d);
    return m;
}

void sc_targets_run(struct sc_daemon *d, struct sc_runtime *rt)
{
    int64_t now = sc_clock_now_ms(), window = -1;
    json_t *m = NULL; /* the last window read: targets due together over one window share it */
    for (size_t i = 0; d->sched.targets && i < d->org->ntargets; i++) {
        const struct sc_org_target *t = &d->org->targets[i];
        struct sc_target_watch *w = &d->sched.targets[i];
        if (w->next_ms < 0 || w->next_ms > now)
            continue;
        w->next_ms = next_check(d, t, w, now);
        bool depth = t->metric == SC_TM_QUEUE_DEPTH; /* open now: read apart, no window */
        json_t *own = depth ? sc_targets_figures(rt->store, t, 0) : NULL;
        if (depth && !own) {
            sc_daemon_say("target %s not checked: %s", t->name, sc_store_error(rt->store));
            continue;
        }
        if (!depth && (!m || window != t->window_ms)) {
            json_decref(m);
            window = t->window_ms;
            if (!(m = sc_store_metrics(rt->store, now - t->window_ms))) {
                sc_daemon_say("target %s not checked: %s", t->name, sc_store_error(rt->store));
                continue;
            }
        }
        double value = sc_org_target_value(t, own ? own : m);
        json_decref(own);
        int now_state = sc_org_target_ok(t, value) ? MET : BREACHED;
        bool change = now_state == BREACHED ? w->state != BREACHED : w->state == BREACHED;
        if (!change || tell(d, rt, t, value, now_state == MET) == 0)
            w->state = now_state;
    }
    json_decref(m);
}
