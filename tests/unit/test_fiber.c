/* Fibers (engine/fiber.c): the order of switches, the leave and enter hooks, reuse of a
 * stack, Lua at its deepest on a fiber's stack, and an execution's Lua context parked
 * while another's runs (sc_lua_park, as daemon/workers.c switches them). */
#include "test.h"

#include "fiber.h"
#include "lua_eval.h"
#include "util.h"

static char trail[256];

static void note(const char *s)
{
    size_t n = strlen(trail);
    snprintf(trail + n, sizeof trail - n, "%s%s", n ? " " : "", s);
}

static void twice(void *arg)
{
    const char *name = arg;
    char s[16];
    snprintf(s, sizeof s, "%s1", name);
    note(s);
    assert_true(sc_fiber_yield());
    assert_ptr_not_equal(sc_fiber_current(), NULL);
    snprintf(s, sizeof s, "%s2", name);
    note(s);
}

static void interleave(void **state)
{
    (void)state;
    trail[0] = '\0';
    struct sc_fiber *a = sc_fiber_new(0, twice, "a"), *b = sc_fiber_new(0, twice, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(sc_fiber_current());
    assert_false(sc_fiber_yield()); /* not on a fiber: nothing happens */
    assert_false(sc_fiber_resume(a));
    assert_false(sc_fiber_resume(b));
    sc_fiber_wake(b, true);
    assert_true(sc_fiber_ready(b));
    assert_true(sc_fiber_resume(b));
    assert_false(sc_fiber_ready(b)); /* resuming takes the mark */
    assert_true(sc_fiber_resume(a));
    assert_true(sc_fiber_ended(a));
    assert_true(sc_fiber_resume(a)); /* an ended fiber stays ended */
    assert_string_equal(trail, "a1 b1 b2 a2");
    /* the same stack again */
    assert_true(sc_fiber_reset(a, twice, "c"));
    assert_false(sc_fiber_resume(a));
    assert_false(sc_fiber_reset(a, twice, "d")); /* mid-function: refused */
    assert_true(sc_fiber_resume(a));
    assert_string_equal(trail, "a1 b1 b2 a2 c1 c2");
    sc_fiber_free(a);
    sc_fiber_free(b);
}

static int leaves, enters, refuse;

static int on_leave(void *ud)
{
    (void)ud;
    leaves++;
    if (refuse) {
        note("refused");
        return -1;
    }
    note("leave");
    return 0;
}

static void on_enter(void *ud)
{
    (void)ud;
    enters++;
    note("enter");
}

static void hooked(void *arg)
{
    (void)arg;
    note(sc_fiber_yield() ? "went" : "stayed");
}

static void hooks(void **state)
{
    (void)state;
    trail[0] = '\0';
    struct sc_fiber *f = sc_fiber_new(0, hooked, NULL);
    assert_non_null(f);
    sc_fiber_hooks(f, on_leave, on_enter, NULL);
    assert_false(sc_fiber_resume(f));
    assert_true(sc_fiber_resume(f));
    refuse = 1;
    assert_true(sc_fiber_reset(f, hooked, NULL));
    sc_fiber_hooks(f, on_leave, on_enter, NULL);
    assert_true(sc_fiber_resume(f)); /* refused: it went on in place and ended */
    assert_string_equal(trail, "leave enter went refused stayed");
    assert_int_equal(leaves, 2);
    assert_int_equal(enters, 1);
    sc_fiber_free(f);
}

/* Lua nested to its C-call limit (LUAI_MAXCCALLS, 200: pcall inside pcall) on a fiber's
 * stack: it ends with Lua's own error, not a fault; 150 deep gives its value. */
static const char *deep_out[2];
static struct sc_lua *deep_lua;

static void deep(void *arg)
{
    (void)arg;
    static char a[128], b[256];
    const char *f = "(function() local function f(n) if n == 0 then return 0 end "
                    "local ok, v = pcall(f, n - 1) if not ok then error(v, 0) end "
                    "return v + 1 end return f(%d) end)()";
    char e[400];
    snprintf(e, sizeof e, f, 150);
    snprintf(a, sizeof a, "%s", eval(deep_lua, e));
    snprintf(e, sizeof e, f, 100000);
    snprintf(b, sizeof b, "%s", eval(deep_lua, e));
    deep_out[0] = a;
    deep_out[1] = b;
}

static void lua_deep(void **state)
{
    (void)state;
    char err[512];
    deep_lua = sc_lua_new("lua", 0, err, sizeof err);
    assert_non_null(deep_lua);
    struct sc_fiber *fb = sc_fiber_new(0, deep, NULL);
    assert_non_null(fb);
    assert_true(sc_fiber_resume(fb));
    assert_string_equal(deep_out[0], "150");
    assert_non_null(strstr(deep_out[1], "stack overflow"));
    sc_fiber_free(fb);
    sc_lua_free(deep_lua);
}

/* Two executions' contexts on one state: the parked one comes back whole, its names as
 * they were (one read before the park is a Lua value in its table, one never read is still
 * JSON); the execution between sets neither. */
static void park(void **state)
{
    (void)state;
    char err[512];
    struct sc_lua *lua = sc_lua_new("lua", 0, err, sizeof err);
    assert_non_null(lua);
    json_t *t1 = json_pack("{s:{s:s}}", "body", "id", "E-1");
    json_t *t2 = json_pack("{s:{s:s}}", "body", "id", "E-2");
    assert_int_equal(sc_lua_set(lua, "trigger", t1), 0);
    sc_lua_budget(lua, 1000, 0);
    struct sc_lua_parked p;
    assert_int_equal(sc_lua_park(lua, &p), 0);
    assert_string_equal(eval(lua, "trigger"), "null"); /* fresh for the next one */
    assert_int_equal(sc_lua_set(lua, "trigger", t2), 0);
    assert_string_equal(eval(lua, "trigger.body.id"), "\"E-2\"");
    sc_lua_unpark(lua, &p);
    assert_string_equal(eval(lua, "trigger.body.id"), "\"E-1\"");
    /* set again after its return: the new value, not the one its parked table held */
    assert_int_equal(sc_lua_set(lua, "trigger", t2), 0);
    assert_string_equal(eval(lua, "trigger.body.id"), "\"E-2\"");
    assert_int_equal(sc_lua_set(lua, "trigger", NULL), 0);
    assert_string_equal(eval(lua, "trigger"), "null");
    sc_lua_forget(lua);
    /* a name read before the park and one not */
    json_t *v1 = json_pack("{s:i}", "n", 7);
    assert_int_equal(sc_lua_set(lua, "trigger", t1), 0);
    assert_int_equal(sc_lua_set(lua, "vars", v1), 0);
    assert_string_equal(eval(lua, "trigger.body.id"), "\"E-1\"");
    assert_int_equal(sc_lua_park(lua, &p), 0);
    assert_string_equal(eval(lua, "vars"), "null");
    assert_int_equal(sc_lua_set(lua, "trigger", t2), 0);
    assert_string_equal(eval(lua, "trigger.body.id"), "\"E-2\"");
    sc_lua_unpark(lua, &p);
    assert_string_equal(eval(lua, "trigger.body.id"), "\"E-1\"");
    assert_string_equal(eval(lua, "vars.n"), "7");
    assert_int_equal(sc_lua_set(lua, "vars", NULL), 0); /* unset after its return */
    assert_string_equal(eval(lua, "vars"), "null");
    sc_lua_forget(lua);
    json_decref(t1);
    json_decref(t2);
    json_decref(v1);
    sc_lua_free(lua);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interleave),
        cmocka_unit_test(hooks),
        cmocka_unit_test(lua_deep),
        cmocka_unit_test(park),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
