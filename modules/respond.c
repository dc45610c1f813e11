/* respond: the answer of a synchronous webhook. */
#include "module.h"

#include <stddef.h>
#include <stdio.h>

struct with {
    const json_t *status, *headers, *body, *content_type;
};

static const struct sc_param params[] = {
    {.name = "status", .type = SC_T_INT, .def = "200", .flags = SC_P_JSON,
     .offset = offsetof(struct with, status), .doc = "HTTP status of the answer."},
    {.name = "headers", .type = SC_T_OBJECT, .offset = offsetof(struct with, headers),
     .doc = "Response headers."},
    {.name = "body", .type = SC_T_ANY, .offset = offsetof(struct with, body),
     .doc = "Response body; JSON unless content_type says otherwise."},
    {.name = "content_type", .type = SC_T_STRING, .def = "\"application/json\"",
     .flags = SC_P_JSON, .offset = offsetof(struct with, content_type),
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

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct with *with = with_v;
    const json_t *status = with->status;
    json_int_t code = json_integer_value(status);
    if (!json_is_integer(status) || code < 100 || code > 599) {
        snprintf(err, errlen, "status must render to an HTTP status 100-599");
        return SC_ERR_DATA;
    }
    json_t *headers = (json_t *)with->headers, *body = (json_t *)with->body;
    json_t *r = json_pack("{s:I, s:O, s:o, s:O}", "status", code, "content_type",
                          (json_t *)with->content_type, "headers",
                          headers ? json_incref(headers) : json_object(), "body",
                          body ? body : json_null());
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    sc_step_respond(ctx, json_incref(r));
    return sc_step_emit(ctx, r) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_respond = {
    .name = "respond",
    .summary = "Answer the webhook that started this execution (synchronous webhooks).",
    .params = params,
    .flags = SC_M_RESPOND,
    .with_size = sizeof(struct with),
    .check = check,
    .run = run,
};
