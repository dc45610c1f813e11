/* lua: call a field transform from lua/transforms/, sandboxed. */
#include "../engine/module.h"

static const struct sc_param params[] = {
    {.name = "function", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "FILE.FUNCTION: a function of lua/transforms/FILE.lua."},
    {.name = "args", .type = SC_T_ANY, .doc = "Argument passed to the function (a value or a list)."},
    {0},
};

const struct sc_module_def sc_mod_lua = {
    .name = "lua",
    .summary = "Call a Lua transform with arguments; its return value is the output.",
    .params = params,
};
