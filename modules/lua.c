/* lua: call a field transform from lua/transforms/, sandboxed. */
#include "run/exec.h"

#include <stdio.h>
#include <string.h>

static const struct sc_param params[] = {
    {.name = "function", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "FILE.FUNCTION: a function of lua/transforms/FILE.lua."},
    {.name = "args", .type = SC_T_ANY, .doc = "Argument passed to the function (a value or a list)."},
    {0},
};

static int init(struct sc_step_ctx *ctx, const json_t *with, void **state, char *err,
                size_t errlen)
{
    (void)state;
    const char *fn = json_string_value(json_object_get(with, "function"));
    if (fn && !strchr(fn, '.')) {
        sc_step_at(ctx, "function");
        snprintf(err, errlen, "function '%s' must be FILE.FUNCTION (lua/transforms/FILE.lua)", fn);
        return -1;
    }
    if (fn && !sc_lua_has_transform(sc_step_lua(ctx), fn)) {
        sc_step_at(ctx, "function");
        char hint[320];
        sc_lua_transform_hint(sc_step_lua(ctx), fn, hint, sizeof hint);
        snprintf(err, errlen, "no Lua transform '%s' in lua/transforms%s", fn, hint);
        return -1;
    }
    return 0;
}

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const json_t *with,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    json_t *args = json_object_get(with, "args"), *out = NULL;
    enum sc_status st = sc_lua_call(sc_step_lua(ctx), json_string_value(json_object_get(with,
                                    "function")), args ? args : json_null(), &out, err, errlen);
    if (st != SC_OK)
        return st;
    return sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_lua = {
    .name = "lua",
    .summary = "Call a Lua transform with arguments; its return value is the output.",
    .params = params,
    .init = init,
    .run = run,
};
