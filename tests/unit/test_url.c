/* Outbound URLs (engine/url.c): the normal form every spelling of a target reaches, the
 * read-only coverage test on it, path values encoded as one segment, and the prelude's
 * link() (RFC 8288) and segments(). */
#include "test.h"

#include "lua_eval.h"
#include "clock.h"
#include "model/url.h"

#include <stdio.h>
#include <stdlib.h>

#define HOST "http://127.0.0.1:8900"

/* The target of path under base, as "PATH|flags" or "error: ...". */
static const char *join(const char *base, const char *path, json_t *query, struct sc_url *t)
{
    static char out[1024];
    struct sc_url b;
    char err[512];
    assert_int_equal(sc_url_parse(base, &b, err, sizeof err), 0);
    int rc = sc_url_join(&b, path, query, t, err, sizeof err);
    sc_url_free(&b);
    if (rc != 0)
        snprintf(out, sizeof out, "error: %s", err);
    else
        snprintf(out, sizeof out, "%s|%s%s%s%s%s", t->path, t->flags & SC_URL_SLASH ? "slash " : "",
                 t->flags & SC_URL_CLIMB ? "climb " : "", t->flags & SC_URL_ESCAPE ? "escape " : "",
                 t->flags & SC_URL_NUL ? "nul" : "", t->flags & SC_URL_CTRL ? "ctrl" : "");
    return out;
}

static const char *enc(const char *so_far, const char *value);

/* Whether the read-only calendar (HOST/calendar) covers path sent through the root. */
static bool reaches_calendar(const char *path, const char *want_norm)
{
    struct sc_url ro, t;
    char err[256];
    assert_int_equal(sc_url_parse(HOST "/calendar", &ro, err, sizeof err), 0);
    const char *got = join(HOST "/", path, NULL, &t);
    if (want_norm && strcmp(got, want_norm))
        fail_msg("%s\n  want %s\n  got  %s", path, want_norm, got);
    bool r = sc_url_covers(&ro, &t);
    sc_url_free(&ro);
    sc_url_free(&t);
    return r;
}

