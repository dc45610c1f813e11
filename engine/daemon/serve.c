/* The daemon's lifecycle: the catalog of scenarios, the workers, schedules and polls
 * (run by the main thread, which also waits for signals), reload and drain. */
#include "daemon/daemon.h"
#include "model/files.h"

#include "run/audit.h"
#include "clock.h"
#include "lang/duration.h"
#include "run/http.h"
#include "run/runner.h"
#include "util.h"
#include "model/validate.h"
#include "store/hooks.h"
#include "store/version.h"
#include "model/webhook.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const sc_rejection_names[REJ_COUNT] = {
    [REJ_NOT_FOUND] = "not_found", [REJ_METHOD] = "method_not_allowed",
    [REJ_MEDIA_TYPE] = "unsupported_media_type", [REJ_TOO_LARGE] = "too_large",
    [REJ_MALFORMED] = "malformed_json", [REJ_MISSING_SIGNATURE] = "missing_signature",
    [REJ_BAD_SIGNATURE] = "bad_signature", [REJ_STALE] = "stale_timestamp",
    [REJ_SECRET] = "secret_unusable", [REJ_STOPPING] = "stopping",
    [REJ_BAD_REQUEST] = "bad_request",
};

const double sc_lat_bounds[LAT_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                           0.5,   1,    2.5,   5,    10,  60};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "scenarist: %s\n", line);
}

struct turn {
    pthread_cond_t cv;
    bool go;
    struct turn *next;
};

void turns_init(struct turns *t)
{
    pthread_mutex_init(&t->mu, NULL);
    t->busy = false;
    t->head = NULL;
    t->tail = &t->head;
}

void turns_destroy(struct turns *t) { pthread_mutex_destroy(&t->mu); }

void turns_take(struct turns *t)
{
    pthread_mutex_lock(&t->mu);
    if (t->busy) {
        struct turn me = {.go = false};
        pthread_cond_init(&me.cv, NULL);
        *t->tail = &me;
        t->tail = &me.next;
        while (!me.go)
            pthread_cond_wait(&me.cv, &t->mu);
        pthread_cond_destroy(&me.cv);
    }
    t->busy = true;
    pthread_mutex_unlock(&t->mu);
}

void turns_give(struct turns *t)
{
    pthread_mutex_lock(&t->mu);
    struct turn *next = t->head;
    if (next) { /* it stays busy: the turn passes straight on */
        if (!(t->head = next->next))
            t->tail = &t->head;
        next->go = true;
        pthread_cond_signal(&next->cv);
    } else {
        t->busy = false;
    }
    pthread_mutex_unlock(&t->mu);
}

void daemon_join(pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop, pthread_t th)
{
    pthread_mutex_lock(mu);
    *stop = true;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
    pthread_join(th, NULL);
}

static void take_turn(void *t) { turns_take(t); }
static void give_turn(void *t) { turns_give(t); }

void daemon_turns(struct daemon *d, struct sc_store *st)
{
    sc_store_turns(st, take_turn, give_turn, &d->writes);
}

void daemon_kick(struct daemon *d)
{
    pthread_mutex_lock(&d->mu);
    d->kicks++;
    pthread_cond_signal(&d->work); /* one: a worker that finds more wakes the next */
    pthread_mutex_unlock(&d->mu);
}

int daemon_queued(struct daemon *d, struct sc_store *st)
{
    int64_t top = sc_store_last_seq(st); /* before the sync: all up to it will be on disk */
    if (top < 0 || sc_store_sync(st) != 0)
        return -1;
    long long seen = atomic_load(&d->synced_seq);
    while (seen < top && !atomic_compare_exchange_weak(&d->synced_seq, &seen, top))
        ;
    daemon_kick(d);
    return 0;
}

/* ---- the catalog ---- */

/* The scenario files (files.h: the same walk as validate and deploy). NULL when a
 * path does not exist or a folder holds no scenario file (said). */
static char **expand_paths(const struct sc_serve_opts *o, size_t *n)
{
    static const char *const def[] = {"scenarios"};
    const char *const *paths = o->npaths ? o->paths : def;
    size_t np = o->npaths ? o->npaths : 1;
    struct sc_files f = {0};
    for (size_t i = 0; i < np; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0) {
            say("%s: %s", paths[i], strerror(errno));
            sc_files_free(&f);
            return NULL;
        }
        long k = sc_files_add(&f, paths[i]);
        if (k <= 0) {
            say("%s: %s", paths[i], k < 0 ? "out of memory" : "no scenario files (*.yaml, *.yml) in this folder");
            sc_files_free(&f);
            return NULL;
        }
    }
    *n = f.n;
    return sc_files_take(&f);
}

/* A string member, or def when absent. */
static const char *str_or(json_t *obj, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : def;
}

/* True when a respond step appears anywhere in the scenario (routes, routers). */
static bool has_respond(json_t *v)
{
    if (json_is_object(v)) {
        const struct sc_module_def *m = sc_module_find(str_or(v, "module", ""));
        if (m && (m->flags & SC_M_RESPOND))
            return true;
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
            if (has_respond(x))
                return true;
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            if (has_respond(x))
                return true;
    }
    return false;
}

/* "3" for "version:NAME@3", else "draft". */
static void version_of(const char *source, char *out, size_t n)
{
    const char *at = strncmp(source, "version:", 8) ? NULL : strrchr(source, '@');
    snprintf(out, n, "%s", at ? at + 1 : "draft");
}

static void catalog_free(struct daemon *d, struct catalog *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&d->intake_mu);
    for (size_t i = 0; i < c->nroutes; i++) {
        struct route *r = &c->routes[i];
        sc_tmpl_free(r->dedupe, d->intake_lua);
        json_decref(r->dedupe_src);
        if (r->secret)
            memset(r->secret, 0, strlen(r->secret));
        free(r->secret);
        free(r->scheme);
        free(r->path);
        free(r->scenario);
        free(r->source);
    }
    pthread_mutex_unlock(&d->intake_mu);
    free(c->routes);
    free(c->timers);
    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->scs)
            sc_scenario_free(c->scs[i]);
        free(c->files[i]);
    }
    free(c->scs);
    free(c->files);
    free(c);
}

