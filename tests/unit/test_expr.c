#include "test.h"

#include "lang/concat.h"
#include "lang/expr.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>

static void check_parts(const char *s, size_t want, const char *const *texts, const bool *exprs)
{
    struct sc_tmpl_part *p;
    size_t n, eo, el;
    const char *err;
    assert_int_equal(sc_expr_scan(s, strlen(s), &p, &n, &err, &eo, &el), 0);
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%.*s", (int)p[i].len, s + p[i].off);
        assert_string_equal(buf, texts[i]);
        assert_int_equal(p[i].is_expr, exprs[i]);
    }
    free(p);
}

static void scan_splits_text_and_expressions(void **state)
{
    (void)state;
    check_parts("/employees/{{ trigger.body.id }}", 2,
                (const char *const[]){"/employees/", "trigger.body.id"}, (const bool[]){0, 1});
    check_parts("{{a}}{{ b }}", 2, (const char *const[]){"a", "b"}, (const bool[]){1, 1});
    check_parts("plain text", 1, (const char *const[]){"plain text"}, (const bool[]){0});
    /* Braces and "}}" inside the expression do not close it. */
    check_parts("{{ pick(x, {a = {b = 1}}) }}!", 2,
                (const char *const[]){"pick(x, {a = {b = 1}})", "!"}, (const bool[]){1, 0});
    check_parts("{{ '}}' .. x }}", 1, (const char *const[]){"'}}' .. x"}, (const bool[]){1});
    check_parts("{{ [[a}}b]] }}", 1, (const char *const[]){"[[a}}b]]"}, (const bool[]){1});
}

static void whole_templates_keep_their_type(void **state)
{
    (void)state;
    struct sc_tmpl_part *p;
    size_t n, eo, el;
    const char *err;
    assert_int_equal(sc_expr_scan("{{ steps.x }}", 13, &p, &n, &err, &eo, &el), 0);
    assert_true(sc_expr_is_whole(p, n));
    free(p);
    assert_int_equal(sc_expr_scan(" {{ steps.x }}", 14, &p, &n, &err, &eo, &el), 0);
    assert_false(sc_expr_is_whole(p, n));
    free(p);
}

static void scan_errors_are_located(void **state)
{
    (void)state;
    struct sc_tmpl_part *p;
    size_t n, eo = 99, el = 99;
    const char *err;
    assert_int_equal(sc_expr_scan("ab {{ x", 7, &p, &n, &err, &eo, &el), -1);
    assert_string_equal(err, "'{{' is never closed by '}}'");
    assert_int_equal(eo, 3);
    assert_int_equal(el, 2);
    assert_null(p);
    assert_int_equal(sc_expr_scan("x{{  }}", 7, &p, &n, &err, &eo, &el), -1);
    assert_string_equal(err, "empty expression between '{{' and '}}'");
    assert_int_equal(eo, 1);
    assert_int_equal(el, 6);
    char *big = malloc(SC_EXPR_MAX_LEN + 10);
    memset(big, 'a', SC_EXPR_MAX_LEN + 10);
    memcpy(big, "{{", 2);
    memcpy(big + SC_EXPR_MAX_LEN + 8, "}}", 2);
    assert_int_equal(sc_expr_scan(big, SC_EXPR_MAX_LEN + 10, &p, &n, &err, &eo, &el), -1);
    assert_string_equal(err, "expression is longer than the limit of 8192 bytes");
    free(big);
}

static void syntax_is_checked_without_running(void **state)
{
    (void)state;
    lua_State *L = luaL_newstate();
    char err[256];
    assert_int_equal(sc_expr_check_syntax(L, "a.b + 1", 7, err, sizeof err), 0);
    assert_int_equal(sc_expr_check_syntax(L, "x -- comment", 12, err, sizeof err), 0);
    assert_int_equal(sc_expr_check_syntax(L, "a.", 2, err, sizeof err), -1);
    assert_string_equal(err, "it ends after '.', where a name is expected");
    assert_int_equal(sc_expr_check_syntax(L, "trigger.body.id == ", 19, err, sizeof err), -1);
    assert_string_equal(err, "it ends after '==', where a value is expected");
    /* a Jinja-style filter names the call to write; a '|' inside a string is no filter */
    assert_int_equal(sc_expr_check_syntax(L, "x.name | upper", 14, err, sizeof err), -1);
    assert_string_equal(err, "'|' is not a filter in scenarist expressions (it is Lua's bitwise "
                             "or); call the function instead: {{ upper(x.name) }}");
    assert_int_equal(sc_expr_check_syntax(L, "'a|b' .. x", 10, err, sizeof err), 0);
    /* a filter whose function has another name gets that name: ifempty, not default */
    assert_int_equal(sc_expr_check_syntax(L, "x.a | default('n')", 18, err, sizeof err), -1);
    assert_string_equal(err, "'|' is not a filter in scenarist expressions (it is Lua's bitwise "
                             "or); call the function instead: {{ ifempty(x.a, 'n') }}");
    assert_int_equal(sc_expr_check_syntax(L, "1) os.exit(", 11, err, sizeof err), -1);
    /* A statement is not an expression. */
    assert_int_equal(sc_expr_check_syntax(L, "x = 1", 5, err, sizeof err), -1);
    assert_int_equal(lua_gettop(L), 0);
    lua_close(L);
}

