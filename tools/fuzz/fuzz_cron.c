/* The cron parser and next-fire computation, durations and time zone names. */
#include "fuzz.h"

#include "lang/cron.h"
#include "lang/tz.h"
#include "lang/duration.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    char s[257];
    memcpy(s, data, size);
    s[size] = '\0';
    struct sc_cron c;
    struct sc_cron_err e;
    if (sc_cron_parse(s, &c, &e) == 0) {
        int64_t t = 1772928000000; /* 2026-03-08T00:00:00Z, a DST night in Chicago */
        for (int i = 0; i < 3 && t >= 0; i++) {
            int64_t n = sc_cron_next(&c, "America/Chicago", t);
            if (n >= 0 && n <= t)
                abort(); /* time must move forward */
            t = n;
        }
    } else if (e.off > size || e.off + e.len > size + 1) {
        abort(); /* the error must point inside the expression (or just past its end) */
    }
    int64_t ms;
    char err[200];
    sc_duration_parse(s, &ms, err, sizeof err);
    sc_tz_valid(s);
    return 0;
}
