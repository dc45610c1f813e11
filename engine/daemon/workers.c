/* The workers: each claims queued events and due retries and runs them with its own Lua
 * state, curl handle and store connection; a batch of local executions is computed
 * outside any transaction and written in one. In a batch, executions that only read
 * other systems and share nothing in the store run each on its own stack (fiber.h) and
 * wait on their reads side by side; the worker resumes each as its answer comes. */
#include "daemon/workers.h"

#include "daemon/httpd.h"
#include "log.h"

#include "clock.h"
#include "fiber.h"
#include "lang/lua.h"
#include "model/yaml.h"
#include "run/http.h"
#include "run/runner.h"
#include "store/hooks.h"
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

/* A string member, or def when absent. */
static const char *str_or(json_t *obj, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : def;
}

/* One execution of a batch computed on its own stack. */
struct flight {
    struct sc_worker *w;
    struct sc_fiber *fb;     /* kept between batches: its stack is reused */
    json_t *info;            /* borrowed: the claimed event */
    struct sc_diags *diag;
    json_t *rec;             /* its end, once ended */
    char err[512];
    struct sc_lua_parked lp; /* its Lua context while another runs */
    int64_t watch_ms;        /* its step's watch while parked (0: none) */
    char what[200];
    size_t mark0;            /* where its deferred writes start, once it wrote (wrote) */
    bool boarded, live, wrote, mixed, refused; /* boarded: in this batch */
};

struct sc_worker {
    struct sc_daemon *d;
    pthread_t th;
    int no;
    struct sc_runtime rt;
    struct sc_runner *rn;        /* NULL when out of memory: the worker takes no work */
    unsigned gen;
    bool started;
    struct finished *fin;        /* a batch's executions, answered once it is committed */
    struct sc_daemon_slot *slot; /* its watch, as the daemon sees it */
    int64_t read_us;             /* the last batch with reads: its time per execution (µs);
                                    -1 before any */
    struct flight *fl;           /* BATCH_MAX of them */
    long long empty_seq;         /* the queue was found empty with synced_seq and queue_kicks */
    unsigned long empty_kicks;   /* at these (empty_seq -1: not known to be empty) */
};

/* At most this many local executions per batch (claimed together), written together as
 * computed in up to BATCH_MS. */
#define BATCH_MAX 128
#define BATCH_MS 4
/* Of them at most this many that read other systems (sc_scenario_reads), and no more than
 * READS_MS of them at the last such batch's pace (one at first): a worker waits on each read
 * in turn, and a slow system must not hold claimed executions behind it. */
#define BATCH_READS 16
#define READS_MS 50
/* Executions that interleave (sc_runner_interleaves) are not paced: each waits beside the
 * others, so the batch takes about its slowest read; up to this many per batch. */
#define INFLIGHT_MAX 64

static size_t reads_cap(const struct sc_worker *w)
{
    if (w->read_us < 0)
        return 1;
    int64_t n = w->read_us > 0 ? READS_MS * 1000 / w->read_us : BATCH_READS;
    return n < 1 ? 1 : n > BATCH_READS ? BATCH_READS : (size_t)n;
}

struct finished {
    char id[64];
    json_t *rec;
    char err[512];
};

static void worker_unload(struct sc_worker *w)
{
    sc_runner_free(w->rn);
    w->rn = NULL;
}

/* A fresh runner for the current catalog: it compiles a scenario into this worker's Lua
 * state when an event first needs it, so an idle daemon holds no copy per worker (the
 * catalog has validated every file already). */
static void worker_load(struct sc_worker *w)
{
    worker_unload(w);
    w->gen = atomic_load(&w->d->gen);
    w->rn = sc_runner_new(&w->rt);
    sc_lua_memory(w->rt.lua); /* a full collection: what the last catalog left goes now, */
    malloc_trim(0);           /* and back to the system */
}

static void observe(struct sc_daemon *d, json_t *rec)
{
    sc_metrics_observe(&d->metrics, json_integer_value(json_object_get(rec, "duration_ms")));
}

