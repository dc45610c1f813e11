#include "lang/cron.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lang/diag.h"
#include "lang/tz.h"

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is value lo + i */
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, dow_names}, /* 7 is Sunday too */
};

static int fail(struct sc_cron_err *err, size_t off, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct sc_cron_err *err, size_t off, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->off = off;
    err->len = len ? len : 1;
    return -1;
}

/* Reads a number or a name at s[*i]; -1 if neither. */
static int read_value(const struct field *f, const char *s, size_t *i, size_t end)
{
    if (*i < end && isdigit((unsigned char)s[*i])) {
        int v = 0;
        while (*i < end && isdigit((unsigned char)s[*i])) {
            v = v * 10 + (s[*i] - '0');
            if (v > 1000)
                v = 1000;
            (*i)++;
        }
        return v;
    }
    if (f->names && *i + 3 <= end) {
        for (int k = 0; f->names[k]; k++) {
            if (strncasecmp(s + *i, f->names[k], 3) == 0 &&
                (*i + 3 == end || !isalpha((unsigned char)s[*i + 3]))) {
                *i += 3;
                return f->lo + k;
            }
        }
    }
    return -1;
}

static int parse_field(const struct field *f, const char *s, size_t start, size_t end,
                       uint64_t *bits, bool *any, struct sc_cron_err *err)
{
    *bits = 0;
    *any = end - start == 1 && s[start] == '*';
    size_t i = start;
    while (i < end) {
        size_t item = i;
        int lo, hi, step = 1;
        bool range_given = false;
        if (s[i] == '*') {
            lo = f->lo;
            hi = f->hi == 7 ? 6 : f->hi;
            i++;
        } else {
            lo = read_value(f, s, &i, end);
            if (lo < 0)
                return fail(err, i, 1, "%s: expected a number%s, '*', or a list",
                            f->name, f->names ? " or a name" : "");
            hi = lo;
            if (i < end && s[i] == '-') {
                i++;
                hi = read_value(f, s, &i, end);
                if (hi < 0)
                    return fail(err, i, 1, "%s: a range needs an end value", f->name);
                range_given = true;
            }
        }
        if (i < end && s[i] == '/') {
            i++;
            size_t at = i;
            step = read_value(&(struct field){f->name, 0, 0, NULL}, s, &i, end);
            if (step <= 0)
                return fail(err, at, 1, "%s: a step after '/' must be a positive number", f->name);
            if (!range_given && s[item] != '*')
                hi = f->hi == 7 ? 6 : f->hi;
        }
        if (lo < f->lo || lo > f->hi || hi < f->lo || hi > f->hi)
            return fail(err, item, i - item, "%s: %.*s is out of range %d-%d", f->name,
                        (int)(i - item), s + item, f->lo, f->hi);
        if (hi < lo)
            return fail(err, item, i - item, "%s: range %.*s runs backwards", f->name,
                        (int)(i - item), s + item);
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ULL << (f->hi == 7 && v == 7 ? 0 : v);
        if (i < end && s[i] != ',')
            return fail(err, i, 1, "%s: unexpected '%c'", f->name, s[i]);
        if (i < end) {
            i++;
            if (i == end)
                return fail(err, i - 1, 1, "%s: a list cannot end with ','", f->name);
        }
    }
    return 0;
}

