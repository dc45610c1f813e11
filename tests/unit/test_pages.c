/* The pure parts of the page iterator (engine/run/pages.c): the Link header read by
 * relation (RFC 8288 section 3), and the dotted paths into a page's body. */
#include "test.h"

#include "run/pages.h"

#include <stdio.h>
#include <stdlib.h>

static void link_header(void **state)
{
    (void)state;
    static const struct {
        const char *header, *rel, *want; /* header: JSON (a string or an array of them) */
    } cases[] = {
        {"\"<https://h/e?page=2>; rel=\\\"next\\\", <https://h/e?page=9>; rel=\\\"last\\\"\"",
         "next", "https://h/e?page=2"},
        {"\"<https://h/e?page=2>; rel=\\\"next\\\", <https://h/e?page=9>; rel=\\\"last\\\"\"",
         "last", "https://h/e?page=9"},
        {"\"<https://h/e?page=2>; rel=next\"", "prev", NULL},
        /* several relation types in one rel, compared without case */
        {"\"</e?page=3>; rel=\\\"last NEXT\\\"\"", "next", "/e?page=3"},
        /* a comma and a semicolon inside the target or a quoted parameter */
        {"\"</e?ids=1,2;x>; title=\\\"a, b; rel=next\\\"; rel=prev, </e?n>; rel=next\"", "next",
         "/e?n"},
        {"\"</e?ids=1,2;x>; title=\\\"a, b; rel=next\\\"; rel=prev, </e?n>; rel=next\"", "prev",
         "/e?ids=1,2;x"},
        /* an escaped quote inside a quoted value */
        {"\"<a>; title=\\\"say \\\\\\\"hi\\\\\\\"\\\"; rel=next\"", "next", "a"},
        /* only the first rel counts (8288 3.3) */
        {"\"<a>; rel=\\\"next\\\"; rel=\\\"prev\\\"\"", "prev", NULL},
        {"\"<a>; rel=next, <b>; rel=next\"", "next", "a"},
        /* a header that came twice: an array of its values, in order */
        {"[\"</e?page=9>; rel=last\", \"</e?page=2>; rel=next\"]", "next", "/e?page=2"},
        /* malformed links are passed over */
        {"\"garbage, <ok>; rel=next\"", "next", "ok"},
        {"\"<unclosed; rel=next\"", "next", NULL},
        {"\"<a>; rel\"", "next", NULL},
        {"\"<a>; relx=next\"", "next", NULL},
        {"\"\"", "next", NULL},
        {"null", "next", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *h = json_loads(cases[i].header, JSON_DECODE_ANY, NULL);
        assert_non_null(h);
        char *got = sc_pages_link(h, cases[i].rel);
        if ((got == NULL) != (cases[i].want == NULL) ||
            (got && strcmp(got, cases[i].want)))
            fail_msg("Link: %s (rel %s)\n  want %s\n  got  %s", cases[i].header, cases[i].rel,
                     cases[i].want ? cases[i].want : "none", got ? got : "none");
        free(got);
        json_decref(h);
    }
}

static void body_paths(void **state)
{
    (void)state;
    json_t *b = json_loads("{\"data\": {\"items\": [1, 2]}, \"links\": [{\"href\": \"/n\"}],"
                           " \"a.b\": 1, \"meta\": {\"next\": null}}", 0, NULL);
    static const struct {
        const char *path, *want; /* want: JSON, or NULL for none */
    } cases[] = {
        {"data.items", "[1,2]"}, {"links.0.href", "\"/n\""}, {"links.1.href", NULL},
        {"links.x", NULL},       {"data.items.1", "2"},      {"meta.next", "null"},
        {"meta.next.x", NULL},   {"a.b", NULL},              {"missing", NULL},
        {"data..items", NULL},   {"links.-1.href", "\"/n\""}, {"data.items.-2", "1"},
        {"data.items.-3", NULL}, {"links.+0", NULL},         {"links. 0", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = sc_pages_at(b, cases[i].path);
        char *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if ((got == NULL) != (cases[i].want == NULL) || (got && strcmp(got, cases[i].want)))
            fail_msg("path %s: want %s, got %s", cases[i].path,
                     cases[i].want ? cases[i].want : "none", got ? got : "none");
        free(got);
    }
    assert_ptr_equal(sc_pages_at(b, ""), b);
    assert_ptr_equal(sc_pages_at(b, NULL), b);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(link_header),
        cmocka_unit_test(body_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
