/* Schedules, polls, the org's backup and audit checkpoint, fired by the main thread. */
#include "daemon/timers.h"
#include "daemon/targets.h"

#include "clock.h"
#include "lang/duration.h"
#include "model/yaml.h"
#include "run/audit.h"
#include "run/retention.h"
#include "store/hooks.h"
#include "store/version.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first slot of t strictly after after_ms. */
static int64_t slot_after(const struct sc_catalog_timer *t, int64_t after_ms)
{
    if (t->has_cron)
        return sc_cron_next(&t->cron, t->tz, after_ms);
    if (t->every_ms <= 0)
        return -1;
    return (after_ms / t->every_ms + 1) * t->every_ms; /* aligned to the epoch */
}

static json_t *iso_json(int64_t ms)
{
    char b[40];
    sc_clock_iso(ms, b, sizeof b);
    return json_string(b);
}

/* Queues one execution of a timer's scenario. 0 queued (or a repeat), -1 error. */
static int queue_event(struct sc_daemon *d, struct sc_store *st, const struct sc_catalog_timer *t,
                       json_t *trigger, const char *dedupe)
{
    struct sc_event_row ev = {.exec = {.scenario = t->scenario, .org = d->org->name,
                                       .version = t->version, .source = t->source,
                                       .trigger = trigger, .confidential = t->confidential,
                                       .started_ms = sc_clock_now_ms()},
                              .lane = t->sequential ? t->scenario : NULL, .dedupe = dedupe};
    char id[64], first[64];
    int rc;
    do {
        sc_exec_new_id(id, sizeof id);
        ev.exec.id = id;
    } while ((rc = sc_store_enqueue(st, &ev, first, sizeof first)) == SC_STORE_EXISTS);
    return rc < 0 ? -1 : 0;
}

static void fire_schedule(struct sc_daemon *d, struct sc_store *st, struct sc_catalog_timer *t,
                          int64_t slot, int missed)
{
    int64_t now = sc_clock_now_ms();
    json_t *trigger = json_pack("{s:s, s:o, s:o, s:i}", "kind", "schedule", "scheduled_at",
                                iso_json(slot), "fired_at", iso_json(now), "trigger",
                                (int)t->trigger);
    if (trigger && missed > 0)
        json_object_set_new(trigger, "missed", json_integer(missed));
    char dedupe[96], at[40];
    sc_clock_iso(slot, at, sizeof at);
    snprintf(dedupe, sizeof dedupe, "%s@%s", t->key, at);
    if (!trigger || sc_store_tx_begin(st) != 0 || queue_event(d, st, t, trigger, dedupe) != 0 ||
        sc_store_trigger_set(st, t->scenario, t->key, slot, -1) != 0 ||
        sc_store_tx_commit(st) != 0) {
        sc_store_tx_rollback(st);
        sc_daemon_say("schedule %s of %s at %s could not be queued: %s", t->key, t->scenario, at,
                      sc_store_error(st));
    }
    json_decref(trigger);
}

/* A poll that fails is recorded as a failed execution (visible in executions and
 * metrics); the watermark becomes the point it asked from, so the next poll asks again
 * from there at the latest. */
static void poll_failed(struct sc_daemon *d, struct sc_store *st, const struct sc_catalog_timer *t,
                        json_t *trigger, enum sc_status status, const char *err)
{
    char id[64];
    struct sc_exec_row row = {.scenario = t->scenario, .org = d->org->name, .version = t->version,
                              .source = t->source, .trigger = trigger,
                              .confidential = t->confidential, .started_ms = sc_clock_now_ms()};
    int rc;
    do {
        sc_exec_new_id(id, sizeof id);
        row.id = id;
    } while ((rc = sc_store_exec_begin(st, &row)) == SC_STORE_EXISTS);
    json_t *summary = json_pack("{s:{s:s, s:o, s:s}}", "error", "kind", sc_status_name(status),
                                "message", sc_json_text(err), "step", "poll");
    if (rc != 0 || sc_store_exec_end(st, id, "error", 0, summary, false) != 0)
        sc_daemon_say("%s of %s failed (%s) and could not be recorded: %s", t->key, t->scenario,
                      err, sc_store_error(st));
    else
        sc_daemon_say("%s of %s failed: %s (execution %s); the next poll asks again from the "
                      "same point", t->key, t->scenario, err, id);
    json_decref(summary);
}

