/* scenarist: the command line. Exit codes: 0 ok, 1 the work failed, 2 usage or validation. */
#include "clock.h"
#include "diag.h"
#include "exec.h"
#include "module.h"
#include "org.h"
#include "util.h"
#include "validate.h"
#include "yaml.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SC_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct opts {
    const char *org;
    const char *input;
    bool json;
    const char **args;
    size_t nargs;
};

static int usage(FILE *out)
{
    fprintf(out,
            "usage: scenarist COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  validate [PATH...]   check scenario files (default: scenarios/) against an org\n"
            "  run FILE --input EVENT.json\n"
            "                       run one event through a scenario now and print each step\n"
            "  modules [NAME]       list modules, or one module's parameters\n"
            "  docs modules|format|org\n"
            "                       print a reference page generated from the tables (Markdown)\n"
            "  version              print the version\n"
            "\n"
            "options:\n"
            "  --org NAME|FILE      organisation (orgs/NAME.yaml); default: staging\n"
            "  --input FILE         the trigger event's body (JSON) for run\n"
            "  --json               machine-readable output\n"
            "\n"
            "exit status: 0 ok, 1 the work failed, 2 usage or validation error\n");
    return out == stderr ? EXIT_USAGE : EXIT_OK;
}

/* Splits argv into options and positional arguments; -1 on a usage error. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    o->org = "staging";
    o->args = calloc((size_t)argc + 1, sizeof *o->args);
    if (!o->args)
        return -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--org")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "scenarist: --org needs a name\n");
                return -1;
            }
            o->org = argv[++i];
        } else if (!strcmp(a, "--input")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "scenarist: --input needs a file\n");
                return -1;
            }
            o->input = argv[++i];
        } else if (!strncmp(a, "--input=", 8)) {
            o->input = a + 8;
        } else if (!strncmp(a, "--org=", 6)) {
            o->org = a + 6;
        } else if (!strcmp(a, "--")) {
            while (++i < argc)
                o->args[o->nargs++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "scenarist: unknown option '%s'\n", a);
            return -1;
        } else {
            o->args[o->nargs++] = a;
        }
    }
    return 0;
}

/* ---- validate ---- */

struct paths {
    char **v;
    size_t n, cap;
};

static void paths_add(struct paths *p, const char *s)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return;
        p->v = v;
        p->cap = cap;
    }
    char *d = strdup(s);
    if (d)
        p->v[p->n++] = d;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_yaml_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 5 && !strcmp(name + n - 5, ".yaml")) ||
                              (n > 4 && !strcmp(name + n - 4, ".yml")));
}

/* Adds the YAML files under dir (recursively), in sorted order. */
static void collect_dir(struct paths *out, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 16) {
        if (d)
            closedir(d);
        return;
    }
    struct paths here = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = sc_asprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        if (!p)
            continue;
        struct stat st;
        if (stat(p, &st) == 0 && (S_ISDIR(st.st_mode) || is_yaml_name(e->d_name)))
            paths_add(&here, p);
        free(p);
    }
    closedir(d);
    if (here.n)
        qsort(here.v, here.n, sizeof *here.v, cmp_str);
    for (size_t i = 0; i < here.n; i++) {
        struct stat st;
        if (stat(here.v[i], &st) == 0 && S_ISDIR(st.st_mode))
            collect_dir(out, here.v[i], depth + 1);
        else
            paths_add(out, here.v[i]);
        free(here.v[i]);
    }
    free(here.v);
}

static int finish_diags(struct sc_diags *d, bool json)
{
    if (json) {
        json_t *arr = sc_diags_json(d);
        char *s = arr ? json_dumps(arr, JSON_INDENT(2)) : NULL;
        printf("%s\n", s ? s : "[]");
        free(s);
        json_decref(arr);
    } else {
        sc_diags_print(d, stderr);
    }
    return d->errors ? EXIT_USAGE : EXIT_OK;
}

