/* audit.summary: what the org did over a window, from its own store: the writes of the
 * audit log per scenario and system and how they ended, the executions by status, the
 * failures and holds (the weekly audit report of seed 000). Optionally kept as a JSON
 * file beside the store (reports/NAME), for whoever audits later. */
#include "module.h"
#include "clock.h"
#include "model/org.h"
#include "store/store.h"
#include "util.h"

#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct with {
    int64_t window_ms;
    const char *file;
};

static const struct sc_param params[] = {
    {.name = "window", .type = SC_T_DURATION, .def = "\"7d\"", .flags = SC_P_STATIC,
     .offset = offsetof(struct with, window_ms),
     .doc = "The span summed up, ending now (the run's time): writes, executions, holds and "
            "items created in it."},
    {.name = "file", .type = SC_T_STRING, .offset = offsetof(struct with, file),
     .doc = "Also write the report as JSON to reports/FILE beside the org's store (a name, "
            "no '/': \"audit-{{ formatDate(now(), 'YYYY-MM-DD') }}.json\"); replaced whole "
            "if it exists."},
    {0},
};

/* Writes text to DIR/reports/name through a temporary file renamed into place. */
static int write_report(const char *store_path, const char *name, const char *text,
                        char **where, char *err, size_t errlen)
{
    char *copy = sc_strdup(store_path);
    char *dir = copy ? sc_asprintf("%s/reports", dirname(copy)) : NULL;
    free(copy);
    char *path = dir ? sc_asprintf("%s/%s", dir, name) : NULL;
    char *tmp = path ? sc_asprintf("%s.tmp", path) : NULL;
    FILE *f;
    int rc = -1;
    if (!tmp)
        snprintf(err, errlen, "out of memory");
    else if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    else if (!(f = fopen(tmp, "w")))
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    else {
        bool ok = fputs(text, f) != EOF && fputc('\n', f) != EOF;
        ok = fclose(f) == 0 && ok;
        if (!ok)
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        else if (rename(tmp, path) != 0)
            snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        else
            rc = 0;
        if (rc != 0)
            remove(tmp);
    }
    if (rc == 0)
        *where = path, path = NULL;
    free(dir);
    free(path);
    free(tmp);
    return rc;
}

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct with *with = with_v;
    const char *name = with->file;
    if (name && (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))) {
        snprintf(err, errlen, "file must be a file name without '/' (got \"%s\")", name);
        return SC_ERR_DATA;
    }
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const struct sc_org *org = sc_step_org(ctx);
    json_t *systems = json_object();
    for (size_t i = 0; org && i < org->nconns; i++)
        json_object_set_new(systems, org->conns[i].name, json_string(org->conns[i].base_url));
    int64_t now = sc_clock_now_ms(), since = now - with->window_ms;
    json_t *out = sc_store_audit_summary(st, since, now, systems);
    json_decref(systems);
    json_t *m = out ? sc_store_metrics(st, since) : NULL;
    if (!m) {
        json_decref(out);
        snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
        return SC_ERR_STORE;
    }
    /* executions, failures and holds per scenario, and what still waits for people */
    json_t *scen = json_object_get(m, "scenarios"), *v;
    const char *k;
    json_int_t executions = 0, failures = 0, holds = 0;
    json_object_foreach(scen, k, v) {
        executions += json_integer_value(json_object_get(v, "executions"));
        failures += json_integer_value(json_object_get(v, "failures"));
        holds += json_integer_value(json_object_get(v, "holds"));
    }
    json_object_set(out, "scenarios", scen);
    json_object_set_new(out, "executions", json_pack("{s:I, s:I, s:I}", "total", executions, "failures",
                                                     failures, "holds", holds));
    json_object_set(out, "holds", json_object_get(m, "holds"));
    json_object_set(out, "incomplete", json_object_get(m, "incomplete"));
    json_object_set(out, "queues", json_object_get(m, "queues"));
    json_decref(m);
    if (name) {
        char *path = sc_store_path(org), *where = NULL;
        char *text = path ? json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        int rc = text ? write_report(path, name, text, &where, err, errlen) : -1;
        if (!text)
            snprintf(err, errlen, "out of memory");
        free(path);
        free(text);
        if (rc != 0) {
            json_decref(out);
            return SC_ERR_RUNTIME;
        }
        json_object_set_new(out, "file", json_string(where));
        free(where);
    }
    return sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_audit_summary = {
    .flags = SC_M_SHARED,
    .name = "audit.summary",
    .summary = "What the org did over a window, from its store: writes per scenario and system, "
               "executions by status, failures, holds, open queues (optionally a JSON file).",
    .params = params,
    .with_size = sizeof(struct with),
    .run = run,
    .output = "{since, until, writes: {SCENARIO: {SYSTEM: {OUTCOME: n}}}, systems: {SYSTEM: "
              "{OUTCOME: n}}, totals: {writes, OUTCOME: n}, scenarios: {SCENARIO: {executions, "
              "failures, holds, by_status, ...}}, executions: {total, failures, holds}, holds: "
              "{pending}, incomplete: {pending, exhausted, total}, queues: {QUEUE: open}, file?}",
};
