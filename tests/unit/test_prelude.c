/* The prelude functions: each family with its edge cases (nil, missing fields, empty
 * arrays, UTF-8, daylight-saving days in America/Chicago). */
#include "test.h"

#include "lua_eval.h"
#include "clock.h"
#include "lang/text.h"
#include "lang/tmpl.h"
#include "util.h"

static struct sc_lua *lua;
static json_t *trigger;

static int setup(void **state)
{
    (void)state;
    char err[512];
    sc_clock_use_test(1772956800000); /* 2026-03-08T08:00:00Z */
    lua = sc_lua_new("lua", 0, err, sizeof err);
    if (!lua) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    trigger = json_loads("{\"body\": {\"name\": \"  Ada Lovelace \", \"email\": \"ADA@Example.COM\","
                         " \"dept\": null, \"tags\": [\"b\", \"a\", \"b\"], \"empty\": [],"
                         " \"manager\": {\"name\": \"Grace\", \"id\": 7},"
                         " \"items\": [{\"id\": 3, \"n\": \"c\"}, {\"id\": 1, \"n\": \"a\"}, {\"id\": 2, \"n\": \"b\"}],"
                         " \"pay\": 130000, \"city\": \"Zürich\"}}", 0, NULL);
    sc_lua_set(lua, "trigger", trigger);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sc_lua_free(lua);
    json_decref(trigger);
    return 0;
}

struct tcase {
    const char *expr, *want;
};

static void run_cases(const struct tcase *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *got = eval(lua, c[i].expr);
        if (strcmp(got, c[i].want) != 0)
            fail_msg("{{ %s }}\n  want %s\n  got  %s", c[i].expr, c[i].want, got);
    }
}
#define RUN(cases) run_cases(cases, sizeof cases / sizeof cases[0])

static void text(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"lower(trigger.body.email)", "\"ada@example.com\""},
        {"upper('abc')", "\"ABC\""},
        {"trim(trigger.body.name)", "\"Ada Lovelace\""},
        {"lower(trigger.body.missing)", "null"},
        {"replace('a-b-c', '-', '+')", "\"a+b+c\""},
        {"replace('1.5.%', '.', '')", "\"15%\""}, /* plain text, not a pattern */
        {"substring('Zürich', 1, 4)", "\"üri\""},
        {"substring('abc', 1)", "\"bc\""},
        {"substring('abc', 5, 9)", "\"\""},
        {"split('a,b,,c', ',')", "[\"a\",\"b\",\"\",\"c\"]"},
        {"split(nil, ',')", "[]"},
        {"length(trigger.body.city)", "6"},
        {"length(trigger.body.tags)", "3"},
        {"length(trigger.body.manager)", "2"},
        {"length(nil)", "0"},
        {"startsWith(trigger.body.email, 'ADA')", "true"},
        {"startsWith(nil, 'a')", "false"},
        {"endsWith('report.csv', '.csv')", "true"},
        {"contains(trigger.body.email, 'Example')", "true"},
        {"contains(trigger.body.tags, 'a')", "true"},
        {"contains(trigger.body.tags, 'z')", "false"},
        {"contains(trigger.body.missing, 'z')", "false"},
        {"'id-' .. 42", "\"id-42\""},
    };
    RUN(cases);
}

/* A text of n bytes: unit repeated, cut at n. New (free()). */
static char *repeat(const char *unit, size_t n)
{
    char *s = malloc(n + 1);
    size_t u = strlen(unit);
    for (size_t i = 0; i < n; i++)
        s[i] = unit[i % u];
    s[n] = '\0';
    return s;
}

#define MIB 1048576

/* Each text function over 1 MiB gives the exact result (and within the step budget:
 * all of them are linear; tools/bench measures the time). */
