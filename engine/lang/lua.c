#include "lang/lua.h"
#include "paths.h"

#include "clock.h"
#include "lang/concat.h"
#include "lang/diag.h"
#include "lang/expr.h"
#include "lang/lua_lib.h"
#include "lang/text.h"
#include "lang/tz.h"

#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOOK_EVERY 1000
#define SC_LUA_BYTES_PER_STEP_LOG2 6 /* an allocation counts one instruction per 64 bytes */
#define PROXY_MT "sc.json"
#define MAX_DEPTH 64
#define LAZY_MAX SC_LUA_LAZY_MAX

struct sc_lua {
    lua_State *L;
    size_t mem, mem_limit;
    long budget, used;
    int64_t deadline, window; /* monotonic ms; window: the deadline's length, for messages */
    const char *tripped; /* why the hook stopped the code, NULL while running freely */
    char why[96];        /* the text tripped points to */
    unsigned generation; /* executions seen (sc_lua_forget): transforms are rebuilt per one */
    unsigned gen_next;   /* the last generation handed out (sc_lua_forget, sc_lua_park) */
    int env_ref;         /* the expressions' _ENV */
    int ctx_ref;         /* context names -> values */
    int prelude_ref;     /* prelude functions */
    int factories_ref;   /* "chunk\nsource" -> function(_ENV) running a transform file */
    int transforms_ref;  /* factory -> its table of functions */
    int built_ref;       /* factory -> the generation its table was built in */
    int disk_ref;        /* FILE -> factory: the files of lua_dir/transforms */
    int active_ref;      /* FILE -> factory: the set in use (sc_lua_use) */
    int used_ref;        /* FILE -> true: looked up since the set was chosen */
    int empty_ref;       /* an empty set, in use when choosing one failed */
    json_t *disk;        /* {"FILE.lua": {"source": text}} of lua_dir/transforms */
    json_t *using;       /* the set chosen by sc_lua_use (a reference); NULL: the disk's */
    bool on_disk;        /* the set in use is the disk's */
    bool recorded;       /* used_ref records the set sc_lua_use chose */
    int scratch_ref;     /* what prelude and transform files see: safe globals and "sc" */
    bool loading;        /* prelude files may define globals only while loading */
    /* Context names set and their values (references), made Lua values (proxies) only when
     * an expression first reads one (env_index): an execution sets six names, and bench
     * scenarios read two; a proxy made and dropped per name was ~2,000 instructions. */
    struct sc_lua_lazy lazy[LAZY_MAX]; /* shown: to be cleared in the context table */
    bool eager;          /* a name was set in the table directly (the slots were full) */
};

static struct sc_lua *from_L(lua_State *L) { return *(struct sc_lua **)lua_getextraspace(L); }

static void *lalloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct sc_lua *s = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        s->mem -= old;
        return NULL;
    }
    if (nsize > old && s->mem + (nsize - old) > s->mem_limit)
        return NULL; /* Lua raises "not enough memory": the cap, not the machine */
    if (nsize > old) /* copying big texts costs time the instruction count misses */
        s->used += (long)((nsize - old) >> SC_LUA_BYTES_PER_STEP_LOG2);
    void *p = sc_realloc(ptr, nsize);
    if (!p && nsize <= old)
        return ptr; /* Lua assumes a shrink never fails: keep the larger block */
    if (p)
        s->mem = s->mem - old + nsize;
    return p;
}

static void hook(lua_State *L, lua_Debug *ar);

/* Sets tripped when a budget is spent; true when it is. */
static bool spent(struct sc_lua *s)
{
    if (s->tripped)
        return true;
    if (s->used > s->budget)
        snprintf(s->why, sizeof s->why, "instruction limit of %ld exceeded", s->budget);
    else if (s->deadline && sc_clock_mono_ms() > s->deadline)
        snprintf(s->why, sizeof s->why, "time limit of %lld ms exceeded", (long long)s->window);
    else
        return false;
    s->tripped = s->why;
    /* From now on fire at every instruction, so pcall cannot swallow the stop. */
    lua_sethook(s->L, hook, LUA_MASKCOUNT, 1);
    return true;
}

static void hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct sc_lua *s = from_L(L);
    s->used += s->tripped ? 1 : HOOK_EVERY;
    if (spent(s))
        luaL_error(L, "%s", s->tripped);
}

void sc_lua_charge(lua_State *L, long steps)
{
    struct sc_lua *s = from_L(L);
    s->used = steps > LONG_MAX - s->used ? LONG_MAX : s->used + steps;
    if (spent(s))
        luaL_error(L, "%s", s->tripped);
}

int sc_lua_stopped(lua_State *L) { return from_L(L)->tripped != NULL; }

void sc_lua_budget(struct sc_lua *s, long instructions, int64_t deadline_ms)
{
    s->budget = instructions;
    s->used = 0;
    s->deadline = deadline_ms;
    s->window = deadline_ms ? deadline_ms - sc_clock_mono_ms() : 0;
    s->tripped = NULL;
    lua_sethook(s->L, hook, LUA_MASKCOUNT, HOOK_EVERY);
}

/* ---- JSON proxies ---- */

static void push_json(lua_State *L, json_t *v);

static json_t *check_proxy(lua_State *L, int idx)
{
    json_t **u = luaL_testudata(L, idx, PROXY_MT);
    return u ? *u : NULL;
}

static const char proxy_cache_key = 'p';

/* A fresh proxy cache, weak in its values. The slots of collected entries stay in a
 * table keyed by pointers, so the executor starts a new one after each execution. */
static int new_proxy_cache(lua_State *L)
{
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &proxy_cache_key);
    return 0;
}

/* One proxy per JSON value while it is alive (a weak cache): evaluating the same path
 * again allocates nothing, and finalizers do not pile up between collections. */
static void push_proxy(lua_State *L, json_t *v)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &proxy_cache_key);
    if (lua_rawgetp(L, -1, v) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    json_t **u = lua_newuserdatauv(L, sizeof *u, 0); /* may raise: nothing held yet */
    *u = NULL;
    luaL_setmetatable(L, PROXY_MT);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, -3, v); /* may raise: the proxy holds no reference yet */
    *u = json_incref(v);
    lua_remove(L, -2);
}

static void push_json(lua_State *L, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        push_proxy(L, v);
        break;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    default:
        lua_pushnil(L);
    }
}

static int proxy_index(lua_State *L)
{
    json_t *v = check_proxy(L, 1);
    json_t *child = NULL;
    if (json_is_object(v) && lua_type(L, 2) == LUA_TSTRING) {
        child = json_object_get(v, lua_tostring(L, 2));
    } else if (json_is_array(v) && lua_isinteger(L, 2)) {
        lua_Integer i = lua_tointeger(L, 2);
        if (i >= 1 && (size_t)i <= json_array_size(v))
            child = json_array_get(v, (size_t)i - 1);
    }
    if (child)
        push_json(L, child);
    else
        lua_pushnil(L);
    return 1;
}

static int proxy_len(lua_State *L)
{
    json_t *v = check_proxy(L, 1);
    lua_pushinteger(L, (lua_Integer)(json_is_object(v) ? json_object_size(v) : json_array_size(v)));
    return 1;
}

static int proxy_next(lua_State *L)
{
    json_t *v = check_proxy(L, 1);
    if (json_is_array(v)) {
        lua_Integer i = lua_isnil(L, 2) ? 0 : luaL_checkinteger(L, 2);
        if ((size_t)i >= json_array_size(v))
            return 0;
        lua_pushinteger(L, i + 1);
        push_json(L, json_array_get(v, (size_t)i));
        return 2;
    }
    void *it = lua_isnil(L, 2) ? json_object_iter(v)
                               : json_object_iter_next(v, json_object_iter_at(v, luaL_checkstring(L, 2)));
    if (!it)
        return 0;
    lua_pushstring(L, json_object_iter_key(it));
    push_json(L, json_object_iter_value(it));
    return 2;
}

