/* The module interface: every step runs a module, a const struct sc_module_def with
 * a typed parameter table the engine checks (and defaults) before the module runs.
 *
 * Ownership follows jansson's rule, stated once here: a function returning json_t*
 * returns a new reference unless its comment says "borrowed"; a json_t* argument is
 * borrowed unless the parameter is named *_stolen. Error messages go to a buffer the
 * caller owns (err, errlen), as curl's CURLOPT_ERRORBUFFER. */
#ifndef SC_MODULE_H
#define SC_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Types of a parameter (and of the fields of the scenario format itself). */
enum sc_type {
    SC_T_STRING,     /* text; in `with:` it may hold {{ }} templates */
    SC_T_INT,
    SC_T_NUMBER,
    SC_T_BOOL,
    SC_T_DURATION,   /* "500ms" "60s" "5m" "1h" "1d" */
    SC_T_CRON,       /* five fields or @daily & co */
    SC_T_TZ,         /* IANA name, e.g. America/Chicago */
    SC_T_ENUM,       /* one of .allowed */
    SC_T_OBJECT,     /* a mapping with the keys in .fields (any keys when .fields is NULL) */
    SC_T_LIST,       /* a list of .elem; objects use .fields */
    SC_T_ANY,        /* any JSON value; strings in it may hold templates */
    SC_T_CONNECTION, /* name of a connection of the org */
    SC_T_CONDITION,  /* one {{ expression }} (or true/false) deciding whether to go on */
    SC_T_STEPS,      /* a nested list of steps (router routes) */
    SC_T_STEP_REF,   /* id of an earlier step */
    SC_T_MAP,        /* a mapping of any keys to .elem values (objects use .fields) */
    SC_T_SECRET,     /* a secret reference: env:NAME or file:PATH, never the secret itself */
    SC_T_TRIGGERS,   /* the scenario's trigger list */
    SC_T_ROUTE,      /* an error route: steps ending in a directive */
};

enum sc_param_flags {
    SC_P_STATIC = 1 << 0, /* never templated: the validator must see the value */
    SC_P_TEXT = 1 << 1,   /* free text (descriptions): braces in it are not templates */
    SC_P_URL_PATH = 1 << 2, /* a URL path: each {{ }} value is encoded as one segment */
    SC_P_JSON = 1 << 3,   /* bound as the rendered const json_t * whatever its type: the
                             module reports a value a template made of the wrong type */
    SC_P_KEY = 1 << 4,    /* an identity key: a {{ }} giving null or "" fails (a data error) */
};

struct sc_param {
    const char *name;
    enum sc_type type;
    bool required;
    const char *def;                 /* default as JSON text, NULL for none */
    const char *const *allowed;      /* SC_T_ENUM: NULL-terminated */
    const char *doc;
    const struct sc_param *fields;   /* SC_T_OBJECT, or SC_T_LIST of objects; {0}-terminated */
    enum sc_type elem;               /* SC_T_LIST: element type */
    unsigned flags;
    /* Where the engine binds the rendered value in the module's parameter struct (as
     * Fluent Bit's config map), when the module has one (sc_module_def.with_size): a
     * bool for SC_T_BOOL (true only for JSON true), a json_int_t for SC_T_INT and a
     * double for SC_T_NUMBER (0 when absent or another type), an int64_t of ms for
     * SC_T_DURATION (-1 when absent or not a duration), a const char * for SC_T_STRING,
     * ENUM, CONNECTION, STEP_REF, SECRET, CRON and TZ (NULL when absent or not a
     * string), else, or with SC_P_JSON, a const json_t * (NULL when
     * absent). Pointers are borrowed from the rendered parameters for the call. */
    size_t offset;
};

/* How a module uses the connection named by its "connection" parameter. */
enum sc_access {
    SC_ACCESS_NONE,      /* no connection */
    SC_ACCESS_READ,      /* reads only */
    SC_ACCESS_WRITE,     /* always writes (notify, dispatch) */
    SC_ACCESS_BY_METHOD, /* writes unless its "method" parameter is GET or HEAD */
};

/* How a step failed; the engine decides from this and the error route. */
enum sc_status {
    SC_OK = 0,
    SC_ERR_CONFIG,     /* the scenario or org is wrong: not retried */
    SC_ERR_DATA,       /* the input was refused (4xx other than 408/429): not retried */
    SC_ERR_CONNECTION, /* connect failure, reset, timeout: transient */
    SC_ERR_RATE_LIMIT, /* 429: transient, honours Retry-After */
    SC_ERR_SERVER,     /* 5xx, 408: transient */
    SC_ERR_RUNTIME,    /* a bug-like failure inside the step (Lua error, bad template): the
                          same input fails the same way, so not retried unless retry_data_errors */
    SC_ERR_LIMIT,      /* a limit was hit (memory, instructions, bundles, duration) */
    SC_ERR_STORE,      /* the engine's own store failed (busy, disk full): transient */
};

