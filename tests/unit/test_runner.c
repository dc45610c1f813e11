/* The runner's one loop over stored executions, shared by the daemon's workers and
 * `scenarist resume`: executions a stopped process left running are resumed in order,
 * each asked for first (go) and reported after (done); go saying no stops the loop and
 * leaves the rest for the next pass. Due retries go through the same loop. Real SQLite,
 * the test clock. */
#include "test.h"

#include "clock.h"
#include "lang/diag.h"
#include "lang/lua.h"
#include "run/exec.h"
#include "run/runner.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1772956740000LL /* 2026-03-08T07:59:00Z */
#define SRC "build/test-runner-loop.yaml"

static const char *scenario_text =
    "name: loop\n"
    "triggers:\n"
    "  - manual: {}\n"
    "steps:\n"
    "  - id: a\n"
    "    module: set\n"
    "    with: { vars: { twice: \"{{ trigger.body.n * 2 }}\" } }\n";

/* What the loop did, as "go a; done a success; ..." */
struct trace {
    char text[512];
    const char *stop_at; /* go says no to this id */
};

static bool trace_go(void *data, const char *id)
{
    struct trace *t = data;
    snprintf(t->text + strlen(t->text), sizeof t->text - strlen(t->text), "go %s; ", id);
    return !t->stop_at || strcmp(id, t->stop_at) != 0;
}

static void trace_done(void *data, const char *id, json_t *rec, const char *err)
{
    struct trace *t = data;
    snprintf(t->text + strlen(t->text), sizeof t->text - strlen(t->text), "done %s %s; ", id,
             rec ? json_string_value(json_object_get(rec, "status")) : err);
}

static void begin(struct sc_store *st, const char *id, int n)
{
    json_t *trigger = json_pack("{s:{s:i}}", "body", "n", n);
    struct sc_exec_row row = {.id = id, .scenario = "loop", .org = "o", .version = "draft",
                              .source = SRC, .trigger = trigger,
                              .started_ms = sc_clock_now_ms()};
    assert_int_equal(sc_store_exec_begin(st, &row), 0);
    sc_store_exec_release(id); /* as a process that stopped: its lease lapses */
    json_decref(trigger);
}

static void abandoned_are_resumed_in_order_until_go_says_no(void **state)
{
    (void)state;
    const char *path = "build/test-runner-loop.db";
    char err[256], other[300];
    unlink(path);
    snprintf(other, sizeof other, "%s-wal", path);
    unlink(other);
    sc_clock_use_test(T0);
    struct sc_store *st = sc_store_open(path, NULL, err, sizeof err);
    assert_non_null(st);
    FILE *f = fopen(SRC, "w");
    assert_non_null(f);
    fputs(scenario_text, f);
    fclose(f);
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    assert_non_null(lua);
    struct sc_runtime rt = {.lua = lua, .store = st};
    struct sc_runner *rn = sc_runner_new(&rt);
    assert_non_null(rn);
    struct sc_diags d;
    sc_diags_init(&d);

    begin(st, "ex-a", 1);
    begin(st, "ex-b", 2);
    begin(st, "ex-c", 3);
    struct trace t = {.stop_at = "ex-c"};
    struct sc_runner_each e = {.go = trace_go, .done = trace_done, .data = &t};
    assert_int_equal(sc_runner_resume(rn, &d, &e), 0); /* their leases last 30 s */
    assert_string_equal(t.text, "");

    sc_clock_advance_ms(30000);
    assert_int_equal(sc_runner_resume(rn, &d, &e), 2);
    assert_string_equal(t.text, "go ex-a; done ex-a success; go ex-b; done ex-b success; go ex-c; ");
    json_t *v = sc_store_exec_get(st, "ex-b");
    assert_string_equal(json_string_value(json_object_get(v, "status")), "success");
    assert_int_equal(json_integer_value(json_object_get(v, "attempts")), 1); /* a crash is no try */
    json_decref(v);
    v = sc_store_exec_get(st, "ex-c"); /* left for the next pass */
    assert_string_equal(json_string_value(json_object_get(v, "status")), "running");
    json_decref(v);

    t = (struct trace){0};
    e.go = NULL; /* none: every one */
    assert_int_equal(sc_runner_resume(rn, &d, &e), 1);
    assert_string_equal(t.text, "done ex-c success; ");
    assert_int_equal(sc_runner_resume(rn, &d, &e), 0);
    assert_int_equal(sc_runner_retries(rn, sc_clock_now_ms(), &d, &e), 0); /* none is due */
    assert_string_equal(t.text, "done ex-c success; ");
    assert_int_equal(d.errors, 0);

    sc_diags_free(&d);
    sc_runner_free(rn);
    sc_lua_free(lua);
    sc_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(abandoned_are_resumed_in_order_until_go_says_no),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