static int proxy_pairs(lua_State *L)
{
    check_proxy(L, 1);
    lua_pushcfunction(L, proxy_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int proxy_tostring(lua_State *L)
{
    char *s = sc_text_json(check_proxy(L, 1), 0, false);
    if (!s)
        return luaL_error(L, "out of memory");
    lua_pushstring(L, s);
    free(s);
    return 1;
}

static int proxy_eq(lua_State *L)
{
    json_t *a = check_proxy(L, 1), *b = check_proxy(L, 2);
    lua_pushboolean(L, a && b && json_equal(a, b));
    return 1;
}

static int proxy_gc(lua_State *L)
{
    json_t **u = luaL_testudata(L, 1, PROXY_MT);
    if (u && *u) {
        json_decref(*u);
        *u = NULL;
    }
    return 0;
}

static int read_only(lua_State *L)
{
    return luaL_error(L, "bundles are read-only: build a new value instead");
}

/* ---- Lua -> JSON ---- */

static json_t *to_json(lua_State *L, int idx, int depth, char *err, size_t errlen);

static bool marked(lua_State *L, int idx, const char *kind)
{
    if (!lua_getmetatable(L, idx))
        return false;
    lua_pushliteral(L, "__jsontype"); /* interned and alive: allocates nothing */
    lua_rawget(L, -2);                /* raw: no metamethod of the user's runs here */
    bool yes = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), kind) == 0;
    lua_pop(L, 2);
    return yes;
}

/* True when the table at idx has exactly the keys 1..n, n >= 1. */
static bool is_sequence(lua_State *L, int idx, size_t *n)
{
    size_t len = lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return false;
        }
        lua_Integer k = lua_tointeger(L, -1);
        if (k < 1 || (size_t)k > len) {
            lua_pop(L, 1);
            return false;
        }
        count++;
    }
    *n = len;
    return count == len && len > 0;
}

struct member {
    char *key;
    json_t *value;
};

static int cmp_members(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->key, ((const struct member *)b)->key);
}

/* Conversions run after the protected call: they use only raw reads that allocate
 * nothing in Lua, so no metamethod runs and no Lua error can be raised here. */
static json_t *table_to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
    size_t n = 0;
    if (!lua_checkstack(L, 8)) { /* each level pushes a few values: never past the stack */
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bool as_array = marked(L, idx, "array") || (!marked(L, idx, "object") && is_sequence(L, idx, &n));
    if (as_array) {
        n = lua_rawlen(L, idx);
        json_t *arr = json_array();
        for (size_t i = 1; arr && i <= n; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i);
            json_t *v = to_json(L, lua_gettop(L), depth + 1, err, errlen);
            lua_pop(L, 1);
            if (!v || json_array_append_new(arr, v) != 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    /* Keys sorted, so the same table always gives the same JSON (and the same hash). */
    size_t nm = 0, cap = 0;
    struct member *m = NULL;
    json_t *obj = NULL;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char num[64];
        const char *k = NULL;
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t kn;
            k = lua_tolstring(L, -2, &kn);
            if (sc_utf8_invalid(k, kn) != kn || memchr(k, 0, kn)) {
                snprintf(err, errlen, "a table key that is not valid UTF-8 text (or holds a NUL "
                         "character) cannot become a JSON key");
                lua_pop(L, 2);
                goto fail;
            }
        } else if (lua_isinteger(L, -2)) {
            snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -2));
            k = num;
        } else {
            snprintf(err, errlen, "a table key of type %s cannot become a JSON key",
                     luaL_typename(L, -2));
            lua_pop(L, 2);
            goto fail;
        }
        if (nm == cap) {
            cap = cap ? cap * 2 : 8;
            struct member *v = sc_realloc(m, cap * sizeof *v);
            if (!v) {
                lua_pop(L, 2);
                goto oom;
            }
            m = v;
        }
        m[nm].value = to_json(L, lua_gettop(L), depth + 1, err, errlen);
        if (!m[nm].value) {
            lua_pop(L, 2);
            goto fail;
        }
        if (!(m[nm].key = sc_strdup(k))) {
            json_decref(m[nm].value);
            lua_pop(L, 2);
            goto oom;
        }
        nm++;
        lua_pop(L, 1);
    }
    if (nm > 1)
        qsort(m, nm, sizeof *m, cmp_members);
    obj = json_object();
    for (size_t i = 0; obj && i < nm; i++)
        if (json_object_set(obj, m[i].key, m[i].value) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    if (!obj)
        snprintf(err, errlen, "out of memory");
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
fail:
done:
    for (size_t i = 0; i < nm; i++) {
        free(m[i].key);
        json_decref(m[i].value);
    }
    free(m);
    return obj;
}

static json_t *to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
    idx = lua_absindex(L, idx);
    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "value nested deeper than %d levels (a cycle?)", MAX_DEPTH);
        return NULL;
    }
    if (!lua_checkstack(L, 4)) { /* each level holds a key and a value on the Lua stack */
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE:
        return json_null();
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        if (!isfinite(lua_tonumber(L, idx))) {
            snprintf(err, errlen, "the number %g cannot be represented in JSON", lua_tonumber(L, idx));
            return NULL;
        }
        {
            double d = lua_tonumber(L, idx);
            /* Lua's "/" always gives a float: 130000 / 4 is 32500, as a person reads it. */
            if (d == floor(d) && fabs(d) < 9007199254740992.0)
                return json_integer((json_int_t)d);
            return json_real(d);
        }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (sc_utf8_invalid(s, n) != n) {
            snprintf(err, errlen, "text that is not valid UTF-8 cannot become JSON");
            return NULL;
        }
        json_t *v = json_stringn_nocheck(s, n); /* checked just above */
        if (!v)
            snprintf(err, errlen, "out of memory");
        return v;
    }
    case LUA_TTABLE:
        return table_to_json(L, idx, depth, err, errlen);
    case LUA_TUSERDATA: {
        json_t *v = check_proxy(L, idx);
        if (v)
            return json_incref(v);
    } /* fall through */
    default:
        snprintf(err, errlen, "a %s cannot become JSON", luaL_typename(L, idx));
        return NULL;
    }
}

/* ---- the environment ---- */

static struct sc_lua_lazy *lazy_find(struct sc_lua *s, const char *name)
{
    for (int i = 0; i < LAZY_MAX; i++)
        if (s->lazy[i].name[0] && !strcmp(s->lazy[i].name, name))
            return &s->lazy[i];
    return NULL;
}

static int env_index(lua_State *L)
{
    const char *name = lua_tostring(L, 2);
    for (int up = 1; up <= 3; up++) { /* context, prelude, safe globals */
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(up)) != LUA_TNIL)
            return 1;
        lua_pop(L, 1);
        struct sc_lua_lazy *z = up == 1 && name ? lazy_find(from_L(L), name) : NULL;
        if (z && z->v) { /* set, not read yet: into the context table now */
            push_json(L, z->v);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                continue;
            }
            z->shown = true; /* before the set, which may raise: clearing a nil is harmless */
            lua_pushvalue(L, 2);
            lua_pushvalue(L, -2);
            lua_rawset(L, lua_upvalueindex(1));
            return 1;
        }
    }
    if (name && sc_expr_unavailable(name, strlen(name)))
        return luaL_error(L, "'%s' is not available in scenarist expressions (sandbox)", name);
    lua_pushnil(L);
    return 1;
}

