/* Durations as scenario files write them: "500ms", "60s", "5m", "1h", "1d", "1h30m".
 * Ownership: plain values, nothing allocated. */
#ifndef SC_DURATION_H
#define SC_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define SC_DURATION_MAX_MS (366LL * 24 * 3600 * 1000)

/* Parses s into milliseconds; on error returns -1 and writes the reason to err. */
int sc_duration_parse(const char *s, int64_t *ms, char *err, size_t errlen);
/* s in milliseconds, or def when s is NULL or not a duration (already validated input). */
int64_t sc_duration_or(const char *s, int64_t def);

#endif
