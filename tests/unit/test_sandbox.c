/* Sandbox escapes: each is refused with a clear message, and the state still works. */
#include "test.h"

#include "lua_eval.h"
#include "clock.h"
#include "util.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static struct sc_lua *lua;

static int setup(void **state)
{
    (void)state;
    char err[512];
    lua = sc_lua_new("lua", 0, err, sizeof err);
    return lua ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sc_lua_free(lua);
    return 0;
}

/* err is "Lua time limit of N ms exceeded" with N the 20 ms window less what passed
 * between the test's clock reading and the budget's (under load, a few ms). */
static void time_limit_of_20(const char *err)
{
    int n = -1, end = 0;
    if (sscanf(err, "Lua time limit of %d ms exceeded%n", &n, &end) != 1 || err[end] || n < 0 || n > 20)
        assert_string_equal(err, "Lua time limit of 20 ms exceeded");
}

static void refused(const char *expr, const char *want)
{
    const char *got = eval(lua, expr);
    if (strcmp(got, want) != 0)
        fail_msg("{{ %s }}\n  want %s\n  got  %s", expr, want, got);
    /* The engine is healthy afterwards: the prelude works, memory went back. */
    assert_string_equal(eval(lua, "upper('still fine')"), "\"STILL FINE\"");
    assert_true(sc_lua_memory(lua) < 4u * 1024 * 1024);
}

static void no_os_io_require_debug(void **state)
{
    (void)state;
    refused("os.execute('touch /tmp/pwned')",
            "error(runtime): 'os' is not available in scenarist expressions (sandbox)");
    refused("io.open('/etc/passwd')",
            "error(runtime): 'io' is not available in scenarist expressions (sandbox)");
    refused("require('os')",
            "error(runtime): 'require' is not available in scenarist expressions (sandbox)");
    refused("debug.getregistry()",
            "error(runtime): 'debug' is not available in scenarist expressions (sandbox)");
    refused("dofile('/etc/passwd')",
            "error(runtime): 'dofile' is not available in scenarist expressions (sandbox)");
    refused("collectgarbage('stop')",
            "error(runtime): 'collectgarbage' is not available in scenarist expressions (sandbox)");
}

static void no_bytecode(void **state)
{
    (void)state;
    refused("load('\\27Lua')",
            "error(runtime): 'load' is not available in scenarist expressions (sandbox)");
    refused("string.dump(upper)", "error(runtime): attempt to call a nil value (field 'dump')");
    refused("('').dump(upper)", "error(runtime): attempt to call a nil value (field 'dump')");
    /* A template is compiled as text: a binary chunk does not even compile. */
    char err[256];
    assert_int_equal(sc_lua_compile(lua, "\x1bLua", 4, err, sizeof err), -1);
}

static void memory_cap(void **state)
{
    (void)state;
    refused("string.rep('x', 1 << 30)", "error(limit): Lua memory limit of 32 MiB exceeded");
    refused("(function() local t = {} for i = 1, 1e9 do t[i] = {i} end end)()",
            "error(limit): Lua memory limit of 32 MiB exceeded");
    refused("(function() local s = 'x' while true do s = s .. s end end)()",
            "error(limit): Lua memory limit of 32 MiB exceeded");
}

static void instructions_and_deadline(void **state)
{
    (void)state;
    refused("(function() while true do end end)()", "error(limit): Lua instruction limit of 10000000 exceeded");
    /* pcall cannot swallow the stop: the hook keeps firing once tripped. */
    refused("(function() while true do pcall(function() while true do end end) end end)()",
            "error(limit): Lua instruction limit of 10000000 exceeded");
    refused("(function() local n = 0 repeat n = n + 1 until false end)()",
            "error(limit): Lua instruction limit of 10000000 exceeded");
    /* A deadline stops code that stays under the instruction budget. */
    char err[256];
    const char *loop = "(function() while true do end end)()";
    int ref = sc_lua_compile(lua, loop, strlen(loop), err, sizeof err);
    sc_lua_budget(lua, 1L << 60, sc_clock_mono_ms() + 20);
    json_t *out = NULL;
    enum sc_status st = sc_lua_eval_json(lua, ref, &out, err, sizeof err);
    time_limit_of_20(err);
    assert_int_equal(st, SC_ERR_LIMIT);
    sc_lua_unref(lua, ref);
}

/* Code Lua runs on the way out of an error (message handlers, __close, __tostring) or
 * from C (gsub, sort, metamethods) stays under the budget: once it is spent, nothing
 * the user wrote runs again, and no pcall/xpcall catches the limit. */
