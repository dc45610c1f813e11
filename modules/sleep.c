/* sleep: wait, through the engine's clock (never a real sleep in tests). */
#include "../engine/module.h"

static const struct sc_param params[] = {
    {.name = "duration", .type = SC_T_DURATION, .required = true, .doc = "How long to wait."},
    {0},
};

const struct sc_module_def sc_mod_sleep = {
    .name = "sleep",
    .summary = "Pause the execution for a duration (through the clock; the worker is freed).",
    .params = params,
};
