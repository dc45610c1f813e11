/* The intake's frozen trigger reaches this process's claim as the very object (no deep
 * copy), an unfrozen one as an equal copy; the row still reads back the same. */
#include "test.h"

#include "store/store.h"

#include <stdio.h>
#include <unistd.h>

static void a_frozen_trigger_is_handed_over_uncopied(void **state)
{
    (void)state;
    const char *path = "build/test-handoff.db";
    char err[256], first[64];
    unlink(path);
    unlink("build/test-handoff.db.key");
    struct sc_store *a = sc_store_open(path, NULL, err, sizeof err);
    assert_non_null(a);
    struct sc_store *b = sc_store_open(path, NULL, err, sizeof err);
    assert_non_null(b);
    json_t *t1 = json_pack("{s:s, s:{s:i}}", "kind", "webhook", "body", "n", 1);
    json_t *t2 = json_pack("{s:s, s:{s:i}}", "kind", "webhook", "body", "n", 2);
    struct sc_event_row e1 = {.exec = {.id = "f1", .scenario = "s", .org = "o", .version = "1",
                                       .source = "s.yaml", .trigger = t1, .started_ms = 1000},
                              .frozen = true};
    struct sc_event_row e2 = e1;
    e2.exec.id = "f2";
    e2.exec.trigger = t2;
    e2.frozen = false;
    assert_int_equal(sc_store_enqueue(a, &e1, first, sizeof first), 0);
    assert_int_equal(sc_store_enqueue(a, &e2, first, sizeof first), 0);
    json_t *info;
    assert_int_equal(sc_store_claim_next(b, INT64_MAX, &info), SC_STORE_OK);
    assert_string_equal(json_string_value(json_object_get(info, "id")), "f1");
    assert_ptr_equal(json_object_get(info, "trigger"), t1);
    json_decref(info);
    assert_int_equal(sc_store_claim_next(b, INT64_MAX, &info), SC_STORE_OK);
    assert_string_equal(json_string_value(json_object_get(info, "id")), "f2");
    assert_ptr_not_equal(json_object_get(info, "trigger"), t2);
    assert_true(json_equal(json_object_get(info, "trigger"), t2));
    json_decref(info);
    /* the row is the truth: read back, the frozen one equals what was enqueued */
    info = sc_store_exec_resume_info(a, "f1");
    assert_non_null(info);
    assert_true(json_equal(json_object_get(info, "trigger"), t1));
    json_decref(info);
    json_decref(t1);
    json_decref(t2);
    sc_store_close(b);
    sc_store_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_frozen_trigger_is_handed_over_uncopied),
    };
    return cmocka_run_group_tests_name("handoff", tests, NULL, NULL);
}
