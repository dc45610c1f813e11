/* Evaluates one template expression in a fresh-budget sandbox and returns its result
 * as compact JSON text, or "error(STATUS): message". For the Lua unit tests. */
#ifndef SC_TEST_LUA_EVAL_H
#define SC_TEST_LUA_EVAL_H

#include "lang/lua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Result in a static buffer. */
static const char *eval(struct sc_lua *lua, const char *expr)
{
    static char out[4096];
    char err[512];
    int ref = sc_lua_compile(lua, expr, strlen(expr), err, sizeof err);
    if (ref < 0) {
        snprintf(out, sizeof out, "compile: %s", err);
        return out;
    }
    sc_lua_budget(lua, SC_LUA_INSTRUCTIONS, 0);
    json_t *v = NULL;
    enum sc_status st = sc_lua_eval_json(lua, ref, &v, err, sizeof err);
    sc_lua_unref(lua, ref);
    if (st != SC_OK) {
        snprintf(out, sizeof out, "error(%s): %s", sc_status_name(st), err);
        return out;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, sizeof out, "%s", s);
    free(s);
    json_decref(v);
    return out;
}

#endif
