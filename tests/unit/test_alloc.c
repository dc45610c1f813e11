/* Fails the Nth allocation for every N through an org load and a scenario validation:
 * each run must end cleanly (valid, or an error reported), never crash or leak. */
#include "test.h"

#include "model/org_load.h"
#include "util.h"
#include "model/validate.h"
#include "model/yaml.h"

#include <stdio.h>
#include <stdlib.h>

static const char *org_text =
    "name: t\n"
    "timezone: America/Chicago\n"
    "connections:\n"
    "  hris: { base_url: http://127.0.0.1:1/hris, access: read-only,\n"
    "          auth: { kind: bearer, secret: env:HRIS_TOKEN } }\n"
    "  lms: { base_url: http://127.0.0.1:1/lms }\n"
    "  ops: { base_url: http://127.0.0.1:1/ops }\n"
    "webhooks:\n"
    "  sig: { scheme: standard-webhooks, secret: env:SIG }\n";

static const char *scenario_text =
    "name: s\n"
    "triggers:\n"
    "  - webhook: { path: /hooks/a, auth: sig, priority: realtime }\n"
    "  - schedule: { cron: \"0 2 * * *\", tz: America/Chicago }\n"
    "steps:\n"
    "  - id: a\n"
    "    module: http.request\n"
    "    with: { connection: hris, path: \"/e/{{ trigger.body.id }}\" }\n"
    "  - id: b\n"
    "    module: map\n"
    "    with:\n"
    "      source: \"{{ steps.a.body }}\"\n"
    "      fields:\n"
    "        - { to: x, from: y, null: default, default: z }\n"
    "  - id: r\n"
    "    module: router\n"
    "    with:\n"
    "      routes:\n"
    "        - name: one\n"
    "          filter: \"{{ steps.b.x == 'z' }}\"\n"
    "          steps:\n"
    "            - { id: c, module: http.request, with: { connection: lms, method: PUT,\n"
    "                path: /l, json: \"{{ steps.b }}\" } }\n"
    "on_error:\n"
    "  - notify: { connection: ops, text: \"failed {{ error.message }}\" }\n"
    "  - break: { retries: 2, interval: 60s }\n";

static int run_once(void)
{
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *org = sc_org_load("build/alloc-org.yaml", &d);
    if (org) {
        struct sc_validator *v = sc_validator_new(org, &d);
        struct sc_doc *doc = v ? sc_doc_parse("s.yaml", scenario_text, strlen(scenario_text), &d)
                               : NULL;
        if (doc)
            sc_validate_doc(v, doc);
        if (v && !doc && d.errors == 0)
            d.errors++; /* a NULL doc always comes with an error; count it if its record failed */
        sc_doc_free(doc);
        sc_validator_free(v);
        sc_org_free(org);
    } else if (d.errors == 0) {
        d.errors++;
    }
    int errors = (int)d.errors;
    sc_diags_free(&d);
    return errors;
}

static void every_allocation_failure_ends_cleanly(void **state)
{
    (void)state;
    /* written once: rewritten per run, ext4 flushes the replaced file at each close */
    FILE *f = fopen("build/alloc-org.yaml", "w");
    assert_non_null(f);
    fputs(org_text, f);
    fclose(f);
    sc_alloc_fail_after(-1);
    assert_int_equal(run_once(), 0); /* the inputs are valid */
    long n;
    for (n = 0; n < 100000; n++) {
        sc_alloc_fail_after(n);
        int errors = run_once();
        bool refused = sc_alloc_refused();
        sc_alloc_fail_after(-1);
        if (!refused) {
            assert_int_equal(errors, 0);
            break; /* the whole run fitted in n allocations: every failure point was tried */
        }
    }
    fprintf(stderr, "# swept %ld allocation points\n", n);
    assert_true(n > 300); /* the sweep really went through the loader and validator */
    assert_true(n < 100000);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_failure_ends_cleanly),
    };
    return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