static int env_newindex(lua_State *L)
{
    return luaL_error(L, "cannot assign the global '%s': expressions do not change the scenario",
                      lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
}

static int frozen_newindex(lua_State *L)
{
    return luaL_error(L, "cannot change '%s' of a library: the libraries are shared by every "
                         "scenario", lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
}

/* Pushes a read-only view of the table at idx. */
static void push_frozen(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, frozen_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* Builds the table of allowed globals; leaves it on the stack. */
static void push_safe_globals(lua_State *L)
{
    static const char *const base[] = {"assert", "error", "ipairs", "next", "pairs", "pcall",
                                       "rawequal", "rawlen", "rawget", "select", "setmetatable",
                                       "getmetatable", "tonumber", "tostring", "type", "xpcall",
                                       "_VERSION", NULL};
    static const char *const libs[] = {"string", "table", "math", "utf8", NULL};
    lua_newtable(L);
    for (int i = 0; base[i]; i++) {
        lua_getglobal(L, base[i]);
        lua_setfield(L, -2, base[i]);
    }
    lua_pushcfunction(L, sc_lua_lib_cat);
    lua_setfield(L, -2, SC_CONCAT_FN);
    for (int i = 0; libs[i]; i++) {
        lua_getglobal(L, libs[i]);
        push_frozen(L, -1);
        lua_setfield(L, -3, libs[i]);
        lua_pop(L, 1);
    }
}

/* ---- helpers the prelude is written with (the "sc" table) ---- */

/* Marks a table as what it becomes in JSON (an empty table is otherwise ambiguous). */
static int mark_table(lua_State *L, const char *mt)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_getmetatable(L, mt);
    lua_setmetatable(L, 1);
    lua_settop(L, 1);
    return 1;
}

static int h_array(lua_State *L) { return mark_table(L, "sc.array"); }
static int h_object(lua_State *L) { return mark_table(L, "sc.object"); }

static int h_kind(lua_State *L)
{
    json_t *v = check_proxy(L, 1);
    size_t n;
    if (v)
        lua_pushstring(L, json_is_object(v) ? "object" : "array");
    else if (lua_type(L, 1) == LUA_TTABLE)
        lua_pushstring(L, marked(L, 1, "array") || (!marked(L, 1, "object") && is_sequence(L, 1, &n))
                              ? "array" : "object");
    else if (lua_isnoneornil(L, 1))
        lua_pushstring(L, "null");
    else
        lua_pushstring(L, luaL_typename(L, 1));
    return 1;
}

static int h_json(lua_State *L)
{
    char err[256];
    json_t *v = to_json(L, 1, 0, err, sizeof err);
    if (!v)
        return luaL_error(L, "%s", err);
    char *s = sc_text_json(v, 0, true);
    json_decref(v);
    if (!s)
        return luaL_error(L, "out of memory");
    lua_pushstring(L, s);
    free(s);
    return 1;
}

static int h_now(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sc_clock_now_ms());
    return 1;
}

static int h_iso(lua_State *L)
{
    char buf[40];
    sc_clock_iso((int64_t)luaL_checkinteger(L, 1), buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static int h_parseiso(lua_State *L)
{
    int64_t ms;
    if (sc_clock_parse_iso(luaL_checkstring(L, 1), &ms) != 0)
        return 0;
    lua_pushinteger(L, (lua_Integer)ms);
    return 1;
}

/* Raises msg without a position: the prelude's own lines mean nothing to a user. */
static int plain_error(lua_State *L, const char *fmt, const char *arg)
{
    lua_pushfstring(L, fmt, arg);
    return lua_error(L);
}

/* Zones come from tz.h (loaded once, shared by every worker): no process-global TZ. */
static const struct sc_tz *check_tz(lua_State *L, int idx)
{
    const char *tz = luaL_optstring(L, idx, "UTC");
    const struct sc_tz *z = sc_tz_load(tz);
    if (!z)
        plain_error(L, "unknown time zone '%s'", tz);
    return z;
}

/* sc.tzlocal(ms, tz) -> year, month, day, hour, min, sec, ms, offset minutes, weekday (0 = Sunday) */
static int h_tzlocal(lua_State *L)
{
    int64_t ms = (int64_t)luaL_checkinteger(L, 1);
    const struct sc_tz *z = check_tz(L, 2);
    int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int32_t off = sc_tz_offset(z, sec);
    struct sc_civil c;
    sc_tz_civil(sec + off, &c);
    lua_Integer v[] = {c.year, c.month, c.day, c.hour, c.min, c.sec,
                       (lua_Integer)(ms - sec * 1000), off / 60, c.wday};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        lua_pushinteger(L, v[i]);
    return (int)(sizeof v / sizeof v[0]);
}

/* sc.tzmake(y, mo, d, h, mi, s, ms, tz) -> ms since the epoch. A wall time that the
 * zone skips (spring forward) moves forward by the gap; one it repeats (fall back)
 * is its first occurrence. Out-of-range fields roll over (day 32 is next month). */
static int h_tzmake(lua_State *L)
{
    lua_Integer f[7];
    for (int i = 0; i < 7; i++)
        f[i] = luaL_checkinteger(L, i + 1);
    const struct sc_tz *z = check_tz(L, 8);
    for (int i = 0; i < 7; i++)
        if (f[i] < -1000000 || f[i] > 1000000)
            return plain_error(L, "date field %s out of range", i == 0 ? "year" : "value");
    lua_Integer mo = f[1] - 1, y = f[0] + (mo >= 0 ? mo / 12 : -((11 - mo) / 12));
    mo -= (y - f[0]) * 12; /* 0..11 */
    int64_t wall = (sc_tz_days_from_civil(y, (int)mo + 1, 1) + f[2] - 1) * 86400 +
                   f[3] * 3600 + f[4] * 60 + f[5];
    lua_pushinteger(L, (lua_Integer)sc_tz_from_wall(z, wall) * 1000 + f[6]);
    return 1;
}

/* sc.monthdays(y, m) -> days in that month (proleptic Gregorian). */
static int h_monthdays(lua_State *L)
{
    lua_Integer y = luaL_checkinteger(L, 1), m = luaL_checkinteger(L, 2);
    luaL_argcheck(L, m >= 1 && m <= 12, 2, "month out of range");
    lua_pushinteger(L, sc_tz_month_days(y, (int)m));
    return 1;
}

/* Pushes the bytes at the light userdata's {p, n} (called protected: it may run out
 * of memory while the caller still owns a malloc'd buffer). */
struct bytes {
    const char *p;
    size_t n;
};
static int push_bytes(lua_State *L)
{
    const struct bytes *b = lua_touserdata(L, 1);
    lua_pushlstring(L, b->p, b->n);
    return 1;
}

/* sc.numtext(x) -> the shortest text that reads back as x (text.h); integers as is. */
static int h_numtext(lua_State *L)
{
    char num[32];
    if (lua_isinteger(L, 1)) {
        lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, 1));
        return 1;
    }
    size_t n = sc_text_number(luaL_checknumber(L, 1), num);
    lua_pushlstring(L, num, n);
    return 1;
}

/* sc.text(s, op) -> s mapped by op ("upper", "lower", "nfc", "fold"; text.h), or nil
 * when s is not valid UTF-8. */
static int h_text(lua_State *L)
{
    static const char *const ops[] = {"upper", "lower", "nfc", "fold", NULL};
    static const enum sc_text_op codes[] = {SC_TEXT_UPPER, SC_TEXT_LOWER, SC_TEXT_NFC, SC_TEXT_FOLD};
    size_t n, outn;
    const char *in = luaL_checklstring(L, 1, &n);
    int op = luaL_checkoption(L, 2, NULL, ops);
    sc_lua_charge(L, (long)(n / 8 + 1)); /* a loop in C: its bytes count (lua_lib.h) */
    char *out = sc_text_map(in, n, codes[op], &outn);
    if (!out)
        return 0;
    struct bytes b = {out, outn};
    lua_pushcfunction(L, push_bytes);
    lua_pushlightuserdata(L, &b);
    int rc = lua_pcall(L, 1, 1, 0);
    free(out);
    return rc == LUA_OK ? 1 : lua_error(L);
}

static const luaL_Reg helpers[] = {
    {"array", h_array},       {"object", h_object},   {"kind", h_kind},
    {"json", h_json},         {"now", h_now},         {"iso", h_iso},
    {"parseiso", h_parseiso}, {"tzlocal", h_tzlocal}, {"tzmake", h_tzmake},
    {"monthdays", h_monthdays}, {"text", h_text},
    {"numtext", h_numtext},
    {NULL, NULL},
};

/* ---- loading the prelude and the transforms ---- */

const char *sc_lua_default_dir(void)
{
    return sc_paths_lua();
}

static int cmp_names(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return strcmp(x ? x : "", y ? y : ""); /* a failed copy sorts first and is reported */
}

/* Writes of a transform file's code land in its own table; the prelude's names and
 * the libraries are shared by every scenario, so replacing them is refused. */
static int transform_newindex(lua_State *L)
{
    struct sc_lua *s = from_L(L);
    const char *name = lua_tostring(L, 2);
    int refs[] = {s->prelude_ref, s->scratch_ref};
    for (int i = 0; name && i < 2; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, refs[i]);
        lua_pushvalue(L, 2);
        if (lua_rawget(L, -2) != LUA_TNIL)
            return luaL_error(L, "cannot replace '%s': the prelude and the libraries are shared "
                                 "by every scenario (use another name)", name);
        lua_pop(L, 2);
    }
    lua_settop(L, 3);
    lua_rawset(L, lua_upvalueindex(1));
    return 0;
}

/* Prelude files define their functions while loading; afterwards the prelude is fixed. */
static int prelude_newindex(lua_State *L)
{
    if (!from_L(L)->loading)
        return luaL_error(L, "cannot assign the global '%s': the prelude is shared by every "
                             "scenario", lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
    lua_settop(L, 3);
    lua_rawset(L, lua_upvalueindex(1));
    return 0;
}

/* Pushes an environment whose reads see dest, the prelude and the scratch names, and
 * whose writes go through newindex (with dest as its upvalue). dest is at idx. */
static void push_file_env(lua_State *L, int idx, lua_CFunction newindex)
{
    struct sc_lua *s = from_L(L);
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->scratch_ref);
    lua_pushvalue(L, idx);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->prelude_ref);
    lua_pushcclosure(L, env_index, 3);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, idx);
    lua_pushcclosure(L, newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable"); /* getmetatable(_ENV) gives false */
    lua_setmetatable(L, -2);
}

