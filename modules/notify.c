/* notify: a message to an ops channel (Slack-compatible incoming webhook). */
#include "run/call.h"

#include <stddef.h>
#include <stdio.h>

struct with {
    const char *connection;
    const json_t *text, *fields;
};

static const struct sc_param params[] = {
    {.name = "connection", .type = SC_T_CONNECTION, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, connection),
     .doc = "The channel's connection (a read-write connection: a message is a write)."},
    {.name = "text", .type = SC_T_STRING, .required = true, .flags = SC_P_JSON,
     .offset = offsetof(struct with, text),
     .doc = "Message text, usually naming {{ error.message }} and {{ execution.url }}."},
    {.name = "fields", .type = SC_T_OBJECT, .offset = offsetof(struct with, fields),
     .doc = "Extra structured fields sent beside scenario, step, error and attempts."},
    {0},
};

/* Slack-compatible {"text": ...} plus structured fields an ops tool can filter on. */
static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct with *with = with_v;
    json_t *error = sc_step_error(ctx), *exe = sc_step_execution(ctx);
    json_t *msg = json_pack("{s:O, s:s, s:s, s:O}", "text", (json_t *)with->text,
                            "scenario", sc_step_scenario(ctx), "step",
                            error ? json_string_value(json_object_get(error, "step"))
                                  : sc_step_id(ctx),
                            "execution_url", json_object_get(exe, "url"));
    if (!msg) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    if (error) {
        json_object_set(msg, "error", json_object_get(error, "message"));
        json_object_set(msg, "error_kind", json_object_get(error, "kind"));
        json_object_set(msg, "attempts", json_object_get(error, "attempts"));
    }
    if (json_is_object(with->fields))
        json_object_set(msg, "fields", (json_t *)with->fields);
    struct sc_call c = {.connection = with->connection,
                        .method = "POST", .path = "", .json = msg, .parse = "auto"};
    json_t *out = NULL;
    enum sc_status st = sc_call_connection(ctx, &c, &out, err, errlen);
    json_decref(msg);
    if (st != SC_OK) {
        json_decref(out);
        return st;
    }
    return sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_notify = {
    .name = "notify",
    .summary = "Post a message to an ops channel with the execution's link.",
    .params = params,
    .with_size = sizeof(struct with),
    .access = SC_ACCESS_WRITE,
    .run = run,
};
