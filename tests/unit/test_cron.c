#include "test.h"

#include "lang/cron.h"
#include "lang/tz.h"
#include "lang/duration.h"

static void fields_numbers_names_ranges_steps(void **state)
{
    (void)state;
    struct sc_cron c;
    struct sc_cron_err e;
    assert_int_equal(sc_cron_parse("0 2 * * *", &c, &e), 0);
    assert_true(c.minute == 1ULL);
    assert_true(c.hour == 1U << 2);
    assert_true(c.dom_any && c.dow_any);
    assert_int_equal(sc_cron_parse("*/15 9-17 1,15 JAN-mar MON-FRI", &c, &e), 0);
    assert_true(c.minute == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)));
    assert_true(c.hour == 0x3FE00);
    assert_true(c.dom == ((1U << 1) | (1U << 15)));
    assert_true(c.month == 0xE);
    assert_true(c.dow == 0x3E);
    assert_false(c.dom_any || c.dow_any);
    assert_int_equal(sc_cron_parse("0 0 * * 7", &c, &e), 0);
    assert_true(c.dow == 1); /* 7 is Sunday */
    assert_int_equal(sc_cron_parse("5/20 * * * *", &c, &e), 0);
    assert_true(c.minute == ((1ULL << 5) | (1ULL << 25) | (1ULL << 45)));
    assert_int_equal(sc_cron_parse("  0   3  *  *  0 ", &c, &e), 0);
}

static void macros(void **state)
{
    (void)state;
    struct sc_cron c, d;
    struct sc_cron_err e;
    assert_int_equal(sc_cron_parse("@daily", &c, &e), 0);
    assert_int_equal(sc_cron_parse("0 0 * * *", &d, &e), 0);
    assert_memory_equal(&c, &d, sizeof c);
    assert_int_equal(sc_cron_parse("@fortnightly", &c, &e), -1);
    assert_int_equal(e.off, 0);
    assert_int_equal(e.len, 12);
}

static void expect_err(const char *s, const char *msg, size_t off, size_t len)
{
    struct sc_cron c;
    struct sc_cron_err e;
    assert_int_equal(sc_cron_parse(s, &c, &e), -1);
    assert_string_equal(e.msg, msg);
    assert_int_equal(e.off, off);
    assert_int_equal(e.len, len);
}

static void errors_name_the_field_and_place(void **state)
{
    (void)state;
    expect_err("61 * * * *", "minute: 61 is out of range 0-59", 0, 2);
    expect_err("0 2 * *", "cron needs 5 fields (minute hour day-of-month month day-of-week), got 4", 0, 7);
    expect_err("0 0 0 * * *", "cron has more than 5 fields (minute hour day-of-month month "
               "day-of-week); seconds are not supported", 10, 1);
    expect_err("0 5-2 * * *", "hour: range 5-2 runs backwards", 2, 3);
    expect_err("0 * * FOO *", "month: expected a number or a name, '*', or a list", 6, 1);
    expect_err("*/0 * * * *", "minute: a step after '/' must be a positive number", 2, 1);
    expect_err("1,2, * * * *", "minute: a list cannot end with ','", 3, 1);
    expect_err("0 * 0 * *", "day-of-month: 0 is out of range 1-31", 4, 1);
    expect_err("0 * * * 8", "day-of-week: 8 is out of range 0-7", 8, 1);
    expect_err("1x * * * *", "minute: unexpected 'x'", 1, 1);
}

static void time_zones(void **state)
{
    (void)state;
    assert_true(sc_tz_valid("UTC"));
    assert_true(sc_tz_valid("America/Chicago"));
    assert_true(sc_tz_valid("Europe/Berlin"));
    assert_false(sc_tz_valid("America/Chicgo"));
    assert_false(sc_tz_valid("../../etc/passwd"));
    assert_false(sc_tz_valid("/etc/localtime"));
    assert_false(sc_tz_valid("America")); /* a folder, not a zone */
    assert_string_equal(sc_tz_suggest("America/Chicgo"), "America/Chicago");
    assert_null(sc_tz_suggest("Nowhere/Land"));
}

