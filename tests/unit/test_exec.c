/* The executor without HTTP traffic: run-time refusal of writes to a read-only
 * connection, and an allocation-failure sweep over a whole execution (plan built
 * once; every allocation of the run made to fail in turn). */
#include "test.h"

#include "clock.h"
#include "model/org_load.h"
#include "run/exec.h"
#include "store/store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *org_text =
    "name: t\n"
    "connections:\n"
    "  hris: { base_url: http://127.0.0.1:1/hris, access: read-only }\n"
    "  ops: { base_url: http://127.0.0.1:1/ops }\n";

/* Writes text to path under build/; returns the path (static). */
static const char *write_file(const char *name, const char *text)
{
    static char path[4][256];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 256, "build/test-exec-%s", name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

struct fixture {
    struct sc_org *org;
    struct sc_lua *lua;
    struct sc_scenario *sc;
    struct sc_diags d;
};

static void open_fixture(struct fixture *fx, const char *scenario, bool check_org)
{
    char err[256];
    sc_diags_init(&fx->d);
    fx->org = sc_org_load(write_file("org.yaml", org_text), &fx->d);
    assert_non_null(fx->org);
    fx->lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    assert_non_null(fx->lua);
    fx->sc = sc_scenario_load(write_file("s.yaml", scenario), check_org ? fx->org : NULL,
                              fx->lua, NULL, &fx->d);
    if (!fx->sc)
        sc_diags_print(&fx->d, stderr);
    assert_non_null(fx->sc);
}

static void close_fixture(struct fixture *fx)
{
    sc_scenario_free(fx->sc);
    sc_lua_free(fx->lua);
    sc_org_free(fx->org);
    sc_diags_free(&fx->d);
}

/* Loaded without the org (as before an org changed), run with it: the engine still
 * refuses, and nothing is sent (the base URL would give a connection error). */
static void readonly_write_is_refused_at_run_time(void **state)
{
    (void)state;
    struct fixture fx;
    open_fixture(&fx,
                 "name: w\n"
                 "triggers: [ { manual: {} } ]\n"
                 "steps:\n"
                 "  - id: put\n"
                 "    module: http.request\n"
                 "    with: { connection: hris, method: PUT, path: /e/1, json: { a: 1 } }\n",
                 false);
    struct sc_http *http = sc_http_new();
    struct sc_runtime rt = {.lua = fx.lua, .http = http, .org = fx.org};
    json_t *trigger = json_pack("{s:{}}", "body");
    json_t *rec = sc_exec_run(fx.sc, &rt, trigger, NULL);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "error");
    json_t *err = json_object_get(rec, "error");
    assert_string_equal(json_string_value(json_object_get(err, "kind")), "data");
    assert_string_equal(json_string_value(json_object_get(err, "message")),
                        "PUT refused: connection 'hris' is read-only in org 't' (nothing was sent)");
    json_decref(rec);
    json_decref(trigger);
    sc_http_free(http);
    close_fixture(&fx);
}

static const char *sweep_scenario =
    "name: sweep\n"
    "triggers: [ { manual: {} } ]\n"
    "steps:\n"
    "  - id: v\n"
    "    module: set\n"
    "    with: { vars: { label: \"n={{ length(trigger.body.people) }}\" } }\n"
    "  - id: person\n"
    "    module: iterator\n"
    "    with: { array: \"{{ trigger.body.people }}\" }\n"
    "  - id: m\n"
    "    module: map\n"
    "    filter: \"{{ steps.person.active }}\"\n"
    "    with:\n"
    "      source: \"{{ steps.person }}\"\n"
    "      fields:\n"
    "        - { to: email, from: email, transform: lower, null: reject }\n"
    "        - { to: dept.name, from: dept, null: default, default: none }\n"
    "        - { to: label, value: \"{{ vars.label }}\" }\n"
    "  - id: all\n"
    "    module: aggregate\n"
    "    with: { source: person, value: \"{{ steps.m }}\" }\n"
    "  - id: text\n"
    "    module: json.stringify\n"
    "    with: { value: \"{{ steps.all }}\" }\n"
    "  - id: back\n"
    "    module: json.parse\n"
    "    with: { text: \"{{ steps.text }}\" }\n"
    "  - id: r\n"
    "    module: router\n"
    "    with:\n"
    "      routes:\n"
    "        - name: some\n"
    "          filter: \"{{ length(steps.back) > 0 }}\"\n"
    "          steps:\n"
    "            - { id: bad, module: json.parse, with: { text: \"[1,\" },\n"
    "                on_error: [ { resume: { output: { fixed: true } } } ] }\n"
    "            - { id: after, module: set, with: { vars: { ok: \"{{ steps.bad.fixed }}\" } } }\n"
    "      fallback:\n"
    "        - { id: none, module: set, with: { vars: { empty: true } } }\n";