static void no_route_around_the_budget(void **state)
{
    (void)state;
    static const char *const routes[] = {
        "xpcall(error, function() while true do end end)",
        "xpcall(function() while true do end end, function() while true do end end)",
        "xpcall(function() while true do end end, function(m) local s = 0 for i = 1, 3e8 do "
        "s = s + 1 end return s end)",
        "xpcall(error, function() return xpcall(error, function() while true do end end) end)",
        "xpcall(function() error(setmetatable({}, {__tostring = function() while true do end "
        "end})) end, tostring)",
        "pcall(function() while true do end end)",
        "(function() local ok = pcall(function() while true do end end) return ok end)()",
        "(function() local ok, e = pcall(error, setmetatable({}, {__tostring = function() "
        "while true do end end})) return tostring(e) end)()",
        "string.gsub('aaa', 'a', function() while true do end end)",
        "table.sort({3, 2, 1}, function(a, b) while true do end end)",
        "(function() local x <close> = setmetatable({}, {__close = function() while true do "
        "end end}) while true do end end)()",
        "setmetatable({}, {__index = function() while true do end end}).x",
        "setmetatable({}, {__eq = function() while true do end end}) == "
        "setmetatable({}, {__eq = function() while true do end end})",
        "setmetatable({}, {__concat = function() while true do end end}) .. 'x'",
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        refused(routes[i], "error(limit): Lua instruction limit of 10000000 exceeded");
    refused("(function() local t = {} setmetatable(t, {__index = t}) return t.x end)()",
            "error(runtime): '__index' chain too long; possible loop");
    refused("coroutine.wrap(function() end)",
            "error(runtime): 'coroutine' is not available in scenarist expressions (sandbox)");
    /* The deadline, too: a handler cannot outlive the step's time limit. */
    char err[256];
    const char *x = "xpcall(function() while true do end end, function() while true do end end)";
    int ref = sc_lua_compile(lua, x, strlen(x), err, sizeof err);
    sc_lua_budget(lua, 1L << 60, sc_clock_mono_ms() + 20);
    json_t *out = NULL;
    int64_t t0 = sc_clock_mono_ms();
    assert_int_equal(sc_lua_eval_json(lua, ref, &out, err, sizeof err), SC_ERR_LIMIT);
    assert_true(sc_clock_mono_ms() - t0 < 1000);
    time_limit_of_20(err);
    sc_lua_unref(lua, ref);
    /* A handler still works while the budget lasts. */
    assert_string_equal(eval(lua, "select(2, xpcall(error, function(m) return 'caught ' .. m end, 'x'))"),
                        "\"caught x\"");
}

static void deep_recursion(void **state)
{
    (void)state;
    const char *got = eval(lua, "(function() local function f(n) return 1 + f(n + 1) end return f(1) end)()");
    assert_non_null(strstr(got, "error(limit): "));
    assert_true(strstr(got, "stack overflow") || strstr(got, "memory limit"));
    assert_string_equal(eval(lua, "upper('ok')"), "\"OK\"");
    got = eval(lua, "(function() local t = setmetatable({}, {__index = function(t, k) return t[k + 1] end}) return t[1] end)()");
    assert_non_null(strstr(got, "error("));
    assert_string_equal(eval(lua, "upper('ok')"), "\"OK\"");
}

static void prelude_and_libraries_cannot_be_changed(void **state)
{
    (void)state;
    refused("(function() string.lower = nil end)()",
            "error(runtime): cannot change 'lower' of a library: the libraries are shared by every scenario");
    refused("(function() upper = function() return 'pwned' end end)()",
            "error(runtime): cannot assign the global 'upper': expressions do not change the scenario");
    refused("setmetatable(string, {})", "error(runtime): cannot change a protected metatable");
    refused("getmetatable('').__index", "error(runtime): attempt to index a boolean value");
    refused("(function() getmetatable('').__index = {} end)()",
            "error(runtime): attempt to index a boolean value");
    refused("rawget(string, 'upper')", "null"); /* the frozen view holds nothing itself */
    refused("getmetatable(_ENV)", "false");
    refused("getmetatable(split('a,b'))", "false"); /* the shared array marker */
    refused("getmetatable(pick(trigger, 'x'))", "false");
    refused("(function() setmetatable(split('a'), {}) end)()",
            "error(runtime): cannot change a protected metatable");
    refused("rawset(_ENV, 'x', 1)",
            "error(runtime): 'rawset' is not available in scenarist expressions (sandbox)");
    assert_string_equal(eval(lua, "lower('ABC')"), "\"abc\"");
    assert_string_equal(eval(lua, "('ABC'):lower()"), "\"abc\"");
}

static void bundles_are_read_only(void **state)
{
    (void)state;
    json_t *trigger = json_pack("{s:{s:i}}", "body", "id", 1);
    sc_lua_set(lua, "trigger", trigger);
    refused("(function() trigger.body.id = 2 end)()",
            "error(runtime): bundles are read-only: build a new value instead");
    refused("setmetatable(trigger, nil)",
            "error(runtime): bad argument #1 to 'setmetatable' (table expected, got sc.json)");
    assert_string_equal(eval(lua, "trigger.body.id"), "1");
    sc_lua_set(lua, "trigger", NULL);
    json_decref(trigger);
}

/* Turning a result into JSON happens outside the protected call: no metamethod of the
 * result may run there (an error would abort the process). */
static void results_convert_without_metamethods(void **state)
{
    (void)state;
    refused("setmetatable({}, setmetatable({}, {__index = function() while true do end end}))",
            "{}");
    refused("setmetatable({a = 1}, setmetatable({}, {__index = function() error('boom') end}))",
            "{\"a\":1}");
    refused("setmetatable({b = 2, a = {1, 2}}, {__index = function() error('boom') end, "
            "__pairs = function() error('boom') end, __len = function() error('boom') end})",
            "{\"a\":[1,2],\"b\":2}");
    refused("setmetatable({}, {__jsontype = 'array'})", "[]");
    refused("{[1] = 'a', [2] = 'b', x = 'c'}", "{\"1\":\"a\",\"2\":\"b\",\"x\":\"c\"}");
}

static void results_must_be_json(void **state)
{
    (void)state;
    refused("print", "error(runtime): 'print' is not available in scenarist expressions (sandbox)");
    refused("upper", "error(runtime): a function cannot become JSON");
    refused("0/0", "error(runtime): the number -nan cannot be represented in JSON");
    refused("(function() local t = {} t.self = t return t end)()",
            "error(runtime): value nested deeper than 64 levels (a cycle?)");
    refused("'\\xff'", "error(runtime): text that is not valid UTF-8 cannot become JSON");
    /* forms RFC 3629 excludes (a surrogate, an overlong /, past U+10FFFF): before, they
     * became JSON unchecked that no store could write, and a worker retried it for ever */
    refused("'\\xed\\xa0\\x80'", "error(runtime): text that is not valid UTF-8 cannot become JSON");
    refused("'\\xc0\\xaf'", "error(runtime): text that is not valid UTF-8 cannot become JSON");
    refused("{ ['\\xf4\\x90\\x80\\x80'] = 1 }", "error(runtime): a table key that is not valid "
            "UTF-8 text (or holds a NUL character) cannot become a JSON key");
    refused("{ [string.char(0xff)] = 1 }", "error(runtime): a table key that is not valid UTF-8 "
            "text (or holds a NUL character) cannot become a JSON key");
    refused("{ ['a\\0b'] = 1, a = 2 }", "error(runtime): a table key that is not valid UTF-8 "
            "text (or holds a NUL character) cannot become a JSON key");
}

/* A transform file: its module-level state starts over with every execution, and it
 * cannot reach or change what every scenario shares. */
static const char *call(struct sc_lua *l, const char *name)
{
    static char out[512];
    json_t *res = NULL;
    char err[400];
    json_t *args = json_array();
    enum sc_status st = sc_lua_call(l, name, args, &res, err, sizeof err);
    json_decref(args);
    if (st != SC_OK) {
        snprintf(out, sizeof out, "error(%s): %s", sc_status_name(st), err);
        return out;
    }
    char *t = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, sizeof out, "%s", t);
    free(t);
    json_decref(res);
    return out;
}