static void ran(struct sc_worker *w, const char *id, json_t *rec, const char *err)
{
    struct sc_daemon *d = w->d;
    if (!rec) {
        sc_log(SC_LOG_ERROR, id, NULL, "execution %s: %s", id, err);
        sc_daemon_answer(d, id, NULL);
        return;
    }
    observe(d, rec);
    sc_daemon_answer(d, id, json_object_get(rec, "response"));
    const char *status = json_string_value(json_object_get(rec, "status"));
    const char *scenario = json_string_value(json_object_get(rec, "scenario"));
    long long ms = (long long)json_integer_value(json_object_get(rec, "duration_ms"));
    if (!strcmp(status, "success")) { /* one line per execution's end */
        sc_log(SC_LOG_INFO, id, scenario, "execution %s (%s) ended success in %lld ms", id,
               scenario, ms);
    } else if (strcmp(status, "sleeping") != 0) {
        json_t *e = json_object_get(rec, "error");
        json_t *inc = json_array_get(json_object_get(rec, "incomplete"), 0);
        if (!e)
            e = json_object_get(inc, "error");
        sc_log(!strcmp(status, "error") ? SC_LOG_ERROR : SC_LOG_WARN, id, scenario,
               "execution %s (%s) ended %s in %lld ms: %s%s%s%s", id, scenario, status, ms,
               str_or(e, "message", str_or(json_object_get(inc, "hold"), "reason",
                                           "see scenarist execution ID")), inc ? " (" : "",
               inc ? sc_status_retry_note(inc) : "", inc ? ")" : "");
    }
}

/* A worker's pass over due retries: it stops when the daemon does; *any when it ran one. */
struct pass {
    struct sc_worker *w;
    bool any;
};

static bool pass_go(void *data, const char *id)
{
    (void)id;
    return !atomic_load(&((struct pass *)data)->w->d->stopping);
}

static void pass_retried(void *data, const char *id, json_t *rec, const char *err)
{
    struct pass *p = data;
    if (rec) { /* else another worker took it first */
        p->any = true;
        ran(p->w, id, rec, err);
    }
}

static bool retry_due(struct sc_worker *w)
{
    struct pass p = {.w = w};
    struct sc_runner_each e = {.go = pass_go, .done = pass_retried, .data = &p};
    struct sc_diags diag;
    sc_diags_init(&diag);
    sc_runner_retries(w->rn, sc_clock_now_ms(), &diag, &e);
    sc_diags_free(&diag);
    return p.any;
}

static void pass_decided(void *data, const char *id, json_t *rec, const char *err)
{
    struct pass *p = data;
    p->any = true;
    if (!rec) /* already ran, finished, or its scenario no longer loads: said on the decision */
        sc_daemon_say("a person's continuation of execution %s did not run: %s", id, err);
    else
        ran(p->w, id, rec, err);
}

/* Runs what people decided (approved holds, retries asked for), which waits in the store
 * for a process with the org's secrets; *any when it ran one. */
static bool run_decided(struct sc_worker *w)
{
    struct pass p = {.w = w};
    struct sc_runner_each e = {.go = pass_go, .done = pass_decided, .data = &p};
    struct sc_diags diag;
    sc_diags_init(&diag);
    if (sc_runner_decided(w->rn, 16, &diag, &e) < 0)
        sc_daemon_say("worker %d: %s", w->no, sc_store_error(w->rt.store));
    sc_diags_free(&diag);
    return p.any;
}

static bool resume_say(void *data, const char *id)
{
    (void)data;
    sc_daemon_say("resuming execution %s, left unfinished by a stopped process (its lease "
                  "expired)", id);
    return true;
}

static void resumed(void *data, const char *id, json_t *rec, const char *err)
{
    ran(data, id, rec, err);
}

static void resume_abandoned(struct sc_worker *w)
{
    /* this process's own are renewed first: a clock that jumped (the test clock) while the
     * heartbeat slept must not make them look abandoned */
    if (sc_store_lease_renew(w->rt.store) != 0)
        sc_daemon_say("%s", sc_store_error(w->rt.store));
    struct sc_runner_each e = {.go = resume_say, .done = resumed, .data = w};
    struct sc_diags diag;
    sc_diags_init(&diag);
    sc_runner_resume(w->rn, &diag, &e);
    sc_diags_free(&diag);
}

/* Claims up to BATCH_MAX queued events in one short transaction: ones that can run in a
 * batch (local, or plain reads: up to INFLIGHT_MAX that interleave and up to reads_cap
 * that do not) in a row into claimed, stopping
 * at the first that cannot (*other) or whose scenario this worker has not loaded yet (loaded
 * after the commit: loading runs Lua). 0, or -1 on a store error (nothing claimed); *empty
 * when the queue ran out. */