static int add_route(struct daemon *d, struct catalog *c, size_t file,
                     const struct sc_def_trigger *w, struct sc_diags *diag)
{
    json_t *root = sc_scenario_json(c->scs[file]);
    const struct sc_def_settings *set = &sc_scenario_def(c->scs[file])->settings;
    struct route *r = &c->routes[c->nroutes++];
    r->path = sc_strdup(w->path);
    r->scenario = sc_strdup(sc_scenario_name(c->scs[file]));
    r->source = sc_strdup(c->files[file]);
    version_of(c->files[file], r->version, sizeof r->version);
    r->realtime = w->realtime;
    r->sequential = set->sequential;
    r->confidential = set->confidential;
    r->respond = has_respond(json_object_get(root, "steps"));
    if (!r->path || !r->scenario || !r->source)
        return -1;
    const char *auth = w->auth;
    if (auth) {
        const struct sc_org_hook *hook = sc_org_hook(d->org, auth);
        char err[300] = "out of memory";
        r->scheme = sc_strdup(hook && hook->scheme ? hook->scheme : "");
        const char *ref = hook ? hook->secret.ref : NULL;
        if (ref && !hook->secret.value) /* read at the org's load, not here */
            snprintf(err, sizeof err, "%s", hook->secret.err);
        if (!r->scheme || !ref || !hook->secret.value ||
            !(r->secret = sc_strdup(hook->secret.value)) ||
            sc_webhook_secret_check(r->scheme, r->secret, err, sizeof err) != 0) {
            struct sc_src src = {.name = c->files[file]};
            sc_diag_add(diag, SC_SEV_ERROR, &src, 0, 0, 0, "webhook %s: secret %s: %s", r->path,
                        auth, ref ? err : "not defined in the org");
            return -1;
        }
    }
    json_t *dk = w->dedupe_key;
    if (dk) {
        char err[300];
        r->dedupe_src = json_deep_copy(dk);
        pthread_mutex_lock(&d->intake_mu);
        r->dedupe = r->dedupe_src ? sc_tmpl_compile(d->intake_lua, r->dedupe_src, err, sizeof err)
                                  : NULL;
        pthread_mutex_unlock(&d->intake_mu);
        /* a dedupe_key {{ }} giving null/missing/"" fails: no key, not one key for all events */
        sc_tmpl_set_encoder(r->dedupe, NULL, sc_tmpl_key_value);
        if (!r->dedupe) {
            struct sc_src src = {.name = c->files[file]};
            sc_diag_add(diag, SC_SEV_ERROR, &src, 0, 0, 0, "webhook %s: dedupe_key: %s", r->path,
                        r->dedupe_src ? err : "out of memory");
            return -1;
        }
    }
    return 0;
}

static void add_timer(struct daemon *d, struct catalog *c, size_t file,
                      const struct sc_def_trigger *t)
{
    const struct sc_def_settings *set = &sc_scenario_def(c->scs[file])->settings;
    size_t trig = t->index;
    const char *kind = sc_def_kind_name(t->kind);
    struct timer *tm = &c->timers[c->ntimers++];
    tm->sc = c->scs[file];
    tm->scenario = sc_scenario_name(tm->sc);
    tm->source = c->files[file];
    version_of(tm->source, tm->version, sizeof tm->version);
    tm->trigger = trig;
    tm->poll = !strcmp(kind, "poll");
    snprintf(tm->key, sizeof tm->key, "%s:%zu", kind, trig);
    tm->sequential = set->sequential;
    tm->confidential = set->confidential;
    tm->catch_up = t->catch_up;
    const char *cron = t->cron;
    struct sc_cron_err e;
    tm->has_cron = cron && sc_cron_parse(cron, &tm->cron, &e) == 0;
    const char *tz = t->tz;
    if (!tz)
        tz = d->org->timezone; /* the org file's table gives it a default */
    snprintf(tm->tz, sizeof tm->tz, "%s", tz);
    tm->every_ms = t->every_ms;
    tm->window_ms = t->window_ms;
    tm->skew_ms = t->skew_ms;
    tm->next_ms = -1;
}

/* With no paths given: the current version of every deployed scenario
 * ("version:NAME@N"), or, when nothing is deployed, the files of scenarios/. */
static char **deployed(struct daemon *d, struct sc_store *st, size_t *n)
{
    json_t *cur = sc_store_versions_current(st);
    size_t k = json_array_size(cur), i;
    json_t *v;
    d->versions = k > 0;
    if (!k) {
        json_decref(cur);
        return expand_paths(&d->o, n);
    }
    char **out = sc_calloc(k + 1, sizeof *out);
    *n = 0;
    json_array_foreach(cur, i, v) {
        if (out && !(out[*n] = sc_asprintf("version:%s@%lld", json_string_value(json_object_get(v, "scenario")),
                                           (long long)json_integer_value(json_object_get(v, "number")))))
            break;
        (*n)++;
    }
    json_decref(cur);
    return out;
}

/* Loads and validates every scenario (one validator: webhook paths and names are
 * unique across them) and makes its routes and timers. NULL when anything is wrong. */
static struct catalog *catalog_load(struct daemon *d, struct sc_runtime *rt, struct sc_diags *diag)
{
    struct catalog *c = sc_calloc(1, sizeof *c);
    if (!c || !(c->files = d->o.npaths ? expand_paths(&d->o, &c->nfiles)
                                       : deployed(d, rt->store, &c->nfiles)))
        goto fail;
    struct sc_validator *v = sc_validator_new(d->org, diag);
    c->scs = sc_calloc(c->nfiles + 1, sizeof *c->scs);
    size_t nroutes = 0, ntimers = 0;
    for (size_t i = 0; v && c->scs && i < c->nfiles; i++) {
        c->scs[i] = sc_runner_load(rt, c->files[i], v, diag);
        const struct sc_def *def = c->scs[i] ? sc_scenario_def(c->scs[i]) : NULL;
        for (size_t k = 0; def && k < def->ntriggers; k++) {
            nroutes += def->triggers[k].kind == SC_DEF_WEBHOOK;
            ntimers += def->triggers[k].kind == SC_DEF_SCHEDULE ||
                       def->triggers[k].kind == SC_DEF_POLL;
        }
    }
    sc_validator_free(v);
    if (!v || !c->scs || diag->errors)
        goto fail;
    c->routes = sc_calloc(nroutes + 1, sizeof *c->routes);
    c->timers = sc_calloc(ntimers + 1, sizeof *c->timers);
    if (!c->routes || !c->timers)
        goto fail;
    for (size_t i = 0; i < c->nfiles; i++) {
        const struct sc_def *def = c->scs[i] ? sc_scenario_def(c->scs[i]) : NULL;
        for (size_t k = 0; def && k < def->ntriggers; k++) {
            const struct sc_def_trigger *t = &def->triggers[k];
            if (t->kind == SC_DEF_WEBHOOK && add_route(d, c, i, t, diag) != 0)
                goto fail;
            if (t->kind == SC_DEF_SCHEDULE || t->kind == SC_DEF_POLL)
                add_timer(d, c, i, t);
        }
    }
    return c;
fail:
    if (!diag->errors) {
        struct sc_src src = {.name = "scenarios"};
        sc_diag_add(diag, SC_SEV_ERROR, &src, 0, 0, 0, "the scenarios could not be loaded");
    }
    catalog_free(d, c);
    return NULL;
}

