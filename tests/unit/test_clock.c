/* sc_clock_iso against glibc's gmtime_r: the same text for every millisecond tried. */
#include "test.h"

#include "clock.h"

#include <stdio.h>
#include <time.h>

static void reference(int64_t ms, char *buf, size_t n)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - (int64_t)s * 1000));
}

static void same(int64_t ms)
{
    char got[64], want[64];
    sc_clock_iso(ms, got, sizeof got);
    reference(ms, want, sizeof want);
    if (strcmp(got, want))
        fail_msg("ms %lld: got %s, want %s", (long long)ms, got, want);
}

static void iso_matches_gmtime(void **state)
{
    (void)state;
    char b[64];
    sc_clock_iso(0, b, sizeof b);
    assert_string_equal(b, "1970-01-01T00:00:00.000Z");
    sc_clock_iso(-1, b, sizeof b);
    assert_string_equal(b, "1969-12-31T23:59:59.999Z");
    sc_clock_iso(1772956740123LL, b, sizeof b);
    assert_string_equal(b, "2026-03-08T07:59:00.123Z");
    sc_clock_iso(951782400000LL, b, sizeof b); /* 2000-02-29, a leap day of a 400th year */
    assert_string_equal(b, "2000-02-29T00:00:00.000Z");
    sc_clock_iso(253402300799999LL, b, sizeof b);
    assert_string_equal(b, "9999-12-31T23:59:59.999Z");
    sc_clock_iso(-62167219200000LL, b, sizeof b);
    assert_string_equal(b, "0000-01-01T00:00:00.000Z");
    /* outside years 0-9999 and short buffers: as snprintf would write them */
    same(253402300800000LL);
    same(-62167219200001LL);
    char small[11];
    sc_clock_iso(1772956740123LL, small, sizeof small);
    assert_string_equal(small, "2026-03-08");
    /* every day boundary and a spread of times over years 1600-2400 */
    for (int64_t d = -135000; d <= 157000; d += 7) {
        same(d * 86400000LL);
        same(d * 86400000LL - 1);
    }
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        same((int64_t)(x % 315537897600000ULL) - 62167219200000LL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iso_matches_gmtime),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
