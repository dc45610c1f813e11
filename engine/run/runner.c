#include "run/runner.h"

#include "clock.h"
#include "store/store.h"
#include "util.h"
#include "store/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loaded {
    char *source;
    struct sc_scenario *sc;
    bool owned;
};

struct sc_runner {
    struct sc_runtime *rt;
    struct loaded *v;
    size_t n, cap;
};

struct sc_runner *sc_runner_new(struct sc_runtime *rt)
{
    struct sc_runner *rn = sc_calloc(1, sizeof *rn);
    if (rn)
        rn->rt = rt;
    return rn;
}

void sc_runner_free(struct sc_runner *rn)
{
    if (!rn)
        return;
    for (size_t i = 0; i < rn->n; i++) {
        if (rn->v[i].owned)
            sc_scenario_free(rn->v[i].sc);
        free(rn->v[i].source);
    }
    free(rn->v);
    free(rn);
}

static int remember(struct sc_runner *rn, const char *source, struct sc_scenario *sc, bool owned)
{
    if (rn->n == rn->cap) {
        size_t cap = rn->cap ? rn->cap * 2 : 8;
        struct loaded *v = sc_realloc(rn->v, cap * sizeof *v);
        if (!v)
            return -1;
        rn->v = v;
        rn->cap = cap;
    }
    char *s = sc_strdup(source);
    if (!s)
        return -1;
    rn->v[rn->n++] = (struct loaded){.source = s, .sc = sc, .owned = owned};
    return 0;
}

struct sc_scenario *sc_runner_load(struct sc_runtime *rt, const char *source,
                                   struct sc_validator *shared, struct sc_diags *d)
{
    char name[80];
    int number = 0;
    if (strncmp(source, "version:", 8) != 0)
        return sc_scenario_load(source, rt->org, rt->lua, shared, d);
    if (sscanf(source + 8, "%79[^@]@%d", name, &number) != 2 || !rt->store) {
        struct sc_src src = {source, NULL, 0};
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "not a stored version");
        return NULL;
    }
    json_t *v = sc_store_version_get(rt->store, name, number), *doc = json_object_get(v, "document");
    json_t *scenario = v ? sc_version_scenario(doc) : NULL;
    char *text = scenario ? sc_version_text(scenario) : NULL;
    json_decref(scenario);
    struct sc_scenario *sc = NULL;
    char lerr[600];
    /* The version's own transform files (none stored: an older version, the disk's). */
    if (text && sc_lua_use(rt->lua, json_object_get(doc, "transforms"), lerr, sizeof lerr) != 0) {
        struct sc_src src = {source, NULL, 0};
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "its transforms: %s", lerr);
    } else if (text) {
        sc = sc_scenario_load_text(source, text, strlen(text), rt->org, rt->lua, shared, d);
    } else {
        struct sc_src src = {source, NULL, 0};
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "%s", v ? "out of memory"
                                                           : sc_store_error(rt->store));
    }
    if (text)
        sc_lua_use(rt->lua, NULL, lerr, sizeof lerr); /* drafts loaded next: the disk's */
    free(text);
    json_decref(v);
    return sc;
}

static struct sc_scenario *scenario_for(struct sc_runner *rn, const char *source,
                                        struct sc_diags *d)
{
    for (size_t i = 0; i < rn->n; i++)
        if (!strcmp(rn->v[i].source, source))
            return rn->v[i].sc;
    struct sc_scenario *sc = sc_runner_load(rn->rt, source, NULL, d);
    if (sc && remember(rn, source, sc, true) != 0) {
        sc_scenario_free(sc);
        return NULL;
    }
    return sc;
}

