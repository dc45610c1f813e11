/* map: the field-mapping table (source field, destination field, transform, null rule). */
#include "run/bind.h"
#include "lang/lua.h"
#include "module.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const null_rules[] = {"keep", "skip", "default", "reject", NULL};

/* One row of the mapping table, bound for each bundle (value, default and required may
 * be templated). */
struct row {
    const char *to, *from, *transform, *null_rule;
    const json_t *value, *def;
    bool required;
};

struct with {
    const json_t *source, *fields;
};

static const struct sc_param field_fields[] = {
    {.name = "to", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct row, to),
     .doc = "Destination field (dots make nested objects: address.city)."},
    {.name = "from", .type = SC_T_STRING, .flags = SC_P_STATIC, .offset = offsetof(struct row, from),
     .doc = "Source field, a dotted path into source (department.name)."},
    {.name = "value", .type = SC_T_ANY, .offset = offsetof(struct row, value),
     .doc = "A computed value instead of from."},
    {.name = "transform", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .offset = offsetof(struct row, transform),
     .doc = "A prelude function (lower, trim, ...) or a Lua transform applied to the value."},
    {.name = "required", .type = SC_T_BOOL, .def = "false", .offset = offsetof(struct row, required),
     .doc = "A missing source field is a data error."},
    {.name = "null", .type = SC_T_ENUM, .def = "\"keep\"", .allowed = null_rules,
     .flags = SC_P_STATIC, .offset = offsetof(struct row, null_rule),
     .doc = "What a null or missing value does: keep (write null), skip (leave the field out), "
            "default (write default), reject (data error)."},
    {.name = "default", .type = SC_T_ANY, .offset = offsetof(struct row, def),
     .doc = "Value for null: default."},
    {0},
};

static const struct sc_param params[] = {
    {.name = "source", .type = SC_T_ANY, .required = true, .offset = offsetof(struct with, source),
     .doc = "The record to map, usually {{ steps.x.body }}."},
    {.name = "fields", .type = SC_T_LIST, .elem = SC_T_OBJECT, .fields = field_fields,
     .required = true, .flags = SC_P_STATIC, .offset = offsetof(struct with, fields), .doc = "The mapping table, one row per destination field."},
    {0},
};

static void check(struct sc_check *c, const json_t *with)
{
    json_t *fields = json_object_get(with, "fields");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        char where[64];
        snprintf(where, sizeof where, "fields/%zu", i);
        if (!json_is_object(f))
            continue;
        bool from = json_object_get(f, "from") != NULL, value = json_object_get(f, "value") != NULL;
        if (from == value)
            sc_check_error(c, where, "a mapping row needs exactly one of from and value");
        const char *rule = json_string_value(json_object_get(f, "null"));
        rule = rule ? rule : "keep";
        bool has_def = json_object_get(f, "default") != NULL;
        if (rule && !strcmp(rule, "default") && !has_def)
            sc_check_error(c, where, "null: default needs a default value");
        if (has_def && (!rule || strcmp(rule, "default")))
            sc_check_error(c, where, "default is used only with null: default");
        const char *to = json_string_value(json_object_get(f, "to"));
        for (size_t j = 0; to && j < i; j++) {
            const char *other = json_string_value(json_object_get(json_array_get(fields, j), "to"));
            if (other && !strcmp(other, to)) {
                sc_check_error(c, where, "field '%s' is mapped twice (also row %zu)", to, j + 1);
                break;
            }
        }
    }
}

static int init(struct sc_step_ctx *ctx, const void *with, void **state, char *err,
                size_t errlen)
{
    (void)state;
    size_t i;
    json_t *f;
    json_array_foreach((json_t *)((const struct with *)with)->fields, i, f) {
        struct row r;
        if (sc_bind(field_fields, f, &r, sizeof r, err, errlen) != 0)
            return -1;
        const char *t = r.transform;
        struct sc_lua *lua = sc_step_lua(ctx);
        if (t && !(strchr(t, '.') ? sc_lua_has_transform(lua, t) : sc_lua_has_prelude(lua, t))) {
            char at[64];
            snprintf(at, sizeof at, "fields/%zu/transform", i);
            sc_step_at(ctx, at);
            char hint[320];
            sc_lua_transform_hint(lua, t, hint, sizeof hint);
            snprintf(err, errlen, "unknown transform '%s': neither a prelude function (lower, "
                     "trim, ...) nor FILE.FUNCTION of lua/transforms%s", t, hint);
            return -1;
        }
    }
    return 0;
}

