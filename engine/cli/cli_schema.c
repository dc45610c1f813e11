/* scenarist schema: a JSON Schema (draft 2020-12) of the scenario file, generated from the
 * same tables as the validator and docs/modules.md (validate.h's format tables, every
 * module's parameter table), so that an editor (yaml-language-server, through the
 * `# yaml-language-server: $schema=...` modeline) completes and checks scenario files.
 * The schema checks shape (keys, types, enums, required keys); what needs the org or the
 * whole file (connections, step references, templates' syntax) stays with validate. */
#include "cli/cli.h"
#include "model/validate.h"
#include "module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *param_schema(const struct sc_param *p);

/* A value written as exactly one {{ }}: its type is checked when the step runs. */
static json_t *ref(const char *name)
{
    char buf[128];
    snprintf(buf, sizeof buf, "#/$defs/%s", name);
    return json_pack("{s:s}", "$ref", buf);
}

/* t, or (when p may be templated) t or one whole {{ }}. */
static json_t *or_template(const struct sc_param *p, json_t *t)
{
    if (p->flags & SC_P_STATIC)
        return t;
    return json_pack("{s:[o,o]}", "anyOf", t, ref("template"));
}

/* An object schema of a {0}-terminated table: its keys, required ones, no others. */
static json_t *fields_schema(const struct sc_param *fields)
{
    json_t *props = json_object(), *req = json_array();
    for (const struct sc_param *p = fields; p->name; p++) {
        json_object_set_new(props, p->name, param_schema(p));
        if (p->required)
            json_array_append_new(req, json_string(p->name));
    }
    json_t *o = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
                          "additionalProperties", 0);
    if (json_array_size(req))
        json_object_set_new(o, "required", req);
    else
        json_decref(req);
    return o;
}

/* The schema of one value of type t (p gives fields, enums and flags). */
static json_t *type_schema(const struct sc_param *p, enum sc_type t)
{
    switch (t) {
    case SC_T_STRING:
    case SC_T_CONNECTION:
    case SC_T_STEP_REF:
    case SC_T_CRON:
    case SC_T_TZ:
        return json_pack("{s:s}", "type", "string");
    case SC_T_INT:
        return or_template(p, json_pack("{s:s}", "type", "integer"));
    case SC_T_NUMBER:
        return or_template(p, json_pack("{s:s}", "type", "number"));
    case SC_T_BOOL:
        return or_template(p, json_pack("{s:s}", "type", "boolean"));
    case SC_T_DURATION:
        return or_template(p, ref("duration"));
    case SC_T_ENUM: {
        json_t *e = json_array();
        for (size_t i = 0; p->allowed && p->allowed[i]; i++)
            json_array_append_new(e, json_string(p->allowed[i]));
        return or_template(p, json_pack("{s:o}", "enum", e));
    }
    case SC_T_OBJECT:
        return p->fields ? fields_schema(p->fields) : json_pack("{s:s}", "type", "object");
    case SC_T_LIST:
        return json_pack("{s:s, s:o}", "type", "array", "items",
                         p->elem == SC_T_OBJECT && p->fields ? fields_schema(p->fields)
                                                             : type_schema(p, p->elem));
    case SC_T_MAP:
        return json_pack("{s:s, s:o}", "type", "object", "additionalProperties",
                         p->elem == SC_T_OBJECT && p->fields ? fields_schema(p->fields)
                                                             : type_schema(p, p->elem));
    case SC_T_ANY:
        return json_object();
    case SC_T_SECRET:
        return json_pack("{s:s, s:s}", "type", "string", "pattern",
                         "^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$");
    case SC_T_CONDITION:
        return json_pack("{s:[o,o]}", "anyOf", json_pack("{s:s}", "type", "boolean"),
                         ref("template"));
    case SC_T_STEPS:
        return ref("steps");
    case SC_T_TRIGGERS:
        return ref("triggers");
    case SC_T_ROUTE:
        return ref("route");
    }
    return json_object();
}