static int cmd_validate(struct opts *o)
{
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *org = sc_org_load(o->org, &d);
    if (!org) {
        int rc = finish_diags(&d, o->json);
        if (!o->json)
            fprintf(stderr, "scenarist: org '%s' does not load; nothing validated\n", o->org);
        sc_diags_free(&d);
        return rc ? rc : EXIT_USAGE;
    }
    struct paths files = {0};
    static const char *const defaults[] = {"scenarios"};
    const char *const *args = o->nargs ? o->args : defaults;
    size_t nargs = o->nargs ? o->nargs : 1;
    for (size_t i = 0; i < nargs; i++) {
        struct stat st;
        if (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            size_t before = files.n;
            collect_dir(&files, args[i], 0);
            if (files.n == before) {
                struct sc_src src = {args[i], NULL, 0};
                sc_diag_add(&d, SC_SEV_ERROR, &src, 0, 0, 0,
                            "no scenario files (*.yaml, *.yml) in this folder");
            }
        } else {
            paths_add(&files, args[i]); /* a missing file is reported by the loader */
        }
    }
    /* A full load: validation, then compiling templates and checking transforms, so
     * validate reports everything run would refuse. */
    char lerr[512];
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, lerr, sizeof lerr);
    if (!lua) {
        struct sc_src src = {"lua", NULL, 0};
        sc_diag_add(&d, SC_SEV_ERROR, &src, 0, 0, 0, "%s", lerr);
    }
    struct sc_validator *v = lua ? sc_validator_new(org, &d) : NULL;
    for (size_t i = 0; v && i < files.n; i++)
        sc_scenario_free(sc_scenario_load(files.v[i], org, lua, v, &d));
    sc_validator_free(v);
    sc_lua_free(lua);
    int rc = finish_diags(&d, o->json);
    if (!o->json) {
        if (d.errors)
            fprintf(stderr, "%zu error%s, %zu warning%s in %zu file%s (org %s)\n", d.errors,
                    d.errors == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s", files.n,
                    files.n == 1 ? "" : "s", org->name);
        else
            printf("ok: %zu scenario file%s valid for org %s%s\n", files.n,
                   files.n == 1 ? "" : "s", org->name,
                   d.warnings ? " (with warnings)" : "");
    }
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    sc_org_free(org);
    sc_diags_free(&d);
    return rc;
}

/* ---- run ---- */

/* Reads the event file: a clear message and NULL when it is missing or not JSON. */
static json_t *read_event(const char *path)
{
    size_t len;
    bool big;
    char *text = sc_read_file(path, 16u * 1024 * 1024, &len, &big);
    if (!text) {
        fprintf(stderr, "scenarist: cannot read input %s: %s\n", path,
                big ? "larger than 16 MiB" : strerror(errno));
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &je);
    free(text);
    if (!v)
        fprintf(stderr, "%s:%d:%d: error: input is not valid JSON: %s\n", path, je.line,
                je.column, je.text);
    return v;
}

