#include "test.h"

#include "lang/diag.h"
#include "util.h"
#include "model/yaml.h"

#include <stdio.h>
#include <stdlib.h>

static struct sc_doc *parse(const char *text, struct sc_diags *d)
{
    sc_diags_init(d);
    return sc_doc_parse("t.yaml", text, strlen(text), d);
}

/* The message of the only diagnostic, checked to be at line:col. */
static const char *only_error(struct sc_diags *d, int line, int col)
{
    assert_int_equal(d->n, 1);
    assert_int_equal(d->v[0].line, line);
    assert_int_equal(d->v[0].col, col);
    return d->v[0].msg;
}

static void scalars_follow_the_yaml_core_schema(void **state)
{
    (void)state;
    struct sc_diags d;
    struct sc_doc *doc = parse("a: ~\nb: null\nc: true\nd: False\ne: 42\nf: -7\ng: 0x1F\n"
                               "h: 0o17\ni: 1.5\nj: 1e3\nk: '42'\nl: \"true\"\nm: 60s\nn:\n"
                               "o: yes\np: 1.10\n",
                               &d);
    assert_non_null(doc);
    assert_int_equal(d.n, 0);
    json_t *r = doc->root;
    assert_true(json_is_null(json_object_get(r, "a")));
    assert_true(json_is_null(json_object_get(r, "b")));
    assert_true(json_is_true(json_object_get(r, "c")));
    assert_true(json_is_false(json_object_get(r, "d")));
    assert_int_equal(json_integer_value(json_object_get(r, "e")), 42);
    assert_int_equal(json_integer_value(json_object_get(r, "f")), -7);
    assert_int_equal(json_integer_value(json_object_get(r, "g")), 31);
    assert_int_equal(json_integer_value(json_object_get(r, "h")), 15);
    assert_true(json_real_value(json_object_get(r, "i")) == 1.5);
    assert_true(json_real_value(json_object_get(r, "j")) == 1000.0);
    assert_string_equal(json_string_value(json_object_get(r, "k")), "42");
    assert_string_equal(json_string_value(json_object_get(r, "l")), "true");
    assert_string_equal(json_string_value(json_object_get(r, "m")), "60s");
    assert_true(json_is_null(json_object_get(r, "n")));
    assert_string_equal(json_string_value(json_object_get(r, "o")), "yes"); /* YAML 1.2: not a bool */
    assert_true(json_real_value(json_object_get(r, "p")) == 1.1);
    sc_doc_free(doc);
    sc_diags_free(&d);
}

static void every_node_has_its_position(void **state)
{
    (void)state;
    struct sc_diags d;
    struct sc_doc *doc = parse("name: x\nsteps:\n  - id: één\n    with: { path: \"/a/{{ b }}\" }\n",
                               &d);
    assert_non_null(doc);
    const struct sc_node_pos *p = sc_doc_pos(doc, "/steps/0/id");
    assert_non_null(p);
    assert_int_equal(p->val.line, 3);
    assert_int_equal(p->val.col, 9);
    assert_int_equal(p->val.len, 3); /* characters, not bytes */
    assert_int_equal(p->key.line, 3);
    assert_int_equal(p->key.col, 5);
    p = sc_doc_pos(doc, "/steps/0/with/path");
    assert_int_equal(p->val.line, 4);
    assert_int_equal(p->val.col, 19);
    assert_int_equal(p->quote, 1);
    assert_true(p->verbatim);
    /* Inside the string: "{{ b }}" starts at byte 3 of the value. */
    struct sc_pos in = sc_doc_pos_in(doc, "/steps/0/with/path", 3, 7);
    assert_int_equal(in.col, 23);
    assert_int_equal(in.len, 7);
    /* A path without its own entry falls back to the nearest ancestor. */
    p = sc_doc_pos(doc, "/steps/0/with/nope/deeper");
    assert_int_equal(p->val.line, 4);
    assert_int_equal(p->key.col, 5);
    sc_doc_free(doc);
    sc_diags_free(&d);
}

static void escaped_strings_point_at_the_scalar(void **state)
{
    (void)state;
    struct sc_diags d;
    struct sc_doc *doc = parse("a: \"x\\ty {{ z }}\"\n", &d);
    assert_non_null(doc);
    const struct sc_node_pos *p = sc_doc_pos(doc, "/a");
    assert_false(p->verbatim);
    struct sc_pos in = sc_doc_pos_in(doc, "/a", 4, 7);
    assert_int_equal(in.col, 4); /* not exact: the scalar's own column */
    sc_doc_free(doc);
    sc_diags_free(&d);
}