static void fire_poll(struct sc_daemon *d, struct sc_runtime *rt, struct sc_catalog_timer *t,
                      int64_t slot)
{
    struct sc_store *st = rt->store;
    int64_t now = sc_clock_now_ms(), last, mark;
    if (sc_store_trigger_get(st, t->scenario, t->key, &last, &mark) < 0) {
        sc_daemon_say("%s of %s: %s", t->key, t->scenario, sc_store_error(st));
        return;
    }
    /* The window [since, now] reaches back over the previous poll; the watermark is the
     * earliest point the next poll must ask from: the last success's end, or the start
     * a failed poll asked from (so a failure never narrows the overlap), or further back
     * after downtime. */
    int64_t window = t->window_ms > 0 ? t->window_ms : 3600 * 1000;
    int64_t since = now - window;
    if (mark >= 0 && mark < since)
        since = mark;
    json_t *items = NULL;
    char err[1024] = "";
    enum sc_status status = sc_exec_poll(t->sc, rt, t->trigger, since, now, &items, err,
                                         sizeof err);
    json_t *base = json_pack("{s:s, s:o, s:o, s:o, s:i}", "kind", "poll", "since", iso_json(since),
                             "until", iso_json(now), "polled_at", iso_json(now), "trigger",
                             (int)t->trigger);
    if (status != SC_OK || !base) {
        if (base)
            poll_failed(d, st, t, base, status, err[0] ? err : "out of memory");
        json_decref(base);
        json_decref(items);
        sc_store_trigger_set(st, t->scenario, t->key, slot, since);
        return;
    }
    size_t i, fresh = 0;
    json_t *e;
    int rc = sc_store_tx_begin(st);
    json_array_foreach(items, i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        int seen = rc == 0 ? sc_store_poll_seen(st, t->scenario, t->key, key) : -1;
        if (seen != SC_STORE_NONE) {
            rc = seen < 0 ? -1 : rc;
            continue;
        }
        json_t *trig = json_deep_copy(base);
        if (!trig || json_object_set(trig, "body", json_object_get(e, "item")) ||
            json_object_set(trig, "key", json_object_get(e, "key")) ||
            queue_event(d, st, t, trig, NULL) != 0 ||
            sc_store_poll_mark(st, t->scenario, t->key, key, now) != 0)
            rc = -1;
        json_decref(trig);
        fresh++;
    }
    if (rc == 0)
        rc = sc_store_trigger_set(st, t->scenario, t->key, slot, now);
    if (rc == 0) /* nothing seen before since (less the skew) comes back in a later window */
        rc = sc_store_poll_prune(st, t->scenario, t->key, since - t->skew_ms);
    if (rc != 0 || sc_store_tx_commit(st) != 0) {
        sc_store_tx_rollback(st);
        sc_daemon_say("%s of %s: its items could not be queued: %s", t->key, t->scenario,
                      sc_store_error(st));
    } else if (fresh && sc_daemon_queued(d, st) != 0) {
        sc_daemon_say("%s of %s: its items are queued but not yet on disk: %s", t->key, t->scenario,
                      sc_store_error(st));
    }
    json_decref(items);
    json_decref(base);
}

static void arm(struct sc_daemon *d, struct sc_runtime *rt, struct sc_catalog_timer *t)
{
    int64_t now = sc_clock_now_ms(), last, mark;
    int rc = sc_store_trigger_get(rt->store, t->scenario, t->key, &last, &mark);
    if (sc_store_lead(rt->store) != 1) { /* the leading daemon catches up */
    } else if (rc == 0 && last >= 0) {
        int missed = 0;
        int64_t slot = -1;
        for (int64_t s = slot_after(t, last); s >= 0 && s <= now && missed < 100000;
             s = slot_after(t, s)) {
            slot = s;
            missed++;
        }
        if (missed && t->catch_up) {
            sc_daemon_say("%s of %s: %d run%s missed while stopped; catching up once", t->key,
                          t->scenario, missed, missed == 1 ? "" : "s");
            if (t->poll)
                fire_poll(d, rt, t, slot);
            else
                fire_schedule(d, rt->store, t, slot, missed);
        } else if (missed) {
            sc_daemon_say("%s of %s: %d run%s missed while stopped; skipped (catch_up: skip)",
                          t->key, t->scenario, missed, missed == 1 ? "" : "s");
            sc_store_trigger_set(rt->store, t->scenario, t->key, slot, -1);
        }
    } else if (rc >= 0) { /* first sight: a restart from here on knows what it missed */
        sc_store_trigger_set(rt->store, t->scenario, t->key, now, -1);
    }
    t->next_ms = slot_after(t, now);
}