static void every_allocation_failure_in_a_run_ends_cleanly(void **state)
{
    (void)state;
    struct fixture fx;
    open_fixture(&fx, sweep_scenario, true);
    struct sc_runtime rt = {.lua = fx.lua, .org = fx.org};
    json_t *trigger = json_loads("{\"body\": {\"people\": [{\"email\": \"A@X\", \"active\": true},"
                                 "{\"email\": \"b@x\", \"active\": false, \"dept\": \"Fin\"},"
                                 "{\"email\": \"C@X\", \"active\": true, \"dept\": \"Ops\"}]}}",
                                 0, NULL);
    sc_clock_use_test(1772956740000); /* fixed times and ids: records compare equal */
    struct sc_exec_opts opts = {.id = "ex-1"};
    json_t *baseline = sc_exec_run(fx.sc, &rt, trigger, &opts), *rec;
    assert_string_equal(json_string_value(json_object_get(baseline, "status")), "success");
    assert_int_equal(json_array_size(json_object_get(baseline, "steps")), 12);
    long n;
    for (n = 0; n < 200000; n++) {
        sc_alloc_fail_after(n);
        rec = sc_exec_run(fx.sc, &rt, trigger, &opts);
        bool refused = sc_alloc_refused();
        sc_alloc_fail_after(-1);
        /* A lost allocation gives an error, or (a shrink Lua kept, say) the same record. */
        if (rec && refused && !strcmp(json_string_value(json_object_get(rec, "status")), "success"))
        {
            if (!json_equal(rec, baseline)) {
                char *a = json_dumps(rec, JSON_COMPACT), *b = json_dumps(baseline, JSON_COMPACT);
                fprintf(stderr, "# n=%ld\n# got  %s\n# want %s\n", n, a, b);
                free(a);
                free(b);
            }
            assert_true(json_equal(rec, baseline));
        }
        json_decref(rec);
        if (!refused)
            break;
    }
    fprintf(stderr, "# swept %ld allocation points of one execution\n", n);
    assert_true(n > 200);
    assert_true(n < 200000);
    /* The engine is healthy after the sweep: the same run succeeds. */
    rec = sc_exec_run(fx.sc, &rt, trigger, &opts);
    assert_true(json_equal(rec, baseline));
    json_decref(rec);
    json_decref(baseline);
    json_decref(trigger);
    close_fixture(&fx);
}

/* The same sweep with a store: every step is recorded as it ends, so each lost
 * allocation also meets the recording paths. The run fails cleanly or succeeds, and the
 * store stays usable: a run after the sweep is recorded whole. */
