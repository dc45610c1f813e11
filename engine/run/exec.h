/* The executor: a scenario compiled once into a plan (templates compiled into a Lua
 * state, defaults applied, routes resolved) and run per trigger event: steps in order,
 * fan-out of bundles, filters, routers, iterator/aggregate, timeouts, error routes.
 * Ownership: sc_scenario_load returns a plan freed by sc_scenario_free, which
 * borrows the org and the Lua state (both must outlive it); sc_exec_run returns the
 * execution record, a new reference. json_t as module.h. */
#ifndef SC_EXEC_H
#define SC_EXEC_H

#include "lang/diag.h"
#include "run/http.h"
#include "run/plan.h"
#include "lang/lua.h"
#include "module.h"
#include "model/org.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

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
    const char *url;        /* the daemon's own address (http://HOST:PORT), the base of links
                               when the org has no base_url; NULL or "": none */
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
    bool resumed;        /* attempt `attempt` goes on after its process died mid-run (its
                            lease lapsed): a crash is no try, so no new attempt; its recorded
                            steps replay, and the record says "resumed": true */
    int64_t before_ms;   /* wakes: the attempt's time before this run, its sleep included (ms),
                            added to duration_ms */
    const char *by;      /* the person whose decision runs this attempt (an approval, a retry):
                            its writes' audit rows name them; NULL: the engine on its own */
};

/* A new execution id: "YYYYMMDD-HHMMSS-" and 12 hex digits, the millisecond (3) then 36
 * random bits (9), so ids sort by time to the millisecond (a counter of 6 on the test
 * clock). */
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

/* Runs poll trigger number trigger (its index in triggers): its module, whose
 * templates see poll.since (ISO), poll.since_ms and poll.now, then the items template
 * over output and the key template over each item. *items: [{key, item}], a new
 * reference, when SC_OK; else err says what failed (nothing is recorded). */
enum sc_status sc_exec_poll(struct sc_scenario *sc, struct sc_runtime *rt, size_t trigger,
                            int64_t since_ms, int64_t until_ms, json_t **items, char *err, size_t errlen);

/* The step context modules see (sc_step_*) is declared in module.h. */

#endif