static void text_over_one_mib(void **state)
{
    (void)state;
    char *a = repeat("a", MIB), *mixed = repeat("AbCdEfGh", MIB), *low = repeat("abcdefgh", MIB),
         *up = repeat("ABCDEFGH", MIB), *csv = repeat("a,", MIB), *e = repeat("\xc3\xa9", MIB),
         *up_e = repeat("\xc3\x89", MIB);
    char *spaced = repeat(" ", MIB), *inner = repeat(" ", 100002);
    memcpy(spaced + 1000, inner, 100002);
    spaced[1000] = 'x';
    spaced[1000 + 100001] = 'y';
    inner[0] = 'x';
    inner[100001] = 'y';
    char *xy = repeat(" ", MIB); /* the case, at 1 MiB: nothing to trim */
    xy[0] = 'x';
    xy[MIB - 1] = 'y';
    char *bs = repeat("b", MIB / 2), *needle = repeat("a", 4097);
    needle[4096] = 'b';
    json_t *big = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "a", a, "mixed",
                            mixed, "low", low, "up", up, "csv", csv, "e", e, "spaced", spaced,
                            "inner", inner, "xy", xy, "bs", bs, "needle", needle,
                            "sub", e + 2000);
    json_object_set_new(big, "up_e", json_string(up_e));
    assert_non_null(big);
    json_t *want_sub = json_stringn(e + 2000, 2 * 523000);
    json_object_set_new(big, "sub", want_sub);
    sc_lua_set(lua, "big", big);
    static const struct tcase cases[] = {
        {"lower(big.mixed) == big.low", "true"},
        {"upper(big.mixed) == big.up", "true"},
        {"upper(big.e) == big.up_e", "true"}, /* not ASCII: the Unicode mapping */
        {"lower(big.up_e) == big.e", "true"},
        {"trim(big.spaced) == big.inner", "true"},
        {"trim(big.xy) == big.xy", "true"},
        {"#trim(big.spaced)", "100002"},
        {"replace(big.a, 'aa', 'b') == big.bs", "true"},
        {"replace(big.a, big.needle, 'x') == big.a", "true"},
        {"replace(big.a, 'a', '') ", "\"\""},
        {"substring(big.e, 1000, 524000) == big.sub", "true"},
        {"length(split(big.csv, ','))", "524289"},
        {"(function(l) return l[1] .. '|' .. l[524288] .. '|' .. l[524289] end)(split(big.csv, ','))",
         "\"a|a|\""},
        {"length(split(big.e, ''))", "524288"},
        {"split(big.e, '')[524288]", "\"\xc3\xa9\""},
        {"length(big.e)", "524288"},
        {"length(big.a)", "1048576"},
        {"startsWith(big.a, big.a)", "true"},
        {"startsWith(big.a, big.needle)", "false"},
        {"endsWith(big.a, string.sub(big.needle, 1, 4096))", "true"},
        {"endsWith(big.csv, big.needle)", "false"},
        {"contains(big.a, big.needle)", "false"},
        {"contains(big.a .. 'b', big.needle)", "true"},
    };
    RUN(cases);
    sc_lua_set(lua, "big", NULL);
    json_decref(big);
    char *all[] = {a, mixed, low, up, csv, e, up_e, spaced, inner, xy, bs, needle};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

static void general(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"if(trigger.body.pay > 100000, 'senior', 'junior')", "\"senior\""},
        {"iif(false, 1, 2)", "2"},
        {"if(trigger.body.missing, 1, 2)", "2"},
        {"ifempty(trigger.body.dept, 'Unassigned')", "\"Unassigned\""},
        {"ifempty('', 'x')", "\"x\""},
        {"ifempty(trigger.body.empty, 'none')", "\"none\""},
        {"ifempty(0, 'x')", "0"},
        {"get(trigger.body, 'manager.name')", "\"Grace\""},
        {"get(trigger.body, 'items.2.n')", "\"a\""},
        {"get(trigger.body, 'manager.missing.deeper')", "null"},
        {"get(nil, 'a')", "null"},
        {"pick(trigger.body.manager, 'id')", "{\"id\":7}"},
        {"pick(trigger.body.manager, 'nope')", "{}"},
        {"omit(trigger.body.manager, 'id')", "{\"name\":\"Grace\"}"},
        {"switch('b', 'a', 1, 'b', 2, 0)", "2"},
        {"switch('z', 'a', 1, 'b', 2, 0)", "0"},
        {"switch('z', 'a', 1)", "null"},
    };
    RUN(cases);
}

static void dates(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"now()", "\"2026-03-08T08:00:00.000Z\""},
        {"formatDate('2026-03-08T08:00:00Z', 'YYYY-MM-DD HH:mm Z', 'America/Chicago')",
         "\"2026-03-08 03:00 -05:00\""}, /* the minute DST starts */
        {"formatDate('2026-03-08T07:59:00Z', 'h:mm A ZZ', 'America/Chicago')", "\"1:59 AM -0600\""},
        {"formatDate('2026-11-01T06:30:00Z', 'HH:mm Z', 'America/Chicago')", "\"01:30 -05:00\""},
        {"formatDate('2026-11-01T07:30:00Z', 'HH:mm Z', 'America/Chicago')", "\"01:30 -06:00\""},
        {"formatDate('2026-03-08T08:00:00Z', 'dddd D MMMM YYYY [at] HH:mm')",
         "\"Sunday 8 March 2026 at 08:00\""},
        {"formatDate(nil, 'YYYY')", "null"},
        {"parseDate('03/07/2026 5:30 PM', 'MM/DD/YYYY h:mm A', 'America/Chicago')",
         "\"2026-03-07T23:30:00.000Z\""},
        {"parseDate('2026-03-08 02:30', 'YYYY-MM-DD HH:mm', 'America/Chicago')",
         "\"2026-03-08T08:30:00.000Z\""}, /* skipped by spring forward: moves to 03:30 CDT */
        {"parseDate('2026-11-01 01:30', 'YYYY-MM-DD HH:mm', 'America/Chicago')",
         "\"2026-11-01T06:30:00.000Z\""}, /* repeated in fall back: the first 01:30 */
        {"parseDate('2026-06-01T10:00:00+02:00')", "\"2026-06-01T08:00:00.000Z\""},
        {"parseDate('12 Jan 2026', 'D MMM YYYY')", "\"2026-01-12T00:00:00.000Z\""},
        {"parseDate('2026-13-01', 'YYYY-MM-DD')",
         "error(runtime): parseDate: '2026-13-01' is not a valid date: month 13 is out of range 1-12"},
        {"parseDate('tomorrow', 'YYYY-MM-DD')",
         "error(runtime): parseDate: 'tomorrow' does not match 'YYYY-MM-DD'"},
        {"addDays('2026-03-07T18:00:00Z', 1, 'America/Chicago')",
         "\"2026-03-08T17:00:00.000Z\""}, /* noon to noon: 23 hours on the DST day */
        {"addDays('2026-10-31T17:00:00Z', 1, 'America/Chicago')", "\"2026-11-01T18:00:00.000Z\""},
        {"addDays('2026-03-07T18:00:00Z', 1)", "\"2026-03-08T18:00:00.000Z\""},
        {"addDays('2026-01-31T00:00:00Z', 30)", "\"2026-03-02T00:00:00.000Z\""},
        {"addHours('2026-03-07T18:00:00Z', 24)", "\"2026-03-08T18:00:00.000Z\""},
        {"dateDifference('2026-03-10T00:00:00Z', '2026-03-05T12:00:00Z', 'days')", "4"},
        {"dateDifference('2026-03-05T00:00:00Z', '2026-03-10T00:00:00Z', 'hours')", "-120"},
        {"dateDifference('2026-03-05', 'x', 'days')",
         "error(runtime): dateDifference: 'x' is not an ISO 8601 date"},
        {"formatDate('2026-03-08T08:00:00Z', 'HH', 'Mars/Base')",
         "error(runtime): unknown time zone 'Mars/Base'"},
    };
    RUN(cases);
}

