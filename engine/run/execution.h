/* An execution under way, as the run loop (exec.c) and the step API (step.c) share it:
 * struct sc_run is the state of one attempt, struct sc_step_ctx what one module call sees.
 * json_t as module.h; the fields own what they point to unless marked borrowed. */
#ifndef SC_EXECUTION_H
#define SC_EXECUTION_H

#include "run/journal.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct sc_run_undo;
struct sc_plan_step;
struct sc_scenario;
struct sc_runtime;
struct sc_lua;
struct sc_org;

struct sc_run {
    struct sc_scenario *sc;
    struct sc_runtime *rt;
    json_t *log, *steps, *vars, *execution, *error, *response, *incomplete;
    json_t *fail;          /* the error that ended the execution */
    json_t *input;         /* the bundle the current step receives (borrowed) */
    char id[64], bundle[128];
    const char *version;
    const char *by;        /* the person whose decision runs this attempt, or NULL */
    int64_t t0, deadline;
    bool stop, ended_error, committed;
    const char *org_url;   /* the org's base_url, or scenarist://ORG */
    char url_buf[160];
    int attempt;
    int64_t before_ms;     /* jn.wakes: the attempt's time before this run, its sleep included */
    bool queued, fixed_id;
    bool resumed; /* the attempt goes on after its process died (exec.h) */
    bool vars_touched;     /* the step under way wrote vars: its state keeps them */
    struct sc_journal jn;  /* what it records, and what earlier attempts recorded */
    json_t *held;          /* the hold the step just run asked for (taken by run_list) */
    int64_t park_ms;       /* the wake time the step just run asked for (taken by run_list) */
    bool park_before;      /* park_ms is a deferral: the step did not run (sc_step_defer) */
    char park_why[160];
    json_t *pending_undo;  /* what the step just run can undo (taken by run_list) */
    bool pending_sent;     /* the step just run wrote to another system, beyond undoing */
    struct sc_run_undo *undos;    /* what a rollback undoes, oldest first */
    size_t nundo, capundo;
};

struct sc_step_ctx {
    struct sc_run *r;         /* NULL at load time (init) */
    struct sc_plan_step *s;
    struct sc_lua *lua;
    const struct sc_org *org;
    json_t *out;           /* emitted bundles */
    long max;
    bool over;
    int64_t deadline;      /* monotonic */
    char at[128];          /* init: parameter path its error is about */
    bool oom;
    char sent_from[512], idem[256]; /* made on first use: most steps do not write */
    json_t *detail;        /* fields added to the error */
    json_t *held;          /* set by sc_step_hold: this bundle waits for a person */
    int64_t park_ms;       /* set by sc_step_park: this bundle sleeps till then (0: no) */
    int64_t defer_ms;      /* set by sc_step_defer: parked before the step till then (0: no) */
    char defer_why[160];
    json_t *undo;          /* set by sc_step_set_undo; given to commit/rollback hooks */
};

#endif