/* Builds a fresh table of functions from the transform factory at fidx by running its
 * code again: module-level locals and globals start over, so executions share no
 * state through a transform. Runs protected; leaves nothing on the stack. */
static void build_transform(lua_State *L, int fidx)
{
    struct sc_lua *s = from_L(L);
    int top = lua_gettop(L);
    fidx = lua_absindex(L, fidx);
    if (!lua_isfunction(L, fidx))
        return;
    lua_newtable(L); /* dest */
    lua_pushvalue(L, fidx);
    push_file_env(L, -2, transform_newindex);
    lua_call(L, 1, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->transforms_ref);
    lua_pushvalue(L, fidx);
    lua_pushvalue(L, top + 1);
    lua_rawset(L, -3);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->built_ref);
    lua_pushvalue(L, fidx);
    lua_pushinteger(L, (lua_Integer)s->generation);
    lua_rawset(L, -3);
    lua_settop(L, top);
}

/* Pushes the factory of a transform file's code: a function of its environment, made
 * once per (chunk name, text) and built once when made, so its errors show now. */
/* Pushes the string at argument 1 (a C string); runs protected. */
static int p_push_text(lua_State *L)
{
    lua_pushstring(L, lua_touserdata(L, 1));
    return 1;
}

/* Pushes code with each operand of ".." through the sandbox's text conversion
 * (concat.h); false, pushing nothing, when it has no "..". Raises on memory. */
static bool push_concat(lua_State *L, const char *code, size_t len)
{
    char *cat = sc_concat_rewrite(code, len);
    if (!cat)
        return false;
    lua_pushcfunction(L, p_push_text);
    lua_pushlightuserdata(L, cat);
    int rc = lua_pcall(L, 1, 1, 0);
    free(cat); /* freed on either path: a raise here would lose it */
    if (rc != LUA_OK)
        lua_error(L);
    return true;
}

/* Pushes the loaded "return function(_ENV, ...) code end" (same lines as the file: the
 * wrapper opens on its first line), or the error; returns luaL_loadbufferx's status. */
static int load_wrapped(lua_State *L, const char *chunk, const char *code, size_t len)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "return function(_ENV, ...) ");
    luaL_addlstring(&b, code, len);
    luaL_addstring(&b, "\nend");
    luaL_pushresult(&b);
    size_t n;
    const char *wrapped = lua_tolstring(L, -1, &n);
    int rc = luaL_loadbufferx(L, wrapped, n, chunk, "t");
    lua_remove(L, -2);
    return rc;
}

static void push_factory(lua_State *L, const char *chunk, const char *code, size_t len)
{
    struct sc_lua *s = from_L(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->factories_ref);
    lua_pushstring(L, chunk);
    lua_pushliteral(L, "\n");
    lua_pushlstring(L, code, len);
    lua_concat(L, 3);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) == LUA_TFUNCTION) {
        lua_replace(L, -3);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    sc_lua_budget(s, SC_LUA_INSTRUCTIONS, 0);
    bool cat = !memchr(code, 0, len) && push_concat(L, code, len); /* ".." keeps digits */
    if (cat && load_wrapped(L, chunk, lua_tostring(L, -1), lua_rawlen(L, -1)) == LUA_OK) {
        lua_remove(L, -2);
    } else {
        lua_pop(L, cat ? 2 : 0); /* reported as written, in the user's own terms */
        if (load_wrapped(L, chunk, code, len) != LUA_OK)
            lua_error(L);
    }
    lua_newtable(L); /* the wrapper's own _ENV: empty, it only returns the function */
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 1);         /* factories, key, factory */
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, -5);
    build_transform(L, -1);
    lua_replace(L, -3);
    lua_pop(L, 1);
}

/* Pushes a set's table FILE -> factory, for files {"FILE.lua": {"source": text}}, its
 * files named prefix + FILE.lua in messages; in name order, so errors come the same way. */
static void push_set(lua_State *L, json_t *files, const char *prefix)
{
    const char *keys[512], *k;
    size_t n = 0;
    json_t *v;
    json_object_foreach(files, k, v) if (n < 512) keys[n++] = k;
    qsort(keys, n, sizeof *keys, cmp_names);
    lua_newtable(L);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(keys[i]);
        json_t *src = json_object_get(json_object_get(files, keys[i]), "source");
        if (len <= 4 || strcmp(keys[i] + len - 4, ".lua") != 0 || memchr(keys[i], '.', len - 4))
            luaL_error(L, "transform file '%s' must be named FILE.lua", keys[i]);
        if (!json_is_string(src))
            luaL_error(L, "transform file '%s' has no source text", keys[i]);
        char chunk[4400];
        snprintf(chunk, sizeof chunk, "@%s%s", prefix, keys[i]);
        push_factory(L, chunk, json_string_value(src), json_string_length(src));
        lua_pushlstring(L, keys[i], len - 4);
        lua_insert(L, -2);
        lua_rawset(L, -3);
    }
}

/* Loads and runs one prelude file, its globals landing in the prelude table (argument
 * 2); runs protected, so any error (memory, syntax, the file's own) is reported. */
struct load_file {
    struct sc_lua *s;
    const char *code, *chunk;
    size_t len;
};

static int p_load_file(lua_State *L)
{
    struct load_file *a = lua_touserdata(L, 1);
    lua_settop(L, 2);
    if (luaL_loadbufferx(L, a->code, a->len, a->chunk, "t") != LUA_OK)
        return lua_error(L);
    push_file_env(L, 2, prelude_newindex);
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 0);
    return 0;
}

/* The *.lua names of dir, sorted, into names (at most 512); NULL entries on memory. */
static size_t list_lua(const char *dir, char *names[512])
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* an absent folder holds nothing */
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".lua") && e->d_name[0] != '.')
            names[n++] = sc_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    return n;
}

/* Reads dir/NAME; NULL with err set. */
static char *read_lua(const char *dir, const char *name, size_t *len, char *err, size_t errlen)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", dir, name ? name : "");
    bool big;
    char *code = name && name[0] ? sc_read_file(path, 1024 * 1024, len, &big) : NULL;
    if (!code && name && name[0])
        snprintf(err, errlen, "%s: cannot read", path);
    else if (!code)
        snprintf(err, errlen, "out of memory");
    return code;
}

/* Runs each prelude file of dir; their globals land in the table at target_idx. */
static int load_prelude(struct sc_lua *s, const char *dir, int target_idx, char *err,
                        size_t errlen)
{
    lua_State *L = s->L;
    char *names[512];
    size_t n = list_lua(dir, names);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len;
        char *code = read_lua(dir, names[i], &len, err, errlen);
        if (!code) {
            rc = -1;
            break;
        }
        char chunk[4700];
        snprintf(chunk, sizeof chunk, "@%s/%s", dir, names[i]);
        struct load_file a = {s, code, chunk, len};
        sc_lua_budget(s, SC_LUA_INSTRUCTIONS, 0);
        lua_pushcfunction(L, p_load_file);
        lua_pushlightuserdata(L, &a);
        lua_pushvalue(L, target_idx);
        if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
            snprintf(err, errlen, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                                       : "out of memory");
            lua_pop(L, 1);
            rc = -1;
        }
        free(code);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

