/* set: scenario variables, readable later as vars.NAME. */
#include "module.h"

#include <stddef.h>
#include <stdio.h>

struct with {
    const json_t *vars;
};

static const struct sc_param params[] = {
    {.name = "vars", .type = SC_T_OBJECT, .required = true, .offset = offsetof(struct with, vars),
     .doc = "Variables to set, name: value; values are templated and keep their JSON type."},
    {0},
};

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    json_t *vars = (json_t *)((const struct with *)with)->vars;
    if (json_object_update(sc_step_vars(ctx), vars) != 0) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    return sc_step_emit(ctx, json_incref(vars)) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_set = {
    .name = "set",
    .summary = "Set variables for the rest of the execution (vars.NAME).",
    .params = params,
    .with_size = sizeof(struct with),
    .run = run,
};