json_t *sc_runner_start(struct sc_runner *rn, struct sc_scenario *sc, const char *source,
                        json_t *trigger)
{
    bool known = false;
    for (size_t i = 0; i < rn->n && !known; i++)
        known = rn->v[i].sc == sc;
    if (!known && source && remember(rn, source, sc, false) != 0)
        return NULL;
    /* a stored version's number ("version:NAME@3"), else a draft */
    const char *at = source && !strncmp(source, "version:", 8) ? strrchr(source, '@') : NULL;
    struct sc_exec_opts opts = {.source = source, .version = at ? at + 1 : NULL};
    return sc_exec_run(sc, rn->rt, trigger, &opts);
}

/* True when the execution has an attempt left to run: left running by a crash, or
 * incomplete and still open; else err says why not. */
static bool runnable(struct sc_store *st, const char *id, const char *status, char *err,
                     size_t errlen)
{
    if (!strcmp(status, "running") || !strcmp(status, "held"))
        return true; /* a held one asks its hold again: it goes on only once approved */
    if (strcmp(status, "warning") != 0 && strcmp(status, "sleeping") != 0) {
        snprintf(err, errlen, "execution %s has finished (%s): nothing is left to run", id, status);
        return false;
    }
    json_t *inc = sc_store_incomplete_get(st, id);
    const char *state = json_string_value(json_object_get(inc, "state"));
    bool open = state && (!strcmp(state, "pending") || !strcmp(state, "exhausted"));
    if (!open)
        snprintf(err, errlen, "execution %s is not waiting for a retry%s%s", id,
                 state ? ": it was " : "", state ? state : "");
    json_decref(inc);
    return open;
}

/* A scenario that no longer loads: the execution waits for a person to fix the file. */
static void hand_to_person(struct sc_store *st, const char *id, json_t *info, int attempt,
                           char *err, size_t errlen)
{
    json_t *e = json_pack("{s:o, s:s}", "message", sc_json_text(err), "kind", "config");
    struct sc_incomplete_row row = {.execution = id,
                                    .scenario = json_string_value(json_object_get(info, "scenario")),
                                    .step = "", .bundle = "", .error = e, .attempts = attempt,
                                    .max_attempts = 0, /* no automatic retry: a person's turn */
                                    .state = "exhausted"};
    if (!e || sc_store_incomplete_put(st, &row) != 0 ||
        sc_store_exec_end(st, id, "warning", 0, NULL, false) != 0)
        snprintf(err + strlen(err), errlen - strlen(err), "; and the store failed: %s",
                 sc_store_error(st));
    json_decref(e);
}

bool sc_runner_local(struct sc_runner *rn, const char *source, struct sc_diags *d)
{
    struct sc_scenario *sc = source && *source ? scenario_for(rn, source, d) : NULL;
    return sc && (sc_scenario_local(sc) || sc_scenario_reads(sc));
}

int sc_runner_known_local(const struct sc_runner *rn, const char *source)
{
    if (!source || !*source)
        return 0;
    for (size_t i = 0; i < rn->n; i++)
        if (!strcmp(rn->v[i].source, source))
            return sc_scenario_local(rn->v[i].sc) ? 1 : sc_scenario_reads(rn->v[i].sc) ? 2 : 0;
    return -1;
}

bool sc_runner_interleaves(const struct sc_runner *rn, const char *source)
{
    for (size_t i = 0; source && i < rn->n; i++)
        if (!strcmp(rn->v[i].source, source))
            return sc_scenario_reads(rn->v[i].sc) && !sc_scenario_shares(rn->v[i].sc);
    return false;
}

int sc_runner_add(struct sc_runner *rn, struct sc_scenario *sc, const char *source)
{
    return remember(rn, source, sc, false);
}

/* Runs attempt `attempt` of a claimed execution with the scenario its source names;
 * before_ms >= 0: the attempt goes on after a sleep, having taken that long so far. */
