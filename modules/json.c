/* json.parse and json.stringify: text <-> JSON values inside a scenario. */
#include "run/exec.h"
#include "lang/text.h"

#include <stdio.h>
#include <stdlib.h>

static const struct sc_param parse_params[] = {
    {.name = "text", .type = SC_T_STRING, .required = true, .doc = "JSON text to parse."},
    {0},
};

static const struct sc_param stringify_params[] = {
    {.name = "value", .type = SC_T_ANY, .required = true, .doc = "Value to serialise."},
    {.name = "pretty", .type = SC_T_BOOL, .def = "false", .doc = "Indent the output."},
    {0},
};

static enum sc_status parse_run(struct sc_step_ctx *ctx, void *state, const json_t *with,
                                const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    json_t *text = json_object_get(with, "text");
    if (!json_is_string(text)) {
        snprintf(err, errlen, "text must be a string to parse, not %s",
                 json_is_null(text) ? "null" : "another JSON type");
        return SC_ERR_DATA;
    }
    json_error_t je;
    json_t *v = json_loadb(json_string_value(text), json_string_length(text), JSON_DECODE_ANY,
                           &je);
    if (!v) {
        snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", je.line, je.column,
                 je.text);
        return SC_ERR_DATA;
    }
    return sc_step_emit(ctx, v) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

static enum sc_status stringify_run(struct sc_step_ctx *ctx, void *state, const json_t *with,
                                    const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    /* numbers in their shortest exact form (0.1, not 0.10000000000000001) */
    char *t = sc_text_json(json_object_get(with, "value"),
                           json_is_true(json_object_get(with, "pretty")) ? 2 : 0, true);
    json_t *s = t ? json_string(t) : NULL;
    free(t);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    return sc_step_emit(ctx, s) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_json_parse = {
    .name = "json.parse",
    .summary = "Parse JSON text into a value; malformed text is a data error.",
    .params = parse_params,
    .run = parse_run,
};

const struct sc_module_def sc_mod_json_stringify = {
    .name = "json.stringify",
    .summary = "Serialise a value to JSON text (keys sorted, so output is stable).",
    .params = stringify_params,
    .run = stringify_run,
};