/* Reads the files of dir into s->disk as {"FILE.lua": {"source": text}}. */
static int read_transforms(struct sc_lua *s, const char *dir, char *err, size_t errlen)
{
    char *names[512];
    size_t n = list_lua(dir, names);
    int rc = (s->disk = json_object()) ? 0 : -1;
    if (rc)
        snprintf(err, errlen, "out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len;
        char *code = read_lua(dir, names[i], &len, err, errlen);
        /* Any bytes Lua reads: a version checks its text is UTF-8 when it stores it. */
        if (!code || json_object_set_new(s->disk, names[i], json_pack("{s:o}", "source",
                                         json_stringn_nocheck(code, len))) != 0) {
            if (code)
                snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        free(code);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

struct use {
    struct sc_lua *s;
    json_t *files;      /* NULL: the disk's */
    const char *prefix; /* what the files are called in messages */
    bool same;          /* the set in use already: only start a new record of use */
};

/* Chooses a set of transform files (see sc_lua_use); runs protected. */
static int p_use(lua_State *L)
{
    struct use *a = lua_touserdata(L, 1);
    struct sc_lua *s = a->s;
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, s->used_ref);
    if (a->same)
        return 0;
    if (a->files)
        push_set(L, a->files, a->prefix);
    else
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->disk_ref);
    lua_rawseti(L, LUA_REGISTRYINDEX, s->active_ref);
    return 0;
}

int sc_lua_use(struct sc_lua *s, json_t *files, char *err, size_t errlen)
{
    lua_State *L = s->L;
    struct use a = {s, files, "transforms/", files && files == s->using};
    /* Compiling a new file spends a budget of its own: the caller's stays as it was. */
    long budget = s->budget, used = s->used;
    int64_t deadline = s->deadline, window = s->window;
    bool tripped = s->tripped != NULL;
    char why[sizeof s->why];
    memcpy(why, s->why, sizeof why);
    bool called = lua_checkstack(L, 3);
    int rc = called ? LUA_OK : LUA_ERRMEM;
    if (called) {
        lua_pushcfunction(L, p_use);
        lua_pushlightuserdata(L, &a);
        rc = lua_pcall(L, 1, 0, 0);
    }
    s->budget = budget;
    s->used = used;
    s->deadline = deadline;
    s->window = window;
    memcpy(s->why, why, sizeof why);
    s->tripped = tripped ? s->why : NULL;
    if (rc != LUA_OK) {
        snprintf(err, errlen, "%s", called && rc != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING
                                        ? lua_tostring(L, -1) : "out of memory");
        if (called)
            lua_pop(L, 1);
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->empty_ref); /* nothing runs rather than the disk's */
        lua_rawseti(L, LUA_REGISTRYINDEX, s->active_ref);
        json_decref(s->using);
        s->using = NULL;
        s->on_disk = false;
        s->recorded = false;
        return -1;
    }
    if (files != s->using) {
        json_incref(files);
        json_decref(s->using);
        s->using = files;
    }
    s->on_disk = files == NULL;
    s->recorded = true;
    return 0;
}

/* Keeps the set in use in the registry (argument 1: where the reference goes). */
static int p_keep(lua_State *L)
{
    struct sc_lua *s = from_L(L);
    int *ref = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->active_ref);
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int sc_lua_keep(struct sc_lua *s)
{
    int ref = 0;
    if (s->on_disk)
        return 0;
    if (!lua_checkstack(s->L, 2))
        return -1;
    lua_pushcfunction(s->L, p_keep);
    lua_pushlightuserdata(s->L, &ref);
    if (lua_pcall(s->L, 1, 0, 0) != LUA_OK) {
        lua_pop(s->L, 1);
        return -1;
    }
    return ref > 0 ? ref : -1;
}

void sc_lua_choose(struct sc_lua *s, int set)
{
    /* Both keys exist: setting them allocates nothing, so no error can be raised. */
    int ref = set == 0 ? s->disk_ref : set > 0 ? set : s->empty_ref;
    if (lua_rawgeti(s->L, LUA_REGISTRYINDEX, ref) != LUA_TTABLE) {
        lua_pop(s->L, 1); /* not a handle of this state's */
        lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->empty_ref);
    }
    lua_rawseti(s->L, LUA_REGISTRYINDEX, s->active_ref);
    s->on_disk = set == 0;
    s->recorded = false;
    json_decref(s->using);
    s->using = NULL;
}

void sc_lua_release(struct sc_lua *s, int set)
{
    if (s && set > 0)
        luaL_unref(s->L, LUA_REGISTRYINDEX, set);
}

json_t *sc_lua_used(struct sc_lua *s)
{
    lua_State *L = s->L;
    json_t *set = s->using ? s->using : s->disk, *out = s->recorded ? json_object() : NULL;
    if (!out || !lua_checkstack(L, 4)) {
        json_decref(out);
        return NULL;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->used_ref);
    lua_pushnil(L);
    while (out && lua_next(L, -2)) {
        char file[300];
        snprintf(file, sizeof file, "%s.lua", lua_type(L, -2) == LUA_TSTRING
                                                  ? lua_tostring(L, -2) : "");
        json_t *src = json_object_get(json_object_get(set, file), "source");
        if (src && json_object_set_new(out, file, json_stringn_nocheck(json_string_value(src),
                                       json_string_length(src))) != 0) {
            json_decref(out);
            out = NULL;
        }
        lua_pop(L, 1);
    }
    lua_settop(L, lua_gettop(L) - (out ? 1 : 2));
    return out;
}

struct setup {
    const char *lua_dir;
    char *err;
    size_t errlen;
    int rc;
};