static json_t *run_claimed(struct sc_runner *rn, const char *id, json_t *info, int attempt,
                           bool queued, bool atomic, int64_t before_ms, bool resumed,
                           const char *by, struct sc_diags *d, char *err, size_t errlen)
{
    const char *source = json_string_value(json_object_get(info, "source"));
    struct sc_scenario *sc = source && *source ? scenario_for(rn, source, d) : NULL;
    if (!sc) {
        snprintf(err, errlen, "its scenario %s does not load", source ? source : "(unknown)");
        hand_to_person(rn->rt->store, id, info, attempt, err, errlen);
        return NULL;
    }
    struct sc_exec_opts opts = {.id = id, .source = source, .attempt = attempt, .queued = queued,
                                .atomic = atomic, .wakes = before_ms >= 0,
                                .before_ms = before_ms > 0 ? before_ms : 0, .resumed = resumed,
                                .version = json_string_value(json_object_get(info, "version")),
                                .by = by};
    json_t *rec = sc_exec_run(sc, rn->rt, json_object_get(info, "trigger"), &opts);
    if (!rec)
        snprintf(err, errlen, "out of memory");
    return rec;
}

json_t *sc_runner_queued(struct sc_runner *rn, json_t *info, bool atomic, struct sc_diags *d,
                         char *err, size_t errlen)
{
    const char *id = json_string_value(json_object_get(info, "id"));
    return run_claimed(rn, id ? id : "", info, 1, true, atomic, -1, false, NULL, d, err, errlen);
}

static json_t *again(struct sc_runner *rn, const char *id, int64_t due_ms, const char *by,
                     struct sc_diags *d, char *err, size_t errlen);

json_t *sc_runner_again(struct sc_runner *rn, const char *id, struct sc_diags *d, char *err,
                        size_t errlen)
{
    return again(rn, id, -1, NULL, d, err, errlen);
}

json_t *sc_runner_retry(struct sc_runner *rn, const char *id, int64_t now_ms, struct sc_diags *d,
                        char *err, size_t errlen)
{
    return again(rn, id, now_ms, NULL, d, err, errlen);
}

/* A sleeping execution: its attempt's time so far (the runs before its sleep, and the
 * sleep to now); -1 when it is not sleeping. */
static int64_t slept(struct sc_store *st, const char *id, const char *status)
{
    if (!status || strcmp(status, "sleeping"))
        return -1;
    json_t *v = sc_store_exec_get(st, id);
    int64_t parked = 0, now = sc_clock_now_ms();
    const char *at = json_string_value(json_object_get(v, "finished_at"));
    if (!at || sc_clock_parse_iso(at, &parked))
        parked = now;
    int64_t ms = json_integer_value(json_object_get(v, "duration_ms")) + (now - parked);
    json_decref(v);
    return ms > 0 ? ms : 0;
}

/* by: the person whose decision runs this attempt, or NULL. */
static json_t *again(struct sc_runner *rn, const char *id, int64_t due_ms, const char *by,
                     struct sc_diags *d, char *err, size_t errlen)
{
    struct sc_store *st = rn->rt->store;
    json_t *info = sc_store_exec_resume_info(st, id);
    if (!info) {
        snprintf(err, errlen, "%s", sc_store_error(st));
        return NULL;
    }
    /* a sleep's end is no new attempt: attempts count tries after failures; nor is a
     * resume after a crash (left running, its lease lapsed): the process died, no try failed */
    const char *status = json_string_value(json_object_get(info, "status"));
    int64_t before = slept(st, id, status);
    bool resumed = status && !strcmp(status, "running");
    int attempt = (int)json_integer_value(json_object_get(info, "attempts")) +
                  (before < 0 && !resumed);
    json_t *rec = NULL;
    int claimed;
    if (!runnable(st, id, status, err, errlen)) {
        /* err says why */
    } else if ((claimed = sc_store_exec_claim(st, id, attempt, due_ms)) != 0) {
        snprintf(err, errlen, "%s", claimed < 0 ? sc_store_error(st)
                                    : due_ms >= 0 ? "its retry is no longer due (it ran meanwhile)"
                                                  : "another scenarist process is running it");
    } else {
        rec = run_claimed(rn, id, info, attempt, false, false, before, resumed, by, d, err,
                          errlen);
    }
    json_decref(info);
    return rec;
}