int sc_cron_parse(const char *s, struct sc_cron *c, struct sc_cron_err *err)
{
    static const struct { const char *name, *expr; } macros[] = {
        {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
    };
    memset(c, 0, sizeof *c);
    if (s[0] == '@') {
        for (size_t k = 0; k < sizeof macros / sizeof macros[0]; k++)
            if (strcmp(s, macros[k].name) == 0)
                return sc_cron_parse(macros[k].expr, c, err);
        return fail(err, 0, strlen(s), "unknown cron macro '%s' (use @hourly, @daily, "
                    "@weekly, @monthly or @yearly)", s);
    }
    size_t starts[6], ends[6], n = 0, i = 0, len = strlen(s);
    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        if (i >= len)
            break;
        if (n == 5)
            return fail(err, i, len - i, "cron has more than 5 fields (minute hour "
                        "day-of-month month day-of-week); seconds are not supported");
        starts[n] = i;
        while (i < len && s[i] != ' ')
            i++;
        ends[n++] = i;
    }
    if (n != 5)
        return fail(err, 0, len, "cron needs 5 fields (minute hour day-of-month month "
                    "day-of-week), got %zu", n);
    uint64_t bits[5];
    bool any[5];
    for (int k = 0; k < 5; k++)
        if (parse_field(&fields[k], s, starts[k], ends[k], &bits[k], &any[k], err) != 0)
            return -1;
    c->minute = bits[0];
    c->hour = (uint32_t)bits[1];
    c->dom = (uint32_t)bits[2];
    c->month = (uint16_t)bits[3];
    c->dow = (uint8_t)bits[4];
    c->dom_any = any[2];
    c->dow_any = any[4];
    c->hour_wild = memchr(s + starts[1], '*', ends[1] - starts[1]) ||
                   memchr(s + starts[1], '/', ends[1] - starts[1]);
    if (sc_cron_never(c))
        return fail(err, starts[2], ends[3] - starts[2], "this schedule never fires: no month "
                    "in '%.*s' has day %.*s", (int)(ends[3] - starts[3]), s + starts[3],
                    (int)(ends[2] - starts[2]), s + starts[2]);
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static bool day_match(const struct sc_cron *c, const struct sc_civil *d)
{
    bool dom = c->dom >> d->day & 1, dow = c->dow >> d->wday & 1;
    return c->dom_any || c->dow_any ? dom && dow : dom || dow;
}

/* The first wall minute in [from, to) (wall seconds) that c matches, or -1. */
static int64_t search_wall(const struct sc_cron *c, int64_t from, int64_t to)
{
    int64_t day = floor_div(from + 59, 86400);
    int first = (int)(floor_div(from + 59, 60) - day * 1440); /* minute of that day */
    while (day * 86400 < to) {
        struct sc_civil d;
        sc_tz_civil(day * 86400, &d);
        if (!(c->month >> d.month & 1)) { /* skip to the first of the next month */
            day = sc_tz_days_from_civil(d.year + (d.month == 12), d.month % 12 + 1, 1);
            first = 0;
            continue;
        }
        if (day_match(c, &d)) {
            for (int h = first / 60; h < 24; h++) {
                if (!(c->hour >> h & 1))
                    continue;
                int m0 = h == first / 60 ? first % 60 : 0;
                uint64_t mins = c->minute >> m0 << m0 & ((1ULL << 60) - 1);
                if (mins) {
                    int64_t w = day * 86400 + h * 3600 + (int64_t)__builtin_ctzll(mins) * 60;
                    return w < to ? w : -1;
                }
            }
        }
        day++;
        first = 0;
    }
    return -1;
}

bool sc_cron_never(const struct sc_cron *c)
{
    if (!c->dow_any || c->dom_any)
        return false;
    for (int m = 1; m <= 12; m++)
        for (int d = 1; d <= sc_tz_month_days(2000, m); d++) /* 2000: a leap year */
            if (c->month >> m & 1 && c->dom >> d & 1)
                return false;
    return true;
}

/* The Gregorian calendar repeats every 400 years: a day c matches comes within that. */
#define HORIZON ((int64_t)401 * 366 * 86400)

int64_t sc_cron_next(const struct sc_cron *c, const char *tz, int64_t after_ms)
{
    const struct sc_tz *z = sc_tz_load(tz);
    if (!z || sc_cron_never(c))
        return -1;
    int64_t t = floor_div(after_ms, 60000) * 60 + 60; /* the first minute to consider */
    int64_t limit = t + HORIZON;
    int32_t off = sc_tz_offset(z, t);
    int64_t from = t + off;
    /* Did this offset start recently, with clocks going back? Then t may be in the
     * repeated hour, which fires again only for a wildcard or step hour (Vixie cron). */
    int64_t u = t - 86400, next;
    while ((next = sc_tz_next_change(z, u, t + 1)) <= t)
        u = next;
    if (u > t - 86400) {
        int32_t prev = sc_tz_offset(z, u - 1);
        if (prev > off && !c->hour_wild && from < u + prev)
            from = u + prev;
        if (prev < off && floor_div(u + 59, 60) * 60 == t &&
            search_wall(c, u + prev, u + off) >= 0)
            return t * 1000;
    }
    for (;;) {
        int64_t end = sc_tz_next_change(z, t, limit);
        int64_t w = search_wall(c, from, end + off);
        if (w >= 0)
            return (w - off) * 1000;
        if (end >= limit)
            return -1;
        int32_t prev = off;
        off = sc_tz_offset(z, end);
        t = end;
        int64_t minute = floor_div(end + 59, 60) * 60;
        if (off > prev) {
            /* Spring forward: a wall time in the gap fires once, at the first valid minute. */
            if (search_wall(c, end + prev, end + off) >= 0)
                return minute * 1000;
            from = minute + off;
        } else {
            /* Fall back: the repeated wall times fire again only for a wildcard or step hour. */
            from = c->hour_wild ? minute + off : end + prev;
        }
    }
}