/* *reads_out: the claimed reads that do not interleave. */
static int claim_batch(struct sc_worker *w, json_t **claimed, size_t *n, json_t **other,
                       bool *empty, size_t *reads_out, struct sc_diags *diag)
{
    struct sc_daemon *d = w->d;
    struct sc_store *st = w->rt.store;
    bool unknown = false;
    size_t reads = 0, cap = reads_cap(w), flying = 0;
    *n = 0;
    *other = NULL;
    *empty = false;
    int rc = sc_store_tx_begin(st); /* its write turn, till the commit */
    while (rc == 0 && *n < BATCH_MAX && reads < cap && flying < INFLIGHT_MAX && !unknown) {
        json_t *info;
        int got = sc_store_claim_next(st, atomic_load(&d->synced_seq), &info);
        if (got != SC_STORE_OK) {
            rc = got < 0 ? -1 : 0;
            *empty = got == SC_STORE_NONE;
            break;
        }
        const char *id = json_string_value(json_object_get(info, "id"));
        if (json_object_get(info, "unreadable")) { /* it stays running: a restart tries again */
            sc_daemon_say("execution %s: %s", id, json_string_value(json_object_get(info, "unreadable")));
            json_decref(info);
            continue;
        }
        int local = sc_runner_known_local(w->rn, json_string_value(json_object_get(info, "source")));
        if (local == 0) {
            *other = info;
            break;
        }
        unknown = local < 0;
        bool flies = local == 2 && sc_runner_interleaves(w->rn, json_string_value(
                                                              json_object_get(info, "source")));
        reads += local != 1 && !flies;
        flying += flies;
        claimed[(*n)++] = info;
    }
    if (rc == 0)
        rc = sc_store_tx_commit(st); /* it rolls back when it cannot commit */
    else
        sc_store_tx_rollback(st);
    if (rc != 0) { /* rolled back: the events are queued as before, not this process's */
        sc_daemon_say("worker %d: %s", w->no, sc_store_error(st));
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
        reads--; /* counted when claimed, not run in the batch */
    }
    *reads_out = reads;
    return 0;
}

/* ---- executions in flight: each on its own stack, switched at its reads ---- */

static void fly(void *arg)
{
    struct flight *fl = arg;
    fl->err[0] = '\0';
    fl->rec = sc_runner_queued(fl->w->rn, fl->info, true, fl->diag, fl->err, sizeof fl->err);
}

/* Its way out at a read: its Lua context parked, its step's watch kept aside (the worker
 * watches the earliest of the parked ones while it waits). Nonzero: it waits in place. */
static int fly_leave(void *arg)
{
    struct flight *fl = arg;
    struct sc_watch *wt = fl->w->rt.watch;
    if (sc_lua_park(fl->w->rt.lua, &fl->lp) != 0)
        return -1;
    fl->watch_ms = atomic_exchange(&wt->deadline_ms, 0);
    pthread_mutex_lock(&wt->mu);
    memcpy(fl->what, wt->what, sizeof fl->what);
    pthread_mutex_unlock(&wt->mu);
    return 0;
}

static void watch_as(struct sc_watch *wt, int64_t ms, const char *what)
{
    if (ms) {
        pthread_mutex_lock(&wt->mu);
        memcpy(wt->what, what, sizeof wt->what);
        pthread_mutex_unlock(&wt->mu);
    }
    atomic_store(&wt->deadline_ms, ms);
}

static void fly_enter(void *arg)
{
    struct flight *fl = arg;
    sc_lua_unpark(fl->w->rt.lua, &fl->lp);
    watch_as(fl->w->rt.watch, fl->watch_ms, fl->what);
}

/* Runs fl (NULL: the code on this stack, run) until it yields or ends, and keeps track of
 * whose deferred writes are where: an execution whose write was refused is cut from the
 * recording, which only works while nobody else's writes came after its first. */
static bool segment(struct sc_worker *w, struct flight *me, size_t nfl, bool *refused,
                    void (*run)(void *), void *arg)
{
    struct sc_store *st = w->rt.store;
    size_t before = sc_store_defer_mark(st);
    bool ended = me ? sc_fiber_resume(me->fb) : (run(arg), true);
    *refused |= sc_store_defer_refused(st);
    size_t after = sc_store_defer_mark(st);
    if (after <= before)
        return ended;
    for (size_t i = 0; i < nfl; i++) /* their writes are no longer the recording's tail */
        if (&w->fl[i] != me && w->fl[i].wrote)
            w->fl[i].mixed = true;
    if (me && !me->wrote) {
        me->wrote = true;
        me->mark0 = before;
    }
    return ended;
}

