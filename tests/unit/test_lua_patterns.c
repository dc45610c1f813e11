/* The sandbox's own pattern matcher (engine/lua_lib.c) against the reference: each
 * case runs in a stock Lua state of the installed liblua5.4 and in the sandbox, and
 * both must give the same values or the same error. Then the cases that never
 * returned with Lua's matcher: each stops at the instruction budget. */
#include "test.h"

#include "lua_eval.h"
#include "util.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static struct sc_lua *lua;
static lua_State *ref;

static int setup(void **state)
{
    (void)state;
    char err[512];
    lua = sc_lua_new("lua", 0, err, sizeof err);
    ref = luaL_newstate();
    if (!lua || !ref)
        return -1;
    luaL_openlibs(ref);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sc_lua_free(lua);
    lua_close(ref);
    return 0;
}

/* Wraps EXPR so that it gives one text: each result as type:value, or the error. */
static char *wrap(const char *expr)
{
    return sc_asprintf("(function(ok, ...) if not ok then return 'error: ' .. tostring(...) end "
                       "local t, o = table.pack(...), {} for i = 1, t.n do "
                       "o[#o + 1] = type(t[i]) .. ':' .. tostring(t[i]) end "
                       "return table.concat(o, ' ') end)(pcall(function() return %s end))", expr);
}

static const char *reference(const char *expr)
{
    static char out[4096];
    char *code = wrap(expr);
    char *chunk = sc_asprintf("return %s", code);
    if (luaL_loadbufferx(ref, chunk, strlen(chunk), "=expr", "t") != LUA_OK ||
        lua_pcall(ref, 0, 1, 0) != LUA_OK)
        snprintf(out, sizeof out, "compile: %s", lua_tostring(ref, -1));
    else {
        size_t n;
        const char *r = lua_tolstring(ref, -1, &n);
        json_t *v = json_stringn(r, n);
        char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, sizeof out, "%s", txt ? txt : "(not UTF-8)");
        free(txt);
        json_decref(v);
    }
    lua_settop(ref, 0);
    free(code);
    free(chunk);
    return out;
}

