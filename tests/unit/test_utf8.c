/* UTF-8 (engine/util.c): which bytes are valid (RFC 3629, as jansson and libyaml check
 * them), and text from outside made valid for JSON without losing a byte (sc_utf8_fix): as
 * ISO-8859-1 (a header, a query part, an error quoting a body) or as %XX (a Link's URI). */
#include "test.h"

#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* What sc_utf8_fix makes of s[0..n): "=" when it is valid already, else the text. */
static const char *fixed(const char *s, size_t n, enum sc_utf8_as as)
{
    static char out[256];
    char *t = NULL;
    size_t len = 0;
    assert_int_equal(sc_utf8_fix(s, n, as, &t, &len), 0);
    if (!t)
        return "=";
    assert_int_equal(strlen(t), len);
    assert_true(len < sizeof out);
    memcpy(out, t, len + 1);
    free(t);
    return out;
}

/* The forms RFC 3629 section 4 excludes are invalid here as in jansson: overlong forms,
 * surrogates (U+D800-DFFF) and code points past U+10FFFF. Before, the surrogate passed this
 * check, became a JSON string unchecked, and no store could write it. */
/* fixed() of a literal, its length counted */
#define FIXED(lit, as) fixed(lit, sizeof lit - 1, as)

static void strict_as_rfc_3629(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        int bad; /* the offset of the first byte that is not valid, -1 for none */
    } cases[] = {
        {"caf\xc3\xa9", -1},       {"\xe2\x82\xac", -1},    {"\xf0\x9f\x98\x80", -1},
        {"\xed\x9f\xbf", -1},      {"\xee\x80\x80", -1},    {"\xf4\x8f\xbf\xbf", -1},
        {"\xc0\xaf", 0},           {"\xe0\x80\xaf", 0},     {"\xf0\x80\x80\xaf", 0},
        {"\xed\xa0\x80", 0},       {"\xed\xbf\xbf", 0},     {"\xf4\x90\x80\x80", 0},
        {"\xf5\x80\x80\x80", 0},   {"a\xe9", 1},            {"ab\xe2\x82", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i].bytes);
        size_t want = cases[i].bad < 0 ? n : (size_t)cases[i].bad;
        assert_int_equal(sc_utf8_invalid(cases[i].bytes, n), want);
        json_t *j = json_stringn(cases[i].bytes, n); /* jansson agrees */
        assert_int_equal(j != NULL, want == n);
        json_decref(j);
    }
}

static void latin1_reads_every_byte(void **state)
{
    (void)state;
    assert_string_equal(FIXED("caf\xc3\xa9", SC_UTF8_LATIN1), "=");
    assert_string_equal(FIXED("Ren\xe9" "e", SC_UTF8_LATIN1), "Ren\xc3\xa9" "e");
    /* a value not UTF-8 is Latin-1 throughout, its UTF-8-looking pairs too */
    assert_string_equal(FIXED("\xc3\xa9 \xff", SC_UTF8_LATIN1), "\xc3\x83\xc2\xa9 \xc3\xbf");
    assert_string_equal(FIXED("\x80\xa0", SC_UTF8_LATIN1), "\xc2\x80\xc2\xa0");
    /* two names that differ stay two (a dedupe_key may read them) */
    assert_string_not_equal(FIXED("M\xfcller", SC_UTF8_LATIN1), "M\xc3\xb6ller");
    assert_string_equal(FIXED("M\xf6ller", SC_UTF8_LATIN1), "M\xc3\xb6ller");
    assert_string_equal(FIXED("\xed\xa0\x80", SC_UTF8_LATIN1), "\xc3\xad\xc2\xa0\xc2\x80");
}

/* A URI reference's stray bytes as the %XX a client sends for them (RFC 3986 2.1): the
 * next page is asked as the server wrote it. */
static void percent_for_uris(void **state)
{
    (void)state;
    assert_string_equal(FIXED("</c?site=Orl\xe9" "ans>; rel=\"next\"", SC_UTF8_PERCENT),
                        "</c?site=Orl%E9ans>; rel=\"next\"");
    assert_string_equal(FIXED("</c?a=\xc3\xa9&b=\xff>", SC_UTF8_PERCENT), "</c?a=%C3%A9&b=%FF>");
    assert_string_equal(FIXED("</c?a=\xc3\xa9>", SC_UTF8_PERCENT), "=");
}

/* A message quoting another system's 500 in ISO-8859-1 becomes JSON, whole. */
static void messages_become_json(void **state)
{
    (void)state;
    json_t *v = sc_json_text("HTTP 500: erreur syst\xe8me");
    assert_non_null(v);
    assert_string_equal(json_string_value(v), "HTTP 500: erreur syst\xc3\xa8me");
    json_decref(v);
    v = sc_json_text("d\xc3\xa9j\xc3\xa0");
    assert_string_equal(json_string_value(v), "d\xc3\xa9j\xc3\xa0");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strict_as_rfc_3629),
        cmocka_unit_test(latin1_reads_every_byte),
        cmocka_unit_test(percent_for_uris),
        cmocka_unit_test(messages_become_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