static void date_only_is_a_calendar_date(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"formatDate('2026-03-09', 'YYYY-MM-DD', 'America/Chicago')", "\"2026-03-09\""},
        {"formatDate('2026-03-09', 'YYYY-MM-DD HH:mm Z', 'America/Chicago')",
         "\"2026-03-09 00:00 -05:00\""},
        {"formatDate('2026-03-09', 'dddd D MMMM YYYY', 'Pacific/Honolulu')", "\"Monday 9 March 2026\""},
        {"formatDate('2026-03-09', 'YYYY-MM-DD', 'Asia/Tokyo')", "\"2026-03-09\""},
        {"formatDate('2026-03-09')", "\"2026-03-09\""},
        {"addDays('2026-03-09', 1, 'America/Chicago')", "\"2026-03-10\""},
        {"addDays('2026-03-09', -9)", "\"2026-02-28\""},
        {"addDays('2024-02-28', 1)", "\"2024-02-29\""},
        {"addDays('2026-12-31', 1, 'Pacific/Kiritimati')", "\"2027-01-01\""},
        {"addHours('2026-03-09', 2, 'America/Chicago')", "\"2026-03-09T07:00:00.000Z\""},
        {"addMinutes('2026-03-09', 30, 'Asia/Tokyo')", "\"2026-03-08T15:30:00.000Z\""},
        {"dateDifference('2026-03-09', '2026-03-01', 'days', 'America/Chicago')", "8"},
        {"dateDifference('2026-03-09T12:00:00Z', '2026-03-09', 'hours', 'America/Chicago')", "7"},
        {"parseDate('2026-03-09', nil, 'America/Chicago')", "\"2026-03-09T05:00:00.000Z\""},
        {"formatDate('2026-02-30', 'YYYY')",
         "error(runtime): formatDate: '2026-02-30' is not an ISO 8601 date"},
    };
    RUN(cases);
}

/* A date-time without offset is wall time in tz, as a date-only text is a calendar date;
 * offsets outside RFC 3339's range, non-dates and fractions of days say what is wrong. */