static void durations(void **state)
{
    (void)state;
    int64_t ms;
    char err[128];
    assert_int_equal(sc_duration_parse("60s", &ms, err, sizeof err), 0);
    assert_true(ms == 60000);
    assert_int_equal(sc_duration_parse("500ms", &ms, err, sizeof err), 0);
    assert_true(ms == 500);
    assert_int_equal(sc_duration_parse("1h30m", &ms, err, sizeof err), 0);
    assert_true(ms == 5400000);
    assert_int_equal(sc_duration_parse("1d2h3m4s5ms", &ms, err, sizeof err), 0);
    assert_true(ms == 93784005);
    assert_int_equal(sc_duration_parse("0s", &ms, err, sizeof err), 0);
    assert_true(ms == 0);
    assert_int_equal(sc_duration_parse("60", &ms, err, sizeof err), -1);
    assert_string_equal(err, "'60' needs a unit after the number: ms, s, m, h or d");
    assert_int_equal(sc_duration_parse("5min", &ms, err, sizeof err), -1);
    assert_int_equal(sc_duration_parse("30m1h", &ms, err, sizeof err), -1);
    assert_string_equal(err, "'30m1h': write units from largest to smallest, each once");
    assert_int_equal(sc_duration_parse("1m1m", &ms, err, sizeof err), -1);
    assert_int_equal(sc_duration_parse("-5s", &ms, err, sizeof err), -1);
    assert_string_equal(err, "'-5s' is not a duration; write e.g. 500ms, 60s, 5m, 1h, 1d");
    assert_int_equal(sc_duration_parse("", &ms, err, sizeof err), -1);
    assert_int_equal(sc_duration_parse("367d", &ms, err, sizeof err), -1);
    assert_string_equal(err, "'367d' is longer than the limit of 366 days");
    assert_int_equal(sc_duration_parse("99999999999999999999s", &ms, err, sizeof err), -1);
}

#include "clock.h"

#include <stdio.h>

/* The fires of expr in tz after start, as UTC ISO times, comma-separated. */
static void expect_fires(const char *expr, const char *tz, const char *start, int n,
                         const char *want)
{
    struct sc_cron c;
    struct sc_cron_err e;
    assert_int_equal(sc_cron_parse(expr, &c, &e), 0);
    int64_t t;
    assert_int_equal(sc_clock_parse_iso(start, &t), 0);
    char got[1024] = "", iso[40];
    for (int i = 0; i < n; i++) {
        t = sc_cron_next(&c, tz, t);
        assert_true(t > 0);
        sc_clock_iso(t, iso, sizeof iso);
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%.16s", i ? "," : "", iso);
    }
    assert_string_equal(got, want);
}

static void next_fire_in_a_time_zone(void **state)
{
    (void)state;
    /* 02:00 in Chicago: 08:00Z in winter (CST), 07:00Z in summer (CDT) */
    expect_fires("0 2 * * *", "America/Chicago", "2026-01-10T00:00:00Z", 2,
                 "2026-01-10T08:00,2026-01-11T08:00");
    expect_fires("0 2 * * *", "UTC", "2026-01-10T02:00:00Z", 1, "2026-01-11T02:00");
    expect_fires("0 2 * * *", NULL, "2026-01-10T01:59:59.999Z", 1, "2026-01-10T02:00");
    /* day-of-month and day-of-week both restricted: either fires (cron's rule) */
    expect_fires("0 9 13 * FRI", "UTC", "2026-02-01T00:00:00Z", 3,
                 "2026-02-06T09:00,2026-02-13T09:00,2026-02-20T09:00");
    /* a leap day, four years on */
    expect_fires("0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", 1, "2028-02-29T00:00");
}

static void spring_forward_fires_once_after_the_gap(void **state)
{
    (void)state;
    /* 2026-03-08 02:00 CST does not exist in Chicago (clocks go to 03:00 CDT = 08:00Z) */
    expect_fires("30 2 * * *", "America/Chicago", "2026-03-07T12:00:00Z", 3,
                 "2026-03-08T08:00,2026-03-09T07:30,2026-03-10T07:30");
    /* every quarter hour: 01:45 CST, then 03:00 CDT once for the whole gap */
    expect_fires("*/15 * * * *", "America/Chicago", "2026-03-08T07:40:00Z", 3,
                 "2026-03-08T07:45,2026-03-08T08:00,2026-03-08T08:15");
    /* a time outside the gap is untouched */
    expect_fires("0 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2,
                 "2026-03-29T01:00,2026-03-30T00:00");
}

static void fall_back_fires_once(void **state)
{
    (void)state;
    /* a fixed hour in the repeated hour fires once, at its first occurrence */
    expect_fires("30 1 * * *", "America/Chicago", "2026-11-01T06:30:00Z", 1,
                 "2026-11-02T07:30");
    expect_fires("0 1 * * *", "America/Chicago", "2026-11-01T06:10:00Z", 1, "2026-11-02T07:00");
    expect_fires("0-59/30 1-2 * * *", "America/Chicago", "2026-11-01T05:40:00Z", 4,
                 "2026-11-01T06:00,2026-11-01T06:30,2026-11-01T08:00,2026-11-01T08:30");
    /* 2026-11-01 01:30 happens twice in Chicago (06:30Z CDT, 07:30Z CST): once */
    expect_fires("30 1 * * *", "America/Chicago", "2026-10-31T12:00:00Z", 3,
                 "2026-11-01T06:30,2026-11-02T07:30,2026-11-03T07:30");
}

