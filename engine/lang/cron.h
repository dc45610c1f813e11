/* Five-field cron expressions (minute hour day-of-month month day-of-week) and
 * IANA time zone names. Ownership: plain values, nothing allocated. */
#ifndef SC_CRON_H
#define SC_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sc_cron {
    uint64_t minute;  /* bit n set: minute n fires */
    uint32_t hour;
    uint32_t dom;     /* bits 1..31 */
    uint16_t month;   /* bits 1..12 */
    uint8_t dow;      /* bits 0..6, Sunday = 0 */
    bool dom_any, dow_any; /* "*": cron's rule is OR when both are restricted */
    bool hour_wild;        /* the hour field has a '*' or a step: repeats at fall-back */
};

struct sc_cron_err {
    char msg[160];
    size_t off, len; /* the offending text inside the expression */
};

/* Accepts numbers, names (JAN-DEC, SUN-SAT), "*", ranges, steps, lists and the
 * macros @hourly @daily @midnight @weekly @monthly @yearly @annually. A line that can
 * never fire (day 30 of February) is an error pointing at its day and month fields. */
int sc_cron_parse(const char *s, struct sc_cron *c, struct sc_cron_err *err);

/* True when no date matches c: a day-of-month that none of its months has. */
bool sc_cron_never(const struct sc_cron *c);

/* The first fire time strictly after after_ms (ms since the epoch) of c in time zone tz
 * (an IANA name; NULL or "": UTC). Daylight saving: a wall time that spring-forward
 * skips fires once, at the first valid minute after the gap; a wall time that fall-back
 * repeats fires at both occurrences when the hour field has a '*' or a step (every
 * quarter hour goes on through the repeated hour, as in Vixie cron and cronie), else
 * only at the first. -1 for an unknown zone or a line that never fires (the search
 * covers the 400-year Gregorian cycle). Thread-safe: zones load once (tz.h). */
int64_t sc_cron_next(const struct sc_cron *c, const char *tz, int64_t after_ms);

#endif