/* ---- time: schedules and polls ---- */

/* The first slot of t strictly after after_ms. */
static int64_t slot_after(const struct timer *t, int64_t after_ms)
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
static int queue_event(struct daemon *d, struct sc_store *st, const struct timer *t,
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

static void fire_schedule(struct daemon *d, struct sc_store *st, struct timer *t, int64_t slot,
                          int missed)
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
        say("schedule %s of %s at %s could not be queued: %s", t->key, t->scenario, at,
            sc_store_error(st));
    }
    json_decref(trigger);
}

/* A poll that fails is recorded as a failed execution (visible in executions and
 * metrics); the watermark becomes the point it asked from, so the next poll asks again
 * from there at the latest. */
static void poll_failed(struct daemon *d, struct sc_store *st, const struct timer *t,
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
    json_t *summary = json_pack("{s:{s:s, s:s, s:s}}", "error", "kind", sc_status_name(status),
                                "message", err, "step", "poll");
    if (rc != 0 || sc_store_exec_end(st, id, "error", 0, summary, false) != 0)
        say("%s of %s failed (%s) and could not be recorded: %s", t->key, t->scenario, err,
            sc_store_error(st));
    else
        say("%s of %s failed: %s (execution %s); the next poll asks again from the same point",
            t->key, t->scenario, err, id);
    json_decref(summary);
}

static void fire_poll(struct daemon *d, struct sc_runtime *rt, struct timer *t, int64_t slot)
{
    struct sc_store *st = rt->store;
    int64_t now = sc_clock_now_ms(), last, mark;
    if (sc_store_trigger_get(st, t->scenario, t->key, &last, &mark) < 0) {
        say("%s of %s: %s", t->key, t->scenario, sc_store_error(st));
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
        say("%s of %s: its items could not be queued: %s", t->key, t->scenario,
            sc_store_error(st));
    } else if (fresh && daemon_queued(d, st) != 0) {
        say("%s of %s: its items are queued but not yet on disk: %s", t->key, t->scenario,
            sc_store_error(st));
    }
    json_decref(items);
    json_decref(base);
}

/* Arms a timer from its stored state: runs missed while the daemon was down fire once
 * now (catch_up: once) or not at all (skip). */
static void arm(struct daemon *d, struct sc_runtime *rt, struct timer *t)
{
    int64_t now = sc_clock_now_ms(), last, mark;
    int rc = sc_store_trigger_get(rt->store, t->scenario, t->key, &last, &mark);
    if (rc == 0 && last >= 0) {
        int missed = 0;
        int64_t slot = -1;
        for (int64_t s = slot_after(t, last); s >= 0 && s <= now && missed < 100000;
             s = slot_after(t, s)) {
            slot = s;
            missed++;
        }
        if (missed && t->catch_up) {
            say("%s of %s: %d run%s missed while stopped; catching up once", t->key,
                t->scenario, missed, missed == 1 ? "" : "s");
            if (t->poll)
                fire_poll(d, rt, t, slot);
            else
                fire_schedule(d, rt->store, t, slot, missed);
        } else if (missed) {
            say("%s of %s: %d run%s missed while stopped; skipped (catch_up: skip)", t->key,
                t->scenario, missed, missed == 1 ? "" : "s");
            sc_store_trigger_set(rt->store, t->scenario, t->key, slot, -1);
        }
    } else if (rc >= 0) { /* first sight: a restart from here on knows what it missed */
        sc_store_trigger_set(rt->store, t->scenario, t->key, now, -1);
    }
    t->next_ms = slot_after(t, now);
}

static void run_timers(struct daemon *d, struct sc_runtime *rt, struct catalog *c)
{
    int64_t now = sc_clock_now_ms();
    for (size_t i = 0; i < c->ntimers; i++) {
        struct timer *t = &c->timers[i];
        if (t->next_ms < 0 || t->next_ms > now)
            continue;
        int64_t slot = t->next_ms;
        int late = 0;
        for (int64_t s = slot_after(t, slot); s >= 0 && s <= now && late < 100000;
             s = slot_after(t, s)) {
            slot = s;
            late++;
        }
        if (t->poll) {
            fire_poll(d, rt, t, slot);
        } else {
            fire_schedule(d, rt->store, t, slot, late);
            if (daemon_queued(d, rt->store) != 0)
                say("%s of %s: queued but not yet on disk: %s", t->key, t->scenario,
                    sc_store_error(rt->store));
        }
        t->next_ms = slot_after(t, slot > now ? slot : now);
    }
}

/* The org's scheduled backup of every current version (backup: {to, cron}). */
static void run_backup(struct daemon *d, struct sc_store *st)
{
    if (!d->backup_dir || d->backup_next < 0 || d->backup_next > sc_clock_now_ms())
        return;
    int written, unchanged;
    char err[600];
    if (sc_backup_run(st, d->backup_dir, &written, &unchanged, err, sizeof err) != 0)
        say("backup to %s failed: %s", d->backup_dir, err);
    else
        say("backup to %s: %d written, %d unchanged", d->backup_dir, written, unchanged);
    const char *tz = d->org->timezone;
    d->backup_next = sc_cron_next(&d->backup_cron, tz, sc_clock_now_ms());
}

/* The org's scheduled checkpoint of the audit log's head, sent out of the database. */
static void run_audit_checkpoint(struct daemon *d, struct sc_runtime *rt)
{
    if (!d->audit_cp || d->audit_next < 0 || d->audit_next > sc_clock_now_ms())
        return;
    char err[700];
    if (sc_audit_checkpoint_run(rt->store, d->org, rt->http, err, sizeof err) != 0)
        say("audit checkpoint failed: %s", err);
    else
        say("audit checkpoint: %s", err);
    const char *tz = d->org->timezone;
    int64_t now = sc_clock_now_ms();
    d->audit_next = d->audit_every_ms > 0 ? now + d->audit_every_ms
                                          : sc_cron_next(&d->audit_cron, tz, now);
}

static int64_t next_timer(const struct daemon *d, const struct catalog *c)
{
    int64_t next = d->backup_dir ? d->backup_next : -1;
    if (d->audit_cp && d->audit_next >= 0 && (next < 0 || d->audit_next < next))
        next = d->audit_next;
    for (size_t i = 0; i < c->ntimers; i++)
        if (c->timers[i].next_ms >= 0 && (next < 0 || c->timers[i].next_ms < next))
            next = c->timers[i].next_ms;
    return next;
}

/* ---- workers ---- */

