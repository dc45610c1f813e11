/* JSON to Lua (read-only proxies) and back: a value that goes in comes out equal, up
 * to numbers: an integral float comes back an integer on purpose (lua.c), same value. */
#include "fuzz.h"

#include "lang/lua.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static bool same(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b) &&
               (!json_is_integer(a) || !json_is_integer(b) ||
                json_integer_value(a) == json_integer_value(b));
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach(a, k, v) if (!json_object_get(b, k) || !same(v, json_object_get(b, k)))
            return false;
        return true;
    }
    return json_equal(a, b);
}

static struct sc_lua *lua;
static int whole, keys;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    if (!lua) {
        lua = sc_lua_new(NULL, 16u * 1024 * 1024, err, sizeof err);
        if (!lua)
            abort();
        whole = sc_lua_compile(lua, "trigger", 7, err, sizeof err);
        keys = sc_lua_compile(lua, "{ n = #trigger, t = type(trigger) }", 35, err, sizeof err);
        if (whole < 0 || keys < 0)
            abort();
    }
    json_error_t e;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v)
        return 0;
    json_t *out = NULL;
    if (sc_lua_set(lua, "trigger", v) == 0) {
        sc_lua_budget(lua, 1000000, 0);
        if (sc_lua_eval_json(lua, whole, &out, err, sizeof err) == SC_OK && !same(v, out)) {
            char *a = json_dumps(v, JSON_ENCODE_ANY), *b = json_dumps(out, JSON_ENCODE_ANY);
            fprintf(stderr, "round trip changed the value:\n  in:  %s\n  out: %s\n", a, b);
            abort();
        }
        json_decref(out);
        out = NULL;
        sc_lua_budget(lua, 1000000, 0);
        sc_lua_eval_json(lua, keys, &out, err, sizeof err);
        json_decref(out);
    }
    sc_lua_set(lua, "trigger", NULL);
    sc_lua_forget(lua);
    json_decref(v);
    return 0;
}
