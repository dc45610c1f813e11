/* The executor: a scenario compiled once into a plan (templates compiled into a Lua
 * state, defaults applied, routes resolved) and run per trigger event: steps in order,
 * fan-out of bundles, filters, routers, iterator/aggregate, timeouts, error routes.
 * Ownership: sc_scenario_load returns a plan freed by sc_scenario_free, which
 * borrows the org and the Lua state (both must outlive it); sc_exec_run returns the
 * execution record, a new reference. Modules see the step context below; every
 * json_t it hands out is borrowed unless the function's name ends in _take. */
#ifndef SC_EXEC_H
#define SC_EXEC_H

#include "lang/diag.h"
#include "run/http.h"
#include "lang/lua.h"
#include "module.h"
#include "model/org.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct sc_scenario;

/* Loads, validates (against org, which may be NULL) and compiles a scenario file.
 * shared: a validator used for several files, so that cross-file rules (unique names
 * and webhook paths) hold; NULL for a file on its own (borrowed, made with the same
 * org and d). NULL when anything is wrong; every problem is in d. */
struct sc_validator;
struct sc_scenario *sc_scenario_load(const char *path, const struct sc_org *org,
                                     struct sc_lua *lua, struct sc_validator *shared,
                                     struct sc_diags *d);
/* The same from text in memory (a stored version); name stands for the file in
 * diagnostics. */
struct sc_scenario *sc_scenario_load_text(const char *name, const char *text, size_t len,
                                          const struct sc_org *org, struct sc_lua *lua,
                                          struct sc_validator *shared, struct sc_diags *d);
void sc_scenario_free(struct sc_scenario *sc);
const char *sc_scenario_name(const struct sc_scenario *sc);
/* True when no step reaches another system or waits: an execution of it can run
 * inside a transaction shared with others, as it has no effect outside the store. */
bool sc_scenario_local(const struct sc_scenario *sc);
/* Borrowed: the scenario document as JSON. */
json_t *sc_scenario_json(const struct sc_scenario *sc);

/* The daemon's watch over one worker's steps. deadline_ms: when the step running now
 * must end, on the real monotonic clock (CLOCK_MONOTONIC, ms; the engine's test clock
 * does not move it), 0 between steps. grace_ms: how long past it the step may go on
 * before it is abandoned (an HTTP request is cut there; the step fails as a limit
 * error). what: "step S of execution E", under mu. */
struct sc_watch {
    _Atomic int64_t deadline_ms;
    int64_t grace_ms;
    pthread_mutex_t mu;
    char what[200];
};
/* CLOCK_MONOTONIC in ms (the watch's clock). */
int64_t sc_watch_now_ms(void);

/* What one worker owns and lends to the executions it runs. */
struct sc_store;
struct sc_runtime {
    struct sc_lua *lua;
    struct sc_http *http;
    const struct sc_org *org;
    struct sc_store *store; /* NULL: nothing is recorded (tests, docs) */
    struct sc_watch *watch; /* NULL: no watch (scenarist run, tests) */
    bool park;              /* a sleep parks the execution as a scheduled resume (the
                               daemon's workers); else it waits in place */
};

struct sc_exec_opts {
    const char *id;      /* execution id (NULL: one is made) */
    const char *version; /* scenario version, e.g. "3"; NULL: "draft" */
    const char *source;  /* the scenario file, recorded so a later attempt can load it */
    int attempt;         /* 0 or 1: a new execution; above: a further attempt of id, whose
                            steps recorded as done replay instead of running again */
    bool queued;         /* attempt 1 of an event the daemon queued: id is recorded, claimed */
    bool atomic;         /* the caller's transaction holds it from claim to end: a crash keeps
                            all of it or none, so resume states are written only when the end
                            keeps them (warning, held) */
    bool wakes;          /* attempt `attempt` goes on after a sleep (no new attempt: attempts
                            count tries after failures); its recorded steps replay */
    int64_t before_ms;   /* wakes: the attempt's time before this run, its sleep included (ms),
                            added to duration_ms */
};

/* A new execution id: "YYYYMMDD-HHMMSS-" and 12 random hex digits (a counter of 6 on
 * the test clock). */
void sc_exec_new_id(char *buf, size_t n);

/* Runs one event (or one further attempt of a stored execution). The record: {id,
 * scenario, org, version, status, started_at, duration_ms, attempt?, steps: [{step,
 * module, bundle, status, duration_ms, output|error}], error?, incomplete?, response?}.
 * status is success, warning (a bundle stopped by a break directive: incomplete) or
 * error. With a store, every step is recorded as it ends, write requests are audited,
 * and a break schedules the next attempt (the incomplete entry's next_in_ms) or, after
 * the last, leaves the execution to a person. NULL only when memory ran out. */
json_t *sc_exec_run(struct sc_scenario *sc, struct sc_runtime *rt, json_t *trigger,
                    const struct sc_exec_opts *opts);

/* The poll triggers: their indexes in triggers (up to max), and how many there are. */
size_t sc_scenario_polls(const struct sc_scenario *sc, size_t *triggers, size_t max);
/* Runs poll trigger number trigger (its index in triggers): its module, whose
 * templates see poll.since (ISO), poll.since_ms and poll.now, then the items template
 * over output and the key template over each item. *items: [{key, item}], a new
 * reference, when SC_OK; else err says what failed (nothing is recorded). */