/* Cross-parameter checks a table cannot express ("json and form exclude each other").
 * Implemented by the validator; a module's check callback reports through it. */
struct sc_check;
void sc_check_error(struct sc_check *c, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Borrowed: the connection's access mode in the org, or NULL when unknown. */
const char *sc_check_connection_access(struct sc_check *c, const char *name);

struct sc_step_ctx; /* the executor's per-step context */

/* What the engine does around a flow module, so that it never checks a module's name. */
enum sc_module_flags {
    SC_M_ROUTE = 1 << 0,   /* sends each bundle down the nested step lists of its `routes`
                              (each with a `filter`) or its `fallback`, which the engine
                              builds and runs; steps after it in the same list never run */
    SC_M_FAN_OUT = 1 << 1, /* emits one bundle per element; a collecting step may gather them */
    SC_M_COLLECT = 1 << 2, /* gathers the bundles of the fan-out step its `source` names (an
                              earlier step of the same list) into one array, from `value` */
    SC_M_RESPOND = 1 << 3, /* answers the synchronous webhook that started the execution */
    SC_M_SHARED = 1 << 4,  /* reads or writes what other executions share in the store (data
                              stores, queues, holds): its execution never interleaves with
                              another's (daemon/workers.c) */
};

struct sc_module_def {
    const char *name;
    const char *summary;
    const struct sc_param *params; /* {0}-terminated */
    enum sc_access access;
    bool waits; /* it waits (sleep): never run while holding the store's write lock */
    unsigned flags; /* enum sc_module_flags */
    void (*check)(struct sc_check *c, const json_t *with);
    /* The size of the module's parameter struct: every parameter of params is bound into
     * it by its offset (defaults from the table applied), and init and run receive it as
     * `with`. 0: they receive the parameters as a JSON object. */
    size_t with_size;
    /* Run-time callbacks; NULL until the executor implements the module. init sees the
     * parameters as written (templates unrendered, defaults applied), run them rendered
     * for this bundle. */
    int (*init)(struct sc_step_ctx *ctx, const void *with, void **state, char *err,
                size_t errlen);
    enum sc_status (*run)(struct sc_step_ctx *ctx, void *state, const void *with,
                          const json_t *input, char *err, size_t errlen);
    void (*fini)(void *state);
    /* Optional. After a step of this module ended ok and handed over undo data
     * (sc_step_set_undo), the execution either keeps what it did (commit: the `commit`
     * directive, or the execution's end) or undoes it (rollback: the `rollback` directive,
     * latest step first); each hook reads its data with sc_step_undo. A module without a
     * rollback hook that wrote to another system cannot be undone: the rollback says so in
     * the execution's log. */
    enum sc_status (*commit)(struct sc_step_ctx *ctx, void *state, char *err, size_t errlen);
    enum sc_status (*rollback)(struct sc_step_ctx *ctx, void *state, char *err, size_t errlen);
    const char *output; /* the shape of the output bundle, for the docs; NULL: the summary says */
};

/* ---- the host API: what a module's callbacks may ask of the engine about the step
 * being run (engine/run/step.c). json_t as above; what the context hands out is
 * borrowed and lives as long as the step. ---- */

struct sc_lua;
struct sc_http;
struct sc_org;
struct sc_store;

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
/* Parks this bundle till wake_ms BEFORE the step: the step has done nothing (the caller
 * returns any failure status, which the engine disregards), the execution ends "sleeping"
 * with `why` (copied) in its incomplete entry, and the step runs again when it wakes.
 * False when the runtime cannot park (the caller waits in place). As a throttled
 * connection's request waits for its slot without holding a worker. */
bool sc_step_defer(struct sc_step_ctx *ctx, int64_t wake_ms, const char *why);
/* True when the execution is realtime: its scenario has a `priority: realtime` trigger or
 * answers its webhook (a respond step). */
bool sc_step_realtime(struct sc_step_ctx *ctx);
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
 * pending row's id). A pending row is synced to disk before this returns (it must survive
 * a power loss, not only a crash: sc_store_sync). Returns the row's id, 0 when there is no
 * store, -1 with err filled (the audit key cannot be read, the store failed or could not
 * sync): then nothing may be sent. */
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

/* The registry (modules/registry.c). Borrowed pointers to static definitions. */
const struct sc_module_def *sc_module_find(const char *name);
const struct sc_module_def *const *sc_module_all(size_t *n);

const char *sc_type_name(enum sc_type t);
/* "ok", "config", "data", "connection", "rate-limit", "server", "runtime", "limit". */
const char *sc_status_name(enum sc_status st);
/* Why an incomplete entry ({retryable, final, error: {kind}}, as exec.h's records) will or
 * will not be retried, in a user's words: static text. */
const char *sc_status_retry_note(const json_t *incomplete);

#endif