static void keys_with_slashes_are_escaped(void **state)
{
    (void)state;
    struct sc_diags d;
    struct sc_doc *doc = parse("paths:\n  /hooks/a~b: 1\n", &d);
    assert_non_null(doc);
    const struct sc_node_pos *p = sc_doc_pos(doc, "/paths/~1hooks~1a~0b");
    assert_non_null(p);
    assert_int_equal(p->val.line, 2);
    assert_int_equal(p->val.col, 15);
    char path[64] = "";
    sc_path_push(path, sizeof path, "a/b~c");
    assert_string_equal(path, "/a~1b~0c");
    sc_doc_free(doc);
    sc_diags_free(&d);
}

static void duplicate_keys_are_errors_and_the_first_wins(void **state)
{
    (void)state;
    struct sc_diags d;
    struct sc_doc *doc = parse("a: 1\nb: {x: 1}\na: {deep: 2}\n", &d);
    assert_non_null(doc);
    assert_string_equal(only_error(&d, 3, 1), "duplicate key 'a' (first defined at line 1)");
    assert_int_equal(json_integer_value(json_object_get(doc->root, "a")), 1);
    assert_int_equal(sc_doc_pos(doc, "/a")->val.line, 1);
    sc_doc_free(doc);
    sc_diags_free(&d);
}

static void syntax_errors_name_the_place(void **state)
{
    (void)state;
    struct sc_diags d;
    assert_null(parse("a: [1, 2\nb: 3\n", &d));
    assert_string_equal(only_error(&d, 2, 2),
                        "the '[' opened at line 1, column 4 is not closed here: a ']' (or a ',' "
                        "between entries) is missing");
    sc_diags_free(&d);
    /* what has no plainer wording keeps the parser's, with the place it started */
    assert_null(parse("a: 'open\n", &d));
    assert_string_equal(only_error(&d, 2, 1),
                        "YAML syntax error: found unexpected end of stream while scanning a "
                        "quoted scalar (started at line 1, column 4)");
    sc_diags_free(&d);
}

static void tabs_get_their_own_message(void **state)
{
    (void)state;
    struct sc_diags d;
    assert_null(parse("a:\n\tb: 1\n", &d));
    assert_string_equal(only_error(&d, 2, 1),
                        "tab character in indentation: YAML indents with spaces only");
    sc_diags_free(&d);
}

static void bad_utf8_is_located(void **state)
{
    (void)state;
    struct sc_diags d;
    assert_null(parse("a: 1\nbé: \"x\xff\"\n", &d));
    assert_string_equal(only_error(&d, 2, 7),
                        "invalid UTF-8 (byte 0xFF): scenario files must be UTF-8 text");
    assert_string_equal(d.v[0].src_line, "bé: \"x?\""); /* shown safely */
    sc_diags_free(&d);
}

static void control_characters_are_refused(void **state)
{
    (void)state;
    struct sc_diags d;
    const char text[] = "a: x\x01y\n";
    assert_null(parse(text, &d));
    assert_string_equal(only_error(&d, 1, 5), "control character U+0001 is not allowed in YAML");
    sc_diags_free(&d);
    sc_diags_init(&d);
    assert_null(sc_doc_parse("t.yaml", "a: x\0y\n", 7, &d));
    assert_int_equal(d.errors, 1);
    sc_diags_free(&d);
}

static void empty_files_and_second_documents(void **state)
{
    (void)state;
    struct sc_diags d;
    assert_null(parse("", &d));
    assert_string_equal(only_error(&d, 0, 1), "file is empty: expected a YAML mapping");
    sc_diags_free(&d);
    assert_null(parse("# only a comment\n\n", &d));
    assert_int_equal(d.errors, 1);
    sc_diags_free(&d);
    assert_null(parse("a: 1\n---\nb: 2\n", &d));
    assert_string_equal(only_error(&d, 2, 1),
                        "a second YAML document: one scenario file holds one document");
    sc_diags_free(&d);
}

static void nesting_is_capped(void **state)
{
    (void)state;
    struct sc_diags d;
    char text[512];
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        text[n++] = '[';
    for (int i = 0; i < 70; i++)
        text[n++] = ']';
    text[n] = '\0';
    assert_null(parse(text, &d));
    assert_string_equal(only_error(&d, 1, 65), "nesting deeper than 64 levels; refusing it");
    sc_diags_free(&d);
}