/* The allowed libraries, bounded, with no way to make bytecode. */
static void open_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL}};
    for (const luaL_Reg *l = libs; l->name; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    /* Pattern matching, string.rep, the table functions and setmetatable: bounded. */
    sc_lua_lib_install(L);
    /* No bytecode ever: string.dump is the only way to produce it. */
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    /* The string metatable is shared by every string: hide it from getmetatable. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}

/* The JSON proxies' metatable and the array/object marks. */
static void make_metatables(lua_State *L)
{
    luaL_newmetatable(L, PROXY_MT);
    static const luaL_Reg proxy[] = {{"__index", proxy_index},   {"__len", proxy_len},
                                     {"__pairs", proxy_pairs},   {"__tostring", proxy_tostring},
                                     {"__eq", proxy_eq},         {"__gc", proxy_gc},
                                     {"__newindex", read_only},  {NULL, NULL}};
    luaL_setfuncs(L, proxy, 0);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    /* Shared by every marked table: getmetatable must not hand them out for editing. */
    static const char *const marks[][2] = {{"sc.array", "array"}, {"sc.object", "object"}};
    for (int i = 0; i < 2; i++) {
        luaL_newmetatable(L, marks[i][0]);
        lua_pushstring(L, marks[i][1]);
        lua_setfield(L, -2, "__jsontype");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
}

/* A new empty table kept in the registry. */
static int new_ref(lua_State *L)
{
    lua_newtable(L);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* A new table kept in the registry whose keys or values (mode "k" or "v") are weak. */
static int new_ref_weak(lua_State *L, const char *mode)
{
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, mode);
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* The expressions' _ENV (empty, so every read goes through env_index) over the context,
 * the prelude at index prelude and the safe globals at index globals. */
static void make_env(struct sc_lua *s, int prelude, int globals)
{
    lua_State *L = s->L;
    lua_newtable(L);
    lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_pushvalue(L, prelude);
    lua_pushvalue(L, globals);
    lua_pushcclosure(L, env_index, 3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, env_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    s->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* The scratch names prelude and transform files see: the safe globals at index globals
 * plus "sc", in the context table while the files load. */
static void make_scratch(struct sc_lua *s, int globals)
{
    lua_State *L = s->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_pushnil(L);
    while (lua_next(L, globals)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    luaL_newlib(L, helpers);
    sc_lua_lib_text_helpers(L);
    push_frozen(L, -1);
    lua_setfield(L, -3, "sc");
    lua_pop(L, 1);
    s->scratch_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* kept: transforms are rebuilt with it */
}

/* Loads lua_dir/prelude into the table at prelude and lua_dir/transforms as the disk's
 * set, then leaves expressions only the real context. */
static int load_files(struct sc_lua *s, const struct setup *a, int prelude)
{
    lua_State *L = s->L;
    const char *dir = a->lua_dir ? a->lua_dir : sc_lua_default_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/prelude", dir);
    s->loading = true;
    int rc = load_prelude(s, path, prelude, a->err, a->errlen);
    s->loading = false;
    snprintf(path, sizeof path, "%s/transforms", dir);
    if (rc == 0)
        rc = read_transforms(s, path, a->err, a->errlen);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/transforms/", dir);
        push_set(L, s->disk, path);
        lua_pushvalue(L, -1);
        lua_rawseti(L, LUA_REGISTRYINDEX, s->disk_ref);
        lua_rawseti(L, LUA_REGISTRYINDEX, s->active_ref);
    }
    /* Expressions see only the real context: clear the scratch copy. */
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_settop(L, 0);
    /* The env closure captured the old context table: rebuild it on the new one. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->env_ref);
    lua_getmetatable(L, -1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->prelude_ref);
    push_safe_globals(L);
    lua_pushcclosure(L, env_index, 3);
    lua_setfield(L, -2, "__index");
    lua_settop(L, 0);
    return rc;
}

/* Builds the sandbox; runs protected, so running out of memory here is an error (a
 * transform file's own error is raised too, after a->err says it). */
static int p_setup(lua_State *L)
{
    struct setup *a = lua_touserdata(L, 1);
    struct sc_lua *s = from_L(L);
    lua_settop(L, 0);
    open_libs(L);
    make_metatables(L);
    new_proxy_cache(L);
    s->ctx_ref = new_ref(L);
    /* Caches: a file's code lives as long as a set holding it (in use, the disk's, kept). */
    s->transforms_ref = new_ref_weak(L, "k");
    s->factories_ref = new_ref_weak(L, "v");
    s->built_ref = new_ref_weak(L, "k");
    s->disk_ref = new_ref(L);
    s->active_ref = new_ref(L);
    s->used_ref = new_ref(L);
    s->empty_ref = new_ref(L);
    /* The prelude table starts with the helpers under "sc" (visible to prelude files). */
    lua_newtable(L);
    int prelude = lua_gettop(L);
    push_safe_globals(L);
    int globals = lua_gettop(L);
    lua_pushvalue(L, prelude);
    s->prelude_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    make_env(s, prelude, globals);
    /* Prelude files see safe globals plus "sc"; load them with a scratch context that
     * holds both (the real context is filled per evaluation). */
    make_scratch(s, globals);
    a->rc = load_files(s, a, prelude);
    s->on_disk = s->recorded = true;
    return 0;
}

struct sc_lua *sc_lua_new(const char *lua_dir, size_t mem_limit, char *err, size_t errlen)
{
    struct sc_lua *s = sc_calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->mem_limit = mem_limit ? mem_limit : SC_LUA_MEM_LIMIT;
    s->budget = SC_LUA_INSTRUCTIONS;
    s->L = lua_newstate(lalloc, s);
    if (!s->L) {
        snprintf(err, errlen, "out of memory starting Lua");
        free(s);
        return NULL;
    }
    lua_State *L = s->L;
    *(struct sc_lua **)lua_getextraspace(L) = s;
    s->ctx_ref = s->env_ref = s->prelude_ref = s->transforms_ref = LUA_NOREF;
    s->factories_ref = s->built_ref = s->scratch_ref = LUA_NOREF;
    s->disk_ref = s->active_ref = s->used_ref = s->empty_ref = LUA_NOREF;
    struct setup a = {lua_dir, err, errlen, 0};
    lua_pushcfunction(L, p_setup);
    lua_pushlightuserdata(L, &a);
    int rc = lua_pcall(L, 1, 0, 0);
    if (rc == LUA_ERRRUN && lua_type(L, -1) == LUA_TSTRING) { /* a transform file's error */
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        a.rc = -1;
    } else if (rc != LUA_OK) {
        snprintf(err, errlen, "out of memory starting Lua");
        a.rc = -1;
    }
    if (a.rc != 0) {
        sc_lua_free(s);
        return NULL;
    }
    lua_gc(L, LUA_GCCOLLECT);
    return s;
}

void sc_lua_free(struct sc_lua *s)
{
    if (!s)
        return;
    if (s->L)
        lua_close(s->L);
    for (int i = 0; i < LAZY_MAX; i++)
        json_decref(s->lazy[i].v);
    json_decref(s->disk);
    json_decref(s->using);
    free(s);
}

lua_State *sc_lua_state(struct sc_lua *s) { return s->L; }
size_t sc_lua_memory(struct sc_lua *s)
{
    /* Twice: objects with finalizers (the proxies) are freed only by the cycle after. */
    lua_gc(s->L, LUA_GCCOLLECT);
    lua_gc(s->L, LUA_GCCOLLECT);
    return s->mem;
}

static int set_ctx(lua_State *L)
{
    const char *name = lua_touserdata(L, 1);
    json_t *value = lua_touserdata(L, 2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, from_L(L)->ctx_ref);
    if (value)
        push_json(L, value);
    else
        lua_pushnil(L);
    lua_setfield(L, -2, name);
    return 0;
}

void sc_lua_forget(struct sc_lua *s)
{
    lua_State *L = s->L;
    s->generation = ++s->gen_next;
    if (lua_checkstack(L, 2)) {
        lua_pushcfunction(L, new_proxy_cache);
        if (lua_pcall(L, 0, 0, 0) != LUA_OK) /* out of memory: the old cache stays */
            lua_pop(L, 1);
    }
}

/* ---- parking an execution's context (lua.h) ---- */

static void lazy_drop(struct sc_lua *s)
{
    for (int i = 0; i < LAZY_MAX; i++) {
        json_decref(s->lazy[i].v);
        s->lazy[i] = (struct sc_lua_lazy){0};
    }
}

/* Slots swapped per execution: the registry refs whose tables an execution owns. */
#define PARK_SLOTS 4

static int *park_slot(struct sc_lua *s, int i)
{
    int *v[PARK_SLOTS] = {&s->active_ref, &s->used_ref, &s->transforms_ref, &s->built_ref};
    return v[i];
}

/* The expressions' env closure (env_index), whose first upvalue is the context table. */
static void push_env_index(lua_State *L, struct sc_lua *s)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->env_ref);
    lua_getmetatable(L, -1);
    lua_getfield(L, -1, "__index"); /* the key exists: nothing is allocated */
    lua_replace(L, -3);
    lua_pop(L, 1);
}

/* Saves the context table and the slots' tables in a new table (referenced, its ref
 * pushed) and puts fresh ones in their place. Everything that allocates comes first:
 * failing, it changed nothing. */
static int p_park(lua_State *L)
{
    struct sc_lua *s = from_L(L);
    lua_createtable(L, PARK_SLOTS + 1, 0); /* saved: 1..4 the slots, 5 the context */
    int saved = lua_gettop(L);
    for (int i = 0; i <= PARK_SLOTS; i++) { /* fresh tables at saved+1 .. saved+5 */
        lua_newtable(L);
        if (i == 2 || i == 3) { /* transforms and built: weak in their keys, as made */
            lua_newtable(L);
            lua_pushliteral(L, "k");
            lua_setfield(L, -2, "__mode");
            lua_setmetatable(L, -2);
        }
    }
    push_env_index(L, s);
    lua_pushvalue(L, saved);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* from here nothing allocates */
    for (int i = 0; i < PARK_SLOTS; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, *park_slot(s, i));
        lua_rawseti(L, saved, i + 1);
        lua_pushvalue(L, saved + 1 + i);
        lua_rawseti(L, LUA_REGISTRYINDEX, *park_slot(s, i));
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_rawseti(L, saved, PARK_SLOTS + 1);
    lua_pushvalue(L, saved + 1 + PARK_SLOTS);
    lua_rawseti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_pushvalue(L, saved + 1 + PARK_SLOTS);
    lua_setupvalue(L, -2, 1);
    lua_pushinteger(L, ref);
    return 1;
}

int sc_lua_park(struct sc_lua *s, struct sc_lua_parked *p)
{
    lua_State *L = s->L;
    if (!lua_checkstack(L, 16))
        return -1;
    lua_pushcfunction(L, p_park);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK) { /* only memory can fail: nothing moved yet or
                                              the context half-moved; the caller gives up */
        lua_pop(L, 1);
        return -1;
    }
    p->ref = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    /* its names go with it as they are (a read one is in its table); the next starts with none */
    memcpy(p->lazy, s->lazy, sizeof p->lazy);
    memset(s->lazy, 0, sizeof s->lazy);
    p->eager = s->eager;
    s->eager = false;
    p->generation = s->generation;
    p->budget = s->budget;
    p->used = s->used;
    p->deadline = s->deadline;
    p->window = s->window;
    p->tripped = s->tripped != NULL; /* it only ever points to why */
    memcpy(p->why, s->why, sizeof p->why);
    p->on_disk = s->on_disk;
    p->recorded = s->recorded;
    p->using = s->using;
    s->using = NULL;
    s->generation = ++s->gen_next; /* the next execution builds its transforms afresh */
    return 0;
}

void sc_lua_unpark(struct sc_lua *s, struct sc_lua_parked *p)
{
    lua_State *L = s->L;
    lazy_drop(s); /* the context in place goes, with its names not read yet */
    memcpy(s->lazy, p->lazy, sizeof s->lazy);
    memset(p->lazy, 0, sizeof p->lazy);
    s->eager = p->eager;
    /* Nothing allocates: the saved tables go back into their slots and the closure. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref);
    for (int i = 0; i < PARK_SLOTS; i++) {
        lua_rawgeti(L, -1, i + 1);
        lua_rawseti(L, LUA_REGISTRYINDEX, *park_slot(s, i));
    }
    lua_rawgeti(L, -1, PARK_SLOTS + 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    push_env_index(L, s);
    lua_insert(L, -2);
    lua_setupvalue(L, -2, 1);
    lua_pop(L, 2);
    luaL_unref(L, LUA_REGISTRYINDEX, p->ref);
    p->ref = LUA_NOREF;
    s->generation = p->generation;
    s->budget = p->budget;
    s->used = p->used;
    s->deadline = p->deadline;
    s->window = p->window;
    memcpy(s->why, p->why, sizeof s->why);
    s->tripped = p->tripped ? s->why : NULL;
    s->on_disk = p->on_disk;
    s->recorded = p->recorded;
    json_decref(s->using);
    s->using = p->using;
    p->using = NULL;
}

/* Sets name in the context table itself, in a protected call (memory may run out). */
static int set_now(struct sc_lua *s, const char *name, json_t *value)
{
    lua_State *L = s->L;
    if (!lua_checkstack(L, 4))
        return -1;
    lua_pushcfunction(L, set_ctx);
    lua_pushlightuserdata(L, (void *)name); /* pushed as text inside the protected call */
    lua_pushlightuserdata(L, value);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) { /* only memory can fail here */
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

int sc_lua_set(struct sc_lua *s, const char *name, json_t *value)
{
    struct sc_lua_lazy *z = lazy_find(s, name);
    if (!z && value && strlen(name) < sizeof z->name)
        for (int i = 0; i < LAZY_MAX && !z; i++)
            z = s->lazy[i].name[0] ? NULL : &s->lazy[i];
    if (!z) { /* unset and never held, or no slot left: as it was, in the table */
        if (value)
            s->eager = true;
        return set_now(s, name, value);
    }
    if ((z->shown || s->eager) && set_now(s, name, NULL) != 0)
        return -1; /* unchanged */
    json_decref(z->v);
    z->shown = false;
    z->v = json_incref(value);
    if (value)
        snprintf(z->name, sizeof z->name, "%s", name);
    else
        z->name[0] = '\0';
    return 0;
}

static int p_ref(lua_State *L)
{
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 1;
}

static int compile_code(struct sc_lua *s, char *code, char *err, size_t errlen);

int sc_lua_compile(struct sc_lua *s, const char *expr, size_t n, char *err, size_t errlen)
{
    char *code = sc_expr_rewrite(expr, n);
    if (!code) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *cat = sc_concat_rewrite(code, strlen(code)); /* ".." keeps every digit */
    if (cat) {
        int ref = compile_code(s, cat, err, errlen);
        if (ref >= 0) {
            free(code);
            return ref;
        }
    } /* else, or when it does not compile: as written, for the user's own message */
    return compile_code(s, code, err, errlen);
}

/* Compiles "return (code)" in the expressions' _ENV; takes code (free()s it). */
static int compile_code(struct sc_lua *s, char *code, char *err, size_t errlen)
{
    lua_State *L = s->L;
    struct sc_buf b = {0};
    sc_buf_puts(&b, "return (");
    sc_buf_puts(&b, code);
    sc_buf_puts(&b, "\n)");
    free(code);
    if (b.oom) {
        sc_buf_free(&b);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = luaL_loadbufferx(L, b.data, b.len, "=expr", "t");
    sc_buf_free(&b);
    if (rc != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->env_ref);
    lua_setupvalue(L, -2, 1);
    lua_pushcfunction(L, p_ref);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int ref = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return ref;
}

void sc_lua_unref(struct sc_lua *s, int ref)
{
    if (ref >= 0)
        luaL_unref(s->L, LUA_REGISTRYINDEX, ref);
}

/* "/.../lua/prelude/30-date.lua:86: msg" -> "msg": the prelude's own lines mean
 * nothing to the user (a transform file's place is theirs, and stays). */
static const char *without_prelude_place(const char *msg)
{
    const char *sp = strchr(msg, ' ');
    const char *lua = strstr(msg, ".lua:");
    if (!lua || (sp && lua > sp) || !strstr(msg, "prelude/") || strstr(msg, "prelude/") > lua)
        return msg;
    const char *p = lua + 5;
    while (*p >= '0' && *p <= '9')
        p++;
    return p[0] == ':' && p[1] == ' ' ? p + 2 : msg;
}

/* Classifies a failed pcall and writes its message; pops the error. */
static enum sc_status failure(struct sc_lua *s, int rc, char *err, size_t errlen)
{
    lua_State *L = s->L;
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    enum sc_status st = SC_ERR_RUNTIME;
    if (rc == LUA_ERRMEM) {
        snprintf(err, errlen, "Lua memory limit of %zu MiB exceeded", s->mem_limit >> 20);
        st = SC_ERR_LIMIT;
    } else if (s->tripped) {
        snprintf(err, errlen, "Lua %s", s->tripped);
        st = SC_ERR_LIMIT;
    } else {
        if (msg && strncmp(msg, "expr:", 5) == 0) { /* "expr:1: msg" -> "msg" */
            const char *c = strchr(msg + 5, ':');
            if (c)
                msg = c + 1 + (c[1] == ' ');
        }
        msg = msg ? without_prelude_place(msg) : msg;
        snprintf(err, errlen, "%s", msg ? msg : "error object is not a string");
        if (msg && strstr(msg, "stack overflow"))
            st = SC_ERR_LIMIT;
    }
    lua_pop(L, 1);
    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_EVERY);
    s->tripped = NULL;
    lua_gc(L, LUA_GCCOLLECT); /* give back what a runaway expression took */
    return st;
}

/* A call that returned normally although the budget tripped (`return pcall(loop)`
 * ends without a further instruction): still the limit error; pops its n results. */
static enum sc_status stopped_after(struct sc_lua *s, int n, char *err, size_t errlen)
{
    if (!s->tripped)
        return SC_OK;
    lua_pop(s->L, n - 1);
    return failure(s, LUA_ERRRUN, err, errlen);
}

static enum sc_status call_ref(struct sc_lua *s, int ref, char *err, size_t errlen)
{
    lua_State *L = s->L;
    if (s->tripped) { /* the budget is spent: nothing more runs until the next budget */
        snprintf(err, errlen, "Lua %s", s->tripped);
        return SC_ERR_LIMIT;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    int rc = lua_pcall(L, 0, 1, 0);
    return rc == LUA_OK ? stopped_after(s, 1, err, errlen) : failure(s, rc, err, errlen);
}

enum sc_status sc_lua_eval_json(struct sc_lua *s, int ref, json_t **out, char *err, size_t errlen)
{
    enum sc_status st = call_ref(s, ref, err, errlen);
    if (st != SC_OK)
        return st;
    *out = to_json(s->L, -1, 0, err, errlen);
    lua_pop(s->L, 1);
    return *out ? SC_OK : SC_ERR_RUNTIME;
}

enum sc_status sc_lua_eval_text(struct sc_lua *s, int ref, struct sc_buf *buf, char *err,
                                size_t errlen)
{
    lua_State *L = s->L;
    enum sc_status st = call_ref(s, ref, err, errlen);
    if (st != SC_OK)
        return st;
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING) {
        size_t n;
        const char *p = lua_tolstring(L, -1, &n);
        sc_buf_add(buf, p, n);
    } else if (t == LUA_TNUMBER) { /* formatted here: lua_tolstring would allocate unprotected */
        if (lua_isinteger(L, -1)) {
            sc_buf_printf(buf, "%lld", (long long)lua_tointeger(L, -1));
        } else {
            char num[32];
            size_t n = sc_text_number(lua_tonumber(L, -1), num); /* shortest round trip */
            sc_buf_add(buf, num, n);
        }
    } else if (t == LUA_TBOOLEAN) {
        sc_buf_puts(buf, lua_toboolean(L, -1) ? "true" : "false");
    } else if (t != LUA_TNIL) {
        json_t *v = to_json(L, -1, 0, err, errlen);
        char *txt = v ? sc_text_json(v, 0, false) : NULL;
        json_decref(v);
        if (!txt) {
            lua_pop(L, 1);
            return SC_ERR_RUNTIME;
        }
        sc_buf_puts(buf, txt);
        free(txt);
    }
    lua_pop(L, 1);
    return SC_OK;
}

enum sc_status sc_lua_eval_bool(struct sc_lua *s, int ref, bool *out, char *err, size_t errlen)
{
    enum sc_status st = call_ref(s, ref, err, errlen);
    if (st != SC_OK)
        return st;
    *out = lua_toboolean(s->L, -1);
    lua_pop(s->L, 1);
    return SC_OK;
}

/* Pushes transforms[FILE][FUNCTION] (or prelude[NAME]) or nil; may raise on memory,
 * so it runs only inside a protected call. */
static void push_transform(struct sc_lua *s, const char *name, bool fresh)
{
    lua_State *L = s->L;
    const char *dot = strchr(name, '.');
    if (!dot) { /* a prelude function: lower, trim, ... */
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->prelude_ref);
        lua_getfield(L, -1, name);
        lua_remove(L, -2);
        return;
    }
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->active_ref);
    lua_pushlstring(L, name, (size_t)(dot - name));
    if (lua_rawget(L, -2) != LUA_TFUNCTION) {
        lua_settop(L, top);
        lua_pushnil(L);
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->used_ref); /* what a deploy stores with the version */
    lua_pushlstring(L, name, (size_t)(dot - name));
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    if (fresh) { /* first use in this execution: a fresh copy of the file's functions */
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->built_ref);
        lua_pushvalue(L, -2);
        lua_rawget(L, -2);
        bool built = lua_isinteger(L, -1) && lua_tointeger(L, -1) == (lua_Integer)s->generation;
        lua_pop(L, 2);
        if (!built)
            build_transform(L, -1);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->transforms_ref);
    lua_pushvalue(L, -2);
    if (lua_rawget(L, -2) == LUA_TTABLE)
        lua_getfield(L, -1, dot + 1);
    else
        lua_pushnil(L);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
}

static int p_is_function(lua_State *L)
{
    push_transform(from_L(L), lua_touserdata(L, 1), false);
    lua_pushboolean(L, lua_isfunction(L, -1));
    return 1;
}

static bool lookup(struct sc_lua *s, const char *name)
{
    lua_State *L = s->L;
    lua_pushcfunction(L, p_is_function);
    lua_pushlightuserdata(L, (void *)name);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return false;
    }
    bool yes = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return yes;
}

/* Context names the engine sets per evaluation (exec.c), known before any is set. */
static const char *const context_names[] = {"trigger", "steps", "vars", "execution", "error",
                                            "env", "poll", "output", "item", NULL};

/* Pushes the expressions' safe globals: the third upvalue of their _ENV's __index. */
static void push_globals(lua_State *L, struct sc_lua *s)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->env_ref);
    lua_getmetatable(L, -1);
    lua_getfield(L, -1, "__index");
    lua_getupvalue(L, -1, 3);
    lua_replace(L, -4);
    lua_pop(L, 2);
}

