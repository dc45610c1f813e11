/* datastore.get|set|delete|search: named key/value tables of JSON in the org's store
 * (lookups, cursors, cross-reference ids). set and delete can be undone: each hands the
 * engine the record as it was (recorded undo), and a `rollback` directive puts it back,
 * unless another execution changed the record since. */
#include "clock.h"
#include "module.h"
#include "store/store.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The parameters of all four, each table binding its own. */
struct with {
    const char *store, *key, *prefix;
    const json_t *def, *value;
    int64_t ttl_ms;
    json_int_t limit;
};

#define STORE_PARAM                                                                          \
    {.name = "store", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,           \
     .offset = offsetof(struct with, store), .doc = "Name of the data store (a table of its own)."}
#define KEY_PARAM                                                                            \
    {.name = "key", .type = SC_T_STRING, .required = true, .offset = offsetof(struct with, key), \
     .doc = "The record's key."}

static const struct sc_param get_params[] = {
    STORE_PARAM,
    KEY_PARAM,
    {.name = "default", .type = SC_T_ANY, .offset = offsetof(struct with, def),
     .doc = "Value when there is none (else null, found false)."},
    {0},
};
static const struct sc_param set_params[] = {
    STORE_PARAM,
    KEY_PARAM,
    {.name = "value", .type = SC_T_ANY, .required = true, .offset = offsetof(struct with, value),
     .doc = "Any JSON value."},
    {.name = "ttl", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, ttl_ms),
     .doc = "Forget the record after this long (default: keep)."},
    {0},
};
static const struct sc_param delete_params[] = {
    STORE_PARAM,
    KEY_PARAM,
    {0},
};
static const struct sc_param search_params[] = {
    STORE_PARAM,
    {.name = "prefix", .type = SC_T_STRING, .def = "\"\"", .offset = offsetof(struct with, prefix),
     .doc = "Keys starting with this."},
    {.name = "limit", .type = SC_T_INT, .def = "100", .flags = SC_P_STATIC,
     .offset = offsetof(struct with, limit), .doc = "Most records."},
    {0},
};

static enum sc_status failed(struct sc_store *st, char *err, size_t errlen)
{
    snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
    return SC_ERR_STORE;
}

/* A text of the undo record; "" when absent. */
static const char *str(const json_t *u, const char *k)
{
    const char *v = json_string_value(json_object_get(u, k));
    return v ? v : "";
}

/* A bound text; "" when it rendered to something else. */
static const char *text(const char *v) { return v ? v : ""; }

