/* map: the field-mapping table (source field, destination field, transform, null rule). */
#include "../engine/module.h"

#include <stdio.h>
#include <string.h>

static const char *const null_rules[] = {"keep", "skip", "default", "reject", NULL};

static const struct sc_param field_fields[] = {
    {.name = "to", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Destination field (dots make nested objects: address.city)."},
    {.name = "from", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Source field, a dotted path into source (department.name)."},
    {.name = "value", .type = SC_T_ANY, .doc = "A computed value instead of from."},
    {.name = "transform", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "A prelude function (lower, trim, ...) or a Lua transform applied to the value."},
    {.name = "required", .type = SC_T_BOOL, .def = "false",
     .doc = "A missing source field is a data error."},
    {.name = "null", .type = SC_T_ENUM, .def = "\"keep\"", .allowed = null_rules,
     .flags = SC_P_STATIC,
     .doc = "What a null or missing value does: keep (write null), skip (leave the field out), "
            "default (write default), reject (data error)."},
    {.name = "default", .type = SC_T_ANY, .doc = "Value for null: default."},
    {0},
};

static const struct sc_param params[] = {
    {.name = "source", .type = SC_T_ANY, .required = true,
     .doc = "The record to map, usually {{ steps.x.body }}."},
    {.name = "fields", .type = SC_T_LIST, .elem = SC_T_OBJECT, .fields = field_fields,
     .required = true, .flags = SC_P_STATIC, .doc = "The mapping table, one row per destination field."},
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

const struct sc_module_def sc_mod_map = {
    .name = "map",
    .summary = "Build a record from a declared field-mapping table with null rules.",
    .params = params,
    .check = check,
};
