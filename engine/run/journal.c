/* The journal (journal.h): an execution's record in the store. */
#include "run/journal.h"

#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* -1 with err "WHAT: the store's error". */
static int failed(struct sc_journal *j, const char *what)
{
    snprintf(j->err, sizeof j->err, "%s: %s", what, sc_store_error(j->store));
    return -1;
}

int sc_journal_step_begin(struct sc_journal *j, const char *step, const char *module,
                          const char *bundle)
{
    if (!j->store)
        return 0;
    struct sc_step_row row = {.execution = j->execution, .step = step, .module = module,
                              .bundle = bundle, .attempt = j->attempt, .status = "running",
                              .started_ms = sc_clock_now_ms(), .duration_ms = -1};
    if ((j->pending = sc_store_step_begin(j->store, &row)) < 0) {
        j->pending = 0;
        snprintf(j->err, sizeof j->err, "the store failed: %s", sc_store_error(j->store));
        return -1;
    }
    return 0;
}

int sc_journal_step_end(struct sc_journal *j, const char *step, const char *bundle,
                        const json_t *e, json_t *state)
{
    int64_t run = j->pending;
    j->pending = 0;
    bool defer = j->atomic && state;
    j->kept_state |= state && !defer;
    if (!j->store || !e)
        return 0;
    json_t *ms = json_object_get(e, "duration_ms");
    struct sc_step_row row = {.execution = j->execution, .step = step,
                              .module = json_string_value(json_object_get(e, "module")),
                              .bundle = bundle, .attempt = j->attempt,
                              .status = json_string_value(json_object_get(e, "status")),
                              .started_ms = sc_clock_now_ms(),
                              .duration_ms = ms ? json_integer_value(ms) : -1,
                              .output = json_object_get(e, "output"),
                              .error = json_object_get(e, "error"), .state = defer ? NULL : state,
                              .bundles = json_integer_value(json_object_get(e, "bundles")),
                              .confidential = j->confidential};
    int64_t id = run > 0 ? (sc_store_step_end(j->store, run, &row) ? -1 : run)
                         : sc_store_step_begin(j->store, &row);
    if (id > 0 && defer) {
        if (!j->deferred)
            j->deferred = json_array();
        if (!j->deferred ||
            json_array_append_new(j->deferred, json_pack("[I,O]", (json_int_t)id, state)) != 0) {
            snprintf(j->err, sizeof j->err, "out of memory");
            return -1;
        }
        return 0;
    }
    return id < 0 ? failed(j, "recording the step failed") : 0;
}

int sc_journal_open(struct sc_journal *j)
{
    if (!j->store)
        return 0;
    j->replay = sc_store_journal(j->store, j->execution);
    return j->replay ? 0 : failed(j, "reading the execution's steps failed");
}

json_t *sc_journal_replayed(const struct sc_journal *j, const char *step, const char *bundle)
{
    if (!j->replay || !step)
        return NULL;
    char key[600];
    snprintf(key, sizeof key, "%s %s", step, bundle);
    return json_object_get(j->replay, key);
}

int sc_journal_begin(struct sc_journal *j, const struct sc_exec_row *row)
{
    if (!j->store)
        return 0;
    int rc = sc_store_exec_begin(j->store, row);
    return rc == 0 || rc == 1 ? rc : failed(j, "recording the execution failed");
}

/* The incomplete entry of an attempt that left bundles behind (inc: the record's). */
static int put_incomplete(struct sc_journal *j, const char *scenario, const char *status,
                          const json_t *inc)
{
    json_t *first = json_array_get(inc, 0);
    int64_t wait = -1;
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)inc, i, e) {
        if (!json_is_true(json_object_get(e, "final"))) {
            int64_t w = json_integer_value(json_object_get(e, "next_in_ms"));
            wait = w > wait ? w : wait;
        }
    }
    struct sc_incomplete_row row = {
        .execution = j->execution, .scenario = scenario,
        .step = json_string_value(json_object_get(first, "step")),
        .bundle = json_string_value(json_object_get(first, "bundle")),
        .error = json_object_get(first, "error"), .attempts = j->attempt,
        /* 0: no automatic retry (a hold, a data or runtime error): no "of N" to show */
        .max_attempts = json_is_true(json_object_get(first, "retryable"))
                            ? 1 + (int)json_integer_value(
                                      json_object_get(json_object_get(first, "retry"), "retries"))
                            : 0,
        .next_ms = wait >= 0 ? sc_clock_now_ms() + wait : 0,
        .state = !strcmp(status, "held") ? "held" : wait >= 0 ? "pending" : "exhausted"};
    if (!row.error) /* a hold is no error: its reason stands in */
        row.error = json_object_get(first, "hold");
    if (!row.error) /* nor a sleep: its wake time */
        row.error = json_object_get(first, "sleep");
    return sc_store_incomplete_put(j->store, &row);
}

int sc_journal_end(struct sc_journal *j, const char *scenario, const json_t *rec)
{
    if (!j->store)
        return 0;
    const char *status = json_string_value(json_object_get(rec, "status"));
    json_t *summary = json_object(), *inc = json_object_get(rec, "incomplete");
    int rc = summary ? 0 : -1;
    for (const char *k = "url\0error\0incomplete\0response\0committed\0"; rc == 0 && *k;
         k += strlen(k) + 1)
        if (json_object_get(rec, k))
            rc = json_object_set(summary, k, json_object_get(rec, k));
    json_t *resp = json_object_get(summary, "response");
    if (rc == 0 && j->confidential && json_object_get(resp, "body")) { /* its caller had it */
        json_t *kept = json_copy(resp);
        if (!kept || json_object_set_new(kept, "body",
                                         json_string("[redacted: confidential scenario]"))) {
            json_decref(kept);
            rc = -1;
        } else
            rc = json_object_set_new(summary, "response", kept);
    }
    if (rc == 0 && json_array_get(inc, 0))
        rc = put_incomplete(j, scenario, status, inc);
    else if (rc == 0 && (j->attempt > 1 || j->wakes))
        rc = sc_store_incomplete_close(j->store, j->execution,
                                       strcmp(status, "success") ? "failed" : "done",
                                       "scenarist") < 0 ? -1 : 0;
    bool resumes = !strcmp(status, "warning") || !strcmp(status, "held") ||
                   !strcmp(status, "sleeping"); /* a later attempt */
    for (size_t i = 0; resumes && rc == 0 && i < json_array_size(j->deferred); i++) {
        json_t *d = json_array_get(j->deferred, i);
        rc = sc_store_step_state(j->store, json_integer_value(json_array_get(d, 0)),
                                 json_array_get(d, 1), j->confidential);
    }
    if (rc == 0)
        rc = sc_store_exec_end(j->store, j->execution, status,
                               json_integer_value(json_object_get(rec, "duration_ms")), summary,
                               j->attempt > 1 || j->wakes || j->kept_state); /* earlier runs' too */
    json_decref(summary);
    return rc == 0 ? 0 : failed(j, "recording the execution's end failed");
}

void sc_journal_free(struct sc_journal *j)
{
    json_decref(j->deferred);
    json_decref(j->replay);
    j->deferred = j->replay = NULL;
}