struct worker {
    struct daemon *d;
    pthread_t th;
    int no;
    struct sc_runtime rt;
    struct sc_runner *rn;        /* NULL when out of memory: the worker takes no work */
    unsigned gen;
    bool started;
    struct finished *fin;        /* a batch's executions, answered once it is committed */
    struct sc_watch watch;       /* the step it runs now (the main thread's watchdog) */
    atomic_bool retired;         /* stuck and replaced: it stops once its step comes back */
};

/* Spare worker slots for those that replace stuck ones. */
#define SPARE_WORKERS 16

/* At most this many local executions per batch (claimed together), written together as
 * computed in up to BATCH_MS. */
#define BATCH_MAX 128
#define BATCH_MS 4

struct finished {
    char id[64];
    json_t *rec;
    char err[512];
};

static void worker_unload(struct worker *w)
{
    sc_runner_free(w->rn);
    w->rn = NULL;
}

/* A fresh runner for the current catalog: it compiles a scenario into this worker's Lua
 * state when an event first needs it, so an idle daemon holds no copy per worker (the
 * catalog has validated every file already). */
static void worker_load(struct worker *w)
{
    worker_unload(w);
    w->gen = atomic_load(&w->d->gen);
    w->rn = sc_runner_new(&w->rt);
    sc_lua_memory(w->rt.lua); /* a full collection: what the last catalog left goes now, */
    malloc_trim(0);           /* and back to the system */
}

static void observe(struct daemon *d, json_t *rec)
{
    int64_t ms = json_integer_value(json_object_get(rec, "duration_ms"));
    size_t b = 0;
    while (b < LAT_BUCKETS && (double)ms / 1000.0 > sc_lat_bounds[b])
        b++;
    atomic_fetch_add(&d->lat[b], 1);
    atomic_fetch_add(&d->lat_count, 1);
    atomic_fetch_add(&d->lat_sum_ms, (unsigned long long)(ms > 0 ? ms : 0));
}

static void ran(struct worker *w, const char *id, json_t *rec, const char *err)
{
    struct daemon *d = w->d;
    if (!rec) {
        say("execution %s: %s", id, err);
        sc_httpd_answer(d, id, NULL);
        return;
    }
    observe(d, rec);
    sc_httpd_answer(d, id, json_object_get(rec, "response"));
    const char *status = json_string_value(json_object_get(rec, "status"));
    if (strcmp(status, "success") != 0 && strcmp(status, "sleeping") != 0) {
        json_t *e = json_object_get(rec, "error");
        json_t *inc = json_array_get(json_object_get(rec, "incomplete"), 0);
        if (!e)
            e = json_object_get(inc, "error");
        say("execution %s (%s) ended %s: %s%s%s%s", id,
            json_string_value(json_object_get(rec, "scenario")), status,
            str_or(e, "message", str_or(json_object_get(inc, "hold"), "reason",
                                        "see scenarist execution ID")), inc ? " (" : "",
            inc ? sc_status_retry_note(inc) : "", inc ? ")" : "");
    }
}

static bool retry_due(struct worker *w)
{
    int64_t now = sc_clock_now_ms();
    json_t *due = sc_store_incomplete_due(w->rt.store, now);
    bool any = false;
    size_t i;
    json_t *v;
    json_array_foreach(due, i, v) {
        if (atomic_load(&w->d->stopping))
            break;
        char err[512] = "";
        struct sc_diags diag;
        sc_diags_init(&diag);
        json_t *rec = sc_runner_retry(w->rn, json_string_value(v), now, &diag, err, sizeof err);
        sc_diags_free(&diag);
        if (rec) { /* else another worker took it first */
            any = true;
            ran(w, json_string_value(v), rec, err);
        }
        json_decref(rec);
    }
    json_decref(due);
    return any;
}

static void resume_abandoned(struct worker *w)
{
    /* this process's own are renewed first: a clock that jumped (the test clock) while the
     * heartbeat slept must not make them look abandoned */
    if (sc_store_lease_renew(w->rt.store) != 0)
        say("%s", sc_store_error(w->rt.store));
    json_t *ids = sc_store_exec_abandoned(w->rt.store);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        char err[512] = "";
        struct sc_diags diag;
        sc_diags_init(&diag);
        say("resuming execution %s, left unfinished by a stopped process (its lease expired)", json_string_value(v));
        json_t *rec = sc_runner_again(w->rn, json_string_value(v), &diag, err, sizeof err);
        sc_diags_free(&diag);
        ran(w, json_string_value(v), rec, err);
        json_decref(rec);
    }
    json_decref(ids);
}

/* Claims up to BATCH_MAX queued events in one short transaction: local ones in a row into
 * claimed, stopping at the first that is not local (*other) or whose scenario this worker
 * has not loaded yet (loaded after the commit: loading runs Lua). 0, or -1 on a store error
 * (nothing claimed); *empty when the queue ran out. */
static int claim_batch(struct worker *w, json_t **claimed, size_t *n, json_t **other,
                       bool *empty, struct sc_diags *diag)
{
    struct daemon *d = w->d;
    struct sc_store *st = w->rt.store;
    bool unknown = false;
    *n = 0;
    *other = NULL;
    *empty = false;
    int rc = sc_store_tx_begin(st); /* its write turn, till the commit */
    while (rc == 0 && *n < BATCH_MAX && !unknown) {
        json_t *info;
        int got = sc_store_claim_next(st, atomic_load(&d->synced_seq), &info);
        if (got != SC_STORE_OK) {
            rc = got < 0 ? -1 : 0;
            *empty = got == SC_STORE_NONE;
            break;
        }
        const char *id = json_string_value(json_object_get(info, "id"));
        if (json_object_get(info, "unreadable")) { /* it stays running: a restart tries again */
            say("execution %s: %s", id, json_string_value(json_object_get(info, "unreadable")));
            json_decref(info);
            continue;
        }
        int local = sc_runner_known_local(w->rn, json_string_value(json_object_get(info, "source")));
        if (local == 0) {
            *other = info;
            break;
        }
        unknown = local < 0;
        claimed[(*n)++] = info;
    }
    if (rc == 0)
        rc = sc_store_tx_commit(st); /* it rolls back when it cannot commit */
    else
        sc_store_tx_rollback(st);
    if (rc != 0) { /* rolled back: the events are queued as before, not this process's */
        say("worker %d: %s", w->no, sc_store_error(st));
        for (size_t i = 0; i < *n; i++) {
            sc_store_exec_release(json_string_value(json_object_get(claimed[i], "id")));
            json_decref(claimed[i]);
        }
        if (*other)
            sc_store_exec_release(json_string_value(json_object_get(*other, "id")));
        json_decref(*other);
        *n = 0;
        *other = NULL;
        return -1;
    }
    if (unknown && !sc_runner_local(w->rn, json_string_value(json_object_get(
                                                claimed[*n - 1], "source")), diag)) {
        *other = claimed[--*n];
        *empty = false;
    }
    return 0;
}