static void aliases_expand_within_budget(void **state)
{
    (void)state;
    struct sc_diags d;
    struct sc_doc *doc = parse("base: &b {x: 1, y: [1, 2]}\ncopy: *b\n", &d);
    assert_non_null(doc);
    assert_int_equal(d.n, 0);
    assert_true(json_equal(json_object_get(doc->root, "base"), json_object_get(doc->root, "copy")));
    assert_int_equal(sc_doc_pos(doc, "/copy/y/1")->val.line, 2); /* the alias' place */
    sc_doc_free(doc);
    sc_diags_free(&d);
    assert_null(parse("a: *nope\n", &d));
    assert_string_equal(only_error(&d, 1, 4), "alias '*nope' names no anchor defined before it");
    sc_diags_free(&d);
}

static void billion_laughs_is_refused_quickly(void **state)
{
    (void)state;
    struct sc_diags d;
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    assert_null(parse(bomb, &d));
    assert_int_equal(d.errors, 1);
    assert_non_null(strstr(d.v[0].msg, "more than 100000 nodes"));
    assert_int_equal(d.v[0].line, 5); /* e: already expands past the budget */
    sc_diags_free(&d);
}

static void size_cap(void **state)
{
    (void)state;
    struct sc_diags d;
    size_t n = SC_YAML_MAX_BYTES + 1;
    char *big = malloc(n);
    memset(big, '#', n);
    sc_diags_init(&d);
    assert_null(sc_doc_parse("big.yaml", big, n, &d));
    assert_string_equal(only_error(&d, 0, 1), "file is 1048577 bytes; the limit is 1048576 bytes (1 MiB)");
    free(big);
    sc_diags_free(&d);
}

static void non_json_values_are_refused(void **state)
{
    (void)state;
    struct sc_diags d;
    struct sc_doc *doc = parse("a: .inf\nb: 99999999999999999999\nc: !!binary abc\n", &d);
    assert_non_null(doc);
    assert_int_equal(d.errors, 3);
    assert_string_equal(d.v[0].msg, "'.inf' (infinity or NaN) cannot be represented in JSON");
    assert_string_equal(d.v[1].msg, "integer 99999999999999999999 does not fit in 64 bits; "
                                    "quote it to keep it as text");
    assert_string_equal(d.v[2].msg, "YAML tag 'tag:yaml.org,2002:binary' is not supported "
                                    "here; write the plain value");
    sc_doc_free(doc);
    sc_diags_free(&d);
}

static void complex_keys_are_refused(void **state)
{
    (void)state;
    struct sc_diags d;
    assert_null(parse("? [a, b]\n: 1\n", &d));
    assert_string_equal(only_error(&d, 1, 3), "a mapping key must be a plain value, not a list");
    sc_diags_free(&d);
}

static void missing_file(void **state)
{
    (void)state;
    struct sc_diags d;
    sc_diags_init(&d);
    assert_null(sc_doc_load_file("/nonexistent/x.yaml", &d));
    assert_string_equal(only_error(&d, 0, 1), "cannot read: No such file or directory");
    sc_diags_free(&d);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalars_follow_the_yaml_core_schema),
        cmocka_unit_test(every_node_has_its_position),
        cmocka_unit_test(escaped_strings_point_at_the_scalar),
        cmocka_unit_test(keys_with_slashes_are_escaped),
        cmocka_unit_test(duplicate_keys_are_errors_and_the_first_wins),
        cmocka_unit_test(syntax_errors_name_the_place),
        cmocka_unit_test(tabs_get_their_own_message),
        cmocka_unit_test(bad_utf8_is_located),
        cmocka_unit_test(control_characters_are_refused),
        cmocka_unit_test(empty_files_and_second_documents),
        cmocka_unit_test(nesting_is_capped),
        cmocka_unit_test(aliases_expand_within_budget),
        cmocka_unit_test(billion_laughs_is_refused_quickly),
        cmocka_unit_test(size_cap),
        cmocka_unit_test(non_json_values_are_refused),
        cmocka_unit_test(complex_keys_are_refused),
        cmocka_unit_test(missing_file),
    };
    return cmocka_run_group_tests_name("yaml", tests, NULL, NULL);
}