/* One parameter: its type's schema with the table's description and default. */
static json_t *param_schema(const struct sc_param *p)
{
    json_t *s = type_schema(p, p->type);
    if (p->doc)
        json_object_set_new(s, "description", json_string(p->doc));
    json_t *def = p->def ? json_loads(p->def, JSON_DECODE_ANY, NULL) : NULL;
    if (def)
        json_object_set_new(s, "default", def);
    return s;
}

/* "with:MODULE", the $defs name of a module's parameters, in buf. */
static const char *def_name(const char *module, char *buf, size_t n)
{
    snprintf(buf, n, "with:%s", module);
    return buf;
}

/* A step's `with` by its module: if module is M then with is M's parameters. */
static json_t *with_by_module(void)
{
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    json_t *all_of = json_array();
    for (size_t i = 0; i < n; i++) {
        char nb[96];
        const char *name = def_name(all[i]->name, nb, sizeof nb);
        json_array_append_new(
            all_of,
            json_pack("{s:{s:{s:{s:s}}, s:[s]}, s:{s:{s:o}}}", "if", "properties", "module",
                      "const", all[i]->name, "required", "module", "then", "properties",
                      "with", ref(name)));
    }
    return all_of;
}

/* A step (id required, or not in an error route) with `with` checked by its module. */
static json_t *step_schema(bool id_required)
{
    json_t *s = fields_schema(sc_step_fields);
    json_t *req = json_object_get(s, "required");
    size_t i;
    json_t *x;
    json_array_foreach(req, i, x) {
        if (!id_required && !strcmp(json_string_value(x), "id")) {
            json_array_remove(req, i);
            break;
        }
    }
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    json_t *names = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(names, json_string(all[i]->name));
    json_object_set_new(json_object_get(json_object_get(s, "properties"), "module"), "enum",
                        names);
    json_object_set_new(s, "allOf", with_by_module());
    return s;
}

/* The triggers: a list of one-key mappings (webhook, schedule, poll, manual) or `manual`. */
static json_t *triggers_schema(void)
{
    struct { const char *kind; const struct sc_param *t; } kinds[] = {
        {"webhook", sc_webhook_fields}, {"schedule", sc_schedule_fields},
        {"poll", sc_poll_fields},       {"manual", sc_manual_fields},
    };
    json_t *one = json_array();
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_t *conf = fields_schema(kinds[i].t);
        if (kinds[i].t == sc_poll_fields)
            json_object_set_new(conf, "allOf", with_by_module());
        if (kinds[i].t == sc_manual_fields)
            conf = json_pack("{s:[o,{s:s}]}", "anyOf", conf, "type", "null");
        json_array_append_new(one, json_pack("{s:s, s:{s:o}, s:[s], s:b}", "type", "object",
                                             "properties", kinds[i].kind, conf, "required",
                                             kinds[i].kind, "additionalProperties", 0));
    }
    json_array_append_new(one, json_pack("{s:s}", "const", "manual"));
    return json_pack("{s:s, s:i, s:{s:o}, s:s}", "type", "array", "minItems", 1, "items",
                     "oneOf", one, "description",
                     "What starts an execution: webhook, schedule, poll, manual.");
}