static void local_times_and_date_messages(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"formatDate('2026-03-09T00:00:00', 'YYYY-MM-DD', 'America/Chicago')", "\"2026-03-09\""},
        {"formatDate('2026-03-09T00:00:00', 'YYYY-MM-DD HH:mm Z', 'America/Chicago')",
         "\"2026-03-09 00:00 -05:00\""},
        {"parseDate('2026-03-09T10:00:00', nil, 'America/Chicago')", "\"2026-03-09T15:00:00.000Z\""},
        {"parseDate('2026-03-09 10:00:00.250', nil, 'Asia/Tokyo')", "\"2026-03-09T01:00:00.250Z\""},
        {"parseDate('2026-03-09T10:00:00')", "\"2026-03-09T10:00:00.000Z\""},
        {"parseDate('2026-03-08T02:30:00', nil, 'America/Chicago')", "\"2026-03-08T08:30:00.000Z\""},
        {"addDays('2026-03-07T09:00:00', 1, 'America/Chicago')", "\"2026-03-08T14:00:00.000Z\""},
        {"dateDifference('2026-03-09T10:00:00', '2026-03-09T10:00:00Z', 'hours', 'America/Chicago')", "5"},
        {"parseDate('2026-03-09T10:00:00Z', nil, 'America/Chicago')", "\"2026-03-09T10:00:00.000Z\""},
        {"formatDate('2026-03-09T05:00', 'YYYY')",
         "error(runtime): formatDate: '2026-03-09T05:00' is not an ISO 8601 date"},
        {"formatDate('2026-02-30T10:00:00', 'YYYY')",
         "error(runtime): formatDate: '2026-02-30T10:00:00' is not an ISO 8601 date"},
        {"formatDate('2026-03-09T10:00:00+25:00', 'YYYY')",
         "error(runtime): formatDate: '2026-03-09T10:00:00+25:00' has the UTC offset +25:00, out of "
         "range (offsets run from -23:59 to +23:59)"},
        {"parseDate('2026-03-09T10:00:00-10:60')",
         "error(runtime): parseDate: '2026-03-09T10:00:00-10:60' has the UTC offset -10:60, out of "
         "range (offsets run from -23:59 to +23:59)"},
        {"parseDate('2026-03-09 10:00 +25:00', 'YYYY-MM-DD HH:mm Z')",
         "error(runtime): parseDate: '2026-03-09 10:00 +25:00' has the UTC offset +25:00, out of "
         "range (offsets run from -23:59 to +23:59)"},
        {"formatDate('2026-03-09T10:00:00+14:00', 'YYYY-MM-DD HH:mm')", "\"2026-03-08 20:00\""},
        {"formatDate(1/0, 'YYYY')",
         "error(runtime): formatDate: Infinity is not a date: date numbers are milliseconds since "
         "1970-01-01 UTC, within the years 0000-9999"},
        {"formatDate(0/0, 'YYYY')",
         "error(runtime): formatDate: NaN is not a date: date numbers are milliseconds since "
         "1970-01-01 UTC, within the years 0000-9999"},
        {"addHours(1e300, 1)",
         "error(runtime): addHours: 1e+300 is not a date: date numbers are milliseconds since "
         "1970-01-01 UTC, within the years 0000-9999"},
        {"addDays('2026-03-09', 0.5)",
         "error(runtime): addDays: the number of days must be a whole number, not 0.5 (addHours "
         "takes fractions)"},
        {"addDays('2026-03-09T10:00:00Z', 'x')",
         "error(runtime): addDays: the number of days must be a whole number, not x (addHours "
         "takes fractions)"},
        {"addDays('2026-03-09', 1e12)", "error(runtime): addDays: 1000000000000 days leaves the years 0000-9999"},
        {"addHours('2026-03-09T10:00:00Z', 0.5)", "\"2026-03-09T10:30:00.000Z\""},
        {"addHours('2026-03-09T10:00:00Z', 1/0)",
         "error(runtime): addHours: the number of hours must be a number, not Infinity"},
        {"addMinutes('9999-12-31T23:59:00Z', 5)",
         "error(runtime): addMinutes: the result leaves the years 0000-9999"},
        {"addDays('2026-03-09', '2')", "\"2026-03-11\""},
        {"formatDate('2026-03-09', 5)",
         "error(runtime): formatDate: the format must be a text such as 'YYYY-MM-DD', not 5"},
        {"parseDate('2026', {})",
         "error(runtime): parseDate: the format must be a text such as 'YYYY-MM-DD', not {}"},
        /* no message shows a place inside the prelude */
        {"sort({1, 'a'})", "error(runtime): sort: cannot compare a number with a text"},
        /* every token of docs/scenario-format.md's table */
        {"formatDate('2026-03-09T14:05:07.042Z', 'YYYY YY MMMM MMM MM M DD D Do dddd ddd HH H "
         "hh h A a mm m ss s SSS Z ZZ X x [YYYY]')",
         "\"2026 26 March Mar 03 3 09 9 9th Monday Mon 14 14 02 2 PM pm 05 5 07 7 042 +00:00 "
         "+0000 1773065107 1773065107042 YYYY\""},
        /* the ordinal token */
        {"formatDate('2026-03-09', 'MMMM Do')", "\"March 9th\""},
        {"formatDate('2026-03-01', 'Do')", "\"1st\""},
        {"formatDate('2026-03-02', 'Do')", "\"2nd\""},
        {"formatDate('2026-03-03', 'Do')", "\"3rd\""},
        {"formatDate('2026-03-11', 'Do')", "\"11th\""},
        {"formatDate('2026-03-12', 'Do')", "\"12th\""},
        {"formatDate('2026-03-13', 'Do')", "\"13th\""},
        {"formatDate('2026-03-21', 'Do')", "\"21st\""},
        {"formatDate('2026-03-22', 'Do')", "\"22nd\""},
        {"formatDate('2026-03-23', 'Do')", "\"23rd\""},
        {"formatDate('2026-03-31', 'Do [of] MMMM')", "\"31st of March\""},
        {"parseDate('March 22nd 2026', 'MMMM Do YYYY')", "\"2026-03-22T00:00:00.000Z\""},
        {"parseDate('March 22th 2026', 'MMMM Do YYYY')",
         "error(runtime): parseDate: expected '22nd' in 'March 22th 2026'"},
    };
    RUN(cases);
}