static enum sc_status run_get(struct sc_step_ctx *ctx, void *state, const void *with_v,
                              const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const struct with *w = with_v;
    json_t *v = sc_store_ds_get(st, text(w->store), text(w->key));
    if (!v && sc_store_error(st)[0])
        return failed(st, err, errlen);
    json_t *def = (json_t *)w->def;
    json_t *out = json_pack("{s:s, s:b, s:O}", "key", text(w->key), "found", v != NULL,
                            "value", v ? v : def ? def : json_null());
    json_decref(v);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

/* Before a write: the record as it is, for the rollback hook: {store, key, had, value?,
 * expires_ms?, wrote?} (wrote: what this step leaves there; absent after a delete). */
static int keep_undo(struct sc_step_ctx *ctx, struct sc_store *st, const char *store,
                     const char *key, json_t *wrote)
{
    int64_t expires;
    json_t *old = sc_store_ds_entry(st, store, key, &expires);
    if (!old && sc_store_error(st)[0])
        return -1;
    json_t *u = json_pack("{s:s, s:s, s:b}", "store", store, "key", key, "had", old != NULL);
    if (u && old)
        json_object_set(u, "value", old);
    if (u && old && expires >= 0)
        json_object_set_new(u, "expires_ms", json_integer(expires));
    if (u && wrote)
        json_object_set(u, "wrote", wrote);
    json_decref(old);
    return u ? sc_step_set_undo(ctx, u) : -1;
}

/* Puts a record back as the undo data says, if it still holds what the step left. */
static enum sc_status undo(struct sc_step_ctx *ctx, void *state, char *err, size_t errlen)
{
    (void)state;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    json_t *u = sc_step_undo(ctx);
    if (!st || !u)
        return st ? SC_OK : SC_ERR_CONFIG;
    const char *store = str(u, "store"), *key = str(u, "key");
    int64_t expires;
    json_t *now = sc_store_ds_entry(st, store, key, &expires);
    if (!now && sc_store_error(st)[0])
        return failed(st, err, errlen);
    json_t *wrote = json_object_get(u, "wrote");
    bool same = wrote ? now && json_equal(now, wrote) : !now;
    json_decref(now);
    if (!same) {
        snprintf(err, errlen, "record %s of data store %s was changed since by another "
                 "execution: left as it is", key, store);
        return SC_ERR_DATA;
    }
    int rc;
    if (!json_is_true(json_object_get(u, "had"))) {
        rc = sc_store_ds_delete(st, store, key) < 0 ? -1 : 0;
    } else {
        json_t *ex = json_object_get(u, "expires_ms");
        int64_t ttl = ex ? json_integer_value(ex) - sc_clock_now_ms() : 0;
        if (ex && ttl <= 0) /* it would have expired by now */
            rc = sc_store_ds_delete(st, store, key) < 0 ? -1 : 0;
        else
            rc = sc_store_ds_set(st, store, key, json_object_get(u, "value"), ttl);
    }
    return rc == 0 ? SC_OK : failed(st, err, errlen);
}

static enum sc_status run_set(struct sc_step_ctx *ctx, void *state, const void *with_v,
                              const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const struct with *w = with_v;
    int64_t ttl = w->ttl_ms > 0 ? w->ttl_ms : 0; /* no ttl: kept */
    json_t *value = (json_t *)w->value;
    if (keep_undo(ctx, st, text(w->store), text(w->key), value))
        return failed(st, err, errlen);
    if (sc_store_ds_set(st, text(w->store), text(w->key), value, ttl) != 0)
        return failed(st, err, errlen);
    json_t *out = json_pack("{s:s, s:O}", "key", text(w->key), "value", value);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

static enum sc_status run_delete(struct sc_step_ctx *ctx, void *state, const void *with_v,
                                 const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const struct with *w = with_v;
    if (keep_undo(ctx, st, text(w->store), text(w->key), NULL))
        return failed(st, err, errlen);
    int rc = sc_store_ds_delete(st, text(w->store), text(w->key));
    if (rc < 0)
        return failed(st, err, errlen);
    json_t *out = json_pack("{s:s, s:b}", "key", text(w->key), "deleted", rc == 0);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

static enum sc_status run_search(struct sc_step_ctx *ctx, void *state, const void *with_v,
                                 const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const struct with *w = with_v;
    json_t *items = sc_store_ds_search(st, text(w->store), text(w->prefix), (int)w->limit);
    if (!items)
        return failed(st, err, errlen);
    json_t *out = json_pack("{s:o, s:I}", "records", items, "count", (json_int_t)json_array_size(items));
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_datastore_get = {
    .flags = SC_M_SHARED,
    .name = "datastore.get", .summary = "Read a record of a data store: {key, found, value}.",
    .params = get_params, .with_size = sizeof(struct with), .run = run_get,
};
const struct sc_module_def sc_mod_datastore_set = {
    .flags = SC_M_SHARED,
    .name = "datastore.set", .summary = "Write (insert or replace) a record of a data store.",
    .params = set_params, .with_size = sizeof(struct with), .run = run_set, .rollback = undo,
};
const struct sc_module_def sc_mod_datastore_delete = {
    .flags = SC_M_SHARED,
    .name = "datastore.delete", .summary = "Delete a record of a data store: {key, deleted}.",
    .params = delete_params, .with_size = sizeof(struct with), .run = run_delete,
    .rollback = undo,
};
const struct sc_module_def sc_mod_datastore_search = {
    .flags = SC_M_SHARED,
    .name = "datastore.search", .summary = "Records of a data store by key prefix: {records, count}.",
    .params = search_params, .with_size = sizeof(struct with), .run = run_search,
};
