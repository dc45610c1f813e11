/* queue.push and queue.sweep: items on a named work list for people (the HRIS admin
 * drift queue, reconciliation orphans); `scenarist queue list|show|resolve` works it. A
 * keyed push updates the open item of its key instead of adding one, and a sweep after a
 * full reconciliation closes the keyed items that run did not push again, so the queue's
 * open items are the drift as it is now, however many runs came before. */
#include "module.h"
#include "store/store.h"

#include <stddef.h>
#include <stdio.h>

struct with {
    const char *queue, *key;
    const json_t *item;
};

static const struct sc_param params[] = {
    {.name = "queue", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, queue),
     .doc = "The queue's name."},
    {.name = "item", .type = SC_T_ANY, .required = true, .offset = offsetof(struct with, item),
     .doc = "What a person needs to act: any JSON (kind, ids, what differs)."},
    {.name = "key", .type = SC_T_STRING, .flags = SC_P_KEY, .offset = offsetof(struct with, key),
     .doc = "The item's identity (\"{{ steps.drift.kind }}:{{ steps.drift.key }}\"): an open "
            "item with the same key is updated (its body, last_seen, times_seen) instead of "
            "another added, and queue.sweep can close it once a run no longer sees it."},
    {0},
};

/* A queue's name is what people type (`queue list NAME`) and read in a terminal: not
 * empty, no control characters (a line break, an escape sequence). */
static void check(struct sc_check *c, const json_t *with)
{
    const char *q = json_string_value(json_object_get(with, "queue"));
    if (!q)
        return; /* the table reports it */
    if (!*q)
        sc_check_error(c, "queue", "a queue needs a name, as learner-drift");
    for (const unsigned char *p = (const unsigned char *)q; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            sc_check_error(c, "queue", "a queue's name has no control characters (here "
                           "\\x%02X, at byte %d): people type it in `scenarist queue "
                           "list NAME`", *p, (int)(p - (const unsigned char *)q) + 1);
            break;
        }
}

static enum sc_status store_failed(struct sc_store *st, char *err, size_t errlen)
{
    snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
    return SC_ERR_STORE;
}

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
    int64_t id, seen = 1;
    bool added = true;
    if (with->key) {
        struct sc_queue_key_row row = {.queue = queue, .key = with->key,
                                       .item = (json_t *)with->item,
                                       .execution = sc_step_execution_id(ctx)};
        int rc = sc_store_queue_push_key(st, &row, &id, &seen);
        if (rc < 0)
            return store_failed(st, err, errlen);
        added = rc == SC_STORE_OK;
    } else if ((id = sc_store_queue_push(st, queue, (json_t *)with->item,
                                         sc_step_execution_id(ctx))) < 0) {
        return store_failed(st, err, errlen);
    }
    int64_t open = sc_store_queue_open(st, queue);
    if (open < 0)
        return store_failed(st, err, errlen);
    if (added) { /* an item seen before stays: a rollback cannot take back its sighting */
        json_t *undo = json_pack("{s:I}", "id", (json_int_t)id);
        if (!undo || sc_step_set_undo(ctx, undo) != 0) {
            snprintf(err, errlen, "out of memory");
            return SC_ERR_RUNTIME;
        }
    }
    json_t *out = json_pack("{s:s, s:I, s:I}", "queue", queue, "id", (json_int_t)id, "open",
                            (json_int_t)open);
    if (out && with->key)
        json_object_update_new(out, json_pack("{s:s, s:b, s:I}", "key", with->key, "new", added,
                                              "times_seen", (json_int_t)seen));
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
    if (sc_store_queue_resolve(st, json_integer_value(json_object_get(u, "id")), by, NULL) < 0) {
        snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
        return SC_ERR_RUNTIME;
    }
    return SC_OK;
}

const struct sc_module_def sc_mod_queue_push = {
    .flags = SC_M_SHARED,
    .name = "queue.push",
    .summary = "Put an item on a named queue for people (with a key: update the open item of "
               "that key): {queue, id, open, key?, new?, times_seen?}.",
    .params = params,
    .with_size = sizeof(struct with),
    .check = check,
    .run = run,
    .rollback = close_item,
};

struct sweep_with {
    const char *queue, *resolution;
};

static const struct sc_param sweep_params[] = {
    {.name = "queue", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct sweep_with, queue), .doc = "The queue's name."},
    {.name = "resolution", .type = SC_T_STRING,
     .def = "\"resolved: the drift is gone (a full reconciliation no longer finds it)\"",
     .offset = offsetof(struct sweep_with, resolution),
     .doc = "The note each closed item keeps, for the person who reads it."},
    {0},
};

/* Closes the queue's open keyed items this execution did not push: run it once, after
 * every drift of a full reconciliation was pushed (after an aggregate of the reconcile
 * step, which goes on once even when there is no drift). */
static enum sc_status sweep(struct sc_step_ctx *ctx, void *state, const void *with_v,
                            const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct sweep_with *w = with_v;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    char by[160];
    snprintf(by, sizeof by, "queue.sweep of execution %s", sc_step_execution_id(ctx));
    int64_t closed = sc_store_queue_sweep(st, w->queue, sc_step_execution_id(ctx), by,
                                          w->resolution);
    int64_t open = closed < 0 ? -1 : sc_store_queue_open(st, w->queue);
    if (open < 0)
        return store_failed(st, err, errlen);
    json_t *out = json_pack("{s:s, s:I, s:I}", "queue", w->queue, "closed", (json_int_t)closed,
                            "open", (json_int_t)open);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_queue_sweep = {
    .flags = SC_M_SHARED,
    .name = "queue.sweep",
    .summary = "Close the open keyed items of a queue that this execution did not push (the "
               "drift is gone): {queue, closed, open}.",
    .params = sweep_params,
    .with_size = sizeof(struct sweep_with),
    .check = check,
    .run = sweep,
};
