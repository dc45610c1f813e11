/* Context names (sc_lua_set) as expressions see them: the value set last, whether the
 * name was read before or not (their Lua values are made on the first read), unset,
 * null, and more names at once than the state keeps apart. */
#include "test.h"

#include "lua_eval.h"

static void context_names_read_what_was_set_last(void **state)
{
    (void)state;
    char err[512];
    struct sc_lua *lua = sc_lua_new("lua", 0, err, sizeof err);
    assert_non_null(lua);
    json_t *a = json_pack("{s:i}", "n", 1), *b = json_pack("{s:i}", "n", 2);
    assert_string_equal(eval(lua, "trigger"), "null");
    assert_int_equal(sc_lua_set(lua, "trigger", a), 0);
    assert_string_equal(eval(lua, "trigger.n"), "1");
    assert_int_equal(sc_lua_set(lua, "trigger", b), 0); /* after a read */
    assert_string_equal(eval(lua, "trigger.n"), "2");
    assert_int_equal(sc_lua_set(lua, "trigger", a), 0); /* twice before a read */
    assert_int_equal(sc_lua_set(lua, "trigger", b), 0);
    assert_string_equal(eval(lua, "trigger.n + trigger.n"), "4");
    assert_int_equal(sc_lua_set(lua, "trigger", NULL), 0);
    assert_string_equal(eval(lua, "trigger"), "null");
    assert_int_equal(sc_lua_set(lua, "trigger", NULL), 0); /* unset twice */
    json_t *null = json_null(), *text = json_string("x");
    assert_int_equal(sc_lua_set(lua, "vars", null), 0);
    assert_string_equal(eval(lua, "vars"), "null");
    assert_string_equal(eval(lua, "lower('A')"), "\"a\""); /* the prelude still reached */
    assert_int_equal(sc_lua_set(lua, "execution", text), 0);
    assert_string_equal(eval(lua, "execution"), "\"x\"");
    /* more names than kept apart: the rest go into the table at once, and a name set
     * again afterwards still reads its last value */
    char name[16];
    json_t *num[20];
    for (int i = 0; i < 20; i++) {
        num[i] = json_integer(i);
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(sc_lua_set(lua, name, num[i]), 0);
    }
    assert_string_equal(eval(lua, "n0 + n19"), "19");
    assert_int_equal(sc_lua_set(lua, "n19", NULL), 0);
    assert_int_equal(sc_lua_set(lua, "n0", NULL), 0);
    assert_string_equal(eval(lua, "n19"), "null");
    assert_int_equal(sc_lua_set(lua, "n19", num[3]), 0);
    assert_string_equal(eval(lua, "n19 + n1"), "4");
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(sc_lua_set(lua, name, NULL), 0);
        json_decref(num[i]);
    }
    assert_string_equal(eval(lua, "n5"), "null");
    sc_lua_set(lua, "vars", NULL);
    sc_lua_set(lua, "execution", NULL);
    json_decref(a);
    json_decref(b);
    json_decref(null);
    json_decref(text);
    sc_lua_free(lua);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(context_names_read_what_was_set_last),
    };
    return cmocka_run_group_tests_name("lua_ctx", tests, NULL, NULL);
}