static int p_has_global(lua_State *L)
{
    struct sc_lua *s = from_L(L);
    const char *name = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->prelude_ref);
    bool yes = lua_getfield(L, -1, name) != LUA_TNIL;
    push_globals(L, s);
    yes = yes || lua_getfield(L, -1, name) != LUA_TNIL;
    lua_pushboolean(L, yes);
    return 1;
}

bool sc_lua_has_global(struct sc_lua *s, const char *name)
{
    for (int i = 0; context_names[i]; i++)
        if (strcmp(context_names[i], name) == 0)
            return true;
    lua_State *L = s->L;
    lua_pushcfunction(L, p_has_global);
    lua_pushlightuserdata(L, (void *)name);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return true; /* out of memory: say nothing rather than something wrong */
    }
    bool yes = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return yes;
}

bool sc_lua_has_transform(struct sc_lua *s, const char *name)
{
    return strchr(name, '.') && lookup(s, name);
}

bool sc_lua_has_prelude(struct sc_lua *s, const char *name)
{
    return !strchr(name, '.') && lookup(s, name);
}

static int call_transform(lua_State *L)
{
    const char *name = lua_touserdata(L, 1);
    json_t *args = lua_touserdata(L, 2);
    lua_settop(L, 0);
    push_transform(from_L(L), name, true);
    if (!lua_isfunction(L, 1))
        return 0; /* no result: the caller reports the missing transform */
    int n = 1;
    if (json_is_array(args)) {
        size_t i;
        json_t *a;
        n = 0;
        luaL_checkstack(L, (int)json_array_size(args), "too many arguments");
        json_array_foreach(args, i, a) {
            push_json(L, a);
            n++;
        }
    } else {
        push_json(L, args);
    }
    lua_call(L, n, 1);
    lua_pushboolean(L, 1); /* marks a call that happened */
    return 2;
}

