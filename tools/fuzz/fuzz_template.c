/* The {{ }} template compiler and evaluator: any text as a template, rendered against a
 * small trigger, within the Lua sandbox's instruction and memory limits. */
#include "fuzz.h"

#include "lang/lua.h"
#include "lang/tmpl.h"

#include <stdlib.h>

static struct sc_lua *lua;
static json_t *trigger;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    if (!lua) {
        lua = sc_lua_new(NULL, 8u * 1024 * 1024, err, sizeof err);
        trigger = json_pack("{s:{s:s, s:i, s:[i, i], s:n}}", "body", "email", "Ada@Example.com",
                            "n", 42, "list", 1, 2, "none");
        if (!lua || !trigger)
            abort();
    }
    json_t *src = json_stringn_nocheck((const char *)data, size);
    if (!src)
        return 0;
    struct sc_tmpl *t = sc_tmpl_compile(lua, src, err, sizeof err);
    if (t) {
        sc_lua_set(lua, "trigger", trigger);
        sc_lua_budget(lua, 100000, 0);
        enum sc_status st;
        json_decref(sc_tmpl_render(t, lua, &st, err, sizeof err));
        bool b;
        sc_tmpl_test(t, lua, &b, err, sizeof err);
        sc_lua_set(lua, "trigger", NULL);
        sc_tmpl_free(t, lua);
        sc_lua_forget(lua);
    }
    json_decref(src);
    return 0;
}
