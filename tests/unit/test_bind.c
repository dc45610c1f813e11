/* Binding by offset (engine/run/bind.c): each parameter of a table lands in its struct
 * field with the C type its sc_type gives, defaults included, borrowed from the rendered
 * parameters; a table that does not fit its struct is refused by name. */
#include "test.h"

#include "run/bind.h"

#include <stdbool.h>
#include <stdint.h>

struct with {
    const char *name, *mode;
    json_int_t count;
    double ratio;
    bool on, off;
    int64_t window_ms, bad_window_ms, no_window_ms;
    const json_t *body, *raw, *missing;
};

static const char *const modes[] = {"a", "b", NULL};

static const struct sc_param params[] = {
    {.name = "name", .type = SC_T_STRING, .offset = offsetof(struct with, name)},
    {.name = "mode", .type = SC_T_ENUM, .allowed = modes, .offset = offsetof(struct with, mode)},
    {.name = "count", .type = SC_T_INT, .offset = offsetof(struct with, count)},
    {.name = "ratio", .type = SC_T_NUMBER, .offset = offsetof(struct with, ratio)},
    {.name = "on", .type = SC_T_BOOL, .offset = offsetof(struct with, on)},
    {.name = "off", .type = SC_T_BOOL, .offset = offsetof(struct with, off)},
    {.name = "window", .type = SC_T_DURATION, .offset = offsetof(struct with, window_ms)},
    {.name = "bad_window", .type = SC_T_DURATION, .offset = offsetof(struct with, bad_window_ms)},
    {.name = "no_window", .type = SC_T_DURATION, .offset = offsetof(struct with, no_window_ms)},
    {.name = "body", .type = SC_T_ANY, .offset = offsetof(struct with, body)},
    {.name = "raw", .type = SC_T_STRING, .flags = SC_P_JSON, .offset = offsetof(struct with, raw)},
    {.name = "missing", .type = SC_T_OBJECT, .offset = offsetof(struct with, missing)},
    {0},
};

static void each_type_lands_in_its_field(void **state)
{
    (void)state;
    json_t *with = json_pack("{s:s, s:s, s:i, s:f, s:b, s:b, s:s, s:s, s:{s:i}, s:n}", "name",
                             "Ana", "mode", "b", "count", 42, "ratio", 0.25, "on", 1, "off", 0,
                             "window", "90s", "bad_window", "soon", "body", "id", 7, "raw");
    struct with w;
    char err[256] = "";
    memset(&w, 0x5a, sizeof w); /* everything is written, absent fields too */
    assert_int_equal(sc_bind(params, with, &w, sizeof w, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_string_equal(w.name, "Ana");
    assert_ptr_equal(w.name, json_string_value(json_object_get(with, "name"))); /* borrowed */
    assert_string_equal(w.mode, "b");
    assert_int_equal(w.count, 42);
    assert_true(w.ratio == 0.25);
    assert_true(w.on);
    assert_false(w.off);
    assert_int_equal(w.window_ms, 90000);
    assert_int_equal(w.bad_window_ms, -1);
    assert_int_equal(w.no_window_ms, -1);
    assert_ptr_equal(w.body, json_object_get(with, "body"));
    assert_true(json_is_null(w.raw)); /* SC_P_JSON: the value whatever its type */
    assert_null(w.missing);
    json_decref(with);
}

static void wrong_types_bind_as_empty(void **state)
{
    (void)state;
    json_t *with = json_pack("{s:i, s:s, s:s, s:s, s:i}", "name", 5, "count", "5", "ratio", "x",
                             "on", "true", "window", 60);
    struct with w;
    char err[256];
    assert_int_equal(sc_bind(params, with, &w, sizeof w, err, sizeof err), 0);
    assert_null(w.name);
    assert_int_equal(w.count, 0);
    assert_true(w.ratio == 0);
    assert_false(w.on); /* only JSON true is true */
    assert_int_equal(w.window_ms, -1);
    json_decref(with);
}

static void a_table_outside_its_struct_is_refused(void **state)
{
    (void)state;
    struct small {
        const char *name;
    } s;
    char err[256];
    json_t *with = json_pack("{s:s}", "name", "x");
    assert_int_equal(sc_bind(params, with, &s, sizeof s, err, sizeof err), -1);
    assert_string_equal(err, "parameter 'mode' is bound at offset 8, outside the module's "
                             "8-byte struct");
    json_decref(with);
}

/* Every module with a parameter struct: its whole table fits it. */
static void every_module_table_fits_its_struct(void **state)
{
    (void)state;
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    size_t bound = 0;
    for (size_t i = 0; i < n; i++) {
        if (!all[i]->with_size)
            continue;
        bound++;
        char buf[512], err[256];
        assert_true(all[i]->with_size <= sizeof buf);
        if (sc_bind(all[i]->params, NULL, buf, all[i]->with_size, err, sizeof err) != 0)
            fail_msg("%s: %s", all[i]->name, err);
    }
    assert_int_equal(bound, n - 2); /* router and aggregate: the engine reads their with: */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_type_lands_in_its_field),
        cmocka_unit_test(wrong_types_bind_as_empty),
        cmocka_unit_test(a_table_outside_its_struct_is_refused),
        cmocka_unit_test(every_module_table_fits_its_struct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
