/* The org's retention (retention:): how long executions, closed queue items and shadowed
 * writes are kept, and when the audit log's old rows go to an archive file. The field
 * table, the checks beyond it, and the typed retention (org.h). */
#include "model/org_load.h"

#include "lang/duration.h"
#include "model/yaml.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

const char *const sc_retention_statuses[] = {"success", "warning", "error", NULL};

#define KEEP_DOC(what) "How long " what " is kept after it finished (\"30d\"), at least 1h."

static const struct sc_param exec_fields[] = {
    {.name = "success", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = KEEP_DOC("an execution that succeeded")},
    {.name = "warning", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = KEEP_DOC("an execution that ended incomplete and was since resolved or discarded "
                     "(one still waiting for a retry or a person is never pruned)")},
    {.name = "error", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = KEEP_DOC("an execution that failed")},
    {.name = "default", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "For the statuses not named (success, warning, error); without it they are kept. "
            "Queued, running, sleeping and held executions are never pruned."},
    {0},
};

static const struct sc_param archive_fields[] = {
    {.name = "archive_after", .type = SC_T_DURATION, .required = true, .flags = SC_P_STATIC,
     .doc = "Audit rows older than this go to the archive file (never simply deleted): the "
            "JSON lines of every column and a checkpoint under the audit key, so `audit verify "
            "--archive FILE` still proves the whole chain."},
    {.name = "to", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Folder of the archive: the file audit-ORG.jsonl in it, appended to."},
    {0},
};

const struct sc_param sc_org_retention_fields[] = {
    {.name = "executions", .type = SC_T_OBJECT, .fields = exec_fields, .flags = SC_P_STATIC,
     .doc = "Executions and their step records, by status: { success: 30d, error: 90d, "
            "default: 60d }."},
    {.name = "queue_items_closed", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "How long a queue item is kept after it was closed (open items stay)."},
    {.name = "shadow_writes", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "How long a shadowed write's record is kept."},
    {.name = "audit", .type = SC_T_OBJECT, .fields = archive_fields, .flags = SC_P_STATIC,
     .doc = "When the audit log's old rows are archived, and where (needs audit.key); "
            "without it the log is kept whole."},
    {.name = "every", .type = SC_T_DURATION, .def = "\"1h\"", .flags = SC_P_STATIC,
     .doc = "How often the daemon prunes, on the engine's clock (a backlog goes on a second "
            "later, in batches)."},
    {.name = "batch", .type = SC_T_INT, .def = "500", .flags = SC_P_STATIC,
     .doc = "Most rows removed per transaction (1 to 10000): each takes the store's write "
            "turn like any writer, so webhooks are taken in between."},
    {0},
};

/* A duration at path that must be at least 1h. */
static void at_least_hour(struct sc_check *c, const json_t *obj, const char *key,
                          const char *path)
{
    const char *v = json_string_value(json_object_get(obj, key));
    int64_t ms = v ? sc_duration_or(v, -1) : -1;
    if (v && ms >= 0 && ms < 3600000)
        sc_check_error(c, path, "%s keeps rows for %s: retention is at least 1h (people look "
                       "at what just ran)", key, v);
}

void sc_org_retention_check(struct sc_check *c, const json_t *root)
{
    json_t *r = json_object_get(root, "retention");
    if (!r)
        return;
    json_t *ex = json_object_get(r, "executions");
    char at[96];
    for (size_t i = 0; i < sizeof exec_fields / sizeof exec_fields[0] - 1; i++) {
        snprintf(at, sizeof at, "retention/executions/%s", exec_fields[i].name);
        at_least_hour(c, ex, exec_fields[i].name, at);
    }
    at_least_hour(c, r, "queue_items_closed", "retention/queue_items_closed");
    at_least_hour(c, r, "shadow_writes", "retention/shadow_writes");
    at_least_hour(c, json_object_get(r, "audit"), "archive_after", "retention/audit/archive_after");
    json_t *b = json_object_get(r, "batch");
    if (json_is_integer(b) && (json_integer_value(b) < 1 || json_integer_value(b) > 10000))
        sc_check_error(c, "retention/batch", "batch must be from 1 to 10000 rows (a bigger "
                       "transaction holds the write turn longer, delaying webhooks)");
    const char *every = json_string_value(json_object_get(r, "every"));
    if (every && sc_duration_or(every, -1) >= 0 && sc_duration_or(every, -1) < 1000)
        sc_check_error(c, "retention/every", "every must be at least 1s");
    if (json_object_get(r, "audit") && !json_object_get(json_object_get(root, "audit"), "key"))
        sc_check_error(c, "retention/audit", "archiving the audit log needs the org's audit "
                       "key (audit.key): the archive's checkpoint is signed with it");
}

void sc_org_retention_resolve(struct sc_org *org)
{
    json_t *r = json_object_get(org->doc->root, "retention");
    json_t *ex = json_object_get(r, "executions"), *au = json_object_get(r, "audit");
    struct sc_org_retention *x = &org->retention;
    memset(x, 0, sizeof *x);
    x->on = r != NULL;
    int64_t def = sc_duration_or(json_string_value(json_object_get(ex, "default")), 0);
    for (int i = 0; sc_retention_statuses[i]; i++) {
        const char *v = json_string_value(json_object_get(ex, sc_retention_statuses[i]));
        x->exec_ms[i] = v ? sc_duration_or(v, 0) : def;
    }
    x->queue_items_ms = sc_duration_or(json_string_value(json_object_get(r, "queue_items_closed")), 0);
    x->shadow_ms = sc_duration_or(json_string_value(json_object_get(r, "shadow_writes")), 0);
    x->archive_ms = sc_duration_or(json_string_value(json_object_get(au, "archive_after")), 0);
    x->archive_to = json_string_value(json_object_get(au, "to"));
    x->every_ms = sc_duration_or(json_string_value(json_object_get(r, "every")), 3600000);
    json_t *b = json_object_get(r, "batch");
    x->batch = json_is_integer(b) ? (int)json_integer_value(b) : 500;
}