static void impossible_dates_are_refused(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"parseDate('2026-02-29', 'YYYY-MM-DD')",
         "error(runtime): parseDate: '2026-02-29' is not a valid date: February 2026 has 28 days"},
        {"parseDate('2024-02-29', 'YYYY-MM-DD')", "\"2024-02-29T00:00:00.000Z\""},
        {"parseDate('2100-02-29', 'YYYY-MM-DD')",
         "error(runtime): parseDate: '2100-02-29' is not a valid date: February 2100 has 28 days"},
        {"parseDate('2026-04-31', 'YYYY-MM-DD')",
         "error(runtime): parseDate: '2026-04-31' is not a valid date: April 2026 has 30 days"},
        {"parseDate('31/06/2026', 'DD/MM/YYYY')",
         "error(runtime): parseDate: '31/06/2026' is not a valid date: June 2026 has 30 days"},
        {"parseDate('00 Jan 2026', 'DD MMM YYYY')",
         "error(runtime): parseDate: '00 Jan 2026' is not a valid date: January 2026 has 31 days"},
        {"parseDate('2026-03-09 25:00', 'YYYY-MM-DD HH:mm')",
         "error(runtime): parseDate: '2026-03-09 25:00' is not a valid time: hour 25 is out of range 0-23"},
        {"parseDate('2026-03-09 24:00', 'YYYY-MM-DD HH:mm')",
         "error(runtime): parseDate: '2026-03-09 24:00' is not a valid time: hour 24 is out of range 0-23"},
        {"parseDate('2026-03-09 10:60', 'YYYY-MM-DD HH:mm')",
         "error(runtime): parseDate: '2026-03-09 10:60' is not a valid time: minute 60 is out of range 0-59"},
        {"parseDate('2026-03-09 10:15:61', 'YYYY-MM-DD HH:mm:ss')",
         "error(runtime): parseDate: '2026-03-09 10:15:61' is not a valid time: second 61 is out of range 0-59"},
        {"parseDate('03/09/2026 13:05 PM', 'MM/DD/YYYY hh:mm A')",
         "error(runtime): parseDate: '03/09/2026 13:05 PM' is not a valid time: hour 13 is out of range 1-12 with AM/PM"},
        {"parseDate('03/09/2026 12:05 AM', 'MM/DD/YYYY hh:mm A')", "\"2026-03-09T00:05:00.000Z\""},
    };
    RUN(cases);
}

static void epoch_seconds_are_not_a_1970_date(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"formatDate(1772956740, 'YYYY-MM-DD')",
         "error(runtime): formatDate: 1772956740 looks like seconds since the epoch; date numbers "
         "are milliseconds: use parseDate(value, 'X') for seconds"},
        {"addDays(1772956740, 1)",
         "error(runtime): addDays: 1772956740 looks like seconds since the epoch; date numbers "
         "are milliseconds: use parseDate(value, 'X') for seconds"},
        {"dateDifference(1772956740, '2026-03-08T00:00:00Z', 'hours')",
         "error(runtime): dateDifference: 1772956740 looks like seconds since the epoch; date "
         "numbers are milliseconds: use parseDate(value, 'X') for seconds"},
        {"formatDate(1772956740000, 'YYYY-MM-DD HH:mm')", "\"2026-03-08 07:59\""},
        {"formatDate('1772956740', 'YYYY-MM-DD')",
         "error(runtime): formatDate: '1772956740' is not an ISO 8601 date (for a count since the "
         "epoch use parseDate(value, 'X') for seconds, 'x' for milliseconds)"},
        {"formatDate(-1772956740, 'YYYY')",
         "error(runtime): formatDate: -1772956740 looks like seconds since the epoch; date numbers "
         "are milliseconds: use parseDate(value, 'X') for seconds"},
        {"formatDate(1772956740.5, 'YYYY')",
         "error(runtime): formatDate: 1772956740.5 looks like seconds since the epoch; date numbers "
         "are milliseconds: use parseDate(value, 'X') for seconds"},
        {"formatDate(-315619200000, 'YYYY-MM-DD')", "\"1960-01-01\""}, /* a birth date */
        {"formatDate(parseDate('1772956740', 'X'), 'YYYY-MM-DD HH:mm')", "\"2026-03-08 07:59\""},
    };
    RUN(cases);
}