/* A flight ready to start: its fiber (made once, reused), or NULL (run it in place). */
static struct flight *board(struct sc_worker *w, size_t i, json_t *info, struct sc_diags *diag)
{
    struct flight *fl = &w->fl[i];
    if (fl->fb ? !sc_fiber_reset(fl->fb, fly, fl) : !(fl->fb = sc_fiber_new(0, fly, fl)))
        return NULL;
    sc_fiber_hooks(fl->fb, fly_leave, fly_enter, fl);
    fl->w = w;
    fl->info = info;
    fl->diag = diag;
    fl->rec = NULL;
    fl->live = fl->boarded = true;
    fl->mixed = fl->refused = false;
    fl->watch_ms = 0;
    return fl;
}

struct inline_run {
    struct sc_worker *w;
    json_t *info;
    struct sc_diags *diag;
    struct finished *f;
};

static void run_here(void *arg)
{
    struct inline_run *ir = arg;
    ir->f->err[0] = '\0';
    ir->f->rec = sc_runner_queued(ir->w->rn, ir->info, true, ir->diag, ir->f->err,
                                  sizeof ir->f->err);
}

/* Computes the first *used of claimed (all n on a retry: *used given) with their writes
 * deferred: executions that interleave start on their own stacks and the rest run in
 * place as they come, then the worker drives the reads in flight until every one has
 * ended. Results in w->fin (slot i for claimed[i], rec NULL and id "" when it went to
 * direct). False when a refused write could not be cut from the recording (it came
 * after another's): nothing of this computation may be kept; compute it in place. */
static bool compute(struct sc_worker *w, json_t **claimed, size_t n, size_t *used,
                    json_t **direct, size_t *ndirect, bool serial, struct sc_diags *diag)
{
    struct sc_store *st = w->rt.store;
    int64_t t0 = sc_clock_mono_ms();
    size_t nfl = 0, live = 0;
    bool keep = true;
    for (size_t i = 0; i < n && (!*used || i < *used); i++) {
        struct finished *f = &w->fin[i];
        snprintf(f->id, sizeof f->id, "%s", json_string_value(json_object_get(claimed[i], "id")));
        f->rec = NULL;
        w->fl[i].live = w->fl[i].wrote = w->fl[i].boarded = false;
        nfl = i + 1;
        struct flight *fl = !serial && sc_runner_interleaves(w->rn, json_string_value(
                                           json_object_get(claimed[i], "source")))
                                ? board(w, i, claimed[i], diag) : NULL;
        if (fl) {
            if (segment(w, fl, nfl, &fl->refused, NULL, NULL))
                fl->live = false; /* it ended without waiting */
            else
                live++;
        } else {
            size_t mark = sc_store_defer_mark(st);
            struct inline_run ir = {w, claimed[i], diag, f};
            bool refused = false;
            segment(w, NULL, nfl, &refused, run_here, &ir);
            if (refused) { /* it ran alone: its writes are the tail */
                sc_store_defer_cut(st, mark);
                json_decref(f->rec);
                f->rec = NULL;
                f->id[0] = '\0';
                direct[(*ndirect)++] = claimed[i];
            }
        }
        /* a flight's answer waits on the slowest read anyway: only one run in place cuts */
        if (!*used && (i + 1 == n || (!fl && sc_clock_mono_ms() - t0 >= BATCH_MS)))
            *used = i + 1;
    }
    /* the landings: each resumed as its answer comes, until all have ended */
    while (live > 0) {
        bool any = false;
        int64_t first = 0;
        const char *what = "";
        for (size_t i = 0; i < nfl; i++) {
            struct flight *fl = &w->fl[i];
            any |= fl->live && sc_fiber_ready(fl->fb);
            if (fl->live && fl->watch_ms && (!first || fl->watch_ms < first)) {
                first = fl->watch_ms;
                what = fl->what;
            }
        }
        if (!any) {
            watch_as(w->rt.watch, first, what); /* a stuck read is seen as its step */
            sc_http_wait(w->rt.http, 1000);
            atomic_store(&w->rt.watch->deadline_ms, 0);
        }
        bool woke = false;
        for (size_t i = 0; i < nfl; i++) {
            struct flight *fl = &w->fl[i];
            if (!fl->live || !sc_fiber_ready(fl->fb))
                continue;
            woke = true;
            if (segment(w, fl, nfl, &fl->refused, NULL, NULL)) {
                fl->live = false;
                live--;
            }
        }
        if (!woke && sc_http_inflight(w->rt.http) == 0) /* never: each waits on a transfer */
            for (size_t i = 0; i < nfl; i++)
                if (w->fl[i].live)
                    sc_fiber_wake(w->fl[i].fb, true);
    }
    for (size_t i = 0; i < nfl; i++) {
        struct flight *fl = &w->fl[i];
        if (!fl->boarded)
            continue;
        fl->boarded = false; /* landed: its results go to its slot */
        struct finished *f = &w->fin[i];
        snprintf(f->err, sizeof f->err, "%s", fl->err);
        f->rec = fl->rec;
        fl->rec = NULL;
        if (!fl->refused)
            continue;
        if (fl->wrote && fl->mixed)
            keep = false;
        else if (fl->wrote)
            sc_store_defer_cut(st, fl->mark0);
        json_decref(f->rec);
        f->rec = NULL;
        f->id[0] = '\0';
        direct[(*ndirect)++] = claimed[i];
    }
    return keep;
}

