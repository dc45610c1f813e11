/* The one clock: every wait (retry intervals, schedules, sleep steps) and every
 * "now" goes through it, so tests can drive time instead of sleeping.
 * Ownership: process-wide state, no allocation. */
#ifndef SC_CLOCK_H
#define SC_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Wall time in milliseconds since the epoch. */
int64_t sc_clock_now_ms(void);
/* Monotonic milliseconds, for durations and deadlines. */
int64_t sc_clock_mono_ms(void);
/* Waits ms (the test clock just advances). */
void sc_clock_sleep_ms(int64_t ms);
/* The real time ms from now, as pthread_cond_timedwait takes a deadline: for waits on
 * other threads, which the test clock does not drive. */
struct timespec sc_clock_deadline(int64_t ms);

/* Switches to the test clock, starting at wall time start_ms; time moves only
 * through sc_clock_sleep_ms and sc_clock_advance_ms. */
void sc_clock_use_test(int64_t start_ms);
void sc_clock_advance_ms(int64_t ms);
bool sc_clock_is_test(void);

/* Reads SCENARIST_CLOCK=test:ISO-8601-UTC (e.g. test:2026-03-08T07:59:00Z) and switches
 * to the test clock; returns -1 if the variable is set but malformed. */
int sc_clock_from_env(void);

/* Formats ms since the epoch as ISO 8601 UTC with milliseconds ("...T08:00:00.000Z"). */
void sc_clock_iso(int64_t ms, char *buf, size_t n);
/* Parses "YYYY-MM-DDTHH:MM:SS[.mmm](Z|+HH:MM)" into ms; -1 on error. */
int sc_clock_parse_iso(const char *s, int64_t *ms);

#endif
