/* sleep: wait, through the engine's clock (never a real sleep in tests). */
#include "clock.h"
#include "lang/duration.h"
#include "module.h"

#include <stddef.h>
#include <stdio.h>

struct with {
    const json_t *duration; /* its text is in the messages */
};

static const struct sc_param params[] = {
    {.name = "duration", .type = SC_T_DURATION, .required = true, .flags = SC_P_JSON,
     .offset = offsetof(struct with, duration), .doc = "How long to wait."},
    {0},
};

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    int64_t ms;
    const char *d = json_string_value(((const struct with *)with)->duration);
    if (!d || sc_duration_parse(d, &ms, err, errlen) != 0) {
        if (!d)
            snprintf(err, errlen, "duration must render to a duration such as 30s");
        return SC_ERR_DATA;
    }
    int64_t left = sc_step_time_left_ms(ctx);
    if (ms > left) {
        sc_clock_sleep_ms(left);
        snprintf(err, errlen, "sleep of %s is longer than the time left to this step (%lld ms)",
                 d, (long long)left);
        return SC_ERR_LIMIT;
    }
    if (!sc_step_park(ctx, sc_clock_now_ms() + ms)) /* the daemon frees the worker */
        sc_clock_sleep_ms(ms);
    return sc_step_emit(ctx, json_pack("{s:I}", "slept_ms", (json_int_t)ms)) == 0
               ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_sleep = {
    .name = "sleep",
    .waits = true,
    .summary = "Pause the execution for a duration (through the clock; the worker is freed).",
    .params = params,
    .with_size = sizeof(struct with),
    .run = run,
};