/* An error route: steps or module calls (notify: {...}), ending in one directive. */
static json_t *route_schema(void)
{
    json_t *items = json_array();
    json_array_append_new(items, json_pack("{s:[s,s,s,s]}", "enum", "ignore", "commit",
                                           "rollback", "break"));
    struct { const char *d; const struct sc_param *t; } dirs[] = {
        {"break", sc_break_fields}, {"resume", sc_resume_fields}};
    for (size_t i = 0; i < 2; i++) {
        json_t *conf = fields_schema(dirs[i].t);
        json_array_append_new(items,
                              json_pack("{s:s, s:{s:{s:[o,{s:s}]}}, s:[s], s:b}", "type",
                                        "object", "properties", dirs[i].d, "anyOf", conf,
                                        "type", "null", "required", dirs[i].d,
                                        "additionalProperties", 0));
    }
    static const char *const bare[] = {"ignore", "commit", "rollback"}; /* no options */
    for (size_t i = 0; i < 3; i++)
        json_array_append_new(
            items, json_pack("{s:s, s:{s:{s:[{s:s},{s:s, s:i}]}}, s:[s], s:b}", "type", "object",
                             "properties", bare[i], "anyOf", "type", "null", "type", "object",
                             "maxProperties", 0, "required", bare[i], "additionalProperties", 0));
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    for (size_t i = 0; i < n; i++) {
        char nb[96];
        const char *name = def_name(all[i]->name, nb, sizeof nb);
        json_array_append_new(items, json_pack("{s:s, s:{s:o}, s:[s], s:b}", "type", "object",
                                               "properties", all[i]->name,
                                               ref(name), "required", all[i]->name,
                                               "additionalProperties", 0));
    }
    json_array_append_new(items, ref("route_step"));
    return json_pack("{s:s, s:i, s:{s:o}, s:s}", "type", "array", "minItems", 1, "items",
                     "anyOf", items, "description",
                     "An error route: steps or module calls, ending in exactly one directive "
                     "(break, resume, ignore, commit, rollback).");
}

/* The whole schema: a new reference. */
static json_t *scenario_schema(void)
{
    json_t *defs = json_object();
    json_object_set_new(defs, "template",
                        json_pack("{s:s, s:s, s:s}", "type", "string", "pattern",
                                  "^\\{\\{[\\s\\S]*\\}\\}$", "description",
                                  "One {{ expression }}, evaluated when the step runs."));
    json_object_set_new(defs, "duration",
                        json_pack("{s:s, s:s, s:s}", "type", "string", "pattern",
                                  "^([0-9]+(ms|s|m|h|d))+$", "description",
                                  "A duration: 500ms, 60s, 5m, 1h, 1d, 1h30m."));
    json_object_set_new(defs, "steps", json_pack("{s:s, s:i, s:o}", "type", "array", "minItems",
                                                 1, "items", ref("step")));
    json_object_set_new(defs, "step", step_schema(true));
    json_object_set_new(defs, "route_step", step_schema(false));
    json_object_set_new(defs, "triggers", triggers_schema());
    json_object_set_new(defs, "route", route_schema());
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    for (size_t i = 0; i < n; i++) {
        char nb[96];
        const char *name = def_name(all[i]->name, nb, sizeof nb);
        json_t *w = fields_schema(all[i]->params);
        json_object_set_new(w, "description", json_string(all[i]->summary));
        json_object_set_new(defs, name, w);
    }
    json_t *s = fields_schema(sc_scenario_fields);
    json_t *top = json_pack("{s:s, s:s, s:s}", "$schema",
                            "https://json-schema.org/draft/2020-12/schema", "title",
                            "scenarist scenario file", "description",
                            "Generated by `scenarist schema` from the validator's and the "
                            "modules' tables; `scenarist validate` checks the rest "
                            "(connections, step references, templates).");
    json_object_update(top, s);
    json_decref(s);
    json_object_set_new(top, "$defs", defs);
    return top;
}

int cmd_schema(struct opts *o)
{
    if (o->nargs) {
        fprintf(stderr, "scenarist schema: takes no arguments (it prints the scenario file's "
                        "JSON Schema)\n");
        return EXIT_USAGE;
    }
    json_t *s = scenario_schema();
    char *text = s ? json_dumps(s, JSON_INDENT(2)) : NULL;
    json_decref(s);
    if (!text) {
        fprintf(stderr, "scenarist schema: out of memory\n");
        return EXIT_FAILED;
    }
    printf("%s\n", text);
    free(text);
    return EXIT_OK;
}
