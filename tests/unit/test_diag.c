#include "test.h"

#include "lang/diag.h"

#include <stdio.h>
#include <stdlib.h>

static char *render(struct sc_diags *d)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    sc_diags_print(d, f);
    fclose(f);
    return buf;
}

static void caret_lines_up_under_tabs_and_utf8(void **state)
{
    (void)state;
    const char *text = "a: 1\n\tname: \"héllo\" x\n";
    struct sc_src src = {"f.yaml", text, strlen(text)};
    struct sc_diags d;
    sc_diags_init(&d);
    sc_diag_add(&d, SC_SEV_ERROR, &src, 2, 16, 1, "bad %s", "x");
    char *out = render(&d);
    assert_string_equal(out, "f.yaml:2:16: error: bad x\n"
                             "    2 | \tname: \"héllo\" x\n"
                             "      | \t              ^\n");
    free(out);
    sc_diags_free(&d);
}

static void sorted_by_file_line_column_and_warnings_count_apart(void **state)
{
    (void)state;
    const char *text = "a\nb\nc\n";
    struct sc_src src = {"f.yaml", text, strlen(text)}, g = {"e.yaml", text, strlen(text)};
    struct sc_diags d;
    sc_diags_init(&d);
    sc_diag_add(&d, SC_SEV_ERROR, &src, 3, 1, 0, "third");
    sc_diag_add(&d, SC_SEV_WARNING, &src, 1, 1, 0, "first");
    sc_diag_add(&d, SC_SEV_ERROR, &g, 2, 1, 0, "other file");
    sc_diag_add(&d, SC_SEV_ERROR, NULL, 0, 0, 0, "no file");
    assert_int_equal(d.errors, 3);
    assert_int_equal(d.warnings, 1);
    json_t *j = sc_diags_json(&d);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "[{\"file\":\"-\",\"line\":0,\"column\":0,\"severity\":\"error\",\"message\":\"no file\"},"
                           "{\"file\":\"e.yaml\",\"line\":2,\"column\":1,\"severity\":\"error\",\"message\":\"other file\"},"
                           "{\"file\":\"f.yaml\",\"line\":1,\"column\":1,\"severity\":\"warning\",\"message\":\"first\"},"
                           "{\"file\":\"f.yaml\",\"line\":3,\"column\":1,\"severity\":\"error\",\"message\":\"third\"}]");
    free(s);
    json_decref(j);
    sc_diags_free(&d);
}

static void long_lines_are_cut(void **state)
{
    (void)state;
    char text[600];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    struct sc_src src = {"f.yaml", text, strlen(text)};
    struct sc_diags d;
    sc_diags_init(&d);
    sc_diag_add(&d, SC_SEV_ERROR, &src, 1, 3, 0, "m");
    assert_int_equal(strlen(d.v[0].src_line), 203);
    assert_string_equal(d.v[0].src_line + 200, "...");
    sc_diags_free(&d);
}

static void suggestions(void **state)
{
    (void)state;
    const char *const names[] = {"http.request", "json.parse", "map", "notify", "set"};
    assert_string_equal(sc_suggest("http.requets", names, 5), "http.request");
    assert_string_equal(sc_suggest("notfy", names, 5), "notify");
    assert_string_equal(sc_suggest("MAP", names, 5), "map");
    assert_null(sc_suggest("database", names, 5));
    assert_null(sc_suggest("set", names, 5) ? "exact is no suggestion" : NULL);
    /* one name begins with the other: mapper -> map, http -> http.request */
    assert_string_equal(sc_suggest("mapper", names, 5), "map");
    assert_string_equal(sc_suggest("http", names, 5), "http.request");
    assert_string_equal(sc_suggest("settings", names, 5), "set");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(caret_lines_up_under_tabs_and_utf8),
        cmocka_unit_test(sorted_by_file_line_column_and_warnings_count_apart),
        cmocka_unit_test(long_lines_are_cut),
        cmocka_unit_test(suggestions),
    };
    return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}