/* Computes claimed executions with their writes deferred, outside any transaction, as
 * many as BATCH_MS allows (*used of the n, at least one), then writes them in one short
 * one. An execution whose writes cannot be deferred is added to direct (run on its own
 * afterwards). Computed again when another connection changed a data store value they
 * read, or after a store error (once a second, until the store takes it or the daemon
 * stops: they stay claimed, a restart resumes them). 0 committed (w->fin[0..*nfin)
 * answered by the caller), -1 not. */
static int run_batch(struct worker *w, json_t **claimed, size_t n, size_t *used, size_t *nfin,
                     json_t **direct, size_t *ndirect, struct sc_diags *diag)
{
    struct daemon *d = w->d;
    struct sc_store *st = w->rt.store;
    size_t first = *ndirect;
    *used = 0;
    for (;;) {
        *nfin = 0;
        *ndirect = first;
        sc_store_defer(st, true);
        int64_t t0 = sc_clock_mono_ms();
        /* up to BATCH_MS of them: the rest after this commit, so that answers wait for no
         * slow neighbour; computed again, the same ones */
        for (size_t i = 0; i < n && (!*used || i < *used); i++) {
            size_t mark = sc_store_defer_mark(st);
            struct finished *f = &w->fin[*nfin];
            snprintf(f->id, sizeof f->id, "%s", json_string_value(json_object_get(claimed[i], "id")));
            f->err[0] = '\0';
            f->rec = sc_runner_queued(w->rn, claimed[i], true, diag, f->err, sizeof f->err);
            if (sc_store_defer_refused(st)) {
                sc_store_defer_cut(st, mark);
                json_decref(f->rec);
                direct[(*ndirect)++] = claimed[i];
            } else {
                (*nfin)++;
            }
            if (!*used && (i + 1 == n || sc_clock_mono_ms() - t0 >= BATCH_MS))
                *used = i + 1;
        }
        int rc = sc_store_tx_begin(st);
        if (rc == 0)
            rc = sc_store_defer_apply(st);
        if (rc == 0)
            rc = sc_store_tx_commit(st);
        else
            sc_store_tx_rollback(st);
        sc_store_defer(st, false);
        if (rc == 0) {
            daemon_store_ok(d, NULL);
            return 0;
        }
        if (rc < 0)
            daemon_store_ok(d, sc_store_error(st));
        for (size_t i = 0; i < *nfin; i++)
            json_decref(w->fin[i].rec);
        *nfin = 0;
        if (atomic_load(&d->stopping))
            return -1; /* they stay claimed: the next start resumes them */
        if (rc == SC_STORE_CONFLICT)
            continue; /* a conflict: another commit came between, so the daemon moves on */
        say("worker %d: %s; trying again in a second", w->no, sc_store_error(st));
        pthread_mutex_lock(&d->mu);
        struct timespec ts = sc_clock_deadline(1000);
        pthread_cond_timedwait(&d->finished, &d->mu, &ts);
        pthread_mutex_unlock(&d->mu);
    }
}

/* Runs what the queue holds. Local executions claimed in a row are computed outside any
 * transaction and written in one (run_batch); nothing of them is answered before that
 * commit. Anything else runs on its own, each step recorded as it goes. 2 when it ran
 * something and more may wait, 1 when it ran the queue empty, 0 when the queue had
 * nothing runnable, -1 on a store error. */