static const char *const cases[] = {
    "string.find('hello world', 'o w')",
    "string.find('hello world', 'l+')",
    "string.find('hello', 'l', 1, true)",
    "string.find('a.b', '.', 1, true)",
    "string.find('a+b', '+', 1, true)",
    "string.find('hello', '')",
    "string.find('hello', '', 10)",
    "string.find('hello', '', 6)",
    "string.find('hello', 'lo', -2)",
    "string.find('hello', 'h', -100)",
    "string.find('hello', 'l', 0)",
    "string.find('hello', 'l', math.mininteger)",
    "string.find('hello', 'l', math.maxinteger)",
    "string.match('hello', '.', -1)",
    "table.concat({1, 2}, ',', math.mininteger, math.mininteger + 1)",
    "table.concat({}, ',', math.maxinteger, math.maxinteger - 1)",
    "string.find('abc', '[a-')",
    "string.find('abc', '%')",
    "string.find('abc', '(()')",
    "string.find('abc', '%1')",
    "string.find('abc', 'b)')",
    "string.find('abc', '%f')",
    "string.find('abc', '%b')",
    "string.find('THE (quick) fox', '%((%a+)%)')",
    "string.find('key = value', '(%w+)%s*=%s*(%w+)')",
    "string.find('a\\0b', '\\0')",
    "string.find('a\\0b', '%z')",
    "string.match('  padded  ', '^%s*(.-)%s*$')",
    "string.match('2026-03-08', '(%d+)-(%d+)-(%d+)')",
    "string.match('hello', '()ll()')",
    "string.match('hello', '^(h)(e)')",
    "string.match('hello', 'x')",
    "string.match('hello', '.-')",
    "string.match('hello', '.-$')",
    "string.match('[[x]]', '%[(%b[])%]')",
    "string.match('f(a(b)c)d', '%b()')",
    "string.match('THE (quick) fox', '%f[%a]%a+')",
    "string.match('THE (quick) fox', '%f[%a]%a+%f[%A]', 5)",
    "string.match('abcabc', '(abc)%1')",
    "string.match('x = 1, y = 22', 'y = (%d+)')",
    "string.match('caf\\xc3\\xa9', '[\\x80-\\xff]+')",
    "string.match('a]b', '[]]')",
    "string.match('a-b', '[a-]+')",
    "string.match('a^b', '[%^]')",
    "string.match('^ab', '^^a')",
    "string.match('a$b', 'a$b')",
    "string.match('ab', '[^%a]')",
    "string.match('Ab1_ \\t!', '%u%l%d%p?%s+')",
    "string.match('0x1F', '0[xX](%x+)')",
    "string.match('abc', 'a?b?c?d?')",
    "string.match('aaa', 'a-b')",
    "string.match('aaab', 'a-b')",
    "string.match('aaa', '(a*(.))%w')",
    "string.match('hello', '(h)(e)(l)(l)(o)')",
    "string.match(string.rep('a', 300), string.rep('a?', 300))",
    "string.match(string.rep('a', 150), string.rep('a?', 150))",
    "string.match('x', string.rep('(', 33) .. 'x' .. string.rep(')', 33))",
    "string.match(string.rep('a', 40), string.rep('(a)', 32))",
    "string.find(string.rep('ab', 50), '(ab)%1%1')",
    "string.match('hello', '%w+', 3)",
    "string.match('x', '%g%G')",
    "string.match('\\1x', '%c%C')",
    "string.match('ab', '%W')",
    "string.gsub('hello world', 'o', '0')",
    "string.gsub('hello world', 'o', '0', 1)",
    "string.gsub('hello', '', '-')",
    "string.gsub('abc', '%w', '%0%0')",
    "string.gsub('abc', '(%w)', '[%1]')",
    "string.gsub('abc', '%w', '%1')",
    "string.gsub('abc', '%w', '%2')",
    "string.gsub('abc', '%w', '%x')",
    "string.gsub('abc', '%w', '%%')",
    "string.gsub('hello world', '%w+', {hello = 'HI', world = false})",
    "string.gsub('hello world', '%w+', function(w) return #w end)",
    "string.gsub('hello world', '(%w+) (%w+)', '%2 %1')",
    "string.gsub('abc', '^a', 'x')",
    "string.gsub('aaa', '^a', 'x')",
    "string.gsub('abc', 'b*', '-')",
    "string.gsub('abc', '.', {a = 1, b = true})",
    "string.gsub('abc', '()', '%1')",
    "string.gsub('abc', 'x*$', '!')",
    "string.gsub('one two', '(%w+)', string.upper)",
    "string.gsub('abc', '%w', 1)",
    "string.gsub('abc', '%w')",
    "string.gsub('  a  b  ', '^%s+', '')",
    "(function() local o = {} for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do o[#o+1] = k .. v end return table.concat(o, ';') end)()",
    "(function() local o = {} for w in string.gmatch('one two  three', '%a+') do o[#o+1] = w end return table.concat(o, ';') end)()",
    "(function() local o = {} for w in string.gmatch('abc', '') do o[#o+1] = '[' .. w .. ']' end return table.concat(o) end)()",
    "(function() local o = {} for w in string.gmatch('a,b,,c', '([^,]*)') do o[#o+1] = '[' .. w .. ']' end return table.concat(o) end)()",
    "(function() local o = {} for p in string.gmatch('abc', '()') do o[#o+1] = p end return table.concat(o, ',') end)()",
    "(function() local o = {} for w in string.gmatch('one two three', '%a+', 5) do o[#o+1] = w end return table.concat(o, ';') end)()",
    "(function() local o = {} for w in string.gmatch('^a^a', '^a') do o[#o+1] = w end return table.concat(o, ';') end)()",
    "('x'):rep(3, ', ')",
    "string.rep('ab', 0)",
    "string.rep('ab', -1)",
    "string.rep('', 5, '')",
    "string.rep('ab', 2, '')",
    "table.concat({1, 2, 3}, '-', 2, 3)",
    "table.concat({1, {}, 3})",
    "table.unpack({1, 2, 3}, 2)",
    "(function() local t = {5, 2, 8} table.sort(t) table.insert(t, 1, 0) table.remove(t) return table.concat(t, ',') end)()",
    "(function() local t = table.move({1, 2, 3}, 1, 3, 2) return table.concat(t, ',') end)()",
    "setmetatable(1, {})",
    "getmetatable(setmetatable({}, {__index = {a = 1}})).__index.a",
};

static void same_as_lua(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *code = wrap(cases[i]);
        char want[4096];
        snprintf(want, sizeof want, "%s", reference(cases[i]));
        const char *got = eval(lua, code);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "# %s\n#   lua:     %s\n#   sandbox: %s\n", cases[i], want, got);
            bad++;
        }
        free(code);
    }
    assert_int_equal(bad, 0);
}

static void expect(const char *expr, const char *want)
{
    const char *got = eval(lua, expr);
    if (strcmp(got, want) != 0)
        fail_msg("{{ %s }}\n  want %s\n  got  %s", expr, want, got);
    assert_string_equal(eval(lua, "upper('still fine')"), "\"STILL FINE\"");
}

