/* json.parse and json.stringify: text <-> JSON values inside a scenario. */
#include "../engine/module.h"

static const struct sc_param parse_params[] = {
    {.name = "text", .type = SC_T_STRING, .required = true, .doc = "JSON text to parse."},
    {0},
};

static const struct sc_param stringify_params[] = {
    {.name = "value", .type = SC_T_ANY, .required = true, .doc = "Value to serialise."},
    {.name = "pretty", .type = SC_T_BOOL, .def = "false", .doc = "Indent the output."},
    {0},
};

const struct sc_module_def sc_mod_json_parse = {
    .name = "json.parse",
    .summary = "Parse JSON text into a value; malformed text is a data error.",
    .params = parse_params,
};

const struct sc_module_def sc_mod_json_stringify = {
    .name = "json.stringify",
    .summary = "Serialise a value to JSON text (keys sorted, so output is stable).",
    .params = stringify_params,
};