static int take_queue(struct worker *w)
{
    struct sc_diags diag;
    sc_diags_init(&diag);
    json_t *claimed[BATCH_MAX], *direct[BATCH_MAX], *other;
    size_t n, nfin = 0, ndirect = 0;
    bool empty;
    int rc = claim_batch(w, claimed, &n, &other, &empty, &diag);
    for (size_t at = 0, used; rc == 0 && at < n; at += used) {
        rc = run_batch(w, claimed + at, n - at, &used, &nfin, direct, &ndirect, &diag);
        for (size_t i = 0; i < nfin; i++) {
            if (rc == 0)
                ran(w, w->fin[i].id, w->fin[i].rec, w->fin[i].err);
            json_decref(w->fin[i].rec);
        }
    }
    int worked = rc != 0 ? -1 : !n && !other ? 0 : empty ? 1 : 2;
    for (size_t i = 0; rc == 0 && i <= ndirect; i++) {
        json_t *info = i < ndirect ? direct[i] : other;
        if (!info)
            continue;
        char err[512] = "";
        json_t *rec = sc_runner_queued(w->rn, info, false, &diag, err, sizeof err);
        ran(w, json_string_value(json_object_get(info, "id")), rec, err);
        json_decref(rec);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(claimed[i]);
    json_decref(other);
    sc_diags_free(&diag);
    return worked;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct daemon *d = w->d;
    char name[16];
    snprintf(name, sizeof name, "sc-worker-%d", w->no % 100);
    prctl(PR_SET_NAME, name); /* as top -H and perf show it */
    worker_load(w);
    int64_t swept = sc_clock_mono_ms(), swept_at = sc_clock_now_ms();
    if (w->no == 0)
        resume_abandoned(w);
    while (!atomic_load(&d->stopping) && !atomic_load(&w->retired)) {
        if (w->gen != atomic_load(&w->d->gen))
            worker_load(w);
        /* another process (a `scenarist run`) may die mid-execution while we serve, or
         * an end went unrecorded (a full disk): taken up once its lease lapses */
        if (w->no == 0 && (sc_clock_mono_ms() - swept > sc_store_lease_ms() / 2 ||
                           sc_clock_now_ms() - swept_at >= sc_store_lease_ms() / 2)) {
            swept = sc_clock_mono_ms();
            swept_at = sc_clock_now_ms();
            resume_abandoned(w);
        }
        pthread_mutex_lock(&d->mu);
        unsigned long seen = d->kicks;
        pthread_mutex_unlock(&d->mu);
        atomic_fetch_add(&d->busy, 1);
        int got = w->rn ? take_queue(w) : 0;
        bool worked = got > 0;
        if (got == 2)
            daemon_kick(d); /* another worker helps with the rest */
        if (got == 0 && w->rn)
            worked = retry_due(w);
        atomic_fetch_sub(&d->busy, 1);
        if (worked)
            continue;
        pthread_mutex_lock(&d->mu);
        if (d->kicks == seen && !atomic_load(&d->stopping)) {
            struct timespec ts = sc_clock_deadline(1000); /* retries come due without a kick */
            d->idle++;
            pthread_cond_timedwait(&d->work, &d->mu, &ts);
            d->idle--;
        }
        pthread_mutex_unlock(&d->mu);
    }
    worker_unload(w);
    pthread_mutex_lock(&d->mu);
    d->workers_done++;
    pthread_cond_broadcast(&d->finished);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* A store connection that writes: in turns with the daemon's others, leaving checkpoints
 * to their thread. NULL with err set. */
static struct sc_store *writer_open(struct daemon *d, char *err, size_t errlen)
{
    struct sc_store *st = sc_store_open(d->store_path, d->store_key, err, errlen);
    if (!st)
        return NULL;
    sc_audit_setup(st, d->org);
    daemon_turns(d, st);
    if (sc_store_checkpoint_apart(st) != 0) {
        snprintf(err, errlen, "%s", sc_store_error(st));
        sc_store_close(st);
        return NULL;
    }
    return st;
}

/* A worker's own Lua state, curl handle and store connection. */
static int runtime_open(struct daemon *d, struct sc_runtime *rt, char *err, size_t errlen)
{
    rt->org = d->org;
    if (rt->watch) { /* a worker's */
        rt->watch->grace_ms = d->o.grace_ms;
        rt->park = true;
    }
    if (!(rt->lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, errlen)))
        return -1;
    if (!(rt->http = sc_http_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return (rt->store = writer_open(d, err, errlen)) ? 0 : -1;
}

static void runtime_close(struct sc_runtime *rt)
{
    sc_store_close(rt->store);
    sc_http_free(rt->http);
    sc_lua_free(rt->lua);
}

/* Starts worker slot i (its runtime, its thread); false when it could not (said). */
static bool worker_start(struct daemon *d, struct worker *ws, int i)
{
    char err[600] = "";
    ws[i] = (struct worker){.d = d, .no = i, .fin = sc_calloc(BATCH_MAX, sizeof *ws[i].fin)};
    pthread_mutex_init(&ws[i].watch.mu, NULL);
    ws[i].rt.watch = &ws[i].watch;
    if (!ws[i].fin)
        snprintf(err, sizeof err, "out of memory");
    if (!ws[i].fin || runtime_open(d, &ws[i].rt, err, sizeof err) != 0) {
        say("worker %d: %s", i, err);
        return false;
    }
    ws[i].started = pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) == 0;
    return ws[i].started;
}

void daemon_store_ok(struct daemon *d, const char *err)
{
    if (!err && !atomic_load(&d->store_down))
        return; /* the common case takes no lock */
    pthread_mutex_lock(&d->ready_mu);
    atomic_store(&d->store_down, err != NULL);
    snprintf(d->store_err, sizeof d->store_err, "%s", err ? err : "");
    pthread_mutex_unlock(&d->ready_mu);
}

bool daemon_ready(struct daemon *d, char *why, size_t n)
{
    int64_t now = sc_watch_now_ms();
    int nw = atomic_load(&d->nworkers);
    for (int i = 0; i < nw; i++) {
        struct worker *w = &d->ws[i];
        int64_t dl = atomic_load(&w->watch.deadline_ms);
        if (atomic_load(&w->retired) || !dl || now <= dl)
            continue;
        pthread_mutex_lock(&w->watch.mu);
        snprintf(why, n, "worker %d is %lld ms past the deadline of its %s", w->no,
                 (long long)(now - dl), w->watch.what);
        pthread_mutex_unlock(&w->watch.mu);
        return false;
    }
    if (atomic_load(&d->store_down)) {
        pthread_mutex_lock(&d->ready_mu);
        snprintf(why, n, "the store cannot be written: %s", d->store_err);
        pthread_mutex_unlock(&d->ready_mu);
        return false;
    }
    return true;
}

/* A worker still in its step a second after the step's grace ran out is stuck in code
 * that does not come back (an HTTP request is cut at the grace): a new worker takes its
 * slot's work, the stuck one stops once it is back, and its execution stays running
 * till then (or till the next start resumes it). Returns ms until it should look again. */
static int64_t watchdog(struct daemon *d)
{
    int64_t now = sc_watch_now_ms(), next = 1000;
    int nw = atomic_load(&d->nworkers);
    for (int i = 0; i < nw; i++) {
        struct worker *w = &d->ws[i];
        int64_t dl = atomic_load(&w->watch.deadline_ms);
        if (atomic_load(&w->retired) || !dl)
            continue;
        int64_t due = dl + d->o.grace_ms + 1000;
        if (now < due) {
            next = due - now < next ? due - now : next;
            continue;
        }
        char what[200];
        pthread_mutex_lock(&w->watch.mu);
        snprintf(what, sizeof what, "%s", w->watch.what);
        pthread_mutex_unlock(&w->watch.mu);
        if (nw >= d->o.workers + SPARE_WORKERS) {
            say("worker %d is stuck in its %s, %lld ms past its deadline, and no spare worker "
                "is left: restart the daemon", w->no, what, (long long)(now - dl));
            atomic_store(&w->retired, true); /* said once */
            continue;
        }
        atomic_store(&w->retired, true);
        say("worker %d is stuck in its %s, %lld ms past its deadline: worker %d takes its place; "
            "the execution stays running until the step comes back or the next start resumes it",
            w->no, what, (long long)(now - dl), nw);
        worker_start(d, d->ws, nw); /* counted even when it failed: its parts are freed */
        atomic_store(&d->nworkers, ++nw);
    }
    return next;
}

/* ---- the main thread ---- */

static struct catalog *reload(struct daemon *d, struct sc_runtime *rt)
{
    struct sc_diags diag;
    sc_diags_init(&diag);
    struct catalog *c = catalog_load(d, rt, &diag);
    if (!c) {
        sc_diags_print(&diag, stderr);
        say("reload refused: %zu error%s; the scenarios loaded before keep running",
            diag.errors, diag.errors == 1 ? "" : "s");
        sc_diags_free(&diag);
        return NULL;
    }
    sc_diags_free(&diag);
    pthread_rwlock_wrlock(&d->cat_lock);
    struct catalog *old = d->cat;
    d->cat = c;
    atomic_fetch_add(&d->gen, 1);
    pthread_rwlock_unlock(&d->cat_lock);
    catalog_free(d, old);
    for (size_t i = 0; i < c->ntimers; i++)
        arm(d, rt, &c->timers[i]);
    say("reloaded: %zu scenario%s, %zu webhook%s, %zu schedule%s and poll%s", c->nfiles,
        c->nfiles == 1 ? "" : "s", c->nroutes, c->nroutes == 1 ? "" : "s", c->ntimers,
        c->ntimers == 1 ? "" : "s", c->ntimers == 1 ? "" : "s");
    daemon_kick(d);
    return c;
}

/* Test clock with --until: when nothing is left to do now, the clock jumps to the next
 * thing due (a schedule, a poll, a retry). Returns true when until is reached. */
static bool advance(struct daemon *d, struct sc_runtime *rt)
{
    int64_t runnable = 0, retry = -1;
    pthread_mutex_lock(&d->mu);
    bool idle = d->idle == d->o.workers && atomic_load(&d->busy) == 0;
    pthread_mutex_unlock(&d->mu);
    if (!idle || sc_store_queue_state(rt->store, &runnable, &retry) != 0 ||
        (runnable > 0 && d->o.workers > 0))
        return false;
    int64_t now = sc_clock_now_ms();
    if (retry >= 0 && retry <= now && d->o.workers > 0)
        return false; /* a worker will take it */
    pthread_rwlock_rdlock(&d->cat_lock);
    int64_t next = next_timer(d, d->cat);
    pthread_rwlock_unlock(&d->cat_lock);
    if (retry > now && d->o.workers > 0 && (next < 0 || retry < next))
        next = retry;
    if (next < 0 || next > d->o.until_ms) {
        if (d->o.until_ms > now)
            sc_clock_advance_ms(d->o.until_ms - now);
        return true;
    }
    sc_clock_advance_ms(next - now);
    daemon_kick(d);
    return false;
}

/* The audit key is read before anything is taken in (a write without its audit row is
 * never sent, so a missing key would stop every write), and the checkpoint scheduled. */
static int audit_schedule(struct daemon *d, char *err, size_t errlen)
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
        d->audit_every_ms = d->org->audit.cp_every_ms;
        d->audit_next = now + d->audit_every_ms;
    } else if (sc_cron_parse(d->org->audit.cp_cron, &d->audit_cron, &ce) == 0) {
        d->audit_next = sc_cron_next(&d->audit_cron, tz, now);
    } else {
        return 0; /* the org's validation said why */
    }
    d->audit_cp = d->audit_every_ms > 0 || !every;
    return 0;
}