/* A dotted path into the source: object keys, or 1-based array indexes as in Lua. */
static json_t *lookup(json_t *v, const char *path)
{
    char seg[256];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        path += n + (path[n] == '.');
        if (json_is_object(v)) {
            v = json_object_get(v, seg);
        } else if (json_is_array(v)) {
            char *end;
            long k = strtol(seg, &end, 10);
            v = *end || k < 1 ? NULL : json_array_get(v, (size_t)k - 1);
        } else {
            v = NULL;
        }
    }
    return v;
}

/* Sets a dotted destination, making the objects on the way. */
static int put(json_t *obj, const char *to, json_t *val)
{
    const char *dot = strchr(to, '.');
    if (!dot)
        return json_object_set(obj, to, val);
    char key[256];
    size_t n = (size_t)(dot - to);
    if (n >= sizeof key)
        return -1;
    memcpy(key, to, n);
    key[n] = '\0';
    json_t *sub = json_object_get(obj, key);
    if (!json_is_object(sub)) {
        sub = json_object();
        if (!sub || json_object_set_new(obj, key, sub) != 0)
            return -1;
    }
    return put(sub, dot + 1, val);
}

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct with *with = with_v;
    json_t *source = (json_t *)with->source, *out = json_object();
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    enum sc_status st = SC_OK;
    size_t i;
    json_t *f;
    json_array_foreach((json_t *)with->fields, i, f) {
        struct row r;
        if (sc_bind(field_fields, f, &r, sizeof r, err, errlen) != 0) {
            st = SC_ERR_CONFIG;
            break;
        }
        const char *to = r.to, *from = r.from, *tf = r.transform;
        const char *rule = r.null_rule ? r.null_rule : "keep";
        json_t *v = from ? lookup(source, from) : (json_t *)r.value;
        if (!v && from && r.required) {
            snprintf(err, errlen, "required field '%s' is missing from the source (to '%s')",
                     from, to);
            st = SC_ERR_DATA;
            break;
        }
        json_t *val = v ? json_incref(v) : json_null();
        if (tf && !json_is_null(val)) {
            json_t *res = NULL;
            char terr[512];
            json_t *args = json_pack("[O]", val);
            st = args ? sc_lua_call(sc_step_lua(ctx), tf, args, &res, terr, sizeof terr)
                      : SC_ERR_RUNTIME;
            json_decref(args);
            json_decref(val);
            if (st != SC_OK) {
                snprintf(err, errlen, "field '%s': transform %s: %s", to, tf,
                         args ? terr : "out of memory");
                break;
            }
            val = res;
        }
        if (json_is_null(val)) {
            if (!strcmp(rule, "skip")) {
                json_decref(val);
                continue;
            }
            if (!strcmp(rule, "reject")) {
                json_decref(val);
                snprintf(err, errlen, "field '%s' is %s (from '%s') and its rule is null: reject",
                         to, v ? "null" : "missing", from ? from : "value");
                st = SC_ERR_DATA;
                break;
            }
            if (!strcmp(rule, "default")) {
                json_decref(val);
                val = json_incref((json_t *)r.def);
            }
        }
        int rc = put(out, to, val);
        json_decref(val);
        if (rc != 0) {
            snprintf(err, errlen, "field '%s': cannot be set (out of memory, or a part of its "
                     "path is already a value)", to);
            st = SC_ERR_RUNTIME;
            break;
        }
    }
    if (st != SC_OK) {
        json_decref(out);
        return st;
    }
    return sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_map = {
    .name = "map",
    .summary = "Build a record from a declared field-mapping table with null rules.",
    .params = params,
    .with_size = sizeof(struct with),
    .check = check,
    .init = init,
    .run = run,
};