static void unicode_case(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"upper('Müller-Østergård')", "\"MÜLLER-ØSTERGÅRD\""},
        {"lower('MÜLLER-ØSTERGÅRD')", "\"müller-østergård\""},
        {"upper('ǆemal łódź ελλάδα')", "\"ǄEMAL ŁÓDŹ ΕΛΛΆΔΑ\""},
        {"lower('İSTANBUL ΣΟΦΊΑ')", "\"istanbul σοφία\""},
        {"upper('straße')", "\"STRAẞE\""}, /* one character for one: capital sharp s */
        {"lower('MU\\u{308}LLER')", "\"mu\u0308ller\""}, /* the form is kept */
        {"upper(42)", "\"42\""},
        {"upper(nil)", "null"},
        {"upper('\\xff')", "error(runtime): upper: text is not valid UTF-8"},
        /* texts compare after NFC: a decomposed ü is the same text */
        {"contains(split('M\\u{FC}ller,x', ','), 'Mu\\u{308}ller')", "true"},
        {"switch('Mu\\u{308}ller', 'Müller', 1, 0)", "1"},
        {"distinct({'Mu\\u{308}ller', 'M\\u{FC}ller', 'MÜLLER'})", "[\"Mu\u0308ller\",\"MÜLLER\"]"},
        {"distinct({{n = 'Mu\\u{308}ller'}, {n = 'M\\u{FC}ller'}}, 'n')", "[{\"n\":\"Mu\u0308ller\"}]"},
        {"contains({{n = 'Mu\\u{308}ller'}}, {n = 'M\\u{FC}ller'})", "true"},
        {"contains({'Muller'}, 'M\\u{FC}ller')", "false"},
        /* texts are searched after NFC too */
        {"contains('Mu\\u{308}ller', 'Müller')", "true"},
        {"contains('Herr Müller', 'Mu\\u{308}ller')", "true"},
        {"contains('Mu\\u{308}ller', 'Muller')", "false"},
        {"startsWith('Mu\\u{308}ller-Ost', 'Müller')", "true"},
        {"endsWith('Frau Mu\\u{308}ller', 'Müller')", "true"},
        {"startsWith('Müller', 'Mu\\u{308}')", "true"},
        {"endsWith('Müller', 'u\\u{308}ller')", "true"},
        {"replace('Mu\\u{308}ller AG', 'Müller', 'M.')", "\"M. AG\""},
        {"contains('\\xff\\xfeab', 'ab')", "true"}, /* not UTF-8: searched as bytes */
    };
    RUN(cases);
}

/* Renders a mixed-text template as a step's with: would. */
/* Blank: no visible character, by Unicode category (Zs, Zl, Zp, Cf, Cc). */
static void blank_text_by_category(void **state)
{
    (void)state;
    assert_true(sc_text_blank(""));
    assert_true(sc_text_blank(" \t\r\n"));
    assert_true(sc_text_blank("\u00a0\u2003\u200b"));       /* no-break, em, zero-width space */
    assert_true(sc_text_blank("\u2028\u2029\ufeff\u3000")); /* line, paragraph sep., BOM, ideographic */
    assert_false(sc_text_blank("\u00a0x"));
    assert_false(sc_text_blank("\u00e9"));
    assert_false(sc_text_blank("\u200b."));
    assert_false(sc_text_blank("\xff"));                      /* invalid UTF-8 counts as visible */
    /* Default_Ignorable_Code_Point: CGJ, Hangul fillers, Khmer inherent vowel, VS16 */
    assert_true(sc_text_blank("\u034f"));
    assert_true(sc_text_blank("\u115f"));
    assert_true(sc_text_blank("\u3164"));
    assert_true(sc_text_blank("\uffa0"));
    assert_true(sc_text_blank("\u17b4"));
    assert_true(sc_text_blank("\ufe0f"));
    assert_true(sc_text_blank("\u2800"));                    /* braille pattern blank */
    assert_true(sc_text_blank("\u00ad\u061c\U000E0041 \u3164\u2800"));
    assert_false(sc_text_blank("\u2801"));                   /* a braille dot is visible */
    assert_false(sc_text_blank("\u3164a"));
    assert_false(sc_text_blank("\u2764\ufe0f"));            /* a heart with VS16 */
}

static void expect_text(const char *tmpl, const char *want)
{
    char err[256];
    json_t *src = json_string(tmpl);
    struct sc_tmpl *t = sc_tmpl_compile(lua, src, err, sizeof err);
    assert_non_null(t);
    enum sc_status st;
    json_t *v = sc_tmpl_render(t, lua, &st, err, sizeof err);
    if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
        fail_msg("%s\n  want %s\n  got  %s", tmpl, want, json_is_string(v) ? json_string_value(v) : err);
    json_decref(v);
    sc_tmpl_free(t, lua);
    json_decref(src);
}

/* Renders tmpl as an identity key (dedupe_key): want is the key, or the error. */
static void expect_key(const char *tmpl, enum sc_status want_st, const char *want)
{
    char err[256] = "";
    json_t *src = json_string(tmpl);
    struct sc_tmpl *t = sc_tmpl_compile(lua, src, err, sizeof err);
    assert_non_null(t);
    sc_tmpl_set_encoder(t, NULL, sc_tmpl_key_value);
    enum sc_status st;
    json_t *v = sc_tmpl_render(t, lua, &st, err, sizeof err);
    const char *got = json_is_string(v) ? json_string_value(v) : err;
    if (st != want_st || strcmp(got, want) != 0)
        fail_msg("%s\n  want %d %s\n  got  %d %s", tmpl, want_st, want, st, got);
    json_decref(v);
    sc_tmpl_free(t, lua);
    json_decref(src);
}

