/* Time zone conversions from many threads at once, as the daemon's timers and workers
 * call them: every result must be exact (they once switched the process-global TZ). */
#include "test.h"

#include <pthread.h>
#include <stdio.h>

#include "clock.h"
#include "lang/cron.h"
#include "lang/lua.h"
#include "lang/tz.h"

#define ROUNDS 3000

struct job {
    int kind; /* 0: cron in Chicago, 1: cron in Chatham, 2: formatDate in Tokyo, 3: Chicago */
    int wrong, done;
    char first_wrong[600];
};

static void check(struct job *j, const char *got, const char *want)
{
    j->done++;
    if (strcmp(got, want) != 0 && j->wrong++ == 0)
        snprintf(j->first_wrong, sizeof j->first_wrong, "got %.280s, want %.280s", got, want);
}

static void cron_rounds(struct job *j, const char *expr, const char *tz,
                        const char *const (*cases)[2], size_t n)
{
    struct sc_cron c;
    struct sc_cron_err e;
    if (sc_cron_parse(expr, &c, &e) != 0)
        return;
    for (int r = 0; r < ROUNDS; r++) {
        const char *const *tc = cases[(size_t)r % n];
        int64_t t;
        char iso[40];
        sc_clock_parse_iso(tc[0], &t);
        sc_clock_iso(sc_cron_next(&c, tz, t), iso, sizeof iso);
        check(j, iso, tc[1]);
    }
}

static void lua_rounds(struct job *j, const char *const (*cases)[2], size_t n)
{
    char err[256];
    struct sc_lua *lua = sc_lua_new("lua", 0, err, sizeof err);
    if (!lua) {
        snprintf(j->first_wrong, sizeof j->first_wrong, "%s", err);
        j->wrong++;
        return;
    }
    int refs[4];
    for (size_t i = 0; i < n; i++)
        refs[i] = sc_lua_compile(lua, cases[i][0], strlen(cases[i][0]), err, sizeof err);
    for (int r = 0; r < ROUNDS; r++) {
        size_t i = (size_t)r % n;
        json_t *v = NULL;
        sc_lua_budget(lua, SC_LUA_INSTRUCTIONS, 0);
        if (refs[i] < 0 || sc_lua_eval_json(lua, refs[i], &v, err, sizeof err) != SC_OK) {
            check(j, err, cases[i][1]);
            continue;
        }
        check(j, json_string_value(v) ? json_string_value(v) : "?", cases[i][1]);
        json_decref(v);
    }
    sc_lua_free(lua);
}

static void *worker(void *arg)
{
    struct job *j = arg;
    static const char *const chicago[][2] = {
        {"2026-01-10T12:00:00.000Z", "2026-01-11T08:00:00.000Z"},
        {"2026-07-10T12:00:00.000Z", "2026-07-11T07:00:00.000Z"},
        {"2026-03-07T12:00:00.000Z", "2026-03-08T08:00:00.000Z"}, /* 02:00 skipped: 03:00 CDT */
    };
    static const char *const chatham[][2] = {
        {"2026-09-26T12:00:00.000Z", "2026-09-26T14:00:00.000Z"}, /* 03:00 skipped: 03:45 */
        {"2026-06-10T00:00:00.000Z", "2026-06-10T14:15:00.000Z"},
    };
    static const char *const tokyo[][2] = {
        {"formatDate('2026-03-08T08:00:00Z', 'YYYY-MM-DD HH:mm Z', 'Asia/Tokyo')",
         "2026-03-08 17:00 +09:00"},
        {"formatDate('2026-07-01T20:30:00Z', 'YYYY-MM-DD HH:mm dddd', 'Asia/Tokyo')",
         "2026-07-02 05:30 Thursday"},
    };
    static const char *const chicago_fmt[][2] = {
        {"formatDate('2026-11-01T06:30:00Z', 'HH:mm Z', 'America/Chicago')", "01:30 -05:00"},
        {"formatDate('2026-11-01T07:30:00Z', 'HH:mm Z', 'America/Chicago')", "01:30 -06:00"},
        {"parseDate('2026-03-08 02:30', 'YYYY-MM-DD HH:mm', 'America/Chicago')",
         "2026-03-08T08:30:00.000Z"},
    };
    switch (j->kind) {
    case 0: cron_rounds(j, "0 2 * * *", "America/Chicago", chicago, 3); break;
    case 1: cron_rounds(j, "0 3 * * *", "Pacific/Chatham", chatham, 2); break;
    case 2: lua_rounds(j, tokyo, 2); break;
    default: lua_rounds(j, chicago_fmt, 3); break;
    }
    return NULL;
}

static void conversions_from_many_threads_are_exact(void **state)
{
    (void)state;
    enum { N = 8 };
    pthread_t th[N];
    struct job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct job){.kind = i % 4};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        if (jobs[i].wrong)
            fail_msg("thread %d (kind %d): %d of %d wrong; first: %s", i, jobs[i].kind,
                     jobs[i].wrong, jobs[i].done, jobs[i].first_wrong);
        assert_int_equal(jobs[i].done, ROUNDS);
    }
}

static void zones_load_once(void **state)
{
    (void)state;
    const struct sc_tz *a = sc_tz_load("Asia/Tokyo");
    assert_non_null(a);
    assert_ptr_equal(sc_tz_load("Asia/Tokyo"), a);
    assert_ptr_equal(sc_tz_load(NULL), sc_tz_load("UTC"));
    assert_null(sc_tz_load("Mars/Base"));
    assert_null(sc_tz_load("EST5EDT,M3.2.0,M11.1.0")); /* a POSIX rule, not a zone name */
    assert_int_equal(sc_tz_offset(a, 0), 9 * 3600);
    /* 2026-11-01 01:30 in Chicago is first 06:30Z (CDT) */
    const struct sc_tz *c = sc_tz_load("America/Chicago");
    int64_t w = sc_tz_days_from_civil(2026, 11, 1) * 86400 + 5400;
    assert_true(sc_tz_from_wall(c, w) == 1793514600);
    struct sc_civil d;
    sc_tz_civil(sc_tz_days_from_civil(2104, 2, 29) * 86400, &d);
    assert_true(d.year == 2104 && d.month == 2 && d.day == 29 && d.wday == 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zones_load_once),
        cmocka_unit_test(conversions_from_many_threads_are_exact),
    };
    return cmocka_run_group_tests_name("tz", tests, NULL, NULL);
}