static void transforms_share_nothing(void **state)
{
    (void)state;
    char dir[] = "/tmp/sc-transforms-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], cwd[200];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(path, sizeof path, "%s/transforms", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    char prelude[256];
    snprintf(prelude, sizeof prelude, "%s/lua/prelude", cwd);
    snprintf(path, sizeof path, "%s/prelude", dir);
    assert_int_equal(symlink(prelude, path), 0);
    snprintf(path, sizeof path, "%s/transforms/t.lua", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("local n = 0\n"
          "total = 0\n"
          "function count() n = n + 1 total = total + 1 return {n = n, total = total} end\n"
          "function replace_trim() trim = function() return 'pwned' end end\n"
          "function replace_pairs() pairs = nil end\n"
          "function edit_sc() sc.json = nil end\n"
          "function edit_string() string.find = nil end\n"
          "function env_mt() return getmetatable(_ENV) end\n"
          "function string_mt() return getmetatable('') end\n"
          "function mark_mt() return getmetatable(sc.array({})) end\n"
          "function raw() rawset(string, 'x', 1) end\n"
          "function still_trims() return trim('  ok  ') end\n"
          "function amount(x) return 'v=' .. 1234567890123.45 .. tostring(x) end\n"
          "function spin() return xpcall(function() while true do end end, function() while true do end end) end\n", f);
    fclose(f);
    char err[512];
    struct sc_lua *l = sc_lua_new(dir, 0, err, sizeof err);
    assert_non_null(l);
    sc_lua_budget(l, SC_LUA_INSTRUCTIONS, 0);
    assert_string_equal(call(l, "t.count"), "{\"n\":1,\"total\":1}");
    assert_string_equal(call(l, "t.count"), "{\"n\":2,\"total\":2}"); /* same execution */
    sc_lua_forget(l); /* the execution ended */
    assert_string_equal(call(l, "t.count"), "{\"n\":1,\"total\":1}");
    sc_lua_forget(l);
    assert_string_equal(call(l, "t.count"), "{\"n\":1,\"total\":1}");
    char want[600];
    snprintf(want, sizeof want, "error(runtime): %s:4: cannot replace 'trim': the prelude and "
             "the libraries are shared by every scenario (use another name)", path);
    assert_string_equal(call(l, "t.replace_trim"), want);
    snprintf(want, sizeof want, "error(runtime): %s:5: cannot replace 'pairs': the prelude and "
             "the libraries are shared by every scenario (use another name)", path);
    assert_string_equal(call(l, "t.replace_pairs"), want);
    snprintf(want, sizeof want, "error(runtime): %s:6: cannot change 'json' of a library: the "
             "libraries are shared by every scenario", path);
    assert_string_equal(call(l, "t.edit_sc"), want);
    snprintf(want, sizeof want, "error(runtime): %s:7: cannot change 'find' of a library: the "
             "libraries are shared by every scenario", path);
    assert_string_equal(call(l, "t.edit_string"), want);
    assert_string_equal(call(l, "t.env_mt"), "false");
    assert_string_equal(call(l, "t.string_mt"), "false");
    assert_string_equal(call(l, "t.mark_mt"), "false");
    snprintf(want, sizeof want, "error(runtime): %s:11: 'rawset' is not available in scenarist "
             "expressions (sandbox)", path);
    assert_string_equal(call(l, "t.raw"), want);
    assert_string_equal(call(l, "t.still_trims"), "\"ok\"");
    assert_string_equal(call(l, "t.amount"), "\"v=1234567890123.45nil\"");
    assert_string_equal(call(l, "t.spin"), "error(limit): Lua instruction limit of 10000000 exceeded");
    sc_lua_budget(l, SC_LUA_INSTRUCTIONS, 0);
    assert_string_equal(call(l, "t.still_trims"), "\"ok\"");
    /* a copy per execution, and memory stays flat over many */
    size_t at[2] = {0, 0};
    sc_lua_forget(l);
    for (int i = 1; i <= 2000; i++) {
        sc_lua_budget(l, SC_LUA_INSTRUCTIONS, 0);
        assert_string_equal(call(l, "t.count"), "{\"n\":1,\"total\":1}");
        sc_lua_forget(l);
        if (i == 200 || i == 2000)
            at[i == 2000] = sc_lua_memory(l);
    }
    assert_true(at[1] <= at[0] + 4096);
    sc_lua_free(l);
    unlink(path);
    snprintf(path, sizeof path, "%s/prelude", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/transforms", dir);
    rmdir(path);
    rmdir(dir);
}


/* A version's own transform files: chosen per scenario, compiled once per text, named
 * transforms/FILE.lua in messages, recorded when used; the disk's come back with NULL. */
static void transform_sets(void **state)
{
    (void)state;
    char err[512];
    json_t *v1 = json_pack("{s:{s:s}, s:{s:s}}", "w.lua", "source",
                           "function f() return 'v1' end", "e.lua", "source",
                           "function boom()\n  error('x')\nend");
    json_t *v2 = json_pack("{s:{s:s}}", "w.lua", "source", "function f() return 'v2' end");
    json_t *bad = json_pack("{s:{s:s}}", "w.lua", "source", "function (");
    sc_lua_budget(lua, SC_LUA_INSTRUCTIONS, 0);
    assert_int_equal(sc_lua_use(lua, v1, err, sizeof err), 0);
    assert_string_equal(call(lua, "w.f"), "\"v1\"");
    assert_false(sc_lua_has_transform(lua, "hr.screening_a")); /* only the version's files */
    assert_string_equal(call(lua, "e.boom"), "error(runtime): transforms/e.lua:2: x");
    json_t *used = sc_lua_used(lua);
    char *t = json_dumps(used, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(t, "{\"e.lua\":\"function boom()\\n  error('x')\\nend\","
                           "\"w.lua\":\"function f() return 'v1' end\"}");
    free(t);
    json_decref(used);
    int k1 = sc_lua_keep(lua);
    assert_true(k1 > 0);
    assert_int_equal(sc_lua_use(lua, v2, err, sizeof err), 0);
    assert_string_equal(call(lua, "w.f"), "\"v2\"");
    used = sc_lua_used(lua);
    assert_int_equal(json_object_size(used), 1);
    json_decref(used);
    int k2 = sc_lua_keep(lua);
    assert_true(k2 > 0 && k2 != k1);
    /* switching between kept versions compiles nothing again: memory stays flat */
    size_t at[2] = {0, 0};
    for (int i = 1; i <= 2000; i++) {
        sc_lua_choose(lua, i % 2 ? k1 : k2);
        assert_string_equal(call(lua, "w.f"), i % 2 ? "\"v1\"" : "\"v2\"");
        sc_lua_forget(lua);
        if (i == 200 || i == 2000)
            at[i == 2000] = sc_lua_memory(lua);
    }
    assert_true(at[1] <= at[0] + 4096);
    assert_null(sc_lua_used(lua)); /* a record belongs to sc_lua_use's choice */
    sc_lua_choose(lua, 0);
    assert_true(sc_lua_has_transform(lua, "hr.screening_a"));
    assert_false(sc_lua_has_transform(lua, "w.f"));
    /* a released version's code goes with the next collection */
    json_t *big = json_object();
    char *text = malloc(200001);
    assert_non_null(text);
    memset(text, 'y', 200000);
    text[200000] = '\0';
    json_object_set_new(big, "b.lua", json_pack("{s:o}", "source", json_sprintf(
                        "big = [[%s]]\nfunction f() return #big end", text)));
    free(text);
    size_t before = sc_lua_memory(lua);
    assert_int_equal(sc_lua_use(lua, big, err, sizeof err), 0);
    int kb = sc_lua_keep(lua);
    assert_true(kb > 0);
    assert_int_equal(sc_lua_use(lua, NULL, err, sizeof err), 0);
    json_decref(big);
    sc_lua_choose(lua, kb);
    assert_string_equal(call(lua, "b.f"), "200000");
    sc_lua_choose(lua, 0);
    sc_lua_forget(lua);
    assert_true(sc_lua_memory(lua) > before + 200000);
    sc_lua_release(lua, kb);
    assert_true(sc_lua_memory(lua) < before + 4096);
    sc_lua_release(lua, k1);
    sc_lua_release(lua, k2);
    assert_int_equal(sc_lua_use(lua, bad, err, sizeof err), -1);
    assert_string_equal(err, "transforms/w.lua:1: <name> expected near '('");
    assert_false(sc_lua_has_transform(lua, "hr.screening_a")); /* nothing, not the disk's */
    int ke = sc_lua_keep(lua); /* what a failed choice leaves: the empty set, not the disk's */
    assert_true(ke > 0);
    sc_lua_release(lua, ke);
    assert_int_equal(sc_lua_use(lua, NULL, err, sizeof err), 0);
    assert_int_equal(sc_lua_keep(lua), 0);
    assert_true(sc_lua_has_transform(lua, "hr.screening_a"));
    assert_string_equal(call(lua, "w.f"), "error(config): no Lua transform 'w.f' (a prelude "
                        "function, or FILE.FUNCTION of lua/transforms/FILE.lua)");
    used = sc_lua_used(lua);
    assert_non_null(json_object_get(used, "hr.lua"));
    assert_int_equal(json_object_size(used), 1);
    json_decref(used);
    json_decref(v1);
    json_decref(v2);
    json_decref(bad);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_os_io_require_debug),
        cmocka_unit_test(no_bytecode),
        cmocka_unit_test(memory_cap),
        cmocka_unit_test(instructions_and_deadline),
        cmocka_unit_test(no_route_around_the_budget),
        cmocka_unit_test(deep_recursion),
        cmocka_unit_test(prelude_and_libraries_cannot_be_changed),
        cmocka_unit_test(bundles_are_read_only),
        cmocka_unit_test(results_must_be_json),
        cmocka_unit_test(results_convert_without_metamethods),
        cmocka_unit_test(transforms_share_nothing),
        cmocka_unit_test(transform_sets),
    };
    return cmocka_run_group_tests_name("sandbox", tests, setup, teardown);
}