enum sc_status sc_lua_call(struct sc_lua *s, const char *name, json_t *args, json_t **out,
                           char *err, size_t errlen)
{
    lua_State *L = s->L;
    if (s->tripped) { /* the budget is spent: nothing more runs until the next budget */
        snprintf(err, errlen, "Lua %s", s->tripped);
        return SC_ERR_LIMIT;
    }
    lua_pushcfunction(L, call_transform);
    lua_pushlightuserdata(L, (void *)name);
    lua_pushlightuserdata(L, args);
    int rc = lua_pcall(L, 2, 2, 0);
    if (rc != LUA_OK || stopped_after(s, 2, err, errlen) != SC_OK)
        return rc != LUA_OK ? failure(s, rc, err, errlen) : SC_ERR_LIMIT;
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 2);
        snprintf(err, errlen, "no Lua transform '%s' (a prelude function, or FILE.FUNCTION of "
                 "lua/transforms/FILE.lua)", name);
        return SC_ERR_CONFIG;
    }
    lua_pop(L, 1);
    *out = to_json(L, -1, 0, err, errlen);
    lua_pop(L, 1);
    return *out ? SC_OK : SC_ERR_RUNTIME;
}

/* Names in the table on top (functions, or FILE.FUNCTION under prefix) into a JSON array. */
static void table_names(lua_State *L, const char *prefix, json_t *out)
{
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1)) {
            const char *k = lua_tostring(L, -2);
            char name[256];
            snprintf(name, sizeof name, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", k);
            if (k[0] != '_')
                json_array_append_new(out, json_string(name));
        }
        lua_pop(L, 1);
    }
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void sc_lua_transform_hint(struct sc_lua *s, const char *name, char *out, size_t outlen)
{
    lua_State *L = s->L;
    json_t *cands = json_array(), *files = json_array();
    out[0] = '\0';
    if (!cands || !files)
        goto done;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->prelude_ref);
    if (lua_istable(L, -1))
        table_names(L, NULL, cands);
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->transforms_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->active_ref);
    if (lua_istable(L, -1) && lua_istable(L, -2)) { /* FILE -> factory -> its functions */
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            if (lua_type(L, -2) == LUA_TSTRING && lua_rawget(L, -4) == LUA_TTABLE) {
                json_array_append_new(files, json_string(lua_tostring(L, -2)));
                table_names(L, lua_tostring(L, -2), cands);
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 2);
    const char *v[512];
    size_t n = 0, i;
    json_t *x;
    json_array_foreach(cands, i, x) if (n < 512) v[n++] = json_string_value(x);
    qsort(v, n, sizeof *v, by_text); /* Lua's table order varies: ties go the same way */
    const char *hint = sc_suggest(name, v, n);
    const char *dot = strchr(name, '.');
    if (hint) {
        snprintf(out, outlen, "; did you mean '%s'?", hint);
    } else if (dot) {
        bool has_file = false;
        char list[256] = "";
        size_t used = 0, nf = 0;
        const char *fv[64];
        json_array_foreach(files, i, x) if (nf < 64) fv[nf++] = json_string_value(x);
        qsort(fv, nf, sizeof *fv, by_text);
        for (i = 0; i < nf; i++) {
            const char *f = fv[i];
            has_file |= strlen(f) == (size_t)(dot - name) && !strncmp(f, name, (size_t)(dot - name));
            int w = snprintf(list + used, sizeof list - used, "%s%s.lua", used ? ", " : "", f);
            if (w > 0 && (size_t)w < sizeof list - used)
                used += (size_t)w;
        }
        if (!has_file)
            snprintf(out, outlen, " (there is no lua/transforms/%.*s.lua; the files are: %s)",
                     (int)(dot - name), name, used ? list : "none");
    }
done:
    json_decref(cands);
    json_decref(files);
}

/* Appends the string keys of the table on top not starting with '_' to out. */
static void key_names(lua_State *L, json_t *out)
{
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_tostring(L, -2)[0] != '_')
            json_array_append_new(out, json_string(lua_tostring(L, -2)));
        lua_pop(L, 1);
    }
}

void sc_lua_global_hint(struct sc_lua *s, const char *name, char *out, size_t outlen)
{
    lua_State *L = s->L;
    out[0] = '\0';
    json_t *cands = json_array();
    if (!cands)
        return;
    for (int i = 0; context_names[i]; i++)
        json_array_append_new(cands, json_string(context_names[i]));
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->prelude_ref);
    key_names(L, cands);
    lua_pop(L, 1);
    push_globals(L, s);
    key_names(L, cands);
    lua_pop(L, 1);
    const char *v[512];
    size_t n = 0, i;
    json_t *x;
    json_array_foreach(cands, i, x) if (n < 512) v[n++] = json_string_value(x);
    qsort(v, n, sizeof *v, by_text); /* Lua's table order varies: ties go the same way */
    const char *hint = sc_suggest(name, v, n);
    if (hint)
        snprintf(out, outlen, "; did you mean '%s'?", hint);
    json_decref(cands);
}
