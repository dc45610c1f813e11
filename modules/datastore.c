/* datastore.get|set|delete|search: named key/value tables of JSON in the org's store
 * (lookups, cursors, cross-reference ids). */
#include "../engine/duration.h"
#include "../engine/exec.h"
#include "../engine/store.h"

#include <stdio.h>

#define STORE_PARAM                                                                          \
    {.name = "store", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,           \
     .doc = "Name of the data store (a table of its own)."}

static const struct sc_param get_params[] = {
    STORE_PARAM,
    {.name = "key", .type = SC_T_STRING, .required = true, .doc = "The record's key."},
    {.name = "default", .type = SC_T_ANY, .doc = "Value when there is none (else null, found false)."},
    {0},
};
static const struct sc_param set_params[] = {
    STORE_PARAM,
    {.name = "key", .type = SC_T_STRING, .required = true, .doc = "The record's key."},
    {.name = "value", .type = SC_T_ANY, .required = true, .doc = "Any JSON value."},
    {.name = "ttl", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "Forget the record after this long (default: keep)."},
    {0},
};
static const struct sc_param delete_params[] = {
    STORE_PARAM,
    {.name = "key", .type = SC_T_STRING, .required = true, .doc = "The record's key."},
    {0},
};
static const struct sc_param search_params[] = {
    STORE_PARAM,
    {.name = "prefix", .type = SC_T_STRING, .def = "\"\"", .doc = "Keys starting with this."},
    {.name = "limit", .type = SC_T_INT, .def = "100", .flags = SC_P_STATIC, .doc = "Most records."},
    {0},
};

static enum sc_status failed(struct sc_store *st, char *err, size_t errlen)
{
    snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
    return SC_ERR_STORE;
}

static const char *str(const json_t *with, const char *k)
{
    const char *v = json_string_value(json_object_get(with, k));
    return v ? v : "";
}

static enum sc_status run_get(struct sc_step_ctx *ctx, void *state, const json_t *with,
                              const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    json_t *v = sc_store_ds_get(st, str(with, "store"), str(with, "key"));
    if (!v && sc_store_error(st)[0])
        return failed(st, err, errlen);
    json_t *def = json_object_get(with, "default");
    json_t *out = json_pack("{s:s, s:b, s:O}", "key", str(with, "key"), "found", v != NULL,
                            "value", v ? v : def ? def : json_null());
    json_decref(v);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

static enum sc_status run_set(struct sc_step_ctx *ctx, void *state, const json_t *with,
                              const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    int64_t ttl = sc_duration_or(json_string_value(json_object_get(with, "ttl")), 0);
    if (sc_store_ds_set(st, str(with, "store"), str(with, "key"), json_object_get(with, "value"),
                        ttl) != 0)
        return failed(st, err, errlen);
    json_t *out = json_pack("{s:s, s:O}", "key", str(with, "key"), "value",
                            json_object_get(with, "value"));
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

static enum sc_status run_delete(struct sc_step_ctx *ctx, void *state, const json_t *with,
                                 const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    int rc = sc_store_ds_delete(st, str(with, "store"), str(with, "key"));
    if (rc < 0)
        return failed(st, err, errlen);
    json_t *out = json_pack("{s:s, s:b}", "key", str(with, "key"), "deleted", rc == 0);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

static enum sc_status run_search(struct sc_step_ctx *ctx, void *state, const json_t *with,
                                 const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    json_t *items = sc_store_ds_search(st, str(with, "store"), str(with, "prefix"),
                                       (int)json_integer_value(json_object_get(with, "limit")));
    if (!items)
        return failed(st, err, errlen);
    json_t *out = json_pack("{s:o, s:I}", "records", items, "count", (json_int_t)json_array_size(items));
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_datastore_get = {
    .name = "datastore.get", .summary = "Read a record of a data store: {key, found, value}.",
    .params = get_params, .run = run_get,
};
const struct sc_module_def sc_mod_datastore_set = {
    .name = "datastore.set", .summary = "Write (insert or replace) a record of a data store.",
    .params = set_params, .run = run_set,
};
const struct sc_module_def sc_mod_datastore_delete = {
    .name = "datastore.delete", .summary = "Delete a record of a data store: {key, deleted}.",
    .params = delete_params, .run = run_delete,
};
const struct sc_module_def sc_mod_datastore_search = {
    .name = "datastore.search", .summary = "Records of a data store by key prefix: {records, count}.",
    .params = search_params, .run = run_search,
};