static void summary(const json_t *e, char *buf, size_t n)
{
    json_t *out = json_object_get(e, "output"), *err = json_object_get(e, "error");
    buf[0] = '\0';
    json_t *bundles = json_object_get(e, "bundles");
    if (bundles)
        snprintf(buf, n, "%lld bundles", (long long)json_integer_value(bundles));
    if (err) {
        snprintf(buf, n, "%s: %s", json_string_value(json_object_get(err, "kind")),
                 json_string_value(json_object_get(err, "message")));
    } else if (out) {
        const char *mod = json_string_value(json_object_get(e, "module"));
        json_t *show = out;
        size_t used = 0;
        if (json_is_object(out) && (!strcmp(mod, "http.request") || !strcmp(mod, "notify")) &&
            json_object_get(out, "status")) {
            used = (size_t)snprintf(buf, n, "HTTP %lld ",
                                    (long long)json_integer_value(json_object_get(out, "status")));
            show = json_object_get(out, "body");
        }
        char *t = json_dumps(show, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (t && used < n)
            snprintf(buf + used, n - used, "%s", t);
        free(t);
    }
    size_t max = 100;
    if (strlen(buf) > max) {
        size_t cut = max - 3;
        while (cut && ((unsigned char)buf[cut] & 0xC0) == 0x80)
            cut--; /* do not cut a UTF-8 character in two */
        memcpy(buf + cut, "...", 4);
    }
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

static void print_record(const json_t *rec)
{
    printf("%s  execution %s  (org %s, version %s)\n",
           json_string_value(json_object_get(rec, "scenario")),
           json_string_value(json_object_get(rec, "id")),
           json_string_value(json_object_get(rec, "org")),
           json_string_value(json_object_get(rec, "version")));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rec, "steps"), i, e) {
        char sum[1024], step[160];
        summary(e, sum, sizeof sum);
        const char *bundle = json_string_value(json_object_get(e, "bundle"));
        snprintf(step, sizeof step, "%s%s%s%s", json_string_value(json_object_get(e, "step")),
                 bundle ? "[" : "", bundle ? bundle : "", bundle ? "]" : "");
        json_t *ms = json_object_get(e, "duration_ms");
        char dur[32] = "";
        if (ms)
            snprintf(dur, sizeof dur, "%lld ms", (long long)json_integer_value(ms));
        printf("  %-22s %-15s %-9s %8s  %s\n", step,
               json_string_value(json_object_get(e, "module")),
               json_string_value(json_object_get(e, "status")), dur, sum);
    }
    json_t *inc;
    json_array_foreach(json_object_get(rec, "incomplete"), i, inc) {
        printf("incomplete: step %s, bundle %s: %s (%s)\n",
               json_string_value(json_object_get(inc, "step")),
               json_string_value(json_object_get(inc, "bundle")),
               json_string_value(json_object_get(json_object_get(inc, "error"), "message")),
               json_is_true(json_object_get(inc, "retryable"))
                   ? "to be retried from this step"
                   : "not retried: needs a person");
    }
    json_t *resp = json_object_get(rec, "response");
    if (resp) {
        char *b = json_dumps(json_object_get(resp, "body"),
                             JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        printf("response: %lld %s\n", (long long)json_integer_value(json_object_get(resp, "status")),
               b ? b : "");
        free(b);
    }
    json_t *err = json_object_get(rec, "error");
    printf("%s in %lld ms%s%s%s\n", json_string_value(json_object_get(rec, "status")),
           (long long)json_integer_value(json_object_get(rec, "duration_ms")),
           err ? " at step " : "", err ? json_string_value(json_object_get(err, "step")) : "",
           json_is_true(json_object_get(rec, "committed")) ? " (committed early)" : "");
}

static int cmd_run(struct opts *o)
{
    if (o->nargs != 1 || !o->input) {
        fprintf(stderr, "usage: scenarist run FILE --input EVENT.json [--org NAME] [--json]\n");
        return EXIT_USAGE;
    }
    if (sc_clock_from_env() != 0) {
        fprintf(stderr, "scenarist: SCENARIST_CLOCK must be test:YYYY-MM-DDTHH:MM:SSZ\n");
        return EXIT_USAGE;
    }
    json_t *body = read_event(o->input);
    if (!body)
        return EXIT_USAGE;
    struct sc_diags d;
    sc_diags_init(&d);
    int rc = EXIT_USAGE;
    char err[512];
    struct sc_org *org = sc_org_load(o->org, &d);
    struct sc_lua *lua = org ? sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err) : NULL;
    struct sc_scenario *sc = lua ? sc_scenario_load(o->args[0], org, lua, NULL, &d) : NULL;
    struct sc_http *http = sc ? sc_http_new() : NULL;
    if (org && !lua)
        fprintf(stderr, "scenarist: Lua: %s\n", err);
    if (!sc || !http) {
        finish_diags(&d, false);
        goto out;
    }
    sc_diags_print(&d, stderr); /* warnings */
    json_t *triggers = json_object_get(sc_scenario_json(sc), "triggers");
    const char *kind = json_object_iter_key(json_object_iter(json_array_get(triggers, 0)));
    char now[40];
    sc_clock_iso(sc_clock_now_ms(), now, sizeof now);
    json_t *trigger = json_pack("{s:s, s:O, s:{}, s:{}, s:s}", "kind", kind ? kind : "manual",
                                "body", body, "headers", "query", "received_at", now);
    struct sc_runtime rt = {.lua = lua, .http = http, .org = org};
    json_t *rec = trigger ? sc_exec_run(sc, &rt, trigger, NULL) : NULL;
    json_decref(trigger);
    if (!rec) {
        fprintf(stderr, "scenarist: out of memory\n");
        rc = EXIT_FAILED;
        goto out;
    }
    if (o->json) {
        char *t = json_dumps(rec, JSON_INDENT(2));
        printf("%s\n", t ? t : "null");
        free(t);
    } else {
        print_record(rec);
    }
    rc = strcmp(json_string_value(json_object_get(rec, "status")), "success") ? EXIT_FAILED
                                                                              : EXIT_OK;
    json_decref(rec);
out:
    sc_http_free(http);
    sc_scenario_free(sc);
    sc_lua_free(lua);
    sc_org_free(org);
    sc_diags_free(&d);
    json_decref(body);
    return rc;
}

