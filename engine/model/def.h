/* The typed scenario definition: what a validated scenario file says (name, settings,
 * triggers, steps, error route), filled by the validator's one walk (validate.h's
 * sc_validate_def) with the defaults of the format's tables, so that the executor and
 * the daemon read fields, not JSON keys. Ownership: a def is freed by sc_def_free; it
 * borrows every string and json_t from the document it was read from (keep it alive). */
#ifndef SC_DEF_H
#define SC_DEF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sc_def_settings {
    bool confidential, sequential;
    int64_t timeout_ms;      /* longest an execution may run, ms */
    int64_t step_timeout_ms; /* longest a step may run unless it says, ms */
    long max_bundles;
};

enum sc_def_kind { SC_DEF_WEBHOOK, SC_DEF_SCHEDULE, SC_DEF_POLL, SC_DEF_MANUAL };

struct sc_def_trigger {
    enum sc_def_kind kind;
    size_t index;            /* its place in triggers: */
    json_t *conf;            /* its mapping, or NULL (manual written bare) */
    /* webhook */
    const char *path, *auth; /* auth: a webhook secret of the org, or NULL */
    bool realtime;           /* priority: realtime */
    json_t *dedupe_key;      /* template, or NULL */
    /* schedule and poll */
    const char *cron, *tz;   /* NULL when not given (tz: the org's) */
    int64_t every_ms, window_ms, skew_ms;
    bool catch_up;           /* catch_up: once (a schedule) */
};

struct sc_def_step {
    const char *id, *module;
    json_t *with, *filter, *on_error; /* as written, or NULL */
    int64_t timeout_ms;      /* 0: the settings' step_timeout */
    const char *domain;      /* or NULL */
};

struct sc_def {
    const char *name;
    struct sc_def_settings settings;
    struct sc_def_trigger *triggers;
    size_t ntriggers;
    struct sc_def_step *steps; /* the top-level steps (a router's and a route's are inside
                                  their module's with: and on_error) */
    size_t nsteps;
    json_t *on_error;          /* the scenario's default error route, or NULL */
};

/* The kind's name as the format writes it ("webhook", ...). Static. */
const char *sc_def_kind_name(enum sc_def_kind kind);

/* A new, empty def with room for ntriggers triggers and nsteps steps; NULL out of memory. */
struct sc_def *sc_def_new(size_t ntriggers, size_t nsteps);
void sc_def_free(struct sc_def *def);

#endif