static void every_allocation_failure_in_a_stored_run_ends_cleanly(void **state)
{
    (void)state;
    struct fixture fx;
    open_fixture(&fx, sweep_scenario, true);
    char err[256];
    unlink("build/test-exec-store.db");
    struct sc_store *st = sc_store_open("build/test-exec-store.db", NULL, err, sizeof err);
    assert_non_null(st);
    struct sc_runtime rt = {.lua = fx.lua, .org = fx.org, .store = st};
    json_t *trigger = json_loads("{\"body\": {\"people\": [{\"email\": \"A@X\", \"active\": true},"
                                 "{\"email\": \"C@X\", \"active\": true}]}}", 0, NULL);
    sc_clock_use_test(1772956740000);
    long n;
    for (n = 0; n < 200000; n++) {
        char id[32];
        snprintf(id, sizeof id, "sweep-%ld", n);
        struct sc_exec_opts opts = {.id = id};
        sc_alloc_fail_after(n);
        json_t *rec = sc_exec_run(fx.sc, &rt, trigger, &opts);
        bool refused = sc_alloc_refused();
        sc_alloc_fail_after(-1);
        json_decref(rec);
        if (!refused)
            break;
    }
    fprintf(stderr, "# swept %ld allocation points of a recorded execution\n", n);
    assert_true(n > 200);
    struct sc_exec_opts opts = {.id = "after"};
    json_t *rec = sc_exec_run(fx.sc, &rt, trigger, &opts);
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "success");
    json_t *view = sc_store_exec_get(st, "after");
    assert_non_null(view);
    assert_string_equal(json_string_value(json_object_get(view, "status")), "success");
    assert_int_equal(json_array_size(json_object_get(view, "steps")),
                     json_array_size(json_object_get(rec, "steps")));
    json_decref(view);
    json_decref(rec);
    json_decref(trigger);
    sc_store_close(st);
    close_fixture(&fx);
}

/* A worker runs executions for days: its Lua memory must not grow with their number. */
/* Lua memory after full collections until it stops shrinking: one collection halves the
 * string table at most once, so a single one leaves a size that depends on GC timing. */
static size_t settled_memory(struct sc_lua *lua)
{
    size_t m = sc_lua_memory(lua), prev = 0;
    for (int i = 0; i < 16 && m != prev; i++) {
        prev = m;
        m = sc_lua_memory(lua);
    }
    return m;
}

static void lua_memory_stays_flat_over_many_executions(void **state)
{
    (void)state;
    struct fixture fx;
    open_fixture(&fx, sweep_scenario, true);
    struct sc_runtime rt = {.lua = fx.lua, .org = fx.org};
    json_t *trigger = json_loads("{\"body\": {\"people\": [{\"email\": \"A@X\", \"active\": true}]}}",
                                 0, NULL);
    size_t at[2] = {0, 0};
    for (int i = 1; i <= 3000; i++) {
        char id[32];
        snprintf(id, sizeof id, "m-%d", i); /* new ids: new strings and objects each time */
        struct sc_exec_opts opts = {.id = id};
        json_decref(sc_exec_run(fx.sc, &rt, trigger, &opts));
        if (i == 300 || i == 3000)
            at[i == 3000] = settled_memory(fx.lua);
    }
    fprintf(stderr, "# Lua memory after 300 executions %zu, after 3000 %zu\n", at[0], at[1]);
    assert_true(at[1] < at[0] + 4096);
    json_decref(trigger);
    close_fixture(&fx);
}

/* Creating the sandbox (libraries, prelude files, proxies' metatables) and compiling
 * a scenario into it: every allocation made to fail in turn gives a clean error. */
static void every_allocation_failure_in_setup_ends_cleanly(void **state)
{
    (void)state;
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *org = sc_org_load(write_file("org.yaml", org_text), &d);
    const char *path = write_file("sweep.yaml", sweep_scenario);
    assert_non_null(org);
    long n;
    for (n = 0; n < 200000; n++) {
        char err[256] = "";
        sc_alloc_fail_after(n);
        struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
        struct sc_diags ld;
        sc_diags_init(&ld);
        struct sc_scenario *sc = lua ? sc_scenario_load(path, org, lua, NULL, &ld) : NULL;
        bool refused = sc_alloc_refused();
        sc_alloc_fail_after(-1);
        if (!lua)
            assert_true(err[0] != '\0'); /* said why */
        else if (!sc)
            assert_true(ld.errors > 0);
        sc_scenario_free(sc);
        sc_lua_free(lua);
        sc_diags_free(&ld);
        if (!refused)
            break;
    }
    fprintf(stderr, "# swept %ld allocation points of a sandbox start and a scenario load\n", n);
    assert_true(n > 1000);
    assert_true(n < 200000);
    sc_org_free(org);
    sc_diags_free(&d);
}

