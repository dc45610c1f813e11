/* Expression micro-benchmark: nanoseconds per evaluation of compiled templates over a
 * realistic trigger bundle (a field reference, a mixed template, a prelude call), and
 * of a 10-field map step run by the executor. Prints a Markdown table; medians of
 * RUNS runs. Wall time, on purpose: it is what a worker pays. */
#define _POSIX_C_SOURCE 200809L
#include "run/exec.h"
#include "store/store.h"
#include "lang/tmpl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define RUNS 7

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char *bundle_text =
    "{\"kind\": \"webhook\", \"body\": {\"employee_id\": \"E-1017\", \"event\": \"employee.updated\","
    " \"employee\": {\"id\": \"E-1017\", \"first_name\": \"Ada\", \"last_name\": \"Lovelace\","
    " \"work_email\": \"Ada.Lovelace@Example.COM\", \"title\": \"Staff Engineer\","
    " \"department\": {\"id\": \"D-7\", \"name\": \"Research\"}, \"manager\": {\"id\": \"E-1001\"},"
    " \"hire_date\": \"2019-06-01\", \"location\": \"Chicago\", \"status\": \"active\","
    " \"cost_center\": \"CC-410\", \"phones\": [\"555-0100\", \"555-0199\"]}}}";

static double bench_tmpl(struct sc_lua *lua, const char *text, long iters)
{
    char err[256];
    json_t *v = json_string(text);
    struct sc_tmpl *t = sc_tmpl_compile(lua, v, err, sizeof err);
    if (!t) {
        fprintf(stderr, "bench: %s: %s\n", text, err);
        exit(1);
    }
    double runs[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            enum sc_status st;
            sc_lua_budget(lua, SC_LUA_INSTRUCTIONS, 0);
            json_t *out = sc_tmpl_render(t, lua, &st, err, sizeof err);
            if (!out) {
                fprintf(stderr, "bench: %s: %s\n", text, err);
                exit(1);
            }
            json_decref(out);
        }
        runs[r] = (now_ns() - t0) / (double)iters;
    }
    sc_tmpl_free(t, lua);
    json_decref(v);
    qsort(runs, RUNS, sizeof runs[0], cmp_double);
    return runs[RUNS / 2];
}

static const char *map_scenario =
    "name: bench-map\n"
    "triggers: [ { manual: {} } ]\n"
    "steps:\n"
    "  - id: learner\n"
    "    module: map\n"
    "    with:\n"
    "      source: \"{{ trigger.body.employee }}\"\n"
    "      fields:\n"
    "        - { to: external_id, from: id, required: true }\n"
    "        - { to: email, from: work_email, transform: lower, null: reject }\n"
    "        - { to: first_name, from: first_name }\n"
    "        - { to: last_name, from: last_name }\n"
    "        - { to: job_title, from: title, transform: trim }\n"
    "        - { to: department, from: department.name, null: default, default: Unassigned }\n"
    "        - { to: manager_id, from: manager.id, null: skip }\n"
    "        - { to: hire_date, from: hire_date }\n"
    "        - { to: location, from: location, transform: upper }\n"
    "        - { to: active, value: \"{{ trigger.body.employee.status == 'active' }}\" }\n";