static void spellings_of_one_target(void **state)
{
    (void)state;
    static const struct {
        const char *path, *norm;
    } same[] = {
        {"/calendar/events", "/calendar/events|"},
        {"/./calendar/events", "/calendar/events|"},
        {"//calendar/events", "/calendar/events|"},
        {"/calendar/./events", "/calendar/events|"},
        {"/x/../calendar/events", "/calendar/events|"},
        {"/x/y/../../calendar//events", "/calendar/events|"},
        {"/%63alendar/events", "/calendar/events|"},
        {"/%63ALENDAR/events", "/cALENDAR/events|"},
        {"/%2e/calendar/events", "/calendar/events|"},
        {"/x/%2E%2e/calendar/events", "/calendar/events|"},
        {"/x/.%2E/calendar/events", "/calendar/events|"},
        {"/CALENDAR/events", "/CALENDAR/events|"},
        {"/calendar./events", "/calendar./events|"},
        {"/calendar../events", "/calendar../events|"},
        {"/calendar%2E/events", "/calendar./events|"},
        {"/calendar;v=1/events", "/calendar;v=1/events|"},
        {"/calendar%20/events", "/calendar%20/events|"},
        {"/calendar /events", "/calendar%20/events|"},
        {"calendar/events", "/calendar/events|"},
        {"/calendar", "/calendar|"},
        {"/calendar/", "/calendar/|"},
        {"/calendar?x=1", "/calendar|"},
        {"/%2e%2e/calendar/events", "/calendar/events|climb "},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (!reaches_calendar(same[i].path, same[i].norm))
            fail_msg("%s should reach the calendar", same[i].path);
    static const struct {
        const char *path, *norm;
    } other[] = {
        {"/calendarx/events", "/calendarx/events|"},
        {"/cal/endar/events", "/cal/endar/events|"},
        {"/calendar%2Fevents", "/calendar%2Fevents|slash "},
        {"/calendar%2fevents", "/calendar%2Fevents|slash "},
        {"/calendar%5Cevents", "/calendar%5Cevents|slash "},
        {"/calendar\\events", "/calendar%5Cevents|slash "},
        {"/lms/learners", "/lms/learners|"},
        {"/calendar/../lms", "/lms|"},
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (reaches_calendar(other[i].path, other[i].norm))
            fail_msg("%s should not reach the calendar", other[i].path);
}

/* Servers like Tomcat and Spring set a segment's ';params' aside before removing dot
 * segments ("/x/..;/y" is "/y" to them), lenient decoders read overlong and full-width
 * dots as '.', and some trim control bytes: every such spelling is judged as they route it. */
static void dot_segments_with_params(void **state)
{
    (void)state;
    static const struct {
        const char *path, *norm;
    } same[] = {
        {"/x/..;/calendar/events", "/calendar/events|"},
        {"/x/..;x=1/calendar/events", "/calendar/events|"},
        {"/hris/..;/calendar/events", "/calendar/events|"},
        {"/x/%2e%2e;/calendar/events", "/calendar/events|"},
        {"/x/%2E%2E%3B/calendar/events", "/calendar/events|"},
        {"/x/..%3bv=1/calendar/events", "/calendar/events|"},
        {"/.;x/calendar/events", "/calendar/events|"},
        {"/;x/calendar/events", "/calendar/events|"},
        {"/x/..%20/calendar/events", "/calendar/events|"},
        {"/x/.. /calendar/events", "/calendar/events|"},
        {"/x/%c0%ae%c0%ae/calendar/events", "/calendar/events|"},
        {"/x/%e0%80%ae./calendar/events", "/calendar/events|"},
        {"/x/%ef%bc%8e%ef%bc%8e/calendar/events", "/calendar/events|"},
        {"/calendar%3Bv=1/events", "/calendar%3Bv=1/events|"},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (!reaches_calendar(same[i].path, same[i].norm))
            fail_msg("%s should reach the calendar", same[i].path);
    static const struct {
        const char *path, *norm;
    } other[] = {
        {"/x/..;/lms/learners", "/lms/learners|"},
        {"/lms/...;x/learners", "/lms/...;x/learners|"},
        {"/x/..a;/calendar/events", "/x/..a;/calendar/events|"},
        {"/x/..%00/calendar/events", "/x/..%00/calendar/events|nul"},
        {"/x/..%5C/calendar/events", "/x/..%5C/calendar/events|slash "},
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (reaches_calendar(other[i].path, other[i].norm))
            fail_msg("%s should not reach the calendar", other[i].path);
    /* a control byte in a segment is flagged, and so refused (sc_org_check_target) */
    static const struct {
        const char *path, *norm;
    } ctrl[] = {
        {"/calendar%09/events", "/calendar%09/events|ctrl"},
        {"/calendar\t/events", "/calendar%09/events|ctrl"},
        {"/calendar%0d%0a/events", "/calendar%0D%0A/events|ctrl"},
        {"/calendar%7f/events", "/calendar%7F/events|ctrl"},
        {"/cal%1Fendar/events", "/cal%1Fendar/events|ctrl"},
    };
    struct sc_url t;
    for (size_t i = 0; i < sizeof ctrl / sizeof ctrl[0]; i++) {
        assert_string_equal(join(HOST "/", ctrl[i].path, NULL, &t), ctrl[i].norm);
        sc_url_free(&t);
    }
    assert_string_equal(join(HOST "/lms", "/..;/calendar", NULL, &t), "/calendar|");
    struct sc_url lms;
    char err[128];
    assert_int_equal(sc_url_parse(HOST "/lms", &lms, err, sizeof err), 0);
    assert_false(sc_url_under(&lms, &t)); /* out of its connection: refused */
    sc_url_free(&lms);
    sc_url_free(&t);
    assert_string_equal(join(HOST "/", "/..;/..;x/calendar", NULL, &t), "/calendar|climb ");
    sc_url_free(&t);
    assert_string_equal(join(HOST "/lms", "/x/..;", NULL, &t), "/lms/|");
    sc_url_free(&t);
    /* a value is one segment: "..;x" would be a dot segment to those servers */
    assert_string_equal(enc("/employees/", "\"..;x\""),
                        "error(data): the value '..;x' would be a dot segment of the path ('.' or '..')");
    assert_string_equal(enc("/employees/", "\".;\""),
                        "error(data): the value '.;' would be a dot segment of the path ('.' or '..')");
    assert_string_equal(enc("/employees/", "\"..x\""), "/employees/..x");
}

static void odd_escapes_and_fragments(void **state)
{
    (void)state;
    struct sc_url t;
    assert_string_equal(join(HOST "/lms", "/a%00b", NULL, &t), "/lms/a%00b|nul");
    sc_url_free(&t);
    assert_string_equal(join(HOST "/lms", "/100%", NULL, &t), "/lms/100%25|escape ");
    sc_url_free(&t);
    assert_string_equal(join(HOST "/lms", "/a%zz", NULL, &t), "/lms/a%25zz|escape ");
    sc_url_free(&t);
    assert_string_equal(join(HOST "/lms", "/E-1#frag", NULL, &t),
                        "error: path '/E-1#frag' holds a '#': a fragment is never sent to a server");
    assert_string_equal(join(HOST "/lms", "/../x", NULL, &t), "/x|");
    sc_url_free(&t);
    struct sc_url b;
    char err[128];
    assert_int_equal(sc_url_parse(HOST "/lms", &b, err, sizeof err), 0);
    join(HOST "/lms", "/../LMS/x", NULL, &t); /* the same system to a lenient server only */
    assert_true(sc_url_covers(&b, &t));
    assert_false(sc_url_under(&b, &t));
    sc_url_free(&t);
    join(HOST "/lms", "/x/../y", NULL, &t);
    assert_true(sc_url_under(&b, &t));
    sc_url_free(&t);
    sc_url_free(&b);
}

static void origins(void **state)
{
    (void)state;
    static const struct {
        const char *ro, *base;
        bool covers;
    } cases[] = {
        {"http://example.com/calendar", "HTTP://EXAMPLE.COM/", true},
        {"http://example.com:80/calendar", "http://example.com./", true},
        {"https://example.com/calendar", "https://example.com:443/", true},
        {"http://example.com/calendar", "https://example.com/", false},
        {"http://example.com:8080/calendar", "http://example.com/", false},
        {"http://example.com/calendar", "http://example.org/", false},
        {"http://127.0.0.1/calendar", "http://127.1/", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sc_url ro, t;
        char err[256];
        assert_int_equal(sc_url_parse(cases[i].ro, &ro, err, sizeof err), 0);
        join(cases[i].base, "/calendar/events", NULL, &t);
        if (sc_url_covers(&ro, &t) != cases[i].covers)
            fail_msg("%s under %s: want %d", cases[i].base, cases[i].ro, cases[i].covers);
        sc_url_free(&ro);
        sc_url_free(&t);
    }
}

static void full_url_and_query(void **state)
{
    (void)state;
    struct sc_url t;
    json_t *q = json_pack("{s:s, s:[s,s], s:n, s:i, s:s}", "q", "Ada Lovelace & co", "dept",
                          "D-1", "D/2", "skip", "limit", 50, "a=b", "c#d");
    join(HOST "/hris", "/employees?active=true&x=a b", q, &t);
    assert_string_equal(t.full, HOST "/hris/employees?active=true&x=a%20b&q=Ada%20Lovelace%20%26"
                                "%20co&dept=D-1&dept=D%2F2&limit=50&a%3Db=c%23d");
    assert_true(sc_url_query_has(t.query, "_METHOD") == false);
    sc_url_free(&t);
    json_decref(q);
    join(HOST "/hris?key=1", "/x?%5Fmethod=DELETE", NULL, &t);
    assert_string_equal(t.full, HOST "/hris/x?key=1&_method=DELETE");
    assert_true(sc_url_query_has(t.query, "_method"));
    sc_url_free(&t);
    join(HOST "/ops/hooks/golden", "", NULL, &t);
    assert_string_equal(t.full, HOST "/ops/hooks/golden");
    sc_url_free(&t);
}

/* The path encoder: TEXT so far, then VALUE (JSON) -> the text or "error: ...". */
static const char *enc(const char *so_far, const char *value)
{
    static char out[512];
    struct sc_buf b = {0};
    sc_buf_puts(&b, so_far);
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    char err[256];
    enum sc_status st = sc_url_path_value(&b, v, err, sizeof err);
    if (st == SC_OK)
        snprintf(out, sizeof out, "%.*s", (int)b.len, b.data);
    else
        snprintf(out, sizeof out, "error(%s): %s", sc_status_name(st), err);
    json_decref(v);
    sc_buf_free(&b);
    return out;
}

static void values_are_one_segment(void **state)
{
    (void)state;
    assert_string_equal(enc("/employees/", "\"E-1003?status=x\""), "/employees/E-1003%3Fstatus%3Dx");
    assert_string_equal(enc("/employees/", "\"E-1003#frag\""), "/employees/E-1003%23frag");
    assert_string_equal(enc("/employees/", "\"E-1003/learning-history\""),
                        "/employees/E-1003%2Flearning-history");
    assert_string_equal(enc("/employees/", "\"E 1003\""), "/employees/E%201003");
    assert_string_equal(enc("/employees/", "\"Zoë\""), "/employees/Zo%C3%AB");
    assert_string_equal(enc("/employees/", "1003"), "/employees/1003");
    assert_string_equal(enc("/e?since=", "\"a&b=c d\""), "/e?since=a%26b%3Dc%20d");
    assert_string_equal(enc("/e?since=", "\"\""), "/e?since=");
    assert_string_equal(enc("/files/", "[\"2026\", \"Q1 report\"]"), "/files/2026/Q1%20report");
    assert_string_equal(enc("/employees/", "\"\""),
                        "error(data): the value would leave an empty path segment (another endpoint)");
    assert_string_equal(enc("/employees/", "null"),
                        "error(data): the value would leave an empty path segment (another endpoint)");
    assert_string_equal(enc("/employees/", "\"..\""),
                        "error(data): the value '..' would be a dot segment of the path ('.' or '..')");
    assert_string_equal(enc("/employees/E", "\"..\""), "/employees/E..");
    assert_string_equal(enc("/files/", "[\"a\", \"..\"]"),
                        "error(data): path segment 2 of the list is a dot segment ('.' or '..')");
    assert_string_equal(enc("/files/", "[\"a\", \"\"]"), "error(data): path segment 2 of the list is empty");
    assert_string_equal(enc("/e?x=", "[\"a\"]"),
                        "error(data): a list fills path segments, not a query value (use query:)");
    assert_string_equal(enc("/e/", "{\"a\": 1}"), "error(data): an object cannot fill a URL");
}

static struct sc_lua *lua;

static int lua_setup(void **state)
{
    (void)state;
    char err[512];
    lua = sc_lua_new("lua", 0, err, sizeof err);
    if (!lua) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    json_t *h = json_loads(
        "{\"two\": {\"link\": [\"<https://h/e?page=2>; rel=\\\"next\\\"\","
        " \"<https://h/e?page=9>; rel=\\\"last\\\"\"], \"content-type\": \"application/json\"},"
        " \"one\": {\"link\": \"</e?page=1>; rel=prev, </e?ids=1,2>; title=\\\"a;b,\\\\\\\"c\\\"; REL=\\\"Next  last\\\"\"},"
        " \"none\": {\"content-type\": \"text/plain\"}}", 0, NULL);
    assert_non_null(h);
    sc_lua_set(lua, "h", h);
    json_decref(h);
    return 0;
}

static int lua_teardown(void **state)
{
    (void)state;
    sc_lua_free(lua);
    return 0;
}

static void link_by_rel(void **state)
{
    (void)state;
    static const struct {
        const char *expr, *want;
    } cases[] = {
        {"link(h.two, 'next')", "\"https://h/e?page=2\""},
        {"link(h.two, 'last')", "\"https://h/e?page=9\""},
        {"link(h.two, 'prev')", "null"},
        {"link(h.one, 'prev')", "\"/e?page=1\""},
        {"link(h.one, 'next')", "\"/e?ids=1,2\""},
        {"link(h.one, 'LAST')", "\"/e?ids=1,2\""},
        {"link(h.none, 'next')", "null"},
        {"link(nil, 'next')", "null"},
        {"link(h.two.link, 'next')", "\"https://h/e?page=2\""},
        {"link('<a>;rel=next,<b>;rel=next', 'next')", "\"a\""},
        {"link('<a>; rel=\"next\"; rel=\"prev\"', 'prev')", "null"},
        {"segments('/hris/employees//E-1/')", "[\"hris\",\"employees\",\"E-1\"]"},
        {"segments(nil)", "[]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = eval(lua, cases[i].expr);
        if (strcmp(got, cases[i].want))
            fail_msg("{{ %s }}\n  want %s\n  got  %s", cases[i].expr, cases[i].want, got);
    }
}

/* link() is one pass: a 1 MiB header of links is read well inside the step budget. */
/* A long Link header (1,000 links, ~30 KB) is read whole; a 1 MiB one ends at the
 * sandbox's instruction budget with a limit error, never a hang. */
static void link_is_linear(void **state)
{
    (void)state;
    const size_t sizes[2] = {32 * 1024, 1 << 20};
    const char *want[2] = {"\"https://h/end\"",
                           "error(limit): Lua instruction limit of 10000000 exceeded"};
    for (int k = 0; k < 2; k++) {
        size_t n = sizes[k];
        char *big = malloc(n + 64);
        size_t len = 0;
        while (len + 32 < n)
            len += (size_t)sprintf(big + len, "<https://h/%zu>; rel=x, ", len);
        sprintf(big + len, "<https://h/end>; rel=next");
        json_t *v = json_string(big);
        sc_lua_set(lua, "big", v);
        json_decref(v);
        free(big);
        assert_string_equal(eval(lua, "link(big, 'next')"), want[k]);
    }
}

/* A request path's first flaw, as both listeners and the validator read it: "KIND OFF LEN". */
static const char *flaw(const char *path)
{
    static char out[64];
    static const char *const kinds[] = {"none", "escape", "nul", "dot", "slash", "encoded"};
    struct sc_url_flaw f;
    enum sc_url_flaw_kind k = sc_url_path_flaw(path, strcspn(path, "?"), &f);
    snprintf(out, sizeof out, "%s %zu %zu", kinds[k], f.off, f.len);
    return out;
}

static void request_path_flaws(void **state)
{
    (void)state;
    assert_string_equal(flaw("/hooks/x"), "none 0 0");
    assert_string_equal(flaw("/hooks/..."), "none 0 0");
    assert_string_equal(flaw("/hooks/.well-known"), "none 0 0");
    assert_string_equal(flaw("/hooks/.."), "dot 7 2");
    assert_string_equal(flaw("/.."), "dot 1 2");
    assert_string_equal(flaw("/hooks/."), "dot 7 1");
    assert_string_equal(flaw("/hooks/./x"), "dot 7 1");
    assert_string_equal(flaw("/hooks/%2e%2E"), "dot 7 6");
    assert_string_equal(flaw("/hooks/x?a=/../"), "none 0 0"); /* the query is not the path */
    assert_string_equal(flaw("/hooks/..?a=1"), "dot 7 2");
    assert_string_equal(flaw("/hooks/a%2eb"), "encoded 8 3");
    assert_string_equal(flaw("/hooks/%41/%2F"), "slash 11 3"); /* %2F before any other */
    assert_string_equal(flaw("/h%2f/.."), "dot 6 2");       /* 400 before 404 */
    assert_string_equal(flaw("/../%00"), "nul 4 3");        /* escapes judged first */
    assert_string_equal(flaw("/hooks/%zz"), "escape 7 3");
    assert_string_equal(flaw("/hooks/x%4"), "escape 8 2");
    assert_string_equal(flaw("/hooks/x%"), "escape 8 1");
    assert_string_equal(flaw("/hooks/x%4?a"), "escape 8 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_path_flaws),
        cmocka_unit_test(spellings_of_one_target),
        cmocka_unit_test(dot_segments_with_params),
        cmocka_unit_test(odd_escapes_and_fragments),
        cmocka_unit_test(origins),
        cmocka_unit_test(full_url_and_query),
        cmocka_unit_test(values_are_one_segment),
        cmocka_unit_test_setup_teardown(link_by_rel, lua_setup, lua_teardown),
        cmocka_unit_test_setup_teardown(link_is_linear, lua_setup, lua_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