/* The one loop over stored executions: the daemon's workers and `scenarist resume` run
 * their abandoned executions and due retries through it. */
static int run_ids(struct sc_runner *rn, json_t *ids, int64_t due_ms, struct sc_diags *d,
                   const struct sc_runner_each *e)
{
    size_t i;
    json_t *v;
    int n = 0;
    json_array_foreach(ids, i, v) {
        const char *id = json_string_value(v);
        if (e->go && !e->go(e->data, id))
            break;
        char err[512] = "";
        json_t *rec = again(rn, id, due_ms, NULL, d, err, sizeof err);
        e->done(e->data, id, rec, err);
        json_decref(rec);
        n++;
    }
    return n;
}

int sc_runner_resume(struct sc_runner *rn, struct sc_diags *d, const struct sc_runner_each *e)
{
    json_t *ids = sc_store_exec_abandoned(rn->rt->store);
    if (!ids)
        return -1;
    int n = run_ids(rn, ids, -1, d, e);
    json_decref(ids);
    return n;
}

int sc_runner_retries(struct sc_runner *rn, int64_t now_ms, struct sc_diags *d,
                      const struct sc_runner_each *e)
{
    json_t *ids = sc_store_incomplete_due(rn->rt->store, now_ms);
    if (!ids)
        return -1;
    int n = run_ids(rn, ids, now_ms, d, e);
    json_decref(ids);
    return n;
}

json_t *sc_runner_continue(struct sc_runner *rn, const json_t *decision, struct sc_diags *d,
                           char *err, size_t errlen)
{
    const char *id = json_string_value(json_object_get(decision, "execution"));
    /* its writes are owed to the person who decided (decided_by) */
    json_t *rec = again(rn, id ? id : "", -1,
                        json_string_value(json_object_get(decision, "decided_by")), d, err, errlen);
    char outcome[600];
    if (rec)
        snprintf(outcome, sizeof outcome, "%s",
                 json_string_value(json_object_get(rec, "status")) ?: "unknown");
    else
        snprintf(outcome, sizeof outcome, "not run: %s", err);
    struct sc_store *st = rn->rt->store;
    if (sc_store_decision_end(st, json_integer_value(json_object_get(decision, "id")),
                              outcome) == SC_STORE_ERR && !rec)
        snprintf(err + strlen(err), errlen - strlen(err), "; and the store failed: %s",
                 sc_store_error(st));
    return rec;
}

int sc_runner_decided(struct sc_runner *rn, int max, struct sc_diags *d,
                      const struct sc_runner_each *e)
{
    int n = 0;
    while (n < max) {
        json_t *info = NULL;
        enum sc_store_rc rc = sc_store_decision_take(rn->rt->store, &info);
        if (rc != SC_STORE_OK)
            return rc == SC_STORE_NONE ? n : n ? n : -1;
        const char *id = json_string_value(json_object_get(info, "execution"));
        char err[512] = "";
        json_t *rec = sc_runner_continue(rn, info, d, err, sizeof err);
        e->done(e->data, id ? id : "", rec, err);
        json_decref(rec);
        json_decref(info);
        n++;
        if (e->go && !e->go(e->data, id))
            break;
    }
    return n;
}

int sc_runner_due(struct sc_runner *rn, struct sc_diags *d,
                  void (*done)(void *data, const char *id, json_t *rec, const char *err),
                  void *data)
{
    struct sc_runner_each e = {.done = done, .data = data};
    int n = sc_runner_resume(rn, d, &e);
    int m = n < 0 ? -1 : sc_runner_retries(rn, sc_clock_now_ms(), d, &e);
    return m < 0 ? -1 : n + m;
}