static double bench_map(struct sc_lua *lua, json_t *trigger, long iters, struct sc_store *st)
{
    struct sc_diags d;
    sc_diags_init(&d);
    const char *path = "build/bench-map.yaml";
    FILE *f = fopen(path, "w");
    if (!f || fputs(map_scenario, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    struct sc_scenario *sc = sc_scenario_load(path, NULL, lua, NULL, &d);
    if (!sc) {
        sc_diags_print(&d, stderr);
        exit(1);
    }
    struct sc_runtime rt = {.lua = lua, .store = st};
    char id[64] = "bench";
    struct sc_exec_opts opts = {.id = id};
    double runs[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            if (st) /* a recorded execution needs its own id */
                snprintf(id, sizeof id, "bench-%d-%ld", r, i);
            json_t *rec = sc_exec_run(sc, &rt, trigger, &opts);
            if (!rec || strcmp(json_string_value(json_object_get(rec, "status")), "success")) {
                char *t = rec ? json_dumps(json_object_get(rec, "error"), 0) : NULL;
                fprintf(stderr, "bench: map execution failed: %s\n", t ? t : "out of memory");
                free(t);
                exit(1);
            }
            json_decref(rec);
        }
        runs[r] = (now_ns() - t0) / (double)iters;
    }
    sc_scenario_free(sc);
    sc_diags_free(&d);
    qsort(runs, RUNS, sizeof runs[0], cmp_double);
    return runs[RUNS / 2];
}

/* A text of n bytes: unit repeated. New (free()). */
static char *repeat(const char *unit, size_t n)
{
    char *s = malloc(n + 1);
    size_t u = strlen(unit);
    for (size_t i = 0; s && i < n; i++)
        s[i] = unit[i % u];
    if (s)
        s[n] = '\0';
    return s;
}

/* Each prelude text function over a 1 MiB text, as a step evaluates it (the value
 * comes back as JSON): milliseconds per call, median of RUNS. */
static void bench_text(struct sc_lua *lua)
{
    const size_t mib = 1048576;
    char *spaced = repeat(" ", mib), *mixed = repeat("Ab Cd, Ef", mib), *a = repeat("a", mib),
         *e = repeat("\xc3\xa9,", mib - mib % 3);
    spaced[1000] = 'x';
    spaced[mib - 1000] = 'y';
    json_t *big = json_pack("{s:s,s:s,s:s,s:s,s:s}", "spaced", spaced, "mixed", mixed, "a", a,
                            "e", e, "needle", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
    sc_lua_set(lua, "big", big);
    /* "#" keeps the 1 MiB result in Lua: the row is the function's own cost; the last
     * row adds turning split's 699,050 pieces into a JSON array, as a step would. */
    static const char *const calls[] = {
        "{{ #lower(big.mixed) }}",           "{{ #upper(big.mixed) }}",
        "{{ #upper(big.e) }}",
        "{{ #trim(big.spaced) }}",           "{{ #replace(big.mixed, ', ', ';') }}",
        "{{ #replace(big.a, big.needle, 'x') }}",
        "{{ #substring(big.e, 1000, 600000) }}", "{{ #split(big.mixed, ',') }}",
        "{{ #split(big.e, '') }}",           "{{ length(big.e) }}",
        "{{ startsWith(big.a, big.a) }}",    "{{ endsWith(big.a, big.needle) }}",
        "{{ contains(big.a, big.needle) }}", "{{ split(big.e, '') }}",
    };
    printf("| Prelude text function, 1 MiB input | ms per call (median of %d) |\n", RUNS);
    printf("|---|---:|\n");
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        double ns = bench_tmpl(lua, calls[i], 3);
        printf("| `%s` | %.1f |\n", calls[i], ns / 1e6);
    }
    sc_lua_set(lua, "big", NULL);
    json_decref(big);
    free(spaced);
    free(mixed);
    free(a);
    free(e);
}

int main(int argc, char **argv)
{
    bool text_only = argc > 1 && strcmp(argv[1], "--text") == 0;
    long iters = argc > 1 && !text_only ? atol(argv[1]) : 200000;
    char err[256];
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    if (!lua) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    if (text_only) { /* tools/bench/run prints this table on its own */
        bench_text(lua);
        sc_lua_free(lua);
        return 0;
    }
    json_t *trigger = json_loads(bundle_text, 0, NULL);
    sc_lua_set(lua, "trigger", trigger);
    static const struct {
        const char *what, *text;
    } cases[] = {
        {"field reference", "{{ trigger.body.employee.id }}"},
        {"mixed template", "{{ trigger.body.employee.first_name }} {{ trigger.body.employee.last_name }}"
                           " <{{ trigger.body.employee.work_email }}> ({{ trigger.body.employee_id }})"},
        {"prelude call", "{{ lower(trigger.body.employee.work_email) }}"},
        {"prelude date", "{{ formatDate(trigger.body.employee.hire_date, 'YYYY-MM-DD', 'America/Chicago') }}"},
    };
    printf("| Evaluation | Template | ns per evaluation (median of %d) |\n", RUNS);
    printf("|---|---|---:|\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double ns = bench_tmpl(lua, cases[i].text, iters);
        printf("| %s | `%s` | %.0f |\n", cases[i].what, cases[i].text, ns);
    }
    sc_lua_set(lua, "trigger", NULL);
    double ns = bench_map(lua, trigger, iters / 10, NULL);
    printf("| `map` of 10 fields | one-step execution (plan, context, record included) | %.0f |\n",
           ns);
    const char *db = "build/bench-store.db";
    unlink(db);
    struct sc_store *st = sc_store_open(db, NULL, err, sizeof err);
    if (!st) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    ns = bench_map(lua, trigger, iters / 20, st);
    printf("| `map` of 10 fields, recorded | the same, the execution and its step written to a "
           "store (3 commits, WAL, synchronous=NORMAL) | %.0f |\n", ns);
    sc_store_close(st);
    json_decref(trigger);
    sc_lua_free(lua);
    return 0;
}
