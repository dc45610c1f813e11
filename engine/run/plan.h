/* The plan: a scenario compiled once (engine/run/plan.c): its steps with their
 * modules, compiled templates and defaults applied, routers' branches, iterators paired
 * with their aggregates, error routes and poll triggers. The structs are shared by
 * the run loop (exec.c) and the step API (step.c). Ownership: sc_scenario_load returns
 * a plan freed by sc_scenario_free, which borrows the org and the Lua state (both must
 * outlive it); every json_t in the structs is owned by the plan (json_t as module.h). */
#ifndef SC_PLAN_H
#define SC_PLAN_H

#include "lang/diag.h"
#include "lang/lua.h"
#include "lang/tmpl.h"
#include "model/def.h"
#include "model/org.h"
#include "module.h"

#include <stdint.h>

enum sc_plan_directive {
    SC_PLAN_BREAK, SC_PLAN_RESUME, SC_PLAN_IGNORE, SC_PLAN_COMMIT, SC_PLAN_ROLLBACK
};
/* The directives' names, indexed by enum sc_plan_directive. */
extern const char *const sc_plan_directive_names[];

struct sc_plan_step;

struct sc_plan_list {
    struct sc_plan_step *v;
    size_t n;
};

struct sc_plan_route {
    struct sc_plan_list steps; /* run before the directive, usually notify */
    enum sc_plan_directive dir;
    json_t *opts;          /* the directive's options, defaults applied (owned) */
    struct sc_tmpl *resume;
};

struct sc_plan_branch {
    const char *name;
    struct sc_tmpl *filter; /* NULL: always */
    struct sc_plan_list steps;
};

struct sc_plan_step {
    const char *id;        /* NULL for a step of an error route without an id */
    const struct sc_module_def *mod;
    json_t *with;          /* parameters with defaults applied, routes removed (owned) */
    struct sc_tmpl *tmpl;
    struct sc_tmpl *filter;
    int64_t timeout_ms;
    struct sc_plan_route *route;   /* its own error route, else NULL */
    struct sc_plan_branch *branches; /* router */
    size_t nbranches;
    struct sc_plan_list fallback;
    size_t agg;            /* iterator: 1 + index of its aggregate in the same list, or 0 */
    void *state;
};

struct sc_plan_poll {
    size_t trigger;        /* index in triggers */
    json_t *def;           /* {id, module, with}: the step it runs (owned) */
    struct sc_plan_step step;
    struct sc_tmpl *items, *key;
};

struct sc_scenario {
    struct sc_doc *doc;
    struct sc_def *def;    /* typed, filled by the validator; borrows from doc */
    struct sc_lua *lua;
    const struct sc_org *org;
    struct sc_plan_poll *polls;
    size_t npolls;
    const char *name;
    bool confidential;
    int64_t timeout_ms, step_timeout_ms;
    long max_bundles;
    struct sc_plan_list steps;
    struct sc_plan_route *route;   /* scenario-level default */
    bool local;            /* no step reaches outside the store or waits */
    bool reads;            /* not local, but its only steps outside the store are plain reads
                              (a GET or HEAD, no pagination, no throttle): run again harmlessly */
    bool shares;           /* a step reads or writes what executions share (SC_M_SHARED) */
    int tset;              /* the transform files it was loaded with (sc_lua_keep) */
};

/* Steps of an error route may have no id: they go by their module's name (borrowed). */
static inline const char *sc_plan_step_name(const struct sc_plan_step *s)
{
    return s->id ? s->id : s->mod->name;
}

/* ---- the public calls on a plan ---- */

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
/* True when the scenario is not local but reaches other systems only by plain reads (a GET
 * or HEAD without pagination through an unthrottled connection, not shadowed): an execution
 * of it can be computed with its writes deferred and committed with others, as a crash
 * before that commit only makes the resumed execution read again. */
bool sc_scenario_reads(const struct sc_scenario *sc);
/* True when a step reads or writes what other executions share in the store (a module
 * flagged SC_M_SHARED): its execution never interleaves with another's. */
bool sc_scenario_shares(const struct sc_scenario *sc);
/* Borrowed: the scenario document as JSON. */
json_t *sc_scenario_json(const struct sc_scenario *sc);
/* Borrowed: the scenario's typed definition (model/def.h), as the validator filled it. */
const struct sc_def *sc_scenario_def(const struct sc_scenario *sc);

/* The poll triggers: their indexes in triggers (up to max), and how many there are. */
size_t sc_scenario_polls(const struct sc_scenario *sc, size_t *triggers, size_t max);
/* A duration parameter's value in ms ("60s"), def when absent or not one. */
int64_t sc_plan_duration_ms(json_t *v, int64_t def);

#endif
