/* The typed scenario definition the validator fills in its one walk: settings,
 * triggers and steps as written, the rest from the format's tables. */
#include "test.h"

#include "model/validate.h"

#include <stdio.h>
#include <stdlib.h>

static struct sc_def *walk(const char *text, struct sc_doc **doc, struct sc_diags *d)
{
    sc_diags_init(d);
    *doc = sc_doc_parse("s.yaml", text, strlen(text), d);
    assert_non_null(*doc);
    struct sc_validator *v = sc_validator_new(NULL, d);
    struct sc_def *def = sc_validate_def(v, *doc);
    sc_validator_free(v);
    return def;
}

static void defaults_come_from_the_tables(void **state)
{
    (void)state;
    struct sc_doc *doc;
    struct sc_diags d;
    struct sc_def *def = walk("name: s\n"
                              "triggers:\n"
                              "  - manual\n"
                              "  - schedule: { cron: \"0 2 * * *\" }\n"
                              "  - poll: { every: 1h, window: 90m, module: set,\n"
                              "            with: { vars: {} }, key: \"{{ item.id }}\" }\n"
                              "steps:\n"
                              "  - { id: a, module: set, with: { vars: { x: 1 } } }\n",
                              &doc, &d);
    assert_non_null(def);
    assert_string_equal(def->name, "s");
    assert_false(def->settings.confidential);
    assert_false(def->settings.sequential);
    assert_int_equal(def->settings.timeout_ms, 3600 * 1000);
    assert_int_equal(def->settings.step_timeout_ms, 300 * 1000);
    assert_int_equal(def->settings.max_bundles, 10000);
    assert_int_equal(def->ntriggers, 3);
    assert_int_equal(def->triggers[0].kind, SC_DEF_MANUAL);
    assert_null(def->triggers[0].conf);
    assert_string_equal(sc_def_kind_name(def->triggers[0].kind), "manual");
    assert_int_equal(def->triggers[1].kind, SC_DEF_SCHEDULE);
    assert_int_equal(def->triggers[1].index, 1);
    assert_string_equal(def->triggers[1].cron, "0 2 * * *");
    assert_null(def->triggers[1].tz);
    assert_true(def->triggers[1].catch_up);
    assert_int_equal(def->triggers[2].kind, SC_DEF_POLL);
    assert_int_equal(def->triggers[2].every_ms, 3600 * 1000);
    assert_int_equal(def->triggers[2].window_ms, 90 * 60 * 1000);
    assert_int_equal(def->triggers[2].skew_ms, 5 * 60 * 1000);
    assert_int_equal(def->nsteps, 1);
    assert_string_equal(def->steps[0].id, "a");
    assert_string_equal(def->steps[0].module, "set");
    assert_non_null(def->steps[0].with);
    assert_null(def->steps[0].filter);
    assert_null(def->steps[0].on_error);
    assert_int_equal(def->steps[0].timeout_ms, 0);
    assert_null(def->on_error);
    sc_def_free(def);
    sc_doc_free(doc);
    sc_diags_free(&d);
}

static void written_values_are_read(void **state)
{
    (void)state;
    struct sc_doc *doc;
    struct sc_diags d;
    struct sc_def *def = walk("name: w\n"
                              "settings: { confidential: true, sequential: true, timeout: 2m,\n"
                              "            step_timeout: 10s, max_bundles: 7 }\n"
                              "triggers:\n"
                              "  - webhook: { path: /hooks/w, priority: realtime,\n"
                              "               dedupe_key: \"{{ trigger.body.id }}\" }\n"
                              "  - schedule: { cron: \"0 2 * * *\", tz: Europe/Paris, catch_up: skip }\n"
                              "steps:\n"
                              "  - id: a\n"
                              "    module: set\n"
                              "    filter: \"{{ trigger.body.ok }}\"\n"
                              "    timeout: 3s\n"
                              "    with: { vars: { x: 1 } }\n"
                              "    on_error: [ ignore ]\n"
                              "on_error: [ { break: { retries: 1 } } ]\n",
                              &doc, &d);
    if (!def)
        sc_diags_print(&d, stderr);
    assert_non_null(def);
    assert_true(def->settings.confidential);
    assert_true(def->settings.sequential);
    assert_int_equal(def->settings.timeout_ms, 120000);
    assert_int_equal(def->settings.step_timeout_ms, 10000);
    assert_int_equal(def->settings.max_bundles, 7);
    assert_int_equal(def->triggers[0].kind, SC_DEF_WEBHOOK);
    assert_string_equal(def->triggers[0].path, "/hooks/w");
    assert_null(def->triggers[0].auth);
    assert_true(def->triggers[0].realtime);
    assert_string_equal(json_string_value(def->triggers[0].dedupe_key), "{{ trigger.body.id }}");
    assert_string_equal(def->triggers[1].tz, "Europe/Paris");
    assert_false(def->triggers[1].catch_up);
    assert_string_equal(json_string_value(def->steps[0].filter), "{{ trigger.body.ok }}");
    assert_int_equal(def->steps[0].timeout_ms, 3000);
    assert_int_equal(json_array_size(def->steps[0].on_error), 1);
    assert_int_equal(json_array_size(def->on_error), 1);
    sc_def_free(def);
    sc_doc_free(doc);
    sc_diags_free(&d);
}

/* A document with errors gives no def; the errors are in the diagnostics. */
static void an_invalid_scenario_gives_none(void **state)
{
    (void)state;
    struct sc_doc *doc;
    struct sc_diags d;
    struct sc_def *def = walk("name: x\n"
                              "triggers: [ manual ]\n"
                              "steps: [ { id: a, module: sett } ]\n", &doc, &d);
    assert_null(def);
    assert_int_equal(d.errors, 1);
    sc_doc_free(doc);
    sc_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_come_from_the_tables),
        cmocka_unit_test(written_values_are_read),
        cmocka_unit_test(an_invalid_scenario_gives_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