static int run_daemon(struct daemon *d, struct sc_runtime *rt)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    bool sim = sc_clock_is_test() && d->o.until_ms >= 0;
    int code = 0;
    for (;;) {
        pthread_rwlock_rdlock(&d->cat_lock);
        struct catalog *c = d->cat;
        pthread_rwlock_unlock(&d->cat_lock);
        run_timers(d, rt, c); /* only this thread replaces the catalog */
        run_backup(d, rt->store);
        run_audit_checkpoint(d, rt);
        if (!d->o.npaths) { /* serving what is deployed: a deploy is picked up here */
            int64_t stamp = sc_store_versions_stamp(rt->store);
            if (stamp >= 0 && stamp != d->stamp) {
                say("a deploy changed the scenarios: reloading");
                d->stamp = stamp;
                reload(d, rt);
                c = d->cat; /* the old catalog is gone */
            }
        }
        int64_t wait = d->o.workers > 0 ? watchdog(d) : 1000;
        if (sim) {
            if (advance(d, rt)) {
                say("test clock reached --until: stopping");
                break;
            }
            wait = 10;
        } else if (!sc_clock_is_test()) {
            int64_t next = next_timer(d, c);
            wait = wait < 1000 ? wait : 1000;
            if (next >= 0 && next - sc_clock_now_ms() < wait)
                wait = next - sc_clock_now_ms() > 0 ? next - sc_clock_now_ms() : 0;
        } else {
            wait = 50; /* a frozen test clock: only signals and webhooks move things */
        }
        wait = wait < 1 ? 1 : wait;
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGHUP) {
            say("SIGHUP: reloading the scenarios");
            reload(d, rt);
        } else if (sig == SIGTERM || sig == SIGINT) {
            say("%s: stopping: no new requests; running executions may take %lld s to finish",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", (long long)(d->o.drain_ms / 1000));
            break;
        }
    }
    return code;
}

/* Copies the write-ahead log into the database on a thread of its own, so no commit waits
 * for it: most of it alongside the writers, the rest in a write turn, after which the
 * next commit starts the log from its beginning (else it grows while writes go on). */
static void *checkpoint_main(void *arg)
{
    struct daemon *d = arg;
    prctl(PR_SET_NAME, "sc-checkpoint");
    pthread_mutex_lock(&d->ckpt_mu);
    while (!d->ckpt_stop) {
        struct timespec ts = sc_clock_deadline(100);
        pthread_cond_timedwait(&d->ckpt_cv, &d->ckpt_mu, &ts);
        pthread_mutex_unlock(&d->ckpt_mu);
        int rc = sc_store_checkpoint(d->ckpt);
        if (rc > 0) { /* no commit between this and the next to begin: it restarts the log */
            turns_take(&d->writes);
            rc = sc_store_checkpoint(d->ckpt);
            turns_give(&d->writes);
        }
        if (rc < 0)
            say("checkpoint: %s", sc_store_error(d->ckpt));
        pthread_mutex_lock(&d->ckpt_mu);
    }
    pthread_mutex_unlock(&d->ckpt_mu);
    return NULL;
}

static void checkpoint_stop(struct daemon *d)
{
    if (d->ckpt_started)
        daemon_join(&d->ckpt_mu, &d->ckpt_cv, &d->ckpt_stop, d->ckpt_th);
    d->ckpt_started = false;
}

/* Stops taking requests, lets the workers finish what they run (bounded), then stops.
 * Returns false when a worker was still running at the deadline: its execution stays
 * recorded as running and the next start resumes it. */
static bool drain(struct daemon *d, struct worker *ws, int n)
{
    atomic_store(&d->draining, true);
    atomic_store(&d->stopping, true);
    sc_httpd_quiesce(d);
    pthread_mutex_lock(&d->mu);
    pthread_cond_broadcast(&d->work);
    struct timespec ts = sc_clock_deadline(d->o.drain_ms);
    int started = 0;
    for (int i = 0; i < n; i++)
        started += ws[i].started;
    while (d->workers_done < started)
        if (pthread_cond_timedwait(&d->finished, &d->mu, &ts) == ETIMEDOUT)
            break;
    bool all = d->workers_done == started;
    pthread_mutex_unlock(&d->mu);
    sc_httpd_stop(d);
    for (int i = 0; all && i < n; i++)
        if (ws[i].started)
            pthread_join(ws[i].th, NULL);
    if (all)
        checkpoint_stop(d);
    return all;
}

