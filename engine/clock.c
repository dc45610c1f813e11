#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_bool test_mode;
static _Atomic int64_t test_now, test_mono;

static int64_t ts_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sc_clock_now_ms(void) { return test_mode ? test_now : ts_ms(CLOCK_REALTIME); }

int64_t sc_clock_mono_ms(void) { return test_mode ? test_mono : ts_ms(CLOCK_MONOTONIC); }

void sc_clock_advance_ms(int64_t ms)
{
    test_now += ms;
    test_mono += ms;
}

struct timespec sc_clock_deadline(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void sc_clock_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    if (test_mode) {
        sc_clock_advance_ms(ms);
        return;
    }
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

void sc_clock_use_test(int64_t start_ms)
{
    test_now = start_ms;
    test_mono = 1000000;
    test_mode = true;
}

bool sc_clock_is_test(void) { return test_mode; }

int sc_clock_from_env(void)
{
    const char *v = getenv("SCENARIST_CLOCK");
    if (!v || !*v)
        return 0;
    int64_t ms;
    if (strncmp(v, "test:", 5) != 0 || sc_clock_parse_iso(v + 5, &ms) != 0)
        return -1;
    sc_clock_use_test(ms);
    return 0;
}

static void put_digits(char *p, unsigned v, int width)
{
    while (width-- > 0) {
        p[width] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Every execution formats its times several times: glibc's gmtime_r (a lock and the zone
 * rules) and snprintf cost ~3,800 instructions a call; this computes the civil date from
 * the day number (Howard Hinnant's days_from_civil inverse, exact for the proleptic
 * Gregorian calendar) for years 0-9999 and leaves the rest to gmtime_r. */
void sc_clock_iso(int64_t ms, char *buf, size_t n)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int64_t days = (int64_t)s >= 0 ? (int64_t)s / 86400 : ((int64_t)s - 86399) / 86400;
    int64_t sod = (int64_t)s - days * 86400, z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1, mon = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (mon <= 2);
    if (n >= 25 && year >= 0 && year <= 9999) {
        memcpy(buf, "0000-00-00T00:00:00.000Z", 25);
        put_digits(buf, (unsigned)year, 4);
        put_digits(buf + 5, (unsigned)mon, 2);
        put_digits(buf + 8, (unsigned)day, 2);
        put_digits(buf + 11, (unsigned)(sod / 3600), 2);
        put_digits(buf + 14, (unsigned)(sod / 60 % 60), 2);
        put_digits(buf + 17, (unsigned)(sod % 60), 2);
        put_digits(buf + 20, (unsigned)(ms - (int64_t)s * 1000), 3);
        return;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - (int64_t)s * 1000));
}

int sc_clock_parse_iso(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    const char *p = s + n;
    int frac = 0;
    if (*p == 'T' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &m) != 3 || m != 8)
            return -1;
        p += 1 + m;
        if (*p == '.') {
            int digits = 0;
            p++;
            while (*p >= '0' && *p <= '9') {
                if (digits < 3)
                    frac = frac * 10 + (*p - '0');
                digits++;
                p++;
            }
            if (digits == 0)
                return -1;
            for (; digits < 3; digits++)
                frac *= 10;
        }
    }
    int off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
            return -1;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else if (*p) {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) /* timegm normalised an impossible date such as Feb 30 */
        return -1;
    *ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
    return 0;
}