struct refs {
    char names[8][64];
    size_t off[8], len[8];
    int n;
};

static void rewritten(const char *in, const char *want)
{
    char *out = sc_expr_rewrite(in, strlen(in));
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

/* A field named as a Lua keyword reads as it is written (poll.until, period.end). */
static void keyword_fields_after_a_dot_are_indexed(void **state)
{
    (void)state;
    rewritten("poll.until", "poll[\"until\"]");
    rewritten("trigger.body.period.end .. 'x'", "trigger.body.period[\"end\"] .. 'x'");
    rewritten("a. in", "a[\"in\"]");
    rewritten("x.ending or y.end_date", "x.ending or y.end_date"); /* not keywords */
    rewritten("a .. until_x", "a .. until_x");                  /* concatenation */
    rewritten("'poll.until'", "'poll.until'");                  /* in a string */
    rewritten("1.5 + a.if", "1.5 + a[\"if\"]");
    lua_State *L = luaL_newstate();
    char err[256];
    assert_int_equal(sc_expr_check_syntax(L, "poll.until", 10, err, sizeof err), 0);
    lua_close(L);
}

static void on_ref(void *ud, const char *name, size_t off, size_t len)
{
    struct refs *r = ud;
    snprintf(r->names[r->n], 64, "%s", name);
    r->off[r->n] = off;
    r->len[r->n] = len;
    r->n++;
}

static void step_references_are_found(void **state)
{
    (void)state;
    struct refs r = {0};
    const char *e = "steps.a.body .. steps [ 'b' ].x .. x.steps.c .. 'steps.d' .. steps . e";
    sc_expr_step_refs(e, strlen(e), on_ref, &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.names[0], "a");
    assert_int_equal(r.off[0], 0);
    assert_int_equal(r.len[0], 7);
    assert_string_equal(r.names[1], "b");
    assert_int_equal(r.off[1], 16);
    assert_int_equal(r.len[1], 13);
    assert_string_equal(r.names[2], "e");
    memset(&r, 0, sizeof r);
    e = "--[[ steps.x ]] steps.y -- steps.z";
    sc_expr_step_refs(e, strlen(e), on_ref, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.names[0], "y");
}

/* Each operand of ".." is wrapped once, by Lua's precedence (arithmetic binds tighter,
 * comparison looser), brackets balanced, strings and comments left alone. */
static void concat_operands_are_wrapped(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"'v=' .. x", "__sc_cat(('v='), \"'v='\") .. __sc_cat((x), \"x\")"},
        {"a + 1 .. b.c[d] .. -e ^ 2 == f",
         "__sc_cat((a + 1), \"a + 1\") .. __sc_cat((b.c[d]), \"b.c[d]\") .. "
         "__sc_cat((-e ^ 2), \"-e ^ 2\") == f"},
        {"f(a .. b)", "f(__sc_cat((a), \"a\") .. __sc_cat((b), \"b\"))"},
        {"s:upper() .. t 'x'", "__sc_cat((s:upper()), \"s:upper()\") .. __sc_cat((t 'x'), \"t 'x'\")"},
        {"x and y .. z or w", "x and __sc_cat((y), \"y\") .. __sc_cat((z), \"z\") or w"},
        {"'a..b' -- c .. d", NULL},
        {"local s = a .. b return s", "local s = __sc_cat((a), \"a\") .. __sc_cat((b), \"b\") return s"},
        {"x ~ y .. z", "x ~ __sc_cat((y), \"y\") .. __sc_cat((z), \"z\")"},
        {"~y .. z", "__sc_cat((~y), \"~y\") .. __sc_cat((z), \"z\")"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = sc_concat_rewrite(cases[i][0], strlen(cases[i][0]));
        if (!cases[i][1]) {
            if (got && strcmp(got, cases[i][0]) != 0)
                fail_msg("%s\n  want unchanged\n  got  %s", cases[i][0], got);
        } else if (!got || strcmp(got, cases[i][1]) != 0) {
            fail_msg("%s\n  want %s\n  got  %s", cases[i][0], cases[i][1], got ? got : "(null)");
        }
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concat_operands_are_wrapped),
        cmocka_unit_test(scan_splits_text_and_expressions),
        cmocka_unit_test(whole_templates_keep_their_type),
        cmocka_unit_test(scan_errors_are_located),
        cmocka_unit_test(syntax_is_checked_without_running),
        cmocka_unit_test(step_references_are_found),
        cmocka_unit_test(keyword_fields_after_a_dot_are_indexed),
    };
    return cmocka_run_group_tests_name("expr", tests, NULL, NULL);
}
