/* IANA time zones without process-global state: each zone's rules are loaded once
 * (GLib's GTimeZone, which reads the system zoneinfo and extends its POSIX footer
 * rule to any year) and shared read-only by every thread; nothing touches TZ or tzset.
 * Times are whole seconds: UTC seconds since the epoch, or "wall" seconds, the local
 * calendar time counted as if it were UTC (so civil arithmetic needs no zone).
 * Ownership: a zone is owned by the process-wide cache and never freed. */
#ifndef SC_TZ_H
#define SC_TZ_H

#include <stdbool.h>
#include <stdint.h>

struct sc_tz;

/* The zone called name (an IANA name; NULL, "" and "UTC" are UTC), loaded on first use
 * and cached; NULL when the system's zoneinfo has no such zone. Thread-safe. */
const struct sc_tz *sc_tz_load(const char *name);

/* Offset from UTC (seconds east) in force at UTC second t. */
int32_t sc_tz_offset(const struct sc_tz *z, int64_t t);

/* The first UTC second after t at which the zone's rules change (its offset, usually),
 * or limit when none comes before it. */
int64_t sc_tz_next_change(const struct sc_tz *z, int64_t t, int64_t limit);

/* The UTC second of wall time w. A wall time the zone skips (spring forward) moves on by
 * the gap; one it repeats (fall back) means its first occurrence. */
int64_t sc_tz_from_wall(const struct sc_tz *z, int64_t w);

/* Proleptic Gregorian calendar (ISO 8601), days counted from 1970-01-01. */
struct sc_civil {
    int64_t year;
    int month, day;     /* 1..12, 1..31 */
    int hour, min, sec;
    int wday;           /* 0 = Sunday */
};
int64_t sc_tz_days_from_civil(int64_t y, int m, int d);
/* Calendar fields of wall second w. */
void sc_tz_civil(int64_t w, struct sc_civil *out);
/* Days in month m (1..12) of year y. */
int sc_tz_month_days(int64_t y, int m);

/* True when name is a time zone in the system's zoneinfo database. */
bool sc_tz_valid(const char *name);
/* Nearest valid zone name in the same region for a did-you-mean, or NULL.
 * The result is a static buffer, overwritten by the next call. */
const char *sc_tz_suggest(const char *name);

#endif