#define INSTRUCTIONS "error(limit): Lua instruction limit of 10000000 exceeded"

/* What never returned with Lua's matcher now stops at the budget, in every spelling. */
static void backtracking_stops_at_the_budget(void **state)
{
    (void)state;
    expect("string.find(string.rep('a', 3000), '.-.-.-b')", INSTRUCTIONS);
    expect("string.rep('a', 3000):find('.-.-.-b')", INSTRUCTIONS);
    expect("('a'):rep(3000):match('.-.-.-b')", INSTRUCTIONS);
    expect("string.gsub(string.rep('a', 3000), '.-.-.-b', '')", INSTRUCTIONS);
    expect("(function() for x in string.gmatch(string.rep('a', 3000), '.-.-.-b') do end end)()",
           INSTRUCTIONS);
    expect("string.match(string.rep('a', 100000), '(.*)(.*)(.*)b')", INSTRUCTIONS);
    /* pcall cannot catch the stop and go on */
    expect("(function() while true do pcall(string.find, string.rep('a', 3000), '.-.-.-b') end end)()",
           INSTRUCTIONS);
    expect("(function() local ok = pcall(string.find, string.rep('a', 3000), '.-.-.-b') "
           "return string.find('abc', 'b') end)()", INSTRUCTIONS);
    /* a plain find is linear whatever the needle */
    expect("string.find(string.rep('a', 1048576), string.rep('a', 4096) .. 'b', 1, true)", "null");
}

static void c_loops_are_charged(void **state)
{
    (void)state;
    expect("string.rep('', 1 << 62)", "\"\"");
    expect("string.rep('', 1 << 62, '')", "\"\"");
    expect("#string.rep('ab', 1000, ',')", "2999");
    expect("table.move({}, 1, 1 << 50, 2)", INSTRUCTIONS);
    expect("table.concat({}, '', 1, 1 << 50)", INSTRUCTIONS);
    expect("(function() local t = {} for i = 1, 100000 do t[i] = i end "
           "while true do table.insert(t, 1, 0) table.remove(t, 1) end end)()", INSTRUCTIONS);
    expect("(function() local t = {} for i = 1, 100000 do t[i] = -i end "
           "while true do table.sort(t) end end)()", INSTRUCTIONS);
    /* copying big texts in plain Lua: each copy counts its bytes (one per 64) */
    expect("(function() local s = ('x'):rep(1 << 20) for i = 1, 1e9 do local t = s .. i end end)()",
           INSTRUCTIONS);
}

/* Finalizers run with the hooks off: a __gc field is refused however it is given. */
static void no_finalizers(void **state)
{
    (void)state;
    const char *refused = "error(runtime): setmetatable: a __gc finalizer is not allowed (it "
                          "would run outside the sandbox's limits)";
    expect("setmetatable({}, {__gc = function() while true do end end}) and 'x'", refused);
    expect("setmetatable({}, {__gc = true}) and 'x'", refused);
    expect("setmetatable({}, {__gc = false}) and 'x'", refused);
    expect("(function() local mt = {__gc = 1} mt.__gc = function() while true do end end "
           "return setmetatable({}, mt) and 'x' end)()", refused);
    /* One given after setmetatable is never called: Lua marks objects at that time. */
    expect("(function() local mt = {} local t = setmetatable({}, mt) "
           "mt.__gc = function() while true do end end return 'x' end)()", "\"x\"");
    expect("(function() local mt = setmetatable({}, {__index = {__gc = 1}}) "
           "return setmetatable({}, mt) and 'x' end)()", "\"x\"");
    char err[64];
    assert_true(sc_lua_memory(lua) > 0); /* a full collection: no finalizer runs, none hangs */
    (void)err;
    /* __close runs as ordinary code, under the budget */
    expect("(function() local x <close> = setmetatable({}, {__close = function() "
           "while true do end end}) end)()", INSTRUCTIONS);
    expect("(function() local x <close> = setmetatable({}, {__close = function() "
           "while true do end end}) error('first') end)()", INSTRUCTIONS);
    /* collectgarbage is not there to force one either */
    expect("collectgarbage()",
           "error(runtime): 'collectgarbage' is not available in scenarist expressions (sandbox)");
    expect("coroutine", "error(runtime): 'coroutine' is not available in scenarist expressions (sandbox)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_as_lua),
        cmocka_unit_test(backtracking_stops_at_the_budget),
        cmocka_unit_test(c_loops_are_charged),
        cmocka_unit_test(no_finalizers),
    };
    return cmocka_run_group_tests_name("lua_patterns", tests, setup, teardown);
}
