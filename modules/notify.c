/* notify: a message to an ops channel (Slack-compatible incoming webhook). */
#include "../engine/module.h"

static const struct sc_param params[] = {
    {.name = "connection", .type = SC_T_CONNECTION, .required = true, .flags = SC_P_STATIC,
     .doc = "The channel's connection (a read-write connection: a message is a write)."},
    {.name = "text", .type = SC_T_STRING, .required = true,
     .doc = "Message text, usually naming {{ error.message }} and {{ execution.url }}."},
    {.name = "fields", .type = SC_T_OBJECT,
     .doc = "Extra structured fields sent beside scenario, step, error and attempts."},
    {0},
};

const struct sc_module_def sc_mod_notify = {
    .name = "notify",
    .summary = "Post a message to an ops channel with the execution's link.",
    .params = params,
    .access = SC_ACCESS_WRITE,
};
