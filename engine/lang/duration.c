#include "lang/duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int sc_duration_parse(const char *s, int64_t *ms, char *err, size_t errlen)
{
    static const struct { const char *unit; int64_t ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    int64_t total = 0;
    const char *p = s;
    int64_t last_unit = INT64_MAX;
    if (!*p) {
        snprintf(err, errlen, "empty duration; write e.g. 60s, 5m, 1h");
        return -1;
    }
    while (*p) {
        if (!isdigit((unsigned char)*p)) {
            snprintf(err, errlen, "'%s' is not a duration; write e.g. 500ms, 60s, 5m, 1h, 1d", s);
            return -1;
        }
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p++ - '0');
            if (n > SC_DURATION_MAX_MS)
                goto too_long;
        }
        int u = -1;
        for (int i = 0; i < (int)(sizeof units / sizeof units[0]); i++) {
            size_t ul = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, ul) == 0 && !isalpha((unsigned char)p[ul]) &&
                (u < 0 || ul > strlen(units[u].unit)))
                u = i;
        }
        if (u < 0) {
            snprintf(err, errlen, "'%s' needs a unit after the number: ms, s, m, h or d", s);
            return -1;
        }
        /* Units in falling order, each once: "1h30m" yes, "30m1h" and "1m1m" no. */
        if (units[u].ms >= last_unit) {
            snprintf(err, errlen, "'%s': write units from largest to smallest, each once", s);
            return -1;
        }
        last_unit = units[u].ms;
        total += n * units[u].ms;
        if (total > SC_DURATION_MAX_MS)
            goto too_long;
        p += strlen(units[u].unit);
    }
    *ms = total;
    return 0;
too_long:
    snprintf(err, errlen, "'%s' is longer than the limit of 366 days", s);
    return -1;
}

int64_t sc_duration_or(const char *s, int64_t def)
{
    int64_t ms;
    char err[64];
    return s && sc_duration_parse(s, &ms, err, sizeof err) == 0 ? ms : def;
}