static void key_templates_refuse_empty_parts(void **state)
{
    (void)state;
    const char *missing = ": is null or missing: a key with a part missing would take different "
                          "events for one";
    char want[256];
    expect_key("r-{{ trigger.body.manager.id }}", SC_OK, "r-7");
    expect_key("{{ trigger.body.manager.id }}", SC_OK, "7");
    expect_key("k-{{ 0.1 }}-{{ 1234567890123.45 }}-{{ true }}-{{ {1, 2} }}", SC_OK,
               "k-0.1-1234567890123.45-true-[1,2]");
    snprintf(want, sizeof want, "{{ trigger.body.dept }}%s", missing);
    expect_key("r-{{ trigger.body.dept }}", SC_ERR_DATA, want); /* null */
    expect_key("{{ trigger.body.dept }}", SC_ERR_DATA, want);
    snprintf(want, sizeof want, "{{ trigger.body.result_id }}%s", missing);
    expect_key("r-{{ trigger.body.result_id }}", SC_ERR_DATA, want); /* absent */
    expect_key("{{ trigger.body.manager.name }}-{{ trigger.body.result_id }}", SC_ERR_DATA, want);
    expect_key("r-{{ '' }}", SC_ERR_DATA,
               "{{ '' }}: is empty text: a key with a part missing would take different events for one");
}

static void numbers_in_text_keep_full_precision(void **state)
{
    (void)state;
    json_t *vars = json_loads("{\"rate\": 0.1, \"pay_info\": {\"rate\": 0.1, \"amount\": "
                              "1234567890123.45}}", 0, NULL);
    sc_lua_set(lua, "vars", vars);
    expect_text("v={{ 1234567890123.45 }}", "v=1234567890123.45");
    expect_text("v={{ 0.1 }}", "v=0.1");
    expect_text("v={{ 0.1 + 0.2 }}", "v=0.30000000000000004");
    expect_text("v={{ 1e21 }}", "v=1e+21");
    expect_text("v={{ 1e20 }}", "v=100000000000000000000");
    expect_text("v={{ -0.0 }}", "v=0");
    expect_text("v={{ 3.0 }}", "v=3");
    expect_text("v={{ 2^53 }}", "v=9007199254740992");
    expect_text("v={{ 123456789012345678 }}", "v=123456789012345678");
    expect_text("v={{ 1.5e-7 }}", "v=1.5e-7");
    expect_text("v={{ 0.000001 }}", "v=0.000001");
    expect_text("v={{ -2.5e-300 }}", "v=-2.5e-300");
    expect_text("v={{ 1/3 }}", "v=0.3333333333333333");
    expect_text("v={{ vars.rate }}", "v=0.1");
    expect_text("v={{ vars.pay_info }}", "v={\"rate\":0.1,\"amount\":1234567890123.45}");
    expect_text("v={{ {0.1, 2.5} }}", "v=[0.1,2.5]");
    expect_text("v={{ join({0.1, 1234567890123.45, 7}, ';') }}", "v=0.1;1234567890123.45;7");
    expect_text("v={{ upper(0.1) }}", "v=0.1");
    /* Lua's own number-to-text (%.14g) is replaced wherever the sandbox converts. */
    expect_text("{{ tostring(vars.pay_info.amount) }}", "1234567890123.45");
    expect_text("{{ string.format('%s', vars.pay_info.amount) }}", "1234567890123.45");
    expect_text("{{ string.format('%d|%5.1f|%s|%%s|%s', 3, 2.25, 0.1 + 0.2, 'a') }}",
                "3|  2.2|0.30000000000000004|%s|a");
    expect_text("{{ ('%s'):format(1/3) }}", "0.3333333333333333");
    expect_text("{{ table.concat({vars.pay_info.amount, 7, 'a', 0.1 + 0.2}, ';') }}",
                "1234567890123.45;7;a;0.30000000000000004");
    expect_text("{{ table.concat({1.5, 2.5, 3.5}, '-', 2, 3) .. table.concat({}) }}", "2.5-3.5");
    /* ".." converts inside the VM: each operand goes through the same conversion. */
    expect_text("{{ 'v=' .. vars.pay_info.amount }}", "v=1234567890123.45");
    expect_text("{{ vars.pay_info.amount .. '|' .. 0.1 + 0.2 .. '|' .. 2^53 .. '|' .. 7 .. "
                "'|' .. -vars.rate * 3 }}", "1234567890123.45|0.30000000000000004|9007199254740992|7|-0.30000000000000004");
    expect_text("{{ upper('a' .. 1/3) .. (function() local s = 'x' .. 0.1 return s end)() }}",
                "A0.3333333333333333x0.1");
    expect_text("{{ 1 .. 2 == '12' and #('ab' .. 0.5) .. '' or 'no' }}", "5");
    expect_text("{{ ('a' .. 'b'):upper() .. join({1.5 .. 'x'}, ',') .. [[..]] .. '..' -- a .. b\n }}",
                "AB1.5x....");
    expect_text("{{ 'n=' .. (vars.nope or 'none') }}", "n=none");
    static const struct tcase cases[] = {
        {"'n=' .. vars.nope", "error(runtime): attempt to concatenate a nil value (vars.nope)"},
        {"true .. 'x'", "error(runtime): attempt to concatenate a boolean value (true)"},
        {"(function(...) return ... .. 'x' end)()", "error(runtime): attempt to concatenate a nil value (...)"},
        {"(function(...) return ... .. 'x' end)(0.5, 'b')", "\"0.5x\""},
        {"string.gsub('a', 'a', 'b') .. 'x'", "\"bx\""},
        {"'x' .. {}", "error(runtime): attempt to concatenate a table value"},
        {"setmetatable({}, {__concat = function(a, b) return 'cat' end}) .. 1.5", "\"cat\""},
    };
    RUN(cases);
    expect_text("{{ tostring(3.0) .. ' ' .. tostring(7) .. ' ' .. tostring(1/0) }}", "3 7 Infinity");
    sc_lua_set(lua, "vars", NULL);
    json_decref(vars);
    char num[32];
    assert_int_equal(sc_text_number(5e-324, num), 6);
    assert_string_equal(num, "5e-324");
    sc_text_number(1.7976931348623157e308, num);
    assert_string_equal(num, "1.7976931348623157e+308");
    sc_text_number(-123e-20, num);
    assert_string_equal(num, "-1.23e-18");
}

