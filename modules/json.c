/* json.parse and json.stringify: text <-> JSON values inside a scenario. */
#include "module.h"
#include "lang/text.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

struct parse_with {
    const json_t *text;
};

struct stringify_with {
    const json_t *value;
    bool pretty;
};

static const struct sc_param parse_params[] = {
    {.name = "text", .type = SC_T_STRING, .required = true, .flags = SC_P_JSON,
     .offset = offsetof(struct parse_with, text), .doc = "JSON text to parse."},
    {0},
};

static const struct sc_param stringify_params[] = {
    {.name = "value", .type = SC_T_ANY, .required = true,
     .offset = offsetof(struct stringify_with, value), .doc = "Value to serialise."},
    {.name = "pretty", .type = SC_T_BOOL, .def = "false",
     .offset = offsetof(struct stringify_with, pretty), .doc = "Indent the output."},
    {0},
};

static enum sc_status parse_run(struct sc_step_ctx *ctx, void *state, const void *with,
                                const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const json_t *text = ((const struct parse_with *)with)->text;
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

static enum sc_status stringify_run(struct sc_step_ctx *ctx, void *state, const void *with,
                                    const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    /* numbers in their shortest exact form (0.1, not 0.10000000000000001) */
    const struct stringify_with *w = with;
    char *t = sc_text_json(w->value, w->pretty ? 2 : 0, true);
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
    .with_size = sizeof(struct parse_with),
    .run = parse_run,
};

const struct sc_module_def sc_mod_json_stringify = {
    .name = "json.stringify",
    .summary = "Serialise a value to JSON text (keys sorted, so output is stable).",
    .params = stringify_params,
    .with_size = sizeof(struct stringify_with),
    .run = stringify_run,
};
