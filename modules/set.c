/* set: scenario variables, readable later as vars.NAME. */
#include "../engine/module.h"

static const struct sc_param params[] = {
    {.name = "vars", .type = SC_T_OBJECT, .required = true,
     .doc = "Variables to set, name: value; values are templated and keep their JSON type."},
    {0},
};

const struct sc_module_def sc_mod_set = {
    .name = "set",
    .summary = "Set variables for the rest of the execution (vars.NAME).",
    .params = params,
};
