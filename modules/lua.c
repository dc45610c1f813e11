/* lua: call a field transform from lua/transforms/, sandboxed. */
#include "lang/lua.h"
#include "module.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct with {
    const char *function;
    const json_t *args;
};

static const struct sc_param params[] = {
    {.name = "function", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, function),
     .doc = "FILE.FUNCTION: a function of lua/transforms/FILE.lua."},
    {.name = "args", .type = SC_T_ANY, .offset = offsetof(struct with, args),
     .doc = "Argument passed to the function (a value or a list)."},
    {0},
};

static int init(struct sc_step_ctx *ctx, const void *with, void **state, char *err,
                size_t errlen)
{
    (void)state;
    const char *fn = ((const struct with *)with)->function;
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

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct with *with = with_v;
    json_t *args = (json_t *)with->args, *out = NULL;
    enum sc_status st = sc_lua_call(sc_step_lua(ctx), with->function, args ? args : json_null(),
                                    &out, err, errlen);
    if (st != SC_OK)
        return st;
    return sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_lua = {
    .name = "lua",
    .summary = "Call a Lua transform with arguments; its return value is the output.",
    .params = params,
    .with_size = sizeof(struct with),
    .init = init,
    .run = run,
};