/* ---- modules and generated reference pages ---- */

static void param_type(const struct sc_param *p, char *buf, size_t n)
{
    if (p->type == SC_T_ENUM) {
        size_t used = (size_t)snprintf(buf, n, "one of ");
        for (size_t i = 0; p->allowed[i] && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", p->allowed[i]);
    } else if (p->type == SC_T_LIST || p->type == SC_T_MAP) {
        snprintf(buf, n, "%s of %s", p->type == SC_T_LIST ? "list" : "mapping of names",
                 p->elem == SC_T_OBJECT ? "mappings" : sc_type_name(p->elem));
    } else {
        snprintf(buf, n, "%s", sc_type_name(p->type));
    }
}

static void print_params_text(const struct sc_param *params, const char *indent)
{
    for (const struct sc_param *p = params; p->name; p++) {
        char type[256];
        param_type(p, type, sizeof type);
        printf("%s%-16s %s%s%s%s\n", indent, p->name, type, p->required ? ", required" : "",
               p->def ? ", default " : "", p->def ? p->def : "");
        printf("%s%-16s %s\n", indent, "", p->doc);
        if (p->fields) {
            char sub[64];
            snprintf(sub, sizeof sub, "%s    ", indent);
            print_params_text(p->fields, sub);
        }
    }
}

static json_t *params_json(const struct sc_param *params)
{
    json_t *arr = json_array();
    for (const struct sc_param *p = params; p->name; p++) {
        char type[256];
        param_type(p, type, sizeof type);
        json_t *o = json_pack("{s:s, s:s, s:b, s:s}", "name", p->name, "type", type,
                              "required", p->required, "description", p->doc);
        if (p->def)
            json_object_set_new(o, "default", json_loads(p->def, JSON_DECODE_ANY, NULL));
        if (p->allowed) {
            json_t *al = json_array();
            for (size_t i = 0; p->allowed[i]; i++)
                json_array_append_new(al, json_string(p->allowed[i]));
            json_object_set_new(o, "allowed", al);
        }
        if (p->fields)
            json_object_set_new(o, "fields", params_json(p->fields));
        if (p->flags & SC_P_STATIC)
            json_object_set_new(o, "templated", json_false());
        json_array_append_new(arr, o);
    }
    return arr;
}

static void md_params(const struct sc_param *params, const char *prefix)
{
    for (const struct sc_param *p = params; p->name; p++) {
        char type[256];
        param_type(p, type, sizeof type);
        printf("| `%s%s` | %s | %s | %s | %s%s |\n", prefix, p->name, type,
               p->required ? "yes" : "", p->def ? p->def : "", p->doc,
               (p->flags & SC_P_STATIC) && p->type != SC_T_OBJECT && p->type != SC_T_LIST &&
                       p->type != SC_T_MAP && !(p->flags & SC_P_TEXT)
                   ? " Not templated."
                   : "");
        if (p->fields) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s%s%s.", prefix, p->name, p->type == SC_T_LIST ? "[]" : "");
            md_params(p->fields, sub);
        }
    }
}

static void md_table(const struct sc_param *params)
{
    printf("| key | type | required | default | description |\n");
    printf("|---|---|---|---|---|\n");
    md_params(params, "");
    printf("\n");
}

static const char *access_text(enum sc_access a)
{
    switch (a) {
    case SC_ACCESS_WRITE: return "writes to its connection (needs read-write)";
    case SC_ACCESS_BY_METHOD: return "writes when method is not GET or HEAD";
    case SC_ACCESS_READ: return "reads its connection";
    default: return NULL;
    }
}

static void md_modules(void)
{
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    printf("# Modules\n\n"
           "Generated by `scenarist docs modules` from the modules' parameter tables; "
           "`make test` fails when this file is stale (`make docs` rewrites it).\n\n"
           "Every string parameter may hold `{{ }}` templates unless it says \"Not "
           "templated\". A parameter that expects a number or true/false may be given as "
           "exactly one `{{ }}`; its type is then checked when the step runs.\n\n");
    for (size_t i = 0; i < n; i++)
        printf("- [`%s`](#%s): %s\n", all[i]->name, all[i]->name, all[i]->summary);
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        const struct sc_module_def *m = all[i];
        printf("## <a id=\"%s\"></a>%s\n\n%s\n\n", m->name, m->name, m->summary);
        if (access_text(m->access))
            printf("Connection use: %s.\n\n", access_text(m->access));
        md_table(m->params);
    }
}

