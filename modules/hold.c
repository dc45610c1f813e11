/* hold: pauses the bundle until a person decides (`scenarist holds approve|reject`).
 * Never retried by itself: an approval runs the execution again from here, and this
 * step then lets the bundle through; a rejection ends the execution. */
#include "module.h"
#include "store/store.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct with {
    const char *reason;
    const json_t *diff;
};

static const struct sc_param params[] = {
    {.name = "reason", .type = SC_T_STRING, .required = true,
     .offset = offsetof(struct with, reason),
     .doc = "Why, for the person deciding (\"pay rate differs from the offer\")."},
    {.name = "diff", .type = SC_T_ANY, .offset = offsetof(struct with, diff), .doc = "What differs, e.g. {{ steps.check.diff }}."},
    {0},
};

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    const struct with *with = with_v;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const char *exec = sc_step_execution_id(ctx), *step = sc_step_id(ctx),
               *bundle = sc_step_bundle(ctx);
    json_t *h = sc_store_hold_get(st, exec, step, bundle);
    const char *s = json_string_value(json_object_get(h, "state"));
    if (s && !strcmp(s, "approved")) { /* a person said go on */
        json_decref(h);
        return sc_step_emit(ctx, json_incref((json_t *)(input ? input : json_null()))) == 0
                   ? SC_OK : SC_ERR_RUNTIME;
    }
    if (s && !strcmp(s, "rejected")) {
        snprintf(err, errlen, "hold %lld was rejected by %s",
                 (long long)json_integer_value(json_object_get(h, "id")),
                 json_string_value(json_object_get(h, "decided_by")));
        json_decref(h);
        return SC_ERR_DATA;
    }
    if (!h) {
        const char *reason = with->reason;
        int64_t id = sc_store_hold_put(st, exec, sc_step_scenario(ctx), step, bundle, reason,
                                       (json_t *)with->diff);
        if (id < 0) {
            snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
            return SC_ERR_STORE;
        }
        h = json_pack("{s:I, s:s, s:O*}", "id", (json_int_t)id, "reason", reason, "diff",
                      (json_t *)with->diff);
    }
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    json_object_del(h, "execution");
    sc_step_hold(ctx, h);
    return SC_OK;
}

const struct sc_module_def sc_mod_hold = {
    .flags = SC_M_SHARED,
    .name = "hold",
    .summary = "Pause the bundle for a person's decision (holds approve|reject); never auto-retried.",
    .params = params,
    .with_size = sizeof(struct with),
    .run = run,
};
