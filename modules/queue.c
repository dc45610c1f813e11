/* queue.push: an item on a named work list for people (the HRIS admin drift queue,
 * reconciliation orphans); `scenarist queue list|show|resolve` works it. */
#include "../engine/exec.h"
#include "../engine/store.h"

#include <stdio.h>

static const struct sc_param params[] = {
    {.name = "queue", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "The queue's name."},
    {.name = "item", .type = SC_T_ANY, .required = true,
     .doc = "What a person needs to act: any JSON (kind, ids, what differs)."},
    {0},
};

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const json_t *with,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const char *queue = json_string_value(json_object_get(with, "queue"));
    int64_t id = sc_store_queue_push(st, queue, json_object_get(with, "item"),
                                     sc_step_execution_id(ctx));
    if (id < 0) {
        snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
        return SC_ERR_RUNTIME;
    }
    json_t *out = json_pack("{s:s, s:I}", "queue", queue, "id", (json_int_t)id);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_queue_push = {
    .name = "queue.push",
    .summary = "Put an item on a named queue for people: {queue, id}.",
    .params = params,
    .run = run,
};
