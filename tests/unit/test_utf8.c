/* UTF-8 (engine/util.c): which bytes are valid (RFC 3629, as jansson and libyaml check
 * them), and text from outside made valid for JSON (sc_utf8_fix): a header's bytes as
 * ISO-8859-1, a query part's broken sequences as U+FFFD per the WHATWG Encoding Standard. */
#include "test.h"

#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* What sc_utf8_fix makes of s[0..n): "=" when it is valid already, else the text. */
static const char *fixed(const char *s, size_t n, bool latin1)
{
    static char out[256];
    char *t = NULL;
    size_t len = 0;
    assert_int_equal(sc_utf8_fix(s, n, latin1, &t, &len), 0);
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
    assert_string_equal(fixed("caf\xc3\xa9", 5, true), "=");
    assert_string_equal(fixed("Ren\xe9" "e", 5, true), "Ren\xc3\xa9" "e");
    /* a value not UTF-8 is Latin-1 throughout, its UTF-8-looking pairs too */
    assert_string_equal(fixed("\xc3\xa9 \xff", 4, true), "\xc3\x83\xc2\xa9 \xc3\xbf");
    assert_string_equal(fixed("\x80\xa0", 2, true), "\xc2\x80\xc2\xa0");
}

/* The Encoding Standard's UTF-8 decoder: one U+FFFD for each maximal subpart (a lead byte
 * with the continuation bytes that could still follow it), the byte after re-read. */
static void whatwg_replacement(void **state)
{
    (void)state;
#define R "\xef\xbf\xbd"
    assert_string_equal(fixed("caf\xe9", 4, false), "caf" R);
    assert_string_equal(fixed("\xe2\x82y", 3, false), R "y");
    assert_string_equal(fixed("\xed\xa0\x80x", 4, false), R R R "x");
    assert_string_equal(fixed("\xf0\x9f\x98", 3, false), R);
    assert_string_equal(fixed("\xf4\x90\x80\x80", 4, false), R R R R);
    assert_string_equal(fixed("\xc0\xaf\xc3\xa9", 4, false), R R "\xc3\xa9");
    assert_string_equal(fixed("\xe0\x80", 2, false), R R);
    assert_string_equal(fixed("a\xf0\x9f\x98\x80\xff", 6, false), "a\xf0\x9f\x98\x80" R);
#undef R
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strict_as_rfc_3629),
        cmocka_unit_test(latin1_reads_every_byte),
        cmocka_unit_test(whatwg_replacement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