static void maths(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"round(2.5)", "3"},
        {"round(-2.5)", "-3"},
        {"round(1.23456, 2)", "1.23"},
        {"floor(2.7)", "2"},
        {"ceil(2.1)", "3"},
        {"min(3, 1, 2)", "1"},
        {"max(trigger.body.tags)", "error(runtime): max: 'b' is not a number"},
        {"max(map(trigger.body.items, 'id'))", "3"},
        {"sum(1, 2, 3.5)", "6.5"},
        {"sum(trigger.body.empty)", "0"},
        {"min(trigger.body.empty)", "null"},
        {"round(nil)", "null"},
    };
    RUN(cases);
}

static void arrays(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"map(trigger.body.items, 'n')", "[\"c\",\"a\",\"b\"]"},
        {"map(trigger.body.items, function(x) return x.id * 10 end)", "[30,10,20]"},
        {"map(trigger.body.empty, 'n')", "[]"},
        {"map(trigger.body.missing, 'n')", "[]"},
        {"join(trigger.body.tags, '|')", "\"b|a|b\""},
        {"join(map(trigger.body.items, 'id'), ', ')", "\"3, 1, 2\""},
        {"distinct(trigger.body.tags)", "[\"b\",\"a\"]"},
        {"sort(trigger.body.tags)", "[\"a\",\"b\",\"b\"]"},
        {"sort(trigger.body.items, 'desc', 'id')",
         "[{\"id\":3,\"n\":\"c\"},{\"id\":2,\"n\":\"b\"},{\"id\":1,\"n\":\"a\"}]"},
        {"sort(trigger.body.items)", "error(runtime): sort: can only sort numbers or texts (give a key for objects)"},
        {"first(trigger.body.tags)", "\"b\""},
        {"last(trigger.body.items).id", "2"},
        {"first(trigger.body.empty)", "null"},
        {"slice(trigger.body.tags, 1)", "[\"a\",\"b\"]"},
        {"slice(trigger.body.tags, -1)", "[\"b\"]"},
        {"merge(trigger.body.tags, {'c'})", "[\"b\",\"a\",\"b\",\"c\"]"},
        {"merge(trigger.body.manager, {id = 8})", "{\"id\":8,\"name\":\"Grace\"}"},
        {"keys(trigger.body.manager)", "[\"name\",\"id\"]"},
        {"contains(map(trigger.body.items, 'id'), 2)", "true"},
        {"trigger.body.items[1].n", "\"c\""},
        {"trigger.body", "{\"name\":\"  Ada Lovelace \",\"email\":\"ADA@Example.COM\",\"dept\":null,"
                         "\"tags\":[\"b\",\"a\",\"b\"],\"empty\":[],\"manager\":{\"name\":\"Grace\",\"id\":7},"
                         "\"items\":[{\"id\":3,\"n\":\"c\"},{\"id\":1,\"n\":\"a\"},{\"id\":2,\"n\":\"b\"}],"
                         "\"pay\":130000,\"city\":\"Zürich\"}"},
    };
    RUN(cases);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text),   cmocka_unit_test(text_over_one_mib),
        cmocka_unit_test(general), cmocka_unit_test(dates),
        cmocka_unit_test(unicode_case), cmocka_unit_test(blank_text_by_category),
        cmocka_unit_test(numbers_in_text_keep_full_precision),
        cmocka_unit_test(key_templates_refuse_empty_parts),
        cmocka_unit_test(date_only_is_a_calendar_date),
        cmocka_unit_test(local_times_and_date_messages),
        cmocka_unit_test(impossible_dates_are_refused),
        cmocka_unit_test(epoch_seconds_are_not_a_1970_date),
        cmocka_unit_test(maths),  cmocka_unit_test(arrays),
    };
    return cmocka_run_group_tests_name("prelude", tests, setup, teardown);
}