/* Computes claimed executions with their writes deferred, outside any transaction, as
 * many as BATCH_MS allows (*used of the n, at least one), then writes them in one short
 * one (compute). An execution whose writes cannot be deferred is added to direct (run on
 * its own afterwards). Computed again when another connection changed a data store value
 * they read, or after a store error (once a second, until the store takes it or the
 * daemon stops: they stay claimed, a restart resumes them). 0 committed (w->fin[0..*nfin)
 * answered by the caller), -1 not. */
/* ins: instant events (httpd.h) whose rows go first in the commit, taken by this process;
 * with them a store error is not tried again (nothing was answered: their senders are), and
 * an id another process took already is SC_STORE_EXISTS with *taken its index in ins. */
static int run_batch(struct sc_worker *w, json_t **claimed, size_t n, size_t *used, size_t *nfin,
                     json_t **direct, size_t *ndirect, struct sc_diags *diag,
                     struct pending **ins, size_t nins, size_t *taken)
{
    struct sc_daemon *d = w->d;
    struct sc_store *st = w->rt.store;
    size_t first = *ndirect;
    bool serial = false;
    *used = 0;
    for (;;) {
        *nfin = 0;
        *ndirect = first;
        sc_store_defer(st, true);
        bool keep = compute(w, claimed, n, used, direct, ndirect, serial, diag);
        for (size_t i = 0; i < *used; i++) /* the ones not sent to direct, in order */
            if (w->fin[i].id[0]) {
                struct finished t = w->fin[i];
                w->fin[i] = w->fin[*nfin];
                w->fin[(*nfin)++] = t;
            }
        if (!keep) { /* a refused write among interleaved ones: all again, in place */
            for (size_t i = 0; i < *nfin; i++)
                json_decref(w->fin[i].rec);
            sc_store_defer(st, false);
            serial = true;
            continue;
        }
        int rc = sc_store_tx_begin(st);
        for (size_t i = 0; rc == 0 && i < nins; i++) {
            char was[64]; /* no dedupe key: never a repeat */
            rc = sc_store_enqueue(st, sc_httpd_instant_event(ins[i]), was, sizeof was);
            if (rc == SC_STORE_EXISTS)
                *taken = i;
            else if (rc != SC_STORE_OK)
                rc = -1;
        }
        if (rc == 0)
            rc = sc_store_defer_apply(st);
        if (rc == 0)
            rc = sc_store_tx_commit(st);
        else
            sc_store_tx_rollback(st);
        sc_store_defer(st, false);
        for (size_t i = 0; rc != 0 && i < nins; i++) /* not taken after all */
            sc_store_exec_release(sc_httpd_instant_event(ins[i])->exec.id);
        if (rc == 0) {
            sc_daemon_store_ok(d, NULL);
            return 0;
        }
        if (rc < 0)
            sc_daemon_store_ok(d, sc_store_error(st));
        for (size_t i = 0; i < *nfin; i++)
            json_decref(w->fin[i].rec);
        *nfin = 0;
        if (rc == SC_STORE_CONFLICT)
            continue; /* a conflict: another commit came between, so the daemon moves on */
        if (rc == SC_STORE_EXISTS)
            return rc;
        if (atomic_load(&d->stopping) || nins)
            return -1; /* they stay claimed: the next start resumes them */
        sc_daemon_say("worker %d: %s; trying again in a second", w->no, sc_store_error(st));
        pthread_mutex_lock(&d->mu);
        struct timespec ts = sc_clock_deadline(1000);
        pthread_cond_timedwait(&d->finished, &d->mu, &ts);
        pthread_mutex_unlock(&d->mu);
    }
}