static void md_format(void)
{
    printf("# Scenario format: field tables\n\n"
           "Generated by `scenarist docs format` from the validator's tables; the guide with "
           "examples is [scenario-format.md](scenario-format.md).\n\n");
    struct { const char *title; const struct sc_param *t; } sections[] = {
        {"Scenario (top level)", sc_scenario_fields},
        {"settings", sc_settings_fields},
        {"Trigger `webhook`", sc_webhook_fields},
        {"Trigger `schedule`", sc_schedule_fields},
        {"Trigger `poll`", sc_poll_fields},
        {"Trigger `manual`", sc_manual_fields},
        {"Step", sc_step_fields},
        {"Directive `break`", sc_break_fields},
        {"Directive `resume`", sc_resume_fields},
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        printf("## %s\n\n", sections[i].title);
        md_table(sections[i].t);
    }
    printf("## Directives `ignore`, `commit`, `rollback`\n\nNo options: write `- ignore`.\n");
}

static void md_org(void)
{
    printf("# Org file: field tables\n\n"
           "Generated by `scenarist docs org`; the guide is [operations.md](operations.md).\n\n");
    md_table(sc_org_fields);
}

static int cmd_docs(struct opts *o)
{
    const char *what = o->nargs ? o->args[0] : "";
    if (!strcmp(what, "modules"))
        md_modules();
    else if (!strcmp(what, "format"))
        md_format();
    else if (!strcmp(what, "org"))
        md_org();
    else {
        fprintf(stderr, "scenarist docs: name a page: modules, format or org\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int cmd_modules(struct opts *o)
{
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    if (o->nargs > 1) {
        fprintf(stderr, "scenarist modules: give at most one module name\n");
        return EXIT_USAGE;
    }
    if (o->nargs == 1) {
        const struct sc_module_def *m = sc_module_find(o->args[0]);
        if (!m) {
            const char *names[128];
            for (size_t i = 0; i < n && i < 128; i++)
                names[i] = all[i]->name;
            const char *hint = sc_suggest(o->args[0], names, n);
            fprintf(stderr, "scenarist: unknown module '%s'%s%s%s\n", o->args[0],
                    hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
            return EXIT_USAGE;
        }
        if (o->json) {
            json_t *j = json_pack("{s:s, s:s, s:o}", "name", m->name, "summary", m->summary,
                                  "parameters", params_json(m->params));
            char *s = json_dumps(j, JSON_INDENT(2));
            printf("%s\n", s);
            free(s);
            json_decref(j);
            return EXIT_OK;
        }
        printf("%s: %s\n", m->name, m->summary);
        if (access_text(m->access))
            printf("connection: %s\n", access_text(m->access));
        printf("\nparameters:\n");
        print_params_text(m->params, "  ");
        return EXIT_OK;
    }
    if (o->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", all[i]->name,
                                                 "summary", all[i]->summary, "parameters",
                                                 params_json(all[i]->params)));
        char *s = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
        json_decref(arr);
        return EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        printf("%-16s %s\n", all[i]->name, all[i]->summary);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    sc_alloc_install_json();
    if (argc < 2)
        return usage(stderr);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
        return usage(stdout);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("scenarist %s\n", SC_VERSION);
        return EXIT_OK;
    }
    struct opts o = {0};
    if (parse_opts(argc - 2, argv + 2, &o) != 0) {
        free(o.args);
        return EXIT_USAGE;
    }
    int rc;
    if (!strcmp(cmd, "validate"))
        rc = cmd_validate(&o);
    else if (!strcmp(cmd, "run"))
        rc = cmd_run(&o);
    else if (!strcmp(cmd, "modules"))
        rc = cmd_modules(&o);
    else if (!strcmp(cmd, "docs"))
        rc = cmd_docs(&o);
    else {
        fprintf(stderr, "scenarist: unknown command '%s'\n\n", cmd);
        rc = usage(stderr);
    }
    free(o.args);
    return rc;
}