int sc_serve(const struct sc_serve_opts *o, const struct sc_org *org)
{
    struct daemon *d = sc_calloc(1, sizeof *d);
    if (!d)
        return 1;
    d->o = *o;
    if (!d->o.listen)
        d->o.listen = "127.0.0.1:8080";
    if (!d->o.max_body)
        d->o.max_body = 1024 * 1024;
    d->org = org;
    d->store_path = o->store ? sc_strdup(o->store) : sc_store_path(org);
    d->store_key = org->store_key;
    d->org_url = org->url;
    pthread_rwlock_init(&d->cat_lock, NULL);
    pthread_mutex_init(&d->intake_mu, NULL);
    pthread_mutex_init(&d->ops_mu, NULL);
    pthread_mutex_init(&d->ready_mu, NULL);
    pthread_mutex_init(&d->ckpt_mu, NULL);
    pthread_cond_init(&d->ckpt_cv, NULL);
    pthread_mutex_init(&d->batch_mu, NULL);
    turns_init(&d->writes);
    pthread_cond_init(&d->batch_cv, NULL);
    d->batch_tail = &d->batch_head;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->work, NULL);
    pthread_cond_init(&d->finished, NULL);

    /* Signals go to the main thread's sigtimedwait only: block them before any thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int code = 1;
    char err[600] = "";
    struct sc_runtime main_rt = {0};
    struct worker *ws = sc_calloc((size_t)o->workers + SPARE_WORKERS, sizeof *ws);
    d->ws = ws;
    bool clean;
    int lock_fd = -1, locked = 1;
    int64_t prev_owner = -1;
    sc_store_set_lease_ms(org->lease_ms);
    if (d->store_path && (locked = sc_store_lock(d->store_path, &lock_fd, &prev_owner, err,
                                                 sizeof err)) != 0) {
        say("%s", err);
        code = locked > 0 ? 2 : 1;
        goto out;
    }
    if (!ws || !d->store_path || runtime_open(d, &main_rt, err, sizeof err) != 0 ||
        !(d->intake_lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err)) ||
        !(d->intake = writer_open(d, err, sizeof err)) ||
        !(d->ops = sc_store_open(d->store_path, d->store_key, err, sizeof err)) ||
        !(d->ckpt = sc_store_open(d->store_path, d->store_key, err, sizeof err))) {
        say("%s", err[0] ? err : "out of memory");
        goto out;
    }
    d->ckpt_started = pthread_create(&d->ckpt_th, NULL, checkpoint_main, d) == 0;
    /* the lock's last holder is gone: what it ran is resumed now, not when its leases lapse */
    if (prev_owner > 0 && sc_store_lease_drop(main_rt.store, prev_owner) != 0)
        say("%s", sc_store_error(main_rt.store));
    if (sc_store_heartbeat(main_rt.store) != 0) {
        say("%s", sc_store_error(main_rt.store));
        goto out;
    }
    struct sc_diags diag;
    sc_diags_init(&diag);
    d->cat = catalog_load(d, &main_rt, &diag);
    sc_diags_print(&diag, stderr);
    sc_diags_free(&diag);
    if (!d->cat) {
        say("the scenarios do not validate: not starting");
        code = 2;
        goto out;
    }
    for (size_t i = 0; i < d->cat->ntimers; i++)
        arm(d, &main_rt, &d->cat->timers[i]);
    d->stamp = sc_store_versions_stamp(main_rt.store);
    int64_t last = sc_store_last_seq(main_rt.store); /* earlier runs' events are on disk */
    if (last < 0)
        say("%s: the backlog waits for the next event", sc_store_error(main_rt.store));
    atomic_store(&d->synced_seq, last);
    struct sc_cron_err ce;
    if (org->backup.to && sc_cron_parse(org->backup.cron, &d->backup_cron, &ce) == 0) {
        d->backup_dir = org->backup.to;
        d->backup_next = sc_cron_next(&d->backup_cron, org->timezone, sc_clock_now_ms());
    }
    if (audit_schedule(d, err, sizeof err) != 0) {
        say("%s", err);
        goto out;
    }
    if (!o->npaths)
        say("serving %s", d->versions ? "the deployed versions (a deploy is picked up without a "
                                        "restart)" : "scenarios/ as drafts: nothing is deployed");
    if (sc_httpd_start(d, err, sizeof err) != 0) {
        say("%s", err);
        goto out;
    }
    for (int i = 0; i < o->workers; i++) {
        bool ok = worker_start(d, ws, i);
        atomic_store(&d->nworkers, i + 1);
        if (!ok) {
            atomic_store(&d->stopping, true);
            break;
        }
    }
    say("org %s: listening on http://%s:%d with %d worker%s; %zu scenario%s, %zu webhook%s, "
        "%zu schedule%s and poll%s", org->name, d->o.listen[0] == '[' ? "[::1]" : "127.0.0.1",
        d->port, o->workers, o->workers == 1 ? "" : "s", d->cat->nfiles,
        d->cat->nfiles == 1 ? "" : "s", d->cat->nroutes, d->cat->nroutes == 1 ? "" : "s",
        d->cat->ntimers, d->cat->ntimers == 1 ? "" : "s", d->cat->ntimers == 1 ? "" : "s");
    code = atomic_load(&d->stopping) ? 1 : run_daemon(d, &main_rt);
    clean = drain(d, ws, atomic_load(&d->nworkers));
    if (!clean) { /* workers still use the daemon and the org: end the process here */
        say("stopped with executions still running: they stay recorded as running and the "
            "next start resumes them");
        fflush(NULL);
        _exit(code);
    }
    say("stopped; everything is recorded");
out:
    if (ws)
        for (int i = 0; i < atomic_load(&d->nworkers); i++) {
            if (ws[i].rt.lua || ws[i].rt.store)
                runtime_close(&ws[i].rt);
            free(ws[i].fin);
            pthread_mutex_destroy(&ws[i].watch.mu);
        }
    if (d->cat)
        catalog_free(d, d->cat);
    checkpoint_stop(d);
    sc_store_close(d->ckpt);
    sc_store_close(d->ops);
    sc_store_close(d->intake);
    sc_lua_free(d->intake_lua);
    runtime_close(&main_rt);
    free(ws);
    free(d->store_path);
    sc_store_unlock(lock_fd);
    pthread_rwlock_destroy(&d->cat_lock);
    pthread_mutex_destroy(&d->intake_mu);
    pthread_mutex_destroy(&d->ops_mu);
    pthread_mutex_destroy(&d->ready_mu);
    pthread_mutex_destroy(&d->ckpt_mu);
    pthread_cond_destroy(&d->ckpt_cv);
    pthread_mutex_destroy(&d->batch_mu);
    turns_destroy(&d->writes);
    pthread_cond_destroy(&d->batch_cv);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->work);
    pthread_cond_destroy(&d->finished);
    free(d);
    return code;
}