static void run_triggers(struct sc_daemon *d, struct sc_runtime *rt, struct sc_catalog *c,
                         bool lead)
{
    int64_t now = sc_clock_now_ms();
    for (size_t i = 0; i < c->ntimers; i++) {
        struct sc_catalog_timer *t = &c->timers[i];
        if (t->next_ms < 0 || t->next_ms > now)
            continue;
        int64_t slot = t->next_ms;
        int late = 0;
        for (int64_t s = slot_after(t, slot); s >= 0 && s <= now && late < 100000;
             s = slot_after(t, s)) {
            slot = s;
            late++;
        }
        if (!lead) { /* another daemon on the shared store fires it */
        } else if (t->poll) {
            fire_poll(d, rt, t, slot);
        } else {
            fire_schedule(d, rt->store, t, slot, late);
            if (sc_daemon_queued(d, rt->store) != 0)
                sc_daemon_say("%s of %s: queued but not yet on disk: %s", t->key, t->scenario,
                              sc_store_error(rt->store));
        }
        t->next_ms = slot_after(t, slot > now ? slot : now);
    }
}

/* The org's scheduled backup of every current version (backup: {to, cron}). */
static void run_backup(struct sc_daemon *d, struct sc_store *st)
{
    if (!d->sched.backup_dir || d->sched.backup_next < 0 || d->sched.backup_next > sc_clock_now_ms())
        return;
    int written, unchanged;
    char err[600];
    if (sc_backup_run(st, d->sched.backup_dir, &written, &unchanged, err, sizeof err) != 0)
        sc_daemon_say("backup to %s failed: %s", d->sched.backup_dir, err);
    else
        sc_daemon_say("backup to %s: %d written, %d unchanged", d->sched.backup_dir, written,
                      unchanged);
    const char *tz = d->org->timezone;
    d->sched.backup_next = sc_cron_next(&d->sched.backup_cron, tz, sc_clock_now_ms());
}

/* The org's scheduled checkpoint of the audit log's head, sent out of the database. */
static void run_audit_checkpoint(struct sc_daemon *d, struct sc_runtime *rt)
{
    if (!d->sched.audit_cp || d->sched.audit_next < 0 || d->sched.audit_next > sc_clock_now_ms())
        return;
    char err[700];
    if (sc_audit_checkpoint_run(rt->store, d->org, rt->http, err, sizeof err) != 0)
        sc_daemon_say("audit checkpoint failed: %s", err);
    else
        sc_daemon_say("audit checkpoint: %s", err);
    const char *tz = d->org->timezone;
    int64_t now = sc_clock_now_ms();
    d->sched.audit_next = d->sched.audit_every_ms > 0 ? now + d->sched.audit_every_ms
                                          : sc_cron_next(&d->sched.audit_cron, tz, now);
}

/* Batches of the org's retention per pass: a backlog goes on a second later, so the main
 * thread's other timers are never held up long; each batch takes the write turn alone. */
#define PRUNE_BATCHES 8

/* The org's retention (retention:), every retention.every on the engine's clock. */
static void run_prune(struct sc_daemon *d, struct sc_runtime *rt)
{
    if (d->sched.prune_next < 0 || d->sched.prune_next > sc_clock_now_ms())
        return;
    json_t *counts = json_object();
    char err[800];
    int r = counts ? sc_retention_run(rt->store, d->org, false, PRUNE_BATCHES, counts, err,
                                      sizeof err) : -1;
    if (r < 0) {
        sc_daemon_say("prune failed: %s", counts ? err : "out of memory");
    } else if (json_object_size(counts)) {
        char *text = json_dumps(counts, JSON_COMPACT | JSON_SORT_KEYS);
        sc_daemon_say("pruned: %s", text ? text : "(out of memory)");
        free(text);
    }
    json_decref(counts);
    d->sched.prune_next = sc_clock_now_ms() + (r == 1 ? 1000 : d->org->retention.every_ms);
}

