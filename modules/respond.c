/* respond: the answer of a synchronous webhook. */
#include "../engine/module.h"

static const struct sc_param params[] = {
    {.name = "status", .type = SC_T_INT, .def = "200", .doc = "HTTP status of the answer."},
    {.name = "headers", .type = SC_T_OBJECT, .doc = "Response headers."},
    {.name = "body", .type = SC_T_ANY, .doc = "Response body; JSON unless content_type says otherwise."},
    {.name = "content_type", .type = SC_T_STRING, .def = "\"application/json\"",
     .doc = "Content-Type of the answer."},
    {0},
};

static void check(struct sc_check *c, const json_t *with)
{
    json_t *s = json_object_get(with, "status");
    if (json_is_integer(s) && (json_integer_value(s) < 100 || json_integer_value(s) > 599))
        sc_check_error(c, "status", "HTTP status %lld is outside 100-599",
                       (long long)json_integer_value(s));
}

const struct sc_module_def sc_mod_respond = {
    .name = "respond",
    .summary = "Answer the webhook that started this execution (synchronous webhooks).",
    .params = params,
    .check = check,
};