/* Which scenarios a worker may compute in a batch (writes deferred, one commit for many):
 * local ones, and those whose only outside steps are plain reads (sc_scenario_reads): a
 * GET or HEAD, unpaged, through a connection without a throttle. A write, a page walk, a
 * throttled connection or a notify in an error route keeps an execution on its own. */
static void plain_reads_run_in_a_batch(void **state)
{
    (void)state;
    static const struct {
        const char *with, *route;
        bool reads;
    } cases[] = {
        {"{ connection: hris, method: GET, path: /e/1 }", "", true},
        {"{ connection: hris, path: /e/1 }", "", true}, /* GET by default */
        {"{ connection: hris, method: HEAD, path: /e/1 }", "", true},
        {"{ connection: ops, method: POST, path: /e, json: { a: 1 } }", "", false},
        {"{ connection: ops, method: DELETE, path: /e/1 }", "", false},
        {"{ connection: hris, method: GET, path: /e, paginate: { style: link, items: items } }",
         "", false},
        {"{ connection: slow, method: GET, path: /e/1 }", "", false},
        {"{ connection: hris, method: GET, path: /e/1 }",
         "on_error:\n  - notify: { connection: ops, text: failed }\n  - break: {}\n", false},
    };
    const char *org =
        "name: t\n"
        "connections:\n"
        "  hris: { base_url: http://127.0.0.1:1/hris, access: read-only }\n"
        "  ops: { base_url: http://127.0.0.1:1/ops }\n"
        "  slow: { base_url: http://127.0.0.1:1/slow, rate: { requests: 5, per: 1s } }\n";
    char err[256];
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *o = sc_org_load(write_file("org-reads.yaml", org), &d);
    assert_non_null(o);
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    assert_non_null(lua);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "name: r\ntriggers: [ { manual: {} } ]\nsteps:\n  - id: get\n"
                 "    module: http.request\n    with: %s\n%s", cases[i].with, cases[i].route);
        struct sc_scenario *sc = sc_scenario_load(write_file("reads.yaml", text), o, lua, NULL, &d);
        if (!sc)
            sc_diags_print(&d, stderr);
        assert_non_null(sc);
        if (sc_scenario_reads(sc) != cases[i].reads)
            fail_msg("case %zu (%s): reads %d", i, cases[i].with, sc_scenario_reads(sc));
        assert_false(sc_scenario_local(sc));
        sc_scenario_free(sc);
    }
    struct sc_scenario *sc = sc_scenario_load(
        write_file("local.yaml", "name: l\ntriggers: [ { manual: {} } ]\nsteps:\n"
                                 "  - id: s\n    module: set\n    with: { vars: { a: 1 } }\n"),
        o, lua, NULL, &d);
    assert_non_null(sc);
    assert_true(sc_scenario_local(sc)); /* local: batched as before, not counted as reads */
    assert_false(sc_scenario_reads(sc));
    sc_scenario_free(sc);
    sc_lua_free(lua);
    sc_org_free(o);
    sc_diags_free(&d);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readonly_write_is_refused_at_run_time),
        cmocka_unit_test(plain_reads_run_in_a_batch),
        cmocka_unit_test(every_allocation_failure_in_a_run_ends_cleanly),
        cmocka_unit_test(every_allocation_failure_in_a_stored_run_ends_cleanly),
        cmocka_unit_test(lua_memory_stays_flat_over_many_executions),
        cmocka_unit_test(every_allocation_failure_in_setup_ends_cleanly),
    };
    return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
