/* queue.push: an item on a named work list for people (the HRIS admin drift queue,
 * reconciliation orphans); `scenarist queue list|show|resolve` works it. */
#include "module.h"
#include "store/store.h"

#include <stddef.h>
#include <stdio.h>

struct with {
    const char *queue;
    const json_t *item;
};

static const struct sc_param params[] = {
    {.name = "queue", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, queue),
     .doc = "The queue's name."},
    {.name = "item", .type = SC_T_ANY, .required = true, .offset = offsetof(struct with, item),
     .doc = "What a person needs to act: any JSON (kind, ids, what differs)."},
    {0},
};

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct with *with = with_v;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const char *queue = with->queue;
    int64_t id = sc_store_queue_push(st, queue, (json_t *)with->item,
                                     sc_step_execution_id(ctx));
    if (id < 0) {
        snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
        return SC_ERR_RUNTIME;
    }
    json_t *undo = json_pack("{s:I}", "id", (json_int_t)id);
    if (!undo || sc_step_set_undo(ctx, undo) != 0) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    json_t *out = json_pack("{s:s, s:I}", "queue", queue, "id", (json_int_t)id);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

/* A rollback closes the item it pushed (still open): nobody is asked to act on work
 * the execution undid. It stays on record, resolved by "rollback of execution ID". */
static enum sc_status close_item(struct sc_step_ctx *ctx, void *state, char *err, size_t errlen)
{
    (void)state;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    json_t *u = sc_step_undo(ctx);
    if (!st || !u)
        return st ? SC_OK : SC_ERR_CONFIG;
    char by[160];
    snprintf(by, sizeof by, "rollback of execution %s", sc_step_execution_id(ctx));
    if (sc_store_queue_resolve(st, json_integer_value(json_object_get(u, "id")), by) < 0) {
        snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
        return SC_ERR_RUNTIME;
    }
    return SC_OK;
}

const struct sc_module_def sc_mod_queue_push = {
    .name = "queue.push",
    .summary = "Put an item on a named queue for people: {queue, id}.",
    .params = params,
    .with_size = sizeof(struct with),
    .run = run,
    .rollback = close_item,
};