/* The claim's view of an instant event (as sc_store_claim_next gives it), or NULL. */
static json_t *instant_info(const struct sc_event_row *ev)
{
    const struct sc_exec_row *e = &ev->exec;
    json_t *info = json_object();
    if (info && (json_object_set_new_nocheck(info, "id", json_string(e->id)) ||
                 json_object_set_new_nocheck(info, "scenario", json_string(e->scenario)) ||
                 json_object_set_new_nocheck(info, "version", json_string(e->version)) ||
                 json_object_set_new_nocheck(info, "source", json_string(e->source)) ||
                 json_object_set_new_nocheck(info, "status", json_string("running")) ||
                 json_object_set_new_nocheck(info, "attempts", json_integer(1)) ||
                 json_object_set_new_nocheck(info, "confidential", json_boolean(e->confidential)) ||
                 json_object_set_new_nocheck(info, "trigger", json_incref(e->trigger)))) {
        json_decref(info);
        info = NULL;
    }
    return info;
}

/* Runs a batch of instant events (httpd.h): computed as a claimed batch, their rows and
 * their executions written in one commit, synced, then answered. */
static void instant_batch(struct sc_worker *w, struct pending **ps, size_t n)
{
    struct sc_daemon *d = w->d;
    struct sc_store *st = w->rt.store;
    struct sc_diags diag;
    sc_diags_init(&diag);
    json_t *claimed[BATCH_MAX], *direct[BATCH_MAX];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *info = instant_info(sc_httpd_instant_event(ps[i]));
        if (!info) {
            sc_httpd_instant_answer(d, ps[i], "out of memory", NULL, false);
            continue;
        }
        ps[k] = ps[i];
        claimed[k++] = info;
    }
    size_t nfin = 0, ndirect = 0, used = 0;
    int rc = 0;
    for (size_t at = 0, taken; rc == 0 && at < k; at += used) {
        rc = run_batch(w, claimed + at, k - at, &used, &nfin, direct, &ndirect, &diag,
                       at ? NULL : ps, at ? 0 : k, &taken);
        if (rc == SC_STORE_EXISTS) { /* its id is another process's: the intake makes another */
            sc_httpd_instant_to_intake(d, ps[taken]);
            json_decref(claimed[taken]);
            for (size_t i = taken; i + 1 < k; i++) {
                ps[i] = ps[i + 1];
                claimed[i] = claimed[i + 1];
            }
            k--;
            ndirect = 0;
            rc = 0;
            used = 0; /* the rest computed again */
            continue;
        }
        if (!at) { /* every row written by now: on disk, then answered */
            const char *err = rc != 0 ? sc_store_error(st)
                            : sc_store_sync(st) != 0 ? sc_store_error(st) : NULL;
            char why[300] = "";
            if (err)
                snprintf(why, sizeof why, "%s", err);
            for (size_t i = 0; i < k; i++) {
                const char *id = sc_httpd_instant_event(ps[i])->exec.id;
                json_t *rec = NULL;
                for (size_t j = 0; !err && !rec && j < nfin; j++)
                    if (!strcmp(w->fin[j].id, id))
                        rec = w->fin[j].rec;
                sc_httpd_instant_answer(d, ps[i], err ? why : NULL,
                                        json_object_get(rec, "response"), !rec);
            }
        }
        for (size_t i = 0; i < nfin; i++) {
            if (rc == 0)
                ran(w, w->fin[i].id, w->fin[i].rec, w->fin[i].err);
            json_decref(w->fin[i].rec);
        }
    }
    for (size_t i = 0; rc == 0 && i < ndirect; i++) {
        char err[512] = "";
        json_t *rec = sc_runner_queued(w->rn, direct[i], false, &diag, err, sizeof err);
        ran(w, json_string_value(json_object_get(direct[i], "id")), rec, err);
        json_decref(rec);
    }
    for (size_t i = 0; i < k; i++)
        json_decref(claimed[i]);
    sc_diags_free(&diag);
}

/* At most this many batches of instant events in a row before the worker looks at the rest
 * of its duties (the lease sweep, a new catalog, the queue). */
#define INSTANT_RUN 256

/* Runs instant events batch after batch while they come, holding their turn (httpd.h);
 * 1 (ran some). */
static int take_instants(struct sc_worker *w, struct pending **ps, size_t n)
{
    struct sc_daemon *d = w->d;
    for (int run = 1; n > 0; run++) {
        instant_batch(w, ps, n);
        sc_log_flush(); /* each batch's lines once it is answered */
        sc_log_hold();
        if (run == INSTANT_RUN || w->gen != atomic_load(&d->gen) ||
            atomic_load(&w->slot->retired)) {
            sc_httpd_instant_give_up(d);
            break;
        }
        n = sc_httpd_instant_take(d, ps, BATCH_MAX, true, w->no);
    }
    return 1;
}