int64_t sc_timers_next(const struct sc_daemon *d, const struct sc_catalog *c)
{
    int64_t next = d->sched.backup_dir ? d->sched.backup_next : -1;
    if (d->sched.prune_next >= 0 && (next < 0 || d->sched.prune_next < next))
        next = d->sched.prune_next;
    if (d->sched.audit_cp && d->sched.audit_next >= 0 && (next < 0 || d->sched.audit_next < next))
        next = d->sched.audit_next;
    for (size_t i = 0; i < c->ntimers; i++)
        if (c->timers[i].next_ms >= 0 && (next < 0 || c->timers[i].next_ms < next))
            next = c->timers[i].next_ms;
    return sc_targets_next(d, next);
}


/* The audit key is read before anything is taken in (a write without its audit row is
 * never sent, so a missing key would stop every write), and the checkpoint scheduled. */
static int audit_schedule(struct sc_daemon *d, char *err, size_t errlen)
{
    const char *ref = sc_audit_key_ref(d->org);
    char *key = ref ? sc_org_secret(ref, err, errlen) : NULL;
    if (ref && !key)
        return -1;
    bool short_key = key && strlen(key) < 32;
    if (key)
        memset(key, 0, strlen(key));
    free(key);
    if (short_key) {
        snprintf(err, errlen, "audit key %s is shorter than 32 characters", ref);
        return -1;
    }
    if (!d->org->audit.checkpoint)
        return 0;
    bool every = !d->org->audit.cp_cron; /* validation: exactly one of cron and every */
    const char *tz = d->org->timezone;
    struct sc_cron_err ce;
    int64_t now = sc_clock_now_ms();
    if (every) {
        d->sched.audit_every_ms = d->org->audit.cp_every_ms;
        d->sched.audit_next = now + d->sched.audit_every_ms;
    } else if (sc_cron_parse(d->org->audit.cp_cron, &d->sched.audit_cron, &ce) == 0) {
        d->sched.audit_next = sc_cron_next(&d->sched.audit_cron, tz, now);
    } else {
        return 0; /* the org's validation said why */
    }
    d->sched.audit_cp = d->sched.audit_every_ms > 0 || !every;
    return 0;
}

int sc_timers_org(struct sc_daemon *d, char *err, size_t errlen)
{
    struct sc_cron_err ce;
    if (d->org->backup.to && sc_cron_parse(d->org->backup.cron, &d->sched.backup_cron, &ce) == 0) {
        d->sched.backup_dir = d->org->backup.to;
        d->sched.backup_next = sc_cron_next(&d->sched.backup_cron, d->org->timezone,
                                            sc_clock_now_ms());
    }
    /* the first pass at start: what a stopped daemon left due goes first */
    d->sched.prune_next = d->org->retention.on ? sc_clock_now_ms() : -1;
    if (sc_targets_arm(d) != 0)
        return snprintf(err, errlen, "out of memory"), -1;
    return audit_schedule(d, err, errlen);
}

void sc_timers_arm(struct sc_daemon *d, struct sc_runtime *rt, struct sc_catalog *c)
{
    for (size_t i = 0; i < c->ntimers; i++)
        arm(d, rt, &c->timers[i]);
}

void sc_timers_run(struct sc_daemon *d, struct sc_runtime *rt, struct sc_catalog *c)
{
    /* on a store shared by several daemons one of them leads the timers (a slot fired
     * twice would still be one event: its dedupe key is the slot) */
    bool lead = sc_store_lead(rt->store) == 1;
    run_triggers(d, rt, c, lead);
    if (!lead)
        return;
    run_backup(d, rt->store);
    run_audit_checkpoint(d, rt);
    run_prune(d, rt);
    sc_targets_run(d, rt);
}
