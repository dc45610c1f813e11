/* The run loop (exec.h): one attempt of an execution over a plan (plan.h): steps in
 * order, bundles fanned out and collected, filters, routers, error routes and their
 * directives, undo on rollback; what it records goes through the journal (journal.h). */
#include "run/exec.h"

#include "model/param.h"
#include "model/validate.h"

#include "run/bind.h"
#include "run/execution.h"
#include "run/plan.h"

#include "clock.h"
#include "store/store.h"
#include "lang/tmpl.h"
#include "util.h"
#include "model/yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct agg {
    struct sc_plan_step *step;  /* the aggregate collecting */
    json_t *items;
};


/* A step that ended ok and changed something: undo data for its module's hooks, or sent
 * (a write to another system that no hook can take back). */
struct sc_run_undo {
    struct sc_plan_step *s;
    json_t *data;
    bool sent;
    char bundle[128];
};

const char *sc_status_name(enum sc_status st)
{
    static const char *const names[] = {"ok", "config", "data", "connection", "rate-limit",
                                        "server", "runtime", "limit", "store"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "runtime";
}

const char *sc_status_retry_note(const json_t *inc)
{
    const char *kind = json_string_value(json_object_get(json_object_get(inc, "error"), "kind"));
    if (json_object_get(inc, "hold"))
        return "held: a person approves or rejects it with scenarist holds";
    if (json_is_true(json_object_get(inc, "retryable")))
        return json_is_true(json_object_get(inc, "final")) ? "no retry left: needs a person"
                                                            : "to be retried from this step";
    if (kind && !strcmp(kind, "runtime"))
        return "not retried: a Lua or template error fails the same way on every retry; "
               "needs a person";
    if (kind && !strcmp(kind, "data"))
        return "not retried: the data was refused and would be refused again; needs a person";
    if (kind && !strcmp(kind, "config"))
        return "not retried: the scenario or the org is wrong; needs a person";
    return "not retried: needs a person";
}

static void fail_execution(struct sc_run *r, json_t *error);

/* A context name that cannot be set would let expressions read stale data: stop. */
static void set_ctx(struct sc_run *r, const char *name, json_t *v)
{
    if (sc_lua_set(r->rt->lua, name, v) != 0)
        fail_execution(r, NULL);
}

/* The journal failed (its err says how): the execution ends in error, as going on
 * unrecorded would break the promise to resume. */
static void journal_failed(struct sc_run *r)
{
    if (!strcmp(r->jn.err, "out of memory")) {
        fail_execution(r, NULL);
        return;
    }
    json_t *e = json_pack("{s:o, s:s}", "message", sc_json_text(r->jn.err), "kind", "store");
    fail_execution(r, e);
    json_decref(e);
}

/* Records a step's end; state is what replays it on a later attempt. */
static void store_step(struct sc_run *r, json_t *e, struct sc_plan_step *s, json_t *state)
{
    if (sc_journal_step_end(&r->jn, sc_plan_step_name(s), r->bundle, e, state) != 0)
        journal_failed(r);
}

/* Appends an entry to the step log and returns it (borrowed); output is stolen. */
static json_t *log_entry(struct sc_run *r, struct sc_plan_step *s, const char *status, int64_t ms,
                         json_t *output_stolen, json_t *error)
{
    json_t *e = json_object();
    if (!e) {
        json_decref(output_stolen);
        return NULL;
    }
    json_object_set_new(e, "step", json_string(sc_plan_step_name(s)));
    json_object_set_new(e, "module", json_string(s->mod->name));
    if (r->bundle[0])
        json_object_set_new(e, "bundle", json_string(r->bundle));
    json_object_set_new(e, "status", json_string(status));
    json_object_set_new(e, "duration_ms", json_integer(ms));
    if (output_stolen) {
        if (r->sc->confidential) {
            json_decref(output_stolen);
            output_stolen = json_string("[redacted: confidential scenario]");
        }
        json_object_set_new(e, "output", output_stolen);
    }
    if (error)
        json_object_set(e, "error", error);
    return json_array_append_new(r->log, e) == 0 ? e : NULL;
}

/* log_entry, recorded; state (borrowed, may be NULL) replays the step on a later attempt. */
static json_t *log_step(struct sc_run *r, struct sc_plan_step *s, const char *status, int64_t ms,
                        json_t *output_stolen, json_t *error, json_t *state)
{
    json_t *e = log_entry(r, s, status, ms, output_stolen, error);
    store_step(r, e, s, state);
    return e;
}

static json_t *make_error(struct sc_run *r, struct sc_plan_step *s, enum sc_status st, const char *msg,
                          json_t *detail)
{
    /* msg may quote what another system sent (a body, a header) or a script's error() */
    json_t *e = json_pack("{s:o, s:s, s:s, s:s, s:i}", "message", sc_json_text(msg), "kind",
                          sc_status_name(st),
                          "step", sc_plan_step_name(s), "module", s->mod->name,
                          "attempts", r->attempt);
    if (e && detail)
        json_object_update(e, detail);
    return e;
}

/* The watch's deadline for a step that must end at dl (the engine's clock). */
static void watch_step(struct sc_run *r, struct sc_plan_step *s, int64_t dl)
{
    struct sc_watch *w = r->rt->watch;
    pthread_mutex_lock(&w->mu);
    snprintf(w->what, sizeof w->what, "step %s of execution %s", sc_plan_step_name(s), r->id);
    pthread_mutex_unlock(&w->mu);
    atomic_store(&w->deadline_ms, sc_watch_now_ms() + (dl - sc_clock_mono_ms()));
}

static enum sc_status call_step(struct sc_run *r, struct sc_plan_step *s, json_t **outs, json_t **detail,
                                char *err, size_t errlen);

/* A module without a rollback hook that writes to another system: what it did stays. */
static bool sends(const struct sc_module_def *m, const json_t *with)
{
    if (m->rollback || m->access == SC_ACCESS_NONE || m->access == SC_ACCESS_READ)
        return false;
    if (m->access == SC_ACCESS_WRITE)
        return true;
    const char *method = json_string_value(json_object_get(with, "method"));
    return !method || (strcasecmp(method, "GET") && strcasecmp(method, "HEAD"));
}

/* Remembers what a step that ended ok changed (data borrowed). */
static void undo_push(struct sc_run *r, struct sc_plan_step *s, json_t *data, bool sent)
{
    if (!data && !sent)
        return;
    if (r->nundo == r->capundo) {
        size_t cap = r->capundo ? r->capundo * 2 : 8;
        struct sc_run_undo *v = realloc(r->undos, cap * sizeof *v);
        if (!v) {
            fail_execution(r, NULL);
            return;
        }
        r->undos = v;
        r->capundo = cap;
    }
    struct sc_run_undo *u = &r->undos[r->nundo++];
    u->s = s;
    u->data = json_incref(data);
    u->sent = sent;
    snprintf(u->bundle, sizeof u->bundle, "%s", r->bundle);
}

static void undo_clear(struct sc_run *r)
{
    for (size_t i = 0; i < r->nundo; i++)
        json_decref(r->undos[i].data);
    free(r->undos);
    r->undos = NULL;
    r->nundo = r->capundo = 0;
}

/* Calls each kept step's commit (or, latest first, rollback) hook; returns what was done
 * as one line for the log (new string), or NULL when nothing was recorded. */
static char *undo_run(struct sc_run *r, bool roll)
{
    struct sc_buf done = {0}, kept = {0}, failed = {0};
    for (size_t k = 0; k < r->nundo; k++) {
        struct sc_run_undo *u = &r->undos[roll ? r->nundo - 1 - k : k];
        struct sc_plan_step *s = u->s;
        char name[300];
        snprintf(name, sizeof name, "%s%s%s%s", sc_plan_step_name(s), u->bundle[0] ? "[" : "",
                 u->bundle, u->bundle[0] ? "]" : "");
        if (u->sent) {
            if (roll)
                sc_buf_printf(&kept, "%s%s", kept.len ? ", " : "", name);
            continue;
        }
        enum sc_status (*hook)(struct sc_step_ctx *, void *, char *, size_t) =
            roll ? s->mod->rollback : s->mod->commit;
        if (!hook)
            continue;
        struct sc_step_ctx ctx = {.r = r, .s = s, .lua = r->rt->lua, .org = r->rt->org,
                                  .undo = u->data, .deadline = r->deadline};
        char err[512] = "";
        enum sc_status st = hook(&ctx, s->state, err, sizeof err);
        if (st == SC_OK)
            sc_buf_printf(&done, "%s%s", done.len ? ", " : "", name);
        else
            sc_buf_printf(&failed, "%s%s: %s", failed.len ? "; " : "", name,
                          err[0] ? err : sc_status_name(st));
    }
    undo_clear(r);
    if (!roll || (!done.len && !kept.len && !failed.len)) { /* nothing was changed */
        sc_buf_free(&done);
        sc_buf_free(&kept);
        sc_buf_free(&failed);
        return NULL;
    }
    struct sc_buf line = {0};
    sc_buf_printf(&line, "undone: %s", done.len ? done.data : "nothing");
    if (failed.len)
        sc_buf_printf(&line, "; could not undo: %s", failed.data);
    if (kept.len)
        sc_buf_printf(&line, "; cannot be undone (sent): %s", kept.data);
    sc_buf_free(&done);
    sc_buf_free(&kept);
    sc_buf_free(&failed);
    return sc_buf_take(&line);
}

/* Runs one module call for the current bundle; fills *outs (an array) on success and
 * *ms with how long it took. */
static enum sc_status run_step(struct sc_run *r, struct sc_plan_step *s, json_t **outs, json_t **detail,
                               int64_t *ms, char *err, size_t errlen)
{
    if (s->mod->access != SC_ACCESS_NONE && /* a crash now shows this step under way */
        sc_journal_step_begin(&r->jn, sc_plan_step_name(s), s->mod->name, r->bundle) != 0) {
        snprintf(err, errlen, "%s", r->jn.err);
        *ms = 0;
        return SC_ERR_STORE;
    }
    r->vars_touched = false;
    int64_t t0 = sc_clock_mono_ms();
    enum sc_status st = call_step(r, s, outs, detail, err, errlen);
    *ms = sc_clock_mono_ms() - t0;
    return st;
}

static enum sc_status call_step(struct sc_run *r, struct sc_plan_step *s, json_t **outs, json_t **detail,
                                char *err, size_t errlen)
{
    struct sc_lua *lua = r->rt->lua;
    int64_t now = sc_clock_mono_ms();
    if (now >= r->deadline) {
        snprintf(err, errlen, "the execution ran over its time limit (settings.timeout, %lld s)",
                 (long long)(r->sc->timeout_ms / 1000));
        return SC_ERR_LIMIT;
    }
    int64_t dl = now + s->timeout_ms < r->deadline ? now + s->timeout_ms : r->deadline;
    sc_lua_budget(lua, SC_LUA_INSTRUCTIONS, dl);
    if (r->rt->watch) /* from here: rendering its parameters runs Lua too */
        watch_step(r, s, dl);
    enum sc_status st;
    json_t *with = sc_tmpl_render(s->tmpl, lua, &st, err, errlen);
    if (!with) {
        if (r->rt->watch)
            atomic_store(&r->rt->watch->deadline_ms, 0);
        return st;
    }
    struct sc_step_ctx ctx = {.r = r, .s = s, .lua = lua, .org = r->rt->org, .out = json_array(),
                              .max = r->sc->max_bundles, .deadline = dl};
    if (!ctx.out) {
        if (r->rt->watch)
            atomic_store(&r->rt->watch->deadline_ms, 0);
        json_decref(with);
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    err[0] = '\0';
    void *bound = NULL; /* the module's parameter struct, when it has one */
    if (s->mod->with_size && !(bound = sc_calloc(1, s->mod->with_size)))
        st = SC_ERR_RUNTIME, snprintf(err, errlen, "out of memory");
    else if (bound && sc_bind(s->mod->params, with, bound, s->mod->with_size, err, errlen) != 0)
        st = SC_ERR_CONFIG;
    else
        st = s->mod->run ? s->mod->run(&ctx, s->state, bound ? bound : (const void *)with,
                                       r->input, err, errlen)
                         : SC_ERR_CONFIG;
    free(bound);
    if (r->rt->watch)
        atomic_store(&r->rt->watch->deadline_ms, 0);
    if (!s->mod->run)
        snprintf(err, errlen, "module %s cannot run yet", s->mod->name);
    if (st != SC_OK && st != SC_ERR_LIMIT && sc_clock_mono_ms() >= dl) { /* cut at its deadline */
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        st = SC_ERR_LIMIT;
        snprintf(err, errlen, "step ran over its time limit of %lld ms and was abandoned (%s)",
                 (long long)s->timeout_ms, why);
    }
    if (st == SC_OK && ctx.oom) {
        st = SC_ERR_RUNTIME;
        snprintf(err, errlen, "out of memory");
    }
    if (st == SC_OK && ctx.over) {
        st = SC_ERR_LIMIT;
        snprintf(err, errlen, "step emitted more than %ld bundles (settings.max_bundles)",
                 ctx.max);
    }
    if (st == SC_OK && sc_clock_mono_ms() > dl) {
        st = SC_ERR_LIMIT;
        snprintf(err, errlen, "step ran over its time limit of %lld ms",
                 (long long)s->timeout_ms);
    }
    if (st != SC_OK && !err[0])
        snprintf(err, errlen, "%s failed", s->mod->name);
    if (st == SC_OK)
        *outs = ctx.out;
    else
        json_decref(ctx.out);
    *detail = ctx.detail;
    if (st == SC_OK && ctx.held)
        r->held = ctx.held;
    else
        json_decref(ctx.held);
    r->park_ms = st == SC_OK ? ctx.park_ms : 0;
    r->park_before = ctx.defer_ms > 0;
    if (r->park_before) { /* the step did nothing: it runs again when the bundle wakes */
        if (st == SC_OK)
            json_decref(*outs);
        st = SC_OK;
        r->park_ms = ctx.defer_ms;
        snprintf(r->park_why, sizeof r->park_why, "%s", ctx.defer_why);
        json_decref(*detail);
        *detail = NULL;
        json_decref(ctx.undo);
        ctx.undo = NULL;
        *outs = json_array();
    }
    json_decref(r->pending_undo);
    r->pending_undo = st == SC_OK ? ctx.undo : NULL;
    if (st != SC_OK)
        json_decref(ctx.undo);
    r->pending_sent = st == SC_OK && sends(s->mod, with);
    json_decref(with);
    return st;
}

static void run_list(struct sc_run *r, struct sc_plan_list *l, size_t i, struct agg *sink);

/* Per-bundle copies of vars: what one bundle sets is not seen by its siblings. */
static json_t *fork_vars(struct sc_run *r)
{
    json_t *saved = r->vars, *copy = json_copy(saved);
    if (copy) {
        r->vars = copy;
        set_ctx(r, "vars", copy);
    }
    return saved;
}

static void join_vars(struct sc_run *r, json_t *saved)
{
    if (r->vars != saved) {
        json_decref(r->vars);
        r->vars = saved;
        set_ctx(r, "vars", saved);
    }
}

static void fail_execution(struct sc_run *r, json_t *error)
{
    r->stop = true;
    r->ended_error = true;
    if (!r->fail)
        r->fail = error ? json_incref(error)
                        : json_pack("{s:s, s:s}", "message", "out of memory", "kind", "runtime");
}

/* The wait before the next attempt: interval, doubled per attempt made when the
 * backoff is exponential (capped by max_interval), spread by up to 20% when jitter is on
 * (from the execution id, so a replayed test sees the same), never shorter than the
 * Retry-After the failed answer asked for. */
static int64_t retry_delay(struct sc_run *r, json_t *opts, json_t *error)
{
    int64_t d = sc_plan_duration_ms(json_object_get(opts, "interval"),
                                    sc_param_default_ms(sc_break_fields, "interval"));
    int64_t cap = sc_plan_duration_ms(json_object_get(opts, "max_interval"), 7 * 24 * 3600 * 1000LL);
    if (!strcmp(json_string_value(json_object_get(opts, "backoff")) ?: "", "exponential"))
        for (int k = 1; k < r->attempt && d < cap; k++)
            d *= 2;
    if (d > cap)
        d = cap;
    if (json_is_true(json_object_get(opts, "jitter"))) {
        uint32_t h = 2166136261u; /* FNV-1a of id and attempt */
        for (const char *c = r->id; *c; c++)
            h = (h ^ (unsigned char)*c) * 16777619u;
        h = (h ^ (uint32_t)r->attempt) * 16777619u;
        d += d * (int64_t)(h % 201) / 1000;
    }
    json_t *ra = json_object_get(error, "retry_after_ms");
    if (json_is_integer(ra) && json_integer_value(ra) > d)
        d = json_integer_value(ra);
    return d;
}

/* The steps of an error route (usually a notify), run once the failure is final. */
static void run_route_steps(struct sc_run *r, struct sc_plan_route *rt)
{
    for (size_t i = 0; i < rt->steps.n && !r->stop; i++) {
        struct sc_plan_step *hs = &rt->steps.v[i];
        json_t *o = NULL, *d = NULL;
        char herr[1024];
        int64_t hms;
        enum sc_status hst = run_step(r, hs, &o, &d, &hms, herr, sizeof herr);
        json_decref(r->pending_undo); /* the route's own steps are not rolled back */
        r->pending_undo = NULL;
        r->pending_sent = false;
        if (hst == SC_OK) {
            log_step(r, hs, "ok", hms, json_incref(json_array_get(o, 0)), NULL, NULL);
        } else {
            json_t *he = make_error(r, hs, hst, herr, d);
            log_step(r, hs, "error", hms, NULL, he, NULL);
            fail_execution(r, he); /* an error route that fails leaves nobody informed */
            json_decref(he);
        }
        json_decref(o);
        json_decref(d);
    }
}

/* resume: the outputs its template renders (a new array), NULL when it fails. */
static json_t *resume_outs(struct sc_run *r, struct sc_plan_step *s, struct sc_plan_route *rt)
{
    enum sc_status rst;
    char rerr[512];
    sc_lua_budget(r->rt->lua, SC_LUA_INSTRUCTIONS, r->deadline); /* its own, as a filter's */
    json_t *o = sc_tmpl_render(rt->resume, r->rt->lua, &rst, rerr, sizeof rerr);
    if (o)
        return json_pack("[o]", o);
    json_t *re = make_error(r, s, rst, rerr, NULL);
    fail_execution(r, re);
    json_decref(re);
    return NULL;
}

/* The directive's line in the log, recorded with state (what a later attempt replays). */
static void log_directive(struct sc_run *r, struct sc_plan_step *s, struct sc_plan_route *rt, json_t *state,
                          const char *note)
{
    json_t *entry = json_pack("{s:s, s:s, s:s}", "step", sc_plan_step_name(s), "module", "on_error",
                              "status", sc_plan_directive_names[rt->dir]);
    if (entry && r->bundle[0])
        json_object_set_new(entry, "bundle", json_string(r->bundle));
    if (entry && note)
        json_object_set_new(entry, "output", json_string(note));
    if (json_array_append_new(r->log, entry) == 0)
        store_step(r, entry, s, state);
}

/* break: an incomplete entry for this bundle, due again after the retry delay unless
 * final. */
static void break_bundle(struct sc_run *r, struct sc_plan_step *s, struct sc_plan_route *rt, json_t *error,
                         bool retryable, bool final)
{
    json_t *input = r->sc->confidential ? json_string("[redacted: confidential scenario]")
                                        : json_incref(r->input ? r->input : json_null());
    json_t *inc = json_pack("{s:s, s:s, s:o, s:O, s:O, s:b, s:i, s:b}", "step", sc_plan_step_name(s),
                            "bundle", r->bundle[0] ? r->bundle : "1", "input", input, "error",
                            error, "retry", rt->opts, "retryable", retryable, "attempt",
                            r->attempt, "final", final);
    if (inc && !final)
        json_object_set_new(inc, "next_in_ms", json_integer(retry_delay(r, rt->opts, error)));
    if (!inc || json_array_append_new(r->incomplete, inc) != 0)
        fail_execution(r, NULL);
}

/* Carries out the route's directive; returns the outputs to go on with (resume,
 * ignore's none) or NULL. */
static json_t *end_route(struct sc_run *r, struct sc_plan_step *s, struct sc_plan_route *rt, json_t *error,
                         bool retryable, bool final)
{
    json_t *outs = NULL, *state = NULL; /* resume and ignore replay as the step's outcome */
    if (rt->dir == SC_PLAN_RESUME) {
        outs = resume_outs(r, s, rt);
        state = outs ? json_pack("{s:O}", "outs", outs) : NULL;
    } else if (rt->dir == SC_PLAN_IGNORE) {
        state = json_pack("{s:[]}", "outs");
    }
    char *note = NULL; /* rollback: what was undone, and what cannot be */
    if (!r->stop && (rt->dir == SC_PLAN_ROLLBACK || rt->dir == SC_PLAN_COMMIT))
        note = undo_run(r, rt->dir == SC_PLAN_ROLLBACK);
    if (!r->stop)
        log_directive(r, s, rt, state, note);
    free(note);
    json_decref(state);
    switch (rt->dir) {
    case SC_PLAN_IGNORE:
    case SC_PLAN_RESUME:
        break;
    case SC_PLAN_BREAK:
        break_bundle(r, s, rt, error, retryable, final);
        break;
    case SC_PLAN_COMMIT:
        r->stop = true;
        r->committed = true;
        break;
    case SC_PLAN_ROLLBACK:
        fail_execution(r, error);
        break;
    }
    return outs;
}

/* Runs the error route for a failed step. Returns the outputs to go on with (resume)
 * or NULL when this bundle stops here. A break that will be retried stays quiet: the
 * route's steps (the notify) run once, when no attempt is left. */
static json_t *handle_error(struct sc_run *r, struct sc_plan_step *s, enum sc_status st, const char *msg,
                            json_t *detail, int64_t ms)
{
    struct sc_plan_route *rt = s->route ? s->route : r->sc->route;
    json_t *error = make_error(r, s, st, msg, detail);
    if (!error) {
        fail_execution(r, NULL);
        return NULL;
    }
    log_step(r, s, "error", ms, NULL, error, NULL);
    if (!rt || r->stop) {
        fail_execution(r, error);
        json_decref(error);
        return NULL;
    }
    bool retryable = false, final = true;
    if (rt->dir == SC_PLAN_BREAK) {
        retryable = st != SC_ERR_CONFIG &&
                    ((st != SC_ERR_DATA && st != SC_ERR_RUNTIME) ||
                     json_is_true(json_object_get(rt->opts, "retry_data_errors")));
        /* retries after the first run, as Make counts them: retries: 3 runs 4 times */
        final = !retryable ||
                r->attempt > json_integer_value(json_object_get(rt->opts, "retries"));
    }
    r->error = error;
    set_ctx(r, "error", error);
    if (final)
        run_route_steps(r, rt);
    json_t *outs = r->stop ? NULL : end_route(r, s, rt, error, retryable, final);
    set_ctx(r, "error", NULL);
    r->error = NULL;
    json_decref(error);
    return outs;
}

static void set_output(struct sc_run *r, struct sc_plan_step *s, json_t *out)
{
    if (s->id)
        json_object_set(r->steps, s->id, out);
}

static void push_bundle(struct sc_run *r, size_t k)
{
    size_t n = strlen(r->bundle);
    snprintf(r->bundle + n, sizeof r->bundle - n, "%s%zu", n ? "." : "", k);
}

/* A condition outside any step (filters, route filters) gets its own Lua budget. */
static enum sc_status test_condition(struct sc_run *r, const struct sc_tmpl *t, bool *pass,
                                     char *err, size_t errlen)
{
    sc_lua_budget(r->rt->lua, SC_LUA_INSTRUCTIONS, r->deadline);
    return sc_tmpl_test(t, r->rt->lua, pass, err, errlen);
}

static void run_router(struct sc_run *r, struct sc_plan_step *s)
{
    json_t *taken = json_array();
    int64_t t0 = sc_clock_mono_ms();
    bool any = false;
    for (size_t i = 0; i < s->nbranches && !r->stop; i++) {
        struct sc_plan_branch *br = &s->branches[i];
        bool ok = true;
        if (br->filter) {
            char err[1024];
            enum sc_status st = test_condition(r, br->filter, &ok, err, sizeof err);
            if (st != SC_OK) {
                char msg[1200];
                snprintf(msg, sizeof msg, "route '%s' filter: %s", br->name, err);
                json_t *e = make_error(r, s, st, msg, NULL);
                log_step(r, s, "error", 0, NULL, e, NULL);
                fail_execution(r, e);
                json_decref(e);
                break;
            }
        }
        if (!ok)
            continue;
        any = true;
        json_array_append_new(taken, json_string(br->name));
    }
    bool fb = !any && !r->stop && s->fallback.n;
    if (fb)
        json_array_append_new(taken, json_string("fallback"));
    if (r->stop) {
        json_decref(taken);
        return;
    }
    log_step(r, s, json_array_size(taken) ? "ok" : "filtered", sc_clock_mono_ms() - t0,
             json_pack("{s:O}", "routes", taken), NULL, NULL);
    size_t k = 0;
    for (size_t i = 0; i < s->nbranches && !r->stop; i++) {
        const char *name = json_string_value(json_array_get(taken, k));
        if (!name || strcmp(name, s->branches[i].name))
            continue;
        k++;
        json_t *saved = fork_vars(r);
        run_list(r, &s->branches[i].steps, 0, NULL);
        join_vars(r, saved);
    }
    if (fb)
        run_list(r, &s->fallback, 0, NULL);
    json_decref(taken);
}

/* On a further attempt, the outputs a step recorded last time (and the vars it set):
 * a step that ended never runs twice. NULL when it has to run. */
static json_t *replayed(struct sc_run *r, struct sc_plan_step *s)
{
    json_t *e = sc_journal_replayed(&r->jn, s->id, r->bundle);
    json_t *outs = json_object_get(e, "outs"), *vars = json_object_get(e, "vars");
    if (!json_is_array(outs))
        return NULL;
    if (json_is_object(vars) && json_object_update(r->vars, vars) != 0)
        fail_execution(r, NULL);
    undo_push(r, s, json_object_get(e, "undo"), json_is_true(json_object_get(e, "sent")));
    return json_incref(outs);
}


/* The step just run parked this bundle till r->park_ms (a sleep): an incomplete entry
 * due then, like a retry; the steps after it run when it wakes, in the same attempt. */
static void park(struct sc_run *r, struct sc_plan_step *s)
{
    int64_t now = sc_clock_now_ms(), wake = r->park_ms;
    char until[40];
    sc_clock_iso(wake, until, sizeof until);
    r->park_ms = 0;
    json_t *inc = json_pack("{s:s, s:s, s:{s:s, s:s}, s:I, s:i}", "step", sc_plan_step_name(s),
                            "bundle", r->bundle[0] ? r->bundle : "1", "sleep", "until", until,
                            "message", r->park_before ? r->park_why : "sleeping", "next_in_ms",
                            (json_int_t)(wake > now ? wake - now : 0), "attempt", r->attempt);
    if (!inc || json_array_append_new(r->incomplete, inc) != 0)
        fail_execution(r, NULL);
}

/* The end of an iterator's branch: this bundle's value joins the aggregate's items. */
static void collect(struct sc_run *r, struct sc_plan_step *s, struct agg *sink)
{
    json_t *with = NULL;
    enum sc_status st;
    char err[1024];
    sc_lua_budget(r->rt->lua, SC_LUA_INSTRUCTIONS, r->deadline);
    json_t *value = json_object_get(s->with, "value");
    if (value)
        with = sc_tmpl_render(s->tmpl, r->rt->lua, &st, err, sizeof err);
    json_t *item = value ? json_object_get(with, "value") : r->input;
    if (value && !with) {
        json_t *e = make_error(r, s, st, err, NULL);
        log_step(r, s, "error", 0, NULL, e, NULL);
        fail_execution(r, e);
        json_decref(e);
    } else {
        json_array_append(sink->items, item ? item : json_null());
    }
    json_decref(with);
}

/* The step's filter: false when this bundle stops here (filtered, or the filter failed
 * and its error route ran: a filter that fails cannot be resumed past). */
static bool passes(struct sc_run *r, struct sc_plan_step *s)
{
    bool pass = true;
    char err[1024];
    enum sc_status st = test_condition(r, s->filter, &pass, err, sizeof err);
    if (st != SC_OK) {
        char msg[1200];
        snprintf(msg, sizeof msg, "filter: %s", err);
        json_decref(handle_error(r, s, st, msg, NULL, 0));
        return false;
    }
    if (!pass)
        log_step(r, s, "filtered", 0, NULL, NULL, NULL);
    return pass;
}

/* The step asked to hold this bundle for a person: no replay state, the next attempt
 * asks again. */
static void hold_bundle(struct sc_run *r, struct sc_plan_step *s, int64_t ms)
{
    json_t *e = log_entry(r, s, "held", ms, json_incref(r->held), NULL);
    store_step(r, e, s, NULL);
    json_t *inc = json_pack("{s:s, s:s, s:O, s:b, s:b, s:i}", "step", sc_plan_step_name(s), "bundle",
                            r->bundle[0] ? r->bundle : "1", "hold", r->held, "held", 1, "final",
                            1, "attempt", r->attempt);
    if (!inc || json_array_append_new(r->incomplete, inc) != 0)
        fail_execution(r, NULL);
    json_decref(r->held);
    r->held = NULL;
}

/* Logs and records a step that ended ok; its state (outs, vars it set, what it can undo
 * or sent) replays it on a later attempt. */
static void record_ok(struct sc_run *r, struct sc_plan_step *s, json_t *outs, int64_t ms, json_t *undo,
                      bool sent)
{
    size_t n = json_array_size(outs);
    json_t *e = log_entry(r, s, "ok", ms, n == 1 ? json_incref(json_array_get(outs, 0)) : NULL,
                          NULL);
    if (e && n != 1) /* a fan-out: the bundles show in the steps after */
        json_object_set_new(e, "bundles", json_integer((json_int_t)n));
    json_t *state = NULL;
    if (r->rt->store && (state = json_pack("{s:O}", "outs", outs)) && r->vars_touched)
        json_object_set(state, "vars", r->vars);
    if (state && undo) /* a later attempt's rollback can still undo it */
        json_object_set(state, "undo", undo);
    if (state && sent)
        json_object_set_new(state, "sent", json_true());
    if (r->rt->store && !state)
        fail_execution(r, NULL);
    store_step(r, e, s, state);
    json_decref(state);
}

/* Runs the step's module for this bundle; its outputs (a new array), or NULL when the
 * bundle stops here (held, parked, or failed without a resume). */
static json_t *run_fresh(struct sc_run *r, struct sc_plan_step *s)
{
    json_t *outs = NULL, *detail = NULL;
    char err[2048];
    int64_t ms;
    enum sc_status st = run_step(r, s, &outs, &detail, &ms, err, sizeof err);
    json_t *undo = r->pending_undo;
    bool sent = r->pending_sent;
    r->pending_undo = NULL;
    r->pending_sent = false;
    if (st == SC_OK && r->park_before) { /* deferred before it ran: no state, it runs again */
        log_step(r, s, "throttled", ms, NULL, NULL, NULL);
        park(r, s);
        r->park_before = false;
        json_decref(outs);
        json_decref(undo);
        json_decref(detail);
        return NULL;
    }
    if (st == SC_OK && !r->held)
        undo_push(r, s, undo, sent);
    if (st == SC_OK && r->held) {
        hold_bundle(r, s, ms);
        json_decref(outs);
        outs = NULL;
    } else if (st == SC_OK) {
        record_ok(r, s, outs, ms, undo, sent);
        if (r->park_ms > 0) { /* it replays as done: the next attempt goes on after it */
            park(r, s);
            json_decref(outs);
            outs = NULL;
        }
    } else {
        outs = handle_error(r, s, st, err, detail, ms);
    }
    json_decref(undo);
    json_decref(detail);
    return outs;
}

/* After the aggregate the list goes on once, with the collected array. */
static void after_aggregate(struct sc_run *r, struct sc_plan_list *l, size_t i, struct agg *collect,
                            struct agg *sink)
{
    struct sc_plan_step *s = &l->v[i], *as = collect->step;
    if (!r->stop) {
        for (size_t j = i + 1; j < s->agg - 1; j++)
            if (l->v[j].id)
                json_object_del(r->steps, l->v[j].id); /* per-bundle outputs end here */
        log_step(r, as, "ok", 0, json_incref(collect->items), NULL, NULL);
        set_output(r, as, collect->items);
        r->input = collect->items;
    }
    json_t *keep = collect->items;
    if (!r->stop)
        run_list(r, l, s->agg, sink);
    json_decref(keep);
}

/* Fan-out: the rest of the list (up to the step's aggregate, if any) runs once per
 * bundle of outs (stolen). */
static void fan_out(struct sc_run *r, struct sc_plan_list *l, size_t i, json_t *outs, struct agg *sink)
{
    struct sc_plan_step *s = &l->v[i];
    size_t blen = strlen(r->bundle);
    struct agg collect = {0};
    if (s->agg) {
        collect.step = &l->v[s->agg - 1];
        if (!(collect.items = json_array())) {
            json_decref(outs);
            fail_execution(r, NULL);
            return;
        }
    }
    size_t k;
    json_t *b;
    json_array_foreach(outs, k, b) {
        if (r->stop)
            break;
        set_output(r, s, b);
        r->input = b;
        push_bundle(r, k + 1);
        json_t *saved = fork_vars(r);
        run_list(r, l, i + 1, s->agg ? &collect : sink);
        join_vars(r, saved);
        r->bundle[blen] = '\0';
    }
    json_decref(outs);
    if (s->agg)
        after_aggregate(r, l, i, &collect, sink);
}

static void run_list(struct sc_run *r, struct sc_plan_list *l, size_t i, struct agg *sink)
{
    for (; i < l->n && !r->stop; i++) {
        struct sc_plan_step *s = &l->v[i];
        if (sink && s == sink->step) { /* the end of an iterator's branch: collect */
            collect(r, s, sink);
            return;
        }
        json_t *outs = replayed(r, s);
        if (!outs && s->filter && !passes(r, s))
            return;
        if (!outs && s->branches) {
            run_router(r, s);
            return;
        }
        if (!outs && !(outs = run_fresh(r, s)))
            return;
        if (r->stop) {
            json_decref(outs);
            return;
        }
        if (json_array_size(outs) == 1 && !s->agg) {
            json_t *keep = json_incref(json_array_get(outs, 0));
            json_decref(outs);
            set_output(r, s, keep);
            r->input = keep;
            run_list(r, l, i + 1, sink);
            json_decref(keep);
            return;
        }
        fan_out(r, l, i, outs, sink);
        return;
    }
}

/* ts's date and time digits, '-' and v as `digits` hex digits into buf (n bytes, cut as
 * snprintf cuts): an id per webhook, without printf's cost. */
static void id_text(char *buf, size_t n, const char *ts, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    char t[40];
    memcpy(t, ts, 4);
    memcpy(t + 4, ts + 5, 2);
    memcpy(t + 6, ts + 8, 2);
    t[8] = '-';
    memcpy(t + 9, ts + 11, 2);
    memcpy(t + 11, ts + 14, 2);
    memcpy(t + 13, ts + 17, 2);
    t[15] = '-';
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        t[16 + i] = hex[v & 15];
    size_t len = 16 + (size_t)digits;
    if (n == 0)
        return;
    if (len > n - 1)
        len = n - 1;
    memcpy(buf, t, len);
    buf[len] = '\0';
}

void sc_exec_new_id(char *buf, size_t n)
{
    static unsigned long counter;
    char ts[40];
    int64_t now = sc_clock_now_ms();
    sc_clock_iso(now, ts, sizeof ts);
    /* 2026-03-08T07:59:00.412Z -> 20260308-075900-19cxxxxxxxxx: a counter on the test
     * clock, else the millisecond and 36 random bits (with 10 events in a millisecond, two
     * share an id once in 1.5e9 such milliseconds: the store refuses the second, and its
     * taker makes another). In time order, a batch's rows go to the last page of each
     * index on the id (random ids put each in a page of its own: twice the pages per
     * commit, and an fsync takes longer with each page). */
    if (sc_clock_is_test()) {
        unsigned long c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        id_text(buf, n, ts, c & 0xffffff, 6);
        return;
    }
    /* random bits fetched 512 ids at a time: a system call per id was ~1% of an execution */
    static _Thread_local uint64_t pool[512];
    static _Thread_local size_t left;
    if (!left && getrandom(pool, sizeof pool, 0) == (ssize_t)sizeof pool)
        left = sizeof pool / sizeof pool[0];
    uint64_t rnd = left ? pool[--left]
                        : (uint64_t)sc_clock_mono_ms() ^ ((uint64_t)getpid() << 24) ^ (uint64_t)(uintptr_t)buf;
    id_text(buf, n, ts, (uint64_t)(now % 1000) << 36 | (rnd & 0xfffffffffULL), 12);
}

/* The execution's id and URL, as expressions see them. */
static int set_id(struct sc_run *r, const char *id)
{
    snprintf(r->id, sizeof r->id, "%s", id);
    char *url = sc_asprintf("%s/executions/%s", r->org_url, r->id);
    int rc = url && r->execution ? json_object_set_new(r->execution, "url", json_string(url)) |
                                   json_object_set_new(r->execution, "id", json_string(r->id))
                                 : -1;
    free(url);
    return rc;
}

/* A new execution is recorded before its first step; a further attempt reads what
 * the earlier ones recorded. -1 (the execution failed) when the store cannot. */
static int store_begin(struct sc_run *r, json_t *trigger, const char *source, int64_t started_ms)
{
    int rc = 0;
    if (r->attempt > 1 || r->jn.wakes) {
        rc = sc_journal_open(&r->jn);
    } else if (!r->queued) { /* a queued one was recorded when it was queued */
        struct sc_exec_row row = {.id = r->id, .scenario = r->sc->name,
                                  .org = r->rt->org ? r->rt->org->name : "none",
                                  .version = r->version, .source = source, .trigger = trigger,
                                  .confidential = r->sc->confidential, .started_ms = started_ms};
        /* a made id can be taken (another process on the test clock): make another */
        for (int tries = 0; (rc = sc_journal_begin(&r->jn, &row)) == 1 && !r->fixed_id &&
                            tries < 100000; tries++) {
            char id[64];
            sc_exec_new_id(id, sizeof id);
            if (set_id(r, id) != 0)
                break;
        }
        if (rc == 1) /* taken, and no other id may be made */
            rc = -1, snprintf(r->jn.err, sizeof r->jn.err, "recording the execution failed: %s",
                              sc_store_error(r->rt->store));
    }
    if (rc != 0)
        journal_failed(r);
    return rc;
}

/* Ends the attempt in the store; a record that could not be kept says so. */
static void store_end(struct sc_run *r, json_t *rec)
{
    if (sc_journal_end(&r->jn, r->sc->name, rec) == 0)
        return;
    json_object_set_new(rec, "status", json_string("error")); /* the caller must not report success */
    json_object_set_new(rec, "error", json_pack("{s:o, s:s}", "message", sc_json_text(r->jn.err),
                                                "kind", "store"));
}

/* o[k] = the string v, for each k, v up to a NULL k (literal keys); -1 when one could not
 * be set. json_pack copies every key through a buffer of its own first: ~9,000 instructions
 * for the 6-8 keys of an execution's context or record. */
static int set_strings(json_t *o, ...)
{
    va_list ap;
    va_start(ap, o);
    int rc = o ? 0 : -1;
    for (const char *k; rc == 0 && (k = va_arg(ap, const char *));)
        rc = json_object_set_new_nocheck(o, k, json_string(va_arg(ap, const char *)));
    va_end(ap);
    return rc;
}

/* The execution record of an ended attempt (a new reference; it takes the log), or NULL
 * when a part of it could not be made: a record with a part missing would mislead. */
static json_t *make_record(struct sc_run *r, const char *started)
{
    bool held = false, sleeping = json_array_size(r->incomplete) > 0;
    size_t hi;
    json_t *he;
    json_array_foreach(r->incomplete, hi, he) {
        held |= json_is_true(json_object_get(he, "held"));
        sleeping &= json_object_get(he, "sleep") != NULL;
    }
    const char *status = r->ended_error ? "error" : held ? "held" : sleeping ? "sleeping"
                       : json_array_size(r->incomplete) ? "warning" : "success";
    const char *org = r->rt->org ? r->rt->org->name : "none";
    json_t *rec = json_object();
    if (set_strings(rec, "id", r->id, "scenario", r->sc->name, "org", org, "version", r->version,
                    "status", status, "started_at", started, NULL) ||
        json_object_set_new_nocheck(rec, "duration_ms", json_integer((json_int_t)(
                                        sc_clock_mono_ms() - r->t0 + r->before_ms)))) {
        json_decref(rec);
        rec = NULL;
    }
    if (!rec || json_object_set_new_nocheck(rec, "steps", r->log)) { /* taken either way */
        if (!rec)
            json_decref(r->log);
        json_decref(rec);
        rec = NULL;
    }
    if (rec && (json_object_set(rec, "url", json_object_get(r->execution, "url")) ||
                (r->fail && json_object_set(rec, "error", r->fail)) ||
                (json_array_size(r->incomplete) &&
                 json_object_set(rec, "incomplete", r->incomplete)) ||
                (r->response && json_object_set(rec, "response", r->response)) ||
                (r->committed && json_object_set_new(rec, "committed", json_true())) ||
                (r->resumed && json_object_set_new(rec, "resumed", json_true())) ||
                ((r->attempt > 1 || r->jn.wakes) &&
                 json_object_set_new(rec, "attempt", json_integer(r->attempt))))) {
        json_decref(rec);
        rec = NULL;
    }
    return rec;
}

json_t *sc_exec_run(struct sc_scenario *sc, struct sc_runtime *rt, json_t *trigger,
                    const struct sc_exec_opts *opts)
{
    struct sc_run r = {.sc = sc, .rt = rt};
    r.version = opts && opts->version ? opts->version : "draft";
    r.by = opts ? opts->by : NULL;
    r.attempt = opts && opts->attempt > 1 ? opts->attempt : 1;
    r.queued = opts && opts->queued;
    r.resumed = opts && opts->resumed;
    r.jn = (struct sc_journal){.store = rt->store, .execution = r.id, .attempt = r.attempt,
                               .wakes = opts && (opts->wakes || opts->resumed),
                               .confidential = sc->confidential,
                               .atomic = opts && opts->atomic};
    r.before_ms = opts && opts->wakes && opts->before_ms > 0 ? opts->before_ms : 0;
    r.fixed_id = opts && opts->id;
    if (opts && opts->id)
        snprintf(r.id, sizeof r.id, "%s", opts->id);
    else
        sc_exec_new_id(r.id, sizeof r.id);
    char started[40];
    int64_t started_ms = sc_clock_now_ms();
    sc_clock_iso(started_ms, started, sizeof started);
    const char *org = rt->org ? rt->org->name : "none";
    r.org_url = rt->org ? rt->org->url : NULL;
    if (!r.org_url && rt->url && *rt->url)
        r.org_url = rt->url;
    if (!r.org_url) {
        snprintf(r.url_buf, sizeof r.url_buf, "scenarist://%s", org);
        r.org_url = r.url_buf;
    }
    char *url = sc_asprintf("%s/executions/%s", r.org_url, r.id);
    r.log = json_array();
    r.steps = json_object();
    r.vars = json_object();
    r.incomplete = json_array();
    r.execution = url ? json_object() : NULL;
    if (r.execution && set_strings(r.execution, "id", r.id, "scenario", sc->name, "org", org,
                                   "version", r.version, "url", url, "started_at", started, NULL)) {
        json_decref(r.execution);
        r.execution = NULL;
    }
    free(url);
    json_t *env = rt->org ? rt->org->settings : NULL;
    json_t *empty_env = env ? NULL : json_object();
    if (!r.log || !r.steps || !r.vars || !r.incomplete || !r.execution || (!env && !empty_env)) {
        json_decref(r.log);
        json_decref(r.steps);
        json_decref(r.vars);
        json_decref(r.incomplete);
        json_decref(r.execution);
        json_decref(empty_env);
        return NULL;
    }
    sc_lua_choose(rt->lua, sc->tset); /* its version's transform code */
    set_ctx(&r, "trigger", trigger);
    set_ctx(&r, "steps", r.steps);
    set_ctx(&r, "vars", r.vars);
    set_ctx(&r, "execution", r.execution);
    set_ctx(&r, "env", env ? env : empty_env);
    set_ctx(&r, "error", NULL);
    r.t0 = sc_clock_mono_ms();
    r.deadline = r.t0 + sc->timeout_ms;
    r.input = trigger;
    if (r.attempt > 1 || r.jn.wakes)
        json_object_set_new(r.execution, "attempt", json_integer(r.attempt));
    if (store_begin(&r, trigger, opts ? opts->source : NULL, started_ms) == 0)
        run_list(&r, &sc->steps, 0, NULL);
    for (const char *n = "trigger\0steps\0vars\0execution\0env\0"; *n; n += strlen(n) + 1)
        set_ctx(&r, n, NULL);
    if (!r.ended_error && !json_array_size(r.incomplete)) /* a success keeps what it did */
        free(undo_run(&r, false));
    undo_clear(&r);
    json_decref(r.pending_undo);
    sc_lua_forget(rt->lua);
    json_t *rec = make_record(&r, started);
    if (rec && rt->store)
        store_end(&r, rec);
    if (rt->store) /* ended, recorded or not: its lease is left to lapse */
        sc_store_exec_release(r.id);
    sc_journal_free(&r.jn);
    json_decref(r.fail);
    json_decref(r.response);
    json_decref(r.steps);
    json_decref(r.vars);
    json_decref(r.incomplete);
    json_decref(r.execution);
    json_decref(empty_env);
    return rec;
}

/* Renders a key: a string as it is, a number or boolean as JSON text. */
static char *key_text(json_t *v)
{
    if (json_is_string(v))
        return sc_strdup(json_string_value(v));
    if (json_is_null(v) || json_is_object(v) || json_is_array(v))
        return NULL;
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

enum sc_status sc_exec_poll(struct sc_scenario *sc, struct sc_runtime *rt, size_t trigger,
                            int64_t since_ms, int64_t until_ms, json_t **items, char *err, size_t errlen)
{
    *items = NULL;
    struct sc_plan_poll *pl = NULL;
    for (size_t i = 0; i < sc->npolls; i++)
        if (sc->polls[i].trigger == trigger)
            pl = &sc->polls[i];
    if (!pl) {
        snprintf(err, errlen, "trigger %zu is not a poll", trigger);
        return SC_ERR_CONFIG;
    }
    char since[40], now[40], until[40];
    sc_clock_iso(since_ms, since, sizeof since);
    sc_clock_iso(sc_clock_now_ms(), now, sizeof now);
    sc_clock_iso(until_ms, until, sizeof until);
    struct sc_run r = {.sc = sc, .rt = rt, .version = "poll", .attempt = 1};
    snprintf(r.id, sizeof r.id, "poll");
    r.org_url = "scenarist://poll";
    r.t0 = sc_clock_mono_ms();
    r.deadline = r.t0 + sc->timeout_ms;
    json_t *ctx = json_pack("{s:s, s:I, s:s, s:I, s:s}", "since", since, "since_ms",
                            (json_int_t)since_ms, "until", until, "until_ms", (json_int_t)until_ms,
                            "now", now);
    json_t *env = rt->org ? rt->org->settings : NULL;
    struct sc_lua *lua = rt->lua;
    json_t *outs = NULL, *detail = NULL, *list = NULL, *res = json_array();
    enum sc_status st = SC_ERR_RUNTIME;
    snprintf(err, errlen, "out of memory");
    sc_lua_choose(lua, sc->tset);
    if (!ctx || !res || sc_lua_set(lua, "poll", ctx) || sc_lua_set(lua, "env", env))
        goto out;
    st = call_step(&r, &pl->step, &outs, &detail, err, errlen);
    json_decref(detail);
    if (st != SC_OK)
        goto out;
    if (sc_lua_set(lua, "output", json_array_get(outs, 0)) != 0) {
        st = SC_ERR_RUNTIME;
        goto out;
    }
    sc_lua_budget(lua, SC_LUA_INSTRUCTIONS, r.deadline);
    if (!(list = sc_tmpl_render(pl->items, lua, &st, err, errlen)))
        goto out;
    if (!json_is_array(list)) {
        st = SC_ERR_DATA;
        snprintf(err, errlen, "poll items must be a list, not %s", json_is_object(list)
                 ? "an object" : json_is_string(list) ? "a string" : "a scalar");
        goto out;
    }
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        json_t *k;
        if (sc_lua_set(lua, "item", item) != 0 || !(k = sc_tmpl_render(pl->key, lua, &st, err,
                                                                       errlen))) {
            if (st == SC_OK)
                st = SC_ERR_RUNTIME;
            goto out;
        }
        char *text = key_text(k);
        json_decref(k);
        if (!text || !*text) {
            st = SC_ERR_DATA;
            snprintf(err, errlen, "poll item %zu has no key (the key template gave nothing)", i);
            free(text);
            goto out;
        }
        json_t *e = json_pack("{s:s, s:O}", "key", text, "item", item);
        free(text);
        if (!e || json_array_append_new(res, e) != 0) {
            st = SC_ERR_RUNTIME;
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    *items = json_incref(res);
    st = SC_OK;
out:
    for (const char *n = "poll\0env\0output\0item\0"; *n; n += strlen(n) + 1)
        sc_lua_set(lua, n, NULL);
    json_decref(r.pending_undo);
    sc_lua_forget(lua);
    json_decref(ctx);
    json_decref(outs);
    json_decref(list);
    json_decref(res);
    return st;
}

int64_t sc_watch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