enum sc_status sc_exec_poll(struct sc_scenario *sc, struct sc_runtime *rt, size_t trigger,
                            int64_t since_ms, int64_t until_ms, json_t **items, char *err, size_t errlen);

/* ---- for modules: the step being run ---- */

struct sc_step_ctx;

/* Emits one output bundle (stolen); -1 when it is over the step's max_bundles (the
 * engine then fails the step with a limit error) or memory ran out. */
int sc_step_emit(struct sc_step_ctx *ctx, json_t *out_stolen);
struct sc_lua *sc_step_lua(struct sc_step_ctx *ctx);
struct sc_http *sc_step_http(struct sc_step_ctx *ctx);
const struct sc_org *sc_step_org(struct sc_step_ctx *ctx);
const char *sc_step_id(struct sc_step_ctx *ctx);
const char *sc_step_scenario(struct sc_step_ctx *ctx);
/* Milliseconds this step may still take (its timeout and the execution's). */
int64_t sc_step_time_left_ms(struct sc_step_ctx *ctx);
/* Milliseconds until the step is abandoned: the time left and the watch's grace after
 * it (a request that would wait longer is cut there). */
int64_t sc_step_abandon_left_ms(struct sc_step_ctx *ctx);
/* The variables of this bundle's path (vars.NAME), mutable. */
json_t *sc_step_vars(struct sc_step_ctx *ctx);
/* The error being handled, inside an error route; else NULL. */
json_t *sc_step_error(struct sc_step_ctx *ctx);
/* The execution context object (id, url, scenario, ...). */
json_t *sc_step_execution(struct sc_step_ctx *ctx);
/* Adds fields (status, body, retry_after_ms...) to the error this step reports. */
void sc_step_error_detail(struct sc_step_ctx *ctx, const char *key, json_t *value_stolen);
/* The store the execution is recorded in; NULL (err says the module needs one) when
 * nothing is recorded. */
struct sc_store *sc_step_store(struct sc_step_ctx *ctx, char *err, size_t errlen);
/* The execution's id, and the bundle being run ("1", "2.1"...). */
const char *sc_step_execution_id(struct sc_step_ctx *ctx);
const char *sc_step_bundle(struct sc_step_ctx *ctx);
/* Holds this bundle for a person (hold stolen: {id, reason, diff?}): the steps after it
 * do not run, the execution ends "held", and `holds approve` runs it again from here. */
void sc_step_hold(struct sc_step_ctx *ctx, json_t *hold_stolen);
/* Parks this bundle till wake_ms (the engine's clock, ms since the epoch) when the
 * runtime parks (the daemon): the step's output is kept, the execution ends "sleeping"
 * with a resume due then (the steps after run in that attempt), and its worker is free.
 * False when it cannot park (the caller waits in place). */
bool sc_step_park(struct sc_step_ctx *ctx, int64_t wake_ms);
/* A step that changed something it can undo hands the engine what its module's rollback
 * hook needs (stolen); the engine keeps it with the step's record, so a `rollback`
 * directive in a later attempt can still undo it. 0, or -1 when memory ran out. */
int sc_step_set_undo(struct sc_step_ctx *ctx, json_t *undo_stolen);
/* In a commit or rollback hook: what the step handed over (borrowed), else NULL. */
json_t *sc_step_undo(struct sc_step_ctx *ctx);
/* Sets the answer of a synchronous webhook (stolen). */
void sc_step_respond(struct sc_step_ctx *ctx, json_t *response_stolen);
/* "<org base_url>/scenarios/NAME/versions/V/steps/STEP", as written to sent_from. */
const char *sc_step_sent_from(struct sc_step_ctx *ctx);
/* True when the scenario is confidential: keep bundle contents out of messages. */
bool sc_step_confidential(struct sc_step_ctx *ctx);
/* In init: the parameter (a path under with, e.g. "fields/2/transform") the error is about. */
void sc_step_at(struct sc_step_ctx *ctx, const char *param_path);
/* "EXECUTION:STEP:BUNDLE": stable across a re-run of this step for this bundle. */
const char *sc_step_idempotency_key(struct sc_step_ctx *ctx);
/* Appends the audit row of a write request this step made (status 0: no answer;
 * outcome ok, failed or refused). 0 also when there is no store; -1 when it failed. */
int sc_step_audit(struct sc_step_ctx *ctx, const char *method, const char *sent_to,
                  long status, int64_t duration_ms, const char *body, size_t body_len,
                  const char *outcome);
/* A write's audit rows, before it is sent (outcome "pending", ref 0) and after (ref: the
 * pending row's id). Returns the row's id, 0 when there is no store, -1 with err filled
 * (the audit key cannot be read, or the store failed): then nothing may be sent. */
struct sc_step_audit_row {
    const char *method, *sent_to;
    long status;
    int64_t duration_ms;
    const char *body;
    size_t body_len;
    const char *outcome;
    int64_t ref;
};
int64_t sc_step_audit_ref(struct sc_step_ctx *ctx, const struct sc_step_audit_row *w,
                          char *err, size_t errlen);

#endif