static void fall_back_repeats_a_wildcard_or_step_hour(void **state)
{
    (void)state;
    /* every quarter hour goes on through both 01:xx hours (Vixie cron, cronie) */
    expect_fires("*/15 * * * *", "America/Chicago", "2026-11-01T05:50:00Z", 9,
                 "2026-11-01T06:00,2026-11-01T06:15,2026-11-01T06:30,2026-11-01T06:45,"
                 "2026-11-01T07:00,2026-11-01T07:15,2026-11-01T07:30,2026-11-01T07:45,"
                 "2026-11-01T08:00");
    /* hourly across the change: 01:00 CDT, 01:00 CST, 02:00 CST */
    expect_fires("@hourly", "America/Chicago", "2026-11-01T05:30:00Z", 3,
                 "2026-11-01T06:00,2026-11-01T07:00,2026-11-01T08:00");
    expect_fires("0 */1 * * *", "America/Chicago", "2026-11-01T05:30:00Z", 3,
                 "2026-11-01T06:00,2026-11-01T07:00,2026-11-01T08:00");
    /* starting inside the repeated hour */
    expect_fires("*/15 * * * *", "America/Chicago", "2026-11-01T07:20:00Z", 2,
                 "2026-11-01T07:30,2026-11-01T07:45");
    /* Berlin: 02:00-02:59 repeats (00:00Z-01:59Z) */
    expect_fires("30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", 3,
                 "2026-10-25T00:30,2026-10-25T01:30,2026-10-25T02:30");
    /* 02:00 on the day of the change is 02:00 CST */
    expect_fires("0 2 * * *", "America/Chicago", "2026-10-31T12:00:00Z", 2,
                 "2026-11-01T08:00,2026-11-02T08:00");
}

static void chatham_changes_at_quarter_to(void **state)
{
    (void)state;
    /* Pacific/Chatham, 2026-09-27: 02:45 +1245 becomes 03:45 +1345 (13:59:59Z the day before
     * is 02:44:59 local); 03:00-03:44 does not exist. */
    expect_fires("0 3 * * *", "Pacific/Chatham", "2026-09-26T12:00:00Z", 2,
                 "2026-09-26T14:00,2026-09-27T13:15");
    expect_fires("45 3 * * *", "Pacific/Chatham", "2026-09-26T12:00:00Z", 2,
                 "2026-09-26T14:00,2026-09-27T14:00");
    expect_fires("*/5 3 * * *", "Pacific/Chatham", "2026-09-26T12:00:00Z", 4,
                 "2026-09-26T14:00,2026-09-26T14:05,2026-09-26T14:10,2026-09-27T13:15");
    expect_fires("44 2 * * *", "Pacific/Chatham", "2026-09-26T12:00:00Z", 1, "2026-09-26T13:59");
}

static void leap_days_across_centuries(void **state)
{
    (void)state;
    /* 2100 is not a leap year: eight years from 2096 to 2104 */
    expect_fires("0 0 29 2 *", "UTC", "2097-01-01T00:00:00Z", 2, "2104-02-29T00:00,2108-02-29T00:00");
    expect_fires("0 0 29 2 *", "America/Chicago", "2097-01-01T00:00:00Z", 2,
                 "2104-02-29T06:00,2108-02-29T06:00");
    /* Friday the 29th of February: 2036, then 2064 */
    expect_fires("0 12 29 2 *", "UTC", "2036-03-01T00:00:00Z", 1, "2040-02-29T12:00");
}

static void never_fires_is_an_error(void **state)
{
    (void)state;
    static const char *const lines[][2] = {
        {"0 0 30 2 *", "this schedule never fires: no month in '2' has day 30"},
        {"0 0 31 4 *", "this schedule never fires: no month in '4' has day 31"},
        {"0 0 31 APR,JUN,SEP,NOV *", "this schedule never fires: no month in 'APR,JUN,SEP,NOV' has day 31"},
        {"0 0 30-31 feb *", "this schedule never fires: no month in 'feb' has day 30-31"},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct sc_cron c;
        struct sc_cron_err e;
        assert_int_equal(sc_cron_parse(lines[i][0], &c, &e), -1);
        assert_string_equal(e.msg, lines[i][1]);
        assert_int_equal(e.off, 4);
    }
    struct sc_cron c;
    struct sc_cron_err e;
    /* with a day of the week too, cron's OR rule makes it fire on Mondays */
    assert_int_equal(sc_cron_parse("0 0 30 2 MON", &c, &e), 0);
    assert_int_equal(sc_cron_parse("0 0 31 2,3 *", &c, &e), 0);
    assert_false(sc_cron_never(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_numbers_names_ranges_steps),
        cmocka_unit_test(macros),
        cmocka_unit_test(errors_name_the_field_and_place),
        cmocka_unit_test(time_zones),
        cmocka_unit_test(durations),
        cmocka_unit_test(next_fire_in_a_time_zone),
        cmocka_unit_test(spring_forward_fires_once_after_the_gap),
        cmocka_unit_test(fall_back_fires_once),
        cmocka_unit_test(fall_back_repeats_a_wildcard_or_step_hour),
        cmocka_unit_test(chatham_changes_at_quarter_to),
        cmocka_unit_test(leap_days_across_centuries),
        cmocka_unit_test(never_fires_is_an_error),
    };
    return cmocka_run_group_tests_name("cron", tests, NULL, NULL);
}
