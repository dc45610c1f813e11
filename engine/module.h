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
    SC_P_KEY = 1 << 3,      /* an identity key: a {{ }} giving null or "" fails (a data error) */
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

struct sc_module_def {
    const char *name;
    const char *summary;
    const struct sc_param *params; /* {0}-terminated */
    enum sc_access access;
    bool waits; /* it waits (sleep): never run while holding the store's write lock */
    void (*check)(struct sc_check *c, const json_t *with);
    /* Run-time callbacks; NULL until the executor implements the module. */
    int (*init)(struct sc_step_ctx *ctx, const json_t *with, void **state, char *err,
                size_t errlen);
    enum sc_status (*run)(struct sc_step_ctx *ctx, void *state, const json_t *with,
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