/* Runs what the queue holds. Local executions claimed in a row are computed outside any
 * transaction and written in one (run_batch); nothing of them is answered before that
 * commit. Anything else runs on its own, each step recorded as it goes. 2 when it ran
 * something and more may wait, 1 when it ran the queue empty, 0 when the queue had
 * nothing runnable, -1 on a store error. */
static int take_queue_held(struct sc_worker *w);

static int take_queue(struct sc_worker *w)
{
    sc_log_hold(); /* the batch's lines in one write */
    int rc = take_queue_held(w);
    sc_log_flush();
    return rc;
}

static int take_queue_held(struct sc_worker *w)
{
    struct sc_daemon *d = w->d;
    struct pending *ins[BATCH_MAX];
    size_t nins = sc_httpd_instant_take(d, ins, BATCH_MAX, false, w->no);
    if (nins)
        return take_instants(w, ins, nins);
    pthread_mutex_lock(&d->mu);
    unsigned long qk = d->queue_kicks;
    pthread_mutex_unlock(&d->mu);
    long long top = atomic_load(&d->synced_seq);
    if (w->empty_seq == top && w->empty_kicks == qk)
        return 0; /* nothing was queued since it was found empty: no claim to make */
    struct sc_diags diag;
    sc_diags_init(&diag);
    json_t *claimed[BATCH_MAX], *direct[BATCH_MAX], *other;
    size_t n, nfin = 0, ndirect = 0, reads = 0;
    bool empty;
    int rc = claim_batch(w, claimed, &n, &other, &empty, &reads, &diag);
    int64_t t0 = sc_clock_mono_ms();
    for (size_t at = 0, used; rc == 0 && at < n; at += used) {
        rc = run_batch(w, claimed + at, n - at, &used, &nfin, direct, &ndirect, &diag, NULL, 0,
                       NULL);
        for (size_t i = 0; i < nfin; i++) {
            if (rc == 0)
                ran(w, w->fin[i].id, w->fin[i].rec, w->fin[i].err);
            json_decref(w->fin[i].rec);
        }
    }
    if (rc == 0 && reads > 0 && n > 0)
        w->read_us = (sc_clock_mono_ms() - t0) * 1000 / (int64_t)n;
    int worked = rc != 0 ? -1 : !n && !other ? 0 : empty ? 1 : 2;
    w->empty_seq = empty && !n && !other ? top : -1;
    w->empty_kicks = qk;
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

/* How long an idle worker waits for a kick: up to a second, less when a retry or a parked
 * execution (a throttled request's slot) comes due sooner on the real clock. */
static int64_t next_due_ms(struct sc_worker *w)
{
    int64_t runnable = 0, due = -1;
    if (sc_clock_is_test() || !w->rn || sc_store_queue_state(w->rt.store, &runnable, &due) != 0 ||
        due < 0)
        return 1000;
    int64_t in = due - sc_clock_now_ms();
    return in < 1 ? 1 : in < 1000 ? in : 1000;
}

static void *worker_main(void *arg)
{
    struct sc_worker *w = arg;
    struct sc_daemon *d = w->d;
    char name[16];
    snprintf(name, sizeof name, "sc-worker-%d", w->no % 100);
    prctl(PR_SET_NAME, name); /* as top -H and perf show it */
    worker_load(w);
    int64_t swept = sc_clock_mono_ms(), swept_at = sc_clock_now_ms();
    if (w->no == 0)
        resume_abandoned(w);
    while (!atomic_load(&d->stopping) && !atomic_load(&w->slot->retired)) {
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
            sc_daemon_kick(d); /* another worker helps with the rest */
        if (got == 0 && w->rn)
            worked = retry_due(w);
        if (got == 0 && w->rn)
            worked = run_decided(w) || worked;
        atomic_fetch_sub(&d->busy, 1);
        if (worked)
            continue;
        int64_t idle_ms = next_due_ms(w);
        pthread_mutex_lock(&d->mu);
        if (d->kicks == seen && !atomic_load(&d->stopping)) {
            struct timespec ts = sc_clock_deadline(idle_ms); /* retries come due without a kick */
            d->idle++;
            bool mine = d->instant_last == w->no && !d->instant_waiting;
            d->instant_waiting |= mine;
            if (pthread_cond_timedwait(mine ? &d->instant_cv : &d->work, &d->mu, &ts) == ETIMEDOUT)
                w->empty_seq = -1; /* a look at the queue anyway: another process may add */
            if (mine)
                d->instant_waiting = false;
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

bool sc_workers_start(struct sc_daemon *d, int i)
{
    char err[600] = "";
    struct sc_worker *ws = d->ws;
    struct sc_daemon_slot *slot = &d->slots[i];
    ws[i] = (struct sc_worker){.d = d, .no = i, .slot = slot, .read_us = -1, .empty_seq = -1,
                               .fin = sc_calloc(BATCH_MAX, sizeof *ws[i].fin),
                               .fl = sc_calloc(BATCH_MAX, sizeof *ws[i].fl)};
    slot->no = i;
    pthread_mutex_init(&slot->watch.mu, NULL);
    ws[i].rt.watch = &slot->watch;
    if (!ws[i].fin || !ws[i].fl)
        snprintf(err, sizeof err, "out of memory");
    if (!ws[i].fin || !ws[i].fl || sc_daemon_runtime_open(d, &ws[i].rt, err, sizeof err) != 0) {
        sc_daemon_say("worker %d: %s", i, err);
        return false;
    }
    sc_http_concurrent(ws[i].rt.http, true);
    ws[i].started = pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) == 0;
    return ws[i].started;
}
int64_t sc_workers_watchdog(struct sc_daemon *d)
{
    int64_t now = sc_watch_now_ms(), next = 1000;
    int nw = atomic_load(&d->nworkers);
    for (int i = 0; i < nw; i++) {
        struct sc_worker *w = &d->ws[i];
        int64_t dl = atomic_load(&w->slot->watch.deadline_ms);
        if (atomic_load(&w->slot->retired) || !dl)
            continue;
        int64_t due = dl + d->o.grace_ms + 1000;
        if (now < due) {
            next = due - now < next ? due - now : next;
            continue;
        }
        char what[200];
        pthread_mutex_lock(&w->slot->watch.mu);
        snprintf(what, sizeof what, "%s", w->slot->watch.what);
        pthread_mutex_unlock(&w->slot->watch.mu);
        if (nw >= d->o.workers + SC_WORKERS_SPARE) {
            sc_daemon_say("worker %d is stuck in its %s, %lld ms past its deadline, and no spare "
                          "worker is left: restart the daemon", w->no, what, (long long)(now - dl));
            atomic_store(&w->slot->retired, true); /* said once */
            continue;
        }
        atomic_store(&w->slot->retired, true);
        sc_daemon_say("worker %d is stuck in its %s, %lld ms past its deadline: worker %d takes "
                      "its place; the execution stays running until the step comes back or the "
                      "next start resumes it", w->no, what, (long long)(now - dl), nw);
        sc_workers_start(d, nw); /* counted even when it failed: its parts are freed */
        atomic_store(&d->nworkers, ++nw);
    }
    return next;
}


int sc_workers_new(struct sc_daemon *d)
{
    size_t n = (size_t)d->o.workers + SC_WORKERS_SPARE;
    d->ws = sc_calloc(n, sizeof *d->ws);
    d->slots = sc_calloc(n, sizeof *d->slots);
    return d->ws && d->slots ? 0 : -1;
}

bool sc_workers_wait(struct sc_daemon *d, int64_t ms)
{
    int n = atomic_load(&d->nworkers), started = 0;
    pthread_mutex_lock(&d->mu);
    pthread_cond_broadcast(&d->work);
    pthread_cond_broadcast(&d->instant_cv);
    struct timespec ts = sc_clock_deadline(ms);
    for (int i = 0; i < n; i++)
        started += d->ws[i].started;
    while (d->workers_done < started)
        if (pthread_cond_timedwait(&d->finished, &d->mu, &ts) == ETIMEDOUT)
            break;
    bool all = d->workers_done == started;
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; all && i < n; i++)
        if (d->ws[i].started)
            pthread_join(d->ws[i].th, NULL);
    return all;
}

void sc_workers_free(struct sc_daemon *d)
{
    for (int i = 0; d->ws && d->slots && i < atomic_load(&d->nworkers); i++) {
        if (d->ws[i].rt.lua || d->ws[i].rt.store)
            sc_daemon_runtime_close(&d->ws[i].rt);
        free(d->ws[i].fin);
        for (size_t k = 0; d->ws[i].fl && k < BATCH_MAX; k++)
            sc_fiber_free(d->ws[i].fl[k].fb);
        free(d->ws[i].fl);
        pthread_mutex_destroy(&d->slots[i].watch.mu);
    }
    free(d->ws);
    free(d->slots);
    d->ws = NULL;
    d->slots = NULL;
}
